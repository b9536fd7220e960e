"""A form's save never hangs behind another admin's long operation (issue 22, figures): an undo or an import
holds its records until it commits (one transaction, as item 1 requires), so on PostgreSQL a save of a record
it holds gives up after SAVE_LOCK_WAIT_S with a sentence and saves nothing, instead of waiting minutes; a save
of any other record is not slowed. The long operation is a real second connection holding the row."""

from __future__ import annotations

import threading
import time

import pytest

psycopg = pytest.importorskip("psycopg")

from support.builders import user  # noqa: E402
from support.races import RowHold  # noqa: E402

from mailbox_tui.domain.records import UserDraft  # noqa: E402
from mailbox_tui.store import services  # noqa: E402
from mailbox_tui.store.database import SAVE_LOCK_WAIT_S, Store, StoreError  # noqa: E402
from mailbox_tui.store.models import AppUser  # noqa: E402


def _named(u: UserDraft, name: str) -> UserDraft:
    return UserDraft(**{**u.__dict__, "full_name": name})


@pytest.fixture
def pg_store(pg_database_url):
    store = Store(pg_database_url)
    store.actor = "admin@example.com"
    yield store
    store.close()


def test_a_save_of_a_record_another_transaction_holds_gives_up_in_about_a_second(pg_store):
    alice, _ = user(pg_store)
    bob, _ = user(pg_store, "Bob Dahl", "bob@example.com")
    hold = RowHold(pg_store.url, "app_user", alice.id)  # as an undo of the import that made her would
    # Without the limit the save would wait for the hold: end it later, so such a save fails the timing below.
    backstop = threading.Timer(SAVE_LOCK_WAIT_S + 10, hold.release)
    backstop.start()
    try:
        started = time.monotonic()
        with pytest.raises(StoreError) as refused:
            services.update_user(pg_store, alice, _named(alice, "Alice Edited"))
        waited = time.monotonic() - started
        assert SAVE_LOCK_WAIT_S <= waited < SAVE_LOCK_WAIT_S + 5, waited
        assert "holds this record" in str(refused.value) and "nothing was saved" in str(refused.value)
        started = time.monotonic()
        services.update_user(pg_store, bob, _named(bob, "Bob Edited"))  # another record: not slowed
        assert time.monotonic() - started < SAVE_LOCK_WAIT_S
    finally:
        backstop.cancel()
        if not hold.con.closed:
            hold.release()
    assert AppUser.get_by_id(alice.id).full_name == "Alice Berg"  # nothing of the refused save was written
    assert AppUser.get_by_id(bob.id).full_name == "Bob Edited"
    now = services.get_user(pg_store, alice.id)
    services.update_user(pg_store, now, _named(now, "Alice Later"))
    assert AppUser.get_by_id(alice.id).full_name == "Alice Later"  # and it saves once the hold is gone
