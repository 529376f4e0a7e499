"""Refresh-token renewals shared across processes (issue 23, item 2): eight Python processes,
each with its own manager over its own copy of one stored credential, renew at once against
the rotating public app. One refresh grant is sent, every process ends with the same rotated
refresh token, and the family is not revoked (the local issuer revokes it on any reuse)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tokenkeeper import SignInClient
from tokenkeeper.testing import Fault, LocalIssuer

# One process: renews its copy of the stored credentials (stdin) on the level, and prints the
# refresh token it ended with (and saved).
CHILD = r"""
import sys
from tokenkeeper import CredentialsManager, MemoryCredentialsStore, SignInClient, UserCredentials
domain, client_id, redirect_uri, level = sys.argv[1:5]
store = MemoryCredentialsStore(UserCredentials.from_json(sys.stdin.read()))
app = SignInClient(domain, client_id, redirect_uri, shared_cache=level, timeout=10.0)
renewed = CredentialsManager(app, store).renew()
saved = store.load()
assert saved is not None and saved.refresh_token == renewed.refresh_token
print(renewed.refresh_token)
"""


def eight_processes_renew(issuer: LocalIssuer, levels: list[str], homes: list[Path]) -> None:
    stored = issuer.sign_in(issuer.sign_in_client())
    issuer.inject(Fault.delay(400))  # the grant takes a while: every process asks meanwhile
    children = []
    for k in range(8):
        env = dict(os.environ, XDG_CACHE_HOME=str(homes[k % len(homes)]))
        args = [issuer.domain, issuer.public_client_id, issuer.redirect_uri, levels[k % len(levels)]]
        p = subprocess.Popen(
            [sys.executable, "-c", CHILD, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        children.append(p)
    tokens = set()
    for p in children:
        out, err = p.communicate(stored.to_json(), timeout=60)
        assert p.returncode == 0, err
        tokens.add(out.strip())
    assert issuer.count("grant:refresh_token") == 1, "one refresh grant for the fleet"
    assert issuer.count("refresh_reuse") == 0, "no rotated-out token was spent again"
    assert len(tokens) == 1, tokens
    new_rt = tokens.pop()
    assert new_rt and new_rt != stored.refresh_token
    # The family is alive: the rotated token renews.
    assert SignInClient(issuer.domain, issuer.public_client_id, issuer.redirect_uri).refresh(new_rt).access_token


def test_eight_processes_on_one_file_level_send_one_refresh_grant(issuer: LocalIssuer, tmp_path: Path) -> None:
    eight_processes_renew(issuer, [f"file:{tmp_path / 'level'}"], [tmp_path])


def test_eight_processes_on_two_hosts_sharing_redis_send_one_refresh_grant(
    issuer: LocalIssuer, tmp_path: Path
) -> None:
    url = os.environ.get("TOKENKEEPER_TEST_REDIS_URL")
    if not url:
        pytest.fail("TOKENKEEPER_TEST_REDIS_URL is not set: python/test.sh starts the run's Redis")
    # Two "hosts": separate cache directories, one Redis.
    eight_processes_renew(issuer, [url], [tmp_path / "host-a", tmp_path / "host-b"])


def test_a_bad_level_is_a_config_error(issuer: LocalIssuer) -> None:
    from tokenkeeper import ConfigError

    with pytest.raises(ConfigError, match="shared"):
        SignInClient(issuer.domain, issuer.public_client_id, issuer.redirect_uri, shared_cache="nfs://x")
