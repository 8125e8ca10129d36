"""The instructions added for the training compiler (VADDB/VSUBB/VMULB, VSCALE, VRED) equal their golden rules,
and validation refuses their malformed uses with a message naming the problem."""

import numpy as np
import pytest

from pinta.golden import reduce, smx
from pinta.sim.isa import Buffer, Fmt, Instr, MacMode, assemble, decode, disassemble, encode
from pinta.sim.machine import Machine
from pinta.sim.program import ProgramError, analyze
from pinta.sim.programs import ProgramBuilder

from .test_exec import CFG, data, run, same_fp32


@pytest.mark.parametrize("mnemonic, ufunc", [("VADDB", np.add), ("VSUBB", np.subtract), ("VMULB", np.multiply)])
@pytest.mark.parametrize("b_shape", [(1, 6), (3, 6), (12, 6), (4, 1), (1, 1)])
def test_broadcast_ops_repeat_rows_of_b(mnemonic, ufunc, b_shape):
    a, b = data((12, 6), 1, 3.0), data(b_shape, 2, 3.0)
    pb = ProgramBuilder(CFG)
    ta, tb = pb.load_fp32(Buffer.optimizer, a), pb.load_fp32(Buffer.optimizer, b)
    out = pb.tensor(Buffer.optimizer, Fmt.fp32, 12, 6)
    pb.emit(mnemonic, dst=out.reg, a=ta.reg, b=tb.reg)
    _, res, get = run(pb)
    # Row r of a meets row r // g of b, g = 12 / b.rows; a 1-column b covers every column.
    want = ufunc(a, np.repeat(b, 12 // b_shape[0], axis=0))
    assert same_fp32(get(out), want)
    assert res.analysis.actions[{"VADDB": "vec_add", "VSUBB": "vec_sub", "VMULB": "vec_mul"}[mnemonic]] == 72


def test_vscale_is_one_fp32_multiply():
    a = data((5, 7), 3, 1e-30)  # tiny values: x*0.5 may round (subnormal results); the multiply is the rule
    pb = ProgramBuilder(CFG)
    ta = pb.load_fp32(Buffer.optimizer, a)
    out = pb.tensor(Buffer.optimizer, Fmt.fp32, 5, 7)
    scale = int(np.array([0.3], np.float32).view(np.uint32)[0])
    pb.emit("VSCALE", dst=out.reg, a=ta.reg, scale=scale)
    _, _, get = run(pb)
    assert same_fp32(get(out), a * np.float32(0.3))


@pytest.mark.parametrize("dims, perm, axis, span", [
    ((2, 3, 4, 5), (1, 0, 2, 3), 1, 1),   # the compiler's per-point sum over both SE halves
    ((2, 3, 4, 5), (0, 1, 2, 3), 0, 0),
    ((6, 20, 1, 1), (0, 1, 2, 3), 1, 0),
    ((2, 3, 4, 5), (3, 2, 1, 0), 2, 1),
])
def test_vred_equals_tree_sum_of_the_permuted_view(dims, perm, axis, span):
    a = data((24, 5), 4, 100.0)
    pb = ProgramBuilder(CFG)
    ta = pb.load_fp32(Buffer.optimizer, a)
    p = a.reshape(dims).transpose(perm)
    merged = p.reshape(p.shape[:axis] + (-1,) + p.shape[axis + span + 1:])
    want = reduce.tree_sum(merged, axis=axis)
    v = pb.view(dims, perm)
    out = pb.tensor(Buffer.optimizer, Fmt.fp32, 1, want.size)
    pb.emit("VRED", dst=out.reg, a=ta.reg, view=v, axis=axis, span=span)
    _, _, get = run(pb)
    assert same_fp32(get(out).reshape(-1), want.reshape(-1))


def _prog(text):
    return assemble(text)


@pytest.mark.parametrize("body, words", [
    ("VADDB t2, t0, t1", "divisor"),                      # b 5 rows does not divide a's 12
    ("VRED t2, t0, v1, axis=3, span=1", "past axis"),
    ("VRED t3, t0, v1, axis=1, span=1", "reduction leaves"),
])
def test_validation_names_broadcast_and_reduction_problems(body, words):
    head = ("TDESC t0, buf=optimizer, fmt=fp32, addr=0x0, rows=12, cols=6\n"
            "TDESC t1, buf=optimizer, fmt=fp32, addr=0x40, rows=5, cols=6\n"
            "TDESC t2, buf=optimizer, fmt=fp32, addr=0x80, rows=12, cols=6\n"
            "TDESC t3, buf=optimizer, fmt=fp32, addr=0xc0, rows=1, cols=5\n"
            "LOAD t0, dram=0x0\nLOAD t1, dram=0x200\n"
            "VIEW v1, d0=2, d1=6, d2=6, d3=1, perm=1023\n")
    with pytest.raises(ProgramError) as e:
        analyze(_prog(head + body), CFG)
    assert words in str(e.value) and "instruction 7" in str(e.value)


def test_new_instructions_round_trip_text_and_binary():
    text = ("VADDB t1, t2, t3\nVSUBB t1, t2, t3\nVMULB t4, t5, t6\nVSCALE t1, t2, scale=0.5\n"
            "VRED t1, t2, v3, axis=1, span=2\n")
    prog = assemble(text)
    assert disassemble(prog) == text
    assert [decode(encode(i)) for i in prog] == prog
    assert isinstance(prog[0], Instr)


@pytest.mark.parametrize("bits, rows, cols, tile", [(8, 26, 10, 8), (12, 20, 6, 4), (4, 16, 12, 12), (8, 33, 9, 12)])
def test_quantr_tiles_build_the_same_words_as_one_quant(bits, rows, cols, tile):
    """Row tiles quantized into a larger SMX tensor give exactly the whole tensor's QUANT (codes and exponents)."""
    x = data((rows, cols), 7, 10.0) * np.exp2(np.arange(rows) % 9 - 4).astype(np.float32)[:, None]
    pb = ProgramBuilder(CFG)
    tx = pb.load_fp32(Buffer.activations, x)
    whole = pb.quant(tx, bits, buf=Buffer.weights)
    tiled = pb.tensor(Buffer.weights, Fmt[f"smx{bits}"], rows, cols)
    for r0 in range(0, rows, tile):
        part = pb.describe(Buffer.activations, Fmt.fp32, tx.addr + r0 * cols // 2, min(tile, rows - r0), cols) \
            if (r0 * cols) % 2 == 0 else None
        if part is None:  # an odd element offset has no descriptor: stage the tile separately
            part = pb.load_fp32(Buffer.gradients, x[r0:r0 + tile])
        pb.use(tiled, part)
        pb.emit("QUANTR", dst=tiled.reg, src=part.reg, view=0, row=r0)
    m, res, get = run(pb)
    assert get(tiled) == get(whole) == smx.smx_quantize(x, bits, cfg=CFG)
    w, t = whole.descriptor(CFG), tiled.descriptor(CFG)
    assert np.array_equal(m.buffers[w.buf][w.addr:w.end], m.buffers[t.buf][t.addr:t.end])
    assert res.analysis.actions["quantizer_blocks"] == 2 * (-(-rows // 4)) * (-(-cols // 4))


def test_quantr_through_a_view_and_its_validation():
    x = data((8, 12), 8)  # two tiles of 4 rows; each read as (4, 3, 4) -> (3, 4, 4), i.e. 12 rows of 4
    pb = ProgramBuilder(CFG)
    tx = pb.load_fp32(Buffer.activations, x)
    dst = pb.tensor(Buffer.weights, Fmt.smx8, 24, 4)
    for k in range(2):
        part = pb.describe(Buffer.activations, Fmt.fp32, tx.addr + k * 24, 4, 12)
        v = pb.view((4, 3, 4, 1), (1, 0, 2, 3))
        pb.use(dst, part)
        pb.emit("QUANTR", dst=dst.reg, src=part.reg, view=v, row=12 * k)
    _, _, get = run(pb)
    want = np.concatenate([x[4 * k:4 * k + 4].reshape(4, 3, 4).transpose(1, 0, 2).reshape(12, 4) for k in range(2)])
    assert get(dst) == smx.smx_quantize(want, 8, cfg=CFG)
    # Reading a tensor whose later rows no QUANTR wrote is refused.
    pb2 = ProgramBuilder(CFG)
    tx2 = pb2.load_fp32(Buffer.activations, x)
    d2 = pb2.tensor(Buffer.weights, Fmt.smx8, 16, 12)
    pb2.use(d2, tx2)
    pb2.emit("QUANTR", dst=d2.reg, src=tx2.reg, view=0, row=0)
    pb2.gemm(d2, d2, MacMode.i8x8, tb=True)
    with pytest.raises(ProgramError, match="no earlier instruction wrote"):
        analyze(pb2.program, CFG)
    bad = _prog("TDESC t0, buf=activations, fmt=fp32, addr=0x0, rows=8, cols=12\nLOAD t0, dram=0x0\n"
                "TDESC t1, buf=weights, fmt=smx8, addr=0x0, rows=16, cols=12\nQUANTR t1, t0, v0, row=2\n")
    with pytest.raises(ProgramError, match="block boundary"):
        analyze(bad, CFG)


def test_quantr_tiles_in_any_order_feed_a_gemm_as_eager_packing_does():
    """Row tiles written out of order, rewritten, or overlapping, then read by a GEMM: the fast
    machine (deferred packing; the tiles' stack as the shadow once they cover the rows) gives
    the words and results of the checking machine, which packs every tile at once and decodes
    every read."""
    rows, cols = 24, 8
    x = data((rows, cols), 11, 4.0)
    y = data((rows, cols), 12, 0.5)
    pb = ProgramBuilder(CFG)
    tx = pb.load_fp32(Buffer.activations, x)
    ty = pb.load_fp32(Buffer.activations, y)
    cases = [
        # the last tile completes the rows (rewriting rows 0..8): read through the stacked shadow
        ([(16, 8, tx), (0, 8, ty), (8, 8, tx), (0, 8, tx)], x),
        # a tile across two others: no single stack, the words decide
        ([(16, 8, tx), (0, 8, tx), (8, 8, ty), (8, 8, tx), (4, 8, ty)], np.concatenate([x[:4], y[4:12], x[12:]])),
    ]
    dsts = []
    for k, (tiles, _) in enumerate(cases):
        dst = pb.tensor(Buffer.weights, Fmt.smx8, rows, cols)
        for r0, n, src in tiles:
            part = pb.describe(Buffer.activations, Fmt.fp32, src.addr + r0 * cols // 2, n, cols)
            pb.use(dst, part)
            pb.emit("QUANTR", dst=dst.reg, src=part.reg, view=0, row=r0)
        pb.store(f"acc{k}", pb.gemm(dst, dst, MacMode.i8x8, tb=True))
        pb.store(f"dst{k}", dst)
        dsts.append(dst)
    machines = []
    for check in (True, False):
        m = Machine(CFG, check_layout=check)
        for addr, v in pb.inputs.items():
            m.put_fp32(addr, v)
        m.run(pb.program)
        machines.append(m)
    slow, fast = machines
    for dst, (_, want) in zip(dsts, cases):
        d = dst.descriptor(CFG)
        assert slow.read(d) == fast.read(d) == smx.smx_quantize(want, 8, cfg=CFG)
    for b in Buffer:
        assert np.array_equal(slow.buffers[b], fast.buffers[b])
    assert slow.dram_read(0, slow.dram_size) == fast.dram_read(0, fast.dram_size)


def test_stack_rows_equals_quantizing_the_stacked_values():
    x = data((22, 10), 13, 3.0)
    tiles = [smx.smx_quantize(x[r:r + 8], 12, cfg=CFG) for r in range(0, 22, 8)]
    assert smx.SMXTensor.stack_rows(tiles) == smx.smx_quantize(x, 12, cfg=CFG)
    with pytest.raises(ValueError, match="only the last tile"):
        smx.SMXTensor.stack_rows([tiles[2], tiles[0]])
    with pytest.raises(ValueError, match="columns"):
        smx.SMXTensor.stack_rows([tiles[0], smx.smx_quantize(x[:4, :4], 12, cfg=CFG)])
