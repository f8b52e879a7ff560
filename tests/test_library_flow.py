"""The answer library end to end, as a team uses it: answer a check sheet, correct it the way a
person does in Excel, add the returned file, and ask the same questions again in other words."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

import checksheets as cs
from search.app import cli
from search.library.store import ANSWERED, NOT_IN_DOCUMENT, Entry, Library, Source, entry_id
from verdicts import assert_clearly

pytestmark = pytest.mark.scored

DC_ROW, LOG_ROW = 6, 14  # データセンターへの入退室… / 取得したログを1年以上保存…
DC_AGAIN = "データセンターの入退室をICカードで記録し、管理していますか。"
LOG_AGAIN = "ログは1年以上保管されますか。"


UNTOUCHED = 9  # the password policy row, left as kijun wrote it (cs.CLOUD_CHECKED)


@pytest.fixture(scope="module")
def returned(tmp_path_factory, data_root) -> tuple[Path, Library]:
    """The cloud check sheet answered by `kijun answer`, then checked by a person: every row's 判定 and
    該当基準 as cs.CLOUD_CHECKED says (row 6's criteria corrected to 実59、実38, row 14 set to 該当なし, rows 7 and
    17 left 要確認 with no criterion), row 9 untouched; added with `kijun library add`."""
    tmp = tmp_path_factory.mktemp("flow")
    library = Library(tmp / "library.sqlite3")
    env = {"KIJUN_LIBRARY": str(library.path), "KIJUN_DATA_DIR": str(data_root)}
    src, out = tmp / "cloud.xlsx", tmp / "cloud_回答.xlsx"
    src.write_bytes(cs.cloud_checksheet())
    runner = CliRunner()
    done = runner.invoke(cli.main, ["answer", str(src), "-o", str(out)], env=env)
    assert done.exit_code == 0, done.output
    wb = load_workbook(out)
    ws = wb["チェックシート"]
    assert ws.cell(4, 7).value == "判定" and ws.cell(4, 8).value == "該当基準"
    assert (ws.cell(UNTOUCHED, 7).value, ws.cell(UNTOUCHED, 8).value) == ("回答候補あり", "実26")  # a clear case
    cs.check_as_a_person(ws)
    ws.cell(DC_ROW, 10).value = "入退館はICカードで記録し、記録を定期的に確認しています。"
    ws.cell(LOG_ROW, 10).value = "当社規程によります（本文書の対象外）。"
    back = tmp / "cloud_returned.xlsx"
    wb.save(back)
    done = runner.invoke(cli.main, ["library", "add", str(back)], env=env)
    assert done.exit_code == 0, done.output
    assert "7 confirmed (6 answered, 1 該当なし), 2 skipped" in done.stderr
    assert "row 7 (still 要確認 with no criterion)" in done.stderr and "row 17" in done.stderr
    return back, library


@pytest.fixture(scope="module")
def remembering(returned, data_root):
    from search.engine import Engine

    return Engine(data_dir=data_root, library=returned[1])


def test_the_returned_sheet_is_read_as_the_person_left_it(returned):
    back, library = returned
    by_row = {e.source.row: e for e in library.entries()}
    assert sorted(by_row) == [6, 9, 10, 11, 13, 14, 16]  # 7 and 17 stayed 要確認 with no criterion
    dc, log = by_row[DC_ROW], by_row[LOG_ROW]
    assert (dc.verdict, dc.criteria, dc.answer) == (ANSWERED, ("実59", "実38"),
                                                    "入退館はICカードで記録し、記録を定期的に確認しています。")
    assert (log.verdict, log.criteria) == (NOT_IN_DOCUMENT, ())
    assert by_row[UNTOUCHED].criteria == ("実26",)  # untouched 回答候補あり rows were sent: confirmed
    assert by_row[10].criteria == ("実27", "実26") and by_row[16].criteria == ("実15",)
    assert dc.source.file == "cloud_returned.xlsx" and dc.source.sheet == "チェックシート"
    assert dc.source.sha256 == hashlib.sha256(back.read_bytes()).hexdigest()


def test_the_corrected_criteria_come_first_for_the_same_question_in_other_words(remembering, engine):
    before = engine.search(DC_AGAIN)
    assert before.ids[:2] != ["実59", "実38"]
    after = remembering.search(DC_AGAIN)
    assert after.ids[:2] == ["実59", "実38"] and after.match.answered
    [first, *_] = after.library
    assert first.entry.question.startswith("データセンターへの入退室は") and first.reused
    assert after.to_dict()["library"][0]["criteria"] == ["実59", "実38"]


def test_a_question_marked_not_in_the_document_is_no_match_in_other_words(remembering, engine):
    after = remembering.search(LOG_AGAIN)
    assert (after.match.status, after.match.past) == ("no_match", True)  # the person's verdict, not the engine's
    assert engine.search(LOG_AGAIN).match.past is False  # the document alone judges it itself
    assert after.library[0].entry.question == "取得したログを1年以上保存していますか。" and after.library[0].reused
    assert after.to_dict()["library"][0]["verdict"] == NOT_IN_DOCUMENT


def test_an_empty_library_changes_nothing(engine, data_root, tmp_path):
    from search.engine import Engine

    empty = Engine(data_dir=data_root, library=Library(tmp_path / "none.sqlite3"))
    for q in (DC_AGAIN, LOG_AGAIN, "パスワード", "実26"):
        a, b = engine.search(q), empty.search(q)
        assert (a.ids, a.match, [h.score for h in a.hits], b.library) == (b.ids, b.match, [h.score for h in b.hits], ())


def test_answering_again_reuses_the_past_answers_with_their_source(returned, data_root, tmp_path):
    from search.questionnaire.answer import answer_cells, answer_questions
    from search.engine import Engine

    engine = Engine(data_dir=data_root, library=returned[1])
    dc, log = answer_questions(engine, [DC_AGAIN, LOG_AGAIN])
    cells = answer_cells(dc)
    assert cells["該当基準"] == "実59、実38" and cells["回答の出典"] == "過去の回答"
    assert cells["回答案"] == ("入退館はICカードで記録し、記録を定期的に確認しています。\n"
                            "（過去の回答: cloud_returned.xlsx「チェックシート」6行目）")
    cells = answer_cells(log)
    assert (cells["判定"], cells["該当基準"], cells["回答の出典"]) == ("該当なし", "", "過去の回答（該当なし）")
    assert cells["回答案"].startswith("当社規程によります")


def test_rebuilding_the_indexes_leaves_the_library_untouched(returned, tmp_path):
    library = returned[1]
    before = hashlib.sha256(library.path.read_bytes()).hexdigest()
    done = CliRunner().invoke(cli.main, ["index", "--rebuild", "--keyword-only", "--data-dir", str(tmp_path / "d")],
                              env={"KIJUN_LIBRARY": str(library.path)})
    assert done.exit_code == 0, done.output
    assert hashlib.sha256(library.path.read_bytes()).hexdigest() == before and len(library) == 7


# ------------------------------------------------------------------ round trips and sheets of one name


def _add(runner: CliRunner, env: dict[str, str], *args: str) -> str:
    done = runner.invoke(cli.main, ["library", "add", *args], env=env)
    assert done.exit_code == 0, done.output
    return done.stderr


def test_answer_add_answer_add_stores_the_same_answers(tmp_path, data_root):
    """kijun's own marks never pile up: the quote guarding a bullet answer in a CSV and the
    「（過去の回答: …）」 line of a reused answer are taken off when the answered sheet is added back."""
    library = Library(tmp_path / "library.sqlite3")
    bullet = "- 基本方針を策定し、全従業員に周知しています。\n- 年1回見直しています。"
    seed = Entry(entry_id("前回.xlsx", "シート", 5), cs.CSV_QUESTIONS[0], ("実1",), bullet, ANSWERED,
                 Source("前回.xlsx", "シート", 5, "0" * 64, "2026-11-01T09:00:00+09:00"))
    from search.engine import Engine

    # the same question as row 2: its answer is reused (similarity ~1.0); added as an add does, rows and all
    Engine(data_dir=data_root, library=library).memory().commit([seed], lambda: library.replace({"前回.xlsx": [seed]}))
    env = {"KIJUN_LIBRARY": str(library.path), "KIJUN_DATA_DIR": str(data_root)}
    runner = CliRunner()
    src = tmp_path / "plain.csv"
    src.write_bytes(cs.plain_csv())
    (tmp_path / "1").mkdir(), (tmp_path / "2").mkdir()
    first, second = tmp_path / "1" / "plain_回答.csv", tmp_path / "2" / "plain_回答.csv"

    done = runner.invoke(cli.main, ["answer", str(src), "-o", str(first)], env=env)
    assert done.exit_code == 0, done.output
    written = first.read_text(encoding="utf-8-sig")
    assert "'- 基本方針を策定し" in written and "（過去の回答: 前回.xlsx「シート」5行目）" in written  # kijun's marks
    _add(runner, env, str(first))
    stored = {e.question: e.answer for e in library.entries() if e.source.file == "plain_回答.csv"}
    assert stored[cs.CSV_QUESTIONS[0]] == bullet

    done = runner.invoke(cli.main, ["answer", str(src), "-o", str(second)], env=env)
    assert done.exit_code == 0, done.output
    again = second.read_text(encoding="utf-8-sig")
    assert again.count("（過去の回答:") >= len(stored)  # every confirmed row reused its past answer
    out = _add(runner, env, str(second))
    assert "replaces the earlier import of plain_回答.csv" in out  # the same sheet, answered again
    assert {e.question: e.answer for e in library.entries() if e.source.file == "plain_回答.csv"} == stored
    assert len(library) == 1 + len(stored)


def _sheet(questions: list[str], criteria: str = "実26") -> bytes:
    """A returned CSV sheet: 質問, 該当基準, 回答案 (as kijun writes them), one row a question."""
    rows = ["質問,判定,該当基準,回答案", *(f"{q},回答候補あり,{criteria},回答{i}" for i, q in enumerate(questions, 1))]
    return ("\n".join(rows) + "\n").encode("utf-8")


CUSTOMER_A = ["データセンターの入退室を記録していますか。", "パスワードの最低文字数を定めていますか。",
              "管理者権限に多要素認証を必須としていますか。", "ログを1年以上保存していますか。",
              "保存データを暗号化していますか。"]
CUSTOMER_B = ["委託先の監査報告書を毎年入手していますか。", "障害時の連絡体制を定めていますか。",
              "バックアップの復元テストを行っていますか。", "パスワードの最低文字数を定めていますか。"]


def test_two_different_sheets_of_one_name_are_both_kept(tmp_path):
    library = Library(tmp_path / "library.sqlite3")
    env = {"KIJUN_LIBRARY": str(library.path)}
    runner = CliRunner()
    a, b = tmp_path / "a" / "チェックシート_回答.csv", tmp_path / "b" / "チェックシート_回答.csv"
    a.parent.mkdir(), b.parent.mkdir()
    a.write_bytes(_sheet(CUSTOMER_A)), b.write_bytes(_sheet(CUSTOMER_B, "実27"))
    _add(runner, env, str(a))
    [earlier] = library.imports("チェックシート_回答.csv")
    out = _add(runner, env, str(b))
    when = earlier.imported_at[:16].replace("T", " ")
    assert (f"kept beside the earlier import of チェックシート_回答.csv from {when} (5 entries): only 20% of the "
            "questions are shared, so it is another sheet of the same name; --replace replaces it instead") in out
    got = library.entries()
    assert len(got) == 9 and {e.question for e in got} == set(CUSTOMER_A) | set(CUSTOMER_B)
    assert len({e.id for e in got}) == 9  # the second sheet's rows took no place of the first's
    assert sorted(e.criteria for e in got if e.question == CUSTOMER_A[1]) == [("実26",), ("実27",)]

    # the first sheet corrected (one row's criteria) and added again replaces only itself
    a.write_bytes(_sheet(CUSTOMER_A, "実59"))
    out = _add(runner, env, str(a))
    assert "replaces the earlier import of チェックシート_回答.csv" in out and "(5 entries): 100% of the questions" in out
    assert "kept beside the earlier import of チェックシート_回答.csv" in out and "(4 entries): only 20%" in out
    got = library.entries()
    assert len(got) == 9 and {e.criteria for e in got if e.question in CUSTOMER_A[::2]} == {("実59",)}

    # in doubt, the person decides: --replace replaces every import of the name, --keep-both none
    out = _add(runner, env, "--dry-run", "--replace", str(b))
    assert out.count("replaces the earlier import") == 2 and len(library) == 9
    _add(runner, env, "--keep-both", str(a.parent / ".." / "a" / "チェックシート_回答.csv"))
    assert len(library) == 9  # the very same bytes are the same file, whatever was asked
    done = runner.invoke(cli.main, ["library", "add", "--replace", "--keep-both", str(a)], env=env)
    assert done.exit_code == 2 and "not both" in done.output


def test_a_cell_read_in_part_is_kept_with_its_warning_and_shown(tmp_path):
    library = Library(tmp_path / "library.sqlite3")
    env = {"KIJUN_LIBRARY": str(library.path)}
    runner = CliRunner()
    sheet = tmp_path / "注記つき.csv"
    sheet.write_text("質問,該当基準,回答案\n"
                     "入退室を記録していますか。,実59（注3参照）,記録しています。\n"
                     "ログを保存していますか。,実26 他2件,保存しています。\n"
                     "暗号化していますか。,実15 ※5年保存,暗号化しています。\n"
                     "鍵を管理していますか。,実38（2024年改訂）,管理しています。\n"
                     "パスワードを定めていますか。,26、27,定めています。\n", encoding="utf-8")
    out = _add(runner, env, str(sheet))
    by_row = {e.source.row: e for e in library.entries()}
    assert {r: (e.criteria, e.unread) for r, e in by_row.items()} == {
        2: (("実59",), ("(注3参照)",)), 3: (("実26",), ("他2件",)), 4: (("実15",), ("※5年保存",)),
        5: (("実38",), ("(2024年改訂)",)), 6: (("実26", "実27"), ())}
    assert "5 confirmed (5 answered, 0 該当なし), 0 skipped" in out
    assert ("warning: row 2: the 該当基準 cell also says 「(注3参照)」, which was not read as criteria; kept 実59 — "
            "check them") in out
    assert out.count("warning: row") == 4
    shown = runner.invoke(cli.main, ["library", "show", by_row[5].id], env=env)
    assert shown.exit_code == 0 and "該当基準: 実38" in shown.output
    assert "warning: row 5: the 該当基準 cell also says 「(2024年改訂)」" in shown.output
    assert "warning" not in runner.invoke(cli.main, ["library", "show", by_row[6].id], env=env).output
    assert json.loads(runner.invoke(cli.main, ["library", "show", by_row[3].id, "--format", "json"],
                                    env=env).output)["unread"] == ["他2件"]


# ------------------------------------------------------------------ one judgement per question

TRAINING = "従業員に対して定期的なセキュリティ教育を実施していますか。"
TRAINING_AGAIN = "全従業員を対象に、情報セキュリティに関する研修を年に一度以上実施していますか。"


def _library_saying(tmp_path: Path, data_root: Path, criteria: tuple[str, ...]) -> Library:
    """A library holding one returned row for TRAINING: 該当なし (no criteria) or confirmed with `criteria`,
    added as an import adds it (its row worked out first)."""
    from search.engine import Engine

    library = Library(tmp_path / "library.sqlite3")
    source = Source("教育_回答.xlsx", "チェックシート", 5, "0" * 64, "2026-12-07T10:00:00")
    entry = Entry(entry_id(source.file, source.sheet, source.row), TRAINING, criteria,
                  "当社規程によります。" if not criteria else "全従業員に年1回の研修を実施しています。",
                  ANSWERED if criteria else NOT_IN_DOCUMENT, source)
    Engine(data_dir=data_root, library=library).memory().commit([entry], lambda: library.replace({source.file: [entry]}))
    return library


@pytest.mark.parametrize("criteria", [(), ("実31", "実36")], ids=["not-in-document", "confirmed"])
def test_a_reused_past_answer_is_the_one_judgement_everywhere(tmp_path, data_root, engine, criteria):
    """The same question in other words, reused from the library: the verdict, 判定, 該当基準 and 回答案 all
    say what the person said — 該当なし, or the criteria they confirmed (the document alone answers it)."""
    from search.engine import Engine
    from search.questionnaire.answer import answer_cells, answer_questions

    assert_clearly(engine.search(TRAINING_AGAIN), "answered")  # the document alone: answered, 実31 first
    remembering = Engine(data_dir=data_root, library=_library_saying(tmp_path, data_root, criteria))
    result = remembering.search(TRAINING_AGAIN)
    [past] = [p for p in result.library if p.reused]
    assert past.entry.question == TRAINING and result.match.past
    assert past.similarity >= remembering.weights.library.reuse + 0.01  # reused by a clear margin
    [a] = answer_questions(remembering, [TRAINING_AGAIN])
    cells = answer_cells(a)
    if not criteria:
        assert result.match.status == "no_match" and not result.hits[0].confirmed
        assert (cells["判定"], cells["該当基準"], cells["回答の出典"]) == ("該当なし", "", "過去の回答（該当なし）")
        assert cells["回答案"].startswith("当社規程によります。")
    else:
        assert result.match.status == "answered" and result.ids[:2] == list(criteria)
        assert result.hits[0].confirmed and result.hits[1].confirmed
        assert (cells["判定"], cells["該当基準"], cells["回答の出典"]) == ("回答候補あり", "実31、実36", "過去の回答")
    assert result.to_dict()["match"]["past"] is True
