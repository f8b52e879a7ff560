"""Searching several documents: the bundled one, a Markdown mapping table, an XLSX table with merged header cells,
a firm's policy table citing IDs its edition lacks, and a title list of boilerplate-only criteria.

One engine over all of them per module (`multi`), its indexes beside the session's (a folder per set of documents;
the embedding cache shared, so only the added documents' passages are embedded).
"""
from __future__ import annotations

import io
import json

import numpy as np
import pytest
from click.testing import CliRunner

from document_set import TITLED, TITLES_9, fill
from documents import MAPPING_MD, TITLES_13

from corpus.collection import Source, collection_table
from corpus.documents import CRITERION, TITLE, document_table
from corpus.duplicates import find_table_duplicates
from corpus.passages import passage_key
from corpus.sources import read_document
from search.documents.loaded import load
from search.documents.store import DocumentStore
from search.errors import UnknownDocumentFilter

BOILERPLATE = "お客様がAWS上で実装するシステムおよびサービスの管理は"
PIN_QUESTION = "キャッシュカードの暗証番号を何回も間違えたら利用を止める仕組みがありますか。"


@pytest.fixture(scope="module")
def store(tmp_path_factory, doc):
    s = DocumentStore(tmp_path_factory.mktemp("kijun-docs") / "documents", bundled=doc)
    fill(s, policy=True)
    return s


@pytest.fixture(scope="module")
def multi(engine, store):
    """The session engine's settings and model over every document of `store`."""
    e = engine.with_sources(load(store).sources)
    e.build()
    return e


# ---------------------------------------------------------------- the table of several documents


def test_the_bundled_document_keeps_its_keys_and_added_ones_are_keyed_by_document(doc, multi):
    alone = document_table(doc)
    assert collection_table(doc, []).keys_hash == alone.keys_hash
    assert collection_table(doc, []).corpus_hash == alone.corpus_hash
    keys = [d.key for d in multi.table]
    assert keys[:len(alone)] == [d.key for d in alone]  # 実1 … 監5, rev{n}:{id}: today's keys, first
    assert {"fisc-mapping:実8", "vendor:実57", "policy:実150", "policy:実14-1"} <= set(keys)
    assert len(set(keys)) == len(keys)
    d = multi.table["fisc-mapping:実8"]
    assert (d.id, d.document, d.document_title) == ("実8", "fisc-mapping", "基盤 FISC対応表")
    assert [p.label for p in d.written] == ["共通統制環境の対策内容", "ワークロードの対策内容"]
    assert multi.table["実26"].document == "aws-fisc"
    assert multi.table.sources[0] == ("aws-fisc", "FISC安全対策基準 AWSの対応状況")
    assert multi.index_root.parent == multi.root / "sets"


def test_a_title_list_joins_the_criteria_of_its_edition_and_never_another(doc):
    titles9 = read_document(TITLES_9.encode(), "t9.txt", "t9", kind="titles", edition="9")
    titles13 = read_document(TITLES_13.encode(), "t13.txt", "t13", kind="titles", edition="13")
    table = collection_table(doc, [Source("t9", "第9版", "9版", titles9), Source("t13", "第13版", "13版", titles13)])
    pin = table["実13"]  # the bundled 実13: only the customer boilerplate of its own, now with its title
    assert pin.written == () and BOILERPLATE in pin.boilerplate[0].text
    assert [(p.field, p.text, p.document) for p in pin.passages] == [(TITLE, "暗証番号の連続誤入力による利用停止", "t9")]
    assert pin.titled_by == ("t9",) and pin.documents == ("aws-fisc", "t9")
    # the 13th edition's titles join no criterion of the 9th: its IDs stand as its own criteria
    assert table["実14"].title is None and table["実14"].titled_by == ()
    assert {d.key for d in table if d.document == "t13"} == {"t13:実14", "t13:実14-1", "t13:実103-1", "t13:監3"}
    assert table["t13:実14-1"].passages[0].text == "脆弱性の管理"
    assert not any(d.key.startswith("t9:") for d in table)  # every title of the 9th edition found its criterion


