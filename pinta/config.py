"""The one configuration object that drives every layer of PINTA.

The Amaranth elaboration (:mod:`pinta.hw`), the golden numerics
(:mod:`pinta.golden`), the cycle simulator (:mod:`pinta.sim`) and the energy
and area reports (:mod:`pinta.reports`) all read their parameters from a
:class:`PintaConfig`. No layer repeats one of these numbers by hand.

A configuration is built from keyword arguments, from a named preset
(``tiny``, ``default``) or from a TOML file. Every field is checked when the
object is built; an invalid value raises :class:`ConfigError`, whose message
names the field, the value and the allowed range.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = ["ConfigError", "BufferConfig", "PintaConfig", "load_config", "PRESETS"]

#: Element widths the SMX format defines (algorithms.md §3): INT4 for
#: low-precision inference studies, INT8 for weights and activations, INT12
#: for gradients.
SMX_ELEMENT_WIDTHS = (4, 8, 12)


class ConfigError(ValueError):
    """An invalid configuration value. The message names the field."""

    def __init__(self, field_name: str, value: Any, allowed: str):
        self.field = field_name
        self.value = value
        self.allowed = allowed
        super().__init__(f"invalid config field '{field_name}' = {value!r}: {allowed}")


def _check_int(name: str, value: Any, lo: int, hi: int, multiple_of: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(name, value, f"must be an integer in [{lo}, {hi}]")
    if not lo <= value <= hi:
        raise ConfigError(name, value, f"must be in [{lo}, {hi}]")
    if multiple_of is not None and value % multiple_of:
        raise ConfigError(name, value, f"must be a multiple of {multiple_of} (the SMX block size), in [{lo}, {hi}]")


def _check_pow2(name: str, value: int) -> None:
    if value & (value - 1):
        raise ConfigError(name, value, "must be a power of two")


@dataclass(frozen=True)
class BufferConfig:
    """Sizes of the on-chip SRAM buffers, in KiB.

    Members
    -------
    weights : int
        Quantized weights (SMX codes and exponents) and TT cores.
    activations : int
        Forward activations and DiffQuant difference paths.
    gradients : int
        Backward gradients (INT12 SMX) and weight-gradient accumulations.
    optimizer : int
        FP32 master weights and Adam moments.
    """

    weights: int = 256
    activations: int = 1024
    gradients: int = 512
    optimizer: int = 256

    def validate(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            _check_int(f"buffers.{f.name}", value, 1, 1 << 20)
            _check_pow2(f"buffers.{f.name}", value)

    def total_kib(self) -> int:
        return sum(getattr(self, f.name) for f in dataclasses.fields(self))


@dataclass(frozen=True)
class PintaConfig:
    """PINTA's parameters; the single source for hw, golden, sim and reports.

    Members
    -------
    name : str
        A label printed in every report.
    block_size : int
        Edge of a square SMX block, in elements. The format fixes it at 4
        (algorithms.md §3); it is a field so that every layer reads it from
        here rather than writing ``4``.
    array_rows, array_cols : int
        Size of the MAC array in INT8×INT8 multipliers. Multiples of
        ``block_size``.
    element_bits : tuple[int, ...]
        SMX element widths the MAC array and quantizer support; a subset of
        (4, 8, 12) that always contains 8 and 12 (training needs both).
    exponent_bits : int
        Width of the signed shared exponent of an SMX block.
    accumulator_bits : int
        Width of the signed integer GEMM accumulator. At most 53 so that
        every accumulator value is exactly representable as a float64 in the
        golden model.
    align_guard_bits : int
        Fractional bits the accumulator keeps below each output block's
        reference exponent when block partial products are aligned
        (docs/numerics.md, "Accumulation").
    vector_lanes : int
        FP32 lanes of the vector / special-function unit.
    buffers : BufferConfig
        On-chip SRAM sizes.
    dram_bytes_per_cycle : int
        Off-chip bandwidth seen by the DMA engine, bytes per clock cycle.
    clock_mhz : float
        Clock frequency, MHz.
    energy_table : str
        Name of the per-action energy table used by the reports.
    """

    name: str = "default"
    block_size: int = 4
    array_rows: int = 16
    array_cols: int = 16
    element_bits: tuple[int, ...] = SMX_ELEMENT_WIDTHS
    exponent_bits: int = 8
    accumulator_bits: int = 48
    align_guard_bits: int = 16
    vector_lanes: int = 16
    buffers: BufferConfig = field(default_factory=BufferConfig)
    dram_bytes_per_cycle: int = 32
    clock_mhz: float = 500.0
    energy_table: str = "horowitz45"

    def __post_init__(self) -> None:
        # Accept lists (TOML arrays) for the tuple field.
        if isinstance(self.element_bits, list):
            object.__setattr__(self, "element_bits", tuple(self.element_bits))
        if isinstance(self.buffers, dict):
            object.__setattr__(self, "buffers", _buffers_from_dict(self.buffers))
        self.validate()

    # -- validation -------------------------------------------------------
    def validate(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError("name", self.name, "must be a non-empty string")
        if self.block_size != 4:
            raise ConfigError("block_size", self.block_size, "the SMX format defines 4x4 blocks; only 4 is allowed")
        _check_int("array_rows", self.array_rows, self.block_size, 256, self.block_size)
        _check_int("array_cols", self.array_cols, self.block_size, 256, self.block_size)
        if not isinstance(self.element_bits, tuple) or not self.element_bits:
            raise ConfigError("element_bits", self.element_bits, f"must be a non-empty list drawn from {list(SMX_ELEMENT_WIDTHS)}")
        for b in self.element_bits:
            if b not in SMX_ELEMENT_WIDTHS:
                raise ConfigError("element_bits", self.element_bits, f"each width must be one of {list(SMX_ELEMENT_WIDTHS)}")
        if len(set(self.element_bits)) != len(self.element_bits):
            raise ConfigError("element_bits", self.element_bits, "widths must not repeat")
        for required in (8, 12):
            if required not in self.element_bits:
                raise ConfigError("element_bits", self.element_bits, f"must contain {required} (training uses INT8 forward and INT12 backward)")
        _check_int("exponent_bits", self.exponent_bits, 6, 10)
        _check_int("align_guard_bits", self.align_guard_bits, 0, 24)
        # The widest block partial product is INT12 x INT8 over a 4-deep
        # block: < 2**20. The accumulator must hold it with the guard bits
        # and at least 2**6 block partials; and it must fit a float64 exactly.
        min_acc = 20 + self.align_guard_bits + 6 + 1
        _check_int("accumulator_bits", self.accumulator_bits, min_acc, 53)
        _check_int("vector_lanes", self.vector_lanes, 1, 256)
        _check_pow2("vector_lanes", self.vector_lanes)
        if not isinstance(self.buffers, BufferConfig):
            raise ConfigError("buffers", self.buffers, "must be a table of buffer sizes in KiB")
        self.buffers.validate()
        _check_int("dram_bytes_per_cycle", self.dram_bytes_per_cycle, 1, 4096)
        if isinstance(self.clock_mhz, bool) or not isinstance(self.clock_mhz, (int, float)) or not 1.0 <= float(self.clock_mhz) <= 5000.0:
            raise ConfigError("clock_mhz", self.clock_mhz, "must be a number in [1, 5000]")
        if not isinstance(self.energy_table, str) or not self.energy_table:
            raise ConfigError("energy_table", self.energy_table, "must name an energy table")

    # -- derived quantities -----------------------------------------------
    @property
    def exponent_min(self) -> int:
        """Smallest storable shared exponent (also the exponent of a zero block)."""
        return -(1 << (self.exponent_bits - 1))

    @property
    def exponent_max(self) -> int:
        """Largest storable shared exponent."""
        return (1 << (self.exponent_bits - 1)) - 1

    @property
    def clock_hz(self) -> float:
        return float(self.clock_mhz) * 1e6

    # -- construction -------------------------------------------------------
    def replace(self, **changes: Any) -> "PintaConfig":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["element_bits"] = list(self.element_bits)
        return d

    def to_toml(self) -> str:
        lines = []
        buffers = None
        for key, value in self.to_dict().items():
            if key == "buffers":
                buffers = value
                continue
            lines.append(f"{key} = {_toml_value(value)}")
        lines.append("")
        lines.append("[buffers]")
        for key, value in buffers.items():
            lines.append(f"{key} = {_toml_value(value)}")
        return "\n".join(lines) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "config") -> "PintaConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(unknown[0], data[unknown[0]], f"unknown field in {source}; known fields: {', '.join(sorted(known))}")
        return cls(**data)

    @classmethod
    def from_toml(cls, path: str | Path) -> "PintaConfig":
        path = Path(path)
        try:
            text = path.read_text()
        except OSError as e:
            raise ConfigError("file", str(path), f"cannot be read ({e.strerror})") from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise ConfigError("file", str(path), f"is not valid TOML ({e})") from None
        return cls.from_dict(data, source=str(path))

    @classmethod
    def preset(cls, name: str) -> "PintaConfig":
        if name not in PRESETS:
            raise ConfigError("preset", name, f"choose one of: {', '.join(PRESETS)}")
        text = resources.files("pinta").joinpath("configs", f"{name}.toml").read_text()
        return cls.from_dict(tomllib.loads(text), source=f"preset '{name}'")


def _buffers_from_dict(data: dict[str, Any]) -> BufferConfig:
    known = {f.name for f in dataclasses.fields(BufferConfig)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"buffers.{unknown[0]}", data[unknown[0]], f"unknown buffer; known buffers: {', '.join(sorted(known))}")
    return BufferConfig(**data)


def _toml_value(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return repr(value)


PRESETS = ("tiny", "default", "edge64")


def load_config(spec: str | Path | None = None) -> PintaConfig:
    """Load a configuration from a preset name or a TOML file path.

    ``None`` gives the ``default`` preset.
    """
    if spec is None:
        return PintaConfig.preset("default")
    if isinstance(spec, str) and spec in PRESETS:
        return PintaConfig.preset(spec)
    path = Path(spec)
    if not path.exists():
        raise ConfigError("config", str(spec), f"is neither a preset ({', '.join(PRESETS)}) nor an existing TOML file")
    return PintaConfig.from_toml(path)
