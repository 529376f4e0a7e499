"""tokenkeeper: gets, caches, renews and validates OAuth 2.0 access tokens the way Auth0 issues
them.

A thin layer over the Rust core (``tokenkeeper._native``): the core does the work (the
process-wide cache, single flight, refresh ahead of expiry, retries); this package converts
arguments, results and errors.

.. code-block:: python

    from tokenkeeper import TokenClient

    client = TokenClient(domain="tenant.auth0.com", client_id="…", client_secret="…")
    token = client.get_token(audience="https://api.example.com")
    headers = {"Authorization": token.authorization_header}   # str(token) is redacted

    # In the API: verify the tokens it receives.
    from tokenkeeper import TokenVerifier, InvalidTokenError

    verifier = TokenVerifier(domain="tenant.auth0.com", audience="https://api.example.com")
    claims = verifier.verify(access_token)   # a dict of claims, or InvalidTokenError

Users sign in with :class:`SignInClient` (authorization code + PKCE) and keep valid credentials
with :class:`CredentialsManager` over a store the application provides
(:class:`CredentialsStore`).

The wheel is built for the stable ABI (``abi3``) of CPython 3.10 and later; the free-threaded
CPython build is not supported. Core events go to the standard :mod:`logging` logger
``"tokenkeeper"`` (its children ``tokenkeeper.client``…); no secret is ever logged.
"""

from __future__ import annotations

import atexit
import logging

from ._native import (
    _HTTP_KNOBS,
    CredentialsManager,
    LoginTransaction,
    PreparedRequest,
    SignInClient,
    Token,
    TokenClient,
    TokenVerifier,
    UserCredentials,
    __version__,
    _at_exit,
)
from .claims import Claims
from .errors import (
    ConfigError,
    CredentialsStoreError,
    InvalidResponseError,
    InvalidTokenError,
    NetworkError,
    OAuthError,
    RateLimitedError,
    ReauthenticationRequiredError,
    RequestTimeoutError,
    TokenAlgorithmError,
    TokenAudienceError,
    TokenAuthorizedPartyError,
    TokenAuthTimeError,
    TokenExpiredError,
    TokenIssuerError,
    TokenJwksError,
    TokenkeeperError,
    TokenMalformedError,
    TokenMissingClaimError,
    TokenNonceError,
    TokenNotYetValidError,
    TokenOrganizationError,
    TokenSignatureError,
    TokenTypeError,
    TokenUnknownKeyError,
)
from .storage import CredentialsStore, MemoryCredentialsStore

__all__ = [
    "TokenClient",
    "PreparedRequest",
    "Token",
    "TokenVerifier",
    "Claims",
    "SignInClient",
    "LoginTransaction",
    "UserCredentials",
    "CredentialsManager",
    "CredentialsStore",
    "MemoryCredentialsStore",
    "TokenkeeperError",
    "OAuthError",
    "RateLimitedError",
    "NetworkError",
    "RequestTimeoutError",
    "InvalidResponseError",
    "ConfigError",
    "CredentialsStoreError",
    "InvalidTokenError",
    "TokenMalformedError",
    "TokenAlgorithmError",
    "TokenUnknownKeyError",
    "TokenSignatureError",
    "TokenIssuerError",
    "TokenAudienceError",
    "TokenExpiredError",
    "TokenNotYetValidError",
    "TokenMissingClaimError",
    "TokenAuthorizedPartyError",
    "TokenOrganizationError",
    "TokenNonceError",
    "TokenAuthTimeError",
    "TokenJwksError",
    "TokenTypeError",
    "ReauthenticationRequiredError",
    "HTTP_KNOBS",
    "__version__",
]

#: The names of the HTTP knobs (timeouts, size limit, retries), the core's ``HTTP_KNOBS``: each
#: is a keyword argument of :class:`TokenClient`, :class:`TokenVerifier` and
#: :class:`SignInClient` (seconds for durations, whole numbers for counts).
HTTP_KNOBS: tuple[str, ...] = tuple(_HTTP_KNOBS)

# A library adds no handler of its own: the application decides where records go.
logging.getLogger("tokenkeeper").addHandler(logging.NullHandler())
# From interpreter shutdown on, the core's threads stop calling into Python.
atexit.register(_at_exit)
