"""M20 in the mailbox form (issue 21, item 2): a user name or password pasted with a control character (a
terminal's bracketed paste keeps ^A, ESC and tabs; only line breaks end the pasted line) is an error under
the field as it arrives, and a save writes nothing."""

from __future__ import annotations

import pytest
from support.ui import field_message, settle, type_text
from textual import events

from mailbox_tui.store.models import Mailbox
from mailbox_tui.ui.screens.mailbox_form import MailboxFormScreen


async def paste(pilot, text: str) -> None:
    """What a terminal sends for a paste, delivered to the focused field as Textual delivers it."""
    pilot.app.focused.post_message(events.Paste(text))
    await settle(pilot)


@pytest.mark.parametrize("field, pasted", [
    ("username", "collect2\x01auth=Bearer injected"),
    ("username", "collect2\x1b]52;c;Y3VybA==\x07"),
    ("password", "Pa55-word\x1b[2J"),
    ("password", "Pa55\tword"),
], ids=["user ^A", "user OSC 52", "password ESC", "password tab"])
async def test_a_pasted_control_character_is_an_m20_error_at_once_and_save_writes_nothing(app, field, pasted):
    before = Mailbox.select().count()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, MailboxFormScreen)
        await type_text(pilot, "Collector two")
        await pilot.press("tab", "tab")
        await type_text(pilot, "collect2@example.com")
        await pilot.press("f3")  # Credentials: Use Credentials is focused
        await pilot.press("tab")  # User Name (Use Credentials is Yes already: its profile uses them)
        if field == "password":
            await type_text(pilot, "collect2")
            await pilot.press("tab")
        await paste(pilot, pasted)
        assert app.focused.id == field
        assert app.focused.value == pasted  # the paste arrived whole: the rule, not the widget, refuses it
        shown = field_message(app, field)
        assert "M20" in shown and "control characters" in shown, shown
        assert "\x1b" not in shown and "injected" not in shown
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, MailboxFormScreen)
        assert app.focused.id == field  # the first field in error
    assert Mailbox.select().count() == before
