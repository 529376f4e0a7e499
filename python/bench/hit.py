"""The cost of a cache hit from Python, as ratios to baselines measured in the same run
(issue 13's goals), and a new client's first token against a bare `requests` POST.

    python python/bench/hit.py         # in an environment with tokenkeeper, authlib, requests
    scripts/bench.sh                   # this, and the Rust, Kotlin and C figures

Rows, each the median ns/call of seven `timeit` runs of the statement written inline (so the
floor has no harness call in it; authlib's row is bench.py's peer, a method call as a user
writes it):
- `dict.get`: the floor, a pure-Python dictionary lookup of a ready header;
- `get_token(audience=A).authorization_header`, and with `scope` and `organization`;
- authlib's cached path (its documented client-credentials session, as in bench.py);
- `await get_token_async(A)` beside `await trivial()`, a coroutine returning a constant;
- 8 threads against 1 on the same client: calls per second in all;
- cold: a new `TokenClient` and its first token, beside a bare `requests.post` of the same form
  (new connection each time, as a script makes it) and a `requests.Session` post (connection
  reused), median of 200.
A figure is a benchmark, not a test: nothing here fails on a number.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import threading
import time
import timeit
from typing import Any, Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import requests  # noqa: E402

import tokenkeeper  # noqa: E402
from bench import Authlib  # noqa: E402
from tokenkeeper.testing import LocalIssuer  # noqa: E402


def ns(stmt: str, names: dict[str, Any], runs: int = 7) -> float:
    """Median ns per execution of `stmt`, each run about 0.2 s."""
    timer = timeit.Timer(stmt, globals=names)
    number, _ = timer.autorange()
    number = max(number, 1)
    return statistics.median(t / number * 1e9 for t in timer.repeat(runs, number))


def async_ns(make: Callable[[], object], n: int = 200_000, rounds: int = 7) -> float:
    """ns per `await make()` inside one running coroutine."""

    async def loop() -> float:
        best = []
        for _ in range(rounds):
            t0 = time.perf_counter_ns()
            for _ in range(n):
                await make()  # type: ignore[misc]
            best.append((time.perf_counter_ns() - t0) / n)
        return statistics.median(best)

    return asyncio.run(loop())


def throughput(fn: Callable[[], object], threads: int, seconds: float = 1.5) -> float:
    """Calls per second in all, `threads` threads calling `fn` for `seconds`."""
    stop = time.perf_counter() + seconds
    counts = [0] * threads
    barrier = threading.Barrier(threads)

    def work(i: int) -> None:
        barrier.wait()
        n = 0
        while time.perf_counter() < stop:
            for _ in range(1000):
                fn()
            n += 1000
        counts[i] = n

    ts = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    t0 = time.perf_counter()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return sum(counts) / (time.perf_counter() - t0)


def cold_us(fn: Callable[[], object], samples: int = 200) -> float:
    fn()
    times = []
    for _ in range(samples):
        t0 = time.perf_counter_ns()
        fn()
        times.append((time.perf_counter_ns() - t0) / 1e3)
    return statistics.median(times)


def main() -> None:
    issuer = LocalIssuer()
    try:
        run(issuer)
    finally:
        issuer.stop()


def run(issuer: LocalIssuer) -> None:
    a = issuer.audience
    org = issuer.organizations[0]["name"]
    client = issuer.client()
    client.get_token(a)
    client.get_token(a, scope="read:things", organization=org)
    table = {"A": "Bearer x"}

    rows: list[tuple[str, float, str]] = []

    def row(name: str, value: float, base: float | None, goal: str) -> None:
        ratio = f"{value / base:.2f}×" if base else ""
        rows.append((name, value, f"{ratio} {goal}".strip()))

    authlib = Authlib(issuer, a)
    names = {"table": table, "client": client, "A": a, "ORG": org, "authlib": authlib}
    floor = ns("table.get('A')", names)
    row("dict.get (floor)", floor, None, "")
    hit = ns("client.get_token(audience=A).authorization_header", names)
    row("get_token(audience=A).authorization_header", hit, floor, "of dict.get (goal ≤ 2.5×)")
    stmt = "client.get_token(A, scope='read:things', organization=ORG).authorization_header"
    full = ns(stmt, names)
    row("… with scope and organization", full, floor, "of dict.get (goal ≤ 3×)")
    peer = ns("authlib.header()", names)
    authlib.close()
    row("authlib cached header", peer, hit, "of tokenkeeper's (goal ≥ 6×)")

    async def trivial() -> str:
        return "Bearer x"

    base_async = async_ns(trivial)
    row("await trivial()", base_async, None, "")
    hit_async = async_ns(lambda: client.get_token_async(a))
    row("await get_token_async(A)", hit_async, base_async, "of the trivial coroutine (goal ≤ 3×)")

    def header() -> str:
        return client.get_token(audience=a).authorization_header

    one = throughput(header, 1)
    eight = throughput(header, 8)
    dict_one = throughput(lambda: table.get("A"), 1)
    dict_eight = throughput(lambda: table.get("A"), 8)
    rows.append(("1 thread, calls/s", one, ""))
    rows.append(("8 threads, calls/s in all", eight, f"{eight / one:.2f}× of 1 thread (goal ≥ 1×)"))
    rows.append(("dict.get, 8 threads vs 1", dict_eight, f"{dict_eight / dict_one:.2f}× of 1 thread"))

    form = {
        "grant_type": "client_credentials",
        "audience": a,
        "client_id": issuer.client_id,
        "client_secret": issuer.client_secret,
    }
    url = issuer.url + "/oauth/token"

    def bare() -> object:
        r = requests.post(url, data=form, timeout=10)
        return r.json()["access_token"]

    session = requests.Session()

    def bare_session() -> object:
        return session.post(url, data=form, timeout=10).json()["access_token"]

    def new_client() -> object:
        c = tokenkeeper.TokenClient(
            issuer.url, issuer.client_id, issuer.client_secret, audience=a, cache=False
        )
        return c.get_token().authorization_header

    bare_us = cold_us(bare)
    ours = cold_us(new_client)
    sess_us = cold_us(bare_session)
    session.close()
    rows.append(("bare requests.post (µs)", bare_us, ""))
    rows.append(("requests.Session().post, connection reused (µs)", sess_us, ""))
    rows.append(("new TokenClient + first token (µs)", ours, f"{ours / bare_us:.2f}× of requests.post (goal ≤ 1.15×); {ours / sess_us:.2f}× of a reused session"))

    print(f"tokenkeeper {tokenkeeper.__version__}, Python {sys.version.split()[0]}")
    print(f"{'figure':<52} {'ns/call':>12}  ratio")
    for name, value, ratio in rows:
        print(f"{name:<52} {value:>12,.1f}  {ratio}")


if __name__ == "__main__":
    main()
