"""Exchange Hybrid Modern Auth (6) on Exchange Server (Hybrid) through EWS (issue 23): an app-only token from the
test token endpoint for the EWS host (<host>/.default), sent as a bearer token, acting for each mailbox through
ExchangeImpersonation. The test EWS server validates the token (docs/testing-ews.md). No secret or token reaches a
result, an alert or the JSON."""

from __future__ import annotations

import json

from mail_builders import user_mailbox
from support.ews import HMA_CLIENT_ID, HMA_NO_ROLE_CLIENT_ID, HMA_NO_ROLE_SECRET, HYBRID_RESOURCE, SECRETS, hybrid_profile

from mailbox_tui.domain.options import TestStatus
from mailbox_tui.mailtest.connection import test_connection
from mailbox_tui.mailtest.plan import evaluate

S, F = TestStatus.SUCCESS, TestStatus.FAILURE


def mailbox(store, profile, email="alice@contoso.com"):
    return user_mailbox(store, profile.id, email=email, act=1, allow_credentials=False)


def statuses(outcome):
    return tuple(outcome.checks[d].status for d in ("incoming", "outgoing", "act"))


def no_leak(text: str, endpoint):
    for secret in SECRETS:
        assert secret not in text
    assert "eyJ" not in text  # no JWT: every token the endpoint issues starts so


def test_the_profile_stores_the_ews_hosts_scope(sqlite_store, hybrid_ews):
    profile = hybrid_profile(sqlite_store, hybrid_ews)
    assert profile.oauth_scope == f"{HYBRID_RESOURCE}/.default"


def test_an_app_with_full_access_as_app_gets_success_in_all_three(sqlite_store, hybrid_ews):
    profile = hybrid_profile(sqlite_store, hybrid_ews)
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile).id)
    assert statuses(outcome) == (S, S, S), outcome.as_dict()
    assert "impersonating the mailbox (ExchangeImpersonation)" in outcome.checks["incoming"].message
    answered = [r for r in hybrid_ews.ews.server.requests if r.status == 200]
    assert answered and all(r.scheme == "Bearer" and r.impersonated == "alice@contoso.com" for r in answered)
    assert all(r.user and r.user.startswith("app:") for r in answered)
    token_requests = [r for r in hybrid_ews.endpoint.requests if r.status == 200]
    assert len(token_requests) == 1 and token_requests[0].scope == f"{HYBRID_RESOURCE}/.default"
    no_leak(json.dumps(outcome.as_dict()), hybrid_ews.endpoint)


def test_an_app_without_the_permission_is_refused_with_the_fix(sqlite_store, hybrid_ews):
    profile = hybrid_profile(sqlite_store, hybrid_ews, client_id=HMA_NO_ROLE_CLIENT_ID, secret=HMA_NO_ROLE_SECRET)
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile).id)
    assert statuses(outcome) == (F, F, F), outcome.as_dict()
    message = outcome.checks["incoming"].message
    assert "refused the access token" in message and "/.default" in message
    no_leak(json.dumps(outcome.as_dict()), hybrid_ews.endpoint)


def test_a_wrong_scope_is_refused_as_a_wrong_audience(sqlite_store, hybrid_ews):
    profile = hybrid_profile(sqlite_store, hybrid_ews, oauth_scope="https://outlook.office.com/.default")
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile).id)
    assert outcome.checks["incoming"].status == F
    assert "refused the access token" in outcome.checks["incoming"].message


def test_an_app_scoped_to_other_mailboxes_cannot_impersonate(sqlite_store, hybrid_ews):
    profile = hybrid_profile(sqlite_store, hybrid_ews)
    hybrid_ews.ews.server.restrict_app(HMA_CLIENT_ID, {"bob@contoso.com"})
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile).id)
    assert outcome.checks["incoming"].status == F
    assert "ErrorImpersonateUserDenied" in outcome.checks["incoming"].message


def test_a_wrong_client_secret_stops_at_the_token_step(sqlite_store, hybrid_ews):
    profile = hybrid_profile(sqlite_store, hybrid_ews, secret="Wrong-secret-Q~0")
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile).id)
    assert outcome.checks["incoming"].status == F
    assert not [r for r in hybrid_ews.ews.server.requests if r.status == 200]
    assert "Wrong-secret-Q~0" not in json.dumps(outcome.as_dict())


def test_auto_discover_without_a_scope_says_what_to_set(sqlite_store, hybrid_ews):
    profile = hybrid_profile(sqlite_store, hybrid_ews, oauth_scope="https://outlook.office365.com/.default",
                             auto_discover=True, incoming_location="", outgoing_location="")
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile).id)
    assert outcome.checks["incoming"].status == F
    assert "Scope" in outcome.checks["incoming"].message and "/.default" in outcome.checks["incoming"].message


def test_test_connection_gets_a_token_and_reads_the_first_mailbox(sqlite_store, hybrid_ews):
    profile = hybrid_profile(sqlite_store, hybrid_ews)
    mailbox(sqlite_store, profile, email="bob@contoso.com")
    (check,) = test_connection(sqlite_store, profile.id)
    assert check.result is not None and check.result.ok, check
    assert "Read the Inbox of bob@contoso.com through EWS" in check.result.message
    text = f"{check.note} {check.result.message} {check.result.server_answer}"
    no_leak(text, hybrid_ews.endpoint)
