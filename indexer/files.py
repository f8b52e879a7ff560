"""Files written whole or not at all.

A reader (another search process, the user opening a check sheet) must never see half a
file, and a failed write must leave the old one as it was: the body goes to a temporary file
beside the target, is flushed to disk, and is renamed over it (`os.replace` is atomic on one
file system). Each writer gets its own temporary name, so two processes never share one.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_whole(path: Path, body: bytes) -> None:
    """All of `body` at `path`, or nothing (the OSError says why: a folder one cannot write to,
    a full disk)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
