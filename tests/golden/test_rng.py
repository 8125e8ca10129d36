"""Tests of the counter-based on-chip generator (golden/rng.py).

Statistical tolerances come from the sample size (standard errors of the
estimators under the null hypothesis), never from a previous run. The
generator is deterministic, so each test either always passes or always
fails; the thresholds are set so that a good generator fails with
probability ~1e-6 or less per test.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from pinta.golden import fp32 as F
from pinta.golden.rng import counters_used_by_normal, mix32, normal, stream_keys, uniform01, uniform_u32

M32 = 0xFFFFFFFF
Z = 5.0  # two-sided z threshold: P(|N(0,1)| > 5) ~ 6e-7
P_MIN = 1e-6  # smallest acceptable p-value of a chi-square / KS test


def py_mix32(x: int) -> int:
    """lowbias32 in plain Python integers (independent of the NumPy code)."""
    x ^= x >> 16
    x = (x * 0x7FEB352D) & M32
    x ^= x >> 15
    x = (x * 0x846CA68B) & M32
    x ^= x >> 16
    return x


def py_uniform_u32(seed: int, stream: int, counter: int) -> int:
    k1 = py_mix32(py_mix32((seed + 0x9E3779B9) & M32) ^ ((stream + 0x7F4A7C15) & M32))
    k2 = py_mix32((k1 + 0x9E3779B9) & M32)
    return py_mix32((py_mix32(counter ^ k1) + k2) & M32)


def test_matches_plain_integer_reference():
    rng = np.random.default_rng(0)
    for _ in range(50):
        seed, stream, counter = (int(v) for v in rng.integers(0, 2**32, 3))
        assert int(uniform_u32(seed, stream, counter)) == py_uniform_u32(seed, stream, counter)
    for seed, stream, counter in ((0, 0, 0), (M32, M32, M32), (1, 0, M32)):
        assert int(uniform_u32(seed, stream, counter)) == py_uniform_u32(seed, stream, counter)


def test_mix32_is_a_permutation_on_a_block():
    c = np.arange(1 << 18, dtype=np.uint32)
    assert np.unique(mix32(c)).size == c.size
    out = uniform_u32(3, 4, c)
    assert out.dtype == np.uint32 and np.unique(out).size == c.size


def test_deterministic_and_address_only():
    c = np.arange(10_000, dtype=np.uint32)
    a = uniform_u32(11, 2, c)
    assert np.array_equal(a, uniform_u32(11, 2, c))
    # A value depends only on its own counter, not on the batch around it.
    assert np.array_equal(a[5000:], uniform_u32(11, 2, c[5000:]))
    assert np.array_equal(a[::-1], uniform_u32(11, 2, c[::-1]))
    assert np.array_equal(a.reshape(100, 100), uniform_u32(11, 2, c.reshape(100, 100)))
    assert not np.array_equal(a, uniform_u32(12, 2, c))
    assert not np.array_equal(a, uniform_u32(11, 3, c))


def _chi2_pvalue(counts: np.ndarray) -> float:
    expected = counts.sum() / counts.size
    stat = float(((counts - expected) ** 2 / expected).sum())
    return float(stats.chi2.sf(stat, counts.size - 1))


N = 1_000_000


@pytest.fixture(scope="module")
def words():
    return uniform_u32(2024, 0, np.arange(N, dtype=np.uint32))


def test_byte_histograms_are_uniform(words):
    for shift in (24, 16, 8, 0):
        counts = np.bincount(((words >> np.uint32(shift)) & np.uint32(0xFF)).astype(np.int64), minlength=256)
        p = _chi2_pvalue(counts)
        assert P_MIN < p < 1 - P_MIN, (shift, p)


def test_consecutive_pairs_are_uniform_in_2d(words):
    hi = (words >> np.uint32(28)).astype(np.int64)
    cells = hi[0::2] * 16 + hi[1::2]
    assert P_MIN < _chi2_pvalue(np.bincount(cells, minlength=256)) < 1 - P_MIN


def test_every_bit_is_balanced(words):
    bits = (words[:, None] >> np.arange(32, dtype=np.uint32)) & np.uint32(1)
    ones = bits.sum(axis=0).astype(np.float64)
    z = (ones - N / 2) / math.sqrt(N / 4)
    assert np.all(np.abs(z) < Z)


def test_streams_and_seeds_are_uncorrelated():
    c = np.arange(200_000, dtype=np.uint32)
    base = uniform01(1, 0, c).astype(np.float64)
    for other in (uniform01(1, 1, c), uniform01(2, 0, c), uniform01(1, 0, c + np.uint32(1))):
        rho = np.corrcoef(base, other.astype(np.float64))[0, 1]
        assert abs(rho) < Z / math.sqrt(c.size)
    # Many streams at the same few counters: the stream index is mixed as well as the counter.
    grid = np.stack([uniform_u32(7, s, np.arange(64, dtype=np.uint32)) for s in range(4096)])
    top = (grid >> np.uint32(24)).astype(np.int64).ravel()
    assert P_MIN < _chi2_pvalue(np.bincount(top, minlength=256)) < 1 - P_MIN


def test_uniform01_is_exact_and_open():
    c = np.arange(N, dtype=np.uint32)
    u = uniform01(5, 1, c)
    assert u.dtype == np.float32
    j = (uniform_u32(5, 1, c) >> np.uint32(9)).astype(np.float64)
    assert np.array_equal(u.astype(np.float64), (j + 0.5) * 2.0**-23)  # no rounding happened
    assert u.min() > 0 and u.max() < 1
    extremes = np.array([0, M32], dtype=np.uint32)
    # The smallest and largest words map to the end cells' midpoints.
    assert np.array_equal(((extremes >> np.uint32(9)).astype(np.float32) + np.float32(0.5)) * np.float32(2.0**-23),
                          np.array([2.0**-24, 1 - 2.0**-24], dtype=np.float32))
    mean_se = math.sqrt(1 / 12 / N)
    assert abs(u.astype(np.float64).mean() - 0.5) < Z * mean_se
    # Var of U(0,1) samples: the estimator's SE is sqrt((1/80 - 1/144)/N).
    assert abs(u.astype(np.float64).var() - 1 / 12) < Z * math.sqrt((1 / 80 - 1 / 144) / N)


@pytest.fixture(scope="module")
def normals():
    return normal(42, 3, 0, N)


def test_normal_moments(normals):
    z = normals.astype(np.float64)
    assert normals.dtype == np.float32 and normals.shape == (N,)
    # Standard errors of mean, variance, skewness and excess kurtosis for N(0,1) samples.
    assert abs(z.mean()) < Z / math.sqrt(N)
    assert abs(z.var() - 1) < Z * math.sqrt(2 / N)
    assert abs(stats.skew(z)) < Z * math.sqrt(6 / N)
    assert abs(stats.kurtosis(z)) < Z * math.sqrt(24 / N)


def test_normal_distribution_ks(normals):
    assert stats.kstest(normals.astype(np.float64), "norm").pvalue > P_MIN
    # Box-Muller radius is bounded by sqrt(-2 ln 2**-24) for the smallest uniform.
    assert np.abs(normals).max() <= math.sqrt(-2 * math.log(2.0**-24)) * (1 + 1e-6)


def test_normal_pairs_follow_documented_order():
    n = 9
    out = normal(8, 1, 100, n)
    used = counters_used_by_normal(n)
    assert used == 10
    c = np.arange(100, 100 + used, dtype=np.uint32)
    u1, u2 = uniform01(8, 1, c[0::2]), uniform01(8, 1, c[1::2])
    rad = F.fp32_sqrt(np.float32(-2) * F.fp32_log(u1))
    theta = F.TWO_PI * u2
    expected = np.empty(used, np.float32)
    expected[0::2] = rad * F.fp32_cos(theta)
    expected[1::2] = rad * F.fp32_sin(theta)
    assert np.array_equal(out.view(np.uint32), expected[:n].view(np.uint32))


def test_normal_close_to_float64_box_muller():
    # Same uniforms, float64 libm transform. The fp32 path differs by the
    # sin/cos absolute error (<= 2e-7), the error of theta = TWO_PI*u2 (two
    # roundings of a value <= 2*pi), both scaled by the radius <= 5.8, and a
    # few float32 roundings relative to the radius.
    n = 200_000
    out = normal(4, 4, 0, n).astype(np.float64)
    c = np.arange(n, dtype=np.uint32)
    u1 = uniform01(4, 4, c[0::2]).astype(np.float64)
    u2 = uniform01(4, 4, c[1::2]).astype(np.float64)
    rad = np.sqrt(-2 * np.log(u1))
    ref = np.empty(n)
    ref[0::2] = rad * np.cos(2 * np.pi * u2)
    ref[1::2] = rad * np.sin(2 * np.pi * u2)
    bound = 5.8 * (2e-7 + 2 * 2 * math.pi * 2.0**-24 + 8 * 2.0**-24)
    assert np.max(np.abs(out - ref)) <= bound


def test_normal_is_addressable():
    full = normal(1, 1, 0, 20)
    assert np.array_equal(normal(1, 1, 0, 7), full[:7])
    assert np.array_equal(normal(1, 1, 4, 16), full[4:])
    assert np.array_equal(full, normal(1, 1, 0, 20))
    assert normal(1, 1, 0, 0).shape == (0,)


def test_normal_streams_uncorrelated():
    a = normal(9, 0, 0, 200_000).astype(np.float64)
    b = normal(9, 1, 0, 200_000).astype(np.float64)
    assert abs(np.corrcoef(a, b)[0, 1]) < Z / math.sqrt(a.size)


def test_bad_input():
    with pytest.raises(ValueError, match="seed"):
        uniform_u32(-1, 0, 0)
    with pytest.raises(ValueError, match="stream"):
        uniform_u32(0, 2**32, 0)
    with pytest.raises(TypeError, match="seed"):
        stream_keys(1.5, 0)
    with pytest.raises(ValueError, match="counter"):
        uniform_u32(0, 0, np.array([2**32]))
    with pytest.raises(TypeError, match="counter"):
        uniform_u32(0, 0, np.array([0.5]))
    with pytest.raises(ValueError, match="2\\*\\*32"):
        normal(0, 0, 2**32 - 2, 3)
    with pytest.raises(ValueError, match="n must be"):
        normal(0, 0, 0, -1)


def quality_report(n_words: int = 1 << 24, seed: int = 2024) -> dict[str, float]:
    """p-values / z-scores of a larger battery; printed by ``python tests/golden/test_rng.py``."""
    w = uniform_u32(seed, 0, np.arange(n_words, dtype=np.uint32))
    report = {}
    for shift in (24, 16, 8, 0):
        byte = ((w >> np.uint32(shift)) & np.uint32(0xFF)).astype(np.int64)
        report[f"chi2 p, byte at bit {shift} (256 cells)"] = _chi2_pvalue(np.bincount(byte, minlength=256))
    top8 = (w >> np.uint32(24)).astype(np.int64)
    report["chi2 p, consecutive pairs of top bytes (65536 cells)"] = _chi2_pvalue(np.bincount(top8[0::2] * 256 + top8[1::2], minlength=65536))
    u = (w.astype(np.float64) + 0.5) / 2.0**32
    for lag in (1, 2, 3, 8, 64):
        rho = np.corrcoef(u[:-lag], u[lag:])[0, 1]
        report[f"z of lag-{lag} autocorrelation"] = float(rho * math.sqrt(u.size - lag))
    z = normal(seed, 1, 0, n_words // 4).astype(np.float64)
    report["normal: z of mean"] = float(z.mean() * math.sqrt(z.size))
    report["normal: z of variance - 1"] = float((z.var() - 1) / math.sqrt(2 / z.size))
    report["normal: z of excess kurtosis"] = float(stats.kurtosis(z) / math.sqrt(24 / z.size))
    report["normal: KS p"] = float(stats.kstest(z, "norm").pvalue)
    return report


@pytest.mark.slow
def test_larger_battery():
    for name, value in quality_report().items():
        if " p" in name:
            assert P_MIN < value < 1 - P_MIN or (name.endswith("KS p") and value > P_MIN), name
        else:
            assert abs(value) < Z, name


if __name__ == "__main__":
    for name, value in quality_report().items():
        print(f"| {name} | {value:.3g} |")
