"""Evaluate search modes against a graded JSONL evaluation set.

One JSON object per line::

    {"query": "GuardDuty", "relevant": {"実16": 2}, "kind": "keyword"}
    {"query": "暗号鍵の管理方法…", "relevant": {}, "kind": "questionnaire",
     "topic": "暗号化", "answerable": false}

``relevant`` maps an id to a grade (2 answers the query, 1 related, 0 judged
not relevant).  A query with ``"answerable": false`` or no id graded > 0 is
*unanswerable*: it is still run and its top ids are reported, so a person can
check the engine did not give a confident wrong answer, but it is left out of
the averages (every metric would be 0 by definition and drag them down).
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import metrics
from .answerability import NO_MATCH

__all__ = [
    "EvalQuery",
    "EvalFileError",
    "load_eval_set",
    "Aggregate",
    "QueryResult",
    "ModeReport",
    "Ranker",
    "evaluate",
    "evaluate_modes",
    "format_table",
    "format_library_protocols",
]

Ranker = Callable[[str], Any]
"""Takes a query, returns ids best first (duplicates allowed; they are deduped), or a search
result with ``ids`` and ``match`` (its answerability judgement: ``status`` and ``score``)."""

MAX_GRADE = 2
_KNOWN_FIELDS = ("query", "relevant", "kind", "topic", "answerable", "source", "checked")
TERM_KINDS = ("keyword",)
"""Kinds of short terms, reported apart as literal (the term is written in a relevant record) and not."""


# --------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class EvalQuery:
    """One judged query. ``line`` is its 1-based line in the eval file (0 if built in code)."""

    query: str
    relevant: dict[str, int]
    kind: str
    topic: str | None = None
    answerable: bool = True
    line: int = 0
    source: str | None = None  # the kind of material the item was written from
    checked: tuple[str, ...] = ()  # unanswerable: the wordings looked for in the document, and not found
    literal: bool | None = None  # a term written verbatim in a relevant record (`with_literal`; None: not a term)

    @property
    def groups(self) -> tuple[str, ...]:
        """The rows of a report it counts in: its kind, and a term's literal or non-literal row."""
        if self.literal is None:
            return (self.kind,)
        return (self.kind, f"{self.kind}: {'literal' if self.literal else 'non-literal'}")

    def __post_init__(self) -> None:
        # A query with nothing relevant cannot be answered, whatever the flag says;
        # normalising here keeps `answerable` the single thing callers check.
        relevant = dict(self.relevant)
        object.__setattr__(self, "relevant", relevant)
        if not any(grade > 0 for grade in relevant.values()):
            object.__setattr__(self, "answerable", False)


class EvalFileError(ValueError):
    """The eval set cannot be read. The message says where, what is wrong and how to fix it."""

    def __init__(self, path: str | Path, line: int | None, problem: str, fix: str = "") -> None:
        self.path = Path(path)
        self.line = line
        self.problem = problem
        self.fix = fix
        where = f"{path}:{line}" if line is not None else f"{path}"
        message = f"{where}: {problem}"
        if fix:
            message += f". {fix}"
        super().__init__(message)


class _DuplicateKey(ValueError):
    pass


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads silently keeps the last of two equal keys; in a hand-edited
    # judgement file that is almost always a mistake, so make it loud.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


_EXAMPLE = '{"query": "GuardDuty", "relevant": {"実16": 2}, "kind": "keyword"}'


