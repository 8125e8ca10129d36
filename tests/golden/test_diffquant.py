"""DiffQuant (algorithms.md §4): why the perturbation gets its own exponents."""

from __future__ import annotations

import numpy as np
import pytest

from pinta.golden import diffquant_quantize, smx_dequantize, smx_quantize
from pinta.golden.diffquant import diffquant_first_layer

SIGMA = 0.01


def blocks_with_maximum(rng, shape, block_max):
    """Uniform values in (-block_max, block_max) with each 4×4 block's maximum
    pinned to ``block_max``, so every block gets the same exponent."""
    x = rng.uniform(-block_max, block_max, size=shape)
    x[::4, ::4] = block_max
    return x


def expected_unchanged_fraction(step: float, sigma: float) -> float:
    """P(round(x/step) == round((x+d)/step)) for x uniform over the grid and
    d ~ N(0, sigma): the integral of (1 - |d|/step)+ against the normal pdf."""
    d = np.linspace(-step, step, 20001)
    pdf = np.exp(-0.5 * (d / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi))
    return float(np.trapezoid((1 - np.abs(d) / step) * pdf, d))


@pytest.mark.parametrize("block_max", [1.5, 3.0])
def test_plain_quantization_collapses_the_difference(block_max):
    rng = np.random.default_rng(0)
    x = blocks_with_maximum(rng, (128, 128), block_max)
    delta = rng.normal(0.0, SIGMA, size=x.shape)
    qx = smx_quantize(x, 8)
    step = 2.0 ** int(qx.exponents[0, 0])
    assert (qx.exponents == qx.exponents[0, 0]).all() and step == 2.0 ** (np.floor(np.log2(block_max)) - 6)
    naive = smx_dequantize(smx_quantize(x + delta, 8)) - smx_dequantize(qx)
    free = np.ones(x.shape, bool)
    free[::4, ::4] = False  # the pinned maxima are not uniform over the grid
    unchanged = np.mean(naive[free] == 0.0)
    # Step 2**-6 (block max ~1, as in algorithms.md §4): about half of the
    # differences vanish; step 2**-5 (block max ~2-4): three quarters do.
    assert abs(unchanged - expected_unchanged_fraction(step, SIGMA)) < 0.03
    if block_max >= 2:
        assert unchanged > 0.7
    # Whatever survives is whole steps, not delta: the difference is lost.
    assert np.linalg.norm(naive - delta) / np.linalg.norm(delta) > 0.5

    q_base, q_diff = diffquant_quantize(x, delta, 8)
    kept = smx_dequantize(q_diff)
    # Q(delta) has exponents near log2(sigma): each element within half of its
    # own block step (a whole step for a saturated block maximum), and that
    # step far below sigma.
    diff_step = np.ldexp(1.0, np.kron(q_diff.exponents.astype(np.int32), np.ones((4, 4), np.int32)))
    saturated = np.abs(q_diff.codes) == 127
    err = np.abs(kept - delta)
    assert (err[~saturated] <= diff_step[~saturated] / 2).all()
    assert (err[saturated] < diff_step[saturated]).all()
    assert diff_step.max() <= SIGMA / 8
    assert np.linalg.norm(kept - delta) / np.linalg.norm(delta) < 0.02
    assert q_base == qx


def test_first_layer_by_linearity_keeps_the_directional_difference():
    rng = np.random.default_rng(1)
    x = rng.uniform(-1.0, 1.0, size=(32, 8))
    delta = rng.normal(0.0, SIGMA, size=x.shape)
    w = rng.standard_normal((8, 16))
    base, diff = diffquant_first_layer(x, delta, w)
    true_diff = delta @ w
    qw = smx_quantize(w, 8)
    naive = smx_dequantize(smx_quantize(x + delta, 8)) @ smx_dequantize(qw) - smx_dequantize(smx_quantize(x, 8)) @ smx_dequantize(qw)
    err_dq = np.linalg.norm(diff.to_float() - true_diff) / np.linalg.norm(true_diff)
    err_naive = np.linalg.norm(naive - true_diff) / np.linalg.norm(true_diff)
    # DiffQuant's error is the INT8 error of w and delta (~1 %); the naive
    # difference is dominated by rounding steps of x.
    assert err_dq < 0.05
    assert err_naive > 5 * err_dq
    np.testing.assert_array_equal(base.to_float(), smx_dequantize(smx_quantize(x, 8)) @ smx_dequantize(qw))


def test_shape_mismatch_is_refused():
    with pytest.raises(ValueError, match=r"base \(2, 3\) and diff \(3, 2\)"):
        diffquant_quantize(np.ones((2, 3)), np.ones((3, 2)), 8)
    with pytest.raises(ValueError, match="diff has 1 non-finite"):
        diffquant_quantize(np.ones((2, 3)), np.array([[0, 0, np.inf], [0, 0, 0]]), 8)
