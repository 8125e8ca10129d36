"""Runner: quantized PINN training on the simulated PINTA (``pinta train --backend sim``).

:class:`SimTrainer` is the golden :class:`~pinta.golden.training.Trainer` in
quantized mode (same host point generator, network initialisation,
checkpoints, resume and evaluation) whose ``step`` runs the iteration on
:class:`pinta.sim.machine.Machine` instead of the golden engine:

host writes x, weights, Adam state -> ``rng`` -> ``forward`` -> host SE stage
-> ``backward`` -> ``adam`` -> host reads weights and Adam state back.

The weights after every iteration are bit-identical to the golden quantized
mode with the same seed (tests/flows/test_sim_backend.py). The run folder
gets, besides the golden trainer's files, ``run.json``, ``sim_stats.json``
(schema ``pinta-sim-stats/1``, docs/reports.md) and a ``metrics.csv`` with
the ``iteration`` column the report reads.
"""

from __future__ import annotations

import csv
import json
import os
import time
from pathlib import Path

import numpy as np

from pinta.config import PintaConfig, load_config
from pinta.golden import fp32 as F
from pinta.golden.adam import AdamState
from pinta.golden.training import Trainer, TrainConfig
from pinta.sim.machine import Machine

from .compiler import CompileError, IterationPrograms, compile_iteration

__all__ = ["SimTrainer", "IterationStats", "run_sim", "SIM_STATS_SCHEMA"]

SIM_STATS_SCHEMA = "pinta-sim-stats/1"
BETAS = (0.9, 0.999, 1e-8)  # golden/adam.py adam_step defaults, as QuantizedAdam uses them


class IterationStats:
    """Sum of the analyses of one iteration's programs (duck-types sim.program.Analysis for reports)."""

    def __init__(self, analyses):
        first = analyses[0]
        self.total_cycles = sum(a.total_cycles for a in analyses)
        self.busy = {u: sum(a.busy[u] for a in analyses) for u in first.busy}
        self.stall = {u: sum(a.stall[u] for a in analyses) for u in first.stall}
        self.actions: dict[str, int] = {}
        for a in analyses:
            for k, v in a.actions.items():
                self.actions[k] = self.actions.get(k, 0) + v
        self.sram_read_bits = {b: sum(a.sram_read_bits[b] for a in analyses) for b in first.sram_read_bits}
        self.sram_write_bits = {b: sum(a.sram_write_bits[b] for a in analyses) for b in first.sram_write_bits}
        self.dram_read_bytes = sum(a.dram_read_bytes for a in analyses)
        self.dram_write_bytes = sum(a.dram_write_bytes for a in analyses)
        self.instructions = sum(len(a.program) for a in analyses)
        self.per_program = {}

    def idle(self, unit: str) -> int:
        return self.total_cycles - self.busy[unit] - self.stall[unit]


