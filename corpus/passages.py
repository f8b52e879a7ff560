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

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Passage:
    """One paragraph or bullet of one text column of one criterion."""

    criterion_id: str
    field: str  # "aws_status" | "customer_controls" | "revision"
    index: int  # position within the field
    text: str  # as displayed (already NFKC-cleaned by the parser)

    @property
    def key(self) -> str:
        return passage_key(self.text)


def normalize_passage(text: str) -> str:
    """Comparable form: NFKC (width, ⽴→立), lower case, no whitespace.

    Whitespace is dropped entirely because the PDF extraction inserts and
    removes spaces inconsistently ("明示また は黙示").
    """
    return _SPACE.sub("", unicodedata.normalize("NFKC", text)).lower()


def passage_key(text: str) -> str:
    """Stable hash of the normalised passage, for exact-repeat grouping and caches."""
    return hashlib.sha1(normalize_passage(text).encode("utf-8")).hexdigest()
