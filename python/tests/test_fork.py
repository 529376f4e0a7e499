"""fork: a client used in the parent keeps working in a child made by os.fork() or by
multiprocessing's fork start method (fresh runtime and cache in the child; no hang)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from typing import Any

import pytest

from tokenkeeper import TokenClient
from tokenkeeper.testing import Fault, LocalIssuer

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")


def wait_child(pid: int, timeout: float = 20.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail("the forked child hung")


def test_os_fork_with_a_fetch_in_flight(issuer: LocalIssuer, client: TokenClient) -> None:
    parent_token = client.get_token(issuer.audience)
    # The worst case: a fetch in flight in the parent (another thread waiting on it) at the fork.
    issuer.inject(Fault.delay(400))
    pending: list[Any] = []
    t = threading.Thread(target=lambda: pending.append(client.get_token(issuer.audience, scope="read:things")))
    t.start()
    time.sleep(0.1)

    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: the parent's client, nothing else
        code = 1
        try:
            a = client.get_token(issuer.audience, scope="read:things")
            b = client.get_token(issuer.audience)
            c = client.get_token(issuer.audience)
            ok = bool(a.access_token) and b is c and b.access_token != parent_token.access_token
            os.write(w, f"ok={ok} stats={client.stats()}".encode())
            code = 0 if ok else 3
        except BaseException as e:  # noqa: BLE001
            os.write(w, repr(e).encode())
        finally:
            os._exit(code)
    os.close(w)
    status = wait_child(pid)
    with os.fdopen(r) as f:
        report = f.read()
    assert status == 0, report
    t.join(timeout=10)
    # The parent is unaffected: its in-flight fetch completed, its cache is intact.
    assert pending and pending[0].access_token
    assert client.get_token(issuer.audience) is parent_token


_client: TokenClient | None = None


def _mp_job(audience: str) -> str:
    assert _client is not None
    return _client.get_token(audience).access_token


def _mp_process(client: TokenClient, audience: str, q: Any) -> None:
    try:
        t1 = client.get_token(audience)
        t2 = client.get_token(audience)
        q.put(("ok", t1 is t2, len(t1.access_token)))
    except BaseException as e:  # noqa: BLE001
        q.put(("error", repr(e), 0))


def test_multiprocessing_fork_process(issuer: LocalIssuer, client: TokenClient) -> None:
    client.get_token(issuer.audience)
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_mp_process, args=(client, issuer.audience, q))
    p.start()
    p.join(timeout=20)
    if p.is_alive():
        p.kill()
        p.join()
        pytest.fail("the multiprocessing child hung")
    assert p.exitcode == 0
    status, same, length = q.get(timeout=5)
    assert status == "ok" and same and length > 100


def test_multiprocessing_fork_pool(issuer: LocalIssuer, client: TokenClient) -> None:
    global _client
    _client = client
    parent = client.get_token(issuer.audience).access_token
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(2) as pool:
        tokens = pool.map_async(_mp_job, [issuer.audience] * 8).get(timeout=30)
    _client = None
    assert len(tokens) == 8 and all(tokens)
    # each worker has its own (fresh) cache: at most one token per worker
    assert len(set(tokens) - {parent}) <= 2
    assert issuer.count("token") <= 3
