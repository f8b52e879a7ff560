"""What keeps other web sites out: a Host allow-list, no cross-site writes, and security headers.

* Host: a request must name this server by one of its names (loopback names by default,
  more with `kijun serve --allow-host`), so a page whose DNS name was rebound to 127.0.0.1
  gets nothing.
* Every request that may change something (any method but GET, HEAD and OPTIONS — today's
  POSTs and whatever routes come later) is refused when the browser says it comes from
  another site: `Sec-Fetch-Site` other than same-origin/none, or an `Origin` that is not this
  server. API clients send neither header and pass. A body sent to /api/ must be JSON
  (`application/json`) or an upload (`multipart/form-data`): the text/plain a cross-site form
  can send without asking is not read.
* Every response carries a strict Content-Security-Policy (the pages use only their own
  script and style files), `X-Content-Type-Options: nosniff`, `frame-ancestors 'none'`
  (and X-Frame-Options), `Referrer-Policy: same-origin` and
  `Cross-Origin-Resource-Policy: same-origin`.
"""
from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from search.app.web.refusals import CROSS_SITE, HOST_NOT_ALLOWED, UNSUPPORTED_MEDIA_TYPE, refuse

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
BODY_TYPES = (b"application/json", b"multipart/form-data")  # what /api/ reads
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def host_name(value: str) -> str:
    """The name part of a Host header or of an origin's netloc, lower case: "[::1]:8000" → "::1"."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def _authority(netloc: str, scheme: str) -> str:
    """host:port with the scheme's default port written out, for comparing an Origin with a Host."""
    default = {"http": "80", "https": "443"}.get(scheme, "")
    netloc = netloc.lower()
    has_port = netloc.rsplit("]", 1)[-1].count(":") == 1
    return netloc if has_port else f"{netloc}:{default}"


def same_origin(origin: str, host: str) -> bool:
    """Whether a browser's Origin names the server the request reached (by its Host header)."""
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False  # "null" (a sandboxed frame, a file), or garbage
    theirs = _authority(parts.netloc, parts.scheme)
    # behind a TLS proxy the Host carries no port and the scheme is https: either default port matches
    return theirs in (_authority(host, "http"), _authority(host, "https"))


class SiteProtection:
    """ASGI middleware: the Host allow-list, the cross-site refusal and the security headers."""

    def __init__(self, app: ASGIApp, allowed_hosts: Iterable[str] = LOOPBACK_NAMES) -> None:
        self.app = app
        self.allowed = frozenset(host_name(h) for h in allowed_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers") or []}
        host = headers.get("host", "")
        if host_name(host) not in self.allowed:
            await refuse(scope, receive, with_headers, HOST_NOT_ALLOWED, host=host_name(host) or "(none)")
            return
        if scope["method"] not in SAFE_METHODS:
            site = headers.get("sec-fetch-site")
            origin = headers.get("origin")
            if (site is not None and site not in ("same-origin", "none")) or \
                    (origin is not None and not same_origin(origin, host)):
                await refuse(scope, receive, with_headers, CROSS_SITE, origin=origin or site)
                return
            content_type = headers.get("content-type", "").lower().encode("latin-1")
            has_body = headers.get("content-length", "0") != "0" or "transfer-encoding" in headers
            if scope["path"].startswith("/api/") and has_body and not content_type.startswith(BODY_TYPES):
                await refuse(scope, receive, with_headers, UNSUPPORTED_MEDIA_TYPE)
                return
        await self.app(scope, receive, with_headers)
