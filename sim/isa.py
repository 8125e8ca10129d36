"""The PINTA instruction set: opcodes, the 128-bit binary encoding and the text form.

This module is the single source of the ISA. ``docs/isa.md`` prints the same
tables (a test checks that the document and :data:`OPCODES` agree), and the
RTL controller decodes the words laid out here.

Word layout (every instruction is one 128-bit word, little-endian when stored
as 16 bytes):

* bits [127:120] opcode (8 bits)
* bits [119:117] unit   (3 bits; must equal the opcode's unit, so the issue
  logic can steer a word without a table lookup)
* bits [116:0]   the opcode's operand fields, packed from bit 0 upwards in
  the order :data:`OPCODES` lists them; unused high bits must be zero.

Text form: ``MNEMONIC f1, f2, key=value, ...``: one instruction per line;
descriptor and view register operands are positional (``t3``, ``v1``), all
other fields are ``name=value``. ``#`` starts a comment. The disassembler
prints the canonical form, and text -> binary -> text is the identity on
canonical text.
"""

from __future__ import annotations

import enum
import re
import struct
from dataclasses import dataclass

__all__ = [
    "Unit", "Buffer", "Fmt", "MacMode", "Field", "OpSpec", "Instr", "OPCODES", "BY_MNEMONIC",
    "WORD_BITS", "WORD_BYTES", "NUM_DESCRIPTORS", "NUM_VIEWS", "AsmError",
    "encode", "decode", "assemble", "disassemble", "parse_line", "format_instr",
    "program_to_bytes", "program_from_bytes",
]

#: Instruction word width in bits and bytes.
WORD_BITS = 128
WORD_BYTES = WORD_BITS // 8
OPCODE_SHIFT = 120
UNIT_SHIFT = 117
FIELD_BITS = UNIT_SHIFT  # operand fields occupy bits [116:0]

#: Tensor-descriptor registers (t0..t31) and view registers (v0..v7; v0 is
#: the hard-wired identity view and cannot be written).
NUM_DESCRIPTORS = 32
NUM_VIEWS = 8
#: A view has this many dimensions (unused trailing ones are 1).
VIEW_DIMS = 4


class AsmError(ValueError):
    """A malformed instruction word or text line; the message says which."""


class Unit(enum.IntEnum):
    """Execution units. Each executes one instruction at a time."""
    CTRL = 0  # controller: descriptor set-up, barriers
    DMA = 1   # off-chip load/store
    MAC = 2   # SMX MAC array (also the TT contraction engine: GEMMs with views)
    QNT = 3   # SMX quantizer / accumulator read-out
    VEC = 4   # FP32 vector and special-function unit


class Buffer(enum.IntEnum):
    """On-chip SRAM buffers (sizes from ``cfg.buffers``)."""
    weights = 0
    activations = 1
    gradients = 2
    optimizer = 3


class Fmt(enum.IntEnum):
    """Storage format of a tensor descriptor (layouts in :mod:`pinta.sim.layout`)."""
    fp32 = 0
    smx4 = 1
    smx8 = 2
    smx12 = 3
    acc = 4

    @property
    def smx_bits(self) -> int | None:
        """Element width of an SMX format, None for fp32 and acc."""
        return _SMX_BITS.get(int(self))


_SMX_BITS = {1: 4, 2: 8, 3: 12}


class MacMode(enum.IntEnum):
    """MAC-array precision modes: the operand widths (op(a), op(b))."""
    # Same numbering as the MAC array's ``Precision`` (hw/common.py), so the
    # controller passes the field through. i12x8 / i8x12: the INT12 operand
    # is op(a) (row side) / op(b) (column side).
    i8x8 = 0
    i12x8 = 1
    i8x12 = 2
    i4x4 = 3

    @property
    def widths(self) -> tuple[int, int]:
        """(bits of op(a), bits of op(b))."""
        return {0: (8, 8), 1: (12, 8), 2: (8, 12), 3: (4, 4)}[int(self)]

    @classmethod
    def for_widths(cls, bits_a: int, bits_b: int) -> "MacMode":
        for m in cls:
            if m.widths == (bits_a, bits_b):
                return m
        raise ValueError(f"no MAC mode multiplies INT{bits_a} by INT{bits_b}")


