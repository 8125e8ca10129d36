"""Transaction-level stream driver for units that hold one operation at a
time (the special-function unit, the DiffQuant unit's Stein engine).

Unlike the per-cycle :func:`cocotb_streams.drive`, idle cycles while the unit
computes are skipped with one ``RisingEdge(o.valid)`` trigger, so long
micro-programs cost Python time per transaction, not per clock. Inputs and
outputs change on falling edges; transfers happen on rising edges. The
stream rules are checked the same way: a held ``o.valid`` keeps its payload
until taken, and nothing is emitted without an input.
"""

from __future__ import annotations

import random

from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge
from cocotb.utils import get_sim_time

from cocotb_streams import value_of

PERIOD_NS = 10


def _port(dut, name: str, member: str):
    return getattr(dut, f"{name}__{member}")


async def send(dut, payload: int, rng: random.Random, p_valid: float, port: str = "i") -> float:
    """Offer ``payload`` on input stream ``port`` (after random idle cycles)
    until taken. Call at a falling edge; returns the sim time (ns) of the
    transfer edge."""
    valid, ready = _port(dut, port, "valid"), _port(dut, port, "ready")
    while rng.random() >= p_valid:
        await FallingEdge(dut.clk)
    _port(dut, port, "payload").value = payload
    valid.value = 1
    while True:
        await ReadOnly()
        taken = value_of(ready) == 1
        t = get_sim_time("ns") + PERIOD_NS / 2
        await FallingEdge(dut.clk)
        if taken:
            valid.value = 0
            return t


def latency_cycles(t_in: float, t_valid: float) -> int:
    """Latency in the convention of :func:`cocotb_streams.drive` and the
    components' ``latency``: cycles from the one whose edge takes the input
    to the first one in which the output is offered."""
    return round((t_valid - t_in) / PERIOD_NS) + 1


def fast_pack(layout, **fields) -> int:
    """Pack a flat struct of ints and lists of ints (array fields) using the
    layout's offsets; much cheaper per call than the generic ``pack``."""
    out = 0
    for name, value in fields.items():
        field = layout[name]
        if isinstance(value, (list, tuple)):
            w = field.shape.elem_shape.width if hasattr(field.shape, "elem_shape") else 32
            word = 0
            for k, v in enumerate(value):
                word |= (int(v) & ((1 << w) - 1)) << (k * w)
            out |= word << field.offset
        else:
            out |= (int(value) & ((1 << field.width) - 1)) << field.offset
    return out


def fast_unpack_array(raw: int, layout, name: str, count: int, width: int = 32) -> list[int]:
    """The ``count`` unsigned elements of array field ``name`` of ``raw``."""
    off = layout[name].offset
    mask = (1 << width) - 1
    return [(raw >> (off + k * width)) & mask for k in range(count)]


async def receive(dut, rng: random.Random, p_ready: float, port: str = "o") -> tuple[int, float]:
    """Take one payload from output stream ``port`` with random back-pressure.
    Call at a falling edge; returns (payload, sim time (ns) at which valid rose)."""
    o_valid, o_ready, o_payload = (_port(dut, port, m) for m in ("valid", "ready", "payload"))
    held = None
    t_valid = None
    while True:
        ready = rng.random() < p_ready
        o_ready.value = int(ready)
        await ReadOnly()
        if value_of(o_valid):
            payload = value_of(o_payload)
            if t_valid is None:
                t_valid = get_sim_time("ns") - PERIOD_NS / 2
            if held is not None:
                assert payload == held, "o.payload changed while o.valid was high and o.ready low"
            await FallingEdge(dut.clk)
            if ready:
                o_ready.value = 0
                return payload, t_valid
            held = payload
        else:
            assert held is None, "o.valid dropped before the transfer happened"
            await RisingEdge(o_valid)
            t_valid = get_sim_time("ns")
            await FallingEdge(dut.clk)


async def idle_check(dut, cycles: int = 8, port: str = "o") -> None:
    """With ready high and no input, the unit must emit nothing on ``port``."""
    _port(dut, port, "ready").value = 1
    for _ in range(cycles):
        await ReadOnly()
        assert value_of(_port(dut, port, "valid")) == 0, "unit produced an output nobody asked for"
        await FallingEdge(dut.clk)
    _port(dut, port, "ready").value = 0
