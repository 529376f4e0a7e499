"""The `tokenkeeper` command (the installed console script): output and exit codes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tokenkeeper.testing import LocalIssuer

from conftest import claims, verify_rs256


def tokenkeeper_cmd() -> list[str]:
    exe = Path(sys.executable).parent / "tokenkeeper"
    found = str(exe) if exe.exists() else shutil.which("tokenkeeper")
    assert found, "the tokenkeeper console script is not installed"
    return [found]


def run(args: list[str], env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("AUTH0_")}
    base.update(env or {})
    return subprocess.run(tokenkeeper_cmd() + args, env=base, capture_output=True, text=True, timeout=timeout)


def auth0_env(issuer: LocalIssuer) -> dict[str, str]:
    return {
        "AUTH0_DOMAIN": issuer.domain,
        "AUTH0_CLIENT_ID": issuer.client_id,
        "AUTH0_CLIENT_SECRET": issuer.client_secret,
    }


def test_token_from_the_environment(issuer: LocalIssuer) -> None:
    p = run(["token", "--audience", issuer.audience, "--scope", "read:things"], auth0_env(issuer))
    assert p.returncode == 0, p.stderr
    token = p.stdout.strip()
    assert "\n" not in token and verify_rs256(token, issuer.jwks())
    c = claims(token)
    assert c["aud"] == issuer.audience and c["scope"] == "read:things"
    assert issuer.client_secret not in p.stdout + p.stderr


def test_token_from_flags_with_organization_and_json(issuer: LocalIssuer, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text(issuer.client_secret + "\n")
    p = run(
        [
            "token",
            "--domain", issuer.domain,
            "--client-id", issuer.client_id,
            "--client-secret-file", str(secret),
            "--audience", issuer.audience,
            "--organization", "acme",
            "--json",
        ]
    )
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["token_type"] == "Bearer" and out["expires_in"] == 86400
    assert claims(out["access_token"])["org_name"] == "acme"
    assert out["expires_at"].endswith("+00:00")


def test_default_audience_from_auth0_audience(issuer: LocalIssuer) -> None:
    env = auth0_env(issuer) | {"AUTH0_AUDIENCE": issuer.audience}
    p = run(["token"], env)
    assert p.returncode == 0, p.stderr
    assert claims(p.stdout.strip())["aud"] == issuer.audience


def test_private_key_flag(issuer: LocalIssuer, tmp_path: Path) -> None:
    key = tmp_path / "key.pem"
    key.write_text(issuer.jwt_ec_private_key)
    p = run(
        ["token", "--domain", issuer.domain, "--client-id", issuer.jwt_client_id,
         "--private-key-file", str(key), "--private-key-alg", "ES256", "--audience", issuer.audience]
    )
    assert p.returncode == 0, p.stderr
    assert claims(p.stdout.strip())["sub"] == f"{issuer.jwt_client_id}@clients"


def test_an_oauth_error_is_one_line_and_exit_1(issuer: LocalIssuer) -> None:
    env = auth0_env(issuer) | {"AUTH0_CLIENT_SECRET": "a-wrong-secret-123"}
    p = run(["token", "--audience", issuer.audience], env)
    assert p.returncode == 1
    assert p.stdout == ""
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "access_denied" in lines[0] and "401" in lines[0]
    assert "a-wrong-secret-123" not in p.stderr


def test_config_errors_exit_2(issuer: LocalIssuer) -> None:
    p = run(["token", "--audience", issuer.audience])
    assert p.returncode == 2 and "AUTH0_DOMAIN" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    env = auth0_env(issuer) | {"AUTH0_DOMAIN": "http://example.com"}
    p = run(["token", "--audience", issuer.audience], env)
    assert p.returncode == 2 and "loopback" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    p = run(["token"], auth0_env(issuer))
    assert p.returncode == 2 and "audience" in p.stderr
    p = run(["no-such-command"])
    assert p.returncode == 2


def test_network_error_exit_1() -> None:
    env = {"AUTH0_DOMAIN": "http://127.0.0.1:1", "AUTH0_CLIENT_ID": "x", "AUTH0_CLIENT_SECRET": "y"}
    p = run(["token", "--audience", "https://api.example.com"], env)
    assert p.returncode == 1 and "network error" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


def test_version_and_module_entry() -> None:
    p = run(["--version"])
    assert p.returncode == 0 and p.stdout.startswith("tokenkeeper ")
    m = subprocess.run([sys.executable, "-m", "tokenkeeper", "--help"], capture_output=True, text=True, timeout=60)
    assert m.returncode == 0 and "demo" in m.stdout


def test_demo() -> None:
    p = run(["demo"], timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    out = p.stdout
    assert "local issuer" in out
    assert "a cache hit: the same token, no request" in out
    assert '"aud": "https://api.example.com"' in out
    assert "32 threads at once on another scope: 1 request(s)" in out
    assert "counters: {'tokens_minted': 2" in out
    # The token is verified with TokenVerifier against the issuer's JWKS: its claims shown,
    # a tampered copy rejected, one JWKS request for every verification.
    assert "verified with TokenVerifier (JWKS http://127.0.0.1:" in out
    assert "  aud: https://api.example.com" in out
    assert "  sub: m2m-client@clients   azp: m2m-client" in out
    assert "  iss: http://127.0.0.1:" in out and "  exp: " in out
    assert "a tampered copy (scope widened): rejected: signature" in out
    assert "verifier: 1001 verified, 1 rejected, JWKS fetches: 1" in out
    assert out.strip().endswith("demo: ok")
    assert "redacted" in out


@pytest.mark.parametrize("argv", [["token", "--help"], ["demo", "--help"]])
def test_help(argv: list[str]) -> None:
    p = run(argv)
    assert p.returncode == 0 and "usage: tokenkeeper" in p.stdout
