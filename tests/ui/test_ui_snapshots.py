"""What an admin sees at 80×24 and at 60×20: every screen as SVG snapshots, in English and in Swedish
(issue 26), and on every screen a key bar that still shows Help and the command palette."""

from __future__ import annotations

import re

import pytest
from rich.color import ColorType
from support.ui import screen_lines, screen_strips, settle
from textual.widgets import Input

from mailbox_tui import i18n
from mailbox_tui.ui.app import MailboxApp, short_database_name
from mailbox_tui.ui.screens.mailbox_list import MailboxListScreen


def _steady(app: MailboxApp):
    async def run_before(pilot) -> None:
        await settle(pilot)
        if i18n.current() == i18n.ENGLISH:
            app.sub_title = "as Alice Berg · snapshot.db"  # not the temp file's name
        else:  # the acting admin in the app's own words, whatever the catalogue says; not the temp file's name
            app.sub_title = app.sub_title.replace(short_database_name(app.store.url), "snapshot.db")
        await pilot.pause()

    return run_before


def _pressed(app: MailboxApp, keys: list[str]):
    """Steady, then these keys, each let settle."""
    steady = _steady(app)

    async def run_before(pilot) -> None:
        await steady(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)

    return run_before


SIZES = [(80, 24), (60, 20)]
SIZE_IDS = ["80x24", "60x20"]


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_snapshot_mailbox_list(snap_compare, app, size):
    assert snap_compare(app, terminal_size=size, run_before=_steady(app))


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
@pytest.mark.parametrize("key", ["f2", "f3", "f4", "f5"])
def test_snapshot_new_forward_mailbox_form_section(snap_compare, app, key, size):
    steady = _steady(app)

    async def run_before(pilot) -> None:
        await steady(pilot)
        await pilot.press("n")
        await settle(pilot)
        await pilot.press(key)
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_snapshot_user_mailbox_form(snap_compare, app, ui_store, size):
    steady = _steady(app)

    async def run_before(pilot) -> None:
        await steady(pilot)
        await pilot.press("down", "enter")  # Bob Dahl
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


async def test_every_colour_on_screen_is_one_of_the_16_ansi_colours(app):
    """TERM=xterm over SSH: the ANSI theme draws only with the terminal's own 16 colours."""
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for keys in ([], ["n"], ["f3"], ["f4"]):
            await pilot.press(*keys)
            await settle(pilot)
            for strip in screen_strips(app):
                for segment in strip:
                    style = segment.style
                    if style is None:
                        continue
                    for color in (style.color, style.bgcolor):
                        assert color is None or color.type in (ColorType.DEFAULT, ColorType.STANDARD) or (
                            color.type == ColorType.EIGHT_BIT and color.number < 16), (keys, segment)


