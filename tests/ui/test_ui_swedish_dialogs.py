"""Svenska (issue 26) in the palette, the dialogs and the notices: the app started in Swedish, driven by
keys; what it stores stays English."""

from __future__ import annotations

import sqlite3

import pytest
from support.ui import notices, screen_lines, settle

from mailbox_tui import i18n
from mailbox_tui.store import services
from mailbox_tui.store.database import ConflictError
from mailbox_tui.store.models import Mailbox
from mailbox_tui.ui.dialogs.choice import ask_keep_secrets
from mailbox_tui.ui.dialogs.confirm import ConfirmDialog
from mailbox_tui.ui.screens.history import EntryScreen, HistoryListScreen
from mailbox_tui.ui.screens.mailbox_form import MailboxFormScreen


def shown_text(app) -> str:
    """The screen's words in reading order, a dialog's wrapped lines joined again (its frame and the
    buttons' edges left out)."""
    text = "\n".join(screen_lines(app))
    for frame in "█▀▄▊▎▔▁▍":
        text = text.replace(frame, " ")
    return " ".join(text.split())


def palette_names(app) -> list[str]:
    from textual.command import CommandList

    options = app.screen.query_one(CommandList)
    return [str(options.get_option_at_index(i).prompt).split("\n")[0] for i in range(options.option_count)]


async def test_the_palette_shows_swedish_command_names_and_finds_them_by_swedish_and_english_words(app):
    i18n.use(i18n.SWEDISH)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"språk")
        await settle(pilot)
        assert palette_names(app)[0].startswith("Språk: English"), palette_names(app)
        await pilot.press(*["backspace"] * 5, *"godkänn")
        await settle(pilot)
        found = palette_names(app)
        assert "Godkänn e-post" in found and not any("Approve" in name for name in found), found
        await pilot.press(*["backspace"] * 7, *"Approve")  # the English name still finds it, shown in Swedish
        await settle(pilot)
        assert "Godkänn e-post" in palette_names(app)
        await pilot.press(*["backspace"] * 7, *"historik")
        await settle(pilot)
        assert any(name == "Gå till Historik" for name in palette_names(app)), palette_names(app)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, HistoryListScreen)


async def test_the_palette_in_english_finds_the_language_by_its_swedish_word(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"språk")
        await settle(pilot)
        assert palette_names(app)[0] == "Language: Svenska", palette_names(app)


async def test_delete_asks_in_swedish_and_the_notice_after_it_is_swedish(app, ui_store):
    i18n.use(i18n.SWEDISH)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("down", "down", "down")  # Forward collector
        await pilot.press("delete")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        text = shown_text(app)
        assert "Ta bort postlådan för vidarebefordran 'Forward collector' och dess aviseringar?" in text, text
        assert "Ta bort (y)" in text and "Behåll (n)" in text
        await pilot.press("y")
        await settle(pilot)
        assert not Mailbox.select().where(Mailbox.name == "Forward collector").exists()
        status = str(app.screen.query_one("#status").render())
        assert "u: ångra Tog bort postlådan för vidarebefordran 'Forward collector'." in status, status
        await pilot.press("home", "delete")  # Alice Berg: a user mailbox is not deleted here
        await settle(pilot)
        assert "'Alice Berg' är en användares postlåda: den tas bort med användaren, inte här." in notices(app)


async def test_saving_a_form_says_so_in_swedish(app, ui_store):
    i18n.use(i18n.SWEDISH)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("down", "down", "down", "enter")  # Forward collector's form
        await settle(pilot)
        await pilot.press("end", *" 2", "ctrl+s")
        await settle(pilot)
        assert "Sparade postlåda 'Forward collector 2'." in notices(app), notices(app)


