"""Burgers and Darcy generators: physics checks, resolution convergence, caching."""

import numpy as np
import pytest

from pinta.flows.qat import data


def test_burgers_linear_limit_matches_heat_equation():
    # At tiny amplitude the advection is negligible: each mode decays as exp(-nu (2 pi k)^2 t).
    n, nu = 128, 0.1 / np.pi
    x = np.arange(n) / n
    u0 = 1e-6 * (np.sin(2 * np.pi * x) + 0.5 * np.cos(2 * np.pi * 3 * x))
    uT = data.burgers_solve(u0, nu, t_end=1.0)[0]
    exact = 1e-6 * (np.exp(-nu * (2 * np.pi) ** 2) * np.sin(2 * np.pi * x)
                    + 0.5 * np.exp(-nu * (6 * np.pi) ** 2) * np.cos(6 * np.pi * x))
    assert np.max(np.abs(uT - exact)) < 1e-6 * 1e-6   # nonlinear term is O(amplitude^2)


def test_burgers_conserves_mean_and_dissipates_energy():
    rng = np.random.default_rng(3)
    u0 = data.burgers_initial(rng, 4, n=256) + 0.3          # nonzero mean on purpose
    uT = data.burgers_solve(u0, 0.01 / np.pi)
    np.testing.assert_allclose(uT.mean(1), u0.mean(1), atol=1e-12)
    assert np.all((uT ** 2).mean(1) < (u0 ** 2).mean(1))


def test_burgers_256_grid_agrees_with_1024():
    # The documented reason for solving at 256: converged far below float32 precision.
    for eps in (0.1, 0.01):
        u256 = data.burgers_solve(data.burgers_initial(np.random.default_rng(0), 2, n=256), eps / np.pi, cfl=0.8)
        u1024 = data.burgers_solve(data.burgers_initial(np.random.default_rng(0), 2, n=1024), eps / np.pi, cfl=0.8)
        ref = u1024[:, ::4]
        assert np.linalg.norm(u256 - ref) / np.linalg.norm(ref) < 1e-5


def test_darcy_constant_coefficient_is_second_order():
    # -lap u = f with u = sin(pi x) sin(pi y): f = 2 pi^2 u. The FV error must fall ~4x per halving of h.
    errs = []
    for n in (16, 32):
        c = (np.arange(n) + 0.5) / n
        ue = np.outer(np.sin(np.pi * c), np.sin(np.pi * c))
        A = data.darcy_matrix(np.ones((n, n)))
        from scipy.sparse.linalg import spsolve
        u = spsolve(A.tocsc(), (2 * np.pi ** 2 * ue).ravel()).reshape(n, n)
        errs.append(np.abs(u - ue).max())
    assert 3.0 < errs[0] / errs[1] < 5.0


def test_darcy_matrix_symmetric_and_solution_positive():
    a = data.darcy_coefficient(np.random.default_rng(1), n=16)
    assert set(np.unique(a)) <= {0.1, 1.0}
    A = data.darcy_matrix(a)
    assert abs(A - A.T).max() < 1e-9
    u = data.darcy_solve(a)
    assert u.min() > 0                      # maximum principle: f > 0, u = 0 on the boundary


def test_generation_is_deterministic_and_cached(tmp_path):
    p1 = data.generate_burgers(6, 0.1, seed=5, cache=tmp_path, progress=False)
    t1 = p1.stat().st_mtime_ns
    p2 = data.generate_burgers(6, 0.1, seed=5, cache=tmp_path, progress=False)
    assert p1 == p2 and p2.stat().st_mtime_ns == t1            # second call hits the cache
    other = data.generate_burgers(6, 0.1, seed=5, cache=tmp_path / "b", progress=False)
    np.testing.assert_array_equal(np.load(p1)["uT"], np.load(other)["uT"])   # same seed, same data
    x, y = data.load_burgers(6, 0.1, 64, seed=5, cache=tmp_path, progress=False)
    assert x.shape == y.shape == (6, 64)
    np.testing.assert_array_equal(x, np.load(p1)["u0"][:, ::4])
    a, u = data.load_darcy(3, 16, seed=1, cache=tmp_path, progress=False)
    assert a.shape == u.shape == (3, 16, 16)
    full = np.load(data.generate_darcy(3, seed=1, cache=tmp_path, progress=False))["u"]
    np.testing.assert_allclose(u[0, 0, 0], full[0, :4, :4].mean(), rtol=1e-6)


def test_bad_resolution_is_refused():
    with pytest.raises(ValueError, match="does not divide"):
        data.subsample_1d(np.zeros((1, 256)), 100)
