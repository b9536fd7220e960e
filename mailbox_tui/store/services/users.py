"""Users: each comes with its mailbox (U1, U2); a new address goes to the mailbox too (M4, M18)."""

from __future__ import annotations

import logging

from ...domain.effects import approval_after_email_change, email_changed, new_user_mailbox, stale_statuses
from ...domain.findings import Finding
from ...domain.options import MailboxKind
from ...domain.records import MailboxDraft, UserDraft
from ...domain.rules import check_user
from ...domain.text import email_key
from .. import contexts, history
from ..convert import user_columns, user_draft
from ..database import Store, StoreError
from ..models import AppUser, Mailbox, Queue
from ...i18n import say, say_n
from .guards import NotFound, guarded_update
from .mailboxes import MAILBOXES, get_mailbox
from .organisation import org_settings
from .records import RecordWithMailbox

log = logging.getLogger(__name__)

USERS: RecordWithMailbox[UserDraft] = RecordWithMailbox(
    kind="user", what="User", model=AppUser, draft=lambda store, row: user_draft(row), columns=user_columns,
    build_context=contexts.user_context, check=check_user, title="full_name",
    mailboxes=MAILBOXES, link="regarding_user")

validate_user = USERS.validate
get_user = USERS.get


def user_mailbox_id(user_id: int) -> int | None:
    row = Mailbox.select(Mailbox.id).where(Mailbox.regarding_user == user_id).first()
    return row.id if row else None


def create_user(store: Store, d: UserDraft) -> tuple[UserDraft, MailboxDraft, list[Finding]]:
    """U1, then U2: the user's mailbox with the organisation defaults, in one transaction.

    The new mailbox is created even when it needs more settings (say, credentials for M10):
    what it still lacks comes back as findings, as `mailbox-tui check` and the form show them."""
    with store.transaction():
        row, mrow, findings = USERS.create(store, d, lambda row, org: new_user_mailbox(user_draft(row), org))
        log.info("user %s created with mailbox %s", row.id, mrow.id)
        return user_draft(row), MAILBOXES.draft(store, mrow), findings


def update_user(store: Store, base: UserDraft, new: UserDraft) -> UserDraft:
    """U1; a new email goes to the mailbox too (M4) and resets approval (M18, M17)."""
    with USERS.saving(store, base) as current:
        USERS.refuse(store, new)
        cols = user_columns(new)
        with USERS.with_its_mailbox(store, base.id, history.UPDATE):
            USERS.write(store, base, current, cols)
            if email_changed(current.email, new.email) or current.email != cols["email"]:
                mid = user_mailbox_id(base.id)
                if mid is not None:
                    mbox = get_mailbox(store, mid)
                    values = {"email": cols["email"], "email_key": cols["email_key"],
                              "approval": approval_after_email_change(MailboxKind.USER, org_settings(store),
                                                                      mbox.approval)}
                    values.update(stale_statuses(["email"]))
                    guarded_update(Mailbox, mid, mbox.version, values, MAILBOXES.named(mbox), lambda: ["email"])
        return get_user(store, base.id)


def delete_user(store: Store, user_id: int) -> None:
    """Deleting a user deletes its mailbox; queues and forward mailboxes it owns must move first."""
    with store.transaction():
        get_user(store, user_id)
        _refuse_if_owner([user_id])
        USERS.delete(store, user_id)
        log.info("user %s and its mailbox deleted", user_id)


def _refuse_if_owner(user_ids: list[int]) -> None:
    """A user who owns queues or forward mailboxes cannot go: they must move first."""
    owned = (Queue.select(Queue.owner).where(Queue.owner.in_(user_ids)).first()
             or Mailbox.select(Mailbox.owner).where(Mailbox.owner.in_(user_ids),
                                                    Mailbox.kind == MailboxKind.FORWARD).first())
    if owned is None:
        return
    user_id = owned.owner_id
    queues = Queue.select().where(Queue.owner == user_id).count()
    forwards = Mailbox.select().where(Mailbox.owner == user_id, Mailbox.kind == MailboxKind.FORWARD).count()
    name = AppUser.get_by_id(user_id).full_name
    if queues and forwards:
        raise StoreError(say("{name} owns {first} and {second}: give them another owner first.", name=name,
                             first=say_n("{n} queue", "{n} queues", queues),
                             second=say_n("{n} forward mailbox", "{n} forward mailboxes", forwards)))
    if queues:
        raise StoreError(say_n("{name} owns {n} queue: give it another owner first.",
                               "{name} owns {n} queues: give them another owner first.", queues, name=name))
    raise StoreError(say_n("{name} owns {n} forward mailbox: give it another owner first.",
                           "{name} owns {n} forward mailboxes: give them another owner first.", forwards, name=name))


def delete_users(store: Store, user_ids: list[int]) -> int:
    """Many users and their mailboxes at once (the undo of an import): the rule of delete_user, and
    the same entries, written in bulk. Returns how many."""
    with store.transaction():
        for start in range(0, len(user_ids), 500):
            chunk = user_ids[start:start + 500]
            users = history.capture("user", chunk)
            if len(users) != len(set(chunk)):
                missing = next(i for i in chunk if i not in users)
                raise NotFound(say("User {id} does not exist.", id=missing))
            _refuse_if_owner(chunk)
            owners = {row.id: row.regarding_user_id for row in
                      Mailbox.select(Mailbox.id, Mailbox.regarding_user).where(Mailbox.regarding_user.in_(chunk))}
            boxes = history.capture("mailbox", owners)
            Mailbox.delete().where(Mailbox.regarding_user.in_(chunk)).execute()
            AppUser.delete().where(AppUser.id.in_(chunk)).execute()
            entries = dict(zip(sorted(users), history.record(store, "user", history.DELETE, users, {})))
            history.record(store, "mailbox", history.DELETE, boxes, {},
                           parent={box: entries.get(user) for box, user in owners.items()})
        log.info("%s users and their mailboxes deleted", len(user_ids))
        return len(user_ids)


def user_id_for_email(text: str) -> int | None:
    """The id of the user with this address; None when it is blank or no user has it."""
    text = text.strip()
    if not text:
        return None
    row = AppUser.select(AppUser.id).where(AppUser.email_key == email_key(text)).first()
    return row.id if row else None


def owner_field_id(text: str) -> int | None:
    """The owner id a typed Owner field stands for in a draft: None when blank (M2/Q1: required),
    the user's id, or contexts.NO_SUCH_USER when no user has that address (M2/Q1 say so)."""
    if not text.strip():
        return None
    user_id = user_id_for_email(text)
    return contexts.NO_SUCH_USER if user_id is None else user_id
