"""The stubs match the native module (mypy.stubtest) and typed user code checks (mypy)."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

ALLOWLIST = Path(__file__).with_name("stubtest-allowlist.txt")
# mypy runs in a temporary directory: its cache stays out of the work tree, and the source tree
# is not on its path (the installed package is what gets checked).
WORKDIR = tempfile.mkdtemp(prefix="tokenkeeper-mypy-")
atexit.register(shutil.rmtree, WORKDIR, True)
ENV = dict(os.environ, MYPY_CACHE_DIR=os.path.join(WORKDIR, "cache"))


@pytest.mark.parametrize("package", ["tokenkeeper", "tokenkeeper_testing"])
def test_stubtest(package: str) -> None:
    p = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", package, "--allowlist", str(ALLOWLIST)],
        capture_output=True,
        text=True,
        timeout=300,
        env=ENV,
        cwd=WORKDIR,
    )
    assert p.returncode == 0, p.stdout + p.stderr


@pytest.mark.parametrize("package", ["tokenkeeper", "tokenkeeper_testing"])
def test_the_package_type_checks_strictly(package: str) -> None:
    p = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "-p", package],
        capture_output=True,
        text=True,
        timeout=300,
        env=ENV,
        cwd=WORKDIR,
    )
    assert p.returncode == 0, p.stdout + p.stderr


def test_typed_user_code(tmp_path: Path) -> None:
    code = tmp_path / "user.py"
    code.write_text(
        textwrap.dedent(
            """
            import asyncio
            import datetime
            from typing import Any
            from tokenkeeper import TokenClient, Token, OAuthError, RateLimitedError
            from tokenkeeper import (
                Claims, CredentialsManager, CredentialsStore, InvalidTokenError, LoginTransaction,
                MemoryCredentialsStore, SignInClient, TokenExpiredError, TokenVerifier, UserCredentials,
            )
            from tokenkeeper.testing import LocalIssuer, Fault

            def use(client: TokenClient) -> str:
                tok: Token = client.get_token(audience="https://api.example.com", scope=["a", "b"])
                at: datetime.datetime = tok.expires_at
                n: int = tok.expires_in
                s: dict[str, int] = client.stats()
                return tok.authorization_header + at.isoformat() + str(n) + str(s)

            async def use_async(client: TokenClient) -> Token:
                return await client.get_token_async("https://api.example.com")

            def errors() -> None:
                try:
                    pass
                except RateLimitedError as e:
                    r: float | None = e.retry_after
                except OAuthError as e:
                    code: str = e.error
                    status: int = e.status

            def issuer() -> None:
                with LocalIssuer() as i:
                    i.inject(Fault.rate_limited(3).times(2))
                    c = i.client(timeout=1.0)
                    use(c)

            def verify(token: str) -> str | None:
                v = TokenVerifier("tenant.auth0.com", "https://api.example.com", leeway=30,
                                  organization=None, jwks_lifetime=600.0)
                try:
                    claims: Claims = v.verify(token)
                except TokenExpiredError as e:
                    check: str | None = e.check
                    return check
                except InvalidTokenError:
                    return None
                aud: list[str] = claims.aud
                exp: int | None = claims.exp
                roles: Any = claims.get("https://example.com/roles")
                n: int = v.stats()["jwks_fetches"]
                return claims.sub

            async def verify_async(v: TokenVerifier, token: str) -> Claims:
                return await v.verify_async(token)

            class FileStore:
                def load(self) -> UserCredentials | None:
                    return None
                def save(self, credentials: UserCredentials) -> None:
                    text: str = credentials.to_json()
                def clear(self) -> None:
                    pass

            def sign_in(i: LocalIssuer) -> UserCredentials:
                app = SignInClient(i.domain, i.public_client_id, i.redirect_uri, audience=i.audience)
                tx: LoginTransaction = app.authorize(scope=["openid", "email"], extra={"prompt": "login"})
                creds = app.handle_callback(tx, i.authorize(tx.url))
                at: datetime.datetime = creds.expires_at
                rt: str | None = creds.refresh_token
                info: Claims = app.userinfo(creds.access_token)
                store: CredentialsStore = FileStore()
                m = CredentialsManager(app, store)
                m.save(creds)
                m2 = CredentialsManager(app, MemoryCredentialsStore())
                return m.credentials(min_ttl=60, scope="openid")

            async def renew(m: CredentialsManager) -> UserCredentials:
                c = await m.credentials_async(120)
                return await m.renew_async()
            """
        )
    )
    p = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(code)],
        capture_output=True,
        text=True,
        timeout=300,
        env=ENV,
        cwd=WORKDIR,
    )
    assert p.returncode == 0, p.stdout + p.stderr
