"""Bit-exact float32 building blocks of Stein's estimator (algorithms.md sections 2 and 4).

With K antithetic pairs +-delta_i ~ N(0, sigma^2 I) over D coordinates and the
DiffQuant output differences du+ = g(x+delta) - g(x), du- = g(x-delta) - g(x):

    gradient  ~ (1/K) sum_i  delta_i/(2 sigma^2) * (du+_i - du-_i)
    Laplacian ~ (1/K) sum_i  (|delta_i|^2 - D sigma^2)/(2 sigma^4) * (du+_i + du-_i)
    value     ~ g(x) + (1/K) sum_i (du+_i + du-_i) * 0.5

Each function fixes the float32 op order. Divisions by sigma-dependent
constants are done once per call as an IEEE reciprocal, then every lane
multiplies: the hardware has one divider, shared, and many multipliers.
Reductions use :func:`pinta.golden.reduce.tree_sum` / ``tree_mean``.
"""

from __future__ import annotations

import numpy as np

from .fp32 import HALF, ONE, TWO, int_to_fp32, require_fp32
from .reduce import tree_mean, tree_sum

__all__ = [
    "stein_pair_sums",
    "stein_sigma_constants",
    "stein_gradient_weights",
    "stein_laplacian_weights",
    "stein_estimates",
]

_MIN_NORMAL = np.float32(2.0**-126)


def stein_pair_sums(du_plus, du_minus) -> tuple[np.ndarray, np.ndarray]:
    """(du_plus - du_minus, du_plus + du_minus), one IEEE float32 op each.

    ``du_plus`` = g(x+delta) - g(x), ``du_minus`` = g(x-delta) - g(x), float32,
    same shape (any). The first result is g+ - g- (gradient term), the second
    is g+ + g- - 2g (Laplacian term); forming them from differences avoids
    cancelling against g(x).
    """
    du_plus = require_fp32(du_plus, "du_plus")
    du_minus = require_fp32(du_minus, "du_minus")
    if du_plus.shape != du_minus.shape:
        raise ValueError(f"du_plus shape {du_plus.shape} differs from du_minus shape {du_minus.shape}")
    with np.errstate(over="ignore"):  # an overflow gives ±inf, an IEEE value (as in the vector unit)
        return du_plus - du_minus, du_plus + du_minus


def stein_sigma_constants(sigma) -> tuple[np.float32, np.float32, np.float32]:
    """(s2, inv_two_s2, inv_two_s4) for a float32 smoothing width ``sigma`` > 0.

    Op order: s2 = sigma*sigma; inv_two_s2 = 1/(s2*2); inv_two_s4 = 1/((s2*s2)*2).
    Refused (ValueError) unless sigma is finite, > 0, and 2*sigma^4 is a
    normal float32 with a finite reciprocal (roughly 2**-31 < sigma < 2**31).
    """
    sigma = require_fp32(sigma, "sigma")
    if sigma.shape != ():
        raise ValueError(f"sigma must be a float32 scalar; got shape {sigma.shape}")
    sigma = sigma[()]
    if not (np.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be finite and > 0; got {sigma!r}")
    with np.errstate(over="ignore", under="ignore"):  # range is checked just below
        s2 = sigma * sigma
        two_s4 = (s2 * s2) * TWO
    if not (two_s4 >= _MIN_NORMAL and np.isfinite(two_s4)):
        raise ValueError(f"sigma = {sigma!r} makes 2*sigma^4 leave the normal float32 range")
    return s2, ONE / (s2 * TWO), ONE / two_s4


def stein_gradient_weights(delta, sigma) -> np.ndarray:
    """delta / (2 sigma^2) as delta * inv_two_s2; float32, ``delta``'s shape (..., D)."""
    delta = require_fp32(delta, "delta")
    _, inv_two_s2, _ = stein_sigma_constants(sigma)
    return delta * inv_two_s2


def stein_laplacian_weights(delta, sigma) -> np.ndarray:
    """(|delta|^2 - D sigma^2) / (2 sigma^4) per perturbation; float32, shape (...).

    ``delta``: float32 (..., D), D = the coordinates the Laplacian runs over.
    Op order: nsq = tree_sum(delta*delta, last axis); d_s2 = float32(D) * s2;
    weight = (nsq - d_s2) * inv_two_s4.
    """
    delta = require_fp32(delta, "delta")
    if delta.ndim == 0:
        raise ValueError("delta must have a last axis of D coordinates; got a scalar")
    s2, _, inv_two_s4 = stein_sigma_constants(sigma)
    nsq = tree_sum(delta * delta, axis=-1)
    d_s2 = int_to_fp32(delta.shape[-1], "D (delta.shape[-1])") * s2
    return (nsq - d_s2) * inv_two_s4


def stein_estimates(du_plus, du_minus, delta, sigma) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(gradient, Laplacian, value offset) Stein estimates, float32.

    ``du_plus``, ``du_minus``: float32 (..., K); ``delta``: float32 (..., K, D).
    Returns gradient (..., D), Laplacian (...), and the value offset (...)
    to add to g(x). Op order:
      (dif, sm) = stein_pair_sums(du_plus, du_minus)
      gradient  = tree_mean(stein_gradient_weights(delta) * dif[..., None], axis K)
      laplacian = tree_mean(stein_laplacian_weights(delta) * sm, axis K)
      value     = tree_mean(sm, axis K) * 0.5
    """
    delta = require_fp32(delta, "delta")
    dif, sm = stein_pair_sums(du_plus, du_minus)
    if delta.ndim < 2 or delta.shape[:-1] != dif.shape:
        raise ValueError(f"delta shape {delta.shape} must be du_plus shape {dif.shape} plus a last axis of D coordinates")
    gradient = tree_mean(stein_gradient_weights(delta, sigma) * dif[..., None], axis=-2)
    laplacian = tree_mean(stein_laplacian_weights(delta, sigma) * sm, axis=-1)
    value = tree_mean(sm, axis=-1) * HALF
    return gradient, laplacian, value
