"""Writing an import: the plan (plan.py) in one transaction, or nothing."""

from __future__ import annotations

import logging
from array import array
from itertools import chain

import peewee

from ...i18n import say
from ...domain.effects import mailbox_changes
from ...domain.findings import Finding, RuleViolation, Severity
from ...domain.options import MailboxKind
from ...domain.records import MailboxDraft, UserDraft, changed_fields
from ...domain.text import normalise_email
from .. import history, services
from ..convert import mailbox_columns, user_columns
from ..database import ConflictError, Store
from ..exchange_format import SECTIONS, ImportFinding
from ..models import AppUser, Mailbox, bulk_insert, reserve_ids
from . import interrupts
from .batches import cyclic_gc_paused
from .judged import hold_judged
from .plan import ImportPlan, ImportReport
from .planned import placeholder_number
from .read import DocumentSource, SectionsOutOfOrder, Source
from .rows import applied

log = logging.getLogger(__name__)
WRITE_CHUNK = 5000  # rows built and inserted at a time


def import_document(store: Store, doc: dict[str, list[dict]] | Source, dry_run: bool = False,
                    source: str = "", keep_secrets: bool = False) -> ImportReport:
    """Judge every row, then write everything in one transaction, or nothing. `doc` is a document in
    memory or a Source read a row at a time (read.open_source); `source` (the file's name) is what
    the import's history entry names. A stored secret that a row would send to a new destination
    is cleared (P15), unless `keep_secrets` (--keep-secrets)."""
    if not isinstance(doc, Source):
        doc = DocumentSource(doc)
    try:
        with cyclic_gc_paused():
            return _import(store, doc, dry_run, source, keep_secrets)
    finally:
        normalise_email.cache_clear()  # an import can fill it with every address in the file


def _planned(store: Store, source: Source, dry_run: bool) -> ImportPlan:
    """Every row judged, and the whole file read (a broken end refuses the import before anything is
    written). A JSON document whose sections are out of order is judged again in order."""
    plan = ImportPlan(store, source, build_rows=not dry_run)
    try:
        plan.plan()
        source.finish()
    except SectionsOutOfOrder:
        plan.close()
        plan = ImportPlan(store, source, build_rows=not dry_run)
        plan.plan()
        source.finish()
    except BaseException:
        plan.close()
        raise
    return plan


def _import(store: Store, source: Source, dry_run: bool, name: str, keep_secrets: bool = False) -> ImportReport:
    with store.transaction() as txn:
        log.info("import of %s: reading and judging every row", name or "a document")
        plan = _planned(store, source, dry_run)
        plan.keep_secrets = plan.report.keep_secrets = keep_secrets
        try:
            report = _written(store, plan, txn, dry_run, name)
        finally:
            plan.close()
    if report.written:
        log.info("import written: created %s, updated %s", report.created, report.updated)
    return report


def _written(store: Store, plan: ImportPlan, txn, dry_run: bool, name: str) -> ImportReport:
    """The plan written in the caller's transaction, unless it has errors or is a dry run."""
    report = plan.report
    if report.errors or dry_run:
        txn.rollback()
        return report
    log.info("import of %s: every row judged, no errors; writing", name or "a document")
    try:
        event = history.record_event(store, "import", history.IMPORT, name)
        with history.operation(batch=event or None):
            write_plan(plan)
        report.entry = event or None
        # A new user's or queue's mailbox came with it (U2, Q2): it is a mailbox created, too.
        report.created["mailboxes"] += report.created["users"] + report.created["queues"]
        history.amend_event(event, [[f"{what} {section}", None, counts[section]]
                                    for what, counts in (("created", report.created), ("updated", report.updated))
                                    for section in SECTIONS if counts[section]])
        interrupts.hold()  # the commit is next: Ctrl-C no longer stops the import
    except RuleViolation as exc:
        txn.rollback()
        report.findings += [ImportFinding.at("import", 0, f) for f in exc.findings]
        report.created = {s: 0 for s in SECTIONS}
        report.updated = {s: 0 for s in SECTIONS}
        return report
    except ConflictError as exc:
        txn.rollback()
        report.findings.append(ImportFinding.at("import", 0, Finding("CONFLICT", "", Severity.ERROR, str(exc))))
        report.created = {s: 0 for s in SECTIONS}
        report.updated = {s: 0 for s in SECTIONS}
        return report
    except (peewee.IntegrityError, peewee.DataError) as exc:
        # The rules should have found it first; if the database still refuses a row, say so plainly.
        txn.rollback()
        why = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        report.findings.append(ImportFinding.at("import", 0, Finding("DATABASE", "", Severity.ERROR,
                                                                     say("The database refused a row: {error}",
                                                                         error=why))))
        report.created = {s: 0 for s in SECTIONS}
        report.updated = {s: 0 for s in SECTIONS}
        return report
    report.written = True
    return report


