"""The JSON API (OpenAPI docs at /docs): the same shapes as the CLI's --format json."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from corpus.duplicates import cached_report
from corpus.records import UnknownCriterion
from search import answer as qa
from search.app.presentation import criterion_json
from search.app.web.deps import EngineDep, blank
from search.app.web.questionnaire import run_answers
from search.errors import QueryError
from search.query import DEFAULT_MODE, MODES

router = APIRouter(prefix="/api", tags=["api"])


class AnswerRequest(BaseModel):
    questions: list[str] = Field(..., max_length=qa.MAX_ROWS, description="One question per item.")
    mode: str = Field(DEFAULT_MODE, description=" / ".join(MODES))
    top: int = Field(3, ge=1, le=qa.MAX_TOP, description="Criteria listed per question")


@router.get("/search", summary="Search criteria and change history")
def api_search(engine: EngineDep, q: str = Query(..., description="a word, phrase, -exclusion, ID or question"),
               mode: str = DEFAULT_MODE, limit: int = 10, aws: str | None = None, customer: str | None = None,
               series: str | None = None, explain: bool = False) -> Any:
    try:
        return engine.search(q, mode=mode, limit=limit, aws=blank(aws), customer=blank(customer),
                             series=blank(series), explain=explain).to_dict()
    except QueryError as e:
        return JSONResponse({"detail": str(e)}, status_code=400)


@router.get("/criteria/{cid}", summary="One criterion (same JSON as `kijun show --format json`)")
def api_criterion(engine: EngineDep, cid: str) -> Any:
    try:
        c = engine.doc.get(cid)
    except UnknownCriterion as e:
        return JSONResponse({"detail": str(e)}, status_code=404)
    return criterion_json(engine.doc, c)


@router.get("/duplicates", summary="Repeated passages and near-identical criteria")
def api_duplicates(engine: EngineDep, min_criteria: int = Query(2, ge=2, le=200),
                   threshold: float = Query(0.8, ge=0.5, le=1.0)) -> Any:
    d = cached_report(engine.doc, threshold=threshold).to_dict()
    d["passages"] = [g for g in d["passages"] if len(g["criteria"]) >= min_criteria]
    return d


@router.post("/answer", summary="Answer a questionnaire: best criteria per question")
async def api_answer(engine: EngineDep, body: AnswerRequest) -> Any:
    try:
        answers = await run_answers(engine, body.questions, body.mode, body.top)
    except qa.QuestionnaireError as e:
        return JSONResponse({"detail": str(e)}, status_code=400)
    return {"answers": [a.to_dict() for a in answers]}
