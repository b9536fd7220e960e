"""Small reads the screens need, as plain records: never a Peewee model past this module.

Screens save through `services` and list through `queries`; everything else they read comes from
here, and what a mailbox form judges its draft by from `form_facts`. This module imports no rules
and no services: the app imports it to show its first list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..domain.text import email_key
from .models import AppUser, EmailServerProfile, Mailbox, MailboxAlert, Queue

# ---------------------------------------------------------------- users


@dataclass(frozen=True)
class UserSummary:
    id: int
    full_name: str
    email: str

    @property
    def label(self) -> str:
        return f"{self.full_name} <{self.email}>"


_USER_FIELDS = (AppUser.id, AppUser.full_name, AppUser.email)


def _summary(row) -> UserSummary | None:
    return UserSummary(row.id, row.full_name, row.email) if row is not None else None


def user_summary(user_id: int | None) -> UserSummary | None:
    if not user_id:
        return None
    return _summary(AppUser.select(*_USER_FIELDS).where(AppUser.id == user_id).first())


def user_by_email(text: str) -> UserSummary | None:
    """The user with exactly this address, compared by its key (NFC, lower case), as saves compare it."""
    key = email_key(text)
    if not key:
        return None
    return _summary(AppUser.select(*_USER_FIELDS).where(AppUser.email_key == key).first())


def any_user() -> bool:
    return AppUser.select(AppUser.id).exists()


@dataclass(frozen=True)
class OwnerLookup:
    """What a typed owner address finds: the user who has exactly it, and the first address that
    starts with it (for completion). One indexed range read answers both."""

    typed: str
    user: UserSummary | None = None
    completion: str | None = None  # an address key that starts with the typed key

    @property
    def owner_id(self) -> int | None:
        """As an owner field names a user: None when blank, NO_SUCH_USER when no user has it (M2/Q1 say so)."""
        from .contexts import NO_SUCH_USER  # (the rules' modules: not needed to show the first list)

        if not email_key(self.typed):
            return None
        return self.user.id if self.user else NO_SUCH_USER


def _after_prefix(key: str) -> str | None:
    """The smallest string above every string that starts with `key` (code-point order)."""
    last = ord(key[-1]) + 1
    if last == 0xD800:
        last = 0xE000  # surrogates are not characters
    return key[:-1] + chr(last) if last <= 0x10FFFF else None


def owner_lookup(text: str) -> OwnerLookup:
    key = email_key(text)
    if not key:
        return OwnerLookup(text)
    query = AppUser.select(*_USER_FIELDS, AppUser.email_key).where(AppUser.email_key >= key)
    upper = _after_prefix(key)
    if upper is not None:
        query = query.where(AppUser.email_key < upper)
    row = query.order_by(AppUser.email_key).first()
    if row is None or not row.email_key.startswith(key):
        return OwnerLookup(text)
    return OwnerLookup(text, _summary(row) if row.email_key == key else None, row.email_key)


# ---------------------------------------------------------------- queues, profiles, mailboxes


def queue_name(queue_id: int | None) -> str | None:
    if not queue_id:
        return None
    row = Queue.select(Queue.name).where(Queue.id == queue_id).first()
    return row.name if row else None


def queue_mailbox_id(queue_id: int) -> int | None:
    row = Mailbox.select(Mailbox.id).where(Mailbox.regarding_queue == queue_id).first()
    return row.id if row else None


def profile_names(profile_ids) -> dict[int, str]:
    """Names of these profiles, in one read (a profile that is gone is missing)."""
    ids = {i for i in profile_ids if i is not None}
    if not ids:
        return {}
    rows = EmailServerProfile.select(EmailServerProfile.id, EmailServerProfile.name).where(
        EmailServerProfile.id.in_(sorted(ids)))
    return {row.id: row.name for row in rows}


def mailbox_ids_using_profile(profile_id: int) -> list[int]:
    """Every mailbox with this server profile, by id (what Test & Enable Mailboxes tests)."""
    query = Mailbox.select(Mailbox.id).where(Mailbox.profile == profile_id).order_by(Mailbox.id)
    return [row.id for row in query]


@dataclass(frozen=True)
class AlertLine:
    created_on: datetime
    level: str
    step: str
    message: str


def mailbox_alerts(mailbox_id: int, limit: int = 20) -> list[AlertLine]:
    """The newest alerts of a mailbox first."""
    query = (MailboxAlert.select(MailboxAlert.created_on, MailboxAlert.level, MailboxAlert.step, MailboxAlert.message)
             .where(MailboxAlert.mailbox == mailbox_id)
             .order_by(MailboxAlert.created_on.desc(), MailboxAlert.id.desc()).limit(limit))
    return [AlertLine(a.created_on, a.level, a.step, a.message) for a in query]


def retry_settings(profile_id: int | None):
    """A profile's retry settings (P9; issue 24), the defaults without one."""
    from ..domain.lifecycle import RetrySettings

    row = None if not profile_id else (EmailServerProfile.select(
        EmailServerProfile.transient_retries, EmailServerProfile.retry_interval_minutes)
        .where(EmailServerProfile.id == profile_id).first())
    return RetrySettings.of(row)
