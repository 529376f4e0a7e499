"""Type stubs of the native module (checked with ``mypy.stubtest`` in the tests)."""

import datetime
import os
from typing import Any, ClassVar, Coroutine, Iterator, Mapping, Sequence, TypedDict, final

from typing_extensions import Unpack

from tokenkeeper.storage import CredentialsStore

__all__ = [
    "__version__",
    "TokenClient",
    "PreparedRequest",
    "Token",
    "Claims",
    "TokenVerifier",
    "SignInClient",
    "LoginTransaction",
    "UserCredentials",
    "CredentialsManager",
    "_Pending",
    "_at_exit",
    "_cli",
    "_sample_error",
    "_TOKEN_CHECKS",
    "_LATEST_TIME",
    "_HTTP_KNOBS",
    "_CACHE_KNOBS",
]

__version__: str
_TOKEN_CHECKS: list[str]
#: The latest time a time claim reads as (9999-12-31T23:59:59Z), the core's ``LATEST_TIME``.
_LATEST_TIME: int
_HTTP_KNOBS: list[str]
_CACHE_KNOBS: list[str]

class _HttpOptions(TypedDict, total=False):
    """The HTTP knobs (the core's ``HTTP_KNOBS``, taken by name): seconds for durations,
    whole numbers for counts; ``None`` keeps the core's default."""

    connect_timeout: float | None
    request_timeout: float | None
    max_response_bytes: int | None
    max_attempts: int | None
    initial_backoff: float | None
    max_backoff: float | None
    max_retry_after: float | None
    retry_after_cap: float | None
    #: A PEM file of extra CA certificates trusted for HTTPS, besides the system's roots.
    ca_file: str | os.PathLike[str] | None
    #: The old name of ``request_timeout``.
    timeout: float | None

class _ClientOptions(_HttpOptions, total=False):
    """``TokenClient``'s knobs: the HTTP ones and the cache ones (the core's ``CACHE_KNOBS``;
    ``enabled`` is ``cache=``)."""

    expiry_margin: float | None
    refresh_ahead: float | None
    max_refresh_ahead: float | None
    jitter: float | None

def _at_exit() -> None: ...
def _cli(argv: list[str]) -> int:
    """Runs the ``tokenkeeper`` command line ``argv`` (the program's name first); the exit status."""
def _sample_error(kind: str, check: str | None = None) -> BaseException: ...

@final
class Token:
    """An access token. Neither ``str(token)`` nor ``repr(token)`` shows it: read
    ``access_token`` or ``authorization_header``."""

    @property
    def access_token(self) -> str: ...
    @property
    def token_type(self) -> str: ...
    @property
    def expires_in(self) -> int: ...
    @property
    def expires_at(self) -> datetime.datetime: ...
    @property
    def scope(self) -> str | None: ...
    @property
    def remaining(self) -> float: ...
    @property
    def authorization_header(self) -> str: ...

@final
class Claims:
    """Every claim of a token, read-only: a mapping (``claims["https://example.com/roles"]``)
    with typed access to the common claims, all the core's. ``to_dict()`` gives a ``dict``."""

    def __new__(cls, claims: Mapping[str, Any] | None = None) -> Claims: ...
    def __getitem__(self, key: str, /) -> Any: ...
    def __contains__(self, key: object, /) -> bool: ...
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[str]: ...
    def __eq__(self, value: object, /) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]
    def get(self, name: str, default: Any = None) -> Any: ...
    def keys(self) -> list[str]: ...
    def values(self) -> list[Any]: ...
    def items(self) -> list[tuple[str, Any]]: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __reduce__(self) -> tuple[Any, tuple[dict[str, Any]]]: ...
    def get_str(self, name: str) -> str | None: ...
    def get_int(self, name: str) -> int | None: ...
    def get_float(self, name: str) -> float | None: ...
    def get_bool(self, name: str) -> bool | None: ...
    def has_audience(self, audience: str) -> bool: ...
    def has_scope(self, scope: str) -> bool: ...
    @property
    def iss(self) -> str | None: ...
    @property
    def sub(self) -> str | None: ...
    @property
    def aud(self) -> list[str]: ...
    @property
    def azp(self) -> str | None: ...
    @property
    def scope(self) -> str | None: ...
    @property
    def scopes(self) -> list[str]: ...
    @property
    def org_id(self) -> str | None: ...
    @property
    def org_name(self) -> str | None: ...
    def actor_chain(self) -> list[str]: ...
    @property
    def nonce(self) -> str | None: ...
    @property
    def exp(self) -> int | None: ...
    @property
    def iat(self) -> int | None: ...
    @property
    def nbf(self) -> int | None: ...
    @property
    def auth_time(self) -> int | None: ...
    @property
    def expires_at(self) -> datetime.datetime | None: ...

