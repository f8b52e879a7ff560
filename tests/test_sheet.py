"""search.questionnaire's reader and writer on check sheets modelled on published ones (tests/checksheets.py builds them).

Reading: the detected sheet, header row, question column, questions and skipped
rows of each layout; the overrides; each bad input's named error and message.
Writing: the user's workbook comes back with every original cell, merged range,
sheet, validation, width, comment and formula as it was, and the answers in new
columns on the question rows only; CSV lines stay byte-identical except the
header and question lines, which gain cells at their end.
"""
from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import os
import zipfile
from pathlib import Path

import pytest

import checksheets as cs
from search.questionnaire import checksheet as S
from search.questionnaire import reader, table, writer

COLUMNS = ["判定", "該当基準", "確信度", "回答案", "引用(AWSの対応状況)", "引用(お客様が統制すべき内容)", "他の候補"]


class Files:
    """Each fixture file built once per test module, on first use."""

    builders = {
        "cloud.xlsx": cs.cloud_checksheet, "outsourcing.xlsx": cs.outsourcing_checklist,
        "ismap.xlsx": cs.ismap_controls, "caiq.xlsx": cs.caiq_sheet, "cp932.csv": cs.cp932_csv,
        "bom.tsv": cs.utf8_bom_tsv, "plain.csv": cs.plain_csv, "macro.xlsm": cs.macro_workbook,
        "drawings.xlsx": cs.drawings_workbook, "pivot.xlsx": cs.pivot_and_link_workbook,
        "huge.xlsx": cs.huge_sheet, "noquestion.xlsx": cs.no_question_column,
    }

    @functools.cache
    def __getitem__(self, name: str) -> bytes:
        return self.builders[name]()


@pytest.fixture(scope="module")
def files() -> Files:
    return Files()


