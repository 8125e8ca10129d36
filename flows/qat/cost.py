"""Inference cost of a model: the GEMM list, BOPs, and PINTA cycles/energy (via onchip.py).

The GEMM list (``Model.gemm_list(grid)``) holds every GEMM of one
single-sample inference as (name, M, K, N, w_bits, a_bits, kind, count).
BOPs = sum of M*K*N*count * w_bits * a_bits, a float operand counted as 32
bits (so FP32 is 32x32). The fp32 model is costed as the same GEMMs (its
FFTs as the truncated DFT matmuls PINTA would run), so that every scenario of
one architecture has the same MAC count and only the widths differ.

Element-wise work (bias, GELU, residual adds, pooling, scales) is not counted,
as in the BOPs convention.
"""

from __future__ import annotations

from .layers import Gemm


def gemm_rows(gemms: list[Gemm]) -> list[tuple]:
    """The GEMM list as plain tuples (name, M, K, N, w_bits, a_bits, kind, count)."""
    return [(g.name, g.M, g.K, g.N, g.w_bits, g.a_bits, g.kind, g.count) for g in gemms]


def bops(gemms: list[Gemm]) -> int:
    return sum(g.bops for g in gemms)


def macs(gemms: list[Gemm]) -> int:
    return sum(g.macs for g in gemms)


def in_channels(model) -> int:
    """Input channels of the first GEMM's operand as the host loads it (FNO: field + coordinates)."""
    return 1 + len(model.shape) if model.arch == "fno" else 1


def pinta_cost(model, grid, cache=None, exact_int: bool = False) -> dict:
    """PINTA cycles and energy of one single-sample inference of ``model`` under its scenario.

    Lowers the GEMM list to a PINTA program and runs the simulator's analysis on
    it (flows/qat/onchip.py has the rules); cached by shapes, widths and config.
    ``exact_int``: cost the INT activation operands in the MAC mode that holds the
    integer model's zero-point-shifted codes (``onchip.exact_int_modes``).
    """
    from . import onchip
    n_points = 1
    for n in grid:
        n_points *= n
    gl = model.gemm_list(tuple(grid))
    if exact_int:
        gl = onchip.exact_int_modes(gl)
    return onchip.pinta_cost(gl, n_points, in_channels(model), cache=cache)


def cost_model_id() -> str:
    """Hash of the sources that decide a PINTA cost (lowering, ISA, timing, energy).

    Stored with every sweep record, so that a report can tell costs computed
    under an older cycle or energy model from current ones.
    """
    from . import onchip
    return onchip._sources_hash()
