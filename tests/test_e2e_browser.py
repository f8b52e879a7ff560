"""The three main pages in a real headless browser against a real `kijun serve`.

test_web.py checks the HTML; this checks what only a browser shows: the box is
focused on load, Ctrl+Enter submits, links navigate, a pasted multi-line text
keeps its lines, the CSV button really downloads a file Excel can open, and a
check sheet chosen in the file picker comes back filled in, as a real download.
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

from search.questionnaire.answer import table_rows  # noqa: E402
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
    page.keyboard.press("Shift+Enter")  # a new line, not a search
    expect(box).to_have_value("パスワード\n")
    page.keyboard.press("Backspace")
    page.keyboard.press("Enter")  # Enter searches
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
        page.get_by_role("link", name="一覧を CSV でダウンロード").click()
    download = info.value
    assert download.failure() is None
    assert download.suggested_filename == "kijun-answers.csv"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)

    raw = saved.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM, so Excel reads UTF-8
    table = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    header = table_rows([])[0]
    assert table[0] == header
    assert [r[1] for r in table[1:]] == list(QUESTIONS)
    ids = [[r[header.index("該当基準")], *r[header.index("他の候補")].split("、")] for r in table[1:]]
    assert "実26" in ids[0], ids
    assert ids[0][0] == first_ids[0]  # the file says what the page showed


def test_questionnaire_upload_preview_and_download_the_filled_workbook(page: Page, base_url: str,
                                                                       tmp_path: Path) -> None:
    from openpyxl import load_workbook

    import checksheets as cs

    upload = tmp_path / "チェックシート.xlsx"
    original = cs.cloud_checksheet()
    upload.write_bytes(original)
    page.goto(base_url + "/answer")
    page.locator("input[type=file]").set_input_files(str(upload))
    page.get_by_role("button", name="回答を探す").click()

    detected = page.locator("section.detected")
    expect(detected.locator("h2")).to_contain_text("チェックシート.xlsx")
    row = detected.locator("table.detected-tables > tbody > tr")
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(0)).to_have_text("チェックシート")
    expect(row.locator("td").nth(1)).to_have_text("4 行目")
    expect(row.locator("td").nth(2)).to_have_text("C 列「確認項目」")
    expect(row.locator("td").nth(3)).to_have_text("9 問")
    expect(page.locator("table.answers > tbody > tr")).to_have_count(9)

    with page.expect_download() as info:
        page.get_by_role("link", name=re.compile("回答を記入したファイル")).click()
    download = info.value
    assert download.failure() is None
    assert download.suggested_filename == "チェックシート_回答.xlsx"
    saved = tmp_path / "filled.xlsx"
    download.save_as(saved)
    ws = load_workbook(saved)["チェックシート"]
    assert [ws.cell(4, c).value for c in range(7, 14)][:4] == ["判定", "該当基準", "確信度", "回答案"]
    assert ws["C9"].value.startswith("パスワードの最低文字数") and ws["H9"].value.startswith("実26")
    assert ws["J9"].value.split("\n")[0].endswith("[実26]")
    assert upload.read_bytes() == original


# ------------------------------------------------------------------ any screen, offline, in Japanese

PAGES = ("/?q=パスワード", "/criteria/実26", "/criteria/実73", "/duplicates", "/criteria/統20")
JS_OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


@pytest.mark.parametrize("width", [1280, 390])
def test_no_page_scrolls_sideways(page: Page, base_url: str, width: int, tmp_path: Path) -> None:
    """From a laptop to a phone: the page is never wider than the window (tables scroll in their box or
    become cards), the copy buttons stay on screen."""
    import checksheets as cs

    page.set_viewport_size({"width": width, "height": 800})
    for path in PAGES:
        page.goto(base_url + path)
        assert page.evaluate(JS_OVERFLOW) == 0, path
    for button in page.goto(base_url + "/criteria/実73") and page.locator("button.copy").all():
        box = button.bounding_box()
        assert box and box["x"] + box["width"] <= width
    page.goto(base_url + "/answer")
    page.locator("#questions").fill("\n".join(QUESTIONS))
    page.get_by_role("button", name="回答を探す").click()
    expect(page.locator("table.answers > tbody > tr")).to_have_count(2)
    assert page.evaluate(JS_OVERFLOW) == 0, "answers"
    sheet = tmp_path / "チェックシート.xlsx"
    sheet.write_bytes(cs.cloud_checksheet())
    page.goto(base_url + "/answer")
    page.locator("input[type=file]").set_input_files(str(sheet))
    page.get_by_role("button", name="回答を探す").click()
    expect(page.locator("table.answers > tbody > tr")).to_have_count(9)
    assert page.evaluate(JS_OVERFLOW) == 0, "answers of a check sheet"


def test_every_bad_upload_is_told_in_japanese(page: Page, base_url: str, tmp_path: Path) -> None:
    import re as regex

    import checksheets as cs

    bad = {"保護.xlsx": cs.encrypted_xlsx(), "古い.xls": cs.legacy_xls(), "壊れ.xlsx": bytes(range(256)) * 20,
           "資料.pdf": b"%PDF-1.4", "空.csv": b"", "質問なし.xlsx": cs.no_question_column(),
           "多すぎ.xlsx": cs.huge_sheet()}
    page.set_viewport_size({"width": 390, "height": 800})
    for name, data in bad.items():
        path = tmp_path / name
        path.write_bytes(data)
        page.goto(base_url + "/answer")
        page.locator("input[type=file]").set_input_files(str(path))
        page.get_by_role("button", name="回答を探す").click()
        message = page.locator("p.error[role=alert]").inner_text()
        assert name in message or "ファイル" in message, (name, message)
        assert "--" not in message and not regex.search(r"\b(the|is|not|found|use)\b", message), (name, message)
        assert regex.search(r"[\u3040-\u30ff]", message), (name, message)
        assert page.evaluate(JS_OVERFLOW) == 0, name


def test_api_docs_render_with_the_network_blocked(page: Page, base_url: str) -> None:
    blocked: list[str] = []

    def only_this_server(route: Any) -> None:
        if route.request.url.startswith(base_url):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", only_this_server)
    page.goto(base_url + "/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("kijun", timeout=20_000)
    expect(page.locator(".opblock-summary-path", has_text="/api/search")).to_be_visible()
    assert blocked == []  # nothing was even asked of another host


def test_copy_twice_quickly_still_resets(page: Page, base_url: str) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url)
    page.goto(base_url + "/criteria/実26")
    button = page.locator("button.copy").first
    width = page.locator("#aws-status").bounding_box()["width"]
    button.click()
    button.click()
    expect(button).to_have_text("コピーしました")
    assert abs(page.locator("#aws-status").bounding_box()["width"] - width) < 1  # the text box keeps its width
    expect(button).to_have_text("コピー", timeout=3_000)


def test_weak_hybrid_hits_are_folded(page: Page, base_url: str) -> None:
    page.goto(base_url + "/?q=パスワード")
    shown = page.locator("section > ol.hits > li.card")
    expect(shown.first.locator("a.cid")).to_have_text("実26")
    more = page.locator("details.more > summary")
    expect(more).to_contain_text("その他の候補")
    assert page.locator("details.more li.card").count() >= 1
    assert not page.locator("details.more li.card").first.is_visible()
