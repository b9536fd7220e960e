"""What Test & Enable decides for a mailbox (docs/RULES.md): rules first, then real connections."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from mail_builders import approve_all, forward_mailbox, server_profile, user_mailbox
from support import builders
from support.mailservers import MAIL_USERS

from mailbox_tui.domain.options import AuthMethod, ServerType, TestStatus, TlsMode
from mailbox_tui.domain.records import PasswordEdit
from mailbox_tui.mailtest.plan import ACT, INCOMING, OUTGOING, evaluate, plan_mailbox
from mailbox_tui.mailtest.probes import GREETING, POP3
from mailbox_tui.mailtest.runner import run_tests
from mailbox_tui.store import queries, services
from mailbox_tui.store.database import Store

S, F, N = TestStatus.SUCCESS, TestStatus.FAILURE, TestStatus.NOT_RUN


def statuses(outcome) -> tuple[int, int, int]:
    return tuple(outcome.checks[d].status for d in (INCOMING, OUTGOING, ACT))


def test_imap_and_smtp_mailbox_succeeds_and_act_none_stays_not_run(sqlite_store, servers):
    profile = server_profile(sqlite_store, *servers)
    mailbox = user_mailbox(sqlite_store, profile.id)
    outcome = evaluate(sqlite_store, mailbox.id)
    assert statuses(outcome) == (S, S, N), outcome.as_dict()
    assert outcome.alerts == []
    assert outcome.checks[INCOMING].probe.protocol == "imap"
    assert outcome.checks[OUTGOING].probe.protocol == "smtp"


def test_pop3_smtp_profile_tests_incoming_over_pop3(sqlite_store, servers):
    profile = server_profile(sqlite_store, *servers, name="Test POP3", server_type=ServerType.POP3_SMTP,
                             incoming_tls=TlsMode.STARTTLS, outgoing_tls=TlsMode.IMPLICIT)
    mailbox = user_mailbox(sqlite_store, profile.id, email="bob@example.com")
    outcome = evaluate(sqlite_store, mailbox.id)
    assert statuses(outcome) == (S, S, N), outcome.as_dict()
    assert outcome.checks[INCOMING].probe.protocol == POP3


def test_unapproved_mailbox_while_approval_is_required_fails_with_the_a2_alert(sqlite_store, servers):
    profile = server_profile(sqlite_store, *servers)
    mailbox = user_mailbox(sqlite_store, profile.id, name="Alice Berg", approve=False)
    plan = plan_mailbox(sqlite_store, mailbox.id)
    assert plan.probes == []  # nothing connects
    run_tests(sqlite_store, [mailbox.id])
    stored = services.get_mailbox(sqlite_store, mailbox.id)
    assert (stored.incoming_status, stored.outgoing_status, stored.act_status) == (F, F, N)
    assert not stored.enabled_incoming and not stored.enabled_outgoing
    alerts = queries.mailbox_alerts(mailbox.id)
    assert [a.message for a in alerts if a.step == "rule A2"] == [
        "Email cannot be processed for mailbox Alice Berg because its email address is not approved."]
    assert alerts[0].step == "rule A2" and alerts[0].level == "error"
    # A rule is a permanent failure: each direction it stopped is disabled, saying so (issue 24).
    assert sorted(a.message.split(":")[0] for a in alerts if a.step == "disabled") == [
        "Incoming email disabled", "Outgoing email disabled"]


def test_approval_not_required_lets_an_unapproved_mailbox_through(sqlite_store, servers):
    approve_all(sqlite_store)
    profile = server_profile(sqlite_store, *servers)
    mailbox = user_mailbox(sqlite_store, profile.id, approve=False)
    assert statuses(evaluate(sqlite_store, mailbox.id)) == (S, S, N)


def test_act_server_side_sync_on_an_imap_profile_fails_naming_m15(sqlite_store, servers):
    dovecot, smtp = servers
    # Saved on an Exchange profile, which later became IMAP/SMTP (the rules refuse saving it directly).
    exchange = builders.imap_profile(sqlite_store, "Was Exchange", server_type=ServerType.EXCHANGE,
                                     incoming_location="https://mail.example.com/EWS/Exchange.asmx",
                                     outgoing_location="https://mail.example.com/EWS/Exchange.asmx")
    mailbox = user_mailbox(sqlite_store, exchange.id, act=1)
    changed = exchange.copy(server_type=ServerType.IMAP_SMTP, incoming_location="127.0.0.1",
                            outgoing_location="127.0.0.1", incoming_port=dovecot.imaps, outgoing_port=smtp.implicit,
                            incoming_tls=TlsMode.IMPLICIT, outgoing_tls=TlsMode.IMPLICIT, timeout_seconds=5)
    services.update_profile(sqlite_store, exchange, changed, keep_secrets=True)  # the password goes along (P15)
    outcome = evaluate(sqlite_store, mailbox.id)
    assert statuses(outcome) == (S, S, F), outcome.as_dict()
    act = outcome.checks[ACT]
    assert act.rule == "M15" and act.step == "rule M15"
    assert "needs an Exchange profile" in act.message
    assert [(a.step, a.level) for a in outcome.alerts] == [("rule M15", "error")]


def test_exchange_server_profile_is_planned_as_ews_at_its_url(sqlite_store):
    from mailbox_tui.mailtest.plan import plan_mailbox

    exchange = builders.imap_profile(sqlite_store, "Exchange", server_type=ServerType.EXCHANGE,
                                     incoming_location="https://mail.example.com/EWS/Exchange.asmx",
                                     outgoing_location="https://mail.example.com:8443/EWS/Exchange.asmx")
    mailbox = user_mailbox(sqlite_store, exchange.id, act=1)
    plan = plan_mailbox(sqlite_store, mailbox.id)
    endpoints = {d: (c.endpoint.protocol, c.endpoint.host, c.endpoint.port, c.endpoint.path, c.endpoint.operation)
                 for d, c in plan.checks.items()}
    assert endpoints == {INCOMING: ("ews", "mail.example.com", 443, "/EWS/Exchange.asmx", "incoming"),
                         OUTGOING: ("ews", "mail.example.com", 8443, "/EWS/Exchange.asmx", "outgoing"),
                         ACT: ("ews", "mail.example.com", 443, "/EWS/Exchange.asmx", "act")}
    credentials = plan.checks[INCOMING].credentials  # the mailbox's own: its own folders, no impersonation
    assert credentials.mailbox == "alice@example.com" and not credentials.impersonate


def test_outlook_and_none_methods_stay_not_run(sqlite_store, servers):
    profile = server_profile(sqlite_store, *servers)
    mailbox = user_mailbox(sqlite_store, profile.id, incoming=1, outgoing=0, act=0, allow_credentials=False)
    outcome = evaluate(sqlite_store, mailbox.id)
    assert statuses(outcome) == (N, N, N)
    assert outcome.alerts == [] and not outcome.failed and not outcome.tested


def test_wrong_password_fails_at_authentication_with_the_servers_answer(sqlite_store, servers):
    profile = server_profile(sqlite_store, *servers)
    mailbox = user_mailbox(sqlite_store, profile.id, password="Wrong-pw-Zz90^uu")
    outcome = evaluate(sqlite_store, mailbox.id)
    assert statuses(outcome) == (F, F, N)
    steps = {a.step for a in outcome.alerts}
    assert steps == {"authentication"}
    incoming = next(a for a in outcome.alerts if a.message.startswith("Incoming email"))
    assert "Login rejected" in incoming.message and "Server answered:" in incoming.message
    assert "Wrong-pw-Zz90^uu" not in repr(outcome.as_dict())


def test_profile_credentials_are_used_for_both_directions(sqlite_store, servers):
    profile = server_profile(sqlite_store, *servers, auth_method=AuthMethod.PROFILE_CREDENTIALS,
                             username="bob@example.com", password=PasswordEdit(new=MAIL_USERS["bob@example.com"]))
    mailbox = user_mailbox(sqlite_store, profile.id, allow_credentials=False)
    outcome = evaluate(sqlite_store, mailbox.id)
    assert statuses(outcome) == (S, S, N), outcome.as_dict()


def test_separate_outgoing_profile_credentials(sqlite_store, servers):
    profile = server_profile(sqlite_store, *servers, auth_method=AuthMethod.PROFILE_CREDENTIALS,
                             username="bob@example.com", password=PasswordEdit(new=MAIL_USERS["bob@example.com"]),
                             use_same_settings_for_outgoing=False, outgoing_auth_method=AuthMethod.PROFILE_CREDENTIALS,
                             outgoing_username="support@example.com",
                             outgoing_password=PasswordEdit(new="Wrong-for-smtp-1"))
    mailbox = user_mailbox(sqlite_store, profile.id, allow_credentials=False)
    outcome = evaluate(sqlite_store, mailbox.id)
    assert statuses(outcome) == (S, F, N), outcome.as_dict()
    assert "'support@example.com'" in outcome.checks[OUTGOING].message


def test_a_password_the_current_key_cannot_read_is_a_failure(sqlite_url, servers, monkeypatch):
    with Store(sqlite_url) as store:
        profile = server_profile(store, *servers)
        mailbox = user_mailbox(store, profile.id)
    monkeypatch.setenv("MAILBOX_TUI_KEY", Fernet.generate_key().decode())
    with Store(sqlite_url) as store:
        assert not store.key_ok
        outcome = evaluate(store, mailbox.id)
    assert statuses(outcome) == (F, F, N)
    assert all(c.message.startswith("The stored password can't be read with the current key")
               for c in (outcome.checks[INCOMING], outcome.checks[OUTGOING]))


def test_an_unreadable_profile_password_is_a_failure(sqlite_url, servers, monkeypatch):
    with Store(sqlite_url) as store:
        profile = server_profile(store, *servers, auth_method=AuthMethod.PROFILE_CREDENTIALS,
                                 username="bob@example.com", password=PasswordEdit(new=MAIL_USERS["bob@example.com"]))
        mailbox = user_mailbox(store, profile.id, allow_credentials=False)
    monkeypatch.setenv("MAILBOX_TUI_KEY", Fernet.generate_key().decode())
    with Store(sqlite_url) as store:
        outcome = evaluate(store, mailbox.id)
    assert outcome.checks[INCOMING].status == F
    assert "can't be read with the current key" in outcome.checks[INCOMING].message


def test_credentials_missing_after_the_profile_changed_fail_on_m10(sqlite_store, servers):
    profile = server_profile(sqlite_store, *servers, auth_method=AuthMethod.PROFILE_CREDENTIALS,
                             username="bob@example.com", password=PasswordEdit(new=MAIL_USERS["bob@example.com"]))
    mailbox = user_mailbox(sqlite_store, profile.id, allow_credentials=False)
    services.update_profile(sqlite_store, profile, profile.copy(auth_method=AuthMethod.USER_OR_QUEUE_CREDENTIALS))
    outcome = evaluate(sqlite_store, mailbox.id)
    assert statuses(outcome) == (F, F, N)
    assert outcome.checks[INCOMING].rule == "M10"
    assert len(outcome.alerts) == 1  # one alert for one finding, though it stops two directions


def test_an_authentication_method_this_tool_cannot_use_tests_the_connection_only(sqlite_store, servers):
    # Every method P5 allows on IMAP is tested now (OAuth too); a stored profile another writer gave
    # Windows Integrated Authentication is still tested as far as the tool can.
    from mailbox_tui.store.models import EmailServerProfile

    profile = server_profile(sqlite_store, *servers)
    EmailServerProfile.update(auth_method=AuthMethod.WINDOWS_INTEGRATED).where(
        EmailServerProfile.id == profile.id).execute()
    mailbox = user_mailbox(sqlite_store, profile.id, allow_credentials=False)
    outcome = evaluate(sqlite_store, mailbox.id)
    assert statuses(outcome) == (S, S, N), outcome.as_dict()
    assert outcome.checks[INCOMING].step == GREETING
    assert "Windows Integrated Authentication is not supported by this tool yet" in outcome.checks[INCOMING].message
    assert {a.level for a in outcome.alerts} == {"warning"}


def test_second_mailbox_receiving_the_same_address_fails_on_m5(sqlite_store, servers):
    profile = server_profile(sqlite_store, *servers)
    alice = user_mailbox(sqlite_store, profile.id)
    run_tests(sqlite_store, [alice.id])
    assert services.get_mailbox(sqlite_store, alice.id).enabled_incoming
    forward = forward_mailbox(sqlite_store, alice.owner_id, profile.id, email="alice@example.com",
                              password=MAIL_USERS["alice@example.com"])
    outcome = evaluate(sqlite_store, forward.id)
    assert outcome.checks[INCOMING].status == F and outcome.checks[INCOMING].rule == "M5"
    assert "already receives incoming email for this address" in outcome.checks[INCOMING].message


class TestForwardMailboxUsers:
    """Incoming = Forward Mailbox: Success only when an active forward mailbox passed its own test."""

    def test_without_any_forward_mailbox(self, sqlite_store):
        mailbox = user_mailbox(sqlite_store, None, incoming=3, outgoing=0, allow_credentials=False)
        outcome = evaluate(sqlite_store, mailbox.id)
        assert statuses(outcome) == (F, N, N)
        assert "there is no active forward mailbox" in outcome.checks[INCOMING].message

    def test_with_a_forward_mailbox_that_was_never_tested(self, sqlite_store, servers):
        profile = server_profile(sqlite_store, *servers)
        mailbox = user_mailbox(sqlite_store, None, incoming=3, outgoing=0, allow_credentials=False)
        forward_mailbox(sqlite_store, mailbox.owner_id, profile.id)
        outcome = evaluate(sqlite_store, mailbox.id)
        assert outcome.checks[INCOMING].status == F
        assert "no active forward mailbox has passed its incoming test" in outcome.checks[INCOMING].message
        assert "'Forward collector': Not Run" in outcome.checks[INCOMING].message

    def test_with_a_working_forward_mailbox_tested_in_the_same_run(self, sqlite_store, servers):
        profile = server_profile(sqlite_store, *servers)
        mailbox = user_mailbox(sqlite_store, None, incoming=3, outgoing=0, allow_credentials=False)
        forward = forward_mailbox(sqlite_store, mailbox.owner_id, profile.id)
        report = run_tests(sqlite_store, [mailbox.id, forward.id])  # the user first: the runner reorders
        assert report.failures == 0, report.as_dict()
        assert services.get_mailbox(sqlite_store, forward.id).incoming_status == S
        stored = services.get_mailbox(sqlite_store, mailbox.id)
        assert stored.incoming_status == S and stored.enabled_incoming

    def test_with_a_failing_forward_mailbox(self, sqlite_store, servers):
        profile = server_profile(sqlite_store, *servers)
        mailbox = user_mailbox(sqlite_store, None, incoming=3, outgoing=0, allow_credentials=False)
        forward = forward_mailbox(sqlite_store, mailbox.owner_id, profile.id, password="Wrong-pw-Zz90^uu")
        report = run_tests(sqlite_store, [mailbox.id, forward.id])
        assert report.failures == 2
        assert services.get_mailbox(sqlite_store, mailbox.id).incoming_status == F

    def test_an_inactive_forward_mailbox_does_not_count(self, sqlite_store, servers):
        profile = server_profile(sqlite_store, *servers)
        mailbox = user_mailbox(sqlite_store, None, incoming=3, outgoing=0, allow_credentials=False)
        forward = forward_mailbox(sqlite_store, mailbox.owner_id, profile.id)
        run_tests(sqlite_store, [forward.id])
        services.set_mailbox_state(sqlite_store, [forward.id], 1)
        assert evaluate(sqlite_store, mailbox.id).checks[INCOMING].status == F


@pytest.mark.parametrize("incoming_tls,outgoing_tls", [(TlsMode.NONE, TlsMode.NONE),
                                                       (TlsMode.STARTTLS, TlsMode.STARTTLS),
                                                       (TlsMode.IMPLICIT, TlsMode.IMPLICIT)])
def test_profile_security_settings_reach_the_probes(sqlite_store, servers, incoming_tls, outgoing_tls):
    profile = server_profile(sqlite_store, *servers, incoming_tls=incoming_tls, outgoing_tls=outgoing_tls)
    outcome = evaluate(sqlite_store, user_mailbox(sqlite_store, profile.id).id)
    assert statuses(outcome) == (S, S, N), outcome.as_dict()
    assert outcome.checks[INCOMING].probe.tls == incoming_tls
    assert outcome.checks[OUTGOING].probe.tls == outgoing_tls


def test_pinned_profile_certificate_is_trusted_without_the_trust_store(sqlite_store, dovecot, smtp_servers,
                                                                       mail_certificate, monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    profile = server_profile(sqlite_store, dovecot, smtp_servers)
    mailbox = user_mailbox(sqlite_store, profile.id)
    assert statuses(evaluate(sqlite_store, mailbox.id)) == (F, F, N)
    services.update_profile(sqlite_store, profile, profile.copy(incoming_cert_sha256=mail_certificate.sha256,
                                                                outgoing_cert_sha256=mail_certificate.sha256))
    assert statuses(evaluate(sqlite_store, mailbox.id)) == (S, S, N)
