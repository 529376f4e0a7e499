"""tokenkeeper beside the Python libraries a user would otherwise pick, in one process, against
one local issuer (the one in the tokenkeeper wheel) on 127.0.0.1.

    python/bench/run.sh            # makes a bench-only venv, installs everything, runs this
    python bench.py [--out FILE]   # in an environment that has tokenkeeper and the peers

Peers: httpx-auth (OAuth2ClientCredentials), authlib (OAuth2Session, client credentials),
auth0-python (GetToken: no cache), and msal if it can talk to the issuer (it cannot: the reason
is printed). Each is used the way its documentation shows, with default settings and a reused
HTTP connection pool.

Measured:
1. cached: the cost of a header-ready token (`Bearer …`) once cached, ns/call, median of
   batches (auth0-python has no cache: every call is a request);
2. cold fetch: one token from the endpoint (connection pool warm), median and p90;
3. 32 threads at once on a cold cache: how many requests reached the issuer;
4. a 5 s token, one call every 100 ms for 12 s: requests made, and tokens returned already
   expired (their `exp` claim in the past when the call returned).

Verification (`--only verify` runs just this part): tokenkeeper's `TokenVerifier` beside PyJWT
with its `PyJWKClient` and `authlib.jose`, each verifying the same RS256 access token against
the local issuer's JWKS (fetched once, then cached), each configured to check the signature,
`exp`, `iss` and `aud`. Before timing, every verifier must accept the good token and reject a
tampered, an expired, a wrong-audience and a wrong-issuer one. Measured: tokens/s on 1 thread
and on 8 threads sharing one verifier object.

Only loopback traffic: the issuer is on 127.0.0.1 and msal is given an HTTP client that refuses
any other host.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import statistics
import sys
import threading
import time
from importlib import metadata
from typing import Any, Callable

# authlib refuses plain http unless told it is fine (the issuer is on loopback).
os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")

import httpx  # noqa: E402
import requests  # noqa: E402

import tokenkeeper  # noqa: E402
from tokenkeeper.testing import LocalIssuer  # noqa: E402

SHORT = "https://short.example.com"  # 5 s tokens in the issuer's fixture


def exp_of(bearer: str) -> int:
    token = bearer.split(" ", 1)[1]
    payload = token.split(".")[1]
    return int(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["exp"])


class Peer:
    """One library, set up for one audience. `header()` returns `Bearer …` as a user would get
    it; `forget()` empties the library's cache (for cold measurements)."""

    name = ""
    has_cache = True

    def header(self) -> str:
        raise NotImplementedError

    def forget(self) -> None:
        pass

    def close(self) -> None:
        pass


class Tokenkeeper(Peer):
    name = "tokenkeeper"

    def __init__(self, issuer: LocalIssuer, audience: str) -> None:
        self.client = issuer.client()
        self.audience = audience

    def header(self) -> str:
        return self.client.get_token(self.audience).authorization_header

    def forget(self) -> None:
        self.client.invalidate(self.audience)


class TokenkeeperHttpxFlow(Tokenkeeper):
    """The same, through tokenkeeper's httpx adapter, measured like httpx-auth's flow."""

    name = "tokenkeeper (httpx auth flow)"

    def __init__(self, issuer: LocalIssuer, audience: str) -> None:
        super().__init__(issuer, audience)
        self.auth = self.client.httpx_auth(audience)
        self.request = httpx.Request("GET", "http://127.0.0.1/api")

    def header(self) -> str:
        flow = self.auth.sync_auth_flow(self.request)
        return str(next(flow).headers["Authorization"])


class HttpxAuth(Peer):
    name = "httpx-auth"

    def __init__(self, issuer: LocalIssuer, audience: str) -> None:
        import httpx_auth

        self.mod = httpx_auth
        self.http = httpx.Client()
        self.auth = httpx_auth.OAuth2ClientCredentials(
            issuer.url + "/oauth/token",
            client_id=issuer.client_id,
            client_secret=issuer.client_secret,
            audience=audience,
            client=self.http,
        )
        self.request = httpx.Request("GET", "http://127.0.0.1/api")

    def header(self) -> str:
        flow = self.auth.auth_flow(self.request)
        return str(next(flow).headers["Authorization"])

    def forget(self) -> None:
        self.mod.OAuth2.token_cache.clear()

    def close(self) -> None:
        self.http.close()


