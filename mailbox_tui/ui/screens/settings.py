"""Email Settings: the organisation's defaults for new mailboxes, and the approval switches."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll

from ...domain.fields import ORG_FIELDS, ORG_SECTIONS, form_fields
from ...domain.fields import Field as Declared
from ...domain.findings import Finding
from ...domain.options import ActMethod, IncomingMethod, MailboxKind, OutgoingMethod
from ...domain.records import OrgSettings
from ...domain.rules import ALLOWED_ACT, ALLOWED_INCOMING, ALLOWED_OUTGOING
from ...store import queries, services
from ...i18n import N_, _
from ..plain import Plain
from ..widgets.keybar import KeyBar
from ..widgets.titlebar import TitleBar
from .declared_form import DeclaredForm, profile_options
from .record_form import FORM_CSS, RecordFormScreen
from .record_list import PAGE_TITLES, PAGES

USER = MailboxKind.USER



class SettingsScreen(DeclaredForm, RecordFormScreen):
    """A page of its own (key 5); Escape goes back to the mailboxes."""

    RECORD = N_("email settings")
    FIELDS, SECTIONS = ORG_FIELDS, ORG_SECTIONS
    FIELD_ORDER = tuple(f.name for f in form_fields(ORG_FIELDS))
    DEFAULT_CSS = FORM_CSS
    BINDINGS = RecordFormScreen.BINDINGS + [
        Binding(key, f"app.go('{page}')", PAGE_TITLES[page], show=False, id=f"go_{page}")
        for key, page in PAGES.items()
    ]

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield Plain("", id="summary")
        with VerticalScroll(id="form"):
            yield from self.compose_fields(self.base)
            yield Plain(_("Process email only for users and queues whose email address is approved (A2). "
                          "Apply Default Email Settings (on the Mailboxes page, ctrl+p) copies these defaults "
                          "to marked mailboxes."), classes="note")
        yield KeyBar()

    def choices(self, f: Declared, draft):
        """Defaults for new user mailboxes: the profiles there are, the methods a user's mailbox may use."""
        if f.name == "default_profile_id":
            return profile_options(queries.profiles_lookup())
        allowed = {IncomingMethod: ALLOWED_INCOMING, OutgoingMethod: ALLOWED_OUTGOING, ActMethod: ALLOWED_ACT}
        if f.options in allowed:
            return f.options.choices(allowed[f.options][USER])
        return None

    def read_draft(self) -> OrgSettings:
        return self.read_fields(self.base)

    def check(self, draft) -> list[Finding]:
        return services.validate_org_settings(self.app.store, draft)

    def write(self, draft, base):
        return services.update_org_settings(self.app.store, base, draft)

    def reload_base(self):
        return services.org_settings(self.app.store)

    def title_of(self, draft) -> str:
        return _("Email Settings")

    def fill(self, draft) -> None:
        self._loading = True
        self.base = draft
        self.fill_fields(draft)
        self._loading = False
        self.validate()

    @property
    def is_new(self) -> bool:  # there is always exactly one
        return False
