"""asyncio glue for the ``*_async`` methods (internal).

Each ``*_async`` method returns ``run(op)``: nothing starts until it is awaited. Then the core's
driver polls the work once on the loop's thread (a cache hit, a verification with the JWKS
cached, stored credentials still valid finish there, without suspending); otherwise the work
goes on on the core's runtime, which hands the result to the loop with
``loop.call_soon_threadsafe`` (``_deliver``). The loop is never blocked.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._native import _Pending


async def run(op: _Pending) -> Any:
    done, value = op._start()
    if done:
        return value
    return await value


async def ready(value: Any) -> Any:
    # An answer known before any work (a cache hit): a coroutine, as every *_async returns.
    return value


def _deliver(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    # Runs on the loop's thread; the awaiting coroutine may have been cancelled meanwhile.
    if future.done():
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)
