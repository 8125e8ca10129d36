"""``pinta bench rtl-top``: the simulator's speed against Verilator on the same program.

Both run one ISA program to completion, and the benchmark prints simulated
cycles per wall-clock second for each:

* **simulator**: ``Machine(cfg).run(program)`` in this process (data placed
  with ``put_fp32``), best of ``--repeat``; the first run, which also
  validates and schedules the program, is printed separately.
* **Verilator**: the top with its DRAM model (``PintaSystem``, hw/top_sim.py;
  the build is cached under ``--build-dir``), driven by the cocotb bench
  hw/top_cocotb.py: program and data are loaded through the host port
  (untimed), then each run is timed from the start write to the status read,
  with no Python per clock cycle in between. Best of ``--repeat``.

The RTL's cycle counter must equal the simulator's total for every run (the
benchmark stops with an error otherwise), so both measure the same work.
Wall-clock times on a shared machine are noisy: compare orders of magnitude.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

__all__ = ["register_bench", "program_case", "time_simulator", "time_verilator"]

PROGRAMS = ("gemm", "vec_chain", "sfu_chain")


def program_case(cfg, name: str):
    """(ProgramBuilder, short description) of a benchmark program."""
    import numpy as np

    from pinta.sim.programs import gemm_program

    from .top_programs import sfu_chain_inputs, sfu_chain_program, vector_chain_inputs, vector_chain_program

    if name == "gemm":
        rng = np.random.default_rng(0)
        x = rng.standard_normal((16, 16)).astype(np.float32)
        w = rng.standard_normal((16, 16)).astype(np.float32)
        return gemm_program(cfg, x, w), "gemm_program 16x16 . 16x16 INT8, requantized"
    if name == "vec_chain":
        return vector_chain_program(cfg, *vector_chain_inputs()), "vector_chain_program (7x5 FP32 chain + GEMM/ACCF)"
    if name == "sfu_chain":
        return (sfu_chain_program(cfg, *sfu_chain_inputs(seed=12, rows=16, cols=13)),
                "sfu_chain_program 16x13 (VTANH/VSIN/VCOS mixed with FP32 arithmetic)")
    raise ValueError(f"unknown program {name!r}; programs: {', '.join(PROGRAMS)}")


def time_simulator(cfg, pb, repeat: int) -> dict:
    """Wall seconds of the first run and the best of ``repeat`` later runs, and the cycle count."""
    from pinta.sim.machine import Machine
    from pinta.sim.program import _analyze_cached

    def run():
        m = Machine(cfg)
        for addr, x in pb.inputs.items():
            m.put_fp32(addr, x)
        return m.run(pb.program)

    _analyze_cached.cache_clear()
    t0 = time.perf_counter()
    res = run()
    first = time.perf_counter() - t0
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t0)
    return {"cycles": res.analysis.total_cycles, "first_s": first, "best_s": best}


def time_verilator(cfg, pb, cycles: int, repeat: int, build_dir: Path) -> dict:
    """Build (or reuse) the Verilator model and time ``repeat`` runs; seconds of the build/reuse
    step, of the whole cocotb process, and the best run."""
    from pinta.sim import layout
    from pinta.sim.isa import encode

    import numpy as np

    from .top_sim import build_system

    t0 = time.perf_counter()
    model = build_system(cfg, build_dir)
    build_s = time.perf_counter() - t0
    case = {"program": [f"{encode(i):032x}" for i in pb.program],
            "dram": {str(a // 8): [int(w) for w in layout.pack_fp32(np.asarray(x, np.float32))]
                     for a, x in pb.inputs.items()},
            "cycles": cycles, "repeat": repeat}
    with tempfile.TemporaryDirectory(prefix="pinta-bench-top-") as tmp:
        cin, cout = Path(tmp) / "case.json", Path(tmp) / "runs.json"
        cin.write_text(json.dumps(case))
        t0 = time.perf_counter()
        tests, failed, xml = model.run("top_cocotb", Path(__file__).parent,
                                       env={"PINTA_TOP_BENCH": str(cin), "PINTA_TOP_BENCH_RESULTS": str(cout)})
        process_s = time.perf_counter() - t0
        if tests != 1 or failed or not cout.exists():
            raise RuntimeError(f"the cocotb bench failed; see {xml}")
        runs = json.loads(cout.read_text())["runs"]
    for r in runs:
        if not r["status"] & 2 or (r["status"] >> 4) & 0xF or r["cycles"] != cycles:
            raise RuntimeError(f"RTL run does not match the simulator: status 0x{r['status']:x}, "
                               f"cycles {r['cycles']} (simulator {cycles})")
    return {"build_s": build_s, "process_s": process_s, "best_s": min(r["seconds"] for r in runs)}


def _cmd(args) -> int:
    from pinta.cli import UserError
    from pinta.config import load_config

    cfg = load_config(args.config)
    if args.repeat < 1:
        raise UserError(f"--repeat must be >= 1, got {args.repeat}")
    try:
        pb, what = program_case(cfg, args.program)
    except ValueError as e:
        raise UserError(str(e)) from None
    sim = time_simulator(cfg, pb, args.repeat)
    cyc = sim["cycles"]
    print(f"program: {what}; config {cfg.name}; {len(pb.program)} instructions, {cyc} cycles")
    print("wall-clock seconds on this machine (shared: compare orders of magnitude)")
    print(f"{'engine':<36} {'seconds/run':>12} {'cycles/s':>12}")
    print(f"{'simulator, first run (+ validation)':<36} {sim['first_s']:>12.4g} {cyc / sim['first_s']:>12.4g}")
    print(f"{'simulator, best of ' + str(args.repeat):<36} {sim['best_s']:>12.4g} {cyc / sim['best_s']:>12.4g}")
    if args.no_verilator:
        return 0
    build_dir = Path(args.build_dir or os.environ.get("PINTA_RTL_BUILD_DIR") or Path(tempfile.gettempdir()) / "pinta_rtl_build")
    ver = time_verilator(cfg, pb, cyc, args.repeat, build_dir)
    print(f"{'Verilator, best of ' + str(args.repeat):<36} {ver['best_s']:>12.4g} {cyc / ver['best_s']:>12.4g}")
    print(f"simulator / Verilator time per run: {sim['best_s'] / ver['best_s']:.3g}")
    print(f"(Verilator model build or reuse {ver['build_s']:.1f} s in {build_dir}; cocotb process with "
          f"loading and {args.repeat} runs {ver['process_s']:.1f} s; every run's cycle counter = {cyc})")
    return 0


def register_bench(sub) -> None:
    p = sub.add_parser("rtl-top", help="simulator speed against the Verilator model of the top on the same program")
    p.add_argument("--config", default="tiny", help="preset or TOML file [tiny]")
    p.add_argument("--program", default="gemm", choices=PROGRAMS, help="benchmark program [gemm]")
    p.add_argument("--repeat", type=int, default=5, help="runs per engine; the best is kept [5]")
    p.add_argument("--build-dir", default=None,
                   help="Verilator build cache (default: $PINTA_RTL_BUILD_DIR or <tmp>/pinta_rtl_build)")
    p.add_argument("--no-verilator", action="store_true", help="time the simulator only")
    p.set_defaults(func=_cmd)
