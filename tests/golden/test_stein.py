"""Stein's estimator against exact derivatives of known smooth functions (statistical tolerances)."""

import numpy as np
import pytest

from pinta.golden.stein import sample_deltas, se_backward, se_estimate, stack_inputs


def _se_of(fn, x, K, sigma, space_dim, time_dependent, seed=0):
    rng = np.random.default_rng(seed)
    delta = sample_deltas(rng, len(x), K, x.shape[1], sigma)
    X = stack_inputs(x, delta)
    g = fn(X)
    B = len(x)
    g0, gp, gm = g[:B], g[B:B + B * K].reshape(B, K), g[B + B * K:].reshape(B, K)
    est = se_estimate(g0, gp - g0[:, None], gm - g0[:, None], delta, sigma, space_dim, time_dependent)
    return est, delta, g0, gp, gm


def _pairwise_se(values):
    """Standard error of a mean over the pair axis (axis 1)."""
    return values.std(axis=1, ddof=1) / np.sqrt(values.shape[1])


def test_gradient_and_laplacian_of_a_smooth_function():
    # g = sin(x1 + 2 x2): ∇g = cos(.)·(1, 2), Δg = −5 sin(.). Smoothing changes them by O(σ²).
    fn = lambda X: np.sin(X[:, 0] + 2 * X[:, 1])
    x = np.random.default_rng(5).random((6, 2))
    K, sigma = 20000, 0.01
    est, delta, g0, gp, gm = _se_of(fn, x, K, sigma, 2, False)
    s, c = np.sin(x[:, 0] + 2 * x[:, 1]), np.cos(x[:, 0] + 2 * x[:, 1])
    # Per-pair terms give the estimator's own standard error; require agreement within 5 of them.
    lapw = (np.sum(delta ** 2, axis=2) - 2 * sigma ** 2) / (2 * sigma ** 4)
    lap_terms = lapw * (gp + gm - 2 * g0[:, None])
    assert np.all(np.abs(est.lap - (-5 * s)) < 5 * _pairwise_se(lap_terms) + 1e-3)
    for j, coef in enumerate((1.0, 2.0)):
        terms = delta[:, :, j] / (2 * sigma ** 2) * (gp - gm)
        assert np.all(np.abs(est.grad[:, j] - coef * c) < 5 * _pairwise_se(terms) + 1e-4)
    assert np.allclose(est.u, s, atol=1e-3)
    # The estimator really is noisy at small K and tightens with K (not a constant error).
    small, *_ = _se_of(fn, x, 50, sigma, 2, False, seed=1)
    assert np.mean(np.abs(small.lap + 5 * s)) > np.mean(np.abs(est.lap + 5 * s))


def test_quadratic_laplacian_and_time_derivative():
    # g = Σ a_i x_i² + 3t over 3 space coordinates: Δ = 2Σa_i, u_t = 3, ∇ = 2 a x.
    a = np.array([0.5, -1.0, 2.0])
    fn = lambda X: (X[:, :3] ** 2) @ a + 3 * X[:, 3]
    x = np.random.default_rng(7).random((5, 4))
    K, sigma = 20000, 0.1
    est, delta, g0, gp, gm = _se_of(fn, x, K, sigma, 3, True)
    lapw = (np.sum(delta[:, :, :3] ** 2, axis=2) - 3 * sigma ** 2) / (2 * sigma ** 4)
    lap_se = _pairwise_se(lapw * (gp + gm - 2 * g0[:, None]))
    t_se = _pairwise_se(delta[:, :, 3] / (2 * sigma ** 2) * (gp - gm))
    # Gaussian smoothing leaves these derivatives of a quadratic unbiased.
    assert np.all(np.abs(est.lap - 2 * a.sum()) < 5 * lap_se)
    assert np.all(np.abs(est.u_t - 3.0) < 5 * t_se)
    assert np.allclose(est.grad, 2 * a * x[:, :3], atol=0.1)
    assert est.grad.shape == (5, 3)  # t is not part of ∇_x


def test_backward_is_the_transpose_of_the_estimate():
    # The estimates are linear in (g0, d+, d−): <J·v, w> = <v, Jᵀ·w> exactly.
    rng = np.random.default_rng(3)
    B, K, dim, D, sigma = 4, 6, 3, 2, 0.05
    delta = rng.normal(0, sigma, (B, K, dim))
    g0, dp, dm = rng.normal(size=B), rng.normal(size=(B, K)), rng.normal(size=(B, K))
    est = se_estimate(g0, dp, dm, delta, sigma, D, True)
    du, dg, dl, dt = rng.normal(size=B), rng.normal(size=(B, D)), rng.normal(size=B), rng.normal(size=B)
    lhs = est.u @ du + np.sum(est.grad * dg) + est.lap @ dl + est.u_t @ dt
    b0, bp, bm = se_backward(du, dg, dl, dt, delta, sigma, D, True)
    rhs = g0 @ b0 + np.sum(dp * bp) + np.sum(dm * bm)
    assert np.isclose(lhs, rhs, rtol=1e-12)


def test_stack_inputs_layout():
    x = np.arange(4.0).reshape(2, 2)
    delta = np.ones((2, 3, 2))
    X = stack_inputs(x, delta)
    assert X.shape == (2 * (2 * 3 + 1), 2)
    assert np.array_equal(X[:2], x)
    assert np.array_equal(X[2:5], x[[0, 0, 0]] + 1) and np.array_equal(X[8:11], x[[0, 0, 0]] - 1)
