"""Fitting the hybrid ranker's weights on the dev set, with the held-out figures that justify them.

Protocol (`kijun fit eval/dev.jsonl`): every query's signals are computed once
(`Engine.signals`); weights are chosen by coordinate ascent over a fixed grid,
maximising mean nDCG@10 + ½ · mean MRR@10 over the answerable queries; k-fold
cross-validation (queries shuffled with a fixed seed) fits on k − 1 folds and ranks
the held-out fold with those weights, so every query is scored by weights that never
saw it. With ~200 queries one split's figures move by ±0.01 with the seed alone, more
than most changes worth measuring, so the split is repeated with REPEATS seeds and each
query's held-out metrics are averaged over them. The reported figures are those held-out
ones; the weights written to `search/weights.json` are then fitted on every query.
"""
from __future__ import annotations

import hashlib
import math
import random
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from search import fusion, metrics
from search.answerability import (FOUND_IN_TEXT, KEYWORD_FEATURES, SEMANTIC_FEATURES, Evidence, Logistic, Models,
                                  judge)
from search.engine import MAX_TERM_WORDS, Engine, Signals
from search.library import recall
from search.library.recall import RecallParams
from search.library.store import ANSWERED, NOT_IN_DOCUMENT, Entry, Source
from search.evaluation import TERM_KINDS, EvalQuery
from search.query import ParsedQuery, parse_query

GRID = (0.0, 0.1, 0.2, 0.3, 0.4, 0.6, 0.8, 1.0)
START = fusion.Weights(keyword={"long": 0.4, "short": 0.4, "latin": 0.4}, synonym=0.0, passage=0.6, sentence=0.0)
FOLDS = 5
SEED = 0
REPEATS = 5  # cross-validation repeated with the seeds SEED, SEED + 1, …
REPEATED = f"{FOLDS}-fold cross-validation repeated with {REPEATS} seeds ({SEED}–{SEED + REPEATS - 1})"
ROUNDS = 3
ORIGINAL_QUERIES = 55  # the dev set's first queries, written before the rest: reported on their own too
PARAMETERS = tuple([f"keyword.{s}" for s in fusion.SHAPES] +
                   ["synonym", "thesaurus", "passage", "sentence", "coverage", "expansion"])
EXPANSION_GRID = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5)  # the synonyms' vector blended in (× the query's expanded share)
THESAURUS_GRID = (0.0, 0.25, 0.5, 0.75)  # the synonyms' BM25 at this share of the keyword weight: below the words typed
# a document that contains the words typed is never ignored: keyword weights start at 0.1
GRIDS = {f"keyword.{s}": GRID[1:] for s in fusion.SHAPES} | {"coverage": (0.0, 0.5, 1.0, 2.0),
                                                              "expansion": EXPANSION_GRID, "thesaurus": THESAURUS_GRID}
NOT_WEIGHTS = ("coverage", "expansion", "thesaurus")  # parameters that shape a signal rather than weigh one


@dataclass(frozen=True)
class Prepared:
    """One dev query with its signals computed once; for a query with synonyms, also its semantic
    signals at every blend of their vector the grid tries (normalised when first asked for)."""

    query: EvalQuery
    parsed: ParsedQuery
    signals: Signals
    blended: dict[float, Signals] = field(default_factory=dict)
    _normalized: dict[float, dict[str, np.ndarray]] = field(default_factory=dict, repr=False)

    @property
    def normalized(self) -> dict[str, np.ndarray]:
        return self.at(START)[1]

    def at(self, w: fusion.Weights) -> tuple[Signals, dict[str, np.ndarray]]:
        """The signals and their normalised values under the weights' blend of the synonyms' vector (what
        the library recalled, if `signals` holds it, kept)."""
        key = w.expansion if self.signals.expansion is not None else 0.0
        sig = self.blended.get(key, self.signals)
        norm = self._normalized.get(key)
        if norm is None:
            norm = self._normalized[key] = fusion.normalized(sig.raw())
        return (sig if sig.recalled is self.signals.recalled else replace(sig, recalled=self.signals.recalled)), norm


def prepare(engine: Engine, queries: Sequence[EvalQuery]) -> list[Prepared]:
    index = engine.semantic()
    out = []
    for q in queries:
        parsed = parse_query(q.query)
        sig = engine.signals(parsed, {}, "hybrid")
        blended = {}
        if index is not None and sig.vector is not None and sig.expansion_vector is not None:
            for share in EXPANSION_GRID:
                mixed = fusion.blend(sig.vector, sig.expansion_vector, share * sig.expanded_share)
                blended[share] = replace(sig, dense=index.doc_scores(mixed))
        out.append(Prepared(q, parsed, sig, blended))
    return out


def with_value(w: fusion.Weights, parameter: str, value: float) -> fusion.Weights:
    if parameter.startswith("keyword."):
        return replace(w, keyword={**w.keyword, parameter.split(".", 1)[1]: value})
    return replace(w, **{parameter: value})


def value_of(w: fusion.Weights, parameter: str) -> float:
    return w.keyword[parameter.split(".", 1)[1]] if parameter.startswith("keyword.") else getattr(w, parameter)


def query_metrics(engine: Engine, p: Prepared, w: fusion.Weights) -> tuple[float, float, float]:
    """MRR@10, nDCG@10, Recall@5 of one query ranked with the weights (as `kijun eval` scores it)."""
    sig, norm = p.at(w)
    ranked = engine.rank_ids(p.parsed, sig, w, limit=10, normalized=norm)
    rel = p.query.relevant
    return metrics.reciprocal_rank(ranked, rel), metrics.ndcg(ranked, rel), metrics.recall(ranked, rel, k=5)


def objective(engine: Engine, prepared: Sequence[Prepared], w: fusion.Weights) -> float:
    return combined([query_metrics(engine, p, w) for p in prepared if p.query.answerable])


