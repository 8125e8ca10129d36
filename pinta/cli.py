"""The ``pinta`` command line.

Each subcommand lives next to the code it drives and exposes
``register(subparsers)``; this module only collects them. A subcommand is
listed here once it works.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__
from .config import ConfigError

# (module, function) pairs; each function adds one or more subparsers and sets
# ``func`` on them. Imported lazily so that `pinta --help` stays fast.
SUBCOMMANDS: list[tuple[str, str]] = [
    ("pinta.config_cli", "register"),
    ("pinta.bench_cli", "register"),
    ("pinta.golden.train_cli", "register"),
    ("pinta.hw.cli", "register"),
    ("pinta.sim.cli", "register"),
    ("pinta.flows.qat.cli", "register"),
    ("pinta.reports.cli", "register"),
]


class UserError(Exception):
    """A problem with what the user asked for; printed as one line, no traceback."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, then the hint
        self.exit(2, f"{self.prog}: error: {message}\n(run '{self.prog} --help' for usage)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="pinta",
        description="PINTA co-design toolkit: golden model, cycle-accurate simulator and RTL of an accelerator that trains PINNs.",
    )
    parser.add_argument("--version", action="version", version=f"pinta {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module_name, func_name in SUBCOMMANDS:
        getattr(importlib.import_module(module_name), func_name)(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except (UserError, ConfigError) as e:
        print(f"pinta {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"pinta {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
