"""``pinta report RUN_DIR``: speedup, energy, accuracy, utilisation and area from a run folder.

The run-folder schema is documented in docs/reports.md (the training flow
writes it):

* ``run.json``       -- schema ``pinta-run/1``: pde, method, config (PintaConfig dict), settings;
* ``metrics.csv``    -- iteration, loss, rel_l2 (rel_l2 empty where not evaluated);
* ``sim_stats.json`` -- schema ``pinta-sim-stats/1``: clock_mhz and per-iteration cycles,
  per-unit busy/stall/idle cycles and action counts;
* optional ``area.json`` (``pinta area --json``) and ``baselines/*.json`` (``pinta baseline cpu``).

The report (``RUN_DIR/report/`` unless told otherwise) is ``report.md`` plus
PNG plots and CSV/JSON data. Every ratio names its baseline; the headline is
against H100 JAX-jit AD (shared/baselines/README.md). Units: seconds,
joules, cycles, mm².
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pinta.config import ConfigError, PintaConfig

from . import area as area_mod
from .baselines import HEADLINE, Baselines, load_baseline_file, load_baselines
from .energy import category_of, energy_of, load_energy_table

__all__ = ["ReportError", "RunData", "load_run", "build_report", "iteration_stats_from_analysis", "RUN_SCHEMA", "SIM_SCHEMA", "UNITS"]

RUN_SCHEMA = "pinta-run/1"
SIM_SCHEMA = "pinta-sim-stats/1"
#: Units the simulator reports busy/stall/idle for (sim/isa.py Unit).
UNITS = ("CTRL", "DMA", "MAC", "QNT", "VEC")


class ReportError(ValueError):
    """A run folder that does not follow the schema; the message names the file and field."""


@dataclass
class RunData:
    """A parsed run folder."""

    path: Path
    run: dict[str, Any]
    config: PintaConfig
    metrics: list[dict[str, float | None]]
    sim: dict[str, Any]
    area: dict[str, Any] | None
    cpu_baseline_files: list[Path] = field(default_factory=list)

    @property
    def synthetic(self) -> bool:
        return bool(self.run.get("synthetic", False))


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ReportError(f"{path} is missing (see docs/reports.md for the run-folder schema)") from None
    except json.JSONDecodeError as e:
        raise ReportError(f"{path} is not valid JSON ({e})") from None


def _need(d: dict, key: str, where: str):
    if key not in d:
        raise ReportError(f"{where} lacks the field '{key}'")
    return d[key]


def _num(v) -> float | None:
    if v is None or v == "":
        return None
    return float(v)


def load_run(run_dir: str | Path, area_json: str | Path | None = None) -> RunData:
    """Read and check a run folder (docs/reports.md)."""
    p = Path(run_dir)
    if not p.is_dir():
        raise ReportError(f"run folder {p} does not exist")
    run = _read_json(p / "run.json")
    if run.get("schema") != RUN_SCHEMA:
        raise ReportError(f"{p / 'run.json'}: schema is {run.get('schema')!r}, expected '{RUN_SCHEMA}'")
    for k in ("pde", "method"):
        _need(run, k, str(p / "run.json"))
    try:
        cfg = PintaConfig.from_dict(_need(run, "config", str(p / "run.json")), source=str(p / "run.json"))
    except ConfigError as e:
        raise ReportError(str(e)) from None
    mpath = p / "metrics.csv"
    if not mpath.exists():
        raise ReportError(f"{mpath} is missing (see docs/reports.md)")
    with mpath.open(newline="") as f:
        reader = csv.DictReader(f)
        missing = {"iteration", "loss", "rel_l2"} - set(reader.fieldnames or [])
        if missing:
            raise ReportError(f"{mpath} lacks the columns {sorted(missing)}")
        metrics = [{"iteration": int(r["iteration"]), "loss": _num(r["loss"]), "rel_l2": _num(r["rel_l2"])}
                   for r in reader]
    sim = _read_json(p / "sim_stats.json")
    if sim.get("schema") != SIM_SCHEMA:
        raise ReportError(f"{p / 'sim_stats.json'}: schema is {sim.get('schema')!r}, expected '{SIM_SCHEMA}'")
    its = _need(sim, "iterations", str(p / "sim_stats.json"))
    if not its:
        raise ReportError(f"{p / 'sim_stats.json'}: 'iterations' is empty")
    for i, it in enumerate(its):
        for k in ("cycles", "units", "actions"):
            _need(it, k, f"{p / 'sim_stats.json'} iterations[{i}]")
    clock = float(_need(sim, "clock_mhz", str(p / "sim_stats.json")))
    if not math.isclose(clock, float(cfg.clock_mhz)):
        raise ReportError(f"{p / 'sim_stats.json'}: clock_mhz {clock} differs from the run config's {cfg.clock_mhz}")
    apath = Path(area_json) if area_json else p / "area.json"
    area = _read_json(apath) if apath.exists() else None
    if area_json and area is None:
        raise ReportError(f"area file {apath} does not exist")
    cpu = sorted((p / "baselines").glob("*.json")) if (p / "baselines").is_dir() else []
    return RunData(p, run, cfg, metrics, sim, area, cpu)


def iteration_stats_from_analysis(an, iteration: int) -> dict[str, Any]:
    """One ``sim_stats.json`` iteration record from a simulator ``Analysis`` (sim/program.py).

    For the training flow: cycles, per-unit busy/stall/idle cycles, and the
    action counts in the schema's names and units (MACs, blocks, elements,
    SRAM bits per buffer, DRAM bytes). Duck-typed: no import of the simulator.
    """
    units = {u: {"busy": int(an.busy[u]), "stall": int(an.stall[u]), "idle": int(an.idle(u))} for u in an.busy}
    actions: dict[str, int] = {k: int(v) for k, v in an.actions.items()}
    for buf, bits in an.sram_read_bits.items():
        actions[f"sram_read_{buf}"] = int(bits)
    for buf, bits in an.sram_write_bits.items():
        actions[f"sram_write_{buf}"] = int(bits)
    actions["dram_read"] = int(an.dram_read_bytes)
    actions["dram_write"] = int(an.dram_write_bytes)
    return {"iteration": int(iteration), "cycles": int(an.total_cycles), "units": units, "actions": actions}


# ---------------------------------------------------------------------------


def _mean_iteration(sim: dict) -> tuple[float, dict[str, float], dict[str, dict[str, float]]]:
    """Mean cycles, mean action counts and mean per-unit busy/stall/idle over the listed iterations."""
    its = sim["iterations"]
    n = len(its)
    cycles = sum(float(it["cycles"]) for it in its) / n
    actions: dict[str, float] = {}
    units: dict[str, dict[str, float]] = {}
    for it in its:
        for k, v in it["actions"].items():
            actions[k] = actions.get(k, 0.0) + float(v) / n
        for u, d in it["units"].items():
            slot = units.setdefault(u, {"busy": 0.0, "stall": 0.0, "idle": 0.0})
            for k in slot:
                slot[k] += float(d.get(k, 0)) / n
    return cycles, actions, units


def _fmt(x: float | None, unit: str = "", digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    return f"{x:.{digits}g}{unit}"


def _write_csv(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()) if rows else ["empty"])
        w.writeheader()
        w.writerows(rows)


def _mark(fig, synthetic: bool) -> None:
    """Lay out a figure; a synthetic run's figures say so on their face."""
    if synthetic:
        fig.suptitle("SYNTHETIC DATA (test fixture)", color="red")
    fig.tight_layout()