def combined(rows: Sequence[tuple[float, float, float]]) -> float:
    """What fitting maximises over per-query (MRR, nDCG, Recall) rows: nDCG@10 + 0.5 · MRR@10."""
    return float(np.mean([n for _, n, _ in rows]) + 0.5 * np.mean([m for m, _, _ in rows])) if rows else 0.0


def fit(engine: Engine, prepared: Sequence[Prepared], start: fusion.Weights = START) -> fusion.Weights:
    """Coordinate ascent over the grid, from `start`, until a round changes nothing."""
    w, best = start, objective(engine, prepared, start)
    for _ in range(ROUNDS):
        changed = False
        for parameter in PARAMETERS:
            for value in GRIDS.get(parameter, GRID):
                candidate = with_value(w, parameter, value)
                if not any(value_of(candidate, p) for p in PARAMETERS if p not in NOT_WEIGHTS):
                    continue
                score = objective(engine, prepared, candidate)
                if score > best + 1e-9:
                    w, best, changed = candidate, score, True
        if not changed:
            break
    return w


def folds(n: int, k: int = FOLDS, seed: int = SEED) -> list[list[int]]:
    order = list(range(n))
    random.Random(seed).shuffle(order)
    return [order[i::k] for i in range(k)]


def cross_validate(engine: Engine, prepared: Sequence[Prepared], k: int = FOLDS,
                   seed: int = SEED) -> tuple[list[fusion.Weights], list[tuple[float, float, float] | None]]:
    """Per fold the weights fitted without it; per query its held-out metrics (None: unanswerable)."""
    held: list[tuple[float, float, float] | None] = [None] * len(prepared)
    fitted = []
    for fold in folds(len(prepared), k, seed):
        inside = set(fold)
        w = fit(engine, [p for i, p in enumerate(prepared) if i not in inside])
        fitted.append(w)
        for i in fold:
            if prepared[i].query.answerable:
                held[i] = query_metrics(engine, prepared[i], w)
    return fitted, held


def repeated_cross_validation(engine: Engine, prepared: Sequence[Prepared], repeats: int = REPEATS
                              ) -> tuple[list[fusion.Weights], list[tuple[float, float, float] | None]]:
    """Every fold's weights over `repeats` seeds, and per query its held-out metrics averaged
    over the repetitions (None: unanswerable)."""
    fitted: list[fusion.Weights] = []
    runs = []
    for seed in range(SEED, SEED + repeats):
        weights, held = cross_validate(engine, prepared, seed=seed)
        fitted += weights
        runs.append(held)
    return fitted, [None if rows[0] is None else _mean_row(rows) for rows in zip(*runs)]


def _mean_row(rows: Sequence[tuple[float, float, float]]) -> tuple[float, float, float]:
    mrr, ndcg, recall = (float(v) for v in np.mean(rows, axis=0))
    return mrr, ndcg, recall


def table(prepared: Sequence[Prepared], rows: Sequence[tuple[float, float, float] | None],
          subset: Callable[[int], bool] = lambda i: True) -> dict[str, dict[str, float]]:
    """Mean MRR@10 / nDCG@10 / Recall@5 overall and per kind, over the answerable queries of a subset."""
    groups: dict[str, list[tuple[float, float, float]]] = {}
    for i, (p, r) in enumerate(zip(prepared, rows)):
        if r is not None and subset(i):
            groups.setdefault("overall", []).append(r)
            for group in p.query.groups:
                groups.setdefault(group, []).append(r)
    return {kind: {"mrr@10": round(float(np.mean([m for m, _, _ in v])), 3),
                   "ndcg@10": round(float(np.mean([n for _, n, _ in v])), 3),
                   "recall@5": round(float(np.mean([r for _, _, r in v])), 3), "n": len(v)}
            for kind, v in groups.items()}


def fit_and_report(engine: Engine, prepared: Sequence[Prepared], dev_set: Path,
                   original: int = ORIGINAL_QUERIES) -> tuple[fusion.Weights, dict[str, Any]]:
    """Held-out figures by cross-validation, then the weights fitted on every query."""
    fitted, held = repeated_cross_validation(engine, prepared)
    final = fit(engine, prepared)
    in_sample = [query_metrics(engine, p, final) if p.query.answerable else None for p in prepared]
    start = [query_metrics(engine, p, START) if p.query.answerable else None for p in prepared]
    report = {
        "protocol": f"{REPEATED}, each query's held-out metrics averaged over them; coordinate ascent over "
                    f"{list(GRID)}, "
                    "objective mean nDCG@10 + 0.5 mean MRR@10 over answerable queries",
        "dev_set": {"path": str(dev_set), "queries": len(prepared),
                    "sha256": hashlib.sha256(dev_set.read_bytes()).hexdigest()},
        "fitted_at": time.strftime("%Y-%m-%d"),
        "held_out": {"all": table(prepared, held), f"first_{original}": table(prepared, held, lambda i: i < original)},
        "in_sample": {"all": table(prepared, in_sample),
                      f"first_{original}": table(prepared, in_sample, lambda i: i < original)},
        "start_weights": {"all": table(prepared, start),
                          f"first_{original}": table(prepared, start, lambda i: i < original)},
        "fold_weights": [{p: value_of(w, p) for p in PARAMETERS} for w in fitted],
    }
    return replace(final, fitted=report), report


# ---------------------------------------------------------------- the result floor

FLOOR_GRID = tuple(round(0.40 + 0.01 * i, 2) for i in range(60))  # 0.40 … 0.99 of the best hit's score
MAX_FOLDED_RELEVANT = 0.10  # the floor may fold at most this share of the graded hits of the training queries
FLOOR_DEPTH = 10  # the hits a result page shows first


