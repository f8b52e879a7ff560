"""The JSON API (OpenAPI docs at /docs): the same shapes as the CLI's --format json."""
from __future__ import annotations

from functools import partial
from pathlib import PurePath
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field, ValidationError

from corpus.duplicates import DEFAULT_THRESHOLD, MIN_CRITERIA_RANGE, THRESHOLD_RANGE, cached_report
from corpus.records import UnknownCriterion
from search.questionnaire import answer as qa
from search.questionnaire import checksheet
from search.questionnaire import table
from search.app.presentation import history_json, shown_json
from search.app.web import examples
from search.app.web.deps import EngineDep, blank
from search.app.web.errors import api_error
from search.app.web.jobs import Job, JobPool
from search.app.web.questionnaire import (MEDIA_TYPES, Progress, Settings, answer_file, content_disposition,
                                          filled_name, read_form, settings_from, uploaded)
from search.app.web.refusals import validation_response
from search.errors import QueryError
from search.query import DEFAULT_MODE, MODES

router = APIRouter(prefix="/api", tags=["api"])
UPLOAD_FORMATS = ("sheet", *table.TABLE_FORMATS)


class AnswerRequest(BaseModel):
    questions: list[str] = Field(..., max_length=checksheet.MAX_QUESTIONS, description="One question per item.")
    mode: str = Field(DEFAULT_MODE, description=" / ".join(MODES))
    top: int = Field(3, ge=1, le=qa.MAX_TOP, description="Candidate slots per question")
    document: list[str] = Field([], max_length=100, description="Answer only from these documents (their IDs, "
                                                                  "GET /api/documents); empty: every document")


UPLOAD_FORM = {
    "type": "object", "required": ["file"],
    "properties": {
        "file": {"type": "string", "format": "binary", "description": "The check sheet: .xlsx, .xlsm, .csv or .tsv"},
        "sheet": {"type": "string", "description": "Read only this sheet"},
        "header_row": {"type": "integer", "minimum": 1, "description": "The header row (1 = first row)"},
        "column": {"type": "string", "description": "Question column: header name, number or letter"},
        "answer_column": {"type": "string", "description": "Write the 回答案 into this existing column"},
        "mode": {"type": "string", "enum": list(MODES), "default": DEFAULT_MODE},
        "top": {"type": "integer", "minimum": 1, "maximum": qa.MAX_TOP, "default": 3},
        "format": {"type": "string", "enum": list(UPLOAD_FORMATS), "default": "sheet",
                   "description": "sheet: the uploaded file, filled in (same format); csv / xlsx: kijun's table"},
        "document": {"type": "array", "items": {"type": "string"},
                     "description": "Answer only from these documents (one field each); none: every document"},
    },
}


@router.get("/search", summary="Search criteria and change history",
            responses=examples.json_200("The result, as `kijun search --format json`")
            | examples.error(400, "empty_query", "the query is empty; type a word such as パスワード, a question, or an "
                             "ID such as 実26", "A query that cannot be searched (empty, too long, a bad mode or "
                                                "limit), or `q` missing (`missing_query`)"))
def api_search(engine: EngineDep, q: str = Query(..., description="a word, phrase, -exclusion, ID or question"),
               mode: str = DEFAULT_MODE, limit: int = 10, aws: str | None = None, customer: str | None = None,
               series: str | None = None, explain: bool = False,
               document: list[str] = Query([], description="search only within these documents (repeatable: their "
                                                           "IDs, GET /api/documents); none: every document")) -> Any:
    try:
        return engine.search(q, mode=mode, limit=limit, aws=blank(aws), customer=blank(customer),
                             series=blank(series), explain=explain, documents=document).to_dict()
    except QueryError as e:
        return api_error(e, 400)


@router.get("/criteria/{cid}", summary="One criterion (same JSON as `kijun show --format json`)",
            responses=examples.json_200("The criterion; with documents added, `documents`: what each that has the "
                                        "ID says of it (`{\"document\", \"title\", \"status\", \"key\", "
                                        "\"edition\", \"fields\": [{\"label\", \"text\"}]}`); an ID only the change "
                                        "history has (統20) gives `{\"id\", \"kind\": \"revision\", \"revisions\"}`")
            | examples.error(404, "unknown_criterion", "no criterion '実999' in the corpus; the corpus has 実1–実148, "
                             "監1–監5", "No such criterion"))
