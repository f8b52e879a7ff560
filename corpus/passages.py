"""Passages: the unit that embeddings, snippets and duplicate finding share.

A criterion's text columns are split into paragraphs and bullets (bounded in
length); the same splitting feeds the embedding index, the snippet chooser and
the duplicate finder, so "the same passage" means one thing everywhere.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from corpus.records import Criterion, Document, Revision

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Passage:
    """One paragraph or bullet of one text column of one criterion."""

    criterion_id: str
    field: str  # "aws_status" | "customer_controls" | "revision" | "title" (corpus.documents.FIELDS)
    index: int  # position within the field
    text: str  # as displayed (already NFKC-cleaned by the parser)
    label: str = ""  # the column's header as another document writes it ("": the bundled label of `field`)
    document: str = ""  # the document that wrote it when not the one it belongs to (a title list's title)

    @property
    def key(self) -> str:
        return passage_key(self.text)


def normalize_passage(text: str) -> str:
    """Comparable form: NFKC (width, ⽴→立), lower case, no whitespace.

    Whitespace is dropped entirely because the PDF extraction inserts and
    removes spaces inconsistently ("明示また は黙示").
    """
    return _SPACE.sub("", unicodedata.normalize("NFKC", text)).lower()


@lru_cache(maxsize=65536)
def passage_key(text: str) -> str:
    """Stable hash of the normalised passage, for exact-repeat grouping and caches.

    Memoised: the table, both indexes, boilerplate and the duplicate finder all ask for the
    same passages' keys, and a large corpus repeats a passage many times."""
    return hashlib.sha1(normalize_passage(text).encode("utf-8")).hexdigest()


MAX_CHARS = 300
_SENTENCE_END = re.compile(r"(?<=[。．!?！？])|(?<=\.)(?=\s)")  # Japanese stops; ". " in English


def _bounded(paragraph: str, max_chars: int) -> list[str]:
    """Split an over-long paragraph at sentence ends so each piece stays embeddable."""
    if len(paragraph) <= max_chars:
        return [paragraph]
    pieces: list[str] = []
    current = ""
    for sentence in (s for s in _SENTENCE_END.split(paragraph) if s):
        if current and len(current) + len(sentence) > max_chars:
            pieces.append(current)
            current = ""
        current += sentence
    if current:
        pieces.append(current)
    return pieces


SHORT_LINE = 30  # a line this short with no sentence end is a heading, a lead-in or a list item
_ENDS_SENTENCE = re.compile(r"[。．!?！？]$")


def _is_short(line: str) -> bool:
    return len(line) < SHORT_LINE and not _ENDS_SENTENCE.search(line)


def split_text(text: str, *, max_chars: int = MAX_CHARS) -> list[str]:
    """Paragraphs and bullets (the parser puts each on its own line), bounded in length.

    Headings, lead-ins ("保護機能の例:") and short list items are kept with what
    follows them, so "- ポートスキャン" is never a passage of its own: alone it
    neither embeds nor reads as anything.
    """
    out: list[str] = []
    pending = ""
    for line in (raw.strip() for raw in text.split("\n")):
        if not line:
            continue
        if _is_short(line):
            if pending and len(pending) + 1 + len(line) > max_chars:
                out.append(pending)
                pending = ""
            pending = f"{pending}\n{line}" if pending else line
            continue
        pieces = _bounded(line, max_chars)
        if pending:  # the heading goes with the first piece of what it heads
            if len(pending) + 1 + len(pieces[0]) <= max_chars:
                pieces[0] = f"{pending}\n{pieces[0]}"
            else:
                out.append(pending)
            pending = ""
        out.extend(pieces)
    if pending:
        out.append(pending)
    return out


MIN_SENTENCE_CHARS = 8  # shorter pieces ("以下の通り。") say nothing on their own
# after 。！？ (but not inside a closing quote or bracket: 「…。」 is one), after ". ", at line ends
_SENTENCES = re.compile(r"\n|(?<=[。．！？!?])(?![」』）)])|(?<=\.)(?=\s)")


def split_sentences(text: str | None) -> list[str]:
    """The sentences of a passage, verbatim (and its lines: a heading or bullet is one): the units
    of the finer semantic match a long passage's single vector averages away, and of the
    questionnaire's cited drafts."""
    return [s for s in (piece.strip() for piece in _SENTENCES.split(text or "")) if len(s) >= MIN_SENTENCE_CHARS]


def passage_settings() -> dict[str, int | float]:
    """What decides passage boundaries and boilerplate; indexes built on passages store it."""
    return {"splitting_version": 4, "max_chars": MAX_CHARS, "short_line": SHORT_LINE,
            "min_sentence_chars": MIN_SENTENCE_CHARS,
            "boilerplate_min_share": BOILERPLATE_MIN_SHARE, "boilerplate_min_criteria": BOILERPLATE_MIN_CRITERIA}


TEXT_FIELDS = ("aws_status", "customer_controls")


def criterion_passages(criterion: "Criterion", *, max_chars: int = MAX_CHARS) -> list[Passage]:
    out: list[Passage] = []
    for field in TEXT_FIELDS:
        for k, piece in enumerate(split_text(getattr(criterion, field), max_chars=max_chars)):
            out.append(Passage(criterion.id, field, k, piece))
    return out


def revision_passages(revision: "Revision", *, max_chars: int = MAX_CHARS) -> list[Passage]:
    pieces = split_text(revision.text, max_chars=max_chars)
    return [Passage(cid, "revision", k, piece) for cid in revision.ids for k, piece in enumerate(pieces)]


def own_passages(doc: "Document", criterion: "Criterion", *, max_chars: int = MAX_CHARS) -> list[Passage]:
    """One criterion's passages, change history left out (実88 borrows 実87's AWS text)."""
    own = criterion_passages(criterion, max_chars=max_chars)
    source = doc.text_of(criterion)
    if source is not criterion:  # its AWS column first, as for every other criterion
        own = [Passage(criterion.id, p.field, p.index, p.text) for p in criterion_passages(source, max_chars=max_chars)
               if p.field == "aws_status"] + [p for p in own if p.field != "aws_status"]
    return own


def document_passages(doc: "Document", *, max_chars: int = MAX_CHARS) -> list[Passage]:
    """All passages of all criteria (`own_passages`), then revisions."""
    out: list[Passage] = []
    for c in doc.criteria:
        out.extend(own_passages(doc, c, max_chars=max_chars))
    for r in doc.revisions:
        out.extend(revision_passages(r, max_chars=max_chars))
    return out


BOILERPLATE_MIN_SHARE = 0.2
BOILERPLATE_MIN_CRITERIA = 10


def boilerplate_keys(passages: list[Passage], *, min_share: float = BOILERPLATE_MIN_SHARE,
                     min_criteria: int = BOILERPLATE_MIN_CRITERIA) -> set[str]:
    """Passages repeated across a large share of criteria: they say nothing about any one.

    The one definition used by the keyword index, the embedding index, snippets
    and the duplicate finder.
    """
    owners: dict[str, set[str]] = {}
    for p in passages:
        owners.setdefault(p.key, set()).add(p.criterion_id)
    total = len({p.criterion_id for p in passages}) or 1
    return {k for k, ids in owners.items() if len(ids) >= min_criteria and len(ids) / total >= min_share}
