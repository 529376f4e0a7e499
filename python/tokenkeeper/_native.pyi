"""Type stubs of the native module (checked with ``mypy.stubtest`` in the tests)."""

import asyncio
import datetime
from typing import Any, Coroutine, Sequence, final

__all__ = ["__version__", "TokenClient", "Token", "Issuer", "Fault", "_at_exit", "_sample_error", "_TOKEN_CHECKS"]

__version__: str
_TOKEN_CHECKS: list[str]

def _at_exit() -> None: ...
def _sample_error(kind: str, check: str | None = None) -> BaseException: ...

@final
class Token:
    """An access token. ``str(token)`` is the access token; ``repr`` never shows it."""

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
class TokenClient:
    """Gets client-credentials access tokens, served from the process-wide cache."""

    def __new__(
        cls,
        domain: str,
        client_id: str,
        client_secret: str | None = None,
        *,
        private_key: str | None = None,
        private_key_alg: str = "RS256",
        private_key_id: str | None = None,
        auth_method: str | None = None,
        audience: str | None = None,
        token_url: str | None = None,
        timeout: float | None = None,
        connect_timeout: float | None = None,
        max_attempts: int | None = None,
        max_retry_after: float | None = None,
        expiry_margin: float | None = None,
        refresh_ahead: float | None = None,
        max_refresh_ahead: float | None = None,
        jitter: float | None = None,
        cache: bool = True,
        max_response_bytes: int | None = None,
    ) -> TokenClient: ...
    @staticmethod
    def from_env(
        *,
        auth_method: str | None = None,
        audience: str | None = None,
        token_url: str | None = None,
        timeout: float | None = None,
        connect_timeout: float | None = None,
        max_attempts: int | None = None,
        max_retry_after: float | None = None,
        expiry_margin: float | None = None,
        refresh_ahead: float | None = None,
        max_refresh_ahead: float | None = None,
        jitter: float | None = None,
        cache: bool = True,
        max_response_bytes: int | None = None,
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
    def _poll_token(
        self,
        audience: str | None = None,
        scope: str | Sequence[str] | None = None,
        organization: str | None = None,
    ) -> Token | None: ...
    def _fetch_token(
        self,
        loop_: asyncio.AbstractEventLoop,
        future: asyncio.Future[Token],
        audience: str | None = None,
        scope: str | Sequence[str] | None = None,
        organization: str | None = None,
    ) -> None: ...
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
    def stats(self) -> dict[str, int]: ...
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
class Issuer:
    """The local issuer, in-process (see ``tokenkeeper.testing.LocalIssuer``)."""

    @staticmethod
    def start(port: int = 0) -> Issuer: ...
    def stop(self) -> None: ...
    @property
    def running(self) -> bool: ...
    @property
    def fixture_json(self) -> str: ...
    def count(self, endpoint: str = "token") -> int: ...
    def counts(self) -> dict[str, int]: ...
    def inject(self, fault: Fault | dict[str, Any]) -> None: ...
    def add_api(self, audience: str, scopes: list[str] = ..., lifetime: int = 86400) -> None: ...
    def reset(self) -> None: ...
    def jwks_json(self) -> str: ...

@final
class Fault:
    """A fault for the local issuer's next requests."""

    @staticmethod
    def status(status: int, error: str, description: str) -> Fault: ...
    @staticmethod
    def rate_limited(retry_after: int) -> Fault: ...
    @staticmethod
    def raw(status: int, body: str) -> Fault: ...
    @staticmethod
    def delay(ms: int) -> Fault: ...
    @staticmethod
    def oversized(size: int) -> Fault: ...
    @staticmethod
    def drop_connection() -> Fault: ...
    def times(self, n: int) -> Fault: ...
    def on(self, endpoint: str) -> Fault: ...
    def header(self, name: str, value: str) -> Fault: ...
