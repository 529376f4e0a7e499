"""HTTPS with an extra CA (issue 12, item 10), the scenario every surface runs: a token from the
local issuer serving HTTPS (``LocalIssuer(tls=True)``) with ``ca_file=`` set, and a typed
``NetworkError`` naming the unknown issuer without it; an unusable CA file is a ``ConfigError``
when the client, verifier or sign-in client is built."""

from __future__ import annotations

import pathlib
from typing import Iterator

import pytest

import tokenkeeper
from tokenkeeper.testing import LocalIssuer

API = "https://api.example.com"


@pytest.fixture
def tls_issuer() -> Iterator[LocalIssuer]:
    with LocalIssuer(tls=True) as i:
        yield i


def test_a_token_with_ca_file_and_a_network_error_without(tls_issuer: LocalIssuer) -> None:
    assert tls_issuer.domain.startswith("https://localhost:")
    ca = tls_issuer.ca_file
    assert ca is not None
    token = tls_issuer.client(ca_file=ca, max_attempts=1).get_token(API)
    assert token.access_token.count(".") == 2
    # A path object works as well as a str.
    tls_issuer.client(ca_file=pathlib.Path(ca), cache=False).get_token(API)

    with pytest.raises(tokenkeeper.NetworkError) as e:
        tls_issuer.client(max_attempts=1, cache=False).get_token(API)
    assert "unknown issuer" in str(e.value)
    assert tls_issuer.client_secret not in str(e.value)

    verifier = tokenkeeper.TokenVerifier(tls_issuer.domain, API, ca_file=ca)
    assert verifier.verify(token.access_token).get_str("iss") == tls_issuer.issuer


def test_from_env_reads_tokenkeeper_ca_file(tls_issuer: LocalIssuer, monkeypatch: pytest.MonkeyPatch) -> None:
    """TOKENKEEPER_CA_FILE is the ca_file of TokenClient.from_env (the core reads it); a
    ca_file keyword replaces it, an empty variable is unset."""
    assert tls_issuer.ca_file is not None
    monkeypatch.setenv("AUTH0_DOMAIN", tls_issuer.domain)
    monkeypatch.setenv("AUTH0_CLIENT_ID", tls_issuer.client_id)
    monkeypatch.setenv("AUTH0_CLIENT_SECRET", tls_issuer.client_secret)
    monkeypatch.delenv("TOKENKEEPER_SHARED_CACHE", raising=False)
    monkeypatch.setenv("TOKENKEEPER_CA_FILE", tls_issuer.ca_file)
    token = tokenkeeper.TokenClient.from_env(max_attempts=1).get_token(API)
    assert token.access_token.count(".") == 2
    with pytest.raises(tokenkeeper.ConfigError) as e:
        tokenkeeper.TokenClient.from_env(ca_file="/nonexistent/ca.pem")
    assert "/nonexistent/ca.pem" in str(e.value)
    monkeypatch.setenv("TOKENKEEPER_CA_FILE", "/nonexistent/ca.pem")
    with pytest.raises(tokenkeeper.ConfigError):
        tokenkeeper.TokenClient.from_env()
    tokenkeeper.TokenClient.from_env(ca_file=tls_issuer.ca_file, max_attempts=1, cache=False).get_token(API)
    monkeypatch.setenv("TOKENKEEPER_CA_FILE", "")
    with pytest.raises(tokenkeeper.NetworkError) as n:
        tokenkeeper.TokenClient.from_env(max_attempts=1, cache=False).get_token(API)
    assert "unknown issuer" in str(n.value)
    assert tls_issuer.count("token") == 2


def test_an_unusable_ca_file_is_a_config_error_naming_the_knob(
    issuer: LocalIssuer, tmp_path: pathlib.Path
) -> None:
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("hunter2, not a certificate")
    for path in [str(tmp_path / "missing.pem"), str(not_pem)]:
        makers = [
            lambda: issuer.client(ca_file=path),
            lambda: tokenkeeper.TokenVerifier(issuer.domain, API, ca_file=path),
            lambda: tokenkeeper.SignInClient(
                issuer.domain, "spa-client", f"{issuer.domain}/callback", ca_file=path
            ),
        ]
        for make in makers:
            with pytest.raises(tokenkeeper.ConfigError) as e:
                make()
            assert "ca_file" in str(e.value) and "hunter2" not in str(e.value)
    with pytest.raises(TypeError):
        issuer.client(ca_file=5)
    with pytest.raises(tokenkeeper.ConfigError):
        issuer.client(ca_file="")
