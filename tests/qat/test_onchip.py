"""PINTA side of the QAT study: the integer model's SMX GEMMs on the simulator (bit exact),
and the lowering of one inference to a PINTA program (cycles, action counts, energy)."""

import json

import numpy as np
import pytest

from pinta.flows.qat import onchip, train
from pinta.flows.qat.layers import Ctx
from pinta.flows.qat.models import build

smx = pytest.importorskip("pinta.golden.smx")
pytest.importorskip("pinta.sim.machine")


@pytest.mark.parametrize("bits_a,bits_b,shape", [(8, 8, (5, 12, 7)), (4, 4, (1, 16, 16)), (12, 8, (9, 8, 3)),
                                                 (8, 12, (4, 20, 4))])
def test_simulator_gemm_equals_golden(bits_a, bits_b, shape):
    M, K, N = shape
    rng = np.random.default_rng(bits_a * 100 + bits_b)
    a = smx.smx_quantize(rng.standard_normal((M, K)) * np.exp(rng.normal(0, 2, (M, 1))), bits_a)
    b = smx.smx_quantize(rng.standard_normal((K, N)), bits_b)
    got = onchip.sim_smx_matmul()(a, b)
    ref = smx.smx_matmul(a, b)
    assert got.shape == ref.shape
    np.testing.assert_array_equal(got.acc, ref.acc)
    np.testing.assert_array_equal(got.exponents, ref.exponents)


def _calibrated(arch, shape, scn, width=4, modes=3, n=3, seed=0):
    m = build(arch, shape, width, modes=modes, seed=seed)
    x = np.random.default_rng(seed).standard_normal((n, *shape))
    m.set_scenario(scn)
    train.calibrate(m, x, batch=n)
    return m, x


@pytest.mark.parametrize("arch,shape", [("fno", (16,)), ("fno", (12, 12)), ("unet", (16,)), ("unet", (8, 8))])
@pytest.mark.parametrize("scn", ["smx8", "smx4"])
def test_integer_model_on_the_simulator_is_bit_exact(arch, shape, scn):
    """Every SMX GEMM of the integer model run as a PINTA program gives the same model output, bit for bit."""
    m, x = _calibrated(arch, shape, scn, n=2)
    sim = onchip.sim_smx_matmul()
    calls = []

    def counted(a, b):
        calls.append((a.shape, b.shape, a.bits, b.bits))
        return sim(a, b)

    y_golden = m.forward(x, Ctx("int"))
    y_sim = m.forward(x, Ctx("int", smx_matmul=counted))
    assert np.array_equal(y_golden, y_sim)
    # every GEMM of the inference went through the simulator
    gl = m.gemm_list(shape)
    assert len(calls) >= len(gl)
    if arch == "fno":   # the mode mixing: one (1 x 2C) @ (2C x 2C) GEMM per sample and mode
        n_mix = sum(g.count for g in gl if g.op == "mix") * len(x)
        assert sum(1 for c in calls if c[0] == (1, 2 * m.width)) == n_mix
    assert {c[2:] for c in calls} <= {(8, 8), (4, 4), (8, 12), (12, 8)}
    if scn == "smx4":
        assert (4, 4) in {c[2:] for c in calls}


@pytest.mark.parametrize("amax,bmax,modes", [(7, 7, {(4, 4)}), (15, 7, {(8, 8)}), (255, 127, {(12, 8)}),
                                             (127, 2047, {(8, 12)}), (65535, 127, {(12, 8)})])
def test_simulator_integer_gemm_is_exact(amax, bmax, modes):
    """Integer codes as exponent-0 SMX tensors: the simulator's GEMM is the exact integer product,
    in the narrowest MAC mode holding the codes; a 16-bit operand takes two 12-bit passes."""
    rng = np.random.default_rng(amax + bmax)
    a = rng.integers(-amax, amax + 1, (2, 5, 9))
    a[0, 0, 0] = -amax                      # the extreme code is present
    b = rng.integers(-bmax, bmax + 1, (9, 6))
    mm = onchip.sim_int_matmul()
    got = mm(a, b)
    np.testing.assert_array_equal(got, np.matmul(a, b).astype(np.float64))
    assert {c[3] for c in mm.calls} == modes
    assert len(mm.calls) == 2 * (2 if amax > 2047 else 1)


