"""HTTP client adapters: :mod:`tokenkeeper.adapters.requests` and :mod:`tokenkeeper.adapters.httpx`.

Get them from a client with ``client.requests_auth(audience=…)`` and ``client.httpx_auth(audience=…)``.
Each sets ``Authorization: Bearer <token>`` from the client's cache and, when the API answers
401, drops that token if it is still the cached one (``TokenClient.invalidate_if_current``: a
token another caller renewed meanwhile is kept) and retries once if the token now served differs.
"""
