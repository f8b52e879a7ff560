"""Precomputed BM25F impacts: the keyword index's scores as sparse arrays, summed with numpy.

Whoosh stays the index of record: it builds and stores the index and answers phrase
queries. But it scores every posting in Python, so at build time every term's
contribution to every document's score is exported — BM25F with Whoosh's own idf,
its quantised field lengths, and the field and granularity boosts folded in — as one
sparse term × document matrix per granularity (the approach of bm25s). A query's
scores are then a gather and a sum, identical to Whoosh's (tests/test_impact.py).

The arrays are pure data; the functions over them are pure: `export` reads a
Whoosh searcher, `scores` and `top_k` never touch disk.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

FORMAT_VERSION = 1
FILE = "impact.npz"


@dataclass(frozen=True)
class ImpactMatrix:
    """One granularity's impacts: term ``t`` adds ``weights[indptr[t]:indptr[t+1]]`` to the
    documents ``docs[indptr[t]:indptr[t+1]]`` (Whoosh document numbers, ascending)."""

    terms: Mapping[str, int]
    indptr: np.ndarray  # int64, one more than terms
    docs: np.ndarray  # int32
    weights: np.ndarray  # float64: exact parity with Whoosh's float scores
    df_max: np.ndarray  # int32 per term: its document frequency in the field where it is commonest

    def ids(self, tokens: Iterable[str]) -> list[int]:
        """Row numbers of the tokens the index has (unknown ones match nothing)."""
        return [self.terms[t] for t in tokens if t in self.terms]


def bm25(idf: np.ndarray, tf: np.ndarray, length: np.ndarray, avg_length: float, b: float, k1: float) -> np.ndarray:
    """Whoosh's `scoring.bm25`, over arrays."""
    return idf * ((tf * (k1 + 1)) / (tf + k1 * ((1 - b) + b * length / avg_length)))


def export(searcher: Any, fields: Mapping[str, float], *, b: float, k1: float) -> ImpactMatrix:
    """The impacts of the Whoosh `fields` (name → boost) of one granularity, summed per term.

    Reads what Whoosh's BM25F scorer reads, from the same top-level searcher: idf
    (log(N / (df + 1)) + 1), the average field length, and each document's field
    length as Whoosh stores it (quantised to a byte).
    """
    n_all = searcher.doc_count_all()
    rows: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    df_max: dict[str, int] = {}
    for field, boost in fields.items():
        avg = searcher.avg_field_length(field) or 1
        lengths = np.array([searcher.doc_field_length(n, field, 1) for n in range(n_all)], dtype=np.float64)
        for raw in searcher.reader().lexicon(field):
            term = raw.decode("utf-8") if isinstance(raw, bytes) else raw
            docs, tf = _postings(searcher, field, raw)
            idf = searcher.idf(field, term)
            rows.setdefault(term, []).append((docs, boost * bm25(idf, tf, lengths[docs], avg, b, k1)))
            df_max[term] = max(df_max.get(term, 0), len(docs))
    terms = sorted(rows)
    indptr = np.zeros(len(terms) + 1, dtype=np.int64)
    all_docs: list[np.ndarray] = []
    all_weights: list[np.ndarray] = []
    for i, term in enumerate(terms):
        docs, weights = _merge(rows[term])
        all_docs.append(docs)
        all_weights.append(weights)
        indptr[i + 1] = indptr[i] + len(docs)
    return ImpactMatrix(
        terms={t: i for i, t in enumerate(terms)}, indptr=indptr,
        docs=np.concatenate(all_docs).astype(np.int32) if terms else np.zeros(0, np.int32),
        weights=np.concatenate(all_weights) if terms else np.zeros(0, np.float64),
        df_max=np.array([df_max[t] for t in terms], dtype=np.int32))


def _postings(searcher: Any, field: str, term: Any) -> tuple[np.ndarray, np.ndarray]:
    """Document numbers and term frequencies of one term in one field."""
    m = searcher.postings(field, term)
    docs, tf = [], []
    while m.is_active():
        docs.append(m.id())
        tf.append(m.weight())
        m.next()
    return np.array(docs, dtype=np.int64), np.array(tf, dtype=np.float64)


