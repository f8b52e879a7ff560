"""Documents a team adds, read into records: exact fields from a Markdown mapping table and from a workbook
with merged header cells, links instead of copies, joined rows, IDs checked against their edition, and every
kind of bad input refused in one line naming its row."""
from __future__ import annotations

import json

import hostile
import pytest
from documents import (MAPPING_MD, MAPPING_MD_LABELS, MERGED_XLSX_LABELS, POLICY_CSV, TITLES_13,
                       extraction_with_a_sub_row, merged_xlsx)

from corpus import grid
from corpus.editions import Editions, bundled_edition, editions_in_text, normalize_edition
from corpus.records import ROLE_HEADERS, DocumentError
from corpus.sources import cited, read_document
from corpus.tables import cell_ids, parse_fields
from corpus.titles import titles


@pytest.fixture(scope="module")
def editions(doc):
    return Editions.of(doc, "aws-fisc")


def _fields(record) -> list[tuple[str, str, str | None]]:
    return [(f.label, f.text, f.same_as) for f in record.fields]


def _codes(doc) -> list[str]:
    return [w.code for w in doc.warnings]


# ---------------------------------------------------------------- a Markdown mapping table


@pytest.fixture(scope="module")
def mapping(editions):
    return read_document(MAPPING_MD.encode("utf-8"), "sample-fisc.md", "sample", editions=editions)


def test_a_markdown_mapping_table_reads_into_exact_fields(mapping):
    assert mapping.kind == "table" and mapping.labels == MAPPING_MD_LABELS
    assert mapping.ids == ("実1", "実4", "実7", "実8", "実18", "実26")  # 「実 1」 and 「実２６」 as written
    common, workload, user = MAPPING_MD_LABELS
    assert _fields(mapping.get("実4")) == [
        (common, "- ストレージへの通信に TLS を必須とする\n- 通知トピックへの通信を暗号化する", None),  # <br>, \\-
        (workload, "- 専用線による閉域接続", None),
        (user, "- アプリケーションとの通信は利用者が TLS で暗号化する", None)]
    assert _fields(mapping.get("実26")) == [(common, "- パスワードの長さと複雑さを強制 | 90 日で失効", None),  # \\|
                                            (user, "- パスワードの定期的な見直し", None)]
    assert mapping.get("実8").lines == (11,)  # its line in the file
    assert all(r.document == "sample" for r in mapping.records)


def test_rows_saying_the_same_as_another_are_linked_not_copied(mapping):
    common, workload, _ = MAPPING_MD_LABELS
    r7 = mapping.get("実7")
    assert _fields(r7) == [(common, "対応策は実 4 と同じ", "実4"),
                           (workload, "- 外部ネットワークを経由する伝送がないため対象外", None)]
    assert r7.same_as is None  # one field links, the other says something of its own
    assert mapping.text_of(r7, common) == mapping.get("実4").field(common).text  # followed when asked
    assert mapping.text_of(r7, workload) == "- 外部ネットワークを経由する伝送がないため対象外"
    # a link followed by text of its own keeps that text; a link to an ID the table lacks is said
    assert mapping.get("実18").fields[2].same_as == "実17"
    assert mapping.text_of(mapping.get("実18"), MAPPING_MD_LABELS[2]) == \
        "対応策は実 17 と同じ\n- 不正取引の検知はアプリケーションで実装する"
    assert [str(w) for w in mapping.warnings if w.code == "document_link_missing"] == [
        "1 link names a criterion the document does not have: 実18 → 実17"]


def test_the_edition_a_table_names_is_taken_and_said(mapping):
    assert mapping.edition == "9"
    assert str(mapping.warnings[-1]) == ("the edition was taken from the file's own words: 第9版 (give --edition "
                                         "if it answers another)")
    assert "document_ids_not_in_edition" not in _codes(mapping)  # every ID it cites is a 9th-edition criterion


# ---------------------------------------------------------------- a workbook with merged header cells


@pytest.fixture(scope="module")
def workbook(editions):
    return read_document(merged_xlsx(), "対応表.xlsx", "wb", editions=editions)


