"""The PINTA top: controller, buffers, DMA, MAC, QNT and VEC units, host interface.

:class:`PintaTop` is what a user takes to an FPGA/ASIC flow. It has two
external interfaces (docs/hardware-top.md §1):

* **host** — a memory-mapped 64-bit register port (``host_addr`` word
  address, ``host_we`` + ``host_wdata``, ``host_re`` -> ``host_rdata`` one
  cycle later). Map (word addresses):

  ==============  =====  ====================================================
  address         R/W    meaning
  ==============  =====  ====================================================
  0x0000          W      bit 0: start (resets the counters, runs from pc 0)
  0x0000          R      status: bit 0 running, bit 1 done, bits [7:4] error
                         code (0 none, 1 illegal instruction, 2 not implemented
                         in this RTL version, 3 DEQ value not exactly
                         representable in FP32: a run-time fault), bits
                         [47:32] pc of the error
  0x0001          RW     program length (instructions)
  0x0002          R      cycles of the last run (= the simulator's total)
  0x0003          R      instructions issued
  0x0004          R      cycles issue was held by a full scoreboard (model: 0)
  0x0005          R      cycles the MAC array refused an operand transfer (model: 0)
  0x0006          R      buffer writes after the writer's scheduled done cycle (must be 0)
  0x0008 + u      R      busy cycles of unit u (0 CTRL, 1 DMA, 2 MAC, 3 QNT, 4 VEC)
  0x0010 + u      R      stall cycles of unit u
  0x1000 + 2i + h W      program memory: instruction i, half h (0: bits 63..0)
  ==============  =====  ====================================================

* **dram** — the DMA master: a read-request channel (``dram_rd_valid``,
  ``dram_rd_addr`` in 64-bit words) whose data must be on ``dram_rdata``
  exactly ``dma_setup`` (16) cycles later, and a write channel
  (``dram_wr_valid/addr/data/be``). One beat = ``dram_bytes_per_cycle``
  bytes. The fixed latency is the cycle model's; a system with a variable
  latency needs the model to change (docs/hardware-top.md §6).

:class:`PintaSystem` wraps the top with a DRAM model that meets that
contract and maps the DRAM into the host window at 0x100000 (word
addresses); it is what the cocotb regressions drive.
"""

from __future__ import annotations

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out, connect, flipped

from pinta.config import PintaConfig
from pinta.sim.timing import DESIGN

from .buffers import BufferSystem
from .controller import UNITS, Controller
from .mac_array import grid
from .top_units import DmaUnit, MacUnit, QntUnit
from .top_vec import VecUnit

__all__ = ["PintaTop", "PintaSystem", "HOST_PMEM_BASE", "HOST_DRAM_BASE", "HOST_REGS", "buffer_ports"]

HOST_PMEM_BASE = 0x1000
HOST_DRAM_BASE = 0x100000
HOST_REGS = {"control": 0x0, "prog_len": 0x1, "cycles": 0x2, "issued": 0x3, "sb_full": 0x4, "mac_late": 0x5,
             "late_writes": 0x6,
             "busy": 0x8, "stall": 0x10}


def buffer_ports(cfg: PintaConfig) -> tuple[dict[str, int], dict[str, int]]:
    """The buffers' logical read and write ports, name -> width in 64-bit words.

    Every port is a port on every bank of every buffer (docs/hardware-top.md
    §3); ``pinta area`` prices the buffers from this list.
    """
    pr, pc = grid(cfg)
    dma_w = cfg.dram_bytes_per_cycle // 8
    vec_w = cfg.vector_lanes // 2
    reads = {"dma": dma_w}
    for r in range(pr):
        reads.update({f"mac_ra_rec{r}": 3, f"mac_ra_exp{r}": 1, f"mac_pp_a{r}": 1})
    for c in range(pc):
        reads.update({f"mac_rb_rec{c}": 3, f"mac_rb_exp{c}": 1, f"mac_pp_b{c}": 1})
    reads.update({f"qnt_row{r}": 4 for r in range(4)})
    reads["qnt_exp"] = 1
    # VEC operand ports and the arithmetic write port: one word more than L/2, for the
    # reductions' windows at any element (hw/top_reduce.py)
    reads.update({"vec_a": vec_w + 1, "vec_b": vec_w + 1})
    # The VEC unit writes through five ports: the arithmetic path, the two
    # special-function pipelines, the divide / square-root pipelines and the RNG
    # pipeline, whose passes are still in flight when the next VEC instruction
    # writes (hw/top_vec.py).
    writes = {"dma": dma_w, "mac_rec": 16, "mac_exp": 1, "qnt_rec": 3, "qnt_exp": 1, "vec": vec_w + 1,
              "vec_tanh": vec_w, "vec_sincos": vec_w, "vec_divsqrt": vec_w, "vec_rng": vec_w}
    writes.update({f"qnt_f32row{r}": 3 for r in range(4)})
    return reads, writes


