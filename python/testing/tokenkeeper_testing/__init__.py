"""The native local issuer behind :mod:`tokenkeeper.testing` (use that module, not this one)."""

from ._issuer import Fault, Issuer, __version__

__all__ = ["Fault", "Issuer", "__version__"]
