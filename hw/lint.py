"""Verilator lint (``--lint-only -Wall``) of the generated Verilog.

Every warning is on. The waivers below cover only patterns that Amaranth's
Verilog back end produces in *every* design; each is scoped as narrowly as
a Verilator control file allows, so the same warning in a named signal of
ours still fails the lint.

====================  ===================================================
rule                  why it is waived
====================  ===================================================
PROCASSINIT           Amaranth declares each register with its reset
                      value (``reg x = 0;``) and assigns it in an
                      ``always`` block; that is how it models ``init``.
WIDTHEXPAND           Amaranth relies on Verilog's implicit zero/sign
                      extension of operands (``a + {1'h0, b}``); widths are
                      checked by Amaranth's own shape rules.
WIDTHTRUNC (LOGNOT)   ``x == 0`` on a vector is emitted as ``!x``.
UNUSEDSIGNAL          Amaranth emits a named debug wire for every signal
                      and every ``lib.data`` field (``i__payload.values[3]``)
                      even where the logic reads an inlined copy, and its
                      anonymous temporaries (``$123``) carry full-width
                      intermediate results of which a slice is used.
DECLFILENAME          Submodules are emitted into the top's file with
                      hierarchical names (``mac_array.pe_0_0``).
====================  ===================================================
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .toolchain import verilator_bin_dir, verilator_env

__all__ = ["WAIVERS", "LintResult", "lint"]

#: Verilator control-file lines, one per waiver (see the module docstring).
WAIVERS: tuple[str, ...] = (
    'lint_off -rule PROCASSINIT',
    'lint_off -rule WIDTHEXPAND',
    'lint_off -rule WIDTHTRUNC -file "*" -match "*Logical operator LOGNOT*"',
    'lint_off -rule UNUSEDSIGNAL',
    'lint_off -rule DECLFILENAME',
)


@dataclass
class LintResult:
    """Outcome of one lint run.

    Members
    -------
    ok : bool
        Verilator exited 0 (no warning survived the waivers).
    warnings : list[str]
        The ``%Warning-...`` / ``%Error`` first lines, in order.
    log : str
        Verilator's full output.
    """

    ok: bool
    warnings: list[str]
    log: str


def lint(verilog_path: str | Path, top: str, *, waivers: tuple[str, ...] = WAIVERS) -> LintResult:
    """Run ``verilator --lint-only -Wall`` on one file with the waivers."""
    verilog_path = Path(verilog_path)
    with tempfile.TemporaryDirectory(prefix="pinta-lint-") as tmp:
        vlt = Path(tmp) / "waivers.vlt"
        vlt.write_text("`verilator_config\n" + "\n".join(waivers) + "\n")
        cmd = [str(verilator_bin_dir() / "verilator"), "--lint-only", "-Wall",
               "--top-module", top, str(vlt), str(verilog_path)]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=verilator_env())
    log = proc.stdout + proc.stderr
    warnings = [line for line in log.splitlines() if line.startswith("%")]
    return LintResult(ok=proc.returncode == 0, warnings=warnings, log=log)
