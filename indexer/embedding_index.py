"""The embedding index: vectors of every passage and every sentence, scored per document.

The document repeats paragraphs a lot, so each distinct text (by its normalised
hash) is embedded once, and vectors are cached by hash and model so a rebuild
embeds only what changed. The texts are those of the searchable documents
(`corpus.documents`, boilerplate left out), at two granularities: whole passages,
and their sentences, whose vectors keep the point a long passage's one vector
averages away. A document scores by its best passage and, separately, by its
best sentence (each nudged by its second best).

Units are stored in document order (the table's document numbers), so a query's
per-document scores are a matrix product, a gather and `np.maximum.reduceat`.
"""
from __future__ import annotations

import re
import time
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from corpus.documents import DocumentTable
from corpus.passages import passage_key, passage_settings, split_sentences
from indexer.files import write_whole
from indexer import store

if TYPE_CHECKING:
    from indexer.encoder import Encoder

FORMAT_VERSION = 2  # 2: sentence units beside passages, in document order
SECOND_UNIT_WEIGHT = 0.1  # a document with two good passages beats one with one
PASSAGE, SENTENCE = 0, 1


def wanted_meta(table: DocumentTable, settings: dict[str, Any]) -> dict[str, Any]:
    return {"format_version": FORMAT_VERSION, "model": settings, "corpus_hash": table.corpus_hash,
            "documents": table.keys_hash,  # its rows are numbered by the table's order
            "boilerplate": "left out", "passage_splitting": passage_settings(),
            "second_unit_weight": SECOND_UNIT_WEIGHT}


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:80]


UNREADABLE_NPZ = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error)
"""What np.load raises on a missing, truncated or foreign .npz (a cache: computed again)."""


def _load_cache(path: Path, dim: int) -> dict[str, np.ndarray]:
    if not path.exists():
        return {}
    try:
        with np.load(path) as z:
            keys, vecs = z["keys"], z["vectors"]
        if vecs.ndim != 2 or vecs.shape[1] != dim:
            return {}
        return {str(k): v for k, v in zip(keys, vecs)}
    except UNREADABLE_NPZ:
        return {}  # a damaged cache only costs time


