"""`mailbox-tui check`: every rule over every stored record, a page at a time.

Each record is judged by the facts the rule-context builder (contexts.py) gives every other
path, read here a page of records at a time (StoredRecordFacts)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ..domain.fields import PROFILE_FIELDS, secret_fields
from ..domain.findings import Finding, Severity
from ..domain.rule_common import credential_control_rule
from ..domain.rules import check_mailbox, check_profile, check_queue, check_user
from ..i18n import N_, say
from . import contexts
from .convert import mailbox_draft, profile_draft, queue_draft, user_draft
from .crypto import SecretUnreadable
from .database import Store
from .models import AppUser, EmailServerProfile, Mailbox, Queue

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
PROFILE_SECRETS = secret_fields(PROFILE_FIELDS)  # passwords and OAuth secrets (P14)
PASSWORD_FIELDS = frozenset({"password", "outgoing_password"})  # what M20 judges (not the OAuth secrets)


def _secret_findings(store: Store, token: str | None, field: str) -> Iterator[Finding]:
    """What a stored secret itself shows: an error when it does not decrypt with the current key (it is
    lost until re-entered); for a password, M20 when it holds a control character (stored before M20
    refused them: the rule judges what is typed, and a stored password is not in a draft)."""
    if token is None:
        return
    if store.key_ok:
        try:
            clear = store.keyring.decrypt(token)
        except SecretUnreadable:
            pass
        else:
            if field in PASSWORD_FIELDS:
                yield from credential_control_rule("", "", field, clear)
            return
    what = N_("password") if field.endswith("password") else N_("secret")
    yield Finding(UNREADABLE, field, Severity.ERROR,
                  say("The stored {what} can't be read with the current key: re-enter it, or use the key that "
                      "encrypted it.", what=what))


def stored_findings(store: Store) -> Iterator[StoredFinding]:
    """What the rules find in every stored record (and every stored secret the key cannot read)."""
    facts = contexts.StoredRecordFacts(store)
    for page in _pages(EmailServerProfile):
        facts.prefetch_profiles(page)
        for p in page:
            draft = profile_draft(p, store.key_ok)
            for f in check_profile(draft, contexts.profile_context(facts, draft)):
                yield StoredFinding("profile", p.id, p.name, f)
            for secret in PROFILE_SECRETS:
                for f in _secret_findings(store, getattr(p, secret.model_column), secret.name):
                    yield StoredFinding("profile", p.id, p.name, f)
    for page in _pages(AppUser):
        facts.prefetch_users(page)
        for u in page:
            draft = user_draft(u)
            for f in check_user(draft, contexts.user_context(facts, draft)):
                yield StoredFinding("user", u.id, u.full_name, f)
    for page in _pages(Queue):
        facts.prefetch_queues(page)
        boxes = {m.regarding_queue_id: m for m in Mailbox.select().where(
            Mailbox.regarding_queue.in_([q.id for q in page]))}
        for q in page:
            draft = queue_draft(q, boxes.get(q.id))
            for f in check_queue(draft, contexts.queue_context(facts, draft)):
                yield StoredFinding("queue", q.id, q.name, f)
    for page in _pages(Mailbox):
        facts.prefetch_mailboxes(page)
        for m in page:
            d = mailbox_draft(m, store.key_ok)
            for f in check_mailbox(d, contexts.mailbox_context(facts, d)):
                yield StoredFinding("mailbox", m.id, m.name, f)
            for f in _secret_findings(store, m.password_enc, "password"):
                yield StoredFinding("mailbox", m.id, m.name, f)
