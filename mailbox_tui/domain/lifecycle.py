"""The lifecycle of a mailbox's test results over time (issue 24): retries, disabling, the next attempt.

The rules, as the system we follow applies them (its "Lifecycle", as the issue quotes it):

- Each direction (incoming, outgoing, appointments/contacts/tasks) that Test & Enable tested ends Success,
  Not Run, or a failure classified by domain/failures.py.
- Success enables the direction. A permanent failure disables it at once, with an alert naming the cause
  and the fix.
- A transient failure keeps the direction enabled and schedules a retry of the mailbox, `interval` minutes
  later, up to `retries` times (the profile's settings, default 10 retries 5 minutes apart). The last retry
  failing disables the direction as a permanent failure would.
- A test with no failure resets the counters. A direction disabled by failures stays disabled (a retry
  neither tests nor enables it) until an admin runs Test & Enable again, which starts a fresh count.
- `mailbox-tui watch` tests what is due (trigger WATCH): a mailbox with a retry scheduled is retried; an enabled
  one is polled (POLL) every `poll_minutes` (the profile's Minimum Polling Interval, at least 5 minutes). A poll
  counts only the directions enabled now: it never enables one (only an admin's Test & Enable does), and a
  transient failure in it starts the retries as any test's does. `next_processing` says when the watch is due
  next: the retry's time, else the next poll while a direction is enabled, else never.

Pure: the store's service (store/services/test_results.py) reads the mailbox, asks `decide`, and writes the
values it returns with their alerts and a history entry, in one transaction. `now` is always passed in,
so the schedule is moved by the caller's clock, never by sleeping.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..i18n import N_, said, say, say_n
from .failures import Cause
from .options import TestStatus

MANUAL, RETRY = "manual", "retry"  # an admin's Test & Enable, or a retry whose time had come
POLL = "poll"  # the watch's periodic test of an enabled mailbox
WATCH = "watch"  # what the watch runs: RETRY when a retry is scheduled, else POLL (decided per mailbox)
DEFAULT_RETRIES, DEFAULT_INTERVAL_MINUTES = 10, 5
DEFAULT_POLL_MINUTES = 5  # enabled mailboxes are processed about every 5 minutes; the profile may ask for longer
EXHAUSTED_FIX = N_("Check the server and the network (the failure alerts name the step), then run Test & "
                   "Enable to enable it again.")
LAST_ERROR_MAX = 2000  # characters of the last error kept on the mailbox (lastsyncerror)

# status field -> (enabled flag, how an alert names the direction)
DIRECTIONS = {
    "incoming_status": ("enabled_incoming", N_("Incoming email")),
    "outgoing_status": ("enabled_outgoing", N_("Outgoing email")),
    "act_status": ("enabled_act", N_("Appointments, contacts and tasks")),
}
# How a retry alert names the directions that failed (lower case, joined by "and"): each one a whole message,
# so that a stored alert reads back in the admin's language (tests/domain/test_rules_swedish.py holds them).
DIRECTION_NAMES = (N_("incoming email"), N_("outgoing email"), N_("appointments, contacts and tasks"),
                   N_("incoming email and outgoing email"), N_("incoming email and appointments, contacts and tasks"),
                   N_("outgoing email and appointments, contacts and tasks"),
                   N_("incoming email and outgoing email and appointments, contacts and tasks"))


@dataclass(frozen=True)
class RetrySettings:
    """A profile's retry settings, and how often the watch polls its enabled mailboxes (P9)."""

    retries: int = DEFAULT_RETRIES
    interval_minutes: int = DEFAULT_INTERVAL_MINUTES
    poll_minutes: int = DEFAULT_POLL_MINUTES

    @classmethod
    def of(cls, profile) -> RetrySettings:
        """From a stored profile or a draft; the defaults without one."""
        if profile is None:
            return cls()
        retries = getattr(profile, "transient_retries", None)
        interval = getattr(profile, "retry_interval_minutes", None)
        polling = getattr(profile, "min_polling_minutes", None) or 0
        return cls(DEFAULT_RETRIES if retries is None else max(0, int(retries)),
                   DEFAULT_INTERVAL_MINUTES if not interval else max(1, int(interval)),
                   max(DEFAULT_POLL_MINUTES, int(polling)))


@dataclass(frozen=True)
class Verdict:
    """How one direction's test ended: its status, and why it failed (None when it did not)."""

    status: int
    cause: Cause | None = None
    message: str = ""  # what the test said about it (for the mailbox's Last Sync Error)


@dataclass
class Decision:
    """What to write on the mailbox, and the alerts to add: (level, step, message)."""

    values: dict[str, object] = field(default_factory=dict)
    alerts: list[tuple[str, str, str]] = field(default_factory=list)


def disabled_by_failures(state, status_field: str) -> bool:
    """A direction that failed and is not enabled: it waits for an admin's Test & Enable."""
    enabled = DIRECTIONS[status_field][0]
    return getattr(state, status_field) == TestStatus.FAILURE and not getattr(state, enabled)


