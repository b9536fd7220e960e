"""Writing an import: the plan (plan.py) in one transaction, or nothing."""

from __future__ import annotations

import logging

import peewee

from ...domain.effects import mailbox_changes
from ...domain.findings import RuleViolation, Severity
from ...domain.options import MailboxKind
from ...domain.records import MailboxDraft, UserDraft, changed_fields
from ...domain.text import normalise_email
from .. import history, services
from ..convert import mailbox_columns, user_columns
from ..database import ConflictError, Store
from ..exchange_format import SECTIONS, ImportFinding
from ..models import AppUser, Mailbox, bulk_insert, reserve_ids
from .batches import chunks, cyclic_gc_paused
from .plan import ImportPlan, ImportReport, PlannedMailbox
from .read import require_document_shape
from .rows import applied

log = logging.getLogger(__name__)


def import_document(store: Store, doc: dict[str, list[dict]], dry_run: bool = False,
                    source: str = "") -> ImportReport:
    """Judge every row, then write everything in one transaction, or nothing. `source` (the file's
    name) is what the import's history entry names."""
    try:
        with cyclic_gc_paused():
            return _import(store, doc, dry_run, source)
    finally:
        normalise_email.cache_clear()  # an import can fill it with every address in the file


def _import(store: Store, doc: dict[str, list[dict]], dry_run: bool, source: str) -> ImportReport:
    plan = ImportPlan(store, require_document_shape(doc))
    with store.transaction() as txn:
        plan.plan()
        report = plan.report
        if report.errors or dry_run:
            txn.rollback()
            return report
        try:
            event = history.record_event(store, "import", history.IMPORT, source)
            with history.operation(batch=event or None):
                write_plan(plan)
            history.amend_event(event, [[f"{what} {section}", None, counts[section]]
                                        for what, counts in (("created", report.created), ("updated", report.updated))
                                        for section in SECTIONS if counts[section]])
        except RuleViolation as exc:
            txn.rollback()
            report.findings += [ImportFinding("import", 0, f.rule, f.field, f.severity, f.message)
                                for f in exc.findings]
            report.created = {s: 0 for s in SECTIONS}
            report.updated = {s: 0 for s in SECTIONS}
            return report
        except ConflictError as exc:
            txn.rollback()
            report.findings.append(ImportFinding("import", 0, "CONFLICT", "", Severity.ERROR, str(exc)))
            report.created = {s: 0 for s in SECTIONS}
            report.updated = {s: 0 for s in SECTIONS}
            return report
        except (peewee.IntegrityError, peewee.DataError) as exc:
            # The rules should have found it first; if the database still refuses a row, say so plainly.
            txn.rollback()
            why = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
            report.findings.append(ImportFinding("import", 0, "DATABASE", "", Severity.ERROR,
                                                 f"The database refused a row: {why}"))
            report.created = {s: 0 for s in SECTIONS}
            report.updated = {s: 0 for s in SECTIONS}
            return report
        report.written = True
    log.info("import written: created %s, updated %s", report.created, report.updated)
    return report


def write_plan(plan: ImportPlan) -> None:
    """Write a plan without errors, in the caller's transaction: through the services, new users and
    their mailboxes in bulk."""
    store, report = plan.store, plan.report
    profile_ids: dict[int, int] = {}
    for key, (i, draft, existing) in plan.profiles.items():
        placeholder = plan.profile_ids[key]
        if existing:
            base = services.get_profile(store, draft.id)
            if changed_fields(base, draft):
                services.update_profile(store, base, draft)
                report.updated["profiles"] += 1
        else:
            profile_ids[placeholder] = services.create_profile(store, draft).id
            report.created["profiles"] += 1
    resolve_profile = lambda pid: profile_ids.get(pid, pid)  # noqa: E731

    user_ids = _write_users(plan)
    resolve_user = lambda uid: user_ids.get(uid, uid)  # noqa: E731

    for key, (i, draft, existing) in plan.queues.items():
        draft.owner_id = resolve_user(draft.owner_id)
        planned = plan.mailboxes[("queue", key)]
        if existing:
            base = services.get_queue(store, draft.id)
            if changed_fields(base, draft):
                services.update_queue(store, base, draft)
                report.updated["queues"] += 1
            planned.existing = True
            planned.draft.id = services.queue_mailbox(draft.id).id
        else:
            queue, box, _ = services.create_queue(store, draft)
            report.created["queues"] += 1
            planned.existing, planned.draft.id = True, box.id
        planned.edits.pop("owner_id", None)
        planned.edits.pop("email", None)

    new_user_boxes = []
    for key, planned in plan.mailboxes.items():
        edits = dict(planned.edits)
        for attr, resolve in (("profile_id", resolve_profile), ("owner_id", resolve_user)):
            if edits.get(attr) is not None:
                edits[attr] = resolve(edits[attr])
        if key[0] == "user" and not planned.existing:
            new_user_boxes.append(planned)
        elif planned.existing:
            # A queue's own row already went through update_queue/create_queue (owner, email, methods).
            if planned.section == "mailboxes" or (key[0] == "user" and edits):
                base = services.get_mailbox(store, planned.draft.id)
                new = applied(base, edits)
                if mailbox_changes(base, new) or new.approval != base.approval:
                    services.update_mailbox(store, base, new)
                    report.updated["mailboxes"] += 1
        else:
            draft = applied(MailboxDraft(kind=MailboxKind.FORWARD, incoming=2, outgoing=0, act=2), edits)
            services.create_forward_mailbox(store, draft)
            report.created["mailboxes"] += 1
    _insert_user_mailboxes(plan, new_user_boxes, resolve_user, resolve_profile)


def _write_users(plan: ImportPlan) -> dict[int, int]:
    """Existing users through the service; new ones in bulk. Returns placeholder -> id."""
    store, ids = plan.store, {}
    new = []
    for key, (i, draft, existing, extra) in plan.users.items():
        if existing:
            current = services.get_user(store, draft.id)
            if current.full_name != draft.full_name.strip() or current.state != draft.state:
                services.update_user(store, current, UserDraft(draft.full_name, current.email, draft.state,
                                                               current.id, current.version))
                plan.report.updated["users"] += 1
        else:
            new.append((key, extra["id"], user_columns(draft)))
    for (_, placeholder, cols), user_id in zip(new, reserve_ids(AppUser, len(new)), strict=True):
        cols["id"] = ids[placeholder] = user_id
    for chunk in chunks(new, 5000):
        bulk_insert(AppUser, [cols for _, _, cols in chunk])
        history.record_created(store, "user", [cols for _, _, cols in chunk])
    plan.report.created["users"] += len(new)
    return ids


def _insert_user_mailboxes(plan: ImportPlan, boxes: list[PlannedMailbox], resolve_user, resolve_profile) -> None:
    keyring = plan.store.keyring
    rows = []
    for planned in boxes:
        d = planned.draft  # this plan's own draft: resolving its placeholder ids in place is safe
        d.owner_id, d.regarding_id = resolve_user(d.owner_id), resolve_user(d.regarding_id)
        d.profile_id = resolve_profile(d.profile_id)
        cols = mailbox_columns(d)
        cols["password_enc"] = keyring.encrypt(d.password.new) if d.password.new else None
        rows.append(cols)
    for cols, mailbox_id in zip(rows, reserve_ids(Mailbox, len(rows)), strict=True):
        cols["id"] = mailbox_id
    for chunk in chunks(rows, 5000):
        bulk_insert(Mailbox, chunk)
        history.record_created(plan.store, "mailbox", chunk)
