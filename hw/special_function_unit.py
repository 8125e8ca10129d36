"""Vector / special-function unit (hardware.md block 5): a microcoded
sequencer over the binary32 :class:`~pinta.hw.vector_unit.VectorUnit`.

Each transfer on ``i`` names a function (:class:`SfuFunc`) and carries one
operand vector per lane; all lanes run the function's micro-program in
lockstep and the result vector(s) leave on ``o``:

* ``OP``: one primitive :class:`VectorOp` on (a, b, c) -> r (residual, loss
  and optimizer arithmetic use this);
* ``EXP``, ``LOG``, ``TANH``, ``TANH_GRAD``: r = f(a);
* ``SINCOS``: r = sin a, r2 = cos a (cos is also sin's derivative);
* ``RNG_KEYS``, ``UNIFORM``, ``NORMAL``: the counter-based generator of
  golden/rng.py (per-stream keys; word and uniform01 of a counter; one
  Box-Muller pair of counters c, c + 1 -> (rad·cos, rad·sin)).

Microarchitecture: a ROM holds every program of :mod:`pinta.hw.fp32.microcode`
back to back; a per-lane register file of ``N_REGS`` words plus a constant
ROM form the operand space. The sequencer issues one micro-op, waits for the
vector unit's result, writes it back, and moves on, so a micro-op costs
``VectorUnit.latency(op) + 1`` cycles and a function's latency is fixed (no
data-dependent branches: every branch is computed and selected, as in
golden/fp32.py). :meth:`SpecialFunctionUnit.latency` gives the figure the
tests check.
"""

from __future__ import annotations

from amaranth.hdl import Array, Const, Module, Signal, unsigned
from amaranth.lib import data, enum, stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import bits_for

from pinta.config import PintaConfig

from .fp32 import VectorOp
from .fp32.microcode import CONSTANTS, N_REGS, PROGRAMS, SfuFunc
from .vector_unit import VectorUnit

__all__ = ["SpecialFunctionUnit", "SfuFunc", "sfu_in_layout", "sfu_out_layout"]

_SRC_BITS = bits_for(N_REGS + len(CONSTANTS) - 1)
_REG_BITS = bits_for(N_REGS - 1)


class Func(enum.Enum, shape=4):
    """Hardware encoding of :class:`SfuFunc`."""
    OP = SfuFunc.OP.value
    EXP = SfuFunc.EXP.value
    LOG = SfuFunc.LOG.value
    SINCOS = SfuFunc.SINCOS.value
    TANH = SfuFunc.TANH.value
    TANH_GRAD = SfuFunc.TANH_GRAD.value
    RNG_KEYS = SfuFunc.RNG_KEYS.value
    UNIFORM = SfuFunc.UNIFORM.value
    NORMAL = SfuFunc.NORMAL.value


_MICRO = data.StructLayout({"op": VectorOp, "dst": unsigned(_REG_BITS), "a": unsigned(_SRC_BITS),
                            "b": unsigned(_SRC_BITS), "c": unsigned(_SRC_BITS), "last": unsigned(1)})


def sfu_in_layout(lanes: int) -> data.StructLayout:
    """Input payload: ``func``, ``op`` (used when func is OP) and operands a, b, c per lane."""
    vec = data.ArrayLayout(unsigned(32), lanes)
    return data.StructLayout({"func": Func, "op": VectorOp, "a": vec, "b": vec, "c": vec})


def sfu_out_layout(lanes: int) -> data.StructLayout:
    """Output payload: r (and r2 = cos for SINCOS; r2 = r otherwise)."""
    vec = data.ArrayLayout(unsigned(32), lanes)
    return data.StructLayout({"r": vec, "r2": vec})


def _pad_pow2(items: list, fill) -> list:
    """``items`` extended with ``fill`` to the next power-of-two length."""
    n = 1 << (len(items) - 1).bit_length()
    return list(items) + [fill] * (n - len(items))


def _rom():
    words, entry = [], {}
    for func, prog in PROGRAMS.items():
        entry[func] = len(words)
        for k, o in enumerate(prog.ops):
            words.append(_MICRO.const({"op": o.op, "dst": o.dst, "a": o.a, "b": o.b, "c": o.c,
                                       "last": int(k == len(prog.ops) - 1)}).as_value().value)
    return words, entry


class _State(enum.Enum, shape=2):
    IDLE = 0
    ISSUE = 1
    WAIT = 2
    DONE = 3