def _host_members():
    return {"host_addr": In(32), "host_we": In(1), "host_wdata": In(64), "host_re": In(1), "host_rdata": Out(64)}


#: Program memory depth of the top (instructions of 128 bits) unless told otherwise.
PMEM_DEPTH = 1024


class PintaTop(wiring.Component):
    def __init__(self, cfg: PintaConfig, pmem_depth: int = PMEM_DEPTH):
        self.cfg = cfg
        self.pmem_depth = pmem_depth
        if cfg.dram_bytes_per_cycle % 8:
            raise ValueError("PintaTop needs dram_bytes_per_cycle to be a multiple of 8")
        w = cfg.dram_bytes_per_cycle // 8
        super().__init__({
            **_host_members(),
            "dram_rd_valid": Out(1), "dram_rd_addr": Out(37), "dram_rdata": In(64 * w),
            "dram_wr_valid": Out(1), "dram_wr_addr": Out(37), "dram_wr_data": Out(64 * w), "dram_wr_be": Out(8 * w),
        })

    def elaborate(self, platform):
        cfg = self.cfg
        m = Module()
        pr, pc = grid(cfg)
        m.submodules.ctrl = ctrl = Controller(cfg, self.pmem_depth)
        m.submodules.dma = dma = DmaUnit(cfg)
        m.submodules.mac = mac = MacUnit(cfg)
        m.submodules.qnt = qnt = QntUnit(cfg)
        m.submodules.vec = vec = VecUnit(cfg)
        reads, writes = buffer_ports(cfg)
        # Only the MAC reads a result in the very cycle its producer writes it (a
        # QUANT's last block lands in cycle done, a GEMM reads its operands from its
        # issue cycle on); every other reader starts a cycle later (docs/hardware-top.md).
        mac_reads = [n for n in reads if n.startswith("mac_")]
        bufs = BufferSystem(cfg, reads, writes, granularity={"mac_exp": 32, "qnt_exp": 8, "vec": 32, **{f"qnt_f32row{r}": 32 for r in range(4)}},
                            transparent={n: ("qnt_rec", "qnt_exp") for n in mac_reads})
        m.submodules.buffers = bufs
        connect(m, dma.rd, bufs.r_dma)
        connect(m, dma.wr, bufs.w_dma)
        for r in range(pr):
            connect(m, getattr(mac, f"ra_rec{r}"), getattr(bufs, f"r_mac_ra_rec{r}"))
            connect(m, getattr(mac, f"ra_exp{r}"), getattr(bufs, f"r_mac_ra_exp{r}"))
            connect(m, getattr(mac, f"pp_a{r}"), getattr(bufs, f"r_mac_pp_a{r}"))
        for c in range(pc):
            connect(m, getattr(mac, f"rb_rec{c}"), getattr(bufs, f"r_mac_rb_rec{c}"))
            connect(m, getattr(mac, f"rb_exp{c}"), getattr(bufs, f"r_mac_rb_exp{c}"))
            connect(m, getattr(mac, f"pp_b{c}"), getattr(bufs, f"r_mac_pp_b{c}"))
        connect(m, mac.w_rec, bufs.w_mac_rec)
        connect(m, mac.w_exp, bufs.w_mac_exp)
        for r in range(4):
            connect(m, getattr(qnt, f"r_row{r}"), getattr(bufs, f"r_qnt_row{r}"))
        connect(m, qnt.r_exp, bufs.r_qnt_exp)
        connect(m, qnt.w_rec, bufs.w_qnt_rec)
        connect(m, qnt.w_exp, bufs.w_qnt_exp)
        for r in range(4):
            connect(m, getattr(qnt, f"w_row{r}"), getattr(bufs, f"w_qnt_f32row{r}"))
        connect(m, vec.r_a, bufs.r_vec_a)
        connect(m, vec.r_b, bufs.r_vec_b)
        connect(m, vec.w, bufs.w_vec)
        connect(m, vec.w_tanh, bufs.w_vec_tanh)
        connect(m, vec.w_sincos, bufs.w_vec_sincos)
        connect(m, vec.w_divsqrt, bufs.w_vec_divsqrt)
        connect(m, vec.w_rng, bufs.w_vec_rng)
        for u in (dma, mac, qnt, vec):
            m.d.comb += u.cmd.eq(ctrl.cmd)
        m.d.comb += [dma.start.eq(ctrl.start_dma), mac.start.eq(ctrl.start_mac), qnt.start.eq(ctrl.start_qnt),
                     vec.start.eq(ctrl.start_vec)]
        # run-time faults (DEQ_INEXACT): the QNT unit returns the index it was issued with
        m.d.comb += [qnt.pc.eq(ctrl.cmd_pc), ctrl.fault.eq(qnt.fault), ctrl.fault_pc.eq(qnt.fault_pc)]
        m.d.comb += [
            self.dram_rd_valid.eq(dma.dram_rd_valid), self.dram_rd_addr.eq(dma.dram_rd_addr),
            dma.dram_rdata.eq(self.dram_rdata),
            self.dram_wr_valid.eq(dma.dram_wr_valid), self.dram_wr_addr.eq(dma.dram_wr_addr),
            self.dram_wr_data.eq(dma.dram_wr_data), self.dram_wr_be.eq(dma.dram_wr_be),
        ]
        mac_late = Signal(48)
        with m.If(ctrl.start):
            m.d.sync += mac_late.eq(0)
        with m.Elif(mac.late):
            m.d.sync += mac_late.eq(mac_late + 1)
        # Late-write monitor: a unit writing a buffer in a cycle after the done
        # cycle of every instruction it was issued would break the static
        # schedule (a consumer may already have read the old word).
        inflight_q = Signal(len(UNITS))
        m.d.sync += inflight_q.eq(ctrl.inflight)
        late = (dma.wr.en & ~inflight_q[UNITS.index("DMA")]) | \
            ((mac.w_rec.en | mac.w_exp.en) & ~inflight_q[UNITS.index("MAC")]) | \
            ((qnt.w_rec.en | qnt.w_exp.en | Cat(*(getattr(qnt, f"w_row{r}").en for r in range(4))).any())
             & ~inflight_q[UNITS.index("QNT")]) | \
            ((vec.w.en | vec.w_tanh.en | vec.w_sincos.en | vec.w_divsqrt.en | vec.w_rng.en) & ~inflight_q[UNITS.index("VEC")])
        late_writes = Signal(48)
        with m.If(ctrl.start):
            m.d.sync += late_writes.eq(0)
        with m.Elif(late):
            m.d.sync += late_writes.eq(late_writes + 1)

        # -- host registers ------------------------------------------------
        a = self.host_addr
        prog_len = Signal(16)
        m.d.comb += ctrl.prog_len.eq(prog_len)
        in_pmem = (a >= HOST_PMEM_BASE) & (a < HOST_PMEM_BASE + 2 * self.pmem_depth)
        off = a - HOST_PMEM_BASE
        m.d.comb += [
            ctrl.pmem_we.eq(self.host_we & in_pmem),
            ctrl.pmem_addr.eq(off[1:]), ctrl.pmem_half.eq(off[0]), ctrl.pmem_data.eq(self.host_wdata),
            ctrl.start.eq(self.host_we & (a == HOST_REGS["control"]) & self.host_wdata[0]),
        ]
        with m.If(self.host_we & (a == HOST_REGS["prog_len"])):
            m.d.sync += prog_len.eq(self.host_wdata)
        status = Cat(ctrl.running, ctrl.done, Const(0, 2), ctrl.error.as_value(), Const(0, 24), ctrl.error_pc)
        with m.If(self.host_re):
            with m.Switch(a):
                with m.Case(HOST_REGS["control"]):
                    m.d.sync += self.host_rdata.eq(status)
                with m.Case(HOST_REGS["prog_len"]):
                    m.d.sync += self.host_rdata.eq(prog_len)
                with m.Case(HOST_REGS["cycles"]):
                    m.d.sync += self.host_rdata.eq(ctrl.cycles)
                with m.Case(HOST_REGS["issued"]):
                    m.d.sync += self.host_rdata.eq(ctrl.issued)
                with m.Case(HOST_REGS["sb_full"]):
                    m.d.sync += self.host_rdata.eq(ctrl.sb_full)
                with m.Case(HOST_REGS["mac_late"]):
                    m.d.sync += self.host_rdata.eq(mac_late)
                with m.Case(HOST_REGS["late_writes"]):
                    m.d.sync += self.host_rdata.eq(late_writes)
                for ui in range(len(UNITS)):
                    with m.Case(HOST_REGS["busy"] + ui):
                        m.d.sync += self.host_rdata.eq(ctrl.busy[ui])
                    with m.Case(HOST_REGS["stall"] + ui):
                        m.d.sync += self.host_rdata.eq(ctrl.stall[ui])
                with m.Default():
                    m.d.sync += self.host_rdata.eq(0)
        return m


