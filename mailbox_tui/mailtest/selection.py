"""Which mailboxes a Test & Enable run covers: every active one, the failed ones, a profile's, or by address."""

from __future__ import annotations

from ..domain.options import RecordState, TestStatus
from ..domain.text import email_key, normalise_email
from ..store.convert import name_key
from ..store.models import EmailServerProfile, Mailbox


def _ids(query) -> list[int]:
    return [row[0] for row in query.order_by(Mailbox.name_key, Mailbox.id).tuples()]


def active_mailboxes() -> list[int]:
    return _ids(Mailbox.select(Mailbox.id).where(Mailbox.state == RecordState.ACTIVE))


def failed_mailboxes() -> list[int]:
    """Mailboxes with any status Failure (the Failed view)."""
    m = Mailbox
    return _ids(m.select(m.id).where((m.incoming_status == TestStatus.FAILURE) | (m.outgoing_status == TestStatus.FAILURE)
                                     | (m.act_status == TestStatus.FAILURE)))


def profile_mailboxes(profile_name: str) -> list[int] | None:
    """Every mailbox of the profile named so (case-insensitive); None when there is no such profile."""
    profile = EmailServerProfile.get_or_none(EmailServerProfile.name_key == name_key(profile_name))
    if profile is None:
        return None
    return _ids(Mailbox.select(Mailbox.id).where(Mailbox.profile == profile.id))


def mailboxes_by_email(addresses: list[str]) -> tuple[list[int], list[str]]:
    """(ids of the mailboxes with these addresses, the addresses no mailbox has)."""
    ids: list[int] = []
    missing: list[str] = []
    for address in addresses:
        normalised, _ = normalise_email(address.strip())
        key = email_key(normalised or address.strip())
        found = _ids(Mailbox.select(Mailbox.id).where(Mailbox.email_key == key))
        if found:
            ids += found
        else:
            missing.append(address)
    return list(dict.fromkeys(ids)), missing
