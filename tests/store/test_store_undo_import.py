"""Issue 13: undo of an import as a whole (store/undo_import.py), on SQLite and PostgreSQL: every
record it created deleted, every record it changed put back, in one transaction, or nothing."""

from __future__ import annotations

import copy
import json

import pytest
from support.builders import forward_draft, imap_profile, user

from mailbox_tui.domain.records import QueueDraft
from mailbox_tui.store import services
from mailbox_tui.store.database import StoreError
from mailbox_tui.store.exchange import import_document
from mailbox_tui.store.history import ChangeEntry, ChangeSecret
from mailbox_tui.store.models import AppUser, EmailServerProfile, Mailbox, Queue
from mailbox_tui.store.undo import UndoRefused, undo
from mailbox_tui.store.undo_import import describe_import_undo, undo_import

DOC = {
    "profiles": [{"name": "Imported IMAP", "servertype": 4, "incomingserverlocation": "imap.example.org",
                  "outgoingserverlocation": "smtp.example.org"}],
    "users": [{"fullname": "Carla Diaz", "internalemailaddress": "carla@example.com"},
              {"fullname": "Dan Eck", "internalemailaddress": "dan@example.com"}],
    "queues": [{"name": "Support", "emailaddress": "support@example.com", "owner": "carla@example.com",
                "incomingemaildeliverymethod": 2, "outgoingemaildeliverymethod": 2}],
    "mailboxes": [{"name": "Imported forward", "emailaddress": "fwd@example.com", "isforwardmailbox": True,
                   "owner": "dan@example.com", "regarding": None, "emailserverprofile": "Imported IMAP",
                   "allowemailconnectortousecredentials": True, "username": "fwd@example.com",
                   "password": "fwd-pw-imported", "incomingemaildeliverymethod": 2,
                   "outgoingemaildeliverymethod": 0, "actdeliverymethod": 2},
                  {"regarding": {"user": "carla@example.com"}, "emailserverprofile": "Imported IMAP",
                   "allowemailconnectortousecredentials": True, "username": "carla@example.com",
                   "password": "carla-pw-imported", "incomingemaildeliverymethod": 2,
                   "outgoingemaildeliverymethod": 2}],
}
OLD_PW, NEW_PW = "s3cret-forward", "n3w-imported-pw"


def counts() -> tuple[int, ...]:
    return (EmailServerProfile.select().count(), AppUser.select().count(), Queue.select().count(),
            Mailbox.select().count(), ChangeEntry.select().count())


def rows(model) -> list[dict]:
    return [dict(r.__data__) for r in model.select().order_by(model.id)]


def stored(tokens: bool = True) -> dict:
    """Every stored record (all columns but the version and time of change), to assert an undo put
    everything back or changed nothing. A password put back is encrypted again: a new token, so
    `tokens=False` leaves them out (the tests compare the decrypted password)."""
    skip = {"version", "modified_on"} | (set() if tokens else {"password_enc"})
    return {model.__name__: [{k: v for k, v in r.items() if k not in skip} for r in rows(model)]
            for model in (EmailServerProfile, AppUser, Queue, Mailbox)}


def imported(store, doc, source="people.json") -> ChangeEntry:
    report = import_document(store, copy.deepcopy(doc), source=source)
    assert report.written and not report.errors, report.findings
    return ChangeEntry.get(ChangeEntry.kind == "import", ChangeEntry.action == "import",
                           ChangeEntry.record_key == source)


@pytest.fixture
def org(store):
    store.actor = "admin@example.com"
    profile = imap_profile(store)
    alice, alice_box = user(store)
    box = services.create_forward_mailbox(store, forward_draft(alice.id, profile.id))
    return store, profile, alice, box


def no_secret_shown(*secrets: str) -> None:
    tokens = [s.old_enc for s in ChangeSecret.select() if s.old_enc] + [s.new_enc for s in ChangeSecret.select()
                                                                         if s.new_enc]
    tokens += [r.password_enc for r in Mailbox.select(Mailbox.password_enc) if r.password_enc]
    for entry in ChangeEntry.select():
        text = json.dumps(entry.__data__, default=str)
        for secret in (*secrets, *tokens):
            assert secret not in text


