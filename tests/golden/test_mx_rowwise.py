"""Row-wise MX (1×32 blocks) against independent exact references."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pinta.config import PintaConfig
from pinta.golden import MXTensor, mx_dequantize, mx_matmul, mx_quantize

CFG = PintaConfig()
G = CFG.align_guard_bits


def ref_quantize_line(values: list[float], bits: int) -> tuple[list[int], int]:
    """One block, exact rational arithmetic (docs/numerics.md §1 steps 3-4)."""
    fr = [Fraction(v) for v in values]
    m = max(abs(v) for v in fr)
    if m == 0:
        return [0] * len(fr), CFG.exponent_min
    e = m.numerator.bit_length() - m.denominator.bit_length()
    if Fraction(2) ** e > m:
        e -= 1
    exp = min(max(e - (bits - 2), CFG.exponent_min), CFG.exponent_max)
    limit = 2 ** (bits - 1) - 1
    codes = []
    for v in fr:
        mag = math.floor(abs(v) / Fraction(2) ** exp + Fraction(1, 2))
        codes.append(max(-limit, min(limit, mag if v >= 0 else -mag)))
    return codes, exp


def ref_mx_quantize(x: np.ndarray, bits: int, axis: int):
    lines = x if axis == 1 else x.T
    n = lines.shape[1]
    padded_n = -(-n // 32) * 32
    codes = np.zeros((lines.shape[0], padded_n), np.int64)
    exps = np.zeros((lines.shape[0], padded_n // 32), np.int64)
    for r, line in enumerate(lines):
        full = list(map(float, line)) + [0.0] * (padded_n - n)
        for blk in range(padded_n // 32):
            c, e = ref_quantize_line(full[32 * blk : 32 * blk + 32], bits)
            codes[r, 32 * blk : 32 * blk + 32] = c
            exps[r, blk] = e
    return (codes, exps) if axis == 1 else (codes.T, exps.T)


def ref_mx_matmul(a: MXTensor, b: MXTensor):
    """Slow GEMM: 32-long block dot products aligned with Python-int floor shifts."""
    ac = [[int(v) for v in row] for row in a.codes]
    bc = [[int(v) for v in row] for row in b.codes]
    ea = [[int(v) for v in row] for row in a.exponents]
    eb = [[int(v) for v in row] for row in b.exponents]
    m, kp, n = len(ac), len(bc), len(bc[0])
    acc = np.zeros((m, n), np.int64)
    out = np.zeros((m, n), np.int64)
    for i in range(m):
        ra = max(ea[i])
        for j in range(n):
            rb = max(eb[k][j] for k in range(kp // 32))
            total = 0
            for k in range(kp // 32):
                partial = sum(ac[i][t] * bc[t][j] for t in range(32 * k, 32 * k + 32))
                total += (partial << G) >> (ra + rb - ea[i][k] - eb[k][j])
            acc[i, j], out[i, j] = total, ra + rb - G
    return acc, out


matrices = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=40),
    elements=st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False),
)


@given(matrices, st.sampled_from([4, 8, 12]), st.sampled_from([0, 1]))
@settings(max_examples=40, deadline=None)
def test_quantize_matches_reference_and_round_trips(x, bits, axis):
    t = mx_quantize(x, bits, axis)
    codes, exps = ref_mx_quantize(x, bits, axis)
    np.testing.assert_array_equal(t.codes, codes)
    np.testing.assert_array_equal(t.exponents, exps)
    deq = mx_dequantize(t)
    assert deq.shape == x.shape
    again = mx_quantize(deq, bits, axis)
    np.testing.assert_array_equal(again.codes, t.codes)
    np.testing.assert_array_equal(again.exponents, t.exponents)


@pytest.mark.parametrize("bits_a,bits_b", [(8, 8), (12, 8), (8, 12), (4, 4)])
def test_matmul_bit_exact(bits_a, bits_b):
    rng = np.random.default_rng(bits_a + 10 * bits_b)
    x = rng.standard_normal((5, 70)) * np.exp(rng.normal(0, 3, size=(1, 70)))
    w = rng.standard_normal((70, 6))
    # A column of huge values forces exponent spreads far beyond G.
    w[40, 2] = 1e9
    a, b = mx_quantize(x, bits_a, axis=1), mx_quantize(w, bits_b, axis=0)
    r = mx_matmul(a, b)
    acc, exps = ref_mx_matmul(a, b)
    np.testing.assert_array_equal(r.acc, acc)
    np.testing.assert_array_equal(r.exponents, exps)
    np.testing.assert_array_equal(r.to_float(), np.ldexp(acc.astype(np.float64), exps.astype(np.int32)))
    assert r.to_fp32().dtype == np.float32


def test_transpose_is_refused_with_a_hint():
    t = mx_quantize(np.ones((3, 40)), 8, axis=1)
    with pytest.raises(TypeError, match=r"mx_quantize\(x.T, bits=8, axis=0\)"):
        t.T


def test_wrong_axes_and_arguments_are_refused():
    a = mx_quantize(np.ones((3, 40)), 8, axis=1)
    b = mx_quantize(np.ones((40, 2)), 8, axis=0)
    with pytest.raises(ValueError, match="axis=1"):
        mx_matmul(b, a)
    with pytest.raises(ValueError, match=r"\(3, 40\).*\(41, 2\)"):
        mx_matmul(a, mx_quantize(np.ones((41, 2)), 8, axis=0))
    with pytest.raises(ValueError, match=r"\(8, 4\)"):
        mx_matmul(a, mx_quantize(np.ones((40, 2)), 4, axis=0))
    with pytest.raises(ValueError, match="axis must be"):
        mx_quantize(np.ones((3, 3)), 8, axis=2)
    with pytest.raises(ValueError, match="non-finite"):
        mx_quantize(np.array([[1.0, np.nan]]), 8, axis=1)
    with pytest.raises(ValueError, match="block"):
        MXTensor(a.codes.copy(), a.exponents.copy(), a.shape, 8, 1, block=16)


def test_padding_is_only_along_the_block_axis():
    t1 = mx_quantize(np.ones((3, 33)), 8, axis=1)
    t0 = mx_quantize(np.ones((33, 3)), 8, axis=0)
    assert t1.codes.shape == (3, 64) and t1.exponents.shape == (3, 2)
    assert t0.codes.shape == (64, 3) and t0.exponents.shape == (2, 3)
