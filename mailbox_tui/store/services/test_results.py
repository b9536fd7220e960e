"""What Test & Enable found, written for the configuration it tested."""

from __future__ import annotations

from dataclasses import dataclass

from ...domain.failures import Cause
from ...domain.lifecycle import MANUAL, RetrySettings, Verdict, decide
from ...domain.options import ProcessingState
from .. import history
from ...i18n import N_, say
from ..database import Store
from ..models import EmailServerProfile, Mailbox, MailboxAlert, utcnow
from ...i18n import say
from .guards import NotFound


# A test's history entry is written only when one of these changed.
TEST_FLAGS = frozenset(("incoming_status", "outgoing_status", "act_status", "enabled_incoming", "enabled_outgoing",
                        "enabled_act", "transient_failures", "test_retries", "next_test_attempt", "last_error_code",
                        "last_error_count"))


# What recording a result writes beside it: the mailbox is no longer claimed by a watch (issue 24 item 4).
RELEASED = {"host_id": "", "processing_state": ProcessingState.IDLE, "claimed_on": None}


class ClaimLost(Exception):
    """A watch's result for a mailbox it no longer holds: its claim expired and another watch took it over."""


ALERT_LEVELS = (N_("error"), N_("warning"), N_("info"))  # stored in English; shown with i18n.shown()


@dataclass
class AlertDraft:
    level: str  # error, warning, info
    step: str
    message: str


def record_test_results(store: Store, mailbox_id: int, statuses: dict[str, int],
                        alerts: list[AlertDraft], completed_on=None, *, tested_version: int | None = None,
                        tested_profile: tuple[int, int] | None = None, causes: dict[str, Cause | None] | None = None,
                        messages: dict[str, str] | None = None, trigger: str = MANUAL,
                        held_by: str | None = None) -> bool:
    """Write what Test & Enable found: the statuses, when, the enabled flags, its alerts, and the lifecycle
    (domain/lifecycle.py: a transient failure schedules a retry, a permanent one or the last retry disables the
    direction, a success resets the counters), as of `completed_on` (the caller's clock).

    `causes` and `messages` are keyed by status field (a failure's cause, what the test said); `trigger` is
    MANUAL for an admin's Test & Enable or RETRY for a retry whose time had come. Only Test & Enable calls
    this. Earlier alerts stay as history. With `tested_version` (the mailbox's version the test read) and
    `tested_profile` (the profile's id and version), nothing is written when either changed since: those
    results belong to a configuration that no longer exists. Returns whether it wrote; raises NotFound when
    the mailbox is gone.

    Writing a result releases the mailbox from the watch that claimed it. With `held_by` (a watch's host id),
    the result is written only while that watch still holds the mailbox: otherwise ClaimLost."""
    completed_on = completed_on or utcnow()
    causes, messages = causes or {}, messages or {}
    verdicts = {name: Verdict(int(statuses[name]), causes.get(name), messages.get(name, ""))
                for name in ("incoming_status", "outgoing_status", "act_status") if name in statuses}
    with store.transaction(), history.tracked(store, "mailbox", [mailbox_id], history.TEST,
                                              only_if=TEST_FLAGS):
        current = Mailbox.get_or_none(Mailbox.id == mailbox_id)
        if current is None:
            raise NotFound(say("Mailbox {id} does not exist (it may have been deleted).", id=mailbox_id))
        profile = None if current.profile_id is None else EmailServerProfile.get_or_none(
            EmailServerProfile.id == current.profile_id)
        if tested_profile is not None and (profile is None or (profile.id, profile.version) != tuple(tested_profile)):
            return False
        if tested_version is not None and current.version != tested_version:
            return False
        if held_by is not None and current.host_id != held_by:
            raise ClaimLost(say("Mailbox {id} is no longer held by {host}.", id=mailbox_id, host=held_by))
        decision = decide(current, verdicts, RetrySettings.of(profile), completed_on, trigger)
        held = [] if held_by is None else [Mailbox.host_id == held_by]
        changed = (Mailbox.update(**decision.values, **RELEASED, test_completed_on=completed_on,
                                  version=Mailbox.version + 1, modified_on=utcnow())
                   .where(Mailbox.id == mailbox_id, Mailbox.version == current.version, *held).execute())
        if not changed:  # changed between the read and the write
            return False
        # What the lifecycle did first, then the failures it acted on: newest first, a list shows the server's
        # words on top and, under them, what became of the mailbox.
        for level, step, message in decision.alerts:
            MailboxAlert.create(mailbox=mailbox_id, created_on=completed_on, level=level, step=step, message=message)
        for alert in alerts:
            MailboxAlert.create(mailbox=mailbox_id, created_on=completed_on, level=alert.level, step=alert.step,
                                message=alert.message)
        return True
