"""The fields added through the declaration, edited by keys in the real app: P12 on the profile
form, M19 on the mailbox form."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from support.ui import field_message, open_imap_profile, settle, type_text

from mailbox_tui.store.models import EmailServerProfile, Mailbox
from mailbox_tui.ui.screens.mailbox_form import MailboxFormScreen
from mailbox_tui.ui.screens.profiles import ProfileFormScreen


async def test_p12_move_undelivered_by_keys_on_the_profile_form(app, ui_store):
    imap = ui_store.seeded["imap"]
    async with app.run_test(size=(80, 24)) as pilot:
        form = await open_imap_profile(pilot, imap)
        label = form.query_one("#field-move_undelivered").label_text
        assert label == "Move Undelivered" and len(label) <= 24
        await pilot.press("shift+tab", "shift+tab")  # from Name back round past the form itself to the last field
        assert app.focused.id == "move_undelivered" and app.focused.value is False
        await pilot.press("space")
        assert str(app.focused.label) == "Yes"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert EmailServerProfile.get_by_id(imap.id).move_undelivered is True
        assert "unsaved" not in str(form.query_one("#summary").render())


async def test_m19_process_email_from_by_keys_on_the_mailbox_form(app, ui_store):
    box = ui_store.seeded["alice_box"]
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    future, recent = now + timedelta(days=3), (now - timedelta(days=2)).replace(second=0, microsecond=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        await type_text(pilot, "alice")
        await settle(pilot)
        await pilot.press("enter", "enter")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, MailboxFormScreen) and form.base.id == box.id
        assert form.query_one("#field-process_after").label_text == "Process Email From"
        await pilot.press("f4")  # Synchronization Method: Server Profile first
        for _ in range(6):
            if app.focused.id == "process_after":
                break
            await pilot.press("tab")
        assert app.focused.id == "process_after" and app.focused.value == ""
        await type_text(pilot, "31/01/2026")
        assert "YYYY-MM-DD HH:MM" in field_message(app, "process_after")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert Mailbox.get_by_id(box.id).process_after is None
        await pilot.press("ctrl+u")
        await type_text(pilot, future.strftime("%Y-%m-%d %H:%M"))
        assert "in the future" in field_message(app, "process_after") and "(M19)" in field_message(app, "process_after")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert Mailbox.get_by_id(box.id).process_after is None  # an error: nothing written
        await pilot.press("ctrl+u")
        await type_text(pilot, recent.strftime("%Y-%m-%d %H:%M"))
        assert field_message(app, "process_after") == ""
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert Mailbox.get_by_id(box.id).process_after == recent
        assert form.query_one("#process_after").value == recent.strftime("%Y-%m-%d %H:%M")  # refilled from the save


async def test_every_declared_form_field_is_on_its_form_in_order_with_its_label(app, ui_store):
    """The forms derive from domain/fields.py: a declared form field missing from its form, out of
    order, or labelled otherwise fails here — on every record's form."""
    from mailbox_tui.domain.fields import (
        MAILBOX_FIELDS,
        ORG_FIELDS,
        PROFILE_FIELDS,
        QUEUE_FIELDS,
        USER_FIELDS,
        form_fields,
    )
    from mailbox_tui.ui.screens.record_form import Field

    def shown(screen):
        return [(f.field_name, f.label_text) for f in screen.query(Field)]

    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("2", "n")
        await settle(pilot)
        assert isinstance(app.screen, ProfileFormScreen)
        assert shown(app.screen) == [(f.name, f.short_label) for f in form_fields(PROFILE_FIELDS)]
        await pilot.press("escape", "1", "n")
        await settle(pilot)
        assert isinstance(app.screen, MailboxFormScreen)
        declared = [(f.name, f.short_label) for f in form_fields(MAILBOX_FIELDS)]
        assert [pair for pair in shown(app.screen) if pair[0] != "clear_password"] == declared
        for keys, fields in ((("escape", "3", "n"), USER_FIELDS), (("escape", "4", "n"), QUEUE_FIELDS),
                             (("escape", "5"), ORG_FIELDS)):
            await pilot.press(*keys)
            await settle(pilot)
            assert shown(app.screen) == [(f.name, f.short_label) for f in form_fields(fields)], keys


async def test_a_newly_declared_field_needs_no_form_code(app, ui_store):
    """Declare one more user field and the user form shows it, fills it and reads it back into the
    draft, with no code of its own: what the issue asks of the one declaration."""
    from dataclasses import dataclass

    from mailbox_tui.domain.fields import TEXT, USER_FIELDS, Field
    from mailbox_tui.domain.records import UserDraft
    from mailbox_tui.ui.screens.users import UserFormScreen

    @dataclass
    class DraftWithNickname(UserDraft):
        nickname: str = ""

    class FormWithNickname(UserFormScreen):
        FIELDS = USER_FIELDS + (Field("nickname", TEXT, "Nickname", section="user", max_length=40, default="",
                                      placeholder="what colleagues call them"),)

    draft = DraftWithNickname(full_name="Nia Lund", email="nia@example.com", nickname="Ni")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        form = FormWithNickname(draft)
        app.push_screen(form)
        await settle(pilot)
        assert form.query_one("#field-nickname").label_text == "Nickname"
        box = form.query_one("#nickname")
        assert box.value == "Ni" and box.placeholder == "what colleagues call them"
        box.focus()
        await pilot.press("end", "n", "a")
        await settle(pilot)
        read = form.read_draft()
        assert isinstance(read, DraftWithNickname) and read.nickname == "Nina"
        assert (read.full_name, read.email) == ("Nia Lund", "nia@example.com")
        form.fill(DraftWithNickname(full_name="Nia Lund", email="nia@example.com", nickname="N."))
        assert form.query_one("#nickname").value == "N."
