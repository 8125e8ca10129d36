"""cocotb bench: run ISA programs on the whole PINTA top (PintaSystem) through its host port.

The pytest side (tests/hw/test_rtl_top.py) writes a JSON case file and names
it in PINTA_TOP_CASES; each case holds the program (16-byte words, hex), the
DRAM image to preload ({word address: [64-bit words]}) and the DRAM regions
to read back. The bench loads program and data through the memory-mapped
host interface, starts the controller, polls the status register until the
run is done, then reads the counters and the DRAM regions into
PINTA_TOP_RESULTS (JSON). All comparisons happen in pytest.
"""

from __future__ import annotations

import json
import os

import cocotb
from cocotb.triggers import RisingEdge

from pinta.hw.top import HOST_DRAM_BASE, HOST_REGS
from pinta.hw.top_cocotb import Host, load, start

UNITS = ("CTRL", "DMA", "MAC", "QNT", "VEC")


async def run_case(dut, host: Host, case: dict) -> dict:
    await load(host, case["program"], case["dram"])
    await host.write(HOST_REGS["control"], 1)
    limit = int(case.get("max_cycles", 200000))
    status = 0
    for _ in range(limit // 16):
        for _ in range(16):
            await RisingEdge(dut.clk)
        status = await host.read(HOST_REGS["control"])
        if status & 2:
            break
    else:
        raise AssertionError(f"program did not finish within {limit} cycles (status 0x{status:x})")
    out = {
        "status": status,
        "error": (status >> 4) & 0xF,
        "error_pc": (status >> 32) & 0xFFFF,
        "cycles": await host.read(HOST_REGS["cycles"]),
        "issued": await host.read(HOST_REGS["issued"]),
        "sb_full": await host.read(HOST_REGS["sb_full"]),
        "mac_late": await host.read(HOST_REGS["mac_late"]),
        "late_writes": await host.read(HOST_REGS["late_writes"]),
        "busy": {u: await host.read(HOST_REGS["busy"] + k) for k, u in enumerate(UNITS)},
        "stall": {u: await host.read(HOST_REGS["stall"] + k) for k, u in enumerate(UNITS)},
        "regions": {},
    }
    for name, (base, n) in case["read"].items():
        out["regions"][name] = [str(await host.read(HOST_DRAM_BASE + base + j)) for j in range(n)]
    return out


@cocotb.test()
async def programs(dut):
    host = await start(dut)
    cases = json.loads(open(os.environ["PINTA_TOP_CASES"]).read())
    results = {}
    for name, case in cases.items():
        # Each case runs on a fresh machine state as far as the program is
        # concerned: it only reads what it loads (validated by the simulator).
        results[name] = await run_case(dut, host, case)
    with open(os.environ["PINTA_TOP_RESULTS"], "w") as f:
        json.dump(results, f)