def test_an_xlsx_with_merged_header_cells_reads_into_exact_fields(workbook):
    assert workbook.labels == MERGED_XLSX_LABELS  # 対策内容 merged over its two sub-headers; the title row left out
    common, workload, user = MERGED_XLSX_LABELS
    assert workbook.ids == ("実1", "実14", "実57", "実58", "実7", "実26")  # the hidden sheet's 実99 is not read
    assert _fields(workbook.get("実14")) == [  # its ID merged down over the row that continues it
        (common, "不正侵入を検知する\nネットワークの通信を監視する", None), (workload, "WAF を適用する", None),
        (user, "検知結果を毎日確認する", None)]
    assert workbook.get("実14").lines == (5, 6)
    assert _fields(workbook.get("実26")) == [  # continued on the second sheet, joined in order
        (common, "パスワードポリシーを強制する\n多要素認証と組み合わせる", None), (user, "パスワードを定期的に見直す", None)]


def test_a_cell_naming_two_ids_gives_the_second_a_link_and_ditto_links_the_row_above(workbook):
    common, workload, user = MERGED_XLSX_LABELS
    assert workbook.get("実58").same_as == "実57"
    assert [f.text for f in workbook.get("実58").fields] == ["", "", ""]  # not a copy
    assert workbook.text_of(workbook.get("実58"), user) == "ログの保存期間を定める"
    r7 = workbook.get("実7")
    assert _fields(r7) == [(common, "実1と同様", "実1"), (workload, "同上", "実57")]
    assert workbook.text_of(r7, common) == "認証基盤で利用者を保護する"
    assert workbook.text_of(r7, workload) == "ログ収集を有効化する"


def test_what_reading_the_workbook_found_is_said(workbook):
    said = [str(w) for w in workbook.warnings]
    assert said == ["1 criterion appears on rows apart, joined in order: 実26 (10, 4)",
                    "1 row without an ID was skipped as a heading or note: sheet '対応表' row 7",
                    "sheet '表紙' has no column of criterion IDs, so it was not read",
                    "the edition was taken from the file's own words: 第9版 (give --edition if it answers another)"]
    assert workbook.warnings[1].text("web") == "基準番号のない行を見出し・注記として読み飛ばしました（1 行）: シート「対応表」の 7 行目"


def test_fields_map_columns_to_the_bundled_roles(editions):
    fields = parse_fields(["対策内容 / 共通統制環境 = aws_status", "利用者が追加で実施すべき対策：お客様が統制すべき内容"])
    assert fields == {"対策内容 / 共通統制環境": "aws_status", "利用者が追加で実施すべき対策": "customer_controls"}
    doc = read_document(merged_xlsx(), "対応表.xlsx", "wb", fields=fields, editions=editions)
    assert doc.roles() == {"対策内容 / 共通統制環境": "aws_status", "利用者が追加で実施すべき対策": "customer_controls"}
    assert doc.get("実14").by_role("customer_controls").text == "検知結果を毎日確認する"
    by_letter = read_document(merged_xlsx(), "対応表.xlsx", "wb", fields={"C": "references", "ワークロード": "references"})
    assert by_letter.roles() == {"対策内容 / ワークロード": "references"}  # a letter, or one row of a two-row header


# ---------------------------------------------------------------- CSV, JSONL, editions


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932", "utf-16"])
def test_a_csv_reads_the_same_in_every_encoding_check_sheets_come_in(encoding):
    doc = read_document(POLICY_CSV.encode(encoding), "規程対応.csv", "policy", edition="9")
    assert doc.labels == ("規程名", "条項", "要旨")  # the title row above the header is not a header
    assert _fields(doc.get("実1")) == [("規程名", "情報セキュリティ規程", None), ("条項", "第5条", None),
                                      ("要旨", "パスワードは12文字以上とし、使い回しを禁止する。", None)]


def test_a_table_citing_ids_its_edition_lacks_names_them_and_maps_nothing(editions):
    doc = read_document(POLICY_CSV.encode("cp932"), "規程対応.csv", "policy", edition="第9版", editions=editions)
    assert doc.edition == "9"
    assert doc.ids == ("実1", "実150", "実14-1", "実26")  # 実14-1 stays 実14-1: never 実14, never guessed
    assert [str(w) for w in doc.warnings] == [
        "2 IDs it cites are not criteria of 第9版: 実14-1 (5), 実150 (4) (as known from aws-fisc; IDs are never "
        "mapped across editions)"]
    assert doc.warnings[0].text("web") == ("第9版 にない基準番号を挙げています（2 件）: 実14-1 (5)、実150 (4)"
                                           "（aws-fisc による。版をまたいだ読み替えはしていません）")


