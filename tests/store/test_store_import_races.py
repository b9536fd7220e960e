"""Issue 22, item 1 ("the same for any bulk write"): an import's updates of stored records are atomic
against a concurrent save, on PostgreSQL with real processes.

Admin A runs `mailbox-tui import` (its own process); admin B saves through the services in this
process. The race is forced, not hoped for: a row A writes first is held (a connection of its own)
until PostgreSQL shows A waiting on it, so B's save lands after A judged the file and before A writes.
Before, A then wrote over B's save ("Saved", then lost: B's name or username gone, with no word to
either admin). Now A locks every stored record it judged (key order, in chunks, in its one
transaction) and, if one changed since it read it, writes nothing and names it; a save that comes
once A holds them waits, then is refused, never "Saved" and then overwritten.
"""

from __future__ import annotations

import json
import threading

import pytest

psycopg = pytest.importorskip("psycopg")

from support.builders import user
from support.races import Observer, RowHold, cli, until

from mailbox_tui.domain.records import UserDraft
from mailbox_tui.store import services
from mailbox_tui.store.database import ConflictError, Store, StoreError
from mailbox_tui.store.history import ChangeEntry
from mailbox_tui.store.models import AppUser, Mailbox


@pytest.fixture
def team(pg_database_url, tmp_path):
    """Alice, Bob and Carol (ids in that order), B's store, and an observer of PostgreSQL's locks."""
    store = Store(pg_database_url)
    store.actor = "b@example.com"
    people = [user(store, *who)[0] for who in (("Alice Berg", "alice@example.com"), ("Bob Stone", "bob@example.com"),
                                               ("Carol Diaz", "carol@example.com"))]
    observer = Observer(pg_database_url)
    yield store, observer, people, tmp_path
    observer.close()
    store.close()


def _file(tmp_path, doc: dict):
    path = tmp_path / "import.json"
    path.write_text(json.dumps(doc))
    return path


def _rename(store, user_id: int, name: str) -> None:
    base = services.get_user(store, user_id)
    services.update_user(store, base, UserDraft(**{**base.__dict__, "full_name": name}))


def _set_username(store, user_id: int, username: str) -> None:
    box = services.get_mailbox(store, Mailbox.get(Mailbox.regarding_user == user_id).id)
    services.update_mailbox(store, box, box.copy(username=username))


def _b_pid(store) -> int:
    return store.db.execute_sql("SELECT pg_backend_pid()").fetchone()[0]


RACES = {
    # what the file changes, what B saves meanwhile (Bob), what B's save left, and the record named
    "a user's name": (
        {"users": [{"fullname": "Alice Imported", "internalemailaddress": "alice@example.com"},
                   {"fullname": "Bob Imported", "internalemailaddress": "bob@example.com"}]},
        lambda store, bob: _rename(store, bob, "Edited by B"),
        lambda bob: AppUser.get_by_id(bob).full_name == "Edited by B",
        "User 'bob@example.com' was changed by someone else since the import read it (Full Name)"),
    "a mailbox's username": (
        {"users": [{"fullname": "Alice Imported", "internalemailaddress": "alice@example.com"}],
         "mailboxes": [{"regarding": {"user": "bob@example.com"}, "username": "bob-imported"}]},
        lambda store, bob: _set_username(store, bob, "bob-by-b"),
        lambda bob: Mailbox.get(Mailbox.regarding_user == bob).username == "bob-by-b",
        "Mailbox 'Bob Stone' was changed by someone else since the import read it (User Name)"),
}


@pytest.mark.parametrize("race", RACES)
def test_a_save_between_the_imports_judging_and_its_writes_makes_it_refuse_naming_the_record(team, race):
    store, observer, (alice, bob, carol), tmp_path = team
    doc, save, kept, named = RACES[race]
    hold = RowHold(store.url, "app_user", alice.id)  # the first record A writes: A waits there
    try:
        a = cli("import", _file(tmp_path, doc), "--db", store.url)
        until(lambda: observer.waiting({_b_pid(store)}) >= 1 or a.poll() is not None,
              what="the import to wait on Alice's row")
        assert a.poll() is None, a.communicate()
        save(store, bob.id)  # B: "Saved" (Bob is not held by anyone)
    finally:
        hold.release()
    out, err = a.communicate(timeout=120)
    assert a.returncode != 0, out
    assert named in err and "nothing was imported" in err, err
    assert kept(bob.id)  # before: the import wrote over B's save
    assert AppUser.get_by_id(alice.id).full_name == "Alice Berg"  # nothing of the import was written
    assert not ChangeEntry.select().where(ChangeEntry.action == "import").exists()


def test_a_save_that_landed_before_the_import_read_is_judged_and_kept(team):
    """The other order: B saved before A read the file; the import sees B's values and writes its own."""
    store, _, (alice, bob, carol), tmp_path = team
    _set_username(store, bob.id, "bob-by-b")
    a = cli("import", _file(tmp_path, {"users": [{"fullname": "Bob Imported", "internalemailaddress":
                                                  "bob@example.com"}]}), "--db", store.url)
    out, err = a.communicate(timeout=120)
    assert a.returncode == 0, err
    assert AppUser.get_by_id(bob.id).full_name == "Bob Imported"
    assert Mailbox.get(Mailbox.regarding_user == bob.id).username == "bob-by-b"


