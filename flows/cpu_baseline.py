"""FP32 dense PINN training time per iteration on the local CPU (``pinta baseline cpu``).

Two methods, both one full Adam training iteration of the dense network of
algorithms.md §1 (sampling of the collocation points included in the timed
step, as it is part of every iteration):

* ``se``: Stein's estimator, NumPy float32. It reuses the golden float path
  (:class:`pinta.golden.training.Trainer` in ``float`` mode: the forward and
  backward through all B·(2K+1) evaluations, golden/mlp.py and golden/stein.py),
  so the CPU baseline trains exactly what the golden model defines.
* ``ad``: PDE derivatives by automatic differentiation (stacked backprop for
  the Laplacian, one extra backward per space coordinate), then the weight
  gradient; PyTorch on the CPU. PyTorch is optional
  (``pip install -e .[baseline]``); without it ``ad`` stops with a message
  saying so.

Threads are pinned (``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``,
``MKL_NUM_THREADS`` and ``torch.set_num_threads``) and recorded in the result:
on small 2-core machines default threading can slow these workloads badly.
BLAS libraries read the variables when NumPy is first imported, so the CLI
runs the measurement in a fresh interpreter (``python -m
pinta.flows.cpu_baseline``) with them set.

Output: JSON in the baselines-file shape of ``shared/baselines`` (``meta`` +
``results`` with ``s_per_iter``), readable by :mod:`pinta.reports.baselines`.
Time is seconds per iteration; ``j_per_iter`` is null (no energy counter is
read on the CPU).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["THREAD_ENV_VARS", "thread_env", "measure", "write_result", "default_path", "main", "TorchMissing"]

THREAD_ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
METHODS = ("se", "ad")


class TorchMissing(RuntimeError):
    """PyTorch is needed for the AD baseline and is not installed."""


def thread_env(threads: int) -> dict[str, str]:
    """The environment variables that pin BLAS/OpenMP to ``threads`` threads."""
    return {k: str(int(threads)) for k in THREAD_ENV_VARS}


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _make_pde(pde_name: str, pairs: int | None, points: int | None, hidden: tuple[int, ...] | None):
    from pinta.golden.pde import NetSpec, get_pde

    base = get_pde(pde_name)
    over: dict[str, Any] = {}
    if pairs is not None:
        over["pairs"] = int(pairs)
    if points is not None:
        # One number scales every collocation set (interior, boundary, initial) alike.
        for k in ("n_interior", "n_boundary", "n_initial"):
            if getattr(base, k):
                over[k] = int(points)
    if hidden is not None:
        over["net"] = NetSpec(tuple(hidden), base.net.activation)
    pde = get_pde(pde_name, **over)
    comparable = not over
    return pde, comparable


def _se_runner(pde, iters: int, seed: int):
    from pinta.golden.training import TrainConfig, Trainer

    tr = Trainer(TrainConfig(pde=pde.name, mode="float", iters=iters, seed=seed), out=None, pde=pde)
    return tr.step


def _torch_residual(name: str, torch, x, u, grad_x, lap, u_t):
    # The three benchmarks of algorithms.md §1, written with torch ops.
    if name == "poisson2d":
        return lap + torch.sin(x[:, 0] + x[:, 1])
    if name == "hjb20d":
        return u_t + lap - 0.05 * (grad_x * grad_x).sum(dim=1) + 2.0
    if name == "heat100d":
        return u_t - lap
    raise ValueError(f"the AD baseline has residuals for poisson2d, hjb20d and heat100d, not '{name}'")


def _ad_runner(pde, iters: int, seed: int, threads: int):
    try:
        import torch
    except ImportError:
        raise TorchMissing("the AD baseline needs PyTorch: install it with `pip install -e .[baseline]` "
                           "(or `pip install torch==2.13.0`)") from None
    import numpy as np

    torch.set_num_threads(int(threads))
    torch.manual_seed(seed)
    act = torch.tanh if pde.net.activation == "tanh" else torch.sin
    widths = [pde.dim, *pde.net.hidden, 1]
    lins = torch.nn.ModuleList(torch.nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
    for lin in lins:  # Glorot-normal weights, zero biases, as golden/mlp.py
        torch.nn.init.xavier_normal_(lin.weight)
        torch.nn.init.zeros_(lin.bias)

    def net(x):
        h = x
        for lin in lins[:-1]:
            h = act(lin(h))
        return lins[-1](h).squeeze(-1)

    def model(x):
        g = net(x)
        if pde.name == "hjb20d":  # terminal condition hard-wired: u = Σx + (1 - t)·g
            return x[:, :20].sum(dim=1) + (1 - x[:, 20]) * g
        return g

    opt = torch.optim.Adam(lins.parameters(), lr=pde.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda it: max(0.0, 1.0 - it / iters))
    rng = np.random.default_rng(seed)
    D = pde.space_dim

    def step() -> float:
        x = torch.tensor(pde.sample_interior(rng, pde.n_interior), dtype=torch.float32, requires_grad=True)
        u = model(x)
        (grad,) = torch.autograd.grad(u.sum(), x, create_graph=True)
        lap = torch.zeros_like(u)
        for i in range(D):  # stacked backprop: one more backward per coordinate
            (g2,) = torch.autograd.grad(grad[:, i].sum(), x, create_graph=True)
            lap = lap + g2[:, i]
        u_t = grad[:, -1] if pde.time_dependent else None
        res = _torch_residual(pde.name, torch, x, u, grad[:, :D], lap, u_t)
        loss = (res * res).mean()
        for kind in ("boundary", "initial"):
            n = getattr(pde, f"n_{kind}")
            if not n:
                continue
            pts = getattr(pde, f"sample_{kind}")(rng, n)
            target = torch.tensor(getattr(pde, f"{kind}_value")(pts), dtype=torch.float32)
            r = model(torch.tensor(pts, dtype=torch.float32)) - target
            loss = loss + getattr(pde, f"{kind}_weight") * (r * r).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        return float(loss.detach())

    return step, torch.__version__, torch.get_num_threads()


def measure(pde_name: str, method: str, iters: int, *, warmup: int = 1, seed: int = 0, threads: int = 1,
            pairs: int | None = None, points: int | None = None, hidden: tuple[int, ...] | None = None) -> dict:
    """Time ``iters`` training iterations after ``warmup`` untimed ones; returns the result JSON (a dict).

    ``pairs`` (K), ``points`` (collocation points per set) and ``hidden``
    (widths) shrink the problem for quick checks; a shrunk run is marked
    ``comparable: false`` and reports do not form ratios with it.
    Seconds per iteration are the mean over the timed iterations
    (``s_per_iter``) with the median and min beside it.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got '{method}'")
    if iters < 1 or warmup < 0:
        raise ValueError(f"iters must be >= 1 and warmup >= 0, got {iters}, {warmup}")
    import numpy as np

    os.environ.update(thread_env(threads))  # for any library that reads them late
    pde, comparable = _make_pde(pde_name, pairs, points, hidden)
    total = iters + warmup
    meta: dict[str, Any] = {"tool": "pinta baseline cpu", "device": _cpu_name(), "cpu_count": os.cpu_count(),
                            "python": platform.python_version(), "numpy": np.__version__,
                            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                            "dtype": "float32"}
    if method == "se":
        step = _se_runner(pde, total, seed)
        meta["framework"] = "numpy-cpu"
        torch_threads = None
    else:
        step, tv, torch_threads = _ad_runner(pde, total, seed, threads)
        meta["framework"] = "pytorch-cpu"
        meta["torch"] = tv
    meta["threads"] = {"requested": int(threads), "torch_num_threads": torch_threads,
                       **{k: os.environ.get(k) for k in THREAD_ENV_VARS}}
    for _ in range(warmup):
        step()
    times, loss = [], math.nan
    for _ in range(iters):
        t0 = time.perf_counter()
        loss = step()
        times.append(time.perf_counter() - t0)
    result = {
        "pde": pde.name, "method": method, "iters": iters, "warmup": warmup, "seed": seed,
        "s_per_iter": statistics.fmean(times), "s_per_iter_median": statistics.median(times),
        "s_per_iter_min": min(times), "j_per_iter": None, "final_loss": float(loss),
        "comparable": comparable,
        "settings": {"pairs": pde.pairs, "n_interior": pde.n_interior, "n_boundary": pde.n_boundary,
                     "n_initial": pde.n_initial, "hidden": list(pde.net.hidden), "activation": pde.net.activation,
                     "lr": pde.lr, "se_rows_per_iter": pde.n_interior * (2 * pde.pairs + 1) if method == "se" else None},
    }
    return {"meta": meta, "results": [result]}


