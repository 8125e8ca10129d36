"""The QAT sweep: scenario x resolution x width, per (PDE, architecture).

For each (pde, arch, res, width) one FP32 model is trained (checkpointed),
then every quantized scenario starts from it: PTQ (range calibration), then
QAT fine-tuning. Each finished point appends one JSON line to
``<out>/results.jsonl``; a rerun skips the points already there (resumable).
``write_report`` turns the records into results.csv, summary.json and PNG
plots (nRMSE vs BOPs with the Pareto front, quantized points marked).

nRMSE is reported twice: ``nrmse`` at the model's own resolution against the
restricted truth, and ``nrmse_ref`` after interpolating the prediction to the
finest resolution of the sweep and comparing with the truth there (this one
charges a coarse model for the detail it cannot represent; the Pareto fronts
use it).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
from scipy import ndimage
from tqdm import tqdm

from . import cost, data, train
from .layers import Ctx
from .models import build
from .quant import SCENARIOS, policy


@dataclass
class SweepConfig:
    """One study. The presets are sized so that Burgers + Darcy, FNO + UNet, fit 30 min on the
    shared 2-core machine (docs/qat-study.md, "Departures")."""

    pde: str = "burgers"
    eps: float = 0.1                       # Burgers only
    n_train: int = 256
    n_test: int = 64
    resolutions: tuple = (256, 128, 64)
    archs: dict = field(default_factory=lambda: {"fno": (16, 32), "unet": (8, 16)})
    modes: int = 16
    scenarios: tuple = tuple(SCENARIOS)
    fp_epochs: int = 20
    fp_lr: float = 3e-3
    fp_lr_final: float = 3e-4
    qat_epochs: int = 4
    qat_lr_factor: float = 0.2             # QAT lr = factor x final FP lr (spec: 0.1-0.3)
    batch: int = 32
    head16: bool = True
    learn_ranges: bool = False             # train the activation ranges in QAT (PACT-style), else EMA
    head_ablation: tuple = ("w8a8", "w4a8", "w4a4")   # re-run without the head switch, largest point
    n_int: int = 16                        # test samples also run through the integer model
    n_int_smx: int = 4                     # ... for SMX scenarios (golden SMX GEMMs are slow in Python)
    seed: int = 0

    @staticmethod
    def preset(pde: str, tiny: bool = False) -> "SweepConfig":
        if pde == "burgers":
            c = SweepConfig()
        elif pde == "darcy":
            c = SweepConfig(pde="darcy", n_train=128, n_test=32, resolutions=(32, 16),
                            archs={"fno": (16,), "unet": (8,)}, modes=8, head_ablation=())
        else:
            raise ValueError(f"unknown PDE {pde!r} (burgers, darcy)")
        if tiny:
            c = replace(c, n_train=32, n_test=8, resolutions=c.resolutions[-1:], fp_epochs=2, qat_epochs=1,
                        archs={k: (4,) for k in c.archs}, modes=4, head_ablation=c.head_ablation[-1:],
                        n_int=4, n_int_smx=2, batch=16)
        return c


def load_data(cfg: SweepConfig, res: int, cache=None, progress=True):
    """(x_train, y_train, x_test, y_test) at resolution ``res``."""
    n = cfg.n_train + cfg.n_test
    if cfg.pde == "burgers":
        x, y = data.load_burgers(n, cfg.eps, res, seed=cfg.seed, cache=cache, progress=progress)
    else:
        x, y = data.load_darcy(n, res, seed=cfg.seed, cache=cache, progress=progress)
    return x[:cfg.n_train], y[:cfg.n_train], x[cfg.n_train:], y[cfg.n_train:]


def upsample(p: np.ndarray, res: int, pde: str) -> np.ndarray:
    """Interpolate predictions (S, r[, r]) to (S, res[, res]).

    Burgers: periodic linear interpolation between the point values.
    Darcy: bilinear on cell centres (grid_mode), edge values held.
    """
    r = p.shape[-1]
    if r == res:
        return p
    if pde == "burgers":
        xc = np.arange(r + 1) / r
        xf = np.arange(res) / res
        pp = np.concatenate([p, p[:, :1]], 1)
        return np.stack([np.interp(xf, xc, row) for row in pp])
    return ndimage.zoom(p, (1, res / r, res / r), order=1, grid_mode=True, mode="nearest")


def point_key(pde, arch, res, width, scenario, head16) -> str:
    return f"{pde}/{arch}/r{res}/w{width}/{scenario}/h{int(head16)}"


def read_records(out: Path) -> list[dict]:
    f = Path(out) / "results.jsonl"
    if not f.exists():
        return []
    recs, seen = [], set()
    for line in f.read_text().splitlines():
        if line.strip():
            try:
                r = json.loads(line)
            except json.JSONDecodeError:   # a line cut by a kill: that point is simply redone
                continue
            if r.get("key") not in seen:   # two runs racing on one directory: keep the first record
                seen.add(r.get("key"))
                recs.append(r)
    return recs


def _append(out: Path, rec: dict) -> None:
    with open(Path(out) / "results.jsonl", "a") as f:
        f.write(json.dumps(rec) + "\n")
        f.flush()


def _save_ckpt(path: Path, model) -> None:
    st = model.state()
    flat = {f"p:{k}": v for k, v in st["params"].items()}
    flat["y_scale"] = np.array(model.y_scale)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **flat)
    tmp.replace(path)


def _load_ckpt(path: Path, model) -> None:
    d = np.load(path)
    model.load({"params": {k[2:]: d[k] for k in d.files if k.startswith("p:")}, "quant": {}})
    model.y_scale = float(d["y_scale"])


def _int_check(model, x, y) -> dict:
    """Run the integer model on (x, y) and compare with the fake-quant model, both in float64.

    Returns nrmse_int, nrmse_fake_subset (same samples), the largest output
    difference in target units, and the output LSB (None for a float output).
    """
    x64 = x.astype(np.float64)
    pf = model.predict(x64, engine="fake")
    pi = model.predict(x64, engine="int")
    lsb = model.oq.qparams()[0] * model.y_scale if model.oq.bits is not None else None
    return {"nrmse_int": train.nrmse(pi, y), "nrmse_fake_subset": train.nrmse(pf, y),
            "int_vs_fake_max_abs": float(np.abs(pi - pf).max()), "out_lsb": lsb}


def run_sweep(cfg: SweepConfig, out: str | Path, cache=None, progress=True, log=print) -> dict:
    """Run (or resume) the sweep; returns the summary written by :func:`write_report`."""
    out = Path(out)
    (out / "ckpt").mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(asdict(cfg), indent=1, default=list))
    done = {r["key"] for r in read_records(out)}
    ref_res = max(cfg.resolutions)
    _, _, _, y_ref = load_data(cfg, ref_res, cache, progress)
    plan = []
    for arch, widths in cfg.archs.items():
        for res in cfg.resolutions:
            for w in widths:
                for scn in cfg.scenarios:
                    plan.append((arch, res, w, scn, cfg.head16))
        big = (arch, max(cfg.resolutions), max(widths))
        for scn in cfg.head_ablation:
            if cfg.head16 and SCENARIOS[scn][0] != "float" and scn in cfg.scenarios:
                plan.append((*big, scn, False))
    todo = [p for p in plan if point_key(cfg.pde, *p) not in done]
    log(f"qat sweep {cfg.pde}: {len(plan)} points, {len(plan) - len(todo)} already done -> {out}")
    t_run = time.time()
    bar = tqdm(todo, desc=f"sweep {cfg.pde}", disable=not progress, unit="pt")
    cur = None
    for arch, res, w, scn, h16 in bar:
        bar.set_postfix_str(f"{arch} r{res} w{w} {scn}{'' if h16 else ' nohead'}")
        t0 = time.time()
        if cur != (arch, res, w):
            xtr, ytr, xte, yte = load_data(cfg, res, cache, progress=False)
            shape = xtr.shape[1:]
            fp = build(arch, shape, w, modes=cfg.modes, seed=cfg.seed)
            ck = out / "ckpt" / f"{cfg.pde}_{arch}_r{res}_w{w}.npz"
            fp_seconds = 0.0
            if ck.exists():
                _load_ckpt(ck, fp)
            else:
                t1 = time.time()
                train.train_fp(fp, xtr, ytr, cfg.fp_epochs, cfg.fp_lr, cfg.fp_lr_final, cfg.batch,
                               cfg.seed, progress)
                fp_seconds = time.time() - t1
                _save_ckpt(ck, fp)
            fp_state = fp.state()
            cur = (arch, res, w)
        model = build(arch, shape, w, modes=cfg.modes, seed=cfg.seed)
        model.load(fp_state)
        model.y_scale = fp.y_scale
        model.set_scenario(scn, head16=h16)
        rec_extra = {}
        if scn != "fp32":
            train.calibrate(model, xtr, batch=cfg.batch)
            rec_extra["nrmse_ptq"] = train.evaluate(model, xte, yte)[0]
            train.qat(model, xtr, ytr, cfg.qat_epochs, cfg.qat_lr_factor * cfg.fp_lr_final, cfg.batch,
                      cfg.seed + 1, progress, learn_ranges=cfg.learn_ranges)
        nr, pred = train.evaluate(model, xte, yte)
        nr_ref = train.nrmse(upsample(pred, ref_res, cfg.pde), y_ref)
        ni = min(cfg.n_int_smx if SCENARIOS[scn][0] == "smx" else cfg.n_int, len(xte))
        ichk = _int_check(model, xte[:ni], yte[:ni])
        gemms = model.gemm_list(shape)
        pc = cost.pinta_cost(model, shape, cache=data.cache_dir(cache))
        q = policy(scn, "hidden", h16)
        rec = {
            "key": point_key(cfg.pde, arch, res, w, scn, h16), "pde": cfg.pde, "arch": arch, "res": res,
            "width": w, "modes": getattr(model, "modes", None), "scenario": scn, "head16": h16,
            "kind": q.kind, "w_bits": q.cost_bits[0], "a_bits": q.cost_bits[1],
            "quantized": scn != "fp32", "nrmse": nr, "nrmse_ref": nr_ref,
            "nrmse_ptq": rec_extra.get("nrmse_ptq"), **ichk, "macs": cost.macs(gemms), "bops": cost.bops(gemms),
            "n_gemms": len(gemms), "n_params": int(sum(p.value.size for p in model.params().values())),
            "pinta_cycles": pc["cycles"], "pinta_energy_j": pc["energy_j"],
            "pinta_energy_onchip_j": pc["energy_onchip_j"], "pinta_energy_dram_j": pc["energy_dram_j"],
            "pinta_macs_padded": sum(pc["macs"].values()), "cost_model": cost.cost_model_id(),
            "fp_train_seconds": fp_seconds if scn == cfg.scenarios[0] else 0.0,
            "seconds": time.time() - t0,
        }
        _append(out, rec)
    run_seconds = time.time() - t_run
    summary = write_report(out, cfg)
    summary["this_run_seconds"] = run_seconds
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary


# ------------------------------------------------------------------------------------------ report
def pareto(points: list[tuple[float, float]]) -> list[int]:
    """Indices of the non-dominated points (minimise both cost and error), by increasing cost."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], points[i][1]))
    front, best = [], np.inf
    for i in order:
        if points[i][1] < best:
            front.append(i)
            best = points[i][1]
    return front