@pytest.mark.parametrize("arch,shape", [("fno", (16,)), ("fno", (12, 12)), ("unet", (16,)), ("unet", (8, 8))])
@pytest.mark.parametrize("scn,head16", [("w8a8", True), ("w4a4", True), ("w4a4", False), ("w8a16", True)])
def test_integer_model_int_scenarios_on_the_simulator_are_bit_exact(arch, shape, scn, head16):
    """The INT scenarios' integer model with every GEMM run on the simulator gives the same output, bit
    for bit, as with exact host integer GEMMs; every operand fits the MAC mode it ran in."""
    m = build(arch, shape, 4, modes=3, seed=1)
    x = np.random.default_rng(1).standard_normal((2, *shape))
    m.set_scenario(scn, head16=head16)
    train.calibrate(m, x, batch=2)
    sim = onchip.sim_int_matmul()
    y_host = m.forward(x, Ctx("int"))
    y_sim = m.forward(x, Ctx("int", int_matmul=sim))
    assert np.array_equal(y_host, y_sim)
    int_gemms = [g for g in m.gemm_list(shape) if g.kind == "int" and g.a_bits != 32]
    assert int_gemms and len(sim.calls) >= len(int_gemms)
    for M, K, N, (wa, wb), ma, mb in sim.calls:
        assert ma <= 2 ** (wa - 1) - 1 and mb <= 2 ** (wb - 1) - 1


def test_mac_mode_rule():
    assert onchip.mac_widths(4, 4) == (4, 4)
    assert onchip.mac_widths(8, 4) == (8, 8)      # no 8x4 mode: the 4-bit operand runs as 8 bits
    assert onchip.mac_widths(4, 8) == (8, 8)
    assert onchip.mac_widths(16, 8) == (12, 8)    # wider than 12 bits: costed as 12
    assert onchip.mac_widths(8, 16) == (8, 12)
    with pytest.raises(ValueError):
        onchip.mac_widths(12, 12)


def _cost(arch, shape, scn, width=8):
    m = build(arch, shape, width, modes=4)
    m.set_scenario(scn)
    gl = m.gemm_list(shape)
    n = int(np.prod(shape))
    return m, gl, onchip.pinta_cost_uncached(gl, n, 1 + len(shape) if arch == "fno" else 1)


