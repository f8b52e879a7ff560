"""The web UI and JSON API: `create_app(engine)` → a FastAPI app (no globals).

Pages (`pages.py`) and the API (`api.py`) are routers over the one engine kept
in `app.state`; the engine guards its own shared state, so routes need no locks.

Routes
  GET  /                       search page (?q=&mode=&aws=&customer=&series=&limit=)
  GET  /criteria/{id}          one criterion (実２６ → redirect to /criteria/実26)
  GET  /duplicates             repeated passages and near-identical criteria
  GET  /answer, POST /answer   questionnaire: paste or upload, table of answers
  POST /answer.csv, /answer.xlsx   the same answers as a download (re-run, stateless)
  GET  /api/search, /api/criteria/{id}, /api/duplicates; POST /api/answer   (docs at /docs)
"""
from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from indexer.store import IndexCorrupted
from search.app.web import api, pages
from search.app.web.templating import STATIC, render
from search.engine import Engine

__all__ = ["create_app"]


def create_app(engine: Engine) -> FastAPI:
    app = FastAPI(title="kijun", description="FISC安全対策基準 × AWS 対応状況の検索 API", version="0.1.0")
    app.state.engine = engine
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    app.include_router(pages.router)
    app.include_router(api.router)
    app.add_exception_handler(404, _not_found)
    app.add_exception_handler(IndexCorrupted, _index_unreadable)
    return app


async def _not_found(request: Request, exc: Exception) -> Response:
    detail = getattr(exc, "detail", "Not Found")
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": detail}, status_code=404)
    return render(request, "error.html", 404, title="ページが見つかりません", message=str(detail))


async def _index_unreadable(request: Request, exc: Exception) -> HTMLResponse | JSONResponse:
    """A damaged index is the server's problem, not the user's: 503, with what to do."""
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": str(exc)}, status_code=503)
    return render(request, "error.html", 503, title="索引を読み込めません", message=str(exc))