def _parse_line(path: Path, lineno: int, text: str) -> EvalQuery:
    def fail(problem: str, fix: str) -> EvalFileError:
        return EvalFileError(path, lineno, problem, fix)

    try:
        obj = json.loads(text, object_pairs_hook=_reject_duplicates)
    except _DuplicateKey as exc:
        raise fail(f"key {str(exc)!r} appears twice", "Keep one entry per key") from None
    except json.JSONDecodeError as exc:
        raise fail(
            f"not valid JSON ({exc.msg} at column {exc.colno})",
            f"Each non-blank line must be one JSON object, e.g. {_EXAMPLE}",
        ) from None
    if not isinstance(obj, dict):
        raise fail(
            f"expected a JSON object, got {type(obj).__name__}",
            f"Each non-blank line must be one JSON object, e.g. {_EXAMPLE}",
        )

    unknown = sorted(set(obj) - set(_KNOWN_FIELDS))
    if unknown:
        raise fail(
            f"unknown field(s) {', '.join(map(repr, unknown))}",
            f"Allowed fields are {', '.join(_KNOWN_FIELDS)} (check for a typo)",
        )

    if "query" not in obj:
        raise fail('missing "query"', 'Add "query": "<the search text>"')
    query = obj["query"]
    if not isinstance(query, str) or not query.strip():
        raise fail('"query" must be a non-empty string', f"Got {query!r}")

    if "relevant" not in obj:
        raise fail(
            'missing "relevant"',
            'Add "relevant": {"<id>": <grade 0..2>}, or "relevant": {} for a question '
            "the document does not answer",
        )
    relevant_raw = obj["relevant"]
    if not isinstance(relevant_raw, dict):
        raise fail(
            f'"relevant" must be an object of id -> grade, got {type(relevant_raw).__name__}',
            'Write it like {"実26": 2, "実27": 1}',
        )
    relevant: dict[str, int] = {}
    for doc_id, grade in relevant_raw.items():
        if not doc_id or doc_id != doc_id.strip():
            raise fail(
                f'"relevant" has an empty id or one with surrounding spaces: {doc_id!r}',
                "Write ids exactly as the search returns them, e.g. 実26, 監3, 統20",
            )
        if isinstance(grade, bool) or not isinstance(grade, int) or not 0 <= grade <= MAX_GRADE:
            raise fail(
                f'grade for {doc_id!r} in "relevant" is {grade!r}',
                "Grades are the integers 0 (not relevant), 1 (related) or 2 (answers it)",
            )
        relevant[doc_id] = grade

    if "kind" not in obj:
        raise fail(
            'missing "kind"',
            'Add "kind": one of keyword, id, paraphrase, english, questionnaire',
        )
    kind = obj["kind"]
    if not isinstance(kind, str) or not kind.strip():
        raise fail('"kind" must be a non-empty string', f"Got {kind!r}")

    topic = obj.get("topic")
    if topic is not None and not isinstance(topic, str):
        raise fail('"topic" must be a string or null', f"Got {topic!r}")

    source = obj.get("source")
    if source is not None and not isinstance(source, str):
        raise fail('"source" must be a string or null', f"Got {source!r}")

    answerable = obj.get("answerable", True)
    if not isinstance(answerable, bool):
        raise fail('"answerable" must be true or false', f"Got {answerable!r}")

    checked = obj.get("checked", [])
    if not isinstance(checked, list) or not all(isinstance(c, str) and c.strip() for c in checked):
        raise fail('"checked" must be a list of the wordings looked for', f"Got {checked!r}")

    return EvalQuery(
        query=query, relevant=relevant, kind=kind, topic=topic, answerable=answerable, line=lineno,
        source=source, checked=tuple(checked)
    )


def _squeezed(text: str) -> str:
    """NFKC, lower case, no whitespace: how a term is compared with a record's text (the PDF's
    extraction writes 「2 要素認証」)."""
    return "".join(unicodedata.normalize("NFKC", text).lower().split())


def is_literal(term: str, texts: Iterable[str]) -> bool:
    """Is the term written verbatim (width, case and spacing aside) in one of the texts?"""
    needle = _squeezed(term)
    return bool(needle) and any(needle in _squeezed(t) for t in texts)


def with_literal(queries: Sequence[EvalQuery], text_of: Callable[[str], str]) -> list[EvalQuery]:
    """The queries with `literal` set for answerable terms (TERM_KINDS): written in the text of one
    of their relevant records (`text_of(id)`), or not."""
    from dataclasses import replace

    return [replace(q, literal=is_literal(q.query, [text_of(i) for i, g in q.relevant.items() if g > 0]))
            if q.kind in TERM_KINDS and q.answerable else q for q in queries]


