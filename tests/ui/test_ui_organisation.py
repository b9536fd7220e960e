"""Profiles, users, queues and Email Settings, driven by keys; asserting on what the database holds."""

from __future__ import annotations

import pytest
from support.builders import user
from support.ui import notices, settle, type_text

from mailbox_tui.domain.options import ApprovalStatus, AuthMethod, MailboxKind, ServerType
from mailbox_tui.store import services
from mailbox_tui.store.database import Store
from mailbox_tui.store.models import AppUser, EmailServerProfile, Mailbox, OrganizationSettings, Queue
from mailbox_tui.ui.app import MailboxApp
from mailbox_tui.ui.dialogs.confirm import ConfirmDialog
from mailbox_tui.ui.dialogs.defaults_preview import DefaultsPreviewScreen
from mailbox_tui.ui.screens.mailbox_list import MailboxListScreen
from mailbox_tui.ui.screens.profiles import ProfileFormScreen, ProfileListScreen
from mailbox_tui.ui.screens.queues import QueueListScreen
from mailbox_tui.ui.screens.settings import SettingsScreen
from mailbox_tui.ui.screens.users import UserFormScreen, UserListScreen


async def choose(pilot, app, select_id: str, search: str) -> None:
    """Open a Select with Enter, type to search, Enter to pick."""
    app.screen.query_one(f"#{select_id}").focus()
    await pilot.press("enter")
    await type_text(pilot, search)
    await pilot.press("enter")
    await pilot.pause()


async def fill(pilot, app, field_id: str, text: str) -> None:
    app.screen.query_one(f"#{field_id}").focus()
    await pilot.press("ctrl+u")
    await type_text(pilot, text)


@pytest.fixture
def empty_app(sqlite_url):
    store = Store(sqlite_url)
    yield MailboxApp(store)
    store.close()


async def test_a_newcomer_builds_an_organisation_from_an_empty_database(empty_app):
    app = empty_app
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, MailboxListScreen)  # no users: no acting-admin question yet
        # a profile
        await pilot.press("2")
        await settle(pilot)
        assert isinstance(app.screen, ProfileListScreen)
        await pilot.press("n")
        await settle(pilot)
        await type_text(pilot, "Corporate IMAP")  # Name has focus
        await fill(pilot, app, "incoming_location", "imap.example.com")
        await fill(pilot, app, "outgoing_location", "smtp.example.com")
        await pilot.press("ctrl+w")
        await settle(pilot)
        assert isinstance(app.screen, ProfileListScreen) and app.screen.table.count == 1
        # a user
        await pilot.press("3", "n")
        await settle(pilot)
        assert isinstance(app.screen, UserFormScreen)
        await type_text(pilot, "Alice Berg")
        await pilot.press("tab")
        await type_text(pilot, "alice@example.com")
        await pilot.press("ctrl+w")
        await settle(pilot)
        assert isinstance(app.screen, UserListScreen) and app.screen.table.count == 1
        # a queue owned by her
        await pilot.press("4", "n")
        await settle(pilot)
        await type_text(pilot, "Support")
        await pilot.press("tab")
        await type_text(pilot, "support@example.com")
        await fill(pilot, app, "owner_id", "alice@example.com")
        await pilot.press("ctrl+w")
        await settle(pilot)
        assert isinstance(app.screen, QueueListScreen) and app.screen.table.count == 1
        # organisation defaults
        await pilot.press("5")
        await settle(pilot)
        assert isinstance(app.screen, SettingsScreen)
        await choose(pilot, app, "default_profile_id", "corp")
        await choose(pilot, app, "default_incoming", "server")
        await pilot.press("ctrl+s")
        await settle(pilot)
        # a forward mailbox, from the Mailboxes page
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, MailboxListScreen)
        await pilot.press("n")
        await settle(pilot)
        await type_text(pilot, "Forward collector")
        await fill(pilot, app, "owner_id", "alice@example.com")
        await fill(pilot, app, "email", "forward@example.com")
        assert app.screen.query_one("#allow_credentials").value is True  # its profile uses the mailbox's own
        await fill(pilot, app, "username", "forward@example.com")
        await fill(pilot, app, "password", "fw-secret-1")
        await pilot.press("ctrl+w")
        await settle(pilot)
        assert isinstance(app.screen, MailboxListScreen) and app.screen.table.count == 3

    profile = EmailServerProfile.get()
    assert (profile.name, profile.server_type, profile.incoming_port, profile.outgoing_port) == (
        "Corporate IMAP", ServerType.IMAP_SMTP, 993, 465)
    alice = AppUser.get()
    assert Mailbox.get(Mailbox.regarding_user == alice.id).email == "alice@example.com"  # U2
    queue = Queue.get()
    assert Mailbox.get(Mailbox.regarding_queue == queue.id).owner_id == alice.id  # Q2
    org = OrganizationSettings.get()
    assert (org.default_profile_id, org.default_incoming) == (profile.id, 2)
    fwd = Mailbox.get(Mailbox.kind == MailboxKind.FORWARD)
    assert (fwd.owner_id, fwd.profile_id, fwd.email) == (alice.id, profile.id, "forward@example.com")


