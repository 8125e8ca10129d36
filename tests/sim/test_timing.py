"""The cycle model: per-instruction costs from the config, in-order issue, scoreboard, counters."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pinta.config import load_config
from pinta.sim.isa import Fmt, assemble
from pinta.sim.layout import footprint_words
from pinta.sim.program import _analyze, analyze
from pinta.sim.timing import DESIGN, block_product_cycles

CFG = load_config("tiny")

OPERANDS = """
TDESC t0, buf=activations, fmt=fp32, addr=0x0, rows={m}, cols={k}
LOAD t0, dram=0x0
TDESC t1, buf=optimizer, fmt=fp32, addr=0x0, rows={k}, cols={n}
LOAD t1, dram=0x10000
TDESC t2, buf=activations, fmt={fa}, addr=0x800, rows={m}, cols={k}
QUANT t2, t0, v0
TDESC t3, buf=weights, fmt={fb}, addr=0x0, rows={k}, cols={n}
QUANT t3, t1, v0
TDESC t4, buf=gradients, fmt=acc, addr=0x0, rows={m}, cols={n}
GEMM t4, t2, t3, mode={mode}, ta=0, tb=0, accum=0
"""


def gemm_program(m=16, k=24, n=12, mode="i8x8", fa="smx8", fb="smx8", extra=""):
    return assemble(OPERANDS.format(m=m, k=k, n=n, mode=mode, fa=fa, fb=fb) + extra)


def sched(program, cfg=CFG):
    return analyze(program, cfg)


def gemm_entry(an):
    return next(s for s in an.schedule if s.mnemonic == "GEMM")


def test_gemm_occupancy_follows_array_size_and_mode_ratios():
    m, k, n = 16, 24, 12
    bs = CFG.block_size
    occ = {}
    for mode, fa, fb in (("i8x8", "smx8", "smx8"), ("i12x8", "smx12", "smx8"), ("i4x4", "smx4", "smx4")):
        e = gemm_entry(sched(gemm_program(m, k, n, mode, fa, fb)))
        # without the exponent pre-pass (Kb - 1 cycles, independent of the mode)
        occ[mode] = e.occupancy - (k // bs - 1)
        tiles = math.ceil(m / CFG.array_rows) * math.ceil(n / CFG.array_cols)
        from pinta.sim.isa import MacMode
        assert e.occupancy == tiles * (k // bs) * block_product_cycles(MacMode[mode], CFG) + (k // bs - 1)
        assert e.done - e.issue == e.occupancy + DESIGN.mac_pipeline_depth
    # The design ratios: INT8xINT8 = 2x INT12xINT8, INT4xINT4 = 8x INT12xINT8.
    assert occ["i12x8"] * DESIGN.mac_rate_i12x8 == occ["i8x8"] * DESIGN.mac_rate_i8x8
    assert occ["i12x8"] * DESIGN.mac_rate_i12x8 == occ["i4x4"] * DESIGN.mac_rate_i4x4
    assert DESIGN.mac_rate_i8x8 == 2 * DESIGN.mac_rate_i12x8 and DESIGN.mac_rate_i4x4 == 8 * DESIGN.mac_rate_i12x8


def test_bigger_array_means_fewer_tiles():
    big = CFG.replace(array_rows=2 * CFG.array_rows, array_cols=2 * CFG.array_cols)
    p = gemm_program(32, 8, 32)
    prepass = 8 // CFG.block_size - 1  # paid once per GEMM, not per tile
    assert gemm_entry(sched(p, CFG)).occupancy - prepass == 4 * (gemm_entry(sched(p, big)).occupancy - prepass)


def test_short_reductions_wait_for_the_tile_drain():
    # default: 4×4 PEs, so a tile's 16 output blocks leave through the one record port
    # in 16 cycles; a tile with Kb·bpc < 16 is paced at 16 cycles, and the last block
    # is written 15 cycles after the first.
    cfg = load_config("default")
    from pinta.sim.isa import MacMode
    nblk = (cfg.array_rows // cfg.block_size) * (cfg.array_cols // cfg.block_size)
    bpc = block_product_cycles(MacMode.i8x8, cfg)
    for k in (4, 8, 4 * nblk):
        kb = k // cfg.block_size
        e = gemm_entry(sched(gemm_program(40, k, 36), cfg))
        tiles = math.ceil(40 / cfg.array_rows) * math.ceil(36 / cfg.array_cols)
        assert e.occupancy == tiles * max(kb * bpc, nblk) + kb - 1
        assert e.done - e.issue == e.occupancy + DESIGN.mac_pipeline_depth + nblk - 1
    # a 1×1-PE array drains a tile in one cycle: no pacing, no drain term
    e = gemm_entry(sched(gemm_program(8, 4, 8)))
    assert e.done - e.issue == e.occupancy + DESIGN.mac_pipeline_depth


def test_dma_occupancy_is_bytes_over_bandwidth():
    an = sched(gemm_program(16, 24, 12))
    load = an.schedule[1]
    nbytes = footprint_words(Fmt.fp32, 16, 24, CFG) * 8
    assert load.occupancy == math.ceil(nbytes / CFG.dram_bytes_per_cycle)
    assert load.done - load.issue == DESIGN.dma_setup + load.occupancy
    # The second LOAD waits for the DMA unit, not for the first load's data.
    assert an.schedule[3].issue == load.issue + load.occupancy


def test_producers_complete_before_consumers_issue():
    an = sched(gemm_program())
    s = an.schedule
    quant_a, quant_b, gemm = s[5], s[7], s[9]
    assert quant_a.issue == s[1].done          # QUANT waits for its LOAD (RAW)
    assert gemm.issue == max(quant_a.done, quant_b.done)
    # The MAC array was free and the GEMM was next in line from the cycle after
    # the preceding TDESC: every cycle from then to its issue is a MAC stall.
    assert an.stall["MAC"] == gemm.issue - (s[8].issue + 1) > 0


def test_units_overlap_and_write_after_read_waits():
    # After the GEMM issues, an unrelated LOAD runs on the DMA concurrently;
    # a LOAD that overwrites the GEMM's operand must wait for the GEMM to finish.
    extra = """
