"""Japanese text analysis for Whoosh: Sudachi morphemes and character bigrams.

Two tokenizers, meant to index the same text into two fields:

* :class:`SudachiTokenizer` -- dictionary words (SudachiPy + sudachidict-core),
  normalised by Sudachi (表記揺れ such as サーバ/サーバー, ﾊﾟｽﾜｰﾄﾞ, 二/2) and
  then by :func:`normalize`.  Precise, and the basis for BM25 scoring.
* :class:`BigramTokenizer` -- overlapping character bigrams.  Coarse, but it
  still matches when Sudachi splits a word oddly or the source has a typo
  (the document says パックアップ for バックアップ).

Both report ``startchar``/``endchar`` into the ORIGINAL text, so highlights
line up even when normalisation changes lengths (ﾊﾟ -> パ, ㍻ -> 平成).

Whoosh pickles the schema, and with it these objects, into the index.  The
module path ``indexer.analyzer`` and the class names are therefore part of the
on-disk format, and the objects hold nothing but plain settings; Sudachi
handles live in module globals and are created lazily.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import threading
import unicodedata
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

import sudachipy
from whoosh.analysis import STOP_WORDS, Analyzer, CompositeAnalyzer, Token, Tokenizer
from whoosh.lang.porter import stem

__all__ = [
    "ANALYZER_VERSION",
    "DEFAULT_DROP_POS",
    "ALWAYS_DROP_POS",
    "COMPOUND_PARTICLE_VERBS",
    "GRAMMATICAL_VERBS",
    "GRAMMATICAL_AFFIXES",
    "SPLIT_MODES",
    "normalize",
    "sudachi_tokenizer",
    "sudachi_morphemes",
    "SudachiTokenizer",
    "BigramTokenizer",
    "japanese_analyzer",
    "bigram_analyzer",
    "synonym_analyzer",
    "tokenize",
    "bigrams",
    "synonyms",
    "analyzer_settings",
]

#: Bump whenever a code change here changes the tokens produced, so indexes
#: built by an older version are rebuilt (see :func:`analyzer_settings`).
ANALYZER_VERSION: int = 6

#: Sudachi split modes: A = short units, B = middle, C = long (named entities).
SPLIT_MODES: tuple[str, ...] = ("A", "B", "C")

#: Sudachi POS (a top level, or "level,sublevel") dropped by default: particles
#: and auxiliary verbs (は, が, を, です, ます ...), the stem of ように, conjunctions
#: (及び, 又は, 若しくは), pronouns (これ, それ) and adnominals (その, この, どのような):
#: they carry no topic, match nearly every passage, and a pasted question's
#: 「データを返却または消去」 must not highlight また.
DEFAULT_DROP_POS: tuple[str, ...] = (
    "助詞", "助動詞", "形状詞,助動詞語幹", "接続詞", "代名詞", "連体詞")

#: Verbs that only carry grammar (〜している, 〜する, 〜できる, 〜である, 〜となる), by
#: normalized form. Sudachi tags many content verbs 非自立可能 too (見る, 置く, 出す),
#: so that category alone would drop too much.
GRAMMATICAL_VERBS: frozenset[str] = frozenset({"為る", "居る", "有る", "成る", "出来る"})

#: Affixes that only mark politeness, a plural or "and so on", by normalized form: the
#: prefix お/ご (御: お預かり) and the suffixes 等 and 達 (責任者等, これら, 社員達; ら
#: normalises to 等). Other affixes carry meaning: 多要素's 多, 非公開's 非, サーバ室's 室.
GRAMMATICAL_AFFIXES: frozenset[str] = frozenset({"御", "等", "達"})

#: Verbs that, right after the particle に, form a compound particle (複合辞):
#: について, において, に関して, に対して, によって, に基づき, に伴い, に際して,
#: にとって. There they mean "about", "in", "by": grammar, not topic (「つい」 in
#: について is not 付く). に従って and に応じて stay: "comply with" is a topic here.
COMPOUND_PARTICLE_VERBS: frozenset[str] = frozenset(
    {"つく", "付く", "おく", "於く", "関する", "対する", "よる", "因る", "依る", "基づく", "伴う", "際する",
     "取る", "とる"})

#: English function words: Whoosh's STOP_WORDS plus the pronouns, auxiliaries, question
#: words and prepositions an English questionnaire sentence carries ("How are … managed?").
#: The document's English passages are full of them, so they would match (and highlight)
#: everywhere. Other Latin-script words are Porter-stemmed (managed, management → manag).
ENGLISH_STOP_WORDS: frozenset[str] = frozenset(STOP_WORDS | {
    "about", "above", "after", "again", "against", "all", "am", "any", "been", "before", "being", "below",
    "between", "both", "but", "could", "did", "do", "does", "doing", "down", "during", "each", "few", "further",
    "had", "has", "having", "he", "her", "here", "hers", "him", "his", "how", "i", "into", "its", "itself", "just",
    "me", "more", "most", "my", "no", "nor", "now", "off", "once", "only", "other", "our", "ours", "out", "over",
    "own", "same", "she", "should", "so", "some", "such", "than", "their", "theirs", "them", "then", "there",
    "these", "they", "those", "through", "too", "under", "until", "up", "very", "was", "were", "what", "where",
    "which", "while", "who", "whom", "why", "would", "yours", "e.g", "etc", "i.e", "please"})

#: Latin words this short are not stemmed: they are acronyms and names (AWS, IAM, SOC, KMS)
#: far more often than inflected words, and Porter would cut them (aws → aw).
MAX_UNSTEMMED: int = 3

#: Top-level POS that are never tokens: punctuation/symbols and whitespace.
ALWAYS_DROP_POS: tuple[str, ...] = ("補助記号", "空白")

#: Human-readable name of what :func:`normalize` does (recorded in settings).
NORMALIZATION: str = "NFKC+lower"

#: Sudachi rejects input over 49149 UTF-8 bytes (and over 65535 bytes after
#: its own input normalisation, which can expand e.g. ㌀ to アパート).  4096
#: characters is at most 16 KiB of UTF-8, leaving room for a 4x expansion.
MAX_CHUNK_CHARS: int = 4096

_SUDACHI_DICT: str = "core"


def normalize(text: str) -> str:
    """NFKC + lower case: the one normalisation applied at index and query time.

    NFKC folds full/half width (ＡＷＳ -> AWS, ﾊﾟ -> パ) and compatibility
    characters (① -> 1); lower() makes Latin matching case-insensitive.
    """
    return unicodedata.normalize("NFKC", text).lower()


def _check_mode(mode: str) -> str:
    """Return *mode* as an upper-case Sudachi split mode, or raise ValueError."""
    upper = str(mode).upper()
    if upper not in SPLIT_MODES:
        raise ValueError(f"Sudachi split mode must be one of {SPLIT_MODES}, got {mode!r}")
    return upper


# ---------------------------------------------------------------------------
# Sudachi handles
#
# A Dictionary is large (the whole system.dic) and only read once built: one
# per process.  A sudachipy.Tokenizer keeps mutable lattice state and is NOT
# thread-safe: one per thread and split mode.  Both remember the pid that
# created them so a forked worker builds its own instead of sharing state.

_dictionary: sudachipy.Dictionary | None = None
_dictionary_pid: int = -1
_dictionary_lock = threading.Lock()
_local = threading.local()


def _sudachi_dictionary() -> sudachipy.Dictionary:
    """The process-wide Sudachi dictionary, created on first use."""
    global _dictionary, _dictionary_pid
    pid = os.getpid()
    if _dictionary is None or _dictionary_pid != pid:
        with _dictionary_lock:
            if _dictionary is None or _dictionary_pid != pid:
                _dictionary = sudachipy.Dictionary(dict=_SUDACHI_DICT)
                _dictionary_pid = pid
    return _dictionary


def sudachi_tokenizer(mode: str = "C") -> sudachipy.Tokenizer:
    """This thread's Sudachi tokenizer for split *mode* (created on first use)."""
    mode = _check_mode(mode)
    pid = os.getpid()
    if getattr(_local, "pid", None) != pid:
        _local.pid = pid
        _local.tokenizers = {}
    tokenizers: dict[str, sudachipy.Tokenizer] = _local.tokenizers
    tok = tokenizers.get(mode)
    if tok is None:
        tok = _sudachi_dictionary().tokenizer(mode)
        tokenizers[mode] = tok
    return tok


