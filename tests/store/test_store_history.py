"""Issue 13: every write path leaves its history entries, in its own transaction (SQLite and PostgreSQL).

Asserted on the stored rows of change_entry and change_secret."""

from __future__ import annotations

import getpass
import json
import socket

import pytest
from support.builders import forward_draft, imap_profile, user

from mailbox_tui.domain.findings import RuleViolation
from mailbox_tui.domain.options import ApprovalStatus, AuthMethod, RecordState, TestStatus
from mailbox_tui.domain.records import PasswordEdit, QueueDraft, UserDraft
from mailbox_tui.store import history, services
from mailbox_tui.store.history import ChangeEntry, ChangeSecret
from mailbox_tui.store.models import Mailbox

PASSWORD = "s3cret-forward"


def entries(**where) -> list[ChangeEntry]:
    query = ChangeEntry.select().order_by(ChangeEntry.id)
    for name, value in where.items():
        query = query.where(getattr(ChangeEntry, name) == value)
    return list(query)


def changes(entry: ChangeEntry) -> dict:
    return {name: (old, new) for name, old, new in json.loads(entry.changes)}


def last() -> ChangeEntry:
    return ChangeEntry.select().order_by(ChangeEntry.id.desc()).first()


def no_password_in_history(store, *passwords: str) -> None:
    """No clear password, and no stored token, in any entry's displayed columns."""
    tokens = [r.password_enc for r in Mailbox.select(Mailbox.password_enc) if r.password_enc]
    tokens += [s.old_enc for s in ChangeSecret.select() if s.old_enc]
    for entry in ChangeEntry.select():
        text = json.dumps(entry.__data__, default=str)
        for secret in (*passwords, *tokens):
            assert secret not in text


@pytest.fixture
def acting(store):
    store.actor = "admin@example.com"
    return store


def test_every_entry_says_when_who_and_where(acting):
    store = acting
    profile = imap_profile(store)
    e = last()
    assert (e.kind, e.record_key, e.record_id, e.action) == ("profile", "Corporate IMAP", profile.id, "create")
    assert e.admin == "admin@example.com"
    assert e.os_user == getpass.getuser() and e.host == socket.gethostname()
    assert e.at is not None


def test_creating_a_user_records_the_user_and_its_mailbox(acting):
    alice, mailbox = user(acting)
    u, m = entries()[-2:]
    assert (u.kind, u.record_key, u.record_id, u.action) == ("user", "alice@example.com", alice.id, "create")
    # A create says what it set (issue 25: "a create shows the fields it set"), not empty or default values.
    assert changes(u) == {"full_name": (None, "Alice Berg"), "email": (None, "alice@example.com")}
    assert (m.kind, m.record_id, m.action, m.parent) == ("mailbox", mailbox.id, "create", u.id)
    assert changes(m)["owner_id"] == (None, alice.id) and changes(m)["email"] == (None, "alice@example.com")


def test_a_create_shows_the_fields_it_set_and_its_references_by_name(acting):
    from mailbox_tui.store import history_read

    store = acting
    profile = imap_profile(store)
    alice, _ = user(store)
    box = services.create_forward_mailbox(store, forward_draft(alice.id, profile.id))
    [e] = [x for x in history_read.history_page(store, limit=5) if x.record_id == box.id and x.kind == "mailbox"]
    assert e.phrase == f"created mailbox {box.name!r}"
    by_field = {c.field: c for c in e.changes}
    assert by_field["owner_id"].new == "alice@example.com" and by_field["owner_id"].new_id == alice.id
    assert by_field["profile_id"].new == profile.name and by_field["profile_id"].new_id == profile.id
    assert "Owner: alice@example.com" in e.summary and f"Server Profile: {profile.name}" in e.summary
    assert "#" not in e.summary and "(none) →" not in e.summary
    as_json = e.as_dict()
    assert {"field": "owner_id", "label": "Owner", "old": "", "new": "alice@example.com", "old_id": None,
            "new_id": alice.id} in as_json["changes"]