@dataclass(frozen=True)
class Field:
    """One operand field: name, width in bits, and kind.

    kinds: ``desc`` (tensor-descriptor register, printed ``tN``), ``view``
    (view register, ``vN``), ``uint`` (unsigned integer, printed decimal or
    hex when ``hex``), ``enum`` (printed by name), ``f32`` (IEEE binary32
    bits, printed as the shortest decimal that round-trips), ``perm`` (a
    permutation of the 4 view axes, 2 bits per output axis, printed as 4
    digits: digit k = source axis of output axis k).
    """
    name: str
    width: int
    kind: str
    enum_type: type | None = None
    hex: bool = False
    positional: bool = False


def _desc(name: str) -> Field:
    return Field(name, 5, "desc", positional=True)


def _view(name: str) -> Field:
    return Field(name, 3, "view", positional=True)


@dataclass(frozen=True)
class OpSpec:
    """An opcode: its number, unit, operand fields and a one-line meaning."""
    opcode: int
    mnemonic: str
    unit: Unit
    fields: tuple[Field, ...]
    summary: str
    #: Fields that name descriptors the instruction reads / writes.
    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()

    def field_offsets(self) -> list[tuple[Field, int]]:
        out, pos = [], 0
        for f in self.fields:
            out.append((f, pos))
            pos += f.width
        return out


