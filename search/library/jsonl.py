"""The answer library as JSONL: the backup `kijun library export` writes and `add` reads back,
and graded query sets in the dev-set format (`eval/dev.jsonl`).

Two shapes, told apart by each line's keys:

* an exported entry — ``{"id", "question", "criteria", "answer", "verdict", "source": {"file",
  "sheet", "row", "sha256", "imported_at"}}``: read back exactly as it was (same ID, same
  source), so export → add restores the library;
* a graded query — ``{"query", "relevant": {"実26": 2, "実23": 1}, "answerable": false, …}``:
  the criteria graded above 0, best grade first; ``answerable: false`` (or nothing graded) is
  該当なし. Its source is this file, its row the line number.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from corpus.vocabulary import normalize_id
from messages import Explained
from search.query import MAX_QUESTION_CHARS
from search.library.store import (ANSWERED, MAX_ANSWER_CHARS, NOT_IN_DOCUMENT, Entry, Incoming,
                                  Source, check_entry, entry_id, fingerprint, now)

MAX_FILE_BYTES = 64 * 1024 * 1024  # a backup of ~100,000 entries
MAX_ENTRIES = 200_000
MAX_LINE_CHARS = 256 * 1024  # an entry at its limits (a 32,767-character answer, \u-escaped) is under 210k
MAX_ROW = 1_000_000_000  # a row (or line) number: Excel has 1,048,576 rows


class LibraryFileError(Explained, ValueError):
    """A JSONL file that cannot be added; the message names the line and what to fix."""

    code = "jsonl_bad_line"


def write(entries: Iterable[Entry], out: IO[str]) -> int:
    """One JSON object per line (UTF-8, not ASCII-escaped); returns how many."""
    n = 0
    for e in entries:
        out.write(json.dumps(e.to_dict(), ensure_ascii=False) + "\n")
        n += 1
    return n


def read(path: Path, *, name: str | None = None) -> list[Entry]:
    """Every entry of a JSONL file (either shape); LibraryFileError on the first bad line, so a
    file is added whole or not at all."""
    return _read(path, name or path.name)[0]


def imports(path: Path, *, name: str | None = None) -> list[Incoming]:
    """A JSONL file as the library adds it: the exported entries of each file they came from (an
    import each, restored with its IDs), and the graded queries as an import of this file."""
    name = name or path.name
    entries, sha = _read(path, name)
    groups: dict[tuple[str, str], list[Entry]] = {}
    for e in entries:
        groups.setdefault((e.source.file, e.source.sha256), []).append(e)
    out = []
    for (file, file_sha), group in groups.items():
        graded = (file, file_sha) == (name, sha)
        out.append(Incoming(file, file_sha, tuple(group), frozenset(fingerprint(e.question) for e in group)
                            if graded else frozenset(), restore=not graded))
    return out


def _read(path: Path, name: str) -> tuple[list[Entry], str]:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise LibraryFileError("jsonl_too_large", filename=name, size_mb=size / 1024 / 1024,
                                   limit_mb=MAX_FILE_BYTES // 1024 // 1024)
        data = path.read_bytes()
    except OSError as e:
        raise LibraryFileError("cannot_read_path", path=path, reason=e.strerror or e) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise LibraryFileError("jsonl_not_utf8", filename=name, byte=e.start) from None
    sha = hashlib.sha256(data).hexdigest()
    imported_at = now()
    out = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if len(out) >= MAX_ENTRIES:
            raise LibraryFileError("jsonl_too_many", filename=name, limit=MAX_ENTRIES)
        out.append(_entry(line, lineno, name, sha, imported_at))
    if not out:
        raise LibraryFileError("jsonl_empty", filename=name)
    return out, sha


def _entry(line: str, lineno: int, name: str, sha: str, imported_at: str) -> Entry:
    where = {"filename": name, "line": lineno}
    if len(line) > MAX_LINE_CHARS:
        raise LibraryFileError("jsonl_line_too_long", **where, length=len(line), limit=MAX_LINE_CHARS)
    try:
        obj = json.loads(line)
        json.dumps(obj, ensure_ascii=False).encode("utf-8")  # a lone surrogate (\ud800) is not text
    except json.JSONDecodeError as e:
        raise LibraryFileError("jsonl_not_json", **where, reason=e.msg, column=e.colno) from None
    except RecursionError:
        raise LibraryFileError("jsonl_too_deep", **where) from None
    except UnicodeEncodeError as e:
        raise LibraryFileError("jsonl_not_text", **where, char=f"\\u{ord(e.object[e.start]):04x}") from None
    if not isinstance(obj, dict):
        raise LibraryFileError("jsonl_not_object", **where, kind=type(obj).__name__)
    try:
        entry = _exported(obj) if "question" in obj else _graded(obj, name, lineno, sha, imported_at)
        check_entry(entry)
    except (KeyError, TypeError, ValueError) as e:
        what = f"missing {e}" if isinstance(e, KeyError) else str(e)
        raise LibraryFileError(**where, problem=what) from None
    return entry


def _exported(obj: dict[str, Any]) -> Entry:
    s = obj["source"]
    if not isinstance(s, dict):
        raise TypeError("source must be an object")
    row = s.get("row")
    if row is not None and (isinstance(row, bool) or not isinstance(row, int) or not 1 <= row <= MAX_ROW):
        raise ValueError(f"source.row must be a row number from 1 to {MAX_ROW:,}, or null")
    return Entry(_text(obj, "id", 64), _text(obj, "question", MAX_QUESTION_CHARS), _criteria(obj["criteria"]),
                 _text(obj, "answer", MAX_ANSWER_CHARS, empty=True), obj["verdict"],  # checked by check_entry
                 Source(_text(s, "file", 1000), _optional(s.get("sheet")), row, _text(s, "sha256", 64),
                        _text(s, "imported_at", 64)), _unread(obj.get("unread", [])))


def _graded(obj: dict[str, Any], name: str, lineno: int, sha: str, imported_at: str) -> Entry:
    relevant = obj["relevant"]
    if not isinstance(relevant, dict) or any(isinstance(g, bool) or not isinstance(g, int) for g in relevant.values()):
        raise TypeError('relevant must map criterion IDs to grades, e.g. {"実26": 2}')
    graded = [cid for cid, g in sorted(relevant.items(), key=lambda kv: -kv[1]) if g > 0]
    answered = bool(graded) and obj.get("answerable", True) is not False
    return Entry(entry_id(name, None, lineno), _text(obj, "query", MAX_QUESTION_CHARS),
                 _criteria(graded) if answered else (), "", ANSWERED if answered else NOT_IN_DOCUMENT,
                 Source(name, None, lineno, sha, imported_at))


def _text(obj: dict[str, Any], key: str, limit: int, *, empty: bool = False) -> str:
    value = obj[key]
    if not isinstance(value, str) or (not empty and not value.strip()):
        raise TypeError(f"{key} must be a non-empty string")
    if len(value) > limit:
        raise ValueError(f"{key} is {len(value):,} characters; at most {limit:,}")
    return value


def _optional(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise TypeError("source.sheet must be a string or null")
    if value is not None and len(value) > 1000:
        raise ValueError(f"source.sheet is {len(value):,} characters; at most 1,000")
    return value


def _unread(values: Any) -> tuple[str, ...]:
    """What of the entry's criteria cell was not read as criteria (checked further by check_entry)."""
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise TypeError("unread must be a list of strings")
    return tuple(values)


def _criteria(values: Any) -> tuple[str, ...]:
    if not isinstance(values, list):
        raise TypeError("criteria must be a list of IDs such as 実26")
    out = []
    for v in values:
        cid = normalize_id(v) if isinstance(v, str) else None
        if cid is None:
            raise ValueError(f"{v!r} is not a criterion ID (IDs look like 実26, 監3, 統20)")
        out.append(cid)
    return tuple(dict.fromkeys(out))
