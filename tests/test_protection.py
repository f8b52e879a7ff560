"""What keeps other sites and strangers out, through FastAPI's real HTTP stack: Host names, cross-site
writes, security headers, body limits, sign-in, the answering queue, damaged indexes, leftover uploads.

The same on a real `kijun serve` (a real socket, SIGKILL, RSS) is in test_serving.py.
"""
from __future__ import annotations

import asyncio
import json
import os
import re
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from search.app.web import ServerSettings, create_app
from search.app.web.auth import COOKIE, Authentication, configured_token, networks, safe_target
from search.app.web.jobs import Busy, Job, JobPool
from search.app.web.limits import MAX_FORM_BYTES, MAX_JSON_BYTES
from search.app.web.protection import CSP, same_origin
from search.app.web.uploads import UploadStore, sweep_abandoned

LOCAL = "http://localhost"
TOKEN = "kijun-test-token-0123456789"
PASSWORD = "パスワードの最低文字数や複雑さ、定期的な変更などのパスワードポリシーを定めていますか。"


@pytest.fixture(scope="module")
def signed(engine):
    """The app with a token and a sign-in proxy trusted at 10.0.0.5, as `kijun serve --host 0.0.0.0` makes it."""
    auth = Authentication(token=TOKEN, proxy_header="X-Forwarded-User", trusted_proxies=networks(["10.0.0.5"]))
    return create_app(engine, settings=ServerSettings(auth=auth, allowed_hosts=("localhost", "kijun.example.jp")))


# ------------------------------------------------------------------ headers, names, sites


@pytest.mark.parametrize("path", ["/", "/?q=パスワード", "/criteria/実26", "/api/search?q=x", "/static/app.js", "/nope",
                                  "/answer", "/duplicates", "/docs"])
def test_every_response_carries_the_security_headers(client, path):
    r = client.get(path)
    assert r.headers["content-security-policy"] == CSP and "frame-ancestors 'none'" in CSP
    assert "script-src 'self';" in CSP and "'unsafe-inline'" not in CSP
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["referrer-policy"] == "same-origin"
    assert r.headers["x-frame-options"] == "DENY" and r.headers["cross-origin-resource-policy"] == "same-origin"


def test_pages_hold_no_inline_script_style_or_handler(client, engine):
    pages = [client.get(p).text for p in ("/", "/?q=パスワード", "/criteria/実26", "/duplicates", "/answer")]
    pages.append(client.post("/answer", data={"questions": PASSWORD}).text)
    for html in pages:
        assert not [s for s in html.split("<script")[1:] if not s.lstrip().startswith("src=")]
        assert "<style" not in html and " style=" not in html
        assert not re.search(r"\son[a-z]+=", html)


def test_a_foreign_host_name_is_refused(client):
    """DNS rebinding: a page at attacker.example whose name now points at 127.0.0.1 gets nothing."""
    r = client.get("/api/criteria/実26", headers={"host": "attacker.example"})
    assert r.status_code == 400 and r.json()["code"] == "host_not_allowed"
    assert r.json()["code"] == "host_not_allowed" and "'attacker.example'" in r.json()["detail"]
    assert "allow-host" in r.json()["detail"] and "AWS" not in r.text
    page = client.get("/", headers={"host": "attacker.example:8000"})
    assert page.status_code == 400 and "このホスト名では使えません" in page.text
    for host in ("localhost:8000", "127.0.0.1:8000", "[::1]:8000", "LOCALHOST"):
        assert client.get("/api/criteria/実26", headers={"host": host}).status_code == 200


@pytest.mark.parametrize("headers", [
    {"origin": "https://attacker.example"},
    {"origin": "null"},
    {"sec-fetch-site": "cross-site"},
    {"sec-fetch-site": "same-site", "origin": "http://localhost"},  # a sibling subdomain or port
    {"origin": "http://localhost:9999"},
])
def test_cross_site_writes_are_refused_before_anything_is_read(client, headers):
    r = client.post("/api/answer", json={"questions": [PASSWORD]}, headers=headers)
    assert r.status_code == 403 and r.json()["code"] == "cross_site"
    r = client.post("/answer", data={"questions": PASSWORD}, headers=headers)
    assert r.status_code == 403 and "他のサイトからの送信です" in r.text and "回答候補" not in r.text
    r = client.delete("/library/1", headers=headers)  # a route that does not exist yet is refused all the same
    assert r.status_code == 403


