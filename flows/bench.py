"""``pinta bench sim-training``: a training iteration on the simulator against the golden quantized engine.

For each PDE it builds the golden quantized trainer and the sim trainer with
the same seed and sizes, runs the same iterations on both (alternately, so
load from other processes hits both alike), checks that the weights stay
bit-identical, and prints: simulated cycles per iteration (and the time at
the config's clock), host wall time per simulated iteration, the golden
engine's time per iteration, and their ratio (the simulator's overhead).

Sizes: ``small`` (hidden 16,16,16; 8 points, K = 8; TT rank 2) runs in
seconds; ``medium`` (hidden 64,64,64, the PDE's batch, K = 64; TT rank 2);
``full`` uses the PDE's own batch, K, hidden widths and TT rank. When a size does not fit the chip config's buffers
(the golden weight-gradient reduction chunk must be resident in one GEMM),
``--grow-buffers`` doubles every buffer until it does and says so: the cycle
count is then for that larger chip. Timing only prints; it never fails.
"""

from __future__ import annotations

import time

__all__ = ["measure_training", "register"]

SIZES = ("small", "medium", "full")


def _pde(name: str, size: str):
    from pinta.golden.pde import BENCHMARKS, NetSpec

    P = BENCHMARKS[name]
    if size == "full":
        return P().validate()
    b, k, h = (8, 8, (16, 16, 16)) if size == "small" else (P.n_interior, 64, (64, 64, 64))
    kw = {"n_interior": b, "pairs": k}
    if P.n_boundary:
        kw["n_boundary"] = min(b, P.n_boundary)
    if P.n_initial:
        kw["n_initial"] = min(b, P.n_initial)
    p = P(**kw)
    p.net = NetSpec(h, p.net.activation)
    return p.validate()


def _grown(cfg, factor: int):
    from .estimate import grown_config

    return grown_config(cfg, factor)


def _sized_pde(pde_name: str, size: str, pairs: int | None):
    """The size's PDE, with ``pairs`` SE pairs K instead of its own when given."""
    p = _pde(pde_name, size)
    if pairs is not None:
        p.pairs = pairs
        p = p.validate()
    return p


def measure_training(pde_name: str, size: str, chip, *, iters: int = 1, seed: int = 0, grow: bool = False,
                     net: str = "dense", pairs: int | None = None) -> dict:
    import numpy as np

    from pinta.golden.training import Trainer, TrainConfig

    from .compiler import CompileError
    from .runner import SimTrainer

    from pinta.golden.train_cli import DEFAULT_TT_RANK

    rank = None if net == "dense" else (DEFAULT_TT_RANK[pde_name] if size == "full" else 2)
    cfg = TrainConfig(pde=pde_name, mode="quantized", iters=max(iters, 1), seed=seed, tt_rank=rank)
    factor, used = 1, chip
    while True:
        try:
            t0 = time.process_time()
            s = SimTrainer(cfg, None, pde=_sized_pde(pde_name, size, pairs), sim_config=used)
            compile_s = time.process_time() - t0
            break
        except CompileError as e:
            if not grow or "fit" not in str(e) or factor >= 64:
                return {"pde": pde_name, "size": size, "skipped": str(e)}
            factor *= 2
            used = _grown(chip, factor)
    from pinta.sim.machine import Machine

    # A fresh machine that counts its time inside golden calls: the rest of the
    # simulator's time is its own overhead on the program's computation.
    s.machine = Machine(s.machine.cfg, time_golden=True)
    g = Trainer(cfg, None, pde=_sized_pde(pde_name, size, pairs))
    tg, ts, tc, exact = [], [], [], True
    for _ in range(iters):
        t0 = time.process_time()
        g.step()
        t1 = time.process_time()
        c0 = s.machine.golden_seconds
        s.step()
        t2 = time.process_time()
        tg.append(t1 - t0)
        ts.append(t2 - t1)
        tc.append(s.machine.golden_seconds - c0)
        exact &= all(np.array_equal(a.view(np.uint32), b.view(np.uint32)) for a, b in zip(g.net.params, s.net.params))
    rec = s.sim_iterations[-1]
    p = s.pde
    return {"pde": pde_name, "size": size, "net": net if rank is None else f"tt rank {rank}", "config": used.name, "buffers_kib": used.to_dict()["buffers"],
            "B": p.n_interior, "K": p.pairs, "hidden": list(p.net.hidden), "cycles": rec["cycles"],
            "sim_us": rec["cycles"] / used.clock_mhz, "instructions": rec["instructions"], "compile_s": compile_s,
            "sim_first_s": ts[0], "sim_s": min(ts[1:]) if len(ts) > 1 else ts[0], "golden_s": min(tg[1:]) if len(tg) > 1 else tg[0],
            # the golden calls' share of the fastest simulated iteration
            "sim_golden_s": tc[ts.index(min(ts[1:]))] if len(ts) > 1 else tc[0],
            "bit_identical": bool(exact),
            "units": {u: round(d["busy"] / rec["cycles"], 3) for u, d in rec["units"].items()}}