def _save_cache(path: Path, cache: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    keys = np.array(sorted(cache))
    vectors = np.stack([cache[k] for k in keys]) if len(keys) else np.zeros((0, 0), np.float32)
    write_whole(path, _npz(keys=keys, vectors=vectors))


def _npz(**arrays: np.ndarray) -> bytes:
    import io

    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


@dataclass(frozen=True)
class Unit:
    """One embedded text of one document: a passage, or a sentence of one."""

    doc: int  # the document's number in the table
    passage: int  # the passage's position in the document's passages
    kind: int  # PASSAGE | SENTENCE
    text: str


def units(table: DocumentTable) -> list[Unit]:
    """Every passage and sentence of every document, in document order (passages first)."""
    out: list[Unit] = []
    for n, d in enumerate(table):
        out += [Unit(n, i, PASSAGE, p.text) for i, p in enumerate(d.passages)]
        out += [Unit(n, i, SENTENCE, s) for i, p in enumerate(d.passages) for s in split_sentences(p.text)]
    return out


@dataclass
class BuildReport:
    generation: Path
    units: int
    distinct: int
    embedded: int  # newly embedded (not from the cache)
    seconds: float


def build(table: DocumentTable, root: Path, encoder_factory: Callable[[], "Encoder"], *,
          settings: dict[str, Any], show_progress: bool = False, cache: Path | None = None) -> BuildReport:
    """Build and publish a generation; the encoder is made only if some text is not cached
    (so a rebuild of an unchanged corpus never loads torch). `cache`: the folder of the vectors cache
    (default `root`/cache), shared by the indexes of several sets of documents."""
    started = time.perf_counter()
    all_units = units(table)
    unit_keys = [passage_key(u.text) for u in all_units]
    texts: dict[str, str] = {}
    for k, u in zip(unit_keys, all_units):
        texts.setdefault(k, u.text)
    cache_path = (cache or root / "cache") / f"{_slug(settings['name'])}-{settings['dim']}.npz"
    cache = _load_cache(cache_path, settings["dim"])
    missing = [k for k in texts if k not in cache]
    if missing:
        vecs = encoder_factory().encode_documents([texts[k] for k in missing], show_progress=show_progress)
        cache.update(zip(missing, vecs.astype(np.float32)))
        _save_cache(cache_path, cache)
    keys = list(texts)
    matrix = np.stack([cache[k] for k in keys]).astype(np.float32) if keys else np.zeros((0, settings["dim"]), np.float32)
    row = {k: i for i, k in enumerate(keys)}
    gen = store.new_generation(root)
    np.save(gen / "vectors.npy", matrix)
    np.savez(gen / "units.npz", doc=np.array([u.doc for u in all_units], dtype=np.int32),
             passage=np.array([u.passage for u in all_units], dtype=np.int32),
             kind=np.array([u.kind for u in all_units], dtype=np.int8),
             row=np.array([row[k] for k in unit_keys], dtype=np.int32),
             keys=np.array([d.key for d in table], dtype=str))
    seconds = time.perf_counter() - started
    store.publish(root, gen, wanted_meta(table, settings) | {
        "units": len(all_units), "passages": sum(u.kind == PASSAGE for u in all_units), "distinct": len(keys),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S"), "build_seconds": round(seconds, 3)})
    return BuildReport(gen, len(all_units), len(keys), len(missing), seconds)


def best_per_group(values: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per contiguous group (its first position in `starts`, each group non-empty): the highest
    value and the second highest (the highest again when it is reached twice or the group has one
    member)."""
    best = np.maximum.reduceat(values, starts)
    sizes = np.diff(np.r_[starts, len(values)])
    at_best = values == np.repeat(best, sizes)
    ties = np.add.reduceat(at_best.astype(np.int32), starts)
    second = np.maximum.reduceat(np.where(at_best, -np.inf, values), starts)
    second = np.where((ties > 1) | (sizes == 1), best, second)
    return best, second


def unit_score(best: np.ndarray, second: np.ndarray) -> np.ndarray:
    """A document scores by its best unit, nudged by its second best."""
    return best + SECOND_UNIT_WEIGHT * (second - best)


@dataclass(frozen=True)
class DocScores:
    """One query's semantic scores per document number (-inf: the document has no such unit)."""

    passage: np.ndarray
    sentence: np.ndarray
    best_passage: np.ndarray  # per document, the position of its best passage in its passages (-1: none)
    top_cosine: float  # the highest passage cosine of the query over the whole corpus
    cosines: np.ndarray  # the query's cosine with every distinct text (for answerability statistics)


class EmbeddingIndex:
    def __init__(self, gen: Path) -> None:
        self.dir = gen
        self.meta = store.read_meta(gen)
        try:
            self.matrix = np.load(gen / "vectors.npy")
            with np.load(gen / "units.npz") as z:
                doc, passage, kind, row = z["doc"], z["passage"], z["kind"], z["row"]
                self.keys: list[str] = z["keys"].tolist()
        except (OSError, ValueError, KeyError) as e:
            raise store.IndexCorrupted(f"the embedding index in {gen} cannot be read ({e})") from e
        if self.matrix.ndim != 2 or self.matrix.shape[1] != self.meta["model"]["dim"]:
            raise store.IndexCorrupted(f"the embedding index in {gen} has vectors of the wrong shape "
                                       f"{self.matrix.shape}")
        self._groups = {}
        for k in (PASSAGE, SENTENCE):
            sel = np.flatnonzero(kind == k)
            d = doc[sel]
            starts = np.flatnonzero(np.r_[True, d[1:] != d[:-1]]) if len(d) else np.zeros(0, np.int64)
            self._groups[k] = (row[sel], passage[sel], d[starts] if len(d) else d, starts)

    @property
    def vector_rows(self) -> np.ndarray:
        """Per unit of passage kind, its row in `matrix` (document order)."""
        return self._groups[PASSAGE][0]

    def sentence_cosines(self, doc: int, query_vector: np.ndarray) -> tuple[np.ndarray, float]:
        """The query's cosine with each sentence of document `doc` (in the order `units` lists them:
        passage by passage, `split_sentences` order), and its best cosine with any sentence at all."""
        rows, _, docs, starts = self._groups[SENTENCE]
        cos = self.matrix[rows] @ query_vector.astype(np.float32)
        at = np.flatnonzero(docs == doc)
        if not len(at):
            return np.zeros(0, dtype=np.float32), float(cos.max()) if len(cos) else 0.0
        end = starts[at[0] + 1] if at[0] + 1 < len(starts) else len(rows)
        return cos[starts[at[0]]:end], float(cos.max())

    def similar_to(self, doc: int) -> tuple[np.ndarray, np.ndarray]:
        """Every document's similarity to document `doc`, from the stored vectors (no encoding): the
        best cosine between any passage of the one and any passage of the other (-inf: no passage),
        and which of its passages that is (-1: none)."""
        rows, passages, docs, starts = self._groups[PASSAGE]
        n = len(self.keys)
        scores = np.full(n, -np.inf, dtype=np.float32)
        best_passage = np.full(n, -1, dtype=np.int64)
        at = np.flatnonzero(docs == doc)
        if not len(at) or not len(rows):
            return scores, best_passage
        begin, end = starts[at[0]], (starts[at[0] + 1] if at[0] + 1 < len(starts) else len(rows))
        sims = (self.matrix[rows] @ self.matrix[rows[begin:end]].T).max(axis=1)
        best = np.maximum.reduceat(sims, starts)
        scores[docs] = best
        best_passage[docs] = passages[_first_at(sims, best, starts)]
        return scores, best_passage

    def doc_scores(self, query_vector: np.ndarray) -> DocScores:
        """Every document's best-passage and best-sentence score for one query vector."""
        n = len(self.keys)
        cosines = self.matrix @ query_vector.astype(np.float32)
        out: dict[int, np.ndarray] = {}
        best_passage = np.full(n, -1, dtype=np.int64)
        for k, (rows, passages, docs, starts) in self._groups.items():
            scores = np.full(n, -np.inf, dtype=np.float32)
            if len(rows):
                sims = cosines[rows]
                best, second = best_per_group(sims, starts)
                scores[docs] = unit_score(best, second)
                if k == PASSAGE:
                    at = _first_at(sims, best, starts)
                    best_passage[docs] = passages[at]
            out[k] = scores
        top = float(cosines[self._groups[PASSAGE][0]].max()) if len(self._groups[PASSAGE][0]) else 0.0
        return DocScores(out[PASSAGE], out[SENTENCE], best_passage, top, cosines)


def _first_at(values: np.ndarray, best: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per group, the position of the first value equal to the group's best."""
    sizes = np.diff(np.r_[starts, len(values)])
    positions = np.where(values == np.repeat(best, sizes), np.arange(len(values)), len(values))
    return np.minimum.reduceat(positions, starts)


def ensure(table: DocumentTable, root: Path, encoder_factory: Callable[[], "Encoder"], *,
           model_settings: dict[str, Any], rebuild: bool = False, show_progress: bool = False,
           notify: Callable[[str], None] | None = None, cache: Path | None = None) -> EmbeddingIndex:
    """Open the index, (re)building it when missing or built from another corpus or model."""
    wanted = wanted_meta(table, model_settings)
    if not rebuild:
        gen = store.usable_generation(root, wanted, label="embedding index", notify=notify)
        if gen is not None:
            return EmbeddingIndex(gen)
    with store.building(root, "embedding index"):
        report = build(table, root, encoder_factory, settings=model_settings, show_progress=show_progress,
                       cache=cache)
    return EmbeddingIndex(report.generation)
