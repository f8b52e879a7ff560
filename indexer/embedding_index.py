"""The embedding index: one vector per distinct passage, scored per document.

The document repeats paragraphs a lot, so each distinct passage (by its
normalised hash) is embedded once, and vectors are cached by passage hash and
model so a rebuild embeds only what changed. The passages are those of the
searchable documents (`corpus.documents`, boilerplate left out); a document
scores by its best passage.
"""
from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from corpus.documents import DocumentTable
from corpus.passages import passage_settings
from indexer import store

if TYPE_CHECKING:
    from indexer.encoder import Encoder

FORMAT_VERSION = 1
SECOND_PASSAGE_WEIGHT = 0.1  # a document with two good passages beats one with one


def wanted_meta(table: DocumentTable, settings: dict[str, Any]) -> dict[str, Any]:
    return {"format_version": FORMAT_VERSION, "model": settings, "corpus_hash": table.corpus_hash,
            "boilerplate": "left out", "passage_splitting": passage_settings(), "second_passage_weight": SECOND_PASSAGE_WEIGHT}


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:80]


def _load_cache(path: Path, dim: int) -> dict[str, np.ndarray]:
    if not path.exists():
        return {}
    try:
        with np.load(path) as z:
            keys, vecs = z["keys"], z["vectors"]
        if vecs.ndim != 2 or vecs.shape[1] != dim:
            return {}
        return {str(k): v for k, v in zip(keys, vecs)}
    except (OSError, ValueError, KeyError):
        return {}  # a damaged cache only costs time


def _save_cache(path: Path, cache: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    keys = np.array(sorted(cache))
    vectors = np.stack([cache[k] for k in keys]) if len(keys) else np.zeros((0, 0), np.float32)
    np.savez(tmp, keys=keys, vectors=vectors)
    tmp.replace(path)


@dataclass
class BuildReport:
    generation: Path
    passages: int
    distinct: int
    embedded: int  # newly embedded (not from the cache)
    seconds: float


def build(table: DocumentTable, root: Path, encoder_factory: Callable[[], "Encoder"], *,
          settings: dict[str, Any], show_progress: bool = False) -> BuildReport:
    """Build and publish a generation; the encoder is made only if some passage is not cached
    (so a rebuild of an unchanged corpus never loads torch)."""
    started = time.perf_counter()
    kept = [(d, p) for d in table for p in d.passages]
    texts: dict[str, str] = {}
    for _, p in kept:
        texts.setdefault(p.key, p.text)
    cache_path = root / "cache" / f"{_slug(settings['name'])}-{settings['dim']}.npz"
    cache = _load_cache(cache_path, settings["dim"])
    missing = [k for k in texts if k not in cache]
    if missing:
        vecs = encoder_factory().encode_documents([texts[k] for k in missing], show_progress=show_progress)
        cache.update(zip(missing, vecs.astype(np.float32)))
        _save_cache(cache_path, cache)
    keys = list(texts)
    matrix = np.stack([cache[k] for k in keys]).astype(np.float32) if keys else np.zeros((0, settings["dim"]), np.float32)
    row = {k: i for i, k in enumerate(keys)}
    postings = [{"doc_key": d.key, "id": d.id, "field": p.field, "row": row[p.key], "text": p.text}
                for d, p in kept]
    gen = store.new_generation(root)
    np.save(gen / "vectors.npy", matrix)
    (gen / "postings.json").write_text(json.dumps(postings, ensure_ascii=False), encoding="utf-8")
    seconds = time.perf_counter() - started
    store.publish(root, gen, wanted_meta(table, settings) | {"passages": len(kept), "distinct": len(keys),
                                                          "built_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
                                                          "build_seconds": round(seconds, 3)})
    return BuildReport(gen, len(kept), len(keys), len(missing), seconds)


def top_two(groups: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per group, the positions of its highest and second-highest value (the highest again
    when the group has one member). Groups are numbered 0..n-1 and each is non-empty."""
    order = np.lexsort((-values, groups))
    starts = np.flatnonzero(np.r_[True, groups[order][1:] != groups[order][:-1]])
    ends = np.r_[starts[1:], len(order)]
    second = np.where(ends - starts > 1, starts + 1, starts)
    return order[starts], order[second]


def best_passage_score(best: np.ndarray, second: np.ndarray) -> np.ndarray:
    """A document scores by its best passage, nudged by its second best."""
    return best + SECOND_PASSAGE_WEIGHT * (second - best)


@dataclass(frozen=True)
class SemanticHit:
    doc_key: str
    id: str
    score: float
    passage: str
    field: str


class EmbeddingIndex:
    def __init__(self, gen: Path) -> None:
        self.dir = gen
        self.meta = store.read_meta(gen)
        try:
            self.matrix = np.load(gen / "vectors.npy")
            self.postings = json.loads((gen / "postings.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise store.IndexCorrupted(f"the embedding index in {gen} cannot be read ({e})") from e
        if self.matrix.ndim != 2 or self.matrix.shape[1] != self.meta["model"]["dim"]:
            raise store.IndexCorrupted(f"the embedding index in {gen} has vectors of the wrong shape "
                                       f"{self.matrix.shape}")
        keys = {p["doc_key"]: None for p in self.postings}
        self._doc_number = {k: n for n, k in enumerate(keys)}
        self._posting_doc = np.array([self._doc_number[p["doc_key"]] for p in self.postings], dtype=np.int64)
        self._posting_row = np.array([p["row"] for p in self.postings], dtype=np.int64)

    @property
    def model_name(self) -> str:
        return self.meta["model"]["name"]

    def scores(self, query_vector: np.ndarray) -> list[SemanticHit]:
        """Every document's score, best first."""
        if not self.postings:
            return []
        sims = (self.matrix @ query_vector.astype(np.float32))[self._posting_row]
        best, second = top_two(self._posting_doc, sims)
        scores = best_passage_score(sims[best], sims[second])
        hits = [SemanticHit(p["doc_key"], p["id"], float(s), p["text"], p["field"])
                for p, s in zip((self.postings[i] for i in best), scores)]
        hits.sort(key=lambda h: -h.score)
        return hits



def ensure(table: DocumentTable, root: Path, encoder_factory: Callable[[], "Encoder"], *,
           model_settings: dict[str, Any], rebuild: bool = False, show_progress: bool = False,
           notify: Callable[[str], None] | None = None) -> EmbeddingIndex:
    """Open the index, (re)building it when missing or built from another corpus or model."""
    wanted = wanted_meta(table, model_settings)
    if not rebuild:
        gen = store.usable_generation(root, wanted, label="embedding index", notify=notify)
        if gen is not None:
            return EmbeddingIndex(gen)
    return EmbeddingIndex(build(table, root, encoder_factory, settings=model_settings,
                                show_progress=show_progress).generation)
