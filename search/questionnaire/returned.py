"""Returned check sheets: what a person confirmed, read into answer-library entries.

Two kinds of sheet are read the same way, the question table found as `kijun answer` finds it:

* a sheet `kijun answer` filled and a person then edited. The person's 該当基準 and 判定 are
  the truth: 判定 of 該当なし / 対象外 / 回答不要 / N/A / not applicable means the document does
  not cover the question; otherwise the criteria in 該当基準 (実26、実27 / 実57・実58 / 26 / 監 3)
  are confirmed — an untouched 回答候補あり row counts, it was sent. A row still 要確認 with no
  criterion is skipped and listed. The answer sent is the 回答案 column, or the column the draft
  went into (`answer_column`);
* any answered sheet: the answer column (`answer_column`), the criteria column
  (`criteria_column`) if it has one, and criteria cited in the answer text ([実26]). An answer
  that is only 該当なし (or N/A …) is a 該当なし entry.

A criteria cell is read as a person writes it (`corpus.vocabulary.read_cell`): what it holds
besides criteria (「実59（注3参照）」's note) is kept with the entry as a warning (`Entry.unread`).
kijun's own marks are taken off what it wrote: the quote before a formula-like start in a CSV
(`delimited.unguarded`) and the 「（過去の回答: …）」 line of a reused answer, so a sheet answered,
added, answered again and added again stores the same answer.

Nothing here writes: `search.library.store.Library.replace` stores what this reads, one
transaction per file.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from corpus.records import Document
from corpus.vocabulary import ids_in, read_cell
from search.answerability import NO_MATCH, STATUS_LABELS
from search.query import MAX_QUESTION_CHARS
from search.library.store import (ANSWERED, MAX_ANSWER_CHARS, MAX_UNREAD_CHARS, MAX_UNREAD_PARTS, NOT_IN_DOCUMENT,
                                  Entry, Incoming, Source, entry_id, fingerprint, now)
from search.questionnaire.answer import CRITERIA_COLUMN, DRAFT_COLUMN, VERDICT_COLUMN, without_past_mark
from search.questionnaire.delimited import unguarded
from messages import Message, excerpt
from search.questionnaire.checksheet import (Questionnaire, QuestionTable, SheetError, UnknownColumn, at, fold,
                                             load_bytes)
from search.questionnaire.reader import read_questionnaire, resolve_column, row_cells

NOT_IN_DOCUMENT_WORDS = ("該当なし", "該当無し", "非該当", "対象外", "回答不要", "n/a", "na", "not applicable")
"""What a person writes in 判定 (or as the whole answer) for a question this document does not cover."""

class NoAnswerColumn(SheetError):
    """A sheet with neither a 回答案 nor a 該当基準 column, and none named: not one kijun answered."""

    code = "returned_no_answer_columns"


SKIP_UNCONFIRMED = "still_unconfirmed"
SKIP_NO_CRITERION = "no_criterion_given"
SKIP_UNKNOWN = "unknown_criteria"


@dataclass(frozen=True)
class SkippedQuestion:
    sheet: str | None
    row: int
    question: str
    reason: Message  # SKIP_UNCONFIRMED, SKIP_NO_CRITERION or SKIP_UNKNOWN, with its parameters


@dataclass(frozen=True)
class Returned:
    """What one returned file holds for the library."""

    filename: str
    questionnaire: Questionnaire
    entries: tuple[Entry, ...]
    skipped: tuple[SkippedQuestion, ...]
    sha256: str = ""  # of the file's bytes

    @property
    def answered(self) -> int:
        return sum(e.answered for e in self.entries)

    @property
    def not_in_document(self) -> int:
        return len(self.entries) - self.answered

    @property
    def warned(self) -> tuple[Entry, ...]:
        """The entries whose criteria cell held more than criteria (what was not read is their warning)."""
        return tuple(e for e in self.entries if e.unread)

    @property
    def incoming(self) -> Incoming:
        """The file as the library adds it: its entries, and every question row (skipped ones too), by
        which an earlier import of the same name is told to be the same sheet or another."""
        questions = frozenset(fingerprint(r.text[:MAX_QUESTION_CHARS]) for r in self.questionnaire.questions)
        return Incoming(self.filename, self.sha256, self.entries, questions)


def read_returned(source: Path | str | bytes, filename: str, doc: Document, *, sheet: str | None = None,
                  header_row: int | None = None, column: str | int | None = None,
                  answer_column: str | None = None, criteria_column: str | None = None) -> Returned:
    """The entries a returned check sheet confirms, and the question rows it does not (and why)."""
    data = load_bytes(source, filename)
    q = read_questionnaire(data, filename, sheet=sheet, header_row=header_row, column=column)
    cells = row_cells(data, filename, q)
    sha, imported_at = hashlib.sha256(data).hexdigest(), now()
    entries: list[Entry] = []
    skipped: list[SkippedQuestion] = []
    for table in q.tables:
        cols = _columns(table, filename, answer_column, criteria_column)
        for r in table.questions:
            row = cells.get((r.sheet, r.row), ())
            value = {name: unguarded(row[c - 1] if c is not None and c - 1 < len(row) else "")
                     for name, c in cols.items()}
            outcome = _outcome(value, doc)
            if isinstance(outcome, Message):
                skipped.append(SkippedQuestion(r.sheet, r.row, r.text, outcome))
                continue
            verdict, criteria, unread = outcome
            entries.append(Entry(entry_id(filename, r.sheet, r.row), r.text[:MAX_QUESTION_CHARS], criteria,
                                 without_past_mark(value["answer"])[:MAX_ANSWER_CHARS], verdict,
                                 Source(filename, r.sheet, r.row, sha, imported_at), unread))
    return Returned(filename, q, tuple(entries), tuple(skipped), sha)


def _columns(table: QuestionTable, filename: str, answer_column: str | None,
             criteria_column: str | None) -> dict[str, int | None]:
    """Where the verdict, the criteria and the answer are (None: the sheet has no such column)."""
    where = at(filename, table.sheet)

    def find(given: str | None, control: str, default: str) -> int | None:
        if given:
            c = resolve_column(table.headers, given, filename, where, table.header_row, control)
            if c == table.question_column:
                raise UnknownColumn("returned_column_is_question", at=where, column=given,
                                    control=Message(f"control_{control}"))
            return c
        return next((c for c, h in enumerate(table.headers, 1) if fold(h) == fold(default)), None) \
            if table.has_header else None

    cols = {"verdict": find(None, "", VERDICT_COLUMN), "criteria": find(criteria_column, "criteria_column",
                                                                         CRITERIA_COLUMN),
            "answer": find(answer_column, "answer_column", DRAFT_COLUMN)}
    if cols["answer"] is None and cols["criteria"] is None:
        raise NoAnswerColumn(at=where)
    return cols


def _outcome(value: dict[str, str], doc: Document) -> tuple[str, tuple[str, ...], tuple[str, ...]] | Message:
    """(verdict, criteria, what of the criteria cell was not read) for a confirmed row, or why it is skipped."""
    verdict, answer = value["verdict"], value["answer"]
    if any(_says_not_in_document(value[k]) for k in ("verdict", "criteria", "answer")):
        return NOT_IN_DOCUMENT, (), ()
    cell = read_cell(value["criteria"])
    criteria = list(cell.ids) or ids_in(answer)
    if not criteria:
        unconfirmed = fold(verdict) == fold(STATUS_LABELS[NO_MATCH])
        return Message(SKIP_UNCONFIRMED if unconfirmed else SKIP_NO_CRITERION)
    unknown = unknown_criteria(criteria, doc)
    if unknown:
        return Message(SKIP_UNKNOWN, {"ids": unknown})
    return ANSWERED, tuple(criteria), tuple(excerpt(u, MAX_UNREAD_CHARS - 1) for u in cell.unread[:MAX_UNREAD_PARTS])


def _says_not_in_document(text: str) -> bool:
    t = re.sub(r"[\s。．.、,]+", "", unicodedata.normalize("NFKC", text or "")).lower()
    return t in {re.sub(r"\s+", "", w) for w in NOT_IN_DOCUMENT_WORDS}


def unknown_criteria(ids: Sequence[str], doc: Document) -> list[str]:
    """The IDs that are neither a criterion of the document nor one its change history speaks of (統20)."""
    history = {i for r in doc.revisions for i in r.ids}
    return [c for c in ids if c not in doc and c not in history]


def describe(returned: Returned) -> list[str]:
    """What an import found, one line per fact (for stderr)."""
    lines = [f"{returned.filename}: {len(returned.entries)} confirmed ({returned.answered} answered, "
             f"{returned.not_in_document} 該当なし), {len(returned.skipped)} skipped"]
    for s in returned.skipped:
        where = f"sheet {s.sheet!r} row {s.row}" if s.sheet is not None else f"row {s.row}"
        lines.append(f"  skipped {where} ({s.reason}): {_short(s.question)}")
    for e in returned.warned:
        lines.append(f"  warning: {unread_message(e)}")
    return lines


def unread_message(e: Entry) -> Message:
    """An entry's warning: which criteria were read from its 該当基準 cell, and what else it held."""
    where = (Message("where_sheet_row", {"sheet": e.source.sheet, "row": e.source.row}) if e.source.sheet
             else Message("row_n", {"row": e.source.row}))
    return Message("criteria_unread", {"where": where, "ids": list(e.criteria), "unread": list(e.unread)})


def _short(text: str, n: int = 40) -> str:
    return text if len(text) <= n else text[:n] + "…"
