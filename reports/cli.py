"""``pinta report RUN_DIR`` and ``pinta baseline cpu``."""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys


def _user_error(msg: str):
    from pinta.cli import UserError

    return UserError(msg)


def _cmd_report(args: argparse.Namespace) -> int:
    from .area import AreaError
    from .baselines import BaselineError
    from .energy import EnergyTableError, MissingEnergyEntry
    from .report import ReportError, build_report

    try:
        s = build_report(args.run_dir, args.out, shared=args.shared, node=args.node, voltage=args.voltage,
                         energy_table=args.energy_table, rule=args.rule, area_json=args.area_json,
                         area_node=args.area_node, plots=not args.no_plots,
                         spec_estimate=not args.no_spec_estimate, progress=lambda m: print(m, flush=True))
    except (ReportError, BaselineError, EnergyTableError, MissingEnergyEntry, AreaError) as e:
        raise _user_error(str(e).replace("\n", " ")) from None
    h = s["headline"]
    if s["workload"]["reduced"]:
        print(f"this run (reduced settings): {s['pinta']['s_per_iter'] * 1e3:.4g} ms/iter, "
              f"{s['pinta']['j_per_iter'] * 1e3:.4g} mJ/iter")
    ps = s["pinta_specified"] or s["pinta"]
    print(f"PINTA ({h['pinta']}) {ps['s_per_iter'] * 1e3:.4g} ms/iter, {ps['j_per_iter'] * 1e3:.4g} mJ/iter; "
          f"vs {h['baseline']}: speedup {h['speedup']:.3g}x, energy ratio "
          + ("n/a" if h["energy_ratio"] is None else f"{h['energy_ratio']:.3g}x")
          + (" [SYNTHETIC run folder]" if s["synthetic"] else ""))
    print(f"wrote {s['out_dir']}/report.md")
    return 0


def _cmd_baseline_cpu(args: argparse.Namespace) -> int:
    from pinta.flows import cpu_baseline as cb

    # Checked here (without importing torch, which is slow) so the message is one line.
    if args.method == "ad" and importlib.util.find_spec("torch") is None:
        raise _user_error("the AD baseline needs PyTorch: install it with `pip install -e .[baseline]` "
                          "(or `pip install torch==2.13.0`)")
    # BLAS reads its thread variables when NumPy is first imported, which has
    # already happened in this process; measure in a fresh interpreter.
    env = dict(os.environ, **cb.thread_env(args.threads))
    argv = [sys.executable, "-m", "pinta.flows.cpu_baseline", "--pde", args.pde, "--method", args.method,
            "--iters", str(args.iters), "--warmup", str(args.warmup), "--threads", str(args.threads),
            "--seed", str(args.seed)]
    for opt in ("pairs", "points", "hidden", "run", "out"):
        v = getattr(args, opt)
        if v is not None:
            argv += [f"--{opt}", str(v)]
    for opt in ("iters", "threads"):
        if getattr(args, opt) < 1:
            raise _user_error(f"--{opt} must be >= 1")
    proc = subprocess.run(argv, env=env)
    if proc.returncode:
        raise _user_error(f"CPU baseline measurement failed (exit {proc.returncode})")
    return 0


def register(sub) -> None:
    """Add ``report`` and ``baseline`` to the ``pinta`` subcommands."""
    p = sub.add_parser("report", help="write the speedup/energy/accuracy/area report of a run folder",
                       description="Write RUN_DIR/report/report.md with plots and CSV/JSON data "
                                   "(run-folder schema: docs/reports.md).")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--out", default=None, help="output folder (default RUN_DIR/report)")
    p.add_argument("--shared", default=None, help="the 'shared' folder holding baselines/ (default: $PINTA_SHARED, "
                                                  "else the folder next to the repository root, else the packaged copy)")
    p.add_argument("--energy-table", default=None, help="energy table name or .toml path (default: the config's)")
    p.add_argument("--node", type=float, default=None, help="evaluate energy at this node, nm (default: the table's)")
    p.add_argument("--voltage", type=float, default=None, help="evaluate energy at this supply, V (default: the table's)")
    p.add_argument("--rule", default="dennard_cv2", help="node/voltage scaling rule (default dennard_cv2)")
    p.add_argument("--area-json", default=None, help="`pinta area --json` output (default RUN_DIR/area.json if present)")
    p.add_argument("--area-node", type=float, default=28.0, help="node of the area figures, nm (default 28)")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots (tables and data only)")
    p.add_argument("--no-spec-estimate", action="store_true",
                   help="for a run at reduced settings, do not price the specified settings by static analysis "
                        "(it compiles and analyses one full-size iteration: tens of CPU seconds, cached in RUN_DIR)")
    p.set_defaults(func=_cmd_report)

    b = sub.add_parser("baseline", help="measure software baselines on this machine")
    bsub = b.add_subparsers(dest="baseline_command", metavar="KIND")
    c = bsub.add_parser("cpu", help="FP32 dense PINN training time per iteration on the local CPU",
                        description="Time FP32 dense PINN training (SE with NumPy, AD with PyTorch) with pinned "
                                    "threads; writes a baselines JSON.")
    from pinta.flows.cpu_baseline import add_arguments

    add_arguments(c)
    c.set_defaults(func=_cmd_baseline_cpu)
    b.set_defaults(func=lambda a: (b.print_help(), 0)[1])
