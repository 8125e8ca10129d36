"""On-chip buffers of the PINTA top: four word-interleaved, banked SRAMs.

The ISA sees four buffers (``weights``, ``activations``, ``gradients``,
``optimizer``) of 64-bit words, sized by ``cfg.buffers`` (KiB). Each buffer
here is :data:`BANKS` = 16 banks, each an ``amaranth.lib.memory.Memory`` of
64-bit words; word ``w`` lives in bank ``w mod 16`` at row ``w // 16``. Any
16 *consecutive* words therefore sit in 16 different banks, whatever the
alignment, so a port of width W <= 16 words reads or writes W consecutive
words from any start address in one cycle. That is what the accumulator
write-back needs (one 16-word accumulator record per cycle, docs/isa.md §4).

Ports. The cycle model says each unit has its own SRAM ports and that bank
conflicts and port limits never stall (docs/simulator.md §2), so every
logical port requested here becomes one port on every bank of every buffer
(the buffer is chosen per access by a ``buf`` field). A logical port:

* read (``ReadPort``): ``en``, ``buf``, ``addr`` (word) in cycle c ->
  ``data`` (W words, word j = buffer[addr + j]) in cycle c + 1, held while
  ``en`` is low. Read ports are transparent for every write port: a word
  written in cycle c is what a read of it in cycle c returns. The cycle
  model's ``done`` ("a consumer may issue in that cycle") relies on that for
  results written in their last cycle.
* write (``WritePort``): ``en``, ``buf``, ``addr``, ``data`` (W words) and
  ``be`` (8 byte enables per word) in cycle c; written at the clock edge.

Physical mapping is left to the flow: a bank with P ports is a P-port SRAM
(or P replicas for reads). docs/hardware-top.md discusses the cost.
"""

from __future__ import annotations

from amaranth.hdl import Array, Cat, Const, Module, Signal, Value, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from pinta.config import PintaConfig

__all__ = ["pick", "cdiv", "BANKS", "WORD_BITS", "BUFFER_NAMES", "ReadPortSignature", "WritePortSignature", "BufferSystem",
           "buffer_words"]

BANKS = 16
WORD_BITS = 64
BUFFER_NAMES = ("weights", "activations", "gradients", "optimizer")
ADDR_BITS = 32


def pick(values, index):
    """``values[index]`` for a run-time index (missing entries read as 0).

    Built as a binary tree of 2:1 multiplexers on the index bits, not as a
    case statement or a wide shift, so the Verilog has no incomplete case, no
    latch and no truncated shift (lint-clean without waivers).
    """
    from amaranth.hdl import Mux
    values = [Value.cast(v) for v in values]
    width = max(len(v) for v in values)
    index = Value.cast(index)
    n = 1 << len(index)
    level = [v.as_unsigned() if len(v) == width else v.as_unsigned() | Const(0, width) for v in values][:n]
    level += [Const(0, width)] * (n - len(level))
    for bit in range(len(index)):
        level = [Mux(index[bit], level[i + 1], level[i]) for i in range(0, len(level), 2)]
    return level[0]


def cdiv(x, k: int):
    """ceil(x / k) for a constant k >= 1 (a shift when k is a power of two)."""
    if k & (k - 1) == 0:
        return (x + (k - 1)) >> (k.bit_length() - 1)
    return (x + (k - 1)) // k


def buffer_words(cfg: PintaConfig, name: str) -> int:
    return getattr(cfg.buffers, name) * 1024 // 8


def ReadPortSignature(width: int) -> wiring.Signature:
    """Unit side (Out = driven by the unit)."""
    return wiring.Signature({
        "en": Out(1), "buf": Out(2), "addr": Out(ADDR_BITS),
        "data": In(WORD_BITS * width),
    })


def WritePortSignature(width: int) -> wiring.Signature:
    return wiring.Signature({
        "en": Out(1), "buf": Out(2), "addr": Out(ADDR_BITS),
        "data": Out(WORD_BITS * width), "be": Out(8 * width),
    })


