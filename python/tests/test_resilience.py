"""Static stability (issue 12, item 10), the scenario of core/tests/static_stability.rs: with
the issuer down for the last part of a token's life, callers keep the valid token with no error
and no wait; after its usable end they get a typed error at once, not a pile-up of timeouts;
and the client recovers by itself when the issuer returns."""

from __future__ import annotations

import datetime
import time

import pytest

from tokenkeeper import OAuthError, RequestTimeoutError, TokenkeeperError
from tokenkeeper.testing import LocalIssuer

TIMEOUT = 0.4


@pytest.mark.parametrize("outage", ["black_holed", "unavailable"])
def test_an_outage_is_survived_until_the_usable_end(issuer: LocalIssuer, outage: str) -> None:
    # 5 s tokens: usable 4 s (margin L/5), refreshed from 2 s on (no jitter).
    c = issuer.client(
        refresh_ahead=0.5,
        jitter=0.0,
        request_timeout=TIMEOUT,
        connect_timeout=TIMEOUT,
        max_attempts=2,
        initial_backoff=0.02,
        max_backoff=0.05,
    )
    audience = issuer.short_audience
    token = c.get_token(audience)
    # Its usable end: expiry minus the 1 s margin. The expiry counts from the start of the second
    # the request was sent in (whole-second `exp`), so it is 4 to 5 s from now.
    left = (token.expires_at - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
    usable_end = time.monotonic() + left - 1.0
    expected: type[TokenkeeperError]
    if outage == "black_holed":
        issuer.inject(delay_ms=3_600_000, times=1_000_000)  # accepted, never answered
        expected = RequestTimeoutError
    else:
        issuer.inject(status=503, body='{"error":"temporarily_unavailable"}', times=1_000_000)
        expected = OAuthError

    # Until the usable end: the valid token, at once, every time.
    served, slowest = 0, 0.0
    while time.monotonic() + 0.2 < usable_end:
        t = time.monotonic()
        got = c.get_token(audience)
        slowest = max(slowest, time.monotonic() - t)
        assert got.access_token == token.access_token
        served += 1
        time.sleep(0.01)
    assert served > 100, served
    assert slowest < TIMEOUT / 2, f"a caller waited {slowest:.3f} s for the failing refresh"
    assert c.stats()["refreshes"] >= 1

    # After the usable end: typed errors, at once (at most one caller waits for a probe).
    time.sleep(max(0.0, usable_end + 0.05 - time.monotonic()))
    with pytest.raises(expected):
        c.get_token(audience)
    waited, t0 = 0, time.monotonic()
    for _ in range(100):
        t = time.monotonic()
        with pytest.raises(expected):
            c.get_token(audience)
        waited += time.monotonic() - t >= 0.05
    assert waited <= 1, f"{waited} of 100 calls waited"
    assert time.monotonic() - t0 < 3 * TIMEOUT

    # The issuer returns: the client recovers by itself.
    issuer.reset()
    deadline = time.monotonic() + 10
    while True:
        try:
            fresh = c.get_token(audience)
            break
        except expected:
            assert time.monotonic() < deadline, "no recovery"
            time.sleep(0.05)
    assert fresh.access_token != token.access_token
    assert c.get_token(audience).access_token == fresh.access_token
