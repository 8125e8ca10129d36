"""Bit-exact IEEE-754 binary32 arithmetic of PINTA's vector / special-function unit.

The vector unit is an IEEE-754 binary32 unit. Its primitive operations are
add, sub, mul, div and sqrt (each rounded to nearest, ties to even, with
subnormal inputs and outputs kept, and no fused multiply-add), plus the exact
operations compare, min, max, abs, neg and select. NumPy's float32 ufuncs
(``np.add``, ``np.subtract``, ``np.multiply``, ``np.divide``, ``np.sqrt`` on
float32 operands) compute exactly these, so every function below is plain
NumPy float32 code and **the order of its operations is the definition**.
The simulator calls these functions; the RTL must perform the same operations
in the same order (docs/vector-numerics.md is the RTL specification).

Every composite function (exp, log, sin, cos, tanh) is a fixed sequence of
the primitives above and of the exact integer/bit steps defined here
(:func:`fp32_round_to_int`, :func:`fp32_ldexp`, the exponent/mantissa split in
:func:`fp32_log`). No libm call (``np.exp``, ``np.sin``...) is used in a
definition; those appear only in the tests, as accuracy references.

Conventions
-----------
* Inputs must already be float32 (``np.float32`` scalars or float32 arrays);
  any other dtype raises :class:`TypeError`. Real numbers enter the float32
  world through exactly one rule, :func:`to_fp32` (round to nearest even), and
  integers through :func:`int_to_fp32` (exact, |n| <= 2**24).
* Outputs are float32 arrays of the input's shape (a float32 scalar or 0-d
  array for a scalar input).
* Subnormals are arithmetic values, never flushed. NumPy does not flush, but
  a native library loaded into the same process can switch the CPU to
  flush-to-zero; :func:`check_subnormals_preserved` detects that.
* NaN inputs give the canonical quiet NaN (bit pattern 0x7FC00000). NaN bit
  patterns produced by the bare primitives are not part of the contract; only
  "is NaN" is.
* IEEE exceptions (overflow to inf, underflow, invalid) are not Python
  errors here: they are values with defined results.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "require_fp32",
    "check_subnormals_preserved",
    "to_fp32",
    "int_to_fp32",
    "fp32_reciprocal_of_count",
    "fp32_sqrt",
    "fp32_round_to_int",
    "fp32_ldexp",
    "fp32_exp",
    "fp32_log",
    "fp32_sincos",
    "fp32_sin",
    "fp32_cos",
    "fp32_tanh",
    "fp32_tanh_grad_from_output",
    "SINCOS_MAX_ABS_INPUT",
    "TANH_CLAMP",
    "FP32_EXACT_INT_LIMIT",
    # Constants the RTL generator imports (never copies by hand):
    "ROUND_MAGIC",
    "PIO2_1",
    "PIO2_2",
    "PIO2_3",
    "TWO_OVER_PI",
    "TWO_PI",
    "LN2_HI",
    "LN2_LO",
    "LOG2_E",
    "SQRT2_F32",
    "TINY_ARGUMENT",
    "SIN_COEFFS",
    "COS_COEFFS",
    "EXP_COEFFS",
    "LOG_COEFFS",
    "TANH_COEFFS",
    "EXP_INPUT_MIN",
    "EXP_INPUT_MAX",
    "TANH_POLY_LIMIT",
]

_F32 = np.float32


def _c(hex_literal: str) -> np.float32:
    """A float32 constant from a C99 hex-float literal (exactly representable)."""
    value = float.fromhex(hex_literal)
    f = _F32(value)
    if float(f) != value:
        raise AssertionError(f"constant {hex_literal} is not exactly a float32")
    return f


ZERO = _F32(0.0)
HALF = _F32(0.5)
ONE = _F32(1.0)
TWO = _F32(2.0)

#: Largest integer magnitude below which every integer is an exact float32.
FP32_EXACT_INT_LIMIT = 1 << 24

#: 1.5 * 2**23. Adding it to a float32 y with |y| < 2**22 leaves round-to-
#: nearest-even(y) in the low mantissa bits; subtracting it again gives that
#: integer as a float32. This is the one float->integer rounding rule.
ROUND_MAGIC = _c("0x1.8p+23")
ROUND_MAGIC_BITS = np.array(ROUND_MAGIC).view(np.uint32)[()]  # 0x4B400000

# Cody-Waite split of pi/2: PIO2_1 has 8 significant bits and PIO2_2 has 9,
# so k*PIO2_1 and k*PIO2_2 are exact float32 products for |k| < 2**15; PIO2_3
# is the float32 nearest to the rest (pi/2 - PIO2_1 - PIO2_2 - PIO2_3 ~ 5e-15).
PIO2_1 = _c("0x1.92p+0")
PIO2_2 = _c("0x1.fbp-12")
PIO2_3 = _c("0x1.5110b4p-22")
TWO_OVER_PI = _c("0x1.45f306p-1")  # float32 nearest to 2/pi
TWO_PI = _c("0x1.921fb6p+2")  # float32 nearest to 2*pi

#: sin/cos are defined for |x| <= 2**15 (so |k| < 2**15 and the Cody-Waite
#: products stay exact); larger magnitudes, inf and NaN give NaN.
SINCOS_MAX_ABS_INPUT = _c("0x1p+15")

# sin(r) ~ r + (r*z)*S(z), z = r*r, |r| <= ~0.80; coefficients from a
# relative-error minimax fit, rounded to float32 (they are definitions).
SIN_COEFFS = (
    _c("-0x1.555556p-3"),
    _c("0x1.11110cp-7"),
    _c("-0x1.a0106ap-13"),
    _c("0x1.6cdd84p-19"),
)
# cos(r) ~ 1 - (0.5*z - (z*z)*C(z)).
COS_COEFFS = (
    _c("0x1.555556p-5"),
    _c("-0x1.6c1104p-10"),
    _c("0x1.9aeeb6p-16"),
)

# ln 2 split: LN2_HI has 15 significant bits, so k*LN2_HI is exact for the
# integer exponents |k| <= 2**8 that exp and log meet; LN2_LO is the float32
# nearest to the rest (residual ~5e-14).
LN2_HI = _c("0x1.62e4p-1")
LN2_LO = _c("0x1.7f7d1cp-20")
LOG2_E = _c("0x1.715476p+0")  # float32 nearest to 1/ln 2

# exp(r) ~ 1 + (r + (r*r)*E(r)), |r| <= ~0.35 (weighted least-squares fit).
EXP_COEFFS = (
    _c("0x1.fffff8p-2"),
    _c("0x1.555486p-3"),
    _c("0x1.555b94p-5"),
    _c("0x1.124176p-7"),
    _c("0x1.686afcp-10"),
)
#: exp clamps its input to [EXP_INPUT_MIN, EXP_INPUT_MAX] first: below, the
#: true result rounds to +0; above, it overflows to +inf; so the clamp only
#: keeps the integer k in range and changes no result.
EXP_INPUT_MIN = _F32(-104.0)
EXP_INPUT_MAX = _F32(89.0)

# log(1+f) = f - (hfsq - (s*(hfsq + R) + ...)), s = f/(2+f), z = s*s,
# R ~ z*L(z) approximates 2*atanh(s)/s - 2 (minimax fit, |s| <= 0.1716).
LOG_COEFFS = (
    _c("0x1.55555cp-1"),
    _c("0x1.99741p-2"),
    _c("0x1.3036acp-2"),
)
SQRT2_F32 = _c("0x1.6a09e6p+0")  # float32 nearest to sqrt(2), just below it
_MIN_NORMAL = _c("0x1p-126")
_TWO_POW_23 = _c("0x1p+23")

# tanh: odd polynomial for |x| < TANH_POLY_LIMIT, 1 - 2/(exp(2|x|) + 1) up to
# TANH_CLAMP, exactly +-1 from there (tanh(10) = 1 - 4e-9 rounds to 1).
TANH_POLY_LIMIT = _F32(0.5625)
TANH_CLAMP = _F32(10.0)
TANH_COEFFS = (
    _c("-0x1.555556p-2"),
    _c("0x1.11110ep-3"),
    _c("-0x1.ba183ap-5"),
    _c("0x1.65cb8p-6"),
    _c("-0x1.19efe4p-7"),
    _c("0x1.58bd8p-9"),
)

#: Below this magnitude sin r and tanh x round to their argument (the cubic
#: term is under half an ulp), so the kernels return the argument itself.
TINY_ARGUMENT = _c("0x1p-12")

_CANONICAL_NAN = np.array(0x7FC00000, dtype=np.uint32).view(np.float32)[()]


# ---------------------------------------------------------------------------
# Conversions and checks
# ---------------------------------------------------------------------------
def require_fp32(x, name: str) -> np.ndarray:
    """Return ``x`` as a float32 ndarray; refuse anything that is not float32."""
    if isinstance(x, (bool, int, float, complex)):
        raise TypeError(
            f"{name} is a Python {type(x).__name__}; the vector unit takes float32 only: "
            f"convert it with to_fp32() (round to nearest even) or int_to_fp32()"
        )
    arr = np.asarray(x)
    if arr.dtype != np.float32:
        raise TypeError(
            f"{name} has dtype {arr.dtype}; the vector unit takes float32 only: "
            f"convert it with to_fp32() (round to nearest even) or int_to_fp32()"
        )
    return arr


def to_fp32(x) -> np.ndarray:
    """The one real -> float32 conversion: IEEE round to nearest, ties to even.

    ``x``: real scalar or array (any float or integer dtype), any shape.
    Returns a float32 array of the same shape. Values beyond the float32 range
    become +-inf, as IEEE conversion does. Complex, boolean and non-numeric
    input is refused.
    """
    arr = np.asarray(x)
    if arr.dtype == np.bool_ or not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise TypeError(f"to_fp32 takes real numbers; got dtype {arr.dtype}")
    with np.errstate(over="ignore"):
        return arr.astype(np.float32)


def int_to_fp32(n, name: str = "n") -> np.ndarray:
    """Exact integer -> float32 conversion, for |n| <= 2**24.

    ``n``: Python int or integer array. Every integer of magnitude at most
    2**24 is a float32, so this conversion never rounds; larger magnitudes
    are refused (:class:`ValueError`) rather than rounded silently.
    """
    arr = np.asarray(n)
    if not np.issubdtype(arr.dtype, np.integer) or arr.dtype == np.bool_:
        if arr.dtype == object and all(isinstance(v, int) and not isinstance(v, bool) for v in arr.flat):
            arr = arr.astype(np.int64)
        else:
            raise TypeError(f"{name} must be an integer (or integer array); got dtype {arr.dtype}")
    if arr.size and (int(np.max(arr)) > FP32_EXACT_INT_LIMIT or int(np.min(arr)) < -FP32_EXACT_INT_LIMIT):
        raise ValueError(f"{name} must be in [-2**24, 2**24] to convert exactly to float32; got a value outside it")
    return arr.astype(np.float32)


def fp32_reciprocal_of_count(n: int, name: str = "n") -> np.float32:
    """1.0f / float32(n) as one IEEE float32 division; ``n`` an integer in [1, 2**24].

    Used wherever a mean or a fraction divides by a count: the hardware
    computes this scalar once and the lanes multiply by it.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"{name} must be an integer count; got {type(n).__name__}")
    if not 1 <= int(n) <= FP32_EXACT_INT_LIMIT:
        raise ValueError(f"{name} must be in [1, 2**24] (an exact float32 count); got {int(n)}")
    return ONE / int_to_fp32(int(n), name)[()]


