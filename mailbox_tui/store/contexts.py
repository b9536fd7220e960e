"""The facts the rules judge a record by, assembled in one place for every path.

A form's live check, a save, an import, `mailbox-tui check` and Test & Enable all build their
rule contexts (domain/context.py) here, so one record gets one answer whichever path it takes.
Where the facts come from is a FactsSource:

- DatabaseFacts: the database as it is now, one indexed query per fact (forms, saves, Test & Enable);
- StoredRecordFacts: the same answers, read a page of stored records at a time (`check`);
- PlannedFacts (exchange/planned_facts.py): an import's plan laid over the database, so rows are
  judged against records planned in the same file that are not in the database yet.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from peewee import fn

from ..domain.context import EmailUse, MailboxContext, ProfileContext, ProfileFacts, QueueContext, Stage, UserContext
from ..domain.options import IncomingMethod, MailboxKind, RecordState
from ..domain.records import MailboxDraft, ProfileDraft, QueueDraft, UserDraft
from ..domain.secret_destinations import MAILBOX_PASSWORDS, mailbox_password_destinations, stored_profile_destinations
from ..domain.text import email_key, natural_key, normalise_email
from .models import AppUser, EmailServerProfile, Mailbox, OrganizationSettings, Queue

# M5 names at most this many other mailboxes, enabled ones first: an address shared by thousands
# of mailboxes must not load them all for each of them.
SAME_EMAIL_LIMIT = 50

# The owner id of a draft whose owner field names an address no user has: no row has id 0, so the
# rules say "no user has that email" (M2, Q1) rather than "Owner is required".
NO_SUCH_USER = 0


@dataclass(frozen=True)
class QueueFacts:
    id: int
    owner_id: int | None


class FactsSource(Protocol):
    """Where the builder reads the facts about records other than the one judged."""

    def profile(self, profile_id: int) -> ProfileFacts | None: ...

    def user_exists(self, user_id: int) -> bool: ...

    def queue(self, queue_id: int) -> QueueFacts | None: ...

    def other_mailboxes_with_email(self, key: str, mailbox: MailboxDraft, limit: int) -> Iterable[EmailUse]:
        """Mailboxes other than `mailbox` whose address has `key`: at most `limit`, the first in M5's
        order (same_email_rank) when there are more."""

    def active_forward_mailbox_exists(self) -> bool: ...

    def approval_required(self, kind: MailboxKind) -> bool: ...

    def profile_name_taken(self, key: str, profile_id: int | None) -> bool: ...

    def stored_profile_destinations(self, profile_id: int) -> dict[str, frozenset[str]] | None:
        """P15: where a profile's secrets and its mailboxes' passwords go as stored (None: not stored)."""

    def mailbox_passwords(self, profile_id: int) -> int:
        """P15: how many mailboxes on a stored profile hold a password."""

    def stored_mailbox_destinations(self, profile_id: int) -> frozenset[str]:
        """P15: where the passwords of a stored profile's mailboxes go, as it is stored."""

    def user_email_taken(self, key: str, user_id: int | None) -> bool: ...

    def queue_name_taken(self, key: str, queue_id: int | None) -> bool: ...


# ---------------------------------------------------------------- the builder


def address_key(text: str) -> str:
    """The natural key of an address as it will be stored ('' when blank or not an address)."""
    text = text.strip()
    if not text:
        return ""
    normalised, _ = normalise_email(text)
    return email_key(normalised) if normalised else ""


def facts_of_profile(profile_id: int, record) -> ProfileFacts:
    """A stored profile row, or a planned ProfileDraft, as the facts a mailbox's rules use."""
    return ProfileFacts(profile_id, record.name.strip(), record.server_type, record.auth_method,
                        record.state == RecordState.ACTIVE, mailbox_password_destinations(record))


def profile_context(facts: FactsSource, d: ProfileDraft) -> ProfileContext:
    ctx = ProfileContext(name_taken=bool(d.name.strip()) and facts.profile_name_taken(natural_key(d.name), d.id))
    if d.id is not None and d.id > 0:
        ctx.stored_destinations = facts.stored_profile_destinations(d.id)
        stored = ctx.stored_destinations or {}
        # Counted only when the draft's servers are new ones: the count reads every mailbox of the profile.
        if mailbox_password_destinations(d) - stored.get(MAILBOX_PASSWORDS, frozenset()):
            ctx.mailbox_passwords = facts.mailbox_passwords(d.id)
    return ctx


