"""A local, Auth0-compatible authorization server for your own tests.

:class:`LocalIssuer` runs the issuer that ships inside the tokenkeeper wheel (no Rust toolchain,
no subprocess) on ``127.0.0.1``, in this process. It serves ``POST /oauth/token`` (client
credentials: ``client_secret_post``, ``client_secret_basic``, ``private_key_jwt``) and
``GET /.well-known/jwks.json``, issues RS256 JWT access tokens shaped like Auth0's, answers
errors with Auth0's statuses and bodies, counts requests, and injects faults.

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

What the fixture holds:

- ``client_id`` / ``client_secret``: an app granted every API (post or basic auth).
- ``jwt_client_id`` with ``jwt_rsa_private_key`` (RS256, PS256) and ``jwt_ec_private_key``
  (ES256): a ``private_key_jwt`` app.
- ``ungranted_client_id`` / ``ungranted_client_secret``: an app with no client grant (403).
- ``audiences``: ``https://api.example.com`` (scopes ``read:things write:things
  delete:things``, 24 h tokens) and ``https://short.example.com`` (``read:things``, 5 s tokens);
  :meth:`LocalIssuer.add_api` adds more.
- ``organizations``: ``acme`` (``org_4dK8wZqX2mN7pL1s``).

The issuer runs on tokenkeeper's runtime threads; stop it with :meth:`LocalIssuer.stop` or by
leaving the ``with`` block.
"""

from __future__ import annotations

import json
from types import TracebackType
from typing import Any, Mapping

from ._native import Fault, Issuer, TokenClient

__all__ = ["LocalIssuer", "Fault"]


class LocalIssuer:
    """A running local issuer (started by the constructor).

    ``port=0`` picks a free port. Usable as a context manager; :meth:`stop` is idempotent.
    """

    def __init__(self, port: int = 0) -> None:
        self._issuer = Issuer.start(port)
        self._fixture: dict[str, Any] = json.loads(self._issuer.fixture_json)

    # -- lifecycle ---------------------------------------------------------------------------

    def stop(self) -> None:
        """Stops serving."""
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

    def client(self, **options: Any) -> TokenClient:
        """A :class:`~tokenkeeper.TokenClient` for the fixture's secret app; keywords as for
        the constructor."""
        return TokenClient(self.domain, self.client_id, self.client_secret, **options)

    # -- control -----------------------------------------------------------------------------

    def count(self, endpoint: str = "token") -> int:
        """Requests ``endpoint`` (``token``, ``jwks``) received, faulted ones included."""
        return self._issuer.count(endpoint)

    def counts(self) -> dict[str, int]:
        return self._issuer.counts()

    def inject(self, fault: Fault | Mapping[str, Any] | None = None, /, **fields: Any) -> None:
        """Queues a fault for the next requests: a :class:`Fault`, or its fields as a dict or
        keywords (``endpoint`` = ``"token"``, ``delay_ms``, ``status``, ``body``,
        ``headers`` = ``[[name, value], …]``, ``body_bytes``, ``drop_connection``, ``times``)."""
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
