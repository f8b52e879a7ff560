"""`kijun documents`: the documents a team relies on beside the bundled one (a thin click layer over
`search.documents.store`). Registered on the `kijun` command by `search.app.cli`."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from corpus.editions import edition_label
from corpus.records import KINDS, DocumentError
from search.documents.store import DocumentInfo, DocumentStore, DocumentStoreError

NEW_SET = ("a new set of documents: `kijun index` builds its indexes and works out the answer library's memory for it "
           "(else the first search builds them, and the library is left out until `kijun library refresh`; "
           "a running `kijun serve` does both itself)")


class _Group(click.Group):
    """Reports the store's and the readers' named errors as one line, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (DocumentError, DocumentStoreError) as e:
            raise click.ClickException(str(e)) from e


@click.group("documents", cls=_Group)
def documents_group() -> None:
    """Documents beside the bundled one: vendors' FISC responses, mapping tables, title lists.

    Kept as user data at $KIJUN_DOCUMENTS, else ~/.local/share/kijun/documents — outside ./data, so
    `kijun index --rebuild` and `make clean` never touch them: each is its original file, byte for byte,
    and a small record of what it is.
    """


@documents_group.command("add")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--title", required=True, help="What the document is called (e.g. 'BLEA for FSI 勘定系 FISC対応表').")
@click.option("--publisher", default="", help="Who published it.")
@click.option("--edition", default=None,
              help="The edition of the FISC standards it answers (9, 第13版); default: the one the file names.")
@click.option("--date", default="", help="The document's date, as it gives it.")
@click.option("--version", default="", help="The document's version, as it gives it.")
@click.option("--kind", type=click.Choice(KINDS), default=None,
              help="table (keyed by criterion ID), text (an extraction laid out like the bundled one) or titles "
                   "(ID → title; defines its edition's IDs). Default: told from the file.")
@click.option("--id-column", default=None, help="The column of criterion IDs: header name, number or letter "
                                                "(default: the column whose cells are mostly IDs).")
@click.option("--fields", "fields_", multiple=True, metavar="'COLUMN=ROLE, …'",
              help="Map columns to the bundled document's roles: aws_status (AWSの対応状況), customer_controls "
                   "(お客様が統制すべき内容), references (補足情報), or title.")
@click.option("--id", "doc_id", default=None, help="The document's ID in the store (default: from the file name).")
@click.option("--label", default="", help="A short name written beside IDs when several documents answer a check "
                                          "sheet (e.g. 基盤 → 「基盤 実26」; default: its ID).")
@click.option("--dry-run", is_flag=True, help="Read it and say what would be added; change nothing.")
def documents_add(file: str, title: str, publisher: str, edition: str | None, date: str, version: str,
                  kind: str | None, id_column: str | None, fields_: tuple[str, ...], doc_id: str | None,
                  label: str, dry_run: bool) -> None:
    """Add a document (.xlsx, .csv, .tsv, .md, .jsonl or .txt): one file, all of it or nothing."""
    from corpus.tables import parse_fields

    store = DocumentStore()
    added = store.add(Path(file), title=title, publisher=publisher, edition=edition, date=date, version=version,
                      kind=kind, id_column=id_column, fields=parse_fields(fields_), doc_id=doc_id, dry_run=dry_run,
                      label=label)
    info = added.info
    click.echo(f"{info.file}: {info.kind}, {info.criteria} criteria, {edition_label(info.edition)}", err=True)
    roles = added.document.roles()
    for label, n in added.document.field_counts().items():
        click.echo(f"  「{label}」: {n} criteria" + (f" → {roles[label]}" if label in roles else ""), err=True)
    for w in info.warnings:
        click.echo(f"! {w.text('cli')}", err=True)
    if added.stored:
        click.echo(f"→ added as {info.id} in {store.path / info.id}", err=True)
        click.echo(NEW_SET, err=True)
    else:
        click.echo(f"(dry run: nothing added; it would be {info.id})", err=True)


@documents_group.command("list")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def documents_list(fmt: str) -> None:
    """Every document: the bundled one first, then those added (JSON: an array)."""
    store = DocumentStore()
    infos = store.documents()
    if fmt == "json":
        click.echo(json.dumps([i.to_dict() for i in infos], ensure_ascii=False, indent=1))
    else:
        for i in infos:
            mark = "  (bundled)" if i.bundled else ""
            click.echo(f"{i.id}  {i.kind}  {edition_label(i.edition)}  {i.criteria} criteria  {i.title}{mark}")
    for problem in store.problems():
        click.echo(f"! {problem}", err=True)


@documents_group.command("show")
@click.argument("doc_id")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def documents_show(doc_id: str, fmt: str) -> None:
    """One document: what it is, its warnings, and per field how many criteria it fills."""
    info, doc = DocumentStore().load(doc_id)
    counts = doc.field_counts()
    if fmt == "json":
        click.echo(json.dumps({**info.to_dict(), "field_counts": counts}, ensure_ascii=False, indent=1))
        return
    click.echo("\n".join(_describe(info, counts, doc.roles())))


def _describe(info: DocumentInfo, counts: dict[str, int], roles: dict[str, str]) -> list[str]:
    lines = [f"ID: {info.id}" + ("  (bundled)" if info.bundled else ""), f"タイトル: {info.title}",
             f"発行者: {info.publisher or '-'}", f"版: {edition_label(info.edition)}", f"日付: {info.date or '-'}",
             f"バージョン: {info.version or '-'}", f"略称: {info.short_label}", f"種類: {info.kind}", f"ファイル: {info.file} ({info.size:,} bytes, "
             f"sha256 {info.sha256})", f"追加日時: {info.added_at or '-'}", f"基準: {info.criteria}"]
    if info.id_column:
        lines.append(f"基準番号の列: {info.id_column}")
    lines.append("項目 (field: criteria with text):")
    lines += [f"  「{label}」: {n}" + (f" → {roles[label]}" if label in roles else "") for label, n in counts.items()]
    if info.warnings:
        lines.append("warnings:")
        lines += [f"  ! {w.text('cli')}" for w in info.warnings]
    return lines


@documents_group.command("remove")
@click.argument("doc_id")
def documents_remove(doc_id: str) -> None:
    """Remove an added document (its file and record); the bundled one stays."""
    info = DocumentStore().remove(doc_id)
    click.echo(f"{doc_id} removed" + (f" ({info.title}, {info.file})" if info else ""), err=True)
    click.echo(NEW_SET, err=True)
