"""Measured baselines: GPU timings/energies and FP32 accuracy anchors from ``shared/baselines/``.

The folder holds JSON files ``{"meta": {...}, "results": [...]}`` (see its
README). Each timing result becomes a :class:`BaselineRun` keyed by
(pde, method, framework); each accuracy result an :class:`AccuracyAnchor`.

Frameworks:

* ``jax-jit``: JAX with one jitted Adam step (``meta.jax`` present);
* ``pytorch-eager``: PyTorch eager (``meta.torch`` present, timing results);
* any ``meta.framework`` given explicitly (the local CPU baseline of
  :mod:`pinta.flows.cpu_baseline` writes ``numpy-cpu`` or ``pytorch-cpu``).

**Headline baseline.** The baselines README names jitted JAX as the strongest
software baseline, and every report's headline ratio is against JAX-jit with
AD (:data:`HEADLINE`). :meth:`Baselines.strongest` independently picks the
lowest time per iteration for a PDE, so a report can say when the two differ.

Units: seconds per iteration, joules per iteration (whole-board NVML energy,
idle power included), relative L2 error (dimensionless).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["BaselineError", "BaselineRun", "AccuracyAnchor", "Baselines", "find_shared", "load_baselines",
           "load_baseline_file", "HEADLINE", "FRAMEWORK_LABELS"]

#: (framework, method) of the headline ratio, per the baselines README.
HEADLINE = ("jax-jit", "ad")

FRAMEWORK_LABELS = {"jax-jit": "JAX-jit", "pytorch-eager": "PyTorch eager", "numpy-cpu": "NumPy CPU",
                    "pytorch-cpu": "PyTorch CPU"}


class BaselineError(ValueError):
    """Baselines folder missing or a file malformed; the message names the path."""


@dataclass(frozen=True)
class BaselineRun:
    """One measured training configuration.

    s_per_iter : float          seconds per iteration
    j_per_iter : float | None   joules per iteration (None when not measured, e.g. CPU)
    device : str                device name from the file's meta
    source : str                file it came from
    comparable : bool           False when the run used reduced settings (not algorithms.md §1)
    """

    pde: str
    method: str
    framework: str
    s_per_iter: float
    j_per_iter: float | None
    iters: int | None
    device: str
    source: str
    final_loss: float | None = None
    comparable: bool = True

    @property
    def label(self) -> str:
        """Human label naming device, framework and method, e.g. 'H100 JAX-jit AD'."""
        fw = FRAMEWORK_LABELS.get(self.framework, self.framework)
        if "H100" in self.device or self.device.startswith("cuda"):
            return f"H100 {fw} {self.method.upper()}"
        return f"{fw} {self.method.upper()}"  # e.g. 'NumPy CPU SE'; the device is listed beside it


@dataclass(frozen=True)
class AccuracyAnchor:
    """FP32 dense accuracy after ``iters`` iterations (relative L2 on 10,000 test points)."""

    pde: str
    method: str
    iters: int
    rel_l2_raw: float
    rel_l2_smoothed: float | None
    final_loss: float | None
    seconds: float | None
    source: str


#: Packaged copy of shared/baselines (reports/shared_copy/README.md), the last resort.
PACKAGED_SHARED = Path(__file__).resolve().parent / "shared_copy"


def find_shared(override: str | Path | None = None) -> Path:
    """The ``shared`` folder holding ``baselines/``.

    ``override``, else ``$PINTA_SHARED``, else ``<repo root>/../shared``, else
    the packaged copy. An explicit choice (argument or variable) that has no
    ``baselines/`` is an error rather than a silent fallback.
    """
    if override is not None:
        cand, how = Path(override), "the given path"
    elif os.environ.get("PINTA_SHARED"):
        cand, how = Path(os.environ["PINTA_SHARED"]), "PINTA_SHARED"
    else:
        # reports/ sits in the repository root; 'shared' is the root's sibling.
        cand = Path(__file__).resolve().parent.parent.parent / "shared"
        return cand if (cand / "baselines").is_dir() else PACKAGED_SHARED
    if not (cand / "baselines").is_dir():
        raise BaselineError(f"no baselines folder at {cand / 'baselines'} ({how}); set PINTA_SHARED to the "
                            "'shared' folder that holds baselines/")
    return cand


def _framework(meta: dict[str, Any], path: Path) -> str:
    if "framework" in meta:
        return str(meta["framework"])
    if "jax" in meta:
        return "jax-jit"
    if "torch" in meta:
        return "pytorch-eager"
    raise BaselineError(f"{path}: cannot tell the framework (meta has none of 'framework', 'jax', 'torch')")


def load_baseline_file(path: str | Path) -> tuple[list[BaselineRun], list[AccuracyAnchor]]:
    """Parse one baseline JSON file into timing runs and accuracy anchors."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise BaselineError(f"cannot read baseline file {path}: {e}") from None
    meta, results = data.get("meta", {}), data.get("results")
    if not isinstance(results, list):
        raise BaselineError(f"{path}: no 'results' list")
    runs, anchors = [], []
    for r in results:
        try:
            if "rel_l2_raw" in r:
                anchors.append(AccuracyAnchor(r["pde"], r["method"], int(r["iters"]), float(r["rel_l2_raw"]),
                                              r.get("rel_l2_smoothed"), r.get("final_loss"), r.get("seconds"),
                                              path.name))
            elif "s_per_iter" in r:
                j = r.get("j_per_iter")
                runs.append(BaselineRun(r["pde"], r["method"], _framework(meta, path), float(r["s_per_iter"]),
                                        None if j is None else float(j), r.get("iters"), str(meta.get("device", "?")),
                                        path.name, r.get("final_loss"), bool(r.get("comparable", True))))
            else:
                raise KeyError("s_per_iter or rel_l2_raw")
        except KeyError as e:
            raise BaselineError(f"{path}: a result lacks the field {e}") from None
    return runs, anchors


