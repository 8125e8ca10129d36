"""Static analysis of a program: validation, the cycle schedule and action counts.

A PINTA program has no data-dependent control flow, and every address and
shape is fixed by its TDESC/VIEW instructions, so validation, timing and the
energy action counts are all decided before any data moves. The simulator
(:mod:`pinta.sim.machine`) runs this analysis first and then executes the
values; the RTL must reproduce :class:`Schedule` cycle for cycle.
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from dataclasses import dataclass

from pinta.config import PintaConfig

from .golden_ops import missing_golden
from .isa import VIEW_DIMS, Buffer, Fmt, Instr, MacMode, Unit
from .layout import WORD_BITS, buffer_words, footprint_words
from .timing import DESIGN, gemm_shape, gemm_tiles, instruction_timing

__all__ = ["ProgramError", "Descriptor", "View", "Analysis", "ScheduledInstr", "FaultStop", "analyze", "fault_stop"]


class ProgramError(ValueError):
    """An invalid program. The message names the instruction (index and mnemonic)."""

    def __init__(self, index: int, mnemonic: str, problem: str):
        self.index = index
        self.mnemonic = mnemonic
        self.problem = problem
        super().__init__(f"instruction {index} ({mnemonic}): {problem}")


@dataclass(frozen=True)
class Descriptor:
    """A tensor descriptor: buffer, format, base word address, logical shape."""
    buf: Buffer
    fmt: Fmt
    addr: int
    rows: int
    cols: int
    words: int  # footprint in 64-bit words

    @property
    def end(self) -> int:
        return self.addr + self.words

    def describe(self) -> str:
        return f"{self.fmt.name} {self.rows}x{self.cols} at {self.buf.name}[0x{self.addr:x}:0x{self.end:x}]"


@dataclass(frozen=True)
class View:
    """A view register: the source read as a row-major ``dims`` array, axes permuted by ``perm``."""
    dims: tuple[int, ...]
    perm: tuple[int, ...]

    @property
    def size(self) -> int:
        return math.prod(self.dims)


SMX_FORMATS = (Fmt.smx4, Fmt.smx8, Fmt.smx12)
#: Energy action of the vector instructions that are forms of another op.
VEC_ACTION = {"VADDB": "vec_add", "VSUBB": "vec_sub", "VMULB": "vec_mul", "VSCALE": "vec_mul", "VRED": "vec_sum"}


@dataclass
class ScheduledInstr:
    """One instruction's place in the schedule (cycles counted from 0)."""
    index: int
    mnemonic: str
    unit: Unit
    issue: int
    occupancy: int
    done: int  # first cycle at which its results can be read


@dataclass
class Analysis:
    """Everything known about a valid program before it runs.

    Cycle figures are clock cycles; ``busy``/``stall`` are keyed by unit
    name (CTRL, DMA, MAC, QNT, VEC); SRAM traffic is in bits per buffer
    name; DRAM traffic in bytes. ``actions`` counts MACs per mode
    (``mac_i8x8``...), quantizer blocks and vector/SFU/RNG elements.
    """
    program: list[Instr]
    descriptors: list[dict[int, Descriptor]]   # descriptor table seen by each instruction
    views: list[dict[int, View]]
    schedule: list[ScheduledInstr]
    total_cycles: int
    busy: dict[str, int]
    stall: dict[str, int]
    actions: dict[str, int]
    sram_read_bits: dict[str, int]
    sram_write_bits: dict[str, int]
    dram_read_bytes: int
    dram_write_bytes: int

    def idle(self, unit: str) -> int:
        return self.total_cycles - self.busy[unit] - self.stall[unit]

    def utilisation(self, unit: str) -> float:
        return self.busy[unit] / self.total_cycles if self.total_cycles else 0.0


# -- the clean stop at a run-time fault ----------------------------------------

