"""The RNG pipeline of the VEC unit (hw/top_rng.py ``RngPipeline``) alone, in Amaranth's simulator.

Commands enter as the VEC unit hands them over (back to back when the occupancy
allows: ceil(n / L) cycles apart), and every written word must be the golden
``scale · normal(seed, stream, ctr, n)`` image (sim/machine.py's RNG: one FP32
multiply per sample), bit for bit, pass p of a command entering in cycle t written
in cycle t + depth + p, with the zero half-word after an odd count. Also: the
simulator's RNG depth is the pipeline's stage count plus the VEC unit's read and
write cycles.
"""

from __future__ import annotations

import numpy as np

from pinta.golden.rng import normal
from pinta.hw.fp32.microcode import SfuFunc, op_stages, pipeline_depth
from pinta.hw.fp32.misc import VectorOp
from pinta.hw.top_rng import RngPipeline, rng_pipeline_depth
from pinta.sim.timing import DESIGN, vector_depth

LANES = 4


def _f32_bits(x: float) -> int:
    return int(np.array(x, dtype=np.float32).view(np.uint32))


#: (seed, stream, ctr, scale, n, gap): gap = cycles after the previous command (None: its occupancy)
COMMANDS = [
    (0x12345678, 7, 0, 1.0, 9, None),            # odd count, not a multiple of L
    (0xFFFFFFFF, 65535, 2**32 - 8, -0.25, 8, None),  # back to back; counters up to 2**32 - 1
    (0, 0, 1, 3.0e38, 1, None),                  # one sample (odd counter start); overflow to inf
    (0xDEADBEEF, 1, 1000, 1e-39, 6, 5),         # subnormal scale; a gap
]


def _run(commands):
    from amaranth.sim import Simulator

    dut = RngPipeline(LANES)
    starts, t = [], 0
    for k, (*_, n, gap) in enumerate(commands):
        if k:
            t += gap if gap is not None else -(-commands[k - 1][4] // LANES)
        starts.append(t)
    end = starts[-1] + -(-commands[-1][4] // LANES) + dut.depth + 2
    writes = []
    sim = Simulator(dut)
    sim.add_clock(1e-8)

    async def bench(ctx):
        for cyc in range(end):
            if cyc in starts:
                seed, stream, ctr, scale, n, _ = commands[starts.index(cyc)]
                ctx.set(dut.i_valid, 1)
                ctx.set(dut.i_cmd, {"seed": seed, "stream": stream,
                                    "run": {"ctr": ctr, "scale": _f32_bits(scale), "buf": starts.index(cyc) % 4,
                                            "addr": 0x100 * starts.index(cyc), "n": n}})
            else:
                ctx.set(dut.i_valid, 0)
            if ctx.get(dut.w.en):
                writes.append((cyc, ctx.get(dut.w.buf), ctx.get(dut.w.addr), ctx.get(dut.w.data), ctx.get(dut.w.be)))
            await ctx.tick()

    sim.add_testbench(bench)
    sim.run()
    return dut, starts, writes


def test_rng_pipeline_equals_golden():
    dut, starts, writes = _run(COMMANDS)
    W = LANES // 2
    expect = []
    for k, ((seed, stream, ctr, scale, n, _), t) in enumerate(zip(COMMANDS, starts)):
        with np.errstate(over="ignore"):
            z = (np.float32(scale) * normal(seed, stream, ctr, n)).astype(np.float32)
        words = np.concatenate([z, np.zeros(-n % LANES, np.float32)]).view(np.uint32).astype(object)
        for p in range(-(-n // LANES)):
            lanes = words[p * LANES:(p + 1) * LANES]
            data = sum(int(v) << (32 * l) for l, v in enumerate(lanes))
            be = sum(0xFF << (8 * j) for j in range(W) if p * LANES + 2 * j < n)
            expect.append((t + dut.depth + p, k % 4, 0x100 * k + p * W, data, be))
    assert writes == expect


def test_rng_depth_is_derived_from_the_pipeline():
    """keys + Box-Muller pair + scale multiply, stage for stage; the model adds the VEC unit's
    read and write cycles and has no RNG figure of its own."""
    assert rng_pipeline_depth() == (pipeline_depth(SfuFunc.RNG_KEYS) + pipeline_depth(SfuFunc.NORMAL)
                                    + op_stages(VectorOp.MUL))
    dut = RngPipeline(LANES)
    dut._MustUse__silence = True  # only its depth is wanted here
    assert dut.depth == rng_pipeline_depth()
    assert vector_depth("RNG") == rng_pipeline_depth() + DESIGN.vec_sfu_io_cycles
    assert not hasattr(DESIGN, "vec_depth_rng")
