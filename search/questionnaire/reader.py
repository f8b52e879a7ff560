"""Finding the questions in the user's own check sheet.

`read_questionnaire(source, filename, *, sheet=None, header_row=None, column=None)`
finds, on every sheet, the header row (within the first 30 rows) and the question
column (by its header and by the long sentences below it). Rows that are not questions
are skipped and reported. A file without any header row (a plain list, one question per
row) is read too: every row with a sentence in the question column is a question.
"""
from __future__ import annotations

import io
import re
import unicodedata
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from messages import Message
from corpus.grid import cell_text
from search.questionnaire.checksheet import (EXCEL_FORMATS, HEADER_SCAN_ROWS, IgnoredSheet, MAX_QUESTIONS,
                                             MIN_QUESTION_CHARS, NoHeaderRow, NoQuestionTable, Questionnaire,
                                             QuestionRow, QuestionTable, REASON_AFTER, REASON_EMPTY, REASON_FORMULA,
                                             REASON_HEADING, REASON_NO_TEXT, REASON_NOT_TEXT, REASON_NOTE,
                                             REASON_SHORT, SheetError, SkippedRow, TooManyQuestions, UnknownColumn,
                                             MAX_CELLS, MAX_COLUMNS, UnknownSheet, UnreadableFile, at,
                                             check_package, column_letter, fold, format_of, load_bytes,
                                             too_many_cells, too_wide)
from search.questionnaire.delimited import parse_text


def read_questionnaire(source: Path | str | bytes, filename: str, *, sheet: str | None = None,
                       header_row: int | None = None, column: str | int | None = None) -> Questionnaire:
    """The question tables of a check sheet (.xlsx, .xlsm, .csv, .tsv, .txt).

    Every sheet is considered unless `sheet` names one; hidden sheets and
    cover/history/example sheets are ignored and reported. `header_row`
    (1-based) and `column` (header name, 1-based number, or letter) override
    detection on every sheet read.
    """
    data = load_bytes(source, filename)
    fmt = format_of(data, filename)
    if fmt in EXCEL_FORMATS:
        q = _read_workbook(data, filename, fmt, sheet, header_row, column)
    else:
        q = _read_text(data, filename, sheet, header_row, column)
    count = len(q.questions)
    if count > MAX_QUESTIONS:
        raise TooManyQuestions("too_many_questions" if fmt in EXCEL_FORMATS else "too_many_questions_text",
                               filename=filename, count=count, limit=MAX_QUESTIONS)
    return q



def row_cells(source: Path | str | bytes, filename: str, q: Questionnaire) -> dict[tuple[str | None, int],
                                                                                tuple[str, ...]]:
    """Every cell of each question row, as text (column 1 first): what the other columns of a
    returned check sheet say about its questions. `q` must have been read from this file."""
    data = load_bytes(source, filename)
    wanted = {(r.sheet, r.row) for r in q.questions}
    if format_of(data, filename) not in EXCEL_FORMATS:
        records = parse_text(data, filename).records
        return {(None, r): tuple(cell_text(v) for v in records[r - 1]) for _, r in wanted if r <= len(records)}
    wb = _open_workbook(data, filename, read_only=True, data_only=True)
    try:
        out = {}
        budget = _CellBudget(filename)
        for table in q.tables:
            grid = _sheet_grid(wb[table.sheet], budget, str(table.sheet))
            out.update({(table.sheet, r.row): tuple(cell_text(v) for v in grid[r.row - 1])
                        for r in table.questions if r.row <= len(grid)})
        return out
    finally:
        wb.close()


