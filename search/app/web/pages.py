"""The HTML pages: search, one criterion, duplicates, the questionnaire.

Every search is a GET, so a result page's URL can be shared.
"""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException

from corpus.duplicates import cached_report, shared_passages
from corpus.records import Criterion, UnknownCriterion
from corpus.vocabulary import normalize_id, strip_ids
from search import answer as qa
from search.app.presentation import FIELD_LABELS
from search.app.web.deps import EngineDep, blank
from search.app.web.questionnaire import MAX_UPLOAD_BYTES, questions_from_form, run_answers, top_from
from search.app.web.templating import mark, render
from search.engine import Engine, Hit, SearchResult
from search.errors import QueryError

router = APIRouter(include_in_schema=False)
PAGE_LIMIT = 20
SIMILAR = 5


def _cards(engine: Engine, result: SearchResult) -> list[dict[str, Any]]:
    out = []
    for h in result.hits:
        refs = engine.doc.get(h.id).references if h.kind == "criterion" else ()
        out.append({"hit": h, "snippet": mark(h.snippet, h.highlights), "refs": refs,
                    "field_label": FIELD_LABELS.get(h.field, h.field)})
    return out


@router.get("/", response_class=HTMLResponse)
def search_page(request: Request, engine: EngineDep, q: str | None = None, mode: str = "hybrid",
                aws: str | None = None, customer: str | None = None, series: str | None = None,
                limit: int = PAGE_LIMIT) -> HTMLResponse:
    ctx: dict[str, Any] = {"q": q or "", "mode": mode, "aws": aws or "", "customer": customer or "",
                           "series": series or "", "limit": limit, "result": None, "error": None, "cards": []}
    if q is not None:
        try:
            result = engine.search(q, mode=mode, limit=limit, aws=blank(aws), customer=blank(customer),
                                   series=blank(series))
            ctx.update(result=result, cards=_cards(engine, result))
        except QueryError as e:
            ctx["error"] = str(e)
    return render(request, "search.html", **ctx)


@router.get("/criteria/{cid}", response_class=HTMLResponse, name="criterion_page")
def criterion_page(request: Request, engine: EngineDep, cid: str) -> Response:
    doc = engine.doc
    try:
        c = doc.get(cid)
    except UnknownCriterion as e:
        return render(request, "error.html", 404, title="基準が見つかりません", message=str(e))
    if c.id != cid:
        return RedirectResponse("/criteria/" + quote(c.id), status_code=308)
    source = doc.text_of(c)
    ids = [x.id for x in doc.criteria]
    i = ids.index(c.id)
    return render(request, "criterion.html", c=c, source=source if source is not c else None,
                  revisions=doc.revisions_for(c.id), shared=shared_passages(doc, c.id),
                  similar=_similar_to(engine, c), prev=ids[i - 1] if i else None,
                  next=ids[i + 1] if i + 1 < len(ids) else None,
                  urls=[(u, u.startswith(("http://", "https://"))) for u in c.urls])


def _similar_to(engine: Engine, c: Criterion) -> list[Hit]:
    source = engine.doc.text_of(c)
    text = strip_ids((source.aws_status or c.customer_controls or "").strip())[:2000]
    if len(text.strip()) < 2:
        return []
    mode = "semantic" if engine.semantic() is not None else "hybrid"
    try:
        result = engine.search(text, mode=mode, limit=SIMILAR + 10)
    except QueryError:
        return []
    return [h for h in result.hits if h.kind == "criterion" and h.id not in (c.id, c.same_as)
            and engine.doc.get(h.id).same_as != c.id][:SIMILAR]


