"""Execution units of the PINTA top: DMA, MAC (GEMM sequencer) and QNT (quantizer path).

Each unit receives ``start`` and the controller's command (instruction word
and operand descriptors) in the issue cycle, and talks to the buffers through
its own ports (hw/buffers.py). Timing per unit, relative to the issue cycle
I (docs/hardware-top.md has the derivation against docs/simulator.md):

* DMA: beat k (``dram_bytes_per_cycle/8`` words) in cycle I + k. LOAD: the
  read request goes out in I + k, the data returns ``dma_setup`` cycles later
  and is written in that cycle; STORE: buffer read in I + k, DRAM write in
  I + k + 1.
* MAC: exponent pre-pass of the tile's reduction lines (one exponent per line
  per cycle, Kb cycles, cycles I .. I+Kb-1), operand reads of transfer j in
  cycle I + Kb - 1 + j·bpc, MAC array (operand regs, multiply, align,
  accumulate), accumulator record written in I + occupancy + 4 + (Kb - 1).
  With Kb = 1 that is exactly the model's latency; see docs/hardware-top.md
  for the Kb > 1 difference.
* QNT: source block n read in I + 1 + n (QUANTR: the tile's blocks; through a
  view: the windows hw/top_view.py's odometers address), quantizer (3 stages), result
  written in I + n + 4; the last block lands in cycle I + occupancy + 4 =
  done, visible to a read in that cycle (transparent buffer reads). ACCF and
  DEQ: block n read in I + 1 + n, converted to FP32, written in I + 3 + n;
  a DEQ's fault (a value FP32 cannot hold) is reported in I + occupancy + 4.
"""

from __future__ import annotations

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.wiring import In, Out

from pinta.config import PintaConfig
from pinta.sim.isa import OPCODE_SHIFT, OPCODES, Fmt
from pinta.sim.timing import DESIGN

from .buffers import ReadPortSignature, WritePortSignature, cdiv, pick
from .common import Precision, code_bits
from .controller import DESC, ErrorCode, field_slice, unit_command_layout
from .mac_array import MacArray, grid
from .smx_quantizer import SMXQuantizer
from .top_gather import AccAlign
from .top_view import DIGITS, Odometer, ViewSplit

__all__ = ["DmaUnit", "MacUnit", "QntUnit", "slot_params"]


