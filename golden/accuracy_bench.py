"""``pinta bench accuracy`` and ``pinta bench train-speed``: measured training accuracy and speed.

accuracy: for each PDE, trains the configurations below for ``--iters``
iterations and prints the final relative L2 (10,000 fresh test points) with
the TT compression ratio, plus the FP32 dense SE anchor of algorithms.md §7
for comparison. Results are also written as JSON.

train-speed: seconds per quantized iteration at a PDE's specified settings
(default poisson2d: B = 100 + 100 points, K = 512, 2-256-256-256-1 tanh, TT
hidden layers), the CPU time per phase of the iteration, and the
extrapolated 1,000-iteration time.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

#: FP32 dense SE, 1,000 iterations (algorithms.md §7).
ANCHORS_1000 = {"poisson2d": 2.9e-3, "hjb20d": 5.0e-3, "heat100d": 5.6e-3}


def configurations(pde: str, rank: int, pairs: int) -> dict[str, dict]:
    """Named runs: the three main ones, then one switch changed per ablation."""
    q = dict(mode="quantized", tt_rank=rank)
    return {
        "float-dense": dict(mode="float", tt_rank=None),
        "float-tt": dict(mode="float", tt_rank=rank),
        "quant-tt": dict(q),
        "abl-no-diffquant": dict(q, diffquant=False),
        "abl-sequential-tt": dict(q, tt_method="sequential"),
        "abl-quant-dense-smx": dict(mode="quantized", tt_rank=None),
        "abl-quant-dense-mx": dict(mode="quantized", tt_rank=None, block="mx"),
        f"abl-rank-{max(1, rank // 2)}": dict(q, tt_rank=max(1, rank // 2)),
        f"abl-K-{max(1, pairs // 4)}": dict(q, pairs=max(1, pairs // 4)),
    }


def _accuracy(args) -> int:
    from .pde import BENCHMARKS, get_pde
    from .train_cli import DEFAULT_TT_RANK, user_error_class

    UserError = user_error_class()
    from .training import TrainConfig, Trainer

    pdes = list(BENCHMARKS) if args.pde == "all" else [args.pde]
    results = []
    for name in pdes:
        rank = args.tt_rank or DEFAULT_TT_RANK[name]
        pairs = args.pairs or get_pde(name).pairs
        cfgs = configurations(name, rank, pairs)
        wanted = list(cfgs) if args.only is None else args.only.split(",")
        unknown = [w for w in wanted if w not in cfgs]
        if unknown:
            raise UserError(f"unknown configuration '{unknown[0]}'; choose from: {', '.join(cfgs)}")
        for label in wanted:
            c = dict(cfgs[label])
            if args.pairs and "pairs" not in c:
                c["pairs"] = args.pairs
            cfg = TrainConfig(pde=name, iters=args.iters, seed=args.seed, eval_every=args.iters, ckpt_every=args.iters,
                              n_test=args.n_test, **c)
            out = None if args.runs is None else Path(args.runs) / f"{name}-{label}"
            t0 = time.perf_counter()
            tr = Trainer(cfg, out)
            s = tr.run(progress=not args.quiet)
            s.update(config=label, pairs=tr.pde.pairs, tt_rank=cfg.tt_rank, seconds=time.perf_counter() - t0, anchor_fp32_dense_se_1000=ANCHORS_1000[name])
            results.append(s)
            print(f"{name:10s} {label:22s} rel_L2 {s['rel_l2']:.3e}  compression {s['compression_ratio']:6.1f}x  "
                  f"loss {s['final_loss']:.3e}  ({s['sec_per_iter']:.2f} s/it)", flush=True)
        print(f"{name:10s} {'anchor fp32-dense-SE':22s} rel_L2 {ANCHORS_1000[name]:.3e}  (1,000 it, algorithms.md §7)")
    doc = {"iters": args.iters, "seed": args.seed, "pairs_override": args.pairs, "results": results}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(doc, indent=1))
    print(f"wrote {args.json}")
    return 0


#: Where the CPU time of a quantized iteration goes: (label, module attribute path, method).
#: Only the outermost timed call counts, so nested phases are not counted twice.
_PHASES = (
    ("TT layers, forward", "_TTQ", "fwd"),
    ("TT layers, backward", "_TTQ", "bwd"),
    ("dense layers, forward", "_DenseQ", "fwd"),
    ("dense layers, forward", "_DenseQ", "ctx_only"),
    ("dense layers, backward", "_DenseQ", "bwd"),
    ("activations", None, "_act"),
    ("activations", None, "_act_and_grad"),
    ("activation derivatives", None, "_act_grad"),
    ("activation derivatives", None, "_act_grad_diff"),
    ("SE sums and loss", "QuantizedEngine", "_se_loss"),
    ("on-chip delta", "QuantizedEngine", "deltas"),
)


class _PhaseTimer:
    """CPU seconds per phase of QuantizedEngine iterations (wraps the phase functions while active)."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self._saved = []
        self._depth = 0

    def __enter__(self):
        from . import quantized_training as Q

        for label, owner, name in _PHASES:
            obj = Q if owner is None else getattr(Q, owner)
            fn = obj.__dict__.get(name)
            if fn is None:  # a phase this engine version does not have
                continue
            self._saved.append((obj, name, fn))
            setattr(obj, name, self._wrap(label, fn))
        return self

    def _wrap(self, label, fn):
        def timed(*a, **k):
            if self._depth:
                return fn(*a, **k)
            self._depth += 1
            t0 = time.process_time()
            try:
                return fn(*a, **k)
            finally:
                self.seconds[label] = self.seconds.get(label, 0.0) + time.process_time() - t0
                self._depth -= 1
        return timed

    def __exit__(self, *exc):
        for obj, name, fn in reversed(self._saved):
            setattr(obj, name, fn)
        self._saved.clear()
        return False


