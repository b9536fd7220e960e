"""Probes against servers that misbehave on purpose (tests/support/hostile.py), all on 127.0.0.1.

Each test asserts what the admin sees (the result's step and message), that the probe stays
bounded (its elapsed time against the profile's timeout, its memory under a flood), and, on
the server side, which bytes arrived: no password where none may go, no injected command.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

import pytest
from support.hostile import (
    FLOOD_MAX,
    HostileServer,
    drip,
    flood,
    imap,
    pop3,
    server_tls,
    smtp,
    with_base64_decoded,
)
from support.mailservers import make_certificate

from mailbox_tui.domain.options import TlsMode
from mailbox_tui.mailtest.limits import READ_LIMIT
from mailbox_tui.mailtest.plan import INCOMING, DirectionTest, MailboxTestPlan
from mailbox_tui.mailtest.runner import CANCELLED, TestRunner
from mailbox_tui.mailtest.probes import (
    ANSWER_MAX,
    AUTHENTICATION,
    GREETING,
    IMAP,
    POP3,
    SMTP,
    TLS,
    Credentials,
    Endpoint,
    probe,
)

HOST = "127.0.0.1"
PASSWORD = "Qx81-Lm27-Hg93"
ALICE = Credentials("alice@example.com", PASSWORD)


@pytest.fixture
def hostile():
    """start(script, **options) -> a running HostileServer, stopped after the test."""
    started: list[HostileServer] = []

    def start(script, **options) -> HostileServer:
        server = HostileServer(script, **options).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def impostor_certificate():
    """Self-signed, for another name (impostor.example), not 127.0.0.1."""
    folder = Path(tempfile.mkdtemp(prefix="mailbox-tui-impostor-"))
    try:
        yield make_certificate(folder, "impostor.example", hosts=("impostor.example",))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def imap_quoted(secret: str) -> str:
    """As imaplib puts a LOGIN password between double quotes (RFC 3501 quoted string)."""
    return secret.replace("\\", "\\\\").replace('"', '\\"')


def forms_of(secret: str) -> list[str]:
    """The secret as a client sends it or a server might echo it: raw, IMAP-quoted, JSON-escaped,
    with its whitespace collapsed, and base64 (alone, as AUTH LOGIN sends it)."""
    return [secret, imap_quoted(secret), json.dumps(secret)[1:-1], " ".join(secret.split()),
            base64.b64encode(secret.encode()).decode()]


def assert_no_fragment(texts, secret: str, size: int = 6) -> None:
    """No `size`-character piece of any form of the secret in any text: not even half a password."""
    for form in forms_of(secret):
        for start in range(0, max(1, len(form) - size + 1)):
            piece = form[start:start + size]
            for text in texts:
                assert piece not in text, f"{piece!r} of {secret!r} leaked into {text!r}"


def texts_of(result, secret: str) -> list[str]:
    """Every text a probe's result becomes: the result itself, its JSON, and the alert it gives."""
    check = DirectionTest(INCOMING, None, endpoint=Endpoint(result.protocol, result.host, result.port, result.tls))
    outcome = MailboxTestPlan(1, "Echo", "echo@example.com", {INCOMING: check}, secrets=(secret,)).conclude(
        {INCOMING: result})
    return [repr(result), json.dumps(result.as_dict()), json.dumps(outcome.as_dict())]


# ---------------------------------------------------------------- a server that drips one byte a second


@pytest.mark.parametrize("protocol,greeting", [
    (IMAP, b"* OK hostile IMAP ready "),
    (POP3, b"+OK hostile POP3 ready "),
    (SMTP, b"220 hostile SMTP ready "),
], ids=[IMAP, POP3, SMTP])
def test_one_byte_drip_ends_at_the_profiles_timeout(hostile, protocol, greeting):
    server = hostile(drip(greeting, interval=0.5), lifetime=10)
    result = probe(Endpoint(protocol, HOST, server.port, TlsMode.NONE, 2), ALICE)
    assert not result.ok and result.step == GREETING
    assert result.message.startswith("Timed out after 2 s"), result.message
    assert "byte" in result.message  # says what the server did: a trickle, not silence
    assert 1.9 <= result.elapsed < 3.0  # the whole probe, not each read (the drip goes on for 10 s)
    assert PASSWORD.encode() not in server.received


