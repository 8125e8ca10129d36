"""flows/estimate.py: the static cost of an iteration equals what the simulator records when it runs it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from pinta.config import load_config
from pinta.golden.training import TrainConfig

sys.path.insert(0, str(Path(__file__).parent))
from test_sim_backend import TINY, small_pde  # noqa: E402

runner = pytest.importorskip("pinta.flows.runner")
from pinta.flows import estimate  # noqa: E402


@pytest.mark.parametrize("name, tt_rank, hidden", [("poisson2d", None, (8, 8)), ("hjb20d", 2, (16, 16, 16))])
def test_static_estimate_equals_the_simulated_iteration(name, tt_rank, hidden):
    cfg = TrainConfig(pde=name, mode="quantized", iters=2, seed=3, tt_rank=tt_rank)
    s = runner.SimTrainer(cfg, None, pde=small_pde(name, hidden=hidden), sim_config=TINY)
    s.step()
    ran = s.sim_iterations[0]
    est = estimate.estimate_iteration(small_pde(name, hidden=hidden), TINY, tt_rank=tt_rank, seed=3)
    assert est["growth"] == 1 and est["config"] == TINY
    assert est["iteration"]["cycles"] == ran["cycles"]
    assert est["iteration"]["units"] == ran["units"]
    assert est["iteration"]["actions"] == ran["actions"]


def test_growth_is_reported_and_refusal_names_the_buffer():
    # Hidden 64 does not fit the tiny chip's optimizer buffer; doubling the buffers must make it fit.
    p = small_pde("poisson2d", hidden=(64, 64))
    with pytest.raises(estimate.EstimateError, match="fit"):
        estimate.estimate_iteration(p, TINY, tt_rank=None)
    est = estimate.estimate_iteration(p, TINY, tt_rank=None, grow=True)
    assert est["growth"] > 1 and est["config"].name == f"tiny-buffers-x{est['growth']}"
    assert all(v == TINY.to_dict()["buffers"][k] * est["growth"] for k, v in est["config"].to_dict()["buffers"].items())


def test_cache_is_keyed_by_the_configuration(tmp_path, monkeypatch):
    calls = []

    def fake(pde, chip, **kw):
        calls.append(chip.name)
        return {"config": chip, "growth": 1, "settings": {}, "iteration": {"cycles": len(calls)},
                "compile_s": 0.0, "analysis_s": 0.0}

    monkeypatch.setattr(estimate, "estimate_iteration", fake)
    path = tmp_path / "spec_estimate.json"
    a = estimate.cached_estimate(path, "poisson2d", TINY, tt_rank=8)
    b = estimate.cached_estimate(path, "poisson2d", TINY, tt_rank=8)
    assert a == b and calls == ["tiny"]
    c = estimate.cached_estimate(path, "poisson2d", load_config("default"), tt_rank=8)
    assert calls == ["tiny", "default"] and c["iteration"]["cycles"] == 2
    assert json.loads(path.read_text())["key"]["config"]["name"] == "default"
    # A changed cycle model (any source in ESTIMATE_SOURCES) is never served from the cache.
    monkeypatch.setattr(estimate, "source_hash", lambda modules: "another-model")
    estimate.cached_estimate(path, "poisson2d", load_config("default"), tt_rank=8)
    assert calls == ["tiny", "default", "default"]
    with pytest.raises(estimate.EstimateError, match="unknown pde 'wave'"):
        estimate.cached_estimate(tmp_path / "x.json", "wave", TINY, tt_rank=None)
