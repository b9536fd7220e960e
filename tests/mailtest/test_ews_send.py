"""A real test message through EWS when the admin asks for one (issue 23 item 2): one CreateItem
(SendAndSaveCopy) from the mailbox to itself, against the test EWS server, which checks the request's shape and the
rights and records what it delivered (docs/testing-ews.md). Without the flag no CreateItem is ever sent."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from support.ews import DELEGATE_PASSWORD, DELEGATE_USER, SCOPED_PASSWORD, SCOPED_USER, SECRETS, ews_profile
from test_ews_test_enable import mailbox, no_leak, statuses

from mailbox_tui.domain.options import AuthMethod, TestStatus
from mailbox_tui.mailtest.plan import evaluate
from mailbox_tui.mailtest.probes import ews_xml
from mailbox_tui.store.database import Store

S, F, N = TestStatus.SUCCESS, TestStatus.FAILURE, TestStatus.NOT_RUN


def creates(server):
    return [r for r in server.requests if r.operation == "CreateItem"]


def test_a_test_message_is_sent_once_to_the_mailbox_itself(sqlite_store, ews):
    profile = ews_profile(sqlite_store, ews)
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile).id, send_test_message=True)
    assert statuses(outcome) == (S, S, S), outcome.as_dict()
    message = outcome.checks["outgoing"].message
    assert message.startswith("Sent a test message from alice@contoso.com to itself through EWS (CreateItem, "
                              "SendAndSaveCopy) as 'CONTOSO\\svc-ews' impersonating the mailbox")
    assert "No mail was sent" not in message
    (sent,) = ews.server.delivered
    assert sent.sender == "alice@contoso.com" and sent.to == ("alice@contoso.com",) and sent.saved_in == "sentitems"
    assert sent.subject.startswith("mailbox-tui test message, ") and " UTC" in sent.subject
    assert sent.subject in message
    (create,) = creates(ews.server)
    assert create.impersonated == "alice@contoso.com" and create.anchor == "alice@contoso.com"
    assert create.status == 200 and create.code is None
    no_leak(outcome)


def test_without_the_flag_no_create_item_is_sent(sqlite_store, ews):
    profile = ews_profile(sqlite_store, ews)
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile).id)
    assert statuses(outcome) == (S, S, S)
    assert "No mail was sent" in outcome.checks["outgoing"].message
    assert creates(ews.server) == [] and ews.server.delivered == []
    assert {r.operation for r in ews.server.requests if r.status == 200} == {"GetFolder"}


def test_a_mailboxs_own_credentials_send_as_itself(sqlite_store, ews):
    from support.ews import ALICE, ALICE_PASSWORD

    profile = ews_profile(sqlite_store, ews, auth_method=AuthMethod.USER_OR_QUEUE_CREDENTIALS)
    box = mailbox(sqlite_store, profile, allow_credentials=True, login=ALICE, password=ALICE_PASSWORD, act=0)
    outcome = evaluate(sqlite_store, box.id, send_test_message=True)
    assert outcome.checks["outgoing"].status == S, outcome.as_dict()
    (create,) = creates(ews.server)
    assert create.impersonated is None and create.user == ALICE
    assert [m.sender for m in ews.server.delivered] == ["alice@contoso.com"]


def test_full_access_without_send_as_is_refused_with_the_fix(sqlite_store, ews):
    profile = ews_profile(sqlite_store, ews, auth_method=AuthMethod.USER_OR_QUEUE_CREDENTIALS)
    box = mailbox(sqlite_store, profile, allow_credentials=True, login=DELEGATE_USER, password=DELEGATE_PASSWORD,
                  act=0)
    outcome = evaluate(sqlite_store, box.id, send_test_message=True)
    assert outcome.checks["incoming"].status == S  # Full Access reads the mailbox
    check = outcome.checks["outgoing"]
    assert check.status == F
    assert check.message.startswith(f"'{DELEGATE_USER}' could not send a test message as alice@contoso.com "
                                    "(ErrorSendAsDenied: The user account which was used to submit this request "
                                    "does not have the right to send mail on behalf of the specified sending account.)")
    assert 'Add-ADPermission -ExtendedRights "Send As"' in check.message
    assert ews.server.delivered == []
    no_leak(outcome)


def test_a_mailbox_over_its_quota_says_so(sqlite_store, ews):
    profile = ews_profile(sqlite_store, ews)
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile, email="dave@contoso.com", act=0).id,
                       send_test_message=True)
    check = outcome.checks["outgoing"]
    assert check.status == F
    assert "could not send a test message as dave@contoso.com (ErrorQuotaExceeded: The mailbox quota has been " \
           "exceeded.): the mailbox is over its storage quota" in check.message
    assert "Set-Mailbox -ProhibitSendQuota" in check.message
    assert ews.server.delivered == []


def test_impersonation_refused_for_sending_names_the_role(sqlite_store, ews):
    profile = ews_profile(sqlite_store, ews, username=SCOPED_USER, password=SCOPED_PASSWORD)
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile, email="bob@contoso.com", act=0).id,
                       send_test_message=True)
    check = outcome.checks["outgoing"]
    assert check.status == F and "may not act for bob@contoso.com (ErrorImpersonateUserDenied" in check.message
    assert (create := creates(ews.server)) and create[0].status == 500
    assert ews.server.delivered == []


def test_access_denied_on_sent_items_while_sending(sqlite_store, ews):
    ews.server.mailboxes["bob@contoso.com"].denied.add("sentitems")
    try:
        profile = ews_profile(sqlite_store, ews)
        outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile, email="bob@contoso.com", act=0).id,
                           send_test_message=True)
    finally:
        ews.server.mailboxes["bob@contoso.com"].denied.discard("sentitems")
    check = outcome.checks["outgoing"]
    assert check.status == F
    assert "could not send a test message as bob@contoso.com (ErrorAccessDenied" in check.message
    assert "may not write to the mailbox's Sent Items" in check.message


def test_server_busy_while_sending_is_waited_out_and_sends_once(sqlite_store, ews):
    ews.server.fail_next("ErrorServerBusy", "The server cannot service this request right now.", back_off_ms=200)
    profile = ews_profile(sqlite_store, ews)
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile, act=0, incoming=0).id, send_test_message=True)
    assert outcome.checks["outgoing"].status == S, outcome.as_dict()
    assert [r.code for r in creates(ews.server) if r.status] == ["ErrorServerBusy", None]
    assert len(ews.server.delivered) == 1


def test_the_server_refuses_a_request_not_shaped_for_sending(ews, sqlite_store, monkeypatch):
    """The test server checks the shape: a SaveOnly draft is not a sent message (ErrorSchemaValidation)."""
    real = ews_xml.create_item_message

    def save_only(*args):
        return real(*args).replace(b'MessageDisposition="SendAndSaveCopy"', b'MessageDisposition="SaveOnly"')

    monkeypatch.setattr("mailbox_tui.mailtest.probes.ews.create_item_message", save_only)
    profile = ews_profile(sqlite_store, ews)
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile, act=0).id, send_test_message=True)
    assert outcome.checks["outgoing"].status == F
    assert "ErrorSchemaValidation" in outcome.checks["outgoing"].message
    assert ews.server.delivered == []


def test_the_request_is_the_documented_create_item():
    body = ews_xml.create_item_message("a&b@contoso.com", True, "mailbox-tui <test>", "text")
    assert b'<m:CreateItem MessageDisposition="SendAndSaveCopy">' in body
    assert b'<m:SavedItemFolderId><t:DistinguishedFolderId Id="sentitems"></t:DistinguishedFolderId>' in body
    assert b"<t:ToRecipients><t:Mailbox><t:EmailAddress>a&amp;b@contoso.com</t:EmailAddress>" in body
    assert b"<t:Subject>mailbox-tui &lt;test&gt;</t:Subject>" in body
    assert b"<t:ExchangeImpersonation>" in body and b"<t:From>" not in body
    own = ews_xml.create_item_message("a@contoso.com", False, "s", "t")
    assert b"<t:ExchangeImpersonation>" not in own and b"<t:From><t:Mailbox>" in own


def _cli(*args):
    result = subprocess.run([sys.executable, "-m", "mailbox_tui", "test", *map(str, args)], capture_output=True,
                            text=True, env=os.environ.copy(), timeout=120, stdin=subprocess.DEVNULL)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def test_the_command_line_counts_the_message_sent(sqlite_url, ews):
    with Store(sqlite_url) as store:
        mailbox(store, ews_profile(store, ews), act=0)
    quiet = _cli("--db", sqlite_url, "--all")
    assert quiet.returncode == 0, quiet.stdout + quiet.stderr
    assert "Test messages sent" not in quiet.stdout and ews.server.delivered == []
    result = _cli("--db", sqlite_url, "--all", "--send-test-message", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    (box,) = json.loads(result.stdout)["mailboxes"]
    outgoing = next(c for c in box["checks"] if c["direction"] == "outgoing")
    assert outgoing["message"].startswith("Sent a test message from alice@contoso.com to itself through EWS")
    plain = _cli("--db", sqlite_url, "--all", "--send-test-message")
    assert "Test messages sent (Microsoft Graph or EWS, each mailbox to itself): 1." in plain.stdout
    assert [m.to for m in ews.server.delivered] == [("alice@contoso.com",)] * 2
    for text in (result.stdout, result.stderr, plain.stdout, plain.stderr):
        assert not any(secret in text for secret in SECRETS)


def test_the_form_offers_a_test_message_through_ews_or_graph():
    from types import SimpleNamespace

    from mailbox_tui.domain.exchange import route_of_test_message
    from mailbox_tui.domain.options import ServerType

    def profile(server_type, location, method=AuthMethod.PROFILE_CREDENTIALS):
        return SimpleNamespace(server_type=server_type, outgoing_location=location, auto_discover=False,
                               use_same_settings_for_outgoing=True, auth_method=method, outgoing_auth_method=method)

    ews_url = "https://mail.contoso.com/EWS/Exchange.asmx"
    assert route_of_test_message(profile(ServerType.EXCHANGE, ews_url)) == "EWS"
    assert route_of_test_message(profile(ServerType.EXCHANGE_HYBRID, ews_url)) == "EWS"
    assert route_of_test_message(profile(ServerType.EXCHANGE_ONLINE_HYBRID, ews_url, AuthMethod.OAUTH)) == "EWS"
    assert route_of_test_message(profile(ServerType.EXCHANGE_ONLINE_HYBRID, "https://graph.microsoft.com",
                                         AuthMethod.OAUTH)) == "Microsoft Graph"
    assert route_of_test_message(profile(ServerType.IMAP_SMTP, "smtp.contoso.com")) == ""
    assert route_of_test_message(None) == ""
