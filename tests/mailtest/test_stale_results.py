"""A test result belongs to the configuration that was tested: a mailbox, profile or credentials
changed while the test ran get no result from the old configuration (nothing written), and the
run says the configuration changed during the test. Real servers, real SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from mail_builders import server_profile, user_mailbox
from support.mailservers import MAIL_USERS

from mailbox_tui.domain.options import TestStatus
from mailbox_tui.domain.records import PasswordEdit
from mailbox_tui.mailtest.probes import probe
from mailbox_tui.mailtest.runner import CHANGED, TestRunner
from mailbox_tui.store import queries, services
from mailbox_tui.store.database import Store
from mailbox_tui.store.models import EmailServerProfile

S, N = TestStatus.SUCCESS, TestStatus.NOT_RUN
ALICE_PW = MAIL_USERS["alice@example.com"]
NEW_PW = "Changed-pw-Rt64$kk"


class ChangesDuringTheProbe:
    """The real probe; while it runs, an admin saves a change (through the services, on its own
    connection, as another session would). Instrumentation around the real probe, not a mock."""

    def __init__(self, store, change):
        self.store, self.change, self.done = store, change, False

    def __call__(self, endpoint, credentials):
        result = probe(endpoint, credentials)
        if not self.done:
            self.done = True
            self.change(self.store)
            self.store.db.close()  # this worker thread's connection
        return result


def new_mailbox_password(mailbox_id):
    def change(store):
        current = services.get_mailbox(store, mailbox_id)
        services.update_mailbox(store, current, current.copy(password=PasswordEdit(stored=True, new=NEW_PW)))
    return change


def new_profile_password(profile_id):
    # Written past the services on purpose: a profile change that M17's cascade does not reach
    # (the mailbox's own version stays), so only the profile's version tells the result is stale.
    def change(store):
        EmailServerProfile.update(version=EmailServerProfile.version + 1).where(
            EmailServerProfile.id == profile_id).execute()
    return change


@pytest.fixture
def stores(db_url):
    with Store(db_url) as store:
        yield store


def test_credentials_changed_during_the_test_record_nothing_and_say_so(stores, servers):
    profile = server_profile(stores, *servers)
    mailbox = user_mailbox(stores, profile.id)
    report = TestRunner(stores, concurrency=1, probe_fn=ChangesDuringTheProbe(stores, new_mailbox_password(
        mailbox.id))).run([mailbox.id])
    assert report.outcomes == []
    assert [(n.mailbox_id, n.reason) for n in report.not_run] == [(mailbox.id, CHANGED)]
    assert report.not_run[0].name == mailbox.name and report.not_run[0].email == mailbox.email
    assert CHANGED == "the configuration changed during the test"
    after = services.get_mailbox(stores, mailbox.id)
    assert (after.incoming_status, after.outgoing_status) == (N, N)  # the old password's Success is not written
    assert not after.enabled_incoming and not after.enabled_outgoing
    assert after.test_completed_on is None
    assert services.mailbox_password(stores, mailbox.id) == NEW_PW  # the admin's change stands
    assert queries.mailbox_alerts(mailbox.id) == []
    assert report.as_dict()["not_run"] == [{"id": mailbox.id, "name": mailbox.name, "email": mailbox.email,
                                            "reason": CHANGED}]
    from mailbox_tui.ui.testing import summary  # what the app shows when the run ends

    assert f"1 not run (Alice <alice@example.com>: {CHANGED})" in summary(report)


def test_a_profile_changed_during_the_test_records_nothing(stores, servers):
    profile = server_profile(stores, *servers)
    mailbox = user_mailbox(stores, profile.id)
    report = TestRunner(stores, concurrency=1, probe_fn=ChangesDuringTheProbe(stores, new_profile_password(
        profile.id))).run([mailbox.id])
    assert [n.reason for n in report.not_run] == [CHANGED] and report.outcomes == []
    after = services.get_mailbox(stores, mailbox.id)
    assert after.incoming_status == N and not after.enabled_incoming and after.test_completed_on is None


def test_an_unchanged_configuration_is_recorded(stores, servers):
    profile = server_profile(stores, *servers)
    mailbox = user_mailbox(stores, profile.id)
    other = user_mailbox(stores, profile.id, email="bob@example.com")
    # A change to another mailbox during the test does not make this one's result stale.
    report = TestRunner(stores, concurrency=1, probe_fn=ChangesDuringTheProbe(stores, new_mailbox_password(
        other.id))).run([mailbox.id])
    assert report.not_run == [] and report.successes == 1
    after = services.get_mailbox(stores, mailbox.id)
    assert (after.incoming_status, after.outgoing_status) == (S, S) and after.enabled_incoming


def test_record_test_results_writes_only_for_the_version_tested(stores, servers):
    profile = server_profile(stores, *servers)
    mailbox = user_mailbox(stores, profile.id)
    statuses = {"incoming_status": S}
    alert = [services.AlertDraft("warning", "authentication", "a note")]
    assert services.record_test_results(stores, mailbox.id, statuses, alert, tested_version=mailbox.version - 1,
                                        tested_profile=(profile.id, profile.version)) is False
    assert services.get_mailbox(stores, mailbox.id).incoming_status == N
    assert queries.mailbox_alerts(mailbox.id) == []
    assert services.record_test_results(stores, mailbox.id, statuses, alert, tested_version=mailbox.version,
                                        tested_profile=(profile.id, profile.version + 1)) is False
    assert services.get_mailbox(stores, mailbox.id).incoming_status == N
    assert services.record_test_results(stores, mailbox.id, statuses, alert, tested_version=mailbox.version,
                                        tested_profile=(profile.id, profile.version)) is True
    written = services.get_mailbox(stores, mailbox.id)
    assert written.incoming_status == S and written.enabled_incoming and written.version == mailbox.version + 1
    assert len(queries.mailbox_alerts(mailbox.id)) == 1


def test_a_mailbox_deleted_during_the_test_is_reported_not_recorded(stores, servers):
    profile = server_profile(stores, *servers)
    owner = services.get_mailbox(stores, user_mailbox(stores, profile.id).id)
    from mail_builders import forward_mailbox

    forward = forward_mailbox(stores, owner.owner_id, profile.id)

    def delete(store):
        services.delete_mailbox(store, forward.id)

    report = TestRunner(stores, concurrency=1, probe_fn=ChangesDuringTheProbe(stores, delete)).run([forward.id])
    assert [(n.mailbox_id, n.reason) for n in report.not_run] == [(forward.id, "mailbox no longer exists")]
    assert report.not_run[0].name == forward.name
