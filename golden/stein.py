"""Stein's estimator (SE) of PDE derivatives with antithetic pairs and a control variate.

algorithms.md §2. The network g is smoothed by a Gaussian, f(x) = E[g(x+δ)],
δ ~ N(0, σ²I). With K antithetic pairs ±δ_i per point and the centre value
g(x) as control variate, everything is written in terms of the output
*differences* d⁺_i = g(x+δ_i) − g(x) and d⁻_i = g(x−δ_i) − g(x):

- value        u    = g(x) + (1/K) Σ (d⁺+d⁻)/2            (= mean of (g⁺+g⁻)/2)
- gradient     ∇_x u = (1/K) Σ δ_x,i/(2σ²) (d⁺−d⁻)         (g⁺−g⁻ = d⁺−d⁻)
- Laplacian    Δ_x u = (1/K) Σ (‖δ_x,i‖²−Dσ²)/(2σ⁴) (d⁺+d⁻) (g⁺+g⁻−2g = d⁺+d⁻)
- time         u_t   = (1/K) Σ δ_t,i/(2σ²) (d⁺−d⁻)

Float mode forms d± by subtraction; DiffQuant (quantized mode) gets them
directly from the difference path, which is what avoids cancellation.

Shapes: B points, K pairs, dim = network input width, D = space_dim x
coordinates (the first D columns); if time-dependent, t is column ``dim−1``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SEEstimate", "se_estimate", "se_backward", "sample_deltas", "stack_inputs"]


def sample_deltas(rng: np.random.Generator, B: int, K: int, dim: int, sigma: float, dtype=np.float64) -> np.ndarray:
    """δ (B, K, dim), iid N(0, σ²): a fresh set per point (float mode; quantized mode uses golden/rng.py)."""
    return (rng.standard_normal((B, K, dim)) * sigma).astype(dtype)


def stack_inputs(x: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """All B·(2K+1) evaluation points: rows [x (B); x+δ (B·K); x−δ (B·K)], point-major inside each group."""
    B, K, dim = delta.shape
    xp = (x[:, None, :] + delta).reshape(B * K, dim)
    xm = (x[:, None, :] - delta).reshape(B * K, dim)
    return np.concatenate([x, xp, xm], axis=0)


@dataclass
class SEEstimate:
    """SE outputs for B points: u (B,), grad (B, D), lap (B,), u_t (B,) or None."""

    u: np.ndarray
    grad: np.ndarray
    lap: np.ndarray
    u_t: np.ndarray | None


def _coefficients(delta: np.ndarray, sigma: float, space_dim: int, time_dependent: bool):
    """First-order weights δ/(2σ²K) (B, K, dim) and Laplacian weights (‖δ_x‖²−Dσ²)/(2σ⁴K) (B, K)."""
    K = delta.shape[1]
    dt = delta.dtype.type
    s2 = dt(sigma) * dt(sigma)
    first = delta / (dt(2) * s2 * dt(K))
    dx = delta[:, :, :space_dim]
    lapw = (np.sum(dx * dx, axis=2) - dt(space_dim) * s2) / (dt(2) * s2 * s2 * dt(K))
    return first, lapw


def se_estimate(g0: np.ndarray, dplus: np.ndarray, dminus: np.ndarray, delta: np.ndarray, sigma: float,
                space_dim: int, time_dependent: bool) -> SEEstimate:
    """SE value and derivatives from centre values g0 (B,) and differences d± (B, K)."""
    first, lapw = _coefficients(delta, sigma, space_dim, time_dependent)
    K = delta.shape[1]
    odd = dplus - dminus
    even = dplus + dminus
    u = g0 + even.sum(axis=1) / (2 * K)
    grad = np.einsum("bk,bkd->bd", odd, first[:, :, :space_dim])
    lap = np.sum(even * lapw, axis=1)
    u_t = np.einsum("bk,bk->b", odd, first[:, :, -1]) if time_dependent else None
    return SEEstimate(u, grad, lap, u_t)


def se_backward(du, dgrad, dlap, du_t, delta: np.ndarray, sigma: float, space_dim: int, time_dependent: bool):
    """Pull gradients of (u, grad, lap, u_t) back to (dg0 (B,), dd⁺ (B, K), dd⁻ (B, K)).

    dg0 is the gradient through the explicit g0 term only; a caller that
    formed d± = g± − g0 adds −Σ(dd⁺+dd⁻) to it (the chain rule of the
    subtraction), which :func:`pinta.golden.training` does.
    """
    first, lapw = _coefficients(delta, sigma, space_dim, time_dependent)
    K = delta.shape[1]
    dodd = np.einsum("bd,bkd->bk", dgrad, first[:, :, :space_dim])
    if time_dependent and du_t is not None:
        dodd = dodd + du_t[:, None] * first[:, :, -1]
    deven = dlap[:, None] * lapw + (du / (2 * K))[:, None]
    return du, deven + dodd, deven - dodd
