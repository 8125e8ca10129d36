"""The golden functions each instruction calls, looked up by name.

The simulator never re-implements a numeric rule: every value an instruction
produces comes from a function of :mod:`pinta.golden`. Some golden modules are
still being written; an instruction whose function is missing is refused by
validation with a "not implemented yet" error naming the missing function,
never run with a stand-in.
"""

from __future__ import annotations

import importlib
from typing import Callable

import numpy as np

__all__ = ["NotImplementedYet", "GOLDEN_FUNCTIONS", "golden_function", "missing_golden"]


class NotImplementedYet(NotImplementedError):
    """The instruction's golden function does not exist yet."""


#: mnemonic -> (golden module(s), "|"-separated candidates, function name). The simulator calls exactly
#: these; docs/isa.md lists them. Mnemonics absent here need no golden
#: function (controller and DMA instructions only move bits).
GOLDEN_FUNCTIONS: dict[str, tuple[str, str]] = {
    "GEMM": ("smx", "smx_matmul"),
    "QUANT": ("smx", "smx_quantize"),
    "QUANTR": ("smx", "smx_quantize"),
    "ACCF": ("smx", "accumulator_to_fp32"),
    "DEQ": ("smx", "smx_dequantize"),
    "DIFFQ": ("diffquant", "diffquant_quantize"),
    "VSQRT": ("fp32", "fp32_sqrt"),
    "VTANH": ("fp32", "fp32_tanh"),
    "VSIN": ("fp32", "fp32_sin"),
    "VCOS": ("fp32", "fp32_cos"),
    "VDTANH": ("fp32", "fp32_tanh_grad_from_output"),
    "VSUM": ("reduce", "tree_sum"),
    "VRED": ("reduce", "tree_sum"),
    "STEIN": ("stein_sums|stein|reduce", "stein_pair_sums"),
    "STEINE": ("stein_sums", "stein_estimates"),
    "ADAM": ("adam", "adam_step"),
    "RNG": ("rng", "normal"),
}

#: The vector unit's IEEE binary32 primitives. golden/fp32.py defines them as
#: NumPy's float32 ufuncs on float32 operands (its module docstring); the
#: simulator applies them after the golden operand check ``require_fp32``.
FP32_PRIMITIVES: dict[str, Callable] = {
    "VADD": np.add,
    "VSUB": np.subtract,
    "VMUL": np.multiply,
    "VDIV": np.divide,
    "VNEG": np.negative,  # exact sign flip
    # Broadcast forms: the same IEEE primitive; the machine repeats b's rows
    # (pure data movement) before calling it.
    "VADDB": np.add,
    "VSUBB": np.subtract,
    "VMULB": np.multiply,
    "VSCALE": np.multiply,
}


def golden_function(mnemonic: str) -> Callable:
    """The golden callable for ``mnemonic``; :class:`NotImplementedYet` if absent."""
    if mnemonic in FP32_PRIMITIVES:
        require = golden_function_named("fp32", "require_fp32", mnemonic)
        ufunc = FP32_PRIMITIVES[mnemonic]

        def primitive(*xs):
            with np.errstate(all="ignore"):  # IEEE exceptions are values, not errors
                return ufunc(*(require(x, f"operand {k}") for k, x in enumerate(xs)))
        return primitive
    modules, name = GOLDEN_FUNCTIONS[mnemonic]
    return golden_function_named(modules, name, mnemonic)


def golden_function_named(modules: str, name: str, mnemonic: str) -> Callable:
    """Look ``name`` up in the first of the "|"-separated golden ``modules`` that has it."""
    for module in modules.split("|"):
        try:
            mod = importlib.import_module(f"pinta.golden.{module}")
        except ModuleNotFoundError as e:
            if e.name != f"pinta.golden.{module}":
                raise  # the golden module exists but one of its imports failed: a real bug
            continue
        fn = getattr(mod, name, None)
        if fn is not None:
            return fn
    where = " or ".join(f"pinta.golden.{m}" for m in modules.split("|"))
    raise NotImplementedYet(f"{mnemonic} is not implemented yet: no golden function {name} in {where}")


def missing_golden(mnemonic: str) -> str | None:
    """None if the instruction can run, else the 'not implemented yet' reason."""
    if mnemonic not in GOLDEN_FUNCTIONS and mnemonic not in FP32_PRIMITIVES:
        return None
    try:
        golden_function(mnemonic)
    except NotImplementedYet as e:
        return str(e)
    return None
