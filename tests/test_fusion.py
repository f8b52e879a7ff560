"""The hybrid fusion formula on hand-made score lists, degenerate cases included."""
import pytest

from search.fusion import convex_fusion, max_normalize, minmax_normalize, ranked


def test_max_normalize():
    assert max_normalize({"a": 4.0, "b": 2.0, "c": 0.0}) == {"a": 1.0, "b": 0.5, "c": 0.0}


def test_minmax_normalize():
    assert minmax_normalize({"a": 0.9, "b": 0.8, "c": 0.7}) == pytest.approx({"a": 1.0, "b": 0.5, "c": 0.0})


def test_degenerate_lists():
    assert max_normalize({}) == {} and minmax_normalize({}) == {}
    assert minmax_normalize({"only": 0.42}) == {"only": 1.0}  # one hit: no division by zero
    assert minmax_normalize({"a": 0.5, "b": 0.5}) == {"a": 1.0, "b": 1.0}  # equal scores
    assert minmax_normalize({"a": 0.0, "b": 0.0}) == {"a": 0.0, "b": 0.0}
    assert max_normalize({"a": 0.0}) == {"a": 0.0}


def test_convex_fusion_by_hand():
    kw = {"x": 10.0, "y": 5.0}  # → x 1.0, y 0.5
    sem = {"x": 0.80, "y": 0.90, "z": 0.70}  # → x 0.5, y 1.0, z 0.0
    fused = convex_fusion(kw, sem, 0.5)
    assert fused == pytest.approx({"x": 0.75, "y": 0.75, "z": 0.0})
    assert ranked(fused)[0][0] == "x"  # tie broken by key
    assert convex_fusion(kw, sem, 1.0) == pytest.approx({"x": 1.0, "y": 0.5, "z": 0.0})


def test_fusion_with_one_empty_side():
    assert convex_fusion({}, {"a": 0.3, "b": 0.1}, 0.5) == pytest.approx({"a": 0.5, "b": 0.0})
    assert convex_fusion({"a": 2.0}, {}, 0.5) == pytest.approx({"a": 0.5})


def test_weight_out_of_range():
    with pytest.raises(ValueError):
        convex_fusion({}, {}, 1.5)
