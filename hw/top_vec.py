"""VEC unit of the PINTA top: element-wise FP32 vector instructions.

Executes VADD, VSUB, VMUL, VNEG, VSCALE and VDTANH (``1 - a·a``) on
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

Operands must have ``dst``'s element count (the simulator checks programs).
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from pinta.config import PintaConfig
from pinta.sim.isa import OPCODE_SHIFT, OPCODES

from .buffers import ReadPortSignature, WritePortSignature
from .controller import DESC, field_slice, unit_command_layout
from .fp32.arith import fp_add, fp_mul

__all__ = ["VecUnit", "VEC_OPS"]

#: Vector instructions this unit executes (the controller refuses the others).
VEC_OPS = ("VADD", "VSUB", "VMUL", "VNEG", "VSCALE", "VDTANH")

_ONE = 0x3F800000
_SIGN = 0x80000000


def _opcode(name: str) -> int:
    return next(s.opcode for s in OPCODES.values() if s.mnemonic == name)


class VecUnit(wiring.Component):
    """Element-wise FP32 instructions, one pass of L lanes per cycle.

    Members
    -------
    start : In(1), cmd : In(unit_command_layout()) -- issue strobe and command
    r_a, r_b : Out(ReadPortSignature(L/2)) -- operand reads (L/2 words: two fp32 per word)
    w : Out(WritePortSignature(L/2))       -- result writes
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
        two = is_["VADD"] | is_["VSUB"] | is_["VMUL"]  # b is a descriptor only for these
        for port, t, en in ((self.r_a, a, active), (self.r_b, b, active & two)):
            m.d.comb += [port.en.eq(en), port.buf.eq(t.buf), port.addr.eq(t.addr + woff)]

        # -- what travels with a pass (the command register is reused by the next
        # instruction from its issue + 1 on, while this one's passes drain) --
        info = data.StructLayout({
            "valid": 1, "kind": 3, "buf": 2, "addr": 32,
            "lane_ok": L,    # element p·L + l < n
            "word_ok": W,    # word holds an element of dst: written (whole)
        })
        KIND = {"add": 0, "sub": 1, "mul": 2, "neg": 3, "scale": 4, "dtanh": 5}
        kind = Signal(3)
        with m.If(is_["VADD"]):
            m.d.comb += kind.eq(KIND["add"])
        with m.Elif(is_["VSUB"]):
            m.d.comb += kind.eq(KIND["sub"])
        with m.Elif(is_["VMUL"]):
            m.d.comb += kind.eq(KIND["mul"])
        with m.Elif(is_["VNEG"]):
            m.d.comb += kind.eq(KIND["neg"])
        with m.Elif(is_["VSCALE"]):
            m.d.comb += kind.eq(KIND["scale"])
        with m.Else():
            m.d.comb += kind.eq(KIND["dtanh"])
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
        m.d.comb += [
            self.w.en.eq(s2.valid & s2.word_ok.any()), self.w.buf.eq(s2.buf), self.w.addr.eq(s2.addr),
            self.w.data.eq(Cat(*(Mux(s2.lane_ok[l], r2[l], 0) for l in range(L)))),
            self.w.be.eq(Cat(*(Mux(s2.word_ok[j], 0xFF, 0x00) for j in range(W)))),
        ]
        return m
