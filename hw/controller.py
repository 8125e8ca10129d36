"""The PINTA controller: fetch, decode, descriptor registers, scoreboard, issue, counters.

It executes the ISA of docs/isa.md (binary encoding from :mod:`pinta.sim.isa`,
which this module reads at elaboration: opcode numbers, field offsets and the
read/write operand lists are never written down twice) with the issue model
of docs/simulator.md §1:

* **Fetch.** The program memory (128-bit words, written by the host) has a
  synchronous read port whose address is ``pc + issue``, so its output *is*
  the instruction at ``pc`` in every cycle: one instruction per cycle, no
  fetch bubbles (the model's "fetch never stalls").
* **Decode** is combinational on that word: illegal-instruction checks, the
  operand descriptors (d0..d4 = the descriptor fields at bits [4:0], [9:5],
  [14:10], [19:15], [24:20]), and the instruction's occupancy and latency computed in
  hardware from the descriptors by the formulas of sim/timing.py.
* **Issue** in program order, at most one per cycle, when the unit is free
  (``busy_rem == 0``), no in-flight range conflicts (scoreboard), and for
  BARRIER / WAIT when everything / the unit has completed.
* **Scoreboard**: ``SB_ENTRIES`` entries (buffer, [lo, hi), is_write, rem),
  ``rem`` = done - now, counting down; an entry blocks while ``rem > 0``.
  This is the "table of in-flight ranges with their done cycles" of
  docs/simulator.md. A full table would stall issue; that never happens in
  the model, so such cycles are counted separately (``sb_full``) and the
  tests require 0.
* **Counters** (per cycle, while running): ``cycles``; per unit ``busy``
  (a cycle inside an instruction's occupancy; CTRL: an issue cycle) and
  ``stall`` (the head instruction's unit is free but an operand conflict
  holds it; CTRL: the head did not issue). They equal the simulator's
  ``busy``/``stall`` by construction of the same rules.
* **Errors.** An illegal word (unknown opcode, unit field that does not match
  the opcode, non-zero reserved bits, invalid enum value, a write to ``v0``)
  sets ``error`` = 1; an instruction this RTL version does not execute yet
  sets ``error`` = 2. Either way nothing further issues, in-flight work
  drains, then the controller stops with ``error_pc`` = the offending index.
  A unit reports a run-time fault (``fault``, ``fault_pc``: a DEQ value that
  FP32 cannot hold, ``DEQ_INEXACT``; an ACCF value that rounds past FP32's
  range, ``ACCF_OVERFLOW``) in the faulting instruction's done
  cycle: from that cycle on nothing issues, and the run stops the same way
  (sim/program.py ``fault_stop`` is the model of it). A fault belongs to an
  instruction issued before the head, so it replaces an illegal/unimplemented
  error recorded before it: the reported error is the first in program order.
"""

from __future__ import annotations

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, enum, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from pinta.config import PintaConfig
from pinta.sim.isa import NUM_VIEWS, OPCODE_SHIFT, OPCODES, UNIT_SHIFT, FIELD_BITS, Fmt, Unit
from pinta.sim.timing import DESIGN, gemm_drain_cycles, vector_depth, vector_passes

from .mac_array import beats_per_transfer, grid
from .common import Precision
from .buffers import cdiv, pick
from .top_gather import AccViewRule
from .top_view import IDENTITY_PERM, VIEW_LAYOUT, ViewSplit, tile_rows

__all__ = ["DESC", "ErrorCode", "Controller", "IMPLEMENTED", "UNITS", "VEC_BROADCAST", "VEC_ELEMENTWISE",
           "unit_command_layout"]

UNITS = ("CTRL", "DMA", "MAC", "QNT", "VEC")
#: Opcodes the RTL executes in this version (others stop with ErrorCode.UNIMPLEMENTED).
IMPLEMENTED = ("NOP", "TDESC", "VIEW", "BARRIER", "WAIT", "LOAD", "STORE", "GEMM", "QUANT", "ACCF", "DIFFQ",
               "VADD", "VSUB", "VMUL", "VNEG", "VSCALE", "VDTANH", "VTANH", "VSIN", "VCOS", "VDIV", "VSQRT",
               "STEIN", "DEQ", "ADAM", "RNG", "QUANTR")
