"""The reads screens make (store/lookups.py): plain records, the same answers as the services, on
a real SQLite file and a real PostgreSQL database."""

from __future__ import annotations

from dataclasses import fields, is_dataclass

from support.builders import forward_draft, imap_profile, user

from mailbox_tui.domain.context import Stage
from mailbox_tui.domain.options import IncomingMethod
from mailbox_tui.domain.records import QueueDraft
from mailbox_tui.store import form_facts, lookups, services
from mailbox_tui.store.contexts import NO_SUCH_USER


def test_owner_lookup_finds_the_exact_user_and_a_completion_in_one_read(store):
    alice, _ = user(store, "Alice Berg", "alice@example.com")
    user(store, "Alicia Moss", "alicia@example.com")
    exact = lookups.owner_lookup("  ALICE@example.com ")
    assert exact.user == lookups.UserSummary(alice.id, "Alice Berg", "alice@example.com")
    assert exact.owner_id == alice.id == services.user_id_for_email("  ALICE@example.com ")
    assert exact.completion == "alice@example.com"
    partial = lookups.owner_lookup("ALI")
    assert partial.user is None and partial.owner_id == NO_SUCH_USER == services.owner_field_id("ALI")
    assert partial.completion == "alice@example.com"  # the first address, in key order
    assert lookups.owner_lookup("alicia").completion == "alicia@example.com"
    nobody = lookups.owner_lookup("zed@")
    assert nobody.user is None and nobody.completion is None and nobody.owner_id == 0
    blank = lookups.owner_lookup("   ")
    assert blank.owner_id is None is services.user_id_for_email("   ")


def test_owner_lookup_compares_by_the_address_key_not_casefold(store):
    strasse, _ = user(store, "Jan Straße", "straße@example.com")
    user(store, "Jan Strasse", "strasse@example.com")
    assert lookups.owner_lookup("STRAßE@example.com").user.id == strasse.id
    assert lookups.owner_lookup("straß").completion == "straße@example.com"
    assert lookups.owner_lookup("strass").completion == "strasse@example.com"


def test_a_prefix_ends_where_the_next_character_begins(store):
    user(store, "A", "ab@example.com")
    user(store, "B", "ac@example.com")
    assert lookups.owner_lookup("ab").completion == "ab@example.com"
    assert lookups.owner_lookup("ab@example.comx").completion is None
    assert lookups.owner_lookup("a\U0010ffff").completion is None  # no character above it


def test_lookups_return_plain_records_never_models(store):
    alice, alice_box = user(store, "Alice Berg", "alice@example.com")
    profile = imap_profile(store)
    queue, queue_box, _ = services.create_queue(store, QueueDraft(name="Support", email="support@example.com",
                                                                  owner_id=alice.id))
    assert lookups.user_summary(alice.id) == lookups.UserSummary(alice.id, "Alice Berg", "alice@example.com")
    assert lookups.user_summary(None) is None and lookups.user_summary(99999) is None
    assert lookups.user_by_email("Alice@Example.com").id == alice.id
    assert lookups.any_user()
    assert lookups.queue_name(queue.id) == "Support" and lookups.queue_name(99999) is None
    assert lookups.queue_mailbox_id(queue.id) == queue_box.id
    assert lookups.profile_names([profile.id, None, 99999]) == {profile.id: profile.name}
    forward = services.create_forward_mailbox(store, forward_draft(alice.id, profile.id))
    assert lookups.mailbox_ids_using_profile(profile.id) == [forward.id]
    for value in (lookups.user_summary(alice.id), lookups.owner_lookup("alice")):
        assert is_dataclass(value) and all(type(getattr(value, f.name)).__module__ != "peewee"
                                           for f in fields(value))


def test_form_facts_judge_as_the_services_do(store):
    """The facts a form keeps give the findings validate_mailbox gives, as the draft changes."""
    alice, _ = user(store, "Alice Berg", "alice@example.com")
    bob, bob_box = user(store, "Bob Dahl", "bob@example.com")
    profile = imap_profile(store)
    forward = services.create_forward_mailbox(store, forward_draft(alice.id, profile.id))
    facts = form_facts.MailboxFormFacts(store, forward)
    drafts = [
        forward,
        forward.copy(email="bob@example.com"),  # M5: Bob's mailbox has it
        forward.copy(owner_id=facts.owner_typed("nobody@example.com").owner_id),  # no such user
        forward.copy(owner_id=facts.owner_typed("BOB@example.com").owner_id),
        forward.copy(profile_id=None),
        forward.copy(incoming=IncomingMethod.FORWARD_MAILBOX),
    ]
    for draft in drafts:
        assert facts.findings(draft) == services.validate_mailbox(store, draft, Stage.EDIT, forward), draft
    assert facts.owner_typed("BOB@example.com").user.full_name == "Bob Dahl"
    bob_facts = form_facts.MailboxFormFacts(store, bob_box)
    assert bob_facts.owner.id == bob.id
    for draft in (bob_box, bob_box.copy(email="forward@example.com")):
        assert bob_facts.findings(draft) == services.validate_mailbox(store, draft, Stage.EDIT, bob_box)


def test_mailbox_alerts_newest_first(store):
    alice, alice_box = user(store, "Alice Berg", "alice@example.com")
    services.record_test_results(store, alice_box.id, {"incoming_status": 2},
                                 [services.AlertDraft("error", "connect", "first")])
    services.record_test_results(store, alice_box.id, {"incoming_status": 2},
                                 [services.AlertDraft("error", "tls", "second")])
    alerts = lookups.mailbox_alerts(alice_box.id, limit=5)
    assert [(a.step, a.message) for a in alerts] == [("tls", "second"), ("connect", "first")]
