"""The top's area model (hw/area.py: SRAM of the buffers) and its benchmark command (hw/bench_top.py).

Fast: no synthesis and no Verilator (those run in `pinta area` / `pinta bench rtl-top`).
"""

from __future__ import annotations

import argparse

import pytest

from pinta.config import load_config


@pytest.mark.parametrize("name", ["tiny", "default"])
def test_top_sram_prices_every_buffer_with_the_reports_model(name):
    from pinta.hw.area import top_sram
    from pinta.hw.buffers import BUFFER_NAMES
    from pinta.hw.top import buffer_ports
    from pinta.reports.area import EDGE_NODE_NM, sram_area_mm2

    cfg = load_config(name)
    bufs, how = top_sram(cfg)
    reads, writes = buffer_ports(cfg)
    from pinta.hw.top import PMEM_DEPTH

    assert [b.name for b in bufs] == [*BUFFER_NAMES, "program"]
    prog = bufs[-1]
    assert prog.kib == PMEM_DEPTH * 128 / 8 / 1024 and prog.read_ports == prog.write_ports == 1
    assert prog.single_port_mm2 == prog.replicated_mm2 == pytest.approx(sram_area_mm2(prog.kib, EDGE_NODE_NM))
    for b in bufs[:-1]:
        kib = getattr(cfg.buffers, b.name)
        assert b.kib == kib and b.read_ports == len(reads) and b.write_ports == len(writes)
        assert b.single_port_mm2 == pytest.approx(sram_area_mm2(kib, EDGE_NODE_NM))
        assert b.replicated_mm2 == pytest.approx(len(reads) * sram_area_mm2(kib, EDGE_NODE_NM))
    assert "mm^2/KiB" in how


def test_top_buffer_ports_are_what_the_top_builds():
    """The area model's port list is the BufferSystem's: one elaboration of the tiny top."""
    from pinta.hw.buffers import BufferSystem
    from pinta.hw.top import PintaTop, buffer_ports

    cfg = load_config("tiny")
    built = PintaTop(cfg, pmem_depth=16).elaborate(None).submodules.buffers
    assert isinstance(built, BufferSystem)
    assert (built.read_widths, built.write_widths) == buffer_ports(cfg)


def test_area_report_adds_the_sram_table_for_top_units():
    from pinta.hw.area import AreaResult, report, top_units

    cfg = load_config("tiny")
    assert [u.name for u in top_units(cfg)] == ["top.controller", "top.dma", "top.mac", "top.qnt", "top.vec"]
    fake = [AreaResult("top.vec", "top", "all", 10, 2), AreaResult("top.dma", "top", "all", 5, 1)]
    text = report(fake, cfg)
    total = next(line for line in text.splitlines() if line.startswith("top logic (sum of top.*)"))
    assert total.split()[-2:] == ["15", "3"]  # cells, flops
    assert "activations" in text and "replicated" in text
    assert "replicated" not in report([AreaResult("pe", "mac_array", "all", 3, 1)], cfg)


def test_bench_rtl_top_simulator_only(capsys):
    from pinta.hw.bench_top import register_bench

    parser = argparse.ArgumentParser()
    register_bench(parser.add_subparsers(dest="bench"))
    args = parser.parse_args(["rtl-top", "--config", "tiny", "--program", "vec_chain", "--repeat", "1",
                              "--no-verilator"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    from pinta.hw.bench_top import program_case
    from pinta.sim.machine import Machine

    pb, _ = program_case(load_config("tiny"), "vec_chain")
    m = Machine(load_config("tiny"))
    for a, x in pb.inputs.items():
        m.put_fp32(a, x)
    assert f"{len(pb.program)} instructions, {m.run(pb.program).analysis.total_cycles} cycles" in out
    assert "simulator: first run" in out and "Verilator" not in out


def test_bench_rtl_top_programs_are_buildable():
    from pinta.hw.bench_top import PROGRAMS, program_case

    cfg = load_config("tiny")
    for name in PROGRAMS:
        pb, what = program_case(cfg, name)
        assert what == PROGRAMS[name] and pb.program
    with pytest.raises(ValueError, match="unknown program"):
        program_case(cfg, "gemm_1x2")


def test_bench_rtl_top_rejects_a_bad_repeat():
    from pinta.cli import UserError
    from pinta.hw.bench_top import register_bench

    parser = argparse.ArgumentParser()
    register_bench(parser.add_subparsers(dest="bench"))
    args = parser.parse_args(["rtl-top", "--repeat", "0", "--no-verilator"])
    with pytest.raises(UserError, match="--repeat"):
        args.func(args)


def test_sfu_pipelines_are_area_units_only_on_request(capsys):
    from pinta.cli import main
    from pinta.hw.area import (adam_pipeline_units, area_units, divsqrt_pipeline_units, rng_pipeline_units,
                               sfu_pipeline_units)
    from pinta.hw.top_vec import pass_info_layout

    cfg = load_config("tiny")
    names = [u.name for u in sfu_pipeline_units(cfg) + divsqrt_pipeline_units(cfg) + adam_pipeline_units(cfg)
             + rng_pipeline_units(cfg)]
    assert names == ["sfu_pipeline[SINCOS]", "sfu_pipeline[TANH]", "divsqrt_pipeline[DIV]", "divsqrt_pipeline[SQRT]",
                     "adam_pipeline", "rng_pipeline", "rng_pipeline[RNG_KEYS]"]
    assert not set(names) & {u.name for u in area_units(cfg)}  # not in a plain `pinta area`
    assert pass_info_layout(cfg.vector_lanes).size == 39 + cfg.vector_lanes + cfg.vector_lanes // 2
    assert main(["area", "--config", "tiny", "--unit", "no_such_unit"]) == 2
    err = capsys.readouterr().err
    assert "sfu_pipeline[TANH]" in err and "divsqrt_pipeline[SQRT]" in err and "adam_pipeline" in err
    assert "rng_pipeline[RNG_KEYS]" in err
