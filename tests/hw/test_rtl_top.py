"""The whole PINTA top (controller + buffers + DMA/MAC/QNT) against the simulator.

Programs: GEMM (``gemm_program``: LOAD, QUANT, GEMM, requantize, STORE) in
every MAC mode, padded and transposed; GEMM + ACCF; a chain of QUANTs; the
DiffQuant first layer (``diffquant_first_layer_program``: DIFFQ + two GEMMs);
a chain of element-wise FP32 vector instructions (VMUL, VADD, VSUB, VSCALE,
VNEG, VDTANH) fed by DMA and by GEMM + ACCF; a special-function chain (VTANH,
VSIN, VCOS on the pipelined SFU of hw/top_sfu.py, mixed with VADD, VDTANH,
VMUL); VDIV and VSQRT (the unrolled divider / square root of hw/top_divsqrt.py)
mixed with other VEC instructions; RNG (hw/top_rng.py: keys, Box-Muller pairs,
scale) back to back and mixed with other VEC instructions; STEIN back to back with
other VEC instructions; DEQ of every SMX width, exact and (a run-time fault, DEQ_INEXACT) not; the broadcast forms VADDB,
VSUBB, VMULB; and illegal / not-yet-implemented instructions.

Every program runs on the RTL (``PintaSystem``: the top plus a fixed-latency
DRAM model, driven through the memory-mapped host port) and on the simulator
(``Machine(check_layout=True)``). Compared exactly (tests/hw/top_cases.py):

* every STOREd DRAM word (the stored images are the bit-exact layouts of
  docs/isa.md §4: codes, exponents, accumulators, padding); in an fp32 image a
  lane where the simulator holds a NaN other than the canonical one (NumPy's
  bare primitives: the x86 sign bit, payloads) must hold the canonical NaN
  (docs/vector-numerics.md §1: such patterns are not part of the contract);
* the total cycle count and each unit's busy and stall counters;
* the issue count, and zero scoreboard-full / MAC-refusal cycles (two stalls
  the cycle model does not have).

Two drivers run the same cases with the same host protocol: Amaranth's
simulator (default suite, ~2 minutes) and cocotb + Verilator (``slow``: the
top's first Verilator build takes many minutes on the shared 2-core machine;
set PINTA_RTL_BUILD_DIR to keep it).

Every case is compared against the simulator as it is: its cycle model
(sim/timing.py) is the contract, including the GEMM exponent pre-pass
(Kb - 1 cycles, docs/hardware-top.md §4).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from pinta.config import load_config

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from top_cases import (accf_cases, adam_cases, broadcast_cases, check_illegal, compare, deq_cases,  # noqa: E402
                       divsqrt_cases, gemm_cases, illegal_cases, noncanonical_nan_lanes, quantr_cases, reduce_cases,
                       report, rng_cases, run_cocotb, run_pysim, sfu_cases, stein_cases, vec_write_overlap,
                       vector_cases, view_cases)


def _check(cases, want, results, checker, config: str = "tiny") -> None:
    bad = []
    for name in cases:
        bad += checker(name, results[name], want[name])
    print(f"\nRTL vs simulator ({config}):\n" + report(want, results))
    assert not bad, "\n".join(bad)


def _split(cases_want):
    return {k: v[0] for k, v in cases_want.items()}, {k: v[1] for k, v in cases_want.items()}


#: The default suite's subset (every MAC mode, padding, a transpose, ACCF with
#: subnormals, back-to-back QUANTs of three widths, DIFFQ, Kb > 1); the slow
#: Verilator test runs all of gemm_cases.
PYSIM_GEMM = ("gemm_i8_pad_5x3x6", "gemm_i4_out4", "gemm_tb_i8x12", "gemm_accf_mixed", "quant_chain_12_4_8",
              "diffq_first_layer", "gemm_kb2_i4_tb")


@pytest.fixture(scope="module")
def pysim_run():
    """One Amaranth-simulator session (one elaboration) for all default-suite cases."""
    cfg = load_config("tiny")
    g_cases, g_want = _split({k: v for k, v in gemm_cases(cfg).items() if k in PYSIM_GEMM})
    v_cases, v_want = _split({**vector_cases(cfg), **sfu_cases(cfg), **divsqrt_cases(cfg), **stein_cases(cfg),
                              **deq_cases(cfg), **broadcast_cases(cfg), **accf_cases(cfg), **adam_cases(cfg),
                              **rng_cases(cfg), **reduce_cases(cfg),
                              **quantr_cases(cfg), **view_cases(cfg)})
    i_cases, i_want = illegal_cases(cfg)
    results = run_pysim(cfg, {**g_cases, **v_cases, **i_cases}, preload_dram=True)
    return (g_cases, g_want), (v_cases, v_want), (i_cases, i_want), results


def test_top_gemm_programs_pysim(pysim_run):
    (cases, want), _, _, results = pysim_run
    _check(cases, want, results, compare)


def test_top_vector_chain_pysim(pysim_run):
    """VEC unit: element-wise FP32 instructions fed by DMA and by GEMM + ACCF."""
    _, (cases, want), _, results = pysim_run
    _check({"vec_chain": cases["vec_chain"]}, want, results, compare)


def test_top_special_functions_pysim(pysim_run):
    """VTANH, VSIN, VCOS (pipelined SFU, own write ports) mixed with arithmetic VEC instructions:
    every stored word, total cycles and each unit's busy/stall equal the simulator's."""
    _, (cases, want), _, results = pysim_run
    # the case does what it is for: cycles in which all three VEC write ports write
    assert vec_write_overlap(want["sfu_chain"]["analysis"]).get(("arith", "sincos", "tanh"), 0) > 0
    _check({"sfu_chain": cases["sfu_chain"]}, want, results, compare)


def test_top_divide_and_sqrt_pysim(pysim_run):
    """VDIV and VSQRT (unrolled divider and square root, one write port for both) back to back
    and mixed with other VEC instructions: every stored word, total cycles and each unit's
    busy/stall equal the simulator's."""
    _, (cases, want), _, results = pysim_run
    w = want["divsqrt_chain"]
    # the case does what it is for: arithmetic and divide/sqrt writes in the same cycles,
    # and invalid operations whose NumPy NaN is not the canonical one
    assert vec_write_overlap(w["analysis"]).get(("arith", "divsqrt"), 0) > 0
    assert noncanonical_nan_lanes(w) > 0
    _check({"divsqrt_chain": cases["divsqrt_chain"]}, want, results, compare)


