"""What an admin sees at 80×24: the list and each form section, as SVG snapshots."""

from __future__ import annotations

import pytest
from rich.color import ColorType
from support.ui import settle

from mailbox_tui.ui.app import MailboxApp


def _steady(app: MailboxApp):
    async def run_before(pilot) -> None:
        await settle(pilot)
        app.sub_title = "sqlite:///snapshot.db · as Alice Berg <alice@example.com>"  # not the temp path
        await pilot.pause()

    return run_before


def test_snapshot_mailbox_list(snap_compare, app):
    assert snap_compare(app, terminal_size=(80, 24), run_before=_steady(app))


@pytest.mark.parametrize("key", ["f2", "f3", "f4", "f5"])
def test_snapshot_new_forward_mailbox_form_section(snap_compare, app, key):
    steady = _steady(app)

    async def run_before(pilot) -> None:
        await steady(pilot)
        await pilot.press("n")
        await settle(pilot)
        await pilot.press(key)
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_snapshot_user_mailbox_form(snap_compare, app, ui_store):
    steady = _steady(app)

    async def run_before(pilot) -> None:
        await steady(pilot)
        await pilot.press("down", "enter")  # Bob Dahl
        await settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


async def test_every_colour_on_screen_is_one_of_the_16_ansi_colours(app):
    """TERM=xterm over SSH: the ANSI theme draws only with the terminal's own 16 colours."""
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for keys in ([], ["n"], ["f3"], ["f4"]):
            await pilot.press(*keys)
            await settle(pilot)
            for strip in app.screen._compositor.render_strips():
                for segment in strip:
                    style = segment.style
                    if style is None:
                        continue
                    for color in (style.color, style.bgcolor):
                        assert color is None or color.type in (ColorType.DEFAULT, ColorType.STANDARD) or (
                            color.type == ColorType.EIGHT_BIT and color.number < 16), (keys, segment)


@pytest.mark.parametrize("keys", [["2"], ["2", "n"], ["3"], ["3", "enter"], ["4"], ["4", "enter"], ["5"]],
                         ids=["profiles", "profile-form", "users", "user-form", "queues", "queue-form", "settings"])
def test_snapshot_organisation_pages(snap_compare, app, keys):
    steady = _steady(app)

    async def run_before(pilot) -> None:
        await steady(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
