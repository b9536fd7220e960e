"""What a change does beyond itself: stale test results (M17), approval reset (M18),
new mailboxes for users and queues (U2, Q2), and the organisation defaults."""

from __future__ import annotations

from collections.abc import Callable

from ..i18n import say
from .fields import EMAIL, MAILBOX_FIELDS, PASSWORD
from .findings import Finding, Severity
from .options import ActMethod, ApprovalStatus, AuthMethod, IncomingMethod, MailboxKind, OutgoingMethod, TestStatus
from .records import MAILBOX_FIELD_LABELS, MailboxDraft, OrgSettings, PasswordEdit, QueueDraft, UserDraft
from .registry import SAVES, Record, Where, declare, rule
from .rule_common import ALLOWED_INCOMING, ALLOWED_OUTGOING
from .text import email_key

STATUS_FIELDS = ("incoming_status", "outgoing_status", "act_status")
# M17: which test results a changed field makes stale.
_STALE_BY_FIELD = {
    "email": STATUS_FIELDS,
    "profile_id": STATUS_FIELDS,
    "allow_credentials": STATUS_FIELDS,
    "username": STATUS_FIELDS,
    "password": STATUS_FIELDS,
    "incoming": ("incoming_status",),
    "outgoing": ("outgoing_status",),
    "act": ("act_status",),
}
_ENABLED_BY_STATUS = {
    "incoming_status": "enabled_incoming",
    "outgoing_status": "enabled_outgoing",
    "act_status": "enabled_act",
}


# What an admin changes on a mailbox: its form's fields, and its status (activate, deactivate).
_CHANGEABLE = tuple(f for f in MAILBOX_FIELDS if (f.editable and f.section) or f.name == "state")


def mailbox_changes(before: MailboxDraft, after: MailboxDraft) -> list[str]:
    """Changed fields, in declaration order; an email compares case-insensitively (a case-only edit
    is the same address), a password by whether one was typed or cleared."""
    out = []
    for f in _CHANGEABLE:
        a, b = getattr(before, f.name), getattr(after, f.name)
        if f.type == PASSWORD:
            changed = b.changed
        elif f.type == EMAIL:
            changed = email_changed(a, b)
        else:
            changed = a != b
        if changed:
            out.append(f.name)
    return out


def _stale_text() -> str:
    every = [MAILBOX_FIELD_LABELS[f] for f, statuses in _STALE_BY_FIELD.items() if statuses == STATUS_FIELDS]
    one = [MAILBOX_FIELD_LABELS[f] for f, statuses in _STALE_BY_FIELD.items() if len(statuses) == 1]
    return (f"Changing {', '.join(every[:-1])} or {every[-1]} returns all three test statuses to Not Run; "
            f"changing {', '.join(one[:-1])} or {one[-1]} returns that one's status. The enabled flags drop "
            "with them: run Test & Enable again. Saving a profile whose connection settings changed, or deleting "
            "a profile, does this to every mailbox that uses it.")


@rule("M17", "Test results go stale", _stale_text(), record=Record.MAILBOX, severity=(), where=SAVES,
      fields=tuple(_STALE_BY_FIELD))
def stale_statuses(changed: list[str]) -> dict[str, object]:
    """M17: the status fields to return to Not Run (and the enabled flags to drop)."""
    out: dict[str, object] = {}
    for name in changed:
        for status in _STALE_BY_FIELD.get(name, ()):
            out[status] = TestStatus.NOT_RUN
            out[_ENABLED_BY_STATUS[status]] = False
    return out


def email_changed(before: str, after: str) -> bool:
    return email_key(before or "") != email_key(after or "")


@rule("M18", "A new address needs approval again",
      "Changing the email address of a user or queue (or of its mailbox) sets its approval back to Pending "
      "Approval while the organisation requires approval for users (or for queues).",
      record=Record.MAILBOX, fields=("approval",), severity=(), where=SAVES)
