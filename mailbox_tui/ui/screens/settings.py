"""Email Settings: the organisation's defaults for new mailboxes, and the approval switches."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Header, Select, Static

from ...domain.fields import ORG_FIELDS, short_labels
from ...domain.findings import Finding
from ...domain.options import ActMethod, IncomingMethod, MailboxKind, OutgoingMethod, ServerType
from ...domain.records import OrgSettings
from ...domain.rules import ALLOWED_ACT, ALLOWED_INCOMING, ALLOWED_OUTGOING
from ...store import queries, services
from ..widgets.keybar import KeyBar
from .record_form import FORM_CSS, Field, RecordFormScreen, checkbox
from .record_list import PAGE_TITLES, PAGES

USER = MailboxKind.USER

LABELS = short_labels(ORG_FIELDS)  # from the declaration (domain/fields.py)


class SettingsScreen(RecordFormScreen):
    """A page of its own (key 5); Escape goes back to the mailboxes."""

    RECORD = "email settings"
    FIELD_ORDER = ("default_profile_id", "default_incoming", "default_outgoing", "default_act",
                   "approval_required_users", "approval_required_queues")
    DEFAULT_CSS = FORM_CSS
    BINDINGS = RecordFormScreen.BINDINGS + [
        Binding(key, f"app.go('{page}')", PAGE_TITLES[page], show=False, id=f"go_{page}")
        for key, page in PAGES.items()
    ]

    def compose(self) -> ComposeResult:
        d = self.base
        profiles = [(f"{name} ({ServerType.label_of(kind)})", pid) for pid, name, kind in queries.profiles_lookup()]
        yield Header()
        yield Static("", id="summary")
        with VerticalScroll(id="form"):
            yield Static("Email Settings: defaults for new mailboxes", classes="section-title")
            yield Field("default_profile_id", Select(profiles, value=d.default_profile_id
                                                     if d.default_profile_id is not None else Select.NULL,
                                                     prompt="(no default profile)", id="default_profile_id",
                                                     compact=True), LABELS["default_profile_id"])
            yield Field("default_incoming", Select(IncomingMethod.choices(ALLOWED_INCOMING[USER]),
                                                   value=d.default_incoming, allow_blank=False,
                                                   id="default_incoming", compact=True), LABELS["default_incoming"])
            yield Field("default_outgoing", Select(OutgoingMethod.choices(ALLOWED_OUTGOING[USER]),
                                                   value=d.default_outgoing, allow_blank=False,
                                                   id="default_outgoing", compact=True), LABELS["default_outgoing"])
            yield Field("default_act", Select(ActMethod.choices(ALLOWED_ACT[USER]), value=d.default_act,
                                              allow_blank=False, id="default_act", compact=True),
                        LABELS["default_act"])
            yield Static("Approval", classes="section-title")
            yield Field("approval_required_users", checkbox("approval_required_users", d.approval_required_users),
                        LABELS["approval_required_users"])
            yield Field("approval_required_queues",
                        checkbox("approval_required_queues", d.approval_required_queues),
                        LABELS["approval_required_queues"])
            yield Static("Process email only for users and queues whose email address is approved (A2). "
                         "Apply Default Email Settings (on the Mailboxes page, ctrl+p) copies these defaults "
                         "to marked mailboxes.", classes="note")
        yield KeyBar()

    def read_draft(self) -> OrgSettings:
        value = self.value
        profile = value("default_profile_id")
        return OrgSettings(default_profile_id=None if profile is Select.NULL else profile,
                           default_incoming=value("default_incoming"), default_outgoing=value("default_outgoing"),
                           default_act=value("default_act"),
                           approval_required_users=value("approval_required_users"),
                           approval_required_queues=value("approval_required_queues"), version=self.base.version)

    def check(self, draft) -> list[Finding]:
        return services.validate_org_settings(self.app.store, draft)

    def write(self, draft, base):
        return services.update_org_settings(self.app.store, base, draft)

    def reload_base(self):
        return services.org_settings(self.app.store)

    def title_of(self, draft) -> str:
        return "Email Settings"

    def fill(self, draft) -> None:
        self._loading = True
        self.base = draft
        for name in self.FIELD_ORDER:
            value = getattr(draft, name)
            self.query_one(f"#{name}").value = Select.NULL if value is None and name == "default_profile_id" else value
        self._loading = False
        self.validate()

    @property
    def is_new(self) -> bool:  # there is always exactly one
        return False