def test_one_byte_drip_after_tls_and_greeting_is_bounded_too(hostile, mail_certificate):
    # Greeting and TLS fine, then LOGIN is answered by an untagged line about every second, never
    # the tagged answer: no read ever waits long, and the timeout still bounds the whole probe.
    def script(s):
        s.send(b"* OK [CAPABILITY IMAP4rev1] ready\r\n")
        line = s.readline()  # CAPABILITY
        s.send(b"* CAPABILITY IMAP4rev1\r\n" + line.split()[0] + b" OK done\r\n")
        s.readline()  # LOGIN
        drip(b"* OK still thinking\r\n", interval=0.05)(s)

    server = hostile(script, tls=server_tls(mail_certificate), lifetime=10)
    result = probe(Endpoint(IMAP, HOST, server.port, TlsMode.IMPLICIT, 2, pin_sha256=mail_certificate.sha256),
                   ALICE)
    assert not result.ok and result.step == AUTHENTICATION
    assert result.message.startswith("Timed out after 2 s"), result.message
    assert 1.9 <= result.elapsed < 3.0


# ---------------------------------------------------------------- a flood of untagged lines


@pytest.mark.parametrize("protocol,tls,script", [
    (IMAP, TlsMode.NONE, flood(b"* OK hostile IMAP ready\r\n", b"* 1 RECENT and some flood text\r\n")),
    (POP3, TlsMode.STARTTLS, flood(b"+OK hostile POP3 ready\r\n", b"X-FLOOD and some flood text\r\n",
                                   after=b"CAPA", reply=b"+OK\r\n")),
    (SMTP, TlsMode.NONE, flood(b"220-hostile SMTP\r\n", b"220-and some flood text\r\n")),
], ids=[IMAP, POP3, SMTP])
def test_a_flood_is_cut_off_with_bounded_memory_and_reported(hostile, protocol, tls, script):
    server = hostile(script, lifetime=10)
    tracemalloc.start()
    try:
        result = probe(Endpoint(protocol, HOST, server.port, tls, 8), ALICE)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert not result.ok
    assert f"sent more than {READ_LIMIT // 1024} KiB" in result.message, result.message
    assert peak < 8 * 1024 * 1024, f"the probe grew by {peak / 1e6:.1f} MB"
    assert result.elapsed < 4
    assert len(result.server_answer) <= ANSWER_MAX + 1
    server.settle()
    assert server.sessions[0].sent < FLOOD_MAX  # the client left: the flood did not run its course
    assert PASSWORD.encode() not in server.received


# ---------------------------------------------------------------- a server that echoes the login line

ECHO_PASSWORDS = {
    "quote and backslash": 'Qx"81\\zz"Lm27',
    "two spaces": "Qx81  Lm27  zz",
    "no-break spaces": "Qx81\u00a0Lm27\u00a0zz",  # (a tab was here: M20 refuses it now, nothing sends it)
    "not ASCII (AUTH PLAIN)": 'Zö"81\\Lm27 Ω',
    "long": "Qx81-" + "".join(f"{i:03d}Lm" for i in range(38)),  # 195: a password may have 200
    "short": 'Q"x8!',  # under 8 characters: masked where it stands as a credential (issue 21), as here
}


def echoed(head: bytes, what: bytes, secret_starts: int, secret_at: int | None, collapse: bool) -> bytes:
    """`head`, padding and the client's words echoed. With `secret_at`, the padding puts the echoed
    secret (at `secret_starts` in `what`) at that character of the answer: astride the 500-character cut."""
    if collapse:
        what = b" ".join(what.split())
    glue = b" you sent: "
    pad = 1 if secret_at is None else max(1, secret_at - len(head) - len(glue) - secret_starts)
    return head + b"x" * pad + glue + what + b"\r\n"


def imap_echo(secret_at=None, collapse=False):
    def login(tag, line):  # LOGIN's line, or AUTHENTICATE PLAIN's base64 blob
        starts = line.find(b'"') + 1 if line.startswith(tag + b" ") else 0
        return tag + b" NO " + echoed(b"[AUTHENTICATIONFAILED] ", line, starts, secret_at, collapse)

    return imap("IMAP4rev1 AUTH=PLAIN", login=login)


def pop3_echo(secret_at=None, collapse=False):
    return pop3(password=lambda line: b"-ERR " + echoed(b"[AUTH] ", line, len(b"PASS "), secret_at, collapse))


