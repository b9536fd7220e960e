"""`mailbox-tui check`: every rule over every stored record, a page at a time."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from peewee import fn

from ..domain.context import EmailUse, MailboxContext, ProfileContext, QueueContext, UserContext
from ..domain.findings import Finding, Severity
from ..domain.options import MailboxKind, RecordState
from ..domain.rules import check_mailbox, check_profile, check_queue, check_user
from ..domain.text import email_key
from .convert import mailbox_draft, name_key, profile_draft, queue_draft, user_draft
from .crypto import SecretUnreadable
from .database import Store
from .models import AppUser, EmailServerProfile, Mailbox, Queue
from .services import profile_facts

PAGE = 1000


@dataclass(frozen=True)
class StoredFinding:
    record: str  # profile, user, queue, mailbox
    record_id: int
    name: str
    finding: Finding

    def as_dict(self) -> dict:
        return {"record": self.record, "id": self.record_id, "name": self.name, **self.finding.as_dict()}


def _pages(model) -> Iterator[list]:
    last = 0
    while True:
        page = list(model.select().where(model.id > last).order_by(model.id).limit(PAGE))
        if not page:
            return
        yield page
        last = page[-1].id


# Not a record rule (the domain's rules judge what an admin typed): a storage fact only the key can tell.
UNREADABLE = "KEY"


def _unreadable(store: Store, token: str | None, field: str) -> Finding | None:
    """An error when a stored secret does not decrypt with the current key: it is lost until re-entered."""
    if token is None:
        return None
    if store.key_ok:
        try:
            store.keyring.decrypt(token)
            return None
        except SecretUnreadable:
            pass
    return Finding(UNREADABLE, field, Severity.ERROR,
                   "The stored password can't be read with the current key: re-enter it, or use the key "
                   "that encrypted it.")


def check_all(store: Store) -> Iterator[StoredFinding]:
    for page in _pages(EmailServerProfile):
        for p in page:
            # A key that is not the name's own was set aside by migration 2: a duplicate name.
            for f in check_profile(profile_draft(p, store.key_ok), ProfileContext(p.name_key != name_key(p.name))):
                yield StoredFinding("profile", p.id, p.name, f)
            for token, field in ((p.password_enc, "password"), (p.outgoing_password_enc, "outgoing_password")):
                if f := _unreadable(store, token, field):
                    yield StoredFinding("profile", p.id, p.name, f)
    for page in _pages(AppUser):
        for u in page:
            for f in check_user(user_draft(u), UserContext(u.email_key != email_key(u.email))):
                yield StoredFinding("user", u.id, u.full_name, f)
    for page in _pages(Queue):
        boxes = {m.regarding_queue_id: m for m in Mailbox.select().where(
            Mailbox.regarding_queue.in_([q.id for q in page]))}
        for q in page:
            ctx = QueueContext(name_taken=q.name_key != name_key(q.name))
            for f in check_queue(queue_draft(q, boxes.get(q.id)), ctx):
                yield StoredFinding("queue", q.id, q.name, f)
    facts = {}
    forward_active = Mailbox.select().where(Mailbox.kind == MailboxKind.FORWARD,
                                            Mailbox.state == RecordState.ACTIVE).exists()
    shared = {row.email_key for row in Mailbox.select(Mailbox.email_key).where(Mailbox.email_key != "")
              .group_by(Mailbox.email_key).having(fn.COUNT(Mailbox.id) > 1)}
    for page in _pages(Mailbox):
        queue_owners = {q.id: q.owner_id for q in Queue.select(Queue.id, Queue.owner).where(
            Queue.id.in_([m.regarding_queue_id for m in page if m.regarding_queue_id]))}
        for m in page:
            d = mailbox_draft(m, store.key_ok)
            if d.profile_id is not None and d.profile_id not in facts:
                facts[d.profile_id] = profile_facts(d.profile_id)
            ctx = MailboxContext(
                profile=facts.get(d.profile_id),
                expected_owner_id=d.regarding_id if d.kind == MailboxKind.USER else queue_owners.get(d.regarding_id),
                active_forward_mailbox_exists=forward_active,
            )
            if m.email_key in shared:
                ctx.same_email = tuple(EmailUse(o.name, o.enabled_incoming) for o in Mailbox.select(
                    Mailbox.name, Mailbox.enabled_incoming).where(Mailbox.email_key == m.email_key,
                                                                   Mailbox.id != m.id).limit(5))
            for f in check_mailbox(d, ctx):
                yield StoredFinding("mailbox", m.id, m.name, f)
            if f := _unreadable(store, m.password_enc, "password"):
                yield StoredFinding("mailbox", m.id, m.name, f)
