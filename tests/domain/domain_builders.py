"""Valid drafts and contexts for the domain tests, and the assertions they share.

Every builder returns a draft that passes every rule; a test changes exactly one thing
(keyword arguments are applied with `copy`) and checks the one finding that follows.
"""

from __future__ import annotations

import re

from mailbox_tui.domain.context import MailboxContext, ProfileFacts, Stage
from mailbox_tui.domain.findings import Finding, Severity
from mailbox_tui.domain.options import (
    ActMethod,
    ApprovalStatus,
    AuthMethod,
    IncomingMethod,
    MailboxKind,
    OutgoingMethod,
    ServerType,
    TlsMode,
)
from mailbox_tui.domain.records import MailboxDraft, PasswordEdit, ProfileDraft, QueueDraft, UserDraft

ERROR, WARNING = Severity.ERROR, Severity.WARNING

PROFILE_ID = 1
EXCHANGE_PROFILE_ID = 2
ALICE_ID = 10  # the user; also the queue's owner
BOB_ID = 11
SUPPORT_QUEUE_ID = 20

IMAP_PROFILE = ProfileFacts(PROFILE_ID, "Corporate IMAP", ServerType.IMAP_SMTP, AuthMethod.USER_OR_QUEUE_CREDENTIALS)
POP3_PROFILE = ProfileFacts(PROFILE_ID, "Corporate POP3", ServerType.POP3_SMTP, AuthMethod.USER_OR_QUEUE_CREDENTIALS)
EXCHANGE_PROFILE = ProfileFacts(
    EXCHANGE_PROFILE_ID, "Corporate Exchange", ServerType.EXCHANGE, AuthMethod.USER_OR_QUEUE_CREDENTIALS
)
PROFILE_AUTH_PROFILE = ProfileFacts(PROFILE_ID, "Shared IMAP", ServerType.IMAP_SMTP, AuthMethod.PROFILE_CREDENTIALS)


def stored_password() -> PasswordEdit:
    return PasswordEdit(stored=True)


# ---------------------------------------------------------------- mailboxes


def user_mailbox(**changes) -> MailboxDraft:
    """Alice's mailbox: server-side sync in and out over the IMAP profile, her own credentials."""
    base = MailboxDraft(
        kind=MailboxKind.USER,
        name="Alice Berg",
        email="alice@example.com",
        owner_id=ALICE_ID,
        regarding_id=ALICE_ID,
        delete_after_processing=False,
        allow_credentials=True,
        username="alice@example.com",
        password=stored_password(),
        profile_id=PROFILE_ID,
        incoming=IncomingMethod.SERVER_SIDE_SYNC,
        outgoing=OutgoingMethod.SERVER_SIDE_SYNC,
        act=ActMethod.NONE,
        approval=ApprovalStatus.APPROVED,
    )
    return base.copy(**changes)


def queue_mailbox(**changes) -> MailboxDraft:
    """The Support queue's mailbox, owned by the queue's owner (Alice)."""
    base = MailboxDraft(
        kind=MailboxKind.QUEUE,
        name="Support",
        email="support@example.com",
        owner_id=ALICE_ID,
        regarding_id=SUPPORT_QUEUE_ID,
        delete_after_processing=True,
        allow_credentials=True,
        username="support@example.com",
        password=stored_password(),
        profile_id=PROFILE_ID,
        incoming=IncomingMethod.SERVER_SIDE_SYNC,
        outgoing=OutgoingMethod.SERVER_SIDE_SYNC,
        act=ActMethod.NONE,
        approval=ApprovalStatus.APPROVED,
    )
    return base.copy(**changes)


