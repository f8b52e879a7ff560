"""A title list: each criterion ID with its title or summary, as a team holds it from the standards.

It is a document like any other (kind "titles"; its text has the role `title`), and it is also how kijun
learns which IDs an edition has (`corpus.editions`). A table (CSV, XLSX, Markdown, JSONL) is read by
`corpus.tables`, its first text column the title unless `--fields` names another; a plain text file holds
one criterion a line:

    実26 パスワードの管理
    実27: 本人確認
    監3	内部監査の実施

Lines before the first ID are the list's own heading (and may say its edition: 「第13版」); after it, a
heading line (【…】, ■…) is skipped, and any other line without an ID first refuses the file, naming it.
"""
from __future__ import annotations

import re
import unicodedata

from corpus.grid import MAX_ROWS, where
from corpus.records import TITLE_ROLE, TITLES, CriterionText, DocumentError, TextField, UserDocument
from corpus.userfile import MAX_CELL_CHARS
from corpus.vocabulary import ID_PATTERN, canonical_id

TITLE_LABEL = "タイトル"
"""The label of a plain title list's text (a table keeps its column's header)."""

_LINE = re.compile(rf"^\s*[・\-*]?\s*{ID_PATTERN}(?![0-9])\s*[:：.．、,，)）]?\s*(.*)$")
_HEADING = re.compile(r"^\s*(?:[【\[■□◆●#]|第\s*\d+\s*[章節部編])")


def is_title_list(text: str) -> bool:
    """True when most of a plain text's non-empty lines start with a criterion ID and a title (one column: a
    line with more tab-separated cells after its ID is a row of a table)."""
    lines = [ln for ln in unicodedata.normalize("NFKC", text).splitlines() if ln.strip()][:200]
    titled = sum(1 for ln in lines if (m := _LINE.match(ln)) and m.group(3).strip() and "\t" not in m.group(3))
    return bool(lines) and titled >= max(2, len(lines) // 2)


def read_lines(text: str, filename: str, document_id: str) -> tuple[UserDocument, str]:
    """(the list, its heading: the lines before the first ID)."""
    records: list[CriterionText] = []
    seen: dict[str, int] = {}
    heading: list[str] = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = unicodedata.normalize("NFKC", raw).strip()
        if not line:
            continue
        if len(line) > MAX_CELL_CHARS:
            raise DocumentError("document_cell_too_long", filename=filename, where=where(n, line=True),
                                length=len(line), limit=MAX_CELL_CHARS)
        m = _LINE.match(line)
        if m is None:
            if not records:
                heading.append(line)
                continue
            if _HEADING.match(line):
                continue
            raise DocumentError("document_title_line", filename=filename, where=where(n, line=True), value=line[:40])
        cid = canonical_id(m)
        title = m.group(3).strip()
        if not title:
            raise DocumentError("document_title_missing", filename=filename, where=where(n, line=True), id=cid)
        if cid in seen:
            raise DocumentError("document_title_twice", filename=filename, where=where(n, line=True), id=cid,
                                first=seen[cid])
        if len(records) >= MAX_ROWS:
            raise DocumentError("document_too_many_rows", filename=filename, limit=MAX_ROWS)
        seen[cid] = n
        records.append(CriterionText(document_id, cid, (TextField(TITLE_LABEL, title, TITLE_ROLE),), (n,)))
    if not records:
        raise DocumentError("document_no_titles", filename=filename)
    return UserDocument(document_id, TITLES, tuple(records), (TITLE_LABEL,)), "\n".join(heading)


def titles(doc: UserDocument) -> dict[str, str]:
    """ID → its title, from a title list (or any document with a field of the title role)."""
    out = {}
    for r in doc.records:
        f = r.by_role(TITLE_ROLE)
        if f is not None and f.text.strip():
            out[r.id] = f.text
    return out

