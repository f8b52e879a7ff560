"""Shared fixtures: one engine over the real corpus per test session.

Indexes go to a session temp directory, so tests never touch ./data, and the
embedding index is built once (about 25 s on two cores) for the whole run.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

LOCAL = "http://localhost"  # test clients name the server by a loopback name, as a browser on this machine does

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# never the user's own answer library: every command a test runs reads an empty one of its own
os.environ["KIJUN_LIBRARY"] = str(Path(tempfile.mkdtemp(prefix="kijun-test-library-")) / "library.sqlite3")
# nor the user's own documents: an empty store of the session's
os.environ["KIJUN_DOCUMENTS"] = str(Path(tempfile.mkdtemp(prefix="kijun-test-documents-")) / "documents")


@pytest.fixture(scope="session")
def data_root(tmp_path_factory: pytest.TempPathFactory):
    return tmp_path_factory.mktemp("kijun-data")


@pytest.fixture(scope="session")
def engine(data_root):
    from search.engine import Engine

    e = Engine(data_dir=data_root)
    e.build()
    return e


@pytest.fixture(scope="session")
def client(engine):
    """The web app over the session engine, through FastAPI's real HTTP stack."""
    from fastapi.testclient import TestClient

    from search.app.web import create_app

    with TestClient(create_app(engine), base_url=LOCAL) as c:
        yield c


@pytest.fixture(scope="session")
def doc():
    from corpus.parser import parse_file

    return parse_file()


class _Judged:
    """The real engine with every search's verdict set to one `Match`: the verdict is
    search.answerability's to get right; this checks what the front-ends do with each one."""

    def __init__(self, engine, match) -> None:
        self._engine, self._match = engine, match

    def __getattr__(self, name):
        return getattr(self._engine, name)

    def search(self, *args, **kwargs):
        from dataclasses import replace

        result = self._engine.search(*args, **kwargs)
        return replace(result, match=self._match) if result.match is not None else result


@pytest.fixture(scope="session")
def judged(engine):
    """`judged("no_match")` / `judged("answered")`: the session engine with that verdict on every search."""
    from search.answerability import Match

    def make(status: str):
        return _Judged(engine, Match(status, "high" if status == "answered" else "low",
                                     0.9 if status == "answered" else 0.1))

    return make