TDESC t5, buf=activations, fmt=fp32, addr=0xc00, rows=16, cols=16
LOAD t5, dram=0x20000
LOAD t0, dram=0x0
"""
    an = sched(gemm_program(extra=extra))
    gemm, free_load, war_load = an.schedule[9], an.schedule[11], an.schedule[12]
    assert gemm.issue < free_load.issue < gemm.done  # concurrent with the GEMM
    # t0 is read by QUANT t2 (done long ago), so only the DMA unit limits it.
    assert war_load.issue == free_load.issue + free_load.occupancy
    extra_war = """
LOAD t2, dram=0x30000
"""
    an = sched(gemm_program(extra=extra_war))
    gemm, war = an.schedule[9], an.schedule[10]
    assert war.issue == gemm.done  # overwriting the GEMM's operand t2 waits for the GEMM
    assert an.stall["DMA"] == war.issue - max(an.schedule[9].issue + 1, an.schedule[3].issue + an.schedule[3].occupancy)


def test_barrier_and_wait():
    an = sched(gemm_program(extra="TDESC t5, buf=activations, fmt=fp32, addr=0xc00, rows=4, cols=4\nLOAD t5, dram=0x0\nWAIT unit=DMA\nBARRIER\nNOP\n"))
    s = an.schedule
    load, wait, barrier, nop = s[11], s[12], s[13], s[14]
    assert wait.issue == max(x.done for x in s[:12] if x.unit.name == "DMA")
    assert barrier.issue == max(x.done for x in s[:13])
    assert nop.issue == barrier.issue + 1
    assert an.total_cycles == max(x.done for x in s)


def test_counters_partition_total_cycles_and_are_deterministic():
    p = gemm_program(extra="TDESC t5, buf=activations, fmt=smx8, addr=0xc00, rows=16, cols=12\nQUANT t5, t4, v0\n")
    a, b = _analyze(p, CFG), _analyze(p, CFG)
    assert [vars(x) for x in a.schedule] == [vars(x) for x in b.schedule]
    for unit in a.busy:
        assert a.busy[unit] + a.stall[unit] + a.idle(unit) == a.total_cycles
        assert a.idle(unit) >= 0 and 0 <= a.utilisation(unit) <= 1
    assert a.busy["MAC"] == gemm_entry(a).occupancy
    assert a.busy["CTRL"] == len(p)


def test_sram_and_dram_traffic_counts():
    m, k, n = 16, 24, 12
    an = sched(gemm_program(m, k, n))
    assert an.dram_read_bytes == 8 * (footprint_words(Fmt.fp32, m, k, CFG) + footprint_words(Fmt.fp32, k, n, CFG))
    # The accumulator is written once (64-bit words).
    assert an.sram_write_bits["gradients"] == 64 * footprint_words(Fmt.acc, m, n, CFG)
    # Output-stationary: A is re-read once per column tile, B once per row tile.
    col_tiles = math.ceil(n / CFG.array_cols)
    row_tiles = math.ceil(m / CFG.array_rows)
    assert an.sram_read_bits["weights"] == 64 * footprint_words(Fmt.smx8, k, n, CFG) * row_tiles
    assert an.sram_read_bits["activations"] == 64 * (footprint_words(Fmt.fp32, m, k, CFG) + footprint_words(Fmt.smx8, m, k, CFG) * col_tiles)
    assert an.actions["mac_i8x8"] == m * k * n
    assert an.actions["quantizer_blocks"] == (m // 4) * (k // 4) + (k // 4) * math.ceil(n / 4)


@pytest.mark.parametrize("mnemonic", ["VADD", "VTANH", "VDIV"])
def test_vector_occupancy_uses_lanes(mnemonic):
    ops = "t1, t0, t0" if mnemonic in ("VADD", "VDIV") else "t1, t0"
    p = assemble(f"""
