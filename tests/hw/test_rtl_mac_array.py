"""SMX MAC array RTL (Verilator + cocotb) against golden smx_matmul."""

from __future__ import annotations

import json

import pytest

from pinta.config import load_config
from pinta.hw.common import supported_modes
from pinta.hw.mac_array import beats_per_transfer, grid

#: 2×2 PEs: row and column broadcast, four accumulator blocks; still a quick build.
def _test_cfg():
    return load_config("tiny").replace(name="tiny2x2", array_rows=8, array_cols=8)


def _run(rtl_builds, bench_dir, cfg, tmp_path, products):
    model = rtl_builds.get(cfg, "mac_array")
    results = tmp_path / "throughput.json"
    tests, failed, xml = model.run("cocotb_mac_array", bench_dir,
                                   env={"PINTA_PRODUCTS_PER_MODE": str(products), "PINTA_RESULTS": str(results)})
    assert tests == 3, f"expected 3 cocotb tests, ran {tests} ({xml})"
    assert failed == 0, f"{failed} cocotb test(s) failed; see {xml}"
    measured = json.loads(results.read_text())
    pr, pc = grid(cfg)
    for mode in supported_modes(cfg):
        assert measured[mode.name]["peak_macs_per_cycle"] == 64 * pr * pc / beats_per_transfer(cfg, mode)
    print(f"\nMAC array {cfg.name} ({pr}x{pc} PEs), measured:")
    for m, v in measured.items():
        print(f"  {m:8s} peak {v['peak_macs_per_cycle']:.2f} MACs/cycle, "
              f"{v['stream_macs_per_cycle']:.2f} incl. fill/drain, "
              f"last transfer accepted -> result {v['latency_last_in_to_out']} cycles")
    return measured


def test_mac_array_rtl_bit_exact(rtl_builds, bench_dir, tmp_path):
    measured = _run(rtl_builds, bench_dir, _test_cfg(), tmp_path, 1000)
    # The design's promise: INT8 >= 2x INT12xINT8, INT4 more again.
    assert measured["INT8"]["peak_macs_per_cycle"] >= 2 * measured["INT12_8"]["peak_macs_per_cycle"]
    assert measured["INT4"]["peak_macs_per_cycle"] > measured["INT8"]["peak_macs_per_cycle"]


@pytest.mark.slow
def test_mac_array_rtl_default_config(rtl_builds, bench_dir, tmp_path):
    _run(rtl_builds, bench_dir, load_config("default"), tmp_path, 2000)
