"""The mailbox form is built once and refilled for the next record (issue: speed as felt at 80×24).
A refilled form must be indistinguishable from a new one: nothing of the last record may linger."""

from __future__ import annotations

from support.ui import settle
from textual.containers import VerticalScroll
from textual.widgets import Input, Select

from mailbox_tui.domain.options import ServerType
from mailbox_tui.domain.records import ProfileDraft
from mailbox_tui.store import services
from mailbox_tui.ui.dialogs.confirm import ConfirmDialog
from mailbox_tui.ui.screens.mailbox_form import MailboxFormScreen
from mailbox_tui.ui.screens.mailbox_list import MailboxListScreen


async def open_by_name(pilot, app, name: str) -> MailboxFormScreen:
    await pilot.press("slash")
    for ch in name.lower():
        await pilot.press("space" if ch == " " else ch)
    await settle(pilot)
    await pilot.press("enter", "enter")
    await settle(pilot)
    assert isinstance(app.screen, MailboxFormScreen)
    return app.screen


async def back_to_list(pilot, app) -> None:
    await pilot.press("escape")
    await settle(pilot)
    if isinstance(app.screen, ConfirmDialog):
        await pilot.press("y")  # discard
        await settle(pilot)
    assert isinstance(app.screen, MailboxListScreen)
    await pilot.press("escape")  # clear the filter
    await settle(pilot)


async def test_the_second_record_opens_in_the_same_form_with_nothing_of_the_first(app, ui_store):
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        first = await open_by_name(pilot, app, "bob dahl")
        # Leave traces: a typed password, an unsaved name, the view scrolled to the last section.
        first.query_one("#password", Input).value = "typed-but-not-saved"
        await pilot.press("ctrl+u")
        await pilot.press("x", "y", "z")
        await pilot.press("f5")
        await settle(pilot)
        await back_to_list(pilot, app)

        second = await open_by_name(pilot, app, "carol eriksen")
        assert second is first  # built once, refilled
        assert second.base.name == "Carol Eriksen"
        assert second.query_one("#name", Input).value == "Carol Eriksen"
        assert second.query_one("#password", Input).value == ""
        assert not second.is_dirty()
        assert "Carol Eriksen" in app.screen.sub_title
        assert second.query_one("#form", VerticalScroll).scroll_offset.y == 0
        assert app.focused is second.query_one("#name", Input)
        assert app.focused.cursor_position == len("Carol Eriksen") and not app.focused.selected_text
        # Carol's mailbox has no stored password: nothing to clear, whatever Bob's had.
        assert not second.query_one("#field-clear_password").display
        await pilot.press("s")  # the first key adds to the name, as in a new form
        assert second.query_one("#name", Input).value == "Carol Eriksens"


async def test_a_refilled_form_saves_the_record_it_shows(app, ui_store):
    seeded = ui_store.seeded
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await open_by_name(pilot, app, "bob dahl")
        await back_to_list(pilot, app)
        form = await open_by_name(pilot, app, "carol eriksen")
        await pilot.press("end", "2")
        await pilot.press("ctrl+w")
        await settle(pilot)
    assert services.get_mailbox(ui_store, seeded["carol_box"].id).name == "Carol Eriksen2"
    assert services.get_mailbox(ui_store, seeded["bob_box"].id).name == seeded["bob_box"].name
    assert form.saved


async def test_a_profile_added_meanwhile_is_offered_when_the_form_is_refilled(app, ui_store):
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await open_by_name(pilot, app, "bob dahl")
        await back_to_list(pilot, app)
        services.create_profile(ui_store, ProfileDraft(
            name="Added Meanwhile", server_type=ServerType.IMAP_SMTP, incoming_location="imap2.example.com",
            outgoing_location="smtp2.example.com"))
        form = await open_by_name(pilot, app, "carol eriksen")
        labels = [str(prompt) for prompt, _ in form.query_one("#profile_id", Select)._options]
        assert any("Added Meanwhile" in label for label in labels), labels


async def test_opening_a_form_focuses_its_first_field_and_nothing_before_it(app, ui_store):
    """The form (built while the app is idle, hidden) gives focus straight to its first field.
    (Textual's automatic focus gave it to the scrolling form first, which restyled the whole form
    twice, as focus came and went: about 40 ms of building it.)"""
    from textual import events

    focused: dict[str, list[str]] = {"list": [], "form": []}

    def hook(message) -> None:
        if isinstance(message, events.DescendantFocus):
            seen = focused["form" if isinstance(message.widget.screen, MailboxFormScreen) else "list"]
            if message.widget.id not in seen:
                seen.append(message.widget.id)

    async with app.run_test(size=(80, 24), message_hook=hook) as pilot:
        await settle(pilot)
        form = await open_by_name(pilot, app, "bob dahl")
        assert app.focused is form.query_one("#name", Input)
        assert focused == {"list": ["records", "filter"], "form": ["name"]}  # the list, its filter; the form's first field
