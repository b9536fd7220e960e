"""The lifecycle's rules (domain/lifecycle.py), with the clock passed in: no time is waited for."""

from __future__ import annotations

from datetime import datetime, timedelta

from mailbox_tui.domain.failures import CAUSE
from mailbox_tui.domain.lifecycle import (
    MANUAL,
    POLL,
    RETRY,
    WATCH,
    RetrySettings,
    Verdict,
    decide,
    next_attempt_text,
)
from mailbox_tui.domain.options import MailboxKind, TestStatus
from mailbox_tui.domain.records import MailboxDraft

S, F, N = TestStatus.SUCCESS, TestStatus.FAILURE, TestStatus.NOT_RUN
T0 = datetime(2026, 3, 1, 14, 30)


def box(**values) -> MailboxDraft:
    return MailboxDraft(MailboxKind.USER, **values)


REFUSED, LOGIN = Verdict(F, CAUSE["connect-refused"], "Connection refused"), Verdict(F, CAUSE["credentials"], "no")


def after(state: MailboxDraft, verdicts, now, trigger=MANUAL, settings=RetrySettings()):
    decision = decide(state, verdicts, settings, now, trigger)
    return state.copy(**decision.values), decision.alerts


def test_a_transient_failure_schedules_a_retry_five_minutes_later_and_keeps_the_direction_enabled():
    state, alerts = after(box(), {"incoming_status": REFUSED, "outgoing_status": Verdict(S)}, T0)
    assert state.next_test_attempt == T0 + timedelta(minutes=5)
    assert (state.enabled_incoming, state.enabled_outgoing, state.transient_failures, state.test_retries) == (
        True, True, 1, 0)
    assert (state.last_error_code, state.last_error_on, state.last_error_count) == (103, T0, 1)
    assert alerts == [("warning", "retry", "Transient failure of incoming email (connection refused): retry 1 of 10 "
                                           "at 2026-03-01 14:35 UTC.")]
    assert next_attempt_text(state, RetrySettings()) == "Next attempt: 2026-03-01 14:35 UTC (retry 1 of 10)"


def test_the_tenth_retry_failing_disables_the_direction_with_the_cause_and_the_fix():
    state, now = box(), T0
    state, _ = after(state, {"incoming_status": REFUSED}, now)
    for retry in range(1, 11):
        assert state.enabled_incoming and state.next_test_attempt is not None, retry
        now = state.next_test_attempt
        state, alerts = after(state, {"incoming_status": REFUSED}, now, RETRY)
        assert state.test_retries == retry
    assert not state.enabled_incoming and state.next_test_attempt is None
    assert state.transient_failures == 11 and state.last_error_count == 11
    assert alerts[0][:2] == ("error", "disabled")
    assert "still failing after 10 retries (connection refused)" in alerts[0][2] and "Test & Enable" in alerts[0][2]
    assert now == T0 + timedelta(minutes=50)


def test_a_permanent_failure_disables_at_once_and_schedules_nothing():
    state, alerts = after(box(enabled_incoming=True, incoming_status=S), {"incoming_status": LOGIN}, T0)
    assert (state.enabled_incoming, state.incoming_status, state.next_test_attempt) == (False, F, None)
    assert alerts == [("error", "disabled", "Incoming email disabled: permanent failure (credentials refused). "
                                            + CAUSE["credentials"].fix)]


def test_a_success_resets_the_counters():
    state, _ = after(box(), {"incoming_status": REFUSED}, T0)
    state, _ = after(state, {"incoming_status": REFUSED}, state.next_test_attempt, RETRY)
    state, alerts = after(state, {"incoming_status": Verdict(S)}, state.next_test_attempt, RETRY)
    assert (state.transient_failures, state.test_retries, state.last_error_count, state.next_test_attempt) == (
        0, 0, 0, None)
    assert state.enabled_incoming and state.incoming_status == S
    assert alerts == [("info", "retry", "Succeeded on retry 2: the retries are over.")]


def test_a_retry_leaves_a_direction_disabled_by_failures_as_it_is_until_an_admin_tests_again():
    state, _ = after(box(), {"incoming_status": LOGIN, "outgoing_status": REFUSED}, T0)
    assert not state.enabled_incoming and state.enabled_outgoing and state.next_test_attempt
    state, _ = after(state, {"incoming_status": Verdict(S), "outgoing_status": Verdict(S)},
                     state.next_test_attempt, RETRY)
    assert (state.incoming_status, state.enabled_incoming) == (F, False)  # the retry does not re-enable it
    assert (state.outgoing_status, state.enabled_outgoing) == (S, True)
    state, _ = after(state, {"incoming_status": Verdict(S), "outgoing_status": Verdict(S)}, T0, MANUAL)
    assert (state.incoming_status, state.enabled_incoming) == (S, True)


