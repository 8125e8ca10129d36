"""PDE problems for PINN training: a small extensible interface and the three benchmarks.

A PDE is described by a :class:`PDE` subclass. The trainer only ever calls the
methods below, so a new problem needs a residual and samplers, nothing more
(docs/pde-interface.md shows one in under 30 lines).

Conventions (shapes and units)
------------------------------
- A point is a row of ``dim`` float64 coordinates. For a time-dependent PDE
  (``time_dependent = True``) the **last** coordinate is t; the first
  ``space_dim = dim - 1`` are x. Otherwise all ``dim`` coordinates are x.
- ``residual(x, u, grad, lap, u_t)`` works on a batch of B interior points:
  ``x`` (B, dim), ``u`` (B,), ``grad`` (B, space_dim) = ∇_x u, ``lap`` (B,) =
  Δ_x u, ``u_t`` (B,) or ``None`` when the PDE has no time. It returns the
  residual (B,); the loss term is ``mean(residual²)``. It must be written
  with elementwise NumPy operations so that it also works on complex input
  (the trainer differentiates it by the complex step unless
  ``residual_vjp`` is overridden).
- Samplers take a ``numpy.random.Generator`` and a count n and return (n, dim).
- Boundary and initial conditions are Dirichlet data ``boundary_value(x)``
  and ``initial_value(x)`` (n,), each with its loss weight.
- ``exact(x)`` (n,) is optional; with it the trainer reports relative L2 on
  ``sample_test`` points.
- ``ansatz`` hard-wires a condition: the model output is
  u = a(x) + b(x)·g(x) where g is the network; default a = 0, b = 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["PDE", "PDEError", "Poisson2D", "HJB20D", "Heat100D", "BENCHMARKS", "get_pde", "NetSpec"]


class PDEError(ValueError):
    """A PDE definition that the trainer cannot use; the message says what is wrong."""


@dataclass(frozen=True)
class NetSpec:
    """Default network of a benchmark: hidden widths and activation ('tanh' or 'sin')."""

    hidden: tuple[int, ...]
    activation: str


class PDE:
    """Base class of a PINN problem. Subclass it and override what you need.

    Class attributes a subclass sets
    --------------------------------
    name : str
    dim : int                 network input width (x and, if time-dependent, t)
    time_dependent : bool     last coordinate is t
    sigma : float             SE smoothing standard deviation (same for x and t)
    pairs : int               K, number of antithetic SE pairs
    n_interior, n_boundary, n_initial : int   collocation points per iteration
    boundary_weight, initial_weight : float   loss weights of those terms
    net : NetSpec             default dense network
    lr : float                Adam initial learning rate (decays linearly to 0)
    """

    name: str = "pde"
    dim: int = 1
    time_dependent: bool = False
    sigma: float = 0.01
    pairs: int = 64
    n_interior: int = 100
    n_boundary: int = 0
    n_initial: int = 0
    boundary_weight: float = 1.0
    initial_weight: float = 1.0
    net: NetSpec = NetSpec((64, 64), "tanh")
    lr: float = 1e-3

    def __init__(self, **overrides):
        """Optionally override class attributes per instance (e.g. ``pairs=128`` for a K ablation)."""
        for key, value in overrides.items():
            if not hasattr(type(self), key) or callable(getattr(type(self), key)):
                raise PDEError(f"{type(self).__name__}: unknown setting '{key}'")
            setattr(self, key, value)

    # ---- what a subclass provides ------------------------------------------
    def residual(self, x, u, grad, lap, u_t):
        raise NotImplementedError

    def sample_interior(self, rng: np.random.Generator, n: int) -> np.ndarray:
        raise NotImplementedError

    def sample_boundary(self, rng: np.random.Generator, n: int) -> np.ndarray:
        raise NotImplementedError

    def boundary_value(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def sample_initial(self, rng: np.random.Generator, n: int) -> np.ndarray:
        raise NotImplementedError

    def initial_value(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    exact = None  # a subclass that knows the solution defines exact(self, x) -> (n,)

    def sample_test(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Points for the relative-L2 metric; default: the interior sampler."""
        return self.sample_interior(rng, n)

    def ansatz(self, x: np.ndarray):
        """(a, b) with u = a + b·g; ``None`` means u = g."""
        return None

    # ---- derived ---------------------------------------------------------
    @property
    def space_dim(self) -> int:
        return self.dim - 1 if self.time_dependent else self.dim

    def residual_vjp(self, x, u, grad, lap, u_t, dres):
        """Pull a residual gradient dres (B,) back to (du, dgrad, dlap, du_t).

        Default: the complex step, r(v + i·h)/h for each input, exact to
        rounding for residuals built from analytic elementwise operations.
        Override it to give closed forms (the benchmarks do, in float32
        elementwise operations, for the bit-exact quantized mode).
        """
        h = 1e-30
        B = u.shape[0]
        u = np.asarray(u, np.float64)
        grad = np.asarray(grad, np.float64)
        lap = np.asarray(lap, np.float64)
        ut = None if u_t is None else np.asarray(u_t, np.float64)

        def part(uu, gg, ll, tt):
            return np.imag(np.asarray(self.residual(x, uu, gg, ll, tt))) / h

        du = dres * part(u + 1j * h, grad + 0j, lap + 0j, None if ut is None else ut + 0j)
        dl = dres * part(u + 0j, grad + 0j, lap + 1j * h, None if ut is None else ut + 0j)
        dt = None if ut is None else dres * part(u + 0j, grad + 0j, lap + 0j, ut + 1j * h)
        dg = np.empty_like(grad)
        for j in range(grad.shape[1]):
            gj = grad + 0j
            gj[:, j] += 1j * h
            dg[:, j] = dres * part(u + 0j, gj, lap + 0j, None if ut is None else ut + 0j)
        assert du.shape == (B,)
        return du, dg, dl, dt

    def has_exact(self) -> bool:
        return callable(getattr(self, "exact", None))

    # ---- validation ----------------------------------------------------------
    def validate(self) -> "PDE":
        """Dry-run every piece on a few points; raise :class:`PDEError` naming the fault."""
        cls = type(self).__name__
        for attr, lo in (("dim", 1), ("pairs", 1), ("n_interior", 1)):
            v = getattr(self, attr)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
                raise PDEError(f"{cls}.{attr} = {v!r}: must be an integer >= {lo}")
        if self.time_dependent and self.dim < 2:
            raise PDEError(f"{cls}: a time-dependent PDE needs dim >= 2 (x and t), got dim = {self.dim}")
        if not (isinstance(self.sigma, (int, float)) and self.sigma > 0):
            raise PDEError(f"{cls}.sigma = {self.sigma!r}: must be a positive number")
        rng = np.random.default_rng(0)
        n = 3

        def check_sampler(kind, count):
            sampler = getattr(self, f"sample_{kind}")
            try:
                pts = sampler(rng, n)
            except NotImplementedError:
                raise PDEError(f"{cls}: n_{kind} = {count} but sample_{kind}(rng, n) is not defined") from None
            pts = np.asarray(pts)
            if pts.shape != (n, self.dim):
                raise PDEError(f"{cls}.sample_{kind}(rng, {n}) returned shape {pts.shape}; expected ({n}, {self.dim}) = (n, dim)")
            if not np.all(np.isfinite(pts)):
                raise PDEError(f"{cls}.sample_{kind} returned non-finite points")
            return pts

        xi = check_sampler("interior", self.n_interior)
        B, D = n, self.space_dim
        try:
            r = np.asarray(self.residual(xi, np.zeros(B), np.zeros((B, D)), np.zeros(B), np.zeros(B) if self.time_dependent else None))
        except NotImplementedError:
            raise PDEError(f"{cls}: residual(x, u, grad, lap, u_t) is not defined") from None
        if r.shape != (B,):
            raise PDEError(f"{cls}.residual returned shape {r.shape}; expected ({B},) = one value per point")
        for kind in ("boundary", "initial"):
            count = getattr(self, f"n_{kind}")
            if count:
                pts = check_sampler(kind, count)
                try:
                    v = np.asarray(getattr(self, f"{kind}_value")(pts))
                except NotImplementedError:
                    raise PDEError(f"{cls}: n_{kind} = {count} but {kind}_value(x) is not defined") from None
                if v.shape != (n,):
                    raise PDEError(f"{cls}.{kind}_value returned shape {v.shape}; expected ({n},)")
        if self.n_initial and not self.time_dependent:
            raise PDEError(f"{cls}: initial points need time_dependent = True")
        if self.has_exact():
            v = np.asarray(self.exact(xi))
            if v.shape != (n,):
                raise PDEError(f"{cls}.exact returned shape {v.shape}; expected ({n},)")
        ab = self.ansatz(xi)
        if ab is not None:
            a, b = (np.asarray(t) for t in ab)
            if a.shape != (n,) or b.shape != (n,):
                raise PDEError(f"{cls}.ansatz must return (a, b) of shape ({n},) each")
        if self.net.activation not in ("tanh", "sin"):
            raise PDEError(f"{cls}.net.activation = {self.net.activation!r}: choose 'tanh' or 'sin'")
        return self


