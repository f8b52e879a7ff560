"""The HTML pages: search, one criterion, duplicates, the questionnaire.

A search is a GET, so a result page's URL can be shared; the form POSTs, and anything but a long
paste is redirected to that GET (`SHAREABLE_URL_CHARS`).
"""
from __future__ import annotations

from pathlib import PurePath
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from corpus.duplicates import (DEFAULT_THRESHOLD, MIN_CRITERIA_RANGE, THRESHOLD_RANGE, THRESHOLD_STEP,
                               cached_report, shared_passages)
from corpus.documents import CRITERION
from corpus.records import BUNDLED_ID, UnknownCriterion
from corpus.vocabulary import normalize_id
from messages import Message
from search.compare import (ADDRESSES, CUSTOMER, NOTHING, CompareError, columns, compare, edition_note,
                            editions_of)
from search.questionnaire import answer as qa
from search.questionnaire import checksheet
from search.app.presentation import FIELD_LABELS
from search.app.web.deps import EngineDep, blank
from search.app.web.errors import api_error
from search.app.web.library import past_for
from search.app.web.jobs import JobPool
from search.app.web.questionnaire import (FILLED, MEDIA_TYPES, ROWS, TABLES, UNREADABLE, Progress, Settings,
                                          answer_file, answer_pasted, content_disposition, filled_name, form_fields,
                                          rows_json, settings_from, table_from_rows)
from search.app.web.uploads import Upload, UploadExpired, UploadStore
from search.app.web.templating import mark, render
from search.engine import Engine, SearchResult
from search.errors import QueryError
from search.query import DEFAULT_MODE

router = APIRouter(include_in_schema=False)
PAGE_LIMIT = 20
SIMILAR = 5
SIMILAR_TOP_SHARE = 0.10  # listed only if closer than 90% of all pairs of criteria: a cosine alone says little


def _cards(engine: Engine, result: SearchResult) -> list[dict[str, Any]]:
    """One card per hit; criteria of identical text share one card (実57 / 実58); the same criterion in other
    documents behind it (`also`)."""
    out = []
    for h in result.hits:
        refs = engine.table[h.key].references if h.kind == CRITERION and h.key in engine.table else ()
        also = [{"a": a, "snippet": mark(a.snippet, a.highlights), "field_label": a.label or FIELD_LABELS.get(a.field, a.field)}
                for a in h.also_in]
        out.append({"hit": h, "ids": qa.folded_ids(engine, h), "snippet": mark(h.snippet, h.highlights),
                    "refs": refs, "field_label": h.label or FIELD_LABELS.get(h.field, h.field), "also": also,
                    "anchor": "#revisions" if h.kind != CRITERION and h.id in engine.doc else ""})
    return out


def _no_hits(mode: str, filtered: bool) -> str:
    """Why a search found nothing, and the one change worth trying (never the mode already chosen)."""
    code = "no_hits_filtered" if filtered else "no_hits" if mode == "hybrid" else "no_hits_try_hybrid"
    return Message(code).text("web")


@router.get("/", response_class=HTMLResponse)
def search_page(request: Request, engine: EngineDep, q: str | None = None, mode: str = DEFAULT_MODE,
                aws: str | None = None, customer: str | None = None, series: str | None = None,
                limit: int = PAGE_LIMIT, document: str | None = None) -> HTMLResponse:
    return render(request, "search.html", **_search(engine, q, mode, aws, customer, series, limit, document))


SHAREABLE_URL_CHARS = 4_000
"""The search form is sent by POST (a pasted questionnaire can be 10,000 characters: 90 KB of URL, past
what servers and proxies accept); a search whose URL stays under this is redirected to its GET, so its
page can be shared and reloaded, and a longer one is answered at once."""


@router.post("/", response_class=HTMLResponse)
async def search_post(request: Request, engine: EngineDep) -> Response:
    try:
        fields, _ = await form_fields(request)
    except qa.QuestionnaireError as e:  # a malformed form (too many parts…): said on the page, not as JSON
        return render(request, "search.html", 400, **_search(engine, None, DEFAULT_MODE, None, None, None, PAGE_LIMIT)
                      | {"error": e.text("web")})
    params = {"q": fields.get("q", "")} | {k: fields[k] for k in ("mode", "aws", "customer", "series", "limit",
                                                                  "document") if fields.get(k)}
    url = "/?" + urlencode(params)
    if len(url) <= SHAREABLE_URL_CHARS:
        return RedirectResponse(url, status_code=303)
    limit = fields.get("limit", "")
    ctx = await run_in_threadpool(_search, engine, params["q"], params.get("mode", DEFAULT_MODE), params.get("aws"),
                                  params.get("customer"), params.get("series"),
                                  int(limit) if limit.isdecimal() else PAGE_LIMIT, params.get("document"))
    return render(request, "search.html", **ctx)


