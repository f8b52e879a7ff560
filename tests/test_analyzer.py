"""Tests for indexer.analyzer: exact tokens, offsets, pickling, threads, size."""

from __future__ import annotations

import json
import pickle
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh import fields, index
from whoosh.analysis import Analyzer
from whoosh.qparser import OrGroup, QueryParser

from indexer import analyzer as ja
from indexer.analyzer import (
    ANALYZER_VERSION,
    BigramTokenizer,
    SudachiTokenizer,
    analyzer_settings,
    bigram_analyzer,
    bigrams,
    japanese_analyzer,
    normalize,
    sudachi_tokenizer,
    synonyms,
    tokenize,
)

PASSWORD_SENTENCE = "パスワードは複雑である必要があり、90 日おきに変更されます。"
MIXED = "ＡＷＳのﾏﾈｰｼﾞﾄﾞｻｰﾋﾞｽでﾊﾟｽﾜｰﾄﾞを９０日ごとに変更"


def spans(tokenizer, text: str, **kwargs) -> list[tuple]:
    """(text, original, startchar, endchar) per token; Token objects are reused."""
    return [
        (t.text, t.original, t.startchar, t.endchar)
        for t in tokenizer(text, chars=True, keeporiginal=True, **kwargs)
    ]


# --- normalize ---------------------------------------------------------------


def test_normalize_folds_width_case_and_compatibility_chars() -> None:
    assert normalize("ＡＷＳ Access ﾊﾟｽﾜｰﾄﾞ ①　㍻") == "aws access パスワード 1 平成"


# --- Sudachi tokens ------------------------------------------------------------


def test_password_sentence_mode_c() -> None:
    # Particles (は, が, に), auxiliaries (で=だ, れ, ます) and grammatical verbs
    # (である, があり, される) are dropped; the rest come back in Sudachi's normalized form.
    assert tokenize(PASSWORD_SENTENCE, "C") == ["パスワード", "複雑", "必要", "90", "日", "置き", "変更"]


def test_password_sentence_mode_a_is_same_no_compounds() -> None:
    assert tokenize(PASSWORD_SENTENCE, "A") == tokenize(PASSWORD_SENTENCE, "C")


@pytest.mark.parametrize(
    ("text", "mode_c", "mode_a"),
    [
        ("多要素認証(MFA)を有効化", ["多要素認証", "mfa", "有効", "化"],
         ["多", "要素", "認証", "mfa", "有効", "化"]),
        ("情報セキュリティ管理体制", ["情報セキュリティ", "管理", "体制"],
         ["情報", "セキュリティー", "管理", "体制"]),
        ("東京都千代田区", ["東京都千代田区"], ["東京", "都", "千代田", "区"]),
    ],
)
def test_split_modes_differ_on_compounds(text: str, mode_c: list[str], mode_a: list[str]) -> None:
    assert tokenize(text, "C") == mode_c
    assert tokenize(text, "A") == mode_a


def test_mode_b_splits_between_a_and_c() -> None:
    assert tokenize("多要素認証", "B") == ["多要素", "認証"]
    assert tokenize("東京都千代田区", "B") == ["東京都", "千代田区"]


def test_english_is_lower_cased_after_sudachi_normalisation() -> None:
    # Sudachi maps some English words to katakana and leaves others upper
    # case (access -> ACCESS, IAM -> iam); lower() after it makes them stable.
    assert tokenize("AWS Identity and Access Management(IAM)") == [
        "aws", "アイデンティティー", "access", "マネージメント", "iam",  # "and" is a stop word
    ]
    assert tokenize("access") == tokenize("ACCESS") == tokenize("Access") == ["access"]
    assert tokenize("iam") == tokenize("IAM") == ["iam"]


def test_english_function_words_never_match_and_words_are_stemmed() -> None:
    assert tokenize("How are encryption keys managed?") == ["encryption", "kei", "マネージド"]
    assert tokenize("physical access to data centers") == ["フィジカル", "access", "データ", "center"]
    assert tokenize("The logs are encrypted") == ["log", "encrypt"]


def test_synonym_groups_let_either_word_find_the_other() -> None:
    assert set(synonyms("ログイン")) & set(synonyms("サインイン"))
    assert set(synonyms("外部委託")) == set(synonyms("アウトソーシング"))
    assert synonyms("使う") == []  # verbs share groups too widely; only nouns count


