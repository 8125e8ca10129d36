"""The `pinta` entry point: help, version, and one-line errors."""

import subprocess
import sys

import pinta
from pinta.cli import main


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "pinta.cli", *args], capture_output=True, text=True)


def test_version():
    r = run_cli("--version")
    assert r.returncode == 0
    assert r.stdout.strip() == f"pinta {pinta.__version__}"


def test_help_lists_subcommands():
    r = run_cli("--help")
    assert r.returncode == 0
    assert "config" in r.stdout and "bench" in r.stdout


def test_config_command_prints_valid_toml(capsys, tmp_path):
    assert main(["config", "tiny"]) == 0
    out = capsys.readouterr().out
    path = tmp_path / "tiny.toml"
    path.write_text(out)
    assert pinta.PintaConfig.from_toml(path) == pinta.load_config("tiny")


def test_invalid_config_is_a_one_line_error(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("array_rows = 6\n")
    r = run_cli("config", str(bad))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "array_rows" in lines[0]
    assert "Traceback" not in r.stderr


def test_unknown_subcommand_is_refused():
    r = run_cli("frobnicate")
    assert r.returncode == 2
    assert "invalid choice" in r.stderr and "Traceback" not in r.stderr