def test_keyword_index_and_vectors_cover_the_added_documents_and_only_their_passages_are_embedded(engine, multi,
                                                                                                 data_root):
    from indexer.embedding_index import units

    assert multi.keyword.meta["documents"] == len(multi.table)
    ours = {passage_key(u.text) for u in units(engine.table)}
    theirs = {passage_key(u.text) for u in units(multi.table)}
    index = multi.semantic()
    assert index is not None and index.meta["distinct"] == len(theirs) and index.matrix.shape[0] == len(theirs)
    cache = next((data_root / "embeddings" / "index" / "cache").glob("*.npz"))
    with np.load(cache) as z:
        cached = set(z["keys"].tolist())
    assert theirs <= cached and ours <= cached  # one cache for both sets
    assert 0 < len(theirs - ours) < 120 < len(ours)  # what the added documents brought: all that was embedded for them


# ---------------------------------------------------------------- what the issue asks to be shown


@pytest.mark.scored
def test_mfa_finds_the_mapping_tables_row_naming_its_document(multi):
    for mode in ("hybrid", "keyword"):
        r = multi.search("MFA", mode=mode, limit=5)
        top = r.hits[0]
        assert (top.id, top.key, top.document, top.document_title) == ("実8", "fisc-mapping:実8", "fisc-mapping",
                                                                      "基盤 FISC対応表")
        assert top.label == "共通統制環境の対策内容" and "MFA" in top.snippet
        assert [top.snippet[a:b] for a, b in top.highlights][:1] == ["MFA"]
        d = top.to_dict()
        assert (d["document"], d["document_title"], d["also_in"]) == ("fisc-mapping", "基盤 FISC対応表", [])


@pytest.mark.scored
def test_an_xlsx_table_with_merged_header_cells_is_searched_by_its_own_words(multi):
    top = multi.search("ログを改ざんできない保管庫に保存していますか", limit=5).hits[0]
    assert (top.key, top.same_text, top.label) == ("vendor:実57", ("実58",), "対策内容 / 共通統制環境")
    assert top.snippet == "ログを改ざんできない保管庫に保存する"


@pytest.mark.scored
def test_a_title_list_makes_a_boilerplate_only_criterion_findable_first(engine, multi):
    assert all(not engine.table[t].written for t in TITLED)
    for mode in ("hybrid", "semantic", "keyword"):  # before: 実13 has no words of its own, so nothing finds it
        assert "実13" not in engine.search(PIN_QUESTION, mode=mode, limit=50).ids
    r = multi.search(PIN_QUESTION, limit=10)
    top = r.hits[0]
    assert (top.id, top.document, top.field) == ("実13", "aws-fisc", TITLE)
    assert top.snippet == top.title == "暗証番号の連続誤入力による利用停止"
    assert top.beside.startswith(BOILERPLATE)  # the title beside the bundled text
    assert r.hits[1].score < top.score - 0.1


def test_a_table_citing_ids_its_edition_lacks_warns_and_they_are_searched_as_its_own(store, multi):
    policy = store.get("policy")
    [warning] = [w for w in policy.warnings if w.code == "document_ids_not_in_edition"]
    assert warning.params["ids"] == ["実14-1 (5)", "実150 (4)"] and warning.params["edition"] == "第9版"
    top = multi.search("クラウド事業者の選定基準", mode="keyword", limit=3).hits[0]
    assert (top.key, top.document) == ("policy:実150", "policy")