class PintaSystem(wiring.Component):
    """:class:`PintaTop` plus a fixed-latency DRAM model, DRAM mapped into the host window."""

    def __init__(self, cfg: PintaConfig, dram_words: int = 8192, pmem_depth: int = 256):
        self.cfg = cfg
        self.dram_words = dram_words
        self.pmem_depth = pmem_depth
        #: The DRAM model's storage (a test bench may preload it directly).
        self.dram_mem = Memory(shape=unsigned(64), depth=dram_words, init=[])
        super().__init__(_host_members())

    def elaborate(self, platform):
        cfg = self.cfg
        m = Module()
        m.submodules.top = top = PintaTop(cfg, self.pmem_depth)
        w = cfg.dram_bytes_per_cycle // 8
        m.submodules.dram = dram = self.dram_mem
        in_dram = self.host_addr >= HOST_DRAM_BASE
        daddr = self.host_addr - HOST_DRAM_BASE
        # host port
        hw_ = dram.write_port()
        hr = dram.read_port()
        m.d.comb += [hw_.addr.eq(daddr), hw_.data.eq(self.host_wdata), hw_.en.eq(self.host_we & in_dram),
                     hr.addr.eq(daddr), hr.en.eq(self.host_re & in_dram)]
        m.d.comb += [top.host_addr.eq(self.host_addr), top.host_we.eq(self.host_we & ~in_dram),
                     top.host_wdata.eq(self.host_wdata), top.host_re.eq(self.host_re & ~in_dram)]
        sel_dram = Signal()
        with m.If(self.host_re):
            m.d.sync += sel_dram.eq(in_dram)
        m.d.comb += self.host_rdata.eq(Mux(sel_dram, hr.data, top.host_rdata))
        # DMA side: reads return exactly dma_setup cycles after the request
        rdata = []
        for j in range(w):
            rp = dram.read_port()
            m.d.comb += [rp.addr.eq(top.dram_rd_addr + j), rp.en.eq(1)]
            prev = rp.data
            for s in range(DESIGN.dma_setup - 1):
                nxt = Signal(64, name=f"dram_lat{j}_{s}")
                m.d.sync += nxt.eq(prev)
                prev = nxt
            rdata.append(prev)
            wp = dram.write_port(granularity=8)
            m.d.comb += [wp.addr.eq(top.dram_wr_addr + j), wp.data.eq(top.dram_wr_data[64 * j:64 * j + 64]),
                         wp.en.eq(Mux(top.dram_wr_valid, top.dram_wr_be[8 * j:8 * j + 8], 0))]
        m.d.comb += top.dram_rdata.eq(Cat(*rdata))
        return m
