"""The Textual app. Screens edit drafts; the store services save them."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from textual import events
from textual.app import App
from textual.binding import Binding

from ..i18n import N_, _, said, shown
from ..domain.text import email_key
from ..store import lookups
from ..store.database import Store, describe_url, sqlite_path
from .commands import ActionsProvider, CommandsAnywhere
from .db_trouble import DOWN_TITLE, WatchesDatabase
from .terminal.input_queue import InputQueue
from .live_changes import LiveChanges
from .plain import visible
from .settings import load_settings, save_settings
from .undo_offer import UndoOffers
from .widgets.scrollbar import use_compact_scrollbars
from .workers import Workers


use_compact_scrollbars()


class MailboxApp(CommandsAnywhere, LiveChanges, WatchesDatabase, Workers, UndoOffers, App[int]):
    TITLE = "mailbox-tui"
    CSS_PATH = "app.tcss"
    COMMANDS = {ActionsProvider}
    BINDINGS = [
        Binding("ctrl+q", "quit", N_("Quit"), priority=True, id="quit"),
        Binding("question_mark,f1", "help", N_("Help"), id="help"),
        Binding("ctrl+p", "command_palette", N_("Commands"), show=False, id="palette"),
    ] + UndoOffers.UNDO_BINDINGS

    def __init__(self, store: Store, acting: str | None = None, driver_class=None):
        super().__init__(driver_class=driver_class)
        self.store = store
        self.acting_user_id: int | None = None
        self._acting_request = acting
        self.input_queue = InputQueue(self)
        self.theme = "ansi-dark"  # the terminal's own 16 colours: readable over any SSH client

    def get_default_screen(self):
        """The Mailboxes list is the first screen, and stays at the bottom of the stack."""
        from .screens.mailbox_list import MailboxListScreen

        return MailboxListScreen()

    async def on_event(self, event: events.Event) -> None:
        # Every key and paste goes through the one input queue (keys over SSH arrive in bursts).
        if self.input_queue.takes(event):
            self.input_queue.put(event)
            return
        await super().on_event(event)

    def on_mount(self) -> None:
        self.input_queue.start()  # keys typed during start-up were held; they go to the first screen
        self.start_following_changes()
        self._choose_acting(self._acting_request)
        for note in self.store.upgrade_notes:
            self.notify(said(note), title=_("Database upgraded"), timeout=30, markup=False)
        if not self.store.key_ok:
            self.notify(said(self.store.key_message), severity="warning", timeout=30)

    def on_unmount(self) -> None:
        self.stop_following_changes()
        self.input_queue.stop()

    async def action_quit(self) -> None:
        """ctrl+q: a form with unsaved changes (on top or under another screen) asks first; so does a
        form when ctrl+q went ahead of keys still waiting (they may have been edits)."""
        keys_dropped, self.input_queue.went_ahead_of = self.input_queue.went_ahead_of, 0
        for screen in reversed(self.screen_stack):
            ask = getattr(screen, "ask_before_quit", None)
            if ask is not None and ask(keys_dropped=bool(keys_dropped)):
                return
        self.exit()

    def notify(self, message: str, *, title: str = "", severity="information", timeout: float | None = None,
               markup: bool = True) -> None:
        """Every notification of the app (screens' and widgets' come here too) is one line of text:
        never markup, every control character visible (ui/plain.py). `markup` is ignored."""
        super().notify(visible(message), title=visible(title), severity=severity, timeout=timeout, markup=False)

    def format_title(self, title: str, sub_title: str):
        """The title line (a record's name, the acting admin's): shown as written, on one line; first,
        while the database can't be reached, that it is retried (on every screen)."""
        down = shown(DOWN_TITLE)
        if self.database_down and down not in sub_title:
            sub_title = f"{down} · {sub_title}" if sub_title else down
        return super().format_title(visible(title), visible(sub_title))

    def _choose_acting(self, requested: str | None) -> None:
        settings = load_settings()
        wanted = requested or settings.get("acting_admin")
        if wanted:
            user = lookups.user_by_email(wanted)
            if user is None:
                self.notify(_("No user has the email {email}: choose the acting admin (ctrl+p).").format(email=wanted),
                            severity="warning", timeout=10)
            else:
                self._set_acting(user, remember=bool(requested))
                return
        if lookups.any_user():
            self.action_choose_admin()
        self._update_title()

    def _set_acting(self, user: lookups.UserSummary, remember: bool) -> None:
        self.acting_user_id = user.id
        self._acting_name = user.full_name
        self.store.actor = email_key(user.email)  # who the change history names
        if remember:
            save_settings({**load_settings(), "acting_admin": user.email})
        self._update_title()

    def _update_title(self) -> None:
        # The acting admin first: a narrow terminal cuts the end, and the database name is the end.
        name = getattr(self, "_acting_name", None)
        acting = _("as {name}").format(name=name) if name else _("no acting admin (ctrl+p)")
        down = f"{shown(DOWN_TITLE)} · " if self.database_down else ""  # first: a narrow terminal cuts the end
        self.sub_title = f"{down}{acting} · {short_database_name(self.store.url)}"

    def action_choose_admin(self) -> None:
        from .dialogs.acting import ActingAdminDialog

        def chosen(user_id: int | None) -> None:
            user = lookups.user_summary(user_id)
            if user is not None:
                self._set_acting(user, remember=True)

        self.push_screen(ActingAdminDialog(), chosen)

    def action_go(self, page: str, filter_text: str | None = None, view: str | None = None,
                  profile: tuple[int, str] | None = None) -> None:
        """One key per page (1–7 on any list). The Mailboxes list stays at the bottom of the stack; `profile`
        (id, name) shows only that profile's mailboxes there."""
        from ..store import services
        from .screens.health import HealthScreen
        from .screens.history import HistoryListScreen
        from .screens.mailbox_list import MailboxListScreen
        from .screens.profiles import ProfileListScreen
        from .screens.queues import QueueListScreen
        from .screens.record_form import RecordFormScreen
        from .screens.settings import SettingsScreen
        from .screens.users import UserListScreen

        current = self.screen
        if isinstance(current, RecordFormScreen) and current.is_dirty():
            self.notify(_("Save (ctrl+s) or discard (Escape) your changes first."), severity="warning")
            return
        while not isinstance(self.screen, MailboxListScreen) and len(self.screen_stack) > 1:
            self.pop_screen()
        if page == "settings":
            self.push_screen(SettingsScreen(services.org_settings(self.store)))
        elif page in ("profiles", "users", "queues"):
            lists = {"profiles": ProfileListScreen, "users": UserListScreen, "queues": QueueListScreen}
            self.push_screen(lists[page]())
        elif page == "history":
            self.push_screen(HistoryListScreen())
        elif page == "health":
            self.push_screen(HealthScreen())
        elif filter_text is not None or view is not None or profile is not None:
            self.screen.show(view=view, filter_text=filter_text, profile=profile)

    def action_help(self) -> None:
        from .dialogs.help import HelpScreen, describe_bindings, help_title

        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(help_title(self.screen), describe_bindings(self.screen)))


def short_database_name(url: str) -> str:
    """A few characters that say which database this is: the SQLite file's name, or name@host."""
    path = sqlite_path(url)
    if path is not None:
        return os.path.basename(path) or path
    try:
        parts = urlsplit(url)
        name, host = parts.path.lstrip("/"), parts.hostname or "localhost"
    except ValueError:
        return describe_url(url)
    return f"{name}@{host}" if name else describe_url(url)


def run_app(store: Store, acting: str | None = None, mouse: bool = True) -> int:
    import sys

    driver_class = None
    if sys.platform != "win32":
        from .terminal.driver import SshLinuxDriver

        driver_class = SshLinuxDriver  # Escape then a key in one read is two keys, not alt+key
    app = MailboxApp(store, acting, driver_class=driver_class)
    app.run(mouse=mouse)
    return app.return_code or 0
