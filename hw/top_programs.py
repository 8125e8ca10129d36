"""Programs that exercise the PINTA top (hw/top.py) beyond the simulator's own builders.

Used by the RTL regressions (tests/hw/top_cases.py) and by ``pinta bench
rtl-top`` (hw/bench_top.py). Each returns a :class:`~pinta.sim.programs.ProgramBuilder`
whose ``inputs`` the host places in DRAM and whose ``outputs`` it reads back.
"""

from __future__ import annotations

import numpy as np

from pinta.sim.programs import ProgramBuilder

__all__ = ["vector_chain_program", "vector_chain_inputs", "sfu_chain_program", "sfu_chain_inputs",
           "divsqrt_chain_program", "divsqrt_chain_inputs"]


def _f32_bits(v: float) -> int:
    return int(np.array([v], np.float32).view("<u4")[0])


def vector_chain_program(cfg, x, y, w) -> ProgramBuilder:
    """Element-wise FP32 chain on the VEC unit, fed by DMA and by the MAC + ACCF path.

    Independent instructions issue back to back (pipelined passes), dependent ones
    wait for their producer's done; odd element counts exercise the zero half-word.
    """
    from pinta.sim.isa import Buffer, Fmt, MacMode

    pb = ProgramBuilder(cfg)
    tx = pb.load_fp32(Buffer.activations, x)
    ty = pb.load_fp32(Buffer.optimizer, y)

    def vec(mnemonic, a, b=None, buf=Buffer.gradients, **extra):
        out = pb.tensor(buf, Fmt.fp32, a.rows, a.cols)
        pb.use(out, a, *([b] if b is not None else []))
        ops = {"a": a.reg, **({"b": b.reg} if b is not None else {})}
        pb.emit(mnemonic, dst=out.reg, **ops, **extra)
        return out

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
    from pinta.sim.isa import Buffer, Fmt

    pb = ProgramBuilder(cfg)
    tx = pb.load_fp32(Buffer.activations, x)
    ty = pb.load_fp32(Buffer.optimizer, y)
    tz = pb.load_fp32(Buffer.weights, z)

    def vec(mnemonic, a, b=None, buf=Buffer.gradients):
        out = pb.tensor(buf, Fmt.fp32, a.rows, a.cols)
        pb.use(out, a, *([b] if b is not None else []))
        pb.emit(mnemonic, dst=out.reg, a=a.reg, **({"b": b.reg} if b is not None else {}))
        return out

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
    from pinta.sim.isa import Buffer, Fmt

    pb = ProgramBuilder(cfg)
    tx = pb.load_fp32(Buffer.activations, x)
    ty = pb.load_fp32(Buffer.optimizer, y)
    ts = pb.load_fp32(Buffer.weights, s)
    tz = pb.load_fp32(Buffer.gradients, z)

    def vec(mnemonic, a, b=None, buf=Buffer.gradients):
        out = pb.tensor(buf, Fmt.fp32, a.rows, a.cols)
        pb.use(out, a, *([b] if b is not None else []))
        pb.emit(mnemonic, dst=out.reg, a=a.reg, **({"b": b.reg} if b is not None else {}))
        return out

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