def test_top_rng_pysim(pysim_run):
    """RNG (keys once per instruction, one Box-Muller pair per lane, the scale multiply; own
    write port) of odd and even counts, a 1×1 and single-row dst, back to back, mixed with
    VADD, VTANH, VDIV, VMUL, and over ranges in use (WAR, WAW): every stored word, cycles,
    busy and stall equal the simulator's."""
    from pinta.hw.top_programs import RNG_CHAIN

    _, (cases, want), _, results = pysim_run
    w = want["rng_chain"]
    an = w["analysis"]
    rngs = [e for e in an.schedule if e.mnemonic == "RNG"]
    # the case does what it is for: RNGs issued the cycle the previous one's occupancy ends,
    # RNG passes written in the same cycles as other ones, RNGs held by WAR / WAW
    assert any(b.issue == a.issue + a.occupancy for a, b in zip(rngs, rngs[1:]))
    assert any("rng" in ports and len(ports) > 1 for ports in vec_write_overlap(an))
    assert an.stall["VEC"] > 0
    assert {rows * cols % 2 for _, rows, cols, *_ in RNG_CHAIN} == {0, 1}
    _check({"rng_chain": cases["rng_chain"]}, want, results, compare)


def test_top_stein_pysim(pysim_run):
    """STEIN (two passes per L elements, gdiff then gsum through the arithmetic write port)
    back to back with VADD, VMUL, VTANH, chained (RAW on both results) and over a range
    still read (WAR): every stored word, cycles, busy and stall equal the simulator's."""
    _, (cases, want), _, results = pysim_run
    an = want["stein_chain"]["analysis"]
    sched = [e for e in an.schedule if e.unit.name == "VEC"]
    # the case does what it is for: a STEIN issued the cycle its predecessor's occupancy ends,
    # on both sides, and one held by a WAR on its second result
    assert any(a.mnemonic != "STEIN" and b.mnemonic == "STEIN" and b.issue == a.issue + a.occupancy
               for a, b in zip(sched, sched[1:]))
    assert any(a.mnemonic == "STEIN" and b.mnemonic != "STEIN" and b.issue == a.issue + a.occupancy
               for a, b in zip(sched, sched[1:]))
    assert an.stall["VEC"] > 0
    _check({"stein_chain": cases["stein_chain"]}, want, results, compare)


