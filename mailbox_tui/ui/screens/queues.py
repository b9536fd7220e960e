"""Queues: the list and the form. A queue's mailbox is owned by the queue's owner (Q2, M2)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll

from ...i18n import N_, _
from ...domain.fields import QUEUE_FIELDS, QUEUE_SECTIONS, form_fields
from ...domain.fields import Field as Declared
from ...domain.findings import Finding
from ...domain.options import IncomingMethod, MailboxKind, OutgoingMethod
from ...domain.records import QueueDraft
from ...domain.rules import ALLOWED_INCOMING, ALLOWED_OUTGOING
from ...store import lookups, queries, services
from ..plain import Plain, visible
from ..widgets.keybar import KeyBar
from ..widgets.titlebar import TitleBar
from ..widgets.record_table import SHORT, Column, RecordTable, cell, short_approval
from .declared_form import DeclaredForm
from ..widgets.completing import CompletingInput, UserEmailSuggester
from .record_form import FORM_CSS, RecordFormScreen
from .users import RecordWithMailboxList

# At 80 columns the name, email, owner and approval are in view; the methods scroll in (→).
QUEUE_COLUMNS = (
    Column("name", "Name", 18, lambda r: r.name, sortable=False),
    Column("email", "Email", 24, lambda r: r.email, sortable=False),
    Column("owner", "Owner", 22, lambda r: r.owner_email, sortable=False),
    Column("approval", "Approval", 8, lambda r: short_approval(r.approval), sortable=False),
    Column("incoming", "Incoming", 8, lambda r: cell(SHORT["incoming"].get(r.incoming, "?")), sortable=False),
    Column("outgoing", "Outgoing", 8, lambda r: cell(SHORT["outgoing"].get(r.outgoing, "?")), sortable=False),
)



class QueueTable(RecordTable):
    COLUMNS = QUEUE_COLUMNS


class QueueListScreen(RecordWithMailboxList):
    EMPTY = N_("No queues yet: n adds one, and its mailbox with it.")
    PAGE = "queues"
    VIEWS = queries.QUEUE_VIEWS
    TABLE = QueueTable
    BINDINGS = RecordWithMailboxList.list_bindings(N_("New queue"))
    COUNT, PAGE_OF = staticmethod(queries.count_queues), staticmethod(queries.queue_page)
    MAILBOX_OF, GET, DELETE = (staticmethod(lookups.queue_mailbox_id), staticmethod(services.get_queue),
                               staticmethod(services.delete_queue))

    @property
    def FORM(self):  # noqa: N802 (declared below this class)
        return QueueFormScreen

    def new_draft(self) -> QueueDraft:
        return QueueDraft(owner_id=self.app.acting_user_id)

    def delete_words(self, row) -> tuple[str, str]:
        return (_("Delete the queue {name}? Its mailbox goes too.").format(name=visible(row.name)),
                _("Deleted queue {name} and its mailbox.").format(name=visible(row.name)))


class QueueFormScreen(DeclaredForm, RecordFormScreen):
    RECORD = N_("queue")
    FIELDS, SECTIONS = QUEUE_FIELDS, QUEUE_SECTIONS
    FIELD_ORDER = tuple(f.name for f in form_fields(QUEUE_FIELDS))
    DEFAULT_CSS = FORM_CSS

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield Plain("", id="summary")
        with VerticalScroll(id="form"):
            yield from self.compose_fields(self.base)
            yield Plain(_("The queue's mailbox follows its owner, email and methods (M2, M4)."), classes="note")
        yield KeyBar()

    # The owner is typed as a user's email; a queue's mailbox takes only the methods a queue may use.
    def widget(self, f: Declared, draft, locked: bool):
        if f.name == "owner_id":
            return CompletingInput(self.shown_field(f, draft), id="owner_id", compact=True,
                                   suggester=UserEmailSuggester(), placeholder=_("user's email; → completes"))
        return super().widget(f, draft, locked)

    def choices(self, f: Declared, draft):
        allowed = {"incoming": (IncomingMethod, ALLOWED_INCOMING), "outgoing": (OutgoingMethod, ALLOWED_OUTGOING)}
        if f.name in allowed:
            options, by_kind = allowed[f.name]
            return options.choices(by_kind[MailboxKind.QUEUE])
        return None

    def read_field(self, f: Declared, raw, base):
        return services.owner_field_id(raw) if f.name == "owner_id" else super().read_field(f, raw, base)

    def shown_field(self, f: Declared, draft):
        if f.name == "owner_id":
            owner = lookups.user_summary(draft.owner_id)
            return owner.email if owner else ""
        return super().shown_field(f, draft)

    def read_draft(self) -> QueueDraft:
        return self.read_fields(self.base)

    def check(self, draft) -> list[Finding]:
        return services.validate_queue(self.app.store, draft)

    def write(self, draft, base):
        if self.is_new:
            queue, _, findings = services.create_queue(self.app.store, draft)
            for f in findings:
                self.notify(_("Its new mailbox: {message} ({rule})").format(message=f.shown, rule=f.rule),
                            severity="warning", timeout=10)
            return queue
        return services.update_queue(self.app.store, base, draft)

    def reload_base(self):
        return services.get_queue(self.app.store, self.base.id)

    def fill(self, draft) -> None:
        self._loading = True
        self.base = draft
        self.fill_fields(draft)
        self._loading = False
        self.validate()
