"""Fully pipelined special functions of the PINTA top: a micro-program unrolled into stages.

:class:`SfuPipeline` takes one function of :mod:`pinta.hw.fp32.microcode`
(TANH for VTANH; SINCOS for VSIN, which takes its ``out``, and VCOS, which
takes ``out2``) and lays its micro-ops out in time, **one micro-op per
pipeline stage**: a stage is the micro-op's combinational datapath (``fp_add``,
``fp_mul`` of :mod:`pinta.hw.fp32.arith`, ``misc_result`` of
:mod:`pinta.hw.fp32.misc`) followed by a register. A DIV becomes the iterative
``FP32Divider`` unrolled: a load stage, one stage per ``DIV_BITS_PER_CYCLE``
quotient digits, a round stage, built from the same ``div_load`` /
``div_iterate`` / ``div_round`` functions as the iterative unit; a SQRT
(NORMAL, the RNG's Box-Muller pair, has one) is ``FP32Sqrt`` unrolled the
same way (``sqrt_load`` / ``sqrt_iterate`` / ``sqrt_round``). So the numerics
exist once, and the pipeline computes what ``microcode.execute`` computes
(which equals golden), bit for bit.

Why pipelined: the cycle model gives VTANH/VSIN/VCOS one pass of L elements
per cycle (docs/simulator.md §2). A sequenced unit (hw/special_function_unit.py)
needs ~200 cycles per pass; here a new pass of L elements enters every cycle
and leaves :func:`~pinta.hw.fp32.microcode.pipeline_depth` cycles later.

Register liveness: between two stages only the registers of the micro-program
that are read later (or are outputs) are kept, so the pipeline holds a few
live values per stage instead of the whole 46-word register file. Values the
program produces as booleans (LT, LE, EQ, ISNAN) are kept as one bit.

Lane-uniform operands: a program may read its operands b and c (registers 1
and 2, NORMAL's keys k1 and k2) besides the lane operand x. When they are
the same for every lane of a pass (``uniform``), they enter once per pass and
each stage keeps one copy for all lanes, not one per lane.

Every stage is its own submodule and its registers load only when the stage
above holds a valid pass: idle stages do not toggle (power, and simulation
speed in Amaranth's simulator).
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .fp32.arith import fp_add, fp_mul
from .fp32.microcode import CONSTANTS, N_REGS, PROGRAMS, SfuFunc, op_stages, pipeline_depth
from .fp32.misc import VectorOp, misc_result
from .fp32.units import (DIV_BITS_PER_CYCLE, DivState, SqrtState, div_iterate, div_load, div_round, div_steps,
                         sqrt_iterate, sqrt_load, sqrt_round, sqrt_steps)

__all__ = ["SfuPipeline", "liveness"]

#: Micro-ops whose result is 0 or 1 (kept as one bit between stages).
_BOOL_OPS = (VectorOp.LT, VectorOp.LE, VectorOp.EQ, VectorOp.ISNAN)


def liveness(func: SfuFunc) -> tuple[frozenset[int], list[frozenset[int]]]:
    """(registers live on entry, registers live after each micro-op) of ``func``'s program.

    A register is live after micro-op k if a later micro-op reads it before
    writing it, or it is an output (``out``, ``out2``).
    """
    prog = PROGRAMS[SfuFunc(func)]
    live = {prog.out, prog.out2}
    after: list[frozenset[int]] = [frozenset()] * len(prog.ops)
    for k in range(len(prog.ops) - 1, -1, -1):
        after[k] = frozenset(live)
        o = prog.ops[k]
        live.discard(o.dst)
        live.update(s for s in (o.a, o.b, o.c) if s < N_REGS)
    return frozenset(live), after


class SfuPipeline(wiring.Component):
    """``func``'s micro-program on ``lanes`` binary32 lanes, one micro-op per stage.

    Members
    -------
    i_valid : In(1)              -- a pass enters this cycle
    i_x : In(32 · lanes)         -- its operands (lane l in bits 32l .. 32l + 31)
    i_tag : In(tag_width)        -- travels with the pass unchanged (the top's write address, masks)
    i_b, i_c : In(32)            -- only with ``uniform`` = (1, 2) (resp. one of them): operands b, c
                                    (registers 1, 2) of the pass, one value shared by all its lanes
    o_valid : Out(1)             -- the pass entered :attr:`depth` cycles ago leaves
    o_r, o_r2 : Out(32 · lanes)  -- the program's ``out`` and ``out2`` (SINCOS: sin, cos)
    o_tag : Out(tag_width)

    :attr:`depth` = ``pipeline_depth(func)``: ``o_valid`` in cycle t + depth for
    ``i_valid`` in cycle t, one pass per cycle, no stalls.
    """

    #: Input member of each register that can enter lane-uniform.
    UNIFORM_INPUTS = {1: "i_b", 2: "i_c"}

    def __init__(self, lanes: int, func: SfuFunc, tag_width: int = 1, uniform: tuple[int, ...] = ()):
        if not set(uniform) <= set(self.UNIFORM_INPUTS):
            raise ValueError(f"lane-uniform operands are registers {sorted(self.UNIFORM_INPUTS)}, not {uniform}")
        self.uniform = tuple(sorted(uniform))
        self.lanes = lanes
        self.func = SfuFunc(func)
        self.prog = PROGRAMS[self.func]
        self.tag_width = tag_width
        #: Stage count: cycles from ``i_valid`` to ``o_valid``.
        self.depth = pipeline_depth(self.func)
        live_in, self.live_after = liveness(self.func)
        if not live_in <= {0, *self.uniform}:
            raise ValueError(f"{self.func.name}: the program reads registers {sorted(live_in - {0, *self.uniform})} "
                             "before writing them; only the operand (register 0) and the lane-uniform ones "
                             f"{list(self.uniform)} enter the pipeline")
        super().__init__({
            "i_valid": In(1), "i_x": In(32 * lanes), "i_tag": In(tag_width),
            **{self.UNIFORM_INPUTS[r]: In(32) for r in self.uniform},
            "o_valid": Out(1), "o_r": Out(32 * lanes), "o_r2": Out(32 * lanes), "o_tag": Out(tag_width),
        })

    def elaborate(self, platform):
        m = Module()
        lanes = self.lanes
        consts = [Const(c, 32) for c in CONSTANTS]
        # Per lane: register index -> the value this stage sees (a Value of 1 or 32 bits).
        vals = [{0: self.i_x[32 * l:32 * l + 32]} for l in range(lanes)]
        # Lane-uniform registers: register index -> the one value all lanes see.
        uvals = {r: getattr(self, self.UNIFORM_INPUTS[r]) for r in self.uniform}
        valid, tag = self.i_valid, self.i_tag
        stage = 0

        def operand(l, idx):
            if idx >= N_REGS:
                return consts[idx - N_REGS]
            if idx in uvals:
                return uvals[idx]
            x = vals[l][idx]
            return x if len(x) == 32 else Cat(x, Const(0, 32 - len(x)))  # a one-bit boolean

        def register(sm, keep, extra=()):
            """Close a stage: register ``valid``, the tag, the live registers ``keep``
            of every lane and ``extra`` (name, per-lane values) pairs; enabled by valid."""
            nonlocal valid, tag, stage
            v = Signal(name=f"s{stage}_valid")
            t = Signal(self.tag_width, name=f"s{stage}_tag")
            sm.d.sync += v.eq(valid)
            loads = [t.eq(tag)]
            out_extra = []
            for r in sorted(set(keep) & set(uvals)):  # one copy for all lanes
                q = Signal(32, name=f"s{stage}_u_r{r}")
                loads.append(q.eq(uvals[r]))
                uvals[r] = q
            for r in list(uvals):
                if r not in keep:
                    del uvals[r]
            for l in range(lanes):
                for r in sorted(set(keep) - set(uvals)):
                    x = vals[l][r]
                    q = Signal(Value.cast(x).shape(), name=f"s{stage}_l{l}_r{r}")
                    loads.append(q.eq(x))
                    vals[l][r] = q
            for name, per_lane in extra:
                regs = []
                for l, x in enumerate(per_lane):
                    # same shape: the divide's exponent is signed
                    q = Signal(Value.cast(x).shape(), name=f"s{stage}_l{l}_{name}")
                    loads.append(q.eq(x))
                    regs.append(q)
                out_extra.append(regs)
            with sm.If(valid):
                sm.d.sync += loads
            for l in range(lanes):  # registers not kept are dead from here on
                for r in list(vals[l]):
                    if r not in keep:
                        del vals[l][r]
            valid, tag = v, t
            stage += 1
            return out_extra

        def new_stage():
            sm = Module()
            m.submodules[f"stage{stage}"] = sm
            return sm

        for k, o in enumerate(self.prog.ops):
            op = VectorOp(o.op)
            keep = self.live_after[k]
            if op in (VectorOp.DIV, VectorOp.SQRT):
                # the iterative divider / square root unrolled: load, iterations, round
                div = op == VectorOp.DIV
                k_ = DIV_BITS_PER_CYCLE
                steps = div_steps(k_) if div else sqrt_steps(k_)
                state_cls = DivState if div else SqrtState
                fnames = state_cls.FIELDS
                unit = "div" if div else "sqrt"
                carry = keep - {o.dst}   # live across the divide / root, besides its own state
                # load stage
                sm = new_stage()
                if div:
                    sts = [div_load(sm, operand(l, o.a), operand(l, o.b), name=f"div{l}") for l in range(lanes)]
                else:
                    sts = [sqrt_load(sm, operand(l, o.a), steps, name=f"sqrt{l}") for l in range(lanes)]
                regs = register(sm, carry, [(f, [getattr(s, f) for s in sts]) for f in fnames])
                sts = [state_cls(*(regs[j][l] for j in range(len(fnames)))) for l in range(lanes)]
                ds = [Const(0, steps) for _ in range(lanes)]  # quotient / root digits
                # iteration stages
                for _ in range(steps // k_):
                    sm = new_stage()
                    if div:
                        nxt = [dict(zip(("rem", "d"), div_iterate(st.rem, st.div, d, k_, steps)))
                               for st, d in zip(sts, ds)]
                    else:
                        nxt = [dict(zip(("x", "rem", "d"), sqrt_iterate(st.x, st.rem, d, k_, steps)))
                               for st, d in zip(sts, ds)]
                    regs = register(sm, carry, [(f, [nxt[l].get(f, getattr(sts[l], f)) for l in range(lanes)])
                                                for f in fnames] + [(unit + "_d", [x["d"] for x in nxt])])
                    sts = [state_cls(*(regs[j][l] for j in range(len(fnames)))) for l in range(lanes)]
                    ds = regs[-1]
                # round stage
                sm = new_stage()
                rnd = div_round if div else sqrt_round
                for l in range(lanes):
                    vals[l][o.dst] = rnd(sm, sts[l], ds[l], name=f"{unit}{l}")
                register(sm, keep)
                continue
            assert op_stages(op) == 1
            sm = new_stage()
            for l in range(lanes):
                a, b, c = operand(l, o.a), operand(l, o.b), operand(l, o.c)
                if op in (VectorOp.ADD, VectorOp.SUB):
                    r = fp_add(sm, a, b, Const(int(op == VectorOp.SUB), 1), name=f"add{l}")
                elif op == VectorOp.MUL:
                    r = fp_mul(sm, a, b, name=f"mul{l}")
                else:
                    # The op is a constant: synthesis keeps only its case of the switch.
                    sel = Signal(VectorOp, name=f"op{l}")
                    sm.d.comb += sel.eq(op)
                    r = misc_result(sm, sel, a, b, c)
                    if op in _BOOL_OPS:
                        r = r[0]
                vals[l][o.dst] = r
            uvals.pop(o.dst, None)  # written per lane from here on
            register(sm, keep)
        assert stage == self.depth, (stage, self.depth)
        prog = self.prog

        def out(r):
            return Cat(*(operand(l, r) for l in range(lanes)))

        m.d.comb += [self.o_valid.eq(valid), self.o_tag.eq(tag), self.o_r.eq(out(prog.out)),
                     self.o_r2.eq(out(prog.out2))]
        return m
