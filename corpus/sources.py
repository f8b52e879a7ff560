"""A file a team adds as a document, read whole: its kind and format, the reader for them, its edition, and
what to tell the person adding it (the IDs its edition lacks, rows joined, links to IDs it does not have).

One call, one file, one transaction: a bad row or line raises `DocumentError` naming it and nothing is kept;
otherwise the `UserDocument` comes back with its warnings, for the document store to keep.

Kinds (`corpus.records.KINDS`): a **table** keyed by criterion ID (CSV/TSV, XLSX, a Markdown pipe table,
JSONL: `corpus.tables`), a **text** extraction laid out like the bundled one (.txt, through `corpus.parser`),
or a **title list** (`corpus.titles`: any of the table formats, or plain lines). Left to kijun, a .txt is a
text extraction when it has the extraction's row headers (「実26 ◯ ◯」), a title list when its lines are
「実26 パスワードの管理」, else a table; every other format is a table.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from corpus import parser
from corpus.editions import Editions, bundled_edition, editions_in_text, normalize_edition
from corpus.grid import CSV, JSONL, MARKDOWN, PLAIN, XLSX, Grid, check_size, csv_grid, format_of, markdown_grids, \
    text_of, where, xlsx_grids
from corpus.records import KINDS, ROLE_HEADERS, TABLE, TEXT, TITLES, DocumentError, UserDocument, criterion_texts
from corpus.tables import Options, cell_ids, read_jsonl, read_table
from corpus.titles import is_title_list, read_lines
from corpus.vocabulary import ids_in
from messages import Message


def read_document(data: bytes, filename: str, document_id: str, *, kind: str | None = None,
                  id_column: str | None = None, fields: Mapping[str, str] | None = None, edition: str | None = None,
                  editions: Editions | None = None) -> UserDocument:
    """The document in `data` (named `filename`), its records knowing `document_id`. `kind` None lets kijun
    tell; `edition` None takes the one the file itself names (「FISC 安全対策基準（第 10 版）」), if it names one.
    With `editions`, the IDs it cites are checked against its edition's."""
    check_size(len(data), filename)
    if kind is not None and kind not in KINDS:
        raise DocumentError("document_unknown_kind", kind=kind, kinds=list(KINDS))
    fmt = format_of(data, filename)
    options = Options(id_column, dict(fields or {}), kind or TABLE)
    if fmt == JSONL:
        doc, preamble = read_jsonl(text_of(data, filename), filename, document_id, options), ""
    elif fmt == XLSX:
        grids = xlsx_grids(data, filename)
        doc, preamble = read_table(grids, filename, document_id, options), _preamble(grids)
    else:
        doc, preamble = _read_text(text_of(data, filename), fmt, filename, document_id, options, kind)
    if not doc.records:
        raise DocumentError("document_empty", filename=filename)
    warns = list(doc.warnings)
    given = normalize_edition(edition)
    if given is None:
        found = [doc.edition] if doc.edition else editions_in_text(preamble)
        if len(found) == 1:
            given = found[0]
            warns.append(Message("document_edition_from_file", {"edition": f"第{given}版"}))
        elif found:
            warns.append(Message("document_editions_in_file", {"editions": [f"第{e}版" for e in found]}))
    if editions is not None:
        checked = editions.check(given, cited(doc), defines=doc.kind == TITLES)
        warns += [m for m in checked if not (m.code == "document_no_edition" and warns and
                                             warns[-1].code == "document_editions_in_file")]
    return UserDocument(doc.id, doc.kind, doc.records, doc.labels, given, tuple(warns))


def _read_text(text: str, fmt: str, filename: str, document_id: str, options: Options, kind: str | None
               ) -> tuple[UserDocument, str]:
    """A text file's document, and the words around its table (where it may name its edition)."""
    if kind == TEXT or (kind is None and fmt == PLAIN and _is_extraction(text)):
        if fmt != PLAIN:
            raise DocumentError("document_text_kind", filename=filename)
        return read_extraction(text, filename, document_id)
    if fmt == CSV:
        grids = [csv_grid(text, filename)]
        return read_table(grids, filename, document_id, options), _preamble(grids)
    grids, outside = markdown_grids(text, filename)
    if grids and any(cell_ids(g.cell(r, c)) for g in grids for r in range(len(g.rows)) for c in range(g.width)):
        return read_table(grids, filename, document_id, options), outside
    if fmt == PLAIN and kind in (None, TITLES) and is_title_list(text):
        return read_lines(text, filename, document_id)
    if fmt == MARKDOWN:
        raise DocumentError("document_md_no_table", filename=filename)
    grids = [csv_grid(text, filename)]  # a .txt holding a tab- or comma-separated table
    return read_table(grids, filename, document_id, options), _preamble(grids)


def _is_extraction(text: str) -> bool:
    try:
        doc, _ = parser.parse_any(text)
    except parser.CorpusFormatError:
        return False
    return bool(doc.criteria)


def read_extraction(text: str, filename: str, document_id: str) -> tuple[UserDocument, str]:
    """A text extraction laid out like the bundled one, through the same parser: each row's AWS column, customer
    column and references, labelled as the bundled document labels them. A row header with nothing after it,
    or a criterion twice, refuses the file naming the line."""
    try:
        doc, empty = parser.parse_any(text)
    except parser.CorpusFormatError:
        raise DocumentError("empty_file", filename=filename) from None
    if not doc.criteria:
        raise DocumentError("document_text_no_rows", filename=filename)
    if empty:
        raise DocumentError("document_text_empty_row", filename=filename, where=where(empty[0], line=True))
    seen: dict[str, int] = {}
    for c in doc.criteria:
        if c.id in seen:
            raise DocumentError("document_text_twice", filename=filename, where=where(c.line_start, line=True),
                                id=c.id, first=seen[c.id])
        seen[c.id] = c.line_start
    return UserDocument(document_id, TEXT, criterion_texts(doc, document_id), tuple(ROLE_HEADERS.values()),
                        bundled_edition(doc).edition), ""  # the edition its change history names (第9版…の反映)


def _preamble(grids: Sequence[Grid]) -> str:
    """The cells above each table's first ID: a title row may say which edition it answers."""
    out = []
    for g in grids:
        for row in g.rows:
            if any(cell_ids(v) for v in row):
                break
            out.extend(v for v in row if v)
    return "\n".join(out)


def cited(doc: UserDocument) -> dict[str, int | None]:
    """Every ID the document names — its rows, the criteria they link to, IDs written in its text — with the
    first row or line naming it."""
    out: dict[str, int | None] = {}
    for r in doc.records:
        out.setdefault(r.id, r.lines[0] if r.lines else None)
    for r in doc.records:
        line = r.lines[0] if r.lines else None
        for f in r.fields:
            for cid in ([f.same_as] if f.same_as else []) + ids_in(f.text):
                out.setdefault(cid, line)
    return out

