"""Svenska (issue 26) on the forms: the rules speak Swedish live, as the admin types, with their rule IDs;
what is saved and stored stays as the admin typed it."""

from __future__ import annotations

from support.ui import field_message, settle, type_text

from mailbox_tui import i18n
from mailbox_tui.store.models import Mailbox
from mailbox_tui.ui.screens.mailbox_form import MailboxFormScreen


async def test_a_new_mailbox_form_says_the_rules_in_swedish_as_the_admin_types(app):
    i18n.use(i18n.SWEDISH)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, MailboxFormScreen)
        assert field_message(app, "name") == "✗ Namn måste anges. (M1)"
        await type_text(pilot, "Insamling")  # focus starts on Name
        assert field_message(app, "name") == ""
        await pilot.press("tab", "tab")  # past Owner, to Email Address
        await type_text(pilot, "insamling.example.com")
        message = field_message(app, "email")
        assert message == "✗ En e-postadress måste ha ett @-tecken. (M3)", message
        await type_text(pilot, "@")
        assert "(M3)" in field_message(app, "email") and "@-tecknet" in field_message(app, "email")
        summary = str(app.screen.query_one("#summary").render())
        assert "must have" not in summary and "is required" not in summary
        await pilot.press("ctrl+s")  # refused: nothing is written
        await settle(pilot)
        assert isinstance(app.screen, MailboxFormScreen)
    assert not Mailbox.select().where(Mailbox.name == "Insamling").exists()


async def test_a_locked_field_says_why_in_swedish(app):
    i18n.use(i18n.SWEDISH)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        await type_text(pilot, "carol eriksen")
        await settle(pilot)
        await pilot.press("enter", "enter")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, MailboxFormScreen) and form.query_one("#owner_id").disabled
        assert field_message(app, "owner_id") == "En användares postlåda ägs av användaren (M2)."
