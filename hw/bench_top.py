"""``pinta bench rtl-top``: the simulator's speed against Verilator on the same program.

Both run one ISA program to completion, and the benchmark prints simulated
cycles per wall-clock second for each:

* **simulator**: ``Machine(cfg).run(program)`` in this process (data placed
  with ``put_fp32`` beforehand, untimed), best of ``--repeat``; the first run,
  which also validates and schedules the program, is printed separately.
* **Verilator**: the top with its DRAM model (``PintaSystem``, hw/top_sim.py;
  the build is cached under ``--build-dir``; C++ compiled with
  ``--verilator-opt``, ``-O1`` by default: a speed claim is only fair against
  an optimised model, and on this design -O1 compiles in about half the time
  of -O2), driven by the cocotb bench
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

#: Benchmark programs: name -> (description). Short ones show the simulator's
#: per-instruction cost; the longer ones (more cycles per instruction, as in a
#: training iteration) show how the two engines scale.
PROGRAMS = {
    "gemm": "gemm_program 16x16 . 16x16 INT8, requantized",
    "gemm_32x64x32": "gemm_program 32x64 . 64x32 INT8, requantized",
    "vec_chain": "vector_chain_program (7x5 FP32 chain + GEMM/ACCF)",
    "sfu_chain": "sfu_chain_program 16x13 (VTANH/VSIN/VCOS mixed with FP32 arithmetic)",
    "sfu_chain_32x32": "sfu_chain_program 32x32 (VTANH/VSIN/VCOS mixed with FP32 arithmetic)",
}


def program_case(cfg, name: str):
    """(ProgramBuilder, short description) of a benchmark program."""
    import numpy as np

    from pinta.sim.programs import gemm_program

    from .top_programs import sfu_chain_inputs, sfu_chain_program, vector_chain_inputs, vector_chain_program

    if name not in PROGRAMS:
        raise ValueError(f"unknown program {name!r}; programs: {', '.join(PROGRAMS)}")
    if name.startswith("gemm"):
        m, k, n = (16, 16, 16) if name == "gemm" else (int(v) for v in name.split("_")[1].split("x"))
        rng = np.random.default_rng(0)
        x = rng.standard_normal((m, k)).astype(np.float32)
        w = rng.standard_normal((k, n)).astype(np.float32)
        return gemm_program(cfg, x, w), PROGRAMS[name]
    if name == "vec_chain":
        return vector_chain_program(cfg, *vector_chain_inputs()), PROGRAMS[name]
    rows, cols = (16, 13) if name == "sfu_chain" else (int(v) for v in name.split("_")[2].split("x"))
    return sfu_chain_program(cfg, *sfu_chain_inputs(seed=12, rows=rows, cols=cols)), PROGRAMS[name]


def time_simulator(cfg, pb, repeat: int) -> dict:
    """Wall seconds of the first run and the best of ``repeat`` later runs, and the cycle count.

    As on the Verilator side, placing the program's data in DRAM is not timed:
    each run gets a fresh machine with its data, then ``Machine.run`` is timed.
    """
    from pinta.sim.machine import Machine
    from pinta.sim.program import _analyze_cached

    def loaded():
        m = Machine(cfg)
        for addr, x in pb.inputs.items():
            m.put_fp32(addr, x)
        return m

    _analyze_cached.cache_clear()
    m = loaded()
    t0 = time.perf_counter()
    res = m.run(pb.program)
    first = time.perf_counter() - t0
    best = float("inf")
    for _ in range(repeat):
        m = loaded()
        t0 = time.perf_counter()
        m.run(pb.program)
        best = min(best, time.perf_counter() - t0)
    return {"cycles": res.analysis.total_cycles, "first_s": first, "best_s": best}


def time_verilator(cfg, pb, cycles: int, repeat: int, build_dir: Path, opt: str = "-O1") -> dict:
    """Build (or reuse) the Verilator model and time ``repeat`` runs; seconds of the build/reuse
    step, of the whole cocotb process, and the best run."""
    from pinta.sim import layout
    from pinta.sim.isa import encode

    import numpy as np

    from .top_sim import build_system

    t0 = time.perf_counter()
    model = build_system(cfg, build_dir, opt=opt)
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
    names = list(PROGRAMS) if args.program == "all" else [args.program]
    build_dir = Path(args.build_dir or os.environ.get("PINTA_RTL_BUILD_DIR") or Path(tempfile.gettempdir()) / "pinta_rtl_build")
    print(f"config {cfg.name}; wall-clock seconds per run on this machine, best of {args.repeat} "
          f"(shared machine: compare orders of magnitude)")
    rows = []
    for name in names:
        try:
            pb, what = program_case(cfg, name)
        except ValueError as e:
            raise UserError(str(e)) from None
        sim = time_simulator(cfg, pb, args.repeat)
        cyc = sim["cycles"]
        print(f"\n{name}: {what}; {len(pb.program)} instructions, {cyc} cycles")
        print(f"  simulator: first run (+ validation) {sim['first_s']:.4g} s, best {sim['best_s']:.4g} s "
              f"({cyc / sim['best_s']:.4g} cycles/s)")
        row = {"program": name, "instructions": len(pb.program), "cycles": cyc, "sim_s": sim["best_s"]}
        if not args.no_verilator:
            ver = time_verilator(cfg, pb, cyc, args.repeat, build_dir, args.verilator_opt)
            print(f"  Verilator {args.verilator_opt}: best {ver['best_s']:.4g} s ({cyc / ver['best_s']:.4g} cycles/s); "
                  f"model build or reuse {ver['build_s']:.1f} s, cocotb process {ver['process_s']:.1f} s; "
                  f"every run's cycle counter = {cyc}")
            row["verilator_s"] = ver["best_s"]
        rows.append(row)
    if not args.no_verilator:
        print(f"\n{'program':<18} {'instr':>6} {'cycles':>8} {'simulator s':>12} {'Verilator s':>12} {'speed-up':>9}")
        for r in rows:
            print(f"{r['program']:<18} {r['instructions']:>6} {r['cycles']:>8} {r['sim_s']:>12.4g} "
                  f"{r['verilator_s']:>12.4g} {r['verilator_s'] / r['sim_s']:>8.0f}x")
        print(f"(Verilator {args.verilator_opt}, build folder {build_dir}; speed-up = Verilator time / simulator time)")
    return 0


def register_bench(sub) -> None:
    from .top_sim import OPT_LEVELS

    p = sub.add_parser("rtl-top", help="simulator speed against the Verilator model of the top on the same program")
    p.add_argument("--config", default="tiny", help="preset or TOML file [tiny]")
    p.add_argument("--program", default="gemm", choices=[*PROGRAMS, "all"],
                   help="benchmark program, or all of them in turn [gemm]")
    p.add_argument("--repeat", type=int, default=5, help="runs per engine; the best is kept [5]")
    p.add_argument("--build-dir", default=None,
                   help="Verilator build cache (default: $PINTA_RTL_BUILD_DIR or <tmp>/pinta_rtl_build)")
    p.add_argument("--no-verilator", action="store_true", help="time the simulator only")
    p.add_argument("--verilator-opt", default="-O1", choices=OPT_LEVELS,
                   help="C++ optimisation of the Verilator model [-O1]; the regressions build -O0, "
                        "which compiles faster and runs several times slower")
    p.set_defaults(func=_cmd)
