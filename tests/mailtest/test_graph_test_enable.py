"""Test & Enable for Exchange Online through Microsoft Graph (issue 23), against the test Graph server and the
test token endpoint (docs/testing-graph.md). Each failure asserts its one-sentence cause and fix, and that
no secret or token reaches a result, an alert or the JSON."""

from __future__ import annotations

import json

import pytest
from mail_builders import user_mailbox
from support.graph import (GRAPH_CLIENT_ID, GRAPH_SECRET, MAIL_ONLY_CLIENT_ID, MAIL_ONLY_SECRET, NO_TASKS_CLIENT_ID,
                           NO_TASKS_SECRET, graph_profile)

from mailbox_tui.domain.options import TestStatus
from mailbox_tui.mailtest.plan import evaluate
from mailbox_tui.mailtest.runner import run_tests
from mailbox_tui.store import services
from mailbox_tui.store.models import MailboxAlert

S, F, N = TestStatus.SUCCESS, TestStatus.FAILURE, TestStatus.NOT_RUN


def mailbox(store, profile, email="alice@example.com", act=1, **changes):
    return user_mailbox(store, profile.id, email=email, allow_credentials=False, act=act, **changes)


def statuses(outcome):
    return tuple(outcome.checks[d].status for d in ("incoming", "outgoing", "act"))


def no_leak(outcome, *secrets):
    text = json.dumps(outcome.as_dict())
    for secret in (GRAPH_SECRET, *secrets):
        assert secret not in text
    assert "eyJ" not in text  # no JWT


# ---------------------------------------------------------------- success


def test_a_mailbox_the_app_may_read_gets_success_in_all_three(sqlite_store, graph):
    profile = graph_profile(sqlite_store, graph)
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile).id)
    assert statuses(outcome) == (S, S, S), outcome.as_dict()
    assert "Read the Inbox of alice@example.com" in outcome.checks["incoming"].message
    assert "No mail was sent" in outcome.checks["outgoing"].message
    assert "calendar, the contacts and the To Do task lists" in outcome.checks["act"].message
    assert outcome.alerts == []
    assert "Mail.Send" in outcome.checks["incoming"].probe.token  # roles shown, never the token
    assert graph.server.sent == []  # no mail by default
    assert graph.endpoint.request_counts()[(GRAPH_CLIENT_ID, None)] == 1  # one token for the three directions
    (request,) = graph.endpoint.requests
    assert request.scope == "https://graph.microsoft.com/.default"  # derived: the profile's was the IMAP default
    paths = graph.server.paths(GRAPH_CLIENT_ID)
    assert "/v1.0/users/alice@example.com/mailFolders/inbox/messages" in paths
    assert {"/v1.0/users/alice@example.com/calendar", "/v1.0/users/alice@example.com/todo/lists"} <= set(paths)
    no_leak(outcome)


def test_run_records_success_and_enables_the_mailbox(sqlite_store, graph):
    profile = graph_profile(sqlite_store, graph)
    boxes = [mailbox(sqlite_store, profile, email=a) for a in ("alice@example.com", "bob@example.com")]
    report = run_tests(sqlite_store, [b.id for b in boxes])
    assert report.successes == 2 and report.failures == 0
    for box in boxes:
        d = services.get_mailbox(sqlite_store, box.id)
        assert (d.incoming_status, d.outgoing_status, d.act_status) == (S, S, S)
    assert graph.endpoint.request_counts()[(GRAPH_CLIENT_ID, None)] == 1  # one token per profile per run


def test_send_test_message_sends_one_to_the_mailbox_itself(sqlite_store, graph):
    profile = graph_profile(sqlite_store, graph)
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile).id, send_test_message=True)
    assert statuses(outcome) == (S, S, S), outcome.as_dict()
    assert "Sent a test message from alice@example.com to itself" in outcome.checks["outgoing"].message
    (sent,) = graph.server.sent
    assert sent["from"] == "alice@example.com" and sent["to"] == ["alice@example.com"] and sent["save"] is True


def test_a_scope_set_on_the_profile_is_used(sqlite_store, graph):
    profile = graph_profile(sqlite_store, graph, oauth_scope="https://outlook.office.com/.default")
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile, act=2).id)
    assert statuses(outcome) == (F, F, N)
    message = outcome.checks["incoming"].message
    assert message.startswith("Microsoft Graph refused the access token (401 InvalidAuthenticationToken")
    assert "Scope must be https://graph.microsoft.com/.default (it is 'https://outlook.office.com/.default')" in message
    assert outcome.checks["incoming"].step == "authentication"
    no_leak(outcome)


# ---------------------------------------------------------------- Graph's refusals, explained


def _message(outcome, direction="incoming"):
    check = outcome.checks[direction]
    assert check.status == F, outcome.as_dict()
    return check.message


def test_missing_permission_names_it(sqlite_store, graph):
    profile = graph_profile(sqlite_store, graph, client_id=MAIL_ONLY_CLIENT_ID, secret=MAIL_ONLY_SECRET)
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile).id)
    assert statuses(outcome) == (S, F, F), outcome.as_dict()
    assert "lacks the Microsoft Graph application permission Mail.Send" in _message(outcome, "outgoing")
    act = _message(outcome, "act")
    assert "lacks the Microsoft Graph application permission Calendars.ReadWrite to read the calendar" in act
    assert "403 ErrorAccessDenied: Access is denied" in act and "Grant admin consent" in act
    no_leak(outcome, MAIL_ONLY_SECRET)


def test_act_failure_names_the_part_refused(sqlite_store, graph):
    profile = graph_profile(sqlite_store, graph, client_id=NO_TASKS_CLIENT_ID, secret=NO_TASKS_SECRET)
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile).id)
    assert statuses(outcome) == (S, S, F)
    assert "Tasks.ReadWrite.All to read the To Do task lists" in _message(outcome, "act")


