"""cocotb bench: the SMX MAC array RTL against golden ``smx_matmul``.

A tile is C = A·B with A of 4·PR × 4·nk and B of 4·nk × 4·PC codes (PR × PC
is the PE grid of the configuration); it is sent as nk transfers (one per
reduction block k) and comes back as one result transfer. The reference is
``smx_matmul`` of the same SMX tensors; the line maxima RA, RB sent with the
operands are computed here, as the upstream exponent-max logic would.
Environment: PINTA_CONFIG, PINTA_SEED, PINTA_PRODUCTS_PER_MODE,
PINTA_RESULTS (JSON file for the measured throughput).
"""

from __future__ import annotations

import json
import os
import random

import cocotb
import numpy as np

from pinta.config import PintaConfig
from pinta.golden.smx import SMXTensor, smx_matmul
from pinta.hw.common import Precision, mode_operand_bits, pack, supported_modes, unpack
from pinta.hw.mac_array import beats_per_transfer, grid, operand_layout, result_layout

from cocotb_streams import drive, reset


def _cfg() -> PintaConfig:
    return PintaConfig.from_toml(os.environ["PINTA_CONFIG"])


class Tile:
    """One GEMM tile: operands, mode and the golden result."""

    def __init__(self, cfg: PintaConfig, mode: Precision, a: SMXTensor, b: SMXTensor):
        self.cfg, self.mode, self.a, self.b = cfg, mode, a, b
        self.nk = a.codes.shape[1] // 4
        self.golden = smx_matmul(a, b, cfg=cfg)

    def transfers(self) -> list[int]:
        pr, pc = grid(self.cfg)
        lay = operand_layout(self.cfg)
        a, b = self.a, self.b
        ra = a.exponents.max(axis=1)
        rb = b.exponents.max(axis=0)
        out = []
        for k in range(self.nk):
            out.append(pack(lay, {
                "a": [{"codes": [int(v) for v in a.codes[4 * r:4 * r + 4, 4 * k:4 * k + 4].reshape(-1)],
                       "exponent": int(a.exponents[r, k])} for r in range(pr)],
                "b": [{"codes": [int(v) for v in b.codes[4 * k:4 * k + 4, 4 * c:4 * c + 4].reshape(-1)],
                       "exponent": int(b.exponents[k, c])} for c in range(pc)],
                "ref_a": [int(x) for x in ra],
                "ref_b": [int(x) for x in rb],
                "mode": self.mode,
                "first": int(k == 0),
                "last": int(k == self.nk - 1),
            }))
        return out

    def mismatches(self, raw: int) -> list[str]:
        pr, pc = grid(self.cfg)
        got = unpack(result_layout(self.cfg), raw)["blocks"]
        bad = []
        for r in range(pr):
            for c in range(pc):
                blk = got[r * pc + c]
                want = self.golden.acc[4 * r:4 * r + 4, 4 * c:4 * c + 4].reshape(-1).tolist()
                want_e = int(self.golden.exponents[r, c])
                if blk["acc"] != want or blk["exponent"] != want_e:
                    bad.append(f"{self.mode.name} nk={self.nk} block ({r},{c}): rtl {blk} golden acc={want} exp={want_e}")
        return bad


def _tensor(codes, exps, bits) -> SMXTensor:
    return SMXTensor(np.asarray(codes, dtype=np.int16), np.asarray(exps, dtype=np.int16), tuple(np.shape(codes)), bits)


def random_tile(cfg, mode, rng, nk, exp_spread):
    pr, pc = grid(cfg)
    ba, bb = mode_operand_bits(mode)

    def side(rows, cols, bits):
        lim = (1 << (bits - 1)) - 1
        codes = rng.integers(-lim, lim + 1, (rows, cols))
        nbr, nbc = rows // 4, cols // 4
        # Some blocks use a reduced magnitude so small products appear too.
        small = rng.random((nbr, nbc)) < 0.3
        codes = np.where(np.kron(small, np.ones((4, 4), dtype=bool)), codes >> (bits - 2), codes)
        zero = rng.random((nbr, nbc)) < 0.1
        codes = np.where(np.kron(zero, np.ones((4, 4), dtype=bool)), 0, codes)
        centre = int(rng.integers(cfg.exponent_min + exp_spread, cfg.exponent_max - exp_spread + 1))
        exps = rng.integers(centre - exp_spread, centre + exp_spread + 1, (nbr, nbc))
        exps = np.where(zero, cfg.exponent_min, exps)
        return _tensor(codes, exps, bits)

    return Tile(cfg, mode, side(4 * pr, 4 * nk, ba), side(4 * nk, 4 * pc, bb))


