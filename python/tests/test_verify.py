"""TokenVerifier: good tokens from the issuer's token endpoint, bad ones built for each check,
the JWKS cache, async and threads. Real HTTP to the local issuer's JWKS."""

from __future__ import annotations

import asyncio
import base64
import json
import pickle
import threading
import time
from collections.abc import Mapping
from typing import Any

import pytest

import tokenkeeper
from tokenkeeper import (
    Claims,
    ConfigError,
    InvalidTokenError,
    TokenAlgorithmError,
    TokenAudienceError,
    TokenClient,
    TokenExpiredError,
    TokenIssuerError,
    TokenJwksError,
    TokenMalformedError,
    TokenMissingClaimError,
    TokenNotYetValidError,
    TokenOrganizationError,
    TokenSignatureError,
    TokenUnknownKeyError,
    TokenVerifier,
)
from tokenkeeper.testing import Fault, LocalIssuer

ACME_ID = "org_4dK8wZqX2mN7pL1s"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(segment: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


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


@pytest.fixture
def verifier(issuer: LocalIssuer) -> TokenVerifier:
    return issuer.verifier()


def test_a_good_access_token(issuer: LocalIssuer, client: TokenClient, verifier: TokenVerifier) -> None:
    tok = client.get_token(issuer.audience, scope="read:things write:things")
    claims = verifier.verify(tok.access_token)
    assert isinstance(claims, Claims) and isinstance(claims, Mapping) and not isinstance(claims, dict)
    assert dict(claims) == claims.to_dict() == claims and len(claims) == len(claims.to_dict())
    assert "gty" in claims and 42 not in claims and claims.get("nope", 7) == 7  # type: ignore[operator]
    with pytest.raises(KeyError):
        claims["nope"]
    assert "Claims {" in repr(claims) and tok.access_token not in repr(claims)
    assert claims["iss"] == issuer.issuer and claims.iss == issuer.issuer
    assert claims["aud"] == issuer.audience and claims.aud == [issuer.audience]
    assert claims.sub == f"{issuer.client_id}@clients" and claims.azp == issuer.client_id
    assert claims.scopes == ["read:things", "write:things"] and claims.has_scope("write:things read:things")
    assert not claims.has_scope("delete:things")
    assert claims["gty"] == "client-credentials"  # every claim is there, not only the typed ones
    assert isinstance(claims.exp, int) and claims.exp > time.time() + 86000
    assert claims.expires_at is not None and claims.expires_at.timestamp() == claims.exp
    assert claims.iat is not None and claims.org_id is None and claims.nonce is None
    assert json.loads(json.dumps(claims.to_dict())) == claims
    assert pickle.loads(pickle.dumps(claims)) == claims
    assert verifier.stats() == {"verified": 1, "rejected": 0, "jwks_fetches": 1}


def test_the_jwks_is_fetched_once(issuer: LocalIssuer, client: TokenClient, verifier: TokenVerifier) -> None:
    token = client.get_token(issuer.audience).access_token
    for _ in range(200):
        verifier.verify(token)
    assert issuer.count("jwks") == 1
    assert verifier.stats() == {"verified": 200, "rejected": 0, "jwks_fetches": 1}
    assert verifier.refresh_jwks() == 1  # an explicit refetch: one key
    assert issuer.count("jwks") == 2


def test_expired_inside_and_outside_the_leeway(issuer: LocalIssuer, verifier: TokenVerifier) -> None:
    now = int(time.time())
    expired = issuer.sign(access_claims(issuer, iat=now - 3600, exp=now - 600))
    with pytest.raises(TokenExpiredError) as e:
        verifier.verify(expired)
    assert e.value.check == "expired" and isinstance(e.value, InvalidTokenError)
    assert e.value.kind == "invalid_token" and not e.value.transient
    assert expired not in str(e.value)
    recent = issuer.sign(access_claims(issuer, iat=now - 3600, exp=now - 20))
    assert verifier.verify(recent).sub == "someone@clients"  # within the default 60 s
    strict = issuer.verifier(leeway=0)
    with pytest.raises(TokenExpiredError):
        strict.verify(recent)


def test_wrong_audience(issuer: LocalIssuer, client: TokenClient) -> None:
    token = client.get_token(issuer.audience).access_token
    other = TokenVerifier(issuer.domain, "https://other.example.com")
    with pytest.raises(TokenAudienceError) as e:
        other.verify(token)
    assert e.value.check == "audience" and "https://other.example.com" in str(e.value)
    # An array without the API is refused too; with it, accepted.
    v = issuer.verifier()
    with pytest.raises(TokenAudienceError):
        v.verify(issuer.sign(access_claims(issuer, aud=["https://x.example.com", issuer.userinfo_audience])))
    assert v.verify(issuer.sign(access_claims(issuer, aud=["https://x.example.com", issuer.audience]))).aud == [
        "https://x.example.com",
        issuer.audience,
    ]
    # A per-call audience override.
    assert other.verify(token, audience=issuer.audience).aud == [issuer.audience]


def test_tampered_payload_and_signature(issuer: LocalIssuer, client: TokenClient, verifier: TokenVerifier) -> None:
    token = client.get_token(issuer.audience, scope="read:things").access_token
    h, p, s = token.split(".")
    claims = b64json(p)
    claims["scope"] = "read:things delete:things"
    with pytest.raises(TokenSignatureError) as e:
        verifier.verify(f"{h}.{b64(json.dumps(claims).encode())}.{s}")
    assert e.value.check == "signature"
    flipped = s[:10] + ("A" if s[10] != "A" else "B") + s[11:]
    with pytest.raises(TokenSignatureError):
        verifier.verify(f"{h}.{p}.{flipped}")
    with pytest.raises(TokenSignatureError):
        verifier.verify(f"{h}.{p}.")


@pytest.mark.parametrize(
    "token",
    ["abc", "", "a.b", "a.b.c.d", "Bearer x.y.z", "e30.e30.e30", "!!!.e30.e30", "a.b.c.d.e"],
    ids=["abc", "empty", "2-segments", "4-segments", "bearer-prefix", "empty-json-header", "not-base64", "jwe"],
)
def test_malformed_tokens(verifier: TokenVerifier, token: str) -> None:
    with pytest.raises(TokenMalformedError) as e:
        verifier.verify(token)
    assert e.value.check == "malformed"


def test_a_huge_token_is_malformed(issuer: LocalIssuer) -> None:
    v = issuer.verifier(max_token_bytes=1024)
    with pytest.raises(TokenMalformedError, match="over the limit"):
        v.verify("a" * 2000)
    assert issuer.count("jwks") == 0  # nothing decoded, nothing fetched


def test_alg_none_and_hmac_are_refused(issuer: LocalIssuer, verifier: TokenVerifier) -> None:
    payload = b64(json.dumps(access_claims(issuer)).encode())
    for alg in ("none", "None", "HS256"):
        header = b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
        with pytest.raises(TokenAlgorithmError) as e:
            verifier.verify(f"{header}.{payload}.")
        assert e.value.check == "algorithm"
    # An allow-list without RS256 refuses the issuer's own RS256 tokens.
    ps_only = issuer.verifier(algorithms=["PS256"])
    with pytest.raises(TokenAlgorithmError):
        ps_only.verify(issuer.sign(access_claims(issuer)))


def test_unknown_kid(issuer: LocalIssuer, verifier: TokenVerifier) -> None:
    token = issuer.sign(access_claims(issuer), header={"kid": "nope"})
    with pytest.raises(TokenUnknownKeyError) as e:
        verifier.verify(token)
    assert e.value.check == "unknown_key" and "nope" in str(e.value)


def test_a_flood_of_unknown_kids_makes_no_flood_of_jwks_requests(issuer: LocalIssuer, verifier: TokenVerifier) -> None:
    verifier.verify(issuer.sign(access_claims(issuer)))
    tokens = [issuer.sign(access_claims(issuer), header={"kid": f"random-{i}"}) for i in range(30)]
    for t in tokens:
        with pytest.raises(TokenUnknownKeyError):
            verifier.verify(t)
    # The first unknown kid may refetch; the next 29 are inside the 30 s interval.
    assert issuer.count("jwks") <= 2
    assert verifier.stats()["rejected"] == 30


def test_key_rotation_is_followed(issuer: LocalIssuer, client: TokenClient) -> None:
    v = issuer.verifier(jwks_min_refetch_interval=1)
    assert v.verify(client.get_token(issuer.audience).access_token)
    old_kid = issuer.active_kid
    new_kid = issuer.rotate_signing_key()
    time.sleep(1.05)  # the refetch interval's floor
    assert new_kid != old_kid and issuer.published_kids == [new_kid]
    assert v.verify(issuer.sign(access_claims(issuer))).sub == "someone@clients"  # refetched
    assert issuer.count("jwks") == 2
    # A token of the retired key is now unknown.
    with pytest.raises(TokenUnknownKeyError):
        v.verify(client.get_token(issuer.audience).access_token)


def test_es256_key(issuer: LocalIssuer) -> None:
    issuer.add_signing_key("ES256", activate=True)
    v = issuer.verifier()
    assert v.verify(issuer.sign(access_claims(issuer))).iss == issuer.issuer
    assert b64json(issuer.sign({}).split(".")[0])["alg"] == "ES256"


def test_wrong_issuer_and_custom_domains(issuer: LocalIssuer, verifier: TokenVerifier) -> None:
    no_slash = issuer.sign(access_claims(issuer, iss=issuer.issuer.rstrip("/")))
    with pytest.raises(TokenIssuerError) as e:
        verifier.verify(no_slash)
    assert e.value.check == "issuer"
    custom = issuer.sign(access_claims(issuer, iss="https://login.example.com/"))
    with pytest.raises(TokenIssuerError):
        verifier.verify(custom)
    both = issuer.verifier(issuers=["https://login.example.com/", issuer.issuer])
    assert both.issuers == ["https://login.example.com/", issuer.issuer]
    assert both.verify(custom).iss == "https://login.example.com/"
    assert both.verify(issuer.sign(access_claims(issuer))).iss == issuer.issuer


def test_not_yet_valid_and_missing_claims(issuer: LocalIssuer, verifier: TokenVerifier) -> None:
    now = int(time.time())
    with pytest.raises(TokenNotYetValidError) as e:
        verifier.verify(issuer.sign(access_claims(issuer, nbf=now + 3600)))
    assert e.value.check == "not_yet_valid"
    with pytest.raises(TokenNotYetValidError):
        verifier.verify(issuer.sign(access_claims(issuer, iat=now + 3600)))
    with pytest.raises(TokenMissingClaimError) as m:
        verifier.verify(issuer.sign({k: v for k, v in access_claims(issuer).items() if k != "exp"}))
    assert m.value.check == "missing_claim" and "exp" in str(m.value)


def test_an_organization_bound_verifier(issuer: LocalIssuer, client: TokenClient) -> None:
    token = client.get_token(issuer.audience, organization="acme").access_token
    by_id = issuer.verifier(organization=ACME_ID)
    claims = by_id.verify(token)
    assert claims.org_id == ACME_ID and claims.org_name == "acme"
    assert issuer.verifier(organization="ACME").verify(token).org_id == ACME_ID  # a name, any case
    with pytest.raises(TokenOrganizationError) as e:
        issuer.verifier(organization="org_someoneelse").verify(token)
    assert e.value.check == "organization"
    # A token without an organization is refused by an organization-bound verifier.
    with pytest.raises(TokenMissingClaimError):
        by_id.verify(client.get_token(issuer.audience).access_token)
    # Per call.
    assert issuer.verifier().verify(token, organization=ACME_ID).org_id == ACME_ID


def test_an_organization_named_after_another_organizations_id_is_not_that_id(issuer: LocalIssuer) -> None:
    # N1: an id is compared with org_id only, a name with org_name only.
    victim = "org_9ybsU1dN2dKfDkBi"
    attacker = issuer.sign(access_claims(issuer, org_id="org_ATTACKERattackr", org_name=victim.lower()))
    by_id = issuer.verifier(organization=victim)
    with pytest.raises(TokenOrganizationError):
        by_id.verify(attacker)
    with pytest.raises(TokenMissingClaimError):
        by_id.verify(issuer.sign(access_claims(issuer, org_name=victim)))
    assert by_id.verify(issuer.sign(access_claims(issuer, org_id=victim))).org_id == victim
    with pytest.raises(TokenMissingClaimError):  # a name never matches org_id
        issuer.verifier(organization="acme").verify(issuer.sign(access_claims(issuer, org_id="acme")))
    # A name that starts with org_ is asked for by name, explicitly.
    odd = issuer.verifier(organization_name="org_Odd-Name")
    assert odd.verify(issuer.sign(access_claims(issuer, org_name="org_odd-name"))).org_name == "org_odd-name"
    with pytest.raises(TokenMissingClaimError):
        odd.verify(issuer.sign(access_claims(issuer, org_id="org_Odd-Name")))
    # Per call, on every verify method.
    assert by_id.verify(attacker, organization_name=victim.lower()).org_id == "org_ATTACKERattackr"
    assert asyncio.run(by_id.verify_async(attacker, organization_name=victim.lower())).org_id
    with pytest.raises(TokenOrganizationError):
        issuer.verifier().verify(attacker, organization=victim)


def test_authorized_party(issuer: LocalIssuer, client: TokenClient) -> None:
    token = client.get_token(issuer.audience).access_token
    assert issuer.verifier(authorized_party=issuer.client_id).verify(token).azp == issuer.client_id
    with pytest.raises(tokenkeeper.TokenAuthorizedPartyError):
        issuer.verifier(authorized_party="another-app").verify(token)


def test_jwks_unreachable_is_a_jwks_error(issuer: LocalIssuer) -> None:
    token = issuer.sign(access_claims(issuer))
    v = TokenVerifier(
        issuer.domain, issuer.audience, jwks_url="http://127.0.0.1:1/.well-known/jwks.json", max_attempts=1
    )
    with pytest.raises(TokenJwksError) as e:
        v.verify(token)
    assert e.value.check == "jwks"
    assert v.stats()["jwks_fetches"] == 1
    # A JWKS endpoint that fails, then recovers after the refetch interval.
    issuer.inject(Fault.status(503, "server_error", "down").on("jwks").times(3))
    flaky = issuer.verifier(max_attempts=1, jwks_min_refetch_interval=1)
    with pytest.raises(TokenJwksError):
        flaky.verify(token)
    issuer.reset()
    time.sleep(1.05)  # the refetch interval's floor
    assert flaky.verify(token).sub == "someone@clients"


def test_configuration_errors(issuer: LocalIssuer) -> None:
    for below in (0, 0.5):
        with pytest.raises(ConfigError, match=r"jwks_min_refetch_interval must be at least 1 s"):
            TokenVerifier(issuer.domain, issuer.audience, jwks_min_refetch_interval=below)
    with pytest.raises(ConfigError, match="audience"):
        TokenVerifier(issuer.domain, "")
    with pytest.raises(ConfigError, match="loopback"):
        TokenVerifier("http://example.com", issuer.audience)
    with pytest.raises(ConfigError, match="HS256"):
        TokenVerifier(issuer.domain, issuer.audience, algorithms=["HS256"])
    with pytest.raises(ConfigError, match="leeway"):
        TokenVerifier(issuer.domain, issuer.audience, leeway=3600)
    with pytest.raises(ConfigError):
        TokenVerifier(issuer.domain, issuer.audience, leeway=-1)
    with pytest.raises(ConfigError):
        TokenVerifier(issuer.domain, issuer.audience, issuers=["not a url"])
    with pytest.raises(TypeError):
        TokenVerifier(issuer.domain, issuer.audience, issuers="https://x/")  # type: ignore[arg-type]
    assert issuer.count("jwks") == 0


def test_defaults_and_repr(issuer: LocalIssuer) -> None:
    v = TokenVerifier(domain="tenant.auth0.com", audience="https://api.example.com")
    assert v.issuers == ["https://tenant.auth0.com/"]
    assert v.jwks_url == "https://tenant.auth0.com/.well-known/jwks.json"
    assert v.audience == "https://api.example.com"
    assert "tenant.auth0.com" in repr(v) and repr(v).startswith("TokenVerifier {")


def test_verify_async(issuer: LocalIssuer, client: TokenClient, verifier: TokenVerifier) -> None:
    token = client.get_token(issuer.audience).access_token
    expired = issuer.sign(access_claims(issuer, exp=int(time.time()) - 3600))

    async def main() -> tuple[list[Claims], BaseException]:
        # 50 coroutines on a cold verifier: one JWKS fetch, then all verified.
        many = await asyncio.gather(*(verifier.verify_async(token) for _ in range(50)))
        try:
            await verifier.verify_async(expired)
        except InvalidTokenError as e:
            return many, e
        raise AssertionError("the expired token was accepted")

    many, err = asyncio.run(main())
    assert len(many) == 50 and all(c.sub == f"{issuer.client_id}@clients" for c in many)
    assert isinstance(err, TokenExpiredError)
    assert issuer.count("jwks") == 1


def test_verify_async_completes_without_suspending_once_the_jwks_is_cached(
    issuer: LocalIssuer, client: TokenClient, verifier: TokenVerifier
) -> None:
    token = client.get_token(issuer.audience).access_token
    verifier.verify(token)
    coro = verifier.verify_async(token)
    with pytest.raises(StopIteration) as done:
        coro.send(None)
    assert done.value.value.sub == f"{issuer.client_id}@clients"


def test_a_coroutine_never_awaited_does_nothing(issuer: LocalIssuer, verifier: TokenVerifier) -> None:
    coro = verifier.verify_async(issuer.sign(access_claims(issuer)))
    coro.close()
    assert issuer.count("jwks") == 0 and verifier.stats()["verified"] == 0


def test_many_threads_share_the_verifier(issuer: LocalIssuer, client: TokenClient, verifier: TokenVerifier) -> None:
    token = client.get_token(issuer.audience).access_token
    bad = issuer.sign(access_claims(issuer, aud="https://nope.example.com"))
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []
    results: list[str | None] = []

    def worker() -> None:
        barrier.wait()
        try:
            for _ in range(50):
                results.append(verifier.verify(token).sub)
                try:
                    verifier.verify(bad)
                    errors.append(AssertionError("accepted"))
                except TokenAudienceError:
                    pass
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert len(results) == 400 and set(results) == {f"{issuer.client_id}@clients"}
    assert verifier.stats() == {"verified": 400, "rejected": 400, "jwks_fetches": 1}


def test_c1_a_far_date_reads_as_the_latest_time(issuer: LocalIssuer, verifier: TokenVerifier) -> None:
    """Scenario C1 (every surface): ``exp: 1e308`` verifies and reads as the core's latest time,
    9999-12-31T23:59:59Z, not a 309-digit number or an ``OverflowError``."""
    import datetime
    import time

    now = int(time.time())
    claims = verifier.verify(issuer.sign({"iss": issuer.issuer, "aud": issuer.audience, "sub": "c1", "iat": now - 10, "exp": 1e308}))
    assert claims.exp == 253402300799
    assert claims.expires_at == datetime.datetime(9999, 12, 31, 23, 59, 59, tzinfo=datetime.timezone.utc)
    assert claims.iat == now - 10
