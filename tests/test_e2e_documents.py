"""Adding a document on the web, in a real headless browser against a real `kijun serve` (tests/test_e2e_browser.py's
setup): choose the file, preview it, commit it, then find it in a search and beside the bundled text on a
criterion's page — columns at 1280 px, stacked at 360 px, nothing wider than the window.

Set KIJUN_SCREENSHOTS to a folder to keep the pictures. Skipped only when Debian's chromium or the playwright
package is missing.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from browser import browser_context, missing_prerequisites, server

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext

REASON = missing_prerequisites()
if REASON:
    pytest.skip(REASON, allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402 — only importable once the skip above has passed

from documents import MAPPING_MD  # noqa: E402

JS_OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


@pytest.fixture(scope="module")
def site(engine: Any, data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """`kijun serve` on the session's index, with a document store of its own (empty)."""
    store = tmp_path_factory.mktemp("e2e-documents") / "documents"
    with server(data_root, env={"KIJUN_DOCUMENTS": str(store)}, timeout=90) as s:
        yield s.base, store


@pytest.fixture(scope="module")
def chromium() -> Iterator[BrowserContext]:
    with browser_context() as ctx:
        yield ctx


def test_add_a_document_on_the_web_then_see_it_beside_the_bundled_text(chromium: BrowserContext,
                                                                       site: tuple[str, Path], tmp_path: Path) -> None:
    base, store = site
    shots = Path(os.environ.get("KIJUN_SCREENSHOTS", tmp_path))
    table = tmp_path / "fisc-mapping.md"
    table.write_text(MAPPING_MD, encoding="utf-8")
    page = chromium.new_page()
    try:
        page.goto(base + "/")
        page.get_by_role("link", name="文書", exact=True).click()
        expect(page.locator("h1")).to_have_text("文書")
        form = page.locator("form.document-add")
        form.locator("input[type=file]").set_input_files(str(table))
        form.get_by_role("textbox", name="タイトル", exact=True).fill("基盤 FISC対応表")
        form.get_by_label("略称").fill("基盤")
        form.get_by_role("button", name="読み取って確認する").click()

        preview = page.locator("section.preview")
        expect(preview.locator("h2")).to_have_text("追加内容の確認 — fisc-mapping.md")
        expect(preview.locator("table.document-rows td.cid-cell")).to_have_text(["実1", "実4", "実7", "実8", "実18",
                                                                                "実26"])
        expect(preview.locator("table.document-fields tbody tr")).to_have_count(3)
        expect(preview.locator("li.warning").first).to_contain_text("実18 → 実17")
        assert not (store / "fisc-mapping").exists()  # nothing kept before the commit
        page.screenshot(path=str(shots / "documents-preview-1280.png"), full_page=True)

        preview.get_by_role("button", name="この文書を追加する").click()  # waits while the indexes are rebuilt
        expect(page.locator("p.notice")).to_contain_text("「基盤 FISC対応表」（fisc-mapping）を追加しました",
                                                         timeout=180_000)
        expect(page.locator("table.documents tbody tr")).to_have_count(2)
        assert (store / "fisc-mapping" / "document.json").exists()

        page.goto(base + "/?q=MFA")
        first = page.locator("ol.hits > li.card").first
        expect(first.locator("a.cid")).to_have_text("実8")
        expect(first.locator(".tag.document")).to_have_text("基盤 FISC対応表")
        expect(first.locator(".snippet mark").first).to_have_text("MFA")
        page.screenshot(path=str(shots / "documents-search-1280.png"))

        for width in (1280, 360):
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(base + "/criteria/実26")
            columns = page.locator("#documents .doc-col")
            expect(columns).to_have_count(2)
            expect(columns.nth(0).locator("h3")).to_have_text("FISC安全対策基準 AWSの対応状況")
            expect(columns.nth(1).locator("h3")).to_have_text("基盤 FISC対応表")
            expect(columns.nth(1)).to_contain_text("パスワードの長さと複雑さを強制")
            a, b = columns.nth(0).bounding_box(), columns.nth(1).bounding_box()
            assert a and b
            if width == 1280:  # side by side: one row, two columns
                assert abs(a["y"] - b["y"]) < 1 and b["x"] >= a["x"] + a["width"]
            else:  # stacked: the second under the first, the full width
                assert abs(a["x"] - b["x"]) < 1 and b["y"] >= a["y"] + a["height"]
                assert a["width"] > 300
            assert page.evaluate(JS_OVERFLOW) == 0
            page.locator("#documents").screenshot(path=str(shots / f"documents-criterion-{width}.png"))
    finally:
        page.close()
