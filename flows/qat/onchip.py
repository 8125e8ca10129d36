"""PINTA cost of one inference, and the simulator-backed SMX GEMM of the integer model.

Two jobs, both through the simulator's public API (``pinta.sim``):

1. :func:`sim_smx_matmul` runs one SMX GEMM as a PINTA program (LOAD the two
   SMX operands, GEMM in the matching MAC mode, STORE the accumulator) on
   :class:`pinta.sim.machine.Machine` and returns the accumulator it stored.
   Plugged into ``Ctx(smx_matmul=...)``, the integer model's SMX scenarios then
   take every GEMM result from the simulator; tests/qat/test_onchip.py checks
   that this gives exactly the same outputs as the golden GEMM.
   :func:`sim_int_matmul` does the same for the INT scenarios' integer GEMMs
   (codes as exponent-0 SMX tensors), checked against the host integer GEMM.

2. :func:`pinta_cost` lowers the GEMM list of one inference
   (``Model.gemm_list``) to a PINTA program and runs the simulator's analysis
   (validation, cycle-exact schedule, action counts, docs/simulator.md) on it;
   ``pinta.reports.energy.energy_of`` prices the counts. The cost depends on
   the shapes and widths only, not on the weights, so it is cached.

Lowering rules (docs/qat-study.md, "PINTA cost"):

- Per layer (GEMM record): the weights of the *next* layer are LOADed from DRAM
  (pre-quantized, prefetched one layer ahead), then ``WAIT VEC``/``WAIT QNT``
  (a layer starts when the previous one's results are final), then per tile:
  QUANT of the activation operand (fp32 -> SMX, the quantizer; im2col,
  upsampling, concatenation and DFT re-stacking are its address generation),
  GEMM in the MAC mode, ACCF (accumulator -> FP32), and the element-wise
  epilogue on the vector unit (bias, residual, GELU, pooling, output scale).
- MAC mode: the cheapest of i4x4, i8x8, i12x8, i8x12 whose widths cover both
  operands; an operand wider than 12 bits (the 16-bit head / w8a16) is costed
  as 12 bits. So w4a8 runs in i8x8 (there is no 4x8 mode), and the 8-bit DFT
  basis of w4a4/smx4 runs in i8x8.
- Per-channel INT scenarios (w8a16, w8a8, w4a8, w4a4) run as the SMX GEMM of the
  same shape and mode (the cost is shape- and mode-determined), plus two vector
  ops per output element that SMX does not need: the zero-point correction
  (VSUB) and the per-channel rescale (VMUL).
- Float activations (fp32, w8a32): PINTA has no FP32 GEMM datapath, so those
  GEMMs run on the vector unit as VMUL + VSUM (one FP32 multiply and one add per
  MAC); w8a32 weights are LOADed as INT8 and DEQuantized to FP32 on chip.
- GELU on the vector unit: the tanh form, 6 VMUL + 2 VADD + 1 VTANH per element.
- Batch 1: one sample per inference, weights streamed from DRAM every inference.
  ``energy_dram_j`` (weights, input, output) and ``energy_onchip_j`` are reported
  apart; constants (bias, scales, GELU constants) are resident in the optimizer
  buffer.
- The program is preceded by an initialisation (RNG over the scratch regions, so
  that every read is of a written word, as the validator demands) and a BARRIER;
  its cycles and counts are subtracted exactly.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

#: largest tile of an operand or result, in elements (fits every ring of the default config)
TILE = 16384
#: MAC modes as (op(a) bits, op(b) bits), cheapest first
MODES = ((4, 4), (8, 8), (12, 8), (8, 12))


def mac_widths(bits_a: int, bits_b: int) -> tuple[int, int]:
    """The cheapest MAC mode (op(a) bits, op(b) bits) covering both operand widths (>12 -> 12)."""
    a, b = min(bits_a, 12), min(bits_b, 12)
    for x, y in MODES:
        if x >= a and y >= b:
            return x, y
    raise ValueError(f"no MAC mode covers INT{bits_a} x INT{bits_b}")


def _cfg(cfg=None):
    from pinta.config import load_config
    return load_config() if cfg is None else cfg


def _f32_bits(v: float) -> int:
    return int(np.array(v, np.float32).view(np.uint32))


# ---------------------------------------------------------------------------------------- GEMM
def sim_smx_matmul(cfg=None):
    """A drop-in for golden ``smx_matmul(a, b)`` that runs the GEMM on the PINTA simulator."""
    from pinta.sim.isa import Buffer, Fmt, MacMode
    from pinta.sim.machine import Machine
    from pinta.sim.programs import ProgramBuilder
    cfg = _cfg(cfg)

    def matmul(a, b):
        pb = ProgramBuilder(cfg)
        ta = pb.tensor(Buffer.activations, Fmt[f"smx{a.bits}"], *a.shape)
        tb = pb.tensor(Buffer.weights, Fmt[f"smx{b.bits}"], *b.shape)
        addr_b = -(-ta.descriptor(cfg).words * 8 // 64) * 64
        pb.emit("LOAD", dst=ta.reg, dram=0)
        pb.use(tb)
        pb.emit("LOAD", dst=tb.reg, dram=addr_b)
        acc = pb.gemm(ta, tb, MacMode.for_widths(a.bits, b.bits), buf=Buffer.gradients)
        pb.emit("BARRIER")
        pb.next_dram = addr_b + -(-tb.descriptor(cfg).words * 8 // 64) * 64
        pb.store("acc", acc)
        m = Machine(cfg)
        m.put_smx(0, a)
        m.put_smx(addr_b, b)
        m.run(pb.program)
        addr, t = pb.outputs["acc"]
        return m.dram_tensor(addr, t.descriptor(cfg))

    return matmul


#: SMX element widths, narrowest first, and the largest code each holds (symmetric: -2^(b-1) unused)
_WIDTHS = ((4, 7), (8, 127), (12, 2047))
#: a code wider than 12 bits is cut into 12-bit pieces of this many bits each
_PIECE = 11


def _code_pieces(v: np.ndarray) -> list[tuple[np.ndarray, int]]:
    """Cut int64 codes into pieces that fit INT12: [(piece, shift)], v = sum(piece * 2**shift).

    Each piece lies in [-2^10, 2^10 - 1] (balanced digits in base 2^11), so a 16-bit
    operand becomes two passes, as the MAC array would run it.
    """
    if int(np.abs(v).max(initial=0)) <= _WIDTHS[-1][1]:
        return [(v, 0)]
    out, rest, shift, half = [], v.copy(), 0, 1 << (_PIECE - 1)
    while rest.any():
        lo = ((rest + half) & ((1 << _PIECE) - 1)) - half
        out.append((lo, shift))
        rest = (rest - lo) >> _PIECE
        shift += _PIECE
    return out or [(v, 0)]


def _bits_for(pieces) -> int:
    m = max(int(np.abs(p).max(initial=0)) for p, _ in pieces)
    return next(b for b, lim in _WIDTHS if m <= lim)


def _as_smx(codes: np.ndarray, shift: int, bits: int):
    """Integer codes (M, K) as an SMX tensor whose every block has exponent ``shift`` (exact)."""
    from pinta.golden.smx import SMXTensor
    M, K = codes.shape
    P, Q = -(-M // 4) * 4, -(-K // 4) * 4
    c = np.zeros((P, Q), np.int16)
    c[:M, :K] = codes
    return SMXTensor(c, np.full((P // 4, Q // 4), shift, np.int16), (M, K), bits)


def sim_int_matmul(cfg=None):
    """A drop-in for ``layers.int_matmul`` that runs the integer GEMMs on the PINTA simulator.

    The INT scenarios' GEMMs multiply zero-point-shifted activation codes by
    weight codes. PINTA has no separate integer GEMM: a matrix of integer codes is
    an SMX tensor whose blocks all have exponent 0, and the MAC array multiplies it
    exactly (equal exponents: no alignment shift). Each operand gets the narrowest
    element width holding its codes, and the pair the cheapest MAC mode covering
    both (:func:`mac_widths`); an operand wider than 12 bits (16-bit activations)
    is cut into 12-bit pieces with block exponents 0, 11, ..., one simulator GEMM
    per piece, and the exact pass results are added on the host.

    Shapes: ``a`` (..., M, K), ``b`` (..., K, N), int64, broadcast over the leading
    axes; returns the float64 product (..., M, N), exact. ``matmul.calls`` lists
    (M, K, N, (bits_a, bits_b), max|a|, max|b|) of every simulator GEMM, for the tests.
    """
    smx_mm = sim_smx_matmul(cfg)
    calls: list = []

    def one(a2: np.ndarray, b2: np.ndarray) -> np.ndarray:
        pa, pb = _code_pieces(a2), _code_pieces(b2)
        wa, wb = mac_widths(_bits_for(pa), _bits_for(pb))
        out = np.zeros((a2.shape[0], b2.shape[1]), np.float64)
        for ca, sa in pa:
            ta = _as_smx(ca, sa, wa)
            for cb, sb in pb:
                acc = smx_mm(ta, _as_smx(cb, sb, wb))
                calls.append((a2.shape[0], a2.shape[1], b2.shape[1], (wa, wb),
                              int(np.abs(ca).max(initial=0)), int(np.abs(cb).max(initial=0))))
                out += acc.to_float()   # integers below 2^53: every addition is exact
        return out

    def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        a, b = np.asarray(a), np.asarray(b)
        if a.dtype.kind not in "iu" or b.dtype.kind not in "iu":
            raise TypeError(f"sim_int_matmul multiplies integer codes, got {a.dtype} and {b.dtype}")
        lead = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        A = np.broadcast_to(a, (*lead, *a.shape[-2:])).reshape(-1, *a.shape[-2:]).astype(np.int64)
        B = np.broadcast_to(b, (*lead, *b.shape[-2:])).reshape(-1, *b.shape[-2:]).astype(np.int64)
        y = np.stack([one(x, w) for x, w in zip(A, B)])
        return y.reshape(*lead, a.shape[-2], b.shape[-1])

    matmul.calls = calls
    return matmul


# ---------------------------------------------------------------------------------------- lowering
class _Ring:
    """Word ranges of one buffer handed out round robin (reuse is ordered by the scoreboard)."""

    def __init__(self, buf, lo: int, hi: int):
        self.buf, self.lo, self.hi, self.p = buf, lo, hi, lo

    def alloc(self, words: int) -> int:
        if words > self.hi - self.lo:
            raise ValueError(f"a {words}-word tensor does not fit the {self.buf.name} ring ({self.hi - self.lo} words)")
        if self.p + words > self.hi:
            self.p = self.lo
        a = self.p
        self.p += words
        return a


class _Lowering:
    def __init__(self, cfg):
        from pinta.sim.isa import Buffer, Fmt, MacMode, Unit
        from pinta.sim.layout import buffer_words, footprint_words
        from pinta.sim.programs import ProgramBuilder
        self.B, self.F, self.MacMode, self.Unit, self.fw = Buffer, Fmt, MacMode, Unit, footprint_words
        self.cfg = cfg
        self.pb = ProgramBuilder(cfg)
        aw = buffer_words(cfg.buffers.activations)
        self.f32 = _Ring(Buffer.activations, 0, aw * 3 // 4)
        self.qa = _Ring(Buffer.activations, aw * 3 // 4, aw)
        self.acc = _Ring(Buffer.gradients, 0, buffer_words(cfg.buffers.gradients))
        self.wt = _Ring(Buffer.weights, 0, buffer_words(cfg.buffers.weights))
        self.const_words = buffer_words(cfg.buffers.optimizer)
        self.dram = 0

    # -- helpers
    def t(self, ring, fmt, rows, cols):
        return self.pb.describe(ring.buf, fmt, ring.alloc(self.fw(fmt, rows, cols, self.cfg)), rows, cols)

    def const(self, rows, cols):
        if rows * cols > 2 * self.const_words:
            raise ValueError("constant operand larger than the optimizer buffer")
        return self.pb.describe(self.B.optimizer, self.F.fp32, 0, rows, cols)

    def emit(self, name, **regs):
        self.pb.use(*[v for k, v in regs.items() if hasattr(v, "reg")])
        self.pb.emit(name, **{k: (v.reg if hasattr(v, "reg") else v) for k, v in regs.items()})

    def dma(self, name, t):
        words = self.fw(t.fmt, t.rows, t.cols, self.cfg)
        self.emit(name, **({"dst": t} if name == "LOAD" else {"src": t}), dram=self.dram)
        self.dram += -(-words * 8 // 64) * 64

    def init_program(self):
        """RNG over the fp32 scratch ring and the constant region (subtracted from the cost)."""
        from pinta.sim.programs import ProgramBuilder
        pb, F, B = ProgramBuilder(self.cfg), self.F, self.B
        for buf, lo, words in ((B.activations, self.f32.lo, self.f32.hi - self.f32.lo), (B.optimizer, 0, self.const_words)):
            n = 2 * words
            cols = 256 if n % 256 == 0 else 2
            t = pb.describe(buf, F.fp32, lo, n // cols, cols)
            pb.emit("RNG", dst=t.reg, seed=7, stream=0, ctr=0, scale=_f32_bits(1.0))
        return pb.program

    # -- a layer
    def shapes(self, g):
        """(tile-dim total, act rows, act cols, out rows, out cols) as functions of the tile size t."""
        if g.op == "basis":        # out (M x t) = basis (M x K) @ act (K x t)
            return g.N, (lambda t: (g.K, t)), (lambda t: (g.M, t))
        return g.M, (lambda t: (t, g.K)), (lambda t: (t, g.N))   # out (t x N) = act (t x K) @ W (K x N)

    def widths(self, g):
        """On-chip (act bits, weight bits, mode) of an integer/SMX GEMM."""
        if g.op == "basis":
            wa, aa = mac_widths(g.w_bits, g.a_bits)          # op(a) = basis, op(b) = activation
            return aa, wa, self.MacMode.for_widths(wa, aa)
        aa, wa = mac_widths(g.a_bits, g.w_bits)
        return aa, wa, self.MacMode.for_widths(aa, wa)

    def load_weights(self, g):
        F = self.F
        wr, wc = (g.M, g.K) if g.op == "basis" else (g.K, g.N)
        out = []
        for _ in range(g.count):
            if g.a_bits >= 32:
                if g.w_bits >= 32:
                    w = self.t(self.wt, F.fp32, wr, wc)
                    self.dma("LOAD", w)
                else:   # INT8 weights in DRAM, FP32 for the vector unit
                    q = self.t(self.wt, F.smx8, wr, wc)
                    self.dma("LOAD", q)
                    w = self.t(self.wt, F.fp32, wr, wc)
                    self.emit("DEQ", dst=w, a=q)
            else:
                _, wb, _ = self.widths(g)
                w = self.t(self.wt, F[f"smx{wb}"], wr, wc)
                self.dma("LOAD", w)
            out.append(w)
        return out

    def tile(self, total, per):
        t = max(1, TILE // per)
        if t >= 16:
            t -= t % 16
        return min(total, t)

    def gemm(self, g, weights):
        F = self.F
        total, act_shape, out_shape = self.shapes(g)
        flt = g.a_bits >= 32
        per = (g.K * (g.M if g.op == "basis" else g.N)) if flt else max(g.K, g.M if g.op == "basis" else g.N)
        ts = self.tile(total, per)
        for w in weights:
            for t0 in range(0, total, ts):
                t = min(ts, total - t0)
                ar, ac = act_shape(t)
                orr, oc = out_shape(t)
                if flt:   # vector unit: prod = A_bcast * W_bcast ((orr*oc) x K), out = row sums
                    prod = self.t(self.f32, F.fp32, orr * oc, g.K)
                    a = self.t(self.f32, F.fp32, orr * oc, g.K)
                    self.emit("VMUL", dst=prod, a=a, b=self.const(orr * oc, g.K))
                    s = self.t(self.f32, F.fp32, orr * oc, 1)
                    self.emit("VSUM", dst=s, a=prod, axis=1)
                    out = self.pb.reshape_fp32(s, orr, oc)
                else:
                    ab, wb, mode = self.widths(g)
                    src = self.t(self.f32, F.fp32, ar, ac)
                    qa = self.t(self.qa, F[f"smx{ab}"], ar, ac)
                    self.emit("QUANT", dst=qa, src=src, view=0)
                    acc = self.t(self.acc, F.acc, orr, oc)
                    a, b = (w, qa) if g.op == "basis" else (qa, w)
                    self.emit("GEMM", dst=acc, a=a, b=b, mode=mode, ta=0, tb=0, accum=0)
                    out = self.t(self.f32, F.fp32, orr, oc)
                    self.emit("ACCF", dst=out, a=acc)
                    if g.kind == "int":   # zero point and per-channel scale (SMX needs neither)
                        self.emit("VSUB", dst=out, a=out, b=self.const(orr, oc))
                        self.emit("VMUL", dst=out, a=out, b=self.const(orr, oc))
                self.epilogue(g, out)

    def epilogue(self, g, out):
        F = self.F
        r, c = out.rows, out.cols
        for p in g.post:
            if p in ("bias", "scale"):
                self.emit("VADD" if p == "bias" else "VMUL", dst=out, a=out, b=self.const(r, c))
            elif p == "residual":
                self.emit("VADD", dst=out, a=out, b=self.t(self.f32, F.fp32, r, c))
            elif p == "gelu":   # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
                u = self.t(self.f32, F.fp32, r, c)
                k = self.const(r, c)
                self.emit("VMUL", dst=u, a=out, b=out)
                self.emit("VMUL", dst=u, a=u, b=out)
                self.emit("VMUL", dst=u, a=u, b=k)
                self.emit("VADD", dst=u, a=u, b=out)
                self.emit("VMUL", dst=u, a=u, b=k)
                self.emit("VTANH", dst=u, a=u)
                self.emit("VADD", dst=u, a=u, b=k)
                self.emit("VMUL", dst=u, a=u, b=out)
                self.emit("VMUL", dst=u, a=u, b=k)
                out = u
            elif p in ("pool1", "pool2"):   # average of 2 (2x2) positions: 1 (3) adds, 1 multiply per output
                k = 2 ** int(p[-1])
                h = max(1, r // k)
                parts = [self.pb.describe(out.buf, F.fp32, out.addr + (i * h * c) // 2, h, c) for i in range(k)]
                pool = self.t(self.f32, F.fp32, h, c)
                self.emit("VADD", dst=pool, a=parts[0], b=parts[1])
                for q in parts[2:]:
                    self.emit("VADD", dst=pool, a=pool, b=q)
                self.emit("VMUL", dst=pool, a=pool, b=self.const(h, c))
                out = pool
            else:
                raise ValueError(f"unknown epilogue op {p!r}")

    def program(self, gemms, n_points: int, in_ch: int):
        F, U = self.F, self.Unit
        self.dma("LOAD", self.t(self.f32, F.fp32, n_points, in_ch))
        loads = self.load_weights(gemms[0])
        for i, g in enumerate(gemms):
            self.pb.emit("WAIT", unit=int(U.VEC))
            self.pb.emit("WAIT", unit=int(U.QNT))
            nxt = self.load_weights(gemms[i + 1]) if i + 1 < len(gemms) else None
            self.gemm(g, loads)
            loads = nxt
        self.pb.emit("BARRIER")
        self.dma("STORE", self.t(self.f32, F.fp32, n_points, 1))
        return self.pb.program


def lower(gemms, n_points: int, in_ch: int, cfg=None) -> tuple[list, list]:
    """(init program, inference program) for the GEMM list of one inference."""
    low = _Lowering(_cfg(cfg))
    init = low.init_program()
    return init, low.program(gemms, n_points, in_ch)


def _sub(a: dict, b: dict) -> dict:
    return {k: a[k] - b.get(k, 0) for k in a}


def pinta_cost_uncached(gemms, n_points: int, in_ch: int, cfg=None) -> dict:
    """Cycles and energy of one inference on PINTA (see the module docstring for the rules)."""
    from pinta.reports.energy import energy_of
    from pinta.reports.report import iteration_stats_from_analysis
    from pinta.sim.isa import Instr
    from pinta.sim.program import analyze
    cfg = _cfg(cfg)
    init, body = lower(gemms, n_points, in_ch, cfg)
    a_full = analyze(init + [Instr.make("BARRIER")] + body, cfg)
    a_init = analyze(init, cfg)
    s_full, s_init = iteration_stats_from_analysis(a_full, 0), iteration_stats_from_analysis(a_init, 0)
    actions = _sub(s_full["actions"], s_init["actions"])
    cycles = a_full.total_cycles - a_init.total_cycles - 1
    e = energy_of(actions, cfg.energy_table, config=cfg)
    busy = _sub(a_full.busy, a_init.busy)
    busy["CTRL"] -= 1
    dram = e.per_category.get("dram", 0.0)
    return {"cycles": int(cycles), "energy_j": e.total_j, "energy_dram_j": dram, "energy_onchip_j": e.total_j - dram,
            "energy_per_category_j": e.per_category, "busy": busy, "n_instr": len(body),
            "macs": {k: v for k, v in actions.items() if k.startswith("mac_")},
            "seconds_at_clock": cycles / (cfg.clock_mhz * 1e6)}


def exact_int_modes(gemms) -> list:
    """The GEMM list with every INT activation operand one bit wider: the MAC mode that holds it exactly.

    The integer model multiplies zero-point-shifted activation codes q - z, q in
    [0, 2^b - 1]; their span needs b + 1 signed bits whatever z is (max(z, 2^b - 1 - z)
    >= 2^(b-1)), while the MAC array's b-bit operand holds only +-(2^(b-1) - 1). The
    default lowering runs them in the b-bit mode (as a symmetric or offset activation
    format would allow); this list gives the cost of running our codes bit exactly
    (sim_int_matmul, tests/qat/test_onchip.py): w8a8 and w4a8 in i12x8, w4a4 in i8x8.
    """
    from dataclasses import replace
    return [replace(g, a_bits=g.a_bits + 1) if g.kind == "int" and g.a_bits < 32 else g for g in gemms]


#: modules whose code decides a cost: the lowering itself, the simulator's ISA, validation and
#: schedule, and the energy pricing. A change to any of them must not be served from the cache.
_COST_SOURCES = ("pinta.flows.qat.onchip", "pinta.sim.isa", "pinta.sim.layout", "pinta.sim.timing",
                 "pinta.sim.program", "pinta.sim.programs", "pinta.reports.energy", "pinta.reports.report",
                 "pinta.hw.fp32.microcode", "pinta.hw.fp32.units", "pinta.hw.top_adam",
                 "pinta.hw.top_rng", "pinta.hw.top_reduce")


def _sources_hash() -> str:
    from pinta.flows.estimate import source_hash

    return source_hash(_COST_SOURCES)


def cost_key(gemms, n_points: int, in_ch: int, cfg) -> str:
    rows = [(g.name, g.M, g.K, g.N, g.w_bits, g.a_bits, g.kind, g.count, g.op, list(g.post)) for g in gemms]
    blob = json.dumps([rows, n_points, in_ch, repr(cfg), TILE, _sources_hash()], default=str)
    return hashlib.sha1(blob.encode()).hexdigest()[:16]


_MEM: dict = {}


def _read_json(f) -> dict:
    if f is None or not f.exists():
        return {}
    try:
        return json.loads(f.read_text())
    except json.JSONDecodeError:   # a cache is never worth a crash: recompute
        return {}


def pinta_cost(gemms, n_points: int, in_ch: int, cfg=None, cache: str | os.PathLike | None = None) -> dict:
    """:func:`pinta_cost_uncached`, cached in memory and in ``<cache>/pinta_cost.json`` when given."""
    cfg = _cfg(cfg)
    key = cost_key(gemms, n_points, in_ch, cfg)
    if key in _MEM:
        return _MEM[key]
    f = Path(cache) / "pinta_cost.json" if cache is not None else None
    disk = _read_json(f)
    if key not in disk:
        val = pinta_cost_uncached(gemms, n_points, in_ch, cfg)
        if f is not None:   # merge with what other processes wrote meanwhile; atomic replace
            disk = _read_json(f)
            disk[key] = val
            tmp = f.with_name(f"{f.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(disk))
            tmp.replace(f)
        disk[key] = val
    _MEM[key] = disk[key]
    return disk[key]
