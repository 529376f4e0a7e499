"""The exceptions tokenkeeper raises: one class per cause a caller can act on.

Every one subclasses :class:`TokenkeeperError`. Messages are one line and never contain a
secret (client secret, private key, or token). ``kind`` is the core's name of the cause, the
same on every surface. ``transient`` tells whether the same call may succeed later without any
change (network trouble, rate limiting, a 5xx), and ``http_status`` the HTTP status of the
answer it comes from: the core sets all three on each error it raises.

========================================  ==================================================
class                                      raised when
========================================  ==================================================
:class:`OAuthError`                        the server answered with an OAuth error
                                           (``invalid_client``, ``access_denied``…):
                                           ``.error``, ``.error_description``, ``.status``
:class:`RateLimitedError`                  HTTP 429: ``.retry_after`` seconds (or ``None``)
:class:`NetworkError`                      the server could not be reached, or the
                                           connection broke
:class:`RequestTimeoutError`               a connect or request timeout elapsed (also a
                                           :class:`NetworkError` and a built-in
                                           :class:`TimeoutError`)
:class:`InvalidResponseError`              the server answered with something unusable:
                                           ``.status``
:class:`ConfigError`                       the client or the request cannot work as given
                                           (also a :class:`ValueError`)
:class:`CredentialsStoreError`             the credentials store of a
                                           :class:`~tokenkeeper.CredentialsManager` raised:
                                           the store's exception is ``__cause__``
:class:`InvalidTokenError`                 a token failed validation: ``.check`` names the
                                           check; one subclass per check (for example
                                           :class:`TokenTypeError`, ``token_type``: the
                                           header's ``typ`` does not fit, or an ID token
                                           was sent as an access token)
:class:`ReauthenticationRequiredError`     a user's session cannot be renewed: sign in again
========================================  ==================================================
"""

from __future__ import annotations

import builtins
from typing import Any, ClassVar

__all__ = [
    "TokenkeeperError",
    "OAuthError",
    "RateLimitedError",
    "NetworkError",
    "RequestTimeoutError",
    "InvalidResponseError",
    "ConfigError",
    "CredentialsStoreError",
    "InvalidTokenError",
    "ReauthenticationRequiredError",
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
]


def _restore(cls: type[TokenkeeperError], args: tuple[Any, ...], state: dict[str, Any]) -> TokenkeeperError:
    err = cls.__new__(cls, *args)
    BaseException.__init__(err, *args)
    err.__dict__.update(state)
    return err


class TokenkeeperError(Exception):
    """Base class of every tokenkeeper error."""

    #: The cause, as the core names it on every surface (``oauth``, ``network``…).
    kind: ClassVar[str] = "error"
    #: Whether the same call may succeed later without any change.
    transient: bool = False
    #: The HTTP status of the answer the error comes from, when there was one (429 for
    #: :class:`RateLimitedError`); set by the core on every error it raises.
    http_status: int | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        # Subclasses take more arguments than they pass up: pickle by state, not by args.
        return (_restore, (type(self), self.args, dict(self.__dict__)))