def _search(engine: Engine, q: str | None, mode: str, aws: str | None, customer: str | None, series: str | None,
            limit: int, document: str | None = None) -> dict[str, Any]:
    """The search page's context: the query as typed, the result or why there is none."""
    ctx: dict[str, Any] = {"q": q or "", "mode": mode, "aws": aws or "", "customer": customer or "",
                           "series": series or "", "limit": limit, "result": None, "error": None, "cards": [],
                           "document": document or "", "documents": engine.table.sources}
    if q is not None:
        try:
            result = engine.search(q, mode=mode, limit=limit, aws=blank(aws), customer=blank(customer),
                                   series=blank(series), documents=[document] if blank(document) else None)
            ctx.update(result=result, cards=_cards(engine, result),
                       no_hits=_no_hits(result.mode, any(map(blank, (aws, customer, series, document)))))
        except QueryError as e:
            ctx["error"] = e.text("web")
    return ctx


@router.get("/criteria/{cid}", response_class=HTMLResponse, name="criterion_page")
def criterion_page(request: Request, engine: EngineDep, cid: str) -> Response:
    doc = engine.doc
    try:
        c = doc.get(cid)
    except UnknownCriterion as e:
        history = doc.history_only(cid)
        if history:  # 統20: only in the change history
            if history != cid:
                return RedirectResponse("/criteria/" + quote(history), status_code=308)
            return render(request, "history.html", id=history, revisions=doc.revisions_for(history))
        nid = normalize_id(cid)
        if nid is not None and any(d.kind == CRITERION for d in engine.table.about(nid)):  # 実14-1: other documents'
            if nid != cid:
                return RedirectResponse("/criteria/" + quote(nid), status_code=308)
            return render(request, "criterion_elsewhere.html", id=nid, **_side_by_side(engine, nid))
        return render(request, "error.html", 404, title="基準が見つかりません", message=e.text("web"))
    if c.id != cid:
        return RedirectResponse("/criteria/" + quote(c.id), status_code=308)
    source = doc.text_of(c)
    ids = [x.id for x in doc.criteria]
    i = ids.index(c.id)
    past, past_error = past_for(engine, c.id)
    same_text = [o for o in engine.table.same_text(c.id) if o != c.id]
    near_text = [(p.b if p.a == c.id else p.a, p.similarity) for p in cached_report(doc).criteria_pairs
                 if c.id in (p.a, p.b) and {p.a, p.b} - {c.id} - set(same_text)]
    return render(request, "criterion.html", c=c, source=source if source is not c else None,
                  same_text=same_text, near_text=near_text,
                  revisions=doc.revisions_for(c.id), shared=shared_passages(doc, c.id),
                  similar=engine.similar(c.id, SIMILAR, SIMILAR_TOP_SHARE), prev=ids[i - 1] if i else None,
                  next=ids[i + 1] if i + 1 < len(ids) else None,
                  urls=[(u, u.startswith(("http://", "https://"))) for u in c.urls], past=past, past_error=past_error,
                  **_side_by_side(engine, c.id))


def _side_by_side(engine: Engine, cid: str) -> dict[str, Any]:
    """Every loaded document's text for one ID (only when documents were added), and what the editions known
    say of it (実14-1: the 13th edition's, not the 9th's)."""
    editions, of_document = editions_of(engine.doc, engine.sources)
    lists = {s.id for s in engine.sources if s.is_titles}
    return {"columns": columns(engine.table, cid, of_document, lists) if len(engine.table.sources) > 1 else [],
            "edition_note": edition_note(editions, cid)}


@router.get("/compare", response_class=HTMLResponse)
def compare_page(request: Request, engine: EngineDep, a: str = "", b: str = "", differ: bool = False) -> Response:
    """Two documents criterion by criterion (`search.compare`); the XLSX at /compare.xlsx."""
    sources = engine.table.sources
    ctx: dict[str, Any] = {"a": a or BUNDLED_ID, "b": b, "differ": differ, "documents": sources, "result": None,
                           "rows": [], "error": None, "pairs": COMPARE_PAIRS}
    if not b:
        if len(sources) > 1:
            ctx["b"] = sources[1][0]
        else:
            ctx["error"] = Message("compare_one_document").text("web")
            return render(request, "compare.html", **ctx)
    try:
        result = compare(engine.table, ctx["a"], ctx["b"])
    except CompareError as e:
        ctx["error"] = e.text("web")
        return render(request, "compare.html", 400, **ctx)
    ctx.update(result=result, rows=[r for r in result.rows if r.differ or not differ])
    return render(request, "compare.html", **ctx)


