"""The questionnaire workflow end to end: `kijun answer` reads a check sheet built like a published
one (tests/checksheets.py), answers it with the real engine and writes the answers into a copy
of the user's own file; every bad input is one line on stderr and exit code 1, before any answering."""
from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

import pytest
from click.testing import CliRunner

import checksheets as cs
from search.questionnaire import answer as qa
from search.questionnaire import checksheet as S
from search.app import cli
from test_sheet import _load, assert_preserved
from verdicts import assert_clearly

pytestmark = pytest.mark.scored

PASSWORD_ROW, CANTEEN_ROW = 9, 17  # rows of the cloud check sheet's questions (see tests/test_sheet.py)
NEW_COLUMNS = range(7, 15)  # G–N, right of the table's last column F


@pytest.fixture(scope="module")
def cloud() -> bytes:
    return cs.cloud_checksheet()


@pytest.fixture
def run(engine, monkeypatch):
    """`run(args)` → click's result of `kijun answer …` on the session engine."""
    monkeypatch.setattr(cli, "_engine", lambda *a, **k: engine)

    def invoke(*args: str):
        return CliRunner().invoke(cli.main, ["answer", *map(str, args)])

    return invoke


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def sentences(draft_part: str, cite: str) -> list[str]:
    assert draft_part.endswith(cite), draft_part
    return qa.split_sentences(draft_part.removesuffix(cite))


def test_the_verdicts_these_tests_read_from_the_cloud_sheet_are_clear_cases(engine):
    """Tests here and in test_web.py read the cloud sheet's password row as 回答候補あり (実26) and its
    canteen row as 要確認 from the real engine: both must be clear cases, not hairlines."""
    questions = [q for _, items in cs.CLOUD_SECTIONS for _, q in items]
    password = next(q for q in questions if q.startswith("パスワードの最低文字数"))
    canteen = next(q for q in questions if q.startswith("社員食堂"))
    r = engine.search(password)
    assert_clearly(r, "answered")
    assert r.ids[0] == "実26"
    assert_clearly(engine.search(canteen), "no_match")


# ------------------------------------------------------------------ the user's own workbook


def test_answers_go_into_a_copy_of_the_users_workbook(run, cloud, doc, tmp_path):
    src = tmp_path / "cloud.xlsx"
    src.write_bytes(cloud)
    out = tmp_path / "cloud_回答.xlsx"
    result = run(src, "-o", out)
    assert result.exit_code == 0, result.output
    assert src.read_bytes() == cloud  # the input is never modified
    err = result.stderr
    assert "cloud.xlsx: sheet 'チェックシート': header row 4, question column C (確認項目): 9 questions, " \
           "5 rows skipped (4 section heading, 1 note)" in err
    assert "cloud.xlsx: sheet '表紙' ignored: cover, history, example or instructions sheet" in err
    assert "9 questions answered" in err and f"→ {out}:" in err
    assert "sheet 'チェックシート': G 判定, H 該当基準, I 確信度, J 回答案, K 引用(AWSの対応状況), " \
           "L 引用(お客様が統制すべき内容), M 他の候補, N 回答の出典" in err

    assert_preserved(cloud, out, {"チェックシート": NEW_COLUMNS})
    ws = _load(out)["チェックシート"]
    assert [ws.cell(4, c).value for c in NEW_COLUMNS] == list(qa.ANSWER_COLUMNS)
    row = {name: ws.cell(PASSWORD_ROW, c).value for name, c in zip(qa.ANSWER_COLUMNS, NEW_COLUMNS)}
    assert row["判定"] == "回答候補あり" and row["該当基準"].startswith("実26") and row["確信度"] in ("高", "中")
    c26 = doc.get("実26")
    aws_part = row["回答案"].split("\n")[0]
    assert all(s in c26.aws_status for s in sentences(aws_part, "[実26]"))
    assert row["引用(AWSの対応状況)"] == c26.aws_status
    assert row["引用(お客様が統制すべき内容)"] == c26.customer_controls.split("\n", 1)[1]  # without the boilerplate

    canteen = {name: ws.cell(CANTEEN_ROW, c).value for name, c in zip(qa.ANSWER_COLUMNS, NEW_COLUMNS)}
    assert ws.cell(CANTEEN_ROW, 3).value == "社員食堂のメニューを公開していますか。"
    assert canteen["判定"] == "要確認" and not canteen["回答案"] and not canteen["引用(AWSの対応状況)"]
    assert not canteen["該当基準"] and canteen["他の候補"]  # candidates, for a person to check


