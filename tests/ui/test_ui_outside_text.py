"""The app shows text from outside as text: never as markup, never as control characters
(issue 21, item 1). Real servers that lie (tests/support/outside_text.py), the real app, keys.

What each attack did before: a certificate's subject drew a fake SHA-256 line and hid the real one
(black on black); a server's `[/b]` crashed the mailbox form with a MarkupError, every time it was
opened; a profile named with markup crashed the forward mailbox form; a certificate CN `mail[/b]`
and a token scope with `[` crashed Test Connection. The terminal bytes are in test_terminal_outside_text.py."""

from __future__ import annotations

import time

import pytest
from support.hostile import HostileServer, imap, smtp
from support.outside_text import (
    ESCAPES,
    FAKE_FINGERPRINT,
    HOSTILE,
    MARKUP,
    TokenEndpoint,
    fake_fingerprint_unit,
    hostile_certificate,
    imap_answering,
    tls_context,
    unsigned_jwt,
)
from support.ui import open_test_connection, settle, wait_for

from mailbox_tui.domain.options import AuthMethod, ServerType, TlsMode
from mailbox_tui.domain.records import OrgSettings, PasswordEdit
from mailbox_tui.store import services
from mailbox_tui.store.database import Store
from mailbox_tui.ui.app import MailboxApp

RAW = ("\x1b", "\x07", "\x9b")


def shown(widget) -> str:
    """What a widget draws, as text (its rendering, no markup left to parse)."""
    return str(widget.render())


def no_styles(widget) -> bool:
    """Nothing in what the widget shows is styled by its text (no link, no colour from markup)."""
    visual = widget.render()
    return not [span for span in getattr(visual, "spans", []) if span.style]


@pytest.fixture
def servers():
    started = []

    def start(script, **options) -> HostileServer:
        server = HostileServer(script, lifetime=60, **options).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def _profile(store, name, port, tls=TlsMode.NONE, outgoing_port=None, **changes):
    from support.builders import imap_profile

    values = dict(server_type=ServerType.IMAP_SMTP, incoming_location="127.0.0.1", incoming_port=port,
                  incoming_tls=tls, outgoing_location="127.0.0.1", outgoing_port=outgoing_port or port,
                  outgoing_tls=tls, timeout_seconds=5)
    values.update(changes)
    return imap_profile(store, name, **values)


async def test_a_certificates_subject_cannot_fake_the_fingerprint_nor_hide_the_real_one(sqlite_url, servers,
                                                                                      tmp_path):
    cert = hostile_certificate(tmp_path / "cert", common_name="mail[/b]", unit=fake_fingerprint_unit())
    incoming = servers(imap(), tls=tls_context(cert))
    outgoing = servers(smtp(), tls=tls_context(cert))
    with Store(sqlite_url) as store:
        profile = _profile(store, "Pinned", incoming.port, tls=TlsMode.IMPLICIT, outgoing_port=outgoing.port)
        app = MailboxApp(store)
        async with app.run_test(size=(100, 40)) as pilot:
            dialog = await open_test_connection(pilot)
            assert "Certificate not trusted" in shown(dialog.query_one("#connection-text"))
            await pilot.press("p")  # crashed here: CN=mail[/b]
            await wait_for(lambda: dialog.certificate is not None)
            await pilot.pause()
            box = dialog.query_one("#connection-text")
            lines = shown(box).splitlines()
            # One line per field: the subject's line breaks are shown (␊), so it fakes no line of its own.
            subject = next(line for line in lines if line.startswith("  subject "))
            assert f"␊  SHA-256 {FAKE_FINGERPRINT}␊[black on black]" in subject and "CN=mail[/b]" in subject
            assert [line for line in lines if "SHA-256" in line and line.startswith("  SHA-256")] == [
                f"  SHA-256 {cert.colons}"]
            assert no_styles(box)  # the real fingerprint is not drawn black on black
            await pilot.press("y")
            await wait_for(lambda: dialog.certificate is None)
        assert services.get_profile(store, profile.id).incoming_cert_sha256 == cert.sha256
        assert app.return_code in (None, 0)


