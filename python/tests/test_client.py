"""The public API of the package: names, the client, the token, the cache, configuration."""

from __future__ import annotations

import datetime
import time
from pathlib import Path

import pytest

import tokenkeeper
from tokenkeeper import (
    ConfigError,
    InvalidResponseError,
    NetworkError,
    OAuthError,
    RateLimitedError,
    Token,
    TokenClient,
    TokenkeeperError,
)
from tokenkeeper.testing import LocalIssuer

from conftest import claims, verify_rs256


def test_runs_against_the_installed_wheel() -> None:
    source = Path(__file__).resolve().parents[1] / "tokenkeeper"
    assert Path(tokenkeeper.__file__).resolve().parent != source
    native = Path(tokenkeeper._native.__file__).name
    assert native.startswith("_native.") and native.endswith(".abi3.so"), native


def test_public_names() -> None:
    for name in [
        "TokenClient",
        "Token",
        "TokenkeeperError",
        "OAuthError",
        "RateLimitedError",
        "NetworkError",
        "InvalidResponseError",
        "ConfigError",
        "RequestTimeoutError",
        "InvalidTokenError",
        "ReauthenticationRequiredError",
    ]:
        assert name in tokenkeeper.__all__
        assert getattr(tokenkeeper, name) is not None
    for cls in (OAuthError, RateLimitedError, NetworkError, InvalidResponseError, ConfigError):
        assert issubclass(cls, TokenkeeperError)
    assert issubclass(ConfigError, ValueError)
    assert tokenkeeper.__version__


def test_version_is_the_workspace_version() -> None:
    import tomllib

    root = Path(__file__).resolve().parents[2]
    with open(root / "Cargo.toml", "rb") as f:
        workspace = tomllib.load(f)["workspace"]["package"]["version"]
    assert tokenkeeper.__version__ == workspace
    from importlib.metadata import version

    assert version("tokenkeeper") == workspace


def test_get_token_returns_a_real_token(issuer: LocalIssuer, client: TokenClient) -> None:
    tok = client.get_token(audience=issuer.audience, scope=None, organization=None)
    assert isinstance(tok, Token)
    assert tok.token_type == "Bearer"
    assert tok.expires_in == 86400
    assert tok.scope == "delete:things read:things write:things"
    assert verify_rs256(tok.access_token, issuer.jwks())
    c = claims(tok.access_token)
    assert c["aud"] == issuer.audience and c["iss"] == issuer.issuer
    assert c["sub"] == f"{issuer.client_id}@clients"
    # expires_at: timezone-aware UTC datetime, measured from when the request was sent
    assert tok.expires_at.tzinfo is not None
    assert tok.expires_at.utcoffset() == datetime.timedelta(0)
    now = datetime.datetime.now(datetime.timezone.utc)
    assert now + datetime.timedelta(seconds=86390) < tok.expires_at <= now + datetime.timedelta(seconds=86400)
    assert abs(tok.expires_at.timestamp() - c["exp"]) < 2
    assert 86390 < tok.remaining <= 86400


def test_str_and_repr_hide_the_access_token(issuer: LocalIssuer, client: TokenClient) -> None:
    tok = client.get_token(issuer.audience)
    assert tok.authorization_header == f"Bearer {tok.access_token}"
    r = repr(tok)
    assert str(tok) == r
    for shown in (r, str(tok), f"{tok}", f"Bearer {tok}", "%s" % tok, format(tok), f"{tok!s}"):
        assert tok.access_token not in shown
        assert tok.access_token.split(".")[1] not in shown
        assert tok.access_token.split(".")[2] not in shown
    assert "redacted" in r and "Bearer" in r and "86400" in r
    cr = repr(client)
    assert issuer.client_secret not in cr
    assert issuer.client_id in cr and "client_secret_post" in cr


def test_tokens_cannot_be_made_from_python() -> None:
    with pytest.raises(TypeError):
        Token()  # type: ignore[call-arg]


def test_second_call_is_a_cache_hit_returning_the_same_object(issuer: LocalIssuer, client: TokenClient) -> None:
    first = client.get_token(issuer.audience)
    second = client.get_token(issuer.audience)
    assert second is first
    assert issuer.count("token") == 1
    s = client.stats()
    assert s == {"tokens_minted": 1, "cache_hits": 1, "refreshes": 0, "errors": 0, "shared_hits": 0, "shared_errors": 0}


