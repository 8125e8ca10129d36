"""Quantizers: SMX fake-quant against the golden model, per-channel weights, activation ranges, policy."""

import numpy as np
import pytest

from pinta.flows.qat import quant


@pytest.mark.parametrize("bits", [4, 8, 12])
@pytest.mark.parametrize("shape", [(8, 12), (5, 7), (1, 3)])
def test_smx_fake_matches_golden(bits, shape):
    smx = quant.golden_smx()
    if smx is None:
        pytest.skip("pinta.golden.smx not available")
    rng = np.random.default_rng(bits)
    x = rng.standard_normal(shape) * np.exp(rng.uniform(-6, 6, shape))   # blocks of very different scale
    x[0, 0] = 0.0
    ref = smx.smx_dequantize(smx.smx_quantize(x, bits))
    np.testing.assert_array_equal(quant.smx_fake(x, bits), ref)


def test_smx_fake_batches_over_leading_axes():
    x = np.random.default_rng(0).standard_normal((3, 2, 8, 8))
    y = quant.smx_fake(x, 8)
    for i in range(3):
        for j in range(2):
            np.testing.assert_array_equal(y[i, j], quant.smx_fake(x[i, j], 8))


def test_weight_codes_symmetric_per_channel():
    w = np.array([[1.0, -0.01], [-0.5, 0.02], [0.25, 0.0]])
    q, s = quant.weight_codes(w, 4, (0,))
    assert q.min() >= -7 and q.max() <= 7
    assert q[0, 0] == 7 and q[2, 1] == 0
    np.testing.assert_allclose(s.ravel(), [1 / 7, 0.02 / 7])      # one scale per output column
    assert np.abs(q * s - w).max() <= s.max() / 2 + 1e-15


def test_act_quant_range_zero_and_ste_mask():
    aq = quant.ActQuant(momentum=0.5)
    aq.bits = 4
    x = np.linspace(-0.2, 3.0, 50)
    y, mask = aq.fake(x, training=True)
    assert mask.all() and len(np.unique(y)) <= 16
    s, z, n = aq.qparams()
    assert abs(np.abs(y - x).max()) <= s / 2 + 1e-12
    y0, _ = aq.fake(np.zeros(3), training=False)
    assert np.all(y0 == 0)                                      # zero is exactly representable
    _, m2 = aq.fake(np.array([10.0, -5.0, 1.0]), training=False)
    assert list(m2) == [False, False, True]                     # STE zeroes clipped inputs
    codes, sc = aq.codes(x)
    np.testing.assert_allclose(codes * sc, y)


def test_act_quant_needs_calibration():
    aq = quant.ActQuant()
    aq.bits = 8
    with pytest.raises(RuntimeError, match="calibration"):
        aq.codes(np.ones(3))


def test_policy_head_switch_and_smx_pairs():
    assert quant.policy("w4a4", "hidden") == quant.GemmQ("int", 4, 4)
    assert quant.policy("w4a4", "head_out", head16=True) == quant.GemmQ("int", 4, 16)
    assert quant.policy("w4a4", "head_out", head16=False) == quant.GemmQ("int", 4, 4)
    assert quant.policy("w8a32", "head_out") == quant.GemmQ("int", 8, None)
    assert quant.policy("w4a8", "basis").w_bits == quant.BASIS_BITS
    allowed = [{8, 8}, {12, 8}, {4, 4}]                         # the MAC array's SMX modes
    for scn in ("smx8", "smx4"):
        for role in ("hidden", "head_out", "basis"):
            q = quant.policy(scn, role)
            assert {q.w_bits, q.a_bits} in allowed, (scn, role, q)
    assert quant.policy("fp32", "hidden").kind == "float"
    with pytest.raises(ValueError, match="unknown scenario"):
        quant.policy("w2a2", "hidden")


def test_learned_activation_ranges_train_with_the_weights():
    from pinta.flows.qat import train
    from pinta.flows.qat.models import build
    rng = np.random.default_rng(0)
    x = rng.standard_normal((24, 32)).astype(np.float32)
    y = np.roll(x, 3, axis=1) ** 2
    m = build("fno", (32,), 6, modes=4)
    m.y_scale = float(np.sqrt(np.mean(y ** 2)))
    m.set_scenario("w4a4")
    train.calibrate(m, x, batch=8)
    ema = {k: (q.lo, q.hi) for k, q in m.quantizers().items() if q.bits}
    assert m.range_params() == {}                       # off by default: EMA ranges
    train.qat(m, x, y, epochs=3, lr=1e-3, batch=8, progress=False, learn_ranges=True)
    rp = m.range_params()
    assert len(rp) == 2 * len(ema)                      # lo and hi of every active quantizer
    moved = [k for k, q in m.quantizers().items() if q.bits and (q.lo, q.hi) != ema[k]]
    assert moved                                        # the bounds were trained
    assert all(q.lo <= 0.0 <= q.hi for q in m.quantizers().values() if q.bits)
    assert np.isfinite(train.evaluate(m, x, y)[0])
