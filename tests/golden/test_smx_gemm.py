"""SMX GEMM (docs/numerics.md §3) against a deliberately slow reference.

The reference walks every output block and every reduction block with Python
integers (unbounded, `>>` floors), so it is an independent reading of the
rule. golden/smx.py computes the same numbers with a float64 BLAS fast path
plus an integer slow path; every test here asserts bit equality.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pinta.config import PintaConfig
from pinta.golden import SMXAccumulator, SMXTensor, smx_matmul, smx_quantize, smx_requantize
from pinta.golden import smx as smx_module

CFG = PintaConfig()
G = CFG.align_guard_bits
MODES = [(8, 8), (12, 8), (8, 12), (4, 4)]


def reference_matmul(a_codes, a_exps, b_codes, b_exps, bits_a, bits_b, cfg=CFG):
    """Slow, obviously-correct SMX GEMM. Returns (acc, out_exponents) as int64 arrays."""
    a = [[int(v) for v in row] for row in np.asarray(a_codes)]
    b = [[int(v) for v in row] for row in np.asarray(b_codes)]
    ea = [[int(v) for v in row] for row in np.asarray(a_exps)]
    eb = [[int(v) for v in row] for row in np.asarray(b_exps)]
    m, k, n = len(a), len(b), len(b[0])
    mb, kb, nb = m // 4, k // 4, n // 4
    guard = cfg.align_guard_bits
    worst = 4 * (2 ** (bits_a - 1) - 1) * (2 ** (bits_b - 1) - 1)
    assert kb * worst * 2**guard < 2 ** (cfg.accumulator_bits - 1), "reference: reduction too long"
    acc = [[0] * n for _ in range(m)]
    out_exps = [[0] * nb for _ in range(mb)]
    for bi in range(mb):
        ra = max(ea[bi])
        for bj in range(nb):
            rb = max(eb[kk][bj] for kk in range(kb))
            out_exps[bi][bj] = ra + rb - guard
            for kk in range(kb):
                shift = ra + rb - (ea[bi][kk] + eb[kk][bj])
                for i in range(4 * bi, 4 * bi + 4):
                    for j in range(4 * bj, 4 * bj + 4):
                        partial = sum(a[i][t] * b[t][j] for t in range(4 * kk, 4 * kk + 4))
                        acc[i][j] += (partial << guard) >> shift
    for row in acc:
        assert all(abs(v) < 2 ** (cfg.accumulator_bits - 1) for v in row)
    return np.array(acc, dtype=np.int64), np.array(out_exps, dtype=np.int64)


def assert_gemm_exact(a: SMXTensor, b: SMXTensor, transpose_a=False, transpose_b=False, cfg=CFG):
    result = smx_matmul(a, b, transpose_a=transpose_a, transpose_b=transpose_b, cfg=cfg)
    op_a = a.T if transpose_a else a
    op_b = b.T if transpose_b else b
    acc, exps = reference_matmul(op_a.codes, op_a.exponents, op_b.codes, op_b.exponents, a.bits, b.bits, cfg)
    assert result.acc.dtype == np.int64 and result.exponents.dtype == np.int32
    np.testing.assert_array_equal(result.acc, acc)
    np.testing.assert_array_equal(result.exponents, exps)
    assert result.shape == (op_a.shape[0], op_b.shape[1])
    # to_float is the exact value acc * 2**E, element by element.
    values = result.to_float()
    for (i, j) in [(0, 0), (result.shape[0] - 1, result.shape[1] - 1)]:
        assert Fraction(float(values[i, j])) == Fraction(int(acc[i, j])) * Fraction(2) ** int(exps[i // 4, j // 4])
    return result


def random_tensor(rng, shape, bits, exp_lo=-6, exp_hi=3, zero_block_fraction=0.0):
    """An SMXTensor built directly from random codes and exponents."""
    p, q = -(-shape[0] // 4) * 4, -(-shape[1] // 4) * 4
    limit = 2 ** (bits - 1) - 1
    codes = rng.integers(-limit, limit + 1, size=(p, q))
    exps = rng.integers(exp_lo, exp_hi + 1, size=(p // 4, q // 4))
    zero = rng.random((p // 4, q // 4)) < zero_block_fraction
    codes[np.kron(zero, np.ones((4, 4), bool))] = 0
    exps[zero] = CFG.exponent_min
    codes[shape[0]:, :] = 0
    codes[:, shape[1]:] = 0
    return SMXTensor(codes.astype(np.int16), exps.astype(np.int16), shape, bits)


@pytest.fixture
def slow_path_calls(monkeypatch):
    """Per call of the engine's exact slow path: (row blocks treated, reduction blocks treated)."""
    calls = []
    original = smx_module._slow_blocks

    def counting(acc, rows, ks, *args):
        calls.append((len(rows), len(ks)))
        return original(acc, rows, ks, *args)

    monkeypatch.setattr(smx_module, "_slow_blocks", counting)
    return calls