def forward_mailbox(**changes) -> MailboxDraft:
    """The organisation's forward mailbox: incoming server-side sync only, no regarding record."""
    base = MailboxDraft(
        kind=MailboxKind.FORWARD,
        name="Forward collector",
        email="forward@example.com",
        owner_id=ALICE_ID,
        regarding_id=None,
        delete_after_processing=True,
        allow_credentials=True,
        username="forward@example.com",
        password=stored_password(),
        profile_id=PROFILE_ID,
        incoming=IncomingMethod.SERVER_SIDE_SYNC,
        outgoing=OutgoingMethod.NONE,
        act=ActMethod.NONE,
    )
    return base.copy(**changes)


MAILBOX_BUILDERS = {
    MailboxKind.USER: user_mailbox,
    MailboxKind.QUEUE: queue_mailbox,
    MailboxKind.FORWARD: forward_mailbox,
}


def valid_mailbox(kind: MailboxKind, **changes) -> MailboxDraft:
    return MAILBOX_BUILDERS[kind](**changes)


def mailbox_context(**changes) -> MailboxContext:
    """The facts a valid mailbox sees: its IMAP profile exists, its owner and regarding exist."""
    values = dict(
        profile=IMAP_PROFILE,
        owner_exists=True,
        expected_owner_id=ALICE_ID,
        regarding_exists=True,
        same_email=(),
        active_forward_mailbox_exists=True,
        original=None,
        approval_required=False,
        stage=Stage.EDIT,
    )
    values.update(changes)
    return MailboxContext(**values)


# ---------------------------------------------------------------- profiles


def imap_profile(**changes) -> ProfileDraft:
    base = ProfileDraft(
        name="Corporate IMAP",
        server_type=ServerType.IMAP_SMTP,
        incoming_location="imap.example.com",
        incoming_port=993,
        incoming_tls=TlsMode.IMPLICIT,
        outgoing_location="smtp.example.com",
        outgoing_port=465,
        outgoing_tls=TlsMode.IMPLICIT,
        auth_method=AuthMethod.USER_OR_QUEUE_CREDENTIALS,
        outgoing_auth_method=AuthMethod.USER_OR_QUEUE_CREDENTIALS,
        use_same_settings_for_outgoing=True,
    )
    return base.copy(**changes)


def pop3_profile(**changes) -> ProfileDraft:
    return imap_profile(
        name="Corporate POP3", server_type=ServerType.POP3_SMTP, incoming_location="pop.example.com",
        incoming_port=995,
    ).copy(**changes)


def exchange_profile(**changes) -> ProfileDraft:
    base = ProfileDraft(
        name="Corporate Exchange",
        server_type=ServerType.EXCHANGE,
        auto_discover=False,
        incoming_location="https://mail.example.com/EWS/Exchange.asmx",
        incoming_port=443,
        incoming_tls=TlsMode.IMPLICIT,
        outgoing_location="https://mail.example.com/EWS/Exchange.asmx",
        outgoing_port=443,
        outgoing_tls=TlsMode.IMPLICIT,
        auth_method=AuthMethod.USER_OR_QUEUE_CREDENTIALS,
        outgoing_auth_method=AuthMethod.USER_OR_QUEUE_CREDENTIALS,
        use_same_settings_for_outgoing=True,
    )
    return base.copy(**changes)


# P14: what OAuth (7) needs, with a stored secret; and what Gmail OAuth (5) needs, with a stored key.
MICROSOFT_OAUTH = dict(oauth_client_id="3d9f1c2e-8a47-4b6d-b0e5-6f2a9c81d4e7",
                       oauth_client_secret=PasswordEdit(stored=True),
                       oauth_tenant_id="7f3c2a10-5b8e-4d6f-9a21-0c4e8b7d1f55",
                       oauth_scope="https://outlook.office365.com/.default")
GOOGLE_OAUTH = dict(oauth_service_account_key=PasswordEdit(stored=True), oauth_scope="https://mail.google.com/")


def oauth_settings(auth: int) -> dict:
    """The P14 settings a profile authenticating with `auth` needs (none for other methods)."""
    microsoft = (AuthMethod.OAUTH, AuthMethod.SERVER_TO_SERVER, AuthMethod.EXCHANGE_HYBRID_MODERN_AUTH)
    return MICROSOFT_OAUTH if auth in microsoft else {AuthMethod.GMAIL_OAUTH: GOOGLE_OAUTH}.get(auth, {})