class Authlib(Peer):
    """authlib's documented client-credentials session. Its own renewal
    (`ensure_active_token`) re-fetches WITHOUT the audience (authlib #783), which Auth0 refuses,
    so the user code re-fetches with the audience when the token is expired by authlib's rule
    (60 s leeway)."""

    name = "authlib"

    def __init__(self, issuer: LocalIssuer, audience: str) -> None:
        from authlib.integrations.requests_client import OAuth2Session

        self.url = issuer.url + "/oauth/token"
        self.audience = audience
        self.session = OAuth2Session(
            issuer.client_id,
            issuer.client_secret,
            token_endpoint=self.url,
            grant_type="client_credentials",
        )

    def header(self) -> str:
        tok = self.session.token
        if not tok or tok.is_expired(leeway=self.session.leeway):
            tok = self.session.fetch_token(self.url, audience=self.audience)
        return "Bearer " + tok["access_token"]

    def forget(self) -> None:
        self.session.token = None

    def close(self) -> None:
        self.session.close()


class Auth0Python(Peer):
    name = "auth0-python"
    has_cache = False

    def __init__(self, issuer: LocalIssuer, audience: str) -> None:
        from auth0.authentication import GetToken

        host = issuer.url.removeprefix("http://")
        self.get = GetToken(host, issuer.client_id, client_secret=issuer.client_secret, protocol="http")
        self.audience = audience

    def header(self) -> str:
        return "Bearer " + self.get.client_credentials(self.audience)["access_token"]


class Baseline(Peer):
    """The harness alone: a method call returning a ready string."""

    name = "harness (no-op peer)"

    def __init__(self, issuer: LocalIssuer, audience: str) -> None:
        self.value = "Bearer x"

    def header(self) -> str:
        return self.value


PEERS: list[type[Peer]] = [Tokenkeeper, TokenkeeperHttpxFlow, HttpxAuth, Authlib, Auth0Python]
ROWS = [Tokenkeeper, HttpxAuth, Authlib, Auth0Python]  # the comparison table


# -- measurements ------------------------------------------------------------------------------


def cached_ns(peer: Peer, batches: int = 31, batch_seconds: float = 0.02) -> float:
    peer.header()  # warm
    n = 1
    while True:  # calibrate a batch to ~batch_seconds
        t0 = time.perf_counter_ns()
        for _ in range(n):
            peer.header()
        dt = time.perf_counter_ns() - t0
        if dt > batch_seconds * 1e9 or n >= 1 << 22:
            break
        n *= 2
    per: list[float] = []
    for _ in range(batches):
        t0 = time.perf_counter_ns()
        for _ in range(n):
            peer.header()
        per.append((time.perf_counter_ns() - t0) / n)
    return statistics.median(per)


def cold_ms(peer: Peer, samples: int = 50) -> tuple[float, float]:
    peer.forget()
    peer.header()  # warm the connection pool
    times = []
    for _ in range(samples):
        peer.forget()
        t0 = time.perf_counter()
        peer.header()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.9) - 1]


def threads_cold(peer: Peer, issuer: LocalIssuer, n: int = 32) -> tuple[int, int]:
    peer.forget()
    issuer.reset()
    barrier = threading.Barrier(n)
    errors = 0
    lock = threading.Lock()

    def worker() -> None:
        nonlocal errors
        barrier.wait()
        try:
            peer.header()
        except Exception:  # noqa: BLE001
            with lock:
                errors += 1

    ts = [threading.Thread(target=worker) for _ in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=60)
    return issuer.count("token"), errors


def short_token_run(peer: Peer, issuer: LocalIssuer, seconds: float = 12.0, every: float = 0.1) -> dict[str, int]:
    peer.forget()
    issuer.reset()
    calls = expired = errors = 0
    start = time.monotonic()
    nxt = start
    while nxt - start < seconds:
        try:
            h = peer.header()
            calls += 1
            if exp_of(h) <= time.time():
                expired += 1
        except Exception:  # noqa: BLE001
            errors += 1
        nxt += every
        time.sleep(max(0.0, nxt - time.monotonic()))
    return {"calls": calls, "requests": issuer.count("token"), "expired": expired, "errors": errors}