def mailbox_context(facts: FactsSource, d: MailboxDraft, stage: Stage = Stage.EDIT,
                    original: MailboxDraft | None = None) -> MailboxContext:
    """Everything outside the draft that its rules need (`original`: the mailbox as stored, for an edit)."""
    ctx = MailboxContext(stage=stage, original=original)
    if d.profile_id is not None:
        ctx.profile = facts.profile(d.profile_id)
    if original is not None and original.profile_id != d.profile_id and original.password.stored:
        note_moved_password(ctx, facts, original.profile_id)
    if d.owner_id is not None:
        ctx.owner_exists = facts.user_exists(d.owner_id)
    if d.kind == MailboxKind.USER:
        ctx.expected_owner_id = d.regarding_id
        ctx.regarding_exists = d.regarding_id is not None and (
            ctx.owner_exists if d.regarding_id == d.owner_id else facts.user_exists(d.regarding_id))
    elif d.kind == MailboxKind.QUEUE:
        queue = facts.queue(d.regarding_id) if d.regarding_id is not None else None
        ctx.regarding_exists = queue is not None
        ctx.expected_owner_id = queue.owner_id if queue else None
    key = address_key(d.email)
    if key:
        ctx.same_email = same_email_order(facts.other_mailboxes_with_email(key, d, SAME_EMAIL_LIMIT))
    if d.incoming == IncomingMethod.FORWARD_MAILBOX:
        ctx.active_forward_mailbox_exists = facts.active_forward_mailbox_exists()
    if stage == Stage.TEST and d.kind != MailboxKind.FORWARD:
        ctx.approval_required = facts.approval_required(d.kind)
    return ctx


def note_moved_password(ctx: MailboxContext, facts: FactsSource, stored_profile_id: int | None) -> None:
    """P15: the mailbox's stored password went to the servers of `stored_profile_id` (as stored)."""
    ctx.stored_profile_destinations = (facts.stored_mailbox_destinations(stored_profile_id)
                                       if stored_profile_id else frozenset())


def same_email_rank(use: EmailUse) -> tuple:
    """M5's order: enabled for incoming first (Test & Enable names one of those), then by name."""
    return (not use.enabled_incoming, natural_key(use.name), use.name)


def same_email_order(uses: Iterable[EmailUse]) -> tuple[EmailUse, ...]:
    return tuple(sorted(uses, key=same_email_rank)[:SAME_EMAIL_LIMIT])


def user_context(facts: FactsSource, d: UserDraft) -> UserContext:
    key = address_key(d.email)
    return UserContext(email_taken=bool(key) and facts.user_email_taken(key, d.id))


def queue_context(facts: FactsSource, d: QueueDraft) -> QueueContext:
    return QueueContext(owner_exists=d.owner_id is None or facts.user_exists(d.owner_id),
                        name_taken=bool(d.name.strip()) and facts.queue_name_taken(natural_key(d.name), d.id))


# ---------------------------------------------------------------- the database as it is now