def test_a_form_save_records_old_and_new_of_each_changed_field(acting):
    store = acting
    profile = imap_profile(store)
    alice, _ = user(store)
    box = services.create_forward_mailbox(store, forward_draft(alice.id, profile.id))
    before = len(entries())
    services.update_mailbox(store, box, box.copy(name="Collector", delete_after_processing=False))
    [e] = entries()[before:]
    assert (e.kind, e.action, e.record_key) == ("mailbox", "update", "Collector")
    assert changes(e) == {"name": ("Forward collector", "Collector"), "delete_after_processing": (True, False)}
    assert not e.credentials


def test_a_password_change_says_only_changed_and_keeps_the_old_token_apart(acting):
    store = acting
    profile = imap_profile(store)
    alice, _ = user(store)
    box = services.create_forward_mailbox(store, forward_draft(alice.id, profile.id))
    old_token = Mailbox.get_by_id(box.id).password_enc
    services.update_mailbox(store, box, box.copy(password=PasswordEdit(new="n3w-secret")))
    e = last()
    assert changes(e) == {"password": (None, "changed")}
    assert e.credentials
    [kept] = ChangeSecret.select().where(ChangeSecret.entry == e.id)
    assert kept.old_enc == old_token and kept.new_enc == Mailbox.get_by_id(box.id).password_enc
    alice_box = services.get_mailbox(store, services.user_mailbox_id(alice.id))
    services.update_mailbox(store, alice_box, alice_box.copy(password=PasswordEdit(new="first-one")))
    assert changes(last()) == {"password": (None, "set")}
    assert ChangeSecret.get(ChangeSecret.entry == last().id).old_enc is None
    no_password_in_history(store, PASSWORD, "n3w-secret", "first-one")


def test_a_user_email_change_records_the_user_and_the_mailbox_it_follows_to(acting):
    store = acting
    alice, mailbox = user(store)
    before = len(entries())
    services.update_user(store, alice, UserDraft("Alice Berg", "alice.berg@example.com", alice.state,
                                                 alice.id, alice.version))
    u, m = entries()[before:]
    assert (u.kind, changes(u)["email"]) == ("user", ("alice@example.com", "alice.berg@example.com"))
    assert (m.kind, m.record_id, m.parent) == ("mailbox", mailbox.id, u.id)
    assert changes(m)["email"] == ("alice@example.com", "alice.berg@example.com")


def test_deletes_of_every_kind_record_what_was_there(acting):
    store = acting
    profile = imap_profile(store)
    alice, alice_box = user(store)
    bob, _ = user(store, "Bob Dahl", "bob@example.com")
    box = services.create_forward_mailbox(store, forward_draft(alice.id, profile.id))
    queue, queue_box, _ = services.create_queue(store, QueueDraft(name="Support", email="support@example.com",
                                                                  owner_id=alice.id))
    services.delete_mailbox(store, box.id)
    e = last()
    assert (e.kind, e.action, e.record_id, e.record_key) == ("mailbox", "delete", box.id, "Forward collector")
    assert changes(e)["name"] == ("Forward collector", None) and changes(e)["password"] == (None, "cleared")
    assert ChangeSecret.get(ChangeSecret.entry == e.id).old_enc  # what undo needs to bring it back
    services.delete_queue(store, queue.id)
    q, qm = entries()[-2:]
    assert (q.kind, q.action, qm.kind, qm.action, qm.parent) == ("queue", "delete", "mailbox", "delete", q.id)
    services.delete_user(store, bob.id)
    u, um = entries()[-2:]
    assert (u.kind, u.record_key, um.kind, um.parent) == ("user", "bob@example.com", "mailbox", u.id)
    services.update_mailbox(store, services.get_mailbox(store, alice_box.id),
                            services.get_mailbox(store, alice_box.id).copy(profile_id=profile.id))
    before = len(entries())
    services.delete_profile(store, profile.id)
    p, m = entries()[before:]
    assert (p.kind, p.action, p.record_key) == ("profile", "delete", "Corporate IMAP")
    assert (m.kind, m.record_id, m.parent, changes(m)["profile_id"]) == ("mailbox", alice_box.id, p.id,
                                                                        (profile.id, None))
    no_password_in_history(store, PASSWORD)


