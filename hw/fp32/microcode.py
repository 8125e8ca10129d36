"""Microcode of the special-function unit: each golden function of
golden/fp32.py written as its exact sequence of :class:`VectorOp` micro-ops.

A program is a list of :class:`MicroOp` ``dst = op(a, b, c)``. Operand
indices below :data:`N_REGS` name registers of the unit's register file
(register 0 holds the input on entry); indices from ``N_REGS`` up name the
constant ROM (:data:`CONSTANTS`, float32 bit patterns taken from
``pinta.golden.fp32``, never retyped). The same program is executed by the
RTL sequencer and by :func:`execute` (NumPy, one ufunc per micro-op), which
the tests compare with the golden functions.

The golden code evaluates every branch on every lane and selects; the
sequencer does the same (all lanes run one program in lockstep), so the
selected values are the golden ones bit for bit.
"""

from __future__ import annotations

import enum as _enum
from dataclasses import dataclass

import numpy as np

from pinta.golden import fp32 as g
from pinta.golden import rng as rng_golden

from .misc import VectorOp
from .units import DIV_BITS_PER_CYCLE, div_latency, sqrt_latency

__all__ = ["MicroOp", "Program", "PROGRAMS", "CONSTANTS", "N_REGS", "execute", "apply_op", "SfuFunc",
           "op_stages", "pipeline_depth"]

U32 = np.uint32


class SfuFunc(_enum.IntEnum):
    """Functions of the special-function unit (OP: one primitive VectorOp).

    RNG_KEYS: (a = seed, b = stream) -> (k1, k2); UNIFORM: (a = counter,
    b = k1, c = k2) -> (uniform_u32 word, uniform01); NORMAL: (a = even
    counter c, b = k1, c = k2) -> (rad*cos, rad*sin), the Box-Muller pair of
    counters c, c + 1."""
    OP = 0
    EXP = 1
    LOG = 2
    SINCOS = 3
    TANH = 4
    TANH_GRAD = 5
    RNG_KEYS = 6
    UNIFORM = 7
    NORMAL = 8


def _bits(x) -> int:
    return int(np.asarray(x, dtype=np.float32).view(U32))


@dataclass(frozen=True)
class MicroOp:
    """One micro-instruction: ``dst = op(a, b, c)`` (indices: registers, then constants)."""
    op: VectorOp
    dst: int
    a: int
    b: int
    c: int


@dataclass(frozen=True)
class Program:
    """A function's micro-ops and the registers holding its outputs (r, r2)."""
    name: str
    ops: tuple[MicroOp, ...]
    out: int
    out2: int


class _Asm:
    """Tiny assembler: named registers, deduplicated constants."""

    def __init__(self, consts: dict[int, int]):
        # Registers 0..2 receive the operands a, b, c of the input transfer.
        self.regs = {"x": 0, "in_b": 1, "in_c": 2}
        self.consts = consts
        self.ops: list[MicroOp] = []

    def _src(self, s) -> int:
        if isinstance(s, str):
            return self.regs[s]
        if isinstance(s, tuple) and s[0] == "int":
            bits = s[1] & 0xFFFFFFFF
        else:
            bits = _bits(s)
        return -1 - self.consts.setdefault(bits, len(self.consts))  # resolved later

    def __call__(self, op: VectorOp, dst: str, a, b=("int", 0), c=("int", 0)):
        srcs = [self._src(s) for s in (a, b, c)]
        if dst not in self.regs:
            self.regs[dst] = len(self.regs)
        self.ops.append(MicroOp(op, self.regs[dst], *srcs))
        return dst


def _i(v: int):
    return ("int", v)


F = np.float32
NAN = np.array(0x7FC00000, dtype=U32).view(np.float32)[()]


def _horner(asm, coeffs, z, acc):
    asm(VectorOp.MUL, acc, coeffs[-1], z)
    asm(VectorOp.ADD, acc, acc, coeffs[-2])
    for c in coeffs[-3::-1]:
        asm(VectorOp.MUL, acc, acc, z)
        asm(VectorOp.ADD, acc, acc, c)
    return acc