def _save(tmp_path: Path, name: str, data: bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _answers(q: S.Questionnaire, **extra) -> dict:
    return {(r.sheet, r.row): {"判定": f"該当 {r.row}", "確信度": 0.9, "回答案": f"回答 {r.row}", **extra}
            for r in q.questions}


def _load(data: bytes | Path, **kw):
    from openpyxl import load_workbook

    return load_workbook(io.BytesIO(data) if isinstance(data, bytes) else data, **kw)


# ----------------------------------------------------------------- reading: layouts


@pytest.mark.parametrize("name, key", [("cloud.xlsx", "cloud"), ("outsourcing.xlsx", "outsourcing"),
                                       ("ismap.xlsx", "ismap"), ("caiq.xlsx", "caiq")])
def test_each_workbook_layout_is_found(files, name, key):
    want = cs.EXPECTED[key]
    q = reader.read_questionnaire(files[name], name)
    assert len(q.tables) == 1
    t = q.tables[0]
    assert (t.sheet, t.header_row, t.question_column, t.question_column_letter, t.question_header,
            len(t.questions), t.last_column) == (want["sheet"], want["header_row"], want["column"], want["letter"],
                                                 want["header"], want["questions"], want["last_column"])
    assert all(r.sheet == want["sheet"] for r in t.questions)


def test_cloud_checksheet_rows_and_sheets(files):
    q = reader.read_questionnaire(files["cloud.xlsx"], "cloud.xlsx")
    t = q.tables[0]
    assert q.format == "xlsx" and q.encoding is None
    assert t.headers == tuple(cs.CLOUD_HEADERS)
    assert [r.row for r in t.questions] == [6, 7, 9, 10, 11, 13, 14, 16, 17]
    assert t.questions[2].text == "パスワードの最低文字数や複雑さ、定期的な変更などのパスワードポリシーを定めていますか。"
    assert t.questions[-1].text == "社員食堂のメニューを公開していますか。"
    assert [(s.row, s.reason) for s in t.skipped] == [
        (5, S.REASON_HEADING), (8, S.REASON_HEADING), (12, S.REASON_HEADING), (15, S.REASON_HEADING),
        (21, S.REASON_NOTE)]
    assert t.skipped[0].text == "【物理的セキュリティ】"
    assert [(i.name, str(i.reason).split(" (")[0]) for i in q.ignored_sheets] == [
        ("表紙", "cover, history, example or instructions sheet"),
        ("記入例", "cover, history, example or instructions sheet"),
        ("改訂履歴", "cover, history, example or instructions sheet")]
    assert q.questions == t.questions and q.warnings == ()


def test_outsourcing_checklist_formulas_sections_and_notes(files):
    q = reader.read_questionnaire(files["outsourcing.xlsx"], "outsourcing.xlsx")
    t = q.tables[0]
    assert [r.row for r in t.questions] == [8, 9, 10, 12, 13, 16, 17]
    # the formula question is read through the value Excel computed for it
    assert t.questions[3].text == "利用者IDの発行・削除の手続きを定め、定期的に棚卸ししていますか。"
    assert [(s.row, s.reason) for s in t.skipped] == [
        (7, S.REASON_HEADING), (11, S.REASON_HEADING), (14, S.REASON_FORMULA), (15, S.REASON_HEADING),
        (19, S.REASON_NOTE), (20, S.REASON_NOTE)]
    assert t.skipped[1].text == "2. アクセス管理"
    assert [(s.name, str(s.reason)) for s in q.ignored_sheets] == [("選択肢", "hidden sheet (name it with --sheet NAME to "
                                                                         "read it)")]
    assert q.ignored_sheets[0].reason.text("web") == "非表示のシート（「シート」欄で指定すれば読みます）"


def test_ismap_list_prefers_the_control_over_its_number_and_detail(files):
    t = reader.read_questionnaire(files["ismap.xlsx"], "ismap.xlsx").tables[0]
    assert t.headers == ("管理策番号", "管理策", "詳細", "実施状況", "備考")
    assert {s.reason for s in t.skipped} == {S.REASON_HEADING} and len(t.skipped) == len(cs.ISMAP_SECTIONS)
    assert t.questions[0].text == cs.ISMAP_SECTIONS[0][1][0]


def test_caiq_question_column_is_not_question_id(files):
    q = reader.read_questionnaire(files["caiq.xlsx"], "caiq.xlsx")
    assert q.tables[0].questions[3].text == "Is cloud data periodically backed up?"
    assert [i.name for i in q.ignored_sheets] == ["Instructions"]


def test_cp932_csv_with_title_lines(files):
    q = reader.read_questionnaire(files["cp932.csv"], "cp932.csv")
    t = q.tables[0]
    assert (q.format, q.encoding, q.delimiter, q.line_ending) == ("csv", "cp932", ",", "\r\n")
    assert (t.sheet, t.header_row, t.question_column, t.question_header, t.last_column) == (None, 3, 3, "質問", 5)
    assert [(r.row, r.text) for r in t.questions] == [(4, cs.CSV_QUESTIONS[0]), (5, cs.CSV_QUESTIONS[1]),
                                                      (7, cs.CSV_QUESTIONS[2])]
    assert [(s.row, s.reason, s.text) for s in t.skipped] == [(6, S.REASON_HEADING, "【技術的対策】")]


def test_utf8_bom_tsv_and_plain_csv(files):
    q = reader.read_questionnaire(files["bom.tsv"], "bom.tsv")
    assert (q.format, q.encoding, q.delimiter, q.line_ending) == ("tsv", "utf-8-sig", "\t", "\n")
    assert (q.tables[0].header_row, q.tables[0].question_header, len(q.questions)) == (1, "質問内容", 3)
    q = reader.read_questionnaire(files["plain.csv"], "plain.csv")
    assert (q.format, q.encoding, q.delimiter) == ("csv", "utf-8", ",")
    assert (q.tables[0].header_row, q.tables[0].question_column, len(q.questions)) == (1, 1, 3)


def test_label_column_beside_the_question_is_not_taken():
    q = reader.read_questionnaire(cs.small_business_csv(), "checklist.csv")
    t = q.tables[0]
    assert (t.header_row, t.question_column, t.question_header) == (1, 3, "内容")
    assert [r.row for r in t.questions] == [3, 4, 6]
    assert [(s.row, s.reason) for s in t.skipped] == [(2, S.REASON_HEADING), (5, S.REASON_HEADING)]
    q = reader.read_questionnaire(cs.service_level_csv(), "sla.csv")
    t = q.tables[0]
    assert (q.encoding, t.header_row, t.question_header, [r.row for r in t.questions]) == \
        ("cp932", 5, "規定内容", [7, 8, 9])
    assert [(s.row, s.reason, s.text) for s in t.skipped] == [(6, S.REASON_HEADING, "アプリケーション運用")]


def test_every_sheet_with_questions_is_answered(tmp_path):
    data = cs.two_sheet_workbook()
    q = reader.read_questionnaire(data, "two.xlsx")
    assert [(t.sheet, len(t.questions)) for t in q.tables] == [("組織的対策", 3), ("技術的対策", 2)]
    assert [(r.sheet, r.row) for r in q.questions] == [("組織的対策", 3), ("組織的対策", 4), ("組織的対策", 5),
                                                       ("技術的対策", 3), ("技術的対策", 4)]
    out = tmp_path / "out.xlsx"
    report = writer.write_answers(data, "two.xlsx", q, _answers(q), ["判定"], out)
    assert [(p.sheet, p.letter) for p in report.placements] == [("組織的対策", "E"), ("技術的対策", "E")]
    wb = _load(out)
    assert [wb[s]["E4"].value for s in wb.sheetnames] == ["該当 4", "該当 4"]
    assert_preserved(data, out, {"組織的対策": range(5, 6), "技術的対策": range(5, 6)})


def test_tab_separated_txt_in_utf16_as_excel_saves_unicode_text(files):
    data = files["bom.tsv"].decode("utf-8-sig").encode("utf-16")
    q = reader.read_questionnaire(data, "questions.txt")
    assert (q.format, q.encoding, q.delimiter, len(q.questions)) == ("tsv", "utf-16", "\t", 3)


def test_unnamed_question_column_is_taken_from_its_sentences_with_a_warning():
    data = "No.,本文,回答\n1,アクセスログを定期的に確認していますか。,\n2,バックアップを取得していますか。,\n".encode()
    q = reader.read_questionnaire(data, "body.csv")
    assert (q.tables[0].question_column, len(q.questions)) == (2, 2)
    assert tuple(map(str, q.warnings)) == (
        "body.csv: the question column was taken to be column B ('本文') because it holds the long sentences; if that is "
        "wrong, name it with --column (a header name, a number or a letter such as C)",)
    assert q.warnings[0].text("web") == ("body.csv: 長い文が並んでいるため、B 列「本文」を質問の列としました。違う場合は"
                                         "「質問の列」欄（見出し名・列番号・C のような列記号）で指定してください。")


def test_questions_are_gathered_once():
    q = reader.read_questionnaire(cs.two_sheet_workbook(), "two.xlsx")
    assert q.questions is q.questions  # the answer page reads it once per row
    assert q.questions == tuple(r for t in q.tables for r in t.questions)


def test_preview_is_json(files):
    d = reader.read_questionnaire(files["outsourcing.xlsx"], "outsourcing.xlsx").to_dict()
    again = json.loads(json.dumps(d, ensure_ascii=False))
    assert again["question_count"] == 7
    assert again["tables"][0]["question_column_letter"] == "D"
    assert again["tables"][0]["skipped"][2] == {"sheet": "チェックリスト", "row": 14, "reason": S.REASON_FORMULA,
                                               "text": '="再委託先"&"に対しても同等のアクセス管理を求めていますか。"'}


def test_reads_from_a_path(files, tmp_path):
    p = _save(tmp_path, "cloud.xlsx", files["cloud.xlsx"])
    assert len(reader.read_questionnaire(p, p.name).questions) == 9


def test_import_does_not_load_openpyxl():
    import subprocess
    import sys

    code = "import sys, search.questionnaire.reader, search.questionnaire.writer; print('openpyxl' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).parent.parent)
    assert out.stdout.strip() == "False"


# ----------------------------------------------------------------- reading: overrides


def test_sheet_override_reads_a_sheet_that_is_otherwise_ignored(files):
    q = reader.read_questionnaire(files["cloud.xlsx"], "cloud.xlsx", sheet="記入例")
    assert [(t.sheet, t.header_row, [r.row for r in t.questions]) for t in q.tables] == [("記入例", 1, [2])]
    assert q.ignored_sheets == ()
    q = reader.read_questionnaire(files["caiq.xlsx"], "caiq.xlsx", sheet="caiq")  # case and width folded
    assert q.tables[0].sheet == "CAIQ"


def test_hidden_sheet_is_read_only_when_named(files, tmp_path):
    wb = _load(files["cloud.xlsx"])
    wb["チェックシート"].sheet_state = "hidden"
    wb.active = 0
    buf = io.BytesIO()
    wb.save(buf)
    with pytest.raises(S.NoQuestionTable) as e:
        reader.read_questionnaire(buf.getvalue(), "hidden.xlsx")
    assert "sheet 'チェックシート': hidden sheet" in str(e.value) and "--sheet" in str(e.value)
    q = reader.read_questionnaire(buf.getvalue(), "hidden.xlsx", sheet="チェックシート")
    assert len(q.questions) == 9


@pytest.mark.parametrize("column", ["確認項目", 3, "3", "C", "c"])
def test_column_override_by_name_number_or_letter(files, column):
    t = reader.read_questionnaire(files["cloud.xlsx"], "cloud.xlsx", column=column).tables[0]
    assert (t.header_row, t.question_column, len(t.questions)) == (4, 3, 9)


def test_column_override_can_pick_a_column_detection_never_would(files):
    t = reader.read_questionnaire(files["cloud.xlsx"], "cloud.xlsx", column="補足説明").tables[0]
    assert (t.question_column, [(r.row, r.text) for r in t.questions]) == (5, [(7, "入退室記録は3年間保存")])


def test_header_row_override(files):
    t = reader.read_questionnaire(files["cloud.xlsx"], "cloud.xlsx", header_row=4, column="C").tables[0]
    assert (t.header_row, len(t.questions)) == (4, 9)
    with pytest.raises(S.NoQuestionTable) as e:
        reader.read_questionnaire(files["cloud.xlsx"], "cloud.xlsx", header_row=2)
    assert "header row 2 has 「回答者：」, 「記入日：」, 「回答数：」" in str(e.value)
    assert "--column" in str(e.value)
    with pytest.raises(S.NoQuestionTable, match="header row 99 is outside it; give a row within it with --header-row N"):
        reader.read_questionnaire(files["cloud.xlsx"], "cloud.xlsx", header_row=99)


def test_override_that_finds_no_questions_says_so(files):
    with pytest.raises(S.NoQuestionTable) as e:
        reader.read_questionnaire(files["cloud.xlsx"], "cloud.xlsx", column="Z")
    assert "column Z has no questions below header row 4" in str(e.value)  # a blank header is not quoted
    assert "Z 列の見出し行 4 より下に質問がありません" in e.value.text("web") and "「」" not in e.value.text("web")


# ----------------------------------------------------------------- reading: bad input


def test_unknown_sheet_lists_the_sheets(files):
    with pytest.raises(S.UnknownSheet) as e:
        reader.read_questionnaire(files["cloud.xlsx"], "cloud.xlsx", sheet="回答")
    assert str(e.value) == ("cloud.xlsx: there is no sheet named '回答'; the sheets are 「表紙」, 「チェックシート」, "
                            "「記入例」, 「改訂履歴」. Give one of these with --sheet NAME.")
    assert e.value.text("web") == ("cloud.xlsx に「回答」という名前のシートはありません。シートは 「表紙」、「チェックシート」、"
                                   "「記入例」、「改訂履歴」 です。「シート」欄でこのどれかを指定してください。")


def test_unknown_column_lists_the_headers(files):
    with pytest.raises(S.UnknownColumn) as e:
        reader.read_questionnaire(files["cloud.xlsx"], "cloud.xlsx", column="設問")
    assert "no column '設問'; the header row 4 has 「No.」, 「分類」, 「確認項目」" in str(e.value)
    assert "--column" in str(e.value)


def test_no_question_column(files):
    with pytest.raises(S.NoQuestionTable) as e:
        reader.read_questionnaire(files["noquestion.xlsx"], "noquestion.xlsx")
    assert str(e.value) == ("noquestion.xlsx: sheet 'チェックシート': no question column found; the header row 4 has "
                            "「No.」, 「分類」, 「回答」, 「備考」. Name the question column with --column (a header name, "
                            "a number or a letter such as C).")


def test_no_header_row_and_no_questions():
    with pytest.raises(S.NoHeaderRow) as e:
        reader.read_questionnaire("東京,大阪\n名古屋,福岡\n".encode(), "list.csv")
    assert str(e.value) == ("list.csv: no header row found in the first 30 rows, and no column of "
                            "questions; give the header row with --header-row N")


PLAIN_LIST = ["パスワードを定期的に変更していますか。", "", "ログを1年以上保管していますか？",
              "Do you encrypt data at rest?"]


def test_a_plain_list_without_header_row_is_read_as_questions():
    q = reader.read_questionnaire("\r\n".join(PLAIN_LIST).encode("cp932", "replace"), "list.csv")
    t = q.tables[0]
    assert (t.header_row, t.has_header, t.question_column, t.question_header) == (0, False, 1, "")
    assert [(r.row, r.text) for r in t.questions] == [(1, PLAIN_LIST[0]), (3, PLAIN_LIST[2]), (4, PLAIN_LIST[3])]
    assert tuple(map(str, q.warnings)) == (
        "list.csv: no header row found, so every row with a sentence in column A was taken as a "
        "question; if the file has a header row, give it with --header-row N",)
    # a lone title above the list is its header
    q = reader.read_questionnaire(("質問\n" + "\n".join(PLAIN_LIST)).encode(), "list.csv")
    assert (q.tables[0].header_row, q.tables[0].question_header, len(q.questions), q.warnings) == (1, "質問", 3, ())


def test_a_plain_list_in_column_b_and_its_overrides():
    data = "\n".join(f"{n},{text}" for n, text in enumerate(PLAIN_LIST, start=1) if text).encode()
    t = reader.read_questionnaire(data, "list.csv").tables[0]
    assert (t.header_row, t.question_column, [r.row for r in t.questions]) == (0, 2, [1, 2, 3])
    assert reader.read_questionnaire(data, "list.csv", column="B").tables[0].question_column == 2
    with pytest.raises(S.NoHeaderRow):
        reader.read_questionnaire(data, "list.csv", column="質問")  # a header name needs a header row
    with pytest.raises(S.UnknownColumn, match="no header row to find it by name"):
        reader.read_questionnaire(data, "list.csv", column="0")


def test_a_plain_list_sheet_is_read_only_when_no_sheet_has_a_table(files):
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.title = "質問"
    for text in PLAIN_LIST:
        wb.active.append([text or None])
    q = reader.read_questionnaire(_save_wb(wb), "list.xlsx")
    assert [(t.sheet, t.header_row, len(t.questions)) for t in q.tables] == [("質問", 0, 3)]
    wb = _load(files["cloud.xlsx"])
    notes = wb.create_sheet("メモ", 1)
    for text in PLAIN_LIST:
        notes.append([text or None])
    q = reader.read_questionnaire(_save_wb(wb), "cloud.xlsx")
    assert [t.sheet for t in q.tables] == ["チェックシート"]
    assert [i.name for i in q.ignored_sheets] == ["表紙", "メモ", "記入例", "改訂履歴"]
    assert "no header row found" in str(q.ignored_sheets[1].reason)


def test_writing_a_plain_list(tmp_path):
    from openpyxl import Workbook

    data = "\n".join(PLAIN_LIST).encode()
    q = reader.read_questionnaire(data, "list.csv")
    out = tmp_path / "out.csv"
    report = writer.write_answers(data, "list.csv", q, _answers(q), ["判定", "回答案"], out)
    assert out.read_bytes().decode() == "\n".join([f"{PLAIN_LIST[0]},該当 1,回答 1", "",
                                                    f"{PLAIN_LIST[2]},該当 3,回答 3", f"{PLAIN_LIST[3]},該当 4,回答 4"])
    assert tuple(map(str, report.warnings)) == (
        "list.csv: the sheet has no header row, so the answer columns have no titles: B 判定, C 回答案",)
    with pytest.raises(S.UnknownColumn, match="has no header row, so there is no column '備考' to write into"):
        writer.write_answers(data, "list.csv", q, _answers(q), ["判定", "回答案"], out, into={"回答案": "備考"})

    wb = Workbook()
    for text in PLAIN_LIST:
        wb.active.append([text or None])
    src = _save_wb(wb)
    q = reader.read_questionnaire(src, "list.xlsx")
    out = tmp_path / "out.xlsx"
    report = writer.write_answers(src, "list.xlsx", q, _answers(q), ["判定"], out)
    assert tuple(map(str, report.warnings)) == (
        "list.xlsx: sheet 'Sheet': the sheet has no header row, so the answer columns have no titles: B 判定",)
    assert_preserved(src, out, {"Sheet": range(2, 3)})
    assert [c.value for c in _load(out)["Sheet"]["B"]] == ["該当 1", None, "該当 3", "該当 4"]


def _save_wb(wb) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_too_many_questions(files):
    with pytest.raises(S.TooManyQuestions) as e:
        reader.read_questionnaire(files["huge.xlsx"], "huge.xlsx")
    assert str(e.value) == ("huge.xlsx: 10,000 questions found; the limit is 2,000 — "
                            "split the sheet or pick one with --sheet NAME")


def test_password_protected_workbook():
    data = cs.encrypted_xlsx()
    assert data.startswith(b"\xd0\xcf\x11\xe0")
    with pytest.raises(S.EncryptedWorkbook) as e:
        reader.read_questionnaire(data, "protected.xlsx")
    assert str(e.value) == ("protected.xlsx is password-protected; remove the password "
                            "(ファイル > 情報 > ブックの保護) and save it again")


@pytest.mark.parametrize("name", ["old.xls", "renamed.xlsx"])
def test_old_xls(name):
    with pytest.raises(S.UnsupportedFormat) as e:
        reader.read_questionnaire(cs.legacy_xls(), name)
    assert str(e.value) == f"{name}: old .xls files are not supported; open it in Excel and save as .xlsx"


@pytest.mark.parametrize("data, name, error, words", [
    (b"%PDF-1.7\n%\xe2\xe3\n", "checksheet.pdf", S.UnsupportedFormat, "PDF files are not supported"),
    (b"%PDF-1.7\n%\xe2\xe3\n", "checksheet.xlsx", S.UnsupportedFormat, "is a PDF, not an Excel workbook"),
    (cs.zip_not_workbook(), "archive.xlsx", S.UnreadableFile, "is a zip file but not an Excel workbook"),
    (cs.random_binary(), "random.csv", S.UnreadableFile, "not a text CSV file (it contains binary data)"),
    (b"No,\x81\x39\n", "broken.csv", S.UnreadableFile, "neither UTF-8 nor Shift_JIS (cp932)"),
    (b"plain text", "notes.docx", S.UnsupportedFormat, "unsupported file type '.docx'"),
    (b"", "empty.csv", S.UnreadableFile, "the file is empty"),
])
def test_bad_files(data, name, error, words):
    with pytest.raises(error) as e:
        reader.read_questionnaire(data, name)
    assert words in str(e.value)
    assert isinstance(e.value, S.SheetError) and isinstance(e.value, ValueError)


def test_damaged_workbook(files):
    with pytest.raises(S.UnreadableFile, match="is damaged"):
        reader.read_questionnaire(files["cloud.xlsx"][:3000], "cut.xlsx")


def test_workbook_renamed_to_csv(files):
    with pytest.raises(S.UnreadableFile, match=r"is an Excel workbook, not a text CSV; give it its real extension"):
        reader.read_questionnaire(files["cloud.xlsx"], "cloud.csv")


def test_file_too_large(tmp_path):
    big = "No,質問\n".encode() + b"x" * (S.MAX_FILE_BYTES + 1)
    with pytest.raises(S.FileTooLarge, match=r"the limit is 5 MB"):
        reader.read_questionnaire(big, "big.csv")
    with pytest.raises(S.FileTooLarge):
        reader.read_questionnaire(_save(tmp_path, "big.csv", big), "big.csv")


def test_missing_file(tmp_path):
    with pytest.raises(S.UnreadableFile, match="cannot read"):
        reader.read_questionnaire(tmp_path / "nope.xlsx", "nope.xlsx")


# ----------------------------------------------------------------- writing workbooks


def _cells(ws) -> dict:
    return {c.coordinate: c.value for row in ws.iter_rows() for c in row if c.value is not None}


def _validations(ws) -> list:
    return [(str(dv.sqref), dv.type, dv.formula1, dv.allow_blank, dv.showErrorMessage, dv.error)
            for dv in ws.data_validations.dataValidation]


def _formatting(ws) -> list:
    return [(str(cf.sqref), [(r.type, r.operator, r.formula) for r in cf.rules]) for cf in ws.conditional_formatting]


def assert_preserved(original: bytes, written: Path, new_columns: dict[str, range] | None = None) -> None:
    """Every original sheet, cell value, merged range, validation, width, height, comment, formula,
    freeze pane and print setting is in the written workbook; the only new cells are in `new_columns`."""
    a, b = _load(original), _load(written)
    assert b.sheetnames == a.sheetnames
    for wa in a.worksheets:
        wb_ = b[wa.title]
        assert wb_.sheet_state == wa.sheet_state
        before, after = _cells(wa), _cells(wb_)
        assert {k: after.get(k) for k in before} == before  # every original cell, formulas included
        new = set(after) - set(before)
        allowed = (new_columns or {}).get(wa.title, range(0))
        from openpyxl.utils.cell import coordinate_from_string, column_index_from_string
        assert all(column_index_from_string(coordinate_from_string(k)[0]) in allowed for k in new), sorted(new)
        assert sorted(map(str, wb_.merged_cells.ranges)) == sorted(map(str, wa.merged_cells.ranges))
        assert _validations(wb_) == _validations(wa)
        assert _formatting(wb_) == _formatting(wa)
        assert {k: d.width for k, d in wa.column_dimensions.items()} == \
            {k: wb_.column_dimensions[k].width for k in wa.column_dimensions}
        assert {k: d.height for k, d in wa.row_dimensions.items()} == \
            {k: wb_.row_dimensions[k].height for k in wa.row_dimensions}
        comments = lambda ws: {c.coordinate: (c.comment.text, c.comment.author)  # noqa: E731
                               for row in ws.iter_rows() for c in row if c.comment}
        assert comments(wb_) == comments(wa)
        assert (wb_.freeze_panes, wb_.print_title_rows, wb_.page_setup.orientation, wb_.page_setup.fitToWidth) == \
            (wa.freeze_panes, wa.print_title_rows, wa.page_setup.orientation, wa.page_setup.fitToWidth)


def test_write_into_the_users_workbook(files, tmp_path):
    src = _save(tmp_path, "cloud.xlsx", files["cloud.xlsx"])
    digest = _sha(src)
    q = reader.read_questionnaire(src, src.name)
    out = tmp_path / "cloud_回答.xlsx"
    report = writer.write_answers(src, src.name, q, _answers(q), COLUMNS, out)

    assert _sha(src) == digest
    assert [(p.sheet, p.header, p.letter, p.existing) for p in report.placements] == [
        ("チェックシート", name, letter, False) for name, letter in zip(COLUMNS, "GHIJKLM")]
    assert report.rows_written == 9 and report.warnings == ()
    assert_preserved(files["cloud.xlsx"], out, {"チェックシート": range(7, 14)})

    ws = _load(out)["チェックシート"]
    assert [ws.cell(4, c).value for c in range(7, 14)] == COLUMNS
    header, model = ws["G4"], ws["F4"]
    assert header.font.b and header.fill.fgColor.rgb == model.fill.fgColor.rgb
    assert header.border.left.style == model.border.left.style == "thin"
    question_rows = {r.row for r in q.questions}
    for r in range(1, ws.max_row + 1):
        values = [ws.cell(r, c).value for c in range(7, 14)]
        if r in question_rows:
            assert values == [f"該当 {r}", None, 0.9, f"回答 {r}", None, None, None]
            assert ws.cell(r, 7).alignment.wrap_text and ws.cell(r, 7).alignment.vertical == "top"
        elif r != 4:
            assert values == [None] * 7, r
    assert all(ws.column_dimensions[letter].width for letter in "GHIJKLM")
    assert ws["H6"].value is None and ws["H6"].border.left.style == "thin"  # empty answer cells keep the grid


def test_write_keeps_hidden_sheets_vertical_merges_and_formula_questions(files, tmp_path):
    src = files["outsourcing.xlsx"]
    q = reader.read_questionnaire(src, "outsourcing.xlsx")
    out = tmp_path / "out.xlsx"
    report = writer.write_answers(src, "outsourcing.xlsx", q, _answers(q), COLUMNS, out)
    assert [p.letter for p in report.placements] == list("GHIJKLM")
    assert_preserved(src, out, {"チェックリスト": range(7, 14)})
    wb = _load(out)
    assert wb["選択肢"].sheet_state == "hidden"
    ws = wb["チェックリスト"]
    assert ws["D12"].value == '="利用者ID"&"の発行・削除の手続きを定め、定期的に棚卸ししていますか。"'
    assert (ws["G12"].value, ws["G14"].value) == ("該当 12", None)  # row 14's question had no value to read
    assert "A8:A10" in map(str, ws.merged_cells.ranges)


def test_answer_text_is_never_a_formula(files, tmp_path):
    src = files["cloud.xlsx"]
    q = reader.read_questionnaire(src, "cloud.xlsx")
    attacks = ['=HYPERLINK("http://example.com","x")', "+1+1", "-2+3", "@SUM(A1)", "=cmd|'/c calc'!A0"]
    answers = {(r.sheet, r.row): {"回答案": attacks[i % len(attacks)], "他の候補": "a\x01b\x1fc"}
               for i, r in enumerate(q.questions)}
    out = tmp_path / "out.xlsx"
    writer.write_answers(src, "cloud.xlsx", q, answers, COLUMNS, out)
    ws = _load(out)["チェックシート"]
    for i, r in enumerate(q.questions):
        cell = ws.cell(r.row, 10)
        assert (cell.value, cell.data_type) == (attacks[i % len(attacks)], "s")
        assert ws.cell(r.row, 13).value == "abc"  # characters Excel rejects are dropped
    sheet_xml = zipfile.ZipFile(out).read("xl/worksheets/sheet2.xml").decode()
    assert sheet_xml.count("<f>") == 1 and "<f>COUNTA(D6:D20)</f>" in sheet_xml  # only the user's own formula


def test_into_writes_into_an_existing_column(files, tmp_path):
    from openpyxl.styles import Alignment

    wb = _load(files["cloud.xlsx"])
    for r in range(6, 18):  # their 補足説明 cells are centred: writing into them must not restyle them
        wb["チェックシート"].cell(r, 5).alignment = Alignment(horizontal="center", vertical="center")
    buf = io.BytesIO()
    wb.save(buf)
    src = buf.getvalue()
    q = reader.read_questionnaire(src, "cloud.xlsx")
    out = tmp_path / "out.xlsx"
    report = writer.write_answers(src, "cloud.xlsx", q, _answers(q), COLUMNS, out, into={"回答案": "補足説明"})
    placed = {p.header: (p.letter, p.existing) for p in report.placements}
    assert placed["回答案"] == ("E", True)
    assert [placed[n][0] for n in COLUMNS if n != "回答案"] == list("GHIJKL")
    ws = _load(out)["チェックシート"]
    assert [ws.cell(r.row, 5).value for r in q.questions] == [f"回答 {r.row}" for r in q.questions]
    assert ws["E4"].value == "補足説明" and ws["M4"].value is None
    assert {(ws.cell(r.row, 5).alignment.horizontal, ws.cell(r.row, 5).alignment.vertical)
            for r in q.questions} == {("center", "center")}


def test_into_a_header_made_by_a_formula(tmp_path):
    # the user sees 補足説明 (the formula's cached value) and names it; the check passed on that
    # value, so the write must find the same column — not refuse it as its formula text
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "S"
    ws.append(["No.", "質問", "回答", '="補足"&"説明"'])
    ws.append([1, "アクセスログを定期的に確認していますか。", "", ""])
    buf = io.BytesIO()
    wb.save(buf)
    src = cs.with_cached_values(buf.getvalue(), "xl/worksheets/sheet1.xml", {"D1": "補足説明"})
    q = reader.read_questionnaire(src, "f.xlsx")
    out = tmp_path / "out.xlsx"
    writer.check_destination(src, q, out, ["回答案"], into={"回答案": "補足説明"})
    report = writer.write_answers(src, "f.xlsx", q, {("S", 2): {"回答案": "回答 2"}}, ["回答案"], out,
                             into={"回答案": "補足説明"})
    assert [(p.letter, p.existing) for p in report.placements] == [("D", True)]
    ws = _load(out)["S"]
    assert ws["D2"].value == "回答 2" and ws["D1"].value == '="補足"&"説明"'  # the header keeps its formula


def test_into_an_unknown_header_writes_nothing(files, tmp_path):
    q = reader.read_questionnaire(files["cloud.xlsx"], "cloud.xlsx")
    out = tmp_path / "out.xlsx"
    with pytest.raises(S.UnknownColumn) as e:
        writer.write_answers(files["cloud.xlsx"], "cloud.xlsx", q, _answers(q), COLUMNS, out, into={"回答案": "コメント"})
    assert "no column 'コメント' on header row 4" in str(e.value) and "「補足説明」" in str(e.value)
    with pytest.raises(S.UnknownColumn, match="not one of the answer columns"):
        writer.write_answers(files["cloud.xlsx"], "cloud.xlsx", q, _answers(q), COLUMNS, out, into={"回答": "備考"})
    assert os.listdir(tmp_path) == []


def test_answering_again_reuses_the_columns(files, tmp_path):
    q = reader.read_questionnaire(files["cloud.xlsx"], "cloud.xlsx")
    first = tmp_path / "first.xlsx"
    writer.write_answers(files["cloud.xlsx"], "cloud.xlsx", q, _answers(q), COLUMNS, first)
    q2 = reader.read_questionnaire(first, first.name)
    assert (q2.tables[0].question_column, q2.tables[0].last_column, len(q2.questions)) == (3, 13, 9)
    second = tmp_path / "second.xlsx"
    report = writer.write_answers(first, first.name, q2, _answers(q2, 判定="再回答"), COLUMNS, second)
    assert [(p.letter, p.existing) for p in report.placements] == [(c, True) for c in "GHIJKLM"]
    ws = _load(second)["チェックシート"]
    assert ws.max_column == 13 and ws["G6"].value == "再回答"


def test_new_columns_never_cover_a_merged_cell(files, tmp_path):
    wb = _load(files["cloud.xlsx"])
    wb["チェックシート"].merge_cells("F4:G4")  # 根拠資料 spans two columns of the header
    buf = io.BytesIO()
    wb.save(buf)
    q = reader.read_questionnaire(buf.getvalue(), "merged.xlsx")
    assert q.tables[0].last_column == 6
    out = tmp_path / "out.xlsx"
    report = writer.write_answers(buf.getvalue(), "merged.xlsx", q, _answers(q), ["判定"], out)
    assert [p.letter for p in report.placements] == ["H"]
    assert_preserved(buf.getvalue(), out, {"チェックシート": range(8, 9)})


def test_answer_for_a_row_that_is_not_a_question(files, tmp_path):
    q = reader.read_questionnaire(files["cloud.xlsx"], "cloud.xlsx")
    with pytest.raises(S.UnknownRow, match="sheet 'チェックシート': an answer is given for row 5, which is not a question"):
        writer.write_answers(files["cloud.xlsx"], "cloud.xlsx", q, {("チェックシート", 5): {"判定": "x"}}, COLUMNS,
                        tmp_path / "out.xlsx")
    assert os.listdir(tmp_path) == []


def test_output_may_not_be_the_input(files, tmp_path):
    src = _save(tmp_path, "cloud.xlsx", files["cloud.xlsx"])
    digest = _sha(src)
    q = reader.read_questionnaire(src, src.name)
    with pytest.raises(S.OutputError, match="would overwrite the input file"):
        writer.write_answers(src, src.name, q, _answers(q), COLUMNS, tmp_path / "." / "cloud.xlsx")
    assert _sha(src) == digest and os.listdir(tmp_path) == ["cloud.xlsx"]


def test_failure_midway_leaves_nothing(files, tmp_path, monkeypatch):
    q = reader.read_questionnaire(files["cloud.xlsx"], "cloud.xlsx")
    out = tmp_path / "out.xlsx"
    out.write_bytes(b"an earlier result")

    def broken_replace(a, b):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(S.os, "replace", broken_replace)
    with pytest.raises(S.OutputError, match="cannot write .*No space left on device"):
        writer.write_answers(files["cloud.xlsx"], "cloud.xlsx", q, _answers(q), COLUMNS, out)
    assert os.listdir(tmp_path) == ["out.xlsx"] and out.read_bytes() == b"an earlier result"


def test_write_to_a_stream(files):
    q = reader.read_questionnaire(files["caiq.xlsx"], "caiq.xlsx")
    buf = io.BytesIO()
    writer.write_answers(files["caiq.xlsx"], "caiq.xlsx", q, _answers(q), ["判定"], buf)
    ws = _load(buf.getvalue())["CAIQ"]
    assert (ws["F3"].value, ws["F4"].value, ws["F2"].value) == ("判定", "該当 4", None)


def test_xlsm_keeps_its_macros(files, tmp_path):
    q = reader.read_questionnaire(files["macro.xlsm"], "macro.xlsm")
    assert q.format == "xlsm" and len(q.questions) == 9
    out = tmp_path / "out.xlsm"
    report = writer.write_answers(files["macro.xlsm"], "macro.xlsm", q, _answers(q), COLUMNS, out)
    assert report.warnings == ()
    z = zipfile.ZipFile(out)
    assert z.read("xl/vbaProject.bin") == cs.VBA_PROJECT
    assert "application/vnd.ms-excel.sheet.macroEnabled.main+xml" in z.read("[Content_Types].xml").decode()
    assert "vbaProject.bin" in z.read("xl/_rels/workbook.xml.rels").decode()
    assert_preserved(files["macro.xlsm"], out, {"チェックシート": range(7, 14)})
    with pytest.raises(S.OutputError, match=r"must be named \.xlsm \(it keeps the macros\)"):
        writer.write_answers(files["macro.xlsm"], "macro.xlsm", q, _answers(q), COLUMNS, tmp_path / "out.xlsx")


def test_rich_text_in_cells_is_kept(files, tmp_path):
    q = reader.read_questionnaire(files["cloud.xlsx"], "cloud.xlsx")
    assert q.tables[0].questions[3].text == "管理者権限を持つアカウントに多要素認証を必須としていますか。"
    out = tmp_path / "out.xlsx"
    writer.write_answers(files["cloud.xlsx"], "cloud.xlsx", q, _answers(q), COLUMNS, out)
    cell = _load(out, rich_text=True)["チェックシート"]["C10"].value
    assert cell == cs.RICH_QUESTION() and cell[1].font.b and cell[1].font.color.rgb == "00FF0000"


def test_unsupported_extensions_are_reported(files, tmp_path):
    """Excel 2010 stores a drop-down that lists another sheet's cells in an x14 extension, which openpyxl drops;
    newer objects in a drawing come wrapped in mc:AlternateContent."""
    ext = ('<extLst><ext uri="{CCE6A557-97BC-4B89-ADB6-D9C93CAAB3DF}" '
           'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main"><x14:dataValidations count="1" '
           'xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main"><x14:dataValidation type="list">'
           '<x14:formula1><xm:f>選択肢!$A$1:$A$3</xm:f></x14:formula1><xm:sqref>E8:E20</xm:sqref>'
           '</x14:dataValidation></x14:dataValidations></ext></extLst>')
    shape = cs._TEXT_BOX.replace("<twoCellAnchor>", '<mc:AlternateContent xmlns:mc="http://schemas.openxmlformats.org/'
                                 'markup-compatibility/2006"><mc:Choice Requires="a14"><twoCellAnchor>')
    shape = shape.replace("</twoCellAnchor>", "</twoCellAnchor></mc:Choice></mc:AlternateContent>")
    data = cs.patch_zip(files["drawings.xlsx"], {
        "xl/worksheets/sheet1.xml": lambda x: x.replace("</worksheet>", ext + "</worksheet>"),
        "xl/drawings/drawing1.xml": lambda x: x.replace("</wsDr>", shape + "</wsDr>"),
    })
    q = reader.read_questionnaire(data, "ext.xlsx")
    report = writer.write_answers(data, "ext.xlsx", q, {}, ["判定"], tmp_path / "out.xlsx")
    assert str(report.warnings[0]).startswith("sheet 'チェックシート' has 2 text boxes or shapes, 2 threaded comments")
    assert str(report.warnings[-1]) == ("openpyxl: Data Validation extension is not supported and will be removed; "
                                        "your original file is unchanged")


def test_what_openpyxl_cannot_carry_over_is_reported(files, tmp_path):
    q = reader.read_questionnaire(files["drawings.xlsx"], "drawings.xlsx")
    out = tmp_path / "out.xlsx"
    report = writer.write_answers(files["drawings.xlsx"], "drawings.xlsx", q, _answers(q), ["判定"], out)
    assert tuple(map(str, report.warnings)) == (
        "sheet 'チェックシート' has 1 text box or shape, 2 threaded comments, 1 form control (check boxes, buttons) that "
        "cannot be carried over (openpyxl); your original file is unchanged",
        "printer driver settings (paper size, orientation, margins and print titles are kept) cannot be carried "
        "over (openpyxl); your original file is unchanged",
        "Excel's chart style and colour presets (the charts themselves are kept) cannot be carried over "
        "(openpyxl); your original file is unchanged",
    )
    ws = _load(out)["チェックシート"]  # measured: with Pillow, the image and the chart come through
    assert (len(ws._images), len(ws._charts)) == (1, 1)
    assert (ws.page_setup.paperSize, ws.page_setup.orientation) == (9, "landscape")
    names = zipfile.ZipFile(out).namelist()
    assert not any(n.startswith(("xl/threadedComments/", "xl/charts/style", "xl/ctrlProps/", "xl/printerSettings/"))
                   for n in names)
    assert "TextBox" not in zipfile.ZipFile(out).read("xl/drawings/drawing1.xml").decode()
    assert_preserved(files["drawings.xlsx"], out, {"チェックシート": range(5, 6)})


def test_images_lost_without_pillow_are_reported(files, tmp_path, monkeypatch):
    import openpyxl.reader.drawings

    monkeypatch.setattr(openpyxl.reader.drawings, "PILImage", False)
    q = reader.read_questionnaire(files["drawings.xlsx"], "drawings.xlsx")
    report = writer.write_answers(files["drawings.xlsx"], "drawings.xlsx", q, {}, ["判定"], tmp_path / "out.xlsx")
    assert str(report.warnings[0]).startswith("sheet 'チェックシート' has 1 image, 1 text box or shape, ")
    assert report.warnings[0].text("web").startswith("シート「チェックシート」の 画像 1 個、テキストボックス・図形 1 個、")


def test_pivot_tables_and_external_links_are_kept(files, tmp_path):
    q = reader.read_questionnaire(files["pivot.xlsx"], "pivot.xlsx")
    out = tmp_path / "out.xlsx"
    report = writer.write_answers(files["pivot.xlsx"], "pivot.xlsx", q, _answers(q), ["判定"], out)
    assert report.warnings == ()
    wb = _load(out)
    assert [len(ws._pivots) for ws in wb.worksheets] == [0, 1] and len(wb._external_links) == 1
    # the external-link formula sits right of the table on the header row, so the new column stops before it
    assert [p.letter for p in report.placements] == ["D"] and wb["質問"]["E1"].value == "=[1]Sheet1!A1"


# ----------------------------------------------------------------- writing CSV/TSV


def _appended(values: list[str], delimiter: str = ",") -> bytes:
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="").writerow(values)
    return (delimiter + buf.getvalue()).encode("cp932")


