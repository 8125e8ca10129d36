"""DiffQuant unit: the packed Stein program vs golden (NumPy), the RTL in the
Amaranth simulator (a few points), and the RTL in Verilator + cocotb."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from amaranth.sim import Simulator

from pinta.config import load_config
from pinta.golden.stein_sums import stein_estimates
from pinta.hw.diffquant_unit import DEFAULT_STEIN_DIMS, DEFAULT_STEIN_PAIRS, SteinEngine
from pinta.hw.stein_program import run_program, stein_program

sys.path.insert(0, str(Path(__file__).parent))
from diffquant_vectors import stein_points  # noqa: E402


def _bits(a):
    return np.asarray(a, np.float32).reshape(-1).view(np.uint32)


@pytest.mark.parametrize("k,d,lanes", [(8, 4, 4), (5, 3, 4), (1, 1, 4), (16, 20, 16), (3, 2, 1), (7, 20, 8)])
def test_stein_program_matches_golden(k, d, lanes):
    """Any K, D, lane count: the packed, register-allocated program gives golden's bits."""
    prog = stein_program(k, d, lanes)
    pts = stein_points(np.random.default_rng(k * 1000 + d * 10 + lanes), 200, k, d)
    bad = 0
    for dp, dm, delta, sigma in pts:
        g, lap, val = run_program(prog, dp, dm, delta, sigma)
        G, L, V = stein_estimates(dp, dm, delta, sigma)
        bad += int((_bits(g) != _bits(G)).sum()) + int(_bits(lap)[0] != _bits(L)[0]) + int(_bits(val)[0] != _bits(V)[0])
    assert bad == 0
    assert all(bin(ins.mask).count("1") <= lanes for ins in prog.instrs)


def test_stein_engine_pysim():
    """RTL in the Amaranth simulator: 2 points, bit-exact, at the documented latency."""
    cfg = load_config("tiny")
    k, d = DEFAULT_STEIN_PAIRS, DEFAULT_STEIN_DIMS
    eng = SteinEngine(cfg, k, d)
    pts = stein_points(np.random.default_rng(5), 3, k, d)[:3]
    got, lat = [], []

    async def bench(ctx):
        for dp, dm, delta, sigma in pts:
            for i in range(k):
                ctx.set(eng.i.payload.du_plus[i], int(_bits(dp)[i]))
                ctx.set(eng.i.payload.du_minus[i], int(_bits(dm)[i]))
            for i in range(k * d):
                ctx.set(eng.i.payload.delta[i], int(_bits(delta)[i]))
            ctx.set(eng.i.payload.sigma, int(_bits(sigma)[0]))
            ctx.set(eng.i.valid, 1)
            await ctx.tick().until(eng.i.ready)
            ctx.set(eng.i.valid, 0)
            ctx.set(eng.o.ready, 1)
            cycles = 1
            while not ctx.get(eng.o.valid):
                await ctx.tick()
                cycles += 1
            got.append([ctx.get(eng.o.payload.gradient[j]) for j in range(d)] +
                       [ctx.get(eng.o.payload.laplacian), ctx.get(eng.o.payload.value)])
            lat.append(cycles)
            await ctx.tick()
            ctx.set(eng.o.ready, 0)

    sim = Simulator(eng)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    for (dp, dm, delta, sigma), have in zip(pts, got):
        G, L, V = stein_estimates(dp, dm, delta, sigma)
        assert have == [int(v) for v in np.concatenate([_bits(G), _bits(L), _bits(V)])]
    assert set(lat) == {eng.latency}


def _run_diffquant(rtl_builds, bench_dir, cfg, blocks_per_width, points):
    model = rtl_builds.get(cfg, "diffquant_unit")
    tests, failed, xml = model.run("cocotb_diffquant_unit", bench_dir,
                                   env={"PINTA_DQ_BLOCKS": str(blocks_per_width), "PINTA_DQ_POINTS": str(points),
                                        "PINTA_STEIN_K": str(DEFAULT_STEIN_PAIRS),
                                        "PINTA_STEIN_D": str(DEFAULT_STEIN_DIMS)})
    assert tests == 2, f"expected 2 cocotb tests, ran {tests} ({xml})"
    assert failed == 0, f"{failed} cocotb test(s) failed; see {xml}"


