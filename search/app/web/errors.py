"""How the web app says no: to the API, `{"code", "detail"}` (a stable code, English words that name
the API's fields); to a person, a page in Japanese that names the form's fields. Both from the
catalogue (`messages`), so a condition reads the same wherever it is met.
"""
from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from indexer.store import IndexCorrupted
from messages import Message, code_of, excerpt, text_of
from search.app.web.jobs import Busy, Cancelled
from search.app.web.refusals import BUSY, RETRY_AFTER_S, refusal_response, validation_response, wants_json
from search.app.web.templating import render


def api_error(error: BaseException | Message, status: int, **extra: Any) -> JSONResponse:
    """The API's refusal: the condition's code and its English words."""
    if isinstance(error, Message):
        body = error.to_dict("api")
    else:
        body = {"code": code_of(error), "detail": text_of(error, "api")}
    return JSONResponse(body | extra, status_code=status)


def page_error(request: Request, title: str, message: str, status: int) -> Response:
    return render(request, "error.html", status, title=title, message=message)


def install(app: FastAPI) -> None:
    """The app-wide handlers: an unknown page, a malformed query string, a damaged index, a full
    answering queue, a client that hung up."""
    app.add_exception_handler(404, _not_found)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(IndexCorrupted, _index_unreadable)
    app.add_exception_handler(Busy, _busy)
    app.add_exception_handler(Cancelled, _client_gone)


async def _not_found(request: Request, exc: Exception) -> Response:
    detail = getattr(exc, "detail", None)
    if wants_json(request.scope):
        return api_error(Message("not_found"), 404) if detail in (None, "Not Found") else \
            JSONResponse({"code": "not_found", "detail": detail}, status_code=404)
    return page_error(request, "ページが見つかりません", Message("not_found").text("web"), 404)


async def _invalid(request: Request, exc: Exception) -> Response:
    """A query parameter of the wrong type (?limit=abc): the API keeps FastAPI's 422 list; a page says
    which parameter, in Japanese, instead of raw JSON."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    if wants_json(request.scope):
        return validation_response(errors)
    first = errors[0] if errors else {}
    name = str(first.get("loc", ("", "?"))[-1])
    message = Message("bad_parameter", {"name": excerpt(name), "value": excerpt(str(first.get("input", "")))})
    return page_error(request, "入力が正しくありません", message.text("web"), 400)


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


async def _index_unreadable(request: Request, exc: Exception) -> Response:
    """A damaged index is the server's problem, not the user's: 503, with what to do."""
    message = Message("index_unreadable", {"detail": str(exc)})
    if wants_json(request.scope):
        return api_error(message, 503)
    return page_error(request, "索引を読み込めません", message.text("web"), 503)