def test_half_width_katakana_matches_full_width() -> None:
    assert tokenize("ﾊﾟｽﾜｰﾄﾞ") == tokenize("パスワード") == ["パスワード"]
    assert tokenize("ﾊﾟｽﾜｰﾄﾞ", "A") == ["パスワード"]


def test_kanji_and_arabic_numerals_match() -> None:
    assert tokenize("二要素認証") == tokenize("2 要素認証") == tokenize("２要素認証") == ["2", "要素", "認証"]
    assert tokenize("三千円") == ["3000", "円"]


def test_one_character_words_are_kept() -> None:
    assert tokenize("火災の鎮火") == ["火災", "鎮火"]
    assert tokenize("鍵") == ["鍵"]
    assert tokenize("鍵を金庫に保管する") == ["鍵", "金庫", "保管"]
    assert tokenize("火を使う") == ["火", "使う"]


def test_whitespace_and_symbols_are_dropped() -> None:
    # ◯ ※ ～ are 補助記号; the % after 100 is tagged 名詞 but has no letter.
    assert tokenize("◯ ※ 100% ～ C++\u3000\n\t（注）") == ["100", "c", "注"]
    assert tokenize("") == []
    assert tokenize(" 、。\n") == []


def test_multi_word_entries_are_split_at_spaces() -> None:
    # Sudachi has "data center" as one entry; a token with a space could never
    # match a whitespace-split query, so each word is analysed on its own.
    assert tokenize("data center") == tokenize("data") + tokenize("center") == ["データ", "センター"]
    assert spans(SudachiTokenizer(), "Data  Center") == [
        ("データ", "Data", 0, 4),
        ("センター", "Center", 6, 12),
    ]


def test_drop_pos_is_a_setting() -> None:
    keep_all = SudachiTokenizer("C", drop_pos=(), drop_verbs=(), compound_verbs=())
    assert [t.text for t in keep_all("火災の鎮火")] == ["火災", "の", "鎮火"]
    no_aux = SudachiTokenizer("C", drop_pos=["助詞"], drop_verbs=())
    assert [t.text for t in no_aux("変更されます")] == ["変更", "為る", "れる", "ます"]


def test_compound_particles_are_function_words() -> None:
    # について, において, に関して, によって: the verb is grammar there, not 付く or 置く
    assert tokenize("暗号鍵の管理について記載") == ["暗号", "鍵", "管理", "記載"]
    assert tokenize("データセンターにおける入館管理に関して") == ["データセンター", "入館", "管理"]
    assert tokenize("リスク評価によって決定") == ["リスク", "評価", "決定"]
    assert tokenize("金庫に納める") == ["金庫", "納める"]  # a verb of its own after に stays
    assert tokenize("規則に従う") == ["規則", "従う"]  # complying is a topic in this document
    assert tokenize("に、ついて") == ["付く"]  # punctuation breaks the compound


def test_conjunctions_pronouns_prefixes_and_plural_suffixes_are_function_words() -> None:
    # a pasted question's お, または, 等 and これら must not match (or highlight) every passage
    assert tokenize("お預かりしたデータを返却または消去し、責任者等を記載") == [
        "預かる", "データ", "返却", "消去", "責任者", "記載"]
    assert tokenize("これらの各部門及びその他") == ["各", "部門", "他"]
    assert tokenize("社員達") == ["社員"]
    # affixes that carry meaning stay, and mode C keeps prefixed compounds whole
    assert tokenize("サーバ室を年毎に点検") == ["サーバー", "室", "年", "毎", "点検"]
    assert tokenize("多要素認証", "A") == ["多", "要素", "認証"]
    assert tokenize("お客様") == ["御客様"]


def test_grammatical_verbs_go_content_verbs_stay() -> None:
    assert tokenize("することができるようにしている") == ["こと"]
    assert tokenize("ログを見る") == ["ログ", "見る"]  # Sudachi tags 見る 非自立可能 too
    assert tokenize("鍵を金庫に置く") == ["鍵", "金庫", "置く"]
    assert tokenize("見直す", "A") == ["見る", "直す"]


