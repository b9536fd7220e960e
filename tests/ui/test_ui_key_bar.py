"""The key bar shows every key of every screen whole (issue 25, item 1): when one line cannot hold
them, it takes a second line rather than cutting one off with an ellipsis; when one line holds them,
it stays one line."""

from __future__ import annotations

import pytest
from support.ui import settle, screen_strips
from textual.widgets import Input

from mailbox_tui import i18n
from mailbox_tui.ui.screens.mailbox_list import MailboxListScreen
from mailbox_tui.ui.widgets.keybar import ALWAYS, KEY_BAR, SHORT, KeyBar

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


def bar_owner(app):
    """The screen whose key bar is on screen: the top one, or the one under a dialog."""
    return next(screen for screen in reversed(app.screen_stack) if screen.query(KeyBar))


def bar_lines(screen) -> list[str]:
    bar = screen.query_one(KeyBar)
    strips = screen_strips(screen)
    return ["".join(segment.text for segment in strip) for strip in strips[bar.region.y:bar.region.bottom]]


def shown_keys(screen) -> dict[str, tuple[list[str], str]]:
    """What the screen asks the bar to show: per action, its keys (any one will do) and description."""
    out: dict[str, tuple[list[str], str]] = {}
    for active in screen.active_bindings.values():
        binding = active.binding
        if binding.show and binding.description and active.enabled and binding.id not in ALWAYS:
            key = binding.key_display or screen.app.get_key_display(binding)
            out.setdefault(binding.action, ([], binding.description))[0].append(key)
    return out


def labels(description: str) -> tuple[str, str]:
    """The bar's full and short label of a key, in the language the process shows."""
    full = i18n.shown(description)
    return full, (i18n.pgettext(KEY_BAR, SHORT[description]) if description in SHORT else full)


def missing_or_cut(screen) -> list[str]:
    text = " ".join(bar_lines(screen))
    out = [f"{keys[0]} {description}" for keys, description in shown_keys(screen).values()
           if not any(f"{key} {label}" in text for key in keys for label in labels(description))]
    if "…" in text:
        out.append(f"cut: {text!r}")
    return out


async def back_to_mailboxes(app, pilot) -> None:
    while not isinstance(app.screen, MailboxListScreen):
        app.pop_screen()
        await settle(pilot)
    if isinstance(app.focused, Input):  # the filter box
        await pilot.press("escape")
        await settle(pilot)


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
