"""The mailbox form, driven by keys only: create, validate live, save, reopen, conflicts."""

from __future__ import annotations

import threading

from support.ui import field_message, settle, type_text

from mailbox_tui.domain.options import ActMethod, ApprovalStatus, MailboxKind
from mailbox_tui.store import services
from mailbox_tui.store.models import AppUser, Mailbox
from mailbox_tui.ui.dialogs.choice import ChoiceDialog
from mailbox_tui.ui.dialogs.confirm import ConfirmDialog
from mailbox_tui.ui.screens.mailbox_form import MailboxFormScreen
from mailbox_tui.ui.screens.mailbox_list import MailboxListScreen


async def open_row(pilot, name: str) -> None:
    """Filter the list down to one mailbox by name and open it, by keys."""
    await pilot.press("slash")
    await type_text(pilot, name.lower())
    await settle(pilot)
    await pilot.press("enter", "enter")
    await settle(pilot)


async def test_create_forward_mailbox_by_keys_fill_every_section_save_and_reopen(app, ui_store):
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, MailboxFormScreen)
        assert "Name is required" in field_message(app, "name")
        await type_text(pilot, "Collector two")  # focus starts on Name
        assert field_message(app, "name") == ""
        await pilot.press("tab")  # Owner: the acting admin already
        await pilot.press("tab")
        await type_text(pilot, "collect2@example.com")
        await pilot.press("f3")  # Credentials: Use Credentials is focused, Yes already (its profile uses them)
        await settle(pilot)
        assert app.focused.id == "allow_credentials" and app.focused.value is True
        await pilot.press("tab")
        await type_text(pilot, "collect2")
        await pilot.press("tab")
        await type_text(pilot, "Pa55-word-xyz")
        await pilot.press("ctrl+w")
        await settle(pilot)
        assert isinstance(app.screen, MailboxListScreen)
        row = Mailbox.get(Mailbox.name == "Collector two")
        assert row.kind == MailboxKind.FORWARD and row.email == "collect2@example.com"
        assert row.owner_id == ui_store.seeded["alice"].id and row.username == "collect2"
        assert row.profile_id == ui_store.seeded["imap"].id and (row.incoming, row.outgoing, row.act) == (2, 0, 2)
        assert "Pa55-word-xyz" not in row.password_enc
        assert services.mailbox_password(ui_store, row.id) == "Pa55-word-xyz"

        await open_row(pilot, "Collector two")
        form = app.screen
        assert isinstance(form, MailboxFormScreen) and form.base.id == row.id
        assert form.query_one("#name").value == "Collector two"
        assert form.query_one("#password").value == ""  # write-only
        assert "A password is stored" in str(form.query_one("#password-state").render())


async def test_live_messages_appear_and_clear_as_the_admin_types(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        await pilot.press("tab", "tab")  # Email Address
        await type_text(pilot, "broken@")
        assert "M3" in field_message(app, "email")
        await type_text(pilot, "example.com")
        assert field_message(app, "email") == ""
        await pilot.press("shift+tab")  # Owner
        await pilot.press("ctrl+u")
        assert "Owner is required" in field_message(app, "owner_id")
        await type_text(pilot, "nobody@example.com")
        assert "no user has that email" in field_message(app, "owner_id")
        await pilot.press("ctrl+u")
        await type_text(pilot, "bob@example.com")
        assert field_message(app, "owner_id") == ""
        summary = str(app.screen.query_one("#summary").render())
        assert "error" in summary


async def test_changing_the_profile_to_pop3_flags_act_immediately_m15(app, ui_store):
    seeded = ui_store.seeded
    box = services.get_mailbox(ui_store, seeded["bob_box"].id)
    services.update_mailbox(ui_store, box, box.copy(profile_id=seeded["exchange"].id, act=ActMethod.SERVER_SIDE_SYNC))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await open_row(pilot, "Bob Dahl")
        form = app.screen
        assert form.query_one("#act").value == ActMethod.SERVER_SIDE_SYNC
        assert field_message(app, "act") == ""
        await pilot.press("f4")  # Synchronization Method: Server Profile is focused
        assert app.focused.id == "profile_id"
        await pilot.press("enter")
        await type_text(pilot, "branch")  # type to search
        await pilot.press("enter")
        await pilot.pause()
        assert form.query_one("#profile_id").value == seeded["pop"].id
        assert "M15" in field_message(app, "act")
        await pilot.press("ctrl+s")  # refused: nothing changes
        await pilot.pause()
    assert Mailbox.get_by_id(seeded["bob_box"].id).profile_id == seeded["exchange"].id


async def test_save_with_errors_writes_nothing_and_focuses_the_first_field_in_error(app):
    before = Mailbox.select().count()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        await pilot.press("tab", "tab")
        await type_text(pilot, "x@example.com")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, MailboxFormScreen)
        assert app.focused.id == "name"
    assert Mailbox.select().count() == before


