"""History in words (issue 25): references by name, not "#6"; every action a phrase; the undo question
says what will happen in the admin's terms. On the stored history of real writes, SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from support.builders import forward_draft, imap_profile, user

from mailbox_tui.store import history_read, history_words, services
from mailbox_tui.store.history import ChangeEntry
from mailbox_tui.store.undo import undo


@pytest.fixture
def acting(store):
    store.actor = "admin@example.com"
    return store


def _newest(kind: str, action: str) -> history_read.HistoryEntry:
    row = (ChangeEntry.select(ChangeEntry.id).where(ChangeEntry.kind == kind, ChangeEntry.action == action)
           .order_by(ChangeEntry.id.desc()).first())
    return history_read.entry(row.id)


def test_an_undone_create_names_the_owner_and_profile_it_took_away(acting):
    store = acting
    profile = imap_profile(store)
    alice, _ = user(store)
    box = services.create_forward_mailbox(store, forward_draft(alice.id, profile.id))
    created = _newest("mailbox", "create")
    assert history_words.undo_question(created) == (
        f"Delete the mailbox {box.name!r}, created by this entry (#{created.id})?")
    undo(store, created.id)
    gone = _newest("mailbox", "undo")  # the undo's own entry: the mailbox deleted
    assert gone.phrase == f"undid a change to mailbox {box.name!r}"
    assert "Owner: alice@example.com → (none)" in gone.summary
    assert f"Server Profile: {profile.name} → (none)" in gone.summary
    assert "#" not in gone.summary
    assert history_words.undo_question(gone).startswith(f"Bring back the mailbox {box.name!r}, deleted by this")


def test_a_reference_to_a_record_deleted_since_keeps_its_id(acting):
    store = acting
    profile = imap_profile(store)
    alice, _ = user(store)
    bob, _ = user(store, "Bob Dahl", "bob@example.com")
    box = services.create_forward_mailbox(store, forward_draft(alice.id, profile.id))
    services.update_mailbox(store, box, box.copy(owner_id=bob.id))
    changed = _newest("mailbox", "update")
    assert "Owner: alice@example.com → bob@example.com" in changed.summary
    services.delete_user(store, alice.id)  # Alice owns nothing now: her user goes, with her own mailbox
    again = history_read.entry(changed.id)
    assert f"Owner: #{alice.id} (deleted) → bob@example.com" in again.summary
    assert history_words.undo_question(again) == (
        f"Put back on the mailbox {box.name!r} what entry #{changed.id} changed (Owner)?")


def test_every_action_reads_as_a_phrase(acting, tmp_path):
    from mailbox_tui.store.rotation import rotate_key

    store = acting
    profile = imap_profile(store)
    alice, _ = user(store)
    services.create_forward_mailbox(store, forward_draft(alice.id, profile.id))
    rotate_key(store, tmp_path / "new.key")
    rotated = _newest("key", "rotate key")
    assert rotated.phrase == "rotated the encryption key"
    assert history_words.action_word(rotated.action) == "rotated key"
    assert history_words.record_words(rotated.kind, rotated.record_key) == "the encryption key"
    for e in history_read.history_page(store, limit=50):
        assert e.phrase and "''" not in e.phrase and " key key" not in e.phrase, e.phrase
        assert e.phrase.split()[0] in {"created", "changed", "deleted", "rotated", "tested", "imported", "undid",
                                       "approved", "rejected", "activated", "deactivated", "applied"}, e.phrase