def _read_text(data: bytes, filename: str, sheet: str | None, header_row: int | None,
               column: str | int | None) -> Questionnaire:
    tf = parse_text(data, filename)
    fmt = "tsv" if tf.delimiter == "\t" else "csv"
    warns: list[Message] = []
    if sheet is not None:
        warns.append(Message("csv_has_no_sheets", {"filename": filename, "fmt": fmt.upper(), "sheet": sheet}))
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
        warns: list[Message] = []
        explicit = sheet is not None
        # sheets without a header row: read as plain lists of questions only if no sheet has a table
        plain: list[tuple[str, list[list[Any]], list[list[Any]], NoHeaderRow]] = []
        budget = _CellBudget(filename)
        for name in names:
            ws = values_wb[name]
            reason = _sheet_ignore_reason(ws, name, explicit)
            if reason:
                ignored.append(IgnoredSheet(name, reason))
                continue
            grid = _sheet_grid(ws, budget, name)
            if not any(any(cell_text(v) for v in row) for row in grid):
                ignored.append(IgnoredSheet(name, IGNORED_EMPTY))
                continue
            formulas = _sheet_grid(formulas_wb[name], _CellBudget(filename), name)
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
                ignored.append(IgnoredSheet(name, e.message.without("at")))
        for name, grid, formulas, error in plain:
            try:
                if tables:
                    raise error
                tables.append(_find_table(grid, formulas, filename, name, header_row, column, warns,
                                          headerless=True))
            except (NoQuestionTable, UnknownColumn) as e:
                failures.append(e)
                ignored.append(IgnoredSheet(name, e.message.without("at")))
        ignored.sort(key=lambda s: names.index(s.name))
        tables.sort(key=lambda t: names.index(str(t.sheet)))
        if not tables:
            if len(failures) == 1:
                raise failures[0]
            found = [Message("sheet_found", {"sheet": s.name, "reason": s.reason}) for s in ignored] \
                or Message("no_sheets")
            raise NoQuestionTable("no_question_table", filename=filename, found=found)
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
        raise UnreadableFile("damaged_zip", filename=filename) from None
    if "xl/workbook.xml" not in names and not any(n.startswith("xl/workbook") for n in names):
        raise UnreadableFile("zip_not_workbook", filename=filename)
    check_package(data, filename)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return load_workbook(io.BytesIO(data), **kwargs)
    except Exception as e:  # openpyxl raises many kinds on broken packages
        raise UnreadableFile(filename=filename, reason=f"{type(e).__name__}: {e}") from None


def _resolve_sheet(sheet: str, names: Sequence[str], filename: str) -> str:
    if sheet in names:
        return sheet
    folded = {fold(n): n for n in names}
    if fold(sheet) in folded:
        return folded[fold(sheet)]
    raise UnknownSheet(filename=filename, sheet=sheet, names=[f"「{n}」" for n in names])


IGNORED_CHART = Message("sheet_chart")
IGNORED_HIDDEN = Message("sheet_hidden")
IGNORED_BY_NAME = Message("sheet_by_name")
IGNORED_EMPTY = Message("sheet_empty")


def _sheet_ignore_reason(ws: Any, name: str, explicit: bool) -> Message | None:
    if not hasattr(ws, "iter_rows"):
        return IGNORED_CHART
    if explicit:
        return None
    if ws.sheet_state != "visible":
        return IGNORED_HIDDEN
    if _IGNORED_SHEET_NAMES.search(fold(name)):
        return IGNORED_BY_NAME
    return None


