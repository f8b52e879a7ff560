"""A table keyed by criterion ID — a vendor's response, an architecture team's mapping table, a firm's policy
mapped to criteria — read into one `CriterionText` per ID.

Published FISC mapping tables share a shape: one column of IDs (「実 1」, 「実１」, 「監3」, 「実14-1」), then
one column per thing said about it (common controls | workload controls | what the user must add), often
under a header of two rows merged across columns. So:

- the **ID column** is the one whose cells are mostly IDs (or the one `id_column` names, by header, number
  or letter); the **header** is the nearest row above its first ID with two or more cells (and the row above
  that too, when merged cells or a group title span both); every other column is a **field**, labelled by its
  header as written (two rows: 「対策内容 / 共通統制環境」);
- a row whose ID cell is empty continues the row above (a cell merged down, a long answer in several rows), and
  rows of one ID anywhere in the file are **joined** in order (a table continued on another sheet);
- a cell that says it is the same as another criterion (「対応策は実 4 と同じ」, 「実4と同様」, 「同上」) is
  **linked** to it (`TextField.same_as`), never filled with its text; an ID cell naming several criteria
  (「実57・実58」) gives the first the text and links the others to it;
- a row whose ID cell holds no ID is a heading or note when nothing else is on it (skipped, and said so), and
  refuses the whole file otherwise, naming the row: nothing of a bad file is kept.

JSONL is read here too: one object per criterion, its `id` and its text fields (keys as labels).
"""
from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from corpus.grid import MAX_ROWS, Grid, fold, where
from corpus.records import (DITTO, ROLE_HEADERS, ROLES, TITLE_ROLE, TITLES, CriterionText, DocumentError,
                            TextField, UserDocument, link_of)
from corpus.userfile import MAX_CELL_CHARS
from corpus.vocabulary import ids_in, normalize_id, strip_ids
from messages import Message

HEADER_SCAN_ROWS = 30  # the header and the first IDs are found within a table's first rows
ID_SHARE = 0.5  # the ID column: at least this share of its non-empty cells below the header are IDs
MAX_LISTED = 10  # a warning lists at most this many rows or IDs
_ID_SEPARATORS = re.compile(r"[\s、,，・/／&＆]|及び|および|and", re.IGNORECASE)
_NOTE = re.compile(r"^[(（\[【][^)）\]】]*[)）\]】]$")


def cell_ids(text: str) -> list[str]:
    """The IDs an ID cell names — 「実 1」, 「実１４－１」, 「実57・実58」, 「実26（新設）」 — or [] when the cell holds
    anything but IDs, separators and a bracketed note."""
    if not text.strip():
        return []
    one = normalize_id(text)
    if one:
        return [one]
    ids = ids_in(text)
    rest = _ID_SEPARATORS.sub("", strip_ids(unicodedata.normalize("NFKC", text)))
    return ids if ids and (not rest or _NOTE.match(rest)) else []


# ----------------------------------------------------------------- options


@dataclass(frozen=True)
class Options:
    """How a person asked the table to be read: which column holds the IDs, and which columns stand for which
    of the bundled document's roles (column → role: 'AWSの対応状況' → 'aws_status', 'C' → 'references')."""

    id_column: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)
    kind: str = "table"


def parse_fields(spec: str | Sequence[str] | None) -> dict[str, str]:
    """'AWSの対応状況=aws_status, 参照=references' (or several such options) → {column: role}. The role may be
    written as its name (aws_status, customer_controls, references, title) or the bundled document's header
    for it (AWSの対応状況); `=`, `:` and `→` all separate a column from its role."""
    parts = [spec] if isinstance(spec, str) else list(spec or ())
    out: dict[str, str] = {}
    for part in parts:
        for item in re.split(r"[,;、\n]", part):
            if not item.strip():
                continue
            m = re.match(r"^(.*?)\s*(?:=|→|->|:|：)\s*([^=→:：]+)$", item.strip())
            if not m or not m.group(1).strip():
                raise DocumentError("document_fields_syntax", item=item.strip(), roles=list(ROLES))
            out[m.group(1).strip()] = role_of(m.group(2))
    return out


def role_of(name: str) -> str:
    """A role as a person writes it → its name; DocumentError listing the roles otherwise."""
    folded = fold(name)
    for role in ROLES:
        if folded in (role, fold(ROLE_HEADERS.get(role, role))):
            return role
    if folded in ("タイトル", "表題", "件名", "title"):
        return TITLE_ROLE
    raise DocumentError("document_unknown_role", role=name.strip(), roles=list(ROLES))


# ----------------------------------------------------------------- grids → records


