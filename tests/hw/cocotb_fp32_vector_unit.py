"""cocotb bench: the FP32 vector unit RTL against NumPy float32, op by op.

Environment: PINTA_CONFIG (TOML), PINTA_FP32_PER_OP (operands per float op),
PINTA_INT_PER_OP (per integer helper op), PINTA_SEED.
"""

from __future__ import annotations

import os
import random

import cocotb
import numpy as np

from pinta.config import PintaConfig
from pinta.hw.common import pack, unpack
from pinta.hw.fp32 import VectorOp
from pinta.hw.vector_unit import VectorUnit, vector_in_layout, vector_out_layout

from cocotb_streams import drive, reset
from fp32_vectors import mismatches, operands_for

INTEGER_HELPERS = {VectorOp.IADD, VectorOp.ISUB, VectorOp.IAND, VectorOp.IXOR, VectorOp.ASR1,
                   VectorOp.POW2, VectorOp.EXPF, VectorOp.MANT1, VectorOp.SHR, VectorOp.IMUL}


def _cfg() -> PintaConfig:
    return PintaConfig.from_toml(os.environ["PINTA_CONFIG"])


async def _run(dut, ops_counts, seed, p_valid, p_ready):
    cfg = _cfg()
    lanes = cfg.vector_lanes
    lin, lout = vector_in_layout(lanes), vector_out_layout(lanes)
    rng = np.random.default_rng(seed)
    refs, txns = {}, []
    for op, n in ops_counts:
        n = -(-n // lanes) * lanes
        a, b, c = operands_for(op, rng, n)
        refs[op] = (a, b, c)
        txns += [(op, k) for k in range(0, n, lanes)]
    order = rng.permutation(len(txns))  # ops interleaved: the unit switches op every transfer
    txns = [txns[i] for i in order]
    inputs = []
    for op, k in txns:
        a, b, c = refs[op]
        sl = slice(k, k + lanes)
        inputs.append(pack(lin, {"op": op, "a": [int(v) for v in a[sl]], "b": [int(v) for v in b[sl]],
                                 "c": [int(v) for v in c[sl]]}))
    await reset(dut)
    run = await drive(dut, inputs, len(inputs), rng=random.Random(seed), p_valid=p_valid, p_ready=p_ready,
                      max_cycles=40 * len(inputs) + 100)
    got = {op: np.zeros(len(refs[op][0]), np.uint64) for op in refs}
    for (op, k), raw in zip(txns, run.outputs):
        got[op][k:k + lanes] = unpack(lout, raw)["r"]
    total_bad = 0
    counts = {}
    for op, (a, b, c) in refs.items():
        bad, want = mismatches(op, a, b, c, got[op])
        counts[op.name] = len(a)
        for i in bad[:5]:
            dut._log.error("%s a=%08x b=%08x c=%08x rtl=%08x numpy=%08x", op.name, a[i], b[i], c[i],
                           int(got[op][i]), want[i])
        total_bad += len(bad)
    dut._log.info("checked %s operands per op, %d cycles, %d mismatches", counts, run.cycles, total_bad)
    assert total_bad == 0, f"{total_bad} results differ from NumPy float32"
    return run, txns


@cocotb.test()
async def every_op_random_backpressure(dut):
    """All ops, seeded random operands (normal, subnormal, zero, inf, NaN, ties,
    cancellation, over/underflow edges), interleaved, random valid/ready gaps."""
    n_fp = int(os.environ.get("PINTA_FP32_PER_OP", "10000"))
    n_int = int(os.environ.get("PINTA_INT_PER_OP", "2000"))
    seed = int(os.environ.get("PINTA_SEED", "1"))
    ops = [(op, n_int if op in INTEGER_HELPERS else n_fp) for op in VectorOp]
    await _run(dut, ops, seed, p_valid=0.9, p_ready=0.75)


@cocotb.test()
async def latency_and_throughput(dut):
    """Without back-pressure every op completes at VectorUnit.latency(op) and a
    new op is accepted as its predecessor's result is taken."""
    cfg = _cfg()
    unit = VectorUnit(cfg)
    ops = [(op, cfg.vector_lanes * 4) for op in VectorOp]
    run, txns = await _run(dut, ops, 5, p_valid=1.0, p_ready=1.0)
    for j, (op, _) in enumerate(txns):
        lat = run.out_cycles[j] - run.in_cycles[j]
        # drive() counts the cycle of a transfer; o.valid appears latency(op) edges later.
        assert lat == unit.latency(op), f"{op.name}: latency {lat}, documented {unit.latency(op)}"
        if j + 1 < len(txns):
            assert run.in_cycles[j + 1] == run.out_cycles[j], "next op not accepted when the result was taken"
