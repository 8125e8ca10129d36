"""Manual forward/backward of dense and TT networks, float and quantized, against references."""

import numpy as np
import pytest

from pinta.golden.mlp import Network, tt_core_grads, tt_reconstruct
from pinta.golden.pde import NetSpec, get_pde
from pinta.golden.quantized_training import QuantizedEngine
from pinta.golden.training import TrainConfig, Trainer


def _small_trainer(name, tt_rank, dtype="float64", **pde_overrides):
    kw = dict(pairs=4, n_interior=3)
    if name != "hjb20d":
        kw["n_boundary"] = 2
    if name == "heat100d":
        kw["n_initial"] = 2
    kw.update(pde_overrides)
    pde = get_pde(name, **kw)
    pde.net = NetSpec((16, 16), pde.net.activation)
    return Trainer(TrainConfig(pde=name, dtype=dtype, tt_rank=tt_rank), pde=pde)


def test_tt_reconstruction_matches_golden_tt():
    from pinta.golden.tt import TTMatrix

    net = Network(2, (16, 16, 16), tt_rank=3, seed=1)
    L = net.layers[1]
    cores = [net.params[i].astype(np.float64) for i in L["idx"][:-1]]
    assert np.allclose(tt_reconstruct(cores), TTMatrix.from_cores(cores).full(), rtol=1e-12, atol=1e-15)
    assert net.compression_ratio() > 1


def test_tt_core_grads_are_the_transpose_of_reconstruction():
    rng = np.random.default_rng(0)
    cores = [rng.normal(size=s) for s in [(1, 2, 4, 3), (3, 4, 2, 2), (2, 2, 2, 1)]]
    dW = rng.normal(size=(16, 16))
    grads = tt_core_grads(cores, dW)
    for k in range(3):  # <dW, dW/dG_k · V> = <grad_k, V>: linear in each core
        V = rng.normal(size=cores[k].shape)
        moved = [V if j == k else c for j, c in enumerate(cores)]
        assert np.isclose(np.sum(dW * tt_reconstruct(moved)), np.sum(grads[k] * V), rtol=1e-10)


