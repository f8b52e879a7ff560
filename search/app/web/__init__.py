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
  GET  /library, POST /library/preview, /library/add, /library/remove, GET /library/export.jsonl,
  GET/POST /api/library, DELETE /api/library/{id}   the answer library (`library.py`)

Around them (`create_app`'s middleware, outermost first): `protection` (Host allow-list,
cross-site refusal, security headers), `auth` (only when configured), `limits` (bodies
counted as they stream). Answering runs in `jobs`' own pool.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from search.app.web import api, auth, docs, errors, examples, library, pages
from search.app.web import documents as documents_web
from search.app.web.auth import RequireAuthentication
from search.app.web.jobs import JobPool
from search.app.web.limits import BodyLimit
from search.app.web.notices import Notices
from search.app.web.protection import SiteProtection
from search.app.web.settings import ServerSettings
from search.app.web.templating import STATIC
from search.app.web.uploads import UploadStore
from search.documents.live import LiveEngine
from search.documents.store import DocumentStore
from search.engine import Engine

__all__ = ["ServerSettings", "create_app"]


def create_app(engine: Engine | LiveEngine, uploads: UploadStore | None = None, settings: ServerSettings | None = None,
               documents: DocumentStore | None = None) -> FastAPI:
    """The app over `engine`; questionnaire uploads go to `uploads` (default: a new private temp dir,
    deleted when the app shuts down; a store passed in is the caller's to close). `settings`: the
    names it answers to, its authentication and its answering pool (default: loopback only, no sign-in).
    `documents`: the document store the /documents page adds to and the engine follows (default: the
    user's, $KIJUN_DOCUMENTS), unless `engine` is a `LiveEngine` already following one."""
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
                  lifespan=lifespan, docs_url=None, redoc_url=None)  # /docs is served from our own files
    if not isinstance(engine, LiveEngine):
        engine = LiveEngine(engine, documents if documents is not None else DocumentStore(bundled=engine.doc))
    app.state.live = engine
    app.state.uploads = uploads if uploads is not None else UploadStore()
    app.state.jobs = JobPool(settings.answer_workers, settings.answer_queue)
    app.state.auth = settings.auth
    app.state.notices = Notices()
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    app.include_router(pages.router)
    app.include_router(api.router)
    app.include_router(library.router)
    app.include_router(library.api)
    app.include_router(documents_web.router)
    app.include_router(documents_web.api)
    if settings.auth.token:
        app.include_router(auth.router)
    docs.install(app)
    examples.install(app)
    errors.install(app)
    # the outermost first: names and sites, then who is asking, then how much they may send
    app.add_middleware(BodyLimit)
    if settings.auth.configured:
        app.add_middleware(RequireAuthentication, auth=settings.auth)
    app.add_middleware(SiteProtection, allowed_hosts=settings.allowed_hosts)
    return app
