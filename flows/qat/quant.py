"""Quantizers and the scenario policy of the QAT study.

- Weights: symmetric, per output channel, codes in [-(2^(b-1)-1), 2^(b-1)-1]
  (the code -2^(b-1) is not used, as in SMX). Straight-through estimator
  (STE): the gradient passes to the float weight unchanged.
- Activations: asymmetric per-tensor, range from an exponential moving
  average (EMA) of the batch min/max, updated in training and frozen in
  evaluation. Decision: EMA rather than LSQ's learned step, because the
  regressors here need no clipping (clipping the tail of a PDE field is an
  output error, not noise), EMA needs no extra gradient path, and the range
  is then a plain number the integer model can read. STE with clipping: the
  gradient is zeroed where the input fell outside the range.
- SMX: the PINTA block format (docs/numerics.md section 1): 4x4 blocks, one
  shared power-of-two exponent, b-bit codes, round half away from zero. No
  calibration. STE straight through.

A *scenario* names the widths: fp32, w8a32, w8a16, w8a8, w4a8, w4a4 (integer
fixed point), smx8 and smx4 (SMX INT8 / INT4). :func:`policy` maps a scenario
and a layer role to (kind, weight bits, activation bits) for that GEMM.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# name -> (kind, weight bits, activation bits); None bits = float (32-bit) operand.
SCENARIOS: dict[str, tuple[str, int | None, int | None]] = {
    "fp32": ("float", None, None),
    "w8a32": ("int", 8, None),
    "w8a16": ("int", 8, 16),
    "w8a8": ("int", 8, 8),
    "w4a8": ("int", 4, 8),
    "w4a4": ("int", 4, 4),
    "smx8": ("smx", 8, 8),
    "smx4": ("smx", 4, 4),
}

#: Bits of the fixed DFT basis matrices in the integer model. They are
#: constants (not learned), so QAT cannot adapt them; 8 bits keeps the basis
#: error (~0.4% per entry) below the activation noise of every scenario.
BASIS_BITS = 8
#: Activation bits of the head when the head switch is on (the spec's lesson).
HEAD_BITS = 16
#: SMX widths the MAC array pairs (numerics.md section 3): {8,8}, {12,8}, {4,4}.
SMX_HEAD = (8, 12)  # (weight, activation) of the head GEMM under the switch: the {12,8} mode


@dataclass(frozen=True)
class GemmQ:
    """How one GEMM is quantized: kind 'float' | 'int' | 'smx', and the operand widths.

    ``w_bits``/``a_bits`` None means that operand stays floating point.
    """

    kind: str = "float"
    w_bits: int | None = None
    a_bits: int | None = None

    @property
    def cost_bits(self) -> tuple[int, int]:
        """(w, a) bits for the BOPs count; a float operand counts as 32."""
        return (self.w_bits or 32, self.a_bits or 32)


def check_scenario(name: str) -> None:
    if name not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}")


def policy(scenario: str, role: str, head16: bool = True) -> GemmQ:
    """The quantization of a GEMM with a given role under a scenario.

    Roles: 'hidden' (every learned GEMM but the last), 'head_out' (the last
    GEMM, producing the output), 'basis' (a fixed DFT matrix times an
    activation), 'out' (the output quantizer; only its a_bits is used).
    """
    check_scenario(scenario)
    kind, wb, ab = SCENARIOS[scenario]
    if kind == "float":
        return GemmQ()
    if role in ("head_out", "out") and head16:
        if kind == "smx":
            return GemmQ("smx", *SMX_HEAD)
        return GemmQ("int", wb, None if ab is None else max(ab, HEAD_BITS))
    if role == "basis":
        # SMX pairs 8-bit only with 8 or 12 bits, so the transforms of smx4 run in the {8,8} mode.
        return GemmQ(kind, BASIS_BITS, 8 if kind == "smx" else ab)
    return GemmQ(kind, wb, ab)


# --------------------------------------------------------------------------------- weights
def weight_codes(w: np.ndarray, bits: int, reduce_axes: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per-channel codes of ``w``: (q int64 same shape, scale broadcastable to w).

    The scale of a channel is max|w| over ``reduce_axes`` / (2^(b-1)-1); an
    all-zero channel gets scale 1 (its codes are 0 anyway).
    """
    qmax = 2 ** (bits - 1) - 1
    m = np.max(np.abs(w), axis=reduce_axes, keepdims=True).astype(np.float64)
    s = np.where(m > 0, m / qmax, 1.0)
    q = np.clip(np.round(w / s), -qmax, qmax).astype(np.int64)
    return q, s


