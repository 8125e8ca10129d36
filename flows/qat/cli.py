"""``pinta qat ...``: data generation, the QAT sweep and its report.

  pinta qat data  --pde burgers|darcy [--n N] [--eps E] [--cache DIR]
  pinta qat sweep --pde burgers|darcy [--tiny] [--out DIR] [--archs fno,unet] [--scenarios ...]
                  [--res 256,128] [--widths 16,32] [--fp-epochs E] [--qat-epochs E] [--no-head-ablation]
                  [--jobs 1|2] (prints wall time, CPU time and load average)
  pinta qat report --out DIR [--findings] [--markdown [--metric M]] [--exact-int [--cache DIR]]
  pinta qat gemms --arch fno --res 256 --width 32 --scenario w8a8
  pinta qat cost  --arch fno --res 256 --width 32 [--scenarios fp32,w8a8]
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace


def _ints(s: str, what: str) -> tuple[int, ...]:
    from pinta.cli import UserError
    try:
        v = tuple(int(t) for t in s.split(",") if t.strip())
    except ValueError:
        raise UserError(f"--{what} wants comma-separated integers, got {s!r}") from None
    if not v or any(x <= 0 for x in v):
        raise UserError(f"--{what} wants positive integers, got {s!r}")
    return v


def _cmd_data(args) -> int:
    from pinta.cli import UserError

    from . import data
    t0 = time.time()
    if args.pde == "burgers":
        if args.n_grid not in (256, 512, 1024):
            raise UserError(f"--n-grid must be 256, 512 or 1024 (got {args.n_grid})")
        p = data.generate_burgers(args.n, args.eps, args.seed, args.cache, n_grid=args.n_grid)
    else:
        p = data.generate_darcy(args.n, args.seed, args.cache)
    print(f"{p} ({time.time() - t0:.1f} s)")
    return 0


def _config(args):
    from pinta.cli import UserError

    from .quant import SCENARIOS
    from .sweep import SweepConfig
    cfg = SweepConfig.preset(args.pde, tiny=args.tiny)
    if args.archs:
        names = [a for a in args.archs.split(",") if a]
        bad = [a for a in names if a not in ("fno", "unet")]
        if bad:
            raise UserError(f"unknown architecture(s) {bad}; known: fno, unet")
        default_w = {"fno": (16, 32), "unet": (8, 16)} if args.pde == "burgers" else {"fno": (16,), "unet": (8,)}
        cfg = replace(cfg, archs={a: cfg.archs.get(a, default_w[a]) for a in names})
    if args.widths:
        w = _ints(args.widths, "widths")
        cfg = replace(cfg, archs={a: w for a in cfg.archs})
    if args.res:
        r = _ints(args.res, "res")
        full = 256 if args.pde == "burgers" else 64
        bad = [x for x in r if full % x or x < 8]
        if bad:
            raise UserError(f"--res {bad}: must divide {full} and be >= 8")
        cfg = replace(cfg, resolutions=r)
    if args.scenarios:
        s = tuple(x for x in args.scenarios.split(",") if x)
        bad = [x for x in s if x not in SCENARIOS]
        if bad:
            raise UserError(f"unknown scenario(s) {bad}; known: {', '.join(SCENARIOS)}")
        cfg = replace(cfg, scenarios=s)
    for k in ("fp_epochs", "qat_epochs", "n_train", "n_test"):
        v = getattr(args, k)
        if v is not None:
            if v < 1:
                raise UserError(f"--{k.replace('_', '-')} must be >= 1")
            cfg = replace(cfg, **{k: v})
    if args.eps is not None:
        if args.pde != "burgers" or args.eps <= 0:
            raise UserError("--eps is a positive number, for --pde burgers only")
        cfg = replace(cfg, eps=args.eps)
    if args.no_head_ablation:
        cfg = replace(cfg, head_ablation=())
    if args.no_head16:
        cfg = replace(cfg, head16=False)
    if args.learn_ranges:
        cfg = replace(cfg, learn_ranges=True)
    return cfg


def _print_fronts(s: dict) -> None:
    for metric, groups in s["fronts"].items():
        for k, f in groups.items():
            print(f"{k} by {metric}: Pareto front {f['n_front']} points, {f['n_quantized_on_front']} quantized: "
                  + ", ".join(f"{p['scenario']}@{p['res']}/w{p['width']} ({p['nrmse_ref']:.3g})" for p in f["front"]))
    for k, r in s.get("rankings", {}).items():
        for m, d in r.items():
            print(f"{k}: BOPs vs {m}: Kendall tau {d['kendall_tau']:.3f}, {d['n_reversed_pairs']} reversed pairs, "
                  f"{d['n_collapsed_pairs']} collapsed pairs (same config)")


def _sweep_one(args, pde: str, jobs: int) -> tuple[str, dict, float]:
    import os

    from .sweep import run_sweep
    args.pde = pde
    cfg = _config(args)
    if args.out and args.all:
        out = os.path.join(args.out, pde)
    else:
        out = args.out or f"runs/qat/{pde}{'_tiny' if args.tiny else ''}"
    t1 = time.time()
    s = run_sweep(cfg, out, cache=args.cache, progress=not args.quiet)
    return out, s, time.time() - t1


def _worker(a):
    return _sweep_one(*a)


def _cmd_sweep(args) -> int:
    from pinta.cli import UserError
    args.all = args.pde == "all"
    pdes = ("burgers", "darcy") if args.all else (args.pde,)
    if args.jobs < 1:
        raise UserError("--jobs must be >= 1")
    for pde in pdes:       # refuse bad options before anything runs
        args.pde = pde
        _config(args)
    t0 = time.time()
    load0 = _loadavg()
    work = [(args, pde, args.jobs) for pde in pdes]
    if args.jobs > 1 and len(pdes) > 1:   # one process per PDE (the 2-core machine)
        import multiprocessing as mp
        with mp.get_context("fork").Pool(min(args.jobs, len(pdes))) as pool:
            results = pool.map(_worker, work)
    else:
        results = [_worker(w) for w in work]
    for (out, s, wall), pde in zip(results, pdes):
        _print_fronts(s)
        print(f"sweep time {pde}: this run {wall:.1f} s; all points {s['sweep_seconds_total']:.1f} s; results in {out}")
    if len(pdes) > 1:
        print(f"total sweep time (this run, wall clock): {time.time() - t0:.1f} s")
    # The machine is shared: wall time alone says little without the CPU time it got and the load.
    print(f"CPU time (user + system, this process and its workers): {_cpu_seconds():.1f} s; "
          f"load average (1/5/15 min) at start {load0}, at end {_loadavg()}")
    return 0


def _cpu_seconds() -> float:
    import resource
    tot = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        ru = resource.getrusage(who)
        tot += ru.ru_utime + ru.ru_stime
    return tot


def _loadavg() -> str:
    import os
    try:
        return "/".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:   # not available on every platform
        return "n/a"


def _cmd_report(args) -> int:
    from pinta.cli import UserError

    from .sweep import recost, write_report
    try:
        if args.recost:
            n = recost(args.out, cache=args.cache)
            print(f"recosted with the current cycle and energy model: {n} point(s) changed")
        s = write_report(args.out)
    except (FileNotFoundError, ValueError) as e:
        raise UserError(str(e)) from None
    print(f"{s['n_points']} points; report written to {args.out}")
    if s["stale_costs"]:
        print(f"warning: {s['stale_costs']} point(s) were costed under another cycle/energy model than the "
              f"current one; `pinta qat report --out {args.out} --recost` recomputes them", file=sys.stderr)
    if args.markdown:
        from .sweep import markdown_table, read_records
        recs = read_records(args.out)
        print(f"\n{args.metric}:\n" + markdown_table(recs, args.metric))
    if args.findings:
        from .sweep import findings_markdown
        print("\n" + findings_markdown(args.out))
    if args.exact_int:
        from .sweep import exact_int_costs, exact_int_markdown
        try:
            exact_int_costs(args.out, cache=args.cache)
        except (ValueError, FileNotFoundError) as e:   # a config that no longer matches the records
            raise UserError(str(e)) from None
        print("\n" + exact_int_markdown(args.out))
    return 0


def _cmd_gemms(args) -> int:
    from pinta.cli import UserError

    from .models import build
    from .quant import SCENARIOS
    if args.scenario not in SCENARIOS:
        raise UserError(f"unknown scenario {args.scenario!r}; known: {', '.join(SCENARIOS)}")
    shape = (args.res,) if args.dim == 1 else (args.res, args.res)
    try:
        m = build(args.arch, shape, args.width, modes=args.modes)
    except ValueError as e:
        raise UserError(str(e)) from None
    m.set_scenario(args.scenario)
    gs = m.gemm_list(shape)
    print(f"{'name':16s} {'M':>6s} {'K':>6s} {'N':>6s} {'count':>5s} {'w':>3s} {'a':>3s} kind")
    for g in gs:
        print(f"{g.name:16s} {g.M:6d} {g.K:6d} {g.N:6d} {g.count:5d} {g.w_bits:3d} {g.a_bits:3d} {g.kind}")
    print(f"MACs {sum(g.macs for g in gs):,}  BOPs {sum(g.bops for g in gs):,}")
    return 0


def _cmd_cost(args) -> int:
    from pinta.cli import UserError

    from . import cost
    from .models import build
    from .quant import SCENARIOS
    scns = [x for x in (args.scenarios or ",".join(SCENARIOS)).split(",") if x]
    bad = [x for x in scns if x not in SCENARIOS]
    if bad:
        raise UserError(f"unknown scenario(s) {bad}; known: {', '.join(SCENARIOS)}")
    shape = (args.res,) if args.dim == 1 else (args.res, args.res)
    try:
        m = build(args.arch, shape, args.width, modes=args.modes)
    except ValueError as e:
        raise UserError(str(e)) from None
    cats = ("mac", "quantizer", "vector", "special_function", "sram", "dram")
    print(f"PINTA cost of one inference: {args.arch} {'x'.join(map(str, shape))} width {args.width} "
          f"(batch 1, default config; energy in uJ)")
    print(f"| scenario | head16 | BOPs | cycles | MAC busy | VEC busy | energy | " + " | ".join(cats) + " |")
    print("|---" * (7 + len(cats)) + "|")
    for scn in scns:
        m.set_scenario(scn, head16=not args.no_head16)
        c = cost.pinta_cost(m, shape)
        e = c["energy_per_category_j"]
        print(f"| {scn} | {int(not args.no_head16)} | {cost.bops(m.gemm_list(shape)):.3g} | {c['cycles']} | "
              f"{c['busy']['MAC']} | {c['busy']['VEC']} | {c['energy_j'] * 1e6:.4g} | "
              + " | ".join(f"{e.get(k, 0.0) * 1e6:.3g}" for k in cats) + " |")
    return 0


def register(sub) -> None:
    p = sub.add_parser("qat", help="QAT study of neural PDE solvers (data, sweep, report)")
    qs = p.add_subparsers(dest="qat_cmd", metavar="CMD", parser_class=type(p))

    d = qs.add_parser("data", help="generate and cache a dataset")
    d.add_argument("--pde", choices=("burgers", "darcy"), default="burgers")
    d.add_argument("--n", type=int, default=640, help="number of samples (default 640 = 512 train + 128 test)")
    d.add_argument("--eps", type=float, default=0.1, help="Burgers viscosity factor, nu = eps/pi")
    d.add_argument("--n-grid", type=int, default=256, help="Burgers solver grid (256; 1024 = the spec's)")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--cache", default=None, help="cache dir (default $PINTA_QAT_CACHE or runs/qat/cache)")
    d.set_defaults(func=_cmd_data)

    s = qs.add_parser("sweep", help="scenario x resolution x width sweep (resumable)")
    s.add_argument("--pde", choices=("burgers", "darcy", "all"), default="burgers",
                   help="'all' runs Burgers then Darcy (into OUT/burgers, OUT/darcy with --out)")
    s.add_argument("--tiny", action="store_true", help="a seconds-long configuration for CI")
    s.add_argument("--jobs", type=int, default=1, help="with --pde all: run the PDEs in this many processes")
    s.add_argument("--eps", type=float, default=None, help="Burgers viscosity factor (default 0.1)")
    s.add_argument("--out", default=None, help="results dir (default runs/qat/<pde>[_tiny])")
    s.add_argument("--cache", default=None)
    s.add_argument("--archs", default=None, help="comma list: fno,unet")
    s.add_argument("--widths", default=None)
    s.add_argument("--res", default=None)
    s.add_argument("--scenarios", default=None)
    s.add_argument("--fp-epochs", dest="fp_epochs", type=int, default=None)
    s.add_argument("--qat-epochs", dest="qat_epochs", type=int, default=None)
    s.add_argument("--n-train", dest="n_train", type=int, default=None)
    s.add_argument("--n-test", dest="n_test", type=int, default=None)
    s.add_argument("--no-head-ablation", action="store_true")
    s.add_argument("--no-head16", action="store_true", help="turn the 16-bit head switch off everywhere")
    s.add_argument("--learn-ranges", action="store_true", help="train the activation ranges in QAT (default: EMA)")
    s.add_argument("--quiet", action="store_true", help="no progress bars")
    s.set_defaults(func=_cmd_sweep)

    r = qs.add_parser("report", help="rewrite CSV/JSON/PNG from a results dir")
    r.add_argument("--out", required=True)
    r.add_argument("--markdown", action="store_true", help="also print a scenario table")
    r.add_argument("--metric", default="nrmse_ref",
                   choices=("nrmse", "nrmse_ref", "nrmse_ptq", "nrmse_int", "bops", "pinta_cycles", "pinta_energy_j",
                            "pinta_energy_onchip_j"))
    r.add_argument("--findings", action="store_true", help="also print the fronts, rankings and cost table")
    r.add_argument("--exact-int", dest="exact_int", action="store_true",
                   help="also cost the INT points in the MAC mode that holds their zero-point-shifted codes")
    r.add_argument("--recost", action="store_true",
                   help="first recompute every point's PINTA cost with the current cycle and energy model")
    r.add_argument("--cache", default=None, help="PINTA cost cache dir for --recost/--exact-int (default: the data cache)")
    r.set_defaults(func=_cmd_report)

    g = qs.add_parser("gemms", help="list every GEMM of one inference (the PINTA cost interface)")
    g.add_argument("--arch", default="fno")
    g.add_argument("--dim", type=int, choices=(1, 2), default=1)
    g.add_argument("--res", type=int, default=256)
    g.add_argument("--width", type=int, default=32)
    g.add_argument("--modes", type=int, default=16)
    g.add_argument("--scenario", default="w8a8")
    g.set_defaults(func=_cmd_gemms)

    c = qs.add_parser("cost", help="PINTA cycles and energy breakdown of one inference, per scenario")
    c.add_argument("--arch", default="fno")
    c.add_argument("--dim", type=int, choices=(1, 2), default=1)
    c.add_argument("--res", type=int, default=256)
    c.add_argument("--width", type=int, default=32)
    c.add_argument("--modes", type=int, default=16)
    c.add_argument("--scenarios", default=None)
    c.add_argument("--no-head16", action="store_true")
    c.set_defaults(func=_cmd_cost)

    p.set_defaults(func=lambda args: p.print_help() or 0)
