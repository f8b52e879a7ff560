"""Choose the passage that best answers a query, and mark what matched in it.

Highlights are character spans into the passage's original (displayed) text,
found with the same analyzer as the index, so ﾊﾟｽﾜｰﾄﾞ highlights パスワード.
The passage text itself is never altered, so what a user copies is verbatim.

Only the query's own words are marked (`indexer.keyword_index.query_words`): never its
grammar (〜しています), never an affix alone (者 of 開発者 for a query about 管理者: an
affix is marked only beside a marked word, 管理者), and a partial match through character
bigrams only when it runs over most of one query word (パスワー, not the ワー of ネットワーク).

A mark is a whole word on both sides. In the passage it covers most of the word it stands in
(データ is not marked inside データセンター); of the query, a part of a longer word counts only with
the parts beside it making up most of that word (要素認証 of 「2 要素認証」 for 多要素認証, not a lone
認証 of 「ISO/IEC 27001 認証を取得」); and a one-character word (時, 2) only beside another mark, unless
it is the whole query. Words a caller adds to the query's own (`QueryWords.extra`: a synonym standing
for a query word) are marked as whole words of the query; one of several words (its tokens joined by
spaces: 物理的 アクセス) is marked where they stand in a row.
"""
from __future__ import annotations

import bisect
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
def mode_tokens(text: str, mode: str) -> tuple[Token, ...]:
    """Sudachi tokens of one mode (C: whole words, A: their parts); cached because the same passages are
    shown again and again."""
    return tuple((t.text, t.startchar, t.endchar) for t in SudachiTokenizer(mode)(text, chars=True))


def word_tokens(text: str) -> tuple[Token, ...]:
    """Sudachi C and A tokens of a passage."""
    return mode_tokens(text, "C") + mode_tokens(text, "A")


Span = tuple[int, int]


@dataclass(frozen=True)
class WordPlaces:
    """Where each normalised word of a passage stands, so a query's few words are looked up, not
    every token of every passage scanned; where its affixes (接頭辞, 接尾辞: 者 of 開発者, 性 of
    可用性) stand, which are marked only beside a marked word; and the spans of its whole (mode C)
    words, which a mark must mostly cover."""

    words: dict[str, tuple[Span, ...]]
    affixes: frozenset[Span]
    wholes: tuple[Span, ...]  # in order, not overlapping

    def whole_at(self, span: Span) -> Span:
        """The whole word a span stands in (the span itself when it is one, or lies across words)."""
        k = bisect.bisect_right(self.wholes, (span[0], float("inf"))) - 1
        if k >= 0 and self.wholes[k][0] <= span[0] and span[1] <= self.wholes[k][1]:
            return self.wholes[k]
        return span


@text_cache(TOKEN_CACHE_BYTES)
def word_places(text: str) -> WordPlaces:
    places: dict[str, list[Span]] = {}
    for t, a, b in word_tokens(text):
        places.setdefault(t, []).append((a, b))
    affixes = frozenset((m.start, m.end) for m in sudachi_morphemes(text, "A") if m.pos.startswith(AFFIX_POS))
    wholes = tuple(sorted({(a, b) for _, a, b in mode_tokens(text, "C")}))
    return WordPlaces({t: tuple(v) for t, v in places.items()}, affixes, wholes)


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
    """Character spans of `text` holding the query's words as whole words (and, with `grams`, runs over
    most of one query word's bigrams); an affix of the query, or a short word, only where it touches
    such a span."""
    passage = word_places(text)
    phrases = [tuple(w.split()) for w in terms.extra if " " in w]
    places, words = passage.words, set(terms.words) | {w for w in terms.extra if " " not in w}
    found_phrases = phrase_spans(text, phrases) if phrases else []
    if not grams and not found_phrases and places.keys().isdisjoint(words):
        return []  # an affix is marked only beside a word found: nothing here (most passages of a hybrid hit)
    bound = passage.affixes  # 者 of the passage's 開発者 says nothing alone, whatever the query's 者 was
    short = set(terms.short)
    matched = {(s, w) for w in words - short for s in places.get(w, ()) if s not in bound}
    kept = _whole_words(matched, terms, passage)
    found = [s for s, _ in kept] + found_phrases
    if grams:
        found += [r for r in gram_runs(text, terms.grams.values()) if _mostly(passage, r, (r,))]
    found = merge(found)
    dropped = {s for s, _ in matched} - {s for s, _ in kept}  # a part not making a word: never brought back
    affixes = set(terms.affixes) | words
    pending = sorted({s for w in affixes for s in places.get(w, ()) if s not in found and s not in dropped})
    while pending:  # 管理 found, 者 right after it: 管理者 (repeated, for 機密性管理者-like chains)
        ends, starts = {b for _, b in found}, {a for a, _ in found}
        touching = [(a, b) for a, b in pending if a in ends or b in starts]
        if not touching:
            break
        found = merge(found + touching)
        pending = [s for s in pending if s not in touching]
    return found


def phrase_spans(text: str, phrases: Iterable[tuple[str, ...]]) -> list[Span]:
    """Where the passage's whole (mode C) words spell one of the phrases in a row: a synonym of several
    words (物理的 アクセス) is marked as one stretch, never its words apart."""
    tokens = mode_tokens(text, "C")
    words = [t for t, _, _ in tokens]
    out = []
    for phrase in phrases:
        n = len(phrase)
        out += [(tokens[i][1], tokens[i + n - 1][2]) for i in range(len(words) - n + 1) if tuple(words[i:i + n]) == phrase]
    return out


def _mostly(passage: WordPlaces, span: Span, merged: Iterable[Span]) -> bool:
    """Do the marks (`merged`, not overlapping) cover more than MOST_OF_A_WORD of the passage word `span`
    stands in?"""
    a, b = passage.whole_at(span)
    if (a, b) == span:
        return True
    covered = sum(max(0, min(y, b) - max(x, a)) for x, y in merged)
    return covered > MOST_OF_A_WORD * (b - a)


def _whole_words(matched: set[tuple[Span, str]], terms: QueryWords,
                 passage: WordPlaces) -> set[tuple[Span, str]]:
    """The matches that are whole words on both sides: each covers (with the matches beside it) most of
    the passage word it stands in, and a part of a longer query word makes up, with the parts beside it,
    most of that word."""
    merged = merge(s for s, _ in matched)
    kept = {(s, w) for s, w in matched if _mostly(passage, s, merged)}
    out = set()
    for s, w in kept:
        if w not in terms.parts:
            out.add((s, w))
            continue
        run = _run_at(s, kept)
        for whole in terms.parts[w]:
            of_it = {x for _, x in run if x == whole or whole in terms.parts.get(x, ())}
            if sum(map(len, of_it)) > MOST_OF_A_WORD * len(whole):
                out.add((s, w))
                break
    return out


def _run_at(span: Span, marks: set[tuple[Span, str]]) -> list[tuple[Span, str]]:
    """The marks touching `span`, and those touching them, in order: one stretch of marked text."""
    ordered = sorted(marks)
    runs: list[list[tuple[Span, str]]] = []
    for m in ordered:
        if runs and m[0][0] <= max(e for (_, e), _ in runs[-1]):
            runs[-1].append(m)
        else:
            runs.append([m])
    return next(r for r in runs if any(s == span for s, _ in r))


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
