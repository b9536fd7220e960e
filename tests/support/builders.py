"""Small builders for store tests: a profile, users, a forward mailbox, through the services."""

from __future__ import annotations

from mailbox_tui.domain.options import AuthMethod, MailboxKind, ServerType, TlsMode
from mailbox_tui.domain.records import MailboxDraft, PasswordEdit, ProfileDraft, UserDraft
from mailbox_tui.store import services


def imap_profile(store, name="Corporate IMAP", **changes):
    draft = ProfileDraft(name=name, server_type=ServerType.IMAP_SMTP, incoming_location="imap.example.com",
                         outgoing_location="smtp.example.com", incoming_tls=TlsMode.IMPLICIT,
                         outgoing_tls=TlsMode.IMPLICIT, auth_method=AuthMethod.USER_OR_QUEUE_CREDENTIALS)
    for key, value in changes.items():
        setattr(draft, key, value)
    return services.create_profile(store, draft)


def user(store, name="Alice Berg", email="alice@example.com"):
    """A user and its auto-created mailbox."""
    created, mailbox, _ = services.create_user(store, UserDraft(full_name=name, email=email))
    return created, mailbox


def forward_draft(owner_id, profile_id, **changes) -> MailboxDraft:
    draft = MailboxDraft(kind=MailboxKind.FORWARD, name="Forward collector", email="forward@example.com",
                         owner_id=owner_id, profile_id=profile_id, incoming=2, outgoing=0, act=2,
                         delete_after_processing=True, allow_credentials=True, username="forward@example.com",
                         password=PasswordEdit(new="s3cret-forward"))
    for key, value in changes.items():
        setattr(draft, key, value)
    return draft
