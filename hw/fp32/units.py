"""Stream components for the binary32 primitives.

* :class:`FP32AddSub`, :class:`FP32Multiplier`: the combinational datapath of
  :mod:`.arith` followed by one output register (latency 1, one result per
  cycle; ``i.ready`` follows ``o.ready`` so the register never drops data).
* :class:`FP32Divider`, :class:`FP32Sqrt`: iterative restoring digit
  recurrences, ``bits_per_cycle`` radix-2 steps per clock (radix
  2**bits_per_cycle), one operation at a time. The remainder gives the sticky
  bit, so the quotient / root rounds correctly through the shared
  :func:`.arith.round_pack`. Subnormal operands are normalised first with a
  leading-zero count.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .arith import CANONICAL_NAN, EXP_SHAPE, POS_INF, fp_add, fp_mul, normalize, round_pack, unpack

__all__ = ["FP32AddSub", "FP32Multiplier", "FP32Divider", "FP32Sqrt", "div_steps", "sqrt_steps",
           "DIV_BITS_PER_CYCLE", "div_latency", "DivState", "div_load", "div_iterate", "div_round",
           "sqrt_latency", "SqrtState", "sqrt_load", "sqrt_iterate", "sqrt_round"]

_BINARY = data.StructLayout({"a": unsigned(32), "b": unsigned(32)})
_ADDSUB = data.StructLayout({"a": unsigned(32), "b": unsigned(32), "sub": unsigned(1)})
_UNARY = data.StructLayout({"a": unsigned(32)})


def _ceil_to(n: int, k: int) -> int:
    return -(-n // k) * k


#: Quotient digits per clock of :class:`FP32Divider` by default, and per stage of
#: the unrolled divide of the special-function pipeline (hw/top_sfu.py).
DIV_BITS_PER_CYCLE = 4


def div_steps(bits_per_cycle: int) -> int:
    """Radix-2 quotient digits the divider produces (>= 26: 24 + guard + one normalisation bit)."""
    return _ceil_to(26, bits_per_cycle)


def div_latency(bits_per_cycle: int = DIV_BITS_PER_CYCLE) -> int:
    """Cycles of one divide: load, ``div_steps(k) / k`` iterations, round (the stage
    count of the unrolled divide too)."""
    return div_steps(bits_per_cycle) // bits_per_cycle + 2


def sqrt_steps(bits_per_cycle: int) -> int:
    """Radix-2 root digits the square root produces (>= 26)."""
    return _ceil_to(26, bits_per_cycle)


def sqrt_latency(bits_per_cycle: int = DIV_BITS_PER_CYCLE) -> int:
    """Cycles of one square root: load, ``sqrt_steps(k) / k`` iterations, round (the
    stage count of the unrolled square root of the VEC unit, hw/top_divsqrt.py)."""
    return sqrt_steps(bits_per_cycle) // bits_per_cycle + 2


class _OneStage(wiring.Component):
    def _register(self, m, result):
        advance = ~self.o.valid | self.o.ready
        m.d.comb += self.i.ready.eq(advance)
        with m.If(advance):
            m.d.sync += [self.o.valid.eq(self.i.valid), self.o.payload.eq(result)]


class FP32AddSub(_OneStage):
    """a + b or a - b (``sub``), binary32 RNE. Latency 1, throughput 1/cycle.

    Members
    -------
    i : In(stream.Signature({a, b, sub}))
    o : Out(stream.Signature(unsigned(32)))
    """

    LATENCY = 1

    def __init__(self):
        super().__init__({"i": In(stream.Signature(_ADDSUB)), "o": Out(stream.Signature(unsigned(32)))})

    def elaborate(self, platform):
        m = Module()
        p = self.i.payload
        self._register(m, fp_add(m, p.a, p.b, p.sub))
        return m


class FP32Multiplier(_OneStage):
    """a * b, binary32 RNE. Latency 1, throughput 1/cycle.

    Members
    -------
    i : In(stream.Signature({a, b}))
    o : Out(stream.Signature(unsigned(32)))
    """

    LATENCY = 1

    def __init__(self):
        super().__init__({"i": In(stream.Signature(_BINARY)), "o": Out(stream.Signature(unsigned(32)))})

    def elaborate(self, platform):
        m = Module()
        p = self.i.payload
        self._register(m, fp_mul(m, p.a, p.b))
        return m


class _Iterative(wiring.Component):
    """Shared control of the digit-recurrence units: accept, iterate, emit.

    Subclasses provide ``_setup(m, load)`` (registers loaded on accept:
    returns the special-case result/flag, sign, exponent), ``_step(m)``
    (``bits_per_cycle`` recurrence steps) and ``_final(m)`` (sig, exp).
    """

    def __init__(self, layout, bits_per_cycle: int, steps: int):
        if bits_per_cycle < 1 or steps % bits_per_cycle:
            raise ValueError("bits_per_cycle must be >= 1 and divide the step count")
        self.bits_per_cycle = bits_per_cycle
        self.steps = steps
        #: Cycles from an accepted input to its output becoming valid.
        # (load, steps / bits_per_cycle iterations, one rounding cycle; div_latency)
        self.LATENCY = steps // bits_per_cycle + 2
        super().__init__({"i": In(stream.Signature(layout)), "o": Out(stream.Signature(unsigned(32)))})

    def elaborate(self, platform):
        m = Module()
        busy = Signal()
        count = Signal(range(self.steps // self.bits_per_cycle + 1))
        special = Signal()
        special_val = Signal(32)
        sign = Signal()
        exp = Signal(EXP_SHAPE)
        m.d.comb += self.i.ready.eq(~busy & (~self.o.valid | self.o.ready))
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        load = Signal()
        m.d.comb += load.eq(self.i.valid & self.i.ready)
        sp, sp_val, sg, ex = self._setup(m, load)
        with m.If(load):
            m.d.sync += [busy.eq(1), count.eq(self.steps // self.bits_per_cycle),
                         special.eq(sp), special_val.eq(sp_val), sign.eq(sg), exp.eq(ex)]
        with m.If(busy & (count != 0)):
            self._step(m)
            m.d.sync += count.eq(count - 1)
        sig, exp_adj = self._final(m, exp)
        result = round_pack(m, sign, exp_adj, sig, "fin")
        with m.If(busy & (count == 0)):
            m.d.sync += [busy.eq(0), self.o.valid.eq(1),
                         self.o.payload.eq(Mux(special, special_val, result))]
        return m


def _normalized_sig(m, u, name):
    """(24-bit significand with its top bit set, biased exponent) of a nonzero operand."""
    norm, lz = normalize(m, u.sig, name)
    exp = Signal(EXP_SHAPE, name=f"{name}_ne")
    m.d.comb += exp.eq(u.exp - lz)
    return norm, exp


class DivState:
    """What a divide carries from its load through its iterations (combinational values).

    ``rem`` (26 bits) and ``q`` (``steps`` bits) are the recurrence's partial
    remainder and quotient, ``div`` the normalised divisor significand;
    ``special``/``special_val`` the IEEE special-case result (NaN, inf, zero),
    ``sign`` and ``exp`` the result's sign and biased exponent before the
    quotient's normalisation.
    """

    FIELDS = ("rem", "div", "special", "special_val", "sign", "exp")

    def __init__(self, rem, div, special, special_val, sign, exp):
        self.rem, self.div, self.special, self.special_val, self.sign, self.exp = \
            rem, div, special, special_val, sign, exp


def div_load(m: Module, a, b, name: str = "d") -> DivState:
    """Load step of a / b: unpack, normalise subnormal significands, detect special cases."""
    ua, ub = unpack(m, a, f"{name}a"), unpack(m, b, f"{name}b")
    ma, ea = _normalized_sig(m, ua, f"{name}a")
    mb, eb = _normalized_sig(m, ub, f"{name}b")
    sign = ua.sign ^ ub.sign
    sp = Signal(name=f"{name}_special")
    sp_val = Signal(32, name=f"{name}_special_val")
    with m.If(ua.nan | ub.nan | (ua.zero & ub.zero) | (ua.inf & ub.inf)):
        m.d.comb += [sp.eq(1), sp_val.eq(CANONICAL_NAN)]
    with m.Elif(ua.inf | ub.zero):
        m.d.comb += [sp.eq(1), sp_val.eq(Cat(Const(POS_INF, 31), sign))]
    with m.Elif(ua.zero | ub.inf):
        m.d.comb += [sp.eq(1), sp_val.eq(Cat(Const(0, 31), sign))]
    ex = Signal(EXP_SHAPE, name=f"{name}_exp")
    m.d.comb += ex.eq(ea - eb + 127)
    rem = Signal(26, name=f"{name}_rem0")
    m.d.comb += rem.eq(ma)
    return DivState(rem, mb, sp, sp_val, sign, ex)


def div_iterate(rem, div, q, bits: int, steps: int):
    """``bits`` restoring radix-2 steps: (rem, q) -> (rem', q') (expressions; ``q`` has ``steps`` bits)."""
    for _ in range(bits):
        ge = rem >= div
        diff = Mux(ge, rem - div, rem)[:25]
        rem = Cat(Const(0, 1), diff)
        q = Cat(ge, q)[:steps]
    return rem, q


def div_normalize(m: Module, rem, q, exp):
    """(significand with its top bit set, exponent) of the finished quotient (FP32Sqrt: root).

    q = floor(ma * 2**(N-1) / mb), top bit at N-1 or N-2; the remainder gives the sticky bit.
    """
    sig = Cat(rem != 0, q)
    top = sig[-1]
    norm = Signal(len(sig))
    m.d.comb += norm.eq(Mux(top, sig, sig << 1))
    e = Signal(EXP_SHAPE)
    m.d.comb += e.eq(Mux(top, exp, exp - 1))
    return norm, e


def _recurrence_result(m: Module, special, special_val, sign, rem, q, exp, name: str) -> Signal:
    """Normalise, round and pack a finished quotient / root; the special case overrides."""
    norm, e = div_normalize(m, rem, q, exp)
    out = Signal(32, name=f"{name}_q")
    m.d.comb += out.eq(Mux(special, special_val, round_pack(m, sign, e, norm, f"{name}_fin")))
    return out


def div_round(m: Module, st: DivState, q, name: str = "d") -> Signal:
    """The rounded binary32 quotient after the last iteration (special cases included)."""
    return _recurrence_result(m, st.special, st.special_val, st.sign, st.rem, q, st.exp, name)


class FP32Divider(_Iterative):
    """a / b, binary32 RNE, restoring radix-2 recurrence, ``bits_per_cycle`` digits/clock.

    Members
    -------
    i : In(stream.Signature({a, b}))
    o : Out(stream.Signature(unsigned(32)))

    Latency ``div_steps(k)/k + 2`` cycles; a new division starts when the
    previous result has been taken. The numerics are :func:`div_load`,
    :func:`div_iterate` and :func:`div_normalize`, which the special-function
    pipeline (hw/top_sfu.py) unrolls one iteration per stage.
    """

    def __init__(self, bits_per_cycle: int = DIV_BITS_PER_CYCLE):
        super().__init__(_BINARY, bits_per_cycle, div_steps(bits_per_cycle))

    def _setup(self, m, load):
        p = self.i.payload
        st = div_load(m, p.a, p.b)
        self.rem = Signal(26)
        self.div = Signal(24)
        self.q = Signal(self.steps)
        with m.If(load):
            m.d.sync += [self.rem.eq(st.rem), self.div.eq(st.div), self.q.eq(0)]
        return st.special, st.special_val, st.sign, st.exp

    def _step(self, m):
        rem, q = div_iterate(self.rem, self.div, self.q, self.bits_per_cycle, self.steps)
        m.d.sync += [self.rem.eq(rem), self.q.eq(q)]

    def _final(self, m, exp):
        return div_normalize(m, self.rem, self.q, exp)


class SqrtState:
    """What a square root carries from its load through its iterations (combinational values).

    ``x`` (``2·steps`` bits) is the radicand still to be consumed, two bits per
    step from the top; ``rem`` (``steps + 3`` bits) the partial remainder (0 at
    load); ``special``/``special_val`` the IEEE special-case result; ``exp`` the
    root's biased exponent before its normalisation. The root (``steps`` bits,
    0 at load) is carried beside it, like the quotient of :class:`DivState`.
    The result's sign is + (sqrt(-0) = -0 is a special case).
    """

    FIELDS = ("x", "rem", "special", "special_val", "exp")

    def __init__(self, x, rem, special, special_val, exp):
        self.x, self.rem, self.special, self.special_val, self.exp = x, rem, special, special_val, exp


def sqrt_load(m: Module, a, steps: int, name: str = "s") -> SqrtState:
    """Load step of sqrt(a): unpack, normalise a subnormal, make the exponent even, special cases.

    ``steps`` root digits (:func:`sqrt_steps`).
    """
    n = steps
    ua = unpack(m, a, f"{name}a")
    ma, ea = _normalized_sig(m, ua, f"{name}a")
    # value = ma * 2**(ea - 150); make the power even with s = ea & 1,
    # then radicand X = (ma << s) << (2n - 26) so the root has n bits.
    odd = ea[0]
    mm = Signal(25, name=f"{name}_mm")
    m.d.comb += mm.eq(Mux(odd, ma << 1, ma))
    x = Signal(2 * n, name=f"{name}_x0")
    m.d.comb += x.eq(mm << (2 * n - 26))
    # sqrt = root * 2**h, h = (ea - 150 - s - (2n - 26)) / 2; with
    # sig = {root, sticky} (top bit n): biased exponent h - 1 + n + 127.
    h2 = Signal(EXP_SHAPE, name=f"{name}_h2")
    m.d.comb += h2.eq(ea - 150 - odd - (2 * n - 26))
    ex = Signal(EXP_SHAPE, name=f"{name}_exp")
    m.d.comb += ex.eq(h2.as_signed().shift_right(1) - 1 + n + 127)
    sp = Signal(name=f"{name}_special")
    sp_val = Signal(32, name=f"{name}_special_val")
    with m.If(ua.nan | (ua.sign & ~ua.zero)):
        m.d.comb += [sp.eq(1), sp_val.eq(CANONICAL_NAN)]
    with m.Elif(ua.zero | ua.inf):
        m.d.comb += [sp.eq(1), sp_val.eq(a)]
    return SqrtState(x, Const(0, n + 3), sp, sp_val, ex)


def sqrt_iterate(x, rem, root, bits: int, steps: int):
    """``bits`` restoring radix-2 root steps: (x, rem, root) -> (x', rem', root') (expressions;
    ``x`` has ``2·steps`` bits, ``rem`` ``steps + 3``, ``root`` ``steps``)."""
    n = steps
    for _ in range(bits):
        r2 = Cat(x[2 * n - 2:2 * n], rem)[:n + 3]
        t = Cat(Const(1, 2), root)[:n + 3]
        ge = r2 >= t
        rem = Mux(ge, r2 - t, r2)[:n + 3]
        root = Cat(ge, root)[:n]
        x = Cat(Const(0, 2), x)[:2 * n]
    return x, rem, root


def sqrt_round(m: Module, st: SqrtState, root, name: str = "s") -> Signal:
    """The rounded binary32 root after the last iteration (special cases included): the
    same sticky bit, one-bit normalisation and rounding as the quotient's."""
    return _recurrence_result(m, st.special, st.special_val, Const(0, 1), st.rem, root, st.exp, name)


