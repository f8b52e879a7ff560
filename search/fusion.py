"""How the hybrid ranker combines its signals: pure functions over per-document arrays.

Five signals, each normalised per query so scales are comparable:

* keyword  — BM25F over the query's own words / its maximum (0 where no word matched);
* thesaurus — BM25 of the domain thesaurus's synonyms of the query's words that the document holds
  (`search.expansion`: staff words reach the document's, 入退室 → 物理的アクセス) / its maximum,
  weighed at a share (`thesaurus`, at most 1) of the keyword signal's weight: below the user's own words;
* synonym  — BM25F over Sudachi synonym groups of the query's nouns / its maximum;
* passage  — best-passage cosine, min-max over the documents that have text;
* sentence — best-sentence cosine, min-max likewise.

The semantic signals come from the query's vector with its synonyms' vectors blended in (`blend`),
by `expansion` × how much of the query the expanded words are: a staff term alone (入退室) is looked
for by its synonyms' meaning as much as by its own; a long question with one staff word, a little.

hybrid(d) = Σ weight(signal) · signal(d), plus, when the answer library holds past questions
close to this one, its weight × how strongly they confirmed d's criterion
(`search.library.recall`; 0 with an empty library). How far the keyword signal is trusted depends
on the query's shape: a long pasted question (many words, generic ones among them), a
short term the user typed, or an English question (the document is Japanese, so its
English words match little but incidental text). The weights are fitted on the dev set
with cross-validation (`kijun fit`, `search/fitting.py`) and stored in `weights.json`
beside this module, with the held-out figures they were chosen by.

Degenerate inputs are defined, not divided by zero: an all-zero keyword signal stays
zero; a semantic signal whose finite values are all equal normalises to 1.0.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from indexer.keyword_index import LONG_QUERY_TOKENS  # a pasted question rather than a term (mode-C words)
from search.library.recall import RecallParams

SHAPES = ("long", "short", "latin")
BM25_SIGNALS = ("keyword", "synonym", "thesaurus")  # true zero floor: normalised by their maximum
LATIN_SHARE = 0.5  # share of letters that are Latin: an English question
WEIGHTS_FILE = Path(__file__).with_name("weights.json")


def max_normalize(values: np.ndarray) -> np.ndarray:
    """values / max (BM25 has a true zero floor); all zeros stay zeros."""
    top = float(values.max()) if len(values) else 0.0
    return np.clip(values, 0, None) / top if top > 0 else np.zeros_like(values, dtype=np.float64)


def minmax_normalize(values: np.ndarray) -> np.ndarray:
    """(v − min) / (max − min) over the finite values; non-finite → 0; equal values → 1."""
    finite = np.isfinite(values)
    out = np.zeros(len(values), dtype=np.float64)
    if not finite.any():
        return out
    lo, hi = float(values[finite].min()), float(values[finite].max())
    out[finite] = (values[finite] - lo) / (hi - lo) if hi > lo else 1.0
    return out


def query_shape(text: str, words: int) -> str:
    """'latin' for an English question, 'long' for a pasted question, else 'short'."""
    letters = [c for c in text if c.isalpha()]
    latin = sum(c.isascii() for c in letters) / len(letters) if letters else 0.0
    if latin > LATIN_SHARE:
        return "latin"
    return "long" if words >= LONG_QUERY_TOKENS else "short"


@dataclass(frozen=True)
class Weights:
    """The weight of each signal; the keyword weight per query shape."""

    keyword: Mapping[str, float]
    synonym: float
    passage: float
    sentence: float
    coverage: float = 0.0  # keyword weight × (the best keyword match's coverage of the query) ** this
    thesaurus: float = 0.0  # the query's synonyms' BM25 (`search.expansion`), at this share of the keyword weight
    expansion: float = 0.0  # the synonyms' vector blended into the query's: this × the query's expanded share
    floor: float = 0.0  # hits scoring below floor × the best one are folded away (`above_floor`); fitted too
    library: RecallParams = field(default_factory=RecallParams)  # how close past questions count
    fitted: Mapping[str, Any] = field(default_factory=dict, compare=False)  # how and on what (report)

    def of(self, signal: str, shape: str, coverage: float = 1.0) -> float:
        if signal == "keyword":
            return float(self.keyword[shape]) * coverage ** self.coverage
        if signal == "thesaurus":  # a share of the user's own words' weight: synonyms never count more
            return float(self.keyword[shape]) * self.thesaurus
        return float(getattr(self, signal))

    def to_dict(self) -> dict[str, Any]:
        return {"keyword": dict(self.keyword), "synonym": self.synonym, "passage": self.passage,
                "sentence": self.sentence, "coverage": self.coverage, "thesaurus": self.thesaurus,
                "expansion": self.expansion, "floor": self.floor,
                "library": self.library.to_dict(),
                "fitted": dict(self.fitted)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Weights":
        return cls(keyword={s: float(d["keyword"][s]) for s in SHAPES}, synonym=float(d["synonym"]),
                   passage=float(d["passage"]), sentence=float(d["sentence"]),
                   coverage=float(d.get("coverage", 0.0)), thesaurus=float(d.get("thesaurus", 0.0)),
                   expansion=float(d.get("expansion", 0.0)), floor=float(d.get("floor", 0.0)),
                   library=RecallParams.from_dict(d.get("library", {})), fitted=d.get("fitted", {}))


PROFILE = Weights(keyword={s: 0.4 for s in SHAPES}, synonym=0.0, passage=0.6, sentence=0.0)
"""Fixed, not fitted: how a result is summed up to compare two questions by what they find
(`search.library.recall.profile`); fitting it would make the past questions' profiles change
with every refit."""
PROFILE_SIGNALS = ("keyword", "passage")


def load_weights(path: Path = WEIGHTS_FILE) -> Weights:
    return Weights.from_dict(json.loads(path.read_text(encoding="utf-8")))


def normalized(raw: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each raw signal on its comparable scale (see the module docstring)."""
    return {name: (max_normalize(v) if name in BM25_SIGNALS else minmax_normalize(v)) for name, v in raw.items()}


def above_floor(scores: Sequence[float], floor: float) -> int:
    """How many of a ranked list's hits (best first) stand above the floor: those scoring at least
    floor × the best score (always the best one itself). The rest are shown folded."""
    if not scores:
        return 0
    top = scores[0]
    return max(1, sum(1 for s in scores if s >= floor * top)) if top > 0 else len(scores)


def blend(vector: np.ndarray, other: np.ndarray | None, share: float) -> np.ndarray:
    """The query's vector with `share` of another (its synonyms') added, unit length again; the
    query's own when there is none or the share is 0."""
    if other is None or not share:
        return vector
    mixed = vector.astype(np.float32) + np.float32(share) * other.astype(np.float32)
    norm = float(np.linalg.norm(mixed))
    return mixed / norm if norm > 0 else vector


def fuse(signals: Mapping[str, np.ndarray], weights: Weights, shape: str, coverage: float = 1.0) -> np.ndarray:
    """The hybrid score of every document from its normalised signals."""
    n = len(next(iter(signals.values())))
    total = np.zeros(n, dtype=np.float64)
    for name, values in signals.items():
        w = weights.of(name, shape, coverage)
        if w:
            total += w * values
    return total
