"""Test & Enable from the app, against the real dovecot and aiosmtpd on loopback."""

from __future__ import annotations

import pytest
from mailtest.mail_builders import approve_all, server_profile, user_mailbox
from support.ui import notices, open_test_connection, settle, wait_for

from mailbox_tui.domain.options import TestStatus
from mailbox_tui.store import queries, services
from mailbox_tui.store.database import Store
from mailbox_tui.ui.app import MailboxApp
from mailbox_tui.ui.screens.mailbox_form import MailboxFormScreen


@pytest.fixture
def tested_org(sqlite_url, dovecot, smtp_servers, trust_mail_certificate):
    smtp = smtp_servers
    store = Store(sqlite_url)
    profile = server_profile(store, dovecot, smtp)
    approve_all(store)
    good = user_mailbox(store, profile.id, "alice@example.com", name="Alice Good")
    bad = user_mailbox(store, profile.id, "bob@example.com", name="Bob Wrong", login="alice@example.com",
                       password="not-her-password")
    yield store, good, bad
    store.close()



async def test_t_tests_marked_mailboxes_in_the_background_and_rows_resolve(tested_org):
    store, good, bad = tested_org
    app = MailboxApp(store, acting="alice@example.com")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        def both_tested() -> bool:
            return screen.test_run is None and all(
                services.get_mailbox(store, m.id).test_completed_on for m in (good, bad))

        await pilot.press("space", "space", "t")  # on loopback this may finish within the key press
        await wait_for(both_tested)
        await settle(pilot)
        rows = {r.name: r for r in queries.mailbox_page("all")}
        assert rows["Alice Good"].mailbox_status == TestStatus.SUCCESS
        assert rows["Bob Wrong"].mailbox_status == TestStatus.FAILURE
        shown = {screen.table.cache.get(i).name: screen.table.cache.get(i) for i in range(screen.table.count)}
        assert shown["Bob Wrong"].mailbox_status == TestStatus.FAILURE  # the list shows what was written
        assert any("1 succeeded, 1 failed" in text for text in notices(app))
    alerts = queries.mailbox_alerts(bad.id)
    assert [a.step for a in alerts if a.step != "disabled"][0] == "authentication"  # "disabled": issue 24
    assert all("not-her-password" not in a.message for a in alerts)
    assert services.get_mailbox(store, good.id).enabled_incoming


async def test_f6_in_the_form_tests_this_mailbox_and_shows_results_in_place(tested_org):
    store, good, bad = tested_org
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
        results = str(form.query_one("#results").render())
        alerts = str(form.query_one("#alerts").render())
        assert "Incoming Email Status: Failure" in results
        # The lifecycle, read-only (issue 24): a refused password disables at once, so no retry is due.
        assert ("Next attempt: none (Incoming email, Outgoing email disabled by failures: run Test & Enable)"
                in results)
        assert "Last error: " in results and ", code 205: Incoming email: Login rejected" in results
        assert "authentication" in alerts and "not-her-password" not in alerts


async def test_test_and_enable_waits_for_a_saved_form(tested_org):
    store, good, bad = tested_org
    app = MailboxApp(store, acting="alice@example.com")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        form = app.screen
        form.query_one("#name").focus()
        await pilot.press("x", "f6")
        await pilot.pause()
        assert form.test_run is None
    assert services.get_mailbox(store, good.id).test_completed_on is None


async def test_profile_test_connection_then_pin_the_self_signed_certificate(sqlite_url, dovecot, smtp_servers):
    """No trust store holds the test CA here: the app shows the certificate and pins it on 'y'."""
    from mailbox_tui.store.models import EmailServerProfile

    store = Store(sqlite_url)
    profile = server_profile(store, dovecot, smtp_servers)
    app = MailboxApp(store)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            dialog = await open_test_connection(pilot)
            assert any(c.untrusted_certificate for c in dialog.checks)
            await pilot.press("p")
            await wait_for(lambda: dialog.certificate is not None)
            text = str(dialog.query_one("#connection-text").render())
            assert "SHA-256" in text and "localhost" in text
            await pilot.press("y")
            await wait_for(lambda: dialog.checks and all(c.result and c.result.ok for c in dialog.checks[:1]))
        pinned = EmailServerProfile.get_by_id(profile.id)
        assert len(pinned.incoming_cert_sha256) == 64
    finally:
        store.close()


async def test_a_server_that_never_speaks_times_out_and_the_app_stays_responsive(sqlite_url, silent_server,
                                                                                 smtp_servers, dovecot):
    import time

    from mailbox_tui.domain.options import TlsMode

    store = Store(sqlite_url)
    profile = server_profile(store, dovecot, smtp_servers, incoming_tls=TlsMode.NONE,
                             incoming_port=silent_server.port, timeout_seconds=2)
    approve_all(store)
    silent = user_mailbox(store, profile.id, "alice@example.com", name="Alice Silent", outgoing=0)
    user_mailbox(store, profile.id, "bob@example.com", name="Bob Other", outgoing=0)
    app = MailboxApp(store, acting="alice@example.com")
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            screen = app.screen
            started = time.monotonic()
            await pilot.press("t")  # Alice Silent, highlighted
            await pilot.pause()
            assert screen.test_run is not None
            await pilot.press("down")  # handled while the probe waits on the silent server
            assert screen.table.cursor == 1 and screen.test_run is not None
            await wait_for(lambda: screen.test_run is None, timeout=20)
            assert time.monotonic() - started < 15  # the 2 s timeout held (it bounds the whole probe)
        result = services.get_mailbox(store, silent.id)
        assert result.incoming_status == TestStatus.FAILURE
        assert "timed out" in queries.mailbox_alerts(silent.id)[0].message.lower()
    finally:
        store.close()
