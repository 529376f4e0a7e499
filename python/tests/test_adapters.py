"""requests and httpx adapters, against a loopback API that verifies the bearer token."""

from __future__ import annotations

import asyncio

import httpx
import requests
import requests.auth

from tokenkeeper import TokenClient
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