def load_eval_set(path: str | Path) -> list[EvalQuery]:
    """Read a JSONL eval set; blank lines are skipped.

    Raises EvalFileError (a ValueError) naming the file and line for anything
    malformed, rather than letting a bad judgement quietly skew the numbers.
    """
    path = Path(path)
    try:
        # utf-8-sig: tolerate a BOM left by editors on Windows.
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise EvalFileError(
            path, None, "eval set not found", "Check the path (the project's own set is eval/dev.jsonl)"
        ) from None
    except IsADirectoryError:
        raise EvalFileError(
            path, None, "is a directory, not an eval file", "Pass the .jsonl file itself"
        ) from None
    except UnicodeDecodeError as exc:
        raise EvalFileError(
            path, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})", "Save it as UTF-8"
        ) from None

    queries = [
        _parse_line(path, lineno, line)
        for lineno, line in enumerate(text.splitlines(), start=1)
        if line.strip()
    ]
    if not queries:
        raise EvalFileError(
            path, None, "contains no queries", f"Add one JSON object per line, e.g. {_EXAMPLE}"
        )
    return queries


# --------------------------------------------------------------------------- evaluating


@dataclass(frozen=True)
class Aggregate:
    """Means over the answerable queries of one group; None when the group has none."""

    mrr: float | None
    ndcg: float | None
    recall: float | None
    n: int
    misses: int

    def to_dict(self, k: int = 10, recall_k: int = 5) -> dict[str, Any]:
        return {
            f"mrr@{k}": self.mrr,
            f"ndcg@{k}": self.ndcg,
            f"recall@{recall_k}": self.recall,
            "n": self.n,
            "misses": self.misses,
        }


@dataclass(frozen=True)
class QueryResult:
    """One query's outcome in one mode. ``top`` is the deduped top k ids."""

    query: EvalQuery
    top: tuple[str, ...]
    mrr: float
    ndcg: float
    recall: float
    hit: bool
    flagged: bool | None = None  # judged "not in this document" (None: the ranker does not judge)
    judgement: float | None = None  # the judgement's score, higher = more likely answered

    def to_dict(self, k: int = 10, recall_k: int = 5) -> dict[str, Any]:
        return {
            "query": self.query.query,
            "kind": self.query.kind,
            "answerable": self.query.answerable,
            "top": list(self.top),
            f"mrr@{k}": self.mrr,
            f"ndcg@{k}": self.ndcg,
            f"recall@{recall_k}": self.recall,
            "hit": self.hit,
            "flagged": self.flagged,
            "judgement": self.judgement,
        }


@dataclass(frozen=True)
class ModeReport:
    """Everything one ranker scored: overall and per-kind means, and every query."""

    overall: Aggregate
    by_kind: dict[str, Aggregate]
    queries: list[QueryResult] = field(default_factory=list)
    k: int = 10
    recall_k: int = 5

    def answerability(self, kinds: Sequence[str] | None = None) -> dict[str, Any] | None:
        """How the no-match judgement did (over the queries of `kinds`, else all): unanswerable queries
        flagged, answerable ones flagged wrongly, and the AUC of its score (None if the ranker does
        not judge)."""
        judged = [r for r in self.queries if r.flagged is not None and (kinds is None or r.query.kind in kinds)]
        if not judged:
            return None
        return metrics.flagging([r.judgement or 0.0 for r in judged], [bool(r.flagged) for r in judged],
                                [r.query.answerable for r in judged])

    def to_dict(self) -> dict[str, Any]:
        return {
            "overall": self.overall.to_dict(self.k, self.recall_k),
            "by_kind": {
                kind: agg.to_dict(self.k, self.recall_k) for kind, agg in self.by_kind.items()
            },
            "answerability": self.answerability(),
            "queries": [row.to_dict(self.k, self.recall_k) for row in self.queries],
        }


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _aggregate(rows: list[QueryResult]) -> Aggregate:
    scored = [row for row in rows if row.query.answerable]
    return Aggregate(
        mrr=_mean([row.mrr for row in scored]),
        ndcg=_mean([row.ndcg for row in scored]),
        recall=_mean([row.recall for row in scored]),
        n=len(scored),
        misses=sum(1 for row in scored if not row.hit),
    )


