"""Test Connection (F8) on an Exchange Server profile (issue 23): the sign-in and an EWS GetFolder of the
profile's first mailbox, never a password or a sign-in blob shown."""

from __future__ import annotations

from mail_builders import user_mailbox
from support.ews import NO_ROLE_PASSWORD, NO_ROLE_USER, SECRETS, SERVICE_USER, ews_profile

from mailbox_tui.domain.options import AuthMethod
from mailbox_tui.mailtest.connection import test_connection


def _text(checks) -> str:
    return " ".join(f"{c.note} {c.result.message if c.result else ''} {c.result.server_answer if c.result else ''}"
                    for c in checks)


def test_signs_in_and_reads_the_first_mailboxs_inbox(sqlite_store, ews):
    profile = ews_profile(sqlite_store, ews)
    user_mailbox(sqlite_store, profile.id, email="bob@contoso.com", allow_credentials=False)
    (check,) = test_connection(sqlite_store, profile.id)
    assert check.result is not None and check.result.ok, check
    assert "Read the Inbox of bob@contoso.com through EWS (0 items)" in check.result.message
    assert check.endpoint.label.startswith("EWS 127.0.0.1:")
    (request,) = [r for r in ews.server.requests if r.status == 200]
    assert request.user == SERVICE_USER and request.impersonated == "bob@contoso.com" and request.folders == ("inbox",)
    assert not any(secret in _text([check]) for secret in SECRETS)


def test_a_missing_impersonation_role_is_explained(sqlite_store, ews):
    profile = ews_profile(sqlite_store, ews, username=NO_ROLE_USER, password=NO_ROLE_PASSWORD)
    user_mailbox(sqlite_store, profile.id, email="alice@contoso.com", allow_credentials=False)
    (check,) = test_connection(sqlite_store, profile.id)
    assert not check.result.ok and "ErrorImpersonateUserDenied" in check.result.message


def test_without_a_mailbox_nothing_is_tried(sqlite_store, ews):
    profile = ews_profile(sqlite_store, ews)
    (check,) = test_connection(sqlite_store, profile.id)
    assert check.result is None and "No mailbox uses this profile yet" in check.note
    assert ews.server.requests == []


def test_windows_integrated_without_a_ticket(sqlite_store, ews):
    profile = ews_profile(sqlite_store, ews, auth_method=AuthMethod.WINDOWS_INTEGRATED)
    user_mailbox(sqlite_store, profile.id, email="alice@contoso.com", allow_credentials=False)
    (check,) = test_connection(sqlite_store, profile.id)
    assert not check.result.ok and "there is none for HTTP/127.0.0.1 here" in check.result.message
