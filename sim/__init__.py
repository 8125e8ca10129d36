"""PINTA cycle-accurate simulator: ISA, assembler, machine model and reports.

* :mod:`pinta.sim.isa` -- the instruction set, 128-bit encoding, text form
* :mod:`pinta.sim.layout` -- bit-exact on-chip memory layout
* :mod:`pinta.sim.program` -- validation, the cycle schedule, action counts
* :mod:`pinta.sim.timing` -- the design figures and per-instruction timing
* :mod:`pinta.sim.machine` -- machine state and execution (values from golden)
* :mod:`pinta.sim.report` -- compute / bandwidth / access reports
* :mod:`pinta.sim.programs` -- program builders (GEMM, TT PRS, DiffQuant)

See docs/isa.md and docs/simulator.md.
"""
