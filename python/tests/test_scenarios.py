"""The shared scenarios S1-S7 of issue 10: every surface (Python, Kotlin/Swift, C) runs each one
and expects the same outcome. Real HTTP to the local issuer."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

import pytest

import tokenkeeper
from tokenkeeper import (
    ConfigError,
    CredentialsManager,
    CredentialsStoreError,
    InvalidTokenError,
    OAuthError,
    SignInClient,
    TokenClient,
    TokenkeeperError,
    TokenVerifier,
    UserCredentials,
)
from conftest import claims
from tokenkeeper.testing import Fault, LocalIssuer

# --- S1, S2, S3: the store contract ------------------------------------------------------------


class Store:
    """A host store in memory that can fail, call back into its manager, or sleep, and records
    how many of its calls ran at once."""

    def __init__(self, credentials: UserCredentials | None = None) -> None:
        self.credentials = credentials
        self.fail: dict[str, BaseException] = {}
        self.on_load: Callable[[], None] | None = None
        self.sleep = 0.0
        self.lock = threading.Lock()
        self.running = self.max_running = self.loads = 0

    def _enter(self, method: str) -> None:
        with self.lock:
            self.running += 1
            self.max_running = max(self.max_running, self.running)
        try:
            if self.sleep:
                time.sleep(self.sleep)
            if method in self.fail:
                raise self.fail[method]
        finally:
            with self.lock:
                self.running -= 1

    def load(self) -> UserCredentials | None:
        self.loads += 1
        if self.on_load is not None:
            self.on_load()
        self._enter("load")
        return self.credentials

    def save(self, credentials: UserCredentials) -> None:
        self._enter("save")
        self.credentials = credentials

    def clear(self) -> None:
        self._enter("clear")
        self.credentials = None


def signed_in(issuer: LocalIssuer) -> tuple[SignInClient, UserCredentials]:
    app = issuer.sign_in_client(audience=issuer.audience)
    return app, issuer.sign_in(app)


def expired(c: UserCredentials) -> UserCredentials:
    return UserCredentials(c.access_token, time.time() - 10, scope=c.scope, refresh_token=c.refresh_token)


def check_storage_error(e: BaseException, method: str, cause: BaseException) -> None:
    assert type(e) is CredentialsStoreError
    assert isinstance(e, TokenkeeperError) and not isinstance(e, ConfigError)
    assert e.kind == "storage" and e.transient is False
    assert f"{method}() failed" in str(e) and "\n" not in str(e)
    assert e.__cause__ is cause


def test_s1_storage_error_of_load(issuer: LocalIssuer) -> None:
    app, _ = signed_in(issuer)
    store = Store()
    cause = OSError("keyring locked")
    store.fail["load"] = cause
    m = CredentialsManager(app, store)
    for call in (m.credentials, m.has_credentials, m.stored, lambda: asyncio.run(m.credentials_async())):
        with pytest.raises(CredentialsStoreError) as e:
            call()
        check_storage_error(e.value, "load", cause)
        assert "OSError: keyring locked" in str(e.value)


def test_s1_storage_error_of_save_during_a_renewal(issuer: LocalIssuer) -> None:
    app, creds = signed_in(issuer)
    store = Store(expired(creds))
    cause = OSError("disk full")
    store.fail["save"] = cause
    m = CredentialsManager(app, store)
    with pytest.raises(CredentialsStoreError) as e:
        m.credentials()
    check_storage_error(e.value, "save", cause)
    assert issuer.count("grant:refresh_token") == 1


def test_s1_a_tokenkeeper_error_raised_by_the_store_comes_back_as_raised(issuer: LocalIssuer) -> None:
    app, _ = signed_in(issuer)
    store = Store()
    mine = tokenkeeper.ReauthenticationRequiredError("signed out elsewhere", "logged_out")
    store.fail["load"] = mine
    with pytest.raises(tokenkeeper.ReauthenticationRequiredError) as e:
        CredentialsManager(app, store).credentials()
    assert e.value is mine


def test_s1_the_storage_kind_converts() -> None:
    e = tokenkeeper._native._sample_error("storage")
    assert type(e) is CredentialsStoreError and e.kind == "storage" and not e.transient
    assert "load() failed: disk full" in str(e) and e.__cause__ is None


def reentrant_calls(m: CredentialsManager, creds: UserCredentials) -> dict[str, Callable[[], Any]]:
    return {
        "credentials": m.credentials,
        "has_credentials": m.has_credentials,
        "stored": m.stored,
        "renew": m.renew,
        "save": lambda: m.save(creds),
        "clear": m.clear,
        "credentials_async": lambda: asyncio.run(m.credentials_async()),
    }


@pytest.mark.parametrize("inner", ["credentials", "has_credentials", "stored", "renew", "save", "clear", "credentials_async"])
def test_s2_a_store_calling_back_into_its_manager_gets_a_config_error_at_once(issuer: LocalIssuer, inner: str) -> None:
    app, creds = signed_in(issuer)
    store = Store(creds)
    m = CredentialsManager(app, store)
    seen: list[BaseException] = []
    took: list[float] = []

    def call_back() -> None:
        store.on_load = None  # once
        start = time.monotonic()
        try:
            reentrant_calls(m, creds)[inner]()
        except BaseException as e:  # noqa: BLE001
            seen.append(e)
        took.append(time.monotonic() - start)

    store.on_load = call_back
    assert m.credentials() == creds  # the outer call goes on with the store's answer
    assert len(seen) == 1, f"{inner} did not fail"
    e = seen[0]
    assert type(e) is ConfigError and e.kind == "config"
    assert "called back into the manager" in str(e)
    assert took[0] < 1.0


def test_s2_the_config_error_reaches_the_outer_caller_when_the_store_lets_it_through(issuer: LocalIssuer) -> None:
    app, _ = signed_in(issuer)
    store = Store()
    m = CredentialsManager(app, store)
    store.on_load = lambda: None if m.has_credentials() else None
    done: list[BaseException] = []

    def outer() -> None:
        try:
            m.credentials()
        except BaseException as e:  # noqa: BLE001
            done.append(e)

    t = threading.Thread(target=outer)
    t.start()
    t.join(timeout=10)
    assert not t.is_alive(), "deadlock"
    assert type(done[0]) is ConfigError and "called back into the manager" in str(done[0])


def test_s3_store_calls_are_serialised_across_threads(issuer: LocalIssuer) -> None:
    app, creds = signed_in(issuer)
    store = Store(creds)
    store.sleep = 0.02
    m = CredentialsManager(app, store)
    barrier = threading.Barrier(8)
    results: list[UserCredentials] = []

    def worker() -> None:
        barrier.wait(timeout=10)
        results.append(m.credentials())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(results) == 8 and all(r == creds for r in results)
    assert store.loads >= 8
    assert store.max_running == 1


def test_s3_store_calls_are_serialised_across_coroutines_and_threads(issuer: LocalIssuer) -> None:
    app, creds = signed_in(issuer)
    store = Store(creds)
    store.sleep = 0.02
    m = CredentialsManager(app, store)

    async def many() -> list[UserCredentials]:
        return list(await asyncio.gather(*(m.credentials_async() for _ in range(4))))

    threads = [threading.Thread(target=lambda: asyncio.run(many())) for _ in range(2)]
    threads += [threading.Thread(target=m.credentials) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert store.loads >= 10 and store.max_running == 1


# --- S4: extra authorize parameters ------------------------------------------------------------

S4_TAIL = "&connection=Username-Password-Authentication&login_hint=a%40example.com&prompt=login"


def test_s4_extra_authorize_parameters_are_sorted_after_the_library_s_own(issuer: LocalIssuer) -> None:
    app = issuer.sign_in_client()
    pairs = [("prompt", "login"), ("login_hint", "a@example.com"), ("connection", "Username-Password-Authentication")]
    for extra in (pairs, dict(pairs)):
        url = app.authorize(extra=extra).url
        assert urlsplit(url).query.endswith(S4_TAIL), url
        assert url.endswith(S4_TAIL)


# --- S5: claims --------------------------------------------------------------------------------


def test_s5_claims_accessors(issuer: LocalIssuer) -> None:
    now = int(time.time())
    token = issuer.sign(
        {"iss": issuer.issuer, "sub": "s5", "aud": issuer.audience, "iat": now, "exp": now + 600, "n": 1.5, "scope": "read:a write:b"}
    )
    c = issuer.verifier().verify(token)
    assert c.get_int("n") == 1
    assert c.get_float("n") == 1.5
    assert c.has_scope("read:a write:b")
    assert not c.has_scope("read:a delete:c")
    assert c.has_scope("write:b")
    assert c.exp == now + 600 and c.get_int("exp") == now + 600


@pytest.mark.parametrize(
    ("value", "as_int", "as_float"),
    [
        (1.5, 1, 1.5),
        (-1.5, -1, -1.5),
        (2, 2, 2.0),
        (0.999, 0, 0.999),
        (2**63 - 1, 2**63 - 1, float(2**63 - 1)),
        (2**63, None, float(2**63)),  # out of the signed 64-bit range
        (9.3e18, None, 9.3e18),
        (True, None, None),  # a JSON boolean is no number
        ("1", None, None),
        (None, None, None),
        ([1], None, None),
    ],
)
def test_s5_numeric_accessors_mean_what_the_core_s_mean(value: Any, as_int: int | None, as_float: float | None) -> None:
    # The same table as the core's Claims::get_i64 / get_f64 (truncation toward zero).
    c = tokenkeeper.Claims({"n": value})
    assert c.get_int("n") == as_int and c.get_float("n") == as_float
    assert c.get_int("absent") is None and c.get_float("absent") is None


def test_s5_the_other_accessors() -> None:
    c = tokenkeeper.Claims(
        {"s": "x", "b": True, "aud": ["a", 1, "b"], "exp": 1.9, "nbf": -1, "iat": True, "scope": "p q"}
    )
    assert (c.get_str("s"), c.get_str("b"), c.get_bool("b"), c.get_bool("s")) == ("x", None, True, None)
    assert c.aud == ["a", "b"] and c.has_audience("b") and not c.has_audience("c")
    assert (c.exp, c.nbf, c.iat) == (1, None, None)  # truncated; negative and booleans are no dates
    assert c.scopes == ["p", "q"] and c.has_scope("q p") and c.has_scope("") and not c.has_scope("p r")
    assert tokenkeeper.Claims({"aud": "a"}).aud == ["a"]


# --- S6: HTTP knobs ----------------------------------------------------------------------------

KNOB_VALUES: dict[str, float] = {
    "connect_timeout": 2.5,
    "request_timeout": 7.0,
    "max_response_bytes": 32768,
    "max_attempts": 2,
    "initial_backoff": 0.05,
    "max_backoff": 1.0,
    "max_retry_after": 10.0,
    "retry_after_cap": 600.0,
}


def makers(issuer: LocalIssuer) -> dict[str, Callable[..., Any]]:
    return {"client": issuer.client, "verifier": issuer.verifier, "sign_in": issuer.sign_in_client}


def test_s6_the_knobs_are_the_core_s() -> None:
    assert tokenkeeper.HTTP_KNOBS == tuple(KNOB_VALUES)
    assert tokenkeeper._native._HTTP_KNOBS == list(KNOB_VALUES)


@pytest.mark.parametrize("surface", ["client", "verifier", "sign_in"])
def test_s6_every_knob_is_settable_by_its_name(issuer: LocalIssuer, surface: str) -> None:
    make = makers(issuer)[surface]
    make(**KNOB_VALUES)
    for name, value in KNOB_VALUES.items():
        make(**{name: value})
        make(**{name: None})  # the default
    make(timeout=3.0)  # the old name of request_timeout
    with pytest.raises(TypeError):
        make(timeout=3.0, request_timeout=3.0)
    with pytest.raises(TypeError, match="retries"):
        make(retries=2)
    with pytest.raises(TypeError, match="retries"):
        make(retries=None)
    with pytest.raises(TypeError):
        make(max_attempts="2")


@pytest.mark.parametrize("surface", ["client", "verifier", "sign_in"])
@pytest.mark.parametrize("attempts", [0, 11])
def test_s6_max_attempts_out_of_range_is_a_config_error(issuer: LocalIssuer, surface: str, attempts: int) -> None:
    with pytest.raises(ConfigError, match="max_attempts") as e:
        makers(issuer)[surface](max_attempts=attempts)
    assert e.value.kind == "config"


@pytest.mark.parametrize("bad", [{"max_attempts": 1.5}, {"connect_timeout": -1}, {"initial_backoff": float("nan")}])
def test_s6_bad_knob_values_are_config_errors(issuer: LocalIssuer, bad: dict[str, float]) -> None:
    for make in makers(issuer).values():
        with pytest.raises(ConfigError, match=next(iter(bad))):
            make(**bad)


def test_the_cache_knobs_are_the_core_s_and_settable_by_name(issuer: LocalIssuer) -> None:
    values = {"expiry_margin": 10.0, "refresh_ahead": 0.2, "max_refresh_ahead": 60.0, "jitter": 0.0}
    assert tokenkeeper._native._CACHE_KNOBS == list(values)  # `enabled` is cache=
    assert issuer.client(**values, cache=False).get_token(issuer.audience).access_token
    with pytest.raises(ConfigError, match="refresh_ahead"):
        issuer.client(refresh_ahead=1.5)
    with pytest.raises(ConfigError, match="expiry_margin"):
        issuer.client(expiry_margin=-1)
    with pytest.raises(TypeError):
        issuer.verifier(jitter=0.1)  # a cache knob is the client's only
    with pytest.raises(TypeError):
        issuer.client(enabled=0)


def test_s6_max_attempts_on_the_client(issuer: LocalIssuer) -> None:
    fault = Fault.status(503, "server_error", "down").times(1)
    issuer.inject(fault)
    with pytest.raises(OAuthError):
        issuer.client(max_attempts=1).get_token(issuer.audience)
    assert issuer.count("token") == 1
    issuer.reset()
    issuer.inject(fault)
    assert issuer.client(max_attempts=2, initial_backoff=0.01).get_token(issuer.audience).access_token
    assert issuer.count("token") == 2


def test_s6_max_attempts_on_the_verifier(issuer: LocalIssuer) -> None:
    token = issuer.client().get_token(issuer.audience).access_token
    issuer.inject(Fault.status(503, "server_error", "down").on("jwks").times(1))
    with pytest.raises(InvalidTokenError):
        issuer.verifier(max_attempts=1).verify(token)
    assert issuer.count("jwks") == 1
    issuer.reset()
    issuer.inject(Fault.status(503, "server_error", "down").on("jwks").times(1))
    assert issuer.verifier(max_attempts=2, initial_backoff=0.01).verify(token).sub
    assert issuer.count("jwks") == 2


def test_s6_max_attempts_on_the_sign_in_client(issuer: LocalIssuer) -> None:
    # /userinfo is the sign-in client's retried request (a code or refresh grant never is).
    access = issuer.sign_in(issuer.sign_in_client()).access_token
    issuer.inject(Fault.status(503, "server_error", "down").on("userinfo").times(1))
    with pytest.raises(OAuthError):
        issuer.sign_in_client(max_attempts=1).userinfo(access)
    assert issuer.count("userinfo") == 1
    issuer.reset()
    issuer.inject(Fault.status(503, "server_error", "down").on("userinfo").times(1))
    assert issuer.sign_in_client(max_attempts=2, initial_backoff=0.01).userinfo(access)["sub"]
    assert issuer.count("userinfo") == 2


def test_s6_backoff_is_used(issuer: LocalIssuer) -> None:
    issuer.inject(Fault.status(503, "server_error", "down").times(1))
    start = time.monotonic()
    issuer.client(max_attempts=2, initial_backoff=0.4, max_backoff=0.4).get_token(issuer.audience)
    assert time.monotonic() - start >= 0.2  # with jitter, at least half the backoff


# --- S7: default audience ----------------------------------------------------------------------


def test_s7_default_audience(issuer: LocalIssuer) -> None:
    c = issuer.client(audience=issuer.audience)
    tok = c.get_token()
    assert claims(tok.access_token)["aud"] == issuer.audience
    assert asyncio.run(c.get_token_async()) is tok
    assert c.get_token("").access_token == tok.access_token  # empty = the default, as everywhere
    bare = issuer.client()
    with pytest.raises(ConfigError, match="no audience") as e:
        bare.get_token()
    assert e.value.kind == "config"
    with pytest.raises(ConfigError, match="no audience"):
        asyncio.run(bare.get_token_async())
    assert issuer.count("token") == 1


def test_s7_default_audience_from_the_environment(issuer: LocalIssuer, monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in {
        "AUTH0_DOMAIN": issuer.domain,
        "AUTH0_CLIENT_ID": issuer.client_id,
        "AUTH0_CLIENT_SECRET": issuer.client_secret,
        "AUTH0_AUDIENCE": issuer.audience,
    }.items():
        monkeypatch.setenv(k, v)
    tok = TokenClient.from_env(request_timeout=5.0).get_token()
    assert claims(tok.access_token)["aud"] == issuer.audience


def test_p1_a_prepared_request_is_the_core_hit_path(issuer: LocalIssuer) -> None:
    c = issuer.client()
    p = c.prepare(issuer.audience, "write:things read:things read:things")
    assert (p.audience, p.scope, p.organization) == (issuer.audience, "read:things write:things", None)
    assert c.prepare(issuer.audience, ["read:things", "write:things"]) is p  # one per request
    t = p.get_token()
    hits = c.stats()["cache_hits"]
    assert p.get_token() is t and asyncio.run(p.get_token_async()) is t
    assert c.stats()["cache_hits"] == hits + 2  # counted by the core, at once
    assert c.get_token(issuer.audience, "read:things write:things") is t  # one slot
    assert p.invalidate_if_current(t) and not p.invalidate_if_current(t)
    t2 = p.get_token()
    assert t2.access_token != t.access_token and p.cached() is t2
    assert issuer.count("token") == 2
    assert "PreparedRequest" in repr(p) and t2.access_token not in repr(p)
    with pytest.raises(ConfigError, match="no audience"):
        issuer.client().prepare()


def test_r1_after_rejection_drops_the_rejected_token_once_and_gives_the_one_to_retry_with(issuer: LocalIssuer) -> None:
    p = issuer.client().prepare(issuer.audience, "read:things")
    t1 = p.get_token()
    t2 = p.after_rejection(t1)
    assert t2 is not None and t2.access_token != t1.access_token
    assert asyncio.run(p.after_rejection_async(t1)) is t2  # a second caller that saw the same 401
    assert issuer.count("token") == 2 and p.get_token() is t2


def test_k1_config_knobs_by_name_in_seconds(issuer: LocalIssuer) -> None:
    # The core's one by-name setter: seconds for durations, checked at once or when built.
    v = tokenkeeper.TokenVerifier(issuer.domain, issuer.audience, leeway=30, jwks_lifetime=300.5, jwks_min_refetch_interval=2)
    assert v.audience == issuer.audience
    with pytest.raises(ConfigError, match=r"leeway: must be a finite number, zero or more \(got -1"):
        tokenkeeper.TokenVerifier(issuer.domain, issuer.audience, leeway=-1)
    with pytest.raises(ConfigError, match="leeway"):
        tokenkeeper.TokenVerifier(issuer.domain, issuer.audience, leeway=601)
    with pytest.raises(ConfigError, match="jwks_min_refetch_interval"):
        tokenkeeper.TokenVerifier(issuer.domain, issuer.audience, jwks_min_refetch_interval=0.5)
    with pytest.raises(ConfigError, match="leeway"):
        issuer.sign_in_client(leeway=601)
    assert issuer.sign_in_client(leeway=10, offline_access=False).client_id


def test_u1_user_credentials_expires_at_is_from_the_epoch_to_the_latest_time() -> None:
    latest = tokenkeeper._native._LATEST_TIME
    assert UserCredentials("at", latest).expires_at.year == 9999
    assert UserCredentials("at", 1.9).expires_at.timestamp() == 1
    for bad in (-1, latest + 1, float("nan"), float("inf")):
        with pytest.raises(ConfigError, match="expires_at is out of range"):
            UserCredentials("at", bad)
    with pytest.raises(ConfigError, match="expires_at is out of range"):
        UserCredentials.from_json('{"access_token":"at","token_type":"Bearer","expires_at":%d}' % (latest + 1))


def test_v2_a_verifier_and_a_sign_in_app_from_the_environment(
    issuer: LocalIssuer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Scenario V2 (every surface): the verifier and the sign-in app come from the environment;
    no credential variable is a public app, AUTH0_CLIENT_SECRET_FILE the confidential one; a
    missing variable is ConfigError naming it."""
    for name in ("AUTH0_CLIENT_SECRET", "AUTH0_PRIVATE_KEY_FILE", "AUTH0_CLIENT_SECRET_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AUTH0_DOMAIN", issuer.domain)
    monkeypatch.setenv("AUTH0_AUDIENCE", issuer.audience)
    token = issuer.client().get_token(issuer.audience)
    assert TokenVerifier.from_env(timeout=5.0).verify(token.access_token).aud == [issuer.audience]

    monkeypatch.setenv("AUTH0_CLIENT_ID", issuer.public_client_id)
    monkeypatch.delenv("AUTH0_REDIRECT_URI", raising=False)
    with pytest.raises(ConfigError, match="AUTH0_REDIRECT_URI"):
        SignInClient.from_env()
    monkeypatch.setenv("AUTH0_REDIRECT_URI", issuer.redirect_uri)
    monkeypatch.setenv("AUTH0_SCOPE", "openid email read:things")
    public = SignInClient.from_env()
    assert public.authorize().scope == "openid email read:things offline_access"
    assert issuer.sign_in(public).has_scope("read:things")

    secret = tmp_path / "secret"
    secret.write_text(issuer.web_client_secret + "\n")
    monkeypatch.setenv("AUTH0_CLIENT_ID", issuer.web_client_id)
    monkeypatch.setenv("AUTH0_CLIENT_SECRET_FILE", str(secret))
    issuer.sign_in(SignInClient.from_env())
    assert issuer.count("auth:client_secret_post") == 2  # the M2M token, then this exchange

    monkeypatch.delenv("AUTH0_DOMAIN")
    with pytest.raises(ConfigError, match="AUTH0_DOMAIN"):
        TokenVerifier.from_env()
