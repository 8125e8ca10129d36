"""Layers with manual gradients, each runnable in three engines.

Engines (set on :class:`Ctx`):

- ``float``: plain floating point (the fp32 scenario and FP pre-training).
  Spectral layers use ``np.fft.rfft``/``rfft2`` and their adjoints.
- ``fake``: fake quantization (quantize-dequantize) of every GEMM operand,
  with STE gradients. Spectral layers become truncated DFTs written as
  matmuls with quantized DFT matrices, exactly as the integer model runs them.
- ``int``: the integer inference model. Every GEMM multiplies integer codes
  (int scenarios) or golden SMX tensors (``pinta.golden.smx.smx_matmul``); the
  scales, bias, GELU and residual adds run in floating point, which is PINTA's
  vector unit. No backward.

Tensors are channels-last: (B, N, C) in 1D, (B, N1, N2, C) in 2D, float32 in
training (float64 works too: layers follow the input dtype).

Every GEMM is recorded, when ``ctx.gemms`` is a list, as a :class:`Gemm`
(per sample, M x K times K x N, ``count`` times), which is the interface for
PINTA cycle/energy costs later.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import erf

from .quant import ActQuant, GemmQ, fake_weight, golden_smx, smx_fake, weight_codes


@dataclass(frozen=True)
class Gemm:
    """One GEMM of a single-sample inference: (M x K) @ (K x N), ``count`` times.

    ``w_bits``/``a_bits``: operand widths (32 = floating point). ``kind``:
    'float' | 'int' | 'smx'. MACs = M*K*N*count.
    """

    name: str
    M: int
    K: int
    N: int
    w_bits: int
    a_bits: int
    kind: str
    count: int = 1
    #: operand roles on PINTA: 'dense' (A = activation, B = weight), 'basis' (A = constant DFT
    #: matrix, B = activation), 'mix' (A = one mode of one sample, 1 x K; B = that mode's weight)
    op: str = "dense"
    #: element-wise work on the output in the vector unit (set by Model.gemm_list): 'bias',
    #: 'residual', 'gelu', 'scale', 'pool'
    post: tuple = ()

    @property
    def macs(self) -> int:
        return self.M * self.K * self.N * self.count

    @property
    def bops(self) -> int:
        return self.macs * self.w_bits * self.a_bits


class Ctx:
    """Forward-pass context: engine, training flag, optional GEMM recorder."""

    def __init__(self, engine: str = "float", training: bool = False, gemms: list | None = None,
                 smx_matmul=None, int_matmul=None):
        if engine not in ("float", "fake", "int"):
            raise ValueError(f"unknown engine {engine!r}")
        self.engine, self.training, self.gemms = engine, training, gemms
        #: the SMX GEMM of the integer model: (SMXTensor a, SMXTensor b) -> SMXAccumulator.
        #: None = golden ``smx_matmul``; tests plug in the PINTA simulator (flows/qat/onchip.py).
        self.smx_matmul = smx_matmul
        #: the integer GEMM of the INT scenarios: int64 codes (..., M, K), (..., K, N) -> exact
        #: float64 product. None = :func:`int_matmul`; tests plug in the simulator (onchip.sim_int_matmul).
        self.int_matmul = int_matmul

    def matmul_smx(self, a, b):
        if self.smx_matmul is not None:
            return self.smx_matmul(a, b)
        return _need_golden().smx_matmul(a, b)

    def matmul_int(self, a, b):
        if self.int_matmul is not None:
            return self.int_matmul(a, b)
        return int_matmul(a, b)

    def record(self, name, M, K, N, q: GemmQ, count=1, op="dense"):
        if self.gemms is not None:
            wb, ab = q.cost_bits
            self.gemms.append(Gemm(name, int(M), int(K), int(N), wb, ab, q.kind, int(count), op))


def int_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Exact integer product of int64 code arrays (broadcasting matmul), as float64.

    Uses float64 BLAS when every partial sum is provably below 2^53 (then the
    float result is the exact integer), else int64 matmul (slow but exact).
    """
    bound = float(np.abs(a).max(initial=0)) * float(np.abs(b).max(initial=0)) * a.shape[-1]
    if bound < 2.0 ** 53:
        return np.matmul(a.astype(np.float64), b.astype(np.float64))
    return np.matmul(a, b).astype(np.float64)


