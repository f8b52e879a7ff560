"""The web UI and JSON API, through the real HTTP stack, on the real engine."""
from __future__ import annotations

import csv
import io
import json
import re

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook, load_workbook

from search.app.web import create_app
from search.app.web.templating import mark

HIT_KEYS = {"id", "score", "kind", "series", "aws_role", "customer_role", "field", "snippet", "highlights", "same_as"}
TWO_QUESTIONS = ("管理者権限を持つアカウントには多要素認証(MFA)を必須としていますか。あわせて、認証情報(アクセスキー等)の"
                 "定期的なローテーションと、認証・アクセス管理に対する定期監査の実施有無および頻度を記載してください。\n"
                 "従業員の入社時に、在職中および退職後の秘密保持に関する誓約書を取得していますか。")


def first_card(html: str) -> str:
    start = html.index('<li class="card">')
    return html[start:html.index("</li>", start)]


# ------------------------------------------------------------------ search page


def test_home_page_has_autofocused_labelled_box(client):
    r = client.get("/")
    assert r.status_code == 200
    assert 'id="q"' in r.text and "autofocus" in r.text and '<label for="q">' in r.text
    for label in ("ハイブリッド", "キーワード", "意味検索", "実務基準", "変更履歴"):
        assert label in r.text


def test_search_password_shows_jitsu26_first_with_mark(client):
    r = client.get("/", params={"q": "パスワード"})
    assert r.status_code == 200
    card = first_card(r.text)
    assert ">実26</a>" in card and 'href="/criteria/%E5%AE%9F26"' in card
    assert "<mark>パスワード</mark>" in card
    assert "AWS <b>◯</b>" in card and "PCI DSS 8.2.3" in card
    assert 'value="パスワード"' in r.text or ">パスワード</textarea>" in r.text  # the query stays in the box
    # hits no query word matched say so, rather than looking like weak keyword matches
    cards = r.text.split('<li class="card">')[1:]
    assert "意味的に近い候補" not in cards[0]
    assert all(("意味的に近い候補" in c) == ("<mark>" not in c) for c in cards)
    assert "意味的に近い候補" not in client.get("/", params={"q": "パスワード", "mode": "keyword"}).text


def test_search_filters_and_revision_tag(client):
    r = client.get("/", params={"q": "パスワード", "mode": "keyword", "series": "変更履歴"})
    assert r.status_code == 200
    if '<li class="card">' in r.text:
        assert "変更履歴</span>" in first_card(r.text)
    r = client.get("/", params={"q": "パスワード", "aws": "info", "customer": "primary"})
    assert r.status_code == 200 and "検索できません" not in r.text


def test_empty_query_shows_message(client):
    r = client.get("/", params={"q": "  "})
    assert r.status_code == 200
    assert "検索できません" in r.text and "the query is empty" in r.text


def test_huge_query_is_refused_clearly(client):
    r = client.get("/", params={"q": "a" * 10_001})
    assert r.status_code == 200
    assert "10,001 characters; the limit is 10,000" in r.text
    r = client.get("/api/search", params={"q": "a" * 10_001})
    assert r.status_code == 400 and "limit is 10,000" in r.json()["detail"]


def test_bad_mode_is_a_message_not_a_500(client):
    r = client.get("/", params={"q": "パスワード", "mode": "fuzzy"})
    assert r.status_code == 200 and "unknown mode" in r.text
    assert client.get("/api/search", params={"q": "x", "series": "nope"}).status_code == 400


def test_script_query_is_escaped_everywhere(client):
    evil = "<script>alert(1)</script>"
    r = client.get("/", params={"q": evil})
    assert r.status_code == 200
    assert evil not in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
    r = client.get("/", params={"q": evil + " パスワード"})
    assert evil not in r.text and "<mark>パスワード</mark>" in r.text


def test_mark_escapes_every_segment():
    text = "<b>パスワード</b> & <i>"
    out = str(mark(text, [[3, 8]]))
    assert out == "&lt;b&gt;<mark>パスワード</mark>&lt;/b&gt; &amp; &lt;i&gt;"
    assert str(mark("<x>", [[0, 3], [1, 2], [5, 9]])) == "<mark>&lt;x&gt;</mark>"


# ------------------------------------------------------------------ criterion page


def test_criterion_page_shows_labelled_fields(client):
    r = client.get("/criteria/実26")
    assert r.status_code == 200
    for label in ("基準番号", "対応の主体", "AWSの対応状況", "お客様が統制すべき内容", "補足情報"):
        assert label in r.text
    assert "PCI DSS 8.2.3" in r.text
    assert 'class="copy"' in r.text and "類似する基準" in r.text
    similar = r.text[r.text.index("類似する基準"):]
    assert re.search(r'href="/criteria/[^"]+"', similar)
    assert 'href="/criteria/%E5%AE%9F26"' not in similar  # not similar to itself


def test_criterion_urls_are_safe_links(client, doc):
    c = next(c for c in doc.criteria if c.urls)
    r = client.get(f"/criteria/{c.id}")
    assert 'rel="noopener noreferrer"' in r.text
    assert c.urls[0].replace("&", "&amp;") in r.text


