"""Tests for golden/tt.py: TT format, init, PRS and sequential contraction.

Float mode is checked against an independent dense computation (einsum
reconstruction, X @ W, finite differences). SMX mode is checked against the
float results with error bounds derived from the INT8/INT12 step sizes, for
determinism, for reuse of stored SMX tensors, and for the PRS-vs-sequential
error ordering.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pinta.golden import smx as smx_mod
from pinta.golden.tt import (
    FloatNumerics,
    SMXNumerics,
    TTContext,
    TTMatrix,
    factorize,
    measure_prs_vs_sequential,
    pad_columns,
)

# (in_modes, out_modes, ranks) covering d = 2, 3, 4 and uneven modes/ranks.
LAYERS = [
    ((3, 4), (2, 5), 1),
    ((3, 4), (2, 5), 3),
    ((2, 3, 2), (3, 2, 2), (2, 3)),
    ((2, 3, 2), (3, 2, 2), 1),
    ((2, 2, 3, 2), (3, 2, 2, 2), (2, 3, 2)),
    ((2, 2, 2, 2), (2, 2, 2, 2), 4),
]
CASES = [(lay, s) for lay in LAYERS for s in range(1, len(lay[0]))]


def case_id(case):
    (mi, mo, r), s = case
    return f"d{len(mi)}-r{r}-s{s}"


def dense_from_cores(cores):
    """Independent reconstruction of W by einsum over explicit indices."""
    d = len(cores)
    letters = "abcdefghijklmnopqrstuvwxyz"
    i = letters[:d]
    j = letters[d:2 * d]
    r = letters[2 * d:3 * d + 1]
    terms = [f"{r[k]}{i[k]}{j[k]}{r[k + 1]}" for k in range(d)]
    expr = ",".join(terms) + "->" + r[0] + i + j + r[d]
    w = np.einsum(expr, *cores)[0, ..., 0]
    M = math.prod(c.shape[1] for c in cores)
    N = math.prod(c.shape[2] for c in cores)
    # Row-major multi-index: axes (i_1..i_d, j_1..j_d) -> (M, N).
    return w.reshape(M, N)


def rel(a, b):
    return float(np.linalg.norm(np.asarray(a, np.float64) - b) / np.linalg.norm(b))


def make(layer, seed=0):
    mi, mo, r = layer
    return TTMatrix(mi, mo, r, rng=np.random.default_rng(seed))


# ---------------------------------------------------------------------------
# factorize
# ---------------------------------------------------------------------------


def _exists_balanced(p, d, max_ratio, min_mode=2):
    """Brute force: can p be written as d factors >= min_mode, max/min <= ratio?"""
    divs = [f for f in range(min_mode, p + 1) if p % f == 0]
    for combo in itertools.combinations_with_replacement(divs, d):
        if math.prod(combo) == p and combo[-1] <= max_ratio * combo[0]:
            return True
    return False


@settings(max_examples=60, deadline=None)
@given(width=st.integers(1, 300), d=st.integers(1, 4))
def test_factorize_is_smallest_balanced_padding(width, d):
    f = factorize(width, d)
    assert f.width == width and len(f.modes) == d
    assert math.prod(f.modes) == f.pad_to >= width
    assert f.pad == f.pad_to - width
    assert min(f.modes) >= 2 and max(f.modes) <= 2 * min(f.modes)
    assert list(f.modes) == sorted(f.modes)
    # No smaller admissible width exists (checked by brute force).
    for p in range(max(width, 2 ** d), f.pad_to):
        assert not _exists_balanced(p, d, 2.0)


def test_factorize_examples_from_the_spec():
    assert factorize(256, 4).modes == (4, 4, 4, 4)
    assert factorize(21, 3).pad_to == 24
    assert factorize(512, 3).modes == (8, 8, 8)
    # 101 is prime: it must be padded.
    assert factorize(101, 2).pad_to > 101


@pytest.mark.parametrize("args,match", [((0, 2), "width"), ((10, 0), "d"), ((10, 2.5), "d")])
def test_factorize_rejects_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        factorize(*args)


def test_for_widths_and_padding_give_the_unpadded_layer():
    rng = np.random.default_rng(3)
    tt, fi, fo = TTMatrix.for_widths(21, 30, 3, 2, rng=rng)
    assert (tt.M, tt.N) == (fi.pad_to, fo.pad_to)
    x = rng.standard_normal((5, 21))
    xp = pad_columns(x, tt.M)
    assert xp.shape == (5, tt.M) and np.all(xp[:, 21:] == 0)
    W = tt.full()
    y = tt.forward(xp).y[:, :30]
    np.testing.assert_allclose(y, x @ W[:21, :30], rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="smaller"):
        pad_columns(x, 20)


# ---------------------------------------------------------------------------
# Format, construction, sizes, init
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("layer", LAYERS, ids=lambda l: f"d{len(l[0])}-r{l[2]}")
def test_full_matches_independent_einsum_and_sizes(layer):
    tt = make(layer)
    W = tt.full()
    assert W.shape == (math.prod(layer[0]), math.prod(layer[1]))
    np.testing.assert_allclose(W, dense_from_cores(tt.cores), rtol=1e-13, atol=1e-15)
    params = sum(c.size for c in tt.cores)
    assert tt.num_params == params
    assert tt.compression_ratio == pytest.approx(W.size / params)
    for k, c in enumerate(tt.cores):
        assert c.shape == (tt.ranks[k], layer[0][k], layer[1][k], tt.ranks[k + 1])
    assert tt.ranks[0] == tt.ranks[-1] == 1


def test_from_cores_roundtrip_and_validation():
    tt = make(LAYERS[4])
    tt2 = TTMatrix.from_cores(tt.cores)
    assert tt2.ranks == tt.ranks and tt2.in_modes == tt.in_modes
    np.testing.assert_array_equal(tt2.full(), tt.full())
    cores = tt.cores
    with pytest.raises(ValueError, match="core 1 must have shape"):
        TTMatrix(tt.in_modes, tt.out_modes, tt.ranks, cores=[cores[0], cores[1][:, :1], cores[2], cores[3]])
    with pytest.raises(ValueError, match="expected 4 cores"):
        TTMatrix(tt.in_modes, tt.out_modes, tt.ranks, cores=cores[:3])
    bad = np.array(cores[2])
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        TTMatrix(tt.in_modes, tt.out_modes, tt.ranks, cores=[cores[0], cores[1], bad, cores[3]])
    with pytest.raises(ValueError, match="r_0 and last core's r_d must be 1"):
        TTMatrix.from_cores([np.ones((2, 2, 2, 1))])
    with pytest.raises(ValueError, match="4-D"):
        TTMatrix.from_cores([np.ones((2, 2, 2))])


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(in_modes=(2, 2), out_modes=(2,), ranks=2), "same length"),
        (dict(in_modes=(2, 0), out_modes=(2, 2), ranks=2), "positive integers"),
        (dict(in_modes=(2, 2), out_modes=(2, 2), ranks=0), "rank must be >= 1"),
        (dict(in_modes=(2, 2), out_modes=(2, 2), ranks=(2, 2)), "inner ranks"),
        (dict(in_modes=(2, 2), out_modes=(2, 2), ranks=(2, 3, 1)), "boundary ranks"),
        (dict(in_modes=(2, 2), out_modes=(2, 2), ranks=2, init="xavier"), "init"),
        (dict(in_modes=(2, 2), out_modes=(2, 2), ranks=2, rng=None), "rng"),
        (dict(in_modes=(2, 2), out_modes=(2, 2), ranks=2, rng=0), "Generator"),
    ],
)
def test_constructor_rejects_bad_input(kwargs, match):
    kwargs.setdefault("rng", np.random.default_rng(0))
    with pytest.raises(ValueError, match=match):
        TTMatrix(**kwargs)


def test_cores_are_read_only():
    tt = make(LAYERS[1])
    with pytest.raises(ValueError):
        tt.cores[0][0, 0, 0, 0] = 1.0


@pytest.mark.parametrize("init,fan", [("glorot", lambda M, N: 2 / (M + N)), ("he", lambda M, N: 2 / M), ("lecun", lambda M, N: 1 / M)])
@pytest.mark.parametrize("shape", [((4, 4, 4), (2, 4, 8), 3), ((4, 4, 4, 4), (4, 4, 4, 4), (2, 4, 2))])
def test_init_gives_the_target_dense_variance(init, fan, shape):
    mi, mo, r = shape
    M, N = math.prod(mi), math.prod(mo)
    target = fan(M, N)
    tt0 = TTMatrix(mi, mo, r, rng=np.random.default_rng(0), init=init)
    assert tt0.target_variance(init) == pytest.approx(target, rel=1e-12)
    # E[W_ij^2] = target exactly; entries of one W share cores, so average
    # the second moment over many independent layers. With 200 layers the
    # standard error of the mean is a few percent of the target.
    m2 = [np.mean(TTMatrix(mi, mo, r, rng=np.random.default_rng(s), init=init).full() ** 2) for s in range(200)]
    se = np.std(m2) / np.sqrt(len(m2))
    assert abs(np.mean(m2) - target) < 4 * se + 0.02 * target
    assert se < 0.1 * target


# ---------------------------------------------------------------------------
# PRS halves and float forward/backward
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_halves_recombine_to_W(case):
    layer, s = case
    tt = make(layer)
    L, R = tt.halves(s)
    M1, M2, N1, N2, r = tt.split_sizes(s)
    assert L.shape == (M1, N1, r) and R.shape == (r, M2, N2)
    W = np.einsum("acr,rbd->abcd", L, R).reshape(M1 * M2, N1 * N2)  # i = i1*M2+i2, j = j1*N2+j2
    np.testing.assert_allclose(W, tt.full(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_float_forward_backward_match_dense(case, dtype):
    layer, s = case
    tt = make(layer, seed=1)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((7, tt.M))
    dy = rng.standard_normal((7, tt.N))
    W = tt.full()
    eps = np.finfo(dtype).eps
    # Error bound: a few ulps times the length of the longest reduction path.
    tol = float(50 * eps * (tt.M + tt.N))
    name = np.dtype(dtype).name
    for method, split in (("prs", s), ("seq", None)):
        ctx = tt.forward(x, method=method, split=split, numerics=name)
        assert ctx.y.dtype == dtype and ctx.y.shape == (7, tt.N)
        assert rel(ctx.y, x @ W) < tol
        g = tt.backward(ctx, dy)
        assert g.dx.dtype == dtype
        assert rel(g.dx, dy @ W.T) < tol
        # Core gradients agree with the float64 sequential ones (which the
        # finite-difference test below checks independently).
        gf = tt.backward(tt.forward(x, method="seq", numerics="float64"), dy)
        for a, b in zip(g.dcores, gf.dcores):
            assert a.dtype == dtype
            assert rel(a, b) < tol
        # Multilinearity: <dG_k, G_k> = <dW, W> = sum(X^T dY * W) for every k.
        dw = x.T @ dy
        for a, core in zip(g.dcores, tt.cores):
            assert float(np.sum(a * core)) == pytest.approx(float(np.sum(dw * W)), rel=tol, abs=tol * np.abs(dw * W).sum())


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_core_gradients_match_finite_differences(case):
    layer, s = case
    tt = make(layer, seed=4)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, tt.M))
    c = rng.standard_normal((3, tt.N))

    def loss(cores):
        # Scalar loss sum(Y * C) with Y = X W(cores); dLoss/dY = C.
        return float(np.sum((x @ dense_from_cores(cores)) * c))

    gp = tt.backward(tt.forward(x, method="prs", split=s), c)
    gs = tt.backward(tt.forward(x, method="seq"), c)
    h = 1e-6
    for k, core in enumerate(tt.cores):
        idx = list(np.ndindex(core.shape))
        pick = [idx[i] for i in rng.choice(len(idx), size=min(6, len(idx)), replace=False)]
        for e in pick:
            plus = [np.array(cc) for cc in tt.cores]
            minus = [np.array(cc) for cc in tt.cores]
            plus[k][e] += h
            minus[k][e] -= h
            fd = (loss(plus) - loss(minus)) / (2 * h)
            # Loss is multilinear in each core, so central differences are
            # exact up to rounding (~1e-16 * |loss| / h).
            assert gp.dcores[k][e] == pytest.approx(fd, rel=1e-6, abs=1e-7)
            assert gs.dcores[k][e] == pytest.approx(fd, rel=1e-6, abs=1e-7)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_dL_dR_are_the_half_gradients(case):
    layer, s = case
    tt = make(layer, seed=6)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((4, tt.M))
    dy = rng.standard_normal((4, tt.N))
    L, R = tt.halves(s)
    M1, M2, N1, N2, r = tt.split_sizes(s)
    g = tt.backward(tt.forward(x, split=s), dy)
    X = x.reshape(4, M1, M2)
    D = dy.reshape(4, N1, N2)
    # Y[b,j1,j2] = sum X[b,i1,i2] L[i1,j1,r] R[r,i2,j2]
    np.testing.assert_allclose(g.dL, np.einsum("bpq,bjk,rqk->pjr", X, D, R), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(g.dR, np.einsum("bpq,bjk,pjr->rqk", X, D, L), rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------------------
# Argument checking and the weight-update cache
# ---------------------------------------------------------------------------


def test_forward_backward_reject_bad_input():
    tt = make(LAYERS[4])
    x = np.ones((2, tt.M))
    with pytest.raises(ValueError, match="shape \\(batch, M=24\\)"):
        tt.forward(np.ones((2, tt.M + 1)))
    with pytest.raises(ValueError, match="1 <= s < d = 4"):
        tt.forward(x, split=4)
    with pytest.raises(ValueError, match="1 <= s < d"):
        tt.forward(x, split=0)
    with pytest.raises(ValueError, match="method"):
        tt.forward(x, method="dense")
    with pytest.raises(ValueError, match="numerics"):
        tt.forward(x, numerics="int8")
    with pytest.raises(ValueError, match="split applies"):
        tt.forward(x, method="seq", split=2)
    bad = x.copy()
    bad[1, 3] = np.inf
    with pytest.raises(ValueError, match="non-finite"):
        tt.forward(bad)
    ctx = tt.forward(x)
    with pytest.raises(ValueError, match="dy must have shape"):
        tt.backward(ctx, np.ones((3, tt.N)))
    with pytest.raises(ValueError, match="TTContext"):
        tt.backward(None, np.ones((2, tt.N)))
    with pytest.raises(ValueError, match="PRS needs d >= 2"):
        TTMatrix((4,), (4,), (1, 1), rng=np.random.default_rng(0)).forward(np.ones((1, 4)))
    with pytest.raises(ValueError, match="weight_bits"):
        SMXNumerics(weight_bits=6)
    with pytest.raises(ValueError, match="reconstruct"):
        SMXNumerics(reconstruct="int4")
    with pytest.raises(ValueError, match="dtype"):
        FloatNumerics(np.float16)


def test_cache_is_reused_and_invalidated_on_update():
    tt = make(LAYERS[4])
    x = np.random.default_rng(0).standard_normal((3, tt.M))
    c1 = tt.forward(x, split=2)
    assert any(a.phase == "reconstruct" for a in c1.actions)
    c2 = tt.forward(x, split=2)
    assert not any(a.phase == "reconstruct" for a in c2.actions)
    np.testing.assert_array_equal(c1.y, c2.y)
    g = tt.backward(c2, np.ones((3, tt.N)))
    tt.apply_update([-0.1 * d for d in g.dcores])
    with pytest.raises(ValueError, match="updated after this forward"):
        tt.backward(c2, np.ones((3, tt.N)))
    c3 = tt.forward(x, split=2)
    assert any(a.phase == "reconstruct" for a in c3.actions)
    np.testing.assert_allclose(c3.y, x @ tt.full(), rtol=1e-12)
    # A gradient step on loss = sum(Y) must decrease it (small step).
    assert c3.y.sum() < c1.y.sum()


# ---------------------------------------------------------------------------
# Action accounting
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("numerics", ["float64", "smx", "smx-fp32"])
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_gemm_actions_equal_the_engine_log(case, numerics):
    layer, s = case
    tt = make(layer)
    x = np.random.default_rng(1).standard_normal((5, tt.M))
    if numerics == "float64":
        nm, bits = "float64", dict(weight_bits=None, act_bits=None, grad_bits=None)
    else:
        rec = "fp32" if numerics == "smx-fp32" else "smx"
        nm, bits = SMXNumerics(reconstruct=rec), dict(reconstruct=rec)
    for method, split in (("prs", s), ("seq", None)):
        ctx = tt.forward(x, method=method, split=split, numerics=nm)
        g = tt.backward(ctx, np.ones((5, tt.N)))
        plan = tt.gemm_actions(5, method=method, split=split, **bits)
        assert ctx.actions + g.actions == plan
    # PRS with s = 1: L is the first core itself, no GEMM builds it.
    plan = tt.gemm_actions(5, split=1, phases=("reconstruct",))
    assert not any(a.name.startswith("L.") for a in plan)
    # The forward MACs of PRS are exactly those of its two GEMMs.
    M1, M2, N1, N2, r = tt.split_sizes(s)
    fwd = tt.gemm_actions(5, split=s, phases=("forward",))
    assert sum(a.macs for a in fwd) == 5 * M2 * M1 * N1 * r + 5 * N1 * r * M2 * N2


# ---------------------------------------------------------------------------
# Quantized (SMX) mode
# ---------------------------------------------------------------------------

# Bound on the relative error of an INT8 SMX forward: each quantization
# leaves the block maximum at >= 2^6 code steps, so its RMS relative error is
# of order 2^-7 on Gaussian-like data; the PRS path has at most 8 such
# independent quantizations (4 cores, L, R, X, T), giving a few percent.
# 0.05 leaves margin; INT12 gradients add little on top.
INT8_REL_BOUND = 0.05

QLAYERS = [((4, 4), (4, 4), 4), ((2, 4, 4), (4, 2, 4), (3, 2)), ((4, 4, 4, 4), (4, 4, 4, 4), 4)]
QCASES = [(lay, s) for lay in QLAYERS for s in range(1, len(lay[0]))]


@pytest.mark.parametrize("reconstruct", ["smx", "fp32"])
@pytest.mark.parametrize("case", QCASES, ids=case_id)
def test_smx_prs_close_to_float(case, reconstruct):
    layer, s = case
    tt = make(layer, seed=8)
    rng = np.random.default_rng(9)
    x = rng.standard_normal((16, tt.M))
    dy = rng.standard_normal((16, tt.N))
    nm = SMXNumerics(reconstruct=reconstruct)
    ctx = tt.forward(x, split=s, numerics=nm)
    gq = tt.backward(ctx, dy)
    gf = tt.backward(tt.forward(x, split=s), dy)
    W = tt.full()
    assert rel(ctx.y, x @ W) < INT8_REL_BOUND
    assert rel(gq.dx, dy @ W.T) < INT8_REL_BOUND
    assert rel(gq.dL, gf.dL) < INT8_REL_BOUND
    assert rel(gq.dR, gf.dR) < INT8_REL_BOUND
    for a, b in zip(gq.dcores, gf.dcores):
        assert a.dtype == np.float32
        assert rel(a, b) < 2 * INT8_REL_BOUND  # one more INT12 requantization per chain step
    # The accumulator holds the same exact values as y, in PRS's 2-D view.
    M1, M2, N1, N2, r = tt.split_sizes(s)
    assert ctx.acc.shape == (16 * N1, N2)
    np.testing.assert_array_equal(ctx.acc.to_float().reshape(16, tt.N), ctx.y)
    # Quantization really happened: the result is not the float one.
    assert rel(ctx.y, x @ W) > 1e-6


@pytest.mark.parametrize("method", ["prs", "seq"])
def test_smx_is_bit_deterministic(method):
    layer = QLAYERS[2]
    rng = np.random.default_rng(10)
    tt = make(layer, seed=11)
    x = rng.standard_normal((8, tt.M))
    dy = rng.standard_normal((8, tt.N))
    runs = []
    for _ in range(2):
        fresh = TTMatrix.from_cores(tt.cores)  # no shared cache between runs
        ctx = fresh.forward(x, method=method, numerics=SMXNumerics())
        runs.append((ctx, fresh.backward(ctx, dy)))
    (c1, g1), (c2, g2) = runs
    np.testing.assert_array_equal(c1.acc.acc, c2.acc.acc)
    np.testing.assert_array_equal(c1.acc.exponents, c2.acc.exponents)
    np.testing.assert_array_equal(c1.y, c2.y)
    np.testing.assert_array_equal(g1.dx, g2.dx)
    for a, b in zip(g1.dcores, g2.dcores):
        np.testing.assert_array_equal(a, b)


def _count_quantize(monkeypatch):
    calls = []
    real = smx_mod.smx_quantize

    def counting(x, bits, cfg=None):
        calls.append((np.shape(x), bits))
        return real(x, bits, cfg)

    monkeypatch.setattr(smx_mod, "smx_quantize", counting)
    return calls


def test_smx_prs_quantizes_halves_once_and_reuses_stored_tensors(monkeypatch):
    tt = make(QLAYERS[2], seed=12)
    rng = np.random.default_rng(13)
    x = rng.standard_normal((8, tt.M))
    calls = _count_quantize(monkeypatch)
    nm = SMXNumerics()
    M1, M2, N1, N2, r = tt.split_sizes(2)
    ctx = tt.forward(x, numerics=nm)
    # Reconstruction: 2 chains of 2 cores -> 4 core quantizations, then L
    # and R once each; forward: X and T. All INT8.
    assert [b for _, b in calls] == [8] * 8
    assert ((M1, N1 * r), 8) in calls and ((r * M2, N2), 8) in calls
    calls.clear()
    ctx = tt.forward(x, numerics=nm)
    assert calls == [((8 * M2, M1), 8), ((8 * N1, r * M2), 8)]  # cached halves: only X and T
    calls.clear()
    g = tt.backward(ctx, rng.standard_normal((8, tt.N)))
    # Backward quantizes only gradients (INT12): dY, dT, and one dC per chain
    # step. X, T, L, R are read from the stored SMX tensors, transposed.
    assert all(b == 12 for _, b in calls) and len(calls) == 4
    transposed = {a.name: (a.transpose_a, a.transpose_b) for a in g.actions}
    assert transposed["dTp=dY.R^T"] == (False, True)
    assert transposed["dR=Tp^T.dY"] == (True, False)
    assert transposed["dL=Xp^T.dT"] == (True, False)
    assert transposed["dXp=dT.L^T"] == (False, True)


def test_smx_sequential_requantizes_every_intermediate(monkeypatch):
    tt = make(QLAYERS[2], seed=14)
    x = np.random.default_rng(15).standard_normal((4, tt.M))
    calls = _count_quantize(monkeypatch)
    ctx = tt.forward(x, method="seq", numerics=SMXNumerics())
    # d = 4 GEMMs, each with a freshly INT8-quantized activation (X, then 3
    # intermediates) and an INT8 core.
    assert len(calls) == 8 and all(b == 8 for _, b in calls)
    assert rel(ctx.y, x @ tt.full()) < INT8_REL_BOUND


def test_smx_int4_inference_forward():
    tt = make(QLAYERS[2], seed=16)
    x = np.random.default_rng(17).standard_normal((8, tt.M))
    y8 = tt.forward(x, numerics=SMXNumerics()).y
    ctx = tt.forward(x, numerics=SMXNumerics(weight_bits=4, act_bits=4))
    e4, e8 = rel(ctx.y, x @ tt.full()), rel(y8, x @ tt.full())
    # INT4 keeps the block max at >= 2^2 steps: 16x coarser than INT8.
    assert e8 < e4 < 16 * 8 * e8 and e4 < 0.5
    with pytest.raises(ValueError, match="not a MAC-array mode"):
        tt.backward(ctx, np.ones((8, tt.N)))  # INT12 x INT4 does not exist


def test_prs_vs_sequential_error_ordering():
    # Counting argument: PRS with L, R contracted in FP32 and quantized once
    # has 4 INT8 quantizations on the forward path (X, L, R, T); sequential
    # has 8 (X, 4 cores, 3 intermediates). With comparable independent
    # contributions the error ratio is about sqrt(4/8) = 0.71.
    # With L, R built by SMX GEMMs from INT8 cores, PRS also has 8 (4 cores,
    # L, R, X, T), so the two should be about equal.
    seeds = tuple(range(6))
    fp = measure_prs_vs_sequential(seeds=seeds, numerics=SMXNumerics(reconstruct="fp32"))
    sm = measure_prs_vs_sequential(seeds=seeds, numerics=SMXNumerics(reconstruct="smx"))
    print(f"\nPRS(fp32 recon) {fp['prs_mean']:.4e}  PRS(smx recon) {sm['prs_mean']:.4e}  sequential {fp['seq_mean']:.4e}")
    assert fp["seq"] == sm["seq"]  # same sequential runs
    assert fp["prs_mean"] < 0.85 * fp["seq_mean"]
    assert 0.8 < sm["seq_mean"] / sm["prs_mean"] < 1.25
    assert fp["prs_mean"] < sm["prs_mean"]


@pytest.mark.parametrize("method", ["prs", "seq"])
def test_smx_backward_with_a_batch_beyond_one_accumulator(method):
    # Batch 20,000 at width 64 (4·4·4): dR reduces over b·N1 = 80,000 rows
    # and dL over b·M2 = 320,000 (PRS); the sequential core gradients over
    # up to b·16 rows. All far beyond smx_matmul's 8,260: they run as
    # smx_matmul_fp32 (FP32 sums of 8,192-row chunks).
    rng = np.random.default_rng(31)
    tt = TTMatrix((4, 4, 4), (4, 4, 4), 2, rng=rng)
    b = 20000
    x = rng.standard_normal((b, tt.M))
    dy = rng.standard_normal((b, tt.N)) / b
    nm = SMXNumerics()
    ctx = tt.forward(x, method=method, split=1 if method == "prs" else None, numerics=nm)
    g = tt.backward(ctx, dy)
    chunked = [a for a in g.actions if a.fp32_chunked]
    assert {a.name for a in chunked} == ({"dR=Tp^T.dY", "dL=Xp^T.dT"} if method == "prs" else {f"dseq{k}.core" for k in (1, 2, 3)})
    assert all(a.k > 4 * smx_mod.max_reduction_blocks() and a.reduction_chunks() == -(-a.k // 8192) for a in chunked)
    assert g.actions == tt.gemm_actions(b, method=method, split=1 if method == "prs" else None, phases=("backward", "core_grad"))
    if method == "prs":
        # dR is exactly smx_matmul_fp32 of the stored operands (Tp read transposed).
        dyq = smx_mod.smx_quantize(dy.reshape(b * 4, 16), 12)
        want = smx_mod.smx_matmul_fp32(ctx._saved["tq"].data, dyq, transpose_a=True)
        np.testing.assert_array_equal(g.dR.reshape(want.shape), want)
    # Against float64 backward of the same layer: quantization error only.
    ref = tt.backward(tt.forward(x, method=method, numerics="float64", split=1 if method == "prs" else None), dy)
    for got, want in zip(g.dcores, ref.dcores):
        assert got.dtype == np.float32
        assert np.linalg.norm(got - want) / np.linalg.norm(want) < 0.05