def floor_rows(engine: Engine, prepared: Sequence[Prepared], weights: fusion.Weights) -> list[list[tuple[float, bool]]]:
    """Per query (lookups by ID left out): each of its first FLOOR_DEPTH hybrid hits after the best one,
    as (its score over the best one's, whether it has a relevance grade)."""
    out = []
    for p in prepared:
        if p.parsed.only_ids:
            out.append([])
            continue
        sig, norm = p.at(weights)
        scored = engine.rank_scored(p.parsed, sig, weights, normalized=norm)
        ranked = metrics.dedupe([i for i, _ in scored])[:FLOOR_DEPTH]
        scores = dict(reversed(scored))  # an ID's first (best) score
        top = scores[ranked[0]] if ranked else 0.0
        out.append([(scores[i] / top if top > 0 else 1.0, i in p.query.relevant) for i in ranked[1:]])
    return out


def floor_counts(rows: Sequence[Sequence[tuple[float, bool]]], floor: float) -> dict[str, int]:
    """Graded and ungraded hits above and below a floor."""
    c = {"graded_above": 0, "graded_folded": 0, "ungraded_above": 0, "ungraded_folded": 0}
    for query in rows:
        for ratio, graded in query:
            c[("graded_" if graded else "ungraded_") + ("above" if ratio >= floor else "folded")] += 1
    return c


def fit_floor(rows: Sequence[Sequence[tuple[float, bool]]]) -> float:
    """The floor folding the most ungraded hits while folding at most MAX_FOLDED_RELEVANT of the graded ones
    (ties: the lower floor, which folds less)."""
    best, best_floor = -1.0, 0.0
    for floor in FLOOR_GRID:
        c = floor_counts(rows, floor)
        graded = c["graded_above"] + c["graded_folded"]
        ungraded = c["ungraded_above"] + c["ungraded_folded"]
        folded_graded = c["graded_folded"] / graded if graded else 0.0
        folded_ungraded = c["ungraded_folded"] / ungraded if ungraded else 0.0
        if folded_graded <= MAX_FOLDED_RELEVANT and folded_ungraded - folded_graded > best + 1e-12:
            best, best_floor = folded_ungraded - folded_graded, floor
    return best_floor


def fit_result_floor(engine: Engine, prepared: Sequence[Prepared], weights: fusion.Weights
                     ) -> tuple[float, dict[str, Any]]:
    """The floor cross-validated (each query's hits judged by a floor fitted without it), then fitted on
    every query; the report gives the held-out share of graded hits folded and of ungraded hits listed
    above the fold (before any floor: 0% and 100%)."""
    rows = floor_rows(engine, prepared, weights)
    totals = {"graded_above": 0.0, "graded_folded": 0.0, "ungraded_above": 0.0, "ungraded_folded": 0.0}
    answerable_ungraded = {"above": 0.0, "folded": 0.0}
    floors = []
    for seed in range(SEED, SEED + REPEATS):
        for fold in folds(len(rows), seed=seed):
            inside = set(fold)
            floor = fit_floor([r for i, r in enumerate(rows) if i not in inside])
            floors.append(floor)
            for i in fold:
                c = floor_counts([rows[i]], floor)
                for k, v in c.items():
                    totals[k] += v / REPEATS
                if prepared[i].query.answerable:
                    answerable_ungraded["above"] += c["ungraded_above"] / REPEATS
                    answerable_ungraded["folded"] += c["ungraded_folded"] / REPEATS
    final = fit_floor(rows)
    graded = totals["graded_above"] + totals["graded_folded"]
    ungraded = totals["ungraded_above"] + totals["ungraded_folded"]
    report = {
        "protocol": f"{REPEATED}: per fold, the floor (a share of the best hit's hybrid score, grid "
                    f"{FLOOR_GRID[0]}–{FLOOR_GRID[-1]}) folding the most ungraded hits among the first {FLOOR_DEPTH} "
                    f"while folding at most {MAX_FOLDED_RELEVANT:.0%} of the graded ones; held-out counts averaged",
        "floor": final,
        "fold_floors": floors,
        "held_out": {
            "graded_hits": round(graded, 1), "graded_folded_share": round(totals["graded_folded"] / graded, 3),
            "ungraded_hits": round(ungraded, 1),
            "ungraded_above_share": round(totals["ungraded_above"] / ungraded, 3),
            "answerable_ungraded_above_share": round(
                answerable_ungraded["above"] / max(sum(answerable_ungraded.values()), 1e-9), 3),
        },
    }
    return final, report


# ---------------------------------------------------------------- answerability

L2 = 1.0  # ridge penalty on the standardised coefficients: 6–10 features, ~190 queries
MAX_FLAGGED_ANSWERABLE = 0.10  # the threshold may flag at most this share of answerable training queries
MAX_FLAGGED_ANSWERABLE_TERMS = 0.04
"""… and the terms' threshold this share of the answerable training terms, as they are judged (those a hit
holds answered): a short query wrongly told "not in this document" is what staff meet most. Held out, the
share flagged runs above the cap (a cap of 5 % flagged 5.7 % of the dev set's answerable terms, 4 % 4.9 %)."""


def evidence_of(engine: Engine, p: Prepared, weights: fusion.Weights, mode: str) -> Evidence | None:
    """What the verdict reads, as a search has it: the document's own ranking, and what the answer
    library recalled (if the prepared signals hold it)."""
    sig, norm = p.at(weights)
    if mode != "hybrid":
        sig = engine.keyword_signals(p.parsed, sig)
    scores, candidates = engine.rank_scores(replace(sig, recalled=None), mode, weights,
                                            norm if mode == "hybrid" else None)
    return engine.evidence(p.parsed, sig, scores, candidates, weights)


MODES = {"hybrid": SEMANTIC_FEATURES, "keyword": KEYWORD_FEATURES}  # each mode's evidence trains its model