def test_hits_for_one_criterion_from_several_documents_are_grouped_under_it(multi):
    r = multi.search("パスワード", mode="keyword", limit=10)
    criteria = [h.id for h in r.hits if h.kind == CRITERION]
    assert len(criteria) == len(set(criteria))  # each criterion once
    lead = next(h for h in r.hits if h.id == "実26")
    others = {a.document for a in lead.also_in}
    assert {lead.document} | others == {"aws-fisc", "fisc-mapping", "vendor", "policy"}
    assert all(a.key.endswith(":実26") and a.score <= lead.score for a in lead.also_in)
    assert "パスワード" in lead.snippet and all("パスワード" in a.snippet for a in lead.also_in)
    assert [a["document"] for a in lead.to_dict()["also_in"]] == [a.document for a in lead.also_in]
    assert list(r.ranking).count("実26") == 1


def test_a_search_within_documents(multi):
    r = multi.search("パスワード", mode="keyword", limit=10, documents=["fisc-mapping"])
    assert r.hits and {h.document for h in r.hits} == {"fisc-mapping"}
    assert all(not h.also_in for h in r.hits)
    # a title list's titles belong to it as well as to the criterion they name
    titled = multi.search("暗証番号の連続誤入力", mode="keyword", limit=5, documents=["titles9"])
    assert titled.hits[0].key == "実13"
    with pytest.raises(UnknownDocumentFilter) as e:
        multi.search("パスワード", documents=["nope"])
    assert "no document 'nope'" in str(e.value) and "fisc-mapping" in str(e.value)


def test_duplicates_find_passages_repeated_across_documents(multi):
    report = find_table_duplicates(multi.table)
    [across] = [g for g in report.passages if {"policy:実26", "vendor:実26"} <= set(g.criteria)]
    assert across.criteria == ("policy:実26", "vendor:実26") and "パスワードを定期的に見直す" in across.text


# ---------------------------------------------------------------- removing a document


def test_removing_a_document_restores_every_dev_querys_results_exactly(engine, doc, tmp_path):
    from search.documents.live import LiveEngine
    from search.evaluation import load_eval_set

    queries = [q.query for q in load_eval_set("eval/dev.jsonl")]
    store = DocumentStore(tmp_path / "documents", bundled=doc)
    live = LiveEngine(engine.with_sources(()), store)

    def results() -> list[list[tuple[str, str, float, str]]]:
        e = live.engine
        return [[(h.key, h.document, h.score, h.snippet) for h in e.search(q, limit=10).hits] for q in queries]

    before = results()
    store.add(MAPPING_MD.encode("utf-8"), "fisc-mapping.md", title="基盤 FISC対応表")
    assert live.refresh(wait=600) and live.engine.sources
    during = results()
    assert sum(a != b for a, b in zip(before, during)) >= 10  # it did change results
    store.remove("fisc-mapping")
    assert live.refresh(wait=600) and not live.engine.sources
    assert results() == before


# ---------------------------------------------------------------- side by side, compared


@pytest.fixture(scope="module")
def client(multi, store):
    from fastapi.testclient import TestClient

    from conftest import LOCAL
    from search.app.web import create_app
    from search.documents.live import LiveEngine

    with TestClient(create_app(LiveEngine(multi, store)), base_url=LOCAL) as c:
        yield c


def test_a_criterion_page_shows_every_documents_text_side_by_side(client):
    page = client.get("/criteria/実26").text
    section = page.split('id="documents"')[1].split("</section>")[0]
    titles = [t.split("</h3>")[0] for t in section.split('<h3 id="doc-col-')[1:]]
    assert [t.split(">", 1)[1] for t in titles] == ["FISC安全対策基準 AWSの対応状況", "基盤 FISC対応表",
                                                    "社内規程との対応", "委託先の対応表"]  # as the store lists them
    assert "パスワードの長さと複雑さを強制" in section and "AWS IAMでは" in section
    assert "多要素認証と組み合わせる" in section  # the workbook's row continued on its second sheet
    assert "<h4>利用者側での追加の対策</h4>" in section
    # a document without the ID says so in its column
    eight = client.get("/criteria/実8").text.split('id="documents"')[1]
    assert "この文書には 実8 の記述がありません" in eight and "お客様に委ねる（定型文のみ）" in eight


