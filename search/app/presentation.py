"""How criteria and hits are shown to people: labels and shapes shared by the CLI and the web.

One definition of each Japanese label and of the JSON shape of a criterion, so
`kijun show --format json` and `GET /api/criteria/{id}` cannot drift apart.
"""
from __future__ import annotations

from typing import Any

from corpus.duplicates import shared_passages
from corpus.records import Criterion, Document
from corpus.vocabulary import ROLE_LABELS

LABELS: dict[str, str] = {
    "id": "基準番号", "series": "区分", "roles": "対応の主体", "aws_status": "AWSの対応状況",
    "customer_controls": "お客様が統制すべき内容", "references": "補足情報", "urls": "URL", "page": "ページ",
    "same_as": "同様", "revisions": "変更履歴"}
"""Field → the document's own Japanese label."""

FIELD_LABELS: dict[str, str] = {"aws_status": LABELS["aws_status"], "customer_controls": LABELS["customer_controls"],
                                "references": LABELS["references"], "revision": LABELS["revisions"]}
"""Searchable field (where a snippet comes from) → its label."""

MODE_LABELS: dict[str, str] = {"hybrid": "ハイブリッド", "keyword": "キーワード", "semantic": "意味検索"}


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
        lines.append(f"\n■ {LABELS['revisions']}")
        for r in revs:
            lines.append(f"・{'/'.join(r.ids)} {' '.join(r.branches)} {r.note}".rstrip())
            if r.old:
                lines.append(f"  (旧) {r.old}")
            if r.new:
                lines.append(f"  (新) {r.new}")
    shared = shared_passages(doc, c.id)
    if shared:
        lines.append("\n■ 他の基準と共通の段落")
        for s in shared:
            others = f"定型文: 他 {len(s['criteria'])} 基準と共通" if s.get("boilerplate") else ", ".join(s["criteria"])
            lines.append(f"  {s['text'][:60]}{'…' if len(s['text']) > 60 else ''}  → {others}")
    return "\n".join(lines)
