"""Invalid programs are refused with a message naming the instruction and the problem."""

import pytest

from pinta.config import load_config
from pinta.sim.isa import assemble
from pinta.sim.layout import buffer_words, footprint_words
from pinta.sim.isa import Fmt
from pinta.sim.program import ProgramError, analyze

CFG = load_config("tiny")
W_WORDS = buffer_words(CFG.buffers.weights)

# A valid prefix: two SMX8 operands and an accumulator, loaded/produced in order.
PREFIX = """
TDESC t0, buf=activations, fmt=fp32, addr=0x0, rows=8, cols=8
LOAD t0, dram=0x0
TDESC t1, buf=weights, fmt=smx8, addr=0x0, rows=8, cols=8
QUANT t1, t0, v0
TDESC t2, buf=weights, fmt=smx8, addr=0x40, rows=8, cols=8
QUANT t2, t0, v0
TDESC t3, buf=gradients, fmt=acc, addr=0x0, rows=8, cols=8
"""
N_PREFIX = len(assemble(PREFIX))


def refuse(body, cfg=CFG):
    with pytest.raises(ProgramError) as e:
        analyze(assemble(PREFIX + body), cfg)
    return e.value


def test_valid_prefix_and_gemm_pass():
    an = analyze(assemble(PREFIX + "GEMM t3, t1, t2, mode=i8x8, ta=0, tb=1, accum=0\n"), CFG)
    assert an.total_cycles > 0


@pytest.mark.parametrize("body, index_offset, mnemonic, words", [
    (f"TDESC t4, buf=weights, fmt=fp32, addr={W_WORDS}, rows=1, cols=1", 0, "TDESC", "outside buffer weights"),
    (f"TDESC t4, buf=weights, fmt=fp32, addr={W_WORDS - 1}, rows=2, cols=3", 0, "TDESC", "overflows buffer weights"),
    ("TDESC t4, buf=weights, fmt=fp32, addr=0, rows=0, cols=3", 0, "TDESC", "empty shape"),
    ("GEMM t3, t1, t9, mode=i8x8, ta=0, tb=0, accum=0", 0, "GEMM", "t9 is not defined"),
    ("GEMM t3, t1, t2, mode=i12x8, ta=0, tb=0, accum=0", 0, "GEMM", "not MAC mode i12x8"),
    ("GEMM t3, t1, t2, mode=i8x8, ta=0, tb=0, accum=1", 0, "GEMM", "not implemented yet"),
    ("TDESC t4, buf=weights, fmt=smx8, addr=0x80, rows=8, cols=8\nGEMM t4, t1, t2, mode=i8x8, ta=0, tb=0, accum=0",
     1, "GEMM", "dst=t4 is smx8; GEMM needs acc"),
    ("TDESC t4, buf=gradients, fmt=acc, addr=0x0, rows=8, cols=4\nGEMM t4, t1, t2, mode=i8x8, ta=0, tb=0, accum=0",
     1, "GEMM", "shape mismatch: dst is 8x4"),
    ("TDESC t4, buf=weights, fmt=smx8, addr=0x80, rows=8, cols=4\nGEMM t3, t4, t2, mode=i8x8, ta=0, tb=0, accum=0",
     1, "GEMM", "reads weights[0x80]"),
    ("TDESC t4, buf=weights, fmt=smx8, addr=0x80, rows=8, cols=4\nLOAD t4, dram=0x100\nGEMM t3, t4, t2, mode=i8x8, ta=0, tb=0, accum=0",
     2, "GEMM", "shape mismatch: op(a) is 8x4 but op(b) is 8x8"),
    ("TDESC t4, buf=activations, fmt=fp32, addr=0x100, rows=8, cols=8\nVADD t4, t0, t4", 1, "VADD", "reads activations[0x100]"),
    ("TDESC t4, buf=activations, fmt=fp32, addr=0x100, rows=4, cols=8\nVADD t4, t0, t0", 1, "VADD", "shape mismatch"),
    ("VIEW v1, d0=2, d1=2, d2=2, d3=2, perm=0012", 0, "VIEW", "not a permutation"),
    ("VIEW v1, d0=2, d1=2, d2=2, d3=2, perm=0123\nTDESC t4, buf=weights, fmt=smx8, addr=0x80, rows=4, cols=4\nQUANT t4, t0, v1",
     2, "QUANT", "view v1 has 16 elements, src has 8x8 = 64"),
    ("TDESC t4, buf=weights, fmt=smx8, addr=0x80, rows=4, cols=4\nQUANT t4, t0, v2", 1, "QUANT", "v2 is not defined"),
    ("TDESC t4, buf=weights, fmt=smx8, addr=0x80, rows=16, cols=8\nQUANTR t4, t0, v2, row=0", 1, "QUANTR", "v2 is not defined"),
    ("VIEW v1, d0=2, d1=2, d2=2, d3=2, perm=0123\nTDESC t4, buf=weights, fmt=smx8, addr=0x80, rows=16, cols=8\n"
     "QUANTR t4, t0, v1, row=0", 2, "QUANTR", "view v1 has 16 elements, src has 8x8 = 64"),
    ("WAIT unit=CTRL", 0, "WAIT", "meaningless"),
    ("TDESC t4, buf=activations, fmt=fp32, addr=0x100, rows=1, cols=7\nVSUM t4, t0, axis=0", 1, "VSUM", "shape mismatch"),
])
def test_rejections_name_instruction_and_problem(body, index_offset, mnemonic, words):
    e = refuse(body)
    assert e.index == N_PREFIX + index_offset and e.mnemonic == mnemonic
    assert str(e).startswith(f"instruction {N_PREFIX + index_offset} ({mnemonic}): ")
    assert words in str(e)


