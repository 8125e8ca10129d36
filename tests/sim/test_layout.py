"""On-chip memory layout: exact bit positions and pack/unpack round trips."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pinta.config import load_config
from pinta.golden.smx import SMXTensor, smx_matmul, smx_quantize
from pinta.sim import layout
from pinta.sim.isa import Fmt

CFG = load_config("tiny")


def _block_tensor(codes_4x4, exponent, bits):
    return SMXTensor(np.asarray(codes_4x4, dtype=np.int16), np.array([[exponent]], dtype=np.int16), (4, 4), bits)


@pytest.mark.parametrize("bits", [4, 8, 12])
def test_one_block_bit_positions(bits):
    """Code (i, j) of a block sits at bit (4i + j)·b of the record, two's complement."""
    limit = (1 << (bits - 1)) - 1
    codes = np.array([(-1) ** k * min(k + 1, limit) for k in range(16)]).reshape(4, 4)
    words = layout.pack_smx(_block_tensor(codes, -5, bits), CFG)
    assert words.size == layout.footprint_words(Fmt[f"smx{bits}"], 4, 4, CFG) == bits // 4 + 1
    record = sum(int(w) << (64 * k) for k, w in enumerate(words[: bits // 4]))
    for k in range(16):
        field = (record >> (k * bits)) & ((1 << bits) - 1)
        assert field == int(codes.reshape(-1)[k]) & ((1 << bits) - 1)
    # Exponent slot 0 of the exponent region: 8-bit two's complement.
    assert int(words[bits // 4]) & 0xFF == (-5) & 0xFF
    assert int(words[bits // 4]) >> 8 == 0


def test_block_order_is_block_row_major():
    x = np.zeros((8, 8))
    for bi in range(2):
        for bj in range(2):
            x[4 * bi, 4 * bj] = 2 * bi + bj + 1  # marker in element (0, 0) of each block
    t = smx_quantize(x, 8, CFG)
    words = layout.pack_smx(t, CFG)
    firsts = [int(words[2 * k]) & 0xFF for k in range(4)]  # INT8: 2 words per block record
    assert firsts == [t.codes[0, 0], t.codes[0, 4], t.codes[4, 0], t.codes[4, 4]]
    exps = int(words[8])
    assert [(exps >> (8 * k)) & 0xFF for k in range(4)] == [int(e) & 0xFF for e in t.exponents.reshape(-1)]


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 13), st.integers(1, 13), st.sampled_from([4, 8, 12]), st.integers(0, 2**32 - 1))
def test_smx_round_trip(rows, cols, bits, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, cols)) * np.exp2(rng.integers(-20, 20, size=(rows, cols)))
    t = smx_quantize(x, bits, CFG)
    words = layout.pack_smx(t, CFG)
    assert words.dtype == np.uint64 and words.size == layout.footprint_words(Fmt[f"smx{bits}"], rows, cols, CFG)
    assert layout.unpack_smx(words, rows, cols, bits, CFG) == t


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 11), st.integers(1, 11), st.integers(1, 11), st.integers(0, 2**32 - 1))
def test_acc_round_trip_and_bits(m, k, n, seed):
    rng = np.random.default_rng(seed)
    a = smx_quantize(rng.standard_normal((m, k)), 12, CFG)
    b = smx_quantize(rng.standard_normal((k, n)), 8, CFG)
    acc = smx_matmul(a, b, cfg=CFG)
    words = layout.pack_acc(acc, CFG)
    assert words.size == layout.footprint_words(Fmt.acc, m, n, CFG)
    back = layout.unpack_acc(words, m, n, CFG)
    assert np.array_equal(back.acc, acc.acc) and np.array_equal(back.exponents, acc.exponents) and back.shape == acc.shape
    # Element (0, 1) of block (0, 0) is word 1, a sign-extended 64-bit integer.
    assert np.array(words[1]).view(np.int64) == acc.acc[0, 1]


def test_fp32_layout_two_per_word_low_half_first():
    x = np.array([[1.0, -2.0, 3.5]], dtype=np.float32)
    words = layout.pack_fp32(x)
    assert words.size == layout.footprint_words(Fmt.fp32, 1, 3, CFG) == 2
    bits = x.view(np.uint32).reshape(-1)
    assert int(words[0]) == int(bits[0]) | (int(bits[1]) << 32)
    assert int(words[1]) == int(bits[2])  # odd count: top half of the last word is zero
    assert np.array_equal(layout.unpack_fp32(words, 1, 3), x)


def test_exponent_slots_widen_with_exponent_bits():
    wide = CFG.replace(exponent_bits=10)
    assert layout.exponent_slot_bits(CFG) == 8 and layout.exponent_slot_bits(wide) == 16
    # 9 blocks of 8-bit slots need 2 words; of 16-bit slots 3 words.
    assert layout.footprint_words(Fmt.smx8, 12, 12, CFG) - 18 == 2
    assert layout.footprint_words(Fmt.smx8, 12, 12, wide) - 18 == 3
