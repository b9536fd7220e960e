"""The mailbox form: General, Credentials, Synchronization Method, Configuration Test Results.

Every change re-judges the whole draft with the domain rules and shows each message under its
field; locked fields say why. Saving goes through the store services, in one transaction."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.suggester import Suggester
from textual.widget import Widget
from textual.widgets import Checkbox, Header, Input, Label, Select, Static

from ...domain.availability import mailbox_fields
from ...domain.effects import mailbox_changes, mailbox_edit_notices
from ...domain.findings import Finding, RuleViolation, Severity
from ...domain.options import (
    ActMethod,
    ApprovalStatus,
    IncomingMethod,
    MailboxKind,
    OutgoingMethod,
    TestStatus,
)
from ...domain.records import (
    MAILBOX_EDITABLE_FIELDS,
    MAILBOX_FIELD_LABELS,
    MailboxDraft,
    PasswordEdit,
)
from ...domain.text import email_key
from ...store import queries, services
from ...store.database import ConflictError, StoreError
from ...store.models import AppUser, Queue
from ..widgets.keybar import KeyBar

SECTIONS = ("general", "credentials", "sync", "results")
# Labels that fit 22 columns at 80×24; the long Dynamics names are in the help text.
SHORT_LABELS = {
    "owner_id": "Owner",
    "email": "Email Address",
    "delete_after_processing": "Delete After Process.",
    "allow_credentials": "Use Credentials",
    "profile_id": "Server Profile",
    "act": "Appts/Contacts/Tasks",
}
SECTION_TITLES = {"general": "General", "credentials": "Credentials", "sync": "Synchronization Method",
                  "results": "Configuration Test Results"}
OPTIONS = {"incoming": IncomingMethod, "outgoing": OutgoingMethod, "act": ActMethod}


class OwnerSuggester(Suggester):
    """Completes a user's email from the database as the admin types (never loads all users)."""

    async def get_suggestion(self, value: str) -> str | None:
        if not value:
            return None
        row = (AppUser.select(AppUser.email_key).where(AppUser.email_key.startswith(value))
               .order_by(AppUser.email_key).first())
        return row.email_key if row else None


class Field(Vertical):
    """The label and the widget on one line; under them, the rule messages or why it is locked."""

    DEFAULT_CSS = """
    Field { height: auto; }
    Field > Horizontal { height: auto; }
    Field .label { width: 22; color: $text-muted; padding: 0 1 0 0; }
    Field > .message { height: auto; padding-left: 22; display: none; }
    Field > .message.shown { display: block; }
    Field > .message.error { color: $error; text-style: bold; }
    Field > .message.warning { color: $warning; }
    Field > .message.info { color: $accent; }
    Field > .message.locked { color: $text-muted; text-style: italic; }
    """

    def __init__(self, name: str, widget: Widget, label: str | None = None) -> None:
        super().__init__(id=f"field-{name}")
        self.field_name, self.widget = name, widget
        self.shown = ("", "")
        self.label_text = label or SHORT_LABELS.get(name) or MAILBOX_FIELD_LABELS.get(name, name)

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Label(self.label_text, classes="label")
            yield self.widget
        yield Static("", classes="message", id=f"msg-{self.field_name}")

    def show(self, findings: list[Finding], locked_reason: str) -> None:
        if findings:
            worst = min(findings, key=lambda f: ("error", "warning", "info").index(f.severity.value))
            marks = {Severity.ERROR: "✗", Severity.WARNING: "!", Severity.INFO: "i"}
            shown = ("\n".join(f"{marks[f.severity]} {f.message} ({f.rule})" for f in findings),
                     worst.severity.value)
        elif locked_reason:
            shown = (locked_reason, "locked")
        else:
            shown = ("", "")
        if shown == self.shown:
            return  # restyling is the costly part of a keystroke: only when something changed
        self.shown = shown
        message = self.query_one(".message", Static)
        message.remove_class("error", "warning", "info", "locked", "shown")
        message.update(shown[0])
        if shown[1]:
            message.add_class(shown[1], "shown")

    @property
    def message_text(self) -> str:
        return self.shown[0]


