"""The Whoosh inverted index of criteria and change-history entries.

Indexes the searchable documents of `corpus.documents` (boilerplate already
left out, so the sentence 136 criteria share cannot make every criterion
match). Each text field is indexed four times, one Whoosh field per
granularity (Whoosh must not see overlapping tokens in one field): Sudachi mode
C words, mode A words, character bigrams and synonym groups. Free words are
scored from arrays exported at build time (`indexer.impact`); Whoosh answers
phrases. This is the one module that speaks Whoosh's query language.
"""
from __future__ import annotations

import os
import pickle
import struct
import threading
import time
import zlib
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from cachetools import LRUCache
from whoosh import index as whoosh_index
from whoosh import query as Q
from whoosh import scoring
from whoosh.fields import ID, TEXT, Schema

from corpus.documents import FIELDS, DocumentTable, SearchDocument
from corpus.passages import passage_settings
from indexer import impact, store
from indexer.analyzer import (SudachiTokenizer, analyzer_settings, bigram_analyzer, bigrams, japanese_analyzer,
                              sudachi_morphemes, synonym_analyzer, synonyms, tokenize)
from indexer.text_cache import text_cache

FORMAT_VERSION = 2  # 2: impact arrays beside the Whoosh index
TEXT_FIELDS = FIELDS
COLUMNS = ("doc_key", "id", "kind", "series", "aws_role", "customer_role")  # stored per document
WORD_GRANULARITIES = ("c", "a", "bg")  # what keyword search ranks by: the query's own words
GRANULARITIES = (*WORD_GRANULARITIES, "syn")  # plus synonym groups, a separate signal for hybrid ranking
EXCLUSION_GRANULARITIES = ("c", "a")  # -word excludes documents with the word, not with any two of its characters
FIELD_BOOSTS = {"aws_status": 1.0, "customer_controls": 0.7, "references": 0.6, "revision": 1.0, "title": 1.0}
GRANULARITY_BOOSTS = {"c": 1.0, "a": 0.6, "bg": 0.25, "syn": 1.0}
BM25 = {"B": 0.75, "K1": 1.2}
# In a long pasted question, words found in this share of documents or more
# (対策, 管理, について…) only add noise; short queries keep every word.
GENERIC_DF_SHARE = 0.3
LONG_QUERY_TOKENS = 6
# A partial match through character bigrams counts only when it holds more than this share of one
# query word's bigrams: パスワード's ワー alone (in ネットワーク) is not the word.
MOST_OF_A_WORD = 0.5
MAX_RUN_CHECKS = 256  # documents asked whether a word's bigrams run in a row: more than a search lists (200)
AFFIX_POS = ("接頭辞", "接尾辞")

Progress = Callable[[int, int], None]
# what damaged postings, term infos or stored fields raise while Whoosh reads them
_DAMAGE = (OSError, EOFError, ValueError, KeyError, IndexError, MemoryError, pickle.UnpicklingError, struct.error,
           zlib.error)


def _is_long(tokens: dict[str, list[str]]) -> bool:
    """A long pasted question (by its mode-C words): its generic words are left out."""
    return len(tokens["c"]) >= LONG_QUERY_TOKENS


def _generic(df: float, doc_count: int) -> bool:
    """A word found in this many of the documents only adds noise to a long question."""
    return df / max(doc_count, 1) >= GENERIC_DF_SHARE


def _schema() -> Schema:
    fields: dict[str, Any] = {
        "doc_key": ID(stored=True, unique=True),
        "id": ID(stored=True),
        "kind": ID(stored=True),
        "series": ID(stored=True),
        "aws_role": ID(stored=True),
        "customer_role": ID(stored=True),
    }
    analyzers = {"c": japanese_analyzer("C"), "a": japanese_analyzer("A"), "bg": bigram_analyzer(),
                 "syn": synonym_analyzer()}
    for f in TEXT_FIELDS:
        for g in GRANULARITIES:
            fields[f"{f}_{g}"] = TEXT(analyzer=analyzers[g], phrase=g in ("c", "bg"))
    return Schema(**fields)


