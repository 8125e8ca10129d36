"""The reduction engine (hw/top_reduce.py) alone, in Amaranth's simulator, over many shapes.

For each reduction (VSUM both axes, VRED over merged axes and over a unit axis) the
engine is started once with the command and a buffer model behind its ports (read data
one cycle after the request, as hw/buffers.py). Checked:

* every output bit equals ``golden.reduce.tree_sum`` (NaN lanes: the canonical NaN where
  NumPy keeps another one, as in tests/hw/top_cases.py ``same_word``), and the zero
  half-word after an odd output count is written;
* the last write is in cycle ``reduce_ops + 3`` after the issue (the op count the cycle
  model charges, sim/timing.py), and no op reads after ``reduce_ops`` cycles: the engine
  does what the formula says, shape by shape, independently of the top's controller.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from amaranth.sim import Simulator

from pinta.config import load_config
from pinta.golden.reduce import tree_sum
from pinta.hw.controller import DESC, unit_command_layout
from pinta.hw.top_reduce import ReduceEngine, reduce_dims, reduce_ops
from pinta.sim.isa import Instr, encode

sys.path.insert(0, str(Path(__file__).parent))
from top_cases import same_word  # noqa: E402

SRC, DST = 3, 1000  # word addresses of the source and the result (odd: alignment exercised)

#: (rows, cols, mnemonic, fields): both modes, lengths 1, < L, = L, > L, not powers of two,
#: several outer indices and column groups, odd starts of rows and of outputs.
SHAPES = [
    (7, 5, "VSUM", {"axis": 0}), (7, 5, "VSUM", {"axis": 1}), (1, 6, "VSUM", {"axis": 0}),
    (1, 6, "VSUM", {"axis": 1}), (9, 1, "VSUM", {"axis": 0}), (9, 1, "VSUM", {"axis": 1}),
    (3, 17, "VSUM", {"axis": 1}), (17, 3, "VSUM", {"axis": 0}), (4, 4, "VSUM", {"axis": 1}),
    (2, 9, "VSUM", {"axis": 0}), (5, 33, "VSUM", {"axis": 1}), (33, 2, "VSUM", {"axis": 0}),
    (6, 7, "VRED", {"view": 0, "axis": 0, "span": 1}), (6, 7, "VRED", {"view": 0, "axis": 1, "span": 2}),
    (3, 5, "VRED", {"view": 0, "axis": 2, "span": 0}),
]


def _values(rng, n):
    x = (rng.standard_normal(n) * 10.0 ** rng.uniform(-6, 6, n)).astype(np.float32)
    special = np.array([-0.0, 0.0, 1e-45, -1e-39, np.inf, -np.inf, np.nan, 3e38, -3e38], np.float32)
    k = rng.integers(0, n, size=min(n, 4))
    x[k] = rng.choice(special, size=len(k))
    if n > 6:
        x[: n // 2] = -0.0 if rng.random() < 0.3 else x[: n // 2]
    return x


def _golden(x, mnemonic, f):
    if mnemonic == "VSUM":
        return tree_sum(x, axis=f["axis"]).reshape(-1)
    lo, hi = f["axis"], f["axis"] + f["span"] + 1
    p = x.reshape(x.shape + (1, 1))
    merged = p.reshape(p.shape[:lo] + (-1,) + p.shape[hi:])
    return np.ascontiguousarray(tree_sum(merged, axis=lo)).reshape(-1)


def _desc(buf, addr, rows, cols):
    return {"buf": buf, "fmt": 0, "addr": addr, "rows": rows, "cols": cols, "rb": 0, "cb": 0, "nb": 0, "words": 0}


@pytest.mark.parametrize("config", ["tiny", "default"])
def test_reduce_engine_shapes(config):
    cfg = load_config(config)
    L = cfg.vector_lanes
    dut = ReduceEngine(cfg)
    rng = np.random.default_rng(3)
    runs = []
    for rows, cols, mnemonic, f in SHAPES:
        x = _values(rng, rows * cols).reshape(rows, cols)
        want = _golden(x, mnemonic, f)
        lo = f["axis"]
        hi = lo + 1 + f.get("span", 0)
        ops = reduce_ops(*reduce_dims((rows, cols, 1, 1), lo, hi), L)
        word = encode(Instr.make(mnemonic, dst=0, a=1, **f))
        cmd = unit_command_layout().const({"word": word, "d": [_desc(2, DST, len(want), 1), _desc(1, SRC, rows, cols),
                                                                 _desc(0, 0, 0, 0), _desc(0, 0, 0, 0)]})
        runs.append((x, want, ops, cmd))
    results = []

    async def bench(ctx):
        W = L // 2 + 1
        for x, want, ops, cmd in runs:
            flat = np.concatenate([x.reshape(-1), np.zeros(x.size % 2, np.float32)])
            mem = {SRC + k: int(v) for k, v in enumerate(flat.view("<u8"))}
            out = {}
            last_write = last_read = None
            ctx.set(dut.cmd, cmd)
            ctx.set(dut.start, 1)
            await ctx.tick()
            ctx.set(dut.start, 0)
            pending = {}
            for c in range(1, ops + 8):  # c: cycles after the issue cycle
                for name, port in (("a", dut.r_a), ("b", dut.r_b)):
                    if name in pending:
                        addr = pending.pop(name)
                        ctx.set(port.data, sum(mem.get(addr + j, 0) << (64 * j) for j in range(W)))
                reads = {}
                for name, port in (("a", dut.r_a), ("b", dut.r_b)):
                    if ctx.get(port.en):
                        assert ctx.get(port.buf) == 1
                        reads[name] = ctx.get(port.addr)
                        last_read = c
                if ctx.get(dut.w.en):
                    assert ctx.get(dut.w.buf) == 2
                    a, d, be = ctx.get(dut.w.addr), ctx.get(dut.w.data), ctx.get(dut.w.be)
                    for h in range(2 * W):
                        if (be >> (4 * h)) & 0xF:
                            out[2 * (a - DST) + h] = (d >> (32 * h)) & 0xFFFFFFFF
                    last_write = c
                await ctx.tick()
                pending = reads
            results.append((out, last_read, last_write))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    bad = []
    for (rows, cols, mnemonic, f), (x, want, ops, _), (out, last_read, last_write) in zip(SHAPES, runs, results):
        tag = f"{mnemonic} {rows}x{cols} {f}"
        n = len(want)
        bits = want.view("<u4")
        expect = {k: int(bits[k]) for k in range(n)}
        if n % 2:
            expect[n] = 0  # the zero half-word after an odd count
        if set(out) != set(expect):
            bad.append(f"{tag}: wrote halves {sorted(out)}, expected {sorted(expect)}")
        elif not all(same_word(out[k], expect[k], True) for k in expect):
            bad.append(f"{tag}: values {[hex(out[k]) for k in sorted(out)]} != {[hex(expect[k]) for k in sorted(expect)]}")
        if last_write != ops + 3 or last_read is None or last_read > ops:
            bad.append(f"{tag}: last read in issue + {last_read}, last write in issue + {last_write}; "
                       f"reduce_ops = {ops}: expected ≤ {ops} and {ops + 3}")
    assert not bad, "\n".join(bad)


def test_reduce_ops_in_hardware_equals_the_model():
    """``reduce_ops`` built on Amaranth values (the controller's decode, ``HwOps``) gives the
    integer function's count (the cycle model's) for VSUM / VRED-v0 shapes up to the 16-bit
    descriptor sizes: the one formula cannot lose bits or signs in its hardware form."""
    from amaranth.hdl import Module, Signal

    from pinta.hw.top_reduce import HwOps

    m = Module()
    rows, cols, lo, hi = Signal(16), Signal(16), Signal(3), Signal(4)
    out = Signal(32)
    hw = HwOps(m)
    m.d.comb += out.eq(reduce_ops(*reduce_dims((rows, cols, 1, 1), lo, hi, hw), 16, hw))
    rng = np.random.default_rng(5)
    shapes = [(r, c) for r in (1, 2, 3, 16, 17, 255, 65535) for c in (1, 2, 15, 16, 33, 1000, 65535)]
    shapes += [tuple(int(v) for v in rng.integers(1, 4096, 2)) for _ in range(40)]
    axes = [(0, 1), (1, 2), (0, 2), (2, 3), (1, 4)]
    got = []

    async def bench(ctx):
        for r, c in shapes:
            for a, b in axes:
                ctx.set(rows, r), ctx.set(cols, c), ctx.set(lo, a), ctx.set(hi, b)
                got.append(ctx.get(out))

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
    want = [reduce_ops(*reduce_dims((r, c, 1, 1), a, b), 16) % (1 << 32) for r, c in shapes for a, b in axes]
    bad = [(s, x, y) for s, x, y in zip([(r, c, a, b) for r, c in shapes for a, b in axes], got, want) if x != y]
    assert not bad, bad[:5]
