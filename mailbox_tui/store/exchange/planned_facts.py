"""The facts an import judges its rows by: its own plan laid over the database.

A record planned in the file counts as if it were written already (a placeholder id < 0 stands
for a record the file creates), and a stored record with the same natural key is the one the
row updates. What the plan does not know is read from the database once and kept, so an import
of 100,000 rows asks the database about each record at most once. The same builder
(store/contexts.py) turns these facts into rule contexts as it does for forms, saves and `check`.
"""

from __future__ import annotations

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
        self._same_email: dict[str, list[tuple]] | None = None
        self._forward_active: bool | None = None

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
        if self._same_email is None:
            self._index_same_email()
        own = mailbox.id if mailbox.id is not None else -id(mailbox)
        out = []
        for ref, use in self._same_email.get(key, ()):
            if ref != own:
                out.append(use)
                if len(out) == limit:
                    break
        return out

    def active_forward_mailbox_exists(self) -> bool:
        if self._forward_active is None:
            planned = [p.draft for p in self.plan.mailboxes.values() if p.draft.kind == MailboxKind.FORWARD]
            if any(d.state == RecordState.ACTIVE for d in planned):
                self._forward_active = True
            else:  # a stored one the file does not deactivate
                changed = {d.id for d in planned if d.id is not None}
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
    def _index_same_email(self) -> None:
        """address key -> [(mailbox id, or -id() of a new mailbox's draft, EmailUse)], in M5's order."""
        index: dict[str, list[tuple]] = {}
        keys = {address_key(p.draft.email) for p in self.plan.mailboxes.values() if p.draft.email}
        keys.discard("")
        for mid, name, key, enabled in where_in(Mailbox, "email_key", sorted(keys),
                                                ["id", "name", "email_key", "enabled_incoming"]):
            index.setdefault(key, []).append((mid, EmailUse(name, bool(enabled))))
        for planned in self.plan.mailboxes.values():
            if planned.draft.email and not planned.existing:  # a database id is never negative
                index.setdefault(address_key(planned.draft.email), []).append(
                    (-id(planned.draft), EmailUse(planned.draft.name, False)))
        for uses in index.values():
            if len(uses) > 1:
                uses.sort(key=lambda ref_use: same_email_rank(ref_use[1]))
        self._same_email = index
