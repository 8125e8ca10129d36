"""Contract with the simulator: every action it counts today has an energy, and the
sim_stats.json record built from its Analysis is one the report reads."""

from __future__ import annotations

import numpy as np
import pytest

from pinta.config import load_config
from pinta.reports import energy as E
from pinta.reports.report import iteration_stats_from_analysis

programs = pytest.importorskip("pinta.sim.programs", reason="simulator not importable in this checkout")
sim_program = pytest.importorskip("pinta.sim.program")


def test_gemm_program_counts_are_all_priced():
    cfg = load_config("tiny")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 32)).astype(np.float32)
    w = rng.standard_normal((32, 16)).astype(np.float32)
    pb = programs.gemm_program(cfg, x, w)
    an = sim_program.analyze(pb.program, cfg)
    rec = iteration_stats_from_analysis(an, 1)
    assert rec["cycles"] == an.total_cycles > 0
    b = E.energy_of(rec["actions"], cfg.energy_table, config=cfg)  # raises if any action is unpriced
    macs = sum(v for k, v in rec["actions"].items() if k.startswith("mac_"))
    assert macs >= 16 * 32 * 16  # at least the dense product (padding can only add)
    acts = E.action_energies(E.load_energy_table(cfg.energy_table), cfg)
    assert b.per_category["mac"] == pytest.approx(
        sum(v * acts[k].value * 1e-12 for k, v in rec["actions"].items() if k.startswith("mac_")))
    assert b.per_category["sram"] > 0 and b.total_j > 0
    for u, d in rec["units"].items():
        assert d["busy"] + d["stall"] + d["idle"] == rec["cycles"]
