"""Does the document answer this query? One judgement for search, the API, the web and questionnaires.

A single cosine cannot say: it depends on the query's length more than on whether
the document answers it (short queries reach 0.84–0.86, long ones 0.86–0.91,
answered or not). So the judgement reads the whole result — how far the best
passage stands above the query's cosines with every text, how much of the
query's words the best criterion contains, whether keyword and semantic ranking
agree on it — and a logistic model turns these into a probability-like score. A term (a few
words) is judged on its words in every mode: the keyword model reads what keyword ranking saw —
a term's cosines say little — against a threshold of its own (see `judge`). Past questions
the answer library holds move it too: one as close as a reused draft, confirmed 該当なし, lowers
it, one confirmed with criteria raises it (`Models.past`, fitted after the model, so an empty
library changes nothing).
The model, its threshold and its cross-validated figures are fitted on the dev set
(`kijun fit`, `search/fitting.py`) and stored in `answerability.json` beside this
module. A keyword search, which computes no vectors, has its own smaller model.
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ANSWERED = "answered"
NO_MATCH = "no_match"
FOUND_WORDS = "words"
FOUND_SYNONYMS = "synonyms"
FOUND_MEANING = "meaning"
FOUND_IN_TEXT = (FOUND_WORDS, FOUND_SYNONYMS)
"""How a term (a query of a few words) was found: one of the best hits holds its words, or holds each
word or a synonym of it — then the document covers it, whatever the model says — or none holds any
of them (found by meaning alone: the verdict is the model's, and the page says so)."""
STATUS_LABELS = {ANSWERED: "回答候補あり", NO_MATCH: "要確認"}
CONFIDENCE_LABELS = {"high": "高", "medium": "中", "low": "低"}
MODEL_FILE = Path(__file__).with_name("answerability.json")

SEMANTIC_FEATURES = ("cosine_z", "cosine_top", "sentence_top", "cosine_gap", "coverage", "unknown", "missing",
                     "agreement", "words", "latin", "meaning_only", "strange")
KEYWORD_FEATURES = ("coverage", "unknown", "missing", "keyword_strength", "words", "latin", "strange")


@dataclass(frozen=True)
class Evidence:
    """What one search saw, as the judgement's features (None: not computed in this mode)."""

    coverage: float  # idf share of the query's words the best criterion contains
    unknown: float  # idf share of the query's words no document contains
    missing: float  # the most specific query word the best criterion lacks (its idf, scaled to 0..1)
    keyword_strength: float  # its BM25F / the query's total idf: how much of a match it is
    words: float  # log(1 + the query's words)
    latin: float  # 1.0 for an English query
    cosine_top: float | None = None  # the best passage cosine over the corpus
    sentence_top: float | None = None  # the best sentence score over the corpus
    cosine_z: float | None = None  # how far it stands above the query's cosines with every text (z-score)
    cosine_gap: float | None = None  # best criterion's passage score − the fifth best's
    agreement: float | None = None  # 1.0 if keyword and semantic ranking both put it in their top 3
    past_similarity: float = 0.0  # of the closest past question (answer library), from the reuse similarity on
    past_verdict: float = 0.0  # +1: it was confirmed answered, -1: 該当なし, 0: none that close
    found_by: str | None = None  # a term: FOUND_WORDS, FOUND_SYNONYMS, FOUND_MEANING (None: a longer text)
    strange: float = 0.0  # a term: the share of its words neither a document nor the thesaurus knows
    term: bool = False  # a query of at most engine.MAX_TERM_WORDS runs of content words (`engine.term_runs`)
    by_keyword: "Evidence | None" = None  # a term with semantic scores: what keyword ranking saw (None: nothing)

    @property
    def semantic(self) -> bool:
        return self.cosine_top is not None

    @property
    def meaning_only(self) -> float:
        """1.0 for a term none of whose words, nor their synonyms, the best hits hold."""
        return float(self.found_by == FOUND_MEANING)

    def vector(self, names: Sequence[str]) -> list[float]:
        return [float(getattr(self, n)) for n in names]


@dataclass(frozen=True)
class Match:
    status: str  # ANSWERED | NO_MATCH
    confidence: str  # high | medium | low
    score: float  # 0..1, higher: more likely the document answers the query
    found_by: str | None = None  # a term: how the hits hold its words (Evidence.found_by)
    past: bool = False  # the verdict is a past answer's, reused (the answer library): what the person said
    threshold: float | None = None  # what the score was judged against (the judging model's; None: not modelled)

    @property
    def answered(self) -> bool:
        return self.status == ANSWERED

    def to_dict(self) -> dict[str, Any]:
        threshold = round(self.threshold, 4) if self.threshold is not None else None
        return asdict(self) | {"score": round(self.score, 4), "threshold": threshold}


@dataclass(frozen=True)
class Logistic:
    """p = σ(b + Σ wᵢ · (xᵢ − meanᵢ) / scaleᵢ); answered when p ≥ threshold, high when p ≥ high."""

    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    threshold: float
    high: float

    def logit(self, x: Sequence[float]) -> float:
        return self.bias + sum(w * (v - m) / s for w, v, m, s in zip(self.weights, x, self.mean, self.scale))

    def probability(self, x: Sequence[float]) -> float:
        return sigmoid(self.logit(x))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Logistic":
        return cls(tuple(d["features"]), tuple(d["weights"]), float(d["bias"]), tuple(d["mean"]),
                   tuple(d["scale"]), float(d["threshold"]), float(d["high"]))


PAST_TERMS = ("intercept", "slope")


@dataclass(frozen=True)
class Models:
    """The judgement models — semantic and keyword for a longer text, with semantic scores or
    without; for a term, in either mode, the keyword one with a threshold of its own (`term`; None:
    the keyword one's) — and how much a past question as close as a reused draft moves the
    verdict: its logit plus past_verdict × the log-odds that the closest past answer is right at
    that similarity, intercept + slope · past_similarity (never against it). 0 without such a
    question, so with an empty library the verdict is exactly the document's."""

    semantic: Logistic
    keyword: Logistic
    past: Mapping[str, float] = field(default_factory=lambda: {f: 0.0 for f in PAST_TERMS})
    fitted: Mapping[str, Any] = field(default_factory=dict, compare=False)
    term: Logistic | None = None

    def model_for(self, *, semantic: bool, term: bool) -> Logistic:
        """The model that judges a search with (or without) semantic scores, of a term or a longer text."""
        if term:
            return self.term or self.keyword
        return self.semantic if semantic else self.keyword

    def judging(self, evidence: Evidence) -> tuple[Logistic, Evidence | None]:
        """The model that judges a search and the evidence it reads: for a term with semantic scores,
        what keyword ranking saw (`by_keyword`, None when it found nothing), else the search's own."""
        model = self.model_for(semantic=evidence.semantic, term=evidence.term)
        return model, evidence.by_keyword if evidence.semantic and evidence.term else evidence

    def past_logit(self, evidence: Evidence) -> float:
        """What the closest past question adds to the logit of a search with semantic scores."""
        if not evidence.past_verdict:
            return 0.0
        return evidence.past_verdict * max(0.0, self.past["intercept"] + self.past["slope"] * evidence.past_similarity)

    def to_dict(self) -> dict[str, Any]:
        term = {"term": self.term.to_dict()} if self.term is not None else {}
        return {"semantic": self.semantic.to_dict(), "keyword": self.keyword.to_dict(), **term,
                "past": dict(self.past), "fitted": dict(self.fitted)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Models":
        past = {f: float(d.get("past", {}).get(f, 0.0)) for f in PAST_TERMS}
        return cls(Logistic.from_dict(d["semantic"]), Logistic.from_dict(d["keyword"]), past, d.get("fitted", {}),
                   Logistic.from_dict(d["term"]) if "term" in d else None)


def load_models(path: Path = MODEL_FILE) -> Models:
    return Models.from_dict(json.loads(path.read_text(encoding="utf-8")))


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))


