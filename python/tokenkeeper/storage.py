"""Where a :class:`~tokenkeeper.CredentialsManager` keeps a signed-in user's credentials.

The application provides the store: any object with ``load()``, ``save(credentials)`` and
``clear()`` (the :class:`CredentialsStore` protocol; no base class needed). Keep
``credentials.to_json()`` in a keyring, a file readable only by the user, a database row…, and
give it back with ``UserCredentials.from_json(text)``; or keep the fields in any form and
rebuild them with ``UserCredentials(access_token, expires_at, refresh_token=…, …)``.

.. code-block:: python

    import keyring
    from tokenkeeper import UserCredentials

    class KeyringStore:
        def load(self) -> UserCredentials | None:
            text = keyring.get_password("my-app", "credentials")
            return None if text is None else UserCredentials.from_json(text)

        def save(self, credentials: UserCredentials) -> None:
            keyring.set_password("my-app", "credentials", credentials.to_json())

        def clear(self) -> None:
            keyring.delete_password("my-app", "credentials")

The manager calls them one at a time, from any thread, often one of tokenkeeper's own
threads while a renewal is in progress (holding the GIL only for the call): keep them short. A
method that calls back into its own manager gets a :class:`~tokenkeeper.errors.ConfigError` at
once. An exception a method raises reaches the manager's caller as the ``__cause__`` of a
:class:`~tokenkeeper.errors.CredentialsStoreError` (a ``TokenkeeperError`` as raised).
"""

from __future__ import annotations

import threading
from typing import Protocol, runtime_checkable

from ._native import UserCredentials

__all__ = ["CredentialsStore", "MemoryCredentialsStore"]


@runtime_checkable
class CredentialsStore(Protocol):
    """What a :class:`~tokenkeeper.CredentialsManager` needs from a store."""

    def load(self) -> UserCredentials | None:
        """The saved credentials, or ``None``."""
        ...

    def save(self, credentials: UserCredentials) -> None:
        """Replaces the saved credentials (atomically, if the medium allows)."""
        ...

    def clear(self) -> None:
        """Forgets them (sign-out)."""
        ...


class MemoryCredentialsStore:
    """A store in memory: for tests, or processes that sign in every time they start."""

    def __init__(self, credentials: UserCredentials | None = None) -> None:
        self._lock = threading.Lock()
        self._credentials = credentials

    def load(self) -> UserCredentials | None:
        with self._lock:
            return self._credentials

    def save(self, credentials: UserCredentials) -> None:
        with self._lock:
            self._credentials = credentials

    def clear(self) -> None:
        with self._lock:
            self._credentials = None

    def __repr__(self) -> str:
        with self._lock:
            state = "empty" if self._credentials is None else "holding credentials"
        return f"MemoryCredentialsStore({state})"
