"""Issue 13: undo of an import as a whole (store/undo_import.py), on SQLite and PostgreSQL: every
record it created deleted, every record it changed put back, in one transaction, or nothing."""

from __future__ import annotations

import copy
import json

import pytest
from support.builders import forward_draft, imap_profile, user

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


def stored() -> dict:
    """Every stored record (all columns), to assert an undo put everything back or changed nothing."""
    keep = {}
    for model in (EmailServerProfile, AppUser, Queue, Mailbox):
        keep[model.__name__] = [{k: v for k, v in r.items() if k not in ("version", "modified_on")}
                                for r in rows(model)]
    return keep


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