@router.get("/duplicates", response_class=HTMLResponse)
def duplicates_page(request: Request, engine: EngineDep, min_criteria: int = 2, threshold: float = 0.8,
                    q: str = "", boilerplate: bool = False) -> HTMLResponse:
    ctx: dict[str, Any] = {"min_criteria": min_criteria, "threshold": threshold, "q": q,
                           "boilerplate": boilerplate, "groups": [], "pairs": [], "error": None, "total": 0}
    if not 2 <= min_criteria <= 200 or not 0.5 <= threshold <= 1.0:
        ctx["error"] = "最小基準数は 2 以上、類似度のしきい値は 0.5〜1.0 で指定してください。"
        return render(request, "duplicates.html", 400, **ctx)
    rep = cached_report(engine.doc, threshold=threshold)
    needle = q.strip()
    nid = normalize_id(needle) if needle else None
    groups = []
    for g in rep.passages:
        if len(g.criteria) < min_criteria or (g.boilerplate and not boilerplate):
            continue
        if needle and not (needle.lower() in g.text.lower() or (nid and nid in g.criteria)
                           or any(needle.lower() in v.text.lower() for v in g.variants)):
            continue
        groups.append(g)
    pairs = [p for p in rep.criteria_pairs if not nid or nid in (p.a, p.b)]
    ctx.update(groups=groups, pairs=pairs, total=len(rep.passages))
    return render(request, "duplicates.html", **ctx)


@router.get("/answer", response_class=HTMLResponse)
def answer_form(request: Request) -> HTMLResponse:
    return render(request, "answer.html", answers=None, error=None, text="", mode="hybrid", top=3, column="")


async def _form(request: Request) -> FormData:
    if int(request.headers.get("content-length") or 0) > MAX_UPLOAD_BYTES:
        raise qa.QuestionnaireError(f"the upload is larger than the {qa.MAX_FILE_BYTES // (1024 * 1024)} MB limit; "
                                    "split the questionnaire")
    try:
        return await request.form(max_files=1, max_fields=50, max_part_size=MAX_UPLOAD_BYTES)
    except MultiPartException as e:  # too many parts, a part too large
        raise qa.QuestionnaireError(f"the upload could not be read: {e.message}") from None
    except HTTPException as e:  # starlette's wrapping of the same, inside an app
        raise qa.QuestionnaireError(f"the upload could not be read: {e.detail}") from None


@router.post("/answer", response_class=HTMLResponse)
async def answer_post(request: Request, engine: EngineDep) -> HTMLResponse:
    ctx: dict[str, Any] = {"answers": None, "error": None, "text": "", "mode": "hybrid", "top": 3, "column": ""}
    try:
        form = await _form(request)
        ctx.update(text=str(form.get("questions") or ""), mode=str(form.get("mode") or "hybrid"),
                   column=str(form.get("column") or ""))
        ctx["top"] = top_from(form.get("top"))
        questions = await questions_from_form(form)
        answers = await run_answers(engine, questions, ctx["mode"], ctx["top"])
        ctx.update(answers=answers, questions_json=json.dumps(questions, ensure_ascii=False),
                   n_no_match=sum(1 for a in answers if not a.answered))
    except qa.QuestionnaireError as e:
        ctx["error"] = str(e)
        return render(request, "answer.html", 400, **ctx)
    return render(request, "answer.html", **ctx)


async def _download(request: Request, engine: Engine, kind: str) -> Response:
    try:
        form = await _form(request)
        questions = await questions_from_form(form)
        answers = await run_answers(engine, questions, str(form.get("mode") or "hybrid"), top_from(form.get("top")))
    except qa.QuestionnaireError as e:
        return JSONResponse({"detail": str(e)}, status_code=400)
    if kind == "csv":
        return Response(qa.csv_bytes(answers), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="kijun-answers.csv"'})
    return Response(qa.xlsx_bytes(answers),
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": 'attachment; filename="kijun-answers.xlsx"'})


@router.post("/answer.csv")
async def answer_csv(request: Request, engine: EngineDep) -> Response:
    return await _download(request, engine, "csv")


@router.post("/answer.xlsx")
async def answer_xlsx(request: Request, engine: EngineDep) -> Response:
    return await _download(request, engine, "xlsx")