def check_subnormals_preserved() -> None:
    """Raise RuntimeError if this process's float32 arithmetic flushes subnormals.

    The golden model's results are only the IEEE results if the CPU is not in
    flush-to-zero / denormals-are-zero mode (some native libraries built with
    fast-math switch it on process-wide). Cheap; call it before long runs.
    """
    smallest_normal = np.array([_MIN_NORMAL], dtype=np.float32)
    half_of_it = smallest_normal * HALF  # 2**-127: subnormal, exact
    back = half_of_it + half_of_it  # a subnormal operand: DAZ would read it as 0
    if not (half_of_it[0] > ZERO and back[0] == _MIN_NORMAL):
        raise RuntimeError(
            "float32 arithmetic in this process flushes subnormals to zero (FTZ/DAZ is on); "
            "the golden model needs IEEE subnormals: find the library that enables fast-math"
        )


def fp32_sqrt(x) -> np.ndarray:
    """IEEE float32 square root (a primitive; correctly rounded). sqrt(-0) = -0, negative -> NaN."""
    x = require_fp32(x, "x")
    with np.errstate(invalid="ignore"):
        return np.sqrt(x)


def fp32_round_to_int(y) -> tuple[np.ndarray, np.ndarray]:
    """Round float32 ``y`` to the nearest integer, ties to even, for |y| < 2**22.

    Definition: ``s = y + 1.5*2**23`` (one IEEE add, which rounds y to an
    integer because the sum's ulp is 1), then ``k_float = s - 1.5*2**23``
    (exact) and ``k_int = bits(s) - bits(1.5*2**23)`` as int32 (the integer
    sits in the low mantissa bits of s, two's complement around the magic).

    Returns ``(k_float, k_int)``: float32 and int32 arrays of ``y``'s shape.
    Inputs with |y| >= 2**22 are outside the definition; callers clamp or
    mask them first (the result is then unspecified but no error is raised).
    """
    y = require_fp32(y, "y")
    s = y + ROUND_MAGIC
    k_float = s - ROUND_MAGIC
    k_int = (s.view(np.uint32) - ROUND_MAGIC_BITS).view(np.int32)
    return k_float, k_int


