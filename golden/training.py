"""PINN training with Stein's estimator: the loop, both modes, checkpoints and metrics.

One iteration (both modes):

1. The host draws the collocation points (interior, boundary, initial) from
   its point generator (a NumPy PCG64 whose state is checkpointed).
2. δ (B, K, dim) is drawn: float mode from a second NumPy generator;
   quantized mode on the "chip" from golden/rng.py, keyed by (seed, iteration).
3. The engine evaluates the network on all B·(2K+1) SE points plus the
   boundary/initial points as one batch, forms the SE estimates, the loss
   Σ_term w·mean(r²) and backpropagates it to every parameter.
4. Adam with a learning rate decaying linearly from lr0 to 0 over the run.

Engines: :class:`FloatEngine` (float32, or float64 for gradient checks) here,
and :class:`pinta.golden.quantized_training.QuantizedEngine` (hardware-exact).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .mlp import Network
from .pde import PDE, get_pde
from .stein import sample_deltas, se_backward, se_estimate, stack_inputs

__all__ = ["TrainConfig", "Batch", "FloatEngine", "Trainer", "default_engine", "relative_l2", "MODES"]

MODES = ("float", "quantized")


@dataclass
class TrainConfig:
    """Everything that defines a run; stored in every checkpoint and metrics file.

    pde : benchmark name; mode : 'float' or 'quantized'; iters : planned
    iterations (the learning rate reaches 0 at ``iters``); seed : master seed;
    tt_rank : TT rank of the hidden-to-hidden layers, None = dense;
    pairs : K override (None = the PDE's K); diffquant, tt_method ('prs' or
    'sequential'), tt_split, block ('smx' or 'mx'): quantized-mode ablations;
    dtype : float-mode precision; eval_every / ckpt_every : in iterations;
    n_test : test points for the relative L2.
    """

    pde: str = "poisson2d"
    mode: str = "float"
    iters: int = 1000
    seed: int = 0
    tt_rank: int | None = None
    pairs: int | None = None
    diffquant: bool = True
    tt_method: str = "prs"
    tt_split: int | None = None
    block: str = "smx"
    dtype: str = "float32"
    lr: float | None = None
    eval_every: int = 100
    ckpt_every: int = 50
    n_test: int = 10000

    def validate(self) -> "TrainConfig":
        if self.mode not in MODES:
            raise ValueError(f"mode '{self.mode}' is not one of: {', '.join(MODES)}")
        if self.tt_method not in ("prs", "sequential"):
            raise ValueError(f"tt_method '{self.tt_method}' is not one of: prs, sequential")
        if self.block not in ("smx", "mx"):
            raise ValueError(f"block '{self.block}' is not one of: smx, mx")
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype '{self.dtype}' is not one of: float32, float64")
        for name in ("iters", "eval_every", "ckpt_every", "n_test"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.tt_rank is not None and self.tt_rank < 1:
            raise ValueError(f"tt_rank must be >= 1, got {self.tt_rank}")
        if self.pairs is not None and self.pairs < 1:
            raise ValueError(f"pairs (K) must be >= 1, got {self.pairs}")
        return self


@dataclass
class Batch:
    """One iteration's host-supplied points: interior (B, dim), boundary (Nb, dim), initial (Ni, dim)."""

    interior: np.ndarray
    boundary: np.ndarray
    initial: np.ndarray


def relative_l2(pred: np.ndarray, exact: np.ndarray) -> float:
    """‖pred − exact‖ / ‖exact‖ in float64."""
    pred = np.asarray(pred, np.float64)
    exact = np.asarray(exact, np.float64)
    return float(np.linalg.norm(pred - exact) / np.linalg.norm(exact))


def _ansatz_parts(pde: PDE, x: np.ndarray):
    ab = pde.ansatz(x)
    if ab is None:
        return None
    return np.asarray(ab[0], np.float64), np.asarray(ab[1], np.float64)


