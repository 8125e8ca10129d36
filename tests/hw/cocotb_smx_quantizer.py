"""cocotb bench: the SMX quantizer RTL against golden ``smx_quantize``.

Each input block is 16 accumulator integers ``acc`` and an exponent ``e``;
the golden reference is ``smx_quantize(acc · 2**e)`` (exact in float64:
|acc| < 2**53 and 2**e is a normal float64 for every e the port can carry).
Environment: PINTA_CONFIG (TOML), PINTA_BLOCKS_PER_WIDTH, PINTA_SEED.
"""

from __future__ import annotations

import os
import random

import cocotb
import numpy as np

from pinta.config import PintaConfig
from pinta.golden.smx import smx_quantize
from pinta.hw.common import acc_exponent_bits, pack, unpack
from pinta.hw.smx_quantizer import quantizer_input_layout, quantizer_output_layout

from cocotb_streams import drive, reset


def _cfg() -> PintaConfig:
    return PintaConfig.from_toml(os.environ["PINTA_CONFIG"])


def random_blocks(cfg: PintaConfig, rng: np.random.Generator, n: int):
    """n random (acc[16], e) pairs: random magnitude per block (so that
    every leading-one position and shift occurs), random sparsity, and
    exponents over the port's whole range."""
    w = cfg.accumulator_bits
    xw = acc_exponent_bits(cfg)
    out = []
    for _ in range(n):
        top = int(rng.integers(1, w))  # block magnitude < 2**top
        vals = rng.integers(-(1 << top) + 1, 1 << top, 16, dtype=np.int64)
        if rng.random() < 0.3:
            vals[rng.random(16) < 0.5] = 0
        if rng.random() < 0.5:
            # Exponents that keep the block inside [E_min, E_max] are the
            # common case; the rest probe the clamps.
            e = int(rng.integers(cfg.exponent_min - 4, cfg.exponent_max - top + 4))
        else:
            e = int(rng.integers(-(1 << (xw - 1)), 1 << (xw - 1)))
        out.append((vals, e))
    return out


