"""The mailbox form is built while the app is idle after its first paint, hidden, so the first Enter
only refills and shows it, as every later one does (issue 25 item 7: the first open took 0.21–0.23 s
in a real terminal at 100,000 mailboxes, the later ones ~36 ms).

Behaviour, not time: how many times the form was composed, and by whom. A form built ahead and
refilled must look exactly like one built for the record."""

from __future__ import annotations

import pytest
from support.ui import form_built_ahead, screen_lines, settle, wait_for
from textual.widgets import Input

from mailbox_tui.store import services
from mailbox_tui.ui.screens.mailbox_form import MailboxFormScreen
from mailbox_tui.ui.screens.mailbox_list import BUILD_AHEAD_QUIET, MailboxListScreen


@pytest.fixture
def composed(monkeypatch) -> list[MailboxFormScreen]:
    """Every mailbox form composed, in order."""
    built: list[MailboxFormScreen] = []
    original = MailboxFormScreen.compose

    def counting(self):
        built.append(self)
        yield from original(self)

    monkeypatch.setattr(MailboxFormScreen, "compose", counting)
    return built


async def quiet_until_built(pilot) -> None:
    """The admin reads the list, typing nothing: the form is built ahead meanwhile."""
    await form_built_ahead(pilot, laid_out=False)


async def test_the_form_is_built_while_idle_and_the_first_enter_only_refills_it(app, ui_store, composed):
    async with app.run_test(size=(80, 24)) as pilot:
        await quiet_until_built(pilot)
        assert isinstance(app.screen, MailboxListScreen)
        assert len(composed) == 1, "the mailbox form was not built ahead, after the first paint"
        ahead = composed[0]
        assert ahead.built_ahead and ahead.is_mounted and ahead not in app.screen_stack
        assert app.get_screen(MailboxFormScreen.INSTALLED_AS) is ahead
        assert app.focused is app.screen.query_one("#records")  # the list keeps the focus

        first_row = app.screen.table.current
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is ahead and len(composed) == 1  # the first open composed nothing
        assert ahead.base.id == first_row.id
        assert ahead.query_one("#name", Input).value == first_row.name
        assert app.focused is ahead.query_one("#name", Input)
        await pilot.press("x")  # the first key adds to the name, as in a form built for the record
        assert ahead.query_one("#name", Input).value == first_row.name + "x"


async def test_the_form_built_ahead_is_never_drawn_over_the_list(app, composed):
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        list_lines = screen_lines(app)
        await quiet_until_built(pilot)
        assert composed and screen_lines(app) == list_lines
        assert not any("General" in line or "Regarding" in line for line in list_lines)


async def form_lines(app, pilot, mailbox_id: int, ahead: bool) -> list[str]:
    await (laid_out_ahead(pilot) if ahead else settle(pilot))
    app.screen.open_mailbox(mailbox_id)
    await settle(pilot)
    assert isinstance(app.screen, MailboxFormScreen) and app.screen.base.id == mailbox_id
    return screen_lines(app)


@pytest.mark.parametrize("record", ["bob_box", "queue_box", "forward"])
async def test_a_form_built_ahead_shows_a_record_exactly_as_one_built_for_it(ui_store, record, composed, monkeypatch):
    """Bob's mailbox has a stored password and its own credentials; the queue's follows its queue;
    the forward mailbox's owner is editable. The form built ahead was composed and laid out for the
    highlighted mailbox: nothing of that may show."""
    from mailbox_tui.ui.app import MailboxApp

    mailbox_id = ui_store.seeded[record].id
    async with MailboxApp(ui_store, acting="alice@example.com").run_test(size=(80, 24)) as pilot:
        refilled = await form_lines(pilot.app, pilot, mailbox_id, ahead=True)
        assert composed[0].built_ahead and pilot.app.screen is composed[0]
    monkeypatch.setattr(MailboxFormScreen, "build_ahead", classmethod(lambda cls, app, mailbox_id=None: None))
    async with MailboxApp(ui_store, acting="alice@example.com").run_test(size=(80, 24)) as pilot:
        built_for_it = await form_lines(pilot.app, pilot, mailbox_id, ahead=False)
        assert not pilot.app.screen.built_ahead
    assert refilled == built_for_it