def test_cp932_csv_round_trip(files, tmp_path):
    src = _save(tmp_path, "cp932.csv", files["cp932.csv"])
    q = reader.read_questionnaire(src, src.name)
    out = tmp_path / "out.csv"
    answers = {(None, r.row): {"判定": "該当", "回答案": f"回答, その{r.row}"} for r in q.questions}
    report = writer.write_answers(src, src.name, q, answers, ["判定", "回答案"], out)
    assert (report.encoding, report.warnings) == ("cp932", ())
    assert [p.letter for p in report.placements] == ["F", "G"]

    before, after = files["cp932.csv"].split(b"\r\n"), out.read_bytes().split(b"\r\n")
    assert len(after) == len(before)  # same lines, all CRLF (the last split piece is the empty tail)
    # physical lines: 0-1 titles, 2 header, 3 q4, 4-5 q5 (a quoted two-line cell), 6 heading, 7 q7
    changed = {2: _appended(["判定", "回答案"]), 3: _appended(["該当", "回答, その4"]),
               5: _appended(["該当", "回答, その5"]), 7: _appended(["該当", "回答, その7"])}
    for i, line in enumerate(before):
        assert after[i] == line + changed.get(i, b""), i
    rows = list(csv.reader(io.StringIO(out.read_bytes().decode("cp932"), newline="")))
    assert rows[3][5:] == ["該当", "回答, その4"] and rows[4][4] == "1行目の備考\r\n2行目の備考"


