"""Who may use a server that others can reach: a shared token, or the firm's sign-in proxy.

`kijun serve` on a loopback address needs none of this (only the user's own machine reaches
it). On any other address it refuses to start without one of:

* a token (`$KIJUN_TOKEN` or `--token-file`): API clients send `Authorization: Bearer <token>`;
  a browser signs in once at /login, which sets a cookie (HttpOnly, SameSite=Strict, Secure
  over HTTPS) holding an HMAC of the token — never the token itself — so changing the token
  signs every browser out;
* a header set by the firm's sign-in proxy (`--trusted-proxy-header X-Forwarded-User`),
  believed only from the proxy's addresses (`--trusted-proxy`, loopback by default).

Secrets are compared in constant time. Static files and the sign-in page itself are open.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from messages import render
from search.app.web.refusals import (NOT_AUTHENTICATED, PROXY_NOT_AUTHENTICATED, WRONG_TOKEN, refusal_response,
                                     wants_json)

COOKIE = "kijun_session"
COOKIE_MAX_AGE_S = 30 * 24 * 3600
MIN_TOKEN_CHARS = 16
OPEN_PATHS = ("/login", "/static/")  # reachable before signing in
LOOPBACK_PROXIES = ("127.0.0.1", "::1")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class AuthenticationError(ValueError):
    """The authentication settings cannot be used (a token too short or empty, a bad proxy address)."""


def configured_token(environ_value: str | None, file_text: str | None, file_name: str | None = None) -> str | None:
    """The shared token from --token-file (its text) or $KIJUN_TOKEN, without the spaces and line break
    around it; None when neither is given. One given but empty (or only spaces) is refused: a server
    started with it would let nobody sign in."""
    if file_text is not None:
        token, source = file_text.strip(), f"--token-file {file_name or ''}".strip()
    elif environ_value is not None:
        token, source = environ_value.strip(), "$KIJUN_TOKEN"
    else:
        return None
    if not token:
        raise AuthenticationError(render("token_empty", source=source))
    return token


def networks(addresses: Iterable[str]) -> tuple[Network, ...]:
    """Proxy addresses or networks ("10.0.0.5", "10.0.0.0/24"), checked now rather than at the first request."""
    out = []
    for a in addresses:
        try:
            out.append(ipaddress.ip_network(a.strip(), strict=False))
        except ValueError:
            raise AuthenticationError(f"--trusted-proxy {a!r} is not an IP address or network "
                                      "(e.g. 10.0.0.5 or 10.0.0.0/24)") from None
    return tuple(out)


@dataclass(frozen=True)
class Authentication:
    """How requests prove who they are; empty (nothing configured) on a loopback-only server."""

    token: str | None = None
    proxy_header: str | None = None  # e.g. X-Forwarded-User, set by the sign-in proxy
    trusted_proxies: tuple[Network, ...] = field(default_factory=lambda: networks(LOOPBACK_PROXIES))

    def __post_init__(self) -> None:
        if self.token is not None:  # a token copied with a line break or a space would match nothing typed
            object.__setattr__(self, "token", self.token.strip())
            if not self.token:
                raise AuthenticationError(render("token_empty", source="the token"))
        if self.token is not None and len(self.token) < MIN_TOKEN_CHARS:
            raise AuthenticationError(
                f"the token is {len(self.token)} characters; use at least {MIN_TOKEN_CHARS}, e.g. "
                "python -c 'import secrets; print(secrets.token_urlsafe(24))'")

    @property
    def configured(self) -> bool:
        return bool(self.token or self.proxy_header)

    @property
    def session(self) -> str:
        """The browser cookie's value: an HMAC of the token (the token itself never leaves the login form)."""
        assert self.token is not None
        return hmac.new(self.token.encode(), b"kijun browser session", hashlib.sha256).hexdigest()

    def from_proxy(self, scope: Scope) -> bool:
        """Whether the request came straight from a trusted proxy (its X-Forwarded-* are believed)."""
        client = scope.get("client")
        try:
            peer = ipaddress.ip_address(client[0]) if client else None
        except ValueError:
            return False
        return peer is not None and any(peer in n for n in self.trusted_proxies)

    def user(self, scope: Scope) -> str | None:
        """Who the request is from ("token", "browser" or the proxy's user name), or None."""
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers") or []}
        if self.proxy_header and self.from_proxy(scope):
            name = headers.get(self.proxy_header.lower(), "").strip()
            if name:
                return name
        if self.token:
            scheme, _, credentials = headers.get("authorization", "").partition(" ")
            if scheme.lower() == "bearer" and hmac.compare_digest(credentials.strip().encode(), self.token.encode()):
                return "token"
            cookie = _cookie(headers.get("cookie", ""), COOKIE)
            if cookie and hmac.compare_digest(cookie.encode(), self.session.encode()):
                return "browser"
        return None

    def secure(self, scope: Scope) -> bool:
        """Whether the browser reached us over HTTPS (directly, or through a trusted TLS proxy)."""
        if scope.get("scheme") == "https":
            return True
        forwarded = dict(scope.get("headers") or []).get(b"x-forwarded-proto", b"").decode("latin-1").lower()
        return forwarded == "https" and self.from_proxy(scope)


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


class RequireAuthentication:
    """ASGI middleware: 401 unless the request is signed in (a page gets the sign-in form)."""

    def __init__(self, app: ASGIApp, auth: Authentication) -> None:
        self.app = app
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(OPEN_PATHS) or self.auth.user(scope):
            await self.app(scope, receive, send)
            return
        if not self.auth.token:  # only the proxy signs people in
            response = refusal_response(scope, PROXY_NOT_AUTHENTICATED)
        elif wants_json(scope) or scope["method"] != "GET":
            response = refusal_response(scope, NOT_AUTHENTICATED, {"WWW-Authenticate": 'Bearer realm="kijun"'})
        else:
            request = Request(scope)
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            response = login_page(request, target, 401)
        await response(scope, receive, send)


def login_page(request: Request, target: str, status: int = 200, error: str | None = None) -> HTMLResponse:
    from search.app.web.templating import render

    return render(request, "login.html", status, next=safe_target(target), error=error)


def safe_target(target: str) -> str:
    """Where to go after signing in: a path on this server, never another site ("//evil", "https://…")."""
    parts = urlsplit(target or "/")
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


router = APIRouter(include_in_schema=False)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    return login_page(request, next)


@router.post("/login")
async def login(request: Request) -> Response:
    """The token typed into the form: right → the cookie and back to where the user was going."""
    auth: Authentication = request.app.state.auth
    async with request.form(max_files=0, max_fields=4) as form:
        token, target = str(form.get("token") or "").strip(), str(form.get("next") or "/")
    if not auth.token or not hmac.compare_digest(token.encode(), auth.token.encode()):
        return login_page(request, target, WRONG_TOKEN.status, WRONG_TOKEN.text("web"))
    response = RedirectResponse(safe_target(target), status_code=303)
    response.set_cookie(COOKIE, auth.session, max_age=COOKIE_MAX_AGE_S, httponly=True, samesite="strict",
                        secure=auth.secure(request.scope), path="/")
    return response


@router.post("/logout")
def logout() -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response
