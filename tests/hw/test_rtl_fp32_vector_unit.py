"""FP32 vector unit RTL (Verilator + cocotb) against NumPy float32.

``slow``: the default suite checks the same lanes through the special-function
unit's OP mode (test_rtl_special_function_unit.py), which saves a Verilator
build; this standalone bench adds the per-cycle stream checker of
cocotb_streams.drive and back-to-back throughput.
"""

from __future__ import annotations

import pytest

from pinta.config import load_config
from pinta.hw.vector_blocks import register


@pytest.mark.slow
def test_vector_unit_rtl_bit_exact(rtl_builds, bench_dir):
    register()
    model = rtl_builds.get(load_config("tiny"), "vector_unit")
    tests, failed, xml = model.run("cocotb_fp32_vector_unit", bench_dir,
                                   env={"PINTA_FP32_PER_OP": "10000", "PINTA_INT_PER_OP": "2000"})
    assert tests == 2, f"expected 2 cocotb tests, ran {tests} ({xml})"
    assert failed == 0, f"{failed} cocotb test(s) failed; see {xml}"