def test_removestops_false_marks_function_words_stopped() -> None:
    got = [
        (t.text, t.stopped, t.pos)
        for t in SudachiTokenizer()("火災の鎮火は必要", positions=True, removestops=False)
    ]
    # Stopped words share the position of the next kept word, so positions of
    # kept words are the same as with removestops=True.
    assert got == [
        ("火災", False, 0), ("の", True, 1), ("鎮火", False, 1), ("は", True, 2), ("必要", False, 2),
    ]


def test_positions_and_chars_honour_start_kwargs() -> None:
    got = [
        (t.text, t.pos, t.startchar, t.endchar)
        for t in SudachiTokenizer()("火災の鎮火", positions=True, chars=True, start_pos=10, start_char=100)
    ]
    assert got == [("火災", 10, 100, 102), ("鎮火", 11, 103, 105)]


def test_tokenize_false_yields_whole_normalised_value() -> None:
    got = [(t.text, t.startchar, t.endchar) for t in SudachiTokenizer()("ﾊﾟｽﾜｰﾄﾞ", chars=True, tokenize=False)]
    assert got == [("パスワード", 0, 7)]


def test_offsets_point_into_original_mixed_width_text() -> None:
    got = spans(SudachiTokenizer(), MIXED)
    assert got == [
        ("aws", "ＡＷＳ", 0, 3),
        ("マネージド", "ﾏﾈｰｼﾞﾄﾞ", 4, 11),
        ("サービス", "ｻｰﾋﾞｽ", 11, 16),
        ("パスワード", "ﾊﾟｽﾜｰﾄﾞ", 17, 24),
        ("90", "９０", 25, 27),
        ("日", "日", 27, 28),
        ("毎", "ごと", 28, 30),
        ("変更", "変更", 31, 33),
    ]
    for _, original, start, end in got:
        assert MIXED[start:end] == original


def test_invalid_mode_is_rejected() -> None:
    with pytest.raises(ValueError):
        SudachiTokenizer("D")
    assert SudachiTokenizer("a").mode == "A"


# --- bigrams -----------------------------------------------------------------


def test_bigrams_exact() -> None:
    assert bigrams("パスワード、2 要素") == ["パス", "スワ", "ワー", "ード", "2", "要素"]
    assert bigrams("ＩＡＭロール") == ["ia", "am", "mロ", "ロー", "ール"]
    assert bigrams("鍵") == ["鍵"]
    assert bigrams("、 。") == []


def test_bigrams_recall_on_typo() -> None:
    # パックアップ (typo) shares 4 of 5 bigrams with バックアップ.
    typo, right = bigrams("パックアップ"), bigrams("バックアップ")
    assert typo == ["パッ", "ック", "クア", "アッ", "ップ"]
    assert len(set(typo) & set(right)) == 4


def test_bigram_offsets_into_original_half_width_text() -> None:
    got = [
        (t.text, t.pos, t.startchar, t.endchar)
        for t in BigramTokenizer()("ﾊﾟｽﾜｰﾄﾞ ㍻", positions=True, chars=True)
    ]
    assert got == [
        ("パス", 0, 0, 3),  # ﾊﾟ is two original characters
        ("スワ", 1, 2, 4),
        ("ワー", 2, 3, 5),
        ("ード", 3, 4, 7),  # ﾄﾞ likewise
        ("平成", 4, 8, 9),  # one original character, two normalised
    ]
    assert bigrams("ﾊﾟｽﾜｰﾄﾞ") == bigrams("パスワード")


_ALPHABET = "パスワードﾊﾟｽﾜｰﾄﾞｶﾞﾞﾟABcａｂ19１２ 　、。()（）㍻①ⅱe\u0301\u0323\u3099二要素認証火"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=_ALPHABET, max_size=30))
def test_bigram_offsets_property(text: str) -> None:
    normed, starts, ends = ja._aligned_normalize(text)
    assert normed == normalize(text)
    for t in BigramTokenizer()(text, chars=True):
        assert 0 <= t.startchar < t.endchar <= len(text)
        assert t.text in normalize(text[t.startchar : t.endchar])


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=_ALPHABET, max_size=30))
def test_sudachi_offsets_property(text: str) -> None:
    last_start = last_end = 0
    for t in SudachiTokenizer("C", drop_pos=())(text, chars=True, keeporiginal=True):
        assert 0 <= t.startchar < t.endchar <= len(text)
        assert t.startchar >= last_start and t.endchar >= last_end
        assert text[t.startchar : t.endchar] == t.original
        last_start, last_end = t.startchar, t.endchar


