"""SMX quantizer: one block of GEMM accumulators in, one b-bit SMX block out.

The input is what the MAC array produces for one output block: 16 signed
``cfg.accumulator_bits`` integers ``acc`` and one block exponent ``e``
(E_ref - G), standing for the exact values ``acc · 2**e``. The output is the
block requantized to b bits by docs/numerics.md §1 applied to those exact
values (= ``smx_requantize``):

* ``lead = floor(log2 max|acc|)``, so the exact maximum has
  ``floor(log2 m) = e + lead``;
* ``E = clamp(e + lead - (b - 2), E_min, E_max)``; a zero block gets E_min;
* ``q = saturate_b(round_half_away_from_zero(acc · 2**(e - E)))``.

Microarchitecture (three register stages, one block per cycle):

1. magnitudes ``|acc|`` and signs; the OR of all magnitudes. The leading one
   of the OR is the leading one of the largest magnitude, so no comparator
   tree is needed for max-abs.
2. priority encoder on the OR -> ``lead``; exponent arithmetic and clamp;
   the per-block shift ``sh = E - e`` (negative when E hit E_max or the
   block is small, positive otherwise).
3. per element one barrel shifter that produces ``floor(2·|acc|·2**-sh)``
   (one extra bit below the code LSB), ``+1 >> 1`` for
   round-half-away-from-zero on the magnitude, saturation to
   ``2**(b-1) - 1`` and the sign.

The whole pipeline advances together whenever the output register is empty
or being read (``o.ready``), so ``i.ready`` follows ``o.ready``
combinationally; with ``o.ready`` held high the throughput is one block per
clock and the latency three clocks.
"""

from __future__ import annotations

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import bits_for, ceil_log2

from pinta.config import PintaConfig

from .common import acc_exponent_bits, block_codes_layout, block_elems, code_bits

__all__ = ["SMXQuantizer", "quantizer_input_layout", "quantizer_output_layout"]


def quantizer_input_layout(cfg: PintaConfig) -> data.StructLayout:
    """Payload of :class:`SMXQuantizer`'s input stream.

    Members
    -------
    values : 16 × signed(cfg.accumulator_bits)
        Accumulators of one output block, row-major.
    exponent : signed(cfg.exponent_bits + 2)
        Block exponent e (value = values · 2**e).
    width : unsigned
        Target element width b; must be one of ``cfg.element_bits``
        (any other value is treated as the widest width).
    """
    return data.StructLayout({
        "values": data.ArrayLayout(signed(cfg.accumulator_bits), block_elems(cfg)),
        "exponent": signed(acc_exponent_bits(cfg)),
        "width": unsigned(bits_for(max(cfg.element_bits))),
    })


def quantizer_output_layout(cfg: PintaConfig) -> data.StructLayout:
    """Payload of :class:`SMXQuantizer`'s output stream.

    Members
    -------
    codes : 16 × signed(max(cfg.element_bits))
        Codes, row-major, sign-extended from b bits.
    exponent : signed(cfg.exponent_bits)
        Shared block exponent E.
    """
    return data.StructLayout({
        "codes": block_codes_layout(cfg),
        "exponent": signed(cfg.exponent_bits),
    })