@dataclass
class _Pending:
    """One criterion's cells while the file is read: per label, its parts in order."""

    id: str
    parts: dict[str, list[str]] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)  # label → the ID its first cell links to
    lines: list[int] = field(default_factory=list)
    alias_of: str | None = None  # named in the same ID cell as another criterion (実58 of 「実57・実58」)


@dataclass(frozen=True)
class _Layout:
    """Where one grid's table is: its ID column, its header rows, its first ID row, its field columns."""

    id_column: int
    header: tuple[int, ...]  # header row indexes, top first; () for a table without one
    first: int  # the first body row
    labels: dict[int, str]  # field column → label


def read_table(grids: Sequence[Grid], filename: str, document_id: str, options: Options = Options()) -> UserDocument:
    """The records of a table keyed by criterion ID (every grid of the file: sheets, Markdown tables)."""
    warns: list[Message] = []
    pending: dict[str, _Pending] = {}
    order: list[str] = []
    labels: list[str] = []
    roles: dict[str, str] = {}
    skipped: list[Message] = []
    ignored: list[str] = []
    layouts = []
    for grid in grids:
        layout = _layout(grid, options.id_column)
        if layout is None:
            if grid.sheet is not None:
                ignored.append(grid.sheet)
            continue
        layouts.append((grid, layout))
    if not layouts:
        if options.id_column:
            raise DocumentError("document_id_column_not_found", filename=filename, column=options.id_column)
        raise DocumentError("document_no_id_column", filename=filename)
    found: set[str] = set()
    for grid, layout in layouts:
        for c, label in layout.labels.items():
            if label not in labels:
                labels.append(label)
        for spec, role in options.fields.items():
            c = _column(spec, grid, layout)
            if c is not None:
                found.add(spec)
                roles.setdefault(layout.labels[c], role)
        if not layout.header:
            warns.append(Message("document_headerless", {"at": grid.where(layout.first)}))
        _read_rows(grid, layout, pending, order, skipped, filename)
    unknown = [spec for spec in options.fields if spec not in found]
    if unknown:
        raise DocumentError("document_unknown_column", filename=filename, column=unknown[0],
                            names=[f"「{label}」" for label in labels] or ["-"])
    taken: dict[str, str] = {}
    for label, role in roles.items():
        if role in taken:
            raise DocumentError("document_role_twice", role=role, columns=[f"「{taken[role]}」", f"「{label}」"])
        taken[role] = label
    for label in labels:  # a column headed exactly as the bundled document's column is that role
        role = next((r for r, header in ROLE_HEADERS.items() if fold(header) == fold(label)), None)
        if role and role not in taken and label not in roles:
            roles[label] = taken[role] = role
    if options.kind == TITLES and TITLE_ROLE not in taken and labels:
        roles[_title_label(labels, pending)] = TITLE_ROLE
    records = _records(pending, order, labels, roles, document_id)
    warns += _notes(pending, order, skipped, ignored)
    return UserDocument(document_id, options.kind, records, tuple(labels), warnings=tuple(warns))


_TITLE_HEADER = re.compile(r"タイトル|表題|件名|名称|見出し|概要|要旨|title|summary", re.IGNORECASE)


def _title_label(labels: Sequence[str], pending: Mapping[str, _Pending]) -> str:
    """A title list's title column, unless `--fields` named one: the first headed as a title (タイトル, 表題,
    概要, title…), else the first whose cells are not all numbers (a 'No.' column is not a title)."""
    headed = next((label for label in labels if _TITLE_HEADER.search(label)), None)
    if headed:
        return headed
    for label in labels:
        values = [v for p in pending.values() for v in p.parts.get(label, ())]
        if values and not all(re.fullmatch(r"[\d.\s-]+", v) for v in values):
            return label
    return labels[0]


def _layout(grid: Grid, id_column: str | None) -> _Layout | None:
    """Where the table is on this grid, or None when no column holds criterion IDs."""
    if grid.separator is not None:  # Markdown: the header is the row above the '|---|' line
        h = grid.separator
        c = _given_column(id_column, grid, h) if id_column else _id_column(grid, h + 1)
        return None if c is None else _Layout(c, (h,), h + 1, _labels(grid, (h,), c, h + 1))
    named = _find_named(grid, id_column) if id_column and _is_name(id_column) else None
    if id_column and _is_name(id_column) and named is None:
        return None
    c = _given_column(id_column, grid, named) if id_column else _id_column(grid, 0)
    if c is None:
        return None
    start = named + 1 if named is not None else 0
    first_id = next((r for r in range(start, len(grid.rows)) if cell_ids(grid.cell(r, c))), None)
    if first_id is None:
        return None
    h = named if named is not None else next(
        (r for r in range(first_id - 1, max(first_id - HEADER_SCAN_ROWS, 0) - 1, -1)
         if sum(1 for v in grid.rows[r] if v) >= 2), None)
    if h is None:
        return _Layout(c, (), first_id, _labels(grid, (), c, first_id))
    header = (h - 1, h) if _two_row_header(grid, h, c) else (h,)
    return _Layout(c, header, h + 1, _labels(grid, header, c, h + 1))


