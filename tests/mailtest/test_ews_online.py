"""EWS in Exchange Online (issue 23 item 3): an Exchange Online (Hybrid) profile whose location is an EWS URL is
tested through EWS with an app-only token for https://outlook.office365.com/.default until 1 April 2027, the
retirement (rule P16) carried as a warning in its result; from that day the test fails naming the Graph URL. The
day comes from the planner's clock, which the tests set. Against the test EWS server that takes tokens for the
Office 365 Exchange Online resource (docs/testing-ews.md)."""

from __future__ import annotations

import json
from datetime import datetime

from mail_builders import user_mailbox
from support.ews import HMA_CLIENT_ID, HMA_NO_ROLE_CLIENT_ID, HMA_NO_ROLE_SECRET, HMA_SECRET, SECRETS, ews_profile
from support.oauth import TENANT_ID

from mailbox_tui.domain.exchange import EWS_RETIREMENT
from mailbox_tui.domain.options import AuthMethod, ServerType, TestStatus
from mailbox_tui.domain.records import PasswordEdit
from mailbox_tui.mailtest.plan import evaluate
from mailbox_tui.mailtest.runner import TestRunner
from mailbox_tui.store import services

S, F = TestStatus.SUCCESS, TestStatus.FAILURE
BEFORE = datetime(2027, 3, 31, 23, 59)  # naive UTC, as the runner's clock
SHUT_DOWN = datetime(2027, 4, 1, 0, 0)


def online_profile(store, world, *, client_id=HMA_CLIENT_ID, secret=HMA_SECRET, method=AuthMethod.OAUTH, **changes):
    values = dict(server_type=ServerType.EXCHANGE_ONLINE_HYBRID, location=world.ews.online.ews_url,
                  oauth_client_id=client_id, oauth_client_secret=PasswordEdit(new=secret), oauth_tenant_id=TENANT_ID,
                  oauth_token_endpoint=world.token_url, **changes)
    return ews_profile(store, world.ews, name="Exchange Online (EWS)", auth_method=method, **values)


def mailbox(store, profile, email="alice@contoso.com"):
    return user_mailbox(store, profile.id, email=email, act=1, allow_credentials=False)


def statuses(outcome):
    return tuple(outcome.checks[d].status for d in ("incoming", "outgoing", "act"))


def no_leak(outcome):
    text = json.dumps(outcome.as_dict())
    assert not any(secret in text for secret in SECRETS) and "eyJ" not in text


def test_before_the_shutdown_ews_is_tested_with_a_token_for_exchange_online(sqlite_store, hybrid_ews):
    profile = online_profile(sqlite_store, hybrid_ews)
    assert profile.oauth_scope == "https://outlook.office365.com/.default"
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile).id, clock=lambda: BEFORE)
    assert statuses(outcome) == (S, S, S), outcome.as_dict()
    for check in outcome.checks.values():
        assert f"Warning: {EWS_RETIREMENT}. Set the profile's location to https://graph.microsoft.com before " \
               "1 April 2027 (rule P16)." in check.message
    assert "Read the Inbox of alice@contoso.com through EWS" in outcome.checks["incoming"].message
    assert {a.level for a in outcome.alerts} == {"warning"} and "1 October 2026" in outcome.alerts[0].message
    online = hybrid_ews.ews.online
    answered = [r for r in online.requests if r.status == 200]
    assert answered and all(r.scheme == "Bearer" and r.impersonated == "alice@contoso.com" for r in answered)
    assert all(r.user == f"app:{HMA_CLIENT_ID}" and r.anchor == "alice@contoso.com" for r in answered)
    (token,) = [r for r in hybrid_ews.endpoint.requests if r.status == 200]
    assert token.scope == "https://outlook.office365.com/.default"  # one token for the three directions
    assert hybrid_ews.ews.server.requests == []  # the on-premises server saw nothing
    no_leak(outcome)


def test_a_graph_scope_on_the_profile_is_not_used_for_ews(sqlite_store, hybrid_ews):
    profile = online_profile(sqlite_store, hybrid_ews, method=AuthMethod.SERVER_TO_SERVER,
                             oauth_scope="https://graph.microsoft.com/.default")
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile).id, clock=lambda: BEFORE)
    assert statuses(outcome) == (S, S, S), outcome.as_dict()
    assert {r.scope for r in hybrid_ews.endpoint.requests} == {"https://outlook.office365.com/.default"}


