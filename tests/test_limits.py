"""Bounded work for whatever a check sheet or a question holds: each limit refuses, in one line, fast.

The server-level probes (the same inputs sent to a real `kijun serve`) are in test_serving.py.
"""
from __future__ import annotations

import csv
import io
import random
import re
import time
import zipfile

import hostile
import pytest

from indexer.text_cache import approx_bytes, text_cache
from search import snippet
from search.questionnaire import answer as qa
from search.questionnaire import checksheet, reader
from search.questionnaire.checksheet import PackageTooLarge, SheetTooLarge
from search.questionnaire.delimited import safe_csv_text
from search.questionnaire.reader import read_questionnaire
from search.questionnaire.table import table_bytes

pytestmark = pytest.mark.scored


def test_a_zip_bomb_is_refused_from_the_zip_directory_before_it_is_inflated():
    bomb = hostile.zip_bomb_xlsx(40 * 1024 * 1024)  # 40 MB of whitespace in 40 KB
    assert len(bomb) < 100_000
    started = time.perf_counter()
    with pytest.raises(PackageTooLarge, match=r"bomb.xlsx: its parts inflate to 40 MB; the limit is 32 MB"):
        read_questionnaire(bomb, "bomb.xlsx")
    assert time.perf_counter() - started < 0.5  # nothing was inflated


def test_a_part_that_inflates_a_thousand_times_is_refused_even_under_the_size_limit():
    bomb = hostile.zip_bomb_xlsx(4 * 1024 * 1024)
    with pytest.raises(PackageTooLarge, match=r"the part xl/worksheets/sheet1.xml inflates [\d,]+ times \(at most 100"):
        read_questionnaire(bomb, "bomb.xlsx")


def test_the_long_cell_probe_is_refused_and_a_long_question_is_cut_before_every_step(engine):
    with pytest.raises(PackageTooLarge):  # 12 million characters packed 80:1 and more
        read_questionnaire(hostile.long_cell_xlsx(12_000_000), "long.xlsx")
    question = hostile.QUESTION * 1200  # 51,600 characters
    started = time.perf_counter()
    [answer] = qa.answer_questions(engine, [question], mode="hybrid")
    assert time.perf_counter() - started < 5
    assert answer.question == question[:qa.MAX_QUESTION_CHARS]
    assert str(answer.warnings[-1]) == ("the question is 51,600 characters; only its first 2,000 were read "
                                        "(split it into shorter questions)")
    assert answer.candidates[0].id == "実26" and answer.draft.split("\n")[0].endswith("[実26]")
    cached = [key[0] for key in snippet.mode_tokens.cache.keys()]  # (text, mode)
    assert max(len(k) for k in cached) <= qa.MAX_QUESTION_CHARS  # the draft tokenised the cut question


def test_cells_are_counted_before_openpyxl_opens_the_workbook(monkeypatch):
    data = hostile.questions_xlsx(40)  # a header of 3 cells, 40 rows of 2 (the empty 回答 cells are not stored)
    monkeypatch.setattr(checksheet, "MAX_CELLS", 82)
    with pytest.raises(SheetTooLarge, match=r"^many.xlsx: more than 82 cells; split the check sheet"):
        read_questionnaire(data, "many.xlsx")
    monkeypatch.setattr(checksheet, "MAX_CELLS", 83)
    assert len(read_questionnaire(data, "many.xlsx").questions) == 40


def test_a_cell_far_down_costs_the_rows_above_it():
    """A dozen cells in the XML, a million rows for whoever reads it: the rows read count, not the cells stored."""
    data = hostile.questions_xlsx(3)
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name in src.namelist():
            part = src.read(name)
            if name == "xl/worksheets/sheet1.xml":
                part = part.replace(b"</sheetData>", b'<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>x</t>'
                                                     b"</is></c></row></sheetData>")
            z.writestr(name, part)
    far = buf.getvalue()
    started = time.perf_counter()
    with pytest.raises(SheetTooLarge, match="^far.xlsx: more than 200,000 cells"):
        read_questionnaire(far, "far.xlsx")
    assert time.perf_counter() - started < 5


def test_a_csv_wider_than_excel_is_refused_at_its_first_line():
    started = time.perf_counter()
    with pytest.raises(SheetTooLarge, match=r"^wide.csv: line 1 has 100,000 columns; a sheet has at most 16,384"):
        read_questionnaire(hostile.wide_csv(100_000), "wide.csv")
    assert time.perf_counter() - started < 2