async def test_a_server_answer_with_markup_never_crashes_the_mailbox_form_and_shows_every_bracket(sqlite_url,
                                                                                                  servers):
    from mailtest.mail_builders import user_mailbox

    from mailbox_tui.mailtest.runner import TestRunner

    server = servers(imap_answering(refusal=HOSTILE))
    with Store(sqlite_url) as store:
        profile = _profile(store, "Refusing", server.port)
        box = user_mailbox(store, profile.id, email="alice@example.com", name="Alice", password="pw-1", outgoing=0)
        TestRunner(store).run([box.id])  # what one `mailbox-tui test` leaves behind
        app = MailboxApp(store, acting="alice@example.com")
        async with app.run_test(size=(100, 40)) as pilot:
            await settle(pilot)
            app.screen.open_mailbox(box.id)  # crashed here, every time: MarkupError
            await settle(pilot)
            await pilot.press("f5")
            await pilot.pause()
            alerts = app.screen.query_one("#alerts")
            text = shown(alerts)
            assert MARKUP in text  # [AUTHENTICATIONFAILED] and the link as written, not obeyed
            assert "␛]52;c;" in text and not [c for c in text if c in RAW]
            assert no_styles(alerts)
        assert app.return_code in (None, 0)


async def test_a_profile_named_with_markup_is_offered_as_written_on_the_forward_mailbox_form(ui_store):
    imap = ui_store.seeded["imap"]
    renamed = services.update_profile(ui_store, imap, imap.copy(name="Prof [/b] x"))
    org = services.org_settings(ui_store)
    assert org.default_profile_id == renamed.id
    app = MailboxApp(ui_store, acting="alice@example.com")
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await pilot.press("n")  # a new forward mailbox: the default profile is chosen
        await settle(pilot)
        select = app.screen.query_one("#profile_id")
        assert select.value == renamed.id
        assert "Prof [/b] x (IMAP" in shown(select.query_one("SelectCurrent #label"))
        select.focus()
        await pilot.press("enter")  # the list of profiles opens
        await pilot.pause()
        overlay = select.query_one("SelectOverlay")
        prompts = [str(overlay.get_option_at_index(i).prompt) for i in range(overlay.option_count)]
        assert any(p.startswith("Prof [/b] x (IMAP") for p in prompts), prompts
    assert app.return_code in (None, 0)


async def test_a_token_scope_and_identity_with_markup_show_in_test_connection(sqlite_url, servers, tmp_path,
                                                                            monkeypatch):
    cert = hostile_certificate(tmp_path / "token-cert")
    monkeypatch.setenv("SSL_CERT_FILE", str(cert.cert))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    scope = "IMAP.AccessAsApp [bad [/b] [link=https://evil.example]x" + ESCAPES
    token = unsigned_jwt({"scope": scope, "exp": int(time.time()) + 3600, "email": "who[/b]@example.com"})
    server = servers(imap_answering(capabilities="IMAP4rev1 AUTH=XOAUTH2"))
    with TokenEndpoint(cert, (200, {"access_token": token, "expires_in": 3600, "token_type": "Bearer"})) as endpoint, \
            Store(sqlite_url) as store:
        _profile(store, "Token", server.port, auth_method=AuthMethod.OAUTH,
                 oauth_client_id="3d9f1c2e-8a47-4b6d-b0e5-6f2a9c81d4e7", oauth_tenant_id="example.com",
                 oauth_client_secret=PasswordEdit(new="Client-secret-Q~x7"), oauth_token_endpoint=endpoint.url)
        app = MailboxApp(store)
        async with app.run_test(size=(100, 40)) as pilot:
            dialog = await open_test_connection(pilot)  # crashed here: the scope's "["
            text = shown(dialog.query_one("#connection-text"))
            assert "who[/b]@example.com" in text and "[bad" in text and "␛]52;c;" in text
            assert not [c for c in text if c in RAW]
        assert app.return_code in (None, 0)


async def test_a_stored_user_name_with_escape_sequences_shows_them_as_pictures_in_its_field(ui_store):
    import sqlite3

    bob = ui_store.seeded["bob_box"]
    with sqlite3.connect(ui_store.url.removeprefix("sqlite:///")) as db:  # stored by an older release
        db.execute("UPDATE mailbox SET username = ? WHERE id = ?", ("bob" + ESCAPES, bob.id))
    app = MailboxApp(ui_store, acting="alice@example.com")
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        app.screen.open_mailbox(bob.id)
        await settle(pilot)
        field = app.screen.query_one("#username")
        assert field.value == "bob" + ESCAPES  # the stored value, unchanged: saving keeps it as it was
        drawn = "".join(segment.text for segment in field.render_line(0))
        assert "bob␛]52;c;" in drawn and not [c for c in drawn if c in RAW]
    assert app.return_code in (None, 0)
