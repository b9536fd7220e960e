"""What `mailbox-tui watch` finds due and claims (issue 24 item 4), on SQLite and PostgreSQL: one index range,
claims that no one else takes until they expire, releases that touch only the releaser's own."""

from __future__ import annotations

import gzip
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from support import builders

from mailbox_tui.domain.options import ProcessingState, RecordState
from mailbox_tui.store import watch_claims
from mailbox_tui.store.database import Store
from mailbox_tui.store.models import Mailbox

T0 = datetime(2026, 3, 1, 14, 30)
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "upgrades"


@pytest.fixture
def mailboxes(store):
    ids = [builders.user(store, f"User {n}", f"user{n}@example.com")[1].id for n in range(5)]
    for n, mailbox_id in enumerate(ids):  # due one minute apart, from T0 - 2 min
        Mailbox.update(next_processing=T0 + timedelta(minutes=n - 2)).where(Mailbox.id == mailbox_id).execute()
    return ids


def test_the_due_mailboxes_are_the_active_ones_whose_time_has_come_soonest_first(store, mailboxes):
    assert watch_claims.due_ids(T0) == mailboxes[:3]
    Mailbox.update(state=RecordState.INACTIVE).where(Mailbox.id == mailboxes[0]).execute()
    assert watch_claims.due_ids(T0) == mailboxes[1:3]
    assert watch_claims.due_ids(T0 - timedelta(hours=1)) == [] and not watch_claims.any_due(T0 - timedelta(hours=1))
    Mailbox.update(next_processing=None).where(Mailbox.id == mailboxes[1]).execute()  # nothing enabled: never due
    assert watch_claims.due_ids(T0 + timedelta(days=1)) == [mailboxes[2], mailboxes[3], mailboxes[4]]


def test_a_claim_marks_the_host_and_processing_and_no_one_else_gets_the_mailbox_until_it_expires(store, mailboxes):
    first = watch_claims.claim(store, "web1:100", T0, limit=2)
    assert [c.mailbox_id for c in first] == mailboxes[:2] and not any(c.retry for c in first)
    assert watch_claims.claims() == [(mailboxes[0], "web1:100"), (mailboxes[1], "web1:100")]
    row = Mailbox.get_by_id(mailboxes[0])
    assert row.processing_state == ProcessingState.PROCESSING and row.claimed_on is not None
    second = watch_claims.claim(store, "web2:200", T0, limit=10)
    assert [c.mailbox_id for c in second] == [mailboxes[2]]  # the rest is claimed
    assert watch_claims.claim(store, "web3:300", T0, limit=10) == []
    time.sleep(1.1)  # claims have whole seconds: a one-second timeout has passed now
    taken = watch_claims.claim(store, "web3:300", T0, limit=10, claim_timeout=1)
    assert [c.mailbox_id for c in taken] == mailboxes[:3]  # a dead watch's claims are taken over
    assert {host for _, host in watch_claims.claims()} == {"web3:300"}


def test_a_release_gives_back_only_what_that_host_holds(store, mailboxes):
    watch_claims.claim(store, "web1:100", T0, limit=1)
    watch_claims.claim(store, "web2:200", T0, limit=1)
    assert watch_claims.release(store, mailboxes, "web1:100") == 1
    assert watch_claims.claims() == [(mailboxes[1], "web2:200")]
    assert watch_claims.due_ids(T0) == [mailboxes[0], mailboxes[2]]
    assert watch_claims.release_all(store) == 1 and watch_claims.claims() == []


def test_a_mailbox_with_a_retry_scheduled_is_claimed_as_a_retry(store, mailboxes):
    Mailbox.update(next_test_attempt=T0).where(Mailbox.id == mailboxes[0]).execute()
    claimed = watch_claims.claim(store, "web1:100", T0, limit=10)
    assert [(c.mailbox_id, c.retry) for c in claimed] == [(mailboxes[0], True), (mailboxes[1], False),
                                                          (mailboxes[2], False)]


def plan(store) -> str:
    sql, params = watch_claims.due_query(T0, 200).sql()
    if store.is_postgres:
        store.db.execute_sql("SET enable_seqscan = off")  # a few rows: the planner would rather read the table
        try:
            return " ".join(r[0] for r in store.db.execute_sql("EXPLAIN " + sql, params).fetchall())
        finally:
            store.db.execute_sql("SET enable_seqscan = on")
    return " ".join(str(r[-1]) for r in store.db.execute_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall())


def test_finding_the_due_mailboxes_is_one_range_of_the_index_in_order(store, mailboxes):
    found = plan(store)
    if store.is_postgres:
        assert "Index Scan using mailbox_state_next_processing" in found and "Sort" not in found
    else:
        assert "INDEX mailbox_state_next_processing (state=? AND next_processing<?)" in found
        assert "SCAN" not in found and "TEMP B-TREE" not in found


def test_an_upgraded_schema_9_database_has_its_enabled_mailboxes_due_at_once(tmp_path, monkeypatch):
    sys.path.insert(0, str(FIXTURES))
    from build import FIXTURE_KEY

    monkeypatch.setenv("MAILBOX_TUI_KEY", FIXTURE_KEY)
    db = tmp_path / "mailboxes.db"
    db.write_bytes(gzip.decompress((FIXTURES / "schema9.db.gz").read_bytes()))
    with Store(f"sqlite:///{db}") as store:
        rows = list(Mailbox.select().tuples().objects())
        enabled = [m for m in rows if m.enabled_incoming or m.enabled_outgoing or m.enabled_act
                   or m.next_test_attempt]
        assert enabled, "the fixture has mailboxes that Test & Enable enabled"
        assert all(m.next_processing is not None and m.next_processing <= datetime.now() for m in enabled)
        assert all(m.next_processing is None for m in rows if m not in enabled)
        assert {(m.host_id, m.processing_state, m.claimed_on) for m in rows} == {("", ProcessingState.IDLE, None)}
        assert sorted(watch_claims.due_ids(datetime.now(), 1000)) == sorted(m.id for m in enabled)
        assert "INDEX mailbox_state_next_processing" in plan(store)