def wanted_meta(table: DocumentTable) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "analyzer": analyzer_settings(modes=("A", "C")),
        "corpus_hash": table.corpus_hash,
        "fields": list(TEXT_FIELDS),
        "field_boosts": FIELD_BOOSTS,
        "granularity_boosts": GRANULARITY_BOOSTS,
        "bm25": BM25,
        "impact_format": impact.FORMAT_VERSION,
        "boilerplate": "left out of indexed text",
        "passage_splitting": passage_settings(),
    }


def documents(table: DocumentTable) -> Iterator[dict[str, str]]:
    """Whoosh documents: the filter columns, and each text field once per granularity."""
    for d in table:
        yield _fields(d)


def _fields(d: SearchDocument) -> dict[str, str]:
    out = {"doc_key": d.key, "id": d.id, "kind": d.kind, "series": d.series, "aws_role": d.aws_role,
           "customer_role": d.customer_role}
    for f in TEXT_FIELDS:
        text = d.text(f)
        for g in GRANULARITIES:
            out[f"{f}_{g}"] = text
    return out


PARALLEL_FROM = 5000  # documents


def writer_options(n_docs: int) -> dict[str, Any]:
    """Whoosh indexing is pure Python. A small corpus builds in a second in one process and
    one segment (the fastest to search). A large one builds on every core (up to 4), and the segments
    are kept rather than merged: the merge cost ~40% of the build at 10k criteria, while a
    few segments cost little per query at that size (statistics stay index-wide)."""
    if n_docs < PARALLEL_FROM:
        return {"limitmb": 256}
    return {"procs": max(1, min(os.cpu_count() or 1, 4)), "limitmb": 256, "multisegment": True}


def build(table: DocumentTable, root: Path, *, progress: Progress | None = None) -> Path:
    """Build a new generation and publish it; returns its directory."""
    started = time.perf_counter()
    gen = store.new_generation(root)
    ix = whoosh_index.create_in(str(gen), _schema())
    docs = list(documents(table))
    writer = ix.writer(**writer_options(len(docs)))
    for k, d in enumerate(docs, 1):
        writer.add_document(**d)
        if progress:
            progress(k, len(docs))
    writer.commit()
    with ix.searcher() as s:
        matrices = {g: impact.export(s, granularity_fields(g), b=BM25["B"], k1=BM25["K1"]) for g in GRANULARITIES}
        stored = [s.stored_fields(n) for n in range(s.doc_count_all())]  # each document's columns, read once
        columns = {c: [f[c] for f in stored] for c in COLUMNS}
    impact.save(gen / impact.FILE, matrices, columns)
    meta = wanted_meta(table) | {"documents": len(docs), "built_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
                               "build_seconds": round(time.perf_counter() - started, 3)}
    store.publish(root, gen, meta)
    return gen


def granularity_fields(g: str) -> dict[str, float]:
    """The Whoosh fields of one granularity and the boost each clause gets (field × granularity)."""
    return {f"{f}_{g}": FIELD_BOOSTS[f] * GRANULARITY_BOOSTS[g] for f in TEXT_FIELDS}


@dataclass(frozen=True)
class Coverage:
    """How much of a query one document says (each word weighted by its idf)."""

    share: float  # of the query's words, the share the document contains
    idf_total: float  # the query's total idf
    unknown: float  # the share of words no document contains
    missing: float  # the most specific word of the corpus the document lacks: its idf over the highest possible


@dataclass(frozen=True)
class KeywordHit:
    doc_key: str
    id: str
    kind: str
    score: float


