"""Typed records for the criteria document.

Records are plain frozen dataclasses so they can be compared in golden tests,
written to `criteria.jsonl` for review, and rebuilt from it without the parser.
"""
from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import asdict, dataclass, field, fields
from functools import cached_property
from pathlib import Path
from typing import Any

from corpus.vocabulary import ID_PATTERN, normalize_id
from messages import Explained, Message


class UnknownCriterion(Explained, KeyError):
    """An ID that is well-formed or not, but names no criterion in the corpus; `hint` says what
    IDs look like, or which the corpus has."""

    code = "unknown_criterion"

    def __init__(self, raw: str, hint: Message) -> None:
        self.raw = raw
        super().__init__(raw=raw, hint=hint)


@dataclass(frozen=True)
class Criterion:
    """One row of the response table: a practice (実) or audit (監) criterion."""

    id: str
    series: str
    number: int
    aws_role: str
    customer_role: str
    aws_status: str
    customer_controls: str
    references: tuple[str, ...]
    urls: tuple[str, ...]
    page: int | None
    same_as: str | None
    line_start: int
    line_end: int

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["references"] = list(self.references)
        d["urls"] = list(self.urls)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Criterion":
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        kw["references"] = tuple(kw.get("references", ()))
        kw["urls"] = tuple(kw.get("urls", ()))
        return cls(**kw)


@dataclass(frozen=True)
class Revision:
    """One entry of the change history (変更履歴).

    An entry may concern several criteria at once (the document lists 統20,
    統21 and 統24 against one pair of texts); `ids` keeps them all.
    """

    ids: tuple[str, ...]
    branches: tuple[str, ...]
    old: str
    new: str
    note: str
    urls: tuple[str, ...]
    line_start: int
    line_end: int

    @property
    def text(self) -> str:
        return "\n".join(t for t in (self.note, self.old, self.new) if t)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("ids", "branches", "urls"):
            d[k] = list(d[k])
        d["kind"] = "revision"
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Revision":
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        for k in ("ids", "branches", "urls"):
            kw[k] = tuple(kw.get(k, ()))
        return cls(**kw)


@dataclass(frozen=True)
class Edition:
    """A dated edition of the response (the ■ lines of the change history)."""

    date: str
    description: str


@dataclass(frozen=True)
class Document:
    criteria: tuple[Criterion, ...]
    revisions: tuple[Revision, ...] = ()
    editions: tuple[Edition, ...] = ()
    source_sha256: str = ""
    _by_id: dict[str, Criterion] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_id.update({c.id: c for c in self.criteria})

    def get(self, raw_id: str) -> Criterion:
        """Look a criterion up by any spelling a user types (実２６, 実 26, 監3)."""
        cid = normalize_id(raw_id)
        if cid is None:
            raise UnknownCriterion(raw_id, Message("ids_look_like"))
        try:
            return self._by_id[cid]
        except KeyError:
            raise UnknownCriterion(raw_id, Message("corpus_range", {"ranges": self.id_ranges})) from None

    def __contains__(self, raw_id: str) -> bool:
        cid = normalize_id(raw_id)
        return cid is not None and cid in self._by_id

    def text_of(self, criterion: Criterion) -> Criterion:
        """The criterion whose text stands for this one (実88 → 実87)."""
        if criterion.same_as and criterion.same_as in self._by_id:
            return self._by_id[criterion.same_as]
        return criterion

    @cached_property
    def id_ranges(self) -> tuple[str, ...]:
        """The criterion IDs it has, per series: ("実1–実148", "監1–監5")."""
        by_series: dict[str, list[int]] = {}
        for c in self.criteria:
            by_series.setdefault(c.id[0], []).append(c.number)
        return tuple(f"{s}{min(n)}–{s}{max(n)}" for s, n in by_series.items())

    def history_only(self, raw_id: str) -> str | None:
        """The ID (統20) when it names no criterion but has change-history entries, else None."""
        cid = normalize_id(raw_id)
        return cid if cid is not None and cid not in self._by_id and self.revisions_for(cid) else None

    def revisions_for(self, cid: str) -> list[Revision]:
        return [r for r in self.revisions if cid in r.ids]

    @cached_property
    def content_hash(self) -> str:
        """`document_hash`, computed once per document (the records are immutable). Not a field:
        equality, `hash()`, `repr()` and `dataclasses.replace` ignore it."""
        h = hashlib.sha256()
        for c in self.criteria:
            h.update(json.dumps(c.to_dict(), ensure_ascii=False, sort_keys=True).encode("utf-8"))
        for r in self.revisions:
            h.update(json.dumps(r.to_dict(), ensure_ascii=False, sort_keys=True).encode("utf-8"))
        return h.hexdigest()