def _exp(asm, x: str, out: str):
    """fp32_exp: out = exp(x)."""
    A = asm
    A(VectorOp.ISNAN, "e_nan", x)
    A(VectorOp.SEL, "e_x0", g.ZERO, x, "e_nan")
    A(VectorOp.MAX, "e_t", "e_x0", g.EXP_INPUT_MIN)
    A(VectorOp.MIN, "e_xc", "e_t", g.EXP_INPUT_MAX)
    A(VectorOp.MUL, "e_y", "e_xc", g.LOG2_E)
    A(VectorOp.ADD, "e_s", "e_y", g.ROUND_MAGIC)          # round_to_int: s = y + M
    A(VectorOp.SUB, "e_kf", "e_s", g.ROUND_MAGIC)         # kf = s - M (exact)
    A(VectorOp.ISUB, "e_k", "e_s", g.ROUND_MAGIC)         # k = bits(s) - bits(M)
    A(VectorOp.MUL, "e_t", "e_kf", g.LN2_HI)
    A(VectorOp.SUB, "e_r", "e_xc", "e_t")
    A(VectorOp.MUL, "e_t", "e_kf", g.LN2_LO)
    A(VectorOp.SUB, "e_r", "e_r", "e_t")
    A(VectorOp.MUL, "e_rr", "e_r", "e_r")
    _horner(A, g.EXP_COEFFS, "e_r", "e_acc")
    A(VectorOp.MUL, "e_t", "e_rr", "e_acc")
    A(VectorOp.ADD, "e_t", "e_r", "e_t")
    A(VectorOp.ADD, "e_p", g.ONE, "e_t")
    A(VectorOp.ASR1, "e_ka", "e_k")                       # ldexp: a = k >> 1, b = k - a
    A(VectorOp.ISUB, "e_kb", "e_k", "e_ka")
    A(VectorOp.POW2, "e_ka", "e_ka")
    A(VectorOp.POW2, "e_kb", "e_kb")
    A(VectorOp.MUL, "e_p", "e_p", "e_ka")
    A(VectorOp.MUL, "e_p", "e_p", "e_kb")
    A(VectorOp.SEL, out, NAN, "e_p", "e_nan")


def _log(asm, x: str, out: str):
    """fp32_log: out = log(x)."""
    A = asm
    A(VectorOp.LT, "l_pos", g.ZERO, x)
    A(VectorOp.LT, "l_fin", x, F(np.inf))
    A(VectorOp.IAND, "l_reg", "l_pos", "l_fin")
    A(VectorOp.SEL, "l_xs", x, g.ONE, "l_reg")
    A(VectorOp.LT, "l_sub", "l_xs", F(2.0 ** -126))
    A(VectorOp.MUL, "l_t", "l_xs", F(2.0 ** 23))
    A(VectorOp.SEL, "l_xs", "l_t", "l_xs", "l_sub")
    A(VectorOp.EXPF, "l_e", "l_xs")
    A(VectorOp.ISUB, "l_e", "l_e", _i(127))
    A(VectorOp.SEL, "l_t", _i(23), _i(0), "l_sub")
    A(VectorOp.ISUB, "l_e", "l_e", "l_t")
    A(VectorOp.MANT1, "l_m", "l_xs")
    A(VectorOp.LT, "l_above", g.SQRT2_F32, "l_m")
    A(VectorOp.MUL, "l_t", "l_m", g.HALF)
    A(VectorOp.SEL, "l_m", "l_t", "l_m", "l_above")
    A(VectorOp.IADD, "l_e", "l_e", "l_above")
    A(VectorOp.SUB, "l_f", "l_m", g.ONE)
    A(VectorOp.I2F, "l_ef", "l_e")
    A(VectorOp.MUL, "l_t", "l_f", "l_f")
    A(VectorOp.MUL, "l_hfsq", g.HALF, "l_t")
    A(VectorOp.ADD, "l_t", g.TWO, "l_f")
    A(VectorOp.DIV, "l_s", "l_f", "l_t")
    A(VectorOp.MUL, "l_z", "l_s", "l_s")
    _horner(A, g.LOG_COEFFS, "l_z", "l_acc")
    A(VectorOp.MUL, "l_t", "l_z", "l_acc")               # R = z * L(z)
    A(VectorOp.ADD, "l_t", "l_hfsq", "l_t")
    A(VectorOp.MUL, "l_t", "l_s", "l_t")
    A(VectorOp.MUL, "l_acc", "l_ef", g.LN2_LO)
    A(VectorOp.ADD, "l_t", "l_t", "l_acc")               # lo
    A(VectorOp.SUB, "l_t", "l_hfsq", "l_t")
    A(VectorOp.SUB, "l_t", "l_t", "l_f")
    A(VectorOp.MUL, "l_acc", "l_ef", g.LN2_HI)
    A(VectorOp.SUB, "l_r", "l_acc", "l_t")
    A(VectorOp.EQ, "l_t", x, g.ZERO)
    A(VectorOp.SEL, "l_r", F(-np.inf), "l_r", "l_t")
    A(VectorOp.EQ, "l_t", x, F(np.inf))
    A(VectorOp.SEL, "l_r", F(np.inf), "l_r", "l_t")
    A(VectorOp.ISNAN, "l_t", x)
    A(VectorOp.LT, "l_pos", x, g.ZERO)
    A(VectorOp.SEL, "l_t", _i(1), "l_pos", "l_t")        # NaN or negative
    A(VectorOp.SEL, out, NAN, "l_r", "l_t")


