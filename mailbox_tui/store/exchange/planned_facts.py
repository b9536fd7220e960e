"""The facts an import judges its rows by: its own plan laid over the database.

A record planned in the file counts as if it were written already (a placeholder id < 0 stands
for a record the file creates), and a stored record with the same natural key is the one the
row updates. What the plan does not know is read from the database once and kept, so an import
of 100,000 rows asks the database about each record at most once. The same builder
(store/contexts.py) turns these facts into rule contexts as it does for forms, saves and `check`.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable

from ...domain.context import EmailUse, ProfileFacts
from ...domain.options import MailboxKind, RecordState
from ...domain.records import MailboxDraft, OrgSettings
from .. import contexts
from ..contexts import QueueFacts, address_key, same_email_rank
from ..models import Mailbox
from .batches import where_in


class PlannedFacts:
    """A contexts.FactsSource: the plan first, then the database."""

    def __init__(self, store, org: OrgSettings, plan):
        self.db = contexts.DatabaseFacts(store)
        self.org = org
        self.plan = plan  # the ImportPlan: its profiles, users, queues (by natural key) and mailboxes
        self.profiles: dict[int, ProfileFacts | None] = {}  # planned, then stored ones as read
        self.users: dict[int, bool] = {}  # stored user ids known to exist (read), or not
        self.queues: dict[int, QueueFacts | None] = {}
        self._forward_active: bool | None = None
        # M5: the address key of each planned mailbox whose key is not its user's (see note_email),
        # the planned mailboxes of each such key, and the stored mailboxes of the keys being judged.
        self._key_of: dict[int, str] = {}
        self._plans_of: dict[str, list[int]] = {}
        self._stored: dict[str, list[tuple]] = {}
        self._with: dict[str, list[int]] = {}  # _planned_with of the keys of the chunk being judged
        self.judging: tuple[int, int] | None = None  # (id() of the draft being judged, its number)

    # -- what the plan adds (the plan records the row under its natural key itself)
    def plan_profile(self, profile_id: int, facts: ProfileFacts) -> None:
        self.profiles[profile_id] = facts

    def plan_queue(self, queue_id: int, owner_id: int | None) -> None:
        self.queues[queue_id] = QueueFacts(queue_id, owner_id)

    def known_user(self, user_id: int) -> None:
        """A stored user the importer read: it exists."""
        self.users[user_id] = True

    # -- FactsSource
    def profile(self, profile_id: int) -> ProfileFacts | None:
        if profile_id not in self.profiles:
            self.profiles[profile_id] = self.db.profile(profile_id) if profile_id > 0 else None
        return self.profiles[profile_id]

    def stored_profile_destinations(self, profile_id: int) -> dict[str, frozenset[str]] | None:
        """As stored, before this import: what a secret kept by a row is compared with (P15)."""
        return self.db.stored_profile_destinations(profile_id) if profile_id > 0 else None

    def mailbox_passwords(self, profile_id: int) -> int:
        return self.db.mailbox_passwords(profile_id) if profile_id > 0 else 0

    def stored_mailbox_destinations(self, profile_id: int) -> frozenset[str]:
        """As stored (the file may change the profile too: its row says so itself)."""
        if profile_id <= 0:
            return frozenset()
        cache = self.__dict__.setdefault("_stored_destinations", {})  # one read per profile per import
        if profile_id not in cache:
            cache[profile_id] = self.db.stored_mailbox_destinations(profile_id)
        return cache[profile_id]

    def user_exists(self, user_id: int) -> bool:
        if user_id < 0:  # only a user row of this file gets a placeholder that owners and regarding ids name
            return True
        if user_id not in self.users:
            self.users[user_id] = user_id > 0 and self.db.user_exists(user_id)
        return self.users[user_id]

    def queue(self, queue_id: int) -> QueueFacts | None:
        if queue_id not in self.queues:
            self.queues[queue_id] = self.db.queue(queue_id) if queue_id > 0 else None
        return self.queues[queue_id]

    def other_mailboxes_with_email(self, key: str, mailbox: MailboxDraft, limit: int) -> Iterable[EmailUse]:
        """Other mailboxes with the address key `key` once every row is planned: the stored ones that
        have it, and the new ones the file plans with it. A key no planned mailbox has finds none."""
        plans = self._with.get(key)
        if plans is None:
            plans = self._planned_with(key)
        if not plans:
            return []
        judged = self.judging if self.judging is not None and self.judging[0] == id(mailbox) else None
        own = mailbox.id if mailbox.id is not None else -(judged[1] + 1) if judged else -id(mailbox)
        uses: list = list(self._stored_with(key))
        uses += [(-(q + 1), q) for q in plans if not self.plan.planned.existing[q]]  # a new one: its number
        if len(uses) == 1 and uses[0][0] == own:
            return []
        uses = [(ref, use if isinstance(use, EmailUse) else
                 EmailUse((mailbox if judged and judged[1] == use else self.plan.planned.draft(use)).name, False))
                for ref, use in uses]
        if len(uses) > 1:
            uses.sort(key=lambda ref_use: same_email_rank(ref_use[1]))
        out = []
        for ref, use in uses:
            if ref != own:
                out.append(use)
                if len(out) == limit:
                    break
        return out

    def active_forward_mailbox_exists(self) -> bool:
        if self._forward_active is None:
            planned = self.plan.forwards  # (id, state) of each planned forward mailbox
            if any(state == RecordState.ACTIVE for _, state in planned):
                self._forward_active = True
            else:  # a stored one the file does not deactivate
                changed = {i for i, _ in planned if i is not None}
                stored = Mailbox.select(Mailbox.id).where(Mailbox.kind == MailboxKind.FORWARD,
                                                          Mailbox.state == RecordState.ACTIVE)
                self._forward_active = any(m.id not in changed for m in stored.limit(len(changed) + 1))
        return self._forward_active

    def approval_required(self, kind: MailboxKind) -> bool:
        return bool(self.org.approval_required_users if kind == MailboxKind.USER else
                    self.org.approval_required_queues if kind == MailboxKind.QUEUE else False)

    # A stored record with the row's natural key is the record the row updates, never "another":
    # only an earlier row of the file can hold the key (and the importer says so as a duplicate).
    def profile_name_taken(self, key: str, profile_id: int | None) -> bool:
        return key in self.plan.profiles

    def user_email_taken(self, key: str, user_id: int | None) -> bool:
        return key in self.plan.users

    def queue_name_taken(self, key: str, queue_id: int | None) -> bool:
        return key in self.plan.queues

    # -- M5: who else uses an address, in the database and in this file
    def note_email(self, p: int, email: str, user: str | None = None) -> None:
        """Planned mailbox p has the address `email` (now). A user row's mailbox whose address key is
        its user's key (`user`) is the common case and costs nothing: only the others are kept."""
        key = address_key(email) if email else ""
        if user is not None and key == user:
            return
        old = self._key_of.get(p)
        if old is not None:
            self._plans_of[old].remove(p)
        self._key_of[p] = key
        if key:
            bisect.insort(self._plans_of.setdefault(key, []), p)

    def _planned_with(self, key: str, user_box: int | None = None) -> list[int]:
        """The planned mailboxes whose address has `key`, in the order they were planned. `user_box`: a
        users row's mailbox known to have its user's key (no look-up among the users then)."""
        plans = self._plans_of.get(key, [])
        p = self.plan.users.get(key) if user_box is None else user_box
        if p is not None and p not in self._key_of:
            plans = sorted([*plans, p])
        return plans

    def prefetch_same_email(self, chunk: list[tuple[int, MailboxDraft]]) -> None:
        """What M5 asks about a chunk of planned mailboxes (number, draft as it stands): the planned
        mailboxes with each one's address key, and the stored ones, in one query for the chunk. A users
        row's mailbox whose key is its user's (note_email keeps no key for it) is its own user's."""
        with_key: dict[str, list[int]] = {}
        users = len(self.plan.users)
        for p, draft in chunk:
            key = address_key(draft.email) if draft.email else ""
            if key and key not in with_key:
                own = p < users and p not in self._key_of
                with_key[key] = self._planned_with(key, p if own else None)
        self._with = with_key
        keys = sorted(k for k, plans in with_key.items() if plans)
        self._stored = {k: [] for k in keys}
        for mid, name, key, enabled in where_in(Mailbox, "email_key", keys,
                                                ["id", "name", "email_key", "enabled_incoming"]):
            self._stored[key].append((mid, EmailUse(name, bool(enabled))))

    def forget_prefetch(self) -> None:
        self._with, self._stored = {}, {}

    def _stored_with(self, key: str) -> list[tuple]:
        if key not in self._stored:
            return [(mid, EmailUse(name, bool(enabled))) for mid, name, _, enabled in
                    where_in(Mailbox, "email_key", [key], ["id", "name", "email_key", "enabled_incoming"])]
        return self._stored[key]
