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

pytestmark = pytest.mark.scored

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
    assert r.status_code == 303 and r.headers["location"] == f"/library?added={n}&replaced=0"
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
    assert c.delete(f"/api/library/{entries[1]['id']}").json() == {"removed": entries[1]["id"]}
    filtered = c.get("/library", params={"q": "暗号化"}).text
    assert "保存データ及び通信経路を暗号化" in filtered and "パスワードの最低文字数" not in filtered


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


def _csv(questions: list[str], criteria: str = "実26") -> bytes:
    rows = ["質問,判定,該当基準,回答案", *(f"{q},回答候補あり,{criteria},回答{i}" for i, q in enumerate(questions, 1))]
    return ("\n".join(rows) + "\n").encode("utf-8")


FIRST = ["入退室を記録していますか。", "パスワードの長さを定めていますか。", "ログを保存していますか。",
         "データを暗号化していますか。", "鍵を管理していますか。"]
OTHER = ["監査報告書を入手していますか。", "連絡体制を定めていますか。", "復元テストを行っていますか。",
         "ログを保存していますか。", "委託先を評価していますか。"]


def test_another_sheet_of_the_same_name_is_kept_beside_and_the_page_and_api_say_so(web):
    c, library = web
    first = c.post("/api/library", files={"file": ("チェックシート_回答.csv", _csv(FIRST))}).json()
    assert (first["added"], first["replaced"], first["replaced_imports"], first["kept_beside"]) == (5, 0, [], [])
    [earlier] = library.imports("チェックシート_回答.csv")
    when = earlier.imported_at[:16].replace("T", " ")

    page = c.post("/library/preview", files={"file": ("チェックシート_回答.csv", _csv(OTHER, "実27"))}).text
    assert f"同じ名前の別のシート（{when} に登録、5 問、共通する質問は 20%）は残し、並べて登録します。" in page
    assert 'name="same_name" value="replace"' in page
    token = page.split('name="token" value="')[1].split('"')[0]
    r = c.post("/library/add", data={"token": token, "same_name": "same_sheet"}, follow_redirects=False)
    assert r.headers["location"] == "/library?added=5&replaced=0" and len(library) == 10

    # the first sheet corrected: the API names the import it replaced, and the one it kept
    body = c.post("/api/library", files={"file": ("チェックシート_回答.csv", _csv(FIRST, "実59"))}).json()
    assert (body["added"], body["replaced"]) == (5, 5) and len(library) == 10
    assert [(i["file"], i["imported_at"], i["rows"], i["shared"]) for i in body["replaced_imports"]] == \
        [("チェックシート_回答.csv", earlier.imported_at, 5, 1.0)]
    assert [(i["rows"], i["shared"]) for i in body["kept_beside"]] == [(5, 0.2)]
    page = c.post("/library/preview", files={"file": ("チェックシート_回答.csv", _csv(FIRST, "実60"))}).text
    assert "は質問の 100% が共通の同じシートとみなし、置き換えます。" in page
    # asked for: keep both; a choice that is not one is refused with its code
    body = c.post("/api/library", data={"same_name": "keep_both"},
                  files={"file": ("チェックシート_回答.csv", _csv(FIRST, "実60"))}).json()
    assert (body["replaced"], len(body["kept_beside"]), len(library)) == (0, 2, 15)
    r = c.post("/api/library", data={"same_name": "x" * 5000}, files={"file": ("a.csv", _csv(FIRST))})
    assert r.status_code == 400 and r.json()["code"] == "same_name_choice" and len(r.json()["detail"]) < 200


def test_a_criteria_cell_read_in_part_is_a_warning_in_the_preview_and_the_api(web):
    c, library = web
    sheet = "質問,該当基準,回答案\n入退室を記録していますか。,実59（注3参照）,記録しています。\n".encode("utf-8")
    page = c.post("/library/preview", files={"file": ("注記.csv", sheet)}).text
    assert "2 行目: 該当基準の「(注3参照)」は基準として読んでいません（登録する基準: 実59）。確かめてください。" in page
    body = c.post("/api/library", files={"file": ("注記.csv", sheet)}).json()
    assert body["warnings"] == [{"sheet": None, "row": 2, "unread": ["(注3参照)"], "code": "criteria_unread",
                                 "detail": "row 2: the 該当基準 cell also says 「(注3参照)」, which was not read as "
                                           "criteria; kept 実59 — check them"}]
    [e] = c.get("/api/library").json()
    assert (e["criteria"], e["unread"]) == (["実59"], ["(注3参照)"])


@pytest.mark.parametrize("route", ["/answer", "/api/answer", "/library/preview", "/library/add", "/api/library"])
def test_a_five_thousand_digit_header_row_is_refused_with_its_code(web, returned_sheet, route):
    c, library = web
    r = c.post(route, data={"header_row": "9" * 5000, "token": "x"}, files={"file": ("a.xlsx", returned_sheet)})
    assert r.status_code == 400
    if route.startswith("/api/"):
        assert r.json()["code"] == "header_row_not_number" and len(r.json()["detail"]) < 250
    else:
        assert "「見出し行」欄には行番号" in r.text and "9" * 81 not in r.text
    assert not library.path.exists()


@pytest.mark.parametrize("route", ["/answer", "/api/answer"])
def test_a_five_thousand_digit_top_is_refused_with_its_code(web, route):
    c, _ = web
    r = c.post(route, data={"top": "7" * 5000}, files={"file": ("a.csv", _csv(FIRST))})
    assert r.status_code == 400
    if route == "/api/answer":
        assert r.json()["code"] == "top_out_of_range" and len(r.json()["detail"]) < 200
    else:
        assert "「候補数」は 1〜" in r.text and "7" * 81 not in r.text


def test_library_errors_on_the_web_name_no_server_path_and_unknown_ids_come_back_short(data_root, tmp_path):
    from search.app.web import create_app
    from search.engine import Engine

    damaged = tmp_path / "srv-kijun-data" / "library.sqlite3"
    damaged.parent.mkdir()
    damaged.write_bytes(b"this is not a database " * 100)
    with TestClient(create_app(Engine(data_dir=data_root, library=Library(damaged))), base_url=LOCAL) as c:
        r = c.get("/api/library")
        assert r.status_code == 503 and r.json()["code"] == "library_damaged"
        assert r.json()["detail"].startswith("the answer library cannot be read")
        found = c.get("/api/search", params={"q": DC_AGAIN}).json()
        assert found["warnings"] and all("srv-kijun" not in w for w in found["warnings"])
        for page in (c.get("/library").text, c.get("/", params={"q": DC_AGAIN}).text, r.text):
            assert "srv-kijun" not in page
    ok = Library(tmp_path / "ok.sqlite3")
    with TestClient(create_app(Engine(data_dir=data_root, library=ok)), base_url=LOCAL) as c:
        c.post("/api/library", files={"file": ("a.csv", _csv(FIRST))})
        r = c.delete("/api/library/" + "L" * 12_000)
        assert r.status_code == 404 and r.json()["code"] == "unknown_entry_not_removed"
        assert "L" * 80 + "…" in r.json()["detail"] and len(r.json()["detail"]) < 250
        assert str(ok.path) not in r.json()["detail"]
