"""Keyword, semantic and hybrid search on the real corpus."""
from __future__ import annotations

import pytest

from search.errors import EmptyQuery, LimitOutOfRange, QueryTooLong, UnknownFilter, UnknownMode
from search.query import parse_query
from verdicts import assert_clearly

pytestmark = pytest.mark.scored


def _dev_questions() -> list[str]:
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "eval" / "dev.jsonl"
    return [json.loads(line)["query"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


DEV_QUESTIONS = _dev_questions()


def ids(result, n=None):
    return result.ids[:n] if n else result.ids


# ---------------------------------------------------------------- keyword


def test_password_finds_jitsu26_first_with_highlight(engine):
    r = engine.search("パスワード", mode="keyword")
    assert r.hits[0].id == "実26"
    hit = r.hits[0]
    marked = [hit.snippet[a:b] for a, b in hit.highlights]
    assert marked and all(m == "パスワード" for m in marked)


def test_halfwidth_and_quoted_password_rank_like_password(engine):
    plain = ids(engine.search("パスワード", mode="keyword"))
    assert ids(engine.search("ﾊﾟｽﾜｰﾄﾞ", mode="keyword")) == plain
    assert ids(engine.search('"パスワード"', mode="keyword"))[0] == "実26"


def test_halfwidth_query_highlights_fullwidth_text(engine):
    hit = engine.search("ﾊﾟｽﾜｰﾄﾞ", mode="keyword").hits[0]
    assert {hit.snippet[a:b] for a, b in hit.highlights} == {"パスワード"}


def test_cloudtrail_puts_jitsu25_in_top_two(engine):
    assert "実25" in ids(engine.search("CloudTrail", mode="keyword"), 2)


def test_case_does_not_matter(engine):
    assert ids(engine.search("cloudwatch", mode="keyword"), 3) == ids(engine.search("CloudWatch", mode="keyword"), 3)


@pytest.mark.parametrize("query", ["実２６", "実26", "実 26"])
def test_id_query_returns_that_criterion_first(engine, query):
    assert engine.search(query).hits[0].id == "実26"


def test_audit_id_with_space(engine):
    assert engine.search("監 1", mode="keyword").hits[0].id == "監1"


def test_phrase_query_requires_the_phrase(engine):
    r = engine.search('"ウイルス対策ソフトウェア"', mode="keyword")
    assert set(ids(r)) == {"実20", "実21", "実32"}


def test_exclusion_removes_matching_criteria(engine):
    assert "実26" not in ids(engine.search("パスワード -IAM", mode="keyword"))


def test_responsibility_filter(engine, doc):
    r = engine.search("データセンター", mode="keyword", customer="info", limit=50)
    assert r.hits and all(doc.get(h.id).customer_role == "-" for h in r.hits)


def test_governing_law_is_found_only_in_the_change_history(engine):
    r = engine.search("準拠法", mode="keyword")
    assert r.hits[0].kind == "revision"
    assert set(ids(r, 3)) == {"統20", "統21", "統24"}


def test_boilerplate_sentence_does_not_match_everything(engine, doc):
    # the 95 rows that say only the shared customer sentence must not match its words
    only_boilerplate = {c.id for c in doc.criteria if not c.aws_status and "\n" not in c.customer_controls
                        and c.customer_controls.startswith("お客様がAWS上で実装する")}
    assert len(only_boilerplate) >= 90
    r = engine.search("お客様がAWS上で実装するシステムおよびサービスの管理", mode="keyword", limit=200)
    assert not only_boilerplate & set(r.ids)


def test_typo_in_document_found_through_bigrams(engine):
    # the document writes パックアップ for バックアップ in 実55/実60
    r = engine.search("パックアップ電力", mode="keyword")
    assert {"実55", "実60"} <= set(ids(r, 5))


@pytest.mark.parametrize("query", ['"unbalanced', "field:value", "*?~^", "😀🔒", "\\", "-", "a" * 10_000])
def test_syntax_a_user_types_is_searched_as_text(engine, query):
    assert engine.search(query, mode="keyword").hits == ()  # no error, and nothing in the document matches


@pytest.mark.parametrize("query", ["パスワード AND NOT", "パスワード field:value", "(パスワード", '"パスワード'])
def test_operators_around_a_word_do_not_change_what_it_finds(engine, query):
    assert engine.search(query, mode="keyword").hits[0].id == "実26"


def test_quotes_with_nothing_inside_are_an_empty_query(engine):
    with pytest.raises(EmptyQuery, match="empty"):
        engine.search('""')


def test_empty_and_oversized_queries_get_clear_messages(engine):
    with pytest.raises(EmptyQuery, match="empty"):
        engine.search("   ")
    with pytest.raises(QueryTooLong, match="the limit is 10,000"):
        engine.search("a" * 10_001)


def test_bad_mode_and_filters_are_rejected_clearly(engine):
    with pytest.raises(UnknownMode, match="keyword, semantic, hybrid"):
        engine.search("パスワード", mode="fuzzy")
    with pytest.raises(UnknownFilter, match="primary"):
        engine.search("パスワード", aws="yes")
    with pytest.raises(UnknownFilter, match="実務基準"):
        engine.search("パスワード", series="統制")
    with pytest.raises(LimitOutOfRange, match="between 1 and 200"):
        engine.search("パスワード", limit=201)


def test_unknown_id_gives_a_warning_not_a_crash(engine):
    r = engine.search("実999", mode="keyword")
    assert any("実999" in str(w) for w in r.warnings)


# ---------------------------------------------------------------- query parsing


def test_parse_query_pieces():
    q = parse_query('パスワード "多要素 認証" -IAM 実26')
    assert q.phrases == ("多要素 認証",)
    assert q.excludes == ("IAM",)
    assert q.ids == ("実26",)
    assert "パスワード" in q.text


def test_parse_query_unclosed_quote_is_a_character():
    assert parse_query('"パスワード').text.strip() == "パスワード"


def test_parse_query_only_ids():
    assert parse_query("実２６").only_ids
    assert not parse_query("実26 パスワード").only_ids


# ---------------------------------------------------------------- semantic and hybrid


def test_english_query_finds_japanese_criterion(engine):
    assert engine.search("password policy", mode="hybrid").hits[0].id == "実26"
    assert "実20" in ids(engine.search("antivirus software", mode="semantic"), 3)


def test_paraphrase_fire_suppression(engine):
    top = ids(engine.search("データセンターの消火設備について説明してください。", mode="hybrid"), 3)
    assert {"実55", "実60"} & set(top)


def test_hybrid_explain_shows_both_rankers(engine):
    hit = engine.search("パスワード", mode="hybrid", explain=True).hits[0]
    assert hit.id == "実26"
    assert hit.explain["keyword_rank"] == 1 and hit.explain["passage_rank"] is not None
    assert hit.explain["sentence_rank"] is not None and hit.explain["synonym_rank"] == 1
    assert "パスワード" in hit.explain["passage"]


def test_semantic_respects_filters(engine, doc):
    r = engine.search("データセンターの入館管理", mode="semantic", aws="primary", customer="info")
    assert r.hits and all((doc.get(h.id).aws_role, doc.get(h.id).customer_role) == ("◯", "-") for h in r.hits)


def test_model_missing_falls_back_to_keyword_with_warning(data_root):
    from search.engine import Engine

    e = Engine(data_dir=data_root, model="/nonexistent/model-dir")
    r = e.search("パスワード", mode="hybrid")
    assert r.hits[0].id == "実26"
    assert any("unavailable" in str(w) for w in r.warnings)
    assert e.search("パスワード", mode="semantic").hits[0].id == "実26"


def test_best_per_group_against_a_sort_per_group():
    import numpy as np

    from indexer.embedding_index import best_per_group

    rng = np.random.default_rng(0)
    sizes = rng.integers(1, 6, size=40)
    values = rng.choice([0.1, 0.2, 0.3, 0.5, 0.8], size=int(sizes.sum()))  # repeats, so ties happen
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    best, second = best_per_group(values, starts)
    for i, (a, n) in enumerate(zip(starts, sizes)):
        group = sorted(values[a:a + n], reverse=True)
        assert (best[i], second[i]) == (group[0], group[1] if n > 1 else group[0])


def test_semantic_scores_are_best_passage_plus_a_nudge_from_the_second(engine):
    import numpy as np

    from indexer.embedding_index import PASSAGE, SECOND_UNIT_WEIGHT, units

    index = engine.semantic()
    vec = engine._encoder.encode_queries(["パスワードの有効期限"])[0]
    passages = [u for u in units(engine.table) if u.kind == PASSAGE]
    cosines = index.matrix[index.vector_rows] @ vec  # stored in the same order as units() lists them
    per_doc: dict[int, list[float]] = {}
    for u, c in zip(passages, cosines):
        per_doc.setdefault(u.doc, []).append(float(c))
    got = index.doc_scores(vec).passage
    for n in range(len(engine.table)):
        if n not in per_doc:
            assert got[n] == -np.inf  # a boilerplate-only criterion has no passage to score
            continue
        s = sorted(per_doc[n], reverse=True)
        second = s[1] if len(s) > 1 else s[0]
        assert abs(got[n] - (s[0] + SECOND_UNIT_WEIGHT * (second - s[0]))) < 1e-6




def test_similar_criteria_come_from_the_stored_vectors(engine, monkeypatch):
    def no_encoding(text):
        raise AssertionError("the similar-criteria panel must not encode text")

    monkeypatch.setattr(engine, "encode_query", no_encoding)
    similar = engine.similar("実57")
    ids = [s.id for s in similar]
    assert ids[0] == "実56" and similar[0].score > 0.99  # they share a paragraph word for word
    assert "実57" not in ids and "実58" not in ids  # itself and its identical twin are not "similar"
    assert all(s.snippet in {p.text for p in engine.table[s.id].passages} for s in similar)
    assert engine.similar("実88") and "実87" not in [s.id for s in engine.similar("実88")]


def test_an_id_alone_is_a_lookup(engine):
    r = engine.search("実26")
    assert r.ids == ["実26"] and r.match is None  # not ranked by the text "実26" as well
    r = engine.search("実999")
    assert r.hits == () and tuple(map(str, r.warnings)) == ("no criterion 実999 in this document (it has 実1–実148, "
                                                            "監1–監5)",)
    assert r.warnings[0].text("web") == "実999 はこの文書にありません（この文書の基準は 実1–実148、監1–監5）。"
    assert [h.kind for h in engine.search("統20").hits] == ["revision", "revision"]  # its change history


def test_typed_ids_respect_exclusions_and_phrases(engine):
    assert "実26" not in engine.search("パスワード -実26").ids
    with pytest.raises(EmptyQuery, match="only excludes"):
        engine.search("-実26")
    r = engine.search('"ウイルス対策ソフトウェア" 実26', mode="keyword")
    assert "実26" not in r.ids and tuple(map(str, r.warnings)) == ("実26 does not match the filters, phrases or exclusions, "
                                                  "so it is not listed",)
    assert set(r.ids) == {"実20", "実21", "実32"}


def test_scores_descend_when_an_id_is_typed(engine):
    hits = engine.search("監 3 ログ", limit=10).hits
    assert hits[0].id == "監3"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_an_exclusion_removes_the_documents_with_the_word_and_no_others(engine):
    import unicodedata

    def says(d, word):
        return word in unicodedata.normalize("NFKC", "\n".join(t for _, t in d.display_passages))

    assert engine.keyword.with_any_word(["パスワード"]) == {d.key for d in engine.table if says(d, "パスワード")}
    r = engine.search("ネットワーク -パスワード", mode="keyword", limit=50)
    assert set(r.ids) == {d.id for d in engine.table if says(d, "ネットワーク") and not says(d, "パスワード")}


def test_keyword_mode_lists_only_what_holds_the_words(engine):
    """One bigram of a word is not the word (ワー of パスワード is in ネットワーク); most of it is (a typo)."""
    assert engine.search("パスワード", mode="keyword", limit=50).ids == ["実26"]
    r = engine.search("バックアップ", mode="keyword", limit=50)  # the document also writes パックアップ
    assert len(r.ids) >= 10 and all("ックアップ" in "".join(t for _, t in engine.table[k].display_passages)
                                    for k in r.ids if k in engine.table)


def test_a_result_of_change_history_entries_is_judged_on_them(engine):
    r = engine.search("準拠法", series="変更履歴")
    assert r.ids[:3] == ["統20", "統21", "統24"]
    assert_clearly(r, "answered")


def test_a_nonnumeric_limit_is_a_named_error(engine):
    with pytest.raises(LimitOutOfRange, match="a number"):
        engine.search("パスワード", limit="ten")


def test_the_no_match_verdict_on_questions_the_document_does_not_answer(engine):
    assert_clearly(engine.search("パスワード"), "answered")
    assert_clearly(engine.search("社員食堂のメニューを公開していますか。"), "no_match")
    r = engine.search("How are encryption keys managed?")
    assert_clearly(r, "no_match")
    from indexer.analyzer import ENGLISH_STOP_WORDS

    marked = {h.snippet[a:b].lower() for h in r.hits for a, b in h.highlights}
    assert not marked & ENGLISH_STOP_WORDS  # "are" is neither matched nor highlighted


def test_a_pasted_japanese_question_highlights_no_function_word(engine):
    r = engine.search("契約終了時に、お預かりしたデータを返却または消去し、消去方法・日時・責任者等を記載した"
                      "消去証明書を提出できますか。")
    marked = {h.snippet[a:b] for h in r.hits for a, b in h.highlights}
    assert marked & {"データ", "契約", "消去", "返却", "証明書", "責任者", "方法"}  # its content words are marked
    assert not marked & {"お", "ご", "また", "または", "等", "ら", "これ", "その"}


def _marked(text: str, query: str, **extra) -> list[str]:
    from dataclasses import replace

    from indexer.keyword_index import query_words
    from search.snippet import spans

    terms = query_words(query)
    return [text[a:b] for a, b in spans(text, replace(terms, **extra) if extra else terms)]


def test_a_highlight_is_a_whole_word_of_the_query_and_of_the_passage():
    # a part of a longer query word counts where, with the parts beside it, it makes up most of that word
    assert _marked("ISO/IEC 27001 認証を取得しています。", "多要素認証") == []
    assert _marked("スタッフが 2 要素認証を最低 2 回用いて", "多要素認証") == ["要素認証"]
    assert _marked("多要素認証を導入しています。", "多要素認証") == ["多要素認証"]
    assert _marked("ISO/IEC 27001 認証を取得しています。", "認証 多要素認証") == ["認証"]  # typed on its own too
    # a word of the query inside a longer word of the passage is not that word
    assert _marked("AWS のデータセンターは暗号化されたデータを保管します。", "Do you encrypt data at rest?") == ["データ"]
    assert _marked("データセンター", "データ") == []
    assert _marked("パスワードポリシーを定めています", "パスワード") == ["パスワード"]  # most of the word
    # a one-character word only beside another mark (とき's normal form is 時), unless it is the whole query
    assert _marked("障害時には、その時に", "障害が発生したときに復旧しますか") == ["障害時"]
    assert _marked("火災の時に", "火事になったときにコンピューターを守る仕組み") == []
    assert _marked("鍵を管理", "鍵") == ["鍵"]
    assert _marked("Type 2 レポート", "WPA2 の暗号化をしていますか") == []
    # words added to the query's own (a synonym: extra word → the query word it stands for) are whole words too
    assert _marked("ログインにはサインインを使います", "ログイン", extra={"サインイン": "ログイン"}) == ["ログイン", "サインイン"]
    assert _marked("データセンター", "情報", extra={"データ": "情報"}) == []


def test_the_issue_examples_no_longer_mark_a_misleading_word(engine):
    r = engine.search("多要素認証")  # the document's 2 要素認証, marked whole as the word's synonym
    marked = [(h.id, h.snippet[a:b]) for h in r.hits for a, b in h.highlights]
    assert ("実35", "2 要素認証") in marked and all(m != "認証" for _, m in marked)
    r = engine.search("Do you encrypt data at rest?")
    assert all(not h.snippet[b:].startswith("センター") for h in r.hits for a, b in h.highlights)
    paste = " ".join(q for q in DEV_QUESTIONS if len(q) > 40)[:8000]  # a long paste of questionnaire items
    r = engine.search(paste)
    lone = [h.snippet[a:b] for h in r.hits for a, b in h.highlights if b - a == 1]
    assert r.hits and all(h.highlights for h in r.hits[:3]) and lone == []


def test_the_verdict_over_the_dev_set(engine):
    """A regression guard, in sample: `kijun fit` reports the held-out figures."""
    from pathlib import Path

    from search.evaluation import evaluate, load_eval_set
    from search.fusion import load_weights

    queries = load_eval_set(Path(__file__).resolve().parents[1] / "eval" / "dev.jsonl")
    a = evaluate(queries, lambda q: engine.search(q)).answerability()
    assert a["unanswerable_flagged"] >= 0.6 * a["unanswerable"]
    assert a["answerable_flagged"] <= 0.15 * a["answerable"]
    assert a["auc"] >= 0.85
    held_out = load_weights().fitted["held_out"]["all"]["overall"]  # what the shipped weights were chosen by
    assert held_out["n"] >= 130 and held_out["ndcg@10"] >= 0.8


def test_cli_explain_says_which_signals_a_hit_lacks(engine):
    # the third hit of this out-of-scope query matched no query word: its keyword and synonym
    # ranks are None, which --explain must show as "-", not as "#None None"
    from search.app.cli import _render_hits

    result = engine.search("社員食堂のメニュー", mode="hybrid", limit=10, explain=True)
    lacking = next(n for n, h in enumerate(result.hits) if h.explain["keyword_rank"] is None)
    text = _render_hits(result, explain=True)
    assert "None" not in text
    lines = [line.strip() for line in text.splitlines() if "fused" in line]
    assert lines[lacking].startswith("keyword -  synonym -  thesaurus -  passage #")


def test_nearly_identical_hits_are_the_duplicate_finders_pairs(engine, doc):
    # 実130 and 実77 say only the shared customer sentence: boilerplate, which the duplicate
    # finder leaves out, so they are not "nearly identical"; nor is 実148's change-history entry
    r = engine.search("実130 実148 実77", mode="keyword")
    assert [(h.id, h.kind) for h in r.hits] == [("実130", "criterion"), ("実148", "criterion"),
                                                ("実148", "revision"), ("実77", "criterion")]
    assert all(h.near_text == () for h in r.hits)
    from corpus.duplicates import cached_report

    pairs = {(p.a, p.b) for p in cached_report(doc).criteria_pairs}
    r = engine.search("実56 実57 実58 実49 実50", mode="keyword")
    said = {tuple(sorted((h.id, n), key=lambda i: int(i[1:]))) for h in r.hits for n in h.near_text}
    assert said == {("実56", "実57"), ("実56", "実58"), ("実57", "実58"), ("実49", "実50")} <= pairs


def test_an_embedding_index_fits_only_a_table_in_its_order(engine):
    # its rows are numbered by the table's order: the same corpus tabled in another order
    # (a change in how the table is made) must rebuild it, not misalign every score
    from corpus.documents import DocumentTable
    from indexer import embedding_index, store

    stored = store.read_meta(engine.semantic().dir)
    same = embedding_index.wanted_meta(engine.table, stored["model"])
    reordered = DocumentTable(tuple(reversed(engine.table.documents)), engine.table.corpus_hash)
    assert store.mismatches(stored, same) == []
    assert store.mismatches(stored, embedding_index.wanted_meta(reordered, stored["model"])) == ["documents"]


NOISE = ("（項目{n}）", " No.{n}", "※必須", "【必須】", "{n}. ", "(問{n})")


def test_item_labels_do_not_move_the_verdict_or_the_top_criterion(engine):
    """The same question with a check sheet's labels around it is the same question: over every dev
    questionnaire item, each kind of label, same verdict and same first criterion."""
    import json
    from pathlib import Path

    rows = [json.loads(line) for line in (Path(__file__).resolve().parents[1] / "eval/dev.jsonl")
            .read_text(encoding="utf-8").splitlines() if line.strip()]
    changed = []
    for n, row in enumerate(r for r in rows if r["kind"] == "questionnaire"):
        plain = engine.search(row["query"], limit=3)
        for k, label in enumerate(NOISE):
            noise = label.format(n=n + 1 + 10 * k)
            noisy = noise + row["query"] if noise.endswith(" ") or noise.startswith("【") else row["query"] + noise
            r = engine.search(noisy, limit=3)
            if (r.match.status, r.ids[:1]) != (plain.match.status, plain.ids[:1]):
                changed.append((row["query"][:30], noise))
    assert changed == []


def test_item_labels_are_taken_only_from_the_ends():
    from search.query import LABEL_REACH, strip_item_labels

    q = "パスワードを定期的に変更していますか。"
    assert strip_item_labels(f"3. {q}(項目3)※必須") == q
    assert strip_item_labels(f"【必須】 Q12 {q}") == q
    assert strip_item_labels("(項目3)") == "(項目3)"  # only a label: kept, nothing else to search
    middle = f"{q} 問5 の回答を参照。"
    assert strip_item_labels(middle) == middle  # a label inside the text is the text
    # a label is looked for near the ends only, so a long run of spaces costs a scan, not a rescan per space
    spaced = q + " " * 10_000 + "(項目3)"
    assert strip_item_labels(spaced) == q
    long = "あ" * LABEL_REACH * 3
    assert strip_item_labels(f"{long}(項目3)") == long and strip_item_labels(f"(項目3){long}") == long


def test_a_question_the_document_does_not_answer_lists_only_the_closest_few_unfolded(engine):
    from search.engine import NO_MATCH_SHOWN

    r = engine.search("サイバー保険に加入していますか。", limit=20)
    assert_clearly(r, "no_match")
    assert len(r.hits) > NO_MATCH_SHOWN
    assert len(r.shown) == NO_MATCH_SHOWN and r.shown + r.folded == r.hits
    # a flagged question that the document does answer keeps its best criterion in view
    r = engine.search("建物の中で、働く人が入れる場所を人ごとに区切っているか", limit=20)
    assert_clearly(r, "no_match")
    assert {"実49", "実50", "実56", "実57", "実58"} & {h.id for h in r.shown}  # the access-zone criteria
    answered = engine.search("アクセスログを取得していますか。", limit=20)  # answered: the fitted floor alone folds
    assert_clearly(answered, "answered")
    assert len(answered.shown) > NO_MATCH_SHOWN


def test_hybrid_folds_what_stands_below_the_fitted_floor(engine):
    r = engine.search("パスワード", limit=20)
    assert engine.weights.floor > 0 and r.above_floor is not None and 1 <= r.above_floor < len(r.hits)
    assert r.shown[0].id == "実26" and r.shown + r.folded == r.hits
    top = r.hits[0].score
    assert all(h.score >= engine.weights.floor * top for h in r.shown)
    assert all(h.score < engine.weights.floor * top for h in r.folded)
    assert engine.search("パスワード", mode="keyword").above_floor is None  # keyword mode lists only matches
    lookup = engine.search("実26")
    assert lookup.above_floor is None and lookup.hits[0].named