@pytest.mark.parametrize("approved, action, code", [(True, "approve", ApprovalStatus.APPROVED),
                                                    (False, "reject", ApprovalStatus.REJECTED)])
def test_approve_and_reject_record_one_entry_per_mailbox(acting, approved, action, code):
    store = acting
    _, a = user(store)
    _, b = user(store, "Bob Dahl", "bob@example.com")
    before = len(entries())
    services.set_approval(store, [a.id, b.id], approved)
    new = entries()[before:]
    assert [(e.record_id, e.action) for e in new] == [(a.id, action), (b.id, action)]
    assert changes(new[0]) == {"approval": (int(ApprovalStatus.PENDING), int(code))}
    services.set_approval(store, [a.id, b.id], approved)  # nothing changes: nothing recorded
    assert len(entries()) == before + 2


def test_activate_and_deactivate(acting):
    store = acting
    _, a = user(store)
    services.set_mailbox_state(store, [a.id], RecordState.INACTIVE)
    assert (last().action, changes(last())) == ("deactivate", {"state": (0, 1)})
    services.set_mailbox_state(store, [a.id], RecordState.ACTIVE)
    assert (last().action, changes(last())) == ("activate", {"state": (1, 0)})


def test_apply_default_settings_records_each_mailbox_as_apply_defaults(acting):
    store = acting
    profile = imap_profile(store, auth_method=AuthMethod.PROFILE_CREDENTIALS, username="svc@example.com",
                           password=PasswordEdit(new="profile-pw"))
    _, a = user(store)
    org = services.org_settings(store)
    services.update_org_settings(store, org, services.OrgSettings(**{
        **org.__dict__, "default_profile_id": profile.id, "default_incoming": 2, "default_outgoing": 2}))
    s = last()
    assert (s.kind, s.record_key, s.action) == ("settings", "Email Settings", "update")
    assert changes(s)["default_profile_id"] == (None, profile.id)
    services.apply_default_settings(store, [a.id])
    e = last()
    assert (e.kind, e.record_id, e.action) == ("mailbox", a.id, "apply defaults")
    assert changes(e)["profile_id"] == (None, profile.id)


def test_a_refused_save_records_nothing(acting):
    store = acting
    user(store)
    before = len(entries())
    with pytest.raises(RuleViolation):
        services.create_user(store, UserDraft(full_name="Other", email="ALICE@example.com"))
    assert len(entries()) == before


def test_test_and_enable_records_only_a_change_of_status_or_enabled_flag(acting):
    store = acting
    _, a = user(store)
    before = len(entries())
    ok = {"incoming_status": TestStatus.SUCCESS, "outgoing_status": TestStatus.SUCCESS}
    assert services.record_test_results(store, a.id, ok, [])
    [e] = entries()[before:]
    assert (e.action, e.record_id) == ("test", a.id)
    assert changes(e)["incoming_status"] == (int(TestStatus.NOT_RUN), int(TestStatus.SUCCESS))
    assert changes(e)["enabled_incoming"] == (False, True)
    assert services.record_test_results(store, a.id, ok, [])  # the same results again: no entry
    assert len(entries()) == before + 1


def test_an_existing_database_migrates_to_an_empty_history(db_url):
    from mailbox_tui.store import migrations as migrations_module
    from mailbox_tui.store.database import Store, schema_version

    with Store(db_url) as store:
        user(store)
        store.db.drop_tables(history.HISTORY_MODELS)
        from mailbox_tui.store.models import Meta

        step = next(n for n, f in migrations_module.MIGRATIONS.items() if f.__name__ == "_migrate_history")
        Meta.update(value=str(step - 1)).where(Meta.key == "schema_version").execute()
    with Store(db_url) as store:
        assert schema_version(store.db) == migrations_module.SCHEMA_VERSION
        assert ChangeEntry.select().count() == 0
        user(store, "Bob Dahl", "bob@example.com")
        assert [e.kind for e in entries()] == ["user", "mailbox"]


