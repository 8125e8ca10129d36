"""``pinta config``: show or check a configuration."""

from __future__ import annotations

import json

from .config import load_config


def register(sub) -> None:
    p = sub.add_parser("config", help="print a configuration (preset or TOML file) after validating it")
    p.add_argument("config", nargs="?", default="default", help="preset name (tiny, default) or TOML file [default: default]")
    p.add_argument("--json", action="store_true", help="print JSON instead of TOML")
    p.set_defaults(func=run)


def run(args) -> int:
    cfg = load_config(args.config)
    print(json.dumps(cfg.to_dict(), indent=2) if args.json else cfg.to_toml(), end="" if not args.json else "\n")
    return 0
