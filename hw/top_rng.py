"""RNG of the PINTA top's VEC unit: ``dst = scale · N(0,1)``, L samples per cycle.

:class:`RngPipeline` executes the ISA's RNG (docs/isa.md; semantics
``sim/machine.py`` and ``golden/rng.py`` ``normal``): sample i of the
row-major ``dst`` comes from the Box-Muller pair of counters
(c, c + 1), c = ctr + 2·floor(i/2) (even i: rad·cos, odd i: rad·sin), under the
keys (k1, k2) of (seed, stream); then one FP32 multiply by ``scale``. It is
three pipelines in a row, every stage one micro-op of
:mod:`pinta.hw.fp32.microcode` (hw/top_sfu.py ``SfuPipeline``):

* **keys** (``RNG_KEYS``, one lane): once per instruction, (seed, stream) ->
  (k1, k2). The instruction's other fields (ctr, scale, dst) travel with it as
  the tag, so an RNG issued while an earlier one's keys are still being
  computed needs nothing else;
* **pass generator**: from the cycle the keys leave, one pass per cycle for
  ceil(n / L) cycles: pass p covers samples p·L .. p·L + L − 1, i.e. the L/2
  Box-Muller pairs with counters ctr + p·L + 2j (L is even, so a pass holds
  whole pairs), and the keys, which enter NORMAL lane-uniform (one copy per
  stage for all lanes);
* **NORMAL** (L/2 lanes): one pair per lane, its outputs (rad·cos, rad·sin) are
  samples 2j and 2j + 1, the two halves of result word j;
* **scale**: one ``fp_mul`` (hw/fp32/arith.py) per sample, registered; the
  pass is written in the cycle it leaves, lanes past the last sample as +0
  (the zero half-word after an odd count, docs/isa.md §4).

Timing (VEC unit, hw/top_vec.py): the command enters in I + 2 (the VEC unit
registers it in its read cycle I + 1, when RNG reads nothing), the keys leave
``pipeline_depth(RNG_KEYS)`` cycles later, pass p enters NORMAL then + p and
is written :func:`rng_pipeline_depth` cycles after the command entered, + p.
So the last pass is written in I + P + 1 + depth = done − 1 with the model's
``rng_depth`` = depth + ``vec_sfu_io_cycles`` (sim/timing.py), the same slack
as the special functions. Back-to-back RNGs (issued P apart, the occupancy)
hand their keys over in consecutive pass slots, never in the same one.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .buffers import WritePortSignature
from .fp32.arith import fp_mul
from .fp32.microcode import SfuFunc, op_stages, pipeline_depth
from .fp32.misc import VectorOp
from .top_sfu import SfuPipeline

__all__ = ["RngPipeline", "rng_command_layout", "rng_pipeline_depth"]


def rng_pipeline_depth() -> int:
    """Stages from an RNG command to its first written pass: the keys (``RNG_KEYS``), the
    Box-Muller pair (``NORMAL``, its SQRT and LOG's DIV unrolled) and the scale multiply.
    The cycle model's RNG depth is this plus the VEC unit's read and write cycles
    (sim/timing.py ``rng_depth``)."""
    return pipeline_depth(SfuFunc.RNG_KEYS) + pipeline_depth(SfuFunc.NORMAL) + op_stages(VectorOp.MUL)


#: What an RNG instruction needs after its keys: first counter, scale (FP32 bits),
#: destination buffer, word address and element count.
_RUN = data.StructLayout({"ctr": 32, "scale": 32, "buf": 2, "addr": 32, "n": 32})


def rng_command_layout() -> data.StructLayout:
    """The command the VEC unit hands :class:`RngPipeline`."""
    return data.StructLayout({"seed": 32, "stream": 16, "run": _RUN})


def _pass_layout(lanes: int) -> data.StructLayout:
    """What travels with a pass through NORMAL and the scale stage."""
    return data.StructLayout({"buf": 2, "addr": 32, "scale": 32,
                              "lane_ok": lanes,          # sample p·L + l < n
                              "word_ok": lanes // 2})    # word holds a sample: written (whole)


class RngPipeline(wiring.Component):
    """RNG instructions on ``lanes`` (L, even) FP32 lanes: one pass of L samples per cycle.

    Members
    -------
    i_valid : In(1)                       -- an RNG command enters this cycle
    i_cmd : In(rng_command_layout())      -- seed, stream; ctr, scale, dst buffer, word address, count
    w : Out(WritePortSignature(L/2))      -- the samples' writes, pass p in cycle t + depth + p

    :attr:`depth` = :func:`rng_pipeline_depth`, for ``i_valid`` in cycle t. Commands
    must come at least ceil(n / L) cycles apart (the VEC unit's occupancy does that).
    """

    def __init__(self, lanes: int):
        if lanes < 2 or lanes % 2:
            raise ValueError(f"RNG needs an even lane count (whole Box-Muller pairs per pass), got {lanes}")
        self.lanes = lanes
        self.words = lanes // 2
        self.depth = rng_pipeline_depth()
        super().__init__({"i_valid": In(1), "i_cmd": In(rng_command_layout()),
                          "w": Out(WritePortSignature(self.words))})

    def elaborate(self, platform):
        m = Module()
        L, W = self.lanes, self.words

        # -- keys: one lane, the rest of the command as the tag --
        m.submodules.keys = keys = SfuPipeline(1, SfuFunc.RNG_KEYS, tag_width=_RUN.size, uniform=(1,))
        m.d.comb += [keys.i_valid.eq(self.i_valid), keys.i_x.eq(self.i_cmd.seed),
                     keys.i_b.eq(self.i_cmd.stream), keys.i_tag.eq(self.i_cmd.run.as_value())]

        # -- pass generator: pass 0 straight from the keys' output, the others from registers --
        first = keys.o_valid
        k_run = Signal(_RUN)
        m.d.comb += k_run.as_value().eq(keys.o_tag)
        k1, k2 = Signal(32), Signal(32)
        run = Signal(_RUN)
        e = Signal(32)        # sample offset p·L of the next pass
        active = Signal()     # passes left after the one of this cycle
        with m.If(first):
            m.d.sync += [k1.eq(keys.o_r), k2.eq(keys.o_r2), run.eq(k_run)]
        cur_k1 = Mux(first, keys.o_r, k1)
        cur_k2 = Mux(first, keys.o_r2, k2)
        cur = Signal(_RUN)
        cur_e = Signal(32)
        m.d.comb += [cur.eq(Mux(first, k_run, run)), cur_e.eq(Mux(first, 0, e))]
        go = first | active   # a pass enters NORMAL this cycle
        m.d.sync += active.eq(go & (cur_e + L < cur.n))
        with m.If(go):
            m.d.sync += e.eq(cur_e + L)

        pl = _pass_layout(L)
        tag = Signal(pl)
        m.d.comb += [tag.buf.eq(cur.buf), tag.addr.eq(cur.addr + (cur_e >> 1)), tag.scale.eq(cur.scale)]
        m.d.comb += [tag.lane_ok[l].eq(cur_e + l < cur.n) for l in range(L)]
        m.d.comb += [tag.word_ok[j].eq(cur_e + 2 * j < cur.n) for j in range(W)]

        # -- NORMAL: lane j is the pair of counters ctr + p·L + 2j, + 1 --
        m.submodules.normal = normal = SfuPipeline(W, SfuFunc.NORMAL, tag_width=pl.size, uniform=(1, 2))
        m.d.comb += [normal.i_valid.eq(go), normal.i_b.eq(cur_k1), normal.i_c.eq(cur_k2),
                     normal.i_tag.eq(tag.as_value()),
                     normal.i_x.eq(Cat(*((cur.ctr + cur_e + 2 * j)[:32] for j in range(W))))]

        # -- scale: one FP32 multiply per sample, registered (a stage of its own) --
        m.submodules.scale = sm = Module()
        t_in = Signal(pl)
        m.d.comb += t_in.as_value().eq(normal.o_tag)
        s_valid = Signal()
        s_tag = Signal(pl)
        samples = [Signal(32, name=f"sample{l}") for l in range(L)]
        sm.d.sync += s_valid.eq(normal.o_valid)
        with sm.If(normal.o_valid):
            sm.d.sync += s_tag.eq(t_in)
            for j in range(W):
                for h, out in enumerate((normal.o_r, normal.o_r2)):  # rad·cos: sample 2j, rad·sin: 2j + 1
                    sm.d.sync += samples[2 * j + h].eq(fp_mul(sm, out[32 * j:32 * j + 32], t_in.scale,
                                                              name=f"scale{2 * j + h}"))
        stages = keys.depth + normal.depth + op_stages(VectorOp.MUL)
        assert stages == self.depth, (stages, self.depth)

        # -- write-back: whole words, lanes past the last sample as +0 --
        m.d.comb += [
            self.w.en.eq(s_valid & s_tag.word_ok.any()), self.w.buf.eq(s_tag.buf), self.w.addr.eq(s_tag.addr),
            self.w.data.eq(Cat(*(Mux(s_tag.lane_ok[l], samples[l], 0) for l in range(L)))),
            self.w.be.eq(Cat(*(Mux(s_tag.word_ok[j], 0xFF, 0x00) for j in range(W)))),
        ]
        return m
