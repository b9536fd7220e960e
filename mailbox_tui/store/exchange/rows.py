"""One row of an exchange document, read field by field into drafts and mailbox edits."""

from __future__ import annotations

import copy as _copy

from ...domain.records import MailboxDraft, PasswordEdit, ProfileDraft
from ...domain.text import email_key, normalise_email
from ...domain.fields import BOOL, DATETIME, EMAIL, INT, OPTION, OWN, PASSWORD, PIN, PROFILE_FIELDS, REF, TEXT, Field
from ...domain.options import TlsMode
from ..exchange_format import COLUMNS, FormatProblem, as_bool, as_datetime, as_int, as_key, as_text, tls_mode

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


# How a column of each declared field type is read (options and references have their own).
READERS = {TEXT: as_text, EMAIL: as_text, PIN: as_text, INT: as_int, OPTION: as_int, BOOL: as_bool,
           DATETIME: as_datetime}


def from_row(fields: tuple[Field, ...], values: RowValues, base):
    """A copy of `base` with the row's values of the fields the record stores itself, field by field
    as declared (domain/fields.py). References and what the record's mailbox keeps are the caller's."""
    d = base.copy() if hasattr(base, "copy") else _copy.copy(base)
    for f in fields:
        if not f.import_columns or f.stored != OWN or f.type == REF:
            continue
        current = getattr(d, f.name)
        if f.options is TlsMode:  # <dir>tlsmode, or Dynamics' <dir>usessl
            prefix = f.logical.removesuffix("tlsmode")
            setattr(d, f.name, values.call(current, tls_mode, values.row, prefix, current))
        elif f.type == PASSWORD:
            typed = values.get(as_text, f.logical)
            if typed:
                setattr(d, f.name, PasswordEdit(stored=current.stored, new=typed))
        elif f.exchanged_as == BOOL:  # a yes/no column for an option whose codes are 0 and 1
            setattr(d, f.name, int(values.get(as_bool, f.logical, bool(current))))
        else:
            value = values.get(READERS[f.type], f.logical, current)
            setattr(d, f.name, (value or "") if f.type in (TEXT, EMAIL, PIN) else value)
    return d


def profile_from_row(values: RowValues, base: ProfileDraft) -> ProfileDraft:
    return from_row(PROFILE_FIELDS, values, base)
