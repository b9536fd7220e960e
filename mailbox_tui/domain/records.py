"""Records as plain data: the drafts that forms edit, rules judge and the store saves."""

from __future__ import annotations

import copy as _copy
from dataclasses import dataclass, field, fields
from datetime import datetime

from .fields import MAILBOX_FIELDS, form_fields, labels
from .options import (
    ActMethod,
    ApprovalStatus,
    AuthMethod,
    IncomingMethod,
    MailboxKind,
    OutgoingMethod,
    ProcessingState,
    RecordState,
    ServerType,
    TestStatus,
    TlsMode,
)


@dataclass
class PasswordEdit:
    """A write-only password: what is on record, and what the admin typed.

    The typed value never appears in repr(), so it cannot leak into a log or a traceback.
    """

    stored: bool = False
    new: str | None = field(default=None, repr=False)
    clear: bool = False
    readable: bool = True  # False when stored but the key cannot decrypt it

    @property
    def present(self) -> bool:
        """Whether a password will be on record after saving (M9: a stored one counts)."""
        if self.new:
            return True
        return self.stored and not self.clear

    @property
    def changed(self) -> bool:
        return bool(self.new) or (self.clear and self.stored)

    def __repr__(self) -> str:
        typed = "typed" if self.new else "none typed"
        return f"PasswordEdit(stored={self.stored}, {typed}, clear={self.clear})"


@dataclass
class MailboxDraft:
    kind: MailboxKind
    name: str = ""
    email: str = ""
    owner_id: int | None = None
    regarding_id: int | None = None  # the user's or queue's id, per kind
    delete_after_processing: bool = False
    allow_credentials: bool = False
    username: str = ""
    password: PasswordEdit = field(default_factory=PasswordEdit)
    profile_id: int | None = None
    incoming: int = IncomingMethod.NONE
    outgoing: int = OutgoingMethod.NONE
    act: int = ActMethod.NONE
    process_after: datetime | None = None  # M19, UTC
    state: int = RecordState.ACTIVE
    approval: int = ApprovalStatus.EMPTY
    # Configuration Test Results: written only by Test & Enable.
    incoming_status: int = TestStatus.NOT_RUN
    outgoing_status: int = TestStatus.NOT_RUN
    act_status: int = TestStatus.NOT_RUN
    test_completed_on: datetime | None = None
    enabled_incoming: bool = False
    enabled_outgoing: bool = False
    enabled_act: bool = False
    # The lifecycle (issue 24): written only by Test & Enable and its retries.
    transient_failures: int = 0
    test_retries: int = 0
    next_test_attempt: datetime | None = None
    last_attempted_on: datetime | None = None
    last_error: str = ""
    last_error_code: int | None = None
    last_error_on: datetime | None = None
    last_error_count: int = 0
    # The watch's bookkeeping (issue 24 item 4): the next time it is due, and the host testing it now.
    next_processing: datetime | None = None
    host_id: str = ""
    processing_state: int = ProcessingState.IDLE
    claimed_on: datetime | None = None
    id: int | None = None
    version: int = 0

    @property
    def is_forward(self) -> bool:
        return self.kind == MailboxKind.FORWARD

    def copy(self, **changes) -> MailboxDraft:
        """A separate draft (its password edit too), with `changes` applied."""
        out = _copy.copy(self)
        out.password = _copy.copy(self.password)
        for name, value in changes.items():
            setattr(out, name, value)
        return out


# Fields an admin edits on the mailbox form, in form order, and every field's label: from the
# declaration (domain/fields.py).
MAILBOX_EDITABLE_FIELDS = tuple(f.name for f in form_fields(MAILBOX_FIELDS))
MAILBOX_FIELD_LABELS = labels(MAILBOX_FIELDS)


@dataclass
class ProfileDraft:
    name: str = ""
    server_type: int | None = ServerType.IMAP_SMTP
    auto_discover: bool = False
    incoming_location: str = ""
    incoming_port: int | None = None
    incoming_tls: int = TlsMode.IMPLICIT
    outgoing_location: str = ""
    outgoing_port: int | None = None
    outgoing_tls: int = TlsMode.IMPLICIT
    auth_method: int = AuthMethod.USER_OR_QUEUE_CREDENTIALS
    outgoing_auth_method: int = AuthMethod.USER_OR_QUEUE_CREDENTIALS
    use_same_settings_for_outgoing: bool = True
    username: str = ""
    password: PasswordEdit = field(default_factory=PasswordEdit)
    outgoing_username: str = ""
    outgoing_password: PasswordEdit = field(default_factory=PasswordEdit)
    # P14 OAuth
    oauth_client_id: str = ""
    oauth_client_secret: PasswordEdit = field(default_factory=PasswordEdit)
    oauth_certificate: PasswordEdit = field(default_factory=PasswordEdit)
    oauth_tenant_id: str = ""
    oauth_service_account_key: PasswordEdit = field(default_factory=PasswordEdit)
    oauth_scope: str = ""
    oauth_token_endpoint: str = ""
    max_concurrent_connections: int | None = 10
    min_polling_minutes: int | None = 0
    timeout_seconds: int = 30
    transient_retries: int | None = 10  # P9: retries of a transient failure before the direction is disabled
    retry_interval_minutes: int | None = 5  # P9: minutes between them
    move_undelivered: bool = False  # P12
    incoming_cert_sha256: str = ""
    outgoing_cert_sha256: str = ""
    state: int = RecordState.ACTIVE
    id: int | None = None
    version: int = 0

    def copy(self, **changes) -> ProfileDraft:
        out = _copy.copy(self)
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, PasswordEdit):
                setattr(out, f.name, _copy.copy(value))
        for name, value in changes.items():
            setattr(out, name, value)
        return out


@dataclass
class UserDraft:
    full_name: str = ""
    email: str = ""
    state: int = RecordState.ACTIVE
    id: int | None = None
    version: int = 0


@dataclass
class QueueDraft:
    name: str = ""
    email: str = ""
    owner_id: int | None = None
    incoming: int = IncomingMethod.NONE
    outgoing: int = OutgoingMethod.NONE
    state: int = RecordState.ACTIVE
    id: int | None = None
    version: int = 0


@dataclass
class OrgSettings:
    default_profile_id: int | None = None
    default_incoming: int = IncomingMethod.NONE
    default_outgoing: int = OutgoingMethod.NONE
    default_act: int = ActMethod.NONE
    approval_required_users: bool = True
    approval_required_queues: bool = True
    version: int = 0


def changed_fields(before, after, names=None) -> list[str]:
    """Names of the dataclass fields whose values differ between two drafts."""
    out = []
    for f in fields(before):
        if names is not None and f.name not in names:
            continue
        if f.name in ("version",):
            continue
        a, b = getattr(before, f.name), getattr(after, f.name)
        if isinstance(a, PasswordEdit):
            if b.changed or a.stored != b.stored:
                out.append(f.name)
        elif a != b:
            out.append(f.name)
    return out