def test_tsv_round_trip_keeps_bom_and_lf(files, tmp_path):
    q = reader.read_questionnaire(files["bom.tsv"], "bom.tsv")
    out = tmp_path / "out.tsv"
    report = writer.write_answers(files["bom.tsv"], "bom.tsv", q, _answers(q), ["判定", "確信度"], out)
    data = out.read_bytes()
    assert report.encoding == "utf-8-sig" and data.startswith(b"\xef\xbb\xbf") and b"\r" not in data
    lines = data.decode("utf-8-sig").split("\n")
    original = files["bom.tsv"].decode("utf-8-sig").split("\n")
    assert lines[0] == original[0] + "\t判定\t確信度"
    assert lines[1] == original[1] + "\t該当 2\t0.9"
    assert lines[4] == original[4] == ""


def test_plain_csv_without_final_line_ending(files, tmp_path):
    q = reader.read_questionnaire(files["plain.csv"], "plain.csv")
    out = tmp_path / "out.csv"
    writer.write_answers(files["plain.csv"], "plain.csv", q, _answers(q), ["判定"], out)
    lines = out.read_bytes().decode().split("\n")
    assert lines[-1] == files["plain.csv"].decode().split("\n")[-1] + ",該当 4"


def test_cp932_falls_back_to_utf8_with_bom(files, tmp_path):
    q = reader.read_questionnaire(files["cp932.csv"], "cp932.csv")
    out = tmp_path / "out.csv"
    report = writer.write_answers(files["cp932.csv"], "cp932.csv", q, {(None, 4): {"判定": "対応済み ✅"}}, ["判定"], out)
    assert report.encoding == "utf-8-sig"
    assert tuple(map(str, report.warnings)) == (
        "the answers contain characters that Shift_JIS (cp932) cannot hold (e.g. '✅'), so "
        "the file was written as UTF-8 with BOM, which Excel opens correctly",)
    text = out.read_bytes()
    assert text.startswith(b"\xef\xbb\xbf")
    original = files["cp932.csv"].decode("cp932").split("\r\n")
    written = text.decode("utf-8-sig").split("\r\n")
    assert written[0:2] == original[0:2] and written[3] == original[3] + ",対応済み ✅"


