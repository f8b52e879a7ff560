"""Spreadsheet I/O for check sheets (チェックシート): find the questions in the
user's own file, and write the answers back into a copy of that same file.

Users receive an Excel (or CSV) check sheet and must return *that file*
filled in, so this module reads real published layouts (title rows, meta rows,
section headings, several sheets) and writes answers into new columns to the
right of the question table, keeping everything else as it was.

* `read_questionnaire(source, filename, *, sheet=None, header_row=None,
  column=None) -> Questionnaire` finds, on every sheet, the header row (within
  the first 30 rows) and the question column (by its header and by the long
  sentences below it). Rows that are not questions are skipped and reported.
  A file without any header row (a plain list, one question per row) is read
  too: every row with a sentence in the question column is a question.
* `write_answers(source, filename, questionnaire, answers, columns, out, *,
  into=None) -> WriteReport` writes the answers. The input is never modified;
  the output is written whole or not at all.
  `check_destination(...)` checks beforehand what `write_answers` would refuse
  (the output's name and folder, the into= columns): answering takes a while.
* `split_pasted(text)` reads pasted questions, one per line.
* `write_table(rows, out)` / `table_bytes(rows, fmt)` write a new table (kijun's
  own flat answer list) as CSV (UTF-8 with BOM) or XLSX, whole or not at all;
  `table_format(out)` checks the name first.

Every text cell written, in any format, is text and never a formula: in a
workbook its type is "string"; in a CSV, text starting with = + - @ tab or CR
gets a leading quote, so a spreadsheet shows it rather than runs it.

.xlsm files keep their macros: the VBA project is carried over unchanged
(openpyxl `keep_vba=True`) and the output must stay .xlsm.

What openpyxl 3.1.5 carries over (measured in tests/test_sheet.py): cell
values and in-cell rich text, styles, merged ranges, column widths, row
heights, data validation, conditional formatting, formulas, comments (notes),
freeze panes, page setup, print titles, sheet order and visibility, pivot
tables, external links, and images and charts (images only with Pillow
installed). What it loses: text boxes and shapes, form controls (check
boxes, buttons), threaded comments, Excel's chart style presets, printer
driver settings, extensions it does not read (e.g. Excel 2010 drop-downs
listing another sheet) and parts it does not know. `WriteReport.warnings`
names each of them for the user's file, found by comparing the package with
what openpyxl loaded and wrote. Formula results are not stored: Excel
recomputes them on opening.

Bad input raises a subclass of `SheetError` (a ValueError) whose message says
what is wrong and what to do, e.g. which command-line flag to use.
"""
from __future__ import annotations

import csv
import io
import os
import re
import unicodedata
import warnings
from collections import Counter
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator, Mapping, Sequence

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_QUESTIONS = 2_000
HEADER_SCAN_ROWS = 30
MIN_QUESTION_CHARS = 8
MAX_CELL_CHARS = 32_767  # Excel's limit for one cell

REASON_EMPTY = "empty row"
REASON_HEADING = "section heading"
REASON_NOTE = "note"
REASON_NO_TEXT = "no text in the question column"
REASON_SHORT = "too short to be a question"
REASON_NOT_TEXT = "not text (a number or date)"
REASON_FORMULA = "formula without a computed value"
REASON_AFTER = "after the end of the table"

EXCEL_FORMATS = ("xlsx", "xlsm")
TEXT_SUFFIXES = (".csv", ".tsv", ".txt")

_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# ----------------------------------------------------------------- errors


class SheetError(ValueError):
    """A check sheet that cannot be read or written; the message says what to do."""


class UnsupportedFormat(SheetError):
    """The file is not a format this module reads (.xls, PDF, …)."""


class EncryptedWorkbook(SheetError):
    """A password-protected workbook: its content cannot be read without the password."""


class UnreadableFile(SheetError):
    """The file claims a supported format but its content is broken or binary."""


class FileTooLarge(SheetError):
    """Larger than MAX_FILE_BYTES."""


class NoQuestionTable(SheetError):
    """No header row or no question column could be found."""


class NoHeaderRow(NoQuestionTable):
    """No header row, and no column of question sentences to read as a plain list."""


class UnknownSheet(SheetError):
    """`sheet=` names a sheet the workbook does not have."""


class UnknownColumn(SheetError):
    """`column=` or `into=` names a column the header row does not have."""


class UnknownRow(SheetError):
    """An answer is keyed to a row that is not a question row."""


class TooManyQuestions(SheetError):
    """More than MAX_QUESTIONS questions."""


class OutputError(SheetError):
    """The output cannot be written where asked (same as the input, missing folder, …)."""


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
    reason: str


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
    warnings: tuple[str, ...] = ()
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
    warnings: tuple[str, ...] = ()
    encoding: str | None = None  # CSV/TSV only


# ----------------------------------------------------------------- reading


def read_questionnaire(source: Path | str | bytes, filename: str, *, sheet: str | None = None,
                       header_row: int | None = None, column: str | int | None = None) -> Questionnaire:
    """The question tables of a check sheet (.xlsx, .xlsm, .csv, .tsv, .txt).

    Every sheet is considered unless `sheet` names one; hidden sheets and
    cover/history/example sheets are ignored and reported. `header_row`
    (1-based) and `column` (header name, 1-based number, or letter) override
    detection on every sheet read.
    """
    data = _load_bytes(source, filename)
    fmt = _format_of(data, filename)
    if fmt in EXCEL_FORMATS:
        q = _read_workbook(data, filename, fmt, sheet, header_row, column)
    else:
        q = _read_text(data, filename, sheet, header_row, column)
    count = len(q.questions)
    if count > MAX_QUESTIONS:
        hint = "split the sheet or pick one with --sheet" if fmt in EXCEL_FORMATS else "split the file"
        raise TooManyQuestions(f"{filename}: {count:,} questions found; the limit is {MAX_QUESTIONS:,} — {hint}")
    return q


def _load_bytes(source: Path | str | bytes, filename: str) -> bytes:
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    else:
        p = Path(source)
        try:
            if p.stat().st_size > MAX_FILE_BYTES:
                raise FileTooLarge(_too_large(filename, p.stat().st_size))
            data = p.read_bytes()
        except OSError as e:
            raise UnreadableFile(f"cannot read {p}: {e.strerror or e}") from None
    if len(data) > MAX_FILE_BYTES:
        raise FileTooLarge(_too_large(filename, len(data)))
    if not data:
        raise UnreadableFile(f"{filename}: the file is empty")
    return data


def _too_large(filename: str, size: int) -> str:
    return (f"{filename}: the file is {size / 1024 / 1024:.1f} MB; the limit is "
            f"{MAX_FILE_BYTES // (1024 * 1024)} MB — split the check sheet or remove images from it")


