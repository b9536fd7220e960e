"""A mailbox's life against real servers (issue 24 item 3): dovecot stopped then started again gives a
transient failure then a success on retry; a wrong password disables at once; ten retries failing disable.
The schedule is moved by the runner's clock, never waited for."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from mail_builders import server_profile, user_mailbox
from support.mailservers import MAIL_USERS, Dovecot, free_port

from mailbox_tui.domain.lifecycle import RETRY
from mailbox_tui.domain.options import TestStatus, TlsMode
from mailbox_tui.mailtest.runner import TestRunner
from mailbox_tui.store import queries, services
from mailbox_tui.store.history import ChangeEntry

S, F = TestStatus.SUCCESS, TestStatus.FAILURE
T0 = datetime(2026, 3, 1, 14, 30)


def run(store, ids, now, trigger="manual"):
    return TestRunner(store, trigger=trigger, clock=lambda: now).run(ids)


def history_of(mailbox_id) -> list[dict]:
    rows = (ChangeEntry.select().where(ChangeEntry.kind == "mailbox", ChangeEntry.record_id == mailbox_id,
                                       ChangeEntry.action == "test").order_by(ChangeEntry.id))
    return [{name: (old, new) for name, old, new in json.loads(e.changes)} for e in rows]


@pytest.fixture
def own_dovecot(mail_certificate, trust_mail_certificate):
    server = Dovecot(MAIL_USERS, mail_certificate).start()
    try:
        yield server
    finally:
        server.stop()


def incoming_only(store, dovecot, smtp_servers, **profile):
    made = server_profile(store, dovecot, smtp_servers, incoming_tls=TlsMode.NONE, **profile)
    return made, user_mailbox(store, made.id, outgoing=0)


def test_dovecot_stopped_is_a_transient_failure_and_started_again_the_retry_succeeds(sqlite_store, own_dovecot,
                                                                                      smtp_servers):
    _, mailbox = incoming_only(sqlite_store, own_dovecot, smtp_servers)
    own_dovecot.stop()
    run(sqlite_store, [mailbox.id], T0)
    failed = services.get_mailbox(sqlite_store, mailbox.id)
    assert (failed.incoming_status, failed.enabled_incoming) == (F, True)  # retrying, not disabled
    assert failed.next_test_attempt == T0 + timedelta(minutes=5)
    assert (failed.transient_failures, failed.test_retries, failed.last_error_code) == (1, 0, 103)
    assert failed.last_error.startswith("Incoming email: Connection refused")
    assert queries.due_retry_ids(T0 + timedelta(minutes=4)) == []
    assert queries.due_retry_ids(T0 + timedelta(minutes=5)) == [mailbox.id]

    own_dovecot.start(same_ports=True)
    due = T0 + timedelta(minutes=5)
    run(sqlite_store, queries.due_retry_ids(due), due, RETRY)
    back = services.get_mailbox(sqlite_store, mailbox.id)
    assert (back.incoming_status, back.enabled_incoming, back.next_test_attempt) == (S, True, None)
    assert (back.transient_failures, back.test_retries, back.last_error_count) == (0, 0, 0)
    assert back.last_attempted_on == due
    assert queries.mailbox_alerts(mailbox.id)[0].message == "Succeeded on retry 1: the retries are over."
    entries = history_of(mailbox.id)
    assert entries[-2]["next_test_attempt"][1].startswith("2026-03-01 14:35")
    assert entries[-1]["incoming_status"] == (F, S) and entries[-1]["next_test_attempt"][1] is None


def test_a_wrong_password_is_permanent_and_disables_at_once(sqlite_store, servers):
    profile = server_profile(sqlite_store, *servers)
    mailbox = user_mailbox(sqlite_store, profile.id, password="Wrong-pw-Zz90^uu")
    run(sqlite_store, [mailbox.id], T0)
    after = services.get_mailbox(sqlite_store, mailbox.id)
    assert (after.incoming_status, after.enabled_incoming, after.outgoing_status, after.enabled_outgoing) == (
        F, False, F, False)
    assert after.next_test_attempt is None and after.last_error_code == 205
    assert queries.due_retry_ids(T0 + timedelta(days=1)) == []
    disabled = [a.message for a in queries.mailbox_alerts(mailbox.id) if a.step == "disabled"]
    assert sorted(disabled) == [f"{d} email disabled: permanent failure (credentials refused). Correct the user name "
                                "and password (or the profile's credentials), then run Test & Enable."
                                for d in ("Incoming", "Outgoing")]
    entry = history_of(mailbox.id)[-1]
    assert entry["incoming_status"] == (TestStatus.NOT_RUN, F) and entry["last_error_code"] == (None, 205)


def test_ten_retries_failing_disable_the_direction_and_a_retry_never_re_enables_it(sqlite_store, servers):
    _, mailbox = incoming_only(sqlite_store, *servers, incoming_port=free_port())  # nothing listens there
    now = T0
    run(sqlite_store, [mailbox.id], now)
    for retry in range(1, 11):
        now = services.get_mailbox(sqlite_store, mailbox.id).next_test_attempt
        assert now == T0 + timedelta(minutes=5 * retry)
        assert queries.due_retry_ids(now) == [mailbox.id]
        run(sqlite_store, queries.due_retry_ids(now), now, RETRY)
    after = services.get_mailbox(sqlite_store, mailbox.id)
    assert (after.enabled_incoming, after.next_test_attempt, after.test_retries, after.transient_failures) == (
        False, None, 10, 11)
    assert queries.due_retry_ids(now + timedelta(days=1)) == []
    assert "still failing after 10 retries (connection refused)" in queries.mailbox_alerts(mailbox.id)[1].message
    assert len(history_of(mailbox.id)) == 11  # every change a history entry, action test


def test_the_profile_sets_how_many_retries_and_how_far_apart(sqlite_store, servers):
    _, mailbox = incoming_only(sqlite_store, *servers, incoming_port=free_port(), transient_retries=1,
                               retry_interval_minutes=60)
    run(sqlite_store, [mailbox.id], T0)
    assert services.get_mailbox(sqlite_store, mailbox.id).next_test_attempt == T0 + timedelta(hours=1)
    run(sqlite_store, [mailbox.id], T0 + timedelta(hours=1), RETRY)
    after = services.get_mailbox(sqlite_store, mailbox.id)
    assert not after.enabled_incoming and after.next_test_attempt is None
