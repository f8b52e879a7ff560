"""Editions of the FISC standards, and which criterion IDs each has.

A document answers one edition of the standards (第9版, 第13版, …). Whether an ID means the same thing
depends on the edition — the 13th adds 実14-1 and 実103-1 and retires others — so kijun never maps an ID
across editions by its number. What it knows of an edition's IDs comes from the bundled document (its
edition, read from its own change history: 第9版) or from title lists a team added for that edition; of
any other edition it knows nothing, and says so rather than guessing.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from corpus.records import Document
from corpus.vocabulary import id_sort_key
from messages import Message

_EDITION = re.compile(r"第\s*(\d+)\s*版")
_EDITION_IN_TEXT = re.compile(r"(?:FISC|安全対策基準)[^\n第]{0,20}第\s*(\d+)\s*版")  # not a document's own 第2版
_EDITION_ALONE = re.compile(r"^(?:第)?\s*(\d+)\s*(?:版|th|st|nd|rd)?(?:\s*edition)?$", re.IGNORECASE)


def normalize_edition(raw: str | None) -> str | None:
    """What a person writes for an edition → kijun's name for it: '第9版', '９', '9th edition' → '9'; any other
    text (a supplement such as 第8版追補改訂) is kept as written, spaces trimmed; '' or None → None."""
    text = unicodedata.normalize("NFKC", raw or "").strip()
    if not text:
        return None
    m = _EDITION_ALONE.match(text)
    return str(int(m.group(1))) if m else re.sub(r"\s+", "", text)


def edition_label(edition: str | None) -> str:
    """How a page writes an edition: '9' → '第9版'; unknown → '版不明'."""
    if edition is None:
        return "版不明"
    return f"第{edition}版" if edition.isdigit() else edition


def editions_in_text(text: str) -> list[str]:
    """The editions of the standards a document's own words name (「FISC 安全対策基準（第 10 版）」 → ['10']), in
    order, once each; a 第N版 not said of FISC or its 安全対策基準 is the document's own version, not counted."""
    return list(dict.fromkeys(str(int(m.group(1))) for m in _EDITION_IN_TEXT.finditer(
        unicodedata.normalize("NFKC", text))))


@dataclass(frozen=True)
class BundledEdition:
    """What the bundled document says of itself in its change history: the edition it answers, the standards'
    revision it reflects, its date and its latest entry (「第9版令和3年12月版の反映、一部情報の更新」)."""

    edition: str | None
    date: str
    version: str


def bundled_edition(doc: Document) -> BundledEdition:
    """The bundled document's edition and date, from its latest change-history edition line."""
    if not doc.editions:
        return BundledEdition(None, "", "")
    latest = doc.editions[-1]
    found = _EDITION.search(unicodedata.normalize("NFKC", latest.description))  # 「第9版令和3年12月版の反映」
    return BundledEdition(str(int(found.group(1))) if found else None, latest.date, latest.description)


@dataclass(frozen=True)
class EditionIds:
    """The criterion IDs one edition has, and where kijun learnt them (the bundled document, title lists)."""

    edition: str
    ids: frozenset[str]
    sources: tuple[str, ...]  # the IDs of the documents that defined them
    complete: bool = False  # the bundled document's edition: a title list is checked against it, never extends it


class Editions:
    """Which IDs each edition has, as far as kijun knows: the bundled document's edition (complete), and every
    other edition a title list was added for (its IDs are all of its title lists' together)."""

    def __init__(self, known: Iterable[EditionIds] = ()) -> None:
        merged: dict[str, EditionIds] = {}
        for e in sorted(known, key=lambda e: not e.complete):
            had = merged.get(e.edition)
            if had is None:
                merged[e.edition] = e
            elif not had.complete:
                merged[e.edition] = EditionIds(e.edition, had.ids | e.ids, tuple(dict.fromkeys(had.sources + e.sources)))
        self._known = merged

    @classmethod
    def of(cls, bundled: Document, bundled_id: str, title_lists: Mapping[str, tuple[str | None, Iterable[str]]] = {}
           ) -> "Editions":
        """From the bundled document and title lists (document ID → (edition, its IDs))."""
        known = []
        edition = bundled_edition(bundled).edition
        if edition is not None:
            known.append(EditionIds(edition, frozenset(c.id for c in bundled.criteria), (bundled_id,), complete=True))
        for doc_id, (ed, ids) in title_lists.items():
            if ed is not None:
                known.append(EditionIds(ed, frozenset(ids), (doc_id,)))
        return cls(known)

    def ids(self, edition: str | None) -> EditionIds | None:
        """The IDs kijun knows for `edition`, or None when it does not know them."""
        return self._known.get(edition) if edition is not None else None

    @property
    def known(self) -> tuple[str, ...]:
        return tuple(sorted(self._known, key=lambda e: (not e.isdigit(), int(e) if e.isdigit() else 0, e)))

    def check(self, edition: str | None, cited: Mapping[str, int | None], *, defines: bool = False) -> list[Message]:
        """What to tell a person adding a document of `edition` that cites these IDs (ID → the first row or line
        citing it): the IDs its edition lacks, each named with where; or that kijun does not know the edition's
        IDs, so none were checked. A title list (`defines`) defines the IDs of its edition, unless that is the
        bundled document's, which it is checked against."""
        if edition is None:
            return [Message("document_no_edition")]
        known = self.ids(edition)
        if defines and (known is None or not known.complete):
            return [Message("document_defines_edition", {"edition": edition_label(edition), "n": len(cited)})]
        if known is None:
            return [Message("document_edition_unknown", {"edition": edition_label(edition),
                                                         "known": [edition_label(e) for e in self.known] or ["-"]})]
        missing = sorted((cid for cid in cited if cid not in known.ids), key=id_sort_key)
        if not missing:
            return []
        where = [f"{cid} ({cited[cid]})" if cited[cid] is not None else cid for cid in missing]
        return [Message("document_ids_not_in_edition", {"n": len(missing), "ids": where,
                                                        "edition": edition_label(edition),
                                                        "sources": list(known.sources)})]