def _ops() -> list[OpSpec]:
    u32 = lambda n: Field(n, 32, "uint")  # noqa: E731
    vec2 = (_desc("dst"), _desc("a"), _desc("b"))
    vec1 = (_desc("dst"), _desc("a"))
    ops = [
        # --- controller -------------------------------------------------
        OpSpec(0x00, "NOP", Unit.CTRL, (), "do nothing for one issue cycle"),
        OpSpec(0x01, "TDESC", Unit.CTRL, (
            _desc("t"), Field("buf", 2, "enum", Buffer), Field("fmt", 3, "enum", Fmt),
            Field("addr", 32, "uint", hex=True), Field("rows", 16, "uint"), Field("cols", 16, "uint")),
            "define tensor descriptor t: buffer, format, base word address, logical shape"),
        OpSpec(0x02, "VIEW", Unit.CTRL, (
            _view("v"), Field("d0", 16, "uint"), Field("d1", 16, "uint"), Field("d2", 16, "uint"),
            Field("d3", 16, "uint"), Field("perm", 8, "perm")),
            "define view v: the source read as a row-major d0×d1×d2×d3 array whose axes are permuted (output axis k = source axis perm[k])"),
        OpSpec(0x03, "BARRIER", Unit.CTRL, (), "issue nothing further until every earlier instruction has completed"),
        OpSpec(0x04, "WAIT", Unit.CTRL, (Field("unit", 3, "enum", Unit),),
               "issue nothing further until every earlier instruction on `unit` has completed"),
        # --- DMA --------------------------------------------------------
        OpSpec(0x10, "LOAD", Unit.DMA, (_desc("dst"), Field("dram", 40, "uint", hex=True)),
               "copy the tensor image at DRAM byte address `dram` into descriptor dst", writes=("dst",)),
        OpSpec(0x11, "STORE", Unit.DMA, (_desc("src"), Field("dram", 40, "uint", hex=True)),
               "copy descriptor src's buffer image to DRAM byte address `dram`", reads=("src",)),
        # --- MAC array --------------------------------------------------
        OpSpec(0x20, "GEMM", Unit.MAC, (
            _desc("dst"), _desc("a"), _desc("b"), Field("mode", 2, "enum", MacMode),
            Field("ta", 1, "uint"), Field("tb", 1, "uint"), Field("accum", 1, "uint")),
            "dst(acc) = op(a)·op(b), SMX GEMM; op transposes when ta/tb; accum=1 (add into dst) is reserved: not implemented yet",
            reads=("a", "b"), writes=("dst",)),
        # --- quantizer --------------------------------------------------
        OpSpec(0x30, "QUANT", Unit.QNT, (_desc("dst"), _desc("src"), _view("view")),
               "dst(smxB) = SMX quantization of src (fp32 or acc) read through view", reads=("src",), writes=("dst",)),
        # Added for the training compiler: the long-reduction GEMM operands (one accumulator chunk,
        # 8,192 rows) are built tile by tile, so their FP32 sources are never resident whole.
        OpSpec(0x34, "QUANTR", Unit.QNT, (_desc("dst"), _desc("src"), _view("view"), Field("row", 16, "uint")),
               "rows [row, row+n) of dst(smxB) = SMX quantization of src (fp32 or acc) read through view, "
               "n = elements(src) / dst.cols; row on a block boundary", reads=("src",), writes=("dst",)),
        OpSpec(0x31, "ACCF", Unit.QNT, vec1, "dst(fp32) = accumulator a rounded once to FP32", reads=("a",), writes=("dst",)),
        OpSpec(0x32, "DEQ", Unit.QNT, vec1, "dst(fp32) = exact values of SMX tensor a (FP32 when representable)", reads=("a",), writes=("dst",)),
        OpSpec(0x33, "DIFFQ", Unit.QNT, (_desc("qbase"), _desc("qdiff"), _desc("base"), _desc("diff")),
               "DiffQuant: qbase = Q(base), qdiff = Q(diff), each with its own block exponents (fp32 or acc sources)",
               reads=("base", "diff"), writes=("qbase", "qdiff")),
        # --- vector / special-function unit -----------------------------
        OpSpec(0x40, "VADD", Unit.VEC, vec2, "dst = a + b (FP32, elementwise)", reads=("a", "b"), writes=("dst",)),
        OpSpec(0x41, "VSUB", Unit.VEC, vec2, "dst = a - b (FP32, elementwise)", reads=("a", "b"), writes=("dst",)),
        OpSpec(0x42, "VMUL", Unit.VEC, vec2, "dst = a * b (FP32, elementwise)", reads=("a", "b"), writes=("dst",)),
        OpSpec(0x43, "VDIV", Unit.VEC, vec2, "dst = a / b (FP32, elementwise)", reads=("a", "b"), writes=("dst",)),
        OpSpec(0x44, "VSQRT", Unit.VEC, vec1, "dst = sqrt(a) (FP32, elementwise)", reads=("a",), writes=("dst",)),
        OpSpec(0x45, "VNEG", Unit.VEC, vec1, "dst = -a (exact sign flip; with VSIN gives cos' = -sin)", reads=("a",), writes=("dst",)),
        OpSpec(0x48, "VTANH", Unit.VEC, vec1, "dst = tanh(a)", reads=("a",), writes=("dst",)),
        OpSpec(0x49, "VSIN", Unit.VEC, vec1, "dst = sin(a)", reads=("a",), writes=("dst",)),
        OpSpec(0x4A, "VCOS", Unit.VEC, vec1, "dst = cos(a) (also sin'(a))", reads=("a",), writes=("dst",)),
        OpSpec(0x4B, "VDTANH", Unit.VEC, vec1, "dst = tanh'(x) = 1 - a*a from the forward output a = tanh(x)", reads=("a",), writes=("dst",)),
        # Row-broadcast elementwise ops (added for the training compiler, flows/compiler.py):
        # b is (a.rows / g) x C or x 1; row r of a pairs with row r // g of b, g = a.rows / b.rows.
        # One op covers the bias add (b 1xC), the centre gather of DiffQuant (b = the
        # centres, g = K) and per-row coefficients (b Rx1).
        OpSpec(0x4C, "VADDB", Unit.VEC, vec2, "dst = a + b broadcast (b: a.rows/g rows, a.cols or 1 cols; row r uses b row r // g)",
               reads=("a", "b"), writes=("dst",)),
        OpSpec(0x4D, "VSUBB", Unit.VEC, vec2, "dst = a - b broadcast (as VADDB)", reads=("a", "b"), writes=("dst",)),
        OpSpec(0x4E, "VMULB", Unit.VEC, vec2, "dst = a * b broadcast (as VADDB)", reads=("a", "b"), writes=("dst",)),
        OpSpec(0x4F, "VSCALE", Unit.VEC, (_desc("dst"), _desc("a"), Field("scale", 32, "f32")),
               "dst = a * scale (FP32 immediate, one IEEE multiply per element)", reads=("a",), writes=("dst",)),
        OpSpec(0x50, "VSUM", Unit.VEC, (_desc("dst"), _desc("a"), Field("axis", 2, "uint")),
               "dst = fixed-order tree sum of a over axis (0: over rows -> 1×cols; 1: over cols -> rows×1)",
               reads=("a",), writes=("dst",)),
        OpSpec(0x53, "VRED", Unit.VEC, (_desc("dst"), _desc("a"), _view("view"), Field("axis", 2, "uint"), Field("span", 2, "uint")),
               "dst = fixed-order tree sum of a read through view, over the merged axes axis..axis+span of the permuted 4-D array",
               reads=("a",), writes=("dst",)),
        OpSpec(0x51, "STEIN", Unit.VEC, (_desc("gdiff"), _desc("gsum"), _desc("up"), _desc("um")),
               "Stein pair sums: gdiff = up - um (g+ - g-), gsum = up + um (g+ + g- - 2g) from Δu+ = up, Δu- = um",
               reads=("up", "um"), writes=("gdiff", "gsum")),
        OpSpec(0x52, "STEINE", Unit.VEC, (_desc("grad"), _desc("lap"), _desc("val"), _desc("up"), _desc("um"), _desc("d"),
                                          Field("sigma", 32, "f32")),
               "Stein estimates over K pairs: up, um B×K (Δu+, Δu-), d (B·K)×D perturbations; "
               "grad B×D, lap B×1 (Laplacian), val B×1 (value offset to add to g(x))",
               reads=("up", "um", "d"), writes=("grad", "lap", "val")),
        OpSpec(0x58, "ADAM", Unit.VEC, (_desc("w"), _desc("m"), _desc("v"), _desc("g"), _desc("s"),
                                        Field("step", 24, "uint"), Field("total", 24, "uint")),
               "Adam update of w, m, v from gradient g; s = 1×8 FP32 scalars [lr0, beta1, beta2, eps, beta1^t, beta2^t, 0, 0]; "
               "lr = linear decay of lr0 at step/total",
               reads=("w", "m", "v", "g", "s"), writes=("w", "m", "v", "s")),
        OpSpec(0x5A, "RNG", Unit.VEC, (_desc("dst"), Field("seed", 32, "uint", hex=True), Field("stream", 16, "uint"),
                                       Field("ctr", 32, "uint"), Field("scale", 32, "f32")),
               "dst = scale * N(0,1) samples (counter-based generator: seed, stream, first counter ctr), row-major",
               writes=("dst",)),
    ]
    return ops


