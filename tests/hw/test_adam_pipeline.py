"""The ADAM datapath of the VEC unit (hw/top_adam.py) alone, in Amaranth's simulator.

Two ADAM instructions back to back, as the VEC unit feeds them (``s`` one cycle
before the first group; a group's m, g, then v, w in the next cycle; one group
every 3 cycles; the second instruction's ``s`` 3P cycles after the first's), on
many more elements than the top regression: random w, g and m, v after a few
golden steps (non-trivial beta powers, lr decayed), and edge values (g = 0,
g·g overflowing and underflowing, subnormal and zero v, subnormal g). Every m, v,
w and the s word must equal ``golden/adam.py`` bit for bit (the RTL's NaN is the
canonical one), each written in its slot: m at stage 2, v at stage 3, s at stage
1 of the last group, w at ``depth − 1``. Also: the model's ADAM depth is the
schedule's, and the schedule is the golden op sequence's dependences.
"""

from __future__ import annotations

import warnings

import numpy as np

from pinta.golden.adam import AdamState, adam_init, adam_step, linear_decay_lr
from pinta.hw.fp32.arith import CANONICAL_NAN
from pinta.hw.top_adam import ADAM_OPS, AdamPipeline, adam_depth, adam_schedule, write_stage
from pinta.sim.timing import sfu_depth, vector_depth, vector_passes

LANES = 4


def _f32(x) -> np.ndarray:
    return np.asarray(x, np.float32)


def _instr_a(rng, n):
    """Step 5 of 40 after five golden steps: rounding in every op."""
    hyper = _f32([3e-3, 0.9, 0.999, 1e-8])
    w = _f32(rng.standard_normal(n))
    st = adam_init((n,))
    for k in range(5):
        g = _f32(rng.standard_normal(n) * 10.0 ** rng.uniform(-3, 1, n))
        w, st = adam_step(w, g, st, linear_decay_lr(hyper[0], k, 40), *hyper[1:])
    g = _f32(rng.standard_normal(n) * 10.0 ** rng.uniform(-4, 2, n))
    s = _f32([*hyper, st.beta1_pow, st.beta2_pow, 0, 0])
    return dict(w=w, m=st.m, v=st.v, g=g, s=s, step=5, total=40)


def _instr_b(rng, n):
    """Step 0 of 3 with edge values and other hyperparameters."""
    w = _f32(rng.standard_normal(n) * 10.0 ** rng.uniform(-20, 20, n))
    m = _f32(rng.standard_normal(n) * 1e-3)
    v = _f32(rng.uniform(0, 1e-4, n))
    g = _f32(rng.standard_normal(n))
    edges = [(0.0, 0.0, 0.0), (1e20, 0.0, 0.0), (-1e25, 1.0, 1.0), (1e-30, 0.0, 0.0), (1e-42, 1e-40, 1e-45),
             (0.0, 1e-40, 1e-40), (3.0, 0.0, 1e-38), (-2e19, -1.0, 3e38), (1e-20, 1e-38, 0.0)]
    for k, (gk, mk, vk) in enumerate(edges):
        g[k], m[k], v[k] = gk, mk, vk
    s = _f32([0.05, 0.5, 0.75, 1e-3, 1.0, 1.0, 0, 0])
    return dict(w=w, m=m, v=v, g=g, s=s, step=0, total=3)


