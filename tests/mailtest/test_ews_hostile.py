"""The EWS probe against an EWS server that misbehaves (issue 23): a drip, a flood, a hang, an impostor
certificate, a redirect to another host, an XML bomb, an answer that is not SOAP, a server that echoes the
Authorization header or sends control characters. Each ends within the profile's timeout, reads at most 256 KiB,
and says what happened in one sentence; no password or sign-in blob is shown."""

from __future__ import annotations

import json
import time

import pytest
from support.ews import SECRETS, ews_profile
from test_ews_test_enable import mailbox

from mailbox_tui.domain.options import TestStatus
from mailbox_tui.mailtest.plan import evaluate

F = TestStatus.FAILURE


def _incoming(sqlite_store, ews, **changes):
    profile = ews_profile(sqlite_store, ews, timeout_seconds=2, **changes)
    started = time.monotonic()
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile, act=2, outgoing=0).id)
    elapsed = time.monotonic() - started
    text = json.dumps(outcome.as_dict())
    assert not any(secret in text for secret in SECRETS) and "TlRMTVNT" not in text
    return outcome.checks["incoming"], elapsed


def test_drip_is_cut_at_the_profile_timeout(sqlite_store, ews):
    ews.server.schemes = ("Basic",)
    ews.server.set_mode("drip", interval=0.2)
    check, elapsed = _incoming(sqlite_store, ews)
    assert check.status == F and elapsed < 4
    assert check.message.startswith("Timed out after 2 s: 127.0.0.1:")
    assert "without finishing its answer" in check.message


def test_hang_is_cut_at_the_profile_timeout(sqlite_store, ews):
    ews.server.set_mode("hang")
    check, elapsed = _incoming(sqlite_store, ews)
    assert check.status == F and elapsed < 4
    assert "did not answer for the Inbox" in check.message


def test_flood_stops_at_256_kib(sqlite_store, ews):
    ews.server.set_mode("flood")
    check, _ = _incoming(sqlite_store, ews)
    assert check.status == F
    assert "sent more than 256 KiB while answering for the Inbox" in check.message


def test_impostor_certificate_gets_no_credentials(sqlite_store, ews):
    check, _ = _incoming(sqlite_store, ews, location=ews.impostor.ews_url)
    assert check.status == F and check.step == "TLS"
    assert check.message.startswith("Certificate not trusted")
    assert ews.impostor.requests == []


def test_redirect_to_another_host_is_not_followed(sqlite_store, ews):
    ews.server.set_mode("redirect")
    check, _ = _incoming(sqlite_store, ews)
    assert check.status == F
    assert "redirected the request for the Inbox to localhost:" in check.message
    assert "it was not followed, so no credentials went elsewhere" in check.message
    assert [r.host.split(":")[0] for r in ews.server.requests] == ["127.0.0.1"]


def test_billion_laughs_is_refused_unexpanded(sqlite_store, ews):
    ews.server.set_mode("bomb")
    check, elapsed = _incoming(sqlite_store, ews)
    assert check.status == F and elapsed < 2
    assert "declared a DTD or entities (refused unread: that is how an XML bomb starts)" in check.message


@pytest.mark.parametrize("mode, expected", [
    ("not_soap", "did not answer as Exchange Web Services while reading the Inbox (HTTP 200: the answer is XML "
                 "but not a SOAP envelope)"),
    ("close", "closed the connection or broke HTTP while answering for the Inbox"),
])
def test_not_ews(sqlite_store, ews, mode, expected):
    ews.server.set_mode(mode)
    check, _ = _incoming(sqlite_store, ews)
    assert check.status == F and expected in check.message


def test_an_echoed_authorization_header_is_masked(sqlite_store, ews):
    ews.server.schemes = ("Basic",)
    ews.server.set_mode("echo_auth")
    check, _ = _incoming(sqlite_store, ews)
    assert check.status == F and "ErrorInvalidRequest" in check.message
    assert "Basic ***" in check.message


def test_control_characters_from_ews_never_reach_a_terminal(sqlite_store, ews):
    # XML 1.0 allows C1 controls (CSI is U+009B) and CR LF in text: a terminal would obey them
    ews.server.fail_next("ErrorAccessDenied", "Access is denied.\x9b2J\r\nFAKE LINE\x85", count=None)
    check, _ = _incoming(sqlite_store, ews)
    assert check.status == F
    for text in (check.message, check.probe.server_answer):
        assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in text), text
