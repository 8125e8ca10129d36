"""Row tiles and views of the QNT unit (QUANTR, QUANT through a view).

QUANTR (docs/isa.md) quantizes its source, read as whole rows of the
destination's ``cols`` columns, into rows [row, row + n_rows) of an SMX
destination, with ``n_rows = src.rows · src.cols / dst.cols``. The cycle model
(sim/timing.py) charges the tile's blocks, ``ceil(n_rows / 4) · dst.cb``, so the
controller needs ``n_rows`` in the instruction's decode cycle: a division by a
run-time column count. :class:`TileRows` is that division.

QUANT and QUANTR through a view (the TT engine's permuted reads) from an fp32
source: :func:`view_split` (the address function, in Python), :class:`ViewSplit`
(the same in hardware) and :class:`Odometer` (a block's row or column offsets, one
block per cycle); the views they cannot read in one cycle stop with error 2.
"""

from __future__ import annotations

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from pinta.sim.isa import VIEW_DIMS

__all__ = ["TileRows", "tile_rows", "ViewSplit", "Odometer", "VIEW_LAYOUT", "IDENTITY_PERM", "DIGITS", "view_axes", "view_split",
           "odometer"]


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


# ---------------------------------------------------------------------------
# Views: the address function and its hardware
# ---------------------------------------------------------------------------
#
# A view (sim/isa.py VIEW) reads the source as a row-major d0×d1×d2×d3 array and
# permutes its axes: output axis k is source axis perm[k], of length D_k = d[perm[k]]
# and source stride S_k (the row-major stride of source axis perm[k]). The output,
# read row-major, is the quantizer's rows × cols tile. Element (row, col) of the tile
# is output flat index f = row·cols + col, and its source element is
# s(f) = Σ_k digit_k(f)·S_k (mixed radix D_0..D_3).
#
# When cols splits the mixed radix (cols = D_2·D_3, cols = D_1·D_2·D_3, or cols
# divides D_3), s is separable: s = A(row) + B(col), each an odometer over its own
# digits. A block's 16 source elements are then A(4I+i) + B(4J+j): four row offsets
# and four column offsets, stepped one block per cycle with no division.
#
# The QNT unit reads an fp32 source through its four 4-word ports (docs/hardware-top.md
# §3): it can gather a block whose four block rows (or four block columns) each lie in
# 4 consecutive words. With the innermost non-unit column digit of radix a multiple of 4
# and stride ≤ 2, a block row's elements are B₀ + {0, S, 2S, 3S}: within 4 words from
# any start ("row windows"); likewise the rows' innermost digit for block columns
# ("column windows"). A radix-2 innermost digit inside an even radix gives the offsets
# {0, S₁, S₂, S₁ + S₂}, a window too when S₁ + S₂ ≤ 6 ("pair windows", e.g. the TT
# chain's (4, 2, 2, 2) → (0, 2, 1, 3)). Other views are refused (error 2), so the
# model's one block per cycle holds for every view the RTL accepts.


def view_axes(dims, perm) -> tuple[list[int], list[int]]:
    """(D_k, S_k) of the output axes k = 0..3 of a view (lengths and source strides)."""
    ss = [1] * 4
    for a in (2, 1, 0):
        ss[a] = ss[a + 1] * dims[a + 1]
    return [dims[p] for p in perm], [ss[p] for p in perm]


