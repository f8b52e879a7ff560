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
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from corpus.documents import CRITERION
from messages import Explained, Message
from corpus.passages import normalize_passage, split_sentences
from indexer.keyword_index import GENERIC_DF_SHARE
from search import snippet
from search.answerability import ANSWERED, CONFIDENCE_LABELS, NO_MATCH, STATUS_LABELS
from search.library.recall import Precedent
from search.library.store import NOT_IN_DOCUMENT, VERDICT_LABELS
from search.errors import QueryError, UnknownMode
from search.query import DEFAULT_MODE, MAX_QUESTION_CHARS

if TYPE_CHECKING:
    from corpus.documents import DocumentTable, SearchDocument
    from search.engine import Closeness, Engine, Hit
    from search.questionnaire.checksheet import QuestionRow

MAX_TOP = 10  # candidate slots listed per question
BATCH = 50  # questions embedded per step (one at a time inside it); progress is reported after each step
MAX_DRAFT_SENTENCES = 3
MAX_DRAFT_CHARS = 400  # further sentences stop here (the best one always goes in)
SEMANTIC_MARGIN = 0.04  # a quoted sentence's cosine with the question is at most this far below the closest one's
GENERIC_IDF = math.log(1 / GENERIC_DF_SHARE)  # a word in that share of the criteria or more is generic, as for ranking
CUSTOMER_MARK = "（お客様の統制）"

VERDICT_COLUMN, CRITERIA_COLUMN, DRAFT_COLUMN, ORIGIN_COLUMN = "判定", "該当基準", "回答案", "回答の出典"
ANSWER_COLUMNS = (VERDICT_COLUMN, CRITERIA_COLUMN, "確信度", DRAFT_COLUMN, "引用(AWSの対応状況)",
                  "引用(お客様が統制すべき内容)", "他の候補", ORIGIN_COLUMN)
"""The columns added to the user's check sheet, in order (see README: the questionnaire workflow)."""
FROM_DOCUMENT = "文書から引用"
FROM_PAST = "過去の回答"
PAST_MARK = "（過去の回答: {source}）"
_PAST_MARK_AT_END = re.compile(r"\s*" + re.escape(PAST_MARK).replace(re.escape("{source}"), r"[^\n]*") + r"\s*$")


def without_past_mark(text: str) -> str:
    """An answer without the line(s) saying which past answer it reused (PAST_MARK, appended by
    `_from_past`): the answer a person sent, as it was stored."""
    while (m := _PAST_MARK_AT_END.search(text)) is not None:
        text = text[:m.start()]
    return text


class QuestionnaireError(Explained, ValueError):
    """Questions that cannot be answered as asked (a bad mode or count); the message says what to do."""

    code = "top_out_of_range"


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
    warnings: tuple[Message, ...] = field(default=(), compare=False)
    past: Precedent | None = None  # the past answer this draft reuses (answer library)

    @property
    def answered(self) -> bool:
        return self.status == ANSWERED

    @property
    def criteria(self) -> tuple[str, ...]:
        """The 該当基準: the criteria a reused past answer was confirmed with, else the best candidate's
        when the document answers the question; () for 要確認 (its candidates are `others`)."""
        if self.past is not None:
            return self.past.entry.criteria
        return self.candidates[0].ids if self.answered and self.candidates else ()

    @property
    def others(self) -> tuple[Candidate, ...]:
        """The 他の候補: every candidate not named in `criteria`."""
        named = set(self.criteria)
        return tuple(c for c in self.candidates if not named.intersection(c.ids))

    @property
    def origin(self) -> str:
        """The 回答の出典: where the draft came from ("" without a draft)."""
        if self.past is not None:
            return FROM_PAST if self.past.entry.answered else f"{FROM_PAST}（{VERDICT_LABELS[NOT_IN_DOCUMENT]}）"
        return FROM_DOCUMENT if self.draft else ""

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
        d["past"] = self.past.to_dict() if self.past is not None else None
        return d


