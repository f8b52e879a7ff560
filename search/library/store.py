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

A library this user cannot write (the file or its folder read-only) opens read-only: searches
and `export` read it, and a write says it cannot be written — it is not "damaged".

An import is one file's entries. A file replaces an earlier import only when it is the same
sheet: the same file name and mostly the same questions (`SAME_SHEET_SHARE`); otherwise it is
kept beside it (`Library.add`, `Library.plan`).
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace as replaced
from datetime import datetime
from pathlib import Path
from typing import Any

from corpus.userfile import MAX_CELL_CHARS
from messages import Explained, Message, excerpt

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
MAX_VARIABLES = 500  # bound parameters per statement: under SQLite's stock limit (999 before 3.32, 32,766 since)
MAX_IDS_LISTED = 5  # unknown IDs a message names (the rest are counted)
MAX_UNREAD_PARTS = 20  # parts of a criteria cell not read as criteria, kept with an entry as its warning
MAX_UNREAD_CHARS = 200  # of each such part

SAME_SHEET_SHARE = 0.6
"""A file replaces an earlier import of the same name only when at least this share of their questions
(`question_key`) is shared: of the larger of the two files' question rows, or — for an import whose
rows were not recorded (made before they were, or restored from an export) — of its stored entries."""

SAME_SHEET = "same_sheet"  # replace an earlier import of the same name that is the same sheet (the default)
REPLACE = "replace"  # replace every earlier import of the same name
KEEP_BOTH = "keep_both"  # replace none (a file with the very same bytes is still the same file)
ON_SAME_NAME = (SAME_SHEET, REPLACE, KEEP_BOTH)

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
    # 2: what of a 該当基準 cell was not read as criteria, kept as the entry's warning; and each import's
    # question rows (confirmed or skipped), to tell the same sheet corrected from another of the same name
    """
    ALTER TABLE entries ADD COLUMN unread TEXT NOT NULL DEFAULT '[]';
    CREATE TABLE sheets (
        source_file TEXT NOT NULL,
        source_sha256 TEXT NOT NULL,
        questions TEXT NOT NULL,         -- JSON array of fingerprint() of every question row of the file
        PRIMARY KEY (source_file, source_sha256)
    );
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


class LibraryReadOnly(LibraryError):
    """The library cannot be written by this user (the file or its folder is read-only); it still reads."""

    code = "library_read_only"


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
    unread: tuple[str, ...] = ()  # what of the 該当基準 cell was not read as criteria (notes, counts): a warning

    @property
    def answered(self) -> bool:
        return self.verdict == ANSWERED

    def to_dict(self) -> dict[str, Any]:
        """The entry as `export` writes it (and `add` reads it back)."""
        return {"id": self.id, "question": self.question, "criteria": list(self.criteria), "answer": self.answer,
                "verdict": self.verdict, "source": asdict(self.source), "unread": list(self.unread)}


def entry_id(file: str, sheet: str | None, row: int | None, salt: str | None = None) -> str:
    """A stable ID for the entry at one place of one file: re-importing the file keeps it. A file kept
    beside another of the same name salts it with its own bytes' hash, so the two never collide."""
    key = json.dumps([file, sheet, row] if salt is None else [file, sheet, row, salt], ensure_ascii=False)
    return "L" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


def question_key(text: str) -> str:
    """A question as compared for identity: NFKC, runs of spaces collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def fingerprint(question: str) -> str:
    """A question's `question_key`, hashed short: what an import records of each question row."""
    return hashlib.sha256(question_key(question).encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Imported:
    """An earlier import: the entries that share a file name and the file's bytes (its sha256)."""

    file: str
    sha256: str
    imported_at: str
    rows: int  # entries it holds
    questions: frozenset[str]  # fingerprints of its question rows (only its entries', when not `recorded`)
    recorded: bool  # `questions` holds every question row of the file, confirmed or skipped

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "imported_at": self.imported_at, "rows": self.rows, "sha256": self.sha256}

    def described(self, share: float) -> dict[str, Any]:
        """The parameters of a message about it: its file, when it was imported, its entries, the share shared."""
        return {"file": self.file, "imported_at": self.imported_at[:16].replace("T", " "), "rows": self.rows,
                "shared": f"{share:.0%}"}


@dataclass(frozen=True)
class Incoming:
    """One file to add: its entries, and the fingerprints of all its question rows (skipped ones too)."""

    file: str
    sha256: str
    entries: tuple[Entry, ...]
    questions: frozenset[str] = frozenset()  # empty: only the entries' questions are known
    restore: bool = False  # entries of an export: their IDs kept, and only the very same file replaced