class KeywordIndex:
    """An open keyword index generation; cheap to keep, safe to share across threads.

    Free words are scored from the impact arrays (`indexer.impact`), exactly as Whoosh's
    BM25F scores them; required phrases are matched by Whoosh (each call opens its own
    searcher)."""

    def __init__(self, gen: Path) -> None:
        self.dir = gen
        self.meta = store.read_meta(gen)
        try:
            self._ix = whoosh_index.open_dir(str(gen))
            self.doc_count = self._ix.doc_count()
            self._impacts, columns = impact.load(gen / impact.FILE)
        except Exception as e:  # whoosh and numpy raise many types for damaged files
            raise store.IndexCorrupted(f"the keyword index in {gen} cannot be read ({type(e).__name__}: {e})") from e
        self.keys: list[str] = columns["doc_key"].tolist()
        self._phrases: LRUCache[tuple[str, ...], tuple[np.ndarray, np.ndarray]] = LRUCache(maxsize=4096)
        self._phrase_lock = threading.Lock()
        self._columns = columns
        self._ids, self._kinds = columns["id"].tolist(), columns["kind"].tolist()
        if len(self.keys) != self.doc_count:
            raise store.IndexCorrupted(f"the keyword index in {gen} has {len(self.keys)} documents in its impact "
                                       f"arrays but {self.doc_count} in Whoosh")

    def search(self, *, text: str = "", phrases: Iterable[str] = (), excludes: Iterable[str] = (),
               filters: dict[str, str] | None = None, limit: int = 50) -> list[KeywordHit]:
        """The best `limit` documents for the words, gated by the phrases, without the excluded words.

        Not used by the engine (it combines `scores`, `with_phrases` and `with_any_word` itself):
        kept as the index's own ranking, which tests check against `whoosh_search` and
        bench/run.py times."""
        phrases, excludes = list(phrases), list(excludes)
        if phrases:
            return self.whoosh_search(text=text, phrases=phrases, excludes=excludes, filters=filters, limit=limit)
        totals = self.scores(text)
        if totals is None:
            return []
        mask = self.mask(filters or {}) & (totals > 0)
        if excludes:
            mask &= ~self._containing(excludes)
        return [KeywordHit(self.keys[n], self._ids[n], self._kinds[n], float(totals[n]))
                for n in impact.top_k(totals, limit, mask)]

    def scores(self, text: str, granularities: tuple[str, ...] = WORD_GRANULARITIES) -> np.ndarray | None:
        """Every document's BM25F score for the free words (None: no word the index knows)."""
        parts = self._terms(text, granularities=granularities)
        return impact.scores(parts, self.doc_count) if parts else None

    def coverage(self, text: str, doc: int, said: Collection[str] = (), known: Collection[str] = ()) -> Coverage:
        """How much of the query one document says, over the query's mode-A words (short units, so a
        compound the document never uses still counts its parts; the generic words of a long question
        left out), each weighted by its idf: see `Coverage`. `said`: words the document says in other
        words (a thesaurus synonym of theirs); `known`: words some document says so."""
        tokens = query_tokens(text)
        m = self._impacts["a"]
        long_query = _is_long(tokens)
        ceiling = float(np.log((self.doc_count + 1) / 0.5))
        total = found = unknown = missing = 0.0
        for t in tokens["a"]:
            row = m.terms.get(t)
            df = int(m.df_max[row]) if row is not None else 0
            if long_query and _generic(df, self.doc_count):
                continue
            idf = float(np.log((self.doc_count + 1) / (df + 0.5)))
            total += idf
            docs = m.docs[m.indptr[row]:m.indptr[row + 1]] if row is not None else m.docs[:0]
            i = int(np.searchsorted(docs, doc))
            if (i < len(docs) and docs[i] == doc) or t in said:
                found += idf
            elif row is None and t not in known:
                unknown += idf
            else:
                missing = max(missing, idf / ceiling)
        return Coverage(found / total if total else 0.0, total, unknown / total if total else 0.0, missing)

    def mask(self, filters: dict[str, str]) -> np.ndarray:
        """The documents whose columns have the filter values (aws_role, customer_role, series, kind).

        Only `search` uses it (so only tests and bench/run.py); the engine filters on its own table."""
        mask = np.ones(self.doc_count, dtype=bool)
        for column, value in filters.items():
            mask &= self._columns[column] == value
        return mask

    def _terms(self, text: str, *, all_terms: bool = False, granularities: tuple[str, ...] = WORD_GRANULARITIES
               ) -> list[tuple[impact.ImpactMatrix, list[int]]]:
        """Per granularity, the query's terms that score: in a long question, not the generic ones."""
        if not text.strip():
            return []
        tokens = query_tokens(text)
        long_query = not all_terms and _is_long(tokens)
        out = []
        for g in granularities:
            toks = tokens[g]
            m = self._impacts[g]
            ids = m.ids(toks)
            if long_query:
                ids = [i for i in ids if not _generic(m.df_max[i], self.doc_count)]
            if ids:
                out.append((m, ids))
        return out

    def _containing(self, texts: Iterable[str]) -> np.ndarray:
        """Mask of the documents containing any word of the texts (what `-word` excludes)."""
        return impact.containing([p for t in texts for p in self._terms(t, all_terms=True,
                                                                          granularities=EXCLUSION_GRANULARITIES)],
                                 self.doc_count)

    def containing_words(self, text: str, text_of: Callable[[int], str]) -> np.ndarray:
        """Mask of the documents that contain one of the query's words: a mode-C or mode-A word (a
        lone affix of a compound, 者 of 管理者, does not count), or more than MOST_OF_A_WORD of one
        word's bigrams in a row (a typo, パックアップ, or a word Sudachi splits otherwise). In a long
        question the generic words, which do not rank either, do not count. `text_of(n)`: document
        n's text (normalised as `analyzer.normalize` does), where a run is looked for as a substring
        (a Whoosh phrase query would read every posting of common bigrams)."""
        if not text.strip():
            return np.zeros(self.doc_count, dtype=bool)
        qw = query_words(text)
        long_query = _is_long(query_tokens(text))

        def specific(g: str, tokens: Iterable[str]) -> list[int]:
            m = self._impacts[g]
            return [i for i in m.ids(tokens) if not (long_query and _generic(m.df_max[i], self.doc_count))]

        mask = impact.containing([(self._impacts["c"], specific("c", qw.words)),
                                  (self._impacts["a"], specific("a", qw.words))], self.doc_count)
        grams = self._impacts["bg"]
        runs: list[Q.Query] = []
        unsure = np.zeros(self.doc_count, dtype=bool)
        for word in qw.grams.values():
            need = int(len(word) * MOST_OF_A_WORD) + 1  # bigrams in a row
            if len(specific("bg", word)) < need:  # even all its known bigrams would not be most of it
                continue
            counts = np.zeros(self.doc_count, dtype=np.int64)
            for i in grams.ids(word):
                counts[grams.docs[grams.indptr[i]:grams.indptr[i + 1]]] += 1
            doubt = (counts >= need) & ~mask  # scattered bigrams may still spell it: look for them in a row
            if doubt.any():
                runs += [word[i:i + need] for i in range(len(word) - need + 1)]
                unsure |= doubt
        if not runs:
            return mask
        doubt_at = np.flatnonzero(unsure)
        scores = self.scores(text)  # only the best-scoring documents in doubt: a search lists at most 200
        if scores is not None and len(doubt_at) > MAX_RUN_CHECKS:
            doubt_at = doubt_at[np.argsort(-scores[doubt_at], kind="stable")[:MAX_RUN_CHECKS]]
        spelled = ["".join(g[0] for g in run) + run[-1][1:] for run in runs]
        mask[[n for n in doubt_at if any(s in text_of(int(n)) for s in spelled)]] = True
        return mask

    def phrase_scores(self, tokens: tuple[str, ...], tokens_of: Callable[[int], str]) -> tuple[np.ndarray, np.ndarray]:
        """The documents holding a term's words in a row (its mode-C tokens, `analyzer.tokenize`), and
        the term's BM25F in each (its words' mode-C impacts): where a thesaurus synonym is found.
        `tokens_of(n)`: document n's mode-C words, space-separated. Cached per term."""
        with self._phrase_lock:
            cached = self._phrases.get(tokens)
        if cached is None:
            cached = self._phrase_scores(tokens, tokens_of)
            with self._phrase_lock:
                self._phrases[tokens] = cached
        return cached

    def _phrase_scores(self, tokens: tuple[str, ...], tokens_of: Callable[[int], str]) -> tuple[np.ndarray, np.ndarray]:
        m = self._impacts["c"]
        ids = [m.terms.get(t) for t in tokens]
        if not tokens or None in ids:
            return np.zeros(0, np.int64), np.zeros(0)
        docs = None
        for i in ids:
            row = m.docs[m.indptr[i]:m.indptr[i + 1]]
            docs = row if docs is None else np.intersect1d(docs, row, assume_unique=True)
        if len(tokens) > 1:
            needle = f" {' '.join(tokens)} "
            docs = np.array([n for n in docs if needle in tokens_of(int(n))], dtype=np.int64)
        docs = np.asarray(docs, dtype=np.int64)
        return docs, impact.scores([(m, ids)], self.doc_count)[docs]

    def with_phrases(self, phrases: Iterable[str]) -> set[str]:
        """Every document containing all the phrases (no limit: a gate, not a ranking)."""
        with self._reading("searching") as s:
            must = [q for q in (_phrase_query(p) for p in phrases) if q is not None]
            return {self.keys[n] for n in s.docs_for_query(Q.And(must))} if must else set()

    def with_any_word(self, texts: Iterable[str]) -> set[str]:
        """Every document containing any word of the texts (what `-word` excludes), no limit."""
        return {self.keys[n] for n in np.flatnonzero(self._containing(texts))}

    def specific_tokens(self, text: str) -> dict[str, list[str]]:
        """The query's tokens minus the generic ones a long question carries (for highlighting)."""
        tokens = query_tokens(text)
        if not _is_long(tokens):
            return tokens
        return {g: [t for t in toks if not _generic(self._df(g, t), self.doc_count)] for g, toks in tokens.items()}

    def _df(self, g: str, token: str) -> int:
        """The most documents one field has the token in (0 for a token no document has)."""
        m = self._impacts[g]
        return m.df_max[m.terms[token]] if token in m.terms else 0

    def whoosh_search(self, *, text: str = "", phrases: Iterable[str] = (), excludes: Iterable[str] = (),
                      filters: dict[str, str] | None = None, limit: int = 50) -> list[KeywordHit]:
        """The same search run by Whoosh's own scorer: for phrases, and as the reference
        the impact arrays are checked against."""
        with self._reading("searching") as s:
            q = self._query(s, text, list(phrases), list(excludes))
            if q is None:
                return []
            flt = Q.And([Q.Term(k, v) for k, v in (filters or {}).items()]) if filters else None
            results = s.search(q, limit=limit, filter=flt)
            return [KeywordHit(r["doc_key"], r["id"], r["kind"], float(r.score)) for r in results]

    @contextmanager
    def _reading(self, doing: str) -> Iterator[Any]:
        """A searcher; a damaged file met while reading is reported as such (a bad query is not).

        Whoosh reads its table of contents (a pickle) and segments again for every searcher, so a
        file damaged after the index was opened fails here, with whatever the bytes made of it."""
        try:
            searcher = self._ix.searcher(weighting=scoring.BM25F(**BM25))
        except Exception as e:  # nothing but the files is read here: any failure is damage
            raise store.IndexCorrupted(f"the keyword index in {self.dir} failed while {doing} "
                                       f"({type(e).__name__}: {e})") from e
        try:
            with searcher as s:
                yield s
        except UnicodeEncodeError:  # the query's text, not the index
            raise
        except _DAMAGE as e:
            raise store.IndexCorrupted(f"the keyword index in {self.dir} failed while {doing} "
                                       f"({type(e).__name__}: {e})") from e

    def _query(self, s: Any, text: str, phrases: list[str], excludes: list[str]) -> Q.Query | None:
        should = _terms_query(s, self.doc_count, text)
        must = [q for q in (_phrase_query(p) for p in phrases) if q is not None]
        if must:
            # the required phrases gate the result; the free words still rank it
            q: Q.Query = Q.AndMaybe(Q.And(must), should) if should is not None else Q.And(must)
        elif should is not None:
            q = should
        else:
            return None
        nots = [x for x in (_terms_query(s, self.doc_count, e, all_terms=True, granularities=EXCLUSION_GRANULARITIES)
                            for e in excludes) if x is not None]
        if nots:
            q = Q.AndNot(q, Q.Or(nots))
        return q


