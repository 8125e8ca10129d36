"""Hardware-exact quantized PINN training (quantized mode of :mod:`pinta.golden.training`).

Every GEMM operand is SMX (golden/smx.py): INT8 weights and activations,
INT12 gradients; each GEMM result leaves the accumulator as one RNE float32.
Everything else (bias adds, activations and their derivatives, DiffQuant
differences, SE sums, loss, Adam) is float32 arithmetic in a fixed order
using the vector-unit definitions (golden/fp32.py, reduce.py, stein_sums.py,
adam.py), so the simulator and RTL can reproduce an iteration bit for bit.
δ comes from the counter-based on-chip generator (golden/rng.py), keyed by
(seed, iteration); the host supplies only the collocation points.

Row layout of one iteration
---------------------------
base rows  A (N0 = B + Nb + Ni): interior centres x, boundary points, initial points;
perturbed rows P (2·B·K): x+δ (B·K, point-major) then x−δ (B·K).

DiffQuant on (default)
----------------------
Forward: the base rows run as usual. The perturbed rows carry only the
difference Δh = h(x±δ) − h(x): layer 0 gets Δz = ±Q(δ)·Q(W) (one GEMM, Q(−δ)
= −Q(δ) exactly), deeper layers Δz = Q(Δh)·Q(W), each Q with its own block
exponents. The activation is applied to the full pre-activation z0 + Δz and
the difference re-formed after it: Δh' = act(z0 + Δz) − act(z0). The SE sums
use the output differences Δu± directly.

Backward, in difference form too. With c_p = dL/dΔu_p (the SE coefficient of
perturbation p) the true gradient at an evaluation p is c_p·J_c + ΔJ_p, J_c
the unit backprop row of its centre and ΔJ_p a difference; the centre's own
coefficient is du0 − Σ c_p. Three streams are back-propagated:

- A  (base rows): coefficient du0 at interior centres (not du0 − Σc_p), the
  boundary/initial loss gradients elsewhere;
- U  (interior centres): the unit stream J_c;
- D  (perturbed rows): ΔJ_p, with
  Δdz'_p = (Δdz_p·Wᵀ) ⊙ act'(z_p) + c_p·(dz_U·Wᵀ) ⊙ (act'(z_p) − act'(z0)).

and the weight gradient is, exactly in real arithmetic,
dW = h0ᵀ·(dz_A + S(Δdz)) + Δhᵀ·Δdz + Cᵀ·dz_U with S the per-point sum of
Δdz and C_b = Σ_{p∈b} c_p·Δh_p (float32). No GEMM operand is a large
quantity that must cancel, which plain backprop of the centre row (carrying
du0 − Σc_p, about K times larger than its result) would be.

DiffQuant off (ablation): all B·(2K+1) inputs x, x±δ are quantized as one
tensor and run as independent evaluations (plain quantized backprop).
"""

from __future__ import annotations

import numpy as np

from . import fp32 as F
from .adam import adam_init, adam_step, linear_decay_lr, AdamState
from .mlp import Network
from .pde import PDE
from .reduce import tree_mean, tree_sum
from .rng import normal as rng_normal
from .stein_sums import stein_gradient_weights, stein_laplacian_weights, stein_pair_sums

__all__ = ["QuantizedEngine", "QuantizedAdam", "GemmNumerics"]

f32 = np.float32
#: Rows per chunk of the long GEMM reductions (dW over the batch): a multiple
#: of 4 (SMX) and 32 (MX) that keeps INT12×INT8 block sums inside the 48-bit
#: accumulator bound (docs/numerics.md §3). Chunk partials are summed in
#: float32 by tree_sum over the chunk axis.
DW_CHUNK = 8192
#: Rows per chunk for TT layers: PRS reduces dR over rows·N1 (= 16·rows for 256-wide layers),
#: which must stay below the accumulator bound of 8,260.
TT_CHUNK = 512