def _merge(parts: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """One term's postings over several fields → one ascending row, weights summed per document."""
    if len(parts) == 1:
        return parts[0]
    docs = np.concatenate([d for d, _ in parts])
    weights = np.concatenate([w for _, w in parts])
    unique, inverse = np.unique(docs, return_inverse=True)
    return unique, np.bincount(inverse, weights=weights, minlength=len(unique))


def rows(matrix: ImpactMatrix, term_ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """The postings of several terms, concatenated: (documents, weights)."""
    if not term_ids:
        return np.zeros(0, np.int32), np.zeros(0, np.float64)
    spans = [slice(matrix.indptr[t], matrix.indptr[t + 1]) for t in term_ids]
    return np.concatenate([matrix.docs[s] for s in spans]), np.concatenate([matrix.weights[s] for s in spans])


def scores(parts: Iterable[tuple[ImpactMatrix, Sequence[int]]], n_docs: int) -> np.ndarray:
    """Each document's score: the sum of its impacts for the given terms of each granularity."""
    total = np.zeros(n_docs, dtype=np.float64)
    for matrix, term_ids in parts:
        docs, weights = rows(matrix, term_ids)
        if len(docs):
            total += np.bincount(docs, weights=weights, minlength=n_docs)
    return total


def containing(parts: Iterable[tuple[ImpactMatrix, Sequence[int]]], n_docs: int) -> np.ndarray:
    """Mask of the documents that contain any of the terms."""
    mask = np.zeros(n_docs, dtype=bool)
    for matrix, term_ids in parts:
        mask[rows(matrix, term_ids)[0]] = True
    return mask


def top_k(values: np.ndarray, k: int, mask: np.ndarray | None = None) -> list[int]:
    """Positions of the k highest values (only where `mask`), best first; ties in position
    order, as Whoosh sorts them."""
    candidates = np.flatnonzero(mask) if mask is not None else np.arange(len(values))
    if len(candidates) > k:
        part = np.argpartition(-values[candidates], k - 1)[:k]
        threshold = values[candidates[part]].min()
        candidates = candidates[values[candidates] >= threshold]  # keep every tie at the cut
    order = np.lexsort((candidates, -values[candidates]))
    return candidates[order][:k].tolist()


def save(path: Path, matrices: Mapping[str, ImpactMatrix], columns: Mapping[str, Sequence[str]]) -> None:
    """One .npz: per granularity its arrays and terms; per document its key and filter columns."""
    arrays: dict[str, np.ndarray] = {"format_version": np.array(FORMAT_VERSION)}
    for g, m in matrices.items():
        arrays |= {f"{g}.terms": np.array(sorted(m.terms, key=m.terms.__getitem__), dtype=str),
                   f"{g}.indptr": m.indptr, f"{g}.docs": m.docs, f"{g}.weights": m.weights, f"{g}.df_max": m.df_max}
    arrays |= {f"column.{name}": np.array(list(values), dtype=str) for name, values in columns.items()}
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def load(path: Path) -> tuple[dict[str, ImpactMatrix], dict[str, np.ndarray]]:
    """The matrices and the document columns saved by `save`; ValueError if the format differs."""
    with np.load(path) as z:
        version = int(z["format_version"])
        if version != FORMAT_VERSION:
            raise ValueError(f"impact arrays of format {version}, expected {FORMAT_VERSION}")
        grans = sorted({k.split(".", 1)[0] for k in z.files if k.endswith(".indptr")})
        matrices = {g: ImpactMatrix(terms={t: i for i, t in enumerate(z[f"{g}.terms"].tolist())},
                                    indptr=z[f"{g}.indptr"], docs=z[f"{g}.docs"], weights=z[f"{g}.weights"],
                                    df_max=z[f"{g}.df_max"]) for g in grans}
        columns = {k.split(".", 1)[1]: z[k] for k in z.files if k.startswith("column.")}
    return matrices, columns
