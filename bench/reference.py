"""The yardstick: BM25 from `bm25s` over the same Sudachi tokens kijun indexes.

kijun's keyword index does more per document (three granularities, four
fields, BM25F in Whoosh), so absolute times alone say little; a ratio against
a known fast library on the same tokens says how much that design costs.
"""
from __future__ import annotations

import multiprocessing
import os
import time
from dataclasses import dataclass
from typing import Any

from corpus.records import Document
from indexer.analyzer import tokenize


PARALLEL_FROM = 2000  # documents; below this, starting worker processes costs more than it saves


def _tokens(text: str) -> list[str]:
    return tokenize(text, "C") or [""]


def document_texts(doc: Document) -> list[str]:
    return ["\n".join([c.aws_status, c.customer_controls, *c.references]) for c in doc.criteria]


@dataclass
class Bm25sReference:
    retriever: Any
    vocab: frozenset[str]
    build_seconds: float  # tokenising included, as in kijun's build

    @classmethod
    def build(cls, doc: Document) -> "Bm25sReference":
        import bm25s

        started = time.perf_counter()
        texts = document_texts(doc)
        if len(texts) < PARALLEL_FROM:
            tokens = [_tokens(t) for t in texts]
        else:  # kijun's own build tokenises on every core; so does the yardstick
            with multiprocessing.get_context("fork").Pool(os.cpu_count() or 1) as pool:
                tokens = pool.map(_tokens, texts, chunksize=256)
        retriever = bm25s.BM25()
        retriever.index(tokens, show_progress=False)
        return cls(retriever, frozenset(t for doc_tokens in tokens for t in doc_tokens),
                   time.perf_counter() - started)

    def search(self, query: str, k: int = 10) -> list[int]:
        """Indexes of the top documents (tokenising the query included, as in kijun)."""
        return self.retrieve(self.tokens(query), k)

    def tokens(self, query: str) -> list[str]:
        """The query's tokens the index knows (bm25s refuses unknown ones)."""
        return [t for t in tokenize(query, "C") if t in self.vocab]

    def retrieve(self, words: list[str], k: int = 10) -> list[int]:
        """bm25s alone: scoring and top-k over tokens already made."""
        if not words:
            return []
        k = min(k, int(self.retriever.scores["num_docs"]))
        docs, _ = self.retriever.retrieve([words], k=k, show_progress=False)
        return [int(d) for d in docs[0]]