def _sincos(asm, x: str, out_s: str, out_c: str):
    """fp32_sincos: (out_s, out_c) = (sin x, cos x)."""
    A = asm
    A(VectorOp.ABS, "s_t", x)
    A(VectorOp.LE, "s_valid", "s_t", g.SINCOS_MAX_ABS_INPUT)
    A(VectorOp.SEL, "s_xv", x, g.ZERO, "s_valid")
    A(VectorOp.MUL, "s_t", "s_xv", g.TWO_OVER_PI)
    A(VectorOp.ADD, "s_s", "s_t", g.ROUND_MAGIC)
    A(VectorOp.SUB, "s_kf", "s_s", g.ROUND_MAGIC)
    A(VectorOp.ISUB, "s_k", "s_s", g.ROUND_MAGIC)
    A(VectorOp.MUL, "s_t", "s_kf", g.PIO2_1)
    A(VectorOp.SUB, "s_r", "s_xv", "s_t")
    A(VectorOp.MUL, "s_t", "s_kf", g.PIO2_2)
    A(VectorOp.SUB, "s_r", "s_r", "s_t")
    A(VectorOp.MUL, "s_t", "s_kf", g.PIO2_3)
    A(VectorOp.SUB, "s_r", "s_r", "s_t")
    A(VectorOp.MUL, "s_z", "s_r", "s_r")
    _horner(A, g.SIN_COEFFS, "s_z", "s_acc")
    A(VectorOp.MUL, "s_t", "s_r", "s_z")
    A(VectorOp.MUL, "s_t", "s_t", "s_acc")
    A(VectorOp.ADD, "s_sk", "s_r", "s_t")
    A(VectorOp.ABS, "s_t", "s_r")
    A(VectorOp.LT, "s_t", "s_t", g.TINY_ARGUMENT)
    A(VectorOp.SEL, "s_sk", "s_r", "s_sk", "s_t")
    _horner(A, g.COS_COEFFS, "s_z", "s_acc")
    A(VectorOp.MUL, "s_t", "s_z", "s_z")
    A(VectorOp.MUL, "s_t", "s_t", "s_acc")
    A(VectorOp.MUL, "s_ck", g.HALF, "s_z")
    A(VectorOp.SUB, "s_ck", "s_ck", "s_t")
    A(VectorOp.SUB, "s_ck", g.ONE, "s_ck")
    A(VectorOp.IAND, "s_t", "s_k", _i(1))                # swap sin/cos in odd quadrants
    A(VectorOp.SEL, "s_sm", "s_ck", "s_sk", "s_t")
    A(VectorOp.SEL, "s_cm", "s_sk", "s_ck", "s_t")
    A(VectorOp.IAND, "s_q2", "s_k", _i(2))               # sin negated in quadrants 2, 3
    A(VectorOp.NEG, "s_t", "s_sm")
    A(VectorOp.SEL, "s_sm", "s_t", "s_sm", "s_q2")
    A(VectorOp.ASR1, "s_t", "s_k")                       # cos negated in quadrants 1, 2: bit0 ^ bit1
    A(VectorOp.IXOR, "s_t", "s_t", "s_k")
    A(VectorOp.IAND, "s_q2", "s_t", _i(1))
    A(VectorOp.NEG, "s_t", "s_cm")
    A(VectorOp.SEL, "s_cm", "s_t", "s_cm", "s_q2")
    A(VectorOp.SEL, out_s, "s_sm", NAN, "s_valid")
    A(VectorOp.SEL, out_c, "s_cm", NAN, "s_valid")