def test_application_access_policy_names_the_powershell_check(sqlite_store, graph):
    graph.server.restrict(GRAPH_CLIENT_ID, ["bob@example.com"])
    profile = graph_profile(sqlite_store, graph)
    alice, bob = mailbox(sqlite_store, profile), mailbox(sqlite_store, profile, email="bob@example.com")
    outcome = evaluate(sqlite_store, alice.id)
    assert statuses(outcome) == (F, F, F)
    message = _message(outcome)
    assert "An Application Access Policy leaves it out" in message.replace("an Application", "An Application")
    assert "Access to OData is disabled." in message
    assert f"Test-ApplicationAccessPolicy -Identity alice@example.com -AppId {GRAPH_CLIENT_ID}" in message
    assert "Test-ServicePrincipalAuthorization" in message
    assert statuses(evaluate(sqlite_store, bob.id)) == (S, S, S)


@pytest.mark.parametrize("address, expected", [
    ("nobody@example.com", "nobody@example.com is not a user of the app's tenant (404 ErrorInvalidUser"),
    ("former@example.com", "The mailbox former@example.com is inactive, soft-deleted or hosted on premises "
                           "(404 MailboxNotEnabledForRESTAPI"),
])
def test_mailbox_graph_cannot_reach(sqlite_store, graph, address, expected):
    profile = graph_profile(sqlite_store, graph)
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile, email=address).id)
    assert statuses(outcome) == (F, F, F)
    assert expected in _message(outcome)


def test_expired_token_is_a_401_explained(sqlite_store, graph):
    graph.server.clock_ahead = 7200  # the token is valid here, expired by the time Graph reads it
    profile = graph_profile(sqlite_store, graph)
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile, act=2).id)
    assert statuses(outcome)[0] == F
    message = _message(outcome)
    assert "401 InvalidAuthenticationToken: Lifetime validation failed, the token is expired." in message


def test_server_error_is_microsofts_side(sqlite_store, graph):
    graph.server.fail_next(500, "InternalServerError", "Something went wrong.", count=None)
    profile = graph_profile(sqlite_store, graph)
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile, act=2).id)
    assert statuses(outcome) == (F, F, N)
    assert "a fault on Microsoft's side, not in the profile" in _message(outcome)


# ---------------------------------------------------------------- throttling


def test_retry_after_within_the_budget_is_honoured(sqlite_store, graph):
    graph.server.fail_next(429, "TooManyRequests", "Too many requests.", retry_after=1, count=1)
    profile = graph_profile(sqlite_store, graph)
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile, act=2).id)
    assert statuses(outcome) == (S, S, N), outcome.as_dict()
    assert [r.status for r in graph.server.requests][:2] == [429, 200]


def test_throttled_beyond_the_budget_is_not_run_not_failure(sqlite_store, graph):
    graph.server.fail_next(429, "TooManyRequests", "Too many requests.", retry_after=120, count=None)
    profile = graph_profile(sqlite_store, graph)
    box = mailbox(sqlite_store, profile)
    report = run_tests(sqlite_store, [box.id])
    assert report.failures == 0
    d = services.get_mailbox(sqlite_store, box.id)
    assert (d.incoming_status, d.outgoing_status, d.act_status) == (N, N, N)
    alerts = list(MailboxAlert.select().where(MailboxAlert.mailbox == box.id))
    assert alerts and all(a.level == "warning" for a in alerts)  # not errors
    assert any("throttling" in a.message and "Retry-After: 120 s" in a.message and "not a fault of the configuration"
               in a.message for a in alerts)


def test_a_429_storm_slows_a_bulk_run_but_fails_no_good_mailbox(sqlite_store, graph):
    addresses = ("alice@example.com", "bob@example.com", "support@example.com", "zoe@example.com")
    profile = graph_profile(sqlite_store, graph)
    boxes = [mailbox(sqlite_store, profile, email=a) for a in addresses]
    graph.server.fail_next(429, "TooManyRequests", "Too many requests.", retry_after=1, count=8)
    report = run_tests(sqlite_store, [b.id for b in boxes], concurrency=8)
    assert (report.successes, report.failures) == (4, 0), report.as_dict()
    assert sum(1 for r in graph.server.requests if r.status == 429) == 8
    assert graph.endpoint.request_counts()[(GRAPH_CLIENT_ID, None)] == 1


def test_retry_after_is_waited_out_as_often_as_the_budget_allows(sqlite_store, graph):
    """In a storm the same request can be refused again and again; each Retry-After that fits the probe's time is
    honoured (issue 23), not only the first three, so a good mailbox ends Success, neither throttled nor failed."""
    graph.server.fail_next(429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.",
                           retry_after=1, count=5)
    profile = graph_profile(sqlite_store, graph, timeout_seconds=20)
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile, outgoing=0, act=2).id)
    assert statuses(outcome) == (S, N, N), outcome.as_dict()
    assert [r.status for r in graph.server.requests][:7] == [429] * 5 + [200, 200]
    assert outcome.alerts == []


def test_retry_after_zero_is_asked_again_a_second_later_not_at_once(sqlite_store, graph):
    import time

    graph.server.fail_next(429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.",
                           retry_after=0, count=2)
    profile = graph_profile(sqlite_store, graph, timeout_seconds=20)
    started = time.monotonic()
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile, outgoing=0, act=2).id)
    assert statuses(outcome) == (S, N, N), outcome.as_dict()
    assert time.monotonic() - started >= 2.0  # two waits of at least a second: no hammering a throttling server
    assert [r.status for r in graph.server.requests][:4] == [429, 429, 200, 200]
