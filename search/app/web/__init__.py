"""The web UI and JSON API: `create_app(engine)` → a FastAPI app (no globals).

Pages (`pages.py`) and the API (`api.py`) are routers over what `app.state` holds:
the one engine (it guards its own shared state, so routes need no locks) and the
upload store of the questionnaire page (`uploads.py`: a temporary directory the
app owns, deleted when it stops).

Routes
  GET  /                       search page (?q=&mode=&aws=&customer=&series=&limit=)
  GET  /criteria/{id}          one criterion (実２６ → redirect to /criteria/実26)
  GET  /duplicates             repeated passages and near-identical criteria
  GET  /answer, POST /answer   questionnaire: paste questions or upload a check sheet; shows what was
                               detected (re-run with token + sheet/header_row/column/answer_column)
                               and the answers
  GET  /answer/{token}/filled  the uploaded check sheet with the answers filled in (same format)
  GET  /answer/{token}/answers.csv, …/answers.xlsx   kijun's flat table of the same answers
  GET  /answer/progress/{id}   how far the /answer request sent with ?progress={id} has got
  GET  /api/search, /api/criteria/{id}, /api/duplicates; POST /api/answer   (docs at /docs)
  GET  /login, POST /login, POST /logout   signing in with the token (only when one is configured)

Around them (`create_app`'s middleware, outermost first): `protection` (Host allow-list,
cross-site refusal, security headers), `auth` (only when configured), `limits` (bodies
counted as they stream). Answering runs in `jobs`' own pool.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from indexer.store import IndexCorrupted
from search.app.web import api, auth, pages
from search.app.web.auth import RequireAuthentication
from search.app.web.jobs import Busy, Cancelled, JobPool
from search.app.web.limits import BodyLimit
from search.app.web.protection import SiteProtection
from search.app.web.refusals import BUSY, RETRY_AFTER_S, refusal_response, validation_response, wants_json
from search.app.web.settings import ServerSettings
from search.app.web.templating import STATIC, render
from search.app.web.uploads import UploadStore
from search.engine import Engine

__all__ = ["ServerSettings", "create_app"]


def create_app(engine: Engine, uploads: UploadStore | None = None, settings: ServerSettings | None = None) -> FastAPI:
    """The app over `engine`; questionnaire uploads go to `uploads` (default: a new private temp dir,
    deleted when the app shuts down; a store passed in is the caller's to close). `settings`: the
    names it answers to, its authentication and its answering pool (default: loopback only, no sign-in)."""
    settings = settings or ServerSettings()
    own_store = uploads is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            app.state.jobs.close()
            if own_store:
                app.state.uploads.close()

    app = FastAPI(title="kijun", description="FISC安全対策基準 × AWS 対応状況の検索 API", version="0.1.0",
                  lifespan=lifespan)
    app.state.engine = engine
    app.state.uploads = uploads if uploads is not None else UploadStore()
    app.state.jobs = JobPool(settings.answer_workers, settings.answer_queue)
    app.state.auth = settings.auth
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    app.include_router(pages.router)
    app.include_router(api.router)
    if settings.auth.token:
        app.include_router(auth.router)
    app.add_exception_handler(404, _not_found)
    app.add_exception_handler(IndexCorrupted, _index_unreadable)
    app.add_exception_handler(Busy, _busy)
    app.add_exception_handler(Cancelled, _client_gone)
    app.add_exception_handler(RequestValidationError, _invalid)
    # the outermost first: names and sites, then who is asking, then how much they may send
    app.add_middleware(BodyLimit)
    if settings.auth.configured:
        app.add_middleware(RequireAuthentication, auth=settings.auth)
    app.add_middleware(SiteProtection, allowed_hosts=settings.allowed_hosts)
    return app


async def _not_found(request: Request, exc: Exception) -> Response:
    detail = getattr(exc, "detail", "Not Found")
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": detail}, status_code=404)
    return render(request, "error.html", 404, title="ページが見つかりません", message=str(detail))


async def _index_unreadable(request: Request, exc: Exception) -> HTMLResponse | JSONResponse:
    """A damaged index is the server's problem, not the user's: 503, with what to do."""
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": str(exc), "code": "index_unreadable"}, status_code=503)
    return render(request, "error.html", 503, title="索引を読み込めません", message=str(exc))


async def _busy(request: Request, exc: Exception) -> Response:
    """503 before the body is read. A browser still sending its upload would show a reset connection rather
    than the page, so for a page the body (held to its limit) is read and dropped first; API clients
    read an early answer."""
    if not wants_json(request.scope):
        async for _ in request.stream():
            pass
    return refusal_response(request.scope, BUSY, {"Retry-After": str(RETRY_AFTER_S)}, retry=RETRY_AFTER_S)


async def _client_gone(request: Request, exc: Exception) -> Response:
    return Response(status_code=499)  # nobody reads it: the client hung up and its job was stopped


async def _invalid(request: Request, exc: Exception) -> Response:
    return validation_response(exc.errors())  # type: ignore[attr-defined]
