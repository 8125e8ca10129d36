"""Bit-exact float32 Adam and the linear learning-rate schedule.

Master weights and both Adam moments are IEEE float32 (algorithms.md section 6
leaves the choice open; see docs/vector-numerics.md for why not fixed point).
Every update is a fixed sequence of float32 operations, given in
:func:`adam_step`; the hardware performs the same sequence per lane.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .fp32 import ONE, ZERO, fp32_sqrt, int_to_fp32, require_fp32, to_fp32

__all__ = ["AdamState", "adam_init", "adam_step", "linear_decay_lr"]


@dataclass(frozen=True)
class AdamState:
    """Adam optimizer state for one float32 parameter tensor.

    Members
    -------
    m, v : float32 arrays, the parameter's shape
        First and second moment estimates.
    step : int
        Number of updates applied so far (0 before the first).
    beta1_pow, beta2_pow : float32 scalars
        beta1**step and beta2**step, tracked by one float32 multiply per
        update (start at 1.0).
    """

    m: np.ndarray
    v: np.ndarray
    step: int
    beta1_pow: np.float32
    beta2_pow: np.float32


def adam_init(shape) -> AdamState:
    """Zero moments of ``shape``, step 0, beta powers 1.0."""
    return AdamState(
        m=np.zeros(shape, dtype=np.float32),
        v=np.zeros(shape, dtype=np.float32),
        step=0,
        beta1_pow=ONE,
        beta2_pow=ONE,
    )


def _hyper(value, name: str) -> np.float32:
    """A hyperparameter as float32: float32 passes as is, other reals round to nearest even."""
    arr = np.asarray(value)
    if arr.shape != ():
        raise ValueError(f"{name} must be a scalar; got shape {arr.shape}")
    f = to_fp32(arr)[()]
    if not np.isfinite(f):
        raise ValueError(f"{name} must be finite; got {value!r}")
    return f


def adam_step(w, g, state: AdamState, lr, beta1=0.9, beta2=0.999, eps=1e-8) -> tuple[np.ndarray, AdamState]:
    """One Adam update; returns (new weights, new state). Inputs are not modified.

    ``w``, ``g``: float32 arrays of the same shape (weights, gradient).
    ``lr``, ``beta1``, ``beta2``, ``eps``: scalars, rounded once to float32
    (the values loaded into the hardware's registers).

    Op order (every line is float32, one rounding per operation):
      m   = (b1 * m) + ((1 - b1) * g)
      v   = (b2 * v) + ((1 - b2) * (g * g))
      p1  = beta1_pow * b1;          p2 = beta2_pow * b2
      mhat = m / (1 - p1);           vhat = v / (1 - p2)
      u   = mhat / (sqrt(vhat) + eps)
      w   = w - lr * u
    """
    w = require_fp32(w, "w")
    g = require_fp32(g, "g")
    if w.shape != g.shape:
        raise ValueError(f"g shape {g.shape} differs from w shape {w.shape}")
    if state.m.shape != w.shape or state.v.shape != w.shape:
        raise ValueError(f"state moments have shape {state.m.shape}/{state.v.shape}, weights {w.shape}")
    lr_f = _hyper(lr, "lr")
    b1 = _hyper(beta1, "beta1")
    b2 = _hyper(beta2, "beta2")
    eps_f = _hyper(eps, "eps")
    if not (ZERO <= b1 < ONE and ZERO <= b2 < ONE):
        raise ValueError(f"beta1 and beta2 must be in [0, 1); got {beta1!r}, {beta2!r}")
    if not eps_f > ZERO:
        raise ValueError(f"eps must be > 0 (it keeps the division finite); got {eps!r}")

    one_minus_b1 = ONE - b1
    one_minus_b2 = ONE - b2
    # IEEE values throughout: a g·g that overflows gives v = inf and u = 0, as in the
    # hardware, so NumPy's overflow warning is noise here (as in golden/fp32.py).
    with np.errstate(over="ignore"):
        m = b1 * state.m + one_minus_b1 * g
        v = b2 * state.v + one_minus_b2 * (g * g)
        p1 = state.beta1_pow * b1
        p2 = state.beta2_pow * b2
        mhat = m / (ONE - p1)
        vhat = v / (ONE - p2)
        u = mhat / (fp32_sqrt(vhat) + eps_f)
        new_w = w - lr_f * u
    return new_w, AdamState(m=m, v=v, step=state.step + 1, beta1_pow=p1, beta2_pow=p2)


def linear_decay_lr(lr0, step: int, total: int) -> np.float32:
    """Learning rate of update number ``step`` (0-based) decaying linearly to 0 at ``total``.

    lr = lr0 * (float32(total - step) / float32(total)): one exact integer
    conversion each, one IEEE division, one multiply. So step 0 gives lr0
    exactly and step ``total`` gives +0. ``0 <= step <= total <= 2**24``.
    """
    for name, value in (("step", step), ("total", total)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be an integer; got {type(value).__name__}")
    if not 1 <= total <= 1 << 24:
        raise ValueError(f"total must be in [1, 2**24]; got {total}")
    if not 0 <= step <= total:
        raise ValueError(f"step must be in [0, total={total}]; got {step}")
    lr0_f = _hyper(lr0, "lr0")
    frac = int_to_fp32(int(total) - int(step), "total - step")[()] / int_to_fp32(int(total), "total")[()]
    return lr0_f * frac
