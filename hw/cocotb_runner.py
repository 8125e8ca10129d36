"""Build PINTA blocks with Verilator and run cocotb benches on them.

:class:`RTLBuilds` caches one Verilator model per (configuration, block):
the first request elaborates the block, writes its Verilog and compiles it;
later requests in the same process reuse the model. The pytest session
fixture in ``tests/hw/conftest.py`` holds one instance, so every test that
needs the same block and configuration pays for one build.

Builds are made cheap for small shared machines:

* ``make -j1`` (``PINTA_BUILD_JOBS`` to change) and ``-O1`` for the
  generated C++ (Verilator's default ``-Os`` compiles much slower and buys
  little for short simulations);
* only the top module's signals are made VPI-visible (a control file with
  ``public_flat_rw -module <top>``) instead of cocotb's default
  ``--public-flat-rw`` on every signal of every submodule: the benches touch
  ports only, and the default roughly doubles the C++ to compile;
* Verilator's runtime library (``verilated.o``, ``verilated_vpi.o``, ...; the
  same for every model built with the same options) is compiled once per
  :class:`RTLBuilds` and copied into later build folders, where ``make``
  then finds it up to date.
"""

from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from pinta.config import PintaConfig

from .toolchain import verilator_bin_dir
from .verilog import build_block, generate

__all__ = ["RTLBuilds", "RTLModel", "VERILATOR_BUILD_ARGS"]

#: Verilator arguments for simulation builds. Warnings are not fatal here
#: (Amaranth output trips WIDTHEXPAND and friends); the separate lint test
#: runs with -Wall and the documented waivers.
VERILATOR_BUILD_ARGS = ("-Wno-fatal", "-Wno-WIDTHEXPAND", "-Wno-WIDTHTRUNC", "-Wno-UNUSEDSIGNAL",
                        "-Wno-PROCASSINIT", "-Wno-DECLFILENAME", "--x-assign", "fast", "--x-initial", "fast")


def _config_key(cfg: PintaConfig) -> str:
    return hashlib.sha1(cfg.to_toml().encode()).hexdigest()[:12]


def _make_vars(opt: str) -> list[str]:
    """Make variables of a simulation build; ``opt`` is the C++ optimisation of the model's code."""
    return [f"OPT_FAST={opt}", "OPT_SLOW=-O0", f"OPT_GLOBAL={opt}",
            # The PyPI wheel's verilated.mk leaves this empty, so a design
            # big enough to be split into several C++ files fails to
            # compile against its precompiled header.
            "CFG_CXXFLAGS_PCH_I=-include"]

#: Verilator's runtime objects (VM_GLOBAL_FAST in the generated makefile).
_RUNTIME_OBJECTS = ("verilated.o", "verilated_dpi.o", "verilated_vpi.o", "verilated_threads.o")


def verilator_runner(runtime_cache: Path | None, opt: str = "-O1"):
    """A cocotb Verilator runner with the cheap-build choices of this module's docstring.

    ``runtime_cache``: folder for Verilator's runtime objects shared between
    builds (None: each build compiles its own). ``opt``: C++ optimisation.
    """
    # Imported lazily: cocotb_tools is only needed when a model is built.
    from cocotb_tools.runner import Verilator

    class _ThrottledVerilator(Verilator):
        def _build_command(self):
            cmds = super()._build_command()
            verilate, make = cmds[0], cmds[-1]
            # Ports only are VPI-visible: see the module docstring.
            if "--public-flat-rw" in verilate:
                verilate.remove("--public-flat-rw")
            if "-j" in make:
                make[make.index("-j") + 1] = os.environ.get("PINTA_BUILD_JOBS", "1")
            make += _make_vars(opt)
            if runtime_cache is None:
                return cmds
            build_dir = str(self.build_dir)
            cached = [runtime_cache / name for name in _RUNTIME_OBJECTS]
            if all(p.exists() for p in cached):
                # Copied after Verilator has written Vtop.mk (which the runtime
                # objects depend on) and without -p, so they are newer than it
                # and than the runtime sources: make leaves them alone.
                return [verilate, ["cp", *map(str, cached), build_dir], make]
            runtime_cache.mkdir(parents=True, exist_ok=True)
            save = ["cp", "-p", *(str(Path(build_dir) / n) for n in _RUNTIME_OBJECTS), str(runtime_cache)]
            return [verilate, make, save]

    return _ThrottledVerilator()


