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
