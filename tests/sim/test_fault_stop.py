"""A run-time fault (DEQ of a value FP32 cannot hold) as the hardware reports it.

By default the simulator refuses the data (ProgramError naming the DEQ);
``Machine.run(faults="stop")`` stops the run the way the RTL does
(sim/program.py ``fault_stop``; docs/simulator.md §1, "Run-time faults"): what issued before
the DEQ's done cycle completes, nothing after it issues.
"""

import numpy as np
import pytest

from pinta.config import load_config
from pinta.hw.top_programs import deq_inputs, deq_program
from pinta.sim.isa import Buffer
from pinta.sim.machine import Machine
from pinta.sim.program import ProgramError, fault_stop
from pinta.sim.programs import ProgramBuilder

CFG = load_config("tiny")


def _machine(pb):
    m = Machine(CFG, check_layout=True)
    for addr, image in pb.input_images().items():
        m.dram_write(addr, image)
    return m


def test_deq_fault_raises_by_default():
    pb = deq_program(CFG, *deq_inputs(CFG, fault=True))
    with pytest.raises(ProgramError) as e:
        _machine(pb).run(pb.program)
    assert e.value.mnemonic == "DEQ" and "not all exactly representable" in str(e.value)


def test_deq_fault_stop_is_the_issued_prefix():
    pb = deq_program(CFG, *deq_inputs(CFG, fault=True))
    m = _machine(pb)
    res = m.run(pb.program, faults="stop")
    stop, sched = res.stop, res.analysis.schedule
    assert stop.code == "DEQ_INEXACT" and pb.program[stop.index].mnemonic == "DEQ"
    assert stop.cycle == sched[stop.index].done
    prefix = [s for s in sched if s.issue < stop.cycle]
    assert stop.issued == len(prefix) == prefix[-1].index + 1 < len(sched)
    assert res.total_cycles == stop.total_cycles == max(s.done for s in prefix)
    # the busy counters are the prefix's occupancies; the stalls at least the prefix's own
    for u in stop.busy:
        assert stop.busy[u] == sum(1 if u == "CTRL" else s.occupancy for s in prefix
                                   if u == "CTRL" or s.unit.name == u)
    assert stop.stall["CTRL"] >= sum(s.issue - (0 if j == 0 else sched[j - 1].issue + 1)
                                     for j, s in enumerate(prefix))
    # only the STOREs issued before the fault were executed
    assert {a for a, _ in m.stores} == {pb.program[s.index]["dram"] for s in prefix if s.mnemonic == "STORE"}


def test_fault_in_the_last_instruction_stops_with_the_whole_programs_counters():
    """With nothing after the faulting DEQ, the stopped run's counters are the program's."""
    smx_in, _ = deq_inputs(CFG, fault=True)
    pb = ProgramBuilder(CFG)
    s = pb.load_smx(Buffer.gradients, smx_in[12])
    pb.deq(s, buf=Buffer.activations)
    res = _machine(pb).run(pb.program, faults="stop")
    an = res.analysis
    assert res.stop is not None and res.stop.index == len(pb.program) - 1
    assert (res.stop.issued, res.stop.total_cycles, res.stop.busy, res.stop.stall) == \
        (len(pb.program), an.total_cycles, an.busy, an.stall)
    assert fault_stop(an, res.stop.index, "DEQ_INEXACT") == res.stop


def test_exact_deq_does_not_stop():
    pb = deq_program(CFG, *deq_inputs(CFG))
    res = _machine(pb).run(pb.program, faults="stop")
    assert res.stop is None and res.total_cycles == res.analysis.total_cycles
    f12 = res.machine.read(pb.outputs["f12"][1].descriptor(CFG))
    from pinta.golden.smx import smx_dequantize
    assert np.array_equal(f12.astype(np.float64), smx_dequantize(deq_inputs(CFG)[0][12]))
