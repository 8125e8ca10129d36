"""Energy tables, derivations, scaling and energy_of (pinta.reports.energy)."""

from __future__ import annotations

import math

import pytest

from pinta.config import load_config
from pinta.reports import energy as E


@pytest.fixture(scope="module")
def table():
    return E.load_energy_table("horowitz45")


@pytest.fixture(scope="module")
def cfg():
    return load_config("default")


# The published Horowitz ISSCC 2014 points as hardware.md quotes them (pJ).
SPEC_POINTS = {"int8_add": 0.03, "int32_add": 0.1, "int8_mult": 0.2, "int32_mult": 3.1, "fp32_add": 0.9,
               "fp32_mult": 3.7, "sram_read_64b_8kib": 10, "sram_read_64b_32kib": 20, "sram_read_64b_1mib": 100}


def test_shipped_table_matches_the_spec_and_is_fully_attributed(table):
    assert "horowitz45" in E.available_tables()
    for action, value in SPEC_POINTS.items():
        assert table.pj(action) == pytest.approx(value)
    # DRAM is one end of the published 1.3-2.6 nJ / 64 bit range.
    assert table.pj("dram_access_64b") in (1300.0, 2600.0)
    for e in table.entries.values():
        assert e.source and "Horowitz" in e.source
        assert (e.node_nm, e.voltage_v) == (45.0, 0.9)
        assert e.unit.startswith("pJ/")


def test_missing_entry_is_an_error_naming_action_and_table(table, cfg):
    with pytest.raises(E.MissingEnergyEntry) as ei:
        E.energy_of({"mac_i16x16": 5}, table, config=cfg)
    assert "mac_i16x16" in str(ei.value) and "horowitz45" in str(ei.value)
    # A primitive removed from the table: every derivation that needs it fails, naming it.
    crippled = E.EnergyTable(table.name, "", table.node_nm, table.voltage_v,
                             {k: v for k, v in table.entries.items() if k != "int8_mult"})
    with pytest.raises(E.MissingEnergyEntry, match="int8_mult"):
        E.energy_of({"mac_i8x8": 1}, crippled, config=cfg)