def test_same_as_links_and_shows_the_other_text(client, doc):
    r = client.get("/criteria/実88")
    assert r.status_code == 200
    assert 'href="/criteria/%E5%AE%9F87"' in r.text
    assert doc.get("実87").aws_status.splitlines()[0] in r.text


def test_criterion_page_lists_change_history(client, doc):
    rev = next(r for r in doc.revisions if any(i in doc for i in r.ids))
    cid = next(i for i in rev.ids if i in doc)
    r = client.get(f"/criteria/{cid}")
    assert r.status_code == 200 and "変更履歴" in r.text and "この基準の変更履歴はありません" not in r.text


def test_fullwidth_id_redirects_to_canonical(client):
    r = client.get("/criteria/実２６", follow_redirects=False)
    assert r.status_code in (301, 302, 307, 308)
    assert r.headers["location"] == "/criteria/%E5%AE%9F26"
    assert client.get("/criteria/実２６").url.path == "/criteria/実26"


def test_unknown_criterion_is_404_with_message(client):
    r = client.get("/criteria/実999")
    assert r.status_code == 404
    assert "no criterion &#39;実999&#39; in the corpus" in r.text and "実1–実148" in r.text
    r = client.get("/criteria/<script>")
    assert r.status_code == 404 and "<script>" not in r.text


# ------------------------------------------------------------------ API


def test_api_search_returns_the_documented_shape(client):
    r = client.get("/api/search", params={"q": "パスワード", "mode": "keyword", "limit": 5})
    assert r.status_code == 200
    body = r.json()
    assert {"query", "mode", "hits", "warnings"} <= set(body)
    assert body["query"] == "パスワード" and body["mode"] == "keyword" and body["warnings"] == []
    first = body["hits"][0]
    assert set(first) == HIT_KEYS
    assert (first["id"], first["kind"], first["series"], first["aws_role"], first["customer_role"]) == \
        ("実26", "criterion", "実務基準", "primary", "primary")
    assert first["field"] == "customer_controls" and first["same_as"] is None
    assert {first["snippet"][a:b] for a, b in first["highlights"]} == {"パスワード"}
    assert len(body["hits"]) == 5 and [h["score"] for h in body["hits"]] == sorted(
        (h["score"] for h in body["hits"]), reverse=True)


def test_api_search_filters(client):
    hits = client.get("/api/search", params={"q": "CloudTrail", "series": "実務基準", "aws": "primary",
                                             "customer": "info"}).json()["hits"]
    assert hits and all((h["series"], h["aws_role"], h["customer_role"]) == ("実務基準", "primary", "info")
                        for h in hits)
    assert "実25" not in [h["id"] for h in hits]  # AWS ◯ / お客様 ◯: filtered out


def test_api_search_errors_are_400(client):
    r = client.get("/api/search", params={"q": ""})
    assert r.status_code == 400 and "empty" in r.json()["detail"]
    assert client.get("/api/search", params={"q": "x", "limit": 0}).status_code == 400
    r = client.get("/api/search", params={"q": "x", "mode": "fuzzy"})
    assert r.status_code == 400 and "keyword, semantic, hybrid" in r.json()["detail"]


def test_api_criterion_returns_the_record(client, doc):
    r = client.get("/api/criteria/実26")
    assert r.status_code == 200
    body = r.json()
    assert {"id", "series", "number", "aws_role", "customer_role", "aws_status", "customer_controls",
            "references", "urls", "page", "same_as", "revisions", "shared_passages"} <= set(body)
    assert (body["id"], body["series"], body["number"], body["aws_role"], body["customer_role"]) == \
        ("実26", "実務基準", 26, "◯", "◯")
    assert body["aws_status"].startswith("AWSではISO/IEC 27001およびPCI DSSに則り、AWSリソースへの論理的なアクセス")
    assert body["references"] == ["PCI DSS 8.2.3", "PCI DSS 8.2.4"] and body["revisions"] == []
    (boiler,) = [s for s in body["shared_passages"] if s["boilerplate"]]
    assert boiler["text"].startswith("お客様がAWS上で実装するシステムおよびサービスの管理は") and len(boiler["criteria"]) > 100
    assert client.get("/api/criteria/実２６").json()["id"] == "実26"
    r = client.get("/api/criteria/実999")
    assert r.status_code == 404 and "実999" in r.json()["detail"]


def test_api_criterion_shows_borrowed_text_and_history(client, doc):
    body = client.get("/api/criteria/実88").json()
    assert body["same_as"] == "実87" and body["same_as_text"] == doc.get("実87").aws_status != ""
    revisions = client.get("/api/criteria/統20").status_code
    assert revisions == 404  # change-history IDs are not criteria
    body = client.get("/api/criteria/実148").json()
    assert body["revisions"] and all("実148" in r["ids"] for r in body["revisions"])


def test_openapi_docs(client):
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/search", "/api/criteria/{cid}", "/api/duplicates", "/api/answer"} <= set(paths)


def test_unknown_route_is_404(client):
    assert client.get("/nope").status_code == 404
    assert client.get("/api/nope").json() == {"detail": "Not Found"}


