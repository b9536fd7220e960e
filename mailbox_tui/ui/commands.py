"""The command palette (ctrl+p): the actions of the page under it, and the commands that belong to no
page, on every page. A command of the Mailboxes page that makes sense from anywhere (Test & Enable
failures, a new forward mailbox) goes there first, as its key would."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from pathlib import Path

from textual.command import DiscoveryHit, Hit, Hits, Provider

from .. import i18n
from ..i18n import N_, _, ngettext, said, shown
from ..store.queries import VIEWS
from .plain import markup_literal, plain


class ActionsProvider(Provider):
    """Every action of the app, by name, for the command palette."""

    def commands(self) -> list[tuple[str, object, str]]:
        """(name, callback, help): the page's own first, then those of every page."""
        return [command[:3] for command in self._commands()]

    def _commands(self) -> list[tuple]:
        return page_commands(self.app, self.screen) + anywhere_commands(self.app, self.screen)

    async def discover(self) -> Hits:
        # Shown as written (ui/plain.py): the palette parses its help line as markup, whatever it is.
        for name, callback, help_text, _english in self._commands():
            yield DiscoveryHit(plain(name), callback, text=name, help=markup_literal(help_text))

    async def search(self, query: str) -> Hits:
        """A command is found by its name in the admin's language, or by its English name (the one the
        README and the command line's documentation use)."""
        matcher = self.matcher(query)
        for name, callback, help_text, english in self._commands():
            score = max(matcher.match(name), matcher.match(english) if english != name else 0)
            if score > 0:
                yield Hit(score, matcher.highlight(markup_literal(name)), callback, text=name,
                          help=markup_literal(help_text))


def command(name: str, callback, help_text: str, **words) -> tuple[str, object, str, str]:
    """A palette command: its name (marked N_, with `words` that are declared words too) in the admin's
    language and in English, and its help (already in the admin's language)."""
    return (shown(name).format(**{k: shown(v) for k, v in words.items()}), callback, help_text,
            name.format(**words))


def page_commands(app, screen) -> list[tuple[str, object, str]]:
    """What only the page under the palette can do (its marked rows, its record)."""
    from .screens.mailbox_list import MailboxListScreen

    out = []
    if isinstance(screen, MailboxListScreen):
        out += [
            command(N_("New Forward Mailbox"), screen.action_new, _("create a forward mailbox (n)")),
            command(N_("Test & Enable Mailbox"), screen.action_test_enable, _("the marked mailboxes, in the background (t)")),
            command(N_("Apply Default Email Settings"), screen.action_apply_defaults,
                    _("the organisation's defaults on the marked mailboxes, after a preview")),
            command(N_("Open"), lambda: screen.table.action_open(), _("open the highlighted mailbox (enter)")),
            command(N_("Approve Email"), partial(screen.action_approve, True), _("on the marked mailboxes (A1)")),
            command(N_("Reject Email"), partial(screen.action_approve, False), _("on the marked mailboxes (A1)")),
            command(N_("Activate"), partial(screen.action_set_state, True), _("the marked mailboxes")),
            command(N_("Deactivate"), partial(screen.action_set_state, False), _("the marked mailboxes")),
            command(N_("Delete"), screen.action_delete, _("the highlighted forward mailbox (delete)")),
            command(N_("Filter"), screen.action_filter, _("by name, email or profile (/)")),
        ]
        out += [command(N_("View: {title}"), partial(screen.set_view, key), _("switch the mailbox view (v)"), title=title)
                for key, title in VIEWS.items()]
    elif any(isinstance(s, MailboxListScreen) for s in app.screen_stack):
        out.append(command(N_("Back to Mailboxes"),
                           screen.action_back if hasattr(screen, "action_back") else app.pop_screen,
                           _("leave this screen (escape)")))
    if hasattr(screen, "action_approve") and not isinstance(screen, MailboxListScreen):
        out += [command(N_("Approve Email"), partial(screen.action_approve, True), _("the marked records (A1)")),
                command(N_("Reject Email"), partial(screen.action_approve, False), _("the marked records (A1)"))]
    if hasattr(screen, "action_save"):
        out += [command(N_("Save"), partial(screen.action_save, False), "ctrl+s"),
                command(N_("Save & Close"), partial(screen.action_save, True), _("ctrl+w or F9"))]
    if hasattr(screen, "action_history"):
        out.append(command(N_("History of this record"), screen.action_history,
                           _("who changed what, and when (F10)")))
    return out


