"""Combinational IEEE-754 binary32 datapaths (RNE, subnormals kept, no FMA).

Each function adds combinational logic to a :class:`Module` and returns the
result as a ``Signal``; the stream components in :mod:`.units` register
these results. The one rounding rule, :func:`round_pack`, is shared by
every rounded operation, so add, mul, div, sqrt and int->float round (and
denormalise, and overflow to inf) through the same logic.

NaN results are always the canonical quiet NaN 0x7FC00000. NumPy propagates
an input NaN's payload instead; docs/vector-numerics.md §1 makes payloads of
bare primitives not part of the contract (tests compare them as "is NaN"),
and every composite function returns the canonical NaN anyway.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed, unsigned

__all__ = [
    "CANONICAL_NAN", "POS_INF", "unpack", "leading_zeros", "round_pack",
    "fp_add", "fp_mul", "fp_lt", "fp_eq", "int_to_fp", "EXP_SHAPE",
]

CANONICAL_NAN = 0x7FC00000
POS_INF = 0x7F800000
#: Signed width of every internal biased exponent (covers -200 .. 400).
EXP_SHAPE = signed(12)


class Unpacked:
    """Fields of one binary32 operand (all combinational expressions).

    Members
    -------
    sign, exp_field, man_field : the raw fields.
    zero, sub, inf, nan : classification.
    sig : unsigned(24), significand with the hidden bit (0 for subnormals).
    exp : biased exponent as used by the datapath (1 for subnormals and zero).
    """

    def __init__(self, m: Module, x, name: str):
        self.sign = Signal(name=f"{name}_sign")
        self.exp_field = Signal(8, name=f"{name}_ef")
        self.man_field = Signal(23, name=f"{name}_mf")
        m.d.comb += [self.sign.eq(x[31]), self.exp_field.eq(x[23:31]), self.man_field.eq(x[0:23])]
        ef, mf = self.exp_field, self.man_field
        self.zero = (ef == 0) & (mf == 0)
        self.sub = (ef == 0) & (mf != 0)
        self.inf = (ef == 0xFF) & (mf == 0)
        self.nan = (ef == 0xFF) & (mf != 0)
        self.sig = Signal(24, name=f"{name}_sig")
        self.exp = Signal(EXP_SHAPE, name=f"{name}_exp")
        m.d.comb += [self.sig.eq(Cat(mf, ef != 0)), self.exp.eq(Mux(ef == 0, 1, ef))]


def unpack(m: Module, x, name: str) -> Unpacked:
    return Unpacked(m, x, name)


def leading_zeros(m: Module, v, name: str) -> Signal:
    """Count of leading zeros of ``v`` (len(v) when v == 0)."""
    w = len(v)
    lz = Signal(range(w + 1), name=f"{name}_lz")
    m.d.comb += lz.eq(w)
    for i in range(w):  # later (higher) bits win
        with m.If(v[i]):
            m.d.comb += lz.eq(w - 1 - i)
    return lz


def normalize(m: Module, v, name: str):
    """(v shifted left so its top bit is set, leading-zero count)."""
    lz = leading_zeros(m, v, name)
    out = Signal(len(v), name=f"{name}_norm")
    m.d.comb += out.eq((v << lz)[:len(v)])
    return out, lz


def round_pack(m: Module, sign, exp, sig, name: str) -> Signal:
    """Round ``sig`` to binary32, nearest even, and pack it.

    ``sig`` (width W >= 26) is normalised (top bit set) or zero; its value is
    ``sig / 2**(W-1) * 2**(exp - 127)`` with ``exp`` a signed biased exponent.
    Results below the normal range are shifted right with a sticky bit before
    the single rounding (subnormal outputs); rounding that carries out of the
    subnormal range or out of 254 lands on the next binade or on inf, because
    the exponent field is added to the rounded significand, not concatenated.
    """
    w = len(sig)
    assert w >= 26
    shift = Signal(range(w + 2), name=f"{name}_dshift")
    with m.If(exp >= 1):
        m.d.comb += shift.eq(0)
    with m.Elif(exp < 1 - (w + 1)):
        m.d.comb += shift.eq(w + 1)
    with m.Else():
        m.d.comb += shift.eq(1 - exp)
    ext = Signal(2 * w + 2, name=f"{name}_ext")
    m.d.comb += ext.eq(Cat(Const(0, w + 2), sig) >> shift)
    kept = ext[w + 2:]
    lost = ext[:w + 2] != 0
    keep24 = kept[w - 24:w]
    guard = kept[w - 25]
    sticky = (kept[:w - 25] != 0) | lost
    ebase = Signal(9, name=f"{name}_ebase")
    m.d.comb += ebase.eq(Mux(exp >= 1, exp - 1, 0))
    packed = Signal(32, name=f"{name}_packed")
    m.d.comb += packed.eq((ebase << 23) + keep24 + (guard & (sticky | keep24[0])))
    out = Signal(32, name=f"{name}_rp")
    with m.If(sig == 0):
        m.d.comb += out.eq(Cat(Const(0, 31), sign))
    with m.Elif(exp >= 255):
        m.d.comb += out.eq(Cat(Const(POS_INF, 31), sign))
    with m.Else():
        m.d.comb += out.eq(Cat(packed[:31], sign))
    return out


def fp_add(m: Module, a, b, subtract, name: str = "add") -> Signal:
    """a + b (or a - b when ``subtract``), one RNE rounding."""
    ua, ub = unpack(m, a, f"{name}_a"), unpack(m, b, f"{name}_b")
    sb = ub.sign ^ subtract
    # Order by magnitude: the larger one fixes the exponent and the sign.
    swap = Signal(name=f"{name}_swap")
    m.d.comb += swap.eq(a[:31] < b[:31])
    big_sig, small_sig = Mux(swap, ub.sig, ua.sig), Mux(swap, ua.sig, ub.sig)
    big_exp, small_exp = Mux(swap, ub.exp, ua.exp), Mux(swap, ua.exp, ub.exp)
    big_sign, small_sign = Mux(swap, sb, ua.sign), Mux(swap, ua.sign, sb)
    d = Signal(9, name=f"{name}_d")
    m.d.comb += d.eq(big_exp - small_exp)
    dc = Signal(range(29), name=f"{name}_dc")
    m.d.comb += dc.eq(Mux(d > 28, 28, d))
    # 24-bit significands with three bits below: guard, round, sticky.
    big = Cat(Const(0, 3), big_sig)
    ext = Signal(55, name=f"{name}_align")
    m.d.comb += ext.eq(Cat(Const(0, 28), Const(0, 3), small_sig) >> dc)
    aligned = Signal(27, name=f"{name}_aligned")
    m.d.comb += aligned.eq(ext[28:] | (ext[:28] != 0))
    eff_sub = big_sign ^ small_sign
    total = Signal(28, name=f"{name}_sum")
    m.d.comb += total.eq(Mux(eff_sub, big - aligned, big + aligned))
    norm, lz = normalize(m, total, name)
    exp = Signal(EXP_SHAPE, name=f"{name}_e")
    m.d.comb += exp.eq(big_exp + 1 - lz)
    # An exact zero sum is +0 unless both addends are zeros of the same sign.
    sign = Mux(total == 0, big_sign & ~eff_sub, big_sign)
    rounded = round_pack(m, sign, exp, norm, name)
    out = Signal(32, name=f"{name}_out")
    with m.If(ua.nan | ub.nan | (ua.inf & ub.inf & (ua.sign != sb))):
        m.d.comb += out.eq(CANONICAL_NAN)
    with m.Elif(ua.inf):
        m.d.comb += out.eq(Cat(Const(POS_INF, 31), ua.sign))
    with m.Elif(ub.inf):
        m.d.comb += out.eq(Cat(Const(POS_INF, 31), sb))
    with m.Else():
        m.d.comb += out.eq(rounded)
    return out


def fp_mul(m: Module, a, b, name: str = "mul") -> Signal:
    """a * b, one RNE rounding (48-bit exact product, then normalise and round)."""
    ua, ub = unpack(m, a, f"{name}_a"), unpack(m, b, f"{name}_b")
    prod = Signal(48, name=f"{name}_prod")
    m.d.comb += prod.eq(ua.sig * ub.sig)
    norm, lz = normalize(m, prod, name)
    exp = Signal(EXP_SHAPE, name=f"{name}_e")
    m.d.comb += exp.eq(ua.exp + ub.exp - 126 - lz)
    sign = ua.sign ^ ub.sign
    rounded = round_pack(m, sign, exp, norm, name)
    out = Signal(32, name=f"{name}_out")
    with m.If(ua.nan | ub.nan | (ua.inf & ub.zero) | (ua.zero & ub.inf)):
        m.d.comb += out.eq(CANONICAL_NAN)
    with m.Elif(ua.inf | ub.inf):
        m.d.comb += out.eq(Cat(Const(POS_INF, 31), sign))
    with m.Else():
        m.d.comb += out.eq(rounded)
    return out


def _order_key(x):
    # Monotone unsigned key of a non-NaN float: negative values reversed.
    return Mux(x[31], ~x, x | 0x80000000)


def fp_lt(m: Module, a, b, name: str = "lt"):
    """a < b (IEEE: false when either is NaN; -0 == +0)."""
    ua, ub = unpack(m, a, f"{name}_a"), unpack(m, b, f"{name}_b")
    r = Signal(name=f"{name}_r")
    m.d.comb += r.eq(~ua.nan & ~ub.nan & ~(ua.zero & ub.zero) & (_order_key(a)[:32] < _order_key(b)[:32]))
    return r


def fp_eq(m: Module, a, b, name: str = "eq"):
    """a == b (IEEE: false when either is NaN; -0 == +0)."""
    ua, ub = unpack(m, a, f"{name}_a"), unpack(m, b, f"{name}_b")
    r = Signal(name=f"{name}_r")
    m.d.comb += r.eq(~ua.nan & ~ub.nan & ((a == b) | (ua.zero & ub.zero)))
    return r


def int_to_fp(m: Module, a, name: str = "i2f") -> Signal:
    """int32 -> binary32, rounded to nearest even (exact for |a| <= 2**24)."""
    sign = a[31]
    mag = Signal(32, name=f"{name}_mag")
    m.d.comb += mag.eq(Mux(sign, -a, a))
    norm, lz = normalize(m, mag, name)
    exp = Signal(EXP_SHAPE, name=f"{name}_e")
    m.d.comb += exp.eq(127 + 31 - lz)
    return round_pack(m, sign, exp, norm, name)
