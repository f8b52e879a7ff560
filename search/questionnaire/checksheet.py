"""A check sheet (チェックシート) as kijun reads it: its question tables, what was skipped and why;
the limits on what is read; the errors reading or writing can raise; and the bytes in and out.

Users receive an Excel (or CSV) check sheet and must return *that file* filled in, so
`search.questionnaire.reader` reads real published layouts (title rows, meta rows,
section headings, several sheets) and `search.questionnaire.writer` writes answers into
new columns to the right of the question table, keeping everything else as it was.

Bad input raises a subclass of `SheetError` (a ValueError) whose message says what is
wrong and what to do (`messages.catalogue`: the command line names its option, the web page
its form field).
"""
from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, BinaryIO

from corpus import userfile
from corpus.userfile import (MAX_CELL_CHARS, MAX_CELLS, MAX_COLUMNS, MAX_FILE_BYTES, OLE2_MAGIC, ZIP_MAGIC,
                             FileRefused)
from messages import Explained, Message
from indexer import files

MAX_QUESTIONS = 2_000
HEADER_SCAN_ROWS = 30
MIN_QUESTION_CHARS = 8

# why a row is not read as a question: catalogue codes (their words in messages.catalogue)
REASON_EMPTY = "empty_row"
REASON_HEADING = "section_heading"
REASON_NOTE = "note"
REASON_NO_TEXT = "no_question_text"
REASON_SHORT = "too_short"
REASON_NOT_TEXT = "not_text"
REASON_FORMULA = "formula_without_value"
REASON_AFTER = "after_table"

EXCEL_FORMATS = ("xlsx", "xlsm")
TEXT_SUFFIXES = (".csv", ".tsv", ".txt")

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# ----------------------------------------------------------------- errors


class SheetError(Explained, ValueError):
    """A check sheet that cannot be read or written; the message says what to do."""

    code = "file_changed"


class UnsupportedFormat(SheetError):
    """The file is not a format this module reads (.xls, PDF, …)."""

    code = "unsupported_type"


class EncryptedWorkbook(SheetError):
    """A password-protected workbook: its content cannot be read without the password."""

    code = "encrypted_workbook"


class UnreadableFile(SheetError):
    """The file claims a supported format but its content is broken or binary."""

    code = "workbook_unreadable"


class FileTooLarge(SheetError):
    """Larger than MAX_FILE_BYTES."""

    code = "file_too_large"


class PackageTooLarge(FileTooLarge):
    """An .xlsx whose parts inflate past MAX_UNZIPPED_BYTES, or one part past MAX_COMPRESSION_RATIO."""

    code = "package_too_large"


class SheetTooLarge(FileTooLarge):
    """More than MAX_CELLS cells, or a row wider than MAX_COLUMNS."""

    code = "too_many_cells"


class NoQuestionTable(SheetError):
    """No header row or no question column could be found."""

    code = "no_question_column"


class NoHeaderRow(NoQuestionTable):
    """No header row, and no column of question sentences to read as a plain list."""

    code = "no_header_row"


class UnknownSheet(SheetError):
    """`sheet=` names a sheet the workbook does not have."""

    code = "unknown_sheet"


class UnknownColumn(SheetError):
    """`column=` or `into=` names a column the header row does not have."""

    code = "unknown_column"


class UnknownRow(SheetError):
    """An answer is keyed to a row that is not a question row."""

    code = "unknown_row"


class TooManyQuestions(SheetError):
    """More than MAX_QUESTIONS questions."""

    code = "too_many_questions"


class OutputError(SheetError):
    """The output cannot be written where asked (same as the input, missing folder, …)."""

    code = "output_unwritable"


def at(filename: str, sheet: str | None = None) -> Message:
    """Where in the user's file a condition is: the file, or one of its sheets."""
    return Message("at_sheet", {"filename": filename, "sheet": sheet}) if sheet is not None \
        else Message("at_file", {"filename": filename})


# ----------------------------------------------------------------- results


@dataclass(frozen=True)
class QuestionRow:
    sheet: str | None  # None for CSV/TSV
    row: int  # 1-based, as Excel shows it
    text: str


@dataclass(frozen=True)
class SkippedRow:
    sheet: str | None
    row: int
    text: str  # the row's non-empty cells, joined by " | "
    reason: str


@dataclass(frozen=True)
class IgnoredSheet:
    name: str
    reason: Message


@dataclass(frozen=True)
class QuestionTable:
    sheet: str | None
    header_row: int  # 1-based; 0 when the file has no header row (a plain list of questions)
    question_column: int  # 1-based
    question_column_letter: str
    question_header: str
    headers: tuple[str, ...]  # header cells, columns 1..last_column ("" when empty)
    last_column: int  # the last column the table uses
    questions: tuple[QuestionRow, ...]
    skipped: tuple[SkippedRow, ...]

    @property
    def has_header(self) -> bool:
        return self.header_row > 0


@dataclass(frozen=True)
class Questionnaire:
    filename: str
    format: str  # xlsx, xlsm, csv or tsv
    tables: tuple[QuestionTable, ...]
    ignored_sheets: tuple[IgnoredSheet, ...] = ()
    warnings: tuple[Message, ...] = ()
    encoding: str | None = None  # CSV/TSV only: utf-8, utf-8-sig, cp932 or utf-16
    delimiter: str | None = None
    line_ending: str | None = None

    @cached_property  # read once per row by the answer page: built once, not per access
    def questions(self) -> tuple[QuestionRow, ...]:
        return tuple(q for t in self.tables for q in t.questions)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["question_count"] = len(self.questions)
        return d


