"""Choose the passage that best answers a query, and mark what matched in it.

Highlights are character spans into the passage's original (displayed) text,
found with the same analyzer as the index, so ﾊﾟｽﾜｰﾄﾞ highlights パスワード.
The passage text itself is never altered, so what a user copies is verbatim.

Only the query's own words are marked (`indexer.keyword_index.query_words`): never its
grammar (〜しています), never an affix alone (者 of 開発者 for a query about 管理者: an
affix is marked only beside a marked word, 管理者), and a partial match through character
bigrams only when it runs over most of one query word (パスワー, not the ワー of ネットワーク).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from indexer.analyzer import BigramTokenizer, SudachiTokenizer, sudachi_morphemes
from indexer.keyword_index import AFFIX_POS, MOST_OF_A_WORD, QueryWords
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


@dataclass(frozen=True)
class WordPlaces:
    """Where each normalised word of a passage stands, so a query's few words are looked up, not
    every token of every passage scanned; and where its affixes (接頭辞, 接尾辞: 者 of 開発者, 性 of
    可用性) stand, which are marked only beside a marked word."""

    words: dict[str, tuple[tuple[int, int], ...]]
    affixes: frozenset[tuple[int, int]]


@text_cache(TOKEN_CACHE_BYTES)
def word_places(text: str) -> WordPlaces:
    places: dict[str, list[tuple[int, int]]] = {}
    for t, a, b in word_tokens(text):
        places.setdefault(t, []).append((a, b))
    affixes = frozenset((m.start, m.end) for m in sudachi_morphemes(text, "A") if m.pos.startswith(AFFIX_POS))
    return WordPlaces({t: tuple(v) for t, v in places.items()}, affixes)


@dataclass(frozen=True)
class GramPlaces:
    """A passage's character bigrams in order, and the positions of each."""

    tokens: tuple[Token, ...]
    at: dict[str, tuple[int, ...]]


@text_cache(TOKEN_CACHE_BYTES)
def gram_places(text: str) -> GramPlaces:
    tokens = tuple((t.text, t.startchar, t.endchar) for t in BigramTokenizer()(text, chars=True))
    at: dict[str, list[int]] = {}
    for k, (g, _, _) in enumerate(tokens):
        at.setdefault(g, []).append(k)
    return GramPlaces(tokens, {g: tuple(v) for g, v in at.items()})


def spans(text: str, terms: QueryWords, grams: bool = False) -> list[tuple[int, int]]:
    """Character spans of `text` holding the query's words (and, with `grams`, runs over most of one
    query word's bigrams); an affix of the query only where it touches such a span."""
    passage = word_places(text)
    places, words = passage.words, set(terms.words)
    if not grams and places.keys().isdisjoint(words):
        return []  # an affix is marked only beside a word found: nothing here (most passages of a hybrid hit)
    bound = passage.affixes  # 者 of the passage's 開発者 says nothing alone, whatever the query's 者 was
    found = [s for w in words for s in places.get(w, ()) if s not in bound]
    if grams:
        found += gram_runs(text, terms.grams.values())
    found = merge(found)
    affixes = set(terms.affixes) | words
    pending = sorted({s for w in affixes for s in places.get(w, ()) if s not in found})
    while pending:  # 管理 found, 者 right after it: 管理者 (repeated, for 機密性管理者-like chains)
        ends, starts = {b for _, b in found}, {a for a, _ in found}
        touching = [(a, b) for a, b in pending if a in ends or b in starts]
        if not touching:
            break
        found = merge(found + touching)
        pending = [s for s in pending if s not in touching]
    return found


def gram_runs(text: str, words: Iterable[tuple[str, ...]]) -> list[tuple[int, int]]:
    """Spans where consecutive bigrams of `text` spell more than MOST_OF_A_WORD of one word's bigrams
    in order (パックアップ for バックアップ): a common stretch of the passage and the word."""
    passage = gram_places(text)
    grams, places = passage.tokens, passage.at
    out = []
    for word in words:
        need = max(1, int(len(word) * MOST_OF_A_WORD) + 1)
        at = {g: i for i, g in enumerate(word)}
        runs: dict[int, int] = {}  # only where the passage has one of the word's bigrams
        for k in sorted(k for g in at for k in places.get(g, ())):
            prev = grams[k - 1] if k else None
            follows = prev is not None and k - 1 in runs and prev[2] > grams[k][1] \
                and at[prev[0]] + 1 == at[grams[k][0]]
            runs[k] = runs[k - 1] + 1 if follows else 1
            if runs[k] >= need:
                out.append((grams[k - runs[k] + 1][1], grams[k][2]))
    return out


def merge(found: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(found):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def best_passage(passages: Iterable[tuple[str, str]], terms: QueryWords, grams: bool = False,
                 weights: Mapping[str, float] | None = None) -> Snippet | None:
    """The passage covering the most (idf-weighted) distinct query words."""
    best: tuple[float, int, Snippet] | None = None
    for order, (field, text) in enumerate(passages):
        hl = spans(text, terms, grams)
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
