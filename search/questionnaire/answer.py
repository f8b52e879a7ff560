"""Answer a check sheet from the document: per question, the verdict, the best criteria and a cited draft.

Pure library, shared by `kijun answer` and the web questionnaire page. Reading and
writing spreadsheets is the job of `search.questionnaire.reader` and `writer`; whether the
document answers a query is the engine's verdict (`SearchResult.match`, from `search.answerability`), used as is.

* `answer_questions(engine, questions, mode=, top=)` → one `Answer` per question:
  the verdict, the best criteria (criteria with identical text folded into one
  `Candidate`, "実57 / 実58"), and for an answered question a draft (回答案) made only
  of sentences quoted verbatim from the document, followed by their citation.
* `answer_cells(answer)` → the values of `ANSWER_COLUMNS`, written into the user's
  own file; `table_rows(answers, rows)` → kijun's own flat table.

The draft (回答案)
------------------
1–3 sentences of the best criterion's AWSの対応状況: those holding the most of the
question's words (the index's analyzer; each word weighted by its idf over the
criteria, so a rare word counts more than 管理 or 対策), in document order, then the
criterion ID(s): 「…パスワードポリシーを定めています。[実26]」 or 「…[実57/実58]」. When
the customer is responsible too (お客様 ◯) and the customer column says more than the
boilerplate sentence most criteria share, its best sentence follows, marked
「（お客様の統制）…[実26]」. A criterion whose AWS column is empty is cited through its
customer text alone. Nothing is reworded or invented, boilerplate is never quoted, and
a criterion with nothing quotable says so in the draft's place. 要確認 questions get no
draft (and no quotes): only the candidates, for a person to check.
"""
from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from corpus.documents import CRITERION
from corpus.passages import normalize_passage, split_sentences
from search import snippet
from search.answerability import ANSWERED, CONFIDENCE_LABELS, NO_MATCH, STATUS_LABELS
from search.errors import QueryError, UnknownMode
from search.query import DEFAULT_MODE

if TYPE_CHECKING:
    from corpus.documents import DocumentTable, SearchDocument
    from search.engine import Engine, Hit
    from search.questionnaire.checksheet import QuestionRow

MAX_QUESTION_CHARS = 2_000  # longer questions are cut before every step
MAX_TOP = 10  # candidate slots listed per question
MAX_DRAFT_SENTENCES = 3
MAX_DRAFT_CHARS = 400  # further sentences stop here (the best one always goes in)
CUSTOMER_MARK = "（お客様の統制）"

ANSWER_COLUMNS = ("判定", "該当基準", "確信度", "回答案", "引用(AWSの対応状況)", "引用(お客様が統制すべき内容)",
                  "他の候補")
"""The columns added to the user's check sheet, in order (see README: the questionnaire workflow)."""
DRAFT_COLUMN = "回答案"


class QuestionnaireError(ValueError):
    """Questions that cannot be answered as asked (a bad mode or count); the message says what to do."""


# ----------------------------------------------------------------- results


@dataclass(frozen=True)
class Candidate:
    """One slot of the answer: a criterion, with the criteria of identical text folded into it."""

    ids: tuple[str, ...]  # ("実57", "実58"): the ranked one first
    score: float
    text: str  # the passage the search matched, verbatim (or its snippet)
    near_text: tuple[str, ...] = ()  # other candidates whose text is nearly identical
    aws_role: str = ""
    customer_role: str = ""

    @property
    def id(self) -> str:
        return self.ids[0]

    @property
    def label(self) -> str:
        """How the slot is named in a cell: 実26, or 実57 / 実58."""
        return " / ".join(self.ids)

    @property
    def citation(self) -> str:
        """The bracket after a quoted sentence: [実26], or [実57/実58]."""
        return "[" + "/".join(self.ids) + "]"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "same_text": list(self.ids[1:]), "near_text": list(self.near_text),
                "score": self.score, "text": self.text}