def test_ascii_csv_gets_a_bom_when_the_answers_are_japanese(tmp_path):
    data = b"Question,Answer\r\nIs data at rest encrypted with managed keys?,\r\n"
    q = reader.read_questionnaire(data, "caiq.csv")
    out = tmp_path / "out.csv"
    report = writer.write_answers(data, "caiq.csv", q, {(None, 2): {"判定": "該当"}}, ["判定"], out)
    assert report.encoding == "utf-8-sig" and "plain ASCII" in str(report.warnings[0])
    assert out.read_bytes() == b"\xef\xbb\xbf" + data.replace(b"Answer", "Answer,判定".encode()).replace(
        b"keys?,", "keys?,,該当".encode())


def test_questionnaire_from_another_file_is_refused(files, tmp_path):
    q = reader.read_questionnaire(files["caiq.xlsx"], "caiq.xlsx")
    wb = _load(files["caiq.xlsx"])
    wb["CAIQ"]["C3"] = "Control Question"
    buf = io.BytesIO()
    wb.save(buf)
    with pytest.raises(S.SheetError, match="the file changed since it was read — read it again"):
        writer.write_answers(buf.getvalue(), "caiq.xlsx", q, _answers(q), ["判定"], tmp_path / "out.xlsx")
    assert os.listdir(tmp_path) == []


