"""Email server profiles: the list and the form (P1–P11). The server type drives which fields
show, which authentication methods are offered, and the default ports."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Input, Select

from ...i18n import N_, _, ngettext, number, shown
from ...domain.availability import profile_fields
from ...domain.fields import PASSWORD, PROFILE_FIELDS, PROFILE_SECTIONS, form_fields, secret_fields
from ...domain.fields import Field as Declared
from ...domain.findings import Finding
from ...domain.options import AuthMethod, ServerType
from ...domain.records import PasswordEdit, ProfileDraft
from ...domain.rules import ALLOWED_AUTH, default_port
from ...store import lookups, queries, services
from ...store.contexts import RememberingFacts
from ...store.database import StoreError
from ...store.health import profile_alert
from ..db_trouble import said_error
from ..plain import Plain
from ..widgets.keybar import KeyBar
from ..widgets.titlebar import TitleBar
from ..widgets.record_table import Column, RecordTable
from .declared_form import DeclaredForm, widget_for
from .record_form import FORM_CSS, RecordFormScreen
from .record_list import RecordListScreen

PROFILE_COLUMNS = (
    Column("name", "Name", 20, lambda r: r.name, sortable=False),
    Column("type", "Server Type", 24, lambda r: shown(ServerType.label_of(r.server_type)), sortable=False),
    Column("incoming", "Incoming Server", 20, lambda r: r.incoming_location, sortable=False),
    Column("mailboxes", "Mailboxes", 9, lambda r: f"{r.mailboxes:>9,}", sortable=False),
)
# The form's fields in form order, with labels that fit 80×24: from the declaration (domain/fields.py).
LABELS = {f.name: f.short_label for f in form_fields(PROFILE_FIELDS)}
ALL_AUTH = frozenset(AuthMethod)
SECRETS = tuple(f.name for f in secret_fields(PROFILE_FIELDS))  # passwords and OAuth secrets (P14)


class ProfileTable(RecordTable):
    COLUMNS = PROFILE_COLUMNS


class ProfileListScreen(RecordListScreen):
    EMPTY = N_("No email server profiles yet: n adds one.")
    PAGE = "profiles"
    VIEWS = queries.PROFILE_VIEWS
    FILTER_HINT = N_("Filter by name")
    TABLE = ProfileTable
    BINDINGS = RecordListScreen.COMMON_BINDINGS + [
        Binding("n", "new", N_("New profile"), id="new"),
        Binding("delete", "delete", N_("Delete"), id="delete"),
    ]

    def count_rows(self, view, text) -> int:
        return queries.count_profiles(view, text)

    def page_rows(self, view, text, sort, descending, limit, offset) -> list:
        return queries.profile_page(view, text, limit=limit, offset=offset)

    def open_row(self, row) -> None:
        self.app.push_screen(ProfileFormScreen(services.get_profile(self.app.store, row.id)))

    def action_new(self) -> None:
        draft = ProfileDraft()
        draft.incoming_port = default_port(draft.server_type, "incoming", draft.incoming_tls)
        draft.outgoing_port = default_port(draft.server_type, "outgoing", draft.outgoing_tls)
        self.app.push_screen(ProfileFormScreen(draft))

    def action_delete(self) -> None:
        """P11: say how many mailboxes lose the profile, then clear it from them."""
        row = self.table.current
        if row is None:
            return
        count = services.profile_usage(row.id)
        self.confirm_then(
            (_("Delete the server profile {name}? No mailbox uses it.") if not count else ngettext(
                "Delete the server profile {name}? {n} mailbox uses it: it will be cleared from it and its test "
                "result returns to Not Run.",
                "Delete the server profile {name}? {n} mailboxes use it: it will be cleared from them and their "
                "test results return to Not Run.", count)).format(name=repr(row.name), n=number(count)),
            lambda: services.delete_profile(self.app.store, row.id),
            lambda cleared: ngettext("Deleted profile {name}; cleared it from {n} mailbox.",
                                     "Deleted profile {name}; cleared it from {n} mailboxes.", cleared).format(
                name=repr(row.name), n=number(cleared)))


class ProfileFormScreen(DeclaredForm, RecordFormScreen):
    RECORD = N_("server profile")
    FIELDS, SECTIONS = PROFILE_FIELDS, PROFILE_SECTIONS
    FIELD_ORDER = tuple(LABELS)
    DEFAULT_CSS = FORM_CSS
    BINDINGS = RecordFormScreen.BINDINGS + [
        Binding("f6", "open_mailboxes", N_("Its mailboxes"), id="open_mailboxes"),
        Binding("f7", "test_mailboxes", N_("Test its mailboxes"), id="test_mailboxes"),
        Binding("f8", "test_connection", N_("Test Connection"), id="test_connection"),
    ]

    def compose(self) -> ComposeResult:
        """The form, section by section, field by field as domain/fields.py declares them."""
        yield TitleBar()
        yield Plain("", id="summary")
        with VerticalScroll(id="form"):
            yield from self.compose_fields(self.base)
            yield Plain(self._usage_text(), id="usage", classes="note")
        yield KeyBar()

    def widget(self, f: Declared, draft, locked: bool):
        if f.type == PASSWORD:  # says whether one is stored
            return widget_for(f, getattr(draft, f.name), placeholder=_password_hint(getattr(draft, f.name)))
        return super().widget(f, draft, locked)

    def choices(self, f: Declared, draft):
        """The authentication methods offered follow the server type."""
        return self._auth_choices(draft.server_type) if f.options is AuthMethod else None

    @staticmethod
    def _auth_choices(server_type: int | None) -> list[tuple[str, int]]:
        return AuthMethod.choices(ALLOWED_AUTH.get(server_type, ALL_AUTH))

    def _usage_text(self) -> str:
        if self.is_new:
            return _("No mailbox uses this profile yet.")
        usage = services.profile_usage(self.base.id)
        text = ngettext("{n} mailbox uses this profile. F6 lists it.",
                        "{n} mailboxes use this profile. F6 lists them.", usage).format(n=number(usage))
        alert = profile_alert(self.base.id)  # issue 24: more than half failed within the hour
        return f"{alert}\n{text}" if alert else text

    # -- reading and judging
    def read_draft(self) -> ProfileDraft:
        d = self.read_fields(self.base)
        d.timeout_seconds = d.timeout_seconds or 0  # P9 judges a number
        return d

    _facts = None  # what the open form read once (the stored profile's destinations, P15's count)

    def check(self, draft) -> list[Finding]:
        if self._facts is None:
            self._facts = RememberingFacts(self.app.store)
        return services.validate_profile(self.app.store, draft, self._facts)

    def field_states(self, draft):
        return profile_fields(draft)

    def changes(self, base, draft) -> list[str]:
        out = [name for name in LABELS if name not in SECRETS and getattr(base, name) != getattr(draft, name)]
        return out + [n for n in SECRETS if getattr(draft, n).new]

    # -- the type drives the rest
    def on_select_changed(self, event: Select.Changed) -> None:
        if self._loading or event.select.id not in ("server_type", "incoming_tls", "outgoing_tls"):
            return
        previous = getattr(self, "_last_draft", self.base)
        draft = self.read_draft()
        if event.select.id == "server_type":
            for name in ("auth_method", "outgoing_auth_method"):
                select = self.query_one(f"#{name}", Select)
                current = select.value
                self._loading = True
                select.set_options(self._auth_choices(draft.server_type))
                allowed = ALLOWED_AUTH.get(draft.server_type, ALL_AUTH)
                select.value = current if current in allowed else min(allowed)
                self._loading = False
        for direction in ("incoming", "outgoing"):  # a port still on its old default follows (P4)
            port = self.query_one(f"#{direction}_port", Input)
            old = default_port(previous.server_type, direction, getattr(previous, f"{direction}_tls"))
            new = default_port(draft.server_type, direction, getattr(draft, f"{direction}_tls"))
            if port.value in ("", _text(old)) and new is not None and port.value != _text(new):
                self._loading = True
                port.value = _text(new)
                self._loading = False
        self.validate()

    def after_validate(self, draft) -> None:
        self._last_draft = draft
        if draft.use_same_settings_for_outgoing and draft.outgoing_auth_method != draft.auth_method:
            # P7: the outgoing method follows incoming; the (disabled) field shows what a save stores.
            select = self.query_one("#outgoing_auth_method", Select)
            self._loading = True
            select.value = draft.auth_method
            self._loading = False

    # -- saving
    def write(self, draft, base):
        if self.is_new:
            return services.create_profile(self.app.store, draft)
        return services.update_profile(self.app.store, base, draft, keep_secrets=self.keep_secrets)

    def reload_base(self):
        return services.get_profile(self.app.store, self.base.id)

    def fill(self, draft) -> None:
        self._facts = None  # saved or reloaded: what is stored now is read again
        self._loading = True
        self.base = draft
        self.fill_fields(draft)
        for name in SECRETS:
            self.query_one(f"#{name}", Input).placeholder = _password_hint(getattr(draft, name))
        self.query_one("#usage", Plain).update(self._usage_text())
        self._loading = False
        self.validate()

    def action_open_mailboxes(self) -> None:
        if self.is_new:
            return
        self.app.action_go("mailboxes", filter_text=self.base.name, view="all")

    def action_test_connection(self) -> None:
        from ..dialogs.connection import ConnectionDialog

        if self.is_new or self.is_dirty():
            self.notify(_("Save the profile first: Test Connection tests what is saved."), severity="warning")
            return

        def reload(_=None) -> None:
            try:
                self.fill(self.reload_base())  # a pinned certificate changed the profile
            except StoreError as exc:  # another admin deleted it meanwhile
                self.notify(said_error(exc), severity="error", timeout=10)

        self.app.push_screen(ConnectionDialog(self.base.id), reload)

    def action_test_mailboxes(self) -> None:
        """Test & Enable Mailboxes: every mailbox that uses this profile, on the Mailboxes page."""
        if self.is_new or self.is_dirty():
            self.notify(_("Save the profile first: Test & Enable tests what is saved."), severity="warning")
            return
        ids = lookups.mailbox_ids_using_profile(self.base.id)
        self.app.action_go("mailboxes", filter_text=self.base.name, view="all")
        if ids:
            self.app.screen.action_test_enable(ids)
        else:
            self.notify(_("No mailbox uses this profile."))


def _text(value) -> str:
    return "" if value is None else str(value)


def _password_hint(edit: PasswordEdit) -> str:
    return _("stored (never shown); type to replace") if edit.stored else _("not set")