@pytest.mark.parametrize("bits_a,bits_b", MODES)
@pytest.mark.parametrize("orientation", ["AB", "ABt", "AtB", "AtBt"])
def test_quantized_gemm_is_bit_exact(bits_a, bits_b, orientation):
    rng = np.random.default_rng(hash((bits_a, bits_b, orientation)) % 2**32)
    m, k, n = 9, 22, 7  # none a multiple of 4
    ta, tb = "At" in orientation, "Bt" in orientation
    x = rng.standard_normal((k, m) if ta else (m, k)) * np.exp(rng.normal(0, 2, size=(1, k) if not ta else (k, 1)))
    y = rng.standard_normal((n, k) if tb else (k, n))
    a, b = smx_quantize(x, bits_a), smx_quantize(y, bits_b)
    result = assert_gemm_exact(a, b, ta, tb)
    exact = (x.T if ta else x) @ (y.T if tb else y)
    # Sanity against float: quantization error only, well under 10 %.
    rel = np.linalg.norm(result.to_float() - exact) / np.linalg.norm(exact)
    assert rel < {4: 0.5, 8: 0.05, 12: 0.05}[min(bits_a, bits_b)]


@pytest.mark.parametrize("bits_a,bits_b", MODES)
def test_slow_path_huge_exponent_spread(bits_a, bits_b, slow_path_calls):
    rng = np.random.default_rng(bits_a * 100 + bits_b)
    a = random_tensor(rng, (10, 23), bits_a, -3, 0)
    b = random_tensor(rng, (23, 13), bits_b, -2, 1)
    # One reduction block per line 2**30 above the rest: the others shift by
    # ~30 > G and lose bits in the floor, which only the slow path gets right.
    ea = a.exponents.copy()
    ea[0, 2] = 27
    eb = b.exponents.copy()
    eb[4, 1] = 30
    a = SMXTensor(a.codes.copy(), ea, a.shape, a.bits)
    b = SMXTensor(b.codes.copy(), eb, b.shape, b.bits)
    for ta, tb in [(False, False), (True, True)]:
        aa, bb = (b, a) if ta else (a, b)  # Bᵀ·Aᵀ = (A·B)ᵀ
        assert_gemm_exact(aa, bb, ta, tb)
    assert slow_path_calls and all(rows > 0 and ks > 0 for rows, ks in slow_path_calls)