@dataclass(frozen=True)
class QueryWords:
    """What of a query is a word of its own: what matches and is highlighted (`search.snippet.spans`)."""

    words: tuple[str, ...]  # normalised mode-C and mode-A words, affixes left out
    affixes: tuple[str, ...]  # affixes (者 of 管理者, 性 of 機密性): a match only beside the word they attach to
    grams: Mapping[str, tuple[str, ...]]  # content word (mode C, not Latin) → its distinct bigrams in order
    # a word that is only part of longer query words → those words: 認証 of 多要素認証 is marked only where it
    # makes up, with the parts beside it, most of one of them (要素認証 of 「2 要素認証」), not alone
    parts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # a one-character word (時, also the normal form of とき; 2 of WPA2) of a query of several words: marked only
    # beside another mark (障害時 for 障害 and 時), never alone
    short: tuple[str, ...] = ()
    # words marked besides the query's own, each → the query word it stands for (a thesaurus's synonyms);
    # they match as whole words, like the query's own; a synonym of several words is its mode-C tokens
    # joined by spaces, marked where they stand in a row
    extra: Mapping[str, str] = field(default_factory=dict)

    def keeping(self, specific: Iterable[str]) -> "QueryWords":
        """Only the words in `specific` (a long question's generic words left out), and their bigrams."""
        keep = set(specific)
        return QueryWords(tuple(w for w in self.words if w in keep), self.affixes,
                          {w: g for w, g in self.grams.items() if w in keep},
                          {w: p for w, p in self.parts.items() if w in keep}, tuple(w for w in self.short if w in keep),
                          {w: q for w, q in self.extra.items() if q in keep})


