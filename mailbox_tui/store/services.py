"""The only way to write: each service runs the rules, then writes in one transaction.

Every update takes the record as it was read (`base`, carrying its version) and the edited
draft; if someone else saved in between, ConflictError names what they changed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ..domain.context import EmailUse, MailboxContext, ProfileContext, ProfileFacts, QueueContext, Stage, UserContext
from ..domain.effects import (
    approval_after_email_change,
    email_changed,
    mailbox_changes,
    new_queue_mailbox,
    new_user_mailbox,
    stale_statuses,
    with_default_settings,
)
from ..domain.findings import Finding, RuleViolation, errors
from ..domain.options import ApprovalStatus, IncomingMethod, MailboxKind, RecordState, TestStatus
from ..domain.records import MailboxDraft, OrgSettings, ProfileDraft, QueueDraft, UserDraft, changed_fields
from ..domain.rules import (
    check_mailbox,
    check_org_settings,
    check_profile,
    check_queue,
    check_state,
    check_user,
    normalise_profile,
)
from ..domain.text import email_key, normalise_email
from .convert import (
    mailbox_columns,
    mailbox_draft,
    name_key,
    org_draft,
    password_column,
    profile_columns,
    profile_draft,
    queue_columns,
    queue_draft,
    user_columns,
    user_draft,
)
from .database import ConflictError, Store, StoreError
from .models import AppUser, EmailServerProfile, Mailbox, OrganizationSettings, Queue, utcnow

log = logging.getLogger(__name__)


class NotFound(StoreError):
    pass


def _refuse_on_errors(findings: list[Finding]) -> list[Finding]:
    if errors(findings):
        raise RuleViolation(findings)
    return findings


def _guarded_update(model, row_id: int, version: int, values: dict, record: str, reload) -> int:
    """UPDATE … WHERE id AND version; 0 rows changed is a conflict. Returns the new version."""
    values = dict(values, version=version + 1)
    if hasattr(model, "modified_on"):
        values["modified_on"] = utcnow()
    changed = model.update(**values).where(model.id == row_id, model.version == version).execute()
    if changed == 0:
        raise ConflictError(record, reload())
    return version + 1


# ---------------------------------------------------------------- organisation


def org_settings(store: Store) -> OrgSettings:
    return org_draft(OrganizationSettings.get_by_id(1))


def validate_org_settings(store: Store, d: OrgSettings) -> list[Finding]:
    profile = EmailServerProfile.get_or_none(id=d.default_profile_id) if d.default_profile_id else True
    return check_org_settings(d, profile)


def update_org_settings(store: Store, base: OrgSettings, new: OrgSettings) -> OrgSettings:
    with store.transaction():
        _refuse_on_errors(validate_org_settings(store, new))
        values = {
            "default_profile": new.default_profile_id,
            "default_incoming": new.default_incoming,
            "default_outgoing": new.default_outgoing,
            "default_act": new.default_act,
            "approval_required_users": new.approval_required_users,
            "approval_required_queues": new.approval_required_queues,
        }
        _guarded_update(OrganizationSettings, 1, base.version, values, "Email Settings",
                        lambda: changed_fields(base, org_settings(store)))
        return org_settings(store)


# ---------------------------------------------------------------- mailboxes


def get_mailbox(store: Store, mailbox_id: int) -> MailboxDraft:
    row = Mailbox.get_or_none(Mailbox.id == mailbox_id)
    if row is None:
        raise NotFound(f"Mailbox {mailbox_id} does not exist (it may have been deleted).")
    return mailbox_draft(row, store.key_ok)


def profile_facts(profile_id: int | None) -> ProfileFacts | None:
    if profile_id is None:
        return None
    p = EmailServerProfile.get_or_none(EmailServerProfile.id == profile_id)
    if p is None:
        return None
    return ProfileFacts(p.id, p.name, p.server_type, p.auth_method, p.state == RecordState.ACTIVE)


def mailbox_context(store: Store, d: MailboxDraft, stage: Stage = Stage.EDIT,
                    original: MailboxDraft | None = None) -> MailboxContext:
    """Everything outside the draft that its rules need, read from the database."""
    ctx = MailboxContext(stage=stage, original=original, profile=profile_facts(d.profile_id))
    if d.owner_id is not None:
        ctx.owner_exists = AppUser.select().where(AppUser.id == d.owner_id).exists()
    if d.kind == MailboxKind.USER:
        ctx.expected_owner_id = d.regarding_id
        ctx.regarding_exists = d.regarding_id is not None and AppUser.select().where(AppUser.id == d.regarding_id).exists()
    elif d.kind == MailboxKind.QUEUE:
        q = Queue.get_or_none(Queue.id == d.regarding_id) if d.regarding_id is not None else None
        ctx.regarding_exists = q is not None
        ctx.expected_owner_id = q.owner_id if q else None
    normalised, _ = normalise_email(d.email.strip()) if d.email.strip() else (None, None)
    if normalised:
        others = (Mailbox.select(Mailbox.name, Mailbox.enabled_incoming)
                  .where(Mailbox.email_key == email_key(normalised), Mailbox.id != (d.id or 0))
                  .order_by(Mailbox.name_key).limit(10))
        ctx.same_email = tuple(EmailUse(m.name, m.enabled_incoming) for m in others)
    if d.incoming == IncomingMethod.FORWARD_MAILBOX:
        ctx.active_forward_mailbox_exists = (Mailbox.select().where(
            Mailbox.kind == MailboxKind.FORWARD, Mailbox.state == RecordState.ACTIVE).exists())
    if stage == Stage.TEST:
        org = org_settings(store)
        ctx.approval_required = (org.approval_required_users if d.kind == MailboxKind.USER
                                 else org.approval_required_queues if d.kind == MailboxKind.QUEUE else False)
    return ctx


def validate_mailbox(store: Store, d: MailboxDraft, stage: Stage = Stage.EDIT,
                     original: MailboxDraft | None = None) -> list[Finding]:
    """The findings a form shows live; the same ones a save acts on. A form passes the record as
    it read it (`original`), so a keystroke does not read it again."""
    if original is None and d.id is not None and stage == Stage.EDIT:
        original = get_mailbox(store, d.id)
    return check_mailbox(d, mailbox_context(store, d, stage, original))


def user_id_for_email(text: str) -> int | None:
    """The user an owner field names by email: None when blank, 0 when no user has it (M2/Q1 say so)."""
    text = text.strip()
    if not text:
        return None
    row = AppUser.select(AppUser.id).where(AppUser.email_key == email_key(text)).first()
    return row.id if row else 0


def create_forward_mailbox(store: Store, d: MailboxDraft) -> MailboxDraft:
    if d.kind != MailboxKind.FORWARD or d.id is not None:
        raise StoreError("Only forward mailboxes are created directly; user and queue mailboxes come with their record.")
    with store.transaction():
        _refuse_on_errors(check_mailbox(d, mailbox_context(store, d)))
        row = Mailbox.create(**mailbox_columns(d), password_enc=password_column(store.keyring, d.password, None))
        log.info("forward mailbox %s created", row.id)
        return mailbox_draft(row, store.key_ok)


def update_mailbox(store: Store, base: MailboxDraft, new: MailboxDraft) -> MailboxDraft:
    """Save an edited mailbox: M4 email to its user/queue, M17 stale results, M18 approval."""
    with store.transaction():
        current = get_mailbox(store, base.id)
        if current.version != base.version:
            raise ConflictError(f"Mailbox {current.name!r}", changed_fields(base, current))
        _refuse_on_errors(check_mailbox(new, mailbox_context(store, new, Stage.EDIT, current)))
        changed = mailbox_changes(current, new)
        values = mailbox_columns(new)
        values.update(stale_statuses(changed))
        if values["email"] != current.email:  # M4, even a change of case only
            values.update(_mirror_email_to_record(store, current, new))
        row = Mailbox.get_by_id(base.id)
        values["password_enc"] = password_column(store.keyring, new.password, row.password_enc)
        _guarded_update(Mailbox, base.id, base.version, values, f"Mailbox {current.name!r}",
                        lambda: changed_fields(base, get_mailbox(store, base.id)))
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
        _refuse_on_errors(check_user(draft, _user_context(draft)))
        _guarded_update(AppUser, user.id, user.version, {"email": cols["email"], "email_key": cols["email_key"]},
                        f"User {user.full_name!r}", lambda: ["email"])
    else:
        queue = Queue.get_by_id(new.regarding_id)
        _guarded_update(Queue, queue.id, queue.version, {"email": cols["email"], "email_key": cols["email_key"]},
                        f"Queue {queue.name!r}", lambda: ["email"])
    if not email_changed(current.email, new.email):
        return {}
    return {"approval": approval_after_email_change(new.kind, org, new.approval)}


def delete_mailbox(store: Store, mailbox_id: int) -> None:
    with store.transaction():
        d = get_mailbox(store, mailbox_id)
        if d.kind != MailboxKind.FORWARD:
            raise StoreError(f"{d.name!r} is a {d.kind.label.lower()} mailbox: it goes when its "
                             f"{d.kind.label.lower()} is deleted.")
        Mailbox.delete().where(Mailbox.id == mailbox_id).execute()
        log.info("forward mailbox %s deleted", mailbox_id)


def set_mailbox_state(store: Store, mailbox_ids: list[int], state: int) -> int:
    _refuse_on_errors(list(check_state(state)))  # R1
    with store.transaction():
        return (Mailbox.update(state=int(state), version=Mailbox.version + 1, modified_on=utcnow())
                .where(Mailbox.id.in_(mailbox_ids), Mailbox.state != int(state)).execute())


def set_approval(store: Store, mailbox_ids: list[int], approved: bool) -> int:
    """A1: Approve Email / Reject Email. A forward mailbox has no approval to give."""
    status = ApprovalStatus.APPROVED if approved else ApprovalStatus.REJECTED
    with store.transaction():
        return (Mailbox.update(approval=int(status), version=Mailbox.version + 1, modified_on=utcnow())
                .where(Mailbox.id.in_(mailbox_ids), Mailbox.kind != MailboxKind.FORWARD).execute())


@dataclass
class DefaultsPreview:
    mailbox_id: int
    name: str
    changes: list[tuple[str, object, object]]  # field, old, new
    findings: list[Finding]


def preview_default_settings(store: Store, mailbox_ids: list[int]) -> list[DefaultsPreview]:
    org = org_settings(store)
    out = []
    for row in Mailbox.select().where(Mailbox.id.in_(mailbox_ids)).order_by(Mailbox.name_key):
        d = mailbox_draft(row, store.key_ok)
        new = with_default_settings(d, org)
        changes = [(f, getattr(d, f), getattr(new, f)) for f in ("profile_id", "incoming", "outgoing", "act")
                   if getattr(d, f) != getattr(new, f)]
        findings = check_mailbox(new, mailbox_context(store, new, Stage.EDIT, d))
        out.append(DefaultsPreview(d.id, d.name, changes, findings))
    return out


def apply_default_settings(store: Store, mailbox_ids: list[int]) -> int:
    """Apply Default Email Settings in one transaction; any mailbox in error refuses all."""
    org = org_settings(store)
    with store.transaction():
        previews = preview_default_settings(store, mailbox_ids)
        bad = [f for p in previews for f in errors(p.findings)]
        if bad:
            raise RuleViolation(bad)
        count = 0
        for p in previews:
            if not p.changes:
                continue
            base = get_mailbox(store, p.mailbox_id)
            update_mailbox(store, base, with_default_settings(base, org))
            count += 1
        return count


# ---------------------------------------------------------------- users


def _user_context(d: UserDraft) -> UserContext:
    normalised, _ = normalise_email(d.email.strip()) if d.email.strip() else (None, None)
    taken = False
    if normalised:
        taken = AppUser.select().where(AppUser.email_key == email_key(normalised), AppUser.id != (d.id or 0)).exists()
    return UserContext(email_taken=taken)


def validate_user(store: Store, d: UserDraft) -> list[Finding]:
    return check_user(d, _user_context(d))


def get_user(store: Store, user_id: int) -> UserDraft:
    row = AppUser.get_or_none(AppUser.id == user_id)
    if row is None:
        raise NotFound(f"User {user_id} does not exist.")
    return user_draft(row)


def user_mailbox_id(user_id: int) -> int | None:
    row = Mailbox.select(Mailbox.id).where(Mailbox.regarding_user == user_id).first()
    return row.id if row else None


def create_user(store: Store, d: UserDraft) -> tuple[UserDraft, MailboxDraft, list[Finding]]:
    """U1, then U2: the user's mailbox with the organisation defaults, in one transaction.

    The new mailbox is created even when it needs more settings (say, credentials for M10):
    what it still lacks comes back as findings, as `mailbox-tui check` and the form show them."""
    with store.transaction():
        _refuse_on_errors(check_user(d, _user_context(d)))
        row = AppUser.create(**user_columns(d))
        user = user_draft(row)
        mailbox = new_user_mailbox(user, org_settings(store))
        mailbox.email = row.email
        findings = check_mailbox(mailbox, mailbox_context(store, mailbox))
        mrow = Mailbox.create(**mailbox_columns(mailbox))
        log.info("user %s created with mailbox %s", row.id, mrow.id)
        return user, mailbox_draft(mrow, store.key_ok), findings


def update_user(store: Store, base: UserDraft, new: UserDraft) -> UserDraft:
    """U1; a new email goes to the mailbox too (M4) and resets approval (M18, M17)."""
    with store.transaction():
        current = get_user(store, base.id)
        if current.version != base.version:
            raise ConflictError(f"User {current.full_name!r}", changed_fields(base, current))
        _refuse_on_errors(check_user(new, _user_context(new)))
        cols = user_columns(new)
        _guarded_update(AppUser, base.id, base.version, cols, f"User {current.full_name!r}",
                        lambda: changed_fields(base, get_user(store, base.id)))
        if email_changed(current.email, new.email) or current.email != cols["email"]:
            mid = user_mailbox_id(base.id)
            if mid is not None:
                mbox = get_mailbox(store, mid)
                values = {"email": cols["email"], "email_key": cols["email_key"],
                          "approval": approval_after_email_change(MailboxKind.USER, org_settings(store), mbox.approval)}
                values.update(stale_statuses(["email"]))
                _guarded_update(Mailbox, mid, mbox.version, values, f"Mailbox {mbox.name!r}", lambda: ["email"])
        return get_user(store, base.id)


def delete_user(store: Store, user_id: int) -> None:
    """Deleting a user deletes its mailbox; queues and forward mailboxes it owns must move first."""
    with store.transaction():
        user = get_user(store, user_id)
        queues = Queue.select().where(Queue.owner == user_id).count()
        forwards = Mailbox.select().where(Mailbox.owner == user_id, Mailbox.kind == MailboxKind.FORWARD).count()
        if queues or forwards:
            parts = [f"{queues} queue(s)" if queues else "", f"{forwards} forward mailbox(es)" if forwards else ""]
            raise StoreError(f"{user.full_name} owns {' and '.join(p for p in parts if p)}: "
                             "give them another owner first.")
        Mailbox.delete().where(Mailbox.regarding_user == user_id).execute()
        AppUser.delete().where(AppUser.id == user_id).execute()
        log.info("user %s and its mailbox deleted", user_id)


# ---------------------------------------------------------------- queues


def queue_context(d: QueueDraft) -> QueueContext:
    ctx = QueueContext()
    if d.owner_id is not None:
        ctx.owner_exists = AppUser.select().where(AppUser.id == d.owner_id).exists()
    if d.name.strip():
        ctx.name_taken = Queue.select().where(Queue.name_key == name_key(d.name), Queue.id != (d.id or 0)).exists()
    return ctx


def validate_queue(store: Store, d: QueueDraft) -> list[Finding]:
    return check_queue(d, queue_context(d))


def queue_mailbox(queue_id: int) -> Mailbox | None:
    return Mailbox.get_or_none(Mailbox.regarding_queue == queue_id)


def get_queue(store: Store, queue_id: int) -> QueueDraft:
    row = Queue.get_or_none(Queue.id == queue_id)
    if row is None:
        raise NotFound(f"Queue {queue_id} does not exist.")
    return queue_draft(row, queue_mailbox(queue_id))


def create_queue(store: Store, d: QueueDraft) -> tuple[QueueDraft, MailboxDraft, list[Finding]]:
    """Q1, then Q2: its mailbox, owned by the queue's owner (what it still lacks comes back as findings)."""
    with store.transaction():
        _refuse_on_errors(check_queue(d, queue_context(d)))
        row = Queue.create(**queue_columns(d))
        queue = queue_draft(row, None)
        queue.incoming, queue.outgoing = d.incoming, d.outgoing
        mailbox = new_queue_mailbox(queue, org_settings(store))
        mailbox.email = row.email
        findings = check_mailbox(mailbox, mailbox_context(store, mailbox))
        mrow = Mailbox.create(**mailbox_columns(mailbox))
        return get_queue(store, row.id), mailbox_draft(mrow, store.key_ok), findings