def fit_models(evidence: Mapping[str, Sequence[Evidence | None]], y: np.ndarray, train: np.ndarray) -> Models:
    """The judgement models fitted on the training queries that found something: the semantic one on
    hybrid evidence, the keyword one on keyword ranking's, and the terms' threshold for it (`fit_term`).
    Each is fitted on every query, terms too, though the semantic one never judges a term: fitted on the
    longer texts alone it flagged more answerable ones held out (7.8 % against 5.4 % of all, dev set)."""
    fitted = []
    for mode, features in MODES.items():
        ev = evidence[mode]
        found = np.array([e is not None for e in ev]) & train
        forced = np.array([e is not None and e.found_by in FOUND_IN_TEXT for e in ev])
        x = np.array([e.vector(features) if e else [0.0] * len(features) for e in ev])
        fitted.append(fit_logistic(x[found], y[found].astype(float), features, forced[found]))
    semantic, keyword = fitted
    return Models(semantic, keyword, term=fit_term(keyword, evidence["hybrid"], y, train))


def fit_term(keyword: Logistic, hybrid: Sequence[Evidence | None], y: np.ndarray, train: np.ndarray) -> Logistic:
    """The keyword model with the terms' own threshold (for both modes), chosen over the training terms as
    a hybrid search judges them (one a hit holds answered whatever its score) at MAX_FLAGGED_ANSWERABLE_TERMS."""
    at = [k for k in np.flatnonzero(train) if hybrid[k] is not None and hybrid[k].term]
    if not at:
        return keyword
    holding = Models(keyword, keyword, term=replace(keyword, threshold=1.0))  # judged so, a term a hit holds scores 1
    p = np.array([judge(hybrid[k], holding).score for k in at])
    answerable = y[at].astype(bool)
    threshold = choose_threshold(p, answerable, MAX_FLAGGED_ANSWERABLE_TERMS)
    decided = p[~answerable & (p < 1.0)]
    high = max(threshold, float(decided.max()) + 1e-6) if len(decided) else threshold
    return replace(keyword, threshold=threshold, high=min(high, 0.999))


def scored(evidence: Evidence | None, models: Models) -> tuple[float, float]:
    """A verdict's score and the threshold it was judged against (a search that found nothing is "no
    match" with score 0, whatever a threshold says: +inf)."""
    if evidence is None:
        return 0.0, math.inf
    match = judge(evidence, models)
    return match.score, float(match.threshold)


def logistic_regression(x: np.ndarray, y: np.ndarray, l2: float = L2, steps: int = 50
                        ) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """Weights, bias, mean and scale of an L2-regularised logistic regression (Newton's method)."""
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    z = np.c_[np.ones(len(x)), (x - mean) / scale]
    beta = np.zeros(z.shape[1])
    penalty = np.diag([0.0] + [l2] * x.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-z @ beta))
        gradient = z.T @ (p - y) + penalty @ beta
        hessian = z.T @ (z * (p * (1 - p))[:, None]) + penalty
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    return beta[1:], float(beta[0]), mean, scale


def choose_threshold(p: np.ndarray, answerable: np.ndarray, cap: float | None = None) -> float:
    """The threshold flagging the most unanswerable queries while flagging at most `cap`
    (MAX_FLAGGED_ANSWERABLE) of the answerable ones (ties: the lower threshold)."""
    cap = MAX_FLAGGED_ANSWERABLE if cap is None else cap
    best, best_t = -1.0, 0.5
    for t in np.unique(np.r_[p, 0.0, 1.0]):
        flagged_answerable = float((p[answerable] < t).mean()) if answerable.any() else 0.0
        caught = float((p[~answerable] < t).mean()) if (~answerable).any() else 0.0
        if flagged_answerable <= cap and caught - flagged_answerable > best:
            best, best_t = caught - flagged_answerable, float(t)
    return best_t


def fit_logistic(x: np.ndarray, y: np.ndarray, features: tuple[str, ...], forced: np.ndarray | None = None
                 ) -> Logistic:
    """The model, fitted and thresholded on the queries it decides (`forced`: terms found in the hits'
    text, answered whatever the model says, neither train it nor move its threshold)."""
    decides = ~forced if forced is not None else np.ones(len(x), dtype=bool)
    x, y = x[decides], y[decides]
    w, b, mean, scale = logistic_regression(x, y)
    model = Logistic(features, tuple(map(float, w)), b, tuple(map(float, mean)), tuple(map(float, scale)), 0.5, 1.0)
    p = np.array([model.probability(v) for v in x])
    threshold = choose_threshold(p, y.astype(bool))
    unanswerable = p[~y.astype(bool)]
    high = max(threshold, float(unanswerable.max()) + 1e-6) if len(unanswerable) else threshold
    return replace(model, threshold=threshold, high=min(high, 0.999))


def judgement_report(runs: Sequence[tuple[np.ndarray, np.ndarray]], answerable: np.ndarray,
                     subset: np.ndarray) -> dict[str, Any]:
    """Over a subset of queries, from each repetition's held-out (scores, thresholds): the flagged
    counts and the AUC averaged over the repetitions, and the AUC's range."""
    reports = [metrics.flagging(p[subset], (p < t)[subset], answerable[subset]) for p, t in runs]
    mean = {k: float(np.mean([r[k] for r in reports])) for k in ("unanswerable_flagged", "answerable_flagged", "auc")}
    aucs = [r["auc"] for r in reports]
    return {"unanswerable": reports[0]["unanswerable"], "unanswerable_flagged": round(mean["unanswerable_flagged"], 1),
            "answerable": reports[0]["answerable"], "answerable_flagged": round(mean["answerable_flagged"], 1),
            "answerable_flagged_share": round(mean["answerable_flagged"] / max(reports[0]["answerable"], 1), 3),
            "auc": round(mean["auc"], 3), "auc_range": [round(min(aucs), 3), round(max(aucs), 3)]}


