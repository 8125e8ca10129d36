"""On-chip memory layout: how each tensor format sits in a 64-bit-word buffer.

Every buffer is an array of 64-bit words, addressed in words (address 0 is
the first word). A tensor descriptor names a buffer, a base word address, a
format and a logical shape (rows, cols); its image occupies
:func:`footprint_words` consecutive words from the base. The RTL's memories
hold exactly these bits. Bit 0 is the least significant bit of a word; a
field "at bit p" occupies bits [p + width - 1 : p].

Formats (R, C = logical shape; P, Q = R, C rounded up to multiples of the
block size 4; Rb = P/4, Cb = Q/4 block rows/cols; nb = Rb·Cb blocks):

* ``smxB`` (B = 4, 8, 12): a *code region* then an *exponent region*.
  - Code region: nb block records in block-row-major order (block (I, J) is
    record I·Cb + J). A record is the block's 16 codes, element (i, j) of the
    block at bit offset (4i + j)·B of the record, two's complement, B bits
    each; a record is 16·B bits = B/4 words (INT4: 1, INT8: 2, INT12: 3).
    INT12 codes 5 and 10 straddle word boundaries.
  - Exponent region: starts at base + nb·B/4; one slot per block in the same
    order, :func:`exponent_slot_bits` bits each (8 for exponent_bits <= 8,
    else 16), two's complement, 64/slot slots per word, slot k of a word at
    bit k·slot. Unused slots of the last word are zero.
  - Padding elements (beyond R, C) hold code 0.
* ``acc``: the GEMM accumulator tile. nb block records of 16 words, element
  (i, j) of the block in word 4i + j, each a 64-bit two's complement integer
  (the cfg.accumulator_bits-bit accumulator sign-extended); then one 32-bit
  signed exponent per block (E_ref − G), two per word, block order as above.
* ``fp32``: the R×C matrix row-major, unpadded; element k in word k // 2 at
  bit 32·(k % 2). An odd count leaves the top half of the last word zero.

DRAM images use the same layout byte for byte (little-endian words), so LOAD
and STORE are plain copies of ``footprint_words(...) * 8`` bytes.
"""

from __future__ import annotations

import numpy as np

from pinta.config import PintaConfig

from .isa import Fmt

__all__ = [
    "WORD_BITS", "WORD_BYTES", "exponent_slot_bits", "smx_code_words", "footprint_words", "buffer_words",
    "pack_fp32", "unpack_fp32", "pack_smx", "unpack_smx", "pack_acc", "unpack_acc",
]

WORD_BITS = 64
WORD_BYTES = 8
ACC_EXPONENT_SLOT_BITS = 32


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def exponent_slot_bits(cfg: PintaConfig) -> int:
    """Bits of one SMX exponent slot in a buffer (8 or 16)."""
    return 8 if cfg.exponent_bits <= 8 else 16


def _blocks(rows: int, cols: int, cfg: PintaConfig) -> tuple[int, int]:
    b = cfg.block_size
    return _ceil_div(rows, b), _ceil_div(cols, b)


def smx_code_words(rows: int, cols: int, bits: int, cfg: PintaConfig) -> int:
    """Words of the code region of a rows×cols SMX tensor of ``bits``-bit codes."""
    rb, cb = _blocks(rows, cols, cfg)
    return rb * cb * cfg.block_size ** 2 * bits // WORD_BITS


def smx_row_tile(rows: int, cols: int, bits: int, row: int, n_rows: int, cfg: PintaConfig) -> tuple[int, int, int, int]:
    """Where rows [row, row + n_rows) of a rows×cols SMX tensor live, relative to its base.

    Returns (first code word, end code word, first exponent byte, end exponent byte). ``row``
    is a multiple of the block size, so the tile is whole block rows: block-row-major order
    makes its code records one contiguous range, and its exponent slots (whole bytes) too.
    """
    bs = cfg.block_size
    _, cb = _blocks(rows, cols, cfg)
    wpb = bs * bs * bits // WORD_BITS
    b0, b1 = row // bs * cb, _ceil_div(row + n_rows, bs) * cb
    ncode = smx_code_words(rows, cols, bits, cfg)
    sb = exponent_slot_bits(cfg) // 8
    return b0 * wpb, b1 * wpb, ncode * 8 + b0 * sb, ncode * 8 + b1 * sb


