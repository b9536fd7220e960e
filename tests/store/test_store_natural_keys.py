"""Natural keys (docs/RULES.md): NFC, then str.lower(). Schema migration 2 re-keys a database that
schema 1 keyed with str.casefold(), keeping records whose keys now collide."""

from __future__ import annotations

import unicodedata

from support.builders import user

from mailbox_tui.domain.records import QueueDraft, UserDraft
from mailbox_tui.store import contexts, services
from mailbox_tui.store.stored_findings import stored_findings
from mailbox_tui.store.database import SCHEMA_VERSION, Store, schema_version
from mailbox_tui.store.models import AppUser, EmailServerProfile, Mailbox, Meta, Queue
from mailbox_tui.store.rekey import DUPLICATE_MARK

NFC, NFD = (unicodedata.normalize(form, "Café") for form in ("NFC", "NFD"))


def _as_schema_1(store: Store) -> None:
    """Turn a fresh database into what schema 1 left behind: casefold() keys, version 1."""
    for model, key, source in ((AppUser, "email_key", "email"), (EmailServerProfile, "name_key", "name"),
                               (Queue, "name_key", "name"), (Queue, "email_key", "email"),
                               (Mailbox, "name_key", "name"), (Mailbox, "email_key", "email")):
        for row in model.select():
            model.update({key: getattr(row, source).strip().casefold()}).where(model.id == row.id).execute()
    Meta.update(value="1").where(Meta.key == "schema_version").execute()


def _old_database(db_url) -> dict:
    """Records schema 1 could hold: straße@ (keyed strasse@), a queue and a profile named Café
    twice, once in NFC and once in NFD (two keys under casefold, one under NFC)."""
    from support.builders import imap_profile

    with Store(db_url) as store:
        hans, _ = user(store, "Hans Straße", "straße@example.com")
        services.create_queue(store, QueueDraft(name=NFC, owner_id=hans.id))
        first_profile = imap_profile(store, name=NFC)
        # Schema 1 took these as new names; today's rules would refuse them, so write them as it did.
        _as_schema_1(store)
        queue = Queue.get()
        Queue.insert(name=NFD, name_key=NFD.casefold(), email="", email_key="", owner=hans.id).execute()
        profile = EmailServerProfile.get_by_id(first_profile.id)
        values = {f.name: getattr(profile, f.name) for f in EmailServerProfile._meta.sorted_fields if f.name != "id"}
        EmailServerProfile.insert(**dict(values, name=NFD, name_key=NFD.casefold())).execute()
        assert AppUser.get().email_key == "strasse@example.com"
        return {"queue": queue.id, "profile": first_profile.id}


def test_migration_2_rekeys_emails_so_strasse_and_strasse_with_eszett_are_two_users(db_url):
    _old_database(db_url)
    with Store(db_url) as store:
        assert schema_version(store.db) == SCHEMA_VERSION
        assert AppUser.get().email_key == "straße@example.com"
        services.create_user(store, UserDraft(full_name="Hans Strasse", email="strasse@example.com"))
        assert AppUser.select().count() == 2
        assert Mailbox.get(Mailbox.email == "straße@example.com").email_key == "straße@example.com"


def test_migration_2_keeps_both_records_whose_keys_collide_and_check_reports_the_newer(db_url):
    ids = _old_database(db_url)
    with Store(db_url) as store:
        queues = list(Queue.select().order_by(Queue.id))
        profiles = list(EmailServerProfile.select().order_by(EmailServerProfile.id))
        assert [q.name for q in queues] == [NFC, NFD] and [p.name for p in profiles] == [NFC, NFD]
        # The older keeps the key; the newer gets one no name produces, so the unique index holds.
        assert queues[0].id == ids["queue"] and queues[0].name_key == "café"
        assert queues[1].name_key == f"café{DUPLICATE_MARK}{queues[1].id}"
        assert profiles[0].name_key == "café" and DUPLICATE_MARK in profiles[1].name_key
        found = sorted((f.record, f.record_id, f.finding.rule) for f in stored_findings(store)
                       if f.finding.is_error and f.finding.field == "name")
        assert found == [("profile", profiles[1].id, "P1"), ("queue", queues[1].id, "Q1")]
        # Looking a name up finds the older record; renaming the newer one clears the finding.
        assert contexts.queue_context(contexts.DatabaseFacts(store), QueueDraft(name=NFD)).name_taken
        newer = services.get_queue(store, queues[1].id)
        services.update_queue(store, newer, QueueDraft(**{**newer.__dict__, "name": "Café (old)"}))
        assert Queue.get_by_id(queues[1].id).name_key == "café (old)"
        assert not [f for f in stored_findings(store) if f.record == "queue" and f.finding.is_error]


def test_migration_2_on_a_database_with_only_ascii_keys_changes_nothing(db_url):
    with Store(db_url) as store:
        user(store, "Alice Berg", "Alice@Example.com")
        _as_schema_1(store)
        before = list(AppUser.select().tuples())
    with Store(db_url):
        assert list(AppUser.select().tuples()) == before