# -- probes ------------------------------------------------------------------------------------


def authlib_own_renewal(issuer: LocalIssuer) -> str:
    """What authlib's own renewal does with an expired client-credentials token."""
    from authlib.integrations.requests_client import OAuth2Session

    url = issuer.url + "/oauth/token"
    s = OAuth2Session(issuer.client_id, issuer.client_secret, token_endpoint=url, grant_type="client_credentials")
    s.fetch_token(url, audience=SHORT)  # 5 s token: expired by authlib's 60 s leeway
    try:
        s.ensure_active_token()
        return "re-fetched"
    except Exception as e:  # noqa: BLE001
        return f"{type(e).__name__}: {e}"
    finally:
        s.close()


class LoopbackOnly(requests.Session):
    """An HTTP client for msal that refuses any host but 127.0.0.1."""

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        host = requests.utils.urlparse(url).hostname
        if host not in ("127.0.0.1", "localhost"):
            raise RuntimeError(f"refused non-loopback request to {host}")
        return super().request(method, url, *args, **kwargs)


def msal_probe(issuer: LocalIssuer) -> str:
    try:
        import msal
    except ImportError:
        return "msal is not installed"
    reasons = []
    for kwargs in (
        {"authority": issuer.url + "/tenant"},
        {"oidc_authority": issuer.url},
    ):
        try:
            app = msal.ConfidentialClientApplication(
                issuer.client_id,
                client_credential=issuer.client_secret,
                http_client=LoopbackOnly(),
                instance_discovery=False,
                validate_authority=False,
                **kwargs,
            )
            r = app.acquire_token_for_client(scopes=[SHORT + "/.default"])
            reasons.append(f"{list(kwargs)[0]}=…: answered {str(r)[:120]}")
        except Exception as e:  # noqa: BLE001
            first = str(e).splitlines()[0].split(": e.g.")[0]
            reasons.append(f"`{list(kwargs)[0]}=` raises {type(e).__name__}: {first}")
    return "; ".join(reasons)


# -- verification ------------------------------------------------------------------------------


class Verifier:
    """One library's verification of an access token for one API, against the issuer's JWKS,
    checking signature, exp, iss and aud. `verify()` returns the claims or raises."""

    name = ""

    def verify(self, token: str) -> dict[str, Any]:
        raise NotImplementedError


class TokenkeeperVerifier(Verifier):
    name = "tokenkeeper `TokenVerifier`"

    def __init__(self, issuer: LocalIssuer, audience: str) -> None:
        # iss = the issuer of the domain; signature, exp (60 s leeway), aud: always checked.
        self.verifier = tokenkeeper.TokenVerifier(issuer.domain, audience)
        self.verify = self.verifier.verify  # type: ignore[method-assign]

    def jwks_fetches(self) -> int:
        return self.verifier.stats()["jwks_fetches"]


class PyJWTVerifier(Verifier):
    """PyJWT's documented recipe: `PyJWKClient` (JWKS cached, `cache_keys=True`) picks the key
    by `kid`, `jwt.decode` checks the signature, `exp`, `iss` and `aud`, all three required."""

    name = "PyJWT `PyJWKClient` + `jwt.decode`"

    def __init__(self, issuer: LocalIssuer, audience: str) -> None:
        import jwt

        self.jwt = jwt
        self.jwks = jwt.PyJWKClient(issuer.url + "/.well-known/jwks.json", cache_keys=True)
        self.issuer, self.audience = issuer.issuer, audience

    def verify(self, token: str) -> dict[str, Any]:
        key = self.jwks.get_signing_key_from_jwt(token)
        claims: dict[str, Any] = self.jwt.decode(
            token,
            key,
            algorithms=["RS256"],
            audience=self.audience,
            issuer=self.issuer,
            leeway=60,
            options={"require": ["exp", "iss", "aud"]},
        )
        return claims


