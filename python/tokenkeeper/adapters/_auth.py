"""What the :mod:`requests` and :mod:`httpx` adapters share: the request, prepared once, and the
core's 401 rule (:meth:`~tokenkeeper.PreparedRequest.after_rejection`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from .._native import PreparedRequest, TokenClient


class _Auth:
    """Sets ``Authorization: Bearer <token>``. On a 401 answer, the core drops the token sent if
    it is still the cached one (a token another caller renewed meanwhile is kept), and the
    request is sent once more with the token now served, if it differs from the one refused
    (``retry_on_401=False``: never)."""

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
        self._prepared: PreparedRequest | None = None

    @property
    def prepared(self) -> PreparedRequest:
        """The request, prepared on first use (a bad request raises where a token is asked)."""
        if self._prepared is None:
            self._prepared = self.client.prepare(self.audience, self.scope, self.organization)
        return self._prepared

    def __repr__(self) -> str:
        return f"{type(self).__name__}(client={self.client!r}, audience={self.audience!r})"
