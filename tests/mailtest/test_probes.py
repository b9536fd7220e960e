"""The probes against real servers: dovecot (IMAP, POP3) and aiosmtpd (SMTP). No mocks."""

from __future__ import annotations

import base64
import time

import pytest
from support.mailservers import MAIL_USERS, free_port

from mailbox_tui.domain.options import TlsMode
from mailbox_tui.mailtest.probes import (
    AUTHENTICATION,
    CONNECT,
    DNS,
    GREETING,
    IMAP,
    MAILBOX_ACCESS,
    POP3,
    SMTP,
    TLS,
    Credentials,
    Endpoint,
    fetch_certificate,
    probe,
    probe_imap,
    probe_pop3,
    probe_smtp,
)
from mailbox_tui.mailtest.redact import Redactor

HOST = "127.0.0.1"
ALICE = Credentials("alice@example.com", MAIL_USERS["alice@example.com"])
WRONG = Credentials("alice@example.com", "Wrong-pw-Zz90^uu")
MODES = {"plain": TlsMode.NONE, "starttls": TlsMode.STARTTLS, "implicit": TlsMode.IMPLICIT}


def port_for(protocol, mode, dovecot, smtp) -> int:
    if protocol == SMTP:
        return {"plain": smtp.plain, "starttls": smtp.starttls, "implicit": smtp.implicit}[mode]
    plain, tls = (dovecot.imap, dovecot.imaps) if protocol == IMAP else (dovecot.pop3, dovecot.pop3s)
    return tls if mode == "implicit" else plain


def assert_no_secret(result, *secrets):
    text = repr(result) + repr(result.as_dict())
    for secret in secrets:
        assert secret not in text
        assert base64.b64encode(secret.encode()).decode() not in text


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("protocol", [IMAP, POP3, SMTP])
def test_each_protocol_and_security_mode_signs_in(protocol, mode, servers):
    dovecot, smtp = servers
    result = probe(Endpoint(protocol, HOST, port_for(protocol, mode, dovecot, smtp), MODES[mode], 5), ALICE)
    assert result.ok, result.message
    assert result.step == (AUTHENTICATION if protocol == SMTP else MAILBOX_ACCESS)
    assert result.elapsed < 5
    if mode == "plain":
        assert result.tls_version == "" and result.certificate is None
    else:
        assert result.tls_version.startswith("TLSv1.")
        assert result.certificate.subject.endswith("CN=localhost") or "CN=localhost" in result.certificate.subject
        assert result.certificate.not_after > result.certificate.not_before
    assert_no_secret(result, ALICE.password)


def test_imap_opens_inbox_read_only_and_reports_it(servers):
    dovecot, _ = servers
    result = probe_imap(Endpoint(IMAP, "localhost", dovecot.imap, TlsMode.STARTTLS, 5), ALICE)
    assert result.ok, result.message
    assert "INBOX read-only" in result.message and "read-only" in result.server_answer


@pytest.mark.parametrize("protocol", [IMAP, POP3, SMTP])
def test_a_password_that_is_not_ascii_signs_in(protocol, servers):
    dovecot, smtp = servers
    zoe = Credentials("zoe@example.com", MAIL_USERS["zoe@example.com"])
    result = probe(Endpoint(protocol, HOST, port_for(protocol, "implicit", dovecot, smtp), TlsMode.IMPLICIT, 5), zoe)
    assert result.ok, result.message
    assert_no_secret(result, zoe.password)


@pytest.mark.parametrize("protocol", [IMAP, POP3, SMTP])
def test_wrong_password_is_a_rejected_login_with_the_servers_answer(protocol, servers):
    dovecot, smtp = servers
    result = probe(Endpoint(protocol, HOST, port_for(protocol, "implicit", dovecot, smtp), TlsMode.IMPLICIT, 5), WRONG)
    assert not result.ok
    assert result.step == AUTHENTICATION
    assert result.message.startswith("Login rejected for user 'alice@example.com'")
    assert result.server_answer  # e.g. "[AUTHENTICATIONFAILED] Authentication failed." or "535 5.7.8 ..."
    assert_no_secret(result, WRONG.password)