def test_a_test_message_goes_through_exchange_onlines_ews(sqlite_store, hybrid_ews):
    profile = online_profile(sqlite_store, hybrid_ews)
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile).id, send_test_message=True, clock=lambda: BEFORE)
    assert outcome.checks["outgoing"].status == S, outcome.as_dict()
    assert outcome.checks["outgoing"].message.startswith("Sent a test message from alice@contoso.com to itself "
                                                         "through EWS")
    assert [m.to for m in hybrid_ews.ews.online.delivered] == [("alice@contoso.com",)]


def test_from_the_shutdown_day_the_test_fails_naming_the_graph_url(sqlite_store, hybrid_ews):
    profile = online_profile(sqlite_store, hybrid_ews)
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile).id, clock=lambda: SHUT_DOWN)
    assert statuses(outcome) == (F, F, F)
    message = outcome.checks["incoming"].message
    assert message == ("Incoming email through 'Exchange Online (EWS)' uses an EWS URL on Exchange Online, and EWS "
                       "in Exchange Online was shut down on 1 April 2027: set the profile's location to "
                       "https://graph.microsoft.com (and its Scope to https://graph.microsoft.com/.default) to test it "
                       "through Microsoft Graph (rule P16).")
    assert hybrid_ews.endpoint.requests == [] and hybrid_ews.ews.online.requests == []  # nothing was asked


def test_the_runner_takes_its_clock_for_the_day(sqlite_store, hybrid_ews):
    profile = online_profile(sqlite_store, hybrid_ews)
    box = mailbox(sqlite_store, profile)
    report = TestRunner(sqlite_store, clock=lambda: SHUT_DOWN).run([box.id])
    assert report.failures == 1
    assert services.get_mailbox(sqlite_store, box.id).incoming_status == F
    report = TestRunner(sqlite_store, clock=lambda: BEFORE).run([box.id])
    assert report.successes == 1


def test_an_app_without_full_access_as_app_is_refused_with_the_fix(sqlite_store, hybrid_ews):
    profile = online_profile(sqlite_store, hybrid_ews, client_id=HMA_NO_ROLE_CLIENT_ID, secret=HMA_NO_ROLE_SECRET)
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile).id, clock=lambda: BEFORE)
    assert statuses(outcome) == (F, F, F)
    check = outcome.checks["incoming"]
    assert check.step == "authentication"
    assert check.message.startswith("Exchange Online at 127.0.0.1:")
    assert "refused the app's token for EWS (HTTP 401): the app needs the Office 365 Exchange Online application " \
           "permission full_access_as_app with admin consent" in check.message
    assert "switched off tenant by tenant from 1 October 2026" in check.message
    no_leak(outcome)


def test_an_app_scoped_to_other_mailboxes_cannot_impersonate(sqlite_store, hybrid_ews):
    profile = online_profile(sqlite_store, hybrid_ews)
    hybrid_ews.ews.online.restrict_app(HMA_CLIENT_ID, {"bob@contoso.com"})
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile).id, clock=lambda: BEFORE)
    assert outcome.checks["incoming"].status == F
    assert "ErrorImpersonateUserDenied" in outcome.checks["incoming"].message


def test_test_connection_reads_a_mailbox_through_exchange_onlines_ews_until_the_shutdown(sqlite_store, hybrid_ews):
    """F8 (item 4) on an Exchange Online profile with an EWS URL: the token step and a read of the first mailbox's
    Inbox through EWS, as Test & Enable does, with the retirement warning; from the shutdown, nothing is tried."""
    from mailbox_tui.mailtest.connection import test_connection

    profile = online_profile(sqlite_store, hybrid_ews)
    mailbox(sqlite_store, profile)
    online = hybrid_ews.ews.online
    before = len(online.requests)
    checks = test_connection(sqlite_store, profile.id, clock=lambda: BEFORE)
    read, warning = checks
    assert read.result is not None and read.result.ok, read
    assert "alice@contoso.com" in read.result.message
    assert warning.note.startswith("Warning, EWS in Exchange Online") and "1 April 2027" in warning.note
    assert warning.result is None
    answered = [r for r in online.requests[before:] if r.status == 200]
    assert answered and all(r.scheme == "Bearer" and r.impersonated == "alice@contoso.com" for r in answered)
    assert not any(secret in str(checks) for secret in SECRETS) and "eyJ" not in str(checks)

    before = len(online.requests)
    gone = test_connection(sqlite_store, profile.id, clock=lambda: SHUT_DOWN)
    assert all(c.result is None for c in gone) and len(online.requests) == before
    assert "cannot be read here" in gone[0].note