# ---------------------------------------------------------------------------
# The three benchmarks (algorithms.md §1).


class Poisson2D(PDE):
    """Δu = −sin(x1+x2) on [0,1]², Dirichlet; u = sin(x1+x2)/2."""

    name, dim, sigma, pairs = "poisson2d", 2, 0.01, 512
    n_interior, n_boundary, boundary_weight = 100, 100, 300.0
    net = NetSpec((256, 256, 256), "tanh")

    def residual(self, x, u, grad, lap, u_t):
        return lap + np.sin(x[:, 0] + x[:, 1])

    def residual_vjp(self, x, u, grad, lap, u_t, dres):
        return np.zeros_like(dres), np.zeros((dres.shape[0], 2), dres.dtype), dres, None

    def residual_fp32(self, x, u, grad, lap, u_t):
        # Quantized mode: the source term through the vector unit's sin (golden/fp32.py).
        from .fp32 import fp32_sin, to_fp32

        return lap + fp32_sin(to_fp32(x[:, 0]) + to_fp32(x[:, 1]))

    def sample_interior(self, rng, n):
        return rng.random((n, 2))

    def sample_boundary(self, rng, n):
        # A uniform point with one random coordinate pinned to 0 or 1.
        x = rng.random((n, 2))
        axis = rng.integers(0, 2, n)
        x[np.arange(n), axis] = rng.integers(0, 2, n).astype(np.float64)
        return x

    def boundary_value(self, x):
        return self.exact(x)

    def exact(self, x):
        return np.sin(x[:, 0] + x[:, 1]) / 2


