"""Area model: SRAM buffers from bitcell density, logic from Yosys cell counts.

Both halves give mm² at a target technology node (docs/energy-model.md,
"Area model", states every figure and its source):

* **SRAM.** mm² per KiB = 8192 bits × bitcell area / array efficiency. The
  bitcell areas are published 6T cells at 45 nm and 28 nm
  (:data:`SRAM_BITCELL_UM2`); the array efficiency (bitcells / macro area,
  :data:`SRAM_ARRAY_EFFICIENCY`) covers decoders, sense amplifiers and I/O.
* **Logic.** Yosys generic cells (``$_AND_``, ``$_MUX_``, ``$_DFF_P_``, ...)
  are converted to gate equivalents (GE, the area of a 2-input NAND) per cell
  type (:data:`GE_PER_CELL`), then to µm² with a NAND2 area at a reference
  node and a placement utilisation (:data:`LOGIC_UTILISATION`).
* **Scaling** between nodes: :func:`ideal_area_square` (area ∝ node²),
  applied from the nearest reference node and named in every result.

Unknown cell types are an error naming the type: never a silent default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

__all__ = [
    "AreaError",
    "SRAM_BITCELL_UM2",
    "SRAM_ARRAY_EFFICIENCY",
    "NAND2_UM2",
    "GE_PER_CELL",
    "LOGIC_UTILISATION",
    "EDGE_AREA_LIMIT_MM2",
    "EDGE_NODE_NM",
    "ideal_area_square",
    "sram_mm2_per_kib",
    "sram_area_mm2",
    "gate_equivalents",
    "logic_area_mm2",
    "blocks_from_area_json",
    "AreaReport",
    "area_report",
]


class AreaError(ValueError):
    """An area input that cannot be priced (unknown Yosys cell type, bad node)."""


#: Published 6T SRAM bitcell areas, µm², by node (nm): (area, source).
SRAM_BITCELL_UM2: dict[float, tuple[float, str]] = {
    45.0: (0.346, "K. Mistry et al., 'A 45nm logic technology with high-k+metal gate transistors, strained silicon, "
                  "9 Cu interconnect layers, 193nm dry patterning, and 100% Pb-free packaging', IEDM 2007 "
                  "(Intel 45 nm 6T cell 0.346 um^2)"),
    28.0: (0.16, "Chipworks, 'A review of TSMC 28 nm process technology', technology blog, 11 Dec 2012 "
                 "(6T cell measured at 0.16 um^2 in AMD Radeon HD 7970, TSMC 28 nm HP)"),
}

#: Fraction of an SRAM macro's area that is bitcells (the rest: decoders, sense
#: amplifiers, write drivers, I/O). An assumption, not a measurement: 0.5 is at
#: the low (conservative, larger-area) end for macros of tens to hundreds of KiB.
SRAM_ARRAY_EFFICIENCY = 0.5

#: Area of one gate equivalent (a 2-input NAND, drive X1), µm², by node: (area, source).
NAND2_UM2: dict[float, tuple[float, str]] = {
    45.0: (0.798, "NanGate FreePDK45 Open Cell Library, NAND2_X1 cell area 0.798 um^2"),
}

#: Placement utilisation: standard-cell area / block area after place and route (assumption).
LOGIC_UTILISATION = 0.7

#: Gate equivalents per Yosys internal cell type (fine-grained cells after
#: ``synth -noabc``). Ratios follow a typical X1 library (inverter 2/3 of a
#: NAND2; AND/OR = NAND/NOR + inverter; XOR and MUX2 about 2–2.33 NAND2; a
#: D flip-flop about 5.7 NAND2 as in NanGate's DFF_X1 4.522 µm² / NAND2_X1
#: 0.798 µm²). Flip-flop variants add an enable (a MUX2) or a synchronous
#: reset/set (an AND2), or use an asynchronous-reset cell (about 6.7 GE).
_GE_BASE = {
    "BUF": 1.0, "NOT": 0.67, "NAND": 1.0, "NOR": 1.0, "AND": 1.33, "OR": 1.33, "ANDNOT": 1.33, "ORNOT": 1.33,
    "XOR": 2.0, "XNOR": 2.0, "MUX": 2.33, "NMUX": 2.33, "MUX4": 5.0, "AOI3": 1.33, "OAI3": 1.33, "AOI4": 1.67,
    "OAI4": 1.67,
}
_GE_DFF = 5.67
_GE_DFF_ASYNC = 6.67
_GE_ENABLE = 2.33
_GE_SYNC_RESET = 1.33

GE_PER_CELL = dict(_GE_BASE)


#: Cells that Yosys keeps as annotations, not hardware: zero area, listed by name
#: so that any other unknown type still fails.
ZERO_AREA_CELLS = {"$scopeinfo": "hierarchy annotation left by flattening; no hardware"}


def _ge_of(cell: str) -> float:
    if cell in ZERO_AREA_CELLS:
        return 0.0
    m = re.fullmatch(r"\$_([A-Z0-9]+)_(?:[PN01]*_)?", cell)
    if not m:
        raise AreaError(f"Yosys cell type '{cell}' is not a known internal gate cell; add it to GE_PER_CELL")
    kind = m.group(1)
    if kind in _GE_BASE:
        return _GE_BASE[kind]
    # Flip-flops and latches: $_DFF_P_, $_DFFE_PP_, $_SDFF_PP0_, $_SDFFE_PP0P_, $_DFF_PP0_, $_DFFSR_..., $_DLATCH_P_
    if kind in ("DFF", "DLATCH"):
        suffix = cell[len("$_" + kind + "_"):-1]
        return _GE_DFF_ASYNC if len(suffix) >= 3 else _GE_DFF
    if kind in ("DFFE",):
        suffix = cell[len("$_DFFE_"):-1]
        return (_GE_DFF_ASYNC if len(suffix) >= 4 else _GE_DFF) + _GE_ENABLE
    if kind in ("SDFF", "SDFFCE"):
        return _GE_DFF + _GE_SYNC_RESET
    if kind in ("SDFFE",):
        return _GE_DFF + _GE_SYNC_RESET + _GE_ENABLE
    if kind in ("DFFSR", "DFFSRE", "ALDFF", "ALDFFE"):
        return _GE_DFF_ASYNC + 1.0 + (_GE_ENABLE if kind.endswith("E") else 0)
    raise AreaError(f"Yosys cell type '{cell}' has no gate-equivalent figure; add it to GE_PER_CELL")


def ideal_area_square(area: float, from_node_nm: float, to_node_nm: float) -> float:
    """Ideal area scaling: area ∝ (feature size)², the geometric shrink of every dimension.

    Real SRAM cells and standard cells shrink less than this between nodes
    (contacted pitch and metal pitch do not follow the node name), so a
    scaled figure is optimistic; measured reference points are used directly
    whenever the target node has one.
    """
    return area * (to_node_nm / from_node_nm) ** 2


def _at_node(table: Mapping[float, tuple[float, str]], node_nm: float) -> tuple[float, str]:
    if not node_nm > 0:
        raise AreaError(f"node must be > 0 nm, got {node_nm}")
    if node_nm in table:
        v, src = table[node_nm]
        return v, f"{src}; at its own node (no scaling)"
    ref = min(table, key=lambda n: abs(n - node_nm))
    v, src = table[ref]
    return ideal_area_square(v, ref, node_nm), f"{src}; scaled from {ref:g} nm to {node_nm:g} nm by ideal_area_square"


def sram_mm2_per_kib(node_nm: float, efficiency: float = SRAM_ARRAY_EFFICIENCY) -> tuple[float, str]:
    """SRAM macro area per KiB at ``node_nm``, mm², and how it was obtained."""
    cell, how = _at_node(SRAM_BITCELL_UM2, node_nm)
    return 8192 * cell / efficiency * 1e-6, f"8192 bits x {cell:.4g} um^2 / array efficiency {efficiency:g} ({how})"


def sram_area_mm2(size_kib: float, node_nm: float, efficiency: float = SRAM_ARRAY_EFFICIENCY) -> float:
    """Area of one SRAM buffer of ``size_kib`` KiB at ``node_nm``, mm²."""
    return size_kib * sram_mm2_per_kib(node_nm, efficiency)[0]


def gate_equivalents(cells_by_type: Mapping[str, int]) -> float:
    """Total NAND2 gate equivalents of a Yosys ``num_cells_by_type`` dict."""
    return sum(int(n) * _ge_of(cell) for cell, n in cells_by_type.items())


def logic_area_mm2(cells_by_type: Mapping[str, int], node_nm: float, utilisation: float = LOGIC_UTILISATION) -> float:
    """Placed logic area of a block at ``node_nm``, mm²: GE × NAND2 area / utilisation."""
    nand2, _ = _at_node(NAND2_UM2, node_nm)
    return gate_equivalents(cells_by_type) * nand2 / utilisation * 1e-6


def blocks_from_area_json(data: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    """Cell counts per block from ``pinta area --json`` output.

    Only full blocks are taken (``unit == block`` and ``mode == 'all'``): the
    single-mode variants and the PE/multiplier parts are views of the same
    hardware and would be counted twice.
    """
    blocks: dict[str, dict[str, int]] = {}
    for u in data.get("units", []):
        if u.get("mode") == "all" and u.get("unit") == u.get("block"):
            by_type = u.get("by_type") or {}
            if not by_type:
                raise AreaError(f"area JSON unit '{u.get('unit')}' has no per-type cell counts (by_type)")
            blocks[u["block"]] = {k: int(v) for k, v in by_type.items()}
    if not blocks:
        raise AreaError("area JSON has no full-block units (unit == block, mode 'all')")
    return blocks


#: The edge-class budget the reports check: total area at 28 nm.
EDGE_AREA_LIMIT_MM2 = 10.0
EDGE_NODE_NM = 28.0


@dataclass
class AreaReport:
    """Area per block at one node.

    Members
    -------
    node_nm : float
    logic_mm2 : dict[str, float]   per logic block (from Yosys cell counts), mm²
    gate_equivalents : dict[str, float]  per logic block, NAND2 GE
    sram_mm2 : dict[str, float]    per SRAM buffer, mm²
    total_mm2 : float
    edge_limit_mm2 : float         the 10 mm² edge-class budget (meaningful at 28 nm)
    within_edge_limit : bool       total_mm2 <= edge_limit_mm2 (judged at ``node_nm``)
    assumptions : list[str]        sources and rules, one line each
    """

    node_nm: float
    logic_mm2: dict[str, float]
    gate_equivalents: dict[str, float]
    sram_mm2: dict[str, float]
    total_mm2: float
    edge_limit_mm2: float
    within_edge_limit: bool
    assumptions: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__, units="mm^2 (areas), NAND2 gate equivalents (gate_equivalents)")


def area_report(cell_counts: Mapping[str, Mapping[str, int]] | None, config, node_nm: float = EDGE_NODE_NM) -> AreaReport:
    """Area per block at ``node_nm``: logic from ``cell_counts`` ({block: {yosys cell type: count}}),
    SRAM from ``config.buffers`` (KiB), the total, and the edge-class check (≤ 10 mm²).

    Logic not synthesised (blocks missing from ``cell_counts``) is absent from
    the total; the report lists which blocks were priced.
    """
    logic, ges = {}, {}
    for block, cells in (cell_counts or {}).items():
        ges[block] = gate_equivalents(cells)
        logic[block] = logic_area_mm2(cells, node_nm)
    per_kib, how_sram = sram_mm2_per_kib(node_nm)
    sram = {f"sram_{b}": getattr(config.buffers, b) * per_kib for b in ("weights", "activations", "gradients", "optimizer")}
    total = sum(logic.values()) + sum(sram.values())
    _, how_nand = _at_node(NAND2_UM2, node_nm)
    assumptions = [
        f"SRAM: {per_kib:.5f} mm^2/KiB = {how_sram}",
        f"Logic: Yosys generic cells -> NAND2 gate equivalents (table in docs/energy-model.md) x NAND2 area "
        f"({how_nand}) / placement utilisation {LOGIC_UTILISATION:g}",
        f"Edge-class budget: total <= {EDGE_AREA_LIMIT_MM2:g} mm^2 at {EDGE_NODE_NM:g} nm",
        "Not included: clock tree, I/O pads, power grid, the controller unless listed as a block",
    ]
    return AreaReport(float(node_nm), logic, ges, sram, total, EDGE_AREA_LIMIT_MM2, total <= EDGE_AREA_LIMIT_MM2,
                      assumptions)
