"""A domain thesaurus: the words staff type, and the words a document uses for the same thing.

Staff type 入退室, 多要素認証, 修正プログラム; AWS's text says 物理的アクセス, 2 要素認証, パッチ.
Rules are kept in the Solr synonyms format, which Elasticsearch's and OpenSearch's
``synonym_graph`` filters read too::

    a, b, c          equivalents: a query holding any of them also searches the others
    a, b => c, d     one way: a query holding a or b also searches c and d, not the reverse
    # …              a comment (a whole line, or after whitespace at the end of a rule)

The shipped file (`synonyms.txt` beside this module, with its public sources in its header) and
a team's own files (``$KIJUN_THESAURUS``, ``--thesaurus FILE``) are read together; nothing is
indexed, so a new file changes results with no rebuild.

Each term is analysed by the documents' own analyzer (Sudachi mode C words, normalised:
`indexer.analyzer.tokenize`), so a Japanese term of several words is a sequence of tokens and
2要素認証 matches 「2 要素認証」; an English word is matched by its singular (`singular`), so
*data centers* finds the rule for *data center*. A query is matched left to right, longest term
first (a query's バックアップ電源 is that term, not also バックアップ), and each matched word is
reported with the synonyms it is also searched by (`Expansion`). What to do with them — score them below the
user's own words, embed them — is the ranker's (`search.engine`).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from indexer.analyzer import SudachiTokenizer, analyzer_settings, normalize
from indexer.files import write_whole
from indexer.text_cache import text_cache
from messages import Explained

SHIPPED = Path(__file__).with_name("synonyms.txt")
ENV = "KIJUN_THESAURUS"
"""A team's own thesaurus files, read after the shipped one (several separated by os.pathsep)."""

MAX_FILE_BYTES = 5_000_000  # a thesaurus is text a person writes: far below this
MAX_TERM_CHARS = 100
MAX_EXPANDED_WORDS = 12  # query words expanded per query: a long paste is bounded
MAX_TERMS_PER_WORD = 16  # synonyms searched per query word

MATCHING = "singular-2"  # how terms are matched (`matched_tokens`): part of the analysed terms' cache key

_COMMENT = re.compile(r"(?:^|\s)#.*$")


class ThesaurusError(Explained):
    """A thesaurus file cannot be used; the message names the file and line and what to fix."""

    code = "thesaurus_unreadable"


@dataclass(frozen=True)
class Rule:
    """One line of a thesaurus: `terms` are also searched by `targets` (equivalents: each other)."""

    source: str  # the file's name
    line: int
    terms: tuple[str, ...]
    targets: tuple[str, ...]
    one_way: bool

    @property
    def label(self) -> str:
        """Where the rule is written: 'synonyms.txt:120'."""
        return f"{self.source}:{self.line}"

    def __str__(self) -> str:
        return f"{', '.join(self.terms)} => {', '.join(self.targets)}" if self.one_way else ", ".join(self.terms)


@dataclass(frozen=True)
class Problem:
    """A line of a thesaurus file that cannot be read as a rule."""

    line: int
    code: str  # a catalogue code: thesaurus_*
    text: str


def parse_rules(text: str, source: str) -> tuple[list[Rule], list[Problem]]:
    """The rules of a thesaurus file's text, and the lines that are not rules."""
    rules: list[Rule] = []
    problems: list[Problem] = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = _COMMENT.sub("", raw).strip()
        if not line:
            continue
        sides = line.split("=>")
        if len(sides) > 2:
            problems.append(Problem(n, "thesaurus_two_arrows", raw))
            continue
        parts = [[" ".join(t.split()) for t in side.split(",")] for side in sides]
        if any(not t for side in parts for t in side):
            problems.append(Problem(n, "thesaurus_empty_term", raw))
            continue
        if any(len(t) > MAX_TERM_CHARS for side in parts for t in side):
            problems.append(Problem(n, "thesaurus_term_too_long", raw))
            continue
        left = tuple(dict.fromkeys(parts[0]))
        right = tuple(dict.fromkeys(parts[-1]))
        if len(parts) == 1 and len(left) < 2:
            problems.append(Problem(n, "thesaurus_one_term", raw))
            continue
        rules.append(Rule(source, n, left, right, one_way=len(parts) == 2))
    return rules, problems


