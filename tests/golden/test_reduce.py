"""Tests of the fixed-order float32 reduction (golden/reduce.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pinta.golden.fp32 import fp32_reciprocal_of_count
from pinta.golden.reduce import tree_mean, tree_sum

U = 2.0**-24  # float32 unit roundoff


def reference_tree_sum_1d(values: list[np.float32]) -> np.float32:
    """The documented rule written out with scalars: pad with +0, then pair i with i+h."""
    n = len(values)
    p = 1
    while p < n:
        p *= 2
    buf = list(values) + [np.float32(0.0)] * (p - n)
    while len(buf) > 1:
        h = len(buf) // 2
        buf = [np.float32(buf[i] + buf[i + h]) for i in range(h)]
    return buf[0]


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 13, 16, 31, 33, 64, 100])
def test_matches_scalar_reference_bitwise(n):
    x = np.random.default_rng(n).standard_normal(n).astype(np.float32) * np.float32(1e3)
    got = tree_sum(x)
    assert got.dtype == np.float32
    assert np.float32(got).view(np.uint32) == reference_tree_sum_1d(list(x)).view(np.uint32)


def test_vectorised_over_other_axes_and_axis_choice():
    x = np.random.default_rng(0).standard_normal((6, 11, 5)).astype(np.float32)
    for axis in (0, 1, 2, -1):
        got = tree_sum(x, axis=axis)
        moved = np.moveaxis(x, axis, -1).reshape(-1, x.shape[axis])
        expected = np.array([reference_tree_sum_1d(list(row)) for row in moved], dtype=np.float32)
        assert got.shape == np.moveaxis(x, axis, -1).shape[:-1]
        assert np.array_equal(got.reshape(-1).view(np.uint32), expected.view(np.uint32))


def test_order_is_part_of_the_definition():
    # The tree order is not the sequential order: both are valid float32 sums,
    # but they differ in general, which is why the rule must be fixed.
    x = np.array([1.0, 2.0**-24, 2.0**-24, 2.0**-24], dtype=np.float32)
    sequential = np.float32(0)
    for v in x:
        sequential = np.float32(sequential + v)
    assert tree_sum(x) == np.float32((x[0] + x[2]) + (x[1] + x[3]))
    assert sequential == np.float32(1.0)
    assert tree_sum(x) != sequential


def test_exact_for_small_integers():
    x = np.arange(-500, 777, dtype=np.float32)
    assert tree_sum(x) == np.float32(np.arange(-500, 777).sum())


@settings(max_examples=200, deadline=None)
@given(hnp.arrays(np.float32, st.integers(1, 300), elements=st.floats(-1e6, 1e6, width=32)))
def test_error_bound(x):
    # Standard bound for a pairwise tree of depth d = log2(p): |err| <= d*u/(1-d*u) * sum|x|.
    d = max(1, math.ceil(math.log2(len(x))))
    exact = float(np.sum(x.astype(np.float64)))
    bound = d * U / (1 - d * U) * float(np.sum(np.abs(x.astype(np.float64))))
    assert abs(float(tree_sum(x)) - exact) <= bound


def test_empty_axis_and_signed_zeros():
    assert tree_sum(np.zeros((0,), np.float32)) == 0
    assert tree_sum(np.zeros((3, 0), np.float32), axis=1).shape == (3,)
    one_neg_zero = np.array([-0.0], dtype=np.float32)
    assert np.signbit(tree_sum(one_neg_zero))  # n = 1: no padding, no add
    assert not np.signbit(tree_sum(np.array([-0.0, -0.0, -0.0], np.float32)))  # padded with +0


def test_tree_mean_is_sum_times_reciprocal():
    x = np.random.default_rng(5).uniform(-3, 3, (4, 37)).astype(np.float32)
    mean = tree_mean(x, axis=1)
    assert mean.dtype == np.float32
    assert np.array_equal(mean, tree_sum(x, axis=1) * fp32_reciprocal_of_count(37))
    # Close to the float64 mean: tree error (depth 6) plus two roundings.
    ref = x.astype(np.float64).mean(axis=1)
    bound = (6 + 2) * U * np.abs(x.astype(np.float64)).mean(axis=1) * 1.01
    assert np.all(np.abs(mean - ref) <= bound)


def test_bad_input():
    with pytest.raises(TypeError, match="float64"):
        tree_sum(np.ones(4))
    with pytest.raises(ValueError, match="out of range"):
        tree_sum(np.ones((2, 2), np.float32), axis=2)
    with pytest.raises(ValueError, match="scalar"):
        tree_sum(np.float32(1))
    with pytest.raises(ValueError, match="empty"):
        tree_mean(np.zeros((0,), np.float32))
