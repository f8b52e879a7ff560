"""What the server refuses before it does any work, and how it says so: one place for each condition.

Each `Refusal` has a stable machine-readable `code` (the API's `{"detail", "code"}`, and the key of
its words in `messages.catalogue`: English `detail` for API clients, a Japanese message for people),
its HTTP status and its page's title. Messages say what to do. `refuse()` answers with JSON under /api/ (and for /answer/progress)
and with the error page anywhere else; it is plain ASGI, so middleware can use it before any
route runs.
"""
from __future__ import annotations

import reprlib
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from messages import excerpt, render

RETRY_AFTER_S = 15  # what a refused client is told to wait when the answering queue is full


@dataclass(frozen=True)
class Refusal:
    """A condition refused before any route runs: its catalogue code (`messages.catalogue`, which
    holds its English and Japanese words), its HTTP status and its page title."""

    code: str
    status: int
    title: str  # the error page's title (Japanese)

    def text(self, audience: str = "api", **values: Any) -> str:
        return render(self.code, audience, **values)


BODY_TOO_LARGE = Refusal("body_too_large", 413, "送信できません")
BODY_TOO_SLOW = Refusal("body_timeout", 408, "送信できません")
UNSUPPORTED_MEDIA_TYPE = Refusal("unsupported_media_type", 415, "送信できません")
CROSS_SITE = Refusal("cross_site", 403, "他のサイトからの送信です")
HOST_NOT_ALLOWED = Refusal("host_not_allowed", 400, "このホスト名では使えません")
NOT_AUTHENTICATED = Refusal("not_authenticated", 401, "ログイン")
PROXY_NOT_AUTHENTICATED = Refusal("proxy_not_authenticated", 401, "ログインが必要です")
WRONG_TOKEN = Refusal("wrong_token", 401, "ログイン")
BUSY = Refusal("busy", 503, "混雑しています")
INVALID_BODY = Refusal("invalid_body", 422, "送信できません")  # the API lists the problems: validation_response


def wants_json(scope: Scope) -> bool:
    """API routes (and the progress the answer page polls) answer JSON; pages answer HTML."""
    path = scope.get("path", "")
    return path.startswith("/api/") or path.startswith("/answer/progress/")


def refusal_response(scope: Scope, refusal: Refusal, headers: dict[str, str] | None = None,
                     **values: Any) -> Response:
    if wants_json(scope):
        return JSONResponse({"detail": refusal.text("api", **values), "code": refusal.code}, refusal.status,
                            headers=headers)
    from search.app.web.templating import render as page_of

    page = page_of(Request(scope), "error.html", refusal.status, title=refusal.title,
                   message=refusal.text("web", **values))
    page.headers.update(headers or {})
    return page


async def refuse(scope: Scope, receive: Receive, send: Send, refusal: Refusal, headers: dict[str, str] | None = None,
                 **values: Any) -> None:
    """Answer the request with `refusal` (from ASGI middleware, before the app sees it)."""
    await refusal_response(scope, refusal, headers, **values)(scope, receive, send)


def validation_response(errors: list[dict[str, Any]]) -> JSONResponse:
    """422 with what is wrong where — each input quoted by a short excerpt, never whole (a 60 MB body
    must not come back as a 60 MB error)."""
    problems = []
    for e in errors:
        item = {k: e[k] for k in ("type", "loc", "msg") if k in e}
        if "input" in e:
            text = e["input"] if isinstance(e["input"], str) else reprlib.repr(e["input"])
            item["input"] = excerpt(text)
        problems.append(item)
    return JSONResponse({"detail": problems, "code": INVALID_BODY.code}, INVALID_BODY.status)
