"""Background work that fails tells the admin, in one sentence, with the details in the log; and
pinning a certificate refuses a profile another admin changed meanwhile. Every failure here is
provoked for real: a table dropped behind the app's back (through a second connection to the
same SQLite file), a profile deleted by another admin, a profile changed during the test."""

from __future__ import annotations

import logging
import sqlite3

from mailtest.mail_builders import server_profile
from support.ui import notices, open_test_connection, settle, wait_for

from mailbox_tui.domain.options import IncomingMethod
from mailbox_tui.store import lookups, services
from mailbox_tui.store.database import Store, sqlite_path
from mailbox_tui.ui.app import MailboxApp
from mailbox_tui.ui.screens.mailbox_list import MailboxListScreen
from mailbox_tui.ui.screens.profiles import ProfileFormScreen


def behind_the_apps_back(store, sql: str) -> None:
    """Another program changes the database file while the app has it open."""
    con = sqlite3.connect(sqlite_path(store.url))
    try:
        con.executescript(sql)
    finally:
        con.close()


def assert_one_sentence(text: str) -> None:
    assert "\n" not in text and "Traceback" not in text and len(text) < 300, text


async def test_a_rows_load_that_fails_shows_the_admin_why(app, ui_store, caplog):
    caplog.set_level(logging.ERROR, logger="mailbox_tui")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, MailboxListScreen)
        loads = screen.loads
        behind_the_apps_back(ui_store, "DROP TABLE mailbox;")
        await pilot.press("slash", "b")  # the filter loads its rows in a worker, which fails
        await settle(pilot)
        assert screen.loads == loads
        shown = notices(app, "error")
        assert len(shown) == 1 and shown[0].startswith("Loading the list failed:"), shown
        assert "no such table: mailbox" in shown[0]
        assert_one_sentence(shown[0])
        assert app.is_running and isinstance(app.screen, MailboxListScreen)
    assert any(r.exc_info and "no such table" in str(r.exc_info[1]) for r in caplog.records)


async def test_a_test_and_enable_run_that_fails_says_so_and_ends(app, ui_store, caplog):
    """Bob's mailbox fails A2 (approval is required): writing that alert fails, its table is gone."""
    caplog.set_level(logging.ERROR, logger="mailbox_tui")
    bob_box = services.get_mailbox(ui_store, ui_store.seeded["bob_box"].id)
    services.update_mailbox(ui_store, bob_box, bob_box.copy(incoming=IncomingMethod.SERVER_SIDE_SYNC))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        await pilot.press("down")
        assert screen.table.current.id == bob_box.id
        behind_the_apps_back(ui_store, "DROP TABLE mailbox_alert;")
        await pilot.press("t")
        await wait_for(lambda: screen.test_run is None)
        await settle(pilot)
        shown = notices(app, "error")
        assert len(shown) == 1 and shown[0].startswith("Test & Enable failed:"), shown
        assert "no such table: mailbox_alert" in shown[0]
        assert_one_sentence(shown[0])
        assert "x cancels" not in str(screen.query_one("#status").render())  # the run is over
    assert services.get_mailbox(ui_store, bob_box.id).test_completed_on is None  # nothing half-written
    assert any(r.exc_info and "mailbox_alert" in str(r.exc_info[1]) for r in caplog.records)


async def test_test_connection_on_a_profile_deleted_meanwhile_says_so(app, ui_store):
    pop = ui_store.seeded["pop"]
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("2", "enter")  # Branch POP3, the first by name
        await settle(pilot)
        form = app.screen
        assert isinstance(form, ProfileFormScreen) and form.base.id == pop.id
        services.delete_profile(ui_store, pop.id)  # another admin
        await pilot.press("f8")
        await settle(pilot)
        shown = notices(app, "error")
        assert shown and shown[0] == f"Test Connection failed: Server profile {pop.id} does not exist.", shown
        await pilot.press("escape")  # closing the dialog reloads the profile: gone, and it says so
        await settle(pilot)
        assert app.is_running
        assert any("does not exist" in text for text in notices(app, "error")[1:])


async def test_pinning_a_certificate_of_a_profile_changed_meanwhile_says_so_and_writes_nothing(
        sqlite_url, dovecot, smtp_servers):
    store = Store(sqlite_url)
    profile = server_profile(store, dovecot, smtp_servers)
    app = MailboxApp(store)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            dialog = await open_test_connection(pilot)
            await pilot.press("p")
            await wait_for(lambda: dialog.certificate is not None)
            await settle(pilot)
            # another admin points the profile at another server while this one's certificate is shown
            theirs = services.get_profile(store, profile.id)
            services.update_profile(store, theirs, theirs.copy(incoming_location="imap.elsewhere.example"))
            await pilot.press("y")
            await settle(pilot)
            shown = notices(app, "error")
            assert shown and shown[-1].startswith("Not pinned:"), shown
            assert "another admin" in shown[-1] and "Incoming Server" in shown[-1]
            assert_one_sentence(shown[-1])
        saved = services.get_profile(store, profile.id)
        assert saved.incoming_cert_sha256 == "" and saved.outgoing_cert_sha256 == ""
        assert saved.incoming_location == "imap.elsewhere.example"  # their change stands
        assert lookups.profile_names([profile.id]) == {profile.id: profile.name}
    finally:
        store.close()