def _need_golden():
    smx = golden_smx()
    if smx is None:
        raise RuntimeError("the SMX integer model needs pinta.golden.smx (smx_quantize, smx_matmul)")
    return smx


class Param:
    """A parameter and its gradient."""

    def __init__(self, value: np.ndarray):
        self.value = value
        self.grad = np.zeros_like(value)


class Layer:
    """Base: named parameters, a GEMM quantization setting and an input quantizer."""

    role = "hidden"

    def __init__(self, name: str):
        self.name = name
        self.q = GemmQ()
        self.aq = ActQuant()
        self.params: dict[str, Param] = {}

    def set_q(self, q: GemmQ) -> None:
        self.q = q
        self.aq.bits = q.a_bits if q.kind == "int" else None

    def quantizers(self) -> dict[str, ActQuant]:
        return {self.name: self.aq}


class Dense(Layer):
    """y = x @ W + b over the last axis. x (..., K) -> (..., N). W (K, N), b (N,)."""

    def __init__(self, name, k, n, rng, role="hidden", gain=1.0, bias=True):
        super().__init__(name)
        self.role = role
        self.params["W"] = Param((rng.standard_normal((k, n)) * gain / np.sqrt(k)).astype(np.float32))
        self.params["b"] = Param(np.zeros(n, np.float32)) if bias else None
        if not bias:
            del self.params["b"]
        self.k, self.n = k, n

    def forward(self, x, ctx: Ctx):
        W = self.params["W"].value.astype(x.dtype, copy=False)
        lead = x.shape[:-1]
        x2 = x.reshape(-1, self.k)
        q, eng = self.q, ctx.engine
        ctx.record(self.name, x2.shape[0] // max(1, lead[0] if lead else 1), self.k, self.n, q)
        mask = None
        if q.kind == "float" or eng == "float":
            xq, Wq = x2, W
            y = xq @ Wq
        elif eng == "fake" and q.kind == "int":
            qw, sw = weight_codes(W, q.w_bits, (0,))
            Wq = (qw * sw).astype(x.dtype)
            if q.a_bits is None:
                xq = x2
                y = x2 @ Wq
            else:   # product of codes, scaled after: the integer model's arithmetic
                xc, sa, mask = self.aq.fake_codes(x2, ctx.training)
                xq = xc * x.dtype.type(sa)
                y = (xc @ qw.astype(x.dtype)) * (sa * sw).astype(x.dtype)
        elif eng == "fake":  # smx
            xq, Wq = smx_fake(x2, q.a_bits), smx_fake(W, q.w_bits)
            y = xq @ Wq
        elif q.kind == "int":
            qw, sw = weight_codes(W, q.w_bits, (0,))
            if q.a_bits is None:        # w8a32: float activations times exact weight values
                y = x2 @ (qw * sw).astype(x.dtype)
            else:
                qa, sa = self.aq.codes(x2)
                y = ctx.matmul_int(qa, qw) * (sa * sw)
            xq = Wq = None
        else:
            smx = _need_golden()
            A = smx.smx_quantize(x2.astype(np.float64), q.a_bits)
            B = smx.smx_quantize(W.astype(np.float64), q.w_bits)
            y = ctx.matmul_smx(A, B).to_float()
            xq = Wq = None
        if "b" in self.params:
            y = y + self.params["b"].value
        y = y.astype(x.dtype, copy=False)
        self._cache = (xq, Wq, mask, x.shape)
        return y.reshape(*lead, self.n)

    def backward(self, g):
        xq, Wq, mask, xshape = self._cache
        g2 = g.reshape(-1, self.n)
        self.params["W"].grad += (xq.T @ g2).astype(np.float32)
        if "b" in self.params:
            self.params["b"].grad += g2.sum(0).astype(np.float32)
        gx = g2 @ Wq.T
        if mask is not None:
            self.aq.range_grad(gx)
            gx = gx * mask
        return gx.reshape(xshape)


class Basis(Layer):
    """A fixed matrix applied along one axis: y[..., j, ...] = sum_n B[j, n] x[..., n, ...].

    B (J, n) is a constant (a truncated DFT or its inverse); in quantized
    engines it is quantized like a weight (per row) and x like an activation.
    The GEMM is B (J x n) @ X (n x C_rest) per sample; for SMX the activation
    blocks are taken over (n, channels).
    """

    role = "basis"

    def __init__(self, name, B: np.ndarray, axis: int):
        super().__init__(name)
        self.B = B.astype(np.float64)
        self.axis = axis
        self._Bq = {}

    def _move(self, x):
        return np.moveaxis(x, self.axis, -2)   # (..., n, C)

    def _back(self, y):
        return np.moveaxis(y, -2, self.axis)

    def forward(self, x, ctx: Ctx):
        q, eng = self.q, ctx.engine
        xm = self._move(x)
        J, n = self.B.shape
        rest = int(np.prod(xm.shape[1:-2])) * xm.shape[-1]
        ctx.record(self.name, J, n, rest, q, op="basis")
        mask = None
        if q.kind == "float" or eng == "float":
            Bq = self.B.astype(x.dtype)
            xq = xm
            y = Bq @ xq
        elif eng == "fake":
            key = (q.kind, q.w_bits, x.dtype)
            if key not in self._Bq:    # the basis is constant: quantize once
                Bq = fake_weight(self.B, q.w_bits, (1,)) if q.kind == "int" else smx_fake(self.B, q.w_bits)
                self._Bq[key] = Bq.astype(x.dtype)
            Bq = self._Bq[key]
            if q.kind == "int" and q.a_bits is not None:
                qb, sb = weight_codes(self.B, q.w_bits, (1,))
                xc, sa, mask = self.aq.fake_codes(xm, ctx.training)
                y = (qb.astype(x.dtype) @ xc) * (sb * sa).astype(x.dtype)
                xq = None
            else:
                xq = xm if q.kind == "int" else smx_fake(xm, q.a_bits)
                y = Bq @ xq
        elif q.kind == "int":
            qb, sb = weight_codes(self.B, q.w_bits, (1,))
            if q.a_bits is None:
                y = (qb * sb).astype(x.dtype) @ xm
            else:
                qx, sx = self.aq.codes(xm)
                y = ctx.matmul_int(qb, qx) * (sb * sx)
            Bq = xq = None
        else:
            smx = _need_golden()
            Bt = smx.smx_quantize(self.B, q.w_bits)
            flat = xm.reshape(-1, n, xm.shape[-1])
            y = np.stack([ctx.matmul_smx(Bt, smx.smx_quantize(f.astype(np.float64), q.a_bits)).to_float()
                          for f in flat]).reshape(*xm.shape[:-2], J, xm.shape[-1])
            Bq = xq = None
        self._cache = (Bq, mask)
        return self._back(y.astype(x.dtype, copy=False))

    def backward(self, g):
        Bq, mask = self._cache
        gx = Bq.T @ self._move(g)
        if mask is not None:
            self.aq.range_grad(gx)
            gx = gx * mask
        return self._back(gx)


class ModeMix(Layer):
    """Complex per-mode channel mixing Y_k = X_k W_k, written as a real GEMM per mode.

    Input Z (B, Mtot, 2C) = [Re X | Im X] along channels; weights Wr, Wi
    (Mtot, C, C); Wbig_k = [[Wr, Wi], [-Wi, Wr]] (2C x 2C) so that
    [Re Y | Im Y] = [Re X | Im X] Wbig_k. Weight quantization is per (mode,
    output column), which gives Re and Im of one output channel one scale.
    For SMX, the activation blocks are per (sample, mode) row (1 x 2C, padded to 4 rows): the
    A operand of that mode's GEMM on PINTA, independent of the batch.
    """

    def __init__(self, name, n_modes, c, rng):
        super().__init__(name)
        scale = 1.0 / c
        self.params["Wr"] = Param((scale * rng.uniform(-1, 1, (n_modes, c, c))).astype(np.float32))
        self.params["Wi"] = Param((scale * rng.uniform(-1, 1, (n_modes, c, c))).astype(np.float32))
        self.c, self.m = c, n_modes

    def wbig(self, dtype):
        Wr, Wi = self.params["Wr"].value.astype(dtype), self.params["Wi"].value.astype(dtype)
        return np.concatenate([np.concatenate([Wr, Wi], -1), np.concatenate([-Wi, Wr], -1)], -2)

    def forward(self, z, ctx: Ctx):
        q, eng = self.q, ctx.engine
        W = self.wbig(z.dtype)
        ctx.record(self.name, 1, 2 * self.c, 2 * self.c, q, count=self.m, op="mix")
        mask = None
        if q.kind == "float" or eng == "float":
            zq, Wq = z, W
        elif eng == "fake":
            if q.kind == "int":
                qw, sw = weight_codes(W, q.w_bits, (-2,))
                Wq = (qw * sw).astype(z.dtype)
                if q.a_bits is None:
                    zq = z
                else:   # product of codes, scaled after (see Dense)
                    zc, sz, mask = self.aq.fake_codes(z, ctx.training)
                    y = (np.matmul(zc.transpose(1, 0, 2), qw.astype(z.dtype)) * (sz * sw).astype(z.dtype))
                    self._cache = (zc * z.dtype.type(sz), Wq, mask)
                    return y.transpose(1, 0, 2)
            else:   # SMX blocks of one (sample, mode) row: the 1 x 2C operand of that mode's GEMM
                zq, Wq = smx_fake(z[:, :, None, :], q.a_bits)[:, :, 0, :], smx_fake(W, q.w_bits)
        elif q.kind == "int":
            qw, sw = weight_codes(W, q.w_bits, (-2,))
            if q.a_bits is None:
                y = np.matmul(z.transpose(1, 0, 2), (qw * sw).astype(z.dtype)).transpose(1, 0, 2)
            else:
                qz, sz = self.aq.codes(z)
                y = (ctx.matmul_int(qz.transpose(1, 0, 2), qw) * (sz * sw)).transpose(1, 0, 2)
            self._cache = None
            return y.astype(z.dtype)
        else:
            # One SMX GEMM per (sample, mode): (1 x 2C) @ (2C x 2C), as PINTA runs it.
            smx = _need_golden()
            Wt = [smx.smx_quantize(w.astype(np.float64), q.w_bits) for w in W]
            y = np.empty(z.shape, np.float64)
            for b in range(z.shape[0]):
                for k in range(self.m):
                    a = smx.smx_quantize(z[b, k:k + 1].astype(np.float64), q.a_bits)
                    y[b, k] = ctx.matmul_smx(a, Wt[k]).to_float()[0]
            self._cache = None
            return y.astype(z.dtype)
        y = np.matmul(zq.transpose(1, 0, 2), Wq).transpose(1, 0, 2)   # (B, M, 2C)
        self._cache = (zq, Wq, mask)
        return y

    def backward(self, g):
        zq, Wq, mask = self._cache
        gt = g.transpose(1, 0, 2)
        gW = np.matmul(zq.transpose(1, 2, 0), gt)                    # (M, 2C, 2C)
        c = self.c
        self.params["Wr"].grad += (gW[:, :c, :c] + gW[:, c:, c:]).astype(np.float32)
        self.params["Wi"].grad += (gW[:, :c, c:] - gW[:, c:, :c]).astype(np.float32)
        gz = np.matmul(gt, Wq.transpose(0, 2, 1)).transpose(1, 0, 2)
        if mask is not None:
            self.aq.range_grad(gz)
            gz = gz * mask
        return gz


def dft_matrices(n: int, k: np.ndarray):
    """cos and sin of 2 pi k j / n: two (len(k), n) arrays."""
    ang = 2 * np.pi * np.outer(k, np.arange(n)) / n
    return np.cos(ang), np.sin(ang)


class Spectral(Layer):
    """FNO spectral convolution in 1D or 2D: keep the lowest modes, mix channels per mode.

    1D: x (B, N, C); modes k = 0..m-1 of rfft. 2D: x (B, N1, N2, C); modes
    kx in [0, m) U [N1-m, N1), ky in [0, m) of rfft2. Requires m < N/2 so
    that no Nyquist bin is kept.

    float engine: rfft/rfft2 -> per-mode complex mixing -> irfft/irfft2; the
    backward uses the adjoints: of the truncated rfft, v -> Re(N ifft(g));
    of irfft, g -> (c_k / N) rfft(g) with c_0 = 1 and c_k = 2 otherwise (the
    same with N1 N2 and c_ky in 2D).

    fake/int engines: the same maps as real matmuls with fixed DFT matrices
    (layers ``Basis``), each input re-quantized, so that the integer model is
    all GEMMs: 1D: [Re X; Im X] = F v, Y = mix(X), out = G [Re Y; Im Y].
    2D (separable): along y a real truncated DFT, along x a complex one on the
    stacked [Re; Im], the mixing, then the inverses in reverse order.
    """

    def __init__(self, name, c, modes, shape, rng):
        super().__init__(name)
        self.ndim = len(shape)
        self.shape, self.c, self.m = tuple(shape), c, modes
        if any(modes >= s // 2 for s in shape):
            raise ValueError(f"{modes} modes need a grid larger than {2 * modes} points (got {shape})")
        m = modes
        n_modes = m if self.ndim == 1 else 2 * m * m
        self.mix = ModeMix(name + ".mix", n_modes, c, rng)
        self.params = {"Wr": self.mix.params["Wr"], "Wi": self.mix.params["Wi"]}
        ky = np.arange(m)
        Ny = shape[-1]
        cy, sy = dft_matrices(Ny, ky)
        ck = np.where(ky == 0, 1.0, 2.0)[:, None]
        norm = float(np.prod(shape))
        # forward along y: [Re; Im] of sum_n v_n e^{-i 2 pi k n / N}
        self.fy = Basis(name + ".dft_y", np.concatenate([cy, -sy], 0), axis=-2)
        # inverse along y (real output): out_n = sum_k c_k/(N..) (Re Y_k cos - Im Y_k sin)
        self.iy = Basis(name + ".idft_y", np.concatenate([ck * cy, -ck * sy], 0).T / norm, axis=-2)
        self.bases = [self.fy, self.iy]
        if self.ndim == 2:
            Nx = shape[0]
            kx = np.concatenate([np.arange(m), np.arange(Nx - m, Nx)])
            cx, sx = dft_matrices(Nx, kx)
            # complex DFT along x of A = Ar + i Ai: [Xr; Xi] = [[C, S], [-S, C]] [Ar; Ai]
            self.fx = Basis(name + ".dft_x", np.block([[cx, sx], [-sx, cx]]), axis=1)
            # inverse complex DFT along x (no 1/N: it is folded into iy): [[C^T, -S^T], [S^T, C^T]]
            self.ix = Basis(name + ".idft_x", np.block([[cx.T, -sx.T], [sx.T, cx.T]]), axis=1)
            self.bases += [self.fx, self.ix]
            self.kx = kx

    def sublayers(self):
        return [self.mix, *self.bases]

    def set_q(self, q: GemmQ, q_basis: GemmQ) -> None:
        self.q = q
        self.mix.set_q(q)
        for b in self.bases:
            b.set_q(q_basis)

    def quantizers(self):
        out = {}
        for l in self.sublayers():
            out.update(l.quantizers())
        return out

    # ---------------------------------------------------------------- float path (FFT)
    def _fft_forward(self, x):
        m = self.m
        if self.ndim == 1:
            X = np.fft.rfft(x, axis=1)[:, :m]                          # (B, m, C)
        else:
            Xf = np.fft.rfft2(x, axes=(1, 2))
            X = np.concatenate([Xf[:, :m, :m], Xf[:, -m:, :m]], axis=1)   # (B, 2m, m, C)
        B = x.shape[0]
        Z = X.reshape(B, -1, self.c)
        z = np.concatenate([Z.real, Z.imag], -1).astype(x.dtype)
        self._xshape = x.shape
        return z

    def _fft_out(self, y):
        B, c, m = y.shape[0], self.c, self.m
        Y = (y[..., :c] + 1j * y[..., c:])
        if self.ndim == 1:
            N = self.shape[0]
            full = np.zeros((B, N // 2 + 1, c), complex)
            full[:, :m] = Y
            return np.fft.irfft(full, n=N, axis=1).astype(y.dtype)
        N1, N2 = self.shape
        Y = Y.reshape(B, 2 * m, m, c)
        full = np.zeros((B, N1, N2 // 2 + 1, c), complex)
        full[:, :m, :m] = Y[:, :m]
        full[:, -m:, :m] = Y[:, m:]
        return np.fft.irfft2(full, s=(N1, N2), axes=(1, 2)).astype(y.dtype)

    def _fft_out_back(self, g):
        B, c, m = g.shape[0], self.c, self.m
        if self.ndim == 1:
            N = self.shape[0]
            G = np.fft.rfft(g, axis=1)[:, :m]
            ck = np.where(np.arange(m) == 0, 1.0, 2.0)[None, :, None]
            G = G * ck / N
        else:
            N1, N2 = self.shape
            Gf = np.fft.rfft2(g, axes=(1, 2))
            G = np.concatenate([Gf[:, :m, :m], Gf[:, -m:, :m]], axis=1)
            ck = np.where(np.arange(m) == 0, 1.0, 2.0)[None, None, :, None]
            G = (G * ck / (N1 * N2)).reshape(B, -1, c)
        return np.concatenate([G.real, G.imag], -1).astype(g.dtype)

    def _fft_forward_back(self, gz):
        B, c, m = gz.shape[0], self.c, self.m
        G = gz[..., :c] + 1j * gz[..., c:]
        if self.ndim == 1:
            N = self.shape[0]
            full = np.zeros((B, N, c), complex)
            full[:, :m] = G
            return (N * np.fft.ifft(full, axis=1).real).astype(gz.dtype)
        N1, N2 = self.shape
        G = G.reshape(B, 2 * m, m, c)
        full = np.zeros((B, N1, N2, c), complex)
        full[:, :m, :m] = G[:, :m]
        full[:, -m:, :m] = G[:, m:]
        return (N1 * N2 * np.fft.ifft2(full, axes=(1, 2)).real).astype(gz.dtype)

    # ---------------------------------------------------------------- matmul path (DFT)
    def _dft_forward(self, x, ctx):
        m, B, c = self.m, x.shape[0], self.c
        if self.ndim == 1:
            X = self.fy.forward(x, ctx)                          # (B, 2m, C): [Re; Im]
            return np.concatenate([X[:, :m], X[:, m:]], -1)      # (B, m, 2C)
        A = self.fy.forward(x, ctx)                              # (B, N1, 2m, C)
        A = np.concatenate([A[:, :, :m], A[:, :, m:]], axis=1)   # (B, 2 N1, m, C): [Ar; Ai] along x
        X = self.fx.forward(A, ctx)                              # (B, 4m, m, C): [Xr; Xi]
        Z = np.concatenate([X[:, :2 * m], X[:, 2 * m:]], -1)     # (B, 2m, m, 2C)
        return Z.reshape(B, -1, 2 * c)

    def _dft_out(self, y, ctx):
        m, B, c = self.m, y.shape[0], self.c
        if self.ndim == 1:
            Yst = np.concatenate([y[..., :c], y[..., c:]], 1)   # (B, 2m, C)
            return self.iy.forward(Yst, ctx)
        N1 = self.shape[0]
        Y = y.reshape(B, 2 * m, m, 2 * c)
        Yst = np.concatenate([Y[..., :c], Y[..., c:]], 1)       # (B, 4m, m, C): [Yr; Yi] along x
        Bx = self.ix.forward(Yst, ctx)                           # (B, 2 N1, m, C): [Br; Bi]
        Bst = np.concatenate([Bx[:, :N1], Bx[:, N1:]], 2)        # (B, N1, 2m, C)
        return self.iy.forward(Bst, ctx)

    def _dft_out_back(self, g):
        m, B, c = self.m, g.shape[0], self.c
        gY = self.iy.backward(g)
        if self.ndim == 1:
            return np.concatenate([gY[:, :m], gY[:, m:]], -1)
        N1 = self.shape[0]
        gB = np.concatenate([gY[:, :, :m], gY[:, :, m:]], 1)     # (B, 2N1, m, C)
        gYst = self.ix.backward(gB)                              # (B, 4m, m, C)
        gy = np.concatenate([gYst[:, :2 * m], gYst[:, 2 * m:]], -1)
        return gy.reshape(B, -1, 2 * c)

    def _dft_forward_back(self, gz):
        m, B, c = self.m, gz.shape[0], self.c
        if self.ndim == 1:
            gX = np.concatenate([gz[..., :c], gz[..., c:]], 1)
            return self.fy.backward(gX)
        N1 = self.shape[0]
        gZ = gz.reshape(B, 2 * m, m, 2 * c)
        gX = np.concatenate([gZ[..., :c], gZ[..., c:]], 1)       # (B, 4m, m, C)
        gA = self.fx.backward(gX)                                # (B, 2N1, m, C)
        gA = np.concatenate([gA[:, :N1], gA[:, N1:]], 2)         # (B, N1, 2m, C)
        return self.fy.backward(gA)

    def forward(self, x, ctx: Ctx):
        if tuple(x.shape[1:-1]) != self.shape:
            raise ValueError(f"{self.name}: built for grid {self.shape}, got {x.shape[1:-1]}")
        # While GEMMs are being recorded the float model also takes the DFT-matmul path
        # (same result up to rounding), so its cost is counted as the matmuls PINTA runs.
        self._fft = (ctx.engine == "float" or self.q.kind == "float") and ctx.gemms is None
        if self._fft:
            return self._fft_out(self.mix.forward(self._fft_forward(x), ctx))
        return self._dft_out(self.mix.forward(self._dft_forward(x, ctx), ctx), ctx)

    def backward(self, g):
        if self._fft:
            return self._fft_forward_back(self.mix.backward(self._fft_out_back(g)))
        return self._dft_forward_back(self.mix.backward(self._dft_out_back(g)))


# ----------------------------------------------------------------------------- element-wise
def gelu(x):
    """Exact GELU x Phi(x); returns (y, dy/dx)."""
    cdf = 0.5 * (1 + erf(x / np.sqrt(2)))
    pdf = np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi)
    return (x * cdf).astype(x.dtype), (cdf + x * pdf).astype(x.dtype)


class Conv1d(Layer):
    """1D convolution, kernel 3, 'same' size, as im2col + GEMM. x (B, N, Cin) -> (B, N, Cout).

    ``pad``: 'circular' (periodic data) or 'zero'. For SMX the blocks are taken
    on the im2col matrix, i.e. the operand as the MAC array receives it.
    """

    def __init__(self, name, cin, cout, rng, pad="circular", role="hidden"):
        super().__init__(name)
        self.role = role
        self.dense = Dense(name, 3 * cin, cout, rng, role=role)
        self.params = self.dense.params
        self.aq = self.dense.aq
        self.pad, self.cin = pad, cin

    def set_q(self, q):
        self.q = q
        self.dense.set_q(q)

    def _im2col(self, x):
        if self.pad == "circular":
            left, right = np.roll(x, 1, axis=1), np.roll(x, -1, axis=1)
        else:
            z = np.zeros_like(x[:, :1])
            left = np.concatenate([z, x[:, :-1]], 1)
            right = np.concatenate([x[:, 1:], z], 1)
        return np.concatenate([left, x, right], -1)

    def forward(self, x, ctx):
        return self.dense.forward(self._im2col(x), ctx)

    def backward(self, g):
        gc = self.dense.backward(g)
        c = self.cin
        gl, gm, gr = gc[..., :c], gc[..., c:2 * c], gc[..., 2 * c:]
        if self.pad == "circular":
            return gm + np.roll(gl, -1, axis=1) + np.roll(gr, 1, axis=1)
        out = gm.copy()
        out[:, :-1] += gl[:, 1:]
        out[:, 1:] += gr[:, :-1]
        return out


class Conv2d(Conv1d):
    """2D convolution, kernel 3x3, 'same' size with zero padding, as im2col + GEMM.

    x (B, N1, N2, Cin) -> (B, N1, N2, Cout). The im2col columns are ordered by
    offset (di, dj) row-major, then input channel.
    """

    def __init__(self, name, cin, cout, rng, role="hidden"):
        Layer.__init__(self, name)
        self.role = role
        self.dense = Dense(name, 9 * cin, cout, rng, role=role)
        self.params = self.dense.params
        self.aq = self.dense.aq
        self.pad, self.cin = "zero", cin

    def _im2col(self, x):
        n1, n2 = x.shape[1:3]
        xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
        return np.concatenate([xp[:, di:di + n1, dj:dj + n2] for di in range(3) for dj in range(3)], -1)

    def backward(self, g):
        gc = self.dense.backward(g)
        B, n1, n2, _ = gc.shape
        c = self.cin
        gp = np.zeros((B, n1 + 2, n2 + 2, c), gc.dtype)
        for k, (di, dj) in enumerate((a, b) for a in range(3) for b in range(3)):
            gp[:, di:di + n1, dj:dj + n2] += gc[..., k * c:(k + 1) * c]
        return gp[:, 1:-1, 1:-1]
