"""A :mod:`requests` auth that takes its bearer token from a :class:`tokenkeeper.TokenClient`.

.. code-block:: python

    session = requests.Session()
    session.auth = client.requests_auth(audience="https://api.example.com")
    session.get("https://api.example.com/things")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence, cast

import requests
import requests.auth

if TYPE_CHECKING:
    from .._native import Token, TokenClient

__all__ = ["RequestsAuth"]


class RequestsAuth(requests.auth.AuthBase):
    """Sets ``Authorization: Bearer <token>``. On a 401 answer, the token sent is dropped from
    the cache if it is still the cached one
    (:meth:`~tokenkeeper.TokenClient.invalidate_if_current`: a token another caller renewed
    meanwhile is kept), and the request is sent once more if the token now served differs from
    the one refused and the body can be sent again."""

    def __init__(
        self,
        client: TokenClient,
        audience: str | None = None,
        scope: str | Sequence[str] | None = None,
        organization: str | None = None,
        *,
        retry_on_401: bool = True,
    ) -> None:
        self.client = client
        self.audience = audience
        self.scope = scope
        self.organization = organization
        self.retry_on_401 = retry_on_401

    def _token(self) -> Token:
        return self.client.get_token(self.audience, self.scope, self.organization)

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        token = self._token()
        r.headers["Authorization"] = token.authorization_header
        if self.retry_on_401 and _replayable(r.body):
            sent = token

            def on_response(resp: requests.Response, **kwargs: Any) -> requests.Response:
                return self._retry_401(resp, sent, **kwargs)

            r.register_hook("response", on_response)
        return r

    def _retry_401(self, resp: requests.Response, sent: Token, **kwargs: Any) -> requests.Response:
        if resp.status_code != 401 or getattr(resp.request, "_tokenkeeper_retried", False):
            return resp
        # One atomic step in the core: drops `sent` only if it is still the cached token, never
        # a token another caller fetched meanwhile.
        self.client.invalidate_if_current(sent, self.audience, self.scope, self.organization)
        token = self._token()
        if token.access_token == sent.access_token:
            return resp
        resp.content  # noqa: B018 - read the body so the connection can be reused
        resp.close()
        prep = resp.request.copy()
        prep.headers["Authorization"] = token.authorization_header
        setattr(prep, "_tokenkeeper_retried", True)  # noqa: B010 - marks the one retry
        # `connection` is the adapter requests attaches to every response it builds.
        retried = cast(requests.Response, cast(Any, resp).connection.send(prep, **kwargs))
        retried.history.append(resp)
        retried.request = prep
        return retried

    def __repr__(self) -> str:
        return f"RequestsAuth(client={self.client!r}, audience={self.audience!r})"


def _replayable(body: object) -> bool:
    return body is None or isinstance(body, (bytes, str))
