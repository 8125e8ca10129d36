"""Every implemented instruction, and whole programs, equal the golden model bit for bit."""

import time

import numpy as np
import pytest

from pinta.config import load_config
from pinta.golden import adam, diffquant, fp32, reduce, rng, smx, stein_sums, tt
from pinta.sim.isa import Buffer, Fmt, MacMode
from pinta.sim.machine import Machine
from pinta.sim.programs import ProgramBuilder, gemm_program, tt_prs_forward_program

CFG = load_config("tiny")
DEFAULT = load_config("default")


def run(pb):
    m = Machine(pb.cfg, check_layout=True)  # every read decodes the buffer words and checks them
    for addr, x in pb.inputs.items():
        m.put_fp32(addr, x)
    res = m.run(pb.program)
    return m, res, (lambda t: m.read(t.descriptor(pb.cfg)))


def stored(m, pb, name):
    """Decode the tensor the program STOREd under ``name`` from DRAM."""
    addr, t = pb.outputs[name]
    return m.dram_tensor(addr, t.descriptor(pb.cfg))


def same_fp32(a, b):
    """Bitwise equality of float32 arrays; any NaN matches any NaN (NaN payloads are not in the contract)."""
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    if a.shape != b.shape:
        return False
    nan = np.isnan(a)
    return bool(np.array_equal(nan, np.isnan(b)) and np.array_equal(a[~nan].view(np.uint32), b[~nan].view(np.uint32)))


def data(shape, seed, scale=1.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)


MODES = {(8, 8): MacMode.i8x8, (12, 8): MacMode.i12x8, (8, 12): MacMode.i8x12, (4, 4): MacMode.i4x4}


@pytest.mark.parametrize("bits_a, bits_b", list(MODES))
@pytest.mark.parametrize("ta, tb", [(0, 0), (1, 0), (0, 1), (1, 1)])
def test_quant_and_gemm_equal_golden(bits_a, bits_b, ta, tb):
    m_, k_, n_ = 7, 10, 5
    a = data((k_, m_) if ta else (m_, k_), 1, 3.0)
    b = data((n_, k_) if tb else (k_, n_), 2, 0.01)
    pb = ProgramBuilder(CFG)
    qa = pb.quant(pb.load_fp32(Buffer.activations, a), bits_a)
    qb = pb.quant(pb.load_fp32(Buffer.optimizer, b), bits_b, buf=Buffer.weights)
    acc = pb.gemm(qa, qb, MODES[(bits_a, bits_b)], ta=bool(ta), tb=bool(tb))
    _, _, get = run(pb)
    ga, gb = smx.smx_quantize(a, bits_a, CFG), smx.smx_quantize(b, bits_b, CFG)
    assert get(qa) == ga and get(qb) == gb
    want = smx.smx_matmul(ga, gb, transpose_a=bool(ta), transpose_b=bool(tb), cfg=CFG)
    got = get(acc)
    assert got.shape == want.shape == (m_, n_)
    assert np.array_equal(got.acc, want.acc) and np.array_equal(got.exponents, want.exponents)


def _acc_program(bits_out=8):
    pb = ProgramBuilder(CFG)
    x, w = data((6, 9), 3), data((9, 8), 4)
    qx = pb.quant(pb.load_fp32(Buffer.activations, x), 8)
    qw = pb.quant(pb.load_fp32(Buffer.optimizer, w), 8, buf=Buffer.weights)
    acc = pb.gemm(qx, qw, MacMode.i8x8)
    golden_acc = smx.smx_matmul(smx.smx_quantize(x, 8, CFG), smx.smx_quantize(w, 8, CFG), cfg=CFG)
    return pb, acc, golden_acc


@pytest.mark.parametrize("bits", [4, 8, 12])
def test_requantize_and_readouts(bits):
    pb, acc, g = _acc_program()
    q = pb.quant(acc, bits)
    f = pb.tensor(Buffer.activations, Fmt.fp32, *g.shape)
    pb.emit("ACCF", dst=f.reg, a=acc.reg)
    d = pb.tensor(Buffer.activations, Fmt.fp32, *g.shape)
    pb.emit("DEQ", dst=d.reg, a=q.reg)
    _, _, get = run(pb)
    want_q = smx.smx_requantize(g, bits, CFG)
    assert get(q) == want_q
    assert same_fp32(get(f), g.to_fp32())
    assert np.array_equal(get(d).astype(np.float64), smx.smx_dequantize(want_q))