def test_an_import_records_itself_and_one_entry_per_record_it_changes(acting):
    from mailbox_tui.store.exchange import import_document

    store = acting
    user(store, "Bob Dahl", "bob@example.com")
    doc = {"profiles": [{"name": "Corporate IMAP", "servertype": 4, "incomingserverlocation": "imap.example.com",
                         "outgoingserverlocation": "smtp.example.com"}],
           "users": [{"fullname": "Alice Berg", "internalemailaddress": "alice@example.com"},
                     {"fullname": "Bob Dahl-Berg", "internalemailaddress": "bob@example.com"}],
           "mailboxes": [{"regarding": {"user": "alice@example.com"}, "emailserverprofile": "Corporate IMAP",
                          "allowemailconnectortousecredentials": True, "username": "alice@example.com",
                          "password": "imp0rted-pw", "incomingemaildeliverymethod": 2,
                          "outgoingemaildeliverymethod": 2}]}
    before = len(entries())
    report = import_document(store, doc, source="people.json")
    assert report.written and not report.errors
    new = entries()[before:]
    event = new[0]
    assert (event.kind, event.action, event.record_key, event.admin) == ("import", "import", "people.json",
                                                                        "admin@example.com")
    assert changes(event) == {"created profiles": (None, 1), "created users": (None, 1),
                              "created mailboxes": (None, 1),  # the new user's (issue 22, item 6)
                              "updated users": (None, 1)}
    assert all(e.batch == event.id for e in new[1:])
    by = {(e.kind, e.action, e.record_key) for e in new[1:]}
    assert by == {("profile", "create", "Corporate IMAP"), ("user", "update", "bob@example.com"),
                  ("user", "create", "alice@example.com"),
                  ("mailbox", "create", "Alice Berg")}
    alice_box = next(e for e in new if e.kind == "mailbox" and e.action == "create")
    assert alice_box.record_id == Mailbox.get(Mailbox.email == "alice@example.com").id
    assert changes(alice_box)["password"] == (None, "set") and alice_box.credentials
    no_password_in_history(store, "imp0rted-pw")


def test_a_dry_run_or_a_refused_import_records_nothing(acting):
    from mailbox_tui.store.exchange import import_document

    store = acting
    before = len(entries())
    doc = {"users": [{"fullname": "Alice Berg", "internalemailaddress": "alice@example.com"}]}
    assert not import_document(store, doc, dry_run=True).written
    bad = {"users": [{"fullname": "", "internalemailaddress": "alice@example.com"}]}
    assert import_document(store, bad).errors
    assert len(entries()) == before


def test_rotate_key_records_one_entry_without_values_and_rotates_what_undo_keeps(acting, tmp_path, monkeypatch):
    from mailbox_tui.store.rotation import rotate_key

    store = acting
    profile = imap_profile(store)
    alice, _ = user(store)
    box = services.create_forward_mailbox(store, forward_draft(alice.id, profile.id))
    services.delete_mailbox(store, box.id)
    kept = ChangeSecret.get(ChangeSecret.entry == last().id)
    assert store.keyring.decrypt(kept.old_enc) == PASSWORD
    count, where = rotate_key(store, tmp_path / "new.key")
    e = last()
    assert (e.kind, e.action, json.loads(e.changes), e.record_id) == ("key", "rotate key", [], None)
    assert count == 0  # the count is of the records' own passwords; the one undo keeps is rotated too
    rotated = ChangeSecret.get_by_id(kept.id).old_enc
    assert rotated != kept.old_enc
    from mailbox_tui.store.crypto import KeyRing

    new_key = where.read_text().split()[0].encode()
    assert KeyRing([new_key], "new").decrypt(rotated) == PASSWORD