# ----------------------------------------------------------------- answering


def answer_questions(engine: Engine, questions: Iterable[str], *, mode: str = DEFAULT_MODE,
                     top: int = 3, progress: Callable[[int, int], None] | None = None) -> list[Answer]:
    """One answer per non-blank question, in order (a question asked twice is searched once).

    A question is cut to MAX_QUESTION_CHARS before anything reads it (search, verdict, draft and
    their caches), with a warning. `progress(done, total)` is called after each question; an
    exception it raises (the job was cancelled) stops the answering."""
    if not 1 <= int(top) <= MAX_TOP:
        raise QuestionnaireError(max=MAX_TOP, value=top)
    asked = [q for q in (str(raw).strip() for raw in questions) if q]
    cuts = [q[:MAX_QUESTION_CHARS] for q in asked]  # one bound for every step: search, verdict, draft, caches
    distinct = list(dict.fromkeys(cuts))
    seen: dict[str, Answer] = {}
    for start in range(0, len(distinct), BATCH):
        chunk = distinct[start:start + BATCH]
        seen.update((q, _answer(engine, q, mode, int(top), v)) for q, v in zip(chunk, _vectors(engine, chunk, mode)))
        if progress is not None:
            progress(sum(c in seen for c in cuts), len(asked))
    return [replace(seen[c], warnings=(*seen[c].warnings, Message("question_cut", {"length": len(q),
                                                                                    "limit": MAX_QUESTION_CHARS})))
            if len(q) > MAX_QUESTION_CHARS else seen[c] for q, c in zip(asked, cuts)]


def _vectors(engine: Engine, questions: Sequence[str], mode: str) -> Sequence[Any]:
    """The questions' embeddings; None for each where no vector is needed or the model
    cannot load (the search says why)."""
    from indexer.encoder import ModelUnavailable

    if mode not in ("semantic", "hybrid") or not questions:
        return [None] * len(questions)
    try:
        return list(engine.encode_queries(questions))
    except ModelUnavailable:
        return [None] * len(questions)


def answer_sheet(engine: Engine, rows: Sequence[QuestionRow], *, mode: str = DEFAULT_MODE,
                 top: int = 3, progress: Callable[[int, int], None] | None = None) -> list[Answer]:
    """One answer per question row of a check sheet (`search.questionnaire.reader`), in the same order."""
    answers = answer_questions(engine, [r.text for r in rows], mode=mode, top=top, progress=progress)
    if len(answers) != len(rows):  # a sheet's question rows always have text
        raise QuestionnaireError("row_without_text")
    return answers


def _answer(engine: Engine, q: str, mode: str, top: int, vector: Any = None) -> Answer:
    try:
        result = engine.search(q, mode=mode, limit=top + 5, explain=True, vector=vector, highlight=False)
    except UnknownMode as e:
        raise QuestionnaireError(e.condition, **e.message.params) from None
    except QueryError as e:  # the note goes into the user's (Japanese) sheet
        return Answer(q, NO_MATCH, "low", None, note=e.text("web"))
    hits = [h for h in result.hits if h.kind == CRITERION][:top]
    candidates = tuple(_candidate(engine, h) for h in hits)
    if result.match is None:  # the question names criteria by ID: those are the answer
        status, confidence, score = ANSWERED, "high", None
    else:
        status, confidence, score = result.match.status, result.match.confidence, result.match.score
    past = next((p for p in result.library if p.reused), None)
    if past is not None:
        return _from_past(engine, q, status, confidence, score, candidates, past, result.warnings)
    if not candidates:  # nothing to cite (an unknown ID, or only change-history entries): a person must look
        return Answer(q, NO_MATCH, "low", score, note=Message("no_criterion_to_cite").text("web"),
                      warnings=result.warnings)
    if status != ANSWERED:
        return Answer(q, status, confidence, score, candidates, warnings=result.warnings)
    best = candidates[0]
    # a lookup by ID matched no passage: its draft starts at the criterion's first sentence
    matched = (hits[0].explain or {}).get("passage") if result.match is not None else None
    closeness = engine.sentence_closeness(best.id, q[:MAX_QUESTION_CHARS], vector) if result.match is not None \
        else None
    draft, note = compose_draft(engine.table, q, best, matched, closeness)
    if not draft and closeness is not None and not note:  # nothing close enough to quote: a person must look
        return Answer(q, NO_MATCH, "low", score, candidates, note=Message("nothing_to_quote").text("web"),
                      warnings=result.warnings)
    c = engine.doc.get(best.id)
    d = engine.table[best.id]
    return Answer(q, status, confidence, score, candidates, draft=draft,
                  aws_quote=without_boilerplate(engine.doc.text_of(c).aws_status, d),
                  customer_quote=without_boilerplate(c.customer_controls, d), note=note, warnings=result.warnings)


