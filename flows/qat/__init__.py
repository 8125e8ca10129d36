"""QAT study of neural PDE solvers (arXiv 2308.07350) on PINTA.

- :mod:`.data`: local Burgers (pseudo-spectral) and Darcy (finite-volume) generators, cached.
- :mod:`.quant`: quantizers (per-channel weights, EMA activation ranges, SMX) and the scenarios.
- :mod:`.layers`, :mod:`.models`: FNO 1D/2D and UNet-lite 1D with manual gradients, each runnable
  as float, fake-quant or integer model.
- :mod:`.train`: Adam, FP training, PTQ, QAT, nRMSE.
- :mod:`.cost`: GEMM list, BOPs, and the hook for PINTA cycles/energy.
- :mod:`.sweep`, :mod:`.cli`: ``pinta qat sweep`` and its report.

See docs/qat-study.md.
"""
