"""SMX quantization (docs/numerics.md §1) against an independent exact reference.

The reference below uses Python's Fraction: no numpy float arithmetic, no
frexp, so it shares no code path with golden/smx.py.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pinta.config import PintaConfig
from pinta.golden import (
    SMXTensor,
    round_half_away_from_zero,
    saturate,
    shared_exponent,
    smx_dequantize,
    smx_quantize,
)
from pinta.golden import smx as smx_module

CFG = PintaConfig()
E_MIN, E_MAX = CFG.exponent_min, CFG.exponent_max
WIDTHS = (4, 8, 12)


# ---------------------------------------------------------------------------
# Independent reference (exact rational arithmetic)
# ---------------------------------------------------------------------------

def ref_round(y: Fraction) -> int:
    magnitude = math.floor(abs(y) + Fraction(1, 2))
    return magnitude if y >= 0 else -magnitude


def ref_floor_log2(m: Fraction) -> int:
    e = m.numerator.bit_length() - m.denominator.bit_length()
    # e is floor(log2 m) or one above it.
    return e - 1 if Fraction(2) ** e > m else e


def ref_quantize(x: np.ndarray, bits: int, e_min: int = E_MIN, e_max: int = E_MAX):
    rows, cols = x.shape
    p, q = -(-rows // 4) * 4, -(-cols // 4) * 4
    codes = np.zeros((p, q), dtype=np.int64)
    exps = np.zeros((p // 4, q // 4), dtype=np.int64)
    limit = 2 ** (bits - 1) - 1
    for bi in range(p // 4):
        for bj in range(q // 4):
            cells = [(i, j) for i in range(4 * bi, 4 * bi + 4) for j in range(4 * bj, 4 * bj + 4)]
            vals = {c: Fraction(float(x[c])) if c[0] < rows and c[1] < cols else Fraction(0) for c in cells}
            m = max(abs(v) for v in vals.values())
            if m == 0:
                exps[bi, bj] = e_min
                continue
            e = min(max(ref_floor_log2(m) - (bits - 2), e_min), e_max)
            exps[bi, bj] = e
            for c, v in vals.items():
                codes[c] = min(max(ref_round(v / Fraction(2) ** e), -limit), limit)
    return codes, exps


def assert_matches_reference(x: np.ndarray, bits: int) -> SMXTensor:
    t = smx_quantize(x, bits)
    codes, exps = ref_quantize(x, bits)
    np.testing.assert_array_equal(t.codes, codes)
    np.testing.assert_array_equal(t.exponents, exps)
    assert t.shape == x.shape and t.bits == bits
    return t


matrices = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=11),
    elements=st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, allow_subnormal=True),
)


# ---------------------------------------------------------------------------
# The scalar rules
# ---------------------------------------------------------------------------

def test_round_half_away_from_zero_edge_cases():
    pred_half = np.nextafter(0.5, 0.0)
    y = np.array([0.5, -0.5, 1.5, -1.5, 2.5, -2.5, pred_half, -pred_half, 2.0**52 + 1, -(2.0**52) - 1, 2.0**62, 0.0, -0.0])
    expected = [ref_round(Fraction(float(v))) for v in y]
    got = round_half_away_from_zero(y)
    assert got.dtype == np.int64
    assert got.tolist() == expected


@given(hnp.arrays(np.float64, st.integers(1, 50), elements=st.floats(-(2.0**62), 2.0**62)))
@settings(max_examples=200, deadline=None)
def test_round_half_away_from_zero_matches_exact_rounding(y):
    assert round_half_away_from_zero(y).tolist() == [ref_round(Fraction(float(v))) for v in y]


def test_round_refuses_non_finite_and_out_of_range():
    for bad in (np.nan, np.inf, -np.inf, 2.0**63):
        with pytest.raises(ValueError, match="finite"):
            round_half_away_from_zero(np.array([1.0, bad]))
    with pytest.raises(TypeError):
        round_half_away_from_zero(np.array([1 + 2j]))


@pytest.mark.parametrize("bits", WIDTHS)
def test_saturate_both_ends(bits):
    limit = 2 ** (bits - 1) - 1
    q = np.arange(-limit - 5, limit + 6)
    s = saturate(q, bits)
    assert s.min() == -limit and s.max() == limit
    np.testing.assert_array_equal(s, np.clip(q, -limit, limit))
    assert -(limit + 1) not in s  # the asymmetric code -2**(b-1) is never produced
    # Saturating reals before rounding equals rounding before saturating.
    y = np.linspace(-limit - 3, limit + 3, 1001)
    np.testing.assert_array_equal(round_half_away_from_zero(saturate(y, bits)), saturate(round_half_away_from_zero(y), bits))


@pytest.mark.parametrize("bits", WIDTHS)
def test_shared_exponent_exact_at_powers_of_two(bits):
    for e in range(-1074, 1024, 7):
        m = math.ldexp(1.0, e)
        below = np.nextafter(m, 0.0)
        got = shared_exponent(np.array([m, below, 0.0]), bits, CFG)
        assert got.dtype == np.int16
        for value, g in zip((m, below), got[:2]):
            if value == 0.0:  # nextafter below the smallest subnormal
                continue
            want = min(max(ref_floor_log2(Fraction(value)) - (bits - 2), E_MIN), E_MAX)
            assert g == want, (value, g, want)
        assert got[2] == E_MIN


def test_shared_exponent_refuses_bad_maxima():
    with pytest.raises(ValueError):
        shared_exponent(np.array([-1.0]), 8)
    with pytest.raises(ValueError):
        shared_exponent(np.array([np.nan]), 8)


# ---------------------------------------------------------------------------
# Exhaustive: every code, every exponent
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("bits", WIDTHS)
@pytest.mark.parametrize("exponent", [E_MIN, -40, -1, 0, 9, E_MAX])
def test_every_code_round_trips(bits, exponent):
    limit = 2 ** (bits - 1) - 1
    every = np.arange(-limit, limit + 1)
    # Each 4×4 block holds 15 codes from the list plus the top code +-limit,
    # so every block keeps exponent `exponent` when re-quantized.
    n_blocks = -(-len(every) // 15)
    filler = np.resize(every, n_blocks * 15).reshape(n_blocks, 15)
    anchor = np.where(np.arange(n_blocks) % 2, limit, -limit)[:, None]
    blocks = np.concatenate([anchor, filler], axis=1).reshape(n_blocks, 4, 4)
    codes = blocks.transpose(1, 0, 2).reshape(4, 4 * n_blocks).astype(np.int16)
    t = SMXTensor(codes, np.full((1, n_blocks), exponent, np.int16), codes.shape, bits)
    values = smx_dequantize(t)
    np.testing.assert_array_equal(values, codes * 2.0**exponent)
    again = smx_quantize(values, bits)
    assert again == t
    assert set(np.unique(again.codes)) == set(every)


@pytest.mark.parametrize("bits", WIDTHS)
def test_every_exponent_is_reached(bits):
    # A block whose maximum is exactly 2**(E + b - 2) gets exponent E and its
    # maximum gets code 2**(b-2).
    exps = np.arange(E_MIN, E_MAX + 1)
    x = np.zeros((4, 4 * len(exps)))
    x[1, 4 * np.arange(len(exps)) + 2] = np.ldexp(1.0, exps + bits - 2)
    x[3, 4 * np.arange(len(exps))] = -np.ldexp(1.0, exps + bits - 4)
    t = smx_quantize(x, bits)
    np.testing.assert_array_equal(t.exponents[0], exps)
    assert (t.codes[1, 2::4] == 2 ** (bits - 2)).all()
    assert (t.codes[3, 0::4] == -(2 ** (bits - 4))).all()
    np.testing.assert_array_equal(smx_dequantize(t), x)


@pytest.mark.parametrize("bits", WIDTHS)
def test_exponent_clamps_at_both_ends(bits):
    limit = 2 ** (bits - 1) - 1
    tiny = math.ldexp(1.0, E_MIN + bits - 2 - 5)  # wants E_min - 5
    huge = math.ldexp(1.0, E_MAX + bits - 2 + 3)  # wants E_max + 3
    x = np.array([[tiny, -tiny / 2, 0, 0, huge, -huge, huge / 4, 1.0]] + [[0.0] * 8] * 3)
    t = smx_quantize(x, bits)
    assert t.exponents[0].tolist() == [E_MIN, E_MAX]
    # Low clamp: codes are the plain rounding of x * 2**-E_min.
    assert t.codes[0, 0] == ref_round(Fraction(tiny) / Fraction(2) ** E_MIN)
    # High clamp: everything above the format saturates, symmetric.
    assert t.codes[0, 4] == limit and t.codes[0, 5] == -limit
    assert t.codes[0, 6] == limit  # 2**(b-1) units: one above the top code
    assert t.codes[0, 7] == 0  # 1.0 is far below the step 2**E_max
    assert_matches_reference(x, bits)


def test_subnormal_and_zero_blocks():
    x = np.zeros((6, 6))
    x[0, 0] = 5e-324  # smallest subnormal
    x[5, 5] = -1e-310
    t = assert_matches_reference(x, 8)
    assert (t.exponents == E_MIN).all()
    assert (t.codes == 0).all()  # far below 2**E_min
    z = smx_quantize(np.zeros((3, 9)), 4)
    assert (z.exponents == E_MIN).all() and (z.codes == 0).all()


# ---------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------

@given(matrices, st.sampled_from(WIDTHS))
@settings(max_examples=60, deadline=None)
def test_quantize_matches_reference(x, bits):
    assert_matches_reference(x, bits)


@given(matrices, st.sampled_from(WIDTHS))
@settings(max_examples=150, deadline=None)
def test_error_bound_idempotence_transpose(x, bits):
    t = smx_quantize(x, bits)
    deq = smx_dequantize(t)
    assert deq.shape == x.shape and deq.dtype == np.float64
    p, q = t.padded_shape
    assert p % 4 == 0 and q % 4 == 0 and p - x.shape[0] < 4 and q - x.shape[1] < 4
    # Per-element step 2**E of its block.
    step = np.ldexp(1.0, np.kron(t.exponents.astype(np.int32), np.ones((4, 4), np.int32)))[: x.shape[0], : x.shape[1]]
    limit = 2 ** (bits - 1) - 1
    saturated = np.abs(t.codes[: x.shape[0], : x.shape[1]]) == limit
    err = np.abs(x - deq)
    # Unsaturated: at most half a step. Saturated (a block maximum rounded up
    # to 2**(b-1)): less than one step. No exponent clamps at these magnitudes.
    assert (err[~saturated] <= step[~saturated] / 2).all()
    assert (err[saturated] < step[saturated]).all()
    # Idempotence and exact transpose.
    assert smx_quantize(deq, bits) == t
    assert smx_quantize(x.T, bits) == t.T
    np.testing.assert_array_equal(smx_dequantize(t.T), deq.T)


@given(st.integers(1, 9), st.integers(1, 9), st.sampled_from(WIDTHS), st.integers(-60, 60))
@settings(max_examples=40, deadline=None)
def test_saturation_only_at_block_maximum(rows, cols, bits, e):
    # Values just below the next power of two round up to 2**(b-1) codes and
    # saturate; everything else in the block stays in range.
    top = np.nextafter(math.ldexp(1.0, e), 0.0)
    x = np.full((rows, cols), top)
    x[::2] *= -1
    t = smx_quantize(x, bits)
    limit = 2 ** (bits - 1) - 1
    assert (np.abs(t.codes[:rows, :cols]) == limit).all()
    assert (np.sign(t.codes[:rows, :cols]) == np.sign(x)).all()
    assert (t.codes[rows:, :] == 0).all() and (t.codes[:, cols:] == 0).all()


# ---------------------------------------------------------------------------
# Errors and the container
# ---------------------------------------------------------------------------

def test_non_finite_input_is_named():
    x = np.ones((5, 6))
    x[2, 3] = np.nan
    x[4, 0] = -np.inf
    with pytest.raises(ValueError, match=r"2 non-finite value\(s\).*\(2, 3\)"):
        smx_quantize(x, 8)


def test_bad_shapes_and_widths_are_refused():
    with pytest.raises(ValueError, match=r"reshape\(1, -1\)"):
        smx_quantize(np.ones(7), 8)
    with pytest.raises(ValueError, match="2-D"):
        smx_quantize(np.ones((2, 2, 2)), 8)
    with pytest.raises(ValueError, match="empty"):
        smx_quantize(np.ones((0, 3)), 8)
    with pytest.raises(ValueError, match=r"\[4, 8, 12\]"):
        smx_quantize(np.ones((4, 4)), 16)
    with pytest.raises(ValueError, match=r"\[8, 12\]"):
        smx_quantize(np.ones((4, 4)), 4, PintaConfig(element_bits=(8, 12)))
    with pytest.raises(TypeError):
        smx_quantize(np.ones((4, 4), complex), 8)
    with pytest.raises(TypeError):
        smx_quantize(np.ones((4, 4)), 8, cfg="default")


def test_constructor_validates():
    codes = np.zeros((4, 8), np.int16)
    exps = np.zeros((1, 2), np.int16)
    SMXTensor(codes, exps, (3, 5), 8)
    with pytest.raises(TypeError, match="int16"):
        SMXTensor(codes.astype(np.int32), exps, (4, 8), 8)
    with pytest.raises(ValueError, match="multiples of 4"):
        SMXTensor(np.zeros((4, 6), np.int16), np.zeros((1, 1), np.int16), (4, 6), 8)
    with pytest.raises(ValueError, match="exponents must have shape"):
        SMXTensor(codes, np.zeros((2, 2), np.int16), (4, 8), 8)
    with pytest.raises(ValueError, match="does not pad"):
        SMXTensor(codes, exps, (4, 3), 8)
    bad = codes.copy()
    bad[0, 0] = -128
    with pytest.raises(ValueError, match="range"):
        SMXTensor(bad, exps, (4, 8), 8)
    bad = codes.copy()
    bad[3, 7] = 1
    with pytest.raises(ValueError, match="padding"):
        SMXTensor(bad, exps, (3, 7), 8)
    with pytest.raises(ValueError, match="bits"):
        SMXTensor(codes, exps, (4, 8), 6)


def test_tensor_is_read_only_and_storage_is_counted():
    t = smx_quantize(np.arange(30.0).reshape(5, 6), 12)
    with pytest.raises(ValueError):
        t.codes[0, 0] = 1
    assert t.padded_shape == (8, 8)
    assert t.T.shape == (6, 5) and t.T.padded_shape == (8, 8)
    # 64 codes of 12 bits plus 4 exponents of 8 bits.
    assert t.nbytes_storage() == (64 * 12 + 4 * 8) // 8
    assert t.nbytes_storage(PintaConfig(exponent_bits=6)) == -(-(64 * 12 + 4 * 6) // 8)


# ---------------------------------------------------------------------------
# float32 input (docs/numerics.md §6, "Quantizing in float32") and the
# integer form of the rounding rule
# ---------------------------------------------------------------------------

F32 = np.finfo(np.float32)
F32_SUBNORMAL_MIN = float(np.nextafter(np.float32(0), np.float32(1)))

matrices_f32 = hnp.arrays(
    np.float32,
    hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=11),
    elements=st.floats(width=32, allow_nan=False, allow_infinity=False, allow_subnormal=True)
    | st.sampled_from([float(F32.max), -float(F32.max), F32_SUBNORMAL_MIN, -F32_SUBNORMAL_MIN, 0.0]),
)


@given(matrices_f32, st.sampled_from(WIDTHS))
@settings(max_examples=150, deadline=None)
def test_float32_input_matches_reference_and_float64_path(x, bits):
    t = assert_matches_reference(x, bits)
    assert smx_quantize(x.astype(np.float64), bits) == t


@pytest.mark.parametrize("exponent_bits", [6, 8, 10])
@pytest.mark.parametrize("bits", WIDTHS)
def test_float32_extreme_blocks(exponent_bits, bits):
    # Block maxima from the smallest subnormal to float32 max, including the
    # tiny blocks whose factor 2**-E exceeds the float32 range (applied in
    # two steps) and, with 6 exponent bits, clamps at both ends.
    cfg = PintaConfig(exponent_bits=exponent_bits)
    tops = [-149, -140, -130, -126, -118, -117, -116, -100, -40, 0, 40, 100, 126, 127]
    rng = np.random.default_rng(exponent_bits * 100 + bits)
    x = np.zeros((4, 4 * len(tops)), np.float32)
    for i, e in enumerate(tops):
        block = rng.standard_normal((4, 4)) * np.ldexp(1.0, rng.integers(-30, 1, (4, 4)))
        block = np.clip(block * np.ldexp(1.0, e), -float(F32.max), float(F32.max)).astype(np.float32)
        block[0, 0] = np.float32(np.ldexp(1.0, e)) if e < 127 else F32.max
        x[:, 4 * i : 4 * i + 4] = block
    t = smx_quantize(x, bits, cfg)
    codes, exps = ref_quantize(x, bits, cfg.exponent_min, cfg.exponent_max)
    np.testing.assert_array_equal(t.codes, codes)
    np.testing.assert_array_equal(t.exponents, exps)
    assert smx_quantize(x.astype(np.float64), bits, cfg) == t


def test_large_float32_input_is_block_local():
    # More rows than one internal run of the quantizer, with padding: every
    # 4-row slab must equal the slab quantized on its own, and float32 must
    # equal float64.
    rng = np.random.default_rng(12)
    x = (rng.standard_normal((1030, 262)) * np.ldexp(1.0, rng.integers(-150, 120, (1030, 1)))).astype(np.float32)
    x[5, 7], x[900, 3], x[1029, 261] = F32.max, -F32.max, F32_SUBNORMAL_MIN
    for bits in (8, 12):
        t = smx_quantize(x, bits)
        assert smx_quantize(x.astype(np.float64), bits) == t
        for r in (0, 4, 516, 1028):
            s = smx_quantize(x[r : r + 4], bits)
            np.testing.assert_array_equal(t.codes[r : r + 4], s.codes)
            np.testing.assert_array_equal(t.exponents[r // 4], s.exponents[0])


def test_float32_non_finite_input_is_named():
    x = np.ones((9, 6), np.float32)
    x[6, 1] = np.inf
    x[8, 5] = np.nan
    with pytest.raises(ValueError, match=r"2 non-finite value\(s\).*\(6, 1\)"):
        smx_quantize(x, 8)


def test_integer_rounding_exhaustive_near_every_half():
    # Every float32 and float64 within 2 ulps of each half-integer and integer in
    # [-2048, 2048] (the saturated range), plus every float32 in [0, 2) at a
    # stride: the integer form (u + [u > 0]) >> 1, u = trunc(2y), against
    # exact rational rounding; the public function must agree too.
    centres = np.arange(-4096, 4097) / 2.0
    for dtype in (np.float32, np.float64):
        c = centres.astype(dtype)
        near = [c]
        up, down = c.copy(), c.copy()
        for _ in range(2):
            up, down = np.nextafter(up, dtype(np.inf)), np.nextafter(down, dtype(-np.inf))
            near += [up, down]
        y = np.concatenate(near)
        if dtype == np.float32:
            y = np.concatenate([y, np.arange(0x00000000, 0x40000000, 65537, dtype=np.uint32).view(np.float32)])
            y = np.concatenate([y, -y])
        want = np.array([ref_round(Fraction(float(v))) for v in y])
        got = smx_module._round_half_away_to_int(y.copy(), np.int16 if dtype == np.float32 else np.int64)
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(round_half_away_from_zero(y), want)
