"""The FP32 vector unit: ``cfg.vector_lanes`` lanes of binary32 primitives.

One operation (a :class:`~pinta.hw.fp32.VectorOp`) is applied to every lane
at once: ``r[l] = op(a[l], b[l], c[l])``. Each lane has its own adder,
multiplier, divider, square root and exact-ops unit (hw/fp32); the operation
is sent to the one unit of its class in every lane, and the result vector is
emitted when the lanes are done (they run in lockstep, so all finish in the
same cycle).

Timing: the unit holds one operation at a time. From the input transfer to
``o.valid``: 2 cycles for add/sub/mul/exact ops, ``FP32Divider.LATENCY + 1``
for div and sqrt. A new operation is accepted in the cycle its predecessor's
result is taken, so back-to-back single-cycle ops run at one per 2 cycles.
This is the execution engine of the special-function sequencer
(hw/special_function_unit.py), which issues one micro-op at a time anyway.
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from pinta.config import PintaConfig

from .fp32 import FP32AddSub, FP32Divider, FP32Misc, FP32Multiplier, FP32Sqrt, OpClass, VectorOp, op_class
from .fp32.units import DIV_BITS_PER_CYCLE, div_latency, sqrt_latency  # DIV_BITS_PER_CYCLE: re-exported

__all__ = ["VectorUnit", "vector_in_layout", "vector_out_layout", "DIV_BITS_PER_CYCLE"]


def vector_in_layout(lanes: int) -> data.StructLayout:
    """Input payload: ``op`` and per-lane operands ``a``, ``b``, ``c`` (binary32 bit patterns)."""
    vec = data.ArrayLayout(unsigned(32), lanes)
    return data.StructLayout({"op": VectorOp, "a": vec, "b": vec, "c": vec})


def vector_out_layout(lanes: int) -> data.StructLayout:
    """Output payload: per-lane result ``r``."""
    return data.StructLayout({"r": data.ArrayLayout(unsigned(32), lanes)})


class VectorUnit(wiring.Component):
    """``lanes`` binary32 lanes executing one :class:`VectorOp` per transfer.

    Members
    -------
    i : In(stream.Signature(vector_in_layout(lanes)))
    o : Out(stream.Signature(vector_out_layout(lanes)))

    Parameters
    ----------
    cfg : PintaConfig
        ``cfg.vector_lanes`` sets the lane count (``lanes`` overrides it, for
        units that need a different width, e.g. a scalar unit).
    bits_per_cycle : int
        Divider / square-root digits per clock.
    classes : iterable of OpClass, optional
        The functional units to build (default: all). A client that issues
        only some operations (the Stein engine: add/sub, mul, div) leaves the
        others out; an operation of a missing class must not be issued.
    """

    def __init__(self, cfg: PintaConfig, *, lanes: int | None = None, bits_per_cycle: int = DIV_BITS_PER_CYCLE,
                 classes=None):
        self.cfg = cfg
        self.lanes = lanes or cfg.vector_lanes
        self.bits_per_cycle = bits_per_cycle
        self.classes = tuple(OpClass) if classes is None else tuple(OpClass(c) for c in classes)
        # _Iterative.LATENCY of the lane units
        self.div_latency = div_latency(bits_per_cycle)
        self.sqrt_latency = sqrt_latency(bits_per_cycle)
        super().__init__({"i": In(stream.Signature(vector_in_layout(self.lanes))),
                          "o": Out(stream.Signature(vector_out_layout(self.lanes)))})

    def latency(self, op: VectorOp) -> int:
        """Cycles from the input transfer of ``op`` to its ``o.valid``."""
        return self.op_latency(op, self.bits_per_cycle)

    @staticmethod
    def op_latency(op: VectorOp, bits_per_cycle: int = DIV_BITS_PER_CYCLE) -> int:
        """:meth:`latency` without an instance (one output-capture cycle after the lane unit)."""
        cls = op_class(op)
        if cls == OpClass.DIV:
            return div_latency(bits_per_cycle) + 1
        if cls == OpClass.SQRT:
            return sqrt_latency(bits_per_cycle) + 1
        return 2

    def elaborate(self, platform):
        m = Module()
        busy = Signal()
        cls = Signal(OpClass)
        p = self.i.payload
        m.d.comb += self.i.ready.eq(~busy & (~self.o.valid | self.o.ready))
        load = Signal()
        m.d.comb += load.eq(self.i.valid & self.i.ready)
        in_cls = Signal(OpClass)
        with m.Switch(p.op):
            for op in VectorOp:
                if op_class(op) != OpClass.MISC:
                    with m.Case(op):
                        m.d.comb += in_cls.eq(op_class(op))
            with m.Default():
                m.d.comb += in_cls.eq(OpClass.MISC)
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        with m.If(load):
            m.d.sync += [busy.eq(1), cls.eq(in_cls)]

        done = []
        for lane in range(self.lanes):
            makers = {OpClass.ADDSUB: FP32AddSub, OpClass.MUL: FP32Multiplier, OpClass.MISC: FP32Misc,
                      OpClass.DIV: lambda: FP32Divider(self.bits_per_cycle),
                      OpClass.SQRT: lambda: FP32Sqrt(self.bits_per_cycle)}
            units = {k: makers[k]() for k in self.classes}
            for k, u in units.items():
                m.submodules[f"{k.name.lower()}{lane}"] = u
                m.d.comb += [u.i.valid.eq(load & (in_cls == k)), u.o.ready.eq(1)]
            a, b, c = p.a[lane], p.b[lane], p.c[lane]
            for k, u in units.items():
                m.d.comb += u.i.payload.a.eq(a)
                if k != OpClass.SQRT:
                    m.d.comb += u.i.payload.b.eq(b)
                if k == OpClass.ADDSUB:
                    m.d.comb += u.i.payload.sub.eq(p.op == VectorOp.SUB)
                if k == OpClass.MISC:
                    m.d.comb += [u.i.payload.op.eq(p.op), u.i.payload.c.eq(c)]
            lane_done = Signal(name=f"done{lane}")
            # Each class's result is captured when its unit answers (only the
            # unit the operation was sent to ever answers).
            for k, u in units.items():
                with m.If(cls == k):
                    m.d.comb += lane_done.eq(u.o.valid)
                    with m.If(busy & u.o.valid):
                        m.d.sync += self.o.payload.r[lane].eq(u.o.payload)
            done.append(lane_done)
        # Lanes run in lockstep: lane 0 finishing means all have.
        with m.If(busy & done[0]):
            m.d.sync += [busy.eq(0), self.o.valid.eq(1)]
        return m