CSV_COLS = ["pde", "arch", "res", "width", "modes", "scenario", "head16", "kind", "w_bits", "a_bits",
            "nrmse", "nrmse_ref", "nrmse_ptq", "nrmse_int", "nrmse_fake_subset", "int_vs_fake_max_abs", "out_lsb",
            "macs", "bops",
            "n_params", "pinta_cycles", "pinta_energy_j", "pinta_energy_onchip_j", "pinta_energy_dram_j",
            "pinta_macs_padded", "seconds", "fp_train_seconds"]


def write_report(out: str | Path, cfg: SweepConfig | None = None) -> dict:
    """results.csv, summary.json and PNG plots from results.jsonl; returns the summary."""
    out = Path(out)
    recs = read_records(out)
    if not recs:
        raise FileNotFoundError(f"no results in {out / 'results.jsonl'}")
    with open(out / "results.csv", "w") as f:
        f.write(",".join(CSV_COLS) + "\n")
        for r in recs:
            f.write(",".join("" if r.get(c) is None else str(r.get(c)) for c in CSV_COLS) + "\n")
    current = cost.cost_model_id()
    summary = {"sweep_seconds_total": sum(r["seconds"] for r in recs), "n_points": len(recs), "fronts": {},
               "rankings": {}, "stale_costs": sum(r.get("cost_model") != current for r in recs)}
    groups: dict = {}
    for r in recs:
        if r["head16"] or not any(x["head16"] for x in recs):
            groups.setdefault((r["pde"], r["arch"]), []).append(r)
    for (pde, arch), rs in groups.items():
        for key, label in METRICS.items():
            if any(r.get(key) is None for r in rs):
                continue
            fr = pareto([(r[key], r["nrmse_ref"]) for r in rs])
            front = [{k: rs[i].get(k) for k in ("res", "width", "scenario", key, "nrmse_ref")} for i in fr]
            nq = sum(rs[i]["quantized"] for i in fr)
            summary["fronts"].setdefault(key, {})[f"{pde}/{arch}"] = {
                "front": front, "n_front": len(fr), "n_quantized_on_front": nq,
                "fp32_on_front": [f for f in front if f["scenario"] == "fp32"],
                "claim_front_mostly_quantized": nq >= len(fr) / 2,
            }
            tag = {"bops": "bops", "pinta_cycles": "cycles", "pinta_energy_j": "energy",
                   "pinta_energy_onchip_j": "energy_onchip"}[key]
            _plot(out / f"pareto_{pde}_{arch}_{tag}.png", rs, fr, pde, arch, key, label)
        if all(r.get("pinta_cycles") is not None for r in rs):
            summary["rankings"][f"{pde}/{arch}"] = {
                m: ranking_disagreements(rs, "bops", m) for m in ("pinta_cycles", "pinta_energy_j")}
    abl = [r for r in recs if not r["head16"]]
    if abl:
        summary["head_ablation"] = []
        for r in abl:
            base = [x for x in recs if x["head16"] and x["key"].rsplit("/", 1)[0] == r["key"].rsplit("/", 1)[0]]
            summary["head_ablation"].append({"point": r["key"].rsplit("/", 1)[0], "nrmse_head8": r["nrmse"],
                                             "nrmse_head16": base[0]["nrmse"] if base else None})
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary


