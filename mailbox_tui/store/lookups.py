"""Small reads the screens need, as plain records: never a Peewee model past this module.

Screens save through `services` and list through `queries`; everything else they read comes from
here. `MailboxFormFacts` holds what a mailbox form judges its draft by, read when the form opens,
so a keystroke costs at most one indexed lookup (the owner typed, the address typed, or the facts
of the profile chosen)."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from ..domain.context import EmailUse, Stage
from ..domain.findings import Finding
from ..domain.records import MailboxDraft, OrgSettings
from ..domain.rules import check_mailbox
from ..domain.text import email_key
from . import services
from .contexts import NO_SUCH_USER, RememberingFacts, mailbox_context
from .database import Store
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


# ---------------------------------------------------------------- what a mailbox form judges by


class MailboxFormFacts(RememberingFacts):
    """The facts outside a mailbox draft that its rules need, for one open form: a FactsSource for
    the one context builder (store/contexts.py), so a form judges as a save, an import and `check` do.

    What the form opened with is read once (the organisation's settings, the record's owner, its
    user or queue, the profile's facts); while the admin types, only the fact the key changed is
    read, in one indexed lookup: the owner typed, the address typed (M5), or a newly chosen
    profile. A save judges again, in its own transaction, by fresh facts."""

    OWNER_MEMORY = 16  # typed owner addresses remembered: completion and the form ask for the same text

    def __init__(self, store: Store, record: MailboxDraft) -> None:
        super().__init__(store)
        self.record = record
        self.original = None if record.id is None else record
        self.org: OrgSettings = services.org_settings(store)
        self.owner = user_summary(record.owner_id)  # who owns it as stored
        if self.owner is not None:
            self._users[self.owner.id] = True
        self._same_email: tuple[str, tuple[EmailUse, ...]] | None = None
        self._owners: OrderedDict[str, OwnerLookup] = OrderedDict()

    def owner_typed(self, text: str) -> OwnerLookup:
        """The user an owner field's text names (and its completion); one read per new text."""
        found = self._owners.get(text)
        if found is None:
            found = owner_lookup(text)
            self._owners[text] = found
            if len(self._owners) > self.OWNER_MEMORY:
                self._owners.popitem(last=False)
            if found.owner_id is not None:
                self._users[found.owner_id] = found.user is not None
        else:
            self._owners.move_to_end(text)
        return found

    # -- the FactsSource, remembered for the life of the form (RememberingFacts), and M5's
    # other mailboxes for the address typed last
    def other_mailboxes_with_email(self, key: str, mailbox: MailboxDraft, limit: int) -> tuple[EmailUse, ...]:
        if self._same_email is None or self._same_email[0] != key:  # only the address typed last
            self._same_email = (key, tuple(super().other_mailboxes_with_email(key, mailbox, limit)))
        return self._same_email[1]

    def findings(self, draft: MailboxDraft) -> list[Finding]:
        """What the form shows under its fields: the same rules, by the same builder, as a save."""
        return check_mailbox(draft, mailbox_context(self, draft, Stage.EDIT, self.original))