class BufferSystem(wiring.Component):
    """The four buffers with the requested logical ports.

    Parameters
    ----------
    cfg : PintaConfig
    read_ports, write_ports : dict name -> width in words (<= 16)
        Members ``r_<name>`` / ``w_<name>`` (flipped port signatures).
    """

    def __init__(self, cfg: PintaConfig, read_ports: dict[str, int], write_ports: dict[str, int],
                 granularity: dict[str, int] | None = None, transparent: dict[str, tuple[str, ...]] | None = None):
        self.cfg = cfg
        #: write port -> write granularity in bits (8, 32 or 64; default 64)
        self.granularity = dict(granularity or {})
        #: read port -> write ports it is transparent for (default none)
        self.transparent = dict(transparent or {})
        for w in list(read_ports.values()) + list(write_ports.values()):
            if not 1 <= w <= BANKS:
                raise ValueError(f"port width {w} words is outside 1..{BANKS}")
        self.read_widths = dict(read_ports)
        self.write_widths = dict(write_ports)
        members = {}
        for name, w in read_ports.items():
            members[f"r_{name}"] = In(ReadPortSignature(w))
        for name, w in write_ports.items():
            members[f"w_{name}"] = In(WritePortSignature(w))
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        lg = BANKS.bit_length() - 1
        reads = [(n, getattr(self, f"r_{n}"), w) for n, w in self.read_widths.items()]
        writes = [(n, getattr(self, f"w_{n}"), w) for n, w in self.write_widths.items()]

        # Per logical port: bank-side address/data/enables (shared by all buffers).
        def bank_rows(port, width, tag):
            lo = port.addr[:lg]
            q = port.addr[lg:]
            rows, act, jidx = [], [], []
            for k in range(BANKS):
                row = Signal(ADDR_BITS - lg, name=f"{tag}_row{k}")
                j = Signal(lg, name=f"{tag}_j{k}")
                m.d.comb += [j.eq(k - lo), row.eq((port.addr + j) >> lg)]
                rows.append(row)
                jidx.append(j)
                act.append(Const(1, 1) if width >= BANKS else j < width)
            return rows, act, jidx

        w_info = []
        for name, port, width in writes:
            rows, act, jidx = bank_rows(port, width, f"w_{name}")
            words = [port.data[WORD_BITS * j:WORD_BITS * (j + 1)] for j in range(width)]
            bes = [port.be[8 * j:8 * (j + 1)] for j in range(width)]
            bank_data, bank_be = [], []
            for k in range(BANKS):
                d = Signal(WORD_BITS, name=f"w_{name}_d{k}")
                be = Signal(8, name=f"w_{name}_be{k}")
                if width == 1:
                    m.d.comb += [d.eq(port.data), be.eq(Cat(*(act[k] for _ in range(8))) & port.be)]
                else:
                    m.d.comb += [d.eq(pick(words, jidx[k])),
                                 be.eq(Mux_(act[k], pick(bes, jidx[k])))]
                bank_data.append(d)
                bank_be.append(be)
            w_info.append((name, port, rows, bank_data, bank_be))

        r_info = []
        for name, port, width in reads:
            rows, act, jidx = bank_rows(port, width, f"r_{name}")
            lo_q = Signal(lg, name=f"r_{name}_lo_q")
            buf_q = Signal(2, name=f"r_{name}_buf_q")
            with m.If(port.en):
                m.d.sync += [lo_q.eq(port.addr[:lg]), buf_q.eq(port.buf)]
            r_info.append((name, port, width, rows, lo_q, buf_q))

        # bank_out[b][port][k]: data of bank k of buffer b for read port.
        bank_out = {}
        for b, bname in enumerate(BUFFER_NAMES):
            depth = -(-buffer_words(self.cfg, bname) // BANKS)
            for k in range(BANKS):
                mem = Memory(shape=unsigned(WORD_BITS), depth=depth, init=[])
                m.submodules[f"{bname}_bank{k}"] = mem
                wps = {}
                for wname, port, rows, bank_data, bank_be in w_info:
                    g = self.granularity.get(wname, 64)
                    wp = mem.write_port(granularity=g)
                    lanes = Cat(*(bank_be[k][(g // 8) * x] for x in range(64 // g)))
                    m.d.comb += [
                        wp.addr.eq(rows[k]),
                        wp.data.eq(bank_data[k]),
                        wp.en.eq(Mux_(port.en & (port.buf == b), lanes)),
                    ]
                    wps[wname] = wp
                for name, port, width, rows, lo_q, buf_q in r_info:
                    rp = mem.read_port(transparent_for=[wps[x] for x in self.transparent.get(name, ())])
                    m.d.comb += [rp.addr.eq(rows[k]), rp.en.eq(port.en & (port.buf == b))]
                    bank_out[(b, name, k)] = rp.data
        for name, port, width, rows, lo_q, buf_q in r_info:
            banks = []
            for k in range(BANKS):
                bd = Signal(WORD_BITS, name=f"r_{name}_bank{k}")
                m.d.comb += bd.eq(pick([bank_out[(b, name, k)] for b in range(len(BUFFER_NAMES))], buf_q))
                banks.append(bd)
            words = []
            for j in range(width):
                sel = Signal(lg, name=f"r_{name}_sel{j}")
                m.d.comb += sel.eq(lo_q + j)
                words.append(pick(banks, sel))
            m.d.comb += port.data.eq(Cat(*words))
        return m


def Mux_(cond, value):
    """``value`` where ``cond`` else 0 (a replicated AND)."""
    from amaranth.hdl import Mux
    return Mux(cond, value, Const(0, len(value)))
