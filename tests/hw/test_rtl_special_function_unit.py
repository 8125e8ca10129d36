"""Special-function unit: microcode vs golden (NumPy, large sets), RTL in the
Amaranth simulator (a few vectors, fast), RTL in Verilator + cocotb (the
bit-exact random + corner sets, and every primitive op through OP mode)."""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.sim import Simulator

from pinta.config import load_config
from pinta.golden import fp32 as g
from pinta.hw.fp32 import VectorOp
from pinta.hw.fp32.microcode import PROGRAMS, SfuFunc, execute
from pinta.hw.special_function_unit import Func, SpecialFunctionUnit

GOLDEN = {
    SfuFunc.EXP: lambda x: (g.fp32_exp(x), None),
    SfuFunc.LOG: lambda x: (g.fp32_log(x), None),
    SfuFunc.SINCOS: lambda x: g.fp32_sincos(x),
    SfuFunc.TANH: lambda x: (g.fp32_tanh(x), None),
    SfuFunc.TANH_GRAD: lambda x: (g.fp32_tanh_grad_from_output(x), None),
}


def corner_inputs() -> np.ndarray:
    """Corners named by docs/vector-numerics.md §8, with float32 neighbours."""
    base = np.array([0.0, 2.0**-149, 2.0**-126, 2.0**-12, 0.5625, 10.0, 2.0**15, 1.0, np.pi / 4, np.pi / 2,
                     np.pi, 3 * np.pi / 2, 2 * np.pi, 88.0, 89.0, 104.0, 87.3, 0.34657359, 2.0**22, 3e38],
                    dtype=np.float32)
    bits = base.view(np.uint32)
    near = np.concatenate([bits - 1, bits, bits + 1]).view(np.float32)
    near = np.concatenate([near, -near])
    special = np.array([np.inf, -np.inf, np.nan], dtype=np.float32)
    payload_nan = np.array([0x7F800001, 0xFFC00001, 0x7FFFFFFF], dtype=np.uint32).view(np.float32)
    # Ties of round_to_int: x * 2/pi and x * log2(e) landing near k + 1/2.
    ties = np.array([(k + 0.5) / (2 / np.pi) for k in range(-8, 8)] + [(k + 0.5) * np.log(2) for k in range(-8, 8)],
                    dtype=np.float32)
    return np.concatenate([near, special, payload_nan, ties]).astype(np.float32)


def random_inputs(rng: np.random.Generator, n: int, func: SfuFunc) -> np.ndarray:
    """Mixture: uniform over each function's interesting range, log-spaced
    magnitudes, and raw random bit patterns (NaN, inf, subnormals)."""
    span = {SfuFunc.EXP: 110.0, SfuFunc.LOG: 1e3, SfuFunc.SINCOS: 2.0**15, SfuFunc.TANH: 12.0,
            SfuFunc.TANH_GRAD: 1.5}[func]
    k = n // 4
    uni = rng.uniform(-span, span, k)
    logm = np.exp2(rng.uniform(-150, 20 if func != SfuFunc.LOG else 128, k)) * rng.choice([-1, 1], k)
    bits = rng.integers(0, 1 << 32, k, dtype=np.uint64).astype(np.uint32).view(np.float32)
    small = rng.uniform(-1, 1, n - 3 * k)
    with np.errstate(over="ignore"):
        return np.concatenate([uni.astype(np.float32), logm.astype(np.float32), bits, small.astype(np.float32)])


def _same_bits(a, b) -> np.ndarray:
    return np.asarray(a, np.float32).view(np.uint32) == np.asarray(b, np.float32).view(np.uint32)


@pytest.mark.parametrize("func", list(GOLDEN), ids=lambda f: f.name)
def test_microcode_matches_golden(func):
    """The micro-programs, run op by op in NumPy, give golden's bits (200k inputs + corners)."""
    rng = np.random.default_rng(77 + func.value)
    x = np.concatenate([random_inputs(rng, 200_000, func), corner_inputs()])
    r, r2 = execute(func, x)
    want, want2 = GOLDEN[func](x)
    assert int((~_same_bits(r, want)).sum()) == 0
    if want2 is not None:
        assert int((~_same_bits(r2, want2)).sum()) == 0


