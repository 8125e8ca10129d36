"""Regression cases for the PINTA top: programs, their simulator results, the comparison,
and an Amaranth-simulator driver of :class:`~pinta.hw.top.PintaSystem`.

Used by tests/hw/test_rtl_top.py with two drivers that speak the same host
protocol: the cocotb bench (tests/hw/cocotb_top.py, Verilator) and
:func:`run_pysim` (Amaranth's simulator). A case is a JSON-able dict:
program words (hex), DRAM image to preload, DRAM regions to read back.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from pinta.sim import layout
from pinta.sim.isa import Instr, encode
from pinta.sim.machine import Machine
from pinta.hw.controller import ErrorCode
from pinta.hw.fp32.arith import CANONICAL_NAN
from pinta.hw.top_programs import (accf_inputs, accf_program, adam_chain_inputs, adam_chain_program, broadcast_inputs,
                                   broadcast_program, deq_inputs, deq_program, divsqrt_chain_inputs,
                                   divsqrt_chain_program, reduce_chain_inputs, reduce_chain_program, rng_chain_inputs,
                                   quantr_inputs, quantr_program, rng_chain_program, sfu_chain_inputs,
                                   sfu_chain_program, stein_chain_inputs, stein_chain_program, vector_chain_program,
                                   view_chain_inputs, view_chain_program)
from pinta.sim.isa import Fmt
from pinta.sim.programs import ProgramBuilder, diffquant_first_layer_program, gemm_program

UNITS = ("CTRL", "DMA", "MAC", "QNT", "VEC")

HERE = Path(__file__).parent


def _simulate(cfg, pb: ProgramBuilder):
    """The simulator's run: analysis, fault stop (None: none), DRAM regions to read back and
    their expected words. A run that faults (``Machine.run(faults="stop")``) stops as the RTL
    does; only the STOREs it executed are compared."""
    m = Machine(cfg, check_layout=True)
    for addr, image in pb.input_images().items():
        m.dram_write(addr, image)
    res = m.run(pb.program, faults="stop")
    an = res.analysis
    stored = {addr for addr, _ in m.stores}
    expect = {}
    read = {}
    fp32 = set()
    for name, (addr, t) in pb.outputs.items():
        if addr not in stored:
            continue
        if t.fmt == Fmt.fp32:
            fp32.add(name)
        n = t.descriptor(cfg).words
        read[name] = (addr // 8, n)
        expect[name] = [int(w) for w in np.frombuffer(m.dram_read(addr, n * 8), dtype="<u8")]
    return an, res.stop, read, expect, fp32


def make_case(cfg, pb: ProgramBuilder):
    an, stop, read, expect, fp32 = _simulate(cfg, pb)
    dram = {str(addr // 8): [int(w) for w in image] for addr, image in pb.input_images().items()}
    case = {"program": [f"{encode(i):032x}" for i in pb.program], "dram": dram, "read": read}
    return case, {"analysis": an, "stop": stop, "stores": expect, "n": len(pb.program), "fp32": fp32}


def _is_nan32(h: int) -> bool:
    return (h >> 23) & 0xFF == 0xFF and h & 0x7FFFFF != 0


def same_word(rtl: int, sim: int, fp32: bool) -> bool:
    """Word equality, except that in an fp32 image a lane where the simulator holds any NaN
    may hold the canonical NaN in the RTL: the RTL's NaN results are always canonical
    (hw/fp32/arith.py), NumPy's bare primitives give the x86 sign bit or an operand's
    payload, and those patterns are not part of the contract (docs/vector-numerics.md §1).
    The composite functions return the canonical NaN, so their lanes compare exactly anyway."""
    if rtl == sim:
        return True
    if not fp32:
        return False
    for k in (0, 32):
        r, s = (rtl >> k) & 0xFFFFFFFF, (sim >> k) & 0xFFFFFFFF
        if r != s and not (r == CANONICAL_NAN and _is_nan32(s)):
            return False
    return True


def noncanonical_nan_lanes(want) -> int:
    """fp32 lanes the simulator stored as a NaN other than the canonical one (compared as "is NaN")."""
    return sum(_is_nan32(h) and h != CANONICAL_NAN
               for region, words in want["stores"].items() if region in want["fp32"]
               for w in words for h in (w & 0xFFFFFFFF, w >> 32))


def compare(name, got, want) -> list[str]:
    """Every STOREd word, cycles, busy and stall per unit, issue count, zero out-of-model
    events; for a run the simulator stops at a fault (``want["stop"]``), the error code and
    index the RTL reports and the counters of the stopped run (sim/program.py fault_stop)."""
    bad = []
    an = want["analysis"]
    stop = want.get("stop")
    if stop is not None:
        code = ErrorCode[stop.code].value
        if got["error"] != code or got["error_pc"] != stop.index:
            bad.append(f"{name}: error {got['error']} at {got['error_pc']}, expected {code} ({stop.code}) "
                       f"at {stop.index}")
        if got["status"] & 1 or not got["status"] & 2:
            bad.append(f"{name}: status 0x{got['status']:x}: not stopped")
    elif got["error"]:
        return [f"{name}: RTL stopped with error {got['error']} at instruction {got['error_pc']}"]
    counts = stop if stop is not None else an
    for region, words in want["stores"].items():
        rtl = [int(w) for w in got["regions"][region]]
        fp32 = region in want["fp32"]
        if len(rtl) != len(words) or not all(same_word(a, b, fp32) for a, b in zip(rtl, words)):
            diff = [j for j, (a, b) in enumerate(zip(rtl, words)) if not same_word(a, b, fp32)]
            bad.append(f"{name}: store {region!r}: {len(diff)} of {len(words)} words differ, first at word {diff[0]}: "
                       f"rtl 0x{rtl[diff[0]]:016x} sim 0x{words[diff[0]]:016x}")
    if got["cycles"] != counts.total_cycles:
        bad.append(f"{name}: cycles rtl {got['cycles']} sim {counts.total_cycles}")
    for u in ("CTRL", "DMA", "MAC", "QNT", "VEC"):
        for kind in ("busy", "stall"):
            if got[kind][u] != getattr(counts, kind)[u]:
                bad.append(f"{name}: {kind}[{u}] rtl {got[kind][u]} sim {getattr(counts, kind)[u]}")
    n_issued = stop.issued if stop is not None else want["n"]
    if got["issued"] != n_issued:
        bad.append(f"{name}: issued {got['issued']}, sim {n_issued} of {want['n']}")
    if got["sb_full"] or got["mac_late"] or got["late_writes"]:
        bad.append(f"{name}: outside the model: scoreboard-full cycles {got['sb_full']}, MAC refusals {got['mac_late']}, "
                   f"late buffer writes {got['late_writes']}")
    return bad


def gemm_accf_program(cfg, x, w, bits: int = 8) -> ProgramBuilder:
    """Q(x)·Q(w) stored as the accumulator and as FP32 (ACCF: one rounding)."""
    from pinta.sim.isa import Buffer, MacMode

    pb = ProgramBuilder(cfg)
    tx = pb.load_fp32(Buffer.activations, x)
    tw = pb.load_fp32(Buffer.optimizer, w)
    qx = pb.quant(tx, bits, buf=Buffer.activations)
    qw = pb.quant(tw, bits, buf=Buffer.weights)
    acc = pb.gemm(qx, qw, MacMode.for_widths(bits, bits), buf=Buffer.gradients)
    f = pb.accf(acc, buf=Buffer.optimizer)
    pb.emit("BARRIER")
    pb.store("acc", acc)
    pb.store("f", f)
    return pb


def quant_chain_program(cfg, x) -> ProgramBuilder:
    """One fp32 source quantized to every width back to back (each QUANT issues the cycle
    the previous one's occupancy ends), then requantized from an accumulator."""
    from pinta.sim.isa import Buffer

    pb = ProgramBuilder(cfg)
    tx = pb.load_fp32(Buffer.activations, x)
    outs = {f"q{b}": pb.quant(tx, b, buf=Buffer.weights) for b in (12, 4, 8)}
    pb.emit("BARRIER")
    for name, t in outs.items():
        pb.store(name, t)
    return pb


def vector_cases(cfg):
    from pinta.hw.top_programs import vector_chain_inputs

    return {"vec_chain": make_case(cfg, vector_chain_program(cfg, *vector_chain_inputs()))}


def divsqrt_cases(cfg, large: bool = False):
    """VDIV and VSQRT among other VEC instructions on 7×5 elements (default suite); ``large``
    adds 16×13."""
    cases = {"divsqrt_chain": make_case(cfg, divsqrt_chain_program(cfg, *divsqrt_chain_inputs()))}
    if large:
        cases["divsqrt_chain_16x13"] = make_case(
            cfg, divsqrt_chain_program(cfg, *divsqrt_chain_inputs(seed=14, rows=16, cols=13)))
    return cases


def stein_cases(cfg):
    """STEIN back to back with VADD, VMUL, VTANH, chained (RAW) and over a range in use (WAR)."""
    return {"stein_chain": make_case(cfg, stein_chain_program(cfg, *stein_chain_inputs()))}


def reduce_cases(cfg):
    """VSUM (both axes) and VRED (view v0) on the reduction engine, mixed with element-wise
    VEC instructions; values that make the summation order matter (``reduce_chain``). VRED
    through identity views v1..v7 (``vred_views``), and through a permuting view, which
    stops with error 2 (``vred_perm_unimplemented``)."""
    from pinta.hw.top_programs import vred_view_program
    from pinta.sim.isa import Buffer

    x7, y, *_ = reduce_chain_inputs()
    x = np.concatenate([x7.reshape(-1), y.reshape(-1)[:13]]).reshape(6, 8)  # the order-sensitive values, 48 of them
    cases = {"reduce_chain": make_case(cfg, reduce_chain_program(cfg, *reduce_chain_inputs())),
             "vred_views": make_case(cfg, vred_view_program(cfg, x, y))}
    # VRED through a permuting view (the compiler's permuted copies) needs a gathered source: error 2
    pb = ProgramBuilder(cfg)
    tx = pb.load_fp32(Buffer.activations, x)
    out = pb.tensor(Buffer.gradients, Fmt.fp32, 8, 6)
    v = pb.view((6, 8), (1, 0))
    pb.use(out, tx)
    pb.emit("VRED", dst=out.reg, a=tx.reg, view=v, axis=2, span=0)
    cases["vred_perm_unimplemented"] = _unimplemented_case(cfg, pb)
    return cases


def deq_cases(cfg):
    """DEQ of smx4/8/12 at both ends of FP32's exact range (0 mismatches, no error), and the same
    program with one smx12 value past FP32's range: the run stops with DEQ_INEXACT.

    ``deq_fault_after_illegal``: that program with an unknown opcode in place of the first
    instruction behind the faulting DEQ that issues before the fault. The illegal word stops
    issue first (error 1 recorded), then the DEQ in flight faults: the status must report
    DEQ_INEXACT at the DEQ (the earlier instruction), with the counters of the prefix before
    the illegal word (expectation as in :func:`illegal_cases`, plus the reported index)."""
    from pinta.sim.program import analyze

    cases = {"deq_exact": make_case(cfg, deq_program(cfg, *deq_inputs(cfg))),
             "deq_fault": make_case(cfg, deq_program(cfg, *deq_inputs(cfg, fault=True)))}
    case, want = cases["deq_fault"]
    stop = want["stop"]
    k = stop.issued - 1               # the last instruction issued before the fault ...
    assert k > stop.index             # ... is behind the faulting DEQ
    prog = list(case["program"])
    prog[k] = f"{0xFF << 120:032x}"   # unknown opcode
    prefix = analyze(want["analysis"].program[:k], cfg)
    assert prefix.schedule[stop.index].done == stop.cycle
    cases["deq_fault_after_illegal"] = ({**case, "program": prog, "read": {}},
                                        {"code": ErrorCode.DEQ_INEXACT.value, "k": k, "pc": stop.index,
                                         "prefix": prefix})
    return cases


def accf_cases(cfg):
    """ACCF at the top of FP32's range (the largest value exactly, and a value just below the
    rounding tie to 2**128, both signs: no error), and the same program with the tie itself,
    which rounds past FP32's range: the run stops with ACCF_OVERFLOW at the ACCF."""
    return {"accf_top": make_case(cfg, accf_program(cfg, *accf_inputs(cfg))),
            "accf_overflow": make_case(cfg, accf_program(cfg, *accf_inputs(cfg, overflow=True)))}


def broadcast_cases(cfg):
    """VADDB/VSUBB/VMULB where passes never span a row of a (a.cols a multiple of L), and
    ``broadcast_unaligned``: a VADDB whose passes would span rows (a 6×5, a bias row) after
    its LOADs, which this RTL refuses with error 2 (expectation as in
    :func:`illegal_cases`: code, index, the valid prefix's analysis)."""
    from pinta.sim.isa import Buffer

    a, c, bs = broadcast_inputs()
    cases = {"broadcast": make_case(cfg, broadcast_program(cfg, a, c, bs))}
    pb = ProgramBuilder(cfg)
    x = pb.load_fp32(Buffer.activations, a[:6, :5])
    bias = pb.load_fp32(Buffer.optimizer, bs["bias"][:, :5])
    out = pb.tensor(Buffer.gradients, x.fmt, 6, 5)
    pb.use(out, x, bias)
    pb.emit("VADDB", dst=out.reg, a=x.reg, b=bias.reg)
    cases["broadcast_unaligned"] = _unimplemented_case(cfg, pb)
    return cases


def adam_cases(cfg, large: bool = False):
    """ADAM on a 7×5 tensor (step 3 of 10, beta powers from three golden steps, edge lanes) and
    on a single row of 9 (step 0), back to back with VADD and VSIN (the write ports ADAM
    shares), then a second step on the first tensor; ``large`` adds 16×13 and 1×37."""
    cases = {"adam_chain": make_case(cfg, adam_chain_program(cfg, *adam_chain_inputs()))}
    if large:
        cases["adam_chain_16x13"] = make_case(
            cfg, adam_chain_program(cfg, *adam_chain_inputs(seed=18, shape_a=(16, 13), shape_b=(1, 37))))
    return cases


def vec_write_overlap(an) -> dict[tuple[str, ...], int]:
    """Cycles in which several VEC write ports write, from the simulator's schedule:
    {ports: count} (ports among "arith", "tanh", "sincos", "divsqrt", "rng"). A pass of an
    element-wise instruction is written in done − occupancy .. done − 1 (hw/top_vec.py)."""
    port = {"VTANH": "tanh", "VSIN": "sincos", "VCOS": "sincos", "VDIV": "divsqrt", "VSQRT": "divsqrt", "RNG": "rng"}
    busy: dict[int, set] = {}
    for e in an.schedule:
        if e.unit.name != "VEC":
            continue
        for c in range(e.done - e.occupancy, e.done):
            busy.setdefault(c, set()).add(port.get(e.mnemonic, "arith"))
    out: dict[tuple[str, ...], int] = {}
    for ports in busy.values():
        if len(ports) > 1:
            key = tuple(sorted(ports))
            out[key] = out.get(key, 0) + 1
    return out


def rng_cases(cfg):
    """RNG (hw/top_rng.py) of several shapes, seeds, streams, counters and scales, back to back and
    mixed with other VEC instructions (RAW, WAR, WAW on RNG results)."""
    return {"rng_chain": make_case(cfg, rng_chain_program(cfg, rng_chain_inputs()))}


def sfu_cases(cfg, large: bool = False):
    """The special-function chain on 7×5 elements (default suite); ``large`` adds 16×13."""
    cases = {"sfu_chain": make_case(cfg, sfu_chain_program(cfg, *sfu_chain_inputs()))}
    if large:
        cases["sfu_chain_16x13"] = make_case(cfg, sfu_chain_program(cfg, *sfu_chain_inputs(seed=12, rows=16, cols=13)))
    return cases


def gemm_cases(cfg):
    rng = np.random.default_rng(6)

    def mat(r, c, scale=1.0):
        return (rng.standard_normal((r, c)) * scale).astype(np.float32)

    cases = {
        "gemm_i8_8x4x8": make_case(cfg, gemm_program(cfg, mat(8, 4), mat(4, 8))),
        "gemm_i8_pad_5x3x6": make_case(cfg, gemm_program(cfg, mat(5, 3, 100.0), mat(3, 6, 1e-3))),
        "gemm_i12x8_out12": make_case(cfg, gemm_program(cfg, mat(4, 4), mat(4, 12), bits_x=12, out_bits=12)),
        "gemm_i4_out4": make_case(cfg, gemm_program(cfg, mat(12, 4), mat(4, 4), bits_x=4, bits_w=4, out_bits=4)),
        "gemm_tb_i8x12": make_case(cfg, gemm_program(cfg, mat(6, 4), mat(7, 4), bits_w=12, transpose_w=True)),
        # ACCF: rows 4..6 tiny, so those outputs are FP32 subnormals; 7×7 = 49 elements (odd tail)
        "gemm_accf_mixed": make_case(cfg, gemm_accf_program(
            cfg, mat(7, 4) * np.array([1, 1, 1, 1, 3e-21, 1e-20, 2e-20], np.float32)[:, None], mat(4, 7, 1e-20))),
        "quant_chain_12_4_8": make_case(cfg, quant_chain_program(cfg, mat(9, 10, 30.0))),
        # DiffQuant first layer: DIFFQ (separate exponents for x and δ), W quantized once, two GEMMs
        "diffq_first_layer": make_case(cfg, diffquant_first_layer_program(cfg, mat(8, 4), mat(8, 4, 1e-3), mat(4, 8))),
        # Kb > 1: the GEMM's exponent pre-pass (Kb - 1 cycles, sim/timing.py gemm_prepass_cycles)
        "gemm_kb3_i8": make_case(cfg, gemm_program(cfg, mat(8, 12), mat(12, 8))),
        "gemm_kb2_i4_tb": make_case(cfg, gemm_program(cfg, mat(4, 8), mat(9, 8), bits_x=4, bits_w=4, transpose_w=True)),
        # several output tiles on any PE grid: a reduction shorter than a tile's drain on
        # default (paced tiles, sim/timing.py gemm_tile_cycles) and one longer than it
        "gemm_tiles_short_k": make_case(cfg, gemm_program(cfg, mat(40, 8), mat(8, 36))),
        "gemm_tiles_long_k": make_case(cfg, gemm_program(cfg, mat(20, 24), mat(24, 36), bits_x=12, out_bits=12)),
    }
    return cases


def illegal_cases(cfg):
    """Runs (in order) of the GEMM program with its GEMM word replaced by a bad one, then a
    valid program on the same machine. Returns (cases, expectations): for a bad run
    {"code", "k", "prefix"} (error code, index, the valid prefix's simulator analysis),
    for the final good run the usual expectation."""
    rng = np.random.default_rng(1)
    pb = gemm_program(cfg, rng.standard_normal((4, 4)).astype(np.float32),
                      rng.standard_normal((4, 4)).astype(np.float32))
    prog = pb.program
    k = next(i for i, ins in enumerate(prog) if ins.mnemonic == "GEMM")  # stop right before the GEMM
    good = [f"{encode(i):032x}" for i in prog]
    gemm = encode(prog[k])
    words = {
        "unknown_opcode": (0xFF << 120, 1),
        "unit_mismatch": ((gemm & ~(0x7 << 117)) | (3 << 117), 1),
        "reserved_bits": (gemm | (1 << 100), 1),
        "bad_fmt": (encode(Instr.make("TDESC", t=0, buf=0, fmt=0, addr=0, rows=1, cols=1)) | (5 << 7), 1),
        "view_v0": (encode(Instr.make("VIEW", v=1, d0=1, d1=1, d2=1, d3=1, perm=0b11100100)) & ~0x7, 1),
        # decodes fine, but this RTL version runs VRED only through v0 (no view registers yet)
        "unimplemented_vred_view": (encode(Instr.make("VRED", dst=0, a=0, view=1, axis=0, span=0)), 2),
        # decodes fine (six descriptor fields, d5 = d), but the top does not execute STEINE yet
        "unimplemented_steine": (encode(Instr.make("STEINE", grad=0, lap=1, val=2, up=3, um=4, d=5,
                                                   sigma=0x3C23D70A)), 2),
    }
    dram = {str(a // 8): [int(w) for w in layout.pack_fp32(x)] for a, x in pb.inputs.items()}
    m = Machine(cfg)
    for a, x in pb.inputs.items():
        m.put_fp32(a, x)
    prefix = m.run(prog[:k]).analysis
    cases, want = {}, {}
    for name, (w, code) in words.items():
        cases[name] = {"program": good[:k] + [f"{w:032x}"] + good[k + 1:], "dram": dram, "read": {}}
        want[name] = {"code": code, "k": k, "prefix": prefix}
    rng = np.random.default_rng(3)
    case, expect = make_case(cfg, gemm_program(cfg, rng.standard_normal((8, 4)).astype(np.float32),
                                               rng.standard_normal((4, 4)).astype(np.float32)))
    case["host_dram"] = True  # the run that also loads its data through the host port
    cases["valid_after_errors"] = case
    want["valid_after_errors"] = expect
    return cases, want


def check_illegal(name, got, want) -> list[str]:
    if "code" not in want:
        return compare(name, got, want)
    bad = []
    code, k, prefix = want["code"], want["k"], want["prefix"]
    pc = want.get("pc", k)  # the reported index, if not the first word not issued
    if got["error"] != code or got["error_pc"] != pc:
        bad.append(f"{name}: error {got['error']} at {got['error_pc']}, expected {code} at {pc}")
    if got["status"] & 1 or not got["status"] & 2:
        bad.append(f"{name}: status 0x{got['status']:x}: not stopped")
    # clean stop: exactly the valid prefix issued and drained
    if got["issued"] != k or got["cycles"] != prefix.total_cycles:
        bad.append(f"{name}: issued {got['issued']}, cycles {got['cycles']}; the valid prefix has {k} "
                   f"instructions and {prefix.total_cycles} cycles")
    for u in UNITS:
        if got["busy"][u] != prefix.busy[u]:
            bad.append(f"{name}: busy[{u}] {got['busy'][u]} != prefix {prefix.busy[u]}")
    return bad


# ---------------------------------------------------------------------------
# Amaranth-simulator driver (same host protocol as tests/hw/cocotb_top.py)
# ---------------------------------------------------------------------------

def run_pysim(cfg, cases: dict, *, preload_dram: bool = False, max_cycles: int = 20000) -> dict:
    """Run ``cases`` in order on one :class:`PintaSystem` in Amaranth's simulator.

    With ``preload_dram`` the DRAM images are placed directly in the DRAM model
    (faster), except for cases marked ``host_dram``; otherwise through the host
    port, like the cocotb bench.
    """
    from amaranth.sim import Simulator

    from pinta.hw.top import HOST_DRAM_BASE, HOST_PMEM_BASE, HOST_REGS, PintaSystem

    n_words = max(len(c["program"]) for c in cases.values())
    dut = PintaSystem(cfg, dram_words=2048, pmem_depth=max(32, 1 << (n_words - 1).bit_length()))
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    results = {}

    async def bench(ctx):
        async def write(a, v):
            ctx.set(dut.host_addr, a)
            ctx.set(dut.host_wdata, v & ((1 << 64) - 1))
            ctx.set(dut.host_we, 1)
            await ctx.tick()
            ctx.set(dut.host_we, 0)

        async def read(a):
            ctx.set(dut.host_addr, a)
            ctx.set(dut.host_re, 1)
            await ctx.tick()
            ctx.set(dut.host_re, 0)
            return ctx.get(dut.host_rdata)

        for name, case in cases.items():
            words = [int(w, 16) for w in case["program"]]
            for i, w in enumerate(words):
                await write(HOST_PMEM_BASE + 2 * i, w & ((1 << 64) - 1))
                await write(HOST_PMEM_BASE + 2 * i + 1, w >> 64)
            for base, image in case["dram"].items():
                for j, w in enumerate(image):
                    if preload_dram and not case.get("host_dram"):
                        ctx.set(dut.dram_mem.data[int(base) + j], int(w))
                    else:
                        await write(HOST_DRAM_BASE + int(base) + j, int(w))
            await write(HOST_REGS["prog_len"], len(words))
            await write(HOST_REGS["control"], 1)
            status = 0
            for _ in range(max_cycles // 8):
                await ctx.tick().repeat(8)
                status = await read(HOST_REGS["control"])
                if status & 2:
                    break
            else:
                raise AssertionError(f"{name}: not done within {max_cycles} cycles (status 0x{status:x})")
            out = {"status": status, "error": (status >> 4) & 0xF, "error_pc": (status >> 32) & 0xFFFF,
                   "cycles": await read(HOST_REGS["cycles"]), "issued": await read(HOST_REGS["issued"]),
                   "sb_full": await read(HOST_REGS["sb_full"]), "mac_late": await read(HOST_REGS["mac_late"]),
                   "late_writes": await read(HOST_REGS["late_writes"]),
                   "busy": {}, "stall": {}, "regions": {}}
            for k, u in enumerate(UNITS):
                out["busy"][u] = await read(HOST_REGS["busy"] + k)
                out["stall"][u] = await read(HOST_REGS["stall"] + k)
            for region, (base, n) in case["read"].items():
                out["regions"][region] = [str(await read(HOST_DRAM_BASE + base + j)) for j in range(n)]
            results[name] = out

    sim.add_testbench(bench)
    sim.run()
    return results


def run_cocotb(model, bench_dir, tmp_path, cases: dict) -> dict:
    cases_path = Path(tmp_path) / "cases.json"
    results_path = Path(tmp_path) / "results.json"
    cases_path.write_text(json.dumps(cases))
    tests, failed, xml = model.run("cocotb_top", bench_dir, env={"PINTA_TOP_CASES": str(cases_path),
                                                                 "PINTA_TOP_RESULTS": str(results_path)})
    assert tests == 1 and failed == 0, f"cocotb bench failed; see {xml}"
    return json.loads(results_path.read_text())


def report(cases_want: dict, results: dict) -> str:
    lines = []
    for name, want in cases_want.items():
        g = results[name]
        if want.get("stop") is not None:
            sim_total = want["stop"].total_cycles
        else:
            sim_total = want["analysis"].total_cycles if "analysis" in want else want["prefix"].total_cycles
        lines.append(f"  {name:20s} cycles rtl {g['cycles']:5d} sim {sim_total:5d}  busy {g['busy']}  stall {g['stall']}")
    return "\n".join(lines)


def _unimplemented_case(cfg, pb: ProgramBuilder):
    """A program whose last instruction this RTL refuses with error 2: the case and its
    expectation (code, index, the valid prefix's analysis), as in :func:`illegal_cases`."""
    k = len(pb.program) - 1
    m = Machine(cfg)
    for addr, image in pb.input_images().items():
        m.dram_write(addr, image)
    prefix = m.run(pb.program[:k]).analysis
    case = {"program": [f"{encode(i):032x}" for i in pb.program], "read": {},
            "dram": {str(addr // 8): [int(w) for w in image] for addr, image in pb.input_images().items()}}
    return case, {"code": ErrorCode.UNIMPLEMENTED.value, "k": k, "prefix": prefix}


def quantr_cases(cfg):
    """QUANTR with the identity view from fp32 and accumulator sources (``quantr_tiles``)."""
    return {"quantr_tiles": make_case(cfg, quantr_program(cfg, quantr_inputs()))}


def view_cases(cfg):
    """QUANT and QUANTR through views from fp32 sources (``view_chain``), and the two kinds
    of view this RTL refuses with error 2: the TT forward's second QUANT, which reads an
    accumulator through (t, M2, N1, r) → (0, 2, 3, 1) (``view_acc_unimplemented``), and an
    fp32 view whose block rows and columns are not 4-word windows, (2, 2, 4, 2) →
    (2, 0, 1, 3) (``view_unwindowed_unimplemented``). The pair windows, among them the TT
    chain's (4, 2, 2, 2) → (0, 2, 1, 3): ``view_pairs``."""
    from pinta.sim.isa import Buffer, Fmt, MacMode

    inp = view_chain_inputs()
    cases = {"view_chain": make_case(cfg, view_chain_program(cfg, inp))}
    pb = ProgramBuilder(cfg)
    qx = pb.quant(pb.load_fp32(Buffer.activations, inp["x"][:, :8]), 8, buf=Buffer.weights)   # 8×8
    qw = pb.quant(pb.load_fp32(Buffer.optimizer, inp["d"][:, :8].T.copy()), 8, buf=Buffer.weights)  # 8×4
    tacc = pb.gemm(qx, qw, MacMode.i8x8)                                                      # 8×4 = (t, M2·N1·r)
    pb.quant(tacc, 8, 16, 2, view=pb.view((2, 4, 2, 2), (0, 2, 3, 1)))
    cases["view_acc_unimplemented"] = _unimplemented_case(cfg, pb)
    from pinta.hw.top_programs import view_pairs_inputs, view_pairs_program
    cases["view_pairs"] = make_case(cfg, view_pairs_program(cfg, view_pairs_inputs()))
    from pinta.hw.top_programs import acc_view_inputs, acc_view_program
    cases["view_acc_dtq"] = make_case(cfg, acc_view_program(cfg, acc_view_inputs()))
    pb = ProgramBuilder(cfg)
    f = pb.load_fp32(Buffer.activations, inp["x"][:2, :16].reshape(8, 4))
    out = pb.tensor(Buffer.weights, Fmt.smx12, 8, 4)
    v = pb.view((2, 2, 4, 2), (2, 0, 1, 3))  # pairs on both sides, S1 + S2 > 6: no 4-word windows
    pb.use(out, f)
    pb.emit("QUANTR", dst=out.reg, src=f.reg, view=v, row=0)
    cases["view_unwindowed_unimplemented"] = _unimplemented_case(cfg, pb)
    return cases
