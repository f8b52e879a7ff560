"""Writing the answers into a copy of the user's own check sheet.

`write_answers(source, filename, questionnaire, answers, columns, out, *, into=None)`
writes the answers in new columns to the right of each question table (or into a column
of theirs, `into=`). The input is never modified; the output is written whole or not at
all. `check_destination(...)` checks beforehand what `write_answers` would refuse (the
output's name and folder, the into= columns): answering takes a while.

Every text cell written is text and never a formula: in a workbook its type is "string".
.xlsm files keep their macros (openpyxl `keep_vba=True`) and the output must stay .xlsm.
What openpyxl cannot carry over is named in the report (`search.questionnaire.preservation`).
"""
from __future__ import annotations

import io
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from corpus.grid import cell_text
from messages import Message
from search.questionnaire.checksheet import (EXCEL_FORMATS, TEXT_SUFFIXES, ColumnPlacement, OutputError,
                                             Questionnaire, QuestionTable, SheetError, UnknownColumn, UnknownRow,
                                             UnreadableFile, WriteReport, at, cell_value, check_package,
                                             column_letter, fold, format_of, load_bytes, refuse_overwrite, write_whole)
from search.questionnaire.delimited import edit_record, parse_text
from search.questionnaire.preservation import loss_warnings, package_inventory

def write_answers(source: Path | str | bytes, filename: str, questionnaire: Questionnaire,
                  answers: Mapping[tuple[str | None, int], Mapping[str, Any]], columns: Sequence[str],
                  out: Path | str | BinaryIO, *, into: Mapping[str, str] | None = None) -> WriteReport:
    """Write `answers` into a copy of the user's file, in `columns` to the right of each question table.

    `answers` maps (sheet, row) — sheet None for CSV — to {column name: value}.
    `into` maps a column name to an existing header of theirs to write into
    instead (e.g. {"回答案": "補足説明"}). The output is written whole (to a
    temporary file, then renamed) or not at all; the input is only read.
    """
    data = load_bytes(source, filename)
    fmt = format_of(data, filename)
    into = dict(into or {})
    _check_into(into, columns)
    _check_answer_rows(questionnaire, answers)
    _check_output(source, out, fmt, filename)
    if fmt in EXCEL_FORMATS:
        body, report = _write_workbook(data, filename, fmt, questionnaire, answers, columns, into)
    else:
        body, report = _write_text(data, filename, questionnaire, answers, columns, into)
    write_whole(out, body)
    return report


def check_destination(source: Path | str | bytes, questionnaire: Questionnaire, out: Path | str | BinaryIO,
                      columns: Sequence[str], *, into: Mapping[str, str] | None = None) -> None:
    """What `write_answers` would refuse about where and how it writes (the output's name and folder,
    the into= columns), checked before the answers are made: answering a long sheet takes a while."""
    into = dict(into or {})
    _check_into(into, columns)
    for table in questionnaire.tables:
        _existing_columns(questionnaire.filename, table, into, columns)
    fmt = "text" if questionnaire.format in ("csv", "tsv") else questionnaire.format
    _check_output(source, out, fmt, questionnaire.filename)


def _check_into(into: Mapping[str, str], columns: Sequence[str]) -> None:
    unknown_into = [k for k in into if k not in columns]
    if unknown_into:
        raise UnknownColumn("unknown_answer_column", name=unknown_into[0], columns=list(columns))


def _no_such_column(filename: str, table: QuestionTable, target: str, names: Sequence[str]) -> UnknownColumn:
    if not table.has_header:
        return UnknownColumn("answer_column_no_header", at=at(filename, table.sheet), target=target)
    return UnknownColumn("answer_column_missing", at=at(filename, table.sheet), target=target, row=table.header_row,
                         names=[f"「{n}」" for n in names])


def _check_answer_rows(q: Questionnaire, answers: Mapping[tuple[str | None, int], Mapping[str, Any]]) -> None:
    rows = {(r.sheet, r.row) for r in q.questions}
    for key in answers:
        if tuple(key) not in rows:
            sheet, row = key
            raise UnknownRow(at=at(q.filename, sheet), where=Message("row_n", {"row": row}))


def _check_same_file(text_at: Callable[[int, int], str], table: QuestionTable, filename: str) -> None:
    """The questionnaire must come from this very file, or the answers would land on the wrong rows:
    its question header (or, without a header row, its first question) must still be where it was."""
    if table.has_header:
        r, want, what = table.header_row, table.question_header, Message("header_row_n", {"row": table.header_row})
    else:
        r, want = table.questions[0].row, table.questions[0].text
        what = Message("row_n", {"row": r})
    found = text_at(r, table.question_column)
    if fold(found) != fold(want):
        raise SheetError(at=at(filename, table.sheet), what=what, found=found, want=want)


def _untitled_warning(filename: str, table: QuestionTable, cols: Mapping[str, tuple[int, bool]]) -> list[Message]:
    """Without a header row the new columns cannot be titled: say which is which."""
    if table.has_header:
        return []
    names = [f"{column_letter(c)} {name}" for name, (c, _) in cols.items()]
    return [Message("untitled_columns", {"at": at(filename, table.sheet), "names": names})]