def test_sudachi_empty_span_gets_the_expanded_character() -> None:
    # Sudachi expands ㍻ to 平成 and, before a combining mark, reports 成 with
    # an empty span (1, 1); the token must still point at ㍻.
    assert spans(SudachiTokenizer(), "㍻\u0301２") == [
        ("平", "㍻", 0, 1),
        ("成", "㍻", 0, 1),
        ("2", "２", 2, 3),
    ]


# --- whoosh integration --------------------------------------------------------


def test_analyzers_are_whoosh_analyzers_and_compose() -> None:
    from whoosh.analysis import LowercaseFilter

    assert isinstance(japanese_analyzer(), Analyzer)
    assert isinstance(bigram_analyzer(), Analyzer)
    chained = japanese_analyzer() | LowercaseFilter()
    assert [t.text for t in chained("ＡＷＳ")] == ["aws"]


def test_equality_by_settings() -> None:
    assert japanese_analyzer("C") == japanese_analyzer("C")
    assert japanese_analyzer("C") != japanese_analyzer("A")
    assert SudachiTokenizer(drop_pos=["助動詞", "助詞"]) == SudachiTokenizer(drop_pos=("助詞", "助動詞"))
    assert SudachiTokenizer(drop_pos=()) != SudachiTokenizer()
    assert bigram_analyzer() == bigram_analyzer()
    assert BigramTokenizer() != SudachiTokenizer()


@pytest.mark.parametrize("make", [lambda: japanese_analyzer("C"), lambda: japanese_analyzer("A"), bigram_analyzer])
def test_pickle_round_trip(make) -> None:
    ana = make()
    list(ana("先に使っておく"))  # any lazily created state must not be pickled
    clone = pickle.loads(pickle.dumps(ana))
    assert clone == ana
    text = PASSWORD_SENTENCE + MIXED
    assert spans(clone, text, positions=True) == spans(ana, text, positions=True)
    state = pickle.dumps(SudachiTokenizer("B"))
    assert b"sudachipy" not in state


def test_whoosh_index_round_trip(tmp_path) -> None:
    schema = fields.Schema(
        id=fields.ID(stored=True),
        body=fields.TEXT(analyzer=japanese_analyzer(), stored=True),
        gram=fields.TEXT(analyzer=bigram_analyzer()),
    )
    ix = index.create_in(str(tmp_path), schema)
    docs = {
        "power": "電力障害時には無停電電源装置（UPS）がパックアップ電力を供給しています。",
        "password": "ﾊﾟｽﾜｰﾄﾞは90日おきに変更されます。",
        "fire": "火災の鎮火",
    }
    with ix.writer() as w:
        for doc_id, text in docs.items():
            w.add_document(id=doc_id, body=text, gram=text)

    reopened = index.open_dir(str(tmp_path))  # unpickles the analyzers
    assert reopened.schema["body"].analyzer == japanese_analyzer()
    assert reopened.schema["gram"].analyzer == bigram_analyzer()

    def hits(field: str, query: str, group=None) -> list[str]:
        kwargs = {"group": group} if group else {}
        parser = QueryParser(field, reopened.schema, **kwargs)
        with reopened.searcher() as s:
            return sorted(hit["id"] for hit in s.search(parser.parse(query)))

    assert hits("body", "パスワード") == ["password"]
    assert hits("body", "ups") == ["power"]
    assert hits("body", "鎮火") == ["fire"]
    assert hits("body", "停電") == ["power"]
    # Phrase: the particle は is dropped on both sides, so positions line up.
    assert hits("body", '"パスワードは90日"') == ["password"]
    assert hits("body", '"パスワード 90 日"') == ["password"]
    # Bigrams find the typo パックアップ from the correct spelling.
    assert hits("gram", "バックアップ", group=OrGroup) == ["power"]
    assert hits("gram", "ﾊﾟｯｸｱｯﾌﾟ") == ["power"]

    with reopened.searcher() as s:
        result = s.search(QueryParser("body", reopened.schema).parse("パスワード"), terms=True)
        assert "<b" in result[0].highlights("body")
        assert "ﾊﾟｽﾜｰﾄﾞ</b>" in result[0].highlights("body")


