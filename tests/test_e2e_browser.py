"""The three main pages in a real headless browser against a real `kijun serve`.

test_web.py checks the HTML; this checks what only a browser shows: the box is
focused on load, Ctrl+Enter submits, links navigate, a pasted multi-line text
keeps its lines, and the CSV button really downloads a file Excel can open.
Skipped only when Debian's chromium or the playwright package is missing
(`.ci/run` installs both).
"""
from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from browser import browser_context, missing_prerequisites, serve

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

REASON = missing_prerequisites()
if REASON:
    pytest.skip(REASON, allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402 — only importable once the skip above has passed

from search.answer import export_header  # noqa: E402
from search.app.presentation import LABELS  # noqa: E402

QUESTIONS = ("パスワードの複雑さや有効期限について規定を設けていますか。",
             "データセンターの消火設備について説明してください。")


@pytest.fixture(scope="module")
def base_url(engine: Any, data_root: Path) -> Iterator[str]:
    """`kijun serve` on the session's index (built once by the `engine` fixture, not again here)."""
    with serve(data_root, timeout=90) as url:
        yield url


@pytest.fixture(scope="module")
def chromium() -> Iterator[BrowserContext]:
    """One browser for the module (launching costs about a second); a fresh page per test."""
    with browser_context() as ctx:
        yield ctx


@pytest.fixture
def page(chromium: BrowserContext) -> Iterator[Page]:
    p = chromium.new_page()
    yield p
    p.close()


def test_search_password_then_open_jitsu26(page: Page, base_url: str) -> None:
    page.goto(base_url + "/")
    box = page.locator("#q")
    expect(box).to_be_focused()  # autofocus: the user can type at once
    page.keyboard.type("パスワード")
    page.keyboard.press("Control+Enter")  # the box is a textarea; Ctrl+Enter is the documented submit key
    page.wait_for_url(re.compile(r"/\?q=%E3%83%91"))  # the query is in the URL (shareable)
    expect(box).to_have_value("パスワード")

    first = page.locator("ol.hits > li.card").first
    expect(first.locator("a.cid")).to_have_text("実26")
    expect(first.locator(".snippet mark").first).to_have_text("パスワード")

    first.locator("a.cid").click()
    page.wait_for_url(re.compile(r"/criteria/%E5%AE%9F26$"))
    expect(page).to_have_title(re.compile(r"^実26 "))
    expect(page.locator("h1")).to_contain_text("実26")
    labels = page.locator("dl.fields > dt").all_inner_texts()
    for key in ("id", "roles", "aws_status", "customer_controls", "references", "urls"):
        assert LABELS[key] in labels, (key, labels)
    expect(page.locator("#aws-status")).to_contain_text("パスワード")
    expect(page.get_by_role("heading", name=LABELS["revisions"])).to_be_visible()


def test_questionnaire_paste_two_questions_and_download_csv(page: Page, base_url: str, tmp_path: Path) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url)
    page.goto(base_url + "/answer")
    box = page.locator("#questions")
    expect(box).to_be_focused()
    page.evaluate("text => navigator.clipboard.writeText(text)", "\n".join(QUESTIONS))
    page.keyboard.press("Control+V")  # a real paste, newlines and all
    expect(box).to_have_value("\n".join(QUESTIONS))
    page.get_by_role("button", name="回答を探す").click()

    rows = page.locator("table.answers > tbody > tr")
    expect(rows).to_have_count(2)
    for row, question in zip(rows.all(), QUESTIONS):
        expect(row.locator("td").nth(1)).to_have_text(question)
    first_ids = rows.nth(0).locator("td").nth(3).locator("a").all_inner_texts()
    assert "実26" in first_ids, first_ids

    with page.expect_download() as info:
        page.get_by_role("button", name="CSV をダウンロード").click()
    download = info.value
    assert download.failure() is None
    assert download.suggested_filename == "kijun-answers.csv"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)

    raw = saved.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM, so Excel reads UTF-8
    table = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    assert table[0] == export_header(int(page.locator("select[name=top]").input_value()))
    assert [r[1] for r in table[1:]] == list(QUESTIONS)
    ids = [[r[i] for i in range(4, len(r)) if table[0][i].startswith("基準")] for r in table[1:]]
    assert "実26" in ids[0], ids
    assert ids[0][0] == first_ids[0]  # the file says what the page showed