def _format_of(data: bytes, filename: str) -> str:
    """xlsx, xlsm or text, from the name and the first bytes; a clear error for anything else."""
    suffix = Path(filename).suffix.lower()
    if data.startswith(_OLE2_MAGIC):
        if "EncryptedPackage".encode("utf-16-le") in data:
            raise EncryptedWorkbook(f"{filename} is password-protected; remove the password "
                                    "(ファイル > 情報 > ブックの保護) and save it again")
        if suffix in (".xlsx", ".xlsm"):  # an old .xls renamed (one named .xls is refused just below)
            raise UnsupportedFormat(f"{filename}: old .xls files are not supported; "
                                    "open it in Excel and save as .xlsx")
    if suffix == ".xls":
        raise UnsupportedFormat(f"{filename}: old .xls files are not supported; open it in Excel and save as .xlsx")
    if suffix in (".xlsx", ".xlsm"):
        if data.startswith(b"%PDF"):
            raise UnsupportedFormat(f"{filename} is a PDF, not an Excel workbook; "
                                    "use the check sheet's original .xlsx file")
        if not data.startswith(_ZIP_MAGIC):
            raise UnreadableFile(f"{filename} is not a valid {suffix} workbook (it is not a zip package); "
                                 "open it in Excel and save it again as .xlsx")
        return suffix[1:]
    if suffix in TEXT_SUFFIXES:
        return "text"
    if suffix == ".pdf" or data.startswith(b"%PDF"):
        raise UnsupportedFormat(f"{filename}: PDF files are not supported; "
                                "use the check sheet's .xlsx file, or export it as .csv")
    if suffix in (".xlsb", ".ods", ".numbers", ".xltx", ".xltm"):
        raise UnsupportedFormat(f"{filename}: {suffix} files are not supported; open it and save as .xlsx")
    raise UnsupportedFormat(f"{filename}: unsupported file type {suffix or '(no extension)'!r}; "
                            "use .xlsx, .xlsm, .csv or .tsv")


# ---- text (CSV/TSV)


@dataclass(frozen=True)
class _TextFile:
    encoding: str
    delimiter: str
    line_ending: str
    records: list[list[str]]  # parsed fields of each record
    raw: list[str]  # each record's original text, line ending included


def _parse_text(data: bytes, filename: str) -> _TextFile:
    text, encoding = _decode(data, filename)
    lines = re.findall(r"[^\r\n]*(?:\r\n|\n|\r)|[^\r\n]+$", text)
    m = re.search(r"\r\n|\n|\r", text)
    line_ending = m.group(0) if m else "\r\n"
    delimiter = "\t" if Path(filename).suffix.lower() == ".tsv" else _sniff_delimiter(lines)
    records: list[list[str]] = []
    raw: list[str] = []
    consumed: list[str] = []

    def feed() -> Iterator[str]:
        for line in lines:
            consumed.append(line)
            yield line

    reader = csv.reader(feed(), delimiter=delimiter)
    try:
        for fields in reader:
            records.append(fields)
            raw.append("".join(consumed))
            consumed.clear()
    except csv.Error as e:
        raise UnreadableFile(f"{filename}: cannot read it as CSV (line {reader.line_num}: {e}); "
                             "save it from Excel as 'CSV UTF-8' or .xlsx") from None
    if consumed:  # an unterminated quoted field at the end
        raise UnreadableFile(f"{filename}: a quoted cell is never closed; save it from Excel again")
    return _TextFile(encoding, delimiter, line_ending, records, raw)