def _tanh(asm, x: str, out: str):
    """fp32_tanh: out = tanh(x)."""
    A = asm
    A(VectorOp.ABS, "t_a", x)
    A(VectorOp.LT, "t_neg", x, g.ZERO)
    A(VectorOp.MUL, "t_z", x, x)
    _horner(A, g.TANH_COEFFS, "t_z", "t_acc")
    A(VectorOp.MUL, "t_t", x, "t_z")
    A(VectorOp.MUL, "t_t", "t_t", "t_acc")
    A(VectorOp.ADD, "t_small", x, "t_t")
    A(VectorOp.MIN, "t_t", "t_a", g.TANH_CLAMP)
    A(VectorOp.ADD, "t_t", "t_t", "t_t")
    _exp(A, "t_t", "t_e")
    A(VectorOp.ADD, "t_t", "t_e", g.ONE)
    A(VectorOp.DIV, "t_t", g.TWO, "t_t")
    A(VectorOp.SUB, "t_mid", g.ONE, "t_t")
    A(VectorOp.NEG, "t_t", "t_mid")
    A(VectorOp.SEL, "t_mid", "t_t", "t_mid", "t_neg")
    A(VectorOp.SEL, "t_cl", F(-1.0), g.ONE, "t_neg")
    A(VectorOp.LT, "t_t", "t_a", g.TINY_ARGUMENT)
    A(VectorOp.SEL, "t_small", x, "t_small", "t_t")
    A(VectorOp.LE, "t_t", g.TANH_CLAMP, "t_a")
    A(VectorOp.SEL, "t_mid", "t_cl", "t_mid", "t_t")
    A(VectorOp.LT, "t_t", "t_a", g.TANH_POLY_LIMIT)
    A(VectorOp.SEL, "t_mid", "t_small", "t_mid", "t_t")
    A(VectorOp.ISNAN, "t_t", x)
    A(VectorOp.SEL, out, NAN, "t_mid", "t_t")


def _tanh_grad(asm, x: str, out: str):
    """fp32_tanh_grad_from_output: out = 1 - x*x."""
    asm(VectorOp.MUL, "g_t", x, x)
    asm(VectorOp.SUB, out, g.ONE, "g_t")


# The generator's constants, from golden/rng.py (module-private names there).
_RNG_GOLDEN = int(rng_golden._GOLDEN)
_RNG_SALT = int(rng_golden._STREAM_SALT)
_RNG_MUL1 = int(rng_golden._MUL1)
_RNG_MUL2 = int(rng_golden._MUL2)


def _mix32(asm, x: str, out: str):
    """rng.mix32 (lowbias32): xor-shift 16, *MUL1, xor-shift 15, *MUL2, xor-shift 16."""
    A = asm
    A(VectorOp.SHR, "m_t", x, _i(16))
    A(VectorOp.IXOR, out, x, "m_t")
    A(VectorOp.IMUL, out, out, _i(_RNG_MUL1))
    A(VectorOp.SHR, "m_t", out, _i(15))
    A(VectorOp.IXOR, out, out, "m_t")
    A(VectorOp.IMUL, out, out, _i(_RNG_MUL2))
    A(VectorOp.SHR, "m_t", out, _i(16))
    A(VectorOp.IXOR, out, out, "m_t")


def _rng_keys(asm, seed: str, stream: str, k1: str, k2: str):
    """rng.stream_keys: k1 = mix32(mix32(seed + G) ^ (stream + SALT)); k2 = mix32(k1 + G)."""
    A = asm
    A(VectorOp.IADD, "k_t", seed, _i(_RNG_GOLDEN))
    _mix32(A, "k_t", "k_t")
    A(VectorOp.IADD, "k_s", stream, _i(_RNG_SALT))
    A(VectorOp.IXOR, "k_t", "k_t", "k_s")
    _mix32(A, "k_t", k1)
    A(VectorOp.IADD, "k_t", k1, _i(_RNG_GOLDEN))
    _mix32(A, "k_t", k2)


