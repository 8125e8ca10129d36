"""DiffQuant unit (hardware.md block 4).

Two independent datapaths behind one component:

* **Quantize** (``qi`` -> ``qo``): the base path (accumulators of W·Q(x)) and
  the difference path (accumulators of W·Q(δ) or Δh) of one output block are
  requantized *separately*, each by its own :class:`~pinta.hw.smx_quantizer.SMXQuantizer`,
  so each gets its own shared exponent (golden/diffquant.py
  ``diffquant_quantize``; docs/numerics.md §4). Both quantizers advance
  together: one block pair per clock, latency ``SMXQuantizer.LATENCY``.
* **Stein** (``si`` -> ``so``): for one collocation point, K pairs of output
  differences du± = g(x ± δ) − g(x) and the K×D perturbations δ, and σ, give
  the Stein gradient (D), Laplacian and value offset of golden/stein_sums.py
  ``stein_estimates`` bit for bit (pair sums du+ − du−, du+ + du−; σ
  constants with one division each; weights; tree reductions in
  golden/reduce.py's order; means by one reciprocal). A sequencer runs the
  packed program of :func:`pinta.hw.stein_program.stein_program` over a
  :class:`~pinta.hw.vector_unit.VectorUnit` of ``cfg.vector_lanes`` lanes
  with a shared register file (each lane addresses it independently).

δ is accepted, not generated (the RNG of golden/rng.py is not in RTL yet).
K and D are elaboration parameters (the configuration has no field for
them yet).
"""

from __future__ import annotations

from amaranth.hdl import Array, Const, Module, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import bits_for

from pinta.config import PintaConfig

from .common import acc_exponent_bits, block_codes_layout, block_elems
from .fp32 import VectorOp, op_class
from .smx_quantizer import SMXQuantizer, quantizer_input_layout
from .special_function_unit import _pad_pow2, _State
from .stein_program import SteinProgram, stein_program
from .vector_unit import VectorUnit

__all__ = ["DiffQuantUnit", "DiffQuantQuantizer", "SteinEngine", "pair_in_layout", "pair_out_layout",
           "stein_in_layout", "stein_out_layout", "DEFAULT_STEIN_PAIRS", "DEFAULT_STEIN_DIMS"]

#: Default K (antithetic pairs per point) and D (Laplacian coordinates).
DEFAULT_STEIN_PAIRS = 8
DEFAULT_STEIN_DIMS = 4


def pair_in_layout(cfg: PintaConfig) -> data.StructLayout:
    """Quantize-path input: base and difference accumulator blocks, one width.

    Members: base_values, diff_values (16 × signed accumulator), base_exponent,
    diff_exponent (block exponents e), width (target element width b, both paths).
    """
    q = quantizer_input_layout(cfg)
    return data.StructLayout({
        "base_values": q["values"].shape, "base_exponent": q["exponent"].shape,
        "diff_values": q["values"].shape, "diff_exponent": q["exponent"].shape,
        "width": q["width"].shape,
    })


def pair_out_layout(cfg: PintaConfig) -> data.StructLayout:
    """Quantize-path output: base and difference SMX blocks (codes, exponent)."""
    return data.StructLayout({
        "base_codes": block_codes_layout(cfg), "base_exponent": signed(cfg.exponent_bits),
        "diff_codes": block_codes_layout(cfg), "diff_exponent": signed(cfg.exponent_bits),
    })


def stein_in_layout(k: int, d: int) -> data.StructLayout:
    """Stein-path input (binary32 patterns): du_plus[K], du_minus[K], delta[K*D] row-major, sigma."""
    return data.StructLayout({
        "du_plus": data.ArrayLayout(unsigned(32), k), "du_minus": data.ArrayLayout(unsigned(32), k),
        "delta": data.ArrayLayout(unsigned(32), k * d), "sigma": unsigned(32),
    })


def stein_out_layout(d: int) -> data.StructLayout:
    """Stein-path output: gradient[D], laplacian, value (offset to add to g(x))."""
    return data.StructLayout({"gradient": data.ArrayLayout(unsigned(32), d),
                              "laplacian": unsigned(32), "value": unsigned(32)})