def test_an_admins_test_and_enable_starts_a_fresh_count():
    state = box(test_retries=7, transient_failures=8, next_test_attempt=T0)
    state, alerts = after(state, {"incoming_status": REFUSED}, T0)
    assert (state.test_retries, state.transient_failures) == (0, 1)
    assert "retry 1 of 10" in alerts[0][2]


def test_the_profiles_settings_count_and_space_the_retries():
    settings = RetrySettings(retries=2, interval_minutes=30)
    state, _ = after(box(), {"incoming_status": REFUSED}, T0, settings=settings)
    assert state.next_test_attempt == T0 + timedelta(minutes=30)
    state, _ = after(state, {"incoming_status": REFUSED}, state.next_test_attempt, RETRY, settings)
    state, _ = after(state, {"incoming_status": REFUSED}, state.next_test_attempt, RETRY, settings)
    assert not state.enabled_incoming and state.next_test_attempt is None
    no_retries, _ = after(box(), {"incoming_status": REFUSED}, T0, settings=RetrySettings(retries=0))
    assert not no_retries.enabled_incoming and no_retries.next_test_attempt is None


def test_throttling_left_not_run_is_retried_too():
    state, _ = after(box(), {"incoming_status": Verdict(N, CAUSE["throttled"], "Graph asked to wait")}, T0)
    assert state.incoming_status == N and state.next_test_attempt == T0 + timedelta(minutes=5)


# ---------------------------------------------------------------- what the watch does (issue 24 item 4)

def test_a_test_that_leaves_a_direction_enabled_schedules_the_next_poll_five_minutes_on():
    state, _ = after(box(), {"incoming_status": Verdict(S), "outgoing_status": Verdict(S)}, T0)
    assert state.next_processing == T0 + timedelta(minutes=5)


def test_the_profiles_minimum_polling_interval_spaces_polls_further_never_closer():
    class Profile:
        transient_retries, retry_interval_minutes = 10, 5
        min_polling_minutes = 30

    assert RetrySettings.of(Profile()).poll_minutes == 30
    Profile.min_polling_minutes = 0
    assert RetrySettings.of(Profile()).poll_minutes == 5


def test_a_retry_scheduled_is_when_the_watch_comes_back():
    state, _ = after(box(), {"incoming_status": REFUSED}, T0)
    assert state.next_processing == state.next_test_attempt == T0 + timedelta(minutes=5)


def test_nothing_enabled_means_the_watch_has_nothing_to_do():
    state, _ = after(box(), {"incoming_status": LOGIN}, T0)
    assert not state.enabled_incoming and state.next_processing is None


def test_a_poll_never_enables_a_direction_and_keeps_the_enabled_one_tested():
    state = box(enabled_incoming=True, incoming_status=S, outgoing_status=TestStatus.NOT_RUN)
    later = T0 + timedelta(minutes=5)
    state, _ = after(state, {"incoming_status": Verdict(S), "outgoing_status": Verdict(S)}, later, POLL)
    assert (state.enabled_incoming, state.enabled_outgoing, state.outgoing_status) == (True, False, N)
    assert state.last_attempted_on == later and state.next_processing == later + timedelta(minutes=5)


def test_a_transient_failure_in_a_poll_starts_the_retries_at_the_first():
    state = box(enabled_incoming=True, incoming_status=S)
    state, alerts = after(state, {"incoming_status": REFUSED}, T0, POLL)
    assert (state.enabled_incoming, state.test_retries, state.transient_failures) == (True, 0, 1)
    assert "retry 1 of 10" in alerts[0][2] and state.next_processing == T0 + timedelta(minutes=5)


def test_the_watch_retries_a_mailbox_with_a_retry_scheduled_and_polls_the_others():
    retrying, _ = after(box(), {"incoming_status": REFUSED}, T0)
    then = retrying.next_test_attempt
    retried, _ = after(retrying, {"incoming_status": REFUSED}, then, WATCH)
    assert retried.test_retries == 1  # counted as a retry
    polled, _ = after(box(enabled_incoming=True, incoming_status=S), {"incoming_status": REFUSED}, then, WATCH)
    assert polled.test_retries == 0  # a poll: the first failure, retry 1 still to come
