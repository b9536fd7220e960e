"""P15 on the forms, by keys in the real app (issue 21, item 3): a profile whose server changes, or a
mailbox moved to a profile with other servers, says before saving that a stored password will not be
sent to the new host, and saving asks: clear it, keep it for the new host, or keep editing."""

from __future__ import annotations

from support.ui import open_imap_profile, settle

from mailbox_tui.store import services
from mailbox_tui.store.models import EmailServerProfile, Mailbox
from mailbox_tui.ui.dialogs.choice import ChoiceDialog


async def _retype(pilot, form, field_id: str, text: str) -> None:
    widget = form.query_one(f"#{field_id}")
    widget.focus()
    await pilot.pause()
    await pilot.press("end", *["backspace"] * (len(widget.value) + 1), *text)
    await settle(pilot)


def _passwords(store, *boxes) -> list[str | None]:
    return [services.mailbox_password(store, box.id) for box in boxes]


async def _change_host_and_save(pilot, seeded):
    form = await open_imap_profile(pilot, seeded["imap"])
    await _retype(pilot, form, "incoming_location", "imap.new.example")
    said = " ".join(f.message for f in form.findings if f.rule == "P15")
    assert "2 mailboxes" in said and "imap.new.example" in said, form.findings  # live, before saving
    await pilot.press("ctrl+s")
    await settle(pilot)
    dialog = pilot.app.screen
    assert isinstance(dialog, ChoiceDialog) and "imap.new.example" in dialog.message
    return form


async def test_keeping_the_passwords_for_the_new_host_saves_them_with_it(app, ui_store):
    seeded = ui_store.seeded
    async with app.run_test(size=(80, 24)) as pilot:
        await _change_host_and_save(pilot, seeded)
        await pilot.press("k")
        await settle(pilot)
    assert EmailServerProfile.get_by_id(seeded["imap"].id).incoming_location == "imap.new.example"
    assert _passwords(ui_store, seeded["forward"], seeded["bob_box"]) == ["s3cret-forward", "bob-secret-pw"]


async def test_clearing_them_saves_the_new_host_without_the_passwords(app, ui_store):
    seeded = ui_store.seeded
    async with app.run_test(size=(80, 24)) as pilot:
        await _change_host_and_save(pilot, seeded)
        await pilot.press("c")
        await settle(pilot)
    assert EmailServerProfile.get_by_id(seeded["imap"].id).incoming_location == "imap.new.example"
    assert _passwords(ui_store, seeded["forward"], seeded["bob_box"]) == [None, None]


async def test_escape_saves_nothing_and_the_form_stays_open(app, ui_store):
    seeded = ui_store.seeded
    async with app.run_test(size=(80, 24)) as pilot:
        form = await _change_host_and_save(pilot, seeded)
        await pilot.press("escape")
        await settle(pilot)
        assert pilot.app.screen is form and form.is_dirty()
    assert EmailServerProfile.get_by_id(seeded["imap"].id).incoming_location == "imap.example.com"
    assert Mailbox.get_by_id(seeded["bob_box"].id).password_enc is not None
