"""The command line shows text from outside, and obeys none of it (issue 21, item 1).

Each command runs in its own process of the installed CLI, as an admin runs it in a terminal, and
the test looks at the bytes it writes: in plain output no escape sequence, C1 control or BEL from
a server, a token endpoint, a certificate, a stored or imported value, or a file name reaches the
terminal raw (each is shown as `␛]52;…`), and a line break inside a value never starts a line of
its own; with `--json` the real text is there, escaped as JSON."""

from __future__ import annotations

import json
import time
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from support.hostile import HostileServer
from support.outside_text import (
    ESCAPES,
    HOSTILE,
    MARKUP,
    OSC52,
    TITLE,
    TokenEndpoint,
    hostile_certificate,
    imap_answering,
    imap_refusing_greeting,
    payloads_in,
    unsigned_jwt,
)

from mailbox_tui.domain.options import AuthMethod, ServerType, TlsMode
from mailbox_tui.domain.records import PasswordEdit
from mailbox_tui.store.database import Store

FAKE_LINE = "Success  Fake <fake@example.com>: incoming Success"


def cli(*args, env: dict | None = None) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("mailbox-tui")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "mailbox_tui"]
    result = subprocess.run([*command, *map(str, args)], capture_output=True, env={**os.environ, **(env or {})},
                            timeout=120, stdin=subprocess.DEVNULL)
    assert b"Traceback" not in result.stderr, result.stderr.decode(errors="replace")
    return result


def assert_shown_not_obeyed(result: subprocess.CompletedProcess) -> str:
    """Plain output: no attacker sequence raw on stdout or stderr, no control character but the line
    ends; the text of both, for more checks."""
    for name, data in (("stdout", result.stdout), ("stderr", result.stderr)):
        assert payloads_in(data) == [], (name, data)
        assert not [b for b in set(data) if b < 0x20 and b != 0x0A], (name, data)
        text = data.decode("utf-8")
        assert not [c for c in text if 0x7F <= ord(c) <= 0x9F], (name, text)
    return result.stdout.decode() + result.stderr.decode()


def lines_of(result: subprocess.CompletedProcess) -> list[str]:
    return (result.stdout + result.stderr).decode().splitlines()


def _profile(store, name: str, port: int, **changes):
    from support.builders import imap_profile

    values = dict(server_type=ServerType.IMAP_SMTP, incoming_location="127.0.0.1", incoming_port=port,
                  incoming_tls=TlsMode.NONE, outgoing_location="127.0.0.1", outgoing_port=port,
                  outgoing_tls=TlsMode.NONE, timeout_seconds=5, max_concurrent_connections=4)
    values.update(changes)
    return imap_profile(store, name, **values)


def _mailbox(store, profile_id: int, email: str, name: str, **changes):
    from mailtest.mail_builders import user_mailbox

    return user_mailbox(store, profile_id, email=email, name=name, password="Hostile-test-pw-1", outgoing=0,
                        **changes)


@pytest.fixture
def hostile_servers():
    started = []

    def start(script) -> HostileServer:
        server = HostileServer(script, lifetime=60).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def token_certificate(tmp_path, monkeypatch):
    """The hostile token endpoints' certificate, trusted (this process and the CLI's)."""
    cert = hostile_certificate(tmp_path / "token-cert")
    monkeypatch.setenv("SSL_CERT_FILE", str(cert.cert))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    return cert


@pytest.fixture
def hostile_org(sqlite_url, hostile_servers, token_certificate):
    """Mailboxes whose servers answer with markup and escape sequences: a NO to the login, a BYE for a
    greeting, a SASL failure challenge after a token whose scope holds them, and a token endpoint's
    error_description. One mailbox's stored name holds a line break and a fake result line."""
    refusing = hostile_servers(imap_answering())
    bye = hostile_servers(imap_refusing_greeting())
    sasl = hostile_servers(imap_answering(capabilities="IMAP4rev1 AUTH=XOAUTH2"))
    token = unsigned_jwt({"scope": HOSTILE, "exp": int(time.time()) + 3600,  # a lifetime the token step takes
                          "email": "token" + TITLE + "@example.com"})
    issuing = TokenEndpoint(token_certificate, (200, {"access_token": token, "expires_in": 3600,
                                                      "token_type": "Bearer", "scope": HOSTILE}))
    refusing_tokens = TokenEndpoint(token_certificate, (400, {"error": "temporarily_unavailable",
                                                              "error_description": HOSTILE}))
    with issuing, refusing_tokens, Store(sqlite_url) as store:
        oauth = dict(auth_method=AuthMethod.OAUTH, oauth_client_id="3d9f1c2e-8a47-4b6d-b0e5-6f2a9c81d4e7",
                     oauth_tenant_id="example.com", oauth_client_secret=PasswordEdit(new="Client-secret-Q~x7"))
        boxes = {
            "refused": _mailbox(store, _profile(store, "Refusing [/b] IMAP", refusing.port).id,
                                "alice@example.com", "Alice"),
            "bye": _mailbox(store, _profile(store, "Bye IMAP", bye.port).id, "bob@example.com", "Bob"),
            "sasl": _mailbox(store, _profile(store, "SASL IMAP", sasl.port, oauth_token_endpoint=issuing.url,
                                             **oauth).id, "carol@example.com", "Carol", allow_credentials=False),
            "token": _mailbox(store, _profile(store, "Token IMAP", sasl.port,
                                              oauth_token_endpoint=refusing_tokens.url, **oauth).id,
                              "dave@example.com", "Dave", allow_credentials=False),
            "stored": _mailbox(store, None, "eve@example.com", "Eve", incoming=0),
        }
        with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as db:  # stored by an older release
            db.execute("UPDATE mailbox SET name = ? WHERE id = ?", ("Eve\n" + FAKE_LINE, boxes["stored"].id))
        yield sqlite_url, boxes


