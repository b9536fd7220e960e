"""The Mailboxes page: views, SQL filter, sort, marks, and the commands on marked mailboxes."""

from __future__ import annotations

import time

from textual.binding import Binding

from ...i18n import N_, _, ngettext, number, pgettext, shown
from ...domain.findings import RuleViolation
from ...domain.options import MailboxKind, RecordState
from ...store import queries
from ...store.database import StoreError
from ..terminal.input_queue import textual_clock
from ..widgets.record_table import COLUMNS, MailboxTable
from ..db_trouble import said_error
from .record_list import RecordListScreen

SORTABLE = [c.key for c in COLUMNS if c.sortable]
BUILD_AHEAD_QUIET = 0.5  # seconds without a key after the first paint before the mailbox form is built


def _services():
    """The store's services, imported when a key first needs them, not to show the first list
    (they bring every rule with them: about 20 ms of the app's start)."""
    from ...store import services

    return services


class MailboxListScreen(RecordListScreen):
    """The start screen. Never holds more than a few pages of rows."""
    EMPTY = N_("No mailboxes yet. A user's or a queue's mailbox comes with it:\n"
               "3 then n adds a user, 4 then n adds a queue; n here adds a forward mailbox.\n"
               "2 then n adds an email server profile first, if you have none.\n"
               "To try the app on a sample organisation: ctrl+q, then run  mailbox-tui demo")

    PAGE = "mailboxes"
    VIEWS = queries.VIEWS
    DEFAULT_VIEW = "active"
    FILTER_HINT = N_("Filter by name, email or profile")
    TABLE = MailboxTable
    BINDINGS = RecordListScreen.COMMON_BINDINGS + [
        Binding("n", "new", N_("New forward"), id="new"),
        Binding("s", "sort_next", N_("Sort"), id="sort"),
        Binding("S", "sort_reverse", N_("Reverse"), show=False, id="sort_reverse"),
        Binding("delete", "delete", N_("Delete"), id="delete"),
        Binding("t", "test_enable", N_("Test & Enable"), id="test_enable"),
        Binding("x", "cancel_test", N_("Cancel test"), show=False, id="cancel_test"),
    ]
    test_run = None  # the Test & Enable run in progress, if any
    _last_progress_draw = 0.0
    profile_scope: tuple[int, str] | None = None  # (id, name): only that profile's mailboxes (the Health page's Enter)

    def on_mount(self) -> None:
        self.call_after_refresh(self._build_form_ahead)  # once the first rows are painted

    def on_screen_resume(self) -> None:
        if self._build_waits:  # it waited for the admin to come back to this list
            self._build_waits = False
            self.call_after_refresh(self._build_form_ahead)

    _painted_at: float | None = None
    _build_waits = False
    _released_seen = -1

    def _build_form_ahead(self) -> None:
        """While the admin reads this list: the mailbox form, built hidden, so the first Enter is as
        quick as every later one. Only on this list, once no key has come (or gone out of the input
        queue) for BUILD_AHEAD_QUIET since the first paint: building takes about 0.2 s, and a key
        typed meanwhile would wait for it."""
        from .mailbox_form import MailboxFormScreen

        app = self.app
        if app.is_screen_installed(MailboxFormScreen.INSTALLED_AS):
            return  # built (ahead, or by the first Enter)
        if app.screen is not self:
            self._build_waits = True
            return
        now = textual_clock()
        if self._painted_at is None:
            self._painted_at = now
        queue = app.input_queue
        quiet = now - max(self._painted_at, queue.last_arrival)
        keys_went, self._released_seen = queue.released != self._released_seen, queue.released
        if not queue.idle or keys_went or quiet < BUILD_AHEAD_QUIET:
            self.set_timer(max(BUILD_AHEAD_QUIET - quiet, BUILD_AHEAD_QUIET / 5), self._build_form_ahead)
            return
        row = self.table.current
        MailboxFormScreen.build_ahead(app, row.id if row is not None else None)

    def _profile_id(self) -> int | None:
        return self.profile_scope[0] if self.profile_scope else None

    def count_rows(self, view: str, text: str) -> int:
        return queries.count_mailboxes(view, text, profile=self._profile_id())

    def page_rows(self, view, text, sort, descending, limit, offset) -> list:
        return queries.mailbox_page(view, text, sort, descending, limit=limit, offset=offset,
                                    profile=self._profile_id())

    def show(self, view: str | None = None, filter_text: str | None = None,
             profile: tuple[int, str] | None = None) -> None:
        """As any list; `profile` (id, name; id 0: no profile) shows only that profile's mailboxes."""
        if profile is not None:
            self.profile_scope = profile
        super().show(view, filter_text)

    def action_clear_filter(self) -> None:
        """Escape: the profile the Health page chose goes first, then the filter."""
        if self.profile_scope is not None:
            self.profile_scope = None
            self.reload()
            return
        super().action_clear_filter()

    def total_rows(self) -> int:
        return queries.total_mailboxes()

    def status_parts(self) -> list[str]:
        table = self.table
        parts = super().status_parts()
        if self.test_run is not None:
            return [self.test_run.status()] + parts[1:]
        parts[0] = shown(self.VIEWS[self.view])
        if self.profile_scope is not None:
            parts.insert(1, _("profile: {name} (Escape: all)").format(name=self.profile_scope[1] or _("(none)")))
        title = next(c.title for c in COLUMNS if c.key == table.sort)
        return parts + [_("sort: {column}").format(column=pgettext("column", title)) + (" ▼" if table.descending else " ▲")]

    def action_sort_next(self) -> None:
        table = self.table
        table.sort = SORTABLE[(SORTABLE.index(table.sort) + 1) % len(SORTABLE)]
        table.descending = False
        self.reload()

    def action_sort_reverse(self) -> None:
        self.table.descending = not self.table.descending
        self.reload()

    # -- opening and creating
    def open_row(self, row) -> None:
        self.open_mailbox(row.id)

    def open_mailbox(self, mailbox_id: int) -> None:
        from .mailbox_form import MailboxFormScreen

        try:
            draft = _services().get_mailbox(self.app.store, mailbox_id)
        except StoreError as exc:
            self.notify(said_error(exc), severity="error")
            self.reload()
            return
        MailboxFormScreen.open(self.app, draft)

    def action_new(self) -> None:
        from .mailbox_form import MailboxFormScreen

        MailboxFormScreen.open(self.app, MailboxFormScreen.new_forward_draft(self.app))

    # -- commands on the marked mailboxes (or the highlighted one)
    def _run(self, what: str, fn) -> None:
        ids = self.selected_ids()
        if not ids:
            self.notify(_("No mailbox is highlighted or marked."), severity="warning")
            return
        mark = self.app.history_mark()
        try:
            changed = fn(self.app.store, ids)
        except (RuleViolation, StoreError) as exc:
            self.notify(said_error(exc), severity="error", timeout=10)
            return
        self.app.offer_undo(mark, ngettext("{what}: {changed} of {n} mailbox changed.",
                                          "{what}: {changed} of {n} mailboxes changed.", len(ids)).format(
            what=shown(what), changed=number(changed), n=number(len(ids))))
        self.table.marked.clear()
        self.after_change()

    def action_approve(self, approved: bool) -> None:
        self._run(N_("Approve Email") if approved else N_("Reject Email"),
                  lambda store, ids: _services().set_approval(store, ids, approved, {
                      i: row.email for i, row in self.table.shown(ids).items()}))

    def action_set_state(self, active: bool) -> None:
        state = RecordState.ACTIVE if active else RecordState.INACTIVE
        self._run(N_("Activate") if active else N_("Deactivate"),
                  lambda store, ids: _services().set_mailbox_state(store, ids, state))

    def action_delete(self) -> None:
        row = self.table.current
        if row is None:
            return
        if row.kind != MailboxKind.FORWARD:
            sentence = (_("{name} is a user mailbox: it is deleted with its user, not here.")
                        if row.kind == MailboxKind.USER else
                        _("{name} is a queue mailbox: it is deleted with its queue, not here."))
            self.notify(sentence.format(name=repr(row.name)), severity="warning", timeout=8)
            return
        self.confirm_then(_("Delete the forward mailbox {name} and its alerts?").format(name=repr(row.name)),
                          lambda: _services().delete_mailbox(self.app.store, row.id),
                          _("Deleted forward mailbox {name}.").format(name=repr(row.name)))

    # -- Test & Enable: in the background, rows update as results arrive
    def action_test_enable(self, mailbox_ids: list[int] | None = None) -> None:
        from ..testing import TestRun

        if self.test_run is not None:
            self.notify(_("A test is already running (x cancels it)."), severity="warning")
            return
        ids = mailbox_ids if mailbox_ids is not None else self.selected_ids()
        if not ids:
            self.notify(_("Nothing to test: highlight or mark mailboxes."), severity="warning")
            return
        self.test_run = TestRun(self, ids)
        self.test_run.start()
        self.update_status()

    def action_retest_failures(self) -> None:
        from ...mailtest.selection import failed_mailboxes

        ids = failed_mailboxes()
        if not ids:
            self.notify(_("No mailbox has a failed test."))
            return
        self.action_test_enable(ids)

    def action_cancel_test(self) -> None:
        if self.test_run is not None:
            self.test_run.cancel.set()
            self.update_status()

    def on_test_progress(self, message) -> None:
        if self.test_run is None:
            return
        self.test_run.last = message.progress
        now = time.monotonic()
        if now - self._last_progress_draw >= 0.25:  # at most 4 redraws a second, however fast results come
            self._last_progress_draw = now
            self.update_status()
            self.table.refresh_rows()  # results are written in batches; visible rows re-read as they land

    def on_test_finished(self, message) -> None:
        from ..testing import summary

        self.test_run = None
        report = message.report
        if report is None:  # the run failed; the app has said why
            self.update_status()
            self.reload()
            return
        self.notify(summary(report), severity="error" if report.failures else "information", timeout=10)
        self.table.marked.clear()
        self.refresh_rows()

    def action_apply_defaults(self) -> None:
        from ..dialogs.defaults_preview import DefaultsPreviewScreen

        ids = self.selected_ids()
        if not ids:
            self.notify(_("Mark mailboxes (space) first."), severity="warning")
            return
        previews = _services().preview_default_settings(self.app.store, ids)

        def done(apply: bool | None) -> None:
            if apply:  # what was shown, or nothing: a mailbox saved since the preview refuses it (named)
                self._run(N_("Apply Default Email Settings"),
                          lambda store, marked: _services().apply_default_settings(store, marked, previews))

        self.app.push_screen(DefaultsPreviewScreen(previews), done)
