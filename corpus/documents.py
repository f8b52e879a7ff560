"""Searchable documents: the one table both indexes, the engine and the questionnaire rank.

A searchable document is a criterion, or one change-history entry as it concerns
one criterion (an entry about 統20, 統21 and 統24 is three documents, keyed
``rev{n}:{id}``, so 準拠法 finds each of them). Its text is split into passages
(`corpus.passages`), and passages repeated across a large share of criteria
(boilerplate) are set apart: they say nothing about any one criterion, so they
are neither indexed nor embedded, but they stay known for display. Built once per
corpus and handed to every consumer, so what a "document" is is decided here only.
"""
from __future__ import annotations

import hashlib

from collections.abc import Iterator
from dataclasses import dataclass, field

from corpus.passages import Passage, boilerplate_keys, normalize_passage, own_passages, revision_passages
from corpus.records import BUNDLED_ID, BUNDLED_TITLE, Document, document_hash
from corpus.vocabulary import REVISION_SERIES, role_name

CRITERION = "criterion"
REVISION = "revision"
FIELDS = ("aws_status", "customer_controls", "references", "revision", "title")
"""The text fields of a searchable document, in display order. `title` holds a title list's text for the criterion
(corpus.collection): it counts in every search, and is never quoted as the document's own words."""
TITLE = "title"


def revision_key(entry: int, criterion_id: str) -> str:
    """Key of change-history entry number `entry` as it concerns `criterion_id`."""
    return f"rev{entry}:{criterion_id}"


@dataclass(frozen=True)
class SearchDocument:
    """One rankable unit: its identity, its filter values and its passages."""

    key: str  # "実26", or revision_key(n, "統20")
    id: str  # the criterion it is about
    kind: str  # CRITERION | REVISION
    series: str  # 実務基準, 監査基準 … or 変更履歴
    aws_role: str  # "primary" | "info" ("" for revisions)
    customer_role: str
    passages: tuple[Passage, ...]  # boilerplate left out, in display order
    references: tuple[str, ...] = ()
    boilerplate: tuple[Passage, ...] = ()  # the passages left out
    document: str = BUNDLED_ID  # the document it comes from (search.documents.store's ID)
    document_title: str = BUNDLED_TITLE
    same_as: str | None = None  # the criterion whose text it says it shares (実88 → 実87)
    titled_by: tuple[str, ...] = ()  # the title lists whose titles are among its passages

    @property
    def documents(self) -> tuple[str, ...]:
        """Its document and the title lists that gave it a title: what a search within documents matches."""
        return (self.document, *self.titled_by)

    @property
    def written(self) -> tuple[Passage, ...]:
        """Its own passages: those its document wrote (a title list's title left out)."""
        return tuple(p for p in self.passages if not p.document)

    @property
    def title(self) -> Passage | None:
        """The title a title list gives it (the first, when several do), else None."""
        return next((p for p in self.passages if p.field == TITLE), None)

    def label_of(self, field_name: str, passage: str) -> str:
        """The label a passage is shown under: its column's header in another document, else ""."""
        return next((p.label for p in self.passages if p.field == field_name and p.text == passage), "")

    def text(self, field_name: str) -> str:
        """The indexed text of one field (boilerplate left out)."""
        if field_name == "references":
            return "\n".join(self.references)
        return "\n".join(p.text for p in self.passages if p.field == field_name)

    @property
    def display_passages(self) -> tuple[tuple[str, str], ...]:
        """(field, text) of every passage a snippet may quote, references included."""
        return tuple((p.field, p.text) for p in self.passages) + tuple(("references", r) for r in self.references)

    @property
    def text_key(self) -> str:
        """Its whole text (boilerplate included), normalised: equal keys mean identical criteria."""
        return normalize_passage("\n".join(p.text for p in sorted(self.written + self.boilerplate,
                                                                   key=lambda p: (p.field, p.index))))