def smtp_echo(secret_at=None, collapse=False):
    return smtp(auth=lambda what: b"535 5.7.8 " + echoed(b"denied ", what, len(b"AUTH PLAIN "), secret_at, collapse))


@pytest.mark.parametrize("secret", ECHO_PASSWORDS.values(), ids=ECHO_PASSWORDS.keys())
@pytest.mark.parametrize("where", ["start", "astride the cut", "collapsed by the server"])
@pytest.mark.parametrize("protocol", [IMAP, POP3, SMTP])
def test_a_server_echoing_the_login_never_gets_the_password_into_a_result_or_alert(hostile, protocol, where,
                                                                                  secret):
    secret_at = ANSWER_MAX - 8 if where == "astride the cut" else None
    collapse = where == "collapsed by the server"
    script = {IMAP: imap_echo, POP3: pop3_echo, SMTP: smtp_echo}[protocol](secret_at, collapse)
    server = hostile(script, lifetime=10)
    result = probe(Endpoint(protocol, HOST, server.port, TlsMode.NONE, 5), Credentials("alice@example.com", secret))
    assert not result.ok and result.step == AUTHENTICATION, result.message
    assert "you sent" in result.server_answer  # the echo is there, the password is not
    arrived = with_base64_decoded(server.received)
    assert secret.encode() in arrived or imap_quoted(secret).encode() in arrived  # it did reach the server
    assert_no_fragment(texts_of(result, secret), secret)


# ---------------------------------------------------------------- control characters (CR, LF, NUL, ^A...) never reach a server


@pytest.mark.parametrize("protocol,username,password,field", [
    (IMAP, "alice@example.com", "Qx81\r\nX1 DELETE INBOX", "password"),
    (IMAP, "alice@example.com\r\nX1 DELETE INBOX", PASSWORD, "user name"),
    (POP3, "u\r\nDELE 1", PASSWORD, "user name"),
    (POP3, "alice@example.com", "Qx81\nDELE 1", "password"),
    (SMTP, "alice@example.com", "Qx81\rRSET", "password"),
    (IMAP, "alice\0@example.com", PASSWORD, "user name"),
    (POP3, "alice@example.com", "Qx81\0Lm27", "password"),
    # Issue 21: every control character (M20), not only CR, LF and NUL.
    (SMTP, "alice@example.com\x01auth=Bearer injected", PASSWORD, "user name"),
    (IMAP, "alice@example.com", "Qx81\x1b]52;c;Y3VybA==\x07", "password"),
    (POP3, "alice@example.com", "Qx81\tLm27", "password"),
    (SMTP, "alice@example.com", "Qx81\x7f", "password"),
    (IMAP, "alice\x9b2J@example.com", PASSWORD, "user name"),
])
def test_a_control_character_in_credentials_is_refused_and_nothing_is_sent(hostile, protocol, username, password, field):
    script = {IMAP: imap(), POP3: pop3(), SMTP: smtp()}[protocol]
    server = hostile(script, lifetime=10)
    result = probe(Endpoint(protocol, HOST, server.port, TlsMode.NONE, 5), Credentials(username, password))
    assert not result.ok and result.step == AUTHENTICATION
    assert f"The {field} contains" in result.message and "Nothing was sent" in result.message, result.message
    server.settle()
    assert server.connections == 0 and server.received == b""  # not even a greeting was asked for
    assert_no_fragment(texts_of(result, password), password)


# ---------------------------------------------------------------- an impostor's certificate


def impostor_imap(hostile, certificate):
    """Implicit TLS, a certificate for impostor.example, and any login accepted."""
    return hostile(imap(), tls=server_tls(certificate), lifetime=10)


@pytest.mark.parametrize("pin", ["-", "x", "z" * 64, "ab" * 31, "ab" * 33, "ab" * 32 + "-", "０" * 64],
                         ids=["dash", "x", "64 non-hex", "62 hex", "66 hex", "64 hex and a dash", "fullwidth digits"])
def test_a_pin_that_is_not_a_sha256_never_turns_verification_off(hostile, impostor_certificate, pin):
    server = impostor_imap(hostile, impostor_certificate)
    result = probe(Endpoint(IMAP, HOST, server.port, TlsMode.IMPLICIT, 5, pin_sha256=pin), ALICE)
    assert not result.ok and result.step == TLS
    assert "Nothing was sent" in result.message, result.message
    server.settle()
    assert PASSWORD.encode() not in server.received and b"LOGIN" not in server.received


