"""How criteria, hits and check sheets are shown to people: labels and shapes shared by the CLI and the web.

One definition of each Japanese label and of the JSON shape of a criterion, so
`kijun show --format json` and `GET /api/criteria/{id}` cannot drift apart.
"""
from __future__ import annotations

from collections import Counter
from typing import Any

from corpus.duplicates import shared_passages
from corpus.documents import DocumentTable
from corpus.records import Criterion, Document, Revision, UnknownCriterion
from corpus.vocabulary import ROLE_LABELS, normalize_id
from messages import render
from search.compare import NOTHING, Column, columns
from search.questionnaire.checksheet import (REASON_EMPTY, ColumnPlacement, Questionnaire, QuestionTable, SkippedRow,
                                             WriteReport, counted)
from search.questionnaire.answer import FROM_PAST

LABELS: dict[str, str] = {
    "id": "基準番号", "series": "区分", "roles": "対応の主体", "aws_status": "AWSの対応状況",
    "customer_controls": "お客様が統制すべき内容", "references": "補足情報", "urls": "URL", "page": "ページ",
    "same_as": "同様", "revisions": "変更履歴"}
"""Field → the document's own Japanese label."""

FIELD_LABELS: dict[str, str] = {"aws_status": LABELS["aws_status"], "customer_controls": LABELS["customer_controls"],
                                "references": LABELS["references"], "revision": LABELS["revisions"]}
"""Searchable field (where a snippet comes from) → its label."""

NO_MATCH_BANNER = "この文書には直接の記述が見つかりませんでした — 近い候補"
"""What the search page and `kijun search` say above the candidates when the verdict is no_match."""

PAST_HEADING = FROM_PAST
"""What the answer library's close past questions are called, on every front-end (and in a sheet's 回答の出典)."""

MODE_LABELS: dict[str, str] = {"hybrid": "ハイブリッド", "keyword": "キーワード", "semantic": "意味検索"}


def shown_criterion(doc: Document, table: DocumentTable, criterion_id: str) -> tuple[Criterion | None, list[Column]]:
    """One ID as `kijun show` and /api/criteria/{id} show it: the bundled document's criterion (None if only an
    added document has it) and what each added document that has it says; UnknownCriterion when none has it."""
    cid = normalize_id(criterion_id) or criterion_id
    others = [c for c in columns(table, cid)[1:] if c.status != NOTHING] if len(table.sources) > 1 else []
    try:
        return doc.get(criterion_id), others
    except UnknownCriterion:
        if not others:
            raise
        return None, others


def shown_json(doc: Document, table: DocumentTable, criterion_id: str) -> dict[str, Any]:
    """`shown_criterion` as JSON: `criterion_json` (or only the ID), and "documents" when documents were added."""
    c, others = shown_criterion(doc, table, criterion_id)
    out = criterion_json(doc, c) if c is not None else {"id": normalize_id(criterion_id) or criterion_id}
    return out | ({"documents": [o.to_dict() for o in others]} if len(table.sources) > 1 else {})


def criterion_json(doc: Document, c: Criterion) -> dict[str, Any]:
    """The JSON shape of one criterion: its record, the text it borrows, its change history and
    the passages it shares with other criteria."""
    d = c.to_dict()
    source = doc.text_of(c)
    if source is not c:
        d["same_as_text"] = source.aws_status
    d["revisions"] = [r.to_dict() for r in doc.revisions_for(c.id)]
    d["shared_passages"] = shared_passages(doc, c.id)
    return d


def history_json(doc: Document, history_id: str) -> dict[str, Any]:
    """The JSON of an ID found only in the change history (統20): its entries."""
    return {"id": history_id, "kind": "revision", "revisions": [r.to_dict() for r in doc.revisions_for(history_id)]}


def render_history(doc: Document, history_id: str) -> str:
    """An ID found only in the change history, as text (`kijun show 統20`)."""
    return "\n".join([f"{LABELS['id']}: {history_id}  ({LABELS['revisions']}のみ: この文書に基準としての記述はありません)",
                      *_revision_lines(doc.revisions_for(history_id))])


