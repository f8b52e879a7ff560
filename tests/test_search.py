"""Keyword, semantic and hybrid search on the real corpus."""
from __future__ import annotations

import pytest

from search.errors import EmptyQuery, LimitOutOfRange, QueryError, QueryTooLong, UnknownFilter, UnknownMode
from search.query import parse_query


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
    assert any("実999" in w for w in r.warnings)


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
    assert hit.explain["keyword_rank"] == 1 and hit.explain["semantic_rank"] is not None
    assert hit.explain["passage"]


def test_semantic_respects_filters(engine, doc):
    r = engine.search("データセンターの入館管理", mode="semantic", aws="primary", customer="info")
    assert r.hits and all((doc.get(h.id).aws_role, doc.get(h.id).customer_role) == ("◯", "-") for h in r.hits)


def test_model_missing_falls_back_to_keyword_with_warning(data_root):
    from search.engine import Engine

    e = Engine(data_dir=data_root, model="/nonexistent/model-dir")
    r = e.search("パスワード", mode="hybrid")
    assert r.hits[0].id == "実26"
    assert any("unavailable" in w for w in r.warnings)
    assert e.search("パスワード", mode="semantic").hits[0].id == "実26"


def test_top_two_per_group():
    import numpy as np

    from indexer.embedding_index import top_two

    groups = np.array([1, 0, 1, 2, 1, 0])
    values = np.array([0.5, 0.2, 0.9, 0.4, 0.7, 0.3])
    best, second = top_two(groups, values)
    assert best.tolist() == [5, 2, 3]  # group 0: 0.3 at 5; group 1: 0.9 at 2; group 2: its only member
    assert second.tolist() == [1, 4, 3]


def test_semantic_scores_are_best_passage_plus_a_nudge_from_the_second(engine):
    import numpy as np

    from indexer.embedding_index import SECOND_PASSAGE_WEIGHT

    index = engine.semantic()
    vec = engine._encoder.encode_queries(["パスワードの有効期限"])[0]
    sims = index.matrix @ vec
    per_doc: dict[str, list[float]] = {}
    for p in index.postings:
        per_doc.setdefault(p["doc_key"], []).append(float(sims[p["row"]]))
    want = {}
    for key, s in per_doc.items():
        s.sort(reverse=True)
        second = s[1] if len(s) > 1 else s[0]
        want[key] = s[0] + SECOND_PASSAGE_WEIGHT * (second - s[0])
    got = {h.doc_key: h.score for h in index.scores(vec)}
    assert got.keys() == want.keys()
    assert np.allclose([got[k] for k in want], list(want.values()), atol=1e-6)
    assert [h.score for h in index.scores(vec)] == sorted(got.values(), reverse=True)
