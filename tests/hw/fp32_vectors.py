"""Seeded operand generators and NumPy references for the binary32 RTL tests.

The generators mix uniformly random bit patterns with the cases random bits
almost never hit: signed zeros, subnormals, inf, NaN payloads, operands a few
ulps apart (cancellation), exponent differences around the 24..26-bit
alignment limit (ties and sticky bits), and products / quotients whose
exponent lands at the overflow or underflow boundary.
"""

from __future__ import annotations

import numpy as np

from pinta.hw.fp32 import VectorOp

U32 = np.uint32

SPECIALS = np.array([0x00000000, 0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00000, 0x7F800001,
                     0x7FBFFFFF, 0x00000001, 0x80000001, 0x007FFFFF, 0x807FFFFF, 0x00800000, 0x80800000,
                     0x7F7FFFFF, 0xFF7FFFFF, 0x3F800000, 0xBF800000, 0x3F7FFFFF, 0x33800000, 0x4B400000],
                    dtype=np.uint64).astype(U32)


def _bits(sign, exp, man):
    return ((sign.astype(np.uint64) << 31) | (exp.astype(np.uint64) << 23) | man.astype(np.uint64)).astype(U32)


def _rand_float(rng, n, exp_lo=0, exp_hi=255):
    return _bits(rng.integers(0, 2, n), rng.integers(exp_lo, exp_hi, n), rng.integers(0, 1 << 23, n))


def binary_operands(rng: np.random.Generator, n: int, op: VectorOp):
    """n operand pairs (uint32 bit patterns) stressing ``op``."""
    a = rng.integers(0, 1 << 32, n, dtype=np.uint64).astype(U32)
    b = rng.integers(0, 1 << 32, n, dtype=np.uint64).astype(U32)
    cat = rng.integers(0, 7, n)
    # 1: nearby exponents (alignment, ties, cancellation), incl. differences 22..27
    k = cat == 1
    ea = rng.integers(1, 254, n)
    d = np.where(rng.random(n) < 0.5, rng.integers(0, 4, n), rng.integers(22, 28, n))
    eb = np.clip(ea - d, 0, 254)
    man_b = np.where(rng.random(n) < 0.3, 0, rng.integers(0, 1 << 23, n))  # exact powers: ties
    a[k] = _bits(rng.integers(0, 2, n), ea, rng.integers(0, 1 << 23, n))[k]
    b[k] = _bits(rng.integers(0, 2, n), eb, man_b)[k]
    # 2: a few ulps apart, either sign (massive cancellation, exact zeros)
    k = cat == 2
    base = _rand_float(rng, n, 0, 255)
    a[k] = base[k]
    b[k] = (base.astype(np.int64) + rng.integers(-3, 4, n)).astype(np.uint64).astype(U32)[k] ^ \
        (U32(0x80000000) * (rng.random(n) < 0.5).astype(U32))[k]
    # 3: subnormal / tiny operands
    k = cat == 3
    a[k] = _rand_float(rng, n, 0, 3)[k]
    b[k] = np.where(rng.random(n) < 0.5, _rand_float(rng, n, 0, 3), _rand_float(rng, n, 100, 150))[k]
    # 4: one special operand
    k = cat == 4
    sp = SPECIALS[rng.integers(0, len(SPECIALS), n)]
    a[k] = np.where(rng.random(n) < 0.5, sp, a)[k]
    b[k] = np.where(rng.random(n) < 0.5, b, SPECIALS[rng.integers(0, len(SPECIALS), n)])[k]
    # 5: result exponent at the overflow / underflow edge for mul and div
    k = cat == 5
    target = np.where(rng.random(n) < 0.5, rng.integers(-30, 4, n), rng.integers(250, 258, n))
    ea = rng.integers(1, 254, n)
    eb = target - ea + 127 if op == VectorOp.MUL else ea + 127 - target
    ok = (eb >= 0) & (eb <= 254)
    eb = np.clip(eb, 0, 254)
    aa = _bits(rng.integers(0, 2, n), ea, rng.integers(0, 1 << 23, n))
    bb = _bits(rng.integers(0, 2, n), eb, rng.integers(0, 1 << 23, n))
    a[k & ok], b[k & ok] = aa[k & ok], bb[k & ok]
    # 6: equal magnitudes / signed zero pairs (compare, min, max)
    k = cat == 6
    a[k] = np.where(rng.random(n) < 0.2, SPECIALS[rng.integers(0, 2, n)], a)[k]
    b[k] = np.where(rng.random(n) < 0.5, a, a ^ U32(0x80000000))[k]
    return a, b


def unary_operands(rng: np.random.Generator, n: int):
    """n operands for sqrt / abs / neg / isnan."""
    a = rng.integers(0, 1 << 32, n, dtype=np.uint64).astype(U32)
    cat = rng.integers(0, 5, n)
    a = np.where(cat == 1, _rand_float(rng, n, 0, 255) & U32(0x7FFFFFFF), a)
    a = np.where(cat == 2, _rand_float(rng, n, 0, 3) & U32(0x7FFFFFFF), a)
    a = np.where(cat == 3, SPECIALS[rng.integers(0, len(SPECIALS), n)], a)
    # exact squares (remainder 0: sticky must be 0) and their neighbours
    with np.errstate(all="ignore"):
        r = rng.integers(1, 1 << 12, n).astype(np.float32) * np.float32(2.0) ** rng.integers(-70, 60, n).astype(np.float32)
        sq = (r * r).astype(np.float32).view(U32)
    sq = (sq.astype(np.int64) + rng.integers(-1, 2, n)).astype(np.uint64).astype(U32)
    return np.where(cat == 4, sq, a)