@dataclass(frozen=True)
class ColumnPlacement:
    sheet: str | None
    header: str  # the answer column's name (from `columns`)
    column: int  # 1-based column it was written to
    letter: str
    existing: bool  # True when an existing column was reused (answered before, or `into=`)


@dataclass(frozen=True)
class WriteReport:
    filename: str
    format: str
    placements: tuple[ColumnPlacement, ...]
    rows_written: int
    warnings: tuple[Message, ...] = ()
    encoding: str | None = None  # CSV/TSV only



# ----------------------------------------------------------------- bytes in


def load_bytes(source: Path | str | bytes, filename: str) -> bytes:
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    else:
        p = Path(source)
        try:
            if p.stat().st_size > MAX_FILE_BYTES:
                raise too_large(filename, p.stat().st_size)
            data = p.read_bytes()
        except OSError as e:
            raise UnreadableFile("cannot_read_path", path=str(p), reason=e.strerror or str(e)) from None
    if len(data) > MAX_FILE_BYTES:
        raise too_large(filename, len(data))
    if not data:
        raise UnreadableFile("empty_file", filename=filename)
    return data


def too_large(filename: str, size: int) -> FileTooLarge:
    return FileTooLarge(filename=filename, size_mb=size / 1024 / 1024, limit_mb=MAX_FILE_BYTES // (1024 * 1024))


def check_package(data: bytes, filename: str) -> None:
    """Refuse an .xlsx that would make openpyxl inflate or build too much, before it opens the file
    (`corpus.userfile.check_package`, within this module's MAX_CELLS)."""
    try:
        userfile.check_package(data, filename, max_cells=MAX_CELLS)
    except FileRefused as e:
        raise sheet_error(e) from None


def sheet_error(e: FileRefused) -> SheetError:
    """A refused file as the check sheet's error of that kind (the same condition and words)."""
    kind = {"package_too_large": PackageTooLarge, "package_ratio": PackageTooLarge,
            "too_many_cells": SheetTooLarge}.get(e.condition, UnreadableFile)
    return kind(e.condition, **e.message.params)


def too_many_cells(filename: str) -> SheetTooLarge:
    return SheetTooLarge(filename=filename, limit=MAX_CELLS)


def too_wide(filename: str, where: Message, width: int) -> SheetTooLarge:
    """`where`: the sheet (`where_sheet`) or the CSV line (`where_line`)."""
    return SheetTooLarge("too_wide", filename=filename, where=where, width=width, limit=MAX_COLUMNS)


def format_of(data: bytes, filename: str) -> str:
    """xlsx, xlsm or text, from the name and the first bytes; a clear error for anything else."""
    suffix = Path(filename).suffix.lower()
    if data.startswith(OLE2_MAGIC):
        if "EncryptedPackage".encode("utf-16-le") in data:
            raise EncryptedWorkbook(filename=filename)
        if suffix in (".xlsx", ".xlsm"):  # an old .xls renamed (one named .xls is refused just below)
            raise UnsupportedFormat("old_xls", filename=filename)
    if suffix == ".xls":
        raise UnsupportedFormat("old_xls", filename=filename)
    if suffix in (".xlsx", ".xlsm"):
        if data.startswith(b"%PDF"):
            raise UnsupportedFormat("pdf_named_xlsx", filename=filename)
        if not data.startswith(ZIP_MAGIC):
            raise UnreadableFile("not_a_zip", filename=filename, suffix=suffix)
        return suffix[1:]
    if suffix in TEXT_SUFFIXES:
        return "text"
    if suffix == ".pdf" or data.startswith(b"%PDF"):
        raise UnsupportedFormat("pdf_file", filename=filename)
    if suffix in (".xlsb", ".ods", ".numbers", ".xltx", ".xltm"):
        raise UnsupportedFormat("other_spreadsheet", filename=filename, suffix=suffix)
    raise UnsupportedFormat(filename=filename, suffix=suffix or "(no extension)")



# ----------------------------------------------------------------- cells


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value).strip()


def fold(s: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", s)).strip().lower()


def column_letter(c: int) -> str:
    from openpyxl.utils import get_column_letter

    return str(get_column_letter(c))



def cell_value(value: Any) -> Any:
    """What goes into a cell: text cleaned of characters Excel rejects; numbers stay numbers."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    text = value if isinstance(value, str) else str(value)
    return ILLEGAL_CHARACTERS_RE.sub("", text)[:MAX_CELL_CHARS]



# ----------------------------------------------------------------- bytes out


def refuse_overwrite(source: Path | str | bytes, out: Path) -> None:
    if isinstance(source, (bytes, bytearray)):
        return
    src = Path(source)
    if out.resolve() == src.resolve() or (out.exists() and os.path.samefile(out, src)):
        raise OutputError("output_same_as_input", out=str(out))


def write_whole(out: Path | str | BinaryIO, body: bytes) -> None:
    """All of `body` at `out`, or nothing (`indexer.files.write_whole`); a stream is written as is."""
    if not isinstance(out, (str, Path)):
        out.write(body)
        return
    try:
        files.write_whole(Path(out), body)
    except OSError as e:  # a folder one cannot write to, or a full disk
        raise OutputError(out=str(out), reason=e.strerror or str(e)) from None


def counted(n: int, kind: str) -> str:
    """"1 row", "3 rows": a count and its (regular English) noun, plural unless it is one."""
    return f"{n} {kind}" if n == 1 else f"{n} {kind}s"