def _from_past(engine: Engine, q: str, status: str, confidence: str, score: float | None,
               candidates: tuple[Candidate, ...], past: Precedent, warnings: tuple[Message, ...]) -> Answer:
    """The answer a person sent for (nearly) this question, marked with where it came from; the
    criteria they confirmed, quoted as the document's drafts are."""
    e = past.entry
    mark = PAST_MARK.format(source=e.source.label)
    draft = f"{e.answer.rstrip()}\n{mark}" if e.answer.strip() else mark
    quotes = ("", "")
    if e.criteria and e.criteria[0] in engine.doc:
        c = engine.doc.get(e.criteria[0])
        d = engine.table[c.id]
        quotes = (without_boilerplate(engine.doc.text_of(c).aws_status, d), without_boilerplate(c.customer_controls, d))
    return Answer(q, status, confidence, score, candidates, draft=draft, aws_quote=quotes[0], customer_quote=quotes[1],
                  warnings=warnings, past=past)


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


def compose_draft(table: DocumentTable, question: str, best: Candidate, matched: str | None = None,
                  closeness: Closeness | None = None) -> tuple[str, str]:
    """(回答案, note): quoted sentences of `best`, each part followed by its citation; or ("", why not).

    With `closeness` (each sentence's e5 cosine with the question), a sentence is quoted only when it is
    close in meaning (within SEMANTIC_MARGIN of the question's closest sentence in the whole document)
    and ranks by the question's specific words it holds and that closeness together: the sentence that
    answers comes first. With nothing close enough the draft is empty and the note too (the caller
    says 要確認). Without it (no model), by words alone; `matched`, the passage the search matched by
    meaning, stands in when no sentence shares a word."""
    d = table[best.id]
    words = {t for t, _, _ in snippet.word_tokens(question)}
    weights = _idf(table)
    parts = []
    aws = _sentences(d, "aws_status")
    chosen = pick_sentences(aws, words, weights, MAX_DRAFT_SENTENCES, closeness)
    if aws and not chosen and closeness is None:  # matched by meaning, not by words: the passage the search matched
        own = {p.text for p in d.passages if p.field == "aws_status"}
        chosen = (split_sentences(matched) if matched in own else aws)[:1]
    if chosen:
        parts.append(join_sentences(chosen) + best.citation)
    if best.customer_role == "primary" or not chosen:
        own = _sentences(d, "customer_controls")
        mine = pick_sentences(own, words, weights, 1, closeness) or (own[:1] if closeness is None or chosen else [])
        if mine:
            parts.append(CUSTOMER_MARK + mine[0] + best.citation)
    if not parts:
        if closeness is not None and (aws or _sentences(d, "customer_controls")):
            return "", ""
        return "", Message("no_draft_source", {"label": best.label}).text("web")
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