class GemmNumerics:
    """Quantized GEMMs for dense layers: SMX (one stored copy) or row-wise MX (the ablation).

    ``gemm(a, bits_a, b, bits_b, ta, tb)`` takes float arrays, quantizes the
    operands (SMX: once; the transposed use is exact) and returns the exact
    product rounded once to float32.
    """

    def __init__(self, block: str = "smx", cfg=None):
        self.block, self.cfg = block, cfg
        if block == "smx":
            from .smx import smx_matmul, smx_quantize

            self._q, self._mm = smx_quantize, smx_matmul
        else:
            from .mx_rowwise import mx_matmul, mx_quantize

            self._q, self._mm = mx_quantize, mx_matmul

    def quant(self, x: np.ndarray, bits: int):
        """SMX: the stored operand. MX: the real values (quantized per use along the GEMM's reduction)."""
        x = np.asarray(x, np.float64)
        return (self._q(x, bits, cfg=self.cfg), bits) if self.block == "smx" else (x, bits)

    def mm(self, qa, qb, ta: bool = False, tb: bool = False) -> np.ndarray:
        (a, ba), (b, bb) = qa, qb
        if self.block == "smx":
            acc = self._mm(a, b, transpose_a=ta, transpose_b=tb, cfg=self.cfg)
        else:
            A = a.T if ta else a
            Bm = b.T if tb else b
            acc = self._mm(self._q(A, ba, axis=1, cfg=self.cfg), self._q(Bm, bb, axis=0, cfg=self.cfg), cfg=self.cfg)
        return np.asarray(acc.to_float(), np.float64).astype(f32)


def _fsum_rows(parts: list[np.ndarray]) -> np.ndarray:
    """Sum a list of same-shape float32 partials with tree_sum (fixed order)."""
    if len(parts) == 1:
        return parts[0]
    return F.require_fp32(tree_sum(np.stack(parts), axis=0), "partials")


class _DenseQ:
    """A dense layer in quantized numerics: W (n_in, n_out) INT8, X INT8, dY INT12."""

    def __init__(self, nm: GemmNumerics, W: np.ndarray):
        self.nm = nm
        self.qW = nm.quant(W, 8)

    def fwd(self, X: np.ndarray):
        """Y (rows, n_out) float32 without bias, and the context for bwd (the stored Q(X) per chunk)."""
        ctx, ys = [], []
        for i in range(0, max(len(X), 1), DW_CHUNK):
            qx = self.nm.quant(X[i:i + DW_CHUNK], 8)
            ys.append(self.nm.mm(qx, self.qW))
            ctx.append(qx)
        return np.concatenate(ys), ctx

    def ctx_only(self, X: np.ndarray):
        return [self.nm.quant(X[i:i + DW_CHUNK], 8) for i in range(0, max(len(X), 1), DW_CHUNK)]

    def bwd(self, ctx, dY: np.ndarray, need_dx: bool = True, need_dw: bool = True):
        """(dX float32 or None, [dW float32] or None) for dY (rows, n_out)."""
        dxs, dws = [], []
        for k, qx in enumerate(ctx):
            qd = self.nm.quant(dY[k * DW_CHUNK:(k + 1) * DW_CHUNK], 12)
            if need_dx:
                dxs.append(self.nm.mm(qd, self.qW, tb=True))
            if need_dw:
                dws.append(self.nm.mm(qx, qd, ta=True))
        return (np.concatenate(dxs) if need_dx else None), ([_fsum_rows(dws)] if need_dw else None)