class OAuthError(TokenkeeperError):
    """The authorization server answered with an OAuth error.

    ``error`` is the OAuth code (``access_denied``, ``invalid_client``, ``unauthorized_client``,
    ``invalid_request``, ``invalid_grant``, ``server_error``…), ``error_description`` the
    server's text, ``status`` the HTTP status.
    """

    kind: ClassVar[str] = "oauth"

    def __init__(self, message: str, error: str, error_description: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.error = error
        self.error_description = error_description
        self.status = status


class RateLimitedError(TokenkeeperError):
    """HTTP 429. ``retry_after``: seconds to wait (from ``Retry-After`` or
    ``X-RateLimit-Reset``), or ``None`` when the server did not say."""

    kind: ClassVar[str] = "rate_limited"
    transient: bool = True

    def __init__(self, message: str, retry_after: float | None = None, error_description: str | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.error_description = error_description


class NetworkError(TokenkeeperError):
    """The server could not be reached, or the connection broke."""

    kind: ClassVar[str] = "network"
    transient: bool = True


class RequestTimeoutError(NetworkError, builtins.TimeoutError):
    """A connect or request timeout elapsed. Also a :class:`NetworkError` and a built-in
    :class:`TimeoutError`, so ``except TimeoutError`` catches it."""

    kind: ClassVar[str] = "timeout"


class InvalidResponseError(TokenkeeperError):
    """The server answered, but not with something usable (not JSON, no ``access_token``, not a
    ``Bearer`` token, too large…). ``status``: the HTTP status, if any."""

    kind: ClassVar[str] = "invalid_response"

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ConfigError(TokenkeeperError, ValueError):
    """The client or the request was configured in a way that cannot work (plain ``http`` off
    loopback, empty client id, unreadable private key, no audience…)."""

    kind: ClassVar[str] = "config"


class CredentialsStoreError(TokenkeeperError):
    """A method of the credentials store given to a :class:`~tokenkeeper.CredentialsManager`
    raised. The message names the method and the exception (``credentials store error: load()
    failed: OSError: …``); the exception itself is ``__cause__``, with its traceback. A
    :class:`TokenkeeperError` raised by a store reaches the caller as it was raised, not wrapped
    in this class."""

    kind: ClassVar[str] = "storage"


class InvalidTokenError(TokenkeeperError):
    """A token failed validation. ``check`` names the check that rejected it; each check has its
    own subclass (:class:`TokenExpiredError`, :class:`TokenAudienceError`…)."""

    kind: ClassVar[str] = "invalid_token"
    check: str | None = None

    def __init__(self, message: str, check: str | None = None) -> None:
        super().__init__(message)
        if check is not None:
            self.check = check

    @classmethod
    def for_check(cls, check: str, message: str) -> InvalidTokenError:
        """The exception of the subclass for ``check`` (this class for an unknown check)."""
        sub = _BY_CHECK.get(check)
        if sub is None:
            return InvalidTokenError(message, check)
        return sub(message)


class TokenMalformedError(InvalidTokenError):
    """Not a well-formed JWS compact token, or too large."""

    check = "malformed"


class TokenAlgorithmError(InvalidTokenError):
    """``alg`` not allowed (``none``, HMAC…) or not matching the key."""

    check = "algorithm"


class TokenUnknownKeyError(InvalidTokenError):
    """No key in the JWKS with the token's ``kid``, even after a refetch."""

    check = "unknown_key"


class TokenSignatureError(InvalidTokenError):
    """The signature does not verify."""

    check = "signature"


class TokenIssuerError(InvalidTokenError):
    """``iss`` is not an accepted issuer."""

    check = "issuer"


class TokenAudienceError(InvalidTokenError):
    """``aud`` does not contain the expected audience."""

    check = "audience"


class TokenExpiredError(InvalidTokenError):
    """``exp`` is in the past (beyond the leeway)."""

    check = "expired"


class TokenNotYetValidError(InvalidTokenError):
    """``nbf`` or ``iat`` is in the future (beyond the leeway)."""

    check = "not_yet_valid"


class TokenMissingClaimError(InvalidTokenError):
    """A required claim is missing or has the wrong type."""

    check = "missing_claim"


class TokenAuthorizedPartyError(InvalidTokenError):
    """``azp`` is not the expected authorized party."""

    check = "authorized_party"


class TokenOrganizationError(InvalidTokenError):
    """``org_id``/``org_name`` does not match the required organization."""

    check = "organization"


class TokenNonceError(InvalidTokenError):
    """The ID token's ``nonce`` does not match."""

    check = "nonce"


class TokenAuthTimeError(InvalidTokenError):
    """The ID token's ``auth_time`` is older than ``max_age`` allows."""

    check = "auth_time"


class TokenJwksError(InvalidTokenError):
    """The JWKS could not be fetched or used."""

    check = "jwks"


class TokenTypeError(InvalidTokenError):
    """The header's ``typ`` does not fit the kind of token expected (an access token: absent,
    ``JWT`` or ``at+jwt``; an ID token: absent or ``JWT``), or an ID token (it has ``nonce``,
    ``at_hash`` or ``c_hash``) was sent where an access token is expected."""

    check = "token_type"


_BY_CHECK: dict[str, type[InvalidTokenError]] = {
    str(c.check): c for c in InvalidTokenError.__subclasses__() if c.check is not None
}


class ReauthenticationRequiredError(TokenkeeperError):
    """The user's session cannot be renewed (refresh token unknown, expired, revoked or rotated
    out): the user must sign in again. ``error``/``error_description`` as the server said."""

    kind: ClassVar[str] = "reauthentication_required"

    def __init__(self, message: str, error: str = "invalid_grant", error_description: str | None = None) -> None:
        super().__init__(message)
        self.error = error
        self.error_description = error_description