def fake_weight(w: np.ndarray, bits: int, reduce_axes: tuple[int, ...]) -> np.ndarray:
    q, s = weight_codes(w, bits, reduce_axes)
    return (q * s).astype(w.dtype)


# --------------------------------------------------------------------------------- activations
class RangeParam:
    """A learned range bound: the same interface as ``layers.Param`` (value, grad) plus an lr scale."""

    def __init__(self, v: float, lr_scale: float):
        self.value = np.array(v, np.float32)
        self.grad = np.zeros((), np.float32)
        self.lr_scale = lr_scale


class ActQuant:
    """Asymmetric per-tensor activation quantizer with an EMA range, optionally learned.

    ``bits`` None disables it (identity). State: ``lo``/``hi``, the EMA of
    the batch min/max (momentum ``m``: new = m*old + (1-m)*batch). The range
    always contains 0 so that zero (padding) is exact.

    Learned ranges (:meth:`learn_ranges`, off by default): after calibration the
    EMA stops and ``lo``/``hi`` become parameters trained with the weights
    (PACT-style STE: the gradient of an output clipped at ``hi`` (``lo``) flows to
    ``hi`` (``lo``); in-range elements pass theirs to the input as before).
    """

    def __init__(self, momentum: float = 0.9):
        self.bits: int | None = None
        self.momentum = momentum
        self.lo: float | None = None
        self.hi: float | None = None
        self.learn = False
        self.p_lo = self.p_hi = None
        self._side = None

    def reset(self) -> None:
        self.lo = self.hi = None
        self.learn = False
        self.p_lo = self.p_hi = None

    def learn_ranges(self, lr_scale: float = 30.0) -> dict:
        """Turn the calibrated range into two trainable parameters; returns them by name."""
        if self.bits is None or self.lo is None:
            return {}
        self.learn = True
        self.p_lo, self.p_hi = RangeParam(min(self.lo, 0.0), lr_scale), RangeParam(max(self.hi, 0.0), lr_scale)
        return {"lo": self.p_lo, "hi": self.p_hi}

    def _sync(self) -> None:
        if self.learn:   # keep 0 inside the range (padding stays exact)
            self.lo = min(float(self.p_lo.value), 0.0)
            self.hi = max(float(self.p_hi.value), 0.0)

    def _track(self, q, n, training) -> None:
        if self.learn and training:
            self._side = np.sign(q - np.clip(q, 0, n)).astype(np.int8)   # +1 above hi, -1 below lo

    def range_grad(self, g: np.ndarray) -> None:
        """Accumulate the gradients of the bounds from the gradient at the quantizer output."""
        if self.learn and self._side is not None:
            self.p_hi.grad += np.float32(np.sum(g[self._side > 0]))
            self.p_lo.grad += np.float32(np.sum(g[self._side < 0]))
            self._side = None

    def observe(self, x: np.ndarray) -> None:
        lo, hi = float(x.min()), float(x.max())
        if self.lo is None:
            self.lo, self.hi = lo, hi
        else:
            m = self.momentum
            self.lo = m * self.lo + (1 - m) * lo
            self.hi = m * self.hi + (1 - m) * hi

    def qparams(self) -> tuple[float, int, int]:
        """(scale, zero point, largest code); codes live in [0, 2^b - 1]."""
        self._sync()
        if self.lo is None:
            raise RuntimeError("activation quantizer used before calibration (run a PTQ pass first)")
        n = 2 ** self.bits - 1
        lo, hi = min(self.lo, 0.0), max(self.hi, 0.0)
        s = (hi - lo) / n if hi > lo else 1.0
        z = int(np.round(-lo / s))
        return s, z, n

    def fake(self, x: np.ndarray, training: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """(dequantized x, STE mask or None)."""
        if self.bits is None:
            return x, None
        if training and not self.learn:   # ranges move only in training/calibration
            self.observe(x)
        s, z, n = self.qparams()
        q = np.round(x / s) + z
        mask = (q >= 0) & (q <= n)
        self._track(q, n, training)
        return ((np.clip(q, 0, n) - z) * s).astype(x.dtype), mask

    def fake_codes(self, x: np.ndarray, training: bool) -> tuple[np.ndarray, float, np.ndarray]:
        """(codes minus zero point as floats of x.dtype, scale, STE mask); x ~ codes * scale.

        The fake-quant GEMMs multiply these integer-valued arrays and scale the
        product afterwards, the same association as the integer model, so both
        agree bit for bit in float64 (no rounding tie can flip between them).
        """
        if training and not self.learn:   # ranges move only in training/calibration
            self.observe(x)
        s, z, n = self.qparams()
        q = np.round(x / s) + z
        mask = (q >= 0) & (q <= n)
        self._track(q, n, training)
        return (np.clip(q, 0, n) - z).astype(x.dtype), s, mask

    def codes(self, x: np.ndarray) -> tuple[np.ndarray, float]:
        """Integer codes minus the zero point (int64), and the scale: x ~ codes * scale."""
        s, z, n = self.qparams()
        return (np.clip(np.round(x / s) + z, 0, n) - z).astype(np.int64), s

    def state(self) -> dict:
        self._sync()
        return {"lo": self.lo, "hi": self.hi}

    def load(self, st: dict) -> None:
        self.lo, self.hi = st["lo"], st["hi"]


# --------------------------------------------------------------------------------- SMX
def smx_fake(x: np.ndarray, bits: int, e_min: int = -128, e_max: int = 127) -> np.ndarray:
    """SMX fake quantization of the last two axes of ``x`` (..., R, C), batched over the rest.

    Implements docs/numerics.md section 1 vectorised (the golden
    ``smx_quantize`` works on one 2-D matrix; training needs batches):
    4x4 blocks after zero padding, E = clamp(floor(log2 max|x|) - (b-2)),
    q = saturate(round_half_away(x / 2^E)). Returns q * 2^E, same shape and dtype.
    Tests check it against ``pinta.golden.smx`` bit for bit where that exists.
    """
    x64 = np.asarray(x, dtype=np.float64)
    *lead, r, c = x64.shape
    rp, cp = -(-r // 4) * 4, -(-c // 4) * 4
    if (rp, cp) != (r, c):
        pad = [(0, 0)] * len(lead) + [(0, rp - r), (0, cp - c)]
        x64 = np.pad(x64, pad)
    blk = x64.reshape(*lead, rp // 4, 4, cp // 4, 4)
    m = np.abs(blk).max(axis=(-3, -1), keepdims=True)
    _, e = np.frexp(m)                        # m = f 2^e, f in [0.5, 1): floor(log2 m) = e - 1
    E = np.clip(e - 1 - (bits - 2), e_min, e_max)
    E = np.where(m > 0, E, e_min)
    qmax = 2 ** (bits - 1) - 1
    scaled = np.ldexp(blk, -E)
    q = np.clip(np.sign(scaled) * np.floor(np.abs(scaled) + 0.5), -qmax, qmax)
    out = np.ldexp(q, E).reshape(*lead, rp, cp)[..., :r, :c]
    return out.astype(x.dtype)


def golden_smx():
    """The golden SMX module if it is importable and complete, else None."""
    try:
        from pinta.golden import smx  # noqa: WPS433 (written by another engineer)
    except Exception:
        return None
    if not all(hasattr(smx, f) for f in ("smx_quantize", "smx_dequantize", "smx_matmul")):
        return None
    return smx