def slot_params(cfg: PintaConfig) -> tuple[int, int]:
    """(exponent slot bits, log2 slots per word)."""
    s = 8 if cfg.exponent_bits <= 8 else 16
    return s, (64 // s).bit_length() - 1


def _opcode(mnemonic: str) -> int:
    return next(x.opcode for x in OPCODES.values() if x.mnemonic == mnemonic)


def _eff(m, start, new, reg, name):
    """``new`` in the issue cycle, else the latched ``reg`` (same layout)."""
    sig = Signal(reg.shape(), name=name)
    m.d.comb += sig.as_value().eq(Mux(start, new.as_value(), reg.as_value()))
    return sig


def _sext(value, width):
    return value.as_signed() if len(value) == width else value.as_signed()


class DmaUnit(wiring.Component):
    def __init__(self, cfg: PintaConfig):
        self.cfg = cfg
        self.wpb = cfg.dram_bytes_per_cycle // 8
        w = self.wpb
        super().__init__({
            "start": In(1), "cmd": In(unit_command_layout()),
            "rd": Out(ReadPortSignature(w)), "wr": Out(WritePortSignature(w)),
            "dram_rd_valid": Out(1), "dram_rd_addr": Out(37),
            "dram_rdata": In(64 * w),
            "dram_wr_valid": Out(1), "dram_wr_addr": Out(37), "dram_wr_data": Out(64 * w), "dram_wr_be": Out(8 * w),
        })

    def elaborate(self, platform):
        m = Module()
        w = self.wpb
        L = DESIGN.dma_setup
        cmd_reg = Signal(unit_command_layout())
        with m.If(self.start):
            m.d.sync += cmd_reg.eq(self.cmd)
        c = _eff(m, self.start, self.cmd, cmd_reg, "dma_c")
        d = c.d[0]
        is_load = c.word[120:128] == 0x10
        dram_w = c.word[8:45]
        active = Signal()
        k = Signal(32)
        k_eff = Mux(self.start, 0, k)
        beats = cdiv(d.words, w)
        go = self.start | active
        last = k_eff == beats - 1
        with m.If(go):
            m.d.sync += [k.eq(k_eff + 1), active.eq(~last)]
        off = Signal(32)
        m.d.comb += off.eq(k_eff * w)
        remaining = Signal(32)
        m.d.comb += remaining.eq(d.words - off)
        be = Signal(8 * w)
        for j in range(w):
            m.d.comb += be[8 * j:8 * j + 8].eq(Mux(remaining > j, 0xFF, 0))
        # LOAD: request now, write when the data returns (fixed latency L).
        m.d.comb += [self.dram_rd_valid.eq(go & is_load), self.dram_rd_addr.eq(dram_w + off)]
        line = [(Signal(name=f"ld_v{s}"), Signal(2, name=f"ld_b{s}"), Signal(32, name=f"ld_a{s}"),
                 Signal(8 * w, name=f"ld_be{s}")) for s in range(L)]
        prev = (go & is_load, d.buf, d.addr + off, be)
        for s in range(L):
            m.d.sync += [x.eq(y) for x, y in zip(line[s], prev)]
            prev = line[s]
        v, b, a, e = line[-1]
        m.d.comb += [self.wr.en.eq(v), self.wr.buf.eq(b), self.wr.addr.eq(a), self.wr.be.eq(e),
                     self.wr.data.eq(self.dram_rdata)]
        # STORE: read one cycle after the beat's slot (a result written in the
        # producer's done cycle is then visible without a transparent port),
        # write to DRAM the cycle after.
        s1_v = Signal(); s1_buf = Signal(2); s1_addr = Signal(32); s1_dram = Signal(37); s1_be = Signal(8 * w)
        m.d.sync += [s1_v.eq(go & ~is_load), s1_buf.eq(d.buf), s1_addr.eq(d.addr + off), s1_dram.eq(dram_w + off),
                     s1_be.eq(be)]
        m.d.comb += [self.rd.en.eq(s1_v), self.rd.buf.eq(s1_buf), self.rd.addr.eq(s1_addr)]
        st_v = Signal()
        st_a = Signal(37)
        st_be = Signal(8 * w)
        m.d.sync += [st_v.eq(s1_v), st_a.eq(s1_dram), st_be.eq(s1_be)]
        m.d.comb += [self.dram_wr_valid.eq(st_v), self.dram_wr_addr.eq(st_a), self.dram_wr_data.eq(self.rd.data),
                     self.dram_wr_be.eq(st_be)]
        return m


def _unpack_codes(m, rec, bits_sel, transpose, valid, cb, name):
    """16 codes (sign-extended to cb bits) of a record; bits_sel: 0 -> 8, 1 -> 12, 2 -> 4."""
    codes = []
    for e in range(16):
        src = (e % 4) * 4 + e // 4 if transpose is True else e
        codes.append(src)
    out = []
    for e in range(16):
        c = Signal(signed(cb), name=f"{name}_c{e}")
        et = (e % 4) * 4 + e // 4
        v8 = [rec[8 * x:8 * x + 8].as_signed() for x in (e, et)]
        v12 = [rec[12 * x:12 * x + 12].as_signed() for x in (e, et)]
        v4 = [rec[4 * x:4 * x + 4].as_signed() for x in (e, et)]
        sel8 = Mux(transpose, v8[1], v8[0])
        sel12 = Mux(transpose, v12[1], v12[0])
        sel4 = Mux(transpose, v4[1], v4[0])
        m.d.comb += c.eq(Mux(valid, Mux(bits_sel == 1, sel12, Mux(bits_sel == 2, sel4, sel8)), 0))
        out.append(c)
    return out


class MacUnit(wiring.Component):
    """GEMM sequencer around :class:`MacArray` (exponent pre-pass, operand fetch, write-back)."""

    def __init__(self, cfg: PintaConfig):
        self.cfg = cfg
        pr, pc = grid(cfg)
        members = {"start": In(1), "cmd": In(unit_command_layout()),
                   "w_rec": Out(WritePortSignature(16)), "w_exp": Out(WritePortSignature(1)),
                   "late": Out(1)}
        for r in range(pr):
            members[f"ra_rec{r}"] = Out(ReadPortSignature(3))
            members[f"ra_exp{r}"] = Out(ReadPortSignature(1))
            members[f"pp_a{r}"] = Out(ReadPortSignature(1))
        for c in range(pc):
            members[f"rb_rec{c}"] = Out(ReadPortSignature(3))
            members[f"rb_exp{c}"] = Out(ReadPortSignature(1))
            members[f"pp_b{c}"] = Out(ReadPortSignature(1))
        super().__init__(members)

    def elaborate(self, platform):
        cfg = self.cfg
        m = Module()
        pr, pc = grid(cfg)
        eb = cfg.exponent_bits
        slot, lgpw = slot_params(cfg)
        cb_bits = code_bits(cfg)
        m.submodules.array = array = MacArray(cfg)

        cmd_reg = Signal(unit_command_layout())
        with m.If(self.start):
            m.d.sync += cmd_reg.eq(self.cmd)
        c = _eff(m, self.start, self.cmd, cmd_reg, "mac_c")
        dst, a, b = c.d[0], c.d[1], c.d[2]
        mode = field_slice(c.word, "GEMM", "mode")
        ta = field_slice(c.word, "GEMM", "ta")
        tb = field_slice(c.word, "GEMM", "tb")
        Mb = Signal(16); Kb = Signal(16); Nb = Signal(16); TM = Signal(16); TN = Signal(16)
        m.d.comb += [Mb.eq(Mux(ta, a.cb, a.rb)), Kb.eq(Mux(ta, a.rb, a.cb)), Nb.eq(Mux(tb, b.rb, b.cb)),
                     TM.eq(cdiv(Mb, pr)), TN.eq(cdiv(Nb, pc))]
        # words per record and code-width selector (0: 8, 1: 12, 2: 4)
        wa = Signal(2); wb = Signal(2); sa = Signal(2); sb = Signal(2)
        with m.Switch(mode):
            with m.Case(Precision.INT8.value):
                m.d.comb += [wa.eq(2), wb.eq(2), sa.eq(0), sb.eq(0)]
            with m.Case(Precision.INT12_8.value):
                m.d.comb += [wa.eq(3), wb.eq(2), sa.eq(1), sb.eq(0)]
            with m.Case(Precision.INT8_12.value):
                m.d.comb += [wa.eq(2), wb.eq(3), sa.eq(0), sb.eq(1)]
            with m.Case(Precision.INT4.value):
                m.d.comb += [wa.eq(1), wb.eq(1), sa.eq(2), sb.eq(2)]
        bpc = Signal(4)
        with m.Switch(mode):
            from .mac_array import beats_per_transfer
            for p in Precision:
                with m.Case(p.value):
                    m.d.comb += bpc.eq(beats_per_transfer(cfg, p))
        exp_a = Signal(32); exp_b = Signal(32)
        m.d.comb += [exp_a.eq(a.addr + a.nb * wa), exp_b.eq(b.addr + b.nb * wb)]
        # A tile's PR·PC output blocks leave through one record port, one per
        # cycle, so tiles are paced at max(Kb·bpc, PR·PC) cycles
        # (sim/timing.py gemm_tile_cycles): `gap` idle cycles open each tile's
        # slot. Zero whenever Kb·bpc >= PR·PC (always for a 1×1-PE array).
        nblk = pr * pc
        gap = Signal(16)
        kbpc = Signal(20)
        m.d.comb += [kbpc.eq(Kb * bpc), gap.eq(Mux(kbpc < nblk, nblk - kbpc, 0))]

        def a_block(i, k):
            return Mux(ta, k * a.cb + i, i * a.cb + k)

        def b_block(k, j):
            return Mux(tb, j * b.cb + k, k * b.cb + j)

        def slot_of(data_word, sel):
            # name=None: Amaranth numbers it; an id() in the name made the Verilog differ
            # from run to run and defeated the Verilator build cache (hw/top_sim.py)
            v = Signal(signed(eb), name="slot")
            m.d.comb += v.eq(pick([data_word[slot * x:slot * (x + 1)] for x in range(64 // slot)], sel).as_signed())
            return v

        # ---------------- exponent pre-pass ----------------
        pp_active = Signal(); pp_k = Signal(16); pp_tm = Signal(16); pp_tn = Signal(16)
        pp_restart = Signal()
        rs_tm = Signal(16); rs_tn = Signal(16)   # tile to pre-pass on restart
        pp_go = self.start | pp_active | pp_restart
        pk = Signal(16); ptm = Signal(16); ptn = Signal(16)
        m.d.comb += [
            pk.eq(Mux(self.start | pp_restart, 0, pp_k)),
            ptm.eq(Mux(self.start, 0, Mux(pp_restart, rs_tm, pp_tm))),
            ptn.eq(Mux(self.start, 0, Mux(pp_restart, rs_tn, pp_tn))),
        ]
        pp_last = pk == Kb - 1
        with m.If(pp_go):
            m.d.sync += [pp_k.eq(pk + 1), pp_tm.eq(ptm), pp_tn.eq(ptn), pp_active.eq(~pp_last)]
        pp_dv = Signal(); pp_dfirst = Signal(); pp_dlast = Signal()
        m.d.sync += [pp_dv.eq(pp_go), pp_dfirst.eq(pk == 0), pp_dlast.eq(pp_last)]
        def exponent_line(tag, idx, desc, exp_base, n, in_range):
            # Pre-pass read of one operand block's exponent word (A row or B column).
            port = getattr(self, f"pp_{tag}{idx}")
            m.d.comb += [port.en.eq(pp_go), port.buf.eq(desc.buf), port.addr.eq(exp_base + (n >> lgpw))]
            sel = Signal(lgpw, name=f"pp_{tag}_sel{idx}"); ok = Signal(name=f"pp_{tag}_ok{idx}")
            m.d.sync += [sel.eq(n[:lgpw]), ok.eq(in_range)]
            return port, sel, ok

        lines_a = [exponent_line("a", r, a, exp_a, a_block(ptm * pr + r, pk), ptm * pr + r < Mb) for r in range(pr)]
        lines_b = [exponent_line("b", cc, b, exp_b, b_block(pk, ptn * pc + cc), ptn * pc + cc < Nb) for cc in range(pc)]
        run = [Signal(signed(eb), name=f"pp_run{x}") for x in range(pr + pc)]
        ref_next = [Signal(signed(eb), name=f"ref_next{x}") for x in range(pr + pc)]
        ref_final = []
        for x, (port, sel, ok) in enumerate(lines_a + lines_b):
            e = Mux(ok, slot_of(port.data, sel), cfg.exponent_min)
            nxt = Signal(signed(eb), name=f"pp_nxt{x}")
            m.d.comb += nxt.eq(Mux(pp_dfirst | (e > run[x]), e, run[x]))
            with m.If(pp_dv):
                m.d.sync += run[x].eq(nxt)
                with m.If(pp_dlast):
                    m.d.sync += ref_next[x].eq(nxt)
            ref_final.append(nxt)
        pp_final_now = pp_dv & pp_dlast

        # ---------------- operand stream ----------------
        st_active = Signal(); st_wait = Signal(16); st_k = Signal(16); st_tm = Signal(16); st_tn = Signal(16)
        wait_e = Signal(16); sk = Signal(16); stm = Signal(16); stn = Signal(16)
        m.d.comb += [wait_e.eq(Mux(self.start, Kb - 1 + gap, st_wait)), sk.eq(Mux(self.start, 0, st_k)),
                     stm.eq(Mux(self.start, 0, st_tm)), stn.eq(Mux(self.start, 0, st_tn))]
        live = self.start | st_active
        st_go = live & (wait_e == 0)
        k_last = sk == Kb - 1
        tile_last = (stm == TM - 1) & (stn == TN - 1)
        with m.If(live):
            with m.If(st_go):
                m.d.sync += st_wait.eq(bpc - 1)
                with m.If(k_last):
                    m.d.sync += [st_k.eq(0), st_wait.eq(bpc - 1 + gap)]
                    with m.If(tile_last):
                        m.d.sync += st_active.eq(0)
                    with m.Else():
                        m.d.sync += st_active.eq(1)
                        with m.If(stn == TN - 1):
                            m.d.sync += [st_tn.eq(0), st_tm.eq(stm + 1)]
                        with m.Else():
                            m.d.sync += [st_tn.eq(stn + 1), st_tm.eq(stm)]
                with m.Else():
                    m.d.sync += [st_k.eq(sk + 1), st_active.eq(1), st_tm.eq(stm), st_tn.eq(stn)]
            with m.Else():
                m.d.sync += [st_wait.eq(wait_e - 1), st_active.eq(1), st_k.eq(sk), st_tm.eq(stm), st_tn.eq(stn)]

        # data-cycle registers
        dv = Signal(); dfirst = Signal(); dlast = Signal(); dmode = Signal(2); dta = Signal(); dtb = Signal()
        dsa = Signal(2); dsb = Signal(2); dtm = Signal(16); dtn = Signal(16)
        dTM = Signal(16); dTN = Signal(16)
        m.d.sync += [dv.eq(st_go), dfirst.eq(sk == 0), dlast.eq(k_last), dmode.eq(mode), dta.eq(ta), dtb.eq(tb),
                     dsa.eq(sa), dsb.eq(sb), dtm.eq(stm), dtn.eq(stn), dTM.eq(TM), dTN.eq(TN)]
        payload = array.i.payload
        def operand(tag, idx, rec, ex, desc, exp_base, width, n, in_range, ds, dt, port):
            # One operand port (A row or B column) of the array: the block's record and exponent
            # word are read this cycle; codes and exponent are unpacked from them the next.
            m.d.comb += [rec.en.eq(st_go), rec.buf.eq(desc.buf), rec.addr.eq(desc.addr + n * width),
                         ex.en.eq(st_go), ex.buf.eq(desc.buf), ex.addr.eq(exp_base + (n >> lgpw))]
            sel = Signal(lgpw, name=f"st_{tag}_sel{idx}"); ok = Signal(name=f"st_{tag}_ok{idx}")
            m.d.sync += [sel.eq(n[:lgpw]), ok.eq(in_range)]
            codes = _unpack_codes(m, rec.data, ds, dt, ok, cb_bits, f"op{tag}{idx}")
            m.d.comb += [port.codes[e].eq(codes[e]) for e in range(16)]
            m.d.comb += port.exponent.eq(Mux(ok, slot_of(ex.data, sel), cfg.exponent_min))

        for r in range(pr):
            i = stm * pr + r
            operand("a", r, getattr(self, f"ra_rec{r}"), getattr(self, f"ra_exp{r}"), a, exp_a, wa,
                    a_block(i, sk), i < Mb, dsa, dta, payload.a[r])
        for cc in range(pc):
            j = stn * pc + cc
            operand("b", cc, getattr(self, f"rb_rec{cc}"), getattr(self, f"rb_exp{cc}"), b, exp_b, wb,
                    b_block(sk, j), j < Nb, dsb, dtb, payload.b[cc])
        ref_cur = [Signal(signed(eb), name=f"ref_cur{x}") for x in range(pr + pc)]
        refs = []
        for x in range(pr + pc):
            rsrc = Mux(pp_final_now, ref_final[x], ref_next[x])
            rv = Signal(signed(eb), name=f"ref{x}")
            m.d.comb += rv.eq(Mux(dfirst, rsrc, ref_cur[x]))
            with m.If(dv & dfirst):
                m.d.sync += ref_cur[x].eq(rsrc)
            refs.append(rv)
        m.d.comb += [payload.ref_a[r].eq(refs[r]) for r in range(pr)]
        m.d.comb += [payload.ref_b[cc].eq(refs[pr + cc]) for cc in range(pc)]
        m.d.comb += [payload.mode.eq(dmode), payload.first.eq(dfirst), payload.last.eq(dlast),
                     array.i.valid.eq(dv)]
        # pre-pass of the next tile starts as this tile's first transfer enters
        d_tile_last = (dtm == dTM - 1) & (dtn == dTN - 1)
        m.d.comb += [pp_restart.eq(dv & dfirst & ~d_tile_last),
                     rs_tm.eq(Mux(dtn == dTN - 1, dtm + 1, dtm)),
                     rs_tn.eq(Mux(dtn == dTN - 1, 0, dtn + 1))]
        m.d.comb += self.late.eq(dv & ~array.i.ready)

        # ---------------- result write-back ----------------
        tile_info = data.StructLayout({"tm": unsigned(16), "tn": unsigned(16), "addr": unsigned(32),
                                       "nb": unsigned(30), "Mb": unsigned(16), "Nb": unsigned(16),
                                       "buf": unsigned(2)})
        m.submodules.tiles = fifo = SyncFIFO(width=tile_info.size, depth=4)
        dst_reg = Signal(DESC); Mb_q = Signal(16); Nb_q = Signal(16)
        m.d.sync += [dst_reg.eq(dst), Mb_q.eq(Mb), Nb_q.eq(Nb)]
        push = Signal(tile_info)
        m.d.comb += [push.tm.eq(dtm), push.tn.eq(dtn), push.addr.eq(dst_reg.addr), push.nb.eq(dst_reg.nb),
                     push.Mb.eq(Mb_q), push.Nb.eq(Nb_q), push.buf.eq(dst_reg.buf),
                     fifo.w_data.eq(push.as_value()), fifo.w_en.eq(dv & dlast)]
        head = data.View(tile_info, fifo.r_data)
        # The array's result is taken in the cycle it appears (the pacing above
        # guarantees the previous tile has drained), so the array never stalls:
        # block 0 is written straight from it, blocks 1 .. PR·PC-1 from a drain
        # register in the following cycles.
        m.d.comb += [array.o.ready.eq(1), fifo.r_en.eq(array.o.valid)]
        if nblk == 1:
            info = head
            blk = array.o.payload.blocks[0]
            wvalid = array.o.valid
            r_i = c_i = 0
        else:
            drain = Signal.like(array.o.payload, name="mac_drain")
            d_info = Signal(tile_info, name="mac_drain_info")
            di = Signal(range(nblk), name="mac_drain_idx")
            with m.If(array.o.valid):
                m.d.sync += [drain.eq(array.o.payload), d_info.eq(head), di.eq(1)]
            with m.Elif(di != 0):
                m.d.sync += di.eq(Mux(di == nblk - 1, 0, di + 1))
            info = Signal(tile_info, name="mac_wb_info")
            m.d.comb += info.eq(Mux(array.o.valid, head, d_info))
            sel = Signal(range(nblk), name="mac_wb_sel")
            m.d.comb += sel.eq(Mux(array.o.valid, 0, di))
            blk = Signal.like(array.o.payload.blocks[0], name="mac_wb_block")
            m.d.comb += blk.eq(Mux(array.o.valid, array.o.payload.blocks[0], drain.blocks[sel]))
            wvalid = array.o.valid | (di != 0)
            r_i = sel // pc
            c_i = sel % pc
        head = info
        I = head.tm * pr + r_i
        J = head.tn * pc + c_i
        n = Signal(32)
        m.d.comb += n.eq(I * head.Nb + J)
        ok = (I < head.Mb) & (J < head.Nb)
        m.d.comb += [self.w_rec.en.eq(wvalid & ok), self.w_rec.buf.eq(head.buf),
                     self.w_rec.addr.eq(head.addr + (n << 4)), self.w_rec.be.eq(-1)]
        # sign-extend each accumulator to 64 bits
        words = []
        for e in range(16):
            wv = Signal(signed(64), name=f"accw{e}")
            m.d.comb += wv.eq(blk.acc[e])
            words.append(wv)
        m.d.comb += self.w_rec.data.eq(Cat(*words))
        ex32 = Signal(signed(32))
        m.d.comb += ex32.eq(blk.exponent)
        last_n = n == head.nb - 1
        m.d.comb += [self.w_exp.en.eq(wvalid & ok), self.w_exp.buf.eq(head.buf),
                     self.w_exp.addr.eq(head.addr + (head.nb << 4) + (n >> 1)),
                     self.w_exp.data.eq(Mux(n[0], Cat(Const(0, 32), ex32), Cat(ex32, Const(0, 32)))),
                     self.w_exp.be.eq(Mux(n[0], 0xF0, Mux(last_n, 0xFF, 0x0F)))]
        return m


def _fp32_to_fixed(m, bits_list, name):
    """16 FP32 bit patterns -> (16 signed 25-bit integers, block exponent) with
    value_i ≈ int_i · 2**e: each magnitude is the element's significand shifted
    right by (e_max - e_i) (bits below the block's e_max - 23 dropped). Exact for
    SMX quantization: the quantizer's shift is at least 1 bit above what is dropped
    (docs/hardware-top.md)."""
    es, mants, signs = [], [], []
    for k, x in enumerate(bits_list):
        expf = x[23:31]
        frac = x[0:23]
        e = Signal(8, name=f"{name}_e{k}")
        mant = Signal(24, name=f"{name}_m{k}")
        m.d.comb += [e.eq(Mux(expf == 0, 1, expf)), mant.eq(Mux(expf == 0, frac, Cat(frac, Const(1, 1))))]
        es.append(e); mants.append(mant); signs.append(x[31])
    # max exponent (balanced tree)
    level = es
    depth = 0
    while len(level) > 1:
        nxt = []
        for i in range(0, len(level), 2):
            s = Signal(8, name=f"{name}_mx{depth}_{i}")
            m.d.comb += s.eq(Mux(level[i] > level[i + 1], level[i], level[i + 1]))
            nxt.append(s)
        level = nxt
        depth += 1
    emax = level[0]
    vals = []
    for k in range(16):
        sh = Signal(8, name=f"{name}_sh{k}")
        m.d.comb += sh.eq(emax - es[k])
        mag = Signal(24, name=f"{name}_mag{k}")
        m.d.comb += mag.eq(Mux(sh > 24, 0, mants[k] >> sh))
        v = Signal(signed(26), name=f"{name}_v{k}")
        m.d.comb += v.eq(Mux(signs[k], -mag, mag))
        vals.append(v)
    bexp = Signal(signed(10), name=f"{name}_bexp")
    m.d.comb += bexp.eq(emax - 150)
    return vals, bexp


def _acc_to_fp32(m, v, e, acc_bits, name):
    """(FP32 bits of v · 2**e, inexact, overflow) for v signed acc_bits, e signed: one
    round-to-nearest-even (= ``accumulator_to_fp32``), subnormals included. An
    overflow (the rounded magnitude reaches 2**128) gives ±Inf and raises
    ``overflow``: ACCF's run-time fault, as the golden function refuses such data.
    ``inexact``: the result is not v · 2**e exactly (bits were rounded off, or it
    overflowed): DEQ's run-time fault."""
    mag = Signal(acc_bits, name=f"{name}_mag")
    m.d.comb += mag.eq(Mux(v < 0, -v, v))
    lead = Signal(range(acc_bits), name=f"{name}_lead")
    for bit in range(acc_bits):
        with m.If(mag[bit]):
            m.d.comb += lead.eq(bit)
    el = Signal(signed(16), name=f"{name}_el")           # unbiased exponent of the leading bit
    m.d.comb += el.eq(e + lead)
    normal = el >= -126
    s = Signal(signed(16), name=f"{name}_s")             # bits dropped (negative: shift left)
    m.d.comb += s.eq(Mux(normal, lead - 23, -(e + 149)))
    sr = Signal(7, name=f"{name}_sr")                    # right shift, clamped (>= acc_bits: all gone)
    m.d.comb += sr.eq(Mux(s > 63, 63, Mux(s > 0, s, 0)))
    sl = Signal(5, name=f"{name}_sl")
    m.d.comb += sl.eq(Mux(s < 0, -s, 0))
    wide = Cat(Const(0, 1), mag)                        # one extra bit for the guard at sr = ...
    trunc = Signal(25, name=f"{name}_trunc")
    m.d.comb += trunc.eq(Mux(s > 0, mag >> sr, mag << sl))
    guard = Signal(name=f"{name}_guard")
    sticky = Signal(name=f"{name}_sticky")
    m.d.comb += [guard.eq(Mux(s > 0, (wide >> sr)[0], 0)),
                 sticky.eq(Mux(s > 1, (mag & ((Const(1, 65) << (sr - 1)[:7]) - 1)[:acc_bits]) != 0, 0))]
    rounded = Signal(26, name=f"{name}_rnd")
    m.d.comb += rounded.eq(trunc + (guard & (sticky | trunc[0])))
    base = Signal(32, name=f"{name}_base")
    m.d.comb += base.eq(Mux(normal, ((el + 126)[:9]) << 23, 0))
    mag_bits = Signal(32, name=f"{name}_bits")
    m.d.comb += mag_bits.eq(base + rounded)
    out = Signal(32, name=name)
    m.d.comb += out.eq(Mux(mag == 0, 0, Mux(mag_bits >= 0x7F800000, Cat(Const(0x7F800000, 31), v[-1]),
                                          Cat(mag_bits[:31], v[-1]))))
    overflow = Signal(name=f"{name}_overflow")
    m.d.comb += overflow.eq((mag != 0) & (mag_bits >= 0x7F800000))
    inexact = Signal(name=f"{name}_inexact")
    m.d.comb += inexact.eq(overflow | ((mag != 0) & (guard | sticky)))
    return out, inexact, overflow


class QntUnit(wiring.Component):
    """QUANT and QUANTR (fp32 source, identity or windowed view: hw/top_view.py;
    accumulator source, identity view) on one :class:`SMXQuantizer`; ACCF (accumulator
    -> FP32, one rounding) and DEQ (SMX -> FP32, exact) on 16 converters beside it.

    Members
    -------
    start : In(1), cmd : In(unit_command_layout()), pc : In(16) -- issue strobe, command (with the
        view register of a QUANT/QUANTR), its index
    r_row0..3 : Out(ReadPortSignature(4)) -- source rows / a view's row or column windows /
        accumulator record / (row 0) SMX record
    r_exp : Out(ReadPortSignature(1))     -- source block exponent word
    w_rec, w_exp : Out(WritePortSignature(3), (1)) -- SMX record, exponent slot
    w_row0..3 : Out(WritePortSignature(3)) -- FP32 block rows (ACCF, DEQ)
    fault : Out(ErrorCode), fault_pc : Out(16) -- DEQ_INEXACT / ACCF_OVERFLOW and the instruction's index, in its done cycle
    """

    def __init__(self, cfg: PintaConfig):
        self.cfg = cfg
        members = {"start": In(1), "cmd": In(unit_command_layout()), "pc": In(16),
                   "fault": Out(ErrorCode), "fault_pc": Out(16),
                   "r_exp": Out(ReadPortSignature(1)),
                   "w_rec": Out(WritePortSignature(3)), "w_exp": Out(WritePortSignature(1))}
        for r in range(4):
            members[f"r_row{r}"] = Out(ReadPortSignature(4))
            members[f"w_row{r}"] = Out(WritePortSignature(3))
        super().__init__(members)

    def elaborate(self, platform):
        cfg = self.cfg
        m = Module()
        slot, lgpw = slot_params(cfg)
        m.submodules.q = q = SMXQuantizer(cfg)
        c = Signal(unit_command_layout())
        with m.If(self.start):
            m.d.sync += c.eq(self.cmd)
        # DIFFQ qbase, qdiff, base, diff: the base blocks (phase 0), then the diff
        # blocks (phase 1), each a QUANT of its own source (separate block exponents).
        is_diffq = c.word[120:128] == 0x33
        phase = Signal()
        dst = Signal(DESC)
        src = Signal(DESC)
        m.d.comb += [dst.eq(Mux(is_diffq & phase, c.d[1].as_value(), c.d[0].as_value())),
                     src.eq(Mux(is_diffq, Mux(phase, c.d[3].as_value(), c.d[2].as_value()), c.d[1].as_value()))]
        active = Signal()
        n = Signal(32); ib = Signal(16); jb = Signal(16)
        # QUANTR: the tile is the source's elements as whole rows of dst's columns, written
        # from dst block (row / 4) · cb on; its last block row is the one whose next row
        # would start at or past the source's end (no division: the controller's TileRows
        # gives the occupancy, this gives the same count).
        is_quantr = c.word[OPCODE_SHIFT:OPCODE_SHIFT + 8] == _opcode("QUANTR")
        n_src = Signal(32)
        m.d.comb += n_src.eq(src.rows * src.cols)
        bs = cfg.block_size
        tile_end = Signal()
        m.d.comb += tile_end.eq((jb == dst.cb - 1) & ((ib + 1) * bs * dst.cols >= n_src))
        n_base = Signal(32)
        m.d.comb += n_base.eq(Mux(is_quantr, (field_slice(c.word, "QUANTR", "row") >> 2) * dst.cb, 0))
        with m.If(self.start):
            m.d.sync += [active.eq(1), n.eq(0), ib.eq(0), jb.eq(0), phase.eq(0)]
        with m.Elif(active):
            m.d.sync += n.eq(n + 1)
            with m.If(jb == dst.cb - 1):
                m.d.sync += [jb.eq(0), ib.eq(ib + 1)]
            with m.Else():
                m.d.sync += jb.eq(jb + 1)
            with m.If(Mux(is_quantr, tile_end, n == dst.nb - 1)):
                with m.If(is_diffq & ~phase):
                    m.d.sync += [phase.eq(1), n.eq(0), ib.eq(0), jb.eq(0)]
                with m.Else():
                    m.d.sync += active.eq(0)
        src_acc = src.fmt == Fmt.acc
        # DEQ: block n's SMX record (ws = B/4 words) through row port 0, its exponent slot's word
        is_deq = c.word[OPCODE_SHIFT:OPCODE_SHIFT + 8] == next(x.opcode for x in OPCODES.values() if x.mnemonic == "DEQ")
        ws = Signal(2)
        m.d.comb += ws.eq(Mux(src.fmt == Fmt.smx4, 1, Mux(src.fmt == Fmt.smx12, 3, 2)))
        # ---- a view (QUANT, QUANTR; fp32 source): the controller accepted it, so it is
        # separable and windowed (hw/top_view.py). Its digits are worked out from the command
        # in the issue cycle; two odometers give block n's four row offsets A_i and four
        # column offsets B_j in its read cycle I + 1 + n, and element (i, j) is source
        # element A_i + B_j. Port i reads block row i's window from A_i + B_0 (row windows),
        # or port j block column j's from A_0 + B_j (column windows). ----
        m.submodules.view_split = vsplit = ViewSplit()
        m.submodules.view_rows = od_r = Odometer()
        m.submodules.view_cols = od_c = Odometer()
        m.d.comb += [vsplit.view.eq(self.cmd.view), vsplit.cols.eq(self.cmd.d[0].cols)]
        v_rows = Signal(DIGITS); v_cols = Signal(DIGITS); v_colwin = Signal(); v_on = Signal()
        with m.If(self.start):
            m.d.sync += [v_rows.eq(vsplit.rows), v_cols.eq(vsplit.cols_d), v_colwin.eq(vsplit.col_windows),
                         v_on.eq(((self.cmd.word[OPCODE_SHIFT:OPCODE_SHIFT + 8] == _opcode("QUANT")) |
                                  (self.cmd.word[OPCODE_SHIFT:OPCODE_SHIFT + 8] == _opcode("QUANTR")))
                                 & (field_slice(self.cmd.word, "QUANT", "view") != 0))]
        m.d.comb += [od_r.digits.eq(v_rows), od_c.digits.eq(v_cols),
                     od_r.restart.eq(self.start), od_c.restart.eq(self.start | (active & (jb == dst.cb - 1))),
                     od_r.advance.eq(active & (jb == dst.cb - 1)), od_c.advance.eq(active)]
        A = [od_r.off[i] for i in range(4)]
        B = [od_c.off[j] for j in range(4)]
        win = [Signal(32, name=f"view_win{p}") for p in range(4)]
        m.d.comb += [win[p].eq(Mux(v_colwin, A[0] + B[p], A[p] + B[0])) for p in range(4)]
        v_half = []
        for e in range(16):
            i, j = e // 4, e % 4
            h = Signal(3, name=f"view_h{e}")
            m.d.comb += h.eq(Mux(v_colwin, win[j][0] + (A[i] - A[0]), win[i][0] + (B[j] - B[0])))
            v_half.append(h)
        # an accumulator source through a view (hw/top_gather.py acc_view_split, accepted at
        # decode): port j reads block column j, 4 consecutive words of one record, from
        # source element win[j] = A_0 + B_j; src.cols is 4 or 8 (lg 2 or 3), so the record
        # and row within it are shifts. All of a block's records are in one source block
        # row, so their exponents are in one word (the record of port 0 names it).
        lg8 = Signal()
        m.d.comb += lg8.eq(src.cols == 8)
        acc_addr, acc_rec = [], []
        for j in range(4):
            row = Signal(32, name=f"accv_row{j}"); rec = Signal(32, name=f"accv_rec{j}")
            m.d.comb += row.eq(Mux(lg8, win[j] >> 3, win[j] >> 2))
            m.d.comb += rec.eq(Mux(lg8, ((row >> 2) << 1) | win[j][2], row >> 2))
            a = Signal(32, name=f"accv_addr{j}")
            m.d.comb += a.eq(src.addr + (rec << 4) + (row[:2] << 2))
            acc_addr.append(a); acc_rec.append(rec)
        flats = []
        for r in range(4):
            port = getattr(self, f"r_row{r}")
            flat = Signal(32, name=f"flat{r}")
            m.d.comb += flat.eq((ib * 4 + r) * dst.cols + jb * 4)
            addr = Mux(src_acc, Mux(v_on, acc_addr[r], src.addr + (n << 4) + 4 * r),
                       src.addr + (Mux(v_on, win[r], flat) >> 1))
            if r == 0:
                addr = Mux(is_deq, src.addr + n * ws, addr)
            m.d.comb += [port.en.eq(active & (~is_deq | (r == 0))), port.buf.eq(src.buf), port.addr.eq(addr)]
            flats.append(flat)
        m.d.comb += [self.r_exp.en.eq(active), self.r_exp.buf.eq(src.buf),
                     self.r_exp.addr.eq(Mux(is_deq, src.addr + src.nb * ws + (n >> lgpw),
                                            src.addr + (src.nb << 4) + (Mux(v_on, acc_rec[0], n) >> 1)))]
        # data cycle
        dv = Signal(); d_acc = Signal(); d_half = Signal(); d_odd = Signal(4)
        d_rowok = Signal(4); d_colok = Signal(4)
        m.d.sync += [dv.eq(active), d_acc.eq(src_acc), d_half.eq(n[0])]
        d_accf_early = Signal()
        m.d.sync += d_accf_early.eq(c.word[120:128] == 0x31)
        for r in range(4):
            m.d.sync += [d_odd[r].eq(flats[r][0]),
                         d_rowok[r].eq(Mux(is_quantr, flats[r] < n_src, ib * 4 + r < dst.rows)),
                         d_colok[r].eq(jb * 4 + r < dst.cols)]
        d_recodd = Signal(4)
        m.d.sync += d_recodd.eq(Cat(*(acc_rec[j][0] for j in range(4))))
        d_von = Signal(); d_vcolwin = Signal(); d_vhalf = [Signal(3, name=f"d_view_h{e}") for e in range(16)]
        m.d.sync += [d_von.eq(v_on), d_vcolwin.eq(v_colwin)] + [d_vhalf[e].eq(v_half[e]) for e in range(16)]
        fbits = []
        port_halves = [[getattr(self, f"r_row{p}").data[32 * h:32 * h + 32] for h in range(8)] for p in range(4)]
        for r in range(4):
            halves = port_halves[r]
            for cc in range(4):
                x = Signal(32, name=f"f{r}_{cc}")
                hsel = Signal(3, name=f"hsel{r}_{cc}")
                m.d.comb += hsel.eq(d_odd[r] + cc)
                # through a view: element (r, cc) from port r (row windows) or cc (column windows)
                viewed = Mux(d_vcolwin, pick(port_halves[cc], d_vhalf[4 * r + cc]), pick(halves, d_vhalf[4 * r + cc]))
                m.d.comb += x.eq(Mux(d_rowok[r] & d_colok[cc], Mux(d_von, viewed, pick(halves, hsel)), 0))
                fbits.append(x)
        fvals, fexp = _fp32_to_fixed(m, fbits, "cvt")
        acc_vals = []
        for e in range(16):
            port = getattr(self, f"r_row{e // 4}")
            acc_vals.append(port.data[64 * (e % 4):64 * (e % 4) + cfg.accumulator_bits].as_signed())
        acc_exp = Mux(d_half, self.r_exp.data[32:64], self.r_exp.data[0:32]).as_signed()
        width = Signal(4)  # registered in the read cycle: the next instruction may own c by now
        with m.Switch(dst.fmt):
            with m.Case(Fmt.smx4):
                m.d.sync += width.eq(4)
            with m.Case(Fmt.smx12):
                m.d.sync += width.eq(12)
            with m.Default():
                m.d.sync += width.eq(8)
        # DEQ data cycle: the 16 codes and the block exponent (slot n mod 64/slot of the word)
        d_deq = Signal(); d_sel = Signal(2); d_slot = Signal(max(lgpw, 1)); d_last = Signal(); d_pc = Signal(16)
        c_pc = Signal(16)
        with m.If(self.start):
            m.d.sync += c_pc.eq(self.pc)
        m.d.sync += [d_deq.eq(is_deq), d_sel.eq(Mux(ws == 3, 1, Mux(ws == 1, 2, 0))), d_slot.eq(n[:max(lgpw, 1)]),
                     d_last.eq(n == dst.nb - 1), d_pc.eq(c_pc)]
        deq_codes = _unpack_codes(m, self.r_row0.data[:192], d_sel, False, Const(1, 1), 12, "deq")
        deq_exp = Signal(signed(slot), name="deq_exp")
        m.d.comb += deq_exp.eq((self.r_exp.data >> (d_slot * slot))[:slot])
        # accumulator through a view: element (i, j) is word i of port j, with its record's
        # exponent (the slot its parity names); brought to one exponent exactly (AccAlign)
        m.submodules.acc_align = align = AccAlign(cfg)
        for e in range(16):
            i, j = e // 4, e % 4
            port = getattr(self, f"r_row{j}")
            m.d.comb += [align.i.values[e].eq(Mux(d_rowok[i] & d_colok[j],
                                                  port.data[64 * i:64 * i + cfg.accumulator_bits].as_signed(), 0)),
                         align.i.exps[e].eq(Mux(d_recodd[j], self.r_exp.data[32:64], self.r_exp.data[0:32]).as_signed())]
        m.d.comb += [q.i.valid.eq(dv & ~d_accf_early & ~d_deq), q.i.payload.width.eq(width),
                     q.i.payload.exponent.eq(Mux(d_acc, Mux(d_von, align.exponent, acc_exp), fexp))]
        m.d.comb += [q.i.payload.values[e].eq(Mux(d_acc, Mux(d_von, align.values[e], acc_vals[e]), fvals[e]))
                     for e in range(16)]
        m.d.comb += q.o.ready.eq(1)
        # ---- ACCF: convert in the data cycle, write one cycle later, row by row ----
        is_accf = c.word[120:128] == 0x31
        d_accf = Signal()
        m.d.sync += d_accf.eq(is_accf)
        conv, inexact, overflow = zip(*(_acc_to_fp32(m, Mux(d_deq, deq_codes[e], acc_vals[e]), Mux(d_deq, deq_exp, acc_exp),
                                           cfg.accumulator_bits, f"accf{e}") for e in range(16)))
        w_v = Signal(); w_conv = [Signal(32, name=f"accf_q{e}") for e in range(16)]
        d_flat = [Signal(32, name=f"d_flat{r}") for r in range(4)]
        w_flat = [Signal(32, name=f"w_flat{r}") for r in range(4)]
        w_rowok = Signal(4); w_colok = Signal(4)
        d_info = Signal(unsigned(32 + 2 + 32))  # addr, buf, rows*cols
        w_info = Signal(unsigned(32 + 2 + 32))
        m.d.sync += [d_flat[r].eq(flats[r]) for r in range(4)]
        m.d.sync += d_info.eq(Cat(dst.addr, dst.buf, (dst.rows * dst.cols)[:32]))
        m.d.sync += [w_v.eq(dv & (d_accf | d_deq)), w_rowok.eq(d_rowok), w_colok.eq(d_colok), w_info.eq(d_info)]
        m.d.sync += [w_flat[r].eq(d_flat[r]) for r in range(4)]
        m.d.sync += [w_conv[e].eq(conv[e]) for e in range(16)]
        w_addr, w_buf, w_n = w_info[:32], w_info[32:34], w_info[34:66]
        for r in range(4):
            port = getattr(self, f"w_row{r}")
            odd = w_flat[r][0]
            halves, lanes = [], []
            for h in range(6):
                # element column cc = h - odd; the half after the matrix's last element
                # (odd count) is written as zero, as the fp32 layout requires
                cands = []
                for o in (0, 1):
                    cc = h - o
                    if 0 <= cc < 4:
                        cands.append((o, w_conv[4 * r + cc], w_rowok[r] & w_colok[cc]))
                    else:
                        cands.append((o, Const(0, 32), Const(0, 1)))
                val = Mux(odd, cands[1][1], cands[0][1])
                ok = Mux(odd, cands[1][2], cands[0][2])
                tail = (w_flat[r] + (h - 0) - odd == w_n) & Const(h % 2, 1) & w_rowok[r] if h % 2 else Const(0, 1)
                halves.append(Mux(ok, val, 0))
                lanes.append(ok | tail)
            m.d.comb += [port.en.eq(w_v), port.buf.eq(w_buf), port.addr.eq(w_addr + (w_flat[r] >> 1)),
                         port.data.eq(Cat(*halves)),
                         port.be.eq(Cat(*(Cat(*([lane] * 4)) for lane in lanes)))]

        # ---- Run-time faults of the converters: DEQ_INEXACT (a DEQ value FP32 cannot hold
        # exactly) and ACCF_OVERFLOW (an ACCF value that rounds past FP32's range; only the
        # elements inside the matrix count, as the golden function sees only those). A
        # block's flags gather per instruction (its blocks are consecutive); the last
        # block's write cycle is I + nb + 2, and the fault is reported two cycles later,
        # in the instruction's done cycle I + nb + 4, when no reader of its result can
        # have issued (docs/hardware-top.md §4) ----
        in_shape = [d_rowok[e // 4] & d_colok[e % 4] for e in range(16)]
        accf_bad = Cat(*(o & k for o, k in zip(overflow, in_shape))).any()
        w_chk = Signal(); w_isdeq = Signal(); w_bad = Signal(); w_last = Signal(); w_pc = Signal(16)
        m.d.sync += [w_chk.eq(dv & (d_deq | d_accf)), w_isdeq.eq(d_deq),
                     w_bad.eq(Mux(d_deq, Cat(*inexact).any(), accf_bad)), w_last.eq(d_last), w_pc.eq(d_pc)]
        bad_so_far = Signal()
        f1 = Signal(); f1_deq = Signal(); f1_pc = Signal(16); f2 = Signal(); f2_deq = Signal(); f2_pc = Signal(16)
        m.d.sync += f1.eq(0)
        with m.If(w_chk):
            with m.If(w_last):
                m.d.sync += [bad_so_far.eq(0), f1.eq(bad_so_far | w_bad), f1_deq.eq(w_isdeq), f1_pc.eq(w_pc)]
            with m.Else():
                m.d.sync += bad_so_far.eq(bad_so_far | w_bad)
        m.d.sync += [f2.eq(f1), f2_deq.eq(f1_deq), f2_pc.eq(f1_pc)]
        m.d.comb += [self.fault.eq(Mux(f2, Mux(f2_deq, ErrorCode.DEQ_INEXACT, ErrorCode.ACCF_OVERFLOW), ErrorCode.NONE)),
                     self.fault_pc.eq(f2_pc)]

        # block info through the quantizer's stages (it never stalls: o.ready = 1)
        # n: dst's block index; tile: a QUANTR, whose exponent write leaves the word's other
        # slots alone (the layout's zero padding after the last slot is the whole QUANT's)
        info = data.StructLayout({"n": unsigned(32), "addr": unsigned(32), "nb": unsigned(30), "buf": unsigned(2),
                                  "w": unsigned(2), "tile": unsigned(1)})
        cur = Signal(info)
        wq = Mux(dst.fmt == Fmt.smx4, 1, Mux(dst.fmt == Fmt.smx12, 3, 2))
        m.d.sync += [cur.n.eq(n_base + n), cur.addr.eq(dst.addr), cur.nb.eq(dst.nb), cur.buf.eq(dst.buf),
                     cur.w.eq(wq), cur.tile.eq(is_quantr)]
        stages = [cur]
        for s in range(SMXQuantizer.LATENCY):
            nxt = Signal(info, name=f"qinfo{s}")
            m.d.sync += nxt.eq(stages[-1])
            stages.append(nxt)
        o = stages[-1]
        # pack codes
        codes = q.o.payload.codes
        p4 = Cat(*(codes[e][:4] for e in range(16)))
        p8 = Cat(*(codes[e][:8] for e in range(16)))
        p12 = Cat(*(codes[e][:12] for e in range(16)))
        rec = Signal(192)
        m.d.comb += rec.eq(Mux(o.w == 1, p4, Mux(o.w == 3, p12, p8)))
        m.d.comb += [self.w_rec.en.eq(q.o.valid), self.w_rec.buf.eq(o.buf),
                     self.w_rec.addr.eq(o.addr + o.n * o.w), self.w_rec.data.eq(rec),
                     self.w_rec.be.eq(Mux(o.w == 1, 0xFF, Mux(o.w == 2, 0xFFFF, 0xFFFFFF)))]
        slot_sel = o.n[:lgpw]
        ex = q.o.payload.exponent.as_signed()
        slot_val = Signal(signed(slot))
        m.d.comb += slot_val.eq(ex)
        exp_word = Signal(64)
        m.d.comb += exp_word.eq(slot_val.as_unsigned() << (slot_sel * slot))
        last = (o.n == o.nb - 1) & ~o.tile
        sb = slot // 8
        one = Signal(8)
        m.d.comb += one.eq(((1 << sb) - 1) << (slot_sel * sb))
        upto = Signal(8)
        m.d.comb += upto.eq((0xFF << (slot_sel * sb))[:8])
        m.d.comb += [self.w_exp.en.eq(q.o.valid), self.w_exp.buf.eq(o.buf),
                     self.w_exp.addr.eq(o.addr + o.nb * o.w + (o.n >> lgpw)), self.w_exp.data.eq(exp_word),
                     self.w_exp.be.eq(Mux(last, upto, one))]
        return m