def test_the_cache_is_shared_by_clients_with_the_same_key(issuer: LocalIssuer) -> None:
    a, b = issuer.client(), issuer.client()
    ta = a.get_token(issuer.audience)
    tb = b.get_token(issuer.audience)
    assert tb.access_token == ta.access_token
    assert issuer.count("token") == 1
    assert b.stats()["cache_hits"] == 1 and b.stats()["tokens_minted"] == 0


def test_scope_order_does_not_matter_but_scope_does(issuer: LocalIssuer, client: TokenClient) -> None:
    ab = client.get_token(issuer.audience, scope="read:things write:things")
    ba = client.get_token(issuer.audience, scope="write:things  read:things")
    as_list = client.get_token(issuer.audience, scope=["write:things", "read:things"])
    assert ab.access_token == ba.access_token == as_list.access_token
    assert ab.scope == "read:things write:things"
    other = client.get_token(issuer.audience, scope="read:things")
    assert other.access_token != ab.access_token
    assert issuer.count("token") == 2
    with pytest.raises(TypeError):
        client.get_token(issuer.audience, scope=42)  # type: ignore[arg-type]


def test_organization(issuer: LocalIssuer, client: TokenClient) -> None:
    org = issuer.organizations[0]
    tok = client.get_token(issuer.audience, organization=org["name"])
    c = claims(tok.access_token)
    assert c["org_id"] == org["id"] and c["org_name"] == org["name"]
    plain = client.get_token(issuer.audience)
    assert "org_id" not in claims(plain.access_token)
    with pytest.raises(OAuthError) as e:
        client.get_token(issuer.audience, organization="no-such-org")
    assert e.value.error == "invalid_request"


def test_default_audience(issuer: LocalIssuer) -> None:
    c = issuer.client(audience=issuer.audience)
    tok = c.get_token()
    assert claims(tok.access_token)["aud"] == issuer.audience
    assert c.get_token() is tok
    with pytest.raises(ConfigError, match="audience"):
        issuer.client().get_token()
    with pytest.raises(ConfigError, match="audience"):
        issuer.client().get_token("   ")


