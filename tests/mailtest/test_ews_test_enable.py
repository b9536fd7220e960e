"""Test & Enable for Exchange Server through EWS (issue 23), against the test EWS server (docs/testing-ews.md).
Each failure asserts its one-sentence cause and fix, and that no password or sign-in blob reaches a result, an
alert or the JSON."""

from __future__ import annotations

import json

import pytest
from mail_builders import user_mailbox
from support.ews import (ALICE, ALICE_PASSWORD, BOB_LOGIN, BOB_PASSWORD, NO_ROLE_PASSWORD, NO_ROLE_USER,
                         SCOPED_PASSWORD, SCOPED_USER, SECRETS, SERVICE_USER, ews_profile)

from mailbox_tui.domain.options import AuthMethod, ServerType, TestStatus
from mailbox_tui.mailtest.plan import evaluate
from mailbox_tui.mailtest.runner import run_tests
from mailbox_tui.store import services

S, F, N = TestStatus.SUCCESS, TestStatus.FAILURE, TestStatus.NOT_RUN


def mailbox(store, profile, email="alice@contoso.com", act=1, **changes):
    changes.setdefault("allow_credentials", False)
    return user_mailbox(store, profile.id, email=email, act=act, **changes)


def statuses(outcome):
    return tuple(outcome.checks[d].status for d in ("incoming", "outgoing", "act"))


def no_leak(outcome):
    text = json.dumps(outcome.as_dict())
    for secret in SECRETS:
        assert secret not in text
    assert "TlRMTVNT" not in text  # no NTLM message


# ---------------------------------------------------------------- success


def test_a_service_account_with_impersonation_gets_success_in_all_three(sqlite_store, ews):
    profile = ews_profile(sqlite_store, ews)
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile).id)
    assert statuses(outcome) == (S, S, S), outcome.as_dict()
    assert "Read the Inbox of alice@contoso.com through EWS (3 items)" in outcome.checks["incoming"].message
    assert "impersonating the mailbox (ExchangeImpersonation)" in outcome.checks["incoming"].message
    assert "No mail was sent" in outcome.checks["outgoing"].message
    assert "calendar, the contacts and the tasks folders" in outcome.checks["act"].message
    assert outcome.alerts == []
    answered = [r for r in ews.server.requests if r.status == 200]
    assert {r.folders for r in answered} == {("inbox",), ("sentitems", "drafts"), ("calendar", "contacts", "tasks")}
    assert all(r.user == SERVICE_USER and r.impersonated == "alice@contoso.com" for r in answered)
    assert all(r.anchor == "alice@contoso.com" for r in ews.server.requests)
    assert {r.scheme for r in ews.server.requests} == {"", "NTLM"}  # NTLM preferred: the password never sent
    no_leak(outcome)


def test_basic_is_used_when_the_server_offers_only_basic(sqlite_store, ews):
    ews.server.schemes = ("Basic",)
    profile = ews_profile(sqlite_store, ews)
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile).id)
    assert statuses(outcome) == (S, S, S), outcome.as_dict()
    assert {r.scheme for r in ews.server.requests if r.status == 200} == {"Basic"}
    no_leak(outcome)


@pytest.mark.parametrize("login, password", [(ALICE, ALICE_PASSWORD), (BOB_LOGIN, BOB_PASSWORD)])
def test_a_mailboxs_own_credentials_read_its_own_folders(sqlite_store, ews, login, password):
    profile = ews_profile(sqlite_store, ews, auth_method=AuthMethod.USER_OR_QUEUE_CREDENTIALS)
    email = "alice@contoso.com" if login == ALICE else "bob@contoso.com"
    box = mailbox(sqlite_store, profile, email=email, allow_credentials=True, login=login, password=password)
    outcome = evaluate(sqlite_store, box.id)
    assert statuses(outcome) == (S, S, S), outcome.as_dict()
    assert all(r.impersonated is None for r in ews.server.requests)  # its own mailbox: no impersonation
    no_leak(outcome)


def test_run_records_success_and_enables_the_mailboxes(sqlite_store, ews):
    profile = ews_profile(sqlite_store, ews)
    boxes = [mailbox(sqlite_store, profile, email=a) for a in ("alice@contoso.com", "bob@contoso.com")]
    report = run_tests(sqlite_store, [b.id for b in boxes])
    assert report.successes == 2 and report.failures == 0
    for box in boxes:
        d = services.get_mailbox(sqlite_store, box.id)
        assert (d.incoming_status, d.outgoing_status, d.act_status) == (S, S, S)


def test_exchange_server_hybrid_is_tested_the_same_way(sqlite_store, ews):
    profile = ews_profile(sqlite_store, ews, server_type=ServerType.EXCHANGE_HYBRID)
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile).id)
    assert statuses(outcome) == (S, S, S), outcome.as_dict()


# ---------------------------------------------------------------- failures, each with its cause and fix


