"""CredentialsManager over a credentials store written in Python: renewal through the refresh
token, rotation saved through the store, one renewal for concurrent callers (threads and
tasks), re-authentication, and stores that fail. Real HTTP to the local issuer."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from tokenkeeper import (
    ConfigError,
    CredentialsManager,
    CredentialsStore,
    CredentialsStoreError,
    MemoryCredentialsStore,
    OAuthError,
    ReauthenticationRequiredError,
    SignInClient,
    UserCredentials,
)
from tokenkeeper.testing import Fault, LocalIssuer


class RecordingStore:
    """A host store: keeps the credentials in memory and records every call, with the thread it
    ran on."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.credentials: UserCredentials | None = None
        self.calls: list[tuple[str, int]] = []
        self.saved: list[UserCredentials] = []

    def load(self) -> UserCredentials | None:
        with self.lock:
            self.calls.append(("load", threading.get_ident()))
            return self.credentials

    def save(self, credentials: UserCredentials) -> None:
        with self.lock:
            self.calls.append(("save", threading.get_ident()))
            self.saved.append(credentials)
            self.credentials = credentials

    def clear(self) -> None:
        with self.lock:
            self.calls.append(("clear", threading.get_ident()))
            self.credentials = None

    def names(self) -> list[str]:
        with self.lock:
            return [n for n, _ in self.calls]

    def expire(self) -> None:
        """Makes the stored access token look expired (without recording a call)."""
        with self.lock:
            c = self.credentials
            assert c is not None
            self.credentials = UserCredentials(
                c.access_token,
                time.time() - 10,
                token_type=c.token_type,
                scope=c.scope,
                refresh_token=c.refresh_token,
                id_token=c.id_token,
            )


class SignedIn:
    def __init__(self, issuer: LocalIssuer) -> None:
        self.app: SignInClient = issuer.sign_in_client(
            audience=issuer.audience, scope="openid profile email read:things"
        )
        self.first = issuer.sign_in(self.app)
        self.store = RecordingStore()
        self.manager = CredentialsManager(self.app, self.store)
        self.manager.save(self.first)


@pytest.fixture
def s(issuer: LocalIssuer) -> SignedIn:
    return SignedIn(issuer)


def test_valid_credentials_come_from_the_store(issuer: LocalIssuer, s: SignedIn) -> None:
    assert s.store.names() == ["save"] and s.store.saved == [s.first]
    before = issuer.count("token")
    for _ in range(5):
        assert s.manager.credentials(60) == s.first
    assert s.manager.credentials(scope="openid read:things") == s.first
    assert issuer.count("token") == before
    assert s.manager.stats() == {"renewals": 0, "rotations": 0, "hits": 6}
    assert s.store.names().count("load") >= 6
    assert s.manager.has_credentials() and s.manager.stored() == s.first
    assert s.manager.sign_in is s.app and s.manager.store is s.store
    assert "RecordingStore" in repr(s.manager)


def test_expired_credentials_are_renewed_and_the_rotated_token_saved(issuer: LocalIssuer, s: SignedIn) -> None:
    seen = [s.first.refresh_token]
    verifier = issuer.verifier()
    for _ in range(3):
        s.store.expire()
        c = s.manager.credentials(60)
        assert c.is_valid_for(3600) and c.refresh_token not in seen  # rotated
        assert s.store.credentials == c and s.store.saved[-1] == c  # saved before returned
        assert verifier.verify(c.access_token).sub == issuer.user["sub"]
        seen.append(c.refresh_token)
    assert issuer.count("grant:refresh_token") == 3
    assert issuer.count("refresh_reuse") == 0  # a rotated-out refresh token was never sent again
    assert s.manager.stats() == {"renewals": 3, "rotations": 3, "hits": 0}
    forced = s.manager.renew()
    assert forced.access_token != c.access_token and issuer.count("refresh_reuse") == 0


def test_a_min_ttl_longer_than_a_token_lives_renews_then_says_so(issuer: LocalIssuer, s: SignedIn) -> None:
    before = issuer.count("token")
    with pytest.raises(ConfigError, match="min_ttl"):
        s.manager.credentials(2 * 86400)
    assert issuer.count("token") == before + 1  # it did renew, through the refresh token
    renewed = s.store.credentials
    assert renewed is not None and renewed.access_token != s.first.access_token
    assert renewed.refresh_token != s.first.refresh_token
    assert s.manager.credentials(60) == renewed


def test_the_store_is_called_from_a_core_thread_while_the_caller_waits(issuer: LocalIssuer, s: SignedIn) -> None:
    s.store.expire()
    issuer.inject(Fault.delay(200))  # the refresh answer arrives while this thread waits
    c = s.manager.credentials(60)
    assert c.is_valid_for(3600)
    save_threads = [t for n, t in s.store.calls if n == "save"][1:]
    assert save_threads and all(t != threading.get_ident() for t in save_threads)