@dataclass(frozen=True)
class Answer:
    question: str
    status: str  # answerability.ANSWERED | NO_MATCH
    confidence: str  # high | medium | low
    score: float | None  # the verdict's score, 0..1 (None: a lookup by ID, or a question that cannot be searched)
    candidates: tuple[Candidate, ...] = ()
    draft: str = ""  # 回答案: verbatim sentences and their citations ("" for 要確認)
    aws_quote: str = ""  # the best criterion's whole AWSの対応状況, as printed (boilerplate lines left out)
    customer_quote: str = ""  # its whole お客様が統制すべき内容, likewise
    note: str = ""  # why there is no draft or no candidate
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @property
    def answered(self) -> bool:
        return self.status == ANSWERED

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def confidence_label(self) -> str:
        return CONFIDENCE_LABELS.get(self.confidence, self.confidence)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "question": self.question, "status": self.status, "confidence": self.confidence, "score": self.score,
            "draft": self.draft, "quotes": {"aws_status": self.aws_quote, "customer_controls": self.customer_quote},
            "matches": [c.to_dict() for c in self.candidates]}
        if self.note:
            d["note"] = self.note
        return d


# ----------------------------------------------------------------- answering


def answer_questions(engine: Engine, questions: Iterable[str], *, mode: str = DEFAULT_MODE,
                     top: int = 3, progress: Callable[[int, int], None] | None = None) -> list[Answer]:
    """One answer per non-blank question, in order (a question asked twice is searched once).

    A question is cut to MAX_QUESTION_CHARS before anything reads it (search, verdict, draft and
    their caches), with a warning. `progress(done, total)` is called after each question; an
    exception it raises (the job was cancelled) stops the answering."""
    if not 1 <= int(top) <= MAX_TOP:
        raise QuestionnaireError(f"top must be between 1 and {MAX_TOP}, got {top}")
    asked = [q for q in (str(raw).strip() for raw in questions) if q]
    seen: dict[str, Answer] = {}
    out = []
    for done, q in enumerate(asked, start=1):
        cut = q[:MAX_QUESTION_CHARS]
        if cut not in seen:
            seen[cut] = _answer(engine, cut, mode, int(top))
            if len(q) > MAX_QUESTION_CHARS:
                seen[cut] = replace(seen[cut], warnings=(*seen[cut].warnings, question_cut(len(q))))
        out.append(seen[cut])
        if progress is not None:
            progress(done, len(asked))
    return out


def question_cut(length: int) -> str:
    return (f"the question is {length:,} characters; only its first {MAX_QUESTION_CHARS:,} were read "
            "(split it into shorter questions)")


def answer_sheet(engine: Engine, rows: Sequence[QuestionRow], *, mode: str = DEFAULT_MODE,
                 top: int = 3, progress: Callable[[int, int], None] | None = None) -> list[Answer]:
    """One answer per question row of a check sheet (`search.questionnaire.reader`), in the same order."""
    answers = answer_questions(engine, [r.text for r in rows], mode=mode, top=top, progress=progress)
    if len(answers) != len(rows):  # a sheet's question rows always have text
        raise QuestionnaireError("a question row has no text; read the check sheet again")
    return answers