def test_top_reductions_pysim(pysim_run):
    """VSUM over both axes and VRED (v0) on the reduction engine (halving tree in bit-reversed
    post-order, hw/top_reduce.py), back to back with each other and with element-wise VEC
    instructions: every stored word, cycles, busy and stall equal the simulator's."""
    _, (cases, want), _, results = pysim_run
    w = want["reduce_chain"]
    sched = [e for e in w["analysis"].schedule if e.unit.name == "VEC"]
    # the case does what it is for: reductions issued the cycle the previous VEC
    # instruction's occupancy ends, behind a reduction and behind an element-wise pass
    red = ("VSUM", "VRED")
    pairs = [(a.mnemonic in red, b.mnemonic in red) for a, b in zip(sched, sched[1:]) if b.issue == a.issue + a.occupancy]
    assert (True, True) in pairs and (False, True) in pairs and (True, False) in pairs
    _check({"reduce_chain": cases["reduce_chain"]}, want, results, compare)


def test_top_acc_views_pysim(pysim_run):
    """QUANT and QUANTR of accumulator sources through the TT backward's dtq view (each
    output block gathers two records whose exponents differ by ~2^23; hw/top_gather.py),
    GEMMs consuming the results: every stored word, cycles, busy and stall equal the
    simulator's; the forward's tq view on an accumulator still stops with error 2."""
    from pinta.hw.top_gather import acc_view_split

    _, (cases, want), _, results = pysim_run
    an = want["view_acc_dtq"]["analysis"]
    names = set()
    for i, ins in enumerate(an.program):
        if ins.mnemonic in ("QUANT", "QUANTR") and ins["view"]:
            src = an.descriptors[i][ins["src"]]
            v = an.views[i][ins["view"]]
            assert src.fmt.name == "acc"
            assert acc_view_split(v.dims, v.perm, an.descriptors[i][ins["dst"]].cols, src.cols) is not None
            names.add(ins.mnemonic)
    assert names == {"QUANT", "QUANTR"}
    _check({k: cases[k] for k in ("view_acc_dtq", "view_acc_unimplemented")}, want, results, check_illegal)


def test_top_vred_views_pysim(pysim_run):
    """VRED through identity-permutation view registers (the engine takes the view's dims):
    every stored word, cycles, busy and stall equal the simulator's; a VRED through a
    permuting view stops with error 2 (its gathered source is not built)."""
    _, (cases, want), _, results = pysim_run
    an = want["vred_views"]["analysis"]
    # the case does what it is for: VREDs through views v1..v7, of all three shapes the engine has
    from pinta.hw.top_reduce import reduce_dims

    kinds = set()
    for i, ins in enumerate(an.program):
        if ins.mnemonic == "VRED":
            v = an.views[i][ins["view"]]
            assert ins["view"] != 0 and tuple(v.perm) == (0, 1, 2, 3)
            outer, nred, inner = reduce_dims(v.dims, ins["axis"], ins["axis"] + ins["span"] + 1)
            kinds.add("copy" if nred == 1 else "B" if inner == 1 else "A")
    assert kinds == {"copy", "A", "B"}
    _check({k: cases[k] for k in ("vred_views", "vred_perm_unimplemented")}, want, results, check_illegal)


def test_top_deq_pysim(pysim_run):
    """DEQ of smx4/8/12 at both ends of FP32's exact range: bit-exact, cycle-exact, no error;
    the same program with a value FP32 cannot hold stops with DEQ_INEXACT at that DEQ, at its
    done cycle, with the simulator's counters of the stopped run and its completed STORE;
    and a fault after an illegal word stopped issue reports the fault (the earlier one)."""
    _, (cases, want), _, results = pysim_run
    assert want["deq_exact"]["stop"] is None
    stop = want["deq_fault"]["stop"]
    assert stop is not None and stop.code == "DEQ_INEXACT" and want["deq_fault"]["stores"]
    assert stop.issued < want["deq_fault"]["n"]
    _check({k: cases[k] for k in ("deq_exact", "deq_fault", "deq_fault_after_illegal")}, want, results, check_illegal)


