"""Round 2 hardening, the shared scenarios H-A..H-E (the core's tests: core/tests/hardening.rs),
and M9: a token's str() is redacted. Real HTTP to the local issuer."""

from __future__ import annotations

import json
import logging
import os
import select
import signal
import time
from typing import Any

import pytest

from tokenkeeper import (
    InvalidTokenError,
    RateLimitedError,
    Token,
    TokenClient,
    TokenTypeError,
    TokenVerifier,
)
from tokenkeeper.testing import Fault, LocalIssuer


def pk_client(issuer: LocalIssuer, **options: Any) -> TokenClient:
    """The fixture's private_key_jwt app (RS256)."""
    return TokenClient(
        issuer.domain,
        issuer.jwt_client_id,
        private_key=issuer.jwt_rsa_private_key,
        private_key_alg="RS256",
        **options,
    )


def access_claims(issuer: LocalIssuer, **over: Any) -> dict[str, Any]:
    now = int(time.time())
    c: dict[str, Any] = {
        "iss": issuer.issuer,
        "sub": "someone@clients",
        "aud": issuer.audience,
        "iat": now,
        "exp": now + 600,
    }
    c.update(over)
    return {k: v for k, v in c.items() if v is not None}


# --- H-A: a 429 is remembered for its request key ---------------------------------------------


def test_h_a_a_429_is_remembered_for_its_key_until_retry_after(issuer: LocalIssuer) -> None:
    client = issuer.client(initial_backoff=0.01, max_backoff=0.05)
    held = client.get_token(issuer.audience, scope="read:things")
    assert issuer.count("token") == 1
    issuer.inject(Fault.rate_limited(3600))
    for n in range(100):
        with pytest.raises(RateLimitedError) as e:
            client.get_token(issuer.audience)
        assert e.value.retry_after is not None and e.value.retry_after > 3500, (n, e.value.retry_after)
        assert e.value.kind == "rate_limited" and e.value.transient
    assert issuer.count("token") == 2, "calls after the 429 sent requests"
    # Another key is not limited: its valid token is still served from the cache.
    assert client.get_token(issuer.audience, scope="read:things") is held
    assert issuer.count("token") == 2


def test_h_a_the_remembered_429_is_shared_by_the_async_path(issuer: LocalIssuer) -> None:
    import asyncio

    client = issuer.client()
    issuer.inject(Fault.rate_limited(3600))
    with pytest.raises(RateLimitedError):
        client.get_token(issuer.audience)

    async def many() -> list[BaseException | Token]:
        return await asyncio.gather(*(client.get_token_async(issuer.audience) for _ in range(20)), return_exceptions=True)

    got = asyncio.run(many())
    assert all(isinstance(g, RateLimitedError) and (g.retry_after or 0) > 3500 for g in got), got
    assert issuer.count("token") == 1


# --- H-B: a new client assertion per attempt ----------------------------------------------------


def test_h_b_a_retried_token_request_signs_a_new_client_assertion(issuer: LocalIssuer) -> None:
    client = pk_client(issuer, max_attempts=2, initial_backoff=0.01, max_backoff=0.05)
    # The first attempt is handled (its assertion's jti spent), then its answer is lost to a 503.
    issuer.inject(Fault.status(503, "temporarily_unavailable", "try later").after_handling())
    tok = client.get_token(issuer.audience)
    assert tok.access_token
    assert issuer.count("token") == 2
    # Both attempts were authenticated and handled: the first one's token was issued and lost.
    assert issuer.count("auth:private_key_jwt") == 2
    assert issuer.count("tokens_issued") == 2


def test_h_b_after_handling_as_a_fault_field(issuer: LocalIssuer) -> None:
    client = pk_client(issuer, max_attempts=2, initial_backoff=0.01, max_backoff=0.05)
    issuer.inject(
        status=503,
        body='{"error": "temporarily_unavailable", "error_description": "try later"}',
        after_handling=True,
    )
    assert client.get_token(issuer.audience, scope="read:things").scope == "read:things"
    assert issuer.count("token") == 2 and issuer.count("tokens_issued") == 2
    assert "after_handling" in repr(Fault.delay(1).after_handling())


# --- H-C: the header's typ ----------------------------------------------------------------------


