"""Facts from outside a draft that its rules need. The store fills these in; so can a test."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from .records import MailboxDraft


class Stage(str, Enum):
    EDIT = "edit"  # live validation and every save
    TEST = "test"  # Test & Enable


@dataclass(frozen=True)
class ProfileFacts:
    id: int
    name: str
    server_type: int
    auth_method: int
    active: bool = True
    destinations: frozenset[str] = frozenset()  # where its mailboxes' passwords are sent (P15)


@dataclass(frozen=True)
class EmailUse:
    """Another mailbox with the same address (M5)."""

    name: str
    enabled_incoming: bool  # enabled for incoming email, or would be after its own test


@dataclass
class MailboxContext:
    profile: ProfileFacts | None = None  # the draft's profile, when it has one and it exists
    owner_exists: bool = True
    expected_owner_id: int | None = None  # user mailbox: the user; queue mailbox: the queue's owner
    regarding_exists: bool = True
    same_email: tuple[EmailUse, ...] = ()
    active_forward_mailbox_exists: bool = True
    original: MailboxDraft | None = None  # as stored, for an edit
    approval_required: bool = False  # the organisation requires approval for this kind (A2)
    stage: Stage = Stage.EDIT
    now: datetime | None = None  # naive UTC; None: the clock (M19 compares Process Email From with it)
    # P15: where the stored password went with the profile the mailbox had, when the draft changes its
    # profile and a password is on record; None otherwise.
    stored_profile_destinations: frozenset[str] | None = None


@dataclass
class ProfileContext:
    name_taken: bool = False  # another profile has this name (case-insensitive)
    # P15: where the profile's secrets (and its mailboxes' passwords) went as stored; None for a new profile.
    stored_destinations: dict[str, frozenset[str]] | None = None
    mailbox_passwords: int = 0  # how many of its mailboxes hold a password


@dataclass
class UserContext:
    email_taken: bool = False  # another user has this email


@dataclass
class QueueContext:
    owner_exists: bool = True
    name_taken: bool = False
    same_email_users: tuple[str, ...] = field(default_factory=tuple)