async def test_escape_on_unsaved_changes_asks_and_no_keeps_editing(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        await type_text(pilot, "Half done")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, MailboxFormScreen)
        assert app.screen.query_one("#name").value == "Half done"
        await pilot.press("escape", "y")
        await settle(pilot)
        assert isinstance(app.screen, MailboxListScreen)
    assert not Mailbox.select().where(Mailbox.name == "Half done").exists()


async def test_escape_on_an_untouched_form_goes_straight_back(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, MailboxListScreen)


async def test_editing_a_user_mailbox_email_says_m4_m18_and_changes_the_user(app, ui_store):
    seeded = ui_store.seeded
    services.set_approval(ui_store, [seeded["carol_box"].id], True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await open_row(pilot, "Carol Eriksen")
        form = app.screen
        assert form.query_one("#owner_id").disabled  # M2: a user mailbox is owned by its user
        assert "owned by its user" in field_message(app, "owner_id")
        assert form.query_one("#delete_after_processing").disabled  # M6
        form.query_one("#email").focus()
        await pilot.press("ctrl+u")
        await type_text(pilot, "carol.e@example.com")
        notice = field_message(app, "email")
        assert "M4" in notice and "Pending Approval" in notice
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, MailboxFormScreen)
    carol = AppUser.get(AppUser.full_name == "Carol Eriksen")
    assert carol.email == "carol.e@example.com"
    assert Mailbox.get_by_id(seeded["carol_box"].id).approval == ApprovalStatus.PENDING


async def test_conflict_with_another_admin_offers_overwrite(app, ui_store):
    seeded = ui_store.seeded
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await open_row(pilot, "Forward collector")
        form = app.screen
        assert form.base.id == seeded["forward"].id

        def other_admin():
            theirs = services.get_mailbox(ui_store, seeded["forward"].id)
            services.update_mailbox(ui_store, theirs, theirs.copy(username="theirs@example.com"))
            ui_store.db.close()

        worker = threading.Thread(target=other_admin)
        worker.start()
        worker.join()
        form.query_one("#name").focus()
        await pilot.press("ctrl+u")
        await type_text(pilot, "Mine")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceDialog)
        assert "User Name" in str(app.screen.query_one("#message").render())
        await pilot.press("o")
        await settle(pilot)
    row = Mailbox.get_by_id(seeded["forward"].id)
    assert row.name == "Mine" and row.username == "forward@example.com"  # overwritten with mine, knowingly


async def test_conflict_keep_editing_writes_nothing(app, ui_store):
    seeded = ui_store.seeded
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await open_row(pilot, "Forward collector")

        def other_admin():
            theirs = services.get_mailbox(ui_store, seeded["forward"].id)
            services.update_mailbox(ui_store, theirs, theirs.copy(name="Theirs"))
            ui_store.db.close()

        worker = threading.Thread(target=other_admin)
        worker.start()
        worker.join()
        app.screen.query_one("#email").focus()
        await pilot.press("ctrl+u")
        await type_text(pilot, "mine@example.com")
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, MailboxFormScreen)
    row = Mailbox.get_by_id(seeded["forward"].id)
    assert (row.name, row.email) == ("Theirs", "forward@example.com")
