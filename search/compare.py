"""Two documents compared criterion by criterion: who addresses it, who leaves it to the customer, who says nothing.

For each criterion ID either document has, each side is one of:

- **addresses** (記述あり): the document says something of its own for it (a title list: its title);
- **customer** (お客様に委ねる): it carries only its boilerplate — the sentence it repeats on a large share of its
  criteria (`corpus.passages.boilerplate_keys`, per document), such as the bundled document's 「お客様がAWS上で
  実装するシステムおよびサービスの管理は…お客様にて実施します。」;
- **nothing** (記述なし): it has no row for the ID.

Where both address it, how alike their texts are (the character 5-gram Jaccard the duplicate finder uses) says
where they differ. Exported as XLSX, one row per criterion, written whole.
"""
from __future__ import annotations

import io
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from corpus.documents import CRITERION, TITLE, DocumentTable, SearchDocument
from corpus.duplicates import DEFAULT_THRESHOLD, jaccard, shingles
from corpus.collection import Source
from corpus.editions import Editions, bundled_edition, edition_label
from corpus.records import BUNDLED_ID, ROLE_HEADERS, Document
from corpus.vocabulary import id_sort_key
from messages import Explained, Message

ADDRESSES, CUSTOMER, NOTHING = "addresses", "customer", "nothing"
STATUSES = (ADDRESSES, CUSTOMER, NOTHING)
STATUS_LABELS = {ADDRESSES: "記述あり", CUSTOMER: "お客様に委ねる（定型文のみ）", NOTHING: "記述なし"}
SAME = DEFAULT_THRESHOLD  # texts at least this alike (Jaccard of character 5-grams) say the same
XLSX_HEADER = ("基準番号", "{a}: 状態", "{a}: 記述", "{b}: 状態", "{b}: 記述", "類似度", "相違")


class CompareError(Explained, ValueError):
    """Two documents that cannot be compared as asked."""

    code = "compare_same_document"


@dataclass(frozen=True)
class Side:
    """What one document says of one criterion."""

    status: str  # ADDRESSES | CUSTOMER | NOTHING
    text: str  # its own text (for CUSTOMER: the boilerplate it carries), as written
    key: str | None = None  # its searchable document's key (None: nothing)

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "text": self.text, "key": self.key}


@dataclass(frozen=True)
class Row:
    id: str
    a: Side
    b: Side
    similarity: float | None = None  # both address it: how alike their texts are

    @property
    def differ(self) -> bool:
        """Do they say different things? (both address it, less alike than SAME; or one addresses it alone)"""
        if self.a.status == ADDRESSES and self.b.status == ADDRESSES:
            return self.similarity is not None and self.similarity < SAME
        return self.a.status != self.b.status

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "a": self.a.to_dict(), "b": self.b.to_dict(),
                "similarity": None if self.similarity is None else round(self.similarity, 4), "differ": self.differ}


@dataclass(frozen=True)
class Comparison:
    a: tuple[str, str]  # (document ID, title)
    b: tuple[str, str]
    rows: tuple[Row, ...]

    def counts(self) -> dict[str, int]:
        """How many criteria fall under each (status of a, status of b), as "addresses/customer"."""
        return dict(Counter(f"{r.a.status}/{r.b.status}" for r in self.rows))

    def where(self, a: str, b: str) -> list[Row]:
        """The rows where document a is `a` and document b is `b` (e.g. CUSTOMER, ADDRESSES)."""
        return [r for r in self.rows if r.a.status == a and r.b.status == b]

    def to_dict(self) -> dict[str, Any]:
        return {"a": {"id": self.a[0], "title": self.a[1]}, "b": {"id": self.b[0], "title": self.b[1]},
                "counts": self.counts(), "rows": [r.to_dict() for r in self.rows]}

    def xlsx(self) -> bytes:
        """The comparison as a workbook: one row per criterion, every text cell text (never a formula)."""
        from openpyxl import Workbook
        from openpyxl.styles import Alignment, Font

        wb = Workbook()
        ws = wb.active
        ws.title = "比較"
        header = [h.format(a=self.a[0], b=self.b[0]) for h in XLSX_HEADER]
        rows: list[list[Any]] = [header] + [
            [r.id, STATUS_LABELS[r.a.status], r.a.text, STATUS_LABELS[r.b.status], r.b.text,
             None if r.similarity is None else round(r.similarity, 3), "相違あり" if r.differ else ""]
            for r in self.rows]
        for n, values in enumerate(rows, start=1):
            for c, value in enumerate(values, start=1):
                cell = ws.cell(n, c, value)
                if isinstance(value, str):
                    cell.data_type = "s"  # never a formula, whatever the text starts with
                cell.alignment = Alignment(wrap_text=True, vertical="top")
                if n == 1:
                    cell.font = Font(bold=True)
        for letter, width in zip("ABCDEFG", (10, 16, 60, 16, 60, 8, 10)):
            ws.column_dimensions[letter].width = width
        ws.freeze_panes = "B2"
        buf = io.BytesIO()
        wb.save(buf)
        return buf.getvalue()