def test_an_id_only_other_documents_have_gets_a_page_saying_its_edition_lacks_it(client):
    r = client.get("/criteria/実１５０")
    assert r.status_code == 200 and r.url.path == "/criteria/実150"
    assert "クラウド事業者の選定基準を定める" in r.text
    assert "実150 はどの既知の版にもありません（第9版）" in r.text
    assert client.get("/criteria/実999").status_code == 404


def test_kijun_compare_lists_what_the_table_addresses_and_the_bundled_document_leaves_to_the_customer(
        multi, store, monkeypatch, tmp_path, data_root):
    from openpyxl import load_workbook

    from search.app.cli import main
    from search.compare import compare

    monkeypatch.setenv("KIJUN_DOCUMENTS", str(store.path))
    out = tmp_path / "比較.xlsx"
    r = CliRunner().invoke(main, ["compare", "aws-fisc", "fisc-mapping", "-o", str(out)])
    assert r.exit_code == 0, r.output
    section = r.output.split("■ A お客様に委ねる（定型文のみ） / B 記述あり: 5\n")[1].split("\n■")[0]
    assert [line.split()[0] for line in section.strip().splitlines()] == ["実1", "実4", "実7", "実8", "実18"]
    assert "MFA" in section.splitlines()[3]
    expected = compare(multi.table, "aws-fisc", "fisc-mapping")
    rows = list(load_workbook(out).active.iter_rows(values_only=True))
    assert rows[0] == ("基準番号", "aws-fisc: 状態", "aws-fisc: 記述", "fisc-mapping: 状態", "fisc-mapping: 記述",
                       "類似度", "相違")
    assert len(rows) == len(expected.rows) + 1
    eight = next(row for row in rows if row[0] == "実8")
    assert eight[1:4:2] == ("お客様に委ねる（定型文のみ）", "記述あり") and eight[2].startswith(BOILERPLATE)
    assert "MFA" in eight[4] and eight[6] == "相違あり"
    six = next(row for row in rows if row[0] == "実26")
    assert six[5] is not None and six[5] < 0.8 and six[6] == "相違あり"
    bad = CliRunner().invoke(main, ["compare", "aws-fisc", "nope"])
    assert bad.exit_code == 1 and "no document 'nope' to compare" in bad.output


def test_the_compare_page_and_its_xlsx(client):
    page = client.get("/compare", params={"a": "aws-fisc", "b": "vendor", "differ": "true"}).text
    assert "A お客様に委ねる（定型文のみ） / B 記述あり（2 件）" in page  # 実1 and 実7
    r = client.get("/compare.xlsx", params={"a": "aws-fisc", "b": "vendor"})
    from openpyxl import load_workbook

    rows = list(load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))
    assert r.status_code == 200 and rows[0][3] == "vendor: 状態"
    assert client.get("/compare", params={"a": "aws-fisc", "b": "aws-fisc"}).status_code == 400


def test_search_page_and_api_name_each_hits_document_and_search_within_one(client):
    page = client.get("/", params={"q": "パスワード", "mode": "keyword"}).text
    assert '<option value="fisc-mapping">基盤 FISC対応表</option>' in page
    assert "ほかの文書の 実26" in page
    api = client.get("/api/search", params={"q": "MFA", "document": ["fisc-mapping", "vendor"]}).json()
    assert {h["document"] for h in api["hits"]} <= {"fisc-mapping", "vendor"} and api["hits"][0]["id"] == "実8"
    bad = client.get("/api/search", params={"q": "MFA", "document": "nope"})
    assert bad.status_code == 400 and bad.json()["code"] == "unknown_document_filter"


# ---------------------------------------------------------------- questionnaires


