"""How much of a request body the server reads: counted as it streams in, chunked bodies too.

A declared Content-Length over the limit is refused before a byte is read; a body that
turns out larger (no Content-Length, or a false one) is cut off at the limit, so Starlette
never spools more than the limit to disk and no route ever holds more in memory. An upload
(multipart/form-data) may carry one check sheet and the form's fields; any other body (JSON,
a small form) is held to MAX_JSON_BYTES: 2,000 questions of 300 characters fit with room.
A body must also arrive within BODY_SECONDS: a client trickling bytes would otherwise hold
its place in the answering queue (taken before the body is read) for as long as it likes.
"""
from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from search.app.web.refusals import BODY_TOO_LARGE, BODY_TOO_SLOW, refuse
from search.questionnaire.checksheet import MAX_FILE_BYTES

MAX_JSON_BYTES = 2 * 1024 * 1024
MAX_FORM_BYTES = MAX_FILE_BYTES + 1024 * 1024  # one check sheet plus the form's other fields
BODY_SECONDS = 120.0  # 6 MB at 50 KB/s, with room


class BodyTooLarge(Exception):
    """The body went past its limit while it was being read."""


class BodyTooSlow(Exception):
    """The body did not arrive within BODY_SECONDS."""


def body_limit(scope: Scope) -> int:
    """The most bytes this request's body may hold, by its content type."""
    content_type = dict(scope.get("headers") or []).get(b"content-type", b"").lower()
    return MAX_FORM_BYTES if content_type.startswith(b"multipart/form-data") else MAX_JSON_BYTES


def megabytes(limit: int) -> str:
    return f"{limit / (1024 * 1024):g} MB"


class BodyLimit:
    """ASGI middleware: every request body is read through a counter (413 past the limit)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope)
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and (len(declared) > len(str(limit)) or int(declared) > limit):  # no int() of 5,000 digits
            await refuse(scope, receive, send, BODY_TOO_LARGE, {"Connection": "close"}, limit=megabytes(limit))
            return
        seen = 0
        started = complete = False
        deadline = asyncio.get_running_loop().time() + BODY_SECONDS

        async def counted() -> Message:
            nonlocal seen, complete
            if complete:  # only a disconnect can come now; waiting for it is the jobs' business
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), deadline - asyncio.get_running_loop().time())
            except TimeoutError:
                raise BodyTooSlow from None
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge
                complete = not message.get("more_body", False)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except (BodyTooLarge, BodyTooSlow) as e:
            if started:
                raise
            if isinstance(e, BodyTooSlow):
                await refuse(scope, receive, send, BODY_TOO_SLOW, {"Connection": "close"}, seconds=f"{BODY_SECONDS:g}")
            else:
                await refuse(scope, receive, send, BODY_TOO_LARGE, {"Connection": "close"}, limit=megabytes(limit))
