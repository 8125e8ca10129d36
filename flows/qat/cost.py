"""Inference cost of a model: the GEMM list, BOPs, and the hook for PINTA cycles/energy.

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


# ------------------------------------------------------------------------------------------------
# HOOK (PINTA cost, issue 8 part 2): fill in when the cycle simulator (pinta.sim) exists.
#
# pinta_cost(gemms) must return {"cycles": int, "energy_j": float} for one single-sample
# inference, by running each GEMM (M, K, N) in the precision mode of its (w_bits, a_bits)
# on the simulated MAC array and summing. Until then it returns None, and the sweep writes
# null in the pinta_cycles / pinta_energy_j columns and skips the cycle/energy plots. No
# number is estimated here on purpose: the study must not report made-up hardware costs.
# ------------------------------------------------------------------------------------------------
def pinta_cost(gemms: list[Gemm]) -> dict | None:
    """PINTA cycles and energy of an inference; None until the simulator exists (see HOOK above)."""
    try:
        import pinta.sim  # noqa: F401
    except ImportError:
        return None
    return None  # HOOK: call the simulator's GEMM cost model here