# ---------------------------------------------------------------------------
# Long input: Sudachi has a hard input size limit, so split at safe places.

_SOUND_MARKS = frozenset("\uff9e\uff9f\u3099\u309a")  # ﾞ ﾟ and combining (semi-)voiced marks


def _attaches_to_previous(ch: str) -> bool:
    """True if *ch* modifies the preceding character (never cut before it)."""
    return ch in _SOUND_MARKS or unicodedata.category(ch).startswith("M")


def _cut_point(text: str, start: int, limit: int) -> int:
    """End of the chunk starting at *start*: after the last newline, 。 or
    whitespace within *limit* characters, else a hard cut that does not
    separate a character from its combining/sound mark."""
    end = start + limit
    if end >= len(text):
        return len(text)
    for sep in ("\n", "。"):
        i = text.rfind(sep, start, end)
        if i >= start:
            return i + 1
    for i in range(end - 1, start, -1):
        if text[i].isspace():
            return i + 1
    while end - 1 > start and _attaches_to_previous(text[end]):
        end -= 1
    return end


def _chunks(text: str, limit: int = MAX_CHUNK_CHARS) -> Iterator[tuple[int, str]]:
    """Yield ``(offset, chunk)`` pieces of *text*, each at most *limit* chars."""
    start = 0
    while start < len(text):
        end = _cut_point(text, start, limit)
        yield start, text[start:end]
        start = end