async def test_profile_type_drives_ports_auth_choices_and_fields(app, ui_store):
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("2", "n")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, ProfileFormScreen)
        assert form.query_one("#incoming_port").value == "993"  # IMAP over SSL (P4)
        await choose(pilot, app, "server_type", "pop3")
        assert form.query_one("#incoming_port").value == "995"
        await choose(pilot, app, "incoming_tls", "none")
        assert form.query_one("#incoming_port").value == "110"
        assert "P10" in str(form.query_one("#msg-incoming_tls").render())  # passwords in clear: a warning
        assert form.query_one("#field-auto_discover").has_class("hidden")  # P8: Exchange only
        assert form.query_one("#field-username").has_class("hidden")  # P6: only with the profile's own
        await choose(pilot, app, "auth_method", "credentials specified in")
        assert not form.query_one("#field-username").has_class("hidden")
        assert "P6" in str(form.query_one("#msg-username").render())
        options = [value for _, value in form.query_one("#auth_method")._options]
        assert AuthMethod.ANONYMOUS not in options  # P5: POP3/SMTP offers 0 and 1 only


async def test_profile_p1_name_must_be_unique_and_nothing_is_saved(app, ui_store):
    before = EmailServerProfile.select().count()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("2", "n")
        await settle(pilot)
        await type_text(pilot, "corporate imap")
        assert "P1" in str(app.screen.query_one("#msg-name").render())
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ProfileFormScreen)
    assert EmailServerProfile.select().count() == before


async def test_deleting_a_profile_says_how_many_mailboxes_lose_it_p11(app, ui_store):
    imap = ui_store.seeded["imap"]
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("down")  # Branch POP3, Corporate IMAP, Exchange Online
        await pilot.press("delete")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        assert "5 mailboxes use it" in str(app.screen.query_one("#question").render())
        await pilot.press("y")
        await settle(pilot)
    assert not EmailServerProfile.select().where(EmailServerProfile.id == imap.id).exists()
    assert Mailbox.select().where(Mailbox.profile.is_null()).count() == 5
    assert OrganizationSettings.get().default_profile_id is None