def read_rules(path: Path) -> list[Rule]:
    """Every rule of a thesaurus file; ThesaurusError for a file that cannot be read or a bad line
    (`kijun thesaurus check` lists every bad line)."""
    text = read_text(path)
    rules, problems = parse_rules(text, path.name)
    if problems:
        first = problems[0]
        raise ThesaurusError("thesaurus_bad_lines", path=str(path), n=len(problems), line=first.line,
                             problem=Explained(first.code).text("cli"))
    return rules


def check_file(path: Path) -> tuple[list[Rule], list[Problem]]:
    """A thesaurus file's rules and every problem of it (`kijun thesaurus check`): the lines that are
    not rules, and terms the analyzer reads as no word at all (only stop words: "the", "IT"), which
    never match."""
    rules, problems = parse_rules(read_text(path), path.name)
    lines = read_text(path).splitlines()
    for rule in rules:
        if any(not term_tokens(t) for t in (*rule.terms, *rule.targets)):
            problems.append(Problem(rule.line, "thesaurus_term_no_words", lines[rule.line - 1]))
    return rules, sorted(problems, key=lambda p: p.line)


def read_text(path: Path) -> str:
    """A thesaurus file's text (UTF-8, a BOM allowed), bounded in size."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ThesaurusError("thesaurus_too_large", path=str(path), size_mb=size / 1e6,
                                 limit_mb=MAX_FILE_BYTES // 1_000_000)
        return path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise ThesaurusError("thesaurus_missing", path=str(path)) from None
    except IsADirectoryError:
        raise ThesaurusError("thesaurus_missing", path=str(path)) from None
    except UnicodeDecodeError as e:
        raise ThesaurusError("thesaurus_not_utf8", path=str(path), at=e.start) from None
    except OSError as e:
        raise ThesaurusError("thesaurus_unreadable", path=str(path), reason=e.strerror or str(e)) from None


def team_files(extra: Iterable[str | Path] = ()) -> list[Path]:
    """The team's thesaurus files: $KIJUN_THESAURUS's, then those given (--thesaurus)."""
    named = [p for p in os.environ.get(ENV, "").split(os.pathsep) if p.strip()]
    return [Path(p).expanduser() for p in [*named, *extra]]


@dataclass(frozen=True)
class Expansion:
    """A word of the query and the synonyms it is also searched by."""

    word: str  # as the query writes it
    start: int  # its offsets in the query
    end: int
    terms: tuple[str, ...]  # the synonyms, in the rules' order (the word's own term left out)
    rules: tuple[str, ...]  # the rules that fired (`Rule.label`)


@dataclass(frozen=True)
class _Entry:
    """A term as it is matched: its tokens, and what a match of it expands to."""

    tokens: tuple[str, ...]
    targets: tuple[str, ...]
    rules: tuple[str, ...]


def compile_entries(rules: Sequence[Rule]) -> list[_Entry]:
    """Every term of the rules as it is matched (its tokens), with what a match of it expands to."""
    by_tokens: dict[tuple[str, ...], tuple[list[str], list[str]]] = {}
    for rule in rules:
        for term in rule.terms:
            key = matched_tokens(term)
            if not key:
                continue
            targets, labels = by_tokens.setdefault(key, ([], []))
            targets += [t for t in rule.targets if matched_tokens(t) != key and t not in targets]
            labels.append(rule.label)
    return [_Entry(k, tuple(t), tuple(dict.fromkeys(r))) for k, (t, r) in by_tokens.items() if t]


class Thesaurus:
    """Rules indexed by their terms' tokens; `expand` finds a text's words and their synonyms."""

    def __init__(self, rules: Sequence[Rule], files: Sequence[str] = (),
                 entries: Sequence[_Entry] | None = None) -> None:
        """`entries`: `compile_entries(rules)` made before (analysing every term takes ~0.5 s)."""
        self.rules = tuple(rules)
        self.files = tuple(files)  # what was read, for --explain and the web page
        self._entries = {e.tokens: e for e in (compile_entries(rules) if entries is None else entries)}
        self._longest: dict[str, int] = {}
        for k in self._entries:
            self._longest[k[0]] = max(self._longest.get(k[0], 0), len(k))
        self.fingerprint = hashlib.sha256("\n".join(f"{r.label}\t{r}" for r in self.rules).encode()).hexdigest()[:16]

    def __len__(self) -> int:
        return len(self.rules)

    def expand(self, text: str) -> tuple[Expansion, ...]:
        """The text's words that a rule holds, left to right, longest term first, each with its
        synonyms; at most MAX_EXPANDED_WORDS words, MAX_TERMS_PER_WORD synonyms each."""
        if not self._entries or not text.strip():
            return ()
        tokens = _matched_with_offsets(text)
        out: list[Expansion] = []
        i = 0
        while i < len(tokens) and len(out) < MAX_EXPANDED_WORDS:
            longest = self._longest.get(tokens[i][0], 0)
            for n in range(min(longest, len(tokens) - i), 0, -1):
                entry = self._entries.get(tuple(t for t, _, _ in tokens[i:i + n]))
                if entry is not None:
                    start, end = tokens[i][1], tokens[i + n - 1][2]
                    out.append(Expansion(text[start:end], start, end, entry.targets[:MAX_TERMS_PER_WORD],
                                         entry.rules))
                    i += n
                    break
            else:
                i += 1
        return tuple(out)


@text_cache(4 * 1024 * 1024)
def term_tokens(term: str) -> tuple[str, ...]:
    """A term's tokens as the documents' analyzer makes them (Sudachi mode C, normalised)."""
    return tuple(t.text for t in SudachiTokenizer("C")(term))


def singular(word: str) -> str:
    """An English word's singular, lower-cased, by a light rule (Harman's S-stemmer, with -ches, -shes,
    -sses, -xes losing -es): policies → policy, patches → patch, keys → key; access, status,
    analysis and words of three letters or fewer (IDs) as they are. Both sides go through it, so a
    rule's own plural always matches; a few singulars are missed (caches → cach, movies → movy)."""
    w = word.lower()
    if len(w) <= 3 or not w.endswith("s") or w.endswith(("ss", "us", "is")):
        return w
    if w.endswith("ies") and len(w) > 4 and w[-4] not in "ae":
        return w[:-3] + "y"
    if w.endswith(("ches", "shes", "sses", "xes")):
        return w[:-2]
    return w[:-1]