class Morpheme(NamedTuple):
    """One Sudachi word: its span in the text, normalized form, "POS,sub-POS" and synonym groups."""

    start: int
    end: int
    form: str
    pos: str
    synonyms: tuple[int, ...]


def _morphemes(tok: sudachipy.Tokenizer, text: str, offset: int) -> Iterator[Morpheme]:
    """Yield the morphemes of *text*.

    Offsets are shifted by *offset*.  If Sudachi still finds the piece too
    long (extreme expansion under its input normalisation), halve and retry.
    """
    try:
        morphemes = tok.tokenize(text)
    except Exception as exc:  # sudachipy raises a generic SudachiError
        if "too long" not in str(exc) or len(text) < 2:
            raise
        mid = _cut_point(text, 0, len(text) // 2)
        yield from _morphemes(tok, text[:mid], offset)
        yield from _morphemes(tok, text[mid:], offset + mid)
        return
    # Copy out before any nested tokenize() call reuses the tokenizer.
    found = [(m.begin(), m.end(), m.normalized_form(), ",".join(m.part_of_speech()[:2]),
              tuple(m.synonym_group_ids())) for m in morphemes]
    for begin, end, form, pos, synonyms in found:
        if end <= begin:
            # Rare: a compatibility character that Sudachi expanded (㍻ -> 平成)
            # followed by a combining mark can leave a morpheme with an empty
            # span; it came from the character before, so point there.
            begin, end = (begin - 1, begin) if begin > 0 else (0, min(1, len(text)))
        surface = text[begin:end]
        if not _pos_in(pos, ALWAYS_DROP_POS) and _HAS_SPACE(surface):
            # Multi-word dictionary entries ("data center") would give a token
            # containing a space, which no whitespace-split query can match:
            # analyse each word on its own instead.
            for word in _WORDS(surface):
                yield from _morphemes(tok, word.group(), offset + begin + word.start())
            continue
        yield Morpheme(offset + begin, offset + end, form, pos, synonyms)


_HAS_SPACE = re.compile(r"\s").search
_WORDS = re.compile(r"\S+").finditer


def sudachi_morphemes(text: str, mode: str = "C") -> Iterator[Morpheme]:
    """The morphemes of any length of *text*, with offsets into *text*; nothing is filtered yet."""
    tok = sudachi_tokenizer(mode)
    for offset, chunk in _chunks(text):
        yield from _morphemes(tok, chunk, offset)


def _whole_value(t: Token, value: str, start_pos: int, start_char: int) -> Token:
    """The whole (normalised) value as one token: what Whoosh asks for with tokenize=False."""
    t.text = normalize(value)
    t.original = value
    t.boost = 1.0
    if t.positions:
        t.pos = start_pos
    if t.chars:
        t.startchar = start_char
        t.endchar = start_char + len(value)
    return t


def _pos_in(pos: str, names: Iterable[str]) -> bool:
    """True if *pos* ("動詞,非自立可能") is one of *names* or below one ("動詞")."""
    return pos in names or pos.partition(",")[0] in names


def _has_word_char(text: str) -> bool:
    """True if *text* has a letter or digit (kana and kanji count as letters)."""
    return any(ch.isalnum() for ch in text)


# ---------------------------------------------------------------------------
# Tokenizers


class _SpanTokenizer(Tokenizer):
    """Whoosh's tokenizer protocol, once: subclasses only say which spans of the text are tokens."""

    def spans(self, value: str) -> Iterator[tuple[str, int, int, bool]]:
        """(token text, start, end, stopped) for each token of *value*, offsets into *value*."""
        raise NotImplementedError

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[Token]:
        """Yield one reused :class:`whoosh.analysis.Token` per span.

        Positions count kept tokens only, so a phrase query still matches when
        the document has a stop word the query lacks (or vice versa).
        """
        assert isinstance(value, str), f"{value!r} is not str"
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            yield _whole_value(t, value, start_pos, start_char)
            return
        pos = start_pos
        for text, begin, end, stopped in self.spans(value):
            if stopped and removestops:
                continue
            t.text = text
            t.boost = 1.0
            t.stopped = stopped
            if keeporiginal:
                t.original = value[begin:end]
            if positions:
                t.pos = pos
            if chars:
                t.startchar = start_char + begin
                t.endchar = start_char + end
            if not stopped:
                pos += 1
            yield t


class SudachiTokenizer(_SpanTokenizer):
    """Dictionary-word tokenizer backed by Sudachi.

    Sudachi reads the original text (so offsets are exact) and supplies a
    normalized form per word; that form is passed through :func:`normalize`
    because Sudachi's own casing is inconsistent (IAM -> iam, access ->
    ACCESS).  Whitespace and symbols are not tokens.  Words whose top-level
    POS is in *drop_pos* are treated as stop words: removed, or yielded with
    ``stopped=True`` when whoosh asks for ``removestops=False``.  There is no
    minimum length: 鍵, 日 and 火 are whole words. English words (Latin letters only) in
    *english_stop_words* are stop words; the others are Porter-stemmed after normalisation
    (Sudachi maps some to katakana, data → データ, which is kept: it matches the Japanese).
    """

    def __init__(self, mode: str = "C", drop_pos: Iterable[str] = DEFAULT_DROP_POS,
                 drop_verbs: Iterable[str] = GRAMMATICAL_VERBS,
                 drop_affixes: Iterable[str] = GRAMMATICAL_AFFIXES,
                 compound_verbs: Iterable[str] = COMPOUND_PARTICLE_VERBS,
                 english_stop_words: Iterable[str] = ENGLISH_STOP_WORDS) -> None:
        """:param mode: Sudachi split mode, "A" (short), "B" or "C" (long).
        :param drop_pos: Sudachi POS ("助詞", or "形状詞,助動詞語幹") treated as stop words.
        :param drop_verbs: verbs (normalized form) treated as stop words anywhere.
        :param drop_affixes: prefixes and suffixes (normalized form) treated as stop words anywhere.
        :param compound_verbs: verbs treated as stop words right after the particle に.
        :param english_stop_words: lower-case English words treated as stop words.
        """
        self.mode: str = _check_mode(mode)
        self.drop_pos: tuple[str, ...] = tuple(sorted(set(drop_pos)))
        self.drop_verbs: tuple[str, ...] = tuple(sorted(set(drop_verbs)))
        self.drop_affixes: tuple[str, ...] = tuple(sorted(set(drop_affixes)))
        self.compound_verbs: tuple[str, ...] = tuple(sorted(set(compound_verbs)))
        self.english_stop_words: frozenset[str] = frozenset(english_stop_words)

    def settings(self) -> dict[str, Any]:
        """Plain, JSON-serialisable settings: all that defines this object."""
        return {"mode": self.mode, "drop_pos": list(self.drop_pos), "drop_verbs": list(self.drop_verbs),
                "drop_affixes": list(self.drop_affixes), "compound_verbs": list(self.compound_verbs),
                "english_stop_words": sorted(self.english_stop_words)}

    # Pickle only the settings, re-validated on load, never a Sudachi handle.
    def __getstate__(self) -> dict[str, Any]:
        return self.settings()

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, SudachiTokenizer)
            and self.__class__ is other.__class__
            and self.settings() == other.settings()
        )

    def __hash__(self) -> int:
        return hash((self.__class__, self.mode, self.drop_pos, self.drop_verbs, self.drop_affixes,
                     self.compound_verbs, self.english_stop_words))

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(mode={self.mode!r}, drop_pos={self.drop_pos!r}, "
                f"drop_verbs={self.drop_verbs!r}, drop_affixes={self.drop_affixes!r}, "
                f"compound_verbs={self.compound_verbs!r})")

    def spans(self, value: str) -> Iterator[tuple[str, int, int, bool]]:
        """Sudachi's words, normalised; particles, grammatical verbs and affixes, and English stop
        words stopped."""
        after_ni = False
        for begin, end, form, pos_name, _ in sudachi_morphemes(value, self.mode):
            if _pos_in(pos_name, ALWAYS_DROP_POS):
                after_ni = after_ni and pos_name.startswith("空白")  # 「に、つい」 is not について
                continue
            text = normalize(form)
            if not _has_word_char(text):
                continue
            verb = pos_name.startswith("動詞")
            stopped = _pos_in(pos_name, self.drop_pos) or (verb and form in self.drop_verbs) or (
                pos_name.startswith(("接頭辞", "接尾辞")) and form in self.drop_affixes) or (
                after_ni and verb and form in self.compound_verbs)
            after_ni = form == "に" and pos_name.startswith("助詞")
            surface = value[begin:end]
            if surface.isascii() and surface.isalpha():
                stopped = stopped or surface.lower() in self.english_stop_words
                if text.isascii() and len(text) > MAX_UNSTEMMED:
                    text = stem(text)
            yield text, begin, end, stopped