def _pow2(k: np.ndarray) -> np.ndarray:
    """2**k as float32 for integer k in [-126, 127], built from exponent bits (exact)."""
    return ((k.astype(np.int32) + np.int32(127)).astype(np.uint32) << np.uint32(23)).view(np.float32)


def fp32_ldexp(x, k) -> np.ndarray:
    """x * 2**k with a single IEEE rounding, for int32 ``k`` in [-252, 254].

    Definition: a = floor(k/2), b = k - a; result = (x * 2**a) * 2**b, where
    both powers of two are normal float32 built from their exponent bits. For
    the arguments exp produces (x in [0.7, 1.42], k in [-150, 128]) the first
    product is exact, so only the second rounds (into the subnormal range or
    to inf when the result leaves the normal range).
    """
    x = require_fp32(x, "x")
    k = np.asarray(k, dtype=np.int32)
    a = k >> np.int32(1)
    b = k - a
    with np.errstate(over="ignore", under="ignore"):
        return (x * _pow2(a)) * _pow2(b)


def _horner(coeffs: tuple[np.float32, ...], z: np.ndarray) -> np.ndarray:
    """c0 + z*(c1 + z*(c2 + ...)), evaluated innermost first: acc = acc*z + c."""
    acc = np.full_like(z, coeffs[-1])
    for c in coeffs[-2::-1]:
        acc = acc * z + c
    return acc


