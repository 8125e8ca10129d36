"""Seeded Stein-path inputs for the DiffQuant tests (shared by pytest and cocotb)."""

from __future__ import annotations

import numpy as np


def stein_points(rng: np.random.Generator, n: int, k: int, d: int):
    """n points (du_plus[K], du_minus[K], delta[K,D], sigma), float32.

    σ spans 1e-3..1; du± scales span 1e-4..1e3; every 8th point has
    du- = -du+ (pair sums exactly 0, signed zeros), every 8th+1 du- = du+
    (differences exactly 0), every 8th+2 mixes ±0 and subnormal du values."""
    pts = []
    for t in range(n):
        sigma = np.float32(10 ** rng.uniform(-3, 0))
        scale = 10.0 ** rng.uniform(-4, 3)
        dp = (rng.standard_normal(k) * scale).astype(np.float32)
        dm = (rng.standard_normal(k) * scale).astype(np.float32)
        if t % 8 == 0:
            dm = -dp
        elif t % 8 == 1:
            dm = dp.copy()
        elif t % 8 == 2:
            choices = np.array([0.0, -0.0, 1e-45, -1e-45, 1e-40], dtype=np.float32)
            dp = choices[rng.integers(0, len(choices), k)]
            dm = choices[rng.integers(0, len(choices), k)]
        delta = (rng.standard_normal((k, d)) * sigma).astype(np.float32)
        pts.append((dp, dm, delta, sigma))
    return pts