def test_top_accf_overflow_pysim(pysim_run):
    """ACCF of products at the top of FP32: the largest value and a value just below the
    rounding tie (both signs) convert with no error, bit- and cycle-exact; the tie itself
    rounds to 2**128, and the run stops with ACCF_OVERFLOW at the ACCF in its done cycle,
    with the simulator's counters of the stopped run, the STOREs ahead of it done and the
    ACCF's consumer never issued."""
    _, (cases, want), _, results = pysim_run
    assert want["accf_top"]["stop"] is None
    stop = want["accf_overflow"]["stop"]
    assert stop is not None and stop.code == "ACCF_OVERFLOW"
    prog = want["accf_overflow"]["analysis"].program
    assert prog[stop.index].mnemonic == "ACCF" and stop.issued < len(prog)
    assert set(want["accf_overflow"]["stores"]) == {"neg", "acc"}
    _check({k: cases[k] for k in ("accf_top", "accf_overflow")}, want, results, compare)


def test_top_broadcast_pysim(pysim_run):
    """VADDB, VSUBB, VMULB with b's rows repeated (g = 4, a bias row, g = 1; full-width and
    one-column b) through the row-repeat address generator, mixed with VADD and STEIN; and a
    broadcast whose passes would span rows of a, which stops with error 2 (not implemented)."""
    _, (cases, want), _, results = pysim_run
    _check({k: cases[k] for k in ("broadcast", "broadcast_unaligned")}, want, results, check_illegal)


def test_top_adam_pysim(pysim_run):
    """ADAM (hw/top_adam.py: three passes per L elements; m, v, s through the arithmetic write
    port, w through the VSIN/VCOS port at its depth) on a 7×5 tensor and a single row, back
    to back with VADD and VSIN on both sides, and a second step (RAW): every stored word,
    cycles, busy and stall equal the simulator's."""
    _, (cases, want), _, results = pysim_run
    sched = [e for e in want["adam_chain"]["analysis"].schedule if e.unit.name == "VEC"]
    # the case does what it is for: ADAM issued the cycle a VADD's occupancy ends, an ADAM
    # right behind it, a VSIN right behind that, and an ADAM held by RAW on an ADAM
    assert [e.mnemonic for e in sched] == ["VADD", "ADAM", "ADAM", "VSIN", "VADD", "ADAM"]
    assert all(b.issue == a.issue + a.occupancy for a, b in zip(sched[:4], sched[1:5]))
    assert sched[5].issue == sched[1].done
    _check({"adam_chain": cases["adam_chain"]}, want, results, compare)


def test_top_illegal_instruction_stops_cleanly_pysim(pysim_run):
    _, _, (cases, want), results = pysim_run
    _check(cases, want, results, check_illegal)


@pytest.fixture(scope="session")
def top_model(tmp_path_factory):
    from pinta.hw.top_sim import build_system

    base = os.environ.get("PINTA_RTL_BUILD_DIR")
    return build_system(load_config("tiny"), Path(base) if base else tmp_path_factory.mktemp("rtl_top"))


@pytest.mark.slow
def test_top_programs_verilator(top_model, tmp_path):
    cfg = load_config("tiny")
    g_cases, g_want = _split({**gemm_cases(cfg), **vector_cases(cfg), **sfu_cases(cfg, large=True),
                              **divsqrt_cases(cfg, large=True), **stein_cases(cfg), **deq_cases(cfg),
                              **broadcast_cases(cfg), **accf_cases(cfg), **adam_cases(cfg, large=True),
                              **rng_cases(cfg), **reduce_cases(cfg),
                              **quantr_cases(cfg), **view_cases(cfg)})
    i_cases, i_want = illegal_cases(cfg)
    cases = {**g_cases, **i_cases}
    want = {**g_want, **i_want}
    results = run_cocotb(top_model, HERE, tmp_path, cases)
    _check(cases, want, results, check_illegal)


