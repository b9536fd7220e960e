"""The command palette (ctrl+p): the actions of the page under it, and the commands that belong to no
page, on every page. A command of the Mailboxes page that makes sense from anywhere (Test & Enable
failures, a new forward mailbox) goes there first, as its key would."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from pathlib import Path

from textual.command import DiscoveryHit, Hit, Hits, Provider

from .. import i18n
from ..i18n import _
from ..store.queries import VIEWS
from .plain import markup_literal, plain


class ActionsProvider(Provider):
    """Every action of the app, by name, for the command palette."""

    def commands(self) -> list[tuple[str, object, str]]:
        """(name, callback, help): the page's own first, then those of every page."""
        return page_commands(self.app, self.screen) + anywhere_commands(self.app, self.screen)

    async def discover(self) -> Hits:
        # Shown as written (ui/plain.py): the palette parses its help line as markup, whatever it is.
        for name, callback, help_text in self.commands():
            yield DiscoveryHit(plain(name), callback, text=name, help=markup_literal(help_text))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, callback, help_text in self.commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(markup_literal(name)), callback, text=name,
                          help=markup_literal(help_text))


def page_commands(app, screen) -> list[tuple[str, object, str]]:
    """What only the page under the palette can do (its marked rows, its record)."""
    from .screens.mailbox_list import MailboxListScreen

    out = []
    if isinstance(screen, MailboxListScreen):
        out += [
            ("New Forward Mailbox", screen.action_new, "create a forward mailbox (n)"),
            ("Test & Enable Mailbox", screen.action_test_enable, "the marked mailboxes, in the background (t)"),
            ("Apply Default Email Settings", screen.action_apply_defaults,
             "the organisation's defaults on the marked mailboxes, after a preview"),
            ("Open", lambda: screen.table.action_open(), "open the highlighted mailbox (enter)"),
            ("Approve Email", partial(screen.action_approve, True), "on the marked mailboxes (A1)"),
            ("Reject Email", partial(screen.action_approve, False), "on the marked mailboxes (A1)"),
            ("Activate", partial(screen.action_set_state, True), "the marked mailboxes"),
            ("Deactivate", partial(screen.action_set_state, False), "the marked mailboxes"),
            ("Delete", screen.action_delete, "the highlighted forward mailbox (delete)"),
            ("Filter", screen.action_filter, "by name, email or profile (/)"),
        ]
        out += [(f"View: {title}", partial(screen.set_view, key), "switch the mailbox view (v)")
                for key, title in VIEWS.items()]
    elif any(isinstance(s, MailboxListScreen) for s in app.screen_stack):
        out.append(("Back to Mailboxes", screen.action_back if hasattr(screen, "action_back") else app.pop_screen,
                    "leave this screen (escape)"))
    if hasattr(screen, "action_approve") and not isinstance(screen, MailboxListScreen):
        out += [("Approve Email", partial(screen.action_approve, True), "the marked records (A1)"),
                ("Reject Email", partial(screen.action_approve, False), "the marked records (A1)")]
    if hasattr(screen, "action_save"):
        out += [("Save", partial(screen.action_save, False), "ctrl+s"),
                ("Save & Close", partial(screen.action_save, True), "ctrl+w or F9")]
    if hasattr(screen, "action_history"):
        out.append(("History of this record", screen.action_history, "who changed what, and when (F10)"))
    return out


def anywhere_commands(app, screen) -> list[tuple[str, object, str]]:
    """What belongs to no page: the same on every page and form."""
    from .screens.record_list import PAGE_TITLES, PAGES

    from .screens.mailbox_list import MailboxListScreen

    out = [] if isinstance(screen, MailboxListScreen) else [  # there it is the page's own, first
        ("New Forward Mailbox", app.action_new_forward, "create a forward mailbox (on Mailboxes)")]
    out.append(("Test & Enable failures (retest)", app.action_retest_failures,
                "every mailbox whose last test failed, in the background (on Mailboxes)"))
    if app.test_running():
        out.append(("Cancel Test & Enable", app.action_cancel_test, "stop the running test (x on Mailboxes)"))
    out += [
        ("Export", app.action_export, "everything to a JSON file in the current folder, without passwords"),
        ("Import", app.action_import, "a JSON file, a CSV file or a folder of CSV files; undone from History"),
    ]
    out += [(f"Go to {PAGE_TITLES[page]}", partial(app.action_go, page), f"key {key} on any list")
            for key, page in PAGES.items()]
    other = i18n.SWEDISH if i18n.current() == i18n.ENGLISH else i18n.ENGLISH
    out.append((_("Language: {name}").format(name=i18n.LANGUAGES[other]), partial(app.action_language, other),
                _("show every screen in it from now on, and remember that (settings.json)")))
    out += [("Help", app.action_help, "keys of this screen (? or F1)"),
            ("Choose acting admin", app.action_choose_admin, "the default owner of new forward mailboxes"),
            ("Quit", app.action_quit, "ctrl+q")]
    return out


