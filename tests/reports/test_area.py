"""SRAM and logic area model (pinta.reports.area)."""

from __future__ import annotations

import pytest

from pinta.config import load_config
from pinta.reports import area as A


def test_sram_density_uses_the_reference_cell_and_names_its_scaling():
    for node, (cell, _src) in A.SRAM_BITCELL_UM2.items():
        per_kib, how = A.sram_mm2_per_kib(node)
        assert per_kib == pytest.approx(8192 * cell / A.SRAM_ARRAY_EFFICIENCY * 1e-6)
        assert "no scaling" in how
    per65, how = A.sram_mm2_per_kib(65)
    ref_cell = A.SRAM_BITCELL_UM2[45.0][0]
    assert per65 == pytest.approx(8192 * A.ideal_area_square(ref_cell, 45, 65) / A.SRAM_ARRAY_EFFICIENCY * 1e-6)
    assert "ideal_area_square" in how
    assert A.sram_area_mm2(256, 28) == pytest.approx(256 * A.sram_mm2_per_kib(28)[0])


def test_gate_equivalents_price_known_cells_and_refuse_unknown_ones():
    assert A.gate_equivalents({"$_NAND_": 10}) == pytest.approx(10.0)
    assert A.gate_equivalents({"$scopeinfo": 7}) == 0.0
    plain = A.gate_equivalents({"$_DFF_P_": 1})
    assert A.gate_equivalents({"$_DFFE_PP_": 1}) > plain
    assert A.gate_equivalents({"$_SDFFE_PP0P_": 1}) > plain
    with pytest.raises(A.AreaError, match=r"\$_WEIRD_"):
        A.gate_equivalents({"$_WEIRD_": 1})
    with pytest.raises(A.AreaError, match=r"\$mul"):
        A.gate_equivalents({"$mul": 1})


def _area_json():
    # Synthetic `pinta area --json` shape: two full blocks, a per-mode variant and a part.
    return {"units": [
        {"unit": "mac_array", "block": "mac_array", "mode": "all", "by_type": {"$_AND_": 1000, "$_XOR_": 500, "$_DFF_P_": 100}},
        {"unit": "mac_array[INT8xINT8]", "block": "mac_array", "mode": "INT8xINT8", "by_type": {"$_AND_": 900}},
        {"unit": "pe", "block": "mac_array", "mode": "all", "by_type": {"$_AND_": 50}},
        {"unit": "smx_quantizer", "block": "smx_quantizer", "mode": "all", "by_type": {"$_MUX_": 300, "$_NOT_": 40}},
    ]}


def test_blocks_from_area_json_takes_only_full_blocks():
    blocks = A.blocks_from_area_json(_area_json())
    assert set(blocks) == {"mac_array", "smx_quantizer"}
    assert blocks["mac_array"]["$_AND_"] == 1000


def test_area_report_totals_and_edge_check():
    cfg = load_config("default")
    blocks = A.blocks_from_area_json(_area_json())
    r = A.area_report(blocks, cfg, 28)
    assert set(r.sram_mm2) == {"sram_weights", "sram_activations", "sram_gradients", "sram_optimizer"}
    assert r.sram_mm2["sram_activations"] == pytest.approx(cfg.buffers.activations * A.sram_mm2_per_kib(28)[0])
    assert r.total_mm2 == pytest.approx(sum(r.logic_mm2.values()) + sum(r.sram_mm2.values()))
    assert r.within_edge_limit == (r.total_mm2 <= A.EDGE_AREA_LIMIT_MM2)
    # Logic area = GE x NAND2 area (scaled to 28 nm) / utilisation.
    nand28 = A.ideal_area_square(A.NAND2_UM2[45.0][0], 45, 28)
    ge = A.gate_equivalents(blocks["mac_array"])
    assert r.logic_mm2["mac_array"] == pytest.approx(ge * nand28 / A.LOGIC_UTILISATION * 1e-6)
    # A larger node gives a larger area for the same design.
    assert A.area_report(blocks, cfg, 45).total_mm2 > r.total_mm2
    # Growing the buffers past the budget flips the check.
    huge = cfg.replace(buffers={"weights": 4096, "activations": 4096, "gradients": 4096, "optimizer": 4096})
    assert not A.area_report(blocks, huge, 28).within_edge_limit