def test_same_origin_writes_and_api_clients_pass(client):
    ok = {"origin": "http://localhost", "sec-fetch-site": "same-origin"}
    assert client.post("/answer", data={"questions": PASSWORD}, headers=ok).status_code == 200
    assert client.post("/api/answer", json={"questions": [PASSWORD]}).status_code == 200  # no Origin: curl
    assert same_origin("https://kijun.example.jp", "kijun.example.jp") and same_origin("http://[::1]:8000", "[::1]:8000")
    assert not same_origin("http://kijun.example.jp.attacker.example", "kijun.example.jp")


def test_the_api_reads_only_json_or_uploads(client):
    """A cross-site form may send text/plain without asking first; the API does not read it."""
    r = client.post("/api/answer", content=json.dumps({"questions": ["x"]}), headers={"content-type": "text/plain"})
    assert r.status_code == 415 and r.json()["code"] == "unsupported_media_type"


# ------------------------------------------------------------------ bodies


def test_a_body_over_its_limit_is_refused_whole_and_chunked(client):
    big = json.dumps({"questions": [PASSWORD * 40] * 2000}, ensure_ascii=False).encode()
    assert len(big) > MAX_JSON_BYTES
    r = client.post("/api/answer", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json() == {"detail": "the request body is larger than the 2 MB limit; send fewer "
                                                 "questions per request, or split the check sheet",
                                                 "code": "body_too_large"}

    def chunks():  # no Content-Length: counted as it streams in
        for _ in range(40):
            yield b"x" * 262_144

    r = client.post("/api/answer", content=chunks(), headers={"content-type": "multipart/form-data; boundary=b"})
    assert r.status_code == 413 and f"{MAX_FORM_BYTES / 2**20:g} MB limit" in r.json()["detail"]
    page = client.post("/answer", content=chunks(), headers={"content-type": "multipart/form-data; boundary=b"})
    assert page.status_code == 413 and "上限（6 MB）" in page.text


def test_a_body_that_trickles_in_is_cut_off(monkeypatch):
    """A client sending a byte every 0.2 s would hold its place in the answering queue for ever."""
    from starlette.responses import PlainTextResponse

    from search.app.web import limits

    monkeypatch.setattr(limits, "BODY_SECONDS", 0.5)

    async def route(scope, receive, send) -> None:  # reads the whole body, as the answer routes do
        while (await receive()).get("more_body"):
            pass
        await PlainTextResponse("read")(scope, receive, send)

    async def trickle() -> dict:
        await asyncio.sleep(0.2)
        return {"type": "http.request", "body": b"x", "more_body": True}

    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/api/answer", "headers": [(b"content-type", b"application/json")]}
    started = time.perf_counter()
    asyncio.run(limits.BodyLimit(route)(scope, trickle, send))
    assert time.perf_counter() - started < 1.5
    assert sent[0]["status"] == 408 and json.loads(sent[1]["body"])["code"] == "body_timeout"


def test_a_422_quotes_only_an_excerpt_of_the_input(client):
    r = client.post("/api/answer", content=b'{"questions": "' + b"z" * 1_000_000 + b'"}',
                    headers={"content-type": "application/json"})
    assert r.status_code == 422 and len(r.content) < 1000
    [problem] = r.json()["detail"]
    assert problem["loc"] == ["questions"] and problem["input"] == "z" * 80 + "…" and r.json()["code"] == "invalid_body"
    r = client.get("/api/duplicates", params={"threshold": "9" * 5000})
    assert r.status_code == 422 and len(r.content) < 1000


# ------------------------------------------------------------------ sign-in


def test_without_sign_in_the_api_is_401_and_a_page_asks_for_the_token(signed):
    with TestClient(signed, base_url=LOCAL) as c:
        r = c.get("/api/search", params={"q": "パスワード"})
        assert r.status_code == 401 and r.json()["code"] == "not_authenticated"
        assert r.headers["www-authenticate"].startswith("Bearer")
        page = c.get("/criteria/実26")
        assert page.status_code == 401 and 'action="/login"' in page.text and 'name="next" value="/criteria/' in page.text
        assert "AWSの対応状況" not in page.text
        assert c.get("/static/style.css").status_code == 200  # the sign-in page's own look
        assert c.post("/api/answer", json={"questions": ["x"]}).status_code == 401
        r = c.get("/api/search", params={"q": "パスワード"}, headers={"authorization": "Bearer " + TOKEN[:-1] + "x"})
        assert r.status_code == 401
        r = c.get("/api/search", params={"q": "パスワード"}, headers={"authorization": "Bearer " + TOKEN})
        assert r.status_code == 200 and r.json()["hits"][0]["id"] == "実26"


def test_a_browser_signs_in_once_and_gets_a_strict_cookie(signed):
    with TestClient(signed, base_url=LOCAL) as c:
        wrong = c.post("/login", data={"token": "nope", "next": "/criteria/実26"}, follow_redirects=False)
        assert wrong.status_code == 401 and "トークンが違います" in wrong.text and COOKIE not in wrong.headers.get("set-cookie", "")
        r = c.post("/login", data={"token": TOKEN, "next": "/criteria/実26"}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/criteria/%E5%AE%9F26"
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie and TOKEN not in cookie
        assert c.get("/criteria/実26").status_code == 200  # the cookie, from now on
        assert c.get("/api/search", params={"q": "パスワード"}).status_code == 200
        assert c.post("/logout", follow_redirects=False).status_code == 303
        c.cookies.clear()
        assert c.get("/criteria/実26").status_code == 401
    with TestClient(signed, base_url="https://kijun.example.jp") as c:
        r = c.post("/login", data={"token": TOKEN}, follow_redirects=False)
        assert "Secure" in r.headers["set-cookie"] and r.headers["location"] == "/"
    assert [safe_target(t) for t in ("//evil.example/x", "https://evil.example", "/\\evil", "/answer?x=1")] == \
        ["/", "/", "/", "/answer?x=1"]


def test_the_sign_in_proxy_is_believed_only_from_its_own_address(signed):
    with TestClient(signed, base_url=LOCAL, client=("10.0.0.5", 50000)) as proxy:
        assert proxy.get("/", headers={"x-forwarded-user": "tanaka"}).status_code == 200
        assert proxy.get("/api/search", params={"q": "x"}).status_code == 401  # the proxy, but no user
    with TestClient(signed, base_url=LOCAL, client=("10.0.0.9", 50000)) as stranger:
        assert stranger.get("/api/search", params={"q": "x"}, headers={"x-forwarded-user": "tanaka"}).status_code == 401


def test_a_short_token_is_refused():
    with pytest.raises(ValueError, match="the token is 5 characters; use at least 16"):
        Authentication(token="abcde")


def test_a_token_is_stripped_and_an_empty_one_refused(engine, tmp_path):
    """A token pasted with a line break or a space signs in as typed (the form strips what is typed);
    one of only spaces would start a server nobody can sign in to, so the server does not start."""
    auth = Authentication(token=f" {TOKEN}\n")
    assert auth.token == TOKEN
    with TestClient(create_app(engine, settings=ServerSettings(auth=auth)), base_url=LOCAL) as c:
        assert c.get("/api/search", params={"q": "x"}, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        r = c.post("/login", data={"token": TOKEN, "next": "/"}, follow_redirects=False)
        assert r.status_code == 303
    with pytest.raises(ValueError, match=r"the token is empty \(or only spaces\)"):
        Authentication(token=" \t\n")
    assert configured_token(f"  {TOKEN}  ", None) == TOKEN and configured_token(None, None) is None
    assert configured_token(None, f"{TOKEN}\n", "token.txt") == TOKEN

    from click.testing import CliRunner

    from search.app import cli

    empty = tmp_path / "token.txt"
    empty.write_text("\n  \n", encoding="utf-8")
    for args, env in ((["--host", "0.0.0.0"], {"KIJUN_TOKEN": "   "}), (["--token-file", str(empty)], {}),
                      ([], {"KIJUN_TOKEN": ""})):
        done = CliRunner().invoke(cli.main, ["serve", "--data-dir", str(tmp_path / "none"), *args], env=env)
        assert done.exit_code == 2 and "is empty (or only spaces), so nobody could sign in" in done.output
        assert not (tmp_path / "none").exists()  # refused before anything was built


# ------------------------------------------------------------------ the answering queue


def test_a_full_queue_answers_503_at_once_and_search_goes_on(engine):
    app = create_app(engine, settings=ServerSettings(answer_workers=1, answer_queue=0))
    with TestClient(app, base_url=LOCAL) as c:
        app.state.jobs._jobs.append(Job(None, 0, "running"))  # a sheet being answered
        started = time.perf_counter()
        r = c.post("/api/answer", json={"questions": [PASSWORD]})
        assert r.status_code == 503 and r.json()["code"] == "busy" and r.headers["retry-after"] == "15"
        page = c.post("/answer", files={"file": ("a.csv", b"q\n" + PASSWORD.encode())})
        assert page.status_code == 503 and "混雑しています" in page.text
        assert time.perf_counter() - started < 2
        assert c.get("/api/search", params={"q": "パスワード"}).status_code == 200
        app.state.jobs._jobs.clear()
        assert c.post("/api/answer", json={"questions": [PASSWORD]}).status_code == 200


def test_a_job_reports_its_progress_and_stops_when_its_client_goes(engine):
    pool = JobPool(workers=1, queue=2)

    class Client:  # what a route's request offers the pool: its query, and its messages
        def __init__(self, progress_id: str, gone: asyncio.Event) -> None:
            self.query_params = {"progress": progress_id}
            self.gone = gone

        async def receive(self) -> dict:
            await self.gone.wait()
            return {"type": "http.disconnect"}

    seen: list[dict] = []

    def work(n: int, *, progress) -> int:
        for done in range(1, n + 1):
            time.sleep(0.01)
            progress(done, n)
            if (done, n) == (5, 10):
                seen.append(pool.status("a" * 20))
        return n

    async def scenario() -> None:
        stay, leave = asyncio.Event(), asyncio.Event()
        async with pool.place(Client("a" * 20, stay)) as first:
            assert await pool.run(first, Client("a" * 20, stay), work, 10) == 10
        async with pool.place(Client("b" * 20, leave)) as second:
            task = asyncio.ensure_future(pool.run(second, Client("b" * 20, leave), work, 100_000))
            await asyncio.sleep(0.2)
            assert pool.status("b" * 20)["state"] == "running" and pool.status("b" * 20)["total"] == 100_000
            leave.set()
            with pytest.raises(Exception) as gone:
                await task
            assert type(gone.value).__name__ == "Cancelled"
            stopped_at = second.done
            await asyncio.sleep(0.2)
            assert second.done <= stopped_at + 1  # the worker stopped at its next question
        assert pool.status("b" * 20) is None

    asyncio.run(scenario())
    assert seen == [{"state": "running", "done": 5, "total": 10, "ahead": 0}]
    pool.close()


def test_the_pool_refuses_beyond_workers_and_queue():
    pool = JobPool(workers=1, queue=1)

    class Client:
        query_params: dict = {}

    async def scenario() -> None:
        async with pool.place(Client()), pool.place(Client()):
            with pytest.raises(Busy):
                async with pool.place(Client()):
                    pass
        async with pool.place(Client()):
            pass

    asyncio.run(scenario())
    pool.close()


# ------------------------------------------------------------------ leftovers


def test_upload_folders_of_killed_servers_are_swept_and_live_ones_kept(tmp_path: Path):
    live = UploadStore(tmp_path / "kijun-uploads-live")
    live.add("a.csv", b"x")
    dead = tmp_path / "kijun-uploads-dead"
    (dead / "run").mkdir(parents=True)
    (dead / ".owner.lock").write_text("")  # its server was killed: nobody holds the lock
    older = tmp_path / "kijun-uploads-old"  # an older kijun's (no lock file): not ours to judge
    older.mkdir()
    past = time.time() - 60
    for p in (dead / ".owner.lock", live.root / ".owner.lock"):
        os.utime(p, (past, past))
    assert sweep_abandoned(tmp_path) == [dead]
    assert live.root.exists() and older.exists() and not dead.exists()
    live.close()