def _plots(out: Path, synthetic: bool, pinta_label: str, pinta_s: float, pinta_j: float, comp: list[dict], metrics, anchors,
           units_util: list[dict], per_unit_j: dict, area_rows: list[dict]) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = []
    # Time and energy per iteration: PINTA and every baseline, log scale.
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.45 * (len(comp) + 1) + 1.5))
    labels = [pinta_label] + [r["baseline"] for r in comp]
    for ax, key, pval, title in ((axes[0], "s_per_iter", pinta_s, "time per iteration (s)"),
                                 (axes[1], "j_per_iter", pinta_j, "energy per iteration (J)")):
        vals = [pval] + [r[key] if r[key] is not None else float("nan") for r in comp]
        ax.barh(range(len(vals)), vals, color=["tab:green"] + ["tab:gray"] * len(comp))
        ax.set_yticks(range(len(vals)), labels if ax is axes[0] else [""] * len(vals))
        ax.set_xscale("log")
        ax.set_title(title)
        ax.invert_yaxis()
    _mark(fig, synthetic)
    files.append(out / "time_energy.png")
    fig.savefig(files[-1], dpi=110)
    plt.close(fig)

    # Accuracy over iterations with the FP32 anchors.
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    it = [m["iteration"] for m in metrics if m["loss"] is not None]
    axes[0].semilogy(it, [m["loss"] for m in metrics if m["loss"] is not None], label="PINTA loss")
    axes[0].set_xlabel("iteration")
    axes[0].set_title("training loss")
    ev = [(m["iteration"], m["rel_l2"]) for m in metrics if m["rel_l2"] is not None]
    if ev:
        axes[1].semilogy([e[0] for e in ev], [e[1] for e in ev], "o-", label="PINTA rel. L2")
    for a, style in zip(anchors, ("--", ":", "-.", "--", ":")):
        axes[1].axhline(a.rel_l2_raw, ls=style, color="tab:red",
                        label=f"FP32 {a.method.upper()} {a.iters} it (H100 PyTorch)")
    axes[1].set_xlabel("iteration")
    axes[1].set_title("relative L2 error")
    axes[1].legend(fontsize=7)
    _mark(fig, synthetic)
    files.append(out / "accuracy.png")
    fig.savefig(files[-1], dpi=110)
    plt.close(fig)

    # Utilisation (busy/stall/idle fractions) and energy per unit.
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    names = [r["unit"] for r in units_util]
    bottom = [0.0] * len(names)
    for key, color in (("busy_frac", "tab:green"), ("stall_frac", "tab:orange"), ("idle_frac", "tab:gray")):
        vals = [r[key] for r in units_util]
        axes[0].bar(names, vals, bottom=bottom, color=color, label=key.split("_")[0])
        bottom = [b + v for b, v in zip(bottom, vals)]
    axes[0].set_title("cycles per unit (fraction of iteration)")
    axes[0].legend(fontsize=8)
    ks = sorted(per_unit_j)
    axes[1].bar(ks, [per_unit_j[k] for k in ks], color="tab:blue")
    axes[1].set_title("energy per unit per iteration (J)")
    _mark(fig, synthetic)
    files.append(out / "utilisation_energy.png")
    fig.savefig(files[-1], dpi=110)
    plt.close(fig)

    if area_rows:
        fig, ax = plt.subplots(figsize=(7, 0.4 * len(area_rows) + 1.5))
        ax.barh([r["block"] for r in area_rows], [r["mm2"] for r in area_rows], color="tab:purple")
        ax.invert_yaxis()
        ax.set_xlabel("mm²")
        ax.set_title("area per block")
        _mark(fig, synthetic)
        files.append(out / "area.png")
        fig.savefig(files[-1], dpi=110)
        plt.close(fig)
    return files


