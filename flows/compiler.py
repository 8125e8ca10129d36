"""Compiler: one quantized training iteration of a PINN -> PINTA programs.

It lowers exactly what :class:`pinta.golden.quantized_training.QuantizedEngine`
and :class:`~pinta.golden.quantized_training.QuantizedAdam` compute (DiffQuant
on, SMX blocks, dense layers and TT layers with PRS) into four programs per
iteration, with a host stage between the forward and the backward program:

1. ``rng``      δ = σ·N(0,1) on chip (RNG), and −δ; stored to DRAM.
2. ``forward``  every layer: base rows A (x), perturbed rows D (Δh, DiffQuant),
                activations; stores g(x) and Δg(x±δ) (and every tensor the
                backward needs) to DRAM.
3. host         SE estimates, residual, loss and the SE coefficients c, plus the
                ansatz: ``QuantizedEngine.se_stage`` (the PDE is arbitrary
                Python, docs/compiler.md §4).
4. ``backward`` the three streams A, U, D of the difference-form backward,
                weight and bias gradients; stored to DRAM.
5. ``adam``     ADAM per parameter tensor (tiled by rows).

Why four programs: ``rng`` and ``adam`` carry the iteration number as an
immediate (RNG stream, ADAM step), so they change every iteration; the big
``forward`` and ``backward`` programs do not, and their static analysis
(validation, schedule, counts) is computed once and cached.

Memory model (docs/compiler.md §2): every activation-sized tensor lives in
DRAM; each kernel streams row tiles through the on-chip buffers (LOAD,
compute, STORE), with tile sizes chosen so that the tile's working set fits
half of each buffer (the other half holds the next tile: double buffering).
Only the INT8/INT12 operands of one long-reduction chunk of a weight-gradient
GEMM (4·max_reduction_blocks rows, the smx_matmul_fp32 rule) must be resident
whole, because a GEMM reduction cannot be split (no accumulate rule) and the
chunking is part of the golden result; QUANTR builds them tile by tile.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from pinta.config import PintaConfig
from pinta.sim.isa import Buffer, Fmt, MacMode
from pinta.sim.layout import buffer_words, footprint_words
from pinta.sim.programs import ProgramBuilder, Tensor

__all__ = ["CompileError", "DramTensor", "IterationPrograms", "compile_iteration"]

W8, A8, G12 = 8, 8, 12
ACT, GRD, WGT, OPT = Buffer.activations, Buffer.gradients, Buffer.weights, Buffer.optimizer


class CompileError(ValueError):
    """A network, PDE setting or config the compiler cannot lower; the message says which and why."""


@dataclass(frozen=True)
class DramTensor:
    """An fp32 row-major matrix in DRAM (byte address ``addr``)."""
    name: str
    addr: int
    rows: int
    cols: int

    def row_addr(self, r: int) -> int:
        return self.addr + 4 * r * self.cols


class _Dram:
    def __init__(self):
        self.next = 0
        self.tensors: dict[str, DramTensor] = {}

    def alloc(self, name: str, rows: int, cols: int) -> DramTensor:
        if name in self.tensors:
            t = self.tensors[name]
            assert (t.rows, t.cols) == (rows, cols), name
            return t
        t = DramTensor(name, self.next, rows, cols)
        # 64-byte alignment plus one spare word: a tile STORE of an odd element
        # count writes the zero top half of its last word, which must land in slack.
        self.next += -(-(4 * rows * cols + 8) // 64) * 64
        self.tensors[name] = t
        return t


class _Builder(ProgramBuilder):
    """ProgramBuilder with a per-buffer limit (scratch halves) and DRAM row-tile moves."""

    def __init__(self, cfg: PintaConfig):
        super().__init__(cfg)
        self.limit = {b: buffer_words(getattr(cfg.buffers, b.name)) for b in Buffer}

    def tensor(self, buf, fmt, rows, cols):
        if rows >= 1 << 16 or cols >= 1 << 16:  # TDESC shape fields are 16 bits
            raise _NoFit(f"a {rows}x{cols} tensor exceeds the 16-bit descriptor shape fields")
        words = footprint_words(fmt, rows, cols, self.cfg)
        addr = self.next_word[buf]
        if addr + words > self.limit[buf]:
            raise _NoFit(f"buffer {buf.name}: {fmt.name} {rows}x{cols} needs {words} words at 0x{addr:x}, limit 0x{self.limit[buf]:x}")
        self.next_word[buf] = addr + words
        return self.describe(buf, fmt, addr, rows, cols)

    def load(self, dt: DramTensor, r0: int, rows: int, buf: Buffer) -> Tensor:
        t = self.tensor(buf, Fmt.fp32, rows, dt.cols)
        self.use(t)
        self.emit("LOAD", dst=t.reg, dram=dt.row_addr(r0))
        return t

    def load_into(self, t: Tensor, dt: DramTensor, r0: int) -> None:
        self.use(t)
        self.emit("LOAD", dst=t.reg, dram=dt.row_addr(r0))

    def put(self, t: Tensor, dt: DramTensor, r0: int = 0) -> None:
        assert t.fmt == Fmt.fp32 and t.cols == dt.cols and r0 + t.rows <= dt.rows, (dt.name, t.rows, t.cols)
        self.use(t)
        self.emit("STORE", src=t.reg, dram=dt.row_addr(r0))

    def vop(self, mnemonic: str, *srcs: Tensor, buf: Buffer = ACT, rows=None, cols=None, **fields) -> Tensor:
        a = srcs[0]
        out = self.tensor(buf, Fmt.fp32, a.rows if rows is None else rows, a.cols if cols is None else cols)
        self.use(out, *srcs)
        names = {1: ("a",), 2: ("a", "b")}[len(srcs)]
        self.emit(mnemonic, dst=out.reg, **{n: s.reg for n, s in zip(names, srcs)}, **fields)
        return out

    def vop_into(self, mnemonic: str, out: Tensor, *srcs: Tensor, **fields) -> None:
        self.use(out, *srcs)
        names = {1: ("a",), 2: ("a", "b")}[len(srcs)]
        self.emit(mnemonic, dst=out.reg, **{n: s.reg for n, s in zip(names, srcs)}, **fields)

    def quantr(self, dst: Tensor, src: Tensor, row: int, view: int = 0) -> None:
        """Quantize src (through view) into rows [row, ...) of the larger SMX tensor dst."""
        self.use(dst, src)
        self.emit("QUANTR", dst=dst.reg, src=src.reg, view=view, row=row)

    def sub(self, t: Tensor, r0: int, rows: int) -> Tensor:
        """Rows [r0, r0+rows) of an fp32 tensor (same words, no data moves)."""
        assert t.fmt == Fmt.fp32 and (r0 * t.cols) % 2 == 0
        return self.describe(t.buf, Fmt.fp32, t.addr + r0 * t.cols // 2, rows, t.cols)

    def view(self, dims, perm) -> int:
        # Every view here is consumed by the instruction right after it, so registers are reused round-robin.
        if self.next_view >= 8:
            self.next_view = 1
        return super().view(dims, perm)

    # scratch: the region above a mark, in one of two halves (double buffering)
    def mark(self) -> dict:
        return dict(self.next_word)

    def scratch(self, mark: dict, parity: int) -> None:
        for b in Buffer:
            full = buffer_words(getattr(self.cfg.buffers, b.name))
            half = (full - mark[b]) // 2
            self.next_word[b] = mark[b] + parity * half
            self.limit[b] = mark[b] + (parity + 1) * half

    def release(self, mark: dict) -> None:
        self.next_word = dict(mark)
        self.limit = {b: buffer_words(getattr(self.cfg.buffers, b.name)) for b in Buffer}


class _NoFit(Exception):
    pass


def _act_fn(act: str) -> str:
    return "VTANH" if act == "tanh" else "VSIN"


@dataclass
class IterationPrograms:
    """The compiled iteration: fixed programs, per-iteration generators and the DRAM map."""
    cfg: PintaConfig
    forward: list
    backward: list
    dram: dict[str, DramTensor]
    #: parameter index -> (w, m, v, g) DRAM tensor names and the s block name
    params: list[dict]
    B: int
    K: int
    N0: int
    dim: int
    seed: int
    total: int
    sigma: np.float32
    tiles: dict = field(default_factory=dict)
    _rng_cache: dict = field(default_factory=dict)
    _adam_cache: dict = field(default_factory=dict)

    def rng_program(self, iteration: int) -> list:
        if iteration not in self._rng_cache:
            self._rng_cache.clear()
            self._rng_cache[iteration] = _rng_program(self, iteration)
        return self._rng_cache[iteration]

    def adam_program(self, iteration: int) -> list:
        if iteration not in self._adam_cache:
            self._adam_cache.clear()
            self._adam_cache[iteration] = _adam_program(self, iteration)
        return self._adam_cache[iteration]


def _pert_tiles(K: int, BK: int) -> list[int]:
    """Row-tile sizes for a perturbed stream half, largest first (the first that fits is used).

    A tile must hold whole K-groups or lie inside one (so its centre rows
    are one contiguous range) and start on an SMX block row (multiple of 4).
    """
    cands = {t for t in range(4, K + 1, 4) if K % t == 0}
    cands |= {K * m for m in range(1, BK // K + 1) if (BK // K) % m == 0}
    return sorted(cands, reverse=True)


def compile_iteration(cfg: PintaConfig, pde, net, *, B: int, Nb: int, Ni: int, seed: int, total: int,
                      diffquant: bool = True, block: str = "smx", tt_method: str = "prs",
                      tt_split: int | None = None) -> IterationPrograms:
    """Compile one training iteration of ``net`` on ``pde`` for ``cfg``.

    B, Nb, Ni: interior, boundary and initial points per iteration; K = pde.pairs.
    """
    if not diffquant:
        raise CompileError("the sim backend lowers DiffQuant training only; drop --no-diffquant")
    if block != "smx":
        raise CompileError("the sim backend lowers SMX blocks only; drop --block mx")
    if any(L["kind"] == "tt" for L in net.layers) and tt_method != "prs":
        raise CompileError("the sim backend lowers TT layers with PRS only; drop --tt-method sequential")
    K, dim = int(pde.pairs), int(pde.dim)
    if K % 4:
        raise CompileError(f"pairs K = {K}: the sim backend needs K to be a multiple of 4 (SMX block rows)")
    if int(total) > (1 << 24) or int(total) < 1:
        raise CompileError(f"iterations = {total}: ADAM supports 1..2**24")
    BK = B * K
    N0 = B + Nb + Ni
    act = net.activation
    dram = _Dram()
    layers = net.layers
    nL = len(layers)
    widths = [L["n_out"] for L in layers]

    # ---- DRAM map ----
    x0 = dram.alloc("x0", N0, dim)
    dram.alloc("dh_in0", 2 * BK, dim)                 # [δ; −δ]
    for l in range(nL):
        n = widths[l]
        dram.alloc(f"z0_{l}", N0, n)
        dram.alloc(f"dz_{l}", 2 * BK, n)
        if l < nL - 1:
            dram.alloc(f"h0_{l + 1}", N0, n)
            dram.alloc(f"zp_{l}", 2 * BK, n)
            dram.alloc(f"hp_{l}", 2 * BK, n)
            dram.alloc(f"dh_in{l + 1}", 2 * BK, n)
    # Host-stage outputs: the last layer's three output-gradient streams and the SE coefficients c.
    for name, rows in ((f"dzA_{nL - 1}", N0), (f"dzU_{nL - 1}", B), (f"dzD_{nL - 1}", 2 * BK), ("c", 2 * BK)):
        dram.alloc(name, rows, 1)
    params = []
    for i, p in enumerate(net.params):
        shape = (1, p.shape[0]) if p.ndim == 1 else p.shape if p.ndim == 2 else (math.prod(p.shape[:-1]), p.shape[-1])
        rec = {"shape": p.shape}
        for role in ("w", "m", "v", "g"):
            rec[role] = dram.alloc(f"{role}{i}", *shape)
        rec["s"] = dram.alloc(f"s{i}", 1, 8)
        params.append(rec)
    h_in = lambda l: x0 if l == 0 else dram.tensors[f"h0_{l}"]  # noqa: E731
    d_in = lambda l: dram.tensors[f"dh_in{l}"]  # noqa: E731

    tiles: dict = {}
    ops = [_layer_op(net, params, l, tt_split) for l in range(nL)]
    try:
        fwd = _forward(cfg, dram, net, params, ops, act, B, K, N0, h_in, d_in, tiles)
        bwd = _backward(cfg, dram, net, params, ops, act, B, K, N0, h_in, d_in, tiles)
    except _NoFit as e:  # a resident tensor (weights, gradient partials) that no tiling can shrink
        raise CompileError(f"config '{cfg.name}' is too small for this network: {e} (resident weights and gradient "
                           "partials do not fit)") from None
    return IterationPrograms(cfg, fwd, bwd, dram.tensors, params, B, K, N0, dim, int(seed) & 0xFFFFFFFF, int(total),
                             np.float32(pde.sigma), tiles)


# ---------------------------------------------------------------------------
# tile search


def _run_tiles(pb: _Builder, what: str, n_rows: int, cands: list[int], emit, *, step_of=lambda T: T):
    """Emit ``emit(r0, T)`` over rows [0, n_rows) with the largest tile size that fits.

    The fit is tested by emitting the first tile into a throwaway builder with
    the same marks; tiles alternate between the two scratch halves.
    """
    mark = pb.mark()
    chosen = None
    for T in cands:
        trial = _Builder(pb.cfg)
        trial.next_word = dict(mark)
        trial.scratch(mark, 0)
        try:
            emit(trial, 0, min(T, n_rows))
        except _NoFit:
            continue
        chosen = T
        break
    if chosen is None:
        raise CompileError(f"{what}: even the smallest row tile ({cands[-1]} rows) does not fit the buffers of config "
                           f"'{pb.cfg.name}' {dict((b.name, getattr(pb.cfg.buffers, b.name)) for b in Buffer)} KiB; "
                           "use a chip config with larger buffers or a smaller problem (--hidden, --pairs, --n-interior); "
                           "docs/compiler.md §5")
    k = 0
    for r0 in range(0, n_rows, step_of(chosen)):
        pb.scratch(mark, k % 2)
        emit(pb, r0, min(step_of(chosen), n_rows - r0))
        k += 1
    pb.release(mark)
    return chosen


def _row_cands(n_rows: int) -> list[int]:
    c, t = [], 4
    while t < n_rows:
        c.append(t)
        t *= 2
    c.append(-(-n_rows // 4) * 4)
    return sorted(set(c), reverse=True)


def _load_quant(pb: _Builder, dt: DramTensor, rows: int, cols: int, bits: int, view=None, shape=None) -> Tensor:
    """A weight-side SMX operand resident in the weights buffer (fp32 staged through the optimizer buffer)."""
    mark = pb.next_word[OPT]
    w32 = pb.load(dt, 0, dt.rows, OPT)
    if (w32.rows, w32.cols) != (rows, cols):
        w32 = pb.reshape_fp32(w32, rows, cols)
    out = pb.quant(w32, bits, *(shape or (rows, cols)), view=view or 0, buf=WGT)
    pb.next_word[OPT] = mark  # the fp32 copy is dead once quantized
    return out


class _DenseOp:
    """A dense layer: Y = Q8(X)·Q8(W); dX = Q12(dY)·Q8(W)ᵀ; dW = Q8(X)ᵀ·Q12(dY) by the long-reduction rule."""

    def __init__(self, wrec: dict, n_in: int, n: int):
        self.wrec, self.n_in, self.n = wrec, n_in, n
        self.qw = None
        self.grad_shapes = [(n_in, n)]

    def prep(self, pb: _Builder) -> None:
        self.qw = _load_quant(pb, self.wrec["w"], self.n_in, self.n, W8)

    def fwd(self, p: _Builder, x: Tensor) -> Tensor:
        return _gemm_f32(p, p.quant(x, A8, buf=ACT), self.qw, MacMode.i8x8)

    def dx(self, p: _Builder, d: Tensor) -> Tensor:
        return _gemm_f32(p, p.quant(d, G12, buf=GRD), self.qw, MacMode.i12x8, tb=True)

    def dw(self, pb: _Builder, what: str, x_dram: DramTensor, rows: int, load_dy, slots) -> None:
        """Weight gradient of one stream into ``slots(0, rows, cols)``: smx_matmul_fp32 order.

        The reduction over the stream's rows is cut into accumulator chunks
        (4·max_reduction_blocks rows); each chunk is one GEMM whose result is
        rounded once to FP32, and the chunk results are added in order.
        """
        ch = _chunk_rows(pb.cfg)
        dst = None
        for r0 in range(0, rows, ch):
            rr = min(ch, rows - r0)
            cm = pb.mark()
            try:
                # The chunk's GEMM operands, built from row tiles (QUANTR): the FP32 sources stream.
                qx = pb.tensor(ACT, Fmt.smx8, rr, self.n_in)
                qd = pb.tensor(GRD, Fmt.smx12, rr, self.n)

                def tile(p, s0, t, r0=r0, qx=qx, qd=qd):
                    p.quantr(qx, p.load(x_dram, r0 + s0, t, ACT), s0)
                    p.quantr(qd, load_dy(p, r0 + s0, t), s0)
                _run_tiles(pb, what, rr, _row_cands(rr), tile)
                acc = pb.gemm(qx, qd, MacMode.i8x12, ta=True, buf=GRD)
                if dst is None:
                    dst = slots(0, self.n_in, self.n)
                    pb.use(dst, acc)
                    pb.emit("ACCF", dst=dst.reg, a=acc.reg)
                else:
                    part = pb.accf(acc, buf=GRD)
                    pb.vop_into("VADD", dst, dst, part)   # r = r + c_k, in chunk order
            except (_NoFit, CompileError):
                raise CompileError(
                    f"{what}: a weight-gradient GEMM reduces one accumulator chunk of {rr} rows (4·max_reduction_blocks = {ch}) "
                    f"in one instruction; its operands ({rr}x{self.n_in} INT8, {rr}x{self.n} INT12 and the accumulator tile) "
                    f"do not fit the buffers of config '{pb.cfg.name}' (GEMM accumulate is not defined, so the reduction "
                    "cannot be split; docs/compiler.md §5)") from None
            for b_ in (ACT, GRD):
                pb.next_word[b_] = cm[b_]


class _TTOp:
    """A TT layer with PRS (golden/tt.py ``_prs_forward``/``_prs_backward`` in SMX numerics)."""

    def __init__(self, recs: list[dict], shapes: list[tuple], split: int, n_in: int, n: int):
        self.recs, self.shapes, self.s = recs, shapes, split
        self.n_in, self.n = n_in, n
        ms = [c[1] for c in shapes]
        ns = [c[2] for c in shapes]
        self.M1, self.M2 = math.prod(ms[:split]), math.prod(ms[split:])
        self.N1, self.N2 = math.prod(ns[:split]), math.prod(ns[split:])
        self.r = shapes[split][0]
        self.grad_shapes = [(c[0] * c[1] * c[2], c[3]) for c in shapes]  # DRAM matrix shape of each core

    def _chain(self, pb: _Builder, lo: int, hi: int, final: tuple[int, int]):
        """Forward chain of cores lo..hi-1 (reconstruction), quantized half and its tape (golden _chain_forward)."""
        ra, M, N, r = self.shapes[lo]
        if hi - lo == 1:
            return _load_quant(pb, self.recs[lo]["w"], ra * M * N, r, W8, shape=final), []
        pa = _load_quant(pb, self.recs[lo]["w"], ra * M * N, r, W8)
        tape = []
        for k in range(lo + 1, hi):
            _, m, n, r2 = self.shapes[k]
            qg = _load_quant(pb, self.recs[k]["w"], r, m * n * r2, W8)
            c = pb.gemm(pa, qg, MacMode.i8x8, buf=GRD)
            tape.append((pa, qg, (ra, M, N, r), (m, n, r2)))
            # C (ra, M, N, m, n, r2) -> (ra, M, m, N, n, r2): the quantizer's view.
            v = pb.view((ra * M, N, m, n * r2), (0, 2, 1, 3))
            M, N, r = M * m, N * n, r2
            rows, cols = final if k == hi - 1 else (ra * M * N, r)
            pa = pb.quant(c, W8, rows, cols, view=v, buf=WGT)
        return pa, tape

    def prep(self, pb: _Builder) -> None:
        d = len(self.shapes)
        self.Lq, self.tape_l = self._chain(pb, 0, self.s, (self.M1, self.N1 * self.r))
        self.Rq, self.tape_r = self._chain(pb, self.s, d, (self.r * self.M2, self.N2))

    def _xq_t(self, p: _Builder, x: Tensor):
        t = x.rows
        xq = p.quant(x, A8, t * self.M2, self.M1, view=p.view((t, self.M1, self.M2), (0, 2, 1)), buf=ACT)
        tacc = p.gemm(xq, self.Lq, MacMode.i8x8, buf=GRD)
        tq = p.quant(tacc, A8, t * self.N1, self.r * self.M2, view=p.view((t, self.M2, self.N1, self.r), (0, 2, 3, 1)), buf=ACT)
        return xq, tq

    def fwd(self, p: _Builder, x: Tensor) -> Tensor:
        _, tq = self._xq_t(p, x)
        y = _gemm_f32(p, tq, self.Rq, MacMode.i8x8)
        return p.describe(y.buf, Fmt.fp32, y.addr, x.rows, self.n)

    def _dt(self, p: _Builder, d: Tensor):
        t = d.rows
        dyq = p.quant(d, G12, t * self.N1, self.N2, buf=GRD)
        dtp = p.gemm(dyq, self.Rq, MacMode.i12x8, tb=True, buf=GRD)
        dtq = p.quant(dtp, G12, t * self.M2, self.N1 * self.r, view=p.view((t, self.N1, self.r, self.M2), (0, 3, 1, 2)), buf=GRD)
        return dyq, dtq

    def dx(self, p: _Builder, d: Tensor) -> Tensor:
        t = d.rows
        _, dtq = self._dt(p, d)
        dxp = _gemm_f32(p, dtq, self.Lq, MacMode.i12x8, tb=True)      # (t·M2, M1), one rounding
        out = p.tensor(ACT, Fmt.fp32, t, self.n_in)
        p.use(out, dxp)
        # (t, M2, M1) -> (t, M1, M2): a permuting copy (a tree sum over a length-1 axis).
        p.emit("VRED", dst=out.reg, a=dxp.reg, view=p.view((t, self.M2, self.M1, 1), (0, 2, 1, 3)), axis=3, span=0)
        return out

    def dw(self, pb: _Builder, what: str, x_dram: DramTensor, rows: int, load_dy, slots) -> None:
        """Core gradients of one stream: dR = Tpᵀ·dY and dL = Xpᵀ·dT by the long-reduction rule, then the chains.

        dR reduces over rows·N1 and dL over rows·M2 (point-major), cut into
        accumulator chunks of 4·max_reduction_blocks; each chunk is one GEMM
        rounded once to FP32, the chunk results added in order (golden
        exact_matmul_fp32). When N1 = M2 both reductions share their chunk
        boundaries and one pass over the stream computes both.
        """
        ch = _chunk_rows(pb.cfg)
        d = len(self.shapes)
        one_l, one_r = self.s == 1, d - self.s == 1
        keep = pb.mark()
        try:
            dR = slots(self.s, self.r * self.M2, self.N2) if one_r else pb.tensor(OPT, Fmt.fp32, self.r * self.M2, self.N2)
            dL = slots(0, self.M1, self.N1 * self.r) if one_l else pb.tensor(OPT, Fmt.fp32, self.M1, self.N1 * self.r)
        except _NoFit:
            raise CompileError(f"{what}: the TT half gradients do not fit buffer optimizer of config '{pb.cfg.name}'") from None
        step_r, step_l = max(1, ch // self.N1), max(1, ch // self.M2)
        passes = [("RL", step_r)] if step_r == step_l else [("R", step_r), ("L", step_l)]
        for which, step in passes:
            for k, r0 in enumerate(range(0, rows, step)):
                rr = min(step, rows - r0)
                cm = pb.mark()
                try:
                    # The chunk's GEMM operands, built from row tiles (QUANTR) so no FP32 source is resident whole.
                    M1, M2, N1, N2, r = self.M1, self.M2, self.N1, self.N2, self.r
                    tq_c = pb.tensor(ACT, Fmt.smx8, rr * N1, r * M2) if "R" in which else None
                    xq_c = pb.tensor(ACT, Fmt.smx8, rr * M2, M1) if "L" in which else None
                    dyq_c = pb.tensor(GRD, Fmt.smx12, rr * N1, N2) if "R" in which else None
                    dtq_c = pb.tensor(GRD, Fmt.smx12, rr * M2, N1 * r) if "L" in which else None

                    def tile(p, s0, t, r0=r0, which=which, tq_c=tq_c, xq_c=xq_c, dyq_c=dyq_c, dtq_c=dtq_c):
                        x = p.load(x_dram, r0 + s0, t, ACT)
                        dy = load_dy(p, r0 + s0, t)
                        if "L" in which:
                            p.quantr(xq_c, x, s0 * M2, view=p.view((t, M1, M2), (0, 2, 1)))
                            dyq = p.quant(dy, G12, t * N1, N2, buf=GRD)
                            dtp = p.gemm(dyq, self.Rq, MacMode.i12x8, tb=True, buf=GRD)
                            p.quantr(dtq_c, dtp, s0 * M2, view=p.view((t, N1, r, M2), (0, 3, 1, 2)))
                        if "R" in which:
                            xq = p.quant(x, A8, t * M2, M1, view=p.view((t, M1, M2), (0, 2, 1)), buf=ACT)
                            tacc = p.gemm(xq, self.Lq, MacMode.i8x8, buf=GRD)
                            p.quantr(tq_c, tacc, s0 * N1, view=p.view((t, M2, N1, r), (0, 2, 3, 1)))
                            p.quantr(dyq_c, dy, s0 * N1)
                    _run_tiles(pb, what, rr, _row_cands(rr), tile)
                    if "R" in which:
                        self._accumulate(pb, dR, pb.gemm(tq_c, dyq_c, MacMode.i8x12, ta=True, buf=GRD), k)
                    if "L" in which:
                        self._accumulate(pb, dL, pb.gemm(xq_c, dtq_c, MacMode.i8x12, ta=True, buf=GRD), k)
                except (_NoFit, CompileError):
                    raise CompileError(f"{what}: the TT core-gradient operands of one accumulator chunk ({rr} rows) do not "
                                       f"fit the buffers of config '{pb.cfg.name}'") from None
                for b_ in (ACT, GRD, WGT):
                    pb.next_word[b_] = cm[b_]
        self._chain_backward(pb, dL, self.tape_l, 0, slots)
        self._chain_backward(pb, dR, self.tape_r, self.s, slots)
        pb.release(keep)

    @staticmethod
    def _accumulate(pb: _Builder, total: Tensor, acc: Tensor, k: int) -> None:
        """total = ACCF(acc) for the first chunk, else total = total + ACCF(acc) (FP32, chunk order)."""
        if k == 0:
            pb.use(total, acc)
            pb.emit("ACCF", dst=total.reg, a=acc.reg)
        else:
            part = pb.accf(acc, buf=GRD)
            pb.vop_into("VADD", total, total, part)

    def _chain_backward(self, pb: _Builder, dp: Tensor, tape: list, first: int, slots) -> None:
        """Core gradients of a half from dP (golden _chain_backward), each rounded once to FP32 into its slot."""
        for k in range(len(tape), 0, -1):
            pa, qg, (ra, M, N, r), (m, n, r2) = tape[k - 1]
            v = pb.view((ra * M, m, N, n * r2), (0, 2, 1, 3))
            dcq = pb.quant(dp, G12, ra * M * N, m * n * r2, view=v, buf=GRD)
            dg = pb.gemm(pa, dcq, MacMode.i8x12, ta=True, buf=GRD)
            out = slots(first + k, r, m * n * r2)
            pb.use(out, dg)
            pb.emit("ACCF", dst=out.reg, a=dg.reg)
            dp = pb.gemm(dcq, qg, MacMode.i12x8, tb=True, buf=GRD)      # exact: the next step quantizes it
        if tape:
            out = slots(first, dp.rows, dp.cols)
            pb.use(out, dp)
            pb.emit("ACCF", dst=out.reg, a=dp.reg)


def _chunk_rows(cfg) -> int:
    """Rows of one long-reduction chunk: 4·max_reduction_blocks (golden/smx.py smx_matmul_fp32)."""
    from pinta.golden.smx import max_reduction_blocks

    return 4 * max_reduction_blocks(cfg)


def _layer_op(net, params, l: int, tt_split):
    L = net.layers[l]
    if L["kind"] == "dense":
        return _DenseOp(params[L["idx"][0]], L["n_in"], L["n_out"])
    shapes = [tuple(net.params[i].shape) for i in L["idx"][:-1]]
    d = len(shapes)
    s = max(1, d // 2) if tt_split is None else int(tt_split)
    if not 1 <= s < d:
        raise CompileError(f"TT split {s}: must satisfy 1 <= s < d = {d}")
    return _TTOp([params[i] for i in L["idx"][:-1]], shapes, s, L["n_in"], L["n_out"])


def _gemm_f32(pb: _Builder, qa: Tensor, qb: Tensor, mode: MacMode, *, ta=False, tb=False, out_buf=ACT) -> Tensor:
    acc = pb.gemm(qa, qb, mode, ta=ta, tb=tb, buf=GRD)
    return pb.accf(acc, buf=out_buf)


# ---------------------------------------------------------------------------
# forward


def _forward(cfg, dram, net, params, ops, act, B, K, N0, h_in, d_in, tiles) -> list:
    pb = _Builder(cfg)
    T = dram.tensors
    BK = B * K
    nL = len(net.layers)
    for l, L in enumerate(net.layers):
        n_in, n = L["n_in"], L["n_out"]
        last = l == nL - 1
        brec = params[L["idx"][-1]]
        base = pb.mark()
        op = ops[l]
        op.prep(pb)
        bias = pb.load(brec["w"], 0, 1, WGT)

        # A stream: z0 = Q(h0)·Q(W) + b; h0' = act(z0)
        src, z0d = h_in(l), T[f"z0_{l}"]

        def base_tile(p, r0, t, src=src, z0d=z0d, op=op, bias=bias, l=l, last=last, n=n):
            z = op.fwd(p, p.load(src, r0, t, ACT))
            z = p.vop("VADDB", z, bias)
            p.put(z, z0d, r0)
            if not last:
                p.put(p.vop(_act_fn(act), z), T[f"h0_{l + 1}"], r0)
        tiles[f"fwd_base_{l}"] = _run_tiles(pb, f"forward layer {l} base rows", N0, _row_cands(N0), base_tile)

        # D stream: Δz = Q(Δh)·Q(W) (layer 0: Q(δ) once, the minus half negated)
        dzd = T[f"dz_{l}"]
        rows_fwd = BK if l == 0 else 2 * BK

        def pert_tile(p, r0, t, l=l, n=n, last=last, op=op, dzd=dzd):
            dz = op.fwd(p, p.load(d_in(l), r0, t, ACT))
            halves = [(r0, dz)]
            if l == 0:
                p.put(dz, dzd, r0)
                neg = p.vop("VNEG", dz)
                p.put(neg, dzd, BK + r0)
                halves.append((BK + r0, neg))
            else:
                p.put(dz, dzd, r0)
            if last:
                return
            for g0, d in halves:
                c0 = (g0 % BK) // K
                nc = max(1, t // K)
                zc = p.load(T[f"z0_{l}"], c0, nc, ACT)
                zp = p.vop("VADDB", d, zc)          # zc + Δz (the same IEEE add)
                hp = p.vop(_act_fn(act), zp)
                hc = p.load(T[f"h0_{l + 1}"], c0, nc, ACT)
                dh = p.vop("VSUBB", hp, hc)         # act(z0+Δz) − act(z0)
                p.put(zp, T[f"zp_{l}"], g0)
                p.put(hp, T[f"hp_{l}"], g0)
                p.put(dh, T[f"dh_in{l + 1}"], g0)
        cands = _pert_tiles(K, BK)
        tiles[f"fwd_pert_{l}"] = _run_tiles(pb, f"forward layer {l} perturbed rows", rows_fwd, cands, pert_tile)
        pb.release(base)
    pb.emit("BARRIER")
    return pb.program


# ---------------------------------------------------------------------------
# backward


def _backward(cfg, dram, net, params, ops, act, B, K, N0, h_in, d_in, tiles) -> list:
    pb = _Builder(cfg)
    T = dram.tensors
    BK = B * K
    nL = len(net.layers)
    dal = dram.alloc
    for l in range(nL - 1, -1, -1):
        L = net.layers[l]
        n_in, n = L["n_in"], L["n_out"]
        brec = params[L["idx"][-1]]
        op = ops[l]
        dzA, dzU, dzD, c = T[f"dzA_{l}"], T[f"dzU_{l}"], T[f"dzD_{l}"], T["c"]
        xin, dxin = h_in(l), d_in(l)
        dzA_tot = dal(f"dzAtot_{l}", N0, n)
        Cd = dal(f"C_{l}", B, n_in)
        base = pb.mark()
        op.prep(pb)

        # S (per-point sum of the D stream) into the interior rows of A, and C_b = Σ_p c_p·Δh_p.
        def point_tile(p, b0, tb, n=n, n_in=n_in, dzA=dzA, dzD=dzD, dxin=dxin, dzA_tot=dzA_tot, Cd=Cd):
            rows = tb * K
            d2 = p.tensor(ACT, Fmt.fp32, 2 * rows, n)
            p.load_into(p.sub(d2, 0, rows), dzD, b0 * K)
            p.load_into(p.sub(d2, rows, rows), dzD, BK + b0 * K)
            v = p.view((2, tb, K, n), (1, 0, 2, 3))
            s = p.tensor(ACT, Fmt.fp32, tb, n)
            p.use(s, d2)
            p.emit("VRED", dst=s.reg, a=d2.reg, view=v, axis=1, span=1)
            a = p.load(dzA, b0, tb, ACT)
            p.put(p.vop("VADD", a, s), dzA_tot, b0)
            h2 = p.tensor(ACT, Fmt.fp32, 2 * rows, n_in)
            p.load_into(p.sub(h2, 0, rows), dxin, b0 * K)
            p.load_into(p.sub(h2, rows, rows), dxin, BK + b0 * K)
            c2p = p.load(c, b0 * K, rows, ACT)
            c2m = p.load(c, BK + b0 * K, rows, ACT)
            # c_p·Δh_p for both halves, in place (the halves already sit side by side for the reduction).
            prod = h2
            p.vop_into("VMULB", p.sub(h2, 0, rows), p.sub(h2, 0, rows), c2p)
            p.vop_into("VMULB", p.sub(h2, rows, rows), p.sub(h2, rows, rows), c2m)
            v2 = p.view((2, tb, K, n_in), (1, 0, 2, 3))
            cs = p.tensor(ACT, Fmt.fp32, tb, n_in)
            p.use(cs, prod)
            p.emit("VRED", dst=cs.reg, a=prod.reg, view=v2, axis=1, span=1)
            p.put(cs, Cd, b0)
        row_cands = sorted({B} | {1 << k for k in range(B.bit_length()) if (1 << k) < B}, reverse=True)
        tiles[f"bwd_points_{l}"] = _run_tiles(pb, f"backward layer {l} per-point sums", B, row_cands, point_tile)
        if N0 > B:  # boundary/initial rows of dzA_tot are dzA itself
            def copy_tile(p, r0, t, dzA=dzA, dzA_tot=dzA_tot):
                p.put(p.load(dzA, B + r0, t, ACT), dzA_tot, B + r0)
            _run_tiles(pb, f"backward layer {l} copy", N0 - B, _row_cands(N0 - B), copy_tile)

        # Bias gradient: one tree sum over all base rows (the order spans every row).
        mark = pb.mark()
        try:
            at = pb.load(dzA_tot, 0, N0, ACT)
        except _NoFit:
            raise CompileError(f"backward layer {l}: the bias gradient sums {N0}x{n} FP32 rows in one tree, which does not "
                               f"fit buffer activations of config '{cfg.name}'") from None
        gb = pb.vop("VSUM", at, rows=1, cols=n, buf=OPT, axis=0)
        pb.put(gb, brec["g"])
        pb.release(mark)

        # Weight gradients: streams A, D, U (each by the long-reduction rule), then a tree over [A, D, U].
        mark = pb.mark()
        wids = L["idx"][:-1]
        sizes = [math.prod(net.params[i].shape) for i in wids]
        if any(z % 2 for z in sizes):
            raise CompileError(f"layer {l}: a parameter tensor of {min(z for z in sizes if z % 2)} elements; the stacked "
                               "gradient partials need even sizes (choose even widths)")
        gshape = [(params[i]["g"].rows, params[i]["g"].cols) for i in wids]
        stacks = [pb.tensor(OPT, Fmt.fp32, 3 * r_, c_) for r_, c_ in gshape]  # [A; D; U] partials, row blocks

        def load_plain(dys):
            return lambda p, r0, rr: p.load(dys, r0, rr, GRD)

        def load_diff(p, r0, rr, dzD=dzD):  # layer 0: dD = dzD[:BK] − dzD[BK:] (one Q(δ) serves both signs)
            return p.vop("VSUB", p.load(dzD, r0, rr, GRD), p.load(dzD, BK + r0, rr, GRD), buf=GRD)

        streams = [("A", xin, N0, load_plain(dzA_tot)),
                   ("D", dxin, BK, load_diff) if l == 0 else ("D", dxin, 2 * BK, load_plain(dzD)),
                   ("U", Cd, B, load_plain(dzU))]
        for j, (tag, xs, rows, load_dy) in enumerate(streams):
            def slots(k, r_, c_, j=j):
                return pb.describe(OPT, Fmt.fp32, stacks[k].addr + j * sizes[k] // 2, r_, c_)
            op.dw(pb, f"backward layer {l}, stream {tag}", xs, rows, load_dy, slots)
        for k, i in enumerate(wids):
            gw = pb.tensor(OPT, Fmt.fp32, *gshape[k])
            pb.use(gw, stacks[k])
            # tree_sum over the stream axis of (3, rows, cols): the golden tree_sum(stack([A, D, U]), axis=0).
            pb.emit("VRED", dst=gw.reg, a=stacks[k].reg, view=pb.view((3, *gshape[k]), (0, 1, 2)), axis=0, span=0)
            pb.put(gw, params[i]["g"])
        pb.release(mark)

        if l == 0:
            pb.release(base)
            break

        # dX of the three streams, and the next layer's output gradients.
        nA, nU, nD = f"dzA_{l - 1}", f"dzU_{l - 1}", f"dzD_{l - 1}"
        dzA_n, dzU_n, dzD_n = dal(nA, N0, n_in), dal(nU, B, n_in), dal(nD, 2 * BK, n_in)
        dhU = dal(f"dhU_{l}", B, n_in)
        h0p = T[f"h0_{l}"]    # act(z0) of layer l-1
        z0p = T[f"z0_{l - 1}"]

        def act_grad(p, z_t, h_t):
            return p.vop("VDTANH", h_t) if act == "tanh" else p.vop("VCOS", z_t)

        def a_tile(p, r0, t, dzA=dzA, dzA_n=dzA_n, op=op):
            dh = op.dx(p, p.load(dzA, r0, t, GRD))
            h = p.load(h0p, r0, t, ACT)
            z = p.load(z0p, r0, t, ACT) if act != "tanh" else None
            p.put(p.vop("VMUL", dh, act_grad(p, z, h)), dzA_n, r0)
        tiles[f"bwd_A_{l}"] = _run_tiles(pb, f"backward layer {l} base dX", N0, _row_cands(N0), a_tile)

        def u_tile(p, r0, t, dzU=dzU, dzU_n=dzU_n, op=op, dhU=dhU):
            dh = op.dx(p, p.load(dzU, r0, t, GRD))
            p.put(dh, dhU, r0)
            h = p.load(h0p, r0, t, ACT)
            z = p.load(z0p, r0, t, ACT) if act != "tanh" else None
            p.put(p.vop("VMUL", dh, act_grad(p, z, h)), dzU_n, r0)
        tiles[f"bwd_U_{l}"] = _run_tiles(pb, f"backward layer {l} unit dX", B, _row_cands(B), u_tile)

        dzp, hpp, dhout = T[f"zp_{l - 1}"], T[f"hp_{l - 1}"], T[f"dh_in{l}"]
        dzprev = T[f"dz_{l - 1}"]

        def d_tile(p, r0, t, dzD=dzD, dzD_n=dzD_n, op=op):
            dhD = op.dx(p, p.load(dzD, r0, t, GRD))
            c0 = (r0 % BK) // K
            nc = max(1, t // K)
            if act == "tanh":
                ag = p.vop("VDTANH", p.load(hpp, r0, t, ACT))
            else:
                ag = p.vop("VCOS", p.load(dzp, r0, t, ACT))
            p1 = p.vop("VMUL", dhD, ag)
            dh = p.load(dhout, r0, t, ACT)
            if act == "tanh":   # act'(z0+Δz) − act'(z0) = −Δh·(2·h0 + Δh)
                h2 = p.vop("VSCALE", p.load(h0p, c0, nc, ACT), scale=_f32bits(2.0))
                s_ = p.vop("VADDB", dh, h2)
                dad = p.vop("VNEG", p.vop("VMUL", dh, s_))
            else:               # −2·sin(z0 + Δz/2)·sin(Δz/2)
                half = p.vop("VSCALE", p.load(dzprev, r0, t, ACT), scale=_f32bits(0.5))
                s1 = p.vop("VSIN", p.vop("VADDB", half, p.load(z0p, c0, nc, ACT)))
                s2 = p.vop("VSIN", half)
                dad = p.vop("VNEG", p.vop("VMUL", p.vop("VSCALE", s1, scale=_f32bits(2.0)), s2))
            q1 = p.vop("VMULB", dad, p.load(dhU, c0, nc, ACT))   # dhU[centre]·dad
            q2 = p.vop("VMULB", q1, p.load(c, r0, t, ACT))        # c_p·(...)
            p.put(p.vop("VADD", p1, q2), dzD_n, r0)
        cands = _pert_tiles(K, BK)
        tiles[f"bwd_D_{l}"] = _run_tiles(pb, f"backward layer {l} perturbed dX", 2 * BK, cands, d_tile)
        pb.release(base)
    pb.emit("BARRIER")
    return pb.program


def _f32bits(x: float) -> int:
    return int(np.array([x], np.float32).view(np.uint32)[0])


# ---------------------------------------------------------------------------
# per-iteration programs


def _rng_program(ip: IterationPrograms, iteration: int) -> list:
    if not 0 <= iteration < (1 << 16):
        raise CompileError(f"iteration {iteration}: the RNG stream field holds 16 bits (iterations < 65536)")
    pb = _Builder(ip.cfg)
    BK, dim = ip.B * ip.K, ip.dim
    dd = ip.dram["dh_in0"]
    scale = _f32bits(float(ip.sigma))

    def tile(p, r0, t):
        d = p.tensor(ACT, Fmt.fp32, t, dim)
        p.use(d)
        p.emit("RNG", dst=d.reg, seed=ip.seed, stream=iteration, ctr=r0 * dim, scale=scale)
        p.put(d, dd, r0)
        p.put(p.vop("VNEG", d), dd, BK + r0)
    _run_tiles(pb, "delta sampling", BK, _row_cands(BK), tile)
    pb.emit("BARRIER")
    return pb.program


def _adam_program(ip: IterationPrograms, iteration: int) -> list:
    pb = _Builder(ip.cfg)
    for rec in ip.params:
        w = rec["w"]

        def tile(p, r0, t, rec=rec):
            ts = [p.load(rec[k], r0, t, OPT) for k in ("w", "m", "v", "g")]
            s = p.load(rec["s"], 0, 1, OPT)   # a fresh copy per tile: each ADAM advances the powers once
            p.use(*ts, s)
            p.emit("ADAM", w=ts[0].reg, m=ts[1].reg, v=ts[2].reg, g=ts[3].reg, s=s.reg, step=iteration, total=ip.total)
            for k, tt in zip(("w", "m", "v"), ts):
                p.put(tt, rec[k], r0)
            if r0 + t == rec["w"].rows:  # the last tile writes the advanced powers back (earlier tiles read the old ones)
                p.put(s, rec["s"])
        _run_tiles(pb, "adam", w.rows, sorted({w.rows} | set(_row_cands(w.rows)), reverse=True), tile)
    pb.emit("BARRIER")
    return pb.program
