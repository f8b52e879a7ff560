"""Loading the JSONL eval set, scoring rankers, and the report/table built from it."""

import hashlib
import json
import math
from pathlib import Path

import pytest

from search.evaluation import (
    EvalFileError,
    EvalQuery,
    ModeReport,
    _width,
    evaluate,
    evaluate_modes,
    format_table,
    load_eval_set,
)

pytestmark = pytest.mark.scored

DEV_SET = Path(__file__).resolve().parents[1] / "eval" / "dev.jsonl"
LOG2_3 = math.log2(3)


def write_jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --------------------------------------------------------------------------- loading


def test_load_valid_file(tmp_path):
    path = write_jsonl(
        tmp_path / "set.jsonl",
        [
            '{"query": "GuardDuty", "relevant": {"実16": 2}, "kind": "keyword"}',
            "",
            "   ",
            '{"query": "暗号鍵の管理", "relevant": {}, "kind": "questionnaire", '
            '"topic": "暗号化", "answerable": false}',
            '{"query": "委託先", "relevant": {"監3": 1, "実48": 0}, "kind": "questionnaire", '
            '"topic": "委託先管理・監査", "answerable": true}',
        ],
    )
    queries = load_eval_set(str(path))  # str paths work as well as Path
    assert queries == [
        EvalQuery("GuardDuty", {"実16": 2}, "keyword", None, True, line=1),
        EvalQuery("暗号鍵の管理", {}, "questionnaire", "暗号化", False, line=4),
        EvalQuery("委託先", {"監3": 1, "実48": 0}, "questionnaire", "委託先管理・監査", True, line=5),
    ]


def test_answerable_false_when_relevant_empty_even_if_flag_missing(tmp_path):
    path = write_jsonl(
        tmp_path / "set.jsonl",
        [
            '{"query": "a", "relevant": {}, "kind": "keyword"}',
            '{"query": "b", "relevant": {"実1": 0}, "kind": "keyword", "answerable": true}',
            '{"query": "c", "relevant": {"実1": 2}, "kind": "keyword", "answerable": false}',
        ],
    )
    assert [q.answerable for q in load_eval_set(path)] == [False, False, False]


def test_eval_query_built_in_code_normalises_answerable():
    assert EvalQuery("q", {}, "keyword").answerable is False
    assert EvalQuery("q", {"実1": 1}, "keyword").answerable is True


def test_load_tolerates_utf8_bom(tmp_path):
    path = tmp_path / "bom.jsonl"
    line = '{"query": "q", "relevant": {"実1": 2}, "kind": "id"}\n'
    path.write_bytes(b"\xef\xbb\xbf" + line.encode())
    assert load_eval_set(path)[0].query == "q"


GOOD = '{"query": "ok", "relevant": {"実1": 2}, "kind": "keyword"}'


