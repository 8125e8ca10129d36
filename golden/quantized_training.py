"""Hardware-exact quantized PINN training (quantized mode of :mod:`pinta.golden.training`).

Every GEMM operand is SMX (golden/smx.py): INT8 weights and activations,
INT12 gradients; each GEMM result leaves the accumulator as one RNE float32.
Everything else (bias adds, activations and their derivatives, DiffQuant
differences, SE sums, loss, Adam) is float32 arithmetic in a fixed order
using the vector-unit definitions (golden/fp32.py, reduce.py, stein_sums.py,
adam.py), so the simulator and RTL can reproduce an iteration bit for bit.
δ comes from the counter-based on-chip generator (golden/rng.py), keyed by
(seed, iteration); the host supplies only the collocation points.

Row layout of one iteration
---------------------------
base rows  A (N0 = B + Nb + Ni): interior centres x, boundary points, initial points;
perturbed rows P (2·B·K): x+δ (B·K, point-major) then x−δ (B·K).

DiffQuant on (default)
----------------------
Forward: the base rows run as usual. The perturbed rows carry only the
difference Δh = h(x±δ) − h(x): layer 0 gets Δz = ±Q(δ)·Q(W) (one GEMM, Q(−δ)
= −Q(δ) exactly), deeper layers Δz = Q(Δh)·Q(W), each Q with its own block
exponents. The activation is applied to the full pre-activation z0 + Δz and
the difference re-formed after it: Δh' = act(z0 + Δz) − act(z0). The SE sums
use the output differences Δu± directly.

Backward, in difference form too. With c_p = dL/dΔu_p (the SE coefficient of
perturbation p) the true gradient at an evaluation p is c_p·J_c + ΔJ_p, J_c
the unit backprop row of its centre and ΔJ_p a difference; the centre's own
coefficient is du0 − Σ c_p. Three streams are back-propagated:

- A  (base rows): coefficient du0 at interior centres (not du0 − Σc_p), the
  boundary/initial loss gradients elsewhere;
- U  (interior centres): the unit stream J_c;
- D  (perturbed rows): ΔJ_p, with
  Δdz'_p = (Δdz_p·Wᵀ) ⊙ act'(z_p) + c_p·(dz_U·Wᵀ) ⊙ (act'(z_p) − act'(z0)).

and the weight gradient is, exactly in real arithmetic,
dW = h0ᵀ·(dz_A + S(Δdz)) + Δhᵀ·Δdz + Cᵀ·dz_U with S the per-point sum of
Δdz and C_b = Σ_{p∈b} c_p·Δh_p (float32). No GEMM operand is a large
quantity that must cancel, which plain backprop of the centre row (carrying
du0 − Σc_p, about K times larger than its result) would be.

DiffQuant off (ablation): all B·(2K+1) inputs x, x±δ are quantized as one
tensor and run as independent evaluations (plain quantized backprop).

Weight gradients reduce over the whole batch of a stream by the
``smx_matmul_fp32`` rule (docs/numerics.md §3); the three streams' FP32
results are combined with tree_sum in the order (A, D, U). docs/numerics.md
§7 lists every non-GEMM step of the iteration in order.
"""

from __future__ import annotations

import numpy as np

from . import fp32 as F
from .adam import adam_init, adam_step, linear_decay_lr, AdamState
from .mlp import Network
from .pde import PDE
from .reduce import tree_mean, tree_sum
from .rng import normal as rng_normal
from .stein_sums import stein_gradient_weights, stein_laplacian_weights, stein_pair_sums

__all__ = ["QuantizedEngine", "QuantizedAdam", "GemmNumerics"]

f32 = np.float32
#: Rows per chunk of a long reduction: the chunk length of smx_matmul_fp32
#: (4 · max_reduction_blocks = 8,192 rows with the default config), used for
#: the row-wise MX ablation too so that both block formats follow one rule.
DW_CHUNK = 8192


# ---------------------------------------------------------------------------
# Exact SMX GEMMs, faster
#
# smx.smx_matmul and smx.smx_matmul_fp32 define the results. Training spends
# most of its time in them, mostly in the integer "slow path" that output
# blocks take when the alignment shifts along a reduction exceed the guard
# bits (weight gradients reduce over the whole batch, whose rows differ in
# scale by many binades). The functions below compute the same numbers with
# float arithmetic that is exact by the same argument as smx.py's fast path
# (docs/numerics.md §6): every block partial P_k is an integer below 2^20
# (exact even in float32), P_k·2^(G−s_k) is a power-of-two scaling (exact;
# shifts are capped at 63 as align_partial does, which leaves floor()
# unchanged), floor() is exact, and the sums are integers below the
# accumulator bound < 2^52, summed in float64. tests/golden/
# test_mlp.py pins them bit for bit against the smx.py functions.
# ---------------------------------------------------------------------------

from .tt import SMXNumerics, TTMatrix
# Private helpers of smx.py, imported so that the checks and operand scaling
# below are literally smx.py's; only the slow path and the conversion differ.
from .smx import (_aligned_product, _gemm_operands, _resolve_cfg, accumulator_to_float, accumulator_to_fp32,
                  check_accumulator_bound, max_reduction_blocks)

