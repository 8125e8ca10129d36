"""Amaranth-simulator checks of the binary32 lanes (fast; the Verilator
bench test_rtl_fp32_vector_unit.py runs the large random sets)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from amaranth.sim import Simulator

from pinta.config import load_config
from pinta.hw.fp32 import VectorOp
from pinta.hw.vector_unit import VectorUnit

sys.path.insert(0, str(Path(__file__).parent))  # shared vector generators
from fp32_vectors import mismatches, operands_for  # noqa: E402

N_PER_OP = 48


def run_ops(unit: VectorUnit, jobs):
    """Run [(op, a[lanes], b, c)] through ``unit``; return results and cycle latencies."""
    results, latencies = [], []

    async def bench(ctx):
        for op, a, b, c in jobs:
            ctx.set(unit.i.payload.op, op)
            for lane in range(unit.lanes):
                ctx.set(unit.i.payload.a[lane], int(a[lane]))
                ctx.set(unit.i.payload.b[lane], int(b[lane]))
                ctx.set(unit.i.payload.c[lane], int(c[lane]))
            ctx.set(unit.i.valid, 1)
            await ctx.tick().until(unit.i.ready)
            ctx.set(unit.i.valid, 0)
            ctx.set(unit.o.ready, 1)
            cycles = 1
            while not ctx.get(unit.o.valid):
                await ctx.tick()
                cycles += 1
            results.append([ctx.get(unit.o.payload.r[lane]) for lane in range(unit.lanes)])
            latencies.append(cycles)
            await ctx.tick()
            ctx.set(unit.o.ready, 0)

    sim = Simulator(unit)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return results, latencies


def test_every_vector_op_pysim():
    """Every VectorOp on 2 lanes, N_PER_OP operands each, one simulation;
    bit-exact with NumPy and at the documented latency."""
    cfg = load_config("tiny")
    unit = VectorUnit(cfg, lanes=2)
    rng = np.random.default_rng(1000)
    jobs, refs = [], []
    for op in VectorOp:
        a, b, c = operands_for(op, rng, N_PER_OP)
        refs.append((op, a, b, c))
        jobs += [(op, a[i:i + 2], b[i:i + 2], c[i:i + 2]) for i in range(0, N_PER_OP, 2)]
    res, lat = run_ops(unit, jobs)
    per_op = N_PER_OP // 2
    checked = 0
    for k, (op, a, b, c) in enumerate(refs):
        got = np.array(res[k * per_op:(k + 1) * per_op], dtype=np.uint64).reshape(-1)
        bad, want = mismatches(op, a, b, c, got)
        assert len(bad) == 0, (op, [(hex(a[i]), hex(b[i]), hex(int(got[i])), hex(want[i])) for i in bad[:8]])
        assert set(lat[k * per_op:(k + 1) * per_op]) == {unit.latency(op)}, op
        checked += len(got)
    assert checked == N_PER_OP * len(VectorOp)


# Lint of the vector-side blocks: tests/hw/test_flow.py (test_cli_verilog_output_lint_clean).