# ------------------------------------------------------------------------------------------------ creates
def test_undo_of_an_import_that_created_records_deletes_them_all_and_is_recorded(org):
    store, *_ = org
    before, kept = counts(), stored()
    event = imported(store, DOC)
    assert counts()[:4] == (before[0] + 1, before[1] + 2, before[2] + 1, before[3] + 4)
    assert describe_import_undo(event.id) == ("8 records will change: 2 users deleted, 4 mailboxes deleted, "
                                              "1 queue deleted, 1 profile deleted")
    [own] = undo(store, event.id)
    assert stored() == kept
    assert counts()[:4] == before[:4]
    entry = ChangeEntry.get_by_id(own)
    assert (entry.kind, entry.action, entry.undoes, entry.record_key, entry.admin) == (
        "import", "undo", event.id, "people.json", "admin@example.com")
    written = list(ChangeEntry.select().where(ChangeEntry.batch == own))
    assert {(e.kind, e.record_key) for e in written} >= {
        ("profile", "Imported IMAP"), ("user", "carla@example.com"), ("user", "dan@example.com"),
        ("queue", "Support"), ("mailbox", "Imported forward")}
    assert all(e.action == "undo" and e.undoes == event.id for e in written)
    with pytest.raises(UndoRefused, match="already undone"):
        undo(store, event.id)
    with pytest.raises(UndoRefused, match="itself an undo"):
        undo(store, own)
    no_secret_shown("fwd-pw-imported", "carla-pw-imported")


# ------------------------------------------------------------------------------------------------ updates
UPDATE = {"users": [{"fullname": "Alice Berg-Lund", "internalemailaddress": "alice@example.com"}],
          "mailboxes": [{"name": "forward collector", "isforwardmailbox": True, "processanddeleteemails": False,
                         "password": NEW_PW},
                        {"regarding": {"user": "alice@example.com"}, "allowemailconnectortousecredentials": True,
                         "username": "alice.imap@example.com", "password": "alice-pw-imported"}]}


def test_undo_of_an_import_that_updated_records_puts_the_old_values_and_password_back(org):
    store, _, alice, box = org
    kept = stored(tokens=False)
    event = imported(store, UPDATE)
    assert services.mailbox_password(store, box.id) == NEW_PW
    assert AppUser.get_by_id(alice.id).full_name == "Alice Berg-Lund"
    assert describe_import_undo(event.id) == "3 records will change: 1 user put back, 2 mailboxes put back"
    undo(store, event.id)
    assert stored(tokens=False) == kept
    assert services.mailbox_password(store, box.id) == OLD_PW  # decrypted: the old one, encrypted again
    alice_box = Mailbox.get(Mailbox.regarding_user == alice.id)
    assert alice_box.password_enc is None and alice_box.username in ("", None)
    assert (AppUser.get_by_id(alice.id).full_name, Mailbox.get_by_id(box.id).delete_after_processing) == (
        "Alice Berg", True)
    own = ChangeEntry.get(ChangeEntry.undoes == event.id, ChangeEntry.kind == "import")
    assert json.loads(own.changes) == [["put back users", None, 1], ["put back mailboxes", None, 2]]
    no_secret_shown(OLD_PW, NEW_PW, "alice-pw-imported")


def test_undo_of_a_mixed_import(org):
    store, _, alice, box = org
    kept = stored(tokens=False)
    doc = copy.deepcopy(DOC)
    doc["users"] += UPDATE["users"]
    doc["mailboxes"] += UPDATE["mailboxes"]
    event = imported(store, doc)
    assert AppUser.select().count() == 3
    undo(store, event.id)
    assert services.mailbox_password(store, box.id) == OLD_PW
    assert stored(tokens=False) == kept


# ------------------------------------------------------------------------------------------------ refused
def test_undo_of_an_import_is_refused_after_a_later_change_naming_the_records_and_changing_nothing(org):
    store, _, alice, box = org
    doc = copy.deepcopy(DOC)
    doc["mailboxes"] += UPDATE["mailboxes"][:1]
    event = imported(store, doc)
    carla = services.get_user(store, AppUser.get(AppUser.email == "carla@example.com").id)
    services.update_user(store, carla, type(carla)(**{**carla.__dict__, "full_name": "Carla Diaz-Ro"}))
    now = services.get_mailbox(store, box.id)
    services.update_mailbox(store, now, now.copy(name="Collector"))
    before, kept = counts(), stored()
    with pytest.raises(UndoRefused) as refused:
        undo(store, event.id)
    message = str(refused.value)
    assert message.startswith(f"Import #{event.id}: 2 records changed since: ")
    assert "user 'carla@example.com' (Full Name)" in message and "mailbox 'forward collector' (Name)" in message
    assert "Nothing was undone" in message and NEW_PW not in message and OLD_PW not in message
    assert (counts(), stored()) == (before, kept)
    assert services.mailbox_password(store, box.id) == NEW_PW