@pytest.mark.parametrize("bits_a,bits_b", MODES)
def test_zero_blocks_and_shift_boundary(bits_a, bits_b, slow_path_calls):
    # Exponents spread over 0..G+2 so that s_A + s_B falls on both sides of G,
    # plus zero blocks (exponent E_min, a shift of ~128) that must not matter.
    rng = np.random.default_rng(7 + bits_a)
    a = random_tensor(rng, (16, 32), bits_a, 0, G // 2 + 1, zero_block_fraction=0.3)
    b = random_tensor(rng, (32, 12), bits_b, 0, G // 2 + 1, zero_block_fraction=0.3)
    assert_gemm_exact(a, b)
    assert_gemm_exact(b, a, True, True)


def test_zero_blocks_keep_the_fast_path(slow_path_calls):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((12, 16))
    x[:, 4:8] = 0.0  # a zero column of blocks: shifts of ~128 against E_min
    w = rng.standard_normal((16, 8))
    w[8:12, :] = 0.0
    assert_gemm_exact(smx_quantize(x, 8), smx_quantize(w, 8))
    assert slow_path_calls == []


@pytest.mark.parametrize("bits_a,bits_b", MODES)
def test_max_magnitude_codes(bits_a, bits_b):
    la, lb = 2 ** (bits_a - 1) - 1, 2 ** (bits_b - 1) - 1
    k = 64
    signs = np.where(np.arange(k) % 3 == 0, -1, 1)
    a = SMXTensor(np.tile(la * signs, (8, 1)).astype(np.int16), np.full((2, k // 4), CFG.exponent_max, np.int16), (8, k), bits_a)
    b = SMXTensor(np.tile((lb * signs)[:, None], (1, 4)).astype(np.int16), np.full((k // 4, 1), CFG.exponent_min, np.int16), (k, 4), bits_b)
    r = assert_gemm_exact(a, b)
    # All shifts are 0: every element is exactly K * la * lb * 2**(Emax+Emin).
    np.testing.assert_array_equal(r.to_float(), np.full((8, 4), k * la * lb * 2.0 ** (CFG.exponent_max + CFG.exponent_min)))


@given(
    st.sampled_from(MODES),
    st.integers(1, 13),
    st.integers(1, 21),
    st.integers(1, 9),
    st.integers(0, 2**32 - 1),
    st.integers(0, 24),
    st.floats(0.0, 0.5),
)
@settings(max_examples=40, deadline=None)
def test_random_tensors_bit_exact(mode, m, k, n, seed, spread, zero_fraction):
    rng = np.random.default_rng(seed)
    a = random_tensor(rng, (m, k), mode[0], -spread // 2, spread - spread // 2, zero_fraction)
    b = random_tensor(rng, (k, n), mode[1], -spread // 2, spread - spread // 2, zero_fraction)
    assert_gemm_exact(a, b)


def test_result_does_not_depend_on_reduction_order():
    rng = np.random.default_rng(11)
    a = random_tensor(rng, (8, 40), 12, -20, 10)
    b = random_tensor(rng, (40, 8), 8, -20, 10)
    perm = rng.permutation(10)
    cols = (perm[:, None] * 4 + np.arange(4)).ravel()
    a2 = SMXTensor(a.codes[:, cols].copy(), a.exponents[:, perm].copy(), a.shape, 12)
    b2 = SMXTensor(b.codes[cols, :].copy(), b.exponents[perm, :].copy(), b.shape, 8)
    r1, r2 = smx_matmul(a, b), smx_matmul(a2, b2)
    np.testing.assert_array_equal(r1.acc, r2.acc)
    np.testing.assert_array_equal(r1.exponents, r2.exponents)


def test_accumulator_overflow_is_refused_at_the_bound():
    cfg = PintaConfig(accumulator_bits=43)  # smallest legal with G = 16
    worst = 4 * 2047 * 127
    longest = (2 ** (cfg.accumulator_bits - 1) - 1) // (worst * 2**cfg.align_guard_bits)
    ok_k, bad_k = 4 * longest, 4 * (longest + 1)
    a = smx_quantize(np.ones((4, ok_k)), 12, cfg)
    b = smx_quantize(np.ones((ok_k, 4)), 8, cfg)
    assert_gemm_exact(a, b, cfg=cfg)
    a = smx_quantize(np.ones((4, bad_k)), 12, cfg)
    b = smx_quantize(np.ones((bad_k, 4)), 8, cfg)
    with pytest.raises(ValueError, match=rf"overflow the 43-bit accumulator.*K = {ok_k}"):
        smx_matmul(a, b, cfg=cfg)


def test_unsupported_modes_and_shapes_are_refused():
    a8 = smx_quantize(np.ones((5, 6)), 8)
    with pytest.raises(ValueError, match=r"\(8, 4\).*\{8, 8\}, \{12, 8\}, \{4, 4\}"):
        smx_matmul(a8, smx_quantize(np.ones((6, 3)), 4))
    with pytest.raises(ValueError, match=r"\(12, 12\)"):
        smx_matmul(smx_quantize(np.ones((5, 6)), 12), smx_quantize(np.ones((6, 3)), 12))
    with pytest.raises(ValueError, match=r"\(5, 6\).*\(7, 3\)"):
        smx_matmul(a8, smx_quantize(np.ones((7, 3)), 8))
    # transpose_b makes the same pair compatible
    assert smx_matmul(a8, smx_quantize(np.ones((3, 6)), 8), transpose_b=True).shape == (5, 3)
    with pytest.raises(TypeError):
        smx_matmul(np.ones((4, 4)), a8)
    wide = SMXTensor(np.ones((4, 4), np.int16), np.full((1, 1), 300, np.int16), (4, 4), 8)
    with pytest.raises(ValueError, match="outside cfg"):
        smx_matmul(wide, wide)


def reference_fp32(value: Fraction) -> np.float32:
    """Round-to-nearest-even to float32 by bracketing with nextafter."""
    lo = np.float32(float(value))
    while Fraction(float(lo)) > value:
        lo = np.nextafter(lo, np.float32(-np.inf))
    while Fraction(float(np.nextafter(lo, np.float32(np.inf)))) <= value:
        lo = np.nextafter(lo, np.float32(np.inf))
    hi = np.nextafter(lo, np.float32(np.inf))
    d_lo, d_hi = value - Fraction(float(lo)), Fraction(float(hi)) - value
    if d_lo < d_hi:
        return lo
    if d_hi < d_lo:
        return hi
    return lo if int(np.array(lo).view(np.uint32)) % 2 == 0 else hi


def test_to_fp32_is_round_to_nearest_even_of_exact_value():
    # INT12×INT8 over K = 512 gives accumulators with up to ~40 significant bits.
    rng = np.random.default_rng(5)
    a = random_tensor(rng, (8, 512), 12, -4, 4)
    b = random_tensor(rng, (512, 8), 8, -4, 4)
    r = smx_matmul(a, b)
    got = r.to_fp32()
    assert got.dtype == np.float32 and got.shape == (8, 8)
    exps = r.exponents
    for i in range(8):
        for j in range(8):
            exact = Fraction(int(r.acc[i, j])) * Fraction(2) ** int(exps[i // 4, j // 4])
            assert got[i, j] == reference_fp32(exact)
    # Exact ties: 2**24 + 1 and 2**24 + 3 go to the even neighbours.
    acc = np.zeros((4, 4), np.int64)
    acc[0, :3] = [2**24 + 1, 2**24 + 3, -(2**24 + 1)]
    tie = SMXAccumulator(acc, np.zeros((1, 1), np.int32), (4, 4))
    assert tie.to_fp32()[0, :3].tolist() == [2.0**24, 2.0**24 + 4, -(2.0**24)]


def test_to_fp32_overflow_is_refused():
    acc = np.zeros((4, 4), np.int64)
    acc[1, 2] = 3
    big = SMXAccumulator(acc, np.full((1, 1), 127, np.int32), (4, 4))
    assert np.isfinite(big.to_float()).all()
    with pytest.raises(ValueError, match=r"overflow float32.*\(1, 2\)"):
        big.to_fp32()


def test_requantize_is_quantize_of_exact_value():
    rng = np.random.default_rng(9)
    x, w = rng.standard_normal((9, 10)), rng.standard_normal((10, 6))
    r = smx_matmul(smx_quantize(x, 8), smx_quantize(w, 8))
    for bits in (8, 12):
        assert smx_requantize(r, bits) == smx_quantize(r.to_float(), bits)


def test_accumulator_constructor_validates():
    with pytest.raises(TypeError):
        SMXAccumulator(np.zeros((4, 4), np.int32), np.zeros((1, 1), np.int32), (4, 4))
    with pytest.raises(ValueError, match="exponents must have shape"):
        SMXAccumulator(np.zeros((4, 8), np.int64), np.zeros((1, 1), np.int32), (4, 8))
    with pytest.raises(ValueError, match="2\\*\\*52"):
        SMXAccumulator(np.full((4, 4), 2**60, np.int64), np.zeros((1, 1), np.int32), (4, 4))


@pytest.mark.parametrize("extra", [0, 1])
def test_fast_path_boundary_at_exactly_g(extra, slow_path_calls):
    # Reduction block 0 carries sA = G/2 and sB = G/2 + extra: total G (the
    # largest shift the float path may take) or G + 1 (must go slow).
    half = G // 2
    a_codes = np.full((4, 16), 127, np.int16)
    a_codes[:, ::2] = -125  # odd codes: any lost low bit would show
    b_codes = np.full((16, 4), 127, np.int16)
    ea = np.array([[0, half, half, half]], np.int16)
    eb = np.array([[0], [half + extra], [half + extra], [half + extra]], np.int16)
    a = SMXTensor(a_codes, ea, (4, 16), 8)
    b = SMXTensor(b_codes, eb, (16, 4), 8)
    assert_gemm_exact(a, b)
    assert (slow_path_calls == []) == (extra == 0)


def test_fast_engine_equals_integer_path_at_scale(slow_path_calls):
    # Larger than the reference loop can handle: the BLAS fast path (blocked
    # internally, any summation order) must equal the integer slow path, which
    # the tests above tie to the reference. Row scales 2**0..2**20 put some
    # output blocks on each side of the fast-path test.
    rng = np.random.default_rng(21)
    x = rng.standard_normal((512, 256)) * np.ldexp(1.0, rng.integers(0, 21, size=(1, 256)))
    w = rng.standard_normal((256, 64))
    w[:, :8] = 0.0
    a, b = smx_quantize(x, 12), smx_quantize(w, 8)
    fast = smx_matmul(a, b)
    # both paths taken: some reduction blocks need the floor, most go through BLAS alone
    assert slow_path_calls and 0 < slow_path_calls[0][1] < a.exponents.shape[1]
    # The same product with every output block sent down the integer path.
    acc = np.zeros_like(fast.acc)
    ea, eb = a.exponents.astype(np.int64), b.exponents.astype(np.int64)
    smx_module._slow_path(
        acc, np.ones(fast.exponents.shape, bool), a.codes, ea, ea.max(axis=1), (4, 4), b.codes, eb, eb.max(axis=0), (4, 4), G
    )
    np.testing.assert_array_equal(fast.acc, acc)


@pytest.mark.parametrize("acc_bits,guard", [(53, 16), (53, 24), (43, 16)])
def test_other_accumulator_configs(acc_bits, guard):
    # 53 bits takes the plain float->int64 cast; 43 the biased-view conversion.
    cfg = PintaConfig(accumulator_bits=acc_bits, align_guard_bits=guard)
    rng = np.random.default_rng(acc_bits + guard)
    a = random_tensor(rng, (9, 30), 12, -10, 10, 0.2)
    b = random_tensor(rng, (30, 11), 8, -10, 10, 0.2)
    assert_gemm_exact(a, b, cfg=cfg)
    assert_gemm_exact(b, a, True, True, cfg=cfg)


# ---------------------------------------------------------------------------
# Long reductions: smx_matmul_fp32 (docs/numerics.md §3, "Long reductions")
# ---------------------------------------------------------------------------

def reference_matmul_fp32(a: SMXTensor, b: SMXTensor, cfg=CFG) -> np.ndarray:
    """Chunks of max_reduction_blocks blocks, each by the reference loop, rounded once
    to FP32 (reference_fp32), summed in float32 in chunk order."""
    worst = 4 * 2047 * 127  # INT12×INT8, the widest mode
    longest = (2 ** (cfg.accumulator_bits - 1) - 1) // (worst * 2**cfg.align_guard_bits)
    blocks = 1
    while 2 * blocks <= longest:
        blocks *= 2
    step = 4 * blocks
    total = None
    for lo in range(0, a.codes.shape[1], step):
        hi = min(lo + step, a.codes.shape[1])
        acc, exps = reference_matmul(a.codes[:, lo:hi], a.exponents[:, lo // 4 : hi // 4], b.codes[lo:hi], b.exponents[lo // 4 : hi // 4], a.bits, b.bits, cfg)
        part = np.array(
            [[reference_fp32(Fraction(int(acc[i, j])) * Fraction(2) ** int(exps[i // 4, j // 4])) for j in range(b.shape[1])] for i in range(a.shape[0])],
            dtype=np.float32,
        )
        total = part if total is None else np.float32(total + part)
    return total


def test_max_reduction_blocks_is_the_largest_safe_power_of_two():
    for cfg in (CFG, PintaConfig(accumulator_bits=43), PintaConfig(accumulator_bits=53, align_guard_bits=20)):
        n = smx_module.max_reduction_blocks(cfg)
        assert n & (n - 1) == 0
        worst = 4 * 2047 * 127 * 2**cfg.align_guard_bits
        assert n * worst < 2 ** (cfg.accumulator_bits - 1) <= 2 * n * worst
        smx_module.check_accumulator_bound(n, 4, 12, 8, cfg)  # the bound holds ...
    with pytest.raises(ValueError):
        smx_module.check_accumulator_bound(2 * smx_module.max_reduction_blocks(cfg), 4, 12, 8, cfg)  # ... and not at twice
    # The default config's figure quoted in docs/numerics.md and docs/tt.md.
    assert smx_module.max_reduction_blocks(CFG) == 2048


@pytest.mark.parametrize("bits_a,bits_b", MODES)
@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True)])
def test_fp32_one_chunk_equals_to_fp32(bits_a, bits_b, ta, tb):
    rng = np.random.default_rng(bits_a * 7 + bits_b + 2 * ta + tb)
    shape_a, shape_b = (9, 37), (37, 6)
    a = random_tensor(rng, shape_a[::-1] if ta else shape_a, bits_a, -12, 12, 0.2)
    b = random_tensor(rng, shape_b[::-1] if tb else shape_b, bits_b, -12, 12, 0.2)
    got = smx_module.smx_matmul_fp32(a, b, transpose_a=ta, transpose_b=tb)
    assert got.dtype == np.float32 and got.shape == (9, 6)
    np.testing.assert_array_equal(got, smx_matmul(a, b, transpose_a=ta, transpose_b=tb).to_fp32())


@pytest.mark.parametrize("bits_a,bits_b", MODES)
def test_fp32_chunked_matches_reference(bits_a, bits_b):
    # A 43-bit accumulator gives 64-block (K = 256) chunks in every mode:
    # K = 650 is two full chunks and a short one. Exponents vary by chunk so
    # that each chunk's own reference exponents matter.
    cfg = PintaConfig(accumulator_bits=43)
    assert smx_module.max_reduction_blocks(cfg) == 64
    rng = np.random.default_rng(bits_a + 3 * bits_b)
    a = random_tensor(rng, (6, 650), bits_a, -8, 8, 0.1)
    b = random_tensor(rng, (650, 5), bits_b, -8, 8, 0.1)
    eb = b.exponents.copy()
    eb[70:140] += 20  # the second chunk dominates its own lines only
    b = SMXTensor(b.codes.copy(), eb, b.shape, b.bits)
    got = smx_module.smx_matmul_fp32(a, b, cfg=cfg)
    np.testing.assert_array_equal(got, reference_matmul_fp32(a, b, cfg))
    # Transposed operands read the same chunks.
    np.testing.assert_array_equal(smx_module.smx_matmul_fp32(b, a, transpose_a=True, transpose_b=True, cfg=cfg), got.T)


def test_fp32_long_reduction_default_config():
    # K = 16,500 > 8,192 (two full chunks and a short one): smx_matmul refuses,
    # smx_matmul_fp32 equals the chunked reference.
    rng = np.random.default_rng(17)
    k = 16500
    a = smx_quantize(rng.standard_normal((k, 3)), 8).T  # a stored activation read transposed
    b = smx_quantize(rng.standard_normal((k, 4)) * np.exp(rng.normal(0, 3, size=(k, 1))), 12)
    with pytest.raises(ValueError, match=r"smx_matmul:.*overflow.*smx_matmul_fp32.*2048 blocks"):
        smx_matmul(a, b)
    got = smx_module.smx_matmul_fp32(a, b)
    np.testing.assert_array_equal(got, reference_matmul_fp32(a, b))
    exact = smx_module.smx_dequantize(a) @ smx_module.smx_dequantize(b)
    assert np.allclose(got, exact, rtol=1e-4, atol=1e-4 * np.abs(exact).max())


def test_fp32_overflow_and_bad_input_are_refused():
    cfg = PintaConfig(accumulator_bits=43)
    big = SMXTensor(np.full((4, 512), 127, np.int16), np.full((1, 128), 53, np.int16), (4, 512), 8)
    one = SMXTensor(np.full((512, 4), 127, np.int16), np.full((128, 1), 53, np.int16), (512, 4), 8)
    # Each 256-long chunk is 256 * 127**2 * 2**106 < 2**128 (about 2**127.98); two overflow float32.
    with pytest.raises(ValueError, match="overflows float32 at chunk 1"):
        smx_module.smx_matmul_fp32(big, one, cfg=cfg)
    with pytest.raises(ValueError, match=r"smx_matmul_fp32: inner dimensions"):
        smx_module.smx_matmul_fp32(big, big)
    with pytest.raises(TypeError):
        smx_module.smx_matmul_fp32(np.ones((4, 4)), big)