def approval_after_email_change(kind: MailboxKind, org: OrgSettings, current: int) -> int:
    """M18: a user's or queue's new address needs approval again when the organisation asks."""
    if kind == MailboxKind.USER and org.approval_required_users:
        return ApprovalStatus.PENDING
    if kind == MailboxKind.QUEUE and org.approval_required_queues:
        return ApprovalStatus.PENDING
    return current


@rule("M18", record=Record.MAILBOX, fields=("approval",), severity=(), where=SAVES,
      note="a new user's or queue's mailbox starts as Pending Approval then, and as Empty otherwise")
def initial_approval(kind: MailboxKind, org: OrgSettings) -> int:
    if kind == MailboxKind.USER and org.approval_required_users:
        return ApprovalStatus.PENDING
    if kind == MailboxKind.QUEUE and org.approval_required_queues:
        return ApprovalStatus.PENDING
    return ApprovalStatus.EMPTY


@rule("U2", "A user's mailbox",
      "Creating a user (on the form or by import) creates its mailbox: its name is the user's full name, its "
      "email the user's, its owner and regarding record the user, its server profile and Incoming, Outgoing and "
      "ACT methods the organisation's defaults, and its approval as M18 says. Deleting a user deletes its "
      "mailbox; a user who owns queues or forward mailboxes cannot be deleted until they have another owner.",
      record=Record.USER, severity=(), where=SAVES)
def new_user_mailbox(user: UserDraft, org: OrgSettings) -> MailboxDraft:
    """U2: name and email from the user, owned by the user, profile and methods from defaults."""
    return MailboxDraft(
        kind=MailboxKind.USER,
        name=user.full_name.strip(),
        email=user.email.strip(),
        owner_id=user.id,
        regarding_id=user.id,
        profile_id=org.default_profile_id,
        incoming=org.default_incoming,
        outgoing=org.default_outgoing,
        act=org.default_act,
        state=user.state,
        approval=initial_approval(MailboxKind.USER, org),
    )


def user_mailbox_maker(org: OrgSettings) -> Callable[[str, str, int, int | None], MailboxDraft]:
    """new_user_mailbox for many users of one organisation (an import's): make(full name, email, state,
    user id) gives the same draft, copied from one made once (half the cost, which counts at 100,000)."""
    made = new_user_mailbox(UserDraft(), org).__dict__

    def make(full_name: str, email: str, state: int, user_id: int | None) -> MailboxDraft:
        draft = object.__new__(MailboxDraft)
        values = draft.__dict__
        values.update(made)
        values["name"], values["email"], values["state"] = full_name.strip(), email.strip(), state
        values["owner_id"] = values["regarding_id"] = user_id
        values["password"] = PasswordEdit()
        return draft

    return make


def new_forward_mailbox(owner_id: int | None, org: OrgSettings, profile_auth: int | None) -> MailboxDraft:
    """A forward mailbox as the form first shows it: the organisation's default profile, incoming by
    server-side sync, nothing outgoing (M13), messages deleted after processing. Allow to Use Credentials
    is Yes when that profile authenticates with the mailbox's own credentials (M10), so the new form
    asks only for what the admin must still fill in (its name, address, user name and password)."""
    return MailboxDraft(kind=MailboxKind.FORWARD, owner_id=owner_id, profile_id=org.default_profile_id,
                        incoming=IncomingMethod.SERVER_SIDE_SYNC, outgoing=OutgoingMethod.NONE, act=ActMethod.NONE,
                        delete_after_processing=True,
                        allow_credentials=profile_auth == AuthMethod.USER_OR_QUEUE_CREDENTIALS)


@rule("Q2", "A queue's mailbox",
      "Creating a queue (on the form or by import) creates its mailbox, owned by the queue's owner: its name and "
      "email are the queue's, its Incoming and Outgoing methods the queue's own, ACT None, its server profile "
      "the organisation's default, and its approval as M18 says. The owner, email and methods follow the queue "
      "when it is edited. Deleting a queue deletes its mailbox.",
      record=Record.QUEUE, severity=(), where=SAVES)
