"""The Whoosh inverted index of criteria and change-history entries.

Indexes the searchable documents of `corpus.documents` (boilerplate already
left out, so the sentence 136 criteria share cannot make every criterion
match). Each text field is indexed three times, one Whoosh field per
granularity (Whoosh must not see overlapping tokens in one field): Sudachi mode
C words, mode A words, and character bigrams. This is the one module that
speaks Whoosh's query language.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh import query as Q
from whoosh import scoring
from whoosh.fields import ID, TEXT, Schema

from corpus.documents import FIELDS, DocumentTable, SearchDocument
from corpus.passages import passage_settings
from indexer import store
from indexer.analyzer import analyzer_settings, bigram_analyzer, bigrams, japanese_analyzer, tokenize

FORMAT_VERSION = 1
TEXT_FIELDS = FIELDS
GRANULARITIES = ("c", "a", "bg")
FIELD_BOOSTS = {"aws_status": 1.0, "customer_controls": 0.7, "references": 0.6, "revision": 1.0}
GRANULARITY_BOOSTS = {"c": 1.0, "a": 0.6, "bg": 0.25}
BM25 = {"B": 0.75, "K1": 1.2}
# In a long pasted question, words found in this share of documents or more
# (対策, 管理, について…) only add noise; short queries keep every word.
GENERIC_DF_SHARE = 0.3
LONG_QUERY_TOKENS = 6

Progress = Callable[[int, int], None]


def _schema() -> Schema:
    fields: dict[str, Any] = {
        "doc_key": ID(stored=True, unique=True),
        "id": ID(stored=True),
        "kind": ID(stored=True),
        "series": ID(stored=True),
        "aws_role": ID(stored=True),
        "customer_role": ID(stored=True),
    }
    analyzers = {"c": japanese_analyzer("C"), "a": japanese_analyzer("A"), "bg": bigram_analyzer()}
    for f in TEXT_FIELDS:
        for g in GRANULARITIES:
            fields[f"{f}_{g}"] = TEXT(analyzer=analyzers[g], phrase=(g != "a"))
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
    meta = wanted_meta(table) | {"documents": len(docs), "built_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
                               "build_seconds": round(time.perf_counter() - started, 3)}
    store.publish(root, gen, meta)
    return gen


@dataclass(frozen=True)
class KeywordHit:
    doc_key: str
    id: str
    kind: str
    score: float


class KeywordIndex:
    """An open keyword index generation; cheap to keep, safe to share across threads
    (each search opens its own searcher)."""

    def __init__(self, gen: Path) -> None:
        self.dir = gen
        self.meta = store.read_meta(gen)
        try:
            self._ix = whoosh_index.open_dir(str(gen))
            self.doc_count = self._ix.doc_count()
        except Exception as e:  # whoosh raises many types for damaged files
            raise store.IndexCorrupted(f"the keyword index in {gen} cannot be read ({type(e).__name__}: {e})") from e
        self._keys: list[str] | None = None

    def search(self, *, text: str = "", phrases: Iterable[str] = (), excludes: Iterable[str] = (),
               filters: dict[str, str] | None = None, limit: int = 50) -> list[KeywordHit]:
        """The best `limit` documents for the words, gated by the phrases, without the excluded words."""
        phrases, excludes = list(phrases), list(excludes)
        with self._reading("searching") as s:
            q = self._query(s, text, phrases, excludes)
            if q is None:
                return []
            flt = Q.And([Q.Term(k, v) for k, v in (filters or {}).items()]) if filters else None
            results = s.search(q, limit=limit, filter=flt)
            return [KeywordHit(r["doc_key"], r["id"], r["kind"], float(r.score)) for r in results]

    def with_phrases(self, phrases: Iterable[str]) -> set[str]:
        """Every document containing all the phrases (no limit: a gate, not a ranking)."""
        with self._reading("searching") as s:
            must = [q for q in (_phrase_query(p) for p in phrases) if q is not None]
            return self._keys_of(s, Q.And(must)) if must else set()

    def with_any_word(self, texts: Iterable[str]) -> set[str]:
        """Every document containing any word of the texts (what `-word` excludes), no limit."""
        with self._reading("searching") as s:
            qs = [q for q in (_terms_query(s, self.doc_count, t, all_terms=True) for t in texts) if q is not None]
            return self._keys_of(s, Q.Or(qs)) if qs else set()

    def _keys_of(self, s: Any, q: Q.Query) -> set[str]:
        keys = self._doc_keys(s)
        return {keys[n] for n in s.docs_for_query(q)}

    def _doc_keys(self, s: Any) -> list[str]:
        """Document key per Whoosh document number, read once per open index."""
        if self._keys is None:
            self._keys = [s.stored_fields(n)["doc_key"] for n in range(s.doc_count_all())]
        return self._keys

    @contextmanager
    def _reading(self, doing: str) -> Iterator[Any]:
        """A searcher; a damaged file met while reading is reported as such (a bad query is not)."""
        try:
            with self._ix.searcher(weighting=scoring.BM25F(**BM25)) as s:
                yield s
        except (store.IndexCorrupted, UnicodeError):
            raise
        except (OSError, EOFError, ValueError, KeyError) as e:
            raise store.IndexCorrupted(f"the keyword index in {self.dir} failed while {doing} "
                                       f"({type(e).__name__}: {e})") from e

    def specific_tokens(self, text: str) -> dict[str, list[str]]:
        """The query's tokens minus the generic ones a long question carries (for highlighting)."""
        tokens = query_tokens(text)
        if len(tokens["c"]) < LONG_QUERY_TOKENS:
            return tokens
        with self._reading("reading term statistics") as s:
            return {g: [t for t in toks if _df_share(s, g, t, self.doc_count) < GENERIC_DF_SHARE]
                    for g, toks in tokens.items()}

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
        nots = [x for x in (_terms_query(s, self.doc_count, e, all_terms=True) for e in excludes) if x is not None]
        if nots:
            q = Q.AndNot(q, Q.Or(nots))
        return q