def corner_blocks(cfg: PintaConfig):
    """Hand-made corners (values derived from cfg, not from a run)."""
    w = cfg.accumulator_bits
    xw = acc_exponent_bits(cfg)
    e_lo, e_hi = -(1 << (xw - 1)), (1 << (xw - 1)) - 1
    big = (1 << (w - 1)) - 1
    corners = []
    zeros = np.zeros(16, dtype=np.int64)
    for e in (e_lo, -1, 0, e_hi):
        corners.append((zeros.copy(), e))  # zero block -> E_min, codes 0
    # Maximum magnitudes, both signs, including -2**(w-1).
    for e in (e_lo, cfg.exponent_min, 0, cfg.exponent_max, e_hi):
        v = np.full(16, big, dtype=np.int64)
        v[1::2] = -big
        v[3] = -(1 << (w - 1))
        corners.append((v, e))
        corners.append((np.full(16, -(1 << (w - 1)), dtype=np.int64), e))
    # Rounding to 2**(b-1) then saturation: all-ones magnitudes of every length.
    for top in range(1, w):
        v = np.full(16, (1 << top) - 1, dtype=np.int64)
        v[::3] *= -1
        corners.append((v, 0))
        # Ties: x.5 in code units for every width (both signs).
        t = np.arange(16, dtype=np.int64) * ((1 << top) // 16 + 1)
        t = np.minimum(t, (1 << top) - 1)
        corners.append((t * np.where(np.arange(16) % 2, 1, -1), -top))
    # Exponent clamp at both ends for each magnitude.
    for top in (1, 7, 20, w - 1):
        v = np.arange(-8, 8, dtype=np.int64) << max(0, top - 4)
        for e in (cfg.exponent_max - top + 30, cfg.exponent_max + 1, cfg.exponent_min - top - 1,
                  cfg.exponent_min - top - 30, e_lo, e_hi):
            corners.append((v.copy(), e))
    # A single nonzero element, each position; +1/-1 lsb.
    for k in range(16):
        v = np.zeros(16, dtype=np.int64)
        v[k] = 1 if k % 2 else -1
        corners.append((v, cfg.exponent_min + k))
    return corners


def golden(cfg: PintaConfig, vals: np.ndarray, e: int, bits: int):
    t = smx_quantize(np.ldexp(vals.astype(np.float64), e).reshape(4, 4), bits, cfg)
    return [int(c) for c in t.codes.reshape(-1)], int(t.exponents[0, 0])


async def _check(dut, blocks, widths, *, seed: int, p_valid: float, p_ready: float):
    cfg = _cfg()
    lin, lout = quantizer_input_layout(cfg), quantizer_output_layout(cfg)
    items = [(vals, e, b) for (vals, e), b in zip(blocks, widths)]
    inputs = [pack(lin, {"values": [int(v) for v in vals], "exponent": e, "width": b}) for vals, e, b in items]
    await reset(dut)
    run = await drive(dut, inputs, len(inputs), rng=random.Random(seed), p_valid=p_valid, p_ready=p_ready)
    mismatches = []
    for (vals, e, b), raw in zip(items, run.outputs):
        got = unpack(lout, raw)
        want_codes, want_exp = golden(cfg, vals, e, b)
        if got["codes"] != want_codes or got["exponent"] != want_exp:
            mismatches.append((list(vals), e, b, got, want_codes, want_exp))
    for mm in mismatches[:5]:
        dut._log.error("mismatch: acc=%s e=%d b=%d rtl=%s golden codes=%s E=%d", *mm)
    assert not mismatches, f"{len(mismatches)} of {len(items)} blocks differ from golden smx_quantize"
    dut._log.info("%d blocks bit-exact, %d cycles", len(items), run.cycles)
    return run


@cocotb.test()
async def random_blocks_backpressure(dut):
    """≥1000 random blocks per element width, random valid/ready gaps."""
    cfg = _cfg()
    seed = int(os.environ.get("PINTA_SEED", "1"))
    n = int(os.environ.get("PINTA_BLOCKS_PER_WIDTH", "1000"))
    rng = np.random.default_rng(seed)
    blocks, widths = [], []
    for b in cfg.element_bits:
        blocks += random_blocks(cfg, rng, n)
        widths += [b] * n
    order = rng.permutation(len(blocks))  # widths interleaved: runtime switching
    blocks = [blocks[i] for i in order]
    widths = [widths[i] for i in order]
    await _check(dut, blocks, widths, seed=seed, p_valid=0.8, p_ready=0.7)


@cocotb.test()
async def corners_every_width(dut):
    """Corner blocks at every width, with back-pressure."""
    cfg = _cfg()
    corners = corner_blocks(cfg)
    blocks = [c for c in corners for _ in cfg.element_bits]
    widths = [b for _ in corners for b in cfg.element_bits]
    await _check(dut, blocks, widths, seed=7, p_valid=0.6, p_ready=0.5)


@cocotb.test()
async def full_throughput(dut):
    """With no back-pressure the quantizer takes and returns one block per cycle."""
    cfg = _cfg()
    rng = np.random.default_rng(3)
    blocks = random_blocks(cfg, rng, 64)
    widths = [cfg.element_bits[k % len(cfg.element_bits)] for k in range(64)]
    run = await _check(dut, blocks, widths, seed=3, p_valid=1.0, p_ready=1.0)
    gaps = {b - a for a, b in zip(run.in_cycles, run.in_cycles[1:])}
    assert gaps == {1}, f"input transfers not back to back: gaps {sorted(gaps)}"
    latency = run.out_cycles[0] - run.in_cycles[0]
    from pinta.hw.smx_quantizer import SMXQuantizer
    assert latency == SMXQuantizer.LATENCY, f"latency {latency}, documented {SMXQuantizer.LATENCY}"
