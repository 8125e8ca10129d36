"""Programs that exercise the PINTA top (hw/top.py) beyond the simulator's own builders.

Used by the RTL regressions (tests/hw/top_cases.py) and by ``pinta bench
rtl-top`` (hw/bench_top.py). Each returns a :class:`~pinta.sim.programs.ProgramBuilder`
whose ``inputs`` the host places in DRAM and whose ``outputs`` it reads back.
"""

from __future__ import annotations

import numpy as np

from pinta.sim.programs import ProgramBuilder

__all__ = ["vector_chain_program", "vector_chain_inputs"]


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