class _TTQ:
    """A TT layer through golden/tt.py in SMX numerics (PRS or sequential)."""

    def __init__(self, cores: list[np.ndarray], method: str, split: int | None, cfg=None):
        from .tt import SMXNumerics, TTMatrix

        self.tt = TTMatrix.from_cores([np.asarray(c, np.float64) for c in cores])
        self.nm = SMXNumerics(cfg)
        self.method = "prs" if method == "prs" else "seq"
        self.split = split if self.method == "prs" else None

        # Largest row chunk whose internal reductions fit the accumulator
        # (PRS: dR reduces over rows·N1); halved on demand for other shapes.
        self.chunk = TT_CHUNK

    def fwd(self, X: np.ndarray):
        while True:
            try:
                return self._fwd(X)
            except ValueError as e:
                if "accumulator" not in str(e) or self.chunk <= 4:
                    raise
                self.chunk //= 2

    def _fwd(self, X):
        ctx, ys = [], []
        # Probe the backward reduction bound once with a zero gradient on the first chunk.
        first = self.tt.forward(np.asarray(X[:self.chunk], np.float64), method=self.method, split=self.split,
                                numerics=self.nm)
        self.tt.backward(first, np.zeros((first.batch, self.tt.N)))
        for i in range(0, len(X), self.chunk):
            c = first if i == 0 else self.tt.forward(np.asarray(X[i:i + self.chunk], np.float64), method=self.method,
                                                      split=self.split, numerics=self.nm)
            ys.append(np.asarray(c.y, np.float64).astype(f32))
            ctx.append(c)
        return np.concatenate(ys), (self.chunk, ctx)

    ctx_only = None  # TT needs a forward pass to build its backward context

    def bwd(self, ctx, dY: np.ndarray, need_dx: bool = True, need_dw: bool = True):
        dxs, dws = [], []
        chunk, parts = ctx
        for k, c in enumerate(parts):
            g = self.tt.backward(c, np.asarray(dY[k * chunk:(k + 1) * chunk], np.float64))
            dxs.append(np.asarray(g.dx, np.float64).astype(f32))
            dws.append([np.asarray(d, np.float64).astype(f32) for d in g.dcores])
        dcores = [_fsum_rows([d[j] for d in dws]) for j in range(len(dws[0]))] if need_dw else None
        return (np.concatenate(dxs) if need_dx else None), dcores


def _act(name: str, z: np.ndarray) -> np.ndarray:
    return F.fp32_tanh(z) if name == "tanh" else F.fp32_sin(z)


def _act_grad(name: str, z: np.ndarray, h: np.ndarray) -> np.ndarray:
    return F.fp32_tanh_grad_from_output(h) if name == "tanh" else F.fp32_cos(z)


def _act_grad_diff(name: str, z0: np.ndarray, dz: np.ndarray, h0: np.ndarray, dh: np.ndarray) -> np.ndarray:
    """act'(z0+Δz) − act'(z0) without cancellation.

    tanh: −Δh·(2·h0 + Δh) (from 1 − h²); sin: −2·sin(z0 + Δz/2)·sin(Δz/2) (sum-to-product).
    """
    if name == "tanh":
        return -(dh * (F.TWO * h0 + dh))
    half = dz * F.HALF
    return -(F.TWO * F.fp32_sin(z0 + half) * F.fp32_sin(half))