def _aligned_normalize(text: str) -> tuple[str, list[int], list[int]]:
    """:func:`normalize` *text* keeping, per output character, the span of
    original characters it came from: ``(normalized, starts, ends)``.

    Characters are normalised in the smallest groups that normalise
    independently: a combining or sound mark always joins the current group,
    any other character joins it when normalising them together differs from
    normalising them apart (ﾊ + ﾟ -> パ).  Every output character of a group
    maps to the whole group's span.
    """
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []

    def emit(begin: int, end: int, normed: str) -> None:
        out.append(normed)
        starts.extend([begin] * len(normed))
        ends.extend([end] * len(normed))

    n = len(text)
    if n == 0:
        return "", [], []
    group_start = 0
    group_norm = normalize(text[0])
    for i in range(1, n):
        ch = text[i]
        if ch.isascii() and text[i - 1].isascii():
            # ASCII never composes with a preceding ASCII character.
            joined = None
        elif _attaches_to_previous(ch):
            # Marks always join: NFKC may reorder them past a mark that did
            # not compose on its own (ス + ́ + ゙ -> ズ + ́).
            joined = normalize(text[group_start : i + 1])
        else:
            ch_norm = normalize(ch)
            together = normalize(text[group_start : i + 1])
            joined = together if together != group_norm + ch_norm else None
        if joined is None:
            emit(group_start, i, group_norm)
            group_start = i
            group_norm = normalize(ch)
        else:
            group_norm = joined
    emit(group_start, n, group_norm)
    return "".join(out), starts, ends


