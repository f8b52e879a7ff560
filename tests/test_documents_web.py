"""/documents on the web: upload → preview of the rows, fields and warnings → commit; listed; searched without a
restart; removed; and the same under /api/documents. Writes keep the server's cross-site and sign-in rules, and
an upload is bounded as a check sheet is."""
from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient

from conftest import LOCAL
from documents import MAPPING_MD, POLICY_CSV

from search.documents.store import DocumentStore

SAME_ORIGIN = {"origin": LOCAL, "sec-fetch-site": "same-origin"}


@pytest.fixture
def site(engine, doc, tmp_path):
    """A server over the session's engine and a store of its own (empty), as `kijun serve` runs it."""
    from search.app.web import create_app
    from search.documents.live import LiveEngine

    store = DocumentStore(tmp_path / "documents", bundled=doc)
    live = LiveEngine(engine.with_sources(()), store)
    with TestClient(create_app(live), base_url=LOCAL) as c:
        yield c, store, live


def _text(page: str, cls: str) -> list[str]:
    return [html.unescape(re.sub(r"<[^>]+>", "", m)).strip()
            for m in re.findall(rf'<(?:p|li) class="{cls}"[^>]*>(.*?)</(?:p|li)>', page, re.S)]


def _commit_form(page: str) -> dict[str, str]:
    form = page.split('<form class="document-commit"')[1].split("</form>")[0]
    return {k: html.unescape(v) for k, v in re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form)}


def test_a_document_is_previewed_then_added_then_searched_then_removed(site):
    c, store, live = site
    r = c.post("/documents/preview", data={"title": "基盤 FISC対応表", "label": "基盤"},
               files={"file": ("fisc-mapping.md", MAPPING_MD.encode("utf-8"))}, headers=SAME_ORIGIN)
    assert r.status_code == 200 and "追加内容の確認 — fisc-mapping.md" in r.text
    assert "基盤 FISC対応表（文書ID fisc-mapping、略称 基盤）: 基準番号をキーにした表、基準 6 件、第9版" in r.text
    fields = re.findall(r"<tr><td>([^<]+)</td><td>(\d+)</td>", r.text.split('class="document-fields"')[1])
    assert fields == [("共通統制環境の対策内容", "6"), ("ワークロードの対策内容", "5"), ("利用者側での追加の対策", "3")]
    assert any("実18 → 実17" in w for w in _text(r.text, "warning"))  # a link to an ID the table lacks
    rows = r.text.split('class="document-rows"')[1]
    assert re.findall(r'<td class="cid-cell">([^<]+)</td>', rows) == ["実1", "実4", "実7", "実8", "実18", "実26"]
    assert "シングルサインオン基盤で MFA（多要素認証）を有効化" in rows
    assert store.documents()[1:] == []  # nothing kept before the commit
    form = _commit_form(r.text)
    assert (form["title"], form["label"]) == ("基盤 FISC対応表", "基盤") and form["token"]

    added = c.post("/documents/add", data=form, headers=SAME_ORIGIN)
    assert added.status_code == 200 and added.url.path == "/documents"
    assert _text(added.text, "notice") == ["「基盤 FISC対応表」（fisc-mapping）を追加しました（基準 6 件）。検索・基準のページ・質問票への回答に使われます。"]
    assert [d.id for d in store.documents()] == ["aws-fisc", "fisc-mapping"]
    assert "検索に未反映" not in added.text and "反映しています" not in added.text  # the commit waited for it
    again = c.post("/documents/add", data=form, headers=SAME_ORIGIN)  # Back, then the button once more
    assert "fisc-mapping.md は文書ID fisc-mapping として追加済みです" in again.text and len(store.documents()) == 2

    top = c.get("/api/search", params={"q": "MFA", "limit": 3}).json()["hits"][0]
    assert (top["id"], top["document"]) == ("実8", "fisc-mapping")  # no restart
    listing = c.get("/api/documents").json()
    assert [(d["id"], d["label"], d["criteria"]) for d in listing] == [("aws-fisc", "AWS", 153),
                                                                      ("fisc-mapping", "基盤", 6)]

    gone = c.post("/documents/remove", data={"id": "fisc-mapping"}, headers=SAME_ORIGIN)
    assert _text(gone.text, "notice") == ["「基盤 FISC対応表」（fisc-mapping）を削除しました。検索には使われません。"]
    assert [d.id for d in store.documents()] == ["aws-fisc"] and not live.engine.sources
    assert c.get("/api/search", params={"q": "MFA", "limit": 3}).json()["hits"][0]["document"] == "aws-fisc"