class DatabaseFacts:
    """Facts read from the database as they are now: one indexed query per fact asked."""

    def __init__(self, store):
        self.store = store

    def profile(self, profile_id: int) -> ProfileFacts | None:
        p = (EmailServerProfile.select(EmailServerProfile.id, EmailServerProfile.name, EmailServerProfile.server_type,
                                       EmailServerProfile.auth_method, EmailServerProfile.state,
                                       *_DESTINATION_COLUMNS)
             .where(EmailServerProfile.id == profile_id).first())
        return facts_of_profile(p.id, p) if p is not None else None

    def stored_profile_destinations(self, profile_id: int) -> dict[str, frozenset[str]] | None:
        p = (EmailServerProfile.select(EmailServerProfile.server_type, EmailServerProfile.auth_method,
                                       *_DESTINATION_COLUMNS)
             .where(EmailServerProfile.id == profile_id).first())
        return stored_profile_destinations(p) if p is not None else None

    def stored_mailbox_destinations(self, profile_id: int) -> frozenset[str]:
        found = self.profile(profile_id)  # (a form has read it already: its facts are remembered)
        return found.destinations if found is not None else frozenset()

    def mailbox_passwords(self, profile_id: int) -> int:
        return Mailbox.select().where(Mailbox.profile == profile_id, Mailbox.password_enc.is_null(False)).count()

    def user_exists(self, user_id: int) -> bool:
        return AppUser.select().where(AppUser.id == user_id).exists()

    def queue(self, queue_id: int) -> QueueFacts | None:
        q = Queue.select(Queue.id, Queue.owner).where(Queue.id == queue_id).first()
        return QueueFacts(q.id, q.owner_id) if q is not None else None

    def other_mailboxes_with_email(self, key: str, mailbox: MailboxDraft, limit: int) -> list[EmailUse]:
        rows = (Mailbox.select(Mailbox.name, Mailbox.enabled_incoming)
                .where(Mailbox.email_key == key, Mailbox.id != (mailbox.id or 0))
                .order_by(Mailbox.enabled_incoming.desc(), Mailbox.name_key, Mailbox.name).limit(limit))
        return [EmailUse(m.name, bool(m.enabled_incoming)) for m in rows]

    def active_forward_mailbox_exists(self) -> bool:
        return Mailbox.select().where(Mailbox.kind == MailboxKind.FORWARD, Mailbox.state == RecordState.ACTIVE).exists()

    def approval_required(self, kind: MailboxKind) -> bool:
        org = OrganizationSettings.get_by_id(1)
        return bool(org.approval_required_users if kind == MailboxKind.USER else
                    org.approval_required_queues if kind == MailboxKind.QUEUE else False)

    def profile_name_taken(self, key: str, profile_id: int | None) -> bool:
        return _taken(EmailServerProfile, EmailServerProfile.name_key, key, profile_id)

    def user_email_taken(self, key: str, user_id: int | None) -> bool:
        return _taken(AppUser, AppUser.email_key, key, user_id)

    def queue_name_taken(self, key: str, queue_id: int | None) -> bool:
        return _taken(Queue, Queue.name_key, key, queue_id)


# What says where a profile's secrets go (domain/secret_destinations.py).
_DESTINATION_COLUMNS = (EmailServerProfile.auto_discover, EmailServerProfile.incoming_location,
                        EmailServerProfile.outgoing_location, EmailServerProfile.use_same_settings_for_outgoing,
                        EmailServerProfile.oauth_tenant_id, EmailServerProfile.oauth_token_endpoint)


def _taken(model, column, key: str, own_id: int | None) -> bool:
    return model.select().where(column == key, model.id != (own_id or 0)).exists()


# ---------------------------------------------------------------- stored records, a page at a time


class RememberingFacts(DatabaseFacts):
    """DatabaseFacts that remember each answer: for a reader that asks the same things many times
    and does not expect them to change meanwhile (`check`, an open form)."""

    def __init__(self, store):
        super().__init__(store)
        self._profiles: dict[int, ProfileFacts | None] = {}
        self._users: dict[int, bool] = {}
        self._queues: dict[int, QueueFacts | None] = {}
        self._forward_active: bool | None = None
        self._approval: dict[MailboxKind, bool] = {}
        self._destinations: dict[int, dict[str, frozenset[str]] | None] = {}
        self._passwords: dict[int, int] = {}  # P15: mailboxes holding a password, by profile

    def stored_profile_destinations(self, profile_id: int) -> dict[str, frozenset[str]] | None:
        if profile_id not in self._destinations:
            self._destinations[profile_id] = super().stored_profile_destinations(profile_id)
        return self._destinations[profile_id]

    def mailbox_passwords(self, profile_id: int) -> int:
        if profile_id not in self._passwords:
            self._passwords[profile_id] = super().mailbox_passwords(profile_id)
        return self._passwords[profile_id]

    def profile(self, profile_id: int) -> ProfileFacts | None:
        if profile_id not in self._profiles:
            self._profiles[profile_id] = super().profile(profile_id)
        return self._profiles[profile_id]

    def user_exists(self, user_id: int) -> bool:
        if user_id not in self._users:
            self._users[user_id] = super().user_exists(user_id)
        return self._users[user_id]

    def queue(self, queue_id: int) -> QueueFacts | None:
        if queue_id not in self._queues:
            self._queues[queue_id] = super().queue(queue_id)
        return self._queues[queue_id]

    def active_forward_mailbox_exists(self) -> bool:
        if self._forward_active is None:
            self._forward_active = super().active_forward_mailbox_exists()
        return self._forward_active

    def approval_required(self, kind: MailboxKind) -> bool:
        if kind not in self._approval:
            self._approval[kind] = super().approval_required(kind)
        return self._approval[kind]


