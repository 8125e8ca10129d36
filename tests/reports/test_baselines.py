"""Loading the measured baselines (pinta.reports.baselines)."""

from __future__ import annotations

import json
import shutil

import pytest

from pinta.reports import baselines as B


@pytest.fixture(scope="module")
def shared():
    try:
        return B.find_shared()
    except B.BaselineError as e:
        pytest.skip(f"shared baselines not available here: {e}")


def test_loaded_values_match_the_files(shared):
    bl = B.load_baselines(shared)
    for fname, framework in (("gpu-h100-pinn-fp32-jax.json", "jax-jit"), ("gpu-h100-pinn-fp32.json", "pytorch-eager")):
        for r in json.loads((shared / "baselines" / fname).read_text())["results"]:
            got = bl.get(r["pde"], r["method"], framework)
            assert got.s_per_iter == r["s_per_iter"] and got.j_per_iter == r["j_per_iter"]
    acc = json.loads((shared / "baselines" / "gpu-h100-pinn-fp32-accuracy.json").read_text())["results"]
    assert len(bl.anchors) == len(acc)
    assert {(a.pde, a.method, a.iters) for a in bl.anchors} == {(r["pde"], r["method"], r["iters"]) for r in acc}


def test_strongest_is_the_fastest_and_headline_is_jax_jit_ad(shared):
    bl = B.load_baselines(shared)
    for pde in bl.pdes():
        runs = bl.for_pde(pde)
        assert bl.strongest(pde).s_per_iter == min(r.s_per_iter for r in runs)
        h = bl.headline(pde)
        assert (h.framework, h.method) == B.HEADLINE == ("jax-jit", "ad")
        assert "JAX-jit" in h.label and "AD" in h.label


def test_override_by_env_and_clear_error_when_missing(shared, tmp_path, monkeypatch):
    copy = tmp_path / "myshared"
    shutil.copytree(shared / "baselines", copy / "baselines")
    monkeypatch.setenv("PINTA_SHARED", str(copy))
    assert B.find_shared() == copy
    assert B.find_shared(shared) == shared  # an argument wins over the variable
    monkeypatch.setenv("PINTA_SHARED", str(tmp_path / "nowhere"))
    with pytest.raises(B.BaselineError, match="PINTA_SHARED"):
        B.find_shared()


def test_packaged_copy_is_identical_to_the_shared_folder(monkeypatch):
    monkeypatch.delenv("PINTA_SHARED", raising=False)
    packaged = sorted((B.PACKAGED_SHARED / "baselines").glob("*.json"))
    assert [p.name for p in packaged] == ["gpu-h100-pinn-fp32-accuracy.json", "gpu-h100-pinn-fp32-jax.json",
                                          "gpu-h100-pinn-fp32.json"]
    found = B.find_shared()
    if found == B.PACKAGED_SHARED:
        pytest.skip("no shared folder next to the repository to compare the packaged copy with")
    for p in packaged:
        assert p.read_bytes() == (found / "baselines" / p.name).read_bytes(), p.name


def test_cpu_result_files_load_with_their_framework(tmp_path):
    p = tmp_path / "cpu.json"
    p.write_text(json.dumps({"meta": {"framework": "numpy-cpu", "device": "test cpu"}, "results": [
        {"pde": "poisson2d", "method": "se", "iters": 3, "s_per_iter": 0.5, "j_per_iter": None, "comparable": False}]}))
    runs, anchors = B.load_baseline_file(p)
    assert anchors == [] and runs[0].framework == "numpy-cpu" and runs[0].j_per_iter is None
    assert runs[0].comparable is False and "NumPy CPU" in runs[0].label
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"meta": {}, "results": [{"pde": "x", "method": "ad", "s_per_iter": 1}]}))
    with pytest.raises(B.BaselineError, match="framework"):
        B.load_baseline_file(bad)