OPCODES: dict[int, OpSpec] = {op.opcode: op for op in _ops()}
#: opcode -> (field names, per field (Field, 2**width, needs the full check)) for Instr.make.
_MAKE_INFO = {op.opcode: (tuple(f.name for f in op.fields),
                          tuple((f, 1 << f.width, f.kind == "enum" or (f.kind == "view" and f.name == "v")) for f in op.fields))
              for op in OPCODES.values()}
BY_MNEMONIC: dict[str, OpSpec] = {op.mnemonic: op for op in OPCODES.values()}
for _op in OPCODES.values():  # every layout must fit the operand area
    assert sum(f.width for f in _op.fields) <= FIELD_BITS, _op.mnemonic


@dataclass(frozen=True, eq=False)
class Instr:
    """A decoded instruction: its spec and field values (ints) by name.

    Equal (and hashed) by opcode and field values, i.e. by its encoding.
    """
    spec: OpSpec
    values: tuple[int, ...]

    def __post_init__(self) -> None:
        # Field lookup by name and hashing (programs are cache keys) are on
        # the simulator's hot path.
        object.__setattr__(self, "_by_name", {f.name: v for f, v in zip(self.spec.fields, self.values)})
        object.__setattr__(self, "_key", (self.spec.opcode, self.values))
        object.__setattr__(self, "_hash", hash(self._key))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Instr):
            return NotImplemented
        return self._key == other._key

    def __hash__(self) -> int:
        return self._hash

    @property
    def mnemonic(self) -> str:
        return self.spec.mnemonic

    def __getitem__(self, name: str) -> int:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"{self.spec.mnemonic} has no field {name!r}") from None

    def get(self, name: str, default: int | None = None) -> int | None:
        try:
            return self[name]
        except KeyError:
            return default

    @classmethod
    def make(cls, mnemonic: str, **values: int) -> "Instr":
        """Build an instruction from field values (enums accepted as ints)."""
        spec = BY_MNEMONIC.get(mnemonic.upper())
        if spec is None:
            raise AsmError(f"unknown mnemonic {mnemonic!r}")
        names, checks = _MAKE_INFO[spec.opcode]
        if len(values) != len(names) or not all(n in values for n in names):
            extra = sorted(set(values) - set(names))
            if extra:
                raise AsmError(f"{spec.mnemonic}: unknown field {extra[0]!r}; fields are {', '.join(names) or '(none)'}")
            missing = [n for n in names if n not in values]
            raise AsmError(f"{spec.mnemonic}: missing field {missing[0]!r}")
        vals = tuple(int(values[n]) for n in names)
        # Fast path (compilers emit ~10^5 instructions): plain range checks; the
        # full check (enums, v0) only for the fields that need it or fail.
        for (f, limit, full), v in zip(checks, vals):
            if full or not 0 <= v < limit:
                _check_range(spec, f, v)
        return cls(spec, vals)

    def __str__(self) -> str:
        return format_instr(self)