def test_answer_column_writes_the_draft_into_their_column(run, cloud, judged, monkeypatch, tmp_path):
    monkeypatch.setattr(cli, "_engine", lambda *a, **k: judged("answered"))
    src = tmp_path / "cloud.xlsx"
    src.write_bytes(cloud)
    out = tmp_path / "out.xlsx"
    result = run(src, "-o", out, "--answer-column", "補足説明")
    assert result.exit_code == 0, result.output
    assert "J 回答案" not in result.stderr and "E 回答案 (existing column)" in result.stderr
    ws = _load(out)["チェックシート"]
    assert [ws.cell(4, c).value for c in range(7, 14)] == [n for n in qa.ANSWER_COLUMNS if n != "回答案"]
    assert ws.cell(4, 5).value == "補足説明" and ws.cell(4, 14).value is None
    assert ws.cell(PASSWORD_ROW, 5).value.split("\n")[0].endswith("[実26]")


def test_their_own_text_stays_where_there_is_no_draft(run, cloud, judged, monkeypatch, tmp_path):
    monkeypatch.setattr(cli, "_engine", lambda *a, **k: judged("no_match"))
    src = tmp_path / "cloud.xlsx"
    src.write_bytes(cloud)
    out = tmp_path / "out.xlsx"
    assert run(src, "-o", out, "--answer-column", "補足説明").exit_code == 0
    ws = _load(out)["チェックシート"]
    assert ws["E7"].value == "入退室記録は3年間保存"  # what the user wrote, kept: 要確認 rows get no draft
    assert ws.cell(PASSWORD_ROW, 7).value == "要確認"


def test_csv_in_csv_out_in_the_same_encoding(run, tmp_path):
    src = tmp_path / "委託先.csv"
    src.write_bytes(cs.cp932_csv())
    out = tmp_path / "out.csv"
    result = run(src, "-o", out)
    assert result.exit_code == 0, result.output
    encoding = "cp932" if f"→ {out} (cp932):" in result.stderr else "utf-8-sig"
    assert encoding == "cp932" or "Shift_JIS (cp932) cannot hold" in result.stderr
    rows = list(csv.reader(io.StringIO(out.read_bytes().decode(encoding), newline="")))
    assert rows[2] == ["No.", "分類", "質問", "回答", "備考", *qa.ANSWER_COLUMNS]
    assert rows[0] == ["セキュリティチェックシート（委託先用）", "", "", "", ""]  # other lines as they were
    assert [r[5:6] in (["回答候補あり"], ["要確認"]) for r in rows[3:]] == [True, True, False, True]


