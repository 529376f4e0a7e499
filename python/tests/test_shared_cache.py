"""The shared cache level (issue 11), the shared scenarios F-A..F-D (the core's tests:
core/tests/shared_file.rs): tokens shared by clients and processes through a directory of
sealed files. Real processes, real files, real HTTP to the local issuer."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import select
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tokenkeeper import ConfigError, RateLimitedError, TokenClient
from tokenkeeper.testing import Fault, LocalIssuer

pytestmark = pytest.mark.skipif(os.name != "posix", reason="the file shared cache needs a Unix system")


def shared_client(issuer: LocalIssuer, directory: Path, **options: Any) -> TokenClient:
    """A client whose process cache is off (unless asked), so every call goes to the shared
    level."""
    options.setdefault("cache", False)
    return issuer.client(shared_cache=f"file:{directory}", **options)


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


# --- F-A: shared within one process, sealed and private ---------------------------------------


def test_f_a_a_token_is_shared_sealed_and_private(issuer: LocalIssuer, tmp_path: Path) -> None:
    d = tmp_path / "shared"
    a = shared_client(issuer, d)
    t1 = a.get_token(issuer.audience)
    assert issuer.count("token") == 1
    b = shared_client(issuer, d)
    t2 = b.get_token(issuer.audience)
    assert t2.access_token == t1.access_token
    assert issuer.count("token") == 1, "the second client read the shared entry"
    assert b.stats() == {
        "tokens_minted": 0,
        "cache_hits": 0,
        "refreshes": 0,
        "errors": 0,
        "shared_hits": 1,
        "shared_errors": 0,
    }
    assert a.stats()["tokens_minted"] == 1 and a.stats()["shared_hits"] == 0
    assert t2.remaining > 86_000 and t2.expires_in == 86_400
    assert abs((t2.expires_at - t1.expires_at).total_seconds()) < 0.01

    assert mode(d) == 0o700
    files = list(d.iterdir())
    assert files, "nothing was published"
    for p in files:
        assert mode(p) == 0o600, p
        body = p.read_bytes()
        for secret in (t1.access_token, issuer.client_secret, issuer.client_id, issuer.audience):
            assert secret not in p.name, f"{p.name} shows {secret}"
            assert secret.encode() not in body, f"{p.name} holds {secret} in plain text"


def test_f_a_through_the_async_path(issuer: LocalIssuer, tmp_path: Path) -> None:
    d = tmp_path / "shared"

    async def main() -> tuple[str, str]:
        t1 = await shared_client(issuer, d).get_token_async(issuer.audience)
        t2 = await shared_client(issuer, d).get_token_async(issuer.audience)
        return t1.access_token, t2.access_token

    first, second = asyncio.run(main())
    assert first == second and issuer.count("token") == 1


def test_a_process_cache_hit_never_touches_the_shared_level(issuer: LocalIssuer, tmp_path: Path) -> None:
    d = tmp_path / "shared"
    c = shared_client(issuer, d, cache=True)
    t1 = c.get_token(issuer.audience)
    shutil.rmtree(d)
    t2 = c.get_token(issuer.audience)
    assert t2 is t1 and issuer.count("token") == 1
    assert not d.exists(), "a cache hit read or wrote the shared directory"
    assert c.stats()["cache_hits"] == 1 and c.stats()["shared_errors"] == 0


def test_a_process_cache_miss_reads_the_shared_level(issuer: LocalIssuer, tmp_path: Path) -> None:
    # A client without a process cache published (as another process would); a client with one
    # misses it, adopts the shared entry, then serves it from the process cache.
    d = tmp_path / "shared"
    shared_client(issuer, d).get_token(issuer.audience)
    c = shared_client(issuer, d, cache=True)
    t = c.get_token(issuer.audience)
    assert issuer.count("token") == 1 and c.stats()["shared_hits"] == 1
    assert c.get_token(issuer.audience) is t and c.stats()["cache_hits"] == 1


def test_invalidate_forgets_the_shared_entry(issuer: LocalIssuer, tmp_path: Path) -> None:
    d = tmp_path / "shared"
    a, b = shared_client(issuer, d), shared_client(issuer, d)
    old = a.get_token(issuer.audience)
    a.invalidate(issuer.audience)
    new = b.get_token(issuer.audience)
    assert issuer.count("token") == 2 and new.access_token != old.access_token
    assert b.stats()["shared_hits"] == 0
    # The entry holds `new` now: dropping `old` (the one an API refused) keeps it ...
    a.invalidate_if_current(old, issuer.audience)
    assert shared_client(issuer, d).get_token(issuer.audience).access_token == new.access_token
    assert issuer.count("token") == 2
    # ... and dropping `new` forgets it.
    a.invalidate_if_current(new, issuer.audience)
    assert shared_client(issuer, d).get_token(issuer.audience).access_token != new.access_token
    assert issuer.count("token") == 3


def test_entries_are_per_request_and_per_credential(issuer: LocalIssuer, tmp_path: Path) -> None:
    d = tmp_path / "shared"
    shared_client(issuer, d).get_token(issuer.audience)
    other = shared_client(issuer, d)
    other.get_token(issuer.audience, scope="read:things")
    assert issuer.count("token") == 2 and other.stats()["shared_hits"] == 0
    # Another app's credential can neither find nor read the entries.
    stranger = TokenClient(
        issuer.domain, issuer.jwt_client_id, private_key=issuer.jwt_rsa_private_key,
        cache=False, shared_cache=f"file:{d}",
    )
    stranger.get_token(issuer.audience)
    assert issuer.count("token") == 3 and stranger.stats()["shared_hits"] == 0


def test_a_429_is_remembered_in_the_shared_level(issuer: LocalIssuer, tmp_path: Path) -> None:
    d = tmp_path / "shared"
    issuer.inject(Fault.rate_limited(3600))
    with pytest.raises(RateLimitedError):
        shared_client(issuer, d).get_token(issuer.audience)
    other = shared_client(issuer, d)  # another client: another process, for the shared level
    for _ in range(5):
        with pytest.raises(RateLimitedError) as e:
            other.get_token(issuer.audience)
        assert e.value.retry_after is not None and e.value.retry_after > 3500
    assert issuer.count("token") == 1
    other.get_token(issuer.audience, scope="read:things")  # other requests are not limited


# --- F-B: 8 processes on a cold key make 1 request --------------------------------------------

CHILD = r"""
import hashlib, json, sys
import tokenkeeper
client = tokenkeeper.TokenClient.from_env()   # AUTH0_* and TOKENKEEPER_SHARED_CACHE
print("ready", flush=True)
sys.stdin.readline()                          # the parent's "go", to all at once
token = client.get_token()
print(json.dumps({
    "sha": hashlib.sha256(token.access_token.encode()).hexdigest(),
    "stats": client.stats(),
}), flush=True)
"""


def child_env(issuer: LocalIssuer, tmp_path: Path, shared: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH0_", "TOKENKEEPER_"))}
    env.update(
        AUTH0_DOMAIN=issuer.domain,
        AUTH0_CLIENT_ID=issuer.client_id,
        AUTH0_CLIENT_SECRET=issuer.client_secret,
        AUTH0_AUDIENCE=issuer.audience,
        TOKENKEEPER_SHARED_CACHE=shared,
        XDG_CACHE_HOME=str(tmp_path / "xdg"),  # never the real home, whatever happens
    )
    return env


def read_line(p: subprocess.Popen[str], timeout: float) -> str:
    assert p.stdout is not None
    ready, _, _ = select.select([p.stdout], [], [], timeout)
    assert ready, "a child did not answer in time"
    return p.stdout.readline()


def test_f_b_eight_processes_on_a_cold_key_make_one_request(issuer: LocalIssuer, tmp_path: Path) -> None:
    d = tmp_path / "shared"
    env = child_env(issuer, tmp_path, f"file:{d}")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD], env=env, cwd=tmp_path, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        for _ in range(8)
    ]
    try:
        for p in procs:  # every child has built its client
            assert read_line(p, 60).strip() == "ready"
        issuer.inject(Fault.delay(300))  # the token answer: 300 ms, so that all 8 overlap
        start = time.monotonic()
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        results = []
        for p in procs:
            out, err = p.communicate(timeout=60)
            assert p.returncode == 0, err
            results.append(json.loads(out))
        took = time.monotonic() - start
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert issuer.count("token") == 1, "one process fetched, seven read what it published"
    assert len({r["sha"] for r in results}) == 1
    assert sum(r["stats"]["tokens_minted"] for r in results) == 1
    assert sum(r["stats"]["shared_hits"] for r in results) == 7
    assert all(r["stats"]["shared_errors"] == 0 for r in results)
    assert took < 15, f"the waiters took {took:.1f} s"
    # This process reads the same entry (from_env's variable and the keyword are one setting).
    mine = shared_client(issuer, d).get_token(issuer.audience)
    assert hashlib.sha256(mine.access_token.encode()).hexdigest() == results[0]["sha"]
    assert issuer.count("token") == 1
    assert mode(d) == 0o700 and all(mode(p) == 0o600 for p in d.iterdir())
    assert not (tmp_path / "xdg").exists()


# --- F-C: an unusable directory never fails get_token -----------------------------------------


def test_f_c_an_unusable_directory_never_fails_get_token(issuer: LocalIssuer, tmp_path: Path) -> None:
    not_a_dir = tmp_path / "a-file"
    not_a_dir.write_text("not a directory")
    c = shared_client(issuer, not_a_dir)
    assert c.get_token(issuer.audience).access_token
    assert c.get_token(issuer.audience).access_token
    assert issuer.count("token") == 2
    s = c.stats()
    assert s["shared_errors"] >= 1 and s["shared_hits"] == 0 and s["errors"] == 0
    assert not_a_dir.read_text() == "not a directory"


def test_f_c_an_unusable_default_directory_never_fails_get_token(
    issuer: LocalIssuer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "xdg-is-a-file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    c = issuer.client(shared_cache="file")
    assert c.get_token(issuer.audience).access_token
    assert c.stats()["shared_errors"] >= 1


# --- F-D: bad strings are configuration errors ------------------------------------------------


@pytest.mark.parametrize("spec", ["redis://127.0.0.1:notaport/0", "nope", "file:", "file:relative/dir"])
def test_f_d_bad_strings_are_config_errors(
    issuer: LocalIssuer, spec: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigError) as e:
        issuer.client(shared_cache=spec)
    assert e.value.kind == "config" and not e.value.transient
    if spec.startswith("redis"):
        assert "Redis" in str(e.value)
    # Through from_env: the keyword, and the variable (the core reads it; empty means unset).
    for k, v in (("AUTH0_DOMAIN", issuer.domain), ("AUTH0_CLIENT_ID", issuer.client_id),
                 ("AUTH0_CLIENT_SECRET", issuer.client_secret)):
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("TOKENKEEPER_SHARED_CACHE", raising=False)
    with pytest.raises(ConfigError):
        TokenClient.from_env(shared_cache=spec)
    monkeypatch.setenv("TOKENKEEPER_SHARED_CACHE", spec)
    with pytest.raises(ConfigError):
        TokenClient.from_env()


def test_an_empty_string_is_off_as_on_every_surface(
    issuer: LocalIssuer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for spec in ("", "  "):
        c = issuer.client(shared_cache=spec, cache=False)
        c.get_token(issuer.audience)
        assert c.stats()["shared_hits"] == 0 and c.stats()["shared_errors"] == 0
    # The keyword turns off what the variable set.
    env_dir = tmp_path / "from-env"
    for k, v in (("AUTH0_DOMAIN", issuer.domain), ("AUTH0_CLIENT_ID", issuer.client_id),
                 ("AUTH0_CLIENT_SECRET", issuer.client_secret), ("AUTH0_AUDIENCE", issuer.audience),
                 ("TOKENKEEPER_SHARED_CACHE", f"file:{env_dir}")):
        monkeypatch.setenv(k, v)
    TokenClient.from_env(cache=False, shared_cache="").get_token()
    assert not env_dir.exists()


def test_from_env_reads_the_variable_and_the_keyword_replaces_it(
    issuer: LocalIssuer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_dir, kw_dir = tmp_path / "from-env", tmp_path / "from-keyword"
    for k, v in (("AUTH0_DOMAIN", issuer.domain), ("AUTH0_CLIENT_ID", issuer.client_id),
                 ("AUTH0_CLIENT_SECRET", issuer.client_secret), ("AUTH0_AUDIENCE", issuer.audience),
                 ("TOKENKEEPER_SHARED_CACHE", f"file:{env_dir}")):
        monkeypatch.setenv(k, v)
    TokenClient.from_env(cache=False).get_token()
    assert env_dir.is_dir() and any(env_dir.iterdir())
    c = TokenClient.from_env(cache=False)
    c.get_token()
    assert c.stats()["shared_hits"] == 1 and issuer.count("token") == 1
    k = TokenClient.from_env(cache=False, shared_cache=f"file:{kw_dir}")
    k.get_token()
    assert kw_dir.is_dir() and k.stats()["shared_hits"] == 0 and issuer.count("token") == 2


def test_off_by_default(issuer: LocalIssuer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("TOKENKEEPER_SHARED_CACHE", "file")  # read by from_env only
    a, b = issuer.client(cache=False), issuer.client(cache=False)
    a.get_token(issuer.audience)
    b.get_token(issuer.audience)
    assert issuer.count("token") == 2 and b.stats()["shared_hits"] == 0
    assert not (tmp_path / "xdg").exists()


# --- Redis: the same scenario through a Redis URL ----------------------------------------------


def redis_url() -> str:
    """The run's Redis (python/test.sh starts it): a missing Redis fails, never skips."""
    url = os.environ.get("TOKENKEEPER_TEST_REDIS_URL")
    if not url:
        pytest.fail("TOKENKEEPER_TEST_REDIS_URL is not set: run python/test.sh (it starts Redis)")
    return url


def test_redis_two_clients_share_one_token(issuer: LocalIssuer) -> None:
    url = redis_url()
    a = issuer.client(shared_cache=url, cache=False)
    t1 = a.get_token(issuer.audience)
    b = issuer.client(shared_cache=url, cache=False)
    t2 = b.get_token(issuer.audience)
    assert t2.access_token == t1.access_token
    assert issuer.count("token") == 1, "the second client read Redis"
    assert b.stats()["shared_hits"] == 1 and b.stats()["shared_errors"] == 0
    assert t2.remaining > 86_000


def test_redis_through_from_env(issuer: LocalIssuer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = redis_url()
    first = issuer.client(shared_cache=url, cache=False).get_token(issuer.audience)
    for k, v in (("AUTH0_DOMAIN", issuer.domain), ("AUTH0_CLIENT_ID", issuer.client_id),
                 ("AUTH0_CLIENT_SECRET", issuer.client_secret)):
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("TOKENKEEPER_SHARED_CACHE", url)
    c = TokenClient.from_env()
    assert c.get_token(issuer.audience).access_token == first.access_token
    assert issuer.count("token") == 1 and c.stats()["shared_hits"] == 1
