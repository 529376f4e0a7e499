"""The local issuer behind :mod:`tokenkeeper.testing` (use that module, which checks the
versions match): the native server (``_issuer``) and :class:`~tokenkeeper_testing.local.LocalIssuer`
over it (``local``, imported on demand so that a version check can run first)."""

from ._issuer import Fault, Issuer, __version__

__all__ = ["Fault", "Issuer", "__version__"]
