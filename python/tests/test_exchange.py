"""Token exchange through the cache (the scenario of core/tests/exchange.rs): On-Behalf-Of,
Custom Token Exchange and Token Vault against the local issuer, one request per subject,
never cached past the subject's ``exp``, the ``act`` chain through the verifier."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import tokenkeeper
from tokenkeeper.testing import LocalIssuer

from conftest import claims

ACCESS = "urn:ietf:params:oauth:token-type:access_token"
DOWNSTREAM = "https://downstream.example.com"


def user_token(issuer: LocalIssuer, lifetime: int = 3600, **extra: object) -> str:
    now = int(time.time())
    c: dict[str, object] = {
        "iss": issuer.issuer,
        "sub": issuer.user["sub"],
        "aud": issuer.audience,
        "iat": now,
        "exp": now + lifetime,
        "scope": "read:things",
    }
    c.update(extra)
    return issuer.sign(c)


@pytest.fixture
def downstream(issuer: LocalIssuer) -> str:
    issuer.add_api(DOWNSTREAM, ["read:things", "write:things"])
    return DOWNSTREAM


def test_on_behalf_of_is_cached_per_subject(
    issuer: LocalIssuer, client: tokenkeeper.TokenClient, downstream: str
) -> None:
    alice = user_token(issuer)
    t = client.exchange(alice, ACCESS, audience=downstream, scope=["write:things", "read:things"])
    c = claims(t.access_token)
    assert c["sub"] == issuer.user["sub"] and c["aud"] == downstream
    assert c["act"]["sub"] == f"{issuer.client_id}@clients"
    assert client.exchange(alice, ACCESS, audience=downstream, scope="read:things write:things").access_token == t.access_token
    bob = user_token(issuer, sub="auth0|bob")
    assert claims(client.exchange(bob, ACCESS, audience=downstream).access_token)["sub"] == "auth0|bob"
    assert issuer.count("grant:token_exchange:obo") == 2


def test_concurrent_exchanges_of_one_subject_send_one_request(
    issuer: LocalIssuer, client: tokenkeeper.TokenClient, downstream: str
) -> None:
    subject = user_token(issuer)
    with ThreadPoolExecutor(16) as pool:
        tokens = list(pool.map(lambda _: client.exchange(subject, ACCESS, audience=downstream), range(100)))
    assert len({t.access_token for t in tokens}) == 1
    assert issuer.count("grant:token_exchange:obo") == 1


def test_never_cached_past_the_subject_and_an_expired_subject_is_refused(
    issuer: LocalIssuer, client: tokenkeeper.TokenClient, downstream: str
) -> None:
    subject = user_token(issuer, lifetime=30)
    t = client.exchange(subject, ACCESS, audience=downstream)
    assert t.expires_in <= 30
    assert t.expires_at.timestamp() <= claims(subject)["exp"]
    before = issuer.count("token")
    with pytest.raises(tokenkeeper.InvalidTokenError) as e:
        client.exchange(user_token(issuer, exp=int(time.time()) - 5), ACCESS, audience=downstream)
    assert e.value.check == "expired"
    assert issuer.count("token") == before


def test_actor_chain_through_the_verifier(
    issuer: LocalIssuer, client: tokenkeeper.TokenClient, downstream: str
) -> None:
    subject = user_token(issuer, act={"sub": "first-hop"})
    agent = user_token(issuer, sub="agent|7")
    t = client.exchange(subject, ACCESS, audience=downstream, actor_token=agent, actor_token_type=ACCESS)
    verified = issuer.verifier(downstream).verify(t.access_token)
    assert verified.actor_chain() == ["agent|7", "first-hop"]
    with pytest.raises(tokenkeeper.ConfigError):
        client.exchange(subject, ACCESS, audience=downstream, actor_token=agent)


def test_custom_token_exchange_and_its_refusals(
    issuer: LocalIssuer, client: tokenkeeper.TokenClient, downstream: str
) -> None:
    kind = issuer.exchange_subject_token_type
    t = client.exchange(issuer.exchange_subject_token, kind, audience=downstream)
    assert claims(t.access_token)["sub"] == issuer.user["sub"]
    with pytest.raises(tokenkeeper.OAuthError) as e:
        client.exchange("forged", kind, audience=downstream)
    assert (e.value.error, e.value.status) == ("invalid_grant", 403)
    with pytest.raises(tokenkeeper.OAuthError) as e:
        client.exchange("x", "urn:example:nobody", audience=downstream)
    assert e.value.error == "invalid_request"
    with pytest.raises(tokenkeeper.ConfigError):
        client.exchange("x", "not a uri", audience=downstream)


def test_token_vault(issuer: LocalIssuer, client: tokenkeeper.TokenClient) -> None:
    subject = user_token(issuer)
    conn = issuer.vault_connections[0]
    t = client.exchange(subject, ACCESS, connection=conn, login_hint=issuer.user["email"])
    assert t.access_token.startswith(f"fca.{conn}.")
    assert client.exchange(subject, ACCESS, connection=conn, login_hint=issuer.user["email"]).access_token == t.access_token
    assert issuer.count("grant:token_vault") == 1
    with pytest.raises(tokenkeeper.OAuthError) as e:
        client.exchange(subject, ACCESS, connection=conn, login_hint="mallory@example.com")
    assert e.value.error == "invalid_grant"
    # An API refused the token: forgotten once, then the next exchange asks again.
    hint = issuer.user["email"]
    assert client.invalidate_exchange_if_current(t, subject, ACCESS, connection=conn, login_hint=hint)
    assert not client.invalidate_exchange_if_current(t, subject, ACCESS, connection=conn, login_hint=hint)
    assert client.exchange(subject, ACCESS, connection=conn, login_hint=hint).access_token != t.access_token
    assert issuer.count("grant:token_vault") == 3  # mallory's refused request counts too


def test_exchange_async(issuer: LocalIssuer, client: tokenkeeper.TokenClient, downstream: str) -> None:
    subject = user_token(issuer)

    async def main() -> list[tokenkeeper.Token]:
        return await asyncio.gather(*(client.exchange_async(subject, ACCESS, audience=downstream) for _ in range(20)))

    tokens = asyncio.run(main())
    assert len({t.access_token for t in tokens}) == 1
    assert client.exchange(subject, ACCESS, audience=downstream).access_token == tokens[0].access_token
    assert issuer.count("grant:token_exchange:obo") == 1