def compare(table: DocumentTable, a: str, b: str) -> Comparison:
    """Documents `a` and `b` (their IDs in `table`) side by side, one row per criterion either has, in ID order.
    CompareError when they are the same or one is not loaded."""
    titles = dict(table.sources)
    for doc_id in (a, b):
        if doc_id not in titles:
            raise CompareError("compare_unknown_document", id=doc_id, ids=list(titles))
    if a == b:
        raise CompareError("compare_same_document", id=a)
    sides = {a: _sides(table, a), b: _sides(table, b)}
    ids = sorted(set(sides[a]) | set(sides[b]), key=id_sort_key)
    rows = []
    for cid in ids:
        sa, sb = (sides[x].get(cid, Side(NOTHING, "")) for x in (a, b))
        similarity = jaccard(shingles(sa.text), shingles(sb.text)) if sa.status == sb.status == ADDRESSES else None
        rows.append(Row(cid, sa, sb, similarity))
    return Comparison((a, titles[a]), (b, titles[b]), tuple(rows))


def _sides(table: DocumentTable, document: str) -> dict[str, Side]:
    out: dict[str, Side] = {}
    for d in table:
        if d.kind != CRITERION:
            continue
        if d.document == document:
            out[d.id] = _side(d)
        elif document in d.titled_by:  # a title list's title, joined to another document's criterion
            out[d.id] = Side(ADDRESSES, "\n".join(p.text for p in d.passages if p.field == TITLE and
                                                  p.document == document), d.key)
    return out


def _side(d: SearchDocument) -> Side:
    own = "\n".join(p.text for p in d.written)
    if own.strip() or d.references:
        return Side(ADDRESSES, own or "\n".join(d.references), d.key)
    titles = "\n".join(p.text for p in d.passages if p.field == TITLE)
    if not d.boilerplate and titles:  # a title list's own criterion
        return Side(ADDRESSES, titles, d.key)
    if d.boilerplate:
        return Side(CUSTOMER, "\n".join(dict.fromkeys(p.text for p in d.boilerplate)), d.key)
    return Side(NOTHING, "", d.key)


# ----------------------------------------------------------------- one criterion, every document

TITLE_LABEL = "タイトル"


@dataclass(frozen=True)
class Column:
    """What one document says of one criterion, as its page shows it: each field under its label."""

    document: str
    title: str
    status: str  # ADDRESSES | CUSTOMER | NOTHING
    fields: tuple[tuple[str, str], ...]  # (label, text), in the document's order; boilerplate included
    key: str | None = None
    edition: str | None = None

    @property
    def edition_label(self) -> str:
        return edition_label(self.edition)

    def to_dict(self) -> dict[str, Any]:
        return {"document": self.document, "title": self.title, "status": self.status, "key": self.key,
                "edition": self.edition, "fields": [{"label": label, "text": text} for label, text in self.fields]}


def columns(table: DocumentTable, criterion_id: str, editions: Mapping[str, str | None] = {},
            title_lists: Collection[str] = ()) -> list[Column]:
    """Every loaded document's text for one ID, in table order (the bundled document first); a document without
    it says so (NOTHING). A title list (`title_lists`) has a column only where the ID is its own (elsewhere its
    title is a field of the criterion it names, or it has none)."""
    found = {d.document: d for d in table.about(criterion_id) if d.kind == CRITERION}
    out = []
    for doc_id, title in table.sources:
        if doc_id in title_lists and doc_id not in found:
            continue
        d = found.get(doc_id)
        if d is None:
            out.append(Column(doc_id, title, NOTHING, (), None, editions.get(doc_id)))
            continue
        out.append(Column(doc_id, title, _side(d).status, _fields(d), d.key, editions.get(doc_id)))
    return out


def _fields(d: SearchDocument) -> tuple[tuple[str, str], ...]:
    """(label, text) of a criterion's passages, boilerplate in its place, one entry per label."""
    by_label: dict[str, list[str]] = {}
    for p in sorted(d.passages + d.boilerplate, key=lambda p: (p.field == TITLE, _order(p.field), p.index)):
        label = p.label or (TITLE_LABEL if p.field == TITLE else ROLE_HEADERS.get(p.field, p.field))
        by_label.setdefault(label, []).append(p.text)
    if d.references:
        by_label.setdefault(ROLE_HEADERS["references"], []).extend(d.references)
    return tuple((label, "\n".join(texts)) for label, texts in by_label.items())


def _order(field: str) -> int:
    return list(ROLE_HEADERS).index(field) if field in ROLE_HEADERS else len(ROLE_HEADERS)


def edition_note(editions: Editions, criterion_id: str) -> Message | None:
    """What a page says of an ID that some editions known here have and others lack (実14-1: the 13th edition's,
    not the 9th's), or None when every edition known has it (or only one edition is known and has it)."""
    known = editions.known
    having = [e for e in known if criterion_id in _ids(editions, e)]
    lacking = [e for e in known if e not in having]
    if not lacking:
        return None
    if not having:
        return Message("criterion_in_no_edition", {"id": criterion_id, "editions": [edition_label(e) for e in lacking]})
    return Message("criterion_in_some_editions", {"id": criterion_id, "having": [edition_label(e) for e in having],
                                                  "lacking": [edition_label(e) for e in lacking]})


def _ids(editions: Editions, edition: str) -> frozenset[str]:
    known = editions.ids(edition)
    return known.ids if known is not None else frozenset()


def editions_of(bundled: Document, sources: Sequence[Source]) -> tuple[Editions, dict[str, str | None]]:
    """(which IDs each known edition has, each loaded document's edition): the bundled document's edition and
    the title lists'."""
    lists = {s.id: (s.edition, s.document.ids) for s in sources if s.is_titles}
    return Editions.of(bundled, BUNDLED_ID, lists), {BUNDLED_ID: bundled_edition(bundled).edition} | {
        s.id: s.edition for s in sources}
