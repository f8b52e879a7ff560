"""Typed records for the criteria document.

Records are plain frozen dataclasses so they can be compared in golden tests,
written to `criteria.jsonl` for review, and rebuilt from it without the parser.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from functools import cached_property
from pathlib import Path
from typing import Any

from corpus.vocabulary import normalize_id
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
