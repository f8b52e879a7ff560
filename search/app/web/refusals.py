"""What the server refuses before it does any work, and how it says so: one place for each condition.

Each `Refusal` has a stable machine-readable `code` (the API's `{"detail", "code"}`), its HTTP
status, the English `detail` for API clients and a Japanese page title and message for people.
Messages say what to do. `refuse()` answers with JSON under /api/ (and for /answer/progress)
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

RETRY_AFTER_S = 15  # what a refused client is told to wait when the answering queue is full


@dataclass(frozen=True)
class Refusal:
    code: str
    status: int
    detail: str  # English, for the API and the CLI; may hold {placeholders}
    title: str  # Japanese page title
    message: str  # Japanese page text; may hold the same {placeholders}

    def text(self, **values: Any) -> str:
        return self.detail.format(**values)


BODY_TOO_LARGE = Refusal(
    "body_too_large", 413,
    "the request body is larger than the {limit} limit; send fewer questions per request, or split the check sheet",
    "送信できません",
    "送信されたデータが上限({limit})を超えています。質問を分けるか、チェックシートを分割してください。")
BODY_TOO_SLOW = Refusal(
    "body_timeout", 408,
    "the request body did not arrive within {seconds} seconds; send it again over a faster connection",
    "送信できません",
    "送信に {seconds} 秒以上かかったため受け付けられませんでした。もう一度送信してください。")
UNSUPPORTED_MEDIA_TYPE = Refusal(
    "unsupported_media_type", 415,
    "send JSON with 'Content-Type: application/json', or a check sheet as multipart/form-data",
    "送信できません",
    "JSON(Content-Type: application/json)かファイルのアップロード(multipart/form-data)で送信してください。")
CROSS_SITE = Refusal(
    "cross_site", 403,
    "a request from another site ({origin}) cannot change anything here; use kijun's own pages, or an API client "
    "(which sends no Origin header)",
    "他のサイトからの送信です",
    "他のサイト({origin})からの送信は受け付けません。kijun のページから操作してください。")
HOST_NOT_ALLOWED = Refusal(
    "host_not_allowed", 400,
    "this server does not answer to the name {host!r}; if that is its name, start it with "
    "`kijun serve --allow-host {host}`",
    "このホスト名では使えません",
    "このサーバーは {host} という名前では応答しません。"
    "管理者に `kijun serve --allow-host` の設定を依頼してください。")
NOT_AUTHENTICATED = Refusal(
    "not_authenticated", 401,
    "authentication required: send 'Authorization: Bearer <token>' with the server's token, or sign in at /login",
    "ログイン",
    "このサーバーを使うにはログインしてください。")
PROXY_NOT_AUTHENTICATED = Refusal(
    "not_authenticated", 401,
    "authentication required: reach this server through the sign-in proxy",
    "ログインが必要です",
    "このサーバーは社内のサインイン用プロキシ経由でのみ使えます。いつもの URL から開いてください。")
WRONG_TOKEN = Refusal(
    "wrong_token", 401,
    "that is not the server's token; ask whoever runs the server for it",
    "ログイン",
    "トークンが違います。サーバーの管理者に確認してください。")
BUSY = Refusal(
    "busy", 503,
    "the server is answering other check sheets; try again in {retry} seconds",
    "混雑しています",
    "混雑しています。ほかのチェックシートに回答中です。{retry} 秒ほどしてから、もう一度送信してください。")
INVALID_BODY = Refusal(  # the API lists the problems instead of one detail: see validation_response
    "invalid_body", 422,
    "the request body does not match the schema at /docs",
    "送信できません",
    "送信された内容を読み取れません。")


def wants_json(scope: Scope) -> bool:
    """API routes (and the progress the answer page polls) answer JSON; pages answer HTML."""
    path = scope.get("path", "")
    return path.startswith("/api/") or path.startswith("/answer/progress/")


def refusal_response(scope: Scope, refusal: Refusal, headers: dict[str, str] | None = None,
                     **values: Any) -> Response:
    if wants_json(scope):
        return JSONResponse({"detail": refusal.text(**values), "code": refusal.code}, refusal.status, headers=headers)
    from search.app.web.templating import render

    page = render(Request(scope), "error.html", refusal.status, title=refusal.title,
                  message=refusal.message.format(**values))
    page.headers.update(headers or {})
    return page


async def refuse(scope: Scope, receive: Receive, send: Send, refusal: Refusal, headers: dict[str, str] | None = None,
                 **values: Any) -> None:
    """Answer the request with `refusal` (from ASGI middleware, before the app sees it)."""
    await refusal_response(scope, refusal, headers, **values)(scope, receive, send)


MAX_ECHO_CHARS = 80  # of the input a validation error quotes back


def validation_response(errors: list[dict[str, Any]]) -> JSONResponse:
    """422 with what is wrong where — each input quoted by a short excerpt, never whole (a 60 MB body
    must not come back as a 60 MB error)."""
    problems = []
    for e in errors:
        item = {k: e[k] for k in ("type", "loc", "msg") if k in e}
        if "input" in e:
            text = e["input"] if isinstance(e["input"], str) else reprlib.repr(e["input"])
            item["input"] = text[:MAX_ECHO_CHARS] + ("…" if len(text) > MAX_ECHO_CHARS else "")
        problems.append(item)
    return JSONResponse({"detail": problems, "code": INVALID_BODY.code}, INVALID_BODY.status)
