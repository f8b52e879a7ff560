"""Whatever a user types or pastes, search answers or says clearly why not.

Property-based: arbitrary Unicode (control characters, combining marks,
unassigned code points), Whoosh query syntax, and text far past the length cap,
through the library, the CLI and the HTTP API.
"""
from __future__ import annotations

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search.app.cli import main
from search.engine import SearchResult
from search.query import MODES
from search.errors import QueryError
from search.query import MAX_QUERY_CHARS

SYNTAX = list('()[]{}"\'*?~^:+-!&|\\/<>=,.;@#%$`') + ["AND", "OR", "NOT", "TO", "field:", "*:*", "\x00", "\u3000"]
WORDS = ["パスワード", "ﾊﾟｽﾜｰﾄﾞ", "実26", "監3", "暗号化", "データセンター", "password", "対策", "について", "実", "監"]

any_text = st.text(max_size=200) | st.text(st.characters(codec=None, categories=["Cs", "Co", "Cn", "Cc", "Mn"]),
                                          max_size=50)
syntaxy = st.lists(st.sampled_from(SYNTAX + WORDS) | st.text(max_size=3), max_size=30).map("".join)
huge = st.builds(lambda s, n: s * n, st.text(min_size=1, max_size=12), st.integers(800, 12_000))
queries = any_text | syntaxy | huge

relaxed = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                          HealthCheck.function_scoped_fixture])


def _check(result: SearchResult) -> None:
    assert isinstance(result, SearchResult)
    for h in result.hits:
        assert h.id
        for a, b in h.highlights:
            assert 0 <= a < b <= len(h.snippet)


@relaxed
@given(query=queries, mode=st.sampled_from(MODES))
def test_engine_answers_any_text_or_raises_a_clear_query_error(engine, query: str, mode: str):
    try:
        result = engine.search(query, mode=mode)
    except QueryError as e:
        assert str(e).strip()
        return
    _check(result)


@relaxed
@given(query=st.builds(lambda s, n: s * n, st.text(min_size=1, max_size=5).filter(str.strip),
                       st.integers(100_000, 101_000)))
def test_text_beyond_the_cap_is_refused_by_its_length(engine, query: str):
    assert len(query) > MAX_QUERY_CHARS
    with pytest.raises(QueryError, match=f"{MAX_QUERY_CHARS:,}|{MAX_QUERY_CHARS}"):
        engine.search(query)


# a URL caps the length and cannot carry a lone surrogate: both stop at the client, not the server
url_text = (any_text | syntaxy).filter(lambda q: not any("\ud800" <= c <= "\udfff" for c in q))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                                                   HealthCheck.function_scoped_fixture])
@given(query=url_text, mode=st.sampled_from(MODES))
def test_api_never_answers_with_a_server_error(client, query: str, mode: str):
    r = client.get("/api/search", params={"q": query, "mode": mode})
    assert r.status_code in (200, 400, 422), r.text[:300]
    body = r.json()
    if r.status_code == 200:
        assert isinstance(body["hits"], list)
    else:
        assert body["detail"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(query=syntaxy.filter(lambda q: q.strip() and "\x00" not in q))
def test_cli_search_never_prints_a_traceback(engine, query: str):
    r = CliRunner().invoke(main, ["search", "--mode", "keyword", "--data-dir", str(engine.root), "--", query])
    assert "Traceback" not in r.output
    assert r.exit_code in (0, 1), r.output
    if r.exit_code == 1:
        assert r.output.startswith("Error: ")
    else:
        assert r.exception is None