async def test_an_error_from_the_store_is_shown_in_swedish_and_stored_nowhere(app, ui_store, sqlite_url):
    """A refused undo: the store's English sentence (say()) is shown in Swedish."""
    from mailbox_tui.store import history_read

    i18n.use(i18n.SWEDISH)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("6")
        await settle(pilot)
        app.undo_entries([history_read.latest_id() + 100], "test")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        wanted = f"Det finns ingen ändring #{history_read.latest_id() + 100} i historiken."
        assert wanted in notices(app, "error"), notices(app)


async def test_history_shows_swedish_phrases_for_entries_stored_in_english(app, ui_store, sqlite_url):
    i18n.use(i18n.SWEDISH)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("3")  # Users: approve Bob's email, written to the history
        await settle(pilot)
        while app.screen.table.current.full_name != "Bob Dahl":
            await pilot.press("down")
        app.screen.action_approve(True)
        await settle(pilot)
        await pilot.press("6")
        await settle(pilot)
        text = "\n".join(screen_lines(app))
        assert "godkände" in text and "postlådan 'Bob Dahl'" in text, text
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, EntryScreen)
        entry = "\n".join(screen_lines(app))
        assert "godkände e-post för postlådan 'Bob Dahl'" in entry, entry
        assert "Godkännande av e-postadress: Väntar på godkännande → Godkänd" in entry, entry
        assert "u: ångra · Escape: stäng" in entry
        await pilot.press("u")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        question = app.screen.question
        assert question.startswith("Återställ det som ändring #"), question
        assert "ändrade på postlådan 'Bob Dahl' (Godkännande av e-postadress)?" in question, question
        assert "Ångra (y)" in shown_text(app) and "Behåll (n)" in shown_text(app)
    con = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
    try:  # what the history stores is the code's own English, whatever the admin read
        rows = con.execute("SELECT action, record_key, changes FROM change_entry WHERE action = 'approve'").fetchall()
    finally:
        con.close()
    assert rows and rows[-1][0] == "approve" and rows[-1][1] == "Bob Dahl"
    assert "Godkänd" not in rows[-1][2] and "godkände" not in "".join(map(str, rows[-1]))


def conflict(app) -> None:
    """The question a save asks when another admin saved the record first (the form of Forward collector)."""
    MailboxFormScreen.open(app, services.get_mailbox(app.store, app.screen.table.current.id))
    app.call_later(lambda: app.screen._conflict(ConflictError("Mailbox 'Forward collector'", ["name"]),
                                                app.screen.base, False))


def keep_secrets(app) -> None:
    """P15's question before a save that would send a stored password to a new host."""
    ask_keep_secrets(app, ["Password: would go to imap2.example.com"], lambda keep: None)


DIALOGS = [
    ("delete", lambda app: app.screen.action_delete(), ("Ta bort (y)", "Behåll (n)")),
    ("keep secrets", keep_secrets, ("Rensa (c)", "Behåll (k)", "Redigera (e)")),
    ("acting", lambda app: app.action_choose_admin(), ("Vem är administratör?",)),
    ("undo", lambda app: app.undo_entries([1], "ändring #1"), ("Ångra (y)", "Behåll (n)")),
    ("conflict", lambda app: conflict(app), ("Läs in (r)", "Skriv över (o)", "Redigera (k)")),
    ("import", lambda app: app.action_import(), ("Enter: importera · Escape: avbryt",)),
    ("defaults", lambda app: app.screen.action_apply_defaults(),
     ("Använd standardinställningar för e-post på 1 postlåda", "y: verkställ på 0 postlådor", "Escape: ändra inget.")),
]


@pytest.mark.parametrize("size", [(80, 24), (60, 20)])
@pytest.mark.parametrize("name,open_dialog,words", DIALOGS, ids=[d[0] for d in DIALOGS])
async def test_dialogs_in_swedish_fit_and_show_their_buttons_whole(app, size, name, open_dialog, words):
    i18n.use(i18n.SWEDISH)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("down", "down", "down")  # Forward collector: deletable, and its defaults apply
        open_dialog(app)
        await settle(pilot)
        lines = screen_lines(app)
        text = "\n".join(lines)
        for word in words:
            assert any(word in line for line in lines), (word, text)
