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
    page.locator("form.answer input[type=file]").set_input_files(str(upload))
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
    page.locator("form.answer input[type=file]").set_input_files(str(sheet))
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
        page.locator("form.answer input[type=file]").set_input_files(str(path))
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


# ------------------------------------------------------------------ issue #20: CSP, sign-in, progress

TOKEN = "browser-test-token-0123456789"
CSP_WATCH = """window.__csp = [];
document.addEventListener("securitypolicyviolation", e => window.__csp.push(e.violatedDirective + " " + e.blockedURI));"""


def _violations(page: Page, console: list[str]) -> list[str]:
    return list(page.evaluate("window.__csp || []")) + [m for m in console if "Content Security Policy" in m]


@pytest.mark.parametrize("width", [1280, 390])
def test_every_page_works_under_the_csp(chromium: BrowserContext, base_url: str, width: int) -> None:
    """No page needs an inline script, style or handler: the browser reports no violation, and the
    script-driven parts (copy buttons, Ctrl+Enter) still work."""
    page = chromium.new_page()
    page.set_viewport_size({"width": width, "height": 800})
    page.add_init_script(CSP_WATCH)
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))
    try:
        for path in ("/?q=%E3%83%91%E3%82%B9%E3%83%AF%E3%83%BC%E3%83%89", "/criteria/%E5%AE%9F26", "/duplicates",
                     "/answer"):
            response = page.goto(base_url + path)
            assert response is not None and response.status == 200, path
            assert "default-src 'self'" in response.headers["content-security-policy"]
            assert _violations(page, console) == [], path
        page.locator("#questions").fill(QUESTIONS[0])
        page.get_by_role("button", name="回答を探す").click()
        expect(page.locator("table.answers > tbody > tr")).to_have_count(1)
        page.goto(base_url + "/criteria/%E5%AE%9F26")
        page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url)
        page.locator("button.copy").first.click()
        expect(page.locator("button.copy").first).to_have_text("コピーしました")  # app.js ran
        assert _violations(page, console) == []
    finally:
        page.close()


def test_the_api_docs_work_under_the_csp(page: Page, base_url: str) -> None:
    page.add_init_script(CSP_WATCH)
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))
    page.goto(base_url + "/docs")
    scripts = page.eval_on_selector_all("script[src]", "els => els.map(e => e.src)")
    if any(not s.startswith(base_url) for s in scripts):
        pytest.skip("/docs still loads Swagger UI from a CDN, which the CSP blocks (issue #19 self-hosts it)")
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible()
    assert _violations(page, console) == []


# While a form's request waits for its answer, Playwright waits too (locators, evaluate); the page's
# state meanwhile is reported by the page itself, over the network, to a route the test answers.
WATCH = """setInterval(() => {
  const b = document.querySelector("form.answer button[type=submit]"), box = document.getElementById("answer-progress");
  if (!b || !box || box.hidden) return;
  const bar = box.querySelector("progress");
  fetch("/__watch?" + new URLSearchParams({disabled: b.disabled, busy: b.getAttribute("aria-busy"),
        text: box.querySelector("[role=status]").textContent, value: bar.value, max: bar.max}));
}, 200);"""


def test_the_answer_button_is_busy_and_a_bar_counts_the_questions(page: Page, base_url: str, tmp_path: Path) -> None:
    from urllib.parse import parse_qsl, urlsplit

    import hostile

    seen: list[dict[str, str]] = []

    def watch(route: Any) -> None:
        seen.append(dict(parse_qsl(urlsplit(route.request.url).query)))
        route.fulfill(status=204)

    page.route("**/__watch*", watch)
    page.add_init_script(WATCH)
    sheet = tmp_path / "250問.xlsx"  # several seconds' work: long enough to watch the bar move
    sheet.write_bytes(hostile.questions_xlsx(250))
    page.goto(base_url + "/answer")
    page.locator("form.answer input[type=file]").set_input_files(str(sheet))
    page.get_by_role("button", name="回答を探す").click(timeout=120_000)  # returns once the answer page is there
    expect(page.locator("table.answers > tbody > tr")).to_have_count(250, timeout=60_000)
    expect(page.get_by_role("button", name="回答を探す")).to_be_enabled()  # the new page: ready again
    counting = [s for s in seen if re.fullmatch(r"[1-9]\d* / 250 問に回答しました…", s["text"])]
    assert counting, seen[-5:]
    assert all((s["disabled"], s["busy"], s["max"]) == ("true", "true", "250") for s in counting)
    assert 0 < float(counting[0]["value"]) <= float(counting[-1]["value"]) <= 250


