"""Where indexes live on disk, and how they are swapped in atomically.

Each build goes into a fresh generation directory; a small `CURRENT` file
names the live one and is replaced with `os.replace`, so a reader sees the old
index or the new one, never a half-written one. The previous generation is
kept so readers that opened it just before a swap can finish. Each
generation's `meta.json` lists its files, their sizes and their SHA-256, so a
truncated, half-copied or overwritten index (same size, other bytes) is caught
when it is opened, not halfway through a search.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable

DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent / "data"
META = "meta.json"
ABANDONED_AFTER_S = 3600  # an unfinished generation this old is a crashed build, not a running one


class IndexMissing(FileNotFoundError):
    """No index has been built in the data directory yet."""


class IndexCorrupted(RuntimeError):
    """An index exists but cannot be read (truncated file, foreign format).

    `problem` says what is wrong; the message adds what to do about it.
    """

    def __init__(self, problem: str) -> None:
        self.problem = problem
        super().__init__(f"{problem}; rebuild it with `kijun index --rebuild`")


class IndexUnwritable(IndexCorrupted):
    """An index must be built or rebuilt, but its folder cannot be written (read-only, full)."""

    def __init__(self, problem: str) -> None:
        self.problem = problem
        RuntimeError.__init__(self, f"{problem}; make the folder writable, or give a writable one with "
                                    "--data-dir or KIJUN_DATA_DIR")


@contextmanager
def building(root: Path, label: str) -> Iterator[None]:
    """Around a build: a folder that cannot be written is one clear error, not a traceback."""
    try:
        yield
    except OSError as e:
        raise IndexUnwritable(f"cannot build the {label} in {root} ({e.strerror or e})") from e


def data_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """The explicit path, else $KIJUN_DATA_DIR, else ./data beside the project."""
    return Path(path or os.environ.get("KIJUN_DATA_DIR") or DEFAULT_DATA_DIR)


def live_name(root: Path) -> str | None:
    """The live generation's name, or None; cheap enough to ask before every search."""
    try:
        return (root / "CURRENT").read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def current_generation(root: Path) -> Path:
    name = live_name(root)
    if name is None:
        raise IndexMissing(f"no index in {root}; build it with `kijun index`")
    pointer = root / "CURRENT"
    gen = root / name
    if not name or not gen.is_dir():
        raise IndexCorrupted(f"{pointer} names {name!r}, which is missing")
    return gen