def view_split(dims, perm, cols: int):
    """The separable form of a view for a tile of ``cols`` columns, or None.

    Returns (row digits, column digits, column_windows): each digit list has four
    (radix, stride) pairs, outermost first, unused ones (1, 0); column_windows says
    the block columns (not rows) are the 4-word windows. None: not separable, or
    neither windowing applies (the RTL stops such a QUANT/QUANTR with error 2).
    :class:`ViewSplit` computes the same in hardware (tests/hw/test_top_view.py).
    """
    D, S = view_axes(dims, perm)
    one = (1, 0)
    if cols == D[2] * D[3]:
        rows, cs = [one, one, (D[0], S[0]), (D[1], S[1])], [one, one, (D[2], S[2]), (D[3], S[3])]
    elif cols == D[1] * D[2] * D[3]:
        rows, cs = [one, one, one, (D[0], S[0])], [one, (D[1], S[1]), (D[2], S[2]), (D[3], S[3])]
    elif D[3] % cols == 0:
        rows = [(D[0], S[0]), (D[1], S[1]), (D[2], S[2]), (D[3] // cols, cols * S[3])]
        cs = [one, one, one, (cols, S[3])]
    else:
        return None

    def windows(digits):
        nz = [d for d in digits if d[0] > 1]
        if not nz:
            return False
        (r1, s1) = nz[-1]
        if r1 % 4 == 0:        # offsets {0, s1, 2·s1, 3·s1}
            return s1 <= 2
        # pair windows: radix 2 inside an even radix, offsets {0, s1, s2, s1 + s2}
        return r1 == 2 and len(nz) > 1 and nz[-2][0] % 2 == 0 and s1 + nz[-2][1] <= 6

    if windows(cs):
        return rows, cs, False
    if windows(rows):
        return rows, cs, True
    return None


def odometer(digits, n: int) -> list[int]:
    """Offsets Σ digit·stride of positions 0..n-1 of an odometer (reference of :class:`Odometer`)."""
    out = []
    for x in range(n):
        off = 0
        for radix, stride in reversed(digits):
            off += (x % radix) * stride
            x //= radix
        out.append(off)
    return out


#: A view register: VIEW's d0..d3 and perm fields, in their encoding order (hw/controller.py checks).
VIEW_LAYOUT = data.StructLayout({"dims": data.ArrayLayout(unsigned(16), VIEW_DIMS), "perm": unsigned(2 * VIEW_DIMS)})
#: The VIEW perm field of the identity permutation (0, 1, 2, 3): 2 bits per output axis.
IDENTITY_PERM = sum(k << (2 * k) for k in range(VIEW_DIMS))
DIGITS = data.ArrayLayout(data.StructLayout({"radix": unsigned(16), "stride": unsigned(32)}), 4)


class ViewSplit(wiring.Component):
    """:func:`view_split` in hardware (combinational).

    Members
    -------
    view : In(VIEW_LAYOUT)  -- dims d0..d3 and perm (2 bits per output axis) of the VIEW
    cols : In(16)           -- the tile's columns (dst.cols)
    ok : Out(1)             -- separable and windowed: the QNT unit can read it
    rows, cols_d : Out(DIGITS) -- row and column digits, outermost first
    col_windows : Out(1)    -- block columns are the 4-word windows (else block rows)
    """

    def __init__(self):
        super().__init__({"view": In(VIEW_LAYOUT), "cols": In(16), "ok": Out(1),
                          "rows": Out(DIGITS), "cols_d": Out(DIGITS), "col_windows": Out(1)})

    def elaborate(self, platform):
        m = Module()
        dims = self.view.dims
        ss = [Signal(32, name=f"ss{a}") for a in range(4)]
        m.d.comb += [ss[3].eq(1), ss[2].eq(dims[3]), ss[1].eq(dims[2] * dims[3]), ss[0].eq(dims[1] * dims[2] * dims[3])]
        D = [Signal(16, name=f"D{k}") for k in range(4)]
        S = [Signal(32, name=f"S{k}") for k in range(4)]
        for k in range(4):
            p = self.view.perm[2 * k:2 * k + 2]
            m.d.comb += [D[k].eq(Array(dims[a] for a in range(4))[p]), S[k].eq(Array(ss)[p])]
        c = self.cols
        p23 = Signal(32); p123 = Signal(48)
        m.d.comb += [p23.eq(D[2] * D[3]), p123.eq(D[1] * p23)]
        q = tile_rows(m, "d3_div", D[3], c)
        k2 = p23 == c
        k1 = ~k2 & (p123 == c)
        split = ~k2 & ~k1 & (c != 0) & (q * c == D[3])
        one = (Const(1, 16), Const(0, 32))
        rows = [Signal(DIGITS.elem_shape, name=f"row_digit{k}") for k in range(4)]
        cols = [Signal(DIGITS.elem_shape, name=f"col_digit{k}") for k in range(4)]

        def put(sig, pair):
            return [sig.radix.eq(pair[0]), sig.stride.eq(pair[1])]
        with m.If(k2):
            for sig, pair in zip(rows, [one, one, (D[0], S[0]), (D[1], S[1])]):
                m.d.comb += put(sig, pair)
            for sig, pair in zip(cols, [one, one, (D[2], S[2]), (D[3], S[3])]):
                m.d.comb += put(sig, pair)
        with m.Elif(k1):
            for sig, pair in zip(rows, [one, one, one, (D[0], S[0])]):
                m.d.comb += put(sig, pair)
            for sig, pair in zip(cols, [one, (D[1], S[1]), (D[2], S[2]), (D[3], S[3])]):
                m.d.comb += put(sig, pair)
        with m.Else():
            for sig, pair in zip(rows, [(D[0], S[0]), (D[1], S[1]), (D[2], S[2]), (q, c * S[3])]):
                m.d.comb += put(sig, pair)
            for sig, pair in zip(cols, [one, one, one, (c, S[3])]):
                m.d.comb += put(sig, pair)

        def windows(digits, name):
            # innermost digit with a radix > 1 (none: a single position, not windowed) and
            # the next one out (pair windows: radix 2 inside an even radix)
            radix = Signal(16, name=f"{name}_radix"); stride = Signal(32, name=f"{name}_stride")
            radix2 = Signal(16, name=f"{name}_radix2"); stride2 = Signal(33, name=f"{name}_stride2")
            m.d.comb += [radix.eq(1), stride.eq(0), radix2.eq(1), stride2.eq(0)]
            for k, dg in enumerate(digits):
                inside = [d.radix > 1 for d in digits[k + 1:]]
                n_in = sum(x.as_unsigned() for x in inside) if inside else Const(0, 1)
                with m.If((dg.radix > 1) & (n_in == 0)):
                    m.d.comb += [radix.eq(dg.radix), stride.eq(dg.stride)]
                with m.If((dg.radix > 1) & (n_in == 1)):
                    m.d.comb += [radix2.eq(dg.radix), stride2.eq(dg.stride)]
            quad = (radix[:2] == 0) & (radix != 0) & (stride <= 2)
            pair = (radix == 2) & (radix2 > 1) & ~radix2[0] & (stride + stride2 <= 6)
            return quad | pair
        w_rows = windows(cols, "colw")
        w_cols = windows(rows, "roww")
        m.d.comb += [self.rows[k].eq(rows[k]) for k in range(4)]
        m.d.comb += [self.cols_d[k].eq(cols[k]) for k in range(4)]
        m.d.comb += [self.ok.eq((k2 | k1 | split) & (w_rows | w_cols)), self.col_windows.eq(~w_rows)]
        return m


class Odometer(wiring.Component):
    """Source offsets of four consecutive positions of a view's row (or column) digits,
    advanced by four positions per step: the rows (columns) of one block.

    Position x has digits x in mixed radix ``digits`` (outermost first) and offset
    Σ digit·stride. One increment adds the stride of the lowest digit that does not wrap
    and takes back the wrapped digits' (radix − 1)·stride: the precomputed step
    ``delta[k]`` of a carry into digit k. Four increments in a row (combinational) give
    positions x+1 .. x+4 of the state x.

    Members
    -------
    digits : In(DIGITS) -- radix and stride per digit (held for the instruction)
    restart : In(1)     -- next state: position 0
    advance : In(1)     -- next state: position x + 4 (restart wins)
    off : Out(ArrayLayout(unsigned(32), 4)) -- offsets of positions x .. x+3
    """

    def __init__(self):
        super().__init__({"digits": In(DIGITS), "restart": In(1), "advance": In(1),
                          "off": Out(data.ArrayLayout(unsigned(32), 4))})

    def elaborate(self, platform):
        m = Module()
        dg = self.digits
        # delta[k]: stride_k − Σ_{i>k} (radix_i − 1)·stride_i, modulo 2**32 (offsets wrap back)
        delta = [Signal(32, name=f"delta{k}") for k in range(4)]
        back = Const(0, 32)
        for k in reversed(range(4)):
            m.d.comb += delta[k].eq(dg[k].stride - back)
            nb = Signal(32, name=f"back{k}")
            m.d.comb += nb.eq(back + (dg[k].radix - 1) * dg[k].stride)
            back = nb
        digit = [Signal(16, name=f"digit{k}") for k in range(4)]
        off = Signal(32)

        def inc(ds, o, tag):
            nd = [Signal(16, name=f"{tag}_d{k}") for k in range(4)]
            no = Signal(32, name=f"{tag}_off")
            carry = Const(1, 1)
            new_off = o  # all digits wrap: past the end, never used
            for k in reversed(range(4)):
                wrap = ds[k] + 1 >= dg[k].radix
                m.d.comb += nd[k].eq(Mux(carry, Mux(wrap, 0, ds[k] + 1), ds[k]))
                new_off = Mux(carry & ~wrap, o + delta[k], new_off)
                carry = carry & wrap
            m.d.comb += no.eq(new_off)
            return nd, no
        pos = [(digit, off)]
        for x in range(4):
            pos.append(inc(*pos[-1], f"p{x + 1}"))
        m.d.comb += [self.off[x].eq(pos[x][1]) for x in range(4)]
        with m.If(self.restart):
            m.d.sync += [d.eq(0) for d in digit] + [off.eq(0)]
        with m.Elif(self.advance):
            m.d.sync += [d.eq(n) for d, n in zip(digit, pos[4][0])] + [off.eq(pos[4][1])]
        return m
