"""The QNT unit's view address function (hw/top_view.py): the Python reference against
NumPy's reshape/transpose, and ViewSplit / Odometer against the reference."""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.sim import Simulator

from pinta.hw.top_view import Odometer, ViewSplit, odometer, view_split

#: (dims, perm, cols): the training compiler's views (flows/compiler.py) at the tiny test
#: configurations (TT 16 = 2·2·2·2, rank 2: t = 4, 8, 16 rows; M1 = M2 = N1 = N2 = 4, r = 2),
#: with the tile's columns, and a few others.
VIEWS = [
    ((16, 4, 4, 1), (0, 2, 1, 3), 4),    # xq: (t, M1, M2) -> (0, 2, 1)
    ((4, 4, 4, 1), (0, 2, 1, 3), 4),
    ((2, 2, 2, 4), (0, 2, 1, 3), 8),     # TT chain backward (fp32 dL)
    ((4, 2, 2, 2), (0, 2, 1, 3), 4),     # TT chain backward: pair windows {0, 1, 4, 5}
    ((2, 2, 2, 2), (0, 1, 3, 2), 4),     # pair windows, offsets not increasing: {0, 2, 1, 3}
    ((2, 2, 2, 2), (3, 2, 1, 0), 4),     # pair column windows
    ((2, 4, 2, 2), (0, 1, 3, 2), 4),     # radix 2 inside 4: pair windows
    ((2, 3, 2, 2), (0, 3, 1, 2), 6),     # refused: radix 2 inside an odd radix (rows: S1 + S2 > 6)
    ((4, 2, 2, 2), (0, 3, 2, 1), 4),     # pair windows at the limit: S1 + S2 = 6
    ((2, 2, 4, 2), (2, 0, 1, 3), 4),     # refused: pairs on both sides, S1 + S2 > 6
    ((2, 8, 2, 8), (2, 0, 3, 1), 16),    # refused: large strides on both sides
    ((4, 4, 4, 2), (0, 2, 3, 1), 8),     # tq (accumulator source in the compiler)
    ((4, 4, 2, 4), (0, 3, 1, 2), 8),     # dtq (accumulator source in the compiler)
    ((3, 8, 4, 1), (0, 2, 1, 3), 8),
    ((2, 12, 8, 1), (0, 2, 1, 3), 12),   # cols = D1 · D2 · D3 ... (here D2·D3 = 12)
    ((1, 1, 2, 16), (0, 1, 2, 3), 4),    # cols divides D3
    ((5, 8, 1, 1), (1, 0, 2, 3), 5),
    ((1, 3, 4, 8), (0, 3, 2, 1), 12),
    ((1, 1, 1, 1), (0, 1, 2, 3), 1),
]


def _source_index(dims, perm, cols):
    n = int(np.prod(dims))
    return np.arange(n).reshape(dims).transpose(perm).reshape(n // cols, cols)


@pytest.mark.parametrize("dims, perm, cols", VIEWS)
def test_view_split_is_the_view(dims, perm, cols):
    sp = view_split(dims, perm, cols)
    want = _source_index(dims, perm, cols)
    if sp is None:
        return
    rows, cs, col_windows = sp
    a = np.array(odometer(rows, want.shape[0]))
    b = np.array(odometer(cs, cols))
    assert np.array_equal(a[:, None] + b[None, :], want)
    # the windows the QNT unit reads: 4 elements of a block row (column) within 4 words
    m = want if not col_windows else want.T
    for r in range(m.shape[0]):
        for j in range(0, m.shape[1] - 3, 4):
            g = m[r, j:j + 4]
            assert g.min() == g[0] and g.max() // 2 - g[0] // 2 < 4 and len(set(g)) == 4


def test_compiler_views_are_covered():
    """The fp32-source views of the tiny TT training that the RTL reads."""
    assert view_split((16, 4, 4, 1), (0, 2, 1, 3), 4) is not None
    assert view_split((2, 2, 2, 4), (0, 2, 1, 3), 8) is not None
    assert view_split((4, 2, 2, 2), (0, 2, 1, 3), 4) is not None


def test_view_split_and_odometer_in_hardware():
    split = ViewSplit()
    od = Odometer()

    async def bench(ctx):
        for dims, perm, cols in VIEWS:
            ctx.set(split.view.dims, list(dims))
            ctx.set(split.view.perm, sum(p << (2 * k) for k, p in enumerate(perm)))
            ctx.set(split.cols, cols)
            sp = view_split(dims, perm, cols)
            assert ctx.get(split.ok) == (sp is not None), (dims, perm, cols)
            if sp is None:
                continue
            rows, cs, col_windows = sp
            assert ctx.get(split.col_windows) == col_windows
            got_rows = [(d["radix"], d["stride"]) for d in ctx.get(split.rows)]
            got_cols = [(d["radix"], d["stride"]) for d in ctx.get(split.cols_d)]
            assert got_rows == [tuple(x) for x in rows] and got_cols == [tuple(x) for x in cs]
            for digits in (rows, cs):
                n = int(np.prod([r for r, _ in digits]))
                want = odometer(digits, -(-n // 4) * 4)
                ctx.set(od.digits, [{"radix": r, "stride": s} for r, s in digits])
                ctx.set(od.restart, 1)
                await ctx.tick()
                ctx.set(od.restart, 0)
                ctx.set(od.advance, 1)
                for x in range(0, n, 4):
                    got = list(ctx.get(od.off))
                    assert got[:min(4, n - x)] == want[x:x + min(4, n - x)], (digits, x)
                    await ctx.tick()
                ctx.set(od.advance, 0)

    from amaranth.hdl import Module
    top = Module()
    top.submodules.split = split
    top.submodules.od = od
    sim = Simulator(top)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
