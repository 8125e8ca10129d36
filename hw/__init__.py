"""PINTA RTL (Amaranth): the SMX MAC array, the SMX quantizer and their flow.

Blocks
------
:class:`~pinta.hw.mac_array.MacArray`
    Precision-scalable output-stationary array of 4×4-block PEs
    (:class:`~pinta.hw.pe.ProcessingElement`, built from
    :class:`~pinta.hw.multiplier.ScalableMultiplier`).
:class:`~pinta.hw.smx_quantizer.SMXQuantizer`
    Accumulator block -> b-bit SMX block (docs/numerics.md §1, §3).

Flow
----
:mod:`pinta.hw.verilog` (Verilog per block), :mod:`pinta.hw.lint`
(Verilator -Wall with documented waivers), :mod:`pinta.hw.area` (Yosys cell
counts), :mod:`pinta.hw.cocotb_runner` (cached Verilator builds for cocotb),
:mod:`pinta.hw.cli` (``pinta verilog``, ``pinta area``). See
docs/hardware.md.
"""
