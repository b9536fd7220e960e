"""Issue 13: undo of each action kind, through the services, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from support.builders import forward_draft, imap_profile, user

from mailbox_tui.domain.findings import RuleViolation
from mailbox_tui.domain.options import ApprovalStatus, RecordState
from mailbox_tui.domain.records import PasswordEdit, QueueDraft, UserDraft
from mailbox_tui.store import services
from mailbox_tui.store.history import ChangeEntry
from mailbox_tui.store.models import AppUser, EmailServerProfile, Mailbox, Queue
from mailbox_tui.store.undo import UndoRefused, undo, undo_many

PASSWORD = "s3cret-forward"


def last() -> ChangeEntry:
    return ChangeEntry.select().order_by(ChangeEntry.id.desc()).first()


@pytest.fixture
def org(store):
    store.actor = "admin@example.com"
    profile = imap_profile(store)
    alice, alice_box = user(store)
    return store, profile, alice, alice_box


def test_undo_of_a_form_save_puts_the_old_values_back_and_is_an_entry(org):
    store, profile, alice, _ = org
    box = services.create_forward_mailbox(store, forward_draft(alice.id, profile.id))
    services.update_mailbox(store, box, box.copy(name="Collector", delete_after_processing=False))
    saved = last()
    written = undo(store, saved.id)
    row = Mailbox.get_by_id(box.id)
    assert (row.name, row.delete_after_processing) == ("Forward collector", True)
    [entry] = [ChangeEntry.get_by_id(i) for i in written]
    assert (entry.action, entry.undoes, entry.admin) == ("undo", saved.id, "admin@example.com")
    assert json.loads(entry.changes) == [["name", "Collector", "Forward collector"],
                                         ["delete_after_processing", False, True]]


def test_undo_is_refused_naming_the_fields_changed_since(org):
    store, profile, alice, _ = org
    box = services.create_forward_mailbox(store, forward_draft(alice.id, profile.id))
    services.update_mailbox(store, box, box.copy(name="Collector"))
    saved = last()
    now = services.get_mailbox(store, box.id)
    services.update_mailbox(store, now, now.copy(name="Collector 2"))
    before = ChangeEntry.select().count()
    with pytest.raises(UndoRefused, match=r"changed since entry #\d+ \(Name\)"):
        undo(store, saved.id)
    assert Mailbox.get_by_id(box.id).name == "Collector 2"
    assert ChangeEntry.select().count() == before


def test_undo_twice_is_refused(org):
    store, _, _, alice_box = org
    services.set_approval(store, [alice_box.id], True)
    approved = last()
    undo(store, approved.id)
    with pytest.raises(UndoRefused, match="already undone"):
        undo(store, approved.id)


def test_undo_of_approve_reject_activate_deactivate(org):
    store, _, _, alice_box = org
    _, bob_box = user(store, "Bob Dahl", "bob@example.com")
    services.set_approval(store, [alice_box.id, bob_box.id], False)
    rejected = [e.id for e in ChangeEntry.select().where(ChangeEntry.action == "reject")]
    undo_many(store, rejected)
    assert {Mailbox.get_by_id(i).approval for i in (alice_box.id, bob_box.id)} == {int(ApprovalStatus.PENDING)}
    services.set_mailbox_state(store, [alice_box.id], RecordState.INACTIVE)
    undo(store, last().id)
    assert Mailbox.get_by_id(alice_box.id).state == RecordState.ACTIVE


def test_undo_of_apply_default_settings(org):
    store, profile, _, alice_box = org
    org_now = services.org_settings(store)
    svc = imap_profile(store, "Service", auth_method=1, username="svc@example.com",
                       password=PasswordEdit(new="profile-pw"))
    services.update_org_settings(store, org_now, services.OrgSettings(**{
        **org_now.__dict__, "default_profile_id": svc.id, "default_incoming": 2, "default_outgoing": 2}))
    services.apply_default_settings(store, [alice_box.id])
    applied = last()
    assert applied.action == "apply defaults"
    undo(store, applied.id)
    row = Mailbox.get_by_id(alice_box.id)
    assert (row.profile_id, row.incoming, row.outgoing) == (None, 0, 0)


def test_undo_of_a_password_change_brings_the_old_one_back(org):
    store, profile, alice, _ = org
    box = services.create_forward_mailbox(store, forward_draft(alice.id, profile.id))
    services.update_mailbox(store, box, box.copy(password=PasswordEdit(new="n3w-secret")))
    undo(store, last().id)
    assert services.mailbox_password(store, box.id) == PASSWORD
    assert json.loads(last().changes) == [["password", None, "changed"]]


def test_undo_of_a_create_deletes_it_unless_it_changed_since(org):
    store, profile, alice, _ = org
    box = services.create_forward_mailbox(store, forward_draft(alice.id, profile.id))
    created = last()
    undo(store, created.id)
    assert Mailbox.get_or_none(Mailbox.id == box.id) is None
    assert (last().action, last().kind, last().undoes) == ("undo", "mailbox", created.id)
    bob, _ = user(store, "Bob Dahl", "bob@example.com")
    bob_created = ChangeEntry.get(ChangeEntry.kind == "user", ChangeEntry.record_id == bob.id)
    services.update_user(store, bob, UserDraft("Robert Dahl", bob.email, bob.state, bob.id, bob.version))
    with pytest.raises(UndoRefused, match="Full Name"):
        undo(store, bob_created.id)
    assert AppUser.get_by_id(bob.id).full_name == "Robert Dahl"


def test_undo_of_a_forward_mailbox_delete_recreates_it_with_its_password(org):
    store, profile, alice, _ = org
    box = services.create_forward_mailbox(store, forward_draft(alice.id, profile.id))
    services.delete_mailbox(store, box.id)
    deleted = last()
    undo(store, deleted.id)
    row = Mailbox.get(Mailbox.name == "Forward collector")
    assert (row.email, row.owner_id, row.profile_id, row.delete_after_processing) == (
        "forward@example.com", alice.id, profile.id, True)
    assert services.mailbox_password(store, row.id) == PASSWORD


def test_undo_of_a_user_delete_recreates_the_user_and_its_mailbox(org):
    store, profile, _, _ = org
    bob, bob_box = user(store, "Bob Dahl", "bob@example.com")
    box = services.get_mailbox(store, bob_box.id)
    services.update_mailbox(store, box, box.copy(profile_id=profile.id, incoming=2, outgoing=2,
                                                 allow_credentials=True, username="bob@example.com",
                                                 password=PasswordEdit(new="b0b-pw")))
    services.set_approval(store, [bob_box.id], True)
    services.delete_user(store, bob.id)
    deleted = ChangeEntry.get(ChangeEntry.kind == "user", ChangeEntry.action == "delete")
    with pytest.raises(UndoRefused, match="came with entry"):
        undo(store, ChangeEntry.get(ChangeEntry.parent == deleted.id).id)  # its mailbox: undo the user
    undo(store, deleted.id)
    new_bob = AppUser.get(AppUser.email == "bob@example.com")
    row = Mailbox.get(Mailbox.regarding_user == new_bob.id)
    assert (row.profile_id, row.incoming, row.outgoing, row.username) == (profile.id, 2, 2, "bob@example.com")
    assert row.owner_id == new_bob.id and row.approval == ApprovalStatus.APPROVED
    assert services.mailbox_password(store, row.id) == "b0b-pw"


def test_undo_of_a_queue_delete(org):
    store, _, alice, _ = org
    queue, _, _ = services.create_queue(store, QueueDraft(name="Support", email="support@example.com",
                                                          owner_id=alice.id))
    services.delete_queue(store, queue.id)
    undo(store, ChangeEntry.get(ChangeEntry.kind == "queue", ChangeEntry.action == "delete").id)
    new = Queue.get(Queue.name == "Support")
    assert (new.email, new.owner_id) == ("support@example.com", alice.id)
    assert Mailbox.get(Mailbox.regarding_queue == new.id).email == "support@example.com"


def test_undo_of_a_profile_delete_points_its_mailboxes_back(org):
    store, profile, _, alice_box = org
    box = services.get_mailbox(store, alice_box.id)
    services.update_mailbox(store, box, box.copy(profile_id=profile.id))
    services.delete_profile(store, profile.id)
    undo(store, ChangeEntry.get(ChangeEntry.kind == "profile", ChangeEntry.action == "delete").id)
    new = EmailServerProfile.get(EmailServerProfile.name == "Corporate IMAP")
    assert Mailbox.get_by_id(alice_box.id).profile_id == new.id


def test_undo_goes_through_the_rules(org):
    store, profile, alice, _ = org
    box = services.create_forward_mailbox(store, forward_draft(alice.id, profile.id))
    services.delete_mailbox(store, box.id)
    deleted = last()
    services.delete_user(store, alice.id)  # its owner is gone (M2)
    with pytest.raises(RuleViolation) as err:
        undo(store, deleted.id)
    assert "M2" in [f.rule for f in err.value.findings]
    assert Mailbox.select().where(Mailbox.name == "Forward collector").count() == 0
    assert not ChangeEntry.select().where(ChangeEntry.undoes == deleted.id).exists()


def test_entries_that_are_not_undone(org, tmp_path):
    from mailbox_tui.store.rotation import rotate_key

    store, _, _, alice_box = org
    rotate_key(store, tmp_path / "new.key")
    with pytest.raises(UndoRefused, match="key rotation"):
        undo(store, last().id)
    with pytest.raises(UndoRefused, match="no history entry #9999"):
        undo(store, 9999)


def test_two_admins_each_see_their_own_name(db_url):
    """Two admins on one database (PostgreSQL and SQLite), one after the other (a process binds one
    Store at a time; tests/cli/test_cli_history.py runs them as two processes)."""
    from mailbox_tui.store.database import Store

    for actor, name in (("alice@example.com", "Alice's"), ("bob@example.com", "Bob's")):
        with Store(db_url) as store:
            store.actor = actor
            imap_profile(store, name)
    with Store(db_url):
        rows = {e.record_key: e.admin for e in ChangeEntry.select().where(ChangeEntry.kind == "profile")}
    assert rows == {"Alice's": "alice@example.com", "Bob's": "bob@example.com"}
