"""cocotb bench: the DiffQuant unit RTL against golden diffquant_quantize
(quantize path) and stein_estimates (Stein path), random back-pressure on
all four streams.

Environment: PINTA_CONFIG, PINTA_DQ_BLOCKS (random block pairs per element width),
PINTA_DQ_POINTS (Stein points), PINTA_STEIN_K, PINTA_STEIN_D, PINTA_SEED.
"""

from __future__ import annotations

import os
import random

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge

from pinta.config import PintaConfig
from pinta.golden.diffquant import diffquant_quantize
from pinta.golden.stein_sums import stein_estimates
from pinta.hw.common import pack, unpack
from pinta.hw.diffquant_unit import (DiffQuantQuantizer, SteinEngine, pair_in_layout, pair_out_layout,
                                     stein_in_layout, stein_out_layout)

import cocotb_smx_quantizer as smxbench
from cocotb_sfu_streams import idle_check, latency_cycles, receive, send
from cocotb_streams import drive
from diffquant_vectors import stein_points


def _cfg() -> PintaConfig:
    return PintaConfig.from_toml(os.environ["PINTA_CONFIG"])


def _kd():
    return int(os.environ.get("PINTA_STEIN_K", "8")), int(os.environ.get("PINTA_STEIN_D", "4"))


async def _reset(dut):
    Clock(dut.clk, 10, unit="ns").start()
    dut.rst.value = 1
    for s in ("qi", "si"):
        getattr(dut, f"{s}__valid").value = 0
    for s in ("qo", "so"):
        getattr(dut, f"{s}__ready").value = 0
    for _ in range(2):
        await RisingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.rst.value = 0


@cocotb.test()
async def quantize_paths_separately(dut):
    """Random and corner (base, diff) block pairs at every element width,
    widths interleaved, streamed through the pipelined quantize path with
    random valid gaps and ready back-pressure (the per-cycle driver, so the
    pipeline fills and stalls): both SMX blocks equal golden
    diffquant_quantize, each with its own exponent; with no back-pressure one
    pair per clock at the documented latency."""
    cfg = _cfg()
    n = int(os.environ.get("PINTA_DQ_BLOCKS", "334"))
    seed = int(os.environ.get("PINTA_SEED", "1"))
    rng = np.random.default_rng(seed)
    lin, lout = pair_in_layout(cfg), pair_out_layout(cfg)
    pairs = []
    for b in cfg.element_bits:
        base = smxbench.random_blocks(cfg, rng, n)
        diff = smxbench.random_blocks(cfg, rng, n)
        pairs += [(x, y, b) for x, y in zip(base, diff)]
    pairs = [pairs[i] for i in rng.permutation(len(pairs))]
    corners = smxbench.corner_blocks(cfg)
    pairs += [(corners[i], corners[-1 - i], cfg.element_bits[i % len(cfg.element_bits)]) for i in range(len(corners))]
    # Same exponent on both paths but very different magnitudes, and the reverse.
    for i in range(0, len(corners), 7):
        pairs.append((corners[i], (corners[-1 - i][0], corners[i][1]), cfg.element_bits[-1]))
    inputs = [pack(lin, {"base_values": [int(v) for v in bv], "base_exponent": be,
                         "diff_values": [int(v) for v in dv], "diff_exponent": de, "width": bits})
              for (bv, be), (dv, de), bits in pairs]
    await _reset(dut)
    run = await drive(dut, inputs, len(inputs), rng=random.Random(seed), p_valid=0.8, p_ready=0.6,
                      inp="qi", out="qo")
    bad = 0
    for ((bv, be), (dv, de), bits), raw in zip(pairs, run.outputs):
        got = unpack(lout, raw)
        qb, qd = diffquant_quantize(np.ldexp(bv.astype(np.float64), be).reshape(4, 4),
                                    np.ldexp(dv.astype(np.float64), de).reshape(4, 4), bits, cfg)
        ok = (got["base_codes"] == [int(c) for c in qb.codes.reshape(-1)] and got["base_exponent"] == int(qb.exponents[0, 0])
              and got["diff_codes"] == [int(c) for c in qd.codes.reshape(-1)]
              and got["diff_exponent"] == int(qd.exponents[0, 0]))
        if not ok:
            bad += 1
            if bad <= 3:
                dut._log.error("mismatch: base e=%d diff e=%d b=%d rtl=%s", be, de, bits, got)
    dut._log.info("quantize path: %d block pairs, %d mismatches, %d cycles", len(pairs), bad, run.cycles)
    assert bad == 0, f"{bad} of {len(pairs)} block pairs differ from golden diffquant_quantize"
    # Full rate and latency with no back-pressure.
    burst = inputs[:32]
    full = await drive(dut, burst, len(burst), rng=random.Random(seed), inp="qi", out="qo")
    assert full.outputs == run.outputs[:32]
    gaps = {b - a for a, b in zip(full.in_cycles, full.in_cycles[1:])}
    assert gaps == {1}, f"quantize path not one pair per clock: input gaps {sorted(gaps)}"
    latency = full.out_cycles[0] - full.in_cycles[0]
    assert latency == DiffQuantQuantizer(cfg).LATENCY, f"latency {latency}"
    await idle_check(dut, port="qo")


@cocotb.test()
async def stein_estimates_bit_exact(dut):
    """Random points (σ 1e-3..1, du± over 7 decades, exact-cancellation,
    equal-pair and signed-zero/subnormal points): gradient, Laplacian and
    value equal golden stein_estimates bit for bit, at the documented latency."""
    cfg = _cfg()
    k, d = _kd()
    n = int(os.environ.get("PINTA_DQ_POINTS", "300"))
    seed = int(os.environ.get("PINTA_SEED", "1"))
    lin, lout = stein_in_layout(k, d), stein_out_layout(d)
    eng = SteinEngine(cfg, k, d)
    await _reset(dut)
    prng = random.Random(seed + 1)
    bad, lat = 0, set()
    u = lambda a: [int(v) for v in np.asarray(a, np.float32).reshape(-1).view(np.uint32)]  # noqa: E731
    for dp, dm, delta, sigma in stein_points(np.random.default_rng(seed + 2), n, k, d):
        payload = pack(lin, {"du_plus": u(dp), "du_minus": u(dm), "delta": u(delta), "sigma": u([sigma])[0]})
        t_in = await send(dut, payload, prng, 0.8, port="si")
        raw, t_valid = await receive(dut, prng, 0.7, port="so")
        lat.add(latency_cycles(t_in, t_valid))
        got = unpack(lout, raw)
        g, lap, val = stein_estimates(dp, dm, delta, sigma)
        want = u(g) + u([lap]) + u([val])
        have = list(got["gradient"]) + [got["laplacian"], got["value"]]
        if have != want:
            bad += 1
            if bad <= 3:
                dut._log.error("mismatch sigma=%r: rtl=%s golden=%s", sigma, [hex(v) for v in have],
                               [hex(v) for v in want])
    await idle_check(dut, port="so")
    dut._log.info("stein path: %d points (K=%d, D=%d), %d mismatches, latency %s", n, k, d, bad, lat)
    assert bad == 0, f"{bad} of {n} points differ from golden stein_estimates"
    assert lat == {eng.latency}, f"latency {lat}, documented {eng.latency}"