@pytest.mark.parametrize(
    "bad_line, expected",
    [
        ('{"query": "x", "relevant": {"実1": 2}, "kind": "keyword"', "not valid JSON"),
        ('["query", "relevant"]', "expected a JSON object, got list"),
        ('{"relevant": {"実1": 2}, "kind": "keyword"}', 'missing "query"'),
        ('{"query": " ", "relevant": {"実1": 2}, "kind": "keyword"}', '"query" must be a non-empty'),
        ('{"query": "x", "kind": "keyword"}', 'missing "relevant"'),
        ('{"query": "x", "relevant": ["実1"], "kind": "keyword"}', "object of id -> grade"),
        ('{"query": "x", "relevant": {"実1": 3}, "kind": "keyword"}', "grade for '実1'"),
        ('{"query": "x", "relevant": {"実1": "2"}, "kind": "keyword"}', "grade for '実1'"),
        ('{"query": "x", "relevant": {"実1": 1.5}, "kind": "keyword"}', "grade for '実1'"),
        ('{"query": "x", "relevant": {"実1": true}, "kind": "keyword"}', "grade for '実1'"),
        ('{"query": "x", "relevant": {"実1": -1}, "kind": "keyword"}', "grade for '実1'"),
        ('{"query": "x", "relevant": {" 実1": 2}, "kind": "keyword"}', "surrounding spaces"),
        ('{"query": "x", "relevant": {"実1": 2, "実1": 1}, "kind": "keyword"}', "'実1' appears twice"),
        ('{"query": "x", "relevant": {"実1": 2}}', 'missing "kind"'),
        ('{"query": "x", "relevant": {"実1": 2}, "kind": ""}', '"kind" must be'),
        ('{"query": "x", "relevant": {"実1": 2}, "kind": "k", "topic": 3}', '"topic" must be'),
        ('{"query": "x", "relevant": {"実1": 2}, "kind": "k", "answerable": "no"}', "true or false"),
        ('{"query": "x", "relevant": {"実1": 2}, "kind": "k", "answerble": false}', "'answerble'"),
    ],
    ids=[
        "truncated-json", "not-object", "no-query", "blank-query", "no-relevant",
        "relevant-list", "grade-3", "grade-string", "grade-float", "grade-bool",
        "grade-negative", "id-spaces", "duplicate-id", "no-kind", "empty-kind",
        "topic-number", "answerable-string", "unknown-field",
    ],
)
def test_malformed_line_names_file_and_line(tmp_path, bad_line, expected):
    # line 3 is the bad one (line 2 is blank and must still be counted)
    path = write_jsonl(tmp_path / "bad.jsonl", [GOOD, "", bad_line, GOOD])
    with pytest.raises(EvalFileError) as info:
        load_eval_set(path)
    message = str(info.value)
    assert "bad.jsonl:3: " in message
    assert expected in message
    assert info.value.line == 3
    assert info.value.fix  # every error says how to fix it
    assert isinstance(info.value, ValueError)


def test_missing_file(tmp_path):
    missing = tmp_path / "nope.jsonl"
    with pytest.raises(EvalFileError, match=r"nope\.jsonl: eval set not found"):
        load_eval_set(missing)


def test_directory_and_empty_file(tmp_path):
    with pytest.raises(EvalFileError, match="is a directory"):
        load_eval_set(tmp_path)
    empty = write_jsonl(tmp_path / "empty.jsonl", ["", "  "])
    with pytest.raises(EvalFileError, match="contains no queries"):
        load_eval_set(empty)


def test_non_utf8_file(tmp_path):
    path = tmp_path / "sjis.jsonl"
    path.write_bytes('{"query": "暗号"}'.encode("shift_jis"))
    with pytest.raises(EvalFileError, match="not UTF-8"):
        load_eval_set(path)


ORIGINAL_55_SHA256 = "24ee062b42af6f4ef79e29390c2be725d977381057b214e9a7530a78e30c05bd"


def test_real_dev_set_parses():
    queries = load_eval_set(DEV_SET)
    assert {q.kind for q in queries} == {"keyword", "id", "paraphrase", "english", "questionnaire"}
    assert all(q.topic for q in queries if q.kind == "questionnaire")
    unanswerable = [q for q in queries if not q.answerable]
    assert unanswerable and all(q.relevant == {} for q in unanswerable)
    assert [q.line for q in queries] == list(range(1, len(queries) + 1))


def test_dev_set_keeps_the_original_55_and_grows_past_150():
    lines = DEV_SET.read_bytes().splitlines(keepends=True)
    assert hashlib.sha256(b"".join(lines[:55])).hexdigest() == ORIGINAL_55_SHA256  # numbers stay comparable
    added = load_eval_set(DEV_SET)[55:]
    assert len(added) >= 95
    questionnaire = [q for q in added if q.kind == "questionnaire"]
    assert len(questionnaire) >= 60 and sum(not q.answerable for q in questionnaire) >= 25
    assert all(q.source for q in added)
    assert {"paraphrase", "english"} <= {q.kind for q in added}


# --------------------------------------------------------------------------- evaluate

