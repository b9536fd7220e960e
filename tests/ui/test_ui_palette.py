"""Commands from anywhere (issue 25, item 6): the palette offers on every page and form the
commands that belong to no page (Export, Import, Test & Enable failures, History), and running one
goes to the page it needs first. On main it found `export` on Mailboxes only ("No matches found"
on Email Settings)."""

from __future__ import annotations

import json

import pytest
from support.ui import notices, settle, wait_for
from textual.command import CommandList, CommandPalette

from mailbox_tui.store import lookups
from mailbox_tui.ui.dialogs.import_file import ImportDialog, import_path
from mailbox_tui.ui.screens.mailbox_list import MailboxListScreen
from mailbox_tui.ui.screens.record_form import RecordFormScreen
from mailbox_tui.ui.screens.settings import SettingsScreen

# Every page and form, by the keys that reach it from the Mailboxes page.
PLACES = {"Mailboxes": [], "mailbox form": ["enter"], "Email Server Profiles": ["2"], "profile form": ["2", "enter"],
          "Users": ["3"], "user form": ["3", "enter"], "Queues": ["4"], "queue form": ["4", "enter"],
          "Email Settings": ["5"], "History": ["6"], "Health": ["7"]}
ANYWHERE = {"export": "Export", "import": "Import", "failures": "Test & Enable failures (retest)",
            "history": "Go to History"}


async def palette_search(pilot, query: str, open_it: bool = True) -> list[str]:
    """The names the palette lists for `query` (left open); a query of ANYWHERE's is waited for."""
    if open_it:
        await pilot.press("ctrl+p")
        await settle(pilot)
    assert isinstance(pilot.app.screen, CommandPalette)
    await pilot.press("ctrl+u", *query)
    found = pilot.app.screen.query_one(CommandList)

    def names() -> list[str]:  # ("No matches found" is an option with no command)
        options = [found.get_option_at_index(i) for i in range(found.option_count)]
        return [option.hit.text for option in options if hasattr(option, "hit")]

    try:
        await wait_for(lambda: ANYWHERE.get(query) in names(), timeout=3)
    except TimeoutError:
        pass
    return names()


async def import_by_palette(pilot, document) -> None:
    """Import… from the palette, wherever the app stands: the dialog, the file's path typed, Enter."""
    await palette_search(pilot, "import")
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(pilot.app.screen, ImportDialog)
    await pilot.press(*str(document), "enter")
    await settle(pilot)


async def back_to_mailboxes(pilot) -> None:
    app = pilot.app
    while not isinstance(app.screen, MailboxListScreen):
        app.pop_screen()
        await settle(pilot)


async def test_commands_of_every_page_are_found_on_every_page(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        missing = {}
        for place, keys in PLACES.items():
            await pilot.press(*keys)
            await settle(pilot)
            for number, (query, name) in enumerate(ANYWHERE.items()):
                if name not in await palette_search(pilot, query, open_it=number == 0):
                    missing.setdefault(place, []).append(name)
            await back_to_mailboxes(pilot)
        assert missing == {}


@pytest.mark.parametrize("place", ["Mailboxes", "Email Settings", "user form", "Health"])
async def test_export_runs_from_any_page(app, tmp_path, monkeypatch, place):
    monkeypatch.chdir(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press(*PLACES[place])
        await settle(pilot)
        before = type(app.screen)
        await palette_search(pilot, "export")
        await pilot.press("enter")
        await settle(pilot)
        [written] = tmp_path.glob("mailbox-export-*.json")
        assert len(json.loads(written.read_text())["mailboxes"]) == 5
        assert any(f"to {written}" in text for text in notices(app))
        assert type(app.screen) is before  # Export needs no page: the admin stays where they were


async def test_test_and_enable_failures_from_email_settings_goes_to_mailboxes(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("5")
        await settle(pilot)
        assert isinstance(app.screen, SettingsScreen)
        await palette_search(pilot, "failures")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, MailboxListScreen)
        assert any("No mailbox has a failed test" in text for text in notices(app))


async def test_a_form_with_unsaved_changes_keeps_the_admin_there(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("3", "enter", "x")  # a user's name, changed
        await settle(pilot)
        form = app.screen
        assert isinstance(form, RecordFormScreen) and form.is_dirty()
        await palette_search(pilot, "failures")
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is form
        assert any("Save (ctrl+s) or discard" in text for text in notices(app))


async def test_import_from_the_health_page_writes_the_file_and_says_how_to_undo(app, tmp_path):
    document = tmp_path / "new-users.json"
    document.write_text(json.dumps({"users": [{"fullname": "Dora Imported", "internalemailaddress": "dora@example.com"}]}))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("7")
        await settle(pilot)
        await import_by_palette(pilot, document)
        assert lookups.user_by_email("dora@example.com") is not None
        said = notices(app)
        assert any("1 created/0 updated users" in m and "History page (6) undoes it" in m for m in said), said


async def test_an_import_with_an_error_writes_nothing_and_names_the_first_error(app, tmp_path):
    document = tmp_path / "bad.json"
    document.write_text(json.dumps({"users": [{"fullname": "", "internalemailaddress": "eve@example.com"}]}))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await import_by_palette(pilot, document)
        assert lookups.user_by_email("eve@example.com") is None
        errors = notices(app, "error")
        assert any(m.startswith(f"Nothing was imported from {document}: 1 error: ") for m in errors), errors


def test_import_takes_only_a_file_or_a_folder_never_the_terminal(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "users.csv").write_text("fullname,internalemailaddress\n")
    assert import_path("users.csv") == (tmp_path / "users.csv", "")
    assert import_path(" ") == (None, "Type the path of a JSON file, a CSV file or a folder of CSV files.")
    assert import_path("-") == (None, "- does not exist.")  # standard input is the terminal here
    assert import_path("/dev/null")[0] is None and import_path("/dev/stdin")[0] is None


async def test_an_import_with_passwords_is_refused_while_the_key_is_not_the_teams(sqlite_url, tmp_path, monkeypatch):
    """As `mailbox-tui import`: no password is stored that the other admins could not read."""
    from cryptography.fernet import Fernet
    from support.ui import seed_small_org

    from mailbox_tui.store import services
    from mailbox_tui.store.database import Store
    from mailbox_tui.ui.app import MailboxApp

    with Store(sqlite_url) as store:
        alice_box = seed_small_org(store)["alice_box"]
    monkeypatch.setenv("MAILBOX_TUI_KEY", Fernet.generate_key().decode())  # not the key the database was made with
    document = tmp_path / "passwords.json"
    document.write_text(json.dumps({"mailboxes": [
        {"regarding": {"user": "alice@example.com"}, "emailserverprofile": "Corporate IMAP",
         "allowemailconnectortousecredentials": True, "username": "changed@example.com", "password": "pw"}]}))
    with Store(sqlite_url) as store:
        assert not store.key_ok
        app = MailboxApp(store, acting="alice@example.com")
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await import_by_palette(pilot, document)
            errors = notices(app, "error")
            assert any(m.startswith("Import failed: this file carries passwords") for m in errors), errors
        assert services.get_mailbox(store, alice_box.id).username != "changed@example.com"
