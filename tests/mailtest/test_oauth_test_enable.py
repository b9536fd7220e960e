"""Test & Enable with OAuth (P14) against real servers: dovecot with `passdb oauth2` (IMAP, POP3), aiosmtpd
with XOAUTH2/OAUTHBEARER (SMTP), and the fixtures' token endpoint (Entra ID and Google styles; the one
stand-in, docs/testing-oauth.md). Each failure case asserts the actionable message and that no token,
secret or assertion reaches a result, an alert or the JSON."""

from __future__ import annotations

import json

import pytest
from mail_builders import server_profile, user_mailbox
from support.oauth import APP_CLIENT_ID, APP_SECRET, EXPIRED_CLIENT_ID, EXPIRED_SECRET, NO_CONSENT_CLIENT_ID
from support.oauth import NO_CONSENT_SECRET, TENANT_ID

from mailbox_tui.domain.options import AuthMethod, ServerType, TestStatus, TlsMode
from mailbox_tui.domain.records import PasswordEdit
from mailbox_tui.mailtest.plan import evaluate
from mailbox_tui.mailtest.runner import run_tests
from mailbox_tui.store import services
from mailbox_tui.store.models import MailboxAlert

S, F, N = TestStatus.SUCCESS, TestStatus.FAILURE, TestStatus.NOT_RUN


def microsoft_profile(store, oauth, *, client_id=APP_CLIENT_ID, secret=APP_SECRET, url=None, **changes):
    values = dict(auth_method=AuthMethod.OAUTH, oauth_client_id=client_id, oauth_tenant_id=TENANT_ID,
                  oauth_client_secret=PasswordEdit(new=secret) if secret else PasswordEdit(),
                  oauth_token_endpoint=url or oauth.token_url)
    values.update(changes)
    return server_profile(store, oauth.dovecot, oauth.smtp, **values)


def google_profile(store, oauth, account=None, **changes):
    account = account or oauth.registrations.service_account
    values = dict(auth_method=AuthMethod.GMAIL_OAUTH,
                  oauth_service_account_key=PasswordEdit(new=account.key_json(oauth.google_token_url)))
    values.update(changes)
    return server_profile(store, oauth.dovecot, oauth.smtp, **values)


def mailbox(store, profile, email="alice@example.com", **changes):
    return user_mailbox(store, profile.id, email=email, allow_credentials=False, **changes)


def statuses(outcome):
    return tuple(outcome.checks[d].status for d in ("incoming", "outgoing", "act"))


def no_leak(outcome, *secrets):
    text = json.dumps(outcome.as_dict())
    for secret in secrets:
        assert secret not in text
    assert "eyJ" not in text  # no JWT: access token or assertion


# ---------------------------------------------------------------- success, every protocol and TLS mode


@pytest.mark.parametrize("server_type, incoming_tls, outgoing_tls", [
    (ServerType.IMAP_SMTP, TlsMode.IMPLICIT, TlsMode.STARTTLS),
    (ServerType.IMAP_SMTP, TlsMode.STARTTLS, TlsMode.IMPLICIT),
    (ServerType.POP3_SMTP, TlsMode.IMPLICIT, TlsMode.STARTTLS),
    (ServerType.POP3_SMTP, TlsMode.STARTTLS, TlsMode.IMPLICIT),
], ids=["imaps-smtp-starttls", "imap-starttls-smtps", "pop3s-smtp-starttls", "pop3-stls-smtps"])
def test_microsoft_client_secret_signs_in_everywhere(sqlite_store, oauth, server_type, incoming_tls, outgoing_tls):
    profile = microsoft_profile(sqlite_store, oauth, server_type=server_type, incoming_tls=incoming_tls,
                                outgoing_tls=outgoing_tls)
    box = mailbox(sqlite_store, profile)
    outcome = evaluate(sqlite_store, box.id)
    assert statuses(outcome) == (S, S, N), outcome.as_dict()
    probe = outcome.checks["incoming"].probe
    assert "Token issued to the app" in probe.token and "IMAP.AccessAsApp" in probe.token
    no_leak(outcome, APP_SECRET)
    assert oauth.endpoint.request_counts()[(APP_CLIENT_ID, None)] == 1  # one token for both directions