class _CellBudget:
    """The cells one reading of a workbook may build (MAX_CELLS), rows of empty cells included: a sheet
    with one cell far down or far right costs the rows and columns before it."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.left = MAX_CELLS

    def take(self, row: Sequence[Any], sheet: str) -> None:
        if len(row) > MAX_COLUMNS:
            raise too_wide(self.filename, Message("where_sheet", {"sheet": sheet}), len(row))
        self.left -= max(len(row), 1)
        if self.left < 0:
            raise too_many_cells(self.filename)


def _sheet_grid(ws: Any, budget: _CellBudget, sheet: str) -> list[list[Any]]:
    """All rows of a read-only sheet as lists of values, up to the last row in the file."""
    ws.reset_dimensions()  # a wrong <dimension> must not add a million empty rows
    grid = []
    with warnings.catch_warnings():  # what openpyxl would drop matters on writing, and is reported there
        warnings.simplefilter("ignore")
        for r in ws.iter_rows(values_only=True):
            budget.take(r, sheet)
            grid.append(list(r))
    return grid



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


_KINDS = [(w, 2) for w in _QUESTION_STRONG] + [(w, 1) for w in _QUESTION_WEAK] + [(w, 0) for w in _NOT_QUESTION]
_KEYWORD_KIND: dict[str, int] = {}  # a keyword as it is found in a folded header -> its kind
for _word, _kind in _KINDS:
    for _form in dict.fromkeys((_word, _word.replace(" ", ""))):  # "check item" may be written "checkitem"
        _KEYWORD_KIND.setdefault(_form, _kind)  # a strong keyword first among equals
_LENGTHS = sorted({len(w) for w in _KEYWORD_KIND}, reverse=True)
_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


def _header_kind(header: str) -> int | None:
    """2 = strong question header, 1 = weak one, 0 = some other known header, None = unknown.

    The keyword that ends last decides ("質問に対する回答" is an answer column,
    "評価項目" a question column): Japanese and English compounds are head-final. Of keywords
    ending at the same place, the longest. An English keyword counts only as a whole word.
    Dictionary look-ups from the end, so a sheet of thousands of header cells reads fast.
    """
    h = re.sub(r"[(\[【<].*?[)\]】>]", " ", fold(header))
    for end in range(len(h), 0, -1):
        for n in _LENGTHS:
            start = end - n
            kind = _KEYWORD_KIND.get(h[start:end]) if start >= 0 else None
            if kind is None:
                continue
            if h[start].isascii() and (start > 0 and h[start - 1] in _ALNUM or end < len(h) and h[end] in _ALNUM):
                continue
            return kind
    return None


def _find_table(grid: list[list[Any]], formulas: list[list[Any]] | None, filename: str, sheet: str | None,
                header_row: int | None, column: str | int | None, warns: list[Message], *,
                headerless: bool = False) -> QuestionTable:
    """The question table of one grid; with `headerless`, a grid without a header row may be
    read as a plain list of questions."""
    where = at(filename, sheet)
    if header_row is not None:
        if not 1 <= header_row <= len(grid):
            raise NoQuestionTable("header_row_outside", at=where, rows=len(grid), row=header_row)
        rows = [header_row]
    else:
        rows = _header_candidates(grid, column)
        if not rows:
            plain = _plain_list(grid, formulas, filename, sheet, where, column, warns) if headerless else None
            if plain is None:
                raise NoHeaderRow(at=where, scan=HEADER_SCAN_ROWS)
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
            raise NoQuestionTable("column_has_no_questions", at=where, row=hr,
                                  column=column_named(table.question_column_letter, table.question_header))
        return table
    assert first_error is not None
    raise first_error


def _plain_list(grid: list[list[Any]], formulas: list[list[Any]] | None, filename: str, sheet: str | None,
                where: Message, column: str | int | None, warns: list[Message]) -> QuestionTable | None:
    """A list of questions without a header row (a one-column CSV a user typed): the column with the
    most sentences, when some of them read as questions; a lone question-column title above them
    ("質問") is taken as the header. None when no column qualifies."""
    width = max((len(r) for r in grid), default=0)
    if column is not None:
        if _is_column_name(column):
            return None  # a column named by its header needs a header row
        qcol = resolve_column([None] * width, column, filename, where, 0)
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
    above = next((r for r in range(first - 1, 0, -1) if any(cell_text(v) for v in grid[r - 1])), None)
    if above is not None and _header_kind(cell_text(_cell_at(grid, above, qcol))) in (1, 2):
        return _build_table(grid, formulas, sheet, above, qcol)
    warns.append(Message("headerless_list", {"at": where, "letter": column_letter(qcol)}))
    return table


def _cell_at(grid: list[list[Any]], r: int, c: int) -> Any:
    row = grid[r - 1] if 0 < r <= len(grid) else []
    return row[c - 1] if c - 1 < len(row) else None


def _header_candidates(grid: list[list[Any]], column: str | int | None) -> list[int]:
    """Rows (1-based) that look like a header, best first."""
    scored = []
    for i, row in enumerate(grid[:HEADER_SCAN_ROWS], start=1):
        cells = [cell_text(v) for v in row if cell_text(v)]
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


def _question_column(grid: list[list[Any]], hr: int, column: str | int | None, filename: str, where: Message,
                     warns: list[Message]) -> int:
    header = grid[hr - 1]
    if column is not None:
        return resolve_column(header, column, filename, where, hr)
    body = grid[hr:]
    candidates = []
    unknown = []
    for c, value in enumerate(header, start=1):
        name = cell_text(value)
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
        warns.append(Message("question_column_guessed", {"at": where, "column": column_named(column_letter(c), name)}))
        return c
    raise NoQuestionTable(at=where, row=hr, names=_header_names(header))


def column_named(letter: str, header: Any) -> Message:
    """A column as a message names it: by its letter and its header, or by its letter alone when its
    header cell is blank (「Z 列」, never 「Z 列「」」)."""
    title = cell_text(header) if header is not None else ""
    return Message("column_titled", {"letter": letter, "header": title}) if title \
        else Message("column_untitled", {"letter": letter})


def _column_text_stats(body: list[list[Any]], c: int) -> tuple[int, int]:
    """How many cells below look like sentences, and their total length; (0, 0) for label columns."""
    nonempty = sentences = total = 0
    for row in body:
        t = cell_text(row[c - 1]) if c - 1 < len(row) else ""
        if not t:
            continue
        nonempty += 1
        if isinstance(row[c - 1], str) and len(fold(t)) >= MIN_QUESTION_CHARS and not _is_heading(t):
            sentences += 1
            total += len(t)
    if sentences == 0 or sentences < 0.3 * nonempty:
        return 0, 0
    return sentences, total


def _header_names(header: Sequence[Any]) -> list[str]:
    """A header row's titles as a message lists them: 「確認項目」, 「回答」."""
    return [f"「{cell_text(v)}」" for v in header if cell_text(v)] or ["-"]