#: Broadcast forms (b's rows repeated), in the order of the operation they are a form of
#: (add, sub, mul): executed only where a pass never spans a row of a (see ``unimpl``).
VEC_BROADCAST = ("VADDB", "VSUBB", "VMULB")
IMPLEMENTED += VEC_BROADCAST
#: The reductions (hw/top_reduce.py): VRED through v0 and identity views (``unimpl``: permuting views).
IMPLEMENTED += ("VSUM", "VRED")
#: The element-wise VEC instructions (one pass of vector_lanes elements per cycle) the top executes
#: (RNG: one pass of vector_lanes samples of dst per cycle).
VEC_ELEMENTWISE = ("VADD", "VSUB", "VMUL", "VNEG", "VSCALE", "VDTANH", "VTANH", "VSIN", "VCOS", "VDIV", "VSQRT",
                   *VEC_BROADCAST, "RNG")
SB_ENTRIES = 16
N_DESC_FIELDS = 5  # d0..d4 (ADAM's s is d4)
CNT_BITS = 48


class ErrorCode(enum.Enum, shape=4):
    NONE = 0
    ILLEGAL = 1
    UNIMPLEMENTED = 2
    #: run time: a DEQ met an SMX value that FP32 cannot hold exactly (overflow, or bits below 2**-149)
    DEQ_INEXACT = 3
    #: run time: an ACCF value rounds past FP32's range (the golden rounding refuses it)
    ACCF_OVERFLOW = 4


#: Error codes a unit reports while the program runs (data-dependent), as opposed to the
#: decode-time ILLEGAL and UNIMPLEMENTED.
RUN_TIME_FAULTS = (ErrorCode.DEQ_INEXACT, ErrorCode.ACCF_OVERFLOW)


#: A tensor descriptor register with the derived sizes the units need.
DESC = data.StructLayout({
    "buf": unsigned(2), "fmt": unsigned(3), "addr": unsigned(32),
    "rows": unsigned(16), "cols": unsigned(16),
    "rb": unsigned(15), "cb": unsigned(15),   # blocks per column / row of blocks (ceil /4)
    "nb": unsigned(30),                       # rb*cb
    "words": unsigned(32),                    # footprint in words
})


def unit_command_layout() -> data.StructLayout:
    """What a unit receives in its issue cycle."""
    return data.StructLayout({
        "word": unsigned(128),
        "d": data.ArrayLayout(DESC, N_DESC_FIELDS),
        "view": VIEW_LAYOUT,   # QUANT / QUANTR: the view register named by the view field (v0: zeros)
    })


def _by_name():
    return {spec.mnemonic: spec for spec in OPCODES.values()}


def field_slice(word, mnemonic: str, field: str):
    spec = _by_name()[mnemonic]
    for f, off in spec.field_offsets():
        if f.name == field:
            return word[off:off + f.width]
    raise KeyError(field)


def _desc_index(spec, name: str) -> int:
    descs = [f.name for f in spec.fields if f.kind == "desc"]
    return descs.index(name)


