"""Fixtures: a fresh local issuer per test (its own port, so its own cache keys), a client for
it, a loopback API that checks bearer tokens, and small JWT helpers.

Everything talks real HTTP on 127.0.0.1 to the issuer of the installed tokenkeeper-testing wheel.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest

import tokenkeeper
from tokenkeeper.testing import LocalIssuer


@pytest.fixture
def issuer() -> Iterator[LocalIssuer]:
    with LocalIssuer() as i:
        yield i


@pytest.fixture
def client(issuer: LocalIssuer) -> tokenkeeper.TokenClient:
    return issuer.client()


def b64d(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def claims(jwt: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(b64d(jwt.split(".")[1]))
    return data


# DER prefix of a SHA-256 DigestInfo (RFC 8017, section 9.2).
_SHA256_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")


def verify_rs256(jwt: str, jwks: dict[str, Any]) -> bool:
    """RS256 signature check against a JWKS (PKCS#1 v1.5, in plain Python)."""
    h, p, s = jwt.split(".")
    header = json.loads(b64d(h))
    if header.get("alg") != "RS256":
        return False
    key = next((k for k in jwks["keys"] if k.get("kid") == header.get("kid")), None)
    if key is None:
        return False
    n = int.from_bytes(b64d(key["n"]), "big")
    e = int.from_bytes(b64d(key["e"]), "big")
    k = (n.bit_length() + 7) // 8
    em = pow(int.from_bytes(b64d(s), "big"), e, n).to_bytes(k, "big")
    t = _SHA256_PREFIX + hashlib.sha256(f"{h}.{p}".encode()).digest()
    expected = b"\x00\x01" + b"\xff" * (k - 3 - len(t)) + b"\x00" + t
    return hmac.compare_digest(em, expected)


class Api:
    """A loopback API that accepts a request only with a valid bearer token from the issuer for
    its audience; tokens in ``revoked`` are refused with 401."""

    def __init__(self, issuer: LocalIssuer, audience: str) -> None:
        self.issuer, self.audience = issuer, audience
        self.jwks = issuer.jwks()
        self.revoked: set[str] = set()
        self.seen: list[str] = []
        self.refuse_all = False
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                auth = self.headers.get("Authorization", "")
                status, body = api.check(auth)
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_POST = do_GET  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def check(self, auth: str) -> tuple[int, dict[str, Any]]:
        if not auth.startswith("Bearer "):
            return 401, {"error": "no bearer token"}
        token = auth[len("Bearer ") :]
        self.seen.append(token)
        if token in self.revoked or self.refuse_all:
            return 401, {"error": "revoked"}
        if not verify_rs256(token, self.jwks):
            return 401, {"error": "bad signature"}
        c = claims(token)
        if c.get("aud") != self.audience or c.get("iss") != self.issuer.issuer:
            return 401, {"error": "wrong audience or issuer"}
        return 200, {"sub": c["sub"], "scope": c.get("scope")}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def api(issuer: LocalIssuer) -> Iterator[Api]:
    a = Api(issuer, issuer.audience)
    yield a
    a.close()
