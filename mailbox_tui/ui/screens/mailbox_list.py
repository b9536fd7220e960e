"""The Mailboxes page: views, SQL filter, sort, marks, and the commands on marked mailboxes."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Header, Input, Static
from textual.worker import get_current_worker

from ...domain.findings import RuleViolation
from ...domain.options import MailboxKind, RecordState
from ...store import queries, services
from ...store.database import StoreError
from ..messages import RowsLoaded
from ..widgets.keybar import KeyBar
from ..widgets.mailbox_table import COLUMNS, MailboxTable

VIEW_ORDER = list(queries.VIEWS)
SORTABLE = [c.key for c in COLUMNS if c.sortable]


class MailboxListScreen(Screen):
    """The start screen. Never holds more than a few pages of rows."""

    BINDINGS = [
        Binding("n", "new_forward", "New forward", id="new_forward"),
        Binding("slash", "filter", "Filter", id="filter"),
        Binding("v", "view(1)", "View", id="next_view"),
        Binding("V", "view(-1)", "Prev view", show=False, id="prev_view"),
        Binding("s", "sort_next", "Sort", id="sort"),
        Binding("S", "sort_reverse", "Reverse", show=False, id="sort_reverse"),
        Binding("delete", "delete", "Delete", id="delete"),
        Binding("a", "approve(True)", "Approve", show=False, id="approve"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="clear_filter"),
        Binding("f5", "reload", "Refresh", show=False, id="reload"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.view = "active"
        self.filter_text = ""
        self.total = 0
        self.loads = 0  # how many result sets arrived; tests and benchmarks wait on it
        self._shown: tuple | None = None  # what the table shows: view, filter, sort, direction

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="status")
        yield Input(placeholder="Filter by name, email or profile (Enter: back to the list, Escape: clear)",
                    id="filter", compact=True)
        yield MailboxTable(id="mailboxes")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#filter", Input).cursor_blink = False  # no redraws while idle (SSH)
        self.table.focus()
        # The first rows come synchronously (a few ms even at 100,000): the first paint shows them.
        self.on_rows_loaded(RowsLoaded(*self._query(self.view, "", self.table.sort, self.table.descending)))

    @property
    def table(self) -> MailboxTable:
        return self.query_one(MailboxTable)

    # -- loading rows (in a thread: a filter keystroke never blocks typing)
    def reload(self) -> None:
        self.load_rows(self.view, self.filter_text, self.table.sort, self.table.descending)

    @staticmethod
    def _query(view: str, text: str, sort: str, descending: bool) -> tuple:
        count = queries.count_mailboxes(view, text)
        first = queries.mailbox_page(view, text, sort, descending, limit=100)
        total = queries.total_mailboxes() if (view != "all" or text) else count
        return view, text, sort, descending, count, total, first

    @work(thread=True, exclusive=True, group="rows", exit_on_error=False)
    def load_rows(self, view: str, text: str, sort: str, descending: bool) -> None:
        try:
            result = self._query(view, text, sort, descending)
        finally:
            self.app.store.db.close()  # this thread's connection
        if not get_current_worker().is_cancelled:
            self.post_message(RowsLoaded(*result))

    def on_rows_loaded(self, message: RowsLoaded) -> None:
        wanted = (self.view, self.filter_text, self.table.sort, self.table.descending)
        if (message.view, message.text, message.sort, message.descending) != wanted:
            return  # an older request; a newer one is on its way
        view, text, sort, descending = message.view, message.text, message.sort, message.descending

        def fetch(offset: int, limit: int):
            return queries.mailbox_page(view, text, sort, descending, limit=limit, offset=offset)

        self.total = message.total
        if self._shown != (view, text, sort, descending):  # new rows: start at the top
            self._shown = (view, text, sort, descending)
            self.table.cursor = 0
            self.table.scroll_to(0, 0, animate=False)
        self.table.set_source(fetch, message.count, message.first_page)
        self.loads += 1
        self.update_status()

    def update_status(self) -> None:
        table = self.table
        parts = [queries.VIEWS[self.view], f"{table.count:,} shown of {self.total:,}"]
        if table.marked:
            parts.append(f"{len(table.marked)} marked")
        if self.filter_text:
            parts.append(f"filter: {self.filter_text}")
        title = next(c.title for c in COLUMNS if c.key == table.sort)
        parts.append(f"sort: {title} {'▼' if table.descending else '▲'}")
        self.query_one("#status", Static).update(" · ".join(parts))

    @on(MailboxTable.MarksChanged)
    def _marks_changed(self) -> None:
        self.update_status()

    # -- filter and views
    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.add_class("visible")
        box.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value
        self.reload()

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.table.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        if box.has_class("visible") or self.filter_text:
            box.value = ""
            box.remove_class("visible")
            self.filter_text = ""
            self.table.focus()
            self.reload()

    def action_view(self, step: int) -> None:
        self.set_view(VIEW_ORDER[(VIEW_ORDER.index(self.view) + step) % len(VIEW_ORDER)])

    def set_view(self, view: str) -> None:
        self.view = view
        self.reload()

    def action_sort_next(self) -> None:
        table = self.table
        table.sort = SORTABLE[(SORTABLE.index(table.sort) + 1) % len(SORTABLE)]
        table.descending = False
        self.reload()

    def action_sort_reverse(self) -> None:
        self.table.descending = not self.table.descending
        self.reload()

    def action_reload(self) -> None:
        self.reload()

    # -- opening and creating
    @on(MailboxTable.Opened)
    def _open(self, event: MailboxTable.Opened) -> None:
        self.open_mailbox(event.row.id)

    def open_mailbox(self, mailbox_id: int) -> None:
        from .mailbox_form import MailboxFormScreen

        try:
            draft = services.get_mailbox(self.app.store, mailbox_id)
        except StoreError as exc:
            self.notify(str(exc), severity="error")
            self.reload()
            return
        self.app.push_screen(MailboxFormScreen(draft), lambda _: self.after_form())

    def action_new_forward(self) -> None:
        from .mailbox_form import MailboxFormScreen

        self.app.push_screen(MailboxFormScreen.new_forward(self.app), lambda _: self.after_form())

    def after_form(self) -> None:
        self.table.refresh_rows()
        self.reload()

    # -- commands on the marked mailboxes (or the highlighted one)
    def selected_ids(self) -> list[int]:
        if self.table.marked:
            return sorted(self.table.marked)
        row = self.table.current
        return [row.id] if row else []

    def _run(self, what: str, fn) -> None:
        ids = self.selected_ids()
        if not ids:
            self.notify("No mailbox is highlighted or marked.", severity="warning")
            return
        try:
            changed = fn(self.app.store, ids)
        except (RuleViolation, StoreError) as exc:
            self.notify(str(exc), severity="error", timeout=10)
            return
        self.notify(f"{what}: {changed} of {len(ids)} mailbox(es) changed.")
        self.table.marked.clear()
        self.after_form()

    def action_approve(self, approved: bool) -> None:
        self._run("Approve Email" if approved else "Reject Email",
                  lambda store, ids: services.set_approval(store, ids, approved))

    def action_set_state(self, active: bool) -> None:
        state = RecordState.ACTIVE if active else RecordState.INACTIVE
        self._run("Activate" if active else "Deactivate",
                  lambda store, ids: services.set_mailbox_state(store, ids, state))

    def action_delete(self) -> None:
        from ..dialogs.confirm import ConfirmDialog

        row = self.table.current
        if row is None:
            return
        if row.kind != MailboxKind.FORWARD:
            kind = MailboxKind.label_of(row.kind).lower()
            self.notify(f"{row.name!r} is a {kind} mailbox: it is deleted with its {kind}, not here.",
                        severity="warning", timeout=8)
            return

        def done(yes: bool | None) -> None:
            if not yes:
                return
            try:
                services.delete_mailbox(self.app.store, row.id)
            except StoreError as exc:
                self.notify(str(exc), severity="error")
                return
            self.table.marked.discard(row.id)
            self.notify(f"Deleted forward mailbox {row.name!r}.")
            self.after_form()

        self.app.push_screen(ConfirmDialog(f"Delete the forward mailbox {row.name!r} and its alerts?",
                                           yes="Delete", no="Keep"), done)

    def action_export(self) -> None:
        from ...store.exchange import export_json

        path = Path.cwd() / f"mailbox-export-{datetime.now():%Y%m%d-%H%M%S}.json"
        try:
            with path.open("w", encoding="utf-8") as fh:
                counts = export_json(fh)
        except OSError as exc:
            self.notify(f"Export failed: {exc.strerror}: {path}", severity="error")
            return
        self.notify(f"Exported {counts['mailboxes']} mailboxes (no passwords) to {path}.", timeout=10)
