"""The watch's rounds (issue 24 item 4) against the real test servers, its clock moved, never waited for:
an enabled mailbox polled on its interval, a retry when its time comes, a vanished server, a claim lost."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta
from pathlib import Path

from mail_builders import server_profile, user_mailbox
from support.mailservers import MAIL_USERS, Dovecot

from mailbox_tui.domain.options import ProcessingState, TestStatus, TlsMode
from mailbox_tui.mailtest.runner import CLAIM_LOST, TestRunner
from mailbox_tui.mailtest.watch import Watcher, WatchSettings
from mailbox_tui.store import queries, services, watch_claims
from mailbox_tui.store.models import Mailbox

S, F = TestStatus.SUCCESS, TestStatus.FAILURE
T0 = datetime(2026, 3, 1, 14, 30)


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def watcher(store, clock, lines=None, host="web1:100", **settings) -> Watcher:
    said = lines if lines is not None else []
    return Watcher(store, host, clock=clock, say=said.append, settings=WatchSettings(tick=0.01, **settings))


def enabled_mailbox(store, dovecot, smtp, **profile):
    made = server_profile(store, dovecot, smtp, incoming_tls=TlsMode.NONE, **profile)
    mailbox = user_mailbox(store, made.id, outgoing=0)
    TestRunner(store, clock=lambda: T0).run([mailbox.id])  # an admin's Test & Enable
    return services.get_mailbox(store, mailbox.id)


def test_an_enabled_mailbox_is_polled_on_its_interval_and_not_before(sqlite_store, servers):
    mailbox = enabled_mailbox(sqlite_store, *servers)
    assert (mailbox.enabled_incoming, mailbox.next_processing) == (True, T0 + timedelta(minutes=5))
    clock, lines = Clock(T0 + timedelta(minutes=4, seconds=59)), []
    watch = watcher(sqlite_store, clock, lines)
    assert watch.round() == 0 and lines == []
    clock.now = T0 + timedelta(minutes=5)
    assert watch.round() == 1
    polled = services.get_mailbox(sqlite_store, mailbox.id)
    assert (polled.incoming_status, polled.enabled_incoming, polled.last_attempted_on) == (S, True, clock.now)
    assert polled.next_processing == clock.now + timedelta(minutes=5)
    assert (polled.host_id, polled.processing_state, polled.claimed_on) == ("", ProcessingState.IDLE, None)
    assert lines == [f"2026-03-01 14:35:00 Success (poll) Alice <alice@example.com>: incoming Success, "
                     "outgoing Not Run, act Not Run"]
    assert watch.round() == 0  # polled: due again in five minutes


def test_a_server_that_vanished_is_a_transient_failure_and_the_watch_retries_when_it_is_back(
        sqlite_store, mail_certificate, trust_mail_certificate, smtp_servers):
    own = Dovecot(MAIL_USERS, mail_certificate).start()
    try:
        mailbox = enabled_mailbox(sqlite_store, own, smtp_servers)
        own.stop()
        clock, lines = Clock(T0 + timedelta(minutes=5)), []
        watch = watcher(sqlite_store, clock, lines)
        assert watch.round() == 1
        failed = services.get_mailbox(sqlite_store, mailbox.id)
        assert (failed.incoming_status, failed.enabled_incoming, failed.transient_failures) == (F, True, 1)
        assert failed.next_test_attempt == failed.next_processing == T0 + timedelta(minutes=10)
        assert "Failure (poll) Alice <alice@example.com>: incoming Failure at connect (transient" in lines[0]
        own.start(same_ports=True)
        clock.now = T0 + timedelta(minutes=10)
        assert watch.round() == 1
        back = services.get_mailbox(sqlite_store, mailbox.id)
        assert (back.incoming_status, back.enabled_incoming, back.next_test_attempt) == (S, True, None)
        assert back.next_processing == clock.now + timedelta(minutes=5)
        assert "Success (retry) Alice" in lines[1]
        assert queries.mailbox_alerts(mailbox.id)[0].message == "Succeeded on retry 1: the retries are over."
    finally:
        own.stop()


def test_with_json_each_result_is_one_json_object_on_its_line(sqlite_store, servers):
    mailbox = enabled_mailbox(sqlite_store, *servers)
    Mailbox.update(name="Alice\x1b[2J").where(Mailbox.id == mailbox.id).execute()  # stored by other means: M1 fails
    lines = []
    watch = Watcher(sqlite_store, "web1:100", clock=lambda: T0 + timedelta(minutes=5), say=lines.append,
                    json_lines=True)
    assert watch.round() == 1 and len(lines) == 1 and "\x1b" not in lines[0]
    said = json.loads(lines[0])
    assert (said["event"], said["result"], said["trigger"], said["at"]) == ("result", "Failure", "poll",
                                                                           "2026-03-01 14:35:00")
    assert said["mailbox"]["name"] == "Alice\x1b[2J" and said["mailbox"]["id"] == mailbox.id


def test_a_poll_never_enables_a_direction_the_admin_has_not_enabled(sqlite_store, servers):
    made = server_profile(sqlite_store, *servers, incoming_tls=TlsMode.NONE)
    mailbox = user_mailbox(sqlite_store, made.id, outgoing=0)
    Mailbox.update(next_processing=T0).where(Mailbox.id == mailbox.id).execute()  # due, but nothing enabled
    assert watcher(sqlite_store, Clock(T0)).round() == 1
    after = services.get_mailbox(sqlite_store, mailbox.id)
    assert (after.incoming_status, after.enabled_incoming, after.next_processing) == (TestStatus.NOT_RUN, False, None)


def test_a_result_for_a_mailbox_another_watch_took_over_is_not_recorded(sqlite_store, servers):
    mailbox = enabled_mailbox(sqlite_store, *servers)
    due = T0 + timedelta(minutes=5)
    watch_claims.claim(sqlite_store, "web1:100", due, limit=10)
    Mailbox.update(host_id="web2:200").where(Mailbox.id == mailbox.id).execute()  # its claim expired, and was taken
    report = TestRunner(sqlite_store, clock=lambda: due, held_by="web1:100", trigger="watch").run([mailbox.id])
    assert [(n.mailbox_id, n.reason) for n in report.not_run] == [(mailbox.id, CLAIM_LOST)]
    kept = services.get_mailbox(sqlite_store, mailbox.id)
    assert (kept.last_attempted_on, kept.host_id, kept.version) == (T0, "web2:200", mailbox.version)


def test_stop_ends_a_round_at_once_records_nothing_half_and_leaves_nothing_claimed(sqlite_store, servers,
                                                                                    silent_server):
    made = server_profile(sqlite_store, *servers, incoming_tls=TlsMode.NONE, incoming_port=silent_server.port,
                          timeout_seconds=60)
    mailbox = user_mailbox(sqlite_store, made.id, outgoing=0)
    Mailbox.update(next_processing=T0, enabled_incoming=True).where(Mailbox.id == mailbox.id).execute()
    stop, lines = threading.Event(), []
    watch = Watcher(sqlite_store, "web1:100", stop=stop, clock=lambda: T0, say=lines.append,
                    settings=WatchSettings(tick=0.05))
    threading.Timer(1.0, stop.set).start()  # the probe waits on a server that never speaks: 60 s
    summary = watch.run()
    assert summary.not_recorded == 1 and summary.left_claimed == 0
    assert lines[-1].endswith("Not Run Alice <alice@example.com>: cancelled")
    after = services.get_mailbox(sqlite_store, mailbox.id)
    assert (after.version, after.last_attempted_on, after.incoming_status) == (mailbox.version, None,
                                                                               TestStatus.NOT_RUN)
    assert watch_claims.claims() == [] and watch_claims.due_ids(T0) == [mailbox.id]  # due for the next watch


def test_the_readme_shows_the_systemd_unit_of_contrib_and_its_command_runs():
    root = Path(__file__).resolve().parents[2]
    unit = [line for line in (root / "contrib" / "mailbox-tui-watch.service").read_text().splitlines()
            if line and not line.startswith("#")]
    readme = (root / "README.md").read_text()
    shown = readme.split("```ini\n", 1)[1].split("```", 1)[0].splitlines()
    assert [line for line in shown if line] == unit
    command = next(line for line in unit if line.startswith("ExecStart=")).split()[1:]
    assert command[0] == "watch" and set(command[1::2]) <= {"--key-file", "--concurrency"}
    from mailbox_tui.cli import build_parser

    assert build_parser().parse_args(command).command == "watch"
