"""Recalling past answers: which library entries are close to a query, and what they say about it.

Pure functions over arrays, shared by the engine (every search) and `kijun fit` (which
simulates libraries of the dev set's own questions), plus `Memory`: the library's entries
with the arrays those functions read.

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
* for people, the closest entries themselves (`Precedent`), shown as 過去の回答.

β, τ, p, the weight and the similarity from which a past answer is reused as a draft are
fitted by `kijun fit` (leave-source-out) and stored with the hybrid weights.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from search.library.store import Entry, question_key

RANK_DECAY = 0.2  # the second confirmed criterion of an entry counts 1/1.2 of the first, …
MAX_PRECEDENTS = 3  # past questions listed per search


@dataclass(frozen=True)
class RecallParams:
    """How past questions are matched and weighed (fitted by `kijun fit`)."""

    profile: float = 0.6  # β: weight of the profiles' cosine beside the vectors'
    threshold: float = 0.85  # τ: a similarity at or below this counts for nothing
    steepness: float = 2.0  # p
    weight: float = 1.5  # of the library signal in the hybrid score
    reuse: float = 0.93  # from this similarity, the closest past answer is the draft

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


def similarity(vectors: np.ndarray, profiles: np.ndarray, v: np.ndarray, prof: np.ndarray,
               beta: float) -> np.ndarray:
    """s of the query (vector v, profile prof) to every entry (rows of vectors and profiles)."""
    if not len(vectors):
        return np.zeros(0, dtype=np.float64)
    return (vectors @ v.astype(np.float32) + beta * (profiles @ prof)).astype(np.float64) / (1.0 + beta)


def closeness(s: np.ndarray, threshold: float, steepness: float) -> np.ndarray:
    """w in [0, 1]: 0 at or below the threshold, 1 for the same question."""
    return np.clip((s - threshold) / (1.0 - threshold), 0.0, 1.0) ** steepness


def signal(w: np.ndarray, entry_docs: Sequence[Sequence[Sequence[int]]], n_docs: int) -> np.ndarray:
    """Per document, the best support any close entry gives it: max of w · 1 / (1 + RANK_DECAY · r)
    over the entries confirming its criterion (r: that criterion's place in the entry)."""
    out = np.zeros(n_docs, dtype=np.float64)
    for j in np.flatnonzero(w > 0):
        for r, docs in enumerate(entry_docs[j]):
            if docs:
                np.maximum.at(out, list(docs), w[j] / (1.0 + RANK_DECAY * r))
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
    precedents: tuple[Precedent, ...]  # the closest entries, best first (closeness > 0)
    reused: bool = False  # the closest entry is close enough for its answer to be the draft (params.reuse)


class Memory:
    """The library's entries and the arrays recall reads: their vectors, profiles and the documents
    of their confirmed criteria. Made by the engine (which can embed and rank the questions)."""

    def __init__(self, revision: int, entries: Sequence[Entry], vectors: np.ndarray, profiles: np.ndarray,
                 entry_docs: Sequence[Sequence[Sequence[int]]], n_docs: int) -> None:
        self.revision = revision
        self.entries = list(entries)
        self.vectors = vectors
        self.profiles = profiles
        self.entry_docs = entry_docs
        self.n_docs = n_docs
        self.answered = np.array([e.answered for e in entries], dtype=bool)

    def __len__(self) -> int:
        return len(self.entries)

    def recall(self, v: np.ndarray, prof: np.ndarray, params: RecallParams,
               exclude: frozenset[str] = frozenset()) -> Recalled:
        """What the library says about a query; entries whose question is one of `exclude` (as
        `question_key` has it) are left out."""
        s = similarity(self.vectors, self.profiles, v, prof, params.profile)
        allowed = np.array([question_key(e.question) not in exclude for e in self.entries], dtype=bool) \
            if exclude else np.ones(len(self.entries), dtype=bool)
        return recalled(s, allowed, self.answered, self.entry_docs, self.n_docs, params, self.entries)


def recalled(s: np.ndarray, allowed: np.ndarray, answered: np.ndarray, entry_docs: Sequence[Sequence[Sequence[int]]],
             n_docs: int, params: RecallParams, entries: Sequence[Entry] = ()) -> Recalled:
    """What the `allowed` entries, at similarities `s` to a query, say about it; the closest are
    listed as precedents when `entries` are given (`kijun fit` needs only the numbers)."""
    w = np.where(allowed, closeness(s, params.threshold, params.steepness), 0.0)
    best, verdict = nearest(s, allowed, answered)
    reused = bool(verdict) and best >= params.reuse
    order = [j for j in np.argsort(-np.where(allowed, s, -np.inf), kind="stable")[:MAX_PRECEDENTS]
             if w[j] > 0] if len(entries) else []
    return Recalled(signal(w, entry_docs, n_docs), best, verdict,
                    tuple(Precedent(entries[j], float(s[j]), float(w[j]), reused and k == 0)
                          for k, j in enumerate(order)), reused=reused)