class HJB20D(PDE):
    """u_t + Δ_x u − 0.05‖∇_x u‖² + 2 = 0 on [0,1]^20 × [0,1]; u = Σx + 1 − t.

    The terminal condition u(x, 1) = Σx is hard-wired: u = Σx + (1−t)·g(x, t).
    """

    name, dim, time_dependent, sigma, pairs = "hjb20d", 21, True, 0.1, 1024
    n_interior = 100
    net = NetSpec((512, 512), "sin")

    def residual(self, x, u, grad, lap, u_t):
        return u_t + lap - 0.05 * np.sum(grad * grad, axis=1) + 2.0

    def residual_vjp(self, x, u, grad, lap, u_t, dres):
        dt = dres.dtype.type
        return np.zeros_like(dres), (dt(-0.1) * grad) * dres[:, None], dres, dres

    def residual_fp32(self, x, u, grad, lap, u_t):
        from .reduce import tree_sum

        f = np.float32
        return ((u_t + lap) - f(0.05) * tree_sum(grad * grad, axis=1)) + f(2.0)

    def ansatz_delta(self, x, delta):
        """(Δa, Δb) for +δ, float32 on chip: Σ_x δ (tree_sum) and −δ_t; the ansatz is affine in x."""
        from .reduce import tree_sum

        delta = np.asarray(delta, np.float32)
        return tree_sum(np.ascontiguousarray(delta[:, :, :20]), axis=-1), -delta[:, :, 20]

    def sample_interior(self, rng, n):
        return rng.random((n, 21))

    def exact(self, x):
        return x[:, :20].sum(axis=1) + 1.0 - x[:, 20]

    def ansatz(self, x):
        return x[:, :20].sum(axis=1), 1.0 - x[:, 20]


class Heat100D(PDE):
    """u_t = Δu for x in the unit ball of R^100, t in [0,1]; u = ‖x‖²/200 + t."""

    name, dim, time_dependent, sigma, pairs = "heat100d", 101, True, 0.01, 1024
    n_interior, n_boundary, n_initial = 50, 50, 50
    boundary_weight, initial_weight = 1000.0, 1000.0
    net = NetSpec((256, 256, 256), "tanh")

    def residual(self, x, u, grad, lap, u_t):
        return u_t - lap

    def residual_vjp(self, x, u, grad, lap, u_t, dres):
        return np.zeros_like(dres), np.zeros((dres.shape[0], 100), dres.dtype), -dres, dres

    def residual_fp32(self, x, u, grad, lap, u_t):
        return u_t - lap

    @staticmethod
    def _ball(rng, n, radius_power):
        # Gaussian direction; radius U^(1/100) for uniform in the ball, or 1 on the sphere.
        d = rng.standard_normal((n, 100))
        d /= np.linalg.norm(d, axis=1, keepdims=True)
        return d * (rng.random((n, 1)) ** radius_power if radius_power else 1.0)

    def sample_interior(self, rng, n):
        return np.concatenate([self._ball(rng, n, 1 / 100), rng.random((n, 1))], axis=1)

    def sample_boundary(self, rng, n):
        return np.concatenate([self._ball(rng, n, 0), rng.random((n, 1))], axis=1)

    def sample_initial(self, rng, n):
        return np.concatenate([self._ball(rng, n, 1 / 100), np.zeros((n, 1))], axis=1)

    def boundary_value(self, x):
        return self.exact(x)

    def initial_value(self, x):
        return self.exact(x)

    def exact(self, x):
        return np.sum(x[:, :100] ** 2, axis=1) / 200 + x[:, 100]


BENCHMARKS: dict[str, type[PDE]] = {"poisson2d": Poisson2D, "hjb20d": HJB20D, "heat100d": Heat100D}


def get_pde(name: str, **overrides) -> PDE:
    """A validated benchmark instance by name; unknown names raise PDEError listing the choices."""
    if name not in BENCHMARKS:
        raise PDEError(f"unknown PDE '{name}'; choose one of: {', '.join(BENCHMARKS)}")
    return BENCHMARKS[name](**overrides).validate()