def _chunk_values(ac, ae, bits_a, bc, be, bits_b, shape, cfg) -> np.ndarray:
    """Exact float64 values (cropped to ``shape``) of one §3 accumulation of codes ac·bc.

    smx.py's engine (:func:`~pinta.golden.smx._aligned_product`) in its
    real-valued form where the exponent range allows, so the values come out
    of BLAS without a conversion pass; the accumulator-unit form and an exact
    scaling otherwise.
    """
    check_accumulator_bound(ac.shape[1] // 4, 4, bits_a, bits_b, cfg)
    acc, exps, real = _aligned_product(ac, ae, (4, 4), bc, be, (4, 4), bits_a, bits_b, cfg.align_guard_bits, values=True)
    if real:
        return acc[:shape[0], :shape[1]]
    if exps.size and (exps.min() < -1022 or exps.max() > 1023 - 53):
        # Outside the range where one multiplication is exact: smx.py's converter checks and refuses.
        return accumulator_to_float(acc.astype(np.int64), exps.astype(np.int32), (4, 4), shape)
    m, n = acc.shape
    vals = acc.reshape(m // 4, 4, n // 4, 4)
    vals *= np.ldexp(1.0, exps.astype(np.int32))[:, None, :, None]
    return vals.reshape(m, n)[:shape[0], :shape[1]]


def exact_matmul(a, b, transpose_a: bool = False, transpose_b: bool = False, cfg=None) -> np.ndarray:
    """``smx_matmul(a, b, ...).to_float()``: exact float64 values of the SMX GEMM op(a)·op(b)."""
    cfg = _resolve_cfg(cfg)
    A, B = _gemm_operands("exact_matmul", a, b, transpose_a, transpose_b, cfg)
    return _chunk_values(A.codes, A.exponents, A.bits, B.codes, B.exponents, B.bits, (A.shape[0], B.shape[1]), cfg)


class _ChunkSum:
    """The smx_matmul_fp32 summation: r = p0; r = r + p1; ... in float32, chunk by chunk.

    Chunks may arrive from several calls (a reduction streamed in pieces of
    whole chunks); ``count`` numbers them for the overflow message.
    """

    def __init__(self, name: str = "exact_matmul_fp32"):
        self.name, self.total, self.count = name, None, 0

    def add(self, part: np.ndarray) -> None:
        self.count += 1
        if self.total is None:
            self.total = part
            return
        with np.errstate(over="ignore"):
            np.add(self.total, part, out=self.total)
        if not np.isfinite(self.total).all():
            raise ValueError(f"{self.name}: the FP32 sum overflows float32 at chunk {self.count - 1}")


def _add_fp32_chunks(acc: _ChunkSum, a, b, transpose_a: bool, transpose_b: bool, cfg) -> None:
    """Add the FP32 chunk results of op(a)·op(b) (8,192-row chunks of the reduction) to ``acc`` in order."""
    cfg = _resolve_cfg(cfg)
    A, B = _gemm_operands(acc.name, a, b, transpose_a, transpose_b, cfg)
    shape = (A.shape[0], B.shape[1])
    chunk = 4 * max_reduction_blocks(cfg)
    for lo in range(0, A.codes.shape[1], chunk):
        hi = min(lo + chunk, A.codes.shape[1])
        acc.add(accumulator_to_fp32(_chunk_values(A.codes[:, lo:hi], A.exponents[:, lo // 4:hi // 4], A.bits,
                                                  B.codes[lo:hi], B.exponents[lo // 4:hi // 4], B.bits, shape, cfg)))


def exact_matmul_fp32(a, b, transpose_a: bool = False, transpose_b: bool = False, cfg=None) -> np.ndarray:
    """``smx_matmul_fp32(a, b, ...)``: FP32 chunk results summed in FP32 in chunk order."""
    cfg = _resolve_cfg(cfg)
    acc = _ChunkSum()
    _add_fp32_chunks(acc, a, b, transpose_a, transpose_b, cfg)
    return acc.total


def _fp32_chunk_sum(parts: list[np.ndarray]) -> np.ndarray:
    """r = p0; r = r + p1; ... in float32 (the smx_matmul_fp32 summation rule)."""
    total = parts[0].copy()
    for p in parts[1:]:
        total += p
    return total


class GemmNumerics:
    """Quantized GEMMs for dense layers: SMX (one stored copy) or row-wise MX (the ablation).

    ``quant(x, bits)`` gives the stored operand; ``mm`` the exact product
    rounded once to float32 (short reductions); ``mm_long`` a reduction over
    the batch (weight gradients): SMX by the smx_matmul_fp32 rule, MX by the
    same rule (8,192-row chunks, each rounded to FP32, summed in chunk order).
    ``fast=False`` runs smx.py's own functions (the reference the fast exact
    path is tested against).
    """

    def __init__(self, block: str = "smx", cfg=None, fast: bool = True):
        self.block, self.cfg, self.fast = block, cfg, fast
        if block == "smx":
            from .smx import smx_quantize

            self._q = smx_quantize
        else:
            from .mx_rowwise import mx_matmul, mx_quantize

            self._q, self._mm = mx_quantize, mx_matmul

    def quant(self, x: np.ndarray, bits: int):
        """SMX: the stored operand. MX: the real values (quantized per use along the GEMM's reduction)."""
        if self.block == "smx":
            return (self._q(np.asarray(x), bits, cfg=self.cfg), bits)
        return (np.asarray(x, np.float64), bits)

    def _mx(self, qa, qb, ta, tb):
        (a, ba), (b, bb) = qa, qb
        A = a.T if ta else a
        Bm = b.T if tb else b
        acc = self._mm(self._q(A, ba, axis=1, cfg=self.cfg), self._q(Bm, bb, axis=0, cfg=self.cfg), cfg=self.cfg)
        return np.asarray(acc.to_float(), np.float64).astype(f32)

    def mm(self, qa, qb, ta: bool = False, tb: bool = False) -> np.ndarray:
        if self.block != "smx":
            return self._mx(qa, qb, ta, tb)
        if self.fast:
            return exact_matmul(qa[0], qb[0], ta, tb, self.cfg).astype(f32)
        from .smx import smx_matmul

        return np.asarray(smx_matmul(qa[0], qb[0], transpose_a=ta, transpose_b=tb, cfg=self.cfg).to_float()).astype(f32)

    def mm_long(self, qa, qb, ta: bool = False, tb: bool = False) -> np.ndarray:
        if self.block == "smx":
            if self.fast:
                return exact_matmul_fp32(qa[0], qb[0], ta, tb, self.cfg)
            from .smx import smx_matmul_fp32

            return smx_matmul_fp32(qa[0], qb[0], transpose_a=ta, transpose_b=tb, cfg=self.cfg)
        (a, ba), (b, bb) = qa, qb
        A = a.T if ta else a
        Bm = b.T if tb else b
        parts = [self._mx((A[:, i:i + DW_CHUNK], ba), (Bm[i:i + DW_CHUNK], bb), False, False)
                 for i in range(0, A.shape[1], DW_CHUNK)]
        return _fp32_chunk_sum(parts)


class _DenseQ:
    """A dense layer in quantized numerics: W (n_in, n_out) INT8, X INT8, dY INT12."""

    def __init__(self, nm: GemmNumerics, W: np.ndarray):
        self.nm = nm
        self.qW = nm.quant(W, 8)

    def fwd(self, X: np.ndarray):
        """Y (rows, n_out) float32 without bias, and the context for bwd (the stored Q(X))."""
        qx = self.nm.quant(X, 8)
        return self.nm.mm(qx, self.qW), qx

    def ctx_only(self, X: np.ndarray):
        return self.nm.quant(X, 8)

    def bwd(self, ctx, dY: np.ndarray, need_dx: bool = True, need_dw: bool = True):
        """(dX float32 or None, [dW float32] or None) for dY (rows, n_out)."""
        qd = self.nm.quant(dY, 12)
        dx = self.nm.mm(qd, self.qW, tb=True) if need_dx else None
        dw = [self.nm.mm_long(ctx, qd, ta=True)] if need_dw else None
        return dx, dw


class _FastSMXNumerics(SMXNumerics):
    """tt.py's SMX numerics with the exact GEMMs above: the same numbers as SMXNumerics (pinned by tests).

    ``skip_long`` makes the batch-reduction GEMMs (dL, dR, sequential core
    gradients) return zeros, for a backward call whose weight gradients are
    discarded (only dX is wanted).
    """

    skip_long = False

    def gemm(self, a, b, ta=False, tb=False):
        return exact_matmul(a.data, b.data, ta, tb, self.cfg), None

    def gemm_fp32(self, a, b, ta=False, tb=False):
        if self.skip_long:
            m = a.shape[1] if ta else a.shape[0]
            n = b.shape[0] if tb else b.shape[1]
            return np.zeros((m, n)), None
        return exact_matmul_fp32(a.data, b.data, ta, tb, self.cfg).astype(np.float64), None


class _TTQ:
    """A TT layer in SMX numerics (PRS or sequential), golden/tt.py's GEMMs over the whole batch of a stream.

    Without ``fast``, and for sequential contraction, tt.py runs the batch in
    one call. With ``fast`` the PRS path runs streamed (:meth:`_prs_fwd`, :meth:`_prs_bwd`):
    the same GEMMs on the same operands, in pieces of batch rows, so that the
    PRS intermediate T (r·N1·M2 values per row: 2,048 at rank 8 for a width of
    256, eight times the activation) never exists for the whole batch at once.
    """

    def __init__(self, cores: list[np.ndarray], method: str, split: int | None, cfg=None, fast: bool = True):
        self.tt = TTMatrix.from_cores([np.asarray(c, np.float64) for c in cores])
        self.nm = _FastSMXNumerics(cfg) if fast else SMXNumerics(cfg)
        self.method = "prs" if method == "prs" else "seq"
        self.split = split if self.method == "prs" else None
        self.streamed = fast and self.method == "prs"

    def fwd(self, X: np.ndarray):
        if self.streamed:
            return self._prs_fwd(X)
        c = self.tt.forward(np.asarray(X, np.float64), method=self.method, split=self.split, numerics=self.nm)
        return np.asarray(c.y, np.float64).astype(f32), c

    ctx_only = None  # TT needs a forward pass to build its backward context

    def bwd(self, ctx, dY: np.ndarray, need_dx: bool = True, need_dw: bool = True):
        """(dX float32 or None, [dcore float32 ...] or None) for dY (rows, n_out)."""
        if self.streamed:
            return self._prs_bwd(ctx, dY, need_dx, need_dw)
        skip = isinstance(self.nm, _FastSMXNumerics) and not need_dw
        if skip:
            self.nm.skip_long = True
        try:
            g = self.tt.backward(ctx, np.asarray(dY, np.float64))
        finally:
            if skip:
                self.nm.skip_long = False
        dx = np.asarray(g.dx, np.float64).astype(f32) if need_dx else None
        return dx, ([np.asarray(d, np.float64).astype(f32) for d in g.dcores] if need_dw else None)

    # ---- streamed PRS: tt.py's _prs_forward / _prs_backward piece by piece ----
    def _piece_rows(self) -> int:
        """Batch rows per piece: a multiple of 4 (whole SMX row blocks of X, Xp, Tp and dY) whose
        Xp rows (·M2) and Tp rows (·N1) are whole 8,192-row chunks of the dL and dR reductions,
        so each piece adds exactly the chunks smx_matmul_fp32 would form over the whole batch."""
        import math

        M1, M2, N1, N2, r = self.tt.split_sizes(self.tt._check_split(self.split))
        chunk = 4 * max_reduction_blocks(self.nm.cfg)
        return math.lcm(4, chunk // math.gcd(chunk, M2), chunk // math.gcd(chunk, N1))

    def _prs_fwd(self, X: np.ndarray):
        """Y (rows, N) float32 for X (rows, M) float32/float64, and the backward's context (dict):
        Q(Xp) and Q(Tp) (SMXTensor, INT8) per piece, the piece length, the PRS halves and the
        weight version they belong to."""
        from .smx import smx_quantize

        tt, nm = self.tt, self.nm
        s = tt._check_split(self.split)
        M1, M2, N1, N2, r = tt.split_sizes(s)
        h, _ = tt._halves(s, nm)
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != tt.M:
            raise ValueError(f"TT layer: input must have shape (rows, {tt.M}), got {X.shape}")
        # float32 input is quantized in float32: the same codes (docs/numerics.md §6).
        X = X if X.dtype == np.float32 else np.asarray(X, np.float64)
        b = len(X)
        y = np.empty((b, tt.N), f32)
        pieces = []
        step = self._piece_rows()
        for lo in range(0, b, step):
            n = min(step, b - lo)
            xp = X[lo:lo + n].reshape(n, M1, M2).transpose(0, 2, 1).reshape(n * M2, M1)
            xq = smx_quantize(xp, nm.bits["a"], cfg=nm.cfg)
            t = exact_matmul(xq, h.Lq.data, cfg=nm.cfg)
            tp = t.reshape(n, M2, N1, r).transpose(0, 2, 3, 1).reshape(n * N1, r * M2)
            del t
            tq = smx_quantize(tp, nm.bits["a"], cfg=nm.cfg)
            del tp
            y[lo:lo + n] = exact_matmul(tq, h.Rq.data, cfg=nm.cfg).reshape(n, tt.N)
            pieces.append((xq, tq))
        return y, {"pieces": pieces, "step": step, "rows": b, "halves": h, "split": s, "version": tt.version}

    def _prs_bwd(self, ctx, dY: np.ndarray, need_dx: bool, need_dw: bool):
        from .tt import _chain_backward, _Runner

        dx, dLm, dRm = self._prs_bwd_halves(ctx, dY, need_dx, need_dw)
        if not need_dw:
            return dx, None
        tt, h, s = self.tt, ctx["halves"], ctx["split"]
        rrun = _Runner(self.nm.recon_numerics(), None)
        g = (_chain_backward(rrun, dLm[None], h.tape_L, tt.core_shapes[0], "L")
             + _chain_backward(rrun, dRm[..., None], h.tape_R, tt.core_shapes[s], "R"))
        return dx, [np.asarray(d, np.float64).astype(f32) for d in g]

    def _prs_bwd_halves(self, ctx, dY: np.ndarray, need_dx: bool, need_dw: bool):
        """dX (rows, M) float32 or None, and the FP32 half gradients dL (M1, N1, r), dR (r, M2, N2)
        (float64 arrays, as tt.py's TTGrads) or None."""
        from .smx import smx_quantize

        tt, nm = self.tt, self.nm
        if ctx["version"] != tt.version:
            raise ValueError("TT layer: the cores were updated after this forward pass; run forward again")
        s, h, step, b = ctx["split"], ctx["halves"], ctx["step"], ctx["rows"]
        M1, M2, N1, N2, r = tt.split_sizes(s)
        dY = np.asarray(dY)
        if dY.shape != (b, tt.N):
            raise ValueError(f"TT layer: dY must have shape ({b}, {tt.N}), got {dY.shape}")
        dY = dY if dY.dtype == np.float32 else np.asarray(dY, np.float64)
        dx = np.empty((b, tt.M), f32) if need_dx else None
        dR, dL = _ChunkSum(), _ChunkSum()
        for k, (xq, tq) in enumerate(ctx["pieces"]):
            lo = k * step
            n = min(step, b - lo)
            dyq = smx_quantize(dY[lo:lo + n].reshape(n * N1, N2), nm.bits["g"], cfg=nm.cfg)
            dtp = exact_matmul(dyq, h.Rq.data, transpose_b=True, cfg=nm.cfg)  # (n·N1, r·M2)
            if need_dw:
                _add_fp32_chunks(dR, tq, dyq, True, False, nm.cfg)
            dt = dtp.reshape(n, N1, r, M2).transpose(0, 3, 1, 2).reshape(n * M2, N1 * r)
            del dtp
            dtq = smx_quantize(dt, nm.bits["g"], cfg=nm.cfg)
            del dt
            if need_dw:
                _add_fp32_chunks(dL, xq, dtq, True, False, nm.cfg)
            if need_dx:
                dxp = exact_matmul(dtq, h.Lq.data, transpose_b=True, cfg=nm.cfg)
                dx[lo:lo + n] = dxp.reshape(n, M2, M1).transpose(0, 2, 1).reshape(n, tt.M)
        if not need_dw:
            return dx, None, None
        return dx, dL.total.astype(np.float64).reshape(M1, N1, r), dR.total.astype(np.float64).reshape(r, M2, N2)


#: Rows per piece when an elementwise vector-unit function runs over a
#: (102,600 × 256) activation: its dozen temporaries then stay in cache.
#: Elementwise, so the pieces change no bit; about 2.5× faster than one call.
_EW_ROWS = 256


def _rowwise(fn, *arrays: np.ndarray) -> np.ndarray:
    """fn(*arrays) computed in row pieces (all arrays share the row count)."""
    n = len(arrays[0])
    if n <= _EW_ROWS:
        return fn(*arrays)
    first = fn(*(a[:_EW_ROWS] for a in arrays))
    out = np.empty((n,) + first.shape[1:], first.dtype)
    out[:_EW_ROWS] = first
    for i in range(_EW_ROWS, n, _EW_ROWS):
        out[i:i + _EW_ROWS] = fn(*(a[i:i + _EW_ROWS] for a in arrays))
    return out


def _act(name: str, z: np.ndarray) -> np.ndarray:
    return _rowwise(F.fp32_tanh if name == "tanh" else F.fp32_sin, z)


def _act_and_grad(name: str, z: np.ndarray):
    """(act(z), act'(z) or None): for sin both come from one fp32_sincos, whose sin and
    cos are the fp32_sin and fp32_cos values, so the backward need not run it again on
    the D rows (the largest array of the iteration). tanh's act' = 1 − h² is cheap: None."""
    if name == "tanh":
        return _act(name, z), None
    n = len(z)
    h, g = np.empty_like(z), np.empty_like(z)
    for i in range(0, n, _EW_ROWS):
        h[i:i + _EW_ROWS], g[i:i + _EW_ROWS] = F.fp32_sincos(z[i:i + _EW_ROWS])
    return h, g


def _act_grad(name: str, z: np.ndarray, h: np.ndarray) -> np.ndarray:
    return F.fp32_tanh_grad_from_output(h) if name == "tanh" else _rowwise(F.fp32_cos, z)


def _act_grad_diff(name: str, z0: np.ndarray, dz: np.ndarray, h0: np.ndarray, dh: np.ndarray) -> np.ndarray:
    """act'(z0+Δz) − act'(z0) without cancellation.

    tanh: −Δh·(2·h0 + Δh) (from 1 − h²); sin: −2·sin(z0 + Δz/2)·sin(Δz/2) (sum-to-product).
    """
    if name == "tanh":
        return -(dh * (F.TWO * h0 + dh))
    half = dz * F.HALF
    return -(F.TWO * _rowwise(F.fp32_sin, z0 + half) * _rowwise(F.fp32_sin, half))


class QuantizedEngine:
    """Loss and gradients of one iteration in hardware-exact quantized numerics.

    Parameters: the PDE, the :class:`~pinta.golden.mlp.Network` holding the
    FP32 master weights, and the ablation switches ``diffquant`` (bool),
    ``tt_method`` ('prs' or 'sequential'), ``tt_split`` (PRS split point,
    default d/2), ``block`` ('smx' or 'mx' row-wise, dense layers only) and
    ``seed`` (the on-chip δ generator's seed, a u32).
    """

    def __init__(self, pde: PDE, net: Network, *, diffquant: bool = True, tt_method: str = "prs",
                 tt_split: int | None = None, block: str = "smx", seed: int = 0, cfg=None, fast: bool = True):
        if block == "mx" and any(L["kind"] == "tt" for L in net.layers):
            raise ValueError("block='mx' (row-wise MX ablation) supports dense networks only: golden/tt.py has SMX "
                             "and float numerics; run the MX ablation with tt_rank=None")
        self.pde, self.net = pde, net
        self.diffquant, self.tt_method, self.tt_split, self.block = diffquant, tt_method, tt_split, block
        self.seed = int(seed) & 0xFFFFFFFF
        self.cfg = cfg
        self.fast = fast
        self.nm = GemmNumerics(block, cfg, fast)
        self.sigma = f32(pde.sigma)

    def make_optimizer(self, params):
        return QuantizedAdam(params)

    # ---- δ on chip -----------------------------------------------------
    def deltas(self, rng, B: int, iteration: int) -> np.ndarray:
        """δ (B, K, dim) float32: σ·N(0,1) from golden/rng.py, stream = iteration, counters from 0."""
        K, dim = self.pde.pairs, self.pde.dim
        z = rng_normal(self.seed, int(iteration) & 0xFFFFFFFF, 0, B * K * dim)
        return (z * self.sigma).reshape(B, K, dim)

    # ---- layers ------------------------------------------------------------
    def _layers(self):
        out = []
        for L in self.net.layers:
            ps = [self.net.params[i] for i in L["idx"]]
            if L["kind"] == "tt":
                out.append((_TTQ(ps[:-1], self.tt_method, self.tt_split, self.cfg, self.fast), F.to_fp32(ps[-1])))
            else:
                out.append((_DenseQ(self.nm, ps[0]), F.to_fp32(ps[-1])))
        return out

    def _ansatz32(self, x64: np.ndarray):
        ab = self.pde.ansatz(x64)
        return None if ab is None else (F.to_fp32(ab[0]), F.to_fp32(ab[1]))

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Quantized inference u (n,) at x (n, dim): INT8 forward of the base path."""
        layers = self._layers()
        act = self.net.activation
        h = F.to_fp32(x)
        for l, (op, b) in enumerate(layers):
            z, _ = op.fwd(h)
            z = z + b
            h = z if l == len(layers) - 1 else _act(act, z)
        g = h[:, 0]
        ab = self._ansatz32(x)
        return (g if ab is None else ab[0] + ab[1] * g).astype(np.float64)

    # ---- one iteration ---------------------------------------------------
    def loss_and_grads(self, batch, delta: np.ndarray):
        pde, act = self.pde, self.net.activation
        B, K, dim = delta.shape
        BK = B * K
        x0 = np.concatenate([batch.interior, batch.boundary, batch.initial])  # (N0, dim) float64 from host
        N0 = len(x0)
        layers = self._layers()
        nL = len(layers)
        xb = F.to_fp32(x0)
        dflat = delta.reshape(BK, dim)
        point = np.repeat(np.arange(B), K)  # centre row of each perturbed row (per sign)

        if not self.diffquant:
            return self._plain(batch, delta, layers, xb)

        # ---------------- forward (DiffQuant) ----------------
        cache = []
        h0, dh = xb, None
        for l, (op, b) in enumerate(layers):
            z0, ctxA = op.fwd(h0)
            z0 = z0 + b
            if l == 0:
                dzp, ctxD = op.fwd(dflat)  # Q(δ)·Q(W); the minus half is its exact negation
                dz = np.concatenate([dzp, -dzp])
                dh_in = np.concatenate([dflat, -dflat])
            else:
                dz, ctxD = op.fwd(dh)
                dh_in = dh
            entry = {"ctxA": ctxA, "ctxD": ctxD, "h_in0": h0, "dh_in": dh_in}
            if l == nL - 1:
                g0, dg = z0[:, 0], dz[:, 0]
                cache.append(entry)
                break
            zc = z0[np.tile(point, 2)]
            zp = zc + dz
            hb = _act(act, z0)
            hp, gp = _act_and_grad(act, zp)
            dh = hp - hb[np.tile(point, 2)]
            entry.update(z0=z0, h0=hb, zp=zp, hp=hp, gp=gp, dz=dz, dh_out=dh)
            cache.append(entry)
            h0 = hb

        # ---------------- SE, loss (float32 vector unit) ----------------
        loss, terms, c, dzA, dzU, dzD = self.se_stage(batch, delta, g0, dg)

        # ---------------- backward (difference form) ----------------
        dzA, dzU, dzD = dzA[:, None], dzU[:, None], dzD[:, None]
        grads: list = [None] * len(self.net.params)
        for l in range(nL - 1, -1, -1):
            op, _ = layers[l]
            e = cache[l]
            L = self.net.layers[l]
            # Per-point sum of the D stream, added to the interior rows of A.
            S = tree_sum(dzD.reshape(2, B, K, -1).transpose(1, 0, 2, 3).reshape(B, 2 * K, -1), axis=1)
            dzA_tot = dzA.copy()
            dzA_tot[:B] = dzA_tot[:B] + S
            # C_b = Σ_p c_p·Δh_p (float32, per point), the input paired with the unit stream.
            C = tree_sum((c[:, None] * e["dh_in"]).reshape(2, B, K, -1).transpose(1, 0, 2, 3).reshape(B, 2 * K, -1), axis=1)
            need_dx = l > 0
            _, wA = op.bwd(e["ctxA"], dzA_tot, need_dx=False)
            dhA = op.bwd(e["ctxA"], dzA, need_dw=False)[0] if need_dx else None
            ctxC = op.ctx_only(C) if op.ctx_only else op.fwd(C)[1]
            dhU, wU = op.bwd(ctxC, dzU, need_dx=need_dx)
            if l == 0:
                # Layer 0's D rows share one Q(δ); the minus half's gradient folds in with a sign.
                dD = dzD[:BK] - dzD[BK:]
                dhD, wD = op.bwd(e["ctxD"], dD, need_dx=False)
            else:
                dhD, wD = op.bwd(e["ctxD"], dzD, need_dx=need_dx)
            wsum = [F.require_fp32(tree_sum(np.stack([p, q, r]), axis=0), "dw") for p, q, r in zip(wA, wD, wU)]
            for i, gval in zip(L["idx"][:-1], wsum):
                grads[i] = gval.reshape(self.net.params[i].shape)
            grads[L["idx"][-1]] = tree_sum(dzA_tot, axis=0)
            if not need_dx:
                break
            ep = cache[l - 1]
            rows = np.tile(point, 2)
            dzA = dhA * _act_grad(act, ep["z0"], ep["h0"])
            dzU_new = dhU * _act_grad(act, ep["z0"][:B], ep["h0"][:B])
            dad = _act_grad_diff(act, ep["z0"][rows], ep["dz"], ep["h0"][rows], ep["dh_out"])
            gp = ep["gp"] if ep["gp"] is not None else _act_grad(act, ep["zp"], ep["hp"])
            dzD = dhD * gp + c[:, None] * (dhU[rows] * dad)
            dzU = dzU_new
        return loss, terms, grads

    def se_stage(self, batch, delta: np.ndarray, g0: np.ndarray, dg: np.ndarray):
        """The step between forward and backward: ansatz, SE estimates, loss and output gradients.

        Inputs: δ (B, K, dim), the network output g at the base rows (N0,) and
        Δg at the perturbed rows (2·B·K,: +δ rows, then −δ rows). Returns
        (loss, terms, c, dzA, dzU, dzD): c (2·B·K,) = dL/dΔu per perturbed row,
        and the output gradients of the three backward streams through the
        ansatz u = a + b·g: dzA (N0,) base rows, dzU (B,) unit stream, dzD
        (2·B·K,) difference stream. All float32, in a fixed order; the sim
        backend (flows/runner.py) runs this same function on the host.
        """
        f32 = np.float32
        B, K, _ = delta.shape
        BK = B * K
        x0 = np.concatenate([batch.interior, batch.boundary, batch.initial])
        point = np.repeat(np.arange(B), K)  # centre row of each perturbed row (per sign)
        ab = self._ansatz32(x0)
        if ab is None:
            u_base = g0
            du_pm = dg
        else:
            a0, b0 = ab
            da, db = self._ansatz_delta(x0[:B], delta)
            bp = b0[np.tile(point, 2)] + db
            u_base = a0 + b0 * g0
            gc = g0[np.tile(point, 2)]
            # Δu = Δa + b(x±δ)·Δg + Δb·g(x)
            du_pm = da + bp * dg + db * gc
        dup, dum = du_pm[:BK].reshape(B, K), du_pm[BK:].reshape(B, K)
        loss, terms, c_plus, c_minus, _du0, dbase = self._se_loss(batch, u_base, dup, dum, delta)
        c = np.concatenate([c_plus.reshape(BK), c_minus.reshape(BK)])
        if ab is None:
            return loss, terms, c, dbase, np.ones(B, f32), np.zeros(2 * BK, f32)
        return loss, terms, c, dbase * b0, b0[:B].copy(), c * db  # dzD = c_p·(b(x±δ) − b(x))

    def _ansatz_delta(self, xc: np.ndarray, delta: np.ndarray):
        """(Δa, Δb) (2·B·K,) float32 for the perturbed rows: a(x±δ) − a(x), b(x±δ) − b(x).

        Generic rule: the ansatz evaluated in float64 at both points on the host
        side of the definition and the difference rounded once to float32. A
        PDE may define ``ansatz_delta(x, delta)`` (returns Δa+, Δb+ for +δ;
        the ansatz must then be affine so Δ(−δ) = −Δ(+δ)) for an exact form.
        """
        B, K, dim = delta.shape
        fn = getattr(self.pde, "ansatz_delta", None)
        if fn is not None:
            dap, dbp = fn(xc, delta)
            return np.concatenate([dap.reshape(-1), -dap.reshape(-1)]), np.concatenate([dbp.reshape(-1), -dbp.reshape(-1)])
        xr = np.repeat(xc, K, axis=0)
        d = delta.reshape(B * K, dim).astype(np.float64)
        a0, b0 = self.pde.ansatz(xr)
        outa, outb = [], []
        for s in (1, -1):
            a1, b1 = self.pde.ansatz(xr + s * d)
            outa.append(np.asarray(a1) - a0)
            outb.append(np.asarray(b1) - b0)
        return F.to_fp32(np.concatenate(outa)), F.to_fp32(np.concatenate(outb))

    def _se_loss(self, batch, u_base, dup, dum, delta):
        """SE estimates, loss terms and their gradients, all float32 in a fixed order.

        Returns loss (float), terms, c⁺ and c⁻ (B, K) = dL/dΔu±, du0 (B,) and
        dbase (N0,) = dL/du at the base rows (interior: du0 only).
        """
        pde = self.pde
        B, K, dim = delta.shape
        D = pde.space_dim
        sig = self.sigma
        dif, sm = stein_pair_sums(dup, dum)
        gw = stein_gradient_weights(delta, sig)  # (B, K, dim): δ/(2σ²)
        lw = stein_laplacian_weights(np.ascontiguousarray(delta[:, :, :D]), sig)  # (B, K)
        grad = tree_mean(gw[:, :, :D] * dif[:, :, None], axis=1)
        lap = tree_mean(lw * sm, axis=1)
        u = u_base[:B] + tree_mean(sm, axis=1) * F.HALF
        ut = tree_mean(gw[:, :, -1] * dif, axis=1) if pde.time_dependent else None
        x = batch.interior
        res = F.to_fp32(self._residual(x, u, grad, lap, ut))
        terms = {"residual": float(tree_mean(res * res, axis=0))}
        loss = f32(terms["residual"])
        dres = res * (F.TWO * F.fp32_reciprocal_of_count(B))
        du, dgr, dl, dut = pde.residual_vjp(x, u, grad, lap, ut, dres)
        du = F.to_fp32(du)
        invK = F.fp32_reciprocal_of_count(K)
        # Transposes of the sums above (tree_mean = tree_sum then ×1/K).
        dodd = tree_sum(gw[:, :, :D] * F.to_fp32(dgr)[:, None, :], axis=2) * invK
        if ut is not None:
            dodd = dodd + gw[:, :, -1] * (F.to_fp32(dut) * invK)[:, None]
        deven = lw * (F.to_fp32(dl) * invK)[:, None] + (du * (invK * F.HALF))[:, None]
        c_plus, c_minus = deven + dodd, deven - dodd
        dbase = [du]
        off = B
        for kind, pts in (("boundary", batch.boundary), ("initial", batch.initial)):
            n = len(pts)
            if not n:
                continue
            w = f32(getattr(pde, f"{kind}_weight"))
            target = F.to_fp32(getattr(pde, f"{kind}_value")(pts))
            r = u_base[off:off + n] - target
            mse = tree_mean(r * r, axis=0)
            terms[kind] = float(mse)
            loss = loss + w * mse
            dbase.append(r * (w * F.TWO * F.fp32_reciprocal_of_count(n)))
            off += n
        return float(loss), terms, c_plus, c_minus, du, np.concatenate(dbase).astype(f32)

    def _residual(self, x, u, grad, lap, ut):
        fn = getattr(self.pde, "residual_fp32", None)
        return fn(x, u, grad, lap, ut) if fn is not None else self.pde.residual(x, u, grad, lap, ut)

    # ---- DiffQuant off: plain quantized evaluation of x, x±δ ----------------
    def _plain(self, batch, delta, layers, xb):
        pde, act = self.pde, self.net.activation
        B, K, dim = delta.shape
        BK = B * K
        x0 = np.concatenate([batch.interior, batch.boundary, batch.initial])
        N0 = len(x0)
        point = np.repeat(np.arange(B), K)
        d = delta.reshape(BK, dim)
        xin = np.concatenate([xb, xb[point] + d, xb[point] - d])  # float32 adds on chip
        xall64 = np.concatenate([x0, x0[point] + d, x0[point] - d])
        cache = []
        h = xin
        for l, (op, b) in enumerate(layers):
            z, ctx = op.fwd(h)
            z = z + b
            cache.append((ctx, z, h))
            if l < len(layers) - 1:
                h = _act(act, z)
                cache[-1] = (ctx, z, h)
        g = z[:, 0]
        ab = self._ansatz32(xall64)
        u = g if ab is None else ab[0] + ab[1] * g
        uc = u[:B]
        dup = u[N0:N0 + BK].reshape(B, K) - uc[:, None]
        dum = u[N0 + BK:].reshape(B, K) - uc[:, None]
        loss, terms, cp, cm, du0, dbase = self._se_loss(batch, u[:N0], dup, dum, delta)
        dcen = dbase.copy()
        dcen[:B] = dcen[:B] - tree_sum(np.concatenate([cp, cm], axis=1), axis=1)
        dU = np.concatenate([dcen, cp.reshape(-1), cm.reshape(-1)])
        dz = (dU if ab is None else dU * ab[1])[:, None]
        grads: list = [None] * len(self.net.params)
        for l in range(len(layers) - 1, -1, -1):
            op, _ = layers[l]
            ctx, _, _ = cache[l]
            L = self.net.layers[l]
            dh, wg = op.bwd(ctx, dz, need_dx=l > 0)
            for i, gval in zip(L["idx"][:-1], wg):
                grads[i] = gval.reshape(self.net.params[i].shape)
            grads[L["idx"][-1]] = tree_sum(dz, axis=0)
            if l:
                _, zprev, hprev = cache[l - 1]
                dz = dh * _act_grad(act, zprev, hprev)
        return loss, terms, grads


class QuantizedAdam:
    """Bit-exact float32 Adam (golden/adam.py) over the FP32 master weights."""

    def __init__(self, params):
        self.states = [adam_init(p.shape) for p in params]

    def step(self, params, grads, lr0, it, total):
        lr = linear_decay_lr(lr0, int(it), int(total))
        for k, (p, g) in enumerate(zip(params, grads)):
            params[k], self.states[k] = adam_step(p, F.to_fp32(g).reshape(p.shape), self.states[k], lr)

    def state(self):
        out = {}
        for i, s in enumerate(self.states):
            out[f"m{i}"], out[f"v{i}"] = s.m, s.v
            out[f"step{i}"] = np.array(s.step)
            out[f"pow{i}"] = np.array([s.beta1_pow, s.beta2_pow], np.float32)
        return out

    def load(self, st):
        self.states = [AdamState(m=np.array(st[f"m{i}"]), v=np.array(st[f"v{i}"]), step=int(st[f"step{i}"]),
                                 beta1_pow=np.float32(st[f"pow{i}"][0]), beta2_pow=np.float32(st[f"pow{i}"][1]))
                       for i in range(len(self.states))]