class Controller(wiring.Component):
    """Fetch/decode/issue with the scoreboard and the counters.

    Members
    -------
    host_pmem : In  -- program memory write port (addr = instruction index, 2 halves)
    start : In(1)    -- pulse: reset counters and run from pc 0
    prog_len : In(16)
    running, done : Out(1)
    error : Out(ErrorCode); error_pc : Out(16)
    cycles, issued, sb_full : Out(CNT_BITS); busy, stall : Out(5 × CNT_BITS)
    inflight : Out(5) -- per unit: an issued instruction has not reached its done cycle
    start_dma, start_mac, start_qnt, start_vec : Out(1) -- issue strobes
    cmd : Out(unit_command_layout())   -- valid with the strobes (combinational)
    cmd_pc : Out(16) -- index of the instruction in ``cmd`` (a unit returns it with a fault)
    fault : In(ErrorCode), fault_pc : In(16) -- a unit's run-time fault (NONE: none) and the
        faulting instruction's index, in that instruction's done cycle
    """

    def __init__(self, cfg: PintaConfig, pmem_depth: int = 1024):
        self.cfg = cfg
        self.pmem_depth = pmem_depth
        cnt = data.ArrayLayout(unsigned(CNT_BITS), len(UNITS))
        super().__init__({
            "pmem_we": In(1), "pmem_addr": In(range(pmem_depth)), "pmem_half": In(1), "pmem_data": In(64),
            "start": In(1),
            "prog_len": In(16),
            "running": Out(1), "done": Out(1),
            "error": Out(ErrorCode), "error_pc": Out(16),
            "cycles": Out(CNT_BITS), "issued": Out(CNT_BITS), "sb_full": Out(CNT_BITS),
            "busy": Out(cnt), "stall": Out(cnt),
            "inflight": Out(len(UNITS)),
            "start_dma": Out(1), "start_mac": Out(1), "start_qnt": Out(1), "start_vec": Out(1),
            "cmd": Out(unit_command_layout()),
            "cmd_pc": Out(16), "fault": In(ErrorCode), "fault_pc": In(16),
        })

    # -- helpers --------------------------------------------------------
    def _descriptor_from_tdesc(self, m, word):
        cfg = self.cfg
        new = Signal(DESC)
        rows = field_slice(word, "TDESC", "rows")
        cols = field_slice(word, "TDESC", "cols")
        fmt = field_slice(word, "TDESC", "fmt")
        rb = (rows + 3) >> 2
        cb = (cols + 3) >> 2
        nb = Signal(30)
        n_el = Signal(32)
        m.d.comb += [nb.eq(rb * cb), n_el.eq(rows * cols)]
        slot = 8 if cfg.exponent_bits <= 8 else 16
        per_word = 64 // slot
        lgpw = per_word.bit_length() - 1
        words = Signal(32)
        with m.Switch(fmt):
            with m.Case(Fmt.fp32):
                m.d.comb += words.eq((n_el + 1) >> 1)
            with m.Case(Fmt.acc):
                m.d.comb += words.eq((nb << 4) + ((nb + 1) >> 1))
            for f, b in ((Fmt.smx4, 4), (Fmt.smx8, 8), (Fmt.smx12, 12)):
                with m.Case(f):
                    m.d.comb += words.eq(nb * (b // 4) + ((nb + per_word - 1) >> lgpw))
            with m.Default():  # fmt 5..7: refused at decode
                m.d.comb += words.eq(0)
        m.d.comb += [
            new.buf.eq(field_slice(word, "TDESC", "buf")),
            new.fmt.eq(fmt),
            new.addr.eq(field_slice(word, "TDESC", "addr")),
            new.rows.eq(rows), new.cols.eq(cols),
            new.rb.eq(rb), new.cb.eq(cb), new.nb.eq(nb), new.words.eq(words),
        ]
        return new

    def elaborate(self, platform):
        cfg = self.cfg
        m = Module()
        by_name = _by_name()

        # -- program memory and fetch -----------------------------------
        pmem = Memory(shape=unsigned(128), depth=self.pmem_depth, init=[])
        m.submodules.pmem = pmem
        wp = pmem.write_port(granularity=64)
        m.d.comb += [
            wp.addr.eq(self.pmem_addr),
            wp.data.eq(Cat(self.pmem_data, self.pmem_data)),
            wp.en.eq(Mux(self.pmem_we, Mux(self.pmem_half, 0b10, 0b01), 0)),
        ]
        rp = pmem.read_port()
        pc = Signal(16)
        issue = Signal()
        m.d.comb += rp.addr.eq(pc + issue)
        word = rp.data

        state = Signal(2)  # 0 idle, 1 prefetch, 2 run, 3 drain (error)
        m.d.comb += [self.running.eq(state != 0)]

        # -- decode ------------------------------------------------------
        opcode = word[OPCODE_SHIFT:128]
        unit_f = word[UNIT_SHIFT:OPCODE_SHIFT]
        is_op = {name: Signal(name=f"is_{name}") for name in by_name}
        for name, spec in by_name.items():
            m.d.comb += is_op[name].eq(opcode == spec.opcode)
        known = Signal()
        m.d.comb += known.eq(Cat(*is_op.values()).any())
        illegal = Signal()
        unimpl = Signal()
        ill_terms = [~known]
        for name, spec in by_name.items():
            used = sum(f.width for f in spec.fields)
            bad = [unit_f != int(spec.unit)]
            if used < FIELD_BITS:
                bad.append(word[used:FIELD_BITS].any())
            for f, off in spec.field_offsets():
                if f.kind == "enum" and (1 << f.width) > len(f.enum_type):
                    bad.append(word[off:off + f.width] >= len(f.enum_type))
                if f.kind == "view" and f.name == "v":
                    bad.append(word[off:off + f.width] == 0)
            ill_terms.append(is_op[name] & Cat(*bad).any())
        m.d.comb += illegal.eq(Cat(*ill_terms).any())

        # descriptor registers
        descs_raw = [Signal(DESC.size, name=f"t{k}") for k in range(32)]
        descs = Array(descs_raw)
        d = [Signal(DESC, name=f"d{k}") for k in range(N_DESC_FIELDS)]
        for k in range(N_DESC_FIELDS):
            m.d.comb += d[k].as_value().eq(descs[word[5 * k:5 * k + 5]])

        # view registers v1..v7 (v0, the identity, reads as zeros): VIEW's d0..d3 and perm
        # fields, which follow its register field in VIEW_LAYOUT's order
        view_regs_raw = [Signal(VIEW_LAYOUT, name=f"v{k}") for k in range(NUM_VIEWS)]
        view_regs = Array(v.as_value() for v in view_regs_raw)
        vspec = by_name["VIEW"]
        v_off = dict((f.name, off) for f, off in vspec.field_offsets())
        assert [v_off[f"d{k}"] for k in range(4)] + [v_off["perm"]] == [v_off["d0"] + 16 * k for k in range(5)]
        assert dict((f.name, off) for f, off in by_name["QUANT"].field_offsets())["view"] == \
            dict((f.name, off) for f, off in by_name["QUANTR"].field_offsets())["view"]

        # unsupported variants of implemented opcodes
        quant_view = field_slice(word, "QUANT", "view")
        unimpl_terms = []
        for name in by_name:
            if name not in IMPLEMENTED:
                unimpl_terms.append(is_op[name])
        unimpl_terms.append(is_op["QUANT"] & (quant_view == 0) & (d[1].fmt == Fmt.acc) &
                            ((d[0].rows != d[1].rows) | (d[0].cols != d[1].cols)))
        # QUANTR with the identity view: an accumulator source whose rows are the tile's rows
        # (its blocks are the tile's blocks, as for QUANT)
        unimpl_terms.append(is_op["QUANTR"] & (quant_view == 0) & (d[1].fmt == Fmt.acc) & (d[0].cols != d[1].cols))
        # QUANT / QUANTR through a view: an fp32 source, and a view the QNT unit reads one
        # block per cycle (hw/top_view.py ViewSplit); accumulator sources are not built
        m.submodules.view_split = vsplit = ViewSplit()
        m.d.comb += [vsplit.view.eq(view_regs[quant_view]), vsplit.cols.eq(d[0].cols)]
        # ... or an accumulator source whose block columns are 4 consecutive record words
        # (hw/top_gather.py acc_view_split)
        m.submodules.acc_view_rule = arule = AccViewRule()
        m.d.comb += [arule.split_ok.eq(vsplit.ok), arule.col_windows.eq(vsplit.col_windows),
                     arule.rows.eq(vsplit.rows), arule.cols_d.eq(vsplit.cols_d), arule.src_cols.eq(d[1].cols)]
        unimpl_terms.append((is_op["QUANT"] | is_op["QUANTR"]) & (quant_view != 0) &
                            Mux(d[1].fmt == Fmt.acc, ~arule.ok, (d[1].fmt != Fmt.fp32) | ~vsplit.ok))
        unimpl_terms.append(is_op["GEMM"] & field_slice(word, "GEMM", "accum"))
        # a broadcast whose passes would span rows of a (a.cols not a multiple of L) needs a
        # gather of b (docs/hardware-top.md §7), unless b has a's shape (no repeat at all)
        for x in VEC_BROADCAST:
            unimpl_terms.append(is_op[x] & (d[1].cols[:(cfg.vector_lanes - 1).bit_length()] != 0)
                                & ((d[2].rows != d[1].rows) | (d[2].cols != d[1].cols)))
        # VRED through a view register: an identity permutation reads the source in its
        # own order, so the engine takes the view's dims (hw/top_reduce.py
        # cmd_reduce_dims); a permuting view needs a gathered source (not built)
        vred_view = field_slice(word, "VRED", "view")
        vred_v = Signal(VIEW_LAYOUT)
        m.d.comb += vred_v.eq(view_regs[vred_view])
        unimpl_terms.append(is_op["VRED"] & (vred_view != 0) & (vred_v.perm != IDENTITY_PERM))
        m.d.comb += unimpl.eq(Cat(*unimpl_terms).any())

        # -- unit, occupancy, latency -----------------------------------
        unit = Signal(3)
        m.d.comb += unit.eq(unit_f)
        occ = Signal(32)
        lat = Signal(32)
        bw_words = cfg.dram_bytes_per_cycle // 8
        if cfg.dram_bytes_per_cycle % 8:
            raise ValueError("the top needs dram_bytes_per_cycle to be a multiple of 8 (whole words per beat)")
        pr, pc_ = grid(cfg)
        # QUANTR: the tile's blocks, ceil(n_rows / 4) · dst.cb with n_rows = src elements / dst.cols
        # (sim/timing.py), a division by a run-time column count (hw/top_view.py TileRows)
        n_rows = tile_rows(m, "quantr_rows", d[1].rows * d[1].cols, d[0].cols)
        tile_nb = Signal(32)
        m.d.comb += tile_nb.eq(cdiv(n_rows, cfg.block_size) * d[0].cb)
        with m.If(is_op["LOAD"] | is_op["STORE"]):
            beats = Signal(32)
            m.d.comb += beats.eq(cdiv(d[0].words, bw_words))
            m.d.comb += [occ.eq(beats), lat.eq(beats + DESIGN.dma_setup)]
        with m.Elif(is_op["GEMM"]):
            ta = field_slice(word, "GEMM", "ta")
            tb = field_slice(word, "GEMM", "tb")
            mode = field_slice(word, "GEMM", "mode")
            mb = Mux(ta, d[1].cb, d[1].rb)
            kb = Mux(ta, d[1].rb, d[1].cb)
            nb_ = Mux(tb, d[2].rb, d[2].cb)
            tiles = Signal(32)
            m.d.comb += tiles.eq(cdiv(mb, pr) * cdiv(nb_, pc_))
            bpc = Signal(4)
            with m.Switch(mode):
                for p in Precision:
                    with m.Case(p.value):
                        m.d.comb += bpc.eq(beats_per_transfer(cfg, p))
            # tiles · max(Kb·bpc, PR·PC) (sim/timing.py gemm_tile_cycles: the tile's
            # blocks drain through one record port) + (Kb - 1), the exponent pre-pass
            # of the first tile (gemm_prepass_cycles); the last tile's last block is
            # written PR·PC - 1 cycles after its first (hw/top_units.py MacUnit;
            # docs/hardware-top.md §4).
            kbpc = Signal(20)
            per = Signal(20)
            nblk = pr * pc_
            m.d.comb += [kbpc.eq(kb * bpc), per.eq(Mux(kbpc < nblk, nblk, kbpc))]
            gocc = Signal(32)
            m.d.comb += gocc.eq(tiles * per + (kb - 1))
            m.d.comb += [occ.eq(gocc), lat.eq(gocc + DESIGN.mac_pipeline_depth + gemm_drain_cycles(cfg))]
        with m.Elif(is_op["QUANT"] | is_op["ACCF"] | is_op["DEQ"] | is_op["QUANTR"]):
            blocks = Mux(is_op["QUANT"], d[0].nb, Mux(is_op["QUANTR"], tile_nb, d[1].nb))
            m.d.comb += [occ.eq(blocks), lat.eq(blocks + DESIGN.qnt_depth)]
        with m.Elif(is_op["DIFFQ"]):
            m.d.comb += [occ.eq(d[0].nb << 1), lat.eq((d[0].nb << 1) + DESIGN.qnt_depth)]
        with m.Elif(Cat(*(is_op[x] for x in VEC_ELEMENTWISE)).any()):
            # element-wise: ceil(n / L) passes + the instruction's depth (sim/timing.py
            # vector_depth: vec_depth_arith, or the derived depth of the special-function
            # or divide / square-root pipeline)
            n_el = Signal(32)
            m.d.comb += n_el.eq(d[0].rows * d[0].cols)
            vocc = Signal(32)
            m.d.comb += vocc.eq(cdiv(n_el, cfg.vector_lanes))
            depth = Signal(range(max(vector_depth(x) for x in VEC_ELEMENTWISE) + 1))
            m.d.comb += depth.eq(vector_depth(VEC_ELEMENTWISE[0]))
            for x in VEC_ELEMENTWISE[1:]:
                with m.If(is_op[x]):
                    m.d.comb += depth.eq(vector_depth(x))
            m.d.comb += [occ.eq(vocc), lat.eq(vocc + depth)]
        # Multi-pass VEC instructions: vector_passes(x) passes per L elements of the operand
        # that sets their length. STEIN: up (d2), one pass per result tensor through the one
        # arithmetic write port (hw/top_vec.py); ADAM: w (d0), its depth the ADAM
        # datapath's (hw/top_adam.py adam_depth).
        for name, di in (("STEIN", 2), ("ADAM", 0)):
            with m.Elif(is_op[name]):
                p_el = Signal(32, name=f"{name.lower()}_el")
                m.d.comb += p_el.eq(d[di].rows * d[di].cols)
                pocc = Signal(32, name=f"{name.lower()}_occ")
                m.d.comb += pocc.eq(cdiv(p_el, cfg.vector_lanes) * vector_passes(name))
                m.d.comb += [occ.eq(pocc), lat.eq(pocc + vector_depth(name))]
        with m.Elif(is_op["VSUM"] | is_op["VRED"]):
            # the reduction engine's op count (hw/top_reduce.py reduce_ops, the function
            # sim/timing.py uses) + the arithmetic depth
            from .top_reduce import HwOps, cmd_reduce_dims, reduce_ops
            hw = HwOps(m)
            rocc = Signal(32)
            m.d.comb += rocc.eq(reduce_ops(*cmd_reduce_dims(m, word, d[1], hw, vred_v), cfg.vector_lanes, hw))
            m.d.comb += [occ.eq(rocc), lat.eq(rocc + vector_depth("VSUM"))]
        with m.Else():
            m.d.comb += [occ.eq(DESIGN.ctrl_latency), lat.eq(DESIGN.ctrl_latency)]

        # ranges: (valid, desc idx, is_write) per desc field
        r_valid = [Signal(name=f"rv{k}") for k in range(N_DESC_FIELDS)]
        r_write = [Signal(name=f"rw{k}") for k in range(N_DESC_FIELDS)]
        for k in range(N_DESC_FIELDS):
            rv_terms, rw_terms = [], []
            for name, spec in by_name.items():
                if spec.unit == Unit.CTRL:
                    continue
                descs_f = [f.name for f in spec.fields if f.kind == "desc"]
                if k < len(descs_f):
                    fname = descs_f[k]
                    if fname in spec.reads or fname in spec.writes:
                        rv_terms.append(is_op[name])
                    if fname in spec.writes:
                        rw_terms.append(is_op[name])
            m.d.comb += [r_valid[k].eq(Cat(*rv_terms).any() if rv_terms else 0),
                         r_write[k].eq(Cat(*rw_terms).any() if rw_terms else 0)]

        # -- scoreboard ----------------------------------------------------
        sb_buf = [Signal(2, name=f"sb{e}_buf") for e in range(SB_ENTRIES)]
        sb_lo = [Signal(32, name=f"sb{e}_lo") for e in range(SB_ENTRIES)]
        sb_hi = [Signal(32, name=f"sb{e}_hi") for e in range(SB_ENTRIES)]
        sb_w = [Signal(name=f"sb{e}_w") for e in range(SB_ENTRIES)]
        sb_rem = [Signal(32, name=f"sb{e}_rem") for e in range(SB_ENTRIES)]
        conflict_terms = []
        for e in range(SB_ENTRIES):
            live = sb_rem[e] != 0
            for k in range(N_DESC_FIELDS):
                ov = (d[k].buf == sb_buf[e]) & (d[k].addr < sb_hi[e]) & (sb_lo[e] < d[k].addr + d[k].words)
                conflict_terms.append(live & r_valid[k] & ov & (r_write[k] | sb_w[e]))
        conflict = Signal()
        m.d.comb += conflict.eq(Cat(*conflict_terms).any())
        # slot allocation: one free entry per range, lowest first
        free = Signal(SB_ENTRIES)
        m.d.comb += free.eq(Cat(*(r == 0 for r in sb_rem)))
        avail = free
        slot_onehot = []
        for k in range(N_DESC_FIELDS):
            oh = Signal(SB_ENTRIES, name=f"slot{k}")
            m.d.comb += oh.eq(Mux(r_valid[k], avail & (-avail)[:SB_ENTRIES], 0))
            slot_onehot.append(oh)
            avail = Mux(r_valid[k], avail & ~oh, avail)
        sb_ok = Signal()
        need_terms = [~r_valid[k] | slot_onehot[k].any() for k in range(N_DESC_FIELDS)]
        m.d.comb += sb_ok.eq(Cat(*need_terms).all())

        # -- unit state: busy_rem (occupancy), done_rem (latency), all_rem --
        busy_rem = [Signal(32, name=f"busy_rem_{u}") for u in UNITS]
        done_rem = [Signal(32, name=f"done_rem_{u}") for u in UNITS]
        all_rem = Signal(32)
        m.d.comb += self.inflight.eq(Cat(*(r != 0 for r in done_rem)))
        unit_free = Signal()
        m.d.comb += unit_free.eq(pick([r == 0 for r in busy_rem], unit))

        head_valid = Signal()
        m.d.comb += head_valid.eq((state == 2) & (pc < self.prog_len))
        bad = Signal()
        m.d.comb += bad.eq(illegal | unimpl)
        can = Signal()
        wait_unit = field_slice(word, "WAIT", "unit")
        with m.If(is_op["BARRIER"]):
            m.d.comb += can.eq(all_rem == 0)
        with m.Elif(is_op["WAIT"]):
            m.d.comb += can.eq(pick([r == 0 for r in done_rem], wait_unit))
        with m.Elif(unit == Unit.CTRL):
            m.d.comb += can.eq(1)
        with m.Else():
            m.d.comb += can.eq(unit_free & ~conflict & sb_ok)
        # a run-time fault stops issue in its cycle; the recorded error from the next on
        halt = Signal()
        m.d.comb += halt.eq((self.fault != ErrorCode.NONE) | (self.error != ErrorCode.NONE))
        m.d.comb += issue.eq(head_valid & ~bad & ~halt & can)

        # -- issue strobes and command -------------------------------------
        m.d.comb += [
            self.cmd.word.eq(word), self.cmd_pc.eq(pc),
            self.start_dma.eq(issue & (unit == Unit.DMA)),
            self.start_mac.eq(issue & (unit == Unit.MAC)),
            self.start_qnt.eq(issue & (unit == Unit.QNT)),
            self.start_vec.eq(issue & (unit == Unit.VEC)),
        ]
        for k in range(N_DESC_FIELDS):
            m.d.comb += self.cmd.d[k].eq(d[k])
        # the view register the command names: QUANT/QUANTR's view field, or VRED's
        m.d.comb += self.cmd.view.eq(Mux(is_op["VRED"], vred_v.as_value(), view_regs[quant_view]))

        # -- state updates ---------------------------------------------------
        def dec(x):
            return Mux(x != 0, x - 1, 0)

        def mx(a, b):
            return Mux(a > b, a, b)

        counting = Signal()
        finished = Signal()
        m.d.comb += finished.eq((all_rem == 0) & ((pc >= self.prog_len) | halt))
        m.d.comb += counting.eq((state == 2) & ~finished)

        lat_m1 = lat - 1
        occ_m1 = occ - 1
        for ui, u in enumerate(UNITS):
            mine = issue & (unit == ui)
            if u == "CTRL":
                m.d.sync += busy_rem[ui].eq(0)
            else:
                m.d.sync += busy_rem[ui].eq(Mux(mine, occ_m1, dec(busy_rem[ui])))
            m.d.sync += done_rem[ui].eq(mx(dec(done_rem[ui]), Mux(mine, lat_m1, 0)))
        m.d.sync += all_rem.eq(mx(dec(all_rem), Mux(issue, lat_m1, 0)))
        unit_issue = issue & (unit != Unit.CTRL)
        for e in range(SB_ENTRIES):
            m.d.sync += sb_rem[e].eq(dec(sb_rem[e]))
            for k in range(N_DESC_FIELDS):
                with m.If(unit_issue & slot_onehot[k][e]):
                    m.d.sync += [sb_buf[e].eq(d[k].buf), sb_lo[e].eq(d[k].addr),
                                 sb_hi[e].eq(d[k].addr + d[k].words), sb_w[e].eq(r_write[k]),
                                 sb_rem[e].eq(lat_m1)]

        new_desc = self._descriptor_from_tdesc(m, word)
        with m.If(issue & is_op["TDESC"]):
            for k in range(32):
                with m.If(field_slice(word, "TDESC", "t") == k):
                    m.d.sync += descs_raw[k].eq(new_desc.as_value())
        with m.If(issue & is_op["VIEW"]):
            for k in range(1, NUM_VIEWS):
                with m.If(field_slice(word, "VIEW", "v") == k):
                    m.d.sync += view_regs_raw[k].as_value().eq(word[v_off["d0"]:v_off["d0"] + VIEW_LAYOUT.size])
        with m.If(issue):
            m.d.sync += pc.eq(pc + 1)

        # counters
        with m.If(counting):
            m.d.sync += self.cycles.eq(self.cycles + 1)
            m.d.sync += self.issued.eq(self.issued + issue)
            m.d.sync += self.sb_full.eq(self.sb_full + (head_valid & ~bad & ~halt & (unit != Unit.CTRL) & unit_free
                                                        & ~conflict & ~sb_ok))
            for ui, u in enumerate(UNITS):
                if u == "CTRL":
                    m.d.sync += [self.busy[ui].eq(self.busy[ui] + issue),
                                 self.stall[ui].eq(self.stall[ui] + (head_valid & ~bad & ~halt & ~issue))]
                else:
                    mine_busy = (issue & (unit == ui)) | (busy_rem[ui] != 0)
                    mine_stall = head_valid & ~bad & ~halt & (unit == ui) & unit_free & ~issue
                    m.d.sync += [self.busy[ui].eq(self.busy[ui] + mine_busy),
                                 self.stall[ui].eq(self.stall[ui] + mine_stall)]

        # error capture
        # the first run-time fault is kept; it replaces an illegal word that stopped issue
        # behind the faulting instruction (the fault belongs to the earlier instruction)
        with m.If((self.fault != ErrorCode.NONE) & ~Cat(*(self.error == f for f in RUN_TIME_FAULTS)).any()):
            m.d.sync += [self.error.eq(self.fault), self.error_pc.eq(self.fault_pc)]
        with m.Elif(head_valid & bad & (self.error == ErrorCode.NONE)):
            m.d.sync += [self.error.eq(Mux(illegal, ErrorCode.ILLEGAL, ErrorCode.UNIMPLEMENTED)),
                         self.error_pc.eq(pc)]

        # An if-chain, not a Switch: a Switch becomes a Verilog case per signal, and
        # `done`'s would cover only state 2 (Verilator CASEINCOMPLETE).
        with m.If(state == 1):
            m.d.sync += state.eq(2)
        with m.Elif(state == 2):
            with m.If(finished):
                m.d.sync += [state.eq(0), self.done.eq(1)]
        with m.Else():  # 0 idle (3 unused)
            m.d.sync += state.eq(0)
        with m.If(self.start):
            m.d.sync += [state.eq(1), pc.eq(0), self.done.eq(0), self.error.eq(ErrorCode.NONE),
                         self.error_pc.eq(0), self.cycles.eq(0), self.issued.eq(0), self.sb_full.eq(0)]
            m.d.sync += [c.eq(0) for c in self.busy] + [c.eq(0) for c in self.stall]
        return m
