"""Test & Enable in Swedish (issue 26), against the real dovecot and aiosmtpd on loopback: the database keeps
the English sentence (what --json, the logs and every other language read), the form and the Test Connection
dialog show it in Swedish, and what the server answered stays exactly as the server sent it."""

from __future__ import annotations

import sqlite3

import pytest
from mailtest.mail_builders import approve_all, server_profile, user_mailbox
from support.ui import open_test_connection, settle, wait_for

from mailbox_tui import i18n
from mailbox_tui.store.database import Store, sqlite_path
from mailbox_tui.ui.app import MailboxApp
from mailbox_tui.ui.screens.mailbox_form import MailboxFormScreen


@pytest.fixture
def tested_org(sqlite_url, dovecot, smtp_servers, trust_mail_certificate):
    store = Store(sqlite_url)
    profile = server_profile(store, dovecot, smtp_servers)
    approve_all(store)
    good = user_mailbox(store, profile.id, "alice@example.com", name="Alice Good")
    bad = user_mailbox(store, profile.id, "bob@example.com", name="Bob Wrong", login="alice@example.com",
                       password="not-her-password")
    yield store, good, bad
    store.close()


def stored_alerts(url: str, mailbox_id: int) -> list[tuple[str, str]]:
    """(step, message) of a mailbox's alerts, read from the SQLite file itself."""
    with sqlite3.connect(sqlite_path(url)) as db:
        return db.execute("SELECT step, message FROM mailbox_alert WHERE mailbox_id = ? ORDER BY id",
                          (mailbox_id,)).fetchall()


async def test_f6_in_swedish_stores_english_and_shows_swedish_with_the_servers_answer_as_sent(tested_org,
                                                                                             sqlite_url):
    store, good, bad = tested_org
    i18n.use(i18n.SWEDISH)
    app = MailboxApp(store, acting="alice@example.com")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("down", "enter")  # Bob Wrong
        await settle(pilot)
        form = app.screen
        assert isinstance(form, MailboxFormScreen) and form.base.id == bad.id
        await pilot.press("f6")
        await wait_for(lambda: form.test_run is None)
        await settle(pilot)
        alerts = str(form.query_one("#alerts").render())
    stored = [(step, message) for step, message in stored_alerts(sqlite_url, bad.id) if step == "authentication"]
    assert stored, stored_alerts(sqlite_url, bad.id)
    step, message = stored[0]
    # Stored: the English sentence, its step in English.
    assert message.startswith("Incoming email, IMAP ") and ", failed at authentication: Login rejected for user " \
        "'alice@example.com': the server refused the user name or password. Check both. Permanent failure " \
        "(credentials refused, this mailbox's). Server answered: " in message
    answer = message.split("Server answered: ", 1)[1]
    assert answer and "not-her-password" not in message
    # Shown: Swedish, with the server's answer character for character.
    assert "Aviseringar (nyaste först):" in alerts
    assert ("fel     autentisering: Inkommande e-post, IMAP " in alerts
            and ", misslyckades vid autentisering: Inloggningen avvisades för användaren 'alice@example.com': servern "
                "godtog inte användarnamnet eller lösenordet. Kontrollera båda. Permanent fel "
                "(autentiseringsuppgifterna avvisades, den här postlådans). Servern svarade: " + answer in alerts)
    assert "Login rejected" not in alerts and "Permanent failure" not in alerts


async def test_test_connection_in_swedish_keeps_the_tls_librarys_words(sqlite_url, dovecot, smtp_servers):
    """No trust store holds the test CA here: the refusal is ours in Swedish, the verifier's reason as it came."""
    store = Store(sqlite_url)
    server_profile(store, dovecot, smtp_servers)
    i18n.use(i18n.SWEDISH)
    app = MailboxApp(store)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            dialog = await open_test_connection(pilot)
            text = str(dialog.query_one("#connection-text").render())
            untrusted = next(c.result for c in dialog.checks if c.untrusted_certificate)
            assert untrusted.message.startswith("Certificate not trusted: ")  # the result itself: English
            reason = untrusted.message.split("failed verification (", 1)[1].split("). Install", 1)[0]
            assert "Certifikatet är inte betrott: " in text and f"inte kunde verifieras ({reason})" in text
            assert "Certificate not trusted" not in text
    finally:
        store.close()
