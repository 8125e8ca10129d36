"""Issue 5's program check: one complete training iteration of a small PINN, compiled to PINTA programs
(flows/compiler.py) and run on the machine with every buffer read decoded and checked against the value
written there, equals one golden quantized iteration (QuantizedEngine + QuantizedAdam) bit for bit."""

import numpy as np
import pytest

from pinta.config import load_config
from pinta.golden.pde import NetSpec, Poisson2D
from pinta.golden.training import Trainer, TrainConfig
from pinta.sim.machine import Machine
from pinta.sim.program import analyze

runner = pytest.importorskip("pinta.flows.runner")


def test_one_training_iteration_of_a_small_pinn_equals_golden():
    cfg = load_config("tiny")
    pde = lambda: Poisson2D(n_interior=4, n_boundary=4, pairs=4).validate()  # noqa: E731
    small = []
    for _ in range(2):
        p = pde()
        p.net = NetSpec((8, 8), "tanh")
        small.append(p)
    tc = TrainConfig(pde="poisson2d", mode="quantized", iters=1, seed=11, tt_rank=None)
    g = Trainer(tc, None, pde=small[0])
    s = runner.SimTrainer(tc, None, pde=small[1], sim_config=cfg)
    s.machine = Machine(cfg, check_layout=True)
    assert g.step() == s.step()
    for name, a, b in zip(g.net.param_names, g.net.params, s.net.params):
        assert np.array_equal(a.view(np.uint32), b.view(np.uint32)), name

    ip = s.programs
    progs = [ip.rng_program(0), ip.forward, ip.backward, ip.adam_program(0)]
    used = {ins.mnemonic for p in progs for ins in p}
    # The iteration exercises the on-chip pieces: δ sampling, DiffQuant GEMMs in all three precisions' roles,
    # activations and their derivatives, per-point reductions, gradient read-out and Adam.
    assert {"RNG", "GEMM", "QUANT", "ACCF", "VTANH", "VDTANH", "VADDB", "VSUBB", "VMULB", "VRED", "VSUM", "ADAM"} <= used
    an = [analyze(p, cfg) for p in progs]
    assert sum(a.total_cycles for a in an) == s.sim_iterations[-1]["cycles"]
    modes = {k for a in an for k in a.actions if k.startswith("mac_")}
    assert modes == {"mac_i8x8", "mac_i12x8"}  # forward INT8×INT8; backward INT12 gradients × INT8
