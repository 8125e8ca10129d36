"""The ADAM datapath of the PINTA top's VEC unit.

``ADAM w, m, v, g, s, step, total`` (docs/isa.md) updates w, m, v element by
element with the float32 op sequence of ``golden/adam.py`` ``adam_step``, and
s[4], s[5] (the beta powers) once. :class:`AdamPipeline` is that sequence laid
out in time, every FP32 operation one datapath of :mod:`pinta.hw.fp32.arith`
(``fp_add``, ``fp_mul``) with a register, or a :class:`~pinta.hw.top_divsqrt.
DivSqrtPipeline` (the iterative divider / square root unrolled); no numeric
rule is written here.

**Passes.** The cycle model gives ADAM ``vec_passes_adam`` = 3 passes per L
elements (an element group). The VEC unit (hw/top_vec.py) reads through its two
L-element read ports and writes through the arithmetic write port, so the three
passes of group q (pass j = 3q + k, read in I + 1 + j, data in I + 2 + j) are:

* k = 0: nothing read, except in the first group, where both ports read ``s``
  (words 0 .. L/2 − 1 and L/2 .. L − 1: the 6 scalars need 3 words, so L ≥ 4);
* k = 1: ``m`` and ``g``;      * k = 2: ``v`` and ``w``.

Four reads per group in the model's three passes, each word read once. The
arithmetic port's write slot of pass j is I + 4 + j (vec_depth_arith), so it
writes ``m`` (slot of k = 1), ``v`` (k = 2) and, in the last group's k = 0 slot,
the one word of ``s`` that changes (s[4], s[5] = p1, p2; the others are written
back unchanged by the simulator, so leaving them is the same image). m and v
are ready exactly then (:func:`adam_schedule` checks it). ``w`` is ready 33
stages after the group's first data; it is written through the VSIN/VCOS write port, at the SINCOS
pipeline's depth, which it shares (:func:`adam_depth`).

**Stages** are counted from the group's first data cycle (k = 1's: stage 0 =
I + 3 + 3q). :data:`ADAM_OPS` is the per-element sequence; :func:`adam_schedule`
places each op as soon as its operands are there (m, g at stage 0, v, w at 1,
the per-instruction scalars at :data:`SCALAR_READY`). The pipeline builds exactly
that schedule, so the model's depth (sim/timing.py ``vector_depth("ADAM")`` =
:func:`adam_depth`) is derived from it, not typed.

**Per-instruction scalars.** From ``s`` (data in I + 2 = stage −1): 1 − b1,
1 − b2, p1 = s[4]·b1, p2 = s[5]·b2 (one op, registered: stage 0), 1 − p1,
1 − p2 (stage 1); lr = lr0 · (float(total − step) / float(total)) through a
one-lane divider that starts with ``s`` and the multiply (registered at stage
−1 + 9 + 1 = 9; ``golden/adam.py`` ``linear_decay_lr``'s op order). A scalar register
is loaded once per instruction, ``r`` stages after group 0's stage 0, and the
next ADAM loads it at the earliest 3P cycles later, so group q (stage 0 at
3q) may read it at stages ``r .. r + 2`` only; a use later than that takes the
value into the group's pipeline registers at stage r + 2 and carries it along
(``eps`` to the +eps stage, ``lr`` to the final multiply).

**Why fully pipelined** (each op its own unit, each used in one of three
cycles) rather than each FP unit shared by the three passes of a group: with a
group every 3 cycles, the group's 6 multiplies, 4 adds, 3 divides and 1 square
root fit in 2 multipliers, 2 adders, 1 divider and 1 square root per lane, and
the schedule below even puts the three divides in different cycles mod 3
(stages 2, 3, 22). But the next instruction's groups start 3P + x cycles later
for any x (a VADD between two ADAMs, a stall), so a shared unit would see the
two instructions' uses collide; sharing needs the model to align ADAMs (or
hold them), which it does not. Documented in docs/hardware-top.md §4, §7.

NaN results are the canonical quiet NaN (docs/vector-numerics.md §1).
"""

from __future__ import annotations

from functools import lru_cache

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .buffers import WritePortSignature
from .fp32.arith import fp_add, fp_mul, int_to_fp
from .fp32.microcode import op_stages
from .fp32.misc import VectorOp
from .top_divsqrt import DivSqrtPipeline

__all__ = ["ADAM_OPS", "SCALAR_READY", "AdamPipeline", "adam_depth", "adam_schedule", "adam_tag_layout"]

_ONE = 0x3F800000

