"""Simulator reports: compute, bandwidth and access counts (CSV and JSON).

Like SCALE-Sim's three reports:

* ``compute.csv``   -- per unit: busy, stall, idle cycles and utilisation
  (busy / total cycles), plus the total.
* ``bandwidth.csv`` -- per buffer and for DRAM: bits read and written and the
  average bytes per cycle over the whole program.
* ``access.csv``    -- action counts for the energy model: MACs per mode,
  SRAM bits read/written per buffer, quantizer blocks, special-function,
  vector and RNG element ops, off-chip bytes.
* ``trace.csv``     -- per instruction: unit, issue cycle, occupancy, done
  cycle (what the RTL's counters are compared with).
* ``summary.json``  -- all of the above plus the config, clock and units.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from pinta.config import PintaConfig

from .isa import Unit
from .program import Analysis

__all__ = ["compute_rows", "bandwidth_rows", "access_rows", "summary", "write_reports", "format_summary"]


def compute_rows(an: Analysis) -> list[dict]:
    rows = []
    for u in Unit:
        n = u.name
        rows.append({"unit": n, "busy_cycles": an.busy[n], "stall_cycles": an.stall[n], "idle_cycles": an.idle(n),
                     "total_cycles": an.total_cycles, "utilisation": round(an.utilisation(n), 6)})
    return rows


def bandwidth_rows(an: Analysis) -> list[dict]:
    t = max(an.total_cycles, 1)
    rows = []
    for buf in an.sram_read_bits:
        r, w = an.sram_read_bits[buf], an.sram_write_bits[buf]
        rows.append({"memory": buf, "read_bits": r, "write_bits": w,
                     "read_bytes_per_cycle": round(r / 8 / t, 6), "write_bytes_per_cycle": round(w / 8 / t, 6)})
    rows.append({"memory": "dram", "read_bits": an.dram_read_bytes * 8, "write_bits": an.dram_write_bytes * 8,
                 "read_bytes_per_cycle": round(an.dram_read_bytes / t, 6), "write_bytes_per_cycle": round(an.dram_write_bytes / t, 6)})
    return rows


def access_rows(an: Analysis) -> list[dict]:
    rows = [{"action": k, "count": v, "unit": "MACs" if k.startswith("mac_") else "blocks" if k.endswith("blocks") else "elements"}
            for k, v in sorted(an.actions.items())]
    for buf in an.sram_read_bits:
        rows.append({"action": f"sram_read_{buf}", "count": an.sram_read_bits[buf], "unit": "bits"})
        rows.append({"action": f"sram_write_{buf}", "count": an.sram_write_bits[buf], "unit": "bits"})
    rows.append({"action": "dram_read", "count": an.dram_read_bytes, "unit": "bytes"})
    rows.append({"action": "dram_write", "count": an.dram_write_bytes, "unit": "bytes"})
    return rows


def trace_rows(an: Analysis) -> list[dict]:
    return [{"index": s.index, "mnemonic": s.mnemonic, "unit": s.unit.name, "issue": s.issue,
             "occupancy": s.occupancy, "done": s.done} for s in an.schedule]


def summary(an: Analysis, cfg: PintaConfig) -> dict:
    return {
        "config": cfg.name,
        "clock_mhz": cfg.clock_mhz,
        "instructions": len(an.program),
        "total_cycles": an.total_cycles,
        "time_us": an.total_cycles / cfg.clock_mhz,
        "units": "cycles; bandwidth in bytes per cycle averaged over total_cycles; sram traffic in bits",
        "compute": compute_rows(an),
        "bandwidth": bandwidth_rows(an),
        "access": access_rows(an),
    }


def _write_csv(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()) if rows else ["empty"])
        w.writeheader()
        w.writerows(rows)


def write_reports(an: Analysis, cfg: PintaConfig, out_dir: str | Path) -> list[Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for name, rows in (("compute", compute_rows(an)), ("bandwidth", bandwidth_rows(an)),
                       ("access", access_rows(an)), ("trace", trace_rows(an))):
        p = out / f"{name}.csv"
        _write_csv(p, rows)
        files.append(p)
    p = out / "summary.json"
    p.write_text(json.dumps(summary(an, cfg), indent=2) + "\n")
    files.append(p)
    return files


def format_summary(an: Analysis, cfg: PintaConfig) -> str:
    lines = [f"config {cfg.name}, {len(an.program)} instructions, {an.total_cycles} cycles "
             f"({an.total_cycles / cfg.clock_mhz:.3f} us at {cfg.clock_mhz:g} MHz)",
             f"{'unit':<5} {'busy':>10} {'stall':>10} {'idle':>10} {'util':>7}"]
    for r in compute_rows(an):
        lines.append(f"{r['unit']:<5} {r['busy_cycles']:>10} {r['stall_cycles']:>10} {r['idle_cycles']:>10} {r['utilisation']:>7.1%}")
    macs = {k: v for k, v in an.actions.items() if k.startswith("mac_")}
    if macs:
        lines.append("MACs: " + ", ".join(f"{k[4:]} {v}" for k, v in sorted(macs.items())))
    lines.append(f"DRAM: {an.dram_read_bytes} B read, {an.dram_write_bytes} B written")
    return "\n".join(lines)
