"""The ``tokenkeeper`` command.

``tokenkeeper token --audience A [--scope S] [--organization O]`` prints an access token (for
shell scripts); ``tokenkeeper header …`` (same flags) prints ``Bearer <token>``, for
``curl -H "Authorization: $(tokenkeeper header --audience A)"``. The client comes from flags or
the ``AUTH0_DOMAIN``, ``AUTH0_CLIENT_ID``, ``AUTH0_CLIENT_SECRET`` and ``AUTH0_AUDIENCE``
variables (flags win). Both use the shared file cache (``--shared-cache``, default
``$TOKENKEEPER_SHARED_CACHE`` or ``file``; ``--no-shared-cache`` turns it off), so a script that
runs the command many times makes one token request while the token lasts.

``tokenkeeper demo`` runs the main job against a local issuer in this process (the
``tokenkeeper-testing`` wheel: ``pip install 'tokenkeeper[testing]'``) and shows what
happened: a token fetched, served again from the cache, verified with ``TokenVerifier``
against the issuer's JWKS, single flight across threads, the counters.

Errors: one line on stderr; exit status 2 for configuration and usage errors, 1 for any other
failure.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import json
import os
import sys
import threading
import time
from typing import Any, Sequence

from . import __version__
from ._native import Token, TokenClient, TokenVerifier
from .errors import ConfigError, InvalidTokenError, TokenkeeperError

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tokenkeeper",
        description="Gets, caches and renews OAuth 2.0 access tokens the way Auth0 issues them.",
    )
    p.add_argument("--version", action="version", version=f"tokenkeeper {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    env = os.environ.get
    # The flags of the client and of the request, shared by `token` and `header`.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--audience", "-a", default=env("AUTH0_AUDIENCE"), help="API identifier (default: $AUTH0_AUDIENCE)")
    common.add_argument("--scope", "-s", help="space-separated scopes")
    common.add_argument("--organization", "-o", help="organization name or id (org_…)")
    common.add_argument("--domain", default=env("AUTH0_DOMAIN"), help="tenant domain or URL (default: $AUTH0_DOMAIN)")
    common.add_argument("--client-id", default=env("AUTH0_CLIENT_ID"), help="default: $AUTH0_CLIENT_ID")
    common.add_argument(
        "--client-secret",
        help="client secret, or '-' to read it from stdin (default: $AUTH0_CLIENT_SECRET; prefer '-', "
        "the variable or --client-secret-file: other users can read command lines)",
    )
    common.add_argument("--client-secret-file", help="read the client secret from this file")
    common.add_argument("--private-key-file", help="PEM private key for private_key_jwt, instead of a secret")
    common.add_argument("--private-key-alg", choices=["RS256", "PS256", "ES256"], help="with --private-key-file (default: RS256)")
    common.add_argument("--auth-method", choices=["client_secret_post", "client_secret_basic", "private_key_jwt"])
    common.add_argument("--timeout", type=float, help="request timeout, seconds")
    common.add_argument(
        "--ca-file",
        default=env("TOKENKEEPER_CA_FILE"),
        help="PEM file of extra CA certificates to trust for HTTPS, beside the system's "
        "(default: $TOKENKEEPER_CA_FILE)",
    )
    shared = common.add_mutually_exclusive_group()
    shared.add_argument(
        "--shared-cache",
        metavar="SPEC",
        default=env("TOKENKEEPER_SHARED_CACHE") or "file",
        help="where tokens are shared between runs: 'file' (the user's cache directory, "
        "$XDG_CACHE_HOME/tokenkeeper or ~/.cache/tokenkeeper), 'file:/some/dir', or a Redis "
        "server shared by a fleet: 'redis://host:6379/0', 'rediss://...', "
        "'unix:///path/redis.sock' (default: $TOKENKEEPER_SHARED_CACHE, else 'file'; a Redis URL "
        "with a password belongs in the variable or --shared-cache-file: other users can read "
        "command lines)",
    )
    shared.add_argument(
        "--shared-cache-file",
        metavar="FILE",
        help="read the shared cache spec (as for --shared-cache) from this file",
    )
    shared.add_argument(
        "--no-shared-cache",
        dest="shared_cache",
        action="store_const",
        const=None,
        help="fetch a token of this run's own, sharing none with other runs",
    )

    t = sub.add_parser(
        "token",
        parents=[common],
        help="print an access token",
        description="Prints an access token for AUDIENCE (client credentials). The client "
        "comes from the flags or from AUTH0_DOMAIN, AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET, "
        "AUTH0_AUDIENCE. Tokens are shared between runs through the shared file cache "
        "(--no-shared-cache: not), so running it again makes no request while the token lasts.",
    )
    t.add_argument("--json", action="store_true", help="print the token and its details as JSON")

    sub.add_parser(
        "header",
        parents=[common],
        help="print an Authorization header value (Bearer …)",
        description="Prints 'Bearer <access token>' for AUDIENCE, for "
        "curl -H \"Authorization: $(tokenkeeper header --audience …)\". Flags as for 'token'.",
    )

    sub.add_parser(
        "demo",
        help="run the main job against an embedded local issuer (needs tokenkeeper[testing])",
        description="Starts the local issuer (the tokenkeeper-testing wheel), gets a token twice (the "
        "second from the cache), verifies it with TokenVerifier against the issuer's JWKS, "
        "shows its claims, single flight across threads, and the counters.",
    )
    return p


def _read(path: str, what: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().strip()
    except OSError as e:
        raise ConfigError(f"cannot read the {what} file {path!r}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"cannot read the {what} file {path!r}: not UTF-8 text") from None


def _stdin_secret() -> str:
    """``--client-secret -``: the secret is the whole of stdin, trimmed."""
    try:
        return sys.stdin.buffer.read().decode("utf-8").strip()
    except UnicodeDecodeError:
        raise ConfigError("cannot read the client secret from stdin: not UTF-8 text") from None
    except (OSError, AttributeError, ValueError):
        raise ConfigError("cannot read the client secret from stdin") from None


def _client(args: argparse.Namespace) -> TokenClient:
    if not args.domain:
        raise ConfigError("no domain: pass --domain or set AUTH0_DOMAIN")
    if not args.client_id:
        raise ConfigError("no client id: pass --client-id or set AUTH0_CLIENT_ID")
    key = _read(args.private_key_file, "private key") if args.private_key_file else None
    if args.client_secret_file:
        secret = _read(args.client_secret_file, "client secret")
    elif args.client_secret == "-":
        secret = _stdin_secret()
    else:
        secret = args.client_secret
    if key is None and secret is None:
        secret = os.environ.get("AUTH0_CLIENT_SECRET") or None  # the default of the flags
    # The core checks the rest, as for any TokenClient: exactly one of a secret and a key, an
    # algorithm only with a key.
    return TokenClient(
        args.domain,
        args.client_id,
        secret,
        private_key=key,
        private_key_alg=args.private_key_alg,
        auth_method=args.auth_method,
        audience=args.audience,
        request_timeout=args.timeout,
        shared_cache=_read(args.shared_cache_file, "shared cache") if args.shared_cache_file else args.shared_cache,
        ca_file=args.ca_file or None,
    )


def _token_json(token: Token) -> dict[str, Any]:
    return {
        "access_token": token.access_token,
        "token_type": token.token_type,
        "expires_in": token.expires_in,
        "expires_at": token.expires_at.isoformat(),
        "scope": token.scope,
    }


def _cmd_token(args: argparse.Namespace) -> int:
    client = _client(args)
    token = client.get_token(args.audience, args.scope, args.organization)
    if args.command == "header":
        print(token.authorization_header)
    elif args.json:
        print(json.dumps(_token_json(token)))
    else:
        print(token.access_token)
    return 0


def _claims(jwt: str) -> dict[str, Any]:
    payload = jwt.split(".")[1]
    data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return data


def _took(seconds: float) -> str:
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.1f} µs"


def _cmd_demo(args: argparse.Namespace) -> int:
    try:
        from .testing import LocalIssuer
    except ImportError as e:  # the issuer is the tokenkeeper-testing wheel's
        raise ConfigError(str(e)) from None

    with LocalIssuer() as issuer:
        print(f"local issuer (tokenkeeper-testing, in this process) at {issuer.url}")
        client = issuer.client()
        print(f"client: {client!r}")
        audience, scope = issuer.audience, "read:things write:things"
        print(f"request: audience={audience!r} scope={scope!r}")

        t0 = time.perf_counter()
        first = client.get_token(audience=audience, scope=scope)
        cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        second = client.get_token(audience=audience, scope=scope)
        warm = time.perf_counter() - t0
        after_two = issuer.count("token")
        cache_hit = second is first and after_two == 1

        print(f"first call:  {_took(cold)}, from the token endpoint")
        print(
            f"second call: {_took(warm)}, "
            + ("a cache hit: the same token, no request" if cache_hit else "NOT a cache hit")
        )
        print(f"token: {first!r}")
        claims = _claims(first.access_token)
        print("claims:")
        print(json.dumps(claims, indent=2, sort_keys=True))
        checks = {
            "iss is the issuer": claims.get("iss") == issuer.issuer,
            "aud is the audience": claims.get("aud") == audience,
            "scope as asked": sorted(str(claims.get("scope", "")).split()) == sorted(scope.split()),
            "sub is the client": claims.get("sub") == f"{issuer.client_id}@clients",
        }
        print("checks: " + ", ".join(f"{k}: {'yes' if v else 'NO'}" for k, v in checks.items()))

        # What the API does with the token: verify it (JWKS from the issuer, signature, iss,
        # aud, exp), many times over with one JWKS fetch, and reject a tampered copy.
        verifier = TokenVerifier(issuer.domain, audience)
        t0 = time.perf_counter()
        verified = verifier.verify(first.access_token)
        cold_verify = time.perf_counter() - t0
        n_verify = 1000
        t0 = time.perf_counter()
        for _ in range(n_verify):
            verifier.verify(first.access_token)
        warm_verify = (time.perf_counter() - t0) / n_verify
        exp = verified.exp
        when = datetime.datetime.fromtimestamp(exp, datetime.timezone.utc).isoformat() if exp else "?"
        print(f"verified with TokenVerifier (JWKS {verifier.jwks_url}):")
        print(f"  iss: {verified.iss}")
        print(f"  aud: {', '.join(verified.aud)}")
        print(f"  sub: {verified.sub}   azp: {verified.azp}")
        print(f"  exp: {exp} ({when})")
        print(f"  first verification {_took(cold_verify)} (JWKS fetched), then {_took(warm_verify)} each ({n_verify} more)")
        h, p, sig = first.access_token.split(".")
        forged = dict(claims, scope="read:things write:things delete:things")
        p2 = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
        try:
            verifier.verify(f"{h}.{p2}.{sig}")
            tampered_rejected = ""
        except InvalidTokenError as e:
            tampered_rejected = str(e.check)
        print(f"a tampered copy (scope widened): {'rejected: ' + tampered_rejected if tampered_rejected else 'ACCEPTED'}")
        vstats = verifier.stats()
        print(
            f"verifier: {vstats['verified']} verified, {vstats['rejected']} rejected, "
            f"JWKS fetches: {vstats['jwks_fetches']}"
        )
        verify_ok = (
            verified.iss == issuer.issuer
            and verified.aud == [audience]
            and verified.sub == f"{issuer.client_id}@clients"
            and tampered_rejected == "signature"
            and vstats["jwks_fetches"] == 1
        )

        n_threads, barrier = 32, threading.Barrier(32)
        results: list[Token] = []

        def worker() -> None:
            barrier.wait()
            results.append(client.get_token(audience=audience, scope="read:things"))

        threads = [threading.Thread(target=worker) for _ in range(n_threads)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        stampede = issuer.count("token") - after_two
        one_flight = stampede == 1 and len({id(t) for t in results}) == 1
        print(f"{n_threads} threads at once on another scope: {stampede} request(s) reached the token endpoint")
        print(f"token endpoint requests in all: {issuer.count('token')}")
        print(f"counters: {client.stats()}")
    ok = cache_hit and one_flight and all(checks.values()) and verify_ok
    print("demo: ok" if ok else "demo: FAILED")
    return 0 if ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command in ("token", "header"):
            return _cmd_token(args)
        return _cmd_demo(args)
    except ConfigError as e:
        print(f"tokenkeeper: {e}", file=sys.stderr)
        return 2
    except TokenkeeperError as e:
        print(f"tokenkeeper: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("tokenkeeper: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