# Fake engine: query -> ranking. Hand-computed per-query metrics (k=10, recall@5):
#   k1 keyword   rel {a:2}       rank [x, a]      mrr 1/2  ndcg (2/log2 3)/2 = 0.6309298  R 1  hit
#   k2 keyword   rel {b:2, c:1}  rank [b, b, c]   dedupe [b, c] = the ideal order:
#                                                 mrr 1    ndcg 1                        R 1  hit
#   p1 paraphr.  rel {d:2}       rank [x, y]      mrr 0    ndcg 0                        R 0  miss
#   u1 question. rel {} (unanswerable)   rank [e, f, g, h]   -> reported, not averaged
#   u2 question. rel {a:1}, answerable false, rank [a]       -> reported, not averaged
QUERIES = [
    EvalQuery("k1", {"a": 2}, "keyword", line=1),
    EvalQuery("k2", {"b": 2, "c": 1}, "keyword", line=2),
    EvalQuery("p1", {"d": 2}, "paraphrase", line=3),
    EvalQuery("u1", {}, "questionnaire", topic="暗号化", answerable=False, line=4),
    EvalQuery("u2", {"a": 1}, "questionnaire", topic="契約", answerable=False, line=5),
]
RANKINGS = {
    "k1": ["x", "a"],
    "k2": ["b", "b", "c"],
    "p1": ["x", "y"],
    "u1": ["e", "f", "g", "h"],
    "u2": ["a"],
}
NDCG_K1 = 1 / LOG2_3  # 0.6309298


def fake(rankings):
    return lambda query: rankings[query]


def test_evaluate_overall_means_over_answerable_only():
    report = evaluate(QUERIES, fake(RANKINGS))
    assert isinstance(report, ModeReport)
    overall = report.overall
    assert overall.n == 3
    assert overall.mrr == pytest.approx((0.5 + 1 + 0) / 3)  # 0.5
    assert overall.ndcg == pytest.approx((NDCG_K1 + 1 + 0) / 3)  # 0.5436433
    assert overall.recall == pytest.approx((1 + 1 + 0) / 3)  # 0.6666667
    assert overall.misses == 1  # p1


def test_evaluate_by_kind():
    by_kind = evaluate(QUERIES, fake(RANKINGS)).by_kind
    assert list(by_kind) == ["keyword", "paraphrase", "questionnaire"]  # first-seen order
    keyword = by_kind["keyword"]
    assert keyword.n == 2 and keyword.misses == 0
    assert keyword.mrr == pytest.approx((0.5 + 1) / 2)  # 0.75
    assert keyword.ndcg == pytest.approx((NDCG_K1 + 1) / 2)  # 0.8154649
    assert keyword.recall == pytest.approx(1.0)
    p = by_kind["paraphrase"]
    assert (p.n, p.mrr, p.ndcg, p.recall, p.misses) == (1, 0.0, 0.0, 0.0, 1)
    # only unanswerable questionnaire items: nothing to average, not a zero score
    questionnaire = by_kind["questionnaire"]
    assert (questionnaire.n, questionnaire.mrr, questionnaire.misses) == (0, None, 0)


def test_unanswerable_queries_are_run_and_reported():
    calls = []

    def rank(query):
        calls.append(query)
        return RANKINGS[query]

    report = evaluate(QUERIES, rank)
    assert calls == ["k1", "k2", "p1", "u1", "u2"]
    rows = {row.query.query: row for row in report.queries}
    assert rows["u1"].top == ("e", "f", "g", "h")
    assert rows["u1"].query.answerable is False
    # u2 hits its related id, but its "answerable": false keeps it out of the means
    assert rows["u2"].hit is True
    assert report.overall.mrr == pytest.approx(0.5)


def test_evaluate_top_is_deduped_and_cut_at_k():
    ranking = ["a", "a"] + [f"x{i}" for i in range(12)] + ["b"]
    report = evaluate([EvalQuery("q", {"b": 2}, "keyword")], fake({"q": ranking}))
    row = report.queries[0]
    assert row.top == ("a",) + tuple(f"x{i}" for i in range(9))  # 10 distinct ids
    assert (row.mrr, row.hit) == (0.0, False)  # "b" is rank 14 after dedupe
    assert report.overall.misses == 1