@dataclass(frozen=True)
class DocumentTable:
    """Every searchable document of one corpus, in a stable order (document numbers)."""

    documents: tuple[SearchDocument, ...]
    corpus_hash: str
    names: tuple[tuple[str, str], ...] = ()  # (ID, title) of each document it was built from ((): its documents')
    _by_key: dict[str, SearchDocument] = field(default_factory=dict, compare=False, repr=False)
    _by_id: dict[str, list[SearchDocument]] = field(default_factory=dict, compare=False, repr=False)
    _same: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        by_text: dict[tuple[str, str], list[str]] = {}
        for d in self.documents:
            if d.key in self._by_key:
                raise ValueError(f"two searchable documents have the key {d.key!r}")
            self._by_key[d.key] = d
            self._by_id.setdefault(d.id, []).append(d)
            if d.kind == CRITERION and d.written:  # identical within one document (two vendors may agree)
                by_text.setdefault((d.document, d.text_key), []).append(d.key)
        for keys in by_text.values():
            if len(keys) > 1:
                self._same.update({k: tuple(keys) for k in keys})

    def __iter__(self) -> Iterator[SearchDocument]:
        return iter(self.documents)

    def __len__(self) -> int:
        return len(self.documents)

    def __getitem__(self, key: str) -> SearchDocument:
        return self._by_key[key]

    def __contains__(self, key: object) -> bool:
        return key in self._by_key

    def same_text(self, key: str) -> tuple[str, ...]:
        """The criteria whose text is identical to this one's, itself included, in document order
        (実57 and 実58; 実88, which refers to 実87); () if it has no twin."""
        return self._same.get(key, ())

    @property
    def keys_hash(self) -> str:
        """Which documents, in which order: an index that numbers them by position fits only a
        table with the same hash (the corpus hash alone misses a change in how the table is made)."""
        return hashlib.sha256("\n".join(d.key for d in self.documents).encode("utf-8")).hexdigest()

    def about(self, criterion_id: str) -> list[SearchDocument]:
        """The documents about one ID: its own (if it is a criterion), then its change-history entries; then
        what other documents say of it, in the order they were added."""
        return list(self._by_id.get(criterion_id, ()))

    @property
    def sources(self) -> tuple[tuple[str, str], ...]:
        """(ID, title) of every document it was built from, the bundled one first (a title list whose every title
        joined another document's criterion included)."""
        return self.names or tuple(dict.fromkeys((d.document, d.document_title) for d in self.documents))


def document_table(doc: Document) -> DocumentTable:
    """Build the table: criteria first (実88 borrows 実87's AWS text), then change-history entries."""
    own = [own_passages(doc, c) for c in doc.criteria]
    pieces = [revision_passages(r) for r in doc.revisions]
    boiler = boilerplate_keys([p for ps in own + pieces for p in ps])  # over `document_passages(doc)`
    by_criterion: dict[str, list[Passage]] = {}
    for c, ps in zip(doc.criteria, own):
        by_criterion.setdefault(c.id, []).extend(ps)
    out: list[SearchDocument] = []
    for c in doc.criteria:
        kept, left_out = set_apart(by_criterion[c.id], boiler)
        out.append(SearchDocument(
            key=c.id, id=c.id, kind=CRITERION, series=c.series, aws_role=role_name(c.aws_role),
            customer_role=role_name(c.customer_role), passages=kept, references=tuple(c.references),
            boilerplate=left_out, same_as=c.same_as))
    for n, (r, rev) in enumerate(zip(doc.revisions, pieces)):
        for cid in r.ids:
            kept, left_out = set_apart([p for p in rev if p.criterion_id == cid], boiler)
            out.append(SearchDocument(
                key=revision_key(n, cid), id=cid, kind=REVISION, series=REVISION_SERIES, aws_role="",
                customer_role="", passages=kept, boilerplate=left_out))
    return DocumentTable(tuple(out), document_hash(doc))


def set_apart(passages: list[Passage], boiler: set[str]) -> tuple[tuple[Passage, ...], tuple[Passage, ...]]:
    """(the passages kept, the boilerplate ones), each in order, in one pass."""
    kept: list[Passage] = []
    left_out: list[Passage] = []
    for p in passages:
        (left_out if p.key in boiler else kept).append(p)
    return tuple(kept), tuple(left_out)