def _id_column(grid: Grid, start: int) -> int | None:
    """The column whose cells are mostly IDs (the most IDs; the leftmost of equals), or None."""
    best: tuple[int, int] | None = None
    for c in range(grid.width):
        values = [grid.cell(r, c) for r in range(start, len(grid.rows))]
        ids = sum(1 for v in values if cell_ids(v))
        filled = sum(1 for v in values if v)
        if ids and ids >= ID_SHARE * max(filled - 2, 1) and (best is None or ids > best[0]):  # a header or two
            best = (ids, c)
    return best[1] if best else None


def _is_name(column: str) -> bool:
    return not re.fullmatch(r"\s*(\d+|[A-Za-z]{1,3})\s*", column)


def _find_named(grid: Grid, name: str) -> int | None:
    for r in range(min(len(grid.rows), HEADER_SCAN_ROWS)):
        if any(fold(v) == fold(name) for v in grid.rows[r]):
            return r
    return None


def _given_column(column: str, grid: Grid, header_row: int | None) -> int | None:
    """The column `--id-column` names: its header's text (on the header row), its number (1 = first) or letter."""
    spec = column.strip()
    if spec.isdecimal():
        return int(spec) - 1 if 1 <= int(spec) <= max(grid.width, 1) else None
    if re.fullmatch(r"[A-Za-z]{1,3}", spec):
        from openpyxl.utils import column_index_from_string

        n = column_index_from_string(spec.upper())
        return n - 1 if n <= max(grid.width, 1) else None
    if header_row is None:
        return None
    return next((c for c, v in enumerate(grid.rows[header_row]) if fold(v) == fold(spec)), None)


def _column(spec: str, grid: Grid, layout: _Layout) -> int | None:
    """The field column a `--fields` entry names on this grid: its label, one row of a two-row header, its
    number or its letter."""
    if not _is_name(spec):
        c = _given_column(spec, grid, None)
        return c if c in layout.labels else None
    for c, label in layout.labels.items():
        if fold(label) == fold(spec) or any(fold(part) == fold(spec) for part in label.split(" / ")):
            return c
    return None


def _two_row_header(grid: Grid, h: int, id_col: int) -> bool:
    """Does the header take the row above it too? In a workbook, when a merged range spans both rows, or the
    upper row holds a group title merged over some columns (not a title over the whole table: it covers the
    ID column too, and is the only thing on its row). In a CSV, where merges are lost, when the upper row
    names two or more columns and the two rows each leave columns to the other."""
    if h == 0 or not any(grid.rows[h - 1]):
        return False
    upper, lower = grid.rows[h - 1], grid.rows[h]
    if grid.merges:
        if any(r0 <= h - 1 and r1 >= h for r0, c0, r1, c1 in grid.merges):
            return True
        groups = [(c0, c1) for r0, c0, r1, c1 in grid.merges if r0 == r1 == h - 1 and c1 > c0]
        distinct = {v for v in upper if v}
        return bool(groups) and (len(distinct) >= 2 or any(not c0 <= id_col <= c1 for c0, c1 in groups))
    named = [c for c, v in enumerate(upper) if v]
    if len(named) < 2 or any(len(v) > 40 for v in upper if v):
        return False
    width = max(len(upper), len(lower))
    return any(not grid.cell(h, c) and grid.cell(h - 1, c) for c in range(width)) and \
        any(grid.cell(h, c) and not grid.cell(h - 1, c) for c in range(width))


