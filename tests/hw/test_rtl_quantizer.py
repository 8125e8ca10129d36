"""SMX quantizer RTL (Verilator + cocotb) against golden smx_quantize."""

from __future__ import annotations

from pinta.config import load_config


def test_quantizer_rtl_bit_exact(rtl_builds, bench_dir):
    model = rtl_builds.get(load_config("tiny"), "smx_quantizer")
    tests, failed, xml = model.run("cocotb_smx_quantizer", bench_dir, env={"PINTA_BLOCKS_PER_WIDTH": "1000"})
    assert tests == 3, f"expected 3 cocotb tests, ran {tests} ({xml})"
    assert failed == 0, f"{failed} cocotb test(s) failed; see {xml}"
