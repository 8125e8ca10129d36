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


#: Run settings compared with the specified ones (algorithms.md §1), with their labels.
_WORKLOAD_FIELDS = (("n_interior", "interior points per iteration (B)"), ("n_boundary", "boundary points"),
                    ("n_initial", "initial points"), ("pairs", "SE antithetic pairs (K)"),
                    ("hidden", "hidden widths"))


def _workload(run: RunData) -> dict[str, Any]:
    """This run's problem size against the PDE's specified one (the GPU baselines' settings).

    ``reduced`` is True when any recorded setting differs; settings the run
    did not record are listed as unknown and do not count as reduced.
    """
    settings = run.run.get("settings") or {}
    try:
        from pinta.flows.estimate import EstimateError, specified_problem

        p = specified_problem(str(run.run["pde"]))
    except (ImportError, EstimateError):
        return {"reduced": False, "rows": [], "known": False, "tt_rank": settings.get("tt_rank")}
    spec = {"n_interior": p.n_interior, "n_boundary": p.n_boundary, "n_initial": p.n_initial if p.time_dependent else 0,
            "pairs": p.pairs, "hidden": list(p.net.hidden)}
    rows = []
    for key, label in _WORKLOAD_FIELDS:
        mine = settings.get(key)
        rows.append({"setting": label, "key": key, "run": mine, "specified": spec[key],
                     "differs": mine is not None and list(mine) != spec[key] if key == "hidden"
                     else mine is not None and mine != spec[key]})
    return {"reduced": any(r["differs"] for r in rows), "rows": rows, "known": bool(settings),
            "tt_rank": settings.get("tt_rank"), "diffquant": settings.get("diffquant", True)}


def _spec_figures(run: RunData, table, node, voltage, rule: str, progress) -> dict[str, Any] | None:
    """Time, energy and SRAM area of one iteration at the specified settings (static analysis, cached)."""
    from pinta.flows.estimate import EstimateError, cached_estimate

    work_rank = (run.run.get("settings") or {}).get("tt_rank")
    try:
        est = cached_estimate(run.path / "spec_estimate.json", str(run.run["pde"]), run.config, tt_rank=work_rank,
                              diffquant=(run.run.get("settings") or {}).get("diffquant", True), progress=progress)
    except EstimateError as e:
        return {"error": str(e)}
    cfg = PintaConfig.from_dict(est["config"])
    it = est["iteration"]
    energy = energy_of({k: float(v) for k, v in it["actions"].items()}, table, config=cfg, node=node,
                       voltage=voltage, rule=rule)
    return {"config": cfg, "growth": est["growth"], "settings": est["settings"], "cycles": it["cycles"],
            "s_per_iter": it["cycles"] / cfg.clock_hz, "j_per_iter": energy.total_j,
            "energy_per_category": energy.per_category, "units": it["units"]}


