"""asyncio glue for ``TokenClient.get_token_async`` (internal).

A cache hit completes without suspending. Otherwise the core runs the request on its own
runtime and hands the result to the event loop with ``loop.call_soon_threadsafe``: the loop is
never blocked, and concurrent coroutines on one key share one request (the core's single
flight).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:
    from ._native import Token, TokenClient


async def get_token(
    client: TokenClient,
    audience: str | None,
    scope: str | Sequence[str] | None,
    organization: str | None,
) -> Token:
    token = client._poll_token(audience, scope, organization)
    if token is not None:
        return token
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Token] = loop.create_future()
    client._fetch_token(loop, future, audience, scope, organization)
    return await future


def _deliver(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    # Runs on the loop's thread; the awaiting coroutine may have been cancelled meanwhile.
    if future.done():
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)