def _checked_ranking(result: object, q: EvalQuery) -> list[str]:
    # A ranker returning a bare string would be "deduped" character by
    # character and score nonsense; hit objects instead of ids would never
    # match. Both are easy mistakes, so fail with the query that showed them.
    where = f"eval query on line {q.line}: {q.query!r}" if q.line else f"eval query {q.query!r}"
    if isinstance(result, (str, bytes, Mapping)) or not isinstance(result, Iterable):
        raise TypeError(
            f"ranker must return a sequence of id strings, got {type(result).__name__} "
            f"for {where}"
        )
    ranked = list(result)
    bad = next((item for item in ranked if not isinstance(item, str)), None)
    if bad is not None:
        raise TypeError(
            f"ranker returned a {type(bad).__name__} instead of an id string for {where}; "
            "map hits to their ids (e.g. 実26) before evaluating"
        )
    return ranked


def evaluate(
    queries: Sequence[EvalQuery], rank: Ranker, *, k: int = 10, recall_k: int = 5
) -> ModeReport:
    """Run ``rank`` on every query and score it.

    Means (overall and by kind, in order of first appearance) cover answerable
    queries only; ``misses`` counts answerable queries with nothing relevant in
    the top k.  Unanswerable queries are run and kept in ``queries`` for review.
    """
    rows: list[QueryResult] = []
    for q in queries:
        try:
            ranked = rank(q.query)
        except Exception as exc:
            where = f" on line {q.line}" if q.line else ""
            exc.add_note(f"while ranking the eval query{where}: {q.query!r}")
            raise
        match = getattr(ranked, "match", None) if hasattr(ranked, "ids") else None
        ranked = _checked_ranking(ranked.ids if hasattr(ranked, "ids") else ranked, q)
        rows.append(
            QueryResult(
                query=q,
                top=tuple(metrics.dedupe(ranked)[:k]),
                mrr=metrics.reciprocal_rank(ranked, q.relevant, k=k),
                ndcg=metrics.ndcg(ranked, q.relevant, k=k),
                recall=metrics.recall(ranked, q.relevant, k=recall_k),
                hit=metrics.hit(ranked, q.relevant, k=k),
                # a lookup by ID is not judged (match None): it counts in neither direction
                flagged=match.status == NO_MATCH if match is not None else None,
                judgement=match.score if match is not None else None,
            )
        )

    by_kind_rows: dict[str, list[QueryResult]] = {}
    for row in rows:
        for group in row.query.groups:
            by_kind_rows.setdefault(group, []).append(row)
    return ModeReport(
        overall=_aggregate(rows),
        by_kind={kind: _aggregate(group) for kind, group in by_kind_rows.items()},
        queries=rows,
        k=k,
        recall_k=recall_k,
    )


def evaluate_modes(
    queries: Sequence[EvalQuery],
    rankers: Mapping[str, Ranker],
    *,
    k: int = 10,
    recall_k: int = 5,
) -> dict[str, Any]:
    """Evaluate several modes on the same queries; JSON-ready, with one row per query.

    Shape: ``{"modes": {MODE: {"overall", "by_kind"}}, "queries": [{"query",
    "kind", "answerable", "relevant", "results": {MODE: {"top", "mrr@10",
    "ndcg@10", "recall@5"}}}]}`` (metric names follow ``k`` / ``recall_k``).
    """
    if not rankers:
        raise ValueError("evaluate_modes needs at least one ranker")
    reports = {
        mode: evaluate(queries, rank, k=k, recall_k=recall_k) for mode, rank in rankers.items()
    }
    modes = {}
    for mode, report in reports.items():
        full = report.to_dict()
        modes[mode] = {"overall": full["overall"], "by_kind": full["by_kind"],
                       "answerability": full["answerability"], "terms_answerability": report.answerability(TERM_KINDS)}

    rows = []
    for i, q in enumerate(queries):
        results = {}
        for mode, report in reports.items():
            r = report.queries[i]
            results[mode] = {
                "top": list(r.top),
                f"mrr@{k}": r.mrr,
                f"ndcg@{k}": r.ndcg,
                f"recall@{recall_k}": r.recall,
            }
        rows.append(
            {
                "query": q.query,
                "kind": q.kind,
                "answerable": q.answerable,
                "relevant": dict(q.relevant),
                "results": results,
            }
        )
    return {"modes": modes, "queries": rows}


