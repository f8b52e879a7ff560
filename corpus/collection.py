"""One searchable table of several documents: the bundled one and those a team added.

The bundled document keeps its own table (`corpus.documents.document_table`: keys 実26, rev{n}:{id}), so with
no other document nothing changes. Every other document's criterion is a `SearchDocument` keyed by its document
(`mapping:実26`), its passages split from its fields as the bundled ones are (`corpus.passages`), each labelled
by its column's header; a column mapped to a bundled role (`--fields`) is indexed as that role, any other as
what the document says (`aws_status`). A row that says it is the same as another (「対応策は実 4 と同じ」) is
searched with the text it links to, as 実88 is with 実87's. Boilerplate is decided per document: a sentence a
mapping table repeats on most rows says nothing about one criterion *of that table*, and another document's
repeats must not change which of the bundled passages are left out.

A **title list** is not a table of its own: its titles join the criteria of the documents that answer the same
edition (`title` passages: they count in every search, so a criterion that carries only the customer
boilerplate becomes findable by its subject, and they are never quoted as the document's words). An ID no
document of that edition has stands as the title list's own criterion. Titles never cross editions: an ID's
meaning depends on its edition (`corpus.editions`).
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace

from corpus.documents import CRITERION, TITLE, DocumentTable, SearchDocument, document_table, set_apart
from corpus.editions import bundled_edition
from corpus.passages import Passage, boilerplate_keys, split_text
from corpus.records import BUNDLED_ID, BUNDLED_TITLE, TITLE_ROLE, TITLES, Document, UserDocument
from corpus.vocabulary import SERIES

INDEXED_AS: dict[str, str] = {"aws_status": "aws_status", "customer_controls": "customer_controls",
                              "references": "references", TITLE_ROLE: TITLE}
"""A field's role → the searchable field it is indexed as; a field of no role is what the document says of the
criterion (`aws_status`: the column AWS's response fills)."""
SAID = "aws_status"


@dataclass(frozen=True)
class Source:
    """One added document as the table sees it: its records and what names it."""

    id: str
    title: str
    label: str  # short: 「基盤 実26」
    document: UserDocument

    @property
    def edition(self) -> str | None:
        return self.document.edition

    @property
    def is_titles(self) -> bool:
        return self.document.kind == TITLES


def key_of(document: str, criterion_id: str) -> str:
    """The key of an added document's criterion: `mapping:実26` (the bundled document's are its IDs)."""
    return f"{document}:{criterion_id}"


def collection_table(bundled: Document, sources: Sequence[Source]) -> DocumentTable:
    """The bundled document's table (title lists of its edition joined to it), then every other document's
    criteria, then the titles of IDs no document of their edition has. With no source, `document_table`."""
    base = document_table(bundled)
    if not sources:
        return base
    edition = bundled_edition(bundled).edition
    out: list[SearchDocument] = list(base.documents)
    editions: dict[str, str | None] = {BUNDLED_ID: edition}
    for s in sources:
        if not s.is_titles:
            out += _documents(s)
            editions[s.id] = s.edition
    for t in (s for s in sources if s.is_titles):
        out = _with_titles(out, t, editions)
    names = ((BUNDLED_ID, BUNDLED_TITLE), *((s.id, s.title) for s in sources))
    return DocumentTable(tuple(out), _hash(bundled, sources), names)


def _documents(s: Source) -> list[SearchDocument]:
    """One added document's criteria, boilerplate (its own) set apart."""
    doc = s.document
    pieces: list[tuple[str, list[Passage], tuple[str, ...]]] = []
    for r in doc.records:
        passages: list[Passage] = []
        references: list[str] = []
        counts: dict[str, int] = {}
        for f in r.fields:
            text = doc.text_of(r, f.label)
            field = INDEXED_AS.get(f.role, SAID)
            if field == "references":
                references += [line.strip() for line in text.splitlines() if line.strip()]
                continue
            for piece in split_text(text):
                passages.append(Passage(r.id, field, counts.get(field, 0), piece, f.label))
                counts[field] = counts.get(field, 0) + 1
        pieces.append((r.id, passages, tuple(references)))
    boiler = boilerplate_keys([p for _, ps, _ in pieces for p in ps if p.field != TITLE])
    out = []
    for (cid, passages, references), r in zip(pieces, doc.records):
        kept, left_out = set_apart([p for p in passages if p.field != TITLE], boiler)
        titles = tuple(p for p in passages if p.field == TITLE)
        out.append(SearchDocument(key=key_of(s.id, cid), id=cid, kind=CRITERION, series=SERIES.get(cid[:1], ""),
                                  aws_role="", customer_role="", passages=kept + titles, references=references,
                                  boilerplate=left_out, document=s.id, document_title=s.title, same_as=r.same_as))
    return out


def _with_titles(documents: list[SearchDocument], t: Source, editions: dict[str, str | None]) -> list[SearchDocument]:
    """The documents with a title list's titles joined to the criteria of its edition, and its IDs that none of
    them has as criteria of their own."""
    label = t.document.labels[0] if t.document.labels else ""
    titles: dict[str, str] = {}
    for r in t.document.records:
        text = "\n".join(f.text for f in r.fields if f.role == TITLE_ROLE and f.text.strip()) or \
            "\n".join(f.text for f in r.fields if f.text.strip())
        if text.strip():
            titles[r.id] = text.strip()
    out, given = [], set()
    for d in documents:
        if d.kind == CRITERION and d.id in titles and t.edition is not None and editions.get(d.document) == t.edition:
            n = sum(p.field == TITLE for p in d.passages)
            title = Passage(d.id, TITLE, n, titles[d.id], label, t.id)
            d = replace(d, passages=d.passages + (title,), titled_by=d.titled_by + (t.id,))
            given.add(d.id)
        out.append(d)
    for cid, text in titles.items():
        if cid not in given:
            out.append(SearchDocument(key=key_of(t.id, cid), id=cid, kind=CRITERION, series=SERIES.get(cid[:1], ""),
                                      aws_role="", customer_role="",
                                      passages=(Passage(cid, TITLE, 0, text, label),), document=t.id,
                                      document_title=t.title))
    return out


def _hash(bundled: Document, sources: Sequence[Source]) -> str:
    """What the table is built from: the bundled records and every source's records and names."""
    h = hashlib.sha256(bundled.content_hash.encode("ascii"))
    for s in sources:
        record = {"id": s.id, "title": s.title, "label": s.label, "edition": s.edition, "kind": s.document.kind,
                  "records": [r.to_dict() for r in s.document.records]}
        h.update(json.dumps(record, ensure_ascii=False, sort_keys=True).encode("utf-8"))
    return h.hexdigest()
