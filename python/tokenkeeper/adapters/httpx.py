"""An :mod:`httpx` auth (sync and async clients) that takes its bearer token from a
:class:`tokenkeeper.TokenClient`.

.. code-block:: python

    auth = client.httpx_auth(audience="https://api.example.com")
    httpx.get("https://api.example.com/things", auth=auth)
    async with httpx.AsyncClient(auth=auth) as http:
        await http.get("https://api.example.com/things")
"""

from __future__ import annotations

from typing import AsyncGenerator, Generator

import httpx

from ._auth import _Auth

__all__ = ["HttpxAuth"]


class HttpxAuth(_Auth, httpx.Auth):
    """Sets ``Authorization: Bearer <token>`` (the async flow never blocks the event loop); a
    401 is retried once as the core's :meth:`~tokenkeeper.PreparedRequest.after_rejection`
    says."""

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.prepared.get_token()
        request.headers["Authorization"] = token.authorization_header
        response = yield request
        if response.status_code == 401 and self.retry_on_401:
            fresh = self.prepared.after_rejection(token)
            if fresh is not None:
                response.read()
                request.headers["Authorization"] = fresh.authorization_header
                yield request

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self.prepared.get_token_async()
        request.headers["Authorization"] = token.authorization_header
        response = yield request
        if response.status_code == 401 and self.retry_on_401:
            fresh = await self.prepared.after_rejection_async(token)
            if fresh is not None:
                await response.aread()
                request.headers["Authorization"] = fresh.authorization_header
                yield request