def matched_tokens(term: str) -> tuple[str, ...]:
    """A term's tokens as rules are matched: `term_tokens`, an English word's token its singular's."""
    return tuple(t for t, _, _ in _matched_with_offsets(term))


@text_cache(16 * 1024 * 1024)
def _matched_with_offsets(text: str) -> tuple[tuple[str, int, int], ...]:
    out = []
    for t in SudachiTokenizer("C")(text, chars=True):
        token, word = t.text, normalize(text[t.startchar:t.endchar])  # ＰＯＬＩＣＩＥＳ as policies
        if word.isascii() and word.isalpha() and singular(word) != word:
            alone = term_tokens(singular(word))
            token = alone[0] if len(alone) == 1 else token
        out.append((token, t.startchar, t.endchar))
    return tuple(out)


def load(extra: Iterable[str | Path] = (), *, shipped: bool = True, cache: Path | None = None) -> Thesaurus:
    """The shipped thesaurus and the team's files ($KIJUN_THESAURUS, then `extra`); ThesaurusError
    names a file that cannot be read and its first bad line. `cache`: a directory where the analysed
    terms are kept (derived data, keyed by the files' bytes and the analyzer), so a one-shot command
    does not analyse every term again."""
    paths = ([SHIPPED] if shipped else []) + team_files(extra)
    rules: list[Rule] = []
    texts: list[str] = []
    for path in paths:
        texts.append(read_text(path))
        rules += read_rules(path)
    files = [p.name if p == SHIPPED else str(p) for p in paths]
    if cache is None:
        return Thesaurus(rules, files)
    key = hashlib.sha256(json.dumps([analyzer_settings(modes=("C",)), MATCHING, files, texts], ensure_ascii=False,
                                    sort_keys=True).encode()).hexdigest()[:24]
    path = cache / f"{key}.json"
    try:
        entries = [_Entry(tuple(k), tuple(t), tuple(r)) for k, t, r in json.loads(path.read_text("utf-8"))]
    except (OSError, ValueError, TypeError):
        entries = compile_entries(rules)
        try:
            cache.mkdir(parents=True, exist_ok=True)
            write_whole(path, json.dumps([[e.tokens, e.targets, e.rules] for e in entries],
                                         ensure_ascii=False).encode("utf-8"))
        except OSError:
            pass  # a read-only data directory: analysed again next time
    return Thesaurus(rules, files, entries)
