"""The web UI and JSON API: `create_app(engine)` → a FastAPI app (no globals).

Pages are rendered on the server with Jinja2 (autoescaped); highlighted
snippets are built here from the plain text and the hit's offsets, escaping
every segment, so nothing from the document or the query is ever trusted as
HTML. Every search is a GET, so a result page's URL can be shared.

Routes
  GET  /                       search page (?q=&mode=&aws=&customer=&series=&limit=)
  GET  /criteria/{id}          one criterion (実２６ → redirect to /criteria/実26)
  GET  /duplicates             repeated passages and near-identical criteria
  GET  /answer, POST /answer   questionnaire: paste or upload, table of answers
  POST /answer.csv, /answer.xlsx   the same answers as a download (re-run, stateless)
  GET  /api/search, /api/criteria/{id}, /api/duplicates; POST /api/answer   (docs at /docs)
"""
from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from pydantic import BaseModel, Field

from corpus.records import ROLE_LABELS, UnknownCriterion, normalize_id
from search import answer as qa
from search.cli import LABELS, criterion_json
from indexer.store import IndexCorrupted
from search.query import QueryError

HERE = Path(__file__).resolve().parent
MODE_LABELS = {"hybrid": "ハイブリッド", "keyword": "キーワード", "semantic": "意味検索"}
ROLE_CHOICES = {"": "指定なし", "primary": "◯ (主体として対応)", "info": "- (情報を提供)"}
SERIES_CHOICES = {"": "すべて", "実務基準": "実務基準 (実)", "監査基準": "監査基準 (監)", "変更履歴": "変更履歴"}
FIELD_LABELS = {"aws_status": LABELS["aws_status"], "customer_controls": LABELS["customer_controls"],
                "references": LABELS["references"], "revision": LABELS["revisions"]}
PAGE_LIMIT = 20
SIMILAR = 5
_ID_IN_TEXT = re.compile(r"[実監統設]\s?\d{1,3}")


def mark(text: str, highlights: Any) -> Markup:
    """`text` with each (start, end) span wrapped in <mark>; every segment escaped."""
    out, last = [], 0
    for a, b in sorted((int(a), int(b)) for a, b in highlights or ()):
        a, b = max(a, last), min(b, len(text))
        if a >= b:
            continue
        out += [escape(text[last:a]), Markup("<mark>"), escape(text[a:b]), Markup("</mark>")]
        last = b
    out.append(escape(text[last:]))
    return Markup("").join(out)


def _role(r: str) -> str:
    return {"primary": "◯", "info": "-"}.get(r, r or "")


def _blank(v: str | None) -> str | None:
    return v if v not in (None, "") else None


class AnswerRequest(BaseModel):
    questions: list[str] = Field(..., max_length=qa.MAX_ROWS, description="One question per item.")
    mode: str = Field("hybrid", description="hybrid, keyword or semantic")
    top: int = Field(3, ge=1, le=10, description="Criteria listed per question")


