"""Exponent-max unit: the line maxima RA(I) / RB(J) of docs/numerics.md §3.

The MAC array takes E_ref(I, J) = RA(I) + RB(J) as an input, where
RA(I) = max_k EA(I, k) is the largest block exponent along row-block I's
reduction line (and RB(J) likewise along a column). Because E_ref is
separable, the hardware needs one running maximum per operand line, not one
per output block. This unit keeps ``lanes`` such running maxima: it consumes
one exponent per lane per transfer (for example the PR exponents
EA(I0 + r, k) of one reduction step) and, on the transfer marked ``last``,
emits the maxima. One transfer per cycle; the result appears one cycle after
the ``last`` transfer.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from pinta.config import PintaConfig

__all__ = ["ExponentMax"]


class ExponentMax(wiring.Component):
    """Running maxima of block exponents, one per lane.

    Members
    -------
    i : In(stream.Signature({exponents: lanes × signed(eb), first: 1, last: 1}))
        One reduction step; ``first`` restarts the maxima, ``last`` ends a line.
    o : Out(stream.Signature(lanes × signed(eb)))
        The maxima of a finished line.

    Parameters
    ----------
    cfg : PintaConfig
    lanes : int
        Lines tracked at once (default: the MAC array's PE rows).
    """

    def __init__(self, cfg: PintaConfig, lanes: int | None = None):
        self.cfg = cfg
        self.lanes = lanes if lanes is not None else cfg.array_rows // cfg.block_size
        if self.lanes < 1:
            raise ValueError(f"ExponentMax needs at least one lane, got {self.lanes}")
        eb = signed(cfg.exponent_bits)
        super().__init__({
            "i": In(stream.Signature(data.StructLayout({
                "exponents": data.ArrayLayout(eb, self.lanes),
                "first": unsigned(1),
                "last": unsigned(1),
            }))),
            "o": Out(stream.Signature(data.ArrayLayout(eb, self.lanes))),
        })

    def elaborate(self, platform):
        m = Module()
        running = [Signal(signed(self.cfg.exponent_bits), name=f"max{k}") for k in range(self.lanes)]
        # Accept unless a finished result is waiting to be taken.
        m.d.comb += self.i.ready.eq(~self.o.valid | self.o.ready)
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        with m.If(self.i.valid & self.i.ready):
            for k in range(self.lanes):
                e = self.i.payload.exponents[k]
                new = Mux(self.i.payload.first | (e > running[k]), e, running[k])
                m.d.sync += running[k].eq(new)
                with m.If(self.i.payload.last):
                    m.d.sync += self.o.payload[k].eq(new)
            with m.If(self.i.payload.last):
                m.d.sync += self.o.valid.eq(1)
        return m
