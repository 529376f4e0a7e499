"""asyncio glue for the ``*_async`` methods (internal).

A cache hit completes without suspending. Otherwise the core runs the request on its own
runtime and hands the result to the event loop with ``loop.call_soon_threadsafe``: the loop is
never blocked, and concurrent coroutines on one key share one request (the core's single
flight).

``run`` drives the other ``*_async`` methods (``verify_async``, ``credentials_async``…) the same
way: the work is polled once on the loop's thread when the coroutine is awaited (a verification
with the JWKS cached, or credentials still valid, finish there), then continues on the core's
runtime.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:
    from ._native import Token, TokenClient, _Pending


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


async def run(op: _Pending) -> Any:
    done, value = op._poll()
    if done:
        return value
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()
    op._spawn(loop, future)
    return await future


def _deliver(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    # Runs on the loop's thread; the awaiting coroutine may have been cancelled meanwhile.
    if future.done():
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)
