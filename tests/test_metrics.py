"""Ranking metrics, checked against values worked out by hand (arithmetic in comments)."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from search.metrics import dedupe, hit, ndcg, recall, reciprocal_rank

LOG2_3 = math.log2(3)  # 1.5849625...: the discount at rank 2


# --------------------------------------------------------------------------- dedupe


def test_dedupe_keeps_first_occurrence_in_order():
    assert dedupe(["実26", "統20", "実26", "実27", "統20"]) == ["実26", "統20", "実27"]


def test_dedupe_empty():
    assert dedupe([]) == []


# --------------------------------------------------------------------------- reciprocal rank


def test_reciprocal_rank_first_relevant_position():
    # first relevant ("b") is at rank 3 -> 1/3
    assert reciprocal_rank(["x", "y", "b"], {"b": 2}) == pytest.approx(1 / 3)


def test_reciprocal_rank_counts_duplicates_once():
    # ["x", "x", "x", "b"] dedupes to ["x", "b"] -> "b" at rank 2 -> 1/2
    assert reciprocal_rank(["x", "x", "x", "b"], {"b": 2}) == pytest.approx(0.5)


def test_reciprocal_rank_grade_one_counts_and_grade_zero_does_not():
    # "x" is judged 0 (not relevant), "a" is 1 (related) at rank 2 -> 1/2
    assert reciprocal_rank(["x", "a"], {"x": 0, "a": 1}) == pytest.approx(0.5)


def test_reciprocal_rank_k_cutoff():
    ranked = [f"x{i}" for i in range(10)] + ["b"]  # "b" at rank 11
    assert reciprocal_rank(ranked, {"b": 2}) == 0.0  # k=10 -> outside
    assert reciprocal_rank(ranked, {"b": 2}, k=11) == pytest.approx(1 / 11)


def test_reciprocal_rank_k_applies_after_dedupe():
    # 12 entries but only 2 distinct ids: "b" is rank 2 after dedupe, inside k=2
    ranked = ["x"] * 11 + ["b"]
    assert reciprocal_rank(ranked, {"b": 2}, k=2) == pytest.approx(0.5)


@pytest.mark.parametrize(
    "ranked, relevant",
    [([], {"a": 2}), (["a", "b"], {}), (["a"], {"z": 2}), (["a"], {"a": 0})],
    ids=["empty-ranking", "no-judgements", "relevant-absent", "only-grade-0"],
)
def test_reciprocal_rank_zero_cases(ranked, relevant):
    assert reciprocal_rank(ranked, relevant) == 0.0


# --------------------------------------------------------------------------- nDCG


def test_ndcg_mixed_grades_and_missing_id():
    # ranked a(2) x(0) b(1); "c"(2) is relevant but never returned.
    # DCG  = 2/log2(2) + 0/log2(3) + 1/log2(4)   = 2 + 0 + 0.5           = 2.5
    # IDCG = grades sorted [2, 2, 1]:
    #        2/log2(2) + 2/log2(3) + 1/log2(4)   = 2 + 1.2618595 + 0.5   = 3.7618595
    # nDCG = 2.5 / 3.7618595                                             = 0.6645640
    value = ndcg(["a", "x", "b"], {"a": 2, "b": 1, "c": 2})
    assert value == pytest.approx(2.5 / (2 + 2 / LOG2_3 + 0.5))
    assert value == pytest.approx(0.664564, abs=1e-6)


def test_ndcg_grade_one_before_grade_two_is_penalised():
    # ranked r(1) s(2): DCG  = 1 + 2/log2(3) = 1 + 1.2618595 = 2.2618595
    # ideal  s(2) r(1): IDCG = 2 + 1/log2(3) = 2 + 0.6309298 = 2.6309298
    # nDCG = 2.2618595 / 2.6309298 = 0.8597186
    assert ndcg(["r", "s"], {"r": 1, "s": 2}) == pytest.approx(0.8597186, abs=1e-6)
    assert ndcg(["s", "r"], {"r": 1, "s": 2}) == pytest.approx(1.0)


def test_ndcg_duplicates_do_not_inflate_past_one():
    # ["a", "a", "b"] dedupes to ["a", "b"], which is the ideal order -> 1.0
    # (without dedupe DCG would be 2 + 2/log2(3) + 2/2 = 4.26 > IDCG = 3.26)
    assert ndcg(["a", "a", "b"], {"a": 2, "b": 2}) == pytest.approx(1.0)


def test_ndcg_k_cutoff():
    # relevant "a" at rank 2
    assert ndcg(["x", "a"], {"a": 2}, k=1) == 0.0
    # k=2: DCG = 2/log2(3) = 1.2618595; IDCG = 2/log2(2) = 2 -> 0.6309298
    assert ndcg(["x", "a"], {"a": 2}, k=2) == pytest.approx(1 / LOG2_3)


def test_ndcg_ideal_is_truncated_at_k():
    # three grade-2 ids but k=1: IDCG = 2 (only the first ideal slot), DCG = 2 -> 1.0
    assert ndcg(["a", "b"], {"a": 2, "b": 2, "c": 2}, k=1) == pytest.approx(1.0)


@pytest.mark.parametrize(
    "ranked, relevant",
    [([], {"a": 2}), (["a"], {}), (["a"], {"a": 0}), (["x", "y"], {"a": 1})],
    ids=["empty-ranking", "no-judgements", "only-grade-0", "relevant-absent"],
)
def test_ndcg_zero_cases(ranked, relevant):
    assert ndcg(ranked, relevant) == 0.0


# --------------------------------------------------------------------------- recall


def test_recall_counts_grade_two_in_top_k():
    # grade-2 targets {a, b}; top 5 = c a x y z -> only "a" found -> 1/2
    ranked = ["c", "a", "x", "y", "z", "b"]
    relevant = {"a": 2, "b": 2, "c": 1}
    assert recall(ranked, relevant) == pytest.approx(0.5)
    # k=6 brings "b" in -> 2/2
    assert recall(ranked, relevant, k=6) == pytest.approx(1.0)


def test_recall_denominator_is_not_capped_at_k():
    # 8 grade-2 ids, all returned first: 5 of 8 fit in the top 5 -> 0.625
    relevant = {f"r{i}": 2 for i in range(8)}
    assert recall(list(relevant), relevant) == pytest.approx(5 / 8)


def test_recall_falls_back_to_grade_one_when_no_grade_two():
    # no grade-2 ids, so targets = {a, b} (grade 1); "a" found -> 1/2
    assert recall(["a", "x"], {"a": 1, "b": 1}) == pytest.approx(0.5)


def test_recall_grade_one_ignored_when_grade_two_exists():
    # targets = {"s"} (grade 2); "r" (grade 1) found but does not count -> 0
    assert recall(["r"], {"r": 1, "s": 2}) == 0.0
    # min_grade=1: targets = {r, s}; "r" found -> 1/2
    assert recall(["r"], {"r": 1, "s": 2}, min_grade=1) == pytest.approx(0.5)


def test_recall_duplicates_counted_once_for_the_cutoff():
    # five "a"s then "b": dedupes to ["a", "b"], both inside top 5 -> 2/2
    assert recall(["a"] * 5 + ["b"], {"a": 2, "b": 2}) == pytest.approx(1.0)


def test_recall_relevant_id_absent_from_ranking():
    # targets {a, z}; "z" never returned -> 1/2
    assert recall(["a", "b"], {"a": 2, "z": 2}) == pytest.approx(0.5)


@pytest.mark.parametrize(
    "ranked, relevant",
    [([], {"a": 2}), (["a"], {}), (["a"], {"a": 0})],
    ids=["empty-ranking", "no-judgements", "only-grade-0"],
)
def test_recall_zero_cases(ranked, relevant):
    assert recall(ranked, relevant) == 0.0


# --------------------------------------------------------------------------- hit


def test_hit():
    assert hit(["x", "a"], {"a": 1}) is True
    assert hit(["x", "a"], {"a": 2}, k=1) is False
    assert hit(["x"] * 20 + ["a"], {"a": 2}, k=2) is True  # dedupe: "a" is rank 2
    assert hit([], {"a": 2}) is False
    assert hit(["a"], {"a": 0}) is False
    assert hit(["a"], {}) is False


# --------------------------------------------------------------------------- arguments


@pytest.mark.parametrize("fn", [reciprocal_rank, ndcg, recall, hit])
def test_k_must_be_positive(fn):
    with pytest.raises(ValueError, match="k must be >= 1"):
        fn(["a"], {"a": 2}, k=0)


def test_min_grade_must_be_positive():
    with pytest.raises(ValueError, match="min_grade"):
        recall(["a"], {"a": 2}, min_grade=0)


# --------------------------------------------------------------------------- properties

ids = st.sampled_from(["実1", "実2", "実3", "監1", "統20", "x"])
rankings = st.lists(ids, max_size=15)
judgements = st.dictionaries(ids, st.integers(0, 2), max_size=6)
ks = st.integers(1, 12)


@given(rankings, judgements, ks)
def test_metrics_are_bounded(ranked, relevant, k):
    assert 0.0 <= ndcg(ranked, relevant, k) <= 1.0 + 1e-12
    assert 0.0 <= recall(ranked, relevant, k) <= 1.0
    rr = reciprocal_rank(ranked, relevant, k)
    assert rr == 0.0 or any(rr == pytest.approx(1 / i) for i in range(1, k + 1))
    assert hit(ranked, relevant, k) == (rr > 0)


@given(rankings, judgements, ks)
def test_metrics_only_see_the_deduped_ranking(ranked, relevant, k):
    once = dedupe(ranked)
    assert ndcg(ranked, relevant, k) == ndcg(once, relevant, k)
    assert recall(ranked, relevant, k) == recall(once, relevant, k)
    assert reciprocal_rank(ranked, relevant, k) == reciprocal_rank(once, relevant, k)


@given(judgements, ks)
def test_ideal_ranking_scores_one(relevant, k):
    ideal = sorted((i for i, g in relevant.items() if g > 0), key=lambda i: -relevant[i])
    if ideal:
        assert ndcg(ideal, relevant, k) == pytest.approx(1.0)
        assert reciprocal_rank(ideal, relevant, k) == 1.0
