"""The search engine: keyword, semantic and hybrid ranking over one corpus.

`Engine` owns the parsed document and opens (building when missing or stale)
the keyword and embedding indexes. The model is loaded only when a semantic or
hybrid search first needs it, so a keyword search never pays for it; if it
cannot be loaded, hybrid search answers with keyword results and says so.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from corpus.parser import SOURCE, parse_file
from corpus.passages import boilerplate_keys, document_passages, split_text, passage_key
from corpus.records import Document
from indexer import embedding_index, keyword_index, store
from search import fusion, snippet
from search.query import ParsedQuery, QueryError, parse_query

MODES = ("keyword", "semantic", "hybrid")
DEFAULT_MODE = "hybrid"
MAX_LIMIT = 200
CANDIDATES = 100
# About one 512-token window of e5 for Japanese text: a longer paste would be embedded
# window by window (seconds per query) for a vector that averages away its point.
MAX_SEMANTIC_QUERY_CHARS = 1000
ROLE_FILTERS = {"primary": "primary", "info": "info", "◯": "primary", "-": "info"}


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


@dataclass
class _Doc:
    key: str
    id: str
    kind: str
    series: str
    aws_role: str
    customer_role: str
    passages: list[tuple[str, str]] = field(default_factory=list)  # (field, text), boilerplate removed


class Engine:
    def __init__(self, *, data_dir: str | Path | None = None, source: Path = SOURCE,
                 document: Document | None = None, model: str | None = None, weight: float = fusion.DEFAULT_WEIGHT,
                 build_backend: str = "auto", notify: Callable[[str], None] | None = None) -> None:
        from indexer.encoder import DEFAULT_MODEL

        self.root = store.data_dir(data_dir)
        self.source = Path(source)
        self.model_name = model or DEFAULT_MODEL
        self.weight = weight
        self.build_backend = build_backend
        self.notify = notify or (lambda msg: None)
        self.doc: Document = document if document is not None else parse_file(self.source)
        self._docs = self._doc_table(self.doc)
        self._keyword: keyword_index.KeywordIndex | None = None
        self._semantic: embedding_index.EmbeddingIndex | None = None
        self._encoder: Any = None
        self._model_error: str | None = None
        self._lock = threading.Lock()
        self._declined: dict[Path, str | None] = {}  # live generations this process chose not to follow

    # ------------------------------------------------------------ indexes

    @property
    def keyword(self) -> keyword_index.KeywordIndex:
        """The keyword index, built if missing or stale; follows a swap made by another process."""
        root = self.root / "keyword"
        if self._keyword is None or not self._up_to_date(self._keyword, root):
            with self._lock:
                if self._keyword is None:
                    self._keyword = keyword_index.ensure(self.doc, root, notify=self.notify)
                elif not self._up_to_date(self._keyword, root):
                    self._keyword = self._follow(self._keyword, root, keyword_index.wanted_meta(self.doc),
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
                    wanted = embedding_index.wanted_meta(self.doc, encoder_settings(self._encoder))
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
                self.doc, self.root / "embeddings" / "index", self._build_encoder, model_settings=settings,
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
            self._keyword = keyword_index.ensure(self.doc, self.root / "keyword", rebuild=rebuild,
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
        for d in self._docs.values():
            for _, text in d.passages:
                snippet.word_tokens(text)

    @property
    def model_error(self) -> str | None:
        return self._model_error

    # ------------------------------------------------------------ search

    def search(self, query: str, *, mode: str = DEFAULT_MODE, limit: int = 10, aws: str | None = None,
               customer: str | None = None, series: str | None = None, explain: bool = False) -> SearchResult:
        if mode not in MODES:
            raise QueryError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
        if not 1 <= int(limit) <= MAX_LIMIT:
            raise QueryError(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
        q = parse_query(query)
        filters = self._filters(aws, customer, series)
        warnings = list(q.warnings)
        unknown = [i for i in q.ids if i not in self.doc and not any(i in r.ids for r in self.doc.revisions)]
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
                    vec = self._encoder.encode_queries([q.positive_text[:MAX_SEMANTIC_QUERY_CHARS]])[0]
                    allowed = self._allowed(filters, q, kw)
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
        ranking = self._ids_first(q, ranking, filters)
        hits = []
        kw_rank = {k: r for r, (k, _) in enumerate(fusion.ranked(kw), 1)}
        sem_rank = {k: r for r, (k, _) in enumerate(fusion.ranked(sem), 1)}
        tokens = self.keyword.specific_tokens(q.positive_text) if q.positive_text \
            else {"c": [], "a": [], "bg": []}
        for key, score in ranking[: int(limit)]:
            hits.append(self._hit(key, score, tokens, sem_passage.get(key),
                                  {"keyword_rank": kw_rank.get(key), "keyword_score": kw.get(key),
                                   "semantic_rank": sem_rank.get(key), "semantic_score": sem.get(key),
                                   "fused_score": score} if explain else None))
        return SearchResult(query, mode, tuple(hits), tuple(warnings))

    def _keyword_search(self, **kwargs: Any) -> list[keyword_index.KeywordHit]:
        index = self.keyword
        try:
            return index.search(**kwargs)
        except store.IndexCorrupted:
            if self._up_to_date(index, self.root / "keyword"):
                raise
            return self.keyword.search(**kwargs)  # swapped out mid-search: the new one answers

    def _keyword_hits(self, q: ParsedQuery, filters: dict[str, str]) -> dict[str, float]:
        return {h.doc_key: h.score for h in self._keyword_search(
            text=q.text, phrases=q.phrases, excludes=q.excludes, filters=filters, limit=CANDIDATES)}

    def _filters(self, aws: str | None, customer: str | None, series: str | None) -> dict[str, str]:
        out: dict[str, str] = {}
        for name, value in (("aws_role", aws), ("customer_role", customer)):
            if value:
                if value not in ROLE_FILTERS:
                    raise QueryError(f"{name.replace('_role', '')} filter must be 'primary' (◯) or 'info' (-), got {value!r}")
                out[name] = ROLE_FILTERS[value]
        if series:
            names = {"実": "実務基準", "監": "監査基準", "実務基準": "実務基準", "監査基準": "監査基準",
                     "変更履歴": "変更履歴", "revision": "変更履歴"}
            if series not in names:
                raise QueryError(f"series must be 実務基準 (実), 監査基準 (監) or 変更履歴, got {series!r}")
            out["series"] = names[series]
        return out

    def _allowed(self, filters: dict[str, str], q: ParsedQuery, kw: dict[str, float]) -> set[str]:
        """Documents semantic ranking may return: the filters, the required phrases and the
        exclusions apply to it as they do to keyword search."""
        keys = {k for k, d in self._docs.items() if all(getattr(d, f) == v for f, v in filters.items())}
        if q.phrases:
            keys &= set(kw)
        if q.excludes:
            banned = {h.doc_key for h in self._keyword_search(text=" ".join(q.excludes), limit=MAX_LIMIT * 2)}
            keys -= banned
        return keys

    def _ids_first(self, q: ParsedQuery, ranking: list[tuple[str, float]], filters: dict[str, str]
                   ) -> list[tuple[str, float]]:
        """Criteria named by ID go first; a query that is only IDs lists them and their history."""
        named = [i for i in q.ids if i in self._docs]
        if q.only_ids:
            named += [k for i in q.ids for k, d in self._docs.items() if d.kind == "revision" and d.id == i]
        if not named:
            return ranking
        top = (ranking[0][1] if ranking else 0.0) + 1.0
        head = [(k, top) for k in dict.fromkeys(named)]
        return head + [(k, s) for k, s in ranking if k not in dict(head)]

    def _hit(self, key: str, score: float, tokens: dict[str, list[str]],
             sem_passage: tuple[str, str] | None, explain: dict[str, Any] | None) -> Hit:
        d = self._docs[key]
        words = set(tokens["c"]) | set(tokens["a"])
        snip = snippet.best_passage(d.passages, words, set())
        if snip is None or not snip.highlights:
            with_grams = snippet.best_passage(d.passages, words, set(tokens["bg"]))
            if with_grams is not None and with_grams.highlights:
                snip = with_grams
            elif sem_passage is not None:
                snip = snippet.window(snippet.Snippet(sem_passage[0], sem_passage[1], (), sem_passage[1]))
        field = snip.field if snip else ""
        crit = self.doc.get(d.id) if d.kind == "criterion" and d.id in self.doc else None
        return Hit(id=d.id, score=round(float(score), 6), kind=d.kind, series=d.series, aws_role=d.aws_role,
                   customer_role=d.customer_role, field=field, snippet=snip.text if snip else "",
                   highlights=snip.highlights if snip else (), same_as=crit.same_as if crit else None,
                   explain=(explain | {"passage": sem_passage[1] if sem_passage else None}) if explain else None)

    @staticmethod
    def _doc_table(doc: Document) -> dict[str, _Doc]:
        boiler = boilerplate_keys(document_passages(doc))
        table: dict[str, _Doc] = {}
        for c in doc.criteria:
            d = _Doc(c.id, c.id, "criterion", c.series, keyword_index.role_name(c.aws_role),
                     keyword_index.role_name(c.customer_role))
            source = doc.text_of(c)
            for fname, text in (("aws_status", source.aws_status), ("customer_controls", c.customer_controls)):
                d.passages += [(fname, p) for p in split_text(text) if passage_key(p) not in boiler]
            d.passages += [("references", r) for r in c.references]
            table[c.id] = d
        for n, r in enumerate(doc.revisions):
            for cid in r.ids:
                table[f"rev{n}:{cid}"] = _Doc(f"rev{n}:{cid}", cid, "revision", "変更履歴", "", "",
                                              [("revision", p) for p in split_text(r.text)])
        return table
