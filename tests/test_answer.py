"""The questionnaire library: reading CSV/XLSX, the no-match threshold, injection-safe exports."""
from __future__ import annotations

import csv
import io

import pytest
from openpyxl import Workbook, load_workbook

from search import answer as qa
from search.answer import Answer, Match, QuestionnaireError, read_questions


def xlsx(rows) -> bytes:
    wb = Workbook()
    for r in rows:
        wb.active.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# ------------------------------------------------------------------ reading


def test_csv_picks_question_column_by_header():
    data = "No.,質問内容,備考\n1,パスワードを定期的に変更していますか,\n2,ログを保管していますか,x\n".encode()
    assert read_questions(data, "q.csv") == ["パスワードを定期的に変更していますか", "ログを保管していますか"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932"])
def test_csv_encodings(encoding):
    data = "質問\n暗号化していますか\n".encode(encoding)
    assert read_questions(data, "q.csv") == ["暗号化していますか"]


def test_csv_without_header_uses_every_row():
    assert read_questions("暗号化していますか\nログを保管していますか\n".encode(), "q.csv") == \
        ["暗号化していますか", "ログを保管していますか"]


def test_column_by_name_number_and_letter():
    data = "ID,Question,Note\n1,Do you encrypt data?,n\n".encode()
    assert read_questions(data, "q.csv", column="question") == ["Do you encrypt data?"]
    assert read_questions(data, "q.csv", column="3") == ["n"]
    assert read_questions(data, "q.csv", column=2) == ["Do you encrypt data?"]
    assert read_questions(data, "q.csv", column="C") == ["n"]


def test_unknown_column_names_the_headers():
    with pytest.raises(QuestionnaireError, match="no column named '回答'.*'Question'"):
        read_questions("ID,Question\n1,x\n".encode(), "q.csv", column="回答")
    with pytest.raises(QuestionnaireError, match="no column 9"):
        read_questions("ID,Question\n1,x\n".encode(), "q.csv", column=9)


def test_xlsx_reads_question_column(tmp_path):
    data = xlsx([["No", "カテゴリ", "質問"], [1, "認証", "多要素認証を必須にしていますか"], [2, "ログ", None],
                 [3, "ログ", "ログを保管していますか"]])
    assert read_questions(data, "q.xlsx") == ["多要素認証を必須にしていますか", "ログを保管していますか"]
    path = tmp_path / "q.xlsx"
    path.write_bytes(data)
    assert read_questions(path) == ["多要素認証を必須にしていますか", "ログを保管していますか"]


@pytest.mark.parametrize("data,name,message", [
    (b"", "q.csv", "empty"),
    (b"\n\n ,\n", "q.csv", "empty"),
    (b"PK\x03\x04 not really a zip", "q.xlsx", "not a readable .xlsx"),
    (b"%PDF-1.4 ...", "q.pdf", "not a spreadsheet"),
    (b"\x00\x01\x02binary", "q.csv", "binary"),
    (b"abc", "q.xls", "old .xls"),
])
def test_bad_files_say_what_is_wrong(data, name, message):
    with pytest.raises(QuestionnaireError, match=message):
        read_questions(data, name)


def test_too_many_rows_and_too_big():
    rows = "質問\n" + "".join(f"質問{i}\n" for i in range(qa.MAX_ROWS + 1))
    with pytest.raises(QuestionnaireError, match="2,001 rows; the limit is 2,000"):
        read_questions(rows.encode(), "q.csv")
    with pytest.raises(QuestionnaireError, match="larger than the 5 MB limit"):
        read_questions(b"a" * (qa.MAX_FILE_BYTES + 1), "q.csv")
    with pytest.raises(QuestionnaireError, match="the limit is 2,000"):
        qa.split_pasted("q\n" * (qa.MAX_ROWS + 1))


def test_split_pasted_skips_blank_lines():
    assert qa.split_pasted(" a \n\n b\r\n") == ["a", "b"]


# ------------------------------------------------------------------ judging


def test_judge_thresholds():
    assert qa.judge(0.89, 10) == ("answered", "high")
    assert qa.judge(0.865, 10) == ("answered", "medium")
    assert qa.judge(0.85, 99) == ("no_match", "low")  # semantic decides when present
    assert qa.judge(None, 50) == ("answered", "high")
    assert qa.judge(None, 20) == ("no_match", "low")


def test_answers_on_the_real_engine(engine):
    answers = qa.answer_questions(engine, [
        "管理者権限を持つアカウントには多要素認証(MFA)を必須としていますか。あわせて、認証情報(アクセスキー等)の"
        "定期的なローテーションと、認証・アクセス管理に対する定期監査の実施有無および頻度を記載してください。",
        "従業員の入社時に、在職中および退職後の秘密保持に関する誓約書を取得していますか。",
        "   ",
    ])
    assert len(answers) == 2  # blank questions are skipped
    mfa, nda = answers
    assert mfa.status == "answered" and len(mfa.matches) == 3
    assert {"実26", "実27", "実23", "実25"} & {m.id for m in mfa.matches}
    assert all(m.text for m in mfa.matches)
    assert nda.status == "no_match" and nda.confidence == "low"
    assert nda.to_dict()["matches"]  # candidates still listed for a reviewer


def test_dev_set_unanswerable_questions_are_flagged(engine):
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "eval" / "dev.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    items = [r for r in rows if r.get("kind") == "questionnaire"]
    answers = qa.answer_questions(engine, [r["query"] for r in items])
    unanswerable = [a for a, r in zip(answers, items) if r["answerable"] is False]
    answerable = [a for a, r in zip(answers, items) if r["answerable"] is True]
    assert unanswerable and [(a.question[:12], a.status, a.semantic_score) for a in unanswerable
                             if a.status != "no_match"] == []
    assert sum(a.answered for a in answerable) >= 0.75 * len(answerable)


def test_keyword_mode_uses_bm25_threshold(engine):
    [a] = qa.answer_questions(engine, ["パスワード"], mode="keyword")
    assert a.semantic_score is None and a.matches[0].id == "実26"
    with pytest.raises(QuestionnaireError, match="unknown mode"):
        qa.answer_questions(engine, ["パスワード"], mode="fuzzy")


# ------------------------------------------------------------------ export

EVIL = ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]


def evil_answers():
    return [Answer(q, "answered", "high", (Match("実26", 0.9, "=1+1"), Match("実27", 0.5, "ok"))) for q in EVIL] + \
        [Answer("普通の質問", "no_match", "low", (Match("実59", 0.4, "参考"),))]


def test_csv_export_neutralises_formulas():
    text = qa.csv_bytes(evil_answers()).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:7] == ["No.", "質問", "判定", "確信度", "基準1", "スコア1", "引用する文章"]
    for row, q in zip(rows[1:], EVIL):
        assert row[1] == "'" + q
        assert row[6] == "'=1+1"
    last = rows[-1]
    assert last[1] == "普通の質問" and last[2] == "要確認" and last[4] == "実59" and last[6] == ""


def test_xlsx_export_neutralises_formulas(tmp_path):
    path = tmp_path / "a.xlsx"
    qa.write_xlsx(evil_answers(), path)
    ws = load_workbook(path).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][1] == "質問"
    for row, q in zip(rows[1:], EVIL):
        assert row[1].startswith("'") and row[1][2:] == q[1:]  # (a CR comes back from openpyxl as LF)
        assert row[6] == "'=1+1"
    for row in ws.iter_rows(min_row=2):
        assert all(c.data_type != "f" for c in row)
    assert rows[-1][2] == "要確認"