def test_mode_report_to_dict():
    data = evaluate(QUERIES, fake(RANKINGS)).to_dict()
    metric_keys = {"mrr@10", "ndcg@10", "recall@5", "n", "misses"}
    assert set(data) == {"overall", "by_kind", "answerability", "queries"}
    assert data["answerability"] is None  # a plain ranking is not judged
    assert set(data["overall"]) == metric_keys
    assert all(set(agg) == metric_keys for agg in data["by_kind"].values())
    assert data["queries"][0] == {
        "query": "k1",
        "kind": "keyword",
        "answerable": True,
        "top": ["x", "a"],
        "mrr@10": 0.5,
        "ndcg@10": pytest.approx(NDCG_K1),
        "recall@5": 1.0,
        "hit": True,
        "flagged": None,
        "judgement": None,
    }
    json.dumps(data)  # JSON-ready


def test_a_judging_ranker_is_scored_on_its_no_match_verdicts():
    class Judgement:
        def __init__(self, status, score):
            self.status, self.score = status, score

    class Result:
        def __init__(self, ids, match):
            self.ids, self.match = ids, match

    verdicts = {"k1": ("answered", 0.9), "k2": ("no_match", 0.4), "p1": ("answered", 0.3),
                "u1": ("no_match", 0.2), "u2": ("answered", 0.35)}
    report = evaluate(QUERIES, lambda q: Result(RANKINGS[q], Judgement(*verdicts[q])))
    a = report.answerability()
    # u1 and u2 are unanswerable: u1 flagged, u2 answered wrongly; k2 is answerable and flagged wrongly
    assert (a["unanswerable"], a["unanswerable_flagged"], a["answerable"], a["answerable_flagged"]) == (2, 1, 3, 1)
    # pairs (answerable, unanswerable) ranked right: 0.9 and 0.4 beat both, 0.3 beats 0.2 only → 5 of 6
    assert a["auc"] == pytest.approx(5 / 6)
    assert [r.flagged for r in report.queries] == [False, True, False, True, False]


def test_ranker_returning_a_string_is_rejected():
    with pytest.raises(TypeError, match="sequence of id strings.*line 1"):
        evaluate([QUERIES[0]], lambda q: "実16")


def test_ranker_returning_hit_objects_is_rejected():
    with pytest.raises(TypeError, match="map hits to their ids"):
        evaluate([QUERIES[0]], lambda q: [{"id": "a"}])


def test_ranker_may_return_any_iterable():
    report = evaluate([QUERIES[0]], lambda q: (i for i in ["x", "a"]))
    assert report.overall.mrr == pytest.approx(0.5)


def test_ranker_exception_names_the_query():
    def broken(query):
        raise RuntimeError("index missing")

    with pytest.raises(RuntimeError) as info:
        evaluate([QUERIES[1]], broken)
    assert any("'k2'" in note and "line 2" in note for note in info.value.__notes__)


# --------------------------------------------------------------------------- evaluate_modes


def two_modes():
    good = RANKINGS
    # "bad" engine: k1 finds "a" at rank 1, everything else finds nothing
    bad = {q: ["z"] for q in RANKINGS} | {"k1": ["a"]}
    return evaluate_modes(QUERIES, {"bm25": fake(bad), "hybrid": fake(good)})


