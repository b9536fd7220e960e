"""Svenska (issue 26) in the history: what an entry did, what undoing it will do and why an undo is
refused are made in English (say(): stored, and in --json) and shown in the admin's language (said()),
also when they are read back from the database as plain text. SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from support.builders import forward_draft, imap_profile, user

from mailbox_tui import i18n
from mailbox_tui.domain.records import PasswordEdit
from mailbox_tui.i18n import said
from mailbox_tui.store import history_read, history_words, services
from mailbox_tui.store.history import ChangeEntry
from mailbox_tui.store.undo import UndoRefused, describe_entry, undo


@pytest.fixture
def acting(store):
    store.actor = "admin@example.com"
    return store


def _newest(kind: str, action: str) -> history_read.HistoryEntry:
    row = (ChangeEntry.select(ChangeEntry.id).where(ChangeEntry.kind == kind, ChangeEntry.action == action)
           .order_by(ChangeEntry.id.desc()).first())
    return history_read.entry(row.id)


def test_an_entry_reads_in_swedish_and_stays_english_in_json_and_the_database(acting):
    store = acting
    profile = imap_profile(store)
    alice, _ = user(store)
    box = services.create_forward_mailbox(store, forward_draft(alice.id, profile.id))
    services.update_mailbox(store, box, box.copy(name="Sales intake", delete_after_processing=False))
    i18n.use(i18n.SWEDISH)
    e = _newest("mailbox", "update")
    assert e.phrase == "changed mailbox 'Sales intake'"  # English, the name exactly as stored
    assert said(e.phrase) == "ändrade postlådan 'Sales intake'"
    assert said(str(e.phrase)) == said(e.phrase)  # read back from plain English text as well
    assert "Namn: Forward collector → Sales intake" in e.summary
    assert "Ta bort e-postmeddelanden efter bearbetning: Ja → Nej" in e.summary, e.summary
    data = e.as_dict()
    assert data["phrase"] == "changed mailbox 'Sales intake'"
    assert {"field": "delete_after_processing", "label": "Delete Email Messages After Processing", "old": "Yes",
            "new": "No"} in data["changes"]
    assert json.loads(json.dumps(data)) == data
    stored = ChangeEntry.get_by_id(e.id)
    assert "Ja" not in stored.changes and "Nej" not in stored.changes and stored.action == "update"
    question = said(history_words.undo_question(e))
    assert question == (f"Återställ det som ändring #{e.id} ändrade på postlådan 'Sales intake' "
                        "(Namn, Ta bort e-postmeddelanden efter bearbetning)?")
    assert describe_entry(e.id).startswith(f"#{e.id} ändrade postlådan 'Sales")


def test_a_secret_and_a_deleted_reference_read_in_swedish(acting):
    store = acting
    profile = imap_profile(store)
    alice, _ = user(store)
    bob, _ = user(store, "Bob Dahl", "bob@example.com")
    box = services.create_forward_mailbox(store, forward_draft(alice.id, profile.id))
    services.update_mailbox(store, box, box.copy(owner_id=bob.id))
    changed = _newest("mailbox", "update")
    services.delete_user(store, alice.id)
    i18n.use(i18n.SWEDISH)
    again = history_read.entry(changed.id)
    assert f"Ägare: #{alice.id} (borttagen) → bob@example.com" in again.summary, again.summary
    assert again.as_dict()["changes"][0]["old"] == f"#{alice.id} (deleted)"
    current = services.get_mailbox(store, box.id)
    services.update_mailbox(store, current, current.copy(password=PasswordEdit(new="an-0ther-secret")))
    secret = _newest("mailbox", "update")
    assert secret.summary == "Lösenord: ändrat", secret.summary
    assert [c["new"] for c in secret.as_dict()["changes"]] == ["changed"]
    assert "an-0ther-secret" not in secret.summary


def test_an_undo_refusal_is_english_and_shown_in_swedish(acting):
    store = acting
    profile = imap_profile(store)
    alice, _ = user(store)
    box = services.create_forward_mailbox(store, forward_draft(alice.id, profile.id))
    created = _newest("mailbox", "create")
    undo(store, created.id)
    with pytest.raises(UndoRefused) as refused:
        undo(store, created.id)
    assert str(refused.value).startswith(f"Entry #{created.id} was already undone (entry #")
    i18n.use(i18n.SWEDISH)
    shown = said(str(refused.value))  # plain English read back through the catalogue
    assert shown.startswith(f"Ändring #{created.id} är redan ångrad (ändring #"), shown
    gone = _newest("mailbox", "undo")
    assert said(gone.phrase) == f"ångrade en ändring av postlådan {box.name!r}"
    assert said(history_words.undo_question(gone)).startswith(f"Återställ postlådan {box.name!r}, som togs bort")
    with pytest.raises(Exception) as missing:
        services.get_mailbox(store, box.id)
    assert str(missing.value) == f"Mailbox {box.id} does not exist (it may have been deleted)."
    assert said(str(missing.value)) == f"Postlåda {box.id} finns inte (den kan ha tagits bort)."