def _check_range(spec: OpSpec, f: Field, v: int) -> None:
    if not 0 <= v < (1 << f.width):
        raise AsmError(f"{spec.mnemonic}: field {f.name}={v} does not fit {f.width} bits")
    if f.kind == "enum":
        try:
            f.enum_type(v)
        except ValueError:
            raise AsmError(f"{spec.mnemonic}: field {f.name}={v} is not a valid {f.enum_type.__name__}") from None
    if f.kind == "view" and f.name == "v" and v == 0:
        raise AsmError(f"{spec.mnemonic}: view register v0 is the fixed identity view and cannot be written")


# ---------------------------------------------------------------------------
# Binary
# ---------------------------------------------------------------------------

def encode(ins: Instr) -> int:
    """The 128-bit instruction word, as a Python int."""
    word = (ins.spec.opcode << OPCODE_SHIFT) | (int(ins.spec.unit) << UNIT_SHIFT)
    for (f, off), v in zip(ins.spec.field_offsets(), ins.values):
        word |= v << off
    return word


def decode(word: int, index: int | None = None) -> Instr:
    """Decode one 128-bit word; ``AsmError`` names the problem (and the index)."""
    where = f"word {index}: " if index is not None else ""
    if not 0 <= word < (1 << WORD_BITS):
        raise AsmError(f"{where}not a {WORD_BITS}-bit word")
    opcode = word >> OPCODE_SHIFT
    spec = OPCODES.get(opcode)
    if spec is None:
        raise AsmError(f"{where}unknown opcode 0x{opcode:02x}")
    unit = (word >> UNIT_SHIFT) & 0x7
    if unit != spec.unit:
        raise AsmError(f"{where}{spec.mnemonic}: unit field {unit} does not match the opcode's unit {int(spec.unit)} ({spec.unit.name})")
    vals = []
    used = 0
    for f, off in spec.field_offsets():
        v = (word >> off) & ((1 << f.width) - 1)
        try:
            _check_range(spec, f, v)
        except AsmError as e:
            raise AsmError(f"{where}{e}") from None
        vals.append(v)
        used = off + f.width
    if (word & ((1 << FIELD_BITS) - 1)) >> used:
        raise AsmError(f"{where}{spec.mnemonic}: reserved bits [{FIELD_BITS - 1}:{used}] must be zero")
    return Instr(spec, tuple(vals))


def program_to_bytes(program: list[Instr]) -> bytes:
    """Instructions as consecutive 16-byte little-endian words."""
    return b"".join(encode(i).to_bytes(WORD_BYTES, "little") for i in program)