class AuthlibVerifier(Verifier):
    """authlib.jose: the JWKS fetched once (authlib has no JWKS client: the user's code keeps
    the key set), `JsonWebToken(["RS256"]).decode` with the key set (key by `kid`), then
    `claims.validate()` with `iss`, `aud` and `exp` essential."""

    name = "authlib `authlib.jose`"

    def __init__(self, issuer: LocalIssuer, audience: str) -> None:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "authlib.jose is deprecated, use joserfc"
            from authlib.jose import JsonWebKey, JsonWebToken

        self.keys = JsonWebKey.import_key_set(requests.get(issuer.url + "/.well-known/jwks.json", timeout=10).json())
        self.jwt = JsonWebToken(["RS256"])
        self.options = {
            "iss": {"essential": True, "value": issuer.issuer},
            "aud": {"essential": True, "value": audience},
            "exp": {"essential": True},
        }

    def verify(self, token: str) -> dict[str, Any]:
        claims = self.jwt.decode(token, self.keys, claims_options=self.options)
        claims.validate(leeway=60)
        return dict(claims)


VERIFIERS: list[type[Verifier]] = [TokenkeeperVerifier, PyJWTVerifier, AuthlibVerifier]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def bad_tokens(issuer: LocalIssuer, good: str) -> dict[str, str]:
    """Tokens each verifier must refuse: the good one tampered, and tokens signed by the
    issuer's own key that are expired, for another API, or from another issuer."""
    h, p, sig = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    tampered = dict(claims, scope="read:things write:things delete:things")
    now = int(time.time())
    return {
        "tampered payload": f"{h}.{b64url(json.dumps(tampered).encode())}.{sig}",
        "expired": issuer.sign(dict(claims, iat=now - 7200, exp=now - 3600)),
        "wrong audience": issuer.sign(dict(claims, aud="https://other.example.com")),
        "wrong issuer": issuer.sign(dict(claims, iss="https://evil.example.com/")),
    }


def check_verifier(v: Verifier, good: str, bad: dict[str, str], expected: dict[str, Any]) -> None:
    got = v.verify(good)
    for k in ("iss", "aud", "sub", "exp"):
        if got.get(k) != expected[k]:
            raise SystemExit(f"{v.name}: the good token verified with {k}={got.get(k)!r}, expected {expected[k]!r}")
    for what, token in bad.items():
        try:
            v.verify(token)
        except Exception:  # noqa: BLE001
            continue
        raise SystemExit(f"{v.name} accepted a token it must refuse ({what}): not configured to check it")


def throughput(v: Verifier, token: str, threads: int, seconds: float) -> float:
    """Tokens verified per second by `threads` threads sharing `v`, over `seconds`."""
    counts = [0] * threads
    barrier = threading.Barrier(threads + 1)
    stop = threading.Event()

    def worker(i: int) -> None:
        verify = v.verify
        n = 0
        barrier.wait()
        while not stop.is_set():
            for _ in range(16):
                verify(token)
            n += 16
        counts[i] = n

    ts = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for t in ts:
        t.join()
    return sum(counts) / (time.perf_counter() - t0)


def verify_bench(issuer: LocalIssuer, seconds: float, rounds: int) -> dict[str, Any]:
    token = issuer.client().get_token(issuer.audience, scope="read:things").access_token
    expected = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=" * (-len(token.split(".")[1]) % 4)))
    bad = bad_tokens(issuer, token)
    verifiers = [cls(issuer, issuer.audience) for cls in VERIFIERS]
    for v in verifiers:
        check_verifier(v, token, bad, expected)
        for _ in range(100):  # warm
            v.verify(token)
    jwks_before = issuer.count("jwks")
    out: dict[str, Any] = {"checked": list(bad), "rows": {}}
    for v in verifiers:
        print(f"… verify: {v.name}", file=sys.stderr, flush=True)
        one = statistics.median(throughput(v, token, 1, seconds) for _ in range(rounds))
        eight = statistics.median(throughput(v, token, 8, seconds) for _ in range(rounds))
        out["rows"][v.name] = (one, eight)
    out["jwks_requests_while_timing"] = issuer.count("jwks") - jwks_before
    out["jwks_requests_in_all"] = issuer.count("jwks")
    out["raw_rsa_us"] = raw_rsa_us(verifiers[1], token)
    return out