def _is_gram_char(ch: str) -> bool:
    """Letters, digits, kana, kanji (and marks attached to them) form runs."""
    return ch.isalnum() or unicodedata.category(ch).startswith("M")


class _SettingsFree(_SpanTokenizer):
    """A tokenizer with no settings: pickles as nothing, equal to any other of its class."""

    def __getstate__(self) -> dict[str, Any]:
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__()

    def __eq__(self, other: object) -> bool:
        return self.__class__ is other.__class__

    def __hash__(self) -> int:
        return hash(self.__class__)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}()"


class BigramTokenizer(_SettingsFree):
    """Overlapping character bigrams over normalised text, for recall.

    Bigrams never span whitespace or punctuation: text is cut into runs of
    letters/digits/kana/kanji and each run of length n yields n-1 bigrams (a
    lone character yields itself).  Offsets point into the original text.
    """

    def spans(self, value: str) -> Iterator[tuple[str, int, int, bool]]:
        """Each bigram of each run of the normalised text, at its original offsets."""
        normed, starts, ends = _aligned_normalize(value)
        for first, last in _runs(normed):
            grams = [(first, last)] if last - first == 1 else [(i, i + 2) for i in range(first, last - 1)]
            for i, j in grams:
                yield normed[i:j], starts[i], ends[j - 1], False


def _runs(text: str) -> Iterator[tuple[int, int]]:
    """Yield ``(start, end)`` of maximal runs of :func:`_is_gram_char` chars."""
    start = -1
    for i, ch in enumerate(text):
        if _is_gram_char(ch):
            if start < 0:
                start = i
        elif start >= 0:
            yield start, i
            start = -1
    if start >= 0:
        yield start, len(text)