class FP32Sqrt(_Iterative):
    """sqrt(a), binary32 RNE, restoring radix-2 root recurrence, ``bits_per_cycle`` digits/clock.

    Members
    -------
    i : In(stream.Signature({a}))
    o : Out(stream.Signature(unsigned(32)))

    sqrt(-0) = -0, sqrt(+inf) = +inf, negative or NaN -> canonical NaN.
    Latency :func:`sqrt_latency`. The numerics are :func:`sqrt_load`,
    :func:`sqrt_iterate` and :func:`sqrt_round`'s normalisation, which the VEC
    unit's pipelined square root (hw/top_divsqrt.py) unrolls one iteration per stage.
    """

    def __init__(self, bits_per_cycle: int = DIV_BITS_PER_CYCLE):
        super().__init__(_UNARY, bits_per_cycle, sqrt_steps(bits_per_cycle))

    def _setup(self, m, load):
        n = self.steps
        st = sqrt_load(m, self.i.payload.a, n, "sa")
        self.x = Signal(2 * n)
        self.rem = Signal(n + 3)
        self.root = Signal(n)
        with m.If(load):
            m.d.sync += [self.x.eq(st.x), self.rem.eq(st.rem), self.root.eq(0)]
        return st.special, st.special_val, Const(0, 1), st.exp

    def _step(self, m):
        x, rem, root = sqrt_iterate(self.x, self.rem, self.root, self.bits_per_cycle, self.steps)
        m.d.sync += [self.x.eq(x), self.rem.eq(rem), self.root.eq(root)]

    def _final(self, m, exp):
        # the same sticky bit and one-bit normalisation as the quotient's
        return div_normalize(m, self.rem, self.root, exp)