class SMXQuantizer(wiring.Component):
    """Requantizes accumulator blocks to SMX blocks of a runtime-chosen width.

    Members
    -------
    i : In(stream.Signature(quantizer_input_layout(cfg)))
        One accumulator block per transfer.
    o : Out(stream.Signature(quantizer_output_layout(cfg)))
        One SMX block per transfer, in input order.

    Parameters
    ----------
    cfg : PintaConfig
        Source of every width (accumulator, exponent, element widths).
    """

    #: Register stages between an accepted input and its output.
    LATENCY = 3

    def __init__(self, cfg: PintaConfig):
        self.cfg = cfg
        super().__init__({
            "i": In(stream.Signature(quantizer_input_layout(cfg))),
            "o": Out(stream.Signature(quantizer_output_layout(cfg))),
        })

    def elaborate(self, platform):
        cfg = self.cfg
        m = Module()
        n = block_elems(cfg)
        acc_w = cfg.accumulator_bits
        xw = acc_exponent_bits(cfg)
        # Exponent arithmetic: |e| <= 2**(eb+1), |E| <= 2**(eb-1), so
        # e + lead and E - e both fit in eb + 3 signed bits.
        ew = cfg.exponent_bits + 3
        widths = sorted(cfg.element_bits)
        lsb_extra = max(widths)  # left-shift headroom: see stage 3

        # One enable for the whole pipeline: move unless the output holds a
        # block nobody has taken.
        advance = Signal()
        m.d.comb += advance.eq(~self.o.valid | self.o.ready)
        m.d.comb += self.i.ready.eq(advance)

        # -- stage 1: magnitudes, signs, OR-reduction --------------------
        s1_valid = Signal()
        s1_mag = Array(Signal(unsigned(acc_w), name=f"s1_mag{k}") for k in range(n))
        s1_neg = Signal(n)
        s1_or = Signal(unsigned(acc_w))
        s1_exp = Signal(signed(xw))
        s1_width = Signal.like(self.i.payload.width)

        mags = []
        for k in range(n):
            v = self.i.payload.values[k]
            # |v| of a signed acc_w value fits acc_w unsigned bits (|-2**(w-1)| = 2**(w-1)).
            mags.append(Mux(v < 0, -v, v)[:acc_w])
        or_all = 0
        for mag in mags:
            or_all = or_all | mag
        with m.If(advance):
            m.d.sync += [
                s1_valid.eq(self.i.valid),
                s1_or.eq(or_all),
                s1_exp.eq(self.i.payload.exponent),
                s1_width.eq(self.i.payload.width),
                s1_neg.eq(Cat(self.i.payload.values[k] < 0 for k in range(n))),
            ]
            m.d.sync += [s1_mag[k].eq(mags[k]) for k in range(n)]

        # -- stage 2: leading one, exponent, shift ----------------------------
        lead = Signal(range(acc_w))
        for bit in range(acc_w):  # last assignment wins: the highest set bit
            with m.If(s1_or[bit]):
                m.d.comb += lead.eq(bit)
        zero_block = Signal()
        m.d.comb += zero_block.eq(s1_or == 0)

        bm2 = Signal(range(max(widths)))  # b - 2
        with m.Switch(s1_width):
            for b in widths[:-1]:
                with m.Case(b):
                    m.d.comb += bm2.eq(b - 2)
            with m.Default():
                m.d.comb += bm2.eq(max(widths) - 2)

        e_unclamped = Signal(signed(ew))
        m.d.comb += e_unclamped.eq(s1_exp + lead - bm2)
        e_block = Signal(signed(cfg.exponent_bits))
        with m.If(zero_block | (e_unclamped < cfg.exponent_min)):
            m.d.comb += e_block.eq(cfg.exponent_min)
        with m.Elif(e_unclamped > cfg.exponent_max):
            m.d.comb += e_block.eq(cfg.exponent_max)
        with m.Else():
            m.d.comb += e_block.eq(e_unclamped)

        s2_valid = Signal()
        s2_mag = Array(Signal(unsigned(acc_w), name=f"s2_mag{k}") for k in range(n))
        s2_neg = Signal(n)
        s2_exp = Signal(signed(cfg.exponent_bits))
        s2_width = Signal.like(s1_width)
        # u = sh + lsb_extra, clamped to [0, acc_w + lsb_extra + 1]. Below 0
        # every nonzero magnitude saturates anyway (|acc| << 12 >= 2**(b-1));
        # at the top, sh = acc_w + 1, 2·|acc|·2**-sh <= 1/2 already floors
        # to 0 and (0 + 1) >> 1 = 0, so larger shifts change nothing.
        u_max = acc_w + lsb_extra + 1
        u_raw = Signal(signed(ew + 1))
        m.d.comb += u_raw.eq(e_block - s1_exp + lsb_extra)
        s2_u = Signal(range(u_max + 1))
        with m.If(advance):
            m.d.sync += [
                s2_valid.eq(s1_valid),
                s2_neg.eq(s1_neg),
                s2_exp.eq(e_block),
                s2_width.eq(s1_width),
            ]
            with m.If(u_raw < 0):
                m.d.sync += s2_u.eq(0)
            with m.Elif(u_raw > u_max):
                m.d.sync += s2_u.eq(u_max)
            with m.Else():
                m.d.sync += s2_u.eq(u_raw)
            m.d.sync += [s2_mag[k].eq(s1_mag[k]) for k in range(n)]

        # -- stage 3: shift, round, saturate, sign ------------------------
        qmax = Signal(unsigned(max(widths) - 1))
        with m.Switch(s2_width):
            for b in widths[:-1]:
                with m.Case(b):
                    m.d.comb += qmax.eq((1 << (b - 1)) - 1)
            with m.Default():
                m.d.comb += qmax.eq((1 << (max(widths) - 1)) - 1)

        codes = []
        for k in range(n):
            # floor(|acc| · 2**(lsb_extra + 1) / 2**u) = floor(2·|acc|·2**-sh):
            # the magnitude with one bit below the code LSB.
            wide = Cat(Const(0, lsb_extra + 1), s2_mag[k])
            half_units = Signal(unsigned(len(wide)), name=f"half_units{k}")
            m.d.comb += half_units.eq(wide >> s2_u)
            rounded = Signal(unsigned(len(wide)), name=f"rounded{k}")
            m.d.comb += rounded.eq((half_units + 1) >> 1)
            mag_q = Signal(unsigned(max(widths) - 1), name=f"mag_q{k}")
            m.d.comb += mag_q.eq(Mux(rounded > qmax, qmax, rounded))
            codes.append(Mux(s2_neg[k], -mag_q, mag_q))

        with m.If(advance):
            m.d.sync += [
                self.o.valid.eq(s2_valid),
                self.o.payload.exponent.eq(s2_exp),
            ]
            m.d.sync += [self.o.payload.codes[k].eq(codes[k]) for k in range(n)]

        return m