def _nan_where(mask: np.ndarray, value: np.ndarray) -> np.ndarray:
    """``value`` with the canonical quiet NaN selected where ``mask`` holds."""
    return np.where(mask, _CANONICAL_NAN, value).astype(np.float32)


# ---------------------------------------------------------------------------
# exp and log
# ---------------------------------------------------------------------------
def fp32_exp(x) -> np.ndarray:
    """e**x in float32 (unitless), elementwise, any shape.

    Definition (op order is normative):
      xc = min(max(x, -104), 89)
      (kf, k) = round_to_int(xc * LOG2_E)
      r = (xc - kf*LN2_HI) - kf*LN2_LO
      p = 1 + (r + (r*r)*E(r))          E: 5 coefficients, Horner
      result = ldexp(p, k)
    exp(-inf) = +0, exp(+inf) = +inf, NaN -> NaN; results below 2**-126 are
    subnormal (rounded once), below 2**-150 they round to +0.
    """
    x = require_fp32(x, "x")
    nan = np.isnan(x)
    with np.errstate(all="ignore"):
        xc = np.minimum(np.maximum(np.where(nan, ZERO, x), EXP_INPUT_MIN), EXP_INPUT_MAX)
        kf, k = fp32_round_to_int(xc * LOG2_E)
        r = (xc - kf * LN2_HI) - kf * LN2_LO
        p = ONE + (r + (r * r) * _horner(EXP_COEFFS, r))
        result = fp32_ldexp(p, k)
    return _nan_where(nan, result)


