"""PINTA reports: energy and area models, measured baselines, and the run report.

- :mod:`pinta.reports.energy`    -- energy tables, node scaling, action counts -> joules
- :mod:`pinta.reports.area`      -- SRAM and logic area (mm²) and the edge-class check
- :mod:`pinta.reports.baselines` -- the measured GPU/CPU baselines and accuracy anchors
- :mod:`pinta.reports.report`    -- ``pinta report RUN_DIR`` (docs/reports.md)
- :mod:`pinta.reports.cli`       -- the ``report`` and ``baseline`` subcommands

Submodules are imported on demand; importing this package loads nothing heavy.
"""