def test_concurrent_threads_share_one_renewal(issuer: LocalIssuer, s: SignedIn) -> None:
    s.store.expire()
    issuer.inject(Fault.delay(300))
    before = issuer.count("token")
    barrier = threading.Barrier(8)
    got: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        barrier.wait()
        try:
            got.append(s.manager.credentials(60).access_token)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and len(got) == 8 and len(set(got)) == 1
    assert issuer.count("token") == before + 1
    assert s.manager.stats()["renewals"] == 1


def test_concurrent_tasks_share_one_renewal(issuer: LocalIssuer, s: SignedIn) -> None:
    s.store.expire()
    issuer.inject(Fault.delay(300))
    before = issuer.count("token")

    async def main() -> list[UserCredentials]:
        return await asyncio.gather(*(s.manager.credentials_async(60) for _ in range(16)))

    got = asyncio.run(main())
    assert len({c.access_token for c in got}) == 1
    assert issuer.count("token") == before + 1
    # Valid credentials: completes without suspending (the store's load runs on this thread).
    coro = s.manager.credentials_async(60)
    with pytest.raises(StopIteration) as done:
        coro.send(None)
    assert done.value.value == got[0]
    renewed = asyncio.run(s.manager.renew_async())
    assert renewed.access_token != got[0].access_token


def test_revoked_refresh_tokens_require_reauthentication(issuer: LocalIssuer, s: SignedIn) -> None:
    assert issuer.revoke_refresh_tokens() == 1
    s.store.expire()
    with pytest.raises(ReauthenticationRequiredError) as e:
        s.manager.credentials(60)
    assert e.value.error == "invalid_grant"
    for _ in range(2):
        with pytest.raises(ReauthenticationRequiredError) as e:
            s.manager.credentials(60)
        assert e.value.error == "no_refresh_token"  # the refused one is forgotten
    assert issuer.count("grant:refresh_token") == 1  # the refused token was not sent again
    with pytest.raises(ReauthenticationRequiredError):
        asyncio.run(s.manager.renew_async())
    # Signing in again recovers.
    fresh = issuer.sign_in(s.app)
    s.manager.save(fresh)
    assert s.manager.credentials(60) == fresh


def test_no_credentials_and_sign_out(issuer: LocalIssuer) -> None:
    store = MemoryCredentialsStore()
    assert isinstance(store, CredentialsStore)
    m = CredentialsManager(issuer.sign_in_client(), store)
    assert not m.has_credentials() and m.stored() is None
    with pytest.raises(ReauthenticationRequiredError) as e:
        m.credentials()
    assert e.value.error == "no_credentials"
    creds = issuer.sign_in(m.sign_in)
    m.save(creds)
    assert store.load() == creds and m.has_credentials()
    m.clear()
    assert store.load() is None and not m.has_credentials()
    assert "empty" in repr(store)


class FailingStore(RecordingStore):
    def __init__(self, fail: str, exc: BaseException) -> None:
        super().__init__()
        self.fail, self.exc = fail, exc

    def load(self) -> UserCredentials | None:
        if self.fail == "load":
            raise self.exc
        return super().load()

    def save(self, credentials: UserCredentials) -> None:
        if self.fail == "save":
            self.fail = ""  # once
            raise self.exc
        super().save(credentials)


def test_a_store_whose_load_raises(issuer: LocalIssuer) -> None:
    store = FailingStore("load", OSError("keyring locked"))
    m = CredentialsManager(issuer.sign_in_client(), store)
    with pytest.raises(CredentialsStoreError) as e:
        m.credentials()
    assert "load()" in str(e.value) and "OSError: keyring locked" in str(e.value)
    assert not isinstance(e.value, ConfigError) and e.value.__cause__ is store.exc
    assert e.value.kind == "storage" and not e.value.transient
    with pytest.raises(CredentialsStoreError) as e2:
        asyncio.run(m.credentials_async())
    assert e2.value.__cause__ is store.exc
    with pytest.raises(CredentialsStoreError):
        m.has_credentials()
    # A tokenkeeper error raised by the store is given back as it was raised.
    store.exc = ReauthenticationRequiredError("signed out elsewhere", "logged_out")
    with pytest.raises(ReauthenticationRequiredError) as e3:
        m.credentials()
    assert e3.value is store.exc


def test_a_store_that_returns_the_wrong_type(issuer: LocalIssuer) -> None:
    class Wrong(RecordingStore):
        def load(self) -> Any:
            return {"access_token": "x"}

    with pytest.raises(CredentialsStoreError, match="returned dict") as e:
        CredentialsManager(issuer.sign_in_client(), Wrong()).credentials()
    assert isinstance(e.value.__cause__, TypeError)


def test_a_store_that_fails_to_save_never_makes_the_manager_resend_a_rotated_token(issuer: LocalIssuer) -> None:
    app = issuer.sign_in_client(audience=issuer.audience)
    first = issuer.sign_in(app)
    store = FailingStore("", OSError("disk full"))
    m = CredentialsManager(app, store)
    m.save(first)
    store.expire()
    store.fail = "save"
    with pytest.raises(CredentialsStoreError, match="save\\(\\) failed: OSError: disk full"):
        m.credentials(60)
    # The store still holds the rotated-out token; the manager kept the renewed credentials.
    assert store.credentials is not None and store.credentials.refresh_token == first.refresh_token
    c = m.credentials(60)
    assert c.is_valid_for(3600) and c.refresh_token != first.refresh_token
    assert store.credentials == c  # saved again
    assert issuer.count("grant:refresh_token") == 1 and issuer.count("refresh_reuse") == 0