def _uniform(asm, counter: str, k1: str, k2: str, word: str, u01: str):
    """rng.uniform_u32 (word) and rng.uniform01 (u01 = ((word >> 9) + 0.5) * 2**-23)."""
    A = asm
    A(VectorOp.IXOR, "u_t", counter, k1)
    _mix32(A, "u_t", "u_t")
    A(VectorOp.IADD, "u_t", "u_t", k2)
    _mix32(A, "u_t", word)
    A(VectorOp.SHR, "u_t", word, _i(9))
    A(VectorOp.I2F, "u_t", "u_t")
    A(VectorOp.ADD, "u_t", "u_t", g.HALF)
    A(VectorOp.MUL, u01, "u_t", rng_golden._TWO_POW_M23)


def _normal(asm, counter: str, k1: str, k2: str, out_c: str, out_s: str):
    """One Box-Muller pair of rng.normal: counters c (u1) and c + 1 (u2)."""
    A = asm
    _uniform(A, counter, k1, k2, "n_w", "n_u1")
    A(VectorOp.IADD, "n_c1", counter, _i(1))
    _uniform(A, "n_c1", k1, k2, "n_w", "n_u2")
    _log(A, "n_u1", "n_l")
    A(VectorOp.MUL, "n_l", rng_golden._MINUS_TWO, "n_l")
    A(VectorOp.SQRT, "n_rad", "n_l")
    A(VectorOp.MUL, "n_th", g.TWO_PI, "n_u2")
    _sincos(A, "n_th", "n_sin", "n_cos")
    A(VectorOp.MUL, out_c, "n_rad", "n_cos")
    A(VectorOp.MUL, out_s, "n_rad", "n_sin")


def _build():
    consts: dict[int, int] = {}
    raw = {}
    for func, body in ((SfuFunc.EXP, lambda A: _exp(A, "x", "y")),
                       (SfuFunc.LOG, lambda A: _log(A, "x", "y")),
                       (SfuFunc.SINCOS, lambda A: _sincos(A, "x", "y", "y2")),
                       (SfuFunc.TANH, lambda A: _tanh(A, "x", "y")),
                       (SfuFunc.TANH_GRAD, lambda A: _tanh_grad(A, "x", "y")),
                       (SfuFunc.RNG_KEYS, lambda A: _rng_keys(A, "x", "in_b", "y", "y2")),
                       (SfuFunc.UNIFORM, lambda A: _uniform(A, "x", "in_b", "in_c", "y", "y2")),
                       (SfuFunc.NORMAL, lambda A: _normal(A, "x", "in_b", "in_c", "y", "y2"))):
        asm = _Asm(consts)
        body(asm)
        raw[func] = asm
    n_regs = max(len(a.regs) for a in raw.values())
    n_regs = max(n_regs, 3)  # OP mode loads a, b, c into registers 0..2

    def fix(s):
        return s if s >= 0 else n_regs + (-1 - s)

    programs = {}
    for func, asm in raw.items():
        ops = tuple(MicroOp(o.op, o.dst, fix(o.a), fix(o.b), fix(o.c)) for o in asm.ops)
        y2 = asm.regs.get("y2", asm.regs["y"])
        programs[func] = Program(func.name.lower(), ops, asm.regs["y"], y2)
    table = [0] * len(consts)
    for bits, k in consts.items():
        table[k] = bits
    return programs, tuple(table), n_regs


PROGRAMS, CONSTANTS, N_REGS = _build()


def op_stages(op: VectorOp) -> int:
    """Pipeline stages of one micro-op when it is unrolled (hw/top_sfu.py, hw/top_divsqrt.py).

    Every micro-op is one combinational datapath and one register stage,
    except DIV and SQRT, which are the iterative divider / square root
    unrolled: load, one stage per ``DIV_BITS_PER_CYCLE`` digits, round
    (``div_latency``, ``sqrt_latency``). The VEC unit's VDIV and VSQRT are
    these two alone (sim/timing.py ``vector_depth``).
    """
    op = VectorOp(op)
    if op == VectorOp.DIV:
        return div_latency(DIV_BITS_PER_CYCLE)
    if op == VectorOp.SQRT:
        return sqrt_latency(DIV_BITS_PER_CYCLE)
    return 1