@final
class PreparedRequest:
    """A request of one ``TokenClient`` (``client.prepare(...)``), checked and normalised once:
    ``get_token()`` on it is the cheapest way to ask for the same token again and again."""

    def get_token(self) -> Token: ...
    def get_token_async(self) -> Coroutine[Any, Any, Token]: ...
    def cached(self) -> Token | None: ...
    def invalidate(self) -> None: ...
    def invalidate_if_current(self, token: Token) -> bool: ...
    def after_rejection(self, token: Token) -> Token | None:
        """The 401 rule: drops ``token`` if it is still the cached one, then the token to retry
        with once, or ``None`` when the issuer serves the same token again."""
    def after_rejection_async(self, token: Token) -> Coroutine[Any, Any, Token | None]: ...
    @property
    def audience(self) -> str: ...
    @property
    def scope(self) -> str | None: ...
    @property
    def organization(self) -> str | None: ...

@final
class TokenClient:
    """Gets client-credentials access tokens, served from the process-wide cache."""

    def __new__(
        cls,
        domain: str,
        client_id: str,
        client_secret: str | None = None,
        *,
        private_key: str | None = None,
        private_key_alg: str | None = None,
        private_key_id: str | None = None,
        auth_method: str | None = None,
        audience: str | None = None,
        token_url: str | None = None,
        cache: bool = True,
        shared_cache: str | None = None,
        **options: Unpack[_ClientOptions],
    ) -> TokenClient: ...
    @staticmethod
    def from_env(
        *,
        auth_method: str | None = None,
        audience: str | None = None,
        token_url: str | None = None,
        cache: bool = True,
        shared_cache: str | None = None,
        **options: Unpack[_ClientOptions],
    ) -> TokenClient: ...
    def get_token(
        self,
        audience: str | None = None,
        scope: str | Sequence[str] | None = None,
        organization: str | None = None,
    ) -> Token: ...
    def get_token_async(
        self,
        audience: str | None = None,
        scope: str | Sequence[str] | None = None,
        organization: str | None = None,
    ) -> Coroutine[Any, Any, Token]: ...
    def exchange(
        self,
        subject_token: str,
        subject_token_type: str,
        audience: str | None = None,
        scope: str | Sequence[str] | None = None,
        actor_token: str | None = None,
        actor_token_type: str | None = None,
        organization: str | None = None,
        connection: str | None = None,
        login_hint: str | None = None,
    ) -> Token: ...
    def exchange_async(
        self,
        subject_token: str,
        subject_token_type: str,
        audience: str | None = None,
        scope: str | Sequence[str] | None = None,
        actor_token: str | None = None,
        actor_token_type: str | None = None,
        organization: str | None = None,
        connection: str | None = None,
        login_hint: str | None = None,
    ) -> Coroutine[Any, Any, Token]: ...
    def invalidate_exchange_if_current(
        self,
        token: Token,
        subject_token: str,
        subject_token_type: str,
        audience: str | None = None,
        scope: str | Sequence[str] | None = None,
        actor_token: str | None = None,
        actor_token_type: str | None = None,
        organization: str | None = None,
        connection: str | None = None,
        login_hint: str | None = None,
    ) -> bool:
        """Forgets the cached answer of the exchange only if it is still ``token`` (an API
        rejected it). Whether it was forgotten."""
    def prepare(
        self,
        audience: str | None = None,
        scope: str | Sequence[str] | None = None,
        organization: str | None = None,
    ) -> PreparedRequest: ...
    def cached(
        self,
        audience: str | None = None,
        scope: str | Sequence[str] | None = None,
        organization: str | None = None,
    ) -> Token | None: ...
    def invalidate(
        self,
        audience: str | None = None,
        scope: str | Sequence[str] | None = None,
        organization: str | None = None,
    ) -> None: ...
    def invalidate_if_current(
        self,
        token: Token,
        audience: str | None = None,
        scope: str | Sequence[str] | None = None,
        organization: str | None = None,
    ) -> bool: ...
    def stats(self) -> dict[str, int]:
        """``tokens_minted``, ``cache_hits``, ``refreshes``, ``errors``, ``shared_hits``,
        ``shared_errors``."""
    def requests_auth(
        self,
        audience: str | None = None,
        scope: str | Sequence[str] | None = None,
        organization: str | None = None,
    ) -> Any: ...
    def httpx_auth(
        self,
        audience: str | None = None,
        scope: str | Sequence[str] | None = None,
        organization: str | None = None,
    ) -> Any: ...
    @property
    def domain(self) -> str: ...
    @property
    def issuer(self) -> str: ...
    @property
    def client_id(self) -> str: ...
    @property
    def auth_method(self) -> str: ...
    @property
    def token_url(self) -> str: ...

