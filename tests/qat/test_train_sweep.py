"""Training reduces the error; the tiny end-to-end sweep (CI); Pareto; CLI errors."""

import json

import numpy as np
import pytest

from pinta.cli import main
from pinta.flows.qat import data, sweep, train
from pinta.flows.qat.models import build


def test_fno_learns_burgers_quickly(tmp_path):
    x, y = data.load_burgers(80, 0.1, 64, seed=1, cache=tmp_path, progress=False)
    m = build("fno", (64,), 8, modes=8)
    m.y_scale = float(np.sqrt(np.mean(y ** 2)))
    before = train.evaluate(m, x[64:], y[64:])[0]
    train.train_fp(m, x[:64], y[:64], epochs=12, batch=16, progress=False)
    after = train.evaluate(m, x[64:], y[64:])[0]
    assert after < 0.5 * before


def test_pareto_front():
    pts = [(1, 5.0), (2, 3.0), (2, 4.0), (3, 3.5), (4, 1.0), (5, 1.0)]
    assert sweep.pareto(pts) == [0, 1, 4]


def test_tiny_sweep_end_to_end(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["qat", "sweep", "--tiny", "--out", str(out), "--cache", str(tmp_path / "c"), "--quiet"]
    assert main(args) == 0
    recs = [json.loads(l) for l in (out / "results.jsonl").read_text().splitlines()]
    cfg = sweep.SweepConfig.preset("burgers", tiny=True)
    n_expected = sum(len(w) for w in cfg.archs.values()) * len(cfg.resolutions) * len(cfg.scenarios) \
        + len(cfg.archs) * len(cfg.head_ablation)
    assert len(recs) == n_expected
    for r in recs:
        assert np.isfinite(r["nrmse"]) and r["bops"] > 0
        if r["out_lsb"] is not None:                 # integer model within one output LSB
            assert r["int_vs_fake_max_abs"] <= r["out_lsb"]
        assert r["pinta_cycles"] > 0 and r["pinta_energy_j"] > r["pinta_energy_onchip_j"] > 0
    by = {(r["arch"], r["scenario"], r["head16"]): r for r in recs}
    assert by[("fno", "fp32", True)]["bops"] > by[("fno", "w8a8", True)]["bops"] > by[("fno", "w4a4", True)]["bops"]
    for arch in ("fno", "unet"):   # the simulator sees the precision modes
        c = {s: by[(arch, s, True)]["pinta_cycles"] for s in ("fp32", "w8a8", "smx8", "smx4")}
        assert c["fp32"] > c["w8a8"] > c["smx8"] > c["smx4"], c
    for f in ["results.csv", "summary.json"] + [f"pareto_burgers_{a}_{m}.png" for a in ("fno", "unet")
                                                 for m in ("bops", "cycles", "energy", "energy_onchip")]:
        assert (out / f).stat().st_size > 0
    summ = json.loads((out / "summary.json").read_text())
    assert set(summ["fronts"]) == {"bops", "pinta_cycles", "pinta_energy_j", "pinta_energy_onchip_j"}
    assert set(summ["fronts"]["pinta_cycles"]) == {"burgers/fno", "burgers/unet"}
    assert set(summ["rankings"]["burgers/fno"]) == {"pinta_cycles", "pinta_energy_j"}
    # resumable: a rerun finds every point done and appends nothing
    assert main(args) == 0
    assert len((out / "results.jsonl").read_text().splitlines()) == n_expected
    # the INT points recosted in the MAC mode holding their zero-point-shifted codes
    assert main(["qat", "report", "--out", str(out), "--exact-int", "--cache", str(tmp_path / "c")]) == 0
    ex = json.loads((out / "exact_int.json").read_text())
    ints = [r for r in recs if r["kind"] == "int" and r["a_bits"] < 32]
    assert set(ex) == {r["key"] for r in ints}
    for r in ints:
        assert ex[r["key"]]["pinta_cycles"] >= r["pinta_cycles"]
        if r["scenario"] in ("w8a8", "w4a4"):
            assert ex[r["key"]]["pinta_cycles"] > r["pinta_cycles"], r["key"]
    # costs from an older cycle model are flagged, and --recost brings them back to the current one
    assert summ["stale_costs"] == 0
    lines = (out / "results.jsonl").read_text().splitlines()
    stale = [dict(json.loads(l), pinta_cycles=1, cost_model="older") for l in lines]
    (out / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in stale))
    assert main(["qat", "report", "--out", str(out)]) == 0
    assert json.loads((out / "summary.json").read_text())["stale_costs"] == n_expected
    assert "--recost" in capsys.readouterr().err
    assert main(["qat", "report", "--out", str(out), "--recost", "--cache", str(tmp_path / "c")]) == 0
    assert json.loads((out / "summary.json").read_text())["stale_costs"] == 0
    again = [json.loads(l) for l in (out / "results.jsonl").read_text().splitlines()]
    assert [r["pinta_cycles"] for r in again] == [r["pinta_cycles"] for r in recs]
    assert [r["nrmse"] for r in again] == [r["nrmse"] for r in recs]


def test_cli_user_errors(capsys):
    assert main(["qat", "sweep", "--tiny", "--scenarios", "w2a2"]) == 2
    assert "unknown scenario" in capsys.readouterr().err
    assert main(["qat", "sweep", "--pde", "darcy", "--archs", "transformer"]) == 2
    assert main(["qat", "report", "--out", "/nonexistent/qat"]) == 2


def test_cli_data_and_gemms(tmp_path, capsys):
    assert main(["qat", "data", "--n", "3", "--cache", str(tmp_path)]) == 0
    assert ".npz" in capsys.readouterr().out
    assert main(["qat", "gemms", "--arch", "fno", "--res", "64", "--width", "8", "--modes", "6"]) == 0
    out = capsys.readouterr().out
    assert "spec0.dft_y" in out and "BOPs" in out
    assert main(["qat", "gemms", "--arch", "unet", "--dim", "2", "--res", "18"]) == 2   # sides must divide by 4
    capsys.readouterr()
    assert main(["qat", "gemms", "--arch", "unet", "--dim", "2", "--res", "16", "--width", "4"]) == 0
    assert "e1a" in capsys.readouterr().out
    assert main(["qat", "sweep", "--pde", "darcy", "--eps", "0.01", "--tiny"]) == 2