def _labels(grid: Grid, header: tuple[int, ...], id_col: int, first: int) -> dict[int, str]:
    """Field column → its label: the header's cells top to bottom (merged cells read as their first cell, a
    group title carried right over its sub-headers), the repeats dropped, joined by ' / '; a column without
    a header is named by its letter (「D列」). Columns with neither a header nor any text are left out."""
    from openpyxl.utils import get_column_letter

    width = max([grid.width] + [len(grid.rows[r]) for r in header])
    filled: dict[tuple[int, int], str] = {}
    for r0, c0, r1, c1 in grid.merges:
        value = grid.cell(r0, c0)
        for r in range(r0, r1 + 1):
            for c in range(c0, c1 + 1):
                filled[(r, c)] = value
    rows: list[list[str]] = []
    for k, r in enumerate(header):
        row = [filled.get((r, c), grid.cell(r, c)) for c in range(width)]
        if k < len(header) - 1 and not grid.merges:  # a CSV's group title spans the sub-headers after it
            for c in range(1, width):
                if not row[c] and grid.cell(header[-1], c) and row[c - 1] and grid.cell(header[-1], c - 1):
                    row[c] = row[c - 1]
        rows.append(row)
    out: dict[int, str] = {}
    used: set[str] = set()
    for c in range(width):
        if c == id_col:
            continue
        parts = list(dict.fromkeys(row[c] for row in rows if row[c]))
        label = " / ".join(p.replace("\n", " ") for p in parts)
        if not label:
            if not any(grid.cell(r, c) for r in range(first, len(grid.rows))):
                continue
            label = f"{get_column_letter(c + 1)}列"
        unique, n = label, 2
        while unique in used:
            unique, n = f"{label} ({n})", n + 1
        used.add(unique)
        out[c] = unique
    return out


def _read_rows(grid: Grid, layout: _Layout, pending: dict[str, _Pending], order: list[str], skipped: list[Message],
               filename: str) -> None:
    """Each body row into the pending records: a new ID, a continuation, a heading, or a refusal."""
    c = layout.id_column
    header_id = fold(grid.cell(layout.header[-1], c)) if layout.header else None
    header_values = {fold(grid.cell(layout.header[-1], k)) for k in layout.labels} if layout.header else set()
    current: list[_Pending] = []
    previous: _Pending | None = None
    for r in range(layout.first, len(grid.rows)):
        id_cell = grid.cell(r, c)
        cells = {k: grid.cell(r, k) for k in layout.labels}
        text = any(cells.values())
        if not id_cell and not text:
            continue
        ids = cell_ids(id_cell)
        if id_cell and not ids:
            if header_id is not None and fold(id_cell) == header_id and \
                    {fold(v) for v in cells.values() if v} <= header_values:
                continue  # the header again: a table continued on a new page
            if text:
                raise DocumentError("document_not_an_id", filename=filename, where=grid.where(r), value=id_cell[:40])
            skipped.append(grid.where(r))
            continue
        if ids:
            current = []
            for k, cid in enumerate(ids):
                p = pending.get(cid)
                if p is None:
                    p = pending[cid] = _Pending(cid)
                    order.append(cid)
                if k:
                    p.alias_of = p.alias_of or ids[0]
                current.append(p)
        if not current:
            continue
        head = current[0]
        head.lines.append(grid.numbers[r])
        for p in current[1:]:
            p.lines.append(grid.numbers[r])
        for k, value in cells.items():
            if not value:
                continue
            label = layout.labels[k]
            if unicodedata.normalize("NFKC", value).strip() in DITTO and previous is not None \
                    and previous is not head and label not in head.parts:
                head.links.setdefault(label, previous.id)
            elif label not in head.parts and (target := link_of(value)) and target != head.id:
                head.links.setdefault(label, target)
            head.parts.setdefault(label, []).append(value)
        if ids:
            previous = head


def _records(pending: dict[str, _Pending], order: list[str], labels: list[str], roles: Mapping[str, str],
             document_id: str) -> tuple[CriterionText, ...]:
    out = []
    for cid in order:
        p = pending[cid]
        if p.alias_of is not None and not p.parts:  # 実58 of 「実57・実58」: linked, not copied
            fields = tuple(TextField(label, "", roles.get(label, ""), p.alias_of) for label in labels
                           if pending[p.alias_of].parts.get(label))
        else:
            fields = tuple(TextField(label, "\n".join(p.parts[label]), roles.get(label, ""), p.links.get(label))
                           for label in labels if label in p.parts)
        out.append(CriterionText(document_id, cid, fields, tuple(p.lines)))
    return tuple(out)


def _notes(pending: dict[str, _Pending], order: list[str], skipped: list[Message], ignored: list[str]) -> list[Message]:
    """What reading found worth saying: rows joined, rows skipped, links to IDs the document lacks, sheets
    without a table."""
    notes: list[Message] = []
    joined = [f"{cid} ({', '.join(str(n) for n in pending[cid].lines)})" for cid in order
              if pending[cid].alias_of is None and _separate(pending[cid].lines)]
    if joined:
        notes.append(Message("document_rows_joined", {"n": len(joined), "ids": _listed(joined)}))
    if skipped:
        notes.append(Message("document_rows_skipped", {"n": len(skipped), "rows": _listed(skipped)}))
    dangling = [f"{cid} → {target}" for cid in order for target in dict.fromkeys(pending[cid].links.values())
                if target not in pending]
    if dangling:
        notes.append(Message("document_link_missing", {"n": len(dangling), "links": _listed(dangling)}))
    for sheet in ignored:
        notes.append(Message("document_sheet_ignored", {"sheet": sheet}))
    return notes