def test_an_edition_kijun_does_not_know_is_said_not_guessed(doc, editions):
    policy = read_document(POLICY_CSV.encode("utf-8"), "規程対応.csv", "policy", edition="13", editions=editions)
    assert [str(w) for w in policy.warnings] == [
        "kijun does not know which criteria 第13版 has (it knows 第9版), so the IDs were not checked; add a title "
        "list for 第13版 (--kind titles)"]
    listed = read_document(TITLES_13.encode("utf-8"), "第13版タイトル.txt", "titles13", editions=editions)
    assert listed.kind == "titles" and listed.edition == "13"
    assert titles(listed) == {"実14": "不正アクセスの防止", "実14-1": "脆弱性の管理", "実103-1": "クラウドサービスの利用",
                              "監3": "内部監査の実施"}
    assert str(listed.warnings[-1]) == "this title list defines which criteria 第13版 has (4 IDs)"
    known = Editions.of(doc, "aws-fisc", {"titles13": (listed.edition, listed.ids)})
    again = read_document(POLICY_CSV.encode("utf-8"), "規程対応.csv", "policy", edition="13", editions=known)
    assert [str(w) for w in again.warnings] == [
        "3 IDs it cites are not criteria of 第13版: 実1 (3), 実26 (6), 実150 (4) (as known from titles13; IDs are "
        "never mapped across editions)"]


def test_a_title_list_for_the_bundled_edition_is_checked_against_it_not_added_to_it(doc, editions):
    text = "実26 パスワードの管理\n実149 新しい基準\n"
    listed = read_document(text.encode("utf-8"), "titles9.txt", "t9", edition="9", editions=editions)
    assert [w.code for w in listed.warnings] == ["document_ids_not_in_edition"]
    assert "実149 (2)" in str(listed.warnings[0])
    known = Editions.of(doc, "aws-fisc", {"t9": ("9", listed.ids)})
    assert "実149" not in known.ids("9").ids


def test_a_title_list_as_a_table_gives_its_first_text_column_the_title_role():
    text = "No.,基準番号,備考,タイトル\n1,実26,,パスワードの管理\n2,監3,年1回,内部監査\n"
    doc = read_document(text.encode("utf-8"), "titles.csv", "t", kind="titles", edition="13")
    assert doc.roles() == {"タイトル": "title"} and titles(doc) == {"実26": "パスワードの管理", "監3": "内部監査"}
    plain = read_document("No.,基準番号,内容\n1,実26,パスワードの管理\n".encode(), "t.csv", "t", kind="titles")
    assert plain.roles() == {"内容": "title"}  # not the numbers of 'No.'


def test_a_txt_is_told_apart_as_an_extraction_a_title_list_or_a_table():
    assert read_document(extraction_with_a_sub_row().encode(), "r.txt", "r").kind == "text"
    assert read_document("実26\tパスワードの管理\n監3\t内部監査\n".encode(), "t.txt", "t").kind == "titles"
    tsv = read_document("基準番号\t対策\t備考\n実26\tMFA を必須化\t年1回見直す\n実27\t本人確認\t\n".encode(), "m.txt", "m")
    assert tsv.kind == "table" and tsv.labels == ("対策", "備考") and tsv.get("実26").field("備考").text == "年1回見直す"


def test_jsonl_one_object_per_criterion():
    lines = [{"id": "実 26", "aws_status": "IAM でパスワードポリシーを設定できる。", "参照": ["PCI DSS 8.2.3", "NIST"]},
             {"id": "実２７", "same_as": "実26"},
             {"id": "実26", "aws_status": "MFA を設定できる。"}]
    doc = read_document("\n".join(json.dumps(x, ensure_ascii=False) for x in lines).encode("utf-8"), "v.jsonl", "v",
                        fields={"参照": "references"})
    assert doc.labels == ("aws_status", "参照") and doc.roles() == {"aws_status": "aws_status", "参照": "references"}
    assert _fields(doc.get("実26")) == [("aws_status", "IAM でパスワードポリシーを設定できる。\nMFA を設定できる。", None),
                                       ("参照", "PCI DSS 8.2.3\nNIST", None)]
    assert doc.get("実27").same_as == "実26"
    assert doc.text_of(doc.get("実27"), "参照") == "PCI DSS 8.2.3\nNIST"