# ------------------------------------------------------------------ duplicates


def test_duplicates_page_and_api(client):
    r = client.get("/duplicates")
    assert r.status_code == 200 and "重複する記述" in r.text and "類似度" in r.text
    api = client.get("/api/duplicates", params={"min_criteria": 3}).json()
    assert set(api) >= {"passages", "criteria_pairs"}
    assert all(len(g["criteria"]) >= 3 for g in api["passages"])
    pair = api["criteria_pairs"][0]
    r = client.get("/duplicates", params={"q": pair["a"]})
    assert r.status_code == 200 and f">{pair['a']}</a>" in r.text


def test_duplicates_bad_params(client):
    r = client.get("/duplicates", params={"min_criteria": 1})
    assert r.status_code == 400 and "最小基準数" in r.text
    assert client.get("/api/duplicates", params={"threshold": 2}).status_code == 422


# ------------------------------------------------------------------ answer


def test_answer_form(client):
    r = client.get("/answer")
    assert r.status_code == 200 and 'name="questions"' in r.text and 'type="file"' in r.text


def test_answer_pasted_questions_table(client):
    r = client.post("/answer", data={"questions": TWO_QUESTIONS, "mode": "hybrid", "top": "3"})
    assert r.status_code == 200
    rows = r.text.split('<tr class="')[1:]
    assert len(rows) == 2
    assert rows[0].startswith("answered") and "回答候補あり" in rows[0]
    assert rows[1].startswith("no_match") and "要確認" in rows[1]
    assert len(re.findall(r'href="/criteria/', rows[0])) == 3
    # the judgement shows the cosine it was made on, next to the threshold
    shown = [float(m) for m in re.findall(r"類似度 (0\.\d{3})", r.text)]
    assert len(shown) == 2 and shown[0] >= 0.861 > shown[1]
    assert "0.861 未満は要確認" in r.text
    assert "/answer.csv" in r.text and "/answer.xlsx" in r.text


def test_answer_upload_xlsx_with_column(client):
    wb = Workbook()
    for row in (["No", "設問", "メモ"], [1, "パスワードの複雑さを強制していますか", "=1+1"]):
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    r = client.post("/answer", data={"column": "設問"}, files={"file": ("q.xlsx", buf.getvalue())})
    assert r.status_code == 200 and "パスワードの複雑さを強制していますか" in r.text
    assert r.text.count('<tr class="') == 1


@pytest.mark.parametrize("files,data,message", [
    ({"file": ("q.pdf", b"%PDF-1.4")}, {}, "not a spreadsheet"),
    ({"file": ("q.xlsx", b"garbage")}, {}, "not a readable .xlsx"),
    ({"file": ("q.csv", "ID,Question\n1,x\n".encode())}, {"column": "回答"}, "no column named"),
    ({"file": ("q.csv", b"a" * (5 * 1024 * 1024 + 10))}, {}, "5 MB limit"),
    (None, {"questions": "   "}, "no questions"),
    (None, {"questions": "x", "mode": "fuzzy"}, "unknown mode"),
])
def test_answer_bad_uploads(client, files, data, message):
    r = client.post("/answer", data=data, files=files)
    assert r.status_code == 400
    assert "読み込めません" in r.text and message in r.text


def test_answer_downloads_parse_back(client):
    questions = TWO_QUESTIONS.splitlines() + ["=HYPERLINK(\"http://evil\")"]
    form = {"questions_json": json.dumps(questions, ensure_ascii=False), "mode": "hybrid", "top": "3"}
    r = client.post("/answer.csv", data=form)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["No.", "質問", "判定", "確信度"]
    assert [row[1] for row in rows[1:]] == questions[:2] + ["'" + questions[2]]
    assert rows[1][2] == "回答候補あり" and rows[1][4] and rows[1][6]
    assert rows[2][2] == "要確認" and rows[2][6] == ""

    r = client.post("/answer.xlsx", data=form)
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.content)).active
    xrows = list(ws.iter_rows(values_only=True))
    assert [row[1] for row in xrows[1:]] == questions[:2] + ["'" + questions[2]]
    assert xrows[1][4] == rows[1][4]
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)


def test_download_without_questions_is_400(client):
    r = client.post("/answer.csv", data={"questions_json": "not json"})
    assert r.status_code == 400 and "JSON" in r.json()["detail"]


def test_api_answer(client):
    body = {"questions": TWO_QUESTIONS.splitlines(), "mode": "hybrid", "top": 2}
    r = client.post("/api/answer", json=body)
    assert r.status_code == 200
    answers = r.json()["answers"]
    assert [a["status"] for a in answers] == ["answered", "no_match"]
    assert set(answers[0]) >= {"question", "status", "confidence", "matches"}
    assert len(answers[0]["matches"]) == 2 and set(answers[0]["matches"][0]) == {"id", "score", "text"}
    assert client.post("/api/answer", json={"questions": ["x"], "mode": "fuzzy"}).status_code == 400
    assert client.post("/api/answer", json={"questions": ["x"] * 2001}).status_code == 422
