"""A local, Auth0-compatible authorization server for your own tests: ``tokenkeeper.testing``.

Import it as :mod:`tokenkeeper.testing`, which checks first that this package has tokenkeeper's
version.

:class:`LocalIssuer` runs the issuer of the ``tokenkeeper-testing`` wheel (``pip install
'tokenkeeper[testing]'``; no Rust toolchain, no subprocess) on ``127.0.0.1``, in this process.
It is a wheel of its own so that the ``tokenkeeper`` wheel carries no server; its version must
be tokenkeeper's (importing this module raises :class:`ImportError` otherwise, or when it is
not installed). It serves ``POST /oauth/token`` (client
credentials: ``client_secret_post``, ``client_secret_basic``, ``private_key_jwt``; the
``authorization_code`` grant with PKCE; the ``refresh_token`` grant with rotation),
``GET /.well-known/jwks.json``, ``GET /authorize`` in test mode (no login page: it redirects
straight back to the ``redirect_uri`` with a code) and ``GET /userinfo``; it issues RS256 JWT
access tokens and ID tokens shaped like Auth0's, answers errors with Auth0's statuses and
bodies, counts requests, and injects faults.

.. code-block:: python

    import pytest
    from tokenkeeper.testing import LocalIssuer, Fault

    @pytest.fixture
    def issuer():
        with LocalIssuer() as issuer:
            yield issuer

    def test_my_worker_calls_the_api(issuer):
        client = issuer.client()          # a TokenClient for the fixture's M2M app
        worker = MyWorker(auth=client.requests_auth(audience=issuer.audience))
        worker.run()
        assert issuer.count("token") == 1  # one token, however many API calls

    def test_my_worker_survives_rate_limiting(issuer):
        issuer.inject(Fault.rate_limited(1))   # the next token request gets a 429
        ...

    def test_my_api_accepts_a_token(issuer):
        api = MyApi(verifier=issuer.verifier())           # a TokenVerifier for issuer.audience
        token = issuer.client().get_token(issuer.audience)
        assert api.handle(token.authorization_header).status == 200
        expired = issuer.sign({"iss": issuer.issuer, "aud": issuer.audience, "exp": 1})
        assert api.handle(f"Bearer {expired}").status == 401

    def test_my_app_signs_a_user_in(issuer):
        client = issuer.sign_in_client(audience=issuer.audience)   # the public (PKCE) app
        tx = client.authorize()
        callback = issuer.authorize(tx.url)      # GET /authorize: the Location it redirects to
        credentials = client.handle_callback(tx, callback)
        assert credentials.id_token_claims()["sub"] == issuer.user["sub"]

What the fixture holds:

- ``client_id`` / ``client_secret``: an app granted every API (post or basic auth).
- ``jwt_client_id`` with ``jwt_rsa_private_key`` (RS256, PS256) and ``jwt_ec_private_key``
  (ES256): a ``private_key_jwt`` app.
- ``ungranted_client_id`` / ``ungranted_client_secret``: an app with no client grant (403).
- ``audiences``: ``https://api.example.com`` (scopes ``read:things write:things
  delete:things``, 24 h tokens) and ``https://short.example.com`` (``read:things``, 5 s tokens);
  :meth:`LocalIssuer.add_api` adds more.
- ``organizations``: ``acme`` (``org_4dK8wZqX2mN7pL1s``).
- User sign-in: ``public_client_id`` (a SPA/native app: PKCE, no secret, refresh tokens
  rotated), ``web_client_id`` / ``web_client_secret`` (a regular web app: refresh tokens not
  rotated), ``redirect_uri`` (``{url}/callback``, allowed for both, served as a 200 page),
  ``native_redirect_uri`` (a custom scheme), ``user`` (who ``/authorize`` signs in, member of
  ``acme``) and ``other_user`` (``login_hint=bob@example.com``, no organization).

Helpers: :meth:`LocalIssuer.sign` (a token with any claims and header, signed by the issuer's
key: expired, wrong audience, unknown ``kid``…), :meth:`LocalIssuer.authorize` (what a browser
does with an ``/authorize`` URL), :meth:`LocalIssuer.sign_in`,
:meth:`LocalIssuer.revoke_refresh_tokens`, key rotation (:meth:`LocalIssuer.rotate_signing_key`,
:meth:`LocalIssuer.add_signing_key`, :meth:`LocalIssuer.retire_signing_key`), and ready
clients (:meth:`LocalIssuer.client`, :meth:`LocalIssuer.verifier`,
:meth:`LocalIssuer.sign_in_client`).

The issuer runs on threads of its own; stop it with :meth:`LocalIssuer.stop` or by
leaving the ``with`` block.
"""