def test_malformed_table_file_names_entry_and_field(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text('name = "bad"\nnode_nm = 45\nvoltage_v = 0.9\n[[entry]]\naction = "x"\nvalue = 1.0\n'
                 'unit = "pJ/op"\nnode_nm = 45\nvoltage_v = 0.9\n')
    with pytest.raises(E.EnergyTableError, match="entry 'x' lacks the field 'source'"):
        E.load_energy_table(p)
    with pytest.raises(E.EnergyTableError, match="unknown energy table"):
        E.load_energy_table("no_such_table")


def test_multiplier_model_passes_through_both_anchors_and_grows_with_width(table):
    assert E.mult_energy_pj(table, 8, 8) == pytest.approx(table.pj("int8_mult"))
    assert E.mult_energy_pj(table, 32, 32) == pytest.approx(table.pj("int32_mult"))
    e4, e8, e12 = (E.mult_energy_pj(table, a, b) for a, b in ((4, 4), (8, 8), (12, 8)))
    assert e4 < e8 < e12
    assert E.adder_energy_pj(table, 8) == pytest.approx(table.pj("int8_add"))
    assert E.adder_energy_pj(table, 32) == pytest.approx(table.pj("int32_add"))


def test_mac_energy_is_multiplier_plus_accumulator_add(table, cfg):
    acts = E.action_energies(table, cfg)
    acc = E.adder_energy_pj(table, cfg.accumulator_bits)
    for action, (a, b) in {"mac_i8x8": (8, 8), "mac_i12x8": (12, 8), "mac_i4x4": (4, 4)}.items():
        assert acts[action].value == pytest.approx(E.mult_energy_pj(table, a, b) + acc)
        assert acts[action].unit == "pJ/MAC" and acts[action].source.startswith("derived")
    # A wider accumulator costs more per MAC.
    wide = E.action_energies(table, cfg.replace(accumulator_bits=53))
    assert wide["mac_i8x8"].value > acts["mac_i8x8"].value


def test_sram_interpolation_hits_the_published_points_and_is_monotone(table):
    for kib, action in ((8, "sram_read_64b_8kib"), (32, "sram_read_64b_32kib"), (1024, "sram_read_64b_1mib")):
        e, note = E.sram_energy_per_bit_pj(table, kib)
        assert e == pytest.approx(table.pj(action) / 64)
        assert "extrapolated" not in note
    sizes = [8, 16, 32, 64, 256, 512, 1024]
    vals = [E.sram_energy_per_bit_pj(table, s)[0] for s in sizes]
    assert all(a < b for a, b in zip(vals, vals[1:]))
    assert "extrapolated" in E.sram_energy_per_bit_pj(table, 4096)[1]


def test_buffer_energies_follow_the_config_sizes(table, cfg):
    acts = E.action_energies(table, cfg)
    for buf in ("weights", "activations", "gradients", "optimizer"):
        kib = getattr(cfg.buffers, buf)
        assert acts[f"sram_read_{buf}"].value == pytest.approx(E.sram_energy_per_bit_pj(table, kib)[0])
        assert f"{kib} KiB" in acts[f"sram_read_{buf}"].notes
    assert acts["dram_read"].value == pytest.approx(table.pj("dram_access_64b") / 8)


def test_special_functions_are_op_sequences_built_on_the_primitives(table, cfg):
    seq = E.op_sequences(cfg)
    # tanh contains a whole exp; every primitive count is at least exp's.
    assert all(seq["tanh"].get(k, 0) >= v for k, v in seq["exp"].items())
    acts = E.action_energies(table, cfg)
    expect = sum(n * table.pj(op) for op, n in seq["sincos"].items())
    assert acts["sfu_sin"].value == pytest.approx(expect)
    assert acts["sfu_tanh"].value > acts["vec_mul"].value > acts["vec_add"].value


def test_dennard_scaling_is_named_recorded_and_leaves_dram_alone(table):
    s = E.scale_table(table, 28, 0.8, "dennard_cv2")
    f = (28 / 45) * (0.8 / 0.9) ** 2
    for name, e in s.entries.items():
        if e.offchip:
            assert e.value == table.entries[name].value and "not scaled" in e.scaling
        else:
            assert e.value == pytest.approx(table.entries[name].value * f)
            assert e.scaling.startswith("dennard_cv2") and (e.node_nm, e.voltage_v) == (28, 0.8)
    assert E.scale_table(table, 45, 0.9) is table
    with pytest.raises(E.EnergyTableError, match="unknown scaling rule"):
        E.scale_table(table, 28, 0.9, "magic")


def test_energy_of_sums_per_category_and_unit_in_joules(table, cfg):
    acts = E.action_energies(table, cfg)
    counts = {a: 1000 * (i + 1) for i, a in enumerate(sorted(acts))}
    b = E.energy_of(counts, table, config=cfg)
    assert b.total_j == pytest.approx(sum(b.per_category.values()))
    assert b.total_j == pytest.approx(sum(b.per_unit.values()))
    for a, n in counts.items():
        assert b.per_action[a] == pytest.approx(n * acts[a].value * 1e-12)
    assert "other" not in b.per_category
    doubled = E.energy_of({a: 2 * n for a, n in counts.items()}, table, config=cfg)
    assert doubled.total_j == pytest.approx(2 * b.total_j)
    scaled = E.energy_of(counts, table, config=cfg, node=28, voltage=0.9)
    assert scaled.node_nm == 28 and scaled.total_j < b.total_j and scaled.scaling.startswith("dennard_cv2")
    with pytest.raises(ValueError, match="finite"):
        E.energy_of({"mac_i8x8": math.nan}, table, config=cfg)