@text_cache(16 * 1024 * 1024)
def query_words(text: str) -> QueryWords:
    """The query's words: its mode-C words and the mode-A words inside them, each a word of its own
    unless Sudachi tags it an affix (者, 性, 的: they say something only as part of 管理者, 機密性,
    定期的); and each content word's bigrams. A mode-A word found only inside longer mode-C words
    is a part of those; a one-character word is short, unless it is the whole query."""
    words: dict[str, None] = {}
    affixes: dict[str, None] = {}
    grams: dict[str, tuple[str, ...]] = {}
    wholes: dict[tuple[int, int], str] = {}  # the mode-C words' spans
    within: dict[str, dict[str, None]] = {}
    for mode in ("C", "A"):
        pos = {(m.start, m.end): m.pos for m in sudachi_morphemes(text, mode)}
        for t in SudachiTokenizer(mode)(text, chars=True):
            affix = pos.get((t.startchar, t.endchar), "").startswith(AFFIX_POS)
            (affixes if affix else words)[t.text] = None
            surface = text[t.startchar:t.endchar]
            if mode == "C" and not affix:
                wholes[(t.startchar, t.endchar)] = t.text
                if not surface.isascii() and bigrams(surface):
                    grams[t.text] = tuple(dict.fromkeys(bigrams(surface)))
            elif mode == "A" and not affix and (t.startchar, t.endchar) not in wholes:
                within.setdefault(t.text, {}).update(
                    {w: None for (a, b), w in wholes.items() if a <= t.startchar and t.endchar <= b and w != t.text})
    alone = set(wholes.values())
    parts = {w: tuple(ws) for w, ws in within.items() if ws and w not in alone}
    short = tuple(w for w in words if len(w) == 1 and not (w.isascii() and w.isalpha())) if len(alone) > 1 else ()
    return QueryWords(tuple(words), tuple(a for a in affixes if a not in words), grams, parts, short)


