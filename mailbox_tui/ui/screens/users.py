"""Users: the list and the form. Creating a user creates its mailbox (U2); its email follows (M4)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll

from ...i18n import N_, _, number, say, shown
from ...domain.fields import USER_FIELDS, USER_SECTIONS, form_fields
from ...domain.fields import Field as Declared
from ...domain.findings import Finding, Severity
from ...domain.options import ApprovalStatus, IncomingMethod, OutgoingMethod, RecordState
from ...domain.records import UserDraft
from ...domain.effects import email_changed
from ...store import queries, services
from ...store.database import StoreError
from ..plain import Plain, visible
from ..widgets.keybar import KeyBar
from ..widgets.titlebar import TitleBar
from ..widgets.record_table import SHORT, Column, RecordTable, cell, short_approval
from .declared_form import DeclaredForm
from .record_form import FORM_CSS, RecordFormScreen, checkbox
from .record_list import RecordListScreen
from ..db_trouble import GuardsDatabase, said_error

# At 80 columns the name, email, status and approval are in view; the methods scroll in (→).
USER_COLUMNS = (
    Column("name", "Full Name", 22, lambda r: r.full_name, sortable=False),
    Column("email", "Primary Email", 26, lambda r: r.email, sortable=False),
    Column("state", "Status", 8, lambda r: shown(RecordState.label_of(r.state)), sortable=False),
    Column("approval", "Approval", 8, lambda r: short_approval(r.approval), sortable=False),
    Column("incoming", "Incoming", 8, lambda r: cell(SHORT["incoming"].get(r.incoming, "?")), sortable=False),
    Column("outgoing", "Outgoing", 8, lambda r: cell(SHORT["outgoing"].get(r.outgoing, "?")), sortable=False),
)


class UserTable(RecordTable):
    COLUMNS = USER_COLUMNS


class ApprovalCommands(GuardsDatabase):
    """Approve Email / Reject Email (A1) on the marked users' or queues' mailboxes."""

    def action_approve(self, approved: bool) -> None:
        ids = self.selected_ids()
        mailbox_ids = self.mailbox_ids(ids)
        if not mailbox_ids:
            self.notify(_("Nothing is highlighted or marked."), severity="warning")
            return
        mark = self.app.history_mark()
        # The address each record's row showed: its mailbox's (M4), judged again once the mailboxes are locked.
        seen = {m: row.email for r, row in self.table.shown(ids).items() if (m := self.MAILBOX_OF(r)) is not None}
        try:
            changed = services.set_approval(self.app.store, mailbox_ids, approved, seen)
        except StoreError as exc:
            self.notify(said_error(exc), severity="error", timeout=10)
            return
        self.app.offer_undo(mark, (_("Approve Email: {count} changed.") if approved else
                                  _("Reject Email: {count} changed.")).format(count=number(changed)))
        self.table.marked.clear()
        self.after_change()


class RecordWithMailboxList(ApprovalCommands, RecordListScreen):
    """A list of records that come with a mailbox of their own (users, queues): n makes one (and its
    mailbox), Enter opens its form, a and r approve or reject its mailbox's email, delete takes the mailbox
    too. A subclass names its queries, services and form."""

    NOUN = ""
    COUNT = PAGE_OF = MAILBOX_OF = GET = DELETE = None  # staticmethods of the subclass
    FORM = None

    @staticmethod
    def list_bindings(new: str) -> list[Binding]:
        return RecordListScreen.COMMON_BINDINGS + [
            Binding("n", "new", new, id="new"),
            Binding("delete", "delete", N_("Delete"), id="delete"),
            Binding("a", "approve(True)", N_("Approve"), id="approve"),
            Binding("r", "approve(False)", N_("Reject"), id="reject"),
        ]

    def count_rows(self, view, text) -> int:
        return self.COUNT(view, text)

    def page_rows(self, view, text, sort, descending, limit, offset) -> list:
        return self.PAGE_OF(view, text, limit=limit, offset=offset)

    def mailbox_ids(self, record_ids: list[int]) -> list[int]:
        return [m for m in (self.MAILBOX_OF(r) for r in record_ids) if m is not None]

    def open_row(self, row) -> None:
        self.app.push_screen(self.FORM(self.GET(self.app.store, row.id)))

    def action_new(self) -> None:
        self.app.push_screen(self.FORM(self.new_draft()))

    def new_draft(self):
        raise NotImplementedError

    def action_delete(self) -> None:
        row = self.table.current
        if row is not None:
            question, done = self.delete_words(row)
            self.confirm_then(question, lambda: self.DELETE(self.app.store, row.id), done)

    def delete_words(self, row) -> tuple[str, str]:
        raise NotImplementedError


class UserListScreen(RecordWithMailboxList):
    EMPTY = N_("No users yet: n adds one, and its mailbox with it.")
    PAGE = "users"
    VIEWS = queries.USER_VIEWS
    TABLE = UserTable
    BINDINGS = RecordWithMailboxList.list_bindings(N_("New user"))
    COUNT, PAGE_OF = staticmethod(queries.count_users), staticmethod(queries.user_page)
    MAILBOX_OF, GET, DELETE = (staticmethod(services.user_mailbox_id), staticmethod(services.get_user),
                               staticmethod(services.delete_user))

    @property
    def FORM(self):  # noqa: N802 (declared below this class)
        return UserFormScreen

    def new_draft(self) -> UserDraft:
        return UserDraft()

    def delete_words(self, row) -> tuple[str, str]:
        return (_("Delete the user {name} <{email}>? Their mailbox goes too.").format(
                    name=visible(row.full_name), email=visible(row.email)),
                _("Deleted user {name} and their mailbox.").format(name=visible(row.full_name)))


class UserFormScreen(DeclaredForm, RecordFormScreen):
    RECORD = N_("user")
    FIELDS, SECTIONS = USER_FIELDS, USER_SECTIONS
    FIELD_ORDER = tuple(f.name for f in form_fields(USER_FIELDS))
    DEFAULT_CSS = FORM_CSS
    BINDINGS = RecordFormScreen.BINDINGS + [Binding("f6", "open_mailbox", N_("Mailbox"), id="open_mailbox")]

    def compose(self) -> ComposeResult:
        d = self.base
        yield TitleBar()
        yield Plain("", id="summary")
        with VerticalScroll(id="form"):
            yield from self.compose_fields(d)
            yield Plain(self._mailbox_text(), id="mailbox-info", classes="note")
        yield KeyBar()

    # Active is the user's state, shown as Yes/No.
    def widget(self, f: Declared, draft, locked: bool):
        if f.name == "state":
            return checkbox("state", draft.state == RecordState.ACTIVE, locked)
        return super().widget(f, draft, locked)

    def read_field(self, f: Declared, raw, base):
        if f.name == "state":
            return RecordState.ACTIVE if raw else RecordState.INACTIVE
        return super().read_field(f, raw, base)

    def shown_field(self, f: Declared, draft):
        return draft.state == RecordState.ACTIVE if f.name == "state" else super().shown_field(f, draft)

    def _mailbox_text(self) -> str:
        if self.is_new:
            return _("Saving creates the user's mailbox with the organisation's default email settings (U2).")
        mid = services.user_mailbox_id(self.base.id)
        if mid is None:
            return _("This user has no mailbox.")
        box = services.get_mailbox(self.app.store, mid)
        return _("Mailbox: approval {approval}, incoming {incoming}, outgoing {outgoing}. F6 opens it.").format(
            approval=shown(ApprovalStatus.label_of(box.approval)), incoming=shown(IncomingMethod.label_of(box.incoming)),
            outgoing=shown(OutgoingMethod.label_of(box.outgoing)))

    def read_draft(self) -> UserDraft:
        return self.read_fields(self.base)

    def check(self, draft) -> list[Finding]:
        return services.validate_user(self.app.store, draft)

    def notices(self, draft) -> list[Finding]:
        if self.is_new or not email_changed(self.base.email, draft.email):
            return []
        org = services.org_settings(self.app.store)
        text = (say("Saving also changes the email address of the user's mailbox (M4) and sets its approval back "
                    "to Pending Approval (M18).") if org.approval_required_users else
                say("Saving also changes the email address of the user's mailbox (M4)."))
        return [Finding("M4", "email", Severity.INFO, text)]

    def write(self, draft, base):
        if self.is_new:
            user, _, findings = services.create_user(self.app.store, draft)
            for f in findings:
                self.notify(_("Its new mailbox: {message} ({rule})").format(message=f.shown, rule=f.rule),
                            severity="warning", timeout=10)
            return user
        return services.update_user(self.app.store, base, draft)

    def reload_base(self):
        return services.get_user(self.app.store, self.base.id)

    def fill(self, draft) -> None:
        self._loading = True
        self.base = draft
        self.fill_fields(draft)
        self.query_one("#mailbox-info", Plain).update(self._mailbox_text())
        self._loading = False
        self.validate()

    def title_of(self, draft) -> str:
        return draft.full_name

    def action_open_mailbox(self) -> None:
        from .mailbox_form import MailboxFormScreen

        if self.is_new:
            self.notify(_("Save the user first: saving creates the mailbox."), severity="warning")
            return
        mid = services.user_mailbox_id(self.base.id)
        if mid is not None:
            MailboxFormScreen.open(self.app, services.get_mailbox(self.app.store, mid))