class SpecialFunctionUnit(wiring.Component):
    """Microcoded special functions and primitive ops on ``cfg.vector_lanes`` lanes.

    Members
    -------
    i : In(stream.Signature(sfu_in_layout(lanes)))
    o : Out(stream.Signature(sfu_out_layout(lanes)))
    """

    def __init__(self, cfg: PintaConfig):
        self.cfg = cfg
        self.lanes = cfg.vector_lanes
        super().__init__({"i": In(stream.Signature(sfu_in_layout(self.lanes))),
                          "o": Out(stream.Signature(sfu_out_layout(self.lanes)))})

    @staticmethod
    def op_cycles(cfg: PintaConfig, op: VectorOp) -> int:
        """Cycles one micro-op occupies the sequencer (issue + vector-unit latency)."""
        return VectorUnit.op_latency(op) + 1

    def latency(self, func: SfuFunc, op: VectorOp = VectorOp.ADD) -> int:
        """Cycles from the input transfer to ``o.valid`` for ``func`` (``op`` for OP)."""
        ops = [op] if SfuFunc(func) == SfuFunc.OP else [o.op for o in PROGRAMS[SfuFunc(func)].ops]
        # accept, then issue + execute + write-back per micro-op, then the output register
        return 2 + sum(self.op_cycles(self.cfg, o) for o in ops)

    def elaborate(self, platform):
        m = Module()
        lanes = self.lanes
        m.submodules.vu = vu = VectorUnit(self.cfg)

        words, entry = _rom()
        # Arrays padded to a power of two: every index value selects a word
        # (no incomplete case statements in the Verilog).
        rom = Array(Const(w, _MICRO.size) for w in _pad_pow2(words, 0))
        pc = Signal(range(len(words)))
        regs = [[Signal(32, name=f"r{lane}_{k}") for k in range(N_REGS)] for lane in range(lanes)]
        out_sel = [Array(_pad_pow2(regs[lane], Const(0, 32))) for lane in range(lanes)]
        consts = [Const(c, 32) for c in CONSTANTS]
        operands = [Array(_pad_pow2(list(regs[lane]) + consts, Const(0, 32))) for lane in range(lanes)]

        direct = Signal()           # OP mode: one micro-op taken from the input
        direct_op = Signal(VectorOp)
        out_reg = Signal(_REG_BITS)
        out2_reg = Signal(_REG_BITS)
        instr = Signal(_MICRO)
        rom_word = Signal(_MICRO)
        m.d.comb += rom_word.as_value().eq(rom[pc])
        with m.If(direct):
            m.d.comb += [instr.op.eq(direct_op), instr.dst.eq(0), instr.a.eq(0), instr.b.eq(1),
                         instr.c.eq(2), instr.last.eq(1)]
        with m.Else():
            m.d.comb += instr.eq(rom_word)

        p = self.i.payload
        # Sequencer states as an explicit register compared with If/Elif (an
        # m.FSM would emit partially covered case statements per signal).
        state = Signal(_State)
        with m.If(state == _State.IDLE):
            m.d.comb += self.i.ready.eq(~self.o.valid | self.o.ready)
            with m.If(self.o.ready):
                m.d.sync += self.o.valid.eq(0)
            with m.If(self.i.valid & self.i.ready):
                for lane in range(lanes):
                    m.d.sync += [regs[lane][0].eq(p.a[lane]), regs[lane][1].eq(p.b[lane]),
                                 regs[lane][2].eq(p.c[lane])]
                m.d.sync += [direct.eq(p.func == Func.OP), direct_op.eq(p.op)]
                with m.Switch(p.func):
                    for func, prog in PROGRAMS.items():
                        with m.Case(Func(func.value)):
                            m.d.sync += [pc.eq(entry[func]), out_reg.eq(prog.out), out2_reg.eq(prog.out2)]
                    with m.Default():  # OP: registers 0 (a) -> 0
                        m.d.sync += [pc.eq(0), out_reg.eq(0), out2_reg.eq(0)]
                m.d.sync += state.eq(_State.ISSUE)
        with m.Elif(state == _State.ISSUE):
            m.d.comb += [vu.i.valid.eq(1), vu.i.payload.op.eq(instr.op)]
            for lane in range(lanes):
                m.d.comb += [vu.i.payload.a[lane].eq(operands[lane][instr.a]),
                             vu.i.payload.b[lane].eq(operands[lane][instr.b]),
                             vu.i.payload.c[lane].eq(operands[lane][instr.c])]
            with m.If(vu.i.ready):
                m.d.sync += state.eq(_State.WAIT)
        with m.Elif(state == _State.WAIT):
            m.d.comb += vu.o.ready.eq(1)
            with m.If(vu.o.valid):
                # Write port decoded per register (an indexed assignment
                # would emit a full case statement per lane and register).
                for k in range(N_REGS):
                    with m.If(instr.dst == k):
                        m.d.sync += [regs[lane][k].eq(vu.o.payload.r[lane]) for lane in range(lanes)]
                with m.If(instr.last):
                    m.d.sync += state.eq(_State.DONE)
                with m.Else():
                    m.d.sync += pc.eq(pc + 1)
                    m.d.sync += state.eq(_State.ISSUE)
        with m.Else():  # DONE
            for lane in range(lanes):
                m.d.sync += [self.o.payload.r[lane].eq(out_sel[lane][out_reg]),
                             self.o.payload.r2[lane].eq(out_sel[lane][out2_reg])]
            m.d.sync += self.o.valid.eq(1)
            m.d.sync += state.eq(_State.IDLE)
        return m