@dataclass(frozen=True)
class Plan:
    """What adding one file does: the earlier imports of its name it replaces, and those kept beside it,
    each with the share of questions they have in common with it."""

    file: str
    entries: int
    replaces: tuple[tuple[Imported, float], ...] = ()
    beside: tuple[tuple[Imported, float], ...] = ()
    restore: bool = False  # an export restored: what it keeps beside is no one's choice

    @property
    def replaced_rows(self) -> int:
        return sum(i.rows for i, _ in self.replaces)

    def to_dict(self) -> dict[str, Any]:
        return {"replaced_imports": [i.to_dict() | {"shared": round(s, 3)} for i, s in self.replaces],
                "kept_beside": [i.to_dict() | {"shared": round(s, 3)} for i, s in self.beside]}

    def messages(self) -> list[Message]:
        """What adding the file does to the earlier imports of its name, one message each."""
        return [Message("import_replaces", i.described(s)) for i, s in self.replaces] + \
            [Message("import_beside", i.described(s)) for i, s in (() if self.restore else self.beside)]


def shared(incoming: Incoming, earlier: Imported) -> float:
    """The share of questions a file and an earlier import of the same name have in common (0..1)."""
    new = incoming.questions or frozenset(fingerprint(e.question) for e in incoming.entries)
    common = len(new & earlier.questions)
    whole = max(len(new), len(earlier.questions)) if earlier.recorded else len(earlier.questions)
    return common / whole if whole else 0.0


def decide(incoming: Incoming, earlier: Sequence[Imported], on_same_name: str = SAME_SHEET) -> Plan:
    """Which earlier imports of the file's name it replaces: the very same file always (the same bytes);
    with SAME_SHEET (the default) any sharing at least SAME_SHEET_SHARE of their questions; with REPLACE
    all of them; with KEEP_BOTH — or for an export being restored — no other."""
    if on_same_name not in ON_SAME_NAME:
        raise ValueError(f"on_same_name must be one of {', '.join(ON_SAME_NAME)}, got {on_same_name!r}")
    replaces, beside = [], []
    for imp in earlier:
        share = shared(incoming, imp)
        same = imp.sha256 == incoming.sha256 or (not incoming.restore and (
            on_same_name == REPLACE or (on_same_name == SAME_SHEET and share >= SAME_SHEET_SHARE)))
        (replaces if same else beside).append((imp, share))
    return Plan(incoming.file, len(incoming.entries), tuple(replaces), tuple(beside), incoming.restore)


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
    if len(e.unread) > MAX_UNREAD_PARTS or any(not isinstance(u, str) or len(u) > MAX_UNREAD_CHARS
                                               for u in e.unread):
        raise ValueError(f"unread must be at most {MAX_UNREAD_PARTS} strings of at most {MAX_UNREAD_CHARS} characters")


