"""Queues: each comes with its mailbox, which follows its owner, address and methods (Q1, Q2)."""

from __future__ import annotations

import logging

from ...domain.context import QueueContext
from ...domain.effects import (
    approval_after_email_change,
    mailbox_changes,
    new_queue_mailbox,
    stale_statuses,
)
from ...domain.findings import Finding
from ...domain.options import MailboxKind
from ...domain.records import MailboxDraft, QueueDraft, changed_fields
from ...domain.rules import (
    check_mailbox,
    check_queue,
)
from .. import contexts, history
from ..convert import (
    mailbox_columns,
    mailbox_draft,
    queue_columns,
    queue_draft,
)
from ..database import SAVE_LOCK_WAIT_S, ConflictError, Store
from ..models import Mailbox, Queue
from .guards import guarded_update, refuse_on_errors, stored_row
from .mailboxes import mailbox_context
from .organisation import org_settings

log = logging.getLogger(__name__)


def _queue_context(store: Store, d: QueueDraft) -> QueueContext:
    return contexts.queue_context(contexts.DatabaseFacts(store), d)


def validate_queue(store: Store, d: QueueDraft) -> list[Finding]:
    return check_queue(d, _queue_context(store, d))


def queue_mailbox(queue_id: int) -> Mailbox | None:
    return Mailbox.get_or_none(Mailbox.regarding_queue == queue_id)


def get_queue(store: Store, queue_id: int) -> QueueDraft:
    return queue_draft(stored_row(Queue, queue_id, "Queue"), queue_mailbox(queue_id))


def create_queue(store: Store, d: QueueDraft) -> tuple[QueueDraft, MailboxDraft, list[Finding]]:
    """Q1, then Q2: its mailbox, owned by the queue's owner (what it still lacks comes back as findings)."""
    with store.transaction():
        refuse_on_errors(check_queue(d, _queue_context(store, d)))
        row = Queue.create(**queue_columns(d))
        queue = queue_draft(row, None)
        queue.incoming, queue.outgoing = d.incoming, d.outgoing
        mailbox = new_queue_mailbox(queue, org_settings(store))
        mailbox.email = row.email
        findings = check_mailbox(mailbox, mailbox_context(store, mailbox))
        mrow = Mailbox.create(**mailbox_columns(mailbox))
        entries = history.record(store, "queue", history.CREATE, {}, {row.id: dict(row.__data__)})
        history.record(store, "mailbox", history.CREATE, {}, {mrow.id: dict(mrow.__data__)},
                       parent=entries[0] if entries else None)
        return get_queue(store, row.id), mailbox_draft(mrow, store.key_ok), findings


def update_queue(store: Store, base: QueueDraft, new: QueueDraft) -> QueueDraft:
    """Q1; owner, email and methods follow to the queue's mailbox (M2, M4, M17, M18)."""
    with store.transaction(lock_wait_s=SAVE_LOCK_WAIT_S):
        current = get_queue(store, base.id)
        if current.version != base.version:
            raise ConflictError(f"Queue {current.name!r}", changed_fields(base, current))
        refuse_on_errors(check_queue(new, _queue_context(store, new)))
        cols = queue_columns(new)
        mrow = queue_mailbox(base.id)
        queue = history.Tracked(store, "queue", [base.id], history.UPDATE)
        mailbox = history.Tracked(store, "mailbox", [mrow.id if mrow else None], history.UPDATE)
        guarded_update(Queue, base.id, base.version, cols, f"Queue {current.name!r}",
                        lambda: changed_fields(base, get_queue(store, base.id)))
        mrow = queue_mailbox(base.id)
        if mrow is not None:
            mbox = mailbox_draft(mrow, store.key_ok)
            edited = mbox.copy(owner_id=new.owner_id, email=cols["email"], incoming=new.incoming, outgoing=new.outgoing)
            changed = mailbox_changes(mbox, edited)
            values = {"owner": new.owner_id, "email": cols["email"], "email_key": cols["email_key"],
                      "incoming": int(new.incoming), "outgoing": int(new.outgoing)}
            values.update(stale_statuses(changed))
            if "email" in changed:
                values["approval"] = approval_after_email_change(MailboxKind.QUEUE, org_settings(store), mbox.approval)
            guarded_update(Mailbox, mbox.id, mbox.version, values, f"Mailbox {mbox.name!r}", lambda: changed)
        entries = queue.done()
        mailbox.done(parent=entries[0] if entries else None)
        return get_queue(store, base.id)


def delete_queue(store: Store, queue_id: int) -> None:
    with store.transaction():
        get_queue(store, queue_id)
        mrow = queue_mailbox(queue_id)
        queue = history.Tracked(store, "queue", [queue_id], history.DELETE)
        mailbox = history.Tracked(store, "mailbox", [mrow.id if mrow else None], history.DELETE)
        Mailbox.delete().where(Mailbox.regarding_queue == queue_id).execute()
        Queue.delete().where(Queue.id == queue_id).execute()
        entries = queue.done()
        mailbox.done(parent=entries[0] if entries else None)