def new_queue_mailbox(queue: QueueDraft, org: OrgSettings) -> MailboxDraft:
    """Q2: the queue's mailbox, owned by the queue's owner; ACT is personal, so None."""
    return MailboxDraft(
        kind=MailboxKind.QUEUE,
        name=queue.name.strip(),
        email=queue.email.strip(),
        owner_id=queue.owner_id,
        regarding_id=queue.id,
        profile_id=org.default_profile_id,
        incoming=queue.incoming,
        outgoing=queue.outgoing,
        act=ActMethod.NONE,
        state=queue.state,
        approval=initial_approval(MailboxKind.QUEUE, org),
    )


def with_default_settings(draft: MailboxDraft, org: OrgSettings) -> MailboxDraft:
    """Apply Default Email Settings: the organisation's profile and methods.

    A forward mailbox keeps its fixed methods; a queue or forward mailbox keeps ACT = None
    (ACT is personal, M14).
    """
    out = draft.copy()
    if org.default_profile_id is not None or draft.kind != MailboxKind.FORWARD:
        out.profile_id = org.default_profile_id  # a forward mailbox always needs one (M11)
    if draft.kind == MailboxKind.USER:
        out.incoming, out.outgoing, out.act = org.default_incoming, org.default_outgoing, org.default_act
    elif draft.kind == MailboxKind.QUEUE:
        # Queues have no Outlook option (M12, M13): such a default leaves the queue's own method.
        if org.default_incoming in ALLOWED_INCOMING[MailboxKind.QUEUE]:
            out.incoming = org.default_incoming
        if org.default_outgoing in ALLOWED_OUTGOING[MailboxKind.QUEUE]:
            out.outgoing = org.default_outgoing
    return out


@rule("M4", "A user's or queue's mailbox has its address",
      "A user's or queue's mailbox has the user's or queue's email address: changing it on the mailbox changes "
      "the user or queue in the same transaction, and the reverse. The forms say so before saving.",
      record=Record.MAILBOX, fields=("email",), severity=(Severity.INFO,), where=Where.FORM)
@rule("M17", record=Record.MAILBOX, fields=("test_results",), severity=(Severity.INFO,), where=Where.FORM,
      note="the form says it before saving, when an earlier result would be lost")
def mailbox_edit_notices(before: MailboxDraft, after: MailboxDraft, org: OrgSettings) -> list[Finding]:
    """What saving this edit will also change, said before the admin saves (M4, M17, M18)."""
    out: list[Finding] = []
    if after.kind != MailboxKind.FORWARD and before.id is not None and email_changed(before.email, after.email):
        pending = approval_after_email_change(after.kind, org, after.approval) == ApprovalStatus.PENDING
        if after.kind == MailboxKind.USER:
            text = say("Saving also changes the user's email address (M4) and sets its approval back to Pending "
                       "Approval (M18).") if pending else say("Saving also changes the user's email address (M4).")
        else:
            text = say("Saving also changes the queue's email address (M4) and sets its approval back to Pending "
                       "Approval (M18).") if pending else say("Saving also changes the queue's email address (M4).")
        out.append(Finding("M4", "email", Severity.INFO, text))
    stale = [s for s in STATUS_FIELDS if s in stale_statuses(mailbox_changes(before, after))
             and getattr(before, s) != TestStatus.NOT_RUN]
    if stale:
        out.append(Finding("M17", "test_results", Severity.INFO,
                           say("Saving returns the earlier test results to Not Run: run Test & Enable again.")))
    return out


# M4 applied outside the domain: the store mirrors the address; the user form and an import say so.
declare("M4", record=Record.USER, fields=("email",), severity=(Severity.INFO,), where=Where.FORM,
        note="the user form says it before saving")
declare("M4", record=Record.MAILBOX, fields=("email",), severity=(Severity.ERROR,), where=Where.IMPORT,
        note="a row for a new user's or queue's mailbox cannot give it another address")
