"""Svenska (issue 26, item 4): it still fits. Every screen, form and dialog, in English and in Swedish, at
80×24 and 60×20, read back from the drawn screen: every key of the key bar whole, every form label and
section title whole on its line (each part of a form scrolled into view in turn), the page's title whole,
no text given fewer lines or columns than it needs (a status line, a select's value, a dialog's text),
and no box past the terminal's edge. What an admin typed or a server sent may be cut; our words never."""

from __future__ import annotations

import pytest
from support.fit import (back_to_mailboxes, bar_owner, labels_not_whole, missing_or_cut, outside_the_screen,
                         status_cut, title_cut, too_small)
from support.ui import settle, wait_for
from textual.containers import VerticalScroll

from mailbox_tui import i18n
from mailbox_tui.ui.screens.mailbox_list import MailboxListScreen

LANGUAGES = [i18n.ENGLISH, i18n.SWEDISH]
SIZES = [(80, 24), (60, 20)]
SIZE_IDS = ["80x24", "60x20"]

# Every page and dialog, by the keys that reach it from the Mailboxes page (a callable: what the
# palette's command does, so the way there does not depend on what the palette's words are).
PLACES = {
    "mailboxes": [], "mailboxes-marked": ["space"], "filter": ["slash"], "profiles": ["2"], "users": ["3"],
    "queues": ["4"], "history": ["6"], "history-entry": ["6", "enter"], "record-history": ["enter", "f10"],
    "health": ["7"], "help": ["question_mark"], "form-help": ["enter", "f1"], "palette": ["ctrl+p"],
    "delete-question": ["3", "delete"], "discard-question": ["3", "enter", "x", "escape"],
    "dropdown": ["enter", "f4", "enter"], "import": [lambda app: app.action_import()],
}
# Every form: each is scrolled through a page at a time, and the mailbox form's sections by F2–F5 too.
FORMS = {
    "mailbox-form": ["down", "enter"], "new-forward": ["n"], "profile-form": ["2", "enter"],
    "new-profile": ["2", "n"], "oauth-profile-form": ["2", "down", "down", "enter"], "user-form": ["3", "enter"],
    "new-user": ["3", "n"], "queue-form": ["4", "enter"], "new-queue": ["4", "n"], "settings": ["5"],
}


async def go_to(app, pilot, keys) -> None:
    await settle(pilot)
    for key in keys:
        if callable(key):
            key(app)
        else:
            await pilot.press(key)
        await settle(pilot)


def what_does_not_fit(app) -> list[str]:
    owner = bar_owner(app)
    found = (missing_or_cut(owner) + title_cut(app) + too_small(app.screen) + outside_the_screen(app.screen)
             + status_cut(owner))
    if owner is not app.screen:  # a dialog over a page: the page's own words around it stay in view
        found += too_small(owner)
    return found


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
async def test_every_page_and_dialog_shows_its_words_whole(app, size, language):
    i18n.use(language)
    async with app.run_test(size=size) as pilot:
        problems = {}
        for name, keys in PLACES.items():
            await go_to(app, pilot, keys)
            assert not isinstance(app.screen, MailboxListScreen) or name.startswith(("mailboxes", "filter")), name
            if found := what_does_not_fit(app):
                problems[name] = found
            await back_to_mailboxes(app, pilot)
            if app.screen.table.marked:  # the next page starts with nothing marked (space marks, then moves down)
                await go_to(app, pilot, ["up", "space"])
            assert not app.screen.table.marked
        assert problems == {}


async def scrolled_through(app, pilot):
    """The form at its top, then a page further at a time, to its end: at each, what is on screen."""
    form = app.screen.query_one("#form", VerticalScroll)
    form.scroll_home(animate=False)
    await settle(pilot)
    while True:
        yield form
        if form.scroll_y >= form.max_scroll_y:
            return
        form.scroll_to(y=min(form.scroll_y + form.scrollable_content_region.height, form.max_scroll_y),
                       animate=False)
        await settle(pilot)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