def fit_answerability(engine: Engine, prepared: Sequence[Prepared], weights: fusion.Weights,
                      original: int = ORIGINAL_QUERIES) -> tuple[Models, dict[str, Any]]:
    """The judgement models (`fit_models`), cross-validated, then fitted on every query.

    Lookups by ID are never judged, so they are left out; a query that finds nothing is judged
    "no match" with score 0 without the model, so it is scored so but not trained on."""
    judged_at = [i for i, p in enumerate(prepared) if not p.parsed.only_ids]
    judged = [prepared[i] for i in judged_at]
    y = np.array([p.query.answerable for p in judged])
    first = np.array([i < original for i in judged_at])
    terms = np.array([p.query.kind in TERM_KINDS for p in judged])
    evidence = {mode: [evidence_of(engine, p, weights, mode) for p in judged] for mode in MODES}
    runs: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {mode: [] for mode in MODES}
    for seed in range(SEED, SEED + REPEATS):
        held = {mode: (np.zeros(len(judged)), np.zeros(len(judged))) for mode in MODES}
        for fold in folds(len(judged), seed=seed):
            inside = np.zeros(len(judged), dtype=bool)
            inside[fold] = True
            models = fit_models(evidence, y, ~inside)
            for mode, (held_p, held_t) in held.items():
                for k in fold:
                    held_p[k], held_t[k] = scored(evidence[mode][k], models)
        for mode in MODES:
            runs[mode].append(held[mode])
    report: dict[str, Any] = {mode: {"held_out": {"all": judgement_report(runs[mode], y, np.ones(len(y), dtype=bool)),
                                                  f"first_{original}": judgement_report(runs[mode], y, first),
                                                  "terms": judgement_report(runs[mode], y, terms)}}
                              for mode in MODES}
    report["protocol"] = (f"{REPEATED} and averaged, of an L2-regularised logistic regression "
                          f"(λ={L2}) on the answerable/unanswerable labels; the threshold flags as many unanswerable "
                          f"training queries as possible while flagging at most {MAX_FLAGGED_ANSWERABLE:.0%} of "
                          "the answerable ones; features read from each mode's ranking with the fitted weights; a "
                          f"term (at most {MAX_TERM_WORDS} words) judged in either mode by the keyword model on keyword ranking's "
                          "evidence, with a threshold flagging at most "
                          f"{MAX_FLAGGED_ANSWERABLE_TERMS:.0%} of the answerable training terms")
    return replace(fit_models(evidence, y, np.ones(len(y), dtype=bool)), fitted=report), report


# ---------------------------------------------------------------- the answer library

LIBRARY_KINDS = ("questionnaire", "paraphrase", "english")
"""The dev queries a check sheet could have asked, which stand in for a library of past answers
(keyword and ID queries are search terms, not questions anyone confirms)."""
ORIGINAL_SOURCE = "original"  # the source of dev queries that name none (the first ORIGINAL_QUERIES)
RECALL_GRID = {"profile": (0.3, 0.6, 1.0), "threshold": (0.8, 0.85, 0.9), "steepness": (1.0, 2.0, 3.0),
               "weight": (0.5, 1.0, 1.5, 2.0, 3.0)}
REUSE_PRECISION = 0.9  # a past answer is reused from the similarity where the nearest past answer was right this often
LIST_PRECISION = 0.7  # a past question is listed (近い質問) from the similarity where listed ones were relevant this often
REUSE_MIN_QUERIES = 5  # … over at least this many dev queries at or above it
REUSE_CEILING = 0.97  # and never from lower than where that cannot be shown
PAST_L2 = 1.0  # ridge penalty on the verdict term's coefficients


@dataclass(frozen=True)
class DevLibrary:
    """The dev set as an answer library: its questions as entries (criteria best grade first,
    該当なし when unanswerable), and every query's vector and profile to recall them with."""

    entries: list[Entry]
    at: np.ndarray  # entry k is prepared query at[k]
    source: list[str]  # per prepared query
    vectors: np.ndarray  # per prepared query (zeros: no text)
    profiles: np.ndarray  # per prepared query
    entry_docs: list[list[list[int]]]
    answered: np.ndarray  # per entry

    def allowed(self, i: int, excluded_sources: Collection[str] = (), fold: Collection[int] | None = None
                ) -> np.ndarray:
        """Which entries query i may recall: never itself, never one from an excluded source, and
        (random folds) only entries outside `fold`."""
        ok = self.at != i
        if excluded_sources:
            ok &= np.array([self.source[j] not in excluded_sources for j in self.at], dtype=bool)
        if fold is not None:
            ok &= ~np.isin(self.at, list(fold))
        return ok

    @cached_property
    def stored(self) -> tuple[np.ndarray, np.ndarray, recall.Support]:
        """The entries' vectors, profiles and confirmed documents as a library's memory keeps them."""
        return self.vectors[self.at], recall.stored_profiles(self.profiles[self.at]), recall.Support.of(self.entry_docs)

    def similarities(self, i: int, params: RecallParams) -> np.ndarray:
        """s of query i to every entry (all of them: what the closest one is, whatever TOP_K)."""
        vectors, profiles, _ = self.stored
        return recall.similarity(vectors, profiles, self.vectors[i], self.profiles[i], params.profile)

    def recalled(self, i: int, allowed: np.ndarray, params: RecallParams, n_docs: int) -> recall.Recalled:
        """What the entries `allowed` say about query i, as a search's recall says it (`recall.recall_top`)."""
        vectors, profiles, support = self.stored
        return recall.recall_top(vectors, profiles, self.answered, support, n_docs, self.vectors[i], self.profiles[i],
                                 params, allowed=allowed)


