"""Hits of several documents grouped under their criterion ID.

When several documents are searched, one criterion may be found in each of them (AWS's 実26, the mapping
table's 実26, another vendor's 実26). A result lists each criterion once: the best-ranked document's passage
leads, and the others are one click away (`Hit.also_in`). Change-history entries are never grouped (an entry
about 実26 is a hit of its own, as with one document), and with one document nothing is grouped at all, so
its results are what they were.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from corpus.documents import CRITERION, DocumentTable

DEPTH_PER_LIMIT = 2  # a search ranks 2·limit documents: room for identical criteria folded away
MAX_DEPTH_DOCUMENTS = 25  # … times the documents loaded (each may hold every criterion), at most this many


@dataclass(frozen=True)
class AlsoIn:
    """The same criterion in another document of the result: its passage, behind the leading one."""

    document: str
    document_title: str
    key: str
    score: float
    field: str
    label: str  # the passage's column header in that document ("": the bundled label of `field`)
    snippet: str
    highlights: tuple[tuple[int, int], ...]

    def to_dict(self) -> dict[str, Any]:
        return {"document": self.document, "document_title": self.document_title, "key": self.key,
                "score": self.score, "field": self.field, "label": self.label, "snippet": self.snippet,
                "highlights": [list(h) for h in self.highlights]}


def depth(limit: int, documents: int) -> int:
    """How many ranked documents a search looks at to fill `limit` groups."""
    return DEPTH_PER_LIMIT * limit * max(1, min(documents, MAX_DEPTH_DOCUMENTS))


def grouped(order: Sequence[int], table: DocumentTable, twins_of: Callable[[int], tuple[str, ...]],
            position: Callable[[str], int], limit: int) -> list[tuple[int, tuple[str, ...], tuple[int, ...]]]:
    """The first `limit` hits as (document number, identical criteria folded into it, the same criterion's
    documents elsewhere, best first). `twins_of(n)`: the keys of criteria of identical text in n's document
    that the search may list (they are folded as with one document)."""
    taken: set[int] = set()
    leads: dict[str, int] = {}  # criterion ID → its group's index
    out: list[tuple[int, tuple[str, ...], list[int]]] = []
    for n in order:
        if n in taken:
            continue
        d = table.documents[n]
        at = leads.get(d.id) if d.kind == CRITERION else None
        if at is not None:
            out[at][2].append(n)
            taken.add(n)
            continue
        if len(out) == limit:
            continue  # a group already listed may still gather its other documents
        twins = twins_of(n)
        taken.add(n)
        taken.update(position(k) for k in twins)
        if d.kind == CRITERION:
            leads[d.id] = len(out)
        out.append((n, twins, []))
    return [(n, twins, tuple(also)) for n, twins, also in out]


def ranking(order: Sequence[int], table: DocumentTable) -> tuple[str, ...]:
    """The IDs in rank order, each criterion once (its best document's place); change-history entries as they
    are (what `kijun eval` scores: with one document, `order`'s IDs unchanged)."""
    seen: set[str] = set()
    out = []
    for n in order:
        d = table.documents[n]
        if d.kind == CRITERION:
            if d.id in seen:
                continue
            seen.add(d.id)
        out.append(d.id)
    return tuple(out)
