"""Exact single-cycle operations of the vector lanes: compare, min/max,
abs/neg/select, int32->binary32 and the integer side-steps that the special
functions need (round_to_int's bit read, ldexp's power-of-two build, log's
exponent/mantissa split)."""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, unsigned
from amaranth.lib import data, enum, stream, wiring
from amaranth.lib.wiring import In, Out

from .arith import CANONICAL_NAN, fp_eq, fp_lt, int_to_fp, unpack

__all__ = ["VectorOp", "FP32Misc", "OP_CLASS", "OpClass"]


class VectorOp(enum.Enum, shape=5):
    """Operations of one vector lane. Booleans are the integers 0 / 1.

    ``SEL`` is ``a if c != 0 else b``; integer ops act on the 32-bit pattern
    (two's complement); ``POW2`` is ``(a + 127) << 23`` (2**a as binary32 for
    a in [-126, 127]); ``EXPF`` is the 8-bit exponent field; ``MANT1`` keeps
    the mantissa field with exponent 127 (a value in [1, 2)); ``SHR`` is the
    logical shift ``a >> (b & 31)``; ``IMUL`` the low 32 bits of ``a * b``
    (the RNG's mix32 needs both).
    """

    ADD = 0
    SUB = 1
    MUL = 2
    DIV = 3
    SQRT = 4
    MIN = 5
    MAX = 6
    LT = 7
    LE = 8
    EQ = 9
    ISNAN = 10
    ABS = 11
    NEG = 12
    SEL = 13
    I2F = 14
    IADD = 15
    ISUB = 16
    IAND = 17
    IXOR = 18
    ASR1 = 19
    POW2 = 20
    EXPF = 21
    MANT1 = 22
    SHR = 23
    IMUL = 24


class OpClass(enum.Enum, shape=3):
    """Which functional unit of a lane executes an operation."""
    ADDSUB = 0
    MUL = 1
    DIV = 2
    SQRT = 3
    MISC = 4


def op_class(op: VectorOp) -> OpClass:
    return {VectorOp.ADD: OpClass.ADDSUB, VectorOp.SUB: OpClass.ADDSUB, VectorOp.MUL: OpClass.MUL,
            VectorOp.DIV: OpClass.DIV, VectorOp.SQRT: OpClass.SQRT}.get(VectorOp(op), OpClass.MISC)


OP_CLASS = {op: op_class(op) for op in VectorOp}

_MISC_IN = data.StructLayout({"op": VectorOp, "a": unsigned(32), "b": unsigned(32), "c": unsigned(32)})


def misc_result(m: Module, op, a, b, c) -> Signal:
    """Combinational result of a MISC-class operation."""
    ua, ub = unpack(m, a, "ma"), unpack(m, b, "mb")
    lt_ab = fp_lt(m, a, b, "lt_ab")
    lt_ba = fp_lt(m, b, a, "lt_ba")
    eq_ab = fp_eq(m, a, b, "eq_ab")
    any_nan = ua.nan | ub.nan
    # Every helper datapath is built outside the op switch, so its logic is
    # unconditional (no partially covered case statements in the Verilog).
    i2f = int_to_fp(m, a)
    r = Signal(32, name="misc_r")
    with m.Switch(op):
        with m.Case(VectorOp.MIN):
            # NumPy: NaN if either is NaN; b when a == b (so min(+0, -0) = -0).
            m.d.comb += r.eq(Mux(any_nan, CANONICAL_NAN, Mux(lt_ab, a, b)))
        with m.Case(VectorOp.MAX):
            m.d.comb += r.eq(Mux(any_nan, CANONICAL_NAN, Mux(lt_ba, a, b)))
        with m.Case(VectorOp.LT):
            m.d.comb += r.eq(lt_ab)
        with m.Case(VectorOp.LE):
            m.d.comb += r.eq(lt_ab | eq_ab)
        with m.Case(VectorOp.EQ):
            m.d.comb += r.eq(eq_ab)
        with m.Case(VectorOp.ISNAN):
            m.d.comb += r.eq(ua.nan)
        with m.Case(VectorOp.ABS):
            m.d.comb += r.eq(a & 0x7FFFFFFF)
        with m.Case(VectorOp.NEG):
            m.d.comb += r.eq(a ^ 0x80000000)
        with m.Case(VectorOp.SEL):
            m.d.comb += r.eq(Mux(c != 0, a, b))
        with m.Case(VectorOp.I2F):
            m.d.comb += r.eq(i2f)
        with m.Case(VectorOp.IADD):
            m.d.comb += r.eq(a + b)
        with m.Case(VectorOp.ISUB):
            m.d.comb += r.eq(a - b)
        with m.Case(VectorOp.IAND):
            m.d.comb += r.eq(a & b)
        with m.Case(VectorOp.IXOR):
            m.d.comb += r.eq(a ^ b)
        with m.Case(VectorOp.ASR1):
            m.d.comb += r.eq(a.as_signed() >> 1)
        with m.Case(VectorOp.POW2):
            m.d.comb += r.eq(Cat(Const(0, 23), (a + 127)[:9]))
        with m.Case(VectorOp.EXPF):
            m.d.comb += r.eq(a[23:31])
        with m.Case(VectorOp.MANT1):
            m.d.comb += r.eq(Cat(a[:23], Const(0x7F, 9)))
        with m.Case(VectorOp.SHR):
            m.d.comb += r.eq(a >> b[:5])
        with m.Case(VectorOp.IMUL):
            m.d.comb += r.eq((a * b)[:32])
        with m.Default():  # not a MISC-class op: the result is never used
            m.d.comb += r.eq(0)
    return r


class FP32Misc(wiring.Component):
    """The exact operations (:class:`VectorOp` MISC class), one register stage.

    Members
    -------
    i : In(stream.Signature({op, a, b, c}))
    o : Out(stream.Signature(unsigned(32)))
    """

    LATENCY = 1

    def __init__(self):
        super().__init__({"i": In(stream.Signature(_MISC_IN)), "o": Out(stream.Signature(unsigned(32)))})

    def elaborate(self, platform):
        m = Module()
        p = self.i.payload
        r = misc_result(m, p.op, p.a, p.b, p.c)
        advance = ~self.o.valid | self.o.ready
        m.d.comb += self.i.ready.eq(advance)
        with m.If(advance):
            m.d.sync += [self.o.valid.eq(self.i.valid), self.o.payload.eq(r)]
        return m
