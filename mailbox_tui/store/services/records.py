"""One kind of record, read, judged and saved the one way: what mailboxes.py, users.py, queues.py and
profiles.py share. Each of them declares its RecordService (its model, rules, context and names) and
keeps only what is its own: what a save does beside the record itself."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Generic, Iterator, TypeVar

from ...domain.findings import Finding
from ...domain.records import MailboxDraft, changed_fields
from .. import contexts, history
from ..database import SAVE_LOCK_WAIT_S, ConflictError, Store
from ..models import Mailbox
from .guards import guarded_update, refuse_on_errors, stored_row
from .organisation import org_settings

D = TypeVar("D")


def parent_of(entries: list[int]) -> int | None:
    """The history entry the entries of a write's other records hang under."""
    return entries[0] if entries else None


def recorded_create(store: Store, kind: str, row, parent: int | None = None) -> list[int]:
    """The history entry of a record just created."""
    return history.record(store, kind, history.CREATE, {}, {row.id: dict(row.__data__)}, parent=parent)


@dataclass(frozen=True)
class RecordService(Generic[D]):
    kind: str  # its history kind: "user"
    what: str  # what a message calls it: "User 6 does not exist."
    model: Any  # its Peewee model
    draft: Callable[[Store, Any], D]  # the draft of a stored row
    columns: Callable[[D], dict]  # the columns a draft writes
    build_context: Callable[..., Any]  # contexts.…_context(facts, draft, …)
    check: Callable[[D, Any], list[Finding]]  # domain.rules.check_…(draft, context)
    title: str = "name"  # the field that names one: "Queue 'Sales'"
    gone: str = ""  # what a NotFound adds: " (it may have been deleted)"

    def context(self, store: Store, d: D, *more, facts: contexts.FactsSource | None = None):
        """Everything outside the draft its rules need, read from the database as it is now (or from `facts`)."""
        return self.build_context(facts or contexts.DatabaseFacts(store), d, *more)

    def validate(self, store: Store, d: D, facts: contexts.FactsSource | None = None) -> list[Finding]:
        """The findings a form shows live; the same ones a save acts on. `facts` may remember what it read
        (an open form's), so a keystroke does not read it again."""
        return self.check(d, self.context(store, d, facts=facts))

    def refuse(self, store: Store, d: D) -> list[Finding]:
        """The findings, or RuleViolation when one is an error: nothing is written."""
        return refuse_on_errors(self.validate(store, d))

    def get(self, store: Store, record_id: int) -> D:
        return self.draft(store, stored_row(self.model, record_id, self.what, self.gone))

    def named(self, record) -> str:
        return f"{self.what} {getattr(record, self.title)!r}"

    @contextmanager
    def saving(self, store: Store, base: D) -> Iterator[D]:
        """The transaction of a save, and the record as stored now: ConflictError names what someone
        else changed since `base` was read."""
        with store.transaction(lock_wait_s=SAVE_LOCK_WAIT_S):
            current = self.get(store, base.id)
            if current.version != base.version:
                raise ConflictError(self.named(current), changed_fields(base, current))
            yield current

    def write(self, store: Store, base: D, current: D, values: dict) -> int:
        """UPDATE the record read as `base`, if no one saved it since (guards.guarded_update)."""
        return guarded_update(self.model, base.id, base.version, values, self.named(current),
                              lambda: changed_fields(base, self.get(store, base.id)))


@dataclass(frozen=True, kw_only=True)
class RecordWithMailbox(RecordService[D]):
    """A user or a queue: it comes with a mailbox (U2, Q2) that goes when it goes."""

    mailboxes: RecordService[MailboxDraft]  # mailboxes.MAILBOXES
    link: str  # the Mailbox column that points at it: "regarding_user"

    def mailbox_row(self, record_id: int) -> Mailbox | None:
        return Mailbox.get_or_none(getattr(Mailbox, self.link) == record_id)

    def create(self, store: Store, d: D, new_mailbox: Callable[[Any, Any], MailboxDraft]):
        """The record, then its mailbox made by `new_mailbox(row, org settings)`, in the caller's transaction.
        Returns both rows, and what the mailbox still lacks as findings (it is created all the same)."""
        self.refuse(store, d)
        row = self.model.create(**self.columns(d))
        mailbox = new_mailbox(row, org_settings(store))
        mailbox.email = row.email
        findings = self.mailboxes.validate(store, mailbox)
        mrow = Mailbox.create(**self.mailboxes.columns(mailbox))
        entries = recorded_create(store, self.kind, row)
        recorded_create(store, "mailbox", mrow, parent=parent_of(entries))
        return row, mrow, findings

    @contextmanager
    def with_its_mailbox(self, store: Store, record_id: int, action: str) -> Iterator[None]:
        """History of a write to the record and its mailbox: the mailbox's entry under the record's."""
        mrow = self.mailbox_row(record_id)
        record = history.Tracked(store, self.kind, [record_id], action)
        mailbox = history.Tracked(store, "mailbox", [mrow.id if mrow else None], action)
        yield
        mailbox.done(parent=parent_of(record.done()))

    def delete(self, store: Store, record_id: int) -> None:
        """The record and its mailbox, in the caller's transaction."""
        with self.with_its_mailbox(store, record_id, history.DELETE):
            Mailbox.delete().where(getattr(Mailbox, self.link) == record_id).execute()
            self.model.delete().where(self.model.id == record_id).execute()