def test_a_save_that_comes_while_the_import_holds_its_records_waits_and_is_refused(team):
    """A has locked what it judged and is still writing (its insert of a new user waits on B's other,
    uncommitted, insert of that address): B's save of a record A holds waits, then is refused."""
    store, observer, (alice, bob, carol), tmp_path = team
    base = services.get_user(store, bob.id)  # B opened Bob's form before
    blocker = psycopg.connect(store.url)  # another admin creating dave@, not committed yet
    blocker.execute("INSERT INTO app_user (full_name, email, email_key, state, version, created_on, modified_on) "
                    "VALUES ('Dave Other', 'dave@example.com', 'dave@example.com', 0, 1, now(), now())")
    blocker_pid = blocker.info.backend_pid
    try:
        a = cli("import", _file(tmp_path, {"users": [
            {"fullname": "Bob Imported", "internalemailaddress": "bob@example.com"},
            {"fullname": "Dave Imported", "internalemailaddress": "dave@example.com"}]}), "--db", store.url)
        until(lambda: observer.waiting({_b_pid(store), blocker_pid}) >= 1 or a.poll() is not None,
              what="the import to wait on the other insert of dave@")
        assert a.poll() is None, a.communicate()
        assert observer.row_locked("app_user", bob.id)  # A holds Bob
        outcome: dict = {}

        def save() -> None:
            try:
                services.update_user(store, base, UserDraft(**{**base.__dict__, "full_name": "Edited by B"}))
                outcome["saved"] = True
            except StoreError as exc:
                outcome["refused"] = str(exc)

        saver = threading.Thread(target=save)
        saver.start()
        saver.join(timeout=60)
        assert "saved" not in outcome, outcome
        assert "holds this record" in outcome["refused"] and "nothing was saved" in outcome["refused"], outcome
    finally:
        blocker.rollback()  # the other admin gave up: A goes on
        blocker.close()
    out, err = a.communicate(timeout=120)
    assert a.returncode == 0, err
    assert AppUser.get_by_id(bob.id).full_name == "Bob Imported"
    with pytest.raises(ConflictError):  # B tries again from the form as it was: told it changed, not saved
        services.update_user(store, base, UserDraft(**{**base.__dict__, "full_name": "Edited by B"}))
    assert AppUser.get_by_id(bob.id).full_name == "Bob Imported"


def test_the_undo_of_an_import_that_updated_records_refuses_once_one_changed_since(team):
    store, _, (alice, bob, carol), tmp_path = team
    a = cli("import", _file(tmp_path, {"users": [{"fullname": "Bob Imported", "internalemailaddress":
                                                  "bob@example.com"}]}), "--db", store.url)
    out, err = a.communicate(timeout=120)
    assert a.returncode == 0, err
    entry = ChangeEntry.select().where(ChangeEntry.action == "import").get()
    _rename(store, bob.id, "Edited by B")
    undo = cli("undo", entry.id, "--db", store.url)
    out, err = undo.communicate(timeout=120)
    assert undo.returncode != 0, out
    assert "changed since" in err and "bob@example.com" in err, err
    assert AppUser.get_by_id(bob.id).full_name == "Edited by B"


def test_another_admins_save_during_an_import_is_not_listed_inside_the_imports_group(team):
    """Issue 22, item 6 ("the import entry sorts with its records"), on PostgreSQL: A's import is held
    half-written (its insert of dave@ waits on another admin's uncommitted insert of that address) while
    B saves Carol; `history` and the History page then list the import above its records, B's save not
    among them."""
    store, observer, (alice, bob, carol), tmp_path = team
    blocker = psycopg.connect(store.url)
    blocker.execute("INSERT INTO app_user (full_name, email, email_key, state, version, created_on, modified_on) "
                    "VALUES ('Dave Other', 'dave@example.com', 'dave@example.com', 0, 1, now(), now())")
    try:
        a = cli("import", _file(tmp_path, {"users": [
            {"fullname": "Bob Imported", "internalemailaddress": "bob@example.com"},
            {"fullname": "Dave Imported", "internalemailaddress": "dave@example.com"}]}), "--db", store.url)
        until(lambda: observer.waiting({_b_pid(store), blocker.info.backend_pid}) >= 1 or a.poll() is not None,
              what="the import to wait on the other insert of dave@")
        assert a.poll() is None, a.communicate()
        _rename(store, carol.id, "Carol by B")  # B's save, while A is half-written
    finally:
        blocker.rollback()
        blocker.close()
    out, err = a.communicate(timeout=120)
    assert a.returncode == 0, err
    from mailbox_tui.store.history_read import history_page

    page = history_page(store, limit=50)
    head = next(i for i, e in enumerate(page) if e.action == "import")
    members = [i for i, e in enumerate(page) if e.batch == page[head].id]
    saved = next(i for i, e in enumerate(page) if e.kind == "user" and e.record_id == carol.id and e.action == "update")
    assert len(members) >= 3  # Bob's update, Dave and his mailbox
    assert not head < saved < max(members), [(e.id, e.kind, e.record_key, e.action) for e in page]
