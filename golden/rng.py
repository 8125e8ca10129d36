"""On-chip random numbers: a counter-based generator the hardware reproduces cheaply.

Every random number is a pure function of (seed, stream, counter), three
unsigned 32-bit integers, so the chip needs no generator state beyond a
counter, streams can be drawn in any order or in parallel, and a result
depends on nothing but its address.

Mixing function: ``mix32`` is the "lowbias32" integer hash found by Chris
Wellons' hash-prospector search (xorshift 16, multiply 0x7feb352d, xorshift
15, multiply 0x846ca68b, xorshift 16). Every step is a bijection of 32-bit
words, so mix32 is a permutation. Hardware: two 32x32 -> low-32 multipliers
and three xor-shifts (wires plus xor gates).

Generator (all arithmetic mod 2**32)::

    k1 = mix32(mix32(seed + 0x9E3779B9) ^ (stream + 0x7F4A7C15))   # per stream
    k2 = mix32(k1 + 0x9E3779B9)                                      # per stream
    u  = mix32(mix32(counter ^ k1) + k2)

For a fixed (seed, stream) the map counter -> u is a permutation of the
32-bit words, so a stream never repeats a value within its 2**32 counters.
The two keyed rounds break the simple shift relations that a one-round
design (u = mix32(counter + key)) has between streams. Cost per word: four
32-bit multiplies; k1, k2 are computed once per stream.
"""

from __future__ import annotations

import numpy as np

from .fp32 import HALF, fp32_log, fp32_sincos, fp32_sqrt, int_to_fp32
from .fp32 import TWO_PI as _TWO_PI

__all__ = ["mix32", "stream_keys", "uniform_u32", "uniform01", "normal", "counters_used_by_normal"]

_U32 = np.uint32
_MASK32 = (1 << 32) - 1
_GOLDEN = _U32(0x9E3779B9)  # 2**32 / golden ratio
_STREAM_SALT = _U32(0x7F4A7C15)  # low word of SplitMix64's increment
_MUL1 = _U32(0x7FEB352D)
_MUL2 = _U32(0x846CA68B)
_TWO_POW_M23 = np.float32(2.0**-23)
_MINUS_TWO = np.float32(-2.0)


def _check_u32_scalar(value, name: str) -> np.uint32:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer in [0, 2**32); got {type(value).__name__}")
    if not 0 <= int(value) <= _MASK32:
        raise ValueError(f"{name} must be in [0, 2**32); got {int(value)}")
    return _U32(int(value))


def _check_counters(counter) -> np.ndarray:
    arr = np.asarray(counter)
    if arr.dtype == np.uint32:
        return arr
    if not np.issubdtype(arr.dtype, np.integer) or arr.dtype == np.bool_:
        raise TypeError(f"counter must be an integer array with values in [0, 2**32); got dtype {arr.dtype}")
    if arr.size and (int(arr.min()) < 0 or int(arr.max()) > _MASK32):
        raise ValueError("counter values must be in [0, 2**32)")
    return arr.astype(np.uint32)


def mix32(x) -> np.ndarray:
    """lowbias32 permutation of uint32 words, elementwise (wraparound arithmetic)."""
    x = np.array(x, dtype=np.uint32)  # a copy, so callers' arrays are untouched
    x ^= x >> _U32(16)
    x *= _MUL1
    x ^= x >> _U32(15)
    x *= _MUL2
    x ^= x >> _U32(16)
    return x


def stream_keys(seed: int, stream: int) -> tuple[np.uint32, np.uint32]:
    """The two per-stream round keys (k1, k2) of (seed, stream), both uint32."""
    seed_u = _check_u32_scalar(seed, "seed")
    stream_u = _check_u32_scalar(stream, "stream")
    with np.errstate(over="ignore"):
        k1 = mix32(mix32(np.array(seed_u + _GOLDEN)) ^ np.array(stream_u + _STREAM_SALT))
        k2 = mix32(k1 + _GOLDEN)
    return k1[()], k2[()]


def uniform_u32(seed: int, stream: int, counter) -> np.ndarray:
    """Uniform 32-bit words for (seed, stream, counter); uint32, ``counter``'s shape.

    ``seed``, ``stream``: integers in [0, 2**32). ``counter``: integer scalar
    or array with values in [0, 2**32).
    """
    k1, k2 = stream_keys(seed, stream)
    c = _check_counters(counter)
    with np.errstate(over="ignore"):
        return mix32(mix32(c ^ k1) + k2)


def uniform01(seed: int, stream: int, counter) -> np.ndarray:
    """Uniform float32 in (0, 1): ((u >> 9) + 0.5) * 2**-23, exact; ``counter``'s shape.

    The top 23 bits j of the word give (j + 0.5) / 2**23, the midpoint of one
    of 2**23 equal cells, so the values are symmetric about 1/2, lie in
    [2**-24, 1 - 2**-24], and every step is exact in float32 (j + 0.5 needs
    24 significant bits; with 24 random bits it would need 25 and round).
    """
    j = int_to_fp32(uniform_u32(seed, stream, counter) >> _U32(9), "word >> 9")  # < 2**23: exact
    return (j + HALF) * _TWO_POW_M23


def counters_used_by_normal(n: int) -> int:
    """How many counters :func:`normal` consumes for ``n`` samples: 2*ceil(n/2)."""
    return 2 * ((n + 1) // 2)


def normal(seed: int, stream: int, counter_start: int, n: int) -> np.ndarray:
    """``n`` standard normal float32 samples by Box-Muller; shape (n,).

    Pair i (i = 0 .. ceil(n/2)-1) uses the counters c = counter_start + 2i
    and c + 1:
      u1 = uniform01(c), u2 = uniform01(c + 1)
      rad = sqrt(-2 * log(u1));  theta = TWO_PI * u2
      out[2i] = rad * cos(theta);  out[2i + 1] = rad * sin(theta)
    (log, sqrt, sin, cos: :mod:`pinta.golden.fp32`). For odd n the last sine
    sample is dropped; the call still consumes 2*ceil(n/2) counters, which
    must all lie below 2**32. |out| <= sqrt(-2 ln 2**-24) ~ 5.77.
    """
    counter_start = int(_check_u32_scalar(counter_start, "counter_start"))
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a non-negative integer; got {n!r}")
    n = int(n)
    used = counters_used_by_normal(n)
    if counter_start + used > _MASK32 + 1:
        raise ValueError(f"counter_start {counter_start} + {used} counters runs past 2**32; start a new stream")
    pairs = used // 2
    c = np.arange(pairs, dtype=np.uint64) * np.uint64(2) + np.uint64(counter_start)
    u1 = uniform01(seed, stream, c.astype(np.uint32))
    u2 = uniform01(seed, stream, (c + np.uint64(1)).astype(np.uint32))
    rad = fp32_sqrt(_MINUS_TWO * fp32_log(u1))
    sin_t, cos_t = fp32_sincos(_TWO_PI * u2)
    out = np.empty(2 * pairs, dtype=np.float32)
    out[0::2] = rad * cos_t
    out[1::2] = rad * sin_t
    return out[:n]