@pytest.mark.parametrize("incoming_tls, outgoing_tls", [(TlsMode.IMPLICIT, TlsMode.STARTTLS),
                                                       (TlsMode.STARTTLS, TlsMode.IMPLICIT)])
def test_google_service_account_signs_in_for_the_mailbox(sqlite_store, oauth, incoming_tls, outgoing_tls):
    # Gmail OAuth is an IMAP/SMTP method (P5).
    profile = google_profile(sqlite_store, oauth, incoming_tls=incoming_tls, outgoing_tls=outgoing_tls)
    box = mailbox(sqlite_store, profile)
    outcome = evaluate(sqlite_store, box.id)
    assert statuses(outcome) == (S, S, N), outcome.as_dict()
    assert "alice@example.com" in outcome.checks["incoming"].probe.token
    account = oauth.registrations.service_account
    assert oauth.endpoint.request_counts()[(account.client_email, "alice@example.com")] == 1


def test_microsoft_certificate_assertion_signs_in(sqlite_store, oauth):
    pem = oauth.registrations.app.certificates[0].pem
    profile = microsoft_profile(sqlite_store, oauth, secret=None, oauth_certificate=PasswordEdit(new=pem))
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile).id)
    assert statuses(outcome) == (S, S, N), outcome.as_dict()
    (request,) = oauth.endpoint.requests
    assert request.auth_method == "private_key_jwt"
    no_leak(outcome, "PRIVATE KEY")


# ---------------------------------------------------------------- failures that say what to fix


def _failed(outcome, step="token"):
    check = outcome.checks["incoming"]
    assert check.status == F and check.step == step, outcome.as_dict()
    return check.message


def test_wrong_client_secret_says_so_with_its_aadsts_code(sqlite_store, oauth):
    profile = microsoft_profile(sqlite_store, oauth, secret="Wrong-secret-Q~000")
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile).id)
    message = _failed(outcome)
    assert "AADSTS7000215" in message and "client secret is wrong" in message and "Value" in message
    no_leak(outcome, "Wrong-secret-Q~000")


def test_expired_client_secret_says_so(sqlite_store, oauth):
    profile = microsoft_profile(sqlite_store, oauth, client_id=EXPIRED_CLIENT_ID, secret=EXPIRED_SECRET)
    message = _failed(evaluate(sqlite_store, mailbox(sqlite_store, profile).id))
    assert "AADSTS7000222" in message and "expired" in message and "new client secret" in message


def test_missing_consent_names_the_permissions(sqlite_store, oauth):
    oauth.endpoint.set_mode("consent_required")
    message = _failed(evaluate(sqlite_store, mailbox(sqlite_store, microsoft_profile(sqlite_store, oauth)).id))
    assert "AADSTS65001" in message and "IMAP.AccessAsApp" in message and "SMTP.SendAsApp" in message


def test_a_token_without_the_protocols_permission_is_refused_with_the_servers_reason(sqlite_store, oauth):
    profile = microsoft_profile(sqlite_store, oauth, client_id=NO_CONSENT_CLIENT_ID, secret=NO_CONSENT_SECRET)
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile).id)
    message = _failed(outcome, "authentication")
    assert '"status":"401"' in message and "IMAP.AccessAsApp" in message and "New-ServicePrincipal" in message
    assert outcome.checks["outgoing"].status == F and "SMTP.SendAsApp" in outcome.checks["outgoing"].message
    no_leak(outcome, NO_CONSENT_SECRET)


def test_a_mailbox_the_app_may_not_open_is_refused(sqlite_store, oauth):
    profile = microsoft_profile(sqlite_store, oauth)
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile, email="support@example.com").id)
    message = _failed(outcome, "authentication")
    assert "support@example.com" in message and "Add-MailboxPermission" in message


