"""The claims of a verified token, or of a ``/userinfo`` answer: the core's, read-only
(``tokenkeeper._native.Claims``), a :class:`collections.abc.Mapping` with typed accessors."""

from __future__ import annotations

from collections.abc import Mapping

from ._native import Claims

Mapping.register(Claims)

__all__ = ["Claims"]
