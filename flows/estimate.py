"""Cycles and action counts of one training iteration from the static analysis alone.

PINTA's timing does not depend on data (docs/simulator.md): the cycle count
and every action count of a program follow from its instructions. So the cost
of an iteration at the *specified* settings of a PDE (algorithms.md §1: its
batch, K pairs, hidden widths, TT rank) can be had by compiling the iteration
and analysing the programs, without computing a single value. This is how
``pinta report`` prices the specified workload next to a short run at
reduced settings, and what ``pinta bench sim-training --cycles-only`` prints.

When the specified sizes do not fit the configured buffers (the compiler
keeps one weight-gradient accumulation chunk resident, docs/compiler.md),
``grow=True`` doubles every buffer until they do and returns that larger
configuration: the estimate is then for a different chip, and every caller
must say so (its SRAM area and energy per access change with it).

Units: cycles (clock cycles of the returned configuration), action counts in
the schema of ``sim_stats.json`` (MACs, blocks, elements, SRAM bits per
buffer, DRAM bytes).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from pinta.config import PintaConfig

__all__ = ["EstimateError", "grown_config", "specified_problem", "estimate_iteration", "cached_estimate",
           "source_hash", "ESTIMATE_SOURCES"]

#: Modules whose code decides an iteration's cycles and action counts: the compiler, the golden
#: network shapes it compiles, and the simulator's ISA, layout, validation and schedule. A cached
#: estimate is only reused while all of them are unchanged.
ESTIMATE_SOURCES = ("pinta.flows.compiler", "pinta.flows.estimate", "pinta.golden.mlp", "pinta.sim.isa",
                    "pinta.sim.layout", "pinta.sim.timing", "pinta.sim.program", "pinta.sim.programs",
                    # the special-function, ADAM and RNG depths are derived from the micro-programs, the
                    # divider, the ADAM datapath and the RNG pipeline, the reduction occupancy from the
                    # reduction engine
                    "pinta.hw.fp32.microcode", "pinta.hw.fp32.units", "pinta.hw.top_adam", "pinta.hw.top_rng",
                    "pinta.hw.top_reduce")

#: Largest buffer growth tried before giving up (64x the configured SRAM).
MAX_GROWTH = 64


@lru_cache(maxsize=None)
def source_hash(modules: tuple[str, ...]) -> str:
    """Short SHA-1 of the source files of ``modules`` (dotted names), to key caches of computed costs."""
    h = hashlib.sha1()
    for name in modules:
        h.update(Path(importlib.import_module(name).__file__).read_bytes())
    return h.hexdigest()[:12]


class EstimateError(ValueError):
    """The iteration cannot be compiled for the configuration (message from the compiler)."""


def grown_config(cfg: PintaConfig, factor: int) -> PintaConfig:
    """``cfg`` with every buffer ``factor`` times larger, named ``<name>-buffers-x<factor>``."""
    d = cfg.to_dict()
    d["buffers"] = {k: v * factor for k, v in d["buffers"].items()}
    d["name"] = f"{cfg.name}-buffers-x{factor}"
    return PintaConfig.from_dict(d)


def specified_problem(pde_name: str):
    """The benchmark PDE at its specified settings (algorithms.md §1), validated."""
    from pinta.golden.pde import BENCHMARKS

    if pde_name not in BENCHMARKS:
        raise EstimateError(f"unknown pde '{pde_name}'; choose from {tuple(BENCHMARKS)}")
    return BENCHMARKS[pde_name]().validate()


def estimate_iteration(pde, chip: PintaConfig, *, tt_rank: int | None, grow: bool = False, seed: int = 0,
                       diffquant: bool = True) -> dict[str, Any]:
    """Static cost of one quantized training iteration of ``pde`` (a validated PDE instance).

    ``tt_rank``: TT rank of the hidden layers, or None for dense layers.
    Returns ``{"config": PintaConfig used, "growth": buffer factor (1 = as
    given), "settings": {...}, "iteration": sim_stats iteration record
    (cycles, units, actions), "instructions", "compile_s", "analysis_s"}``
    (CPU seconds).
    Raises :class:`EstimateError` when it does not fit (and ``grow`` is off or
    64x larger buffers do not help either).
    """
    from pinta.golden.mlp import Network
    from pinta.reports.report import iteration_stats_from_analysis
    from pinta.sim.program import analyze

    from .compiler import CompileError, compile_iteration
    from .runner import IterationStats

    net = Network(pde.dim, pde.net.hidden, pde.net.activation, tt_rank=tt_rank, seed=seed)
    factor, used = 1, chip
    while True:
        try:
            t0 = time.process_time()
            ip = compile_iteration(used, pde, net, B=pde.n_interior, Nb=pde.n_boundary,
                                   Ni=pde.n_initial if pde.time_dependent else 0, seed=seed, total=1000,
                                   diffquant=diffquant)
            compile_s = time.process_time() - t0
            break
        except CompileError as e:
            if not grow or "fit" not in str(e) or factor >= MAX_GROWTH:
                raise EstimateError(str(e)) from None
            factor *= 2
            used = grown_config(chip, factor)
    t0 = time.process_time()
    st = IterationStats([analyze(q, used) for q in (ip.rng_program(0), ip.forward, ip.backward, ip.adam_program(0))])
    return {"config": used, "growth": factor,
            "settings": {"n_interior": pde.n_interior, "n_boundary": pde.n_boundary,
                         "n_initial": pde.n_initial if pde.time_dependent else 0, "pairs": pde.pairs,
                         "hidden": list(pde.net.hidden), "tt_rank": tt_rank, "diffquant": diffquant},
            "iteration": iteration_stats_from_analysis(st, 1), "instructions": st.instructions,
            "compile_s": compile_s, "analysis_s": time.process_time() - t0}


def cached_estimate(path: str | Path, pde_name: str, chip: PintaConfig, *, tt_rank: int | None,
                    diffquant: bool = True, progress=None) -> dict[str, Any]:
    """:func:`estimate_iteration` at the specified settings of ``pde_name``, cached as JSON in ``path``.

    The cache is keyed by the PDE, the configuration (all fields), the TT rank
    and DiffQuant; a stale or unreadable file is recomputed. The returned dict
    holds the configuration as a dict (``config``) so it round-trips.
    ``progress``: optional callable taking one message string.
    """
    path = Path(path)
    key = {"pde": pde_name, "config": chip.to_dict(), "tt_rank": tt_rank, "diffquant": diffquant,
           "schema": "pinta-spec-estimate/1", "sources": source_hash(ESTIMATE_SOURCES)}
    try:
        cached = json.loads(path.read_text())
        if cached.get("key") == key:
            return cached
    except (OSError, ValueError):
        pass
    if progress:
        progress(f"estimating one iteration of {pde_name} at its specified settings (static analysis, "
                 f"no values computed; cached in {path.name}) ...")
    est = estimate_iteration(specified_problem(pde_name), chip, tt_rank=tt_rank, grow=True, diffquant=diffquant)
    out = {"key": key, "config": est["config"].to_dict(), "growth": est["growth"], "settings": est["settings"],
           "iteration": est["iteration"], "compile_s": est["compile_s"], "analysis_s": est["analysis_s"]}
    path.write_text(json.dumps(out, indent=1) + "\n")
    return out