def test_a_csv_of_excels_widest_reads_in_seconds():
    started = time.perf_counter()
    q = read_questionnaire(hostile.wide_csv(16_384), "wide.csv")
    assert [r.text for r in q.questions] == [hostile.QUESTION] and q.tables[0].question_column_letter == "B"
    assert time.perf_counter() - started < 5


# ---- header detection: one look-up pass, the same answers as a regex per keyword


def _oracle(header: str) -> int | None:
    """The former implementation: every keyword's pattern over the header; the match ending last (the
    longest keyword of those) decides."""
    def pattern(word: str) -> re.Pattern[str]:
        if word.isascii():
            return re.compile(r"(?<![a-z0-9])" + r"\s*".join(re.escape(w) for w in word.split()) + r"(?![a-z0-9])")
        return re.compile(re.escape(word))

    h = re.sub(r"[(\[【<].*?[)\]】>]", " ", checksheet.fold(header))
    best = None
    for word, kind in reader._KINDS:
        for m in pattern(word).finditer(h):
            if best is None or (m.end(), len(word)) > best[:2]:
                best = (m.end(), len(word), kind)
    return None if best is None else best[2]


def test_header_kinds_agree_with_a_pattern_per_keyword():
    pieces = [w for w, _ in reader._KINDS] + ["の", "に対する", " ", "x", "1", "(", ")", "【", "】", "Check", "Q", "-"]
    rng = random.Random(20)
    headers = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 5))) for _ in range(3000)]
    headers += ["質問に対する回答", "評価項目", "確認項目(必須)", "Control Question", "Answer (Yes/No)", "No.", "備考"]
    assert [reader._header_kind(h) for h in headers] == [_oracle(h) for h in headers]
    assert [reader._header_kind(h) for h in headers[-7:]] == [0, 2, 2, 2, 0, 0, 0]


# ---- caches and formulas


def test_a_text_cache_holds_at_most_its_bytes():
    calls = []

    @text_cache(200_000)
    def tokens(text: str) -> tuple[str, ...]:
        calls.append(text)
        return tuple(text)

    for n in range(50):
        tokens(f"{n:03d}" + "あ" * 2_000)  # ~100 KB of tuple each: two fit
    assert tokens.cache.currsize <= 200_000 and len(tokens.cache) == 1
    tokens("049" + "あ" * 2_000)
    assert len(calls) == 50  # the most recent one was kept
    assert tokens("x" * 10) == tuple("x" * 10) and approx_bytes(("ab", (1, "c"))) > approx_bytes("ab")
    huge = "い" * 100_000
    assert tokens(huge) == tuple(huge) and (huge,) not in tokens.cache  # larger than the budget: not kept


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "＝", "＋", "－", "＠", "﹦"])
def test_cells_that_would_run_as_formulas_are_written_as_text(start):
    assert safe_csv_text(start + "1+1") == "'" + start + "1+1"
    assert table_bytes([["質問"], [start + "SUM(A1:A2)"]], "csv").decode("utf-8-sig").splitlines()[1] == \
        f"'{start}SUM(A1:A2)"
    assert safe_csv_text("\tcmd") == "'\tcmd" and safe_csv_text("パスワード=秘密") == "パスワード=秘密"


def test_kijun_table_keeps_a_fullwidth_formula_question_as_text(engine):
    q = read_questionnaire(hostile.formula_csv(), "f.csv")
    answers = qa.answer_sheet(engine, q.questions, mode="keyword")
    table = table_bytes(qa.table_rows(answers, q.questions), "csv").decode("utf-8-sig")
    questions = [row[2] for row in csv.reader(io.StringIO(table, newline=""))][1:]
    assert [s[:2] for s in questions] == ["'=", "'＝", "'＋", "'－", "'＠", "'+"]


def test_duplicate_reports_are_computed_once_per_step_of_the_threshold(doc):
    """Each threshold costs seconds of MinHash: a server asked for 0.8301, 0.8302 … makes one report."""
    from corpus.duplicates import cached_report

    report = cached_report(doc, threshold=0.8301)
    assert report.threshold == 0.85 and cached_report(doc, threshold=0.86) is report
    assert cached_report(doc, threshold=0.8) is cached_report(doc)