def pick_sentences(sentences: Sequence[str], words: set[str], weights: dict[str, float], limit: int,
                   closeness: Closeness | None = None) -> list[str]:
    """Up to `limit` sentences: the best first, then the others in document order. A sentence worth
    less than half the best one, or past MAX_DRAFT_CHARS, is left out.

    By words alone (no `closeness`): worth the idf of the query words it holds. With `closeness`:
    only sentences within SEMANTIC_MARGIN of the question's closest sentence in the document count,
    worth the share of the question's specific words (idf above a generic word's) they hold plus how
    far into that margin their cosine reaches, so a sentence sharing one word of a long question, or
    only generic ones, does not beat the one that says what is asked."""
    held = [{t for t, _, _ in snippet.word_tokens(s)} & words for s in sentences]
    if closeness is not None:
        return _pick_close(sentences, held, words, weights, limit, closeness)
    scores = [sum(weights.get(t, 0.0) for t in h) for h in held]
    best = max(scores, default=0.0)
    if best <= 0:
        return []
    chosen: list[int] = []
    for i in sorted(range(len(sentences)), key=lambda i: (-scores[i], i))[:limit]:
        if chosen and (scores[i] < best / 2 or _chars(sentences, chosen) + len(sentences[i]) > MAX_DRAFT_CHARS):
            break
        chosen.append(i)
    return [sentences[chosen[0]]] + [sentences[i] for i in sorted(chosen[1:])]


def _pick_close(sentences: Sequence[str], held: Sequence[set[str]], words: set[str], weights: dict[str, float],
                limit: int, closeness: Closeness) -> list[str]:
    """`pick_sentences` with closeness: the best sentence, then (in document order) sentences that also
    stay within the margin and hold a specific word of the question the chosen ones do not: a
    question asking two things gets the sentence for each."""
    specific = {t: weights[t] for t in words if weights.get(t, 0.0) > GENERIC_IDF}
    total = sum(specific.values()) or 1.0
    floor = closeness.top - SEMANTIC_MARGIN
    close = [closeness.of.get(s, -1.0) >= floor for s in sentences]
    scores = [sum(specific.get(t, 0.0) for t in h) / total + (closeness.of.get(s, -1.0) - floor) / SEMANTIC_MARGIN
              if ok else 0.0 for s, h, ok in zip(sentences, held, close)]
    if max(scores, default=0.0) <= 0:
        return []
    chosen = [max(range(len(sentences)), key=lambda i: (scores[i], -i))]
    covered = set(held[chosen[0]]) & set(specific)
    for i in sorted(range(len(sentences)), key=lambda i: (-scores[i], i)):
        if len(chosen) >= limit:
            break
        new = (held[i] & set(specific)) - covered
        if i in chosen or not close[i] or not new or _chars(sentences, chosen) + len(sentences[i]) > MAX_DRAFT_CHARS:
            continue
        chosen.append(i)
        covered |= new
    return [sentences[chosen[0]]] + [sentences[i] for i in sorted(chosen[1:])]


def _chars(sentences: Sequence[str], chosen: Sequence[int]) -> int:
    return sum(len(sentences[j]) for j in chosen)


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
    """The values of ANSWER_COLUMNS for one answer. A 要確認 row quotes nothing and names no
    該当基準 (its candidates are under 他の候補), so nothing unchecked is pasted into a reply and a
    該当基準 in a returned sheet is one the document answered or a person confirmed. A reused past
    answer brings the criteria that were confirmed with it."""
    criteria = a.candidates[0].label if a.answered and a.past is None and a.candidates else "、".join(a.criteria)
    return {
        VERDICT_COLUMN: a.status_label,
        CRITERIA_COLUMN: criteria,
        "確信度": a.confidence_label,
        DRAFT_COLUMN: a.draft or (f"（{a.note}）" if a.answered and a.note else ""),
        "引用(AWSの対応状況)": a.aws_quote,
        "引用(お客様が統制すべき内容)": a.customer_quote,
        "他の候補": "、".join(c.label for c in a.others),
        ORIGIN_COLUMN: a.origin,
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
