"""Verilator builds of :class:`~pinta.hw.top.PintaSystem` for the cocotb regressions.

The build is cached under a folder (``PINTA_RTL_BUILD_DIR`` or the test
session's temporary folder) whose name hashes the Verilog text, so a changed
design is rebuilt and an unchanged one is reused. The flags are those of
:mod:`pinta.hw.cocotb_runner` (``VERILATOR_BUILD_ARGS``), with three choices
made for this large design on small shared machines:

* the C++ is compiled with ``-O0`` by default: the top is large and the
  regressions' runs are short, so compile time dominates (the speed benchmark,
  ``pinta bench rtl-top``, builds with ``-O1``: a speed comparison is only fair
  against an optimised model);
* only the top module's ports are VPI-visible (a control file instead of
  cocotb's ``--public-flat-rw`` on every signal): the bench touches ports only;
* ``make -j`` from ``PINTA_BUILD_JOBS`` (default 1).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from pinta.config import PintaConfig

from .cocotb_runner import VERILATOR_BUILD_ARGS, RTLModel, verilator_runner
from .toolchain import verilator_bin_dir
from .verilog import generate

__all__ = ["OPT_LEVELS", "SYSTEM_TOP", "build_system"]

SYSTEM_TOP = "pinta_system"


#: C++ optimisation levels a build accepts.
OPT_LEVELS = ("-O0", "-O1", "-O2", "-O3")


def build_system(cfg: PintaConfig, base_dir: str | Path, *, dram_words: int = 8192, pmem_depth: int = 256,
                 opt: str = "-O0") -> RTLModel:
    """Verilate and compile ``PintaSystem(cfg)`` (or reuse the cached build) with C++ optimisation ``opt``."""
    if opt not in OPT_LEVELS:
        raise ValueError(f"C++ optimisation {opt!r} is not one of {', '.join(OPT_LEVELS)}")
    from .top import PintaSystem

    text = generate(PintaSystem(cfg, dram_words=dram_words, pmem_depth=pmem_depth), SYSTEM_TOP)
    key = hashlib.sha1(text.encode() + cfg.to_toml().encode()).hexdigest()[:12]
    # the -O0 builds keep their old folder names, so existing caches stay valid
    suffix = "" if opt == "-O0" else opt
    build_dir = Path(base_dir) / f"{SYSTEM_TOP}-{cfg.name}-{key}{suffix}"
    build_dir.mkdir(parents=True, exist_ok=True)
    src = build_dir / f"{SYSTEM_TOP}.v"
    if not src.exists() or src.read_text() != text:
        src.write_text(text)
    vlt = build_dir / "public_ports.vlt"
    vlt.write_text(f'`verilator_config\npublic_flat_rw -module "{SYSTEM_TOP}" -var "*"\n')
    config_path = build_dir / "config.toml"
    config_path.write_text(cfg.to_toml())
    os.environ["PATH"] = str(verilator_bin_dir()) + os.pathsep + os.environ.get("PATH", "")
    runner = verilator_runner(None, opt=opt)
    runner.build(sources=[vlt, src], hdl_toplevel=SYSTEM_TOP, build_dir=build_dir,
                 build_args=list(VERILATOR_BUILD_ARGS), always=False)
    return RTLModel(SYSTEM_TOP, cfg, build_dir, config_path, runner)