def test_evaluate_modes_json_shape():
    report = two_modes()
    assert set(report) == {"modes", "queries"}
    assert list(report["modes"]) == ["bm25", "hybrid"]
    metric_keys = {"mrr@10", "ndcg@10", "recall@5", "n", "misses"}
    for mode in report["modes"].values():
        assert set(mode) == {"overall", "by_kind", "answerability", "terms_answerability"}
        assert set(mode["overall"]) == metric_keys
        assert set(mode["by_kind"]) == {"keyword", "paraphrase", "questionnaire"}
        assert all(set(agg) == metric_keys for agg in mode["by_kind"].values())

    assert len(report["queries"]) == len(QUERIES)
    for row, q in zip(report["queries"], QUERIES):
        assert set(row) == {"query", "kind", "answerable", "relevant", "results"}
        assert (row["query"], row["kind"], row["answerable"], row["relevant"]) == (
            q.query, q.kind, q.answerable, q.relevant,
        )
        assert set(row["results"]) == {"bm25", "hybrid"}
        for result in row["results"].values():
            assert set(result) == {"top", "mrr@10", "ndcg@10", "recall@5"}

    # bm25: only k1 answered (rank 1): mrr = (1 + 0 + 0) / 3, misses = 2
    bm25 = report["modes"]["bm25"]["overall"]
    assert bm25["mrr@10"] == pytest.approx(1 / 3)
    assert bm25["misses"] == 2
    assert report["modes"]["hybrid"]["overall"]["mrr@10"] == pytest.approx(0.5)
    u1 = report["queries"][3]
    assert u1["results"]["hybrid"]["top"] == ["e", "f", "g", "h"]
    assert u1["results"]["bm25"]["top"] == ["z"]
    # round-trips through JSON unchanged (ids stay readable with ensure_ascii=False)
    assert json.loads(json.dumps(report, ensure_ascii=False)) == report


def test_evaluate_modes_needs_a_ranker():
    with pytest.raises(ValueError, match="at least one ranker"):
        evaluate_modes(QUERIES, {})


# --------------------------------------------------------------------------- format_table


def test_format_table_contents():
    text = format_table(two_modes())
    print(text)
    assert "bm25" in text and "hybrid" in text
    lines = text.splitlines()
    overall = next(line for line in lines if line.startswith("overall"))
    # n = 3; bm25: mrr 0.333, ndcg (1+0+0)/3 = 0.333, R@5 0.333, misses 2
    #        hybrid: mrr 0.500, ndcg 0.544, R@5 0.667, misses 1
    assert overall.split() == [
        "overall", "3", "|", "0.333", "0.333", "0.333", "2", "|", "0.500", "0.544", "0.667", "1",
    ]
    keyword = next(line for line in lines if line.strip().startswith("keyword"))
    # keyword hybrid: 0.750 0.815 1.000, 0 misses
    assert keyword.split()[-4:] == ["0.750", "0.815", "1.000", "0"]
    questionnaire = next(line for line in lines if line.strip().startswith("questionnaire"))
    assert questionnaire.split()[:3] == ["questionnaire", "0", "|"]
    assert "-" in questionnaire.split()  # no answerable items -> no mean shown

    unanswerable = text[text.index("Unanswerable"):]
    assert "u1" in unanswerable and "u2" in unanswerable and "k1" not in unanswerable
    assert "hybrid  e, f, g\n" in unanswerable  # top 3 only: "h" is cut


def test_format_table_fits_100_columns_with_many_modes_and_long_text():
    long_query = "お客様データを分類し、分類に応じて暗号化やアクセス制御の強度を変えていますか。" * 3
    queries = [
        EvalQuery("k1", {"a": 2}, "keyword"),
        EvalQuery(long_query, {}, "questionnaire", answerable=False),
    ]
    rankings = {"k1": ["a"], long_query: ["実26", "実27", "統20", "監3"]}
    names = ["bm25", "dense", "hybrid", "hybrid-rrf-very-long-mode-name"]
    modes = {name: fake(rankings) for name in names}
    text = format_table(evaluate_modes(queries, modes))
    print(text)
    assert max(_width(line) for line in text.splitlines()) <= 100
    for name in ["bm25", "dense", "hybrid"]:
        assert name in text
    assert "実26, 実27, 統20" in text and "監3" not in text


def test_format_table_without_unanswerable_queries():
    text = format_table(evaluate_modes(QUERIES[:3], {"bm25": fake(RANKINGS)}))
    assert "Unanswerable queries: none." in text
    assert "0.500" in text
