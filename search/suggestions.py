"""Thesaurus rules suggested from the answer library, for a person to accept.

A confirmed past answer pairs a question, in the asker's words, with the criteria a person chose
for it. A word of the question that none of those criteria uses (入退室) is the asker's name for
something the criteria say otherwise; the criteria's distinctive words (物理的アクセス: few other
documents use it) are candidates for what it names. Over many past answers the same pairs recur.
`suggest` counts them and keeps the evidence — the questions, the criteria and the sentences —
so a person can judge each one. Nothing is applied: accepted lines go into the team's thesaurus
file (`$KIJUN_THESAURUS`).
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from corpus.passages import split_sentences
from indexer.analyzer import normalize
from indexer.keyword_index import word_runs
from search.engine import Engine
from search.library.store import Entry

DISTINCTIVE = 3  # words taken from each confirmed criterion
MAX_SHARE = 0.1  # a criterion's word found in more than this share of documents is not distinctive
MAX_ENTRIES = 100_000  # past answers read (a library this size takes a few seconds)


@dataclass(frozen=True)
class Evidence:
    """One past answer behind a suggestion."""

    question: str
    source: str  # where it was confirmed (the sheet and row)
    criterion: str
    sentence: str  # the criterion's sentence holding the word


@dataclass
class Suggestion:
    """A candidate rule `word, term`: the askers' word and the criteria's."""

    word: str
    term: str
    support: float = 0.0  # past answers behind it, each shared among the pairs it suggests
    evidence: list[Evidence] = field(default_factory=list)

    @property
    def rule(self) -> str:
        """The line to copy into a thesaurus file."""
        return f"{self.word}, {self.term}"


def suggest(engine: Engine, entries: Iterable[Entry], limit: int = 20) -> list[Suggestion]:
    """The candidate rules the confirmed past answers support most, strongest first (pairs the
    thesaurus already links left out)."""
    found: dict[tuple[str, str], Suggestion] = {}
    for k, entry in enumerate(entries):
        if k >= MAX_ENTRIES:
            break
        if not entry.answered or not entry.criteria:
            continue
        keys = [d.key for c in entry.criteria for d in engine.table.about(c)]
        absent = [r for r in word_runs(entry.question)
                  if len(r.surface) > 1 and not any(engine.holds(r, k) for k in keys)]
        if not absent:
            continue
        terms = _distinctive(engine, entry, set(normalize(r.surface) for r in word_runs(entry.question)))
        pairs = [(w, t) for w in absent for t in terms if not _linked(engine, w.surface, t[1])]
        total = sum(idf for _, (_, _, _, idf) in pairs)
        for w, (criterion, term, sentence, idf) in pairs:
            s = found.setdefault((w.surface, term), Suggestion(w.surface, term))
            s.support += idf / total  # one past answer shares one vote, rarer words of the criteria more
            s.evidence.append(Evidence(entry.question, entry.source.label, criterion, sentence))
    return sorted(found.values(), key=lambda s: (-s.support, -len(s.evidence), s.word, s.term))[:limit]


def _distinctive(engine: Engine, entry: Entry, asked: set[str]) -> list[tuple[str, str, str, float]]:
    """(criterion, word, its sentence, weight) for each confirmed criterion's DISTINCTIVE words the
    question does not use: the rarest in the corpus (idf), in the sentences that share most of the
    question's words."""
    n_docs = len(engine.table)
    out = []
    for criterion in entry.criteria:
        seen: dict[str, tuple[float, str, str]] = {}
        sentences = [(sentence, word_runs(sentence)) for d in engine.table.about(criterion) for p in d.passages
                     for sentence in split_sentences(p.text)]
        # a sentence sharing the question's words is where the criterion says what was asked: where there are
        # such sentences, only their words are candidates
        sharing = [(s, runs) for s, runs in sentences if any(normalize(r.surface) in asked for r in runs)]
        for sentence, runs in sharing or sentences:
            near = 1 + sum(normalize(r.surface) in asked for r in runs)
            for r in runs:
                word = normalize(r.surface)
                if word in asked or len(r.surface) < 2 or r.surface.isdigit():
                    continue
                df = engine.phrase_df(r.tokens)
                weight = near * math.log(n_docs / df) if df else 0.0
                if 0 < df <= MAX_SHARE * n_docs and weight > seen.get(word, (0.0,))[0]:
                    seen[word] = (weight, r.surface, sentence)
        best = sorted(seen.values(), key=lambda v: -v[0])[:DISTINCTIVE]
        out += [(criterion, surface, sentence, idf) for idf, surface, sentence in best]
    return out


def _linked(engine: Engine, word: str, term: str) -> bool:
    """Does the thesaurus already expand the word to the term?"""
    return any(normalize(term) in (normalize(t) for t in e.terms) for e in engine.thesaurus.expand(word))


def render(suggestions: Sequence[Suggestion]) -> str:
    """Suggestions as thesaurus lines, each under its evidence as comments (a file a person edits)."""
    if not suggestions:
        return "# no suggestions: no past answer uses a word its criteria do not"
    lines = ["# Candidate thesaurus rules from the answer library: copy the ones you accept into your",
             "# thesaurus file ($KIJUN_THESAURUS). Nothing here is applied.", ""]
    for s in suggestions:
        lines.append(f"# {len(s.evidence)} past answer(s), support {s.support:.2f}")
        for ev in s.evidence[:3]:
            lines.append(f"#   「{ev.question}」 ({ev.source}) → {ev.criterion}: 「{ev.sentence}」")
        lines += [s.rule, ""]
    return "\n".join(lines)
