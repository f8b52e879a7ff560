"""The search engine: keyword, semantic and hybrid ranking over one corpus.

`Engine` owns the parsed document and opens (building when missing or stale)
the keyword and embedding indexes. The model is loaded only when a semantic or
hybrid search first needs it, so a keyword search never pays for it; if it
cannot be loaded, hybrid search answers with keyword results and says so.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

from corpus.documents import CRITERION, REVISION, DocumentTable, document_table
from corpus.parser import SOURCE, parse_file
from corpus.records import Document
from corpus.vocabulary import SERIES_ALIASES, parse_role
from indexer import embedding_index, keyword_index, store
from indexer.e5 import DEFAULT_MODEL
from search import fusion, snippet
from search.errors import LimitOutOfRange, UnknownFilter, UnknownMode
from search.query import DEFAULT_MODE, MAX_LIMIT, MODES, ParsedQuery, parse_query

CANDIDATES = 100
# About one 512-token window of e5 for Japanese text: a longer paste would be embedded
# window by window (seconds per query) for a vector that averages away its point.
MAX_SEMANTIC_QUERY_CHARS = 1000

T = TypeVar("T")


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
    explain: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["highlights"] = [list(h) for h in self.highlights]
        if self.explain is None:
            d.pop("explain")
        return d

    def marked_snippet(self, open_: str = "【", close: str = "】") -> str:
        return snippet.Snippet(self.field, self.snippet, self.highlights, self.snippet).marked(open_, close)


@dataclass(frozen=True)
class SearchResult:
    query: str
    mode: str
    hits: tuple[Hit, ...]
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"query": self.query, "mode": self.mode, "hits": [h.to_dict() for h in self.hits],
                "warnings": list(self.warnings)}

    @property
    def ids(self) -> list[str]:
        return [h.id for h in self.hits]


class Engine:
    """One corpus, its two indexes and the query encoder; safe to share across threads."""

    def __init__(self, *, data_dir: str | Path | None = None, source: Path = SOURCE,
                 document: Document | None = None, model: str | None = None, weight: float = fusion.DEFAULT_WEIGHT,
                 build_backend: str = "auto", notify: Callable[[str], None] | None = None) -> None:
        self.root = store.data_dir(data_dir)
        self.source = Path(source)
        self.model_name = model or DEFAULT_MODEL
        self.weight = weight
        self.build_backend = build_backend
        self.notify = notify or (lambda msg: None)
        self.doc: Document = document if document is not None else parse_file(self.source)
        self.table: DocumentTable = document_table(self.doc)
        self._keyword: keyword_index.KeywordIndex | None = None
        self._semantic: embedding_index.EmbeddingIndex | None = None
        self._encoder: Any = None
        self._model_error: str | None = None
        self._lock = threading.Lock()  # opening and swapping indexes
        self._encode_lock = threading.Lock()  # the query encoder is not known to be thread-safe
        self._declined: dict[Path, str | None] = {}  # live generations this process chose not to follow

    # ------------------------------------------------------------ indexes

    @property
    def keyword(self) -> keyword_index.KeywordIndex:
        """The keyword index, built if missing or stale; follows a swap made by another process."""
        root = self.root / "keyword"
        if self._keyword is None or not self._up_to_date(self._keyword, root):
            with self._lock:
                if self._keyword is None:
                    self._keyword = keyword_index.ensure(self.table, root, notify=self.notify)
                elif not self._up_to_date(self._keyword, root):
                    self._keyword = self._follow(self._keyword, root, keyword_index.wanted_meta(self.table),
                                                 keyword_index.KeywordIndex)
        return self._keyword

    def semantic(self) -> embedding_index.EmbeddingIndex | None:
        """The embedding index and query encoder, or None (with the reason kept) if unavailable."""
        from indexer.encoder import encoder_settings

        root = self.root / "embeddings" / "index"
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

    def _open_semantic(self, *, rebuild: bool = False, show_progress: bool = False) -> None:
        from indexer.encoder import ModelUnavailable, encoder_settings, load_encoder

        try:
            self._encoder = load_encoder(self.model_name)
            settings = encoder_settings(self._encoder)
            self._semantic = embedding_index.ensure(
                self.table, self.root / "embeddings" / "index", self._build_encoder, model_settings=settings,
                rebuild=rebuild, show_progress=show_progress, notify=self.notify)
        except ModelUnavailable as e:
            self._model_error = str(e)

    def _build_encoder(self) -> Any:
        from indexer.encoder import load_encoder

        if self.build_backend == "auto":
            return self._encoder
        return load_encoder(self.model_name, backend=self.build_backend)

    def build(self, *, rebuild: bool = False, progress: keyword_index.Progress | None = None,
              show_progress: bool = False, semantic: bool = True) -> dict[str, Any]:
        """Build (or check) both indexes now; what `kijun index` runs."""
        with self._lock:
            self._keyword = keyword_index.ensure(self.table, self.root / "keyword", rebuild=rebuild,
                                                 progress=progress, notify=self.notify)
            if semantic:
                self._semantic, self._model_error = None, None
                self._open_semantic(rebuild=rebuild, show_progress=show_progress)
        return {"keyword": self._keyword.meta,
                "embeddings": self._semantic.meta if self._semantic else {"error": self._model_error}}

    def warm(self) -> None:
        """Pay the first-search costs now (a server at start-up): open both indexes, load the
        model, and tokenise every passage for highlighting (static text, cached)."""
        self.semantic()
        for d in self.table:
            for _, text in d.display_passages:
                snippet.word_tokens(text)

    @property
    def model_error(self) -> str | None:
        return self._model_error

    # ------------------------------------------------------------ search

    def search(self, query: str, *, mode: str = DEFAULT_MODE, limit: int = 10, aws: str | None = None,
               customer: str | None = None, series: str | None = None, explain: bool = False) -> SearchResult:
        if mode not in MODES:
            raise UnknownMode(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
        if not 1 <= int(limit) <= MAX_LIMIT:
            raise LimitOutOfRange(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
        q = parse_query(query)
        filters = self._filters(aws, customer, series)
        warnings = list(q.warnings)
        unknown = [i for i in q.ids if not self.table.about(i)]
        if unknown:
            warnings.append(f"no criterion {', '.join(unknown)} in this document")

        kw: dict[str, float] = {}
        sem: dict[str, float] = {}
        sem_passage: dict[str, tuple[str, str]] = {}
        if q.text or q.phrases:
            if mode in ("keyword", "hybrid") or q.phrases or q.excludes:
                kw = self._keyword_hits(q, filters)
            if mode in ("semantic", "hybrid"):
                index = self.semantic()
                if index is None:
                    warnings.append(f"semantic search is unavailable ({self._model_error}); "
                                    "showing keyword results")
                    if mode == "semantic":
                        kw = self._keyword_hits(q, filters)
                else:
                    if len(q.positive_text) > MAX_SEMANTIC_QUERY_CHARS:
                        warnings.append(f"semantic matching read the first {MAX_SEMANTIC_QUERY_CHARS:,} characters "
                                        "of the query (the model's window); keyword matching read all of it")
                    with self._encode_lock:
                        vec = self._encoder.encode_queries([q.positive_text[:MAX_SEMANTIC_QUERY_CHARS]])[0]
                    allowed = self._allowed(filters, q)
                    for h in index.scores(vec):
                        if h.doc_key in allowed:
                            sem[h.doc_key] = h.score
                            sem_passage[h.doc_key] = (h.field, h.passage)
        if mode == "keyword" or (mode == "hybrid" and not sem):
            scores = dict(kw)
        elif mode == "semantic" and sem:
            scores = dict(sem)
        elif mode == "semantic":
            scores = dict(kw)
        else:
            scores = fusion.convex_fusion(kw, sem, self.weight)
        ranking = fusion.ranked(scores)
        ranking = self._ids_first(q, ranking, filters, warnings)
        hits = []
        kw_rank = {k: r for r, (k, _) in enumerate(fusion.ranked(kw), 1)}
        sem_rank = {k: r for r, (k, _) in enumerate(fusion.ranked(sem), 1)}
        tokens = self._on_keyword(lambda ix: ix.specific_tokens(q.positive_text)) if q.positive_text \
            else {"c": [], "a": [], "bg": []}
        for key, score in ranking[: int(limit)]:
            hits.append(self._hit(key, score, tokens, sem_passage.get(key),
                                  {"keyword_rank": kw_rank.get(key), "keyword_score": kw.get(key),
                                   "semantic_rank": sem_rank.get(key), "semantic_score": sem.get(key),
                                   "fused_score": score} if explain else None))
        return SearchResult(query, mode, tuple(hits), tuple(warnings))

    def _on_keyword(self, call: Callable[[keyword_index.KeywordIndex], T]) -> T:
        """Run `call` on the keyword index; if another process swapped the index out mid-search,
        the new one answers."""
        index = self.keyword
        try:
            return call(index)
        except store.IndexCorrupted:
            if self._up_to_date(index, self.root / "keyword"):
                raise
            return call(self.keyword)

    def _keyword_hits(self, q: ParsedQuery, filters: dict[str, str]) -> dict[str, float]:
        return {h.doc_key: h.score for h in self._on_keyword(lambda ix: ix.search(
            text=q.text, phrases=q.phrases, excludes=q.excludes, filters=filters, limit=CANDIDATES))}

    def _filters(self, aws: str | None, customer: str | None, series: str | None) -> dict[str, str]:
        out: dict[str, str] = {}
        for name, value in (("aws_role", aws), ("customer_role", customer)):
            if value:
                role = parse_role(value)
                if role is None:
                    raise UnknownFilter(f"{name.replace('_role', '')} filter must be 'primary' (◯) or 'info' (-), "
                                        f"got {value!r}")
                out[name] = role
        if series:
            if series not in SERIES_ALIASES:
                raise UnknownFilter(f"series must be 実務基準 (実), 監査基準 (監) or 変更履歴, got {series!r}")
            out["series"] = SERIES_ALIASES[series]
        return out

    def _allowed(self, filters: dict[str, str], q: ParsedQuery) -> set[str]:
        """Documents semantic ranking may return: the filters, the required phrases and the
        exclusions apply to it over the whole document set, as they do to keyword search."""
        keys = {d.key for d in self.table if d.matches(filters)}
        if q.phrases:
            keys &= self._on_keyword(lambda ix: ix.with_phrases(q.phrases))
        if q.excludes:
            keys -= self._on_keyword(lambda ix: ix.with_any_word(q.excludes))
        return keys

    def _ids_first(self, q: ParsedQuery, ranking: list[tuple[str, float]], filters: dict[str, str],
                   warnings: list[str]) -> list[tuple[str, float]]:
        """Criteria named by ID go first (if they pass the filters); a query that is only IDs
        lists them and their history."""
        named: list[str] = []
        for i in q.ids:
            about = [d for d in self.table.about(i) if d.kind == CRITERION or (q.only_ids and d.kind == REVISION)]
            passing = [d.key for d in about if d.matches(filters)]
            if about and not passing:
                warnings.append(f"{i} does not match the filters, so it is not listed")
            named += passing
        if not named:
            return ranking
        top = (ranking[0][1] if ranking else 0.0) + 1.0
        head = [(k, top) for k in dict.fromkeys(named)]
        return head + [(k, s) for k, s in ranking if k not in dict(head)]

    def _hit(self, key: str, score: float, tokens: dict[str, list[str]],
             sem_passage: tuple[str, str] | None, explain: dict[str, Any] | None) -> Hit:
        d = self.table[key]
        passages = d.display_passages
        words = set(tokens["c"]) | set(tokens["a"])
        snip = snippet.best_passage(passages, words, set())
        if snip is None or not snip.highlights:
            with_grams = snippet.best_passage(passages, words, set(tokens["bg"]))
            if with_grams is not None and with_grams.highlights:
                snip = with_grams
            elif sem_passage is not None:
                snip = snippet.window(snippet.Snippet(sem_passage[0], sem_passage[1], (), sem_passage[1]))
        field = snip.field if snip else ""
        crit = self.doc.get(d.id) if d.kind == CRITERION else None
        return Hit(id=d.id, score=round(float(score), 6), kind=d.kind, series=d.series, aws_role=d.aws_role,
                   customer_role=d.customer_role, field=field, snippet=snip.text if snip else "",
                   highlights=snip.highlights if snip else (), same_as=crit.same_as if crit else None,
                   explain=(explain | {"passage": sem_passage[1] if sem_passage else None}) if explain else None)