def test_from_env(issuer: LocalIssuer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTH0_DOMAIN", issuer.domain)
    monkeypatch.setenv("AUTH0_CLIENT_ID", issuer.client_id)
    monkeypatch.setenv("AUTH0_CLIENT_SECRET", issuer.client_secret)
    monkeypatch.setenv("AUTH0_AUDIENCE", issuer.audience)
    c = TokenClient.from_env(timeout=5.0)
    assert c.domain == issuer.domain and c.client_id == issuer.client_id
    tok = c.get_token()
    assert claims(tok.access_token)["aud"] == issuer.audience
    monkeypatch.delenv("AUTH0_CLIENT_SECRET")
    with pytest.raises(ConfigError, match="AUTH0_CLIENT_SECRET"):
        TokenClient.from_env()


def test_v1_credentials_from_files_named_by_the_environment(
    issuer: LocalIssuer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Scenario V1 (every surface): AUTH0_CLIENT_SECRET_FILE or AUTH0_PRIVATE_KEY_FILE, exactly
    one credential; an unreadable file is named, never shown."""
    secret, key = tmp_path / "secret", tmp_path / "key.pem"
    secret.write_text(issuer.client_secret + "\n")
    key.write_text(issuer.jwt_rsa_private_key)
    monkeypatch.delenv("AUTH0_CLIENT_SECRET", raising=False)
    monkeypatch.setenv("AUTH0_DOMAIN", issuer.domain)
    monkeypatch.setenv("AUTH0_CLIENT_ID", issuer.client_id)
    monkeypatch.setenv("AUTH0_CLIENT_SECRET_FILE", str(secret))
    monkeypatch.setenv("AUTH0_AUDIENCE", issuer.audience)
    TokenClient.from_env().get_token()
    monkeypatch.setenv("AUTH0_CLIENT_ID", issuer.jwt_client_id)
    monkeypatch.delenv("AUTH0_CLIENT_SECRET_FILE")
    monkeypatch.setenv("AUTH0_PRIVATE_KEY_FILE", str(key))
    c = TokenClient.from_env()
    assert c.auth_method == "private_key_jwt"
    c.get_token()
    monkeypatch.setenv("AUTH0_CLIENT_SECRET", "also-a-secret")
    with pytest.raises(ConfigError, match="AUTH0_PRIVATE_KEY_FILE") as e:
        TokenClient.from_env()
    assert "also-a-secret" not in str(e.value)
    monkeypatch.delenv("AUTH0_CLIENT_SECRET")
    monkeypatch.setenv("AUTH0_PRIVATE_KEY_FILE", "/nonexistent/tk-key.pem")
    with pytest.raises(ConfigError, match='AUTH0_PRIVATE_KEY_FILE "/nonexistent/tk-key.pem"'):
        TokenClient.from_env()


def test_client_secret_basic(issuer: LocalIssuer) -> None:
    c = issuer.client(auth_method="client_secret_basic")
    assert c.auth_method == "client_secret_basic"
    c.get_token(issuer.audience)
    assert issuer.counts().get("auth:client_secret_basic") == 1


@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES256"])
def test_private_key_jwt(issuer: LocalIssuer, alg: str) -> None:
    key = issuer.jwt_ec_private_key if alg == "ES256" else issuer.jwt_rsa_private_key
    c = TokenClient(issuer.domain, issuer.jwt_client_id, private_key=key, private_key_alg=alg)
    assert c.auth_method == "private_key_jwt"
    assert key not in repr(c)
    tok = c.get_token(issuer.audience)
    assert claims(tok.access_token)["sub"] == f"{issuer.jwt_client_id}@clients"
    assert issuer.counts().get("auth:private_key_jwt") == 1


def test_domain_forms() -> None:
    c = TokenClient("tenant.auth0.com", "id", "secret")
    assert c.issuer == "https://tenant.auth0.com/"
    assert c.token_url == "https://tenant.auth0.com/oauth/token"
    c = TokenClient("https://login.example.com", "id", "secret")
    assert c.issuer == "https://login.example.com/"
    c = TokenClient("http://127.0.0.1:8080", "id", "secret")
    assert c.token_url == "http://127.0.0.1:8080/oauth/token"


def test_cached_and_invalidate(issuer: LocalIssuer, client: TokenClient) -> None:
    assert client.cached(issuer.audience) is None
    tok = client.get_token(issuer.audience)
    assert client.cached(issuer.audience) is tok
    client.invalidate(issuer.audience)
    assert client.cached(issuer.audience) is None
    fresh = client.get_token(issuer.audience)
    assert fresh is not tok and fresh.access_token != tok.access_token
    assert issuer.count("token") == 2


def test_cache_off_fetches_every_time(issuer: LocalIssuer) -> None:
    c = issuer.client(cache=False)
    a = c.get_token(issuer.audience)
    b = c.get_token(issuer.audience)
    assert a.access_token != b.access_token
    assert issuer.count("token") == 2


def test_a_short_token_is_renewed_and_never_served_expired(issuer: LocalIssuer) -> None:
    audience = "https://two-seconds.example.com"
    issuer.add_api(audience, ["read:things"], lifetime=2)
    c = issuer.client()
    seen = set()
    deadline = time.monotonic() + 3.5
    while time.monotonic() < deadline:
        tok = c.get_token(audience)
        assert tok.remaining > 0, "a token was served after its expiry"
        seen.add(tok.access_token)
        time.sleep(0.05)
    # 2 s tokens over 3.5 s (70 calls): renewed, but not once per call. Expiry counts from the
    # whole second the request was sent (Auth0's iat/exp are whole seconds), so a token fetched
    # late in a second is usable for as little as ~0.6 s: up to about 7 fetches.
    assert 2 <= len(seen) <= 8
    assert 2 <= issuer.count("token") <= 8


def test_the_issuer_fixture(issuer: LocalIssuer) -> None:
    assert issuer.domain.startswith("http://127.0.0.1:")
    assert issuer.issuer == issuer.domain + "/"
    assert issuer.audiences == [
        "https://api.example.com",
        "https://short.example.com",
        "https://billing.example.com",
    ]
    assert issuer.organizations == [{"id": "org_4dK8wZqX2mN7pL1s", "name": "acme"}]
    assert issuer.client_secret not in repr(issuer)
    issuer.add_api("https://new.example.com", ["a"], lifetime=60)
    tok = issuer.client().get_token("https://new.example.com")
    assert tok.expires_in == 60 and tok.scope == "a"
    assert issuer.count() == 1 and issuer.counts()["tokens_issued"] == 1
    issuer.reset()
    assert issuer.count() == 0
    jwks = issuer.jwks()
    assert jwks["keys"][0]["kty"] == "RSA"
    issuer.stop()
    issuer.stop()
    assert not issuer.running
    with pytest.raises(RuntimeError):
        issuer.count()
    with pytest.raises(NetworkError):
        issuer.client(max_attempts=1).get_token("https://other.example.com")


def test_the_hot_path_serves_the_same_object_until_the_cache_changes(issuer: LocalIssuer, client: TokenClient) -> None:
    # Issue 13's hot path keys on argument identity; equal strings built anew, str subclasses
    # and sequences of scopes take the long path to the same token.
    class Audience(str):
        pass

    first = client.get_token(issuer.audience)
    again = client.get_token("".join(list(issuer.audience)))
    assert again is first and client.get_token(Audience(issuer.audience)) is first
    assert client.get_token(audience=issuer.audience) is first
    hits = client.stats()["cache_hits"]
    for _ in range(10):
        assert client.get_token(issuer.audience) is first
    assert client.stats()["cache_hits"] == hits + 10
    assert issuer.count("token") == 1

    # Another client of the same key forgets the token: the hot path sees it at once.
    issuer.client().invalidate(issuer.audience)
    second = client.get_token(issuer.audience)
    assert second is not first and second.access_token != first.access_token
    assert issuer.count("token") == 2
    assert client.get_token(issuer.audience) is second
    assert client.invalidate_if_current(second, issuer.audience)
    assert client.get_token(issuer.audience) is not second
    assert issuer.count("token") == 3

    with pytest.raises(TypeError, match="audience must be a str or None"):
        client.get_token(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="organization must be a str or None"):
        client.get_token(issuer.audience, organization=b"acme")  # type: ignore[arg-type]


def test_get_token_takes_its_arguments_every_way_python_passes_them(issuer: LocalIssuer, client: TokenClient) -> None:
    # get_token reads the arguments of a hit itself (positional, keywords by identity) and
    # hands every other call to the parsing method: the same answers and the same errors.
    import inspect

    assert str(inspect.signature(TokenClient.get_token)) == "(self, /, audience=None, scope=None, organization=None)"
    assert (TokenClient.get_token.__doc__ or "").startswith("A token for the request")
    a, scope = issuer.audience, "read:things"
    first = client.get_token(a, scope)
    assert client.get_token(a, scope) is first
    assert client.get_token(audience=a, scope=scope) is first
    assert client.get_token(scope=scope, audience=a) is first
    assert client.get_token(a, scope=scope, organization=None) is first
    assert client.get_token(**{"audience": a, "scope": scope}) is first  # names not interned
    assert TokenClient.get_token(client, a, scope) is first
    assert issuer.count("token") == 1
    with pytest.raises(TypeError, match=r"^TokenClient.get_token\(\) got an unexpected keyword argument 'bogus'$"):
        client.get_token(audience=a, bogus=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=r"^TokenClient.get_token\(\) got multiple values for argument 'audience'$"):
        client.get_token(a, audience=a)  # type: ignore[misc]
    with pytest.raises(TypeError, match=r"^TokenClient.get_token\(\) takes from 0 to 3 positional arguments but 4 were given$"):
        client.get_token(a, scope, None, None)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="doesn't apply to a 'int' object"):
        TokenClient.get_token(5)  # type: ignore[arg-type]


def test_the_async_hot_path_is_a_coroutine_of_the_same_object(issuer: LocalIssuer, client: TokenClient) -> None:
    import asyncio
    import inspect

    async def main() -> None:
        first = await client.get_token_async(issuer.audience)
        pending = client.get_token_async(issuer.audience)
        assert inspect.iscoroutine(pending)
        assert await pending is first
        assert issuer.count("token") == 1

    asyncio.run(main())
