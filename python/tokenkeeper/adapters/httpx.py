"""An :mod:`httpx` auth (sync and async clients) that takes its bearer token from a
:class:`tokenkeeper.TokenClient`.

.. code-block:: python

    auth = client.httpx_auth(audience="https://api.example.com")
    httpx.get("https://api.example.com/things", auth=auth)
    async with httpx.AsyncClient(auth=auth) as http:
        await http.get("https://api.example.com/things")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, AsyncGenerator, Generator, Sequence

import httpx

if TYPE_CHECKING:
    from .._native import Token, TokenClient

__all__ = ["HttpxAuth"]


class HttpxAuth(httpx.Auth):
    """Sets ``Authorization: Bearer <token>`` (the async flow never blocks the event loop). On
    a 401 answer, the token sent is dropped from the cache if it is still the cached one
    (:meth:`~tokenkeeper.TokenClient.invalidate_if_current`: a token another caller renewed
    meanwhile is kept), and the request is sent once more if the token now served differs
    from the one refused."""

    def __init__(
        self,
        client: TokenClient,
        audience: str | None = None,
        scope: str | Sequence[str] | None = None,
        organization: str | None = None,
        *,
        retry_on_401: bool = True,
    ) -> None:
        self.client = client
        self.audience = audience
        self.scope = scope
        self.organization = organization
        self.retry_on_401 = retry_on_401

    def _drop(self, sent: Token) -> None:
        # One atomic step in the core: drops `sent` only if it is still the cached token, never
        # a token another caller fetched meanwhile.
        self.client.invalidate_if_current(sent, self.audience, self.scope, self.organization)

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.client.get_token(self.audience, self.scope, self.organization)
        request.headers["Authorization"] = token.authorization_header
        response = yield request
        if response.status_code == 401 and self.retry_on_401:
            self._drop(token)
            fresh = self.client.get_token(self.audience, self.scope, self.organization)
            if fresh.access_token != token.access_token:
                response.read()
                request.headers["Authorization"] = fresh.authorization_header
                yield request

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self.client.get_token_async(self.audience, self.scope, self.organization)
        request.headers["Authorization"] = token.authorization_header
        response = yield request
        if response.status_code == 401 and self.retry_on_401:
            self._drop(token)
            fresh = await self.client.get_token_async(self.audience, self.scope, self.organization)
            if fresh.access_token != token.access_token:
                await response.aread()
                request.headers["Authorization"] = fresh.authorization_header
                yield request

    def __repr__(self) -> str:
        return f"HttpxAuth(client={self.client!r}, audience={self.audience!r})"