def _check_output(source: Path | str | bytes, out: Path | str | BinaryIO, fmt: str, filename: str) -> None:
    if not isinstance(out, (str, Path)):
        return
    out = Path(out)
    refuse_overwrite(source, out)
    suffix = out.suffix.lower()
    if fmt in EXCEL_FORMATS and suffix != f".{fmt}":
        raise OutputError("output_suffix", out=str(out), fmt=fmt, why=" (it keeps the macros)" if fmt == "xlsm" else "")
    if fmt == "text" and suffix not in TEXT_SUFFIXES:
        raise OutputError("output_text_suffix", out=str(out), filename=filename)
    if not out.parent.is_dir():
        raise OutputError("output_folder_missing", out=str(out), folder=str(out.parent))


# ---- workbooks


def _write_workbook(data: bytes, filename: str, fmt: str, q: Questionnaire,
                    answers: Mapping[tuple[str | None, int], Mapping[str, Any]], columns: Sequence[str],
                    into: Mapping[str, str]) -> tuple[bytes, WriteReport]:
    from openpyxl import load_workbook

    if q.format != fmt:
        raise SheetError("wrong_format", filename=filename, was=q.format, fmt=fmt)
    check_package(data, filename)  # the reader checked it too; this file may be another one
    inventory = package_inventory(data)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            wb = load_workbook(io.BytesIO(data), keep_vba=fmt == "xlsm", rich_text=True)
        except Exception as e:
            raise UnreadableFile(filename=filename, reason=f"{type(e).__name__}: {e}") from None
    placements: list[ColumnPlacement] = []
    untitled: list[Message] = []
    written = 0
    for table in q.tables:
        if table.sheet not in wb.sheetnames:
            raise SheetError("sheet_gone", filename=filename, sheet=table.sheet)
        ws = wb[table.sheet]
        _check_same_file(lambda r, c: cell_text(ws.cell(r, c).value), table, filename)
        rows = sorted(r for (s, r) in answers if s == table.sheet)
        cols = _place_columns(ws, table, columns, into, rows, filename)
        untitled += _untitled_warning(filename, table, cols)
        if table.has_header:
            _write_headers(ws, table, cols)
        for r in rows:
            values = answers[(table.sheet, r)]
            for name, placed in cols.items():
                if name in values or not placed[1]:  # new columns get their look even where empty
                    _write_body_cell(ws, r, placed, table.last_column, values.get(name))
            written += 1
        _set_widths(ws, cols, [answers[(table.sheet, r)] for r in rows])
        placements += [ColumnPlacement(table.sheet, name, c, column_letter(c), existing)
                       for name, (c, existing) in cols.items()]
    buf = io.BytesIO()
    wb.save(buf)
    body = buf.getvalue()
    warns = untitled + loss_warnings(inventory, wb, body, [str(w.message) for w in caught])
    return body, WriteReport(filename=filename, format=fmt, placements=tuple(placements), rows_written=written,
                             warnings=tuple(warns))


def _place_columns(ws: Any, table: QuestionTable, columns: Sequence[str], into: Mapping[str, str],
                   rows: Sequence[int], filename: str) -> dict[str, tuple[int, bool]]:
    """Answer column name -> (1-based column, reused?). New columns never cover a non-empty cell."""
    hr = table.header_row
    # names are matched against the header row as it was read (a formula header by its value, which is
    # what the user sees and what check_destination matched), not as this formula-keeping workbook holds it
    placed = _existing_columns(filename, table, into, columns)
    new = [n for n in columns if n not in placed]
    start = table.last_column + 1
    keep = [hr, *rows] if hr else list(rows)
    while new and not all(_free(ws, c, keep) for c in range(start, start + len(new))):
        start += 1
    for i, name in enumerate(new):
        placed[name] = (start + i, False)
    return {n: placed[n] for n in columns}


def _existing_columns(filename: str, table: QuestionTable, into: Mapping[str, str],
                      columns: Sequence[str]) -> dict[str, tuple[int, bool]]:
    """Answer column name -> (1-based column, True) for the answers that go into columns the header row
    already has: each into= target (UnknownColumn when the row lacks it), then the columns of an earlier
    kijun answer. Checking and writing both read the header row as it was read (`table.headers`), so
    what passed the check is what gets written."""
    header = table.headers
    normed = {c: fold(h) for c, h in enumerate(header, start=1)} if table.has_header else {}
    placed: dict[str, tuple[int, bool]] = {}
    for name, target in into.items():
        c = _find_header(normed, target) if table.has_header else None
        if c is None:
            raise _no_such_column(filename, table, target, [h for h in header if fold(h)])
        placed[name] = (c, True)
    placed.update(_answered_before(normed, [n for n in columns if n not in placed], table.question_column))
    return placed