def test_quant_through_views_equals_golden_permutation():
    pb, acc, g = _acc_program()   # acc is 6x8
    v = pb.view((2, 3, 4, 2), (0, 2, 1, 3))
    qa = pb.quant(acc, 8, 8, 6, view=v)
    x = data((4, 12), 5)
    tx = pb.load_fp32(Buffer.activations, x)
    v2 = pb.view((4, 3, 4), (2, 0, 1))
    qx = pb.quant(tx, 12, 16, 3, view=v2)
    _, _, get = run(pb)
    want_a = smx.smx_quantize(g.to_float().reshape(2, 3, 4, 2).transpose(0, 2, 1, 3).reshape(8, 6), 8, CFG)
    want_x = smx.smx_quantize(x.astype(np.float64).reshape(4, 3, 4).transpose(2, 0, 1).reshape(16, 3), 12, CFG)
    assert get(qa) == want_a
    assert get(qx) == want_x


def test_diffquant_equals_golden():
    pb = ProgramBuilder(CFG)
    x, d = data((5, 7), 6), data((5, 7), 7, 0.01)
    tx, td = pb.load_fp32(Buffer.activations, x), pb.load_fp32(Buffer.activations, d)
    qb, qd = pb.tensor(Buffer.activations, Fmt.smx8, 5, 7), pb.tensor(Buffer.activations, Fmt.smx8, 5, 7)
    pb.emit("DIFFQ", qbase=qb.reg, qdiff=qd.reg, base=tx.reg, diff=td.reg)
    _, _, get = run(pb)
    wb, wd = diffquant.diffquant_quantize(x, d, 8, CFG)
    assert get(qb) == wb and get(qd) == wd


SPECIALS = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -3e-39, 3.4e38, 1.0, -2.5], dtype=np.float32)


def _vector_inputs():
    a = np.concatenate([SPECIALS, data(22, 8, 4.0)]).reshape(4, 8)
    b = np.concatenate([SPECIALS[::-1], data(22, 9, 4.0)]).reshape(4, 8)
    return a, b


@pytest.mark.parametrize("mnemonic, golden", [
    ("VADD", lambda a, b: a + b), ("VSUB", lambda a, b: a - b),
    ("VMUL", lambda a, b: a * b), ("VDIV", lambda a, b: a / b),
])
def test_vector_primitives_equal_ieee_fp32(mnemonic, golden):
    a, b = _vector_inputs()
    pb = ProgramBuilder(CFG)
    ta, tb = pb.load_fp32(Buffer.optimizer, a), pb.load_fp32(Buffer.optimizer, b)
    out = pb.tensor(Buffer.optimizer, Fmt.fp32, *a.shape)
    pb.emit(mnemonic, dst=out.reg, a=ta.reg, b=tb.reg)
    _, _, get = run(pb)
    with np.errstate(all="ignore"):
        assert same_fp32(get(out), golden(a, b))


@pytest.mark.parametrize("mnemonic, golden", [
    ("VSQRT", fp32.fp32_sqrt), ("VTANH", fp32.fp32_tanh), ("VSIN", fp32.fp32_sin), ("VCOS", fp32.fp32_cos),
    ("VDTANH", fp32.fp32_tanh_grad_from_output), ("VNEG", np.negative),
])
def test_unary_vector_and_special_functions_equal_golden(mnemonic, golden):
    a, _ = _vector_inputs()
    if mnemonic == "VDTANH":
        a = fp32.fp32_tanh(a)  # its input is the forward output t = tanh(x)
    pb = ProgramBuilder(CFG)
    ta = pb.load_fp32(Buffer.optimizer, a)
    out = pb.tensor(Buffer.optimizer, Fmt.fp32, *a.shape)
    pb.emit(mnemonic, dst=out.reg, a=ta.reg)
    _, _, get = run(pb)
    with np.errstate(all="ignore"):
        assert same_fp32(get(out), golden(a))


@pytest.mark.parametrize("axis", [0, 1])
def test_tree_sum_equals_golden(axis):
    a = data((5, 11), 10, 100.0)
    pb = ProgramBuilder(CFG)
    ta = pb.load_fp32(Buffer.optimizer, a)
    out = pb.tensor(Buffer.optimizer, Fmt.fp32, *((1, 11) if axis == 0 else (5, 1)))
    pb.emit("VSUM", dst=out.reg, a=ta.reg, axis=axis)
    _, _, get = run(pb)
    assert same_fp32(get(out).reshape(-1), reduce.tree_sum(a, axis=axis))


