"""The answer library at team scale (issue 25), measured in one run:

  1. warm hybrid search p50 with 0, 1,000, 10,000 and 50,000 entries (one engine per size, the
     dev queries run through all of them in turn, so the machine's drift hits every size alike);
  2. 4-client throughput of `kijun serve` with no library and with 10,000 entries (alternated);
  3. the first `kijun search` after `kijun library add` of 10,000 entries, against an ordinary
     cold search (no library), alternated;
  4. the longest search latency, 4 clients searching, while a 2,000-row sheet is imported through
     the API into the 10,000-entry library (the import works out its 2,000 rows meanwhile).

The entries are synthetic: the dev set's question-like items recombined with other wording (frames,
synonyms, two questions joined; seeded), their criteria from the items' labels (該当なし where the
item is unanswerable), 250 to a returned sheet. Their vectors are made in batches on numpy's BLAS
(`indexer.e5_numpy`, checked against the query encoder's), their profiles as a search makes them,
and kept between runs in data/bench/library/ (derived data, never committed): a library file and its
memory, which each size copies from. An add whose rows are stored already (by question) copies
them, so (3) times `kijun library add` reading the JSONL and writing the library and its memory.

    python bench/library_scale.py [--data-dir data] [--sizes 1000 10000 50000] [--requests 1000]
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.load import percentile, run_load  # noqa: E402
from tests.browser import kijun_command, server  # noqa: E402

DEV_SET = ROOT / "eval" / "dev.jsonl"
CACHE = ROOT / "data" / "bench" / "library"
LARGEST = 50_000
IMPORT_ROWS = 2_000
PER_SHEET = 250  # entries per returned sheet (file)
QUESTION_KINDS = ("questionnaire", "paraphrase", "english")
PREFIXES_JA = ("", "貴社では、", "御社において、", "クラウドサービスの利用にあたり、", "委託先として、", "当該システムについて、",
               "本サービスの提供にあたり、", "業務の委託先において、")
SUFFIXES_JA = ("", "（回答必須）", " 具体的な方法も記載してください。", " 該当する場合は、その頻度をご回答ください。",
               "（証跡の提出を求める場合があります）", " 実施していない場合は、その理由を記載してください。", "（年次点検項目）")
FRAMES_EN = ("{q}", "Please answer: {q}", "{q} Please provide evidence.", "Q: {q}", "For the cloud service, {q}",
             "{q} Describe how and how often.", "As our contractor, {q}", "{q} (mandatory)")
SYNONYMS = (("していますか", "されていますか"), ("実施", "実行"), ("定期的に", "年1回以上"), ("管理", "統制"),
            ("確認", "点検"), ("規程", "規定"), ("従業員", "社員"), ("データ", "情報"), ("手順", "手続き"),
            ("記録", "ログ"), ("しますか", "していますか"), ("ありますか", "ございますか"), ("対策", "措置"),
            ("定めて", "整備して"), ("保管", "保存"), ("外部", "社外"))
JOINERS_JA = ("{a} また、{b}", "{a}{b}", "{a} あわせて、{b}")
JOINERS_EN = ("{a} Also, {b}", "{a} {b}")


# ------------------------------------------------------------------ the synthetic library

def _items() -> list[dict[str, Any]]:
    items = [json.loads(line) for line in DEV_SET.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [i for i in items if i["kind"] in QUESTION_KINDS]


def _criteria(item: dict[str, Any]) -> tuple[str, ...]:
    if not item.get("answerable", True):
        return ()
    return tuple(k for k, g in sorted(item["relevant"].items(), key=lambda kv: -kv[1]) if g > 0)


def _reworded(item: dict[str, Any], rng: random.Random) -> str:
    q = item["query"]
    if item["kind"] == "english":
        return rng.choice(FRAMES_EN).format(q=q)
    for a, b in SYNONYMS:
        if a in q and rng.random() < 0.35:
            q = q.replace(a, b)
    return rng.choice(PREFIXES_JA) + q + rng.choice(SUFFIXES_JA)


def synthetic_entries(n: int, seed: int = 0, start: int = 0) -> list[Any]:
    """Entries start … start+n-1 of one seeded sequence (the same entry at the same place in every
    run): a reworded dev question, or two joined, with the items' criteria; PER_SHEET per file."""
    from search.library.store import ANSWERED, NOT_IN_DOCUMENT, Entry, Source, entry_id

    items = _items()
    rng = random.Random(seed)
    out, seen = [], set()
    k = 0
    while len(out) < start + n:
        a = rng.choice(items)
        if rng.random() < 0.3:
            b = rng.choice([i for i in items if (i["kind"] == "english") == (a["kind"] == "english")])
            joiners = JOINERS_EN if a["kind"] == "english" else JOINERS_JA
            question = rng.choice(joiners).format(a=_reworded(a, rng), b=_reworded(b, rng))
            criteria = tuple(dict.fromkeys(_criteria(a) + _criteria(b)))
        else:
            question, criteria = _reworded(a, rng), _criteria(a)
        if question in seen and rng.random() < 0.9:
            continue  # mostly distinct questions, as a team's library is; a few asked twice
        seen.add(question)
        sheet, row = divmod(k, PER_SHEET)
        k += 1
        if len(out) < start:
            out.append(None)
            continue
        file = f"チェックシート_{sheet + 1:04d}_回答.xlsx"
        source = Source(file, "チェックシート", row + 5, f"{sheet:064x}",
                        f"2026-{1 + sheet % 12:02d}-{1 + sheet % 28:02d}T10:00:00+09:00")
        out.append(Entry(entry_id(file, "チェックシート", row + 5), question, criteria,
                         "回答済み（本文書の記載による）" if criteria else "本文書の対象外です。",
                         ANSWERED if criteria else NOT_IN_DOCUMENT, source))
    return out[start:]


