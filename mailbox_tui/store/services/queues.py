"""Queues: each comes with its mailbox, which follows its owner, address and methods (Q1, Q2)."""

from __future__ import annotations

import logging

from ...domain.effects import approval_after_email_change, mailbox_changes, new_queue_mailbox, stale_statuses
from ...domain.findings import Finding
from ...domain.options import MailboxKind
from ...domain.records import MailboxDraft, QueueDraft
from ...domain.rules import check_queue
from .. import contexts, history
from ..convert import queue_columns, queue_draft
from ..database import Store
from ..models import Mailbox, Queue
from .guards import guarded_update
from .mailboxes import MAILBOXES
from .organisation import org_settings
from .records import RecordWithMailbox

log = logging.getLogger(__name__)

QUEUES: RecordWithMailbox[QueueDraft] = RecordWithMailbox(
    kind="queue", what="Queue", model=Queue, draft=lambda store, row: queue_draft(row, queue_mailbox(row.id)),
    columns=queue_columns, build_context=contexts.queue_context, check=check_queue,
    mailboxes=MAILBOXES, link="regarding_queue")

validate_queue = QUEUES.validate
get_queue = QUEUES.get


def queue_mailbox(queue_id: int) -> Mailbox | None:
    return QUEUES.mailbox_row(queue_id)


def create_queue(store: Store, d: QueueDraft) -> tuple[QueueDraft, MailboxDraft, list[Finding]]:
    """Q1, then Q2: its mailbox, owned by the queue's owner (what it still lacks comes back as findings)."""
    def new_mailbox(row: Queue, org) -> MailboxDraft:
        queue = queue_draft(row, None)
        queue.incoming, queue.outgoing = d.incoming, d.outgoing  # its methods are its mailbox's
        return new_queue_mailbox(queue, org)

    with store.transaction():
        row, mrow, findings = QUEUES.create(store, d, new_mailbox)
        return get_queue(store, row.id), MAILBOXES.draft(store, mrow), findings


def update_queue(store: Store, base: QueueDraft, new: QueueDraft) -> QueueDraft:
    """Q1; owner, email and methods follow to the queue's mailbox (M2, M4, M17, M18)."""
    with QUEUES.saving(store, base) as current:
        QUEUES.refuse(store, new)
        cols = queue_columns(new)
        with QUEUES.with_its_mailbox(store, base.id, history.UPDATE):
            QUEUES.write(store, base, current, cols)
            mrow = queue_mailbox(base.id)
            if mrow is not None:
                mbox = MAILBOXES.draft(store, mrow)
                edited = mbox.copy(owner_id=new.owner_id, email=cols["email"], incoming=new.incoming,
                                   outgoing=new.outgoing)
                changed = mailbox_changes(mbox, edited)
                values = {"owner": new.owner_id, "email": cols["email"], "email_key": cols["email_key"],
                          "incoming": int(new.incoming), "outgoing": int(new.outgoing)}
                values.update(stale_statuses(changed))
                if "email" in changed:
                    values["approval"] = approval_after_email_change(MailboxKind.QUEUE, org_settings(store),
                                                                     mbox.approval)
                guarded_update(Mailbox, mbox.id, mbox.version, values, MAILBOXES.named(mbox), lambda: changed)
        return get_queue(store, base.id)


def delete_queue(store: Store, queue_id: int) -> None:
    with store.transaction():
        get_queue(store, queue_id)
        QUEUES.delete(store, queue_id)
