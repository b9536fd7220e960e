"""Server to Server Authentication (2) on Exchange Online (issue 23): app-only client credentials for Microsoft
Graph, the same settings and token as OAuth (7), against the test Graph server and token endpoint."""

from __future__ import annotations

import json

from mail_builders import user_mailbox
from support.graph import GRAPH_CLIENT_ID, GRAPH_SECRET, MAIL_ONLY_CLIENT_ID, MAIL_ONLY_SECRET, graph_profile

from mailbox_tui.domain.exchange import sends_through_graph
from mailbox_tui.domain.options import AuthMethod, TestStatus
from mailbox_tui.mailtest.connection import test_connection
from mailbox_tui.mailtest.plan import evaluate

S, F = TestStatus.SUCCESS, TestStatus.FAILURE
S2S = AuthMethod.SERVER_TO_SERVER


def mailbox(store, profile, email="alice@example.com"):
    return user_mailbox(store, profile.id, email=email, allow_credentials=False, act=1)


def statuses(outcome):
    return tuple(outcome.checks[d].status for d in ("incoming", "outgoing", "act"))


def no_leak(text: str, *secrets):
    for secret in (GRAPH_SECRET, MAIL_ONLY_SECRET, *secrets):
        assert secret not in text
    assert "eyJ" not in text  # no JWT


def test_server_to_server_gets_success_in_all_three_through_graph(sqlite_store, graph):
    profile = graph_profile(sqlite_store, graph, auth_method=S2S, oauth_scope="")
    assert profile.oauth_scope == "https://graph.microsoft.com/.default"
    assert sends_through_graph(profile)
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile).id)
    assert statuses(outcome) == (S, S, S), outcome.as_dict()
    assert "Read the Inbox of alice@example.com" in outcome.checks["incoming"].message
    assert graph.endpoint.request_counts()[(GRAPH_CLIENT_ID, None)] == 1
    (request,) = graph.endpoint.requests
    assert request.scope == "https://graph.microsoft.com/.default"
    no_leak(json.dumps(outcome.as_dict()))


def test_server_to_server_missing_permissions_are_named(sqlite_store, graph):
    profile = graph_profile(sqlite_store, graph, auth_method=S2S, client_id=MAIL_ONLY_CLIENT_ID,
                            secret=MAIL_ONLY_SECRET)
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile).id)
    assert outcome.checks["incoming"].status == S
    assert outcome.checks["act"].status == F and "Calendars" in outcome.checks["act"].message
    no_leak(json.dumps(outcome.as_dict()))


def test_server_to_server_test_connection_reads_through_graph(sqlite_store, graph):
    profile = graph_profile(sqlite_store, graph, auth_method=S2S)
    mailbox(sqlite_store, profile, email="bob@example.com")
    (check,) = test_connection(sqlite_store, profile.id)
    assert check.result is not None and check.result.ok, check
    no_leak(f"{check.note} {check.result.message} {check.result.server_answer}")
