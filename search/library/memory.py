"""The answer library's memory: each entry's question as recall compares it — its e5 vector and its
profile (`search.library.recall`) — worked out once, when the entry is added, stored beside the
library file, and only read by searches.

Why beside the library and not inside it: the SQLite file is user data, whose bytes change only
when a person adds or removes entries, while vectors and profiles are derived (from the model, the
corpus and how it is indexed) and are worked out again when those change. Why not in ./data:
`make clean` deletes it, and a team's 50,000 past questions take from a quarter of an hour to an
hour to work out again on two cores.

`<library>.memory/rows-<hash of the key>.npz` holds, per entry, its ID, a hash of its question
(an entry re-imported with other words is worked out again; one asking a question that has a row
already — in another file, an export added back, under an ID the import's transaction gave it —
shares that row), its vector (float32) and its profile (float16); the key itself
(`Derivation.key`: model, corpus, analyzer, profile weights) is stored inside. A file is written whole (`indexer.files.write_whole`) under a lock on the folder, so two
processes adding at once both keep their rows; it holds only rows of entries the library has, and
storing one key's rows deletes the other keys' (rows for another model are never read again).

Who works rows out: whoever adds entries — `kijun library add`, the server's import job — before it
commits them (`LibraryMemory.commit`), and `kijun library refresh` (which `kijun index` runs) for
entries that lack them, after a model or index change or an interrupted add. A search reads
`LibraryMemory.current`: the `Memory` made by the last load, replaced whole — by the import that
changed the library, or else by a load in the background while the previous one keeps answering
(a process's first search loads it itself: reading, never working out). Entries without rows are
left out, and the search says how many and what to run.
"""
from __future__ import annotations

import fcntl
import hashlib
import io
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TypeVar

import numpy as np

from indexer.embedding_index import UNREADABLE_NPZ
from indexer.files import write_whole
from messages import Message
from search.library import recall
from search.library.recall import RecallParams, Recalled, Support
from search.library.store import Entry, Library, LibraryError

SUFFIX = ".memory"  # <library file name> + this: the folder of its rows
SAVE_EVERY = 5_000  # a refresh stores its rows this often, so an interrupted one keeps what it did
Progress = Callable[[int, int], None]  # (done, total), after each question worked out
T = TypeVar("T")


def question_hash(text: str) -> str:
    """What a stored row was worked out from (the entry's question, exactly)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Rows:
    """Entries' vectors and profiles, one row per entry ID."""

    ids: np.ndarray  # str
    questions: np.ndarray  # str: question_hash of the question each row was worked out from
    vectors: np.ndarray  # float32, (rows, dim)
    profiles: np.ndarray  # recall.PROFILE_DTYPE, (rows, documents)

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def of(cls, entries: Sequence[Entry], vectors: np.ndarray, profiles: np.ndarray) -> "Rows":
        return cls(np.array([e.id for e in entries], dtype=str),
                   np.array([question_hash(e.question) for e in entries], dtype=str),
                   np.asarray(vectors, dtype=np.float32), recall.stored_profiles(profiles))

    @classmethod
    def join(cls, parts: Sequence["Rows | None"]) -> "Rows | None":
        """The rows of every part, a later part's row replacing an earlier one's for the same entry ID
        and question (an ID may come twice with two questions: the import that brings the second may
        give its entry another ID; `covering` settles it)."""
        parts = [p for p in parts if p is not None and len(p)]
        if len(parts) <= 1:
            return parts[0] if parts else None
        ids = np.concatenate([p.ids for p in parts])
        questions = np.concatenate([p.questions for p in parts])
        pairs = np.char.add(np.char.add(ids, "\t"), questions)
        _, last = np.unique(pairs[::-1], return_index=True)
        keep = np.sort(len(ids) - 1 - last)
        return cls(ids[keep], questions[keep], np.concatenate([p.vectors for p in parts])[keep],
                   np.concatenate([p.profiles for p in parts])[keep])

    def take(self, rows: np.ndarray | Sequence[int]) -> "Rows":
        rows = np.asarray(rows, dtype=np.int64)
        return Rows(self.ids[rows], self.questions[rows], self.vectors[rows], self.profiles[rows])

    @cached_property
    def row_of(self) -> dict[tuple[str, str], int]:
        """(entry ID, question hash) → its row."""
        return {(str(i), str(q)): n for n, (i, q) in enumerate(zip(self.ids, self.questions))}

    def kept(self, wanted: Mapping[str, str]) -> "Rows":
        """Only the rows of these entries (ID → question hash), as they are now."""
        return self.take(np.flatnonzero(np.isin(_pairs(self.ids, self.questions),
                                                _pairs(np.array(list(wanted), dtype=str),
                                                       np.array(list(wanted.values()), dtype=str)))))

    def covering(self, wanted: Mapping[str, str]) -> "Rows":
        """A row for each of these entries (ID → question hash, in their order) that has one: its own,
        else the first row of the same question (an entry whose ID the import made, or that asks what
        another asked), under its ID."""
        ids = np.array(list(wanted), dtype=str)
        questions = np.array(list(wanted.values()), dtype=str)
        at = _first(_pairs(self.ids, self.questions), _pairs(ids, questions))
        lacking = at < 0
        if lacking.any():
            at[lacking] = _first(self.questions, questions[lacking])
        have = at >= 0
        return Rows(ids[have], questions[have], self.vectors[at[have]], self.profiles[at[have]])

    def same(self, other: "Rows | None") -> bool:
        """The same entries, asking the same questions (so the same rows: nothing to write)."""
        return other is not None and np.array_equal(self.ids, other.ids) and \
            np.array_equal(self.questions, other.questions)