def test_microcode_rng_matches_golden():
    """RNG_KEYS, UNIFORM and NORMAL micro-programs give golden/rng.py's bits."""
    from pinta.golden import rng as R

    rng = np.random.default_rng(9)
    checked = 0
    for _ in range(40):
        seed, stream = (int(v) for v in rng.integers(0, 2**32, 2))
        k1, k2 = execute(SfuFunc.RNG_KEYS, np.array([seed], np.uint32), np.array([stream], np.uint32))
        want_k1, want_k2 = R.stream_keys(seed, stream)
        assert (k1.view(np.uint32)[0], k2.view(np.uint32)[0]) == (want_k1, want_k2)
        cs = rng.integers(0, 2**32, 2000, dtype=np.uint64).astype(np.uint32)
        cs[:3] = [0, 2**32 - 1, 2**32 - 2]
        w, u = execute(SfuFunc.UNIFORM, cs, want_k1, want_k2)
        assert (w.view(np.uint32) == R.uniform_u32(seed, stream, cs)).all()
        assert (u.view(np.uint32) == R.uniform01(seed, stream, cs).view(np.uint32)).all()
        c0 = int(rng.integers(0, 2**31 - 1000)) * 2
        want = R.normal(seed, stream, c0, 400)
        a, b = execute(SfuFunc.NORMAL, (np.arange(200, dtype=np.uint64) * 2 + c0).astype(np.uint32), want_k1, want_k2)
        got = np.empty(400, np.float32)
        got[0::2], got[1::2] = a, b
        assert (got.view(np.uint32) == want.view(np.uint32)).all()
        checked += 1
    assert checked == 40


def test_microcode_uses_only_listed_ops():
    """Op counts of the programs match docs/vector-numerics.md §8 for mul/add/div."""
    counts = {f: {op: sum(o.op == op for o in p.ops) for op in (VectorOp.MUL, VectorOp.DIV)}
              for f, p in PROGRAMS.items()}
    assert counts[SfuFunc.EXP][VectorOp.MUL] == 11
    assert counts[SfuFunc.LOG][VectorOp.MUL] == 11 and counts[SfuFunc.LOG][VectorOp.DIV] == 1
    assert counts[SfuFunc.SINCOS][VectorOp.MUL] == 15
    assert counts[SfuFunc.TANH_GRAD][VectorOp.MUL] == 1


def test_sfu_pysim_each_function():
    """RTL in the Amaranth simulator: one vector per function, bit-exact, at the documented latency."""
    cfg = load_config("tiny")
    sfu = SpecialFunctionUnit(cfg)
    lanes = sfu.lanes
    x = np.array([0.3, -2.5, 1e-30, np.nan, 11.0, -0.0, 100.0, 0.7], dtype=np.float32)[:lanes]
    jobs = [(f, x) for f in GOLDEN] + [(SfuFunc.OP, x)]
    got, lat = [], []

    async def bench(ctx):
        for func, v in jobs:
            ctx.set(sfu.i.payload.func, Func(func.value))
            ctx.set(sfu.i.payload.op, VectorOp.MUL)
            for lane in range(lanes):
                ctx.set(sfu.i.payload.a[lane], int(v.view(np.uint32)[lane]))
                ctx.set(sfu.i.payload.b[lane], int(v.view(np.uint32)[lane]))
            ctx.set(sfu.i.valid, 1)
            await ctx.tick().until(sfu.i.ready)
            ctx.set(sfu.i.valid, 0)
            ctx.set(sfu.o.ready, 1)
            cycles = 1
            while not ctx.get(sfu.o.valid):
                await ctx.tick()
                cycles += 1
            got.append(([ctx.get(sfu.o.payload.r[k]) for k in range(lanes)],
                        [ctx.get(sfu.o.payload.r2[k]) for k in range(lanes)]))
            lat.append(cycles)
            await ctx.tick()
            ctx.set(sfu.o.ready, 0)

    sim = Simulator(sfu)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    for (func, v), (r, r2), cycles in zip(jobs, got, lat):
        if func == SfuFunc.OP:
            with np.errstate(all="ignore"):
                want, want2 = v * v, v * v
        else:
            want, want2 = GOLDEN[func](v)
            want2 = want if want2 is None else want2
        r = np.array(r, np.uint32).view(np.float32)
        r2 = np.array(r2, np.uint32).view(np.float32)
        same = lambda a, b: (np.isnan(a) & np.isnan(b)) | _same_bits(a, b)  # noqa: E731
        assert same(r, want).all() and same(r2, want2).all(), (func, r, want)
        assert cycles == sfu.latency(func, VectorOp.MUL), (func, cycles, sfu.latency(func, VectorOp.MUL))


def test_sfu_rtl_bit_exact(rtl_builds, bench_dir):
    """Verilator + cocotb: 2000 random inputs per function + corners; 10,000
    operands per float primitive op (1000 per integer helper) through OP mode;
    RNG keys, 1000 uniform words and 1000 normals per stream."""
    from pinta.hw.vector_blocks import register

    register()
    model = rtl_builds.get(load_config("tiny"), "special_function_unit")
    tests, failed, xml = model.run("cocotb_special_function_unit", bench_dir,
                                   env={"PINTA_SFU_PER_FUNC": "2000", "PINTA_FP32_PER_OP": "10000",
                                        "PINTA_INT_PER_OP": "1000", "PINTA_RNG_WORDS": "1000"})
    assert tests == 3, f"expected 3 cocotb tests, ran {tests} ({xml})"
    assert failed == 0, f"{failed} cocotb test(s) failed; see {xml}"
