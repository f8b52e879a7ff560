"""A document's file as grids of text cells: a CSV/TSV, each visible sheet of a workbook, each pipe table of a
Markdown file — before anything knows which column holds the criterion IDs (`corpus.tables` decides).

Every reader keeps where each row came from (the row a spreadsheet shows, the line of a Markdown file) so a
message can name it, and bounds its work by the limits every user's file has (`corpus.userfile`): the file's
size, an .xlsx's package, cells, columns, Excel's cell length, and rows.
"""
from __future__ import annotations

import csv
import io
import re
import unicodedata
import warnings
from dataclasses import dataclass
from typing import Any

from corpus.records import DocumentError
from corpus.userfile import (MAX_CELL_CHARS, MAX_CELLS, MAX_COLUMNS, MAX_FILE_BYTES, OLE2_MAGIC, ZIP_MAGIC,
                             FileRefused, check_package, decode_text)
from messages import Message

MAX_ROWS = 5_000
"""Rows of one document, all its sheets or tables together: a criteria table has one to a few per criterion
(153 in the bundled edition), so this bounds the work, not a real table."""

CSV, XLSX, MARKDOWN, JSONL, PLAIN = "csv", "xlsx", "markdown", "jsonl", "text"
SUFFIXES: dict[str, str] = {".csv": CSV, ".tsv": CSV, ".xlsx": XLSX, ".xlsm": XLSX, ".md": MARKDOWN,
                            ".markdown": MARKDOWN, ".jsonl": JSONL, ".json": JSONL, ".txt": PLAIN}
"""A file's name ending → the format it is read as."""


@dataclass(frozen=True)
class Grid:
    """One table-like region of a file, as rows of text cells (stripped; '' for an empty cell)."""

    rows: tuple[tuple[str, ...], ...]
    numbers: tuple[int, ...]  # each row's 1-based row (a sheet, a CSV record's first line) or line (Markdown)
    sheet: str | None = None  # a workbook's sheet name
    merges: tuple[tuple[int, int, int, int], ...] = ()  # merged ranges as (row, col, last row, last col), 0-based
    separator: int | None = None  # Markdown: the index of the row under the header ('|---|'), which is dropped

    @property
    def width(self) -> int:
        return max((len(r) for r in self.rows), default=0)

    def cell(self, r: int, c: int) -> str:
        row = self.rows[r] if 0 <= r < len(self.rows) else ()
        return row[c] if 0 <= c < len(row) else ""

    def where(self, r: int) -> Message:
        """How a message names row `r`: 'row 12' (a sheet's: 'sheet 'S' row 12'), or 'line 12' of Markdown."""
        return where(self.numbers[r], sheet=self.sheet, line=self.separator is not None)


def where(number: int, *, sheet: str | None = None, line: bool = False) -> Message:
    """A row of a sheet or of a CSV, or a line of a text file, as a message names it."""
    if line:
        return Message("where_line", {"line": number})
    return Message("where_sheet_row", {"sheet": sheet, "row": number}) if sheet else Message("row_n", {"row": number})


def format_of(data: bytes, filename: str) -> str:
    """The format a file is read as, by its name and its first bytes; a clear refusal for anything else."""
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if data.startswith(OLE2_MAGIC):
        if "EncryptedPackage".encode("utf-16-le") in data:
            raise DocumentError("encrypted_workbook", filename=filename)
        raise DocumentError("old_xls", filename=filename)
    if suffix == ".xls":
        raise DocumentError("old_xls", filename=filename)
    if data.startswith(b"%PDF") or suffix == ".pdf":
        raise DocumentError("document_pdf", filename=filename)
    fmt = SUFFIXES.get(suffix)
    if fmt is None:
        raise DocumentError("document_type", filename=filename, suffix=suffix or "(no extension)")
    if fmt == XLSX and not data.startswith(ZIP_MAGIC):
        raise DocumentError("not_a_zip", filename=filename, suffix=suffix)
    return fmt


