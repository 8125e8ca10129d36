"""Per-instruction timing of the PINTA cycle model.

DESIGN FIGURES THE RTL MUST MATCH
=================================
Everything that decides a cycle count is in this module: the MAC-mode
throughput ratios and the fixed pipeline depths in :data:`DESIGN`, and the
formulas in :func:`instruction_timing`, which take every size from the
:class:`~pinta.config.PintaConfig` (array size, vector lanes, DRAM bandwidth,
block size). The figures taken from elsewhere are the depths of the unrolled
pipelines: :func:`sfu_depth` (VTANH, VSIN, VCOS) counts the stages of the
pipelined hardware (``pipeline_depth`` in hw/fp32/microcode.py), and
:func:`divsqrt_depth` (VDIV, VSQRT) those of the unrolled divider / square
root (``op_stages``, the same module), :func:`adam_depth` (ADAM) those of
the ADAM datapath (hw/top_adam.py), and :func:`rng_depth` (RNG) those of
the RNG pipeline (``rng_pipeline_depth`` in hw/top_rng.py: the key
computation, the Box-Muller pair and the scale multiply). ``docs/simulator.md`` writes
the same formulas down; the RTL controller and units must reproduce them
exactly.

Each instruction gets two numbers:

* ``occupancy`` (the initiation interval): cycles its unit is busy; the unit
  accepts its next instruction ``occupancy`` cycles after this one issued.
* ``latency``: cycles from issue until its results are written and readable
  (``latency >= occupancy``; the difference is the pipeline drain).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from pinta.config import PintaConfig

from .isa import Instr, MacMode, Unit
from .layout import footprint_words

__all__ = ["DesignFigures", "DESIGN", "Timing", "gemm_drain_cycles", "gemm_prepass_cycles", "gemm_tile_cycles",
           "instruction_timing",
           "macs_per_multiplier_per_cycle", "pe_grid", "sfu_depth", "divsqrt_depth", "adam_depth", "rng_depth",
           "vector_depth", "SFU_FUNCTION"]


@dataclass(frozen=True)
class DesignFigures:
    """Fixed microarchitecture figures (not sizes: those come from the config).

    MAC throughput, relative to one INT8×INT8 multiplier doing one MAC per
    cycle (a multiplier slice is reused: an INT12×INT8 product takes two
    passes, and an INT8×INT8 multiplier splits into four INT4×INT4 ones):

    * ``mac_rate_i8x8``  = 2 : INT8×INT8 is 2× INT12×INT8
    * ``mac_rate_i12x8`` = 1
    * ``mac_rate_i4x4``  = 8 : INT4×INT4 is 8× INT12×INT8 (4× INT8×INT8)

    (stored as multiples of the INT12×INT8 rate, so all are integers.)
    """

    #: MACs per cycle per INT8 multiplier, in units of half a MAC (INT12×INT8 = 1).
    mac_rate_i8x8: int = 2
    mac_rate_i12x8: int = 1
    mac_rate_i4x4: int = 8
    #: Controller: one instruction issued per cycle; set-up instructions take this long.
    ctrl_latency: int = 1
    #: DMA: cycles from issue to the first beat (request + DRAM access).
    dma_setup: int = 16
    #: MAC array: cycles from issue to the readable result, beyond the beats.
    #: Operand blocks are broadcast along PE rows and columns (no systolic
    #: skew, hw/mac_array.py), so this is fixed: 1 operand-register load, then
    #: the multiply -> [psum] -> align -> [aligned] -> accumulate -> [acc] stages
    #: (3, hw/mac_array.py "Pipeline"); accumulator write-back is overlapped
    #: with the next tile.
    mac_pipeline_depth: int = 4
    #: Quantizer: one SMXQuantizer instance, one 4×4 block per cycle
    #: (hw/smx_quantizer.py), so a QUANT's occupancy is its block count.
    qnt_blocks_per_cycle: int = 1
    #: Quantizer pipeline: 1 source-read stage + the SMXQuantizer's 3 register
    #: stages (max-abs by OR + magnitudes, leading-one/exponent, shift-round-saturate).
    qnt_depth: int = 4
    #: Vector unit pipeline depth (cycles) per operation class.
    vec_depth_arith: int = 4     # add, sub, mul, neg; 1 - t*t; Stein pair sums
    #: Special functions (VTANH, VSIN, VCOS) and VDIV, VSQRT: no fixed figure.
    #: The depth is the stage count of the unrolled hardware (the function's
    #: micro-program one micro-op per stage, hw/top_sfu.py, :func:`sfu_depth`;
    #: the iterative divider / square root one iteration per stage,
    #: hw/top_divsqrt.py, :func:`divsqrt_depth`) plus these cycles around it:
    #: the operand read (address) cycle and the result write-back cycle, the
    #: same two that ``vec_depth_arith`` counts around its two operation stages.
    vec_sfu_io_cycles: int = 2
    #: ADAM: no fixed figure either. The depth is derived from the per-element op
    #: sequence scheduled on the unrolled units (hw/top_adam.py ``adam_depth``: its w
    #: result shares the VSIN/VCOS write port, so it leaves at the SINCOS depth).
    #: RNG: no fixed figure either; :func:`rng_depth` (the RNG pipeline's stages + these io cycles).
    #: Vector-unit passes over the data per element group (initiation interval
    #: per ``vector_lanes`` elements) by operation class.
    vec_passes_adam: int = 3     # reads w, m, v, g; writes w, m, v over three passes
    vec_passes_stein: int = 2
    vec_passes_stein_estimate: int = 2  # weight multiply, then the tree accumulation


DESIGN = DesignFigures()


def macs_per_multiplier_per_cycle_x2(mode: MacMode, d: DesignFigures = DESIGN) -> int:
    """MACs per INT8 multiplier per cycle, times 2 (INT12×INT8 = 1)."""
    mode = MacMode(mode)
    if mode in (MacMode.i12x8, MacMode.i8x12):
        return d.mac_rate_i12x8
    return d.mac_rate_i8x8 if mode == MacMode.i8x8 else d.mac_rate_i4x4


def macs_per_multiplier_per_cycle(mode: MacMode) -> float:
    return macs_per_multiplier_per_cycle_x2(mode) / 2


@dataclass(frozen=True)
class Timing:
    unit: Unit
    occupancy: int
    latency: int


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def gemm_shape(ins: Instr, descs) -> tuple[int, int, int]:
    """(M, K, N) of op(a)·op(b) from the descriptors (logical sizes)."""
    a, b = descs[ins["a"]], descs[ins["b"]]
    m, k = (a.cols, a.rows) if ins["ta"] else (a.rows, a.cols)
    k2, n = (b.cols, b.rows) if ins["tb"] else (b.rows, b.cols)
    return m, k, n


def gemm_tiles(m: int, k: int, n: int, cfg: PintaConfig) -> tuple[int, int, int, int]:
    """(Mb, Kb, Nb, tiles): block counts and output-stationary tiles of the PE grid."""
    bs = cfg.block_size
    mb, kb, nb = _ceil_div(m, bs), _ceil_div(k, bs), _ceil_div(n, bs)
    pr, pc = pe_grid(cfg)
    return mb, kb, nb, _ceil_div(mb, pr) * _ceil_div(nb, pc)


def pe_grid(cfg: PintaConfig) -> tuple[int, int]:
    """(PR, PC): processing elements per array row and column, one output block each."""
    return cfg.array_rows // cfg.block_size, cfg.array_cols // cfg.block_size


def gemm_prepass_cycles(kb: int) -> int:
    """Cycles a GEMM spends before its first operand transfer: the exponent pre-pass.

    The MAC array needs the line maxima RA(I), RB(J) (docs/numerics.md §3)
    together with the first transfer of a tile, so the MAC unit first reads the
    Kb block exponents of each reduction line, one per line per cycle
    (hw/top_units.py MacUnit). The first transfer's operands are read in the
    pre-pass's last cycle, so a GEMM pays Kb - 1 cycles; later tiles overlap
    their pre-pass with the previous tile's transfers (Kb <= Kb·bpc).
    """
    return kb - 1


def gemm_tile_cycles(kb: int, bpc: int, cfg: PintaConfig) -> int:
    """Cycles per output tile of a GEMM: max(Kb·bpc, PR·PC).

    A tile streams Kb transfers, one per ``bpc`` cycles, and its PR·PC output
    blocks then leave through the MAC unit's one accumulator-record write port,
    one block per cycle, while the next tile streams (hw/top_units.py MacUnit:
    a drain register takes the array's result, so the array never stalls). When
    the reduction is shorter than the drain, idle cycles open each tile's slot,
    so that a tile's result never arrives before the previous one has left.
    """
    pr, pc = pe_grid(cfg)
    return max(kb * bpc, pr * pc)


def gemm_drain_cycles(cfg: PintaConfig) -> int:
    """Cycles after a tile's first output block until its last is written (PR·PC − 1)."""
    pr, pc = pe_grid(cfg)
    return pr * pc - 1


def block_product_cycles(mode: MacMode, cfg: PintaConfig) -> int:
    """Cycles one PE (block_size² INT8 multipliers) takes for one 4×4×4 block product."""
    bs = cfg.block_size
    macs_x2 = 2 * bs ** 3
    per_cycle_x2 = bs * bs * macs_per_multiplier_per_cycle_x2(mode)
    return max(1, _ceil_div(macs_x2, per_cycle_x2))


def vector_passes(mnemonic: str) -> int:
    if mnemonic == "ADAM":
        return DESIGN.vec_passes_adam
    if mnemonic == "STEIN":
        return DESIGN.vec_passes_stein
    if mnemonic == "STEINE":
        return DESIGN.vec_passes_stein_estimate
    return 1


#: Pipeline class of each vector-unit instruction (depths in :class:`DesignFigures`).
VECTOR_CLASS = {
    "VADD": "arith", "VSUB": "arith", "VMUL": "arith", "VNEG": "arith", "VSUM": "arith",
    "VDTANH": "arith", "STEIN": "arith",
    "VADDB": "arith", "VSUBB": "arith", "VMULB": "arith", "VSCALE": "arith", "VRED": "arith",
    "VDIV": "divsqrt", "VSQRT": "divsqrt",
    "VTANH": "sfu", "VSIN": "sfu", "VCOS": "sfu",
    "ADAM": "adam", "RNG": "rng", "STEINE": "arith",
}


#: The special-function micro-program (hw/fp32/microcode.py ``SfuFunc`` name) of each
#: special-function instruction: VSIN takes SINCOS's ``out``, VCOS its ``out2``.
SFU_FUNCTION = {"VTANH": "TANH", "VSIN": "SINCOS", "VCOS": "SINCOS"}


@lru_cache(maxsize=None)
def sfu_depth(mnemonic: str) -> int:
    """Pipeline depth (cycles) of VTANH / VSIN / VCOS, derived from the hardware.

    ``pipeline_depth(func)`` (hw/fp32/microcode.py) counts the stages of the
    function's micro-program unrolled one micro-op per stage (a divide: load,
    its iterations, round), the pipeline of hw/top_sfu.py; the VEC unit adds
    its read and write-back cycles (``vec_sfu_io_cycles``).
    """
    from pinta.hw.fp32.microcode import SfuFunc, pipeline_depth

    return pipeline_depth(SfuFunc[SFU_FUNCTION[mnemonic]]) + DESIGN.vec_sfu_io_cycles


#: The micro-op (hw/fp32/misc.py ``VectorOp`` name) that VDIV and VSQRT are, unrolled alone.
DIVSQRT_OP = {"VDIV": "DIV", "VSQRT": "SQRT"}


@lru_cache(maxsize=None)
def divsqrt_depth(mnemonic: str) -> int:
    """Pipeline depth (cycles) of VDIV / VSQRT, derived from the hardware.

    ``op_stages`` (hw/fp32/microcode.py) counts the stages of the iterative
    divider / square root unrolled one iteration per stage (load, the
    iterations of ``DIV_BITS_PER_CYCLE`` digits, round), the pipeline of
    hw/top_divsqrt.py; the VEC unit adds its read and write-back cycles
    (``vec_sfu_io_cycles``).
    """
    from pinta.hw.fp32.microcode import op_stages
    from pinta.hw.fp32.misc import VectorOp

    return op_stages(VectorOp[DIVSQRT_OP[mnemonic]]) + DESIGN.vec_sfu_io_cycles


def adam_depth() -> int:
    """Pipeline depth (cycles) of ADAM, derived from the hardware.

    hw/top_adam.py ``adam_depth``: the per-element op sequence of golden/adam.py
    scheduled on the FP32 units (the divides and the square root unrolled), its
    result ``w`` written through the VSIN/VCOS write port at that port's depth
    (:func:`sfu_depth`), which it shares (docs/hardware-top.md §4).
    """
    from pinta.hw.top_adam import adam_depth as depth

    return depth()


@lru_cache(maxsize=None)
def rng_depth() -> int:
    """Pipeline depth (cycles) of RNG, derived from the hardware.

    ``rng_pipeline_depth`` (hw/top_rng.py) counts the stages of the RNG
    pipeline: the per-instruction key computation (``RNG_KEYS``), one
    Box-Muller pair per lane (``NORMAL``, its LOG's divide and its square root
    unrolled) and the scale multiply, each micro-program one micro-op per stage
    (hw/fp32/microcode.py ``pipeline_depth``); the VEC unit adds its read and
    write-back cycles (``vec_sfu_io_cycles``).
    """
    from pinta.hw.top_rng import rng_pipeline_depth

    return rng_pipeline_depth() + DESIGN.vec_sfu_io_cycles


def vector_depth(mnemonic: str) -> int:
    """Pipeline depth (cycles) of a vector-unit instruction."""
    if VECTOR_CLASS[mnemonic] == "adam":
        return adam_depth()
    if VECTOR_CLASS[mnemonic] == "rng":
        return rng_depth()
    if VECTOR_CLASS[mnemonic] == "sfu":
        return sfu_depth(mnemonic)
    if VECTOR_CLASS[mnemonic] == "divsqrt":
        return divsqrt_depth(mnemonic)
    return getattr(DESIGN, f"vec_depth_{VECTOR_CLASS[mnemonic]}")


def reduce_occupancy(ins: Instr, descs, views, cfg: PintaConfig) -> int:
    """Occupancy of VSUM / VRED: the reduction engine's op count, derived from the hardware.

    ``reduce_ops`` (hw/top_reduce.py) counts the cycles of the engine that the
    RTL builds: per output vector, the fixed halving tree of ``golden/reduce.py``
    walked in bit-reversed post-order, one FP32 add per lane and cycle:
    ``trees · (max(P' − 1, 1) + lane levels)`` (docs/simulator.md §2). The
    source is read as outer × nred × inner (VRED: the merged axes of its view,
    permuted; a permuting view is assumed to feed the same engine through a
    gather, docs/hardware-top.md §4).
    """
    from pinta.hw.top_reduce import reduce_dims, reduce_ops

    a = descs[ins["a"]]
    if ins.mnemonic == "VSUM":
        shape, lo, hi = (a.rows, a.cols, 1, 1), ins["axis"], ins["axis"] + 1
    else:
        v = views.get(ins["view"]) if ins["view"] and views else None
        shape = tuple(v.dims[p] for p in v.perm) if v else (a.rows, a.cols, 1, 1)
        lo, hi = ins["axis"], ins["axis"] + ins["span"] + 1
    return reduce_ops(*reduce_dims(shape, lo, hi), cfg.vector_lanes)


def instruction_timing(ins: Instr, descs, cfg: PintaConfig, views=None) -> Timing:
    """Occupancy and latency of one instruction (descriptors and views as defined at that point)."""
    d = DESIGN
    name = ins.mnemonic
    unit = ins.spec.unit
    if unit == Unit.CTRL:
        return Timing(unit, d.ctrl_latency, d.ctrl_latency)
    if unit == Unit.DMA:
        t = descs[ins["dst"] if name == "LOAD" else ins["src"]]
        nbytes = footprint_words(t.fmt, t.rows, t.cols, cfg) * 8
        beats = _ceil_div(nbytes, cfg.dram_bytes_per_cycle)
        return Timing(unit, beats, d.dma_setup + beats)
    if unit == Unit.MAC:
        m, k, n = gemm_shape(ins, descs)
        mb, kb, nb, tiles = gemm_tiles(m, k, n, cfg)
        occ = tiles * gemm_tile_cycles(kb, block_product_cycles(MacMode(ins["mode"]), cfg), cfg) + gemm_prepass_cycles(kb)
        return Timing(unit, occ, occ + d.mac_pipeline_depth + gemm_drain_cycles(cfg))
    if unit == Unit.QNT:
        # qnt_blocks_per_cycle blocks per cycle, counted in blocks produced
        # (QUANT, DIFFQ: the SMX result; ACCF, DEQ: the source blocks read
        # out), so a view that reshapes changes the cost.
        src = descs[ins["dst"] if name in ("QUANT", "QUANTR") else ins["qbase"] if name == "DIFFQ" else ins["a"]]
        bs = cfg.block_size
        blocks = _ceil_div(src.rows, bs) * _ceil_div(src.cols, bs)
        if name == "QUANTR":  # the tile's blocks only
            s_ = descs[ins["src"]]
            blocks = _ceil_div(s_.rows * s_.cols // src.cols, bs) * _ceil_div(src.cols, bs)
        if name == "DIFFQ":
            blocks *= 2
        occ = _ceil_div(blocks, d.qnt_blocks_per_cycle)
        return Timing(unit, occ, occ + d.qnt_depth)
    if name in ("VSUM", "VRED"):
        occ = reduce_occupancy(ins, descs, views or {}, cfg)
        return Timing(unit, occ, occ + vector_depth(name))
    # Vector unit: vector_lanes FP32 elements per pass.
    ref = {"ADAM": "w", "STEIN": "up", "VSUM": "a", "VRED": "a", "STEINE": "d"}.get(name, "dst")
    t = descs[ins[ref]]
    n = t.rows * t.cols
    if name == "STEINE":  # D gradient terms plus the Laplacian and value terms per (point, pair)
        n = t.rows * (t.cols + 2)
    occ = _ceil_div(n, cfg.vector_lanes) * vector_passes(name)
    lat = occ + vector_depth(name)
    if name == "STEINE":  # not built yet: the estimate of before the reduction engine
        lat += max(1, (cfg.vector_lanes - 1).bit_length())  # the lane-reduction tree
    return Timing(unit, occ, lat)