def decide(state, verdicts: dict[str, Verdict], settings: RetrySettings, now: datetime,
           trigger: str = MANUAL) -> Decision:
    """The mailbox's values after a test. `state` holds its current statuses, enabled flags and lifecycle
    fields (a stored row or a MailboxDraft); `verdicts` are keyed by status field."""
    if trigger == WATCH:
        trigger = RETRY if state.next_test_attempt is not None else POLL
    out = Decision()
    values = out.values
    retries_done = 0 if trigger == MANUAL else int(state.test_retries or 0) + (trigger == RETRY)
    transient_count = 0 if trigger == MANUAL else int(state.transient_failures or 0)
    transient: list[tuple[str, Verdict]] = []
    failures: list[tuple[str, Verdict]] = []
    for status_field, verdict in verdicts.items():
        enabled, label = DIRECTIONS[status_field]
        if trigger == RETRY and disabled_by_failures(state, status_field):
            continue  # stays as an admin must find it
        if trigger == POLL and not getattr(state, enabled):
            continue  # a poll keeps enabled directions tested; it never enables one
        values[status_field] = int(verdict.status)
        if verdict.cause is None:
            values[enabled] = verdict.status == TestStatus.SUCCESS
            continue
        failures.append((status_field, verdict))
        if verdict.cause.transient:
            transient.append((status_field, verdict))
        else:
            values[enabled] = False
            out.alerts.append(("error", "disabled", say("{label} disabled: permanent failure ({cause}). {fix}",
                                                        label=label, cause=verdict.cause.label,
                                                        fix=verdict.cause.fix)))
    values["last_attempted_on"] = now
    values["test_retries"] = retries_done
    if transient:
        transient_count += 1
        names = " and ".join(DIRECTIONS[f][1].lower() for f, _ in transient)
        causes = ", ".join(dict.fromkeys(v.cause.label for _, v in transient))
        if retries_done < settings.retries:
            values["next_test_attempt"] = now + timedelta(minutes=settings.interval_minutes)
            for status_field, _ in transient:
                values[DIRECTIONS[status_field][0]] = True  # still enabled: retrying
            out.alerts.append(("warning", "retry", say(
                "Transient failure of {what} ({cause}): retry {retry} of {retries} at {when} UTC.", what=names,
                cause=causes, retry=retries_done + 1, retries=settings.retries,
                when=values["next_test_attempt"].strftime("%Y-%m-%d %H:%M"))))
        else:
            values["next_test_attempt"] = None
            for status_field, verdict in transient:
                values[DIRECTIONS[status_field][0]] = False
                out.alerts.append(("error", "disabled", say_n(
                    "{label} disabled: still failing after {n} retry ({cause}). {fix}",
                    "{label} disabled: still failing after {n} retries ({cause}). {fix}", settings.retries,
                    label=DIRECTIONS[status_field][1], cause=verdict.cause.label, fix=EXHAUSTED_FIX)))
    else:
        values["next_test_attempt"] = None
    values["transient_failures"] = transient_count
    if failures:
        first = failures[0][1]
        label = DIRECTIONS[failures[0][0]][1]
        values["last_error"] = f"{label}: {first.message}"[:LAST_ERROR_MAX]
        values["last_error_code"] = first.cause.code
        values["last_error_on"] = now
        values["last_error_count"] = int(state.last_error_count or 0) + 1
    elif any(f in values for f in DIRECTIONS):
        if trigger == RETRY and int(state.transient_failures or 0) > 0:
            out.alerts.append(("info", "retry", say("Succeeded on retry {retry}: the retries are over.",
                                                    retry=retries_done)))
        values["transient_failures"] = 0
        values["test_retries"] = 0
        values["last_error_count"] = 0
    values["next_processing"] = next_processing(state, values, settings, now)
    return out


def next_processing(state, values: dict[str, object], settings: RetrySettings, now: datetime) -> datetime | None:
    """When the watch is due to test the mailbox next, once `values` are written: its retry, else its next poll
    while any direction is enabled, else never."""
    if values.get("next_test_attempt") is not None:
        return values["next_test_attempt"]
    if any(values.get(flag, getattr(state, flag)) for flag, _ in DIRECTIONS.values()):
        return now + timedelta(minutes=settings.poll_minutes)
    return None


def next_attempt_text(state, settings: RetrySettings) -> str:
    """How the form shows the schedule: "Next attempt: 2026-03-01 14:35 UTC (retry 3 of 10)", in the admin's
    language."""
    when = getattr(state, "next_test_attempt", None)
    if when is None:
        disabled = [said(DIRECTIONS[f][1]) for f in DIRECTIONS if disabled_by_failures(state, f)]
        if disabled:
            return said(say("Next attempt: none ({what} disabled by failures: run Test & Enable)",
                            what=", ".join(disabled)))
        return said(say("Next attempt: none"))
    return said(say("Next attempt: {when} UTC (retry {retry} of {retries})", when=when.strftime("%Y-%m-%d %H:%M"),
                    retry=int(state.test_retries or 0) + 1, retries=settings.retries))


def last_error_text(state) -> str:
    """How the form shows the last error, in the admin's language (the server's own words as it sent them)."""
    if not getattr(state, "last_error_on", None):
        return said(say("Last error: none"))
    count = int(state.last_error_count or 0)
    when = state.last_error_on.strftime("%Y-%m-%d %H:%M")
    error = said(state.last_error or "")
    if count > 1:
        return said(say("Last error: {when} UTC, code {code}, {count} in a row: {error}", when=when,
                        code=state.last_error_code, count=count, error=error))
    return said(say("Last error: {when} UTC, code {code}: {error}", when=when, code=state.last_error_code,
                    error=error))