class DiffQuantQuantizer(wiring.Component):
    """Base and difference blocks requantized separately, in lockstep.

    Members
    -------
    i : In(stream.Signature(pair_in_layout(cfg)))
    o : Out(stream.Signature(pair_out_layout(cfg)))
    """

    def __init__(self, cfg: PintaConfig):
        self.cfg = cfg
        self.LATENCY = SMXQuantizer.LATENCY
        super().__init__({"i": In(stream.Signature(pair_in_layout(cfg))),
                          "o": Out(stream.Signature(pair_out_layout(cfg)))})

    def elaborate(self, platform):
        m = Module()
        m.submodules.base = base = SMXQuantizer(self.cfg)
        m.submodules.diff = diff = SMXQuantizer(self.cfg)
        p = self.i.payload
        for q, vals, exp in ((base, p.base_values, p.base_exponent), (diff, p.diff_values, p.diff_exponent)):
            m.d.comb += [q.i.valid.eq(self.i.valid), q.i.payload.values.eq(vals),
                         q.i.payload.exponent.eq(exp), q.i.payload.width.eq(p.width),
                         q.o.ready.eq(self.o.ready)]
        # Identical pipelines fed identically: their valid/ready agree every cycle.
        m.d.comb += [self.i.ready.eq(base.i.ready & diff.i.ready),
                     self.o.valid.eq(base.o.valid & diff.o.valid),
                     self.o.payload.base_codes.eq(base.o.payload.codes),
                     self.o.payload.base_exponent.eq(base.o.payload.exponent),
                     self.o.payload.diff_codes.eq(diff.o.payload.codes),
                     self.o.payload.diff_exponent.eq(diff.o.payload.exponent)]
        return m