def test_a_wrong_password_is_refused_at_authentication(sqlite_store, ews):
    profile = ews_profile(sqlite_store, ews, password="Not-the-pw!1#long")
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile).id)
    assert statuses(outcome) == (F, F, F)
    check = outcome.checks["incoming"]
    assert check.step == "authentication"
    assert f"refused the sign-in of '{SERVICE_USER}' (NTLM, HTTP 401): check the user name and password" in check.message
    no_leak(outcome)
    assert "Not-the-pw!1#long" not in json.dumps(outcome.as_dict())


def test_an_account_without_the_impersonation_role_is_told_to_get_it(sqlite_store, ews):
    profile = ews_profile(sqlite_store, ews, username=NO_ROLE_USER, password=NO_ROLE_PASSWORD)
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile).id)
    assert statuses(outcome) == (F, F, F)
    message = outcome.checks["incoming"].message
    assert "may not act for alice@contoso.com (ErrorImpersonateUserDenied" in message
    assert "ApplicationImpersonation role (New-ManagementRoleAssignment -Role ApplicationImpersonation" in message


def test_a_scoped_role_leaves_other_mailboxes_out(sqlite_store, ews):
    profile = ews_profile(sqlite_store, ews, username=SCOPED_USER, password=SCOPED_PASSWORD)
    alice = evaluate(sqlite_store, mailbox(sqlite_store, profile).id)
    bob = evaluate(sqlite_store, mailbox(sqlite_store, profile, email="bob@contoso.com").id)
    assert statuses(alice) == (S, S, S)
    assert statuses(bob) == (F, F, F) and "ErrorImpersonateUserDenied" in bob.checks["incoming"].message


def test_an_address_without_a_mailbox(sqlite_store, ews):
    profile = ews_profile(sqlite_store, ews)
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile, email="nobody@contoso.com").id)
    assert statuses(outcome) == (F, F, F)
    assert ("Exchange has no mailbox nobody@contoso.com (ErrorNonExistentMailbox: The SMTP address has no mailbox "
            "associated with it.): check the mailbox's email address") in outcome.checks["incoming"].message


def test_own_credentials_on_someone_elses_mailbox_are_denied(sqlite_store, ews):
    profile = ews_profile(sqlite_store, ews, auth_method=AuthMethod.USER_OR_QUEUE_CREDENTIALS)
    box = mailbox(sqlite_store, profile, email="carol@contoso.com", allow_credentials=True, login=ALICE,
                  password=ALICE_PASSWORD)
    outcome = evaluate(sqlite_store, box.id)
    assert statuses(outcome) == (F, F, F)
    assert ("was refused the Inbox of carol@contoso.com (ErrorAccessDenied: Access is denied. Check credentials and "
            "try again.)") in outcome.checks["incoming"].message
    assert "Add-MailboxPermission -AccessRights FullAccess" in outcome.checks["incoming"].message


def test_a_refused_tasks_folder_is_named(sqlite_store, ews):
    profile = ews_profile(sqlite_store, ews)
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile, email="carol@contoso.com").id)
    assert statuses(outcome) == (S, S, F)
    assert "was refused the tasks folder (ErrorAccessDenied" in outcome.checks["act"].message


def test_server_busy_back_off_is_honoured_within_the_timeout(sqlite_store, ews):
    ews.server.fail_next("ErrorServerBusy", "The server cannot service this request right now.", back_off_ms=300)
    profile = ews_profile(sqlite_store, ews)
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile, act=0, outgoing=0).id)
    assert outcome.checks["incoming"].status == S, outcome.as_dict()
    assert [r.code for r in ews.server.requests if r.status] [-2:] == ["ErrorServerBusy", None]


def test_server_busy_again_and_again_is_waited_out_while_the_timeout_allows(sqlite_store, ews):
    """Five busy answers in a row (a busy spell, as a storm of Graph 429s): each back-off is waited out (at
    least 1 s apart), the sixth try reads the folder, and the mailbox is a success, not throttled. (It gave
    up after three waits, with most of its 30 s still left.)"""
    ews.server.fail_next("ErrorServerBusy", "The server cannot service this request right now.", back_off_ms=50,
                         count=5)
    profile = ews_profile(sqlite_store, ews, timeout_seconds=30)
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile, act=0, outgoing=0).id)
    assert outcome.checks["incoming"].status == S, outcome.as_dict()
    assert [r.code for r in ews.server.requests if r.status][-6:] == ["ErrorServerBusy"] * 5 + [None]


def test_server_busy_beyond_the_timeout_is_not_run_not_failure(sqlite_store, ews):
    ews.server.fail_next("ErrorServerBusy", "The server cannot service this request right now.",
                         back_off_ms=297749, count=None)
    profile = ews_profile(sqlite_store, ews)
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile).id)
    assert statuses(outcome) == (N, N, N), outcome.as_dict()
    assert "asked to wait 297.749 s" in outcome.checks["incoming"].message
    assert "not a fault of the configuration" in outcome.checks["incoming"].message
    assert {a.level for a in outcome.alerts} == {"warning"}
