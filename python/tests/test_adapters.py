"""requests and httpx adapters, against a loopback API that verifies the bearer token."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import httpx
import pytest
import requests
import requests.auth

from tokenkeeper import Token, TokenClient
from tokenkeeper.adapters.httpx import HttpxAuth
from tokenkeeper.adapters.requests import RequestsAuth
from tokenkeeper.testing import LocalIssuer

from conftest import Api


def test_requests_auth(issuer: LocalIssuer, client: TokenClient, api: Api) -> None:
    auth = client.requests_auth(audience=issuer.audience)
    assert isinstance(auth, requests.auth.AuthBase)
    assert issuer.client_secret not in repr(auth)
    with requests.Session() as s:
        s.auth = auth
        for _ in range(5):
            r = s.get(api.url + "/things", timeout=10)
            assert r.status_code == 200, r.text
        assert r.json()["sub"] == f"{issuer.client_id}@clients"
        r = s.post(api.url + "/things", data=b"payload", timeout=10)
        assert r.status_code == 200
    assert issuer.count("token") == 1
    assert len(set(api.seen)) == 1


def test_requests_auth_renews_a_rejected_token_once(issuer: LocalIssuer, client: TokenClient, api: Api) -> None:
    auth = client.requests_auth(audience=issuer.audience)
    first = client.get_token(issuer.audience)
    api.revoked.add(first.access_token)
    r = requests.get(api.url + "/things", auth=auth, timeout=10)
    assert r.status_code == 200
    assert [h.status_code for h in r.history] == [401]
    assert issuer.count("token") == 2
    assert client.get_token(issuer.audience).access_token != first.access_token
    # a token the API keeps refusing: one retry, then the 401 is the caller's
    api.refuse_all = True
    before = issuer.count("token")
    r = requests.get(api.url + "/things", auth=auth, timeout=10)
    assert r.status_code == 401 and [h.status_code for h in r.history] == [401]
    assert issuer.count("token") == before + 1


def test_httpx_auth_sync(issuer: LocalIssuer, client: TokenClient, api: Api) -> None:
    auth = client.httpx_auth(audience=issuer.audience)
    assert isinstance(auth, httpx.Auth)
    with httpx.Client(auth=auth, timeout=10) as http:
        for _ in range(5):
            r = http.get(api.url + "/things")
            assert r.status_code == 200, r.text
        r = http.post(api.url + "/things", content=b"payload")
        assert r.status_code == 200
    assert issuer.count("token") == 1


def test_httpx_auth_async(issuer: LocalIssuer, client: TokenClient, api: Api) -> None:
    auth = client.httpx_auth(audience=issuer.audience)

    async def main() -> list[int]:
        async with httpx.AsyncClient(auth=auth, timeout=10) as http:
            rs = await asyncio.gather(*(http.get(api.url + "/things") for _ in range(20)))
            return [r.status_code for r in rs]

    assert asyncio.run(main()) == [200] * 20
    assert issuer.count("token") == 1


def test_httpx_auth_renews_a_rejected_token(issuer: LocalIssuer, client: TokenClient, api: Api) -> None:
    auth = client.httpx_auth(audience=issuer.audience)
    first = client.get_token(issuer.audience)
    api.revoked.add(first.access_token)
    r = httpx.get(api.url + "/things", auth=auth, timeout=10)
    assert r.status_code == 200
    assert [h.status_code for h in r.history] == [401]
    second = client.get_token(issuer.audience)
    api.revoked.add(second.access_token)

    async def main() -> httpx.Response:
        async with httpx.AsyncClient(auth=auth, timeout=10) as http:
            return await http.get(api.url + "/things")

    r = asyncio.run(main())
    assert r.status_code == 200 and [h.status_code for h in r.history] == [401]
    assert issuer.count("token") == 3


def test_adapters_without_a_token_fail_with_the_tokenkeeper_error(issuer: LocalIssuer, api: Api) -> None:
    bad = TokenClient(issuer.domain, issuer.client_id, "wrong")
    try:
        requests.get(api.url, auth=bad.requests_auth(issuer.audience), timeout=10)
    except Exception as e:  # noqa: BLE001
        assert type(e).__name__ == "OAuthError"
    else:
        raise AssertionError("expected an OAuthError")
    assert api.seen == []


class RacingClient:
    """A TokenClient seen by an adapter, with another caller that got the same 401 and renews
    the token at the worst moment: right before the adapter asks the core's 401 rule
    (`PreparedRequest.after_rejection`), which must then keep that caller's token."""

    def __init__(self, real: TokenClient, audience: str, sent: Token) -> None:
        self.real, self.audience, self.sent = real, audience, sent
        self.renewed: Token | None = None
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def prepare(self, *args: Any) -> Any:
        return _RacingPrepared(self, self.real.prepare(*args))

    def race(self, name: str) -> None:
        self.calls.append(name)
        if self.renewed is None:
            self.real.invalidate_if_current(self.sent, self.audience)
            self.renewed = self.real.get_token(self.audience)


class _RacingPrepared:
    def __init__(self, racing: RacingClient, real: Any) -> None:
        self.racing, self.real = racing, real

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def after_rejection(self, token: Token) -> Token | None:
        self.racing.race("after_rejection")
        return cast("Token | None", self.real.after_rejection(token))

    async def after_rejection_async(self, token: Token) -> Token | None:
        self.racing.race("after_rejection_async")
        return cast("Token | None", await self.real.after_rejection_async(token))


@pytest.mark.parametrize("flavour", ["requests", "httpx", "httpx-async"])
def test_a_401_never_drops_a_token_another_caller_renewed(
    issuer: LocalIssuer, client: TokenClient, api: Api, flavour: str
) -> None:
    first = client.get_token(issuer.audience)
    api.revoked.add(first.access_token)
    racing = RacingClient(client, issuer.audience, first)
    if flavour == "requests":
        r: Any = requests.get(api.url + "/things", auth=RequestsAuth(cast(Any, racing), issuer.audience), timeout=10)
    elif flavour == "httpx":
        r = httpx.get(api.url + "/things", auth=HttpxAuth(cast(Any, racing), issuer.audience), timeout=10)
    else:

        async def main() -> httpx.Response:
            async with httpx.AsyncClient(auth=HttpxAuth(cast(Any, racing), issuer.audience), timeout=10) as http:
                return await http.get(api.url + "/things")

        r = asyncio.run(main())
    assert r.status_code == 200 and [h.status_code for h in r.history] == [401]
    assert racing.calls == ["after_rejection_async" if flavour == "httpx-async" else "after_rejection"]
    renewed = racing.renewed
    assert renewed is not None and renewed.access_token != first.access_token
    # The retry carried the other caller's token, which is still the cached one: 2 tokens in all.
    assert api.seen[-1] == renewed.access_token
    assert client.cached(issuer.audience) is renewed
    assert issuer.count("token") == 2
