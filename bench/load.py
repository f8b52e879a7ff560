"""A bounded local load test: N requests from C concurrent clients against `kijun serve`.

Each client holds one keep-alive connection and cycles through the queries, so
the numbers are the server's (uvicorn + FastAPI + the engine), not connection
setup. Any non-200 answer or exception counts as an error.

    python bench/load.py --requests 2000 --clients 4 --mode hybrid
"""
from __future__ import annotations

import argparse
import http.client
import json
import math
import statistics
import sys
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser import serve  # noqa: E402  (one way to start a real server, shared with the e2e test)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[k]


def _client(host: str, port: int, paths: list[str], latencies: list[float], errors: list[str]) -> None:
    conn = http.client.HTTPConnection(host, port, timeout=60)
    for path in paths:
        started = time.perf_counter()
        try:
            conn.request("GET", path)
            r = conn.getresponse()
            body = r.read()
            if r.status != 200:
                errors.append(f"{r.status} {path[:60]}: {body[:120]!r}")
        except (OSError, http.client.HTTPException) as e:
            errors.append(f"{type(e).__name__}: {e}")
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=60)
            continue
        latencies.append((time.perf_counter() - started) * 1000)
    conn.close()


def run_load(base_url: str, queries: list[str], *, requests: int, clients: int, mode: str) -> dict[str, Any]:
    url = urllib.parse.urlsplit(base_url)
    paths = [f"/api/search?{urllib.parse.urlencode({'q': queries[i % len(queries)], 'mode': mode})}"
             for i in range(requests)]
    shares = [paths[c::clients] for c in range(clients)]
    latencies: list[float] = []
    errors: list[str] = []
    threads = [threading.Thread(target=_client, args=(url.hostname, url.port, s, latencies, errors)) for s in shares]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    return {"requests": requests, "clients": clients, "mode": mode, "errors": len(errors),
            "first_errors": errors[:5], "seconds": round(wall, 2),
            "throughput_rps": round(requests / wall, 1),
            "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
            "p95_ms": round(percentile(latencies, 95), 1) if latencies else None}


def load_test(data_dir: Path | None, queries: list[str], *, requests: int = 2000, clients: int = 4,
              mode: str = "hybrid") -> dict[str, Any]:
    """Start a server on a free localhost port, warm it, load it, stop it."""
    with serve(data_dir) as base:
        run_load(base, queries, requests=min(len(queries), 20), clients=1, mode=mode)  # model loaded, caches warm
        return run_load(base, queries, requests=requests, clients=clients, mode=mode)


def main(argv: list[str] | None = None) -> None:
    from search.evaluation import load_eval_set

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--mode", choices=["keyword", "semantic", "hybrid"], default="hybrid")
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--queries", type=Path, default=ROOT / "eval" / "dev.jsonl")
    args = ap.parse_args(argv)
    queries = [q.query for q in load_eval_set(args.queries)]
    print(json.dumps(load_test(args.data_dir, queries, requests=args.requests, clients=args.clients,
                               mode=args.mode), ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