class SimTrainer(Trainer):
    """Golden Trainer (quantized mode) whose iterations run on the simulator."""

    def __init__(self, cfg: TrainConfig, out=None, pde=None, *, sim_config: str | PintaConfig | None = None):
        if cfg.mode != "quantized":
            raise CompileError("--backend sim trains in quantized mode (the chip's numerics); pass --mode quantized")
        super().__init__(cfg, out, pde)
        if sim_config is None and self.out is not None and (self.out / "run.json").exists():
            sim_config = PintaConfig.from_dict(json.loads((self.out / "run.json").read_text())["config"])
        self.chip = sim_config if isinstance(sim_config, PintaConfig) else load_config(sim_config or "default")
        _check_numerics(self.chip)
        p = self.pde
        self.programs: IterationPrograms = compile_iteration(
            self.chip, p, self.net, B=p.n_interior, Nb=p.n_boundary, Ni=p.n_initial if p.time_dependent else 0,
            seed=cfg.seed, total=cfg.iters, diffquant=cfg.diffquant, block=cfg.block, tt_method=cfg.tt_method,
            tt_split=cfg.tt_split)
        self.machine = Machine(self.chip)
        self.sim_iterations: list[dict] = []
        self.last_stats: IterationStats | None = None
        self.sim_seconds = 0.0

    # ---- DRAM exchange -------------------------------------------------
    def _put(self, name: str, x) -> None:
        t = self.programs.dram[name]
        a = np.ascontiguousarray(x, dtype=np.float32).reshape(t.rows, t.cols)
        self.machine.put_fp32(t.addr, a)

    def _get(self, name: str) -> np.ndarray:
        t = self.programs.dram[name]
        raw = self.machine.dram_read(t.addr, 4 * t.rows * t.cols)
        return np.frombuffer(raw, dtype="<f4").reshape(t.rows, t.cols).copy()

    def _run(self, program, analyses) -> None:
        analyses.append(self.machine.run(program).analysis)

    def step(self) -> float:
        t0 = time.perf_counter()
        batch = self.sample_batch()
        ip = self.programs
        it = self.iteration
        x0 = np.concatenate([batch.interior, batch.boundary, batch.initial])
        self._put("x0", F.to_fp32(x0))
        lr0 = np.float32(self.lr0)
        for i, (p, st) in enumerate(zip(self.net.params, self.opt.states)):
            self._put(f"w{i}", p)
            self._put(f"m{i}", st.m)
            self._put(f"v{i}", st.v)
            self._put(f"s{i}", np.array([lr0, *BETAS, st.beta1_pow, st.beta2_pow, 0, 0], np.float32))
        an: list = []
        self._run(ip.rng_program(it), an)
        self._run(ip.forward, an)
        nL = len(self.net.layers)
        B, K, dim = ip.B, ip.K, ip.dim
        delta = self._get("dh_in0")[:B * K].reshape(B, K, dim)
        g0 = self._get(f"z0_{nL - 1}")[:, 0]
        dg = self._get(f"dz_{nL - 1}")[:, 0]
        loss, terms, c, dzA, dzU, dzD = self.engine.se_stage(batch, delta, g0, dg)
        if not np.isfinite(loss):
            raise FloatingPointError(f"loss is {loss} at iteration {it}: the run diverged")
        self._put(f"dzA_{nL - 1}", dzA)
        self._put(f"dzU_{nL - 1}", dzU)
        self._put(f"dzD_{nL - 1}", dzD)
        self._put("c", c)
        self._run(ip.backward, an)
        self._run(ip.adam_program(it), an)
        for i, p in enumerate(self.net.params):
            st = self.opt.states[i]
            s = self._get(f"s{i}")[0]
            self.net.params[i] = self._get(f"w{i}").reshape(p.shape)
            self.opt.states[i] = AdamState(m=self._get(f"m{i}").reshape(p.shape), v=self._get(f"v{i}").reshape(p.shape),
                                           step=st.step + 1, beta1_pow=np.float32(s[4]), beta2_pow=np.float32(s[5]))
        stats = IterationStats(an)
        self.last_stats = stats
        from pinta.reports.report import iteration_stats_from_analysis

        rec = iteration_stats_from_analysis(stats, it + 1)
        rec["instructions"] = stats.instructions
        self.sim_iterations.append(rec)
        self.history.append({"iter": it + 1, "loss": loss, **{f"loss_{k}": v for k, v in terms.items()},
                             "lr": self.lr_at(it)})
        self.iteration += 1
        self.sim_seconds += time.perf_counter() - t0
        return loss

    @classmethod
    def resume(cls, out, pde=None) -> "SimTrainer":
        """Continue a sim run; its PDE sizes come from run.json (they may differ from the benchmark's)."""
        if pde is None:
            path = Path(out) / "run.json"
            if not path.exists():
                raise FileNotFoundError(f"no run.json in {out}: not a sim run folder")
            run = json.loads(path.read_text())
            pde = _pde_from_settings(run["pde"], run.get("settings", {}))
        return super().resume(out, pde=pde)

    # ---- run folder ------------------------------------------------------
    def _write_metrics(self) -> None:
        super()._write_metrics()
        # The report reads an 'iteration' column (docs/reports.md); the golden file calls it 'iter'.
        evals = {e["iter"]: e["rel_l2"] for e in self.evals}
        extra = sorted({k for h in self.history for k in h} - {"iter", "loss"})
        tmp = self.out / "metrics.csv.tmp"
        with open(tmp, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["iteration", "loss", "rel_l2"] + extra)
            for h in self.history:
                w.writerow([h["iter"], h["loss"], evals.get(h["iter"], "")] + [h.get(k, "") for k in extra])
        os.replace(tmp, self.out / "metrics.csv")
        self._write_sim_files()

    def _write_sim_files(self) -> None:
        run = {"schema": "pinta-run/1", "pde": self.pde.name, "method": "se", "config": self.chip.to_dict(),
               "settings": {"iters": self.cfg.iters, "seed": self.cfg.seed, "tt_rank": self.cfg.tt_rank,
                            "pairs": self.pde.pairs, "diffquant": self.cfg.diffquant, "backend": "sim",
                            "n_interior": self.pde.n_interior, "n_boundary": self.pde.n_boundary,
                            "n_initial": self.pde.n_initial, "hidden": list(self.pde.net.hidden)},
               "synthetic": False}
        (self.out / "run.json").write_text(json.dumps(run, indent=1))
        # Earlier iterations of a resumed run are kept from the existing file.
        path = self.out / "sim_stats.json"
        old = []
        if path.exists():
            try:
                old = json.loads(path.read_text()).get("iterations", [])
            except json.JSONDecodeError:
                old = []
        mine = {r["iteration"] for r in self.sim_iterations}
        its = [r for r in old if r["iteration"] not in mine and r["iteration"] <= self.iteration] + self.sim_iterations
        its.sort(key=lambda r: r["iteration"])
        doc = {"schema": SIM_STATS_SCHEMA, "clock_mhz": self.chip.clock_mhz, "config": self.chip.name,
               "programs": {"forward_instructions": len(self.programs.forward),
                            "backward_instructions": len(self.programs.backward), "tiles": self.programs.tiles},
               "iterations": its}
        tmp = self.out / "sim_stats.json.tmp"
        tmp.write_text(json.dumps(doc))
        os.replace(tmp, path)

    def summary(self, sec_per_iter=None) -> dict:
        s = super().summary(sec_per_iter)
        s["backend"] = "sim"
        if self.sim_iterations:
            cyc = self.sim_iterations[-1]["cycles"]
            s["sim_cycles_per_iter"] = cyc
            s["sim_time_per_iter_s"] = cyc / (self.chip.clock_mhz * 1e6)
        return s