def build_report(run_dir: str | Path, out_dir: str | Path | None = None, *, shared: str | Path | None = None,
                 node: float | None = None, voltage: float | None = None, energy_table: str | None = None,
                 rule: str = "dennard_cv2", area_json: str | Path | None = None,
                 area_node: float = area_mod.EDGE_NODE_NM, plots: bool = True) -> dict[str, Any]:
    """Write the report of ``run_dir``; returns the summary dict (also written as ``summary.json``).

    ``node`` (nm) / ``voltage`` (V): where PINTA's energy is evaluated
    (default: the energy table's own node and voltage), scaled with ``rule``.
    ``area_node``: node of the area figures (default 28 nm, the edge-class check).
    ``plots=False`` skips the PNGs (the Markdown still links them); for quick checks.
    """
    run = load_run(run_dir, area_json)
    cfg = run.config
    out = Path(out_dir) if out_dir else run.path / "report"
    out.mkdir(parents=True, exist_ok=True)
    pde, method = str(run.run["pde"]), str(run.run["method"])

    table = load_energy_table(energy_table or cfg.energy_table)
    cycles, actions, units = _mean_iteration(run.sim)
    pinta_s = cycles / cfg.clock_hz
    energy = energy_of(actions, table, config=cfg, node=node, voltage=voltage, rule=rule)
    pinta_j = energy.total_j

    bl = load_baselines(shared)
    for f in run.cpu_baseline_files:
        r, a = load_baseline_file(f)
        bl = bl.add(Baselines(r, a))
    runs = bl.for_pde(pde)
    if not runs:
        raise ReportError(f"no baselines for pde '{pde}' in the shared baselines or the run folder")
    headline = bl.headline(pde)
    strongest = bl.strongest(pde)

    comp = []
    for r in sorted(runs, key=lambda r: r.s_per_iter):
        ok = r.comparable
        comp.append({
            "baseline": r.label, "framework": r.framework, "method": r.method, "device": r.device,
            "source": r.source, "comparable": ok, "s_per_iter": r.s_per_iter, "j_per_iter": r.j_per_iter,
            "speedup_vs_baseline": r.s_per_iter / pinta_s if ok else None,
            "energy_ratio_vs_baseline": (r.j_per_iter / pinta_j) if (ok and r.j_per_iter is not None) else None,
        })
    _write_csv(out / "comparison.csv", [{"baseline": "PINTA (simulated)", "framework": "pinta", "method": method,
                                         "device": f"PINTA {cfg.name}", "source": "sim_stats.json",
                                         "comparable": True, "s_per_iter": pinta_s, "j_per_iter": pinta_j,
                                         "speedup_vs_baseline": None, "energy_ratio_vs_baseline": None}] + comp)

    e_rows = [{"action": a, "category": category_of(a), "count": actions[a], "unit": energy.entries[a].unit,
               "pj_per_unit": energy.entries[a].value, "joules": energy.per_action[a]}
              for a in sorted(energy.per_action)]
    _write_csv(out / "energy_breakdown.csv", e_rows)

    util_rows = []
    for u in sorted(units):
        d = units[u]
        util_rows.append({"unit": u, "busy_cycles": d["busy"], "stall_cycles": d["stall"], "idle_cycles": d["idle"],
                          "busy_frac": d["busy"] / cycles if cycles else 0.0,
                          "stall_frac": d["stall"] / cycles if cycles else 0.0,
                          "idle_frac": d["idle"] / cycles if cycles else 0.0,
                          "energy_j": energy.per_unit.get(u, 0.0)})
    _write_csv(out / "utilisation.csv", util_rows)

    cells = area_mod.blocks_from_area_json(run.area) if run.area else None
    ar = area_mod.area_report(cells, cfg, area_node)
    area_rows = ([{"block": b, "kind": "logic", "mm2": v, "gate_equivalents": ar.gate_equivalents[b]}
                  for b, v in ar.logic_mm2.items()]
                 + [{"block": b, "kind": "sram", "mm2": v, "gate_equivalents": None} for b, v in ar.sram_mm2.items()])
    _write_csv(out / "area.csv", area_rows)

    anchors = sorted(bl.anchors_for(pde), key=lambda a: (a.method, a.iters))
    last_eval = next((m for m in reversed(run.metrics) if m["rel_l2"] is not None), None)

    pinta_label = f"PINTA {cfg.name} ({method.upper()}, simulated)"
    plots = [] if not plots else _plots(out, run.synthetic, pinta_label, pinta_s, pinta_j, comp, run.metrics, anchors, util_rows, energy.per_unit,
                   area_rows)

    sources = sorted({e.source for e in table.entries.values()})
    dram_counted = any(a.startswith("dram_") and v > 0 for a, v in actions.items())
    summary = {
        "units": "seconds, joules, cycles, mm^2",
        "synthetic": run.synthetic,
        "pde": pde, "method": method, "config": cfg.to_dict(),
        "clock_mhz": cfg.clock_mhz,
        "energy": energy.to_dict(),
        "pinta": {"cycles_per_iter": cycles, "s_per_iter": pinta_s, "j_per_iter": pinta_j,
                  "sim_iterations_averaged": len(run.sim["iterations"])},
        "headline": {"baseline": headline.label, "framework": HEADLINE[0], "method": HEADLINE[1],
                     "speedup": headline.s_per_iter / pinta_s,
                     "energy_ratio": None if headline.j_per_iter is None else headline.j_per_iter / pinta_j,
                     "why": "JAX-jit is the strongest software baseline (shared/baselines/README.md)"},
        "strongest_by_time": {"baseline": strongest.label, "s_per_iter": strongest.s_per_iter},
        "comparison": comp,
        "accuracy": {"final_rel_l2": None if last_eval is None else last_eval["rel_l2"],
                     "final_eval_iteration": None if last_eval is None else last_eval["iteration"],
                     "anchors": [a.__dict__ for a in anchors]},
        "utilisation": util_rows,
        "area": ar.to_dict() | {"logic_synthesised": cells is not None},
        "files": [p.name for p in plots] + ["comparison.csv", "energy_breakdown.csv", "utilisation.csv", "area.csv",
                                            "summary.json", "report.md"],
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=str) + "\n")

    # ---- Markdown ----
    L: list[str] = []
    L.append(f"# PINTA report: {pde}, {method.upper()}, config '{cfg.name}'")
    L.append("")
    if run.synthetic:
        L.append("> **SYNTHETIC RUN FOLDER.** The figures below come from made-up inputs (a test fixture); "
                 "they say nothing about PINTA.")
        L.append("")
    hl = summary["headline"]
    L.append("## Headline")
    L.append("")
    L.append(f"PINTA (simulated, {cfg.clock_mhz:g} MHz, energy at {energy.node_nm:g} nm / {energy.voltage_v:g} V): "
             f"**{pinta_s * 1e3:.4g} ms** and **{pinta_j * 1e3:.4g} mJ** per training iteration "
             f"({cycles:.6g} cycles, mean of {len(run.sim['iterations'])} simulated iteration(s)).")
    L.append("")
    L.append(f"Against **{headline.label}** (the headline baseline: jitted JAX is the strongest software baseline, "
             f"shared/baselines/README.md): speedup **{hl['speedup']:.3g}×**, energy ratio "
             f"**{_fmt(hl['energy_ratio'])}×** (baseline J / PINTA J).")
    if strongest.label != headline.label:
        L.append(f"The lowest time per iteration among the baselines for {pde} is {strongest.label} "
                 f"({strongest.s_per_iter * 1e3:.4g} ms), not the headline baseline; its speedup is "
                 f"{strongest.s_per_iter / pinta_s:.3g}×.")
    else:
        L.append(f"It is also the fastest baseline measured for {pde}.")
    L.append("")
    L.append("## Time and energy per iteration against every baseline")
    L.append("")
    L.append("Speedup = baseline s/iter ÷ PINTA s/iter; energy ratio = baseline J/iter ÷ PINTA J/iter. "
             "Each row names its baseline.")
    L.append("")
    L.append("| baseline | device | s/iter | J/iter | speedup vs this baseline | energy ratio vs this baseline |")
    L.append("|---|---|---|---|---|---|")
    L.append(f"| {pinta_label} | simulated | {pinta_s:.4g} | {pinta_j:.4g} | — | — |")
    for r in comp:
        note = "" if r["comparable"] else " (reduced settings: no ratio)"
        L.append(f"| {r['baseline']}{note} | {r['device']} | {r['s_per_iter']:.4g} | {_fmt(r['j_per_iter'], '', 4)} | "
                 f"{_fmt(r['speedup_vs_baseline'])}{'×' if r['speedup_vs_baseline'] else ''} | "
                 f"{_fmt(r['energy_ratio_vs_baseline'])}{'×' if r['energy_ratio_vs_baseline'] else ''} |")
    L.append("")
    L.append("![time and energy](time_energy.png)")
    L.append("")
    L.append("## Accuracy")
    L.append("")
    if last_eval is None:
        L.append("No relative-L2 evaluation in metrics.csv.")
    else:
        L.append(f"Final relative L2 error: **{last_eval['rel_l2']:.3g}** at iteration {last_eval['iteration']}.")
    L.append("")
    if anchors:
        L.append("FP32 dense anchors (H100, PyTorch; shared/baselines/gpu-h100-pinn-fp32-accuracy.json):")
        L.append("")
        L.append("| method | iterations | rel. L2 (raw) | PINTA final ÷ anchor |")
        L.append("|---|---|---|---|")
        for a in anchors:
            ratio = None if last_eval is None else last_eval["rel_l2"] / a.rel_l2_raw
            L.append(f"| {a.method.upper()} | {a.iters} | {a.rel_l2_raw:.3g} | {_fmt(ratio)} |")
        L.append("")
    L.append("![accuracy](accuracy.png)")
    L.append("")
    L.append("## Utilisation and energy per unit")
    L.append("")
    L.append("| unit | busy | stall | idle | busy fraction | energy/iter (J) |")
    L.append("|---|---|---|---|---|---|")
    for r in util_rows:
        L.append(f"| {r['unit']} | {r['busy_cycles']:.6g} | {r['stall_cycles']:.6g} | {r['idle_cycles']:.6g} | "
                 f"{r['busy_frac']:.1%} | {r['energy_j']:.4g} |")
    if "SRAM" in energy.per_unit:
        L.append(f"| SRAM (all buffers) | | | | | {energy.per_unit['SRAM']:.4g} |")
    L.append("")
    L.append("Energy per category (J/iter): " + ", ".join(f"{k} {v:.4g}" for k, v in sorted(energy.per_category.items())) + ".")
    L.append("Per-action counts and energies: energy_breakdown.csv.")
    L.append("")
    L.append("![utilisation and energy](utilisation_energy.png)")
    L.append("")
    L.append(f"## Area at {ar.node_nm:g} nm")
    L.append("")
    if cells is None:
        L.append("No cell counts (area.json) in the run folder: logic blocks are **not included**; "
                 "only the SRAM buffers are priced.")
        L.append("")
    L.append("| block | kind | mm² |")
    L.append("|---|---|---|")
    for r in area_rows:
        L.append(f"| {r['block']} | {r['kind']} | {r['mm2']:.4g} |")
    L.append(f"| **total** | | **{ar.total_mm2:.4g}** |")
    L.append("")
    verdict = "within" if ar.within_edge_limit else "over"
    L.append(f"Edge-class check: total {ar.total_mm2:.4g} mm² at {ar.node_nm:g} nm is **{verdict}** the "
             f"{ar.edge_limit_mm2:g} mm² budget" + ("" if cells is not None else " (SRAM only: incomplete)") + ".")
    L.append("")
    if area_rows:
        L.append("![area](area.png)")
        L.append("")
    L.append("## Assumptions and exclusions")
    L.append("")
    L.append(f"- Clock: {cfg.clock_mhz:g} MHz (config '{cfg.name}'); PINTA time = simulated cycles ÷ clock.")
    L.append(f"- Energy table: '{table.name}' ({table.description}), source node {table.node_nm:g} nm, "
             f"{table.voltage_v:g} V. Evaluated at {energy.node_nm:g} nm, {energy.voltage_v:g} V; scaling: "
             f"{energy.scaling}" + (f" (rule '{rule}')" if energy.scaling != "none" else "") + ".")
    L.append("- Energy method: action counts × energy per action (Accelergy's method); derivations in "
             "docs/energy-model.md.")
    L.append("- Energy sources: " + "; ".join(sources) + ".")
    L.append("- Excluded from PINTA's energy: leakage (static) power, the controller and instruction fetch, "
             "clock tree, host-side work (sampling collocation points).")
    L.append("- DRAM: " + ("included (off-chip traffic counted by the simulator)." if dram_counted
                           else "no off-chip traffic was counted in these iterations (none charged)."))
    L.append("- GPU baselines: whole-board NVML energy including idle power (about 76 W), measured on an "
             "H100 (shared/baselines/README.md); PINTA's figure is core dynamic energy only, so energy ratios "
             "are not like for like.")
    L.append("- CPU baselines (if listed): wall time on the local machine with pinned threads, no energy.")
    L.append("- Area:")
    L += [f"  - {a}" for a in ar.assumptions]
    L.append("")
    L.append("Files: " + ", ".join(summary["files"]) + ".")
    (out / "report.md").write_text("\n".join(L) + "\n")
    return summary | {"out_dir": str(out)}