def test_the_bundled_extraction_read_as_a_text_document_is_the_bundled_records(doc, editions):
    from corpus.records import criterion_texts
    from corpus.parser import SOURCE

    again = read_document(SOURCE.read_bytes(), "aws.txt", "aws-fisc", editions=editions)
    assert again.kind == "text" and again.edition == "9"  # from its change history: 「第9版令和3年12月版の反映」
    assert [w.code for w in again.warnings] == ["document_edition_from_file"]
    assert again.records == criterion_texts(doc, "aws-fisc")


def test_a_text_extraction_goes_through_the_bundled_parser(doc):
    text = extraction_with_a_sub_row()
    ext = read_document(text.encode("utf-8"), "response-13.txt", "r13", edition="13")
    assert ext.kind == "text" and ext.labels == tuple(ROLE_HEADERS.values())
    assert ext.ids[-2:] == ("実26", "実26-1")  # a sub-numbered row of a newer edition
    ours = {f.role: f.text for f in ext.get("実26-1").fields}
    assert ours == {"aws_status": doc.get("実26").aws_status, "customer_controls": doc.get("実26").customer_controls,
                    "references": "PCI DSS 8.2.3\nPCI DSS 8.2.4"}


# ---------------------------------------------------------------- IDs and editions as people write them


@pytest.mark.parametrize("cell, ids", [
    ("実 1", ["実1"]), ("実１４－１", ["実14-1"]), ("実57・実58", ["実57", "実58"]), ("実26（新設）", ["実26"]),
    ("監3", ["監3"]), ("対応策は実 4 と同じ", []), ("【技術的安全対策】", []), ("", []),
])
def test_id_cells(cell, ids):
    assert cell_ids(cell) == ids


def test_editions_as_people_write_them(doc):
    assert [normalize_edition(e) for e in ("第9版", "９", "9th edition", " 第 13 版 ", "", None)] == \
        ["9", "9", "9", "13", None, None]
    assert editions_in_text("この表は FISC 安全対策基準（第 10 版）の実務基準に対する…。2024年4月 第2版") == ["10"]
    about = bundled_edition(doc)  # what the bundled document's change history says of itself
    assert (about.edition, about.date, about.version) == ("9", "2022年5月", "第9版令和3年12月版の反映、一部情報の更新")


def test_cited_ids_include_links_and_ids_in_the_text(mapping):
    assert cited(mapping) == {"実1": 8, "実4": 9, "実7": 10, "実8": 11, "実18": 12, "実26": 13, "実17": 12}


# ---------------------------------------------------------------- bad input: one line naming the row


BAD_ROW_MD = MAPPING_MD.replace("| 実 8 |", "| 実八 |")
BAD_ROW_CSV = POLICY_CSV.replace("実150,", "合計,")


@pytest.mark.parametrize("data, name, kw, message", [
    (BAD_ROW_MD.encode(), "m.md", {}, r"^m\.md: line 11: '実八' in the ID column is not a criterion ID \(write IDs as "
                                      r"実26, 監3 or 実14-1\); nothing from this file was added$"),
    (BAD_ROW_CSV.encode(), "p.csv", {}, r"^p\.csv: row 4: '合計' in the ID column is not a criterion ID"),
    (POLICY_CSV.replace("第5条", "x" * 40_000).encode(), "p.csv", {},
     r"^p\.csv: row 3 has a cell of 40,000 characters; the limit is 32,767"),
    (b'{"id": "\xe5\xae\x9f26", "a": "x"}\n{"id": \n', "v.jsonl", {}, r"^v\.jsonl: line 2: not one JSON object"),
    (b'{"id": "\xe5\xae\x9f26", "a": "x"}\n\n{"text": "x"}\n', "v.jsonl", {}, r'^v\.jsonl: line 3: no "id" key'),
    ('{"id": "実26", "a": [{"b": 1}]}'.encode(), "v.jsonl", {}, r"^v\.jsonl: line 1: 'a' is neither text nor"),
    ('{"id": "26", "a": "x"}'.encode(), "v.jsonl", {}, r"^v\.jsonl: line 1: '26' in the ID column is not"),
    (TITLES_13.replace("監3\t", "内部監査 ").encode(), "t.txt", {"kind": "titles"},
     r"^t\.txt: line 6: '内部監査 内部監査の実施' does not start with a criterion ID"),
    (TITLES_13.replace("実103-1", "実14").encode(), "t.txt", {"kind": "titles"},
     r"^t\.txt: line 5: 実14 is listed twice \(first on line 3\); keep one$"),
    ("実26\n実27 本人確認\n実28 x\n".encode(), "t.txt", {"kind": "titles"}, r"^t\.txt: line 1: 実26 has no title"),
    ("基準,内容\nA,x\n".encode(), "x.csv", {}, r"^x\.csv: no column of criterion IDs .*--id-column"),
    (POLICY_CSV.encode(), "p.csv", {"id_column": "番号"}, r"^p\.csv: no column '番号' holding criterion IDs"),
    (POLICY_CSV.encode(), "p.csv", {"fields": {"備考": "aws_status"}},
     r"^p\.csv: no column '備考' to map with --fields .*; the columns are 「規程名」, 「条項」, 「要旨」$"),
    (POLICY_CSV.encode(), "p.csv", {"fields": {"規程名": "aws_status", "要旨": "aws_status"}},
     r"^two columns, 「規程名」, 「要旨」, are mapped to aws_status; map only one$"),
    (b"%PDF-1.7 ...", "fisc.pdf", {}, r"^fisc\.pdf: PDF files are not read"),
    (hostile.questions_xlsx(3), "old.xls", {}, r"^old\.xls: old \.xls files are not supported"),
    (b"x", "table.docx", {}, r"^table\.docx: unsupported file type '\.docx'"),
    (b"", "empty.csv", {}, r"^empty\.csv: the file is empty"),
    (b"| a | b |\n| --- | --- |\n| x | y |\n", "t.md", {}, r"^t\.md: no pipe table with a column of criterion IDs"),
    (MAPPING_MD.encode(), "m.md", {"kind": "text"}, r"^m\.md: a text extraction is a \.txt file"),
])
def test_bad_input_is_refused_in_one_line_naming_the_row(data, name, kw, message):
    with pytest.raises(DocumentError, match=message) as e:
        read_document(data, name, "x", **kw)
    assert "\n" not in str(e.value)


