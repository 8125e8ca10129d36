"""PINTA co-design toolkit.

The toolkit describes PINTA, an accelerator that trains physics-informed
neural networks on chip, at three levels that agree bit for bit:

- :mod:`pinta.golden`: NumPy golden model (numerics and training algorithms);
- :mod:`pinta.sim`: cycle-accurate simulator of PINTA programs;
- :mod:`pinta.hw`: Amaranth RTL.

:mod:`pinta.flows` compiles and runs training on them, :mod:`pinta.reports`
turns the results into speed, energy and area reports. Every layer reads one
:class:`pinta.config.PintaConfig`.
"""

from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("pinta")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

from .config import ConfigError, PintaConfig, load_config

__all__ = ["__version__", "ConfigError", "PintaConfig", "load_config"]
