"""Score fusion: normalisation over arrays, degenerate inputs defined, query shapes, weights."""
from __future__ import annotations

import json

import numpy as np
import pytest

from search import fusion
from search.fusion import Weights, fuse, max_normalize, minmax_normalize, normalized, query_shape

W = Weights(keyword={"long": 0.4, "short": 0.8, "latin": 0.2}, synonym=0.1, passage=0.6, sentence=0.3)


def test_max_normalize_divides_by_the_maximum_and_keeps_zero():
    assert max_normalize(np.array([0.0, 2.0, 4.0])).tolist() == [0.0, 0.5, 1.0]
    assert max_normalize(np.zeros(3)).tolist() == [0.0, 0.0, 0.0]  # nothing matched: no division by zero


def test_minmax_normalize_over_finite_values_only():
    out = minmax_normalize(np.array([0.8, -np.inf, 0.9, 0.85]))
    assert out.tolist() == pytest.approx([0.0, 0.0, 1.0, 0.5])
    assert minmax_normalize(np.array([0.7, 0.7, -np.inf])).tolist() == [1.0, 1.0, 0.0]  # equal values → 1
    assert minmax_normalize(np.array([-np.inf, -np.inf])).tolist() == [0.0, 0.0]


def test_query_shapes():
    assert query_shape("How are encryption keys managed?", 3) == "latin"
    assert query_shape("パスワード", 1) == "short"
    assert query_shape("アクセスログを定期的に点検し、点検した記録を残していますか", 7) == "long"
    assert query_shape("AWS CloudTrail のログ", 2) == "latin"  # mostly Latin letters


def test_fuse_weighs_keyword_by_shape_and_coverage():
    signals = normalized({"keyword": np.array([10.0, 0.0]), "synonym": np.array([0.0, 0.0]),
                          "passage": np.array([0.80, 0.90]), "sentence": np.array([0.80, 0.90])})
    short = fuse(signals, W, "short")
    assert short.tolist() == pytest.approx([0.8, 0.9])  # keyword 0.8·1 against semantic 0.6 + 0.3
    assert fuse(signals, W, "latin").tolist() == pytest.approx([0.2, 0.9])
    damped = Weights(keyword=W.keyword, synonym=0.1, passage=0.6, sentence=0.3, coverage=1.0)
    assert fuse(signals, damped, "short", coverage=0.5).tolist() == pytest.approx([0.4, 0.9])


def test_weights_round_trip_and_the_shipped_file_is_fitted():
    assert Weights.from_dict(json.loads(json.dumps(W.to_dict()))) == W
    shipped = fusion.load_weights()
    assert set(shipped.keyword) == set(fusion.SHAPES)
    assert "held_out" in shipped.fitted and shipped.fitted["dev_set"]["queries"] >= 150
