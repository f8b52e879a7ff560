"""Ranking metrics for the evaluation set.

Pure functions over a ranked list of ids and graded judgements
(``{id: grade}``, 2 = answers the query, 1 = related, 0 = judged not
relevant).  Every metric first collapses the ranking with :func:`dedupe`,
because one search can return several hits for the same id (a criterion and
a change-history entry about it) and we score each id once, at its best rank.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

__all__ = ["dedupe", "reciprocal_rank", "ndcg", "recall", "hit", "auc", "flagging"]


def dedupe(ranked: Sequence[str]) -> list[str]:
    """Keep each id's first (best-ranked) occurrence, in order.

    Without this a ranking that repeats the right id would be rewarded twice
    by nDCG and push other ids out of the top k for nothing.
    """
    return list(dict.fromkeys(ranked))


def _top(ranked: Sequence[str], k: int) -> list[str]:
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    return dedupe(ranked)[:k]


def reciprocal_rank(ranked: Sequence[str], relevant: Mapping[str, int], k: int = 10) -> float:
    """1/rank of the first id with grade > 0 in the top k, else 0.0.

    Grade 1 counts: for a person scanning results, a related criterion is
    already a useful first hit.
    """
    for position, doc_id in enumerate(_top(ranked, k), start=1):
        if relevant.get(doc_id, 0) > 0:
            return 1.0 / position
    return 0.0


def _dcg(gains: Sequence[int]) -> float:
    # Rank i (1-based) is discounted by log2(i + 1): rank 1 -> 1, rank 2 -> 1/log2(3), ...
    return sum(gain / math.log2(position + 1) for position, gain in enumerate(gains, start=1))


def ndcg(ranked: Sequence[str], relevant: Mapping[str, int], k: int = 10) -> float:
    """nDCG@k with linear gains (gain = grade) and a log2 discount.

    Linear rather than exponential gains because there are only two grades and
    a related criterion (1) is worth half of one that answers (2), not a third.
    0.0 when nothing is relevant, so an unjudged query never looks perfect.
    """
    gains = [max(relevant.get(doc_id, 0), 0) for doc_id in _top(ranked, k)]
    ideal = sorted((grade for grade in relevant.values() if grade > 0), reverse=True)[:k]
    ideal_dcg = _dcg(ideal)
    if ideal_dcg == 0.0:
        return 0.0
    return _dcg(gains) / ideal_dcg


def recall(
    ranked: Sequence[str], relevant: Mapping[str, int], k: int = 5, min_grade: int = 2
) -> float:
    """Share of the ids with grade >= min_grade that appear in the top k.

    Measures whether the ids that answer the query come first.  If a query has
    no id of that grade (only related ones), fall back to every graded id
    (> 0) so the query still contributes; 0.0 if nothing is relevant.  The
    denominator is not capped at k: a query with 8 answering ids can reach
    at most 5/8 at k=5, which is honest about how much a reader must scroll.
    """
    if min_grade < 1:
        raise ValueError(f"min_grade must be >= 1, got {min_grade}")
    targets = {doc_id for doc_id, grade in relevant.items() if grade >= min_grade}
    if not targets:
        targets = {doc_id for doc_id, grade in relevant.items() if grade > 0}
    if not targets:
        return 0.0
    found = targets.intersection(_top(ranked, k))
    return len(found) / len(targets)


def hit(ranked: Sequence[str], relevant: Mapping[str, int], k: int = 10) -> bool:
    """True if any id with grade > 0 is in the top k (a query that is not a miss)."""
    return any(relevant.get(doc_id, 0) > 0 for doc_id in _top(ranked, k))


def auc(scores: Sequence[float], positive: Sequence[bool]) -> float:
    """Area under the ROC curve: the probability that a random positive scores above a random
    negative (ties count half); NaN without both classes."""
    pos = [s for s, y in zip(scores, positive) if y]
    neg = [s for s, y in zip(scores, positive) if not y]
    if not pos or not neg:
        return math.nan
    wins = sum((a > b) + 0.5 * (a == b) for a in pos for b in neg)
    return wins / (len(pos) * len(neg))


def flagging(scores: Sequence[float], flagged: Sequence[bool], answerable: Sequence[bool]) -> dict[str, float]:
    """How a no-match judgement did: the unanswerable queries it flagged, the answerable ones it
    flagged wrongly, and the AUC of its score (higher = more likely answered)."""
    mine = [bool(f) for f, y in zip(flagged, answerable) if not y]
    theirs = [bool(f) for f, y in zip(flagged, answerable) if y]
    return {"unanswerable": len(mine), "unanswerable_flagged": sum(mine),
            "answerable": len(theirs), "answerable_flagged": sum(theirs),
            "auc": auc([float(s) for s in scores], [bool(y) for y in answerable])}
