"""Cycle-by-cycle stream driver for the cocotb benches (runs inside the simulator).

One coroutine owns the clock edge: at each falling edge it sets the source's
``valid``/``payload`` and the sink's ``ready`` (random back-pressure from a
seeded generator), waits for the combinational logic to settle, decides which
transfers happen at the next rising edge, and checks the stream rules on
the DUT's output:

* once ``o.valid`` is high it stays high, with the same payload, until a
  transfer happens;
* the DUT never produces more outputs than expected.

The source obeys the same rule (valid held, payload stable until accepted).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge


def value_of(handle) -> int:
    v = handle.value
    to_unsigned = getattr(v, "to_unsigned", None)
    return to_unsigned() if to_unsigned is not None else int(v)


@dataclass
class StreamRun:
    """What :func:`drive` observed.

    Members
    -------
    outputs : list[int]
        Output payloads in order.
    in_cycles : list[int]
        Cycle index of each input transfer.
    out_cycles : list[int]
        Cycle index of each output transfer.
    cycles : int
        Cycles simulated.
    """

    outputs: list[int] = field(default_factory=list)
    in_cycles: list[int] = field(default_factory=list)
    out_cycles: list[int] = field(default_factory=list)
    cycles: int = 0


async def reset(dut, cycles: int = 2, inputs=("i",), outputs=("o",)) -> None:
    """Start the clock and pulse the synchronous reset (all valid/ready low)."""
    Clock(dut.clk, 10, unit="ns").start()
    dut.rst.value = 1
    for port in inputs:
        getattr(dut, f"{port}__valid").value = 0
    for port in outputs:
        getattr(dut, f"{port}__ready").value = 0
    for _ in range(cycles):
        await RisingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.rst.value = 0


async def drive(dut, inputs: list[int], n_outputs: int, *, rng: random.Random,
                p_valid: float = 1.0, p_ready: float = 1.0, max_cycles: int | None = None,
                inp: str = "i", out: str = "o") -> StreamRun:
    """Send ``inputs`` on stream ``inp`` and collect ``n_outputs`` payloads
    from stream ``out``.

    Must be called right after a falling edge (as :func:`reset` leaves it).
    """
    h_i_valid, h_i_ready, h_i_payload = (getattr(dut, f"{inp}__{m}") for m in ("valid", "ready", "payload"))
    h_o_valid, h_o_ready, h_o_payload = (getattr(dut, f"{out}__{m}") for m in ("valid", "ready", "payload"))
    run = StreamRun()
    limit = max_cycles or 64 * (len(inputs) + n_outputs) + 100
    sent = 0
    src_valid = False
    held = None  # (payload) of an output seen valid but not taken
    cycle = 0
    while len(run.outputs) < n_outputs:
        if cycle >= limit:
            raise AssertionError(f"timeout after {cycle} cycles: {sent}/{len(inputs)} inputs sent, "
                                 f"{len(run.outputs)}/{n_outputs} outputs received")
        # -- drive (falling edge) ---------------------------------------
        if not src_valid and sent < len(inputs) and rng.random() < p_valid:
            src_valid = True
            h_i_payload.value = inputs[sent]
        h_i_valid.value = int(src_valid)
        ready = rng.random() < p_ready
        h_o_ready.value = int(ready)
        await ReadOnly()
        # -- sample the settled state: what happens at the next rising edge
        in_fire = src_valid and value_of(h_i_ready) == 1
        o_valid = value_of(h_o_valid) == 1
        o_payload = value_of(h_o_payload) if o_valid else None
        if held is not None:
            assert o_valid, f"cycle {cycle}: o.valid dropped before the transfer happened"
            assert o_payload == held, f"cycle {cycle}: o.payload changed while o.valid was high and o.ready low"
        if o_valid and ready:
            run.outputs.append(o_payload)
            run.out_cycles.append(cycle)
            held = None
        elif o_valid:
            held = o_payload
        if in_fire:
            run.in_cycles.append(cycle)
            sent += 1
            src_valid = False
        await RisingEdge(dut.clk)
        await FallingEdge(dut.clk)
        cycle += 1
    h_i_valid.value = 0
    h_o_ready.value = 0
    # A few idle cycles: the DUT must not emit anything unexpected.
    h_o_ready.value = 1
    for _ in range(8):
        await ReadOnly()
        assert value_of(h_o_valid) == 0, "DUT produced more outputs than inputs call for"
        await FallingEdge(dut.clk)
    h_o_ready.value = 0
    run.cycles = cycle
    assert sent == len(inputs), f"only {sent}/{len(inputs)} inputs were accepted"
    return run