def test_an_expired_token_is_refused_at_the_token_step_and_never_sent(sqlite_store, oauth):
    """Issue 21: a token whose lifetime is not from 1 s to 1 day (here: over a minute ago) fails the token step,
    naming the endpoint; before, it went to the servers, which refused it ("token expired")."""
    oauth.endpoint.token_lifetime = -60
    sign_ins = len(oauth.smtp.attempts)
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, microsoft_profile(sqlite_store, oauth)).id)
    message = _failed(outcome, "token")
    assert f"token endpoint 127.0.0.1:{oauth.endpoint.port}" in message and "from 1 second to 1 day" in message
    assert len(oauth.smtp.attempts) == sign_ins


def test_a_token_for_another_address_is_refused(sqlite_store, oauth):
    oauth.endpoint.claim_overrides = {"email": "bob@example.com"}
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, google_profile(sqlite_store, oauth)).id)
    message = _failed(outcome, "authentication")
    assert "alice@example.com" in message and "domain-wide delegation" in message


def test_a_token_without_the_mail_scope_is_refused(sqlite_store, oauth):
    oauth.endpoint.scope_claim = "scp"
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, google_profile(sqlite_store, oauth)).id)
    assert '"status":"401"' in _failed(outcome, "authentication")


def test_google_without_delegation_says_how_to_grant_it(sqlite_store, oauth):
    account = oauth.registrations.service_account_without_delegation
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, google_profile(sqlite_store, oauth, account)).id)
    message = _failed(outcome)
    assert "unauthorized_client" in message and "Domain-wide delegation" in message
    assert "https://mail.google.com/" in message


def test_token_endpoint_down(sqlite_store, oauth):
    profile = microsoft_profile(sqlite_store, oauth, url=oauth.refused_url)
    assert "refused the connection" in _failed(evaluate(sqlite_store, mailbox(sqlite_store, profile).id))


def test_token_endpoint_with_an_untrusted_certificate_gets_nothing(sqlite_store, oauth):
    profile = microsoft_profile(sqlite_store, oauth, url=oauth.untrusted_endpoint.token_url(TENANT_ID))
    message = _failed(evaluate(sqlite_store, mailbox(sqlite_store, profile).id))
    assert "not trusted" in message and "nothing was sent" in message
    assert oauth.untrusted_endpoint.requests == []  # the client refused the certificate: nothing was asked


@pytest.mark.parametrize("mode", ["hang", "drip"])
def test_a_slow_token_endpoint_is_bounded_by_the_profiles_timeout(sqlite_store, oauth, mode):
    import time

    oauth.endpoint.set_mode(mode, **({"interval": 0.3} if mode == "drip" else {}))
    profile = microsoft_profile(sqlite_store, oauth, timeout_seconds=2)
    started = time.monotonic()
    message = _failed(evaluate(sqlite_store, mailbox(sqlite_store, profile).id))
    assert time.monotonic() - started < 6
    assert "did not answer within the profile's timeout (2 s)" in message


def test_a_server_error_page_is_said_plainly(sqlite_store, oauth):
    oauth.endpoint.set_mode("server_error_html")
    message = _failed(evaluate(sqlite_store, mailbox(sqlite_store, microsoft_profile(sqlite_store, oauth)).id))
    assert "HTTP 500" in message


def test_alerts_record_the_token_failure_without_secrets(sqlite_store, oauth):
    profile = microsoft_profile(sqlite_store, oauth, secret="Wrong-secret-Q~000")
    box = mailbox(sqlite_store, profile)
    report = run_tests(sqlite_store, [box.id])
    assert report.failures == 1
    alerts = [a.message for a in MailboxAlert.select().where(MailboxAlert.mailbox == box.id)]
    assert any("AADSTS7000215" in a for a in alerts)
    assert not any("Wrong-secret" in a or "eyJ" in a for a in alerts)
    assert services.get_mailbox(sqlite_store, box.id).incoming_status == F


# ---------------------------------------------------------------- many mailboxes, one token per address