def _pairs(ids: np.ndarray, questions: np.ndarray) -> np.ndarray:
    return np.char.add(np.char.add(ids.astype(str), "\t"), questions.astype(str))


def _first(keys: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Per wanted key, the first position of it among `keys` (-1: none), by sorting, not a loop."""
    if not len(keys) or not len(wanted):
        return np.full(len(wanted), -1, dtype=np.int64)
    order = np.argsort(keys, kind="stable")
    at = np.minimum(np.searchsorted(keys[order], wanted), len(keys) - 1)
    return np.where(keys[order][at] == wanted, order[at], -1).astype(np.int64)


class Sidecar:
    """The folder beside a library file that holds its rows, one file per key."""

    def __init__(self, library_path: Path) -> None:
        self.dir = library_path.with_name(library_path.name + SUFFIX)

    def path(self, key: str) -> Path:
        return self.dir / f"rows-{hashlib.sha256(key.encode('utf-8')).hexdigest()[:16]}.npz"

    def stamp(self, key: str) -> tuple[int, int] | None:
        """The rows file's (size, modification time): a store changes it (None: no file)."""
        try:
            s = self.path(key).stat()
        except OSError:
            return None
        return s.st_size, s.st_mtime_ns

    def load(self, key: str) -> Rows | None:
        """The rows stored for this key (None: none, or a file that cannot be read: worked out again)."""
        try:
            with np.load(self.path(key)) as z:
                if str(z["key"]) != key:
                    return None
                return Rows(z["ids"], z["questions"], z["vectors"], z["profiles"])
        except UNREADABLE_NPZ:
            return None

    def others(self, key: str) -> list[Path]:
        """Rows files of other keys (another model, corpus or analyzer)."""
        mine = self.path(key)
        try:
            return [p for p in self.dir.glob("rows-*.npz") if p != mine]
        except OSError:
            return []

    def writable(self) -> bool:
        folder = self.dir if self.dir.exists() else self.dir.parent
        return os.access(folder, os.W_OK)

    def store(self, key: str, add: Rows | None, wanted: Callable[[], Mapping[str, str]]
              ) -> tuple[Rows | None, tuple[int, int] | None]:
        """This key's rows with `add`'s joined in, keeping only those of the library's entries as
        they are now (`wanted`, ID → question hash, read under the lock, after the commit), written
        whole; other keys' files deleted. Returns the rows and the file's stamp as written. OSError:
        the folder cannot be written (nothing changed)."""
        if add is None and not self.dir.exists():
            return None, None  # nothing stored, nothing to store: no folder made for it
        self.dir.mkdir(exist_ok=True)
        with self._locked():
            old = self.load(key)
            rows = Rows.join([old, add])
            rows = rows.covering(wanted()) if rows is not None else None
            if rows is not None and not rows.same(old):
                write_whole(self.path(key), _npz(key=np.array(key), ids=rows.ids, questions=rows.questions,
                                                  vectors=rows.vectors, profiles=rows.profiles))
            elif rows is None and old is not None:
                self.path(key).unlink(missing_ok=True)
            for other in self.others(key):
                other.unlink(missing_ok=True)
            return rows, self.stamp(key)

    def prune(self, wanted: Callable[[], Mapping[str, str]]) -> None:
        """Every key's rows without those of entries the library no longer has (after a removal)."""
        if not self.dir.exists():
            return
        with self._locked():
            keep = wanted()
            for path in self.dir.glob("rows-*.npz"):
                try:
                    with np.load(path) as z:
                        key = str(z["key"])
                except UNREADABLE_NPZ:
                    path.unlink(missing_ok=True)
                    continue
                rows = self.load(key)
                if rows is not None:
                    kept = rows.kept(keep)
                    if len(kept) != len(rows):
                        write_whole(path, _npz(key=np.array(key), ids=kept.ids, questions=kept.questions,
                                               vectors=kept.vectors, profiles=kept.profiles))

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with open(self.dir / ".lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _npz(**arrays: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


class Memory:
    """The library as searches recall it, at one revision: its entries that have rows, their
    vectors, profiles and confirmed documents, and how many entries are left out for want of rows."""

    def __init__(self, entries: Sequence[Entry], rows: Rows | None, support: Support, n_docs: int, *,
                 key: str = "", revision: int = 0, rows_stamp: object = None, missing: int = 0,
                 stale: bool = False) -> None:
        self.entries = list(entries)
        self.vectors = rows.vectors if rows is not None else np.zeros((0, 0), dtype=np.float32)
        self.profiles = rows.profiles if rows is not None else np.zeros((0, n_docs), dtype=recall.PROFILE_DTYPE)
        self.support = support
        self.n_docs = n_docs
        self.answered = np.array([e.answered for e in self.entries], dtype=bool)
        self.key, self.revision, self.rows_stamp = key, revision, rows_stamp
        self.missing = missing  # entries of the library without rows: left out
        self.stale = stale  # … because the rows stored are another key's (model or index changed)

    def __len__(self) -> int:
        return len(self.entries)

    @cached_property
    def _by_question(self) -> dict[str, list[int]]:
        """question_key → the entries asking it (what an evaluation leaves out)."""
        out: dict[str, list[int]] = {}
        for j, e in enumerate(self.entries):
            out.setdefault(recall.question_key(e.question), []).append(j)
        return out

    def recall(self, v: np.ndarray, prof: np.ndarray, params: RecallParams,
               exclude: frozenset[str] = frozenset()) -> Recalled:
        """What the library says about a query; entries whose question is one of `exclude` (as
        `recall.question_key` has it) are left out."""
        allowed = None
        if exclude:
            left_out = [j for k in exclude for j in self._by_question.get(k, ())]
            if left_out:
                allowed = np.ones(len(self.entries), dtype=bool)
                allowed[left_out] = False
        return recall.recall_top(self.vectors, self.profiles, self.answered, self.support, self.n_docs, v, prof,
                                 params, allowed=allowed, entries=self.entries)

    def warnings(self) -> list[Message]:
        """What a search that uses this memory says about it."""
        if not self.missing:
            return []
        return [Message("library_memory_stale" if self.stale else "library_not_in_memory", {"n": self.missing})]


@dataclass(frozen=True)
class _Read:
    """What a store read of the library (under the sidecar's lock) and wrote: enough to make the memory."""

    library_stamp: object
    revision: int
    entries: list[Entry]
    rows: Rows | None
    rows_stamp: tuple[int, int] | None


@dataclass(frozen=True)
class Derivation:
    """How an entry's rows are worked out, from the engine (which can embed and rank a question)."""

    key: Callable[[], str | None]  # what rows depend on (model, corpus, analyzer, profile weights); None: no model
    rows: Callable[[list[str], Progress | None], tuple[np.ndarray, np.ndarray]]  # questions → vectors, profiles
    docs: Callable[[Sequence[str]], list[list[int]]]  # criterion IDs → per ID, its documents' positions
    n_docs: int


class LibraryMemory:
    """One library's memory in one process: what its searches recall from (`current`), and the
    imports and refreshes that work out and store rows and replace it. Safe to share across threads."""

    def __init__(self, library: Library, derive: Derivation) -> None:
        self.library = library
        self.derive = derive
        self.sidecar = Sidecar(library.path)
        self.notes: list[Message] = []  # what the last commit or refresh could not do (rows not stored, no model)
        self._memory: Memory | None = None
        self._seen: tuple[object, ...] | None = None  # the stamps at which _memory was last found current
        self._lock = threading.Lock()  # loads, stores and swaps of this process, one at a time
        self._loading = threading.Lock()  # at most one load in the background
        self._unstored: dict[str, Rows] = {}  # per key, rows worked out here that could not be stored
        self._working: threading.Thread | None = None  # `warm`'s working out, for this process alone
        self._unstored_changes = 0

    # ------------------------------------------------------------ searching

    def current(self, warnings: list[Message] | None = None) -> Memory | None:
        """What a search recalls from, never worked out here and never waited for: the memory already
        made (reloaded in the background if the library or its rows changed since), or, for a
        process's first search, the stored rows read now — unless an import or a refresh holds them,
        when this search goes without, and says so. None without a model; None with a warning if
        the library cannot be read."""
        warnings = warnings if warnings is not None else []
        try:
            key = self.derive.key()
            if key is None:
                return None
            memory = self._memory
            if memory is not None and memory.key == key:
                if self._stamp(key) != self._seen:
                    self._load_in_background()
            elif memory is None and self._lock.acquire(blocking=False):
                try:
                    memory = self._load()
                finally:
                    self._lock.release()
            else:  # being made by an import or a refresh, or for another model or index
                self._load_in_background()
                warnings.append(Message("library_loading"))
                return None
        except LibraryError as e:
            warnings.append(Message("library_not_used", {"reason": e.message}))
            return None
        if memory is not None:
            warnings += memory.warnings()
        return memory

    def load(self) -> Memory | None:
        """Read the library and its stored rows and make them what searches recall from (unless
        nothing changed); LibraryError if the library cannot be read."""
        with self._lock:
            return self._load()

    def warm(self) -> None:
        """A server's start-up: load now; where rows are missing and the folder cannot be written
        (a read-only location), work them out in the background for this process alone."""
        memory = self.load()
        if memory is not None and memory.missing and not (self.sidecar.writable() and self.library.writable):
            self._working = threading.Thread(target=self._refresh_quietly, name="kijun-library-memory", daemon=True)
            self._working.start()

    def _stamp(self, key: str) -> tuple[object, ...]:
        """What changes when the library or its rows do: the library file's stamp, and the rows file's
        with how often this process changed the rows it could not store."""
        return self.library.stamp(), (self.sidecar.stamp(key), self._unstored_changes)

    def _load(self, fresh: _Read | None = None) -> Memory | None:
        """The memory made current: unchanged if nothing changed, else made from `fresh` (what a
        store just read and wrote) or from what is stored now."""
        key = self.derive.key()
        if key is None:
            return None
        if fresh is not None:
            stamp: tuple[object, ...] = (fresh.library_stamp, (fresh.rows_stamp, self._unstored_changes))
        else:
            stamp = self._stamp(key)  # before reading: a change made meanwhile is seen at the next check
            memory = self._memory
            if memory is not None and memory.key == key:
                if stamp == self._seen:
                    return memory
                if stamp[1] == memory.rows_stamp and self.library.revision() == memory.revision:
                    self._seen = stamp
                    return memory
        memory = self._made(key, stamp[1], fresh)
        self._memory, self._seen = memory, stamp
        return memory

    def _made(self, key: str, rows_stamp: object, fresh: _Read | None = None) -> Memory:
        if fresh is not None:
            revision, entries, stored = fresh.revision, fresh.entries, fresh.rows
        else:
            revision, entries, stored = self.library.revision(), self.library.entries(), self.sidecar.load(key)
        rows = Rows.join([stored, self._unstored.get(key)])
        covered = rows.covering({e.id: question_hash(e.question) for e in entries}) if rows is not None else None
        have = set(map(str, covered.ids)) if covered is not None else set()
        present = [e for e in entries if e.id in have]  # in the order `covering` keeps: the entries'
        ids = sorted({c for e in present for c in e.criteria})
        docs = dict(zip(ids, self.derive.docs(ids)))  # per criterion ID, its documents: looked up once
        support = Support.of([[docs[c] for c in e.criteria] for e in present])
        missing = len(entries) - len(present)
        stale = bool(missing) and stored is None and bool(self.sidecar.others(key))
        return Memory(present, covered, support, self.derive.n_docs, key=key, revision=revision,
                      rows_stamp=rows_stamp, missing=missing, stale=stale)

    def settled(self, timeout: float = 60.0) -> bool:
        """Wait for what this process does in the background — a load, or `warm`'s working out — to
        finish (False: still under way after `timeout` seconds each)."""
        if self._working is not None:
            self._working.join(timeout)
            if self._working.is_alive():
                return False
        if not self._loading.acquire(timeout=timeout):
            return False
        self._loading.release()
        return True

    def _load_in_background(self) -> None:
        if not self._loading.acquire(blocking=False):
            return  # one is under way

        def run() -> None:
            try:
                self.load()
            except LibraryError:
                pass  # the previous memory keeps answering; the next change is tried again
            finally:
                self._loading.release()

        threading.Thread(target=run, name="kijun-library-load", daemon=True).start()

    # ------------------------------------------------------------ adding and removing

    def commit(self, entries: Sequence[Entry], write: Callable[[], T], progress: Progress | None = None) -> T:
        """Add entries: work out their rows first (an import stopped meanwhile leaves everything as it
        was), then `write` (the library's own transaction, which may also remove entries), then store
        the rows and make the new memory current — so this process's searches never see an entry
        without its rows, nor wait for any of it."""
        self.notes = []
        key = self.derive.key()
        if key is None:
            self.notes.append(Message("library_memory_no_model", {"n": len(entries)}))
        rows = self._worked_out(key, entries, progress) if key is not None else None
        result = write()
        with self._lock:
            try:
                if key is not None:
                    self._load(self._store(key, rows))
                else:
                    self.sidecar.prune(self._wanted)
                    self._load()
            except (LibraryError, OSError):
                pass  # committed: the next search finds what is stored, and says what is missing
        return result

    def removed(self) -> None:
        """After entries were removed: their rows dropped from every key's file, the memory replaced."""
        with self._lock:
            try:
                self.sidecar.prune(self._wanted)
            except OSError:
                pass  # a read-only folder: the rows stay, unused (never matched to an entry again)
            if self._memory is not None:
                self._load()

    def refresh(self, progress: Progress | None = None) -> tuple[int, int]:
        """Work out the rows every entry lacks under the current key (after a model or index change,
        or an interrupted add), store them every SAVE_EVERY, make the memory current; returns (rows
        worked out, entries). Rows of entries the library no longer has, and of other keys, go."""
        self.notes = []
        key = self.derive.key()
        entries = self.library.entries()
        if key is None:
            self.notes.append(Message("library_memory_no_model", {"n": len(entries)}))
            return 0, len(entries)
        todo = self._lacking(self._known(key), entries)
        done = 0
        for start in range(0, len(todo), SAVE_EVERY):
            chunk = todo[start:start + SAVE_EVERY]
            offset = done
            rows = self._worked_out(key, chunk, (lambda d, _t: progress(offset + d, len(todo))) if progress else None)
            done += len(chunk)
            with self._lock:
                self._load(self._store(key, rows))  # a process searching meanwhile gains them chunk by chunk
        if not todo:
            with self._lock:
                self._load(self._store(key, None))  # rows of removed entries and of other keys go
        return len(todo), len(entries)

    def _refresh_quietly(self) -> None:
        try:
            self.refresh()
        except LibraryError:
            pass

    def _known(self, key: str) -> Rows | None:
        """The rows this key has: stored, and worked out here but not stored."""
        return Rows.join([self.sidecar.load(key), self._unstored.get(key)])

    @staticmethod
    def _lacking(known: Rows | None, entries: Sequence[Entry]) -> list[Entry]:
        """The entries whose question has no row yet (under any ID)."""
        questions = set(map(str, known.questions)) if known is not None else set()
        return [e for e in entries if question_hash(e.question) not in questions]

    def _worked_out(self, key: str, entries: Sequence[Entry], progress: Progress | None) -> Rows | None:
        """Rows for the questions of these entries that have none yet, each distinct question worked
        out once; once stored, every entry asking it gets the row (`Rows.covering`), whatever ID the
        library's transaction gives it."""
        first: dict[str, Entry] = {}  # one entry per question
        for e in self._lacking(self._known(key), entries) if entries else ():
            first.setdefault(e.question, e)
        if not first:
            return None
        vectors, profiles = self.derive.rows(list(first), progress)
        return Rows.of(list(first.values()), vectors, profiles)

    def _store(self, key: str, rows: Rows | None) -> _Read | None:
        """Rows into the sidecar (under this process's lock); where it cannot be written, kept here
        for this process, with a note. Returns what it read of the library and wrote (None: nothing),
        from which the memory is made without reading them again."""
        read: list[tuple[object, int, list[Entry]]] = []

        def wanted() -> dict[str, str]:
            stamp, revision = self.library.stamp(), self.library.revision()  # before the entries
            entries = self.library.entries()
            read.append((stamp, revision, entries))
            return {e.id: question_hash(e.question) for e in entries}

        try:
            stored, rows_stamp = self.sidecar.store(key, Rows.join([self._unstored.get(key), rows]), wanted)
            self._unstored.pop(key, None)
            return _Read(*read[-1], stored, rows_stamp) if read else None
        except OSError as e:
            joined = Rows.join([self._unstored.get(key), rows])
            if joined is not None:
                self._unstored = {key: joined}
                self._unstored_changes += 1
            self.notes.append(Message("library_memory_not_stored", {"path": str(self.sidecar.dir),
                                                                     "reason": e.strerror or str(e)}))
            return None

    def _wanted(self) -> dict[str, str]:
        """Entry ID → question hash, for every entry the library has now."""
        return {e.id: question_hash(e.question) for e in self.library.entries()}
