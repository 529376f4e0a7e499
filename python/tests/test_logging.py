"""Core events reach the standard logging logger "tokenkeeper", and never carry a secret."""

from __future__ import annotations

import logging

import pytest

from tokenkeeper import OAuthError, TokenClient
from tokenkeeper.testing import Fault, LocalIssuer


def test_core_events_reach_the_tokenkeeper_logger(
    issuer: LocalIssuer, client: TokenClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="tokenkeeper")
    tok = client.get_token(issuer.audience)
    records = [r for r in caplog.records if r.name.startswith("tokenkeeper")]
    assert records, "no record from the core"
    assert all(r.name == "tokenkeeper" or r.name.startswith("tokenkeeper.") for r in records)
    minted = [r for r in records if "token minted" in r.getMessage()]
    assert minted and minted[0].levelno == logging.INFO
    assert issuer.audience in minted[0].getMessage()
    assert any(r.levelno == logging.DEBUG for r in records)
    for r in records:
        assert tok.access_token not in r.getMessage()
        assert issuer.client_secret not in r.getMessage()


def test_a_handler_on_the_tokenkeeper_logger_receives_them(issuer: LocalIssuer, client: TokenClient) -> None:
    got: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            got.append(record)

    logger = logging.getLogger("tokenkeeper")
    h = Keep(level=logging.DEBUG)
    old = logger.level
    logger.addHandler(h)
    logger.setLevel(logging.INFO)
    try:
        client.get_token(issuer.audience)
        assert any("token minted" in r.getMessage() for r in got)
        assert not any(r.levelno < logging.INFO for r in got)
        # a level changed later takes effect at once
        logger.setLevel(logging.ERROR)
        n = len(got)
        client.get_token(issuer.audience, scope="read:things")
        assert len(got) == n
    finally:
        logger.removeHandler(h)
        logger.setLevel(old)


def test_failures_and_retries_are_logged_without_secrets(issuer: LocalIssuer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="tokenkeeper")
    secret = issuer.client_secret
    issuer.inject(Fault.status(503, "server_error", "try again"))
    ok = issuer.client()
    tok = ok.get_token(issuer.audience)
    bad = TokenClient(issuer.domain, issuer.client_id, "not-the-secret-xyz")
    with pytest.raises(OAuthError):
        bad.get_token(issuer.audience)
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("tokenkeeper")]
    assert any("retrying" in m for m in messages)
    assert any("token request failed" in m for m in messages)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and r.name.startswith("tokenkeeper")]
    assert warnings
    for m in messages:
        for s in (secret, "not-the-secret-xyz", tok.access_token):
            assert s not in m


def test_records_below_the_level_are_not_delivered_and_a_lowered_level_applies_at_once(
    issuer: LocalIssuer, client: TokenClient
) -> None:
    got: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            got.append(record)

    logger = logging.getLogger("tokenkeeper")
    child = logging.getLogger("tokenkeeper.client_credentials")
    h = Keep(level=logging.NOTSET)
    old, old_child = logger.level, child.level
    logger.addHandler(h)
    try:
        # WARNING: the core's DEBUG and INFO records are dropped before reaching Python.
        logger.setLevel(logging.WARNING)
        client.get_token(issuer.audience, scope="read:things")
        assert not any(r.levelno < logging.WARNING for r in got), [r.getMessage() for r in got]
        # A warning still arrives.
        issuer.inject(Fault.status(503, "server_error", "try again"))
        issuer.client().get_token(issuer.audience, scope="write:things")
        assert any(r.levelno == logging.WARNING for r in got)
        # Lowered with setLevel: the very next records arrive, at their own levels.
        logger.setLevel(logging.DEBUG)
        n = len(got)
        client.get_token(issuer.audience, scope="read:things write:things")
        fresh = got[n:]
        assert any(r.levelno == logging.INFO and "token minted" in r.getMessage() for r in fresh)
        assert any(r.levelno == logging.DEBUG for r in fresh)
        # A child logger set lower than its parent gets its records too.
        logger.setLevel(logging.ERROR)
        child.setLevel(logging.DEBUG)
        n = len(got)
        issuer.client().get_token(issuer.audience)
        assert got[n:] and all(r.name.startswith("tokenkeeper.") for r in got[n:])
        child.setLevel(logging.NOTSET)
        n = len(got)
        issuer.add_api("https://quiet.example/")
        issuer.client().get_token("https://quiet.example/")  # a fetch: records, all below ERROR
        assert not got[n:], [r.getMessage() for r in got[n:]]
    finally:
        logger.removeHandler(h)
        logger.setLevel(old)
        child.setLevel(old_child)
