"""The web UI and JSON API, through the real HTTP stack, on the real engine."""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import checksheets as cs
from documents import MAPPING_MD
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from search.questionnaire import answer as qa
from search.app.web import create_app
from search.app.web.templating import mark

pytestmark = pytest.mark.scored

HIT_KEYS = {"id", "score", "kind", "series", "aws_role", "customer_role", "field", "snippet", "highlights", "same_as",
            "same_text", "near_text", "named", "synonyms", "confirmed", "key", "document", "document_title", "label",
            "title", "beside", "also_in"}


def alert(html: str) -> str:
    """The page's error message (the role=alert paragraph), unescaped: what the user reads."""
    import html as h

    m = re.search(r'<p class="error" role="alert">(.*?)</p>', html, re.S)
    assert m, "no error message on the page"
    text = h.unescape(m.group(1))
    assert "--" not in text and not re.search(r"\b(the|is|not|found)\b", text), text  # Japanese, no CLI flags
    return text


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


def test_a_question_the_document_does_not_answer_opens_only_the_closest_candidates(client):
    from search.engine import NO_MATCH_SHOWN

    r = client.get("/", params={"q": "サイバー保険に加入していますか。"})
    assert r.status_code == 200 and "この文書には直接の記述が見つかりませんでした" in r.text
    listed, folded = r.text.split('<details class="more">')
    assert listed.count('<li class="card">') == NO_MATCH_SHOWN and folded.count('<li class="card">') >= 1
    assert f"近い順に上の {NO_MATCH_SHOWN} 件だけを開いて表示" in folded


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
    r = client.get("/", params={"q": "準拠法", "mode": "keyword", "series": "変更履歴"})
    assert r.status_code == 200
    card = first_card(r.text)
    assert card.count("変更履歴") == 1  # one label, not 「変更履歴 変更履歴」
    assert 'href="/criteria/%E7%B5%B120"' in card  # 統20 has a page of its own: its change history
    page = client.get("/criteria/統20")
    assert page.status_code == 200 and page.text.count("<li><b>") == 2 and "準拠法" in page.text
    assert client.get("/criteria/統２０", follow_redirects=False).headers["location"] == "/criteria/%E7%B5%B120"
    assert client.get("/api/criteria/統20").json()["revisions"][1]["ids"] == ["統20", "統21", "統24"]
    r = client.get("/", params={"q": "パスワード", "aws": "info", "customer": "primary"})
    assert r.status_code == 200 and "検索できません" not in r.text


def test_empty_query_shows_message(client):
    r = client.get("/", params={"q": "  "})
    assert r.status_code == 200
    assert "検索できません" in r.text and "検索語が空です" in r.text


def test_huge_query_is_refused_clearly(client):
    r = client.get("/", params={"q": "a" * 10_001})
    assert r.status_code == 200
    assert "10,001 文字あります（上限 10,000 文字）" in alert(r.text) and "「質問票に回答」ページ" in alert(r.text)
    r = client.get("/api/search", params={"q": "a" * 10_001})
    assert r.status_code == 400 and r.json()["code"] == "query_too_long"
    assert "limit is 10,000" in r.json()["detail"] and "POST /api/answer" in r.json()["detail"]