class Baselines:
    """All baselines: ``runs`` (timing/energy) and ``anchors`` (accuracy)."""

    def __init__(self, runs: list[BaselineRun], anchors: list[AccuracyAnchor]):
        self.runs, self.anchors = list(runs), list(anchors)

    def get(self, pde: str, method: str, framework: str) -> BaselineRun:
        for r in self.runs:
            if (r.pde, r.method, r.framework) == (pde, method, framework):
                return r
        raise BaselineError(f"no baseline for pde '{pde}', method '{method}', framework '{framework}'")

    def for_pde(self, pde: str) -> list[BaselineRun]:
        return [r for r in self.runs if r.pde == pde]

    def strongest(self, pde: str) -> BaselineRun:
        """Lowest seconds per iteration among the comparable runs for ``pde``."""
        cands = [r for r in self.for_pde(pde) if r.comparable]
        if not cands:
            raise BaselineError(f"no baselines for pde '{pde}'")
        return min(cands, key=lambda r: r.s_per_iter)

    def headline(self, pde: str) -> BaselineRun:
        """The headline baseline: JAX-jit AD (baselines README)."""
        framework, method = HEADLINE
        return self.get(pde, method, framework)

    def anchors_for(self, pde: str) -> list[AccuracyAnchor]:
        return [a for a in self.anchors if a.pde == pde]

    def pdes(self) -> list[str]:
        return sorted({r.pde for r in self.runs} | {a.pde for a in self.anchors})

    def add(self, other: "Baselines") -> "Baselines":
        return Baselines(self.runs + other.runs, self.anchors + other.anchors)


def load_baselines(shared: str | Path | None = None, extra_files: list[Path] | None = None) -> Baselines:
    """Every ``*.json`` under ``<shared>/baselines`` (plus ``extra_files``)."""
    folder = find_shared(shared) / "baselines"
    runs, anchors = [], []
    files = sorted(folder.glob("*.json")) + list(extra_files or [])
    if not files:
        raise BaselineError(f"{folder} holds no *.json baseline files")
    for f in files:
        r, a = load_baseline_file(f)
        runs += r
        anchors += a
    return Baselines(runs, anchors)