class CommandsAnywhere:
    """Mixed into the App: the commands that run from any page."""

    def _mailboxes(self, go: bool):
        """The Mailboxes page (at the bottom of the stack); with `go`, brought to the top first, as key 1
        would (which a form with unsaved changes refuses, saying so: then None)."""
        from .screens.mailbox_list import MailboxListScreen

        if go:
            self.action_go("mailboxes")
            return self.screen if isinstance(self.screen, MailboxListScreen) else None
        return next((s for s in self.screen_stack if isinstance(s, MailboxListScreen)), None)

    def test_running(self) -> bool:
        mailboxes = self._mailboxes(go=False)
        return mailboxes is not None and mailboxes.test_run is not None

    def action_new_forward(self) -> None:
        if (mailboxes := self._mailboxes(go=True)) is not None:
            mailboxes.action_new()

    def action_retest_failures(self) -> None:
        if (mailboxes := self._mailboxes(go=True)) is not None:
            mailboxes.action_retest_failures()

    def action_cancel_test(self) -> None:
        if (mailboxes := self._mailboxes(go=False)) is not None:
            mailboxes.action_cancel_test()

    def action_language(self, language: str) -> None:
        """Every screen in `language` from now on, remembered in settings.json (--lang still outranks it
        at the next start). Back on Mailboxes first, as key 1 goes there (a form with unsaved changes
        refuses, saying so): the forms are built again in the new words when opened."""
        from .screens.mailbox_form import MailboxFormScreen
        from .settings import load_settings, save_settings
        from .widgets.keybar import KeyBar

        if (mailboxes := self._mailboxes(go=True)) is None:
            return
        i18n.use(language)
        save_settings({**load_settings(), "language": language})
        MailboxFormScreen.discard(self)  # the form kept for reuse has the old words
        for bar in mailboxes.query(KeyBar):
            bar.refresh(layout=True)
        mailboxes.update_status()
        mailboxes.table.refresh()
        self.notify(_("Language: {name}").format(name=i18n.LANGUAGES[language]))

    def action_export(self) -> None:
        """Everything, without passwords, to a new JSON file in the current folder."""
        from ..store.exchange import export_json

        path = Path.cwd() / f"mailbox-export-{datetime.now():%Y%m%d-%H%M%S}.json"
        try:
            with path.open("w", encoding="utf-8") as fh:
                counts = export_json(fh)
        except OSError as exc:
            self.notify(f"Export failed: {exc.strerror}: {path}", severity="error")
            return
        self.notify(f"Exported {counts['mailboxes']} mailboxes (no passwords) to {path}.", timeout=10)

    def action_import(self) -> None:
        from .dialogs.import_file import ImportDialog

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.notify(f"Importing {path}…")
                self.import_file(path)  # (ui/workers.py)

        self.push_screen(ImportDialog(), chosen)

    def import_finished(self, path: Path, report) -> None:
        """What the import did, in the command line's words; the page on screen shows its records."""
        if report.errors:
            self.notify(f"Nothing was imported from {path}: {len(report.errors)} error(s), the first: "
                        f"{report.errors[0]}. `mailbox-tui import --dry-run FILE` lists them all.",
                        severity="error", timeout=20)
            return
        done = ", ".join(f"{report.created[s]} created/{report.updated[s]} updated {s}" for s in report.created)
        undo = f" History entry #{report.entry}: the History page (6) undoes it as a whole." if report.entry else ""
        note = f" {report.secrets_note}" if report.secrets_note else ""
        self.notify(f"Imported from {path}: {done}.{undo}{note}", timeout=20)
        if hasattr(self.screen, "refresh_rows"):
            self.screen.refresh_rows()