#: The per-element float32 op sequence of golden/adam.py ``adam_step`` (its docstring):
#: (result, op, operands). Operands are element values (m, g, v, w), earlier results,
#: or per-instruction scalars (:data:`SCALAR_READY`).
ADAM_OPS = (
    ("x1", "mul", ("b1", "m")),         # b1 · m
    ("x2", "mul", ("omb1", "g")),       # (1 − b1) · g
    ("gg", "mul", ("g", "g")),          # g · g
    ("m1", "add", ("x1", "x2")),        # m  (written)
    ("x3", "mul", ("b2", "v")),         # b2 · v
    ("x4", "mul", ("omb2", "gg")),      # (1 − b2) · (g · g)
    ("v1", "add", ("x3", "x4")),        # v  (written)
    ("mhat", "div", ("m1", "omp1")),    # m / (1 − p1)
    ("vhat", "div", ("v1", "omp2")),    # v / (1 − p2)
    ("sq", "sqrt", ("vhat",)),
    ("den", "add", ("sq", "eps")),      # sqrt(vhat) + eps
    ("u", "div", ("mhat", "den")),
    ("t", "mul", ("lr", "u")),
    ("w1", "sub", ("w", "t")),          # w − lr · u  (written)
)

#: Stage (from the group's first data cycle) at which each element operand arrives.
ELEMENT_READY = {"m": 0, "g": 0, "v": 1, "w": 1}

#: Stage at which each per-instruction scalar register is loaded, relative to group 0's
#: stage 0 (``s`` arrives at stage −1): one registered op from s's data, 1 − p a second
#: one, lr the one-lane divider (from stage −1) and the multiply by lr0.
SCALAR_READY = {"b1": 0, "b2": 0, "omb1": 0, "omb2": 0, "eps": 0, "p1": 0, "p2": 0, "omp1": 1, "omp2": 1,
                "lr": -1 + op_stages(VectorOp.DIV) + 1}

#: Passes per element group (sim/timing.py ``vector_passes("ADAM")``; hw/top_vec.py checks).
PASSES = 3
#: Stages of the arithmetic path from a pass's data cycle to its write (vec_depth_arith − 2).
ARITH_WRITE = 2
#: The pass (k) whose arithmetic write slot each early result takes, and the data cycle of
#: pass k relative to stage 0 (k − 1): m in k = 1's slot, v in k = 2's, s in the last group's k = 0.
WRITE_PASS = {"m1": 1, "v1": 2, "s": 0}


def _latency(op: str) -> int:
    return {"div": op_stages(VectorOp.DIV), "sqrt": op_stages(VectorOp.SQRT)}.get(op, 1)


def write_stage(what: str) -> int:
    """Stage of the arithmetic-port write of ``what`` (m1, v1, s): its pass's slot."""
    return WRITE_PASS[what] - 1 + ARITH_WRITE


@lru_cache(maxsize=None)
def adam_schedule() -> dict[str, tuple[int, int]]:
    """{result: (start stage, ready stage)} of :data:`ADAM_OPS`, each op as soon as its
    operands are there (scalars from their :data:`SCALAR_READY`). Raises if m or v is not
    ready by its arithmetic write slot (the port plan of the module docstring)."""
    ready = dict(ELEMENT_READY)
    ready.update(SCALAR_READY)
    out = {}
    for name, op, args in ADAM_OPS:
        start = max(ready[a] for a in args)
        ready[name] = start + _latency(op)
        out[name] = (start, ready[name])
    for what in ("m1", "v1"):
        if out[what][1] > write_stage(what):
            raise ValueError(f"ADAM: {what} is ready at stage {out[what][1]}, after its write slot {write_stage(what)}")
    return out


@lru_cache(maxsize=None)
def adam_depth() -> int:
    """The model's ADAM depth (latency − occupancy; sim/timing.py ``vector_depth``).

    Pass j is written in I + j + depth, like a VSIN / VCOS pass, because ``w`` is
    written through their write port: two instructions on one port never write in the
    same cycle only if their passes leave at the same depth (hw/top_vec.py). ``w``'s
    pass is k = 2 (data cycle: stage 1), so it is written at stage depth − 1, which must
    not be before ``w1`` is ready (:func:`adam_schedule`: 33 stages with the 9-stage
    divider, so at least 34); the rest is delay registers.
    """
    from pinta.sim.timing import sfu_depth

    own = adam_schedule()["w1"][1] + 1
    shared = sfu_depth("VSIN")
    if own > shared:
        raise ValueError(f"ADAM's w is ready at depth {own}, after the VSIN/VCOS port's depth {shared}: "
                         "it would need its own write port")
    return shared


def adam_tag_layout(lanes: int) -> data.StructLayout:
    """What the VEC unit hands over with a group: where its results go, which lanes count."""
    a = {"buf": 2, "addr": 32}
    return data.StructLayout({
        "m": data.StructLayout(a), "v": data.StructLayout(a), "w": data.StructLayout(a),
        "s": data.StructLayout(a),   # the word of s that holds s[4], s[5]
        "last": 1,                   # the instruction's last group (it writes s)
        "lane_ok": lanes, "word_ok": lanes // 2,
    })


