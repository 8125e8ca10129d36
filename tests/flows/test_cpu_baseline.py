"""Local CPU baseline (pinta.flows.cpu_baseline): tiny runs only."""

from __future__ import annotations

import importlib.util
import json
import math

import pytest

from pinta.cli import main as pinta_main
from pinta.flows import cpu_baseline as cb
from pinta.reports.baselines import load_baseline_file

TINY = dict(pairs=2, points=4, hidden=(8, 8))


def _check(data, method):
    r = data["results"][0]
    assert r["method"] == method and r["s_per_iter"] > 0 and math.isfinite(r["final_loss"])
    assert r["comparable"] is False  # shrunk problem: never used for ratios
    t = data["meta"]["threads"]
    assert t["requested"] == 1 and all(t[k] == "1" for k in cb.THREAD_ENV_VARS)


def test_se_tiny_run_times_and_trains(tmp_path):
    data = cb.measure("poisson2d", "se", 2, warmup=1, **TINY)
    _check(data, "se")
    assert data["meta"]["framework"] == "numpy-cpu"
    assert data["results"][0]["settings"]["se_rows_per_iter"] == 4 * (2 * 2 + 1)
    runs, _ = load_baseline_file(cb.write_result(data, tmp_path / "se.json"))
    assert runs[0].framework == "numpy-cpu" and runs[0].s_per_iter == data["results"][0]["s_per_iter"]


@pytest.mark.skipif(importlib.util.find_spec("torch") is None,
                    reason="PyTorch not installed (optional extra 'baseline'); the AD baseline needs it")
def test_ad_tiny_run_times_and_trains():
    data = cb.measure("poisson2d", "ad", 2, warmup=1, points=4, hidden=(8, 8))
    _check(data, "ad")
    assert data["meta"]["framework"] == "pytorch-cpu" and data["meta"]["threads"]["torch_num_threads"] == 1


def test_cli_writes_into_the_run_baselines_folder(tmp_path):
    rc = pinta_main(["baseline", "cpu", "--pde", "poisson2d", "--method", "se", "--iters", "1", "--pairs", "2",
                     "--points", "4", "--hidden", "8,8", "--run", str(tmp_path)])
    assert rc == 0
    data = json.loads(cb.default_path(tmp_path, "poisson2d", "se").read_text())
    _check(data, "se")


def test_ad_without_torch_is_a_clear_error(monkeypatch, tmp_path, capsys):
    import importlib.util
    import sys

    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` fail
    with pytest.raises(cb.TorchMissing, match=r"pip install -e \.\[baseline\]"):
        cb.measure("poisson2d", "ad", 1, **TINY)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a))
    rc = pinta_main(["baseline", "cpu", "--pde", "poisson2d", "--method", "ad", "--out", str(tmp_path / "x.json")])
    assert rc == 2 and "needs PyTorch" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()
