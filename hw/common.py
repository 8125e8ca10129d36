"""Shapes, precision modes and helpers shared by PINTA's RTL blocks.

Everything here is derived from a :class:`pinta.config.PintaConfig`; no
width is written by hand. The Python-side :func:`pack` / :func:`unpack`
helpers convert between nested Python values (dicts, lists, ints) and the
flat integers that a ``lib.data`` layout occupies on a Verilog port, so that
cocotb benches and Amaranth testbenches share one description of each
payload.
"""

from __future__ import annotations

import enum as py_enum

from amaranth.hdl import Shape, ShapeCastable, signed, unsigned
from amaranth.lib import data, enum

from pinta.config import PintaConfig

__all__ = [
    "Precision",
    "supported_modes",
    "mode_operand_bits",
    "code_bits",
    "acc_exponent_bits",
    "block_elems",
    "block_codes_layout",
    "pack",
    "unpack",
]


class Precision(enum.Enum, shape=2):
    """Operand precision of one block product on the MAC array.

    ``INT12_8`` and ``INT8_12`` are the same arithmetic with the wide operand
    on the A (row) or B (column) side; the backward GEMMs need both
    (dX = dY·Wᵀ has the INT12 gradient on the left, dW = Xᵀ·dY on the right).
    """

    INT8 = 0
    INT12_8 = 1
    INT8_12 = 2
    INT4 = 3


#: (bits of A, bits of B) for each mode.
_MODE_BITS = {
    Precision.INT8: (8, 8),
    Precision.INT12_8: (12, 8),
    Precision.INT8_12: (8, 12),
    Precision.INT4: (4, 4),
}


def mode_operand_bits(mode: Precision) -> tuple[int, int]:
    """(bits of A, bits of B) of a precision mode."""
    return _MODE_BITS[Precision(mode)]


def supported_modes(cfg: PintaConfig) -> tuple[Precision, ...]:
    """The modes a configuration's MAC array implements.

    INT8 and INT12×INT8 are always there (the config insists on widths 8 and
    12); INT4×INT4 only when 4 is in ``cfg.element_bits``.
    """
    modes = [Precision.INT8, Precision.INT12_8, Precision.INT8_12]
    if 4 in cfg.element_bits:
        modes.append(Precision.INT4)
    return tuple(modes)


def code_bits(cfg: PintaConfig) -> int:
    """Width of an SMX code field on every port: the widest element width."""
    return max(cfg.element_bits)


def acc_exponent_bits(cfg: PintaConfig) -> int:
    """Width of an accumulator-block exponent E_ref - G.

    E_ref = RA + RB lies in [2·E_min, 2·E_max] and G <= 24 <= 2**exponent_bits
    / 2, so two more bits than a block exponent always suffice.
    """
    return cfg.exponent_bits + 2


def block_elems(cfg: PintaConfig) -> int:
    """Elements in one SMX block (16)."""
    return cfg.block_size * cfg.block_size


def block_codes_layout(cfg: PintaConfig) -> data.ArrayLayout:
    """One block's codes, row-major: element (r, c) is index r*block_size + c."""
    return data.ArrayLayout(signed(code_bits(cfg)), block_elems(cfg))


# -- Python-side packing --------------------------------------------------

def _mask(width: int) -> int:
    return (1 << width) - 1


def pack(shape, value) -> int:
    """Flatten ``value`` (dict / list / int / enum member) into the integer
    that ``shape`` (a ``lib.data`` layout or a plain shape) stores.

    Integers are truncated to the field width (two's complement), which is
    what the hardware port sees; range checks belong to the caller.
    """
    if isinstance(shape, data.Layout):
        out = 0
        for key, field in shape:
            out |= pack(field.shape, value[key]) << field.offset
        return out
    if isinstance(value, py_enum.Enum):
        value = value.value
    width = Shape.cast(shape).width
    return int(value) & _mask(width)


def unpack(shape, raw: int):
    """Inverse of :func:`pack`: a flat integer into dicts (structs), lists
    (arrays), signed or unsigned ints, or enum members."""
    raw = int(raw)
    if isinstance(shape, data.StructLayout):
        return {key: unpack(field.shape, raw >> field.offset) for key, field in shape}
    if isinstance(shape, data.ArrayLayout):
        return [unpack(field.shape, raw >> field.offset) for _, field in shape]
    if isinstance(shape, type) and issubclass(shape, py_enum.Enum):
        return shape(raw & _mask(Shape.cast(shape).width))
    s = Shape.cast(shape)
    v = raw & _mask(s.width)
    if s.signed and v >> (s.width - 1):
        v -= 1 << s.width
    return v