def pipeline_depth(func: SfuFunc) -> int:
    """Stage count of ``func``'s micro-program unrolled into a pipeline (hw/top_sfu.py
    ``SfuPipeline``): the cycles from its input to its registered output."""
    return sum(op_stages(o.op) for o in PROGRAMS[SfuFunc(func)].ops)


def apply_op(op: VectorOp, a, b, c):
    """NumPy semantics of one micro-op on uint32 bit-pattern arrays."""
    fa, fb = a.view(np.float32), b.view(np.float32)
    with np.errstate(all="ignore"):
        if op == VectorOp.ADD: r = fa + fb
        elif op == VectorOp.SUB: r = fa - fb
        elif op == VectorOp.MUL: r = fa * fb
        elif op == VectorOp.DIV: r = fa / fb
        elif op == VectorOp.SQRT: r = np.sqrt(fa)
        elif op == VectorOp.MIN: r = np.minimum(fa, fb)
        elif op == VectorOp.MAX: r = np.maximum(fa, fb)
        elif op == VectorOp.LT: r = (fa < fb).astype(U32)
        elif op == VectorOp.LE: r = (fa <= fb).astype(U32)
        elif op == VectorOp.EQ: r = (fa == fb).astype(U32)
        elif op == VectorOp.ISNAN: r = np.isnan(fa).astype(U32)
        elif op == VectorOp.ABS: r = a & U32(0x7FFFFFFF)
        elif op == VectorOp.NEG: r = a ^ U32(0x80000000)
        elif op == VectorOp.SEL: r = np.where(c != 0, a, b)
        elif op == VectorOp.I2F: r = a.view(np.int32).astype(np.float32)
        elif op == VectorOp.IADD: r = a + b
        elif op == VectorOp.ISUB: r = a - b
        elif op == VectorOp.IAND: r = a & b
        elif op == VectorOp.IXOR: r = a ^ b
        elif op == VectorOp.ASR1: r = (a.view(np.int32) >> 1).view(U32)
        elif op == VectorOp.POW2: r = (a + U32(127)) << U32(23)
        elif op == VectorOp.EXPF: r = (a >> U32(23)) & U32(0xFF)
        elif op == VectorOp.MANT1: r = (a & U32(0x7FFFFF)) | U32(0x3F800000)
        elif op == VectorOp.SHR: r = a >> (b & U32(31))
        elif op == VectorOp.IMUL: r = a * b
        else: raise ValueError(op)
    r = np.asarray(r)
    return (r.view(U32) if r.dtype == np.float32 else r.astype(U32))


def execute(func: SfuFunc, x, b=None, c=None) -> tuple[np.ndarray, np.ndarray]:
    """Run ``func``'s microcode in NumPy on operand ``x`` (float32, or uint32
    words for the RNG programs) and optional ``b``, ``c`` (uint32 words);
    returns (r, r2) as float32 arrays (view them as uint32 for words)."""
    prog = PROGRAMS[SfuFunc(func)]
    xa = np.ascontiguousarray(np.asarray(x))
    xb = (xa if xa.dtype == U32 else xa.astype(np.float32)).view(U32).reshape(-1)
    regs = np.zeros((N_REGS + len(CONSTANTS), xb.size), dtype=U32)
    regs[0] = xb
    if b is not None:
        regs[1] = np.broadcast_to(np.asarray(b, dtype=U32), xb.shape)
    if c is not None:
        regs[2] = np.broadcast_to(np.asarray(c, dtype=U32), xb.shape)
    for k, bits in enumerate(CONSTANTS):
        regs[N_REGS + k] = bits
    for o in prog.ops:
        regs[o.dst] = apply_op(o.op, regs[o.a], regs[o.b], regs[o.c])
    return regs[prog.out].view(np.float32).copy(), regs[prog.out2].view(np.float32).copy()