def _fmt_setting(v) -> str:
    if v is None:
        return "not recorded"
    return ",".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v)


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
                 area_node: float = area_mod.EDGE_NODE_NM, plots: bool = True,
                 spec_estimate: bool = False, progress=None) -> dict[str, Any]:
    """Write the report of ``run_dir``; returns the summary dict (also written as ``summary.json``).

    ``spec_estimate``: when the run used reduced settings (fewer points or
    pairs, narrower layers than algorithms.md §1), also price one iteration at
    the specified settings by static analysis (:mod:`pinta.flows.estimate`;
    cached in ``RUN_DIR/spec_estimate.json``) and make that the headline,
    because only it is like for like with the baselines. ``progress``: optional
    callable taking a message string (the CLI prints them).

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

    work = _workload(run)
    spec = spec_error = None
    if spec_estimate and work["reduced"]:
        spec = _spec_figures(run, table, node, voltage, rule, progress)
        if "error" in spec:
            spec, spec_error = None, spec["error"]
    # The headline PINTA figures: like for like with the baselines whenever that is known.
    head_s, head_j = (spec["s_per_iter"], spec["j_per_iter"]) if spec else (pinta_s, pinta_j)

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
            "speedup_vs_baseline_specified": r.s_per_iter / spec["s_per_iter"] if (ok and spec) else None,
            "energy_ratio_vs_baseline_specified": (r.j_per_iter / spec["j_per_iter"])
            if (ok and spec and r.j_per_iter is not None) else None,
        })
    none4 = dict.fromkeys(("speedup_vs_baseline", "energy_ratio_vs_baseline", "speedup_vs_baseline_specified",
                           "energy_ratio_vs_baseline_specified"))
    pinta_rows = [{"baseline": "PINTA (simulated" + (", this run's reduced settings)" if work["reduced"] else ")"),
                   "framework": "pinta", "method": method, "device": f"PINTA {cfg.name}", "source": "sim_stats.json",
                   "comparable": not work["reduced"], "s_per_iter": pinta_s, "j_per_iter": pinta_j} | none4]
    if spec:
        pinta_rows.append({"baseline": "PINTA (static analysis, specified settings)", "framework": "pinta",
                           "method": method, "device": f"PINTA {spec['config'].name}", "source": "spec_estimate.json",
                           "comparable": True, "s_per_iter": spec["s_per_iter"], "j_per_iter": spec["j_per_iter"]} | none4)
    _write_csv(out / "comparison.csv", pinta_rows + comp)

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
    plot_label = (f"PINTA {spec['config'].name} ({method.upper()}, specified settings)" if spec else
                  pinta_label + (" reduced" if work["reduced"] else ""))
    plots = [] if not plots else _plots(out, run.synthetic, plot_label, head_s, head_j, comp, run.metrics, anchors, util_rows, energy.per_unit,
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
        "workload": {"reduced": work["reduced"], "settings_recorded": work["known"],
                     "rows": [{k: r[k] for k in ("key", "run", "specified", "differs")} for r in work["rows"]]},
        "pinta_specified": None if spec is None else {
            "config": spec["config"].to_dict(), "buffer_growth": spec["growth"], "settings": spec["settings"],
            "cycles_per_iter": spec["cycles"], "s_per_iter": spec["s_per_iter"], "j_per_iter": spec["j_per_iter"],
            "sram_mm2": area_mod.area_report(None, spec["config"], area_node).total_mm2,
            "method": "static analysis of the compiled iteration (pinta.flows.estimate)"},
        "pinta_specified_error": spec_error,
        "headline": {"baseline": headline.label, "framework": HEADLINE[0], "method": HEADLINE[1],
                     "pinta": "specified settings (static analysis)" if spec else
                     ("this run (reduced settings: not like for like)" if work["reduced"] else "this run"),
                     "speedup": headline.s_per_iter / head_s,
                     "energy_ratio": None if headline.j_per_iter is None else headline.j_per_iter / head_j,
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
    run_line = (f"{cycles:.6g} cycles, mean of {len(run.sim['iterations'])} simulated iteration(s)")
    if spec:
        grown = (f" The specified problem does not fit the buffers of config '{cfg.name}': it is priced on "
                 f"'{spec['config'].name}' (every buffer {spec['growth']}× larger, "
                 f"{summary['pinta_specified']['sram_mm2']:.3g} mm² of SRAM at {area_node:g} nm)."
                 if spec["growth"] > 1 else "")
        L.append(f"PINTA at the **specified settings** of {pde} (algorithms.md §1, the baselines' settings; "
                 f"static analysis of the compiled iteration, {spec['cycles']:.6g} cycles at {cfg.clock_mhz:g} MHz, "
                 f"energy at {energy.node_nm:g} nm / {energy.voltage_v:g} V): **{head_s * 1e3:.4g} ms** and "
                 f"**{head_j * 1e3:.4g} mJ** per training iteration.{grown}")
        L.append("")
        L.append(f"This run trained at **reduced settings** (see Workload): {pinta_s * 1e3:.4g} ms and "
                 f"{pinta_j * 1e3:.4g} mJ per iteration ({run_line}); those figures are for a smaller problem "
                 "than the baselines solve and are not compared with them in the headline.")
    else:
        L.append(f"PINTA (simulated, {cfg.clock_mhz:g} MHz, energy at {energy.node_nm:g} nm / {energy.voltage_v:g} V): "
                 f"**{pinta_s * 1e3:.4g} ms** and **{pinta_j * 1e3:.4g} mJ** per training iteration ({run_line}).")
        if work["reduced"]:
            L.append("")
            L.append("> **Not like for like.** This run used reduced settings (see Workload) and the baselines "
                     "the specified ones" + (f"; pricing the specified settings failed: {spec_error}" if spec_error
                                             else "; `pinta report` without `--no-spec-estimate` prices them") + ".")
    L.append("")
    L.append(f"Against **{headline.label}** (the headline baseline: jitted JAX is the strongest software baseline, "
             f"shared/baselines/README.md): speedup **{hl['speedup']:.3g}×**, energy ratio "
             f"**{_fmt(hl['energy_ratio'])}×** (baseline J / PINTA J; PINTA: {hl['pinta']}).")
    slower = [f"{1 / v:.3g}× the baseline's {what}" for v, what in ((hl["speedup"], "time"),
                                                                       (hl["energy_ratio"], "energy")) if v and v < 1]
    if slower:
        L.append(f"A ratio below 1 means PINTA loses: it takes {' and '.join(slower)} per iteration.")
    if strongest.label != headline.label:
        L.append(f"The lowest time per iteration among the baselines for {pde} is {strongest.label} "
                 f"({strongest.s_per_iter * 1e3:.4g} ms), not the headline baseline; its speedup is "
                 f"{strongest.s_per_iter / head_s:.3g}×.")
    else:
        L.append(f"It is also the fastest baseline measured for {pde}.")
    L.append("")
    L.append("## Workload")
    L.append("")
    if not work["rows"]:
        L.append(f"'{pde}' is not one of the benchmark PDEs: there are no specified settings to compare with.")
    elif not work["known"]:
        L.append("run.json records no settings: this run's problem size is unknown.")
    else:
        L.append("| setting | this run | specified (algorithms.md §1; GPU baselines) |")
        L.append("|---|---|---|")
        for r in work["rows"]:
            mark = " **(reduced)**" if r["differs"] else ""
            L.append(f"| {r['setting']} | {_fmt_setting(r['run'])}{mark} | {_fmt_setting(r['specified'])} |")
        rank = work["tt_rank"]
        L.append(f"| hidden layers | {'dense' if rank is None else f'TT, rank {rank}'} | same |")
    L.append("")
    if spec:
        L.append("The specified-settings figures come from compiling one iteration at those settings for the same "
                 "chip and analysing its programs (flows/estimate.py): PINTA's timing and action counts do not depend "
                 "on data, so they are the simulator's figures for that program without computing its values.")
        L.append("")
    L.append("## Time and energy per iteration against every baseline")
    L.append("")
    L.append("Speedup = baseline s/iter ÷ PINTA s/iter; energy ratio = baseline J/iter ÷ PINTA J/iter. "
             "Each row names its baseline." + (" Ratios are given against PINTA at the specified settings; "
                                               "this run's reduced-settings figures are listed for reference only."
                                               if spec else ""))
    L.append("")
    sk, ek = ("speedup_vs_baseline_specified", "energy_ratio_vs_baseline_specified") if spec else \
        ("speedup_vs_baseline", "energy_ratio_vs_baseline")
    L.append("| baseline | device | s/iter | J/iter | speedup vs this baseline | energy ratio vs this baseline |")
    L.append("|---|---|---|---|---|---|")
    if spec:
        L.append(f"| PINTA {spec['config'].name} ({method.upper()}, specified settings, static analysis) | simulated | "
                 f"{spec['s_per_iter']:.4g} | {spec['j_per_iter']:.4g} | — | — |")
    L.append(f"| {pinta_label}{' (this run, reduced settings)' if work['reduced'] else ''} | simulated | "
             f"{pinta_s:.4g} | {pinta_j:.4g} | — | — |")
    for r in comp:
        note = "" if r["comparable"] else " (reduced settings: no ratio)"
        L.append(f"| {r['baseline']}{note} | {r['device']} | {r['s_per_iter']:.4g} | {_fmt(r['j_per_iter'], '', 4)} | "
                 f"{_fmt(r[sk])}{'×' if r[sk] else ''} | "
                 f"{_fmt(r[ek])}{'×' if r[ek] else ''} |")
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

