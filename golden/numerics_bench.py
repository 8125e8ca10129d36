"""``pinta bench numerics``: measured error and speed of the golden numerics.

Prints (and with ``--json PATH`` writes) three tables, every figure measured
on this run with a fixed seed:

* relative RMS quantization error ``||x - deq(Q(x))|| / ||x||`` of SMX INT4,
  INT8, INT12 and row-wise MX INT8 on 256×256 matrices drawn from N(0, 1) and
  from a Student-t with 3 degrees of freedom (heavy tails);
* relative Frobenius error of quantized GEMMs against the float64 product of
  the unquantized matrices, for the MAC-array modes and row-wise MX INT8;
* wall time of ``smx_matmul`` on a (rows×256 INT8)·(256×256 INT8) product
  against ``np.matmul`` of float64 matrices of the same shape (best of
  ``--repeats``). BLAS threads follow OMP_NUM_THREADS / OPENBLAS_NUM_THREADS,
  which must be set before Python starts; the value seen is printed.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from .mx_rowwise import mx_dequantize, mx_matmul, mx_quantize
from .smx import smx_dequantize, smx_matmul, smx_quantize

SEED = 20240601
SIZE = 256


def _test_matrices(rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {
        "normal": rng.standard_normal((SIZE, SIZE)),
        "student_t3": rng.standard_t(3, size=(SIZE, SIZE)),
    }


def _relative(err: np.ndarray, ref: np.ndarray) -> float:
    return float(np.linalg.norm(err) / np.linalg.norm(ref))


def measure_quantization_error(seed: int = SEED) -> list[dict[str, Any]]:
    """Relative RMS error of each format on each test distribution."""
    rows = []
    for dist, x in _test_matrices(np.random.default_rng(seed)).items():
        for bits in (4, 8, 12):
            rows.append({"format": f"SMX-INT{bits}", "distribution": dist, "rel_rms": _relative(smx_dequantize(smx_quantize(x, bits)) - x, x)})
        rows.append({"format": "MX-INT8 (1x32)", "distribution": dist, "rel_rms": _relative(mx_dequantize(mx_quantize(x, 8, axis=1)) - x, x)})
    return rows


def measure_gemm_error(seed: int = SEED) -> list[dict[str, Any]]:
    """Relative Frobenius error of quantized GEMMs against float64."""
    rng = np.random.default_rng(seed + 1)
    rows = []
    for dist, a in _test_matrices(rng).items():
        b = rng.standard_normal((SIZE, SIZE)) if dist == "normal" else rng.standard_t(3, size=(SIZE, SIZE))
        exact = a @ b
        for bits_a, bits_b in ((8, 8), (12, 8), (4, 4)):
            c = smx_matmul(smx_quantize(a, bits_a), smx_quantize(b, bits_b)).to_float()
            rows.append({"gemm": f"SMX INT{bits_a}xINT{bits_b}", "distribution": dist, "rel_error": _relative(c - exact, exact)})
        c = mx_matmul(mx_quantize(a, 8, axis=1), mx_quantize(b, 8, axis=0)).to_float()
        rows.append({"gemm": "MX INT8xINT8", "distribution": dist, "rel_error": _relative(c - exact, exact)})
    return rows


def _best_time(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def measure_gemm_time(rows: int = 102400, repeats: int = 3, seed: int = SEED) -> dict[str, Any]:
    """Seconds for smx_matmul vs float64 np.matmul on (rows×256)·(256×256)."""
    rng = np.random.default_rng(seed + 2)
    a = rng.standard_normal((rows, SIZE))
    b = rng.standard_normal((SIZE, SIZE))
    qa, qb = smx_quantize(a, 8), smx_quantize(b, 8)
    smx_s = _best_time(lambda: smx_matmul(qa, qb), repeats)
    f64_s = _best_time(lambda: np.matmul(a, b), repeats)
    quant_s = _best_time(lambda: smx_quantize(a, 8), 1)
    return {
        "shape": f"({rows}x{SIZE}) @ ({SIZE}x{SIZE})",
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS", "unset"),
        "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS", "unset"),
        "repeats": repeats,
        "smx_matmul_int8_s": smx_s,
        "numpy_matmul_f64_s": f64_s,
        "ratio": smx_s / f64_s,
        "smx_quantize_a_int8_s": quant_s,
    }


def run(args) -> int:
    quant = measure_quantization_error()
    gemm = measure_gemm_error()
    timing = None if args.skip_timing else measure_gemm_time(args.rows, args.repeats)

    print(f"Quantization error, {SIZE}x{SIZE}, seed {SEED} (relative RMS)")
    print(f"  {'format':<16}{'normal':>12}{'student_t3':>12}")
    for fmt in dict.fromkeys(r["format"] for r in quant):
        vals = {r["distribution"]: r["rel_rms"] for r in quant if r["format"] == fmt}
        print(f"  {fmt:<16}{vals['normal']:>12.3e}{vals['student_t3']:>12.3e}")
    print(f"\nGEMM error vs float64, {SIZE}x{SIZE}x{SIZE} (relative Frobenius)")
    print(f"  {'gemm':<16}{'normal':>12}{'student_t3':>12}")
    for name in dict.fromkeys(r["gemm"] for r in gemm):
        vals = {r["distribution"]: r["rel_error"] for r in gemm if r["gemm"] == name}
        print(f"  {name:<16}{vals['normal']:>12.3e}{vals['student_t3']:>12.3e}")
    if timing is not None:
        print(f"\nGEMM time {timing['shape']}, OMP_NUM_THREADS={timing['omp_num_threads']}, best of {timing['repeats']}")
        print(f"  smx_matmul INT8xINT8   {timing['smx_matmul_int8_s']:.3f} s")
        print(f"  np.matmul float64      {timing['numpy_matmul_f64_s']:.3f} s")
        print(f"  ratio                  {timing['ratio']:.2f}")
        print(f"  smx_quantize (A, INT8) {timing['smx_quantize_a_int8_s']:.3f} s")
    if args.json:
        Path(args.json).write_text(json.dumps({"seed": SEED, "quantization": quant, "gemm": gemm, "timing": timing}, indent=2) + "\n")
        print(f"\nwrote {args.json}")
    return 0


def register_bench(sub) -> None:
    p = sub.add_parser("numerics", help="quantization and GEMM error of SMX / MX, and SMX GEMM speed")
    p.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    p.add_argument("--rows", type=int, default=102400, help="rows of the timed left operand (default 102400)")
    p.add_argument("--repeats", type=int, default=3, help="timing repeats; the best is reported (default 3)")
    p.add_argument("--skip-timing", action="store_true", help="only the error tables")
    p.set_defaults(func=run)
