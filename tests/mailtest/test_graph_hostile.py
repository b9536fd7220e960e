"""The Graph probe against a Graph server that misbehaves (issue 23): a drip, a flood, a hang, an impostor
certificate, a redirect to another host, an answer that is not Graph's, a server that echoes the token or
sends control characters. Each ends within the profile's timeout, reads at most 256 KiB, and says what
happened in one sentence; no token or secret is shown."""

from __future__ import annotations

import json
import time

import pytest
from support.graph import GRAPH_SECRET, graph_profile
from test_graph_test_enable import mailbox

from mailbox_tui.domain.options import TestStatus
from mailbox_tui.mailtest.plan import evaluate

F = TestStatus.FAILURE


def _incoming(sqlite_store, graph, **changes):
    profile = graph_profile(sqlite_store, graph, timeout_seconds=2, **changes)
    started = time.monotonic()
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile, act=2, outgoing=0).id)
    elapsed = time.monotonic() - started
    text = json.dumps(outcome.as_dict())
    assert GRAPH_SECRET not in text and "eyJ" not in text
    return outcome.checks["incoming"], elapsed


def test_drip_is_cut_at_the_profile_timeout(sqlite_store, graph):
    graph.server.set_mode("drip", interval=0.2)
    check, elapsed = _incoming(sqlite_store, graph)
    assert check.status == F and elapsed < 4
    assert check.message.startswith("Timed out after 2 s: 127.0.0.1:")
    assert "bytes without finishing its answer for the Inbox" in check.message


def test_hang_is_cut_at_the_profile_timeout(sqlite_store, graph):
    graph.server.set_mode("hang")
    check, elapsed = _incoming(sqlite_store, graph)
    assert check.status == F and elapsed < 4
    assert "did not answer for the Inbox" in check.message


def test_flood_stops_at_256_kib(sqlite_store, graph):
    graph.server.set_mode("flood")
    check, elapsed = _incoming(sqlite_store, graph)
    assert check.status == F
    assert "sent more than 256 KiB while answering for the Inbox" in check.message
    assert check.probe.server_answer == ""


def test_impostor_certificate_gets_no_token(sqlite_store, graph):
    check, _ = _incoming(sqlite_store, graph, location=graph.impostor.base_url)
    assert check.status == F and check.step == "TLS"
    assert check.message.startswith("Certificate not trusted")
    assert graph.impostor.requests == []  # nothing, the token least of all, reached it


def test_redirect_to_another_host_is_not_followed(sqlite_store, graph):
    graph.server.set_mode("redirect")
    check, _ = _incoming(sqlite_store, graph)
    assert check.status == F
    assert "redirected the request for the Inbox to localhost:" in check.message
    assert "it was not followed, so the token went nowhere else" in check.message
    assert [r.host.split(":")[0] for r in graph.server.requests] == ["127.0.0.1"]  # never to localhost


@pytest.mark.parametrize("mode, expected", [
    ("not_json", "did not answer as Microsoft Graph (HTTP 200, not a Graph JSON answer) while reading the Inbox"),
    ("close", "closed the connection or broke HTTP while answering for the Inbox"),
])
def test_not_graph(sqlite_store, graph, mode, expected):
    graph.server.set_mode(mode)
    check, _ = _incoming(sqlite_store, graph)
    assert check.status == F and expected in check.message


def test_an_echoed_token_is_masked(sqlite_store, graph):
    graph.server.set_mode("echo_token")
    check, _ = _incoming(sqlite_store, graph)
    assert check.status == F and "401 InvalidAuthenticationToken" in check.message
    assert "Bearer ***" in check.message or "***" in check.message


def test_control_characters_from_graph_never_reach_a_terminal(sqlite_store, graph):
    graph.server.fail_next(403, "ErrorAccessDenied\x1b[2J", "Access is denied.\x1b]52;c;cm0gLXJm\x07\r\nFAKE LINE",
                           count=None)
    check, _ = _incoming(sqlite_store, graph)
    assert check.status == F
    for text in (check.message, check.probe.server_answer):
        assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in text), text
    assert "␛]52;c;cm0gLXJm␇" in check.message