@pytest.mark.parametrize("protocol", [IMAP, POP3, SMTP])
def test_tls_client_on_a_plain_port_fails_the_handshake(protocol, servers):
    dovecot, smtp = servers
    result = probe(Endpoint(protocol, HOST, port_for(protocol, "plain", dovecot, smtp), TlsMode.IMPLICIT, 3), ALICE)
    assert not result.ok and result.step == TLS
    assert "TLS handshake failed" in result.message and "plain (non-TLS) port" in result.message
    assert result.elapsed < 3


@pytest.mark.parametrize("protocol", [IMAP, POP3, SMTP])
def test_plain_client_on_a_tls_port_times_out_waiting_for_the_greeting(protocol, servers):
    dovecot, smtp = servers
    started = time.monotonic()
    result = probe(Endpoint(protocol, HOST, port_for(protocol, "implicit", dovecot, smtp), TlsMode.NONE, 1), ALICE)
    assert time.monotonic() - started < 3
    assert not result.ok and result.step == GREETING
    assert result.message.startswith("Timed out after 1 s")
    assert "SSL/STARTTLS setting" in result.message


def test_starttls_where_the_server_does_not_offer_it(servers):
    _, smtp = servers
    result = probe_smtp(Endpoint(SMTP, HOST, smtp.plain, TlsMode.STARTTLS, 3), ALICE)
    assert not result.ok and result.step == TLS
    assert "STARTTLS is not offered" in result.message


def test_login_method_not_offered_before_starttls(servers):
    # aiosmtpd with STARTTLS required advertises no AUTH on the plain connection.
    _, smtp = servers
    result = probe_smtp(Endpoint(SMTP, HOST, smtp.starttls, TlsMode.NONE, 3), ALICE)
    assert not result.ok and result.step == AUTHENTICATION
    assert result.message.startswith("Login method not offered here")


def test_connection_refused_names_host_and_port():
    port = free_port()  # nothing listens there
    result = probe_imap(Endpoint(IMAP, HOST, port, TlsMode.IMPLICIT, 3), ALICE)
    assert not result.ok and result.step == CONNECT
    assert f"Connection refused: nothing accepts connections at {HOST}:{port}" in result.message


def test_a_host_name_that_does_not_resolve():
    result = probe_pop3(Endpoint(POP3, "no-such-host.invalid", 995, TlsMode.IMPLICIT, 5), ALICE)
    assert not result.ok and result.step == DNS
    assert "Host name not found: 'no-such-host.invalid'" in result.message


@pytest.mark.parametrize("protocol,mode", [(IMAP, "implicit"), (POP3, "starttls"), (SMTP, "starttls")])
def test_untrusted_self_signed_certificate_then_pinned(protocol, mode, dovecot, smtp_servers, mail_certificate,
                                                       monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)  # the system trust store only
    port = port_for(protocol, mode, dovecot, smtp_servers)
    untrusted = probe(Endpoint(protocol, HOST, port, MODES[mode], 5), ALICE)
    assert not untrusted.ok and untrusted.step == TLS
    assert untrusted.message.startswith("Certificate not trusted")
    assert "self-signed certificate" in untrusted.message

    fetched = fetch_certificate(Endpoint(protocol, HOST, port, MODES[mode], 5))
    assert fetched.ok, fetched.message
    assert fetched.certificate.sha256 == mail_certificate.sha256
    assert fetched.certificate.self_signed and "CN=localhost" in fetched.certificate.subject

    pinned = probe(Endpoint(protocol, HOST, port, MODES[mode], 5, pin_sha256=fetched.certificate.sha256), ALICE)
    assert pinned.ok, pinned.message
    assert pinned.certificate.sha256 == mail_certificate.sha256