def test_500_mailboxes_on_one_profile_fetch_one_token_per_address(sqlite_store, oauth):
    """Google: the token acts for the address, so one per address, however many mailboxes or probes use
    it (two mailboxes share each address here, and each mailbox probes IMAP and SMTP). Microsoft: an
    app-only token names no address, so one serves the whole profile."""
    from mail_builders import approve_all
    from support import builders

    from mailbox_tui.domain.options import IncomingMethod, OutgoingMethod

    approve_all(sqlite_store)
    google = google_profile(sqlite_store, oauth, name="Google")
    microsoft = microsoft_profile(sqlite_store, oauth, name="Microsoft")
    addresses = ["alice@example.com", "bob@example.com", "forward@example.com", "zoe@example.com"]
    ids = []
    for i in range(500):
        profile = google if i % 2 == 0 else microsoft
        _, box = builders.user(sqlite_store, f"User {i}", f"user{i}@example.com")
        address = addresses[(i // 2) % len(addresses)]
        saved = services.update_mailbox(sqlite_store, box, box.copy(
            profile_id=profile.id, incoming=IncomingMethod.SERVER_SIDE_SYNC,
            outgoing=OutgoingMethod.SERVER_SIDE_SYNC, username=address))
        ids.append(saved.id)
    report = run_tests(sqlite_store, ids, concurrency=32)
    assert report.successes == 500 and report.failures == 0, report.as_dict()
    account = oauth.registrations.service_account
    counts = oauth.endpoint.request_counts()
    assert {k: v for k, v in counts.items() if k[0] == account.client_email} == {
        (account.client_email, a): 1 for a in addresses}
    assert counts[(APP_CLIENT_ID, None)] == 1
    assert sum(counts.values()) == len(addresses) + 1


def test_a_failing_token_is_asked_for_once_per_run(sqlite_store, oauth):
    from mail_builders import approve_all
    from support import builders

    approve_all(sqlite_store)
    profile = microsoft_profile(sqlite_store, oauth, secret="Wrong-secret-Q~000")
    ids = [mailbox(sqlite_store, profile, email=f"user{i}@example.com").id for i in range(20)]
    report = run_tests(sqlite_store, ids, concurrency=8)
    assert report.failures == 20
    assert oauth.endpoint.request_counts()[(APP_CLIENT_ID, None)] == 1
    del builders


# ---------------------------------------------------------------- Test Connection (F8)


def test_test_connection_shows_the_tokens_expiry_scopes_and_identity(sqlite_store, oauth):
    from mailbox_tui.mailtest.connection import test_connection

    profile = microsoft_profile(sqlite_store, oauth)
    checks = test_connection(sqlite_store, profile.id)  # no mailbox uses it yet: the token and the greeting
    assert [c.result.ok for c in checks] == [True, True]
    assert "Token issued to the app" in checks[0].note and "valid until" in checks[0].note
    assert "IMAP.AccessAsApp" in checks[0].note and "eyJ" not in checks[0].note
    mailbox(sqlite_store, profile)
    checks = test_connection(sqlite_store, profile.id)
    assert all(c.result.ok and "Signed in" in c.result.message for c in checks)
    assert "valid until" in checks[0].result.token


def test_test_connection_on_an_exchange_online_profile_still_runs_the_token_step(sqlite_store, oauth):
    from support.builders import imap_profile

    from mailbox_tui.mailtest.connection import test_connection

    profile = imap_profile(sqlite_store, "Exchange Online", server_type=ServerType.EXCHANGE_ONLINE_HYBRID,
                           incoming_location="https://outlook.office365.com/EWS/Exchange.asmx",
                           outgoing_location="https://outlook.office365.com/EWS/Exchange.asmx",
                           auth_method=AuthMethod.OAUTH, oauth_client_id=APP_CLIENT_ID,
                           oauth_tenant_id=TENANT_ID, oauth_client_secret=PasswordEdit(new="Wrong-secret-Q~000"),
                           oauth_token_endpoint=oauth.token_url)
    checks = test_connection(sqlite_store, profile.id)
    assert "EWS" in checks[0].note
    assert checks[1].note.startswith("✗") and "AADSTS7000215" in checks[1].note