def test_diffquant_rtl_bit_exact(rtl_builds, bench_dir):
    """Verilator + cocotb: 334 random block pairs per width (1,002 pairs,
    2,004 blocks) + corners through the pipelined quantize path; 1,000
    random Stein points; random valid/ready on all four streams."""
    _run_diffquant(rtl_builds, bench_dir, load_config("tiny"), 334, 1000)


@pytest.mark.slow
def test_diffquant_rtl_default_config(rtl_builds, bench_dir):
    """The default configuration (16 vector lanes), larger sets."""
    _run_diffquant(rtl_builds, bench_dir, load_config("default"), 2000, 3000)


def test_quantize_pair_pysim_backpressure():
    """Quantize path in the Amaranth simulator: random (base, diff) block pairs
    at every width, random valid gaps and ready back-pressure; both blocks
    equal golden diffquant_quantize and the output order is the input order."""
    import random

    from pinta.golden.diffquant import diffquant_quantize
    from pinta.hw.diffquant_unit import DiffQuantQuantizer

    cfg = load_config("tiny")
    dq = DiffQuantQuantizer(cfg)
    rng = np.random.default_rng(11)
    items = []
    for t in range(36):
        tops = rng.integers(1, cfg.accumulator_bits, 2)
        bv = rng.integers(-(1 << int(tops[0])) + 1, 1 << int(tops[0]), 16)
        dv = rng.integers(-(1 << int(tops[1])) + 1, 1 << int(tops[1]), 16)
        if t % 6 == 0:
            dv[:] = 0
        items.append((bv, int(rng.integers(-40, 10)), dv, int(rng.integers(-60, 0)),
                      cfg.element_bits[t % len(cfg.element_bits)]))
    got = []
    prng = random.Random(3)

    async def producer(ctx):
        for bv, be, dv, de, bits in items:
            while prng.random() < 0.3:
                await ctx.tick()
            for i in range(16):
                ctx.set(dq.i.payload.base_values[i], int(bv[i]))
                ctx.set(dq.i.payload.diff_values[i], int(dv[i]))
            ctx.set(dq.i.payload.base_exponent, be)
            ctx.set(dq.i.payload.diff_exponent, de)
            ctx.set(dq.i.payload.width, bits)
            ctx.set(dq.i.valid, 1)
            await ctx.tick().until(dq.i.ready)
            ctx.set(dq.i.valid, 0)

    async def consumer(ctx):
        while len(got) < len(items):
            ready = prng.random() < 0.6
            ctx.set(dq.o.ready, ready)
            _, _, valid, *payload = await ctx.tick().sample(
                dq.o.valid, dq.o.payload.base_codes, dq.o.payload.base_exponent,
                dq.o.payload.diff_codes, dq.o.payload.diff_exponent)
            if valid and ready:
                got.append(payload)

    sim = Simulator(dq)
    sim.add_clock(1e-6)
    sim.add_testbench(producer)
    sim.add_testbench(consumer)
    sim.run()
    assert len(got) == len(items)
    for (bv, be, dv, de, bits), (bc, bexp, dc, dexp) in zip(items, got):
        qb, qd = diffquant_quantize(np.ldexp(bv.astype(np.float64), be).reshape(4, 4),
                                    np.ldexp(dv.astype(np.float64), de).reshape(4, 4), bits, cfg)
        assert [int(c) for c in bc] == [int(c) for c in qb.codes.reshape(-1)]
        assert int(bexp) == int(qb.exponents[0, 0])
        assert [int(c) for c in dc] == [int(c) for c in qd.codes.reshape(-1)]
        assert int(dexp) == int(qd.exponents[0, 0])