async def test_enter_while_the_form_is_still_being_built_ahead_shows_the_record(app, ui_store, composed):
    """The admin can be quicker than the build: the form then shows the record as soon as it is built."""
    carol = services.get_mailbox(ui_store, ui_store.seeded["carol_box"].id)
    async with app.run_test(size=(80, 24)) as pilot:
        await quiet_until_built(pilot)
        form = app.get_screen(MailboxFormScreen.INSTALLED_AS)
        app.uninstall_screen(MailboxFormScreen.INSTALLED_AS)
        await form.remove()  # as if the app had only just painted its first list
        composed.clear()
        MailboxFormScreen.build_ahead(app)
        MailboxFormScreen.open(app, carol)  # in the same moment: not composed yet
        assert composed == [] and not app.get_screen(MailboxFormScreen.INSTALLED_AS).is_mounted
        await settle(pilot)
        form = app.screen
        assert isinstance(form, MailboxFormScreen) and composed == [form] and form.built_ahead
        assert form.base.id == carol.id and form.query_one("#name", Input).value == "Carol Eriksen"
        assert app.focused is form.query_one("#name", Input) and not form.is_dirty()
        await pilot.press("s")
        assert form.query_one("#name", Input).value == "Carol Eriksens"


async def test_keys_typed_after_the_first_paint_put_the_build_off_until_they_stop(app, composed):
    """Building takes about 0.2 s and a key typed meanwhile would wait for it: the form is built only
    once no key has come for BUILD_AHEAD_QUIET (and keys typed ahead went first)."""
    import time

    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        start = time.monotonic()
        while time.monotonic() - start < 2 * BUILD_AHEAD_QUIET:
            await pilot.press("down")  # the admin moves through the list
            await pilot.pause(BUILD_AHEAD_QUIET / 4)
        assert composed == [], "built while keys were coming"
        await quiet_until_built(pilot)
        assert len(composed) == 1 and composed[0].built_ahead


async def laid_out_ahead(pilot) -> MailboxFormScreen:
    return await form_built_ahead(pilot)


async def test_the_form_is_built_for_the_highlighted_mailbox_and_laid_out_hidden(app, composed):
    """Refilling a form for another stored mailbox moves little; going from a new forward mailbox
    to a stored one restyled and re-laid out most of it on the first Enter (about twice a later
    open). So the form is built for the highlighted row and placed at the terminal's size while
    hidden: the first Enter moves nothing, and the list stays as it was meanwhile."""
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("down", "down")
        highlighted = app.screen.table.current
        list_lines = screen_lines(app)
        ahead = await laid_out_ahead(pilot)
        assert ahead.base.id == highlighted.id and composed == [ahead]
        assert screen_lines(app) == list_lines and isinstance(app.screen, MailboxListScreen)
        placed = ahead._placed()
        form = ahead.query_one("#form")
        assert form.virtual_size.height > form.size.height, "the form fits at 80x24: no scroll bar to allow for"
        assert form.virtual_size.width < form.size.width, "laid out as if it had no scroll bar"
        assert ahead.query_one("#name", Input).region.width > 0
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is ahead and len(composed) == 1
        assert ahead._placed() == placed, "the first Enter laid the form out again"
        assert ahead.query_one("#name", Input).value == highlighted.name


async def test_a_highlighted_mailbox_deleted_meanwhile_builds_the_form_for_a_new_one(app, ui_store, composed):
    async with app.run_test(size=(80, 24)) as pilot:
        await quiet_until_built(pilot)
        form = app.get_screen(MailboxFormScreen.INSTALLED_AS)
        app.uninstall_screen(MailboxFormScreen.INSTALLED_AS)
        await form.remove()
        composed.clear()
        MailboxFormScreen.build_ahead(app, 10**9)  # no such mailbox (deleted by another admin)
        await settle(pilot)
        ahead = app.get_screen(MailboxFormScreen.INSTALLED_AS)
        assert composed == [ahead] and ahead.base.id is None and ahead not in app.screen_stack
        first = app.screen.table.current
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is ahead and ahead.base.id == first.id
        assert ahead.query_one("#name", Input).value == first.name and not ahead.is_dirty()


async def test_keys_waiting_put_each_layout_pass_off(app, composed, monkeypatch):
    """A layout pass takes tens of milliseconds: while keys wait in the input queue, none starts.
    Keys held at the very moment a pass would start cannot be timed from a test, so the queue's
    `idle` is made to say "keys waiting" for a while (a fake, for that moment only)."""
    queue_type = type(app.input_queue)
    real_idle = queue_type.idle
    waiting = {"now": True}
    monkeypatch.setattr(queue_type, "idle", property(lambda queue: not waiting["now"] and real_idle.fget(queue)))
    async with app.run_test(size=(80, 24)) as pilot:
        waiting["now"] = False
        await quiet_until_built(pilot)  # built while nothing waited...
        ahead = app.get_screen(MailboxFormScreen.INSTALLED_AS)
        waiting["now"] = True  # ...then keys wait before its first layout pass
        ahead.laid_out_ahead = False
        ahead.call_after_refresh(ahead._lay_out_ahead)
        await pilot.pause(0.5)
        assert not ahead.laid_out_ahead, "laid out while keys were waiting"
        waiting["now"] = False
        await wait_for(lambda: ahead.laid_out_ahead, timeout=10)
