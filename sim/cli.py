"""``pinta sim``, ``pinta asm`` and ``pinta disasm``.

* ``pinta sim PROGRAM [--config C] [--inputs data.npz] [--out DIR]`` runs a
  program (text ``.s`` or binary ``.bin``) and prints the cycle summary;
  ``--out`` writes the reports (compute/bandwidth/access/trace CSV,
  summary.json) and every STOREd tensor (``stores/``).
* ``pinta asm IN.s -o OUT.bin`` and ``pinta disasm IN.bin`` convert between
  the text and the 128-bit binary form.

Inputs: each array in the ``.npz`` is a float32 matrix (1-D arrays become one
row) placed in DRAM in the fp32 layout at the byte address its key names:
``0x1000``, ``4096`` or ``name@0x1000``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["register", "load_program", "parse_input_key"]


def _user_error(msg: str):
    from pinta.cli import UserError
    return UserError(msg)


def load_program(path: str):
    from .isa import AsmError, assemble, program_from_bytes

    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise _user_error(f"cannot read program {path}: {e.strerror}") from None
    try:
        if p.suffix == ".bin":
            return program_from_bytes(data)
        return assemble(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise _user_error(f"{path} is not UTF-8 text; name binary programs *.bin") from None
    except AsmError as e:
        raise _user_error(f"{path}: {e}") from None


def parse_input_key(key: str) -> int:
    """DRAM byte address from an npz key: '0x1000', '4096' or 'name@0x1000'."""
    text = key.rsplit("@", 1)[-1]
    try:
        addr = int(text, 0)
    except ValueError:
        raise _user_error(f"input {key!r}: the key must name a DRAM byte address, like 0x1000 or x@0x1000") from None
    if addr < 0:
        raise _user_error(f"input {key!r}: negative DRAM address")
    return addr


def _cmd_sim(args) -> int:
    from pinta.config import load_config

    from .golden_ops import NotImplementedYet
    from .machine import Machine
    from .program import ProgramError
    from .report import format_summary, write_reports

    cfg = load_config(args.config)
    program = load_program(args.program)
    m = Machine(cfg)
    if args.inputs:
        try:
            data = np.load(args.inputs)
        except (OSError, ValueError) as e:
            raise _user_error(f"cannot read inputs {args.inputs}: {e}") from None
        for key in data.files:
            x = np.asarray(data[key])
            if x.ndim == 1:
                x = x.reshape(1, -1)
            if x.ndim != 2 or x.dtype != np.float32:
                raise _user_error(f"input {key!r}: need a 1-D or 2-D float32 array, got {x.dtype} {x.shape}")
            m.put_fp32(parse_input_key(key), x)
    try:
        result = m.run(program)
    except (ProgramError, NotImplementedYet) as e:
        raise _user_error(str(e)) from None
    print(format_summary(result.analysis, cfg))
    if args.out:
        out = Path(args.out)
        files = write_reports(result.analysis, cfg, out)
        stores = out / "stores"
        stores.mkdir(parents=True, exist_ok=True)
        for k, (addr, d) in enumerate(m.stores):
            value = m.dram_tensor(addr, d)
            name = stores / f"store{k}_0x{addr:x}_{d.fmt.name}.npz"
            if d.fmt.name == "fp32":
                np.savez(name, values=value)
            elif d.fmt.name == "acc":
                np.savez(name, acc=value.acc, exponents=value.exponents, values=value.to_float())
            else:
                from pinta.golden.smx import smx_dequantize
                np.savez(name, codes=value.codes, exponents=value.exponents, values=smx_dequantize(value))
            files.append(name)
        print(f"wrote {len(files)} files to {out}")
    return 0


def _cmd_asm(args) -> int:
    from .isa import program_to_bytes

    program = load_program(args.source)
    Path(args.output).write_bytes(program_to_bytes(program))
    print(f"{len(program)} instructions -> {args.output}")
    return 0


def _cmd_disasm(args) -> int:
    from .isa import AsmError, disassemble, program_from_bytes

    try:
        data = Path(args.binary).read_bytes()
    except OSError as e:
        raise _user_error(f"cannot read {args.binary}: {e.strerror}") from None
    try:
        print(disassemble(program_from_bytes(data)), end="")
    except AsmError as e:
        raise _user_error(f"{args.binary}: {e}") from None
    return 0


def register(sub) -> None:
    p = sub.add_parser("sim", help="run a program on the cycle-accurate simulator and print its cycle summary")
    p.add_argument("program", help="program: text (.s) or binary (.bin)")
    p.add_argument("--config", default=None, help="preset name or TOML file (default: the 'default' preset)")
    p.add_argument("--inputs", default=None, help=".npz of float32 arrays keyed by DRAM byte address (0x1000 or name@0x1000)")
    p.add_argument("--out", default=None, help="directory for the reports and the STOREd tensors")
    p.set_defaults(func=_cmd_sim)

    p = sub.add_parser("asm", help="assemble a text program into 128-bit instruction words")
    p.add_argument("source")
    p.add_argument("-o", "--output", required=True)
    p.set_defaults(func=_cmd_asm)

    p = sub.add_parser("disasm", help="print a binary program as canonical text")
    p.add_argument("binary")
    p.set_defaults(func=_cmd_disasm)
