"""The integer inference model against the fake-quant model; the GEMM list and BOPs."""

import numpy as np
import pytest

from pinta.flows.qat import train
from pinta.flows.qat.layers import Ctx
from pinta.flows.qat.models import build
from pinta.flows.qat.quant import SCENARIOS, golden_smx


def _model(arch, shape, scn, head16, seed=0):
    m = build(arch, shape, 8, modes=4, seed=seed)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((6, *shape))
    m.set_scenario(scn, head16=head16)
    train.calibrate(m, x[:4], batch=2)
    for p in m.params().values():
        p.value = p.value.astype(np.float64)
    return m, x


@pytest.mark.parametrize("arch,shape", [("fno", (32,)), ("unet", (32,)), ("fno", (16, 16)), ("unet", (8, 8))])
@pytest.mark.parametrize("scn", [s for s in SCENARIOS if s != "fp32"])
def test_integer_model_within_one_output_lsb(arch, shape, scn):
    if SCENARIOS[scn][0] == "smx" and golden_smx() is None:
        pytest.skip("pinta.golden.smx not available")
    for head16 in (True, False):
        m, x = _model(arch, shape, scn, head16)
        y_fake = m.forward(x, Ctx("fake"))
        y_int = m.forward(x, Ctx("int"))
        if m.oq.bits is not None:
            lsb = m.oq.qparams()[0]
            assert np.abs(y_fake - y_int).max() <= lsb
            # and the integer output is on the output grid
            _, z, _ = m.oq.qparams()
            k = y_int / lsb
            np.testing.assert_allclose(k, np.round(k), atol=1e-6)
        else:   # float output (w8a32 and SMX): the GEMMs are the only difference
            assert np.abs(y_fake - y_int).max() <= 1e-9 * np.abs(y_fake).max()


def test_integer_model_really_uses_integer_codes():
    # A w4a4 model's hidden GEMM inputs must take at most 16 distinct values in the int engine.
    m, x = _model("fno", (32,), "w4a4", True)
    seen = {}
    orig = m.pw[1].aq.codes

    def spy(v):
        c, s = orig(v)
        seen["codes"] = c
        return c, s

    m.pw[1].aq.codes = spy
    m.forward(x, Ctx("int"))
    c = seen["codes"]
    assert c.dtype == np.int64 and len(np.unique(c)) <= 16


def _fno1d_macs(N, W, m, head):
    per_block = 2 * m * N * W + m * (2 * W) ** 2 + N * 2 * m * W + N * W * W
    return N * 2 * W + 4 * per_block + N * W * head + N * head


def test_gemm_list_counts_macs():
    m = build("fno", (64,), 8, modes=6)
    m.set_scenario("w8a8")
    g = m.gemm_list((64,))
    assert sum(x.macs for x in g) == _fno1d_macs(64, 8, 6, 128)
    assert all(x.w_bits in (8,) and x.a_bits in (8, 16) for x in g)
    assert {x.name for x in g} >= {"lift", "spec0.dft_y", "spec0.mix", "spec0.idft_y", "fc2"}


def test_bops_ratios_follow_the_widths():
    # UNet has no DFT basis; with the head switch off every GEMM has the scenario's widths.
    m = build("unet", (64,), 8)
    b = {}
    for s in ("w4a4", "w4a8", "w8a8", "w8a16", "w8a32", "fp32"):
        m.set_scenario(s, head16=False)
        b[s] = m.bops((64,))
    base = b["w4a4"]
    assert [b[s] // base for s in b] == [1, 2, 4, 8, 16, 64]
    assert all(b[s] % base == 0 for s in b)
