"""The Mailboxes list: a page at a time from SQL, filtered in SQL, never the whole table."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Static

from ...domain.options import ActMethod, ApprovalStatus, IncomingMethod, MailboxKind, OutgoingMethod, TestStatus
from ...store import queries

PAGE = 200
COLUMNS = ("Name", "Email Address", "Kind", "Server Profile", "Incoming", "Outgoing", "ACT", "Status", "Approval",
           "Tested")
SHORT = {
    IncomingMethod: {0: "None", 1: "Outlook", 2: "Server-Side", 3: "Forward"},
    OutgoingMethod: {0: "None", 1: "Outlook", 2: "Server-Side"},
    ActMethod: {0: "Outlook", 1: "Server-Side", 2: "None"},
}


def row_cells(r: queries.MailboxRow) -> tuple:
    return (
        r.name, r.email, MailboxKind.label_of(r.kind), r.profile_name,
        SHORT[IncomingMethod].get(r.incoming, "?"), SHORT[OutgoingMethod].get(r.outgoing, "?"),
        SHORT[ActMethod].get(r.act, "?"), TestStatus.label_of(r.mailbox_status),
        ApprovalStatus.label_of(r.approval), r.test_completed_on.strftime("%Y-%m-%d %H:%M") if r.test_completed_on
        else "",
    )


class MailboxListScreen(Screen):
    BINDINGS = [
        Binding("slash", "filter", "Filter", id="filter"),
        Binding("v", "next_view", "View", id="next_view"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="clear_filter"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.view = "active"
        self.filter_text = ""
        self.rows: list[queries.MailboxRow] = []
        self.total = 0
        self.exhausted = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="status")
        yield Input(placeholder="Filter by name, email or profile", id="filter")
        yield DataTable(cursor_type="row", id="mailboxes")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(*COLUMNS)
        self.reload()
        table.focus()

    def reload(self) -> None:
        self.rows, self.exhausted = [], False
        self.query_one(DataTable).clear()
        self.total = queries.count_mailboxes(self.view, self.filter_text)
        self.load_more()

    def load_more(self) -> None:
        if self.exhausted:
            return
        after = queries.sort_key(self.rows[-1]) if self.rows else None
        page = queries.mailbox_page(self.view, self.filter_text, limit=PAGE, after=after)
        self.exhausted = len(page) < PAGE
        self.rows += page
        table = self.query_one(DataTable)
        for r in page:
            table.add_row(*row_cells(r), key=str(r.id))
        self.update_status()

    def update_status(self) -> None:
        shown = f"{len(self.rows)} loaded of {self.total}"
        text = f" · filter: {self.filter_text}" if self.filter_text else ""
        self.query_one("#status", Static).update(f"{queries.VIEWS[self.view]} — {shown}{text}")

    @on(DataTable.RowHighlighted)
    def _near_end(self, event: DataTable.RowHighlighted) -> None:
        if event.cursor_row >= len(self.rows) - 20:
            self.load_more()

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.add_class("visible")
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        if box.has_class("visible") or self.filter_text:
            box.value = ""
            box.remove_class("visible")
            self.filter_text = ""
            self.reload()
            self.query_one(DataTable).focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value
        self.reload()

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.query_one(DataTable).focus()

    def action_next_view(self) -> None:
        names = list(queries.VIEWS)
        self.view = names[(names.index(self.view) + 1) % len(names)]
        self.reload()


