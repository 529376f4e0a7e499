"""The `tokenkeeper` command, both entries of its one implementation (`core/cli`): the Python
console script (the CLI library through `tokenkeeper._native._cli`) and the native binary (path
in $TOKENKEEPER_NATIVE_CLI, set by python/test.sh). Every test that takes the `cli` fixture runs
once per entry: output, errors, exit codes, the shared file cache."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

import tokenkeeper
from tokenkeeper.testing import LocalIssuer

from conftest import claims, verify_rs256

ROOT = Path(__file__).resolve().parents[2]


def python_cli() -> list[str]:
    exe = Path(sys.executable).parent / "tokenkeeper"
    found = str(exe) if exe.exists() else shutil.which("tokenkeeper")
    assert found, "the tokenkeeper console script is not installed"
    return [found]


def native_cli() -> list[str]:
    path = os.environ.get("TOKENKEEPER_NATIVE_CLI")
    assert path, "TOKENKEEPER_NATIVE_CLI is not set: build the native CLI (cargo build -p tokenkeeper-cli) and point it at target/debug/tokenkeeper (python/test.sh does)"
    assert os.access(path, os.X_OK), f"TOKENKEEPER_NATIVE_CLI={path} is not an executable"
    return [path]


@pytest.fixture(params=["python", "native"])
def cli(request: pytest.FixtureRequest) -> list[str]:
    """The command line of one CLI; a missing native binary fails its cases, never skips."""
    return python_cli() if request.param == "python" else native_cli()


@pytest.fixture(autouse=True)
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The command uses the shared file cache by default: its default directory
    ($XDG_CACHE_HOME/tokenkeeper) is under the test's temporary directory, never the real home."""
    home = tmp_path / "xdg-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    yield home


def clean_env(env: dict[str, str] | None = None) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH0_", "TOKENKEEPER_"))}
    assert base.get("XDG_CACHE_HOME"), "the cache_home fixture is not in use"
    base.update(env or {})
    return base


def run(
    cli: list[str], args: list[str], env: dict[str, str] | None = None, timeout: float = 60, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cli + args, env=clean_env(env), capture_output=True, text=True, timeout=timeout, input=stdin)


def auth0_env(issuer: LocalIssuer) -> dict[str, str]:
    return {
        "AUTH0_DOMAIN": issuer.domain,
        "AUTH0_CLIENT_ID": issuer.client_id,
        "AUTH0_CLIENT_SECRET": issuer.client_secret,
    }


def test_token_from_the_environment(cli: list[str], issuer: LocalIssuer) -> None:
    p = run(cli, ["token", "--audience", issuer.audience, "--scope", "read:things"], auth0_env(issuer))
    assert p.returncode == 0, p.stderr
    token = p.stdout.strip()
    assert "\n" not in token and verify_rs256(token, issuer.jwks())
    c = claims(token)
    assert c["aud"] == issuer.audience and c["scope"] == "read:things"
    assert issuer.client_secret not in p.stdout + p.stderr


