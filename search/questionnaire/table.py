"""Pasted questions, and kijun's own flat table of answers (CSV or XLSX), written whole or not at all."""
from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from corpus.grid import cell_text
from search.questionnaire.checksheet import (MAX_QUESTIONS, OutputError, TooManyQuestions, cell_value,
                                             column_letter, refuse_overwrite, write_whole)
from search.questionnaire.delimited import safe_csv_text


def split_pasted(text: str) -> list[str]:
    """Pasted questions, one per line; blank lines are skipped."""
    questions = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if len(questions) > MAX_QUESTIONS:
        raise TooManyQuestions("too_many_pasted", count=len(questions), limit=MAX_QUESTIONS)
    return questions


TABLE_FORMATS = ("csv", "xlsx")


def table_bytes(rows: Sequence[Sequence[Any]], fmt: str) -> bytes:
    """A new table, header row first, as CSV (UTF-8 with BOM, so Excel reads it as UTF-8) or XLSX
    (sheet 回答, bold header, wrapped text, frozen header)."""
    if fmt == "csv":
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\r\n").writerows([[safe_csv_text(v) for v in row] for row in rows])
        return ("\ufeff" + buf.getvalue()).encode("utf-8")
    if fmt != "xlsx":
        raise OutputError("table_format", fmt=fmt)
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    ws = wb.active
    ws.title = "回答"
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            cell = ws.cell(r, c, cell_value(value))
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula, whatever the text starts with
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            if r == 1:
                cell.font = Font(bold=True)
    for c in range(1, max((len(r) for r in rows), default=0) + 1):
        longest = max(len(cell_text(row[c - 1])) if c - 1 < len(row) else 0 for row in rows)
        ws.column_dimensions[column_letter(c)].width = 50 if longest > 30 else max(6, min(30, longest * 2 + 2))
    ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def table_format(out: Path | str, *, source: Path | str | bytes | None = None) -> str:
    """The format `write_table` will write to `out` (csv or xlsx, by its extension); raises
    OutputError for another extension, a missing folder, or `out` being the `source` file."""
    out = Path(out)
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in TABLE_FORMATS:
        raise OutputError("table_output_suffix", out=str(out))
    if source is not None:
        refuse_overwrite(source, out)
    if not out.parent.is_dir():
        raise OutputError("output_folder_missing", out=str(out), folder=str(out.parent))
    return fmt


def write_table(rows: Sequence[Sequence[Any]], out: Path | str, *, source: Path | str | bytes | None = None) -> str:
    """Write `rows` as a new .csv or .xlsx file (by `out`'s extension), whole or not at all; the
    file the questions came from (`source`) is never overwritten. Returns the format written."""
    fmt = table_format(out, source=source)
    write_whole(out, table_bytes(rows, fmt))
    return fmt
