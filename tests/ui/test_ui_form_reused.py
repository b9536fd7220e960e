"""The mailbox form is built once and shown again and again: showing it does not restyle its 156
nodes unless what their styles depend on changed while it was hidden (ui/screens/reused_screen.py).

Behaviour: every node's styles after an open are exactly what a full restyle gives, whether the
open restyled or not; and it restyles exactly when the app's styles changed meanwhile."""

from __future__ import annotations

import pytest
from support.ui import form_built_ahead, settle
from textual.widgets import Input

from mailbox_tui.ui.screens.mailbox_form import MailboxFormScreen
from mailbox_tui.ui.screens.mailbox_list import MailboxListScreen


def styles_of(screen) -> list[tuple]:
    """Every node's own rules and the style it paints with (inherited colours included)."""
    return [(node, node.styles.css, node.rich_style) for node in screen.walk_children(with_self=True)]


def restyled_whole(app, screen) -> list[tuple]:
    """What a full restyle of `screen` gives, as Textual does it when a screen is pushed."""
    app.stylesheet.update(screen)
    return styles_of(screen)


async def open_highlighted(pilot, form: MailboxFormScreen) -> None:
    await pilot.press("enter")
    await settle(pilot)
    assert pilot.app.screen is form


async def back_to_list(pilot) -> None:
    await pilot.press("escape")
    await settle(pilot)
    assert isinstance(pilot.app.screen, MailboxListScreen)


async def test_opening_the_form_again_and_again_restyles_nothing_and_misses_nothing(app):
    async with app.run_test(size=(80, 24)) as pilot:
        form = await form_built_ahead(pilot)
        await open_highlighted(pilot, form)  # the first Enter, on the form built ahead
        assert form.restyled_on_push == 0
        shown = styles_of(form)
        assert shown == restyled_whole(app, form)
        await back_to_list(pilot)
        for _ in range(3):  # another mailbox each time: the form is refilled (classes change in it)
            await pilot.press("down", "down", "down")
            name = app.screen.table.current.name
            await open_highlighted(pilot, form)
            assert form.query_one("#name", Input).value == name
            assert styles_of(form) == restyled_whole(app, form)
            await back_to_list(pilot)
        assert form.restyled_on_push == 0


async def test_a_form_opened_after_a_dialog_over_it_keeps_its_styles(app):
    async with app.run_test(size=(80, 24)) as pilot:
        form = await form_built_ahead(pilot)
        await open_highlighted(pilot, form)
        await pilot.press("x", "escape")  # a change, then Escape: the discard dialog over the form
        await settle(pilot)
        assert app.screen is not form
        await pilot.press("escape")  # keep editing: the form resumes
        await settle(pilot)
        assert app.screen is form and form.restyled_on_push == 0
        assert styles_of(form) == restyled_whole(app, form)


@pytest.mark.parametrize("change", ["theme", "terminal focus"])
async def test_a_form_hidden_while_the_apps_styles_changed_is_restyled_when_shown(app, change):
    async with app.run_test(size=(80, 24)) as pilot:
        form = await form_built_ahead(pilot)
        before = styles_of(form)
        if change == "theme":
            app.theme = "textual-light"
        else:
            app.app_focus = False  # the terminal lost focus (what Textual does on a focus-out report)
        await settle(pilot)
        if change == "theme":  # (the hidden form is on no stack: Textual's theme change missed it)
            assert styles_of(form) == before, "nothing to prove: the hidden form followed the theme"
        app.screen.open_row(app.screen.table.current)  # as Enter does (a key would give the terminal focus back)
        await settle(pilot)
        assert app.screen is form and app.app_focus == (change == "theme")
        assert form.restyled_on_push == 1
        shown = styles_of(form)
        assert shown == restyled_whole(app, form)
        if change == "theme":
            assert shown != before, "the new theme's colours"
        await back_to_list(pilot)
        await open_highlighted(pilot, form)  # nothing changed since: no restyle
        assert form.restyled_on_push == 1 and styles_of(form) == restyled_whole(app, form)