def int_operands(rng: np.random.Generator, n: int):
    """n int32 patterns: random words, small, near 2**24 and 2**31."""
    a = rng.integers(0, 1 << 32, n, dtype=np.uint64)
    mag = rng.integers(0, 1 << 31, n, dtype=np.uint64) >> rng.integers(0, 31, n).astype(np.uint64)
    neg = rng.random(n) < 0.5
    small = np.where(neg, (1 << 32) - mag, mag) & 0xFFFFFFFF
    near = (np.int64(1 << 24) + rng.integers(-4, 5, n)) * np.where(neg, -1, 1)
    cat = rng.integers(0, 3, n)
    out = np.where(cat == 0, a, np.where(cat == 1, small, near.astype(np.uint64) & 0xFFFFFFFF))
    return out.astype(np.uint64).astype(U32)


def reference(op: VectorOp, a, b, c):
    """NumPy's result of ``op`` on uint32 patterns; returns (uint32 result, is_float)."""
    fa, fb = a.view(np.float32), b.view(np.float32)
    ia, ib = a.view(np.int32), b.view(np.int32)
    with np.errstate(all="ignore"):
        table = {
            VectorOp.ADD: (lambda: fa + fb, True), VectorOp.SUB: (lambda: fa - fb, True),
            VectorOp.MUL: (lambda: fa * fb, True), VectorOp.DIV: (lambda: fa / fb, True),
            VectorOp.SQRT: (lambda: np.sqrt(fa), True),
            VectorOp.MIN: (lambda: np.minimum(fa, fb), True), VectorOp.MAX: (lambda: np.maximum(fa, fb), True),
            VectorOp.LT: (lambda: (fa < fb).astype(U32), False), VectorOp.LE: (lambda: (fa <= fb).astype(U32), False),
            VectorOp.EQ: (lambda: (fa == fb).astype(U32), False),
            VectorOp.ISNAN: (lambda: np.isnan(fa).astype(U32), False),
            VectorOp.ABS: (lambda: np.abs(fa), True), VectorOp.NEG: (lambda: -fa, True),
            VectorOp.SEL: (lambda: np.where(c != 0, a, b), False),
            VectorOp.I2F: (lambda: ia.astype(np.float32), True),
            VectorOp.IADD: (lambda: a + b, False), VectorOp.ISUB: (lambda: a - b, False),
            VectorOp.IAND: (lambda: a & b, False), VectorOp.IXOR: (lambda: a ^ b, False),
            VectorOp.ASR1: (lambda: (ia >> 1).view(U32), False),
            VectorOp.POW2: (lambda: ((a + U32(127)) << U32(23)), False),
            VectorOp.EXPF: (lambda: (a >> U32(23)) & U32(0xFF), False),
            VectorOp.MANT1: (lambda: (a & U32(0x7FFFFF)) | U32(0x3F800000), False),
            VectorOp.SHR: (lambda: a >> (b & U32(31)), False),
            VectorOp.IMUL: (lambda: (a.astype(np.uint64) * b.astype(np.uint64)).astype(U32), False),
        }
        fn, is_float = table[VectorOp(op)]
        r = np.asarray(fn())
    return (r.view(U32) if r.dtype == np.float32 else r.astype(U32)), is_float


def operands_for(op: VectorOp, rng: np.random.Generator, n: int):
    """(a, b, c) uint32 arrays of length n for ``op``."""
    c = (rng.random(n) < 0.5).astype(U32) * rng.integers(1, 1 << 32, n, dtype=np.uint64).astype(U32)
    if op in (VectorOp.SQRT, VectorOp.ABS, VectorOp.NEG, VectorOp.ISNAN, VectorOp.EXPF, VectorOp.MANT1):
        a = unary_operands(rng, n)
        return a, np.zeros(n, U32), c
    if op in (VectorOp.I2F, VectorOp.ASR1, VectorOp.POW2):
        return int_operands(rng, n), np.zeros(n, U32), c
    if op == VectorOp.SHR:
        return int_operands(rng, n), rng.integers(0, 1 << 32, n, dtype=np.uint64).astype(U32), c
    if op == VectorOp.IMUL:
        return int_operands(rng, n), int_operands(rng, n), c
    a, b = binary_operands(rng, n, op)
    return a, b, c


def mismatches(op: VectorOp, a, b, c, got):
    """Indices where ``got`` differs from NumPy (NaN results compare as "is NaN")."""
    want, is_float = reference(op, a, b, c)
    got = np.asarray(got, dtype=np.uint64).astype(U32)
    if is_float:
        wn = np.isnan(want.view(np.float32))
        gn = np.isnan(got.view(np.float32))
        bad = (wn != gn) | (~wn & (want != got))
    else:
        bad = want != got
    return np.nonzero(bad)[0], want