# --------------------------------------------------------------------------- table

TABLE_WIDTH = 100
_CELL = 5  # "0.812"
_MISS = 4
_BLOCK = 3 * (_CELL + 1) + _MISS  # "0.812 0.701 0.655    3"
_SEP = " | "


def _width(text: str) -> int:
    """Terminal columns: CJK (wide/fullwidth) characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _clip(text: str, columns: int) -> str:
    """Cut ``text`` to at most ``columns`` terminal columns, marking the cut with '..'."""
    if _width(text) <= columns:
        return text
    out, used = [], 0
    for ch in text:
        w = _width(ch)
        if used + w > columns - 2:
            break
        out.append(ch)
        used += w
    return "".join(out) + ".."


def _pad(text: str, columns: int, align: str = "<") -> str:
    text = _clip(text, columns)
    gap = columns - _width(text)
    if align == ">":
        return " " * gap + text
    if align == "^":
        return " " * (gap // 2) + text + " " * (gap - gap // 2)
    return text + " " * gap


def _num(value: float | None) -> str:
    return "-".rjust(_CELL) if value is None else f"{value:{_CELL}.3f}"


def _metric_keys(agg: Mapping[str, Any]) -> tuple[str, str, str]:
    def find(prefix: str) -> str:
        return next(key for key in agg if key.startswith(prefix))

    return find("mrr@"), find("ndcg@"), find("recall@")


def format_table(report: Mapping[str, Any]) -> str:
    """Plain-text summary of :func:`evaluate_modes` output for a terminal.

    Modes sit side by side (split into several tables if they would not fit in
    100 columns); then the unanswerable queries with each mode's top 3 ids.
    """
    modes: Mapping[str, Mapping[str, Any]] = report["modes"]
    mode_names = list(modes)
    if not mode_names:
        raise ValueError("report has no modes; pass the output of evaluate_modes()")
    first = modes[mode_names[0]]
    mrr_key, ndcg_key, recall_key = _metric_keys(first["overall"])
    k = mrr_key.split("@", 1)[1]
    recall_k = recall_key.split("@", 1)[1]

    kinds: list[str] = []
    for mode in mode_names:
        kinds.extend(kind for kind in modes[mode]["by_kind"] if kind not in kinds)
    row_labels = ["overall"] + [f"  {kind}" for kind in kinds]
    label_w = min(max(_width(label) for label in row_labels + ["kind"]), 16)
    left_w = label_w + 1 + 4  # label, space, n

    per_table = max(1, (TABLE_WIDTH - left_w) // (len(_SEP) + _BLOCK))
    lines = [
        f"MRR@{k} / nDCG@{k} / R@{recall_k}: means over answerable queries (n); "
        f"miss: no relevant id in top {k}",
    ]

    def group(mode: str, kind: str | None) -> Mapping[str, Any] | None:
        return modes[mode]["overall"] if kind is None else modes[mode]["by_kind"].get(kind)

    def n_for(kind: str | None) -> int | None:
        # every mode ran the same queries, so any mode's n will do
        return next((agg["n"] for m in mode_names if (agg := group(m, kind)) is not None), None)

    for start in range(0, len(mode_names), per_table):
        chunk = mode_names[start : start + per_table]
        head1 = " " * left_w + "".join(_SEP + _pad(m, _BLOCK, "^") for m in chunk)
        cols = (
            _pad("MRR", _CELL, ">") + " " + _pad("nDCG", _CELL, ">") + " "
            + _pad(f"R@{recall_k}", _CELL, ">") + " " + _pad("miss", _MISS, ">")
        )
        head2 = _pad("kind", label_w) + " " + _pad("n", 4, ">") + (_SEP + cols) * len(chunk)
        lines += ["", head1.rstrip(), head2, "-" * _width(head2)]
        for label, kind in zip(row_labels, [None] + kinds):
            n = n_for(kind)
            cells = []
            for mode in chunk:
                agg = group(mode, kind)
                if agg is None:
                    cells.append(_pad("-", _BLOCK, ">"))
                    continue
                cells.append(
                    f"{_num(agg[mrr_key])} {_num(agg[ndcg_key])} {_num(agg[recall_key])} "
                    f"{agg['misses']:>{_MISS}}"
                )
            n_text = "-" if n is None else str(n)
            left = _pad(label, label_w) + " " + _pad(n_text, 4, ">")
            lines.append(left + "".join(_SEP + cell for cell in cells))

    judged = {m: modes[m].get("answerability") for m in mode_names if modes[m].get("answerability")}
    if judged:
        lines += ["", "No-match judgement (in-sample here; `kijun fit` reports the cross-validated figures):"]
        for mode, a in judged.items():
            for label, a in ((mode, a), ("  terms", modes[mode].get("terms_answerability"))):
                if not a:
                    continue
                share = a["answerable_flagged"] / a["answerable"] if a["answerable"] else 0.0
                lines.append(f"  {label:9s} unanswerable flagged {a['unanswerable_flagged']}/{a['unanswerable']}, "
                             f"answerable flagged {a['answerable_flagged']}/{a['answerable']} ({share:.0%}), "
                             f"AUC {a['auc']:.3f}")

    unanswerable = [row for row in report.get("queries", []) if not row["answerable"]]
    lines.append("")
    if not unanswerable:
        lines.append("Unanswerable queries: none.")
        return "\n".join(lines)
    lines.append(
        f"Unanswerable queries ({len(unanswerable)}, not averaged) - top 3 per mode; "
        "check none is a confident wrong answer:"
    )
    name_w = min(max(_width(m) for m in mode_names), 20)
    for row in unanswerable:
        prefix = f"  [{row['kind']}] "
        lines.append(prefix + _clip(row["query"], TABLE_WIDTH - _width(prefix)))
        for mode in mode_names:
            result = row["results"].get(mode)
            top = result["top"][:3] if result else []
            ids = ", ".join(top) if top else "(no results)"
            indent = "      " + _pad(mode, name_w) + "  "
            lines.append(indent + _clip(ids, TABLE_WIDTH - _width(indent)))
    return "\n".join(lines)



def format_library_protocols(protocols: Mapping[str, Mapping[str, Any]], *, held_out: bool = False) -> str:
    """The set's own questions as the answer library: per kind, MRR@10 / nDCG@10 without a library
    and under each protocol (from `search.fitting.library_protocols` or `fit_library`), then the
    verdict's AUC and flags."""
    how = ("held out: base weights and library parameters refitted without each fold" if held_out
           else "shipped weights and parameters, nothing refitted (`kijun fit` reports them held out)")
    lines = [f"Answer library = this set's own questions (never the query itself); {how}.",
             "leave-source-out: the library holds only other sources' questions; random folds: the other folds'."]
    names = list(protocols)
    for subset in ("all", "first_55"):
        kinds = list(dict.fromkeys(k for p in names for k in protocols[p]["ranking"][subset]))
        lines += ["", f"{subset}: MRR@10 / nDCG@10 " + _SEP.join(_pad(p, 13, "^") for p in names)]
        for kind in kinds:
            cells = []
            for p in names:
                row = protocols[p]["ranking"][subset].get(kind)
                cells.append(f"{row['mrr@10']:.3f} / {row['ndcg@10']:.3f}" if row else _pad("-", 13, ">"))
            n = next(protocols[p]["ranking"][subset][kind]["n"] for p in names if kind in protocols[p]["ranking"][subset])
            lines.append(f"  {_pad(kind, 14)} {n:>4}" + "".join(_SEP + c for c in cells))
    lines.append("")
    for p in names:
        v = protocols[p]["verdict"]
        v = v.get("all", v)
        lines.append(f"  verdict, {p:17s} AUC {v['auc']:.3f}  unanswerable flagged {v['unanswerable_flagged']:.0f}/"
                     f"{v['unanswerable']}  answerable flagged {v['answerable_flagged']:.0f}/{v['answerable']}")
    return "\n".join(lines)
