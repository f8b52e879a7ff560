"""The answer library's store: one SQLite file of questions a person confirmed.

User data, not an index: nothing that rebuilds, cleans or repairs indexes touches it, it
lives outside the data directory (`default_path`), and a file kijun cannot read is
reported and left exactly as it is — never emptied or recreated. Its backup path is
`export` (JSONL, one entry a line) and `add` of that file (`search.library.jsonl`).

Why SQLite (stdlib `sqlite3`): one file a person can copy; one transaction per imported
file (all its rows or none); WAL, so searches read while an import writes; a schema
version (`PRAGMA user_version`) with ordered migrations; `PRAGMA quick_check` when first
opened. Every operation opens its own connection, so the store is safe to share across
threads and processes. A revision number, bumped by every write, tells readers (the
engine's recall of past answers) when to reload.
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from corpus.userfile import MAX_CELL_CHARS
from messages import Explained

ENV = "KIJUN_LIBRARY"
FILE_NAME = "library.sqlite3"

ANSWERED = "answered"
NOT_IN_DOCUMENT = "not_in_document"
VERDICTS = (ANSWERED, NOT_IN_DOCUMENT)
VERDICT_LABELS = {ANSWERED: "回答済み", NOT_IN_DOCUMENT: "該当なし"}
"""A confirmed entry's verdict: the document answers the question (with the criteria the person
confirmed), or it is not in this document (該当なし)."""

MAX_ANSWER_CHARS = MAX_CELL_CHARS  # Excel's limit for one cell, where an answer comes from
BUSY_TIMEOUT_S = 30.0  # a reader or writer waits this long for another writer's transaction

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE entries (
        id TEXT PRIMARY KEY,
        question TEXT NOT NULL,
        criteria TEXT NOT NULL,          -- JSON array of criterion IDs, in the order confirmed
        answer TEXT NOT NULL,
        verdict TEXT NOT NULL CHECK (verdict IN ('answered', 'not_in_document')),
        source_file TEXT NOT NULL,       -- the file's name, as imported: re-importing it replaces these
        source_sheet TEXT,
        source_row INTEGER,
        source_sha256 TEXT NOT NULL,
        imported_at TEXT NOT NULL
    );
    CREATE INDEX entries_by_source ON entries (source_file);
    CREATE TABLE state (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
    INSERT INTO state (key, value) VALUES ('revision', 0);
    """,
)
"""Schema version n is MIGRATIONS[:n] applied in order (`PRAGMA user_version` records n)."""


class LibraryError(Explained):
    """The answer library cannot do what was asked; the message says what to do."""

    code = "library_cannot_open"


class LibraryDamaged(LibraryError):
    """The library file exists but cannot be read as a kijun library. It is left untouched."""

    code = "library_damaged"


class UnknownEntry(LibraryError):
    """No entry has that ID."""

    code = "unknown_entry"


@dataclass(frozen=True)
class Source:
    """Where an entry came from: the file a person returned, the row it was on, and when."""

    file: str  # the file's name; re-importing a file of that name replaces its entries
    sheet: str | None  # None for CSV and JSONL
    row: int | None  # 1-based row (line of a JSONL file)
    sha256: str  # of the imported file's bytes
    imported_at: str  # ISO 8601, local time with its offset

    @property
    def label(self) -> str:
        """How a person refers to it: 委託先チェックシート.xlsx 12行目, or with its sheet
        委託先チェックシート.xlsx「チェックシート」12行目."""
        sheet = f"「{self.sheet}」" if self.sheet else " "
        return f"{self.file}{sheet}{self.row}行目" if self.row is not None else self.file


@dataclass(frozen=True)
class Entry:
    """One confirmed question: what was asked, the criteria a person confirmed (in their order),
    the answer they sent, and whether the document answers it at all."""

    id: str
    question: str
    criteria: tuple[str, ...]
    answer: str
    verdict: str  # ANSWERED | NOT_IN_DOCUMENT
    source: Source

    @property
    def answered(self) -> bool:
        return self.verdict == ANSWERED

    def to_dict(self) -> dict[str, Any]:
        """The entry as `export` writes it (and `add` reads it back)."""
        return {"id": self.id, "question": self.question, "criteria": list(self.criteria), "answer": self.answer,
                "verdict": self.verdict, "source": asdict(self.source)}


