"""The yardstick: BM25 from `bm25s` over the same Sudachi tokens kijun indexes.

kijun's keyword index does more per document (three granularities, four
fields, BM25F in Whoosh), so absolute times alone say little; a ratio against
a known fast library on the same tokens says how much that design costs.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from corpus.records import Document
from indexer.analyzer import tokenize


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
        tokens = [tokenize(t, "C") or [""] for t in document_texts(doc)]
        retriever = bm25s.BM25()
        retriever.index(tokens, show_progress=False)
        return cls(retriever, frozenset(t for doc_tokens in tokens for t in doc_tokens),
                   time.perf_counter() - started)

    def search(self, query: str, k: int = 10) -> list[int]:
        """Indexes of the top documents (tokenising the query included, as in kijun)."""
        words = [t for t in tokenize(query, "C") if t in self.vocab]
        if not words:
            return []
        k = min(k, int(self.retriever.scores["num_docs"]))
        docs, _ = self.retriever.retrieve([words], k=k, show_progress=False)
        return [int(d) for d in docs[0]]