def test_h_c_typ_fits_the_kind_of_token(issuer: LocalIssuer) -> None:
    verifier = issuer.verifier()
    claims = access_claims(issuer)
    for ok in ("JWT", "at+jwt", "application/at+JWT"):
        assert verifier.verify(issuer.sign(claims, {"typ": ok})).sub == "someone@clients", ok
    # No typ at all is fine too.
    header = {"alg": "RS256", "kid": issuer.active_kid}
    assert verifier.verify(issuer.sign_raw(json.dumps(header), json.dumps(claims))).sub
    for bad in ("logout+jwt", "id_token+jwt"):
        with pytest.raises(TokenTypeError) as e:
            verifier.verify(issuer.sign(claims, {"typ": bad}))
        assert isinstance(e.value, InvalidTokenError)
        assert e.value.check == "token_type" and e.value.kind == "invalid_token"
        assert not e.value.transient


def test_h_c_an_id_token_is_no_access_token(issuer: LocalIssuer) -> None:
    verifier = issuer.verifier()
    for marker in ({"nonce": "n-1", "auth_time": int(time.time())}, {"at_hash": "abc"}, {"c_hash": "abc"}):
        id_like = access_claims(issuer, **marker)
        with pytest.raises(TokenTypeError) as e:
            verifier.verify(issuer.sign(id_like))
        assert e.value.check == "token_type", marker


def test_h_c_an_access_token_is_no_id_token(issuer: LocalIssuer) -> None:
    ids = TokenVerifier(issuer.domain, issuer.public_client_id)
    claims = access_claims(issuer, aud=issuer.public_client_id, sub="auth0|u")
    with pytest.raises(TokenTypeError):
        ids.verify_id_token(issuer.sign(claims, {"typ": "at+jwt"}))
    assert ids.verify_id_token(issuer.sign(claims)).sub == "auth0|u"


def test_h_c_async_raises_the_same_class(issuer: LocalIssuer) -> None:
    import asyncio

    verifier = issuer.verifier()
    token = issuer.sign(access_claims(issuer), {"typ": "logout+jwt"})
    with pytest.raises(TokenTypeError):
        asyncio.run(verifier.verify_async(token))


# --- H-D: invalidate_if_current -----------------------------------------------------------------


def test_h_d_invalidate_if_current(issuer: LocalIssuer, client: TokenClient) -> None:
    t1 = client.get_token(issuer.audience)
    assert client.invalidate_if_current(t1, issuer.audience) is True
    assert client.cached(issuer.audience) is None
    t2 = client.get_token(issuer.audience)
    assert t2.access_token != t1.access_token
    assert client.invalidate_if_current(t1, issuer.audience) is False
    assert client.cached(issuer.audience) is t2
    assert client.get_token(issuer.audience) is t2
    assert issuer.count("token") == 2


def test_h_d_invalidate_if_current_is_per_request(issuer: LocalIssuer, client: TokenClient) -> None:
    plain = client.get_token(issuer.audience)
    scoped = client.get_token(issuer.audience, scope=["read:things"])
    # A token is only ever current for its own request.
    assert client.invalidate_if_current(plain, issuer.audience, "read:things") is False
    assert client.cached(issuer.audience, "read:things") is scoped
    assert client.invalidate_if_current(scoped, issuer.audience, scope="read:things") is True
    assert client.cached(issuer.audience) is plain
    # Another client with the same key shares the cache, so the same answer.
    other = issuer.client()
    assert other.invalidate_if_current(plain, issuer.audience) is True
    assert client.cached(issuer.audience) is None
    with pytest.raises(TypeError):
        client.invalidate_if_current(plain.access_token, issuer.audience)  # type: ignore[arg-type]


def test_h_d_default_audience(issuer: LocalIssuer) -> None:
    client = issuer.client(audience=issuer.audience)
    t1 = client.get_token()
    assert client.invalidate_if_current(t1) is True
    assert client.cached() is None


# --- H-E: fork ------------------------------------------------------------------------------


def _read_with_deadline(fd: int, deadline: float) -> bytes:
    out = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the forked child did not report in time")
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            return out
        out += chunk


def _reap(pid: int, deadline: float) -> int:
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail("the forked child hung")