def test_a_browser_signs_in_once_on_a_shared_server(chromium: BrowserContext, data_root: Path) -> None:
    from browser import server

    with server(data_root, args=["--host", "0.0.0.0"], env={"KIJUN_TOKEN": TOKEN}, timeout=90) as s:
        ctx = chromium
        page = ctx.new_page()
        page.add_init_script(CSP_WATCH)
        response = page.goto(s.base + "/criteria/%E5%AE%9F26")
        assert response is not None and response.status == 401
        expect(page.get_by_role("heading", name="ログイン")).to_be_visible()
        expect(page.locator("#token")).to_be_focused()
        page.locator("#token").fill("wrong-token-0123456789")
        page.get_by_role("button", name="ログイン").click()
        expect(page.locator(".error")).to_contain_text("トークンが違います")
        page.locator("#token").fill(TOKEN)
        page.get_by_role("button", name="ログイン").click()
        page.wait_for_url(re.compile(r"/criteria/%E5%AE%9F26$"))
        expect(page.locator("h1")).to_contain_text("実26")
        [cookie] = [c for c in ctx.cookies() if c["name"] == "kijun_session"]
        assert (cookie["name"], cookie["httpOnly"], cookie["sameSite"], cookie["secure"]) == \
            ("kijun_session", True, "Strict", False)
        assert TOKEN not in cookie["value"]
        page.goto(s.base + "/?q=%E3%83%91%E3%82%B9%E3%83%AF%E3%83%BC%E3%83%89")  # signed in from now on
        expect(page.locator("ol.hits > li.card").first.locator("a.cid")).to_have_text("実26")
        assert page.evaluate("window.__csp") == []
        page.close()
        ctx.clear_cookies()


# ------------------------------------------------------------------ issue #18: the answer library on the web


def test_a_returned_sheet_is_previewed_added_and_then_recalled(chromium: BrowserContext, data_root: Path,
                                                                tmp_path: Path) -> None:
    """Answer a check sheet on the web, correct it as a person does, add it from the questionnaire
    page: the preview lists what will be added and what skipped; after committing, the same
    question in other words shows 過去の回答 above the hits, with the corrected criteria first."""
    import io

    from openpyxl import load_workbook

    import checksheets as cs
    from browser import server

    sheet = tmp_path / "委託先チェックシート.xlsx"
    sheet.write_bytes(cs.cloud_checksheet())
    with server(data_root, env={"KIJUN_LIBRARY": str(tmp_path / "library.sqlite3")}, timeout=90) as s:
        page = chromium.new_page()
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(s.base + "/answer")
        page.locator("form.answer input[type=file]").set_input_files(str(sheet))
        page.get_by_role("button", name="回答を探す").click()
        expect(page.locator("table.answers > tbody > tr")).to_have_count(9)
        with page.expect_download() as got:
            page.get_by_role("link", name=re.compile("回答を記入したファイル")).click()
        wb = load_workbook(io.BytesIO(Path(got.value.path()).read_bytes()))
        ws = wb["チェックシート"]
        ws["H6"], ws["J6"] = "実59、実38", "入退館はICカードで記録し、記録を定期的に確認しています。"
        ws["G14"] = "該当なし"
        returned = tmp_path / "委託先チェックシート_回答.xlsx"
        wb.save(returned)

        page.locator("form.library-import input[type=file]").set_input_files(str(returned))
        page.get_by_role("button", name="読み取って確認する").click()
        expect(page.locator("h2#preview-title")).to_contain_text("委託先チェックシート_回答.xlsx")
        expect(page.locator("table.library-preview > tbody > tr").first).to_be_visible()
        expect(page.locator("section.preview")).to_contain_text("実59、実38")
        expect(page.locator("section.preview")).to_contain_text("該当なし")
        expect(page.locator("ul.skipped")).to_contain_text("要確認のまま")
        commit = page.locator("form.library-commit button")
        expect(commit).to_contain_text("ライブラリに登録する")
        commit.click()
        page.wait_for_url(re.compile(r"/library\?added=\d+&replaced=0$"))
        expect(page.locator("p.notice")).to_contain_text("件を登録しました")

        page.goto(s.base + "/?q=" + "データセンターの入退室をICカードで記録し、管理していますか。")
        past = page.locator("section.past")
        expect(past.locator("h2")).to_have_text("過去の回答")
        expect(past.locator("li.card").first).to_contain_text("ほぼ同じ質問")
        expect(past.locator("li.card").first.locator("a.cid")).to_have_text(["実59", "実38"])
        expect(page.locator("section[aria-label=検索結果] > ol.hits > li.card").first.locator("a.cid").first) \
            .to_have_text("実59")
        page.set_viewport_size({"width": 390, "height": 800})
        assert page.evaluate(JS_OVERFLOW) == 0
        page.screenshot(path=str(tmp_path / "past.png"))
        page.close()
