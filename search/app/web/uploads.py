"""Uploaded check sheets and their answers, kept between the preview and the download.

A check sheet is answered once, for the preview; the filled copy of the user's file and
the answer tables are written beside the upload, so a download is a plain GET of a file
already made, and correcting the detection (sheet, header row, column) re-reads the kept
upload without a second upload. Each run gets a random, unguessable token. Everything
lives in one temporary directory owned by the app (`app.state.uploads`, deleted when the
app stops); a run expires `ttl` seconds after its last use, and the oldest runs go first
when the store grows past `max_bytes`. A server that was killed (SIGKILL, a crash) cannot
delete its directory: each store holds a lock on its own for as long as its process lives,
and a new store removes the directories whose lock nobody holds any more.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from messages import Explained
from indexer.files import write_whole
from search.questionnaire.checksheet import SheetError

TTL_SECONDS = 3600.0
MAX_STORE_BYTES = 256 * 1024 * 1024
_TOKEN = re.compile(r"[A-Za-z0-9_-]{24}")
_NAME = re.compile(r"[a-z]+(\.[a-z]+)?")  # output names: filled, answers.csv, …
_SOURCE = "source"
_META = "meta.json"
_PREFIX = "kijun-uploads-"
_LOCK = ".owner.lock"


class UploadExpired(Explained, LookupError):
    """The token names no upload: it expired (uploads are kept an hour) or never existed."""

    code = "upload_expired"


@dataclass(frozen=True)
class Upload:
    token: str
    filename: str | None  # the uploaded file's name; None for pasted questions
    dir: Path
    done: dict[str, Any] | None = None  # what it was used for once it is used up (`UploadStore.retire`)

    @property
    def source(self) -> bytes:
        """The uploaded file, byte for byte."""
        try:
            return (self.dir / _SOURCE).read_bytes()
        except FileNotFoundError:
            raise UploadExpired("upload_gone") from None


class UploadStore:
    """Uploads and their outputs in a private temporary directory; safe to share across threads."""

    def __init__(self, root: Path | None = None, *, ttl: float = TTL_SECONDS, max_bytes: int = MAX_STORE_BYTES,
                 clock: Callable[[], float] = time.time) -> None:
        if root is None:
            sweep_abandoned(Path(tempfile.gettempdir()))
        self.root = Path(root) if root is not None else Path(tempfile.mkdtemp(prefix=_PREFIX))
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._owner = _hold(self.root / _LOCK)
        self.ttl = ttl
        self.max_bytes = max_bytes
        self.clock = clock
        self._lock = threading.Lock()

    def add(self, filename: str | None, data: bytes | None) -> Upload:
        """A new run: the uploaded file (or None for pasted questions) under a fresh token."""
        with self._lock:
            self._sweep()
            token = secrets.token_urlsafe(18)
            d = self.root / token
            d.mkdir(mode=0o700)
            if data is not None:
                (d / _SOURCE).write_bytes(data)
            self._write_meta(d, {"filename": filename, "used": self.clock()})
            return Upload(token, filename, d)

    def get(self, token: str) -> Upload:
        """The run `token` names (its clock restarts); UploadExpired if there is none."""
        with self._lock:
            self._sweep()
            d = self._dir(token)
            meta = self._read_meta(d)
            meta["used"] = self.clock()
            self._write_meta(d, meta)
            return Upload(token, meta.get("filename"), d, meta.get("done"))

    def file_of(self, chosen: tuple[str, bytes] | None, token: str) -> Upload:
        """The file a preview form sends: a new upload (`chosen`), else the one `token` keeps. SheetError
        `no_file` when neither holds a file (a run of pasted questions): that run is discarded."""
        upload = self.add(*chosen) if chosen is not None else self.get(token)
        if upload.filename is None:
            self.discard(upload)
            raise SheetError("no_file")
        return upload

    def put(self, upload: Upload, name: str, data: bytes, *, download_name: str) -> None:
        """Keep one output of a run (written whole: a temporary file, then a rename)."""
        if not _NAME.fullmatch(name):
            raise ValueError(f"not an output name: {name!r}")
        with self._lock:
            d = self._dir(upload.token)
            write_whole(d / name, data)
            meta = self._read_meta(d)
            meta.setdefault("downloads", {})[name] = download_name
            self._write_meta(d, meta)
            self._evict(keep=upload.dir)

    def output(self, token: str, name: str) -> tuple[bytes, str]:
        """(content, file name to download it as) of one output; UploadExpired if it is not there.
        Read under the lock, so a concurrent eviction cannot delete it half-way through a download."""
        upload = self.get(token)
        with self._lock:
            meta = self._read_meta(upload.dir)
            path = upload.dir / name
            if not _NAME.fullmatch(name) or name not in meta.get("downloads", {}) or not path.is_file():
                raise UploadExpired("no_such_output", name=name)
            return path.read_bytes(), meta["downloads"][name]

    def retire(self, upload: Upload, done: dict[str, Any]) -> None:
        """The upload is used up (a returned sheet committed to the library): its file and outputs go
        now, and its token remembers `done` until it expires, so a second submit of the same form
        (after Back) is told what became of it rather than that it never existed."""
        with self._lock:
            d = self._dir(upload.token)
            meta = self._read_meta(d)
            for f in d.iterdir():
                if f.name != _META:
                    f.unlink(missing_ok=True)
            self._write_meta(d, {"filename": meta.get("filename"), "used": self.clock(), "done": done})

    def discard(self, upload: Upload) -> None:
        """Delete one run now (an upload that cannot be read at all is not kept)."""
        with self._lock:
            shutil.rmtree(upload.dir, ignore_errors=True)

    def close(self) -> None:
        """Delete every upload (the app is stopping)."""
        shutil.rmtree(self.root, ignore_errors=True)
        self._owner.close()

    # ------------------------------------------------------------ internals (lock held)

    def _dir(self, token: str) -> Path:
        d = self.root / token
        if not _TOKEN.fullmatch(token or "") or not (d / _META).is_file():
            raise UploadExpired()
        return d

    def _read_meta(self, d: Path) -> dict:
        try:
            return dict(json.loads((d / _META).read_text(encoding="utf-8")))
        except (OSError, ValueError):
            raise UploadExpired() from None

    def _write_meta(self, d: Path, meta: dict) -> None:
        write_whole(d / _META, json.dumps(meta, ensure_ascii=False).encode("utf-8"))

    def _runs(self) -> list[tuple[float, Path]]:
        """(last use, directory) of every run, oldest first."""
        out = []
        for d in self.root.iterdir():
            if d.name == _LOCK:
                continue
            try:
                out.append((float(self._read_meta(d)["used"]), d))
            except (UploadExpired, KeyError, TypeError, ValueError, NotADirectoryError):
                out.append((float("-inf"), d))  # half-written or damaged: goes first
        return sorted(out)

    def _sweep(self) -> None:
        now = self.clock()
        for used, d in self._runs():
            if now - used > self.ttl:
                shutil.rmtree(d, ignore_errors=True)

    def _evict(self, keep: Path) -> None:
        """The least recently used runs go until the store fits `max_bytes` again (never `keep`,
        the run just written)."""
        runs = [d for _, d in self._runs()]
        sizes = {d: sum(f.stat().st_size for f in d.rglob("*") if f.is_file()) for d in runs}
        total = sum(sizes.values())
        for d in runs:
            if total <= self.max_bytes:
                break
            if d != keep:
                shutil.rmtree(d, ignore_errors=True)
                total -= sizes[d]


def _hold(path: Path, mode: str = "a") -> Any:
    """An open file holding an exclusive lock on `path`: released by the OS when the process dies."""
    handle = open(path, mode)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise
    return handle


def sweep_abandoned(tmp: Path, *, settled_s: float = 10.0) -> list[Path]:
    """Remove the upload directories of kijun servers that are gone (nobody holds their lock); returns
    what was removed. Running servers' directories, other users', and any without a lock file (an older
    kijun's, or one being made this instant) are left alone."""
    removed = []
    for lock in tmp.glob(f"{_PREFIX}*/{_LOCK}"):
        try:
            if lock.stat().st_uid != os.getuid() or time.time() - lock.stat().st_mtime < settled_s:
                continue
            handle = _hold(lock, "r")
        except OSError:  # locked: its server is running
            continue
        try:
            shutil.rmtree(lock.parent, ignore_errors=True)
            removed.append(lock.parent)
        finally:
            handle.close()
    return removed