def footprint_words(fmt: Fmt, rows: int, cols: int, cfg: PintaConfig) -> int:
    """Words a tensor of this format and logical shape occupies."""
    fmt = Fmt(fmt)
    rb, cb = _blocks(rows, cols, cfg)
    nb = rb * cb
    if fmt == Fmt.fp32:
        return _ceil_div(rows * cols, 2)
    if fmt == Fmt.acc:
        return nb * cfg.block_size ** 2 + _ceil_div(nb * ACC_EXPONENT_SLOT_BITS, WORD_BITS)
    bits = fmt.smx_bits
    return smx_code_words(rows, cols, bits, cfg) + _ceil_div(nb * exponent_slot_bits(cfg), WORD_BITS)


def buffer_words(kib: int) -> int:
    """Words in a buffer of ``kib`` KiB."""
    return kib * 1024 // WORD_BYTES


# -- helpers ----------------------------------------------------------------

def _to_block_major(a: np.ndarray, bs: int) -> np.ndarray:
    """(P, Q) -> (nb, bs*bs), block-row-major, elements row-major in a block."""
    p, q = a.shape
    return a.reshape(p // bs, bs, q // bs, bs).transpose(0, 2, 1, 3).reshape(-1, bs * bs)


def _from_block_major(blocks: np.ndarray, rb: int, cb: int, bs: int) -> np.ndarray:
    return blocks.reshape(rb, cb, bs, bs).transpose(0, 2, 1, 3).reshape(rb * bs, cb * bs)


def _pack_slots(values: np.ndarray, slot_bits: int) -> np.ndarray:
    """Signed integers into slot_bits-bit two's complement slots, packed into words."""
    dtype = {8: "<i1", 16: "<i2", 32: "<i4"}[slot_bits]
    per_word = WORD_BITS // slot_bits
    flat = np.zeros(_ceil_div(values.size, per_word) * per_word, dtype=dtype)
    flat[: values.size] = values.reshape(-1)
    return flat.view("<u8")


def _unpack_slots(words: np.ndarray, count: int, slot_bits: int) -> np.ndarray:
    dtype = {8: "<i1", 16: "<i2", 32: "<i4"}[slot_bits]
    return np.ascontiguousarray(words, dtype="<u8").view(dtype)[:count]


# -- fp32 -------------------------------------------------------------------

def pack_fp32(x: np.ndarray) -> np.ndarray:
    """A float32 matrix to its word image (uint64 array)."""
    flat = np.ascontiguousarray(x, dtype="<f4").reshape(-1)
    if flat.size % 2:
        flat = np.concatenate([flat, np.zeros(1, "<f4")])
    return flat.view("<u8")


def unpack_fp32(words: np.ndarray, rows: int, cols: int) -> np.ndarray:
    return np.ascontiguousarray(words, dtype="<u8").view("<f4")[: rows * cols].reshape(rows, cols).copy()


# -- smx --------------------------------------------------------------------

def _pack_codes(blocks: np.ndarray, bits: int) -> np.ndarray:
    """(nb, 16) signed codes -> (nb * bits/4,) words, code k at bit k*bits of its record."""
    nb = blocks.shape[0]
    if bits == 8:
        return np.ascontiguousarray(blocks.astype("<i1")).view("<u8").reshape(-1)
    u = (blocks.astype(np.int64) & ((1 << bits) - 1)).astype(np.uint64)
    if bits == 4:
        shifts = (np.arange(16, dtype=np.uint64) * np.uint64(4))
        return np.bitwise_or.reduce(u << shifts, axis=1)
    # bits == 12: a record is 192 bits; pair codes into 24-bit groups, 8 groups = 3 words.
    groups = u[:, 0::2] | (u[:, 1::2] << np.uint64(12))  # (nb, 8) 24-bit groups
    by = np.empty((nb, 8, 3), dtype=np.uint8)
    for k in range(3):
        by[:, :, k] = ((groups >> np.uint64(8 * k)) & np.uint64(0xFF)).astype(np.uint8)
    return by.reshape(nb, 24).view("<u8").reshape(-1)


def _unpack_codes(words: np.ndarray, nb: int, bits: int) -> np.ndarray:
    words = np.ascontiguousarray(words, dtype="<u8")
    if bits == 8:
        return words.view("<i1").reshape(nb, 16).astype(np.int16)
    if bits == 4:
        shifts = np.arange(16, dtype=np.uint64) * np.uint64(4)
        u = ((words[:, None] >> shifts) & np.uint64(0xF)).astype(np.int16)
    else:
        by = words.view(np.uint8).reshape(nb, 8, 3).astype(np.uint32)
        groups = by[:, :, 0] | (by[:, :, 1] << 8) | (by[:, :, 2] << 16)
        u = np.empty((nb, 16), dtype=np.int16)
        u[:, 0::2] = groups & 0xFFF
        u[:, 1::2] = groups >> 12
    sign = np.int16(1 << (bits - 1))
    return np.where(u >= sign, u - np.int16(1 << bits), u).astype(np.int16)


def pack_smx(t, cfg: PintaConfig) -> np.ndarray:
    """An :class:`SMXTensor` to its word image (codes region, then exponents)."""
    bs = cfg.block_size
    codes = _pack_codes(_to_block_major(np.asarray(t.codes), bs), t.bits)
    exps = _pack_slots(np.asarray(t.exponents), exponent_slot_bits(cfg))
    return np.concatenate([codes, exps])


def unpack_smx(words: np.ndarray, rows: int, cols: int, bits: int, cfg: PintaConfig):
    """Word image to an :class:`SMXTensor` (the golden model's type)."""
    from pinta.golden.smx import SMXTensor

    rb, cb = _blocks(rows, cols, cfg)
    n_code = smx_code_words(rows, cols, bits, cfg)
    blocks = _unpack_codes(words[:n_code], rb * cb, bits)
    codes = _from_block_major(blocks, rb, cb, cfg.block_size)
    exps = _unpack_slots(words[n_code:], rb * cb, exponent_slot_bits(cfg)).astype(np.int16).reshape(rb, cb)
    # Validating constructor: a corrupted image (bad codes in padding,
    # out-of-range codes) is refused rather than silently accepted.
    return SMXTensor(np.ascontiguousarray(codes), exps, (rows, cols), bits)


# -- accumulator --------------------------------------------------------------

def pack_acc(a, cfg: PintaConfig) -> np.ndarray:
    """An :class:`SMXAccumulator` to its word image."""
    blocks = _to_block_major(np.asarray(a.acc, dtype=np.int64), cfg.block_size)
    return np.concatenate([np.ascontiguousarray(blocks).view("<u8").reshape(-1),
                           _pack_slots(np.asarray(a.exponents), ACC_EXPONENT_SLOT_BITS)])


def unpack_acc(words: np.ndarray, rows: int, cols: int, cfg: PintaConfig):
    from pinta.golden.smx import SMXAccumulator

    rb, cb = _blocks(rows, cols, cfg)
    n = rb * cb * cfg.block_size ** 2
    blocks = np.ascontiguousarray(words[:n], dtype="<u8").view("<i8").reshape(rb * cb, -1)
    acc = _from_block_major(blocks, rb, cb, cfg.block_size)
    exps = _unpack_slots(words[n:], rb * cb, ACC_EXPONENT_SLOT_BITS).astype(np.int32).reshape(rb, cb)
    return SMXAccumulator(np.ascontiguousarray(acc), exps, (rows, cols))
