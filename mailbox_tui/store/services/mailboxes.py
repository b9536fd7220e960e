"""Mailboxes: read, judge, save; state, approval, and Apply Default Email Settings.

Bulk writes (approve/reject, activate/deactivate, Apply Default Email Settings) lock the mailboxes
they will change first (store/locks.py: FOR UPDATE in key order, in chunks, to the end of the one
transaction), then read, judge, write and record them: on PostgreSQL a save that lands before the
lock is part of what they judge and never swept into their history entries (where an undo of the
bulk write would take it back), and a save that comes after waits, then finds its mailbox changed
(a conflict) or gone, never "Saved" and then overwritten.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from ...domain.context import MailboxContext, Stage
from ...domain.effects import (
    approval_after_email_change,
    email_changed,
    mailbox_changes,
    stale_statuses,
    with_default_settings,
)
from ...domain.findings import Finding, RuleViolation, errors
from ...domain.options import ApprovalStatus, MailboxKind, RecordState
from ...domain.records import MailboxDraft, changed_fields
from ...domain.rules import check_mailbox, check_state, check_user
from .. import contexts, history
from ..convert import mailbox_columns, mailbox_draft, password_column, user_draft
from ..database import ConflictError, Store, StoreError
from ..locks import lock_rows
from ..models import AppUser, Mailbox, Queue, utcnow
from ...i18n import N_, say
from .guards import NotFound, guarded_update, refuse_on_errors
from .organisation import org_settings
from .records import RecordService, parent_of, recorded_create

log = logging.getLogger(__name__)

MAILBOXES: RecordService[MailboxDraft] = RecordService(
    kind="mailbox", what="Mailbox", model=Mailbox, draft=lambda store, row: mailbox_draft(row, store.key_ok),
    columns=mailbox_columns, build_context=contexts.mailbox_context, check=check_mailbox,
    gone=" (it may have been deleted)")

get_mailbox = MAILBOXES.get


def mailbox_context(store: Store, d: MailboxDraft, stage: Stage = Stage.EDIT,
                    original: MailboxDraft | None = None) -> MailboxContext:
    """Everything outside the draft that its rules need, read from the database as it is now."""
    return MAILBOXES.context(store, d, stage, original)


def validate_mailbox(store: Store, d: MailboxDraft, stage: Stage = Stage.EDIT, original: MailboxDraft | None = None,
                     facts: contexts.FactsSource | None = None) -> list[Finding]:
    """The findings a form shows live; the same ones a save acts on. A form passes the record as
    it read it (`original`), so a keystroke does not read it again, and may pass a FactsSource
    that keeps what it read once (`facts`; the database as it is now by default)."""
    if original is None and d.id is not None and stage == Stage.EDIT:
        original = get_mailbox(store, d.id)
    return check_mailbox(d, MAILBOXES.context(store, d, stage, original, facts=facts))


def create_forward_mailbox(store: Store, d: MailboxDraft) -> MailboxDraft:
    if d.kind != MailboxKind.FORWARD or d.id is not None:
        raise StoreError(say("Only forward mailboxes are created directly; user and queue mailboxes come with their "
                             "record."))
    with store.transaction():
        MAILBOXES.refuse(store, d)
        row = Mailbox.create(**mailbox_columns(d), password_enc=password_column(store.keyring, d.password, None))
        recorded_create(store, "mailbox", row)
        log.info("forward mailbox %s created", row.id)
        return mailbox_draft(row, store.key_ok)


def update_mailbox(store: Store, base: MailboxDraft, new: MailboxDraft, keep_secrets: bool = False) -> MailboxDraft:
    """Save an edited mailbox: M4 email to its user/queue, M17 stale results, M18 approval. P15: a new
    profile whose servers the stored password did not go to clears it, unless `keep_secrets`."""
    with MAILBOXES.saving(store, base) as current:
        findings = refuse_on_errors(validate_mailbox(store, new, Stage.EDIT, current))
        if not keep_secrets and any(f.rule == "P15" for f in findings):
            new = new.copy(password=replace(new.password, new=None, clear=True))
        changed = mailbox_changes(current, new)
        values = mailbox_columns(new)
        values.update(stale_statuses(changed))
        row = Mailbox.get_by_id(base.id)
        record = {MailboxKind.USER: "user", MailboxKind.QUEUE: "queue"}.get(current.kind)
        mailbox = history.Tracked(store, "mailbox", [base.id], history.UPDATE)
        regarding = history.Tracked(store, record, [current.regarding_id], history.UPDATE) if record else None
        if values["email"] != current.email:  # M4, even a change of case only
            values.update(_mirror_email_to_record(store, current, new))
        values["password_enc"] = password_column(store.keyring, new.password, row.password_enc)
        MAILBOXES.write(store, base, current, values)
        entries = mailbox.done()
        if regarding is not None:
            regarding.done(parent=parent_of(entries))
        log.info("mailbox %s updated: %s", base.id, ", ".join(changed) or "no changes")
        return get_mailbox(store, base.id)


def _mirror_email_to_record(store: Store, current: MailboxDraft, new: MailboxDraft) -> dict:
    """M4 (mailbox → user/queue) and M18; returns extra mailbox columns to write."""
    if new.kind == MailboxKind.FORWARD:
        return {}
    org = org_settings(store)
    cols = mailbox_columns(new)
    if new.kind == MailboxKind.USER:
        user = AppUser.get_by_id(new.regarding_id)
        draft = user_draft(user)
        draft.email = new.email
        refuse_on_errors(check_user(draft, contexts.user_context(contexts.DatabaseFacts(store), draft)))
        guarded_update(AppUser, user.id, user.version, {"email": cols["email"], "email_key": cols["email_key"]},
                        f"User {user.full_name!r}", lambda: ["email"])
    else:
        queue = Queue.get_by_id(new.regarding_id)
        guarded_update(Queue, queue.id, queue.version, {"email": cols["email"], "email_key": cols["email_key"]},
                        f"Queue {queue.name!r}", lambda: ["email"])
    if not email_changed(current.email, new.email):
        return {}
    return {"approval": approval_after_email_change(new.kind, org, new.approval)}


def delete_mailbox(store: Store, mailbox_id: int) -> None:
    with store.transaction():
        d = get_mailbox(store, mailbox_id)
        if d.kind != MailboxKind.FORWARD:
            raise StoreError(_goes_with(d.kind, d.name))
        with history.tracked(store, "mailbox", [mailbox_id], history.DELETE):
            Mailbox.delete().where(Mailbox.id == mailbox_id).execute()
        log.info("forward mailbox %s deleted", mailbox_id)


def _goes_with(kind: int, name: str):
    """Why a user's or a queue's mailbox is not deleted on its own."""
    if kind == MailboxKind.USER:
        return say("{name} is a user mailbox: it goes when its user is deleted.", name=repr(name))
    return say("{name} is a queue mailbox: it goes when its queue is deleted.", name=repr(name))


def delete_forward_mailboxes(store: Store, mailbox_ids: list[int]) -> int:
    """Many forward mailboxes at once (the undo of an import), as delete_mailbox one by one."""
    with store.transaction():
        for start in range(0, len(mailbox_ids), 500):
            chunk = mailbox_ids[start:start + 500]
            boxes = history.capture("mailbox", chunk)
            missing = [i for i in chunk if i not in boxes]
            if missing:
                raise NotFound(say("Mailbox {id} does not exist (it may have been deleted).", id=missing[0]))
            other = next((b for b in boxes.values() if b["kind"] != MailboxKind.FORWARD), None)
            if other is not None:
                raise StoreError(_goes_with(other["kind"], other["name"]))
            Mailbox.delete().where(Mailbox.id.in_(chunk)).execute()
            history.record(store, "mailbox", history.DELETE, boxes, {})
        log.info("%s forward mailboxes deleted", len(mailbox_ids))
        return len(mailbox_ids)


def set_mailbox_state(store: Store, mailbox_ids: list[int], state: int) -> int:
    refuse_on_errors(list(check_state(state)))  # R1
    action = history.ACTIVATE if int(state) == RecordState.ACTIVE else history.DEACTIVATE
    with store.transaction():
        lock_rows(store, Mailbox, mailbox_ids)  # see "Bulk writes" above
        with history.tracked(store, "mailbox", mailbox_ids, action):
            return (Mailbox.update(state=int(state), version=Mailbox.version + 1, modified_on=utcnow())
                    .where(Mailbox.id.in_(mailbox_ids), Mailbox.state != int(state)).execute())


def set_approval(store: Store, mailbox_ids: list[int], approved: bool, seen: dict[int, str] | None = None) -> int:
    """A1: Approve Email / Reject Email. A forward mailbox has no approval to give.

    `seen`: the address of each mailbox as the admin saw it when choosing (the list's rows). The mailboxes
    are locked first ("Bulk writes" above), so a change of address another admin was saving is judged:
    if one no longer has the address seen, nothing is approved (or rejected) and the refusal names it,
    so no one approves an address they never saw."""
    status = ApprovalStatus.APPROVED if approved else ApprovalStatus.REJECTED
    with store.transaction():
        lock_rows(store, Mailbox, mailbox_ids)  # see "Bulk writes" above
        if seen:
            _refuse_if_address_changed(seen, "approved" if approved else "rejected")
        with history.tracked(store, "mailbox", mailbox_ids, history.APPROVE if approved else history.REJECT):
            return (Mailbox.update(approval=int(status), version=Mailbox.version + 1, modified_on=utcnow())
                    .where(Mailbox.id.in_(mailbox_ids), Mailbox.kind != MailboxKind.FORWARD).execute())


def _refuse_if_address_changed(seen: dict[int, str], done: str) -> None:
    rows = {m.id: m for m in Mailbox.select(Mailbox.id, Mailbox.name, Mailbox.email).where(Mailbox.id.in_(list(seen)))}
    for mailbox_id in sorted(seen):
        row = rows.get(mailbox_id)
        then = (say("nothing was approved; look at its new address first.") if done == "approved" else
                say("nothing was rejected; look at its new address first."))
        if row is None:
            raise NotFound(say("Mailbox {id} was deleted since you chose it: nothing was approved.", id=mailbox_id)
                           if done == "approved" else
                           say("Mailbox {id} was deleted since you chose it: nothing was rejected.", id=mailbox_id))
        if (row.email or "") != (seen[mailbox_id] or ""):
            raise ConflictError(f"Mailbox {row.name!r}", [f"{history.label('mailbox', 'email')}: {seen[mailbox_id] or '(none)'} → "
                                                          f"{row.email or '(none)'}"], since="you chose it", then=then)


@dataclass
class DefaultsPreview:
    mailbox_id: int
    name: str
    changes: list[tuple[str, object, object]]  # field, old, new
    findings: list[Finding]
    version: int = 0  # the mailbox's, as the preview read it
    mailbox: MailboxDraft | None = None  # the mailbox as the preview read it


def preview_default_settings(store: Store, mailbox_ids: list[int]) -> list[DefaultsPreview]:
    org = org_settings(store)
    out = []
    for row in Mailbox.select().where(Mailbox.id.in_(mailbox_ids)).order_by(Mailbox.name_key):
        d = mailbox_draft(row, store.key_ok)
        new = with_default_settings(d, org)
        changes = [(f, getattr(d, f), getattr(new, f)) for f in ("profile_id", "incoming", "outgoing", "act")
                   if getattr(d, f) != getattr(new, f)]
        findings = check_mailbox(new, mailbox_context(store, new, Stage.EDIT, d))
        out.append(DefaultsPreview(d.id, d.name, changes, findings, d.version, d))
    return out


AGAIN = N_("nothing was applied; Apply Default Email Settings again shows what it would do now.")


def apply_default_settings(store: Store, mailbox_ids: list[int], shown: list[DefaultsPreview] | None = None) -> int:
    """Apply Default Email Settings in one transaction; any mailbox in error refuses all.

    `shown` is the preview the admin confirmed: if any of its mailboxes changed since (or the defaults
    did), nothing is applied and the refusal names it, so the defaults never go over a save the admin
    did not see. The mailboxes are locked first ("Bulk writes" above), so the preview is judged again
    on the state the writes change."""
    with store.transaction(), history.operation(action=history.APPLY_DEFAULTS):
        lock_rows(store, Mailbox, mailbox_ids)
        org = org_settings(store)
        previews = preview_default_settings(store, mailbox_ids)
        if shown is not None:
            _refuse_if_changed_since(shown, previews)
        bad = [f for p in previews for f in errors(p.findings)]
        if bad:
            raise RuleViolation(bad)
        count = 0
        for p in previews:
            if not p.changes:
                continue
            update_mailbox(store, p.mailbox, with_default_settings(p.mailbox, org))
            count += 1
        return count


def _refuse_if_changed_since(shown: list[DefaultsPreview], now: list[DefaultsPreview]) -> None:
    """The preview the admin saw against the one read under the locks: a mailbox deleted or saved since,
    or other defaults, refuse the whole apply."""
    current = {p.mailbox_id: p for p in now}
    for seen in sorted(shown, key=lambda p: p.mailbox_id):
        p = current.get(seen.mailbox_id)
        if p is None:
            raise NotFound(say("Mailbox {name} was deleted since the preview: {then}", name=repr(seen.name),
                               then=say(AGAIN)))
        if p.version != seen.version:
            changed = changed_fields(seen.mailbox, p.mailbox) if seen.mailbox is not None else []
            raise ConflictError(f"Mailbox {seen.name!r}", [history.label("mailbox", f) for f in changed],
                                since="the preview", then=say(AGAIN))
        if p.changes != seen.changes:
            raise StoreError(say("The organisation's default email settings were changed by someone else since the "
                                 "preview ({name} would now get other ones): {then}", name=repr(p.name), then=say(AGAIN)))
