"""VEC unit of the PINTA top: element-wise FP32 vector instructions.

Executes VADD, VSUB, VMUL, VNEG, VSCALE and VDTANH (``1 - a·a``), the
special functions VTANH, VSIN and VCOS, and VDIV and VSQRT, on
``cfg.vector_lanes`` (L) binary32 lanes with the combinational datapaths of
:mod:`pinta.hw.fp32.arith` (the same ``fp_add`` / ``fp_mul`` that the
standalone ``VectorUnit`` registers once per operation), here fully pipelined
so that one pass of L elements enters every cycle, as the cycle model wants.

Timing against the model (docs/simulator.md §2: occupancy ``P = ceil(n/L)``,
latency ``P + vec_depth_arith``), with I the issue cycle and pass p in
0..P-1 covering elements ``p·L .. p·L + L - 1`` of the row-major images:

* I + 1 + p: read the L/2 words of ``a`` (and of ``b``) of pass p;
* I + 2 + p: data; first operation (add/sub, mul or sign flip), registered;
* I + 3 + p: second operation (VDTANH only: ``1 - t``), registered;
* I + 4 + p: the L/2 result words are written.

The last pass is written in I + P + 3, one cycle before the model's done;
every consumer reads at its own issue + 1 or later, so no bypass is needed.

A word that holds at least one element of ``dst`` is written whole, with the
lanes past the last element as +0: that is the zero half-word the fp32
layout asks for after an odd element count (docs/isa.md §4).

Special functions (latency ``P + sim.timing.sfu_depth``): the pass is read in
I + 1 + p like the others; in I + 2 + p its data enter the function's
:class:`~pinta.hw.top_sfu.SfuPipeline` (TANH for VTANH, SINCOS for VSIN and
VCOS: the same pipeline, the pass's tag says which output to write), which
holds it ``depth`` stages; it is written in I + 2 + p + depth, so the last
pass lands in I + P + 1 + depth = done − 1 with ``sfu_depth = depth +
vec_sfu_io_cycles`` (2: the read cycle and the write cycle). The next VEC
instruction issues after P cycles and writes its passes while these are
still in flight, so each pipeline has its own write port (``w_tanh``,
``w_sincos``): writes from the arithmetic path, TANH and SINCOS never
compete for a port, whatever the order of the instructions.

VDIV and VSQRT (latency ``P + sim.timing.divsqrt_depth``) follow the same
schedule on their :class:`~pinta.hw.top_divsqrt.DivSqrtPipeline` (the divider,
resp. the square root, unrolled one iteration per stage), VDIV reading ``b``
like VADD. The two pipelines have the same depth, so their passes leave in
the order and the cycles they entered, one per cycle at most: they share one
write port (``w_divsqrt``), a fourth, for the same reason as the special
functions have theirs.

STEIN (``gdiff = up − um``, ``gsum = up + um``): the model gives it
``vector_passes("STEIN")`` = 2 passes per L elements and the arithmetic depth.
Two passes, two result tensors, so each pass writes one of them through the
arithmetic write port: no extra port. Pass 2q reads the L elements q·L.. of
``up`` and ``um`` (I + 1 + 2q) and subtracts; pass 2q + 1 reads nothing (the
read ports hold their data while not enabled) and adds the same operands,
with the same adder. So each operand word is read once, as the model's
traffic counts it, no operand register is needed, and the passes flow
through the pipeline like any others (last written in I + 2P + 3 = done − 1).

Broadcast forms VADDB, VSUBB, VMULB (``b``: a.rows/g rows, a.cols or 1
cols; row r of ``a`` meets row r div g of ``b``): the ``add``/``sub``/``mul``
passes with a row-repeat address generator for ``b``. Built for passes that
never span a row of ``a`` (``a.cols`` a multiple of L, or ``b`` of ``a``'s
shape, which is the plain operation); the controller refuses the others
(docs/hardware-top.md §7 has that design question). The generator keeps the
column c of the pass and b's row offset; after each row of ``a`` a
Bresenham step (``acc += b.rows``; past ``a.rows``: ``acc −= a.rows`` and the
next b row) finds row r div g without a divider. Full-width ``b``: the pass
reads L elements of b's row at column c (aligned: C and c are multiples of
L). One-column ``b``: one element, broadcast to the L lanes in the data cycle.

ADAM (``w, m, v, g, s``; ``vector_passes("ADAM")`` = 3 passes per L elements
of w, latency ``3P + adam_depth``): the sequencer counts the pass k = 0, 1, 2 of
each element group; k = 0 reads ``s`` in the first group (both ports) and
nothing after, k = 1 reads ``m`` and ``g``, k = 2 ``v`` and ``w``. The data go to
:class:`~pinta.hw.top_adam.AdamPipeline`, which writes ``m``, ``v`` and ``s``
in the arithmetic write port's slots of the ADAM passes and ``w`` through the
VSIN / VCOS port at the SINCOS depth (hw/top_adam.py has the schedule).

RNG (latency ``P + sim.timing.rng_depth``): nothing is read; in the read cycle
I + 1 the command (seed, stream, ctr, scale, dst) is registered into the
:class:`~pinta.hw.top_rng.RngPipeline`, which computes the keys, generates its
P passes itself once they are known and writes them through its own port
(``w_rng``, for the reason the special functions have theirs), the last in
I + P + 1 + depth = done − 1. The pass sequencer still counts the P cycles
(the occupancy), with the read ports off and a pass kind nobody writes.

VSUM and VRED (view v0) run on the :class:`~pinta.hw.top_reduce.ReduceEngine`
(hw/top_reduce.py): the pass sequencer does not start for them; the engine
drives the operand ports and the arithmetic write port in its own cycles (its
ops are read in I + 1 + k and written in I + 4 + k, like the passes), which is
why those three ports are one word wider than L/2 (windows at any element).

Operands must have ``dst``'s element count (the simulator checks programs).
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from pinta.config import PintaConfig
from pinta.sim.isa import OPCODE_SHIFT, OPCODES
from pinta.sim.timing import vector_passes

from .buffers import ReadPortSignature, WritePortSignature
from .controller import DESC, VEC_BROADCAST, VEC_ELEMENTWISE, field_slice, unit_command_layout
from .fp32.arith import fp_add, fp_mul
from .fp32.microcode import SfuFunc
from .fp32.misc import VectorOp
from .top_adam import PASSES as ADAM_PASSES, AdamPipeline, adam_tag_layout
from .top_divsqrt import DivSqrtPipeline
from .top_reduce import REDUCE_OPS, ReduceEngine
from .top_rng import RngPipeline
from .top_sfu import SfuPipeline

__all__ = ["VecUnit", "VEC_OPS"]

#: Vector instructions this unit executes (the controller refuses the others).
VEC_OPS = VEC_ELEMENTWISE
#: The broadcast forms, in the order of the operation they are a form of (add, sub, mul).
BROADCAST = VEC_BROADCAST

_ONE = 0x3F800000
_SIGN = 0x80000000


def _opcode(name: str) -> int:
    return next(s.opcode for s in OPCODES.values() if s.mnemonic == name)


def pass_info_layout(lanes: int) -> data.StructLayout:
    """What travels with a pass of ``lanes`` elements (the special-function pipelines' tag)."""
    return data.StructLayout({
        "valid": 1, "kind": 4, "buf": 2, "addr": 32,
        "lane_ok": lanes,         # element p·L + l < n
        "word_ok": lanes // 2,    # word holds an element of dst: written (whole)
    })


class VecUnit(wiring.Component):
    """Element-wise FP32 instructions, one pass of L lanes per cycle.

    Members
    -------
    start : In(1), cmd : In(unit_command_layout()) -- issue strobe and command
    r_a, r_b : Out(ReadPortSignature(L/2 + 1)) -- operand reads (L/2 words: two fp32 per word; STEIN: up, um;
        the reductions read windows at any element, hence one word more: hw/top_reduce.py)
    w : Out(WritePortSignature(L/2 + 1))   -- result writes of the arithmetic instructions (STEIN: both) and
        of the reductions (one word more, 32-bit lanes)
    w_tanh, w_sincos : Out(WritePortSignature(L/2)) -- result writes of VTANH; of VSIN and VCOS
    w_divsqrt : Out(WritePortSignature(L/2))        -- result writes of VDIV and VSQRT
    w_rng : Out(WritePortSignature(L/2))            -- result writes of RNG
    (ADAM writes m, v, s through ``w`` and w through ``w_sincos``.)
    """

    def __init__(self, cfg: PintaConfig):
        self.cfg = cfg
        self.lanes = cfg.vector_lanes
        if self.lanes < 2 or self.lanes % 2:
            raise ValueError(f"the VEC unit needs an even vector_lanes (two fp32 per word), got {self.lanes}")
        self.words = self.lanes // 2
        stein = next(s for s in OPCODES.values() if s.mnemonic == "STEIN")
        if vector_passes("STEIN") != len(stein.writes):
            raise ValueError(f"the VEC unit writes STEIN's {len(stein.writes)} results in one pass each, "
                             f"the cycle model gives it {vector_passes('STEIN')} passes")
        if vector_passes("ADAM") != ADAM_PASSES:
            raise ValueError(f"the ADAM datapath (hw/top_adam.py) takes {ADAM_PASSES} passes per element group, "
                             f"the cycle model gives it {vector_passes('ADAM')}")
        super().__init__({
            "start": In(1), "cmd": In(unit_command_layout()),
            "r_a": Out(ReadPortSignature(self.words + 1)), "r_b": Out(ReadPortSignature(self.words + 1)),
            "w": Out(WritePortSignature(self.words + 1)),
            "w_tanh": Out(WritePortSignature(self.words)), "w_sincos": Out(WritePortSignature(self.words)),
            "w_divsqrt": Out(WritePortSignature(self.words)),
            "w_rng": Out(WritePortSignature(self.words)),
        })

    def elaborate(self, platform):
        m = Module()
        L, W = self.lanes, self.words
        c = Signal(unit_command_layout())
        with m.If(self.start):
            m.d.sync += c.eq(self.cmd)
        op = c.word[OPCODE_SHIFT:OPCODE_SHIFT + 8]
        is_ = {name: op == _opcode(name) for name in VEC_OPS + ("STEIN",) + BROADCAST}
        # VSUM / VRED go to the reduction engine, not to the pass sequencer
        red_cmd = Cat(*(self.cmd.word[OPCODE_SHIFT:OPCODE_SHIFT + 8] == _opcode(x) for x in REDUCE_OPS)).any()
        dst, a, b = (Signal(DESC, name=f"vec_{x}") for x in ("dst", "a", "b"))
        # STEIN gdiff, gsum, up, um: up and um are the operands; the pass's parity picks the result
        odd = Signal()  # STEIN: the second (gsum) pass of an element group
        is_adam = op == _opcode("ADAM")
        ph = Signal(2)  # ADAM: pass k = 0, 1, 2 of an element group (hw/top_adam.py)
        m.d.comb += [dst.eq(Mux(is_["STEIN"], Mux(odd, c.d[1].as_value(), c.d[0].as_value()), c.d[0].as_value())),
                     a.eq(Mux(is_["STEIN"], c.d[2].as_value(), c.d[1].as_value())),
                     b.eq(Mux(is_["STEIN"], c.d[3].as_value(), c.d[2].as_value()))]
        n = Signal(32)
        m.d.comb += n.eq(dst.rows * dst.cols)

        # -- pass sequencer: element offset e = p·L of the pass read this cycle --
        active = Signal()
        e = Signal(32)
        with m.If(self.start & ~red_cmd):
            m.d.sync += [active.eq(1), e.eq(0), odd.eq(0), ph.eq(0)]
        with m.Elif(active & is_["STEIN"] & ~odd):
            m.d.sync += odd.eq(1)
        with m.Elif(active & is_adam & (ph != ADAM_PASSES - 1)):
            m.d.sync += ph.eq(ph + 1)
        with m.Elif(active):
            m.d.sync += [e.eq(e + L), odd.eq(0), ph.eq(0)]
            with m.If(e + L >= n):
                m.d.sync += active.eq(0)
        woff = e >> 1
        two = (is_["VADD"] | is_["VSUB"] | is_["VMUL"] | is_["VDIV"] | is_["STEIN"]
               | Cat(*(is_[x] for x in BROADCAST)).any())  # b is a descriptor only for these
        reads = active & ~odd & ~is_["RNG"]  # RNG reads no operand
        for port, t, en in ((self.r_a, a, reads), (self.r_b, b, reads & two)):
            m.d.comb += [port.en.eq(en), port.buf.eq(t.buf), port.addr.eq(t.addr + woff)]

        # -- broadcast forms: b's row-repeat address generator (passes never span a row of
        # a: the controller refuses the other shapes). bcol: column of this pass; boff: b's
        # element offset of the current b row (+ bcol for a full-width b); bacc: Bresenham
        # remainder of r·b.rows / a.rows --
        bcast = Cat(*(is_[x] for x in BROADCAST)).any()
        b_scalar = b.cols == 1
        b_rep = bcast & ((b.rows != a.rows) | (b.cols != a.cols))  # else it is the plain operation
        bcol = Signal(16)
        boff = Signal(32)
        bacc = Signal(16)
        with m.If(self.start):
            m.d.sync += [bcol.eq(0), boff.eq(0), bacc.eq(0)]
        with m.Elif(active):
            with m.If(bcol + L >= a.cols):
                m.d.sync += bcol.eq(0)
                with m.If(bacc + b.rows >= a.rows):
                    m.d.sync += [bacc.eq(bacc + b.rows - a.rows), boff.eq(boff + b.cols)]
                with m.Else():
                    m.d.sync += bacc.eq(bacc + b.rows)
            with m.Else():
                m.d.sync += bcol.eq(bcol + L)
        bel = Signal(32)
        m.d.comb += bel.eq(boff + Mux(b_scalar, 0, bcol))
        with m.If(b_rep):
            m.d.comb += [self.r_b.en.eq(active), self.r_b.addr.eq(b.addr + (bel >> 1))]
        # one-column b: the element's half of the word read, for every lane (data cycle)
        bsplat, bhalf = Signal(), Signal()
        m.d.sync += [bsplat.eq(b_rep & b_scalar), bhalf.eq(bel[0])]

        # -- what travels with a pass (the command register is reused by the next
        # instruction from its issue + 1 on, while this one's passes drain) --
        info = pass_info_layout(L)
        KIND = {"add": 0, "sub": 1, "mul": 2, "neg": 3, "scale": 4, "dtanh": 5, "tanh": 6, "sin": 7, "cos": 8,
                "div": 9, "sqrt": 10, "stein_diff": 11, "stein_sum": 12,
                "rng": 13}  # RNG's passes here only count its occupancy: no port writes this kind
        kind = Signal(4)
        # the opcode decodes to one mnemonic at most, so the order of these is immaterial
        m.d.comb += kind.eq(KIND["dtanh"])
        for mnemonic, k in (("VADD", "add"), ("VSUB", "sub"), ("VMUL", "mul"), ("VNEG", "neg"),
                            ("VSCALE", "scale"), ("VTANH", "tanh"), ("VSIN", "sin"), ("VCOS", "cos"),
                            ("VDIV", "div"), ("VSQRT", "sqrt"), ("RNG", "rng")):
            with m.If(is_[mnemonic]):
                m.d.comb += kind.eq(KIND[k])
        for mnemonic, k in zip(BROADCAST, ("add", "sub", "mul")):
            with m.If(is_[mnemonic]):
                m.d.comb += kind.eq(KIND[k])
        with m.If(is_["STEIN"]):
            m.d.comb += kind.eq(Mux(odd, KIND["stein_sum"], KIND["stein_diff"]))
        rd = Signal(info)
        m.d.comb += [rd.valid.eq(active & ~is_adam), rd.kind.eq(kind), rd.buf.eq(dst.buf), rd.addr.eq(dst.addr + woff)]
        m.d.comb += [rd.lane_ok[l].eq(e + l < n) for l in range(L)]
        m.d.comb += [rd.word_ok[j].eq(e + 2 * j < n) for j in range(W)]
        scale = Signal(32)
        m.d.sync += scale.eq(field_slice(c.word, "VSCALE", "scale"))

        # -- data cycle: first operation --
        d1 = Signal(info)
        m.d.sync += d1.eq(rd)
        s1 = Signal(info)
        m.d.sync += s1.eq(d1)
        r1 = [Signal(32, name=f"vec_r1_{l}") for l in range(L)]
        # STEIN: the gsum pass reads nothing; the read ports hold the gdiff pass's operands
        # (a read port's data is held while its en is low, hw/buffers.py), so no register
        s_sum = d1.kind == KIND["stein_sum"]
        s_diff = d1.kind == KIND["stein_diff"]
        b_one = Mux(bhalf, self.r_b.data[32:64], self.r_b.data[0:32])
        for l in range(L):
            xa = self.r_a.data[32 * l:32 * l + 32]
            xb = Mux(bsplat, b_one, self.r_b.data[32 * l:32 * l + 32])
            add = fp_add(m, xa, xb, (d1.kind == KIND["sub"]) | s_diff, name=f"vadd{l}")
            mb = Mux(d1.kind == KIND["scale"], scale, Mux(d1.kind == KIND["dtanh"], xa, xb))
            mul = fp_mul(m, xa, mb, name=f"vmul{l}")
            adds = (d1.kind == KIND["add"]) | (d1.kind == KIND["sub"]) | s_diff | s_sum
            res = Mux(d1.kind == KIND["neg"], xa ^ _SIGN, Mux(adds, add, mul))
            m.d.sync += r1[l].eq(res)

        # -- second operation: 1 - t·t for VDTANH --
        s2 = Signal(info)
        m.d.sync += s2.eq(s1)
        r2 = [Signal(32, name=f"vec_r2_{l}") for l in range(L)]
        for l in range(L):
            sub = fp_add(m, Const(_ONE, 32), r1[l], Const(1, 1), name=f"vdtanh{l}")
            m.d.sync += r2[l].eq(Mux(s1.kind == KIND["dtanh"], sub, r1[l]))

        # -- write-back --
        arith = (s2.kind <= KIND["dtanh"]) | (s2.kind == KIND["stein_diff"]) | (s2.kind == KIND["stein_sum"])

        def write(port, en, t, lanes):
            m.d.comb += [
                port.en.eq(en & t.word_ok.any()), port.buf.eq(t.buf), port.addr.eq(t.addr),
                port.data.eq(Cat(*(Mux(t.lane_ok[l], lanes[l], 0) for l in range(L)))),
                port.be.eq(Cat(*(Mux(t.word_ok[j], 0xFF, 0x00) for j in range(W)))),
            ]

        write(self.w, s2.valid & arith, s2, r2)

        # -- ADAM: reads by pass (k = 0: s in the first group; 1: m, g; 2: v, w), the
        # group's write addresses with its first data, the datapath of hw/top_adam.py --
        wd, md, vd, gd, sd = (c.d[k] for k in range(5))
        with m.If(is_adam):
            s_rd = (ph == 0) & (e == 0)
            m.d.comb += [
                self.r_a.en.eq(active & ((ph != 0) | s_rd)), self.r_b.en.eq(active & ((ph != 0) | s_rd)),
                self.r_a.buf.eq(Mux(ph == 0, sd.buf, Mux(ph == 1, md.buf, vd.buf))),
                self.r_a.addr.eq(Mux(ph == 0, sd.addr, Mux(ph == 1, md.addr, vd.addr) + woff)),
                self.r_b.buf.eq(Mux(ph == 0, sd.buf, Mux(ph == 1, gd.buf, wd.buf))),
                self.r_b.addr.eq(Mux(ph == 0, sd.addr + W, Mux(ph == 1, gd.addr, wd.addr) + woff)),
            ]
        atag = Signal(adam_tag_layout(L))
        for t, dsc in (("m", md), ("v", vd), ("w", wd)):
            m.d.comb += [atag[t].buf.eq(dsc.buf), atag[t].addr.eq(dsc.addr + woff)]
        m.d.comb += [atag.s.buf.eq(sd.buf), atag.s.addr.eq(sd.addr + 2),   # s[4], s[5]: word 2
                     atag.last.eq(e + L >= n), atag.lane_ok.eq(rd.lane_ok), atag.word_ok.eq(rd.word_ok)]
        adam = AdamPipeline(L)
        m.submodules.adam = adam
        a_s, a_valid, a_tag = Signal(), Signal(), Signal(adam_tag_layout(L))
        m.d.sync += [a_s.eq(active & is_adam & (ph == 0) & (e == 0)), a_valid.eq(active & is_adam & (ph == 1)),
                     a_tag.eq(atag)]
        m.d.comb += [adam.i_s.eq(a_s), adam.i_valid.eq(a_valid), adam.i_tag.eq(a_tag),
                     adam.i_a.eq(self.r_a.data), adam.i_b.eq(self.r_b.data),
                     adam.i_step.eq(field_slice(c.word, "ADAM", "step")),
                     adam.i_total.eq(field_slice(c.word, "ADAM", "total"))]

        # -- special functions: the data cycle's pass enters its pipeline, with
        # what its write-back needs as the tag --
        for name, func, kinds, port in (("tanh", SfuFunc.TANH, ("tanh",), self.w_tanh),
                                        ("sincos", SfuFunc.SINCOS, ("sin", "cos"), self.w_sincos)):
            pipe = SfuPipeline(L, func, tag_width=info.size)
            m.submodules[f"sfu_{name}"] = pipe
            mine = Cat(*(d1.kind == KIND[k] for k in kinds)).any()
            m.d.comb += [pipe.i_valid.eq(d1.valid & mine), pipe.i_x.eq(self.r_a.data[:32 * L]),
                         pipe.i_tag.eq(d1.as_value())]
            t = Signal(info, name=f"sfu_{name}_tag")
            m.d.comb += t.as_value().eq(pipe.o_tag)
            res = Mux(t.kind == KIND["cos"], pipe.o_r2, pipe.o_r)
            write(port, pipe.o_valid, t, [res[32 * l:32 * l + 32] for l in range(L)])

        # -- VDIV, VSQRT: the same, on the unrolled divider / square root, one port for both --
        pipes = {}
        for k, op in (("div", VectorOp.DIV), ("sqrt", VectorOp.SQRT)):
            pipe = pipes[k] = DivSqrtPipeline(L, op, tag_width=info.size)
            m.submodules[f"{k}_pipe"] = pipe
            m.d.comb += [pipe.i_valid.eq(d1.valid & (d1.kind == KIND[k])), pipe.i_a.eq(self.r_a.data[:32 * L]),
                         pipe.i_b.eq(self.r_b.data[:32 * L]), pipe.i_tag.eq(d1.as_value())]
        div, sqrt = pipes["div"], pipes["sqrt"]
        if div.depth != sqrt.depth:  # then their writes can meet: each would need its own port
            raise ValueError(f"VDIV and VSQRT share a write port, which needs equal depths ({div.depth}, {sqrt.depth})")
        t = Signal(info, name="divsqrt_tag")
        m.d.comb += t.as_value().eq(Mux(div.o_valid, div.o_tag, sqrt.o_tag))
        res = Mux(div.o_valid, div.o_r, sqrt.o_r)
        write(self.w_divsqrt, div.o_valid | sqrt.o_valid, t, [res[32 * l:32 * l + 32] for l in range(L)])

        # ADAM's m, v, s writes take the arithmetic port's slots of its own passes, and
        # its w writes the VSIN/VCOS port's at that port's depth: never both in a cycle
        # (hw/top_adam.py; these statements come last, so they win over the other writers')
        for port, src in ((self.w, adam.o_mv), (self.w_sincos, adam.o_w)):
            with m.If(src.en):
                m.d.comb += [port.en.eq(1), port.buf.eq(src.buf), port.addr.eq(src.addr), port.data.eq(src.data),
                             port.be.eq(src.be)]

        # -- RNG: the command enters its pipeline in the data cycle (registered in the read
        # cycle, the first pass's: e = 0), which writes through its own port --
        m.submodules.rng = rng = RngPipeline(L)
        rng_go = active & (e == 0) & is_["RNG"]
        m.d.sync += rng.i_valid.eq(rng_go)
        with m.If(rng_go):
            m.d.sync += [rng.i_cmd.seed.eq(field_slice(c.word, "RNG", "seed")),
                         rng.i_cmd.stream.eq(field_slice(c.word, "RNG", "stream")),
                         rng.i_cmd.run.ctr.eq(field_slice(c.word, "RNG", "ctr")),
                         rng.i_cmd.run.scale.eq(field_slice(c.word, "RNG", "scale")),
                         rng.i_cmd.run.buf.eq(dst.buf), rng.i_cmd.run.addr.eq(dst.addr), rng.i_cmd.run.n.eq(n)]
        wiring.connect(m, wiring.flipped(self.w_rng), rng.w)

        # -- VSUM, VRED: the reduction engine (hw/top_reduce.py). It uses the operand
        # ports in its own occupancy and the arithmetic write port read + 3 cycles, like
        # the passes, so it never meets the element-wise path on a port; its
        # assignments come last and take the ports in its cycles --
        red = m.submodules.reduce = ReduceEngine(self.cfg)
        m.d.comb += [red.start.eq(self.start & red_cmd), red.cmd.eq(self.cmd),
                     red.r_a.data.eq(self.r_a.data), red.r_b.data.eq(self.r_b.data)]
        with m.If(red.reading):
            for port, rp in ((self.r_a, red.r_a), (self.r_b, red.r_b)):
                m.d.comb += [port.en.eq(rp.en), port.buf.eq(rp.buf), port.addr.eq(rp.addr)]
        with m.If(red.w.en):
            m.d.comb += [self.w.en.eq(1), self.w.buf.eq(red.w.buf), self.w.addr.eq(red.w.addr),
                         self.w.data.eq(red.w.data), self.w.be.eq(red.w.be)]
        return m
