"""The runner: bounded concurrency, cancellation, deadline, progress, and what it writes. Real servers."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter

import pytest
from mail_builders import server_profile, user_mailbox
from support.mailservers import MAIL_USERS

from mailbox_tui.domain.options import TestStatus, TlsMode
from mailbox_tui.mailtest import runner as runner_module
from mailbox_tui.mailtest.probes import probe
from mailbox_tui.mailtest.runner import CANCELLED, DEADLINE, TestRunner, run_tests
from mailbox_tui.store import queries, services
from mailbox_tui.store.database import Store
from mailbox_tui.store.models import Mailbox

S, F, N = TestStatus.SUCCESS, TestStatus.FAILURE, TestStatus.NOT_RUN
WRONG = "Wrong-pw-Zz90^uu"  # dovecot takes ~0.5 s to refuse it: probes overlap for sure


class CountingProbe:
    """The real probe, counting how many run at once, in total and per host (instrumentation, not a mock)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.now = 0
        self.most = 0
        self.per_host: Counter[str] = Counter()
        self.most_per_host: Counter[str] = Counter()
        self.calls = 0

    def __call__(self, endpoint, credentials):
        with self.lock:
            self.calls += 1
            self.now += 1
            self.per_host[endpoint.host] += 1
            self.most = max(self.most, self.now)
            self.most_per_host[endpoint.host] = max(self.most_per_host[endpoint.host], self.per_host[endpoint.host])
        try:
            return probe(endpoint, credentials)
        finally:
            with self.lock:
                self.now -= 1
                self.per_host[endpoint.host] -= 1


def many_mailboxes(store, profile_id, count, password=WRONG, prefix="user", outgoing=0):
    return [user_mailbox(store, profile_id, email=f"{prefix}{i:03d}@example.com", login="alice@example.com",
                         password=password, outgoing=outgoing).id for i in range(count)]


def test_results_are_written_with_flags_dates_and_alerts_kept_as_history(sqlite_store, servers):
    profile = server_profile(sqlite_store, *servers)
    good = user_mailbox(sqlite_store, profile.id)
    bad = user_mailbox(sqlite_store, profile.id, email="bob@example.com", password=WRONG)
    report = run_tests(sqlite_store, [good.id, bad.id])
    assert (report.successes, report.failures, report.not_run) == (1, 1, [])

    g, b = services.get_mailbox(sqlite_store, good.id), services.get_mailbox(sqlite_store, bad.id)
    assert (g.incoming_status, g.outgoing_status, g.act_status) == (S, S, N)
    assert (g.enabled_incoming, g.enabled_outgoing, g.enabled_act) == (True, True, False)
    assert (b.incoming_status, b.outgoing_status) == (F, F)
    assert not b.enabled_incoming and not b.enabled_outgoing
    assert g.test_completed_on is not None and b.test_completed_on is not None
    assert queries.mailbox_alerts(good.id) == []
    first = queries.mailbox_alerts(bad.id)
    assert sorted(a.step for a in first) == ["authentication", "authentication", "disabled", "disabled"]
    failed = [a for a in first if a.step == "authentication"]
    assert all(a.level == "error" and "Login rejected" in a.message for a in failed)
    assert sorted(a.message.split(":")[0] for a in first if a.step == "disabled") == [
        "Incoming email disabled", "Outgoing email disabled"]  # a permanent failure (issue 24)
    assert all(WRONG not in a.message for a in first)

    run_tests(sqlite_store, [bad.id])
    assert len(queries.mailbox_alerts(bad.id)) == 8  # the earlier alerts stay as history


def test_a_fixed_mailbox_is_enabled_on_the_next_run(sqlite_store, servers):
    profile = server_profile(sqlite_store, *servers)
    bad = user_mailbox(sqlite_store, profile.id, password=WRONG)
    run_tests(sqlite_store, [bad.id])
    current = services.get_mailbox(sqlite_store, bad.id)
    from mailbox_tui.domain.records import PasswordEdit

    services.update_mailbox(sqlite_store, current, current.copy(
        password=PasswordEdit(stored=True, new=MAIL_USERS["alice@example.com"])))
    assert services.get_mailbox(sqlite_store, bad.id).incoming_status == N  # M17: stale results reset
    run_tests(sqlite_store, [bad.id])
    fixed = services.get_mailbox(sqlite_store, bad.id)
    assert fixed.incoming_status == S and fixed.enabled_incoming