@router.get("/compare.xlsx", name="compare_xlsx")
def compare_xlsx(request: Request, engine: EngineDep, a: str = "", b: str = "") -> Response:
    try:
        result = compare(engine.table, a, b)
    except CompareError as e:
        return render(request, "error.html", 400, title="比較できません", message=e.text("web"))
    return Response(result.xlsx(), media_type=MEDIA_TYPES[".xlsx"],
                    headers={"Content-Disposition": content_disposition(f"kijun-compare-{a}-{b}.xlsx")})


COMPARE_PAIRS = ((CUSTOMER, ADDRESSES), (ADDRESSES, CUSTOMER), (NOTHING, ADDRESSES), (ADDRESSES, NOTHING),
                 (ADDRESSES, ADDRESSES), (CUSTOMER, CUSTOMER), (CUSTOMER, NOTHING), (NOTHING, CUSTOMER))
"""The compare page's sections, in order: where one addresses what the other does not, first."""


@router.get("/duplicates", response_class=HTMLResponse)
def duplicates_page(request: Request, engine: EngineDep, min_criteria: str = "2", threshold: str = str(DEFAULT_THRESHOLD),
                    q: str = "", boilerplate: bool = False) -> HTMLResponse:
    """Passages repeated across criteria. The numbers are read here, not by FastAPI, so a value typed
    wrong in the URL (?min_criteria=abc) gets this page with a message, not a JSON error."""
    ctx: dict[str, Any] = {"min_criteria": min_criteria, "threshold": threshold, "q": q,
                           "boilerplate": boilerplate, "groups": [], "pairs": [], "error": None, "total": 0,
                           "total_pairs": 0, "hidden_boilerplate": 0, "criteria_range": MIN_CRITERIA_RANGE,
                           "threshold_range": THRESHOLD_RANGE, "threshold_step": THRESHOLD_STEP}
    try:
        least, similarity = int(min_criteria), float(threshold)
    except ValueError:
        least, similarity = 0, 0.0
    (lo, hi), (tlo, thi) = MIN_CRITERIA_RANGE, THRESHOLD_RANGE
    if not lo <= least <= hi or not tlo <= similarity <= thi:
        ctx["error"] = Message("duplicates_range", {"lo": lo, "hi": hi, "tlo": tlo, "thi": thi}).text("web")
        return render(request, "duplicates.html", 400, **ctx)
    min_criteria, threshold = least, similarity
    ctx.update(min_criteria=least, threshold=similarity)
    rep = cached_report(engine.table if engine.sources else engine.doc, threshold=threshold)
    needle = q.strip()
    nid = normalize_id(needle) if needle else None
    groups = []
    for g in rep.passages:
        if g.boilerplate and not boilerplate and len(g.criteria) >= min_criteria:
            ctx["hidden_boilerplate"] += 1
        if len(g.criteria) < min_criteria or (g.boilerplate and not boilerplate):
            continue
        if needle and not (needle.lower() in g.text.lower() or (nid and nid in g.criteria)
                           or any(needle.lower() in v.text.lower() for v in g.variants)):
            continue
        groups.append(g)
    # the filter reads both tables: a pair is listed when it names the criterion, or when either text holds the word
    pairs = [p for p in rep.criteria_pairs
             if not needle or (nid in (p.a, p.b) if nid else any(_holds(engine, x, needle) for x in (p.a, p.b)))]
    ctx.update(groups=groups, pairs=pairs, total=len(rep.passages), total_pairs=len(rep.criteria_pairs))
    return render(request, "duplicates.html", **ctx)


def _holds(engine: Engine, key: str, needle: str) -> bool:
    """Does a criterion's text (either column, as printed; another document's: its passages) hold `needle`
    (case folded)?"""
    n = needle.lower()
    if key not in engine.doc:
        d = engine.table[key]
        return any(n in p.text.lower() for p in (*d.written, *d.boilerplate))
    c = engine.doc.get(key)
    return any(n in (t or "").lower() for t in (engine.doc.text_of(c).aws_status, c.customer_controls))


@router.get("/answer", response_class=HTMLResponse)
def answer_form(request: Request, engine: EngineDep) -> HTMLResponse:
    return render(request, "answer.html", **_answer_context(documents=engine.table.sources))


