"""Reduction engine of the PINTA top's VEC unit: VSUM and VRED (identity views).

The one FP32 reduction rule is ``golden/reduce.py`` ``tree_sum``: pad the
reduced axis with +0.0 to a power of two P, then ``x = x[:h] + x[h:]`` until
one element is left. This module reproduces that order bit for bit with one
``fp_add`` (hw/fp32/arith.py) per lane, and it is also the *one* description
of how many cycles that takes: :func:`reduce_ops` is the occupancy the cycle
model (sim/timing.py) and the controller (hw/controller.py) use.

Shape of a reduction
====================
A reduction reads its source as ``outer × nred × inner`` (row-major) and sums
over the middle axis (:func:`reduce_dims`): VSUM axis 0 is ``1 × rows ×
cols``, axis 1 ``rows × cols × 1``; VRED merges the view's axes
``axis..axis+span``. One *tree* is the halving tree of one output vector:

* **mode A** (``inner > 1``): the lanes hold L consecutive inner elements (a
  column group); the tree runs over the ``nred`` rows, lane-wise. Trees:
  ``outer · ceil(inner / L)``.
* **mode B** (``inner == 1``, e.g. VSUM axis 1): the reduced row is cut into
  windows of L elements. The halving levels with ``h >= L`` add whole windows
  lane-wise (a tree over Q = P/L windows), the last ``log2 min(P, L)`` levels
  add lanes ``l`` and ``l + h`` of the one remaining window (a lane shuffle in
  front of the adder). Trees: ``outer``.

Order: bit-reversed post-order, no scratch
==========================================
The halving tree combines elements whose indices differ in the top bit first,
the bottom bit last: after reversing the index bits it is the tree of
*adjacent* pairs. So the engine walks the tree in post-order over pair
indices j = 0..T-1 (T = P/2 pairs, resp. Q/2 windows pairs):

* ``PAIR`` j: read x[i] and x[i + T] (i = bitrev(j), one window on port ``a``,
  one on port ``b``: the first level, straight from the buffer; a side past
  ``nred`` is the +0.0 padding, muxed in front of the adder), acc = x[i] +
  x[i + T];
* then one ``POP`` per trailing one bit k of j: acc = stack[k] + acc (the
  left subtree's sum, lower indices, first);
* before the next PAIR, acc goes to stack[level reached].

That is P - 1 additions in P - 1 cycles (one per cycle per lane; the adder's
result is registered and is the next cycle's operand, so dependent levels
never wait) and a stack of log2(P) partial sums per lane instead of a
partial-sum RAM. A tree of one element (P = 1) is one ``LOAD`` cycle (the
value is copied, not added: a lone -0.0 stays -0.0, as in ``tree_sum``).
Mode B then spends one ``LANE`` cycle per lane level. Ops per tree:
``max(P' - 1, 1) + lane levels``, P' = P (mode A) or Q (mode B).

Alignment. A window starts at any element, so each read port is W + 1 words
wide (W = L/2) and the data cycle takes lanes from an offset of 0 or 1
element; results are written through the arithmetic write port, also W + 1
words wide with 32-bit write lanes (an output window, or the single output
of mode B, starts at any element). The zero half-word after an odd element
count of ``dst`` is written with the last output, as the fp32 layout wants.

Timing (I = issue cycle, op k = 0..K-1, K = :func:`reduce_ops`): op k's
reads in I + 1 + k, its addition in I + 2 + k (the data cycle), the tree's
result in the accumulator in I + 3 + k and written in I + 4 + k: the
arithmetic path's read-to-write distance, so reduction writes and the
element-wise passes of neighbouring VEC instructions use the one arithmetic
write port in different cycles. The last write is in I + K + 3, one cycle
before done = I + K + ``vec_depth_arith``.

A gathered source (VRED through a permuting view, not built: it needs the
permuted-gather address generator of the QNT unit's views) would replace the
two window reads of a PAIR/LOAD by the gather's output: the datapath,
stack and write-back stay as they are (docs/hardware-top.md §4).
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, enum, wiring
from amaranth.lib.wiring import In, Out

from pinta.config import PintaConfig
from pinta.sim.isa import OPCODE_SHIFT, OPCODES

from .buffers import BUFFER_NAMES, ReadPortSignature, WritePortSignature, buffer_words, pick
from .controller import field_slice, unit_command_layout
from .fp32.arith import fp_add

__all__ = ["REDUCE_OPS", "IntOps", "HwOps", "reduce_dims", "reduce_ops", "reduce_tree_params", "ReduceEngine"]

#: The VEC instructions this engine executes.
REDUCE_OPS = ("VSUM", "VRED")


class IntOps:
    """The arithmetic :func:`reduce_ops` needs beyond + - * and comparisons, on Python ints."""

    @staticmethod
    def mux(c, a, b):
        return a if c else b

    @staticmethod
    def clog2(n):  # log2 of the padded length: bit length of n - 1
        return max(n - 1, 0).bit_length()

    @staticmethod
    def pow2(k):
        return 1 << k

    @staticmethod
    def cdiv(x, k):
        return -(-x // k)


class HwOps:
    """The same on Amaranth values (combinational logic in module ``m``)."""

    def __init__(self, m: Module, width: int = 32):
        self.m, self.width = m, width

    def mux(self, c, a, b):
        # into an unsigned signal: a difference is signed in Amaranth, a shift amount may not be
        x = Signal(self.width)
        self.m.d.comb += x.eq(Mux(c, a, b))
        return x

    def clog2(self, n):
        x = Signal(self.width)
        lg = Signal(range(self.width + 1))
        self.m.d.comb += x.eq(Mux(n == 0, 0, n - 1))
        # priority encoder: the highest set bit wins (later statements override)
        self.m.d.comb += lg.eq(0)
        for k in range(self.width):
            with self.m.If(x[k]):
                self.m.d.comb += lg.eq(k + 1)
        return lg

    def pow2(self, k):
        return Const(1, self.width + 1) << k[:(self.width + 1).bit_length()]

    @staticmethod
    def cdiv(x, k):
        from .buffers import cdiv
        return cdiv(x, k)


def reduce_dims(dims, lo, hi, ops=IntOps):
    """(outer, nred, inner) of a reduction over axes lo..hi-1 of the row-major array ``dims``.

    VSUM axis a: dims (rows, cols, 1, 1), lo = a, hi = a + 1; VRED: the view's
    dims ((rows, cols, 1, 1) for v0; an identity permutation keeps the source
    order, so the dims are those of the view), lo = axis, hi = axis + span + 1.
    A copy (nred = 1) is returned as (1, 1, outer · inner): mode A over the flat
    source, L elements per cycle.
    """
    outer = nred = inner = 1
    last = len(dims) - 1
    for k, d in enumerate(dims):
        if isinstance(d, int) and d == 1:
            continue  # a unit axis multiplies nothing (no multiplier in hardware)
        # lo <= last (the axis field names an axis), so the last axis is never outer and
        # lo <= last always holds there: no comparison that is constant in hardware
        if k < last:
            outer = outer * ops.mux(lo > k, d, 1)
        nred = nred * ops.mux(((lo <= k) & (hi > k)) if k < last else (hi > k), d, 1)
        inner = inner * ops.mux(hi <= k, d, 1)
    # nred = 1 (a reduction over unit axes, which the compiler uses as a permuted copy
    # through a view): a copy, one LOAD of L elements per cycle over the flat source,
    # not one tree per output
    copy = nred == 1
    return ops.mux(copy, 1, outer), nred, ops.mux(copy, outer * inner, inner)


def reduce_tree_params(nred, inner, lanes: int, ops=IntOps):
    """(mode_b, lg_p, lg_t, lane_levels) of one tree (see the module docstring).

    lg_p = log2 P; lg_t = log2 of the tree's leaves in windows (P, or Q = P/L
    in mode B; 0: a one-leaf tree, one LOAD); lane_levels: mode B's lane levels.
    """
    lgl = lanes.bit_length() - 1
    mode_b = inner == 1
    lg_p = ops.clog2(nred)
    lg_t = ops.mux(mode_b, ops.mux(lg_p > lgl, lg_p - lgl, 0), lg_p)
    lane_levels = ops.mux(mode_b, ops.mux(lg_p < lgl, lg_p, lgl), 0)
    return mode_b, lg_p, lg_t, lane_levels


def reduce_ops(outer, nred, inner, lanes: int, ops=IntOps):
    """Cycles (ops) the engine spends on a reduction: its occupancy in the cycle model.

    trees · (max(2^lg_t − 1, 1) + lane levels), trees = outer · ceil(inner / L)
    (mode A) or outer (mode B).
    """
    mode_b, _, lg_t, lane_levels = reduce_tree_params(nred, inner, lanes, ops)
    per_tree = ops.mux(lg_t == 0, 1, ops.pow2(lg_t) - 1) + lane_levels
    trees = outer * ops.mux(mode_b, 1, ops.cdiv(inner, lanes))
    return trees * per_tree


def _opcode(name: str) -> int:
    return next(s.opcode for s in OPCODES.values() if s.mnemonic == name)


def cmd_reduce_dims(m: Module, word, a, ops: HwOps, view=None):
    """(outer, nred, inner) of the VSUM / VRED in instruction ``word`` with source descriptor ``a``.

    ``view``: the view register VRED names (``VIEW_LAYOUT``; the controller accepts
    only identity permutations, which read the source in its own order, so its dims
    are all the engine needs); None or v0: the source's (rows, cols, 1, 1).
    """
    op = word[OPCODE_SHIFT:OPCODE_SHIFT + 8]
    is_vsum = op == _opcode("VSUM")
    lo = Signal(3)
    hi = Signal(4)
    m.d.comb += [lo.eq(Mux(is_vsum, field_slice(word, "VSUM", "axis"), field_slice(word, "VRED", "axis"))),
                 hi.eq(lo + 1 + Mux(is_vsum, 0, field_slice(word, "VRED", "span")))]
    dims = (a.rows, a.cols, 1, 1)
    if view is not None:
        on = ~is_vsum & (field_slice(word, "VRED", "view") != 0)
        dims = tuple(Mux(on, view.dims[k], dk) for k, dk in enumerate(dims))
    return reduce_dims(dims, lo, hi, ops)


class Kind(enum.Enum, shape=2):
    LOAD = 0   # acc = a window (a one-element tree)
    PAIR = 1   # acc = x[i] + x[i + T], both from the buffer
    POP = 2    # acc = stack[level] + acc
    LANE = 3   # acc[l] = acc[l] + acc[l + h] (mode B's lane levels)


class ReduceEngine(wiring.Component):
    """VSUM / VRED (identity view) on ``vector_lanes`` lanes, one op per cycle.

    Members
    -------
    start : In(1), cmd : In(unit_command_layout()) -- issue strobe and command (a VSUM or VRED)
    r_a, r_b : Out(ReadPortSignature(W + 1)) -- window reads (x[i], x[i + T]); W = L/2
    w : Out(WritePortSignature(W + 1))       -- result writes (32-bit lanes)
    reading : Out(1) -- the engine drives r_a / r_b this cycle
    """

    def __init__(self, cfg: PintaConfig):
        self.cfg = cfg
        self.lanes = L = cfg.vector_lanes
        if L < 2 or L & (L - 1):
            raise ValueError(f"the reduction engine needs a power-of-two vector_lanes >= 2, got {L}")
        self.words = L // 2
        # Longest reduced axis: a source fills at most the largest buffer.
        max_el = 2 * max(buffer_words(cfg, b) for b in BUFFER_NAMES)
        #: levels of the per-lane stack: log2 of the longest padded tree (+1: the root's level)
        self.levels = max(max_el - 1, 1).bit_length() + 1
        super().__init__({
            "start": In(1), "cmd": In(unit_command_layout()),
            "r_a": Out(ReadPortSignature(self.words + 1)), "r_b": Out(ReadPortSignature(self.words + 1)),
            "w": Out(WritePortSignature(self.words + 1)),
            "reading": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        L, W, NL = self.lanes, self.words, self.levels
        lgl = L.bit_length() - 1
        hw = HwOps(m)

        # -- the command, registered at issue --
        src_buf, dst_buf = Signal(2), Signal(2)
        src_addr, dst_addr = Signal(32), Signal(32)
        outer, nred, inner = Signal(32), Signal(32), Signal(32)
        c_outer, c_nred, c_inner = cmd_reduce_dims(m, self.cmd.word, self.cmd.d[1], hw, self.cmd.view)
        with m.If(self.start):
            m.d.sync += [src_buf.eq(self.cmd.d[1].buf), src_addr.eq(self.cmd.d[1].addr),
                         dst_buf.eq(self.cmd.d[0].buf), dst_addr.eq(self.cmd.d[0].addr),
                         outer.eq(c_outer), nred.eq(c_nred), inner.eq(c_inner)]
        mode_b, lg_p, lg_t, lane_levels = reduce_tree_params(nred, inner, L, hw)
        lg_p1, lg_t1 = Signal(6), Signal(6)  # log2(P/2), log2(T): unsigned shift amounts
        m.d.comb += [lg_p1.eq(lg_p - 1), lg_t1.eq(lg_t - 1)]
        h_el = Signal(32)    # element distance of x[i + T] from x[i]: T · stride = inner · P/2
        m.d.comb += h_el.eq(Mux(lg_p == 0, 0, inner << lg_p1))
        n_pairs_m1 = Signal(32)  # T - 1
        m.d.comb += n_pairs_m1.eq(Mux(lg_t == 0, 0, (Const(1, 33) << lg_t1) - 1))
        nc = Signal(32)      # elements per outer index
        m.d.comb += nc.eq(nred * inner)
        n_dst = Signal(32)
        m.d.comb += n_dst.eq(outer * inner)

        # -- sequencer: one op per cycle --
        active = Signal()
        phase = Signal(2)    # 0: PAIR/LOAD, 1: POP, 2: LANE
        j = Signal(NL)       # pair index
        popk = Signal(range(NL + 1))
        lanek = Signal(range(lgl + 1))
        col = Signal(32)     # mode A: first column of the group
        base_o = Signal(32)  # element offset of the current outer index
        dst_ptr = Signal(32)
        o_left = Signal(32)

        # i = bitrev(j) over lg_t - 1 bits
        jr = Signal(NL)
        m.d.comb += jr.eq(Cat(*(j[NL - 1 - k] for k in range(NL))))
        i = Signal(NL)
        i_sh = Signal(range(NL + 2))
        m.d.comb += i_sh.eq(NL - lg_t1)
        m.d.comb += i.eq(Mux(lg_t == 0, 0, jr >> i_sh))
        pops_j = Signal(range(NL + 1))  # trailing ones of j: the POPs after pair j
        m.d.comb += pops_j.eq(0)
        for k in range(NL):  # a later If overrides an earlier one: the longest run wins
            with m.If(j[:k + 1] == (1 << (k + 1)) - 1):
                m.d.comb += pops_j.eq(k + 1)

        tree_base = Signal(32)
        m.d.comb += tree_base.eq(base_o + col)
        stride_i = Signal(32)
        m.d.comb += stride_i.eq(Mux(mode_b, i << lgl, i * inner))
        a_off, b_off = Signal(32), Signal(32)
        m.d.comb += [a_off.eq(tree_base + stride_i), b_off.eq(a_off + h_el)]

        kind = Signal(Kind)
        lane_lg = Signal(range(lgl + 1))
        win_end, tree_end = Signal(), Signal()
        m.d.comb += [win_end.eq(0), tree_end.eq(0), kind.eq(Kind.PAIR), lane_lg.eq(0)]
        last_pair = j == n_pairs_m1
        with m.If(active):
            # If chains, not Switch: a Switch on a part-used value is an incomplete Verilog case
            with m.If(phase == 0):
                with m.If(lg_t == 0):
                    m.d.comb += [kind.eq(Kind.LOAD), win_end.eq(1)]
                with m.Else():
                    m.d.comb += kind.eq(Kind.PAIR)
                    with m.If(pops_j == 0):
                        with m.If(last_pair):
                            m.d.comb += win_end.eq(1)
                        with m.Else():
                            m.d.sync += j.eq(j + 1)
                    with m.Else():
                        m.d.sync += [phase.eq(1), popk.eq(0)]
            with m.Elif(phase == 1):
                m.d.comb += kind.eq(Kind.POP)
                with m.If(popk + 1 == pops_j):
                    with m.If(last_pair):
                        m.d.comb += win_end.eq(1)
                    with m.Else():
                        m.d.sync += [j.eq(j + 1), phase.eq(0)]
                with m.Else():
                    m.d.sync += popk.eq(popk + 1)
            with m.Else():  # 2 (3 never happens)
                m.d.comb += [kind.eq(Kind.LANE), lane_lg.eq(lane_levels - 1 - lanek)]
                with m.If(lanek + 1 == lane_levels):
                    m.d.comb += tree_end.eq(1)
                with m.Else():
                    m.d.sync += lanek.eq(lanek + 1)
            with m.If(win_end):
                with m.If(lane_levels != 0):
                    m.d.sync += [phase.eq(2), lanek.eq(0)]
                with m.Else():
                    m.d.comb += tree_end.eq(1)
        # what the tree writes: mode A its column group (up to L elements), mode B one element
        wcnt = Signal(range(L + 1))
        m.d.comb += wcnt.eq(Mux(mode_b, 1, Mux(inner - col >= L, L, inner - col)))
        with m.If(tree_end):
            m.d.sync += [phase.eq(0), j.eq(0), dst_ptr.eq(dst_ptr + wcnt)]
            with m.If(~mode_b & (col + L < inner)):
                m.d.sync += col.eq(col + L)
            with m.Else():
                m.d.sync += [col.eq(0), base_o.eq(base_o + nc), o_left.eq(o_left - 1)]
                with m.If(o_left == 1):
                    m.d.sync += active.eq(0)

        # a new instruction may issue in the cycle of the last op: its start comes last and wins
        with m.If(self.start):
            m.d.sync += [active.eq(1), phase.eq(0), j.eq(0), popk.eq(0), lanek.eq(0), col.eq(0),
                         base_o.eq(0), dst_ptr.eq(0), o_left.eq(c_outer)]

        # reads: the two windows of a PAIR, the one of a LOAD
        reads = active & ((kind == Kind.PAIR) | (kind == Kind.LOAD))
        m.d.comb += self.reading.eq(reads)
        for port, off, en in ((self.r_a, a_off, reads), (self.r_b, b_off, active & (kind == Kind.PAIR))):
            m.d.comb += [port.en.eq(en), port.buf.eq(src_buf), port.addr.eq(src_addr + (off >> 1))]
        # padding: lanes of the b window (and of a mode-B LOAD) past the reduced axis are +0.0
        b_ok = Signal(L)
        for l in range(L):
            # mode A: row i + T < nred (all lanes); mode B: element i·L + P/2 + l < nred
            m.d.comb += b_ok[l].eq(Mux(mode_b, (b_off - tree_base) + l < nred, i + (n_pairs_m1 + 1) < nred))
        a_ok = Signal(L)
        for l in range(L):
            m.d.comb += a_ok[l].eq(~mode_b | (l < nred))

        # -- data cycle --
        d = Signal(data.StructLayout({
            "valid": 1, "kind": Kind, "lane_lg": range(lgl + 1), "pa": 1, "pb": 1,
            "a_ok": L, "b_ok": L, "last": 1, "wstart": 32, "wcnt": range(L + 1), "pad": 1,
            # the destination travels with the op: the next VEC instruction's issue
            # replaces the registered command before the last write
            "wbuf": 2, "waddr": 32,
        }))
        m.d.sync += [d.valid.eq(active), d.kind.eq(kind), d.lane_lg.eq(lane_lg), d.pa.eq(a_off[0]),
                     d.pb.eq(b_off[0]), d.a_ok.eq(a_ok), d.b_ok.eq(b_ok), d.last.eq(active & tree_end),
                     d.wstart.eq(dst_ptr), d.wcnt.eq(wcnt), d.wbuf.eq(dst_buf), d.waddr.eq(dst_addr + (dst_ptr >> 1)),
                     d.pad.eq(n_dst[0] & (dst_ptr + wcnt == n_dst))]

        def window(port, parity):
            halves = [port.data[32 * s:32 * s + 32] for s in range(2 * W + 2)]
            return [Mux(parity, halves[l + 1], halves[l]) for l in range(L)]

        xa, xb = window(self.r_a, d.pa), window(self.r_b, d.pb)
        acc = [Signal(32, name=f"red_acc{l}") for l in range(L)]
        lvl = Signal(range(NL + 1))
        stack = [Signal(32 * L, name=f"red_stack{k}") for k in range(NL + 1)]
        top = Signal(32 * L)
        m.d.comb += top.eq(pick(stack, lvl))  # a mux tree: no incomplete case (lint)
        with m.If(d.valid):
            with m.If(d.kind == Kind.PAIR):
                m.d.sync += lvl.eq(0)
                # the previous pair's subtree waits on the stack at the level it reached
                for k in range(NL + 1):
                    with m.If(lvl == k):
                        m.d.sync += stack[k].eq(Cat(*acc))
            with m.Elif(d.kind == Kind.POP):
                m.d.sync += lvl.eq(lvl + 1)
        for l in range(L):
            shuf = pick([acc[l + (1 << k)] if l + (1 << k) < L else Const(0, 32) for k in range(lgl)], d.lane_lg)
            x = Signal(32, name=f"red_x{l}")
            y = Signal(32, name=f"red_y{l}")
            with m.If(d.kind == Kind.POP):
                m.d.comb += [x.eq(top[32 * l:32 * l + 32]), y.eq(acc[l])]
            with m.Elif(d.kind == Kind.LANE):
                m.d.comb += [x.eq(acc[l]), y.eq(shuf)]
            with m.Else():
                m.d.comb += [x.eq(xa[l]), y.eq(Mux(d.b_ok[l], xb[l], 0))]
            s = fp_add(m, x, y, Const(0, 1), name=f"red_add{l}")
            with m.If(d.valid):
                m.d.sync += acc[l].eq(Mux(d.kind == Kind.LOAD, Mux(d.a_ok[l], xa[l], 0), s))

        # -- write-back: the tree's result is in acc one cycle after its last op; it is
        # registered once more so that it is written read + 3, like the arithmetic passes --
        t1 = Signal(d.shape())
        m.d.sync += t1.eq(d)
        m.d.sync += t1.valid.eq(d.valid & d.last)
        t2 = Signal(d.shape())
        wlanes = [Signal(32, name=f"red_w{l}") for l in range(L)]
        m.d.sync += t2.eq(t1)
        m.d.sync += [wlanes[l].eq(acc[l]) for l in range(L)]
        q = t2.wstart[0]
        halves, bes = [], []
        for s in range(2 * W + 2):
            # half s of the W + 1 words holds dst element (wstart & ~1) + s, lane s - q
            lane = Mux(q, wlanes[s - 1] if 1 <= s <= L else Const(0, 32), wlanes[s] if s < L else Const(0, 32))
            k = Signal(range(2 * W + 3), name=f"red_wk{s}")
            m.d.comb += k.eq(s - q)
            at_or_after = ~q if s == 0 else Const(1, 1)  # s >= q, without a constant comparison
            inside = at_or_after & (k < t2.wcnt)
            pad = t2.pad & at_or_after & (k == t2.wcnt)  # the zero half-word after an odd element count
            halves.append(Mux(inside, lane, 0))
            bes.append(Mux(inside | pad, 0xF, 0))
        m.d.comb += [self.w.en.eq(t2.valid), self.w.buf.eq(t2.wbuf), self.w.addr.eq(t2.waddr),
                     self.w.data.eq(Cat(*halves)), self.w.be.eq(Cat(*bes))]
        return m
