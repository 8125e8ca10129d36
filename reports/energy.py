"""Energy tables and the Accelergy-style energy model: action counts × energy per action.

Three layers (docs/energy-model.md is the reference for every number):

1. **Primitive tables.** A named table (``PintaConfig.energy_table``, e.g.
   ``horowitz45``) is a TOML file in ``reports/energy_tables/``. Each entry
   carries its value, unit, source, technology node (nm), supply voltage (V)
   and notes. :func:`load_energy_table` reads and validates one.
2. **Node scaling.** :func:`scale_table` moves a table to another node and
   voltage with a *named* rule from :data:`SCALING_RULES` and records the rule
   in every entry it changes.
3. **Derived actions.** :func:`action_energies` turns the primitives into the
   per-action energies the simulator's counts need (``mac_i8x8``,
   ``sram_read_weights``, ``sfu_tanh``, ...), each with the derivation in its
   notes. :func:`energy_of` multiplies counts by those energies and sums them
   per action, per category and in total, in joules.

Units: primitive energies are picojoules per operation (``pJ/op``) or per
64-bit access (``pJ/64b``); derived energies are picojoules per unit of the
simulator's count (``pJ/MAC``, ``pJ/bit``, ``pJ/byte``, ``pJ/block``,
``pJ/element``); :class:`EnergyBreakdown` is in joules.

A count whose action has no entry raises :class:`MissingEnergyEntry`, naming
the action and the table. Nothing is ever charged at a silent default.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Mapping

__all__ = [
    "EnergyEntry",
    "EnergyTable",
    "EnergyTableError",
    "MissingEnergyEntry",
    "EnergyBreakdown",
    "available_tables",
    "load_energy_table",
    "SCALING_RULES",
    "dennard_cv2",
    "scale_table",
    "mult_energy_pj",
    "adder_energy_pj",
    "sram_energy_per_bit_pj",
    "op_sequences",
    "action_energies",
    "category_of",
    "UNIT_OF_CATEGORY",
    "energy_of",
]

_REQUIRED_FIELDS = ("action", "value", "unit", "source", "node_nm", "voltage_v")


class EnergyTableError(ValueError):
    """A table that cannot be found or is malformed; the message names the table and the field."""


class MissingEnergyEntry(KeyError):
    """An action has no energy in the table. Never replaced by a default."""

    def __init__(self, action: str, table: str, hint: str = ""):
        self.action, self.table = action, table
        msg = f"energy table '{table}' has no entry for action '{action}'"
        super().__init__(msg + (f" ({hint})" if hint else ""))

    def __str__(self) -> str:  # KeyError would print the message in quotes
        return self.args[0]


@dataclass(frozen=True)
class EnergyEntry:
    """One action's energy.

    Members
    -------
    action : str      action name
    value : float     energy in ``unit`` (picojoules per op, per 64-bit access, per bit, ...)
    unit : str        e.g. ``pJ/op``, ``pJ/64b``, ``pJ/bit``, ``pJ/MAC``
    source : str      citation, or ``derived: ...`` naming the primitives used
    node_nm : float   technology node the value holds at, nm
    voltage_v : float supply voltage the value holds at, V
    notes : str       reasoning and assumptions
    scaling : str     name of the node/voltage scaling rule applied ('none' if at its source node)
    offchip : bool    an off-chip device (DRAM): not scaled with the logic node
    """

    action: str
    value: float
    unit: str
    source: str
    node_nm: float
    voltage_v: float
    notes: str = ""
    scaling: str = "none"
    offchip: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class EnergyTable:
    """A named set of primitive entries at one node and voltage."""

    name: str
    description: str
    node_nm: float
    voltage_v: float
    entries: Mapping[str, EnergyEntry] = field(default_factory=dict)
    scaling: str = "none"

    def entry(self, action: str) -> EnergyEntry:
        """The entry for ``action``; :class:`MissingEnergyEntry` if the table lacks it."""
        try:
            return self.entries[action]
        except KeyError:
            raise MissingEnergyEntry(action, self.name) from None

    def pj(self, action: str) -> float:
        """Energy of one primitive ``action`` in picojoules per op (a ``pJ/64b`` entry per 64-bit access)."""
        return float(self.entry(action).value)


# ---------------------------------------------------------------------------
# Loading


def _tables_dir():
    return resources.files("pinta.reports").joinpath("energy_tables")


def available_tables() -> list[str]:
    """Names of the tables shipped with PINTA."""
    return sorted(p.name[:-5] for p in _tables_dir().iterdir() if p.name.endswith(".toml"))


def load_energy_table(name_or_path: str | Path) -> EnergyTable:
    """Load a shipped table by name (``horowitz45``) or any TOML file by path.

    Every entry must have action, value (finite, >= 0), unit, source, node_nm and
    voltage_v; otherwise :class:`EnergyTableError` names the entry and field.
    """
    spec = str(name_or_path)
    path = Path(spec)
    if spec.endswith(".toml") and path.exists():
        text, label = path.read_text(), str(path)
    else:
        res = _tables_dir().joinpath(f"{spec}.toml")
        if not res.is_file():
            raise EnergyTableError(f"unknown energy table '{spec}'; shipped tables: {', '.join(available_tables())} "
                                   "(or give the path of a .toml table)")
        text, label = res.read_text(), spec
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise EnergyTableError(f"energy table '{label}' is not valid TOML ({e})") from None
    for key in ("name", "node_nm", "voltage_v"):
        if key not in data:
            raise EnergyTableError(f"energy table '{label}' lacks the top-level field '{key}'")
    entries: dict[str, EnergyEntry] = {}
    for i, raw in enumerate(data.get("entry", [])):
        for f in _REQUIRED_FIELDS:
            if f not in raw:
                who = raw.get("action", f"#{i}")
                raise EnergyTableError(f"energy table '{data['name']}': entry '{who}' lacks the field '{f}'")
        value = raw["value"]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise EnergyTableError(f"energy table '{data['name']}': entry '{raw['action']}' has value {value!r}; "
                                   "it must be a finite number >= 0")
        if raw["action"] in entries:
            raise EnergyTableError(f"energy table '{data['name']}': action '{raw['action']}' appears twice")
        unknown = set(raw) - set(_REQUIRED_FIELDS) - {"notes", "offchip", "scaling"}
        if unknown:
            raise EnergyTableError(f"energy table '{data['name']}': entry '{raw['action']}' has unknown fields {sorted(unknown)}")
        entries[raw["action"]] = EnergyEntry(
            raw["action"], float(value), str(raw["unit"]), str(raw["source"]), float(raw["node_nm"]),
            float(raw["voltage_v"]), str(raw.get("notes", "")), str(raw.get("scaling", "none")),
            bool(raw.get("offchip", False)))
    if not entries:
        raise EnergyTableError(f"energy table '{data['name']}' has no [[entry]] items")
    return EnergyTable(str(data["name"]), str(data.get("description", "")), float(data["node_nm"]),
                       float(data["voltage_v"]), entries)


# ---------------------------------------------------------------------------
# Node and voltage scaling


def dennard_cv2(value: float, from_node_nm: float, to_node_nm: float, from_v: float, to_v: float) -> float:
    """Dynamic switching energy E = C·V², with C proportional to the feature size.

    E' = E · (L'/L) · (V'/V)². This is classic constant-field (Dennard) scaling of
    the switched capacitance, R. H. Dennard et al., "Design of ion-implanted
    MOSFET's with very small physical dimensions", IEEE JSSC 9(5), 1974,
    applied to energy as C·V². Below about 90 nm real processes scale worse
    than this (wires and leakage do not follow), so the rule flatters a smaller
    node; the report names it so that a reader can judge.
    """
    return value * (to_node_nm / from_node_nm) * (to_v / from_v) ** 2


#: Named scaling rules: name -> f(value, from_node, to_node, from_v, to_v).
SCALING_RULES: dict[str, Callable[[float, float, float, float, float], float]] = {
    "dennard_cv2": dennard_cv2,
}


def scale_table(table: EnergyTable, node_nm: float, voltage_v: float, rule: str = "dennard_cv2") -> EnergyTable:
    """A copy of ``table`` at ``node_nm`` and ``voltage_v``, every on-chip entry scaled by ``rule``.

    Each scaled entry records ``scaling = "<rule> from <node> nm <V> V"``.
    Off-chip entries (DRAM) keep their value and record ``offchip: not scaled``.
    """
    if rule not in SCALING_RULES:
        raise EnergyTableError(f"unknown scaling rule '{rule}'; known rules: {', '.join(SCALING_RULES)}")
    if not (node_nm > 0 and voltage_v > 0):
        raise EnergyTableError(f"scaling target must have node_nm > 0 and voltage_v > 0, got {node_nm}, {voltage_v}")
    if node_nm == table.node_nm and voltage_v == table.voltage_v:
        return table
    f = SCALING_RULES[rule]
    out = {}
    for name, e in table.entries.items():
        if e.offchip:
            out[name] = dataclasses.replace(e, scaling="offchip: not scaled")
        else:
            out[name] = dataclasses.replace(
                e, value=f(e.value, e.node_nm, node_nm, e.voltage_v, voltage_v), node_nm=float(node_nm),
                voltage_v=float(voltage_v), scaling=f"{rule} from {e.node_nm:g} nm {e.voltage_v:g} V")
    return EnergyTable(table.name, table.description, float(node_nm), float(voltage_v), out,
                       scaling=f"{rule} from {table.node_nm:g} nm {table.voltage_v:g} V")


# ---------------------------------------------------------------------------
# Derivation rules


def mult_energy_pj(table: EnergyTable, a_bits: int, b_bits: int) -> float:
    """Integer a×b multiplier energy, pJ: a power law in the operand-width product a·b.

    Fitted through the two published points (8×8 -> ``int8_mult``, 32×32 ->
    ``int32_mult``): E = E8 · (a·b/64)^p with p = ln(E32/E8) / ln(1024/64).
    An array multiplier has about a·b partial-product cells, so the energy
    should grow close to linearly in a·b; the fit gives p ~ 0.99 for Horowitz's
    numbers, which agrees.
    """
    e8, e32 = table.pj("int8_mult"), table.pj("int32_mult")
    p = math.log(e32 / e8) / math.log(1024 / 64)
    return e8 * (a_bits * b_bits / 64) ** p


def adder_energy_pj(table: EnergyTable, width_bits: int) -> float:
    """Integer adder energy for ``width_bits``, pJ: linear in the width.

    Straight line through (8, ``int8_add``) and (32, ``int32_add``): a
    ripple/prefix adder has a cell per bit, so energy is about proportional to
    width plus a fixed part. Used for the accumulator add and for the
    quantizer's compares and rounding adds.
    """
    e8, e32 = table.pj("int8_add"), table.pj("int32_add")
    e = e8 + (e32 - e8) * (width_bits - 8) / 24
    if e <= 0:
        raise EnergyTableError(f"adder model gives {e} pJ for a {width_bits}-bit add; width too small for the linear fit")
    return e


#: SRAM capacity points (KiB) and their table entries (pJ per 64-bit read).
_SRAM_POINTS = ((8, "sram_read_64b_8kib"), (32, "sram_read_64b_32kib"), (1024, "sram_read_64b_1mib"))


def sram_energy_per_bit_pj(table: EnergyTable, size_kib: float) -> tuple[float, str]:
    """SRAM access energy per bit for a buffer of ``size_kib`` KiB, pJ/bit, and a note.

    Piecewise power law in capacity: linear interpolation of log(energy)
    against log(capacity) between the 8 KiB, 32 KiB and 1 MiB points, then
    divided by 64 bits. Access energy is dominated by bit-line and word-line
    wires whose length grows about with the square root of capacity; the
    published points follow that closely (×4 capacity -> ×2 energy; ×32 ->
    ×5). Outside 8 KiB–1 MiB the nearest segment is extended and the note
    says "extrapolated".
    """
    pts = [(math.log(k), math.log(table.pj(a))) for k, a in _SRAM_POINTS]
    x = math.log(size_kib)
    seg = 0 if x <= pts[1][0] else 1
    (x0, y0), (x1, y1) = pts[seg], pts[seg + 1]
    y = y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    lo, hi = _SRAM_POINTS[0][0], _SRAM_POINTS[-1][0]
    note = (f"log-log interpolation between {_SRAM_POINTS[seg][0]} KiB and {_SRAM_POINTS[seg + 1][0]} KiB points"
            + ("; extrapolated outside 8 KiB-1 MiB" if not lo <= size_kib <= hi else ""))
    return math.exp(y) / 64.0, note


def op_sequences(config) -> dict[str, dict[str, float]]:
    """Primitive-op counts per element of each composite vector-unit action.

    Primitive names: ``fp32_add``, ``fp32_mult``, ``int32_add`` (one cheap
    step: compare, select, min/max, abs, sign flip, bit/exponent manipulation),
    ``int32_mult``. Division and square root are themselves sequences.

    The special functions are counted from their normative definitions in
    :mod:`pinta.golden.fp32`; the polynomial lengths are read from the golden
    coefficient tuples, never copied. Every lane evaluates every branch of a
    definition (the golden model computes them all and selects), so the count
    is that of all branches.
    """
    from pinta.golden import fp32 as g

    nS, nC, nE, nL, nT = (len(g.SIN_COEFFS), len(g.COS_COEFFS), len(g.EXP_COEFFS), len(g.LOG_COEFFS),
                          len(g.TANH_COEFFS))

    def horner(n):  # (n-1) multiply-add steps
        return {"fp32_mult": n - 1, "fp32_add": n - 1}

    def combine(*parts):
        out: dict[str, float] = {}
        for p in parts:
            for k, v in p.items():
                out[k] = out.get(k, 0) + v
        return out

    seq: dict[str, dict[str, float]] = {}
    # Newton-Raphson division: 2 reciprocal iterations x = x(2 - b·x) (2 mul + 1 add
    # each), q = a·x (1 mul), one residual correction r = a - b·q, q + r·x
    # (2 mul + 2 add) for correct rounding; seed from a small table (1 cheap step).
    seq["fp32_div"] = {"fp32_mult": 7, "fp32_add": 4, "int32_add": 1}
    # Reciprocal-square-root iteration y = y(1.5 - 0.5·x·y²) twice (3 mul + 1 add
    # each), sqrt = x·y (1 mul), one correction (2 mul + 2 add); table seed.
    seq["fp32_sqrt"] = {"fp32_mult": 9, "fp32_add": 4, "int32_add": 1}
    # exp: clamp (2), x·log2e (1 mul), round-to-int (2 add + 1 bit step), Cody-Waite
    # r (2 mul + 2 add), r·r (1), Horner E, (r·r)·E (1 mul), r + ... and 1 + ... (2 add),
    # ldexp (2 mul + 4 integer steps), NaN select (1).
    seq["exp"] = combine({"int32_add": 2 + 1 + 4 + 1, "fp32_mult": 1 + 2 + 1 + 1 + 2, "fp32_add": 2 + 2 + 2}, horner(nE))
    # log: subnormal pre-scale (1 mul, 1 compare), exponent/mantissa split and
    # range fix (4 cheap), m·0.5 (1 mul), f = m-1, 2+f (2 add), f·f, 0.5·(.) (2 mul),
    # s = f/(2+f) (div), z = s·s, z·L (2 mul), Horner L, lo = s·(hfsq+R) + ef·ln2lo
    # (2 mul + 2 add), result ef·ln2hi - ((hfsq - lo) - f) (1 mul + 3 add), specials (4).
    seq["log"] = combine({"int32_add": 1 + 4 + 4, "fp32_mult": 1 + 1 + 2 + 2 + 2 + 1, "fp32_add": 2 + 2 + 3},
                         horner(nL), seq["fp32_div"])
    # sincos: x·2/π (1 mul), round (2 add + 1 bit), Cody-Waite r (3 mul + 3 add),
    # z = r·r (1), sine kernel (Horner S, r·z, ·S: 2 mul, r + (1 add)), cosine
    # kernel (z·z, 0.5·z, ·C: 3 mul, 2 add, Horner C), |r| test and select (2),
    # quadrant bits, swaps and sign selects (7), NaN selects (2).
    seq["sincos"] = combine({"fp32_mult": 1 + 3 + 1 + 2 + 3, "fp32_add": 2 + 3 + 1 + 2, "int32_add": 1 + 2 + 7 + 2},
                            horner(nS), horner(nC))
    # tanh: |x|, sign (2), z = x·x (1 mul), polynomial branch (Horner T, x·z, ·T: 2 mul,
    # x + (1 add)), clamp (1), exp(a + a) (1 add + exp), 1 - 2/(e + 1) (2 add + div),
    # sign and branch selects (5), NaN select (1).
    seq["tanh"] = combine({"int32_add": 2 + 1 + 5 + 1, "fp32_mult": 1 + 2, "fp32_add": 1 + 1 + 2},
                          horner(nT), seq["exp"], seq["fp32_div"])
    # Box-Muller normal, per pair of samples: two counter-based uniforms (each two
    # lowbias32 rounds of 2 int mults + 6 shift/xor steps, a key xor and add, an
    # int->float conversion, (j + 0.5)·2^-23: 1 add + 1 mul), then
    # sqrt(-2·log u1) (1 mul + log + sqrt), sincos(2π·u2) (1 mul + sincos),
    # rad·cos, rad·sin (2 mul). Halved: the action counts samples.
    uniform = {"int32_mult": 4, "int32_add": 12 + 2 + 1, "fp32_add": 1, "fp32_mult": 1}
    pair = combine(uniform, uniform, {"fp32_mult": 1 + 1 + 2}, seq["log"], seq["fp32_sqrt"], seq["sincos"])
    seq["normal_sample"] = {k: v / 2 for k, v in pair.items()}
    # Adam per weight (golden/adam.py op order): b1·m, (1-b1)·g, g·g, (1-b2)·g², b2·v,
    # lr·u (6 mul); m and v sums, sqrt(vhat) + eps, w - lr·u (4 add); m/(1-p1),
    # v/(1-p2), mhat/(...) (3 div); one sqrt. The per-step scalars p1, p2 are not per weight.
    seq["adam"] = combine({"fp32_mult": 6, "fp32_add": 4}, *(seq["fp32_div"],) * 3, seq["fp32_sqrt"])
    return seq


def _seq_energy(table: EnergyTable, seq: Mapping[str, float]) -> float:
    return sum(n * table.pj(op) for op, n in seq.items())


def _seq_text(seq: Mapping[str, float]) -> str:
    return " + ".join(f"{n:g}×{op}" for op, n in sorted(seq.items()))


#: Categories of the energy breakdown, and the hardware unit each belongs to.
UNIT_OF_CATEGORY = {
    "mac": "MAC",
    "quantizer": "QNT",
    "vector": "VEC",
    "special_function": "VEC",
    "optimizer": "VEC",
    "rng": "VEC",
    "sram": "SRAM",
    "dram": "DMA",
}


def category_of(action: str) -> str:
    """Breakdown category of a simulator action name (see :data:`UNIT_OF_CATEGORY`)."""
    for prefix, cat in (("mac_", "mac"), ("sram_", "sram"), ("dram_", "dram"), ("sfu_", "special_function"),
                        ("vec_", "vector"), ("quantizer_", "quantizer"), ("readout_", "quantizer"),
                        ("adam_", "optimizer"), ("rng_", "rng")):
        if action.startswith(prefix):
            return cat
    return "other"


_MAC_MODES = {"mac_i8x8": (8, 8), "mac_i12x8": (12, 8), "mac_i4x4": (4, 4)}
_BUFFERS = ("weights", "activations", "gradients", "optimizer")


def action_energies(table: EnergyTable, config) -> dict[str, EnergyEntry]:
    """Energy per simulator count unit for every action PINTA's simulator emits.

    ``config`` is a :class:`pinta.config.PintaConfig` (accumulator width,
    block size, buffer sizes). Returns ``{action: EnergyEntry}`` with units
    pJ/MAC, pJ/block, pJ/element, pJ/sample, pJ/bit (SRAM) and pJ/byte (DRAM),
    each derived entry's notes stating the rule. See docs/energy-model.md.
    """
    node, volt = table.node_nm, table.voltage_v
    out: dict[str, EnergyEntry] = {}
    scal = table.scaling

    def add(action, value, unit, source, notes, offchip=False):
        out[action] = EnergyEntry(action, float(value), unit, source, node, volt, notes,
                                  "offchip: not scaled" if (offchip and scal != "none") else scal, offchip)

    acc = config.accumulator_bits
    e_acc = adder_energy_pj(table, acc)
    for action, (a, b) in _MAC_MODES.items():
        m = mult_energy_pj(table, a, b)
        add(action, m + e_acc, "pJ/MAC", "derived: int8_mult, int32_mult, int8_add, int32_add",
            f"INT{a}xINT{b} multiplier {m:.4g} pJ (power law in a·b through the 8x8 and 32x32 points) + one "
            f"{acc}-bit accumulator add {e_acc:.4g} pJ (adder linear in width) per MAC; per-MAC full-width add "
            f"over-counts the 4-deep block adder tree, so it errs against PINTA (conservative)")
    bs2 = config.block_size ** 2
    wmax = max(config.element_bits)
    e_sat = adder_energy_pj(table, wmax + 1)
    q = bs2 * e_acc + (bs2 - 1) * e_acc + e_acc + bs2 * e_acc + bs2 * e_sat
    add("quantizer_blocks", q, "pJ/block", "derived: int8_add, int32_add",
        f"per {config.block_size}x{config.block_size} block: {bs2} abs + {bs2 - 1} max compares + 1 leading-one "
        f"detect + {bs2} rounding adds at the {acc}-bit accumulator width, and {bs2} saturation compares at "
        f"{wmax + 1} bits (widest element width + sign)")
    add("readout_elements", table.pj("fp32_add"), "pJ/element", "derived: fp32_add",
        "accumulator or SMX value to FP32 with one rounding: normalise + round, priced as one FP32 add")

    seq = op_sequences(config)
    simple = {
        "vec_add": ({"fp32_add": 1}, "FP32 add"),
        "vec_sub": ({"fp32_add": 1}, "FP32 subtract (an add)"),
        "vec_mul": ({"fp32_mult": 1}, "FP32 multiply"),
        "vec_div": (seq["fp32_div"], "FP32 divide as a Newton-Raphson sequence"),
        "vec_sqrt": (seq["fp32_sqrt"], "FP32 square root as a reciprocal-sqrt Newton-Raphson sequence"),
        "vec_neg": ({"int32_add": 1}, "sign flip, priced as one cheap 32-bit step"),
        "vec_dtanh": ({"fp32_mult": 1, "fp32_add": 1}, "1 - a·a"),
        "vec_sum": ({"fp32_add": 1}, "one FP32 add per element summed"),
        "vec_stein": ({"fp32_add": 2}, "d+ - d- and d+ + d- per element pair"),
        "sfu_tanh": (seq["tanh"], "golden fp32_tanh, all branches"),
        "sfu_sin": (seq["sincos"], "golden fp32_sincos (both kernels; sin selects)"),
        "sfu_cos": (seq["sincos"], "golden fp32_sincos (both kernels; cos selects)"),
        "adam_elements": (seq["adam"], "Adam update per weight, golden/adam.py op order"),
        "rng_normal_samples": (seq["normal_sample"], "Box-Muller from golden/rng.py, per sample"),
    }
    for action, (s, what) in simple.items():
        unit = "pJ/sample" if action.startswith("rng_") else "pJ/element"
        add(action, _seq_energy(table, s), unit, "derived: " + ", ".join(sorted(s)), f"{what}: {_seq_text(s)}")

    for buf in _BUFFERS:
        kib = getattr(config.buffers, buf)
        e_bit, how = sram_energy_per_bit_pj(table, kib)
        src = "derived: sram_read_64b_8kib, sram_read_64b_32kib, sram_read_64b_1mib"
        add(f"sram_read_{buf}", e_bit, "pJ/bit", src, f"{kib} KiB buffer; {how}; per bit = 64-bit read / 64")
        add(f"sram_write_{buf}", e_bit, "pJ/bit", src,
            f"{kib} KiB buffer; write priced equal to read (the source gives reads only); {how}")
    e_dram = table.pj("dram_access_64b") / 64 * 8
    dram_off = table.entry("dram_access_64b").offchip
    for d in ("dram_read", "dram_write"):
        add(d, e_dram, "pJ/byte", "derived: dram_access_64b",
            "64-bit DRAM access energy / 8 bytes; reads and writes priced alike", offchip=dram_off)
    return out


# ---------------------------------------------------------------------------
# Counts -> joules


@dataclass
class EnergyBreakdown:
    """Energy of a set of action counts.

    Members
    -------
    per_action : dict[str, float]     joules per action name
    per_category : dict[str, float]   joules per category (mac, sram, dram, ...)
    per_unit : dict[str, float]       joules per hardware unit (MAC, QNT, VEC, SRAM, DMA)
    total_j : float                   joules
    table : str                       table name
    node_nm, voltage_v : float        where the energies hold
    scaling : str                     scaling rule applied ('none' at the table's own node)
    entries : dict[str, EnergyEntry]  the per-action entries used
    """

    per_action: dict[str, float]
    per_category: dict[str, float]
    per_unit: dict[str, float]
    total_j: float
    table: str
    node_nm: float
    voltage_v: float
    scaling: str
    entries: dict[str, EnergyEntry]

    def to_dict(self) -> dict[str, Any]:
        return {"units": "joules", "table": self.table, "node_nm": self.node_nm, "voltage_v": self.voltage_v,
                "scaling": self.scaling, "total_j": self.total_j, "per_category_j": self.per_category,
                "per_unit_j": self.per_unit, "per_action_j": self.per_action,
                "entries": {k: e.to_dict() for k, e in self.entries.items()}}


def energy_of(action_counts: Mapping[str, float], table: EnergyTable | str, *, config=None,
              node: float | None = None, voltage: float | None = None, rule: str = "dennard_cv2") -> EnergyBreakdown:
    """Joules for ``action_counts`` ({action: count in the simulator's unit}).

    ``table`` is an :class:`EnergyTable` or a table name. ``config`` (a
    PintaConfig; default preset if omitted) supplies accumulator width and
    buffer sizes. ``node`` (nm) and ``voltage`` (V) move the table there with
    the scaling ``rule`` first; omitted, the table's own node and voltage are
    used. An action with no entry raises :class:`MissingEnergyEntry`.
    """
    if isinstance(table, str):
        table = load_energy_table(table)
    if config is None:
        from pinta.config import load_config

        config = load_config()
    tgt_node = table.node_nm if node is None else float(node)
    tgt_v = table.voltage_v if voltage is None else float(voltage)
    t = scale_table(table, tgt_node, tgt_v, rule)
    per_pj = action_energies(t, config)
    per_action: dict[str, float] = {}
    used: dict[str, EnergyEntry] = {}
    for action, count in action_counts.items():
        if count is None or not math.isfinite(float(count)) or float(count) < 0:
            raise ValueError(f"count of action '{action}' is {count!r}; counts must be finite and >= 0")
        if action not in per_pj:
            raise MissingEnergyEntry(action, t.name, "no primitive entry or derivation prices this action")
        e = per_pj[action]
        per_action[action] = float(count) * e.value * 1e-12
        used[action] = e
    per_cat: dict[str, float] = {}
    per_unit: dict[str, float] = {}
    for action, j in per_action.items():
        c = category_of(action)
        per_cat[c] = per_cat.get(c, 0.0) + j
        u = UNIT_OF_CATEGORY.get(c, "other")
        per_unit[u] = per_unit.get(u, 0.0) + j
    return EnergyBreakdown(per_action, per_cat, per_unit, sum(per_action.values()), t.name, tgt_node, tgt_v,
                           t.scaling, used)