def judge(evidence: Evidence, models: Models) -> Match:
    """The verdict for one search.

    A term is judged by the keyword model on keyword ranking's evidence, with the terms' threshold, in
    either mode: held out on the dev set's terms it tells the covered from the rest better than the
    semantic model (README, Quality). A past answer's term (`Models.past`) was fitted on the semantic
    model's logit, so it moves that model's verdicts only."""
    model, read = models.judging(evidence)
    p = 0.0
    if read is not None:
        z = model.logit(read.vector(model.features))
        if evidence.semantic and not evidence.term:
            z += models.past_logit(evidence)
        p = sigmoid(z)
    seen = read.found_by if read is not None else None
    p = effective(p, model.threshold, evidence.found_by, seen)
    # how the words were found: the hits shown, else keyword ranking's hits (no "not in the document" then)
    found_by = seen if evidence.found_by not in FOUND_IN_TEXT and seen in FOUND_IN_TEXT else evidence.found_by
    if p < model.threshold:
        return Match(NO_MATCH, "low", p, found_by, threshold=model.threshold)
    return Match(ANSWERED, "high" if p >= model.high else "medium", p, found_by, threshold=model.threshold)


def effective(p: float, threshold: float, *found_by: str | None) -> float:
    """The verdict's score: the model's, but at least the threshold for a term whose words (or their
    synonyms) the best hits hold — the hits shown, or those keyword ranking saw: the document covers
    it, if not surely."""
    return max(p, threshold) if any(f in FOUND_IN_TEXT for f in found_by) else p
