"""Row tiles and views of the QNT unit (QUANTR, QUANT through a view).

QUANTR (docs/isa.md) quantizes its source, read as whole rows of the
destination's ``cols`` columns, into rows [row, row + n_rows) of an SMX
destination, with ``n_rows = src.rows · src.cols / dst.cols``. The cycle model
(sim/timing.py) charges the tile's blocks, ``ceil(n_rows / 4) · dst.cb``, so the
controller needs ``n_rows`` in the instruction's decode cycle: a division by a
run-time column count. :class:`TileRows` is that division.

Views other than the identity (the TT engine's permuted reads) are not built yet
(docs/hardware-top.md §7): the controller stops them with error 2.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["TileRows", "tile_rows"]


class TileRows(wiring.Component):
    """``rows = elements // cols``, combinational (restoring division, one
    compare-and-subtract per quotient bit).

    The quotient is a row count of an SMX destination, so it has the
    descriptor's 16 row bits; a program whose tile would have more rows is
    refused by the assembler's checks (sim/program.py: the tile must fit
    dst's rows).

    Members
    -------
    elements : In(32) -- source elements (src.rows · src.cols)
    cols : In(16)     -- destination columns (≥ 1)
    rows : Out(16)    -- elements // cols
    """

    QBITS = 16

    def __init__(self):
        super().__init__({"elements": In(32), "cols": In(16), "rows": Out(self.QBITS)})

    def elaborate(self, platform):
        m = Module()
        rem = self.elements
        bits = []
        # Bit k of the quotient, most significant first: subtract cols·2**k when it fits.
        for k in reversed(range(self.QBITS)):
            part = Signal(32 + self.QBITS, name=f"div_part{k}")
            m.d.comb += part.eq(self.cols << k)
            fits = Signal(name=f"div_fits{k}")
            m.d.comb += fits.eq(rem >= part)
            nxt = Signal(32, name=f"div_rem{k}")
            m.d.comb += nxt.eq(Mux(fits, rem - part[:32], rem))
            bits.append(fits)
            rem = nxt
        m.d.comb += self.rows.eq(Cat(*reversed(bits)))
        return m


def tile_rows(m: Module, name: str, elements, cols) -> Signal:
    """Instantiate a :class:`TileRows` as submodule ``name`` of ``m`` and return its quotient."""
    div = TileRows()
    m.submodules[name] = div
    m.d.comb += [div.elements.eq(elements), div.cols.eq(cols)]
    return div.rows
