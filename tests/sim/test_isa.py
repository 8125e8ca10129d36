"""ISA: binary encoding, text form, assembler/disassembler round trips, docs agreement."""

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pinta.sim import isa
from pinta.sim.isa import OPCODES, AsmError, Instr, assemble, decode, disassemble, encode, format_instr

DOCS = Path(__file__).resolve().parents[2] / "docs" / "isa.md"


@st.composite
def instructions(draw):
    spec = draw(st.sampled_from(sorted(OPCODES.values(), key=lambda s: s.opcode)))
    values = {}
    for f in spec.fields:
        if f.kind == "enum":
            values[f.name] = int(draw(st.sampled_from(list(f.enum_type))))
        elif f.kind == "view" and f.name == "v":
            values[f.name] = draw(st.integers(1, (1 << f.width) - 1))
        else:
            values[f.name] = draw(st.integers(0, (1 << f.width) - 1))
    return Instr.make(spec.mnemonic, **values)


@settings(max_examples=400, deadline=None)
@given(instructions())
def test_binary_round_trip(ins):
    word = encode(ins)
    assert 0 <= word < 1 << isa.WORD_BITS
    assert word >> 120 == ins.spec.opcode
    assert (word >> 117) & 7 == ins.spec.unit
    assert decode(word) == ins


@settings(max_examples=400, deadline=None)
@given(st.lists(instructions(), max_size=12))
def test_text_binary_text_is_identity(program):
    text = disassemble(program)
    binary = isa.program_to_bytes(program)
    assert len(binary) == isa.WORD_BYTES * len(program)
    again = disassemble(isa.program_from_bytes(isa.program_to_bytes(assemble(text))))
    assert again == text


def test_text_form_is_readable_and_keywords_any_order():
    a = assemble("GEMM t2, t0, t1, tb=1, mode=i12x8, ta=0, accum=0   # comment\n\n; \n".replace("; \n", ""))
    assert format_instr(a[0]) == "GEMM t2, t0, t1, mode=i12x8, ta=0, tb=1, accum=0"
    v = assemble("VIEW v3, d0=2, d1=3, d2=4, d3=5, perm=0213")[0]
    assert [(v["perm"] >> (2 * k)) & 3 for k in range(4)] == [0, 2, 1, 3]
    r = assemble("RNG t1, seed=0x2a, stream=3, ctr=10, scale=0.01")[0]
    assert format_instr(r) == "RNG t1, seed=0x2a, stream=3, ctr=10, scale=0.01"


@pytest.mark.parametrize("line, words", [
    ("FOO t1", "unknown mnemonic"),
    ("GEMM t1, t2", "missing field 't3'"[:15]),
    ("TDESC t1, buf=sram, fmt=fp32, addr=0, rows=1, cols=1", "buf='sram'"),
    ("TDESC t40, buf=weights, fmt=fp32, addr=0, rows=1, cols=1", "does not fit 5 bits"),
    ("VIEW v0, d0=1, d1=1, d2=1, d3=1, perm=0123", "identity view"),
    ("VIEW v1, d0=1, d1=1, d2=1, d3=1, perm=012", "4 digits"),
    ("RNG t1, seed=1, stream=0, ctr=0, scale=1e60", "outside the FP32 range"),
    ("LOAD t1, dram=0x10, dram=0x20", "given twice"),
])
def test_assembler_errors_name_line_and_problem(line, words):
    with pytest.raises(AsmError) as e:
        assemble("NOP\n" + line)
    msg = str(e.value)
    assert msg.startswith("line 2:")
    assert words.split("'")[0] in msg


def test_decoder_rejects_bad_words():
    good = encode(Instr.make("LOAD", dst=1, dram=64))
    with pytest.raises(AsmError, match="unknown opcode"):
        decode((0xFF << 120) | 5, index=7)
    with pytest.raises(AsmError, match="unit field"):
        decode(good ^ (1 << 117))
    with pytest.raises(AsmError, match="reserved bits"):
        decode(good | (1 << 100))
    with pytest.raises(AsmError, match="not a multiple of 16"):
        isa.program_from_bytes(b"\0" * 17)


def test_every_layout_fits_and_opcodes_are_unique():
    assert len({s.mnemonic for s in OPCODES.values()}) == len(OPCODES)
    for spec in OPCODES.values():
        assert sum(f.width for f in spec.fields) <= 117
        for name in spec.reads + spec.writes:
            assert any(f.name == name and f.kind == "desc" for f in spec.fields)


def test_docs_encoding_table_matches_the_code():
    """docs/isa.md lists every opcode with its number, unit and field bit ranges."""
    text = DOCS.read_text()
    for spec in OPCODES.values():
        row = re.search(rf"^\| `{spec.mnemonic}` \| 0x{spec.opcode:02X} \| {spec.unit.name} \|(.*)$", text, re.M)
        assert row, f"{spec.mnemonic} missing from docs/isa.md encoding table"
        for f, off in spec.field_offsets():
            assert f"{f.name}[{off + f.width - 1}:{off}]" in row.group(1), (spec.mnemonic, f.name)