@final
class TokenVerifier:
    """Verifies access tokens and ID tokens against the tenant's JWKS."""

    def __new__(
        cls,
        domain: str,
        audience: str,
        issuers: Sequence[str] | None = None,
        leeway: float | None = None,
        organization: str | None = None,
        *,
        organization_name: str | None = None,
        authorized_party: str | None = None,
        algorithms: str | Sequence[str] | None = None,
        max_token_bytes: int | None = None,
        jwks_url: str | None = None,
        jwks_lifetime: float | None = None,
        jwks_min_refetch_interval: float | None = None,
        **options: Unpack[_HttpOptions],
    ) -> TokenVerifier: ...
    @staticmethod
    def from_env(**options: Unpack[_HttpOptions]) -> TokenVerifier: ...
    def verify(
        self,
        token: str,
        *,
        audience: str | None = None,
        organization: str | None = None,
        organization_name: str | None = None,
    ) -> Claims: ...
    def verify_async(
        self,
        token: str,
        *,
        audience: str | None = None,
        organization: str | None = None,
        organization_name: str | None = None,
    ) -> Coroutine[Any, Any, Claims]: ...
    def verify_id_token(
        self,
        token: str,
        nonce: str | None = None,
        max_age: int | None = None,
        *,
        audience: str | None = None,
        organization: str | None = None,
        organization_name: str | None = None,
    ) -> Claims: ...
    def verify_id_token_async(
        self,
        token: str,
        nonce: str | None = None,
        max_age: int | None = None,
        *,
        audience: str | None = None,
        organization: str | None = None,
        organization_name: str | None = None,
    ) -> Coroutine[Any, Any, Claims]: ...
    def refresh_jwks(self) -> int: ...
    def refresh_jwks_async(self) -> Coroutine[Any, Any, int]: ...
    def stats(self) -> dict[str, int]: ...
    @property
    def audience(self) -> str: ...
    @property
    def issuers(self) -> list[str]: ...
    @property
    def jwks_url(self) -> str: ...

@final
class SignInClient:
    """Signs users in (authorization code + PKCE) and renews their tokens."""

    def __new__(
        cls,
        domain: str,
        client_id: str,
        redirect_uri: str,
        *,
        client_secret: str | None = None,
        private_key: str | None = None,
        private_key_alg: str | None = None,
        private_key_id: str | None = None,
        auth_method: str | None = None,
        audience: str | None = None,
        scope: str | Sequence[str] | None = None,
        offline_access: bool | None = None,
        organization: str | None = None,
        issuers: Sequence[str] | None = None,
        leeway: float | None = None,
        authorize_url: str | None = None,
        token_url: str | None = None,
        userinfo_url: str | None = None,
        shared_cache: str | None = None,
        **options: Unpack[_HttpOptions],
    ) -> SignInClient: ...
    @staticmethod
    def from_env(**options: Unpack[_HttpOptions]) -> SignInClient: ...
    def authorize(
        self,
        *,
        audience: str | None = None,
        scope: str | Sequence[str] | None = None,
        organization: str | None = None,
        max_age: int | None = None,
        redirect_uri: str | None = None,
        extra: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
    ) -> LoginTransaction: ...
    def handle_callback(self, transaction: LoginTransaction, callback_url: str) -> UserCredentials: ...
    def handle_callback_async(
        self, transaction: LoginTransaction, callback_url: str
    ) -> Coroutine[Any, Any, UserCredentials]: ...
    def callback_code(self, transaction: LoginTransaction, callback_url: str) -> str: ...
    def exchange_code(self, transaction: LoginTransaction, code: str) -> UserCredentials: ...
    def exchange_code_async(self, transaction: LoginTransaction, code: str) -> Coroutine[Any, Any, UserCredentials]: ...
    def refresh(self, refresh_token: str, scope: str | Sequence[str] | None = None) -> UserCredentials: ...
    def refresh_async(
        self, refresh_token: str, scope: str | Sequence[str] | None = None
    ) -> Coroutine[Any, Any, UserCredentials]: ...
    def userinfo(self, access_token: str) -> Claims: ...
    def userinfo_async(self, access_token: str) -> Coroutine[Any, Any, Claims]: ...
    @property
    def client_id(self) -> str: ...
    @property
    def issuer(self) -> str: ...
    @property
    def id_token_verifier(self) -> TokenVerifier: ...