TDESC t0, buf=optimizer, fmt=fp32, addr=0x0, rows=5, cols=7
LOAD t0, dram=0x0
TDESC t1, buf=optimizer, fmt=fp32, addr=0x100, rows=5, cols=7
{mnemonic} {ops}
""")
    e = sched(p).schedule[3]
    assert e.occupancy == math.ceil(35 / CFG.vector_lanes)
    assert e.done - e.issue > e.occupancy


@pytest.mark.parametrize("mnemonic, func", [("VTANH", "TANH"), ("VSIN", "SINCOS"), ("VCOS", "SINCOS")])
def test_special_function_depth_is_the_pipeline_stage_count(mnemonic, func):
    """VTANH / VSIN / VCOS: latency = occupancy + the stage count of the function's micro-program
    unrolled one micro-op per stage (hw/top_sfu.py) + the VEC unit's read and write cycles;
    no figure of its own in DESIGN."""
    from pinta.hw.fp32.microcode import SfuFunc, pipeline_depth

    p = assemble(f"""
TDESC t0, buf=optimizer, fmt=fp32, addr=0x0, rows=5, cols=7
LOAD t0, dram=0x0
TDESC t1, buf=optimizer, fmt=fp32, addr=0x100, rows=5, cols=7
{mnemonic} t1, t0
""")
    e = sched(p).schedule[3]
    assert e.occupancy == math.ceil(35 / CFG.vector_lanes)
    assert e.done - e.issue == e.occupancy + pipeline_depth(SfuFunc[func]) + DESIGN.vec_sfu_io_cycles
    assert not hasattr(DESIGN, "vec_depth_sfu")


def test_rng_depth_is_the_rng_pipeline_stage_count():
    """RNG: latency = occupancy + the stages of the top's RNG pipeline (hw/top_rng.py: the key
    micro-program, the Box-Muller pair's, one scale multiply, each unrolled one micro-op per
    stage) + the VEC unit's read and write cycles; no figure of its own in DESIGN."""
    from pinta.hw.fp32.microcode import SfuFunc, op_stages, pipeline_depth
    from pinta.hw.fp32.misc import VectorOp

    p = assemble("""
TDESC t0, buf=optimizer, fmt=fp32, addr=0x0, rows=5, cols=7
RNG t0, seed=0x2a, stream=3, ctr=0, scale=0.5
""")
    e = sched(p).schedule[1]
    assert e.occupancy == math.ceil(35 / CFG.vector_lanes)
    stages = pipeline_depth(SfuFunc.RNG_KEYS) + pipeline_depth(SfuFunc.NORMAL) + op_stages(VectorOp.MUL)
    assert e.done - e.issue == e.occupancy + stages + DESIGN.vec_sfu_io_cycles
    assert not hasattr(DESIGN, "vec_depth_rng")


def test_block_product_cycles_match_the_rtl_mac_array():
    """The cycle model's beats per block product are the RTL array's beats per transfer."""
    pytest.importorskip("amaranth")
    from pinta.hw.common import Precision
    from pinta.hw.mac_array import beats_per_transfer
    from pinta.sim.isa import MacMode

    # The ISA's mode field is the RTL's Precision encoding, value for value.
    same = {MacMode.i8x8: "INT8", MacMode.i12x8: "INT12_8", MacMode.i8x12: "INT8_12", MacMode.i4x4: "INT4"}
    for mode, rtl_name in same.items():
        assert Precision(int(mode)).name == rtl_name
    from pinta.hw.smx_quantizer import SMXQuantizer

    assert DESIGN.qnt_depth == 1 + SMXQuantizer.LATENCY and DESIGN.qnt_blocks_per_cycle == 1
    for cfg in (CFG, load_config("default")):
        for mode in MacMode:
            assert block_product_cycles(mode, cfg) == beats_per_transfer(cfg, Precision(int(mode)))