def create_app(engine: Any) -> FastAPI:
    app = FastAPI(title="kijun", description="FISC安全対策基準 × AWS 対応状況の検索 API", version="0.1.0")
    env = Environment(loader=FileSystemLoader(str(HERE / "templates")), autoescape=select_autoescape(default=True))
    env.globals.update(MODE_LABELS=MODE_LABELS, ROLE_CHOICES=ROLE_CHOICES, SERIES_CHOICES=SERIES_CHOICES,
                       LABELS=LABELS, FIELD_LABELS=FIELD_LABELS, ROLE_LABELS=ROLE_LABELS, role=_role,
                       STATUS_LABELS=qa.STATUS_LABELS, CONFIDENCE_LABELS=qa.CONFIDENCE_LABELS,
                       SEMANTIC_THRESHOLD=qa.SEMANTIC_THRESHOLD,
                       crit_url=lambda cid: "/criteria/" + quote(cid))
    templates = Jinja2Templates(env=env)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    doc = engine.doc
    lock = threading.RLock()  # the engine's encoder is not known to be thread-safe
    dup_cache: dict[float, Any] = {}

    def render(request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        return templates.TemplateResponse(request, name, ctx, status_code=status)

    def search(q: str, **kw: Any) -> Any:
        with lock:
            return engine.search(q, **kw)

    def duplicates_module() -> tuple[Any, str | None]:
        try:
            from search import duplicates
        except Exception as e:  # noqa: BLE001 — a half-written module must not take the site down
            return None, f"{type(e).__name__}: {e}"
        return duplicates, None

    def shared_for(cid: str) -> tuple[list[dict[str, Any]] | None, str | None]:
        mod, err = duplicates_module()
        if mod is None:
            return None, err
        try:
            with lock:
                return mod.shared_passages(doc, cid), None
        except Exception as e:  # noqa: BLE001
            return None, f"{type(e).__name__}: {e}"

    def report(threshold: float) -> Any:
        mod, err = duplicates_module()
        if mod is None:
            raise HTTPException(503, f"the duplicate finder is unavailable ({err})")
        with lock:
            if threshold not in dup_cache:
                dup_cache[threshold] = mod.find_duplicates(doc, threshold=threshold, min_criteria=2)
            return dup_cache[threshold]

    def cards(result: Any) -> list[dict[str, Any]]:
        out = []
        for h in result.hits:
            refs: tuple[str, ...] = ()
            if h.kind == "criterion" and h.id in doc:
                refs = doc.get(h.id).references
            out.append({"hit": h, "snippet": mark(h.snippet, h.highlights), "refs": refs,
                        "field_label": FIELD_LABELS.get(h.field, h.field)})
        return out

    # ------------------------------------------------------------ pages

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def search_page(request: Request, q: str | None = None, mode: str = "hybrid", aws: str | None = None,
                    customer: str | None = None, series: str | None = None, limit: int = PAGE_LIMIT):
        ctx: dict[str, Any] = {"q": q or "", "mode": mode, "aws": aws or "", "customer": customer or "",
                               "series": series or "", "limit": limit, "result": None, "error": None, "cards": []}
        if q is not None:
            try:
                result = search(q, mode=mode, limit=limit, aws=_blank(aws), customer=_blank(customer),
                                series=_blank(series))
                ctx.update(result=result, cards=cards(result))
            except QueryError as e:
                ctx["error"] = str(e)
        return render(request, "search.html", **ctx)

    @app.get("/criteria/{cid}", response_class=HTMLResponse, include_in_schema=False, name="criterion_page")
    def criterion_page(request: Request, cid: str):
        try:
            c = doc.get(cid)
        except UnknownCriterion as e:
            return render(request, "error.html", 404, title="基準が見つかりません", message=str(e))
        if c.id != cid:
            return RedirectResponse("/criteria/" + quote(c.id), status_code=308)
        source = doc.text_of(c)
        shared, shared_error = shared_for(c.id)
        ids = [x.id for x in doc.criteria]
        i = ids.index(c.id)
        return render(request, "criterion.html", c=c, source=source if source is not c else None,
                      revisions=doc.revisions_for(c.id), shared=shared, shared_error=shared_error,
                      similar=similar_to(c), prev=ids[i - 1] if i else None,
                      next=ids[i + 1] if i + 1 < len(ids) else None,
                      urls=[(u, u.startswith(("http://", "https://"))) for u in c.urls])

    def similar_to(c: Any) -> list[Any]:
        source = doc.text_of(c)
        text = _ID_IN_TEXT.sub(" ", (source.aws_status or c.customer_controls or "").strip())[:2000]
        if len(text.strip()) < 2:
            return []
        mode = "semantic" if engine.semantic() is not None else "hybrid"
        try:
            result = search(text, mode=mode, limit=SIMILAR + 10)
        except QueryError:
            return []
        return [h for h in result.hits if h.kind == "criterion" and h.id not in (c.id, c.same_as)
                and doc.get(h.id).same_as != c.id][:SIMILAR]

    @app.get("/duplicates", response_class=HTMLResponse, include_in_schema=False)
    def duplicates_page(request: Request, min_criteria: int = 2, threshold: float = 0.8, q: str = "",
                        boilerplate: bool = False):
        ctx: dict[str, Any] = {"min_criteria": min_criteria, "threshold": threshold, "q": q,
                               "boilerplate": boilerplate, "groups": [], "pairs": [], "error": None,
                               "unavailable": None, "total": 0}
        if not 2 <= min_criteria <= 200 or not 0.5 <= threshold <= 1.0:
            ctx["error"] = "最小基準数は 2 以上、類似度のしきい値は 0.5〜1.0 で指定してください。"
            return render(request, "duplicates.html", 400, **ctx)
        try:
            rep = report(threshold)
        except HTTPException as e:
            ctx["unavailable"] = e.detail
            return render(request, "duplicates.html", **ctx)
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

    @app.get("/answer", response_class=HTMLResponse, include_in_schema=False)
    def answer_form(request: Request):
        return render(request, "answer.html", answers=None, error=None, text="", mode="hybrid", top=3,
                      column="")

    async def _form(request: Request) -> Any:
        return await request.form(max_files=1, max_fields=50, max_part_size=qa.MAX_FILE_BYTES + 1024 * 1024)

    @app.post("/answer", response_class=HTMLResponse, include_in_schema=False)
    async def answer_post(request: Request):
        ctx: dict[str, Any] = {"answers": None, "error": None, "text": "", "mode": "hybrid", "top": 3, "column": ""}
        too_big = int(request.headers.get("content-length") or 0) > qa.MAX_FILE_BYTES + 1024 * 1024
        try:
            if too_big:
                raise qa.QuestionnaireError(f"the upload is larger than the "
                                            f"{qa.MAX_FILE_BYTES // (1024 * 1024)} MB limit; split the questionnaire")
            form = await _form(request)
            ctx.update(text=str(form.get("questions") or ""), mode=str(form.get("mode") or "hybrid"),
                       column=str(form.get("column") or ""))
            ctx["top"] = _top(form.get("top"))
            questions = await _questions_from_form(form)
            answers = await _run(questions, ctx["mode"], ctx["top"])
            ctx.update(answers=answers, questions_json=json.dumps(questions, ensure_ascii=False),
                       n_no_match=sum(1 for a in answers if not a.answered))
        except qa.QuestionnaireError as e:
            ctx["error"] = str(e)
            return render(request, "answer.html", 400, **ctx)
        except Exception as e:  # starlette's multipart errors (too many parts, part too large)
            if type(e).__name__ not in ("MultiPartException", "HTTPException"):
                raise
            ctx["error"] = f"the upload could not be read: {getattr(e, 'message', None) or getattr(e, 'detail', e)}"
            return render(request, "answer.html", 400, **ctx)
        return render(request, "answer.html", **ctx)

    def _top(v: Any) -> int:
        try:
            n = int(v or 3)
        except ValueError:
            raise qa.QuestionnaireError("top must be a number from 1 to 10") from None
        if not 1 <= n <= 10:
            raise qa.QuestionnaireError("top must be a number from 1 to 10")
        return n

    async def _questions_from_form(form: Any) -> list[str]:
        if form.get("questions_json"):
            try:
                qs = json.loads(str(form["questions_json"]))
            except ValueError:
                raise qa.QuestionnaireError("questions_json is not a JSON list of questions") from None
            if not isinstance(qs, list) or not all(isinstance(x, str) for x in qs):
                raise qa.QuestionnaireError("questions_json is not a JSON list of questions")
            if len(qs) > qa.MAX_ROWS:
                raise qa.QuestionnaireError(f"{len(qs):,} questions; the limit is {qa.MAX_ROWS:,}")
            questions = [x.strip() for x in qs if x.strip()]
        else:
            upload = form.get("file")
            if upload is not None and not isinstance(upload, str) and getattr(upload, "filename", ""):
                data = await upload.read(qa.MAX_FILE_BYTES + 1)
                questions = qa.read_questions(data, upload.filename, str(form.get("column") or "").strip() or None)
            else:
                questions = qa.split_pasted(str(form.get("questions") or ""))
        if not questions:
            raise qa.QuestionnaireError("no questions: paste one question per line, or choose a .csv / .xlsx file")
        return questions

    async def _run(questions: list[str], mode: str, top: int) -> list[qa.Answer]:
        from starlette.concurrency import run_in_threadpool

        if mode not in MODE_LABELS:
            raise qa.QuestionnaireError(f"unknown mode {mode!r}; use one of {', '.join(MODE_LABELS)}")

        def job() -> list[qa.Answer]:
            with lock:
                return qa.answer_questions(engine, questions, mode=mode, top=top)

        return await run_in_threadpool(job)

    async def _download(request: Request, kind: str) -> Response:
        try:
            form = await _form(request)
            questions = await _questions_from_form(form)
            answers = await _run(questions, str(form.get("mode") or "hybrid"), _top(form.get("top")))
        except qa.QuestionnaireError as e:
            return JSONResponse({"detail": str(e)}, status_code=400)
        if kind == "csv":
            return Response(qa.csv_bytes(answers), media_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": 'attachment; filename="kijun-answers.csv"'})
        return Response(qa.xlsx_bytes(answers),
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": 'attachment; filename="kijun-answers.xlsx"'})

    @app.post("/answer.csv", include_in_schema=False)
    async def answer_csv(request: Request):
        return await _download(request, "csv")

    @app.post("/answer.xlsx", include_in_schema=False)
    async def answer_xlsx(request: Request):
        return await _download(request, "xlsx")

    # ------------------------------------------------------------ API

    @app.get("/api/search", tags=["api"], summary="Search criteria and change history")
    def api_search(q: str = Query(..., description="a word, phrase, -exclusion, ID or question"),
                   mode: str = "hybrid", limit: int = 10, aws: str | None = None, customer: str | None = None,
                   series: str | None = None, explain: bool = False):
        try:
            return search(q, mode=mode, limit=limit, aws=_blank(aws), customer=_blank(customer),
                          series=_blank(series), explain=explain).to_dict()
        except QueryError as e:
            return JSONResponse({"detail": str(e)}, status_code=400)

    @app.get("/api/criteria/{cid}", tags=["api"], summary="One criterion (same JSON as `kijun show --format json`)")
    def api_criterion(cid: str):
        try:
            c = doc.get(cid)
        except UnknownCriterion as e:
            return JSONResponse({"detail": str(e)}, status_code=404)
        shared, err = shared_for(c.id)
        if err and duplicates_module()[0] is not None:
            return JSONResponse({"detail": f"shared passages failed: {err}"}, status_code=500)
        return criterion_json(doc, c, dupes=shared)

    @app.get("/api/duplicates", tags=["api"], summary="Repeated passages and near-identical criteria")
    def api_duplicates(min_criteria: int = Query(2, ge=2, le=200), threshold: float = Query(0.8, ge=0.5, le=1.0)):
        try:
            d = report(threshold).to_dict()
        except HTTPException as e:
            return JSONResponse({"detail": e.detail}, status_code=e.status_code)
        d["passages"] = [g for g in d["passages"] if len(g["criteria"]) >= min_criteria]
        return d

    @app.post("/api/answer", tags=["api"], summary="Answer a questionnaire: best criteria per question")
    async def api_answer(body: AnswerRequest):
        try:
            answers = await _run(body.questions, body.mode, body.top)
        except qa.QuestionnaireError as e:
            return JSONResponse({"detail": str(e)}, status_code=400)
        return {"answers": [a.to_dict() for a in answers]}

    @app.exception_handler(404)
    async def not_found(request: Request, exc: Exception):
        detail = getattr(exc, "detail", "Not Found")
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": detail}, status_code=404)
        return render(request, "error.html", 404, title="ページが見つかりません", message=str(detail))

    @app.exception_handler(IndexCorrupted)
    async def index_unreadable(request: Request, exc: IndexCorrupted):
        """A damaged index is the server's problem, not the user's: 503, with what to do."""
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": str(exc)}, status_code=503)
        return render(request, "error.html", 503, title="索引を読み込めません", message=str(exc))

    app.state.engine = engine
    return app


__all__ = ["create_app", "mark"]
