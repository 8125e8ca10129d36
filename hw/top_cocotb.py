"""cocotb bench for ``pinta bench rtl-top``: time one program on the Verilator model of the top.

Not a test: it loads the program and its DRAM image through the host port
(untimed), then runs the program ``repeat`` times. Each run is timed from the
start write to the read of the status register, and in between the bench
only waits for simulated time (``cycles`` + a few clock periods, known from
the simulator), so no Python runs per clock cycle: the figure is Verilator's
speed plus one start/stop exchange with cocotb.

Input: PINTA_TOP_BENCH (JSON: program words as hex, DRAM image, cycles,
repeat). Output: PINTA_TOP_BENCH_RESULTS (JSON: seconds per run, the RTL's
cycle counter and status per run).
"""

from __future__ import annotations

import json
import os
import time

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge, Timer

from pinta.hw.top import HOST_DRAM_BASE, HOST_PMEM_BASE, HOST_REGS

PERIOD_NS = 10


def _int(handle) -> int:
    v = handle.value
    f = getattr(v, "to_unsigned", None)
    return f() if f is not None else int(v)


class Host:
    """The host side of ``PintaTop``'s memory-mapped port (docs/hardware-top.md §1).

    Members: ``write(addr, value)`` (one write cycle), ``read(addr)`` (the
    value is on ``host_rdata`` one cycle after the request). Addresses are
    64-bit word addresses. Shared by this bench and the regressions
    (tests/hw/cocotb_top.py).
    """

    def __init__(self, dut):
        self.dut = dut

    async def write(self, addr: int, value: int) -> None:
        d = self.dut
        await FallingEdge(d.clk)
        d.host_addr.value = addr
        d.host_wdata.value = value & ((1 << 64) - 1)
        d.host_we.value = 1
        await FallingEdge(d.clk)
        d.host_we.value = 0

    async def read(self, addr: int) -> int:
        d = self.dut
        await FallingEdge(d.clk)
        d.host_addr.value = addr
        d.host_re.value = 1
        await FallingEdge(d.clk)
        d.host_re.value = 0
        return _int(d.host_rdata)


async def start(dut, period_ns: int = PERIOD_NS) -> Host:
    """Start the clock, hold reset for two cycles with the host port idle; returns the host."""
    Clock(dut.clk, period_ns, unit="ns").start()
    dut.rst.value = 1
    dut.host_we.value = 0
    dut.host_re.value = 0
    dut.host_addr.value = 0
    dut.host_wdata.value = 0
    for _ in range(2):
        await RisingEdge(dut.clk)
    dut.rst.value = 0
    return Host(dut)


async def load(host: Host, program_hex: list[str], dram: dict) -> int:
    """Write the program (128-bit words as hex) and the DRAM image ({word address: words}); returns its length."""
    words = [int(w, 16) for w in program_hex]
    for i, w in enumerate(words):
        await host.write(HOST_PMEM_BASE + 2 * i, w & ((1 << 64) - 1))
        await host.write(HOST_PMEM_BASE + 2 * i + 1, w >> 64)
    for base, image in dram.items():
        for j, w in enumerate(image):
            await host.write(HOST_DRAM_BASE + int(base) + j, int(w))
    await host.write(HOST_REGS["prog_len"], len(words))
    return len(words)


@cocotb.test()
async def timed_runs(dut):
    host = await start(dut)
    with open(os.environ["PINTA_TOP_BENCH"]) as f:
        case = json.load(f)
    await load(host, case["program"], case["dram"])
    runs = []
    for _ in range(int(case["repeat"])):
        t0 = time.perf_counter()
        await host.write(HOST_REGS["control"], 1)
        await Timer((int(case["cycles"]) + 4) * PERIOD_NS, unit="ns")
        status = await host.read(HOST_REGS["control"])
        t1 = time.perf_counter()
        runs.append({"seconds": t1 - t0, "status": status, "cycles": await host.read(HOST_REGS["cycles"])})
    with open(os.environ["PINTA_TOP_BENCH_RESULTS"], "w") as f:
        json.dump({"runs": runs}, f)