class FloatEngine:
    """Loss and gradients in float32 (or float64) with ordinary NumPy arithmetic."""

    def __init__(self, pde: PDE, net: Network, dtype: str = "float32"):
        self.pde, self.net = pde, net
        self.dtype = np.dtype(dtype)

    def deltas(self, rng: np.random.Generator, B: int, iteration: int) -> np.ndarray:
        return sample_deltas(rng, B, self.pde.pairs, self.pde.dim, self.pde.sigma)

    def make_optimizer(self, params):
        return _FloatAdam(params)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Model output u (n,) at points x (n, dim): the raw network with the ansatz, no smoothing."""
        out = []
        for i in range(0, len(x), 8192):
            xs = x[i:i + 8192]
            g, _ = self.net.forward(xs, self.dtype)
            ab = _ansatz_parts(self.pde, xs)
            out.append(g.astype(np.float64) if ab is None else ab[0] + ab[1] * g)
        return np.concatenate(out)

    def loss_and_grads(self, batch: Batch, delta: np.ndarray):
        """(loss, {term: value}, grads) for one iteration; delta (B, K, dim)."""
        pde, dt = self.pde, self.dtype
        x = batch.interior
        B, K, dim = delta.shape
        X = np.concatenate([stack_inputs(x, delta), batch.boundary, batch.initial], axis=0)
        g, cache = self.net.forward(X, dt)
        n_se = B * (2 * K + 1)
        # The ansatz u = a + b·g per evaluation; the SE differences are formed
        # as Δa + b±·Δg + Δb·g0 so that the large a (Σx for HJB) never enters
        # a float32 subtraction.
        ab = _ansatz_parts(pde, X)
        if ab is None:
            a = bfac = None
            u = g
        else:
            a, bfac = (v.astype(dt) for v in ab)
            u = a + bfac * g
        g0, gp, gm = g[:B], g[B:B + B * K].reshape(B, K), g[B + B * K:n_se].reshape(B, K)
        if ab is None:
            dp, dm = gp - g0[:, None], gm - g0[:, None]
            u0 = g0
        else:
            ab64 = ab
            a0, b0 = ab64[0][:B], ab64[1][:B]
            ap, bp = ab64[0][B:B + B * K].reshape(B, K), ab64[1][B:B + B * K].reshape(B, K)
            am, bm = ab64[0][B + B * K:n_se].reshape(B, K), ab64[1][B + B * K:n_se].reshape(B, K)
            dp = ((ap - a0[:, None]) + bp * (gp - g0[:, None]) + (bp - b0[:, None]) * g0[:, None]).astype(dt)
            dm = ((am - a0[:, None]) + bm * (gm - g0[:, None]) + (bm - b0[:, None]) * g0[:, None]).astype(dt)
            u0 = u[:B]
        dlt = delta.astype(dt)
        est = se_estimate(u0, dp, dm, dlt, pde.sigma, pde.space_dim, pde.time_dependent)
        res = np.asarray(pde.residual(x, est.u, est.grad, est.lap, est.u_t), dt)
        terms = {"residual": float(np.mean(res.astype(np.float64) ** 2))}
        dres = (2.0 / B) * res
        du, dgr, dl, dut = pde.residual_vjp(x, est.u, est.grad, est.lap, est.u_t, dres)
        du0, ddp, ddm = se_backward(np.asarray(du, dt), np.asarray(dgr, dt), np.asarray(dl, dt),
                                    None if dut is None else np.asarray(dut, dt), dlt, pde.sigma, pde.space_dim,
                                    pde.time_dependent)
        # d± = u± − u0: the centre evaluation also receives −Σ(dd⁺ + dd⁻).
        du0 = du0 - (ddp.sum(axis=1) + ddm.sum(axis=1))
        parts = [du0, ddp.ravel(), ddm.ravel()]
        loss = terms["residual"]
        off = n_se
        for kind, pts in (("boundary", batch.boundary), ("initial", batch.initial)):
            n = len(pts)
            if not n:
                continue
            w = getattr(pde, f"{kind}_weight")
            r = u[off:off + n] - np.asarray(getattr(pde, f"{kind}_value")(pts), dt)
            terms[kind] = float(np.mean(r.astype(np.float64) ** 2))
            loss += w * terms[kind]
            parts.append((2.0 * w / n) * r)
            off += n
        dU = np.concatenate(parts).astype(dt)
        dg = dU if ab is None else dU * bfac
        grads = self.net.backward(cache, dg)
        return loss, terms, grads


class _FloatAdam:
    """Adam (β1 0.9, β2 0.999, ε 1e-8) in the master weights' dtype; float mode only."""

    def __init__(self, params):
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.t = 0

    def step(self, params, grads, lr0, it, total):
        lr = lr0 * (1.0 - it / total)
        self.t += 1
        b1, b2, eps = 0.9, 0.999, 1e-8
        c1, c2 = 1 - b1 ** self.t, 1 - b2 ** self.t
        for p, g, m, v in zip(params, grads, self.m, self.v):
            g = g.astype(p.dtype, copy=False)
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            p -= (lr * (m / c1) / (np.sqrt(v / c2) + eps)).astype(p.dtype)

    def state(self):
        return {"t": np.array(self.t), **{f"m{i}": m for i, m in enumerate(self.m)},
                **{f"v{i}": v for i, v in enumerate(self.v)}}

    def load(self, st):
        self.t = int(st["t"])
        self.m = [np.array(st[f"m{i}"]) for i in range(len(self.m))]
        self.v = [np.array(st[f"v{i}"]) for i in range(len(self.v))]


