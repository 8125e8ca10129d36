"""Registry entries of the vector-side blocks (vector unit, special-function
unit, DiffQuant unit), for ``pinta verilog`` / ``pinta area`` and the RTL
test builds: ``pinta.hw.verilog.BLOCKS.update(VECTOR_BLOCKS)``."""

from __future__ import annotations

from typing import Callable

from amaranth.lib import wiring

from pinta.config import PintaConfig

__all__ = ["VECTOR_BLOCKS", "register"]


def _vector_unit(cfg: PintaConfig) -> wiring.Component:
    from .vector_unit import VectorUnit
    return VectorUnit(cfg)


def _special_function_unit(cfg: PintaConfig) -> wiring.Component:
    from .special_function_unit import SpecialFunctionUnit
    return SpecialFunctionUnit(cfg)


def _diffquant_unit(cfg: PintaConfig) -> wiring.Component:
    from .diffquant_unit import DiffQuantUnit
    return DiffQuantUnit(cfg)


#: Block name (= Verilog module name) -> constructor taking a config.
VECTOR_BLOCKS: dict[str, Callable[[PintaConfig], wiring.Component]] = {
    "vector_unit": _vector_unit,
    "special_function_unit": _special_function_unit,
    "diffquant_unit": _diffquant_unit,
}


def register() -> None:
    """Add :data:`VECTOR_BLOCKS` to the shared block registry (idempotent)."""
    from .verilog import BLOCKS
    for name, ctor in VECTOR_BLOCKS.items():
        BLOCKS.setdefault(name, ctor)