def _train_speed(args) -> int:
    import os

    from .pde import get_pde
    from .train_cli import DEFAULT_TT_RANK
    from .training import TrainConfig, Trainer

    name = args.pde
    rank = args.tt_rank or DEFAULT_TT_RANK[name]
    cfg = TrainConfig(pde=name, mode="quantized", tt_rank=None if args.dense else rank, iters=1000, seed=0,
                      pairs=args.pairs)
    tr = Trainer(cfg)
    warm = []
    for _ in range(args.warmup):  # first calls pay for imports and first allocations
        t0 = time.perf_counter()
        tr.step()
        warm.append(time.perf_counter() - t0)
    times, cpu = [], []
    with _PhaseTimer() as phases:
        for _ in range(args.iters):
            t0, c0 = time.perf_counter(), time.process_time()
            tr.step()
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
    sec = sum(times) / len(times)
    cpu_sec = sum(cpu) / len(cpu)
    p = tr.pde
    breakdown = {k: v / len(times) for k, v in sorted(phases.seconds.items(), key=lambda kv: -kv[1])}
    breakdown["other (stream sums, gathers, Adam)"] = cpu_sec - sum(breakdown.values())
    rows = p.n_interior * (2 * p.pairs + 1) + p.n_boundary + (p.n_initial if p.time_dependent else 0)
    spec = name == "poisson2d" and not args.dense and args.pairs in (None, get_pde(name).pairs)
    doc = {"pde": name, "mode": "quantized", "net": "dense" if args.dense else f"tt rank {rank}",
           "hidden": list(p.net.hidden), "B_interior": p.n_interior, "B_boundary": p.n_boundary,
           "B_initial": p.n_initial if p.time_dependent else 0, "K": p.pairs, "rows_per_layer": rows,
           "sec_per_iter": sec, "min_sec_per_iter": min(times), "cpu_sec_per_iter": cpu_sec,
           "cpu_breakdown_sec_per_iter": breakdown, "warmup_sec": warm, "timed_iters": len(times),
           "projected_1000_iter_min": sec * 1000 / 60, "target_sec_per_iter": 1.0, "target_1000_iter_min": 20.0,
           "targets_apply": spec, "meets_targets": sec <= 1.0 and sec * 1000 / 60 <= 20.0,
           "threads": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")},
           "cpu_count": os.cpu_count(), "load_average": os.getloadavg()}
    print(f"quantized {name} ({doc['net']}, hidden {'-'.join(map(str, p.net.hidden))}, B = {p.n_interior}+{p.n_boundary}"
          f"{'+' + str(p.n_initial) if p.time_dependent and p.n_initial else ''}, K = {p.pairs}, {rows} rows per layer): "
          f"{sec:.2f} s/iteration wall (min {min(times):.2f}, {len(times)} timed), {cpu_sec:.2f} s/iteration CPU")
    print("CPU seconds per iteration by phase: " + ", ".join(f"{k} {v:.2f}" for k, v in breakdown.items()))
    verdict = "met" if doc["meets_targets"] else "NOT met"
    print(f"projected 1,000 iterations: {doc['projected_1000_iter_min']:.1f} min (measured per-iteration wall time x 1000); "
          + (f"targets <= 1 s/iteration and <= 20 min: {verdict}" if spec else
             "(the <= 1 s and <= 20 min targets are specified for poisson2d, TT, K = 512 only)"))
    print(f"load average during the run: {', '.join(f'{v:.1f}' for v in doc['load_average'])} on {os.cpu_count()} CPUs "
          "(wall time includes waiting for the CPU; CPU time does not)")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(doc, indent=1))
    return 0


def register_bench(sub) -> None:
    from .pde import BENCHMARKS

    p = sub.add_parser("accuracy", help="relative L2 of float/quantized dense/TT training and the ablations")
    p.add_argument("--pde", choices=("all", *BENCHMARKS), default="all")
    p.add_argument("--iters", type=int, default=1000, help="training iterations per configuration")
    p.add_argument("--only", default=None, metavar="LIST",
                   help="comma-separated configurations (float-dense, float-tt, quant-tt, abl-...); default all")
    p.add_argument("--tt-rank", type=int, default=None)
    p.add_argument("--pairs", type=int, default=None, metavar="K",
                   help="SE pairs K for every configuration (default: the PDE's; a cheap rerun uses fewer)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-test", type=int, default=10000)
    p.add_argument("--runs", default=None, help="keep each run's folder (checkpoints, metrics) under this folder")
    p.add_argument("--json", default="runs/accuracy.json", help="where to write the results")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=_accuracy)

    q = sub.add_parser("train-speed", help="seconds per quantized training iteration (default poisson2d) and where they go")
    q.add_argument("--pde", choices=tuple(BENCHMARKS), default="poisson2d",
                   help="benchmark at its specified settings (the speed targets are poisson2d's)")
    q.add_argument("--iters", type=int, default=3, help="timed iterations (after the warm-up ones)")
    q.add_argument("--warmup", type=int, default=1, help="untimed iterations first (default 1)")
    q.add_argument("--pairs", type=int, default=None, metavar="K", help="SE pairs K (default: the specified 512)")
    q.add_argument("--tt-rank", type=int, default=None)
    q.add_argument("--dense", action="store_true", help="dense hidden layers instead of TT")
    q.add_argument("--json", default=None)
    q.set_defaults(func=_train_speed)
