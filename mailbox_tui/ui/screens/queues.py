"""Queues: the list and the form. A queue's mailbox is owned by the queue's owner (Q2, M2)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Header, Input, Select, Static

from ...domain.findings import Finding
from ...domain.options import IncomingMethod, MailboxKind, OutgoingMethod
from ...domain.records import QueueDraft
from ...domain.rules import ALLOWED_INCOMING, ALLOWED_OUTGOING
from ...store import lookups, queries, services
from ..widgets.keybar import KeyBar
from ..widgets.record_table import SHORT, Column, RecordTable, short_approval
from .record_form import FORM_CSS, CompletingInput, Field, RecordFormScreen, UserEmailSuggester
from .record_list import RecordListScreen
from .users import ApprovalCommands

# At 80 columns the name, email, owner and approval are in view; the methods scroll in (→).
QUEUE_COLUMNS = (
    Column("name", "Name", 18, lambda r: r.name, sortable=False),
    Column("email", "Email", 24, lambda r: r.email, sortable=False),
    Column("owner", "Owner", 22, lambda r: r.owner_email, sortable=False),
    Column("approval", "Approval", 8, lambda r: short_approval(r.approval), sortable=False),
    Column("incoming", "Incoming", 8, lambda r: SHORT["incoming"].get(r.incoming, "?"), sortable=False),
    Column("outgoing", "Outgoing", 8, lambda r: SHORT["outgoing"].get(r.outgoing, "?"), sortable=False),
)


class QueueTable(RecordTable):
    COLUMNS = QUEUE_COLUMNS


class QueueListScreen(ApprovalCommands, RecordListScreen):
    EMPTY = "No queues yet: n adds one, and its mailbox with it."
    PAGE = "queues"
    VIEWS = queries.QUEUE_VIEWS
    TABLE = QueueTable
    BINDINGS = RecordListScreen.COMMON_BINDINGS + [
        Binding("n", "new", "New queue", id="new"),
        Binding("delete", "delete", "Delete", id="delete"),
        Binding("a", "approve(True)", "Approve", id="approve"),
        Binding("r", "approve(False)", "Reject", id="reject"),
    ]

    def count_rows(self, view, text) -> int:
        return queries.count_queues(view, text)

    def page_rows(self, view, text, sort, descending, limit, offset) -> list:
        return queries.queue_page(view, text, limit=limit, offset=offset)

    def mailbox_ids(self, queue_ids: list[int]) -> list[int]:
        return [m for m in (lookups.queue_mailbox_id(q) for q in queue_ids) if m is not None]

    def open_row(self, row) -> None:
        self.app.push_screen(QueueFormScreen(services.get_queue(self.app.store, row.id)))

    def action_new(self) -> None:
        self.app.push_screen(QueueFormScreen(QueueDraft(owner_id=self.app.acting_user_id)))

    def action_delete(self) -> None:
        row = self.table.current
        if row is not None:
            self.confirm_then(f"Delete the queue {row.name}? Its mailbox goes too.",
                              lambda: services.delete_queue(self.app.store, row.id),
                              f"Deleted queue {row.name} and its mailbox.")


class QueueFormScreen(RecordFormScreen):
    RECORD = "queue"
    FIELD_ORDER = ("name", "email", "owner_id", "incoming", "outgoing")
    DEFAULT_CSS = FORM_CSS

    def compose(self) -> ComposeResult:
        d = self.base
        owner = lookups.user_summary(d.owner_id)
        yield Header()
        yield Static("", id="summary")
        with VerticalScroll(id="form"):
            yield Static("Queue", classes="section-title")
            yield Field("name", Input(d.name, id="name", compact=True, placeholder="required"), "Name")
            yield Field("email", Input(d.email, id="email", compact=True, placeholder="support@example.com"),
                        "Email")
            yield Field("owner_id", CompletingInput(owner.email if owner else "", id="owner_id", compact=True,
                                                    suggester=UserEmailSuggester(),
                                                    placeholder="user's email; → completes"), "Owner")
            yield Field("incoming", Select(IncomingMethod.choices(ALLOWED_INCOMING[MailboxKind.QUEUE]),
                                           value=d.incoming, allow_blank=False, id="incoming", compact=True),
                        "Incoming Email")
            yield Field("outgoing", Select(OutgoingMethod.choices(ALLOWED_OUTGOING[MailboxKind.QUEUE]),
                                           value=d.outgoing, allow_blank=False, id="outgoing", compact=True),
                        "Outgoing Email")
            yield Static("The queue's mailbox follows its owner, email and methods (M2, M4).", classes="note")
        yield KeyBar()

    def read_draft(self) -> QueueDraft:
        return QueueDraft(name=self.query_one("#name", Input).value, email=self.query_one("#email", Input).value,
                          owner_id=services.owner_field_id(self.query_one("#owner_id", Input).value),
                          incoming=self.query_one("#incoming", Select).value,
                          outgoing=self.query_one("#outgoing", Select).value,
                          state=self.base.state, id=self.base.id, version=self.base.version)

    def check(self, draft) -> list[Finding]:
        return services.validate_queue(self.app.store, draft)

    def write(self, draft, base):
        if self.is_new:
            queue, _, findings = services.create_queue(self.app.store, draft)
            for f in findings:
                self.notify(f"Its new mailbox: {f.message} ({f.rule})", severity="warning", timeout=10)
            return queue
        return services.update_queue(self.app.store, base, draft)

    def reload_base(self):
        return services.get_queue(self.app.store, self.base.id)

    def fill(self, draft) -> None:
        self._loading = True
        self.base = draft
        owner = lookups.user_summary(draft.owner_id)
        self.query_one("#name", Input).value = draft.name
        self.query_one("#email", Input).value = draft.email
        self.query_one("#owner_id", Input).value = owner.email if owner else ""
        self.query_one("#incoming", Select).value = draft.incoming
        self.query_one("#outgoing", Select).value = draft.outgoing
        self._loading = False
        self.validate()