def fp32_log(x) -> np.ndarray:
    """Natural logarithm in float32, elementwise, any shape.

    Definition (op order is normative), for finite x > 0:
      subnormal x is first scaled by 2**23 (exact) and 23 is taken off e;
      e, m from the bits: x = 2**e * m, m in [1, 2);
      if m > SQRT2_F32: m = m*0.5, e = e + 1      (so m in (0.707, 1.415))
      f = m - 1 (exact);  ef = float32(e) (exact)
      hfsq = 0.5*(f*f);  s = f / (2 + f);  z = s*s;  R = z*L(z)
      lo = s*(hfsq + R) + ef*LN2_LO
      result = ef*LN2_HI - ((hfsq - lo) - f)
    Special values: log(+-0) = -inf, log(x<0) = NaN, log(+inf) = +inf,
    NaN -> NaN.
    """
    x = require_fp32(x, "x")
    regular = (x > ZERO) & (x < np.float32(np.inf))
    with np.errstate(all="ignore"):
        xs = np.where(regular, x, ONE)
        subnormal = xs < _MIN_NORMAL
        xs = np.where(subnormal, xs * _TWO_POW_23, xs)
        bits = xs.view(np.uint32)
        e = (bits >> np.uint32(23)).astype(np.int32) - np.int32(127) - np.where(subnormal, np.int32(23), np.int32(0))
        m = ((bits & np.uint32(0x007FFFFF)) | np.uint32(0x3F800000)).view(np.float32)
        above = m > SQRT2_F32
        m = np.where(above, m * HALF, m)
        e = e + above.astype(np.int32)
        f = m - ONE
        ef = int_to_fp32(e, "exponent")  # |e| <= 149: exact
        hfsq = HALF * (f * f)
        s = f / (TWO + f)
        z = s * s
        big_r = z * _horner(LOG_COEFFS, z)
        lo = s * (hfsq + big_r) + ef * LN2_LO
        result = ef * LN2_HI - ((hfsq - lo) - f)
    result = np.where(x == ZERO, np.float32(-np.inf), result)
    result = np.where(x == np.float32(np.inf), np.float32(np.inf), result)
    return _nan_where(np.isnan(x) | (x < ZERO), result)