def test_stein_pair_sums_equal_golden():
    up, um = data((3, 16), 11, 1e-3), data((3, 16), 12, 1e-3)
    pb = ProgramBuilder(CFG)
    tu, tm = pb.load_fp32(Buffer.activations, up), pb.load_fp32(Buffer.activations, um)
    gd, gs = pb.tensor(Buffer.activations, Fmt.fp32, 3, 16), pb.tensor(Buffer.activations, Fmt.fp32, 3, 16)
    pb.emit("STEIN", gdiff=gd.reg, gsum=gs.reg, up=tu.reg, um=tm.reg)
    _, _, get = run(pb)
    wd, ws = stein_sums.stein_pair_sums(up, um)
    assert same_fp32(get(gd), wd) and same_fp32(get(gs), ws)


def test_adam_steps_equal_golden():
    w, g1, g2 = data((3, 5), 13), data((3, 5), 14), data((3, 5), 15)
    lr0, b1, b2, eps, total = np.float32(1e-3), np.float32(0.9), np.float32(0.999), np.float32(1e-8), 10
    scalars = np.array([[lr0, b1, b2, eps, 1.0, 1.0, 0, 0]], dtype=np.float32)
    pb = ProgramBuilder(CFG)
    tw = pb.load_fp32(Buffer.optimizer, w)
    tm = pb.load_fp32(Buffer.optimizer, np.zeros_like(w))
    tv = pb.load_fp32(Buffer.optimizer, np.zeros_like(w))
    ts = pb.load_fp32(Buffer.optimizer, scalars)
    tg1, tg2 = pb.load_fp32(Buffer.gradients, g1), pb.load_fp32(Buffer.gradients, g2)
    for step, tg in enumerate((tg1, tg2)):
        pb.emit("ADAM", w=tw.reg, m=tm.reg, v=tv.reg, g=tg.reg, s=ts.reg, step=step, total=total)
    pb.emit("BARRIER")
    _, _, get = run(pb)
    ww, st = w, adam.adam_init(w.shape)
    for step, g in enumerate((g1, g2)):
        ww, st = adam.adam_step(ww, g, st, adam.linear_decay_lr(lr0, step, total), b1, b2, eps)
    assert same_fp32(get(tw), ww) and same_fp32(get(tm), st.m) and same_fp32(get(tv), st.v)
    s = get(ts).reshape(-1)
    assert same_fp32(s[4:6], np.array([st.beta1_pow, st.beta2_pow], np.float32))


def test_rng_equals_golden_normal_times_scale():
    pb = ProgramBuilder(CFG)
    out = pb.tensor(Buffer.activations, Fmt.fp32, 3, 7)
    pb.emit("RNG", dst=out.reg, seed=1234, stream=2, ctr=40, scale=int(np.array(0.01, np.float32).view(np.uint32)))
    _, _, get = run(pb)
    want = np.float32(0.01) * rng.normal(1234, 2, 40, 21)
    assert same_fp32(get(out), want.reshape(3, 7))


def test_gemm_program_with_requantize_round_trips_through_dram():
    x, w = data((20, 33), 16), data((17, 33), 17)
    pb = gemm_program(CFG, x, w, bits_x=12, bits_w=8, out_bits=8, transpose_w=True)
    m, res, _ = run(pb)
    g = smx.smx_matmul(smx.smx_quantize(x, 12, CFG), smx.smx_quantize(w, 8, CFG), transpose_b=True, cfg=CFG)
    got = stored(m, pb, "acc")
    assert np.array_equal(got.acc, g.acc) and np.array_equal(got.exponents, g.exponents)
    assert stored(m, pb, "y") == smx.smx_requantize(g, 8, CFG)
    assert res.analysis.actions["mac_i12x8"] == 20 * 36 * 20  # padded M·K·N