def _answered_before(header: Mapping[int, str], names: Sequence[str], qcol: int) -> dict[str, tuple[int, bool]]:
    """The columns of an earlier kijun answer: reused only when the header row has *all* of `names`
    (right of the question column), so that a column of the user's that happens to share a name is
    never overwritten."""
    found = {}
    for name in names:
        c = next((c for c, h in header.items() if h == fold(name) and c > qcol), None)
        if c is None:
            return {}
        found[name] = (c, True)
    return found


def _find_header(header: Mapping[int, str], target: str) -> int | None:
    want = fold(target)
    exact = [c for c, h in header.items() if h == want]
    if exact:
        return exact[0]
    partial = [c for c, h in header.items() if want and want in h]
    return partial[0] if len(partial) == 1 else None


def _free(ws: Any, c: int, rows: Sequence[int]) -> bool:
    from openpyxl.cell.cell import MergedCell

    for r in rows:
        cell = ws.cell(r, c)
        if isinstance(cell, MergedCell) or cell_text(cell.value):
            return False
    return True


def _write_headers(ws: Any, table: QuestionTable, cols: Mapping[str, tuple[int, bool]]) -> None:
    from copy import copy

    from openpyxl.styles import Alignment

    model = ws.cell(table.header_row, table.last_column)
    for name, (c, existing) in cols.items():
        if existing:
            continue
        cell = ws.cell(table.header_row, c)
        cell.value = cell_value(name)
        cell.data_type = "s"
        if model.has_style:
            cell.font = copy(model.font)
            cell.fill = copy(model.fill)
            cell.border = copy(model.border)
            cell.alignment = copy(model.alignment)
        cell.alignment = Alignment(horizontal=cell.alignment.horizontal or "center", vertical="center",
                                   wrap_text=True)


def _write_body_cell(ws: Any, r: int, placed: tuple[int, bool], last_column: int, value: Any) -> None:
    """One answer cell; a new column gets the row's border, wrapped text aligned top; theirs keeps its look."""
    from copy import copy

    from openpyxl.styles import Alignment

    c, existing = placed
    cell = ws.cell(r, c)
    v = cell_value(value)
    cell.value = v
    if isinstance(v, str):
        cell.data_type = "s"  # never a formula, whatever the text starts with
    if existing:
        return
    model = ws.cell(r, last_column)
    if model.has_style and model.border is not None:
        cell.border = copy(model.border)
    cell.alignment = Alignment(wrap_text=True, vertical="top")


def _set_widths(ws: Any, cols: Mapping[str, tuple[int, bool]], values: Sequence[Mapping[str, Any]]) -> None:
    for name, (c, existing) in cols.items():
        if existing:
            continue
        longest = max([len(cell_text(v.get(name))) for v in values] + [len(name)])
        ws.column_dimensions[column_letter(c)].width = 50 if longest > 30 else max(10, min(30, longest * 2 + 2))



# ---- text (CSV/TSV)


def _write_text(data: bytes, filename: str, q: Questionnaire,
                answers: Mapping[tuple[str | None, int], Mapping[str, Any]], columns: Sequence[str],
                into: Mapping[str, str]) -> tuple[bytes, WriteReport]:
    tf = parse_text(data, filename)
    if q.format not in ("csv", "tsv") or len(q.tables) != 1:
        raise SheetError("wrong_format", filename=filename, was=q.format, fmt="text")
    table = q.tables[0]
    hr = table.header_row

    def text_at(r: int, c: int) -> str:
        fields = tf.records[r - 1] if 0 < r <= len(tf.records) else []
        return fields[c - 1] if c <= len(fields) else ""

    _check_same_file(text_at, table, filename)
    cols = _existing_columns(filename, table, into, columns)
    rows = sorted(r for (_, r) in answers)
    width = max([table.last_column] + [len(tf.records[r - 1]) for r in [hr, *rows] if r])
    new = [n for n in columns if n not in cols]
    for i, name in enumerate(new):
        cols[name] = (width + 1 + i, False)
    cols = {n: cols[n] for n in columns}

    raw = list(tf.raw)
    warns = _untitled_warning(filename, table, cols)
    if hr:
        raw[hr - 1] = edit_record(tf, hr, {c: name for name, (c, existing) in cols.items() if not existing})
    for r in rows:
        values = answers[(None, r)]
        raw[r - 1] = edit_record(tf, r, {c: values.get(name) for name, (c, _) in cols.items() if name in values})
    text = "".join(raw)
    encoding = tf.encoding
    if encoding == "utf-8" and data.isascii() and not text.isascii():
        encoding = "utf-8-sig"
        warns.append(Message("ascii_to_utf8"))
    try:
        body = text.encode(encoding)
    except UnicodeEncodeError as e:
        bad = text[e.start:e.end]
        encoding = "utf-8-sig"
        body = text.encode(encoding)
        warns.append(Message("cp932_to_utf8", {"bad": bad}))
    placements = tuple(ColumnPlacement(None, n, c, column_letter(c), existing) for n, (c, existing) in cols.items())
    return body, WriteReport(filename=filename, format=q.format, placements=placements, rows_written=len(rows),
                             warnings=tuple(warns), encoding=encoding)

