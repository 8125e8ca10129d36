"""Fast Amaranth-simulator tests of the RTL building blocks (no Verilator)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from amaranth.sim import Simulator

from pinta.config import ConfigError, load_config
from pinta.golden.smx import SMXTensor, smx_matmul, smx_quantize
from pinta.hw.common import Precision, mode_operand_bits, pack, supported_modes, unpack
from pinta.hw.mac_array import MacArray, grid, operand_layout, result_layout
from pinta.hw.multiplier import ScalableMultiplier
from pinta.hw.smx_quantizer import SMXQuantizer, quantizer_input_layout


def _run(dut, bench, clocked=True):
    sim = Simulator(dut)
    if clocked:
        sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


def _nibbles(values):
    return sum((v & 0xF) << (4 * k) for k, v in enumerate(values))


def test_multiplier_int8_exhaustive():
    """Fused mode: every signed 8-bit pair gives the exact product."""
    dut = ScalableMultiplier()
    bad = []

    async def bench(ctx):
        ctx.set(dut.split, 0)
        for x in range(-128, 128):
            for y in range(-128, 128):
                ctx.set(dut.x, x & 0xFF)
                ctx.set(dut.y, y & 0xFF)
                if ctx.get(dut.p) != x * y:
                    bad.append((x, y, ctx.get(dut.p)))

    _run(dut, bench, clocked=False)
    assert not bad, f"{len(bad)} wrong INT8 products, e.g. {bad[:3]}"


def test_multiplier_int12_split_and_int4():
    """INT12 = high byte (signed) · 16 + low nibble (unsigned); INT4 dot products."""
    dut = ScalableMultiplier()
    rng = np.random.default_rng(0)
    bad = []

    async def bench(ctx):
        for a, y in zip(rng.integers(-2048, 2048, 400), rng.integers(-128, 128, 400)):
            a, y = int(a), int(y)
            ctx.set(dut.split, 0)
            ctx.set(dut.y, y & 0xFF)
            ctx.set(dut.x, (a >> 4) & 0xFF)
            hi = ctx.get(dut.p)
            ctx.set(dut.x, a & 0xF)
            lo = ctx.get(dut.p)
            if hi * 16 + lo != a * y:
                bad.append(("int12", a, y))
        ctx.set(dut.split, 1)
        for xs in itertools.product(range(-8, 8), repeat=2):
            for ys in ([-8, 7, 3, -1], [7, -8, 0, 5], [-8, -8, -8, -8]):
                xv = list(xs) + [-8, 7]
                ctx.set(dut.x, _nibbles(xv))
                ctx.set(dut.y, _nibbles(ys))
                if ctx.get(dut.p) != sum(a * b for a, b in zip(xv, ys)):
                    bad.append(("int4", xv, ys))

    _run(dut, bench, clocked=False)
    assert not bad, f"{len(bad)} wrong products, e.g. {bad[:3]}"


#: A configuration at the other end of the valid range: narrow exponents,
#: no guard bits, the narrowest accumulator, no INT4.
EDGE_CFG = dict(exponent_bits=6, align_guard_bits=0, accumulator_bits=27, element_bits=(8, 12))


@pytest.mark.parametrize("changes", [{}, EDGE_CFG], ids=["tiny", "edge"])
def test_quantizer_sim_matches_golden(changes):
    """A few hundred random blocks through the Amaranth model of the quantizer."""
    cfg = load_config("tiny").replace(**changes)
    dut = SMXQuantizer(cfg)
    rng = np.random.default_rng(5)
    items = []
    for _ in range(300):
        top = int(rng.integers(1, cfg.accumulator_bits))
        vals = rng.integers(-(1 << top) + 1, 1 << top, 16)
        lim = 1 << (cfg.exponent_bits + 1)
        items.append(([int(v) for v in vals], int(rng.integers(-lim, lim)), int(rng.choice(cfg.element_bits))))
    got = []

    async def bench(ctx):
        ctx.set(dut.o.ready, 1)
        ctx.set(dut.i.valid, 1)
        for vals, e, b in items:
            ctx.set(dut.i.payload, {"values": vals, "exponent": e, "width": b})
            await ctx.tick()
            if ctx.get(dut.o.valid):
                got.append(ctx.get(dut.o.payload))
        ctx.set(dut.i.valid, 0)
        while len(got) < len(items):
            await ctx.tick()
            if ctx.get(dut.o.valid):
                got.append(ctx.get(dut.o.payload))

    _run(dut, bench)
    bad = 0
    for (vals, e, b), out in zip(items, got):
        ref = smx_quantize(np.ldexp(np.array(vals, dtype=np.float64), e).reshape(4, 4), b, cfg)
        bad += [int(c) for c in out.codes] != ref.codes.reshape(-1).tolist() or int(out.exponent) != ref.exponents[0, 0]
    assert len(got) == len(items) and bad == 0, f"{bad} of {len(items)} blocks differ"


@pytest.mark.parametrize("mode", list(Precision))
def test_mac_array_sim_one_mode_build(mode):
    """A MAC array built for one mode alone still computes that mode exactly."""
    _check_mac_array_sim(load_config("tiny"), [mode], mode, 30)


@pytest.mark.parametrize("mode", [Precision.INT8, Precision.INT8_12])
def test_mac_array_sim_edge_config(mode):
    """All modes built, edge configuration, exponents over the whole range."""
    cfg = load_config("tiny").replace(**EDGE_CFG)
    _check_mac_array_sim(cfg, None, mode, cfg.exponent_max)


def _check_mac_array_sim(cfg, modes, mode, exp_range):
    dut = MacArray(cfg, modes=modes)
    pr, pc = grid(cfg)
    rng = np.random.default_rng(mode.value)
    ba, bb = mode_operand_bits(mode)
    nk = 3

    def tensor(rows, cols, bits):
        lim = (1 << (bits - 1)) - 1
        return SMXTensor(rng.integers(-lim, lim + 1, (rows, cols)).astype(np.int16),
                         rng.integers(-exp_range, exp_range, (rows // 4, cols // 4)).astype(np.int16), (rows, cols), bits)

    a, b = tensor(4 * pr, 4 * nk, ba), tensor(4 * nk, 4 * pc, bb)
    want = smx_matmul(a, b, cfg=cfg)
    lay = operand_layout(cfg)
    got = []

    async def bench(ctx):
        ctx.set(dut.o.ready, 1)
        for k in range(nk):
            ctx.set(dut.i.payload, lay.const(unpack(lay, pack(lay, {
                "a": [{"codes": a.codes[4 * r:4 * r + 4, 4 * k:4 * k + 4].reshape(-1).tolist(), "exponent": int(a.exponents[r, k])} for r in range(pr)],
                "b": [{"codes": b.codes[4 * k:4 * k + 4, 4 * c:4 * c + 4].reshape(-1).tolist(), "exponent": int(b.exponents[k, c])} for c in range(pc)],
                "ref_a": a.exponents.max(axis=1).tolist(), "ref_b": b.exponents.max(axis=0).tolist(),
                "mode": mode, "first": int(k == 0), "last": int(k == nk - 1)}))))
            ctx.set(dut.i.valid, 1)
            await ctx.tick().until(dut.i.ready)
        ctx.set(dut.i.valid, 0)
        payload, = await ctx.tick().sample(dut.o.payload).until(dut.o.valid)
        got.append(payload)

    _run(dut, bench)
    blk = got[0].blocks[0]
    assert [int(v) for v in blk.acc] == want.acc[:4, :4].reshape(-1).tolist()
    assert int(blk.exponent) == want.exponents[0, 0]


def test_pack_roundtrip():
    cfg = load_config("tiny")
    lay = quantizer_input_layout(cfg)
    value = {"values": list(range(-8, 8)), "exponent": -300, "width": 12}
    assert unpack(lay, pack(lay, value)) == value
    assert unpack(result_layout(cfg), 0)["blocks"][0]["exponent"] == 0


def test_mode_outside_config_refused():
    cfg = load_config("tiny").replace(element_bits=(8, 12))
    assert Precision.INT4 not in supported_modes(cfg)
    with pytest.raises(ValueError, match="INT4"):
        MacArray(cfg, modes=[Precision.INT4])


def test_invalid_array_size_named():
    with pytest.raises(ConfigError, match="array_rows"):
        load_config("tiny").replace(array_rows=6)


def test_exponent_max_lines():
    """Running maxima per lane match numpy, with output back-pressure."""
    from pinta.hw.exponent_max import ExponentMax

    cfg = load_config("tiny").replace(array_rows=12)
    dut = ExponentMax(cfg)
    rng = np.random.default_rng(4)
    lines = [rng.integers(cfg.exponent_min, cfg.exponent_max + 1, (int(rng.integers(1, 6)), dut.lanes))
             for _ in range(30)]
    got = []

    async def send(ctx):
        for line in lines:
            for k, row in enumerate(line):
                ctx.set(dut.i.payload, {"exponents": row.tolist(), "first": int(k == 0), "last": int(k == len(line) - 1)})
                ctx.set(dut.i.valid, 1)
                await ctx.tick().until(dut.i.ready)
        ctx.set(dut.i.valid, 0)

    async def receive(ctx):
        for n in range(len(lines)):
            if n % 3 == 0:  # leave some results waiting for a few cycles
                ctx.set(dut.o.ready, 0)
                await ctx.tick().repeat(3)
            ctx.set(dut.o.ready, 1)
            payload, = await ctx.tick().sample(dut.o.payload).until(dut.o.valid)
            got.append([int(v) for v in payload])

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(send)
    sim.add_testbench(receive)
    sim.run_until(1e-8 * 2000)  # a lost result fails the assertion instead of hanging
    assert got == [line.max(axis=0).tolist() for line in lines]