def test_a_store_that_calls_back_into_tokenkeeper_gets_an_error_not_a_deadlock(issuer: LocalIssuer, s: SignedIn) -> None:
    class Reentrant(RecordingStore):
        manager: CredentialsManager

        def load(self) -> UserCredentials | None:
            self.manager.credentials()  # not allowed: the core raises ConfigError
            return None

    store = Reentrant()
    m = CredentialsManager(s.app, store)
    store.manager = m
    with pytest.raises(ConfigError, match="called back into the manager"):
        m.credentials()


def test_a_store_without_the_methods_is_refused(issuer: LocalIssuer) -> None:
    class NoClear:
        def load(self) -> None:
            return None

        def save(self, credentials: UserCredentials) -> None:
            pass

    with pytest.raises(TypeError, match="clear"):
        CredentialsManager(issuer.sign_in_client(), NoClear())  # type: ignore[arg-type]


def test_managers_on_one_store_share_one_grant(issuer: LocalIssuer, s: SignedIn) -> None:
    # A second manager over the same store, with a client object of its own.
    other = CredentialsManager(
        issuer.sign_in_client(audience=issuer.audience, scope="openid profile email read:things"), s.store
    )
    s.store.expire()
    issuer.inject(Fault.delay(300))
    before = issuer.count("grant:refresh_token")
    barrier = threading.Barrier(8)
    got: list[str] = []
    errors: list[BaseException] = []

    def worker(m: CredentialsManager) -> None:
        barrier.wait()
        try:
            got.append(m.credentials(60).access_token)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(m,)) for m in [s.manager, other] * 4]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and len(got) == 8 and len(set(got)) == 1
    assert issuer.count("grant:refresh_token") == before + 1
    assert issuer.count("refresh_reuse") == 0
    rotated = s.store.credentials
    assert rotated is not None and rotated.refresh_token != s.first.refresh_token
    for m in (s.manager, other):
        stored = m.stored()
        assert stored is not None and stored.refresh_token == rotated.refresh_token
    # The family was not revoked: the next renewal works.
    s.store.expire()
    assert other.credentials(60).is_valid_for(3600)
    assert issuer.count("refresh_reuse") == 0


def test_clear_with_revoke_revokes_the_refresh_token(issuer: LocalIssuer, s: SignedIn) -> None:
    rt = s.first.refresh_token
    assert rt is not None
    s.manager.clear(revoke=True)
    assert s.store.credentials is None and s.manager.stored() is None
    assert issuer.count("revoked") == 1
    with pytest.raises(ReauthenticationRequiredError) as e:
        s.app.refresh(rt)
    assert e.value.error == "invalid_grant"
    # A failed revocation raises, and the user is signed out locally anyway.
    s.manager.save(issuer.sign_in(s.app))
    issuer.inject(Fault.status(401, "invalid_client", "Client authentication failed").on("revoke"))
    with pytest.raises(OAuthError) as failed:
        s.manager.clear(revoke=True)
    assert failed.value.error == "invalid_client"
    assert s.store.credentials is None


def test_mrrt_another_api_from_the_one_refresh_token(issuer: LocalIssuer, s: SignedIn) -> None:
    """The scenario of core/tests/signin_mrrt.rs: a token for an API of the refresh-token
    policies, cached per audience and scope set, its rotation saved; an audience outside the
    policies refused by the answer's ``aud``."""
    policy = issuer.refresh_token_policies[0]
    billing, scope = policy["audience"], policy["scope"][0]
    t = s.manager.credentials(60, scope=scope, audience=billing)
    assert billing in issuer.verifier(billing).verify(t.access_token).aud
    assert t.refresh_token is None and t.id_token is None
    stored = s.store.credentials
    assert stored is not None and stored.refresh_token != s.first.refresh_token  # rotated, saved
    assert stored.access_token == s.first.access_token
    assert s.manager.credentials(60, scope=scope, audience=billing).access_token == t.access_token
    assert s.manager.credentials(60, audience=issuer.audience) == stored
    assert issuer.count("grant:refresh_token") == 1

    async def many() -> list[UserCredentials]:
        return await asyncio.gather(*(s.manager.credentials_async(60, audience=billing) for _ in range(8)))

    assert len({c.access_token for c in asyncio.run(many())}) == 1
    assert issuer.count("grant:refresh_token") == 2
    with pytest.raises(ConfigError) as e:
        s.manager.credentials(60, audience="https://elsewhere.example.com")
    assert "https://elsewhere.example.com" in str(e.value)
    s.manager.renew()
    assert issuer.count("refresh_reuse") == 0
