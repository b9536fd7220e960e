"""The fields added through the declaration, on every path that writes or reads them, on a real
SQLite file and a real PostgreSQL database: P12 Move Undelivered Emails (profile) and M19 Process
Email From (mailbox). Services, import/export round trips, `check`, and the schema-4 migration of a
schema-2 database that holds rows."""

from __future__ import annotations

import json

import pytest
from support.builders import imap_profile, user

from mailbox_tui.store import services
from mailbox_tui.store.database import SCHEMA_VERSION, Store, schema_version
from mailbox_tui.store.exchange import export_csv, export_json, import_document, read_document
from mailbox_tui.store.models import EmailServerProfile, Mailbox, Meta
from mailbox_tui.store.stored_findings import stored_findings


def _export(tmp_path) -> dict:
    path = tmp_path / "export.json"
    with path.open("w") as fh:
        export_json(fh)
    return json.loads(path.read_text())


# ---------------------------------------------------------------- P12 Move Undelivered Emails


def test_p12_saved_through_the_services_and_read_back(store):
    profile = imap_profile(store)
    assert profile.move_undelivered is False and EmailServerProfile.get_by_id(profile.id).move_undelivered is False
    saved = services.update_profile(store, profile, profile.copy(move_undelivered=True))
    assert saved.move_undelivered is True
    assert EmailServerProfile.get_by_id(profile.id).move_undelivered is True
    assert services.get_profile(store, profile.id).move_undelivered is True


def test_p12_export_import_round_trip_json_and_csv(store, tmp_path):
    imap_profile(store, move_undelivered=True)
    imap_profile(store, name="Other", move_undelivered=False)
    doc = _export(tmp_path)
    assert {p["name"]: p["moveundeliveredemails"] for p in doc["profiles"]} == {"Corporate IMAP": True,
                                                                                 "Other": False}
    export_csv(tmp_path / "csv")
    assert "moveundeliveredemails" in (tmp_path / "csv" / "profiles.csv").read_text().splitlines()[0]
    # Flip both in the file; the import writes them back.
    for p in doc["profiles"]:
        p["moveundeliveredemails"] = not p["moveundeliveredemails"]
    report = import_document(store, doc)
    assert report.written and not report.errors
    got = {p.name: p.move_undelivered for p in EmailServerProfile.select()}
    assert got == {"Corporate IMAP": False, "Other": True}
    # And the CSV export reads back to the same values.
    csv_doc = read_document(tmp_path / "csv")
    report = import_document(store, csv_doc)
    assert report.written and not report.errors
    assert {p.name: p.move_undelivered for p in EmailServerProfile.select()} == {"Corporate IMAP": True,
                                                                                  "Other": False}


@pytest.mark.parametrize("value,expected", [("yes", True), ("no", False), ("true", True), (0, False)])
def test_p12_import_reads_yes_no_words_and_numbers(store, value, expected):
    imap_profile(store)
    report = import_document(store, {"profiles": [{"name": "Corporate IMAP", "moveundeliveredemails": value}]})
    assert report.written and EmailServerProfile.get().move_undelivered is expected


def test_p12_import_refuses_a_value_that_is_not_yes_or_no_and_writes_nothing(store):
    imap_profile(store)
    report = import_document(store, {"profiles": [{"name": "Corporate IMAP", "moveundeliveredemails": "maybe"}]})
    assert not report.written
    assert [(f.rule, f.field) for f in report.errors] == [("FORMAT", "moveundeliveredemails")]
    assert EmailServerProfile.get().move_undelivered is False


def test_p12_check_reads_every_stored_form_of_the_flag_as_yes_or_no(store):
    """`check` runs P12 over stored profiles; whatever integer a foreign writer left in the column, the
    model reads it as Yes or No, so it is never reported."""
    profile = imap_profile(store)
    store.db.execute_sql(f"UPDATE email_server_profile SET move_undelivered = {'2' if 'sqlite' in store.url else 'TRUE'}")
    assert EmailServerProfile.get_by_id(profile.id).move_undelivered is True
    assert not [f for f in stored_findings(store) if f.finding.rule == "P12"]


# ---------------------------------------------------------------- schema 2 → 4


def _as_schema_2(db_url) -> dict:
    """A database as schema 2 left it, with rows: today's tables less the columns schema 4 adds."""
    with Store(db_url) as store:
        profile = imap_profile(store, timeout_seconds=45)
        alice, box = user(store)
        for table, column in SCHEMA_4_COLUMNS:
            store.db.execute_sql(f'ALTER TABLE "{table}" DROP COLUMN "{column}"')
        Meta.update(value="2").where(Meta.key == "schema_version").execute()
        return {"profile": profile.id, "box": box.id}


SCHEMA_4_COLUMNS = [("email_server_profile", "move_undelivered")]


def test_migration_4_adds_the_new_columns_to_a_schema_2_database_and_keeps_its_rows(db_url):
    ids = _as_schema_2(db_url)
    with Store(db_url) as store:
        assert schema_version(store.db) == SCHEMA_VERSION >= 4
        for table, column in SCHEMA_4_COLUMNS:
            assert column in {c.name for c in store.db.get_columns(table)}
        profile = services.get_profile(store, ids["profile"])
        assert (profile.name, profile.timeout_seconds, profile.move_undelivered) == ("Corporate IMAP", 45, False)
        saved = services.update_profile(store, profile, profile.copy(move_undelivered=True))
        assert saved.move_undelivered is True
        assert services.get_mailbox(store, ids["box"]).email == "alice@example.com"
    with Store(db_url) as store:  # opening again migrates nothing
        assert services.get_profile(store, ids["profile"]).move_undelivered is True