def program_from_bytes(data: bytes) -> list[Instr]:
    if len(data) % WORD_BYTES:
        raise AsmError(f"binary program length {len(data)} bytes is not a multiple of {WORD_BYTES}")
    return [decode(int.from_bytes(data[i:i + WORD_BYTES], "little"), i // WORD_BYTES) for i in range(0, len(data), WORD_BYTES)]


# ---------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------

def _f32_text(bits: int) -> str:
    (x,) = struct.unpack("<f", struct.pack("<I", bits))
    if x != x or x in (float("inf"), float("-inf")):
        return f"0x{bits:08x}"  # NaN/Inf immediates keep their exact bits
    import numpy as np  # shortest decimal that round-trips binary32
    text = np.format_float_positional(np.float32(x), unique=True, trim="-") if x == 0 or 1e-4 <= abs(x) < 1e8 \
        else np.format_float_scientific(np.float32(x), unique=True, trim="-")
    return text


def _f32_bits(text: str) -> int:
    import numpy as np

    if text.lower().startswith("0x"):
        return int(text, 16)
    x = float(text)
    if x != x or x in (float("inf"), float("-inf")):
        raise ValueError("write NaN/Inf immediates as raw hex bits")
    with np.errstate(over="ignore", under="ignore"):
        f = np.float32(x)  # IEEE round to nearest even
    bits = int(np.array(f).view(np.uint32))
    if not np.isfinite(f):
        raise ValueError(f"{text} is outside the FP32 range")
    if x != 0 and f == 0:
        raise ValueError(f"{text} underflows to zero in FP32")
    return bits


def format_field(f: Field, v: int) -> str:
    if f.kind == "desc":
        return f"t{v}"
    if f.kind == "view":
        return f"v{v}"
    if f.kind == "enum":
        return f.enum_type(v).name
    if f.kind == "f32":
        return _f32_text(v)
    if f.kind == "perm":
        return "".join(str((v >> (2 * k)) & 3) for k in range(VIEW_DIMS))
    return f"0x{v:x}" if f.hex else str(v)


def format_instr(ins: Instr) -> str:
    """Canonical text of one instruction."""
    pos = [format_field(f, v) for f, v in zip(ins.spec.fields, ins.values) if f.positional]
    kw = [f"{f.name}={format_field(f, v)}" for f, v in zip(ins.spec.fields, ins.values) if not f.positional]
    ops = ", ".join(pos + kw)
    return f"{ins.spec.mnemonic} {ops}".rstrip()


def _parse_value(spec: OpSpec, f: Field, text: str) -> int:
    text = text.strip()
    try:
        if f.kind in ("desc", "view"):
            prefix = "t" if f.kind == "desc" else "v"
            if not re.fullmatch(prefix + r"\d+", text):
                raise ValueError(f"expected a {'descriptor' if f.kind == 'desc' else 'view'} register like {prefix}0")
            return int(text[1:])
        if f.kind == "enum":
            try:
                return int(f.enum_type[text])
            except KeyError:
                raise ValueError(f"expected one of {', '.join(m.name for m in f.enum_type)}") from None
        if f.kind == "f32":
            return _f32_bits(text)
        if f.kind == "perm":
            if not re.fullmatch(r"[0-3]{%d}" % VIEW_DIMS, text):
                raise ValueError(f"expected {VIEW_DIMS} digits 0-3, output axis k reading source axis digit k (e.g. 0213)")
            return sum(int(ch) << (2 * k) for k, ch in enumerate(text))
        return int(text, 0)
    except ValueError as e:
        raise AsmError(f"{spec.mnemonic}: field {f.name}={text!r}: {e}") from None


def parse_line(line: str) -> Instr | None:
    """Parse one text line (None for blank or comment-only lines)."""
    line = line.split("#", 1)[0].strip()
    if not line:
        return None
    head, _, rest = line.partition(" ")
    spec = BY_MNEMONIC.get(head.upper())
    if spec is None:
        raise AsmError(f"unknown mnemonic {head!r}")
    parts = [p.strip() for p in rest.split(",")] if rest.strip() else []
    positional = [f for f in spec.fields if f.positional]
    values: dict[str, int] = {}
    n_pos = 0
    for p in parts:
        if not p:
            raise AsmError(f"{spec.mnemonic}: empty operand")
        if "=" in p:
            name, _, val = p.partition("=")
            name = name.strip()
            f = next((f for f in spec.fields if f.name == name), None)
            if f is None:
                raise AsmError(f"{spec.mnemonic}: unknown field {name!r}; fields are {', '.join(x.name for x in spec.fields) or '(none)'}")
            if name in values:
                raise AsmError(f"{spec.mnemonic}: field {name!r} given twice")
            values[name] = _parse_value(spec, f, val)
        else:
            if n_pos >= len(positional):
                raise AsmError(f"{spec.mnemonic}: too many positional operands (takes {len(positional)})")
            f = positional[n_pos]
            n_pos += 1
            values[f.name] = _parse_value(spec, f, p)
    return Instr.make(spec.mnemonic, **values)


def assemble(text: str) -> list[Instr]:
    """Parse a program; errors name the line number."""
    program = []
    for lineno, line in enumerate(text.splitlines(), 1):
        try:
            ins = parse_line(line)
        except AsmError as e:
            raise AsmError(f"line {lineno}: {e}") from None
        if ins is not None:
            program.append(ins)
    return program


def disassemble(program: list[Instr]) -> str:
    return "".join(format_instr(i) + "\n" for i in program)


def encoding_table_markdown() -> str:
    """The encoding table of docs/isa.md, generated from :data:`OPCODES`."""
    lines = ["| mnemonic | opcode | unit | operand fields, bit ranges [msb:lsb] in the 128-bit word |",
             "|---|---|---|---|"]
    for spec in sorted(OPCODES.values(), key=lambda s: s.opcode):
        fields = ", ".join(f"{f.name}[{off + f.width - 1}:{off}]" for f, off in spec.field_offsets()) or "(none)"
        lines.append(f"| `{spec.mnemonic}` | 0x{spec.opcode:02X} | {spec.unit.name} | {fields} |")
    return "\n".join(lines) + "\n"
