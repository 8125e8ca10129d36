"""Programs that exercise the PINTA top (hw/top.py) beyond the simulator's own builders.

Used by the RTL regressions (tests/hw/top_cases.py) and by ``pinta bench
rtl-top`` (hw/bench_top.py). Each returns a :class:`~pinta.sim.programs.ProgramBuilder`
whose ``inputs`` the host places in DRAM and whose ``outputs`` it reads back.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from pinta.sim.programs import ProgramBuilder

__all__ = ["vector_chain_program", "vector_chain_inputs", "sfu_chain_program", "sfu_chain_inputs",
           "divsqrt_chain_program", "divsqrt_chain_inputs", "stein_chain_program", "stein_chain_inputs",
           "deq_program", "deq_inputs", "broadcast_program", "broadcast_inputs", "accf_program", "accf_inputs",
           "adam_chain_program", "adam_chain_inputs", "rng_chain_program", "rng_chain_inputs", "RNG_CHAIN",
           "reduce_chain_program", "reduce_chain_inputs", "quantr_program", "quantr_inputs",
           "view_chain_program", "view_chain_inputs", "vred_view_program",
           "view_pairs_program", "view_pairs_inputs", "acc_view_program", "acc_view_inputs"]


def _vec(pb: ProgramBuilder, mnemonic: str, a, b=None, buf=None, **extra):
    """Emit one VEC instruction into a fresh FP32 tensor of ``a``'s shape in ``buf``
    (default: gradients) and return it; ``b`` the second operand, ``extra`` other fields."""
    from pinta.sim.isa import Buffer, Fmt

    out = pb.tensor(Buffer.gradients if buf is None else buf, Fmt.fp32, a.rows, a.cols)
    pb.use(out, a, *([b] if b is not None else []))
    pb.emit(mnemonic, dst=out.reg, a=a.reg, **({"b": b.reg} if b is not None else {}), **extra)
    return out


def _f32_bits(v: float) -> int:
    return int(np.array([v], np.float32).view("<u4")[0])


def vector_chain_program(cfg, x, y, w) -> ProgramBuilder:
    """Element-wise FP32 chain on the VEC unit, fed by DMA and by the MAC + ACCF path.

    Independent instructions issue back to back (pipelined passes), dependent ones
    wait for their producer's done; odd element counts exercise the zero half-word.
    """
    from pinta.sim.isa import Buffer, MacMode

    pb = ProgramBuilder(cfg)
    tx = pb.load_fp32(Buffer.activations, x)
    ty = pb.load_fp32(Buffer.optimizer, y)

    vec = partial(_vec, pb)

    prod = vec("VMUL", tx, ty)
    total = vec("VADD", tx, ty)                        # independent: issues right behind VMUL
    diff = vec("VSUB", prod, total)                    # RAW on both
    scaled = vec("VSCALE", diff, scale=_f32_bits(-0.3721))
    neg = vec("VNEG", scaled, buf=Buffer.optimizer)
    dt = vec("VDTANH", neg)
    # MAC -> QNT (ACCF) -> VEC: a tanh'-style use of a GEMM result
    qx = pb.quant(tx, 8, buf=Buffer.weights)
    qw = pb.quant(pb.load_fp32(Buffer.activations, w), 8, buf=Buffer.weights)
    acc = pb.gemm(qx, qw, MacMode.i8x8, buf=Buffer.gradients)
    f = pb.accf(acc, buf=Buffer.optimizer)
    fd = vec("VDTANH", f)
    fm = vec("VMUL", fd, f, buf=Buffer.activations)
    pb.emit("BARRIER")
    for name, t in (("prod", prod), ("total", total), ("diff", diff), ("scaled", scaled), ("neg", neg), ("dt", dt),
                    ("f", f), ("fd", fd), ("fm", fm)):
        pb.store(name, t)
    return pb


def vector_chain_inputs(seed: int = 7, rows: int = 7, cols: int = 5, inner: int = 6):
    """Operands of :func:`vector_chain_program`: x, y (rows×cols) with corner values in row 0
    and 1 (signed zeros, subnormals, a product that overflows to +Inf, an exact
    cancellation), and w (cols×inner)."""
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((rows, cols)) * 3).astype(np.float32)
    y = (rng.standard_normal((rows, cols)) * 3).astype(np.float32)
    corners_x = np.array([0.0, -0.0, 1e-39, -3e-38, 3e38], np.float32)
    corners_y = np.array([-0.0, -0.0, 1e-39, 0.25, 1e2], np.float32)
    k = min(cols, 5)
    x[0, :k], y[0, :k] = corners_x[:k], corners_y[:k]
    x[1, 0], y[1, 0] = 1.5, -1.5
    w = (rng.standard_normal((cols, inner)) * 0.5).astype(np.float32)
    return x, y, w


def sfu_chain_program(cfg, x, y, z) -> ProgramBuilder:
    """Special functions (VTANH, VSIN, VCOS) mixed with arithmetic VEC instructions.

    VTANH, VSIN, VCOS and five independent arithmetic instructions issue back to
    back (each after the previous one's occupancy, once its operands are loaded),
    so the VSIN/VCOS passes (SINCOS pipeline), the longer VTANH ones and the
    arithmetic ones are written in the same cycles through their own ports
    (tests/hw/top_cases.py ``vec_write_overlap``); VDTANH and VMUL consume special-function results
    (RAW), VTANH, VSIN and VCOS then consume arithmetic ones.

    The arithmetic instructions take ``z`` (finite, nonzero) as their second
    operand: an invalid operation of a bare primitive (inf·0, inf − inf) gives
    NumPy's NaN with the x86 sign bit where the RTL gives the canonical NaN, and
    payloads of bare primitives are not part of the contract
    (docs/vector-numerics.md §1). The special functions return the canonical
    NaN, as the RTL does.
    """
    from pinta.sim.isa import Buffer

    pb = ProgramBuilder(cfg)
    tx = pb.load_fp32(Buffer.activations, x)
    ty = pb.load_fp32(Buffer.optimizer, y)
    tz = pb.load_fp32(Buffer.weights, z)

    vec = partial(_vec, pb)

    th = vec("VTANH", tx)
    sn = vec("VSIN", ty)
    cs = vec("VCOS", ty, buf=Buffer.weights)
    # independent arithmetic behind them: written while the SFU passes are in flight (for
    # 7×5, in the same cycles as VSIN's, then as VCOS's and VTANH's: vec_write_overlap)
    total = vec("VADD", tx, tz, buf=Buffer.weights)
    dif = vec("VSUB", tx, tz, buf=Buffer.activations)
    prod = vec("VMUL", tx, tz, buf=Buffer.activations)
    neg = vec("VNEG", ty, buf=Buffer.activations)
    dx = vec("VDTANH", tx, buf=Buffer.activations)
    dt = vec("VDTANH", th, buf=Buffer.optimizer)        # tanh' from the stored forward output
    sc = vec("VMUL", sn, cs, buf=Buffer.activations)    # sin·cos
    th2 = vec("VTANH", total)                           # special functions of arithmetic results
    sn2 = vec("VSIN", sc, buf=Buffer.weights)
    cs2 = vec("VCOS", total, buf=Buffer.optimizer)
    pb.emit("BARRIER")
    for name, t in (("tanh", th), ("sin", sn), ("cos", cs), ("total", total), ("dif", dif), ("prod", prod),
                    ("neg", neg), ("dx", dx), ("dtanh", dt), ("sincos", sc), ("tanh2", th2), ("sin2", sn2),
                    ("cos2", cs2)):
        pb.store(name, t)
    return pb


def sfu_chain_inputs(seed: int = 11, rows: int = 7, cols: int = 5):
    """Operands of :func:`sfu_chain_program`, ``rows·cols`` elements each (not a multiple of
    the lanes for the defaults): x for tanh covers both branches (polynomial below
    TANH_POLY_LIMIT, tiny arguments, exp/divide above, the clamp), y for sin/cos large
    arguments (range reduction up to SINCOS_MAX_ABS_INPUT and past it: NaN); both
    have ±0, subnormals, ±inf and a NaN. z (finite, nonzero) is the arithmetic
    instructions' second operand."""
    from pinta.golden import fp32 as g

    rng = np.random.default_rng(seed)
    n = rows * cols
    lim, clamp, tiny, big = (float(v) for v in (g.TANH_POLY_LIMIT, g.TANH_CLAMP, g.TINY_ARGUMENT,
                                                 g.SINCOS_MAX_ABS_INPUT))
    cx = [0.0, -0.0, 1e-39, -1.4e-45, tiny / 2, -tiny, 0.3, -lim / 2, lim, -np.nextafter(lim, 0), 0.75, -1.5,
          3.0, -np.nextafter(clamp, 0), clamp, -clamp * 2, 1e30, np.inf, -np.inf, np.nan]
    cy = [0.0, -0.0, 1e-39, -3e-42, 1e-5, 1.5707964, -3.1415927, 100.5, -1000.25, 12345.678, -30000.5, big,
          -big, np.nextafter(big, np.inf), 1e10, np.inf, -np.inf, np.nan, 7.0e3, -2.5e4]
    x = np.concatenate([np.array(cx, np.float32),
                        (rng.standard_normal(max(0, n - len(cx))) * 4).astype(np.float32)])[:n]
    y = np.concatenate([np.array(cy, np.float32),
                        (rng.uniform(-1, 1, max(0, n - len(cy))) * 10.0 ** rng.uniform(0, 4.5, max(0, n - len(cy))))
                        .astype(np.float32)])[:n]
    perm = rng.permutation(n)
    z = rng.standard_normal(n).astype(np.float32)
    z = np.where(np.abs(z) < 1e-3, np.float32(0.5), z)
    return x[perm].reshape(rows, cols), y.reshape(rows, cols), z.reshape(rows, cols)


def divsqrt_chain_program(cfg, x, y, s, z) -> ProgramBuilder:
    """VDIV and VSQRT (the unrolled divider / square root, hw/top_divsqrt.py) among other VEC
    instructions.

    VDIV x/y, VSQRT s, then VADD, VMUL and VSUB, all independent, issue back to
    back: the VSQRT's passes enter its pipeline while the VDIV's are still in the
    divider, the two share one write port and write one after the other, and the
    arithmetic passes are written in the same cycles (tests/hw/top_cases.py
    ``vec_write_overlap``). Then dependent ones: a VDIV of the root by the sum, a
    VSQRT of the quotient, a VMUL of quotient and root, a VTANH of the quotient and
    a VDTANH of the root (RAW on VDIV / VSQRT results, NaN and inf among them).

    Invalid operations (0/0, inf/inf, NaN operands, the root of a negative number)
    give NumPy's NaN, with the x86 sign bit or the operand's payload, where the
    RTL gives the canonical NaN: NaN patterns of bare primitives are not part of
    the contract (docs/vector-numerics.md §1), and the regression compares such
    lanes as "is NaN" (tests/hw/top_cases.py ``compare``).
    """
    from pinta.sim.isa import Buffer

    pb = ProgramBuilder(cfg)
    tx = pb.load_fp32(Buffer.activations, x)
    ty = pb.load_fp32(Buffer.optimizer, y)
    ts = pb.load_fp32(Buffer.weights, s)
    tz = pb.load_fp32(Buffer.gradients, z)

    vec = partial(_vec, pb)

    q = vec("VDIV", tx, ty)
    r = vec("VSQRT", ts, buf=Buffer.weights)
    total = vec("VADD", tx, tz, buf=Buffer.activations)
    prod = vec("VMUL", ty, tz, buf=Buffer.optimizer)
    dif = vec("VSUB", ts, tz, buf=Buffer.activations)
    q2 = vec("VDIV", r, total, buf=Buffer.optimizer)      # root / sum: RAW on VSQRT and VADD
    r2 = vec("VSQRT", q, buf=Buffer.weights)              # root of the quotient (negative: NaN)
    qr = vec("VMUL", q, r, buf=Buffer.activations)
    tq = vec("VTANH", q, buf=Buffer.optimizer)
    dr = vec("VDTANH", r)
    pb.emit("BARRIER")
    for name, t in (("div", q), ("sqrt", r), ("total", total), ("prod", prod), ("dif", dif), ("div2", q2),
                    ("sqrt2", r2), ("qr", qr), ("tanh", tq), ("dtanh", dr)):
        pb.store(name, t)
    return pb


def divsqrt_chain_inputs(seed: int = 13, rows: int = 7, cols: int = 5):
    """Operands of :func:`divsqrt_chain_program`, ``rows·cols`` elements each (not a multiple
    of the lanes for the defaults). x / y pair the corner cases of a divide: 0/0, ±1/±0,
    inf/inf, NaN operands, subnormal numerators, divisors and quotients (one rounding to
    the smallest subnormal, one to zero), overflow to ±inf, underflow to 0, x/inf, and a
    rounding 1/3. s has the square root's: ±0, negative numbers and a negative subnormal
    (NaN), subnormals, exact squares, ±inf, NaN, the largest finite value. z (finite,
    nonzero) is the arithmetic instructions' second operand."""
    rng = np.random.default_rng(seed)
    n = rows * cols
    tiny, big = float(np.finfo(np.float32).tiny), float(np.finfo(np.float32).max)
    sub = float(np.nextafter(np.float32(0), np.float32(1)))  # 2**-149
    pairs = [(0.0, 0.0), (-0.0, 0.0), (1.0, 0.0), (-1.0, -0.0), (2.0, -0.0), (0.0, 5.0), (3.0, 3.0),
             (np.inf, np.inf), (-np.inf, 3.0), (np.nan, 1.0), (1.0, np.nan), (7.0, np.inf), (1e-39, 3e-40),
             (-sub, 2.0), (3 * sub, 2.0), (tiny, 3.0), (1.0, big), (1.0, 1e-39), (3e38, 1e-10), (-3e38, 0.5),
             (1e-30, 1e30), (1e20, -1e-20), (1.0, 3.0), (-5.0, 1e-39)]
    roots = [0.0, -0.0, -1.0, -1e-39, 1e-39, sub, 4.0, 2.0, np.inf, -np.inf, np.nan, big, tiny, 0.25, 9.0,
             1e-10, 6.25, -7.0, 2 * sub, 1.5e-38]
    k = max(0, n - len(pairs))
    x = np.concatenate([np.array([p[0] for p in pairs], np.float32),
                        (rng.standard_normal(k) * 10.0 ** rng.uniform(-3, 3, k)).astype(np.float32)])[:n]
    y = np.concatenate([np.array([p[1] for p in pairs], np.float32),
                        (rng.standard_normal(k) * 10.0 ** rng.uniform(-3, 3, k)).astype(np.float32)])[:n]
    k = max(0, n - len(roots))
    s = np.concatenate([np.array(roots, np.float32),
                        (rng.uniform(0, 1, k) * 10.0 ** rng.uniform(-30, 30, k)).astype(np.float32)])[:n]
    perm = rng.permutation(n)
    z = rng.standard_normal(n).astype(np.float32)
    z = np.where(np.abs(z) < 1e-3, np.float32(0.5), z)
    return x[perm].reshape(rows, cols), y[perm].reshape(rows, cols), s.reshape(rows, cols), z.reshape(rows, cols)


def stein_chain_program(cfg, up, um, z) -> ProgramBuilder:
    """STEIN (two passes per L elements, both results through the arithmetic write port)
    back to back with other VEC instructions, and its hazards.

    VADD, STEIN, VMUL and VTANH issue back to back (independent), so STEIN's passes
    are written right behind VADD's and right before VMUL's; a STEIN of both results
    of the first (RAW on gdiff and gsum); right behind it a STEIN of VADD's and VMUL's
    results; a VSUB of the two; and a STEIN whose gsum overwrites ``z``, which VMUL
    and VTANH read (WAR: it waits for VTANH's done, 73 + P cycles after its issue).
    """
    from pinta.sim.isa import Buffer, Fmt

    pb = ProgramBuilder(cfg)
    tu = pb.load_fp32(Buffer.activations, up)
    tm = pb.load_fp32(Buffer.optimizer, um)
    tz = pb.load_fp32(Buffer.weights, z)

    vec = partial(_vec, pb)

    total = vec("VADD", tu, tz)
    gd, gs = pb.stein(tu, tm, buf=Buffer.gradients, buf_sum=Buffer.weights)
    prod = vec("VMUL", tm, tz, buf=Buffer.activations)
    th = vec("VTANH", tz, buf=Buffer.optimizer)
    gd2, gs2 = pb.stein(gd, gs, buf=Buffer.activations)     # RAW on both results
    gd3, gs3 = pb.stein(total, prod, buf=Buffer.gradients)  # back to back with the previous STEIN
    dif = vec("VSUB", gd2, gs3, buf=Buffer.optimizer)
    # WAR: gsum over z's words, which VMUL and VTANH read
    gd4 = pb.tensor(Buffer.gradients, Fmt.fp32, tz.rows, tz.cols)
    gs4 = pb.describe(tz.buf, Fmt.fp32, tz.addr, tz.rows, tz.cols)
    pb.use(gd4, gs4, gd3, dif)
    pb.emit("STEIN", gdiff=gd4.reg, gsum=gs4.reg, up=gd3.reg, um=dif.reg)
    pb.emit("BARRIER")
    for name, t in (("total", total), ("gdiff", gd), ("gsum", gs), ("prod", prod), ("tanh", th), ("gdiff2", gd2),
                    ("gsum2", gs2), ("gdiff3", gd3), ("gsum3", gs3), ("dif", dif), ("gdiff4", gd4), ("gsum4", gs4)):
        pb.store(name, t)
    return pb


def stein_chain_inputs(seed: int = 5, rows: int = 7, cols: int = 5):
    """up, um, z (rows×cols, finite): random values with corners in the first row and a half:
    ±0 pairs, equal and opposite pairs (exact +0 results), subnormals, sums that overflow
    to ±Inf, and a difference of subnormals. Finite, and z is 0.5 at the overflowing pairs,
    so that no inf − inf NaN (whose sign is a NumPy/x86 artefact, docs/vector-numerics.md
    §1) appears anywhere in :func:`stein_chain_program`."""
    rng = np.random.default_rng(seed)
    up = (rng.standard_normal((rows, cols)) * 10.0 ** rng.uniform(-3, 3, (rows, cols))).astype(np.float32)
    um = (rng.standard_normal((rows, cols)) * 10.0 ** rng.uniform(-3, 3, (rows, cols))).astype(np.float32)
    z = (rng.standard_normal((rows, cols)) + 0.5).astype(np.float32)
    cu = np.array([0.0, -0.0, 2.5, 1e-39, 3e38, -3e38, 7.0, -1.4e-45], np.float32)
    cm = np.array([-0.0, -0.0, 2.5, -2e-39, 3e38, -3e38, -7.0, 1.4e-45], np.float32)
    k = min(rows * cols, len(cu))
    up.reshape(-1)[:k], um.reshape(-1)[:k] = cu[:k], cm[:k]
    z.reshape(-1)[4:6] = 0.5
    return up, um, z


def deq_inputs(cfg, *, seed: int = 9, rows: int = 7, cols: int = 9, fault: bool = False):
    """SMX tensors (smx4, smx8, smx12; rows×cols, padded blocks) for :func:`deq_program`, and an
    fp32 matrix x. The block exponents reach both ends of what FP32 holds exactly: a block
    whose largest code's leading one lands on 2**127 (FP32's largest binade), blocks at the
    smallest exponent (FP32 subnormal results for exponent_bits = 8), zero blocks. With
    ``fault``, one smx12 block has exponent 127 and codes ≥ 2: values of 2**128 and more,
    which FP32 cannot hold (DEQ_INEXACT)."""
    from pinta.golden.smx import SMXTensor

    rng = np.random.default_rng(seed)
    p, q = -(-rows // 4) * 4, -(-cols // 4) * 4
    out = {}
    for bits in (4, 8, 12):
        lim = (1 << (bits - 1)) - 1
        codes = rng.integers(-lim, lim + 1, (p, q)).astype(np.int16)
        codes[rows:, :] = 0
        codes[:, cols:] = 0
        codes[:4, 4:8] = 0                                     # a zero block
        blk = np.abs(codes).reshape(p // 4, 4, q // 4, 4).max(axis=(1, 3))
        lead = np.where(blk > 0, np.floor(np.log2(np.maximum(blk, 1))), 0).astype(int)
        top = np.minimum(cfg.exponent_max, 127 - lead)          # largest exact: lead + E <= 127
        low = max(cfg.exponent_min, -149)                       # smallest exact: E >= -149
        exps = rng.integers(-40, 41, (p // 4, q // 4))
        exps[0, 0] = top[0, 0]                                  # FP32's largest binade
        exps[-1, -1] = low                                      # smallest exponent
        exps[0, -1] = low
        exps = np.clip(exps, low, top).astype(np.int16)
        if fault and bits == 12:
            codes[4:rows, 0:4] = np.where(codes[4:rows, 0:4] == 0, 5, codes[4:rows, 0:4])  # |code| >= 1 ...
            codes[4, 0] = lim                                   # ... and one of 2**10 and more
            exps[1, 0] = min(127, cfg.exponent_max)
        out[bits] = SMXTensor(codes, exps, (rows, cols), bits)
    x = (rng.standard_normal((rows, cols)) * 10.0 ** rng.uniform(-20, 20, (rows, cols))).astype(np.float32)
    return out, x


def deq_program(cfg, smx, x) -> ProgramBuilder:
    """DEQ of host-placed smx4/8/12 tensors back to back on the QNT unit (interleaved with
    ACCF-free QUANT work: QUANT of x, its DEQ, RAW), VEC consumers of the results, and,
    before them, independent work whose results are stored first.

    If a DEQ faults (DEQ_INEXACT, e.g. ``deq_inputs(fault=True)``'s smx12), the run stops
    at that DEQ's done cycle: the VNEG/STORE pair ahead of the DEQs completes, the DEQs
    and QUANT issued behind the faulting one complete unread, and the VADD that reads
    its result never issues (it waits at the head for the fault's cycle).
    """
    from pinta.sim.isa import Buffer, Fmt

    pb = ProgramBuilder(cfg)
    tx = pb.load_fp32(Buffer.activations, x)
    s4 = pb.load_smx(Buffer.weights, smx[4])
    s8 = pb.load_smx(Buffer.gradients, smx[8])
    s12 = pb.load_smx(Buffer.gradients, smx[12])
    neg = pb.tensor(Buffer.optimizer, Fmt.fp32, tx.rows, tx.cols)
    pb.use(neg, tx)
    pb.emit("VNEG", dst=neg.reg, a=tx.reg)
    pb.store("neg", neg)                                # completes before any DEQ fault
    f8 = pb.deq(s8, buf=Buffer.optimizer)
    f12 = pb.deq(s12, buf=Buffer.activations)            # the faulting one with fault=True
    f4 = pb.deq(s4, buf=Buffer.optimizer)
    q = pb.quant(tx, 8, buf=Buffer.weights)              # back to back with the DEQs
    fq = pb.deq(q, buf=Buffer.gradients)                 # RAW on the QUANT
    tot = pb.tensor(Buffer.weights, Fmt.fp32, tx.rows, tx.cols)
    pb.use(tot, f8, f12)
    pb.emit("VADD", dst=tot.reg, a=f8.reg, b=f12.reg)    # RAW on two DEQs
    err = pb.tensor(Buffer.gradients, Fmt.fp32, tx.rows, tx.cols)
    pb.use(err, fq, tx)
    pb.emit("VSUB", dst=err.reg, a=fq.reg, b=tx.reg)     # the quantization error of x
    pb.emit("BARRIER")
    for name, t in (("f4", f4), ("f8", f8), ("f12", f12), ("fq", fq), ("q", q), ("tot", tot), ("err", err)):
        pb.store(name, t)
    return pb


def broadcast_program(cfg, a, c, bs) -> ProgramBuilder:
    """VADDB, VSUBB, VMULB (row r of a meets row r div g of b) on the VEC unit, mixed with
    VADD and STEIN: b of a.rows/g rows and a's columns (g = 4; a bias row, g = a.rows; b of
    a's shape, g = 1) and one-column b (g = 2, g = 1). Back to back where independent, and
    chained (RAW) through a broadcast's result. ``bs``: {name: b} from :func:`broadcast_inputs`."""
    from pinta.sim.isa import Buffer

    pb = ProgramBuilder(cfg)
    ta = pb.load_fp32(Buffer.activations, a)
    tc = pb.load_fp32(Buffer.optimizer, c)
    tb = {k: pb.load_fp32(Buffer.weights, v) for k, v in bs.items()}

    vec = partial(_vec, pb)

    rows = vec("VADDB", ta, tb["rows"])                       # g = 4
    bias = vec("VSUBB", ta, tb["bias"])                       # g = a.rows: a bias row
    col = vec("VMULB", tc, tb["col"], buf=Buffer.activations)  # one column, g = 2
    same = vec("VADDB", tc, tb["full"], buf=Buffer.optimizer)  # b of a's shape: the plain VADD
    gd, gs = pb.stein(rows, col, buf=Buffer.gradients)         # RAW on two broadcasts
    tot = vec("VADD", bias, ta, buf=Buffer.activations)
    col1 = vec("VMULB", tot, tb["col1"], buf=Buffer.optimizer)  # one column, g = 1, RAW
    again = vec("VSUBB", gs, tb["bias"], buf=Buffer.activations)
    pb.emit("BARRIER")
    for name, t in (("rows", rows), ("bias", bias), ("col", col), ("same", same), ("gdiff", gd), ("gsum", gs),
                    ("tot", tot), ("col1", col1), ("again", again)):
        pb.store(name, t)
    return pb


def broadcast_inputs(seed: int = 13, rows: int = 8, cols: int = 16):
    """a, c (rows×cols; cols a multiple of the lanes of every preset) and the b operands of
    :func:`broadcast_program`: "rows" (rows/4 × cols), "bias" (1 × cols), "full" (rows × cols),
    "col" (rows/2 × 1), "col1" (rows × 1). Finite, so no inf − inf or inf·0 NaN appears."""
    rng = np.random.default_rng(seed)

    def mat(r, k, scale=1.0):
        return (rng.standard_normal((r, k)) * scale).astype(np.float32)

    a, c = mat(rows, cols, 3.0), mat(rows, cols)
    a[0, :4] = np.array([0.0, -0.0, 1e-39, -2.5e-39], np.float32)
    bs = {"rows": mat(rows // 4, cols), "bias": mat(1, cols, 2.0), "full": mat(rows, cols),
          "col": mat(rows // 2, 1, 4.0), "col1": mat(rows, 1, 0.5)}
    bs["bias"][0, :2] = np.array([-0.0, 0.0], np.float32)
    return a, c, bs


def _codes_for_sum(target: int, k: int, a_max: int, b_col) -> np.ndarray:
    """Row codes a (length k, |a| <= a_max) with a · b_col = target for ``b_col`` =
    (b, b, ..., b, 1): the last code carries target mod b, the others share the rest."""
    b = int(b_col[0])
    sign, t = (1, target) if target >= 0 else (-1, -target)
    last = t % b
    q = (t - last) // b
    a = np.zeros(k, dtype=np.int64)
    full, rest = divmod(q, a_max)
    if full + (rest > 0) > k - 1:
        raise ValueError(f"{target} needs more than {k - 1} products of {a_max}·{b}")
    a[:full] = a_max
    if rest:
        a[full] = rest
    a[k - 1] = last
    return sign * a


def accf_inputs(cfg, *, seed: int = 17, overflow: bool = False):
    """SMX operands (a: smx12 6×K, b: smx8 K×3, K = 260) for :func:`accf_program` whose
    product reaches the top of FP32 exactly: output (0, 0) is FP32's largest value
    (2**24 − 1)·2**104, (1, 0) its negative, (4, 0) = (2**26 − 3)·2**102, which lies
    just below the tie between the largest value and 2**128 and rounds down to it; row 5
    is −(row 4), or with ``overflow`` (2**26 − 2)·2**102, exactly that tie, which rounds
    to even, i.e. to 2**128: past FP32's range (ACCF_OVERFLOW). Rows 2, 3 and columns 1,
    2 hold ordinary values. Block exponents: a 52 (block row 0) and 50 (block row 1),
    b 52, so every block sum is exact (no alignment)."""
    from pinta.golden.smx import SMXTensor

    rng = np.random.default_rng(seed)
    k, rows, cols = 260, 6, 3
    a_max, b_max = (1 << 11) - 1, (1 << 7) - 1
    b = np.zeros((k, cols), dtype=np.int64)
    b[:, 0] = b_max
    b[k - 1, 0] = 1
    b[:8, 1:] = rng.integers(-b_max, b_max + 1, (8, cols - 1))   # few terms: no overflow there
    a = np.zeros((rows, k), dtype=np.int64)
    a[0] = _codes_for_sum((1 << 24) - 1, k, a_max, b[:, 0])
    a[1] = -a[0]
    a[2:4] = rng.integers(-300, 301, (2, k))
    a[4] = _codes_for_sum((1 << 26) - 3, k, a_max, b[:, 0])
    a[5] = _codes_for_sum((1 << 26) - 2, k, a_max, b[:, 0]) if overflow else -a[4]

    def smx(codes, exps, bits):
        r, c = codes.shape
        p, q = -(-r // 4) * 4, -(-c // 4) * 4
        padded = np.zeros((p, q), dtype=np.int16)
        padded[:r, :c] = codes
        return SMXTensor(padded, np.asarray(exps, dtype=np.int16), (r, c), bits)

    ea = np.repeat(np.array([[52], [50]]), -(-k // 4), axis=1)
    eb = np.full((-(-k // 4), 1), 52)
    x = rng.standard_normal((3, 5)).astype(np.float32)
    return smx(a, ea, 12), smx(b, eb, 8), x


def accf_program(cfg, a, b, x) -> ProgramBuilder:
    """GEMM (i12x8) then ACCF of a product that reaches the top of FP32 (:func:`accf_inputs`),
    a VNEG consumer of the ACCF result, and independent work stored before them.

    If the ACCF overflows (``accf_inputs(overflow=True)``), the run stops at its done cycle
    with ACCF_OVERFLOW: the work ahead of it (including the accumulator's STORE) completes,
    and the VNEG that reads the ACCF result never issues."""
    from pinta.sim.isa import Buffer, MacMode

    pb = ProgramBuilder(cfg)
    tx = pb.load_fp32(Buffer.activations, x)
    pb.store("neg", _vec(pb, "VNEG", tx, buf=Buffer.optimizer))
    ta = pb.load_smx(Buffer.weights, a)
    tb = pb.load_smx(Buffer.activations, b)
    acc = pb.gemm(ta, tb, MacMode.i12x8)
    pb.store("acc", acc)
    f = pb.accf(acc, buf=Buffer.optimizer)
    nf = _vec(pb, "VNEG", f, buf=Buffer.activations)
    pb.store("f", f)
    pb.store("nf", nf)
    return pb


def adam_chain_program(cfg, a: dict, b: dict, x) -> ProgramBuilder:
    """ADAM (hw/top_adam.py) on two parameter tensors among other VEC instructions.

    ``a``, ``b``: {"w", "m", "v", "g", "s", "step", "total"} (s: the 1×8 scalar block),
    ``a`` with a second gradient "g2" for a second step; ``x``: operand of the others.
    After the LOADs and a BARRIER: a VADD, then ADAM on ``a`` issued the cycle the VADD's
    occupancy ends (the arithmetic port's writes of both meet back to back), ADAM on ``b``
    right behind it (its passes follow a's; both write w through the VSIN/VCOS port), a
    VSIN right behind that (its writes follow b's w writes on the shared port) and a VADD;
    then ADAM's second step on ``a`` (RAW on w, m, v and s). Everything is stored.
    """
    from pinta.sim.isa import Buffer

    pb = ProgramBuilder(cfg)
    ta = {k: pb.load_fp32(Buffer.optimizer, a[k]) for k in ("w", "m", "v", "s")}
    tb = {k: pb.load_fp32(Buffer.weights, b[k]) for k in ("w", "m", "v", "s")}
    ga, ga2, gb = (pb.load_fp32(Buffer.gradients, g) for g in (a["g"], a["g2"], b["g"]))
    tx = pb.load_fp32(Buffer.activations, x)
    pb.emit("BARRIER")

    def adam(t, g, step, total):
        pb.use(t["w"], t["m"], t["v"], g, t["s"])
        pb.emit("ADAM", w=t["w"].reg, m=t["m"].reg, v=t["v"].reg, g=g.reg, s=t["s"].reg, step=step, total=total)

    vec = partial(_vec, pb)
    pre = vec("VADD", tx, tx, buf=Buffer.activations)
    adam(ta, ga, a["step"], a["total"])
    adam(tb, gb, b["step"], b["total"])
    sn = vec("VSIN", tx, buf=Buffer.activations)
    ad = vec("VADD", tx, pre, buf=Buffer.activations)
    adam(ta, ga2, a["step"] + 1, a["total"])
    pb.emit("BARRIER")
    for name, t in (*((f"a_{k}", t) for k, t in ta.items()), *((f"b_{k}", t) for k, t in tb.items()),
                    ("pre", pre), ("sin", sn), ("add", ad)):
        pb.store(name, t)
    return pb


def adam_chain_inputs(seed: int = 17, shape_a=(7, 5), shape_b=(1, 9)):
    """Operands of :func:`adam_chain_program` (element counts not multiples of the lanes; ``b``
    a single row).

    ``a``: random normal w and gradients; m, v and the beta powers after three golden Adam
    steps (so step 3 of 10, non-trivial beta^t), lr0 = 1e-3, betas 0.9 / 0.999, eps = 1e-8;
    with edge lanes: g = 0, g = ±1e20 (g·g overflows: v = inf, u = 0), g = 1e-30 (g·g
    underflows), a subnormal v, v = 0 with m = 0 (u = 0 / eps). ``b``: step 0 of 7 from
    zero moments and beta powers 1.0, other hyperparameters (0.01, 0.8, 0.99, 1e-6), g
    spanning magnitudes 1e-6 .. 1e6 and a 0."""
    from pinta.golden.adam import AdamState, adam_init, adam_step, linear_decay_lr

    rng = np.random.default_rng(seed)

    def normal(shape, scale=1.0):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    hyper_a = np.float32([1e-3, 0.9, 0.999, 1e-8])
    w = normal(shape_a)
    st = adam_init(shape_a)
    for k in range(3):
        w, st = adam_step(w, normal(shape_a, 0.1), st, linear_decay_lr(hyper_a[0], k, 10), *hyper_a[1:])
    m_, v_ = st.m.reshape(-1).copy(), st.v.reshape(-1).copy()
    g, g2 = normal(shape_a, 0.1).reshape(-1), normal(shape_a, 0.1).reshape(-1)
    g[0], g[1], g[2], g[3] = 0.0, 1e20, -1e20, 1e-30
    v_[4], g[4] = 1e-40, 0.0
    m_[5], v_[5], g[5] = 0.0, 0.0, 0.0
    g2[6] = 0.0
    s_a = np.float32([[*hyper_a, st.beta1_pow, st.beta2_pow, 0, 0]])
    a = {"w": w, "m": m_.reshape(shape_a), "v": v_.reshape(shape_a), "g": g.reshape(shape_a),
         "g2": g2.reshape(shape_a), "s": s_a, "step": 3, "total": 10}
    n_b = int(np.prod(shape_b))
    gb = (rng.standard_normal(n_b) * 10.0 ** rng.uniform(-6, 6, n_b)).astype(np.float32)
    gb[n_b // 2] = 0.0
    b = {"w": normal(shape_b), "m": np.zeros(shape_b, np.float32), "v": np.zeros(shape_b, np.float32),
         "g": gb.reshape(shape_b), "s": np.float32([[0.01, 0.8, 0.99, 1e-6, 1.0, 1.0, 0, 0]]), "step": 0, "total": 7}
    assert isinstance(st, AdamState)
    x = normal(shape_a, 2.0)
    return a, b, x


#: The RNG instructions of :func:`rng_chain_program`: (name, rows, cols, seed, stream, ctr, scale).
#: Odd and even element counts, counts that are not a multiple of any preset's lanes, a 1×1 and
#: single-row dst; all-ones seed and stream, the last counters below 2**32 (the generator refuses
#: to wrap), an odd first counter; scales: 1, negative, subnormal (results underflow), large
#: (some samples overflow to ±inf), −0.
RNG_CHAIN = (
    ("z", 7, 5, 0x2545F491, 3, 0, 1.0),
    ("one", 1, 1, 0xFFFFFFFF, 65535, 2**32 - 2, -0.375),
    ("row", 1, 10, 0, 0, 77, 1e-39),
    ("big", 4, 4, 0x9E3779B9, 1, 2**32 - 16, 3.0e38),
    ("zero", 3, 3, 12345, 65535, 1001, -0.0),
)


def rng_chain_program(cfg, x) -> ProgramBuilder:
    """RNG (hw/top_rng.py: keys, Box-Muller pairs, scale) with other VEC instructions.

    The RNGs of :data:`RNG_CHAIN` issue as early as the VEC unit allows, the last three
    back to back (each in the cycle the previous one's occupancy ends, so its keys leave
    their pipeline in the cycle after the previous one's last pass entered NORMAL), with
    a VADD of ``x`` after the first whose passes are written long before the RNG's; a
    VTANH, VTANH, VDIV chain whose VDIV passes are written in the same cycles as RNG
    passes (tests/hw/top_cases.py ``vec_write_overlap``); then consumers of an RNG
    result (RAW: VMUL by ``x``, VTANH), an RNG into the tensor the VTANH in flight reads
    (WAR) and an RNG over part of that one's result while it is in flight (WAW), each
    waiting for its predecessor's done.
    """
    from pinta.sim.isa import Buffer, Fmt

    pb = ProgramBuilder(cfg)
    tx = pb.load_fp32(Buffer.activations, x)

    def rng(name, rows, cols, seed, stream, ctr, scale, out=None):
        out = pb.tensor(Buffer.gradients, Fmt.fp32, rows, cols) if out is None else out
        pb.use(out)
        pb.emit("RNG", dst=out.reg, seed=seed, stream=stream, ctr=ctr, scale=_f32_bits(scale))
        return out

    outs = {}
    for k, spec in enumerate(RNG_CHAIN):
        outs[spec[0]] = rng(*spec)
        if k == 0:
            outs["sum"] = _vec(pb, "VADD", tx, tx, buf=Buffer.optimizer)  # between two RNGs
    # a chain whose last instruction (VDIV, RAW on a VTANH of a VTANH) is written while the
    # RNGs' passes are: the RNG's write port and another in the same cycles
    th = _vec(pb, "VTANH", _vec(pb, "VTANH", tx, buf=Buffer.optimizer), buf=Buffer.optimizer)
    outs["quot"] = _vec(pb, "VDIV", th, tx, buf=Buffer.optimizer)
    outs["prod"] = _vec(pb, "VMUL", outs["z"], tx, buf=Buffer.weights)   # RAW on an RNG
    outs["tanh"] = _vec(pb, "VTANH", outs["z"], buf=Buffer.weights)      # RAW; a long read of z
    outs["war"] = rng("war", 7, 5, 7, 8, 9, 2.0, out=outs["z"])          # WAR on z (VTANH), WAW
    z = outs["z"]
    head = pb.describe(z.buf, Fmt.fp32, z.addr, 1, 10)                   # z's first 10 elements
    outs["waw"] = rng("waw", 1, 10, 1, 2, 3, 0.5, out=head)              # WAW on war's result
    pb.emit("BARRIER")
    for name, t in outs.items():
        if name != "z":  # overwritten: stored as war (and waw)
            pb.store(name, t)
    return pb


def rng_chain_inputs(seed: int = 17, rows: int = 7, cols: int = 5):
    """x (rows×cols, finite) of :func:`rng_chain_program`: the other VEC instructions' operand."""
    return (np.random.default_rng(seed).standard_normal((rows, cols)) * 2).astype(np.float32)


def _reduce(pb: ProgramBuilder, mnemonic: str, a, rows: int, cols: int, buf=None, **fields):
    """Emit a VSUM / VRED of ``a`` into a fresh rows×cols FP32 tensor in ``buf`` (default: gradients)."""
    from pinta.sim.isa import Buffer, Fmt

    out = pb.tensor(Buffer.gradients if buf is None else buf, Fmt.fp32, rows, cols)
    pb.use(out, a)
    pb.emit(mnemonic, dst=out.reg, a=a.reg, **fields)
    return out


def reduce_chain_program(cfg, x, y, z, c, s) -> ProgramBuilder:
    """VSUM (both axes) and VRED (view v0) on the reduction engine, mixed with element-wise
    VEC instructions so that their passes and the engine's ops follow each other on the
    same ports.

    ``x`` (odd element count, reduced lengths not powers of two, > L and < L), ``y``, a
    one-row ``z`` (axis 0: a one-element tree, a copy), a one-column ``c`` (axis 1: a copy;
    axis 0: a mode-B tree), a small ``s`` (reduced length < L); VRED over both axes (one
    sum of everything) and over a unit axis (a copy); a VADD / VMUL / VNEG right before
    and after reductions (back to back), and reductions of VEC results (RAW).
    """
    from pinta.sim.isa import Buffer

    pb = ProgramBuilder(cfg)
    tx = pb.load_fp32(Buffer.activations, x)
    ty = pb.load_fp32(Buffer.optimizer, y)
    tz = pb.load_fp32(Buffer.weights, z)
    tc = pb.load_fp32(Buffer.weights, c)
    ts = pb.load_fp32(Buffer.activations, s)
    red = partial(_reduce, pb)
    vec = partial(_vec, pb)

    neg = vec("VNEG", tx)                                        # a pass right before the first reduction
    x0 = red("VSUM", tx, 1, x.shape[1], axis=0)
    x1 = red("VSUM", tx, x.shape[0], 1, axis=1, buf=Buffer.optimizer)
    sq = vec("VMUL", ty, ty, buf=Buffer.activations)             # issued the cycle the engine's occupancy ends
    y1 = red("VSUM", ty, y.shape[0], 1, axis=1)
    y0 = red("VSUM", ty, 1, y.shape[1], axis=0, buf=Buffer.weights)
    z0 = red("VSUM", tz, 1, z.shape[1], axis=0)
    z1 = red("VSUM", tz, 1, 1, axis=1)
    c0 = red("VSUM", tc, 1, 1, axis=0, buf=Buffer.optimizer)
    c1 = red("VSUM", tc, c.shape[0], 1, axis=1)
    s1 = red("VSUM", ts, s.shape[0], 1, axis=1, buf=Buffer.weights)
    s0 = red("VSUM", ts, 1, s.shape[1], axis=0)
    xall = red("VRED", tx, 1, 1, view=0, axis=0, span=1)        # rows and columns merged: one tree
    xcopy = red("VRED", tx, *x.shape, view=0, axis=2, span=0, buf=Buffer.optimizer)  # a unit axis: copies
    sq0 = red("VSUM", sq, 1, y.shape[1], axis=0)                 # RAW on the VMUL
    neg1 = red("VSUM", neg, x.shape[0], 1, axis=1, buf=Buffer.activations)
    back = vec("VADD", x1, neg1)                                 # RAW on two reductions
    pb.emit("BARRIER")
    for name, t in (("neg", neg), ("x0", x0), ("x1", x1), ("sq", sq), ("y1", y1), ("y0", y0), ("z0", z0),
                    ("z1", z1), ("c0", c0), ("c1", c1), ("s1", s1), ("s0", s0), ("xall", xall), ("xcopy", xcopy),
                    ("sq0", sq0), ("neg1", neg1), ("back", back)):
        pb.store(name, t)
    return pb


def vred_view_program(cfg, x, y) -> ProgramBuilder:
    """VRED through identity-permutation view registers (v1..v7): the engine reads the
    source in its own order and takes the view's dims (hw/top_reduce.py cmd_reduce_dims).

    ``x`` (6×8) through (2, 3, 4, 2): the middle axes merged (mode A, inner 2), the last
    axis (mode B, 24 trees of 2), the first three merged (one 24-row tree per inner
    element); through (48,): one tree of everything; through (3, 1, 16): a unit axis (a
    copy); ``y`` (5×9) through (5, 9) with span over both, and (1, 5, 9) over the middle
    axis (mode A, 9 columns); a VRED of a VRED (RAW) and a VADD right behind reductions.
    """
    from pinta.sim.isa import Buffer

    pb = ProgramBuilder(cfg)
    tx = pb.load_fp32(Buffer.activations, x)
    ty = pb.load_fp32(Buffer.optimizer, y)
    red = partial(_reduce, pb)
    v4 = pb.view((2, 3, 4, 2), (0, 1, 2, 3))
    vflat = pb.view((48,), (0,))
    vcopy = pb.view((3, 1, 16), (0, 1, 2))
    vy = pb.view((1, 5, 9), (0, 1, 2))
    mid = red("VRED", tx, 2, 2, view=v4, axis=1, span=1)
    last = red("VRED", tx, 4, 6, view=v4, axis=3, span=0, buf=Buffer.optimizer)
    first = red("VRED", tx, 1, 2, view=v4, axis=0, span=2)
    total = red("VRED", tx, 1, 1, view=vflat, axis=0, span=0, buf=Buffer.weights)
    copy = red("VRED", tx, 3, 16, view=vcopy, axis=1, span=0)
    ycol = red("VRED", ty, 1, 9, view=vy, axis=1, span=0, buf=Buffer.weights)
    yall = red("VRED", ty, 1, 1, view=vy, axis=1, span=1)
    again = red("VRED", last, 1, 6, view=pb.view((4, 6), (0, 1)), axis=0, span=0)   # RAW on a VRED
    back = _vec(pb, "VADD", ycol, ycol)
    pb.emit("BARRIER")
    for name, t in (("mid", mid), ("last", last), ("first", first), ("total", total), ("copy", copy),
                    ("ycol", ycol), ("yall", yall), ("again", again), ("back", back)):
        pb.store(name, t)
    return pb


def reduce_chain_inputs(seed: int = 21, rows: int = 7, cols: int = 5):
    """x (rows×cols), y (5×9), z (1×6), c (9×1), s (2×3): random values spanning many binades,
    with values that make the order matter: large cancelling pairs (1e30, −1e30 and a 1 that
    survives only in one order), subnormals that add up to a normal, all −0.0 columns (kept by
    a power-of-two count, made +0.0 by the padding), ±Inf, Inf − Inf, NaN."""
    rng = np.random.default_rng(seed)

    def rand(r, c_):
        return (rng.standard_normal((r, c_)) * 10.0 ** rng.uniform(-4, 4, (r, c_))).astype(np.float32)

    x, y, z, c, s = rand(rows, cols), rand(5, 9), rand(1, 6), rand(9, 1), rand(2, 3)
    f = np.float32
    x[:, 0] = [1e30, 1.0, -1e30, 3.0, 1e-3, -1.0, 2.0][:rows]            # cancels in the tree's order
    x[:, 1] = -0.0                                                          # 7 rows: padded, +0.0
    x[0, 2], x[4, 2] = f(1e-39), f(-3e-39)                                 # subnormals
    x[2, 3], x[5, 3] = np.inf, -np.inf                                     # Inf - Inf: NaN
    x[3, 4] = np.nan
    x[6, :] = [-0.0, 1e-45, -1e-45, 3e38, 3e38][:cols]                     # a row with an overflow to Inf
    y[:4, 0] = -0.0                                                         # y axis 0 on 5 rows: padded
    y[1, :8] = [-0.0] * 8                                                   # y row 1: 8 zeros and one value
    y[2, :] = [1e20, 7.0, -1e20, 1e-40, 2e-40, -7.0, 5.0, 0.0, -0.0]
    y[3, :] = [np.inf] + [1.0] * 8
    z[0, :3] = [-0.0, np.nan, 1e-45]                                        # copies: -0.0 and NaN kept
    c[:, 0] = [1e38, 1e38, 1e38, 1e38, -1e38, -1e38, -1e38, -1e38, 1e-45]  # overflows only in some orders
    s[0, :] = [-0.0, -0.0, -0.0]
    return x, y, z, c, s


def _quantr(pb: ProgramBuilder, dst, src, row: int, view: int = 0) -> None:
    pb.use(dst, src)
    pb.emit("QUANTR", dst=dst.reg, src=src.reg, view=view, row=row)


def quantr_inputs(seed: int = 21):
    """fp32 sources of :func:`quantr_program`: row tiles of very different scales (so the
    tiles' block exponents differ), two GEMM operands and a second GEMM's weights."""
    rng = np.random.default_rng(seed)

    def mat(r, c, scale):
        return (rng.standard_normal((r, c)) * scale).astype(np.float32)

    return {"a": mat(4, 16, 3.0), "b": mat(3, 8, 1e-3), "c": mat(4, 8, 50.0), "x": mat(8, 4, 1.0),
            "w": mat(4, 8, 0.5), "v": mat(4, 6, 1.0), "u": mat(8, 5, 1.0)}


def quantr_program(cfg, inp: dict) -> ProgramBuilder:
    """QUANTR with the identity view (row tiles of an SMX operand, as the training
    compiler builds its weight-gradient operands), then GEMMs that consume the tiled operands.

    * ``qa`` (smx8, 22×4): a 4×16 fp32 source as rows 0..15 (a reshape: 16 rows of dst's 4
      columns) and a 3×8 source as rows 16..21 (a tile of 6 rows, not whole blocks, ending at
      dst's last row), back to back;
    * ``qb`` (smx12, 12×8): an accumulator (a GEMM result, 8×8) as rows 4..11, then a 4×8 fp32
      source as rows 0..3 right behind it (the tiles' order is not the rows');
    * a QUANT and a QUANTR back to back on the QNT unit, the QUANTR's consumer (a GEMM)
      waiting for its done (RAW), and a QUANTR that overwrites a tile that a GEMM in flight
      still reads (WAR);
    * the tiled operands, the GEMMs' accumulators and their STOREs.
    """
    from pinta.sim.isa import Buffer, Fmt, MacMode

    pb = ProgramBuilder(cfg)
    ld = {k: pb.load_fp32(Buffer.activations if k in "abcx" else Buffer.optimizer, v) for k, v in inp.items()}
    # qa and qb over words that hold other data (a LOAD): a tile writes its records and
    # exponent slots only, the rest of the words (the last exponent word's unused slots
    # included) keep what they hold
    junk = pb.load_fp32(Buffer.weights, np.arange(1, 65, dtype=np.float32).reshape(2, 32))
    qa = pb.describe(Buffer.weights, Fmt.smx8, junk.addr, 22, 4)
    qb = pb.describe(Buffer.weights, Fmt.smx12, junk.addr + qa.descriptor(cfg).words, 12, 8)
    assert qb.addr + qb.descriptor(cfg).words <= junk.addr + junk.descriptor(cfg).words
    _quantr(pb, qa, ld["a"], 0)
    _quantr(pb, qa, ld["b"], 16)
    # an accumulator source: Q(x)·Q(w), 8×8
    acc = pb.gemm(pb.quant(ld["x"], 8, buf=Buffer.gradients), pb.quant(ld["w"], 8, buf=Buffer.gradients),
                  MacMode.i8x8, buf=Buffer.gradients)
    _quantr(pb, qb, acc, 4)
    _quantr(pb, qb, ld["c"], 0)
    # consumers: qa (22×4) · Q(v) (4×6), and qb (12×8) · Q(u) (8×5) in INT12 × INT8
    qv = pb.quant(ld["v"], 8, buf=Buffer.gradients)
    y1 = pb.gemm(qa, qv, MacMode.i8x8, buf=Buffer.gradients)
    y2 = pb.gemm(qb, pb.quant(ld["u"], 8, buf=Buffer.gradients), MacMode.i12x8, buf=Buffer.gradients)
    # WAR: rows 0..3 of qb rewritten (from the first 32 elements of a, seen as 4×8) while
    # the GEMM above still reads qb
    _quantr(pb, qb, pb.describe(Buffer.activations, Fmt.fp32, ld["a"].addr, 4, 8), 0)
    pb.emit("BARRIER")
    for name, t in (("qa", qa), ("qb", qb), ("y1", y1), ("y2", y2)):
        pb.store(name, t)
    return pb


def view_chain_inputs(seed: int = 23):
    """fp32 sources of :func:`view_chain_program` (scales differ per source, so the blocks'
    exponents differ) and the consuming GEMMs' weights."""
    rng = np.random.default_rng(seed)

    def mat(r, c, scale):
        return (rng.standard_normal((r, c)) * scale).astype(np.float32)

    x = mat(8, 16, 2.0)
    x[3] *= 1e-3          # one point's row much smaller: its blocks' exponents differ
    return {"x": x, "x2": mat(8, 16, 40.0), "d": mat(4, 8, 1.0), "s": mat(5, 8, 7.0), "u": mat(3, 32, 0.1),
            "g": mat(2, 32, 3.0), "w": mat(4, 6, 1.0), "w5": mat(5, 4, 1.0), "w8": mat(8, 3, 1.0),
            "w16": mat(16, 4, 1.0)}


def view_chain_program(cfg, inp: dict) -> ProgramBuilder:
    """QUANT and QUANTR through views (the TT engine's address generation) from fp32 sources,
    GEMMs consuming the results, and their STOREs.

    * the TT forward's x view, (t, M1, M2) → (0, 2, 1) with t = 8, M1 = M2 = 4: a QUANT
      (block columns are 4-word windows), and the same view as two QUANTR tiles (rows 0 and
      32 of one operand; the compiler's weight-gradient tiles), back to back;
    * the TT chain's (2, 2, 2, 4) → (0, 2, 1, 3) (block rows are the windows);
    * a 5×8 transpose (5 columns: padded blocks), and (3, 4, 8) → (0, 2, 1) (an outer
      axis of 3);
    * the compiler's tq and dtq views ((t, M2, N1, r) → (0, 2, 3, 1), (t, N1, r, M2) →
      (0, 3, 1, 2)) on fp32 sources, and (2, 4, 4, 2) → (0, 3, 1, 2), whose windows start
      on odd elements;
    * the identity view (v0) in between, and GEMMs reading every result.
    """
    from pinta.sim.isa import Buffer, Fmt, MacMode

    pb = ProgramBuilder(cfg)
    A, W, G = Buffer.activations, Buffer.weights, Buffer.gradients
    ld = {k: pb.load_fp32(Buffer.optimizer if k.startswith("w") else A, v) for k, v in inp.items()}
    out = {}
    # TT forward x view: QUANT, then the same view as QUANTR tiles (rows 0 and 32 of xt)
    vx = pb.view((8, 4, 4), (0, 2, 1))
    out["xq"] = pb.quant(ld["x"], 8, 32, 4, view=vx, buf=W)
    xt = pb.tensor(W, Fmt.smx8, 64, 4)
    _quantr(pb, xt, ld["x2"], 0, view=vx)
    _quantr(pb, xt, ld["x"], 32, view=vx)
    out["xt"] = xt
    out["dq"] = pb.quant(ld["d"], 12, 4, 8, view=pb.view((2, 2, 2, 4), (0, 2, 1, 3)), buf=W)
    out["sq"] = pb.quant(ld["s"], 8, 8, 5, view=pb.view((5, 8), (1, 0)), buf=W)
    out["id"] = pb.quant(ld["s"], 8, buf=W)                      # identity, between views
    out["uq"] = pb.quant(ld["u"], 8, 24, 4, view=pb.view((3, 4, 8), (0, 2, 1)), buf=W)
    out["tq"] = pb.quant(ld["x2"], 8, 16, 8, view=pb.view((4, 4, 4, 2), (0, 2, 3, 1)), buf=W)
    out["dtq"] = pb.quant(ld["x"], 12, 16, 8, view=pb.view((4, 4, 2, 4), (0, 3, 1, 2)), buf=W)
    out["gq"] = pb.quant(ld["g"], 4, 4, 16, view=pb.view((2, 4, 4, 2), (0, 3, 1, 2)), buf=W)
    qw = {k: pb.quant(ld[k], 4 if k == "w16" else 8, buf=G) for k in ("w", "w5", "w8", "w16")}
    out["y_xq"] = pb.gemm(out["xq"], qw["w"], MacMode.i8x8, buf=G)
    out["y_xt"] = pb.gemm(xt, qw["w"], MacMode.i8x8, buf=G)
    out["y_sq"] = pb.gemm(out["sq"], qw["w5"], MacMode.i8x8, buf=G)
    out["y_dq"] = pb.gemm(out["dq"], qw["w8"], MacMode.i12x8, buf=G)
    out["y_gq"] = pb.gemm(out["gq"], qw["w16"], MacMode.i4x4, buf=G)
    pb.emit("BARRIER")
    for name, t in out.items():
        pb.store(name, t)
    return pb


def view_pairs_program(cfg, inp: dict) -> ProgramBuilder:
    """QUANT and QUANTR through *pair windows* (hw/top_view.py: a radix-2 innermost digit
    inside an even radix, offsets {0, S1, S2, S1 + S2} within 4 words), from fp32 sources:

    * the TT chain backward's (4, 2, 2, 2) → (0, 2, 1, 3) on an 8×4 tile, as a QUANTR (the
      compiler's form, over an identity QUANT of the same source) and as a QUANT;
    * (2, 2, 2, 2) → (0, 1, 3, 2) (offsets {0, 2, 1, 3}, not increasing);
    * (2, 2, 2, 2) → (3, 2, 1, 0) (the block columns are the pair windows);
    * (4, 2, 2, 2) → (0, 3, 2, 1) (S1 + S2 = 6, the widest pair window; row offsets
      0, 1, 8, 9, ...: windows that start on odd elements);
    * GEMMs reading the results, and their STOREs.
    """
    from pinta.sim.isa import Buffer, MacMode

    pb = ProgramBuilder(cfg)
    A, W, G = Buffer.activations, Buffer.weights, Buffer.gradients
    ld = {k: pb.load_fp32(Buffer.optimizer if k.startswith("w") else A, v) for k, v in inp.items()}
    out = {}
    vc = pb.view((4, 2, 2, 2), (0, 2, 1, 3))
    # the tile's destination is written first (a QUANTR leaves its exponent word's other
    # slots as they are, so a fresh tensor would hold whatever the buffer held)
    ct = pb.quant(ld["c"], 12, buf=W)
    _quantr(pb, ct, ld["c"], 0, view=vc)
    out["ct"] = ct
    out["cq"] = pb.quant(ld["c"], 8, 8, 4, view=vc, buf=W)
    out["pq"] = pb.quant(ld["p"], 8, 4, 4, view=pb.view((2, 2, 2, 2), (0, 1, 3, 2)), buf=W)
    out["rq"] = pb.quant(ld["p"], 12, 4, 4, view=pb.view((2, 2, 2, 2), (3, 2, 1, 0)), buf=W)
    out["wq"] = pb.quant(ld["c2"], 8, 8, 4, view=pb.view((4, 2, 2, 2), (0, 3, 2, 1)), buf=W)
    qw = pb.quant(ld["w"], 8, buf=G)
    out["y_ct"] = pb.gemm(ct, qw, MacMode.i12x8, buf=G)
    out["y_cq"] = pb.gemm(out["cq"], qw, MacMode.i8x8, buf=G)
    out["y_rq"] = pb.gemm(out["rq"], qw, MacMode.i12x8, buf=G)
    out["y_wq"] = pb.gemm(out["wq"], qw, MacMode.i8x8, buf=G)
    pb.emit("BARRIER")
    for name, t in out.items():
        pb.store(name, t)
    return pb


def view_pairs_inputs(seed: int = 29):
    """fp32 sources of :func:`view_pairs_program`: ``c`` (8×4) with one row 1e-3 smaller (its
    blocks' exponents differ), ``c2`` (1×32, a larger scale), ``p`` (4×4), weights ``w``
    (4×3)."""
    rng = np.random.default_rng(seed)

    def mat(r, c, scale):
        return (rng.standard_normal((r, c)) * scale).astype(np.float32)

    c = mat(8, 4, 3.0)
    c[5] *= 1e-3
    return {"c": c, "c2": mat(1, 32, 50.0), "p": mat(4, 4, 0.5), "w": mat(4, 3, 1.0)}


def acc_view_program(cfg, inp: dict) -> ProgramBuilder:
    """QUANT and QUANTR of accumulator sources through the TT backward's dtq view,
    (t, N1, r, M2) → (0, 3, 1, 2) with N1 = M2 = 4, r = 2 (hw/top_gather.py
    acc_view_split: each output block column is 4 consecutive words of one record):

    * a GEMM x(16×4) · w(4×8) = tacc (16×8, t = 4), whose two block columns have
      exponents ~10⁷ apart (w's columns 0..3 scaled 10⁻⁴, 4..7 scaled 10³), so every
      output block aligns two records' values; QUANT of tacc through the view (smx8), and
      the same as a QUANTR tile into rows 8..23 of a 24×8 smx12 operand over LOADed data;
    * t = 2 (an 8×8 accumulator) through (2, 4, 2, 4) → (0, 3, 1, 2), smx4;
    * the identity QUANT of tacc in between; GEMMs reading the results; STOREs.
    """
    from pinta.sim.isa import Buffer, Fmt, MacMode

    pb = ProgramBuilder(cfg)
    A, W, G = Buffer.activations, Buffer.weights, Buffer.gradients
    qx = pb.quant(pb.load_fp32(A, inp["x"]), 8, buf=W)
    qx2 = pb.quant(pb.load_fp32(A, inp["x2"]), 8, buf=W)
    qw = pb.quant(pb.load_fp32(Buffer.optimizer, inp["w"]), 8, buf=W)
    tacc = pb.gemm(qx, qw, MacMode.i8x8, buf=G)                      # 16×8
    tacc2 = pb.gemm(qx2, qw, MacMode.i8x8, buf=G)                    # 8×8
    out = {}
    v4 = pb.view((4, 4, 2, 4), (0, 3, 1, 2))
    out["dq"] = pb.quant(tacc, 8, 16, 8, view=v4, buf=A)
    out["id"] = pb.quant(tacc, 8, buf=A)
    tile = pb.quant(pb.load_fp32(A, inp["over"]), 12, buf=W)         # the tile's other rows stay
    _quantr(pb, tile, tacc, 8, view=v4)
    out["tile"] = tile
    out["dq2"] = pb.quant(tacc2, 4, 8, 8, view=pb.view((2, 4, 2, 4), (0, 3, 1, 2)), buf=A)
    qv = pb.quant(pb.load_fp32(Buffer.optimizer, inp["v"]), 8, buf=W)
    out["y_dq"] = pb.gemm(out["dq"], qv, MacMode.i8x8, buf=G)
    out["y_tile"] = pb.gemm(tile, qv, MacMode.i12x8, buf=G)
    qv4 = pb.quant(pb.load_fp32(Buffer.optimizer, inp["v"]), 4, buf=W)
    out["y_dq2"] = pb.gemm(out["dq2"], qv4, MacMode.i4x4, buf=G)
    pb.emit("BARRIER")
    for name, t in out.items():
        pb.store(name, t)
    return pb


def acc_view_inputs(seed: int = 31):
    """Inputs of :func:`acc_view_program` (w's two column halves 10⁷ apart in scale)."""
    rng = np.random.default_rng(seed)

    def mat(r, c, scale):
        return (rng.standard_normal((r, c)) * scale).astype(np.float32)

    w = mat(4, 8, 1.0)
    w[:, :4] *= 1e-4
    w[:, 4:] *= 1e3
    return {"x": mat(16, 4, 2.0), "x2": mat(8, 4, 0.5), "w": w, "over": mat(24, 8, 1.0), "v": mat(8, 3, 1.0)}