def anywhere_commands(app, screen) -> list[tuple[str, object, str]]:
    """What belongs to no page: the same on every page and form."""
    from .screens.record_list import PAGE_TITLES, PAGES

    from .screens.mailbox_list import MailboxListScreen

    out = [] if isinstance(screen, MailboxListScreen) else [  # there it is the page's own, first
        command(N_("New Forward Mailbox"), app.action_new_forward, _("create a forward mailbox (on Mailboxes)"))]
    out.append(command(N_("Test & Enable failures (retest)"), app.action_retest_failures,
                       _("every mailbox whose last test failed, in the background (on Mailboxes)")))
    if app.test_running():
        out.append(command(N_("Cancel Test & Enable"), app.action_cancel_test,
                           _("stop the running test (x on Mailboxes)")))
    out += [
        command(N_("Export"), app.action_export, _("everything to a JSON file in the current folder, without passwords")),
        command(N_("Import"), app.action_import,
                _("a JSON file, a CSV file or a folder of CSV files; undone from History")),
    ]
    out += [command(N_("Go to {page}"), partial(app.action_go, page), _("key {key} on any list").format(key=key),
                   page=PAGE_TITLES[page]) for key, page in PAGES.items()]
    other = i18n.SWEDISH if i18n.current() == i18n.ENGLISH else i18n.ENGLISH
    name = i18n.LANGUAGES[other]  # each language named in its own words; found as "Language" or "Språk"
    out.append((_("Language: {name}").format(name=name), partial(app.action_language, other),
                _("show every screen in it from now on, and remember that (settings.json)"),
                "Language Språk: " + name))
    out += [command(N_("Help"), app.action_help, _("keys of this screen (? or F1)")),
            command(N_("Choose acting admin"), app.action_choose_admin, _("the default owner of new forward mailboxes")),
            command(N_("Quit"), app.action_quit, "ctrl+q")]
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

    def action_command_palette(self) -> None:
        """Textual's palette, its search line in the admin's language."""
        from textual.command import CommandPalette

        if self.use_command_palette and not CommandPalette.is_open(self):
            self.push_screen(CommandPalette(id="--command-palette", placeholder=_("Search for commands…")))

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
            self.notify(_("Export failed: {error}: {path}").format(error=exc.strerror, path=path), severity="error")
            return
        self.notify(_("Exported {n} mailboxes (no passwords) to {path}.")
                    .format(n=i18n.number(counts["mailboxes"]), path=path), timeout=10)

    def action_import(self) -> None:
        from .dialogs.import_file import ImportDialog

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.notify(_("Importing {path}…").format(path=path))
                self.import_file(path)  # (ui/workers.py)

        self.push_screen(ImportDialog(), chosen)

    def import_finished(self, path: Path, report) -> None:
        """What the import did, in the command line's words; the page on screen shows its records."""
        if report.errors:
            self.notify(ngettext("Nothing was imported from {path}: {n} error: {error}. "
                                 "`mailbox-tui import --dry-run FILE` shows it.",
                                 "Nothing was imported from {path}: {n} errors, the first: {error}. "
                                 "`mailbox-tui import --dry-run FILE` lists them all.", len(report.errors))
                        .format(path=path, n=i18n.number(len(report.errors)), error=said(str(report.errors[0]))),
                        severity="error", timeout=20)
            return
        done = ", ".join(_("{created} created/{updated} updated {records}").format(
            created=report.created[s], updated=report.updated[s], records=_(s)) for s in report.created)
        undo = (" " + _("History entry #{entry}: the History page (6) undoes it as a whole.").format(
            entry=report.entry)) if report.entry else ""
        note = f" {said(report.secrets_note)}" if report.secrets_note else ""
        self.notify(_("Imported from {path}: {done}.").format(path=path, done=done) + undo + note, timeout=20)
        if hasattr(self.screen, "refresh_rows"):
            self.screen.refresh_rows()