def dev_library(engine: Engine, prepared: Sequence[Prepared]) -> DevLibrary:
    dim = next((p.signals.vector.shape[0] for p in prepared if p.signals.vector is not None), 0)
    vectors = np.array([p.signals.vector if p.signals.vector is not None else np.zeros(dim, np.float32)
                        for p in prepared], dtype=np.float32)
    profiles = np.array([engine.profile(p.signals) for p in prepared], dtype=np.float32)
    at, entries = [], []
    for i, p in enumerate(prepared):
        q = p.query
        if q.kind not in LIBRARY_KINDS or p.signals.vector is None:
            continue
        criteria = tuple(k for k, g in sorted(q.relevant.items(), key=lambda kv: -kv[1]) if g > 0)
        verdict = ANSWERED if q.answerable else NOT_IN_DOCUMENT
        entries.append(Entry(f"dev{q.line or i}", q.query, criteria if q.answerable else (), "", verdict,
                             Source("dev", None, q.line or None, "", "")))
        at.append(i)
    docs = [engine.criterion_docs(e.criteria) for e in entries]
    return DevLibrary(entries, np.array(at, dtype=np.int64), [p.query.source or ORIGINAL_SOURCE for p in prepared],
                      vectors, profiles, docs, np.array([e.answered for e in entries], dtype=bool))


def metrics_with(engine: Engine, p: Prepared, w: fusion.Weights, recalled: recall.Recalled | None
                 ) -> tuple[float, float, float]:
    """`query_metrics` with what a library recalled fused in (`w.library.weight`)."""
    return query_metrics(engine, replace(p, signals=replace(p.signals, recalled=recalled)), w)


def recall_grid() -> list[RecallParams]:
    return [RecallParams(profile=b, threshold=t, steepness=s, weight=w)
            for b in RECALL_GRID["profile"] for t in RECALL_GRID["threshold"] for s in RECALL_GRID["steepness"]
            for w in RECALL_GRID["weight"]]


def fit_recall(engine: Engine, prepared: Sequence[Prepared], lib: DevLibrary, w: fusion.Weights,
               train: Sequence[int], regimes: Sequence[Callable[[int], np.ndarray]]) -> RecallParams:
    """The grid point maximising the ranking objective over the training queries, averaged over the
    `regimes` (what a query may recall in each): a library without the query's own source (a new
    customer's sheet) and one with it (the same customer's other questions, which share its style
    and so look closer than they are) — parameters good for one and harmful in the other are not
    chosen."""
    n = len(engine.table)
    rows = [i for i in train if prepared[i].query.answerable]
    masks = [{i: allowed(i) for i in rows} for allowed in regimes]
    best, best_params = -1.0, replace(w.library, weight=0.0)
    for params in recall_grid():
        wp = replace(w, library=params)
        score = 0.0
        for mask in masks:
            score += combined([metrics_with(engine, prepared[i], wp, lib.recalled(i, mask[i], params, n))
                               for i in rows])
        if score > best + 1e-9:
            best, best_params = score, params
    return best_params


Allowed = Callable[[int], np.ndarray]


def protocol_folds(prepared: Sequence[Prepared], lib: DevLibrary, protocol: str, seed: int = SEED
                   ) -> list[tuple[list[int], list[Allowed], Allowed]]:
    """Per fold: the held-out queries, what a training query may recall (two regimes: without and
    with its own source, see `fit_recall`), and what a held-out one may.

    Leave-source-out: each source is held out in turn and nothing from it is in the library.
    Random folds: the library holds the other folds' questions. Never the query itself."""
    out: list[tuple[list[int], list[Allowed], Allowed]] = []
    if protocol == "leave-source-out":
        for s in sorted(set(lib.source)):
            test = [i for i, src in enumerate(lib.source) if src == s]
            out.append((test, [lambda i, s=s: lib.allowed(i, {s, lib.source[i]}), lambda i, s=s: lib.allowed(i, {s})],
                        lambda i, s=s: lib.allowed(i, {s})))
    else:
        for fold in folds(len(prepared), seed=seed):
            f = set(fold)
            out.append((fold, [lambda i, f=f: lib.allowed(i, {lib.source[i]}, fold=f),
                               lambda i, f=f: lib.allowed(i, fold=f)], lambda i, f=f: lib.allowed(i, fold=f)))
    return out


def library_cross_validation(engine: Engine, prepared: Sequence[Prepared], lib: DevLibrary, protocol: str,
                             seed: int = SEED) -> tuple[dict[str, list], list[RecallParams]]:
    """Per query, held-out metrics without a library and with one (base weights and library
    parameters both fitted without the query's fold), and the parameters each fold chose."""
    n_docs = len(engine.table)
    held: dict[str, list] = {"none": [None] * len(prepared), "library": [None] * len(prepared)}
    chosen = []
    for test, train_regimes, test_allowed in protocol_folds(prepared, lib, protocol, seed):
        inside = set(test)
        train = [i for i in range(len(prepared)) if i not in inside]
        base = fit(engine, [prepared[i] for i in train])
        params = fit_recall(engine, prepared, lib, base, train, train_regimes)
        chosen.append(params)
        with_lib = replace(base, library=params)
        for i in test:
            if prepared[i].query.answerable:
                held["none"][i] = query_metrics(engine, prepared[i], base)
                held["library"][i] = metrics_with(engine, prepared[i], with_lib,
                                                  lib.recalled(i, test_allowed(i), params, n_docs))
    return held, chosen


def _closest(prepared: Sequence[Prepared], lib: DevLibrary, params: RecallParams, queries: Iterable[int],
             allowed: Callable[[int], np.ndarray], n: int) -> Iterator[tuple[Prepared, float, Entry]]:
    """Per query (not a lookup by ID), the n closest entries it may recall, closest first, with their similarity."""
    for i in queries:
        p = prepared[i]
        if p.parsed.only_ids or p.signals.vector is None:
            continue
        sims = np.where(allowed(i), lib.similarities(i, params), -np.inf)
        for k in np.argsort(-sims, kind="stable")[:n]:
            if np.isfinite(sims[k]):
                yield p, float(sims[k]), lib.entries[k]


