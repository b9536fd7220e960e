"""The key bar shows every key of every screen whole (issue 25, item 1): when one line cannot hold
them, it takes a second line rather than cutting one off with an ellipsis; when one line holds them,
it stays one line."""

from __future__ import annotations

import pytest
from support.fit import back_to_mailboxes, bar_lines, bar_owner, missing_or_cut, shown_keys
from support.ui import settle

from mailbox_tui import i18n
from mailbox_tui.ui.widgets.keybar import KeyBar

# Every screen, form and dialog an admin reaches, by the keys that reach it from the Mailboxes page.
REACHABLE = {
    "mailboxes": [], "mailboxes-marked": ["space"], "mailbox-form": ["down", "enter"],
    "mailbox-form-sync": ["down", "enter", "f4", "tab"], "new-forward": ["n"], "form-owner-field": ["n", "tab"],
    "profiles": ["2"], "profile-form": ["2", "enter"], "new-profile": ["2", "n"], "users": ["3"],
    "user-form": ["3", "enter"], "new-user": ["3", "n"], "queues": ["4"], "queue-form": ["4", "enter"],
    "settings": ["5"], "history": ["6"], "health": ["7"], "filter": ["slash"],
    "help": ["question_mark"], "form-help": ["enter", "f1"], "delete-question": ["3", "delete"],
    "discard-question": ["3", "enter", "x", "escape"], "history-entry": ["6", "enter"],
    "record-history": ["enter", "f10"], "palette": ["ctrl+p"], "dropdown": ["enter", "f4", "enter"],
}


@pytest.mark.parametrize("language", ["en", "sv"])
@pytest.mark.parametrize("size", [(80, 24), (60, 20)], ids=["80x24", "60x20"])
async def test_every_key_of_every_screen_is_shown_whole(app, size, language):
    """In English and in Swedish (issue 26: longer words, the same promise)."""
    i18n.use(language)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        problems = {}
        for name, keys in REACHABLE.items():
            await pilot.press(*keys)
            await settle(pilot)
            owner = bar_owner(app)
            assert shown_keys(owner), name
            if found := missing_or_cut(owner):
                problems[name] = (found, bar_lines(owner))
            lines = bar_lines(owner)
            assert all(len(line) == size[0] for line in lines), (name, lines)
            assert lines[-1].rstrip().endswith(i18n.shown("Help")), (name, lines)
            await back_to_mailboxes(app, pilot)
        assert problems == {}


async def test_the_bar_takes_a_second_line_only_when_one_cannot_hold_the_keys(app):
    """The queue form's keys fit one line at 80 columns and take two at 60; the profile form's take
    two at 80. The form above gives up exactly the line the bar takes."""
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("4", "enter")
        await settle(pilot)
        bar = app.screen.query_one(KeyBar)
        form = app.screen.query_one("#form")
        assert bar.region.height == 1 and form.region.bottom == bar.region.y
        await pilot.resize_terminal(60, 20)
        await settle(pilot)
        assert bar.region.height == 2 and form.region.bottom == bar.region.y
        await pilot.resize_terminal(80, 24)
        await settle(pilot)
        assert bar.region.height == 1
        await back_to_mailboxes(app, pilot)
        await pilot.press("2", "enter")
        await settle(pilot)
        bar = app.screen.query_one(KeyBar)
        assert bar.region.height == 2 and app.screen.query_one("#form").region.bottom == bar.region.y
        assert "f7 Test its mailboxes" in "\n".join(bar_lines(app.screen))


async def test_a_change_of_keys_that_needs_another_line_lays_the_screen_out_again(app):
    """The filter box takes the keys of the list away (one line), Escape brings them back (two)."""
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        bar = app.screen.query_one(KeyBar)
        assert bar.region.height == 2
        await pilot.press("slash")
        await settle(pilot)
        assert bar.region.height == 1 and app.screen.table.region.bottom == bar.region.y
        await pilot.press("escape")
        await settle(pilot)
        assert bar.region.height == 2 and app.screen.table.region.bottom == bar.region.y


async def test_far_narrower_than_60_columns_the_bar_stops_at_three_lines_and_keeps_help(app):
    async with app.run_test(size=(40, 20)) as pilot:
        await settle(pilot)
        await pilot.press("2", "enter")
        await settle(pilot)
        lines = bar_lines(app.screen)
        assert len(lines) == 3 and all(len(line) == 40 for line in lines), lines
        assert "…" in lines[-1] and lines[-1].rstrip().endswith("^p Commands f1 Help"), lines
