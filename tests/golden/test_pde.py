"""The PDE interface and the three benchmarks (algorithms.md §1)."""

import numpy as np
import pytest

from pinta.golden.pde import BENCHMARKS, PDE, NetSpec, PDEError, get_pde


def exact_derivatives(name, x):
    """Closed-form u, ∇_x u, Δ_x u, u_t of each benchmark's exact solution."""
    if name == "poisson2d":
        s = np.sin(x[:, 0] + x[:, 1])
        c = np.cos(x[:, 0] + x[:, 1])
        return s / 2, np.stack([c / 2, c / 2], axis=1), -s, None
    if name == "hjb20d":
        n = len(x)
        return x[:, :20].sum(1) + 1 - x[:, 20], np.ones((n, 20)), np.zeros(n), -np.ones(n)
    n = len(x)
    return (x[:, :100] ** 2).sum(1) / 200 + x[:, 100], x[:, :100] / 100, np.full(n, 1.0), np.ones(n)


@pytest.mark.parametrize("name", list(BENCHMARKS))
def test_exact_solution_has_zero_residual(name):
    pde = get_pde(name)
    x = pde.sample_interior(np.random.default_rng(1), 50)
    u, g, lap, ut = exact_derivatives(name, x)
    assert np.allclose(u, pde.exact(x))
    assert np.max(np.abs(pde.residual(x, u, g, lap, ut))) < 1e-12
    # The float32 vector-unit residual agrees to float32 rounding.
    r32 = pde.residual_fp32(x, u.astype(np.float32), g.astype(np.float32), lap.astype(np.float32),
                            None if ut is None else ut.astype(np.float32))
    assert r32.dtype == np.float32 and np.max(np.abs(r32)) < 1e-5


@pytest.mark.parametrize("name", list(BENCHMARKS))
def test_closed_form_residual_vjp_matches_complex_step(name):
    pde = get_pde(name)
    rng = np.random.default_rng(2)
    x = pde.sample_interior(rng, 7)
    u, g, lap, ut = (None if v is None else v + rng.normal(size=np.shape(v)) for v in exact_derivatives(name, x))
    dres = rng.normal(size=7)
    closed = pde.residual_vjp(x, u, g, lap, ut, dres)
    generic = PDE.residual_vjp(pde, x, u, g, lap, ut, dres)
    for a, b in zip(closed, generic):
        if a is None:
            assert b is None
        else:
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_settings_and_samplers():
    p = get_pde("poisson2d")
    assert (p.dim, p.sigma, p.pairs, p.n_interior, p.n_boundary, p.boundary_weight) == (2, 0.01, 512, 100, 100, 300.0)
    xb = p.sample_boundary(np.random.default_rng(0), 1000)
    on_edge = np.isin(xb, [0.0, 1.0])
    assert np.all(on_edge.any(axis=1)) and np.all((xb >= 0) & (xb <= 1))
    h = get_pde("hjb20d")
    assert (h.dim, h.sigma, h.pairs, h.net) == (21, 0.1, 1024, NetSpec((512, 512), "sin"))
    x = h.sample_interior(np.random.default_rng(0), 20)
    a, b = h.ansatz(x)
    x[:, 20] = 1.0  # terminal condition is hard-wired: u(x, 1) = Σx whatever g is
    a1, b1 = h.ansatz(x)
    assert np.allclose(b1, 0) and np.allclose(a1, x[:, :20].sum(1))
    q = get_pde("heat100d")
    assert (q.dim, q.sigma, q.pairs, q.initial_weight, q.boundary_weight) == (101, 0.01, 1024, 1000.0, 1000.0)
    rng = np.random.default_rng(0)
    r_in = np.linalg.norm(q.sample_interior(rng, 2000)[:, :100], axis=1)
    assert np.all(r_in <= 1) and np.median(r_in) > 0.98  # uniform in the 100-ball: mass near the sphere
    assert np.allclose(np.linalg.norm(q.sample_boundary(rng, 10)[:, :100], axis=1), 1)
    assert np.all(q.sample_initial(rng, 10)[:, 100] == 0)


def test_unknown_name_lists_choices():
    with pytest.raises(PDEError, match="poisson2d, hjb20d, heat100d"):
        get_pde("wave3d")


class _Good(PDE):
    name, dim, n_interior, n_boundary = "good", 2, 4, 4

    def residual(self, x, u, grad, lap, u_t):
        return lap

    def sample_interior(self, rng, n):
        return rng.random((n, 2))

    def sample_boundary(self, rng, n):
        return rng.random((n, 2))

    def boundary_value(self, x):
        return np.zeros(len(x))


def test_good_custom_pde_validates():
    assert _Good().validate().space_dim == 2


@pytest.mark.parametrize("change, message", [
    ({"sample_interior": lambda self, rng, n: rng.random((n, 3))}, r"sample_interior.*shape \(3, 3\).*expected \(3, 2\)"),
    ({"sample_boundary": PDE.sample_boundary}, "sample_boundary.*not defined"),
    ({"residual": lambda self, x, u, g, l, t: np.zeros((len(x), 2))}, "residual returned shape"),
    ({"boundary_value": lambda self, x: np.zeros((len(x), 1))}, "boundary_value returned shape"),
    ({"net": NetSpec((8,), "relu")}, "activation"),
    ({"dim": 0}, "dim"),
    ({"n_initial": 3}, "sample_initial.*not defined"),
])
def test_bad_definitions_are_rejected_with_clear_messages(change, message):
    Bad = type("Bad", (_Good,), change)
    with pytest.raises(PDEError, match=message):
        Bad().validate()


def test_unknown_override_is_rejected():
    with pytest.raises(PDEError, match="unknown setting"):
        get_pde("poisson2d", sigmaa=0.1)


def test_docs_example_is_short_and_valid():
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "pde-interface.md").read_text()
    code = re.findall(r"```python\n(.*?)```", text, re.S)[0]
    assert len(code.strip().splitlines()) < 30
    ns = {}
    exec(code, ns)
    pde = ns["Heat1D"]().validate()
    x = pde.sample_boundary(np.random.default_rng(0), 5)
    assert np.allclose(pde.exact(x), 0, atol=1e-12)  # its exact solution meets its own boundary data