def test_a_malformed_pin_says_so(hostile, impostor_certificate):
    server = impostor_imap(hostile, impostor_certificate)
    result = probe(Endpoint(IMAP, HOST, server.port, TlsMode.IMPLICIT, 5, pin_sha256="-"), ALICE)
    assert "is not a SHA-256 fingerprint" in result.message and "64 hex digits" in result.message


def test_the_impostor_without_a_pin_is_not_trusted(hostile, impostor_certificate, monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    server = impostor_imap(hostile, impostor_certificate)
    result = probe(Endpoint(IMAP, HOST, server.port, TlsMode.IMPLICIT, 5), ALICE)
    assert not result.ok and result.step == TLS and result.message.startswith("Certificate not trusted")
    server.settle()
    assert PASSWORD.encode() not in server.received


def test_a_trusted_certificate_for_another_name_is_refused(hostile, impostor_certificate, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(impostor_certificate.cert))  # its CA is trusted; its name is wrong
    server = impostor_imap(hostile, impostor_certificate)
    result = probe(Endpoint(IMAP, HOST, server.port, TlsMode.IMPLICIT, 5), ALICE)
    assert not result.ok and result.step == TLS
    assert "Certificate not trusted" in result.message and "mismatch" in result.message
    server.settle()
    assert PASSWORD.encode() not in server.received


def test_the_impostor_with_its_own_pin_is_trusted_only_by_that_exact_match(hostile, impostor_certificate):
    server = impostor_imap(hostile, impostor_certificate)
    sha = impostor_certificate.sha256
    spaced = " ".join(sha[i:i + 2] for i in range(0, 64, 2)).upper()
    assert probe(Endpoint(IMAP, HOST, server.port, TlsMode.IMPLICIT, 5, pin_sha256=spaced), ALICE).ok
    other = sha[:-1] + ("0" if sha[-1] != "0" else "1")
    before = server.received.count(PASSWORD.encode())
    refused = probe(Endpoint(IMAP, HOST, server.port, TlsMode.IMPLICIT, 5, pin_sha256=other), ALICE)
    assert not refused.ok and "not the one pinned" in refused.message
    server.settle()
    assert server.received.count(PASSWORD.encode()) == before


# ---------------------------------------------------------------- STARTTLS required but not given


@pytest.mark.parametrize("protocol,script", [
    (IMAP, imap("IMAP4rev1 AUTH=PLAIN")),
    (IMAP, imap("IMAP4rev1 STARTTLS AUTH=PLAIN")),  # offered, then refused (NO)
    (POP3, pop3(("USER",))),
    (POP3, pop3(("USER", "STLS"))),  # offered, then refused (-ERR)
    (SMTP, smtp(("AUTH PLAIN LOGIN",))),
    (SMTP, smtp(("AUTH PLAIN LOGIN", "STARTTLS"))),  # offered, then refused (454)
], ids=["imap-not-offered", "imap-refused", "pop3-not-offered", "pop3-refused", "smtp-not-offered",
        "smtp-refused"])
def test_starttls_required_but_not_given_sends_no_credentials(hostile, protocol, script):
    server = hostile(script, lifetime=10)
    result = probe(Endpoint(protocol, HOST, server.port, TlsMode.STARTTLS, 5), ALICE)
    assert not result.ok and result.step == TLS, result.message
    server.settle()
    for word in (PASSWORD.encode(), b"LOGIN", b"USER", b"PASS", b"AUTH"):
        assert word not in server.received.upper() if word != PASSWORD.encode() else word not in server.received
    assert_no_fragment(texts_of(result, PASSWORD), PASSWORD)


# ---------------------------------------------------------------- protocol violations said as such


def test_smtp_line_too_long_is_reported_as_what_the_server_did(hostile):
    server = hostile(smtp(greeting=b"220 " + b"x" * 9000 + b"\r\n"), lifetime=10)
    result = probe(Endpoint(SMTP, HOST, server.port, TlsMode.NONE, 5), ALICE)
    assert not result.ok and result.step == GREETING
    assert "Could not reach" not in result.message
    assert "sent a line longer than 8192 bytes" in result.message, result.message


@pytest.mark.parametrize("protocol,greeting,said", [
    (POP3, b"+OK " + b"x" * 3000 + b"\r\n", "sent a line longer than 2048 bytes"),
    (SMTP, b"hello, I am not a mail server\r\n", "does not speak SMTP"),
    (IMAP, b"hello, I am not a mail server\r\n", "does not speak IMAP"),
    (POP3, b"hello, I am not a mail server\r\n", "does not speak POP3"),
], ids=["pop3-line-too-long", "smtp-not-smtp", "imap-not-imap", "pop3-not-pop3"])
def test_other_protocol_violations_say_what_the_server_did(hostile, protocol, greeting, said):
    def script(s):
        s.send(greeting)
        s.sleep(3)

    server = hostile(script, lifetime=10)
    result = probe(Endpoint(protocol, HOST, server.port, TlsMode.NONE, 5), ALICE)
    assert not result.ok and result.step == GREETING
    assert "Could not reach" not in result.message
    assert said in result.message, result.message


# ---------------------------------------------------------------- a run's cancel and deadline end stuck probes


def drip_organisation(store, imap_server, smtp_server, count=4):
    """Mailboxes whose incoming and outgoing servers both drip, with the default 30 s timeout."""
    from mail_builders import user_mailbox
    from support import builders

    profile = builders.imap_profile(store, "Drip", incoming_location=HOST, incoming_port=imap_server.port,
                                    incoming_tls=TlsMode.NONE, outgoing_location=HOST,
                                    outgoing_port=smtp_server.port, outgoing_tls=TlsMode.NONE, timeout_seconds=30)
    return [user_mailbox(store, profile.id, email=f"user{i}@example.com", name=f"User {i}", password=PASSWORD).id
            for i in range(count)]


def probe_threads() -> list:
    return [t for t in threading.enumerate() if t.name.startswith("mailtest")]


def test_cancel_ends_probes_stuck_on_a_drip_at_once(hostile, sqlite_store):
    imap_server = hostile(drip(b"* OK dripping "), lifetime=15)
    smtp_server = hostile(drip(b"220 dripping "), lifetime=15)
    ids = drip_organisation(sqlite_store, imap_server, smtp_server)
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    started = time.monotonic()
    report = TestRunner(sqlite_store, concurrency=8, cancel=cancel).run(ids)
    assert time.monotonic() - started < 2.0
    assert report.cancelled and [n.reason for n in report.not_run] == [CANCELLED] * 4
    assert sorted(n.label for n in report.not_run)[0] == "User 0 <user0@example.com>"
    until = time.monotonic() + 3
    while probe_threads() and time.monotonic() < until:
        time.sleep(0.05)
    assert probe_threads() == []  # no probe is left reading from the drip
    assert imap_server.connections == smtp_server.connections == 4


def test_cli_deadline_prints_results_and_exits_on_time(hostile, sqlite_url, tmp_path):
    from mailbox_tui.store.database import Store

    imap_server = hostile(drip(b"* OK dripping "), lifetime=20)
    smtp_server = hostile(drip(b"220 dripping "), lifetime=20)
    with Store(sqlite_url) as store:
        drip_organisation(store, imap_server, smtp_server, count=2)
    log = tmp_path / "test.log"
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "mailbox_tui", "test", "--db", sqlite_url, "--all",
                             "--deadline", "2", "--log", str(log)], capture_output=True, text=True, timeout=60,
                            stdin=subprocess.DEVNULL)
    took = time.monotonic() - started
    assert result.returncode == 1, result.stderr
    # Python's start and imports take about 1 s; the drip would keep a stuck process alive for 20 s.
    assert took < 6, f"the process took {took:.1f} s to exit after a 2 s deadline"
    assert "Not Run  User 0 <user0@example.com>: deadline reached" in result.stdout, result.stdout
    assert "Not Run  User 1 <user1@example.com>: deadline reached" in result.stdout
    assert "0 tested: 0 succeeded, 0 failed, 2 not tested" in result.stdout
    assert "Traceback" not in result.stderr
    assert_no_fragment([result.stdout, result.stderr, log.read_text()], PASSWORD)