#: The parts of speech whose synonym groups are indexed: nouns that name things. Verbs and
#: very general words share groups too widely (入る, 使う) to help ranking.
SYNONYM_POS: tuple[str, ...] = ("名詞,普通名詞", "名詞,固有名詞")


class SynonymTokenizer(_SettingsFree):
    """The synonym groups of content nouns (sudachidict's ``synonym_group_ids``) as tokens.

    ログイン and サインイン share group 298, 外部委託 and アウトソーシング group 36, so a
    field of these tokens lets either word find the other. One token per group
    ("syn298"), at the word's offsets; a word without a group yields nothing.
    """

    def spans(self, value: str) -> Iterator[tuple[str, int, int, bool]]:
        """One "syn<group>" per synonym group of each content noun, at the noun's offsets."""
        for m in sudachi_morphemes(value, "C"):
            if m.pos in SYNONYM_POS:
                for group in m.synonyms:
                    yield f"syn{group}", m.start, m.end, False


# ---------------------------------------------------------------------------
# Analyzers and plain token lists


def japanese_analyzer(mode: str = "C", drop_pos: Iterable[str] = DEFAULT_DROP_POS) -> Analyzer:
    """Whoosh analyzer yielding Sudachi words (see :class:`SudachiTokenizer`).

    Returned as a one-item ``CompositeAnalyzer`` so it is an ``Analyzer`` and
    can be extended with ``| SomeFilter()``.
    """
    return CompositeAnalyzer(SudachiTokenizer(mode, drop_pos))


def bigram_analyzer() -> Analyzer:
    """Whoosh analyzer yielding character bigrams (see :class:`BigramTokenizer`)."""
    return CompositeAnalyzer(BigramTokenizer())


def synonym_analyzer() -> Analyzer:
    """Whoosh analyzer yielding synonym-group tokens (see :class:`SynonymTokenizer`)."""
    return CompositeAnalyzer(SynonymTokenizer())


def synonyms(text: str) -> list[str]:
    """Synonym-group tokens of *text*, exactly as :func:`synonym_analyzer` indexes them."""
    return [t.text for t in SynonymTokenizer()(text)]


def tokenize(text: str, mode: str = "C") -> list[str]:
    """Sudachi word tokens of *text*, exactly as :func:`japanese_analyzer` indexes them."""
    return [t.text for t in SudachiTokenizer(mode)(text)]


def bigrams(text: str) -> list[str]:
    """Character bigram tokens of *text*, exactly as :func:`bigram_analyzer` indexes them."""
    return [t.text for t in BigramTokenizer()(text)]


def _dist_version(name: str) -> str:
    """Installed version of distribution *name*, or "unknown"."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def analyzer_settings(
    modes: Iterable[str] = ("C",), drop_pos: Iterable[str] = DEFAULT_DROP_POS
) -> dict[str, Any]:
    """JSON-serialisable description of everything that changes the tokens.

    The index stores this and is rebuilt when it differs: a new dictionary
    release, Unicode version (NFKC tables) or setting changes the terms, and
    old postings would silently stop matching new queries.

    :param modes: the Sudachi split modes the index uses.
    :param drop_pos: the POS the Sudachi fields treat as stop words.
    """
    return {
        "analyzer_version": ANALYZER_VERSION,
        "normalization": NORMALIZATION,
        "unicode_version": unicodedata.unidata_version,
        "sudachipy": _dist_version("sudachipy"),
        "sudachidict_core": _dist_version("sudachidict-core"),
        "sudachi_modes": sorted({_check_mode(m) for m in modes}),
        "drop_pos": sorted(set(drop_pos)),
        "grammatical_verbs": sorted(GRAMMATICAL_VERBS),
        "grammatical_affixes": sorted(GRAMMATICAL_AFFIXES),
        "compound_particle_verbs": sorted(COMPOUND_PARTICLE_VERBS),
        "english_stop_words": sorted(ENGLISH_STOP_WORDS),
        "latin_stemmer": "porter",
        "max_unstemmed": MAX_UNSTEMMED,
        "always_drop_pos": list(ALWAYS_DROP_POS),
        "max_chunk_chars": MAX_CHUNK_CHARS,
        "bigram": {"n": 2, "single_char_runs": "unigram"},
        "synonym_pos": list(SYNONYM_POS),
    }