def _by_file(entries: Sequence[Any]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for e in entries:
        out.setdefault(e.source.file, []).append(e)
    return out


def _batched_vectors(engine: Any, texts: list[str], batch: int = 256) -> np.ndarray:
    """Query vectors in batches on numpy's BLAS (`indexer.e5_numpy`), as the query encoder makes them."""
    from search.engine import MAX_SEMANTIC_QUERY_CHARS

    engine.semantic()
    blas = engine._encoder.blas() if hasattr(engine._encoder, "blas") else None
    cut = [t[:MAX_SEMANTIC_QUERY_CHARS] for t in texts]
    if blas is None:  # another model: its own encoder, one text at a time
        return engine.encode_queries(cut)
    chunk, blas.chunk_tokens = blas.chunk_tokens, 4096  # larger products: faster for many short texts
    try:
        return np.concatenate([blas.query(cut[i:i + batch]) for i in range(0, len(cut), batch)]).astype(np.float32)
    finally:
        blas.chunk_tokens = chunk


def batch_agreement(engine: Any, texts: list[str]) -> float:
    """The lowest cosine between a batched vector and the query encoder's own, over `texts`."""
    batched = _batched_vectors(engine, texts)
    own = np.stack([engine.encode_query(t) for t in texts])
    return float(np.min(np.einsum("ij,ij->i", batched, own)))


def _rows_of(engine: Any, entries: Sequence[Any]) -> Any:
    """Rows as `kijun library add` works them out (`Engine._question_rows`), vectors batched."""
    from search.errors import QueryError
    from search.library.memory import Rows
    from search.query import parse_query

    texts = list(dict.fromkeys(e.question for e in entries))
    vectors = _batched_vectors(engine, texts)
    profiles = np.zeros((len(texts), len(engine.table)), np.float32)
    for i, (text, v) in enumerate(zip(texts, vectors)):
        try:
            q = parse_query(text)
        except QueryError:
            continue
        profiles[i] = engine.profile(engine.signals(q, {}, "semantic", vector=v))
    at = {t: i for i, t in enumerate(texts)}
    index = [at[e.question] for e in entries]
    return Rows.of(entries, vectors[index], profiles[index])


def cached_library(engine: Any, say: Callable[[str], None], n: int = LARGEST, cache: Path = CACHE
                   ) -> tuple[Any, Any]:
    """The largest synthetic library with its memory, made once and kept in `cache` (resumable: rows
    are stored every 5,000); returns (its entries, their rows)."""
    from search.library.memory import Sidecar, question_hash
    from search.library.store import Library

    entries = synthetic_entries(n)
    cache.mkdir(parents=True, exist_ok=True)
    library = Library(cache / "library.sqlite3")
    if {(e.id, e.question) for e in library.entries()} != {(e.id, e.question) for e in entries}:
        for stale in cache.glob("library.sqlite3*"):  # made by another generator: made again (rows kept by question)
            if stale.is_file():
                stale.unlink()
        library = Library(cache / "library.sqlite3")
        library.replace(_by_file(entries))
    key = engine._recall_cache_key()
    sidecar = Sidecar(library.path)
    wanted = {e.id: question_hash(e.question) for e in entries}
    stored = sidecar.load(key)
    have = stored.row_of if stored is not None else {}
    todo = [e for e in entries if (e.id, wanted[e.id]) not in have]
    if todo:
        say(f"working out {len(todo):,} synthetic entries' rows once (kept in {cache})")
        started = time.perf_counter()
        for k in range(0, len(todo), 5_000):
            chunk = todo[k:k + 5_000]
            sidecar.store(key, _rows_of(engine, chunk), lambda: wanted)
            done = k + len(chunk)
            say(f"  {done:,} of {len(todo):,} ({(time.perf_counter() - started) / done * 1000:.1f} ms an entry)")
        stored = sidecar.load(key)
    at = stored.row_of
    return entries, stored.take([at[(e.id, wanted[e.id])] for e in entries])


def library_at(path: Path, entries: Sequence[Any], rows: Any, key: str) -> Any:
    """A library of these entries with their memory stored, as `kijun library add` leaves it."""
    from search.library.memory import Sidecar, question_hash
    from search.library.store import Library

    library = Library(path)
    library.replace(_by_file(entries))
    ids = {e.id for e in entries}
    Sidecar(path).store(key, rows.take([n for n, i in enumerate(rows.ids) if str(i) in ids]),
                        lambda: {e.id: question_hash(e.question) for e in entries})
    return library


# ------------------------------------------------------------------ measurements

def _vm_rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024


def warm_latency(data_dir: Path, libraries: dict[int, Any], queries: list[str], rounds: int = 2
                 ) -> dict[str, Any]:
    """Hybrid p50/p95 per library size, every query run on each size's engine in turn."""
    from search.engine import Engine

    engines, rss = {}, {}
    for n, library in libraries.items():
        before = _vm_rss_mb()
        engines[n] = Engine(data_dir=data_dir, query_backend="onnx", library=library)
        engines[n].warm()
        rss[n] = round(_vm_rss_mb() - before, 1)
    for e in engines.values():
        for q in queries[:5]:
            e.search(q)
    times: dict[int, list[float]] = {n: [] for n in engines}
    recalled = {n: 0 for n in engines}
    for _ in range(rounds):
        for q in queries:
            for n, e in engines.items():
                started = time.perf_counter()
                r = e.search(q)
                times[n].append((time.perf_counter() - started) * 1000)
                recalled[n] += bool(r.library)
    out: dict[str, Any] = {}
    for n in engines:
        memory = engines[n].memory().current() if libraries[n] is not None else None
        out[str(n)] = {"entries": n, "p50_ms": round(statistics.median(times[n]), 2),
                       "p95_ms": round(percentile(times[n], 95), 2), "searches": len(times[n]),
                       "with_past_answers": recalled[n],
                       "memory_mb": round((memory.vectors.nbytes + memory.profiles.nbytes) / 2**20, 1) if memory else 0,
                       "rss_added_mb": rss[n]}
    base = out["0"]["p50_ms"]
    for v in out.values():
        v["ratio"] = round(v["p50_ms"] / base, 2)
    return out


def _timed(cmd: list[str], env: dict[str, str]) -> float:
    import subprocess

    started = time.perf_counter()
    done = subprocess.run(cmd, env=os.environ | env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"`{' '.join(cmd)}` failed:\n{done.stderr}")
    return time.perf_counter() - started


def cli_after_add(data_dir: Path, tmp: Path, entries: Sequence[Any], rows: Any, key: str, query: str,
                  runs: int = 3) -> dict[str, Any]:
    """`kijun library add` of the entries' export (their rows stored beforehand, by question: the
    add copies them), then `kijun search` cold, alternated with a cold search without a library."""
    from search.library import jsonl
    from search.library.memory import Sidecar, question_hash

    export = tmp / "library-export.jsonl"
    with export.open("w", encoding="utf-8") as f:
        jsonl.write(entries, f)
    path = tmp / "cli" / "library.sqlite3"
    path.parent.mkdir()
    Sidecar(path).store(key, rows, lambda: {e.id: question_hash(e.question) for e in entries})  # rows, no entries yet
    env = {"KIJUN_LIBRARY": str(path)}
    add_s = _timed(kijun_command() + ["library", "add", str(export), "--data-dir", str(data_dir)], env)
    search = kijun_command() + ["search", query, "--mode", "hybrid", "--data-dir", str(data_dir)]
    with_library, without = [], []
    for _ in range(runs):
        with_library.append(_timed(search, env))
        without.append(_timed(search, {"KIJUN_LIBRARY": str(tmp / "none.sqlite3")}))
    return {"entries": len(entries), "add_s": round(add_s, 2), "first_search_s": round(with_library[0], 2),
            "search_s": round(statistics.median(with_library), 2), "cold_search_s": round(statistics.median(without), 2),
            "ratio": round(with_library[0] / statistics.median(without), 2)}


def throughput(data_dir: Path, library_path: Path, queries: list[str], requests: int, clients: int = 4
               ) -> dict[str, Any]:
    """req/s of `kijun serve` without and with the library, alternated (none, library, none, library)."""
    runs: dict[str, list[dict[str, Any]]] = {"none": [], "library": []}
    for name in ("none", "library", "none", "library"):
        env = {"KIJUN_LIBRARY": str(library_path if name == "library" else library_path.with_name("none.sqlite3"))}
        with server(data_dir, env=env) as s:
            run_load(s.base, queries, requests=min(len(queries), 20), clients=1, mode="hybrid")
            runs[name].append(run_load(s.base, queries, requests=requests // 2, clients=clients, mode="hybrid"))
    out = {}
    for name, rs in runs.items():
        seconds = sum(r["seconds"] for r in rs)
        out[name] = {"requests": sum(r["requests"] for r in rs), "errors": sum(r["errors"] for r in rs),
                     "throughput_rps": round(sum(r["requests"] for r in rs) / seconds, 1)}
    out["ratio"] = round(out["library"]["throughput_rps"] / out["none"]["throughput_rps"], 2)
    out["clients"] = clients
    return out


def returned_sheet(entries: Sequence[Any]) -> bytes:
    """The entries as a returned check sheet (CSV): 質問, 判定, 該当基準, 回答案."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["No.", "質問", "判定", "該当基準", "回答案"])
    for k, e in enumerate(entries, 1):
        w.writerow([k, e.question, "回答候補あり" if e.criteria else "該当なし", "、".join(e.criteria), e.answer])
    return buf.getvalue().encode("utf-8")


def search_while_importing(data_dir: Path, library_path: Path, sheet: bytes, queries: list[str],
                           clients: int = 4, before_s: float = 62.0) -> dict[str, Any]:
    """4 clients search (hybrid) alone for `before_s` seconds (the first 2 not counted), then while the
    sheet is imported through the API: the latency of every search that overlapped the import, beside
    those of the same clients searching alone."""
    import http.client
    import urllib.parse

    stop = threading.Event()
    spans: list[tuple[float, float]] = []
    errors: list[str] = []
    with server(data_dir, env={"KIJUN_LIBRARY": str(library_path)}, timeout=300) as s:
        url = urllib.parse.urlsplit(s.base)
        run_load(s.base, queries, requests=min(len(queries), 20), clients=1, mode="hybrid")

        def client(offset: int) -> None:
            conn = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
            k = offset
            while not stop.is_set():
                path = "/api/search?" + urllib.parse.urlencode({"q": queries[k % len(queries)], "mode": "hybrid"})
                k += clients
                started = time.perf_counter()
                conn.request("GET", path)
                r = conn.getresponse()
                r.read()
                spans.append((started, time.perf_counter()))
                if r.status != 200:
                    errors.append(str(r.status))
            conn.close()

        threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
        for t in threads:
            t.start()
        time.sleep(before_s)  # searching alone first: the same clients' latencies without an import
        began_alone = time.perf_counter() - before_s
        boundary = "kijun-bench-boundary"
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"import.csv\"\r\n"
                "Content-Type: text/csv\r\n\r\n").encode() + sheet + f"\r\n--{boundary}--\r\n".encode()
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=3600)
        began = time.perf_counter()
        conn.request("POST", "/api/library", body=body,
                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        r = conn.getresponse()
        answer = json.loads(r.read())
        ended = time.perf_counter()
        time.sleep(1.0)
        stop.set()
        for t in threads:
            t.join()
        check = json.loads(_get(s.base, "/api/search?" + urllib.parse.urlencode({"q": sheet_question(sheet)})))
    alone = [(b - a) * 1000 for a, b in spans if a >= began_alone + 2.0 and b < began]
    during = [(b - a) * 1000 for a, b in spans if b >= began and a <= ended]
    slowest = sorted(((b - a, a - began) for a, b in spans if b >= began and a <= ended), reverse=True)[:5]
    return {"import_s": round(ended - began, 1), "import_status": r.status, "added": answer.get("added"),
            "slowest": [{"ms": round(d * 1000, 1), "started_s": round(at, 1)} for d, at in slowest],
            "searches_during": len(during), "longest_ms": round(max(during), 1) if during else None,
            "p50_ms": round(statistics.median(during), 1) if during else None,
            "p95_ms": round(percentile(during, 95), 1) if during else None, "errors": len(errors),
            "new_entry_recalled_after": bool(check["library"]) and check["library"][0]["question"] == sheet_question(sheet),
            "without_import": {"searches": len(alone), "longest_ms": round(max(alone), 1) if alone else None,
                               "p50_ms": round(statistics.median(alone), 1) if alone else None,
                               "p95_ms": round(percentile(alone, 95), 1) if alone else None}}


def sheet_question(sheet: bytes) -> str:
    return next(csv.reader(io.StringIO(sheet.decode("utf-8").splitlines()[1])))[1]


def _get(base: str, path: str) -> bytes:
    import urllib.request

    with urllib.request.urlopen(base + path, timeout=60) as r:
        return r.read()


# ------------------------------------------------------------------ the whole

def run(data_dir: Path, *, sizes: Sequence[int] = (1_000, 10_000, LARGEST), requests: int = 1_000,
        import_rows: int = IMPORT_ROWS, cache: Path = CACHE, say: Callable[[str], None] = lambda m: None
        ) -> dict[str, Any]:
    from search.engine import Engine
    from search.evaluation import load_eval_set
    from search.library.store import Library

    queries = [q.query for q in load_eval_set(DEV_SET)]
    engine = Engine(data_dir=data_dir, query_backend="onnx")
    engine.warm()
    key = engine._recall_cache_key()
    report: dict[str, Any] = {"batch_vectors_min_cosine": round(batch_agreement(engine, queries[:64]), 5)}
    entries, rows = cached_library(engine, say, max(sizes), cache)
    del engine
    with tempfile.TemporaryDirectory(prefix="kijun-library-scale-") as tmp_name:
        tmp = Path(tmp_name)
        libraries = {0: Library(tmp / "empty.sqlite3")}
        for n in sizes:
            libraries[n] = library_at(tmp / f"library-{n}.sqlite3", entries[:n], rows, key)
        say(f"library: warm search with {', '.join(f'{n:,}' for n in libraries)} entries")
        report["warm"] = warm_latency(data_dir, libraries, queries)
        middle = 10_000 if 10_000 in sizes else sizes[len(sizes) // 2]
        say(f"library: the first CLI search after adding {middle:,} entries")
        report["cli"] = cli_after_add(data_dir, tmp, entries[:middle], rows.take(range(middle)), key, queries[0])
        if requests:
            say(f"library: 4-client throughput with {middle:,} entries")
            report["throughput"] = throughput(data_dir, libraries[middle].path, queries, requests)
        say(f"library: searching while {import_rows:,} rows are imported into {middle:,} entries")
        report["import"] = search_while_importing(data_dir, libraries[middle].path,
                                                  returned_sheet(synthetic_entries(import_rows, start=max(sizes))),
                                                  queries)
        report["import"]["into"] = middle
    return report


def table(report: dict[str, Any]) -> list[str]:
    w, c, i = report["warm"], report["cli"], report["import"]
    a = i["without_import"]
    t = report.get("throughput")
    lines = ["| answer library | search p50 / p95 (hybrid, warm) | × no library | past answers shown | memory (rows) |",
             "|---:|---:|---:|---:|---:|"]
    for v in w.values():
        lines.append(f"| {v['entries']:,} entries | {v['p50_ms']:.1f} / {v['p95_ms']:.1f} ms | {v['ratio']:.2f}× "
                     f"| {v['with_past_answers']} of {v['searches']} | {v['memory_mb']:.0f} MB |")
    lines += ["", "| what | figure |", "|---|---|"]
    if t is not None:
        lines.append(f"| 4 clients, hybrid: no library / {c['entries']:,} entries | {t['none']['throughput_rps']} / "
                     f"{t['library']['throughput_rps']} req/s ({t['ratio']:.2f}×), "
                     f"{t['none']['errors'] + t['library']['errors']} errors |")
    lines += [
              f"| first `kijun search` after `kijun library add` of {c['entries']:,} entries / an ordinary cold search "
              f"| {c['first_search_s']:.2f} / {c['cold_search_s']:.2f} s ({c['ratio']:.2f}×); the add {c['add_s']:.1f} s |",
              f"| longest search while {i['added']:,} rows are imported through the API into {i['into']:,} entries, "
              f"4 clients | {i['longest_ms']:.0f} ms (p50 {i['p50_ms']:.0f}, p95 {i['p95_ms']:.0f} ms over "
              f"{i['searches_during']} searches, {i['errors']} errors); the import {i['import_s']:.0f} s |",
              f"| the same 4 clients searching alone, for 60 s before the import | longest {a['longest_ms']:.0f} ms "
              f"(p50 {a['p50_ms']:.0f}, p95 {a['p95_ms']:.0f} ms over {a['searches']} searches) |",
              f"| batched vectors against the query encoder's (64 dev queries) | cosine ≥ {report['batch_vectors_min_cosine']} |"]
    return lines


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=ROOT / "data")
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, LARGEST])
    ap.add_argument("--requests", type=int, default=1_000, help="load test requests per library setting")
    ap.add_argument("--import-rows", type=int, default=IMPORT_ROWS)
    ap.add_argument("--cache", type=Path, default=CACHE, help="where the synthetic library and its rows are kept")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    report = run(args.data_dir, sizes=args.sizes, requests=args.requests, import_rows=args.import_rows, cache=args.cache,
                 say=lambda m: print(f"bench: {m} ({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True))
    print(json.dumps(report, ensure_ascii=False, indent=1))
    print("\n".join(table(report)))


if __name__ == "__main__":
    main()
