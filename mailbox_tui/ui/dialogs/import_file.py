"""Import from the app: which file. The import itself is the command line's (`mailbox-tui import`),
run in a worker: every row judged first, then everything written in one transaction, or nothing."""

from __future__ import annotations

import os
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input

from ...i18n import N_, _, shown
from ..plain import Plain, PlainInput, plain

IMPORTABLE = N_("a JSON file, a CSV file or a folder of CSV files")


def import_path(typed: str) -> tuple[Path | None, str]:
    """The file or folder an admin typed (~ and relative to the current folder), or why it can't be
    imported from here. Only a regular file or a folder: standard input and devices are the
    terminal itself in the app."""
    text = typed.strip()
    if not text:
        return None, _("Type the path of {what}.").format(what=shown(IMPORTABLE))
    path = Path(os.path.expanduser(text))
    if not path.is_absolute():
        path = Path.cwd() / path
    if not path.exists():
        return None, _("{path} does not exist.").format(path=text)
    if not (path.is_file() or path.is_dir()):
        return None, _("{path} is not {what}.").format(path=text, what=shown(IMPORTABLE))
    return path, ""


class ImportDialog(ModalScreen[Path | None]):
    """Enter imports the typed path; Escape imports nothing."""

    DEFAULT_CSS = """
    ImportDialog { align: center middle; }
    ImportDialog > Vertical { width: 76; max-width: 100%; height: auto; border: thick $primary; padding: 1 2;
                              background: $surface; }
    """
    BINDINGS = [Binding("escape", "cancel", N_("Cancel"), id="cancel")]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Plain(_("Import {what} in the exchange format (as `mailbox-tui import`). Nothing is "
                          "written unless every row passes the rules; the History page (6) undoes it as a whole. "
                          "Enter: import · Escape: cancel").format(what=shown(IMPORTABLE)))
            yield PlainInput(placeholder=_("e.g. ~/mailboxes.json"), id="import-path")
            yield Plain("", id="import-message")

    def on_mount(self) -> None:
        box = self.query_one(Input)
        box.cursor_blink = False
        box.focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        path, why = import_path(event.value)
        if path is None:
            self.query_one("#import-message", Plain).update(plain(why))
            return
        self.dismiss(path)

    def action_cancel(self) -> None:
        self.dismiss(None)