def api_criterion(engine: EngineDep, cid: str) -> Any:
    history = engine.doc.history_only(cid)
    if history:
        return history_json(engine.doc, history)
    try:
        return shown_json(engine.doc, engine.table, cid)
    except UnknownCriterion as e:
        return api_error(e, 404)


@router.get("/duplicates", summary="Repeated passages and near-identical criteria",
            responses=examples.json_200("Passages shared by at least `min_criteria` criteria, and near-identical "
                                        "criteria"))
def api_duplicates(engine: EngineDep,
                   min_criteria: int = Query(2, ge=MIN_CRITERIA_RANGE[0], le=MIN_CRITERIA_RANGE[1]),
                   threshold: float = Query(DEFAULT_THRESHOLD, ge=THRESHOLD_RANGE[0], le=THRESHOLD_RANGE[1])) -> Any:
    d = cached_report(engine.table if engine.sources else engine.doc, threshold=threshold).to_dict()
    d["passages"] = [g for g in d["passages"] if len(g["criteria"]) >= min_criteria]
    return d


@router.post("/answer", summary="Answer a questionnaire: JSON questions, or a check sheet file",
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": AnswerRequest.model_json_schema()},
                 "multipart/form-data": {"schema": UPLOAD_FORM}}}},
             responses={200: {"description": "JSON: `{\"answers\": [...]}`. A file upload: the filled file "
                                             "(or kijun's table) as an attachment.",
                              "content": {"application/json": {},
                                          examples.XLSX: {"schema": {"type": "string", "format": "binary"}},
                                          "text/csv": {"schema": {"type": "string", "format": "binary"}}}}}
             | examples.error(400, "no_question_column", "cloud.xlsx: sheet 'チェックシート': no question column found; "
                              "the header row 4 has 「No.」, 「分類」. Name the question column with the `column` field "
                              "(a header name, a number or a letter such as C).",
                              "What is wrong with the questions or the file")
             | examples.error(503, "busy", "the server is answering other check sheets; try again in 15 seconds",
                              "Every answering place is taken (Retry-After)"))
async def api_answer(request: Request, engine: EngineDep) -> Any:
    """`{"questions": [...]}` → `{"answers": [...]}`; a multipart upload of a check sheet → that file
    with the answers filled in (or kijun's table, `format=csv|xlsx`). Answered as a job (503 `busy`
    when the server is full, with Retry-After)."""
    jobs: JobPool = request.app.state.jobs
    async with jobs.place(request) as job:
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            return await _answer_upload(request, engine, job)
        try:
            body = AnswerRequest.model_validate_json(await request.body())
        except ValidationError as e:
            return validation_response(e.errors(include_url=False))
        try:
            answers = await jobs.run(job, request, partial(qa.answer_questions, engine, body.questions, mode=body.mode,
                                                           top=body.top, documents=body.document or None))
        except (qa.QuestionnaireError, QueryError) as e:
            return api_error(e, 400)
    return {"answers": [a.to_dict() for a in answers]}


async def _answer_upload(request: Request, engine: EngineDep, job: Job) -> Response:
    jobs: JobPool = request.app.state.jobs
    try:
        async with read_form(request) as form:
            settings = settings_from(form)
            chosen = await uploaded(form)
            fmt = str(form.get("format") or "sheet")
        if chosen is None:
            raise qa.QuestionnaireError("no_file")
        if fmt not in UPLOAD_FORMATS:
            raise qa.QuestionnaireError("upload_format", formats=list(UPLOAD_FORMATS), value=fmt)
        filename, data = chosen
        body = await jobs.run(job, request, partial(_filled_or_table, engine, data, filename, settings, fmt))
    except (checksheet.SheetError, qa.QuestionnaireError) as e:
        return api_error(e, 400)
    name = filled_name(filename) if fmt == "sheet" else f"kijun-answers.{fmt}"
    media = MEDIA_TYPES.get(PurePath(name).suffix.lower(), "application/octet-stream")
    return Response(body, media_type=media, headers={"Content-Disposition": content_disposition(name)})


def _filled_or_table(engine: EngineDep, data: bytes, filename: str, settings: Settings, fmt: str, *,
                     progress: Progress) -> bytes:
    run = answer_file(engine, data, filename, settings, progress=progress)
    return (run.filled or b"") if fmt == "sheet" else run.table(fmt)