def test_a_plain_list_of_questions(run, tmp_path):
    src = tmp_path / "list.csv"
    src.write_text("パスワードの最低文字数や複雑さ、定期的な変更などのパスワードポリシーを定めていますか。\n"
                   "ウイルス対策ソフトを導入していますか。\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    result = run(src, "-o", out)
    assert result.exit_code == 0, result.output
    assert "list.csv: no header row, question column A: 2 questions" in result.stderr
    assert "warning: list.csv: no header row found, so every row with a sentence in column A" in result.stderr
    assert "warning: list.csv: the sheet has no header row, so the answer columns have no titles: B 判定, C 該当基準" \
        in result.stderr
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert len(rows) == 2 and rows[0][2].startswith("実26")


def test_format_table_writes_kijuns_own_list(run, cloud, tmp_path):
    src = tmp_path / "cloud.xlsx"
    src.write_bytes(cloud)
    for name in ("answers.csv", "answers.xlsx"):
        result = run(src, "-o", tmp_path / name, "--format", "table", "--top", "2")
        assert result.exit_code == 0, result.output
        assert "(kijun's table)" in result.stderr
    rows = list(csv.reader(io.StringIO((tmp_path / "answers.csv").read_text(encoding="utf-8-sig"))))
    assert rows[0] == ["No.", "シート", "行", "質問", *qa.ANSWER_COLUMNS]
    password = next(r for r in rows if r[2] == str(PASSWORD_ROW))
    assert password[1] == "チェックシート" and password[4] == "回答候補あり" and password[5].startswith("実26")
    ws = _load(tmp_path / "answers.xlsx")["回答"]
    assert [c.value for c in ws[1]] == rows[0] and ws.max_row == 10
    assert src.read_bytes() == cloud


# ------------------------------------------------------------------ bad input: one line, exit 1, nothing answered






@pytest.mark.parametrize("name, build, args, message", [
    ("protected.xlsx", cs.encrypted_xlsx, [], "protected.xlsx is password-protected; remove the password"),
    ("old.xls", cs.legacy_xls, [], "old.xls: old .xls files are not supported; open it in Excel and save as .xlsx"),
    ("noquestion.xlsx", cs.no_question_column, [], "no question column found; the header row 4 has"),
    ("huge.xlsx", cs.huge_sheet, [], "huge.xlsx: 10,000 questions found; the limit is 2,000"),
    ("junk.xlsx", cs.random_binary, [], "junk.xlsx is not a valid .xlsx workbook"),
    ("cloud.xlsx", cs.cloud_checksheet, ["--sheet", "回答"], "there is no sheet named '回答'"),
    ("cloud.xlsx", cs.cloud_checksheet, ["--column", "設問"], "no column '設問'; the header row 4 has"),
    ("cloud.xlsx", cs.cloud_checksheet, ["--answer-column", "コメント"], "no column 'コメント' on header row 4"),
    ("cloud.xlsx", cs.cloud_checksheet, ["-o", "{tmp}/out.csv"], "must be named .xlsx"),
    ("cloud.xlsx", cs.cloud_checksheet, ["-o", "{tmp}/cloud.xlsx"], "would overwrite the input file"),
    ("cloud.xlsx", cs.cloud_checksheet, ["--format", "table", "-o", "{tmp}/out.pdf"], "written as .csv or .xlsx"),
])
def test_bad_input_is_one_line_and_exit_1(name, build, args, message, tmp_path, monkeypatch):
    def no_engine(*a, **k):
        raise AssertionError("the input is refused before anything is answered")

    monkeypatch.setattr(cli, "_engine", no_engine)
    src = tmp_path / name
    src.write_bytes(build())
    before = sha(src)
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    out = [] if "-o" in args else ["-o", str(tmp_path / ("out" + Path(name).suffix))]
    result = CliRunner().invoke(cli.main, ["answer", str(src), *out, *args])
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("Error: ") and message in lines[-1], result.stderr
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    assert sha(src) == before and sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_answer_column_with_table_format_is_a_usage_error(cloud, tmp_path):
    src = tmp_path / "cloud.xlsx"
    src.write_bytes(cloud)
    result = CliRunner().invoke(cli.main, ["answer", str(src), "-o", str(tmp_path / "a.csv"), "--format", "table",
                                           "--answer-column", "補足説明"])
    assert result.exit_code == 2 and "--answer-column writes into your own file" in result.stderr


def test_sheet_errors_are_user_errors():
    assert S.SheetError in cli.USER_ERRORS and qa.QuestionnaireError in cli.USER_ERRORS
