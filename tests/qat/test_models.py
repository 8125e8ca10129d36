"""Manual gradients against finite differences; FFT path against the DFT-matmul path."""

import numpy as np
import pytest

from pinta.flows.qat.layers import Ctx
from pinta.flows.qat.models import build


def _as64(m):
    for p in m.params().values():
        p.value = p.value.astype(np.float64)
        p.grad = np.zeros_like(p.value)
    return m


def _grad_check(m, shape, ctx_factory, n_checks=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, *shape))
    t = rng.standard_normal((2, *shape))

    def loss():
        y = m.forward(x, ctx_factory())
        return 0.5 * np.sum((y - t) ** 2), y

    _, y = loss()
    m.zero_grad()
    m.backward(y - t)
    for name, p in m.params().items():
        g = p.grad.astype(np.float64).copy()
        scale = np.abs(g).max() + 1e-12
        for _ in range(n_checks):
            idx = tuple(rng.integers(0, s) for s in p.value.shape)
            old = p.value[idx]
            h = 1e-6
            p.value[idx] = old + h
            lp, _ = loss()
            p.value[idx] = old - h
            lm, _ = loss()
            p.value[idx] = old
            fd = (lp - lm) / (2 * h)
            # grads are stored in float32: compare relative to the largest entry of the tensor
            assert abs(fd - g[idx]) <= 1e-4 * scale + 1e-7, (name, idx, fd, g[idx])


@pytest.mark.parametrize("arch,shape", [("fno", (16,)), ("fno", (12, 10)), ("unet", (16,)), ("unet", (8, 12))])
def test_float_gradients(arch, shape):
    m = _as64(build(arch, shape, 6, modes=3, seed=1))
    _grad_check(m, shape, lambda: Ctx("float"))


@pytest.mark.parametrize("shape", [(16,), (12, 10)])
def test_dft_matmul_path_gradients(shape):
    # Ctx with a GEMM recorder makes the spectral layers use the DFT matmuls (the fake/int structure).
    m = _as64(build("fno", shape, 5, modes=3, seed=2))
    _grad_check(m, shape, lambda: Ctx("float", gemms=[]))


@pytest.mark.parametrize("shape", [(32,), (16, 12)])
def test_dft_matmul_equals_fft(shape):
    m = _as64(build("fno", shape, 6, modes=5, seed=3))
    x = np.random.default_rng(0).standard_normal((3, *shape))
    y_fft = m.forward(x, Ctx("float"))
    y_dft = m.forward(x, Ctx("float", gemms=[]))
    np.testing.assert_allclose(y_fft, y_dft, atol=1e-12 * np.abs(y_fft).max())


def test_modes_must_fit_grid():
    assert build("fno", (16,), 4, modes=8).modes == 7    # build clamps to N/2 - 1
    from pinta.flows.qat.models import FNO
    with pytest.raises(ValueError, match="modes need a grid"):
        FNO((16,), width=4, modes=8)