class Library:
    """The library at one path. Reading a library that does not exist yet gives no entries
    (the file is made by the first write)."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        self._checked = False
        self._version = len(MIGRATIONS)  # the schema of the file as opened (older only when read-only)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Library({str(self.path)!r})"

    @property
    def exists(self) -> bool:
        return self.path.exists()

    @property
    def writable(self) -> bool:
        """Whether this user may write the file and its folder (SQLite writes its journal beside it)."""
        return os.access(self.path, os.W_OK) and os.access(self.path.parent, os.W_OK)

    @property
    def named(self) -> Message:
        """How messages name this library: with its path on the command line, without it on the web."""
        return Message("answer_library", {"path": str(self.path)})

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
        raise UnknownEntry(ids=_listed([entry_id]), library=self.named)

    def imports(self, file: str) -> list[Imported]:
        """The earlier imports of a file name, oldest first."""
        if not self.exists:
            return []
        with self._connect() as db:
            return self._imports(db, file)

    def plan(self, incoming: Incoming, on_same_name: str = SAME_SHEET) -> Plan:
        """What `add` would do with one file now (nothing is written)."""
        return decide(incoming, self.imports(incoming.file), on_same_name)

    def __len__(self) -> int:
        if not self.exists:
            return 0
        with self._connect() as db:
            return int(db.execute("SELECT count(*) FROM entries").fetchone()[0])

    # ------------------------------------------------------------ writing

    def add(self, incoming: Sequence[Incoming], on_same_name: str = SAME_SHEET) -> list[Plan]:
        """Add files, in one transaction for all of them (an import that fails part-way leaves the
        library as it was): each replaces the earlier imports of its name that `decide` says are the
        same sheet, decided inside the transaction, and is kept beside the others — its entries' IDs
        then salted with its bytes' hash, so they never take another import's place."""
        _check_unique(e for i in incoming for e in i.entries)
        plans = []
        with self._writing() as db:
            for inc in incoming:
                plan = decide(inc, self._imports(db, inc.file), on_same_name)
                for imp, _ in plan.replaces:
                    db.execute("DELETE FROM entries WHERE source_file = ? AND source_sha256 = ?", (imp.file, imp.sha256))
                    db.execute("DELETE FROM sheets WHERE source_file = ? AND source_sha256 = ?", (imp.file, imp.sha256))
                salt = inc.sha256[:16] if plan.beside else None
                entries = list(inc.entries) if inc.restore else [
                    replaced(e, id=entry_id(e.source.file, e.source.sheet, e.source.row, salt)) for e in inc.entries]
                _check_unique(entries)
                self._insert(db, entries)
                if inc.questions and entries:
                    db.execute("INSERT OR REPLACE INTO sheets VALUES (?, ?, ?)",
                               (inc.file, inc.sha256, json.dumps(sorted(inc.questions))))
                plans.append(plan)
        return plans

    def replace(self, by_file: Mapping[str, Sequence[Entry]]) -> dict[str, tuple[int, int]]:
        """Make each file name's entries exactly these, whatever imports of that name there were, in
        one transaction for all of them. Returns, per file, (entries now, entries it had before)."""
        _check_unique(e for entries in by_file.values() for e in entries)
        out: dict[str, tuple[int, int]] = {}
        with self._writing() as db:
            for file, entries in by_file.items():
                before = db.execute("SELECT count(*) FROM entries WHERE source_file = ?", (file,)).fetchone()[0]
                db.execute("DELETE FROM entries WHERE source_file = ?", (file,))
                db.execute("DELETE FROM sheets WHERE source_file = ?", (file,))
                self._insert(db, list(entries))
                out[file] = (len(entries), int(before))
        return out

    @staticmethod
    def _insert(db: sqlite3.Connection, entries: Sequence[Entry]) -> None:
        """The entries, each taking the place of any entry with its ID (an export restored again); the
        IDs are deleted in chunks, within SQLite's limit on a statement's parameters."""
        ids = [e.id for e in entries]
        for k in range(0, len(ids), MAX_VARIABLES):
            chunk = ids[k:k + MAX_VARIABLES]
            db.execute(f"DELETE FROM entries WHERE id IN ({','.join('?' * len(chunk))})", chunk)
        db.executemany(f"INSERT INTO entries ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
                       [_row(e) for e in entries])

    def _imports(self, db: sqlite3.Connection, file: str) -> list[Imported]:
        rows = db.execute("SELECT source_sha256, max(imported_at), count(*) FROM entries WHERE source_file = ? "
                          "GROUP BY source_sha256 ORDER BY max(imported_at), source_sha256", (file,)).fetchall()
        out = []
        for sha, imported_at, n in rows:
            recorded = db.execute("SELECT questions FROM sheets WHERE source_file = ? AND source_sha256 = ?",
                                  (file, sha)).fetchone() if self._version >= 2 else None
            if recorded is not None:
                questions = frozenset(json.loads(recorded[0]))
            else:
                questions = frozenset(fingerprint(q) for (q,) in db.execute(
                    "SELECT question FROM entries WHERE source_file = ? AND source_sha256 = ?", (file, sha)))
            out.append(Imported(file, sha, imported_at, int(n), questions, recorded is not None))
        return out

    def remove(self, ids: Iterable[str] = (), *, source_file: str | None = None) -> int:
        """Delete entries by ID, or every entry of one source file; how many went. An unknown ID
        is an error (nothing is deleted)."""
        ids = list(dict.fromkeys(ids))
        if not self.exists:  # nothing to remove, and no file made for it
            if ids:
                raise UnknownEntry("unknown_entry_not_removed", ids=_listed(ids), library=self.named)
            return 0
        with self._writing() as db:
            missing = [i for i in ids if db.execute("SELECT 1 FROM entries WHERE id = ?", (i,)).fetchone() is None]
            if missing:
                raise UnknownEntry("unknown_entry_not_removed", ids=_listed(missing), library=self.named)
            gone = db.executemany("DELETE FROM entries WHERE id = ?", [(i,) for i in ids]).rowcount if ids else 0
            if source_file is not None:
                gone += db.execute("DELETE FROM entries WHERE source_file = ?", (source_file,)).rowcount
            # an import none of whose entries is left is forgotten with them
            db.execute("DELETE FROM sheets WHERE NOT EXISTS (SELECT 1 FROM entries WHERE entries.source_file = "
                       "sheets.source_file AND entries.source_sha256 = sheets.source_sha256)")
        return int(gone)

    # ------------------------------------------------------------ connections

    @contextmanager
    def _connect(self, *, create: bool = False) -> Iterator[sqlite3.Connection]:
        """A connection of its own (any thread), checked once per process; never creates the file
        unless `create`. A file this user cannot write is opened read-only."""
        if not create and not self.exists:
            raise LibraryError("library_missing", library=self.named)
        read_only = self.exists and not self.writable
        if create and read_only:
            raise LibraryReadOnly(library=self.named, reason="no write permission on the file or its folder")
        try:
            if create:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            db = self._open(create, read_only)
        except sqlite3.Error as e:
            raise self._failed(e) from None
        except OSError as e:
            raise LibraryError(library=self.named, reason=e.strerror or str(e)) from None
        try:
            db.row_factory = sqlite3.Row
            try:
                self._prepare(db, read_only)
            except sqlite3.DatabaseError as e:
                raise self._failed(e) from None
            yield db
        except (sqlite3.IntegrityError, sqlite3.ProgrammingError):
            raise
        except sqlite3.DatabaseError as e:  # found damaged while reading it: "database disk image is malformed"
            raise self._failed(e) from None
        finally:
            db.close()

    def _open(self, create: bool, read_only: bool) -> sqlite3.Connection:
        """The connection: read-write (made if `create`), or read-only — and when even that needs a
        write (a WAL library in a read-only folder, whose shared-memory file cannot be made), immutable,
        provided no write-ahead log holds commits an immutable reader would miss."""
        def connect(target: str | Path, uri: bool) -> sqlite3.Connection:
            return sqlite3.connect(target, uri=uri, timeout=BUSY_TIMEOUT_S, isolation_level=None)

        if create:
            return connect(self.path, False)
        uri = self.path.resolve().as_uri()
        if not read_only:
            return connect(uri + "?mode=rw", True)
        db = connect(uri + "?mode=ro", True)
        try:
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return db
        except sqlite3.OperationalError as e:
            db.close()
            wal = self.path.with_name(self.path.name + "-wal")
            if not getattr(e, "sqlite_errorname", "").startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN")) or (
                    wal.exists() and wal.stat().st_size > 0):
                raise
            return connect(uri + "?mode=ro&immutable=1", True)

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

    def _prepare(self, db: sqlite3.Connection, read_only: bool) -> None:
        """WAL, the schema brought up to date (read-only: read as it is), and (once per process) an
        integrity check."""
        with self._lock:
            if self._checked:
                return
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            if version > len(MIGRATIONS):
                raise LibraryError("library_newer", library=self.named, version=version)
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if version == 0 and tables:
                raise LibraryDamaged("library_foreign", library=self.named, tables=sorted(tables))
            check = db.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise LibraryDamaged(library=self.named, detail=check)
            if version < len(MIGRATIONS) and not read_only:
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
                version = len(MIGRATIONS)
            self._version = version
            self._checked = True

    def _failed(self, e: sqlite3.Error) -> LibraryError:
        """What an SQLite error means for the user: busy, read-only, cannot be opened — or, only when
        SQLite says the file is not a database or is malformed, damaged."""
        name = getattr(e, "sqlite_errorname", "")
        if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
            return LibraryError("library_busy", library=self.named, detail=str(e))
        if name.startswith("SQLITE_READONLY"):
            return LibraryReadOnly(library=self.named, reason=str(e))
        if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or not name:
            return LibraryDamaged(library=self.named, detail=str(e))
        return LibraryError(library=self.named, reason=str(e))


COLUMNS = ("id", "question", "criteria", "answer", "verdict", "source_file", "source_sheet", "source_row",
           "source_sha256", "imported_at", "unread")


def _check_unique(entries: Iterable[Entry]) -> None:
    """Every entry consistent (`check_entry`) and no ID twice, before anything is written."""
    seen: set[str] = set()
    for e in entries:
        check_entry(e)
        if e.id in seen:
            raise LibraryError("duplicate_entry", id=e.id)
        seen.add(e.id)


def _listed(ids: Sequence[str]) -> list[str]:
    """IDs as a message names them: a short excerpt of each, at most MAX_IDS_LISTED, then how many more."""
    shown = [excerpt(i) for i in ids[:MAX_IDS_LISTED]]
    return shown + [f"… (+{len(ids) - MAX_IDS_LISTED})"] if len(ids) > MAX_IDS_LISTED else shown


def _row(e: Entry) -> tuple[Any, ...]:
    s = e.source
    return (e.id, e.question, json.dumps(list(e.criteria), ensure_ascii=False), e.answer, e.verdict, s.file, s.sheet,
            s.row, s.sha256, s.imported_at, json.dumps(list(e.unread), ensure_ascii=False))


def _entry(r: sqlite3.Row) -> Entry:
    unread = r["unread"] if "unread" in r.keys() else "[]"  # a library of schema 1, read-only
    return Entry(r["id"], r["question"], tuple(json.loads(r["criteria"])), r["answer"], r["verdict"],
                 Source(r["source_file"], r["source_sheet"], r["source_row"], r["source_sha256"], r["imported_at"]),
                 tuple(json.loads(unread)))