def test_a_pin_that_does_not_match_refuses_before_sending_credentials(smtp_servers, trust_mail_certificate):
    # Even a certificate the system trusts is refused when the profile pins another one.
    tried_before = len(smtp_servers.authenticator.attempts)
    wrong_pin = "ab" * 32
    for port, mode in ((smtp_servers.implicit, TlsMode.IMPLICIT), (smtp_servers.starttls, TlsMode.STARTTLS)):
        result = probe_smtp(Endpoint(SMTP, HOST, port, mode, 5, pin_sha256=wrong_pin), ALICE)
        assert not result.ok and result.step == TLS
        assert "not the one pinned in the profile" in result.message and "Nothing was sent" in result.message
    assert len(smtp_servers.authenticator.attempts) == tried_before


def test_pin_accepts_colons_and_upper_case(dovecot, mail_certificate, monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    sha = mail_certificate.sha256
    pin = ":".join(sha[i:i + 2] for i in range(0, len(sha), 2)).upper()
    result = probe_imap(Endpoint(IMAP, HOST, dovecot.imaps, TlsMode.IMPLICIT, 5, pin_sha256=pin), ALICE)
    assert result.ok, result.message


def test_fetch_certificate_on_a_plain_endpoint_says_there_is_none(dovecot):
    result = fetch_certificate(Endpoint(IMAP, HOST, dovecot.imap, TlsMode.NONE, 5))
    assert not result.ok and "does not use TLS" in result.message


@pytest.mark.parametrize("protocol,tls", [(IMAP, TlsMode.IMPLICIT), (POP3, TlsMode.NONE), (SMTP, TlsMode.STARTTLS)])
def test_a_server_that_never_speaks_times_out_in_bounded_time(protocol, tls, silent_server):
    started = time.monotonic()
    result = probe(Endpoint(protocol, HOST, silent_server.port, tls, 1), ALICE)
    took = time.monotonic() - started
    assert not result.ok
    assert result.step in (TLS, GREETING)
    assert result.message.startswith("Timed out after 1 s")
    assert 0.9 <= took < 2.5


def test_anonymous_probe_stops_after_the_greeting(servers):
    dovecot, smtp = servers
    imap = probe_imap(Endpoint(IMAP, HOST, dovecot.imaps, TlsMode.IMPLICIT, 5))
    assert imap.ok and imap.step == GREETING and "no credentials to test" in imap.message
    sm = probe_smtp(Endpoint(SMTP, HOST, smtp.starttls, TlsMode.STARTTLS, 5))
    assert sm.ok and sm.step == TLS and sm.tls_version


def test_redactor_removes_the_password_and_its_base64_forms():
    password = "Alice-pw-Qx81!zz"
    redact = Redactor([password])
    plain_blob = base64.b64encode(f"\0alice@example.com\0{password}".encode()).decode()
    for text in (f"LOGIN alice {password}", f"AUTH PLAIN {plain_blob}",
                 base64.b64encode(password.encode()).decode(), repr(password.encode()),
                 base64.b64encode(f"xx{password}yy".encode()).decode()):
        cleaned = redact(text)
        assert password not in cleaned
        assert base64.b64encode(password.encode()).decode().rstrip("=") not in cleaned
        assert "***" in cleaned
    assert redact("nothing secret here") == "nothing secret here"


def test_a_profile_form_can_fetch_the_certificate_to_pin_before_saving(dovecot, smtp_servers, mail_certificate):
    from mailbox_tui.domain.records import ProfileDraft
    from mailbox_tui.mailtest.plan import INCOMING, OUTGOING, profile_endpoint

    draft = ProfileDraft(name="Unsaved", incoming_location=HOST, incoming_port=dovecot.imap,
                         incoming_tls=TlsMode.STARTTLS, outgoing_location=HOST, outgoing_port=smtp_servers.implicit,
                         outgoing_tls=TlsMode.IMPLICIT, timeout_seconds=5)
    for direction in (INCOMING, OUTGOING):
        fetched = fetch_certificate(profile_endpoint(draft, direction))
        assert fetched.ok, fetched.message
        assert fetched.certificate.sha256 == mail_certificate.sha256
    assert profile_endpoint(draft.copy(outgoing_location=""), OUTGOING) is None
