"""Regenerate the README screenshots: docs/search.png, docs/criterion.png, docs/answer.png,
docs/answer-preview.png, docs/no-match.png (a question the document does not answer),
docs/phone.png (the search page at a phone's 390 px), docs/library-preview.png (a returned check
sheet read for the answer library) and docs/past.png (過去の回答 above the hits).

    .venv/bin/python docs/screenshots.py [--data-dir DIR] [--out DIR]     (or: make screenshots)

Uses the same real server and headless Debian Chromium as tests/test_e2e_browser.py
(helpers in tests/browser.py), so the pictures show what the test checks. The index
is built first if missing or stale (`kijun index`, a no-op when current).
"""
from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from browser import browser_context, build_index, missing_prerequisites, server  # noqa: E402
from checksheets import cloud_checksheet  # noqa: E402

if TYPE_CHECKING:
    from playwright.sync_api import Page

QUERY = "パスワード"
UNANSWERED = "サイバー保険に加入していますか。"
PHONE = {"width": 390, "height": 844}
CRITERION = "実26"
QUESTIONS = ("パスワードの複雑さや有効期限について規定を設けていますか。",
             "データセンターの消火設備について説明してください。")
CHECK_SHEET = "クラウドサービス_チェックシート.xlsx"
AGAIN = "データセンターの入退室をICカードで記録し、管理していますか。"  # row 6 of the check sheet, reworded
# Full pages can run to several screens; past this height a README image stops being readable.
MAX_HEIGHT = 1600


def shoot(page: Page, path: Path, *, full_page: bool) -> None:
    """Save a screenshot, capping full-page shots at MAX_HEIGHT pixels."""
    height = int(page.evaluate("document.documentElement.scrollHeight"))
    width = (page.viewport_size or {"width": 1280})["width"]
    clip = {"x": 0, "y": 0, "width": width, "height": min(height, MAX_HEIGHT)} if full_page else None
    page.screenshot(path=str(path), full_page=full_page, clip=clip, animations="disabled")  # type: ignore[arg-type]
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=None,
                    help="index directory (default: kijun's own, ./data or $KIJUN_DATA_DIR)")
    ap.add_argument("--out", type=Path, default=ROOT / "docs", help="where the PNGs go (default docs/)")
    args = ap.parse_args(argv)
    reason = missing_prerequisites()
    if reason:
        print(f"screenshots: {reason}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    build_index(args.data_dir)
    with tempfile.TemporaryDirectory() as tmp, \
            server(args.data_dir, env={"KIJUN_LIBRARY": str(Path(tmp) / "library.sqlite3")}) as s, \
            browser_context() as ctx:  # a library of its own, never the user's
        base = s.base
        page = ctx.new_page()

        page.goto(base + "/")
        page.locator("#q").fill(QUERY)
        page.keyboard.press("Enter")
        page.locator("ol.hits > li.card").first.wait_for()
        shoot(page, args.out / "search.png", full_page=False)

        page.locator("#q").fill(UNANSWERED)
        page.keyboard.press("Enter")
        page.locator("p.nomatch").wait_for()
        shoot(page, args.out / "no-match.png", full_page=False)

        phone = ctx.new_page()
        phone.set_viewport_size(PHONE)
        phone.goto(base + "/?q=" + QUERY)
        phone.locator("ol.hits > li.card").first.wait_for()
        shoot(phone, args.out / "phone.png", full_page=False)
        phone.close()

        page.goto(base + "/criteria/" + CRITERION)
        page.locator("h1", has_text=CRITERION).wait_for()
        shoot(page, args.out / "criterion.png", full_page=True)

        page.goto(base + "/answer")
        page.locator("#questions").fill("\n".join(QUESTIONS))
        page.get_by_role("button", name="回答を探す").click()
        page.locator("table.answers > tbody > tr").nth(len(QUESTIONS) - 1).wait_for()
        shoot(page, args.out / "answer.png", full_page=True)

        # a check sheet as users receive it (tests/checksheets.py): what was detected, then the answers
        sheet = Path(tmp) / CHECK_SHEET
        sheet.write_bytes(cloud_checksheet())
        page.goto(base + "/answer")
        page.locator("form.answer input[type=file]").set_input_files(str(sheet))
        page.get_by_role("button", name="回答を探す").click()
        page.locator("section.detected table").wait_for()
        page.locator("section.detected details summary").first.click()  # the skipped rows, with why
        page.locator("section.detected").scroll_into_view_if_needed()
        shoot(page, args.out / "answer-preview.png", full_page=True)

        # the sheet corrected as a person does, read back for the answer library, then recalled
        with page.expect_download() as got:
            page.get_by_role("link", name=re.compile("回答を記入したファイル")).click()
        returned = corrected(Path(got.value.path()), Path(tmp) / CHECK_SHEET.replace(".xlsx", "_回答.xlsx"))
        page.locator("form.library-import input[type=file]").set_input_files(str(returned))
        page.get_by_role("button", name="読み取って確認する").click()
        page.locator("table.library-preview").wait_for()
        shoot(page, args.out / "library-preview.png", full_page=True)
        page.locator("form.library-commit button").click()
        page.wait_for_url(re.compile(r"/library\?added="))
        page.goto(base + "/?q=" + AGAIN)
        page.locator("section.past li.card").first.wait_for()
        shoot(page, args.out / "past.png", full_page=True)
    return 0


def corrected(filled: Path, out: Path) -> Path:
    """The filled check sheet as a person returns it: row 6's 該当基準 corrected, its answer rewritten,
    row 14 marked 該当なし."""
    import io

    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(filled.read_bytes()))  # a download's path has no extension
    ws = wb["チェックシート"]
    ws["H6"], ws["J6"] = "実59、実38", "入退館はICカードで記録し、記録を定期的に確認しています。"
    ws["G14"], ws["J14"] = "該当なし", "当社規程によります（本文書の対象外）。"
    wb.save(out)
    return out


if __name__ == "__main__":
    sys.exit(main())
