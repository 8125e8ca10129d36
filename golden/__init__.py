"""PINTA golden model: the bit-exact numeric reference (docs/numerics.md)."""

from .adam import AdamState, adam_init, adam_step, linear_decay_lr
from .diffquant import diffquant_first_layer, diffquant_quantize
from .fp32 import (
    fp32_cos,
    fp32_exp,
    fp32_log,
    fp32_sin,
    fp32_sincos,
    fp32_sqrt,
    fp32_tanh,
    fp32_tanh_grad_from_output,
    int_to_fp32,
    to_fp32,
)
from .mx_rowwise import MXTensor, mx_dequantize, mx_matmul, mx_quantize
from .smx import (
    SMXAccumulator,
    SMXTensor,
    round_half_away_from_zero,
    saturate,
    shared_exponent,
    smx_dequantize,
    max_reduction_blocks,
    smx_matmul,
    smx_matmul_fp32,
    smx_quantize,
    smx_requantize,
)
from .reduce import tree_mean, tree_sum
from .rng import normal, uniform01, uniform_u32
from .stein_sums import stein_estimates, stein_gradient_weights, stein_laplacian_weights, stein_pair_sums
from .tt import FloatNumerics, GemmAction, SMXNumerics, TTFactorization, TTMatrix, factorize, pad_columns

__all__ = [
    "smx_quantize",
    "smx_dequantize",
    "smx_matmul",
    "smx_matmul_fp32",
    "max_reduction_blocks",
    "smx_requantize",
    "SMXTensor",
    "SMXAccumulator",
    "mx_quantize",
    "mx_dequantize",
    "mx_matmul",
    "MXTensor",
    "diffquant_quantize",
    "diffquant_first_layer",
    "TTMatrix",
    "TTFactorization",
    "factorize",
    "pad_columns",
    "FloatNumerics",
    "SMXNumerics",
    "GemmAction",
    "to_fp32",
    "int_to_fp32",
    "fp32_sqrt",
    "fp32_exp",
    "fp32_log",
    "fp32_sin",
    "fp32_cos",
    "fp32_sincos",
    "fp32_tanh",
    "fp32_tanh_grad_from_output",
    "tree_sum",
    "tree_mean",
    "uniform_u32",
    "uniform01",
    "normal",
    "AdamState",
    "adam_init",
    "adam_step",
    "linear_decay_lr",
    "stein_pair_sums",
    "stein_estimates",
    "stein_gradient_weights",
    "stein_laplacian_weights",
    "round_half_away_from_zero",
    "saturate",
    "shared_exponent",
]