def default_engine(cfg: TrainConfig, pde: PDE, net: Network):
    """The golden engine of ``cfg.mode``: :class:`FloatEngine` or the hardware-exact ``QuantizedEngine``.

    Any ``engine_factory(cfg, pde, net)`` given to :class:`Trainer` replaces
    this; docs/training.md ("Engines") lists what the returned object must do.
    """
    if cfg.mode == "float":
        return FloatEngine(pde, net, cfg.dtype)
    from .quantized_training import QuantizedEngine

    return QuantizedEngine(pde, net, diffquant=cfg.diffquant, tt_method=cfg.tt_method, tt_split=cfg.tt_split,
                           block=cfg.block, seed=cfg.seed)


def _rng_state_json(rng: np.random.Generator) -> str:
    return json.dumps(rng.bit_generator.state)


def _rng_from_json(s: str) -> np.random.Generator:
    st = json.loads(s)
    bg = getattr(np.random, st["bit_generator"])()
    bg.state = st
    return np.random.Generator(bg)


class Trainer:
    """Runs (and resumes) one training run; see :class:`TrainConfig`.

    ``out`` is the run folder: ``checkpoint.npz`` (weights, optimizer state,
    RNG states, metric history), ``metrics.csv`` / ``metrics.json``
    (loss per iteration; relative L2 every ``eval_every`` iterations and at
    the end) and ``config.json``.
    """

    def __init__(self, cfg: TrainConfig, out: str | Path | None = None, pde: PDE | None = None,
                 engine_factory=None):
        self.cfg = cfg.validate()
        overrides = {} if cfg.pairs is None else {"pairs": int(cfg.pairs)}
        if pde is None:
            pde = get_pde(cfg.pde, **overrides)
        else:
            for k, v in overrides.items():
                setattr(pde, k, v)
            pde.validate()
        self.pde = pde
        self.net = Network(pde.dim, pde.net.hidden, pde.net.activation, tt_rank=cfg.tt_rank, seed=cfg.seed)
        if cfg.mode == "float" and cfg.dtype == "float64":
            self.net.params = [p.astype(np.float64) for p in self.net.params]
        self.engine_factory = engine_factory or default_engine
        self.engine = self.engine_factory(cfg, pde, self.net)
        self.opt = self.engine.make_optimizer(self.net.params)
        # Host generators: points, float-mode δ, and test points, all derived from the seed.
        ss = np.random.SeedSequence(cfg.seed)
        s_points, s_delta, s_test = ss.spawn(3)
        self.rng_points = np.random.default_rng(s_points)
        self.rng_delta = np.random.default_rng(s_delta)
        self.test_seed = int(s_test.generate_state(1)[0])
        self.iteration = 0
        self.history: list[dict] = []
        self.evals: list[dict] = []
        self.out = None if out is None else Path(out)
        self.lr0 = pde.lr if cfg.lr is None else cfg.lr

    # ---- one step -------------------------------------------------------
    def sample_batch(self) -> Batch:
        p, r = self.pde, self.rng_points
        empty = np.zeros((0, p.dim))
        return Batch(
            np.asarray(p.sample_interior(r, p.n_interior), np.float64),
            np.asarray(p.sample_boundary(r, p.n_boundary), np.float64) if p.n_boundary else empty,
            np.asarray(p.sample_initial(r, p.n_initial), np.float64) if p.n_initial else empty,
        )

    def lr_at(self, it: int) -> float:
        """Linear decay: lr0 at iteration 0, reaching 0 after ``iters`` updates."""
        return self.lr0 * (1.0 - it / self.cfg.iters)

    def step(self) -> float:
        batch = self.sample_batch()
        delta = self.engine.deltas(self.rng_delta, len(batch.interior), self.iteration)
        loss, terms, grads = self.engine.loss_and_grads(batch, delta)
        if not math.isfinite(loss):
            raise FloatingPointError(f"loss is {loss} at iteration {self.iteration}: the run diverged")
        self.opt.step(self.net.params, grads, self.lr0, self.iteration, self.cfg.iters)
        self.history.append({"iter": self.iteration + 1, "loss": loss, **{f"loss_{k}": v for k, v in terms.items()},
                             "lr": self.lr_at(self.iteration)})
        self.iteration += 1
        return loss

    def evaluate(self) -> float | None:
        """Relative L2 of the model on ``n_test`` fresh points (a new draw per evaluation)."""
        if not self.pde.has_exact():
            return None
        rng = np.random.default_rng([self.test_seed, self.iteration])
        x = np.asarray(self.pde.sample_test(rng, self.cfg.n_test), np.float64)
        err = relative_l2(self.engine.predict(x), self.pde.exact(x))
        self.evals = [e for e in self.evals if e["iter"] != self.iteration]
        self.evals.append({"iter": self.iteration, "rel_l2": err})
        return err

    # ---- run with progress, checkpoints, resume -----------------------------
    def run(self, iters: int | None = None, *, progress: bool = True, stop_after: int | None = None) -> dict:
        """Train up to ``iters`` (default cfg.iters) total iterations.

        ``stop_after`` ends the call after that many iterations of this call
        (used by tests to simulate a killed run; a checkpoint is written).
        """
        total = self.cfg.iters if iters is None else iters
        from tqdm import tqdm

        bar = tqdm(total=total, initial=self.iteration, disable=not progress, desc=f"{self.pde.name} {self.cfg.mode}",
                   unit="it", dynamic_ncols=True)
        done_here = 0
        t0 = time.perf_counter()
        while self.iteration < total:
            loss = self.step()
            done_here += 1
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.3e}")
            if self.iteration % self.cfg.eval_every == 0 or self.iteration == total:
                err = self.evaluate()
                if err is not None:
                    bar.set_postfix(loss=f"{loss:.3e}", rel_l2=f"{err:.2e}")
            if self.out is not None and (self.iteration % self.cfg.ckpt_every == 0 or self.iteration == total):
                self.save()
            if stop_after is not None and done_here >= stop_after:
                break
        bar.close()
        elapsed = time.perf_counter() - t0
        if self.out is not None:
            self.save()
        return self.summary(elapsed / max(done_here, 1))

    def summary(self, sec_per_iter: float | None = None) -> dict:
        return {"pde": self.pde.name, "mode": self.cfg.mode, "iters": self.iteration,
                "final_loss": self.history[-1]["loss"] if self.history else None,
                "rel_l2": self.evals[-1]["rel_l2"] if self.evals else None,
                "compression_ratio": self.net.compression_ratio(), "n_params": self.net.n_params(),
                "sec_per_iter": sec_per_iter}

    # ---- persistence ------------------------------------------------------
    def save(self) -> None:
        """Write checkpoint and metrics atomically (temp file, then rename)."""
        self.out.mkdir(parents=True, exist_ok=True)
        arrays = {f"param/{n}": p for n, p in zip(self.net.param_names, self.net.params)}
        arrays.update({f"opt/{k}": v for k, v in self.opt.state().items()})
        meta = {"config": dataclasses.asdict(self.cfg), "iteration": self.iteration,
                "rng_points": _rng_state_json(self.rng_points), "rng_delta": _rng_state_json(self.rng_delta),
                "history": self.history, "evals": self.evals}
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
        tmp = self.out / "checkpoint.tmp.npz"
        np.savez(tmp, **arrays)
        os.replace(tmp, self.out / "checkpoint.npz")
        self._write_metrics()

    def _write_metrics(self) -> None:
        evals = {e["iter"]: e["rel_l2"] for e in self.evals}
        keys = sorted({k for h in self.history for k in h}, key=lambda k: (k != "iter", k))
        tmp = self.out / "metrics.csv.tmp"
        with open(tmp, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(keys + ["rel_l2"])
            for h in self.history:
                w.writerow([h.get(k, "") for k in keys] + [evals.get(h["iter"], "")])
        os.replace(tmp, self.out / "metrics.csv")
        doc = {"config": dataclasses.asdict(self.cfg), "summary": self.summary(), "history": self.history,
               "evals": self.evals}
        tmp = self.out / "metrics.json.tmp"
        tmp.write_text(json.dumps(doc, indent=1))
        os.replace(tmp, self.out / "metrics.json")

    @classmethod
    def resume(cls, out: str | Path, pde: PDE | None = None, **kwargs) -> "Trainer":
        """Rebuild a trainer from ``out/checkpoint.npz`` exactly where it stopped.

        ``kwargs`` go to the constructor (e.g. ``engine_factory``; a subclass's own options)."""
        path = Path(out) / "checkpoint.npz"
        if not path.exists():
            raise FileNotFoundError(f"no checkpoint at {path}")
        with np.load(path) as z:
            meta = json.loads(bytes(z["meta"]).decode())
            cfg = TrainConfig(**meta["config"])
            tr = cls(cfg, out, pde=pde, **kwargs)
            tr.net.set_state({n: z[f"param/{n}"] for n in tr.net.param_names})
            if cfg.dtype == "float64" and cfg.mode == "float":
                tr.net.params = [p.astype(np.float64) for p in tr.net.params]
            tr.opt.load({k[4:]: z[k] for k in z.files if k.startswith("opt/")})
        tr.iteration = meta["iteration"]
        tr.rng_points = _rng_from_json(meta["rng_points"])
        tr.rng_delta = _rng_from_json(meta["rng_delta"])
        tr.history, tr.evals = meta["history"], meta["evals"]
        return tr
