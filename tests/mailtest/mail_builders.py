"""Profiles and mailboxes that point at the real test servers (tests/support/mailservers.py)."""

from __future__ import annotations

from support import builders
from support.mailservers import MAIL_USERS

from mailbox_tui.domain.options import ServerType, TlsMode
from mailbox_tui.domain.records import OrgSettings, PasswordEdit
from mailbox_tui.store import services

HOST = "127.0.0.1"


def incoming_port(dovecot, server_type: int, tls: int) -> int:
    if server_type == ServerType.POP3_SMTP:
        return dovecot.pop3s if tls == TlsMode.IMPLICIT else dovecot.pop3
    return dovecot.imaps if tls == TlsMode.IMPLICIT else dovecot.imap


def outgoing_port(smtp, tls: int) -> int:
    return {TlsMode.NONE: smtp.plain, TlsMode.STARTTLS: smtp.starttls, TlsMode.IMPLICIT: smtp.implicit}[tls]


def server_profile(store, dovecot, smtp, name="Test IMAP", server_type=ServerType.IMAP_SMTP,
                   incoming_tls=TlsMode.IMPLICIT, outgoing_tls=TlsMode.STARTTLS, **changes):
    """A profile on the local dovecot and aiosmtpd."""
    values = dict(server_type=server_type, incoming_location=HOST, outgoing_location=HOST,
                  incoming_tls=incoming_tls, outgoing_tls=outgoing_tls,
                  incoming_port=incoming_port(dovecot, server_type, incoming_tls),
                  outgoing_port=outgoing_port(smtp, outgoing_tls), timeout_seconds=5,
                  max_concurrent_connections=10)
    values.update(changes)
    return builders.imap_profile(store, name, **values)


def approve_all(store) -> None:
    """The organisation no longer requires approval (A2 off), so user mailboxes can be enabled."""
    org = services.org_settings(store)
    services.update_org_settings(store, org, OrgSettings(
        default_profile_id=org.default_profile_id, default_incoming=org.default_incoming,
        default_outgoing=org.default_outgoing, default_act=org.default_act,
        approval_required_users=False, approval_required_queues=False, version=org.version))


def user_mailbox(store, profile_id, email="alice@example.com", name=None, login=None, password=None,
                 incoming=2, outgoing=2, act=2, approve=True, allow_credentials=True):
    """A user and its mailbox set up for server-side sync with the given login (default: its address)."""
    login = login or email
    password = MAIL_USERS.get(login, "x") if password is None else password
    _, mailbox = builders.user(store, name or email.split("@")[0].title(), email)
    edited = mailbox.copy(profile_id=profile_id, incoming=incoming, outgoing=outgoing, act=act,
                          allow_credentials=allow_credentials, username=login if allow_credentials else "",
                          password=PasswordEdit(stored=False, new=password if allow_credentials else None))
    saved = services.update_mailbox(store, mailbox, edited)
    if approve:
        services.set_approval(store, [saved.id], True)
    return services.get_mailbox(store, saved.id)


def forward_mailbox(store, owner_id, profile_id, password=None, email="forward@example.com"):
    draft = builders.forward_draft(owner_id, profile_id, email=email, username=email,
                                   password=PasswordEdit(new=password or MAIL_USERS[email]))
    return services.create_forward_mailbox(store, draft)


def status_names(store, mailbox_id) -> tuple[int, int, int]:
    d = services.get_mailbox(store, mailbox_id)
    return d.incoming_status, d.outgoing_status, d.act_status
