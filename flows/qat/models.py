"""FNO (1D, 2D) and UNet-lite (1D) in NumPy with manual gradients.

Shapes: input ``x`` (B, N) in 1D or (B, N1, N2) in 2D (one input field:
Burgers u0, Darcy a); output the same shape (Burgers u(T), Darcy u), in
units of the target divided by ``y_scale`` inside the network and multiplied
back at the end (a float scale in PINTA's vector unit).

Every model exposes ``gemm_layers()`` (the layers whose GEMMs are quantized),
``set_scenario(name, head16)``, ``forward(x, ctx)``/``backward(g)``,
``params()``, ``quantizers()`` and ``gemm_list()`` (every GEMM of a
single-sample inference, for BOPs now and PINTA cycles/energy later).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .layers import Conv1d, Conv2d, Ctx, Dense, Gemm, Spectral, gelu
from .quant import ActQuant, check_scenario, policy


class Model:
    arch = "?"

    def __init__(self):
        self.oq = ActQuant()
        self.scenario = "fp32"
        self.head16 = True
        self.y_scale = 1.0

    # ------------------------------------------------------------------ bookkeeping
    def gemm_layers(self):
        raise NotImplementedError

    def set_scenario(self, scenario: str, head16: bool = True) -> None:
        """Set the quantization of every GEMM (and of the output) from the scenario policy."""
        check_scenario(scenario)
        self.scenario, self.head16 = scenario, head16
        for layer in self.gemm_layers():
            q = policy(scenario, layer.role, head16)
            if isinstance(layer, Spectral):
                layer.set_q(q, policy(scenario, "basis", head16))
            else:
                layer.set_q(q)
        qo = policy(scenario, "out", head16)
        self.oq.bits = qo.a_bits if qo.kind == "int" else None

    def params(self) -> dict:
        out = {}
        for layer in self.gemm_layers():
            for k, p in layer.params.items():
                out[f"{layer.name}.{k}"] = p
        return out

    def range_params(self) -> dict:
        """The learned activation-range bounds (empty unless :meth:`learn_ranges` was called)."""
        return {f"range:{k}.{b}": getattr(q, f"p_{b}") for k, q in self.quantizers().items() if q.learn
                for b in ("lo", "hi")}

    def learn_ranges(self, lr_scale: float = 30.0) -> int:
        """Make every calibrated activation range trainable; returns how many quantizers learn."""
        return sum(bool(q.learn_ranges(lr_scale)) for q in self.quantizers().values())

    def quantizers(self) -> dict:
        out = {"out": self.oq}
        for layer in self.gemm_layers():
            out.update(layer.quantizers())
        return out

    def zero_grad(self):
        for p in (self.params() | self.range_params()).values():
            p.grad[...] = 0

    def state(self) -> dict:
        return {"params": {k: p.value.copy() for k, p in self.params().items()},
                "quant": {k: q.state() for k, q in self.quantizers().items()}}

    def load(self, st: dict) -> None:
        for k, p in self.params().items():
            p.value = np.array(st["params"][k], dtype=np.float32)
            p.grad = np.zeros_like(p.value)
        for k, q in self.quantizers().items():
            if k in st.get("quant", {}):
                q.load(st["quant"][k])

    def reset_ranges(self):
        for q in self.quantizers().values():
            q.reset()

    # ------------------------------------------------------------------ output
    def _out(self, y, ctx):
        self._omask = None
        if self.oq.bits is not None and ctx.engine != "float":
            if ctx.engine == "fake":
                y, self._omask = self.oq.fake(y, ctx.training)
            else:
                c, s = self.oq.codes(y)
                y = (c * s).astype(y.dtype)
        return y

    def _out_back(self, g):
        if self._omask is None:
            return g
        self.oq.range_grad(g)
        return g * self._omask

    def predict(self, x, engine="fake", batch=64):
        """Inference in physical units; x (S, *grid) -> (S, *grid)."""
        ctx = Ctx("float" if self.scenario == "fp32" else engine)
        return np.concatenate([self.forward(x[i:i + batch], ctx) for i in range(0, len(x), batch)]) * self.y_scale

    def epilogue(self, name: str) -> tuple:
        """Element-wise work on GEMM ``name``'s output (PINTA's vector unit); see layers.Gemm.post."""
        return ()

    def gemm_list(self, grid: tuple[int, ...]) -> list[Gemm]:
        """Every GEMM of one single-sample inference under the current scenario."""
        gemms: list[Gemm] = []
        self.forward(np.zeros((1, *grid), np.float64), Ctx("float", gemms=gemms))
        return [replace(g, post=self.epilogue(g.name)) for g in gemms]

    def macs(self, grid) -> int:
        return sum(g.macs for g in self.gemm_list(grid))

    def bops(self, grid) -> int:
        """BOPs = sum over GEMMs of MACs x w_bits x a_bits (a float operand counts 32)."""
        return sum(g.bops for g in self.gemm_list(grid))


def _grid_channels(shape):
    """Normalized coordinates in [0, 1) as extra input channels: (*shape, ndim)."""
    axes = [np.arange(n) / n for n in shape]
    return np.stack(np.meshgrid(*axes, indexing="ij"), -1)


class FNO(Model):
    """Fourier neural operator (PDEBench layout): lift, L spectral blocks (+1x1 path), head.

    v = lift([x, grid]); v <- GELU(K_l v + W_l v + b_l) (no GELU after the last
    block); y = fc2(GELU(fc1(v))). ``shape``: the grid (N,) or (N1, N2).
    """

    arch = "fno"

    def __init__(self, shape, width=32, modes=16, n_layers=4, head=128, seed=0):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.shape = tuple(shape)
        nd = len(self.shape)
        self.width, self.modes, self.n_layers = width, modes, n_layers
        self.lift = Dense("lift", 1 + nd, width, rng)
        self.spec = [Spectral(f"spec{l}", width, modes, self.shape, rng) for l in range(n_layers)]
        self.pw = [Dense(f"pw{l}", width, width, rng) for l in range(n_layers)]
        self.fc1 = Dense("fc1", width, head, rng)
        self.fc2 = Dense("fc2", head, 1, rng, role="head_out")
        self.grid = _grid_channels(self.shape).astype(np.float32)

    def gemm_layers(self):
        return [self.lift, *self.spec, *self.pw, self.fc1, self.fc2]

    def epilogue(self, name):
        if name == "lift":
            return ("bias",)
        if name.startswith("pw"):   # z = K v + (W v + b), then GELU but after the last block
            return ("bias", "residual") + (("gelu",) if int(name[2:]) < self.n_layers - 1 else ())
        return {"fc1": ("bias", "gelu"), "fc2": ("bias", "scale")}.get(name, ())

    def forward(self, x, ctx: Ctx):
        B = x.shape[0]
        h = np.concatenate([x[..., None], np.broadcast_to(self.grid, (B, *self.grid.shape)).astype(x.dtype)], -1)
        v = self.lift.forward(h, ctx)
        self._d = []
        for l in range(self.n_layers):
            z = self.spec[l].forward(v, ctx) + self.pw[l].forward(v, ctx)
            if l < self.n_layers - 1:
                v, d = gelu(z)
            else:
                v, d = z, None
            self._d.append(d)
        a, self._d1 = gelu(self.fc1.forward(v, ctx))
        y = self.fc2.forward(a, ctx)[..., 0]
        return self._out(y, ctx)

    def backward(self, g):
        g = self._out_back(g)[..., None]
        g = self.fc1.backward(self.fc2.backward(g) * self._d1)
        for l in reversed(range(self.n_layers)):
            if self._d[l] is not None:
                g = g * self._d[l]
            g = self.spec[l].backward(g) + self.pw[l].backward(g)
        self.lift.backward(g)


class UNet(Model):
    """UNet-lite in 1D or 2D, three levels, ``width`` base features (16 in the spec).

    Two 3-conv (3x3 in 2D) + GELU per level; average pooling down (2 or 2x2);
    nearest upsampling + a conv up; skip connections by concatenation; a 1x1
    head. Every side divisible by 4. 1D pads circularly (periodic Burgers), 2D
    with zeros (Darcy has walls).
    """

    arch = "unet"

    def __init__(self, shape, width=16, seed=0, pad="circular"):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.shape = tuple(shape)
        self.nd = len(self.shape)
        if any(n % 4 for n in self.shape):
            raise ValueError(f"UNet needs every side divisible by 4 (got {self.shape})")
        f = self.width = width

        def conv(name, a, b):
            return Conv1d(name, a, b, rng, pad=pad) if self.nd == 1 else Conv2d(name, a, b, rng)

        self.c1 = [conv("e1a", 1, f), conv("e1b", f, f)]
        self.c2 = [conv("e2a", f, 2 * f), conv("e2b", 2 * f, 2 * f)]
        self.c3 = [conv("bna", 2 * f, 4 * f), conv("bnb", 4 * f, 4 * f)]
        self.u2 = conv("up2", 4 * f, 2 * f)
        self.d2 = [conv("d2a", 4 * f, 2 * f), conv("d2b", 2 * f, 2 * f)]
        self.u1 = conv("up1", 2 * f, f)
        self.d1 = [conv("d1a", 2 * f, f), conv("d1b", f, f)]
        self.head = Dense("head", f, 1, rng, role="head_out")

    def gemm_layers(self):
        return [*self.c1, *self.c2, *self.c3, self.u2, *self.d2, self.u1, *self.d1, self.head]

    def epilogue(self, name):
        if name == "head":
            return ("bias", "scale")
        return ("bias", "gelu") + ((f"pool{self.nd}",) if name in ("e1b", "e2b") else ())

    def _block(self, convs, x, ctx, tape):
        for c in convs:
            x, d = gelu(c.forward(x, ctx))
            tape.append((c, d))
        return x

    def _pool(self, x):
        if self.nd == 1:
            B, n, c = x.shape
            return x.reshape(B, n // 2, 2, c).mean(2)
        B, n1, n2, c = x.shape
        return x.reshape(B, n1 // 2, 2, n2 // 2, 2, c).mean((2, 4))

    def _pool_back(self, g):
        if self.nd == 1:
            return np.repeat(g, 2, axis=1) / 2
        return np.repeat(np.repeat(g, 2, axis=1), 2, axis=2) / 4

    def _up(self, x):
        for ax in range(1, 1 + self.nd):
            x = np.repeat(x, 2, axis=ax)
        return x

    def _up_back(self, g):   # adjoint of the nearest upsampling: sum over each 2 (2x2) cell
        if self.nd == 1:
            return g.reshape(g.shape[0], -1, 2, g.shape[-1]).sum(2)
        B, n1, n2, c = g.shape
        return g.reshape(B, n1 // 2, 2, n2 // 2, 2, c).sum((2, 4))

    def forward(self, x, ctx: Ctx):
        t1, t2, t3, tu2, td2, tu1, td1 = [], [], [], [], [], [], []
        e1 = self._block(self.c1, x[..., None], ctx, t1)
        e2 = self._block(self.c2, self._pool(e1), ctx, t2)
        b = self._block(self.c3, self._pool(e2), ctx, t3)
        up = self._block([self.u2], self._up(b), ctx, tu2)
        d2 = self._block(self.d2, np.concatenate([up, e2], -1), ctx, td2)
        up = self._block([self.u1], self._up(d2), ctx, tu1)
        d1 = self._block(self.d1, np.concatenate([up, e1], -1), ctx, td1)
        self._tapes = (t1, t2, t3, tu2, td2, tu1, td1)
        y = self.head.forward(d1, ctx)[..., 0]
        return self._out(y, ctx)

    @staticmethod
    def _back(tape, g):
        for c, d in reversed(tape):
            g = c.backward(g * d)
        return g

    def backward(self, g):
        t1, t2, t3, tu2, td2, tu1, td1 = self._tapes
        f = self.width
        g = self.head.backward(self._out_back(g)[..., None])
        g = self._back(td1, g)                       # d(concat[up1, e1])
        g_e1 = g[..., f:]
        g = self._up_back(self._back(tu1, g[..., :f]))
        g = self._back(td2, g)
        g_e2 = g[..., 2 * f:]
        g = self._up_back(self._back(tu2, g[..., :2 * f]))
        g = self._back(t3, g)
        g = self._back(t2, self._pool_back(g) + g_e2)
        self._back(t1, self._pool_back(g) + g_e1)


UNet1d = UNet   # the 1D name used before the 2D variant existed


def build(arch: str, shape, width: int, modes: int = 16, seed: int = 0) -> Model:
    """A model by name: 'fno' (1D or 2D by len(shape)) or 'unet' (1D)."""
    if arch == "fno":
        m = min(modes, min(shape) // 2 - 1)   # no Nyquist bin; coarse grids keep fewer modes
        return FNO(shape, width=width, modes=m, seed=seed)
    if arch == "unet":
        return UNet(shape, width=width, seed=seed, pad="circular" if len(shape) == 1 else "zero")
    raise ValueError(f"unknown architecture {arch!r} (fno, unet)")