def test_csv_answers_with_line_breaks_stay_in_their_cell(files, tmp_path):
    q = reader.read_questionnaire(files["plain.csv"], "plain.csv")
    out = tmp_path / "out.csv"
    writer.write_answers(files["plain.csv"], "plain.csv", q, {(None, 2): {"回答案": "一行目。\n二行目, 三行目。"}},
                    ["判定", "回答案"], out)
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"), newline="")))
    assert len(rows) == 4 and rows[1][2:] == ["", "一行目。\n二行目, 三行目。"]


def test_csv_answers_are_never_formulas(files, tmp_path):
    q = reader.read_questionnaire(files["plain.csv"], "plain.csv")
    out = tmp_path / "out.csv"
    writer.write_answers(files["plain.csv"], "plain.csv", q, {(None, 2): {"判定": "=1+1", "回答案": "@SUM(A1)"}},
                    ["判定", "回答案"], out)
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert rows[1][2:] == ["'=1+1", "'@SUM(A1)"]


def test_csv_answering_again_and_into(files, tmp_path):
    q = reader.read_questionnaire(files["cp932.csv"], "cp932.csv")
    first = tmp_path / "first.csv"
    writer.write_answers(files["cp932.csv"], "cp932.csv", q, _answers(q), ["判定", "回答案"], first)
    q2 = reader.read_questionnaire(first, first.name)
    second = tmp_path / "second.csv"
    report = writer.write_answers(first, first.name, q2, _answers(q2, 判定="再回答"), ["判定", "回答案"], second,
                             into={"回答案": "備考"})
    assert [(p.header, p.letter, p.existing) for p in report.placements] == [("判定", "F", True),
                                                                            ("回答案", "E", True)]
    rows = list(csv.reader(io.StringIO(second.read_bytes().decode("cp932"), newline="")))
    assert rows[2] == ["No.", "分類", "質問", "回答", "備考", "判定", "回答案"]
    assert rows[3] == ["1", "方針", cs.CSV_QUESTIONS[0], "", "回答 4", "再回答", "回答 4"]
    assert rows[5] == ["【技術的対策】", "", "", "", ""]


