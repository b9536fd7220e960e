"""The lifecycle's columns and index (schema 9, issue 24): finding the due retries is an index range."""

from __future__ import annotations

import gzip
from datetime import datetime
from pathlib import Path

from mailbox_tui.store import queries
from mailbox_tui.store.database import Store
from mailbox_tui.store.models import Mailbox

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "upgrades"


def due_plan(db) -> str:
    query = Mailbox.select(Mailbox.id).where(Mailbox.next_test_attempt <= datetime(2026, 3, 1),
                                             Mailbox.state == 0).order_by(Mailbox.next_test_attempt).limit(500)
    sql, params = query.sql()
    return " ".join(str(row[-1]) for row in db.execute_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall())


def test_the_due_retries_are_found_through_the_index_on_a_new_database(sqlite_url):
    store = Store(sqlite_url)
    try:
        plan = due_plan(store.db)
        assert "INDEX mailbox_state_next_test_attempt (state=? AND next_test_attempt<?)" in plan
        assert "SCAN" not in plan and "TEMP B-TREE" not in plan  # a range of the index, already in order
        assert queries.due_retry_ids(datetime(2026, 3, 1)) == []
    finally:
        store.close()


def test_a_schema_8_database_gets_the_columns_with_their_defaults_and_the_index(tmp_path, monkeypatch):
    import sys

    sys.path.insert(0, str(FIXTURES))
    from build import FIXTURE_KEY

    monkeypatch.setenv("MAILBOX_TUI_KEY", FIXTURE_KEY)
    db = tmp_path / "mailboxes.db"
    db.write_bytes(gzip.decompress((FIXTURES / "schema8.db.gz").read_bytes()))
    store = Store(f"sqlite:///{db}")
    try:
        rows = store.db.execute_sql("SELECT transient_failures, test_retries, next_test_attempt, last_error, "
                                    "last_error_count FROM mailbox").fetchall()
        assert rows and set(rows) == {(0, 0, None, "", 0)}
        assert set(store.db.execute_sql("SELECT transient_retries, retry_interval_minutes "
                                        "FROM email_server_profile").fetchall()) == {(10, 5)}
        assert "INDEX mailbox_state_next_test_attempt (state=? AND next_test_attempt<?)" in due_plan(store.db)
    finally:
        store.close()