@dataclass(frozen=True)
class FaultStop:
    """How a run ends when instruction ``index`` faults at run time (docs/simulator.md §1).

    A fault (``code``: the name of the hardware's ``ErrorCode``, e.g. ``DEQ_INEXACT``)
    is known in the faulting instruction's done cycle ``cycle``. From that cycle on
    nothing issues; the ``issued`` instructions issued before it (the prefix,
    ``issue < cycle``) complete. ``total_cycles``, ``busy`` and ``stall`` are the
    counters of such a run: the prefix's, plus the stall cycles that the first
    instruction not issued spent at the head before ``cycle``.
    """
    index: int
    code: str
    cycle: int
    issued: int
    total_cycles: int
    busy: dict[str, int]
    stall: dict[str, int]


def fault_stop(an: Analysis, index: int, code: str) -> FaultStop:
    """The counters of a run of ``an.program`` stopped by a fault of instruction ``index``.

    No consumer of the faulting instruction's results (nor a writer of its
    operands) is in the prefix: the scoreboard holds those until its done.
    """
    sched = an.schedule
    t = sched[index].done
    prefix = [s for s in sched if s.issue < t]     # in-order issue: a prefix of the program
    k = len(prefix)
    busy = {u.name: 0 for u in Unit}
    stall = {u.name: 0 for u in Unit}
    unit_free = {u.name: 0 for u in Unit}
    ready = 0
    for s in prefix:
        busy["CTRL"] += DESIGN.ctrl_latency
        stall["CTRL"] += s.issue - ready
        if s.unit != Unit.CTRL:
            busy[s.unit.name] += s.occupancy
            stall[s.unit.name] += s.issue - max(ready, unit_free[s.unit.name])
            unit_free[s.unit.name] = s.issue + s.occupancy
        ready = s.issue + DESIGN.ctrl_latency
    if k < len(sched):  # the first instruction not issued waits at the head until the fault
        nxt = sched[k]
        stall["CTRL"] += max(0, t - ready)
        if nxt.unit != Unit.CTRL:
            stall[nxt.unit.name] += max(0, t - max(ready, unit_free[nxt.unit.name]))
    return FaultStop(index, code, t, k, max(s.done for s in prefix), busy, stall)


# -- written-region tracking -------------------------------------------------

class _Regions:
    """Union of written word intervals per buffer."""

    def __init__(self):
        self.spans: dict[Buffer, list[tuple[int, int]]] = defaultdict(list)

    def add(self, buf: Buffer, lo: int, hi: int) -> None:
        spans = self.spans[buf] + [(lo, hi)]
        spans.sort()
        merged = [spans[0]]
        for a, b in spans[1:]:
            if a <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], b))
            else:
                merged.append((a, b))
        self.spans[buf] = merged

    def first_gap(self, buf: Buffer, lo: int, hi: int) -> int | None:
        """First word in [lo, hi) never written, or None."""
        pos = lo
        for a, b in self.spans[buf]:
            if b <= pos:
                continue
            if a > pos:
                return pos
            pos = b
            if pos >= hi:
                return None
        return pos if pos < hi else None


def _overlap(x: Descriptor, y: Descriptor) -> bool:
    return x.buf == y.buf and x.addr < y.end and y.addr < x.end


# -- validation of one instruction ------------------------------------------