class AdamPipeline(wiring.Component):
    """The ADAM update on ``lanes`` binary32 lanes, one element group every third cycle.

    Members
    -------
    i_s : In(1)              -- ``s`` is on i_a / i_b (lanes 0..7 of Cat(i_a, i_b)): the first
                                group's k = 0 data cycle; i_step, i_total hold the immediates
    i_step, i_total : In(24)
    i_valid : In(1)          -- a group's first data cycle: m on i_a, g on i_b, and i_tag; the
                                next cycle v on i_a, w on i_b
    i_a, i_b : In(32 · lanes)
    i_tag : In(adam_tag_layout(lanes))
    o_mv : Out(WritePortSignature(lanes / 2)) -- m, v and s writes (the arithmetic port's slots)
    o_w : Out(WritePortSignature(lanes / 2))  -- w writes (the VSIN / VCOS port's slots)

    :attr:`depth` = :func:`adam_depth`; :attr:`w_stage` = the stage of the w write.
    """

    def __init__(self, lanes: int):
        if lanes < 4:
            raise ValueError(f"ADAM reads s's 3 scalar words through two L/2-word ports: needs L >= 4, got {lanes}")
        self.lanes = lanes
        self.words = lanes // 2
        self.depth = adam_depth()
        self.w_stage = self.depth - 1
        super().__init__({
            "i_s": In(1), "i_step": In(24), "i_total": In(24),
            "i_valid": In(1), "i_a": In(32 * lanes), "i_b": In(32 * lanes),
            "i_tag": In(adam_tag_layout(lanes)),
            "o_mv": Out(WritePortSignature(self.words)), "o_w": Out(WritePortSignature(self.words)),
        })

    def elaborate(self, platform):
        m = Module()
        L, W = self.lanes, self.words
        sched = adam_schedule()

        # -- per-instruction scalars (loaded once per instruction; see the module docstring) --
        sv = Cat(self.i_a, self.i_b)
        el = [sv[32 * k:32 * k + 32] for k in range(6)]    # lr0, b1, b2, eps, beta1^t, beta2^t
        lr0, b1, b2, eps, bp1, bp2 = el
        sc = {k: Signal(32, name=f"adam_{k}") for k in SCALAR_READY}
        one, sub = Const(_ONE, 32), Const(1, 1)
        # (the datapaths are built outside the If blocks: they add comb logic of their own)
        first = [sc["b1"].eq(b1), sc["b2"].eq(b2), sc["eps"].eq(eps),
                 sc["omb1"].eq(fp_add(m, one, b1, sub, name="adam_omb1")),
                 sc["omb2"].eq(fp_add(m, one, b2, sub, name="adam_omb2")),
                 sc["p1"].eq(fp_mul(m, bp1, b1, name="adam_p1")),
                 sc["p2"].eq(fp_mul(m, bp2, b2, name="adam_p2"))]
        with m.If(self.i_s):
            m.d.sync += first
        s1 = Signal()
        m.d.sync += s1.eq(self.i_s)
        second = [sc["omp1"].eq(fp_add(m, one, sc["p1"], sub, name="adam_omp1")),
                  sc["omp2"].eq(fp_add(m, one, sc["p2"], sub, name="adam_omp2"))]
        with m.If(s1):
            m.d.sync += second
        # lr = lr0 · (float(total − step) / float(total)); lr0 travels as the divider's tag, since
        # the next ADAM may load s before this divide is out
        frac = DivSqrtPipeline(1, VectorOp.DIV, tag_width=32)
        m.submodules.adam_lr_div = frac
        rem, tot = Signal(32), Signal(32)      # 0 <= step <= total <= 2**24: exact conversions
        m.d.comb += [rem.eq(self.i_total - self.i_step), tot.eq(self.i_total)]
        m.d.comb += [frac.i_valid.eq(self.i_s), frac.i_tag.eq(lr0),
                     frac.i_a.eq(int_to_fp(m, rem, name="adam_rem")),
                     frac.i_b.eq(int_to_fp(m, tot, name="adam_total"))]
        assert SCALAR_READY["lr"] == -1 + frac.depth + 1
        lr = fp_mul(m, frac.o_tag, frac.o_r, name="adam_lr")
        with m.If(frac.o_valid):
            m.d.sync += sc["lr"].eq(lr)

        # -- the group pipeline: values by stage; registers load only with a valid group --
        valid = [self.i_valid]

        def v_at(s):
            while len(valid) <= s:
                r = Signal(name=f"adam_v{len(valid)}")
                m.d.sync += r.eq(valid[-1])
                valid.append(r)
            return valid[s]

        vals: dict[str, dict[int, object]] = {}

        def at(name, s):
            """Value ``name`` (a Signal, or a list of per-lane Signals) at stage ``s``."""
            chain = vals[name]
            if s in chain:
                return chain[s]
            if s < min(chain):
                raise AssertionError(f"ADAM: {name} read at stage {s}, before it exists ({min(chain)})")
            prev = at(name, s - 1)

            def reg(x, suffix=""):
                r = Signal(Value.cast(x).shape(), name=f"adam_{name}{suffix}_s{s}")
                with m.If(v_at(s - 1)):
                    m.d.sync += r.eq(x)
                return r
            chain[s] = [reg(x, f"_l{l}") for l, x in enumerate(prev)] if isinstance(prev, list) else reg(prev)
            return chain[s]

        lane = lambda x, l: x[32 * l:32 * l + 32]                              # noqa: E731
        vals["m"] = {0: [lane(self.i_a, l) for l in range(L)]}
        vals["g"] = {0: [lane(self.i_b, l) for l in range(L)]}
        vals["v"] = {1: [lane(self.i_a, l) for l in range(L)]}
        vals["w"] = {1: [lane(self.i_b, l) for l in range(L)]}
        tag = self.i_tag
        for f in ("m", "v", "w", "s"):
            vals[f"{f}_buf"] = {0: tag[f].buf}
            vals[f"{f}_addr"] = {0: tag[f].addr}
        vals["last"] = {0: tag.last}
        vals["lane_ok"] = {0: tag.lane_ok}
        vals["word_ok"] = {0: tag.word_ok}
        # a scalar enters the pipeline at its first use, at most 2 stages after it is loaded
        first_use = {}
        for name, _, args in ADAM_OPS:
            for a in args:
                if a in SCALAR_READY:
                    first_use.setdefault(a, sched[name][0])
        first_use.update({"p1": write_stage("s"), "p2": write_stage("s")})
        for k, r in SCALAR_READY.items():
            vals[k] = {max(r, min(first_use[k], r + PASSES - 1)): sc[k]}

        for name, op, args in ADAM_OPS:
            start, ready = sched[name]
            xs = [at(a, start) for a in args]
            xs = [x if isinstance(x, list) else [x] * L for x in xs]
            if op in ("div", "sqrt"):
                pipe = DivSqrtPipeline(L, VectorOp.DIV if op == "div" else VectorOp.SQRT)
                m.submodules[f"adam_{name}"] = pipe
                assert start + pipe.depth == ready
                m.d.comb += [pipe.i_valid.eq(v_at(start)), pipe.i_a.eq(Cat(*xs[0])),
                             pipe.i_b.eq(Cat(*(xs[1] if op == "div" else xs[0])))]
                vals[name] = {ready: [lane(pipe.o_r, l) for l in range(L)]}
                continue
            out = []
            for l in range(L):
                if op == "mul":
                    r = fp_mul(m, xs[0][l], xs[1][l], name=f"adam_{name}{l}")
                else:
                    r = fp_add(m, xs[0][l], xs[1][l], Const(op == "sub", 1), name=f"adam_{name}{l}")
                q = Signal(32, name=f"adam_{name}_l{l}_s{ready}")
                with m.If(v_at(start)):
                    m.d.sync += q.eq(r)
                out.append(q)
            vals[name] = {ready: out}

        # -- writes (every at() / v_at() outside the If blocks: they add registers) --
        def put(port, s, what, lanes):
            lane_ok, word_ok = at("lane_ok", s), at("word_ok", s)
            return v_at(s), [port.en.eq(v_at(s) & word_ok.any()), port.buf.eq(at(f"{what}_buf", s)),
                             port.addr.eq(at(f"{what}_addr", s)),
                             port.data.eq(Cat(*(Mux(lane_ok[l], lanes[l], 0) for l in range(L)))),
                             port.be.eq(Cat(*(Mux(word_ok[j], 0xFF, 0x00) for j in range(W))))]

        # the three arithmetic-port writes are in different stages mod 3, so at most one per cycle
        ss = write_stage("s")
        s_when = v_at(ss) & at("last", ss)
        s_write = [self.o_mv.en.eq(1), self.o_mv.buf.eq(at("s_buf", ss)), self.o_mv.addr.eq(at("s_addr", ss)),
                   self.o_mv.data.eq(Cat(at("p1", ss), at("p2", ss))), self.o_mv.be.eq(0xFF)]
        mv = [put(self.o_mv, write_stage(res), what, at(res, write_stage(res)))
              for what, res in (("m", "m1"), ("v", "v1"))]
        _, w_write = put(self.o_w, self.w_stage, "w", at("w1", self.w_stage))
        with m.If(s_when):
            m.d.comb += s_write
        for when, stmts in mv:
            with m.If(when):
                m.d.comb += stmts
        m.d.comb += w_write
        return m
