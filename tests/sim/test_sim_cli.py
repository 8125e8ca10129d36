"""`pinta sim`, `pinta asm`, `pinta disasm` and `pinta bench sim-overhead`."""

import csv
import json

import numpy as np

from pinta.cli import main
from pinta.config import load_config
from pinta.golden import smx
from pinta.sim.isa import assemble, disassemble
from pinta.sim.program import analyze

CFG = load_config("tiny")

PROGRAM = """# y = requantize(Q8(x) . Q8(w)^T)
TDESC t0, buf=activations, fmt=fp32, addr=0x0, rows=6, cols=10
LOAD t0, dram=0x0
TDESC t1, buf=optimizer, fmt=fp32, addr=0x0, rows=5, cols=10
LOAD t1, dram=0x1000
TDESC t2, buf=activations, fmt=smx8, addr=0x40, rows=6, cols=10
QUANT t2, t0, v0
TDESC t3, buf=weights, fmt=smx8, addr=0x0, rows=5, cols=10
QUANT t3, t1, v0
TDESC t4, buf=gradients, fmt=acc, addr=0x0, rows=6, cols=5
GEMM t4, t2, t3, mode=i8x8, ta=0, tb=1, accum=0
TDESC t5, buf=activations, fmt=smx8, addr=0x80, rows=6, cols=5
QUANT t5, t4, v0
STORE t5, dram=0x2000
"""


def _inputs(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 10)).astype(np.float32)
    w = rng.standard_normal((5, 10)).astype(np.float32)
    path = tmp_path / "in.npz"
    np.savez(path, **{"x@0x0": x, "0x1000": w})
    return x, w, path


def test_sim_runs_text_program_and_writes_reports(tmp_path, capsys):
    x, w, npz = _inputs(tmp_path)
    prog = tmp_path / "gemm.s"
    prog.write_text(PROGRAM)
    out = tmp_path / "out"
    assert main(["sim", str(prog), "--config", "tiny", "--inputs", str(npz), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    an = analyze(assemble(PROGRAM), CFG)
    assert f"{an.total_cycles} cycles" in printed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["total_cycles"] == an.total_cycles
    with (out / "compute.csv").open() as f:
        rows = {r["unit"]: r for r in csv.DictReader(f)}
    assert set(rows) == {"CTRL", "DMA", "MAC", "QNT", "VEC"}
    assert int(rows["MAC"]["busy_cycles"]) == an.busy["MAC"]
    with (out / "bandwidth.csv").open() as f:
        mem = {r["memory"] for r in csv.DictReader(f)}
    assert mem == {"weights", "activations", "gradients", "optimizer", "dram"}
    with (out / "access.csv").open() as f:
        acts = {r["action"]: int(r["count"]) for r in csv.DictReader(f)}
    assert acts["mac_i8x8"] == 8 * 12 * 8
    stored = np.load(next((out / "stores").glob("store0_0x2000_smx8.npz")))
    g = smx.smx_requantize(smx.smx_matmul(smx.smx_quantize(x, 8, CFG), smx.smx_quantize(w, 8, CFG), transpose_b=True, cfg=CFG), 8, CFG)
    assert np.array_equal(stored["codes"], g.codes) and np.array_equal(stored["exponents"], g.exponents)


def test_asm_disasm_round_trip(tmp_path, capsys):
    src = tmp_path / "p.s"
    src.write_text(PROGRAM)
    binary = tmp_path / "p.bin"
    assert main(["asm", str(src), "-o", str(binary)]) == 0
    assert binary.stat().st_size == 16 * len(assemble(PROGRAM))
    capsys.readouterr()
    assert main(["disasm", str(binary)]) == 0
    assert capsys.readouterr().out == disassemble(assemble(PROGRAM))
    # The binary runs the same as the text.
    _, _, npz = _inputs(tmp_path)
    assert main(["sim", str(binary), "--config", "tiny", "--inputs", str(npz)]) == 0


def test_invalid_program_is_a_one_line_user_error(tmp_path, capsys):
    prog = tmp_path / "bad.s"
    prog.write_text(PROGRAM.replace("LOAD t1, dram=0x1000\n", ""))
    assert main(["sim", str(prog), "--config", "tiny"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "instruction 6 (QUANT)" in err[0] and "no earlier instruction wrote" in err[0]
    prog.write_text("GEMM t1\n")
    assert main(["sim", str(prog)]) == 2
    assert "line 1" in capsys.readouterr().err


def test_bench_sim_overhead_prints_ratios(capsys, monkeypatch):
    import pinta.sim.bench as bench

    monkeypatch.setattr(bench, "measure", lambda cfg, repeat: [
        {"workload": "w", "golden_s": 0.001, "sim_s": 0.0015, "sim_cold_s": 0.002, "overhead": 1.5}])
    assert main(["bench", "sim-overhead", "--config", "tiny", "--repeat", "1"]) == 0
    assert "1.50x" in capsys.readouterr().out


def test_bench_measure_runs_the_real_workloads():
    import pinta.sim.bench as bench

    rows = bench.measure(load_config("default"), repeat=1)
    assert len(rows) == 3 and not any("skipped" in r for r in rows)
    for r in rows:
        assert r["golden_s"] > 0 and r["sim_s"] > 0 and r["overhead"] == r["sim_s"] / r["golden_s"]


def test_bench_skips_workloads_that_do_not_fit(capsys):
    assert main(["bench", "sim-overhead", "--config", "tiny", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert "GEMM 256" in out and "skipped: buffer" in out