async def test_every_form_shows_every_label_whole_in_every_part(app, size, language):
    i18n.use(language)
    async with app.run_test(size=size) as pilot:
        problems = {}
        for name, keys in FORMS.items():
            await go_to(app, pilot, keys)
            pages, seen = 0, set()
            async for form in scrolled_through(app, pilot):
                pages += 1
                if found := labels_not_whole(app, form, seen) + what_does_not_fit(app):
                    problems[f"{name}, page {pages}"] = found
            every = {id(w) for w in form.query(".label, .section-title") if w.display and w.region.area}
            assert every and every <= seen, (name, "labels never on screen")
            await back_to_mailboxes(app, pilot)
        assert problems == {}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
@pytest.mark.parametrize("mailbox", [["down", "enter"], ["n"]], ids=["user-mailbox", "new-forward"])
async def test_each_section_of_the_mailbox_form_brought_up_by_its_key_shows_whole(app, size, language, mailbox):
    i18n.use(language)
    async with app.run_test(size=size) as pilot:
        await go_to(app, pilot, mailbox)
        form = app.screen.query_one("#form", VerticalScroll)
        problems = {}
        for key, section in (("f2", "general"), ("f3", "credentials"), ("f4", "sync"), ("f5", "results"),
                             ("f2", "general")):
            await go_to(app, pilot, [key])
            title = app.screen.query_one(f"#section-{section}")
            assert title.region.y == form.content_region.y, (key, section)  # brought to the top
            if found := labels_not_whole(app, form) + what_does_not_fit(app):
                problems[key] = found
        assert problems == {}


@pytest.fixture
def loopback_profile(ui_store):
    """A profile first on the Profiles page whose servers refuse at once (a closed port on this machine):
    its Test Connection dialog shows failures without waiting on the network."""
    from support.builders import imap_profile

    return imap_profile(ui_store, name="A loopback", incoming_location="127.0.0.1", outgoing_location="127.0.0.1",
                        incoming_port=1, outgoing_port=1)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
async def test_the_test_connection_dialog_shows_its_words_whole(app, loopback_profile, size, language):
    from mailbox_tui.ui.dialogs.connection import ConnectionDialog

    i18n.use(language)
    async with app.run_test(size=size) as pilot:
        await go_to(app, pilot, ["2", "enter"])
        assert app.screen.base.id == loopback_profile.id
        await go_to(app, pilot, ["f8"])
        dialog = app.screen
        assert isinstance(dialog, ConnectionDialog)
        await wait_for(lambda: dialog.checks)
        await settle(pilot)
        assert dialog.checks and not any(c.result and c.result.ok for c in dialog.checks)
        assert what_does_not_fit(app) == []


async def test_the_checks_see_a_cut_label_a_clipped_text_a_box_past_the_edge_and_a_lost_key(app):
    """The checks above can fail: each kind of misfit, made on purpose on a real screen, is found."""
    from mailbox_tui.ui.widgets.keybar import KeyBar

    async with app.run_test(size=(60, 20)) as pilot:
        await go_to(app, pilot, ["down", "enter"])
        form = app.screen.query_one("#form", VerticalScroll)
        assert labels_not_whole(app, form) == [] and what_does_not_fit(app) == []
        label = form.query(".label").first()
        label.update("Tillåt att autentiseringsuppgifter används för e-postbearbetning")  # wraps: two lines
        app.screen.query_one("#summary").styles.height = 1
        app.screen.query_one("#summary").update("ett mycket långt meddelande " * 4)  # needs two lines, has one
        await settle(pilot)
        assert any("Tillåt att" in p for p in labels_not_whole(app, form))
        assert any("summary" in p and "lines, has 1" in p for p in too_small(app.screen))
        app.screen.query_one(KeyBar).styles.width = 200  # past the right edge, its last keys with it
        await settle(pilot)
        assert any("KeyBar" in p for p in outside_the_screen(app.screen))
        await back_to_mailboxes(app, pilot)
        app.screen.query_one("#status").update("x")  # the status no longer shows its parts
        assert any("not whole" in p for p in status_cut(app.screen))
