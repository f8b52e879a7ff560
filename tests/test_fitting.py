"""Fitting on the dev set: folds, the held-out protocol, the logistic judgement and its report."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from search import fitting
from search.evaluation import load_eval_set

DEV = Path(__file__).resolve().parents[1] / "eval" / "dev.jsonl"


def test_folds_partition_the_queries_and_depend_on_the_seed():
    a = fitting.folds(23, k=5, seed=0)
    assert sorted(i for f in a for i in f) == list(range(23))
    assert [len(f) for f in a] == [5, 5, 5, 4, 4]
    assert fitting.folds(23, k=5, seed=0) == a  # repeatable
    assert fitting.folds(23, k=5, seed=1) != a  # a repetition is another split


def test_logistic_regression_orders_what_separates():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    y = (x[:, 0] - 0.5 * x[:, 1] > 0).astype(float)  # the second feature counts against
    w, b, mean, scale = fitting.logistic_regression(x, y)
    assert w[0] > 0 > w[1]
    p = 1 / (1 + np.exp(-(b + ((x - mean) / scale) @ w)))
    assert ((p >= 0.5) == y.astype(bool)).mean() >= 0.95


def test_the_threshold_never_flags_more_answerable_queries_than_allowed():
    p = np.array([0.1, 0.2, 0.3, 0.35, 0.6, 0.7, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99])
    answerable = np.array([False, False, False, True, False, True, True, True, True, True, True, True])
    t = fitting.choose_threshold(p, answerable)
    assert (p[answerable] < t).mean() <= fitting.MAX_FLAGGED_ANSWERABLE
    assert (p[~answerable] < t).sum() == 3  # catching 0.6 too would flag the answerable 0.35: 1 of 8, over the cap


def test_the_judgement_report_averages_the_repetitions():
    answerable = np.array([True, True, False, False])
    everyone = np.ones(4, dtype=bool)
    perfect = (np.array([0.9, 0.8, 0.2, 0.1]), np.full(4, 0.5))  # AUC 1, both unanswerable flagged
    muddled = (np.array([0.9, 0.3, 0.4, 0.1]), np.full(4, 0.5))  # AUC 0.75, one answerable flagged too
    r = fitting.judgement_report([perfect, muddled], answerable, everyone)
    assert r["auc"] == pytest.approx(0.875) and r["auc_range"] == [0.75, 1.0]
    assert r["unanswerable_flagged"] == 2.0 and r["answerable_flagged"] == 0.5
    assert r["answerable_flagged_share"] == 0.25
    only_first = fitting.judgement_report([perfect, muddled], answerable, np.array([True, False, True, False]))
    assert (only_first["answerable"], only_first["unanswerable"]) == (1, 1)


@pytest.fixture(scope="module")
def prepared(engine):
    return fitting.prepare(engine, load_eval_set(DEV)[:40])


def test_every_query_is_scored_by_weights_fitted_without_it(engine, prepared):
    weights, held = fitting.cross_validate(engine, prepared, k=4, seed=3)
    for w, fold in zip(weights, fitting.folds(len(prepared), 4, 3)):
        assert w == fitting.fit(engine, [p for i, p in enumerate(prepared) if i not in set(fold)])
        for i in fold:
            expected = fitting.query_metrics(engine, prepared[i], w) if prepared[i].query.answerable else None
            assert held[i] == expected


def test_repetitions_average_each_querys_held_out_metrics(engine, prepared):
    fitted, mean = fitting.repeated_cross_validation(engine, prepared, repeats=2)
    assert len(fitted) == 2 * fitting.FOLDS
    runs = [fitting.cross_validate(engine, prepared, seed=s)[1] for s in (fitting.SEED, fitting.SEED + 1)]
    for i, p in enumerate(prepared):
        if not p.query.answerable:
            assert mean[i] is None
        else:
            assert mean[i] == pytest.approx(tuple((a + b) / 2 for a, b in zip(runs[0][i], runs[1][i])))


# ------------------------------------------------------------------ the answer library's protocols


def _library(sources: list[str]) -> "fitting.DevLibrary":
    """A dev library over len(sources) queries, every one of them also an entry."""
    from search.library.store import ANSWERED, Entry, Source

    n = len(sources)
    entries = [Entry(f"e{i}", f"q{i}", ("実1",), "", ANSWERED, Source("dev", None, i, "", "")) for i in range(n)]
    return fitting.DevLibrary(entries, np.arange(n), sources, np.eye(n, dtype=np.float32),
                              np.zeros((n, 3), np.float32), [[[0]] for _ in range(n)], np.ones(n, dtype=bool))


@pytest.mark.parametrize("protocol", ["leave-source-out", "random folds"])
def test_a_held_out_query_never_recalls_itself_or_what_its_protocol_holds_out(protocol):
    sources = ["a", "a", "b", "b", "b", "c", "c", "original", "original", "a"]
    lib = _library(sources)
    prepared = [None] * len(sources)
    for test, regimes, allowed in fitting.protocol_folds(prepared, lib, protocol):  # type: ignore[arg-type]
        held = set(test)
        for i in test:
            ok = allowed(i)
            assert not ok[i], "the query's own entry is never in its library"
            if protocol == "leave-source-out":
                assert all(sources[j] != sources[i] for j in np.flatnonzero(ok))
            assert not any(j in held for j in np.flatnonzero(ok)) or protocol == "leave-source-out"
        for i in set(range(len(sources))) - held:
            without_own, with_own = (r(i) for r in regimes)
            assert not without_own[i] and not with_own[i]
            assert not any(j in held for j in np.flatnonzero(with_own))  # training never sees the held-out fold
            assert all(sources[j] != sources[i] for j in np.flatnonzero(without_own))
            assert set(np.flatnonzero(without_own)) <= set(np.flatnonzero(with_own))


def test_the_reuse_similarity_is_where_the_closest_past_answer_was_right_often_enough():
    right = [True, True, True, True, True, False, True, False, False, True]
    rows = [(s, r, r) for s, r in zip((0.99, 0.97, 0.96, 0.95, 0.94, 0.93, 0.92, 0.91, 0.90, 0.89), right)]
    params = fitting.RecallParams(threshold=0.85)
    # the top 5 were all right; from 0.93 down the share falls under 90% (5/6, 6/7, …) and never recovers
    assert fitting.reuse_threshold(rows, params) == 0.94
    assert fitting.reuse_threshold(rows[:4], params) == fitting.REUSE_CEILING  # too few to show it
    assert fitting.reuse_threshold([(s, True, False) for s, _, _ in rows], params) == fitting.REUSE_CEILING
    assert fitting.reuse_threshold(rows, fitting.RecallParams(threshold=0.95)) == 0.95  # never below the threshold
    # listed as 近い質問 from where the listed were relevant 70% of the time: 7/10 down to 0.89
    assert fitting.LIST_PRECISION == 0.7 and fitting.reuse_threshold(rows, params, fitting.LIST_PRECISION) == 0.89
    wrong_below = rows[:8] + [(s, False, False) for s in (0.88, 0.87, 0.86)]  # 6/8 down to 0.91, then 6/9, 6/10 …
    assert fitting.reuse_threshold(wrong_below, params, fitting.LIST_PRECISION) == 0.91


def test_the_agreement_curve_rises_with_similarity():
    rng = np.random.default_rng(0)
    s = rng.uniform(0.8, 1.0, 400)
    agrees = rng.uniform(size=400) < (s - 0.8) / 0.2  # the closer, the likelier the verdicts agree
    curve = fitting.agreement_curve([(float(a), bool(b), False) for a, b in zip(s, agrees)])
    assert curve["slope"] > 0
    logit = lambda x: curve["intercept"] + curve["slope"] * x  # noqa: E731
    assert logit(0.82) < 0 < logit(0.98)
