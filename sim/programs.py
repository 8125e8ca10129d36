"""Program builders: a small allocator plus generators for GEMM and TT-layer programs.

:class:`ProgramBuilder` hands out buffer space (word addresses, bump
allocation per buffer), descriptor registers and DRAM addresses, and emits
the instructions. The generators here are used by the tests, the benchmark
and as examples of the ISA; a compiler would do the same job.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pinta.config import PintaConfig

from .isa import NUM_DESCRIPTORS, NUM_VIEWS, VIEW_DIMS, Buffer, Fmt, Instr, MacMode
from .layout import buffer_words, footprint_words
from .program import Descriptor

__all__ = ["ProgramBuilder", "Tensor", "gemm_program", "tt_prs_program", "tt_prs_forward_program", "diffquant_first_layer_program"]


@dataclass(eq=False)
class Tensor:
    """A builder-side handle: what a tensor is, and the register it is bound to now.

    ``reg`` changes when the builder runs out of the 32 descriptor registers
    and re-binds the tensor to another one (with a new TDESC) on its next use.
    """
    reg: int
    buf: Buffer
    fmt: Fmt
    addr: int
    rows: int
    cols: int

    def descriptor(self, cfg: PintaConfig) -> Descriptor:
        """The machine-side descriptor (for reading the tensor back after a run)."""
        return Descriptor(self.buf, self.fmt, self.addr, self.rows, self.cols,
                          footprint_words(self.fmt, self.rows, self.cols, cfg))


@dataclass
class ProgramBuilder:
    cfg: PintaConfig
    program: list[Instr] = field(default_factory=list)
    next_word: dict = field(default_factory=lambda: {b: 0 for b in Buffer})
    next_reg: int = 0
    #: register -> the tensor bound to it now
    bound: dict = field(default_factory=dict)
    _victim: int = 0
    next_view: int = 1
    next_dram: int = 0
    #: DRAM inputs the host must place: {byte address: float32 matrix or SMXTensor}
    #: (``Machine.put_fp32`` / ``put_smx``; :meth:`input_images` gives the word images)
    inputs: dict = field(default_factory=dict)
    #: DRAM outputs: name -> (byte address, Tensor)
    outputs: dict = field(default_factory=dict)

    def emit(self, mnemonic: str, **fields) -> Instr:
        ins = Instr.make(mnemonic, **fields)
        self.program.append(ins)
        return ins

    def tensor(self, buf: Buffer, fmt: Fmt, rows: int, cols: int) -> Tensor:
        """Allocate buffer space and a descriptor register (TDESC)."""
        words = footprint_words(fmt, rows, cols, self.cfg)
        addr = self.next_word[buf]
        if addr + words > buffer_words(getattr(self.cfg.buffers, buf.name)):
            raise ValueError(f"buffer {buf.name} is full: {fmt.name} {rows}x{cols} needs {words} words at 0x{addr:x}")
        self.next_word[buf] = addr + words
        return self.describe(buf, fmt, addr, rows, cols)

    def describe(self, buf: Buffer, fmt: Fmt, addr: int, rows: int, cols: int) -> Tensor:
        """A new descriptor for existing space (e.g. a reshaped view of an fp32 tensor)."""
        t = Tensor(-1, buf, fmt, addr, rows, cols)
        self.use(t)
        return t

    def use(self, *tensors: Tensor) -> None:
        """Make sure every tensor is bound to a register (re-binding evicted ones)."""
        keep = {t.reg for t in tensors if self.bound.get(t.reg) is t}
        for t in tensors:
            if self.bound.get(t.reg) is t:
                continue
            if self.next_reg < NUM_DESCRIPTORS:
                reg = self.next_reg
                self.next_reg += 1
            else:  # round-robin eviction, never of a register this instruction uses
                while self._victim in keep:
                    self._victim = (self._victim + 1) % NUM_DESCRIPTORS
                reg = self._victim
                self._victim = (self._victim + 1) % NUM_DESCRIPTORS
            t.reg = reg
            self.bound[reg] = t
            keep.add(reg)
            self.emit("TDESC", t=reg, buf=t.buf, fmt=t.fmt, addr=t.addr, rows=t.rows, cols=t.cols)

    def reshape_fp32(self, t: Tensor, rows: int, cols: int) -> Tensor:
        """The same row-major fp32 words seen with another 2-D shape (no data moves)."""
        assert t.fmt == Fmt.fp32 and rows * cols == t.rows * t.cols
        return self.describe(t.buf, t.fmt, t.addr, rows, cols)

    def view(self, dims: tuple[int, ...], perm: tuple[int, ...]) -> int:
        """Define a view register; ``dims`` and ``perm`` are padded with trailing unit axes."""
        dims = tuple(dims) + (1,) * (VIEW_DIMS - len(dims))
        perm = tuple(perm) + tuple(range(len(perm), VIEW_DIMS))
        if self.next_view >= NUM_VIEWS:
            raise ValueError(f"out of view registers ({NUM_VIEWS - 1} writable)")
        v = self.next_view
        self.next_view += 1
        self.emit("VIEW", v=v, **{f"d{k}": dims[k] for k in range(VIEW_DIMS)}, perm=sum(p << (2 * k) for k, p in enumerate(perm)))
        return v

    def load_fp32(self, buf: Buffer, x: np.ndarray) -> Tensor:
        """Host input x (float32, 2-D) placed in DRAM and LOADed into ``buf``."""
        x = np.asarray(x, dtype=np.float32)
        t = self.tensor(buf, Fmt.fp32, *x.shape)
        addr = self.next_dram
        self.inputs[addr] = x
        self.next_dram += -(-footprint_words(Fmt.fp32, *x.shape, self.cfg) * 8 // 64) * 64
        self.use(t)
        self.emit("LOAD", dst=t.reg, dram=addr)
        return t

    def load_smx(self, buf: Buffer, t) -> Tensor:
        """Host input ``t`` (an SMXTensor) placed in DRAM in the smxB layout and LOADed into ``buf``."""
        out = self.tensor(buf, Fmt[f"smx{t.bits}"], *t.shape)
        addr = self.next_dram
        self.inputs[addr] = t
        self.next_dram += -(-footprint_words(out.fmt, *t.shape, self.cfg) * 8 // 64) * 64
        self.use(out)
        self.emit("LOAD", dst=out.reg, dram=addr)
        return out

    def input_images(self) -> dict[int, np.ndarray]:
        """{byte address: word image (uint64)} of every input, in its DRAM layout."""
        from .layout import pack_fp32, pack_smx

        return {a: pack_fp32(np.asarray(x, np.float32)) if isinstance(x, np.ndarray) else pack_smx(x, self.cfg)
                for a, x in self.inputs.items()}

    def store(self, name: str, t: Tensor) -> None:
        addr = self.next_dram
        self.next_dram += -(-footprint_words(t.fmt, t.rows, t.cols, self.cfg) * 8 // 64) * 64
        self.outputs[name] = (addr, t)
        self.use(t)
        self.emit("STORE", src=t.reg, dram=addr)

    def quant(self, src: Tensor, bits: int, rows: int | None = None, cols: int | None = None, view: int = 0,
              buf: Buffer = Buffer.activations) -> Tensor:
        rows = src.rows if rows is None else rows
        cols = src.cols if cols is None else cols
        out = self.tensor(buf, Fmt[f"smx{bits}"], rows, cols)
        self.use(out, src)
        self.emit("QUANT", dst=out.reg, src=src.reg, view=view)
        return out

    def gemm(self, a: Tensor, b: Tensor, mode: MacMode, ta: bool = False, tb: bool = False,
             buf: Buffer = Buffer.gradients) -> Tensor:
        m = a.cols if ta else a.rows
        n = b.rows if tb else b.cols
        out = self.tensor(buf, Fmt.acc, m, n)
        self.use(out, a, b)
        self.emit("GEMM", dst=out.reg, a=a.reg, b=b.reg, mode=mode, ta=int(ta), tb=int(tb), accum=0)
        return out

    def deq(self, src: Tensor, buf: Buffer = Buffer.optimizer) -> Tensor:
        """FP32 copy of an SMX tensor (exact; a value FP32 cannot hold is a run-time fault)."""
        out = self.tensor(buf, Fmt.fp32, src.rows, src.cols)
        self.use(out, src)
        self.emit("DEQ", dst=out.reg, a=src.reg)
        return out

    def stein(self, up: Tensor, um: Tensor, buf: Buffer = Buffer.gradients,
              buf_sum: Buffer | None = None) -> tuple[Tensor, Tensor]:
        """Stein pair sums (gdiff, gsum) = (up − um, up + um), FP32."""
        gd = self.tensor(buf, Fmt.fp32, up.rows, up.cols)
        gs = self.tensor(buf if buf_sum is None else buf_sum, Fmt.fp32, up.rows, up.cols)
        self.use(gd, gs, up, um)
        self.emit("STEIN", gdiff=gd.reg, gsum=gs.reg, up=up.reg, um=um.reg)
        return gd, gs

    def accf(self, src: Tensor, buf: Buffer = Buffer.optimizer) -> Tensor:
        """FP32 copy of an accumulator (one rounding), e.g. a core gradient for the optimizer."""
        out = self.tensor(buf, Fmt.fp32, src.rows, src.cols)
        self.use(out, src)
        self.emit("ACCF", dst=out.reg, a=src.reg)
        return out


def gemm_program(cfg: PintaConfig, x: np.ndarray, w: np.ndarray, *, bits_x: int = 8, bits_w: int = 8,
                 out_bits: int = 8, transpose_w: bool = False) -> ProgramBuilder:
    """Y = Q(x)·Q(w) (w used transposed if asked), requantized to ``out_bits``; stores the accumulator and Y."""
    pb = ProgramBuilder(cfg)
    tx = pb.load_fp32(Buffer.activations, x)
    tw = pb.load_fp32(Buffer.optimizer, w)
    qx = pb.quant(tx, bits_x, buf=Buffer.activations)
    qw = pb.quant(tw, bits_w, buf=Buffer.weights)
    mode = MacMode.for_widths(bits_x, bits_w)
    acc = pb.gemm(qx, qw, mode, tb=transpose_w, buf=Buffer.activations)
    y = pb.quant(acc, out_bits, buf=Buffer.activations)
    pb.emit("BARRIER")
    pb.store("acc", acc)
    pb.store("y", y)
    return pb


def tt_prs_program(cfg: PintaConfig, cores: list[np.ndarray], x: np.ndarray, split: int, dy: np.ndarray | None = None, *,
                   weight_bits: int = 8, act_bits: int = 8, grad_bits: int = 12) -> ProgramBuilder:
    """A TT layer with PRS (golden/tt.py ``TTMatrix._prs_forward`` / ``_prs_backward``) as GEMMs and views.

    ``cores``: FP32 master cores G_k (r_{k-1}, m_k, n_k, r_k); ``x``: FP32
    (batch, M); ``dy``: FP32 (batch, N) or None (forward only).

    Forward: reconstructs L = G_1..G_s and R = G_{s+1}..G_d with the chain
    contraction (one GEMM per extra core; the (M, N, m, n) axis interleave is
    the quantizer's view), quantizes L (M1 × N1·r) and R (r·M2 × N2), then
    Y = (Xp·L)p·R. Backward: dTp = dY·Rᵀ, dR = Tpᵀ·dY, dL = Xpᵀ·dT,
    dXp = dT·Lᵀ (operands read transposed, no copies), then the chain
    gradients down to every core, each handed to the optimizer as FP32 (ACCF).

    Stores: "y_acc" (batch·N1 × N2, the golden context's ``acc``); with dy
    also "dxp_acc" (batch·M2 × M1), "dL_acc" (M1 × N1·r), "dR_acc"
    (r·M2 × N2) and "dcore0".."dcore{d-1}" (FP32, each core's gradient as a
    (r_{k-1}·m_k·n_k) × r_k matrix for the first core of a half, else
    r_{k-1} × (m_k·n_k·r_k)).
    """
    pb = ProgramBuilder(cfg)
    b = x.shape[0]
    fwd_mode = MacMode.for_widths(act_bits, weight_bits)
    wmode = MacMode.for_widths(weight_bits, weight_bits)

    def chain(cs: list[np.ndarray], final_rows: int, final_cols: int):
        """Forward chain; returns the quantized half and the tape for its backward."""
        ra, M, N, r = cs[0].shape
        p = pb.load_fp32(Buffer.optimizer, np.asarray(cs[0], np.float32).reshape(ra * M * N, r))
        if len(cs) == 1:
            return pb.quant(p, weight_bits, final_rows, final_cols, buf=Buffer.weights), []
        pa = pb.quant(p, weight_bits, buf=Buffer.weights)
        tape = []
        for k, g in enumerate(cs[1:], start=1):
            _, m, n, r2 = g.shape
            tg = pb.load_fp32(Buffer.optimizer, np.asarray(g, np.float32).reshape(r, m * n * r2))
            qg = pb.quant(tg, weight_bits, buf=Buffer.weights)
            c = pb.gemm(pa, qg, wmode)
            tape.append((pa, qg, (ra, M, N, r), (m, n, r2)))
            # C (ra, M, N, m, n, r2) -> (ra, M, m, N, n, r2): swap N and m; ra·M and n·r2 stay merged.
            v = pb.view((ra * M, N, m, n * r2), (0, 2, 1, 3))
            M, N, r = M * m, N * n, r2
            last = k == len(cs) - 1
            rows, cols = (final_rows, final_cols) if last else (ra * M * N, r)
            pa = pb.quant(c, weight_bits, rows, cols, view=v, buf=Buffer.weights)
        return pa, tape

    def chain_backward(dp: Tensor, tape: list) -> list[Tensor]:
        """Core gradients (FP32) of one half from dP (an accumulator holding P's gradient)."""
        grads = []
        for pa, qg, (ra, M, N, r), (m, n, r2) in reversed(tape):
            # dC = inverse interleave of dP: (ra, M, m, N, n, r2) -> (ra, M, N, m, n, r2).
            v = pb.view((ra * M, m, N, n * r2), (0, 2, 1, 3))
            dcq = pb.quant(dp, grad_bits, ra * M * N, m * n * r2, view=v, buf=Buffer.gradients)
            dg = pb.gemm(pa, dcq, MacMode.for_widths(weight_bits, grad_bits), ta=True)
            grads.append(pb.accf(dg))
            dp = pb.gemm(dcq, qg, MacMode.for_widths(grad_bits, weight_bits), tb=True)
        grads.append(pb.accf(dp))
        return grads[::-1]

    s = split
    m_modes = [c.shape[1] for c in cores]
    n_modes = [c.shape[2] for c in cores]
    M1, M2 = int(np.prod(m_modes[:s])), int(np.prod(m_modes[s:]))
    N1, N2 = int(np.prod(n_modes[:s])), int(np.prod(n_modes[s:]))
    r = cores[s].shape[0]
    lq, tape_l = chain(cores[:s], M1, N1 * r)
    rq, tape_r = chain(cores[s:], r * M2, N2)
    tx = pb.load_fp32(Buffer.activations, x)
    xq = pb.quant(tx, act_bits, b * M2, M1, view=pb.view((b, M1, M2), (0, 2, 1)))
    t = pb.gemm(xq, lq, fwd_mode)
    tq = pb.quant(t, act_bits, b * N1, r * M2, view=pb.view((b, M2, N1, r), (0, 2, 3, 1)))
    y = pb.gemm(tq, rq, fwd_mode)
    if dy is None:
        pb.emit("BARRIER")
        pb.store("y_acc", y)
        return pb
    tdy = pb.load_fp32(Buffer.gradients, dy)
    dyq = pb.quant(tdy, grad_bits, b * N1, N2, buf=Buffer.gradients)
    dtp = pb.gemm(dyq, rq, MacMode.for_widths(grad_bits, weight_bits), tb=True)    # (b·N1, r·M2)
    drm = pb.gemm(tq, dyq, MacMode.for_widths(act_bits, grad_bits), ta=True)       # (r·M2, N2)
    # dT = inverse of the forward Tp permutation: (b, N1, r, M2) -> (b, M2, N1, r).
    dtq = pb.quant(dtp, grad_bits, b * M2, N1 * r, view=pb.view((b, N1, r, M2), (0, 3, 1, 2)), buf=Buffer.gradients)
    dlm = pb.gemm(xq, dtq, MacMode.for_widths(act_bits, grad_bits), ta=True)       # (M1, N1·r)
    dxp = pb.gemm(dtq, lq, MacMode.for_widths(grad_bits, weight_bits), tb=True)    # (b·M2, M1)
    dcores = chain_backward(dlm, tape_l) + chain_backward(drm, tape_r)
    pb.emit("BARRIER")
    pb.store("y_acc", y)
    for name, t_ in (("dxp_acc", dxp), ("dL_acc", dlm), ("dR_acc", drm)):
        pb.store(name, t_)
    for k, g in enumerate(dcores):
        pb.store(f"dcore{k}", g)
    return pb


def tt_prs_forward_program(cfg: PintaConfig, cores: list[np.ndarray], x: np.ndarray, split: int, *,
                           weight_bits: int = 8, act_bits: int = 8) -> ProgramBuilder:
    """The forward half of :func:`tt_prs_program` (stores "y_acc")."""
    return tt_prs_program(cfg, cores, x, split, None, weight_bits=weight_bits, act_bits=act_bits)


def diffquant_first_layer_program(cfg: PintaConfig, x: np.ndarray, delta: np.ndarray, w: np.ndarray,
                                  bits: int = 8) -> ProgramBuilder:
    """DiffQuant first layer (golden/diffquant.py ``diffquant_first_layer``): W·Q(x) and W·Q(δ).

    ``x``, ``delta``: FP32 (batch, d_in); ``w``: FP32 (d_in, d_out). Q(x) and
    Q(δ) get separate block exponents (one DIFFQ), W is quantized once and
    shared by both GEMMs. Stores "base" = Q(x)·Q(W) and "diff" = Q(δ)·Q(W).
    """
    pb = ProgramBuilder(cfg)
    mode = MacMode.for_widths(bits, bits)
    tx = pb.load_fp32(Buffer.activations, x)
    td = pb.load_fp32(Buffer.activations, delta)
    tw = pb.load_fp32(Buffer.optimizer, w)
    qx = pb.tensor(Buffer.activations, Fmt[f"smx{bits}"], *x.shape)
    qd = pb.tensor(Buffer.activations, Fmt[f"smx{bits}"], *delta.shape)
    pb.use(qx, qd, tx, td)
    pb.emit("DIFFQ", qbase=qx.reg, qdiff=qd.reg, base=tx.reg, diff=td.reg)
    qw = pb.quant(tw, bits, buf=Buffer.weights)
    base = pb.gemm(qx, qw, mode)
    diff = pb.gemm(qd, qw, mode)
    pb.emit("BARRIER")
    pb.store("base", base)
    pb.store("diff", diff)
    return pb