class MailboxFormScreen(Screen[bool]):
    """Returns True when something was saved."""

    DEFAULT_CSS = """
    MailboxFormScreen #summary { height: auto; padding: 0 1; }
    MailboxFormScreen #summary.errors { color: $error; text-style: bold; }
    MailboxFormScreen #summary.clean { color: $success; }
    MailboxFormScreen .section-title { text-style: bold reverse; width: 100%; margin-top: 1; padding: 0 1; }
    MailboxFormScreen VerticalScroll { padding: 0 1; }
    MailboxFormScreen Input, MailboxFormScreen Select { width: 1fr; }
    MailboxFormScreen Input { background: $panel; }
    MailboxFormScreen Input:disabled { background: $background; color: $text-muted; }
    MailboxFormScreen Checkbox, MailboxFormScreen Checkbox:focus { width: auto; border: none; padding: 0;
                                                                   height: 1; }
    MailboxFormScreen Checkbox:focus > .toggle--label { text-style: reverse; }
    MailboxFormScreen .switch-row { height: auto; }
    MailboxFormScreen #owner-name, MailboxFormScreen #password-state { padding-left: 22; color: $text-muted; }
    MailboxFormScreen #results, MailboxFormScreen #alerts { height: auto; }
    """
    BINDINGS = [
        Binding("ctrl+s", "save(False)", "Save", priority=True, id="save"),
        Binding("ctrl+w,f9", "save(True)", "Save & Close", priority=True, id="save_close"),
        Binding("escape", "back", "Back", id="back"),
        Binding("f2", "section('general')", "General", id="section_general"),
        Binding("f3", "section('credentials')", "Credentials", id="section_credentials"),
        Binding("f4", "section('sync')", "Sync", id="section_sync"),
        Binding("f5", "section('results')", "Results", id="section_results"),
    ]

    def __init__(self, draft: MailboxDraft) -> None:
        super().__init__()
        self.base = draft  # as read from the database (or the blank new one)
        self.findings: list[Finding] = []
        self.saved = False
        self._loading = True
        self.validations = 0  # how many times the rules ran; tests and the benchmark wait on it

    @classmethod
    def new_forward(cls, app) -> MailboxFormScreen:
        org = services.org_settings(app.store)
        return cls(MailboxDraft(kind=MailboxKind.FORWARD, owner_id=app.acting_user_id,
                                profile_id=org.default_profile_id, incoming=IncomingMethod.SERVER_SIDE_SYNC,
                                outgoing=OutgoingMethod.NONE, act=ActMethod.NONE, delete_after_processing=True))

    @property
    def is_new(self) -> bool:
        return self.base.id is None

    # -- building the form
    def compose(self) -> ComposeResult:
        d = self.base
        states = mailbox_fields(d)
        locked = {name: not state.editable for name, state in states.items()}  # set now: restyling later costs
        locked["clear_password"] = locked["password"] or not d.password.stored
        yield Header()
        yield Static("", id="summary")
        with VerticalScroll(id="form"):
            yield Static(SECTION_TITLES["general"] + "  (F2)", classes="section-title", id="section-general")
            yield Field("name", Input(d.name, id="name", compact=True, placeholder="required", disabled=locked["name"]))
            yield Field("owner_id", Input(self._owner_email(d.owner_id), id="owner_id", compact=True, disabled=locked["owner_id"],
                                          placeholder="user's email; → completes", suggester=OwnerSuggester()))
            yield Static("", id="owner-name")
            yield Field("email", Input(d.email, id="email", compact=True, placeholder="name@example.com", disabled=locked["email"]))
            yield self._switch_row("delete_after_processing", d.delete_after_processing, locked)
            yield Static(f"Regarding: {self._regarding_text(d)}", id="regarding")
            yield Static(f"Is Forward Mailbox: {'Yes' if d.is_forward else 'No'}"
                         + ("" if self.is_new else "  (fixed when created, M8)"), id="kind")
            yield Static(SECTION_TITLES["credentials"] + "  (F3)", classes="section-title",
                         id="section-credentials")
            yield self._switch_row("allow_credentials", d.allow_credentials, locked)
            yield Field("username", Input(d.username, id="username", compact=True, disabled=locked["username"]))
            yield Field("password", Input("", id="password", password=True, compact=True, disabled=locked["password"],
                                          placeholder="new password; blank keeps the stored one"))
            yield Static("", id="password-state")
            yield Field("clear_password", Checkbox("No", False, id="clear_password", disabled=locked["clear_password"]),
                        label="Clear Password")
            yield Static(SECTION_TITLES["sync"] + "  (F4)", classes="section-title", id="section-sync")
            yield Field("profile_id", Select(self._profile_options(), value=d.profile_id
                                             if d.profile_id is not None else Select.NULL,
                                             prompt="(no server profile)", id="profile_id", compact=True,
                                             disabled=locked["profile_id"]))
            for name in ("incoming", "outgoing", "act"):
                yield Field(name, Select(OPTIONS[name].choices(), value=getattr(d, name), allow_blank=False,
                                         id=name, compact=True, disabled=locked[name]))
            yield Static(SECTION_TITLES["results"] + "  (F5)", classes="section-title", id="section-results")
            yield Static(self._results_text(d), id="results")
            yield Static(self._alerts_text(d), id="alerts")
        yield KeyBar()

    def _switch_row(self, name: str, value: bool, locked: dict[str, bool]) -> Field:
        return Field(name, Checkbox("Yes" if value else "No", value, id=name, disabled=locked[name]))

    def on_mount(self) -> None:
        self.sub_title = f"{'New forward mailbox' if self.is_new else self.base.name}"
        self.call_after_refresh(self._ready)

    def _ready(self) -> None:
        for box in self.query(Input):
            box.cursor_blink = False  # nothing may redraw while the admin is idle (SSH)
        self._loading = False
        self.validate()
        self.query_one("#name", Input).focus()

    # -- reading the widgets into a draft
    def read_draft(self) -> MailboxDraft:
        d = self.base.copy()
        d.name = self.query_one("#name", Input).value
        d.email = self.query_one("#email", Input).value
        owner_text = self.query_one("#owner_id", Input).value.strip()
        if self.base.kind == MailboxKind.FORWARD:
            d.owner_id = self._owner_id(owner_text)
        d.delete_after_processing = self.query_one("#delete_after_processing", Checkbox).value
        d.allow_credentials = self.query_one("#allow_credentials", Checkbox).value
        d.username = self.query_one("#username", Input).value
        typed = self.query_one("#password", Input).value
        d.password = PasswordEdit(stored=self.base.password.stored, new=typed or None,
                                  clear=self.query_one("#clear_password", Checkbox).value,
                                  readable=self.base.password.readable)
        profile = self.query_one("#profile_id", Select).value
        d.profile_id = None if profile is Select.NULL else profile
        for name in ("incoming", "outgoing", "act"):
            setattr(d, name, self.query_one(f"#{name}", Select).value)
        return d

    def _owner_id(self, text: str) -> int | None:
        if not text:
            return None
        row = AppUser.select(AppUser.id).where(AppUser.email_key == email_key(text)).first()
        return row.id if row else 0  # 0: no such user, which M2 reports

    def _owner_email(self, user_id: int | None) -> str:
        if not user_id:
            return ""
        row = AppUser.get_or_none(AppUser.id == user_id)
        return row.email if row else ""

    def _regarding_text(self, d: MailboxDraft) -> str:
        if d.kind == MailboxKind.USER and d.regarding_id:
            user = AppUser.get_or_none(AppUser.id == d.regarding_id)
            return f"User {user.full_name} <{user.email}>" if user else "(missing user)"
        if d.kind == MailboxKind.QUEUE and d.regarding_id:
            queue = Queue.get_or_none(Queue.id == d.regarding_id)
            return f"Queue {queue.name}" if queue else "(missing queue)"
        return "(none: a forward mailbox has no regarding record)"

    def _profile_options(self) -> list[tuple[str, int]]:
        from ...domain.options import ServerType

        return [(f"{name} ({ServerType.label_of(kind)})", pid) for pid, name, kind in queries.profiles_lookup()]

    def _results_text(self, d: MailboxDraft) -> str:
        when = d.test_completed_on.strftime("%Y-%m-%d %H:%M UTC") if d.test_completed_on else "never"
        return (f"Incoming Email Status: {TestStatus.label_of(d.incoming_status)}\n"
                f"Outgoing Email Status: {TestStatus.label_of(d.outgoing_status)}\n"
                f"Appointments, Contacts, and Tasks Status: {TestStatus.label_of(d.act_status)}\n"
                f"Mailbox Test Completed On: {when}\n"
                f"Email Address Approval: {ApprovalStatus.label_of(d.approval)}")

    def _alerts_text(self, d: MailboxDraft) -> str:
        if d.id is None:
            return "Alerts: none yet."
        alerts = queries.mailbox_alerts(d.id, limit=20)
        if not alerts:
            return "Alerts: none."
        lines = ["Alerts (newest first):"]
        lines += [f"{a.created_on:%Y-%m-%d %H:%M} {a.level:<7} {a.step + ': ' if a.step else ''}{a.message}"
                  for a in alerts]
        return "\n".join(lines)

    # -- live validation
    @on(Input.Changed)
    @on(Select.Changed)
    @on(Checkbox.Changed)
    def _changed(self, event) -> None:
        if isinstance(event, Checkbox.Changed):  # the box itself is hard to read in 16 colours
            event.checkbox.label = _yes_no(event.checkbox)
        if not self._loading:
            self.validate()

    def validate(self) -> list[Finding]:
        draft = self.read_draft()
        store = self.app.store
        self.findings = services.validate_mailbox(store, draft)
        notices = mailbox_edit_notices(self.base, draft, services.org_settings(store)) if not self.is_new else []
        states = mailbox_fields(draft)
        by_field: dict[str, list[Finding]] = {}
        for f in self.findings + notices:
            by_field.setdefault(_form_field(f.field), []).append(f)
        for field in self.query(Field):
            state = states.get(field.field_name)
            locked = state is not None and not state.editable
            self._lock(field.field_name, locked)
            field.show(by_field.pop(field.field_name, []), state.reason if locked else "")
        self._show_owner(draft)
        self._show_password(draft)
        self._show_summary(by_field)
        self.validations += 1
        return self.findings

    def _lock(self, name: str, locked: bool) -> None:
        if name == "clear_password":  # follows the password field, and needs a stored password
            locked = self.query_one("#password").disabled or not self.base.password.stored
        widget = self.query_one(f"#{name}")
        if widget.disabled != locked:
            widget.disabled = locked

    def _show_owner(self, d: MailboxDraft) -> None:
        label = self.query_one("#owner-name", Static)
        user = AppUser.get_or_none(AppUser.id == d.owner_id) if d.owner_id else None
        label.update(f"  Owner: {user.full_name}" if user else "")

    def _show_password(self, d: MailboxDraft) -> None:
        state = self.query_one("#password-state", Static)
        if not self.base.password.stored:
            text = "No password is stored."
        elif not self.base.password.readable:
            text = "A password is stored but can't be read with the current key: type it again."
        elif d.password.clear and not d.password.new:
            text = "The stored password will be removed when you save."
        else:
            text = "A password is stored (never shown). Leave the field blank to keep it."
        state.update(text)

    def _show_summary(self, unplaced: dict[str, list[Finding]]) -> None:
        summary = self.query_one("#summary", Static)
        errors = [f for f in self.findings if f.severity is Severity.ERROR]
        warns = [f for f in self.findings if f.severity is Severity.WARNING]
        extra = [f"{f.rule}: {f.message}" for fs in unplaced.values() for f in fs if f.severity is not Severity.INFO]
        text = f"{len(errors)} error(s), {len(warns)} warning(s)" if (errors or warns) else "No problems found."
        if self.is_dirty():
            text += " · unsaved changes"
        summary.update(" · ".join([text, *extra]))
        summary.set_class(bool(errors), "errors")
        summary.set_class(not errors and not warns, "clean")

    def is_dirty(self) -> bool:
        return bool(mailbox_changes(self.base, self.read_draft()))

    # -- saving
    def action_save(self, close: bool) -> None:
        findings = self.validate()
        errors = [f for f in findings if f.severity is Severity.ERROR]
        if errors:
            self._focus_first_error(errors)
            self.notify(f"Not saved: {len(errors)} error(s). {errors[0].message}", severity="error", timeout=8)
            return
        draft = self.read_draft()
        self._save(draft, self.base, close)

    def _save(self, draft: MailboxDraft, base: MailboxDraft, close: bool) -> None:
        store = self.app.store
        try:
            if self.is_new:
                saved = services.create_forward_mailbox(store, draft)
            else:
                saved = services.update_mailbox(store, base, draft)
        except ConflictError as exc:
            self._conflict(exc, draft, close)
            return
        except RuleViolation as exc:  # someone else's change made it invalid since the last check
            self.validate()
            self.notify(f"Not saved: {exc}", severity="error", timeout=8)
            return
        except StoreError as exc:
            self.notify(f"Not saved: {exc}", severity="error", timeout=8)
            return
        self.saved = True
        self.notify(f"Saved {saved.name!r}.")
        if close:
            self.dismiss(True)
        else:
            self._reload_from(saved)

    def _reload_from(self, saved: MailboxDraft) -> None:
        self.base = saved
        self._loading = True
        self.query_one("#password", Input).value = ""
        self.query_one("#clear_password", Checkbox).value = False
        self.query_one("#results", Static).update(self._results_text(saved))
        self.query_one("#alerts", Static).update(self._alerts_text(saved))
        self.query_one("#kind", Static).update("Is Forward Mailbox: " + ("Yes" if saved.is_forward else "No")
                                                + "  (fixed when created, M8)")
        self.sub_title = saved.name
        self._loading = False
        self.validate()

    def _conflict(self, exc: ConflictError, draft: MailboxDraft, close: bool) -> None:
        from ..dialogs.choice import ChoiceDialog

        def decide(choice: str | None) -> None:
            if choice == "r":
                current = services.get_mailbox(self.app.store, self.base.id)
                self._fill(current)
                self.notify("Reloaded the saved version; your edits were discarded.")
            elif choice == "o":
                current = services.get_mailbox(self.app.store, self.base.id)
                self.base = current
                self._save(draft, current, close)
            else:
                self.notify("Still editing: your changes are not saved.", severity="warning")

        fields = ", ".join(MAILBOX_FIELD_LABELS.get(f, f) for f in exc.changed) or "its state"
        self.app.push_screen(ChoiceDialog(
            f"Someone else saved this mailbox after you opened it. They changed: {fields}.\n"
            "Reload their version (your edits are lost), overwrite with yours, or keep editing?",
            [("r", "Reload"), ("o", "Overwrite"), ("k", "Keep editing")], escape_choice="k"), decide)

    def _fill(self, d: MailboxDraft) -> None:
        """Put a draft's values into the widgets."""
        self._loading = True
        self.base = d
        self.query_one("#name", Input).value = d.name
        self.query_one("#owner_id", Input).value = self._owner_email(d.owner_id)
        self.query_one("#email", Input).value = d.email
        self.query_one("#delete_after_processing", Checkbox).value = d.delete_after_processing
        self.query_one("#allow_credentials", Checkbox).value = d.allow_credentials
        self.query_one("#username", Input).value = d.username
        self.query_one("#password", Input).value = ""
        self.query_one("#clear_password", Checkbox).value = False
        self.query_one("#profile_id", Select).value = d.profile_id if d.profile_id is not None else Select.NULL
        for name in ("incoming", "outgoing", "act"):
            self.query_one(f"#{name}", Select).value = getattr(d, name)
        self._loading = False
        self._reload_from(d)

    def _focus_first_error(self, errors: list[Finding]) -> None:
        fields = {_form_field(f.field) for f in errors}
        for name in MAILBOX_EDITABLE_FIELDS:
            if name in fields:
                widget = self.query_one(f"#{name}")
                if widget.disabled:
                    continue
                widget.focus()
                widget.scroll_visible(animate=False)
                return

    # -- moving around, leaving
    def action_section(self, section: str) -> None:
        title = self.query_one(f"#section-{section}")
        self.query_one("#form", VerticalScroll).scroll_to_widget(title, top=True, animate=False)
        first = {"general": "#name", "credentials": "#allow_credentials", "sync": "#profile_id",
                 "results": None}[section]
        if first:
            widget = self.query_one(first)
            if not widget.disabled:
                widget.focus(scroll_visible=False)

    def action_back(self) -> None:
        from ..dialogs.confirm import ConfirmDialog

        if self.app.screen is not self:
            return
        if not self.is_dirty():
            self.dismiss(self.saved)
            return

        def answer(discard: bool | None) -> None:
            if discard:
                self.dismiss(self.saved)

        self.app.push_screen(ConfirmDialog("Discard your unsaved changes to this mailbox?",
                                           yes="Discard", no="Keep editing"), answer)


def _yes_no(box: Checkbox) -> str:
    if box.id == "clear_password":
        return "Yes: remove the stored password on save" if box.value else "No"
    return "Yes" if box.value else "No"


def _form_field(field: str) -> str:
    """The form field a finding belongs to (rules name a few things the form shows elsewhere)."""
    return {"regarding_id": "regarding", "kind": "kind", "approval": "approval"}.get(field, field)
