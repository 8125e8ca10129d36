"""``pinta bench sim-overhead``: simulator wall time against the golden model's own.

For each workload the same computation runs twice: once as the golden
functions called directly, once as a program on the simulator: the host
writes the inputs to DRAM, then the program runs (DMA copies, packing every
result into buffer words, and the same golden calls). One simulator instance
serves all runs, as in a training loop; the first run also validates and
schedules the program (reported separately). It prints both times (best of ``--repeat``) and the ratio.
The design target is a ratio <= 2. Times are this process's CPU time
(``time.process_time``, single-threaded BLAS), not wall time, so that other
jobs on a shared machine inflate them less. Timing only prints; it never fails.
"""

from __future__ import annotations

import time

import numpy as np

__all__ = ["register_bench", "measure"]


def _best_pair(golden, simulated, repeat: int) -> tuple[float, float]:
    """Best-of-``repeat`` times of both, measured alternately so that load from
    other processes on a shared machine hits both alike."""
    best_g = best_s = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        golden()
        t1 = time.process_time()
        simulated()
        t2 = time.process_time()
        best_g, best_s = min(best_g, t1 - t0), min(best_s, t2 - t1)
    return best_g, best_s


def _gemm_case(cfg, n: int):
    from pinta.golden import smx

    from .machine import Machine
    from .programs import gemm_program

    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, n)).astype(np.float32)
    w = rng.standard_normal((n, n)).astype(np.float32)
    pb = gemm_program(cfg, x, w)

    def golden():
        acc = smx.smx_matmul(smx.smx_quantize(x, 8, cfg), smx.smx_quantize(w, 8, cfg), cfg=cfg)
        smx.smx_requantize(acc, 8, cfg)

    m = Machine(cfg)  # one simulator instance, as in a training loop

    def simulated():
        for a, v in pb.inputs.items():  # the host writes this run's inputs
            m.put_fp32(a, v)
        m.run(pb.program)

    return f"GEMM {n}x{n}x{n} INT8 + requantize", golden, simulated


def _tt_case(cfg, batch: int):
    from pinta.golden import tt

    from .machine import Machine
    from .programs import tt_prs_forward_program

    rng = np.random.default_rng(0)
    ref = tt.TTMatrix(in_modes=(4, 4, 4, 4), out_modes=(4, 4, 4, 4), ranks=4, rng=rng)
    cores = [c.astype(np.float32) for c in ref.cores]
    layer = tt.TTMatrix.from_cores([c.astype(np.float64) for c in cores])
    x = rng.standard_normal((batch, layer.M)).astype(np.float32)
    pb = tt_prs_forward_program(cfg, cores, x, 2)

    def golden():
        layer.set_cores(layer.cores)  # drop cached halves: reconstruct every time, as the program does
        layer.forward(x.astype(np.float64), method="prs", split=2, numerics=tt.SMXNumerics(cfg))

    m = Machine(cfg)  # one simulator instance, as in a training loop

    def simulated():
        for a, v in pb.inputs.items():  # the host writes this run's inputs
            m.put_fp32(a, v)
        m.run(pb.program)

    return f"TT 256x256 rank 4 PRS forward, batch {batch}", golden, simulated


def measure(cfg, repeat: int = 5) -> list[dict]:
    rows = []
    for name, make in (("GEMM 64", lambda: _gemm_case(cfg, 64)), ("GEMM 256", lambda: _gemm_case(cfg, 256)),
                       ("TT PRS forward", lambda: _tt_case(cfg, 16))):
        try:
            label, golden, simulated = make()
        except ValueError as e:  # the workload's tensors do not fit this config's buffers
            rows.append({"workload": name, "skipped": str(e)})
            continue
        golden()  # warm imports
        from .program import _analyze_cached
        _analyze_cached.cache_clear()
        t0 = time.process_time()
        simulated()  # first run: validates and schedules the program, then executes
        cold = time.process_time() - t0
        tg, ts = _best_pair(golden, simulated, repeat)
        rows.append({"workload": label, "golden_s": tg, "sim_s": ts, "sim_cold_s": cold, "overhead": ts / tg})
    return rows


def _cmd(args) -> int:
    from pinta.config import load_config

    cfg = load_config(args.config)
    print(f"simulator overhead vs golden model (config {cfg.name}, CPU time, best of {args.repeat}; target <= 2x)")
    print("sim ms: a run of an already-validated program (the analysis is cached per program);")
    print("first-run ms: the first run, which also validates and schedules it.")
    print(f"{'workload':<44} {'golden ms':>10} {'sim ms':>10} {'overhead':>9} {'first-run ms':>13}")
    for r in measure(cfg, args.repeat):
        if "skipped" in r:
            print(f"{r['workload']:<44} skipped: {r['skipped']}")
            continue
        print(f"{r['workload']:<44} {r['golden_s'] * 1e3:>10.2f} {r['sim_s'] * 1e3:>10.2f} {r['overhead']:>8.2f}x {r['sim_cold_s'] * 1e3:>13.2f}")
    return 0


def register_bench(sub) -> None:
    p = sub.add_parser("sim-overhead", help="simulator time vs the golden model's own time for the same computation")
    p.add_argument("--config", default=None, help="preset or TOML file (default: 'default')")
    p.add_argument("--repeat", type=int, default=5, help="runs per measurement; the best is kept")
    p.set_defaults(func=_cmd)
    try:  # the training benchmark lives with the compiler (flows/bench.py)
        from pinta.flows.bench import register as register_training
    except ImportError:  # a checkout without flows/: only the instruction-level benchmark
        return
    register_training(sub)
