"""Issue #20's hostile probes against a real `kijun serve` on 127.0.0.1: time and server RSS for each.

Each probe gets a fresh server (so one probe's leftovers never bill the next), sends its
request(s) with a bounded timeout, and reports the answer's status, the seconds it took, the
server's RSS before and after (VmRSS) and, for the concurrent ones, how `/api/search` answered
meanwhile and how long the server stayed busy (CPU) after its clients went away.

    python bench/probes.py [--only NAME ...] [--timeout 60] [--data-dir DIR]

Loopback only; every loop is bounded in count and time.
"""
from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from bench.load import percentile  # noqa: E402
from tests import hostile, rawhttp  # noqa: E402
from tests.browser import busy_after, rss_mb, server  # noqa: E402
from tests.rawhttp import multipart  # noqa: E402

def request(base: str, method: str, path: str, body: bytes | Iterator[bytes] | None = None,
            headers: dict[str, str] | None = None, timeout: float = 60.0) -> tuple[int | str, bytes, float]:
    """(status or the error's name, the first 64 KB of the body, seconds); the answer is read as soon as
    it comes, even while the body is still being sent (a server refusing a body answers and hangs up)."""
    headers = dict(headers or {})
    if isinstance(body, bytes):
        headers["Content-Length"] = str(len(body))
        pieces: Iterator[bytes] = (body[i:i + (256 << 10)] for i in range(0, len(body), 256 << 10))
    else:
        pieces = body or iter(())
    return rawhttp.send(base, method, path, headers, pieces, chunked=body is not None and not isinstance(body, bytes),
                        timeout=timeout)


def upload(base: str, path: str, filename: str, data: bytes, timeout: float, **fields: str) -> tuple[Any, bytes, float]:
    body, ctype = multipart(fields, (filename, data))
    return request(base, "POST", path, body, {"Content-Type": ctype}, timeout)


def concurrent(base: str, pid: int, send: Callable[[], Any], clients: int, window: float) -> dict[str, Any]:
    """`clients` requests at once; /api/search timed meanwhile; after `window` seconds the clients hang up
    (their sockets time out) and the server's busy time after that is measured."""
    results: list[Any] = []
    threads = [threading.Thread(target=lambda: results.append(send()), daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    latencies, errors = [], 0
    ends = time.monotonic() + window
    while time.monotonic() < ends:
        status, _, seconds = request(base, "GET", "/api/search?q=" + urllib.parse.quote("パスワード"), timeout=window)
        if status == 200:
            latencies.append(seconds * 1000)
        else:
            errors += 1
        time.sleep(0.1)
    for t in threads:
        t.join(timeout=window)
    statuses: dict[str, int] = {}
    for status, _, _ in results:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    return {"answers": statuses, "search_n": len(latencies), "search_errors": errors,
            "search_p50_ms": round(percentile(latencies, 50), 1) if latencies else None,
            "search_p95_ms": round(percentile(latencies, 95), 1) if latencies else None,
            "busy_after_clients_left_s": busy_after(pid, 60.0)}


def chunks(total: int, size: int = 1 << 20) -> Iterator[bytes]:
    for _ in range(total // size):
        yield b"x" * size


def probes(timeout: float) -> dict[str, Callable[[str, int], dict[str, Any]]]:
    def one(result: tuple[Any, bytes, float]) -> dict[str, Any]:
        status, body, seconds = result
        return {"status": status, "seconds": round(seconds, 2), "reply": body[:160].decode("utf-8", "replace")}

    long_cell = hostile.long_cell_xlsx(12_000_000)
    return {
        "long_cell": lambda base, pid: one(upload(base, "/answer", "long.xlsx", long_cell, timeout)),
        "json_30mb": lambda base, pid: one(request(
            base, "POST", "/api/answer", json.dumps({"questions": [hostile.QUESTION * 230_000]}, ensure_ascii=False).encode(),
            {"Content-Type": "application/json"}, timeout)),
        "zip_bomb": lambda base, pid: one(upload(base, "/api/answer", "bomb.xlsx",
                                                 hostile.zip_bomb_xlsx(1_150_000_000), timeout)),
        "chunked_200mb": lambda base, pid: one(request(
            base, "POST", "/api/answer", _chunked_multipart(200 << 20), {"Content-Type": f"multipart/form-data; "
                                                                         f"boundary={BOUNDARY}"}, timeout)),
        "csv_100k_columns": lambda base, pid: one(upload(base, "/api/answer", "wide.csv",
                                                         hostile.wide_csv(100_000), timeout)),
        "concurrent_45_small_bombs": lambda base, pid: concurrent(
            base, pid, lambda: upload(base, "/api/answer", "cell.xlsx", SMALL, timeout), 45, timeout),
        "concurrent_20_sheets_of_2000": lambda base, pid: concurrent(
            base, pid, lambda: upload(base, "/api/answer", "many.xlsx", MANY, timeout), 20, timeout),
        "cross_site_text_plain": lambda base, pid: one(request(
            base, "POST", "/api/answer", b'{"questions": ["x"]}',
            {"Content-Type": "text/plain", "Origin": "https://attacker.example", "Sec-Fetch-Site": "cross-site"},
            timeout)),
        "foreign_host": lambda base, pid: one(request(base, "GET", "/api/criteria/%E5%AE%9F26",
                                                      headers={"Host": "attacker.example"}, timeout=timeout)),
        "422_echo": lambda base, pid: one(request(base, "POST", "/api/answer",
                                                  b'{"questions": "' + b"z" * 1_000_000 + b'"}',
                                                  {"Content-Type": "application/json"}, timeout)),
    }


BOUNDARY = "kijunprobe"
SMALL = hostile.long_cell_xlsx(700_000)
MANY = hostile.questions_xlsx(2000)


def _chunked_multipart(total: int) -> Iterator[bytes]:
    yield (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
           "Content-Type: text/csv\r\n\r\n").encode()
    yield from chunks(total)
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="*", default=None)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--data-dir", type=Path, default=None)
    args = ap.parse_args(argv)
    report = {}
    for name, probe in probes(args.timeout).items():
        if args.only and name not in args.only:
            continue
        with server(args.data_dir) as s:
            request(s.base, "GET", "/api/search?q=" + urllib.parse.quote("パスワード"))  # warm
            before = rss_mb(s.pid)
            out = probe(s.base, s.pid)
            out |= {"rss_before_mb": before, "rss_after_mb": rss_mb(s.pid)}
        report[name] = out
        print(json.dumps({name: out}, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
