"""``pinta train``: train a PINN benchmark on a backend and write metrics to a run folder."""

from __future__ import annotations

import json
import sys
from pathlib import Path

BACKENDS = ("golden", "sim", "rtl")
AVAILABLE_BACKENDS = ("golden", "sim")
NETS = ("dense", "tt")
#: TT rank of the hidden-to-hidden layers when --net tt and no --tt-rank is given.
DEFAULT_TT_RANK = {"poisson2d": 8, "hjb20d": 8, "heat100d": 8}


def add_run_options(p) -> None:
    """Options of ``pinta train`` that select the numerics, the network and the ablation switches."""
    p.add_argument("--mode", choices=("float", "quantized"), default="float",
                   help="float: float32 reference; quantized: hardware-exact SMX training (default: float)")
    p.add_argument("--net", choices=NETS, default=None, help="dense or TT hidden layers (default: dense for float, tt for quantized)")
    p.add_argument("--tt-rank", type=int, default=None, metavar="R", help="TT rank (default per PDE: %s)" % DEFAULT_TT_RANK)
    p.add_argument("--tt-method", choices=("prs", "sequential"), default="prs", help="quantized TT contraction (default: prs)")
    p.add_argument("--tt-split", type=int, default=None, metavar="S", help="PRS split point (default d/2)")
    p.add_argument("--no-diffquant", action="store_true", help="ablation: quantize x±δ directly instead of DiffQuant")
    p.add_argument("--block", choices=("smx", "mx"), default="smx", help="ablation: square SMX blocks or row-wise MX (dense nets only)")
    p.add_argument("--pairs", type=int, default=None, metavar="K", help="SE antithetic pairs K (default: the PDE's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32", help="float-mode precision")


def tt_rank_of(args, pde: str, mode: str) -> int | None:
    net = args.net or ("tt" if mode == "quantized" else "dense")
    if net == "dense":
        return None
    return args.tt_rank if args.tt_rank is not None else DEFAULT_TT_RANK[pde]


def user_error_class():
    """pinta.cli.UserError, also when pinta.cli runs as ``python -m pinta.cli`` (then it is __main__'s class)."""
    main_mod = sys.modules.get("__main__")
    spec = getattr(main_mod, "__spec__", None)
    if spec is not None and spec.name == "pinta.cli" and hasattr(main_mod, "UserError"):
        return main_mod.UserError
    from pinta.cli import UserError

    return UserError


def config_from_args(args):
    """The :class:`TrainConfig` of ``pinta train``'s flags (a new run)."""
    from .training import TrainConfig

    return TrainConfig(pde=args.pde, mode=args.mode, iters=args.iters, seed=args.seed,
                       tt_rank=tt_rank_of(args, args.pde, args.mode), pairs=args.pairs,
                       diffquant=not args.no_diffquant, tt_method=args.tt_method, tt_split=args.tt_split,
                       block=args.block, dtype=args.dtype, eval_every=args.eval_every,
                       ckpt_every=args.ckpt_every, n_test=args.n_test)


def open_run(args, UserError, trainer_cls, make, label: str | None = None):
    """The trainer of ``args.out``: resumed from its checkpoint (``--resume``) or new, ``make(cfg, out)``.

    Shared by every backend so the run-folder rules are one piece of code:
    ``--resume`` needs a checkpoint, a new run refuses a folder that holds
    one, and a new run records its flags in ``config.json``. ``label`` names
    the backend in the resume message (default: the run's mode).
    """
    from .pde import BENCHMARKS

    out = Path(args.out)
    ckpt = out / "checkpoint.npz"
    if args.resume:
        if not ckpt.exists():
            raise UserError(f"--resume: no checkpoint in {out}")
        tr = trainer_cls.resume(out)
        print(f"resuming {tr.cfg.pde} ({label or tr.cfg.mode}) at iteration {tr.iteration} of {tr.cfg.iters}")
        return tr
    if ckpt.exists():
        raise UserError(f"{out} already holds a run; pass --resume to continue it or choose another --out")
    if args.pde not in BENCHMARKS:
        raise UserError(f"unknown PDE '{args.pde}'; choose one of: {', '.join(BENCHMARKS)}")
    tr = make(config_from_args(args), out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(vars(args), indent=1, default=str))
    return tr


def _run(args) -> int:
    UserError = user_error_class()
    from .pde import PDEError
    from .training import Trainer

    if args.backend not in AVAILABLE_BACKENDS:
        raise UserError(f"backend '{args.backend}' is not yet available; available now: {', '.join(AVAILABLE_BACKENDS)}")
    if args.backend == "sim":  # the simulator backend lives in flows/ (flows/runner.py)
        from pinta.flows.runner import run_sim

        return run_sim(args, UserError)
    try:
        tr = open_run(args, UserError, Trainer, Trainer)
        summary = tr.run(progress=not args.quiet)
    except (ValueError, PDEError) as e:
        raise UserError(str(e)) from None
    print(json.dumps(summary))
    return 0


def register(sub) -> None:
    from .pde import BENCHMARKS

    p = sub.add_parser("train", help="train a PINN benchmark (Stein's estimator; float or quantized)")
    p.add_argument("--pde", choices=tuple(BENCHMARKS), default="poisson2d", help="benchmark problem")
    p.add_argument("--backend", choices=BACKENDS, default="golden",
                   help="golden (NumPy model) or sim (the compiled iteration on the simulator, flows/); rtl is not yet available")
    p.add_argument("--iters", type=int, default=1000, help="iterations (the learning rate decays to 0 at the last)")
    p.add_argument("--out", required=True, help="run folder: checkpoint.npz, metrics.csv, metrics.json")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its checkpoint (its settings come from the checkpoint)")
    p.add_argument("--eval-every", type=int, default=100, metavar="N", help="relative L2 on fresh test points every N iterations")
    p.add_argument("--ckpt-every", type=int, default=10, metavar="N", help="checkpoint every N iterations")
    p.add_argument("--n-test", type=int, default=10000, help="test points per evaluation")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_run_options(p)
    from pinta.flows.sim_options import add_sim_options

    add_sim_options(p)
    p.set_defaults(func=_run)