class QuantizedEngine:
    """Loss and gradients of one iteration in hardware-exact quantized numerics.

    Parameters: the PDE, the :class:`~pinta.golden.mlp.Network` holding the
    FP32 master weights, and the ablation switches ``diffquant`` (bool),
    ``tt_method`` ('prs' or 'sequential'), ``tt_split`` (PRS split point,
    default d/2), ``block`` ('smx' or 'mx' row-wise, dense layers only) and
    ``seed`` (the on-chip δ generator's seed, a u32).
    """

    def __init__(self, pde: PDE, net: Network, *, diffquant: bool = True, tt_method: str = "prs",
                 tt_split: int | None = None, block: str = "smx", seed: int = 0, cfg=None):
        if block == "mx" and any(L["kind"] == "tt" for L in net.layers):
            raise ValueError("block='mx' (row-wise MX ablation) supports dense networks only: golden/tt.py has SMX "
                             "and float numerics; run the MX ablation with tt_rank=None")
        self.pde, self.net = pde, net
        self.diffquant, self.tt_method, self.tt_split, self.block = diffquant, tt_method, tt_split, block
        self.seed = int(seed) & 0xFFFFFFFF
        self.cfg = cfg
        self.nm = GemmNumerics(block, cfg)
        self.sigma = f32(pde.sigma)

    # ---- δ on chip -----------------------------------------------------
    def deltas(self, rng, B: int, iteration: int) -> np.ndarray:
        """δ (B, K, dim) float32: σ·N(0,1) from golden/rng.py, stream = iteration, counters from 0."""
        K, dim = self.pde.pairs, self.pde.dim
        z = rng_normal(self.seed, int(iteration) & 0xFFFFFFFF, 0, B * K * dim)
        return (z * self.sigma).reshape(B, K, dim)

    # ---- layers ------------------------------------------------------------
    def _layers(self):
        out = []
        for L in self.net.layers:
            ps = [self.net.params[i] for i in L["idx"]]
            if L["kind"] == "tt":
                out.append((_TTQ(ps[:-1], self.tt_method, self.tt_split, self.cfg), F.to_fp32(ps[-1])))
            else:
                out.append((_DenseQ(self.nm, ps[0]), F.to_fp32(ps[-1])))
        return out

    def _ansatz32(self, x64: np.ndarray):
        ab = self.pde.ansatz(x64)
        return None if ab is None else (F.to_fp32(ab[0]), F.to_fp32(ab[1]))

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Quantized inference u (n,) at x (n, dim): INT8 forward of the base path."""
        layers = self._layers()
        act = self.net.activation
        h = F.to_fp32(x)
        for l, (op, b) in enumerate(layers):
            z, _ = op.fwd(h)
            z = z + b
            h = z if l == len(layers) - 1 else _act(act, z)
        g = h[:, 0]
        ab = self._ansatz32(x)
        return (g if ab is None else ab[0] + ab[1] * g).astype(np.float64)

    # ---- one iteration ---------------------------------------------------
    def loss_and_grads(self, batch, delta: np.ndarray):
        pde, act = self.pde, self.net.activation
        B, K, dim = delta.shape
        BK = B * K
        x0 = np.concatenate([batch.interior, batch.boundary, batch.initial])  # (N0, dim) float64 from host
        N0 = len(x0)
        layers = self._layers()
        nL = len(layers)
        xb = F.to_fp32(x0)
        dflat = delta.reshape(BK, dim)
        point = np.repeat(np.arange(B), K)  # centre row of each perturbed row (per sign)

        if not self.diffquant:
            return self._plain(batch, delta, layers, xb)

        # ---------------- forward (DiffQuant) ----------------
        cache = []
        h0, dh = xb, None
        for l, (op, b) in enumerate(layers):
            z0, ctxA = op.fwd(h0)
            z0 = z0 + b
            if l == 0:
                dzp, ctxD = op.fwd(dflat)  # Q(δ)·Q(W); the minus half is its exact negation
                dz = np.concatenate([dzp, -dzp])
                dh_in = np.concatenate([dflat, -dflat])
            else:
                dz, ctxD = op.fwd(dh)
                dh_in = dh
            entry = {"ctxA": ctxA, "ctxD": ctxD, "h_in0": h0, "dh_in": dh_in}
            if l == nL - 1:
                g0, dg = z0[:, 0], dz[:, 0]
                cache.append(entry)
                break
            zc = z0[np.tile(point, 2)]
            zp = zc + dz
            hb = _act(act, z0)
            hp = _act(act, zp)
            dh = hp - hb[np.tile(point, 2)]
            entry.update(z0=z0, h0=hb, zp=zp, hp=hp, dz=dz, dh_out=dh)
            cache.append(entry)
            h0 = hb

        # ---------------- SE, loss (float32 vector unit) ----------------
        ab = self._ansatz32(x0)
        if ab is None:
            u_base = g0
            du_pm = dg
        else:
            a0, b0 = ab
            da, db = self._ansatz_delta(x0[:B], delta)
            bp = b0[np.tile(point, 2)] + db
            u_base = a0 + b0 * g0
            gc = g0[np.tile(point, 2)]
            # Δu = Δa + b(x±δ)·Δg + Δb·g(x)
            du_pm = da + bp * dg + db * gc
        dup, dum = du_pm[:BK].reshape(B, K), du_pm[BK:].reshape(B, K)
        loss, terms, c_plus, c_minus, du0, dbase = self._se_loss(batch, u_base, dup, dum, delta)
        c = np.concatenate([c_plus.reshape(BK), c_minus.reshape(BK)])  # dL/dΔu per perturbed row

        # ---------------- backward (difference form) ----------------
        # Output gradients of the three streams, through the ansatz u = a + b·g.
        if ab is None:
            dzA = dbase
            dzU = np.ones(B, f32)
            dzD = np.zeros(2 * BK, f32)
        else:
            dzA = dbase * b0
            dzU = b0[:B].copy()
            dzD = c * db  # c_p·(b(x±δ) − b(x))
        dzA, dzU, dzD = dzA[:, None], dzU[:, None], dzD[:, None]
        grads: list = [None] * len(self.net.params)
        for l in range(nL - 1, -1, -1):
            op, _ = layers[l]
            e = cache[l]
            L = self.net.layers[l]
            # Per-point sum of the D stream, added to the interior rows of A.
            S = tree_sum(dzD.reshape(2, B, K, -1).transpose(1, 0, 2, 3).reshape(B, 2 * K, -1), axis=1)
            dzA_tot = dzA.copy()
            dzA_tot[:B] = dzA_tot[:B] + S
            # C_b = Σ_p c_p·Δh_p (float32, per point), the input paired with the unit stream.
            C = tree_sum((c[:, None] * e["dh_in"]).reshape(2, B, K, -1).transpose(1, 0, 2, 3).reshape(B, 2 * K, -1), axis=1)
            need_dx = l > 0
            _, wA = op.bwd(e["ctxA"], dzA_tot, need_dx=False)
            dhA = op.bwd(e["ctxA"], dzA, need_dw=False)[0] if need_dx else None
            ctxC = op.ctx_only(C) if op.ctx_only else op.fwd(C)[1]
            dhU, wU = op.bwd(ctxC, dzU, need_dx=need_dx)
            if l == 0:
                # Layer 0's D rows share one Q(δ); the minus half's gradient folds in with a sign.
                dD = dzD[:BK] - dzD[BK:]
                dhD, wD = op.bwd(e["ctxD"], dD, need_dx=False)
            else:
                dhD, wD = op.bwd(e["ctxD"], dzD, need_dx=need_dx)
            wsum = [F.require_fp32(tree_sum(np.stack([p, q, r]), axis=0), "dw") for p, q, r in zip(wA, wD, wU)]
            for i, gval in zip(L["idx"][:-1], wsum):
                grads[i] = gval.reshape(self.net.params[i].shape)
            grads[L["idx"][-1]] = tree_sum(dzA_tot, axis=0)
            if not need_dx:
                break
            ep = cache[l - 1]
            rows = np.tile(point, 2)
            dzA = dhA * _act_grad(act, ep["z0"], ep["h0"])
            dzU_new = dhU * _act_grad(act, ep["z0"][:B], ep["h0"][:B])
            dad = _act_grad_diff(act, ep["z0"][rows], ep["dz"], ep["h0"][rows], ep["dh_out"])
            dzD = dhD * _act_grad(act, ep["zp"], ep["hp"]) + c[:, None] * (dhU[rows] * dad)
            dzU = dzU_new
        return loss, terms, grads

    def _ansatz_delta(self, xc: np.ndarray, delta: np.ndarray):
        """(Δa, Δb) (2·B·K,) float32 for the perturbed rows: a(x±δ) − a(x), b(x±δ) − b(x).

        Generic rule: the ansatz evaluated in float64 at both points on the host
        side of the definition and the difference rounded once to float32. A
        PDE may define ``ansatz_delta(x, delta)`` (returns Δa+, Δb+ for +δ;
        the ansatz must then be affine so Δ(−δ) = −Δ(+δ)) for an exact form.
        """
        B, K, dim = delta.shape
        fn = getattr(self.pde, "ansatz_delta", None)
        if fn is not None:
            dap, dbp = fn(xc, delta)
            return np.concatenate([dap.reshape(-1), -dap.reshape(-1)]), np.concatenate([dbp.reshape(-1), -dbp.reshape(-1)])
        xr = np.repeat(xc, K, axis=0)
        d = delta.reshape(B * K, dim).astype(np.float64)
        a0, b0 = self.pde.ansatz(xr)
        outa, outb = [], []
        for s in (1, -1):
            a1, b1 = self.pde.ansatz(xr + s * d)
            outa.append(np.asarray(a1) - a0)
            outb.append(np.asarray(b1) - b0)
        return F.to_fp32(np.concatenate(outa)), F.to_fp32(np.concatenate(outb))

    def _se_loss(self, batch, u_base, dup, dum, delta):
        """SE estimates, loss terms and their gradients, all float32 in a fixed order.

        Returns loss (float), terms, c⁺ and c⁻ (B, K) = dL/dΔu±, du0 (B,) and
        dbase (N0,) = dL/du at the base rows (interior: du0 only).
        """
        pde = self.pde
        B, K, dim = delta.shape
        D = pde.space_dim
        sig = self.sigma
        dif, sm = stein_pair_sums(dup, dum)
        gw = stein_gradient_weights(delta, sig)  # (B, K, dim): δ/(2σ²)
        lw = stein_laplacian_weights(np.ascontiguousarray(delta[:, :, :D]), sig)  # (B, K)
        grad = tree_mean(gw[:, :, :D] * dif[:, :, None], axis=1)
        lap = tree_mean(lw * sm, axis=1)
        u = u_base[:B] + tree_mean(sm, axis=1) * F.HALF
        ut = tree_mean(gw[:, :, -1] * dif, axis=1) if pde.time_dependent else None
        x = batch.interior
        res = F.to_fp32(self._residual(x, u, grad, lap, ut))
        terms = {"residual": float(tree_mean(res * res, axis=0))}
        loss = f32(terms["residual"])
        dres = res * (F.TWO * F.fp32_reciprocal_of_count(B))
        du, dgr, dl, dut = pde.residual_vjp(x, u, grad, lap, ut, dres)
        du = F.to_fp32(du)
        invK = F.fp32_reciprocal_of_count(K)
        # Transposes of the sums above (tree_mean = tree_sum then ×1/K).
        dodd = tree_sum(gw[:, :, :D] * F.to_fp32(dgr)[:, None, :], axis=2) * invK
        if ut is not None:
            dodd = dodd + gw[:, :, -1] * (F.to_fp32(dut) * invK)[:, None]
        deven = lw * (F.to_fp32(dl) * invK)[:, None] + (du * (invK * F.HALF))[:, None]
        c_plus, c_minus = deven + dodd, deven - dodd
        dbase = [du]
        off = B
        for kind, pts in (("boundary", batch.boundary), ("initial", batch.initial)):
            n = len(pts)
            if not n:
                continue
            w = f32(getattr(pde, f"{kind}_weight"))
            target = F.to_fp32(getattr(pde, f"{kind}_value")(pts))
            r = u_base[off:off + n] - target
            mse = tree_mean(r * r, axis=0)
            terms[kind] = float(mse)
            loss = loss + w * mse
            dbase.append(r * (w * F.TWO * F.fp32_reciprocal_of_count(n)))
            off += n
        return float(loss), terms, c_plus, c_minus, du, np.concatenate(dbase).astype(f32)

    def _residual(self, x, u, grad, lap, ut):
        fn = getattr(self.pde, "residual_fp32", None)
        return fn(x, u, grad, lap, ut) if fn is not None else self.pde.residual(x, u, grad, lap, ut)

    # ---- DiffQuant off: plain quantized evaluation of x, x±δ ----------------
    def _plain(self, batch, delta, layers, xb):
        pde, act = self.pde, self.net.activation
        B, K, dim = delta.shape
        BK = B * K
        x0 = np.concatenate([batch.interior, batch.boundary, batch.initial])
        N0 = len(x0)
        point = np.repeat(np.arange(B), K)
        d = delta.reshape(BK, dim)
        xin = np.concatenate([xb, xb[point] + d, xb[point] - d])  # float32 adds on chip
        xall64 = np.concatenate([x0, x0[point] + d, x0[point] - d])
        cache = []
        h = xin
        for l, (op, b) in enumerate(layers):
            z, ctx = op.fwd(h)
            z = z + b
            cache.append((ctx, z, h))
            if l < len(layers) - 1:
                h = _act(act, z)
                cache[-1] = (ctx, z, h)
        g = z[:, 0]
        ab = self._ansatz32(xall64)
        u = g if ab is None else ab[0] + ab[1] * g
        uc = u[:B]
        dup = u[N0:N0 + BK].reshape(B, K) - uc[:, None]
        dum = u[N0 + BK:].reshape(B, K) - uc[:, None]
        loss, terms, cp, cm, du0, dbase = self._se_loss(batch, u[:N0], dup, dum, delta)
        dcen = dbase.copy()
        dcen[:B] = dcen[:B] - tree_sum(np.concatenate([cp, cm], axis=1), axis=1)
        dU = np.concatenate([dcen, cp.reshape(-1), cm.reshape(-1)])
        dz = (dU if ab is None else dU * ab[1])[:, None]
        grads: list = [None] * len(self.net.params)
        for l in range(len(layers) - 1, -1, -1):
            op, _ = layers[l]
            ctx, _, _ = cache[l]
            L = self.net.layers[l]
            dh, wg = op.bwd(ctx, dz, need_dx=l > 0)
            for i, gval in zip(L["idx"][:-1], wg):
                grads[i] = gval.reshape(self.net.params[i].shape)
            grads[L["idx"][-1]] = tree_sum(dz, axis=0)
            if l:
                _, zprev, hprev = cache[l - 1]
                dz = dh * _act_grad(act, zprev, hprev)
        return loss, terms, grads


class QuantizedAdam:
    """Bit-exact float32 Adam (golden/adam.py) over the FP32 master weights."""

    def __init__(self, params):
        self.states = [adam_init(p.shape) for p in params]

    def step(self, params, grads, lr0, it, total):
        lr = linear_decay_lr(lr0, int(it), int(total))
        for k, (p, g) in enumerate(zip(params, grads)):
            params[k], self.states[k] = adam_step(p, F.to_fp32(g).reshape(p.shape), self.states[k], lr)

    def state(self):
        out = {}
        for i, s in enumerate(self.states):
            out[f"m{i}"], out[f"v{i}"] = s.m, s.v
            out[f"step{i}"] = np.array(s.step)
            out[f"pow{i}"] = np.array([s.beta1_pow, s.beta2_pow], np.float32)
        return out

    def load(self, st):
        self.states = [AdamState(m=np.array(st[f"m{i}"]), v=np.array(st[f"v{i}"]), step=int(st[f"step{i}"]),
                                 beta1_pow=np.float32(st[f"pow{i}"][0]), beta2_pow=np.float32(st[f"pow{i}"][1]))
                       for i in range(len(self.states))]
