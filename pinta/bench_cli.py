"""``pinta bench NAME``: benchmarks that print measured figures.

Benchmarks print numbers; they never pass or fail on timing (the machines are
noisy). Each benchmark module exposes ``register_bench(sub)`` which adds one
subparser to the ``bench`` group and sets ``func`` on it.
"""

from __future__ import annotations

import importlib

# Modules that contribute benchmarks; each has register_bench(sub).
BENCH_MODULES: list[str] = [
    "pinta.golden.accuracy_bench",
    "pinta.golden.numerics_bench",
    "pinta.sim.bench",
    "pinta.hw.bench_top",
]


def register(sub) -> None:
    p = sub.add_parser("bench", help="run a benchmark and print its measured figures")
    bench_sub = p.add_subparsers(dest="bench", metavar="BENCH", parser_class=type(p))
    for module_name in BENCH_MODULES:
        importlib.import_module(module_name).register_bench(bench_sub)
    p.set_defaults(func=lambda args: p.print_help() or 0)