def test_quantizer_occupancy_is_blocks_produced():
    m, k, n = 16, 24, 12
    an = sched(gemm_program(m, k, n))
    quant_a = an.schedule[5]
    blocks = math.ceil(m / 4) * math.ceil(k / 4)
    assert quant_a.occupancy == math.ceil(blocks / DESIGN.qnt_blocks_per_cycle)
    assert quant_a.done - quant_a.issue == quant_a.occupancy + DESIGN.qnt_depth


@st.composite
def vector_programs(draw):
    """Random valid programs: fp32 tensors loaded, then vector/DMA/sync instructions in any order."""
    n_t = draw(st.integers(2, 5))
    rows = draw(st.integers(1, 6))
    cols = draw(st.integers(1, 9))
    words = footprint_words(Fmt.fp32, rows, cols, CFG)
    lines = []
    for t in range(n_t):
        # Tensors 0 and 1 may share words (an overlapping alias) to exercise partial hazards.
        addr = 0 if t == 1 and draw(st.booleans()) and n_t > 2 else t * words
        lines.append(f"TDESC t{t}, buf=optimizer, fmt=fp32, addr={addr}, rows={rows}, cols={cols}")
        lines.append(f"LOAD t{t}, dram={t * 8 * words}")
    for _ in range(draw(st.integers(1, 25))):
        kind = draw(st.sampled_from(["VADD", "VMUL", "VTANH", "VDIV", "LOAD", "STORE", "BARRIER", "WAIT", "NOP"]))
        a, b, d = (draw(st.integers(0, n_t - 1)) for _ in range(3))
        if kind in ("VADD", "VMUL", "VDIV"):
            lines.append(f"{kind} t{d}, t{a}, t{b}")
        elif kind == "VTANH":
            lines.append(f"VTANH t{d}, t{a}")
        elif kind == "LOAD":
            lines.append(f"LOAD t{d}, dram=0")
        elif kind == "STORE":
            lines.append(f"STORE t{a}, dram={0x10000 + 64 * a}")
        elif kind == "WAIT":
            lines.append(f"WAIT unit={draw(st.sampled_from(['DMA', 'VEC']))}")
        else:
            lines.append(kind)
    return "\n".join(lines)


def _ranges(ins, descs, names):
    return [(descs[ins[f]].buf, descs[ins[f]].addr, descs[ins[f]].end) for f in names]


@settings(max_examples=150, deadline=None)
@given(vector_programs())
def test_schedule_equals_brute_force_scoreboard(text):
    """An independent O(n²) statement of the issue rule agrees with the model on random programs."""
    from pinta.sim.program import ProgramError

    program = assemble(text)
    try:
        an = _analyze(program, CFG)
    except ProgramError as e:  # an in-place alias that overlaps partially is refused; fine
        assert "overlap" in str(e)
        return
    s = an.schedule
    for i, ins in enumerate(program):
        descs = an.descriptors[i]
        bound = s[i - 1].issue + 1 if i else 0
        if ins.mnemonic == "BARRIER":
            bound = max([bound] + [s[j].done for j in range(i)])
        elif ins.mnemonic == "WAIT":
            bound = max([bound] + [s[j].done for j in range(i) if s[j].unit == ins["unit"]])
        elif ins.spec.unit.name != "CTRL":
            rd, wr = _ranges(ins, descs, ins.spec.reads), _ranges(ins, descs, ins.spec.writes)
            for j in range(i):
                pj = program[j]
                if pj.spec.unit.name == "CTRL":
                    continue
                dj = an.descriptors[j]
                if s[j].unit == s[i].unit:
                    bound = max(bound, s[j].issue + s[j].occupancy)
                wj, rj = _ranges(pj, dj, pj.spec.writes), _ranges(pj, dj, pj.spec.reads)
                hit = lambda xs, ys: any(b1 == b2 and lo1 < hi2 and lo2 < hi1 for b1, lo1, hi1 in xs for b2, lo2, hi2 in ys)  # noqa: E731
                if hit(rd, wj) or hit(wr, wj) or hit(wr, rj):
                    bound = max(bound, s[j].done)
        assert s[i].issue == bound, (i, ins.mnemonic)
    assert an.total_cycles == max(x.done for x in s)
    for unit in an.busy:
        assert an.idle(unit) >= 0
