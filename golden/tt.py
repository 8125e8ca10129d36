"""TT-matrix layers: format, init, PRS and sequential contraction, float and SMX.

A weight W of shape (M, N), M = prod(in_modes), N = prod(out_modes), is
stored as d cores G_k of shape (r_{k-1}, m_k, n_k, r_k) with r_0 = r_d = 1:

    W[(i_1..i_d), (j_1..j_d)] = G_1[:, i_1, j_1, :] @ ... @ G_d[:, i_d, j_d, :]

Row and column multi-indices are row-major (i = ((i_1*m_2 + i_2)*m_3 + ...)).
A layer computes Y = X W with X of shape (batch, M).

Two ways to apply the layer (docs/tt.md gives every GEMM and permutation):

* **PRS** (partial reconstruction, split point s, 1 <= s < d): the halves
  L = G_1..G_s (M1, N1, r_s) and R = G_{s+1}..G_d (r_s, M2, N2) are
  reconstructed once per weight update; Y = (X . L) . R is two GEMMs.
* **Sequential**: X is contracted with one core at a time (d GEMMs).

Both run in float (float32 or float64) or in hardware-exact SMX numerics
(``golden/smx.py``). The same code drives both: a *numerics backend* supplies
"quantize an operand" and "GEMM two operands"; the float backend casts and
multiplies, the SMX backend quantizes to SMX blocks and runs the exact
integer GEMM. So the float tests check the exact GEMM/permutation structure
that the quantized (hardware) path uses.

Every GEMM the engine runs is logged as a :class:`GemmAction`; the analytic
:meth:`TTMatrix.gemm_actions` predicts the same list for cost models.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

__all__ = [
    "TTFactorization",
    "factorize",
    "pad_columns",
    "TTMatrix",
    "FloatNumerics",
    "SMXNumerics",
    "GemmAction",
    "TTContext",
    "TTGrads",
    "measure_prs_vs_sequential",
]


# ---------------------------------------------------------------------------
# Factorization of layer widths into TT modes
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TTFactorization:
    """Proposed TT modes for a layer width.

    Members
    -------
    width : int
        The requested width (features).
    pad_to : int
        The padded width, prod(modes) >= width.
    modes : tuple[int, ...]
        The d modes, in non-decreasing order.
    pad : int
        pad_to - width: zero features the caller appends (:func:`pad_columns`).
    """

    width: int
    pad_to: int
    modes: tuple[int, ...]

    @property
    def pad(self) -> int:
        return self.pad_to - self.width


def _balanced_factors(p: int, d: int, min_mode: int) -> tuple[int, ...] | None:
    """The most balanced way to write p as a product of d factors >= min_mode.

    Balance is max/min (ties: lexicographically smallest sorted tuple, so the
    answer is deterministic). None if no such factorization exists.
    """
    best: tuple[float, tuple[int, ...]] | None = None

    def rec(rest: int, k: int, lo: int, acc: tuple[int, ...]) -> None:
        nonlocal best
        if k == 1:
            if rest >= lo:
                cand = acc + (rest,)
                key = (cand[-1] / cand[0], cand)
                if best is None or key < best:
                    best = key
            return
        f = lo
        # Factors are generated in non-decreasing order; f**k <= rest bounds f.
        while f ** k <= rest:
            if rest % f == 0:
                rec(rest // f, k - 1, f, acc + (f,))
            f += 1

    rec(p, d, max(1, min_mode), ())
    return None if best is None else best[1]


def factorize(width: int, d: int, *, max_ratio: float = 2.0, min_mode: int = 2) -> TTFactorization:
    """Propose d TT modes for a layer width, padding the width if needed.

    Rule: pad_to is the smallest integer P >= width that can be written as a
    product of d integers >= ``min_mode`` whose largest/smallest ratio is at
    most ``max_ratio``; the modes are the most balanced such factorization,
    sorted ascending. Balanced modes keep the TT ranks' effect even and the
    PRS halves M1, M2 (GEMM dimensions) similar in size.

    Examples (d, max_ratio=2): 21, d=3 -> 24 = 2*3*4; 101, d=2 -> 104 = 8*13;
    101, d=4 -> 108 = 3*3*3*4; 256, d=4 -> 4*4*4*4; 512, d=3 -> 8*8*8.

    Raises ValueError for width < 1, d < 1, max_ratio < 1 or min_mode < 1.
    """
    if isinstance(width, bool) or not isinstance(width, (int, np.integer)) or width < 1:
        raise ValueError(f"factorize: width must be a positive integer, got {width!r}")
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1:
        raise ValueError(f"factorize: d (number of cores) must be a positive integer, got {d!r}")
    if not max_ratio >= 1.0:
        raise ValueError(f"factorize: max_ratio must be >= 1, got {max_ratio!r}")
    if min_mode < 1:
        raise ValueError(f"factorize: min_mode must be >= 1, got {min_mode!r}")
    p = max(int(width), int(min_mode) ** int(d))
    while True:
        f = _balanced_factors(p, int(d), int(min_mode))
        if f is not None and f[-1] <= max_ratio * f[0]:
            return TTFactorization(width=int(width), pad_to=p, modes=f)
        p += 1


def pad_columns(x: np.ndarray, width: int) -> np.ndarray:
    """Zero-pad a (batch, w) array on the right to (batch, width), width >= w."""
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"pad_columns: x must be 2-D (batch, features), got shape {x.shape}")
    if width < x.shape[1]:
        raise ValueError(f"pad_columns: target width {width} is smaller than x's {x.shape[1]} columns")
    if width == x.shape[1]:
        return x
    return np.concatenate([x, np.zeros((x.shape[0], width - x.shape[1]), dtype=x.dtype)], axis=1)


# ---------------------------------------------------------------------------
# GEMM log and numerics backends
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class GemmAction:
    """One GEMM C (m x n) = op(A) (m x k) . op(B) (k x n).

    ``bits_a``/``bits_b`` are the SMX element widths of the operands (None in
    float mode); ``transpose_a``/``transpose_b`` say whether the stored tensor
    is read transposed (address generation, no copy). Shapes are the logical
    (unpadded) sizes; the SMX hardware pads each to a multiple of 4.
    ``phase`` is one of "reconstruct", "forward", "backward", "core_grad";
    ``name`` labels the GEMM (see docs/tt.md). ``fp32_chunked`` marks the
    weight-gradient GEMMs whose reduction runs over the batch (dR, dL, and
    the sequential core gradients): in SMX mode they run as
    ``smx_matmul_fp32``, whose output is FP32, accumulated chunk by chunk
    (docs/numerics.md §3, "Long reductions"), so any batch size works.
    """

    phase: str
    name: str
    m: int
    k: int
    n: int
    bits_a: int | None
    bits_b: int | None
    transpose_a: bool = False
    transpose_b: bool = False
    fp32_chunked: bool = False

    def reduction_chunks(self, cfg: Any = None) -> int:
        """Chunks the reduction runs in: ceil(ceil(k/4) / max_reduction_blocks(cfg)) if
        ``fp32_chunked``, else 1."""
        if not self.fp32_chunked:
            return 1
        from .smx import max_reduction_blocks

        return -(-(-(-self.k // 4)) // max_reduction_blocks(cfg))

    @property
    def macs(self) -> int:
        """Useful multiply-accumulates, m*k*n."""
        return self.m * self.k * self.n

    def padded_macs(self, block: int = 4) -> int:
        """MACs the SMX array performs: each dimension padded to a multiple of ``block``."""
        up = lambda v: -(-v // block) * block  # noqa: E731
        return up(self.m) * up(self.k) * up(self.n)


@dataclass
class _Operand:
    """A stored GEMM operand: backend data plus its logical 2-D shape."""

    data: Any
    shape: tuple[int, int]
    bits: int | None


class FloatNumerics:
    """Float numerics: operands are cast to ``dtype`` and multiplied with NumPy.

    dtype is np.float32 or np.float64; every intermediate stays in dtype.
    """

    quantized = False

    def __init__(self, dtype: Any = np.float64):
        dt = np.dtype(dtype)
        if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise ValueError(f"FloatNumerics: dtype must be float32 or float64, got {dt}")
        self.dtype = dt
        self.core_dtype = dt
        self.key = ("float", dt.str)

    def recon_numerics(self):
        return self

    def quant(self, x: np.ndarray, kind: str) -> _Operand:
        x = np.ascontiguousarray(x, dtype=self.dtype)
        return _Operand(x, x.shape, None)

    def gemm(self, a: _Operand, b: _Operand, ta: bool = False, tb: bool = False) -> tuple[np.ndarray, Any]:
        A = a.data.T if ta else a.data
        B = b.data.T if tb else b.data
        return A @ B, None

    def gemm_fp32(self, a: _Operand, b: _Operand, ta: bool = False, tb: bool = False) -> tuple[np.ndarray, Any]:
        """A batch-reduction GEMM (``GemmAction.fp32_chunked``); in float mode the same as gemm."""
        return self.gemm(a, b, ta, tb)

    def out(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x, dtype=self.dtype)


class SMXNumerics:
    """Hardware-exact SMX numerics (golden/smx.py, docs/numerics.md).

    Every operand is quantized to SMX with the width of its kind:
    ``weight_bits`` for cores, L, R ("w"); ``act_bits`` for X and the PRS
    intermediate T ("a"); ``grad_bits`` for dY, dT and the core-gradient
    chain ("g"). GEMM results are the exact accumulator values (float64,
    exact because the accumulator is at most 53 bits wide).
    """

    quantized = True

    def __init__(self, cfg: Any = None, *, weight_bits: int = 8, act_bits: int = 8, grad_bits: int = 12, reconstruct: str = "smx"):
        for name, b in (("weight_bits", weight_bits), ("act_bits", act_bits), ("grad_bits", grad_bits)):
            if b not in (4, 8, 12):
                raise ValueError(f"SMXNumerics: {name} must be one of 4, 8, 12 (SMX element widths), got {b!r}")
        if reconstruct not in ("smx", "fp32"):
            raise ValueError(f"SMXNumerics: reconstruct must be 'smx' (SMX GEMMs on quantized cores) or 'fp32' (fixed-order FP32 contraction), got {reconstruct!r}")
        from . import smx as _smx  # late import: smx.py is written separately

        self._smx = _smx
        self.cfg = cfg
        self.bits = {"w": weight_bits, "a": act_bits, "g": grad_bits}
        self.reconstruct = reconstruct
        self.dtype = np.dtype(np.float64)
        # The master cores are FP32 (algorithms.md §6): float64 cores are
        # rounded once to FP32 before any use in SMX mode.
        self.core_dtype = np.dtype(np.float32)
        self.key = ("smx", weight_bits, act_bits, grad_bits, reconstruct, cfg)

    def recon_numerics(self):
        """Backend of the PRS core chain (reconstruction and core gradients)."""
        return self if self.reconstruct == "smx" else _FP32Fixed()

    def quant(self, x: np.ndarray, kind: str) -> _Operand:
        x = np.asarray(x, dtype=np.float64)
        b = self.bits[kind]
        return _Operand(self._smx.smx_quantize(x, b, cfg=self.cfg), x.shape, b)

    def gemm(self, a: _Operand, b: _Operand, ta: bool = False, tb: bool = False) -> tuple[np.ndarray, Any]:
        acc = self._smx.smx_matmul(a.data, b.data, transpose_a=ta, transpose_b=tb, cfg=self.cfg)
        return np.asarray(acc.to_float(), dtype=np.float64), acc

    def gemm_fp32(self, a: _Operand, b: _Operand, ta: bool = False, tb: bool = False) -> tuple[np.ndarray, Any]:
        """A batch-reduction GEMM: ``smx_matmul_fp32`` (FP32 sum of chunk accumulators,
        any reduction length); its FP32 values returned as float64, no accumulator."""
        c = self._smx.smx_matmul_fp32(a.data, b.data, transpose_a=ta, transpose_b=tb, cfg=self.cfg)
        return c.astype(np.float64), None

    def out(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x, dtype=np.float64)


class _FP32Fixed:
    """FP32 GEMM with a fixed summation order, for the 'fp32' PRS chain.

    C = sum_t A[:, t] B[t, :] accumulated in FP32 for t = 0, 1, ..., K-1,
    each product and each sum rounded to FP32 (nearest-even, no fused
    multiply-add). Element-wise IEEE operations make it bit-reproducible,
    unlike a BLAS matmul whose summation order is unspecified.
    Operands are logged with width 32.
    """

    quantized = True
    dtype = np.dtype(np.float32)
    core_dtype = np.dtype(np.float32)

    def quant(self, x: np.ndarray, kind: str) -> _Operand:
        x = np.ascontiguousarray(x, dtype=np.float32)
        return _Operand(x, x.shape, 32)

    def gemm(self, a: _Operand, b: _Operand, ta: bool = False, tb: bool = False) -> tuple[np.ndarray, Any]:
        A = a.data.T if ta else a.data
        B = b.data.T if tb else b.data
        acc = A[:, 0:1] * B[0:1, :]
        for t in range(1, A.shape[1]):
            acc = acc + A[:, t : t + 1] * B[t : t + 1, :]
        return acc.astype(np.float64), None

    gemm_fp32 = gemm  # already FP32: chunking changes nothing


def _as_numerics(numerics: Any) -> FloatNumerics | SMXNumerics:
    if isinstance(numerics, (FloatNumerics, SMXNumerics)):
        return numerics
    if numerics in ("float64", np.float64):
        return FloatNumerics(np.float64)
    if numerics in ("float32", np.float32):
        return FloatNumerics(np.float32)
    if numerics == "smx":
        return SMXNumerics()
    raise ValueError(f"numerics must be 'float64', 'float32', 'smx' or a FloatNumerics/SMXNumerics object, got {numerics!r}")


class _Runner:
    """Wraps a numerics backend and logs every GEMM as a GemmAction."""

    def __init__(self, nm: FloatNumerics | SMXNumerics, log: list[GemmAction] | None):
        self.nm = nm
        self.log = log

    def quant(self, x: np.ndarray, kind: str) -> _Operand:
        return self.nm.quant(x, kind)

    def gemm(self, phase: str, name: str, a: _Operand, b: _Operand, ta: bool = False, tb: bool = False, fp32_chunked: bool = False):
        m, ka = (a.shape[1], a.shape[0]) if ta else a.shape
        kb, n = (b.shape[1], b.shape[0]) if tb else b.shape
        if ka != kb:  # a bug in this module, never a user error
            raise AssertionError(f"GEMM {name}: inner sizes {ka} != {kb}")
        if self.log is not None:
            self.log.append(GemmAction(phase, name, m, ka, n, a.bits, b.bits, ta, tb, fp32_chunked))
        c, acc = (self.nm.gemm_fp32 if fp32_chunked else self.nm.gemm)(a, b, ta, tb)
        return c, acc


# ---------------------------------------------------------------------------
# Chain contraction (reconstruction of a run of cores) and its backward
# ---------------------------------------------------------------------------


def _chain_forward(run: _Runner, cores: Sequence[np.ndarray], tag: str) -> tuple[np.ndarray, list]:
    """Contract a run of cores left to right into P (r_a, M, N, r_b).

    Step with core G (r, m, n, r'): C = P_mat (r_a*M*N, r) @ G_mat (r, m*n*r'),
    then C (r_a, M, N, m, n, r') is permuted to (r_a, M, m, N, n, r') and
    viewed as (r_a, M*m, N*n, r'). The first core is P itself (no GEMM).
    Returns P (exact values after the last GEMM) and the tape for backward.
    """
    p = np.asarray(cores[0])
    tape = []
    for k, g in enumerate(cores[1:], start=1):
        ra, M, N, r = p.shape
        _, m, n, r2 = g.shape
        a = run.quant(p.reshape(ra * M * N, r), "w")
        b = run.quant(g.reshape(r, m * n * r2), "w")
        c, _ = run.gemm("reconstruct", f"{tag}.chain{k}", a, b)
        p = c.reshape(ra, M, N, m, n, r2).transpose(0, 1, 3, 2, 4, 5).reshape(ra, M * m, N * n, r2)
        tape.append((a, b, (ra, M, N, r), g.shape))
    return p, tape


def _chain_backward(run: _Runner, dp: np.ndarray, tape: list, first_shape: tuple, tag: str) -> list[np.ndarray]:
    """Gradients of the cores of a chain from dL/dP (same shape as P).

    Reverse of each step: dC = inverse permutation of dP, quantized as a
    gradient; dG_mat = P_mat^T . dC and dP_prev = dC . G_mat^T, both reading
    the forward's stored operands transposed. The first core's gradient is
    dP_prev of the first step (or dP itself for a one-core chain).
    """
    grads: list[np.ndarray] = []
    for k in range(len(tape), 0, -1):
        a, b, (ra, M, N, r), (_, m, n, r2) = tape[k - 1]
        dc = dp.reshape(ra, M, m, N, n, r2).transpose(0, 1, 3, 2, 4, 5).reshape(ra * M * N, m * n * r2)
        dcq = run.quant(dc, "g")
        dg, _ = run.gemm("core_grad", f"{tag}.dcore{k}", a, dcq, ta=True)
        dpp, _ = run.gemm("core_grad", f"{tag}.dchain{k}", dcq, b, tb=True)
        grads.append(dg.reshape(r, m, n, r2))
        dp = dpp.reshape(ra, M, N, r)
    grads.append(dp.reshape(first_shape))
    grads.reverse()
    return grads


# ---------------------------------------------------------------------------
# Contexts and results
# ---------------------------------------------------------------------------


@dataclass
class TTContext:
    """What a forward pass keeps for its backward pass.

    Members
    -------
    y : np.ndarray
        (batch, N) output. Float mode: in the numerics' dtype. SMX mode: the
        exact accumulator values as float64.
    acc : SMXAccumulator or None
        SMX mode: the final GEMM's accumulator, logical shape (batch*N1, N2)
        for PRS or (batch*N_{<d}, n_d) for sequential; it holds the same
        values as ``y`` in a different 2-D view. None in float mode.
    method, split, numerics : how the pass ran.
    actions : list[GemmAction]
        GEMMs run by this forward (and reconstruction, if it was not cached).
    """

    y: np.ndarray
    acc: Any
    method: str
    split: int | None
    numerics: Any
    actions: list
    batch: int
    version: int
    _saved: dict = field(default_factory=dict, repr=False)


@dataclass
class TTGrads:
    """Gradients from a backward pass.

    Members
    -------
    dx : np.ndarray
        (batch, M), dLoss/dX.
    dcores : list[np.ndarray]
        dLoss/dG_k, each of shape (r_{k-1}, m_k, n_k, r_k). SMX mode: FP32
        (PRS chain: one round-to-nearest-even of the exact accumulator value;
        sequential: ``smx_matmul_fp32``, as the reduction runs over the batch).
    dL, dR : np.ndarray or None
        PRS only: dLoss/dL (M1, N1, r_s) and dLoss/dR (r_s, M2, N2). SMX
        mode: the FP32 values of ``smx_matmul_fp32`` (batch reductions,
        FP32-accumulated in chunks), held in float64 arrays.
    actions : list[GemmAction]
        GEMMs this backward ran.
    """

    dx: np.ndarray
    dcores: list
    dL: np.ndarray | None
    dR: np.ndarray | None
    actions: list


@dataclass
class _Halves:
    """Reconstructed PRS halves, cached per (split, numerics, weight version)."""

    L: np.ndarray  # (M1, N1, r) exact values from reconstruction
    R: np.ndarray  # (r, M2, N2)
    Lq: _Operand  # stored operand (M1, N1*r)
    Rq: _Operand  # stored operand (r*M2, N2)
    tape_L: list
    tape_R: list
    actions: list


# ---------------------------------------------------------------------------
# The TT matrix
# ---------------------------------------------------------------------------


_INITS = ("glorot", "he", "lecun")


def _check_modes(name: str, modes: Any) -> tuple[int, ...]:
    try:
        t = tuple(modes)
    except TypeError:
        raise ValueError(f"TTMatrix: {name} must be a sequence of positive integers, got {modes!r}") from None
    if not t:
        raise ValueError(f"TTMatrix: {name} must not be empty")
    for v in t:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"TTMatrix: {name} must contain positive integers, got {modes!r}")
    return tuple(int(v) for v in t)


def _normalize_ranks(ranks: Any, d: int) -> tuple[int, ...]:
    """Ranks as the full tuple (r_0=1, r_1, ..., r_{d-1}, r_d=1)."""
    if isinstance(ranks, (int, np.integer)) and not isinstance(ranks, bool):
        if ranks < 1:
            raise ValueError(f"TTMatrix: rank must be >= 1, got {ranks}")
        return (1,) + (int(ranks),) * (d - 1) + (1,)
    try:
        r = tuple(ranks)
    except TypeError:
        raise ValueError(f"TTMatrix: ranks must be an int or a sequence, got {ranks!r}") from None
    for v in r:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"TTMatrix: ranks must be positive integers, got {ranks!r}")
    r = tuple(int(v) for v in r)
    if len(r) == d - 1:
        return (1,) + r + (1,)
    if len(r) == d + 1:
        if r[0] != 1 or r[-1] != 1:
            raise ValueError(f"TTMatrix: boundary ranks r_0 and r_d must be 1, got ranks {r}")
        return r
    raise ValueError(f"TTMatrix: ranks must have d-1 = {d - 1} inner ranks or d+1 = {d + 1} entries (with r_0 = r_d = 1), got {len(r)}")


class TTMatrix:
    """A weight W (M x N) in TT-matrix format with d cores.

    Construct with modes, ranks and an init::

        TTMatrix(in_modes=(4, 4, 4, 4), out_modes=(4, 4, 4, 4), ranks=2,
                 rng=np.random.default_rng(0), init="glorot")

    or from given cores with :meth:`from_cores`.

    ``ranks`` is an int (all inner ranks equal), the d-1 inner ranks, or all
    d+1 ranks with r_0 = r_d = 1.

    Init (variance preserving): every core entry is drawn iid
    N(0, sigma^2) with sigma^2 = (v / prod_{k=1}^{d-1} r_k)^(1/d), so that
    each reconstructed entry W_ij (a sum of prod r_k products of d
    independent entries) has variance exactly v. Target v = gain^2 *
    2/(M+N) for "glorot", gain^2 * 2/M for "he", gain^2 * 1/M for "lecun".

    In SMX numerics the cores are used as FP32 masters (rounded once,
    nearest-even); keep them FP32-representable to avoid that rounding.

    The master cores are float64 arrays, read-only: change them only through
    :meth:`set_cores` or :meth:`apply_update`, which invalidate the cached
    PRS halves.
    """

    def __init__(
        self,
        in_modes: Sequence[int],
        out_modes: Sequence[int],
        ranks: int | Sequence[int],
        *,
        rng: np.random.Generator | None = None,
        init: str = "glorot",
        gain: float = 1.0,
        cores: Sequence[np.ndarray] | None = None,
    ):
        self.in_modes = _check_modes("in_modes", in_modes)
        self.out_modes = _check_modes("out_modes", out_modes)
        if len(self.in_modes) != len(self.out_modes):
            raise ValueError(
                f"TTMatrix: in_modes {self.in_modes} and out_modes {self.out_modes} must have the same length d"
            )
        self.d = len(self.in_modes)
        self.ranks = _normalize_ranks(ranks, self.d)
        self.M = math.prod(self.in_modes)
        self.N = math.prod(self.out_modes)
        self._version = 0
        self._cache: dict = {}
        if cores is not None:
            self._cores = self._validate_cores(cores)
        else:
            if rng is None:
                raise ValueError("TTMatrix: pass rng (a seeded np.random.Generator) or cores")
            if not isinstance(rng, np.random.Generator):
                raise ValueError(f"TTMatrix: rng must be a np.random.Generator, got {type(rng).__name__}")
            if init not in _INITS:
                raise ValueError(f"TTMatrix: init must be one of {_INITS}, got {init!r}")
            if not (np.isfinite(gain) and gain > 0):
                raise ValueError(f"TTMatrix: gain must be a positive finite number, got {gain!r}")
            sigma = math.sqrt(self.core_variance(init, gain))
            shapes = self.core_shapes
            self._cores = [self._freeze(rng.normal(0.0, sigma, size=s)) for s in shapes]

    # -- construction helpers ------------------------------------------------
    @classmethod
    def from_cores(cls, cores: Sequence[np.ndarray]) -> "TTMatrix":
        """A TTMatrix from given cores G_k (r_{k-1}, m_k, n_k, r_k); modes and ranks are read from them."""
        try:
            cs = [np.asarray(c) for c in cores]
        except Exception:
            raise ValueError("TTMatrix.from_cores: cores must be a sequence of 4-D arrays") from None
        if not cs:
            raise ValueError("TTMatrix.from_cores: need at least one core")
        for k, c in enumerate(cs):
            if c.ndim != 4:
                raise ValueError(f"TTMatrix.from_cores: core {k} must be 4-D (r_prev, m, n, r_next), got shape {c.shape}")
        ranks = tuple(c.shape[0] for c in cs) + (cs[-1].shape[3],)
        if ranks[0] != 1 or ranks[-1] != 1:
            raise ValueError(f"TTMatrix.from_cores: first core's r_0 and last core's r_d must be 1, got ranks {ranks}")
        return cls([c.shape[1] for c in cs], [c.shape[2] for c in cs], ranks, cores=cs)

    @classmethod
    def for_widths(
        cls, in_width: int, out_width: int, d: int, ranks: int | Sequence[int], *, rng: np.random.Generator, init: str = "glorot", gain: float = 1.0, max_ratio: float = 2.0
    ) -> tuple["TTMatrix", TTFactorization, TTFactorization]:
        """A TTMatrix for a dense layer in_width -> out_width, with modes from :func:`factorize`.

        Returns (tt, in_factorization, out_factorization); inputs are padded to
        in_factorization.pad_to columns (:func:`pad_columns`) and the first
        out_width output columns are used. The init's fan-in/fan-out are the
        padded sizes.
        """
        fi = factorize(in_width, d, max_ratio=max_ratio)
        fo = factorize(out_width, d, max_ratio=max_ratio)
        return cls(fi.modes, fo.modes, ranks, rng=rng, init=init, gain=gain), fi, fo

    @property
    def core_shapes(self) -> list[tuple[int, int, int, int]]:
        r = self.ranks
        return [(r[k], self.in_modes[k], self.out_modes[k], r[k + 1]) for k in range(self.d)]

    def core_variance(self, init: str = "glorot", gain: float = 1.0) -> float:
        """Per-entry core variance sigma^2 of the init (see class docstring)."""
        if init == "glorot":
            v = 2.0 / (self.M + self.N)
        elif init == "he":
            v = 2.0 / self.M
        elif init == "lecun":
            v = 1.0 / self.M
        else:
            raise ValueError(f"TTMatrix: init must be one of {_INITS}, got {init!r}")
        v *= gain * gain
        return (v / math.prod(self.ranks[1:-1])) ** (1.0 / self.d)

    def target_variance(self, init: str = "glorot", gain: float = 1.0) -> float:
        """Variance of an entry of full() under the init (= core_variance^d * prod inner ranks)."""
        return self.core_variance(init, gain) ** self.d * math.prod(self.ranks[1:-1])

    @staticmethod
    def _freeze(a: np.ndarray) -> np.ndarray:
        a = np.array(a, dtype=np.float64, copy=True)
        a.setflags(write=False)
        return a

    def _validate_cores(self, cores: Sequence[np.ndarray]) -> list[np.ndarray]:
        try:
            cs = list(cores)
        except TypeError:
            raise ValueError("TTMatrix: cores must be a sequence of arrays") from None
        if len(cs) != self.d:
            raise ValueError(f"TTMatrix: expected {self.d} cores, got {len(cs)}")
        out = []
        for k, (c, s) in enumerate(zip(cs, self.core_shapes)):
            c = np.asarray(c)
            if c.shape != s:
                raise ValueError(f"TTMatrix: core {k} must have shape (r_{k}, m_{k + 1}, n_{k + 1}, r_{k + 1}) = {s}, got {c.shape}")
            if not np.issubdtype(c.dtype, np.number) or np.iscomplexobj(c):
                raise ValueError(f"TTMatrix: core {k} must be real-valued, got dtype {c.dtype}")
            if not np.all(np.isfinite(c)):
                raise ValueError(f"TTMatrix: core {k} contains {int(np.sum(~np.isfinite(c)))} non-finite values")
            out.append(self._freeze(c))
        return out

    # -- state ---------------------------------------------------------------
    @property
    def cores(self) -> list[np.ndarray]:
        """The master cores (float64, read-only views)."""
        return list(self._cores)

    @property
    def version(self) -> int:
        """Incremented on every weight change; forward contexts record it."""
        return self._version

    def set_cores(self, cores: Sequence[np.ndarray]) -> None:
        """Replace all cores (validated); invalidates the cached PRS halves."""
        self._cores = self._validate_cores(cores)
        self._version += 1
        self._cache.clear()

    def apply_update(self, deltas: Sequence[np.ndarray]) -> None:
        """G_k += deltas[k] for all k (e.g. -lr * grad); invalidates the cache."""
        if len(deltas) != self.d:
            raise ValueError(f"TTMatrix.apply_update: expected {self.d} deltas, got {len(deltas)}")
        self.set_cores([c + np.asarray(dl, dtype=np.float64) for c, dl in zip(self._cores, deltas)])

    # -- sizes -----------------------------------------------------------------
    @property
    def num_params(self) -> int:
        """Number of TT parameters, sum_k r_{k-1} m_k n_k r_k."""
        return sum(math.prod(s) for s in self.core_shapes)

    @property
    def compression_ratio(self) -> float:
        """Dense parameters M*N divided by TT parameters."""
        return self.M * self.N / self.num_params

    def split_sizes(self, split: int) -> tuple[int, int, int, int, int]:
        """(M1, M2, N1, N2, r_s) for a PRS split point s."""
        s = self._check_split(split)
        return (
            math.prod(self.in_modes[:s]),
            math.prod(self.in_modes[s:]),
            math.prod(self.out_modes[:s]),
            math.prod(self.out_modes[s:]),
            self.ranks[s],
        )

    def _check_split(self, split: int | None) -> int:
        if split is None:
            split = max(1, self.d // 2)
        if isinstance(split, bool) or not isinstance(split, (int, np.integer)):
            raise ValueError(f"TTMatrix: split must be an integer, got {split!r}")
        if not 1 <= split < self.d:
            raise ValueError(f"TTMatrix: split point s must satisfy 1 <= s < d = {self.d}, got {split}"
                             + (" (PRS needs d >= 2)" if self.d < 2 else ""))
        return int(split)

    # -- dense reference -------------------------------------------------------
    def full(self, dtype: Any = np.float64) -> np.ndarray:
        """The dense W (M, N), contracted in float64 then cast to dtype."""
        p, _ = _chain_forward(_Runner(FloatNumerics(np.float64), None), self._cores, "full")
        return p.reshape(self.M, self.N).astype(dtype)

    def halves(self, split: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Float64 PRS halves L (M1, N1, r_s) and R (r_s, M2, N2)."""
        s = self._check_split(split)
        run = _Runner(FloatNumerics(np.float64), None)
        pl, _ = _chain_forward(run, self._cores[:s], "L")
        pr, _ = _chain_forward(run, self._cores[s:], "R")
        return pl[0], pr[..., 0]

    # -- PRS halves, cached ---------------------------------------------------
    def _halves(self, s: int, nm) -> tuple[_Halves, bool]:
        """Reconstructed, stored halves for split s; (halves, was_cached)."""
        key = (s, nm.key)
        h = self._cache.get(key)
        if h is not None:
            return h, True
        log: list[GemmAction] = []
        run = _Runner(nm, log)
        rrun = _Runner(nm.recon_numerics(), log)
        M1, M2, N1, N2, r = self.split_sizes(s)
        pl, tape_l = _chain_forward(rrun, [c.astype(nm.core_dtype) for c in self._cores[:s]], "L")
        pr, tape_r = _chain_forward(rrun, [c.astype(nm.core_dtype) for c in self._cores[s:]], "R")
        L = pl[0]
        R = pr[..., 0]
        # The one quantization of L and R per weight update (INT8 in SMX mode).
        Lq = run.quant(L.reshape(M1, N1 * r), "w")
        Rq = run.quant(R.reshape(r * M2, N2), "w")
        h = _Halves(L, R, Lq, Rq, tape_l, tape_r, log)
        self._cache[key] = h
        return h, False

    # -- forward ----------------------------------------------------------------
    def forward(self, x: np.ndarray, *, method: str = "prs", split: int | None = None, numerics: Any = "float64") -> TTContext:
        """Y = X W for X (batch, M); returns a :class:`TTContext` (``.y`` is (batch, N)).

        method: "prs" (two GEMMs with the cached halves; split point ``split``,
        default d//2) or "seq" (one GEMM per core). numerics: "float64",
        "float32", "smx", or a FloatNumerics/SMXNumerics object.
        """
        nm = _as_numerics(numerics)
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.M:
            raise ValueError(f"TTMatrix.forward: x must have shape (batch, M={self.M}), got {x.shape}")
        if x.shape[0] < 1:
            raise ValueError("TTMatrix.forward: batch must be at least 1")
        if not np.all(np.isfinite(x)):
            raise ValueError(f"TTMatrix.forward: x contains {int(np.sum(~np.isfinite(x)))} non-finite values")
        x = x.astype(nm.dtype)
        if method == "prs":
            return self._prs_forward(x, self._check_split(split), nm)
        if method == "seq":
            if split is not None:
                raise ValueError("TTMatrix.forward: split applies to method='prs' only")
            return self._seq_forward(x, nm)
        raise ValueError(f"TTMatrix.forward: method must be 'prs' or 'seq', got {method!r}")

    def _prs_forward(self, x: np.ndarray, s: int, nm) -> TTContext:
        M1, M2, N1, N2, r = self.split_sizes(s)
        b = x.shape[0]
        h, cached = self._halves(s, nm)
        log: list[GemmAction] = [] if cached else list(h.actions)
        run = _Runner(nm, log)
        # Xp[(b, i2), i1] = X[b, i1*M2 + i2]
        xp = x.reshape(b, M1, M2).transpose(0, 2, 1).reshape(b * M2, M1)
        xq = run.quant(xp, "a")
        # T[(b, i2), (j1, r)] = sum_i1 Xp . Lm
        t, _ = run.gemm("forward", "T=Xp.L", xq, h.Lq)
        # Tp[(b, j1), (r, i2)]
        tp = t.reshape(b, M2, N1, r).transpose(0, 2, 3, 1).reshape(b * N1, r * M2)
        tq = run.quant(tp, "a")
        y, acc = run.gemm("forward", "Y=Tp.R", tq, h.Rq)
        ctx = TTContext(nm.out(y.reshape(b, self.N)), acc, "prs", s, nm, log, b, self._version)
        ctx._saved = {"xq": xq, "tq": tq, "halves": h}
        return ctx

    def _seq_forward(self, x: np.ndarray, nm) -> TTContext:
        b = x.shape[0]
        log: list[GemmAction] = []
        run = _Runner(nm, log)
        # State Z[b, J_{<k}, i_k, I_{>k}, r_{k-1}] (row-major), starting from X with r_0 = 1.
        z = x
        nprev = 1
        saved = []
        acc = None
        for k in range(self.d):
            rp, m, n, rn = self.core_shapes[k]
            mrest = math.prod(self.in_modes[k + 1:])
            # A[(b, J<k, I>k), (r_{k-1}, i_k)]
            a = z.reshape(b, nprev, m, mrest, rp).transpose(0, 1, 3, 4, 2).reshape(b * nprev * mrest, rp * m)
            aq = run.quant(a, "a")
            gq = run.quant(self._cores[k].astype(nm.core_dtype).reshape(rp * m, n * rn), "w")
            c, acc = run.gemm("forward", f"seq{k + 1}", aq, gq)
            # C[(b, J<k, I>k), (j_k, r_k)] -> Z[b, J<k, j_k, I>k, r_k]
            z = c.reshape(b, nprev, mrest, n, rn).transpose(0, 1, 3, 2, 4)
            saved.append((aq, gq, (rp, m, n, rn), nprev, mrest))
            nprev *= n
        y = z.reshape(b, self.N)
        ctx = TTContext(nm.out(y), acc, "seq", None, nm, log, b, self._version)
        ctx._saved = {"steps": saved}
        return ctx

    # -- backward ---------------------------------------------------------------
    def backward(self, ctx: TTContext, dy: np.ndarray) -> TTGrads:
        """Gradients for dLoss/dY = dy (batch, N) of the forward that made ctx.

        Raises ValueError if the weights changed since that forward (its stored
        operands would not match the cores any more).
        """
        if not isinstance(ctx, TTContext):
            raise ValueError("TTMatrix.backward: ctx must be the TTContext returned by forward")
        if ctx.version != self._version:
            raise ValueError("TTMatrix.backward: the cores were updated after this forward pass; run forward again")
        dy = np.asarray(dy)
        if dy.shape != (ctx.batch, self.N):
            raise ValueError(f"TTMatrix.backward: dy must have shape (batch={ctx.batch}, N={self.N}), got {dy.shape}")
        if not np.all(np.isfinite(dy)):
            raise ValueError(f"TTMatrix.backward: dy contains {int(np.sum(~np.isfinite(dy)))} non-finite values")
        dy = dy.astype(ctx.numerics.dtype)
        if ctx.method == "prs":
            return self._prs_backward(ctx, dy)
        return self._seq_backward(ctx, dy)

    def _finish_core_grads(self, grads: list[np.ndarray], nm) -> list[np.ndarray]:
        if nm.quantized:
            # The TT engine hands core gradients to the optimizer as FP32: one
            # round-to-nearest-even of each exact accumulator value.
            return [g.astype(np.float32) for g in grads]
        return [nm.out(g) for g in grads]

    def _prs_backward(self, ctx: TTContext, dy: np.ndarray) -> TTGrads:
        nm = ctx.numerics
        s = ctx.split
        M1, M2, N1, N2, r = self.split_sizes(s)
        b = ctx.batch
        xq, tq, h = ctx._saved["xq"], ctx._saved["tq"], ctx._saved["halves"]
        log: list[GemmAction] = []
        run = _Runner(nm, log)
        dyq = run.quant(dy.reshape(b * N1, N2), "g")
        dtp, _ = run.gemm("backward", "dTp=dY.R^T", dyq, h.Rq, tb=True)  # (b*N1, r*M2)
        # Weight gradients reduce over the batch: FP32-accumulated in chunks.
        drm, _ = run.gemm("backward", "dR=Tp^T.dY", tq, dyq, ta=True, fp32_chunked=True)  # (r*M2, N2)
        # Inverse of the forward permutation: dT[(b, i2), (j1, r)]
        dt = dtp.reshape(b, N1, r, M2).transpose(0, 3, 1, 2).reshape(b * M2, N1 * r)
        dtq = run.quant(dt, "g")
        dlm, _ = run.gemm("backward", "dL=Xp^T.dT", xq, dtq, ta=True, fp32_chunked=True)  # (M1, N1*r)
        dxp, _ = run.gemm("backward", "dXp=dT.L^T", dtq, h.Lq, tb=True)  # (b*M2, M1)
        dx = dxp.reshape(b, M2, M1).transpose(0, 2, 1).reshape(b, self.M)
        dL = dlm.reshape(M1, N1, r)
        dR = drm.reshape(r, M2, N2)
        rrun = _Runner(nm.recon_numerics(), log)
        g_left = _chain_backward(rrun, dL[None], h.tape_L, self.core_shapes[0], "L")
        g_right = _chain_backward(rrun, dR[..., None], h.tape_R, self.core_shapes[s], "R")
        return TTGrads(nm.out(dx), self._finish_core_grads(g_left + g_right, nm), nm.out(dL), nm.out(dR), log)

    def _seq_backward(self, ctx: TTContext, dy: np.ndarray) -> TTGrads:
        nm = ctx.numerics
        b = ctx.batch
        log: list[GemmAction] = []
        run = _Runner(nm, log)
        dz = dy  # (b, N_{<=k}, I_{>k}, r_k) flattened, k = d here
        grads: list[np.ndarray] = [None] * self.d  # type: ignore[list-item]
        for k in range(self.d - 1, -1, -1):
            aq, gq, (rp, m, n, rn), nprev, mrest = ctx._saved["steps"][k]
            # Inverse of Z = C.transpose(0,1,3,2,4): dC[(b, J<k, I>k), (j_k, r_k)]
            dc = dz.reshape(b, nprev, n, mrest, rn).transpose(0, 1, 3, 2, 4).reshape(b * nprev * mrest, n * rn)
            dcq = run.quant(dc, "g")
            dg, _ = run.gemm("core_grad", f"dseq{k + 1}.core", aq, dcq, ta=True, fp32_chunked=True)
            da, _ = run.gemm("backward", f"dseq{k + 1}.act", dcq, gq, tb=True)
            grads[k] = dg.reshape(rp, m, n, rn)
            # Inverse of A's permutation: dZ_{k-1}[b, J<k, i_k, I>k, r_{k-1}]
            dz = da.reshape(b, nprev, mrest, rp, m).transpose(0, 1, 4, 2, 3)
        dx = dz.reshape(b, self.M)
        return TTGrads(nm.out(dx), self._finish_core_grads(grads, nm), None, None, log)

    # -- action accounting --------------------------------------------------------
    def gemm_actions(
        self,
        batch: int,
        *,
        method: str = "prs",
        split: int | None = None,
        phases: Sequence[str] = ("reconstruct", "forward", "backward", "core_grad"),
        weight_bits: int | None = 8,
        act_bits: int | None = 8,
        grad_bits: int | None = 12,
        reconstruct: str = "smx",
    ) -> list[GemmAction]:
        """The GEMMs (m, k, n, bits pair) one forward+backward of ``batch`` rows runs.

        Computed from shapes only (no arithmetic), in the order the engine
        runs them; tests check it equals the engine's log. "reconstruct" is
        once per weight update (PRS halves), the rest once per batch. Pass
        ``None`` widths for float mode. ``reconstruct="fp32"`` matches
        ``SMXNumerics(reconstruct="fp32")``: the PRS core chain (reconstruct
        and core_grad GEMMs) is then FP32, logged with width 32.
        """
        if reconstruct not in ("smx", "fp32"):
            raise ValueError(f"gemm_actions: reconstruct must be 'smx' or 'fp32', got {reconstruct!r}")
        if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch < 1:
            raise ValueError(f"gemm_actions: batch must be a positive integer, got {batch!r}")
        for p in phases:
            if p not in ("reconstruct", "forward", "backward", "core_grad"):
                raise ValueError(f"gemm_actions: unknown phase {p!r}")
        W, A, G = weight_bits, act_bits, grad_bits
        # Widths of the PRS core chain's operands: (P or core, gradient).
        CW, CG = (32, 32) if reconstruct == "fp32" else (W, G)
        out: list[GemmAction] = []
        shapes = self.core_shapes
        if method == "prs":
            s = self._check_split(split)
            M1, M2, N1, N2, r = self.split_sizes(s)

            def chain(tag: str, lo: int, hi: int) -> tuple[list, list]:
                rec, grad = [], []
                ra = shapes[lo][0]
                Mx, Nx, rx = shapes[lo][1], shapes[lo][2], shapes[lo][3]
                steps = []
                for k in range(lo + 1, hi):
                    _, m, n, r2 = shapes[k]
                    steps.append((k - lo, ra * Mx * Nx, rx, m * n * r2))
                    Mx, Nx, rx = Mx * m, Nx * n, r2
                for j, rows, rk, cols in steps:
                    rec.append(GemmAction("reconstruct", f"{tag}.chain{j}", rows, rk, cols, CW, CW))
                for j, rows, rk, cols in reversed(steps):
                    grad.append(GemmAction("core_grad", f"{tag}.dcore{j}", rk, rows, cols, CW, CG, True, False))
                    grad.append(GemmAction("core_grad", f"{tag}.dchain{j}", rows, cols, rk, CG, CW, False, True))
                return rec, grad

            rec_l, grad_l = chain("L", 0, s)
            rec_r, grad_r = chain("R", s, self.d)
            if "reconstruct" in phases:
                out += rec_l + rec_r
            if "forward" in phases:
                out.append(GemmAction("forward", "T=Xp.L", batch * M2, M1, N1 * r, A, W))
                out.append(GemmAction("forward", "Y=Tp.R", batch * N1, r * M2, N2, A, W))
            if "backward" in phases:
                out.append(GemmAction("backward", "dTp=dY.R^T", batch * N1, N2, r * M2, G, W, False, True))
                out.append(GemmAction("backward", "dR=Tp^T.dY", r * M2, batch * N1, N2, A, G, True, False, True))
                out.append(GemmAction("backward", "dL=Xp^T.dT", M1, batch * M2, N1 * r, A, G, True, False, True))
                out.append(GemmAction("backward", "dXp=dT.L^T", batch * M2, N1 * r, M1, G, W, False, True))
            if "core_grad" in phases:
                out += grad_l + grad_r
            return out
        if method == "seq":
            if split is not None:
                raise ValueError("gemm_actions: split applies to method='prs' only")
            steps = []
            nprev = 1
            for k, (rp, m, n, rn) in enumerate(shapes):
                mrest = math.prod(self.in_modes[k + 1:])
                steps.append((k, batch * nprev * mrest, rp * m, n * rn))
                nprev *= n
            if "forward" in phases:
                for k, rows, kk, cols in steps:
                    out.append(GemmAction("forward", f"seq{k + 1}", rows, kk, cols, A, W))
            for k, rows, kk, cols in reversed(steps):
                if "core_grad" in phases:
                    out.append(GemmAction("core_grad", f"dseq{k + 1}.core", kk, rows, cols, A, G, True, False, True))
                if "backward" in phases:
                    out.append(GemmAction("backward", f"dseq{k + 1}.act", rows, cols, kk, G, W, False, True))
            return out
        raise ValueError(f"gemm_actions: method must be 'prs' or 'seq', got {method!r}")

    def __repr__(self) -> str:
        return (f"TTMatrix(in_modes={self.in_modes}, out_modes={self.out_modes}, ranks={self.ranks}, "
                f"params={self.num_params}, compression={self.compression_ratio:.1f}x)")


# ---------------------------------------------------------------------------
# Measurement: PRS vs sequential quantized contraction
# ---------------------------------------------------------------------------


def measure_prs_vs_sequential(
    *,
    in_modes: Sequence[int] = (4, 4, 4, 4),
    out_modes: Sequence[int] = (4, 4, 4, 4),
    ranks: int | Sequence[int] = 4,
    batch: int = 64,
    seeds: Sequence[int] = tuple(range(8)),
    split: int | None = None,
    numerics: Any = None,
) -> dict[str, Any]:
    """Relative forward error of quantized PRS and sequential contraction.

    For each seed: a random TT layer (glorot init) and X ~ N(0, 1) of shape
    (batch, M). Reference Y_ref = X @ full() in float64 (the FP32 master
    weights' exact value). Error = ||Y_q - Y_ref||_F / ||Y_ref||_F for PRS
    (split point ``split``) and for sequential, both in ``numerics`` (default
    SMX INT8 forward). Returns per-seed lists and their means.
    """
    nm = numerics if numerics is not None else SMXNumerics()
    prs, seq = [], []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        tt = TTMatrix(in_modes, out_modes, ranks, rng=rng)
        x = rng.standard_normal((batch, tt.M))
        yref = x @ tt.full()
        nref = np.linalg.norm(yref)
        prs.append(float(np.linalg.norm(tt.forward(x, method="prs", split=split, numerics=nm).y - yref) / nref))
        seq.append(float(np.linalg.norm(tt.forward(x, method="seq", numerics=nm).y - yref) / nref))
    return {
        "prs": prs,
        "seq": seq,
        "prs_mean": float(np.mean(prs)),
        "seq_mean": float(np.mean(seq)),
        "ratio_seq_over_prs": float(np.mean(seq) / np.mean(prs)),
        "config": {"in_modes": tuple(in_modes), "out_modes": tuple(out_modes), "ranks": ranks, "batch": batch, "seeds": tuple(seeds), "split": split},
    }