def resolve_column(header: Sequence[Any], column: str | int, filename: str, where: Message, hr: int,
                   control: str = "column") -> int:
    """A column named by its header, its number (1 = first) or its letter; UnknownColumn naming the
    control that names it (`control`: a key of the catalogue's FIELDS)."""
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
        raise UnknownColumn("unknown_column_no_header", at=where, column=column, control=Message(f"control_{control}"))
    raise UnknownColumn(at=where, column=column, row=hr, names=_header_names(header),
                        control=Message(f"control_{control}"))


def _is_column_name(column: str | int | None) -> bool:
    """A column given by its header's name, rather than a number or a letter."""
    return isinstance(column, str) and not re.fullmatch(r"\s*(\d+|[A-Za-z]{1,3})\s*", column)


def _column_by_name(row: Sequence[Any], name: str) -> int | None:
    want = fold(name)
    for c, value in enumerate(row, start=1):
        if want and fold(cell_text(value)) == want:
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
    headers = tuple(cell_text(header[c - 1]) if c - 1 < len(header) else "" for c in range(1, last_column + 1))
    return QuestionTable(sheet=sheet, header_row=hr, question_column=qcol, question_column_letter=column_letter(qcol),
                         question_header=headers[qcol - 1], headers=headers, last_column=last_column,
                         questions=tuple(questions), skipped=tuple(skipped))


def _classify(row: list[Any], qcol: int, formula: Any) -> tuple[str, str | None]:
    """The row's question text and None, or the row's text and why it is not a question."""
    texts = [cell_text(v) for v in row if cell_text(v)]
    joined = " | ".join(texts)
    value = row[qcol - 1] if qcol - 1 < len(row) else None
    q = cell_text(value)
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
    if len(fold(q)) < MIN_QUESTION_CHARS:
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
        if cell_text(row[c - 1]):
            return c
    return 0


