"""Tests of the bit-exact float32 Adam and learning-rate schedule (golden/adam.py)."""

from __future__ import annotations

import numpy as np
import pytest

from pinta.golden.adam import AdamState, adam_init, adam_step, linear_decay_lr

U = 2.0**-24  # float32 unit roundoff
f32 = np.float32


def scalar_adam_reference(w, grads, lr, beta1, beta2, eps):
    """The documented op order, written independently with np.float32 scalars, one element at a time."""
    b1, b2, e, a = f32(beta1), f32(beta2), f32(eps), f32(lr)
    out = np.array(w, dtype=np.float32).copy()
    for i in range(out.size):
        wi, m, v, p1, p2 = out.flat[i], f32(0), f32(0), f32(1), f32(1)
        for g_all in grads:
            gi = g_all.flat[i]
            m = f32(f32(b1 * m) + f32(f32(f32(1) - b1) * gi))
            v = f32(f32(b2 * v) + f32(f32(f32(1) - b2) * f32(gi * gi)))
            p1 = f32(p1 * b1)
            p2 = f32(p2 * b2)
            mhat = f32(m / f32(f32(1) - p1))
            vhat = f32(v / f32(f32(1) - p2))
            step = f32(mhat / f32(np.sqrt(vhat) + e))
            wi = f32(wi - f32(a * step))
        out.flat[i] = wi
    return out


def _gradient_stream(steps: int, shape, seed: int) -> list[np.ndarray]:
    """Gradients spanning 1e-6 .. 1e3 in magnitude, both signs, some exact zeros."""
    rng = np.random.default_rng(seed)
    grads = []
    for _ in range(steps):
        mag = 10.0 ** rng.uniform(-6, 3, shape)
        g = (mag * rng.choice([-1.0, 1.0], shape)).astype(np.float32)
        g[rng.random(shape) < 0.05] = 0
        grads.append(g)
    return grads


def _run(w, grads, lr, **kw):
    state = adam_init(w.shape)
    for g in grads:
        w, state = adam_step(w, g, state, lr, **kw)
    return w, state


def test_matches_independent_scalar_reimplementation():
    w0 = np.random.default_rng(1).standard_normal((3, 5)).astype(np.float32)
    grads = _gradient_stream(25, (3, 5), seed=2)
    w, state = _run(w0, grads, f32(1e-3))
    expected = scalar_adam_reference(w0, grads, 1e-3, 0.9, 0.999, 1e-8)
    assert w.dtype == np.float32
    assert np.array_equal(w.view(np.uint32), expected.view(np.uint32))
    assert state.step == 25 and state.m.dtype == np.float32 and state.v.dtype == np.float32


def test_bit_reproducible_and_pure():
    w0 = np.random.default_rng(3).standard_normal(64).astype(np.float32)
    grads = _gradient_stream(10, (64,), seed=4)
    w0_copy = w0.copy()
    a, sa = _run(w0, grads, f32(2e-3))
    b, sb = _run(w0, grads, f32(2e-3))
    assert np.array_equal(a.view(np.uint32), b.view(np.uint32))
    assert np.array_equal(sa.v.view(np.uint32), sb.v.view(np.uint32))
    assert np.array_equal(w0, w0_copy)  # inputs untouched
    # Each lane is independent of the others.
    lane = _run(w0[7:8], [g[7:8] for g in grads], f32(2e-3))[0]
    assert lane.view(np.uint32)[0] == a.view(np.uint32)[7]


