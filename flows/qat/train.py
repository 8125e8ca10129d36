"""Training: Adam, FP pre-training, PTQ calibration, QAT fine-tuning, nRMSE.

Loss: mean squared error on targets divided by ``model.y_scale`` (the RMS of
the training targets), so the loss is O(1) for every dataset.
"""

from __future__ import annotations

import numpy as np
from tqdm import tqdm

from .layers import Ctx
from .models import Model


class Adam:
    """Plain Adam (Kingma & Ba) on float32 parameters; ``lr`` may change between steps."""

    def __init__(self, params: dict, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
        self.params, self.lr, self.b1, self.b2, self.eps = params, lr, b1, b2, eps
        self.m = {k: np.zeros_like(p.value) for k, p in params.items()}
        self.v = {k: np.zeros_like(p.value) for k, p in params.items()}
        self.t = 0

    def step(self):
        self.t += 1
        c1, c2 = 1 - self.b1 ** self.t, 1 - self.b2 ** self.t
        for k, p in self.params.items():
            g = p.grad
            self.m[k] = self.b1 * self.m[k] + (1 - self.b1) * g
            self.v[k] = self.b2 * self.v[k] + (1 - self.b2) * g * g
            lr = self.lr * getattr(p, "lr_scale", 1.0)
            p.value -= (lr * (self.m[k] / c1) / (np.sqrt(self.v[k] / c2) + self.eps)).astype(p.value.dtype)


def nrmse(pred: np.ndarray, true: np.ndarray) -> float:
    """PDEBench nRMSE: per sample sqrt(mean((p-t)^2)) / sqrt(mean(t^2)), then the mean."""
    ax = tuple(range(1, true.ndim))
    return float(np.mean(np.sqrt(np.mean((pred - true) ** 2, axis=ax)) / np.sqrt(np.mean(true ** 2, axis=ax))))


def _epochs(model: Model, x, y, epochs, lr0, lr1, engine, batch, seed, desc, progress):
    """Adam over ``epochs`` with a cosine learning rate from lr0 to lr1; returns the last epoch's loss."""
    rng = np.random.default_rng(seed)
    opt = Adam(model.params() | model.range_params(), lr0)
    n = len(x)
    steps = epochs * (-(-n // batch))
    t = 0
    loss = float("nan")
    yt = y / model.y_scale
    bar = tqdm(range(epochs), desc=desc, disable=not progress, leave=False, unit="ep")
    for _ in bar:
        perm = rng.permutation(n)
        tot = 0.0
        for i in range(0, n, batch):
            idx = perm[i:i + batch]
            opt.lr = lr1 + 0.5 * (lr0 - lr1) * (1 + np.cos(np.pi * t / max(1, steps - 1)))
            ctx = Ctx(engine, training=True)
            out = model.forward(x[idx], ctx)
            r = out - yt[idx]
            tot += float(np.sum(r * r))
            model.zero_grad()
            model.backward((2.0 / r.size) * r)
            opt.step()
            t += 1
        loss = tot / yt.size
        bar.set_postfix(loss=f"{loss:.3g}")
    return loss


def train_fp(model: Model, x, y, epochs=40, lr=3e-3, lr_final=3e-4, batch=32, seed=0, progress=True):
    """FP32 training; sets ``model.y_scale``; returns the final training loss."""
    model.set_scenario("fp32")
    model.y_scale = float(np.sqrt(np.mean(y ** 2)))
    return _epochs(model, x, y, epochs, lr, lr_final, "float", batch, seed, "fp", progress)


def calibrate(model: Model, x, batches=8, batch=32):
    """PTQ: reset the activation ranges and fill their EMA from forward passes (no weight update)."""
    model.reset_ranges()
    for i in range(min(batches, -(-len(x) // batch))):
        model.forward(x[i * batch:(i + 1) * batch], Ctx("fake", training=True))


def qat(model: Model, x, y, epochs=10, lr=6e-5, batch=32, seed=1, progress=True, learn_ranges=False):
    """QAT fine-tuning at a cosine lr (lr -> lr/10); activation ranges keep tracking by EMA, or,
    with ``learn_ranges``, are trained from the calibrated values (ActQuant.learn_ranges)."""
    if learn_ranges:
        model.learn_ranges()
    return _epochs(model, x, y, epochs, lr, lr / 10, "fake", batch, seed, f"qat {model.scenario}", progress)


def evaluate(model: Model, x, y, engine="fake") -> tuple[float, np.ndarray]:
    """(nRMSE, predictions) at the model's own resolution."""
    p = model.predict(x, engine=engine)
    return nrmse(p, y), p