@pytest.mark.scored
def test_answers_cite_the_document_beside_the_id_when_several_are_loaded(engine, multi):
    from search.questionnaire.answer import answer_cells, answer_questions

    question = "多要素認証（MFA）を管理者に必須としていますか。"
    [one] = answer_questions(engine, [question], top=3)
    assert all(not c.label.startswith(("AWS ", "基盤 ")) for c in one.candidates)
    [several] = answer_questions(multi, [question], top=3)
    assert several.candidates[0].label == "基盤 実8" and several.candidates[0].document == "fisc-mapping"
    cells = answer_cells(several)
    assert (cells["該当基準"] or cells["他の候補"]).startswith("基盤 実8")
    [bundled_only] = answer_questions(multi, [question], top=3, documents=["aws-fisc"])
    assert bundled_only.candidates and all(c.label.startswith("AWS 実") for c in bundled_only.candidates)


def test_a_returned_sheets_entries_record_the_documents_they_were_confirmed_against(multi):
    from search.questionnaire.returned import read_returned

    csv = ("質問,判定,該当基準,回答案\n"
           "多要素認証を必須にしていますか。,回答候補あり,基盤 実8,必須にしています。\n"
           "パスワードの規定はありますか。,回答候補あり,AWS 実26、基盤 実26,あります。\n"
           "自社で定めたクラウドの選定基準はありますか。,回答候補あり,実150,あります。\n"
           "社員食堂はありますか。,該当なし,,\n").encode("utf-8")
    returned = read_returned(csv, "返送.csv", multi.doc, documents=multi.document_labels(),
                             known={d.id for d in multi.table if d.kind == CRITERION})
    loaded = tuple(multi.document_labels())
    assert [(e.criteria, e.documents, e.unread) for e in returned.entries] == [
        (("実8",), ("fisc-mapping",), ()), (("実26",), ("aws-fisc", "fisc-mapping"), ()),
        (("実150",), loaded, ()), ((), loaded, ())]
    assert returned.skipped == ()


def test_the_library_keeps_an_entrys_documents_and_migrates_an_older_file_safely(tmp_path):
    import sqlite3

    from search.library import jsonl
    from search.library.store import MIGRATIONS, Entry, Incoming, Library, Source

    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    for sql in MIGRATIONS[:2]:
        db.executescript(sql)
    db.execute("PRAGMA user_version = 2")
    db.execute("INSERT INTO entries (id, question, criteria, answer, verdict, source_file, source_sheet, source_row, "
               "source_sha256, imported_at, unread) VALUES ('L1', 'パスワードの規定は?', '[\"実26\"]', 'あります', "
               "'answered', 'a.xlsx', 'シート', 3, 'abc', '2026-01-01T00:00:00+09:00', '[]')")
    db.commit()
    db.close()
    library = Library(path)
    [old] = library.entries()
    assert (old.id, old.question, old.criteria, old.answer, old.documents) == (
        "L1", "パスワードの規定は?", ("実26",), "あります", ("aws-fisc",))
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) == 3
    new = Entry("L2", "MFA は必須ですか", ("実8",), "必須です", "answered", Source("b.csv", None, 2, "def", "t"),
                documents=("fisc-mapping",))
    library.add([Incoming("b.csv", "def", (new,), frozenset(), restore=True)])
    assert library.get("L2").documents == ("fisc-mapping",)
    out = io.StringIO()
    jsonl.write(library.entries(), out)
    exported = [json.loads(line) for line in out.getvalue().splitlines()]
    assert {e["id"]: e["documents"] for e in exported} == {"L1": ["aws-fisc"], "L2": ["fisc-mapping"]}
    back = tmp_path / "back.jsonl"
    back.write_text(out.getvalue(), encoding="utf-8")
    restored = Library(tmp_path / "restored.sqlite3")
    restored.add(jsonl.imports(back))
    assert {e.id: e.documents for e in restored.entries()} == {"L1": ("aws-fisc",), "L2": ("fisc-mapping",)}