def query_tokens(text: str) -> dict[str, list[str]]:
    """The query's tokens per granularity, deduplicated in order."""
    return {g: list(toks) for g, toks in zip(GRANULARITIES, _query_tokens(text))}


@lru_cache(maxsize=256)
def _query_tokens(text: str) -> tuple[tuple[str, ...], ...]:
    """Cached: one search tokenises its query for ranking, exclusions and highlighting."""
    return (tuple(dict.fromkeys(tokenize(text, "C"))),
            tuple(dict.fromkeys(tokenize(text, "A"))),
            # bigrams rescue Japanese words Sudachi splits oddly; on English words
            # they only add noise (cloudtrail ~ cloudwatch), so keep non-ASCII ones
            tuple(dict.fromkeys(b for b in bigrams(text) if not b.isascii())))


def _terms_query(s: Any, n_docs: int, text: str, *, all_terms: bool = False) -> Q.Query | None:
    if not text.strip():
        return None
    tokens = query_tokens(text)
    long_query = len(tokens["c"]) >= LONG_QUERY_TOKENS and not all_terms
    subqueries: list[Q.Query] = []
    for g, toks in tokens.items():
        for t in toks:
            dfs = {f: s.doc_frequency(f"{f}_{g}", t) for f in TEXT_FIELDS}
            if long_query and max(dfs.values()) / max(n_docs, 1) >= GENERIC_DF_SHARE:
                continue
            # a clause for a term a field lacks scores nothing but costs a matcher
            subqueries += [Q.Term(f"{f}_{g}", t, boost=FIELD_BOOSTS[f] * GRANULARITY_BOOSTS[g])
                           for f, df in dfs.items() if df]
    if not subqueries:
        return None
    q = Q.Or(subqueries)
    # hundreds of term clauses: Whoosh's default binary tree of union matchers spends its
    # time in block-quality bookkeeping; preloading the scores into an array is 3x faster
    q.matcher_type = Q.Or.ARRAY_MATCHER
    return q


def _df_share(s: Any, g: str, token: str, n_docs: int) -> float:
    df = max(s.doc_frequency(f"{f}_{g}", token) for f in TEXT_FIELDS)
    return df / max(n_docs, 1)


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
    return KeywordIndex(build(table, root, progress=progress))

