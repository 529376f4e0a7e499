"""Each exception type from a real server response or fault, and the error contract: one line,
no secret, the right attributes, picklable."""

from __future__ import annotations

import pickle

import pytest

import tokenkeeper
from tokenkeeper import (
    ConfigError,
    InvalidResponseError,
    InvalidTokenError,
    NetworkError,
    OAuthError,
    RateLimitedError,
    ReauthenticationRequiredError,
    RequestTimeoutError,
    TokenClient,
    TokenkeeperError,
)
from tokenkeeper import _native, errors
from tokenkeeper.testing import Fault, LocalIssuer


def check_message(e: BaseException, *secrets: str) -> None:
    msg = str(e)
    assert msg and "\n" not in msg
    for s in secrets:
        assert s not in msg and s not in repr(e)


def test_wrong_secret_is_an_oauth_error(issuer: LocalIssuer) -> None:
    c = TokenClient(issuer.domain, issuer.client_id, "wrong-secret-value")
    with pytest.raises(OAuthError) as e:
        c.get_token(issuer.audience)
    assert (e.value.error, e.value.status) == ("access_denied", 401)
    assert e.value.error_description == "Unauthorized"
    assert e.value.kind == "oauth" and not e.value.transient
    check_message(e.value, "wrong-secret-value")
    assert c.stats()["errors"] == 1


def test_unknown_audience_and_ungranted_client(issuer: LocalIssuer, client: TokenClient) -> None:
    with pytest.raises(OAuthError) as e:
        client.get_token("https://unknown.example.com")
    assert (e.value.error, e.value.status) == ("access_denied", 403)
    assert "Service not found" in (e.value.error_description or "")
    ungranted = TokenClient(issuer.domain, issuer.ungranted_client_id, issuer.ungranted_client_secret)
    with pytest.raises(OAuthError) as e:
        ungranted.get_token(issuer.audience)
    assert e.value.status == 403
    check_message(e.value, issuer.ungranted_client_secret)


def test_rate_limited_with_retry_after(issuer: LocalIssuer, client: TokenClient) -> None:
    issuer.inject(Fault.rate_limited(120))
    with pytest.raises(RateLimitedError) as e:
        client.get_token(issuer.audience)
    assert e.value.retry_after == 120.0
    assert e.value.transient and e.value.kind == "rate_limited"
    assert issuer.count("token") == 1  # longer than max_retry_after: returned at once
    check_message(e.value, issuer.client_secret)


def test_a_short_429_is_retried(issuer: LocalIssuer, client: TokenClient) -> None:
    issuer.inject(Fault.rate_limited(1))
    tok = client.get_token(issuer.audience)
    assert tok.access_token
    assert issuer.count("token") == 2


def test_a_5xx_is_retried(issuer: LocalIssuer, client: TokenClient) -> None:
    issuer.inject({"status": 503, "body": '{"error":"server_error"}'})
    assert client.get_token(issuer.audience).access_token
    assert issuer.count("token") == 2


def test_closed_port_is_a_network_error() -> None:
    c = TokenClient("http://127.0.0.1:1", "id", "a-secret-value", max_attempts=1)
    with pytest.raises(NetworkError) as e:
        c.get_token("https://api.example.com")
    assert e.value.kind == "network" and e.value.transient
    assert not isinstance(e.value, RequestTimeoutError)
    check_message(e.value, "a-secret-value")


def test_dropped_connection_is_a_network_error(issuer: LocalIssuer) -> None:
    issuer.inject(Fault.drop_connection().times(2))
    c = issuer.client(max_attempts=2)
    with pytest.raises(NetworkError):
        c.get_token(issuer.audience)
    assert issuer.count("token") == 2


def test_timeout(issuer: LocalIssuer) -> None:
    issuer.inject(Fault.delay(3000))
    c = issuer.client(timeout=0.3, max_attempts=1)
    with pytest.raises(RequestTimeoutError) as e:
        c.get_token(issuer.audience)
    assert isinstance(e.value, NetworkError)
    assert isinstance(e.value, TimeoutError)  # the built-in
    assert e.value.kind == "timeout"
    check_message(e.value, issuer.client_secret)


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 200, "body": "{not json"},
        {"status": 200, "body": '{"token_type":"Bearer"}'},
        {"status": 200, "body": '{"access_token":"abc","token_type":"mac"}'},
        {"body_bytes": 100000},
    ],
    ids=["not-json", "no-access-token", "mac", "oversized"],
)
def test_invalid_responses(issuer: LocalIssuer, client: TokenClient, fault: dict[str, object]) -> None:
    issuer.inject(fault)
    with pytest.raises(InvalidResponseError) as e:
        client.get_token(issuer.audience)
    assert e.value.status == 200 and e.value.kind == "invalid_response"
    check_message(e.value, issuer.client_secret)