@final
class LoginTransaction:
    """One login in progress; ``repr`` never shows the PKCE verifier."""

    __hash__: ClassVar[None]  # type: ignore[assignment]
    @property
    def url(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def nonce(self) -> str: ...
    @property
    def redirect_uri(self) -> str: ...
    @property
    def scope(self) -> str: ...
    @property
    def audience(self) -> str | None: ...
    @property
    def organization(self) -> str | None: ...
    @property
    def max_age(self) -> int | None: ...
    def to_json(self) -> str: ...
    @classmethod
    def from_json(cls, json: str) -> LoginTransaction: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class UserCredentials:
    """The tokens of a signed-in user; ``repr`` never shows a token."""

    __hash__: ClassVar[None]  # type: ignore[assignment]
    def __new__(
        cls,
        access_token: str,
        expires_at: datetime.datetime | float,
        *,
        token_type: str = "Bearer",
        scope: str | None = None,
        refresh_token: str | None = None,
        id_token: str | None = None,
    ) -> UserCredentials: ...
    @property
    def access_token(self) -> str: ...
    @property
    def token_type(self) -> str: ...
    @property
    def expires_at(self) -> datetime.datetime: ...
    @property
    def remaining(self) -> float: ...
    @property
    def scope(self) -> str | None: ...
    @property
    def refresh_token(self) -> str | None: ...
    @property
    def id_token(self) -> str | None: ...
    @property
    def authorization_header(self) -> str: ...
    def is_valid_for(self, min_ttl: float = 0.0) -> bool: ...
    def has_scope(self, scope: str | Sequence[str]) -> bool: ...
    def id_token_claims(self) -> Claims | None: ...
    def to_json(self) -> str: ...
    @classmethod
    def from_json(cls, json: str) -> UserCredentials: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class CredentialsManager:
    """Keeps a signed-in user's credentials valid, in a store the application provides."""

    def __new__(cls, sign_in: SignInClient, store: CredentialsStore) -> CredentialsManager: ...
    def credentials(
        self, min_ttl: float = 60.0, scope: str | Sequence[str] | None = None, audience: str | None = None
    ) -> UserCredentials:
        """``audience``: an access token for another API from the same refresh token (Auth0
        MRRT), cached per audience and scope set; ``ConfigError`` naming it when it is outside
        the application's refresh-token policies."""
    def credentials_async(
        self, min_ttl: float = 60.0, scope: str | Sequence[str] | None = None, audience: str | None = None
    ) -> Coroutine[Any, Any, UserCredentials]: ...
    def renew(self) -> UserCredentials: ...
    def renew_async(self) -> Coroutine[Any, Any, UserCredentials]: ...
    def save(self, credentials: UserCredentials) -> None: ...
    def has_credentials(self) -> bool: ...
    def stored(self) -> UserCredentials | None: ...
    def clear(self, revoke: bool = False) -> None: ...
    def stats(self) -> dict[str, int]: ...
    @property
    def sign_in(self) -> SignInClient: ...
    @property
    def store(self) -> CredentialsStore: ...

@final
class _Pending:
    """The work of one ``*_async`` call (started by ``tokenkeeper._aio.run``)."""

    def _start(self) -> tuple[bool, Any]: ...