def entry_id(file: str, sheet: str | None, row: int | None) -> str:
    """A stable ID for the entry at one place of one file: re-importing the file keeps it."""
    key = json.dumps([file, sheet, row], ensure_ascii=False)
    return "L" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


def now() -> str:
    """The import time as entries record it."""
    return datetime.now().astimezone().isoformat(timespec="seconds")


def data_home() -> Path:
    """kijun's folder in the user's data directory ($XDG_DATA_HOME or ~/.local/share)/kijun: where user data
    lives (the answer library, the documents a team added), outside the project's ./data."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "kijun"


def default_path() -> Path:
    """$KIJUN_LIBRARY, else the user's data directory ($XDG_DATA_HOME or ~/.local/share)/kijun:
    outside the project's ./data, which `make clean` and `kijun index --rebuild` may delete."""
    explicit = os.environ.get(ENV)
    if explicit:
        return Path(explicit).expanduser()
    return data_home() / FILE_NAME


def check_entry(e: Entry) -> None:
    """An entry the store accepts; ValueError naming what is wrong (importers check first)."""
    if e.verdict not in VERDICTS:
        raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}, got {e.verdict!r}")
    if not e.question.strip():
        raise ValueError("the question is empty")
    if e.verdict == ANSWERED and not e.criteria:
        raise ValueError("an answered entry needs at least one confirmed criterion")
    if e.verdict == NOT_IN_DOCUMENT and e.criteria:
        raise ValueError("an entry marked 該当なし (not in this document) has no criteria")


