"""Options of ``pinta train`` that only the sim backend reads (kept import-light: the CLI loads this at start-up)."""

from __future__ import annotations


def add_sim_options(p) -> None:
    g = p.add_argument_group("sim backend (--backend sim)")
    g.add_argument("--chip-config", default=None, metavar="NAME|FILE",
                   help="PINTA configuration the iteration is compiled for (default: 'default'; a resumed run keeps its own)")
    g.add_argument("--hidden", default=None, metavar="W1,W2,..",
                   help="hidden widths instead of the PDE's (small end-to-end runs)")
    g.add_argument("--n-interior", type=int, default=None, metavar="B", help="interior points per iteration instead of the PDE's")
    g.add_argument("--n-boundary", type=int, default=None, metavar="N", help="boundary points per iteration instead of the PDE's")
    g.add_argument("--n-initial", type=int, default=None, metavar="N", help="initial points per iteration instead of the PDE's")