def _decode(data: bytes, filename: str) -> tuple[str, str]:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            pass
    if data.startswith(_ZIP_MAGIC) or data.startswith(_OLE2_MAGIC):
        raise UnreadableFile(f"{filename} is an Excel workbook, not a text CSV; "
                             "give it its real extension (.xlsx)")
    if b"\x00" in data[:8192]:
        raise UnreadableFile(f"{filename}: not a text CSV file (it contains binary data); use .csv or .xlsx")
    for encoding in ("utf-8-sig", "cp932"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        controls = sum(1 for ch in text[:8192] if unicodedata.category(ch) in ("Cc", "Co")
                       and ch not in "\t\r\n")
        if controls > max(8, len(text[:8192]) // 100):
            raise UnreadableFile(f"{filename}: not a text CSV file (it contains binary data); use .csv or .xlsx")
        if encoding == "utf-8-sig" and not data.startswith(b"\xef\xbb\xbf"):
            encoding = "utf-8"
        return text, encoding
    raise UnreadableFile(f"{filename}: cannot read the CSV: it is neither UTF-8 nor Shift_JIS (cp932); "
                         "save it from Excel as 'CSV UTF-8'")


def _sniff_delimiter(lines: Sequence[str]) -> str:
    sample = "".join(lines[:HEADER_SCAN_ROWS + 20])
    return "\t" if sample.count("\t") > sample.count(",") else ","


def _read_text(data: bytes, filename: str, sheet: str | None, header_row: int | None,
               column: str | int | None) -> Questionnaire:
    tf = _parse_text(data, filename)
    fmt = "tsv" if tf.delimiter == "\t" else "csv"
    warns = []
    if sheet is not None:
        warns.append(f"{filename} is a {fmt.upper()} file, which has no sheets; --sheet {sheet!r} was ignored")
    grid = [list(r) for r in tf.records]
    table = _find_table(grid, None, filename, None, header_row, column, warns, headerless=True)
    return Questionnaire(filename=filename, format=fmt, tables=(table,), warnings=tuple(warns),
                         encoding=tf.encoding, delimiter=tf.delimiter, line_ending=tf.line_ending)


# ---- workbooks


_IGNORED_SHEET_NAMES = re.compile(
    r"表紙|改訂履歴|改版履歴|変更履歴|更新履歴|記入例|回答例|記載例|記入方法|記入要領|記入の手引|"
    r"手引|使い方|目次|注意事項|はじめに|凡例|"
    r"cover|revision|history|change ?log|instruction|example|readme|legend|contents")


def _read_workbook(data: bytes, filename: str, fmt: str, sheet: str | None, header_row: int | None,
                   column: str | int | None) -> Questionnaire:
    values_wb = _open_workbook(data, filename, read_only=True, data_only=True)
    try:
        formulas_wb = _open_workbook(data, filename, read_only=True, data_only=False)
    except BaseException:
        values_wb.close()
        raise
    try:
        names = list(values_wb.sheetnames)
        if sheet is not None:
            names = [_resolve_sheet(sheet, names, filename)]
        tables: list[QuestionTable] = []
        ignored: list[IgnoredSheet] = []
        failures: list[SheetError] = []
        warns: list[str] = []
        explicit = sheet is not None
        # sheets without a header row: read as plain lists of questions only if no sheet has a table
        plain: list[tuple[str, list[list[Any]], list[list[Any]], NoHeaderRow]] = []
        for name in names:
            ws = values_wb[name]
            reason = _sheet_ignore_reason(ws, name, explicit)
            if reason:
                ignored.append(IgnoredSheet(name, reason))
                continue
            grid = _sheet_grid(ws)
            if not any(any(_text(v) for v in row) for row in grid):
                ignored.append(IgnoredSheet(name, IGNORED_EMPTY))
                continue
            formulas = _sheet_grid(formulas_wb[name])
            try:
                tables.append(_find_table(grid, formulas, filename, name, header_row, column, warns,
                                          headerless=explicit))
            except NoHeaderRow as e:
                if explicit:
                    raise
                plain.append((name, grid, formulas, e))
            except (NoQuestionTable, UnknownColumn) as e:
                if explicit:
                    raise
                failures.append(e)
                ignored.append(IgnoredSheet(name, _strip_prefix(str(e), filename)))
        for name, grid, formulas, error in plain:
            try:
                if tables:
                    raise error
                tables.append(_find_table(grid, formulas, filename, name, header_row, column, warns,
                                          headerless=True))
            except (NoQuestionTable, UnknownColumn) as e:
                failures.append(e)
                ignored.append(IgnoredSheet(name, _strip_prefix(str(e), filename)))
        ignored.sort(key=lambda s: names.index(s.name))
        tables.sort(key=lambda t: names.index(str(t.sheet)))
        if not tables:
            if len(failures) == 1:
                raise failures[0]
            found = "; ".join(f"sheet {s.name!r}: {s.reason}" for s in ignored) or "the workbook has no sheets"
            raise NoQuestionTable(f"{filename}: no question table found ({found}). "
                                  "Pick the sheet with --sheet NAME.")
        return Questionnaire(filename=filename, format=fmt, tables=tuple(tables),
                             ignored_sheets=tuple(ignored), warnings=tuple(warns))
    finally:
        values_wb.close()
        formulas_wb.close()


def _open_workbook(data: bytes, filename: str, **kwargs: Any) -> Any:
    from zipfile import BadZipFile, ZipFile

    from openpyxl import load_workbook

    try:
        names = ZipFile(io.BytesIO(data)).namelist()
    except (BadZipFile, OSError, ValueError):
        raise UnreadableFile(f"{filename} is damaged (not a readable zip package); "
                             "open it in Excel and save it again as .xlsx") from None
    if "xl/workbook.xml" not in names and not any(n.startswith("xl/workbook") for n in names):
        raise UnreadableFile(f"{filename} is a zip file but not an Excel workbook; use the .xlsx check sheet")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return load_workbook(io.BytesIO(data), **kwargs)
    except Exception as e:  # openpyxl raises many kinds on broken packages
        raise UnreadableFile(f"{filename} cannot be read as a workbook ({type(e).__name__}: {e}); "
                             "open it in Excel and save it again as .xlsx") from None


def _resolve_sheet(sheet: str, names: Sequence[str], filename: str) -> str:
    if sheet in names:
        return sheet
    folded = {_norm(n): n for n in names}
    if _norm(sheet) in folded:
        return folded[_norm(sheet)]
    listed = ", ".join(repr(n) for n in names)
    raise UnknownSheet(f"{filename}: there is no sheet named {sheet!r}; the sheets are {listed}. "
                       "Give one of these with --sheet.")


IGNORED_CHART = "chart sheet"
IGNORED_HIDDEN = "hidden sheet (name it with --sheet to read it)"
IGNORED_BY_NAME = "cover, history, example or instructions sheet (by its name; name it with --sheet to read it)"
IGNORED_EMPTY = "empty sheet"


def _sheet_ignore_reason(ws: Any, name: str, explicit: bool) -> str | None:
    if not hasattr(ws, "iter_rows"):
        return IGNORED_CHART
    if explicit:
        return None
    if ws.sheet_state != "visible":
        return IGNORED_HIDDEN
    if _IGNORED_SHEET_NAMES.search(_norm(name)):
        return IGNORED_BY_NAME
    return None


def _sheet_grid(ws: Any) -> list[list[Any]]:
    """All rows of a read-only sheet as lists of values, up to the last row in the file."""
    ws.reset_dimensions()  # a wrong <dimension> must not add a million empty rows
    with warnings.catch_warnings():  # what openpyxl would drop matters on writing, and is reported there
        warnings.simplefilter("ignore")
        return [list(r) for r in ws.iter_rows(values_only=True)]


# ---- finding the table


_QUESTION_STRONG = (
    "確認項目", "確認内容", "確認事項", "質問", "質問内容", "質問事項", "質問項目", "設問", "要求事項",
    "要求内容", "チェック項目", "チェック内容", "点検項目", "監査項目", "対策項目", "評価項目", "管理策", "要件",
    "question", "questions", "control question", "requirement", "requirements", "check item",
)
_QUESTION_WEAK = (
    "項目", "内容", "詳細", "規定内容", "基準", "control", "controls", "item", "items", "description",
    "statement",
)
_NOT_QUESTION = (
    "回答", "返答", "解答", "備考", "補足", "コメント", "番号", "項番", "通番", "連番", "分類", "カテゴリ",
    "カテゴリー", "区分", "種別", "評価", "判定", "結果", "状況", "根拠", "資料", "証跡", "エビデンス", "記入",
    "担当", "部署", "日付", "期限", "チェック", "大項目", "中項目", "小項目", "はい", "いいえ", "該当",
    "no", "no.", "#", "id", "yes", "na", "n/a", "answer", "answers", "response", "responses", "note",
    "notes", "comment", "comments", "remark", "remarks", "category", "domain", "section", "status",
    "evidence", "reference", "owner", "date", "ref",
)


def _keyword_pattern(word: str) -> re.Pattern[str]:
    if word.isascii():
        body = r"\s*".join(re.escape(w) for w in word.split())
        return re.compile(rf"(?<![a-z0-9]){body}(?![a-z0-9])")
    return re.compile(re.escape(word))


_KEYWORDS = ([(p, 2, w) for w in _QUESTION_STRONG for p in [_keyword_pattern(w)]]
             + [(p, 1, w) for w in _QUESTION_WEAK for p in [_keyword_pattern(w)]]
             + [(p, 0, w) for w in _NOT_QUESTION for p in [_keyword_pattern(w)]])


def _header_kind(header: str) -> int | None:
    """2 = strong question header, 1 = weak one, 0 = some other known header, None = unknown.

    The keyword that ends last decides ("質問に対する回答" is an answer column,
    "評価項目" a question column): Japanese and English compounds are head-final.
    """
    h = re.sub(r"[(\[【<].*?[)\]】>]", " ", _norm(header))
    best: tuple[int, int, int] | None = None
    for pattern, kind, word in _KEYWORDS:
        for m in pattern.finditer(h):
            key = (m.end(), len(word), kind)
            if best is None or key[:2] > best[:2]:
                best = key
    return None if best is None else best[2]


def _find_table(grid: list[list[Any]], formulas: list[list[Any]] | None, filename: str, sheet: str | None,
                header_row: int | None, column: str | int | None, warns: list[str], *,
                headerless: bool = False) -> QuestionTable:
    """The question table of one grid; with `headerless`, a grid without a header row may be
    read as a plain list of questions."""
    where = f"sheet {sheet!r}" if sheet is not None else filename
    if header_row is not None:
        if not 1 <= header_row <= len(grid):
            raise NoQuestionTable(f"{filename}: {where} has {len(grid)} rows; --header-row {header_row} "
                                  "is outside it")
        rows = [header_row]
    else:
        rows = _header_candidates(grid, column)
        if not rows:
            plain = _plain_list(grid, formulas, filename, sheet, where, column, warns) if headerless else None
            if plain is None:
                raise NoHeaderRow(f"{filename}: no header row found in the first {HEADER_SCAN_ROWS} rows of "
                                  f"{where}, and no column of questions; give the header row with --header-row N")
            return plain
    first_error: NoQuestionTable | None = None
    for hr in rows:
        try:
            qcol = _question_column(grid, hr, column, filename, where, warns)
        except NoQuestionTable as e:
            first_error = first_error or e
            continue
        table = _build_table(grid, formulas, sheet, hr, qcol)
        if not table.questions:
            raise NoQuestionTable(f"{filename}: {where}: column {table.question_column_letter} "
                                  f"({table.question_header!r}) has no questions below header row {hr}; "
                                  "choose the question column with --column, or the header row with --header-row")
        return table
    assert first_error is not None
    raise first_error


def _plain_list(grid: list[list[Any]], formulas: list[list[Any]] | None, filename: str, sheet: str | None,
                where: str, column: str | int | None, warns: list[str]) -> QuestionTable | None:
    """A list of questions without a header row (a one-column CSV a user typed): the column with the
    most sentences, when some of them read as questions; a lone question-column title above them
    ("質問") is taken as the header. None when no column qualifies."""
    width = max((len(r) for r in grid), default=0)
    if column is not None:
        if _is_column_name(column):
            return None  # a column named by its header needs a header row
        qcol = _resolve_column([None] * width, column, filename, where, 0)
    else:
        scored = []
        for c in range(1, width + 1):
            sentences, _ = _column_text_stats(grid, c)
            asks = sum(1 for row in grid if c - 1 < len(row) and isinstance(row[c - 1], str)
                       and _QUESTION_END.search(row[c - 1].strip()))
            if sentences and asks:
                scored.append((sentences, -c))
        if not scored:
            return None
        qcol = -max(scored)[1]
    table = _build_table(grid, formulas, sheet, 0, qcol)
    if not table.questions:
        return None
    first = table.questions[0].row
    above = next((r for r in range(first - 1, 0, -1) if any(_text(v) for v in grid[r - 1])), None)
    if above is not None and _header_kind(_text(_cell_at(grid, above, qcol))) in (1, 2):
        return _build_table(grid, formulas, sheet, above, qcol)
    warns.append(f"{where}: no header row found, so every row with a sentence in column {_letter(qcol)} was taken "
                 "as a question; if the file has a header row, give it with --header-row N")
    return table


def _cell_at(grid: list[list[Any]], r: int, c: int) -> Any:
    row = grid[r - 1] if 0 < r <= len(grid) else []
    return row[c - 1] if c - 1 < len(row) else None


def _header_candidates(grid: list[list[Any]], column: str | int | None) -> list[int]:
    """Rows (1-based) that look like a header, best first."""
    scored = []
    for i, row in enumerate(grid[:HEADER_SCAN_ROWS], start=1):
        cells = [_text(v) for v in row if _text(v)]
        short = [c for c in cells if len(c) <= 40]
        if len(short) < 2 or len(short) < len(cells) - 1:
            continue
        if _is_column_name(column) and _column_by_name(row, str(column)) is not None:
            return [i]
        known = sum(1 for c in short if _header_kind(c) is not None)
        questionish = sum(1 for c in short if _header_kind(c) in (1, 2))
        if known >= 2 or (questionish and len(short) == len(cells)):
            scored.append((-(known + questionish), i))
    return [i for _, i in sorted(scored)]


def _question_column(grid: list[list[Any]], hr: int, column: str | int | None, filename: str, where: str,
                     warns: list[str]) -> int:
    header = grid[hr - 1]
    if column is not None:
        return _resolve_column(header, column, filename, where, hr)
    body = grid[hr:]
    candidates = []
    unknown = []
    for c, value in enumerate(header, start=1):
        name = _text(value)
        if not name:
            continue
        kind = _header_kind(name)
        if kind == 0:
            continue
        sentences, total = _column_text_stats(body, c)
        if not sentences:
            continue
        if kind is None:
            unknown.append((total, c, name))
        else:
            candidates.append((kind, total, -c))
    if candidates:
        return -max(candidates)[2]
    if len(unknown) == 1:
        _, c, name = unknown[0]
        warns.append(f"{where}: the question column was taken to be {_letter(c)} ({name!r}) because it holds "
                     "the long sentences; if that is wrong, name it with --column")
        return c
    names = ", ".join(repr(_text(v)) for v in header if _text(v))
    raise NoQuestionTable(f"{filename}: {where}: no question column found; the header row {hr} has {names}. "
                          "Name the question column with --column (header name, number or letter).")


def _column_text_stats(body: list[list[Any]], c: int) -> tuple[int, int]:
    """How many cells below look like sentences, and their total length; (0, 0) for label columns."""
    nonempty = sentences = total = 0
    for row in body:
        t = _text(row[c - 1]) if c - 1 < len(row) else ""
        if not t:
            continue
        nonempty += 1
        if isinstance(row[c - 1], str) and len(_norm(t)) >= MIN_QUESTION_CHARS and not _is_heading(t):
            sentences += 1
            total += len(t)
    if sentences == 0 or sentences < 0.3 * nonempty:
        return 0, 0
    return sentences, total


def _resolve_column(header: list[Any], column: str | int, filename: str, where: str, hr: int) -> int:
    width = max(len(header), 1)
    n: int | None = None
    if isinstance(column, int) or column.strip().isdecimal():
        n = int(column)
    else:
        by_name = _column_by_name(header, column)
        if by_name is not None:
            return by_name
        spec = column.strip()
        if re.fullmatch(r"[A-Za-z]{1,3}", spec):
            from openpyxl.utils import column_index_from_string

            n = column_index_from_string(spec.upper())
    if n is not None and 1 <= n <= max(width, 16_384):
        return n
    if not hr:
        raise UnknownColumn(f"{filename}: {where}: no column {column!r}, and no header row to find it by name; "
                            "give --column as a number (1 = first column) or a letter such as C.")
    names = ", ".join(repr(_text(v)) for v in header if _text(v)) or "(no cells)"
    raise UnknownColumn(f"{filename}: {where}: no column {column!r}; the header row {hr} has {names}. "
                        "Give --column as a header name, a number (1 = first column) or a letter such as C.")


def _is_column_name(column: str | int | None) -> bool:
    """A --column that names a header, rather than a number or a letter."""
    return isinstance(column, str) and not re.fullmatch(r"\s*(\d+|[A-Za-z]{1,3})\s*", column)


def _column_by_name(row: Sequence[Any], name: str) -> int | None:
    want = _norm(name)
    for c, value in enumerate(row, start=1):
        if want and _norm(_text(value)) == want:
            return c
    return None


def _build_table(grid: list[list[Any]], formulas: list[list[Any]] | None, sheet: str | None, hr: int,
                 qcol: int) -> QuestionTable:
    questions: list[QuestionRow] = []
    reasons: list[tuple[int, str, str]] = []  # row, text, reason
    for r in range(hr + 1, len(grid) + 1):
        row = grid[r - 1]
        formula = formulas[r - 1][qcol - 1] if formulas and r - 1 < len(formulas) \
            and qcol - 1 < len(formulas[r - 1]) else None
        text, reason = _classify(row, qcol, formula)
        if reason is None:
            questions.append(QuestionRow(sheet, r, text))
        else:
            reasons.append((r, text, reason))
    last_q = questions[-1].row if questions else hr
    skipped = []
    for r, text, reason in reasons:
        if r > last_q:
            if reason == REASON_EMPTY:
                continue
            reason = REASON_NOTE if reason == REASON_NOTE else REASON_AFTER
        skipped.append(SkippedRow(sheet, r, text, reason))
    last_column = max([_last_used(grid[r - 1]) for r in range(max(hr, 1), last_q + 1)] + [qcol])
    header = grid[hr - 1] if hr else []
    headers = tuple(_text(header[c - 1]) if c - 1 < len(header) else "" for c in range(1, last_column + 1))
    return QuestionTable(sheet=sheet, header_row=hr, question_column=qcol, question_column_letter=_letter(qcol),
                         question_header=headers[qcol - 1], headers=headers, last_column=last_column,
                         questions=tuple(questions), skipped=tuple(skipped))


def _classify(row: list[Any], qcol: int, formula: Any) -> tuple[str, str | None]:
    """The row's question text and None, or the row's text and why it is not a question."""
    texts = [_text(v) for v in row if _text(v)]
    joined = " | ".join(texts)
    value = row[qcol - 1] if qcol - 1 < len(row) else None
    q = _text(value)
    if not q and isinstance(formula, str) and formula.startswith("="):
        return formula, REASON_FORMULA
    if not texts:
        return "", REASON_EMPTY
    if _is_note(texts[0]):
        return joined, REASON_NOTE
    if not q:
        lone = len(texts) == 1 and len(texts[0]) <= 60
        return joined, REASON_HEADING if lone else REASON_NO_TEXT
    if not isinstance(value, str):
        return joined, REASON_NOT_TEXT
    if _is_heading(q) or (len(texts) == 1 and _is_numbered_title(q)):
        return joined, REASON_HEADING
    if len(_norm(q)) < MIN_QUESTION_CHARS:
        return joined, REASON_SHORT
    return q, None


_SENTENCE_END = re.compile(r"[。?？か]\s*$|ください\s*$|こと\s*$")
_QUESTION_END = re.compile(_SENTENCE_END.pattern + r"|\.\s*$")  # a sentence end, or an English full stop
_HEADING_MARK = re.compile(r"^\s*(【[^】]*】\s*$|[■□◆◇●▼▽▶►◎◯]|第[0-9０-９一二三四五六七八九十]+[章節部編])")
_NUMBERED_TITLE = re.compile(r"^\s*(\d+(\.\d+)*[.．、]?\s|\d+(\.\d+)*[.．、]|[(（]\d+[)）]|\[[A-Za-z0-9]+\]|[A-Z][.．]\s)")
_NOTE = re.compile(r"^\s*(※|\*|\(?注[):\d]|(注意|注記|備考)[:])")


def _is_heading(text: str) -> bool:
    return bool(_HEADING_MARK.match(text)) and not _SENTENCE_END.search(text)


def _is_numbered_title(text: str) -> bool:
    return len(text) <= 30 and bool(_NUMBERED_TITLE.match(text)) and not _SENTENCE_END.search(text)


def _is_note(text: str) -> bool:
    return bool(_NOTE.match(unicodedata.normalize("NFKC", text)))


def _last_used(row: Sequence[Any]) -> int:
    for c in range(len(row), 0, -1):
        if _text(row[c - 1]):
            return c
    return 0


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value).strip()


def _norm(s: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", s)).strip().lower()


def _letter(c: int) -> str:
    from openpyxl.utils import get_column_letter

    return str(get_column_letter(c))


def _strip_prefix(message: str, filename: str) -> str:
    message = message.removeprefix(f"{filename}: ")
    return re.sub(r"^sheet '[^']*': ", "", message)


# ----------------------------------------------------------------- writing


def write_answers(source: Path | str | bytes, filename: str, questionnaire: Questionnaire,
                  answers: Mapping[tuple[str | None, int], Mapping[str, Any]], columns: Sequence[str],
                  out: Path | str | BinaryIO, *, into: Mapping[str, str] | None = None) -> WriteReport:
    """Write `answers` into a copy of the user's file, in `columns` to the right of each question table.

    `answers` maps (sheet, row) — sheet None for CSV — to {column name: value}.
    `into` maps a column name to an existing header of theirs to write into
    instead (e.g. {"回答案": "補足説明"}). The output is written whole (to a
    temporary file, then renamed) or not at all; the input is only read.
    """
    data = _load_bytes(source, filename)
    fmt = _format_of(data, filename)
    into = dict(into or {})
    _check_into(into, columns)
    _check_answer_rows(questionnaire, answers)
    _check_output(source, out, fmt, filename)
    if fmt in EXCEL_FORMATS:
        body, report = _write_workbook(data, filename, fmt, questionnaire, answers, columns, into)
    else:
        body, report = _write_text(data, filename, questionnaire, answers, columns, into)
    _write_whole(out, body)
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
        raise UnknownColumn(f"into= names {unknown_into[0]!r}, which is not one of the answer columns "
                            f"({', '.join(columns)})")


def _no_such_column(filename: str, table: QuestionTable, target: str, names: Sequence[str]) -> UnknownColumn:
    where = f"{filename}: sheet {table.sheet!r}" if table.sheet is not None else filename
    if not table.has_header:
        return UnknownColumn(f"{where} has no header row, so there is no column {target!r} to write into; "
                             "let the answers go into new columns (leave out --answer-column / into=)")
    listed = ", ".join(repr(n) for n in names)
    return UnknownColumn(f"{where} has no column {target!r} on header row {table.header_row} (it has {listed}); "
                         "name one of these with --answer-column (into=)")


def _check_answer_rows(q: Questionnaire, answers: Mapping[tuple[str | None, int], Mapping[str, Any]]) -> None:
    rows = {(r.sheet, r.row) for r in q.questions}
    for key in answers:
        if tuple(key) not in rows:
            sheet, row = key
            where = f"sheet {sheet!r} row {row}" if sheet is not None else f"row {row}"
            raise UnknownRow(f"{q.filename}: an answer is given for {where}, which is not a question row")


def _check_same_file(text_at: Callable[[int, int], str], table: QuestionTable, filename: str) -> None:
    """The questionnaire must come from this very file, or the answers would land on the wrong rows:
    its question header (or, without a header row, its first question) must still be where it was."""
    if table.has_header:
        r, want, what = table.header_row, table.question_header, f"header row {table.header_row}"
    else:
        r, want = table.questions[0].row, table.questions[0].text
        what = f"row {r}"
    found = text_at(r, table.question_column)
    if _norm(found) != _norm(want):
        where = f"sheet {table.sheet!r} " if table.sheet is not None else ""
        raise SheetError(f"{filename}: {where}{what} has {found!r} where the questionnaire "
                         f"had {want!r}; the file changed since it was read — read it again")


def _untitled_warning(table: QuestionTable, cols: Mapping[str, tuple[int, bool]]) -> list[str]:
    """Without a header row the new columns cannot be titled: say which is which."""
    if table.has_header:
        return []
    where = f"sheet {table.sheet!r} has" if table.sheet is not None else "the file has"
    names = ", ".join(f"{_letter(c)} {name}" for name, (c, _) in cols.items())
    return [f"{where} no header row, so the answer columns have no titles: {names}"]


def _check_output(source: Path | str | bytes, out: Path | str | BinaryIO, fmt: str, filename: str) -> None:
    if not isinstance(out, (str, Path)):
        return
    out = Path(out)
    _refuse_overwrite(source, out)
    suffix = out.suffix.lower()
    if fmt in EXCEL_FORMATS and suffix != f".{fmt}":
        raise OutputError(f"{out}: the output of a .{fmt} check sheet must be named .{fmt}"
                          + (" (it keeps the macros)" if fmt == "xlsm" else ""))
    if fmt == "text" and suffix not in TEXT_SUFFIXES:
        raise OutputError(f"{out}: the output of {filename} must be a .csv, .tsv or .txt file")
    if not out.parent.is_dir():
        raise OutputError(f"{out}: the folder {out.parent} does not exist")


def _refuse_overwrite(source: Path | str | bytes, out: Path) -> None:
    if isinstance(source, (bytes, bytearray)):
        return
    src = Path(source)
    if out.resolve() == src.resolve() or (out.exists() and os.path.samefile(out, src)):
        raise OutputError(f"{out}: the output would overwrite the input file; "
                          "write to another file name (your original is kept as it is)")


def _write_whole(out: Path | str | BinaryIO, body: bytes) -> None:
    """All of `body` at `out`, or nothing: a temporary file beside it, then an atomic rename."""
    if not isinstance(out, (str, Path)):
        out.write(body)
        return
    import tempfile

    out = Path(out)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    except OSError as e:  # a folder one cannot write to, or a full disk
        raise OutputError(f"cannot write {out}: {e.strerror or e}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, out)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise OutputError(f"cannot write {out}: {e.strerror or e}") from None
        raise


def _cell_value(value: Any) -> Any:
    """What goes into a cell: text cleaned of characters Excel rejects; numbers stay numbers."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    text = value if isinstance(value, str) else str(value)
    return ILLEGAL_CHARACTERS_RE.sub("", text)[:MAX_CELL_CHARS]


def _safe_csv_text(value: Any) -> str:
    """A CSV cell that a spreadsheet will never run as a formula."""
    if value is None:
        return ""
    text = _cell_value(value)
    text = str(text) if not isinstance(text, str) else text
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


# ---- workbooks


def _write_workbook(data: bytes, filename: str, fmt: str, q: Questionnaire,
                    answers: Mapping[tuple[str | None, int], Mapping[str, Any]], columns: Sequence[str],
                    into: Mapping[str, str]) -> tuple[bytes, WriteReport]:
    from openpyxl import load_workbook

    if q.format != fmt:
        raise SheetError(f"{filename}: the questionnaire was read from a {q.format} file, not this {fmt} file")
    inventory = _package_inventory(data)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            wb = load_workbook(io.BytesIO(data), keep_vba=fmt == "xlsm", rich_text=True)
        except Exception as e:
            raise UnreadableFile(f"{filename} cannot be read as a workbook ({type(e).__name__}: {e})") from None
    placements: list[ColumnPlacement] = []
    untitled: list[str] = []
    written = 0
    for table in q.tables:
        if table.sheet not in wb.sheetnames:
            raise SheetError(f"{filename}: the questionnaire names sheet {table.sheet!r}, which this file lacks; "
                             "read the file again")
        ws = wb[table.sheet]
        _check_same_file(lambda r, c: _text(ws.cell(r, c).value), table, filename)
        rows = sorted(r for (s, r) in answers if s == table.sheet)
        cols = _place_columns(ws, table, columns, into, rows, filename)
        untitled += _untitled_warning(table, cols)
        if table.has_header:
            _write_headers(ws, table, cols)
        for r in rows:
            values = answers[(table.sheet, r)]
            for name, placed in cols.items():
                if name in values or not placed[1]:  # new columns get their look even where empty
                    _write_body_cell(ws, r, placed, table.last_column, values.get(name))
            written += 1
        _set_widths(ws, cols, [answers[(table.sheet, r)] for r in rows])
        placements += [ColumnPlacement(table.sheet, name, c, _letter(c), existing)
                       for name, (c, existing) in cols.items()]
    buf = io.BytesIO()
    wb.save(buf)
    body = buf.getvalue()
    warns = untitled + _loss_warnings(inventory, wb, body, [str(w.message) for w in caught])
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
    normed = {c: _norm(h) for c, h in enumerate(header, start=1)} if table.has_header else {}
    placed: dict[str, tuple[int, bool]] = {}
    for name, target in into.items():
        c = _find_header(normed, target) if table.has_header else None
        if c is None:
            raise _no_such_column(filename, table, target, [h for h in header if _norm(h)])
        placed[name] = (c, True)
    placed.update(_answered_before(normed, [n for n in columns if n not in placed], table.question_column))
    return placed


def _answered_before(header: Mapping[int, str], names: Sequence[str], qcol: int) -> dict[str, tuple[int, bool]]:
    """The columns of an earlier kijun answer: reused only when the header row has *all* of `names`
    (right of the question column), so that a column of the user's that happens to share a name is
    never overwritten."""
    found = {}
    for name in names:
        c = next((c for c, h in header.items() if h == _norm(name) and c > qcol), None)
        if c is None:
            return {}
        found[name] = (c, True)
    return found


def _find_header(header: Mapping[int, str], target: str) -> int | None:
    want = _norm(target)
    exact = [c for c, h in header.items() if h == want]
    if exact:
        return exact[0]
    partial = [c for c, h in header.items() if want and want in h]
    return partial[0] if len(partial) == 1 else None


def _free(ws: Any, c: int, rows: Sequence[int]) -> bool:
    from openpyxl.cell.cell import MergedCell

    for r in rows:
        cell = ws.cell(r, c)
        if isinstance(cell, MergedCell) or _text(cell.value):
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
        cell.value = _cell_value(name)
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
    v = _cell_value(value)
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
        longest = max([len(_text(v.get(name))) for v in values] + [len(name)])
        ws.column_dimensions[_letter(c)].width = 50 if longest > 30 else max(10, min(30, longest * 2 + 2))


# ---- what openpyxl cannot carry over


_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"

# Parts whose loss is reported per sheet, or that openpyxl renames or rebuilds.
_TYPES_REPORTED_ELSEWHERE = ("drawing+xml", "drawingml.chart+xml", "image/", "vmlDrawing", "threadedcomments",
                             "person+xml", "controlproperties", "activeX", "comments+xml", "calcChain",
                             "relationships+xml")
_TYPE_NAMES = {
    "chartstyle+xml": "Excel's chart style and colour presets (the charts themselves are kept)",
    "chartcolorstyle+xml": None,  # reported with the chart styles
    "printerSettings": "printer driver settings (paper size, orientation, margins and print titles are kept)",
    "slicer": "slicers",
    "slicerCache": None,
    "timeline": "timelines",
    "timelineCache": None,
    "customXml": "custom XML data",
    "connections+xml": "data connections",
    "queryTable+xml": "query tables",
    "webextension": "Office add-ins",
    "rdrichvalue": "pictures placed in cells",
}


def _package_inventory(data: bytes) -> dict[str, Any]:
    """Per sheet: pictures, charts, shapes, form controls and threaded comments; and every part's type."""
    import xml.etree.ElementTree as ET
    from zipfile import ZipFile

    z = ZipFile(io.BytesIO(data))
    names = set(z.namelist())

    def rels(part: str) -> list[tuple[str, str]]:
        folder, base = part.rsplit("/", 1) if "/" in part else ("", part)
        path = f"{folder}/_rels/{base}.rels" if folder else f"_rels/{base}.rels"
        if path not in names:
            return []
        out = []
        for rel in ET.fromstring(z.read(path)).iter(f"{{{_NS_PKG}}}Relationship"):
            target = rel.get("Target", "")
            if rel.get("TargetMode") == "External":
                continue
            full = target.lstrip("/") if target.startswith("/") else os.path.normpath(
                f"{folder}/{target}").replace(os.sep, "/")
            out.append((rel.get("Type", "").rsplit("/", 1)[-1], full))
        return out

    sheets: dict[str, Counter[str]] = {}
    try:
        book = ET.fromstring(z.read("xl/workbook.xml"))
        by_id = {}
        for kind_target in ET.fromstring(z.read("xl/_rels/workbook.xml.rels")).iter(f"{{{_NS_PKG}}}Relationship"):
            t = kind_target.get("Target", "")
            by_id[kind_target.get("Id")] = t.lstrip("/") if t.startswith("/") else f"xl/{t}"
        for s in book.iter(f"{{{_NS_MAIN}}}sheet"):
            part = by_id.get(s.get(f"{{{_NS_REL}}}id"), "")
            counts: Counter[str] = Counter()
            for kind, target in rels(part):
                if kind == "drawing" and target in names:
                    counts.update(_drawing_objects(ET.fromstring(z.read(target))))
                elif kind in ("ctrlProp", "control"):
                    counts["form control"] += 1
                elif kind == "threadedComment" and target in names:
                    root = ET.fromstring(z.read(target))
                    counts["threaded comment"] += sum(1 for e in root if e.tag.endswith("threadedComment"))
            sheets[s.get("name", "")] = counts
    except (KeyError, ET.ParseError):
        pass
    return {"sheets": sheets, "types": _part_types(z)}


def _drawing_objects(root: Any) -> Counter[str]:
    """What a drawing part holds, anchor by anchor (Excel wraps newer objects in mc:AlternateContent)."""
    counts: Counter[str] = Counter()
    for anchor in root:
        if anchor.tag.endswith("}AlternateContent"):
            choice = next(iter(anchor), None)
            if choice is not None:
                counts.update(_drawing_objects(choice))
            continue
        for child in anchor:
            tag = child.tag.rsplit("}", 1)[-1]
            if tag == "pic":
                counts["image"] += 1
            elif tag == "graphicFrame":
                is_chart = any(e.tag.endswith("}chart") for e in child.iter())
                counts["chart" if is_chart else "diagram or other object"] += 1
            elif tag in ("sp", "grpSp", "cxnSp"):
                # a form control's drawing twin is counted with the form controls
                if not any(e.tag.endswith("}compatExt") for e in child.iter()):
                    counts["text box or shape"] += 1
    return counts


def _part_types(z: Any) -> Counter[str]:
    """How many parts of each content type the package has."""
    import xml.etree.ElementTree as ET

    root = ET.fromstring(z.read("[Content_Types].xml"))
    defaults = {e.get("Extension", "").lower(): e.get("ContentType", "") for e in root
                if e.tag.endswith("Default")}
    overrides = {e.get("PartName", "").lstrip("/"): e.get("ContentType", "") for e in root
                 if e.tag.endswith("Override")}
    types: Counter[str] = Counter()
    for name in z.namelist():
        if name.endswith("/"):
            continue
        types[overrides.get(name) or defaults.get(name.rsplit(".", 1)[-1].lower(), name)] += 1
    return types


_PLURALS = {"text box or shape": "text boxes or shapes", "diagram or other object": "diagrams or other objects",
            "image": "images", "chart": "charts", "form control": "form controls (check boxes, buttons)",
            "threaded comment": "threaded comments"}


def _loss_warnings(inventory: Mapping[str, Any], wb: Any, body: bytes, caught: Sequence[str]) -> list[str]:
    from zipfile import ZipFile

    warns = []
    for name, counts in inventory["sheets"].items():
        ws = wb[name] if name in wb.sheetnames else None
        lost = Counter(counts)
        if ws is not None:
            lost["image"] -= len(getattr(ws, "_images", []))
            lost["chart"] -= len(getattr(ws, "_charts", []))
        items = [counted(n, kind) for kind, n in lost.items() if n > 0]
        if items:
            joined = " and ".join([", ".join(items[:-1]), items[-1]] if len(items) > 1 else items)
            warns.append(f"sheet {name!r} has {joined} that cannot be carried over (openpyxl); "
                         "your original file is unchanged")
    before, after = inventory["types"], _part_types(ZipFile(io.BytesIO(body)))
    seen = set()
    for ctype, n in before.items():
        if n <= after.get(ctype, 0) or any(k in ctype for k in _TYPES_REPORTED_ELSEWHERE):
            continue
        key = next((k for k in _TYPE_NAMES if k in ctype), None)
        label = _TYPE_NAMES[key] if key else f"content that openpyxl does not know ({ctype})"
        if label and label not in seen:
            seen.add(label)
            warns.append(f"{label} cannot be carried over (openpyxl); your original file is unchanged")
    for message in dict.fromkeys(caught):
        if "DrawingML" not in message:
            warns.append(f"openpyxl: {message}; your original file is unchanged")
    return warns


def counted(n: int, kind: str) -> str:
    """"1 row", "3 rows", "2 text boxes or shapes": a count and its noun, plural unless it is one."""
    return f"{n} {kind}" if n == 1 else f"{n} {_PLURALS.get(kind, kind + 's')}"


# ---- text (CSV/TSV)


def _write_text(data: bytes, filename: str, q: Questionnaire,
                answers: Mapping[tuple[str | None, int], Mapping[str, Any]], columns: Sequence[str],
                into: Mapping[str, str]) -> tuple[bytes, WriteReport]:
    tf = _parse_text(data, filename)
    if q.format not in ("csv", "tsv") or len(q.tables) != 1:
        raise SheetError(f"{filename}: the questionnaire was read from a {q.format} file, not this text file")
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
    warns = _untitled_warning(table, cols)
    if hr:
        raw[hr - 1] = _edit_record(tf, hr, {c: name for name, (c, existing) in cols.items() if not existing})
    for r in rows:
        values = answers[(None, r)]
        raw[r - 1] = _edit_record(tf, r, {c: values.get(name) for name, (c, _) in cols.items() if name in values})
    text = "".join(raw)
    encoding = tf.encoding
    if encoding == "utf-8" and data.isascii() and not text.isascii():
        encoding = "utf-8-sig"
        warns.append("the file was plain ASCII and the answers are not, so it was written as UTF-8 with BOM, "
                     "which Excel opens correctly")
    try:
        body = text.encode(encoding)
    except UnicodeEncodeError as e:
        bad = text[e.start:e.end]
        encoding = "utf-8-sig"
        body = text.encode(encoding)
        warns.append(f"the answers contain characters that Shift_JIS (cp932) cannot hold (e.g. {bad!r}), "
                     "so the file was written as UTF-8 with BOM, which Excel opens correctly")
    placements = tuple(ColumnPlacement(None, n, c, _letter(c), existing) for n, (c, existing) in cols.items())
    return body, WriteReport(filename=filename, format=q.format, placements=placements, rows_written=len(rows),
                             warnings=tuple(warns), encoding=encoding)


def _edit_record(tf: _TextFile, r: int, cells: Mapping[int, Any]) -> str:
    """Record `r` with `cells` (1-based column -> value) set: the original text plus appended cells
    when all of them lie past its end, else the record written again."""
    original = tf.raw[r - 1]
    fields = list(tf.records[r - 1])
    if not cells:
        return original
    ending = re.search(r"(\r\n|\n|\r)?$", original).group(0)  # type: ignore[union-attr]
    width = max(len(fields), max(cells))
    extended = fields + [""] * (width - len(fields))
    for c, value in cells.items():
        extended[c - 1] = _safe_csv_text(value)
    buf = io.StringIO()
    # the terminator must hold CR and LF, or a cell with a line break in it would not be quoted
    writer = csv.writer(buf, delimiter=tf.delimiter, lineterminator="\r\n")
    if fields and min(cells) > len(fields):
        writer.writerow(extended[len(fields):])
        return original[:len(original) - len(ending)] + tf.delimiter + buf.getvalue()[:-2] + ending
    writer.writerow(extended)
    return buf.getvalue()[:-2] + ending


# ----------------------------------------------------------------- pasted questions, kijun's own table


def split_pasted(text: str) -> list[str]:
    """Pasted questions, one per line; blank lines are skipped."""
    questions = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if len(questions) > MAX_QUESTIONS:
        raise TooManyQuestions(f"{len(questions):,} questions pasted; the limit is {MAX_QUESTIONS:,} — "
                               "split the questionnaire into smaller parts")
    return questions


TABLE_FORMATS = ("csv", "xlsx")


def table_bytes(rows: Sequence[Sequence[Any]], fmt: str) -> bytes:
    """A new table, header row first, as CSV (UTF-8 with BOM, so Excel reads it as UTF-8) or XLSX
    (sheet 回答, bold header, wrapped text, frozen header)."""
    if fmt == "csv":
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\r\n").writerows([[_safe_csv_text(v) for v in row] for row in rows])
        return ("\ufeff" + buf.getvalue()).encode("utf-8")
    if fmt != "xlsx":
        raise OutputError(f"the answer table is written as {' or '.join(TABLE_FORMATS)}, not {fmt!r}")
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    ws = wb.active
    ws.title = "回答"
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            cell = ws.cell(r, c, _cell_value(value))
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula, whatever the text starts with
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            if r == 1:
                cell.font = Font(bold=True)
    for c in range(1, max((len(r) for r in rows), default=0) + 1):
        longest = max(len(_text(row[c - 1])) if c - 1 < len(row) else 0 for row in rows)
        ws.column_dimensions[_letter(c)].width = 50 if longest > 30 else max(6, min(30, longest * 2 + 2))
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
        raise OutputError(f"{out}: the answer table is written as .csv or .xlsx; name the output file so")
    if source is not None:
        _refuse_overwrite(source, out)
    if not out.parent.is_dir():
        raise OutputError(f"{out}: the folder {out.parent} does not exist")
    return fmt


def write_table(rows: Sequence[Sequence[Any]], out: Path | str, *, source: Path | str | bytes | None = None) -> str:
    """Write `rows` as a new .csv or .xlsx file (by `out`'s extension), whole or not at all; the
    file the questions came from (`source`) is never overwritten. Returns the format written."""
    fmt = table_format(out, source=source)
    _write_whole(out, table_bytes(rows, fmt))
    return fmt