@dataclass(frozen=True)
class Run:
    """A word of a query as a person wrote it: content words in a row, with nothing between them
    (ログ保存期間 is one, データセンターの入退室 two)."""

    tokens: tuple[str, ...]  # mode-C, normalised
    start: int
    end: int
    surface: str


@text_cache(4 * 1024 * 1024)
def word_runs(text: str) -> tuple[Run, ...]:
    """The query's words as runs of mode-C content words (a particle, a space or a symbol ends one)."""
    runs: list[Run] = []
    current: list[tuple[str, int, int]] = []

    def close() -> None:
        if current:
            start, end = current[0][1], current[-1][2]
            runs.append(Run(tuple(t for t, _, _ in current), start, end, text[start:end]))
            current.clear()

    for t in SudachiTokenizer("C")(text, chars=True, removestops=False):
        if t.stopped or (current and t.startchar != current[-1][2]):
            close()
        if not t.stopped:
            current.append((t.text, t.startchar, t.endchar))
    close()
    return tuple(runs)


def query_tokens(text: str) -> dict[str, list[str]]:
    """The query's tokens per granularity (synonym groups included), deduplicated in order."""
    return {g: list(toks) for g, toks in zip(GRANULARITIES, _query_tokens(text))}


@text_cache(16 * 1024 * 1024)
def _query_tokens(text: str) -> tuple[tuple[str, ...], ...]:
    """Cached: one search tokenises its query for ranking, exclusions and highlighting."""
    return (tuple(dict.fromkeys(tokenize(text, "C"))),
            tuple(dict.fromkeys(tokenize(text, "A"))),
            # bigrams rescue Japanese words Sudachi splits oddly; on English words
            # they only add noise (cloudtrail ~ cloudwatch), so keep non-ASCII ones
            tuple(dict.fromkeys(b for b in bigrams(text) if not b.isascii())),
            tuple(dict.fromkeys(synonyms(text))))