def test_progress_reports_every_mailbox_as_it_arrives(sqlite_store, servers):
    profile = server_profile(sqlite_store, *servers)
    ids = [user_mailbox(sqlite_store, profile.id).id,
           user_mailbox(sqlite_store, profile.id, email="bob@example.com", password=WRONG).id,
           user_mailbox(sqlite_store, profile.id, email="carol@example.com", approve=False).id]
    seen = []
    report = TestRunner(sqlite_store, on_progress=seen.append).run(ids)
    assert seen[0].done == 0 and seen[0].total == 3 and seen[0].outcome is None
    assert [p.done for p in seen[1:]] == [1, 2, 3]
    assert {p.outcome.mailbox_id for p in seen[1:]} == set(ids)
    assert (seen[-1].successes, seen[-1].failures) == (1, 2) == (report.successes, report.failures)


def test_a_failing_progress_callback_does_not_lose_results(sqlite_store, servers, caplog):
    profile = server_profile(sqlite_store, *servers)
    mailbox = user_mailbox(sqlite_store, profile.id)

    def broken(progress):
        raise RuntimeError("display went away")

    TestRunner(sqlite_store, on_progress=broken).run([mailbox.id])
    assert services.get_mailbox(sqlite_store, mailbox.id).incoming_status == S
    assert "progress callback failed" in caplog.text


def test_global_concurrency_is_bounded(sqlite_store, servers):
    profile = server_profile(sqlite_store, *servers, max_concurrent_connections=50)
    ids = many_mailboxes(sqlite_store, profile.id, 12)
    counting = CountingProbe()
    report = TestRunner(sqlite_store, concurrency=3, probe_fn=counting).run(ids)
    assert report.failures == 12 and counting.calls == 12
    assert counting.most == 3  # reached, never passed


def test_each_host_gets_at_most_its_profiles_connection_limit(sqlite_store, servers):
    dovecot, smtp = servers
    by_ip = server_profile(sqlite_store, dovecot, smtp, name="By IP", max_concurrent_connections=2)
    by_name = server_profile(sqlite_store, dovecot, smtp, name="By name", max_concurrent_connections=2,
                             incoming_location="localhost", outgoing_location="localhost")
    ids = many_mailboxes(sqlite_store, by_ip.id, 6, prefix="ip") + many_mailboxes(sqlite_store, by_name.id, 6,
                                                                                  prefix="name")
    counting = CountingProbe()
    TestRunner(sqlite_store, concurrency=32, probe_fn=counting).run(ids)
    assert counting.most_per_host == {"127.0.0.1": 2, "localhost": 2}
    assert counting.most == 4  # the two hosts in parallel


def test_per_host_limit_option_caps_a_generous_profile(sqlite_store, servers):
    profile = server_profile(sqlite_store, *servers, max_concurrent_connections=300)
    ids = many_mailboxes(sqlite_store, profile.id, 6)
    counting = CountingProbe()
    TestRunner(sqlite_store, concurrency=32, per_host_limit=2, probe_fn=counting).run(ids)
    assert counting.most == 2


def test_cancelling_stops_promptly_and_keeps_what_finished(sqlite_store, servers):
    profile = server_profile(sqlite_store, *servers)
    ids = many_mailboxes(sqlite_store, profile.id, 20)
    cancel = threading.Event()

    def on_progress(progress):
        if progress.done == 3:
            cancel.set()

    started = time.monotonic()
    report = TestRunner(sqlite_store, concurrency=2, cancel=cancel, on_progress=on_progress).run(ids)
    assert time.monotonic() - started < 4  # 20 × 0.5 s / 2 would be 5 s
    assert report.cancelled and not report.deadline_reached
    assert 3 <= len(report.outcomes) < 20
    assert {n.reason for n in report.not_run} == {CANCELLED}
    assert all(n.email.endswith("@example.com") for n in report.not_run)  # named, not just numbered
    assert len(report.outcomes) + len(report.not_run) == 20
    tested = {m.id for m in Mailbox.select(Mailbox.id).where(Mailbox.test_completed_on.is_null(False))}
    assert tested == {o.mailbox_id for o in report.outcomes}


