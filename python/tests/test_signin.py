"""SignInClient: the authorization code flow with PKCE through the issuer's test-mode
/authorize (a real GET, the redirect not followed), the ID token, refresh with rotation,
/userinfo, and the no-secret contract. Real HTTP to the local issuer."""

from __future__ import annotations

import asyncio
import urllib.parse

import pytest

from tokenkeeper import (
    ConfigError,
    InvalidResponseError,
    LoginTransaction,
    OAuthError,
    ReauthenticationRequiredError,
    SignInClient,
    TokenNonceError,
    UserCredentials,
)
from tokenkeeper.testing import LocalIssuer

ACME_ID = "org_4dK8wZqX2mN7pL1s"


def query(url: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


@pytest.fixture
def app(issuer: LocalIssuer) -> SignInClient:
    return issuer.sign_in_client(audience=issuer.audience, scope="openid profile email read:things")


def test_the_code_flow(issuer: LocalIssuer, app: SignInClient) -> None:
    tx = app.authorize()
    q = query(tx.url)
    assert tx.url.startswith(issuer.url + "/authorize?")
    assert q["response_type"] == "code" and q["client_id"] == issuer.public_client_id
    assert q["redirect_uri"] == issuer.redirect_uri == tx.redirect_uri
    assert q["audience"] == issuer.audience == tx.audience
    assert q["scope"] == tx.scope == "openid profile email read:things offline_access"
    assert q["state"] == tx.state and q["nonce"] == tx.nonce
    assert q["code_challenge_method"] == "S256" and len(q["code_challenge"]) == 43

    location = issuer.authorize(tx.url)
    assert location.startswith(issuer.redirect_uri + "?")
    back = query(location)
    assert back["state"] == tx.state and back["code"]

    creds = app.handle_callback(tx, location)
    assert isinstance(creds, UserCredentials)
    assert creds.token_type == "Bearer" and creds.access_token and creds.refresh_token and creds.id_token
    assert creds.authorization_header == f"Bearer {creds.access_token}"
    assert 86000 < creds.remaining <= 86400 and creds.is_valid_for(3600) and not creds.is_valid_for(90000)
    assert creds.expires_at.tzinfo is not None
    assert creds.has_scope("openid read:things") and creds.has_scope(["offline_access"])
    assert not creds.has_scope("delete:things")
    assert issuer.count("grant:authorization_code") == 1

    # The access token for the API verifies, with an aud array (openid + API).
    claims = issuer.verifier().verify(creds.access_token)
    assert claims.aud == [issuer.audience, issuer.userinfo_audience]
    assert claims.sub == issuer.user["sub"] and claims.azp == issuer.public_client_id
    assert claims.has_scope("read:things")

    # The ID token was verified by handle_callback; it verifies again with its nonce.
    id_claims = app.id_token_verifier.verify_id_token(creds.id_token or "", nonce=tx.nonce, max_age=3600)
    assert id_claims.sub == issuer.user["sub"] and id_claims["email"] == issuer.user["email"]
    assert id_claims.aud == [issuer.public_client_id] and id_claims.nonce == tx.nonce
    assert creds.id_token_claims() == id_claims
    with pytest.raises(TokenNonceError):
        app.id_token_verifier.verify_id_token(creds.id_token or "", nonce="another-nonce")


def test_the_browser_may_follow_the_redirect(issuer: LocalIssuer, app: SignInClient) -> None:
    import requests

    tx = app.authorize()
    r = requests.get(tx.url, timeout=10)  # ends on the issuer's /callback page (200)
    assert r.status_code == 200 and r.url.startswith(issuer.redirect_uri)
    assert app.handle_callback(tx, r.url).access_token


def test_a_forged_or_stale_state_is_refused(issuer: LocalIssuer, app: SignInClient) -> None:
    tx = app.authorize()
    location = issuer.authorize(tx.url)
    forged = location.replace(f"state={tx.state}", "state=forged-state")
    with pytest.raises(InvalidResponseError, match="state"):
        app.handle_callback(tx, forged)
    other = app.authorize()  # another login's callback
    with pytest.raises(InvalidResponseError, match="state"):
        app.handle_callback(other, location)
    assert issuer.count("grant:authorization_code") == 0  # refused before any exchange
    assert app.handle_callback(tx, location).access_token


def test_an_error_in_the_callback_is_an_oauth_error(issuer: LocalIssuer, app: SignInClient) -> None:
    tx = app.authorize(extra={"login_hint": "nobody@example.com"})
    location = issuer.authorize(tx.url)
    assert "error=access_denied" in location
    with pytest.raises(OAuthError) as e:
        app.handle_callback(tx, location)
    assert e.value.error == "access_denied" and "Wrong email or password" in (e.value.error_description or "")


def test_exchange_code_and_a_reused_code(issuer: LocalIssuer, app: SignInClient) -> None:
    tx = app.authorize()
    location = issuer.authorize(tx.url)
    code = app.callback_code(tx, location)
    assert code == query(location)["code"]
    creds = app.exchange_code(tx, code)
    assert creds.refresh_token
    with pytest.raises(OAuthError) as e:
        app.exchange_code(tx, code)
    assert e.value.error == "invalid_grant" and e.value.status in (400, 403)


def test_the_transaction_survives_a_restart_as_json(issuer: LocalIssuer, app: SignInClient) -> None:
    tx = app.authorize(organization="acme", max_age=600)
    saved = tx.to_json()
    restored = LoginTransaction.from_json(saved)
    assert restored == tx and restored.organization == "acme" and restored.max_age == 600
    creds = app.handle_callback(restored, issuer.authorize(tx.url))
    claims = issuer.verifier(organization=ACME_ID).verify(creds.access_token)
    assert claims.org_id == ACME_ID
    assert (creds.id_token_claims() or {}).get("org_id") == ACME_ID
    with pytest.raises(ConfigError):
        LoginTransaction.from_json("{not json")


def test_refresh_rotates_and_an_old_refresh_token_is_refused(issuer: LocalIssuer, app: SignInClient) -> None:
    creds = issuer.sign_in(app)
    renewed = app.refresh(creds.refresh_token or "")
    assert renewed.access_token != creds.access_token
    assert renewed.refresh_token and renewed.refresh_token != creds.refresh_token  # rotated
    assert issuer.verifier().verify(renewed.access_token).sub == issuer.user["sub"]
    with pytest.raises(ReauthenticationRequiredError) as e:
        app.refresh(creds.refresh_token or "")  # rotated out
    assert e.value.error == "invalid_grant" and e.value.kind == "reauthentication_required"
    assert creds.refresh_token not in str(e.value)


def test_a_confidential_client(issuer: LocalIssuer) -> None:
    web = issuer.sign_in_client(confidential=True, audience=issuer.audience)
    creds = issuer.sign_in(web)
    assert creds.refresh_token and creds.id_token
    renewed = web.refresh(creds.refresh_token or "", scope="openid profile")
    assert renewed.refresh_token is None  # the web app's refresh tokens are not rotated
    assert web.refresh(creds.refresh_token or "").access_token
    wrong = SignInClient(issuer.domain, issuer.web_client_id, issuer.redirect_uri, client_secret="wrong-secret-xyz")
    with pytest.raises(OAuthError) as e:
        issuer.sign_in(wrong)
    assert e.value.status == 401 and "wrong-secret-xyz" not in str(e.value)


def test_userinfo_with_an_opaque_and_a_jwt_access_token(issuer: LocalIssuer) -> None:
    opaque = issuer.sign_in(issuer.sign_in_client())  # no audience: an opaque access token
    assert opaque.access_token.count(".") != 2
    info = issuer.sign_in_client().userinfo(opaque.access_token)
    assert info.sub == issuer.user["sub"] and info["email"] == issuer.user["email"]
    assert info["email_verified"] is True
    app = issuer.sign_in_client(audience=issuer.audience)
    jwt = issuer.sign_in(app)
    assert app.userinfo(jwt.access_token)["name"] == issuer.user["name"]
    bob = issuer.sign_in(app, extra={"login_hint": issuer.other_user["email"]})
    assert app.userinfo(bob.access_token).sub == issuer.other_user["sub"]


def test_userinfo_with_a_bad_token(issuer: LocalIssuer, app: SignInClient) -> None:
    with pytest.raises(OAuthError) as e:
        app.userinfo("not-a-real-token")
    assert (e.value.error, e.value.status) == ("invalid_token", 401)
    with pytest.raises(ConfigError):
        app.userinfo("has spaces in it")


def test_async_forms(issuer: LocalIssuer, app: SignInClient) -> None:
    async def main() -> tuple[UserCredentials, UserCredentials, UserCredentials, str | None]:
        tx = app.authorize()
        location = issuer.authorize(tx.url)
        first = await app.handle_callback_async(tx, location)
        tx2 = app.authorize()
        second = await app.exchange_code_async(tx2, app.callback_code(tx2, issuer.authorize(tx2.url)))
        renewed = await app.refresh_async(first.refresh_token or "")
        info = await app.userinfo_async(renewed.access_token)
        claims = await app.id_token_verifier.verify_id_token_async(first.id_token or "", tx.nonce)
        assert claims.sub == info.sub
        try:
            await app.refresh_async(first.refresh_token or "")
        except ReauthenticationRequiredError:
            pass
        else:
            raise AssertionError("a rotated-out refresh token was accepted")
        return first, second, renewed, info.sub

    first, second, renewed, sub = asyncio.run(main())
    assert sub == issuer.user["sub"]
    assert len({first.access_token, second.access_token, renewed.access_token}) == 3


def test_configuration_errors(issuer: LocalIssuer) -> None:
    with pytest.raises(ConfigError, match="redirect_uri"):
        SignInClient(issuer.domain, issuer.public_client_id, "not a url")
    with pytest.raises(ConfigError, match="loopback"):
        SignInClient(issuer.domain, issuer.public_client_id, "http://example.com/callback")
    with pytest.raises(ConfigError, match="client_id"):
        SignInClient(issuer.domain, "", issuer.redirect_uri)
    with pytest.raises(ConfigError, match="auth method needs credentials"):
        SignInClient(issuer.domain, issuer.public_client_id, issuer.redirect_uri, auth_method="client_secret_basic")
    app = issuer.sign_in_client()
    with pytest.raises(ConfigError, match="state"):
        app.authorize(extra={"state": "mine"})
    with pytest.raises(TypeError):
        app.authorize(extra=42)  # type: ignore[arg-type]
    assert query(app.authorize(extra=[("prompt", "login")]).url)["prompt"] == "login"
    assert issuer.count("authorize") == 0


def test_no_secret_in_any_repr(issuer: LocalIssuer) -> None:
    web = issuer.sign_in_client(confidential=True, audience=issuer.audience)
    tx = web.authorize()
    creds = web.handle_callback(tx, issuer.authorize(tx.url))
    code_verifier = LoginTransaction.to_json(tx).split('"code_verifier":"')[1].split('"')[0]
    secrets = [creds.access_token, creds.refresh_token or "", creds.id_token or "", code_verifier, issuer.web_client_secret]
    shown = " ".join([repr(creds), str(creds), repr(tx), str(tx), repr(web), repr(web.id_token_verifier)])
    for s in secrets:
        assert s and s not in shown
    assert "[redacted]" in repr(creds) and "[redacted]" in repr(tx)
    # Round trips keep everything.
    assert UserCredentials.from_json(creds.to_json()) == creds
    rebuilt = UserCredentials(
        creds.access_token,
        creds.expires_at,
        scope=creds.scope,
        refresh_token=creds.refresh_token,
        id_token=creds.id_token,
    )
    assert rebuilt == creds
