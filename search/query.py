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
from messages import Message
from search.errors import EmptyQuery, QueryError, QueryTooLong

MODES = ("keyword", "semantic", "hybrid")
DEFAULT_MODE = "hybrid"
MAX_QUERY_CHARS = 10_000
MAX_QUESTION_CHARS = 2_000
"""A questionnaire question (a sheet's cell, a pasted line, a past question of the answer library) is
cut to this before every step that reads it: search, verdict, draft, caches."""
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
    warnings: tuple[Message, ...] = field(default=(), compare=False)

    @property
    def positive_text(self) -> str:
        return " ".join([self.text, *self.phrases]).strip()


def parse_query(raw: str, *, max_chars: int = MAX_QUERY_CHARS) -> ParsedQuery:
    """Understand a query; raise QueryError only when there is nothing to search."""
    if raw is None or not str(raw).strip():
        raise EmptyQuery()
    if len(raw) > max_chars:
        raise QueryTooLong(length=len(raw), limit=max_chars)
    # lone surrogates (undecodable bytes from a terminal or file) cannot be encoded for the tokenizer
    text = str(raw).encode("utf-8", "replace").decode("utf-8")
    text = _CONTROL.sub(" ", unicodedata.normalize("NFKC", text))
    text = strip_item_labels(text)
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
            raise EmptyQuery("only_exclusions")
        raise EmptyQuery("empty_quotes")
    only_ids = bool(ids) and not free and not phrases
    return ParsedQuery(str(raw), free, tuple(phrases), tuple(excludes), tuple(ids), only_ids, excluded_ids)


def searched_text(raw: str, *, max_chars: int = MAX_QUERY_CHARS) -> str | None:
    """What a search of `raw` ranks and embeds: its words and phrases, with item labels, IDs, quotes and
    exclusions taken off (`ParsedQuery.positive_text`); None when nothing is left to search. A caller that
    embeds a query itself (`Engine.search(vector=…)`, a sheet's questions embedded in batches) embeds this,
    so a label around a question can move neither its vector nor, through it, its answer."""
    try:
        return parse_query(raw, max_chars=max_chars).positive_text or None
    except QueryError:
        return None


# Item labels a check sheet puts around a question: numbering, "(項目3)", "No.12", "※必須", "【任意】".
# They are not what is asked, and a number in them must not pull the search (verdicts flipped on them).
_NUMBER = r"(?:\d+|[一二三四五六七八九十]+)(?:[-.]\d+)*"
_LABEL_WORD = r"(?:項目|設問|質問|問|Q|No\.?|NO\.?|no\.?|番号|#)"
_MARK = r"(?:必須|任意|重要|推奨|回答必須|要回答)"
_TRAILING_LABEL = re.compile(
    rf"(?:[(\[【<]\s*{_LABEL_WORD}?\s*{_NUMBER}\s*[)\]】>]|(?:^|(?<=[\s。、.?!]))({_LABEL_WORD})\s*{_NUMBER}"
    rf"|※\s*{_MARK}"
    rf"|[(\[【<]\s*※?\s*{_MARK}\s*[)\]】>])\s*$")
_LEADING_LABEL = re.compile(
    rf"^\s*(?:{_LABEL_WORD}\s*{_NUMBER}\s*[.:)\]、]?|[(\[【<]\s*{_LABEL_WORD}?\s*{_NUMBER}\s*[)\]】>]|"
    rf"{_NUMBER}\s*[.)、]|[(\[【<]\s*※?\s*{_MARK}\s*[)\]】>]|※\s*{_MARK})\s*")


LABEL_REACH = 40  # characters from either end a label may span; what it costs stays bounded
MAX_LABELS = 4  # at each end: "(項目3)※必須" is two


def strip_item_labels(text: str) -> str:
    """The text without the item labels around it (leading numbering, trailing "(項目3)", "※必須"…).
    A text that is only a label is left as it is."""
    text = text.strip()
    for _ in range(MAX_LABELS):
        m = _TRAILING_LABEL.search(text, max(0, len(text) - LABEL_REACH))  # the text before is still seen
        if not m or not m.start():
            break
        text = text[:m.start()].rstrip()
    for _ in range(MAX_LABELS):
        m = _LEADING_LABEL.match(text[:LABEL_REACH])
        if not m or m.end() >= len(text):
            break
        text = text[m.end():]
    return text


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
