"""Email server profiles: the list and the form (P1–P11). The server type drives which fields
show, which authentication methods are offered, and the default ports."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Checkbox, Header, Input, Select, Static

from ...domain.availability import profile_fields
from ...domain.findings import Finding
from ...domain.options import AuthMethod, ServerType, TlsMode
from ...domain.records import PasswordEdit, ProfileDraft
from ...domain.rules import ALLOWED_AUTH, default_port
from ...store import lookups, queries, services
from ...store.database import StoreError
from ..widgets.keybar import KeyBar
from ..widgets.record_table import Column, RecordTable
from .record_form import FORM_CSS, Field, RecordFormScreen, checkbox
from .record_list import RecordListScreen

PROFILE_COLUMNS = (
    Column("name", "Name", 20, lambda r: r.name, sortable=False),
    Column("type", "Server Type", 24, lambda r: ServerType.label_of(r.server_type), sortable=False),
    Column("incoming", "Incoming Server", 20, lambda r: r.incoming_location, sortable=False),
    Column("mailboxes", "Mailboxes", 9, lambda r: f"{r.mailboxes:>9,}", sortable=False),
)
LABELS = {
    "name": "Name", "server_type": "Server Type", "auto_discover": "Auto Discover",
    "incoming_location": "Incoming Server", "incoming_port": "Incoming Port", "incoming_tls": "Incoming Security",
    "outgoing_location": "Outgoing Server", "outgoing_port": "Outgoing Port", "outgoing_tls": "Outgoing Security",
    "auth_method": "Authenticate Using", "use_same_settings_for_outgoing": "Same for Outgoing",
    "outgoing_auth_method": "Outgoing Auth", "username": "User Name", "password": "Password",
    "outgoing_username": "Outgoing User Name", "outgoing_password": "Outgoing Password",
    "max_concurrent_connections": "Max Connections", "min_polling_minutes": "Min Polling (min)",
    "timeout_seconds": "Timeout (seconds)",
}
ALL_AUTH = frozenset(AuthMethod)


class ProfileTable(RecordTable):
    COLUMNS = PROFILE_COLUMNS


class ProfileListScreen(RecordListScreen):
    EMPTY = "No email server profiles yet: n adds one."
    PAGE = "profiles"
    VIEWS = queries.PROFILE_VIEWS
    FILTER_HINT = "Filter by name"
    TABLE = ProfileTable
    BINDINGS = RecordListScreen.COMMON_BINDINGS + [
        Binding("n", "new", "New profile", id="new"),
        Binding("delete", "delete", "Delete", id="delete"),
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
            f"Delete the server profile {row.name!r}? {count:,} mailbox(es) use it: it will be cleared from "
            "them and their test results return to Not Run.",
            lambda: services.delete_profile(self.app.store, row.id),
            lambda cleared: f"Deleted profile {row.name!r}; cleared it from {cleared} mailbox(es).")


class ProfileFormScreen(RecordFormScreen):
    RECORD = "server profile"
    FIELD_ORDER = tuple(LABELS)
    DEFAULT_CSS = FORM_CSS
    BINDINGS = RecordFormScreen.BINDINGS + [
        Binding("f6", "open_mailboxes", "Its mailboxes", id="open_mailboxes"),
        Binding("f7", "test_mailboxes", "Test its mailboxes", id="test_mailboxes"),
        Binding("f8", "test_connection", "Test Connection", id="test_connection"),
    ]

    def compose(self) -> ComposeResult:
        d = self.base
        yield Header()
        yield Static("", id="summary")
        with VerticalScroll(id="form"):
            yield Static("Server", classes="section-title")
            yield self._input("name", d.name, placeholder="required, unique")
            yield Field("server_type", Select(ServerType.choices(), value=d.server_type, allow_blank=False,
                                              id="server_type", compact=True), LABELS["server_type"])
            yield Field("auto_discover", checkbox("auto_discover", d.auto_discover), LABELS["auto_discover"])
            yield self._input("incoming_location", d.incoming_location, placeholder="imap.example.com")
            yield self._input("incoming_port", _text(d.incoming_port), type="integer")
            yield self._tls("incoming_tls", d.incoming_tls)
            yield self._input("outgoing_location", d.outgoing_location, placeholder="smtp.example.com")
            yield self._input("outgoing_port", _text(d.outgoing_port), type="integer")
            yield self._tls("outgoing_tls", d.outgoing_tls)
            yield Static("Authentication", classes="section-title")
            yield Field("auth_method", Select(self._auth_choices(d.server_type), value=d.auth_method,
                                              allow_blank=False, id="auth_method", compact=True),
                        LABELS["auth_method"])
            yield Field("use_same_settings_for_outgoing",
                        checkbox("use_same_settings_for_outgoing", d.use_same_settings_for_outgoing),
                        LABELS["use_same_settings_for_outgoing"])
            yield Field("outgoing_auth_method", Select(self._auth_choices(d.server_type),
                                                       value=d.outgoing_auth_method, allow_blank=False,
                                                       id="outgoing_auth_method", compact=True),
                        LABELS["outgoing_auth_method"])
            yield self._input("username", d.username)
            yield self._input("password", "", password=True, placeholder=_password_hint(d.password))
            yield self._input("outgoing_username", d.outgoing_username)
            yield self._input("outgoing_password", "", password=True, placeholder=_password_hint(d.outgoing_password))
            yield Static("Limits", classes="section-title")
            yield self._input("max_concurrent_connections", _text(d.max_concurrent_connections), type="integer")
            yield self._input("min_polling_minutes", _text(d.min_polling_minutes), type="integer")
            yield self._input("timeout_seconds", _text(d.timeout_seconds), type="integer")
            yield Static(self._usage_text(), id="usage", classes="note")
        yield KeyBar()

    def _input(self, name: str, value: str, **kwargs) -> Field:
        return Field(name, Input(value, id=name, compact=True, **kwargs), LABELS[name])

    def _tls(self, name: str, value: int) -> Field:
        return Field(name, Select(TlsMode.choices(), value=value, allow_blank=False, id=name, compact=True),
                     LABELS[name])

    @staticmethod
    def _auth_choices(server_type: int | None) -> list[tuple[str, int]]:
        return AuthMethod.choices(ALLOWED_AUTH.get(server_type, ALL_AUTH))

    def _usage_text(self) -> str:
        if self.is_new:
            return "No mailbox uses this profile yet."
        return f"{services.profile_usage(self.base.id):,} mailbox(es) use this profile. F6 lists them."

    # -- reading and judging
    def read_draft(self) -> ProfileDraft:
        value = self.value
        d = self.base.copy()
        d.name = value("name")
        d.server_type = value("server_type")
        d.auto_discover = value("auto_discover")
        d.incoming_location, d.outgoing_location = value("incoming_location"), value("outgoing_location")
        d.incoming_port, d.outgoing_port = _int(value("incoming_port")), _int(value("outgoing_port"))
        d.incoming_tls, d.outgoing_tls = value("incoming_tls"), value("outgoing_tls")
        d.auth_method = value("auth_method")
        d.use_same_settings_for_outgoing = value("use_same_settings_for_outgoing")
        d.outgoing_auth_method = value("outgoing_auth_method")
        d.username, d.outgoing_username = value("username"), value("outgoing_username")
        d.password = PasswordEdit(stored=self.base.password.stored, new=value("password") or None)
        d.outgoing_password = PasswordEdit(stored=self.base.outgoing_password.stored,
                                           new=value("outgoing_password") or None)
        d.max_concurrent_connections = _int(value("max_concurrent_connections"))
        d.min_polling_minutes = _int(value("min_polling_minutes"))
        d.timeout_seconds = _int(value("timeout_seconds")) or 0
        return d

    def check(self, draft) -> list[Finding]:
        return services.validate_profile(self.app.store, draft)

    def field_states(self, draft):
        return profile_fields(draft)

    def changes(self, base, draft) -> list[str]:
        out = [name for name in LABELS if name not in ("password", "outgoing_password")
               and getattr(base, name) != getattr(draft, name)]
        return out + [n for n in ("password", "outgoing_password") if getattr(draft, n).new]

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

    # -- saving
    def write(self, draft, base):
        if self.is_new:
            return services.create_profile(self.app.store, draft)
        return services.update_profile(self.app.store, base, draft)

    def reload_base(self):
        return services.get_profile(self.app.store, self.base.id)

    def fill(self, draft) -> None:
        self._loading = True
        self.base = draft
        for name in LABELS:
            widget = self.query_one(f"#{name}")
            if name in ("password", "outgoing_password"):
                widget.value = ""
                widget.placeholder = _password_hint(getattr(draft, name))
            elif isinstance(widget, Input):
                widget.value = _text(getattr(draft, name))
            elif isinstance(widget, Checkbox):
                widget.value = getattr(draft, name)
            else:
                widget.value = getattr(draft, name)
        self.query_one("#usage", Static).update(self._usage_text())
        self._loading = False
        self.validate()

    def action_open_mailboxes(self) -> None:
        if self.is_new:
            return
        self.app.action_go("mailboxes", filter_text=self.base.name, view="all")

    def action_test_connection(self) -> None:
        from ..dialogs.connection import ConnectionDialog

        if self.is_new or self.is_dirty():
            self.notify("Save the profile first: Test Connection tests what is saved.", severity="warning")
            return

        def reload(_=None) -> None:
            try:
                self.fill(self.reload_base())  # a pinned certificate changed the profile
            except StoreError as exc:  # another admin deleted it meanwhile
                self.notify(str(exc), severity="error", timeout=10, markup=False)

        self.app.push_screen(ConnectionDialog(self.base.id), reload)

    def action_test_mailboxes(self) -> None:
        """Test & Enable Mailboxes: every mailbox that uses this profile, on the Mailboxes page."""
        if self.is_new or self.is_dirty():
            self.notify("Save the profile first: Test & Enable tests what is saved.", severity="warning")
            return
        ids = lookups.mailbox_ids_using_profile(self.base.id)
        self.app.action_go("mailboxes", filter_text=self.base.name, view="all")
        if ids:
            self.app.screen.action_test_enable(ids)
        else:
            self.notify("No mailbox uses this profile.")


def _text(value) -> str:
    return "" if value is None else str(value)


def _int(text: str) -> int | None:
    text = (text or "").strip()
    return int(text) if text.lstrip("-").isdigit() else None


def _password_hint(edit: PasswordEdit) -> str:
    return "stored (never shown); type to replace" if edit.stored else "not set"