def new_generation(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    gen = root / f"gen-{time.time_ns()}-{os.getpid()}"
    gen.mkdir()
    return gen


def publish(root: Path, gen: Path, meta: dict[str, Any]) -> None:
    """Finish `gen` (write its metadata) and make it the live generation, then drop finished
    generations but it and its predecessor.

    All of it happens under a lock on the data directory: another builder's cleanup must
    never see this generation finished but not yet live (it would delete it), and two
    builders must not swap `CURRENT` at once. Unfinished generations (another process is
    still writing one) are left alone.
    """
    with _locked(root):
        write_meta(gen, meta)
        previous = live_name(root)
        tmp = root / f"CURRENT.{os.getpid()}.tmp"
        tmp.write_text(gen.name, encoding="utf-8")
        os.replace(tmp, root / "CURRENT")
        for old in root.glob("gen-*"):
            if old.name not in (gen.name, previous) and _finished_or_abandoned(old):
                shutil.rmtree(old, ignore_errors=True)


@contextmanager
def _locked(root: Path) -> Iterator[None]:
    with open(root / ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _finished_or_abandoned(gen: Path) -> bool:
    try:
        return (gen / META).exists() or time.time() - gen.stat().st_mtime > ABANDONED_AFTER_S
    except FileNotFoundError:
        return False


def manifest(gen: Path) -> dict[str, int]:
    """Every file of a generation (but the metadata) and its size in bytes."""
    return {p.name: p.stat().st_size for p in sorted(gen.iterdir()) if p.is_file() and p.name != META}


def checksums(gen: Path) -> dict[str, str]:
    """Every file of a generation (but the metadata) and its SHA-256."""
    out = {}
    for p in sorted(gen.iterdir()):
        if p.is_file() and p.name != META:
            with open(p, "rb") as f:
                out[p.name] = hashlib.file_digest(f, "sha256").hexdigest()
    return out


def write_meta(gen: Path, meta: dict[str, Any]) -> None:
    """Written last, when every other file is complete: it is what marks a generation
    finished (call it through `publish`)."""
    meta = meta | {"files": manifest(gen), "sha256": checksums(gen)}
    (gen / META).write_text(json.dumps(meta, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8")


def read_meta(gen: Path) -> dict[str, Any]:
    """The generation's metadata, once its files are checked against the manifest."""
    try:
        meta = json.loads((gen / META).read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        if not gen.is_dir():
            raise IndexCorrupted(f"{gen} is gone (a newer build replaced it)") from e
        raise IndexCorrupted(f"{gen} has no {META} (a build that never finished)") from e
    except ValueError as e:
        raise IndexCorrupted(f"{gen / META} is not valid JSON") from e
    if not isinstance(meta, dict):
        raise IndexCorrupted(f"{gen / META} is not an index description")
    try:
        damaged = _damaged_files(gen, meta.get("files")) or _changed_files(gen, meta.get("sha256"))
    except FileNotFoundError as e:  # removed while being checked: two newer builds published since it was live
        raise IndexCorrupted(f"{gen} is gone (a newer build replaced it)") from e
    if damaged:
        raise IndexCorrupted(f"the index in {gen} is damaged ({'; '.join(damaged)})")
    return meta


def _damaged_files(gen: Path, expected: Any) -> list[str]:
    if not isinstance(expected, dict):
        return [f"{META} lists no files"]
    found = manifest(gen)
    out = [f"{name} is missing" for name in expected if name not in found]
    out += [f"{name} is {found[name]} bytes, {size} expected" for name, size in expected.items()
            if name in found and found[name] != size]
    return out


def _changed_files(gen: Path, expected: Any) -> list[str]:
    """Files whose bytes changed since the build (the sizes already agree)."""
    if not isinstance(expected, dict):
        return [f"{META} lists no checksums (an index built by an older kijun)"]
    found = checksums(gen)
    return [f"{name} has changed since it was built (its checksum differs)" for name, digest in expected.items()
            if found.get(name) != digest]


def mismatches(stored: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    """Names of the settings that differ: why an index must be rebuilt."""
    return sorted(k for k in wanted if stored.get(k) != wanted.get(k))


def usable_generation(root: Path, wanted: dict[str, Any], *, label: str,
                      notify: "Callable[[str], None] | None" = None) -> Path | None:
    """The live generation if it matches `wanted`; None (after saying why) if it must be rebuilt."""
    say = notify or (lambda msg: None)
    try:
        gen = current_generation(root)
        stale = mismatches(read_meta(gen), wanted)
        if not stale:
            return gen
        say(f"{label} is out of date ({', '.join(stale)} changed); rebuilding")
    except IndexMissing:
        say(f"no {label} in {root}; building it")
    except IndexCorrupted as e:
        say(f"{e.problem}; rebuilding")
    return None


USED = ".used"
UNUSED_AFTER_S = 7 * 24 * 3600  # a set of documents' indexes nobody opened for a week are removed


def mark_used(folder: Path) -> None:
    """Say that the indexes in `folder` (one set of documents') were opened now (`prune_unused` keeps them)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / USED).touch()
    except OSError:
        pass  # a read-only data directory: nothing is pruned there either


def prune_unused(sets: Path, keep: Path, *, unused_after: float = UNUSED_AFTER_S) -> list[Path]:
    """Remove the index folders of other sets of documents not opened for `unused_after` seconds: they are derived
    (built again if that set is ever searched again), and every document added or removed makes a new set. The
    folder in use (`keep`) stays; so does one being built (no mark yet, but written to within the hour)."""
    removed = []
    now = time.time()
    for folder in sets.iterdir() if sets.is_dir() else ():
        if folder == keep or not folder.is_dir():
            continue
        try:
            marked = (folder / USED).stat().st_mtime
        except FileNotFoundError:
            marked = folder.stat().st_mtime if now - folder.stat().st_mtime > ABANDONED_AFTER_S else now
        if now - marked > unused_after:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed

