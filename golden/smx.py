"""SMX: the square-block (4×4) shared-exponent integer format, golden model.

This module is the single home of PINTA's numeric rules (docs/numerics.md):

* :func:`round_half_away_from_zero` -- the one rounding rule;
* :func:`saturate` -- the one saturation rule;
* :func:`shared_exponent` -- the one block-exponent rule;
* :func:`quantize_blocks` -- the one element-code rule (uses the three above);
* :func:`align_partial` and :func:`check_accumulator_bound` -- the one
  alignment rule and the one accumulator-overflow rule, used by
  :func:`aligned_block_matmul`, the one GEMM engine;
* :func:`accumulator_to_float` / :func:`accumulator_to_fp32` -- the one way an
  accumulator becomes a real number.

Row-wise MX (:mod:`pinta.golden.mx_rowwise`) and DiffQuant
(:mod:`pinta.golden.diffquant`) import these; they repeat none of them.

Units: a code ``q`` with block exponent ``E`` stands for the real number
``q * 2**E``. Shapes are ``(rows, cols)``; padded shapes are the next
multiples of ``cfg.block_size`` (4).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from pinta.config import SMX_ELEMENT_WIDTHS, PintaConfig

__all__ = [
    "SMXTensor",
    "SMXAccumulator",
    "SUPPORTED_WIDTH_PAIRS",
    "round_half_away_from_zero",
    "saturate",
    "shared_exponent",
    "quantize_blocks",
    "align_partial",
    "check_accumulator_bound",
    "check_width_pair",
    "aligned_block_matmul",
    "accumulator_to_float",
    "accumulator_to_fp32",
    "smx_quantize",
    "smx_dequantize",
    "smx_matmul",
    "smx_matmul_fp32",
    "max_reduction_blocks",
    "smx_requantize",
    "default_config",
    "as_finite_matrix",
]

#: Operand-width pairs the MAC array implements (unordered): forward INT8×INT8,
#: backward INT12×INT8, inference INT4×INT4.
SUPPORTED_WIDTH_PAIRS: tuple[frozenset[int], ...] = (frozenset({8}), frozenset({12, 8}), frozenset({4}))

# PintaConfig accepts exponent_bits up to 10; a tensor does not carry its
# config, so its constructor can only check against the widest legal range.
# Operations that receive a cfg check the exact range.
_WIDEST_EXPONENT_BITS = 10

_default_cfg: PintaConfig | None = None


def default_config() -> PintaConfig:
    """The ``PintaConfig()`` used when a function gets ``cfg=None`` (built once)."""
    global _default_cfg
    if _default_cfg is None:
        _default_cfg = PintaConfig()
    return _default_cfg


def _resolve_cfg(cfg: PintaConfig | None) -> PintaConfig:
    if cfg is None:
        return default_config()
    if not isinstance(cfg, PintaConfig):
        raise TypeError(f"cfg must be a pinta.config.PintaConfig or None, got {type(cfg).__name__}")
    return cfg


def _check_bits(bits: Any, cfg: PintaConfig) -> int:
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)):
        raise TypeError(f"bits must be an integer element width, got {type(bits).__name__}")
    if int(bits) not in cfg.element_bits:
        raise ValueError(f"element width bits={bits} is not supported; allowed widths: {sorted(cfg.element_bits)}")
    return int(bits)


# ---------------------------------------------------------------------------
# The scalar rules
# ---------------------------------------------------------------------------

def round_half_away_from_zero(y: Any) -> np.ndarray:
    """Round each value to the nearest integer, ties away from zero.

    Parameters
    ----------
    y : array_like of real numbers, any shape
        Finite values with ``|y| < 2**63``.

    Returns
    -------
    numpy.ndarray of int64, same shape as ``y``.

    Raises ``ValueError`` for NaN, infinities or values outside the int64
    range, ``TypeError`` for non-real input.
    """
    arr = np.asarray(y)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64)
    if arr.dtype.kind != "f":
        raise TypeError(f"round_half_away_from_zero needs real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    if arr.size:
        lo, hi = np.min(arr), np.max(arr)
        # `not <=` also catches NaN, whose comparisons are all false.
        if not (-(2.0**63) < lo and hi < 2.0**63):
            raise ValueError(f"round_half_away_from_zero: input must be finite with |y| < 2**63, found values in [{lo!r}, {hi!r}]")
    # From 2**52 on every float64 is an integer (and from 2**62 on, 2y would
    # leave int64): those values are their own rounding.
    small = np.abs(arr) < 2.0**52
    out = _round_half_away_to_int(np.where(small, arr, 0.0), np.int64)
    if not small.all():
        out[~small] = arr[~small].astype(np.int64)
    return out


def _round_half_away_to_int(work: np.ndarray, dtype: Any, out: np.ndarray | None = None) -> np.ndarray:
    """The rounding arithmetic: round half away from zero of a float buffer, as integers of ``dtype``.

    Shared by :func:`round_half_away_from_zero` and the quantizer. ``work``
    (float32 or float64) is overwritten; its values must satisfy
    ``|y| < 2**(bits of dtype - 2)`` so that 2y fits ``dtype``. ``out``
    (optional, ``dtype``, shape of ``work``) receives the result.

    With u = trunc(2y) (an exact doubling, then numpy's truncating cast):
    round_half_away(y) = (u + [u > 0]) >> 1, where >> is the arithmetic
    (flooring) shift. For y >= 0, floor(y + 1/2) = floor((2y + 1) / 2) =
    floor((floor(2y) + 1) / 2) = (u + 1) >> 1 (and 0 for u = 0); for y < 0,
    -floor(-y + 1/2) = -((1 - u) >> 1) = floor(u / 2) = u >> 1. No step
    rounds, unlike the common floor(|y| + 0.5) (0.49999999999999994 + 0.5
    rounds up to 1.0, and 2**52 + 1 + 0.5 to 2**52 + 2).
    """
    np.multiply(work, 2, out=work)
    if out is None:
        u = work.astype(dtype)
    else:
        u = out
        np.copyto(u, work, casting="unsafe")  # the same truncating cast
    np.add(u, u > 0, out=u)
    np.right_shift(u, 1, out=u)
    return u


def saturate(q: Any, bits: int, out: np.ndarray | None = None) -> np.ndarray:
    """Clamp to the symmetric signed range of a ``bits``-bit code.

    The range is ``[-(2**(bits-1) - 1), 2**(bits-1) - 1]``; the code
    ``-2**(bits-1)`` is never produced, so negation never overflows and the
    format is sign-symmetric.

    Works on integers and on reals (same dtype out as in). Because both
    limits are integers, ``saturate(round(y)) == round(saturate(y))`` for
    every real ``y``; the quantizer uses the second order so that huge values
    (blocks whose exponent was clamped at E_max) never reach the integer
    conversion. ``out`` (optional) receives the result, as in numpy ufuncs.
    """
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or bits < 2:
        raise ValueError(f"saturate: bits must be an integer >= 2, got {bits!r}")
    limit = (1 << (int(bits) - 1)) - 1
    return np.clip(np.asarray(q), -limit, limit, out=out)


def _saturate_into(work: np.ndarray, bits: int) -> None:
    # saturate(work, bits, out=work) for a float array without NaN, with two
    # ufunc calls instead of np.clip's dispatch (the quantizer calls it per chunk).
    limit = (1 << (bits - 1)) - 1
    np.minimum(work, limit, out=work)
    np.maximum(work, -limit, out=work)


def shared_exponent(maxabs: Any, bits: int, cfg: PintaConfig | None = None) -> np.ndarray:
    """The shared exponent E of blocks whose largest magnitude is ``maxabs``.

    ``E = clamp(floor(log2 m) - (bits - 2), cfg.exponent_min, cfg.exponent_max)``
    and a zero block (m = 0) gets ``cfg.exponent_min``. ``floor(log2 m)`` is
    read exactly from the float64 exponent field (``np.frexp`` writes
    ``m = f * 2**e`` with ``f`` in [0.5, 1), so floor(log2 m) = e - 1); a
    ``log2`` call could round a value just below a power of two up to it.

    Parameters
    ----------
    maxabs : array_like, any shape
        Non-negative finite block maxima.
    bits : int
        Element width b.

    Returns
    -------
    numpy.ndarray of int16, same shape as ``maxabs``.
    """
    cfg = _resolve_cfg(cfg)
    bits = _check_bits(bits, cfg)
    m = np.asarray(maxabs, dtype=np.float64)
    if m.size and not (np.all(np.isfinite(m)) and np.min(m) >= 0.0):
        raise ValueError("shared_exponent: block maxima must be finite and non-negative")
    return _shared_exponent_of(m, bits, cfg)


def _shared_exponent_of(m: np.ndarray, bits: int, cfg: PintaConfig) -> np.ndarray:
    # The rule of shared_exponent for maxima already known finite and >= 0
    # (float32 or float64: frexp reads the exponent field exactly in either).
    _, e = np.frexp(m)
    e = e.astype(np.int32)
    e -= 1 + (bits - 2)
    np.maximum(e, cfg.exponent_min, out=e)
    np.minimum(e, cfg.exponent_max, out=e)
    e[m == 0.0] = cfg.exponent_min
    return e.astype(np.int16)


def quantize_blocks(blocks: np.ndarray, bits: int, cfg: PintaConfig | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Codes and exponents of blocks laid out as ``(n_block_rows, br, n_block_cols, bc)``.

    This is docs/numerics.md §1 steps 3-4 for any block shape: SMX uses
    ``br = bc = 4``, row-wise MX uses 1×32 or 32×1.

    Parameters
    ----------
    blocks : float32 or float64 ndarray, shape (nbr, br, nbc, bc)
        Real values; other dtypes are converted to float64. float32 input is
        worked on in float32, which gives the same codes (docs/numerics.md
        §6, "Quantizing in float32"). NaN or ±Inf is refused with the
        message of :func:`as_finite_matrix` (indices in the 2-D matrix the
        blocks were cut from).

    Returns
    -------
    codes : int16 ndarray, shape (nbr, br, nbc, bc)
    exponents : int16 ndarray, shape (nbr, nbc)
    """
    cfg = _resolve_cfg(cfg)
    bits = _check_bits(bits, cfg)
    blocks = np.asarray(blocks)
    dtype = np.float32 if blocks.dtype == np.float32 else np.float64
    blocks = np.ascontiguousarray(blocks, dtype=dtype)
    nbr, br, nbc, bc = blocks.shape
    codes = np.empty(blocks.shape, dtype=np.int16)
    exponents = np.empty((nbr, nbc), dtype=np.int16)
    # Runs of block rows small enough that every pass below works in cache;
    # one scratch buffer serves |x|, then x * 2**-E, then 2y for the rounding.
    step = max(1, _QUANTIZE_CHUNK_ELEMENTS // (br * nbc * bc))
    scratch = np.empty((min(step, nbr), br, nbc, bc), dtype=dtype)
    for lo in range(0, nbr, step):
        hi = min(lo + step, nbr)
        x = blocks[lo:hi]
        work = np.abs(x, out=scratch[: hi - lo])
        maxabs = _block_maxima(work)
        if not np.isfinite(maxabs).all():
            # NaN and ±Inf reach the block maxima (np.maximum propagates NaN),
            # so the full-size finiteness scan runs only to name them.
            as_finite_matrix(blocks.reshape(nbr * br, nbc * bc))
            raise AssertionError("unreachable: as_finite_matrix refuses non-finite input")
        # maxabs is finite (checked above) and >= 0 (absolute values)
        e = _shared_exponent_of(maxabs, bits, cfg)
        exponents[lo:hi] = e
        _scale_by_block_power_of_two(x, np.where(maxabs > 0, -e.astype(np.int32), 0), work)
        # Saturating before rounding equals rounding before saturating (integer
        # limits; see saturate), and keeps every value within int16.
        _saturate_into(work, bits)
        _round_half_away_to_int(work, np.int16, out=codes[lo:hi])
    return codes, exponents


# Elements per run of block rows in quantize_blocks (a few hundred KiB of scratch).
_QUANTIZE_CHUNK_ELEMENTS = 1 << 16


def _block_maxima(values: np.ndarray) -> np.ndarray:
    """Maximum of each (br, bc) block of a C-contiguous (nbr, br, nbc, bc) array.

    Element-wise maxima of whole rows (contiguous, vectorised) first, then of
    the bc columns of each block; NaN propagates.
    """
    nbr, br, nbc, bc = values.shape
    rows = values.reshape(nbr, br, nbc * bc)
    acc = rows[:, 0] if br == 1 else np.maximum(rows[:, 0], rows[:, 1])
    for i in range(2, br):
        np.maximum(acc, rows[:, i], out=acc)
    acc = acc.reshape(nbr, nbc, bc)
    if bc > 8:
        return acc.max(axis=2)
    out = acc[:, :, 0] if bc == 1 else np.maximum(acc[:, :, 0], acc[:, :, 1])
    for j in range(2, bc):
        np.maximum(out, acc[:, :, j], out=out)
    return np.array(out)


#: Largest exponent k with 2**k a normal number, per float dtype (np.finfo(dtype).maxexp - 1).
_MAX_NORMAL_EXPONENT = {np.dtype(t).char: int(np.finfo(t).maxexp) - 1 for t in (np.float32, np.float64)}


def _scale_by_block_power_of_two(blocks: np.ndarray, k: np.ndarray, out: np.ndarray) -> None:
    """``out = blocks * 2**k[block]`` for int ``k`` of shape (nbr, nbc), in the dtype of ``blocks``.

    Each factor must be a normal number of that dtype: exponents above the
    largest one (127 in float32) are applied in two multiplications, the
    first of which is exact for the values that need it (docs/numerics.md §6).
    """
    nbr, br, nbc, bc = blocks.shape
    dtype = blocks.dtype
    top = _MAX_NORMAL_EXPONENT[np.dtype(dtype).char]
    first = np.minimum(k, top)
    rest = k - first
    src = blocks
    for part in (first, rest):
        if part is rest and not rest.any():
            break
        # The per-block factor repeated along the row, so numpy's inner loop
        # runs over whole rows rather than over bc elements at a time.
        factor = np.repeat(np.ldexp(np.ones((), dtype), part.astype(np.int32)).astype(dtype), bc, axis=1)
        np.multiply(src.reshape(nbr, br, nbc * bc), factor[:, None, :], out=out.reshape(nbr, br, nbc * bc))
        src = out


# ---------------------------------------------------------------------------
# Input checking
# ---------------------------------------------------------------------------

def as_finite_matrix(x: Any, what: str = "x") -> np.ndarray:
    """``x`` as a 2-D float64 array of finite values, or a clear error.

    Raises ``TypeError`` for non-real data, ``ValueError`` for a wrong number
    of dimensions, an empty array, or NaN/±Inf (naming how many and where the
    first one is).
    """
    arr = _as_real_matrix(x, what).astype(np.float64, copy=False)
    finite = np.isfinite(arr)
    if not finite.all():
        bad = np.argwhere(~finite)
        first = tuple(int(i) for i in bad[0])
        raise ValueError(
            f"{what} has {len(bad)} non-finite value(s) (NaN or ±Inf); the first is {arr[first]!r} at index {first}. "
            "A non-finite value usually means training diverged; it is refused rather than saturated."
        )
    return arr


def _as_real_matrix(x: Any, what: str = "x") -> np.ndarray:
    """The type, shape and emptiness checks of :func:`as_finite_matrix`, without the
    finiteness scan; float32 stays float32, anything else becomes float64."""
    arr = np.asarray(x)
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"{what} must hold real numbers, got dtype {arr.dtype}")
    if arr.ndim != 2:
        hint = f"; for a single row pass {what}.reshape(1, -1)" if arr.ndim == 1 else ""
        raise ValueError(f"{what} must be a 2-D matrix, got {arr.ndim}-D with shape {arr.shape}{hint}")
    if arr.size == 0:
        raise ValueError(f"{what} is empty (shape {arr.shape}); SMX needs at least one element")
    return arr.astype(np.float32 if arr.dtype == np.float32 else np.float64, copy=False)


def _round_up(n: int, multiple: int) -> int:
    return -(-n // multiple) * multiple


def _check_shape_pair(shape: Any, padded: tuple[int, int], block: tuple[int, int], what: str) -> tuple[int, int]:
    if not (isinstance(shape, tuple) and len(shape) == 2 and all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in shape)):
        raise TypeError(f"{what}.shape must be a tuple (rows, cols) of ints, got {shape!r}")
    shape = (int(shape[0]), int(shape[1]))
    for n, p, b in zip(shape, padded, block):
        if not (n >= 1 and p == _round_up(n, b)):
            raise ValueError(f"{what}: original shape {shape} does not pad to the stored shape {padded} with blocks {block}")
    return shape


def _readonly(a: np.ndarray) -> np.ndarray:
    view = a.view()
    view.flags.writeable = False
    return view


# ---------------------------------------------------------------------------
# SMXTensor
# ---------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class SMXTensor:
    """A matrix in SMX format: 4×4 blocks of b-bit codes with one exponent each.

    Members
    -------
    codes : int16 ndarray, shape (P, Q)
        Codes of the zero-padded matrix; P and Q are multiples of 4. Element
        (i, j) stands for ``codes[i, j] * 2**exponents[i // 4, j // 4]``.
    exponents : int16 ndarray, shape (P // 4, Q // 4)
        Shared block exponents.
    shape : (int, int)
        Shape of the original (unpadded) matrix.
    bits : int
        Element width b (4, 8 or 12).

    The arrays are stored read-only. Equality (``==``) is exact equality of
    all four members.
    """

    codes: np.ndarray
    exponents: np.ndarray
    shape: tuple[int, int]
    bits: int

    def __post_init__(self) -> None:
        codes, exps = self.codes, self.exponents
        if not isinstance(codes, np.ndarray) or codes.dtype != np.int16:
            raise TypeError(f"SMXTensor.codes must be an int16 ndarray, got {getattr(codes, 'dtype', type(codes).__name__)}")
        if not isinstance(exps, np.ndarray) or exps.dtype != np.int16:
            raise TypeError(f"SMXTensor.exponents must be an int16 ndarray, got {getattr(exps, 'dtype', type(exps).__name__)}")
        if codes.ndim != 2 or codes.shape[0] % 4 or codes.shape[1] % 4 or codes.size == 0:
            raise ValueError(f"SMXTensor.codes must be 2-D with both sides positive multiples of 4, got shape {codes.shape}")
        if exps.shape != (codes.shape[0] // 4, codes.shape[1] // 4):
            raise ValueError(f"SMXTensor.exponents must have shape {(codes.shape[0] // 4, codes.shape[1] // 4)} for codes of shape {codes.shape}, got {exps.shape}")
        if isinstance(self.bits, bool) or not isinstance(self.bits, (int, np.integer)) or int(self.bits) not in SMX_ELEMENT_WIDTHS:
            raise ValueError(f"SMXTensor.bits must be one of {list(SMX_ELEMENT_WIDTHS)}, got {self.bits!r}")
        shape = _check_shape_pair(self.shape, codes.shape, (4, 4), "SMXTensor")
        limit = (1 << (int(self.bits) - 1)) - 1
        if int(codes.min()) < -limit or int(codes.max()) > limit:
            raise ValueError(f"SMXTensor.codes out of the symmetric {self.bits}-bit range [-{limit}, {limit}]: found [{codes.min()}, {codes.max()}]")
        if codes[shape[0]:, :].any() or codes[:, shape[1]:].any():
            raise ValueError("SMXTensor.codes must be zero in the padding beyond the original shape")
        e_lo, e_hi = -(1 << (_WIDEST_EXPONENT_BITS - 1)), (1 << (_WIDEST_EXPONENT_BITS - 1)) - 1
        if int(exps.min()) < e_lo or int(exps.max()) > e_hi:
            raise ValueError(f"SMXTensor.exponents out of range [{e_lo}, {e_hi}]: found [{exps.min()}, {exps.max()}]")
        object.__setattr__(self, "codes", _readonly(codes))
        object.__setattr__(self, "exponents", _readonly(exps))
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "bits", int(self.bits))

    @classmethod
    def _trusted(cls, codes: np.ndarray, exponents: np.ndarray, shape: tuple[int, int], bits: int) -> "SMXTensor":
        # Internal constructor for arrays this module built itself: skips the
        # full-array range scans, which cost as much as quantizing again.
        obj = object.__new__(cls)
        object.__setattr__(obj, "codes", _readonly(codes))
        object.__setattr__(obj, "exponents", _readonly(exponents))
        object.__setattr__(obj, "shape", (int(shape[0]), int(shape[1])))
        object.__setattr__(obj, "bits", int(bits))
        return obj

    @property
    def T(self) -> "SMXTensor":
        """The exact transpose: each 4×4 block transposed, same exponents (a view)."""
        return SMXTensor._trusted(self.codes.T, self.exponents.T, (self.shape[1], self.shape[0]), self.bits)

    @classmethod
    def stack_rows(cls, tiles: "list[SMXTensor]") -> "SMXTensor":
        """The tensor whose rows are the tiles' rows, in order.

        Every tile but the last must have a row count that is a multiple of
        4 (whole block rows), and all must share the column count and bits:
        blocks are quantized independently, so stacking whole block rows is
        exact (the tensor equals quantizing the stacked values at once).
        """
        if not tiles:
            raise ValueError("stack_rows needs at least one tile")
        cols, bits = tiles[0].shape[1], tiles[0].bits
        for k, t in enumerate(tiles):
            if t.shape[1] != cols or t.bits != bits:
                raise ValueError(f"tile {k} is {t.shape[1]} columns of INT{t.bits}; tile 0 is {cols} of INT{bits}")
            if k < len(tiles) - 1 and t.shape[0] % 4:
                raise ValueError(f"tile {k} has {t.shape[0]} rows: only the last tile may end inside a block row")
        if len(tiles) == 1:
            return tiles[0]
        rows = sum(t.shape[0] for t in tiles)
        return cls._trusted(np.concatenate([t.codes for t in tiles]), np.concatenate([t.exponents for t in tiles]),
                            (rows, cols), bits)

    @property
    def padded_shape(self) -> tuple[int, int]:
        """(P, Q): the original shape rounded up to multiples of 4."""
        return (int(self.codes.shape[0]), int(self.codes.shape[1]))

    def nbytes_storage(self, cfg: PintaConfig | None = None) -> int:
        """Bytes to store this tensor: P·Q·bits code bits plus one
        cfg.exponent_bits exponent per block, rounded up to whole bytes."""
        cfg = _resolve_cfg(cfg)
        total_bits = self.codes.size * self.bits + self.exponents.size * cfg.exponent_bits
        return -(-total_bits // 8)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SMXTensor):
            return NotImplemented
        return (
            self.shape == other.shape
            and self.bits == other.bits
            and np.array_equal(self.codes, other.codes)
            and np.array_equal(self.exponents, other.exponents)
        )

    __hash__ = None  # type: ignore[assignment]  # holds arrays; not hashable

    def __repr__(self) -> str:
        return f"SMXTensor(shape={self.shape}, bits={self.bits}, padded_shape={self.padded_shape})"


def smx_quantize(x: Any, bits: int, cfg: PintaConfig | None = None) -> SMXTensor:
    """Quantize a 2-D real matrix to SMX (docs/numerics.md §1).

    Parameters
    ----------
    x : array_like, shape (rows, cols)
        Finite real values; float32 stays float32, anything else is
        converted to float64 (the codes are the same either way, see
        docs/numerics.md §6). A 1-D vector is
        refused: pass ``x.reshape(1, -1)`` for a row (or ``(-1, 1)`` for a
        column), because which one is meant changes the blocks.
    bits : int
        Element width, one of ``cfg.element_bits``.
    cfg : PintaConfig, optional
        Defaults to ``PintaConfig()``.

    Returns
    -------
    SMXTensor with ``shape == x.shape``.
    """
    cfg = _resolve_cfg(cfg)
    bits = _check_bits(bits, cfg)
    # float32 input is quantized in float32 (same codes, docs/numerics.md §6);
    # quantize_blocks refuses NaN/±Inf with as_finite_matrix's message.
    arr = _as_real_matrix(x)
    rows, cols = arr.shape
    p, q = _round_up(rows, 4), _round_up(cols, 4)
    if (p, q) != (rows, cols):
        padded = np.zeros((p, q), dtype=arr.dtype)
        padded[:rows, :cols] = arr
        arr = padded
    codes, exponents = quantize_blocks(arr.reshape(p // 4, 4, q // 4, 4), bits, cfg)
    return SMXTensor._trusted(codes.reshape(p, q), exponents, (rows, cols), bits)


def smx_dequantize(t: SMXTensor) -> np.ndarray:
    """The exact real values of an SMX tensor: float64 array of ``t.shape``.

    Exact because a code has at most 12 bits and ``2**E`` with
    |E| <= 512 is a normal float64.
    """
    if not isinstance(t, SMXTensor):
        raise TypeError(f"smx_dequantize needs an SMXTensor, got {type(t).__name__}")
    # codes * 2**E in one multiplication by a per-block factor: exact, as the
    # product is a normal float64 (at most 12 significant bits).
    values = _scaled_operand(t.codes, -t.exponents.astype(np.int64), (4, 4), 0)
    if t.shape != t.padded_shape:
        values = values[: t.shape[0], : t.shape[1]]
    return np.ascontiguousarray(values)


# ---------------------------------------------------------------------------
# Alignment and accumulation
# ---------------------------------------------------------------------------

def align_partial(partial: Any, shift: Any, guard_bits: int) -> np.ndarray:
    """Align block partial products to their output reference exponent.

    ``floor(partial * 2**guard_bits / 2**shift)``, i.e. ``(P << G) >> s``
    with an arithmetic (flooring) right shift (docs/numerics.md §3 step 3).

    Parameters
    ----------
    partial : int array, |partial| < 2**(62 - guard_bits)
        Exact integer block products P_k.
    shift : int array broadcastable to ``partial``, values >= 0
        s_k = E_ref - (E_A + E_B).

    Returns
    -------
    int64 ndarray in units of ``2**(E_ref - guard_bits)``.
    """
    p = np.asarray(partial, dtype=np.int64)
    s = np.asarray(shift, dtype=np.int64)
    if s.size and int(s.min()) < 0:
        raise ValueError("align_partial: shifts must be >= 0 (E_ref is the largest exponent pair on the line)")
    # Multiplication rather than << keeps negative values well defined. A
    # shift of 63 already floors every |value| < 2**62 to 0 or -1, so larger
    # shifts are capped there (numpy shifts >= 64 are not meaningful).
    return np.right_shift(p * (1 << guard_bits), np.minimum(s, 63))


def _pair_name(pair: frozenset[int]) -> str:
    widths = sorted(pair, reverse=True)
    return "{" + ", ".join(str(w) for w in (widths * 2 if len(widths) == 1 else widths)) + "}"


def check_width_pair(bits_a: int, bits_b: int, cfg: PintaConfig | None = None) -> None:
    """Refuse operand widths the MAC array has no mode for (ValueError)."""
    cfg = _resolve_cfg(cfg)
    pair = frozenset({int(bits_a), int(bits_b)})
    modes = [p for p in SUPPORTED_WIDTH_PAIRS if p <= set(cfg.element_bits)]
    if pair not in modes:
        names = ", ".join(_pair_name(p) for p in modes)
        raise ValueError(f"operand widths ({bits_a}, {bits_b}) are not a MAC-array mode; supported unordered pairs: {names}")


def _longest_safe_reduction(block_depth: int, bits_a: int, bits_b: int, cfg: PintaConfig) -> int:
    """The accumulator bound: the most reduction blocks that cannot overflow.

    The worst block product is ``block_depth * (2**(bA-1)-1) * (2**(bB-1)-1)``
    in magnitude; after alignment each partial is at most that times
    ``2**G``. ``n`` of them are safe while ``n * worst * 2**G <
    2**(cfg.accumulator_bits - 1)``.
    """
    worst_partial = block_depth * ((1 << (bits_a - 1)) - 1) * ((1 << (bits_b - 1)) - 1)
    return ((1 << (cfg.accumulator_bits - 1)) - 1) // (worst_partial << cfg.align_guard_bits)


def check_accumulator_bound(n_blocks: int, block_depth: int, bits_a: int, bits_b: int, cfg: PintaConfig | None = None) -> None:
    """Refuse a reduction whose accumulator could overflow (ValueError).

    The worst block product is ``block_depth * (2**(bA-1)-1) * (2**(bB-1)-1)``
    in magnitude; after alignment each partial is at most that times
    ``2**G``. The sum of ``n_blocks`` of them must stay below
    ``2**(cfg.accumulator_bits - 1)``.
    """
    cfg = _resolve_cfg(cfg)
    longest = _longest_safe_reduction(block_depth, bits_a, bits_b, cfg)
    if n_blocks > longest:
        raise ValueError(
            f"reduction of {n_blocks} blocks of depth {block_depth} (K = {n_blocks * block_depth}) at INT{bits_a}×INT{bits_b} "
            f"may overflow the {cfg.accumulator_bits}-bit accumulator with {cfg.align_guard_bits} guard bits; "
            f"the longest safe reduction is {longest} blocks (K = {longest * block_depth}). Split the reduction."
        )


def max_reduction_blocks(cfg: PintaConfig | None = None) -> int:
    """Reduction blocks per chunk of a long SMX GEMM (docs/numerics.md §3, "Long reductions").

    The largest power of two ``n`` for which ``n`` 4-deep reduction blocks
    satisfy the accumulator bound in the widest MAC-array mode, INT12×INT8
    (so one chunk length serves every mode). 2048 blocks (K = 8192) for the
    default config (48-bit accumulator, 16 guard bits).
    """
    cfg = _resolve_cfg(cfg)
    bits_a, bits_b = max(
        (tuple(sorted(p, reverse=True) * (2 if len(p) == 1 else 1)) for p in SUPPORTED_WIDTH_PAIRS if p <= set(cfg.element_bits)),
        key=lambda ab: ((1 << (ab[0] - 1)) - 1) * ((1 << (ab[1] - 1)) - 1),
    )
    longest = _longest_safe_reduction(cfg.block_size, bits_a, bits_b, cfg)
    if longest < 1:  # PintaConfig's accumulator_bits minimum rules this out
        raise ValueError(f"cfg's {cfg.accumulator_bits}-bit accumulator cannot hold one INT{bits_a}×INT{bits_b} block product")
    return 1 << (longest.bit_length() - 1)


def _scaled_operand(codes: np.ndarray, shift: np.ndarray, block: tuple[int, int], exp_offset: int) -> np.ndarray:
    """float64 ``codes * 2**(exp_offset - shift[block])``; shape of ``codes``.

    Works on the transposed base when ``codes`` is a transposed view, so that
    no copy of the int16 codes is made; the result is then an F-ordered
    array, which BLAS reads without a copy.
    """
    if not codes.flags.c_contiguous and codes.T.flags.c_contiguous:
        return _scaled_operand(codes.T, shift.T, (block[1], block[0]), exp_offset).T
    (rows, cols), (br, bc) = codes.shape, block
    scale = np.ldexp(1.0, (exp_offset - shift).astype(np.int32))
    # Repeat the per-block factor along the row so numpy's inner loop runs
    # over whole rows rather than over bc elements at a time.
    out = np.multiply(codes.reshape(rows // br, br, cols), np.repeat(scale, bc, axis=1)[:, None, :], dtype=np.float64)
    return out.reshape(rows, cols)


def _nonzero_blocks(codes: np.ndarray, block: tuple[int, int]) -> np.ndarray:
    """bool (rows/br, cols/bc): whether each block has a nonzero code."""
    if not codes.flags.c_contiguous and codes.T.flags.c_contiguous:
        return _nonzero_blocks(codes.T, (block[1], block[0])).T
    (rows, cols), (br, bc) = codes.shape, block
    if codes.dtype == np.int16 and bc % 4 == 0 and codes.flags.c_contiguous:
        # Four adjacent int16 codes are one int64 word: test a word at a time.
        words = codes.view(np.int64).reshape(rows // br, br, cols // bc, bc // 4)
        return (words != 0).any(axis=3).any(axis=1)
    return np.any(codes.reshape(rows // br, br, cols // bc, bc) != 0, axis=(1, 3))


# 1.5 * 2**52 and its bit pattern: see the int64 conversion in aligned_block_matmul.
_INT_FROM_FLOAT_BIAS = 1.5 * 2.0**52
_INT_FROM_FLOAT_BIAS_BITS = int(np.array(_INT_FROM_FLOAT_BIAS).view(np.int64))

# Block partials held at once by the exact slow path (int64 elements).
_SLOW_PATH_CHUNK_ELEMENTS = 1 << 22


def aligned_block_matmul(
    a_codes: np.ndarray,
    a_exponents: np.ndarray,
    a_block: tuple[int, int],
    b_codes: np.ndarray,
    b_exponents: np.ndarray,
    b_block: tuple[int, int],
    bits_a: int,
    bits_b: int,
    cfg: PintaConfig | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The GEMM engine of docs/numerics.md §3 for any block shapes.

    Parameters
    ----------
    a_codes : int ndarray, shape (M, K); blocks ``a_block = (br, bk)``
    a_exponents : int ndarray, shape (M/br, K/bk)
    b_codes : int ndarray, shape (K, N); blocks ``b_block = (bk, bc)``
    b_exponents : int ndarray, shape (K/bk, N/bc)

    Returns
    -------
    acc : int64 ndarray, shape (M, N)
        Accumulators, in units of ``2**out_exponents`` of their output block.
    out_exponents : int32 ndarray, shape (M/br, N/bc)
        ``E_ref - G`` per output block (br × bc elements).

    Fast path (exact, see docs/numerics.md "Implementation notes"): when
    every nonzero block pair of an output block has s_A + s_B <= G, the
    floor in the alignment never discards a bit and one float64 BLAS matmul
    of the pre-shifted codes gives the accumulators exactly. Output blocks
    that may violate this are recomputed by :func:`align_partial` in integers.
    """
    cfg = _resolve_cfg(cfg)
    guard = cfg.align_guard_bits
    (br, bk), (bk_b, bc) = a_block, b_block
    if bk != bk_b or a_codes.shape[1] != b_codes.shape[0]:
        raise ValueError(f"reduction blocking differs: A codes {a_codes.shape} blocks {a_block}, B codes {b_codes.shape} blocks {b_block}")
    check_accumulator_bound(a_codes.shape[1] // bk, bk, bits_a, bits_b, cfg)
    product, out_exponents, _ = _aligned_product(a_codes, a_exponents, a_block, b_codes, b_exponents, b_block,
                                                 bits_a, bits_b, guard, values=False)
    if cfg.accumulator_bits <= 52:
        # Every |value| < 2**51: adding 1.5 * 2**52 is exact and leaves the
        # integer in the low mantissa bits, so the int64 view minus the bias
        # is the value. Two in-place SIMD passes instead of a scalar cast and
        # a second 8-byte-per-element allocation.
        product += _INT_FROM_FLOAT_BIAS
        acc = product.view(np.int64)
        acc -= _INT_FROM_FLOAT_BIAS_BITS
    else:
        acc = product.astype(np.int64)
    return acc, out_exponents.astype(np.int32)


def _aligned_product(a_codes, a_exponents, a_block, b_codes, b_exponents, b_block, bits_a: int, bits_b: int,
                     guard: int, values: bool) -> tuple[np.ndarray, np.ndarray, bool]:
    """§3's accumulation of the codes a·b as an exact float64 (M, N) matrix, and its block exponents.

    Shared by :func:`aligned_block_matmul` and the golden training engine
    (``quantized_training.exact_matmul``). With ``values=False`` the matrix is
    in accumulator units (integers, exact below 2**53); with ``values=True``,
    where the exponent range allows, it holds the real values
    ``acc * 2**out_exponent`` directly (the third result says which), which
    saves a scaling pass. Returns (matrix, out_exponents int64 (M/br, N/bc),
    in_values).

    Fast path: when every nonzero block pair of an output block has
    s_A + s_B <= G, the floor in the alignment never discards a bit and one
    float64 BLAS matmul of the pre-shifted codes is exact. Where a row block
    can exceed G, only the reduction blocks k that can carry such a pair
    (a few per cent of k in training) are taken out of its BLAS operand and
    added back partial by partial with the floor (:func:`_slow_blocks`).
    """
    ea = a_exponents.astype(np.int64)
    eb = b_exponents.astype(np.int64)
    ref_a = ea.max(axis=1)  # RA(I): one maximum per A reduction line
    ref_b = eb.max(axis=0)  # RB(J)
    shift_a = ref_a[:, None] - ea
    shift_b = ref_b[None, :] - eb
    exps = ref_a[:, None] + ref_b[None, :] - guard
    # Real-valued operands where the whole range allows: Â·2^RA and B̂·2^(RB−G) make
    # BLAS return acc·2^(RA+RB−G) directly (every term and partial sum is the
    # unit-space one times a power of two, all normal floats: exact). The range
    # check leaves room below the unit for the smallest terms (2^(−G−2) units,
    # capped shifts; 2G+2 binades) and above it for a 53-bit accumulator.
    real = values and (not exps.size or (exps.min() - 2 * guard - 2 >= -1022 and exps.max() <= 1023 - 53))
    # Shifts above G only occur in pairs that are zero or on the slow path;
    # capping them keeps the float operands far from the subnormal range.
    cap_a, cap_b = np.minimum(shift_a, guard + 1), np.minimum(shift_b, guard + 1)
    if real:
        a_hat = _scaled_operand(a_codes, cap_a - ref_a[:, None], a_block, 0)
        b_hat = _scaled_operand(b_codes, cap_b - ref_b[None, :], b_block, 0)
    else:
        a_hat = _scaled_operand(a_codes, cap_a, a_block, 0)
        b_hat = _scaled_operand(b_codes, cap_b, b_block, guard)
    # Separable sufficient test: max_k sA + max_k sB <= G implies
    # sA(k) + sB(k) <= G for every k.
    rows = ks = None
    if (shift_a.max(axis=1)[:, None] + shift_b.max(axis=0)[None, :] > guard).any():
        # Zero blocks add 0 whatever their shift, so they must not push an
        # output block off the fast path; -1 is below every real shift. Found
        # only when needed: dense operands never pay for this scan.
        sa = np.where(_nonzero_blocks(a_codes, a_block), shift_a, -1)
        sb = np.where(_nonzero_blocks(b_codes, b_block), shift_b, -1)
        slow = sa.max(axis=1)[:, None] + sb.max(axis=0)[None, :] > guard
        if slow.any():
            ka, kb_ = sa.max(axis=0), sb.max(axis=1)
            ks = np.nonzero((ka >= 0) & (kb_ >= 0) & (ka + kb_ > guard))[0]
            # An empty ks: the separable test flagged blocks whose largest A and
            # B shifts sit at different k; no single pair exceeds G, BLAS is exact.
            if len(ks):
                rows = np.nonzero(slow.any(axis=1))[0]
                if not a_hat.flags.writeable or not (a_hat.flags.c_contiguous or a_hat.flags.f_contiguous):
                    a_hat = np.array(a_hat)
                br, bk = a_block
                rr = (rows[:, None] * br + np.arange(br)).ravel()
                cc = (ks[:, None] * bk + np.arange(bk)).ravel()
                a_hat[np.ix_(rr, cc)] = 0.0
    product = np.matmul(a_hat, b_hat)
    del a_hat, b_hat
    if rows is not None:
        _slow_blocks(product, rows, ks, a_codes, ea, ref_a, a_block, b_codes, eb, ref_b, b_block, bits_a, bits_b,
                     guard, np.ldexp(1.0, exps.astype(np.int32)) if real else None)
    return product, exps, real


#: Elements of block partials held at once by the slow blocks (float32: 64 MiB).
_SLOW_ELEMENTS = 1 << 24
#: 2^(G − s) for the capped shifts s = 0..cap, per (cap, guard bits, dtype).
_SCALE_TABLES: dict[tuple[int, int, str], np.ndarray] = {}


def _slow_blocks(acc, rows, ks, a_codes, ea, ref_a, a_block, b_codes, eb, ref_b, b_block, bits_a, bits_b,
                 guard, unit=None) -> None:
    """Add §3's floor-aligned partials of reduction blocks ``ks`` to row blocks ``rows`` of acc (float64, in place).

    Each block partial P_k is formed exactly (float32 where its bound
    ``bk · max|a| · max|b|`` is below 2**24, else float64), scaled by
    ``2^(G − min(s_k, c))`` with c = G + bit length of the bound (exact: a
    power of two, the result stays normal; from s_k = c on, |P_k·2^(G−s_k)| < 1
    and the floor is 0 or −1 whatever s_k), floored (exact; the identity
    where s_k <= G), and the partials summed in
    float64 (integers below the accumulator bound: exact in any order). This
    is :func:`align_partial` in floating point; ``_slow_path(ks=None)`` is the
    integer reference it is tested against. ``unit`` (float64 (M/br, N/bc),
    powers of two) is given when acc holds real values rather than
    accumulator units: the sum is scaled by it first (exact). A flagged row
    block's unflagged columns are treated too: their shifts are <= G, so the
    floor is the identity there.
    """
    (br, bk), (_, bc) = a_block, b_block
    m, n = acc.shape
    bound = bk * ((1 << (bits_a - 1)) - 1) * ((1 << (bits_b - 1)) - 1)
    f = np.float32 if bound < 1 << 24 else np.float64
    cap = guard + bound.bit_length()
    table = _SCALE_TABLES.get((cap, guard, f.__name__))
    if table is None:
        table = _SCALE_TABLES[(cap, guard, f.__name__)] = np.ldexp(f(1), guard - np.arange(cap + 1)).astype(f)
    kk = (ks[:, None] * bk + np.arange(bk)).ravel()
    bf = b_codes[kk].astype(f).reshape(len(ks), bk, n)
    sb = (ref_b[None, :] - eb[ks]).astype(np.int32)  # (nk, N/bc)
    acc_rows = acc.reshape(m // br, br, n)
    step = max(1, _SLOW_ELEMENTS // (len(ks) * br * n))
    for lo in range(0, len(rows), step):
        i = rows[lo:lo + step]
        rr = (i[:, None] * br + np.arange(br)).ravel()
        a_lines = a_codes[np.ix_(rr, kk)].reshape(len(i), br, len(ks), bk).transpose(0, 2, 1, 3).astype(f)
        part = np.matmul(a_lines, bf)  # (g, nk, br, N) exact integers
        shift = (ref_a[i][:, None] - ea[np.ix_(i, ks)]).astype(np.int32)[:, :, None] + sb[None]
        np.minimum(shift, cap, out=shift)
        part *= np.repeat(table[shift], bc, axis=2)[:, :, None, :]
        np.floor(part, out=part)
        add = part.sum(axis=1, dtype=np.float64)
        if unit is not None:
            add *= np.repeat(unit[i], bc, axis=1)[:, None, :]
        acc_rows[i] += add


def _slow_path(acc, slow, a_codes, ea, ref_a, a_block, b_codes, eb, ref_b, b_block, guard, ks=None) -> None:
    """Integer reference of the exact slow path: add to the row blocks flagged in ``slow`` the
    floor-aligned partials (:func:`align_partial`) of reduction blocks ``ks`` (in place).

    The engine (:func:`_aligned_product`) uses the floating-point
    :func:`_slow_blocks`; tests/golden/test_smx_gemm.py ties both to this.
    ``acc`` (M, N) int64 holds, for those rows, the exact sum over the other
    reduction blocks (zero with ``ks=None``, which means every block: a full
    integer recomputation).
    A flagged output block's whole row block is treated: for its unflagged
    columns every shift is <= G and the floor is the identity, so the result
    is the same either way.
    """
    (br, bk), (_, bc) = a_block, b_block
    m, k = a_codes.shape
    n = b_codes.shape[1]
    mb, kb = m // br, k // bk
    ks = np.arange(kb) if ks is None else np.asarray(ks)
    rows = np.nonzero(np.asarray(slow).any(axis=1))[0]
    kk = (ks[:, None] * bk + np.arange(bk)).ravel()
    # Block partials are integers far below 2**53: a float64 matmul forms them exactly.
    b_sel = b_codes[kk].astype(np.float64).reshape(len(ks), bk, n)
    sb = np.repeat((ref_b[None, :] - eb[ks]), bc, axis=1)  # (nk, N)
    acc_rows = acc.reshape(mb, br, n)
    step = max(1, _SLOW_PATH_CHUNK_ELEMENTS // (len(ks) * br * n))
    for lo in range(0, len(rows), step):
        i = rows[lo:lo + step]
        rr = (i[:, None] * br + np.arange(br)).ravel()
        a_sel = a_codes[np.ix_(rr, kk)].astype(np.float64).reshape(len(i), br, len(ks), bk).transpose(0, 2, 1, 3)
        partial = np.matmul(a_sel, b_sel).astype(np.int64)  # (g, nk, br, N)
        shift = (ref_a[i][:, None] - ea[np.ix_(i, ks)])[:, :, None] + sb[None]  # (g, nk, N)
        acc_rows[i] += align_partial(partial, shift[:, :, None, :], guard).sum(axis=1)


# ---------------------------------------------------------------------------
# Accumulator values
# ---------------------------------------------------------------------------

def accumulator_to_float(acc: np.ndarray, exponents: np.ndarray, block: tuple[int, int], shape: tuple[int, int]) -> np.ndarray:
    """Exact float64 values ``acc * 2**exponent`` of an accumulator, cropped to ``shape``.

    ``acc`` (M, N) int64 with |acc| < 2**52; ``exponents`` one per
    ``block``-shaped output block. Raises ``ValueError`` if a value is not a
    float64 (only possible with exponent_bits > 8, whose extreme exponents
    leave the float64 range).
    """
    m, n = acc.shape
    br, bc = block
    if not exponents.size or (int(exponents.min()) >= -1022 and int(exponents.max()) <= 1023 - 53):
        # 2**e is a normal float64 and |acc| < 2**52, so acc·2**e is exact: one
        # broadcast multiply by a per-block table instead of an ldexp per element.
        scale = np.ldexp(1.0, exponents.astype(np.int32))[:, None, :, None]
        values = np.multiply(acc.reshape(m // br, br, n // bc, bc), scale, dtype=np.float64)
        values = values.reshape(m, n)
        return values if (m, n) == tuple(shape) else values[: shape[0], : shape[1]].copy()
    blocks = acc.reshape(m // br, br, n // bc, bc).astype(np.float64)
    exps = exponents.astype(np.int32)[:, None, :, None]
    values = np.ldexp(blocks, exps)
    if exponents.size:
        with np.errstate(over="ignore"):
            exact = np.isfinite(values) & (np.ldexp(values, -exps) == blocks)
        if not exact.all():
            raise ValueError("accumulator value outside the exactly representable float64 range (extreme block exponents)")
    return values.reshape(m, n)[: shape[0], : shape[1]].copy()


def accumulator_to_fp32(exact: np.ndarray) -> np.ndarray:
    """Round exact float64 accumulator values once to float32, nearest-even.

    numpy's float64→float32 cast is IEEE round-to-nearest-even, and the
    input is already exact, so there is a single rounding. Raises
    ``ValueError`` if any value rounds beyond the float32 range.
    """
    with np.errstate(over="ignore"):
        out = exact.astype(np.float32)
    overflow = ~np.isfinite(out)
    if overflow.any():
        first = tuple(int(i) for i in np.argwhere(overflow)[0])
        raise ValueError(f"{int(overflow.sum())} accumulator value(s) overflow float32; first {exact[first]!r} at index {first}")
    return out


@dataclass(frozen=True, eq=False)
class SMXAccumulator:
    """Result of an SMX GEMM: wide integers with one exponent per 4×4 block.

    Members
    -------
    acc : int64 ndarray, shape (M_padded, N_padded)
        Signed accumulators (|acc| < 2**(cfg.accumulator_bits - 1)).
    exponents : int32 ndarray, shape (M_padded // 4, N_padded // 4)
        ``E_ref - G`` per output block: element (i, j) is
        ``acc[i, j] * 2**exponents[i // 4, j // 4]``.
    shape : (int, int)
        (M, N) of the product before padding.
    """

    acc: np.ndarray
    exponents: np.ndarray
    shape: tuple[int, int]

    def __post_init__(self) -> None:
        acc, exps = self.acc, self.exponents
        if not isinstance(acc, np.ndarray) or acc.dtype != np.int64:
            raise TypeError(f"SMXAccumulator.acc must be an int64 ndarray, got {getattr(acc, 'dtype', type(acc).__name__)}")
        if not isinstance(exps, np.ndarray) or exps.dtype != np.int32:
            raise TypeError(f"SMXAccumulator.exponents must be an int32 ndarray, got {getattr(exps, 'dtype', type(exps).__name__)}")
        if acc.ndim != 2 or acc.shape[0] % 4 or acc.shape[1] % 4 or acc.size == 0:
            raise ValueError(f"SMXAccumulator.acc must be 2-D with sides positive multiples of 4, got {acc.shape}")
        if exps.shape != (acc.shape[0] // 4, acc.shape[1] // 4):
            raise ValueError(f"SMXAccumulator.exponents must have shape {(acc.shape[0] // 4, acc.shape[1] // 4)}, got {exps.shape}")
        shape = _check_shape_pair(self.shape, acc.shape, (4, 4), "SMXAccumulator")
        if int(np.abs(acc).max()) >= 1 << 52:
            raise ValueError("SMXAccumulator.acc must satisfy |acc| < 2**52 (accumulator_bits <= 53)")
        object.__setattr__(self, "acc", _readonly(acc))
        object.__setattr__(self, "exponents", _readonly(exps))
        object.__setattr__(self, "shape", shape)

    @classmethod
    def _trusted(cls, acc: np.ndarray, exponents: np.ndarray, shape: tuple[int, int]) -> "SMXAccumulator":
        obj = object.__new__(cls)
        object.__setattr__(obj, "acc", _readonly(acc))
        object.__setattr__(obj, "exponents", _readonly(exponents))
        object.__setattr__(obj, "shape", (int(shape[0]), int(shape[1])))
        return obj

    def to_float(self) -> np.ndarray:
        """Exact values, float64 array of ``shape``."""
        return accumulator_to_float(self.acc, self.exponents, (4, 4), self.shape)

    def to_fp32(self) -> np.ndarray:
        """Values rounded once (nearest-even) to float32, array of ``shape``.
        Raises ``ValueError`` if a value overflows float32."""
        return accumulator_to_fp32(self.to_float())

    def __repr__(self) -> str:
        return f"SMXAccumulator(shape={self.shape})"


def smx_matmul(
    a: SMXTensor,
    b: SMXTensor,
    *,
    transpose_a: bool = False,
    transpose_b: bool = False,
    cfg: PintaConfig | None = None,
) -> SMXAccumulator:
    """Exact SMX GEMM ``op(a) @ op(b)`` with the accumulation of docs/numerics.md §3.

    ``op(t)`` is ``t.T`` when the matching ``transpose_*`` flag is set (an
    exact transpose, no re-quantization). ``op(a)`` is (M, K), ``op(b)`` is
    (K, N); the result has shape (M, N).

    Raises ``ValueError`` for an unsupported width pair (supported,
    unordered: {8, 8}, {12, 8}, {4, 4}), mismatched inner dimensions,
    exponents outside ``cfg``'s range, or a reduction too long for the
    accumulator.
    """
    cfg = _resolve_cfg(cfg)
    op_a, op_b = _gemm_operands("smx_matmul", a, b, transpose_a, transpose_b, cfg)
    try:
        check_accumulator_bound(op_a.codes.shape[1] // 4, 4, op_a.bits, op_b.bits, cfg)
    except ValueError as err:
        raise ValueError(
            f"smx_matmul: {err} smx_matmul_fp32 computes long reductions in chunks of "
            f"max_reduction_blocks(cfg) = {max_reduction_blocks(cfg)} blocks, summed in FP32 (docs/numerics.md §3)."
        ) from None
    acc, exps = aligned_block_matmul(op_a.codes, op_a.exponents, (4, 4), op_b.codes, op_b.exponents, (4, 4), op_a.bits, op_b.bits, cfg)
    return SMXAccumulator._trusted(acc, exps, (op_a.shape[0], op_b.shape[1]))


def _gemm_operands(what: str, a: SMXTensor, b: SMXTensor, transpose_a: bool, transpose_b: bool, cfg: PintaConfig) -> tuple[SMXTensor, SMXTensor]:
    """op(a), op(b) after the checks every SMX GEMM makes (types, mode, shapes, exponent range)."""
    for name, t in (("a", a), ("b", b)):
        if not isinstance(t, SMXTensor):
            raise TypeError(f"{what}: {name} must be an SMXTensor, got {type(t).__name__}")
    op_a = a.T if transpose_a else a
    op_b = b.T if transpose_b else b
    check_width_pair(op_a.bits, op_b.bits, cfg)
    if op_a.shape[1] != op_b.shape[0]:
        raise ValueError(
            f"{what}: inner dimensions differ: op(a) is {op_a.shape} (a {a.shape}, transpose_a={transpose_a}), "
            f"op(b) is {op_b.shape} (b {b.shape}, transpose_b={transpose_b})"
        )
    for name, t in (("a", a), ("b", b)):
        lo, hi = int(t.exponents.min()), int(t.exponents.max())
        if lo < cfg.exponent_min or hi > cfg.exponent_max:
            raise ValueError(f"{what}: {name} has exponents in [{lo}, {hi}], outside cfg's [{cfg.exponent_min}, {cfg.exponent_max}]")
    return op_a, op_b


def smx_matmul_fp32(
    a: SMXTensor,
    b: SMXTensor,
    *,
    transpose_a: bool = False,
    transpose_b: bool = False,
    cfg: PintaConfig | None = None,
) -> np.ndarray:
    """SMX GEMM ``op(a) @ op(b)`` of any reduction length, as FP32 (docs/numerics.md §3, "Long reductions").

    The reduction is cut into consecutive chunks of
    ``max_reduction_blocks(cfg)`` 4-deep blocks (the last may be shorter).
    Each chunk is an ordinary §3 accumulation (reference exponents over that
    chunk only), rounded once to FP32 (:func:`accumulator_to_fp32`); the
    chunk results are summed in FP32 in chunk order, r = c0; r = r + c1; ...
    (each add rounded to nearest even), as a read-modify-write FP32 gradient
    buffer does. A reduction that fits one chunk gives exactly
    ``smx_matmul(...).to_fp32()``.

    Returns a float32 ndarray of shape (M, N). Raises ``ValueError`` as
    :func:`smx_matmul` does (except for the length), and if a chunk result
    or a running sum overflows float32.
    """
    cfg = _resolve_cfg(cfg)
    op_a, op_b = _gemm_operands("smx_matmul_fp32", a, b, transpose_a, transpose_b, cfg)
    shape = (op_a.shape[0], op_b.shape[1])
    chunk = 4 * max_reduction_blocks(cfg)
    k = op_a.codes.shape[1]
    total: np.ndarray | None = None
    for lo in range(0, k, chunk):
        hi = min(lo + chunk, k)
        acc, exps = aligned_block_matmul(
            op_a.codes[:, lo:hi], op_a.exponents[:, lo // 4 : hi // 4], (4, 4),
            op_b.codes[lo:hi, :], op_b.exponents[lo // 4 : hi // 4, :], (4, 4),
            op_a.bits, op_b.bits, cfg,
        )
        part = accumulator_to_fp32(accumulator_to_float(acc, exps, (4, 4), shape))
        if total is None:
            total = part
            continue
        with np.errstate(over="ignore"):
            np.add(total, part, out=total)  # one IEEE float32 add: round to nearest even
        if not np.isfinite(total).all():
            first = tuple(int(i) for i in np.argwhere(~np.isfinite(total))[0])
            raise ValueError(f"smx_matmul_fp32: the FP32 sum overflows float32 at chunk {lo // chunk} (K rows {lo}..{hi - 1}); first at index {first}")
    assert total is not None
    return total


def smx_requantize(acc: SMXAccumulator, bits: int, cfg: PintaConfig | None = None) -> SMXTensor:
    """Quantize an accumulator's exact values to ``bits``-bit SMX (§1 on ``acc.to_float()``)."""
    if not isinstance(acc, SMXAccumulator):
        raise TypeError(f"smx_requantize needs an SMXAccumulator, got {type(acc).__name__}")
    return smx_quantize(acc.to_float(), bits, cfg)
