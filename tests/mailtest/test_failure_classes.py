"""Real servers' failures arrive classified, and the alert says how (issue 24 item 1)."""

from __future__ import annotations

from mail_builders import server_profile, user_mailbox
from support.mailservers import free_port

from mailbox_tui.domain.options import TestStatus
from mailbox_tui.mailtest.plan import INCOMING, OUTGOING, evaluate
from mailbox_tui.mailtest.runner import run_tests
from mailbox_tui.store import queries

WRONG = "Wrong-pw-Zz90^uu"


def test_a_refused_password_is_a_permanent_failure_of_the_mailbox(sqlite_store, servers):
    profile = server_profile(sqlite_store, *servers)
    mailbox = user_mailbox(sqlite_store, profile.id, password=WRONG)
    outcome = evaluate(sqlite_store, mailbox.id)
    for direction in (INCOMING, OUTGOING):
        check = outcome.checks[direction]
        assert check.status == TestStatus.FAILURE
        assert (check.cause.name, check.cause.kind, check.cause.scope) == ("credentials", "permanent", "mailbox")
    assert outcome.as_dict()["checks"][0]["failure"]["kind"] == "permanent"


def test_a_closed_port_is_a_transient_failure_and_the_stored_alert_says_so(sqlite_store, servers):
    profile = server_profile(sqlite_store, *servers, incoming_port=free_port())
    mailbox = user_mailbox(sqlite_store, profile.id)
    run_tests(sqlite_store, [mailbox.id])
    alerts = [a for a in queries.mailbox_alerts(mailbox.id) if a.step == "connect"]
    assert len(alerts) == 1
    assert alerts[0].message.endswith("Transient failure (connection refused, the server's).")
