"""Pipelined FP32 divide and square root of the PINTA top's VEC unit (VDIV, VSQRT).

:class:`DivSqrtPipeline` is the iterative ``FP32Divider`` or ``FP32Sqrt`` of
:mod:`pinta.hw.fp32.units` unrolled in time: a load stage, one stage per
``DIV_BITS_PER_CYCLE`` digits of the restoring recurrence, a round stage. The
stages are built from the same step functions as the iterative units
(``div_load`` / ``div_iterate`` / ``div_round``, ``sqrt_load`` /
``sqrt_iterate`` / ``sqrt_round``), so the numerics exist once; they are
correctly rounded (RNE, subnormals kept), which is what NumPy's float32
``divide`` and ``sqrt`` compute, the golden VDIV and VSQRT. NaN results are
the canonical quiet NaN (docs/vector-numerics.md §1: bare primitives' NaN
payloads are not part of the contract).

Why pipelined: the cycle model gives VDIV and VSQRT one pass of L elements per
cycle (docs/simulator.md §2), and the iterative units take ``div_latency()``
cycles per operand. Here a pass enters every cycle and leaves
:attr:`DivSqrtPipeline.depth` = ``op_stages(DIV)`` (or ``op_stages(SQRT)``)
cycles later; the cycle model takes its VDIV / VSQRT depth from the same
function (sim/timing.py ``vector_depth``).

Every stage is its own submodule whose registers load only when the stage
above holds a valid pass (an idle pipeline does not toggle). Per lane a stage
carries the recurrence state: the divide 26 + 24 + 28 remainder, divisor and
quotient bits, the square root 56 + 31 + 28 radicand, remainder and root bits
(Yosys removes the radicand's constant-zero low bits), besides the special-case
result (33 bits) and the exponent.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .fp32.microcode import op_stages
from .fp32.misc import VectorOp
from .fp32.units import (DIV_BITS_PER_CYCLE, DivState, SqrtState, div_iterate, div_load, div_round, div_steps,
                         sqrt_iterate, sqrt_load, sqrt_round, sqrt_steps)

__all__ = ["DivSqrtPipeline"]


class DivSqrtPipeline(wiring.Component):
    """a / b (``op`` = DIV) or sqrt(a) (``op`` = SQRT) on ``lanes`` binary32 lanes, one pass per cycle.

    Members
    -------
    i_valid : In(1)              -- a pass enters this cycle
    i_a, i_b : In(32 · lanes)    -- its operands (lane l in bits 32l .. 32l + 31; i_b unused for SQRT)
    i_tag : In(tag_width)        -- travels with the pass unchanged (the top's write address, masks)
    o_valid : Out(1)             -- the pass that entered :attr:`depth` cycles ago leaves
    o_r : Out(32 · lanes)        -- its results
    o_tag : Out(tag_width)

    :attr:`depth` = ``op_stages(op)`` (hw/fp32/microcode.py): ``o_valid`` in
    cycle t + depth for ``i_valid`` in cycle t, no stalls.
    """

    def __init__(self, lanes: int, op: VectorOp, tag_width: int = 1):
        op = VectorOp(op)
        if op not in (VectorOp.DIV, VectorOp.SQRT):
            raise ValueError(f"DivSqrtPipeline computes DIV or SQRT, not {op.name}")
        self.lanes = lanes
        self.op = op
        self.tag_width = tag_width
        #: Stage count: cycles from ``i_valid`` to ``o_valid``.
        self.depth = op_stages(op)
        super().__init__({
            "i_valid": In(1), "i_a": In(32 * lanes), "i_b": In(32 * lanes), "i_tag": In(tag_width),
            "o_valid": Out(1), "o_r": Out(32 * lanes), "o_tag": Out(tag_width),
        })

    def elaborate(self, platform):
        m = Module()
        lanes, k = self.lanes, DIV_BITS_PER_CYCLE
        div = self.op == VectorOp.DIV
        steps = div_steps(k) if div else sqrt_steps(k)
        state_cls = DivState if div else SqrtState
        # the recurrence's running digit register: the quotient (divide) or the root
        digits = "q" if div else "root"
        valid, tag = self.i_valid, self.i_tag
        stage = 0

        def close(sm, fields):
            """Register ``valid``, the tag and ``fields`` ({name: per-lane values}) at the end of
            stage ``stage`` (loaded only with a valid pass); return the registered fields."""
            nonlocal valid, tag, stage
            v = Signal(name=f"s{stage}_valid")
            t = Signal(self.tag_width, name=f"s{stage}_tag")
            sm.d.sync += v.eq(valid)
            loads = [t.eq(tag)]
            out = {}
            for name, per_lane in fields.items():
                regs = []
                for l, x in enumerate(per_lane):
                    # same shape: the exponent is signed
                    q = Signal(Value.cast(x).shape(), name=f"s{stage}_l{l}_{name}")
                    loads.append(q.eq(x))
                    regs.append(q)
                out[name] = regs
            with sm.If(valid):
                sm.d.sync += loads
            valid, tag = v, t
            stage += 1
            return out

        def new_stage():
            sm = Module()
            m.submodules[f"stage{stage}"] = sm
            return sm

        def lane(x, l):
            return x[32 * l:32 * l + 32]

        # load stage
        sm = new_stage()
        if div:
            sts = [div_load(sm, lane(self.i_a, l), lane(self.i_b, l), name=f"div{l}") for l in range(lanes)]
        else:
            sts = [sqrt_load(sm, lane(self.i_a, l), steps, name=f"sqrt{l}") for l in range(lanes)]
        regs = close(sm, {f: [getattr(s, f) for s in sts] for f in state_cls.FIELDS})
        sts = [state_cls(*(regs[f][l] for f in state_cls.FIELDS)) for l in range(lanes)]
        ds = [Const(0, steps) for _ in range(lanes)]
        # iteration stages: k digits each
        for _ in range(steps // k):
            sm = new_stage()
            if div:
                nxt = [dict(zip(("rem", digits), div_iterate(s.rem, s.div, d, k, steps))) for s, d in zip(sts, ds)]
            else:
                nxt = [dict(zip(("x", "rem", digits), sqrt_iterate(s.x, s.rem, d, k, steps))) for s, d in zip(sts, ds)]
            fields = {f: [nxt[l].get(f, getattr(sts[l], f)) for l in range(lanes)] for f in state_cls.FIELDS}
            fields[digits] = [nxt[l][digits] for l in range(lanes)]
            regs = close(sm, fields)
            sts = [state_cls(*(regs[f][l] for f in state_cls.FIELDS)) for l in range(lanes)]
            ds = regs[digits]
        # round stage
        sm = new_stage()
        rnd = div_round if div else sqrt_round
        res = [rnd(sm, s, d, name=f"{'div' if div else 'sqrt'}{l}") for l, (s, d) in enumerate(zip(sts, ds))]
        res = close(sm, {"r": res})["r"]
        assert stage == self.depth, (stage, self.depth)
        m.d.comb += [self.o_valid.eq(valid), self.o_tag.eq(tag), self.o_r.eq(Cat(*res))]
        return m
