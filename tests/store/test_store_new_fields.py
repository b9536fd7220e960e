"""The fields added through the declaration, on every path that writes or reads them, on a real
SQLite file and a real PostgreSQL database: P12 Move Undelivered Emails (profile) and M19 Process
Email From (mailbox). Services, import/export round trips, `check`, and the schema-4 migration of a
schema-2 database that holds rows."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from support.builders import forward_draft, imap_profile, user

from mailbox_tui.domain.findings import RuleViolation

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


# ---------------------------------------------------------------- M19 Process Email From

_NOW = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
RECENT = _NOW - timedelta(days=3)
OLD = _NOW - timedelta(days=45)
FUTURE = _NOW + timedelta(days=2)


def test_m19_saved_through_the_services_on_a_user_and_a_forward_mailbox(store):
    profile = imap_profile(store)
    alice, box = user(store)
    assert box.process_after is None and Mailbox.get_by_id(box.id).process_after is None
    saved = services.update_mailbox(store, box, box.copy(process_after=RECENT))
    assert saved.process_after == RECENT == Mailbox.get_by_id(box.id).process_after
    forward = services.create_forward_mailbox(store, forward_draft(alice.id, profile.id, process_after=OLD))
    assert Mailbox.get_by_id(forward.id).process_after == OLD  # a warning does not stop a save
    cleared = services.update_mailbox(store, saved, saved.copy(process_after=None))
    assert cleared.process_after is None and Mailbox.get_by_id(box.id).process_after is None


def test_m19_a_future_date_is_refused_by_every_save_and_nothing_is_written(store):
    profile = imap_profile(store)
    alice, box = user(store)
    with pytest.raises(RuleViolation) as refused:
        services.update_mailbox(store, box, box.copy(process_after=FUTURE))
    assert "M19" in str(refused.value)
    assert Mailbox.get_by_id(box.id).process_after is None
    before = Mailbox.select().count()
    with pytest.raises(RuleViolation):
        services.create_forward_mailbox(store, forward_draft(alice.id, profile.id, process_after=FUTURE))
    assert Mailbox.select().count() == before


def test_m19_export_import_round_trip_json_and_csv(store, tmp_path):
    imap_profile(store)
    _, box = user(store)
    services.update_mailbox(store, box, box.copy(process_after=RECENT))
    doc = _export(tmp_path)
    (row,) = doc["mailboxes"]
    assert row["processemailreceivedafter"] == RECENT.isoformat() + "Z"
    export_csv(tmp_path / "csv")
    services.update_mailbox(store, services.get_mailbox(store, box.id),
                            services.get_mailbox(store, box.id).copy(process_after=None))
    report = import_document(store, doc)
    assert report.written and not report.errors
    assert Mailbox.get_by_id(box.id).process_after == RECENT
    report = import_document(store, read_document(tmp_path / "csv"))
    assert report.written and not report.errors and Mailbox.get_by_id(box.id).process_after == RECENT


@pytest.mark.parametrize("value,rule", [("31/01/2026", "FORMAT"), ("tomorrow", "FORMAT"), (20260131, "FORMAT"),
                                        (FUTURE.isoformat() + "Z", "M19")])
def test_m19_import_refuses_a_bad_or_future_date_and_writes_nothing(store, value, rule):
    imap_profile(store)
    user(store)
    report = import_document(store, {"mailboxes": [{"regarding": {"user": "alice@example.com"},
                                                    "processemailreceivedafter": value}]})
    assert not report.written
    assert [(f.rule, f.field) for f in report.errors] == [
        (rule, "processemailreceivedafter" if rule == "FORMAT" else "process_after")]
    assert Mailbox.get().process_after is None


def test_m19_import_of_an_old_date_is_written_with_a_warning(store):
    imap_profile(store)
    user(store)
    report = import_document(store, {"mailboxes": [{"regarding": {"user": "alice@example.com"},
                                                    "processemailreceivedafter": OLD.strftime("%Y-%m-%d %H:%M")}]})
    assert report.written and [(f.rule, f.severity.value) for f in report.findings] == [("M19", "warning")]
    assert Mailbox.get().process_after == OLD.replace(second=0)


def test_m19_check_reports_a_stored_future_date_as_an_error_and_an_old_one_as_a_warning(store):
    profile = imap_profile(store)
    alice, box = user(store)
    forward = services.create_forward_mailbox(store, forward_draft(alice.id, profile.id))
    # Written as another release or a clock change could have left them.
    Mailbox.update(process_after=FUTURE).where(Mailbox.id == box.id).execute()
    Mailbox.update(process_after=OLD).where(Mailbox.id == forward.id).execute()
    found = sorted((f.record_id, f.finding.rule, f.finding.severity.value) for f in stored_findings(store)
                   if f.finding.rule == "M19")
    assert found == sorted([(box.id, "M19", "error"), (forward.id, "M19", "warning")])


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


SCHEMA_4_COLUMNS = [("email_server_profile", "move_undelivered"), ("mailbox", "process_after")]


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
        box = services.get_mailbox(store, ids["box"])
        assert (box.email, box.process_after) == ("alice@example.com", None)
        services.update_mailbox(store, box, box.copy(process_after=RECENT))
        assert Mailbox.get_by_id(ids["box"]).process_after == RECENT
    with Store(db_url) as store:  # opening again migrates nothing
        assert services.get_profile(store, ids["profile"]).move_undelivered is True