def _terms_query(s: Any, n_docs: int, text: str, *, all_terms: bool = False,
                 granularities: tuple[str, ...] = WORD_GRANULARITIES) -> Q.Query | None:
    if not text.strip():
        return None
    tokens = query_tokens(text)
    long_query = not all_terms and _is_long(tokens)
    subqueries: list[Q.Query] = []
    for g in granularities:
        boosts = granularity_fields(g)
        for t in tokens[g]:
            dfs = {name: s.doc_frequency(name, t) for name in boosts}
            if long_query and _generic(max(dfs.values()), n_docs):
                continue
            # a clause for a term a field lacks scores nothing but costs a matcher
            subqueries += [Q.Term(name, t, boost=boosts[name]) for name, df in dfs.items() if df]
    if not subqueries:
        return None
    q = Q.Or(subqueries)
    # hundreds of term clauses: Whoosh's default binary tree of union matchers spends its
    # time in block-quality bookkeeping; preloading the scores into an array is 3x faster
    q.matcher_type = Q.Or.ARRAY_MATCHER
    return q


def _phrase_query(phrase: str) -> Q.Query | None:
    """A phrase matches as consecutive mode-C words, or as consecutive bigrams
    (so a phrase Sudachi splits differently in context still matches)."""
    words = tokenize(phrase, "C")
    grams = bigrams(phrase)
    alts: list[Q.Query] = []
    for f in TEXT_FIELDS:
        if len(words) == 1:
            alts.append(Q.Term(f"{f}_c", words[0]))
        elif words:
            alts.append(Q.Phrase(f"{f}_c", words))
        if len(grams) > 1:
            alts.append(Q.Phrase(f"{f}_bg", grams))
        elif grams:
            alts.append(Q.Term(f"{f}_bg", grams[0]))
    return Q.Or(alts) if alts else None



def ensure(table: DocumentTable, root: Path, *, rebuild: bool = False, progress: Progress | None = None,
           notify: Callable[[str], None] | None = None) -> KeywordIndex:
    """Open the index, building or rebuilding it when missing or stale (with a message)."""
    wanted = wanted_meta(table)
    if not rebuild:
        gen = store.usable_generation(root, wanted, label="keyword index", notify=notify)
        if gen is not None:
            return KeywordIndex(gen)
    with store.building(root, "keyword index"):
        gen = build(table, root, progress=progress)
    return KeywordIndex(gen)

