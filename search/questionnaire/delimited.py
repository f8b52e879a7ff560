"""CSV/TSV check sheets: records parsed with their original text, so a record can be edited
without rewriting the rest of the file (its encoding, delimiter and line endings kept).

Every text cell written is text, never a formula: text starting with = + - @ tab or CR (or
their full-width forms ＝ ＋ － ＠) gets a leading quote, so a spreadsheet shows it rather than runs it.
"""
from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corpus.userfile import FileRefused, decode_text
from messages import Message
from search.questionnaire.checksheet import (FORMULA_START, HEADER_SCAN_ROWS, MAX_CELLS, MAX_COLUMNS, UnreadableFile,
                                             cell_value, sheet_error, too_many_cells, too_wide)


@dataclass(frozen=True)
class TextFile:
    encoding: str
    delimiter: str
    line_ending: str
    records: list[list[str]]  # parsed fields of each record
    raw: list[str]  # each record's original text, line ending included


def parse_text(data: bytes, filename: str) -> TextFile:
    text, encoding = _decode(data, filename)
    lines = re.findall(r"[^\r\n]*(?:\r\n|\n|\r)|[^\r\n]+$", text)
    m = re.search(r"\r\n|\n|\r", text)
    line_ending = m.group(0) if m else "\r\n"
    delimiter = "\t" if Path(filename).suffix.lower() == ".tsv" else _sniff_delimiter(lines)
    records: list[list[str]] = []
    raw: list[str] = []
    consumed: list[str] = []

    def feed() -> Iterator[str]:
        for line in lines:
            consumed.append(line)
            yield line

    reader = csv.reader(feed(), delimiter=delimiter)
    cells = 0
    try:
        for fields in reader:
            if len(fields) > MAX_COLUMNS:
                raise too_wide(filename, Message("where_line", {"line": reader.line_num}), len(fields))
            cells += max(len(fields), 1)
            if cells > MAX_CELLS:
                raise too_many_cells(filename)
            records.append(fields)
            raw.append("".join(consumed))
            consumed.clear()
    except csv.Error as e:
        raise UnreadableFile("csv_malformed", filename=filename, line=reader.line_num, reason=str(e)) from None
    if consumed:  # an unterminated quoted field at the end
        raise UnreadableFile("csv_unclosed_quote", filename=filename)
    return TextFile(encoding, delimiter, line_ending, records, raw)


def _decode(data: bytes, filename: str) -> tuple[str, str]:
    try:
        return decode_text(data, filename)
    except FileRefused as e:
        raise sheet_error(e) from None


def _sniff_delimiter(lines: Sequence[str]) -> str:
    sample = "".join(lines[:HEADER_SCAN_ROWS + 20])
    return "\t" if sample.count("\t") > sample.count(",") else ","


def safe_csv_text(value: Any) -> str:
    """A CSV cell that a spreadsheet will never run as a formula."""
    if value is None:
        return ""
    text = cell_value(value)
    text = str(text) if not isinstance(text, str) else text
    if unicodedata.normalize("NFKC", text[:1]).startswith(FORMULA_START):  # ＝ and ＋ start formulas too
        return "'" + text
    return text


def unguarded(text: str) -> str:
    """A cell's text without the quote `safe_csv_text` put before a formula-like start: what was meant."""
    if text.startswith("'") and unicodedata.normalize("NFKC", text[1:2]).startswith(FORMULA_START):
        return text[1:]
    return text



def edit_record(tf: TextFile, r: int, cells: Mapping[int, Any]) -> str:
    """Record `r` with `cells` (1-based column -> value) set: the original text plus appended cells
    when all of them lie past its end, else the record written again."""
    original = tf.raw[r - 1]
    fields = list(tf.records[r - 1])
    if not cells:
        return original
    ending = re.search(r"(\r\n|\n|\r)?$", original).group(0)  # type: ignore[union-attr]
    width = max(len(fields), max(cells))
    extended = fields + [""] * (width - len(fields))
    for c, value in cells.items():
        extended[c - 1] = safe_csv_text(value)
    buf = io.StringIO()
    # the terminator must hold CR and LF, or a cell with a line break in it would not be quoted
    writer = csv.writer(buf, delimiter=tf.delimiter, lineterminator="\r\n")
    if fields and min(cells) > len(fields):
        writer.writerow(extended[len(fields):])
        return original[:len(original) - len(ending)] + tf.delimiter + buf.getvalue()[:-2] + ending
    writer.writerow(extended)
    return buf.getvalue()[:-2] + ending

