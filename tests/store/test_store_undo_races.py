"""Issue 22, item 1: an undo is atomic against concurrent writers, on PostgreSQL with real processes.

Admin A runs `mailbox-tui undo` (its own process); admin B saves through the services in this process,
on its own connection. The race is forced, not hoped for: B holds its transaction open (its row lock
taken by the save) while A starts, and lets it commit only once PostgreSQL shows A waiting on a lock.

- B's save lands first: A's undo refuses, naming the record, and B's change is still there (before,
  the undo deleted the user B had just saved: "Saved", then lost).
- Two undos of one entry at once: exactly one wins, the other says it was undone meanwhile (before,
  both succeeded, with two undo entries).
- A's undo locks first: B's save waits for it, then is refused (the record is gone), never "Saved".
"""

from __future__ import annotations

import threading

import pytest

psycopg = pytest.importorskip("psycopg")

from support.races import Observer, cli, until

from mailbox_tui.domain.records import UserDraft
from mailbox_tui.store import services
from mailbox_tui.store.database import ConflictError, Store, StoreError
from mailbox_tui.store.exchange import import_document
from mailbox_tui.store.history import ChangeEntry
from mailbox_tui.store.models import AppUser

USERS = 300


@pytest.fixture
def imported(pg_database_url):
    """A PostgreSQL database with an import of USERS users (each with a mailbox): (url, store, entry)."""
    store = Store(pg_database_url)
    doc = {"users": [{"fullname": f"User {n:04}", "internalemailaddress": f"user{n:04}@example.com"}
                     for n in range(USERS)]}
    report = import_document(store, doc)
    assert report.written and not report.errors
    entry = ChangeEntry.select().where(ChangeEntry.action == "import").order_by(ChangeEntry.id.desc()).first()
    yield pg_database_url, store, entry.id
    store.close()


def test_a_save_that_lands_while_the_undo_checks_makes_the_undo_refuse_and_is_kept(imported):
    url, store, entry = imported
    victim = AppUser.select().where(AppUser.email_key == "user0000@example.com").get()
    observer = Observer(url)
    b_pid = store.db.execute_sql("SELECT pg_backend_pid()").fetchone()[0]
    try:
        with store.transaction():  # B: the save is made, its lock held, not yet committed
            base = services.get_user(store, victim.id)
            services.update_user(store, base, UserDraft(**{**base.__dict__, "full_name": "Edited by B"}))
            undo = cli("undo", entry, "--db", url, "--json")
            until(lambda: observer.waiting({b_pid}) >= 1 or undo.poll() is not None,
                  what="the undo to wait on B's lock")
            assert undo.poll() is None, undo.communicate()
        out, err = undo.communicate(timeout=120)
    finally:
        observer.close()
    assert undo.returncode != 0, out
    assert "changed since" in err and "user0000@example.com" in err, err
    assert AppUser.get_by_id(victim.id).full_name == "Edited by B"
    assert AppUser.select().count() == USERS  # nothing was undone
    assert not ChangeEntry.select().where(ChangeEntry.undoes == entry).exists()


def test_two_undos_of_one_import_at_once_exactly_one_wins(imported):
    url, store, entry = imported
    victim = AppUser.select().order_by(AppUser.id).first()
    observer = Observer(url)
    b_pid = store.db.execute_sql("SELECT pg_backend_pid()").fetchone()[0]
    try:
        with store.transaction():  # hold one of the import's rows, so both undos start and queue up
            list(AppUser.select(AppUser.id).where(AppUser.id == victim.id).for_update().tuples())
            first = cli("undo", entry, "--db", url)
            second = cli("undo", entry, "--db", url)
            until(lambda: observer.waiting({b_pid}) >= 2, what="both undos to wait")
        results = [p.communicate(timeout=180) + (p.returncode,) for p in (first, second)]
    finally:
        observer.close()
    codes = sorted(r[2] for r in results)
    assert codes[0] == 0 and codes[1] != 0, results
    loser = next(r for r in results if r[2] != 0)
    assert "already undone" in loser[1], loser
    assert ChangeEntry.select().where(ChangeEntry.undoes == entry, ChangeEntry.action == "undo",
                                      ChangeEntry.kind == "import").count() == 1
    assert AppUser.select().count() == 0


def test_a_save_that_comes_while_the_undo_holds_its_rows_waits_and_is_refused(imported):
    url, store, entry = imported
    victim = AppUser.select().order_by(AppUser.id).first()
    base = services.get_user(store, victim.id)
    prober = Observer(url)
    outcome: dict = {}
    try:
        undo = cli("undo", entry, "--db", url)
        until(lambda: prober.row_locked("app_user", victim.id) or undo.poll() is not None,
              what="the undo to lock the user")

        def save() -> None:
            try:
                services.update_user(store, base, UserDraft(**{**base.__dict__, "full_name": "Too late"}))
                outcome["saved"] = True
            except (ConflictError, StoreError, services.NotFound) as exc:
                outcome["refused"] = str(exc)

        saver = threading.Thread(target=save)
        saver.start()
        out, err = undo.communicate(timeout=180)
        saver.join(timeout=60)
    finally:
        prober.close()
    assert undo.returncode == 0, err
    assert "saved" not in outcome and "refused" in outcome, outcome
    assert not AppUser.select().where(AppUser.id == victim.id).exists()