def update_queue(store: Store, base: QueueDraft, new: QueueDraft) -> QueueDraft:
    """Q1; owner, email and methods follow to the queue's mailbox (M2, M4, M17, M18)."""
    with store.transaction():
        current = get_queue(store, base.id)
        if current.version != base.version:
            raise ConflictError(f"Queue {current.name!r}", changed_fields(base, current))
        _refuse_on_errors(check_queue(new, queue_context(new)))
        cols = queue_columns(new)
        _guarded_update(Queue, base.id, base.version, cols, f"Queue {current.name!r}",
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
            _guarded_update(Mailbox, mbox.id, mbox.version, values, f"Mailbox {mbox.name!r}", lambda: changed)
        return get_queue(store, base.id)


def delete_queue(store: Store, queue_id: int) -> None:
    with store.transaction():
        get_queue(store, queue_id)
        Mailbox.delete().where(Mailbox.regarding_queue == queue_id).execute()
        Queue.delete().where(Queue.id == queue_id).execute()


# ---------------------------------------------------------------- profiles


def _profile_context(d: ProfileDraft) -> ProfileContext:
    taken = bool(d.name.strip()) and EmailServerProfile.select().where(
        EmailServerProfile.name_key == name_key(d.name), EmailServerProfile.id != (d.id or 0)).exists()
    return ProfileContext(name_taken=taken)


def validate_profile(store: Store, d: ProfileDraft) -> list[Finding]:
    return check_profile(d, _profile_context(d))


def get_profile(store: Store, profile_id: int) -> ProfileDraft:
    row = EmailServerProfile.get_or_none(EmailServerProfile.id == profile_id)
    if row is None:
        raise NotFound(f"Server profile {profile_id} does not exist.")
    return profile_draft(row, store.key_ok)


def _profile_secrets(store: Store, d: ProfileDraft, row: EmailServerProfile | None) -> dict:
    return {
        "password_enc": password_column(store.keyring, d.password, row.password_enc if row else None),
        "outgoing_password_enc": password_column(store.keyring, d.outgoing_password,
                                                 row.outgoing_password_enc if row else None),
    }


def create_profile(store: Store, d: ProfileDraft) -> ProfileDraft:
    with store.transaction():
        d = normalise_profile(d)
        _refuse_on_errors(check_profile(d, _profile_context(d)))
        row = EmailServerProfile.create(**profile_columns(d), **_profile_secrets(store, d, None))
        return profile_draft(row, store.key_ok)


def update_profile(store: Store, base: ProfileDraft, new: ProfileDraft) -> ProfileDraft:
    """P1–P10. A changed connection makes its mailboxes' test results stale (M17)."""
    with store.transaction():
        current = get_profile(store, base.id)
        if current.version != base.version:
            raise ConflictError(f"Server profile {current.name!r}", changed_fields(base, current))
        new = normalise_profile(new)
        _refuse_on_errors(check_profile(new, _profile_context(new)))
        row = EmailServerProfile.get_by_id(base.id)
        values = dict(profile_columns(new), **_profile_secrets(store, new, row))
        connection = [k for k in values if k not in ("name", "name_key", "state", "max_concurrent_connections",
                                                     "min_polling_minutes") and getattr(row, k) != values[k]]
        _guarded_update(EmailServerProfile, base.id, base.version, values, f"Server profile {current.name!r}",
                        lambda: changed_fields(base, get_profile(store, base.id)))
        if connection:
            (Mailbox.update(**stale_statuses(["profile_id"]), version=Mailbox.version + 1, modified_on=utcnow())
             .where(Mailbox.profile == base.id).execute())
        return get_profile(store, base.id)


def profile_usage(profile_id: int) -> int:
    return Mailbox.select().where(Mailbox.profile == profile_id).count()


def delete_profile(store: Store, profile_id: int) -> int:
    """P11: clears the profile from its mailboxes (their results go stale, M17). Returns how many."""
    with store.transaction():
        get_profile(store, profile_id)
        count = (Mailbox.update(profile=None, **stale_statuses(["profile_id"]), version=Mailbox.version + 1,
                                modified_on=utcnow())
                 .where(Mailbox.profile == profile_id).execute())
        OrganizationSettings.update(default_profile=None).where(
            OrganizationSettings.default_profile == profile_id).execute()
        EmailServerProfile.delete().where(EmailServerProfile.id == profile_id).execute()
        log.info("server profile %s deleted; cleared from %s mailboxes", profile_id, count)
        return count


# ---------------------------------------------------------------- secrets (for Test & Enable)


def profile_credentials(store: Store, profile: EmailServerProfile, outgoing: bool) -> tuple[str, str]:
    """(user name, clear password) the profile itself signs in with, for one direction (P6, P7).

    For a connection test only. Raises SecretUnreadable on a wrong key."""
    separate = outgoing and not profile.use_same_settings_for_outgoing
    username = profile.outgoing_username if separate else profile.username
    token = profile.outgoing_password_enc if separate else profile.password_enc
    return username.strip(), store.keyring.decrypt(token) if token else ""


def mailbox_password(store: Store, mailbox_id: int) -> str | None:
    """The clear password, for a connection test only. Raises SecretUnreadable on a wrong key."""
    row = Mailbox.select(Mailbox.password_enc).where(Mailbox.id == mailbox_id).first()
    return store.keyring.decrypt(row.password_enc) if row and row.password_enc else None




# ---------------------------------------------------------------- Test & Enable results


@dataclass
class AlertDraft:
    level: str  # error, warning, info
    step: str
    message: str


def record_test_results(store: Store, mailbox_id: int, statuses: dict[str, int],
                        alerts: list[AlertDraft], completed_on=None, *, tested_version: int | None = None,
                        tested_profile: tuple[int, int] | None = None) -> bool:
    """Write what Test & Enable found: the statuses, when, the enabled flags, and its alerts.

    Only Test & Enable calls this. Earlier alerts stay as history. With `tested_version` (the
    mailbox's version the test read) and `tested_profile` (the profile's id and version), nothing
    is written when either changed since: those results belong to a configuration that no longer
    exists. Returns whether it wrote; raises NotFound when the mailbox is gone."""
    from .models import MailboxAlert

    completed_on = completed_on or utcnow()
    values = {name: int(statuses[name]) for name in ("incoming_status", "outgoing_status", "act_status")
              if name in statuses}
    for status, flag in (("incoming_status", "enabled_incoming"), ("outgoing_status", "enabled_outgoing"),
                         ("act_status", "enabled_act")):
        if status in values:
            values[flag] = values[status] == TestStatus.SUCCESS
    with store.transaction():
        if tested_profile is not None and not EmailServerProfile.select().where(
                EmailServerProfile.id == tested_profile[0], EmailServerProfile.version == tested_profile[1]).exists():
            changed = 0
        else:
            update = Mailbox.update(**values, test_completed_on=completed_on, version=Mailbox.version + 1,
                                    modified_on=utcnow()).where(Mailbox.id == mailbox_id)
            if tested_version is not None:
                update = update.where(Mailbox.version == tested_version)
            changed = update.execute()
        if not changed:
            if not Mailbox.select().where(Mailbox.id == mailbox_id).exists():
                raise NotFound(f"Mailbox {mailbox_id} does not exist (it may have been deleted).")
            return False
        for alert in alerts:
            MailboxAlert.create(mailbox=mailbox_id, created_on=completed_on, level=alert.level, step=alert.step,
                                message=alert.message)
        return True
