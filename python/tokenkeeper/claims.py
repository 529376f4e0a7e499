"""The claims of a verified token, or of a ``/userinfo`` answer."""

from __future__ import annotations

import datetime
import math
from typing import Any

from ._native import _LATEST_TIME

__all__ = ["Claims"]


# The accessors mean what the core's `Claims` accessors mean (core/src/verify/claims.rs), on
# every surface; python/tests/test_verify.py checks them value by value.

_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1


def _text(v: Any) -> str | None:
    return v if isinstance(v, str) else None


def _number(v: Any) -> int | float | None:
    # A JSON number; bool is an int in Python but never a number in JSON.
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _seconds(v: Any) -> int | None:
    # A NumericDate: a number, zero or more, truncated to whole seconds; a far date is the
    # core's latest time (9999-12-31T23:59:59Z), as on every surface.
    n = _number(v)
    return min(int(n), _LATEST_TIME) if n is not None and n >= 0 else None


class Claims(dict[str, Any]):
    """Every claim of a token, as a ``dict`` (``claims["https://example.com/roles"]``), with
    typed access to the common ones (``claims.sub``, ``claims.aud``…). The values are the ones
    of the token's JSON: ``str``, ``int``, ``float``, ``bool``, ``None``, ``list``, ``dict``.

    Filled by the verifier after every check passed; nothing here checks anything.
    """

    __slots__ = ()

    def get_str(self, name: str) -> str | None:
        """A string claim; ``None`` when absent or not a string."""
        return _text(self.get(name))

    def get_int(self, name: str) -> int | None:
        """A numeric claim as an integer, truncated toward zero (``1.5`` is 1, ``-1.5`` is -1);
        ``None`` when absent, not a number, or outside the 64-bit signed range."""
        n = _number(self.get(name))
        if n is None or (isinstance(n, float) and not math.isfinite(n)):
            return None
        i = int(n)
        return i if _I64_MIN <= i <= _I64_MAX else None

    def get_float(self, name: str) -> float | None:
        """A numeric claim as a float; ``None`` when absent or not a number."""
        n = _number(self.get(name))
        return None if n is None else float(n)

    def get_bool(self, name: str) -> bool | None:
        """A boolean claim; ``None`` when absent or not a boolean."""
        v = self.get(name)
        return v if isinstance(v, bool) else None

    @property
    def iss(self) -> str | None:
        """The issuer."""
        return _text(self.get("iss"))

    @property
    def sub(self) -> str | None:
        """The subject: ``auth0|…`` for a user, ``{client_id}@clients`` for an application."""
        return _text(self.get("sub"))

    @property
    def aud(self) -> list[str]:
        """The audiences as a list, whether the token has a string or an array."""
        v = self.get("aud")
        if isinstance(v, str):
            return [v]
        if isinstance(v, list):
            return [a for a in v if isinstance(a, str)]
        return []

    def has_audience(self, audience: str) -> bool:
        """Whether ``aud`` (a string or an array) contains ``audience``."""
        return audience in self.aud

    @property
    def azp(self) -> str | None:
        """The authorized party: the client the token was issued to."""
        return _text(self.get("azp"))

    @property
    def scope(self) -> str | None:
        """The granted scopes, space-separated."""
        return _text(self.get("scope"))

    @property
    def scopes(self) -> list[str]:
        """The granted scopes, as a list."""
        return (self.scope or "").split()

    def has_scope(self, scope: str) -> bool:
        """Whether every scope of ``scope`` (space-separated: one scope or several) was
        granted."""
        granted = self.scopes
        return all(s in granted for s in scope.split())

    @property
    def org_id(self) -> str | None:
        return _text(self.get("org_id"))

    @property
    def org_name(self) -> str | None:
        return _text(self.get("org_name"))

    @property
    def nonce(self) -> str | None:
        return _text(self.get("nonce"))

    @property
    def exp(self) -> int | None:
        """Expiry, in seconds since the epoch."""
        return _seconds(self.get("exp"))

    @property
    def iat(self) -> int | None:
        """Issued at, in seconds since the epoch."""
        return _seconds(self.get("iat"))

    @property
    def nbf(self) -> int | None:
        return _seconds(self.get("nbf"))

    @property
    def auth_time(self) -> int | None:
        """When the user authenticated (ID tokens), in seconds since the epoch."""
        return _seconds(self.get("auth_time"))

    @property
    def expires_at(self) -> datetime.datetime | None:
        """``exp`` as a timezone-aware UTC ``datetime``."""
        exp = self.exp
        return None if exp is None else datetime.datetime.fromtimestamp(exp, datetime.timezone.utc)

    def __repr__(self) -> str:
        return f"Claims({dict.__repr__(self)})"
