"""The pipelined divide and square root of the VEC unit (hw/top_divsqrt.py) alone, in Amaranth's simulator.

Each pipeline gets one pass of L lanes per cycle, back to back (the top's
schedule), on the operand generators of the fp32 unit tests (specials,
subnormals, ties, overflow / underflow edges, exact squares), and must return
NumPy's float32 ``divide`` / ``sqrt`` (the golden VDIV / VSQRT) bit for bit,
NaN results as the canonical NaN, ``depth`` cycles after the pass entered,
with its tag. Also: the depth the simulator uses is the pipeline's stage count.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from pinta.hw.fp32.arith import CANONICAL_NAN
from pinta.hw.fp32.microcode import op_stages
from pinta.hw.fp32.misc import VectorOp
from pinta.hw.fp32.units import FP32Divider, FP32Sqrt
from pinta.hw.top_divsqrt import DivSqrtPipeline
from pinta.sim.timing import DESIGN, vector_depth

sys.path.insert(0, str(Path(__file__).parent))  # shared vector generators
from fp32_vectors import operands_for, reference  # noqa: E402

LANES = 4
N = 240


def _run(op: VectorOp, a: np.ndarray, b: np.ndarray):
    from amaranth.sim import Simulator

    dut = DivSqrtPipeline(LANES, op, tag_width=16)
    ab, bb = a.reshape(-1, LANES), b.reshape(-1, LANES)
    passes = len(ab)
    got = {}
    sim = Simulator(dut)
    sim.add_clock(1e-8)

    def word(row):
        return sum(int(w) << (32 * l) for l, w in enumerate(row))

    async def bench(ctx):
        for cyc in range(passes + dut.depth + 2):
            if cyc < passes:
                ctx.set(dut.i_valid, 1)
                ctx.set(dut.i_a, word(ab[cyc]))
                ctx.set(dut.i_b, word(bb[cyc]))
                ctx.set(dut.i_tag, cyc)
            else:
                ctx.set(dut.i_valid, 0)
            if ctx.get(dut.o_valid):  # this cycle's output: the pass that entered depth cycles ago
                r = ctx.get(dut.o_r)
                got[ctx.get(dut.o_tag)] = (cyc, [(r >> (32 * l)) & 0xFFFFFFFF for l in range(LANES)])
            await ctx.tick()

    sim.add_testbench(bench)
    sim.run()
    return dut, got


@pytest.mark.parametrize("op", [VectorOp.DIV, VectorOp.SQRT])
def test_pipeline_equals_numpy(op):
    a, b, c = operands_for(op, np.random.default_rng(77 + op.value), N)
    dut, got = _run(op, a, b)
    want, _ = reference(op, a, b, c)
    want = want.reshape(-1, LANES)
    passes = len(want)
    assert sorted(got) == list(range(passes)), "every pass leaves exactly once"
    bad, nans = [], 0
    for p, (cyc, o) in got.items():
        assert cyc == p + dut.depth, f"pass {p} left in cycle {cyc}, expected {p + dut.depth}"
        for l in range(LANES):
            w = int(want[p, l])
            if np.isnan(np.uint32(w).view(np.float32)):
                nans += 1
                ok = o[l] == CANONICAL_NAN   # the RTL's NaN is always the canonical one
            else:
                ok = o[l] == w
            if not ok:
                i = p * LANES + l
                bad.append(f"a=0x{int(a[i]):08x} b=0x{int(b[i]):08x}: rtl 0x{o[l]:08x}, numpy 0x{w:08x}")
    assert not bad, f"{len(bad)} of {N} differ:\n" + "\n".join(bad[:20])
    assert nans > 0  # the operand mix reaches the invalid cases


def test_depth_is_the_unrolled_iterative_unit():
    """The pipeline has as many stages as the iterative unit has cycles, and the simulator's
    VDIV / VSQRT depth is that plus the VEC unit's read and write cycles."""
    for op, unit in ((VectorOp.DIV, FP32Divider()), (VectorOp.SQRT, FP32Sqrt())):
        pipe = DivSqrtPipeline(LANES, op)
        unit._MustUse__silence = pipe._MustUse__silence = True  # only the depths are wanted here
        assert pipe.depth == op_stages(op) == unit.LATENCY
    assert vector_depth("VDIV") == op_stages(VectorOp.DIV) + DESIGN.vec_sfu_io_cycles
    assert vector_depth("VSQRT") == op_stages(VectorOp.SQRT) + DESIGN.vec_sfu_io_cycles
    assert not hasattr(DESIGN, "vec_depth_divsqrt")
