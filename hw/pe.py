"""Processing element of the SMX MAC array: one 4×4 output block.

A PE is output-stationary: it owns the accumulators of one 4×4 output block
C(I, J) and receives, per reduction step k, the operand blocks A(I, k) and
B(k, J) already cut into per-cycle operand buses by its array row and
column (:mod:`pinta.hw.mac_array`). Its datapath, per docs/numerics.md §3:

``mul``
    4×4 :class:`~pinta.hw.multiplier.ScalableMultiplier` units form one
    rank-1 update (INT8: A(:, k)·B(k, :)), half of one (INT12×INT8: the
    high 8 bits or the low nibble of the wide operand, the high pass scaled
    by 2**4) or the whole 4×4×4 block product (INT4, four products per
    unit). The exact block product P is summed in ``psum`` (signed
    ``product_bits``; no rounding anywhere).
``align``
    ``aligned = (P << G) >> min(s, product_bits + G)`` with an arithmetic
    (floor) shift, s = da + db, da = RA(I) - EA(I, k), db = RB(J) - EB(k, J).
    Clamping s changes nothing: beyond that point the result is already 0
    or -1.
``acc``
    ``acc = (first ? 0 : acc) + aligned`` in signed ``cfg.accumulator_bits``
    (two's-complement wrap; the golden model refuses reductions that could
    overflow). The block exponent ``RA(I) + RB(J) - G`` is latched with the
    first block of a tile.

The PE holds no control state: the array drives every enable, so all PEs
move in lockstep and the sequencing logic exists once per array.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from pinta.config import PintaConfig

from .common import acc_exponent_bits, block_elems
from .multiplier import NIBBLES, ScalableMultiplier

__all__ = ["ProcessingElement", "product_bits"]


def product_bits(cfg: PintaConfig) -> int:
    """Signed width of an exact block product P: the widest operand pair
    (12 + 8 bits) plus log2(block depth), with room for the code -2**(b-1)
    that the quantizer never makes but a port can carry."""
    widest_pair = max(cfg.element_bits) + 8
    return widest_pair + ceil_log2(cfg.block_size)


class ProcessingElement(wiring.Component):
    """Multiplies, aligns and accumulates 4×4 SMX block products.

    Members
    -------
    x : In(ArrayLayout(unsigned(16), block_size))
        Operand bus of each multiplier row (from A).
    y : In(ArrayLayout(unsigned(16), block_size))
        Operand bus of each multiplier column (from B).
    split : In(1)
        INT4 mode: every multiplier returns a 4-term INT4 dot product.
    hi : In(1)
        Scale this cycle's products by 2**4 (high pass of INT12 × INT8).
    mul_en, mul_first : In(1)
        Add this cycle's products into ``psum``; ``mul_first`` restarts it.
    align_en : In(1)
        ``psum`` holds a finished block product: align it.
    align_da, align_db : In(unsigned(exponent_bits))
        RA - EA and RB - EB of that block product.
    acc_en, acc_first : In(1)
        Add the aligned product to the accumulators; ``acc_first`` starts a
        new tile (previous contents are dropped).
    acc_ra, acc_rb : In(signed(exponent_bits))
        Line maxima of the tile, used to latch the block exponent.
    acc : Out(ArrayLayout(signed(accumulator_bits), 16))
        The accumulators, row-major (registers).
    exponent : Out(signed(exponent_bits + 2))
        E_ref - G of the block in ``acc``.

    Parameters
    ----------
    cfg : PintaConfig
    fused, split : bool
        Multiplier modes to build (see :class:`ScalableMultiplier`).
    """

    def __init__(self, cfg: PintaConfig, *, fused: bool = True, split: bool = True):
        self.cfg = cfg
        self.has_fused = fused
        self.has_split = split
        bs = cfg.block_size
        eb = cfg.exponent_bits
        bus = data.ArrayLayout(unsigned(4 * NIBBLES), bs)
        super().__init__({
            "x": In(bus),
            "y": In(bus),
            "split": In(1),
            "hi": In(1),
            "mul_en": In(1),
            "mul_first": In(1),
            "align_en": In(1),
            "align_da": In(unsigned(eb)),
            "align_db": In(unsigned(eb)),
            "acc_en": In(1),
            "acc_first": In(1),
            "acc_ra": In(signed(eb)),
            "acc_rb": In(signed(eb)),
            "acc": Out(data.ArrayLayout(signed(cfg.accumulator_bits), block_elems(cfg))),
            "exponent": Out(signed(acc_exponent_bits(cfg))),
        })

    def elaborate(self, platform):
        cfg = self.cfg
        m = Module()
        bs = cfg.block_size
        g = cfg.align_guard_bits
        pw = product_bits(cfg)

        shift = Signal(range(pw + g + 1))
        s_raw = Signal(unsigned(cfg.exponent_bits + 1))
        m.d.comb += s_raw.eq(self.align_da + self.align_db)
        m.d.comb += shift.eq(Mux(s_raw > pw + g, pw + g, s_raw))

        for r in range(bs):
            for c in range(bs):
                idx = r * bs + c
                mul = ScalableMultiplier(fused=self.has_fused, split=self.has_split)
                m.submodules[f"mul_{r}_{c}"] = mul
                m.d.comb += [
                    mul.x.eq(self.x[r]),
                    mul.y.eq(self.y[c]),
                    mul.split.eq(self.split),
                ]
                psum = Signal(signed(pw), name=f"psum_{r}_{c}")
                scaled = Mux(self.hi, mul.p << 4, mul.p)
                with m.If(self.mul_en):
                    m.d.sync += psum.eq(Mux(self.mul_first, 0, psum) + scaled)

                aligned = Signal(signed(pw + g), name=f"aligned_{r}_{c}")
                with m.If(self.align_en):
                    # `>>` on a signed value with a variable amount is an
                    # arithmetic shift: floor division by 2**shift.
                    m.d.sync += aligned.eq((psum << g) >> shift)

                with m.If(self.acc_en):
                    m.d.sync += self.acc[idx].eq(Mux(self.acc_first, 0, self.acc[idx]) + aligned)

        with m.If(self.acc_en & self.acc_first):
            m.d.sync += self.exponent.eq(self.acc_ra + self.acc_rb - g)
        return m