def _revision_lines(revisions: list[Revision]) -> list[str]:
    lines = []
    for r in revisions:
        lines.append(f"・{'/'.join(r.ids)} {' '.join(r.branches)} {r.note}".rstrip())
        if r.old:
            lines.append(f"  (旧) {r.old}")
        if r.new:
            lines.append(f"  (新) {r.new}")
    return lines


def render_criterion(doc: Document, c: Criterion) -> str:
    """One criterion as text with the document's labels (`kijun show`)."""
    lines = [f"{LABELS['id']}: {c.id}  ({c.series}, p.{c.page}, 行 {c.line_start}–{c.line_end})",
             f"{LABELS['roles']}: AWS {c.aws_role} ({ROLE_LABELS[c.aws_role]}) / お客様 {c.customer_role} "
             f"({ROLE_LABELS[c.customer_role]})"]
    aws = c.aws_status or "-"
    if c.same_as:
        aws += f"\n  → {c.same_as} の対応状況:\n" + doc.text_of(c).aws_status
    lines += [f"\n■ {LABELS['aws_status']}", aws, f"\n■ {LABELS['customer_controls']}", c.customer_controls or "-",
              f"\n■ {LABELS['references']}"]
    lines += [f"・{r}" for r in c.references] or ["-"]
    lines += [f"  {u}" for u in c.urls]
    revs = doc.revisions_for(c.id)
    if revs:
        lines += [f"\n■ {LABELS['revisions']}", *_revision_lines(revs)]
    shared = shared_passages(doc, c.id)
    if shared:
        lines.append("\n■ 他の基準と共通の段落")
        for s in shared:
            others = f"定型文: 他 {len(s['criteria'])} 基準と共通" if s.get("boilerplate") else ", ".join(s["criteria"])
            lines.append(f"  {s['text'][:60]}{'…' if len(s['text']) > 60 else ''}  → {others}")
    return "\n".join(lines)


# ----------------------------------------------------------------- check sheets (kijun answer, /answer)


def describe_questionnaire(q: Questionnaire) -> list[str]:
    """What was detected in a check sheet, one line per table and per ignored sheet (for stderr)."""
    lines = []
    for t in q.tables:
        where = f"sheet {t.sheet!r}: " if t.sheet is not None else ""
        header = f"header row {t.header_row}" if t.has_header else "no header row"
        title = f" ({t.question_header})" if t.question_header else ""
        reasons = Counter(s.reason for s in reported_skips(t))
        skipped = sum(reasons.values())
        detail = f" ({', '.join(f'{n} {render(r)}' for r, n in reasons.most_common())})" if skipped else ""
        lines.append(f"{q.filename}: {where}{header}, question column {t.question_column_letter}{title}: "
                     f"{counted(len(t.questions), 'question')}, {counted(skipped, 'row')} skipped{detail}")
    lines += [f"{q.filename}: sheet {s.name!r} ignored: {s.reason}" for s in q.ignored_sheets]
    lines += [f"warning: {w}" for w in q.warnings]
    return lines


def reported_skips(t: QuestionTable) -> list[SkippedRow]:
    """The skipped rows worth telling the user about: all but the empty ones."""
    return [s for s in t.skipped if s.reason != REASON_EMPTY]


def describe_placements(report: WriteReport) -> list[str]:
    """Where the answers went in the user's file, one line per sheet."""
    by_sheet: dict[str | None, list[ColumnPlacement]] = {}
    for p in report.placements:
        by_sheet.setdefault(p.sheet, []).append(p)
    lines = []
    for sheet, placed in by_sheet.items():
        where = f"sheet {sheet!r}: " if sheet is not None else ""
        cols = ", ".join(f"{p.letter} {p.header}" + (" (existing column)" if p.existing else "") for p in placed)
        lines.append(f"  {where}{cols}")
    return lines

