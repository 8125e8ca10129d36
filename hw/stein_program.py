"""The Stein-estimator computation of golden/stein_sums.py as a vector
program for the DiffQuant unit's Stein engine.

:func:`stein_program` writes ``stein_estimates`` (pair sums, σ constants,
weights, tree reductions in golden/reduce.py's order, means) as scalar
binary32 operations with golden's operand order, packs independent
operations of the same kind into vector instructions of ``lanes`` lanes
(list scheduling: any packing of independent scalar operations gives the
same bits), and assigns registers by liveness. :func:`run_program` executes
the packed program in NumPy; the tests compare it with golden and the RTL
with both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pinta.golden.fp32 import HALF, ONE, TWO, ZERO, int_to_fp32

from .fp32 import VectorOp
from .fp32.microcode import apply_op

__all__ = ["SteinProgram", "VecInstr", "stein_program", "run_program"]

U32 = np.uint32


@dataclass(frozen=True)
class VecInstr:
    """One vector instruction: ``dst[l] = op(src_a[l], src_b[l])`` on the lanes in ``mask``.

    Indices below ``n_regs`` are registers; from ``n_regs`` up, constants."""
    op: VectorOp
    dst: tuple[int, ...]
    a: tuple[int, ...]
    b: tuple[int, ...]
    mask: int


@dataclass(frozen=True)
class SteinProgram:
    """A packed Stein program for K pairs, D coordinates, ``lanes`` lanes.

    Members
    -------
    k, d, lanes : int
    n_regs : int
        Register-file words (inputs are loaded into registers 0 .. n_inputs-1).
    constants : tuple[int, ...]
        Constant ROM (binary32 patterns), operand indices n_regs + i.
    instrs : tuple[VecInstr, ...]
    outputs : tuple[int, ...]
        Registers of gradient[0..D-1], laplacian, value.
    n_inputs : int
        du_plus[K], du_minus[K], delta[K][D] (row-major), sigma.
    """

    k: int
    d: int
    lanes: int
    n_regs: int
    constants: tuple[int, ...]
    instrs: tuple[VecInstr, ...]
    outputs: tuple[int, ...]
    n_inputs: int


def _bits(x) -> int:
    return int(np.asarray(x, dtype=np.float32).view(U32))


def stein_program(k: int, d: int, lanes: int) -> SteinProgram:
    """Build the packed program (see the module docstring)."""
    if k < 1 or d < 1:
        raise ValueError("K and D must be >= 1")
    consts: dict[int, int] = {}
    ops: list[tuple[VectorOp, int, object, object]] = []  # (op, value id, a, b); a/b: value id or ("c", bits)
    n_in = 2 * k + k * d + 1
    next_id = [n_in]

    def const(x):
        return ("c", _bits(x))

    def op(o, a, b):
        vid = next_id[0]
        next_id[0] += 1
        ops.append((o, vid, a, b))
        return vid

    zero = const(ZERO)

    def tree_sum(xs):
        xs = list(xs)
        p = 1 << (len(xs) - 1).bit_length()
        xs += [zero] * (p - len(xs))
        while p > 1:
            p //= 2
            # +0 + +0 is +0: padding pairs need no operation.
            xs = [zero if (xs[i] == zero and xs[i + p] == zero) else op(VectorOp.ADD, xs[i], xs[i + p])
                  for i in range(p)]
        return xs[0]

    dup = list(range(k))
    dum = list(range(k, 2 * k))
    delta = [[2 * k + i * d + j for j in range(d)] for i in range(k)]
    sigma = n_in - 1
    # stein_sigma_constants
    s2 = op(VectorOp.MUL, sigma, sigma)
    inv2s2 = op(VectorOp.DIV, const(ONE), op(VectorOp.MUL, s2, const(TWO)))
    inv2s4 = op(VectorOp.DIV, const(ONE), op(VectorOp.MUL, op(VectorOp.MUL, s2, s2), const(TWO)))
    # stein_pair_sums
    dif = [op(VectorOp.SUB, dup[i], dum[i]) for i in range(k)]
    sm = [op(VectorOp.ADD, dup[i], dum[i]) for i in range(k)]
    # weights
    gw = [[op(VectorOp.MUL, delta[i][j], inv2s2) for j in range(d)] for i in range(k)]
    nsq = [tree_sum(op(VectorOp.MUL, delta[i][j], delta[i][j]) for j in range(d)) for i in range(k)]
    ds2 = op(VectorOp.MUL, const(int_to_fp32(d)), s2)
    lw = [op(VectorOp.MUL, op(VectorOp.SUB, nsq[i], ds2), inv2s4) for i in range(k)]
    # estimates: tree_mean over K multiplies by 1.0f / float32(K)
    inv_k = op(VectorOp.DIV, const(ONE), const(int_to_fp32(k)))
    grad = [op(VectorOp.MUL, tree_sum(op(VectorOp.MUL, gw[i][j], dif[i]) for i in range(k)), inv_k)
            for j in range(d)]
    lap = op(VectorOp.MUL, tree_sum(op(VectorOp.MUL, lw[i], sm[i]) for i in range(k)), inv_k)
    val = op(VectorOp.MUL, op(VectorOp.MUL, tree_sum(sm), inv_k), const(HALF))
    outputs = grad + [lap, val]

    # -- list scheduling: same-op ready operations, up to `lanes` per instruction
    defined_by = {vid: n for n, (_, vid, _, _) in enumerate(ops)}
    deps = [[s for s in (a, b) if isinstance(s, int) and s in defined_by] for (_, _, a, b) in ops]
    done: set[int] = set(range(n_in))
    pending = list(range(len(ops)))
    groups: list[list[int]] = []
    while pending:
        ready = [n for n in pending if all(ops[defined_by[s]][1] in done for s in deps[n])]
        first = ops[ready[0]][0]
        group = [n for n in ready if ops[n][0] == first][:lanes]
        groups.append(group)
        for n in group:
            done.add(ops[n][1])
        taken = set(group)
        pending = [n for n in pending if n not in taken]

    # -- register allocation by liveness (a register read and rewritten by the
    #    same instruction is safe: operands are read at issue, results written after)
    last_use: dict[int, int] = {}
    for g, group in enumerate(groups):
        for n in group:
            for s in (ops[n][2], ops[n][3]):
                if isinstance(s, int):
                    last_use[s] = g
    for v in outputs:
        last_use[v] = len(groups)  # kept until the output is read
    table: dict[int, int] = {}
    for (_, _, a, b) in ops:
        for s in (a, b):
            if isinstance(s, tuple):
                table.setdefault(s[1], len(table))
    reg_of: dict[int, int] = {v: v for v in range(n_in)}
    free: list[int] = [v for v in range(n_in) if v not in last_use]
    n_regs = n_in
    raw = []  # constants as -1 - index until n_regs is known
    for g, group in enumerate(groups):
        a_idx, b_idx = [], []
        for n in group:
            a, b = ops[n][2], ops[n][3]
            a_idx.append(-1 - table[a[1]] if isinstance(a, tuple) else reg_of[a])
            b_idx.append(-1 - table[b[1]] if isinstance(b, tuple) else reg_of[b])
        for n in group:
            for s in (ops[n][2], ops[n][3]):
                if isinstance(s, int) and last_use.get(s) == g and s in reg_of:
                    free.append(reg_of.pop(s))
        dsts = []
        for n in group:
            if free:
                r = free.pop()
            else:
                r = n_regs
                n_regs += 1
            reg_of[ops[n][1]] = r
            dsts.append(r)
        raw.append((ops[group[0]][0], dsts, a_idx, b_idx, len(group)))

    def fix(i):
        return i if i >= 0 else n_regs + (-1 - i)

    packed = []
    for o, dsts, a_idx, b_idx, n in raw:
        pad = [0] * (lanes - n)
        packed.append(VecInstr(o, tuple(dsts + pad), tuple(fix(i) for i in a_idx) + tuple(pad),
                               tuple(fix(i) for i in b_idx) + tuple(pad), (1 << n) - 1))
    constants = tuple(sorted(table, key=table.get))
    return SteinProgram(k, d, lanes, n_regs, constants, tuple(packed),
                        tuple(reg_of[v] for v in outputs), n_in)


def run_program(prog: SteinProgram, du_plus, du_minus, delta, sigma) -> tuple[np.ndarray, np.float32, np.float32]:
    """Execute ``prog`` in NumPy for one point; returns (gradient[D], laplacian, value)."""
    space = np.zeros(prog.n_regs + len(prog.constants), dtype=U32)
    inputs = np.concatenate([np.asarray(du_plus, np.float32).reshape(-1), np.asarray(du_minus, np.float32).reshape(-1),
                             np.asarray(delta, np.float32).reshape(-1), np.asarray([sigma], np.float32)])
    space[:prog.n_inputs] = inputs.view(U32)
    space[prog.n_regs:] = np.array(prog.constants, dtype=U32)
    for ins in prog.instrs:
        n = bin(ins.mask).count("1")
        a = space[list(ins.a[:n])]
        b = space[list(ins.b[:n])]
        r = apply_op(ins.op, a, b, np.zeros(n, U32))
        space[list(ins.dst[:n])] = r
    out = space[list(prog.outputs)].view(np.float32)
    return out[:prog.d].copy(), out[prog.d], out[prog.d + 1]
