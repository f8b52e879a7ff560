"""Score fusion for the hybrid ranker: pure functions over {doc: score} maps.

hybrid(d) = w · norm_kw(d) + (1 − w) · norm_sem(d), where
  norm_kw(d)  = bm25(d) / max bm25          (0 for documents keyword search did not find)
  norm_sem(d) = (cos(d) − min cos) / (max cos − min cos) over all documents

BM25 is divided by its maximum rather than min-max'd because its floor is a
true zero (no matching word); the semantic scores have no such floor, so they
are min-max'd over the whole corpus, which every query scores. Degenerate
inputs are defined, not divided by zero: an empty map gives {}, and a map whose
scores are all equal (one hit included) normalises to 1.0 when positive, 0.0
otherwise.
"""
from __future__ import annotations

from collections.abc import Mapping

DEFAULT_WEIGHT = 0.4  # keyword share; 0.3–0.6 are within 0.015 nDCG on the dev set, 0.4 best


def max_normalize(scores: Mapping[str, float]) -> dict[str, float]:
    if not scores:
        return {}
    top = max(scores.values())
    if top <= 0:
        return {k: 0.0 for k in scores}
    return {k: max(v, 0.0) / top for k, v in scores.items()}


def minmax_normalize(scores: Mapping[str, float]) -> dict[str, float]:
    if not scores:
        return {}
    lo, hi = min(scores.values()), max(scores.values())
    if hi == lo:
        return {k: (1.0 if hi > 0 else 0.0) for k in scores}
    return {k: (v - lo) / (hi - lo) for k, v in scores.items()}


def convex_fusion(keyword: Mapping[str, float], semantic: Mapping[str, float],
                  weight: float = DEFAULT_WEIGHT) -> dict[str, float]:
    """Fused scores for the union of documents; `weight` is keyword's share."""
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"fusion weight must be between 0 and 1, got {weight}")
    kw = max_normalize(keyword)
    sem = minmax_normalize(semantic)
    return {d: weight * kw.get(d, 0.0) + (1 - weight) * sem.get(d, 0.0) for d in set(kw) | set(sem)}


def ranked(scores: Mapping[str, float]) -> list[tuple[str, float]]:
    """Best first; ties broken by key so results are stable."""
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