@pytest.mark.parametrize("split", [1, 2, 3])
def test_tt_layer_prs_forward_equals_golden(split):
    gen = np.random.default_rng(split)
    ref = tt.TTMatrix(in_modes=(4, 2, 4, 2), out_modes=(2, 4, 2, 4), ranks=(1, 2, 3, 2, 1), rng=gen)
    cores = [c.astype(np.float32) for c in ref.cores]
    layer = tt.TTMatrix.from_cores([c.astype(np.float64) for c in cores])
    x = data((5, layer.M), 18)
    ctx = layer.forward(x.astype(np.float64), method="prs", split=split, numerics=tt.SMXNumerics(DEFAULT))
    pb = tt_prs_forward_program(DEFAULT, cores, x, split)
    m, res, _ = run(pb)
    got = stored(m, pb, "y_acc")
    assert got.shape == ctx.acc.shape
    assert np.array_equal(got.acc, ctx.acc.acc) and np.array_equal(got.exponents, ctx.acc.exponents)
    assert np.array_equal(got.to_float().reshape(5, layer.N), ctx.y)
    # One GEMM per extra core in each half, plus the two PRS GEMMs.
    gemms = [i for i in pb.program if i.mnemonic == "GEMM"]
    assert len(gemms) == (split - 1) + (4 - split - 1) + 2


def test_diffquant_first_layer_program_equals_golden():
    from pinta.sim.programs import diffquant_first_layer_program

    x, d, w = data((9, 21), 19), data((9, 21), 20, 0.01), data((21, 16), 21, 0.3)
    pb = diffquant_first_layer_program(CFG, x, d, w)
    m, res, _ = run(pb)
    want = diffquant.diffquant_first_layer(x, d, w, 8, CFG)
    for name, g in zip(("base", "diff"), want):
        got = stored(m, pb, name)
        assert np.array_equal(got.acc, g.acc) and np.array_equal(got.exponents, g.exponents)
    # DIFFQ quantizes two 9x21 tensors (3x6 blocks each), QUANT the 21x16 W (6x4 blocks).
    assert res.analysis.actions["quantizer_blocks"] == 2 * 3 * 6 + 6 * 4


def same_acc(a, b):
    return a.shape == b.shape and np.array_equal(a.acc, b.acc) and np.array_equal(a.exponents, b.exponents)


@pytest.mark.parametrize("split, modes", [(2, ((4, 2, 4, 2), (2, 4, 2, 4))), (1, ((2, 4, 2), (4, 2, 2))), (2, ((2, 4, 2), (4, 2, 2)))])
def test_tt_layer_prs_backward_equals_golden(split, modes):
    """Forward and backward of a TT layer: dX, dL, dR and every core gradient, bit for bit."""
    from pinta.sim.programs import tt_prs_program

    gen = np.random.default_rng(7 + split)
    ref = tt.TTMatrix(in_modes=modes[0], out_modes=modes[1], ranks=2, rng=gen)
    cores = [c.astype(np.float32) for c in ref.cores]
    layer = tt.TTMatrix.from_cores([c.astype(np.float64) for c in cores])
    b = 3
    x, dy = data((b, layer.M), 22), data((b, layer.N), 23, 0.1)
    ctx = layer.forward(x.astype(np.float64), method="prs", split=split, numerics=tt.SMXNumerics(DEFAULT))
    grads = layer.backward(ctx, dy.astype(np.float64))
    pb = tt_prs_program(DEFAULT, cores, x, split, dy)
    m, res, _ = run(pb)
    assert same_acc(stored(m, pb, "y_acc"), ctx.acc)
    M1, M2, N1, N2, r = layer.split_sizes(split)
    dxp = stored(m, pb, "dxp_acc").to_float()
    assert np.array_equal(dxp.reshape(b, M2, M1).transpose(0, 2, 1).reshape(b, layer.M), grads.dx)
    assert np.array_equal(stored(m, pb, "dL_acc").to_float().reshape(M1, N1, r), grads.dL)
    assert np.array_equal(stored(m, pb, "dR_acc").to_float().reshape(r, M2, N2), grads.dR)
    assert len(grads.dcores) == layer.d
    for k, g in enumerate(grads.dcores):
        got = stored(m, pb, f"dcore{k}")
        assert same_fp32(got.reshape(g.shape), g), k
    if layer.d == 4:  # more tensors than descriptor registers: the builder re-binds (TDESC again)
        from pinta.sim.isa import NUM_DESCRIPTORS
        assert sum(i.mnemonic == "TDESC" for i in pb.program) > NUM_DESCRIPTORS
    # Both INT12 sides of the backward modes were used.
    assert res.analysis.actions["mac_i12x8"] > 0
    assert {i["mode"] for i in pb.program if i.mnemonic == "GEMM"} >= {int(MacMode.i12x8), int(MacMode.i8x12)}