def test_csv_output_must_stay_text(files, tmp_path):
    q = reader.read_questionnaire(files["plain.csv"], "plain.csv")
    with pytest.raises(S.OutputError, match="must be a .csv, .tsv or .txt file"):
        writer.write_answers(files["plain.csv"], "plain.csv", q, {}, ["判定"], tmp_path / "out.xlsx")


# ----------------------------------------------------------------- checks before answering


def test_check_destination_refuses_what_write_answers_would(files, tmp_path):
    src = _save(tmp_path, "cloud.xlsx", files["cloud.xlsx"])
    q = reader.read_questionnaire(src, src.name)
    writer.check_destination(src, q, tmp_path / "out.xlsx", COLUMNS, into={"回答案": "補足説明"})
    with pytest.raises(S.UnknownColumn, match="no column 'コメント' on header row 4.*--answer-column"):
        writer.check_destination(src, q, tmp_path / "out.xlsx", COLUMNS, into={"回答案": "コメント"})
    with pytest.raises(S.OutputError, match="would overwrite the input file"):
        writer.check_destination(src, q, src, COLUMNS)
    with pytest.raises(S.OutputError, match="must be named .xlsx"):
        writer.check_destination(src, q, tmp_path / "out.csv", COLUMNS)
    with pytest.raises(S.OutputError, match="does not exist"):
        writer.check_destination(src, q, tmp_path / "nope" / "out.xlsx", COLUMNS)
    assert os.listdir(tmp_path) == ["cloud.xlsx"]


