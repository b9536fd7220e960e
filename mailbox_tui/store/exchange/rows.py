"""One row of an exchange document, read field by field into drafts and mailbox edits."""

from __future__ import annotations

from ...domain.records import MailboxDraft, PasswordEdit, ProfileDraft
from ...domain.text import email_key, normalise_email
from ..exchange_format import COLUMNS, FormatProblem, as_bool, as_int, as_key, as_text, tls_mode

BAD = object()  # a value with a format problem


class RowValues:
    """One row's values, read field by field. A value of the wrong type is kept as a format
    problem and the field keeps its default, so the rest of the row is still judged."""

    def __init__(self, row: dict):
        self.row = row
        self.problems: list[FormatProblem] = []

    def get(self, convert, key: str, default=None):
        try:
            return convert(self.row, key, default)
        except FormatProblem as exc:
            self.problems.append(exc)
            return default

    def take(self, convert, key: str):
        """The converted value, or BAD when it has a format problem."""
        try:
            return convert(self.row, key, None)
        except FormatProblem as exc:
            self.problems.append(exc)
            return BAD

    def call(self, default, function, *args):
        try:
            return function(*args)
        except FormatProblem as exc:
            self.problems.append(exc)
            return default

    def bad(self, key: str) -> bool:
        return any(p.field == key for p in self.problems)


KNOWN_COLUMNS = {section: frozenset(columns) for section, columns in COLUMNS.items()}

# Mailbox fields whose rules depend on the mailbox's kind (user, queue, forward).
KIND_DEPENDENT = {"incoming", "outgoing", "act", "delete_after_processing", "owner_id", "regarding_id"}


def key_column(row: dict, key: str, default=None) -> str | None:
    return as_key(row.get(key), key)


def user_key(email) -> str:
    """The natural key of the user an address names: the validator's form (domain lowercased, NFC), NFC + lower()."""
    if not isinstance(email, str) or not email.strip():
        return ""
    normalised, _ = normalise_email(email.strip())
    return email_key(normalised or email)


def mailbox_method_edits(values: RowValues) -> dict:
    edits = {}
    for key, attr in (("incomingemaildeliverymethod", "incoming"), ("outgoingemaildeliverymethod", "outgoing"),
                      ("emailrouteraccessapproval", "approval")):
        value = values.get(as_int, key)
        if value is not None:
            edits[attr] = value
    return edits


def applied(draft: MailboxDraft, edits: dict) -> MailboxDraft:
    """A copy of `draft` with the file's values."""
    return apply_in_place(draft.copy(), edits)


def apply_in_place(draft: MailboxDraft, edits: dict) -> MailboxDraft:
    """For a draft the plan owns (built for this import): no copy, which counts at 100,000 rows."""
    for attr, value in edits.items():
        if attr == "password":
            draft.password = PasswordEdit(stored=draft.password.stored, new=value)
        else:
            setattr(draft, attr, value)
    return draft


def profile_from_row(values: RowValues, base: ProfileDraft) -> ProfileDraft:
    d = base.copy()
    get = values.get
    d.name = get(as_text, "name", d.name) or ""
    d.server_type = get(as_int, "servertype", d.server_type)
    d.auto_discover = get(as_bool, "useautodiscover", d.auto_discover)
    d.incoming_location = get(as_text, "incomingserverlocation", d.incoming_location) or ""
    d.outgoing_location = get(as_text, "outgoingserverlocation", d.outgoing_location) or ""
    d.incoming_tls = values.call(d.incoming_tls, tls_mode, values.row, "incoming", d.incoming_tls)
    d.outgoing_tls = values.call(d.outgoing_tls, tls_mode, values.row, "outgoing", d.outgoing_tls)
    d.incoming_port = get(as_int, "incomingportnumber", d.incoming_port)
    d.outgoing_port = get(as_int, "outgoingportnumber", d.outgoing_port)
    d.auth_method = get(as_int, "incomingcredentialretrieval", d.auth_method)
    d.outgoing_auth_method = get(as_int, "outgoingcredentialretrieval", d.outgoing_auth_method)
    d.use_same_settings_for_outgoing = get(as_bool, "usesamesettingsforoutgoingconnections",
                                           d.use_same_settings_for_outgoing)
    d.username = get(as_text, "username", d.username) or ""
    d.outgoing_username = get(as_text, "outgoingusername", d.outgoing_username) or ""
    password = get(as_text, "password")
    if password:
        d.password = PasswordEdit(stored=d.password.stored, new=password)
    outgoing_password = get(as_text, "outgoingpassword")
    if outgoing_password:
        d.outgoing_password = PasswordEdit(stored=d.outgoing_password.stored, new=outgoing_password)
    d.max_concurrent_connections = get(as_int, "maxconcurrentconnections", d.max_concurrent_connections)
    d.min_polling_minutes = get(as_int, "minpollingintervalinminutes", d.min_polling_minutes)
    d.timeout_seconds = get(as_int, "timeoutseconds", d.timeout_seconds)
    d.incoming_cert_sha256 = get(as_text, "incomingcertsha256", d.incoming_cert_sha256) or ""
    d.outgoing_cert_sha256 = get(as_text, "outgoingcertsha256", d.outgoing_cert_sha256) or ""
    d.state = get(as_int, "statecode", d.state)
    return d
