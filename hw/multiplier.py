"""Precision-scalable multiplier: one INT8×INT8 product or four INT4×INT4 ones.

The unit is built from four 5×5-bit signed "bricks" (4-bit nibbles with a
sign-extension bit in front, as in Bit Fusion). Each operand arrives as a
16-bit bus of four nibbles ``n0..n3``.

Fused mode (``split = 0``): the bus holds one 8-bit signed value in
``n1:n0``; ``n1`` is the signed high nibble and ``n0`` the unsigned low
nibble, so ``x·y = (x1·y1 << 8) + ((x1·y0 + x0·y1) << 4) + x0·y0``::

    brick0 = x.n0(u) · y.n0(u)      << 0
    brick1 = x.n1(s) · y.n1(s)      << 8
    brick2 = x.n1(s) · y.n0(u)      << 4
    brick3 = x.n0(u) · y.n1(s)      << 4

Split mode (``split = 1``): the bus holds four signed INT4 values and the
unit returns their dot product ``Σ_k x.n_k · y.n_k`` (all bricks signed, no
shifts). Brick 0 and brick 1 see the same nibbles in both modes; bricks 2 and
3 get a 2:1 operand mux. The INT12×INT8 mode reuses fused mode twice: once
with the 8 high bits of the wide operand and once with its low nibble
zero-extended (see :mod:`pinta.hw.pe`).

The unit is combinational; the processing element registers its output.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["ScalableMultiplier", "NIBBLES", "PRODUCT_BITS"]

#: Nibbles per operand bus.
NIBBLES = 4
#: Width of the result: an 8×8 signed product needs 16 bits
#: ((-128)·(-128) = 2**14 fits signed(16)); four INT4 products sum to at most 256.
PRODUCT_BITS = 16


class ScalableMultiplier(wiring.Component):
    """One INT8×INT8 product or a 4-term INT4×INT4 dot product per cycle.

    Members
    -------
    x, y : In(16)
        Operand buses, four nibbles each (see the module docstring).
    split : In(1)
        1 = four INT4 products summed; 0 = one INT8 product. Ignored (and
        the muxes removed) when the unit supports only one of the two.
    p : Out(signed(16))
        The product (combinational).

    Parameters
    ----------
    fused, split : bool
        Which of the two modes to build. Restricting the unit to one mode
        lets ``pinta area`` report what each mode costs on its own.
    """

    def __init__(self, *, fused: bool = True, split: bool = True):
        if not (fused or split):
            raise ValueError("ScalableMultiplier needs at least one of fused/split")
        self.has_fused = fused
        self.has_split = split
        super().__init__({
            "x": In(4 * NIBBLES),
            "y": In(4 * NIBBLES),
            "split": In(1),
            "p": Out(signed(PRODUCT_BITS)),
        })

    def elaborate(self, platform):
        m = Module()
        split = Signal()
        if self.has_fused and self.has_split:
            m.d.comb += split.eq(self.split)
        else:
            m.d.comb += split.eq(int(self.has_split))

        xn = [self.x[4 * k:4 * k + 4] for k in range(NIBBLES)]
        yn = [self.y[4 * k:4 * k + 4] for k in range(NIBBLES)]

        def ext(nibble, is_signed):
            # 5-bit two's complement: sign-extend a signed nibble,
            # zero-extend an unsigned one.
            return Cat(nibble, nibble[3] & is_signed).as_signed()

        # (x nibble, x signed?, y nibble, y signed?) per brick, as a function of `split`.
        ops = [
            (xn[0], split, yn[0], split),
            (xn[1], 1, yn[1], 1),
            (Mux(split, xn[2], xn[1]), 1, Mux(split, yn[2], yn[0]), split),
            (Mux(split, xn[3], xn[0]), split, Mux(split, yn[3], yn[1]), 1),
        ]
        bricks = []
        for k, (xa, xs, yb, ys) in enumerate(ops):
            b = Signal(signed(10), name=f"brick{k}")
            m.d.comb += b.eq(ext(xa, xs) * ext(yb, ys))
            bricks.append(b)

        fused_sum = bricks[0] + (bricks[1] << 8) + ((bricks[2] + bricks[3]) << 4)
        split_sum = bricks[0] + bricks[1] + bricks[2] + bricks[3]
        m.d.comb += self.p.eq(Mux(split, split_sum, fused_sum))
        return m