class StoredRecordFacts(RememberingFacts):
    """The database's answers for `check`, which judges every stored record: what a page of
    records asks is read for the whole page at once (`prefetch_*`), the rest once per run."""

    def __init__(self, store):
        super().__init__(store)
        self._holders: dict[tuple, dict[str, int]] = {}
        self._shared_keys: set[str] | None = None

    # -- what a page needs, in one query per kind of fact (a page's facts replace the last page's)
    def prefetch_mailboxes(self, rows) -> None:
        users = {r.owner_id for r in rows if r.owner_id} | {r.regarding_user_id for r in rows if r.regarding_user_id}
        self._prefetch_users(users)
        queues = sorted({r.regarding_queue_id for r in rows if r.regarding_queue_id})
        self._queues = dict.fromkeys(queues)
        for q in Queue.select(Queue.id, Queue.owner).where(Queue.id.in_(queues)) if queues else ():
            self._queues[q.id] = QueueFacts(q.id, q.owner_id)

    def prefetch_queues(self, rows) -> None:
        self._prefetch_users({r.owner_id for r in rows if r.owner_id})
        self._prefetch_holders(Queue, Queue.name_key, {natural_key(r.name) for r in rows})

    def prefetch_users(self, rows) -> None:
        self._prefetch_holders(AppUser, AppUser.email_key, {address_key(r.email) for r in rows})

    def prefetch_profiles(self, rows) -> None:
        self._prefetch_holders(EmailServerProfile, EmailServerProfile.name_key, {natural_key(r.name) for r in rows})

    def _prefetch_users(self, ids: set[int]) -> None:
        wanted = sorted(ids)
        found = {u.id for u in AppUser.select(AppUser.id).where(AppUser.id.in_(wanted))} if wanted else set()
        self._users = {uid: uid in found for uid in wanted}

    def _prefetch_holders(self, model, column, keys: set[str]) -> None:
        """Which record holds each natural key: a record whose key another holds was set aside (a duplicate)."""
        holders = self._holders.setdefault((model, column.name), {})
        holders.clear()
        keys.discard("")
        if keys:
            for row in model.select(model.id, column).where(column.in_(sorted(keys))):
                holders[getattr(row, column.name)] = row.id
        for key in keys:
            holders.setdefault(key, 0)

    def _holder_taken(self, model, column, key: str, own_id: int | None) -> bool:
        holders = self._holders.get((model, column.name), {})
        if key not in holders:
            return _taken(model, column, key, own_id)
        return holders[key] not in (0, own_id)

    # -- the answers, from what was prefetched when it was
    def other_mailboxes_with_email(self, key: str, mailbox: MailboxDraft, limit: int) -> list[EmailUse]:
        if self._shared_keys is None:
            self._shared_keys = {row.email_key for row in Mailbox.select(Mailbox.email_key)
                                 .where(Mailbox.email_key != "").group_by(Mailbox.email_key)
                                 .having(fn.COUNT(Mailbox.id) > 1)}
        if key not in self._shared_keys and mailbox.id is not None:
            return []  # a stored mailbox whose address no other stored mailbox has
        return super().other_mailboxes_with_email(key, mailbox, limit)

    def profile_name_taken(self, key: str, profile_id: int | None) -> bool:
        return self._holder_taken(EmailServerProfile, EmailServerProfile.name_key, key, profile_id)

    def user_email_taken(self, key: str, user_id: int | None) -> bool:
        return self._holder_taken(AppUser, AppUser.email_key, key, user_id)

    def queue_name_taken(self, key: str, queue_id: int | None) -> bool:
        return self._holder_taken(Queue, Queue.name_key, key, queue_id)
