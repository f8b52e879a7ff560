"""Choose the passage that best answers a query, and mark what matched in it.

Highlights are character spans into the passage's original (displayed) text,
found with the same analyzer as the index, so ﾊﾟｽﾜｰﾄﾞ highlights パスワード.
The passage text itself is never altered, so what a user copies is verbatim.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from indexer.analyzer import BigramTokenizer, SudachiTokenizer
from indexer.text_cache import text_cache

MAX_SNIPPET_CHARS = 220
TOKEN_CACHE_BYTES = 32 * 1024 * 1024  # each tokenizer's memo: every passage of the document, and the recent questions


@dataclass(frozen=True)
class Snippet:
    field: str
    text: str
    highlights: tuple[tuple[int, int], ...]
    passage: str  # the whole passage the snippet was cut from

    def marked(self, open_: str = "【", close: str = "】") -> str:
        """The snippet with its highlights wrapped in markers (for terminals)."""
        out, last = [], 0
        for a, b in self.highlights:
            out += [self.text[last:a], open_, self.text[a:b], close]
            last = b
        out.append(self.text[last:])
        return "".join(out)


Token = tuple[str, int, int]  # normalised text, start and end offsets in the original


@text_cache(TOKEN_CACHE_BYTES)
def word_tokens(text: str) -> tuple[Token, ...]:
    """Sudachi C and A tokens of a passage; cached because the same passages are shown again and again."""
    return tuple((t.text, t.startchar, t.endchar) for mode in ("C", "A")
                 for t in SudachiTokenizer(mode)(text, chars=True))


@text_cache(TOKEN_CACHE_BYTES)
def bigram_tokens(text: str) -> tuple[Token, ...]:
    return tuple((t.text, t.startchar, t.endchar) for t in BigramTokenizer()(text, chars=True))


def spans(text: str, words: set[str], grams: set[str]) -> list[tuple[int, int]]:
    """Character spans of `text` whose normalised tokens are among the query's."""
    found = [(a, b) for t, a, b in word_tokens(text) if t in words]
    if grams:
        # a lone matching bigram is mostly noise (ネット[ワー]ク); two or more in a row is a word
        runs = merge((a, b) for t, a, b in bigram_tokens(text) if t in grams)
        found += [(a, b) for a, b in runs if b - a >= 3]
    return merge(found)


def merge(found: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(found):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def best_passage(passages: Iterable[tuple[str, str]], words: set[str], grams: set[str],
                 weights: Mapping[str, float] | None = None) -> Snippet | None:
    """The passage covering the most (idf-weighted) distinct query tokens."""
    best: tuple[float, int, Snippet] | None = None
    for order, (field, text) in enumerate(passages):
        hl = spans(text, words, grams)
        covered = {text[a:b] for a, b in hl}
        score = sum((weights or {}).get(t, 1.0) for t in covered) + 0.01 * len(hl)
        cand = Snippet(field, text, tuple(hl), text)
        if best is None or score > best[0]:
            best = (score, -order, cand)
    return window(best[2]) if best else None


def window(s: Snippet, max_chars: int = MAX_SNIPPET_CHARS) -> Snippet:
    """Cut a long passage around its first highlight, keeping offsets right."""
    if len(s.text) <= max_chars:
        return s
    first = s.highlights[0][0] if s.highlights else 0
    start = max(0, min(first - max_chars // 4, len(s.text) - max_chars))
    end = start + max_chars
    text = ("…" if start else "") + s.text[start:end] + ("…" if end < len(s.text) else "")
    shift = 1 if start else 0
    hl = tuple((max(a, start) - start + shift, min(b, end) - start + shift)
               for a, b in s.highlights if b > start and a < end)
    return Snippet(s.field, text, hl, s.passage)