def measure_cycles(pde_name: str, size: str, chip, *, grow: bool = False, net: str = "tt",
                   pairs: int | None = None) -> dict:
    """Cycles of one iteration from the static analysis alone (no values computed: timing is static).

    ``pairs``: SE pairs K instead of the size's (everything else unchanged).
    """
    from pinta.golden.train_cli import DEFAULT_TT_RANK

    from .estimate import EstimateError, estimate_iteration

    p = _sized_pde(pde_name, size, pairs)
    rank = None if net == "dense" else (DEFAULT_TT_RANK[pde_name] if size == "full" else 2)
    try:
        est = estimate_iteration(p, chip, tt_rank=rank, grow=grow)
    except EstimateError as e:
        return {"pde": pde_name, "size": size, "skipped": str(e)}
    used, it = est["config"], est["iteration"]
    cycles, acts = it["cycles"], it["actions"]
    return {"pde": pde_name, "size": size, "net": net if rank is None else f"tt rank {rank}", "config": used.name,
            "buffers_kib": used.to_dict()["buffers"], "B": p.n_interior, "K": p.pairs, "hidden": list(p.net.hidden),
            "cycles": cycles, "sim_us": cycles / used.clock_mhz,
            "instructions": est["instructions"],
            "compile_s": est["compile_s"], "analysis_s": est["analysis_s"],
            "units": {u: round(d["busy"] / cycles, 3) for u, d in it["units"].items()},
            "macs": {k: v for k, v in acts.items() if k.startswith("mac_")},
            "dram_bytes": acts["dram_read"] + acts["dram_write"]}


def _cmd(args) -> int:
    from pinta.config import load_config
    from pinta.golden.pde import BENCHMARKS

    if args.pairs is not None and args.pairs < 1:
        import sys

        print(f"pinta bench sim-training: error: --pairs K needs K >= 1, got {args.pairs}", file=sys.stderr)
        return 2
    chip = load_config(args.config)
    if args.buffer_scale > 1:
        chip = _grown(chip, args.buffer_scale)
    pdes = [args.pde] if args.pde else list(BENCHMARKS)
    print(f"training on the simulator vs the golden quantized engine (size {args.size}, chip {chip.name}, "
          f"{args.iters} iteration(s), CPU time; the first sim iteration also validates and schedules the programs)")
    if not args.cycles_only:
        print("  sim s/it: the simulated iteration; golden calls: its time inside golden-model calls (the program's "
              "numerics);\n  machine overhead = sim / golden calls; vs engine = sim / the golden training engine's "
              "iteration (the engine computes the same iteration untiled, with fewer and larger calls)")
    hdr = (f"{'pde':<10} {'config':<24} {'cycles/iter':>12} {'us@clk':>9} {'instr':>7} {'sim s/it':>9} {'golden calls':>12} "
           f"{'machine ovh':>11} {'engine s/it':>11} {'vs engine':>9} {'1st sim s':>9} {'exact':>6}")
    if args.cycles_only:
        print(f"{'pde':<10} {'config':<24} {'cycles/iter':>12} {'us@clk':>10} {'instr':>8} {'compile s':>9} {'analysis s':>10}")
        for name in pdes:
            r = measure_cycles(name, args.size, chip, grow=args.grow_buffers, net=args.net, pairs=args.pairs)
            if "skipped" in r:
                print(f"{name:<10} skipped: {r['skipped']}")
                continue
            print(f"{name:<10} {r['config']:<24} {r['cycles']:>12} {r['sim_us']:>10.1f} {r['instructions']:>8} "
                  f"{r['compile_s']:>9.1f} {r['analysis_s']:>10.1f}")
            print(f"{'':<10} {r['net']} B={r['B']} K={r['K']} hidden={r['hidden']} buffers KiB={r['buffers_kib']}; busy "
                  + ", ".join(f"{u} {v:.0%}" for u, v in r["units"].items()) + f"; MACs {r['macs']}; DRAM {r['dram_bytes'] / 1e6:.1f} MB")
        return 0
    print(hdr)
    for name in pdes:
        r = measure_training(name, args.size, chip, iters=args.iters, seed=args.seed, grow=args.grow_buffers, net=args.net,
                             pairs=args.pairs)
        if "skipped" in r:
            print(f"{name:<10} skipped: {r['skipped']}")
            continue
        print(f"{name:<10} {r['config']:<24} {r['cycles']:>12} {r['sim_us']:>9.1f} {r['instructions']:>7} {r['sim_s']:>9.3f} "
              f"{r['sim_golden_s']:>12.3f} {r['sim_s'] / r['sim_golden_s']:>10.2f}x "
              f"{r['golden_s']:>11.3f} {r['sim_s'] / r['golden_s']:>8.2f}x {r['sim_first_s']:>9.3f} {str(r['bit_identical']):>6}")
        print(f"{'':<10} {r['net']} B={r['B']} K={r['K']} hidden={r['hidden']} buffers KiB={r['buffers_kib']} "
              f"compile {r['compile_s']:.2f} s; busy fraction " + ", ".join(f"{u} {v:.0%}" for u, v in r["units"].items()))
    return 0


def register(sub) -> None:
    p = sub.add_parser("sim-training", help="training iterations on the simulator vs the golden quantized engine")
    p.add_argument("--pde", default=None, help="one benchmark PDE (default: all three)")
    p.add_argument("--pairs", type=int, default=None, metavar="K",
                   help="SE pairs K instead of the size's (a reduced-K design point)")
    p.add_argument("--size", choices=SIZES, default="small", help="small (seconds), medium (hidden 64, K 64) or full (the PDE's sizes)")
    p.add_argument("--config", default=None, help="chip preset or TOML file (default: 'default')")
    p.add_argument("--iters", type=int, default=2, help="iterations per PDE (times: best after the first)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--net", choices=("dense", "tt"), default="tt", help="hidden layers (default tt: the quantized default net)")
    p.add_argument("--grow-buffers", action="store_true", help="double the buffers until the size fits (reported)")
    p.add_argument("--buffer-scale", type=int, default=1, metavar="F",
                   help="multiply every buffer of the config by F first (the name says so)")
    p.add_argument("--cycles-only", action="store_true",
                   help="compile and analyse only (cycles are static); no values, no golden run: for the full sizes")
    p.set_defaults(func=_cmd)
