"""``pinta bench accuracy`` and ``pinta bench train-speed``: measured training accuracy and speed.

accuracy: for each PDE, trains the configurations below for ``--iters``
iterations and prints the final relative L2 (10,000 fresh test points) with
the TT compression ratio, plus the FP32 dense SE anchor of algorithms.md §7
for comparison. Results are also written as JSON.

train-speed: seconds per quantized poisson2d iteration at the specified
settings (B = 100 + 100 points, K = 512, 2-256-256-256-1 tanh, TT hidden
layers) and the extrapolated 1,000-iteration time.
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


def _train_speed(args) -> int:
    import os

    from .train_cli import DEFAULT_TT_RANK
    from .training import TrainConfig, Trainer

    rank = args.tt_rank or DEFAULT_TT_RANK["poisson2d"]
    cfg = TrainConfig(pde="poisson2d", mode="quantized", tt_rank=None if args.dense else rank, iters=1000, seed=0,
                      pairs=args.pairs)
    tr = Trainer(cfg)
    warm = []
    for _ in range(args.warmup):  # first calls pay for imports and first allocations
        t0 = time.perf_counter()
        tr.step()
        warm.append(time.perf_counter() - t0)
    times, cpu = [], []
    for _ in range(args.iters):
        t0, c0 = time.perf_counter(), time.process_time()
        tr.step()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    sec = sum(times) / len(times)
    p = tr.pde
    doc = {"pde": "poisson2d", "mode": "quantized", "net": "dense" if args.dense else f"tt rank {rank}",
           "B_interior": p.n_interior, "B_boundary": p.n_boundary, "K": p.pairs,
           "rows_per_layer": p.n_interior * (2 * p.pairs + 1) + p.n_boundary,
           "sec_per_iter": sec, "min_sec_per_iter": min(times), "cpu_sec_per_iter": sum(cpu) / len(cpu), "warmup_sec": warm, "timed_iters": len(times),
           "projected_1000_iter_min": sec * 1000 / 60, "target_sec_per_iter": 1.0, "target_1000_iter_min": 20.0,
           "meets_targets": sec <= 1.0 and sec * 1000 / 60 <= 20.0,
           "threads": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")},
           "load_average": os.getloadavg()}
    print(f"quantized poisson2d ({doc['net']}, B = {p.n_interior}+{p.n_boundary}, K = {p.pairs}, "
          f"{doc['rows_per_layer']} rows per layer): {sec:.2f} s/iteration (min {min(times):.2f}, {len(times)} timed; "
          f"CPU time {doc['cpu_sec_per_iter']:.2f} s/iteration)")
    print(f"projected 1,000 iterations: {doc['projected_1000_iter_min']:.1f} min (measured per-iteration time x 1000); "
          f"targets <= 1 s/iteration and <= 20 min: {'met' if doc['meets_targets'] else 'NOT met'}")
    print(f"load average during the run: {', '.join(f'{v:.1f}' for v in doc['load_average'])}")
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

    q = sub.add_parser("train-speed", help="seconds per quantized poisson2d training iteration")
    q.add_argument("--iters", type=int, default=3, help="timed iterations (after the warm-up ones)")
    q.add_argument("--warmup", type=int, default=1, help="untimed iterations first (default 1)")
    q.add_argument("--pairs", type=int, default=None, metavar="K", help="SE pairs K (default: the specified 512)")
    q.add_argument("--tt-rank", type=int, default=None)
    q.add_argument("--dense", action="store_true", help="dense hidden layers instead of TT")
    q.add_argument("--json", default=None)
    q.set_defaults(func=_train_speed)
