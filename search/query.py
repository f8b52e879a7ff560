"""What a user asked, understood: free words, "quoted phrases", -exclusions, IDs; and the
request's vocabulary (modes, limits).

Parsed by hand rather than by Whoosh's query parser so that nothing a user can
type (unbalanced quotes, AND/OR/NOT, field:value, emoji) is a syntax error.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from corpus.vocabulary import ids_in, strip_ids
from search.errors import EmptyQuery, QueryTooLong

MODES = ("keyword", "semantic", "hybrid")
DEFAULT_MODE = "hybrid"
MAX_QUERY_CHARS = 10_000
MAX_LIMIT = 200
"""The most hits one search returns (CLI, API and web pages all take it from here)."""

_QUOTES = {'"': '"', "“": "”", "「": "」", "『": "』", "”": "”"}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


@dataclass(frozen=True)
class ParsedQuery:
    raw: str
    text: str  # free text, for ranking (quotes, exclusions and IDs removed)
    phrases: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()  # criterion IDs named in the query, in order
    only_ids: bool = False  # the whole query is one or more IDs
    excluded_ids: tuple[str, ...] = ()  # IDs written as exclusions (-実26)
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @property
    def positive_text(self) -> str:
        return " ".join([self.text, *self.phrases]).strip()


def parse_query(raw: str, *, max_chars: int = MAX_QUERY_CHARS) -> ParsedQuery:
    """Understand a query; raise QueryError only when there is nothing to search."""
    if raw is None or not str(raw).strip():
        raise EmptyQuery("the query is empty; type a word such as パスワード, a question, or an ID such as 実26")
    if len(raw) > max_chars:
        raise QueryTooLong(f"the query is {len(raw):,} characters; the limit is {max_chars:,}. "
                         "Split a long questionnaire into one question per line and use `kijun answer`.")
    # lone surrogates (undecodable bytes from a terminal or file) cannot be encoded for the tokenizer
    text = str(raw).encode("utf-8", "replace").decode("utf-8")
    text = _CONTROL.sub(" ", unicodedata.normalize("NFKC", text))
    phrases, rest = _take_phrases(text)
    excludes: list[str] = []
    words: list[str] = []
    for token in rest.split():
        if token.startswith("-") and len(token) > 1 and not token[1:].startswith("-"):
            excludes.append(token[1:])
        else:
            words.append(token)
    free = " ".join(words)
    ids = ids_in(free)
    free = " ".join(strip_ids(free).split()).strip(" ,、・/")
    excluded_ids = tuple(i for e in excludes for i in ids_in(e) if not strip_ids(e).strip())
    excludes = [e for e in excludes if strip_ids(e).strip()]
    if not free and not phrases and not ids:
        if excludes or excluded_ids:
            raise EmptyQuery("the query only excludes words; add a word to search for, e.g. パスワード -IAM")
        raise EmptyQuery("the query is empty once its quotes are removed; type a word such as パスワード")
    only_ids = bool(ids) and not free and not phrases
    return ParsedQuery(str(raw), free, tuple(phrases), tuple(excludes), tuple(ids), only_ids, excluded_ids)


def _take_phrases(text: str) -> tuple[list[str], str]:
    """Pull out quoted phrases; an unclosed quote is just a character."""
    phrases: list[str] = []
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        close = _QUOTES.get(ch)
        end = text.find(close, i + 1) if close else -1
        if close and end > i + 1:
            phrase = text[i + 1:end].strip()
            if phrase:
                phrases.append(phrase)
            out.append(" ")
            i = end + 1
        else:
            out.append(" " if close else ch)
            i += 1
    return phrases, "".join(out)