def _answer(engine: Engine, q: str, mode: str, top: int) -> Answer:
    try:
        result = engine.search(q, mode=mode, limit=top + 10, explain=True)
    except UnknownMode as e:
        raise QuestionnaireError(str(e)) from None
    except QueryError as e:
        return Answer(q, NO_MATCH, "low", None, note=str(e))
    hits = [h for h in result.hits if h.kind == CRITERION][:top]
    candidates = tuple(_candidate(engine, h) for h in hits)
    if result.match is None:  # the question names criteria by ID: those are the answer
        status, confidence, score = ANSWERED, "high", None
    else:
        status, confidence, score = result.match.status, result.match.confidence, result.match.score
    if not candidates:  # nothing to cite (an unknown ID, or only change-history entries): a person must look
        return Answer(q, NO_MATCH, "low", score, note="該当する基準がありません", warnings=result.warnings)
    if status != ANSWERED:
        return Answer(q, status, confidence, score, candidates, warnings=result.warnings)
    best = candidates[0]
    # a lookup by ID matched no passage: its draft starts at the criterion's first sentence
    matched = (hits[0].explain or {}).get("passage") if result.match is not None else None
    draft, note = compose_draft(engine.table, q, best, matched)
    c = engine.doc.get(best.id)
    d = engine.table[best.id]
    return Answer(q, status, confidence, score, candidates, draft=draft,
                  aws_quote=without_boilerplate(engine.doc.text_of(c).aws_status, d),
                  customer_quote=without_boilerplate(c.customer_controls, d), note=note, warnings=result.warnings)


def _candidate(engine: Engine, h: Hit) -> Candidate:
    text = ((h.explain or {}).get("passage") or h.snippet).strip()
    return Candidate(folded_ids(engine, h), h.score, text, h.near_text, h.aws_role, h.customer_role)


def folded_ids(engine: Engine, h: Hit) -> tuple[str, ...]:
    """The criteria one hit stands for, in document order: (実57, 実58) for 実57's hit, else (its id,)."""
    if not h.same_text:
        return (h.id,)
    folded = {h.id, *h.same_text}
    return tuple(k for k in engine.table.same_text(h.id) if k in folded)


# ----------------------------------------------------------------- the draft


def compose_draft(table: DocumentTable, question: str, best: Candidate,
                  matched: str | None = None) -> tuple[str, str]:
    """(回答案, note): quoted sentences of `best`, each part followed by its citation; or ("", why not).
    `matched` is the passage the search matched by meaning, used when no sentence shares a word
    with the question."""
    d = table[best.id]
    words = {t for t, _, _ in snippet.word_tokens(question)}
    weights = _idf(table)
    parts = []
    aws = _sentences(d, "aws_status")
    chosen = pick_sentences(aws, words, weights, MAX_DRAFT_SENTENCES)
    if aws and not chosen:  # matched by meaning, not by words: the passage the search matched
        own = {p.text for p in d.passages if p.field == "aws_status"}
        chosen = (split_sentences(matched) if matched in own else aws)[:1]
    if chosen:
        parts.append(join_sentences(chosen) + best.citation)
    if best.customer_role == "primary" or not chosen:
        own = _sentences(d, "customer_controls")
        mine = pick_sentences(own, words, weights, 1) or own[:1]
        if mine:
            parts.append(CUSTOMER_MARK + mine[0] + best.citation)
    if not parts:
        return "", (f"{best.label} には引用できる固有の記述がありません"
                    "（お客様の統制の定型文のみです）。担当者が確認してください。")
    return "\n".join(parts), ""


def _sentences(d: SearchDocument, field_name: str) -> list[str]:
    """The sentences of one column, boilerplate left out; a sentence the column repeats, once."""
    return list(dict.fromkeys(s for p in d.passages if p.field == field_name for s in split_sentences(p.text)))


def without_boilerplate(column: str, d: SearchDocument) -> str:
    """A column as printed, minus its lines of boilerplate (the sentence most criteria share) when it
    says more than that; a column of boilerplate only is quoted as it is."""
    shared = {normalize_passage(p.text) for p in d.boilerplate}
    lines = column.split("\n")
    kept = [line for line in lines if normalize_passage(line) not in shared]
    return "\n".join(kept).strip("\n") if any(line.strip() for line in kept) else column