def _golden(ins):
    s = ins["s"]
    lr = linear_decay_lr(s[0], ins["step"], ins["total"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w, st = adam_step(ins["w"], ins["g"], AdamState(ins["m"], ins["v"], ins["step"], s[4], s[5]), lr,
                          s[1], s[2], s[3])
    return {"w": w, "m": st.m, "v": st.v, "s": _f32([st.beta1_pow, st.beta2_pow])}


def _run(instrs):
    from amaranth.sim import Simulator

    dut = AdamPipeline(LANES)
    W = LANES // 2
    writes = []   # (cycle, port, addr, data words)
    sim = Simulator(dut)
    sim.add_clock(1e-8)

    def word(xs):
        return sum(int(np.asarray(x, np.float32).view(np.uint32)) << (32 * l) for l, x in enumerate(xs))

    # the input schedule: {cycle: [(signal, value)]}
    feed: dict[int, list] = {}
    t0 = 0
    for i, ins in enumerate(instrs):
        n = len(ins["w"])
        P = n // LANES
        feed.setdefault(t0, []).extend([(dut.i_s, 1), (dut.i_a, word(ins["s"][:LANES])),
                                        (dut.i_b, word(ins["s"][LANES:8])), (dut.i_step, ins["step"]),
                                        (dut.i_total, ins["total"])])
        for q in range(P):
            sl = slice(q * LANES, (q + 1) * LANES)
            tag = {"m": {"buf": 1, "addr": 1000 * i + q}, "v": {"buf": 2, "addr": 1000 * i + q},
                   "w": {"buf": 3, "addr": 1000 * i + q}, "s": {"buf": 0, "addr": 1000 * i + 2},
                   "last": int(q == P - 1), "lane_ok": (1 << LANES) - 1, "word_ok": (1 << W) - 1}
            T = t0 + 1 + 3 * q
            feed.setdefault(T, []).extend([(dut.i_valid, 1), (dut.i_a, word(ins["m"][sl])),
                                           (dut.i_b, word(ins["g"][sl])), (dut.i_tag, tag)])
            feed.setdefault(T + 1, []).extend([(dut.i_a, word(ins["v"][sl])), (dut.i_b, word(ins["w"][sl]))])
        t0 += 3 * P
    end = t0 + dut.depth + 4

    async def bench(ctx):
        for cyc in range(end):
            for sig in (dut.i_s, dut.i_valid):
                ctx.set(sig, 0)
            for sig, val in feed.get(cyc, []):
                ctx.set(sig, val)
            for name, port in (("mv", dut.o_mv), ("w", dut.o_w)):
                if ctx.get(port.en):
                    d = ctx.get(port.data)
                    writes.append((cyc, name, ctx.get(port.buf), ctx.get(port.addr),
                                   [(d >> (32 * l)) & 0xFFFFFFFF for l in range(LANES)]))
            await ctx.tick()

    sim.add_testbench(bench)
    sim.run()
    return dut, writes


def _same(rtl: int, want: np.float32) -> bool:
    w = int(np.asarray(want, np.float32).view(np.uint32))
    return rtl == w or (np.isnan(want) and rtl == CANONICAL_NAN)


def test_adam_pipeline_equals_golden():
    rng = np.random.default_rng(2026)
    instrs = [_instr_a(rng, 160), _instr_b(rng, 40)]
    dut, writes = _run(instrs)
    expect = {}
    t0 = 0
    for i, ins in enumerate(instrs):
        gold = _golden(ins)
        P = len(ins["w"]) // LANES
        for q in range(P):
            T = t0 + 1 + 3 * q
            sl = slice(q * LANES, (q + 1) * LANES)
            expect[(T + write_stage("m1"), "mv", 1, 1000 * i + q)] = gold["m"][sl]
            expect[(T + write_stage("v1"), "mv", 2, 1000 * i + q)] = gold["v"][sl]
            expect[(T + dut.w_stage, "w", 3, 1000 * i + q)] = gold["w"][sl]
        expect[(t0 + 1 + 3 * (P - 1) + write_stage("s"), "mv", 0, 1000 * i + 2)] = gold["s"]
        t0 += 3 * P
    got = {(c, p, b, a): d for c, p, b, a, d in writes}
    assert len(got) == len(writes), "one write per port and cycle"
    assert sorted(got) == sorted(expect), "every result written once, in its slot"
    bad = [f"{k}: lane {l} rtl 0x{got[k][l]:08x} golden 0x{int(np.float32(x).view(np.uint32)):08x}"
           for k, want in expect.items() for l, x in enumerate(want) if not _same(got[k][l], x)]
    assert not bad, f"{len(bad)} lanes differ:\n" + "\n".join(bad[:20])


def test_depth_is_derived_from_the_schedule():
    """The model's ADAM figures come from hw/top_adam.py: 3 passes, and the depth at which
    w is written through the VSIN/VCOS port (that port's depth, not before w is ready)."""
    sched = adam_schedule()
    assert vector_passes("ADAM") == 3
    assert vector_depth("ADAM") == adam_depth() == sfu_depth("VSIN")
    assert sched["w1"][1] + 1 <= adam_depth()
    # each op starts when its operands are there: the golden sequence's dependences
    for name, _, args in ADAM_OPS:
        for a in args:
            if a in sched:
                assert sched[name][0] >= sched[a][1]
    # m and v are ready by their arithmetic-port slots
    assert sched["m1"][1] <= write_stage("m1") and sched["v1"][1] <= write_stage("v1")