@pytest.mark.parametrize("activation", ["tanh", "sin"])
@pytest.mark.parametrize("tt_rank", [None, 2])
def test_network_backward_matches_finite_differences(activation, tt_rank):
    net = Network(3, (16, 16, 16), activation, tt_rank=tt_rank, seed=2)
    net.params = [p.astype(np.float64) for p in net.params]
    rng = np.random.default_rng(3)
    X, w = rng.normal(size=(5, 3)), rng.normal(size=5)
    g, cache = net.forward(X, np.float64)
    grads = net.backward(cache, w)
    for k, p in enumerate(net.params):
        for _ in range(3):
            idx = tuple(rng.integers(0, s) for s in p.shape)
            old = p[idx]
            p[idx] = old + 1e-6
            lp = net.forward(X, np.float64)[0] @ w
            p[idx] = old - 1e-6
            lm = net.forward(X, np.float64)[0] @ w
            p[idx] = old
            assert np.isclose((lp - lm) / 2e-6, grads[k][idx], rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("name, tt_rank", [("poisson2d", None), ("poisson2d", 2), ("hjb20d", 2), ("heat100d", None)])
def test_se_loss_gradient_matches_finite_differences(name, tt_rank):
    """The whole float loss (SE + residual + boundary terms) against central differences, float64."""
    tr = _small_trainer(name, tt_rank)
    batch = tr.sample_batch()
    delta = tr.engine.deltas(tr.rng_delta, len(batch.interior), 0)
    loss, _, grads = tr.engine.loss_and_grads(batch, delta)
    rng = np.random.default_rng(4)
    for k, p in enumerate(tr.net.params):
        idx = tuple(rng.integers(0, s) for s in p.shape)
        old = p[idx]
        p[idx] = old + 1e-6
        lp = tr.engine.loss_and_grads(batch, delta)[0]
        p[idx] = old - 1e-6
        lm = tr.engine.loss_and_grads(batch, delta)[0]
        p[idx] = old
        fd = (lp - lm) / 2e-6
        assert abs(fd - grads[k][idx]) <= 1e-4 * abs(fd) + 1e-7 * loss, (tr.net.param_names[k], fd, grads[k][idx])


def _cosines(a, b):
    return [float(x.ravel() @ y.ravel() / np.linalg.norm(x) / np.linalg.norm(y)) for x, y in zip(a, b)]


@pytest.mark.parametrize("name, tt_rank", [("poisson2d", None), ("heat100d", 2)])
def test_quantized_gradients_follow_float_and_diffquant_matters(name, tt_rank):
    tr = _small_trainer(name, tt_rank, pairs=32, n_interior=4)
    batch = tr.sample_batch()
    res = {}
    for dq in (True, False):
        qe = QuantizedEngine(tr.pde, tr.net, diffquant=dq, seed=3)
        delta = qe.deltas(None, 4, 0)
        _, _, gq = qe.loss_and_grads(batch, delta)
        _, _, gf = tr.engine.loss_and_grads(batch, delta.astype(np.float64))
        assert all(g.dtype == np.float32 and g.shape == p.shape for g, p in zip(gq, tr.net.params))
        res[dq] = _cosines(gq, gf)
    assert min(res[True]) > 0.98  # DiffQuant: INT8/INT12 gradients point where the float64 ones do
    assert np.mean(res[True]) > np.mean(res[False])  # plain quantization of x±δ loses the SE signal


def _spread(rng, shape, binades):
    """Gaussian rows scaled by 2^-U{0..binades}: exponent spread along the reduction forces smx.py's slow path."""
    return rng.standard_normal(shape) * np.exp2(-rng.integers(0, binades + 1, (shape[0], 1)))


@pytest.mark.parametrize("m, k, n, bits", [(40, 96, 36, (8, 8)), (24, 300, 20, (12, 8)), (8, 9000, 12, (8, 12))])
def test_fast_exact_gemms_equal_smx_bit_for_bit(m, k, n, bits):
    from pinta.golden.quantized_training import exact_matmul, exact_matmul_fp32
    from pinta.golden.smx import smx_matmul, smx_matmul_fp32, smx_quantize

    rng = np.random.default_rng(m + k)
    at = smx_quantize(_spread(rng, (k, m), 30), bits[0])  # stored (K, M), used transposed like Xᵀ·dY
    b = smx_quantize(_spread(rng, (k, n), 30), bits[1])
    ref = smx_matmul_fp32(at, b, transpose_a=True)
    assert ref.tobytes() == exact_matmul_fp32(at, b, transpose_a=True).tobytes()
    if k <= 8192:
        a = smx_quantize(_spread(rng, (m, k), 30), bits[0])
        assert smx_matmul(a, b).to_float().tobytes() == exact_matmul(a, b).tobytes()


@pytest.mark.parametrize("name, tt_rank, kw", [("poisson2d", 2, {}), ("poisson2d", 2, {"tt_method": "sequential"}),
                                               ("heat100d", None, {}), ("hjb20d", 2, {"diffquant": False})])
def test_fast_quantized_engine_equals_the_smx_reference(name, tt_rank, kw, monkeypatch):
    """The speed-ups (fast exact GEMMs, dX-only TT backward) change no bit of the loss or the gradients."""
    import pinta.golden.smx as S

    slow_calls = []
    real = S._slow_blocks
    monkeypatch.setattr(S, "_slow_blocks", lambda *a: slow_calls.append(1) or real(*a))
    tr = _small_trainer(name, tt_rank, pairs=64, n_interior=8)
    batch = tr.sample_batch()
    out = []
    for fast in (True, False):
        qe = QuantizedEngine(tr.pde, tr.net, seed=5, fast=fast, **kw)
        delta = qe.deltas(None, 8, 0)
        out.append(qe.loss_and_grads(batch, delta))
    (la, ta, ga), (lb, tb, gb) = out
    assert la == lb and ta == tb
    assert all(x.tobytes() == y.tobytes() for x, y in zip(ga, gb))
    if tt_rank:  # the TT weight-gradient GEMMs of these runs do take the exact slow path
        assert slow_calls


@pytest.mark.parametrize("width, rank, rows", [(64, 2, 4099), (512, 3, 1030), (256, 8, 1301)])
def test_streamed_prs_layer_equals_the_whole_batch_path(width, rank, rows):
    """The streamed TT layer (batch pieces, dL/dR chunks added across pieces) gives tt.py's whole-batch bits.

    Row counts span several pieces and end in a ragged piece that is not a
    multiple of 4; rows carry 20 binades of scale so that the exact slow
    path runs; all three (dX, dW) requests are compared.
    """
    from pinta.golden.mlp import tt_factor
    from pinta.golden.quantized_training import _TTQ

    rng = np.random.default_rng(width + rows)
    m = tt_factor(width)
    ranks = [1, rank, rank, rank, 1]
    cores = [(rng.standard_normal((ranks[k], m[k], m[k], ranks[k + 1])) * 0.3).astype(np.float32) for k in range(4)]
    X = _spread(rng, (rows, width), 20).astype(np.float32)
    dY = _spread(rng, (rows, width), 20).astype(np.float32)
    streamed, whole = _TTQ(cores, "prs", None), _TTQ(cores, "prs", None)
    whole.streamed = False  # tt.py's forward/backward with the same exact GEMMs, the batch in one piece
    assert streamed.streamed and streamed._piece_rows() < rows
    ys, cs = streamed.fwd(X)
    yw, cw = whole.fwd(X)
    assert ys.dtype == yw.dtype == np.float32 and ys.tobytes() == yw.tobytes()
    # The FP32 half gradients themselves (the core chain's INT12 requantization would hide a
    # different chunk summation in dL, dR).
    _, dL, dR = streamed._prs_bwd_halves(cs, dY, False, True)
    ref = whole.tt.backward(cw, dY.astype(np.float64))
    assert dL.tobytes() == ref.dL.tobytes() and dR.tobytes() == ref.dR.tobytes()
    for need_dx, need_dw in [(True, True), (True, False), (False, True)]:
        (dxs, gs), (dxw, gw) = streamed.bwd(cs, dY, need_dx, need_dw), whole.bwd(cw, dY, need_dx, need_dw)
        assert (dxs is None) == (not need_dx) and (gs is None) == (not need_dw)
        if need_dx:
            assert dxs.tobytes() == dxw.tobytes()
        if need_dw:
            assert len(gs) == 4 and all(a.dtype == np.float32 and a.tobytes() == b.tobytes() for a, b in zip(gs, gw))