def test_a_bad_row_is_named_in_japanese_on_the_web():
    with pytest.raises(DocumentError) as e:
        read_document(BAD_ROW_MD.encode(), "m.md", "x")
    assert e.value.condition == "document_not_an_id"
    assert e.value.text("web") == ("m.md の 11 行目: 基準番号の列の「実八」は基準番号ではありません（実26・監3・実14-1 の"
                                   "ように書いてください）。このファイルからは何も登録していません。")


def test_a_bad_row_in_a_workbook_names_its_sheet_and_row():
    from openpyxl import load_workbook
    import io

    wb = load_workbook(io.BytesIO(merged_xlsx()))
    wb["対応表"]["A10"] = "実二十六"
    buf = io.BytesIO()
    wb.save(buf)
    with pytest.raises(DocumentError, match=r"^対応表\.xlsx: sheet '対応表' row 10: '実二十六' in the ID column"):
        read_document(buf.getvalue(), "対応表.xlsx", "x")


def test_a_text_extraction_with_a_row_twice_or_an_empty_row_is_refused_naming_the_line():
    text = extraction_with_a_sub_row()
    twice = text.replace("実26-1 ", "実26 ", 1)
    with pytest.raises(DocumentError, match=r"^x\.txt: line 546: 実26 appears twice \(first on line 516\)$"):
        read_document(twice.encode(), "x.txt", "x")
    lines = text.splitlines(keepends=True)
    with pytest.raises(DocumentError, match=r"^x\.txt: line 546: a row header with no text after it"):
        read_document("".join(lines[:545] + ["実99 ◯ ◯\n", "\n"] + lines[545:]).encode(), "x.txt", "x")


def test_limits_bound_the_work(monkeypatch):
    with pytest.raises(DocumentError, match=r"^big\.csv: the file is 5\.0 MB; the limit is 5 MB"):
        read_document(b"x" * (5 * 1024 * 1024 + 1), "big.csv", "x")
    with pytest.raises(DocumentError, match=r"^bomb\.xlsx: its parts inflate to 40 MB; the limit is 32 MB"):
        read_document(hostile.zip_bomb_xlsx(40 * 1024 * 1024), "bomb.xlsx", "x")
    monkeypatch.setattr(grid, "MAX_ROWS", 4)
    with pytest.raises(DocumentError, match=r"^p\.csv: more than 4 rows; split the document"):
        read_document(POLICY_CSV.encode(), "p.csv", "x")
    with pytest.raises(DocumentError, match=r"^w\.csv: row 1 has 20,000 columns; a sheet has at most 16,384"):
        read_document(hostile.wide_csv(20_000), "w.csv", "x")