def corner_tiles(cfg) -> list[Tile]:
    pr, pc = grid(cfg)
    tiles = []
    for mode in supported_modes(cfg):
        ba, bb = mode_operand_bits(mode)
        la, lb = (1 << (ba - 1)) - 1, (1 << (bb - 1)) - 1
        # All-zero operands, exponents E_min (the zero-block convention).
        nk = 2
        tiles.append(Tile(cfg, mode,
                          _tensor(np.zeros((4 * pr, 4 * nk)), np.full((pr, nk), cfg.exponent_min), ba),
                          _tensor(np.zeros((4 * nk, 4 * pc)), np.full((nk, pc), cfg.exponent_min), bb)))
        # Maximum magnitudes, same and opposite signs, long reduction, equal exponents
        # at both ends of the exponent range.
        nk = 16
        for e in (cfg.exponent_max, cfg.exponent_min):
            for sign in (1, -1):
                tiles.append(Tile(cfg, mode,
                                  _tensor(np.full((4 * pr, 4 * nk), la), np.full((pr, nk), e), ba),
                                  _tensor(np.full((4 * nk, 4 * pc), sign * lb), np.full((nk, pc), e), bb)))
        # Very different exponents within one accumulation: one block pair
        # at E_max + E_max sets E_ref, the others are shifted by s in
        # 1 .. 2·(E_max - E_min): s > G, s > product + G, s > accumulator width.
        span = cfg.exponent_max - cfg.exponent_min
        steps = sorted({1, cfg.align_guard_bits - 1, cfg.align_guard_bits, cfg.align_guard_bits + 1,
                        cfg.align_guard_bits + 20, cfg.accumulator_bits, cfg.accumulator_bits + 3, span // 2, span})
        nk = len(steps) + 1
        rng = np.random.default_rng(11)
        a_codes = rng.integers(-la, la + 1, (4 * pr, 4 * nk))
        b_codes = rng.integers(-lb, lb + 1, (4 * nk, 4 * pc))
        a_exp = np.full((pr, nk), cfg.exponent_max)
        b_exp = np.full((nk, pc), cfg.exponent_max)
        for k, s in enumerate(steps, start=1):
            da = min(s, span)
            a_exp[:, k] = cfg.exponent_max - da
            b_exp[k, :] = cfg.exponent_max - (s - da)
        # Same steps split the other way round (shift on B), and negated products.
        tiles.append(Tile(cfg, mode, _tensor(a_codes, a_exp, ba), _tensor(b_codes, b_exp, bb)))
        tiles.append(Tile(cfg, mode, _tensor(-a_codes, b_exp.T, ba), _tensor(b_codes, a_exp.T, bb)))
        # Smallest and largest exponents mixed in one line.
        a_exp = np.where(np.arange(nk) % 2, cfg.exponent_min, cfg.exponent_max)[None, :].repeat(pr, 0)
        b_exp = np.where(np.arange(nk) % 3, cfg.exponent_max, cfg.exponent_min)[:, None].repeat(pc, 1)
        tiles.append(Tile(cfg, mode, _tensor(a_codes, a_exp, ba), _tensor(b_codes, b_exp, bb)))
    return tiles


async def _run_tiles(dut, tiles, *, seed, p_valid, p_ready):
    inputs = [t for tile in tiles for t in tile.transfers()]
    await reset(dut)
    run = await drive(dut, inputs, len(tiles), rng=random.Random(seed), p_valid=p_valid, p_ready=p_ready)
    bad = []
    for tile, raw in zip(tiles, run.outputs):
        bad += tile.mismatches(raw)
    for line in bad[:5]:
        dut._log.error(line)
    n_blocks = sum(tile.golden.exponents.size for tile in tiles)
    assert not bad, f"{len(bad)} of {n_blocks} output blocks differ from golden smx_matmul"
    return run


@cocotb.test()
async def random_tiles_all_modes(dut):
    """Random tiles, modes interleaved, ≥ PINTA_PRODUCTS_PER_MODE block products per mode."""
    cfg = _cfg()
    seed = int(os.environ.get("PINTA_SEED", "1"))
    target = int(os.environ.get("PINTA_PRODUCTS_PER_MODE", "1000"))
    rng = np.random.default_rng(seed)
    pr, pc = grid(cfg)
    tiles, counts = [], {}
    for mode in supported_modes(cfg):
        counts[mode] = 0
        while counts[mode] < target:
            nk = int(rng.integers(1, 9))
            spread = int(rng.choice([0, 3, 12, 40]))
            tiles.append(random_tile(cfg, mode, rng, nk, spread))
            counts[mode] += nk * pr * pc
    order = rng.permutation(len(tiles))
    tiles = [tiles[i] for i in order]
    await _run_tiles(dut, tiles, seed=seed, p_valid=0.8, p_ready=0.6)
    dut._log.info("block products per mode: %s", {m.name: n for m, n in counts.items()})


@cocotb.test()
async def corner_tiles_backpressure(dut):
    """Zero blocks, maximum magnitudes, extreme exponents and shifts."""
    await _run_tiles(dut, corner_tiles(_cfg()), seed=5, p_valid=0.7, p_ready=0.5)


@cocotb.test()
async def peak_throughput(dut):
    """MACs per cycle per mode on a long stream with no back-pressure."""
    cfg = _cfg()
    pr, pc = grid(cfg)
    rng = np.random.default_rng(9)
    results = {}
    for mode in supported_modes(cfg):
        tiles = [random_tile(cfg, mode, rng, 16, 4) for _ in range(4)]
        run = await _run_tiles(dut, tiles, seed=9, p_valid=1.0, p_ready=1.0)
        n_in = len(run.in_cycles)
        span = run.in_cycles[-1] - run.in_cycles[0]
        macs_per_transfer = 64 * pr * pc
        peak = (n_in - 1) * macs_per_transfer / span
        total = n_in * macs_per_transfer / (run.out_cycles[-1] - run.in_cycles[0] + 1)
        expected = macs_per_transfer / beats_per_transfer(cfg, mode)
        dut._log.info("%s: %.2f MACs/cycle peak (%d transfers in %d cycles), %.2f incl. fill/drain",
                      mode.name, peak, n_in, span, total)
        assert peak == expected, f"{mode.name}: measured {peak} MACs/cycle, design figure {expected}"
        results[mode.name] = {"peak_macs_per_cycle": peak, "stream_macs_per_cycle": total,
                              "transfers": n_in, "cycles": span,
                              "latency_last_in_to_out": run.out_cycles[-1] - run.in_cycles[-1]}
    path = os.environ.get("PINTA_RESULTS")
    if path:
        with open(path, "w") as f:
            json.dump(results, f, indent=2)