def write_jsonl(doc: Document, path: Path) -> None:
    """One criterion per line, then one revision per line; stable for diffing."""
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for c in doc.criteria:
            f.write(json.dumps({"kind": "criterion", **c.to_dict()}, ensure_ascii=False) + "\n")
        for r in doc.revisions:
            f.write(json.dumps(r.to_dict(), ensure_ascii=False) + "\n")
        for e in doc.editions:
            f.write(json.dumps({"kind": "edition", **asdict(e)}, ensure_ascii=False) + "\n")


def read_jsonl(path: Path, *, source_sha256: str = "") -> Document:
    criteria, revisions, editions = [], [], []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                kind = d.pop("kind", "criterion")
                if kind == "revision":
                    revisions.append(Revision.from_dict(d))
                elif kind == "edition":
                    editions.append(Edition(**d))
                else:
                    criteria.append(Criterion.from_dict(d))
            except (ValueError, TypeError) as e:
                raise ValueError(f"{path}:{n}: not a criterion record ({e}); re-create it with `kijun parse`") from e
    return Document(tuple(criteria), tuple(revisions), tuple(editions), source_sha256)


def document_hash(doc: Document) -> str:
    """Hash of the parsed records: changes when the source or the parser's output does."""
    return doc.content_hash


# ---------------------------------------------------------------- documents a team adds

ROLE_HEADERS: dict[str, str] = {"aws_status": "AWSの対応状況", "customer_controls": "お客様が統制すべき内容",
                                "references": "補足情報"}
"""The bundled document's text roles → its own column headers. A column of another document may be mapped to
one of them (`--fields 'AWSの対応状況=aws_status'`), so a search or a comparison knows what it stands for."""
TITLE_ROLE = "title"
"""The role of a title list's text: the criterion's title or summary, as a team holds it from the standards."""
ROLES: tuple[str, ...] = (*ROLE_HEADERS, TITLE_ROLE)

TABLE, TEXT, TITLES, BUNDLED = "table", "text", "titles", "bundled"
KINDS: tuple[str, ...] = (TABLE, TEXT, TITLES)
"""What a document a team adds is: a table keyed by criterion ID, a text extraction laid out like the bundled
one, or a title list (which also says which IDs its edition has). The bundled document is of kind BUNDLED."""


class DocumentError(Explained, ValueError):
    """A document that cannot be read as asked; the message names the row or line and what to do. Nothing of
    the file is kept."""

    code = "document_unreadable"


@dataclass(frozen=True)
class TextField:
    """One named field of one criterion in one document: a column's text, labelled by the column's header."""

    label: str  # the column's header as the file writes it (共通統制環境の対策内容, AWSの対応状況)
    text: str  # the cell's text as written; the rows of a continued table joined by a line break
    role: str = ""  # one of ROLES when mapped (--fields), else ""
    same_as: str | None = None  # the criterion whose text this cell says it shares (「対応策は実 4 と同じ」)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CriterionText:
    """What one document says for one criterion ID: its named fields, in the file's column order."""

    document: str  # the ID of the document it belongs to (its slug in the document store)
    id: str  # 実26, 監3, 実14-1
    fields: tuple[TextField, ...]
    lines: tuple[int, ...] = ()  # the rows (or lines) of the file it was read from, 1-based, in order

    @property
    def same_as(self) -> str | None:
        """The criterion every field with text links to (a row saying 「実4と同様」 and nothing else), else None."""
        written = [f for f in self.fields if f.text.strip() or f.same_as]
        links = {f.same_as for f in written}
        return links.pop() if written and len(links) == 1 and None not in links else None

    def field(self, label: str) -> TextField | None:
        return next((f for f in self.fields if f.label == label), None)

    def by_role(self, role: str) -> TextField | None:
        return next((f for f in self.fields if f.role == role), None)

    def to_dict(self) -> dict[str, Any]:
        return {"document": self.document, "id": self.id, "fields": [f.to_dict() for f in self.fields],
                "same_as": self.same_as, "lines": list(self.lines)}


