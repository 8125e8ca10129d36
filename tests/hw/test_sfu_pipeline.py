"""The pipelined special functions (hw/top_sfu.py ``SfuPipeline``) alone, in Amaranth's simulator.

Each function's pipeline gets one pass of L lanes per cycle, back to back (the
top's schedule), on corner and random inputs, and must return exactly what
the microcode executor ``microcode.execute`` returns (which the fp32 tests
hold equal to golden), ``depth`` cycles after the pass entered, with its tag.
Also: the depth the simulator uses is the pipeline's stage count, and the
registers kept between stages are the live ones only.
"""

from __future__ import annotations

import numpy as np
import pytest

from pinta.golden import fp32 as g
from pinta.hw.fp32.microcode import N_REGS, PROGRAMS, SfuFunc, execute, op_stages, pipeline_depth
from pinta.hw.fp32.misc import VectorOp
from pinta.hw.fp32.units import FP32Divider
from pinta.hw.top_sfu import SfuPipeline, liveness
from pinta.sim.timing import DESIGN, vector_depth

LANES = 4


def _inputs(func: SfuFunc, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    corners = [0.0, -0.0, 1e-39, -1e-39, 1.4e-45, -3e-42, 1e-30, float(g.TINY_ARGUMENT), -float(g.TINY_ARGUMENT) / 3,
               float(g.TANH_POLY_LIMIT), -np.nextafter(float(g.TANH_POLY_LIMIT), 0), 0.7, -1.0, 2.5,
               float(g.TANH_CLAMP), -np.nextafter(float(g.TANH_CLAMP), 0), 25.0, 1e38, -3e38,
               float(g.SINCOS_MAX_ABS_INPUT), -np.nextafter(float(g.SINCOS_MAX_ABS_INPUT), np.inf), 1.5707964,
               -3.1415927, 4.712389, 12345.678, -30000.5, 1e6, np.inf, -np.inf, np.nan]
    wide = rng.uniform(-1, 1, 98) * 10.0 ** rng.uniform(-6, 5, 98)
    normal = rng.standard_normal(48) * (3.0 if func == SfuFunc.TANH else 20.0)
    x = np.concatenate([corners, wide, normal]).astype(np.float32)
    return np.concatenate([x, np.zeros(-len(x) % LANES, np.float32)])


def _run(func: SfuFunc, x: np.ndarray):
    from amaranth.sim import Simulator

    dut = SfuPipeline(LANES, func, tag_width=16)
    xb = x.view(np.uint32).reshape(-1, LANES)
    passes = len(xb)
    got = {}
    sim = Simulator(dut)
    sim.add_clock(1e-8)

    async def bench(ctx):
        for cyc in range(passes + dut.depth + 2):
            if cyc < passes:
                ctx.set(dut.i_valid, 1)
                ctx.set(dut.i_x, sum(int(w) << (32 * l) for l, w in enumerate(xb[cyc])))
                ctx.set(dut.i_tag, cyc)
            else:
                ctx.set(dut.i_valid, 0)
            # outputs of this cycle (before the edge): the pass that entered depth cycles ago
            if ctx.get(dut.o_valid):
                tag = ctx.get(dut.o_tag)
                r, r2 = ctx.get(dut.o_r), ctx.get(dut.o_r2)
                got[tag] = (cyc, [(r >> (32 * l)) & 0xFFFFFFFF for l in range(LANES)],
                            [(r2 >> (32 * l)) & 0xFFFFFFFF for l in range(LANES)])
            await ctx.tick()

    sim.add_testbench(bench)
    sim.run()
    return dut, got


@pytest.mark.parametrize("func", [SfuFunc.TANH, SfuFunc.SINCOS])
def test_pipeline_equals_microcode(func):
    x = _inputs(func, seed=int(func))
    dut, got = _run(func, x)
    r, r2 = (v.view(np.uint32).reshape(-1, LANES) for v in execute(func, x))
    passes = len(r)
    assert sorted(got) == list(range(passes)), "every pass leaves exactly once"
    bad = []
    for p, (cyc, o, o2) in got.items():
        assert cyc == p + dut.depth, f"pass {p} left in cycle {cyc}, expected {p + dut.depth}"
        for l in range(LANES):
            if (o[l], o2[l]) != (int(r[p, l]), int(r2[p, l])):
                bad.append(f"x={x[p * LANES + l]!r}: rtl 0x{o[l]:08x}/0x{o2[l]:08x}, "
                           f"microcode 0x{int(r[p, l]):08x}/0x{int(r2[p, l]):08x}")
    assert not bad, f"{len(bad)} of {x.size} differ:\n" + "\n".join(bad[:20])
    # and the microcode is golden (the contract the pipeline inherits)
    ref = {SfuFunc.TANH: (g.fp32_tanh,), SfuFunc.SINCOS: (g.fp32_sin, g.fp32_cos)}[func]
    for out, f in zip((r, r2), ref):
        assert np.array_equal(out.reshape(-1), np.asarray(f(x), np.float32).view(np.uint32))


def test_depth_is_derived_from_the_program():
    """The depth is the stage count (one per micro-op; a divide is the unrolled divider),
    and the simulator's VTANH/VSIN/VCOS depth is it plus the VEC unit's read and write cycles."""
    divider = FP32Divider()
    divider._MustUse__silence = True  # only its LATENCY is wanted here
    for func in (SfuFunc.TANH, SfuFunc.SINCOS):
        ops = [o.op for o in PROGRAMS[func].ops]
        n_div = sum(op == VectorOp.DIV for op in ops)
        assert pipeline_depth(func) == len(ops) - n_div + n_div * divider.LATENCY
        assert pipeline_depth(func) == sum(op_stages(op) for op in ops)
    assert vector_depth("VTANH") == pipeline_depth(SfuFunc.TANH) + DESIGN.vec_sfu_io_cycles
    assert vector_depth("VSIN") == vector_depth("VCOS") == pipeline_depth(SfuFunc.SINCOS) + DESIGN.vec_sfu_io_cycles
    assert not hasattr(DESIGN, "vec_depth_sfu")


def test_only_live_registers_are_kept():
    for func in (SfuFunc.TANH, SfuFunc.SINCOS):
        prog = PROGRAMS[func]
        live_in, after = liveness(func)
        assert live_in == {0}
        assert after[-1] == {prog.out, prog.out2}
        # far below the register file at every stage
        assert max(len(s) for s in after) < N_REGS // 3
        for k, o in enumerate(prog.ops[:-1]):
            later = prog.ops[k + 1:]
            for r in after[k]:
                # live: read later before being overwritten, or an output never overwritten
                reads = [j for j, q in enumerate(later) if r in (q.a, q.b, q.c)]
                writes = [j for j, q in enumerate(later) if q.dst == r]
                assert (reads and (not writes or reads[0] <= writes[0])) or \
                    (r in (prog.out, prog.out2) and not writes), (func.name, k, r)