def exchange_online_profile(**changes) -> ProfileDraft:
    return exchange_profile(
        name="Exchange Online", server_type=ServerType.EXCHANGE_ONLINE_HYBRID,
        incoming_location="https://graph.microsoft.com",
        outgoing_location="https://graph.microsoft.com",
        auth_method=AuthMethod.OAUTH, outgoing_auth_method=AuthMethod.OAUTH, **MICROSOFT_OAUTH,
    ).copy(**changes)


def valid_profile(server_type: int, **changes) -> ProfileDraft:
    """A valid profile of any server type (Exchange Online authenticates with OAuth)."""
    if server_type == ServerType.IMAP_SMTP:
        return imap_profile(**changes)
    if server_type == ServerType.POP3_SMTP:
        return pop3_profile(**changes)
    if server_type == ServerType.EXCHANGE_ONLINE_HYBRID:
        return exchange_online_profile(**changes)
    return exchange_profile(name=ServerType(server_type).label, server_type=server_type).copy(**changes)


# ---------------------------------------------------------------- users and queues


def valid_user(**changes) -> UserDraft:
    values = dict(full_name="Alice Berg", email="alice@example.com", id=ALICE_ID)
    values.update(changes)
    return UserDraft(**values)


def valid_queue(**changes) -> QueueDraft:
    values = dict(
        name="Support", email="support@example.com", owner_id=ALICE_ID,
        incoming=IncomingMethod.SERVER_SIDE_SYNC, outgoing=OutgoingMethod.SERVER_SIDE_SYNC, id=SUPPORT_QUEUE_ID,
    )
    values.update(changes)
    return QueueDraft(**values)


# ---------------------------------------------------------------- assertions

_RULE_PREFIX = re.compile(r"^\s*[MPUQA]\d+\b")


def assert_plain_sentence(message: str) -> None:
    """A message an admin reads: one line, starts like a sentence, ends with a full stop,
    no rule-ID prefix and no Python noise (reprs, enum names, None)."""
    assert message, "empty message"
    assert message == message.strip(), f"stray whitespace: {message!r}"
    assert "\n" not in message, f"more than one line: {message!r}"
    assert message[0].isupper() or message[0] in "'\"“", f"does not start like a sentence: {message!r}"
    assert message.endswith("."), f"does not end with a full stop: {message!r}"
    assert not _RULE_PREFIX.match(message), f"starts with a rule ID: {message!r}"
    for noise in ("<", "object at", "Traceback", "IncomingMethod.", "OutgoingMethod.", "ActMethod.",
                  "ServerType.", "AuthMethod.", "MailboxKind.", "TlsMode."):
        assert noise not in message, f"Python noise {noise!r} in {message!r}"


def assert_fires(findings: list[Finding], rule: str, field: str, severity: Severity, *,
                 alone: bool = True) -> Finding:
    """Exactly one finding of `rule`, on `field`, with `severity` and a plain-sentence message.

    With `alone` (the default), no other rule fired either: the test changed one thing.
    """
    mine = [f for f in findings if f.rule == rule]
    assert len(mine) == 1, f"expected one {rule} finding, got {findings!r}"
    finding = mine[0]
    assert finding.field == field, finding
    assert finding.severity is severity, finding
    assert finding.is_error is (severity is ERROR)
    assert_plain_sentence(finding.message)
    if alone:
        assert findings == [finding], f"other rules fired too: {findings!r}"
    return finding


def rules_of(findings: list[Finding]) -> list[str]:
    return [f.rule for f in findings]


def assert_quiet(findings: list[Finding], rule: str | None = None) -> None:
    """No findings at all, or (with `rule`) none of that rule."""
    if rule is None:
        assert findings == [], findings
    else:
        assert [f for f in findings if f.rule == rule] == [], findings