@dataclass(frozen=True)
class UserDocument:
    """One document's records, each knowing its document: what a table of several documents is built from.
    `warnings` are what reading it found worth saying (a row joined, an ID its edition lacks)."""

    id: str
    kind: str  # one of KINDS, or BUNDLED
    records: tuple[CriterionText, ...]
    labels: tuple[str, ...] = ()  # the fields' labels, in column order
    edition: str | None = None  # of the standards it answers (corpus.editions), None when not known
    warnings: tuple[Message, ...] = ()
    _by_id: dict[str, CriterionText] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_id.update({r.id: r for r in self.records})

    def __contains__(self, cid: object) -> bool:
        return cid in self._by_id

    def get(self, cid: str) -> CriterionText | None:
        return self._by_id.get(cid)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(r.id for r in self.records)

    def text_of(self, record: CriterionText, label: str, *, max_hops: int = 8) -> str:
        """A field's text with its link followed: 実7's 「対応策は実 4 と同じ」 gives 実4's text of the same field
        (the link's own words dropped only when they are all the cell says). Links are never copied into
        the records; a consumer that wants the text asks here."""
        seen = {record.id}
        current = record.field(label)
        parts: list[str] = []
        while current is not None:
            bare = is_bare_link(current.text) or current.text.strip() in DITTO
            own = current.text if current.same_as is None or not bare else ""
            if own.strip():
                parts.append(own)
            target = self._by_id.get(current.same_as) if current.same_as else None
            if target is None or target.id in seen or len(seen) > max_hops:
                break
            seen.add(target.id)
            current = target.field(label)
        return "\n".join(parts)

    def roles(self) -> dict[str, str]:
        """Field label → the bundled role it stands for (only the mapped ones)."""
        return {f.label: f.role for r in self.records for f in r.fields if f.role}

    def field_counts(self) -> dict[str, int]:
        """Per field label, how many criteria have text (or a link) in it: what `documents show` prints."""
        counts = {label: 0 for label in self.labels}
        for r in self.records:
            for f in r.fields:
                if f.text.strip() or f.same_as:
                    counts[f.label] = counts.get(f.label, 0) + 1
        return counts


DITTO = ("同上", "〃")
"""A cell that says "as the row above": linked to the criterion of the row above (a table's own shorthand)."""
_LINK_HEAD = r"(?:(?:対応策|対策|対応内容|対応|内容|記載)\s*(?:は|も)\s*)?"
_LINK_TAIL = r"\s*(?:と同じ|と同様|に同じ|に準ずる|に準じる)(?:\s*(?:です|である|とする|となります))?\s*[。.]?"
SAME_AS = re.compile(rf"^\s*[(（「【]?\s*{_LINK_HEAD}((?:{ID_PATTERN}))\s*{_LINK_TAIL}\s*[)）」】]?")
"""A cell that says it is the same as another criterion, at its start: 「対応策は実 4 と同じ」, 「実4と同様」,
「(実87と同様)」. What follows it (a table that then repeats the text) stays the cell's own text."""
_LINK_ALONE = re.compile(SAME_AS.pattern + r"\s*$")


def link_of(text: str) -> str | None:
    """The criterion a cell says it shares its text with, or None."""
    m = SAME_AS.match(unicodedata.normalize("NFKC", text or ""))
    return normalize_id(m.group(1)) if m else None


def is_bare_link(text: str) -> bool:
    """True when the cell says only that it is the same as another criterion."""
    return bool(_LINK_ALONE.match(unicodedata.normalize("NFKC", text or "")))


def criterion_texts(doc: Document, document_id: str) -> tuple[CriterionText, ...]:
    """A parsed response document (the bundled one, or a text extraction laid out like it) as records of
    named fields, its column headers as labels: one shape for every document."""
    out = []
    for c in doc.criteria:
        values = {"aws_status": c.aws_status, "customer_controls": c.customer_controls,
                  "references": "\n".join(c.references)}
        fields = tuple(TextField(ROLE_HEADERS[role], text, role, c.same_as if role == "aws_status" else None)
                       for role, text in values.items() if text)
        out.append(CriterionText(document_id, c.id, fields, (c.line_start,)))
    return tuple(out)
