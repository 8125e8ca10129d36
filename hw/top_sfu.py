"""Fully pipelined special functions of the PINTA top: a micro-program unrolled into stages.

:class:`SfuPipeline` takes one function of :mod:`pinta.hw.fp32.microcode`
(TANH for VTANH; SINCOS for VSIN, which takes its ``out``, and VCOS, which
takes ``out2``) and lays its micro-ops out in time, **one micro-op per
pipeline stage**: a stage is the micro-op's combinational datapath (``fp_add``,
``fp_mul`` of :mod:`pinta.hw.fp32.arith`, ``misc_result`` of
:mod:`pinta.hw.fp32.misc`) followed by a register. A DIV becomes the iterative
``FP32Divider`` unrolled: a load stage, one stage per ``DIV_BITS_PER_CYCLE``
quotient digits, a round stage, built from the same ``div_load`` /
``div_iterate`` / ``div_round`` functions as the iterative unit. So the
numerics exist once, and the pipeline computes what ``microcode.execute``
computes (which equals golden), bit for bit.

Why pipelined: the cycle model gives VTANH/VSIN/VCOS one pass of L elements
per cycle (docs/simulator.md §2). A sequenced unit (hw/special_function_unit.py)
needs ~200 cycles per pass; here a new pass of L elements enters every cycle
and leaves :func:`~pinta.hw.fp32.microcode.pipeline_depth` cycles later.

Register liveness: between two stages only the registers of the micro-program
that are read later (or are outputs) are kept, so the pipeline holds a few
live values per stage instead of the whole 46-word register file. Values the
program produces as booleans (LT, LE, EQ, ISNAN) are kept as one bit.

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
from .fp32.units import DIV_BITS_PER_CYCLE, DivState, div_iterate, div_load, div_round, div_steps

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
    o_valid : Out(1)             -- the pass entered :attr:`depth` cycles ago leaves
    o_r, o_r2 : Out(32 · lanes)  -- the program's ``out`` and ``out2`` (SINCOS: sin, cos)
    o_tag : Out(tag_width)

    :attr:`depth` = ``pipeline_depth(func)``: ``o_valid`` in cycle t + depth for
    ``i_valid`` in cycle t, one pass per cycle, no stalls.
    """

    def __init__(self, lanes: int, func: SfuFunc, tag_width: int = 1):
        self.lanes = lanes
        self.func = SfuFunc(func)
        self.prog = PROGRAMS[self.func]
        self.tag_width = tag_width
        #: Stage count: cycles from ``i_valid`` to ``o_valid``.
        self.depth = pipeline_depth(self.func)
        live_in, self.live_after = liveness(self.func)
        if not live_in <= {0}:
            raise ValueError(f"{self.func.name}: the program reads registers {sorted(live_in - {0})} before writing "
                             "them; only the operand (register 0) enters the pipeline")
        super().__init__({
            "i_valid": In(1), "i_x": In(32 * lanes), "i_tag": In(tag_width),
            "o_valid": Out(1), "o_r": Out(32 * lanes), "o_r2": Out(32 * lanes), "o_tag": Out(tag_width),
        })

    def elaborate(self, platform):
        m = Module()
        lanes = self.lanes
        consts = [Const(c, 32) for c in CONSTANTS]
        # Per lane: register index -> the value this stage sees (a Value of 1 or 32 bits).
        vals = [{0: self.i_x[32 * l:32 * l + 32]} for l in range(lanes)]
        valid, tag = self.i_valid, self.i_tag
        stage = 0

        def operand(l, idx):
            if idx >= N_REGS:
                return consts[idx - N_REGS]
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
            for l in range(lanes):
                for r in sorted(keep):
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
            if op == VectorOp.DIV:
                steps = div_steps(DIV_BITS_PER_CYCLE)
                carry = keep - {o.dst}   # live across the divide, besides its own state
                # load stage
                sm = new_stage()
                sts = [div_load(sm, operand(l, o.a), operand(l, o.b), name=f"div{l}") for l in range(lanes)]
                fields = [(f, [getattr(s, f) for s in sts]) for f in DivState.FIELDS]
                regs = register(sm, carry, fields)
                sts = [DivState(*(regs[j][l] for j in range(len(DivState.FIELDS)))) for l in range(lanes)]
                qs = [Const(0, steps) for _ in range(lanes)]
                # iteration stages
                for _ in range(steps // DIV_BITS_PER_CYCLE):
                    sm = new_stage()
                    nxt = [div_iterate(st.rem, st.div, q, DIV_BITS_PER_CYCLE, steps) for st, q in zip(sts, qs)]
                    regs = register(sm, carry, [("rem", [x[0] for x in nxt]), ("q", [x[1] for x in nxt])] +
                                    [(f, [getattr(s, f) for s in sts]) for f in DivState.FIELDS if f != "rem"])
                    rems, qs, rest = regs[0], regs[1], regs[2:]
                    names = [f for f in DivState.FIELDS if f != "rem"]
                    sts = [DivState(rem=rems[l], **{f: rest[j][l] for j, f in enumerate(names)})
                           for l in range(lanes)]
                # round stage
                sm = new_stage()
                for l in range(lanes):
                    vals[l][o.dst] = div_round(sm, sts[l], qs[l], name=f"div{l}")
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
            register(sm, keep)
        assert stage == self.depth, (stage, self.depth)
        prog = self.prog

        def out(r):
            return Cat(*(operand(l, r) for l in range(lanes)))

        m.d.comb += [self.o_valid.eq(valid), self.o_tag.eq(tag), self.o_r.eq(out(prog.out)),
                     self.o_r2.eq(out(prog.out2))]
        return m
