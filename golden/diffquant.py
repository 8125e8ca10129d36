"""DiffQuant: quantize a base and a small difference as separate SMX tensors.

Why (algorithms.md §4): the Stein-estimator perturbations δ have σ ≈ 0.01,
while an INT8 SMX block whose largest element is about 1 has a step of
2**-6 ≈ 0.016. Quantizing x + δ with the block of x therefore mostly returns
Q(x) again, and the finite differences the estimator needs collapse to zero.
Its weights (‖δ‖² − Dσ²)/(2σ⁴) ≈ 1e4..1e5 then amplify whatever error is left.
Quantizing δ (or a layer difference Δh) on its own gives it block exponents
near log2 σ, so its step is far below σ; the base is shared by all 2K
perturbed evaluations of a collocation point.
"""

from __future__ import annotations

from typing import Any


from pinta.config import PintaConfig

from .smx import SMXAccumulator, SMXTensor, as_finite_matrix, smx_matmul, smx_quantize

__all__ = ["diffquant_quantize", "diffquant_first_layer"]


def diffquant_quantize(base: Any, diff: Any, bits: int, cfg: PintaConfig | None = None) -> tuple[SMXTensor, SMXTensor]:
    """Quantize ``base`` and ``diff`` separately, each with its own block exponents.

    Parameters
    ----------
    base, diff : array_like, same 2-D shape (rows, cols)
        The base point (x, or h(x)) and the difference (δ, or Δh), finite reals.
    bits : int
        Element width for both.

    Returns
    -------
    (Q(base), Q(diff)) as two :class:`SMXTensor` of that shape.
    """
    base_arr = as_finite_matrix(base, "base")
    diff_arr = as_finite_matrix(diff, "diff")
    if base_arr.shape != diff_arr.shape:
        raise ValueError(f"diffquant_quantize: base {base_arr.shape} and diff {diff_arr.shape} must have the same shape")
    return smx_quantize(base_arr, bits, cfg), smx_quantize(diff_arr, bits, cfg)


def diffquant_first_layer(
    x: Any,
    delta: Any,
    w: Any,
    bits: int = 8,
    cfg: PintaConfig | None = None,
) -> tuple[SMXAccumulator, SMXAccumulator]:
    """First-layer pre-activations of x ± δ, by linearity: W·Q(x) ± W·Q(δ).

    Parameters
    ----------
    x, delta : array_like, shape (batch, d_in)
        Collocation points and their perturbation.
    w : array_like, shape (d_in, d_out)
        Layer weights (quantized here at ``bits``).

    Returns
    -------
    (Q(x)·Q(w), Q(δ)·Q(w)) as exact accumulators, shape (batch, d_out);
    the pre-activation of x ± δ is ``base.to_float() ± diff.to_float()``.
    """
    qx, qd = diffquant_quantize(x, delta, bits, cfg)
    qw = smx_quantize(w, bits, cfg)
    return smx_matmul(qx, qw, cfg=cfg), smx_matmul(qd, qw, cfg=cfg)
