"""IEEE-754 binary32 primitives of PINTA's vector / special-function unit.

Bit-exact with NumPy float32 (docs/vector-numerics.md; docs/hardware-vector-unit.md).
"""

from .misc import FP32Misc, OpClass, VectorOp, op_class
from .units import FP32AddSub, FP32Divider, FP32Multiplier, FP32Sqrt, div_steps, sqrt_steps

__all__ = ["FP32AddSub", "FP32Multiplier", "FP32Divider", "FP32Sqrt", "FP32Misc", "VectorOp", "OpClass",
           "op_class", "div_steps", "sqrt_steps"]