def test_config_errors(issuer: LocalIssuer) -> None:
    with pytest.raises(ConfigError, match="loopback"):
        TokenClient("http://example.com", "id", "secret")
    with pytest.raises(ConfigError, match="client_id"):
        TokenClient(issuer.domain, "", "secret")
    with pytest.raises(ConfigError) as e:
        TokenClient(issuer.domain, "id", private_key="-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")
    check_message(e.value, "nope")
    with pytest.raises(ConfigError):
        TokenClient(issuer.domain, "id", "secret", private_key=issuer.jwt_rsa_private_key)
    with pytest.raises(ConfigError):
        TokenClient(issuer.domain, "id")
    with pytest.raises(ConfigError, match="signing algorithm"):
        TokenClient(issuer.domain, "id", private_key=issuer.jwt_rsa_private_key, private_key_alg="HS256")
    with pytest.raises(ConfigError, match="auth method"):
        TokenClient(issuer.domain, "id", "secret", auth_method="magic")
    with pytest.raises(ConfigError, match="timeout"):
        TokenClient(issuer.domain, "id", "secret", timeout=-1)
    with pytest.raises(ConfigError, match="private key"):
        TokenClient(issuer.domain, "id", "secret", private_key_alg="ES256")
    with pytest.raises(ConfigError, match="max_attempts"):
        TokenClient(issuer.domain, "id", "secret", max_attempts=0)
    with pytest.raises(ValueError):  # ConfigError is a ValueError
        TokenClient("ftp://example.com", "id", "secret")


def test_invalid_token_has_a_class_per_check() -> None:
    names = _native._TOKEN_CHECKS
    assert len(names) == 15 and "token_type" in names
    seen = set()
    for check in names:
        e = _native._sample_error("invalid_token", check)
        assert isinstance(e, InvalidTokenError) and isinstance(e, TokenkeeperError)
        assert type(e) is not InvalidTokenError, f"no class for {check}"
        assert e.check == check and e.kind == "invalid_token"
        assert check in str(e)
        seen.add(type(e))
    assert len(seen) == 15
    assert isinstance(_native._sample_error("invalid_token", "expired"), errors.TokenExpiredError)
    e = _native._sample_error("invalid_token", "token_type")
    assert type(e) is tokenkeeper.TokenTypeError and e.check == "token_type"
    assert "TokenTypeError" in tokenkeeper.__all__ and "TokenTypeError" in errors.__all__


def test_every_core_error_kind_converts() -> None:
    expected = {
        "oauth": OAuthError,
        "rate_limited": RateLimitedError,
        "network": NetworkError,
        "timeout": RequestTimeoutError,
        "invalid_response": InvalidResponseError,
        "config": ConfigError,
        "invalid_token": InvalidTokenError,
        "reauthentication_required": ReauthenticationRequiredError,
        "storage": tokenkeeper.CredentialsStoreError,
    }
    for kind, cls in expected.items():
        e = _native._sample_error(kind)
        assert type(e) is cls or isinstance(e, cls), kind
        assert e.kind == kind
    r = _native._sample_error("reauthentication_required")
    assert isinstance(r, ReauthenticationRequiredError)
    assert r.error == "invalid_grant" and "Unknown or invalid refresh token" in str(r)
    rl = _native._sample_error("rate_limited")
    assert isinstance(rl, RateLimitedError) and rl.retry_after == 1.5


def test_credentials_store_error_is_no_config_error() -> None:
    assert issubclass(tokenkeeper.CredentialsStoreError, TokenkeeperError)
    assert not issubclass(tokenkeeper.CredentialsStoreError, ConfigError)
    assert tokenkeeper.CredentialsStoreError.kind == "storage"
    assert tokenkeeper.CredentialsStoreError("x").transient is False


def test_errors_pickle(issuer: LocalIssuer) -> None:
    c = TokenClient(issuer.domain, issuer.client_id, "wrong")
    with pytest.raises(OAuthError) as e:
        c.get_token(issuer.audience)
    back = pickle.loads(pickle.dumps(e.value))
    assert type(back) is OAuthError
    assert (back.error, back.status, str(back), back.transient) == (e.value.error, 401, str(e.value), False)
    for kind in ["timeout", "config", "rate_limited", "storage"]:
        err = _native._sample_error(kind)
        b = pickle.loads(pickle.dumps(err))
        assert type(b) is type(err) and str(b) == str(err)
    t = pickle.loads(pickle.dumps(_native._sample_error("invalid_token", "audience")))
    assert isinstance(t, tokenkeeper.errors.TokenAudienceError) and t.check == "audience"


def test_e1_errors_carry_the_core(issuer: LocalIssuer) -> None:
    """Scenario E1 (every surface): kind, transient, HTTP status, check name and the core's
    message, word for word."""
    c = TokenClient(issuer.domain, issuer.client_id, issuer.client_secret, cache=False)
    issuer.inject(Fault.rate_limited(120))  # longer than max_retry_after: returned at once
    with pytest.raises(RateLimitedError) as limited:
        c.get_token(issuer.audience)
    e = limited.value
    assert (e.kind, e.transient, e.http_status) == ("rate_limited", True, 429)
    assert str(e) == "rate limited by the server (HTTP 429), retry after 120.0 s (Global limit has been reached)"
    issuer.inject(Fault.status(403, "access_denied", "Service not enabled within domain"))
    with pytest.raises(OAuthError) as denied:
        c.get_token(issuer.audience)
    d = denied.value
    assert (d.kind, d.transient, d.http_status) == ("oauth", False, 403)
    assert str(d) == "OAuth error from the server (HTTP 403): access_denied (Service not enabled within domain)"
    import time

    now = int(time.time())
    v = tokenkeeper.TokenVerifier(issuer.domain, issuer.audience)
    token = issuer.sign({"iss": issuer.issuer, "aud": issuer.audience, "sub": "e1", "iat": now - 7200, "exp": now - 3600})
    with pytest.raises(InvalidTokenError) as expired:
        v.verify(token)
    x = expired.value
    assert (x.kind, x.check, x.http_status) == ("invalid_token", "expired", None)
    assert str(x).startswith("invalid token (expired): ")