def _separate(lines: list[int]) -> bool:
    """Rows of one ID that are not one block (a row continued by the rows right under it is not news)."""
    return any(b != a + 1 for a, b in zip(lines, lines[1:]))


def _listed(items: Sequence[str | Message]) -> list[str | Message]:
    return list(items[:MAX_LISTED]) + ([f"… (+{len(items) - MAX_LISTED})"] if len(items) > MAX_LISTED else [])


# ----------------------------------------------------------------- JSONL


def read_jsonl(text: str, filename: str, document_id: str, options: Options = Options()) -> UserDocument:
    """One JSON object per line: `id` (any spelling of an ID) and text fields (a string, or a list of strings
    joined by line breaks); `same_as` links the whole criterion to another. Keys are the fields' labels."""
    pending: dict[str, _Pending] = {}
    order: list[str] = []
    labels: list[str] = []
    row_links: dict[str, str] = {}
    n = 0
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if len(order) >= MAX_ROWS:
            raise DocumentError("document_too_many_rows", filename=filename, limit=MAX_ROWS)
        at = where(n, line=True)
        try:
            obj = json.loads(line)
        except ValueError as e:
            raise DocumentError("document_jsonl_line", filename=filename, where=at, reason=str(e)) from None
        if not isinstance(obj, dict):
            raise DocumentError("document_jsonl_line", filename=filename, where=at, reason="not a JSON object")
        key = next((k for k in obj if k.lower() == "id"), None)
        if key is None:
            raise DocumentError("document_jsonl_no_id", filename=filename, where=at)
        raw = obj.pop(key)
        cid = normalize_id(raw) if isinstance(raw, str) else None
        if cid is None:
            raise DocumentError("document_not_an_id", filename=filename, where=at, value=str(raw)[:40])
        link = obj.pop("same_as", None)
        if link is not None:
            target = normalize_id(link) if isinstance(link, str) else None
            if target is None:
                raise DocumentError("document_not_an_id", filename=filename, where=at, value=str(link)[:40])
            row_links[cid] = target
        p = pending.get(cid)
        if p is None:
            p = pending[cid] = _Pending(cid)
            order.append(cid)
        p.lines.append(n)
        for label, value in obj.items():
            if value is None:
                continue
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                value = "\n".join(value)
            elif isinstance(value, (int, float, bool)):
                value = str(value)
            elif not isinstance(value, str):
                raise DocumentError("document_jsonl_value", filename=filename, where=at, key=label)
            if len(value) > MAX_CELL_CHARS:
                raise DocumentError("document_cell_too_long", filename=filename, where=at, length=len(value),
                                    limit=MAX_CELL_CHARS)
            if not value.strip():
                continue
            if label not in labels:
                labels.append(label)
            if label not in p.parts and (target := link_of(value)) and target != cid:
                p.links.setdefault(label, target)
            p.parts.setdefault(label, []).append(value.strip())
    if not order:
        raise DocumentError("document_empty", filename=filename)
    roles: dict[str, str] = {}
    for spec, role in options.fields.items():
        label = next((lb for lb in labels if fold(lb) == fold(spec)), None)
        if label is None:
            raise DocumentError("document_unknown_column", filename=filename, column=spec,
                                names=[f"「{lb}」" for lb in labels])
        roles[label] = role
    for label in labels:  # a key named as a role (aws_status) or headed as the bundled column is that role
        role = label if label in ROLES else next((r for r, h in ROLE_HEADERS.items() if fold(h) == fold(label)), None)
        if role and role not in roles.values() and label not in roles:
            roles[label] = role
    if options.kind == TITLES and TITLE_ROLE not in roles.values() and labels:
        roles[_title_label(labels, pending)] = TITLE_ROLE
    for cid, target in row_links.items():
        for label in labels:
            pending[cid].links.setdefault(label, target)
            pending[cid].parts.setdefault(label, [])
    records = tuple(CriterionText(document_id, cid, tuple(
        TextField(label, "\n".join(pending[cid].parts[label]), roles.get(label, ""), pending[cid].links.get(label))
        for label in labels if label in pending[cid].parts), tuple(pending[cid].lines)) for cid in order)
    return UserDocument(document_id, options.kind, records, tuple(labels),
                        warnings=tuple(_notes(pending, order, [], [])))
