"""The lifecycle's figures per server profile (issue 24): what `mailbox-tui health` reports and a Health
page can show. One GROUP BY in the database: 100,000 mailboxes are counted there, never loaded here."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from peewee import JOIN, Case, fn

from ..domain.options import RecordState, TestStatus
from ..i18n import _, number
from .models import EmailServerProfile, Mailbox, utcnow

OK, RETRYING, DISABLED = 0, 1, 2  # the monitoring plugins' exit convention; 3 (unknown) is the CLI's


@dataclass
class ProfileHealth:
    profile: str  # "" for mailboxes with no server profile
    mailboxes: int = 0  # active mailboxes
    enabled: int = 0  # any direction enabled
    failing: int = 0  # any direction's last test a Failure
    retrying: int = 0  # a retry scheduled
    disabled: int = 0  # a direction disabled by failures (failed, not enabled): waits for an admin
    disabled_24h: int = 0  # of them, the last error within 24 hours
    failed_1h: int = 0  # last error within the hour
    tested_1h: int = 0  # tested (or retried) within the hour
    last_success: datetime | None = None  # the latest test of a mailbox with no failing direction

    @property
    def failure_rate_1h(self) -> float:
        return self.failed_1h / self.tested_1h if self.tested_1h else 0.0

    @property
    def flagged(self) -> bool:
        """More than half of its mailboxes failed within the hour (the system we follow mails the owner)."""
        return self.mailboxes > 0 and self.failed_1h * 2 > self.mailboxes

    def as_dict(self) -> dict:
        out = asdict(self)
        out["last_success"] = self.last_success.isoformat() if self.last_success else None
        out["failure_rate_1h"] = round(self.failure_rate_1h, 4)
        out["flagged"] = self.flagged
        return out


def _count(condition):
    return fn.SUM(Case(None, ((condition, 1),), 0))


def _failed(status_field: str):
    return getattr(Mailbox, status_field) == TestStatus.FAILURE


def failing_condition():
    """A direction's last test a Failure."""
    return _failed("incoming_status") | _failed("outgoing_status") | _failed("act_status")


def disabled_condition():
    """A direction disabled by failures: failed, and not enabled (domain/lifecycle.disabled_by_failures).
    Such a mailbox always has a last error (lifecycle.decide sets it), so `last_error_on IS NOT NULL`
    narrows it to the (state, last_error_on) index's range."""
    return ((_failed("incoming_status") & ~Mailbox.enabled_incoming)
            | (_failed("outgoing_status") & ~Mailbox.enabled_outgoing)
            | (_failed("act_status") & ~Mailbox.enabled_act))


def profile_health(now: datetime | None = None, profile_id: int | None = None) -> list[ProfileHealth]:
    """The figures of every profile with active mailboxes (and of the mailboxes with none), by name; with
    `profile_id`, of that profile only (its form's alert)."""
    now = now or utcnow()
    any_failing, disabled = failing_condition(), disabled_condition()
    hour, day = now - timedelta(hours=1), now - timedelta(hours=24)
    query = (Mailbox.select(
        EmailServerProfile.name, fn.COUNT(Mailbox.id),
        _count(Mailbox.enabled_incoming | Mailbox.enabled_outgoing | Mailbox.enabled_act),
        _count(any_failing), _count(Mailbox.next_test_attempt.is_null(False)), _count(disabled),
        _count(disabled & (Mailbox.last_error_on >= day)), _count(Mailbox.last_error_on >= hour),
        _count(Mailbox.last_attempted_on >= hour),
        fn.MAX(Case(None, ((~any_failing, Mailbox.test_completed_on),), None)))
        .join(EmailServerProfile, JOIN.LEFT_OUTER, on=(Mailbox.profile == EmailServerProfile.id))
        .where(*([Mailbox.state == RecordState.ACTIVE]
                 + ([Mailbox.profile == profile_id] if profile_id is not None else [])))
        .group_by(EmailServerProfile.name).order_by(EmailServerProfile.name).tuples())
    out = []
    for name, *counts, last in query:
        if isinstance(last, str):  # SQLite hands an aggregate's date back as text
            last = datetime.fromisoformat(last)
        out.append(ProfileHealth(name or "", *(int(c or 0) for c in counts), last))
    return out


def overall(figures: list[ProfileHealth]) -> int:
    """OK, RETRYING (or failing) or DISABLED: the worst state of any mailbox."""
    if any(p.disabled for p in figures):
        return DISABLED
    if any(p.retrying or p.failing for p in figures):
        return RETRYING
    return OK


def profile_alert(profile_id: int, now: datetime | None = None) -> str:
    """The alert a profile's form shows while more than half of its mailboxes failed within the hour
    ("" otherwise): the flag of the Health page, where the admin looks at the profile. Shown only (never
    stored): in the admin's language."""
    for figures in profile_health(now, profile_id):
        if figures.flagged:
            return _("! More than half of its mailboxes failed within the hour ({failed} of {total}): the server or "
                     "these settings may be at fault. The Health page (7) lists them.").format(
                failed=number(figures.failed_1h), total=number(figures.mailboxes))
    return ""