def pick_sentences(sentences: Sequence[str], words: set[str], weights: dict[str, float], limit: int) -> list[str]:
    """Up to `limit` sentences holding the most (idf-weighted) query words, in document order;
    a sentence worth less than half the best one, or past MAX_DRAFT_CHARS, is left out."""
    scores = [sum(weights.get(t, 0.0) for t in {t for t, _, _ in snippet.word_tokens(s)} & words)
              for s in sentences]
    best = max(scores, default=0.0)
    if best <= 0:
        return []
    chosen: list[int] = []
    for i in sorted(range(len(sentences)), key=lambda i: (-scores[i], i))[:limit]:
        if chosen and (scores[i] < best / 2 or sum(len(sentences[j]) for j in chosen) + len(sentences[i])
                       > MAX_DRAFT_CHARS):
            break
        chosen.append(i)
    return [sentences[i] for i in sorted(chosen)]


def join_sentences(sentences: Sequence[str]) -> str:
    """Sentences side by side as the document writes them: directly after 。, a space after ". ",
    a line break after a line that ends without a stop."""
    out = ""
    for s in sentences:
        if out:
            out += "" if out.endswith(("。", "．", "！", "？")) else " " if out.endswith((".", "!", "?")) else "\n"
        out += s
    return out


_IDF: dict[str, dict[str, float]] = {}
_IDF_LOCK = threading.Lock()


def _idf(table: DocumentTable) -> dict[str, float]:
    """How specific each word of the document is: log(N / df) over the criteria; computed once per corpus."""
    with _IDF_LOCK:
        if table.corpus_hash not in _IDF:
            criteria = [d for d in table if d.kind == CRITERION]
            df: Counter[str] = Counter()
            for d in criteria:
                df.update({t for p in d.passages for t, _, _ in snippet.word_tokens(p.text)})
            _IDF[table.corpus_hash] = {t: math.log((len(criteria) + 1) / n) for t, n in df.items()}
        return _IDF[table.corpus_hash]


# ----------------------------------------------------------------- cells


def answer_cells(a: Answer) -> dict[str, str]:
    """The values of ANSWER_COLUMNS for one answer. A 要確認 row names its candidates but
    quotes nothing, so nothing unchecked is pasted into a reply."""
    first = a.candidates[0] if a.candidates else None
    return {
        "判定": a.status_label,
        "該当基準": first.label if first else "",
        "確信度": a.confidence_label,
        DRAFT_COLUMN: a.draft or (f"（{a.note}）" if a.answered and a.note else ""),
        "引用(AWSの対応状況)": a.aws_quote,
        "引用(お客様が統制すべき内容)": a.customer_quote,
        "他の候補": "、".join(c.label for c in a.candidates[1:]),
    }


def filled_cells(rows: Sequence[QuestionRow], answers: Sequence[Answer]) -> dict[tuple[str | None, int],
                                                                                  dict[str, str]]:
    """What `search.questionnaire.writer.write_answers` writes: (sheet, row) → the ANSWER_COLUMNS values. Empty values
    are left out, so a column of the user's that the draft goes into (into=) keeps what they wrote
    wherever kijun has no draft."""
    return {(r.sheet, r.row): {k: v for k, v in answer_cells(a).items() if v != ""}
            for r, a in zip(rows, answers, strict=True)}


def table_rows(answers: Sequence[Answer], rows: Sequence[QuestionRow] | None = None) -> list[list[Any]]:
    """kijun's own flat table, header first: No., where the question was (シート, 行) when it came
    from a file, the question, then ANSWER_COLUMNS."""
    sheets = rows is not None and any(r.sheet is not None for r in rows)
    header = ["No.", *(["シート"] if sheets else []), *(["行"] if rows is not None else []), "質問", *ANSWER_COLUMNS]
    out: list[list[Any]] = [header]
    for n, a in enumerate(answers, 1):
        where: list[Any] = []
        if rows is not None:
            where = ([rows[n - 1].sheet or ""] if sheets else []) + [rows[n - 1].row]
        cells = answer_cells(a)
        out.append([n, *where, a.question, *(cells[c] for c in ANSWER_COLUMNS)])
    return out