class SteinEngine(wiring.Component):
    """Stein estimates of one point per transfer (see the module docstring).

    Members
    -------
    i : In(stream.Signature(stein_in_layout(k, d)))
    o : Out(stream.Signature(stein_out_layout(d)))
    """

    def __init__(self, cfg: PintaConfig, k: int = DEFAULT_STEIN_PAIRS, d: int = DEFAULT_STEIN_DIMS):
        self.cfg = cfg
        self.k, self.d = k, d
        self.program: SteinProgram = stein_program(k, d, cfg.vector_lanes)
        super().__init__({"i": In(stream.Signature(stein_in_layout(k, d))),
                          "o": Out(stream.Signature(stein_out_layout(d)))})

    @property
    def latency(self) -> int:
        """Cycles from the input transfer to ``o.valid``: accept, (issue +
        vector-unit latency) per instruction, output register."""
        return 2 + sum(VectorUnit.op_latency(ins.op) + 1 for ins in self.program.instrs)

    def elaborate(self, platform):
        m = Module()
        prog = self.program
        lanes = self.cfg.vector_lanes
        used = {op_class(ins.op) for ins in prog.instrs}
        m.submodules.vu = vu = VectorUnit(self.cfg, classes=sorted(used, key=lambda c: c.value))
        idx_bits = bits_for(prog.n_regs + len(prog.constants) - 1)
        reg_bits = bits_for(prog.n_regs - 1)
        word = data.StructLayout({"op": VectorOp, "mask": unsigned(lanes),
                                  "dst": data.ArrayLayout(unsigned(reg_bits), lanes),
                                  "a": data.ArrayLayout(unsigned(idx_bits), lanes),
                                  "b": data.ArrayLayout(unsigned(idx_bits), lanes)})
        words = [word.const({"op": ins.op, "mask": ins.mask, "dst": list(ins.dst), "a": list(ins.a),
                             "b": list(ins.b)}).as_value().value for ins in prog.instrs]
        # Padded to a power of two so every index value selects a word.
        rom = Array(Const(w, word.size) for w in _pad_pow2(words, 0))
        pc = Signal(range(len(prog.instrs)))
        instr = Signal(word)
        m.d.comb += instr.as_value().eq(rom[pc])
        regs = [Signal(32, name=f"sr{k}") for k in range(prog.n_regs)]
        space = Array(_pad_pow2(regs + [Const(c, 32) for c in prog.constants], Const(0, 32)))

        p = self.i.payload
        inputs = [p.du_plus[i] for i in range(self.k)] + [p.du_minus[i] for i in range(self.k)] + \
                 [p.delta[i] for i in range(self.k * self.d)] + [p.sigma]
        # Sequencer states as an explicit register compared with If/Elif (an
        # m.FSM would emit partially covered case statements per signal).
        state = Signal(_State)
        with m.If(state == _State.IDLE):
            m.d.comb += self.i.ready.eq(~self.o.valid | self.o.ready)
            with m.If(self.o.ready):
                m.d.sync += self.o.valid.eq(0)
            with m.If(self.i.valid & self.i.ready):
                m.d.sync += [regs[n].eq(v) for n, v in enumerate(inputs)]
                m.d.sync += pc.eq(0)
                m.d.sync += state.eq(_State.ISSUE)
        with m.Elif(state == _State.ISSUE):
            m.d.comb += [vu.i.valid.eq(1), vu.i.payload.op.eq(instr.op)]
            for lane in range(lanes):
                m.d.comb += [vu.i.payload.a[lane].eq(space[instr.a[lane]]),
                             vu.i.payload.b[lane].eq(space[instr.b[lane]]),
                             vu.i.payload.c[lane].eq(0)]
            with m.If(vu.i.ready):
                m.d.sync += state.eq(_State.WAIT)
        with m.Elif(state == _State.WAIT):
            m.d.comb += vu.o.ready.eq(1)
            with m.If(vu.o.valid):
                # One write port per lane, decoded per register (the
                # destinations within one instruction are distinct).
                for r, reg in enumerate(regs):
                    for lane in range(lanes):
                        with m.If(instr.mask[lane] & (instr.dst[lane] == r)):
                            m.d.sync += reg.eq(vu.o.payload.r[lane])
                with m.If(pc == len(prog.instrs) - 1):
                    m.d.sync += state.eq(_State.DONE)
                with m.Else():
                    m.d.sync += pc.eq(pc + 1)
                    m.d.sync += state.eq(_State.ISSUE)
        with m.Else():  # DONE
            outs = [regs[r] for r in prog.outputs]
            m.d.sync += [self.o.payload.gradient[j].eq(outs[j]) for j in range(self.d)]
            m.d.sync += [self.o.payload.laplacian.eq(outs[self.d]), self.o.payload.value.eq(outs[self.d + 1]),
                         self.o.valid.eq(1)]
            m.d.sync += state.eq(_State.IDLE)
        return m


class DiffQuantUnit(wiring.Component):
    """Block 4: separate base/difference quantization and the Stein sums.

    Members
    -------
    qi : In(stream.Signature(pair_in_layout(cfg)))
        Base and difference accumulator blocks.
    qo : Out(stream.Signature(pair_out_layout(cfg)))
        Their SMX blocks (each with its own exponent).
    si : In(stream.Signature(stein_in_layout(k, d)))
        du+, du-, δ, σ of one point.
    so : Out(stream.Signature(stein_out_layout(d)))
        Stein gradient, Laplacian, value offset.
    """

    def __init__(self, cfg: PintaConfig, k: int = DEFAULT_STEIN_PAIRS, d: int = DEFAULT_STEIN_DIMS):
        self.cfg = cfg
        self.k, self.d = k, d
        super().__init__({"qi": In(stream.Signature(pair_in_layout(cfg))),
                          "qo": Out(stream.Signature(pair_out_layout(cfg))),
                          "si": In(stream.Signature(stein_in_layout(k, d))),
                          "so": Out(stream.Signature(stein_out_layout(d)))})

    def elaborate(self, platform):
        m = Module()
        m.submodules.quant = quant = DiffQuantQuantizer(self.cfg)
        m.submodules.stein = stein = SteinEngine(self.cfg, self.k, self.d)
        wiring.connect(m, wiring.flipped(self.qi), quant.i)
        wiring.connect(m, quant.o, wiring.flipped(self.qo))
        wiring.connect(m, wiring.flipped(self.si), stein.i)
        wiring.connect(m, stein.o, wiring.flipped(self.so))
        return m
