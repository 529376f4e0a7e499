"""Threads: single flight across 64 threads, the GIL released while waiting on the network."""

from __future__ import annotations

import signal
import threading
import time

import pytest

from tokenkeeper import Token, TokenClient
from tokenkeeper.testing import Fault, LocalIssuer


def test_64_threads_on_a_cold_key_make_one_request(issuer: LocalIssuer, client: TokenClient) -> None:
    issuer.inject(Fault.delay(200))  # keep the fetch in flight while every thread arrives
    n = 64
    barrier = threading.Barrier(n)
    results: list[Token] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait(timeout=10)
            results.append(client.get_token(issuer.audience))
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors
    assert len(results) == n
    assert issuer.count("token") == 1
    assert len({id(t) for t in results}) == 1, "every thread gets the same Token object"
    assert client.stats()["tokens_minted"] == 1


def test_many_clients_in_threads_share_one_request(issuer: LocalIssuer) -> None:
    issuer.inject(Fault.delay(200))
    clients = [issuer.client() for _ in range(16)]
    barrier = threading.Barrier(len(clients))
    tokens: list[str] = []

    def worker(c: TokenClient) -> None:
        barrier.wait(timeout=10)
        tokens.append(c.get_token(issuer.audience).access_token)

    threads = [threading.Thread(target=worker, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(tokens) == 16 and len(set(tokens)) == 1
    assert issuer.count("token") == 1


def test_the_gil_is_released_while_waiting_on_the_network(issuer: LocalIssuer, client: TokenClient) -> None:
    issuer.inject(Fault.delay(500))
    ticks = 0
    stop = threading.Event()

    def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1

    t = threading.Thread(target=ticker)
    t.start()
    try:
        time.sleep(0.05)
        before = ticks
        t0 = time.monotonic()
        client.get_token(issuer.audience)
        waited = time.monotonic() - t0
        during = ticks - before
    finally:
        stop.set()
        t.join()
    assert waited >= 0.45
    # A held GIL would starve the ticker entirely for half a second.
    assert during > 10_000, during


def test_a_failed_fetch_reaches_every_waiter_and_counts_once(issuer: LocalIssuer, client: TokenClient) -> None:
    issuer.inject({"delay_ms": 200, "status": 403, "body": '{"error":"access_denied","error_description":"no"}'})
    n = 16
    barrier = threading.Barrier(n)
    caught: list[BaseException] = []

    def worker() -> None:
        barrier.wait(timeout=10)
        try:
            client.get_token(issuer.audience)
        except BaseException as e:  # noqa: BLE001
            caught.append(e)

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(caught) == n
    assert all(type(e).__name__ == "OAuthError" for e in caught)
    assert issuer.count("token") == 1
    assert client.stats()["errors"] == 1


class Interrupted(Exception):
    pass


def test_a_signal_interrupts_a_slow_fetch(issuer: LocalIssuer, client: TokenClient) -> None:
    """Ctrl-C (here: a timer signal whose handler raises) is not held up by a slow fetch."""
    issuer.inject(Fault.delay(3000))

    def handler(signum: int, frame: object) -> None:
        raise Interrupted()

    old = signal.signal(signal.SIGALRM, handler)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        t0 = time.monotonic()
        with pytest.raises(Interrupted):
            client.get_token(issuer.audience)
        assert time.monotonic() - t0 < 1.5
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    # the fetch went on in the core: the next call gets its token
    assert client.get_token(issuer.audience).access_token
    assert issuer.count("token") == 1