METRICS = {"bops": "BOPs per inference", "pinta_cycles": "PINTA cycles per inference",
           "pinta_energy_j": "PINTA energy per inference (J, DRAM included)",
           "pinta_energy_onchip_j": "PINTA on-chip energy per inference (J)"}


def kendall_tau(x, y) -> float:
    """Kendall's tau-b of two sequences (ties allowed)."""
    n = len(x)
    conc = disc = tx = ty = 0
    for i in range(n):
        for j in range(i + 1, n):
            dx, dy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
            if dx == 0 and dy == 0:
                continue
            if dx == 0:
                tx += 1
            elif dy == 0:
                ty += 1
            elif dx == dy:
                conc += 1
            else:
                disc += 1
    den = np.sqrt((conc + disc + tx) * (conc + disc + ty))
    return float((conc - disc) / den) if den else float("nan")


def ranking_disagreements(rs: list[dict], a: str, b: str, tie_rel: float = 0.01) -> dict:
    """Where ordering the points by metric ``a`` (BOPs) and by ``b`` (a PINTA cost) disagree.

    A pair is *reversed* when a says strictly cheaper and b strictly dearer (beyond
    ``tie_rel``), and *collapsed* when a differs by more than 1.5x but b ties
    within ``tie_rel``. Returns Kendall's tau, the counts, and both kinds of pair
    aggregated by scenario pair (same resolution and width only, the clean comparison),
    plus the number of reversed pairs across configurations.
    """
    xa = [r[a] for r in rs]
    xb = [r[b] for r in rs]
    rev, col = {}, {}
    n_rev = n_col = n_rev_cross = 0
    for i, ri in enumerate(rs):
        for j, rj in enumerate(rs):
            if i == j or not xa[i] < xa[j]:
                continue
            same = (ri["res"], ri["width"]) == (rj["res"], rj["width"])
            rel = (xb[i] - xb[j]) / max(abs(xb[j]), 1e-300)
            if rel > tie_rel:
                n_rev += 1
                if same:
                    k = f"{ri['scenario']} < {rj['scenario']}"
                    rev[k] = rev.get(k, 0) + 1
                else:
                    n_rev_cross += 1
            elif abs(rel) <= tie_rel and xa[j] > 1.5 * xa[i] and same:
                n_col += 1
                k = f"{ri['scenario']} < {rj['scenario']}"
                col[k] = col.get(k, 0) + 1
    return {"kendall_tau": kendall_tau(xa, xb), "n_points": len(rs), "n_reversed_pairs": n_rev,
            "n_reversed_pairs_across_configs": n_rev_cross,
            "reversed_same_config": dict(sorted(rev.items(), key=lambda kv: -kv[1])),
            "n_collapsed_pairs": n_col, "collapsed_same_config": dict(sorted(col.items(), key=lambda kv: -kv[1]))}