class Library:
    """The library at one path. Reading a library that does not exist yet gives no entries
    (the file is made by the first write)."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        self._checked = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Library({str(self.path)!r})"

    @property
    def exists(self) -> bool:
        return self.path.exists()

    # ------------------------------------------------------------ reading

    def stamp(self) -> tuple[tuple[int, int], ...]:
        """The file's and its write-ahead log's (size, modification time): a commit changes one of
        them, so a reader asks `revision` only when this changed (two stat calls, no SQL)."""
        out = []
        for path in (self.path, self.path.with_name(self.path.name + "-wal")):
            try:
                s = path.stat()
                out.append((s.st_size, s.st_mtime_ns))
            except FileNotFoundError:
                out.append((-1, 0))
        return tuple(out)

    def revision(self) -> int:
        """Bumped by every write: a reader reloads when it changes (0: no library yet)."""
        if not self.exists:
            return 0
        with self._connect() as db:
            return int(db.execute("SELECT value FROM state WHERE key = 'revision'").fetchone()[0])

    def entries(self) -> list[Entry]:
        """Every entry, by source file (most recently imported first), then by row."""
        if not self.exists:
            return []
        with self._connect() as db:
            rows = db.execute("SELECT * FROM entries ORDER BY imported_at DESC, source_file, source_sheet, "
                              "source_row, id").fetchall()
        return [_entry(r) for r in rows]

    def get(self, entry_id: str) -> Entry:
        if self.exists:
            with self._connect() as db:
                row = db.execute("SELECT * FROM entries WHERE id = ?", (entry_id,)).fetchone()
            if row is not None:
                return _entry(row)
        raise UnknownEntry(ids=[entry_id], path=self.path)

    def __len__(self) -> int:
        if not self.exists:
            return 0
        with self._connect() as db:
            return int(db.execute("SELECT count(*) FROM entries").fetchone()[0])

    # ------------------------------------------------------------ writing

    def replace(self, by_file: Mapping[str, Sequence[Entry]]) -> dict[str, tuple[int, int]]:
        """Make each file's entries exactly these, in one transaction for all of them: an import
        that fails part-way leaves the library as it was. Returns, per file, (entries now, entries
        it had before)."""
        seen: set[str] = set()
        for entries in by_file.values():
            for e in entries:
                check_entry(e)
                if e.id in seen:
                    raise LibraryError("duplicate_entry", id=e.id)
                seen.add(e.id)
        out: dict[str, tuple[int, int]] = {}
        with self._writing() as db:
            for file, entries in by_file.items():
                before = db.execute("SELECT count(*) FROM entries WHERE source_file = ?", (file,)).fetchone()[0]
                db.execute("DELETE FROM entries WHERE source_file = ?", (file,))
                ids = [e.id for e in entries]
                if ids:
                    db.execute(f"DELETE FROM entries WHERE id IN ({','.join('?' * len(ids))})", ids)
                db.executemany("INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [_row(e) for e in entries])
                out[file] = (len(entries), int(before))
        return out

    def remove(self, ids: Iterable[str] = (), *, source_file: str | None = None) -> int:
        """Delete entries by ID, or every entry of one source file; how many went. An unknown ID
        is an error (nothing is deleted)."""
        ids = list(dict.fromkeys(ids))
        if not self.exists:  # nothing to remove, and no file made for it
            if ids:
                raise UnknownEntry("unknown_entry_not_removed", ids=ids, path=self.path)
            return 0
        with self._writing() as db:
            missing = [i for i in ids if db.execute("SELECT 1 FROM entries WHERE id = ?", (i,)).fetchone() is None]
            if missing:
                raise UnknownEntry("unknown_entry_not_removed", ids=missing, path=self.path)
            gone = db.executemany("DELETE FROM entries WHERE id = ?", [(i,) for i in ids]).rowcount if ids else 0
            if source_file is not None:
                gone += db.execute("DELETE FROM entries WHERE source_file = ?", (source_file,)).rowcount
        return int(gone)

    # ------------------------------------------------------------ connections

    @contextmanager
    def _connect(self, *, create: bool = False) -> Iterator[sqlite3.Connection]:
        """A connection of its own (any thread), checked once per process; never creates the file
        unless `create`."""
        if not create and not self.exists:
            raise LibraryError("library_missing", path=self.path)
        try:
            if create:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path if create else self.path.resolve().as_uri() + "?mode=rw", uri=not create,
                                 timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except sqlite3.Error as e:
            raise self._unreadable(e) from None
        except OSError as e:
            raise LibraryError(path=self.path, reason=e.strerror or str(e)) from None
        try:
            db.row_factory = sqlite3.Row
            try:
                self._prepare(db)
            except sqlite3.DatabaseError as e:
                raise self._unreadable(e) from None
            yield db
        except sqlite3.OperationalError as e:
            if "locked" in str(e) or "busy" in str(e):
                raise LibraryError("library_busy", path=self.path, detail=str(e)) from None
            raise self._unreadable(e) from None
        except (sqlite3.IntegrityError, sqlite3.ProgrammingError):
            raise
        except sqlite3.DatabaseError as e:  # found damaged while reading it: "database disk image is malformed"
            raise self._unreadable(e) from None
        finally:
            db.close()

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE … COMMIT, rolled back on any error), revision bumped."""
        with self._connect(create=True) as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("UPDATE state SET value = value + 1 WHERE key = 'revision'")
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def _prepare(self, db: sqlite3.Connection) -> None:
        """WAL, the schema brought up to date, and (once per process) an integrity check."""
        with self._lock:
            if self._checked:
                return
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            if version > len(MIGRATIONS):
                raise LibraryError("library_newer", path=self.path, version=version)
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if version == 0 and tables:
                raise LibraryDamaged("library_foreign", path=self.path, tables=sorted(tables))
            check = db.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise LibraryDamaged(path=self.path, detail=check)
            if version < len(MIGRATIONS):
                db.execute("PRAGMA journal_mode = WAL")
                db.execute("BEGIN IMMEDIATE")
                try:
                    for sql in MIGRATIONS[version:]:
                        for statement in sql.split(";"):
                            if statement.strip():
                                db.execute(statement)
                    db.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
                    db.execute("COMMIT")
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
            self._checked = True

    def _unreadable(self, e: Exception) -> LibraryDamaged:
        return LibraryDamaged(path=self.path, detail=str(e))


def _row(e: Entry) -> tuple[Any, ...]:
    s = e.source
    return (e.id, e.question, json.dumps(list(e.criteria), ensure_ascii=False), e.answer, e.verdict, s.file, s.sheet,
            s.row, s.sha256, s.imported_at)


def _entry(r: sqlite3.Row) -> Entry:
    return Entry(r["id"], r["question"], tuple(json.loads(r["criteria"])), r["answer"], r["verdict"],
                 Source(r["source_file"], r["source_sheet"], r["source_row"], r["source_sha256"], r["imported_at"]))