def test_undo_of_an_import_is_refused_when_one_of_its_records_was_deleted_since(org):
    store, *_ = org
    event = imported(store, DOC)
    services.delete_mailbox(store, Mailbox.get(Mailbox.name == "Imported forward").id)
    before, kept = counts(), stored()
    with pytest.raises(UndoRefused, match=r"1 record changed since: mailbox 'Imported forward' \(.*deleted"):
        undo(store, event.id)
    assert (counts(), stored()) == (before, kept)


def test_a_rule_failing_on_the_thousandth_record_rolls_the_whole_undo_back(org):
    """Users go 500 at a time: the first 500 are deleted when the rule (a user who owns a queue
    does not go) refuses the 1,000th; everything rolls back, nothing is recorded."""
    store, _, alice, _ = org
    doc = {"users": [{"fullname": f"User {i:04d}", "internalemailaddress": f"u{i:04d}@example.com"}
                     for i in range(1200)]}
    event = imported(store, doc, source="many.json")
    queue, _, _ = services.create_queue(store, QueueDraft(name="Help", email="help@example.com", owner_id=alice.id))
    queue = services.get_queue(store, queue.id)
    thousandth = AppUser.get(AppUser.email == "u0999@example.com")
    services.update_queue(store, queue, QueueDraft(**{**queue.__dict__, "owner_id": thousandth.id}))
    before, kept = counts(), stored()
    with pytest.raises(StoreError, match="User 0999 owns 1 queue"):
        undo(store, event.id)
    assert (counts(), stored()) == (before, kept)
    assert not ChangeEntry.select().where(ChangeEntry.undoes == event.id).exists()


# ------------------------------------------------------------------------------------------------ skipped
def test_records_already_undone_alone_are_skipped_and_said(org):
    store, _, alice, _ = org
    kept = stored(tokens=False)
    doc = copy.deepcopy(DOC)
    doc["users"] += UPDATE["users"]
    event = imported(store, doc)
    undo(store, ChangeEntry.get(ChangeEntry.batch == event.id, ChangeEntry.kind == "queue").id)
    undo(store, ChangeEntry.get(ChangeEntry.batch == event.id, ChangeEntry.kind == "user",
                                ChangeEntry.record_id == alice.id).id)
    done = undo_import(store, ChangeEntry.get_by_id(event.id))
    assert sorted(done.skipped) == ["mailbox 'Support'", "queue 'Support'", "user 'alice@example.com'"]
    assert "skipped 3 records already undone on their own" in done.summary()
    assert done.deleted == {"user": 2, "mailbox": 3, "profile": 1}
    assert stored(tokens=False) == kept
    with pytest.raises(UndoRefused, match="came with import .* undone as a whole"):
        undo(store, ChangeEntry.get(ChangeEntry.batch == event.id, ChangeEntry.kind == "profile").id)


# ------------------------------------------------------------------------------------------------ schema
def test_the_batch_index_migration_adds_the_index_to_a_database_that_has_the_history(db_url):
    from mailbox_tui.store import migrations as migrations_module
    from mailbox_tui.store.database import Store, schema_version
    from mailbox_tui.store.models import Meta

    def has_index(store) -> bool:
        return "change_entry_batch" in {i.name for i in store.db.get_indexes("change_entry")}

    with Store(db_url) as store:
        assert has_index(store)
        store.db.execute_sql('DROP INDEX "change_entry_batch"')
        step = max(n for n, f in migrations_module.MIGRATIONS.items() if f.__name__ == "_migrate_history")
        Meta.update(value=str(step - 1)).where(Meta.key == "schema_version").execute()
    with Store(db_url) as store:
        assert schema_version(store.db) == migrations_module.SCHEMA_VERSION
        assert has_index(store)
        migrations_module.MIGRATIONS[step](store.db)  # self-contained: running it again changes nothing
        assert has_index(store)
