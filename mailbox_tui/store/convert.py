"""Rows to drafts and drafts to column values. Passwords never leave as clear text here."""

from __future__ import annotations

from ..domain.options import MailboxKind
from ..domain.records import MailboxDraft, OrgSettings, PasswordEdit, ProfileDraft, QueueDraft, UserDraft
from ..domain.text import email_key, natural_key, normalise_email, normalise_pin
from .crypto import KeyRing
from .models import AppUser, EmailServerProfile, Mailbox, OrganizationSettings, Queue


def clean_email(text: str) -> str:
    """The stored form (M3): normalised by the validator (domain lowercased); '' when empty."""
    text = (text or "").strip()
    if not text:
        return ""
    normalised, _ = normalise_email(text)
    return normalised or text


def name_key(text: str) -> str:
    """The natural key of a queue, profile or forward mailbox name: NFC, then str.lower()."""
    return natural_key(text)


def password_column(keyring: KeyRing, edit: PasswordEdit, current: str | None) -> str | None:
    """The encrypted column after an edit: a new password, cleared, or the one on record."""
    if edit.new:
        return keyring.encrypt(edit.new)
    if edit.clear:
        return None
    return current


def mailbox_draft(row: Mailbox, key_ok: bool = True) -> MailboxDraft:
    kind = MailboxKind(row.kind)
    regarding = row.regarding_user_id if kind == MailboxKind.USER else row.regarding_queue_id
    return MailboxDraft(
        kind=kind,
        name=row.name,
        email=row.email,
        owner_id=row.owner_id,
        regarding_id=regarding,
        delete_after_processing=row.delete_after_processing,
        allow_credentials=row.allow_credentials,
        username=row.username,
        password=PasswordEdit(stored=row.password_enc is not None, readable=key_ok),
        profile_id=row.profile_id,
        incoming=row.incoming,
        outgoing=row.outgoing,
        act=row.act,
        state=row.state,
        approval=row.approval,
        incoming_status=row.incoming_status,
        outgoing_status=row.outgoing_status,
        act_status=row.act_status,
        test_completed_on=row.test_completed_on,
        enabled_incoming=row.enabled_incoming,
        enabled_outgoing=row.enabled_outgoing,
        enabled_act=row.enabled_act,
        id=row.id,
        version=row.version,
    )


def mailbox_columns(d: MailboxDraft) -> dict:
    """Editable columns of a mailbox draft (not the password, not test results)."""
    email = clean_email(d.email)
    return {
        "kind": int(d.kind),
        "name": d.name.strip(),
        "name_key": name_key(d.name),
        "email": email,
        "email_key": email_key(email),
        "owner": d.owner_id,
        "regarding_user": d.regarding_id if d.kind == MailboxKind.USER else None,
        "regarding_queue": d.regarding_id if d.kind == MailboxKind.QUEUE else None,
        "profile": d.profile_id,
        "delete_after_processing": d.delete_after_processing,
        "allow_credentials": d.allow_credentials,
        "username": d.username.strip(),
        "incoming": int(d.incoming),
        "outgoing": int(d.outgoing),
        "act": int(d.act),
        "approval": int(d.approval),
        "state": int(d.state),
    }


def profile_draft(row: EmailServerProfile, key_ok: bool = True) -> ProfileDraft:
    return ProfileDraft(
        name=row.name,
        server_type=row.server_type,
        auto_discover=row.auto_discover,
        incoming_location=row.incoming_location,
        incoming_port=row.incoming_port,
        incoming_tls=row.incoming_tls,
        outgoing_location=row.outgoing_location,
        outgoing_port=row.outgoing_port,
        outgoing_tls=row.outgoing_tls,
        auth_method=row.auth_method,
        outgoing_auth_method=row.outgoing_auth_method,
        use_same_settings_for_outgoing=row.use_same_settings_for_outgoing,
        username=row.username,
        password=PasswordEdit(stored=row.password_enc is not None, readable=key_ok),
        outgoing_username=row.outgoing_username,
        outgoing_password=PasswordEdit(stored=row.outgoing_password_enc is not None, readable=key_ok),
        max_concurrent_connections=row.max_concurrent_connections,
        min_polling_minutes=row.min_polling_minutes,
        timeout_seconds=row.timeout_seconds,
        incoming_cert_sha256=row.incoming_cert_sha256,
        outgoing_cert_sha256=row.outgoing_cert_sha256,
        state=row.state,
        id=row.id,
        version=row.version,
    )


def profile_columns(d: ProfileDraft) -> dict:
    return {
        "name": d.name.strip(),
        "name_key": name_key(d.name),
        "server_type": int(d.server_type),
        "auto_discover": d.auto_discover,
        "incoming_location": d.incoming_location.strip(),
        "incoming_port": d.incoming_port,
        "incoming_tls": int(d.incoming_tls),
        "outgoing_location": d.outgoing_location.strip(),
        "outgoing_port": d.outgoing_port,
        "outgoing_tls": int(d.outgoing_tls),
        "auth_method": int(d.auth_method),
        "outgoing_auth_method": int(d.outgoing_auth_method),
        "use_same_settings_for_outgoing": d.use_same_settings_for_outgoing,
        "username": d.username.strip(),
        "outgoing_username": d.outgoing_username.strip(),
        "max_concurrent_connections": d.max_concurrent_connections,
        "min_polling_minutes": d.min_polling_minutes,
        "timeout_seconds": d.timeout_seconds,
        "incoming_cert_sha256": normalise_pin(d.incoming_cert_sha256),  # P13: 64 hex digits, nothing else
        "outgoing_cert_sha256": normalise_pin(d.outgoing_cert_sha256),
        "state": int(d.state),
    }


def user_draft(row: AppUser) -> UserDraft:
    return UserDraft(full_name=row.full_name, email=row.email, state=row.state, id=row.id, version=row.version)


def user_columns(d: UserDraft) -> dict:
    email = clean_email(d.email)
    return {"full_name": d.full_name.strip(), "email": email, "email_key": email_key(email), "state": int(d.state)}


def queue_draft(row: Queue, mailbox: Mailbox | None) -> QueueDraft:
    return QueueDraft(
        name=row.name, email=row.email, owner_id=row.owner_id,
        incoming=mailbox.incoming if mailbox else 0, outgoing=mailbox.outgoing if mailbox else 0,
        state=row.state, id=row.id, version=row.version,
    )


def queue_columns(d: QueueDraft) -> dict:
    email = clean_email(d.email)
    return {"name": d.name.strip(), "name_key": name_key(d.name), "email": email, "email_key": email_key(email),
            "owner": d.owner_id, "state": int(d.state)}


def org_draft(row: OrganizationSettings) -> OrgSettings:
    return OrgSettings(
        default_profile_id=row.default_profile_id,
        default_incoming=row.default_incoming,
        default_outgoing=row.default_outgoing,
        default_act=row.default_act,
        approval_required_users=row.approval_required_users,
        approval_required_queues=row.approval_required_queues,
        version=row.version,
    )
