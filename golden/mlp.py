"""Dense and TT-matrix PINN networks with a hand-written forward and backward (NumPy only).

A :class:`Network` maps points X (N, dim) to one output g (N,). Hidden layers
use one activation (``tanh`` or ``sin``); the output layer is linear.

Parameters live in one flat list ``net.params`` of float32 arrays (the FP32
master weights the optimizer updates); ``net.param_names`` names them.

- Dense layer l: ``W`` (n_in, n_out) and ``b`` (n_out,); Y = X·W + b.
- TT layer (hidden-to-hidden layers only, when ``tt_rank`` is given): d cores
  G_k of shape (r_{k−1}, m_k, n_k, r_k), r_0 = r_d = 1, with n_in = Πm_k and
  n_out = Πn_k, plus a dense bias. The row index of W is (i_1, …, i_d) in
  C order, the column index (j_1, …, j_d).

In this float path a TT layer is reconstructed to its full W once per call
(cheap next to the B·(2K+1)-row GEMM) and the core gradients are contracted
back from dW; that is exact, and the same function the quantized PRS path of
:mod:`pinta.golden.quantized_training` approximates. The input and output
layers stay dense (their widths 2, 21, 101 and 1 do not factor usefully).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["Network", "tt_factor", "tt_reconstruct", "tt_core_grads", "act_forward", "act_grad"]


def tt_factor(n: int, d: int = 4) -> tuple[int, ...]:
    """Split n into d factors as even as possible (largest first); n must be a power of two here."""
    if n & (n - 1) or n < 2 ** d:
        raise ValueError(f"TT layers need a power-of-two width >= 2**{d}, got {n}")
    e = int(math.log2(n))
    parts = [e // d + (1 if k < e % d else 0) for k in range(d)]
    return tuple(2 ** p for p in parts)


def tt_reconstruct(cores: list[np.ndarray]) -> np.ndarray:
    """Full W (Πm, Πn) from TT cores (r_{k−1}, m_k, n_k, r_k)."""
    P = cores[0][0]  # (m1, n1, r1)
    for G in cores[1:]:
        # P (M, N, r) x G (r, m, n, s) -> (M, m, N, n, s), merged to (M·m, N·n, s).
        M, N, _ = P.shape
        _, m, n, s = G.shape
        P = np.einsum("MNr,rmns->MmNns", P, G).reshape(M * m, N * n, s)
    return P[:, :, 0]


def tt_core_grads(cores: list[np.ndarray], dW: np.ndarray) -> list[np.ndarray]:
    """Gradients of the cores given dL/dW (Πm, Πn); the transpose of :func:`tt_reconstruct`."""
    d = len(cores)
    ms = [G.shape[1] for G in cores]
    ns = [G.shape[2] for G in cores]
    # Left partial products L_k (M_<k, N_<k, r_{k-1}) and right ones R_k (r_k, M_>k, N_>k).
    left = [np.ones((1, 1, 1), dW.dtype)]
    for G in cores[:-1]:
        P = left[-1]
        M, N, _ = P.shape
        _, m, n, s = G.shape
        left.append(np.einsum("MNr,rmns->MmNns", P, G).reshape(M * m, N * n, s))
    right = [np.ones((1, 1, 1), dW.dtype)]
    for G in reversed(cores[1:]):
        P = right[-1]
        _, M, N = P.shape
        r, m, n, _ = G.shape
        right.append(np.einsum("rmns,sMN->rmMnN", G, P).reshape(r, m * M, n * N))
    right = right[::-1]
    grads = []
    for k in range(d):
        Ml, Nl = left[k].shape[:2]
        Mr, Nr = right[k].shape[1:]
        D = dW.reshape(Ml, ms[k], Mr, Nl, ns[k], Nr)
        grads.append(np.einsum("IiKJjL,IJa,bKL->aijb", D, left[k], right[k]))
    return grads


def act_forward(name: str, z: np.ndarray) -> np.ndarray:
    return np.tanh(z) if name == "tanh" else np.sin(z)


def act_grad(name: str, z: np.ndarray, h: np.ndarray) -> np.ndarray:
    """d act / dz given the pre-activation z and the activation h = act(z)."""
    return 1 - h * h if name == "tanh" else np.cos(z)


class Network:
    """A fully connected PINN g: R^dim -> R, dense or with TT hidden-to-hidden layers.

    Parameters
    ----------
    dim : int          input width
    hidden : tuple     hidden widths, e.g. (256, 256, 256)
    activation : str   'tanh' or 'sin'
    tt_rank : int | None   TT rank of the hidden-to-hidden layers; None = dense
    tt_cores : int     number of TT cores d per layer
    seed : int         initialisation seed (Glorot-normal weights, zero biases)
    """

    def __init__(self, dim: int, hidden: tuple[int, ...], activation: str = "tanh", *, tt_rank: int | None = None,
                 tt_cores: int = 4, seed: int = 0):
        if activation not in ("tanh", "sin"):
            raise ValueError(f"activation must be 'tanh' or 'sin', got {activation!r}")
        self.dim, self.hidden, self.activation = dim, tuple(hidden), activation
        self.tt_rank, self.tt_cores = tt_rank, tt_cores
        rng = np.random.default_rng(seed)
        widths = [dim, *hidden, 1]
        self.params: list[np.ndarray] = []
        self.param_names: list[str] = []
        self.layers: list[dict] = []  # kind, n_in, n_out, indices into params
        for l, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
            std = math.sqrt(2.0 / (n_in + n_out))
            use_tt = tt_rank is not None and 0 < l < len(widths) - 2
            if use_tt:
                ms, ns = tt_factor(n_in, tt_cores), tt_factor(n_out, tt_cores)
                ranks = [1] + [tt_rank] * (tt_cores - 1) + [1]
                # Each W entry is a sum of Π r_k products of d core entries; pick the
                # core std so that Var(W) matches Glorot.
                s = (std ** 2 / math.prod(ranks)) ** (1 / (2 * tt_cores))
                idx = []
                for k in range(tt_cores):
                    idx.append(self._add(f"l{l}.core{k}", rng.normal(0, s, (ranks[k], ms[k], ns[k], ranks[k + 1]))))
                idx.append(self._add(f"l{l}.b", np.zeros(n_out)))
                self.layers.append({"kind": "tt", "n_in": n_in, "n_out": n_out, "idx": idx})
            else:
                iw = self._add(f"l{l}.W", rng.normal(0, std, (n_in, n_out)))
                ib = self._add(f"l{l}.b", np.zeros(n_out))
                self.layers.append({"kind": "dense", "n_in": n_in, "n_out": n_out, "idx": [iw, ib]})

    def _add(self, name: str, value: np.ndarray) -> int:
        self.params.append(value.astype(np.float32))
        self.param_names.append(name)
        return len(self.params) - 1

    # ---- sizes ----------------------------------------------------------
    def n_params(self) -> int:
        return int(sum(p.size for p in self.params))

    def dense_equivalent_params(self) -> int:
        widths = [self.dim, *self.hidden, 1]
        return sum(a * b + b for a, b in zip(widths[:-1], widths[1:]))

    def compression_ratio(self) -> float:
        """Parameters of the dense network of the same widths / parameters of this one."""
        return self.dense_equivalent_params() / self.n_params()

    # ---- float forward / backward ------------------------------------------
    def layer_weights(self, dtype=np.float32) -> list[tuple[np.ndarray, np.ndarray]]:
        """(W (n_in, n_out), b (n_out,)) per layer, TT layers reconstructed."""
        out = []
        for L in self.layers:
            ps = [self.params[i].astype(dtype, copy=False) for i in L["idx"]]
            W = tt_reconstruct(ps[:-1]) if L["kind"] == "tt" else ps[0]
            out.append((W, ps[-1]))
        return out

    def forward(self, X: np.ndarray, dtype=np.float32):
        """g (N,) for X (N, dim), and the cache the backward needs."""
        Ws = self.layer_weights(dtype)
        h = np.asarray(X, dtype)
        hs, zs = [h], []
        for l, (W, b) in enumerate(Ws):
            z = h @ W
            z += b
            if l == len(Ws) - 1:
                return z[:, 0], {"Ws": Ws, "hs": hs, "zs": zs}
            h = act_forward(self.activation, z)
            zs.append(z if self.activation == "sin" else None)  # tanh' needs only h
            hs.append(h)

    def backward(self, cache, dg: np.ndarray) -> list[np.ndarray]:
        """Gradients (same order and shapes as ``params``) given dL/dg (N,)."""
        Ws, hs, zs = cache["Ws"], cache["hs"], cache["zs"]
        grads: list[np.ndarray | None] = [None] * len(self.params)
        dz = np.asarray(dg, hs[0].dtype)[:, None]
        for l in range(len(Ws) - 1, -1, -1):
            W, _ = Ws[l]
            L = self.layers[l]
            dW = hs[l].T @ dz
            db = dz.sum(axis=0)
            if L["kind"] == "tt":
                cores = [self.params[i].astype(W.dtype) for i in L["idx"][:-1]]
                for i, gcore in zip(L["idx"][:-1], tt_core_grads(cores, dW)):
                    grads[i] = gcore
            else:
                grads[L["idx"][0]] = dW
            grads[L["idx"][-1]] = db
            if l:
                dh = dz @ W.T
                dz = dh * act_grad(self.activation, zs[l - 1], hs[l])
        return grads

    # ---- state ----------------------------------------------------------
    def get_state(self) -> dict[str, np.ndarray]:
        return {n: p.copy() for n, p in zip(self.param_names, self.params)}

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        for k, n in enumerate(self.param_names):
            if state[n].shape != self.params[k].shape:
                raise ValueError(f"checkpoint parameter {n} has shape {state[n].shape}, network expects {self.params[k].shape}")
            self.params[k] = np.asarray(state[n], np.float32).copy()
