"""Exponent alignment of a gathered accumulator block (QUANT/QUANTR of an accumulator
source through a view; docs/hardware-top.md §4 "QNT views").

Through a view, an output 4×4 block gathers its 16 elements from up to 16 accumulator
records, each ``acc_i · 2**e_i`` with its own record's block exponent. The
:class:`~pinta.hw.smx_quantizer.SMXQuantizer` takes one exponent per block, so the
values are first brought to a common exponent ``e_c``. :class:`AccAlign` does that so
that the quantizer's codes and exponent are those of ``smx_quantize`` of the *exact*
values (golden/smx.py; the simulator's ``Machine._exact_values``):

* P = max over the nonzero elements of ``e_i + lead_i`` (``lead_i``: the leading one's
  bit index of ``|acc_i|``), the leading-one position of the block's largest magnitude;
* ``e_c = clamp(P − (A − 2), E_min − 1, E_max − 1)`` (A = ``accumulator_bits``);
* each magnitude is shifted by ``e_i − e_c``: left (exact), or right, truncated toward
  zero; a magnitude that no longer fits A − 1 bits (only when the upper clamp acts) is
  saturated to ``2**(A − 1) − 1``; the sign is put back.

Why it is exact: unclamped, the largest magnitude lands with its leading one at bit
A − 2, so the quantizer's E (from the aligned maximum's leading one, E = P − b + 2 before
its own clamp) is the exact block's, and its per-element shift is sh = E − e_c ≥
A − b ≥ 1; the quantizer's rounding reads floor(2·y·2**−sh), and for sh ≥ 1
floor(2·floor(y)·2**−sh) = floor(2·y·2**−sh), so the bits truncated below e_c never
reach the rounding bit. With the lower clamp (a block of tiny values) the maximum is
shifted right but keeps its leading one while P ≥ E_min − 1, and sh ≥ E_min − e_c = 1;
below that every exact code is 0 (|v| < 2**(E_min − 1)) and the truncated block is
zero, which the quantizer gives E_min, as the exact one. With the upper clamp
(P ≥ E_max + A − 2, values ≥ 2**(E_max + A − 2)) a saturated element's exact code
saturates too, the saturated maximum's leading one (A − 2) gives E ≥ E_max, clamped to
E_max as the exact one, and the other elements have sh = 1.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from pinta.config import PintaConfig

from .common import acc_exponent_bits, block_elems

__all__ = ["AccAlign", "align_layout", "acc_view_split", "AccViewRule"]


def align_layout(cfg: PintaConfig) -> data.StructLayout:
    """16 accumulators, each with its own exponent (the gathered elements of one block)."""
    n, a, xw = block_elems(cfg), cfg.accumulator_bits, acc_exponent_bits(cfg)
    return data.StructLayout({"values": data.ArrayLayout(signed(a), n), "exps": data.ArrayLayout(signed(xw), n)})


class AccAlign(wiring.Component):
    """Bring 16 accumulators with their own block exponents to one exponent, exactly for
    SMX quantization (module docstring). Combinational.

    Members
    -------
    i : In(align_layout(cfg))            -- values acc_i and exponents e_i
    values : Out(ArrayLayout(signed(A), 16)) -- aligned values (value_i · 2**exponent)
    exponent : Out(signed(acc_exponent_bits)) -- the common exponent e_c
    """

    def __init__(self, cfg: PintaConfig):
        self.cfg = cfg
        n, a, xw = block_elems(cfg), cfg.accumulator_bits, acc_exponent_bits(cfg)
        super().__init__({"i": In(align_layout(cfg)), "values": Out(data.ArrayLayout(signed(a), n)),
                          "exponent": Out(signed(xw))})

    def elaborate(self, platform):
        cfg = self.cfg
        m = Module()
        n, a, xw = block_elems(cfg), cfg.accumulator_bits, acc_exponent_bits(cfg)
        pw = xw + 2                      # e_i + lead_i and its differences
        lo, hi = cfg.exponent_min - 1, cfg.exponent_max - 1
        mags, negs, tops, nz = [], [], [], []
        for k in range(n):
            v = self.i.values[k]
            mag = Signal(unsigned(a), name=f"mag{k}")
            m.d.comb += mag.eq(Mux(v < 0, -v, v)[:a])
            lead = Signal(range(a), name=f"lead{k}")
            for bit in range(a):         # last assignment wins: the highest set bit
                with m.If(mag[bit]):
                    m.d.comb += lead.eq(bit)
            top = Signal(signed(pw), name=f"top{k}")
            m.d.comb += top.eq(self.i.exps[k] + lead)
            mags.append(mag); negs.append(v < 0); tops.append(top); nz.append(mag != 0)
        # P: the largest leading-one position over the nonzero elements (a zero block keeps
        # the lower clamp: its values are zero whatever the exponent)
        best = Signal(signed(pw), name="p0")
        m.d.comb += best.eq(Mux(nz[0], tops[0], lo + a - 2))
        for k in range(1, n):
            nxt = Signal(signed(pw), name=f"p{k}")
            m.d.comb += nxt.eq(Mux(nz[k] & (tops[k] > best), tops[k], best))
            best = nxt
        ec_raw = Signal(signed(pw))
        m.d.comb += ec_raw.eq(best - (a - 2))
        ec = Signal(signed(xw))
        m.d.comb += ec.eq(Mux(ec_raw < lo, lo, Mux(ec_raw > hi, hi, ec_raw)))
        m.d.comb += self.exponent.eq(ec)
        sat = (1 << (a - 1)) - 1
        for k in range(n):
            d = Signal(signed(pw + 1), name=f"shift{k}")
            m.d.comb += d.eq(self.i.exps[k] - ec)
            # left by d > 0: the result is checked against A − 1 bits (saturation); a shift of
            # A or more bits of a nonzero magnitude always saturates
            left = Signal(unsigned(2 * a), name=f"left{k}")
            m.d.comb += left.eq(mags[k] << Mux(d >= a, a, Mux(d > 0, d, 0))[:a.bit_length()])
            right = Signal(unsigned(a), name=f"right{k}")
            m.d.comb += right.eq(mags[k] >> Mux(-d >= a, a, Mux(d < 0, -d, 0))[:a.bit_length()])
            al = Signal(unsigned(a), name=f"aligned{k}")
            m.d.comb += al.eq(Mux(d > 0, Mux(left > sat, sat, left), right))
            m.d.comb += self.values[k].eq(Mux(negs[k], -al, al))
        return m


# ---------------------------------------------------------------------------
# Accumulator sources through a view: which views the QNT unit reads one block per cycle
# ---------------------------------------------------------------------------
#
# An accumulator source is stored as records of 16 words (element (r, c) of block
# (R, C) at word 4·(r mod 4) + (c mod 4) of record R·cb + C; docs/isa.md §4). The QNT
# unit's four 4-word ports read one block per cycle when each block column j of the
# output block is 4 *consecutive* words of one record: element (i, j) = source element
# A_0 + i + B_j ("accumulator column windows"), and when the block's records share one
# exponent word (the exponent port reads one). The rule (:func:`acc_view_split`) is
# static, decided at decode; it holds for the TT backward's dtq view at the tiny shapes
# (docs/hardware-top.md §4 "QNT views"), not for the forward's tq (its block rows are
# words at stride 4).


def acc_view_split(dims, perm, cols: int, src_cols: int):
    """The view's separable form when the QNT unit reads an accumulator source of
    ``src_cols`` columns through it one block per cycle, else None.

    Conditions (with :func:`view_split`'s digits, column windows): the rows' innermost
    non-unit digit is (4, 1) (a block's rows are 4 consecutive source elements, and each
    block starts at that digit's 0); the other row digits' strides are multiples of
    4·src_cols (a block starts on a source block row); the column digits' strides are
    multiples of 4 and Σ (radix − 1)·stride + 4 ≤ 4·src_cols (a block's columns stay in
    that block row, each on one record row); src_cols ∈ {4, 8} (one or two records per
    block row: the block's exponents are in one exponent word; a power of two: the
    address is shifts, no division).
    """
    from .top_view import view_split

    sp = view_split(dims, perm, cols)
    if sp is None or src_cols not in (4, 8):
        return None
    rows, cs, col_windows = sp
    nz = [d for d in rows if d[0] > 1]
    if not col_windows or not nz or nz[-1] != (4, 1):
        return None
    if any(s % (4 * src_cols) for _, s in nz[:-1]):
        return None
    cnz = [d for d in cs if d[0] > 1]
    if any(s % 4 for _, s in cnz) or sum((r - 1) * s for r, s in cnz) + 4 > 4 * src_cols:
        return None
    return sp


class AccViewRule(wiring.Component):
    """:func:`acc_view_split`'s acceptance in hardware (combinational), on
    :class:`~pinta.hw.top_view.ViewSplit`'s outputs.

    Members
    -------
    split_ok : In(1), col_windows : In(1) -- ViewSplit's ok and col_windows
    rows, cols_d : In(DIGITS)             -- ViewSplit's digits
    src_cols : In(16)                     -- the accumulator source's columns
    ok : Out(1)                           -- the QNT unit reads it one block per cycle
    """

    def __init__(self):
        from .top_view import DIGITS
        super().__init__({"split_ok": In(1), "col_windows": In(1), "rows": In(DIGITS), "cols_d": In(DIGITS),
                          "src_cols": In(16), "ok": Out(1)})

    def elaborate(self, platform):
        m = Module()
        c8 = self.src_cols == 8
        size_ok = (self.src_cols == 4) | c8
        # the rows' innermost non-unit digit must be (4, 1); the outer ones' strides
        # multiples of 4·src_cols (16 or 32: the low 4 or 5 bits zero)
        inner_ok = Signal()
        outer_ok = Const(1, 1)
        m.d.comb += inner_ok.eq(0)
        rows = self.rows
        for k in range(4):
            beyond = [rows[x].radix > 1 for x in range(k + 1, 4)]
            innermost = (rows[k].radix > 1) & ~(Cat(*beyond).any() if beyond else Const(0, 1))
            with m.If(innermost):
                m.d.comb += inner_ok.eq((rows[k].radix == 4) & (rows[k].stride == 1))
            aligned = (rows[k].stride[:4] == 0) & (~c8 | ~rows[k].stride[4])
            outer_ok = outer_ok & ((rows[k].radix <= 1) | innermost | aligned)
        span = 0
        cols_ok = Const(1, 1)
        for k in range(4):
            dg = self.cols_d[k]
            cols_ok = cols_ok & ((dg.radix <= 1) | (dg.stride[:2] == 0))
            span = span + Mux(dg.radix > 1, (dg.radix - 1) * dg.stride, 0)
        fits = Signal()
        m.d.comb += fits.eq(span + 4 <= (self.src_cols << 2))
        m.d.comb += self.ok.eq(self.split_ok & self.col_windows & size_ok & inner_ok & outer_ok & cols_ok & fits)
        return m
