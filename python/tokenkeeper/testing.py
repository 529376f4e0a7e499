"""A local, Auth0-compatible authorization server for your own tests: :class:`LocalIssuer`.

It lives in the ``tokenkeeper-testing`` wheel (``pip install 'tokenkeeper[testing]'``), so that
the ``tokenkeeper`` wheel carries no server; see ``tokenkeeper_testing.local`` for what the
issuer serves and holds. This module checks that the installed issuer has tokenkeeper's version
and raises :class:`ImportError` saying what to install otherwise.
"""

from __future__ import annotations

from . import __version__

try:
    from tokenkeeper_testing import __version__ as _issuer_version
except ImportError:  # the cause stays as __context__
    raise ImportError(
        "tokenkeeper.testing needs the local issuer of the tokenkeeper-testing package: "
        "pip install 'tokenkeeper[testing]'",
        name="tokenkeeper_testing",
    )
if _issuer_version != __version__:
    raise ImportError(
        f"tokenkeeper.testing: tokenkeeper-testing {_issuer_version} is installed, but "
        f"tokenkeeper is {__version__}: install the same version of both",
        name="tokenkeeper_testing",
    )

from tokenkeeper_testing.local import Fault, LocalIssuer  # noqa: E402 (after the version check)

__all__ = ["LocalIssuer", "Fault"]
