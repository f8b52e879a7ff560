"""Asserting an engine verdict only where it is clear.

A verdict is a fitted line: a score 0.002 from the threshold lands on either side on another
machine (BLAS kernels, thread counts and the query engine change the last digits of every
vector). A test that asserts a verdict on real text therefore also asserts that the case is
clear — its log-odds at least MARGIN from the threshold's — so a hairline case fails here,
on the machine that wrote the test, not on the next one. Where a test needs a verdict rather
than the engine's judgement, it sets it (conftest's `judged`).
"""
from __future__ import annotations

import math

MARGIN = 0.5
"""Log-odds between a verdict's score and its threshold for the case to count as clear (near the
threshold, ~0.12 in probability; machines differ by ~0.01 in log-odds)."""


def log_odds(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return math.log(p / (1 - p))


def assert_clear(status: str, score: float, threshold: float, expected: str) -> None:
    """The verdict is `expected`, and by at least MARGIN in log-odds."""
    margin = log_odds(score) - log_odds(threshold)
    assert status == expected, f"verdict {status} (score {score:.4f}, threshold {threshold:.4f}), expected {expected}"
    assert abs(margin) >= MARGIN, (f"{expected} by only {margin:+.3f} in log-odds (score {score:.4f}, threshold "
                                   f"{threshold:.4f}): a hairline case another machine judges the other way; "
                                   "assert a clearer case, or set the verdict (conftest's `judged`)")


def assert_clearly(result, expected: str) -> None:
    """`assert_clear` for a SearchResult (against the threshold of the model that judged it)."""
    assert result.match is not None, "a lookup by ID is not judged"
    assert result.match.threshold is not None, "found nothing: no model judged it"
    assert_clear(result.match.status, result.match.score, result.match.threshold, expected)
