"""The fields added through the declaration, edited by keys in the real app: P12 on the profile
form, M19 on the mailbox form."""

from __future__ import annotations

from support.ui import settle

from mailbox_tui.store.models import EmailServerProfile
from mailbox_tui.ui.screens.profiles import ProfileFormScreen


async def test_p12_move_undelivered_by_keys_on_the_profile_form(app, ui_store):
    imap = ui_store.seeded["imap"]
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("down", "enter")  # Branch POP3, Corporate IMAP, Exchange Online
        await settle(pilot)
        form = app.screen
        assert isinstance(form, ProfileFormScreen) and form.base.id == imap.id
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