def markdown_table(recs: list[dict], key: str = "nrmse_ref") -> str:
    """A markdown table: one row per (pde, arch, res, width), one column per scenario (head16 points)."""
    scns = [s for s in SCENARIOS if any(r["scenario"] == s for r in recs)]
    rows: dict = {}
    for r in recs:
        if r["head16"]:
            rows.setdefault((r["pde"], r["arch"], r["res"], r["width"]), {})[r["scenario"]] = r[key]
    lines = ["| pde | arch | N | width | " + " | ".join(scns) + " |", "|" + "---|" * (4 + len(scns))]
    for (pde, arch, res, w), v in sorted(rows.items(), key=lambda kv: (kv[0][0], kv[0][1], -kv[0][2], kv[0][3])):
        cells = [f"{v[s]:.4g}" if s in v and v[s] is not None else "" for s in scns]
        lines.append(f"| {pde} | {arch} | {res} | {w} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def findings_markdown(out: str | Path) -> str:
    """The study's findings from ``<out>/summary.json`` and the records, as markdown (for the docs)."""
    out = Path(out)
    recs = [r for r in read_records(out) if r["head16"]]
    summ = json.loads((out / "summary.json").read_text())
    lines = []
    for g in sorted({(r["pde"], r["arch"]) for r in recs}):
        key = f"{g[0]}/{g[1]}"
        lines.append(f"### {key}\n")
        lines.append("| cost axis | front (scenario@N/width: nRMSE_ref) | quantized on front | fp32 on front |")
        lines.append("|---|---|---|---|")
        for m in METRICS:
            f = summ["fronts"].get(m, {}).get(key)
            if f is None:
                continue
            pts = ", ".join(f"{p['scenario']}@{p['res']}/w{p['width']}: {p['nrmse_ref']:.3g}" for p in f["front"])
            fp = ", ".join(f"N={p['res']} w={p['width']}" for p in f["fp32_on_front"]) or "none"
            lines.append(f"| {m} | {pts} | {f['n_quantized_on_front']}/{f['n_front']} | {fp} |")
        rk = summ.get("rankings", {}).get(key)
        if rk:
            lines.append("")
            for m, d in rk.items():
                rev = "; ".join(f"{k} ({v}x)" for k, v in list(d["reversed_same_config"].items())[:6]) or "none"
                col = "; ".join(f"{k} ({v}x)" for k, v in list(d["collapsed_same_config"].items())[:6]) or "none"
                lines.append(f"- BOPs vs {m}: Kendall tau {d['kendall_tau']:.3f} over {d['n_points']} points; "
                             f"{d['n_reversed_pairs']} reversed pairs ({d['n_reversed_pairs_across_configs']} across "
                             f"configurations). Reversed at equal N/width (BOPs cheaper < dearer): {rev}. "
                             f"Tied on PINTA though BOPs differ > 1.5x: {col}.")
        big = max(((r["res"], r["width"]) for r in recs if (r["pde"], r["arch"]) == g))
        rows = sorted((r for r in recs if (r["pde"], r["arch"]) == g and (r["res"], r["width"]) == big),
                      key=lambda r: list(SCENARIOS).index(r["scenario"]))
        if rows and rows[0].get("pinta_cycles") is not None:
            ref = {k: next((r[k] for r in rows if r["scenario"] == "w8a8"), None)
                   for k in ("bops", "pinta_cycles", "pinta_energy_j", "pinta_energy_onchip_j")}
            lines.append(f"\nCost of one inference at N={big[0]}, width {big[1]} (relative to w8a8 in brackets):\n")
            lines.append("| scenario | nRMSE_ref | BOPs | PINTA cycles | energy (uJ) | on-chip (uJ) | DRAM share |")
            lines.append("|---|---|---|---|---|---|---|")
            for r in rows:
                def rel(k):
                    return f"{r[k] / ref[k]:.2f}" if ref[k] else "-"
                lines.append(
                    f"| {r['scenario']} | {r['nrmse_ref']:.4g} | {r['bops']:.3g} ({rel('bops')}) | "
                    f"{r['pinta_cycles']:.4g} ({rel('pinta_cycles')}) | {r['pinta_energy_j'] * 1e6:.4g} "
                    f"({rel('pinta_energy_j')}) | {r['pinta_energy_onchip_j'] * 1e6:.4g} ({rel('pinta_energy_onchip_j')}) | "
                    f"{r['pinta_energy_dram_j'] / r['pinta_energy_j']:.2f} |")
        lines.append("")
    if summ.get("head_ablation"):
        lines.append("Head switch ablation (nRMSE at the model's grid, head at 16 bits vs at the scenario's bits):\n")
        for h in summ["head_ablation"]:
            lines.append(f"- {h['point']}: 16-bit head {h['nrmse_head16']:.4g}, scenario-width head {h['nrmse_head8']:.4g}")
    lines.append(f"\nPoints: {summ['n_points']}; sum of per-point times {summ['sweep_seconds_total']:.0f} s.")
    return "\n".join(lines)


EXACT_KEYS = ("pinta_cycles", "pinta_energy_j", "pinta_energy_onchip_j")


def _rebuild(r: dict, cfg: dict):
    """(model under the record's scenario, grid) rebuilt from a record and the sweep's config.json.

    Costs depend on shapes and widths only, so no weights are needed; the GEMM
    list must give the recorded BOPs, or the config changed since the sweep.
    """
    shape = (r["res"],) if r["pde"] == "burgers" else (r["res"], r["res"])
    m = build(r["arch"], shape, r["width"], modes=cfg["modes"], seed=cfg["seed"])
    m.set_scenario(r["scenario"], head16=r["head16"])
    if cost.bops(m.gemm_list(shape)) != r["bops"]:
        raise ValueError(f"{r['key']}: the rebuilt model's GEMM list does not match the record (config changed?)")
    return m, shape


def recost(out: str | Path, cache=None, log=print) -> int:
    """Recompute every record's PINTA cost with the current cycle and energy model (in place).

    A sweep stores its costs; after a change to the simulator's timing or the
    energy table they are stale (``summary.json`` counts them as
    ``stale_costs``). Accuracy fields are kept. ``results.jsonl`` is rewritten
    atomically; returns the number of records whose cycles or energy changed.
    """
    out = Path(out)
    cfg = json.loads((out / "config.json").read_text())
    recs, changed = read_records(out), 0
    for r in tqdm(recs, desc="recost", unit="pt", disable=log is None):
        m, shape = _rebuild(r, cfg)
        pc = cost.pinta_cost(m, shape, cache=data.cache_dir(cache))
        new = {"pinta_cycles": pc["cycles"], "pinta_energy_j": pc["energy_j"],
               "pinta_energy_onchip_j": pc["energy_onchip_j"], "pinta_energy_dram_j": pc["energy_dram_j"],
               "pinta_macs_padded": sum(pc["macs"].values())}
        changed += any(r.get(k) != v for k, v in new.items())
        r.update(new, cost_model=cost.cost_model_id())
    tmp = out / "results.jsonl.tmp"
    tmp.write_text("".join(json.dumps(r) + "\n" for r in recs))
    tmp.replace(out / "results.jsonl")
    return changed


def exact_int_costs(out: str | Path, cache=None) -> dict:
    """PINTA costs of the INT points with their activation operands in the exact MAC mode.

    For every record with integer activations (w8a16, w8a8, w4a8, w4a4) the model's GEMM
    list is rebuilt from ``<out>/config.json`` (costs depend on shapes and widths only) and
    lowered with ``onchip.exact_int_modes``. Returns {key: {pinta_cycles, pinta_energy_j,
    pinta_energy_onchip_j}} and writes it to ``<out>/exact_int.json``.
    """
    out = Path(out)
    cfg = json.loads((out / "config.json").read_text())
    res = {}
    for r in read_records(out):
        if r["kind"] != "int" or r["a_bits"] >= 32:
            continue
        m, shape = _rebuild(r, cfg)
        pc = cost.pinta_cost(m, shape, cache=data.cache_dir(cache), exact_int=True)
        res[r["key"]] = {"pinta_cycles": pc["cycles"], "pinta_energy_j": pc["energy_j"],
                         "pinta_energy_onchip_j": pc["energy_onchip_j"]}
    (out / "exact_int.json").write_text(json.dumps(res, indent=1))
    return res


def exact_int_markdown(out: str | Path) -> str:
    """Fronts and the largest configuration's costs with exact INT modes (needs exact_int.json)."""
    out = Path(out)
    ex = json.loads((out / "exact_int.json").read_text())
    recs = [r for r in read_records(out) if r["head16"]]
    lines = ["With the INT activation operands in the MAC mode that holds the zero-point-shifted codes "
             "(w8a8/w4a8 in i12x8, w4a4 in i8x8; SMX and float points unchanged):\n"]
    for g in sorted({(r["pde"], r["arch"]) for r in recs}):
        rs = [dict(r, **ex.get(r["key"], {})) for r in recs if (r["pde"], r["arch"]) == g]
        for m in ("pinta_cycles", "pinta_energy_j"):
            fr = pareto([(r[m], r["nrmse_ref"]) for r in rs])
            pts = ", ".join(f"{rs[i]['scenario']}@{rs[i]['res']}/w{rs[i]['width']}: {rs[i]['nrmse_ref']:.3g}"
                            for i in fr)
            nq = sum(rs[i]["quantized"] for i in fr)
            lines.append(f"- {g[0]}/{g[1]} by {m} (exact INT modes): front {pts}; quantized {nq}/{len(fr)}")
        big = max((r["res"], r["width"]) for r in rs)
        rows = [r for r in recs if (r["pde"], r["arch"]) == g and (r["res"], r["width"]) == big
                and r["key"] in ex]
        for r in sorted(rows, key=lambda r: list(SCENARIOS).index(r["scenario"])):
            e = ex[r["key"]]
            lines.append(f"  - N={big[0]} w={big[1]} {r['scenario']}: cycles {r['pinta_cycles']} -> "
                         f"{e['pinta_cycles']} ({e['pinta_cycles'] / r['pinta_cycles']:.2f}x), energy "
                         f"{r['pinta_energy_j'] * 1e6:.4g} -> {e['pinta_energy_j'] * 1e6:.4g} uJ "
                         f"({e['pinta_energy_j'] / r['pinta_energy_j']:.2f}x)")
    return "\n".join(lines)


def _plot(path, rs, front, pde, arch, xkey, xlabel):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scns = list(SCENARIOS)
    tab = plt.get_cmap("tab10")
    palette = [tab(i) for i in (0, 1, 2, 3, 4, 5, 6, 8, 9)]   # no gray: gray marks resolutions

    def cmap(i):
        return palette[i % len(palette)]

    markers = {r: m for r, m in zip(sorted({r["res"] for r in rs}, reverse=True), "osD^v<>")}
    fig, ax = plt.subplots(figsize=(7, 4.8))
    for r in rs:
        ax.scatter(r[xkey], r["nrmse_ref"], color=cmap(scns.index(r["scenario"])),
                   marker=markers[r["res"]], s=18 + 10 * (r["width"] >= 16), alpha=0.8)
    fx = [rs[i][xkey] for i in front]
    fy = [rs[i]["nrmse_ref"] for i in front]
    ax.step(fx, fy, where="post", color="k", lw=1, label="Pareto front")
    for i in front:
        q = rs[i]["quantized"]
        ax.scatter(rs[i][xkey], rs[i]["nrmse_ref"], s=110, facecolors="none",
                   edgecolors="crimson" if q else "k", linewidths=1.5)
    for s in scns:
        if any(r["scenario"] == s for r in rs):
            ax.scatter([], [], color=cmap(scns.index(s)), label=s)
    for res, m in markers.items():
        ax.scatter([], [], color="gray", marker=m, label=f"N={res}")
    ax.scatter([], [], s=110, facecolors="none", edgecolors="crimson", label="front: quantized")
    ax.scatter([], [], s=110, facecolors="none", edgecolors="k", label="front: fp32")
    ax.set_xscale("log")
    ax.set_yscale("log")
    # plain "1e+06" tick labels: the default mathtext log labels cost seconds per figure
    from matplotlib.ticker import FuncFormatter, NullFormatter
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0e}" if v > 0 else "0"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.2g}"))
    ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:.2g}"))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("nRMSE (at the finest resolution)")
    ax.set_title(f"{pde} / {arch}: accuracy vs cost")
    ax.legend(fontsize=7, ncol=2)
    ax.grid(True, which="both", alpha=0.3)
    fig.subplots_adjust(left=0.11, right=0.98, bottom=0.11, top=0.93)
    fig.savefig(path, dpi=100)
    plt.close(fig)