def test_login_echo_leaves_no_password_in_stored_alerts_output_or_log(hostile, sqlite_url, tmp_path):
    from mail_builders import user_mailbox
    from support import builders

    from mailbox_tui.store import queries
    from mailbox_tui.store.database import Store

    imap_server = hostile(imap_echo(secret_at=ANSWER_MAX - 8), lifetime=30)
    smtp_server = hostile(smtp_echo(secret_at=ANSWER_MAX - 8), lifetime=30)
    with Store(sqlite_url) as store:
        profile = builders.imap_profile(store, "Echo", incoming_location=HOST, incoming_port=imap_server.port,
                                        incoming_tls=TlsMode.NONE, outgoing_location=HOST,
                                        outgoing_port=smtp_server.port, outgoing_tls=TlsMode.NONE, timeout_seconds=5)
        ids = [user_mailbox(store, profile.id, email=f"echo{i}@example.com", password=secret).id
               for i, secret in enumerate(ECHO_PASSWORDS.values())]
    log = tmp_path / "test.log"
    result = subprocess.run([sys.executable, "-m", "mailbox_tui", "test", "--db", sqlite_url, "--all",
                             "--log", str(log)], capture_output=True, text=True, timeout=60,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"0 succeeded, {len(ids)} failed" in result.stdout
    with Store(sqlite_url):
        alerts = [a.message for i in ids for a in queries.mailbox_alerts(i) if a.step != "disabled"]
        alerts += [a.message for i in ids for a in queries.mailbox_alerts(i) if a.step == "disabled"]
    assert len(alerts) == 4 * len(ids) and all("you sent" in a for a in alerts[:2 * len(ids)])  # + disabled ones
    texts = [result.stdout, result.stderr, log.read_text(), *alerts]
    for secret in ECHO_PASSWORDS.values():
        assert_no_fragment(texts, secret)


# ---------------------------------------------------------------- a bad pin already in the database


def stored_pin_profile(store, imap_server, smtp_server, pin: str, **changes):
    """A profile on the hostile servers whose incoming pin is written straight into the table, as a
    database from before rule P13 (or edited by hand) may hold it: no write path accepts it today."""
    from support import builders

    from mailbox_tui.store.models import EmailServerProfile

    profile = builders.imap_profile(store, "Impostor", incoming_location=HOST, incoming_port=imap_server.port,
                                    incoming_tls=TlsMode.IMPLICIT, outgoing_location=HOST,
                                    outgoing_port=smtp_server.port, outgoing_tls=TlsMode.NONE, timeout_seconds=5,
                                    **changes)
    EmailServerProfile.update(incoming_cert_sha256=pin).where(EmailServerProfile.id == profile.id).execute()
    return profile


@pytest.mark.parametrize("pin", ["-", "x"])
def test_a_stored_malformed_pin_fails_the_mailbox_and_the_impostor_gets_no_password(hostile, sqlite_store,
                                                                                    impostor_certificate, pin):
    from mail_builders import user_mailbox

    from mailbox_tui.domain.options import TestStatus
    from mailbox_tui.mailtest.runner import run_tests
    from mailbox_tui.store import queries, services

    imap_server = impostor_imap(hostile, impostor_certificate)
    smtp_server = hostile(smtp(), lifetime=10)
    profile = stored_pin_profile(sqlite_store, imap_server, smtp_server, pin)
    mailbox = user_mailbox(sqlite_store, profile.id, password=PASSWORD)
    report = run_tests(sqlite_store, [mailbox.id])
    assert report.failures == 1
    after = services.get_mailbox(sqlite_store, mailbox.id)
    assert after.incoming_status == TestStatus.FAILURE and not after.enabled_incoming
    assert any("not a SHA-256 fingerprint" in a.message and a.step == "TLS"
               for a in queries.mailbox_alerts(mailbox.id))
    imap_server.settle()
    assert imap_server.connections == 0 and PASSWORD.encode() not in imap_server.received


def test_test_connection_with_a_stored_malformed_pin_offers_to_pin_again(hostile, sqlite_store,
                                                                          impostor_certificate):
    from mailbox_tui.domain.options import AuthMethod
    from mailbox_tui.domain.records import PasswordEdit
    from mailbox_tui.mailtest.connection import test_connection

    imap_server = impostor_imap(hostile, impostor_certificate)
    smtp_server = hostile(smtp(), lifetime=10)
    profile = stored_pin_profile(sqlite_store, imap_server, smtp_server, "x",
                                 auth_method=AuthMethod.PROFILE_CREDENTIALS, username="alice@example.com",
                                 password=PasswordEdit(new=PASSWORD))
    incoming = test_connection(sqlite_store, profile.id)[0]
    assert not incoming.result.ok and "not a SHA-256 fingerprint" in incoming.result.message
    assert incoming.untrusted_certificate  # the dialog offers p: fetch the certificate, compare, pin
    imap_server.settle()
    assert PASSWORD.encode() not in imap_server.received
