"""The 80×24 layout promises that snapshots alone would not pin down: where Escape goes, what F2–F5
show, which fields a form shows, what the help screen is called, how a list draws marks and columns."""

from __future__ import annotations

import pytest
from support.ui import screen_lines, screen_text, settle
from textual.containers import VerticalScroll

from mailbox_tui import i18n
from mailbox_tui.ui.dialogs.help import HelpScreen
from mailbox_tui.ui.screens.mailbox_form import MailboxFormScreen
from mailbox_tui.ui.screens.mailbox_list import MailboxListScreen
from mailbox_tui.ui.screens.profiles import ProfileFormScreen, ProfileListScreen
from mailbox_tui.ui.screens.queues import QueueFormScreen, QueueListScreen
from mailbox_tui.ui.screens.users import UserListScreen


@pytest.mark.parametrize("page,screen", [("2", ProfileListScreen), ("3", UserListScreen), ("4", QueueListScreen)])
async def test_escape_on_a_list_clears_the_filter_then_goes_back_to_mailboxes(app, page, screen):
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press(page, "slash", "x")
        await settle(pilot)
        assert isinstance(app.screen, screen) and app.screen.filter_text == "x"
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, screen) and app.screen.filter_text == ""
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, MailboxListScreen)
        await pilot.press("escape")  # the bottom of the stack: Escape never quits
        await settle(pilot)
        assert isinstance(app.screen, MailboxListScreen) and app.is_running


@pytest.mark.parametrize("language", ["en", "sv"])
@pytest.mark.parametrize("size", [(80, 24), (60, 20)])
@pytest.mark.parametrize("key,section", [("f2", "general"), ("f3", "credentials"), ("f4", "sync"),
                                         ("f5", "results")])
async def test_f2_to_f5_bring_their_section_to_the_top_of_the_form(app, key, section, size, language):
    i18n.use(language)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("down", "enter")  # a user's mailbox, with alerts and results at the end
        await settle(pilot)
        await pilot.press("f5" if key != "f5" else "f2", key)
        await settle(pilot)
        form = app.screen.query_one("#form", VerticalScroll)
        title = app.screen.query_one(f"#section-{section}")
        assert title.region.y == form.content_region.y  # the first line of the form
        assert f"({key.upper()})" in screen_lines(app)[title.region.y]


async def test_a_new_mailbox_has_no_clear_password_field(app, ui_store):
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, MailboxFormScreen)
        assert not app.screen.query_one("#field-clear_password").display
        await pilot.press("escape")
        await settle(pilot)
        app.screen.table.cursor = next(i for i in range(app.screen.table.count)
                                       if app.screen.table.cache.get(i).id == ui_store.seeded["bob_box"].id)
        await pilot.press("enter")  # Bob's mailbox has a stored password: it can be cleared
        await settle(pilot)
        assert app.screen.query_one("#field-clear_password").display


async def test_owner_completion_is_offered_instead_of_no_user_has_that_email(app, ui_store):
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        app.screen.query_one("#owner_id").focus()
        await pilot.press("ctrl+u", "b", "o")
        await settle(pilot)
        message = str(app.screen.query_one("#msg-owner_id").render())
        assert message == "→ completes to bob@example.com"
        await pilot.press("right")
        await settle(pilot)
        message = str(app.screen.query_one("#msg-owner_id").render())
        assert "no user" not in message and "completes" not in message
        assert app.screen.read_draft().owner_id == ui_store.seeded["bob"].id


async def test_the_owner_field_says_it_completes_exactly_while_the_input_shows_the_completion(app):
    """The field's message follows the completion the Input shows greyed after the cursor: it goes
    when the Input drops it (focus leaves and comes back) and comes back with the next keystroke."""
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        owner = app.screen.query_one("#owner_id")
        owner.focus()
        await pilot.press("ctrl+u", "b", "o")
        await settle(pilot)

        def seen() -> tuple[str, str]:
            return owner.render_line(0).text.strip(), str(app.screen.query_one("#msg-owner_id").render())

        assert seen() == ("bob@example.com", "→ completes to bob@example.com")
        await pilot.press("shift+tab")
        await settle(pilot)
        await pilot.press("tab")
        await settle(pilot)
        assert owner.has_focus
        shown, message = seen()
        assert shown == "bo" and "completes" not in message
        await pilot.press("b")
        await settle(pilot)
        assert seen() == ("bob@example.com", "→ completes to bob@example.com")


@pytest.mark.parametrize("keys,title", [([], "Keys: Mailboxes"), (["3"], "Keys: Users"),
                                        (["enter"], "Keys: mailbox form"), (["2", "n"], "Keys: server profile form")])
async def test_help_is_titled_in_the_admins_words_and_starts_with_the_screens_own_keys(app, keys, title):
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press(*keys)
        await settle(pilot)
        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        assert app.screen.title_text == title
        first = app.screen.bindings_list[0][1]
        assert first not in ("Move cursor left", "Delete character left"), app.screen.bindings_list[:3]


async def test_profile_and_queue_forms_name_their_record_in_the_header(app, ui_store):
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("2", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ProfileFormScreen)
        assert ui_store.seeded["imap"].name in screen_lines(app)[0] or "Branch POP3" in screen_lines(app)[0]
        await pilot.press("escape", "4", "enter")
        await settle(pilot)
        assert isinstance(app.screen, QueueFormScreen)
        assert "Support" in screen_lines(app)[0]


async def test_a_mark_never_hides_a_letter_and_the_name_stays_when_scrolling_right(app):
    async with app.run_test(size=(60, 20)) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        first_row = screen_lines(app)[3]
        name = app.screen.table.cache.get(0).full_name
        await pilot.press("space", "right", "right", "right", "right")
        await settle(pilot)
        marked_row = screen_lines(app)[3]
        assert marked_row.startswith("•" + name)
        assert first_row.startswith(" " + name)
        assert "Outgoing" in screen_lines(app)[2] and "Full Name" in screen_lines(app)[2]  # scrolled, name frozen


async def test_an_empty_database_says_what_to_do(sqlite_url):
    from mailbox_tui.store.database import Store
    from mailbox_tui.ui.app import MailboxApp

    store = Store(sqlite_url)
    try:
        app = MailboxApp(store)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            screen = screen_text(app)
            assert "No mailboxes yet" in screen and "mailbox-tui demo" in screen
            await pilot.press("slash", "z")
            await settle(pilot)
            assert "Nothing matches “z”" in screen_text(app)
    finally:
        store.close()