def _public_ports(top: str) -> str:
    """Verilator control file: the top module's signals are VPI-visible."""
    return f'`verilator_config\npublic_flat_rw -module "{top}" -var "*"\n'


@dataclass
class RTLModel:
    """A compiled Verilator model of one block.

    Members
    -------
    block : str
        Block name (also the Verilog top module).
    cfg : PintaConfig
    build_dir : Path
        Verilator's build folder.
    config_path : Path
        The configuration as TOML, for the bench to load (``PINTA_CONFIG``).
    """

    block: str
    cfg: PintaConfig
    build_dir: Path
    config_path: Path
    _runner: object

    def run(self, test_module: str, test_dir: str | Path, *, testcase: str | list[str] | None = None,
            env: dict[str, str] | None = None, seed: int = 1) -> tuple[int, int, Path]:
        """Run cocotb bench ``test_module`` (a module in ``test_dir``).

        The bench sees ``PINTA_CONFIG`` (TOML path) and any ``env`` extras.
        Returns (tests, failures, results.xml).
        """
        from cocotb_tools.runner import get_results

        test_dir = Path(test_dir).resolve()
        if str(test_dir) not in sys.path:
            # cocotb imports the bench with the runner's sys.path.
            sys.path.insert(0, str(test_dir))
        name = testcase if isinstance(testcase, str) else "all"
        results = self.build_dir / f"results_{test_module}_{name}.xml"
        extra = {"PINTA_CONFIG": str(self.config_path), **(env or {})}
        self._runner.test(
            test_module=test_module,
            hdl_toplevel=self.block,
            testcase=testcase,
            test_dir=self.build_dir,
            build_dir=self.build_dir,
            results_xml=str(results),
            extra_env=extra,
            seed=seed,
        )
        tests, failed = get_results(results)
        return tests, failed, results


class RTLBuilds:
    """Per-(config, block) cache of Verilator models under ``base_dir``."""

    def __init__(self, base_dir: str | Path):
        self.base_dir = Path(base_dir)
        self._models: dict[tuple[str, str], RTLModel] = {}

    def get(self, cfg: PintaConfig, block: str) -> RTLModel:
        key = (_config_key(cfg), block)
        if key in self._models:
            return self._models[key]
        build_dir = self.base_dir / f"{block}-{cfg.name}-{key[0]}"
        build_dir.mkdir(parents=True, exist_ok=True)
        src = build_dir / f"{block}.v"
        src.write_text(generate(build_block(block, cfg), block))
        config_path = build_dir / "config.toml"
        config_path.write_text(cfg.to_toml())
        vlt = build_dir / "public_ports.vlt"
        vlt.write_text(_public_ports(block))
        os.environ["PATH"] = str(verilator_bin_dir()) + os.pathsep + os.environ.get("PATH", "")
        # One runtime per set of build options (they are fixed in this module).
        runtime = self.base_dir / ("verilated-runtime-" + hashlib.sha1(
            " ".join([*VERILATOR_BUILD_ARGS, *_make_vars("-O1")]).encode()).hexdigest()[:8])
        runner = verilator_runner(runtime)
        runner.build(
            sources=[vlt, src],
            hdl_toplevel=block,
            build_dir=build_dir,
            build_args=list(VERILATOR_BUILD_ARGS),
            always=False,
        )
        model = RTLModel(block, cfg, build_dir, config_path, runner)
        self._models[key] = model
        return model