def test_token_from_flags_with_organization_and_json(cli: list[str], issuer: LocalIssuer, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text(issuer.client_secret + "\n")
    p = run(
        cli,
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


def test_default_audience_from_auth0_audience(cli: list[str], issuer: LocalIssuer) -> None:
    env = auth0_env(issuer) | {"AUTH0_AUDIENCE": issuer.audience}
    p = run(cli, ["token"], env)
    assert p.returncode == 0, p.stderr
    assert claims(p.stdout.strip())["aud"] == issuer.audience


def test_private_key_flag(cli: list[str], issuer: LocalIssuer, tmp_path: Path) -> None:
    key = tmp_path / "key.pem"
    key.write_text(issuer.jwt_ec_private_key)
    p = run(
        cli,
        ["token", "--domain", issuer.domain, "--client-id", issuer.jwt_client_id,
         "--private-key-file", str(key), "--private-key-alg", "ES256", "--audience", issuer.audience]
    )
    assert p.returncode == 0, p.stderr
    assert claims(p.stdout.strip())["sub"] == f"{issuer.jwt_client_id}@clients"


def test_an_oauth_error_is_one_line_and_exit_1(cli: list[str], issuer: LocalIssuer) -> None:
    env = auth0_env(issuer) | {"AUTH0_CLIENT_SECRET": "a-wrong-secret-123"}
    p = run(cli, ["token", "--audience", issuer.audience], env)
    assert p.returncode == 1
    assert p.stdout == ""
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "access_denied" in lines[0] and "401" in lines[0]
    assert "a-wrong-secret-123" not in p.stderr


def test_config_errors_exit_2(cli: list[str], issuer: LocalIssuer) -> None:
    p = run(cli, ["token", "--audience", issuer.audience])
    assert p.returncode == 2 and "AUTH0_DOMAIN" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    env = auth0_env(issuer) | {"AUTH0_DOMAIN": "http://example.com"}
    p = run(cli, ["token", "--audience", issuer.audience], env)
    assert p.returncode == 2 and "loopback" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    p = run(cli, ["token"], auth0_env(issuer))
    assert p.returncode == 2 and "audience" in p.stderr
    p = run(cli, ["no-such-command"])
    assert p.returncode == 2


def test_network_error_exit_1(cli: list[str]) -> None:
    env = {"AUTH0_DOMAIN": "http://127.0.0.1:1", "AUTH0_CLIENT_ID": "x", "AUTH0_CLIENT_SECRET": "y"}
    p = run(cli, ["token", "--audience", "https://api.example.com"], env)
    assert p.returncode == 1 and "network error" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


def test_https_with_a_private_ca_from_the_flag_or_the_variable(cli: list[str], tmp_path: Path) -> None:
    """--ca-file PATH (default $TOKENKEEPER_CA_FILE) trusts a CA beside the system's; without
    it the local issuer's test CA is unknown: a network error, exit 1. Empty is unset."""
    with LocalIssuer(tls=True) as tls:
        assert tls.domain.startswith("https://") and tls.ca_file
        env = auth0_env(tls)
        args = ["header", "--audience", "https://api.example.com", "--no-shared-cache", "--timeout", "5"]
        p = run(cli, [*args, "--ca-file", tls.ca_file], env)
        assert p.returncode == 0, p.stderr
        assert p.stdout.startswith("Bearer ") and verify_rs256(p.stdout.strip()[7:], tls.jwks())
        p = run(cli, args, env | {"TOKENKEEPER_CA_FILE": tls.ca_file})
        assert p.returncode == 0, p.stderr
        # The flag wins over the variable: a bad path in the variable is not read.
        p = run(cli, [*args, "--ca-file", tls.ca_file], env | {"TOKENKEEPER_CA_FILE": str(tmp_path / "missing.pem")})
        assert p.returncode == 0, p.stderr
        assert tls.count("token") == 3
        for unset in ({}, {"TOKENKEEPER_CA_FILE": ""}):
            p = run(cli, args, env | unset)
            assert p.returncode == 1 and "unknown issuer" in p.stderr, p.stderr
            assert len(p.stderr.strip().splitlines()) == 1
        p = run(cli, [*args, "--ca-file", ""], env | {"TOKENKEEPER_CA_FILE": tls.ca_file})
        assert p.returncode == 1 and "unknown issuer" in p.stderr, p.stderr
        assert tls.count("token") == 3
        p = run(cli, [*args, "--ca-file", str(tmp_path / "missing.pem")], env)
        assert p.returncode == 2 and "ca_file" in p.stderr and "missing.pem" in p.stderr, p.stderr


def test_version(cli: list[str]) -> None:
    p = run(cli, ["--version"])
    assert p.returncode == 0 and p.stdout == f"tokenkeeper {tokenkeeper.__version__}\n"


def test_module_entry() -> None:
    m = subprocess.run([sys.executable, "-m", "tokenkeeper", "--help"], capture_output=True, text=True, timeout=60)
    assert m.returncode == 0 and "demo" in m.stdout


def test_demo(cli: list[str]) -> None:
    p = run(cli, ["demo"], timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    out = p.stdout
    assert "local issuer" in out
    assert "a cache hit: the same token, no request" in out
    assert '"aud": "https://api.example.com"' in out
    assert "32 threads at once on another scope: 1 request(s)" in out
    assert "counters: Stats { tokens_minted: 2" in out
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


def test_twenty_runs_make_one_request(cli: list[str], issuer: LocalIssuer, cache_home: Path) -> None:
    tokens = set()
    for _ in range(20):
        p = run(cli, ["token", "--audience", issuer.audience], auth0_env(issuer))
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


def test_no_shared_cache(cli: list[str], issuer: LocalIssuer, cache_home: Path) -> None:
    for _ in range(3):
        p = run(cli, ["token", "--audience", issuer.audience, "--no-shared-cache"], auth0_env(issuer))
        assert p.returncode == 0, p.stderr
    assert issuer.count("token") == 3
    assert not cache_home.exists()


def test_the_shared_cache_from_the_variable_or_the_flag(cli: list[str], issuer: LocalIssuer, tmp_path: Path, cache_home: Path) -> None:
    from_env, from_flag = tmp_path / "env-dir", tmp_path / "flag-dir"
    env = auth0_env(issuer) | {"TOKENKEEPER_SHARED_CACHE": f"file:{from_env}"}
    for _ in range(2):
        assert run(cli, ["token", "--audience", issuer.audience], env).returncode == 0
    assert issuer.count("token") == 1 and from_env.is_dir()
    for _ in range(2):
        p = run(cli, ["token", "--audience", issuer.audience, "--shared-cache", f"file:{from_flag}"], env)
        assert p.returncode == 0, p.stderr
    assert issuer.count("token") == 2 and from_flag.is_dir()
    p = run(cli, ["token", "--audience", issuer.audience, "--no-shared-cache"], env)
    assert p.returncode == 0 and issuer.count("token") == 3
    assert not cache_home.exists()
    # An empty variable is unset: the default directory.
    p = run(cli, ["token", "--audience", issuer.audience], auth0_env(issuer) | {"TOKENKEEPER_SHARED_CACHE": ""})
    assert p.returncode == 0 and (cache_home / "tokenkeeper").is_dir()


def test_a_bad_shared_cache_is_a_config_error(cli: list[str], issuer: LocalIssuer) -> None:
    env = auth0_env(issuer) | {"TOKENKEEPER_SHARED_CACHE": "redis://127.0.0.1:notaport/0"}
    p = run(cli, ["token", "--audience", issuer.audience], env)
    assert p.returncode == 2 and "Redis" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    p = run(cli, ["token", "--audience", issuer.audience, "--shared-cache", "nope"], auth0_env(issuer))
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1
    p = run(cli, ["token", "--audience", issuer.audience, "--shared-cache", "file:/x", "--no-shared-cache"], auth0_env(issuer))
    # argparse: "not allowed with"; clap: "cannot be used with". Both name the two flags.
    assert p.returncode == 2 and "--shared-cache" in p.stderr and "--no-shared-cache" in p.stderr
    assert issuer.count("token") == 0


def test_an_unusable_cache_directory_never_fails_the_command(cli: list[str], issuer: LocalIssuer, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    for env in ({"XDG_CACHE_HOME": str(blocker)}, {"TOKENKEEPER_SHARED_CACHE": f"file:{blocker}"}):
        p = run(cli, ["token", "--audience", issuer.audience], auth0_env(issuer) | env)
        assert p.returncode == 0 and p.stderr == "", p.stderr
        assert verify_rs256(p.stdout.strip(), issuer.jwks())
    assert issuer.count("token") == 2


def test_header(cli: list[str], issuer: LocalIssuer, tmp_path: Path) -> None:
    p = run(cli, ["header", "--audience", issuer.audience, "--scope", "read:things"], auth0_env(issuer))
    assert p.returncode == 0, p.stderr
    line = p.stdout.strip()
    assert "\n" not in line and line.startswith("Bearer ")
    token = line[len("Bearer ") :]
    assert verify_rs256(token, issuer.jwks()) and claims(token)["scope"] == "read:things"
    # The same token as `token` prints (the shared cache), the same flags.
    t = run(cli, ["token", "--audience", issuer.audience, "--scope", "read:things"], auth0_env(issuer))
    assert t.stdout.strip() == token and issuer.count("token") == 1
    secret = tmp_path / "secret"
    secret.write_text(issuer.client_secret)
    p = run(
        cli,
        ["header", "--domain", issuer.domain, "--client-id", issuer.client_id,
         "--client-secret-file", str(secret), "--audience", issuer.audience, "--organization", "acme",
         "--no-shared-cache", "--timeout", "5"]
    )
    assert p.returncode == 0, p.stderr
    assert claims(p.stdout.strip().removeprefix("Bearer "))["org_name"] == "acme"
    p = run(cli, ["header"], auth0_env(issuer))
    assert p.returncode == 2 and "audience" in p.stderr


@pytest.mark.parametrize("argv", [["token", "--help"], ["header", "--help"], ["demo", "--help"]])
def test_help(cli: list[str], argv: list[str]) -> None:
    p = run(cli, argv)
    assert p.returncode == 0 and "usage: tokenkeeper" in p.stdout


def test_the_cli_shares_tokens_through_redis(cli: list[str], issuer: LocalIssuer) -> None:
    url = os.environ.get("TOKENKEEPER_TEST_REDIS_URL")
    if not url:
        pytest.fail("TOKENKEEPER_TEST_REDIS_URL is not set: run python/test.sh (it starts Redis)")
    # An API of this test's own: the two CLIs' runs share one Redis.
    audience = f"https://redis-cli-{os.urandom(6).hex()}.example.com"
    issuer.add_api(audience)
    outs = []
    for _ in range(3):
        p = run(cli, ["token", "--audience", audience, "--shared-cache", url], auth0_env(issuer))
        assert p.returncode == 0, p.stderr
        outs.append(p.stdout.strip())
    assert issuer.count("token") == 1 and len(set(outs)) == 1


def test_secrets_stay_off_the_command_line(cli: list[str], issuer: LocalIssuer, tmp_path: Path) -> None:
    """Review N11: the client secret from stdin (`--client-secret -`), a Redis URL with a password
    from a file (`--shared-cache-file`); `--help` says why."""
    url = os.environ.get("TOKENKEEPER_TEST_REDIS_URL")
    if not url:
        pytest.fail("TOKENKEEPER_TEST_REDIS_URL is not set: run python/test.sh (it starts Redis)")
    help_text = " ".join(run(cli, ["token", "--help"]).stdout.split())
    for flag in ("--client-secret-file", "--shared-cache-file", "'-'", "other users can read command lines"):
        assert flag in help_text, flag
    audience = f"https://n11-{os.urandom(6).hex()}.example.com"
    issuer.add_api(audience)
    spec = tmp_path / "shared-cache"
    spec.write_text(url + "\n")
    base = ["token", "--audience", audience, "--domain", issuer.domain, "--client-id", issuer.client_id]
    outs = []
    for _ in range(2):
        p = run(cli, base + ["--client-secret", "-", "--shared-cache-file", str(spec)], stdin=issuer.client_secret + "\n")
        assert p.returncode == 0, p.stderr
        outs.append(p.stdout)
    assert len(set(outs)) == 1 and issuer.count("token") == 1, "both runs share the token through Redis"
    # A wrong secret on stdin is the issuer's refusal, and is never shown.
    p = run(cli, base + ["--client-secret", "-", "--no-shared-cache"], stdin="a-wrong-secret-123")
    assert p.returncode == 1 and "access_denied" in p.stderr and "a-wrong-secret-123" not in p.stderr
    # --shared-cache-file excludes the other two.
    for other in (["--shared-cache", "file"], ["--no-shared-cache"]):
        assert run(cli, base + ["--shared-cache-file", str(spec), *other]).returncode == 2, other


def test_no_message_echoes_the_password_of_a_url(cli: list[str], issuer: LocalIssuer) -> None:
    """Review N11: a domain with `user:password@` that fails to parse (a bad port) is shown
    redacted; so is a mistyped Redis URL."""
    for env in (
        auth0_env(issuer) | {"AUTH0_DOMAIN": "https://user:hunter2@tenant.example.com:99999/"},
        auth0_env(issuer) | {"TOKENKEEPER_SHARED_CACHE": "redis://:hunter2@127.0.0.1:notaport/0"},
    ):
        p = run(cli, ["token", "--audience", issuer.audience], env)
        assert p.returncode == 2 and "hunter2" not in p.stderr and p.stderr.startswith("tokenkeeper: "), p.stderr


# --- the two CLIs side by side (issue 14) -------------------------------------------------------


def test_both_clis_print_the_same_bytes_for_a_shared_token(issuer: LocalIssuer) -> None:
    """The first run fetches; every later run, of either CLI, prints the token it shares."""
    env = auth0_env(issuer)
    args = ["token", "--audience", issuer.audience, "--scope", "read:things", "--json"]
    assert run(native_cli(), args, env).returncode == 0
    outputs = {}
    for name, cli in (("python", python_cli()), ("native", native_cli())):
        for a in (args, args[:-1], ["header"] + args[1:-1]):
            p = run(cli, a, env)
            assert p.returncode == 0 and p.stderr == "", p.stderr
            outputs.setdefault(name, []).append(p.stdout)
    assert outputs["python"] == outputs["native"]
    assert issuer.count("token") == 1
    out = json.loads(outputs["native"][0])
    assert list(out) == ["access_token", "token_type", "expires_in", "expires_at", "scope"]
    assert out["scope"] == "read:things" and out["expires_at"].endswith("+00:00")


def test_both_clis_give_the_same_error_lines_and_statuses(issuer: LocalIssuer, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text(issuer.client_secret)
    latin1 = tmp_path / "latin1.pem"
    latin1.write_bytes(b"cl\xe9\n")
    good = auth0_env(issuer)
    aud = ["--audience", issuer.audience]
    cases: list[tuple[list[str], dict[str, str]]] = [
        (["token", *aud], {}),
        (["token", *aud], {"AUTH0_DOMAIN": issuer.domain}),
        (["token", *aud], good | {"AUTH0_DOMAIN": "http://example.com"}),
        (["token"], good),
        (["header", "--audience", ""], good),
        (["token", *aud], good | {"AUTH0_CLIENT_SECRET": "a-wrong-secret-123"}),
        (["token", *aud, "--client-secret-file", str(tmp_path / "missing")], good),
        (["token", *aud, "--client-secret-file", str(tmp_path)], good),
        (["token", *aud, "--private-key-file", str(secret)], good),
        (["token", *aud, "--private-key-file", str(latin1)], good),
        (["token", *aud, "--client-secret-file", str(secret), "--private-key-alg", "ES256"], good),
        (["token", *aud, "--shared-cache", "nope"], good),
        (["token", *aud, "--shared-cache-file", str(tmp_path / "missing")], good),
        (["token", *aud, "--shared-cache-file", str(latin1)], good),
        (["token", *aud, "--client-secret", "-"], {"AUTH0_DOMAIN": issuer.domain, "AUTH0_CLIENT_ID": issuer.client_id}),
        (["token", *aud], good | {"TOKENKEEPER_SHARED_CACHE": "redis://127.0.0.1:notaport/0"}),
        (["token", *aud, "--timeout", "-1"], good),
        (["token", *aud, "--scope", "read:things", "--organization", "no-such-org"], good),
        (["token", "--audience", "https://unknown.example.com"], good),
        (["token", *aud], {"AUTH0_DOMAIN": "http://127.0.0.1:1", "AUTH0_CLIENT_ID": "x", "AUTH0_CLIENT_SECRET": "y"}),
        (["token", *aud, "--ca-file", str(tmp_path / "missing.pem")], good),
        (["token", *aud], good | {"TOKENKEEPER_CA_FILE": str(secret)}),
    ]
    for args, env in cases:
        py, native = run(python_cli(), args, env), run(native_cli(), args, env)
        assert (native.returncode, native.stdout, native.stderr) == (py.returncode, py.stdout, py.stderr), args
        assert py.returncode in (1, 2) and py.stderr.startswith("tokenkeeper: "), (args, py.stderr)
        assert len(py.stderr.splitlines()) == 1
        assert issuer.client_secret not in py.stderr and "a-wrong-secret-123" not in py.stderr
    # Usage errors: each parser words them its own way; the status is the same.
    for args in (["no-such-command"], [], ["token", "--private-key-alg", "HS256"], ["token", "--timeout", "soon"],
                 ["token", "--shared-cache", "file", "--no-shared-cache"], ["token", "--no-such-flag"]):
        assert run(python_cli(), args).returncode == run(native_cli(), args).returncode == 2, args


def test_interrupt_exits_130(cli: list[str], issuer: LocalIssuer) -> None:
    """Ctrl-C while the token request is in flight: one line, status 130."""
    issuer.inject(delay_ms=15_000)
    p = subprocess.Popen(cli + ["token", "--audience", issuer.audience, "--no-shared-cache"],
                         env=clean_env(auth0_env(issuer)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while issuer.count("token") == 0 and time.monotonic() < deadline and p.poll() is None:
            time.sleep(0.02)
        assert issuer.count("token") == 1, "the request never reached the issuer"
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=15)
    finally:
        p.kill()
        p.wait()
    assert p.returncode == 130 and out == ""
    assert err == "tokenkeeper: interrupted\n"


def test_cargo_install_gives_a_working_binary(issuer: LocalIssuer, tmp_path: Path) -> None:
    """`cargo install --path core/cli` (debug, the workspace's target directory: it reuses the
    build python/test.sh made), then the installed binary gets a token from the local issuer."""
    cargo = shutil.which("cargo")
    assert cargo, "cargo is not on PATH"
    root = tmp_path / "install-root"
    p = subprocess.run(
        [cargo, "install", "--quiet", "--locked", "--debug", "--path", str(ROOT / "core" / "cli"),
         "--root", str(root), "--target-dir", str(ROOT / "target")],
        capture_output=True, text=True, timeout=900,
    )
    assert p.returncode == 0, p.stderr
    exe = root / "bin" / "tokenkeeper"
    assert exe.is_file()
    version = run([str(exe)], ["--version"])
    assert version.stdout == f"tokenkeeper {tokenkeeper.__version__}\n"
    t = run([str(exe)], ["header", "--audience", issuer.audience], auth0_env(issuer))
    assert t.returncode == 0, t.stderr
    assert verify_rs256(t.stdout.strip().removeprefix("Bearer "), issuer.jwks())
