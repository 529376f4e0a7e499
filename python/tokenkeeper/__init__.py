"""tokenkeeper: gets, caches and renews OAuth 2.0 access tokens the way Auth0 issues them.

A thin layer over the Rust core (``tokenkeeper._native``): the core does the work (the
process-wide cache, single flight, refresh ahead of expiry, retries); this package converts
arguments, results and errors.

.. code-block:: python

    from tokenkeeper import TokenClient

    client = TokenClient(domain="tenant.auth0.com", client_id="…", client_secret="…")
    token = client.get_token(audience="https://api.example.com")
    headers = {"Authorization": f"Bearer {token}"}

The wheel is built for the stable ABI (``abi3``) of CPython 3.10 and later; the free-threaded
CPython build is not supported. Core events go to the standard :mod:`logging` logger
``"tokenkeeper"`` (its children ``tokenkeeper.client``…); no secret is ever logged.
"""

from __future__ import annotations

import atexit
import logging

from ._native import Token, TokenClient, __version__, _at_exit
from .errors import (
    ConfigError,
    InvalidResponseError,
    InvalidTokenError,
    NetworkError,
    OAuthError,
    RateLimitedError,
    ReauthenticationRequiredError,
    RequestTimeoutError,
    TokenkeeperError,
)

__all__ = [
    "TokenClient",
    "Token",
    "TokenkeeperError",
    "OAuthError",
    "RateLimitedError",
    "NetworkError",
    "RequestTimeoutError",
    "InvalidResponseError",
    "ConfigError",
    "InvalidTokenError",
    "ReauthenticationRequiredError",
    "__version__",
]

# A library adds no handler of its own: the application decides where records go.
logging.getLogger("tokenkeeper").addHandler(logging.NullHandler())
# From interpreter shutdown on, the core's threads stop calling into Python.
atexit.register(_at_exit)