def nearest_rows(prepared: Sequence[Prepared], lib: DevLibrary, params: RecallParams, queries: Iterable[int],
                 allowed: Callable[[int], np.ndarray]) -> list[tuple[float, bool, bool]]:
    """Per query: the similarity of the closest entry it may recall, whether that entry's verdict agrees
    with the query's, and whether its answer would be right (its first criterion answers the query, or
    both are 該当なし)."""
    return [(s, e.answered == p.query.answerable,
             (p.query.relevant.get(e.criteria[0], 0) > 0) if e.answered else not p.query.answerable)
            for p, s, e in _closest(prepared, lib, params, queries, allowed, 1)]


def listing_rows(prepared: Sequence[Prepared], lib: DevLibrary, params: RecallParams, queries: Iterable[int],
                 allowed: Callable[[int], np.ndarray]) -> list[tuple[float, bool, bool]]:
    """Per query, its closest entries as 過去の回答 would list them (recall.MAX_PRECEDENTS, above τ): the
    similarity, whether the verdicts agree, and whether the entry is relevant to the query (one of its
    confirmed criteria answers it, or both are 該当なし) — what someone reading the list needs."""
    return [(s, e.answered == p.query.answerable,
             any(p.query.relevant.get(c, 0) > 0 for c in e.criteria) if e.answered else not p.query.answerable)
            for p, s, e in _closest(prepared, lib, params, queries, allowed, recall.MAX_PRECEDENTS)
            if s > params.threshold]


def listing_held_out(prepared: Sequence[Prepared], lib: DevLibrary, params: RecallParams) -> dict[str, Any]:
    """The listing similarity fitted without each source in turn, applied to that source's questions (the
    library holding only other sources'): how many past questions would be listed, and how many of those
    were relevant, beside all those above τ (what was listed before there was a listing similarity)."""
    sources = sorted({lib.source[i] for i in range(len(prepared))})
    listed = relevant = above = above_relevant = 0
    for source in sources:
        test = [i for i in range(len(prepared)) if lib.source[i] == source]
        train = [i for i in range(len(prepared)) if lib.source[i] != source]
        own_out = lambda i: lib.allowed(i, {lib.source[i]} | {source})  # noqa: E731
        cut = min(reuse_threshold(listing_rows(prepared, lib, params, train, own_out), params, LIST_PRECISION),
                  params.reuse)
        rows = listing_rows(prepared, lib, params, test, lambda i: lib.allowed(i, {source}))
        above += len(rows)
        above_relevant += sum(r for _, _, r in rows)
        kept = [r for s, _, r in rows if s >= cut]
        listed += len(kept)
        relevant += sum(kept)
    return {"protocol": f"leave-source-out over {len(sources)} sources; listed: the closest "
                        f"{recall.MAX_PRECEDENTS} per question above τ, from the listing similarity",
            "listed": listed, "relevant": relevant, "above_threshold": above, "above_threshold_relevant": above_relevant}


def agreement_curve(rows: Sequence[tuple[float, bool, bool]]) -> dict[str, float]:
    """intercept and slope of the log-odds that the closest past question's verdict agrees with the
    query's, as a function of its similarity (logistic regression over the rows)."""
    x = np.array([[s] for s, _, _ in rows])
    y = np.array([float(a) for _, a, _ in rows])
    w, bias, mean, scale = logistic_regression(x, y, l2=PAST_L2)
    slope = float(w[0] / scale[0])
    return {"intercept": float(bias - slope * mean[0]), "slope": slope}


def reuse_threshold(rows: Sequence[tuple[float, bool, bool]], params: RecallParams,
                    precision: float = REUSE_PRECISION) -> float:
    """The lowest similarity from which the rows (s, agrees, right) were right at least `precision` of the
    time over at least REUSE_MIN_QUERIES of them — the closest past answers (reuse), or the past questions
    listed (`listing_rows`); REUSE_CEILING where the rows cannot show it."""
    ranked = sorted(((s, right) for s, _, right in rows), reverse=True)
    best = REUSE_CEILING
    for n in range(REUSE_MIN_QUERIES, len(ranked) + 1):
        if np.mean([r for _, r in ranked[:n]]) >= precision:
            best = min(best, ranked[n - 1][0])
    return round(max(best, params.threshold), 4)


def past_models(prepared: Sequence[Prepared], lib: DevLibrary, params: RecallParams, queries: Iterable[int],
                allowed: Callable[[int], np.ndarray]) -> tuple[RecallParams, dict[str, float]]:
    """From the queries' closest past questions: the similarities from which a past answer is reused
    and a past question listed (into the parameters), and the verdict's agreement curve."""
    rows = nearest_rows(prepared, lib, params, queries, allowed)
    reuse = reuse_threshold(rows, params)
    listed = reuse_threshold(listing_rows(prepared, lib, params, queries, allowed), params, LIST_PRECISION)
    return replace(params, reuse=reuse, listed=min(listed, reuse)), agreement_curve(rows)


