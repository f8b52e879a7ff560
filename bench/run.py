"""kijun's benchmark: one JSON report and a short table (`make bench`).

Everything runs offline on a fresh temporary data directory:
  1. index build by stage, cold (empty embedding cache) and again with the cache;
  2. warm query latency per mode over the dev queries, in this process, which
     never imports torch (its peak RSS is a warm search process's);
  3. cold one-shot `kijun search` per mode (wall time and peak RSS);
  4. the same Sudachi tokens in bm25s, for ratios against a known fast library;
  5. a scale curve on synthetic corpora recombined from this document's passages;
  6. a bounded load test against `kijun serve` on 127.0.0.1.

    python bench/run.py [--sizes 1000 10000 50000] [--requests 2000] [--out FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from bench.load import load_test, percentile  # noqa: E402
from bench.reference import Bm25sReference  # noqa: E402
from tests.browser import kijun_command  # noqa: E402

DEV_SET = ROOT / "eval" / "dev.jsonl"
MODES = ("keyword", "semantic", "hybrid")


# ------------------------------------------------------------------ helpers

def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def latency(fn: Callable[[str], object], queries: Sequence[str], *, warmup: int = 5) -> dict[str, float]:
    """p50/p95/mean in ms of fn over the queries, after a few unmeasured calls."""
    for q in queries[:warmup]:
        fn(q)
    times = []
    for q in queries:
        started = time.perf_counter()
        fn(q)
        times.append((time.perf_counter() - started) * 1000)
    return {"p50_ms": round(statistics.median(times), 1), "p95_ms": round(percentile(times, 95), 1),
            "mean_ms": round(statistics.mean(times), 1), "n": len(times)}


def run_timed(cmd: list[str]) -> dict[str, float]:
    """Wall seconds and peak RSS of one child process; raises with its output if it fails."""
    with tempfile.TemporaryFile() as output:  # a file, not a pipe: a chatty child never blocks
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=output, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4 (for its rusage): tell Popen
        if proc.returncode != 0:
            output.seek(0)
            raise RuntimeError(f"`{' '.join(cmd)}` failed ({proc.returncode}):\n{output.read().decode()}")
    return {"seconds": round(wall, 3), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}


def machine() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem_kb / 2**20, 1),
            "python": platform.python_version(), "platform": platform.platform(),
            "date": time.strftime("%Y-%m-%d %H:%M %Z")}


def _meta_seconds(root: Path) -> float:
    from indexer import store

    return float(store.read_meta(store.current_generation(root))["build_seconds"])


# ------------------------------------------------------------------ stages

def build_stages(data_dir: Path) -> dict[str, Any]:
    """`kijun index` cold then again with --rebuild (embedding cache warm), by stage."""
    from corpus.parser import parse_file

    started = time.perf_counter()
    parse_file()
    parse_s = time.perf_counter() - started
    out: dict[str, Any] = {"parse_s": round(parse_s, 3)}
    for label, extra in (("cold", []), ("cached", ["--rebuild"])):
        run = run_timed(kijun_command() + ["index", "--data-dir", str(data_dir), *extra])
        from indexer import store

        emb_meta = store.read_meta(store.current_generation(data_dir / "embeddings" / "index"))
        out[label] = {"total_s": run["seconds"], "peak_rss_mb": run["peak_rss_mb"],
                      "keyword_s": _meta_seconds(data_dir / "keyword"),
                      "embeddings_s": float(emb_meta["build_seconds"]),
                      "distinct_passages": emb_meta["distinct"]}
    return out


def warm_latency(data_dir: Path, queries: list[str]) -> dict[str, Any]:
    from search.engine import Engine

    engine = Engine(data_dir=data_dir)
    engine.warm()  # as `kijun serve` does at start-up
    out: dict[str, Any] = {m: latency(lambda q, m=m: engine.search(q, mode=m), queries) for m in MODES}
    out["peak_rss_mb"] = peak_rss_mb()
    out["torch_imported"] = "torch" in sys.modules
    return out


def cold_cli(data_dir: Path, query: str, runs: int = 3) -> dict[str, Any]:
    out = {}
    for mode in ("keyword", "hybrid"):
        samples = [run_timed(kijun_command() + ["search", query, "--mode", mode, "--data-dir", str(data_dir)])
                   for _ in range(runs)]
        out[mode] = {"seconds": statistics.median(s["seconds"] for s in samples),
                     "peak_rss_mb": max(s["peak_rss_mb"] for s in samples)}
    return out


def reference(doc: Any, queries: list[str], keyword_p50_ms: float, keyword_build_s: float) -> dict[str, Any]:
    ref = Bm25sReference.build(doc)
    lat = latency(ref.search, queries)
    return {"bm25s_build_s": round(ref.build_seconds, 3), "bm25s": lat,
            "keyword_p50_ratio": round(keyword_p50_ms / max(lat["p50_ms"], 1e-3), 1),
            "keyword_build_ratio": round(keyword_build_s / max(ref.build_seconds, 1e-6), 1)}


def scale_point(n: int, workdir: Path, cache_from: Path, queries: list[str]) -> dict[str, Any]:
    """Build both indexes over a synthetic corpus of n criteria and time queries on it.

    The synthetic corpus recombines existing passages unedited, so the embedding
    cache (copied from the real build) covers them: the embedding stage times
    passage bookkeeping and vector assembly, not the model.
    """
    from bench.synthetic import synthetic_document
    from search.engine import Engine

    doc = synthetic_document(n, seed=0, edit_rate=0.0)
    root = workdir / f"scale-{n}"
    shutil.copytree(cache_from, root / "embeddings" / "index" / "cache")
    engine = Engine(data_dir=root, document=doc)
    started = time.perf_counter()
    engine.build(semantic=False)
    keyword_s = time.perf_counter() - started
    started = time.perf_counter()
    engine.semantic()
    embeddings_s = time.perf_counter() - started
    ref = Bm25sReference.build(doc)
    point = {"criteria": n, "keyword_build_s": round(keyword_s, 2), "embeddings_build_s": round(embeddings_s, 2),
             "bm25s_build_s": round(ref.build_seconds, 2),
             "keyword": latency(lambda q: engine.search(q, mode="keyword"), queries, warmup=1),
             "hybrid": latency(lambda q: engine.search(q, mode="hybrid"), queries, warmup=1),
             "bm25s": latency(ref.search, queries, warmup=1)}
    shutil.rmtree(root, ignore_errors=True)
    return point


# ------------------------------------------------------------------ report

def table(report: dict[str, Any]) -> str:
    b, w, c, r = report["build"], report["warm"], report["cold_cli"], report["reference"]
    lines = [
        f"machine: {report['machine']['cpu']}, {report['machine']['cores']} cores, "
        f"{report['machine']['memory_gib']} GiB, Python {report['machine']['python']}",
        "",
        "| what | figure |", "|---|---|",
        f"| build, cold (parse + keyword + embeddings) | {b['cold']['total_s']:.1f} s "
        f"(parse {b['parse_s']:.2f} s, keyword {b['cold']['keyword_s']:.1f} s, embeddings {b['cold']['embeddings_s']:.1f} s)"
        f"; peak RSS {b['cold']['peak_rss_mb']:.0f} MB |",
        f"| build, embedding cache warm | {b['cached']['total_s']:.1f} s "
        f"(keyword {b['cached']['keyword_s']:.1f} s, embeddings {b['cached']['embeddings_s']:.2f} s) |",
    ]
    for m in MODES:
        lines.append(f"| warm {m} query, p50 / p95 | {w[m]['p50_ms']:.1f} / {w[m]['p95_ms']:.1f} ms |")
    lines += [
        f"| warm search process, peak RSS | {w['peak_rss_mb']:.0f} MB (torch imported: {w['torch_imported']}) |",
        f"| cold `kijun search`, keyword / hybrid | {c['keyword']['seconds']:.2f} / {c['hybrid']['seconds']:.2f} s; "
        f"peak RSS {c['keyword']['peak_rss_mb']:.0f} / {c['hybrid']['peak_rss_mb']:.0f} MB |",
        f"| bm25s on the same tokens: build / query p50 | {r['bm25s_build_s']:.2f} s / {r['bm25s']['p50_ms']:.2f} ms "
        f"(kijun keyword is {r['keyword_build_ratio']}× / {r['keyword_p50_ratio']}×) |",
    ]
    if "load" in report:
        ld = report["load"]
        lines.append(f"| load: {ld['requests']} {ld['mode']} requests, {ld['clients']} clients | "
                     f"{ld['throughput_rps']} req/s, p50 {ld['p50_ms']} ms, p95 {ld['p95_ms']} ms, "
                     f"{ld['errors']} errors |")
    if report.get("scale"):
        lines += ["", "| criteria | keyword build | embeddings build | bm25s build | keyword p50 | hybrid p50 "
                      "| bm25s p50 | keyword / bm25s |", "|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for p in report["scale"]:
            lines.append(f"| {p['criteria']:,} | {p['keyword_build_s']:.1f} s | {p['embeddings_build_s']:.1f} s "
                         f"| {p['bm25s_build_s']:.1f} s | {p['keyword']['p50_ms']:.1f} ms | {p['hybrid']['p50_ms']:.1f} ms "
                         f"| {p['bm25s']['p50_ms']:.2f} ms "
                         f"| {p['keyword']['p50_ms'] / max(p['bm25s']['p50_ms'], 1e-3):.0f}× |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    from corpus.parser import parse_file
    from search.evaluation import load_eval_set

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="*", default=[1000, 10000, 50000])
    ap.add_argument("--scale-queries", type=int, default=10, help="dev queries timed at each scale point")
    ap.add_argument("--requests", type=int, default=2000, help="load test size (0 skips it)")
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--queries", type=Path, default=DEV_SET)
    ap.add_argument("--out", type=Path, default=ROOT / "data" / "bench-report.json")
    args = ap.parse_args(argv)

    queries = [q.query for q in load_eval_set(args.queries)]
    started = time.perf_counter()
    report: dict[str, Any] = {"machine": machine(), "queries": len(queries)}
    with tempfile.TemporaryDirectory(prefix="kijun-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        say = lambda msg: print(f"bench: {msg} ({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)  # noqa: E731
        say("building indexes (cold, then with the embedding cache)")
        report["build"] = build_stages(data_dir)
        say("warm latency")
        report["warm"] = warm_latency(data_dir, queries)
        say("cold CLI")
        report["cold_cli"] = cold_cli(data_dir, "パスワード")
        report["reference"] = reference(parse_file(), queries, report["warm"]["keyword"]["p50_ms"],
                                        report["build"]["cold"]["keyword_s"])
        if args.requests:
            say(f"load test ({args.requests} requests, {args.clients} clients)")
            report["load"] = load_test(data_dir, queries, requests=args.requests, clients=args.clients)
        report["scale"] = []
        for n in args.sizes:
            say(f"scale: {n:,} criteria")
            report["scale"].append(scale_point(n, Path(tmp), data_dir / "embeddings" / "index" / "cache",
                                               queries[: args.scale_queries]))
    report["peak_rss_mb"] = peak_rss_mb()
    report["bench_seconds"] = round(time.perf_counter() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    print(json.dumps(report, ensure_ascii=False, indent=1))
    print()
    print(table(report))
    print(f"\nreport written to {args.out}; whole run {report['bench_seconds']:.0f} s")


if __name__ == "__main__":
    main()
