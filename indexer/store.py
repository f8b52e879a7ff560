"""Where indexes live on disk, and how they are swapped in atomically.

Each build goes into a fresh generation directory; a small `CURRENT` file
names the live one and is replaced with `os.replace`, so a reader sees the old
index or the new one, never a half-written one. The previous generation is
kept so readers that opened it just before a swap can finish.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any, Callable

DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent / "data"
META = "meta.json"


class IndexMissing(FileNotFoundError):
    """No index has been built in the data directory yet."""


class IndexCorrupted(RuntimeError):
    """An index exists but cannot be read (truncated file, foreign format)."""


class IndexStale(RuntimeError):
    """An index was built from other settings, corpus or model than asked for."""


def data_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """The explicit path, else $KIJUN_DATA_DIR, else ./data beside the project."""
    return Path(path or os.environ.get("KIJUN_DATA_DIR") or DEFAULT_DATA_DIR)


def current_generation(root: Path) -> Path:
    pointer = root / "CURRENT"
    if not pointer.exists():
        raise IndexMissing(f"no index in {root}; build it with `kijun index`")
    name = pointer.read_text(encoding="utf-8").strip()
    gen = root / name
    if not name or not gen.is_dir():
        raise IndexCorrupted(f"{pointer} names {name!r}, which is missing; rebuild with `kijun index --rebuild`")
    return gen


def new_generation(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    gen = root / f"gen-{time.time_ns()}-{os.getpid()}"
    gen.mkdir()
    return gen


def publish(root: Path, gen: Path) -> None:
    """Make `gen` the live generation; drop all but it and its predecessor."""
    previous = None
    try:
        previous = current_generation(root).name
    except (IndexMissing, IndexCorrupted):
        pass
    tmp = root / f"CURRENT.{os.getpid()}.tmp"
    tmp.write_text(gen.name, encoding="utf-8")
    os.replace(tmp, root / "CURRENT")
    for old in root.glob("gen-*"):
        if old.name not in (gen.name, previous):
            shutil.rmtree(old, ignore_errors=True)


def write_meta(gen: Path, meta: dict[str, Any]) -> None:
    (gen / META).write_text(json.dumps(meta, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8")


def read_meta(gen: Path) -> dict[str, Any]:
    try:
        return json.loads((gen / META).read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise IndexCorrupted(f"{gen} has no {META}; rebuild with `kijun index --rebuild`") from e
    except ValueError as e:
        raise IndexCorrupted(f"{gen / META} is not valid JSON; rebuild with `kijun index --rebuild`") from e


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
        say(f"{e}; rebuilding")
    return None
