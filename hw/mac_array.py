"""SMX MAC array: an output-stationary grid of 4×4-block processing elements.

Size. ``cfg.array_rows × cfg.array_cols`` INT8×INT8 multipliers, grouped
into ``PR × PC = (array_rows/4) × (array_cols/4)`` processing elements of
4×4 multipliers (:class:`~pinta.hw.pe.ProcessingElement`). PE (r, c) owns
output block (I0 + r, J0 + c) of a tile of ``4·PR × 4·PC`` outputs.

Dataflow. One input transfer carries, for one reduction step k, the PR
A blocks A(I0 + r, k) of a block column and the PC B blocks B(k, J0 + c)
of a block row, their block exponents, the line maxima RA and RB of the tile
(docs/numerics.md §3: E_ref = RA(I) + RB(J)) and the precision mode. A block
is broadcast along its PE row (A) or PE column (B); every PE computes one
block product per transfer. ``first`` marks the first k of a tile (the
accumulators restart), ``last`` the final one (the tile's results are then
presented on ``o``).

Precision modes and throughput (one transfer = PR·PC block products of
4·4·4 = 64 MACs each):

========  =====================  ===============  =====================
mode      cycles per transfer    multiplier use   MACs/cycle
========  =====================  ===============  =====================
INT12×8   2·block_size = 8       8×8, twice        8 · PR·PC  (R·C / 2)
INT8×8    block_size = 4         8×8, once        16 · PR·PC  (R·C)
INT4×4    1                      4 × (4×4)        64 · PR·PC  (4·R·C)
========  =====================  ===============  =====================

Sequencing. The array holds the current transfer in operand registers and
steps a beat counter through it; per beat, a formatter per PE row and per PE
column cuts the operand buses (INT8: column k of A / row k of B; INT12: the
same with the wide operand's high byte, then its low nibble; INT4: all four
k at once). The formatters, the beat counter and the pipeline valid bits
exist once per array; PEs are pure datapath.

Pipeline (one enable for all: the array moves unless ``o`` holds a result
nobody has taken)::

    input -> [operand regs + beat] -> mul -> [psum] -> align -> [aligned]
          -> accumulate -> [acc] = o.payload

so a tile's result appears 3 clocks after the last beat of its last
transfer enters the multipliers.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from pinta.config import PintaConfig
from pinta.sim.timing import pe_grid

from .common import (Precision, acc_exponent_bits, block_codes_layout, block_elems,
                     supported_modes)
from .multiplier import NIBBLES
from .pe import ProcessingElement

__all__ = ["MacArray", "operand_layout", "result_layout", "beats_per_transfer", "grid"]


#: (PR, PC): processing elements per array row and column (the cycle model's definition).
grid = pe_grid


def beats_per_transfer(cfg: PintaConfig, mode: Precision) -> int:
    """Clock cycles the array spends on one input transfer in ``mode``."""
    return {
        Precision.INT4: 1,
        Precision.INT8: cfg.block_size,
        Precision.INT12_8: 2 * cfg.block_size,
        Precision.INT8_12: 2 * cfg.block_size,
    }[Precision(mode)]


def _block_layout(cfg: PintaConfig) -> data.StructLayout:
    return data.StructLayout({"codes": block_codes_layout(cfg), "exponent": signed(cfg.exponent_bits)})


def operand_layout(cfg: PintaConfig) -> data.StructLayout:
    """Payload of :class:`MacArray`'s input stream (one reduction step).

    Members
    -------
    a : PR × {codes: 16 × signed(12), exponent: signed(eb)}
        A(I0 + r, k), row-major codes.
    b : PC × {codes, exponent}
        B(k, J0 + c).
    ref_a : PR × signed(eb)
        RA(I0 + r) = max over the tile's k of EA(I0 + r, k).
    ref_b : PC × signed(eb)
        RB(J0 + c).
    mode : Precision
    first, last : 1
        First / final reduction step of the tile.
    """
    pr, pc = grid(cfg)
    eb = cfg.exponent_bits
    return data.StructLayout({
        "a": data.ArrayLayout(_block_layout(cfg), pr),
        "b": data.ArrayLayout(_block_layout(cfg), pc),
        "ref_a": data.ArrayLayout(signed(eb), pr),
        "ref_b": data.ArrayLayout(signed(eb), pc),
        "mode": Precision,
        "first": unsigned(1),
        "last": unsigned(1),
    })


def result_layout(cfg: PintaConfig) -> data.StructLayout:
    """Payload of :class:`MacArray`'s output stream (one finished tile).

    Members
    -------
    blocks : (PR·PC) × {acc: 16 × signed(accumulator_bits), exponent: signed(eb + 2)}
        Output block (r, c) at index r·PC + c; value acc · 2**exponent.
    """
    pr, pc = grid(cfg)
    blk = data.StructLayout({
        "acc": data.ArrayLayout(signed(cfg.accumulator_bits), block_elems(cfg)),
        "exponent": signed(acc_exponent_bits(cfg)),
    })
    return data.StructLayout({"blocks": data.ArrayLayout(blk, pr * pc)})


class MacArray(wiring.Component):
    """The precision-scalable SMX MAC array.

    Members
    -------
    i : In(stream.Signature(operand_layout(cfg)))
        One reduction step of a tile per transfer.
    o : Out(stream.Signature(result_layout(cfg)))
        One finished tile per transfer.

    Parameters
    ----------
    cfg : PintaConfig
        Array size, widths, guard bits.
    modes : iterable of Precision, optional
        Modes to build; default all of ``supported_modes(cfg)``. A one-mode
        array ignores ``mode`` (used by ``pinta area`` to price each mode);
        a mode outside the built set gives unspecified results.
    """

    def __init__(self, cfg: PintaConfig, modes=None):
        self.cfg = cfg
        # A refused construction must not also warn "created but never used".
        self._MustUse__silence = True
        allowed = supported_modes(cfg)
        modes = allowed if modes is None else tuple(Precision(x) for x in modes)
        for mode in modes:
            if mode not in allowed:
                raise ValueError(f"mode {mode.name} is not supported by config '{cfg.name}' "
                                 f"(element_bits = {list(cfg.element_bits)})")
        if not modes:
            raise ValueError("MacArray needs at least one precision mode")
        self.modes = tuple(sorted(set(modes), key=lambda x: x.value))
        self._MustUse__silence = False
        super().__init__({
            "i": In(stream.Signature(operand_layout(cfg))),
            "o": Out(stream.Signature(result_layout(cfg))),
        })

    def elaborate(self, platform):
        cfg = self.cfg
        m = Module()
        bs = cfg.block_size
        pr, pc = grid(cfg)
        eb = cfg.exponent_bits
        has_split = Precision.INT4 in self.modes
        has_fused = any(x != Precision.INT4 for x in self.modes)
        max_beats = max(beats_per_transfer(cfg, x) for x in self.modes)

        advance = Signal()
        m.d.comb += advance.eq(~self.o.valid | self.o.ready)

        # -- operand registers and beat counter -------------------------------
        op = Signal(operand_layout(cfg))
        op_valid = Signal()
        # At least one bit, so that an INT4-only array still elaborates `beat[0]`.
        beat = Signal(range(max(max_beats, 2)))
        mode = Signal(Precision)
        if len(self.modes) == 1:
            m.d.comb += mode.eq(self.modes[0])
        else:
            m.d.comb += mode.eq(op.mode)

        n_beats = Signal(range(max_beats + 1))
        with m.Switch(mode):
            for x in self.modes[:-1]:
                with m.Case(x):
                    m.d.comb += n_beats.eq(beats_per_transfer(cfg, x))
            with m.Default():  # the last built mode; also any mode not built
                m.d.comb += n_beats.eq(beats_per_transfer(cfg, self.modes[-1]))
        last_beat = Signal()
        m.d.comb += last_beat.eq(beat == n_beats - 1)

        m.d.comb += self.i.ready.eq(advance & (~op_valid | last_beat))
        with m.If(advance):
            with m.If(self.i.valid & self.i.ready):
                m.d.sync += [op.eq(self.i.payload), op_valid.eq(1), beat.eq(0)]
            with m.Elif(op_valid & last_beat):
                m.d.sync += op_valid.eq(0)
            with m.Elif(op_valid):
                m.d.sync += beat.eq(beat + 1)

        # -- operand formatting (once per PE row / column) --------------------
        wide_a = Signal()  # INT12 operand on the A side
        wide_b = Signal()
        split = Signal()
        m.d.comb += [
            wide_a.eq(mode == Precision.INT12_8),
            wide_b.eq(mode == Precision.INT8_12),
            split.eq(mode == Precision.INT4),
        ]
        wide = wide_a | wide_b
        # INT12: beat = 2k + pass; pass 0 uses the high byte (scaled by 16).
        k = Signal(range(bs))
        hi = Signal()
        m.d.comb += [
            k.eq(Mux(wide, beat >> 1, beat)),
            hi.eq(wide & ~beat[0]),
        ]

        def fmt(code, is_wide):
            # One code -> a 16-bit operand bus for the fused 8×8 modes.
            byte = Mux(is_wide,
                       Mux(hi, code[4:12], Cat(code[0:4], Const(0, 4))),
                       code[0:8])
            return Cat(byte, Const(0, 8))

        def fmt_split(codes):
            return Cat(c[0:4] for c in codes)

        x_bus = [[Signal(4 * NIBBLES, name=f"x_{r}_{i}") for i in range(bs)] for r in range(pr)]
        y_bus = [[Signal(4 * NIBBLES, name=f"y_{c}_{j}") for j in range(bs)] for c in range(pc)]
        for r in range(pr):
            codes = op.a[r].codes
            for i in range(bs):
                row = [codes[i * bs + kk] for kk in range(bs)]
                fused = fmt(_select(row, k), wide_a)
                m.d.comb += x_bus[r][i].eq(Mux(split, fmt_split(row), fused) if has_split
                                           else fused)
        for c in range(pc):
            codes = op.b[c].codes
            for j in range(bs):
                col = [codes[kk * bs + j] for kk in range(bs)]
                fused = fmt(_select(col, k), wide_b)
                m.d.comb += y_bus[c][j].eq(Mux(split, fmt_split(col), fused) if has_split
                                           else fused)

        # -- control pipeline (valid bits and per-line exponent data) ---------
        # Stage P: psum holds a finished block product.
        p_valid, p_first, p_last = Signal(), Signal(), Signal()
        p_da = [Signal(unsigned(eb), name=f"p_da{r}") for r in range(pr)]
        p_db = [Signal(unsigned(eb), name=f"p_db{c}") for c in range(pc)]
        p_ra = [Signal(signed(eb), name=f"p_ra{r}") for r in range(pr)]
        p_rb = [Signal(signed(eb), name=f"p_rb{c}") for c in range(pc)]
        # Stage A: the aligned registers hold that product aligned.
        a_valid, a_first, a_last = Signal(), Signal(), Signal()
        a_ra = [Signal(signed(eb), name=f"a_ra{r}") for r in range(pr)]
        a_rb = [Signal(signed(eb), name=f"a_rb{c}") for c in range(pc)]

        done = op_valid & last_beat
        with m.If(advance):
            m.d.sync += [
                p_valid.eq(done),
                a_valid.eq(p_valid),
                self.o.valid.eq(a_valid & a_last),
            ]
            with m.If(done):
                m.d.sync += [p_first.eq(op.first), p_last.eq(op.last)]
                # RA >= EA by contract, so the difference fits eb unsigned bits.
                m.d.sync += [p_da[r].eq(op.ref_a[r] - op.a[r].exponent) for r in range(pr)]
                m.d.sync += [p_db[c].eq(op.ref_b[c] - op.b[c].exponent) for c in range(pc)]
                m.d.sync += [p_ra[r].eq(op.ref_a[r]) for r in range(pr)]
                m.d.sync += [p_rb[c].eq(op.ref_b[c]) for c in range(pc)]
            with m.If(p_valid):
                m.d.sync += [a_first.eq(p_first), a_last.eq(p_last)]
                m.d.sync += [a_ra[r].eq(p_ra[r]) for r in range(pr)]
                m.d.sync += [a_rb[c].eq(p_rb[c]) for c in range(pc)]

        # -- the PEs -----------------------------------------------------------
        for r in range(pr):
            for c in range(pc):
                pe = ProcessingElement(cfg, fused=has_fused, split=has_split)
                m.submodules[f"pe_{r}_{c}"] = pe
                m.d.comb += [
                    pe.split.eq(split),
                    pe.hi.eq(hi),
                    pe.mul_en.eq(advance & op_valid),
                    pe.mul_first.eq(beat == 0),
                    pe.align_en.eq(advance & p_valid),
                    pe.align_da.eq(p_da[r]),
                    pe.align_db.eq(p_db[c]),
                    pe.acc_en.eq(advance & a_valid),
                    pe.acc_first.eq(a_first),
                    pe.acc_ra.eq(a_ra[r]),
                    pe.acc_rb.eq(a_rb[c]),
                    self.o.payload.blocks[r * pc + c].acc.eq(pe.acc),
                    self.o.payload.blocks[r * pc + c].exponent.eq(pe.exponent),
                ]
                for i in range(bs):
                    m.d.comb += [pe.x[i].eq(x_bus[r][i]), pe.y[i].eq(y_bus[c][i])]
        return m


def _select(values, index):
    """values[index] for a small list and a run-time index (a mux chain)."""
    out = values[0]
    for n, v in enumerate(values[1:], start=1):
        out = Mux(index == n, v, out)
    return out