def _secrets(tx: Any) -> tuple[str, str, str]:
    return tx.state, tx.nonce, json.loads(tx.to_json())["code_verifier"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_h_e_a_forked_child_draws_its_own_secrets(issuer: LocalIssuer) -> None:
    sign_in = issuer.sign_in_client()
    pk = pk_client(issuer)
    # Seed any per-thread generator in the parent before the fork: a login started, an
    # assertion signed (a token for another scope).
    sign_in.authorize()
    pk.get_token(issuer.audience, scope="read:things")
    before = issuer.count("auth:private_key_jwt")

    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: only HTTP to the parent's issuer, a report, _exit
        code = 1
        try:
            os.close(r)
            state, nonce, verifier = _secrets(sign_in.authorize())
            report: dict[str, Any] = {"state": state, "nonce": nonce, "verifier": verifier}
            try:
                report["token"] = bool(pk.get_token(issuer.audience).access_token)
            except BaseException as e:  # noqa: BLE001
                report["token"] = False
                report["error"] = repr(e)
            os.write(w, json.dumps(report).encode())
            code = 0
        except BaseException as e:  # noqa: BLE001
            os.write(w, json.dumps({"error": repr(e)}).encode())
        finally:
            os._exit(code)

    os.close(w)
    deadline = time.monotonic() + 30
    try:
        parent = _secrets(sign_in.authorize())
        parent_token = pk.get_token(issuer.audience)
        raw = _read_with_deadline(r, deadline)
    finally:
        os.close(r)
        status = _reap(pid, deadline + 5)
    child = json.loads(raw or b"{}")
    assert status == 0, child
    assert "state" in child, child
    for n, what in enumerate(("state", "nonce", "verifier")):
        assert child[what] and child[what] != parent[n], f"parent and child share a {what}"
    assert child["token"] is True, f"the child's assertion was refused (a replayed jti?): {child}"
    assert parent_token.access_token
    # The issuer (serving in the parent all along) saw both assertions, none refused.
    assert issuer.count("auth:private_key_jwt") == before + 2
    assert issuer.running


# --- M9: str(token) is redacted -------------------------------------------------------------


def test_m9_str_of_a_token_never_shows_it(issuer: LocalIssuer, client: TokenClient, caplog: pytest.LogCaptureFixture) -> None:
    tok = client.get_token(issuer.audience)
    secret = tok.access_token
    parts = secret.split(".")
    shown = [
        str(tok),
        f"{tok}",
        f"Bearer {tok}",
        f"{tok!s}",
        f"{tok!r}",
        "%s" % tok,
        "{}".format(tok),
        format(tok, ""),
        str([tok]),
        str({"token": tok}),
    ]
    for text in shown:
        assert secret not in text and parts[1] not in text and parts[2] not in text, text
        assert "redacted" in text
    assert str(tok) == repr(tok)
    logger = logging.getLogger("tokenkeeper.test.m9")
    with caplog.at_level(logging.DEBUG, logger="tokenkeeper.test.m9"):
        logger.info("got %s", tok)
        logger.info("got %r", tok)
        logger.info("token %s for %s", tok, issuer.audience)
        logger.info(tok)
    assert len(caplog.records) == 4
    for rec in caplog.records:
        assert secret not in rec.getMessage() and parts[2] not in rec.getMessage()
    for line in caplog.text.splitlines():
        assert parts[2] not in line
    # The secret is still there, on purpose.
    assert tok.authorization_header == "Bearer " + secret


SUBINTERPRETERS = r'''
import _testcapi
import tokenkeeper

sub = """
try:
    import tokenkeeper._native
except ImportError as e:
    print("sub: ImportError:", e)
else:
    print("sub: loaded")
"""
_testcapi.run_in_subinterp(sub)
_testcapi.run_in_subinterp(sub)
try:
    tokenkeeper.TokenClient("", "id", "s")
except tokenkeeper.ConfigError:
    print("main: ConfigError")
except Exception as e:
    print("main:", type(e).__name__, e)
'''


def test_n4_a_second_interpreter_is_refused_and_the_first_keeps_working() -> None:
    import subprocess
    import sys

    # A missing _testcapi is a failure, not a skip: the check must run.
    out = subprocess.run(
        [sys.executable, "-c", SUBINTERPRETERS], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 3, out.stdout + out.stderr
    for line in lines[:2]:
        assert line.startswith("sub: ImportError:") and "one interpreter per process" in line, line
    assert lines[2] == "main: ConfigError", out.stdout
