"""Judging an import's planned mailboxes once every row is planned (plan.py plans them).

Each is built again from the plan's temporary file once, as its draft alone; only a mailbox the
rules find something in is built whole (which row set which field, where a finding is reported).
A new user's mailbox is then kept as the row write.py inserts, so it is not built again to be
written (not for a dry run, nor once the import has an error)."""

from __future__ import annotations

from ...i18n import say
from ...domain.findings import Finding, Severity
from ...domain.records import MailboxDraft
from ...domain.rules import check_mailbox
from .. import contexts
from ..convert import mailbox_columns
from .batches import CHUNK


def judge_planned_mailboxes(plan) -> None:
    """Each planned mailbox as it stands, a chunk at a time (M5 asks the database about a chunk's
    addresses at once)."""
    planned, facts = plan.planned, plan.facts
    for start in range(0, len(planned), CHUNK):
        chunk = [(p, planned.draft(p)) for p in range(start, min(start + CHUNK, len(planned)))]
        facts.prefetch_same_email(chunk)
        for p, draft in chunk:
            facts.judging = (id(draft), p)
            ctx = contexts.mailbox_context(facts, draft)
            if p in plan.moved_passwords:  # P15: where its stored password went with the profile it had
                contexts.note_moved_password(ctx, facts, plan.moved_passwords[p])
            findings = check_mailbox(draft, ctx)
            if findings:
                _report(plan, p, findings)
            if plan.build_rows and p < len(plan.users) and not planned.existing[p] and not plan.has_errors:
                _keep_row(plan, p, draft)
    facts.judging = None
    facts.forget_prefetch()


def _report(plan, p: int, findings: list[Finding]) -> None:
    whole = plan.planned.get(p)  # its rows, edits and where each field came from
    for f in findings:
        if whole.section in ("users", "queues") and not whole.existing and f.is_error and f.field not in whole.edits:
            # As in create_user/create_queue: the new mailbox is made; what it lacks is a warning.
            # What the row itself sets (a method, the approval) must be valid.
            f = Finding(f.rule, f.field, Severity.WARNING, say("Its new mailbox: {reason}", reason=f.message))
        plan.add(*whole.origin(f.field), f)


def _keep_row(plan, p: int, draft: MailboxDraft) -> None:
    """A new user's mailbox, as judged, kept as the row write.py inserts (placeholder ids resolved then)."""
    try:
        cols = mailbox_columns(draft)
        if draft.password.new and plan.encrypt is None:
            plan.encrypt = plan.store.keyring.encrypter()
        cols["password_enc"] = plan.encrypt(draft.password.new) if draft.password.new else None
    except Exception:  # noqa: BLE001 (the write builds it again, and fails there as it always did)
        plan.build_rows = False
        return
    plan.planned.keep_row(p, cols)