def test_a_file_that_cannot_be_read_as_asked_is_kept_to_be_read_again_with_corrected_fields(site):
    c, store, _ = site
    table = "番号,内容\nA-1,パスワードを定期的に見直す\n".encode("utf-8")
    r = c.post("/documents/preview", data={"title": "番号のない表"}, files={"file": ("t.csv", table)}, headers=SAME_ORIGIN)
    assert r.status_code == 400
    [error] = _text(r.text, "error")
    assert error.startswith("t.csv に基準番号") and "「基準番号の列」欄" in error and "--id-column" not in error
    assert 't.csv を読み直します' in r.text and 'name="token"' in r.text.split('class="document-add"')[1]
    bad_role = c.post("/documents/preview", data={"title": "x", "fields": "内容=nonsense"},
                      files={"file": ("p.csv", POLICY_CSV.encode())}, headers=SAME_ORIGIN)
    assert bad_role.status_code == 400 and "nonsense" in _text(bad_role.text, "error")[0]
    no_title = c.post("/documents/preview", data={"title": " "}, files={"file": ("p.csv", POLICY_CSV.encode())},
                      headers=SAME_ORIGIN)
    assert no_title.status_code == 400 and _text(no_title.text, "error") == ["「タイトル」欄を入力してください。"]
    assert [d.id for d in store.documents()] == ["aws-fisc"]


def test_removing_the_bundled_or_an_unknown_document_is_refused_with_a_message(site):
    c, store, _ = site
    r = c.post("/documents/remove", data={"id": "aws-fisc"}, headers=SAME_ORIGIN)
    assert r.status_code == 400 and "aws-fisc" in _text(r.text, "error")[0]
    api = c.delete("/api/documents/nope")
    assert api.status_code == 404 and api.json()["code"] == "unknown_document"


@pytest.mark.parametrize("headers", [{"origin": "https://attacker.example"}, {"sec-fetch-site": "cross-site"}])
def test_writes_from_another_site_are_refused(site, headers):
    c, store, _ = site
    files = {"file": ("m.md", MAPPING_MD.encode("utf-8"))}
    for path in ("/documents/preview", "/documents/add", "/documents/remove", "/api/documents"):
        r = c.post(path, data={"title": "x", "id": "fisc-mapping"}, files=files, headers=headers)
        assert r.status_code == 403, path
    assert c.delete("/api/documents/fisc-mapping", headers=headers).status_code == 403
    assert [d.id for d in store.documents()] == ["aws-fisc"]


def test_an_upload_is_bounded_like_a_check_sheet(site):
    c, store, _ = site
    big = b"| \xe5\xae\x9f1 | " + b"x" * (5 * 1024 * 1024) + b" |\n"
    r = c.post("/documents/preview", data={"title": "大きい"}, files={"file": ("big.md", big)}, headers=SAME_ORIGIN)
    assert r.status_code == 400 and "5 MB" in _text(r.text, "error")[0]
    api = c.post("/api/documents", data={"title": "大きい"}, files={"file": ("big.md", big)})
    assert api.status_code == 400 and api.json()["code"] == "document_too_large"
    assert [d.id for d in store.documents()] == ["aws-fisc"]


def test_the_api_adds_reads_and_removes(site):
    c, store, live = site
    dry = c.post("/api/documents", data={"title": "社内規程との対応", "edition": "9", "dry_run": "1"},
                 files={"file": ("policy.csv", POLICY_CSV.encode("utf-8"))}).json()
    assert (dry["id"], dry["stored"], dry["criteria"]) == ("policy", False, 4)
    assert [w["code"] for w in dry["warnings"]] == ["document_ids_not_in_edition"]
    assert dry["field_counts"] == {"規程名": 4, "条項": 4, "要旨": 4}
    assert [d.id for d in store.documents()] == ["aws-fisc"]
    added = c.post("/api/documents", data={"title": "社内規程との対応", "edition": "9"},
                   files={"file": ("policy.csv", POLICY_CSV.encode("utf-8"))}).json()
    assert added["stored"] and [s.id for s in live.engine.sources] == ["policy"]
    assert c.get("/api/search", params={"q": "クラウド事業者の選定基準", "mode": "keyword"}).json()["hits"][0]["key"] == \
        "policy:実150"
    assert c.delete("/api/documents/policy").json() == {"removed": "policy", "title": "社内規程との対応"}
    assert not live.engine.sources
