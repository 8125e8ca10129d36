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

from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from pinta.config import PintaConfig

from .common import acc_exponent_bits, block_elems

__all__ = ["AccAlign", "align_layout"]


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