def verdict_cross_validation(engine: Engine, prepared: Sequence[Prepared], lib: DevLibrary, weights: fusion.Weights,
                             protocol: str, chosen: Sequence[RecallParams], seed: int = SEED
                             ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Held-out verdict scores and thresholds without and with the library, per judged query: the
    judgement models, the reuse similarity and the agreement curve all fitted without the fold."""
    judged = [i for i, p in enumerate(prepared) if not p.parsed.only_ids]
    where = {i: k for k, i in enumerate(judged)}
    y = np.array([prepared[i].query.answerable for i in judged], dtype=float)
    evidence = {mode: [evidence_of(engine, prepared[i], weights, mode) for i in judged] for mode in MODES}
    out = {name: (np.zeros(len(judged)), np.zeros(len(judged))) for name in ("none", "library")}
    n_docs = len(engine.table)
    for (test, train_regimes, test_allowed), params in zip(protocol_folds(prepared, lib, protocol, seed), chosen):
        inside = np.zeros(len(judged), dtype=bool)
        inside[[where[i] for i in test if i in where]] = True
        train = [i for k, i in enumerate(judged) if not inside[k]]
        models = fit_models(evidence, y, ~inside)
        params, curve = past_models(prepared, lib, params, train, train_regimes[0])
        wl = replace(weights, library=params)
        for k in np.flatnonzero(inside):
            i = judged[k]
            out["none"][0][k], out["none"][1][k] = scored(evidence["hybrid"][k], models)
            rec = lib.recalled(i, test_allowed(i), params, n_docs)
            ev = evidence_of(engine, replace(prepared[i], signals=replace(prepared[i].signals, recalled=rec)), wl,
                             "hybrid")
            out["library"][0][k], out["library"][1][k] = scored(ev, replace(models, past=curve))
    return out


def fit_library(engine: Engine, prepared: Sequence[Prepared], weights: fusion.Weights, models: Models
                ) -> tuple[fusion.Weights, Models, dict[str, Any]]:
    """The answer library's parameters (how close past questions count in ranking, in the verdict
    and as drafts), with held-out figures under both protocols beside the same folds without a
    library; then the parameters fitted on every query, each recalling only other sources."""
    lib = dev_library(engine, prepared)
    report: dict[str, Any] = {"library": f"{len(lib.entries)} dev questions of kinds {', '.join(LIBRARY_KINDS)}",
                              "grid": {k: list(v) for k, v in RECALL_GRID.items()}}
    for protocol in ("leave-source-out", "random folds"):
        held, chosen = library_cross_validation(engine, prepared, lib, protocol)
        verdicts = verdict_cross_validation(engine, prepared, lib, weights, protocol, chosen)
        judged = [i for i, p in enumerate(prepared) if not p.parsed.only_ids]
        y = np.array([prepared[i].query.answerable for i in judged])
        first = np.array([i < ORIGINAL_QUERIES for i in judged])
        report[protocol] = {
            name: {"ranking": {"all": table(prepared, held[name]),
                               "first_55": table(prepared, held[name], lambda i: i < ORIGINAL_QUERIES)},
                   "verdict": {"all": judgement_report([verdicts[name]], y, np.ones(len(y), dtype=bool)),
                               "first_55": judgement_report([verdicts[name]], y, first)}}
            for name in ("none", "library")}
        report[protocol]["fold_parameters"] = [p.to_dict() for p in chosen]
    own_source_out = lambda i: lib.allowed(i, {lib.source[i]})  # noqa: E731
    params = fit_recall(engine, prepared, lib, weights, range(len(prepared)), [own_source_out, lib.allowed])
    params, curve = past_models(prepared, lib, params, range(len(prepared)), own_source_out)
    report["listing"] = listing_held_out(prepared, lib, params)
    report["protocol"] = ("library parameters by grid search on the ranking objective; the reuse similarity where the "
                          f"closest past answer was right ≥ {REUSE_PRECISION:.0%} of the time, the listing similarity where ≥ "
                          f"{LIST_PRECISION:.0%} of the past questions listed were relevant; the verdict's term by "
                          "logistic regression of the closest past question's agreement on its similarity; "
                          "held out by leave-source-out (each source in turn, none of its questions in the library) "
                          f"and by 5-fold cross-validation (seed {SEED}; the library holds the other folds), base "
                          "weights refitted per fold; "
                          "the grid's objective averaged over training libraries without and with the query's own "
                          "source; shipped: fitted on every query so, the reuse similarity and verdict term from "
                          "other sources only")
    return replace(weights, library=params), replace(models, past=curve, fitted={**models.fitted, "library": report}), \
        report


def library_protocols(engine: Engine, prepared: Sequence[Prepared], weights: fusion.Weights, models: Models
                      ) -> dict[str, dict[str, Any]]:
    """What `kijun eval` shows beside its own figures: the set's own questions as the library under
    both protocols, with the shipped weights and parameters (nothing refitted: `kijun fit` reports
    the figures held out from the fitting too). Per protocol: the ranking table and the verdict."""
    lib = dev_library(engine, prepared)
    n_docs = len(engine.table)
    judged = [i for i, p in enumerate(prepared) if not p.parsed.only_ids]
    y = np.array([prepared[i].query.answerable for i in judged])
    out: dict[str, dict[str, Any]] = {}
    for protocol in ("none", "leave-source-out", "random folds"):
        rows: list[tuple[float, float, float] | None] = [None] * len(prepared)
        scores, threshold = np.zeros(len(judged)), np.zeros(len(judged))
        where = {i: k for k, i in enumerate(judged)}
        fold_list = [(list(range(len(prepared))), None, None)] if protocol == "none" \
            else protocol_folds(prepared, lib, protocol)
        for test, _, test_allowed in fold_list:
            for i in test:
                rec = lib.recalled(i, test_allowed(i), weights.library, n_docs) if test_allowed else None
                p = replace(prepared[i], signals=replace(prepared[i].signals, recalled=rec))
                if p.query.answerable:
                    rows[i] = query_metrics(engine, p, weights)
                if i in where:
                    scores[where[i]], threshold[where[i]] = scored(evidence_of(engine, p, weights, "hybrid"), models)
        ranking = {"all": table(prepared, rows), "first_55": table(prepared, rows, lambda i: i < ORIGINAL_QUERIES)}
        verdict = judgement_report([(scores, threshold)], y, np.ones(len(y), dtype=bool))
        out[protocol] = {"ranking": ranking, "verdict": verdict}
    return out