def test_mailbox_tui_test_prints_what_servers_said_visibly_and_obeys_none_of_it(hostile_org):
    db, _ = hostile_org
    result = cli("test", "--all", "--db", db)
    assert result.returncode == 1
    text = assert_shown_not_obeyed(result)
    alerts = {line.split()[1]: next_line for line, next_line in zip(lines_of(result), lines_of(result)[1:])
              if line.startswith("Failure  ")}
    # The NO to a login, the BYE for a greeting, the NO after a SASL challenge, a token endpoint's error:
    for name in ("Alice", "Bob", "Carol", "Dave"):
        for shown in ("␛]52;c;", "␛]2;EVIL-TITLE␇", "␛[2JEVIL-CLEAR", "\\x9b31mEVIL-C1", "[AUTHENTICATIONFAILED]",
                      "[/b]", "[link=https://evil.example]"):
            assert shown in alerts[name], (name, shown, alerts[name])
    # A stored name's line break is shown, so it cannot fake a line of the report (stdout or progress).
    assert not any(line.startswith(FAKE_LINE) for line in lines_of(result)), text
    assert "Eve␊Success  Fake" in text


def test_the_log_shows_what_servers_said_and_carries_no_terminal_command(hostile_org, tmp_path):
    """`tail -f` of --log would obey an escape sequence written to it raw (issue 21, left from item 1)."""
    db, _ = hostile_org
    log = tmp_path / "test.log"
    result = cli("test", "--all", "--db", db, "--log", log)
    assert result.returncode == 1
    written = log.read_bytes()
    assert b"\x1b" not in written and "\x9b".encode() not in written and b"\x07" not in written
    assert not [b for b in set(written) if b < 0x20 and b != 0x0A]
    text = written.decode()
    assert "␛]52;c;" in text and "[AUTHENTICATIONFAILED]" in text  # shown, as the screen shows it


def test_mailbox_tui_test_json_keeps_the_real_text_escaped_as_json(hostile_org):
    db, boxes = hostile_org
    result = cli("test", "--all", "--db", db, "--json")
    assert result.returncode == 1
    assert payloads_in(result.stdout) == [] and "\x9b".encode() not in result.stdout
    assert not [b for b in set(result.stdout) if b < 0x20 and b != 0x0A]
    report = json.loads(result.stdout)
    alerts = [a["message"] for m in report["mailboxes"] for a in m["alerts"]]
    for part in (OSC52, TITLE, "\x1b[2JEVIL-CLEAR", "\x9b31mEVIL-C1", MARKUP):
        assert sum(part in message for message in alerts) >= 4, (part, alerts)
    assert {m["name"] for m in report["mailboxes"]} >= {"Eve\n" + FAKE_LINE}


def test_history_check_import_and_export_print_stored_values_and_file_names_visibly(tmp_path, sqlite_url):
    doc = {"profiles": [{"name": "Prof [/b] x", "servertype": 4, "incomingserverlocation": "imap.example.com",
                         "outgoingserverlocation": "smtp.example.com", "username": "sync" + OSC52}],
           "users": [{"fullname": "Alice [link=https://evil.example]Berg[/link]",
                      "internalemailaddress": "alice@example.com"}]}
    name = "org" + TITLE + ".json"  # a file name is text from outside too
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    # Another admin's machine wrote the history: its OS user name is theirs to choose.
    imported = cli("--as", "alice@example.com", "import", path, "--db", sqlite_url,
                   env={"USER": "mallory" + ESCAPES, "LOGNAME": "mallory" + ESCAPES})
    assert imported.returncode == 0, imported.stderr
    assert_shown_not_obeyed(imported)
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as db:  # stored by an older release
        db.execute("UPDATE app_user SET full_name = ?", ("Alice\n" + ESCAPES,))
    history = cli("history", "--db", sqlite_url)
    assert history.returncode == 0
    text = assert_shown_not_obeyed(history)
    assert "mallory␛]52;c;" in text and "imported 'org␛]2;EVIL-TITLE␇.json'" in text  # a key is quoted
    as_json = cli("history", "--db", sqlite_url, "--json")
    assert payloads_in(as_json.stdout) == [] and "\x9b".encode() not in as_json.stdout
    entries = json.loads(as_json.stdout)
    assert any(e["os_user"] == "mallory" + ESCAPES for e in entries)
    assert any(e["record"] == name for e in entries)
    checked = cli("check", "--db", sqlite_url)
    assert_shown_not_obeyed(checked)
    out = tmp_path / ("export" + TITLE + ".json")
    exported = cli("export", "--db", sqlite_url, "--out", out)
    assert exported.returncode == 0 and out.exists()
    assert "export␛]2;EVIL-TITLE␇.json" in assert_shown_not_obeyed(exported)
    to_stdout = cli("export", "--db", sqlite_url)
    assert payloads_in(to_stdout.stdout) == [] and "\x9b".encode() not in to_stdout.stdout
    assert json.loads(to_stdout.stdout)["users"][0]["fullname"] == "Alice\n" + ESCAPES