def raw_rsa_us(pyjwt: Verifier, token: str, n: int = 500) -> float:
    """For scale: the RS256 signature check alone, through cryptography (OpenSSL), µs."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    assert isinstance(pyjwt, PyJWTVerifier)
    key = pyjwt.jwks.get_signing_key_from_jwt(token).key
    h, p, s = token.split(".")
    sig, msg = base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)), f"{h}.{p}".encode()
    t0 = time.perf_counter()
    for _ in range(n):
        key.verify(sig, msg, padding.PKCS1v15(), hashes.SHA256())
    return (time.perf_counter() - t0) / n * 1e6


def fmt_rate(r: float) -> str:
    return f"{r:,.0f}"


# -- report ------------------------------------------------------------------------------------


def fmt_ns(ns: float) -> str:
    if ns >= 1e6:
        return f"{ns / 1e6:,.2f} ms"
    if ns >= 1e4:
        return f"{ns / 1e3:,.1f} µs"
    return f"{ns:,.0f} ns"


def versions() -> list[tuple[str, str]]:
    out = [("Python", platform.python_version()), ("tokenkeeper", tokenkeeper.__version__)]
    for dist in ["httpx-auth", "authlib", "auth0-python", "msal", "pyjwt", "cryptography", "httpx", "requests"]:
        try:
            out.append((dist, metadata.version(dist)))
        except metadata.PackageNotFoundError:
            out.append((dist, "not installed"))
    return out


def machine() -> str:
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, {cpu}"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", help="write the markdown report here too")
    ap.add_argument("--quick", action="store_true", help="shorter runs (a smoke test)")
    ap.add_argument("--only", choices=["all", "fetch", "verify"], default="all", help="run one part")
    ap.add_argument("--verify-seconds", type=float, help="length of one verification timing (default 2, quick 0.2)")
    args = ap.parse_args()
    seconds = 3.0 if args.quick else 12.0
    verify_seconds = args.verify_seconds or (0.2 if args.quick else 2.0)
    fetch, verify = args.only in ("all", "fetch"), args.only in ("all", "verify")

    lines: list[str] = []

    def say(s: str = "") -> None:
        print(s, flush=True)
        lines.append(s)

    with LocalIssuer() as issuer:
        results: dict[str, dict[str, Any]] = {}
        vres: dict[str, Any] = {}
        if verify:
            vres = verify_bench(issuer, verify_seconds, rounds=1 if args.quick else 3)
        baseline = cached_ns(Baseline(issuer, issuer.audience)) if fetch else 0.0
        for cls in PEERS if fetch else []:
            name = cls.name
            print(f"… {name}", file=sys.stderr, flush=True)
            main_peer = cls(issuer, issuer.audience)
            r: dict[str, Any] = {}
            if main_peer.has_cache:
                r["cached"] = cached_ns(main_peer)
            r["cold"] = cold_ms(main_peer, samples=20 if args.quick else 50)
            if cls in ROWS:
                # a fresh object per scenario, as a fresh process would have
                r["threads"] = threads_cold(cls(issuer, issuer.audience), issuer)
                short = cls(issuer, SHORT)
                r["short"] = short_token_run(short, issuer, seconds=seconds)
                short.close()
            main_peer.close()
            results[name] = r
        authlib_note = authlib_own_renewal(issuer) if fetch else ""
        msal_note = msal_probe(issuer) if fetch else ""

    command = os.environ.get("BENCH_COMMAND") or " ".join(["python", "python/bench/bench.py"] + sys.argv[1:])
    say(f"`{command}` on {machine()}, {time.strftime('%Y-%m-%d')}; one process, one local issuer "
        "on 127.0.0.1 (in-process, RS256 tokens). Figures move by ±30 % between runs on this "
        "shared machine; the request counts do not.")
    if fetch:
        report_fetch(say, results, seconds, baseline, authlib_note, msal_note)
    if verify:
        report_verify(say, vres, verify_seconds, rounds=1 if args.quick else 3)
    say()
    say("Versions: " + ", ".join(f"{k} {v}" for k, v in versions()) + ".")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
    return 0


def report_fetch(
    say: Callable[..., None],
    results: dict[str, dict[str, Any]],
    seconds: float,
    baseline: float,
    authlib_note: str,
    msal_note: str,
) -> None:
    say()
    say(f"| library | cached: `Bearer …` per call (median) | cold fetch median / p90 | 32 threads, cold cache: requests | 5 s token, every 100 ms for {seconds:g} s: requests / expired tokens returned |")
    say("|---|---:|---:|---:|---:|")
    for cls in ROWS:
        r = results[cls.name]
        cached = fmt_ns(r["cached"]) if "cached" in r else f"no cache: a request per call ({r['cold'][0]:.2f} ms)"
        t_req, t_err = r["threads"]
        s = r["short"]
        short = f"{s['requests']} / {s['expired']}"
        if s["errors"]:
            short += f" ({s['errors']} errors)"
        threads = f"{t_req}" + (f" ({t_err} errors)" if t_err else "")
        say(f"| {cls.name} | {cached} | {r['cold'][0]:.2f} ms / {r['cold'][1]:.2f} ms | {threads} | {short} |")
    flow = results[TokenkeeperHttpxFlow.name]
    say()
    say(f"- The cached column includes the harness's own Python method call around each library "
        f"call ({fmt_ns(baseline)}, measured with a no-op peer). Cold fetches include the issuer "
        "signing an RS256 token in the same process.")
    say(f"- tokenkeeper through its httpx adapter, timed like httpx-auth (one `auth_flow` step on a "
        f"prepared request): {fmt_ns(flow['cached'])} per call.")
    say(f"- authlib's own renewal (`ensure_active_token()` on an expired token): {authlib_note}. "
        "The authlib row therefore re-fetches in user code, with the audience, when authlib "
        "considers the token expired (its default 60 s leeway: always, for a 5 s token).")
    say(f"- msal: cannot talk to this issuer. {msal_note}. msal only accepts an https authority "
        "(Entra ID, B2C, CIAM, or an OIDC authority validated through "
        "`/.well-known/openid-configuration`), and asks for `scopes` (`{resource}/.default`) rather "
        "than an Auth0 `audience`; the local issuer is plain http on loopback and serves no discovery document.")
    say("- httpx-auth treats a token as expired 30 s early (`early_expiry`), so a 5 s token is "
        "expired as soon as it arrives: every call fetches. Its cache lock serialises fetches but "
        "does not re-check the cache after waiting, so every waiting thread fetches too.")


def report_verify(say: Callable[..., None], vres: dict[str, Any], seconds: float, rounds: int) -> None:
    say()
    say("Verification of one RS256 access token against the issuer's JWKS (fetched once, cached), "
        f"checking signature, `exp`, `iss` and `aud`; tokens/s, median of {rounds} run(s) of "
        f"{seconds:g} s; the 8 threads share one verifier object.")
    say()
    say("| verifier | 1 thread: tokens/s | 8 threads: tokens/s |")
    say("|---|---:|---:|")
    for name, (one, eight) in vres["rows"].items():
        say(f"| {name} | {fmt_rate(one)} | {fmt_rate(eight)} |")
    say()
    say(f"- Before timing, each verifier accepted the good token (same `iss`, `aud`, `sub`, `exp`) "
        f"and refused each of: {', '.join(vres['checked'])}. JWKS requests while timing: "
        f"{vres['jwks_requests_while_timing']} ({vres['jwks_requests_in_all']} in all: one per verifier).")
    say("- tokenkeeper releases the GIL for the whole verification (parsing, signature with ring, "
        "claims, all in Rust), so threads verify in parallel on the machine's cores; the peers "
        "parse the token and check the claims in Python, under the GIL.")
    say(f"- For scale: the RS256 signature check alone through cryptography (OpenSSL) takes "
        f"{vres['raw_rsa_us']:.1f} µs here. PyJWT 2.15 spends most of its time validating "
        "base64url segments character by character in Python, and parses the token twice "
        "(`PyJWKClient` reads the header for the `kid`, then `jwt.decode`).")


if __name__ == "__main__":
    sys.exit(main())
