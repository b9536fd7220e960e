"""Rows to drafts and drafts to column values, field by field as domain/fields.py declares them.
Passwords never leave as clear text here."""

from __future__ import annotations

from ..domain.fields import (
    EMAIL,
    MAILBOX,
    MAILBOX_FIELDS,
    OPTION,
    ORG_FIELDS,
    OWN,
    PASSWORD,
    PIN,
    PROFILE_FIELDS,
    QUEUE_FIELDS,
    REF,
    TEXT,
    USER_FIELDS,
    Field,
)
from ..domain.options import MailboxKind
from ..domain.records import MailboxDraft, OrgSettings, PasswordEdit, ProfileDraft, QueueDraft, UserDraft
from ..domain.text import email_key, natural_key, normalise_email, normalise_pin
from .crypto import KeyRing
from .models import AppUser, EmailServerProfile, Mailbox, OrganizationSettings, Queue


def clean_email(text: str) -> str:
    """The stored form (M3): normalised by the validator (domain lowercased); '' when empty."""
    text = (text or "").strip()
    if not text:
        return ""
    normalised, _ = normalise_email(text)
    return normalised or text


def name_key(text: str) -> str:
    """The natural key of a queue, profile or forward mailbox name: NFC, then str.lower()."""
    return natural_key(text)


def password_column(keyring: KeyRing, edit: PasswordEdit, current: str | None) -> str | None:
    """The encrypted column after an edit: a new password, cleared, or the one on record."""
    if edit.new:
        return keyring.encrypt(edit.new)
    if edit.clear:
        return None
    return current


def _stored(fields) -> tuple[Field, ...]:
    return tuple(f for f in fields if f.stored == OWN)


_PLAIN, _TEXT, _KEYED, _EMAIL, _OPTION, _PIN = range(6)
_COLUMN_PLANS: dict[int, tuple] = {}


def _column_plan(fields) -> tuple[tuple[str, str, int], ...]:
    """(draft attribute, column, how) of each column a save writes, worked out once per declaration
    (an import writes 100,000 rows through column_values: looking each field over again was half its time)."""
    plan = _COLUMN_PLANS.get(id(fields))
    if plan is None:
        out = []
        for f in _stored(fields):
            if f.type == PASSWORD or f.by_test:
                continue
            how = (_KEYED if f.keyed else _TEXT) if f.type == TEXT else _EMAIL if f.type == EMAIL else \
                _OPTION if f.type == OPTION else _PIN if f.type == PIN else _PLAIN
            out.append((f.name, f.model_column, how))
        plan = _COLUMN_PLANS[id(fields)] = (fields, tuple(out))  # the declaration kept: its id stays its own
    return plan[1]


def draft_values(fields, row, key_ok: bool = True) -> dict:
    """The draft attributes a row holds, field by field as declared (domain/fields.py)."""
    out = {}
    for f in _stored(fields):
        if f.type == PASSWORD:
            out[f.name] = PasswordEdit(stored=getattr(row, f.model_column) is not None, readable=key_ok)
        elif f.type == REF:
            out[f.name] = getattr(row, f"{f.model_column}_id")
        else:
            out[f.name] = getattr(row, f.model_column)
    return out


def column_values(fields, draft) -> dict:
    """The columns a save writes, field by field as declared: text stripped, an email normalised
    (M3), a natural key beside a name or an email, option codes as ints, a pin normalised (P13).
    Not passwords (password_column encrypts them), not what only Test & Enable writes."""
    out = {}
    for name, column, how in _column_plan(fields):
        value = getattr(draft, name)
        if how == _PLAIN:
            out[column] = value
        elif how == _TEXT:
            out[column] = value.strip()
        elif how == _KEYED:
            value = value.strip()
            out[column], out[f"{column}_key"] = value, name_key(value)
        elif how == _EMAIL:
            value = clean_email(value)
            out[column], out[f"{column}_key"] = value, email_key(value)
        elif how == _OPTION:
            out[column] = int(value)
        else:
            out[column] = normalise_pin(value)
    return out


def mailbox_draft(row: Mailbox, key_ok: bool = True) -> MailboxDraft:
    values = draft_values(MAILBOX_FIELDS, row, key_ok)
    kind = values["kind"] = MailboxKind(row.kind)
    values["regarding_id"] = row.regarding_user_id if kind == MailboxKind.USER else row.regarding_queue_id
    return MailboxDraft(**values, id=row.id, version=row.version)


def mailbox_columns(d: MailboxDraft) -> dict:
    """Editable columns of a mailbox draft (not the password, not test results)."""
    out = column_values(MAILBOX_FIELDS, d)
    del out["regarding_user"]  # one reference, stored in the column of its kind
    out["regarding_user"] = d.regarding_id if d.kind == MailboxKind.USER else None
    out["regarding_queue"] = d.regarding_id if d.kind == MailboxKind.QUEUE else None
    return out


def profile_draft(row: EmailServerProfile, key_ok: bool = True) -> ProfileDraft:
    return ProfileDraft(**draft_values(PROFILE_FIELDS, row, key_ok), id=row.id, version=row.version)


def profile_columns(d: ProfileDraft) -> dict:
    return column_values(PROFILE_FIELDS, d)


def user_draft(row: AppUser) -> UserDraft:
    return UserDraft(**draft_values(USER_FIELDS, row), id=row.id, version=row.version)


def user_columns(d: UserDraft) -> dict:
    return column_values(USER_FIELDS, d)


def queue_draft(row: Queue, mailbox: Mailbox | None) -> QueueDraft:
    """A queue and the methods of its mailbox (its Incoming and Outgoing Email live there)."""
    values = draft_values(QUEUE_FIELDS, row)
    for f in QUEUE_FIELDS:
        if f.stored == MAILBOX and hasattr(QueueDraft, f.name):
            values[f.name] = getattr(mailbox, f.model_column) if mailbox else f.default
    return QueueDraft(**values, id=row.id, version=row.version)


def queue_columns(d: QueueDraft) -> dict:
    return column_values(QUEUE_FIELDS, d)


def org_draft(row: OrganizationSettings) -> OrgSettings:
    return OrgSettings(**draft_values(ORG_FIELDS, row), version=row.version)
