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
from dataclasses import dataclass
from typing import Any

from corpus.documents import CRITERION, TITLE, DocumentTable, SearchDocument
from corpus.duplicates import DEFAULT_THRESHOLD, jaccard, shingles
from corpus.vocabulary import id_sort_key
from messages import Explained

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