# ---------------------------------------------------------------------------
# sin and cos
# ---------------------------------------------------------------------------
def fp32_sincos(x) -> tuple[np.ndarray, np.ndarray]:
    """(sin x, cos x) in float32, x in radians, elementwise, any shape.

    Definition (op order is normative), for |x| <= 2**15:
      (kf, k) = round_to_int(x * TWO_OVER_PI)
      r = ((x - kf*PIO2_1) - kf*PIO2_2) - kf*PIO2_3      (Cody-Waite)
      z = r*r
      S = r if |r| < 2**-12, else r + (r*z)*S(z)   sine kernel, 4 coefficients
      C = 1 - (0.5*z - (z*z)*C(z))        cosine kernel, 3 coefficients
      q = k mod 4 (the two low bits of k)
      sin: q=0: S, 1: C, 2: -S, 3: -C
      cos: q=0: C, 1: -S, 2: -C, 3: S
    |x| > 2**15, +-inf and NaN give NaN for both.
    """
    x = require_fp32(x, "x")
    valid = np.abs(x) <= SINCOS_MAX_ABS_INPUT
    with np.errstate(all="ignore"):
        xv = np.where(valid, x, ZERO)
        kf, k = fp32_round_to_int(xv * TWO_OVER_PI)
        r = ((xv - kf * PIO2_1) - kf * PIO2_2) - kf * PIO2_3
        z = r * r
        # Below 2**-12, sin r rounds to r; selecting r also keeps the sign of -0.
        s_kernel = np.where(np.abs(r) < TINY_ARGUMENT, r, r + (r * z) * _horner(SIN_COEFFS, z))
        c_kernel = ONE - (HALF * z - (z * z) * _horner(COS_COEFFS, z))
    q = k & np.int32(3)
    swap = (q & np.int32(1)).astype(bool)
    sin_mag = np.where(swap, c_kernel, s_kernel)
    cos_mag = np.where(swap, s_kernel, c_kernel)
    # sin is negated in quadrants 2 and 3, cos in quadrants 1 and 2.
    sin_v = np.where(q >= np.int32(2), -sin_mag, sin_mag)
    cos_v = np.where((q == np.int32(1)) | (q == np.int32(2)), -cos_mag, cos_mag)
    return _nan_where(~valid, sin_v), _nan_where(~valid, cos_v)


def fp32_sin(x) -> np.ndarray:
    """sin x in float32 (x in radians, |x| <= 2**15, else NaN); see :func:`fp32_sincos`."""
    return fp32_sincos(x)[0]


def fp32_cos(x) -> np.ndarray:
    """cos x in float32 (x in radians, |x| <= 2**15, else NaN); also the derivative of :func:`fp32_sin`."""
    return fp32_sincos(x)[1]


# ---------------------------------------------------------------------------
# tanh
# ---------------------------------------------------------------------------
def fp32_tanh(x) -> np.ndarray:
    """tanh x in float32, elementwise, any shape.

    Definition (op order is normative), a = |x|:
      a <  2**-12:  t = x
      a <  0.5625:  z = x*x;  t = x + (x*z)*T(z)         T: 6 coefficients
      0.5625 <= a < 10:  e = exp(a + a);  t = sign(x) * (1 - 2/(e + 1))
      a >= 10 (and +-inf): t = sign(x) * 1 exactly
    NaN -> NaN. tanh(-0) = -0.
    """
    x = require_fp32(x, "x")
    a = np.abs(x)
    negative = x < ZERO
    with np.errstate(all="ignore"):
        z = x * x
        small = x + (x * z) * _horner(TANH_COEFFS, z)
        # Keep the exp argument in range on lanes that will not use it.
        a_mid = np.minimum(a, TANH_CLAMP)
        e = fp32_exp(a_mid + a_mid)
        mid = ONE - TWO / (e + ONE)
    mid = np.where(negative, -mid, mid)
    clamped = np.where(negative, -ONE, ONE)
    # Below 2**-12, tanh x rounds to x; selecting x also keeps the sign of -0.
    small = np.where(a < TINY_ARGUMENT, x, small)
    result = np.where(a < TANH_POLY_LIMIT, small, np.where(a >= TANH_CLAMP, clamped, mid))
    return _nan_where(np.isnan(x), result)


def fp32_tanh_grad_from_output(t) -> np.ndarray:
    """d tanh(x)/dx from the forward output t = tanh(x): 1 - t*t (one mul, one sub)."""
    t = require_fp32(t, "t")
    with np.errstate(over="ignore"):  # an |t| that is no tanh output may overflow to -inf: an IEEE value
        return ONE - t * t