# ----------------------------------------------------------------- pasted questions, kijun's own table


def test_split_pasted():
    assert table.split_pasted(" a \n\n b\r\n") == ["a", "b"]
    with pytest.raises(S.TooManyQuestions, match="2,001 questions pasted; the limit is 2,000"):
        table.split_pasted("q\n" * (S.MAX_QUESTIONS + 1))


TABLE = [["No.", "質問", "回答案"], [1, '=HYPERLINK("http://x")', "+1+1"], [2, "普通の質問", "a\x01b"]]


def test_table_as_csv_is_never_a_formula():
    data = table.table_bytes(TABLE, "csv")
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows == [["No.", "質問", "回答案"], ["1", '\'=HYPERLINK("http://x")', "'+1+1"], ["2", "普通の質問", "ab"]]


def test_table_as_xlsx_is_never_a_formula():
    ws = _load(table.table_bytes(TABLE, "xlsx"))["回答"]
    assert [[c.value for c in row] for row in ws.iter_rows()] == [TABLE[0], TABLE[1], [2, "普通の質問", "ab"]]
    assert {c.data_type for row in ws.iter_rows() for c in row} == {"s", "n"}
    assert ws.freeze_panes == "A2" and ws["A1"].font.b


def test_write_table_is_whole_and_never_over_the_source(files, tmp_path):
    src = _save(tmp_path, "q.csv", files["plain.csv"])
    assert table.write_table(TABLE, tmp_path / "answers.xlsx", source=src) == "xlsx"
    with pytest.raises(S.OutputError, match="would overwrite the input file"):
        table.write_table(TABLE, src, source=src)
    with pytest.raises(S.OutputError, match="written as .csv or .xlsx"):
        table.write_table(TABLE, tmp_path / "answers.pdf")
    assert src.read_bytes() == files["plain.csv"] and sorted(os.listdir(tmp_path)) == ["answers.xlsx", "q.csv"]
