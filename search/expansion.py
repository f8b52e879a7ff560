"""What a query's synonyms find in one corpus: the thesaurus's expansions, scored on the documents.

`indexer.thesaurus` says which words of a query have synonyms; this module says which of those
synonyms the documents hold, and where. Only the words the documents do not use are expanded (入退室,
修正プログラム): a word they use (暗号化, パスワード) is searched as the user wrote it, and its synonyms
would only pull in other criteria. Per expanded word, a document scores its best synonym's
BM25 (the synonym's words in a row, as the document's analyzer wrote them: 2要素認証 in
「2 要素認証」); the query's expansion score is the sum over its words, each word counted once
however many synonyms a document holds. The ranker fuses it below the user's own words
(`search.fusion`, weight `thesaurus`).

For the semantic side, each expanded word's synonym that the most documents hold — the document's
own word for it (入退室 → 物理的アクセス) — is embedded once (the engine keeps its vector), and the
ranker mixes those vectors into the query's (weight `expansion`).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from indexer.keyword_index import KeywordIndex, Run, word_runs
from indexer.thesaurus import Expansion, Thesaurus, term_tokens


@dataclass(frozen=True)
class Found:
    """One expanded word of the query, and the synonyms of it that documents hold."""

    expansion: Expansion
    terms: tuple[str, ...]  # the synonyms, in the rules' order
    holders: tuple[np.ndarray, ...]  # per term, the table documents holding it (ascending; none: empty)
    scores: np.ndarray  # per table document, its best synonym's BM25 (0: none)

    @property
    def word(self) -> str:
        return self.expansion.word

    def held_by(self, n: int) -> tuple[str, ...]:
        """The synonyms table document n holds."""
        return tuple(t for t, docs in zip(self.terms, self.holders) if _has(docs, n))

    @property
    def held(self) -> tuple[str, ...]:
        """The synonyms some document holds."""
        return tuple(t for t, docs in zip(self.terms, self.holders) if len(docs))

    @property
    def commonest(self) -> str:
        """The synonym the most documents hold — the document's own word for it — or, where none holds
        one, the rule's first (the first of equals)."""
        return max(zip(self.terms, self.holders), key=lambda th: len(th[1]))[0]

    @property
    def searched(self) -> tuple[str, ...]:
        """What it was searched by, as people are told: the synonyms documents hold, else the one embedded."""
        return self.held or (self.commonest,)


@dataclass(frozen=True)
class QueryExpansion:
    """Every expanded word of one query, what its synonyms find, and the query said in them."""

    found: tuple[Found, ...]
    n_docs: int

    @property
    def commonest(self) -> tuple[str, ...]:
        """Per expanded word, the synonym the most documents hold (what the semantic side embeds)."""
        return tuple(dict.fromkeys(f.commonest for f in self.found))

    @property
    def scores(self) -> np.ndarray:
        """Per table document, the sum over the expanded words of its best synonym's BM25."""
        total = np.zeros(self.n_docs)
        for f in self.found:
            total += f.scores
        return total

    def share(self, text: str) -> float:
        """How much of the query its expanded words are: the share of its content words (mode C)
        inside them (入退室 alone: 1.0; one staff word in a long question: a little)."""
        words = [(a, b) for r in word_runs(text) for a, b in _word_spans(r)]
        inside = sum(any(f.expansion.start <= a and b <= f.expansion.end for f in self.found) for a, b in words)
        return inside / len(words) if words else 0.0

    @property
    def rules(self) -> tuple[str, ...]:
        """The thesaurus rules that fired and found something (for --explain)."""
        return tuple(dict.fromkeys(r for f in self.found for r in f.expansion.rules))

    def held_by(self, n: int) -> tuple[tuple[str, str], ...]:
        """(query word, synonym) of every synonym table document n holds."""
        return tuple((f.word, t) for f in self.found for t in f.held_by(n))

    def covered(self, n: int) -> tuple[tuple[int, int], ...]:
        """The query's spans (start, end) whose word table document n holds a synonym of."""
        return tuple((f.expansion.start, f.expansion.end) for f in self.found if f.held_by(n))


def expand_query(text: str, thesaurus: Thesaurus, index: KeywordIndex, order: np.ndarray,
                 tokens_of: Callable[[int], str]) -> QueryExpansion | None:
    """The query's expansions and what they find (None: no word of it that the documents lack is in the
    thesaurus). `order[k]`: the table position of keyword-index document k; `tokens_of(k)`: keyword-index
    document k's words as the analyzer writes them, space-separated (where a synonym is looked for
    in a row)."""
    found = []
    n_docs = len(order)
    for e in thesaurus.expand(text):
        if len(index.phrase_scores(term_tokens(e.word), tokens_of)[0]):
            continue  # a word the documents use is searched as the user wrote it: synonyms would only add noise
        holders, best = [], np.zeros(n_docs)
        for term in e.terms:
            docs, scores = index.phrase_scores(term_tokens(term), tokens_of)
            holders.append(np.sort(order[docs]))
            if len(docs):
                np.maximum.at(best, order[docs], scores)
        found.append(Found(e, e.terms, tuple(holders), best))
    if not found:
        return None
    return QueryExpansion(tuple(found), n_docs)


def _word_spans(run: Run) -> list[tuple[int, int]]:
    """A run's words, each as the run's span shared out (runs of one word are the usual case)."""
    n = len(run.tokens)
    step = (run.end - run.start) / n
    return [(run.start + round(i * step), run.start + round((i + 1) * step)) for i in range(n)]


def _has(docs: np.ndarray, n: int) -> bool:
    i = int(np.searchsorted(docs, n))
    return i < len(docs) and int(docs[i]) == n
