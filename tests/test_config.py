"""The one configuration object: presets, TOML round trip, and refusal of invalid values."""

import dataclasses

import pytest

from pinta.config import BufferConfig, ConfigError, PintaConfig, load_config, PRESETS


@pytest.mark.parametrize("name", PRESETS)
def test_presets_load_and_validate(name):
    cfg = load_config(name)
    assert cfg.name == name
    assert cfg.array_rows % cfg.block_size == 0 and cfg.array_cols % cfg.block_size == 0
    assert {8, 12} <= set(cfg.element_bits)


def test_toml_round_trip(tmp_path):
    cfg = load_config("default").replace(name="custom", array_rows=8, clock_mhz=750.0)
    path = tmp_path / "c.toml"
    path.write_text(cfg.to_toml())
    assert PintaConfig.from_toml(path) == cfg


def test_exponent_range_follows_exponent_bits():
    cfg = PintaConfig(exponent_bits=8)
    assert (cfg.exponent_min, cfg.exponent_max) == (-128, 127)
    cfg = PintaConfig(exponent_bits=6)
    assert (cfg.exponent_min, cfg.exponent_max) == (-32, 31)


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"array_rows": 6}, "array_rows"),
        ({"array_cols": 0}, "array_cols"),
        ({"array_rows": 4.0}, "array_rows"),
        ({"block_size": 8}, "block_size"),
        ({"element_bits": (4, 8)}, "element_bits"),
        ({"element_bits": (8, 12, 16)}, "element_bits"),
        ({"element_bits": (8, 8, 12)}, "element_bits"),
        ({"accumulator_bits": 64}, "accumulator_bits"),
        ({"accumulator_bits": 30}, "accumulator_bits"),
        ({"align_guard_bits": -1}, "align_guard_bits"),
        ({"exponent_bits": 3}, "exponent_bits"),
        ({"vector_lanes": 12}, "vector_lanes"),
        ({"clock_mhz": 0}, "clock_mhz"),
        ({"clock_mhz": True}, "clock_mhz"),
        ({"energy_table": ""}, "energy_table"),
        ({"buffers": {"weights": 100}}, "buffers.weights"),
        ({"buffers": {"scratchpad": 64}}, "buffers.scratchpad"),
    ],
)
def test_invalid_values_name_the_field(changes, field):
    base = dataclasses.asdict(PintaConfig())
    base.update(changes)
    with pytest.raises(ConfigError) as info:
        PintaConfig.from_dict(base)
    assert info.value.field == field
    assert field in str(info.value)


def test_unknown_toml_field_is_refused(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('name = "x"\narray_size = 16\n')
    with pytest.raises(ConfigError, match="array_size"):
        PintaConfig.from_toml(path)


def test_bad_toml_syntax_names_the_file(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("name = \n")
    with pytest.raises(ConfigError, match="broken.toml"):
        PintaConfig.from_toml(path)


def test_unknown_preset_or_missing_file():
    with pytest.raises(ConfigError, match="neither a preset"):
        load_config("no-such-config")


def test_buffer_total():
    assert BufferConfig(weights=1, activations=2, gradients=4, optimizer=8).total_kib() == 15