def test_a_long_search_is_sent_by_post_and_a_short_one_keeps_its_url(client):
    """The form POSTs: a short search is redirected to its GET (a URL to share), a pasted questionnaire of
    8,000 characters is answered at once (as a GET it was a 70 KB URL, refused before kijun saw it), and
    one over the limit gets the catalogued message instead of being cut at 10,000 by the box."""
    form = client.get("/").text
    assert '<form class="search" method="post" action="/"' in form and "maxlength" not in form
    r = client.post("/", data={"q": "パスワード", "mode": "hybrid", "aws": ""}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/?q=%E3%83%91%E3%82%B9%E3%83%AF%E3%83%BC%E3%83%89&mode=hybrid"
    paste = (PASSWORD + "\n" + NDA + "\n") * 100
    paste = paste[:8000]
    r = client.post("/", data={"q": paste, "mode": "hybrid"}, follow_redirects=False)
    assert r.status_code == 200 and len(paste) == 8000
    assert '<li class="card">' in r.text and "検索できません" not in r.text
    assert paste[:200] in r.text  # the query stays in the box
    r = client.post("/", data={"q": "a" * 10_001, "mode": "hybrid"})
    assert r.status_code == 200
    assert "検索語が 10,001 文字あります（上限 10,000 文字）" in alert(r.text)
    r = client.post("/", data={f"field{i}": "x" for i in range(60)})  # a malformed form: a page, not JSON
    assert r.status_code == 400 and "送信されたフォームを読み取れません" in r.text and '<form class="search"' in r.text


def test_bad_mode_is_a_message_not_a_500(client):
    r = client.get("/", params={"q": "パスワード", "mode": "fuzzy"})
    assert r.status_code == 200 and "検索方式「fuzzy」はありません" in alert(r.text)
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


def test_a_criterion_page_names_its_identical_and_near_identical_twins(client):
    page = client.get("/criteria/実57").text
    twins = page.split("同一・ほぼ同一の記述")[1].split("</dd>")[0]
    assert re.search(r'同一の記述: <a href="/criteria/%E5%AE%9F58">実58</a>', twins)
    assert re.search(r'ほぼ同一の記述: <a href="/criteria/%E5%AE%9F56">実56</a>\(類似度 0\.8\d\)', twins)
    assert '同一の記述: <a href="/criteria/%E5%AE%9F57">実57</a>' in client.get("/criteria/実58").text
    assert "同一・ほぼ同一の記述" not in client.get("/criteria/実26").text  # no twin, no line


def test_no_copy_button_beside_an_empty_column(client):
    for cid in ("実1", "実57"):  # 実1: no AWS text; 実57: no customer text
        page = client.get(f"/criteria/{cid}").text
        for target in re.findall(r'data-copy="([\w-]+)"', page):
            copied = re.search(rf'id="{target}">(.*?)</(?:pre|ul)>', page, re.S)
            assert copied and copied.group(1).strip() not in ("", "-"), (cid, target)
        assert "<dd>-</dd>" in page


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
    assert "基準「実999」はこの文書にありません" in r.text and "実1–実148" in r.text
    r = client.get("/criteria/<script>")
    assert r.status_code == 404 and "<script>" not in r.text


# ------------------------------------------------------------------ API


def test_api_search_returns_the_documented_shape(client):
    r = client.get("/api/search", params={"q": "パスワード", "mode": "hybrid", "limit": 5})
    assert r.status_code == 200
    body = r.json()
    assert {"query", "mode", "hits", "warnings"} <= set(body)
    assert body["query"] == "パスワード" and body["mode"] == "hybrid" and body["warnings"] == []
    assert 1 <= body["above_floor"] < 5
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
    assert r.status_code == 404 and "実999" in r.json()["detail"] and r.json()["code"] == "unknown_criterion"


def test_api_criterion_shows_borrowed_text_and_history(client, doc):
    body = client.get("/api/criteria/実88").json()
    assert body["same_as"] == "実87" and body["same_as_text"] == doc.get("実87").aws_status != ""
    history = client.get("/api/criteria/統20").json()  # an ID only the change history has: its entries
    assert history["kind"] == "revision" and all("統20" in r["ids"] for r in history["revisions"])
    body = client.get("/api/criteria/実148").json()
    assert body["revisions"] and all("実148" in r["ids"] for r in body["revisions"])


def test_openapi_docs(client):
    page = client.get("/docs")
    assert page.status_code == 200 and "cdn" not in page.text.lower() and "<script>" not in page.text
    assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 200  # served by the app itself
    assert client.get("/docs/assets/swagger-ui.css").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/search", "/api/criteria/{cid}", "/api/duplicates", "/api/answer"} <= set(paths)


def test_unknown_route_is_404(client):
    assert client.get("/nope").status_code == 404
    assert client.get("/api/nope").json() == {"code": "not_found", "detail": "Not Found"}
    r = client.get("/", params={"q": "パスワード", "limit": "abc"})  # a mistyped URL: a page, not raw JSON
    assert r.status_code == 400 and "limit" in r.text and "abc" in r.text and '"detail"' not in r.text


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


def test_the_duplicates_filter_applies_to_both_tables(client):
    page = client.get("/duplicates", params={"q": "パスワード"}).text
    assert "0 グループ(全" in page and "0 組(全 11 組中)" in page and "<table>" not in page
    page = client.get("/duplicates", params={"q": "実57"}).text
    rows = re.findall(r"<tr><td><a [^>]*>(実\d+)</a></td><td><a [^>]*>(実\d+)</a></td>", page)
    assert rows and all("実57" in r for r in rows) and ("実57", "実58") in rows
    page = client.get("/duplicates", params={"q": "データセンター"}).text  # a word: the pairs whose text holds it
    rows = re.findall(r"<tr><td><a [^>]*>(実\d+)</a></td><td><a [^>]*>(実\d+)</a></td>", page)
    assert rows == [("実49", "実50"), ("実56", "実57"), ("実56", "実58"), ("実57", "実58"), ("実85", "実86"),
                    ("実87", "実88")]  # not 実20 / 実21, 実46 / 実47 or 実102 / 実103
    lead = client.get("/duplicates").text.split('<p class="lead">')[1].split("</p>")[0]
    assert "基準や、一か所" in lead and "\n" not in lead  # no line break read as a stray space


def test_duplicates_bad_params(client):
    r = client.get("/duplicates", params={"min_criteria": 1})
    assert r.status_code == 400 and "最小基準数" in r.text
    assert client.get("/api/duplicates", params={"threshold": 2}).status_code == 422


# ------------------------------------------------------------------ search page: verdict and folded criteria


def test_no_match_verdict_shows_a_banner_above_the_candidates(judged):
    with TestClient(create_app(judged("no_match")), base_url="http://localhost") as c:
        r = c.get("/", params={"q": "社員食堂のメニュー"})
        assert r.status_code == 200
        banner = r.text.index("この文書には直接の記述が見つかりませんでした — 近い候補")
        assert banner < r.text.index('<ol class="hits">') and '<li class="card">' in r.text
        assert "直接の記述が見つかりませんでした" not in c.get("/", params={"q": "実26"}).text  # a lookup by ID
    with TestClient(create_app(judged("answered")), base_url="http://localhost") as c:
        assert "直接の記述が見つかりませんでした" not in c.get("/", params={"q": "パスワード"}).text


def test_identical_criteria_share_one_card_and_near_ones_say_so(client):
    r = client.get("/", params={"q": "データセンターへの物理的アクセスの申請と承認", "mode": "keyword"})
    cards = r.text.split('<li class="card">')[1:]
    folded = [c for c in cards if re.search(r'<span class="cids">[^\n]*>実5[78]</a>', c)]
    assert len(folded) == 1  # one card, not two
    assert re.search(r'>実57</a> / <a class="cid" href="/criteria/%E5%AE%9F58">実58</a> <span class="same">— 同一の記述',
                     folded[0])
    near = client.get("/api/search", params={"q": "データセンターへの物理的アクセスの申請と承認",
                                             "mode": "keyword"}).json()["hits"]
    with_near = next(h for h in near if h["near_text"])
    card = next(c for c in cards if f'>{with_near["id"]}</a>' in c)
    assert "ほぼ同一: " in card and f'>{with_near["near_text"][0]}</a>' in card


# ------------------------------------------------------------------ questionnaire page


PASSWORD = "パスワードの最低文字数や複雑さ、定期的な変更などのパスワードポリシーを定めていますか。"
NDA = "従業員の入社時に、在職中および退職後の秘密保持に関する誓約書を取得していますか。"


@pytest.fixture(scope="module")
def cloud() -> bytes:
    return cs.cloud_checksheet()


def token_of(html: str) -> str:
    return re.search(r'name="token" value="([A-Za-z0-9_-]+)"', html).group(1)


def download_links(html: str) -> list[str]:
    return re.findall(r'href="(/answer/[A-Za-z0-9_-]+/[a-z.]+)"', html)


def test_answer_form(client):
    r = client.get("/answer")
    assert r.status_code == 200 and 'name="questions"' in r.text and 'type="file"' in r.text
    assert "読み取った内容" not in r.text


def test_pasted_questions_table_and_downloads(judged):
    with TestClient(create_app(judged("answered")), base_url="http://localhost") as c:
        r = c.post("/answer", data={"questions": PASSWORD + "\n\n" + NDA, "mode": "hybrid", "top": "3"})
        assert r.status_code == 200
        rows = r.text.split('<tr class="')[1:]
        assert len(rows) == 2 and rows[0].startswith("answered") and "回答候補あり" in rows[0]
        assert '<a href="/criteria/%E5%AE%9F26">実26</a>' in rows[0] and "[実26]" in rows[0]
        assert 'class="copy"' in rows[0] and "読み取った内容" not in r.text  # no file, no detection
        links = download_links(r.text)
        assert [link.rsplit("/", 1)[1] for link in links] == ["answers.csv", "answers.xlsx"]
        got = c.get(links[0])
        assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
        assert 'filename="kijun-answers.csv"' in got.headers["content-disposition"]
        table = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"), newline="")))
        assert table[0][:5] == ["No.", "質問", "判定", "該当基準", "確信度"] and table[1][1:4] == [PASSWORD, "回答候補あり", "実26"]
        ws = load_workbook(io.BytesIO(c.get(links[1]).content)).active
        assert [c.value for c in ws[2]][:4] == [1, PASSWORD, "回答候補あり", "実26"]


def test_pasted_no_match_rows_show_candidates_not_a_draft(judged):
    with TestClient(create_app(judged("no_match")), base_url="http://localhost") as c:
        r = c.post("/answer", data={"questions": PASSWORD})
        [row] = r.text.split('<tr class="')[1:]
        assert row.startswith("no_match") and "要確認" in row and "[実26]" not in row
        assert "担当者が確認してください" in row and '<a href="/criteria/%E5%AE%9F26">実26</a>' in row


def test_upload_preview_then_download_the_filled_workbook(client, cloud, doc):
    r = client.post("/answer", files={"file": ("チェックシート.xlsx", cloud)}, data={"mode": "hybrid", "top": "3"})
    assert r.status_code == 200
    detected = r.text[r.text.index("読み取った内容"):r.text.index('<form class="correct"')]
    assert "チェックシート.xlsx" in r.text
    for shown in ("<td>チェックシート</td>", "4 行目", "C 列「確認項目」", "9 問", "5 行", "5 行目: 見出し行 — 【物理的セキュリティ】",
                  "21 行目: 注記", "表紙 — 表紙・履歴・記入例・説明のシート"):
        assert shown in detected, shown
    assert 'name="sheet"' in r.text and 'name="header_row"' in r.text and 'name="column"' in r.text
    assert "記入した列: G 判定、H 該当基準、I 確信度、J 回答案" in r.text
    assert r.text.count('<tr class="') == 9

    links = download_links(r.text)
    assert [link.rsplit("/", 1)[1] for link in links] == ["filled", "answers.csv", "answers.xlsx"]
    got = client.get(links[0])
    assert got.status_code == 200 and got.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert "filename*=utf-8''%E3%83%81%E3%82%A7%E3%83%83%E3%82%AF%E3%82%B7%E3%83%BC%E3%83%88_%E5%9B%9E%E7%AD%94.xlsx" \
        .lower() in got.headers["content-disposition"].lower()
    ws = load_workbook(io.BytesIO(got.content))["チェックシート"]
    assert [ws.cell(4, c).value for c in range(7, 15)] == list(qa.ANSWER_COLUMNS)
    assert ws["G9"].value == "回答候補あり" and ws["H9"].value.startswith("実26")
    assert ws["J9"].value.split("\n")[0].endswith("[実26]") and ws["C9"].value == PASSWORD
    table = client.get(links[1]).content.decode("utf-8-sig")
    assert table.splitlines()[0].startswith("No.,シート,行,質問,判定")


def test_correcting_the_detection_rereads_the_kept_upload(client, cloud):
    r = client.post("/answer", files={"file": ("cloud.xlsx", cloud)})
    token = token_of(r.text)
    r = client.post("/answer", data={"token": token, "column": "Z"})
    assert r.status_code == 400 and "Z 列" in alert(r.text) and "質問がありません" in alert(r.text)
    assert "「質問の列」欄" in alert(r.text)  # names the field on the page that fixes it
    assert token_of(r.text) == token  # the upload is kept: the user corrects and runs again
    r = client.post("/answer", data={"token": token, "header_row": "two"})
    assert r.status_code == 400 and "「見出し行」欄には行番号" in alert(r.text) and token_of(r.text) == token
    r = client.post("/answer", data={"token": token, "column": "確認項目", "answer_column": "補足説明"})
    assert r.status_code == 200 and "J 回答案" not in r.text and "E 回答案(既存の列)" in r.text
    ws = load_workbook(io.BytesIO(client.get(f"/answer/{token}/filled").content))["チェックシート"]
    assert ws["E4"].value == "補足説明" and ws["L4"].value == "他の候補" and ws["M4"].value == "回答の出典"
    assert ws["N4"].value is None


def test_a_sheet_without_a_question_column_keeps_the_upload_for_a_correction(client):
    r = client.post("/answer", files={"file": ("noq.xlsx", cs.no_question_column())})
    assert r.status_code == 400 and "質問の列が見つかりません" in alert(r.text)
    token = token_of(r.text)
    r = client.post("/answer", data={"token": token, "column": "備考"})
    assert r.status_code == 400 and "見出し行 4 より下に質問がありません" in alert(r.text)  # 特になし is too short


def test_csv_upload_comes_back_as_csv(client):
    r = client.post("/answer", files={"file": ("委託先.csv", cs.cp932_csv())})
    assert r.status_code == 200 and "(CSV)" in r.text and "3 行目" in r.text
    got = client.get(download_links(r.text)[0])
    assert got.headers["content-type"].startswith("text/csv")
    assert "%E5%A7%94%E8%A8%97%E5%85%88_%E5%9B%9E%E7%AD%94.csv" in got.headers["content-disposition"]
    text = got.content.decode("cp932" if b"\xef\xbb\xbf" not in got.content[:3] else "utf-8-sig")
    assert text.splitlines()[2].startswith("No.,分類,質問,回答,備考,判定,該当基準")








@pytest.mark.parametrize("name, build, message, code, detail", [
    ("protected.xlsx", cs.encrypted_xlsx, "パスワードが設定されています", "encrypted_workbook", "is password-protected"),
    ("old.xls", cs.legacy_xls, "古い .xls 形式です", "old_xls", "old .xls files are not supported"),
    ("huge.xlsx", cs.huge_sheet, "質問が 10,000 問あります（上限 2,000 問）", "too_many_questions",
     "pick one with the `sheet` field"),
    ("junk.xlsx", lambda: bytes(range(256)) * 20, ".xlsx ブックとして読めません", "not_a_zip",
     "is not a valid .xlsx workbook"),
    ("q.pdf", lambda: b"%PDF-1.4", "PDF は読めません", "pdf_file", "PDF files are not supported"),
    ("big.csv", lambda: b"a" * (5 * 1024 * 1024 + 10), "上限 5 MB", "file_too_large", "the limit is 5 MB"),
])
def test_bad_uploads_are_a_message_not_a_500(client, name, build, message, code, detail):
    r = client.post("/answer", files={"file": (name, build())})
    assert r.status_code == 400 and message in alert(r.text)
    r = client.post("/api/answer", files={"file": (name, build())})
    assert r.status_code == 400 and r.json()["code"] == code and detail in r.json()["detail"]
    assert "--" not in r.json()["detail"]  # the API names its fields, not the command line's options


@pytest.mark.parametrize("data, message", [
    ({"questions": "   "}, "質問がありません"),
    ({"questions": "x", "mode": "fuzzy"}, "検索方式「fuzzy」はありません"),
    ({"questions": "x", "top": "99"}, "「候補数」は 1〜10 の数で"),
    ({"questions": "x", "header_row": "two"}, "「見出し行」欄には行番号"),
    ({"token": "A" * 24}, "期限切れ"),
])
def test_bad_forms_are_a_message(client, data, message):
    r = client.post("/answer", data=data)
    assert r.status_code == 400 and message in alert(r.text)


# The form fields a message may name (messages.catalogue.FIELDS), and where each is on the pages: the page, the
# form (its class) and the input's name. A field named in the catalogue's Japanese by 「…」 must be here.
FORM_FIELDS = {
    "sheet": [("answer", "correct", "sheet"), ("library", "library-import", "sheet")],
    "header_row": [("answer", "correct", "header_row"), ("library", "library-import", "header_row")],
    "column": [("answer", "correct", "column"), ("library", "library-import", "column")],
    "answer_column": [("answer", "correct", "answer_column")],
    "returned_answer_column": [("library", "library-import", "answer_column")],
    "criteria_column": [("library", "library-import", "criteria_column")],
    "top": [("answer", "answer", "top")],
    "mode": [("answer", "answer", "mode"), ("search", "search", "mode")],
    "id_column": [("documents", "document-add", "id_column")],
    "fields": [("documents", "document-add", "fields")],
    "edition": [("documents", "document-add", "edition")],
    "kind": [("documents", "document-add", "kind")],
    "title": [("documents", "document-add", "title")],
    "document_id": [("documents", "document-add", "document_id")],
}
ROOT = Path(__file__).resolve().parents[1]
SAME_NAME_CHOICES = {"replace": "置き換える", "keep_both": "両方残す"}
"""Radio buttons of the library preview's 「同じ名前のファイル」 fieldset (shown when a file of that name was added)."""


def form_labels(html: str, form_class: str) -> dict[str, str]:
    """input name → its label's own text (before any hint in brackets), in the first form of that class."""
    form = html.split(f'<form class="{form_class}"')[1].split("</form>")[0]
    return {name: re.split(r"[(（]", text.strip())[0].strip()
            for text, name in re.findall(r'<label>([^<]*?)\s*<(?:input|select)[^>]*?name="(\w+)"', form)}


def test_every_message_names_a_field_by_the_label_its_form_shows(client, cloud):
    """「回答案を書き込む既存の列」欄 where the form says 「回答の列」 cannot happen again: every field the
    catalogue's Japanese names in 「…」 is the label of that field on each form where the message is shown."""
    from messages.catalogue import CATALOGUE, FIELDS

    pages = {"answer": client.post("/answer", files={"file": ("cloud.xlsx", cloud)}).text,
             "library": client.get("/library").text, "search": client.get("/").text,
             "documents": client.get("/documents").text}
    named = {k for t in CATALOGUE.values() for k in re.findall(r"\{field\[(\w+)\]\}", t.ja)}
    for key, names in FIELDS.items():
        quoted = re.match(r"(?:検索方式)?「([^」]+)」(欄|ページ)?", names["web"])
        if quoted is None or quoted.group(2) == "ページ" or key == "hybrid":
            continue  # not a form field: ファイル, 表示件数, a page, a choice (below: 種類「タイトル一覧」 is one)
        if key in SAME_NAME_CHOICES:
            template = (ROOT / "search" / "app" / "web" / "templates" / "library.html").read_text(encoding="utf-8")
            assert names["web"] == f"「同じ名前のファイル」の「{SAME_NAME_CHOICES[key]}」"
            assert "<legend>同じ名前のファイル</legend>" in template and f"> {SAME_NAME_CHOICES[key]}</label>" in template
            continue
        assert key in FORM_FIELDS, f"{key}: add where its form is to FORM_FIELDS"
        for page, form, name in FORM_FIELDS[key]:
            assert form_labels(pages[page], form).get(name) == quoted.group(1), (key, page, form)
    assert {"answer_column", "returned_answer_column", "criteria_column", "sheet", "column"} <= named
    assert ">ハイブリッド</option>" in pages["search"] and FIELDS["hybrid"]["web"] == "検索方式「ハイブリッド」"
    assert ">質問票に回答</a>" in pages["search"] and FIELDS["questionnaire"]["web"] == "「質問票に回答」ページ"
    # and the message a returned sheet without answer columns gets names the library form's field
    r = client.post("/library/preview", files={"file": ("未回答.xlsx", cloud)})
    assert "「回答の列」欄" in alert(r.text) and "回答案を書き込む既存の列" not in alert(r.text)


def test_pasted_questions_and_a_file_together_ask_which(client, cloud):
    r = client.post("/answer", data={"questions": "パスワードの規定はありますか。"},
                    files={"file": ("cloud.xlsx", cloud)})
    assert r.status_code == 400 and "両方が送られました" in alert(r.text)
    assert "パスワードの規定はありますか。" in r.text  # what was pasted is kept in the box


def test_downloads_expire_and_tokens_are_checked(client):
    for path in ("/answer/" + "A" * 24 + "/filled", "/answer/..%2F..%2Fetc/passwd", "/answer/x/answers.csv"):
        r = client.get(path)
        assert r.status_code == 404


# ------------------------------------------------------------------ API


def test_api_answer_json(judged):
    with TestClient(create_app(judged("answered")), base_url="http://localhost") as c:
        r = c.post("/api/answer", json={"questions": [PASSWORD, NDA], "mode": "hybrid", "top": 2})
        assert r.status_code == 200
        first = r.json()["answers"][0]
        assert set(first) >= {"question", "status", "confidence", "score", "draft", "quotes", "matches"}
        assert first["draft"].split("\n")[0].endswith("[実26]") and set(first["quotes"]) == {"aws_status",
                                                                                             "customer_controls"}
        assert len(first["matches"]) == 2
        assert set(first["matches"][0]) == {"id", "same_text", "near_text", "score", "text", "document"}


def test_api_answer_json_errors(client):
    assert client.post("/api/answer", json={"questions": ["x"], "mode": "fuzzy"}).status_code == 400
    assert client.post("/api/answer", json={"questions": ["x"] * 2001}).status_code == 422
    assert client.post("/api/answer", content=b"not json", headers={"content-type": "application/json"}
                       ).status_code == 422


def test_api_answer_upload_returns_the_filled_file(client, cloud):
    r = client.post("/api/answer", files={"file": ("cloud.xlsx", cloud)},
                    data={"answer_column": "補足説明", "top": "2"})
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    ws = load_workbook(io.BytesIO(r.content))["チェックシート"]
    assert ws["E4"].value == "補足説明" and ws["G4"].value == "判定" and ws["H9"].value.startswith("実26")
    r = client.post("/api/answer", files={"file": ("cloud.xlsx", cloud)}, data={"format": "csv"})
    assert r.status_code == 200 and r.content.decode("utf-8-sig").startswith("No.,シート,行,質問,判定")
    r = client.post("/api/answer", files={"file": ("cloud.xlsx", cloud)}, data={"column": "設問"})
    assert r.status_code == 400 and "no column '設問'" in r.json()["detail"] and r.json()["code"] == "unknown_column"
    r = client.post("/api/answer", data={"mode": "hybrid"}, files={"other": ("x.txt", b"x")})
    assert r.status_code == 400 and "no file" in r.json()["detail"] and "`file`" in r.json()["detail"]


def test_api_answer_upload_makes_only_the_file_it_returns(client, cloud, monkeypatch):
    from search.questionnaire import table

    made = []
    table_bytes = table.table_bytes
    monkeypatch.setattr(table, "table_bytes", lambda rows, fmt: made.append(fmt) or table_bytes(rows, fmt))
    assert client.post("/api/answer", files={"file": ("cloud.xlsx", cloud)}).status_code == 200
    assert made == []
    r = client.post("/api/answer", files={"file": ("cloud.xlsx", cloud)}, data={"format": "xlsx"})
    assert r.status_code == 200 and made == ["xlsx"]
    assert load_workbook(io.BytesIO(r.content))["回答"]["A1"].value == "No."


def test_the_answer_page_makes_kijuns_tables_only_when_they_are_downloaded(client, cloud, monkeypatch):
    """Answering a sheet on the page writes the filled file it shows; the CSV and XLSX of kijun's table are
    made when their links are followed (an XLSX of 300 rows was a quarter of a second of every answer)."""
    from search.questionnaire import table

    made = []
    table_bytes = table.table_bytes
    monkeypatch.setattr(table, "table_bytes", lambda rows, fmt: made.append(fmt) or table_bytes(rows, fmt))
    page = client.post("/answer", files={"file": ("cloud.xlsx", cloud)})
    assert page.status_code == 200 and made == []
    links = download_links(page.text)
    xlsx = client.get(next(link for link in links if link.endswith("answers.xlsx")))
    assert made == ["xlsx"] and load_workbook(io.BytesIO(xlsx.content))["回答"]["A1"].value == "No."
    assert "kijun-answers.xlsx" in xlsx.headers["content-disposition"]
    rows = list(csv.reader(client.get(next(link for link in links if link.endswith("answers.csv"))).text.splitlines()))
    assert made == ["xlsx", "csv"] and rows[0][0].lstrip("\ufeff") == "No." and len(rows) == 10  # 9 questions


def _mismatch(example, real, at: str = "") -> str | None:
    """Where the example lacks a key the real response has, or has one it lacks (lists by their first item);
    None when they match."""
    if isinstance(real, dict):
        if not isinstance(example, dict) or set(example) != set(real):
            return f"{at}: {sorted(example) if isinstance(example, dict) else example!r} vs {sorted(real)}"
        return next((m for k in real if (m := _mismatch(example[k], real[k], f"{at}.{k}"))), None)
    if isinstance(real, list) and real:
        if not isinstance(example, list) or not example:
            return f"{at}: {example!r} vs a list of {len(real)}"
        return _mismatch(example[0], real[0], f"{at}[0]")
    return None


def test_the_api_docs_show_real_examples_of_every_answer(client, cloud):
    from search.library.store import Entry, Source

    spec = client.get("/openapi.json").json()["paths"]
    examples = {}
    for path, methods in spec.items():
        for method, op in methods.items():
            ok = op["responses"]["200"]
            example = ok.get("content", {}).get("application/json", {}).get("example")
            assert example not in (None, "string"), (method, path)
            examples[(method, path)] = example
            for status, answer in op["responses"].items():
                if status.startswith(("4", "5")) and status != "422":
                    ex = answer["content"]["application/json"]["example"]
                    assert set(ex) == {"code", "detail"} and ex["code"] and ex["detail"], (method, path, status)
    real = {("get", "/api/search"): client.get("/api/search", params={"q": "入退室"}).json(),
            ("get", "/api/criteria/{cid}"): client.get("/api/criteria/実26").json(),
            ("get", "/api/duplicates"): client.get("/api/duplicates").json(),
            ("post", "/api/answer"): client.post("/api/answer", json={"questions": [PASSWORD]}).json(),
            ("post", "/api/library"): client.post("/api/library", files={"file": ("c.xlsx", cloud)},
                                                  data={"answer_column": "補足説明", "dry_run": "1"}).json(),
            ("get", "/api/library"): [Entry("L0", "q", ("実1",), "a", "answered", Source("f", "s", 1, "x", "t")).to_dict()],
            ("delete", "/api/library/{entry_id}"): {"removed": "L0", "question": "q"},
            ("get", "/api/documents"): client.get("/api/documents").json(),
            ("post", "/api/documents"): client.post("/api/documents", files={"file": ("m.md", MAPPING_MD.encode())},
                                                    data={"title": "基盤 FISC対応表", "dry_run": "1"}).json(),
            ("delete", "/api/documents/{doc_id}"): {"removed": "fisc-mapping", "title": "基盤 FISC対応表"}}
    assert set(real) == set(examples)
    for key, body in real.items():
        assert _mismatch(examples[key], body) is None, (key, _mismatch(examples[key], body))
    hit = examples[("get", "/api/search")]["hits"][0]  # the synonym found, marked
    assert {hit["snippet"][a:b] for a, b in hit["highlights"]} == {"物理的アクセス"} == {s["term"] for s in hit["synonyms"]}


def test_a_missing_or_malformed_parameter_has_a_code_naming_it(client):
    r = client.get("/api/search")
    assert (r.status_code, r.json()["code"]) == (400, "missing_query") and "`q`" in r.json()["detail"]
    r = client.get("/api/search", params={"q": "x", "limit": "abc"})
    assert (r.status_code, r.json()["code"]) == (422, "bad_parameter") and r.json()["detail"][0]["loc"][-1] == "limit"
    r = client.post("/api/answer", json={"mode": "hybrid"})
    assert (r.status_code, r.json()["code"]) == (400, "missing_questions")
    r = client.post("/api/answer", json={"questions": "not a list"})
    assert (r.status_code, r.json()["code"]) == (422, "invalid_body")


def test_api_answer_is_documented_for_both_bodies(client):
    body = client.get("/openapi.json").json()["paths"]["/api/answer"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json", "multipart/form-data"}
    assert {"file", "sheet", "header_row", "column", "answer_column", "mode", "top", "format", "document"} == \
        set(body["multipart/form-data"]["schema"]["properties"])


# ------------------------------------------------------------------ the upload store


def test_upload_store_expires_and_evicts(tmp_path):
    from search.app.web.uploads import UploadExpired, UploadStore

    now = [1000.0]
    store = UploadStore(tmp_path / "store", ttl=60, max_bytes=3000, clock=lambda: now[0])
    first = store.add("a.xlsx", b"x" * 1000)
    store.put(first, "filled", b"y" * 1000, download_name="a_回答.xlsx")
    assert store.output(first.token, "filled")[1] == "a_回答.xlsx" and store.get(first.token).source == b"x" * 1000
    now[0] += 59
    second = store.add("b.csv", b"z" * 10)
    assert store.get(first.token).filename == "a.xlsx"  # a use restarts its clock
    now[0] += 59
    assert store.get(first.token).filename == "a.xlsx"
    now[0] += 61
    store.add(None, None)
    for token in (first.token, second.token):
        with pytest.raises(UploadExpired):
            store.get(token)
    third = store.add("c.xlsx", b"c" * 2000)
    now[0] += 1
    fourth = store.add("d.xlsx", b"d" * 2000)
    store.put(fourth, "answers.csv", b"", download_name="kijun-answers.csv")  # over 3000 bytes: the oldest goes
    with pytest.raises(UploadExpired):
        store.get(third.token)
    assert store.output(fourth.token, "answers.csv")[0] == b""
    for bad in ("../../etc", "A" * 24, ""):
        with pytest.raises(UploadExpired):
            store.get(bad)
    with pytest.raises(UploadExpired):
        store.output(fourth.token, "filled")  # never made
    store.discard(fourth)
    with pytest.raises(UploadExpired):
        store.get(fourth.token)
    store.close()
    assert not (tmp_path / "store").exists()


def test_the_app_deletes_its_own_uploads_when_it_stops(engine, tmp_path):
    from search.app.web.uploads import UploadStore

    app = create_app(engine)
    own = app.state.uploads.root
    with TestClient(app, base_url="http://localhost") as c:
        c.post("/answer", data={"questions": "パスワード"})
        assert len([d for d in own.iterdir() if d.is_dir()]) == 1  # one run (beside the store's lock file)
    assert not own.exists()
    store = UploadStore(tmp_path / "uploads")  # a store passed in is the caller's: left as it is
    with TestClient(create_app(engine, store), base_url="http://localhost") as c:
        c.post("/answer", data={"questions": "パスワード"})
    assert len([d for d in (tmp_path / "uploads").iterdir() if d.is_dir()]) == 1
