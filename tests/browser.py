"""Real-server + real-browser helpers shared by the e2e test and docs/screenshots.py.

Both need the same two things: `kijun serve` running as a separate process (so the
installed entry point, uvicorn and the static files are exercised, not a TestClient)
and Debian's Chromium driven by Playwright. Keeping them here means the screenshots
in the README come from exactly the setup the test checks.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext

CHROMIUM = Path("/usr/bin/chromium")
# What Debian's Chromium needs on these machines (root, no GPU, offline): no sandbox,
# and nothing that phones home. Playwright adds its own --user-data-dir (see browser_page).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-quic"]
VIEWPORT = {"width": 1280, "height": 800}


TICKS = 100  # clock ticks per second in /proc/PID/stat (Linux's USER_HZ)


def rss_mb(pid: int) -> float:
    """A process's resident memory now (VmRSS), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """CPU time a process has used so far (user + system)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def busy_after(pid: int, limit: float) -> float:
    """Seconds until a process's CPU use drops below 5% over half a second (inf if not within `limit`)."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        before = cpu_seconds(pid)
        time.sleep(0.5)
        if cpu_seconds(pid) - before < 0.025:
            return round(time.monotonic() - started, 1)
    return float("inf")


def missing_prerequisites() -> str | None:
    """Why a browser run is impossible here (for pytest.skip), or None if it can run."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} not found: install Debian's chromium (`make browser`)"
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed: `pip install -e '.[dev]'`"
    return None


def free_port() -> int:
    """A port the OS says is free now, so parallel runs and a dev server on :8000 don't clash."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def kijun_command() -> list[str]:
    """The installed `kijun` script of this interpreter's venv, else `python -m search.app.cli`."""
    script = Path(sys.executable).with_name("kijun")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "search.app.cli"]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    return env


def build_index(data_dir: Path | None) -> None:
    """`kijun index` (a no-op when the indexes are current); raises with its output on failure."""
    cmd = kijun_command() + ["index"] + (["--data-dir", str(data_dir)] if data_dir else [])
    done = subprocess.run(cmd, env=_env(), capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"`{' '.join(cmd)}` failed ({done.returncode}):\n{done.stderr}{done.stdout}")


@dataclass(frozen=True)
class Server:
    base: str  # http://127.0.0.1:PORT
    pid: int


@contextmanager
def serve(data_dir: Path | None, *, timeout: float = 120.0) -> Iterator[str]:
    """Run `kijun serve` on a free localhost port and yield its base URL once it answers."""
    with server(data_dir, timeout=timeout) as s:
        yield s.base


@contextmanager
def server(data_dir: Path | None, *, args: Sequence[str] = (), env: Mapping[str, str] | None = None,
           timeout: float = 120.0) -> Iterator[Server]:
    """`kijun serve [args]` on a free localhost port, yielded once its static files answer 200.

    If it exits or stays silent past `timeout`, raise with its stderr: a browser
    test that only says "connection refused" hides the real failure.
    """
    port = free_port()
    cmd = kijun_command() + ["serve", "--host", "127.0.0.1", "--port", str(port), *args]
    if data_dir is not None:
        cmd += ["--data-dir", str(data_dir)]
    base = f"http://127.0.0.1:{port}"
    # A file, not a pipe: nobody reads stderr while the server runs, and a full pipe would block it.
    with tempfile.TemporaryFile("w+", encoding="utf-8") as err:
        proc = subprocess.Popen(cmd, env=_env() | dict(env or {}), stdout=subprocess.DEVNULL, stderr=err, text=True)

        def stderr() -> str:
            err.flush()
            err.seek(0)
            return err.read()

        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"`{' '.join(cmd)}` exited with {proc.returncode}:\n{stderr()}")
                try:
                    with urllib.request.urlopen(base + "/static/style.css", timeout=2) as r:
                        if r.status == 200:
                            break
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"`{' '.join(cmd)}` did not answer on {base} within {timeout:.0f} s:\n"
                                       f"{stderr()}")
                time.sleep(0.2)
            yield Server(base, proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextmanager
def browser_context() -> Iterator[BrowserContext]:
    """Headless Debian Chromium with a fresh, throw-away profile, at a laptop viewport.

    A persistent context is Playwright's way to choose the --user-data-dir (it
    refuses the flag in `args`); a new temp dir per run means no state leaks between runs.
    """
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="kijun-chromium-")
    try:
        with sync_playwright() as p:
            ctx = p.chromium.launch_persistent_context(
                profile, executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
                viewport=VIEWPORT, locale="ja-JP", accept_downloads=True)
            ctx.set_default_timeout(15_000)
            try:
                yield ctx
            finally:
                ctx.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
