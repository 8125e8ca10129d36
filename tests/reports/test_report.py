"""End-to-end report from a SYNTHETIC run folder generated here from the documented schema.

Every figure below is made up by the test (deterministic arithmetic, not a
run); the report marks the folder as synthetic.
"""

from __future__ import annotations

import csv
import json

import pytest

from pinta.cli import main as pinta_main
from pinta.config import load_config
from pinta.reports import baselines as B
from pinta.reports import energy as E
from pinta.reports.report import RUN_SCHEMA, SIM_SCHEMA, ReportError, build_report


def make_synthetic_run(root, *, pde="poisson2d", with_area=True, with_cpu=True):
    """A run folder following docs/reports.md, filled with synthetic numbers."""
    cfg = load_config("tiny")
    root.mkdir(parents=True, exist_ok=True)
    (root / "run.json").write_text(json.dumps({
        "schema": RUN_SCHEMA, "synthetic": True, "pde": pde, "method": "se", "config": cfg.to_dict(),
        "settings": {"iters": 20, "seed": 0, "note": "synthetic test fixture"}}))
    with (root / "metrics.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["iteration", "loss", "rel_l2"])
        for i in range(1, 21):
            w.writerow([i, 1.0 / i, (0.5 / i) if i % 5 == 0 else ""])
    names = sorted(E.action_energies(E.load_energy_table(cfg.energy_table), cfg))
    its = []
    for k in (1, 2):
        cycles = 100_000 * k
        units = {u: {"busy": cycles // (j + 2), "stall": cycles // 10, "idle": cycles - cycles // (j + 2) - cycles // 10}
                 for j, u in enumerate(("CTRL", "DMA", "MAC", "QNT", "VEC"))}
        its.append({"iteration": k, "cycles": cycles, "units": units,
                    "actions": {a: (i + 1) * 1000 * k for i, a in enumerate(names)}})
    (root / "sim_stats.json").write_text(json.dumps({"schema": SIM_SCHEMA, "clock_mhz": cfg.clock_mhz,
                                                     "iterations": its}))
    if with_area:
        (root / "area.json").write_text(json.dumps({"units": [
            {"unit": "mac_array", "block": "mac_array", "mode": "all", "by_type": {"$_AND_": 2000, "$_DFF_P_": 300}},
            {"unit": "smx_quantizer", "block": "smx_quantizer", "mode": "all", "by_type": {"$_MUX_": 700}}]}))
    if with_cpu:
        (root / "baselines").mkdir(exist_ok=True)
        (root / "baselines" / f"cpu-{pde}-se.json").write_text(json.dumps({
            "meta": {"framework": "numpy-cpu", "device": "synthetic cpu"},
            "results": [{"pde": pde, "method": "se", "iters": 2, "s_per_iter": 3.0, "j_per_iter": None,
                         "comparable": True}]}))
    return cfg, its


@pytest.fixture
def shared():
    try:
        return B.find_shared()
    except B.BaselineError as e:
        pytest.skip(f"shared baselines not available here: {e}")


def test_report_end_to_end(tmp_path, shared):
    run = tmp_path / "run"
    cfg, its = make_synthetic_run(run)
    s = build_report(run, shared=shared)
    out = run / "report"
    for name in ("report.md", "summary.json", "comparison.csv", "energy_breakdown.csv", "utilisation.csv",
                 "area.csv", "time_energy.png", "accuracy.png", "utilisation_energy.png", "area.png"):
        assert (out / name).stat().st_size > 0, name
    assert (out / "accuracy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # PINTA time and energy recomputed independently from the synthetic inputs.
    cycles = sum(it["cycles"] for it in its) / len(its)
    pinta_s = cycles / (cfg.clock_mhz * 1e6)
    mean = {a: sum(it["actions"][a] for it in its) / len(its) for a in its[0]["actions"]}
    pinta_j = E.energy_of(mean, cfg.energy_table, config=cfg).total_j
    assert s["pinta"]["s_per_iter"] == pytest.approx(pinta_s)
    assert s["pinta"]["j_per_iter"] == pytest.approx(pinta_j)

    bl = B.load_baselines(shared)
    jax = bl.get("poisson2d", "ad", "jax-jit")
    assert s["headline"]["speedup"] == pytest.approx(jax.s_per_iter / pinta_s)
    assert s["headline"]["energy_ratio"] == pytest.approx(jax.j_per_iter / pinta_j)
    # Every baseline of the PDE is compared, plus the run folder's CPU baseline; each row names it.
    assert len(s["comparison"]) == len(bl.for_pde("poisson2d")) + 1
    for row in s["comparison"]:
        assert row["speedup_vs_baseline"] == pytest.approx(row["s_per_iter"] / pinta_s)
    md = (out / "report.md").read_text()
    assert "SYNTHETIC" in md and jax.label in md and "NumPy CPU" in md
    for needed in ("Assumptions and exclusions", "leakage", f"{cfg.clock_mhz:g} MHz", "45 nm", "Horowitz",
                   "Edge-class check", "DRAM"):
        assert needed in md, needed
    # Accuracy: last evaluated rel_l2 and the anchors of the PDE.
    assert s["accuracy"]["final_rel_l2"] == pytest.approx(0.5 / 20)
    assert len(s["accuracy"]["anchors"]) == len(bl.anchors_for("poisson2d"))
    # Utilisation fractions from the synthetic busy counts.
    mac = next(r for r in s["utilisation"] if r["unit"] == "MAC")
    busy = sum(it["units"]["MAC"]["busy"] for it in its) / len(its)
    assert mac["busy_frac"] == pytest.approx(busy / cycles)
    assert s["area"]["logic_synthesised"] and set(s["area"]["logic_mm2"]) == {"mac_array", "smx_quantizer"}


def test_report_at_another_node_names_the_rule(tmp_path, shared):
    run = tmp_path / "run"
    make_synthetic_run(run, with_area=False, with_cpu=False)
    base = build_report(run, tmp_path / "r45", shared=shared, plots=False)
    s = build_report(run, tmp_path / "r28", shared=shared, node=28, voltage=0.9, plots=False)
    assert s["energy"]["scaling"].startswith("dennard_cv2")
    assert s["pinta"]["j_per_iter"] < base["pinta"]["j_per_iter"]
    assert not s["area"]["logic_synthesised"]
    assert "not included" in (tmp_path / "r28" / "report.md").read_text()


def test_schema_errors_name_the_file(tmp_path, shared):
    run = tmp_path / "run"
    make_synthetic_run(run, with_area=False, with_cpu=False)
    (run / "sim_stats.json").unlink()
    with pytest.raises(ReportError, match="sim_stats.json is missing"):
        build_report(run, shared=shared)
    make_synthetic_run(run, with_area=False, with_cpu=False)
    sim = json.loads((run / "sim_stats.json").read_text())
    sim["clock_mhz"] = 123.0
    (run / "sim_stats.json").write_text(json.dumps(sim))
    with pytest.raises(ReportError, match="clock_mhz"):
        build_report(run, shared=shared)
    # An action the energy table cannot price is an error naming it, not a zero.
    make_synthetic_run(run, with_area=False, with_cpu=False)
    sim = json.loads((run / "sim_stats.json").read_text())
    sim["iterations"][0]["actions"]["warp_drive_ops"] = 5
    (run / "sim_stats.json").write_text(json.dumps(sim))
    with pytest.raises(E.MissingEnergyEntry, match="warp_drive_ops"):
        build_report(run, shared=shared)


def test_cli_report(tmp_path, shared, capsys):
    run = tmp_path / "run"
    make_synthetic_run(run)
    assert pinta_main(["report", str(run), "--shared", str(shared), "--no-plots"]) == 0
    assert (run / "report" / "report.md").exists() and not (run / "report" / "accuracy.png").exists()
    assert "JAX-jit AD" in capsys.readouterr().out
    assert pinta_main(["report", str(tmp_path / "missing"), "--shared", str(shared)]) == 2
    assert "does not exist" in capsys.readouterr().err


def _set_settings(run, **settings):
    meta = json.loads((run / "run.json").read_text())
    meta["settings"] = settings
    (run / "run.json").write_text(json.dumps(meta))


def test_reduced_run_is_headlined_at_the_specified_settings(tmp_path, shared, monkeypatch):
    from pinta.flows import estimate
    from pinta.golden.pde import BENCHMARKS

    run = tmp_path / "run"
    cfg, its = make_synthetic_run(run, with_cpu=False)
    P = BENCHMARKS["poisson2d"]()
    _set_settings(run, n_interior=P.n_interior, n_boundary=P.n_boundary, n_initial=0, pairs=P.pairs // 64,
                  hidden=list(P.net.hidden), tt_rank=8)
    grown = estimate.grown_config(cfg, 4)
    spec_cycles = 7_000_000

    def fake(path, pde, chip, **kw):  # stands in for the tens-of-seconds static analysis
        assert pde == "poisson2d" and chip == cfg and kw["tt_rank"] == 8
        return {"config": grown.to_dict(), "growth": 4, "settings": {"pairs": P.pairs},
                "iteration": {"cycles": spec_cycles, "units": its[0]["units"], "actions": its[0]["actions"]}}

    monkeypatch.setattr(estimate, "cached_estimate", fake)
    s = build_report(run, shared=shared, plots=False, spec_estimate=True)
    rows = {r["key"]: r for r in s["workload"]["rows"]}
    assert s["workload"]["reduced"] and rows["pairs"]["differs"] and not rows["n_interior"]["differs"]
    spec_s = spec_cycles / grown.clock_hz
    assert s["pinta_specified"]["s_per_iter"] == pytest.approx(spec_s, rel=1e-12)
    head = B.load_baselines(shared).headline("poisson2d")
    assert s["headline"]["speedup"] == pytest.approx(head.s_per_iter / spec_s, rel=1e-12)
    md = (run / "report" / "report.md").read_text()
    assert "specified settings" in md and grown.name in md and "**(reduced)**" in md

    # Without the estimate the headline stays on the run's own figures and says they are not like for like.
    s2 = build_report(run, shared=shared, plots=False, spec_estimate=False)
    assert s2["pinta_specified"] is None
    assert s2["headline"]["speedup"] == pytest.approx(head.s_per_iter / s2["pinta"]["s_per_iter"], rel=1e-12)
    assert "Not like for like" in (run / "report" / "report.md").read_text()


def test_run_at_the_specified_settings_is_not_reduced(tmp_path, shared):
    from pinta.golden.pde import BENCHMARKS

    run = tmp_path / "run"
    make_synthetic_run(run, with_cpu=False)
    P = BENCHMARKS["poisson2d"]()
    _set_settings(run, n_interior=P.n_interior, n_boundary=P.n_boundary, n_initial=0, pairs=P.pairs,
                  hidden=list(P.net.hidden), tt_rank=8)
    s = build_report(run, shared=shared, plots=False, spec_estimate=True)
    assert not s["workload"]["reduced"] and s["pinta_specified"] is None
    assert "Not like for like" not in (run / "report" / "report.md").read_text()
