"""The answer library on the web and in the API: preview then commit a returned sheet, 過去の回答 on
the search and criterion pages, list / remove / export, and imports while the server searches."""
from __future__ import annotations

import io
import json
import threading

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

import checksheets as cs
from search.library.store import Library

LOCAL = "http://localhost"
DC_AGAIN = "データセンターの入退室をICカードで記録し、管理していますか。"


@pytest.fixture(scope="module")
def returned_sheet(client) -> bytes:
    """The cloud check sheet answered on the web, then corrected as a person does: row 6's 該当基準
    replaced, row 14's 判定 set to 該当なし."""
    r = client.post("/api/answer", files={"file": ("cloud.xlsx", cs.cloud_checksheet())})
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.content))
    ws = wb["チェックシート"]
    ws["H6"], ws["J6"] = "実59、実38", "入退館はICカードで記録しています。"
    ws["G14"] = "該当なし"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@pytest.fixture
def web(data_root, tmp_path):
    from search.app.web import create_app
    from search.engine import Engine

    library = Library(tmp_path / "library.sqlite3")
    with TestClient(create_app(Engine(data_dir=data_root, library=library)), base_url=LOCAL) as c:
        yield c, library


def test_preview_shows_what_would_be_added_and_writes_nothing(web, returned_sheet):
    c, library = web
    r = c.post("/library/preview", files={"file": ("委託先_回答.xlsx", returned_sheet)})
    assert r.status_code == 200, r.text
    assert "登録内容の確認 — 委託先_回答.xlsx" in r.text
    n = 9 - len(unconfirmed_rows(returned_sheet))
    assert f"登録する質問 {n} 問(回答済み {n - 1} 問 / 該当なし 1 問)、読み飛ばす行 {9 - n} 行" in r.text
    assert "要確認のまま（該当基準の記入なし）" in r.text and "実59、実38" in r.text
    assert not library.path.exists()  # a preview changes nothing
    token = r.text.split('name="token" value="')[1].split('"')[0]
    r = c.post("/library/add", data={"token": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/library?added={n}"
    assert len(library) == n
    page = c.get("/library", params={"added": n}).text
    assert f"{n} 件を登録しました" in page and f"登録済みの回答({n} 問)" in page


def unconfirmed_rows(sheet: bytes) -> set[int]:
    """The question rows the person left 要確認 with no 該当基準 (G and H of the answered sheet)."""
    ws = load_workbook(io.BytesIO(sheet))["チェックシート"]
    return {r for r in range(6, 18) if ws.cell(r, 7).value == "要確認" and not ws.cell(r, 8).value}


def test_a_committed_sheet_shows_as_past_answers_on_search_and_criterion_pages(web, returned_sheet):
    c, library = web
    r = c.post("/api/library", files={"file": ("委託先_回答.xlsx", returned_sheet)})
    assert r.status_code == 200, r.text
    body = r.json()
    skipped = unconfirmed_rows(returned_sheet)
    assert (body["added"], body["not_in_document"], body["replaced"]) == (9 - len(skipped), 1, 0)
    assert {s["row"] for s in body["skipped"]} == skipped and skipped
    assert {s["reason"] for s in body["skipped"]} == {"still_unconfirmed"}
    again = c.post("/api/library", files={"file": ("委託先_回答.xlsx", returned_sheet)}).json()
    assert again["replaced"] == body["added"] == len(library)  # the same file again replaces, never duplicates

    found = c.get("/api/search", params={"q": DC_AGAIN}).json()
    assert [h["id"] for h in found["hits"][:2]] == ["実59", "実38"]
    assert found["library"][0]["criteria"] == ["実59", "実38"] and found["library"][0]["reused"]
    page = c.get("/", params={"q": DC_AGAIN}).text
    assert "過去の回答" in page and "ほぼ同じ質問" in page and "委託先_回答.xlsx「チェックシート」6行目" in page
    assert page.index("過去の回答") < page.index('<ol class="hits">\n') or page.index("past-title") < \
        page.index('class="card-head"><span class="cids">')
    criterion = c.get("/criteria/実59").text
    assert "この基準で回答した質問" in criterion and "データセンターへの入退室は" in criterion
    assert "まだありません" in c.get("/criteria/実100").text


def test_list_remove_and_export(web, returned_sheet):
    c, library = web
    c.post("/api/library", files={"file": ("委託先_回答.xlsx", returned_sheet)})
    entries = c.get("/api/library").json()
    n = len(entries)
    assert n == 9 - len(unconfirmed_rows(returned_sheet)) and {e["source"]["file"] for e in entries} == {"委託先_回答.xlsx"}
    exported = c.get("/library/export.jsonl")
    assert exported.status_code == 200 and "kijun-library.jsonl" in exported.headers["content-disposition"]
    assert [json.loads(line) for line in exported.text.splitlines()] == entries
    victim = entries[0]["id"]
    r = c.post("/library/remove", data={"id": victim}, follow_redirects=False)
    assert r.status_code == 303 and len(library) == n - 1
    r = c.delete(f"/api/library/{victim}")
    assert r.status_code == 404 and r.json()["code"] == "unknown_entry_not_removed"
    assert c.delete(f"/api/library/{entries[1]['id']}").json() == {"removed": entries[1]["id"],
                                                                     "question": entries[1]["question"]}
    filtered = c.get("/library", params={"q": "暗号化"}).text
    assert "保存データ及び通信経路を暗号化" in filtered and "パスワードの最低文字数" not in filtered


def test_the_page_lists_what_the_library_holds_after_a_failed_or_a_repeated_import(web, returned_sheet):
    """A failed preview and a commit sent twice (Back, then the button again) still list every entry; the
    second commit says the sheet is already in the library, not that the upload never existed."""
    c, library = web
    r = c.post("/library/preview", files={"file": ("委託先_回答.xlsx", returned_sheet)})
    token = r.text.split('name="token" value="')[1].split('"')[0]
    assert c.post("/library/add", data={"token": token}, follow_redirects=False).status_code == 303
    n = len(library)
    questions = [e.question for e in library.entries()]
    assert n >= 5

    def listed(page: str) -> bool:
        return f"登録済みの回答({n} 問)" in page and all(q in page for q in questions)

    failed = c.post("/library/preview", files={"file": ("壊れ.xlsx", b"not a workbook at all")})
    assert failed.status_code == 400 and "壊れ.xlsx" in failed.text and listed(failed.text)
    expired = c.post("/library/add", data={"token": "A" * 24})
    assert expired.status_code == 400 and listed(expired.text)

    again = c.post("/library/add", data={"token": token}, follow_redirects=False)  # the same form, sent again
    assert again.status_code == 303 and again.headers["location"].startswith("/library?notice=")
    page = c.get(again.headers["location"]).text
    assert "委託先_回答.xlsx の" in page and f"{n} 問は、すでに回答ライブラリに登録しています" in page
    assert "期限切れ" not in page and listed(page) and len(library) == n


def test_removing_an_entry_names_its_question(web, returned_sheet):
    c, library = web
    c.post("/api/library", files={"file": ("委託先_回答.xlsx", returned_sheet)})
    entry = library.entries()[0]
    page = c.get("/library").text
    form = page.split(f'value="{entry.id}"')[0].rsplit("<form", 1)[1]
    assert f'data-confirm="「{entry.question[:60]}' in form and "」を回答ライブラリから削除しますか?" in form
    r = c.post("/library/remove", data={"id": entry.id}, follow_redirects=False)
    assert r.status_code == 303 and entry.id not in r.headers["location"]
    done = c.get(r.headers["location"]).text
    notice = done.split('<p class="notice" role="status">')[1].split("</p>")[0]
    assert notice == f"「{entry.question[:60]}{'…' if len(entry.question) > 60 else ''}」を回答ライブラリから削除しました。"
    assert entry.id not in done
    assert '<p class="notice"' not in c.get("/library", params={"notice": "made-up-by-a-link"}).text


def test_a_sheet_without_answers_is_refused_in_japanese_and_kept_for_correction(web):
    c, library = web
    r = c.post("/library/preview", files={"file": ("未回答.xlsx", cs.cloud_checksheet())})
    assert r.status_code == 400
    assert "「回答案」も「該当基準」の列もない" in r.text and "--" not in r.text.split("<main")[1]
    assert 'name="token"' in r.text  # read again with the answer column named, without uploading again
    token = r.text.split('name="token" value="')[1].split('"')[0]
    r = c.post("/library/preview", data={"token": token, "answer_column": "補足説明"})
    assert r.status_code == 200 and "登録内容の確認" in r.text
    assert not library.path.exists()


def test_a_bad_header_row_is_refused_in_japanese_on_the_page_and_by_the_api(web, returned_sheet):
    c, library = web
    r = c.post("/library/preview", data={"header_row": "two"}, files={"file": ("委託先_回答.xlsx", returned_sheet)})
    assert r.status_code == 400 and "「見出し行」欄には行番号" in r.text
    r = c.post("/api/library", data={"header_row": "0"}, files={"file": ("委託先_回答.xlsx", returned_sheet)})
    assert r.status_code == 400 and r.json()["code"] == "header_row_not_number"
    assert not library.path.exists()


def test_cross_site_writes_to_the_library_are_refused(web, returned_sheet):
    c, library = web
    r = c.post("/api/library", files={"file": ("x.xlsx", returned_sheet)}, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and r.json()["code"] == "cross_site"
    r = c.post("/library/remove", data={"id": "L1"}, headers={"Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 403
    assert not library.path.exists()


def test_imports_while_the_server_searches(web, returned_sheet):
    """Searches keep answering, and see each import, while imports replace the library's entries."""
    c, library = web
    errors: list[str] = []
    stop = threading.Event()

    def search() -> None:
        while not stop.is_set():
            r = c.get("/api/search", params={"q": DC_AGAIN})
            if r.status_code != 200:
                errors.append(f"{r.status_code} {r.text[:200]}")

    searchers = [threading.Thread(target=search) for _ in range(2)]
    for t in searchers:
        t.start()
    try:
        for k in range(4):
            r = c.post("/api/library", files={"file": (f"sheet{k % 2}.xlsx", returned_sheet)})
            assert r.status_code == 200, r.text
    finally:
        stop.set()
        for t in searchers:
            t.join()
    assert errors == [] and len(library) == 2 * (9 - len(unconfirmed_rows(returned_sheet)))  # two files, each twice
    assert c.get("/api/search", params={"q": DC_AGAIN}).json()["library"][0]["criteria"] == ["実59", "実38"]
