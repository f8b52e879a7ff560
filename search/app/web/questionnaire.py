"""The questionnaire workflow behind /answer and POST /api/answer: read a form, answer as a job.

A check sheet (or pasted questions) is read, answered and written in the answering pool's
own thread (`search.app.web.jobs`: a 300-question sheet must not stall searches); `Run`
holds what the page shows and the files it offers: the user's own file with the answers
filled in, and kijun's flat table as CSV or XLSX, made when asked for (`Run.table`, in the
same job).
"""
from __future__ import annotations

import io
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any
from urllib.parse import quote

from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request

from messages import excerpt
from search.app.web.limits import MAX_FORM_BYTES
from search.engine import Engine
from search.query import DEFAULT_MODE
from search.questionnaire import answer as qa
from search.questionnaire import checksheet, reader, table, writer

Progress = Callable[[int, int], None]
FILLED = "filled"
TABLES = {"csv": "answers.csv", "xlsx": "answers.xlsx"}
MEDIA_TYPES = {".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
               ".xlsm": "application/vnd.ms-excel.sheet.macroEnabled.12",
               ".csv": "text/csv", ".tsv": "text/tab-separated-values", ".txt": "text/plain"}
# Files that cannot be read at all: not kept. Any other error (no question column found, an unknown
# sheet, too many questions, a bad setting) keeps the upload, for the user to correct and run again.
UNREADABLE = (checksheet.UnsupportedFormat, checksheet.EncryptedWorkbook, checksheet.UnreadableFile,
              checksheet.FileTooLarge)


@dataclass(frozen=True)
class Settings:
    """What the user chose on the form (or the API call): detection overrides and search options."""

    sheet: str | None = None
    header_row: int | None = None
    column: str | None = None
    answer_column: str | None = None
    mode: str = DEFAULT_MODE
    top: int = 3

    @property
    def into(self) -> dict[str, str] | None:
        return {qa.DRAFT_COLUMN: self.answer_column} if self.answer_column else None


@dataclass
class Run:
    """One answered questionnaire: what was read, the answers, and the files made from them."""

    answers: list[qa.Answer]
    questionnaire: checksheet.Questionnaire | None = None  # None for pasted questions
    report: checksheet.WriteReport | None = None  # where the answers went in the user's file
    filled: bytes | None = None  # the user's file with the answers in it

    @property
    def rows(self) -> tuple[checksheet.QuestionRow, ...] | None:
        return self.questionnaire.questions if self.questionnaire is not None else None

    def table(self, fmt: str) -> bytes:
        """kijun's own table of the answers as `fmt` (one of TABLES: csv or xlsx), made now."""
        return table.table_bytes(qa.table_rows(self.answers, self.rows), fmt)


@asynccontextmanager
async def read_form(request: Request) -> AsyncIterator[FormData]:
    """The submitted form (its size is held to MAX_FORM_BYTES as it streams in: `limits.BodyLimit`),
    refused with a clear message when malformed, and closed — its spooled files with it — when done."""
    try:
        form = await request.form(max_files=1, max_fields=50, max_part_size=MAX_FORM_BYTES)
    except MultiPartException as e:  # too many parts, a part too large
        raise qa.QuestionnaireError("upload_unreadable", detail=e.message) from None
    except HTTPException as e:  # starlette's wrapping of the same, inside an app
        raise qa.QuestionnaireError("upload_unreadable", detail=e.detail) from None
    try:
        yield form
    finally:
        await form.close()


async def form_fields(request: Request) -> tuple[dict[str, str], tuple[str, bytes] | None]:
    """The submitted form's text fields and its file ((name, bytes), None when none was chosen), the
    form closed before returning."""
    async with read_form(request) as form:
        return {k: v for k, v in form.items() if isinstance(v, str)}, await uploaded(form)


def field(form: Any, name: str) -> str | None:
    """A form field's text; None when blank, which means "detect it" (or the default)."""
    return str(form.get(name) or "").strip() or None


MAX_ROW_DIGITS = 7  # a row number: Excel's last row is 1,048,576


def number_of(text: str, digits: int) -> int | None:
    """A form field's whole number, or None when it is not one — read only when it has at most `digits`
    digits, so a 5,000-digit value costs nothing (int() of it would refuse, or take time)."""
    return int(text) if text.isdecimal() and len(text) <= digits else None


def header_row_of(form: Any) -> int | None:
    """The form's header row (1-based), None to detect it."""
    header_row = field(form, "header_row")
    if header_row is None:
        return None
    number = number_of(header_row, MAX_ROW_DIGITS)
    if number is None or number < 1:
        raise qa.QuestionnaireError("header_row_not_number", value=excerpt(header_row))
    return number


def settings_from(form: Any) -> Settings:
    """The form's settings; a blank field means "detect it" (or the default)."""
    top = field(form, "top") or "3"
    number = number_of(top, len(str(qa.MAX_TOP)))
    if number is None or not 1 <= number <= qa.MAX_TOP:
        raise qa.QuestionnaireError(max=qa.MAX_TOP, value=excerpt(top))
    return Settings(sheet=field(form, "sheet"), header_row=header_row_of(form), column=field(form, "column"),
                    answer_column=field(form, "answer_column"), mode=field(form, "mode") or DEFAULT_MODE,
                    top=number)


async def uploaded(form: Any) -> tuple[str, bytes] | None:
    """(file name, bytes) of the form's file, or None when no file was chosen."""
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    data = await upload.read(checksheet.MAX_FILE_BYTES + 1)
    return PurePath(upload.filename).name, data


def content_disposition(filename: str) -> str:
    """An attachment header for any file name (RFC 6266: an ASCII fallback and the UTF-8 name)."""
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def filled_name(filename: str) -> str:
    """The download name of the filled copy: チェックシート.xlsx → チェックシート_回答.xlsx."""
    p = PurePath(filename)
    return f"{p.stem}_回答{p.suffix}"


def answer_file(engine: Engine, data: bytes, filename: str, settings: Settings, *,
                progress: Progress | None = None) -> Run:
    """Read, answer and fill in one check sheet (a job: see `search.app.web.jobs`)."""
    q = reader.read_questionnaire(data, filename, sheet=settings.sheet, header_row=settings.header_row,
                                 column=settings.column)
    writer.check_destination(data, q, io.BytesIO(), qa.ANSWER_COLUMNS, into=settings.into)
    answers = qa.answer_sheet(engine, q.questions, mode=settings.mode, top=settings.top, progress=progress)
    out = io.BytesIO()
    report = writer.write_answers(data, filename, q, qa.filled_cells(q.questions, answers), qa.ANSWER_COLUMNS, out,
                                 into=settings.into)
    return Run(answers, q, report, out.getvalue())


def answer_pasted(engine: Engine, text: str, settings: Settings, *, progress: Progress | None = None) -> Run:
    questions = table.split_pasted(text)
    if not questions:
        raise qa.QuestionnaireError("no_questions")
    return Run(qa.answer_questions(engine, questions, mode=settings.mode, top=settings.top, progress=progress))
