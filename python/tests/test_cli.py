"""The `tokenkeeper` command (the installed console script): output and exit codes."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from tokenkeeper.testing import LocalIssuer

from conftest import claims, verify_rs256


def tokenkeeper_cmd() -> list[str]:
    exe = Path(sys.executable).parent / "tokenkeeper"
    found = str(exe) if exe.exists() else shutil.which("tokenkeeper")
    assert found, "the tokenkeeper console script is not installed"
    return [found]


@pytest.fixture(autouse=True)
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The command uses the shared file cache by default: its default directory
    ($XDG_CACHE_HOME/tokenkeeper) is under the test's temporary directory, never the real home."""
    home = tmp_path / "xdg-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    yield home


def run(args: list[str], env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH0_", "TOKENKEEPER_"))}
    assert base.get("XDG_CACHE_HOME"), "the cache_home fixture is not in use"
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


# --- the shared file cache (issue 11) ----------------------------------------------------------


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_twenty_runs_make_one_request(issuer: LocalIssuer, cache_home: Path) -> None:
    tokens = set()
    for _ in range(20):
        p = run(["token", "--audience", issuer.audience], auth0_env(issuer))
        assert p.returncode == 0, p.stderr
        assert p.stderr == ""
        tokens.add(p.stdout.strip())
    assert issuer.count("token") == 1, "each run after the first read the shared cache"
    assert len(tokens) == 1
    d = cache_home / "tokenkeeper"
    assert mode(d) == 0o700
    files = list(d.iterdir())
    assert files and all(mode(f) == 0o600 for f in files)
    token = tokens.pop()
    for f in files:
        assert token.encode() not in f.read_bytes() and issuer.client_secret.encode() not in f.read_bytes()


def test_no_shared_cache(issuer: LocalIssuer, cache_home: Path) -> None:
    for _ in range(3):
        p = run(["token", "--audience", issuer.audience, "--no-shared-cache"], auth0_env(issuer))
        assert p.returncode == 0, p.stderr
    assert issuer.count("token") == 3
    assert not cache_home.exists()


def test_the_shared_cache_from_the_variable_or_the_flag(issuer: LocalIssuer, tmp_path: Path, cache_home: Path) -> None:
    from_env, from_flag = tmp_path / "env-dir", tmp_path / "flag-dir"
    env = auth0_env(issuer) | {"TOKENKEEPER_SHARED_CACHE": f"file:{from_env}"}
    for _ in range(2):
        assert run(["token", "--audience", issuer.audience], env).returncode == 0
    assert issuer.count("token") == 1 and from_env.is_dir()
    for _ in range(2):
        p = run(["token", "--audience", issuer.audience, "--shared-cache", f"file:{from_flag}"], env)
        assert p.returncode == 0, p.stderr
    assert issuer.count("token") == 2 and from_flag.is_dir()
    p = run(["token", "--audience", issuer.audience, "--no-shared-cache"], env)
    assert p.returncode == 0 and issuer.count("token") == 3
    assert not cache_home.exists()
    # An empty variable is unset: the default directory.
    p = run(["token", "--audience", issuer.audience], auth0_env(issuer) | {"TOKENKEEPER_SHARED_CACHE": ""})
    assert p.returncode == 0 and (cache_home / "tokenkeeper").is_dir()


def test_a_bad_shared_cache_is_a_config_error(issuer: LocalIssuer) -> None:
    env = auth0_env(issuer) | {"TOKENKEEPER_SHARED_CACHE": "redis://127.0.0.1:notaport/0"}
    p = run(["token", "--audience", issuer.audience], env)
    assert p.returncode == 2 and "Redis" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    p = run(["token", "--audience", issuer.audience, "--shared-cache", "nope"], auth0_env(issuer))
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1
    p = run(["token", "--audience", issuer.audience, "--shared-cache", "file:/x", "--no-shared-cache"], auth0_env(issuer))
    assert p.returncode == 2 and "not allowed with" in p.stderr
    assert issuer.count("token") == 0


def test_an_unusable_cache_directory_never_fails_the_command(issuer: LocalIssuer, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    for env in ({"XDG_CACHE_HOME": str(blocker)}, {"TOKENKEEPER_SHARED_CACHE": f"file:{blocker}"}):
        p = run(["token", "--audience", issuer.audience], auth0_env(issuer) | env)
        assert p.returncode == 0 and p.stderr == "", p.stderr
        assert verify_rs256(p.stdout.strip(), issuer.jwks())
    assert issuer.count("token") == 2


def test_header(issuer: LocalIssuer, tmp_path: Path) -> None:
    p = run(["header", "--audience", issuer.audience, "--scope", "read:things"], auth0_env(issuer))
    assert p.returncode == 0, p.stderr
    line = p.stdout.strip()
    assert "\n" not in line and line.startswith("Bearer ")
    token = line[len("Bearer ") :]
    assert verify_rs256(token, issuer.jwks()) and claims(token)["scope"] == "read:things"
    # The same token as `token` prints (the shared cache), the same flags.
    t = run(["token", "--audience", issuer.audience, "--scope", "read:things"], auth0_env(issuer))
    assert t.stdout.strip() == token and issuer.count("token") == 1
    secret = tmp_path / "secret"
    secret.write_text(issuer.client_secret)
    p = run(
        ["header", "--domain", issuer.domain, "--client-id", issuer.client_id,
         "--client-secret-file", str(secret), "--audience", issuer.audience, "--organization", "acme",
         "--no-shared-cache", "--timeout", "5"]
    )
    assert p.returncode == 0, p.stderr
    assert claims(p.stdout.strip().removeprefix("Bearer "))["org_name"] == "acme"
    p = run(["header"], auth0_env(issuer))
    assert p.returncode == 2 and "audience" in p.stderr


@pytest.mark.parametrize("argv", [["token", "--help"], ["header", "--help"], ["demo", "--help"]])
def test_help(argv: list[str]) -> None:
    p = run(argv)
    assert p.returncode == 0 and "usage: tokenkeeper" in p.stdout


def test_the_cli_shares_tokens_through_redis(issuer: LocalIssuer) -> None:
    url = os.environ.get("TOKENKEEPER_TEST_REDIS_URL")
    if not url:
        pytest.fail("TOKENKEEPER_TEST_REDIS_URL is not set: run python/test.sh (it starts Redis)")
    outs = []
    for _ in range(3):
        p = run(["token", "--audience", issuer.audience, "--shared-cache", url], auth0_env(issuer))
        assert p.returncode == 0, p.stderr
        outs.append(p.stdout.strip())
    assert issuer.count("token") == 1 and len(set(outs)) == 1