def default_path(run_dir: str | Path, pde: str, method: str) -> Path:
    """Where a run folder keeps a CPU baseline: ``RUN_DIR/baselines/cpu-<pde>-<method>.json``."""
    return Path(run_dir) / "baselines" / f"cpu-{pde}-{method}.json"


def write_result(data: dict, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1) + "\n")
    return path


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``pinta baseline cpu`` (shared with ``python -m``)."""
    p.add_argument("--pde", required=True, choices=("poisson2d", "hjb20d", "heat100d"))
    p.add_argument("--method", required=True, choices=METHODS, help="se: Stein's estimator (NumPy); ad: autodiff (PyTorch)")
    p.add_argument("--iters", type=int, default=10, help="timed iterations (default 10)")
    p.add_argument("--warmup", type=int, default=1, help="untimed iterations first (default 1)")
    p.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP/torch threads (default 1)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--pairs", type=int, default=None, help="override K (marks the result not comparable)")
    p.add_argument("--points", type=int, default=None, help="override collocation points per set (not comparable)")
    p.add_argument("--hidden", type=str, default=None, help="override hidden widths, e.g. 64,64 (not comparable)")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--run", metavar="RUN_DIR", help="write RUN_DIR/baselines/cpu-<pde>-<method>.json")
    where.add_argument("--out", metavar="FILE", help="write the JSON here")


def run_from_args(args: argparse.Namespace) -> Path:
    hidden = None if args.hidden is None else tuple(int(w) for w in args.hidden.split(","))
    data = measure(args.pde, args.method, args.iters, warmup=args.warmup, seed=args.seed, threads=args.threads,
                   pairs=args.pairs, points=args.points, hidden=hidden)
    path = Path(args.out) if args.out else default_path(args.run, args.pde, args.method)
    write_result(data, path)
    r = data["results"][0]
    print(f"{r['pde']} {r['method']} on {data['meta']['device']} ({data['meta']['framework']}, "
          f"{args.threads} thread(s)): {r['s_per_iter'] * 1e3:.3f} ms/iter mean over {r['iters']} "
          f"(median {r['s_per_iter_median'] * 1e3:.3f}), final loss {r['final_loss']:.4g}"
          + ("" if r["comparable"] else " [reduced settings: not comparable]"))
    print(f"wrote {path}")
    return path


def main(argv: list[str] | None = None) -> int:
    """Child-process entry used by the CLI, after the thread variables are set."""
    p = argparse.ArgumentParser(prog="python -m pinta.flows.cpu_baseline")
    add_arguments(p)
    args = p.parse_args(argv)
    try:
        run_from_args(args)
    except TorchMissing as e:
        print(f"pinta baseline cpu: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