from __future__ import annotations

import http.client
import json
import urllib.parse
from types import TracebackType
from typing import Any, Mapping

from tokenkeeper import SignInClient, TokenClient, TokenVerifier, UserCredentials
from tokenkeeper.errors import NetworkError

from ._issuer import Fault, Issuer

__all__ = ["LocalIssuer", "Fault"]


class LocalIssuer:
    """A running local issuer (started by the constructor).

    ``port=0`` picks a free port. ``tls=True`` serves HTTPS at ``https://localhost:PORT`` with
    a certificate from a CA made at start: trust it with ``ca_file=issuer.ca_file``. Usable as
    a context manager; :meth:`stop` is idempotent.
    """

    def __init__(self, port: int = 0, tls: bool = False) -> None:
        try:
            self._issuer = Issuer.start(port, tls)
        except OSError as e:  # the port is taken, or no socket: as the client reports it
            raise NetworkError(f"network error: {e}") from None
        self._fixture: dict[str, Any] = json.loads(self._issuer.fixture_json)

    # -- lifecycle ---------------------------------------------------------------------------

    def stop(self) -> None:
        """Stops serving; returns once the port refuses connections."""
        self._issuer.stop()

    close = stop

    @property
    def running(self) -> bool:
        return self._issuer.running

    def __enter__(self) -> LocalIssuer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- the fixture -------------------------------------------------------------------------

    @property
    def domain(self) -> str:
        """``http://127.0.0.1:PORT``: pass it as a client's ``domain``."""
        return str(self._fixture["url"])

    @property
    def url(self) -> str:
        return str(self._fixture["url"])

    @property
    def ca_file(self) -> str | None:
        """With ``tls=True``: a PEM file of the test CA (for ``ca_file=``), removed on stop."""
        v = self._fixture.get("ca_file")
        return None if v is None else str(v)

    @property
    def issuer(self) -> str:
        """``http://127.0.0.1:PORT/``: the ``iss`` of every token."""
        return str(self._fixture["issuer"])

    @property
    def client_id(self) -> str:
        return str(self._fixture["client_id"])

    @property
    def client_secret(self) -> str:
        return str(self._fixture["client_secret"])

    @property
    def jwt_client_id(self) -> str:
        return str(self._fixture["jwt_client_id"])

    @property
    def jwt_rsa_private_key(self) -> str:
        return str(self._fixture["jwt_rsa_private_key"])

    @property
    def jwt_ec_private_key(self) -> str:
        return str(self._fixture["jwt_ec_private_key"])

    @property
    def ungranted_client_id(self) -> str:
        return str(self._fixture["ungranted_client_id"])

    @property
    def ungranted_client_secret(self) -> str:
        return str(self._fixture["ungranted_client_secret"])

    @property
    def apis(self) -> list[dict[str, Any]]:
        """The APIs at start: ``{"audience", "scopes", "lifetime"}`` each."""
        return [dict(a) for a in self._fixture["apis"]]

    @property
    def audiences(self) -> list[str]:
        return [str(a["audience"]) for a in self._fixture["apis"]]

    @property
    def audience(self) -> str:
        """The main API (24 h tokens)."""
        return self.audiences[0]

    @property
    def short_audience(self) -> str:
        """The API whose tokens live 5 seconds."""
        return self.audiences[1]

    @property
    def organizations(self) -> list[dict[str, str]]:
        """``{"id", "name"}`` each."""
        return [dict(o) for o in self._fixture["organizations"]]

    @property
    def public_client_id(self) -> str:
        """The public (SPA/native) sign-in app: PKCE, no secret, refresh tokens rotated."""
        return str(self._fixture["public_client_id"])

    @property
    def web_client_id(self) -> str:
        """The confidential (regular web) sign-in app: refresh tokens not rotated."""
        return str(self._fixture["web_client_id"])

    @property
    def web_client_secret(self) -> str:
        return str(self._fixture["web_client_secret"])

    @property
    def redirect_uri(self) -> str:
        """``{url}/callback``: an allowed callback of both sign-in apps (a 200 page)."""
        return str(self._fixture["redirect_uri"])

    @property
    def native_redirect_uri(self) -> str:
        """A native app's callback (custom scheme), also allowed."""
        return str(self._fixture["native_redirect_uri"])

    @property
    def exchange_subject_token_type(self) -> str:
        """The Custom Token Exchange type of the fixture's profile."""
        return str(self._fixture["exchange_subject_token_type"])

    @property
    def exchange_subject_token(self) -> str:
        """A subject token that profile accepts (it stands for :attr:`user`)."""
        return str(self._fixture["exchange_subject_token"])

    @property
    def vault_connections(self) -> list[str]:
        """Token Vault connections the issuer serves."""
        return [str(c) for c in self._fixture["vault_connections"]]

    @property
    def refresh_token_policies(self) -> list[dict[str, Any]]:
        """The sign-in apps' Multi-Resource Refresh Token policies: ``{"audience", "scope"}``
        each (another audience gets a token for the sign-in's own, as Auth0 answers)."""
        return [dict(p) for p in self._fixture["refresh_token_policies"]]

    @property
    def user(self) -> dict[str, Any]:
        """The user ``/authorize`` signs in: ``sub``, ``email``, ``email_verified``, ``name``,
        ``nickname``, ``organizations`` (ids; a member of ``acme``)."""
        return dict(self._fixture["user"])

    @property
    def other_user(self) -> dict[str, Any]:
        """A second user (``extra={"login_hint": "bob@example.com"}``), in no organization."""
        return dict(self._fixture["other_user"])

    @property
    def userinfo_audience(self) -> str:
        """``{issuer}userinfo``: the second ``aud`` of an access token asked with ``openid``."""
        return self.issuer + "userinfo"

    def client(self, **options: Any) -> TokenClient:
        """A :class:`~tokenkeeper.TokenClient` for the fixture's secret app; keywords as for
        the constructor."""
        return TokenClient(self.domain, self.client_id, self.client_secret, **options)

    def verifier(self, audience: str | None = None, **options: Any) -> TokenVerifier:
        """A :class:`~tokenkeeper.TokenVerifier` of this issuer's tokens for ``audience``
        (default: the main API); keywords as for the constructor."""
        return TokenVerifier(self.domain, audience or self.audience, **options)

    def sign_in_client(self, *, confidential: bool = False, **options: Any) -> SignInClient:
        """A :class:`~tokenkeeper.SignInClient` for the public app (or, ``confidential=True``,
        the web app with its secret), redirecting to :attr:`redirect_uri`; keywords as for the
        constructor."""
        if confidential:
            options.setdefault("client_secret", self.web_client_secret)
            return SignInClient(self.domain, self.web_client_id, self.redirect_uri, **options)
        return SignInClient(self.domain, self.public_client_id, self.redirect_uri, **options)

    # -- sign-in and tokens ------------------------------------------------------------------

    def authorize(self, url: str) -> str:
        """What a browser does with an ``/authorize`` URL: a GET that does not follow the
        redirect. Returns the ``Location`` (the redirect URI with ``code`` and ``state``, or
        with ``error``). Only URLs of this issuer are fetched."""
        parts = urllib.parse.urlsplit(url)
        mine = urllib.parse.urlsplit(self.url)
        if (parts.scheme, parts.hostname, parts.port) != (mine.scheme, mine.hostname, mine.port):
            raise ValueError(f"not a URL of this issuer ({self.url}): {url!r}")
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
        try:
            conn.request("GET", parts.path + ("?" + parts.query if parts.query else ""))
            reply = conn.getresponse()
            body = reply.read()
            location = reply.getheader("Location")
        finally:
            conn.close()
        if reply.status not in (301, 302, 303, 307, 308) or not location:
            text = body[:200].decode("utf-8", "replace")
            raise RuntimeError(f"/authorize answered {reply.status} without a redirect: {text}")
        return location

    def sign_in(self, client: SignInClient | None = None, **authorize: Any) -> UserCredentials:
        """A whole login: ``client.authorize(**authorize)``, :meth:`authorize`, then
        ``client.handle_callback``. ``client`` defaults to :meth:`sign_in_client`."""
        client = client or self.sign_in_client()
        tx = client.authorize(**authorize)
        return client.handle_callback(tx, self.authorize(tx.url))

    def sign(self, claims: Mapping[str, Any], header: Mapping[str, Any] | None = None) -> str:
        """A JWT of ``claims`` signed by the issuer's active key, with ``header`` members
        merged over ``{"alg", "typ": "JWT", "kid"}`` (``{"kid": "nope"}`` for an unknown key).
        Nothing is added: give ``iss``, ``aud``, ``exp``… as the test needs them."""
        return self._issuer.sign(json.dumps(dict(claims)), None if header is None else json.dumps(dict(header)))

    def sign_raw(self, header_json: str, payload_json: str) -> str:
        """A JWT over exactly this header and payload text (duplicate members, odd values…),
        signed by the active key with its algorithm."""
        return self._issuer.sign_raw(header_json, payload_json)

    def revoke_refresh_tokens(self) -> int:
        """Revokes every refresh token issued so far (the next refresh is ``invalid_grant``);
        returns how many were live."""
        return self._issuer.revoke_refresh_tokens()

    @property
    def active_kid(self) -> str:
        """The ``kid`` of the key that signs tokens now."""
        return self._issuer.active_kid

    @property
    def published_kids(self) -> list[str]:
        """The ``kid`` of each key in the JWKS."""
        return self._issuer.published_kids

    def add_signing_key(self, alg: str = "RS256", activate: bool = True) -> str:
        """Publishes a new key (``RS256``, ``PS256``, ``ES256``), signing from now on when
        ``activate``; returns its ``kid``."""
        return self._issuer.add_signing_key(alg, activate)

    def retire_signing_key(self, kid: str) -> None:
        """Removes a key from the JWKS (not the active one)."""
        self._issuer.retire_signing_key(kid)

    def rotate_signing_key(self) -> str:
        """Key rotation as a tenant does it: a new RS256 key signs from now on and the old one
        leaves the JWKS. Returns the new ``kid``."""
        return self._issuer.rotate_signing_key()

    # -- control -----------------------------------------------------------------------------

    def count(self, endpoint: str = "token") -> int:
        """Requests ``endpoint`` received, faulted ones included: ``token`` (every request to
        ``/oauth/token``), ``jwks``, ``authorize``, ``userinfo``, ``grant:authorization_code``,
        ``grant:refresh_token``, ``refresh_reuse`` (a rotated-out refresh token sent again),
        ``code_reuse``, ``tokens_issued``, ``user_tokens_issued``."""
        return self._issuer.count(endpoint)

    def counts(self) -> dict[str, int]:
        return self._issuer.counts()

    def inject(self, fault: Fault | Mapping[str, Any] | None = None, /, **fields: Any) -> None:
        """Queues a fault for the next requests: a :class:`Fault`, or its fields as a dict or
        keywords (``endpoint`` = ``"token"``, ``delay_ms``, ``status``, ``body``,
        ``headers`` = ``[[name, value], …]``, ``body_bytes``, ``drop_connection``,
        ``after_handling``, ``times``). ``after_handling``: the request is handled first (a
        client assertion's ``jti`` is spent, a refresh token rotates), then the fault's answer
        is sent instead, as when an answer is lost on the way back."""
        if fault is None:
            self._issuer.inject(dict(fields))
        elif fields:
            raise TypeError("give a fault or its fields, not both")
        elif isinstance(fault, Fault):
            self._issuer.inject(fault)
        else:
            self._issuer.inject(dict(fault))

    def add_api(self, audience: str, scopes: list[str] | tuple[str, ...] = (), lifetime: int = 86_400) -> None:
        """Registers (or replaces) an API; ``lifetime`` in seconds."""
        self._issuer.add_api(audience, list(scopes), lifetime)

    def reset(self) -> None:
        """Zeroes the counters and drops queued faults."""
        self._issuer.reset()

    def jwks(self) -> dict[str, Any]:
        """The JWKS document (to verify tokens)."""
        doc: dict[str, Any] = json.loads(self._issuer.jwks_json())
        return doc

    def __repr__(self) -> str:
        return f"LocalIssuer(url={self.url!r}, running={self.running})"