def _validate(i: int, ins: Instr, descs: dict[int, Descriptor], views: dict[int, View], written: _Regions, cfg: PintaConfig,
              golden_missing: dict[str, str | None]) -> None:
    name = ins.mnemonic

    def err(problem: str) -> ProgramError:
        return ProgramError(i, name, problem)

    def desc(field_name: str) -> Descriptor:
        reg = ins[field_name]
        if reg not in descs:
            raise err(f"operand {field_name}=t{reg} is not defined (no earlier TDESC t{reg})")
        return descs[reg]

    def want(field_name: str, *fmts: Fmt) -> Descriptor:
        d = desc(field_name)
        if d.fmt not in fmts:
            raise err(f"operand {field_name}=t{ins[field_name]} is {d.fmt.name}; {name} needs {' or '.join(f.name for f in fmts)}")
        return d

    def same_shape(a_name: str, b_name: str) -> None:
        a, b = desc(a_name), desc(b_name)
        if (a.rows, a.cols) != (b.rows, b.cols):
            raise err(f"shape mismatch: {a_name}=t{ins[a_name]} is {a.rows}x{a.cols} but {b_name}=t{ins[b_name]} is {b.rows}x{b.cols}")

    def src_elements(src: Descriptor) -> int:
        """Elements of ``src``, after checking that the instruction's view (if any) is defined and fits it."""
        n = src.rows * src.cols
        v = ins["view"]
        if v:
            if v not in views:
                raise err(f"view v{v} is not defined (no earlier VIEW v{v})")
            if views[v].size != n:
                raise err(f"shape mismatch: view v{v} has {views[v].size} elements, src has {src.rows}x{src.cols} = {n}")
        return n

    if name not in golden_missing:
        golden_missing[name] = missing_golden(name)
    reason = golden_missing[name]
    if reason is not None:
        raise err(reason)

    if name == "TDESC":
        buf, fmt = Buffer(ins["buf"]), Fmt(ins["fmt"])
        size = buffer_words(getattr(cfg.buffers, buf.name))
        if fmt.smx_bits and fmt.smx_bits not in cfg.element_bits:
            raise err(f"unsupported precision {fmt.name}: INT{fmt.smx_bits} is not in cfg.element_bits {list(cfg.element_bits)}")
        if ins["rows"] < 1 or ins["cols"] < 1:
            raise err(f"empty shape {ins['rows']}x{ins['cols']}")
        if ins["addr"] >= size:
            raise err(f"address 0x{ins['addr']:x} is outside buffer {buf.name} ({size} words of {WORD_BITS} bits)")
        words = footprint_words(fmt, ins["rows"], ins["cols"], cfg)
        if ins["addr"] + words > size:
            raise err(f"operand overflows buffer {buf.name}: {fmt.name} {ins['rows']}x{ins['cols']} needs {words} words from 0x{ins['addr']:x}, "
                      f"past the end 0x{size:x}")
        return
    if name == "VIEW":
        dims = tuple(ins[f"d{k}"] for k in range(VIEW_DIMS))
        perm = tuple((ins["perm"] >> (2 * k)) & 3 for k in range(VIEW_DIMS))
        if min(dims) < 1:
            raise err(f"view dimensions {dims} must all be >= 1")
        if sorted(perm) != list(range(VIEW_DIMS)):
            raise err(f"perm {''.join(map(str, perm))} is not a permutation of the {VIEW_DIMS} axes")
        return
    if name == "WAIT":
        if ins["unit"] == Unit.CTRL:
            raise err("WAIT on the controller itself is meaningless; use BARRIER")
        return
    if name in ("NOP", "BARRIER"):
        return

    # Reads must cover written data.
    for rname in ins.spec.reads:
        d = desc(rname)
        gap = written.first_gap(d.buf, d.addr, d.end)
        if gap is not None:
            raise err(f"operand {rname}=t{ins[rname]} ({d.describe()}) reads {d.buf.name}[0x{gap:x}], which no earlier instruction wrote")
    for wname in ins.spec.writes:
        desc(wname)
    # Aliasing: results must not overlap each other, and a result may share
    # words with a source only as the identical fp32 region on the vector unit
    # (an in-place elementwise update, e.g. ADAM's w), which streams safely.
    writes = list(dict.fromkeys(ins.spec.writes))
    for k, wname in enumerate(writes):
        w = desc(wname)
        for other in writes[k + 1:]:
            if _overlap(w, desc(other)):
                raise err(f"results {wname}=t{ins[wname]} and {other}=t{ins[other]} overlap ({w.describe()}, {desc(other).describe()})")
        for rname in ins.spec.reads:
            r = desc(rname)
            if rname in ins.spec.writes or not _overlap(w, r):
                continue
            in_place = ins.spec.unit == Unit.VEC and (w.buf, w.addr, w.words, w.fmt) == (r.buf, r.addr, r.words, r.fmt)
            if not in_place:
                raise err(f"result {wname}=t{ins[wname]} ({w.describe()}) overlaps operand {rname}=t{ins[rname]} ({r.describe()}); "
                          "only an identical fp32 region may be updated in place, on the vector unit")

    if name in ("LOAD", "STORE"):
        return
    if name == "GEMM":
        out = want("dst", Fmt.acc)
        a, b = want("a", *SMX_FORMATS), want("b", *SMX_FORMATS)
        mode = MacMode(ins["mode"])
        if not set(mode.widths) <= set(cfg.element_bits):
            raise err(f"unsupported precision: MAC mode {mode.name} needs INT{'/'.join(map(str, sorted(set(mode.widths))))}, "
                      f"not all in cfg.element_bits {list(cfg.element_bits)}")
        if (a.fmt.smx_bits, b.fmt.smx_bits) != mode.widths:
            raise err(f"operands are {a.fmt.name} x {b.fmt.name}, which is not MAC mode {mode.name} "
                      f"(INT{mode.widths[0]} a, INT{mode.widths[1]} b)")
        m, k, n = gemm_shape(ins, descs)
        k2 = (b.cols if ins["tb"] else b.rows)
        if k != k2:
            raise err(f"shape mismatch: op(a) is {m}x{k} but op(b) is {k2}x{n}")
        if (out.rows, out.cols) != (m, n):
            raise err(f"shape mismatch: dst is {out.rows}x{out.cols} but op(a)·op(b) is {m}x{n}")
        if ins["accum"]:
            raise err("accum=1 is not implemented yet: the golden model defines no rule for adding into an existing accumulator")
        from pinta.golden.smx import check_accumulator_bound
        try:
            check_accumulator_bound(-(-k // cfg.block_size), cfg.block_size, a.fmt.smx_bits, b.fmt.smx_bits, cfg)
        except ValueError as e:
            raise err(str(e)) from None
        return
    if name == "QUANT":
        out = want("dst", *SMX_FORMATS)
        src = want("src", Fmt.fp32, Fmt.acc)
        n_src = src_elements(src)
        if out.rows * out.cols != n_src:
            raise err(f"shape mismatch: dst is {out.rows}x{out.cols} = {out.rows * out.cols} elements, src has {n_src}")
        return
    if name == "QUANTR":
        out = want("dst", *SMX_FORMATS)
        src = want("src", Fmt.fp32, Fmt.acc)
        n_src = src_elements(src)
        if n_src % out.cols:
            raise err(f"shape mismatch: src has {n_src} elements, not whole rows of dst's {out.cols} columns")
        n_rows, row, bs = n_src // out.cols, ins["row"], cfg.block_size
        if row % bs:
            raise err(f"row={row} is not on a block boundary (a multiple of {bs})")
        if row + n_rows > out.rows:
            raise err(f"rows {row}..{row + n_rows - 1} run past dst's {out.rows} rows")
        if n_rows % bs and row + n_rows != out.rows:
            raise err(f"a tile of {n_rows} rows (not whole blocks of {bs}) must end at dst's last row")
        return
    if name == "DIFFQ":
        qb, qd = want("qbase", *SMX_FORMATS), want("qdiff", *SMX_FORMATS)
        want("base", Fmt.fp32, Fmt.acc), want("diff", Fmt.fp32, Fmt.acc)
        if qb.fmt != qd.fmt:
            raise err(f"qbase is {qb.fmt.name} but qdiff is {qd.fmt.name}; DiffQuant uses one width for both")
        for x, y in (("qbase", "base"), ("qdiff", "diff"), ("base", "diff")):
            same_shape(x, y)
        return
    if name == "ACCF":
        want("dst", Fmt.fp32), want("a", Fmt.acc)
        same_shape("dst", "a")
        return
    if name == "DEQ":
        want("dst", Fmt.fp32), want("a", *SMX_FORMATS)
        same_shape("dst", "a")
        return
    if name == "VSUM":
        out, a = want("dst", Fmt.fp32), want("a", Fmt.fp32)
        axis = ins["axis"]
        if axis > 1:
            raise err(f"axis={axis}: must be 0 (over rows) or 1 (over columns)")
        expect = (1, a.cols) if axis == 0 else (a.rows, 1)
        if (out.rows, out.cols) != expect:
            raise err(f"shape mismatch: dst is {out.rows}x{out.cols}, a sum over axis {axis} of {a.rows}x{a.cols} is {expect[0]}x{expect[1]}")
        return
    if name in ("VADDB", "VSUBB", "VMULB"):
        out, a, b = want("dst", Fmt.fp32), want("a", Fmt.fp32), want("b", Fmt.fp32)
        same_shape("dst", "a")
        if a.rows % b.rows or b.cols not in (1, a.cols):
            raise err(f"shape mismatch: b=t{ins['b']} is {b.rows}x{b.cols}; it must have a divisor of a's {a.rows} rows "
                      f"and 1 or {a.cols} columns to broadcast over a")
        return
    if name == "VRED":
        out, a = want("dst", Fmt.fp32), want("a", Fmt.fp32)
        if ins["view"]:
            if ins["view"] not in views:
                raise err(f"view v{ins['view']} is not defined (no earlier VIEW v{ins['view']})")
            v = views[ins["view"]]
            if v.size != a.rows * a.cols:
                raise err(f"shape mismatch: view v{ins['view']} has {v.size} elements, a has {a.rows}x{a.cols} = {a.rows * a.cols}")
            shape = tuple(v.dims[p] for p in v.perm)
        else:
            shape = (a.rows, a.cols, 1, 1)
        lo, hi = ins["axis"], ins["axis"] + ins["span"] + 1
        if hi > VIEW_DIMS:
            raise err(f"axis={lo}, span={ins['span']}: the reduced axes run past axis {VIEW_DIMS - 1}")
        n_out = math.prod(shape) // math.prod(shape[lo:hi])
        if out.rows * out.cols != n_out:
            raise err(f"shape mismatch: dst is {out.rows}x{out.cols}, the reduction leaves {n_out} elements")
        return
    if name == "ADAM":
        for f in ("w", "m", "v", "g", "s"):
            want(f, Fmt.fp32)
        for f in ("m", "v", "g"):
            same_shape("w", f)
        s = desc("s")
        if (s.rows, s.cols) != (1, 8):
            raise err(f"shape mismatch: s must be 1x8 FP32 scalars, got {s.rows}x{s.cols}")
        if not 1 <= ins["total"] <= 1 << 24 or ins["step"] > ins["total"]:
            raise err(f"step={ins['step']}, total={ins['total']}: need 0 <= step <= total and 1 <= total <= 2**24")
        return
    if name == "RNG":
        want("dst", Fmt.fp32)
        return
    if name == "STEINE":
        for f in ("grad", "lap", "val", "up", "um", "d"):
            want(f, Fmt.fp32)
        same_shape("up", "um")
        up, d = desc("up"), desc("d")
        B, K, D = up.rows, up.cols, d.cols
        if d.rows != B * K:
            raise err(f"shape mismatch: d is {d.rows}x{d.cols} but up is {B}x{K}, so d needs {B * K} rows (one per point and pair)")
        for f, shape in (("grad", (B, D)), ("lap", (B, 1)), ("val", (B, 1))):
            o = desc(f)
            if (o.rows, o.cols) != shape:
                raise err(f"shape mismatch: {f}=t{ins[f]} is {o.rows}x{o.cols}, expected {shape[0]}x{shape[1]}")
        return
    # Remaining vector instructions: FP32 in, FP32 out, equal shapes.
    for f in ins.spec.reads + ins.spec.writes:
        want(f, Fmt.fp32)
    names = list(dict.fromkeys(ins.spec.writes + ins.spec.reads))
    for other in names[1:]:
        same_shape(names[0], other)


# -- the analysis -------------------------------------------------------------

def analyze(program: list[Instr], cfg: PintaConfig) -> Analysis:
    """Validate ``program`` and compute its schedule and action counts.

    Raises :class:`ProgramError` naming the first invalid instruction. The
    result depends only on the instructions and the config, so it is cached
    (a training loop runs the same program every iteration); treat it as
    read-only.
    """
    return _analyze_cached(tuple(program), cfg)


@functools.lru_cache(maxsize=32)
def _analyze_cached(program: tuple[Instr, ...], cfg: PintaConfig) -> Analysis:
    return _analyze(list(program), cfg)


def _analyze(program: list[Instr], cfg: PintaConfig) -> Analysis:
    descs: dict[int, Descriptor] = {}
    views: dict[int, View] = {}
    written = _Regions()
    desc_hist, view_hist = [], []

    units = [u.name for u in Unit]
    unit_free = {u: 0 for u in units}
    busy = {u: 0 for u in units}
    stall = {u: 0 for u in units}
    inflight: list[tuple[Buffer, int, int, int, bool]] = []  # (buf, lo, hi, done, is_write)
    unit_done = {u: 0 for u in units}   # latest completion on each unit so far
    all_done = 0
    next_issue = 0
    sched: list[ScheduledInstr] = []

    actions: dict[str, int] = defaultdict(int)
    rd_bits: dict[str, int] = {b.name: 0 for b in Buffer}
    wr_bits: dict[str, int] = {b.name: 0 for b in Buffer}
    dram_rd = dram_wr = 0
    golden_missing: dict[str, str | None] = {}

    for i, ins in enumerate(program):
        _validate(i, ins, descs, views, written, cfg, golden_missing)
        desc_hist.append(descs)
        view_hist.append(views)
        name, unit = ins.mnemonic, ins.spec.unit
        u = unit.name

        # ---- timing: in-order issue with a scoreboard ----
        t = instruction_timing(ins, descs, cfg, views)
        ready = next_issue
        if name == "BARRIER":
            issue = max(ready, all_done)
        elif name == "WAIT":
            issue = max(ready, unit_done[Unit(ins["unit"]).name])
        elif unit == Unit.CTRL:
            issue = ready
        else:
            rd = [descs[ins[f]] for f in ins.spec.reads]
            wr = [descs[ins[f]] for f in ins.spec.writes]
            dep = 0
            for buf, lo, hi, done, is_w in inflight:
                for d in rd:  # read after write
                    if is_w and d.buf == buf and d.addr < hi and lo < d.end:
                        dep = max(dep, done)
                for d in wr:  # write after write / after read
                    if d.buf == buf and d.addr < hi and lo < d.end:
                        dep = max(dep, done)
            start = max(ready, unit_free[u])
            issue = max(start, dep)
            stall[u] += issue - start
            unit_free[u] = issue + t.occupancy
            busy[u] += t.occupancy
        stall["CTRL"] += issue - ready
        busy["CTRL"] += DESIGN.ctrl_latency
        done = issue + t.latency
        next_issue = issue + DESIGN.ctrl_latency
        all_done = max(all_done, done)
        unit_done[u] = max(unit_done[u], done)
        sched.append(ScheduledInstr(i, name, unit, issue, t.occupancy, done))
        if unit != Unit.CTRL:
            # Entries finished by the next issue cycle can no longer stall anything.
            inflight = [e for e in inflight if e[3] > next_issue]
            for f in ins.spec.reads:
                d = descs[ins[f]]
                inflight.append((d.buf, d.addr, d.end, done, False))
            for f in ins.spec.writes:
                d = descs[ins[f]]
                inflight.append((d.buf, d.addr, d.end, done, True))

        # ---- action counts and SRAM traffic ----
        if name not in ("TDESC", "VIEW"):
            for f in ins.spec.reads:
                d = descs[ins[f]]
                reps = 1
                if name == "GEMM":  # output-stationary tiles re-read the operand lines
                    m, k, n = gemm_shape(ins, descs)
                    pr, pc = cfg.array_rows // cfg.block_size, cfg.array_cols // cfg.block_size
                    mb, kb, nb, _ = gemm_tiles(m, k, n, cfg)
                    reps = -(-nb // pc) if f == "a" else -(-mb // pr)
                rd_bits[d.buf.name] += d.words * WORD_BITS * reps
            for f in ins.spec.writes:
                d = descs[ins[f]]
                if name == "QUANTR":  # the tile's records and exponent bytes
                    from .layout import smx_row_tile
                    s_ = descs[ins["src"]]
                    c0, c1, e0, e1 = smx_row_tile(d.rows, d.cols, d.fmt.smx_bits, ins["row"], s_.rows * s_.cols // d.cols, cfg)
                    wr_bits[d.buf.name] += (c1 - c0) * WORD_BITS + (e1 - e0) * 8
                else:
                    wr_bits[d.buf.name] += d.words * WORD_BITS
        bs = cfg.block_size
        if name == "LOAD":
            dram_rd += descs[ins["dst"]].words * 8
        elif name == "STORE":
            dram_wr += descs[ins["src"]].words * 8
        elif name == "GEMM":
            m, k, n = gemm_shape(ins, descs)
            mb, kb, nb, _ = gemm_tiles(m, k, n, cfg)
            # Energy is per precision, not per operand side: i8x12 counts as i12x8.
            mode = MacMode(ins["mode"])
            actions[f"mac_{'i12x8' if mode == MacMode.i8x12 else mode.name}"] += mb * kb * nb * bs ** 3
        elif name == "QUANTR":
            out, src = descs[ins["dst"]], descs[ins["src"]]
            actions["quantizer_blocks"] += -(-(src.rows * src.cols // out.cols) // bs) * -(-out.cols // bs)
        elif name in ("QUANT", "DIFFQ"):
            out = descs[ins["dst" if name == "QUANT" else "qbase"]]
            blocks = -(-out.rows // bs) * -(-out.cols // bs) * (2 if name == "DIFFQ" else 1)
            actions["quantizer_blocks"] += blocks
        elif name in ("ACCF", "DEQ"):
            d = descs[ins["a"]]
            actions["readout_elements"] += d.rows * d.cols
        elif unit == Unit.VEC:
            ref = descs[ins[{"ADAM": "w", "STEIN": "up", "STEINE": "d", "VSUM": "a", "VRED": "a"}.get(name, "dst")]]
            n_el = ref.rows * ref.cols
            if name in ("VTANH", "VSIN", "VCOS"):
                actions[f"sfu_{name[1:].lower()}"] += n_el
            elif name == "RNG":
                actions["rng_normal_samples"] += n_el
            elif name == "ADAM":
                actions["adam_elements"] += n_el
            elif name == "STEIN":
                actions["stein_pair_elements"] += n_el
            elif name == "STEINE":  # per (point, pair): D gradient terms, one Laplacian, one value term
                actions["stein_estimate_terms"] += ref.rows * (ref.cols + 2)
            else:
                # Broadcast and immediate forms cost what their plain op costs.
                actions[VEC_ACTION.get(name, f"vec_{name[1:].lower()}")] += n_el

        # ---- state updates ----
        if name == "TDESC":
            fmt = Fmt(ins["fmt"])
            descs = dict(descs)
            descs[ins["t"]] = Descriptor(Buffer(ins["buf"]), fmt, ins["addr"], ins["rows"], ins["cols"],
                                         footprint_words(fmt, ins["rows"], ins["cols"], cfg))
        elif name == "VIEW":
            views = dict(views)
            views[ins["v"]] = View(tuple(ins[f"d{k}"] for k in range(VIEW_DIMS)),
                                   tuple((ins["perm"] >> (2 * k)) & 3 for k in range(VIEW_DIMS)))
        if name == "QUANTR":  # only the tile's block records and exponent slots are written
            from .layout import smx_row_tile
            d, src = descs[ins["dst"]], descs[ins["src"]]
            c0, c1, e0, e1 = smx_row_tile(d.rows, d.cols, d.fmt.smx_bits, ins["row"], src.rows * src.cols // d.cols, cfg)
            written.add(d.buf, d.addr + c0, d.addr + c1)
            written.add(d.buf, d.addr + e0 // 8, d.addr + -(-e1 // 8))
        else:
            for f in ins.spec.writes:
                d = descs[ins[f]]
                written.add(d.buf, d.addr, d.end)

    total = max(all_done, next_issue) if program else 0
    return Analysis(program, desc_hist, view_hist, sched, total, busy, stall, dict(actions), rd_bits, wr_bits, dram_rd, dram_wr)
