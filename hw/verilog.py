"""Verilog generation for every PINTA block, for any valid configuration.

:data:`BLOCKS` names each block that is emitted as its own Verilog module
(the module name is the block name). ``pinta verilog`` writes one ``.v``
file per entry; the cocotb benches, the lint test and ``pinta area`` all read
the same text from :func:`generate`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from amaranth.back import verilog
from amaranth.lib import wiring

from pinta.config import PintaConfig

from .exponent_max import ExponentMax
from .mac_array import MacArray
from .smx_quantizer import SMXQuantizer
from .toolchain import ensure_yosys_for_amaranth
from .vector_blocks import VECTOR_BLOCKS

__all__ = ["BLOCKS", "CORE_BLOCKS", "DATAPATH_BLOCKS", "build_block", "generate", "write_all"]

#: Block name -> constructor taking a config: the MAC-side blocks, then the
#: vector-side ones (:mod:`pinta.hw.vector_blocks`). Other modules may add
#: entries (e.g. a top level); ``pinta verilog`` writes every entry.
BLOCKS: dict[str, Callable[[PintaConfig], wiring.Component]] = {
    "smx_quantizer": SMXQuantizer,
    "mac_array": MacArray,
    "exponent_max": ExponentMax,
}

#: The MAC-side blocks (defined in this package's core modules).
CORE_BLOCKS: tuple[str, ...] = tuple(BLOCKS)

BLOCKS.update(VECTOR_BLOCKS)

#: Every block of issue 4's datapath, in ``pinta verilog``'s order.
DATAPATH_BLOCKS: tuple[str, ...] = tuple(BLOCKS)


def build_block(name: str, cfg: PintaConfig) -> wiring.Component:
    """Elaborate-ready component of block ``name`` (a key of :data:`BLOCKS`)."""
    try:
        ctor = BLOCKS[name]
    except KeyError:
        raise ValueError(f"unknown block {name!r}; blocks: {', '.join(BLOCKS)}") from None
    return ctor(cfg)


def generate(component: wiring.Component, name: str) -> str:
    """Verilog text of ``component`` as a module called ``name``.

    Source locations are left out so the text does not depend on where the
    checkout lives.
    """
    ensure_yosys_for_amaranth()
    return verilog.convert(component, name=name, emit_src=False)


def write_all(cfg: PintaConfig, out_dir: str | Path, blocks: list[str] | None = None) -> list[Path]:
    """Write ``<block>.v`` for each block into ``out_dir``; return the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in blocks or list(BLOCKS):
        path = out / f"{name}.v"
        path.write_text(generate(build_block(name, cfg), name))
        paths.append(path)
    return paths


# --- top level (hw/top.py; registered here so `pinta verilog` also emits it) ---
def _pinta_top(cfg: PintaConfig) -> wiring.Component:
    from .top import PintaTop  # imported lazily: the top pulls in the simulator's ISA tables
    return PintaTop(cfg)


BLOCKS["pinta_top"] = _pinta_top
