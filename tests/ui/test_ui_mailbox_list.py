"""The Mailboxes list, driven by keys: views, filter, sort, marks, commands, and 100,000 rows."""

from __future__ import annotations

import pytest
from support.bulk import add_users_with_mailboxes
from support.ui import notices, settle

from mailbox_tui.domain.options import ApprovalStatus, RecordState
from mailbox_tui.store.database import Store
from mailbox_tui.store.models import Mailbox
from mailbox_tui.ui.app import MailboxApp
from mailbox_tui.ui.dialogs.confirm import ConfirmDialog
from mailbox_tui.ui.dialogs.help import HelpScreen
from mailbox_tui.ui.screens.mailbox_list import MailboxListScreen


def status(app) -> str:
    return str(app.screen.query_one("#status").render())


def names(app, count: int = 10) -> list[str]:
    table = app.screen.table
    return [table.cache.get(i).name for i in range(min(count, table.count))]


async def test_list_shows_active_mailboxes_sorted_by_name(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, MailboxListScreen)
        assert names(app) == ["Alice Berg", "Bob Dahl", "Carol Eriksen", "Forward collector", "Support"]
        assert "Active Mailboxes · 5 shown of 5" in status(app)


async def test_views_cycle_with_v(app, ui_store):
    Mailbox.update(state=RecordState.INACTIVE).where(Mailbox.name == "Bob Dahl").execute()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "4 shown of 5" in status(app)
        await pilot.press("v")  # All
        await settle(pilot)
        assert "All Mailboxes · 5 shown of 5" in status(app)
        await pilot.press("v")  # Forward
        await settle(pilot)
        assert names(app) == ["Forward collector"]
        for _ in range(8):  # User, Queue, Pending, Failed, Retrying, Disabled by failures, Never Tested, Inactive
            await pilot.press("v")
        await settle(pilot)
        assert "Inactive" in status(app) and names(app) == ["Bob Dahl"]


async def test_filter_as_you_type_and_escape_clears(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("slash", "c", "a", "r")
        await settle(pilot)
        assert names(app) == ["Carol Eriksen"] and "filter: car" in status(app)
        await pilot.press("enter")  # back to the list, filter kept
        assert app.focused is app.screen.table
        await pilot.press("escape")
        await settle(pilot)
        assert len(names(app)) == 5 and "filter" not in status(app)


async def test_filter_matches_profile_name(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"exchange")
        await settle(pilot)
        assert names(app) == []
        await pilot.press("escape")
        await pilot.press("slash", *"corporate")
        await settle(pilot)
        assert "Forward collector" in names(app)


async def test_sort_by_next_column_and_reverse(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("S")  # name, descending
        await settle(pilot)
        assert names(app)[0] == "Support"
        await pilot.press("s")  # email, ascending
        await settle(pilot)
        assert names(app)[:2] == ["Alice Berg", "Bob Dahl"] and "sort: Email Address" in status(app)


async def test_mark_with_space_and_approve_from_the_palette(app, ui_store):
    seeded = ui_store.seeded
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("space", "space")  # Alice, Bob
        assert "2 marked" in status(app)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"approve email")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot)
    assert Mailbox.get_by_id(seeded["alice_box"].id).approval == ApprovalStatus.APPROVED
    assert Mailbox.get_by_id(seeded["bob_box"].id).approval == ApprovalStatus.APPROVED
    assert Mailbox.get_by_id(seeded["carol_box"].id).approval == ApprovalStatus.PENDING


async def test_delete_refuses_a_user_mailbox_and_says_why(app, ui_store):
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("delete")  # Alice Berg: a user mailbox
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmDialog)
        assert any("deleted with its user" in text for text in notices(app))
    assert Mailbox.select().count() == 5


async def test_delete_forward_mailbox_after_confirmation(app, ui_store):
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("down", "down", "down")  # Forward collector
        await pilot.press("delete")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")  # the safe answer first
        await pilot.pause()
        assert Mailbox.select().count() == 5
        await pilot.press("delete", "y")
        await settle(pilot)
        assert names(app) == ["Alice Berg", "Bob Dahl", "Carol Eriksen", "Support"]
    assert not Mailbox.select().where(Mailbox.name == "Forward collector").exists()


async def test_help_lists_the_screen_keys_and_escape_never_quits(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = "\n".join(f"{k} {d}" for k, d in app.screen.bindings_list)
        for words in ("New forward", "Filter", "View", "Sort", "Mark", "Open", "Quit"):
            assert words in text
        await pilot.press("escape", "escape", "escape")
        await pilot.pause()
        assert isinstance(app.screen, MailboxListScreen) and app.is_running


@pytest.fixture(scope="module")
def big_db(tmp_path_factory):
    """100,000 mailboxes in a SQLite file, built once for this module."""
    import os

    from cryptography.fernet import Fernet

    url = f"sqlite:///{tmp_path_factory.mktemp('big') / 'big.db'}"
    key = Fernet.generate_key().decode()
    old = os.environ.get("MAILBOX_TUI_KEY")
    os.environ["MAILBOX_TUI_KEY"] = key
    try:
        with Store(url) as store:
            add_users_with_mailboxes(store, 100_000)
    finally:
        if old is None:
            os.environ.pop("MAILBOX_TUI_KEY")
        else:
            os.environ["MAILBOX_TUI_KEY"] = old
    return url, key


async def test_100000_mailboxes_scroll_and_filter_without_loading_them_all(big_db, monkeypatch):
    url, key = big_db
    monkeypatch.setenv("MAILBOX_TUI_KEY", key)
    store = Store(url)
    app = MailboxApp(store)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            if app.screen.__class__.__name__ == "ActingAdminDialog":
                await pilot.press("escape")
            table = app.screen.table
            assert table.count == 100_000 and "100,000 shown of 100,000" in status(app)
            await pilot.press("G")  # to the last row
            await pilot.pause()
            assert table.cursor == 99_999 and table.current.name == "User 099999"
            assert sum(len(p) for p in table.cache.pages.values()) <= 12 * 100  # a few pages, never all
            await pilot.press("g", "pagedown", "pagedown")
            step = table.size.height - 2  # a page: the visible rows under the header, less one
            assert table.cursor == 2 * step and table.current.name == f"User {2 * step:06d}"
            await pilot.press("slash", *"user04242")
            await settle(pilot)
            assert table.count == 10 and table.current.name == "User 042420"
            assert "10 shown of 100,000" in status(app)
            # The scrollbar is drawn for the filtered list (header and 10 rows, all in view), not
            # the 100,000 rows before: the filter set the list's length without a layout.
            bar = table.vertical_scrollbar
            assert (bar.window_virtual_size, bar.window_size) == (11, table.scrollable_content_region.height)
            assert table.scroll_offset.y == 0
    finally:
        store.close()


async def test_nothing_blinks_or_redraws_while_idle(app):
    """Over SSH an idle screen sends nothing: no blinking cursors, no timers redrawing."""
    from textual.widgets import Input

    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        await pilot.press("escape", "n")
        await settle(pilot)
        inputs = list(app.screen.query(Input))
        assert inputs and not any(box.cursor_blink for box in inputs)
        await pilot.pause(0.5)
        from textual.widget import Widget

        refreshed = []
        original = Widget.refresh

        def counting(self, *args, **kwargs):
            refreshed.append(self)
            return original(self, *args, **kwargs)

        Widget.refresh = counting
        try:
            await pilot.pause(1.2)  # longer than a cursor blink (0.5 s)
        finally:
            Widget.refresh = original
        assert refreshed == []