def write_plan(plan: ImportPlan) -> None:
    """Write a plan without errors, in the caller's transaction: through the services, new users and
    their mailboxes in bulk, a chunk at a time (the plan's mailboxes are read back one by one; a new
    user's mailbox as the row judging it kept)."""
    store, report = plan.store, plan.report
    hold_judged(store, plan.judged, plan)  # every stored record it judged: locked, and as it was read
    profile_ids: dict[int, int] = {}
    for key, (i, draft, existing) in plan.profiles.items():
        placeholder = plan.profile_ids[key]
        if existing:
            base = services.get_profile(store, draft.id)
            if changed_fields(base, draft):
                services.update_profile(store, base, draft, keep_secrets=plan.keep_secrets)
                report.updated["profiles"] += 1
        else:
            profile_ids[placeholder] = services.create_profile(store, draft).id
            report.created["profiles"] += 1
    resolve_profile = lambda pid: profile_ids.get(pid, pid)  # noqa: E731

    user_ids = _write_users(plan)  # planned mailbox number -> the new user's id

    def resolve_user(uid):
        p = placeholder_number(uid) if uid is not None else None
        return uid if p is None else user_ids[p]

    queue_boxes: dict[str, int] = {}  # a queue's key -> its mailbox's id, once written
    for key, (i, draft, existing) in plan.queues.items():
        draft.owner_id = resolve_user(draft.owner_id)
        if existing:
            base = services.get_queue(store, draft.id)
            if changed_fields(base, draft):
                services.update_queue(store, base, draft)
                report.updated["queues"] += 1
            queue_boxes[key] = services.queue_mailbox(draft.id).id
        else:
            queue, box, _ = services.create_queue(store, draft)
            report.created["queues"] += 1
            queue_boxes[key] = box.id

    new_user_boxes = array("q")
    # Every planned mailbox in the order it was planned: the users rows' first (keys not needed), then the rest.
    for key, p in chain(((("user", None), p) for p in plan.users.values()), plan.plans.items()):
        if key[0] == "user" and not plan.planned.existing[p]:
            new_user_boxes.append(p)  # written in bulk below
            continue
        planned = plan.planned.get(p)
        if key[0] == "queue":
            # A queue's own row already went through update_queue/create_queue (owner, email, methods).
            planned.existing, planned.draft.id = True, queue_boxes[key[1]]
            planned.edits.pop("owner_id", None)
            planned.edits.pop("email", None)
        edits = dict(planned.edits)
        for attr, resolve in (("profile_id", resolve_profile), ("owner_id", resolve_user)):
            if edits.get(attr) is not None:
                edits[attr] = resolve(edits[attr])
        if planned.existing:
            if planned.section == "mailboxes" or (key[0] == "user" and edits):
                base = services.get_mailbox(store, planned.draft.id)
                new = applied(base, edits)
                if mailbox_changes(base, new) or new.approval != base.approval:
                    services.update_mailbox(store, base, new, keep_secrets=plan.keep_secrets)
                    report.updated["mailboxes"] += 1
        else:
            draft = applied(MailboxDraft(kind=MailboxKind.FORWARD, incoming=2, outgoing=0, act=2), edits)
            services.create_forward_mailbox(store, draft)
            report.created["mailboxes"] += 1
    _insert_user_mailboxes(plan, new_user_boxes, resolve_user, resolve_profile)


def _write_users(plan: ImportPlan) -> array:
    """Existing users through the service; new ones in bulk, a chunk at a time. Returns the new
    users' ids by the number of their planned mailbox."""
    store, ids = plan.store, array("q", [0]) * len(plan.users)
    new = []

    def insert() -> None:
        for (p, cols), user_id in zip(new, reserve_ids(AppUser, len(new)), strict=True):
            cols["id"] = ids[p] = user_id
        bulk_insert(AppUser, [cols for _, cols in new])
        history.record_created(store, "user", [cols for _, cols in new])
        plan.report.created["users"] += len(new)
        new.clear()

    for p in plan.users.values():
        draft, existing = plan.users.entry(p)
        if existing:
            current = services.get_user(store, draft.id)
            if current.full_name != draft.full_name.strip() or current.state != draft.state:
                services.update_user(store, current, UserDraft(draft.full_name, current.email, draft.state,
                                                               current.id, current.version))
                plan.report.updated["users"] += 1
        else:
            new.append((p, user_columns(draft)))
            if len(new) == WRITE_CHUNK:
                insert()
    if new:
        insert()
    return ids


def _insert_user_mailboxes(plan: ImportPlan, boxes: array, resolve_user, resolve_profile) -> None:
    encrypt = plan.store.keyring.encrypter()
    for start in range(0, len(boxes), WRITE_CHUNK):
        rows = []
        for p in boxes[start:start + WRITE_CHUNK]:
            cols = plan.planned.kept_row(p)  # as the judging pass built it
            if cols is None:  # not kept (a dry run's plan, or its key failed while judging): built again
                d = plan.planned.draft(p)
                cols = mailbox_columns(d)
                cols["password_enc"] = encrypt(d.password.new) if d.password.new else None
            cols["owner"], cols["regarding_user"] = resolve_user(cols["owner"]), resolve_user(cols["regarding_user"])
            cols["profile"] = resolve_profile(cols["profile"])
            rows.append(cols)
        for cols, mailbox_id in zip(rows, reserve_ids(Mailbox, len(rows)), strict=True):
            cols["id"] = mailbox_id
        bulk_insert(Mailbox, rows)
        history.record_created(plan.store, "mailbox", rows)