def check_size(size: int, filename: str) -> None:
    if size > MAX_FILE_BYTES:
        raise DocumentError("document_too_large", filename=filename, size_mb=size / 1024 / 1024,
                            limit_mb=MAX_FILE_BYTES // (1024 * 1024))
    if size == 0:
        raise DocumentError("empty_file", filename=filename)


def refused(e: FileRefused) -> DocumentError:
    """A refused file as a document's error: its condition, in words that speak of a document."""
    code = {"too_many_cells": "document_too_many_cells",
            "package_too_large": "document_package_too_large"}.get(e.condition, e.condition)
    return DocumentError(code, **e.message.params)


def text_of(data: bytes, filename: str) -> str:
    """A text file's content (UTF-8 with or without BOM, cp932, UTF-16), as `corpus.userfile` decodes it."""
    try:
        return decode_text(data, filename)[0]
    except FileRefused as e:
        raise refused(e) from None


class _Budget:
    """Cells and rows one reading may build; a long cell is refused naming its row."""

    def __init__(self, filename: str) -> None:
        self.filename, self.cells, self.rows = filename, 0, 0

    def take(self, cells: list[str], at: Message) -> None:
        if len(cells) > MAX_COLUMNS:
            raise DocumentError("too_wide", filename=self.filename, where=at, width=len(cells), limit=MAX_COLUMNS)
        self.cells += max(len(cells), 1)
        if self.cells > MAX_CELLS:
            raise DocumentError("document_too_many_cells", filename=self.filename, limit=MAX_CELLS)
        for text in cells:
            if len(text) > MAX_CELL_CHARS:
                raise DocumentError("document_cell_too_long", filename=self.filename, where=at,
                                    length=len(text), limit=MAX_CELL_CHARS)

    def row(self) -> None:
        self.rows += 1
        if self.rows > MAX_ROWS:
            raise DocumentError("document_too_many_rows", filename=self.filename, limit=MAX_ROWS)


# ----------------------------------------------------------------- CSV / TSV


def csv_grid(text: str, filename: str) -> Grid:
    """A CSV or TSV (by its name, else whichever of tab and comma the first lines hold more of)."""
    lines = text.splitlines(keepends=True)
    sample = "".join(lines[:50])
    delimiter = "\t" if filename.lower().endswith(".tsv") or sample.count("\t") > sample.count(",") else ","
    reader = csv.reader(lines, delimiter=delimiter)
    rows: list[tuple[str, ...]] = []
    budget = _Budget(filename)
    try:
        for fields in reader:  # a record is a row, as a spreadsheet shows the file
            budget.take(fields, where(len(rows) + 1))
            budget.row()
            rows.append(tuple(f.strip() for f in fields))
    except csv.Error as e:
        raise DocumentError("csv_malformed", filename=filename, line=reader.line_num, reason=str(e)) from None
    return Grid(tuple(rows), tuple(range(1, len(rows) + 1)))


# ----------------------------------------------------------------- workbooks


def xlsx_grids(data: bytes, filename: str) -> list[Grid]:
    """Every visible worksheet with a cell of text, merged ranges kept (a header spanning two rows, or merged
    across the columns it heads)."""
    from zipfile import BadZipFile, ZipFile

    from openpyxl import load_workbook

    try:
        names = ZipFile(io.BytesIO(data)).namelist()
    except (BadZipFile, OSError, ValueError):
        raise DocumentError("damaged_zip", filename=filename) from None
    if not any(n.startswith("xl/workbook") for n in names):
        raise DocumentError("workbook_unreadable", filename=filename, reason="not an Excel workbook")
    try:
        check_package(data, filename)
    except FileRefused as e:
        raise refused(e) from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wb = load_workbook(io.BytesIO(data), data_only=True)  # not read-only: merged ranges are wanted
    except Exception as e:  # openpyxl raises many kinds on broken packages
        raise DocumentError("workbook_unreadable", filename=filename, reason=f"{type(e).__name__}: {e}") from None
    budget = _Budget(filename)
    grids = []
    for ws in wb.worksheets:
        if ws.sheet_state != "visible":
            continue
        rows: list[tuple[str, ...]] = []
        for r, values in enumerate(ws.iter_rows(values_only=True), start=1):
            cells = [cell_text(v) for v in values]
            budget.take(cells, where(r, sheet=ws.title))
            if any(cells):  # a formatted but empty row costs its cells, not a row
                budget.row()
            rows.append(tuple(cells))
        while rows and not any(rows[-1]):
            rows.pop()
        if not rows:
            continue
        merges = tuple((m.min_row - 1, m.min_col - 1, m.max_row - 1, m.max_col - 1) for m in ws.merged_cells.ranges)
        grids.append(Grid(tuple(rows), tuple(range(1, len(rows) + 1)), ws.title, merges))
    wb.close()
    return grids


def cell_text(value: Any) -> str:
    """A cell as text: a whole number without '.0', a date in ISO form, text stripped."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value).strip()


# ----------------------------------------------------------------- Markdown


_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$")
_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|~<>])")


def markdown_grids(text: str, filename: str) -> tuple[list[Grid], str]:
    """Every pipe table of a Markdown file (its header, the '|---|' line, its rows), and the text outside them
    (where a document says which edition it answers). A cell's <br> is a line break; backslash escapes
    (\\- \\|) are read as the characters they escape."""
    lines = text.splitlines()
    grids: list[Grid] = []
    outside: list[str] = []
    budget = _Budget(filename)
    i = 0
    while i < len(lines):
        if i + 1 < len(lines) and "|" in lines[i] and _SEPARATOR.match(lines[i + 1]) and "|" in lines[i + 1]:
            rows = [_pipe_cells(lines[i])]
            numbers = [i + 1]
            j = i + 2
            while j < len(lines) and "|" in lines[j] and lines[j].strip():
                cells = _pipe_cells(lines[j])
                budget.take(cells, where(j + 1, line=True))
                budget.row()
                rows.append(cells)
                numbers.append(j + 1)
                j += 1
            grids.append(Grid(tuple(tuple(r) for r in rows), tuple(numbers), separator=0))
            i = j
        else:
            outside.append(lines[i])
            i += 1
    return grids, "\n".join(outside)


def _pipe_cells(line: str) -> list[str]:
    cells = re.split(r"(?<!\\)\|", line.strip())
    if cells and not cells[0].strip():
        cells = cells[1:]
    if cells and not cells[-1].strip():
        cells = cells[:-1]
    return ["\n".join(part.strip() for part in _ESCAPE.sub(r"\1", _BREAK.sub("\n", c)).split("\n")).strip()
            for c in cells]


def fold(text: str) -> str:
    """A header compared as people mean it: NFKC, spaces collapsed, lower case."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip().lower()
