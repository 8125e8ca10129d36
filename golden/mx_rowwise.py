"""Row-wise MX (OCP-MX-style 1×32 blocks), golden model for the SMX ablation.

docs/numerics.md §2. Each block is 32 consecutive elements along the
reduction axis of the GEMM the tensor feeds: along columns (``axis=1``) for a
left operand, along rows (``axis=0``) for a right operand. Exponent,
rounding, saturation, alignment and accumulation are the functions of
:mod:`pinta.golden.smx`; this module only changes the block shape.

Because a block is a line, the transpose of a row-wise MX tensor is not a
row-wise MX tensor along the axis the transposed GEMM reduces over: a
transposed use needs a second quantization from the real values. That second
copy is exactly the cost SMX avoids, so :attr:`MXTensor.T` raises instead of
silently re-quantizing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from pinta.config import SMX_ELEMENT_WIDTHS, PintaConfig

from .smx import (
    _check_bits,
    _readonly,
    _resolve_cfg,
    _round_up,
    accumulator_to_float,
    accumulator_to_fp32,
    aligned_block_matmul,
    as_finite_matrix,
    check_width_pair,
    quantize_blocks,
)

__all__ = ["MX_BLOCK", "MXTensor", "MXAccumulator", "mx_quantize", "mx_dequantize", "mx_matmul"]

#: Elements per row-wise MX block (OCP MX v1.0).
MX_BLOCK = 32


def _block_shape(axis: int) -> tuple[int, int]:
    return (1, MX_BLOCK) if axis == 1 else (MX_BLOCK, 1)


@dataclass(frozen=True, eq=False)
class MXTensor:
    """A matrix in row-wise MX format.

    Members
    -------
    codes : int16 ndarray
        (rows, Q) for ``axis=1`` or (P, cols) for ``axis=0``: the matrix
        zero-padded along ``axis`` to a multiple of ``block``. Element (i, j)
        stands for ``codes[i, j] * 2**E`` with E the exponent of its block.
    exponents : int16 ndarray
        (rows, Q // block) for ``axis=1``, (P // block, cols) for ``axis=0``.
    shape : (int, int)
        Shape of the original matrix.
    bits : int
        Element width b (4, 8 or 12).
    axis : int
        0: blocks run down columns (right GEMM operand); 1: along rows (left).
    block : int
        Block length; only 32 is defined.

    ``.T`` raises ``TypeError``: re-quantize the transposed real matrix instead.
    """

    codes: np.ndarray
    exponents: np.ndarray
    shape: tuple[int, int]
    bits: int
    axis: int
    block: int = MX_BLOCK

    def __post_init__(self) -> None:
        if self.block != MX_BLOCK:
            raise ValueError(f"MXTensor.block must be {MX_BLOCK}, got {self.block!r}")
        if self.axis not in (0, 1) or isinstance(self.axis, bool):
            raise ValueError(f"MXTensor.axis must be 0 or 1, got {self.axis!r}")
        codes, exps = self.codes, self.exponents
        for name, arr in (("codes", codes), ("exponents", exps)):
            if not isinstance(arr, np.ndarray) or arr.dtype != np.int16 or arr.ndim != 2:
                raise TypeError(f"MXTensor.{name} must be a 2-D int16 ndarray")
        br, bc = _block_shape(self.axis)
        if codes.size == 0 or codes.shape[0] % br or codes.shape[1] % bc:
            raise ValueError(f"MXTensor.codes shape {codes.shape} is not a whole number of {br}×{bc} blocks")
        if exps.shape != (codes.shape[0] // br, codes.shape[1] // bc):
            raise ValueError(f"MXTensor.exponents must have shape {(codes.shape[0] // br, codes.shape[1] // bc)}, got {exps.shape}")
        if isinstance(self.bits, bool) or self.bits not in SMX_ELEMENT_WIDTHS:
            raise ValueError(f"MXTensor.bits must be one of {list(SMX_ELEMENT_WIDTHS)}, got {self.bits!r}")
        shape = tuple(int(s) for s in self.shape) if isinstance(self.shape, tuple) and len(self.shape) == 2 else None
        if shape is None or any(s < 1 for s in shape) or tuple(_round_up(s, b) for s, b in zip(shape, (br, bc))) != codes.shape:
            raise ValueError(f"MXTensor.shape {self.shape!r} does not pad to codes shape {codes.shape} along axis {self.axis}")
        limit = (1 << (self.bits - 1)) - 1
        if int(np.abs(codes.astype(np.int32)).max()) > limit:
            raise ValueError(f"MXTensor.codes out of the symmetric {self.bits}-bit range [-{limit}, {limit}]")
        if codes[shape[0]:, :].any() or codes[:, shape[1]:].any():
            raise ValueError("MXTensor.codes must be zero in the padding")
        object.__setattr__(self, "codes", _readonly(codes))
        object.__setattr__(self, "exponents", _readonly(exps))
        object.__setattr__(self, "shape", shape)

    @property
    def T(self) -> "MXTensor":
        raise TypeError(
            "a row-wise MX tensor has no exact transpose: its 1×32 blocks lie along one axis only. "
            f"Re-quantize the real matrix instead, e.g. mx_quantize(x.T, bits={self.bits}, axis={1 - self.axis}) "
            "(that second copy is what SMX avoids)."
        )

    def __repr__(self) -> str:
        return f"MXTensor(shape={self.shape}, bits={self.bits}, axis={self.axis})"


def mx_quantize(x: Any, bits: int, axis: int, cfg: PintaConfig | None = None) -> MXTensor:
    """Quantize a 2-D real matrix to row-wise MX with blocks of 32 along ``axis``.

    Parameters
    ----------
    x : array_like, shape (rows, cols)
        Finite reals (NaN/Inf refused as in :func:`pinta.golden.smx.smx_quantize`).
    bits : int
        Element width, one of ``cfg.element_bits``.
    axis : int
        1 for the left GEMM operand (blocks along its columns = reduction),
        0 for the right operand (blocks along its rows).
    """
    cfg = _resolve_cfg(cfg)
    bits = _check_bits(bits, cfg)
    if isinstance(axis, bool) or axis not in (0, 1):
        raise ValueError(f"axis must be 0 (right operand, blocks along rows) or 1 (left operand, blocks along columns), got {axis!r}")
    arr = as_finite_matrix(x)
    rows, cols = arr.shape
    br, bc = _block_shape(axis)
    p, q = _round_up(rows, br), _round_up(cols, bc)
    if (p, q) != (rows, cols):
        padded = np.zeros((p, q), dtype=np.float64)
        padded[:rows, :cols] = arr
        arr = padded
    codes, exponents = quantize_blocks(arr.reshape(p // br, br, q // bc, bc), bits, cfg)
    return MXTensor(codes.reshape(p, q), exponents, (rows, cols), bits, axis)


def mx_dequantize(t: MXTensor) -> np.ndarray:
    """Exact real values of a row-wise MX tensor, float64 array of ``t.shape``."""
    if not isinstance(t, MXTensor):
        raise TypeError(f"mx_dequantize needs an MXTensor, got {type(t).__name__}")
    br, bc = _block_shape(t.axis)
    p, q = t.codes.shape
    blocks = t.codes.reshape(p // br, br, q // bc, bc).astype(np.float64)
    values = np.ldexp(blocks, t.exponents.astype(np.int32)[:, None, :, None]).reshape(p, q)
    return values[: t.shape[0], : t.shape[1]].copy()


@dataclass(frozen=True, eq=False)
class MXAccumulator:
    """Result of a row-wise MX GEMM: one accumulator and one exponent per element.

    Members
    -------
    acc : int64 ndarray, shape (M, N)
    exponents : int32 ndarray, shape (M, N)
        ``RA(m) + RB(n) - G``: element value is ``acc * 2**exponents``.
    shape : (int, int)
    """

    acc: np.ndarray
    exponents: np.ndarray
    shape: tuple[int, int]

    def to_float(self) -> np.ndarray:
        """Exact values, float64 (M, N)."""
        return accumulator_to_float(self.acc, self.exponents, (1, 1), self.shape)

    def to_fp32(self) -> np.ndarray:
        """Values rounded once (nearest-even) to float32, (M, N)."""
        return accumulator_to_fp32(self.to_float())


def mx_matmul(a: MXTensor, b: MXTensor, cfg: PintaConfig | None = None) -> MXAccumulator:
    """Exact row-wise MX GEMM ``a @ b`` with the SMX alignment rule on 1×32 blocks.

    ``a`` must be blocked along its columns (``axis=1``) and ``b`` along its
    rows (``axis=0``), so both are blocked along the reduction. The
    reference exponent of output (m, n) is RA(m) + RB(n), with RA(m) the
    largest exponent on row m of ``a`` and RB(n) the largest on column n of
    ``b``; each 32-long block dot product is aligned with
    :func:`pinta.golden.smx.align_partial` and summed in the same signed
    accumulator, under the same overflow bound (block depth 32).
    """
    cfg = _resolve_cfg(cfg)
    for name, t in (("a", a), ("b", b)):
        if not isinstance(t, MXTensor):
            raise TypeError(f"mx_matmul: {name} must be an MXTensor, got {type(t).__name__}")
    if a.axis != 1 or b.axis != 0:
        raise ValueError(
            f"mx_matmul needs a blocked along its columns (axis=1) and b along its rows (axis=0); got a.axis={a.axis}, b.axis={b.axis}. "
            "Re-quantize with mx_quantize(x, bits, axis=...) for this GEMM."
        )
    check_width_pair(a.bits, b.bits, cfg)
    if a.shape[1] != b.shape[0]:
        raise ValueError(f"mx_matmul: inner dimensions differ: a is {a.shape}, b is {b.shape}")
    for name, t in (("a", a), ("b", b)):
        lo, hi = int(t.exponents.min()), int(t.exponents.max())
        if lo < cfg.exponent_min or hi > cfg.exponent_max:
            raise ValueError(f"mx_matmul: {name} has exponents in [{lo}, {hi}], outside cfg's [{cfg.exponent_min}, {cfg.exponent_max}]")
    acc, exps = aligned_block_matmul(a.codes, a.exponents, (1, MX_BLOCK), b.codes, b.exponents, (MX_BLOCK, 1), a.bits, b.bits, cfg)
    return MXAccumulator(_readonly(acc), _readonly(exps), (a.shape[0], b.shape[1]))
