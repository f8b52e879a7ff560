"""Recalling past answers: which library entries are close to a query, and what they say about it.

Pure functions over arrays, shared by every search (`search.library.memory` holds the arrays
they read) and `kijun fit` (which simulates libraries of the dev set's own questions).

How close a past question e is to a query q:

    s = (cos(v_q, v_e) + β · pcos(profile_q, profile_e)) / (1 + β)

* v: e5 query vectors (both sides are questions, so both get e5's "query: " prefix);
* profile: the query's whole result — every document's keyword and semantic score,
  normalised and fused with fixed weights (`search.fusion.PROFILE`), centred; pcos is the
  cosine of two profiles. Two questions asked in different words tend to pull up the same
  documents; on the dev set, whether a past question's first confirmed criterion answers a
  question from another source is predicted with AUC 0.65 by the vectors' cosine and 0.74
  by the profiles'.

Closeness w = clip((s − τ) / (1 − τ), 0, 1) ** p: a steep function, so only really close
past questions count much (below τ, none at all). What the library says about a query:

* per document, max over entries of w · 1 / (1 + RANK_DECAY · r), where r is the
  document's criterion's place among the entry's confirmed criteria (`signal`) — fused
  into the hybrid ranking with a weight `kijun fit` chooses;
* for the verdict, the closest entry's similarity and verdict (`nearest`): from the
  similarity where past answers are reused as drafts, `search.answerability` moves the
  verdict toward the past one by the log-odds that the closest past answer is right;
* for people, the closest entries themselves (`Precedent`), shown as 過去の回答 — only those
  from the similarity `listed`, where most past questions listed were relevant on the dev set
  (`search.fitting.LIST_PRECISION`): one that counts a little in ranking (s just above τ) is often
  about something else.

β, τ, p, the weight, the similarity from which a past answer is reused as a draft and the one
from which a past question is listed are fitted by `kijun fit` (leave-source-out) and stored with the hybrid weights.

Cost per query, whatever the library's size: one matrix-vector product over the entries' vectors
(the floor), then only the TOP_K closest by vector are compared by profile and read for their
criteria (`recall_top`). Every entry that counts at all has s > τ, so the result is the full
computation's whenever those entries are among the TOP_K closest by vector (`tests/test_library.py`
checks it against the brute-force oracle). Profiles are stored as float16 (`stored_profiles`): the
dev-set figures are unchanged by it.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from search.library.store import Entry, question_key

RANK_DECAY = 0.2  # the second confirmed criterion of an entry counts 1/1.2 of the first, …
MAX_PRECEDENTS = 3  # past questions listed per search
TOP_K = 256  # entries compared by profile per query: the closest by vector (see the module's docstring)
PROFILE_DTYPE = np.float16  # a stored profile: 2 bytes a document


@dataclass(frozen=True)
class RecallParams:
    """How past questions are matched and weighed (fitted by `kijun fit`)."""

    profile: float = 0.6  # β: weight of the profiles' cosine beside the vectors'
    threshold: float = 0.85  # τ: a similarity at or below this counts for nothing
    steepness: float = 2.0  # p
    weight: float = 1.5  # of the library signal in the hybrid score
    reuse: float = 0.93  # from this similarity, the closest past answer is the draft
    listed: float = 0.9  # from this similarity, a past question is shown as 近い質問 (at most `reuse`)

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "RecallParams":
        return cls(**{k: float(v) for k, v in d.items() if k in cls.__dataclass_fields__})


def profile(fused: np.ndarray) -> np.ndarray:
    """A result as a profile: every document's fused score, centred, unit length (zeros: nothing)."""
    x = np.nan_to_num(np.asarray(fused, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    x = x - x.mean() if len(x) else x
    norm = float(np.linalg.norm(x))
    return (x / norm).astype(np.float32) if norm > 0 else np.zeros(len(x), dtype=np.float32)


def stored_profiles(profiles: np.ndarray) -> np.ndarray:
    """Profiles as an entry keeps them (PROFILE_DTYPE); a query's own stays float32."""
    return np.asarray(profiles).astype(PROFILE_DTYPE)


def similarity(vectors: np.ndarray, profiles: np.ndarray, v: np.ndarray, prof: np.ndarray,
               beta: float) -> np.ndarray:
    """s of the query (vector v, profile prof) to every entry (rows of vectors and profiles): the
    brute-force computation `recall_top` takes a shortcut through."""
    if not len(vectors):
        return np.zeros(0, dtype=np.float64)
    return _mixed(_cosines(vectors, v), profiles, prof, beta)


def _cosines(rows: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Each row's dot product with v, in one thread: a multithreaded BLAS product waits for its second
    thread to wake, which on a busy two-core server costs a scheduler tick (8 ms) a search."""
    return np.vecdot(rows.astype(np.float32, copy=False), np.asarray(v, dtype=np.float32))


def _mixed(cosines: np.ndarray, profiles: np.ndarray, prof: np.ndarray, beta: float) -> np.ndarray:
    """s from the vectors' cosines and the profiles (rows matching the cosines)."""
    return (cosines + beta * _cosines(profiles, prof)).astype(np.float64) / (1.0 + beta)


def closest(vectors: np.ndarray, v: np.ndarray, k: int = TOP_K, allowed: np.ndarray | None = None
            ) -> tuple[np.ndarray, np.ndarray]:
    """The (at most) k allowed entries whose vectors are closest to v, in entry order, and their
    cosines: one matrix-vector product and an argpartition."""
    cosines = _cosines(vectors, v) if len(vectors) else np.zeros(0, dtype=np.float32)
    if allowed is not None:
        cosines = np.where(allowed, cosines, -np.inf)
    if k < len(cosines):
        rows = np.sort(np.argpartition(-cosines, k - 1)[:k])
    else:
        rows = np.arange(len(cosines))
    if allowed is not None:
        rows = rows[allowed[rows]]
    return rows, cosines[rows]


def closeness(s: np.ndarray, threshold: float, steepness: float) -> np.ndarray:
    """w in [0, 1]: 0 at or below the threshold, 1 for the same question."""
    return np.clip((s - threshold) / (1.0 - threshold), 0.0, 1.0) ** steepness


@dataclass(frozen=True)
class Support:
    """Which documents each entry's confirmed criteria are, flattened for array operations: entry j's
    (document, divisor) pairs are at start[j]:start[j + 1], the divisor 1 + RANK_DECAY · r for the
    criterion's place r in the entry."""

    start: np.ndarray  # int64, one more than there are entries
    docs: np.ndarray  # int64
    divisor: np.ndarray  # float64

    @classmethod
    def of(cls, entry_docs: Sequence[Sequence[Sequence[int]]]) -> "Support":
        """From per entry, per confirmed criterion, its documents' positions."""
        docs: list[int] = []
        divisor: list[float] = []
        start = [0]
        for criteria in entry_docs:
            for r, positions in enumerate(criteria):
                docs += positions
                divisor += [1.0 + RANK_DECAY * r] * len(positions)
            start.append(len(docs))
        return cls(np.array(start, dtype=np.int64), np.array(docs, dtype=np.int64),
                   np.array(divisor, dtype=np.float64))

    def __len__(self) -> int:
        return len(self.start) - 1


def signal(w: np.ndarray, support: Support, n_docs: int, rows: np.ndarray | None = None) -> np.ndarray:
    """Per document, the best support any close entry gives it: max of w · 1 / (1 + RANK_DECAY · r)
    over the entries confirming its criterion (r: that criterion's place in the entry). w[i] is the
    closeness of entry rows[i] (of entry i without `rows`). Array operations only: the pairs of the
    close entries gathered, sorted by document, and `np.maximum.reduceat`."""
    out = np.zeros(n_docs, dtype=np.float64)
    close = np.flatnonzero(w > 0)
    entries = close if rows is None else np.asarray(rows)[close]
    begin = support.start[entries]
    sizes = support.start[entries + 1] - begin
    total = int(sizes.sum())
    if not total:
        return out
    # the positions of every pair of every close entry: begin[i], begin[i] + 1, …, per entry in turn
    pairs = np.repeat(begin - np.cumsum(sizes) + sizes, sizes) + np.arange(total)
    values = np.repeat(w[close], sizes) / support.divisor[pairs]
    docs = support.docs[pairs]
    order = np.argsort(docs, kind="stable")
    docs, values = docs[order], values[order]
    starts = np.flatnonzero(np.r_[True, docs[1:] != docs[:-1]])
    out[docs[starts]] = np.maximum.reduceat(values, starts)
    return out


def nearest(s: np.ndarray, allowed: np.ndarray, answered: np.ndarray) -> tuple[float, float]:
    """(similarity of the closest allowed entry, +1 if it was answered, -1 if 該当なし); (0, 0): none."""
    if not allowed.any():
        return 0.0, 0.0
    j = int(np.argmax(np.where(allowed, s, -np.inf)))
    return float(s[j]), 1.0 if answered[j] else -1.0


@dataclass(frozen=True)
class Precedent:
    """A past question close to the query, as shown: 過去の回答."""

    entry: Entry
    similarity: float  # s, 0..1
    closeness: float  # w, 0..1
    reused: bool = False  # the closest, and close enough for its answer to be the draft (RecallParams.reuse)

    def to_dict(self) -> dict[str, Any]:
        e = self.entry
        return {"id": e.id, "question": e.question, "criteria": list(e.criteria), "answer": e.answer,
                "verdict": e.verdict, "source": {**asdict(e.source), "label": e.source.label},
                "similarity": round(self.similarity, 4), "reused": self.reused}


@dataclass(frozen=True)
class Recalled:
    """What the library says about one query."""

    signal: np.ndarray  # per document, 0..1
    similarity: float  # s of the closest entry (0: none)
    verdict: float  # +1: the closest entry was answered, -1: 該当なし, 0: none
    precedents: tuple[Precedent, ...]  # the closest entries, best first (closeness > 0, similarity ≥ listed)
    reused: bool = False  # the closest entry is close enough for its answer to be the draft (params.reuse)


def recalled(s: np.ndarray, allowed: np.ndarray, answered: np.ndarray, support: Support, n_docs: int,
             params: RecallParams, entries: Sequence[Entry] = (), rows: np.ndarray | None = None) -> Recalled:
    """What the `allowed` entries, at similarities `s` to a query, say about it; the closest are
    listed as precedents when `entries` are given (`kijun fit` needs only the numbers). `rows`: the
    entries s and allowed describe, as positions in `answered`, `support` and `entries` (default: all)."""
    w = np.where(allowed, closeness(s, params.threshold, params.steepness), 0.0)
    picked = np.arange(len(s)) if rows is None else np.asarray(rows)
    best, verdict = nearest(s, allowed, answered[picked])
    reused = bool(verdict) and best >= params.reuse
    listed = min(params.listed, params.reuse)
    order = [j for j in np.argsort(-np.where(allowed, s, -np.inf), kind="stable")[:MAX_PRECEDENTS]
             if w[j] > 0 and s[j] >= listed] if len(entries) else []
    return Recalled(signal(w, support, n_docs, picked), best, verdict,
                    tuple(Precedent(entries[picked[j]], float(s[j]), float(w[j]), reused and k == 0)
                          for k, j in enumerate(order)), reused=reused)


def recall_top(vectors: np.ndarray, profiles: np.ndarray, answered: np.ndarray, support: Support, n_docs: int,
               v: np.ndarray, prof: np.ndarray, params: RecallParams, *, allowed: np.ndarray | None = None,
               entries: Sequence[Entry] = (), k: int = TOP_K) -> Recalled:
    """What a library says about a query (vector v, profile prof): the k allowed entries closest by
    vector, then s for those only (their profiles), then `recalled`. Shared by every search
    (`search.library.memory.Memory`) and `kijun fit` (`search.fitting.DevLibrary`)."""
    rows, cosines = closest(vectors, v, k, allowed)
    s = _mixed(cosines, profiles[rows], prof, params.profile)
    return recalled(s, np.ones(len(rows), dtype=bool), answered, support, n_docs, params, entries, rows=rows)
