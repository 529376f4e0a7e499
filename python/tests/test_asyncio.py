"""asyncio: get_token_async never blocks the loop; 200 coroutines on a cold key, one request."""

from __future__ import annotations

import asyncio
import time

import pytest

from tokenkeeper import OAuthError, Token, TokenClient
from tokenkeeper.testing import Fault, LocalIssuer


def test_get_token_async(issuer: LocalIssuer, client: TokenClient) -> None:
    async def main() -> tuple[Token, Token]:
        a = await client.get_token_async(audience=issuer.audience)
        b = await client.get_token_async(audience=issuer.audience)
        return a, b

    a, b = asyncio.run(main())
    assert a is b and a.token_type == "Bearer"
    assert issuer.count("token") == 1
    # shared with the blocking API
    assert client.get_token(issuer.audience) is a


def test_a_coroutine_made_before_the_loop_runs(issuer: LocalIssuer, client: TokenClient) -> None:
    tok = asyncio.run(client.get_token_async(issuer.audience))
    assert tok.access_token


def test_a_cache_hit_completes_without_suspending(issuer: LocalIssuer, client: TokenClient) -> None:
    tok = client.get_token(issuer.audience)
    coro = client.get_token_async(issuer.audience)
    with pytest.raises(StopIteration) as done:
        coro.send(None)
    assert done.value.value is tok


def test_200_coroutines_on_a_cold_key_make_one_request(issuer: LocalIssuer, client: TokenClient) -> None:
    issuer.inject(Fault.delay(200))

    async def main() -> list[Token]:
        return await asyncio.gather(*(client.get_token_async(issuer.audience) for _ in range(200)))

    tokens = asyncio.run(main())
    assert len(tokens) == 200
    assert issuer.count("token") == 1
    assert len({id(t) for t in tokens}) == 1


def test_tasks_work(issuer: LocalIssuer, client: TokenClient) -> None:
    async def main() -> list[Token]:
        tasks = [asyncio.create_task(client.get_token_async(issuer.audience)) for _ in range(10)]
        return [await t for t in tasks]

    assert len({t.access_token for t in asyncio.run(main())}) == 1


def test_the_loop_is_not_blocked_during_a_fetch(issuer: LocalIssuer, client: TokenClient) -> None:
    issuer.inject(Fault.delay(500))

    async def main() -> tuple[int, float]:
        ticks = 0
        done = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not done.is_set():
                ticks += 1
                await asyncio.sleep(0.01)

        t = asyncio.create_task(ticker())
        t0 = time.monotonic()
        await client.get_token_async(issuer.audience)
        elapsed = time.monotonic() - t0
        done.set()
        await t
        return ticks, elapsed

    ticks, elapsed = asyncio.run(main())
    assert elapsed >= 0.45
    assert ticks >= 20, ticks


def test_errors_are_raised_by_await(issuer: LocalIssuer) -> None:
    c = TokenClient(issuer.domain, issuer.client_id, "wrong")

    async def main() -> None:
        await c.get_token_async(issuer.audience)

    with pytest.raises(OAuthError) as e:
        asyncio.run(main())
    assert e.value.status == 401


def test_cancellation_leaves_the_client_usable(issuer: LocalIssuer, client: TokenClient) -> None:
    issuer.inject(Fault.delay(800))

    async def main() -> Token:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(client.get_token_async(issuer.audience), 0.1)
        # the fetch went on in the core; the next call joins or reuses it
        return await asyncio.wait_for(client.get_token_async(issuer.audience), 10)

    assert asyncio.run(main()).access_token
    assert issuer.count("token") == 1


def test_async_without_cache(issuer: LocalIssuer) -> None:
    c = issuer.client(cache=False)

    async def main() -> list[Token]:
        return [await c.get_token_async(issuer.audience) for _ in range(3)]

    tokens = asyncio.run(main())
    assert len({t.access_token for t in tokens}) == 3
    assert issuer.count("token") == 3
