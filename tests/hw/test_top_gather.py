"""AccAlign (hw/top_gather.py): 16 accumulators with their own exponents, brought to one
exponent, quantize exactly as the exact values do (golden/smx.py quantize_blocks), for
every element width, with exponents far apart, zeros, and both clamps."""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.sim import Simulator

from pinta.config import load_config
from pinta.golden.smx import quantize_blocks
from pinta.hw.common import acc_exponent_bits
from pinta.hw.top_gather import AccAlign, AccViewRule, acc_view_split
from pinta.hw.top_view import ViewSplit


def _blocks(cfg, rng, count):
    """(acc, exp) blocks: random widths and signs, exponents spread over the accumulator
    exponent range, plus the corner cases (zeros, a lone element, tiny and huge blocks,
    the extreme accumulator values)."""
    a, xw = cfg.accumulator_bits, acc_exponent_bits(cfg)
    emin, emax = -(1 << (xw - 1)), (1 << (xw - 1)) - 1
    out = []
    for k in range(count):
        bits = rng.integers(0, a, 16)
        acc = np.array([int(rng.integers(0, 1 << int(b))) if b else 0 for b in bits], dtype=object)
        acc = np.where(rng.random(16) < 0.5, -acc, acc)
        centre = int(rng.integers(emin + 60, emax - 60))
        spread = [0, 4, 30, 200][k % 4]
        exps = np.clip(centre + rng.integers(-spread, spread + 1, 16), emin, emax)
        if k % 7 == 0:
            acc[rng.random(16) < 0.6] = 0
        out.append((acc, exps))
    top = (1 << (a - 1)) - 1
    out += [
        (np.zeros(16, dtype=object), np.zeros(16, int)),                             # zero block
        (np.array([0] * 15 + [-1], dtype=object), np.full(16, emin)),                # one tiny element
        (np.array([top, -(1 << (a - 1))] * 8, dtype=object), np.full(16, emax)),    # huge: upper clamp
        (np.array([top, 1, -3, 1 << 20] * 4, dtype=object), np.array([emax, emin] * 8)),  # both ends
        (np.array([5, -7, 1, 3] * 4, dtype=object), np.full(16, cfg.exponent_min - 10)),  # below E_min
        (np.array([1 << 40, -(1 << 30), 3, 1] * 4, dtype=object), np.array([cfg.exponent_max - 30] * 8 + [-20] * 8)),
    ]
    return out


@pytest.mark.parametrize("config", ["tiny", "default"])
def test_acc_align_quantizes_like_the_exact_values(config):
    cfg = load_config(config)
    dut = AccAlign(cfg)
    blocks = _blocks(cfg, np.random.default_rng(5), 120)
    checked = {"upper": 0, "lower": 0, "mid": 0}

    async def bench(ctx):
        for acc, exps in blocks:
            ctx.set(dut.i.values, [int(x) for x in acc])
            ctx.set(dut.i.exps, [int(e) for e in exps])
            vals = np.array([int(x) for x in ctx.get(dut.values)], dtype=np.float64)
            ec = int(ctx.get(dut.exponent))
            checked["upper" if ec == cfg.exponent_max - 1 else "lower" if ec == cfg.exponent_min - 1 else "mid"] += 1
            exact = np.array([float(x) * 2.0 ** int(e) for x, e in zip(acc, exps)])  # exact in float64
            for b in cfg.element_bits:
                want = quantize_blocks(exact.reshape(1, 4, 1, 4), b, cfg)
                got = quantize_blocks((vals * 2.0 ** ec).reshape(1, 4, 1, 4), b, cfg)
                assert np.array_equal(want[0], got[0]) and np.array_equal(want[1], got[1]), (acc, exps, b)

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()
    assert all(v > 0 for v in checked.values()), checked   # every clamp case was exercised


#: (dims, perm, cols, src_cols): the compiler's dtq and tq views at the tiny shapes, and
#: views that break each condition of acc_view_split
ACC_VIEWS = [
    ((4, 4, 2, 4), (0, 3, 1, 2), 8, 8),    # dtq, t = 4: accepted
    ((2, 4, 2, 4), (0, 3, 1, 2), 8, 8),    # dtq, t = 2: accepted
    ((4, 4, 4, 2), (0, 2, 3, 1), 8, 8),    # tq: block rows at word stride 4, refused
    ((4, 4, 2, 4), (0, 3, 1, 2), 8, 16),   # 4 records per block row: refused
    ((8, 4, 1, 4), (0, 3, 1, 2), 4, 4),    # 4-column source, column windows of 4 words
    ((2, 8, 2, 4), (0, 3, 1, 2), 16, 8),   # refused: the rule bounds all columns (60 + 4 > 32), a sufficient condition
    ((4, 4, 4, 2), (0, 3, 1, 2), 4, 8),
    ((16, 8, 1, 1), (0, 1, 2, 3), 8, 8),   # identity as a view: rows not (4, 1)
    ((4, 2, 4, 4), (0, 1, 3, 2), 8, 8),
]


def _acc_source_ok(dims, perm, cols, src_cols):
    """NumPy check of the rule's promise: every output block column is 4 consecutive words
    of one record, and all of a block's records share an exponent word."""
    n = int(np.prod(dims))
    src = np.arange(n).reshape(dims).transpose(perm).reshape(n // cols, cols)
    r, c = np.divmod(src, src_cols)
    rec, word = (r // 4) * ((src_cols + 3) // 4) + c // 4, (r % 4) * 4 + c % 4
    for bi in range(0, src.shape[0], 4):
        for bj in range(0, cols, 4):
            rb, wb = rec[bi:bi + 4, bj:bj + 4], word[bi:bi + 4, bj:bj + 4]
            if len(set((rb // 2).ravel())) != 1:
                return False
            for j in range(rb.shape[1]):
                if len(set(rb[:, j])) != 1 or list(wb[:, j]) != list(range(wb[0, j], wb[0, j] + rb.shape[0])):
                    return False
    return True


@pytest.mark.parametrize("dims, perm, cols, src_cols", ACC_VIEWS)
def test_acc_view_split_reads_what_it_says(dims, perm, cols, src_cols):
    if acc_view_split(dims, perm, cols, src_cols) is not None:
        assert _acc_source_ok(dims, perm, cols, src_cols)


def test_acc_view_rule_in_hardware():
    from amaranth.hdl import Module

    split, rule = ViewSplit(), AccViewRule()
    top = Module()
    top.submodules.split, top.submodules.rule = split, rule
    top.d.comb += [rule.split_ok.eq(split.ok), rule.col_windows.eq(split.col_windows),
                   rule.rows.eq(split.rows), rule.cols_d.eq(split.cols_d)]
    seen = set()

    async def bench(ctx):
        for dims, perm, cols, src_cols in ACC_VIEWS:
            ctx.set(split.view.dims, list(dims))
            ctx.set(split.view.perm, sum(p << (2 * k) for k, p in enumerate(perm)))
            ctx.set(split.cols, cols)
            ctx.set(rule.src_cols, src_cols)
            want = acc_view_split(dims, perm, cols, src_cols) is not None
            assert ctx.get(rule.ok) == want, (dims, perm, cols, src_cols)
            seen.add(want)

    sim = Simulator(top)
    sim.add_testbench(bench)
    sim.run()
    assert seen == {True, False}