def test_an_id_one_edition_has_and_another_lacks_is_said_so(doc):
    from corpus.editions import Editions
    from search.compare import edition_note

    titles13 = read_document(TITLES_13.encode(), "t13.txt", "t13", kind="titles", edition="13")
    editions = Editions.of(doc, "aws-fisc", {"t13": ("13", titles13.ids)})
    assert edition_note(editions, "実14-1").text("web") == ("実14-1 は 第13版 の基準です。第9版 にはありません"
                                                          "（版をまたいで番号を対応づけることはしません）。")
    assert edition_note(editions, "実14") is None  # both have it
    assert edition_note(Editions.of(doc, "aws-fisc"), "実26") is None


def test_indexes_of_sets_of_documents_long_unused_are_removed_and_the_others_kept(tmp_path):
    import os
    import time

    from indexer import store as index_store

    sets = tmp_path / "sets"
    old, recent, current, unmarked_old, building = (sets / n for n in ("old", "recent", "current", "unmarked", "new"))
    for folder in (old, recent, current, unmarked_old):
        index_store.mark_used(folder)
    building.mkdir()
    week_ago = time.time() - index_store.UNUSED_AFTER_S - 60
    for folder in (old, current):
        os.utime(folder / index_store.USED, (week_ago, week_ago))
    (unmarked_old / index_store.USED).unlink()
    os.utime(unmarked_old, (week_ago, week_ago))
    removed = index_store.prune_unused(sets, current)
    assert sorted(p.name for p in removed) == ["old", "unmarked"]
    assert sorted(p.name for p in sets.iterdir()) == ["current", "new", "recent"]


def test_kijun_show_prints_what_each_added_document_says_of_a_criterion(store, monkeypatch):
    """実8 with the bundled text first, then the mapping table's own (its MFA row), and only documents that have it;
    an ID only an added document cites (実150, in the policy table) is shown from that document."""
    from search.app.cli import main

    monkeypatch.setenv("KIJUN_DOCUMENTS", str(store.path))
    text = CliRunner().invoke(main, ["show", "実８"])
    assert text.exit_code == 0, text.output
    bundled, _, added = text.output.partition("── 基盤 FISC対応表 (fisc-mapping) ──")
    assert bundled.startswith("基準番号: 実8") and BOILERPLATE in bundled
    assert "共通統制環境の対策内容:\n  - シングルサインオン基盤で MFA（多要素認証）を有効化\n  - 管理者アカウント" in added
    shown = json.loads(CliRunner().invoke(main, ["show", "実8", "--format", "json"]).output)
    assert shown["id"] == "実8" and [d["document"] for d in shown["documents"]] == ["fisc-mapping"]
    assert shown["documents"][0]["status"] == "addresses"
    only_added = CliRunner().invoke(main, ["show", "実150"])
    assert only_added.exit_code == 0 and only_added.output.startswith("実150: not in the bundled document")
    assert "社内規程との対応" in only_added.output
    nowhere = CliRunner().invoke(main, ["show", "実999"])
    assert nowhere.exit_code == 1 and "no criterion '実999'" in nowhere.output


def test_the_criterion_api_gives_every_documents_text_as_kijun_show_does(multi, store, monkeypatch):
    from fastapi.testclient import TestClient

    from search.app.cli import main
    from search.app.web import create_app

    monkeypatch.setenv("KIJUN_DOCUMENTS", str(store.path))
    with TestClient(create_app(multi), base_url="http://localhost") as c:
        eight = c.get("/api/criteria/実8").json()
        assert eight == json.loads(CliRunner().invoke(main, ["show", "実8", "--format", "json"]).output)
        assert [d["document"] for d in eight["documents"]] == ["fisc-mapping"]
        assert c.get("/api/criteria/実150").json()["documents"][0]["title"] == "社内規程との対応"
        assert c.get("/api/criteria/実999").status_code == 404