def test_shadow_values_never_go_stale():
    """A fast-path read after an overlapping LOAD returns the new words, not the old value."""
    x = data((4, 8), 24)
    pb = ProgramBuilder(CFG)
    t = pb.load_fp32(Buffer.optimizer, x)
    out = pb.tensor(Buffer.optimizer, Fmt.fp32, 4, 8)
    pb.emit("VTANH", dst=out.reg, a=t.reg)
    # Reload x over the VTANH result (same words, fp32 layout), then negate it.
    pb.emit("LOAD", dst=out.reg, dram=next(iter(pb.inputs)))
    neg = pb.tensor(Buffer.optimizer, Fmt.fp32, 4, 8)
    pb.emit("VNEG", dst=neg.reg, a=out.reg)
    m = Machine(CFG)  # fast path
    for addr, v in pb.inputs.items():
        m.put_fp32(addr, v)
    m.run(pb.program)
    assert same_fp32(m.read(neg.descriptor(CFG)), -x)


def test_check_layout_catches_words_that_disagree_with_the_value():
    pb, acc, g = _acc_program()
    m = Machine(CFG, check_layout=True)
    for addr, v in pb.inputs.items():
        m.put_fp32(addr, v)
    m.run(pb.program)
    d = acc.descriptor(CFG)
    assert same_acc(m.read(d), g)
    m.buffers[d.buf][d.addr] ^= np.uint64(1)  # flip one accumulator bit behind the machine's back
    with pytest.raises(AssertionError, match="do not decode"):
        m.read(d)


def test_run_time_refusals_name_the_instruction():
    """A golden function refusing data (FP32 overflow in ACCF) surfaces as an error naming the instruction,
    or with ``faults="stop"`` as the hardware's run-time fault ACCF_OVERFLOW."""
    from pinta.sim.program import ProgramError

    pb = ProgramBuilder(CFG)
    big = np.full((4, 4), 3e38, dtype=np.float32)
    q = pb.quant(pb.load_fp32(Buffer.activations, big), 8)
    acc = pb.gemm(q, q, MacMode.i8x8)  # 4 · (3e38)² overflows FP32 by far
    pb.accf(acc)
    m = Machine(CFG)
    for addr, v in pb.inputs.items():
        m.put_fp32(addr, v)
    with pytest.raises(ProgramError, match=r"instruction \d+ \(ACCF\): at run time: .*overflow float32"):
        m.run(pb.program)
    # As the hardware does, a run may instead stop cleanly at the fault (error ACCF_OVERFLOW).
    m = Machine(CFG)
    for addr, v in pb.inputs.items():
        m.put_fp32(addr, v)
    stop = m.run(pb.program, faults="stop").stop
    assert stop.code == "ACCF_OVERFLOW" and pb.program[stop.index].mnemonic == "ACCF"


def test_stein_estimates_equal_golden():
    B, K, D = 3, 6, 5
    up, um = data((B, K), 25, 1e-3), data((B, K), 26, 1e-3)
    delta = data((B * K, D), 27, 0.01)
    sigma = np.float32(0.01)
    pb = ProgramBuilder(CFG)
    tu, tm = pb.load_fp32(Buffer.activations, up), pb.load_fp32(Buffer.activations, um)
    td = pb.load_fp32(Buffer.activations, delta)
    g = pb.tensor(Buffer.activations, Fmt.fp32, B, D)
    lap = pb.tensor(Buffer.activations, Fmt.fp32, B, 1)
    val = pb.tensor(Buffer.activations, Fmt.fp32, B, 1)
    pb.emit("STEINE", grad=g.reg, lap=lap.reg, val=val.reg, up=tu.reg, um=tm.reg, d=td.reg,
            sigma=int(np.array(sigma).view(np.uint32)))
    _, res, get = run(pb)
    wg, wl, wv = stein_sums.stein_estimates(up, um, delta.reshape(B, K, D), sigma)
    assert same_fp32(get(g), wg) and same_fp32(get(lap).reshape(-1), wl) and same_fp32(get(val).reshape(-1), wv)
    assert res.analysis.actions["stein_estimate_terms"] == B * K * (D + 2)


def test_golden_time_is_counted_only_when_asked():
    pb, _, _ = _acc_program()
    counted = []
    for timed in (False, True):
        m = Machine(CFG, time_golden=timed)
        for addr, v in pb.inputs.items():
            m.put_fp32(addr, v)
        t0 = time.process_time()
        m.run(pb.program)
        counted.append((m.golden_seconds, time.process_time() - t0))
    assert counted[0][0] == 0.0
    assert 0.0 < counted[1][0] <= counted[1][1]
