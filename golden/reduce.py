"""The one float32 reduction rule of PINTA's vector unit: a fixed binary tree.

Floating-point addition is not associative, so a sum is only reproducible
bit for bit if its order is part of the definition. The order chosen here:

    pad the reduced axis with +0.0 up to the next power of two p;
    while p > 1: h = p/2; x = x[:h] + x[h:]  (elementwise); p = h.

Why this order: each pass is one elementwise float32 add of two contiguous
halves, so NumPy evaluates it vectorised over every other axis, and the
hardware reproduces it with one adder pipeline making log2(p) halving passes
over a buffer (read element i and i+h, write element i), with no data-
dependent order and no wide accumulator.
"""

from __future__ import annotations

import numpy as np

from .fp32 import ZERO, fp32_reciprocal_of_count, require_fp32

__all__ = ["tree_sum", "tree_mean"]


def _axis_to_front(x: np.ndarray, axis: int) -> np.ndarray:
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"axis must be an integer; got {type(axis).__name__}")
    if x.ndim == 0:
        raise ValueError("x is a scalar (0-d); a reduction needs at least one axis")
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"axis {axis} is out of range for an array with {x.ndim} dimensions")
    return np.moveaxis(x, axis, 0)


def tree_sum(x, axis: int = -1) -> np.ndarray:
    """Sum of float32 ``x`` along ``axis`` in the fixed halving-tree order.

    ``x``: float32 array, shape (..., n, ...) with n the length of ``axis``.
    Returns float32, ``x``'s shape without ``axis``. An empty axis sums to
    +0.0. Padding uses +0.0, so (as in IEEE) a padded -0.0 becomes +0.0.
    """
    x = require_fp32(x, "x")
    v = _axis_to_front(x, axis)
    n = v.shape[0]
    if n == 0:
        return np.zeros(v.shape[1:], dtype=np.float32)
    p = 1 << (n - 1).bit_length()
    if p != n:
        v = np.concatenate([v, np.full((p - n,) + v.shape[1:], ZERO, dtype=np.float32)], axis=0)
    while p > 1:
        p //= 2
        v = v[:p] + v[p:]
    return v[0]


def tree_mean(x, axis: int = -1) -> np.ndarray:
    """Mean of float32 ``x`` along ``axis``: tree_sum(x) * (1.0f / n).

    The reciprocal is one IEEE float32 division (:func:`fp32_reciprocal_of_count`),
    computed once, then one multiply per output. n must be in [1, 2**24].
    Returns float32, ``x``'s shape without ``axis``.
    """
    x = require_fp32(x, "x")
    v = _axis_to_front(x, axis)
    n = v.shape[0]
    if n == 0:
        raise ValueError("tree_mean of an empty axis is undefined (n = 0)")
    return tree_sum(v, 0) * fp32_reciprocal_of_count(n, "length of the reduced axis")