def test_the_overall_deadline_holds_against_a_server_that_never_speaks(sqlite_store, silent_server):
    from support import builders

    profile = builders.imap_profile(sqlite_store, "Silent", incoming_location="127.0.0.1",
                                    incoming_port=silent_server.port, incoming_tls=TlsMode.NONE,
                                    outgoing_location="127.0.0.1", timeout_seconds=30)
    ids = many_mailboxes(sqlite_store, profile.id, 6)
    started = time.monotonic()
    report = TestRunner(sqlite_store, concurrency=2, deadline=1.5).run(ids)
    assert time.monotonic() - started < 2.5
    assert report.deadline_reached
    assert len(report.outcomes) + len(report.not_run) == 6
    assert all(n.reason == DEADLINE for n in report.not_run)


def test_batches_are_written_as_the_run_goes(sqlite_store, servers, monkeypatch):
    profile = server_profile(sqlite_store, *servers)
    ids = many_mailboxes(sqlite_store, profile.id, 5, password=MAIL_USERS["alice@example.com"])
    written = []
    real = runner_module.services.record_test_results

    def recording(store, mailbox_id, *args, **kwargs):
        written.append(mailbox_id)
        return real(store, mailbox_id, *args, **kwargs)

    monkeypatch.setattr(runner_module.services, "record_test_results", recording)  # a spy on the real writer
    monkeypatch.setattr(runner_module, "FLUSH_SECONDS", 3600)  # only full batches, for a fixed count
    seen_written = []
    TestRunner(sqlite_store, batch_size=2, concurrency=1,
               on_progress=lambda p: seen_written.append(len(written))).run(ids)
    assert sorted(written) == sorted(ids)
    # Progress comes as each result arrives; every second result completes a batch of two, written at once.
    assert seen_written[1:] == [0, 0, 2, 2, 4]


def test_runs_from_another_thread_and_closes_its_connection(sqlite_store, servers):
    profile = server_profile(sqlite_store, *servers)
    mailbox = user_mailbox(sqlite_store, profile.id)
    seen = {}

    def worker():  # as a Textual thread worker would
        seen["report"] = run_tests(sqlite_store, [mailbox.id])
        seen["closed"] = sqlite_store.db.is_closed()

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(30)
    assert seen["report"].successes == 1 and seen["closed"]
    assert services.get_mailbox(sqlite_store, mailbox.id).enabled_incoming


def test_no_password_in_alerts_results_or_log(sqlite_store, servers, caplog):
    caplog.set_level(logging.INFO, logger="mailbox_tui")
    profile = server_profile(sqlite_store, *servers)
    good = user_mailbox(sqlite_store, profile.id)
    bad = user_mailbox(sqlite_store, profile.id, email="bob@example.com", password=WRONG)
    report = run_tests(sqlite_store, [good.id, bad.id])
    texts = [caplog.text, repr(report), repr(report.as_dict())]
    texts += [a.message for m in (good, bad) for a in queries.mailbox_alerts(m.id)]
    assert "Login rejected" in caplog.text
    for secret in (WRONG, MAIL_USERS["alice@example.com"]):
        assert all(secret not in text for text in texts)


@pytest.mark.postgres
def test_runner_on_postgresql(pg_database_url, servers):
    with Store(pg_database_url) as store:
        profile = server_profile(store, *servers)
        good = user_mailbox(store, profile.id)
        bad = user_mailbox(store, profile.id, email="bob@example.com", password=WRONG)
        unapproved = user_mailbox(store, profile.id, email="carol@example.com", approve=False)
        report = TestRunner(store, concurrency=4, batch_size=1).run([good.id, bad.id, unapproved.id])
        assert (report.successes, report.failures) == (1, 2)
        assert services.get_mailbox(store, good.id).enabled_outgoing
        assert services.get_mailbox(store, bad.id).incoming_status == F
        # A rule is a permanent failure: both directions disabled, each with its alert (issue 24).
        assert sorted(a.step for a in queries.mailbox_alerts(unapproved.id)) == ["disabled", "disabled", "rule A2"]
