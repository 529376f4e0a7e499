"""A :mod:`requests` auth that takes its bearer token from a :class:`tokenkeeper.TokenClient`.

.. code-block:: python

    session = requests.Session()
    session.auth = client.requests_auth(audience="https://api.example.com")
    session.get("https://api.example.com/things")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import requests
import requests.auth

from ._auth import _Auth

if TYPE_CHECKING:
    from .._native import Token

__all__ = ["RequestsAuth"]


class RequestsAuth(_Auth, requests.auth.AuthBase):
    """Sets ``Authorization: Bearer <token>``; a 401 is retried once as the core's
    :meth:`~tokenkeeper.PreparedRequest.after_rejection` says, when the body can be sent
    again."""

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        token = self.prepared.get_token()
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
        token = self.prepared.after_rejection(sent)
        if token is None:
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


def _replayable(body: object) -> bool:
    return body is None or isinstance(body, (bytes, str))