def _answer_context(**ctx: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"run": None, "error": None, "text": "", "settings": Settings(), "upload": None,
                            "sheet_names": [], "filled_ext": "", "documents": ()}
    return base | ctx


@router.post("/answer", response_class=HTMLResponse)
async def answer_post(request: Request, engine: EngineDep) -> HTMLResponse:
    """Answer pasted questions or a check sheet (a new upload, or the kept one re-read with corrected
    detection settings); the page shows what was detected, the answers and the downloads. The work is
    a job (`search.app.web.jobs`): its place is taken before the form is read, its progress can be
    polled at /answer/progress/{id}."""
    jobs: JobPool = request.app.state.jobs
    async with jobs.place(request) as job:
        try:
            fields, chosen = await form_fields(request)
        except (checksheet.SheetError, qa.QuestionnaireError) as e:
            return render(request, "answer.html", 400, **_answer_context(error=e.text("web"),
                                                                         documents=engine.table.sources))
        status, ctx = await jobs.run(job, request, _answer_page, engine, request.app.state.uploads, chosen, fields)
    return render(request, "answer.html", status, **(ctx | {"documents": engine.table.sources}))


def _answer_page(engine: Engine, store: UploadStore, chosen: tuple[str, bytes] | None, fields: dict[str, str], *,
                 progress: Progress) -> tuple[int, dict[str, Any]]:
    """(status, page context) of one /answer run: the upload kept and answered, or the pasted questions."""
    text, token = fields.get("questions", ""), fields.get("token", "")
    ctx = _answer_context(text=text)
    upload: Upload | None = None
    try:
        if chosen is not None and text.strip():
            raise qa.QuestionnaireError("pasted_and_file")
        if chosen is not None:
            upload = store.add(*chosen)
        elif token:
            upload = store.get(token)
        if upload is not None and upload.filename is not None:
            ctx["upload"] = upload
        ctx["settings"] = settings = settings_from(fields)
        if upload is not None and upload.filename is not None:
            run = answer_file(engine, upload.source, upload.filename, settings, progress=progress)
            store.put(upload, FILLED, run.filled or b"", download_name=filled_name(upload.filename))
            ctx["filled_ext"] = PurePath(upload.filename).suffix.lower()
        else:
            upload = store.add(None, None)
            run = answer_pasted(engine, text, settings, progress=progress)
        store.put(upload, ROWS, rows_json(run.table_rows()), download_name=ROWS)  # CSV and XLSX made when asked for
        ctx.update(run=run, token=upload.token, sheet_names=_sheet_names(run.questionnaire))
    except (checksheet.SheetError, qa.QuestionnaireError, UploadExpired) as e:
        # a file that can be read stays, so the form below can point at its table (sheet, row, column)
        keep = upload is not None and upload.filename is not None and not isinstance(e, UNREADABLE)
        if upload is not None and not keep:
            store.discard(upload)
        ctx.update(error=e.text("web"), upload=upload if keep else None)
        return 400, ctx
    return 200, ctx


@router.get("/answer/progress/{progress_id}", name="answer_progress")
def answer_progress(request: Request, progress_id: str) -> Response:
    """How far the /answer request sent with ?progress=ID has got (the page polls it while it waits)."""
    status = request.app.state.jobs.status(progress_id)
    if status is None:
        return api_error(Message("unknown_job"), 404)
    return JSONResponse(status)


def _sheet_names(q: checksheet.Questionnaire | None) -> list[str]:
    if q is None or q.tables[0].sheet is None:
        return []
    return [str(t.sheet) for t in q.tables] + [s.name for s in q.ignored_sheets]


@router.get("/answer/{token}/{name}", name="answer_download")
def answer_download(request: Request, token: str, name: str) -> Response:
    """A file made by an /answer run: the filled check sheet, or kijun's table as CSV or XLSX."""
    store: UploadStore = request.app.state.uploads
    try:
        fmt = next((f for f, table_name in TABLES.items() if table_name == name), None)
        if fmt is not None:
            content, download_name = table_from_rows(store.output(token, ROWS)[0], fmt), f"kijun-answers.{fmt}"
        else:
            content, download_name = store.output(token, name)
    except UploadExpired as e:
        return render(request, "error.html", 404, title="ダウンロードできません", message=e.text("web"))
    media = MEDIA_TYPES.get(PurePath(download_name).suffix.lower(), "application/octet-stream")
    return Response(content, media_type=media, headers={"Content-Disposition": content_disposition(download_name)})