@pytest.mark.slow
def test_top_default_config_pysim():
    """The default configuration (4×4 PEs, 16 lanes): every GEMM case (paced tile drains
    included), the vector chain, the special-function chain, the divide / square-root chain and
    the STEIN, DEQ, broadcast, ACCF, ADAM, RNG, reduction, QUANTR and view cases, in the Amaranth simulator."""
    cfg = load_config("default")
    cases, want = _split({**gemm_cases(cfg), **vector_cases(cfg), **sfu_cases(cfg), **divsqrt_cases(cfg),
                          **stein_cases(cfg), **deq_cases(cfg), **broadcast_cases(cfg), **accf_cases(cfg),
                          **adam_cases(cfg), **rng_cases(cfg), **reduce_cases(cfg),
                              **quantr_cases(cfg), **view_cases(cfg)})
    results = run_pysim(cfg, cases, preload_dram=True)
    _check(cases, want, results, check_illegal, config="default")


def test_pinta_verilog_registers_the_top():
    """`pinta verilog` emits the top as block ``pinta_top`` (elaborated lazily)."""
    from pinta.hw.top import PintaTop
    from pinta.hw.verilog import BLOCKS, build_block

    assert "pinta_top" in BLOCKS
    assert isinstance(build_block("pinta_top", load_config("tiny")), PintaTop)


@pytest.mark.slow
def test_pinta_verilog_top_lint_clean(tmp_path):
    """`pinta verilog --block pinta_top` output passes Verilator -Wall with the documented waivers."""
    from pinta.cli import main
    from pinta.hw.lint import lint

    assert main(["verilog", "--config", "tiny", "-o", str(tmp_path), "--block", "pinta_top"]) == 0
    result = lint(tmp_path / "pinta_top.v", "pinta_top")
    assert result.ok, "lint warnings:\n" + "\n".join(result.warnings[:30])


def test_top_quantr_pysim(pysim_run):
    """QUANTR with the identity view: row tiles of two SMX operands from fp32 sources (a
    reshape, a tile of 6 rows ending at dst's last row) and from an accumulator, written out of
    row order, a QUANT and a QUANTR back to back, GEMMs consuming the tiled operands (RAW) and
    a QUANTR over a tile a GEMM in flight reads (WAR): every stored word, cycles, busy and
    stall equal the simulator's."""
    _, (cases, want), _, results = pysim_run
    an = want["quantr_tiles"]["analysis"]
    sched = an.schedule
    # the case does what it is for: a QNT instruction issued the cycle a QUANTR's occupancy ends
    assert any(a.mnemonic == "QUANTR" and b.unit.name == "QNT" and b.issue == a.issue + a.occupancy
               for a, b in zip([e for e in sched if e.unit.name == "QNT"], [e for e in sched if e.unit.name == "QNT"][1:]))
    assert any(e.mnemonic == "QUANTR" and an.program[i]["row"] > 0 for i, e in enumerate(sched))
    _check({"quantr_tiles": cases["quantr_tiles"]}, want, results, compare)


def test_top_views_pysim(pysim_run):
    """QUANT and QUANTR through views (the TT engine's address generation; hw/top_view.py)
    from fp32 sources, with row and column windows, odd window starts, padded blocks and the
    identity view in between, GEMMs consuming the results: every stored word, cycles, busy
    and stall equal the simulator's. An accumulator source through a view, and an fp32 view
    without 4-word windows, stop with error 2 (not implemented)."""
    from pinta.hw.top_view import view_split

    _, (cases, want), _, results = pysim_run
    an = want["view_chain"]["analysis"]
    # the case does what it is for: QUANT and QUANTR, both window kinds, every view readable
    kinds, names = set(), set()
    for i, ins in enumerate(an.program):
        if ins.mnemonic in ("QUANT", "QUANTR") and ins["view"]:
            v = an.views[i][ins["view"]]
            sp = view_split(v.dims, v.perm, an.descriptors[i][ins["dst"]].cols)
            assert sp is not None
            names.add(ins.mnemonic)
            kinds.add(sp[2])
    assert kinds == {False, True}
    assert names == {"QUANT", "QUANTR"}
    _check({k: cases[k] for k in ("view_chain", "view_acc_unimplemented", "view_unwindowed_unimplemented")},
           want, results, check_illegal)
