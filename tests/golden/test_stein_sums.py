"""Tests of the float32 Stein's-estimator building blocks (golden/stein_sums.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pinta.golden.reduce import tree_mean, tree_sum
from pinta.golden.rng import normal
from pinta.golden.stein_sums import (
    stein_estimates,
    stein_gradient_weights,
    stein_laplacian_weights,
    stein_pair_sums,
    stein_sigma_constants,
)

U = 2.0**-24
f32 = np.float32
SIGMA = f32(0.01)


def test_pair_sums_are_single_ops():
    a = np.array([1.0, 2.5e-3, -7.0], np.float32)
    b = np.array([0.5, -2.5e-3, 3.0], np.float32)
    d, s = stein_pair_sums(a, b)
    assert d.dtype == s.dtype == np.float32
    assert np.array_equal(d, a - b) and np.array_equal(s, a + b)
    with pytest.raises(ValueError, match="shape"):
        stein_pair_sums(a, b[:2])
    with pytest.raises(TypeError, match="float64"):
        stein_pair_sums(a.astype(np.float64), b)


def test_sigma_constants_op_order_and_range():
    s2, inv2, inv4 = stein_sigma_constants(SIGMA)
    assert s2 == SIGMA * SIGMA
    assert inv2 == f32(1) / (s2 * f32(2))
    assert inv4 == f32(1) / ((s2 * s2) * f32(2))
    # Close to the exact values: a handful of roundings.
    sig = float(SIGMA)
    assert abs(float(inv2) - 1 / (2 * sig**2)) <= 4 * U / (2 * sig**2)
    assert abs(float(inv4) - 1 / (2 * sig**4)) <= 6 * U / (2 * sig**4)
    for bad in (f32(0), f32(-0.1), f32(np.inf), f32(1e-12), f32(1e12)):
        with pytest.raises(ValueError, match="sigma"):
            stein_sigma_constants(bad)
    with pytest.raises(TypeError, match="float32"):
        stein_sigma_constants(0.01)


def test_weights_follow_documented_order():
    delta = normal(3, 0, 0, 8 * 21).reshape(8, 21) * SIGMA
    s2, inv2, inv4 = stein_sigma_constants(SIGMA)
    gw = stein_gradient_weights(delta, SIGMA)
    assert np.array_equal(gw, delta * inv2)
    lw = stein_laplacian_weights(delta, SIGMA)
    assert lw.shape == (8,) and lw.dtype == np.float32
    expected = (tree_sum(delta * delta, axis=-1) - f32(21) * s2) * inv4
    assert np.array_equal(lw, expected)
    # Against float64: the subtraction cancels, so the error is relative to the operands' size.
    d64 = delta.astype(np.float64)
    ref = (np.sum(d64**2, -1) - 21 * float(SIGMA) ** 2) / (2 * float(SIGMA) ** 4)
    scale = (np.sum(d64**2, -1) + 21 * float(SIGMA) ** 2) / (2 * float(SIGMA) ** 4)
    assert np.all(np.abs(lw - ref) <= 16 * U * scale)


def test_estimates_on_a_quadratic():
    # g(x) = a.x + 0.5 x'Bx: g(x+d) - g(x) = (a + Bx).d + 0.5 d'Bd exactly, so
    # E[gradient estimate] = a + Bx and E[Laplacian estimate] = trace(B).
    D, K = 6, 4096
    rng = np.random.default_rng(0)
    a = rng.standard_normal(D)
    B = rng.standard_normal((D, D))
    B = (B + B.T) / 2
    x = rng.standard_normal(D)
    delta = (normal(11, 0, 0, K * D).reshape(K, D) * SIGMA).astype(np.float32)
    d64 = delta.astype(np.float64)
    lin = d64 @ (a + B @ x)
    quad = 0.5 * np.einsum("ki,ij,kj->k", d64, B, d64)
    du_plus = (lin + quad).astype(np.float32)
    du_minus = (-lin + quad).astype(np.float32)
    grad, lap, value = stein_estimates(du_plus, du_minus, delta, SIGMA)
    assert grad.shape == (D,) and lap.shape == () and value.shape == ()
    assert grad.dtype == lap.dtype == value.dtype == np.float32
    # Bit-exact composition of the documented blocks.
    dif, sm = stein_pair_sums(du_plus, du_minus)
    assert np.array_equal(grad, tree_mean(stein_gradient_weights(delta, SIGMA) * dif[:, None], axis=0))
    assert np.array_equal(lap, tree_mean(stein_laplacian_weights(delta, SIGMA) * sm, axis=-1))
    assert value == tree_mean(sm, axis=-1) * f32(0.5)
    # Statistical agreement with the truth, tolerance from the sample's own spread.
    gterms = d64 / (2 * float(SIGMA) ** 2) * (2 * lin)[:, None]
    se_g = gterms.std(axis=0) / math.sqrt(K)
    assert np.all(np.abs(grad - (a + B @ x)) < 5 * se_g)
    lterms = (np.sum(d64**2, 1) - D * float(SIGMA) ** 2) / (2 * float(SIGMA) ** 4) * (2 * quad)
    assert abs(float(lap) - np.trace(B)) < 5 * lterms.std() / math.sqrt(K)


def test_shape_errors():
    with pytest.raises(ValueError, match="delta shape"):
        stein_estimates(np.zeros(4, np.float32), np.zeros(4, np.float32), np.zeros((5, 3), np.float32), SIGMA)
    with pytest.raises(ValueError, match="last axis"):
        stein_laplacian_weights(f32(0.1), SIGMA)