# --- threads and size ----------------------------------------------------------


def test_tokenize_from_four_threads_matches_single_threaded() -> None:
    base = [PASSWORD_SENTENCE, MIXED, "AWS Identity and Access Management(IAM)", "火災の鎮火", "東京都千代田区"]
    texts = [f"{base[i % len(base)]}{i}件目の{base[(i * 7) % len(base)]}" for i in range(200)]
    expected = [(tokenize(t, "C"), tokenize(t, "A"), bigrams(t)) for t in texts]

    barrier = threading.Barrier(4)
    handles: list[object] = []

    def work(offset: int) -> list[tuple]:
        handles.append(sudachi_tokenizer("C"))
        barrier.wait()
        order = texts[offset:] + texts[:offset]  # threads overlap on different texts
        got = [(tokenize(t, "C"), tokenize(t, "A"), bigrams(t)) for t in order]
        return got[len(texts) - offset :] + got[: len(texts) - offset]

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(work, [0, 50, 100, 150]))

    assert all(r == expected for r in results)
    assert len({id(h) for h in handles}) == 4  # one Sudachi tokenizer per thread


def test_100k_character_input() -> None:
    unit = "ﾊﾟｽﾜｰﾄﾞは複雑である必要があり、９０日おきに変更されます。\nAWS Identity and Access Management　"
    text = (unit * (100_000 // len(unit) + 1))[:100_000]
    assert len(text) == 100_000
    for ana in (SudachiTokenizer("C"), BigramTokenizer()):
        last_end = 0
        count = 0
        for t in ana(text, chars=True, keeporiginal=True):
            assert 0 <= t.startchar < t.endchar <= len(text)
            assert text[t.startchar : t.endchar] == t.original
            if isinstance(ana, SudachiTokenizer):
                assert t.startchar >= last_end
                last_end = t.endchar
            count += 1
        assert count > 10_000
    # Chunking cuts at line ends, so the tokens equal per-line tokenization.
    whole = tokenize(text)
    per_line = [tok for line in text.split("\n") for tok in tokenize(line)]
    assert whole == per_line


def test_100k_characters_without_any_break() -> None:
    # No newline, 。 or space: hard cuts, never between ﾊ and its ﾟ.
    text = "ﾊﾟ" * 50_000
    got = list(SudachiTokenizer()(text, chars=True, keeporiginal=True))
    assert got  # did not raise
    ends = [(t.startchar, t.endchar, t.original) for t in SudachiTokenizer()(text, chars=True, keeporiginal=True)]
    assert all(text[s:e] == o and s % 2 == 0 and e % 2 == 0 for s, e, o in ends)
    assert len(tokenize("あ" * 100_000)) > 0


def test_input_that_sudachi_expands_past_its_limit() -> None:
    # ﷺ is one character that Sudachi's input normalisation expands to 18;
    # even a 4096-character chunk of it is over Sudachi's limit, so the chunk
    # is halved and retried.
    text = "ﷺ" * 5000 + "パスワード"
    assert tokenize(text)[-1:] == ["パスワード"]


# --- settings ------------------------------------------------------------------


def test_analyzer_settings_json_and_sensitive_to_settings() -> None:
    base = analyzer_settings()
    assert json.loads(json.dumps(base)) == base
    assert base["analyzer_version"] == ANALYZER_VERSION
    assert base["sudachipy"] not in ("", "unknown")
    assert base["sudachidict_core"] not in ("", "unknown")
    assert base["sudachi_modes"] == ["C"]
    assert base["drop_pos"] == sorted(["助詞", "助動詞", "形状詞,助動詞語幹", "接続詞", "代名詞", "連体詞"])
    assert base["grammatical_affixes"] == sorted(["御", "等", "達"])
    assert base["grammatical_verbs"] == sorted(["為る", "居る", "有る", "成る", "出来る"])
    assert analyzer_settings(["C", "A"]) != base
    assert analyzer_settings(["A", "C"]) == analyzer_settings(["c", "a", "C"])
    assert analyzer_settings(drop_pos=["助詞"]) != base
    with pytest.raises(ValueError):
        analyzer_settings(["X"])