def test_unsupported_precision_is_refused():
    no_int4 = CFG.replace(element_bits=(8, 12))
    e = refuse("TDESC t4, buf=weights, fmt=smx4, addr=0x80, rows=4, cols=4", no_int4)
    assert "unsupported precision smx4" in str(e) and "element_bits" in str(e)


def test_mode_needing_missing_width_is_refused():
    no_int4 = CFG.replace(element_bits=(8, 12))
    e = refuse("GEMM t3, t1, t2, mode=i4x4, ta=0, tb=0, accum=0", no_int4)
    assert "MAC mode i4x4" in str(e) and "unsupported precision" in str(e)


def test_accumulator_overflow_bound_is_enforced():
    # K long enough that 4-deep INT12xINT8 block partials could overflow the accumulator.
    k = 4 * ((1 << (CFG.accumulator_bits - 1)) // ((4 * 2047 * 127) << CFG.align_guard_bits) + 1)
    big = CFG.replace(buffers=dict(weights=1 << 14, activations=1 << 14, gradients=1 << 14, optimizer=16))
    text = f"""
TDESC t0, buf=weights, fmt=smx12, addr=0x0, rows=4, cols={k}
LOAD t0, dram=0x0
TDESC t1, buf=activations, fmt=smx8, addr=0x0, rows={k}, cols=4
LOAD t1, dram=0x0
TDESC t2, buf=gradients, fmt=acc, addr=0x0, rows=4, cols=4
GEMM t2, t0, t1, mode=i12x8, ta=0, tb=0, accum=0
"""
    with pytest.raises(ProgramError, match=r"instruction 5 \(GEMM\): .*overflow"):
        analyze(assemble(text), big)


def test_written_regions_are_tracked_by_word():
    # Writing the first half of a region and reading the whole is refused at the first unwritten word.
    half = footprint_words(Fmt.fp32, 2, 8, CFG)
    body = f"""TDESC t4, buf=optimizer, fmt=fp32, addr=0x0, rows=2, cols=8
LOAD t4, dram=0x0
TDESC t5, buf=optimizer, fmt=fp32, addr=0x0, rows=4, cols=8
VNEG t5, t5"""
    e = refuse(body)
    assert f"reads optimizer[0x{half:x}]" in str(e)


def test_missing_golden_function_is_refused_not_stubbed(monkeypatch):
    from pinta.sim import golden_ops
    from pinta.sim.program import _analyze

    monkeypatch.setitem(golden_ops.GOLDEN_FUNCTIONS, "VTANH", ("fp32|no_such_module", "fp32_tanh_not_written"))
    text = PREFIX + "TDESC t4, buf=activations, fmt=fp32, addr=0x100, rows=8, cols=8\nVTANH t4, t0\n"
    with pytest.raises(ProgramError) as e:
        _analyze(assemble(text), CFG)  # uncached: the lookup must happen now
    assert e.value.index == N_PREFIX + 1 and e.value.mnemonic == "VTANH"
    assert "not implemented yet" in str(e.value) and "fp32_tanh_not_written" in str(e.value)
    with pytest.raises(golden_ops.NotImplementedYet):
        golden_ops.golden_function("VTANH")


@pytest.mark.parametrize("body, words", [
    # QUANT writing over its own source.
    ("TDESC t4, buf=activations, fmt=smx8, addr=0x10, rows=4, cols=4\nQUANT t4, t0, v0", "overlaps operand src=t0"),
    # Two results of one instruction on the same words.
    ("STEIN t0, t0, t0, t0", "results gdiff=t0 and gsum=t0 overlap"),
])
def test_overlapping_results_are_refused(body, words):
    assert words in str(refuse(body))


def test_in_place_vector_update_is_allowed():
    an = analyze(assemble(PREFIX + "VTANH t0, t0\nVADD t0, t0, t0\n"), CFG)
    assert [s.mnemonic for s in an.schedule[-2:]] == ["VTANH", "VADD"]


def test_stein_estimate_shapes_are_checked():
    body = """TDESC t4, buf=activations, fmt=fp32, addr=0x100, rows=8, cols=3
TDESC t5, buf=activations, fmt=fp32, addr=0x120, rows=8, cols=1
TDESC t6, buf=activations, fmt=fp32, addr=0x130, rows=8, cols=1
STEINE t4, t5, t6, t0, t0, t0, sigma=0.01"""
    e = refuse(body)
    assert e.mnemonic == "STEINE" and "d needs 64 rows" in str(e)
