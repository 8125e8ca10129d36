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

Operands must have ``dst``'s element count (the simulator checks programs).
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from pinta.config import PintaConfig
from pinta.sim.isa import OPCODE_SHIFT, OPCODES

from .buffers import ReadPortSignature, WritePortSignature
from .controller import DESC, VEC_ELEMENTWISE, field_slice, unit_command_layout
from .fp32.arith import fp_add, fp_mul
from .fp32.microcode import SfuFunc
from .fp32.misc import VectorOp
from .top_divsqrt import DivSqrtPipeline
from .top_sfu import SfuPipeline

__all__ = ["VecUnit", "VEC_OPS"]

#: Vector instructions this unit executes (the controller refuses the others).
VEC_OPS = VEC_ELEMENTWISE

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
    r_a, r_b : Out(ReadPortSignature(L/2)) -- operand reads (L/2 words: two fp32 per word)
    w : Out(WritePortSignature(L/2))       -- result writes of the arithmetic instructions
    w_tanh, w_sincos : Out(WritePortSignature(L/2)) -- result writes of VTANH; of VSIN and VCOS
    w_divsqrt : Out(WritePortSignature(L/2))        -- result writes of VDIV and VSQRT
    """

    def __init__(self, cfg: PintaConfig):
        self.cfg = cfg
        self.lanes = cfg.vector_lanes
        if self.lanes < 2 or self.lanes % 2:
            raise ValueError(f"the VEC unit needs an even vector_lanes (two fp32 per word), got {self.lanes}")
        self.words = self.lanes // 2
        super().__init__({
            "start": In(1), "cmd": In(unit_command_layout()),
            "r_a": Out(ReadPortSignature(self.words)), "r_b": Out(ReadPortSignature(self.words)),
            "w": Out(WritePortSignature(self.words)),
            "w_tanh": Out(WritePortSignature(self.words)), "w_sincos": Out(WritePortSignature(self.words)),
            "w_divsqrt": Out(WritePortSignature(self.words)),
        })

    def elaborate(self, platform):
        m = Module()
        L, W = self.lanes, self.words
        c = Signal(unit_command_layout())
        with m.If(self.start):
            m.d.sync += c.eq(self.cmd)
        op = c.word[OPCODE_SHIFT:OPCODE_SHIFT + 8]
        is_ = {name: op == _opcode(name) for name in VEC_OPS}
        dst, a, b = (Signal(DESC, name=f"vec_{x}") for x in ("dst", "a", "b"))
        m.d.comb += [dst.eq(c.d[0]), a.eq(c.d[1]), b.eq(c.d[2])]
        n = Signal(32)
        m.d.comb += n.eq(dst.rows * dst.cols)

        # -- pass sequencer: element offset e = p·L of the pass read this cycle --
        active = Signal()
        e = Signal(32)
        with m.If(self.start):
            m.d.sync += [active.eq(1), e.eq(0)]
        with m.Elif(active):
            m.d.sync += e.eq(e + L)
            with m.If(e + L >= n):
                m.d.sync += active.eq(0)
        woff = e >> 1
        two = is_["VADD"] | is_["VSUB"] | is_["VMUL"] | is_["VDIV"]  # b is a descriptor only for these
        for port, t, en in ((self.r_a, a, active), (self.r_b, b, active & two)):
            m.d.comb += [port.en.eq(en), port.buf.eq(t.buf), port.addr.eq(t.addr + woff)]

        # -- what travels with a pass (the command register is reused by the next
        # instruction from its issue + 1 on, while this one's passes drain) --
        info = pass_info_layout(L)
        KIND = {"add": 0, "sub": 1, "mul": 2, "neg": 3, "scale": 4, "dtanh": 5, "tanh": 6, "sin": 7, "cos": 8,
                "div": 9, "sqrt": 10}
        kind = Signal(4)
        # the opcode decodes to one mnemonic at most, so the order of these is immaterial
        m.d.comb += kind.eq(KIND["dtanh"])
        for mnemonic, k in (("VADD", "add"), ("VSUB", "sub"), ("VMUL", "mul"), ("VNEG", "neg"),
                            ("VSCALE", "scale"), ("VTANH", "tanh"), ("VSIN", "sin"), ("VCOS", "cos"),
                            ("VDIV", "div"), ("VSQRT", "sqrt")):
            with m.If(is_[mnemonic]):
                m.d.comb += kind.eq(KIND[k])
        rd = Signal(info)
        m.d.comb += [rd.valid.eq(active), rd.kind.eq(kind), rd.buf.eq(dst.buf), rd.addr.eq(dst.addr + woff)]
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
        for l in range(L):
            xa = self.r_a.data[32 * l:32 * l + 32]
            xb = self.r_b.data[32 * l:32 * l + 32]
            add = fp_add(m, xa, xb, d1.kind == KIND["sub"], name=f"vadd{l}")
            mb = Mux(d1.kind == KIND["scale"], scale, Mux(d1.kind == KIND["dtanh"], xa, xb))
            mul = fp_mul(m, xa, mb, name=f"vmul{l}")
            res = Mux(d1.kind == KIND["neg"], xa ^ _SIGN,
                      Mux((d1.kind == KIND["add"]) | (d1.kind == KIND["sub"]), add, mul))
            m.d.sync += r1[l].eq(res)

        # -- second operation: 1 - t·t for VDTANH --
        s2 = Signal(info)
        m.d.sync += s2.eq(s1)
        r2 = [Signal(32, name=f"vec_r2_{l}") for l in range(L)]
        for l in range(L):
            sub = fp_add(m, Const(_ONE, 32), r1[l], Const(1, 1), name=f"vdtanh{l}")
            m.d.sync += r2[l].eq(Mux(s1.kind == KIND["dtanh"], sub, r1[l]))

        # -- write-back --
        arith = s2.kind <= KIND["dtanh"]

        def write(port, en, t, lanes):
            m.d.comb += [
                port.en.eq(en & t.word_ok.any()), port.buf.eq(t.buf), port.addr.eq(t.addr),
                port.data.eq(Cat(*(Mux(t.lane_ok[l], lanes[l], 0) for l in range(L)))),
                port.be.eq(Cat(*(Mux(t.word_ok[j], 0xFF, 0x00) for j in range(W)))),
            ]

        write(self.w, s2.valid & arith, s2, r2)

        # -- special functions: the data cycle's pass enters its pipeline, with
        # what its write-back needs as the tag --
        for name, func, kinds, port in (("tanh", SfuFunc.TANH, ("tanh",), self.w_tanh),
                                        ("sincos", SfuFunc.SINCOS, ("sin", "cos"), self.w_sincos)):
            pipe = SfuPipeline(L, func, tag_width=info.size)
            m.submodules[f"sfu_{name}"] = pipe
            mine = Cat(*(d1.kind == KIND[k] for k in kinds)).any()
            m.d.comb += [pipe.i_valid.eq(d1.valid & mine), pipe.i_x.eq(self.r_a.data),
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
            m.d.comb += [pipe.i_valid.eq(d1.valid & (d1.kind == KIND[k])), pipe.i_a.eq(self.r_a.data),
                         pipe.i_b.eq(self.r_b.data), pipe.i_tag.eq(d1.as_value())]
        div, sqrt = pipes["div"], pipes["sqrt"]
        if div.depth != sqrt.depth:  # then their writes can meet: each would need its own port
            raise ValueError(f"VDIV and VSQRT share a write port, which needs equal depths ({div.depth}, {sqrt.depth})")
        t = Signal(info, name="divsqrt_tag")
        m.d.comb += t.as_value().eq(Mux(div.o_valid, div.o_tag, sqrt.o_tag))
        res = Mux(div.o_valid, div.o_r, sqrt.o_r)
        write(self.w_divsqrt, div.o_valid | sqrt.o_valid, t, [res[32 * l:32 * l + 32] for l in range(L)])
        return m