PAGES = {"profiles": ["2"], "profile-form": ["2", "n"], "users": ["3"], "user-form": ["3", "enter"],
         "queues": ["4"], "queue-form": ["4", "enter"], "settings": ["5"], "help": ["question_mark"],
         "form-help": ["enter", "question_mark"], "delete-question": ["3", "delete"],
         "palette": ["ctrl+p"], "health": ["7"], "dropdown": ["enter", "f4", "enter"], "marked-and-scrolled": ["3", "space", "right"]}


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
@pytest.mark.parametrize("keys", list(PAGES.values()), ids=list(PAGES))
def test_snapshot_pages(snap_compare, app, keys, size):
    steady = _steady(app)

    async def run_before(pilot) -> None:
        await steady(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_snapshot_empty_database_says_what_to_do(snap_compare, sqlite_url):
    from mailbox_tui.store.database import Store

    store = Store(sqlite_url)
    app = MailboxApp(store)
    try:
        assert snap_compare(app, terminal_size=(80, 24), run_before=_steady(app))
    finally:
        store.close()


# Svenska (issue 26): every page above, in Swedish, the app started as `LANG=sv_SE.UTF-8 mailbox-tui` starts it
# (the language chosen before the app is built). The English snapshots keep their names; the Swedish ones
# have the same ids under test_snapshot_swedish_*, so regenerating them when the catalogue changes
# (`pytest tests/ui/test_ui_snapshots.py -k swedish --snapshot-update`) rewrites no English one.


@pytest.fixture
def swedish_app(ui_store):
    i18n.use(i18n.choose(None, None, {"LANG": "sv_SE.UTF-8"}))
    assert i18n.current() == i18n.SWEDISH
    return MailboxApp(ui_store, acting="alice@example.com")


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_snapshot_swedish_mailbox_list(snap_compare, swedish_app, size):
    assert snap_compare(swedish_app, terminal_size=size, run_before=_steady(swedish_app))


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
@pytest.mark.parametrize("key", ["f2", "f3", "f4", "f5"])
def test_snapshot_swedish_new_forward_mailbox_form_section(snap_compare, swedish_app, key, size):
    assert snap_compare(swedish_app, terminal_size=size, run_before=_pressed(swedish_app, ["n", key]))


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_snapshot_swedish_user_mailbox_form(snap_compare, swedish_app, size):
    assert snap_compare(swedish_app, terminal_size=size, run_before=_pressed(swedish_app, ["down", "enter"]))


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
@pytest.mark.parametrize("keys", list(PAGES.values()), ids=list(PAGES))
def test_snapshot_swedish_pages(snap_compare, swedish_app, keys, size):
    assert snap_compare(swedish_app, terminal_size=size, run_before=_pressed(swedish_app, keys))


def test_snapshot_swedish_empty_database_says_what_to_do(snap_compare, sqlite_url):
    from mailbox_tui.store.database import Store

    i18n.use(i18n.SWEDISH)
    store = Store(sqlite_url)
    app = MailboxApp(store)
    try:
        assert snap_compare(app, terminal_size=(80, 24), run_before=_steady(app))
    finally:
        store.close()


def _bottom_line(app) -> str:
    return screen_lines(app)[-1]


SCREENS = {"mailboxes": [], "mailbox-form": ["enter"], "new-forward": ["n"], "form-owner-field": ["n", "tab"],
           "profiles": ["2"], "profile-form": ["2", "enter"], "users": ["3"], "user-form": ["3", "enter"],
           "queues": ["4"], "queue-form": ["4", "enter"], "settings": ["5"], "filter": ["slash"]}


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
async def test_every_screen_shows_help_and_the_palette_in_the_key_bar(app, size):
    """Help and the command palette are where Approve, Reject and Apply Defaults live: never cut off."""
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        for name, keys in SCREENS.items():
            await pilot.press(*keys)
            await settle(pilot)
            bar = _bottom_line(app)
            help_key = "f1" if isinstance(app.focused, Input) else "?"  # "?" would be typed into a field
            # One space between keys when that shows more of them whole (the keys are in reverse video).
            assert re.search(rf"\^p Commands {{1,2}}{re.escape(help_key)} Help$", bar.rstrip()), (name, bar)
            assert len(bar) == size[0], (name, bar)
            while not isinstance(app.screen, MailboxListScreen):
                app.pop_screen()
                await settle(pilot)


async def test_the_key_bar_keeps_its_order_as_focus_moves(app):
    """Tabbing through a form never reshuffles the keys the admin is reading."""
    async with app.run_test(size=(120, 24)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        bars = []
        for _ in range(8):
            bars.append(_bottom_line(app))
            await pilot.press("tab")
            await settle(pilot)
        page_keys = " ^w Save & Close  ^s Save  f6 Test & Enable  f2-f5 Sections  f10 History  esc Back"
        assert all(bar.startswith(page_keys) for bar in bars), bars


async def test_at_80_columns_a_form_shows_its_keys_whole_with_the_record_history(app):
    """At 80×24 the form's bar used to end "f2-f5 Secti…", later "f10 History …": keys were cut. Now
    the bar takes a second line, and every key a form is used with shows whole, labels in full."""
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        bar = "\n".join(screen_lines(app)[-2:])
        for key in ("^w Save & Close", "^s Save", "f6 Test & Enable", "f2-f5 Sections", "f10 History", "esc Back",
                    "^p Commands", "f1 Help"):
            assert key in bar, bar
        assert "…" not in bar, bar
