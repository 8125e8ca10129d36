"""Fixtures for the RTL tests: one Verilator build per (config, block) per session."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from pinta.config import load_config

HERE = Path(__file__).parent


def _have(tool: str) -> bool:
    return shutil.which(tool) is not None


@pytest.fixture(scope="session")
def rtl_builds(tmp_path_factory):
    """Session cache of Verilator models: ``rtl_builds.get(cfg, block)``."""
    missing = [t for t in ("make", "g++", "perl") if not _have(t)]
    if missing:
        pytest.fail(f"RTL simulation needs {', '.join(missing)} (see docs/hardware.md)")
    from pinta.hw.cocotb_runner import RTLBuilds

    base = os.environ.get("PINTA_RTL_BUILD_DIR")
    return RTLBuilds(Path(base) if base else tmp_path_factory.mktemp("rtl"))


@pytest.fixture(scope="session")
def bench_dir() -> Path:
    """Folder of the cocotb bench modules."""
    return HERE


def tiny_cfg():
    return load_config("tiny")