def run_sim(args, UserError) -> int:
    """``pinta train --backend sim``: the golden trainer's CLI flow with :class:`SimTrainer`."""
    from pinta.golden.pde import PDEError
    from pinta.golden.train_cli import open_run

    if args.mode != "quantized":
        raise UserError("--backend sim runs the chip's numerics: pass --mode quantized")
    try:
        tr = open_run(args, UserError, SimTrainer, label="sim",
                      make=lambda cfg, out: SimTrainer(cfg, out, pde=_pde_with_overrides(args),
                                                       sim_config=args.chip_config))
        summary = tr.run(progress=not args.quiet)
    except (ValueError, PDEError, FileNotFoundError) as e:
        raise UserError(str(e)) from None
    print(json.dumps(summary))
    return 0


def _pde_with_overrides(args):
    """The benchmark with the sim-only size overrides (--hidden, --n-interior, ...), or None for the defaults."""
    from pinta.golden.pde import BENCHMARKS, NetSpec

    over = {}
    for key in ("n_interior", "n_boundary", "n_initial"):
        v = getattr(args, key, None)
        if v is not None:
            over[key] = int(v)
    if args.pairs is not None:
        over["pairs"] = int(args.pairs)
    hidden = getattr(args, "hidden", None)
    pde = BENCHMARKS[args.pde](**over)
    if hidden:
        pde.net = NetSpec(tuple(int(h) for h in hidden.split(",")), pde.net.activation)
    return pde.validate()


def _pde_from_settings(name: str, st: dict):
    from pinta.golden.pde import BENCHMARKS, NetSpec

    over = {k: int(st[k]) for k in ("n_interior", "n_boundary", "n_initial", "pairs") if st.get(k) is not None}
    pde = BENCHMARKS[name](**over)
    if st.get("hidden"):
        pde.net = NetSpec(tuple(int(h) for h in st["hidden"]), pde.net.activation)
    return pde.validate()


#: Config fields that change quantized values (the rest are sizes and speeds).
NUMERIC_FIELDS = ("block_size", "exponent_bits", "accumulator_bits", "align_guard_bits")


def _check_numerics(chip: PintaConfig) -> None:
    """The golden engine runs with the default config's numerics; a chip with other numerics cannot match it bit for bit."""
    ref = load_config("default")
    diff = [f"{k} {getattr(chip, k)} (golden: {getattr(ref, k)})" for k in NUMERIC_FIELDS if getattr(chip, k) != getattr(ref, k)]
    if diff:
        raise CompileError(f"chip config '{chip.name}' changes the quantized numerics ({', '.join(diff)}); the golden "
                           "quantized engine uses the default config's, so the sim backend would not be bit-identical")