def _padded_macs(g):
    c = lambda v: -(-v // 4)   # noqa: E731
    return c(g.M) * c(g.K) * c(g.N) * 64 * g.count


@pytest.mark.parametrize("arch,shape", [("fno", (32,)), ("unet", (32,)), ("fno", (16, 16)), ("unet", (16, 16))])
def test_lowering_counts_follow_the_gemm_list(arch, shape):
    for scn in ("w8a8", "w4a8", "w4a4", "smx4", "w8a16"):
        m, gl, c = _cost(arch, shape, scn)
        # the simulator's MAC count is the block-padded MAC count of the GEMM list, in the rule's modes
        by_mode = {}
        for g in gl:
            aa, ww, mode = onchip._Lowering(onchip._cfg()).widths(g)
            k = f"mac_{'i12x8' if mode.name == 'i8x12' else mode.name}"
            by_mode[k] = by_mode.get(k, 0) + _padded_macs(g)
        assert c["macs"] == by_mode, scn
        assert sum(c["macs"].values()) >= sum(g.macs for g in gl)
    # w4a8 has no mode of its own: it costs exactly what w8a8 costs; w4a4 is cheaper
    c88, c48, c44 = (_cost(arch, shape, s)[2] for s in ("w8a8", "w4a8", "w4a4"))
    assert c48["cycles"] == c88["cycles"] and c48["energy_j"] == c88["energy_j"]
    assert c44["cycles"] < c88["cycles"] and c44["energy_j"] < c88["energy_j"]
    assert "mac_i4x4" in c44["macs"]


def test_exact_int_modes_cost_the_wider_operand():
    # Zero-point-shifted a8 codes need 9 bits: w8a8 then runs in the 12x8 mode like a 16-bit
    # activation, and w4a4 (5-bit codes) in the 8x8 mode like w8a8 (UNet, no head switch: no basis).
    gl = {}
    for scn in ("w8a16", "w8a8", "w4a4"):
        m = build("unet", (32,), 8)
        m.set_scenario(scn, head16=False)
        gl[scn] = m.gemm_list((32,))
    cost = lambda g: onchip.pinta_cost_uncached(g, 32, 1)   # noqa: E731
    assert all(g.a_bits == 9 for g in onchip.exact_int_modes(gl["w8a8"]))
    c_w8a8_exact, c_w8a16 = cost(onchip.exact_int_modes(gl["w8a8"])), cost(gl["w8a16"])
    assert c_w8a8_exact["cycles"] == c_w8a16["cycles"] and c_w8a8_exact["macs"] == c_w8a16["macs"]
    c_w4a4_exact, c_w8a8 = cost(onchip.exact_int_modes(gl["w4a4"])), cost(gl["w8a8"])
    assert c_w4a4_exact["cycles"] == c_w8a8["cycles"] and c_w4a4_exact["energy_j"] == c_w8a8["energy_j"]
    assert c_w8a8_exact["cycles"] > c_w8a8["cycles"]


def test_lowering_epilogue_and_float_path():
    m, gl, c = _cost("fno", (32,), "fp32")
    assert c["macs"] == {}                                    # no FP32 GEMM on the MAC array
    _, _, ci = _cost("fno", (32,), "w8a8")
    assert c["cycles"] > ci["cycles"]
    lanes = onchip._cfg().vector_lanes               # one multiply and one add per MAC on the lanes
    assert c["busy"]["VEC"] >= 2 * sum(g.macs for g in gl) / lanes
    # one VTANH per GELU output element, whatever the scenario
    from pinta.sim.isa import Instr
    from pinta.sim.program import analyze
    for scn in ("fp32", "smx8"):
        m.set_scenario(scn)
        gl = m.gemm_list((32,))
        init, body = onchip.lower(gl, 32, 2)
        an = analyze(init + [Instr.make("BARRIER")] + body, onchip._cfg())
        gelu = sum(g.M * g.N * g.count for g in gl if "gelu" in g.post)
        assert an.actions["sfu_tanh"] == gelu


def test_lowered_program_runs_on_the_machine():
    from pinta.sim.isa import Instr
    from pinta.sim.machine import Machine
    m = build("unet", (16,), 4)
    m.set_scenario("smx4")
    init, body = onchip.lower(m.gemm_list((16,)), 16, 1)
    res = Machine(onchip._cfg()).run(init + [Instr.make("BARRIER")] + body)
    assert res.total_cycles > 0


def test_cost_cache(tmp_path, monkeypatch):
    m = build("fno", (32,), 4, modes=3)
    m.set_scenario("smx8")
    gl = m.gemm_list((32,))
    first = onchip.pinta_cost(gl, 32, 2, cache=tmp_path)
    assert json.loads((tmp_path / "pinta_cost.json").read_text())
    onchip._MEM.clear()

    def boom(*a, **k):
        raise AssertionError("recomputed a cached cost")

    monkeypatch.setattr(onchip, "pinta_cost_uncached", boom)
    again = onchip.pinta_cost(gl, 32, 2, cache=tmp_path)
    assert again["cycles"] == first["cycles"] and again["energy_j"] == first["energy_j"]