def float64_adam(w, grads, lr, b1, b2, eps):
    """Textbook Adam in float64 with the same (float32-rounded) hyperparameters."""
    w = w.astype(np.float64)
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    steps = []
    for t, g in enumerate(grads, start=1):
        g = g.astype(np.float64)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        u = (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
        steps.append(np.abs(u))
        w = w - lr * u
    return w, steps


def test_close_to_float64_adam():
    steps, shape = 300, (200,)
    w0 = np.random.default_rng(5).standard_normal(shape).astype(np.float32)
    grads = _gradient_stream(steps, shape, seed=6)
    lr, b1, b2, eps = f32(1e-3), f32(0.9), f32(0.999), f32(1e-8)
    w32, _ = _run(w0, grads, lr)
    w64, abs_u = float64_adam(w0, grads, float(lr), float(b1), float(b2), float(eps))
    # Error budget (from the op order, not from a run). beta2**t carries at
    # most t roundings, so 1 - beta2**t is off by <= t*b2**t/(1 - b2**t) <=
    # b2/(1 - b2) ~ 1000 units of roundoff; halved by the sqrt. The same for
    # beta1 gives <= 10. About 20 further roundings happen on the way to u.
    # Every step also rounds w itself (1/2 ulp).
    per_step_rel = (1000 / 2 + 10 + 20) * U
    budget = sum(float(lr) * a * per_step_rel for a in abs_u)
    budget = budget + steps * 0.5 * U * np.maximum(np.abs(w64), np.abs(w0.astype(np.float64)) + 1)
    assert np.all(np.abs(w32 - w64) <= 2 * budget)


def test_beta_power_goes_through_subnormals_without_flushing():
    state = adam_init((1,))
    w, g = np.zeros(1, np.float32), np.ones(1, np.float32)
    seen_subnormal = False
    expected = f32(1)
    for _ in range(1000):
        w, state = adam_step(w, g, state, f32(1e-3))
        expected = f32(expected * f32(0.9))
        assert state.beta1_pow == expected
        seen_subnormal |= bool(0 < state.beta1_pow < f32(2.0**-126))
    assert seen_subnormal  # 0.9**t passes 2**-126 near t = 830
    # Deep in the subnormal range round-to-nearest stalls the product: a few
    # units of 2**-149 times 0.9 round back to themselves (4*0.9 = 3.6 -> 4).
    # The power never reaches 0, and 1 - beta1_pow is exactly 1 by then.
    assert 0 < state.beta1_pow < f32(2.0**-146)
    assert f32(state.beta1_pow * f32(0.9)) == state.beta1_pow
    assert f32(1) - state.beta1_pow == 1


def test_linear_decay_lr():
    lr0, total = f32(1e-3), 1000
    lrs = np.array([linear_decay_lr(lr0, s, total) for s in range(total + 1)])
    assert lrs.dtype == np.float32
    assert lrs[0] == lr0 and lrs[-1] == 0
    assert np.all(np.diff(lrs) <= 0)
    # Documented op order, written independently.
    for s in (1, 7, 500, 999):
        assert linear_decay_lr(lr0, s, total) == lr0 * (f32(total - s) / f32(total))
    exact = float(lr0) * (total - np.arange(total + 1)) / total
    assert np.all(np.abs(lrs - exact) <= 2 * U * exact)  # two roundings
    for bad_step, bad_total in ((-1, 10), (11, 10), (0, 0), (0, 2**24 + 1)):
        with pytest.raises(ValueError, match="step|total"):
            linear_decay_lr(lr0, bad_step, bad_total)
    with pytest.raises(TypeError, match="step"):
        linear_decay_lr(lr0, 1.0, 10)


def test_bad_input():
    w = np.zeros(3, np.float32)
    state = adam_init(3)
    with pytest.raises(TypeError, match="float64"):
        adam_step(np.zeros(3), w, state, f32(1e-3))
    with pytest.raises(ValueError, match="shape"):
        adam_step(w, np.zeros(4, np.float32), state, f32(1e-3))
    with pytest.raises(ValueError, match="beta1"):
        adam_step(w, w, state, f32(1e-3), beta1=1.0)
    with pytest.raises(ValueError, match="eps"):
        adam_step(w, w, state, f32(1e-3), eps=0.0)
    with pytest.raises(ValueError, match="lr"):
        adam_step(w, w, state, np.float32(np.nan))
    assert isinstance(state, AdamState)
