"""The documents a search reads, loaded from the store: what the engine's table of several documents is built from.

Each added document is read again from its original file (the store keeps nothing derived), and a document that
cannot be read is left out and named (`problems`), never guessed at. The store's `stamp` is taken *before* the
documents are read, so a document added meanwhile makes the stamp differ next time, and is picked up then.
"""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from corpus.collection import Source
from corpus.records import UserDocument
from search.documents.store import DocumentDamaged, DocumentInfo, DocumentStore, UnknownDocument


@dataclass(frozen=True)
class Loaded:
    """The documents read for one search set, and the store's stamp when they were read."""

    stamp: tuple[tuple[str, int, int], ...]
    sources: tuple[Source, ...]  # every added document read, in the order they were added
    infos: tuple[DocumentInfo, ...]  # the bundled document first, then each source's record
    problems: tuple[DocumentDamaged, ...] = ()  # stored documents that could not be read (left out)


def source_of(info: DocumentInfo, records: UserDocument) -> Source:
    """A stored document as the table of several sees it."""
    return Source(info.id, info.title, info.short_label, records)


def load(store: DocumentStore, only: Collection[str] | None = None) -> Loaded:
    """Every document of the store (or only those named: `UnknownDocument` for one it lacks), read."""
    stamp = store.stamp()
    infos = store.documents()
    if only is not None:
        known = {i.id for i in infos}
        for doc_id in only:
            if doc_id not in known:
                raise UnknownDocument(id=doc_id, ids=sorted(known))
    sources: list[Source] = []
    read: list[DocumentInfo] = [infos[0]]
    problems = list(store.problems())
    for info in infos[1:]:
        if only is not None and info.id not in only:
            continue
        try:
            info, records = store.load(info.id)
        except DocumentDamaged as e:
            problems.append(e)
            continue
        sources.append(source_of(info, records))
        read.append(info)
    return Loaded(stamp, tuple(sources), tuple(read), tuple(problems))