async def test_user_email_change_moves_to_the_mailbox_and_resets_approval(app, ui_store):
    box_id = ui_store.seeded["bob_box"].id
    services.set_approval(ui_store, [box_id], True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("3", "down", "enter")  # Bob Dahl
        await settle(pilot)
        assert isinstance(app.screen, UserFormScreen)
        await fill(pilot, app, "email", "robert@example.com")
        assert "M4" in str(app.screen.query_one("#msg-email").render())
        await pilot.press("ctrl+s")
        await settle(pilot)
    box = Mailbox.get_by_id(box_id)
    assert (box.email, box.approval) == ("robert@example.com", ApprovalStatus.PENDING)


async def test_deleting_a_user_says_the_mailbox_goes_too(app, ui_store):
    carol_box = ui_store.seeded["carol_box"].id
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("3", "down", "down", "delete")
        await pilot.pause()
        assert "mailbox goes too" in str(app.screen.query_one("#question").render())
        await pilot.press("y")
        await settle(pilot)
    assert not Mailbox.select().where(Mailbox.id == carol_box).exists()
    assert not AppUser.select().where(AppUser.full_name == "Carol Eriksen").exists()


async def test_queue_owner_change_moves_its_mailbox(app, ui_store):
    seeded = ui_store.seeded
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("4", "enter")
        await settle(pilot)
        await fill(pilot, app, "owner_id", "bob@example.com")
        await pilot.press("ctrl+w")
        await settle(pilot)
    assert Mailbox.get_by_id(seeded["queue_box"].id).owner_id == seeded["bob"].id


@pytest.mark.parametrize("typed", ["BO", "Straße@"])
async def test_queue_owner_completes_by_the_address_key_and_keeps_what_was_typed(app, ui_store, typed):
    """The owner suggester compares as saves do (NFC, lower case), not by casefold(): "ß" stays "ß"."""
    seeded = ui_store.seeded
    strasse, _ = user(ui_store, "Jan Straße", "straße@example.com")
    wanted = seeded["bob"] if typed == "BO" else strasse
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("4", "enter")
        await settle(pilot)
        await fill(pilot, app, "owner_id", typed)
        await settle(pilot)
        await pilot.press("right")  # accept the completion
        field = app.screen.query_one("#owner_id")
        assert field.value.startswith(typed)
        assert field.value.lower() == wanted.email.lower()
        await pilot.press("ctrl+w")
        await settle(pilot)
    assert Mailbox.get_by_id(seeded["queue_box"].id).owner_id == wanted.id


async def test_approve_and_reject_on_the_users_list_a1(app, ui_store):
    seeded = ui_store.seeded
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("3", "space", "space", "a")  # Alice and Bob
        await settle(pilot)
        await pilot.press("r")  # Carol, highlighted
        await settle(pilot)
    assert Mailbox.get_by_id(seeded["alice_box"].id).approval == ApprovalStatus.APPROVED
    assert Mailbox.get_by_id(seeded["bob_box"].id).approval == ApprovalStatus.APPROVED
    assert Mailbox.get_by_id(seeded["carol_box"].id).approval == ApprovalStatus.REJECTED


async def test_apply_default_settings_previews_then_applies_in_one_go(app, ui_store):
    seeded = ui_store.seeded
    org = services.org_settings(ui_store)
    services.update_org_settings(ui_store, org, services.OrgSettings(**{
        **org.__dict__, "default_profile_id": seeded["pop"].id}))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("down", "space")  # Bob Dahl (has credentials)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await type_text(pilot, "apply default")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DefaultsPreviewScreen)
        text = "\n".join(str(w.render()) for w in app.screen.query("Static"))
        assert "Server Profile: Corporate IMAP → Branch POP3" in text
        assert Mailbox.get_by_id(seeded["bob_box"].id).profile_id == seeded["imap"].id  # nothing yet
        await pilot.press("y")
        await settle(pilot)
    assert Mailbox.get_by_id(seeded["bob_box"].id).profile_id == seeded["pop"].id
    assert Mailbox.get_by_id(seeded["alice_box"].id).profile_id == seeded["imap"].id


async def test_apply_default_settings_refuses_a_mailbox_saved_since_its_preview(app, ui_store):
    """Another admin saves a mailbox while the preview is open: confirming applies nothing and names it
    (before, the defaults went over that save)."""
    seeded = ui_store.seeded
    org = services.org_settings(ui_store)
    services.update_org_settings(ui_store, org, services.OrgSettings(**{
        **org.__dict__, "default_profile_id": seeded["pop"].id}))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("down", "space")  # Bob Dahl
        app.screen.action_apply_defaults()
        await settle(pilot)
        assert isinstance(app.screen, DefaultsPreviewScreen)
        bob = services.get_mailbox(ui_store, seeded["bob_box"].id)  # the other admin's save
        services.update_mailbox(ui_store, bob, bob.copy(name="Bob Dahl (sales)"))
        await pilot.press("y")
        await settle(pilot)
        errors = notices(app, "error")
        assert any("Mailbox 'Bob Dahl' was changed by someone else since the preview (Name)" in e
                   for e in errors), errors
    assert Mailbox.get_by_id(seeded["bob_box"].id).profile_id == seeded["imap"].id


async def test_apply_default_settings_that_break_a_rule_apply_nothing(app, ui_store):
    seeded = ui_store.seeded
    org = services.org_settings(ui_store)
    services.update_org_settings(ui_store, org, services.OrgSettings(**{
        **org.__dict__, "default_incoming": 2, "default_act": 1}))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("space")  # Alice: ACT by server-side sync on an IMAP profile (M15)
        app.screen.action_apply_defaults()
        await settle(pilot)
        assert app.screen.blocked
        await pilot.press("y")
        await pilot.pause()
        assert isinstance(app.screen, DefaultsPreviewScreen)  # refused; still showing why
        await pilot.press("escape")
        await settle(pilot)
    assert Mailbox.get_by_id(seeded["alice_box"].id).incoming == 0


async def test_unsaved_form_blocks_page_keys(app, ui_store):
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("5")
        await settle(pilot)
        app.screen.query_one("#approval_required_users").focus()
        await pilot.press("space", "1")
        await pilot.pause()
        assert isinstance(app.screen, SettingsScreen)  # asked to save or discard first
        await pilot.press("escape", "y")
        await settle(pilot)
        assert isinstance(app.screen, MailboxListScreen)
    assert OrganizationSettings.get().approval_required_users is True



async def test_approve_refuses_when_a_marked_users_address_changed_since_it_was_marked(app, ui_store):
    """Issue 22, item 1 (bulk approve): the address approved is the one the admin saw when marking."""
    seeded = ui_store.seeded
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("3", "space", "space")  # Alice and Bob, as the list shows them
        await settle(pilot)
        other = Store(ui_store.url)  # another admin changes Bob's address meanwhile
        try:
            base = services.get_user(other, seeded["bob"].id)
            services.update_user(other, base, base.__class__(**{**base.__dict__, "email": "bob.new@example.com"}))
        finally:
            other.close()
        await pilot.press("a")
        await settle(pilot)
        shown = " ".join(str(n.message) for n in app._notifications)
    assert "Mailbox 'Bob Dahl' was changed by someone else since you chose it" in shown, shown
    assert "bob.new@example.com" in shown and "nothing was approved" in shown, shown
    assert Mailbox.get_by_id(seeded["bob_box"].id).approval == ApprovalStatus.PENDING
    assert Mailbox.get_by_id(seeded["alice_box"].id).approval != ApprovalStatus.APPROVED
