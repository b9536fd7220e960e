"""P14 OAuth settings on every path that writes or reads them, on a real SQLite file and a real
PostgreSQL database: services (secrets encrypted), export (never a secret), import (clear secrets
encrypted on arrival, errors refused), `check`, rotate-key, and migration 5 of a schema-4 database."""

from __future__ import annotations

import json

import pytest
from support.builders import imap_profile
from support.oauth_profiles import CLIENT_SECRET, client_certificate_pem, microsoft_draft, microsoft_profile

from mailbox_tui.domain.findings import RuleViolation
from mailbox_tui.domain.oauth import MICROSOFT_SCOPE, OAUTH_FIELDS
from mailbox_tui.domain.options import AuthMethod
from mailbox_tui.domain.records import PasswordEdit
from mailbox_tui.store import services
from mailbox_tui.store.database import SCHEMA_VERSION, Store, schema_version
from mailbox_tui.store.exchange import export_csv, export_json, import_document, read_document
from mailbox_tui.store.models import EmailServerProfile, Meta
from mailbox_tui.store.stored_findings import stored_findings

SECRET_COLUMNS = ("oauth_client_secret_enc", "oauth_certificate_enc", "oauth_service_account_key_enc")


def _export(tmp_path) -> dict:
    path = tmp_path / "export.json"
    with path.open("w") as fh:
        export_json(fh)
    return json.loads(path.read_text())


def _raw_row(store, profile_id) -> str:
    cursor = store.db.execute_sql(f"SELECT * FROM email_server_profile WHERE id = {int(profile_id)}")
    return repr(cursor.fetchone())


def test_p14_saved_through_the_services_secret_encrypted_and_read_back(store):
    saved = microsoft_profile(store)
    assert saved.oauth_client_secret.stored and saved.oauth_scope == MICROSOFT_SCOPE
    row = EmailServerProfile.get_by_id(saved.id)
    assert row.oauth_client_secret_enc and CLIENT_SECRET not in _raw_row(store, saved.id)
    assert store.keyring.decrypt(row.oauth_client_secret_enc) == CLIENT_SECRET
    assert CLIENT_SECRET not in repr(services.get_profile(store, saved.id))


def test_p14_a_certificate_is_stored_encrypted_and_blank_keeps_it(store):
    pem = client_certificate_pem()
    saved = microsoft_profile(store, oauth_client_secret=PasswordEdit(), oauth_certificate=PasswordEdit(new=pem))
    row = EmailServerProfile.get_by_id(saved.id)
    assert "PRIVATE KEY" not in _raw_row(store, saved.id)
    assert store.keyring.decrypt(row.oauth_certificate_enc) == pem
    again = services.update_profile(store, saved, saved.copy(oauth_scope="https://outlook.office365.com/.default "))
    assert store.keyring.decrypt(EmailServerProfile.get_by_id(again.id).oauth_certificate_enc) == pem


def test_p14_switching_away_from_oauth_clears_its_settings_and_secrets(store):
    saved = microsoft_profile(store)
    services.update_profile(store, saved, saved.copy(auth_method=AuthMethod.USER_OR_QUEUE_CREDENTIALS))
    row = EmailServerProfile.get_by_id(saved.id)
    assert row.oauth_client_secret_enc is None and row.oauth_client_id == "" and row.oauth_tenant_id == ""


def test_p14_an_incomplete_profile_is_refused_and_nothing_written(store):
    with pytest.raises(RuleViolation, match="P14"):
        services.create_profile(store, microsoft_draft(oauth_tenant_id=""))
    assert EmailServerProfile.select().count() == 0


def test_p14_export_never_carries_a_secret_and_says_which_are_set(store, tmp_path):
    microsoft_profile(store, oauth_certificate=PasswordEdit(new=client_certificate_pem()))
    doc = _export(tmp_path)
    (row,) = doc["profiles"]
    assert row["oauthclientid"] and row["exchangeonlinetenantid"] and row["oauthscope"] == MICROSOFT_SCOPE
    assert row["oauthclientsecret"] is None and row["isoauthclientsecretset"] is True
    assert row["oauthcertificate"] is None and row["isoauthcertificateset"] is True
    assert row["oauthserviceaccountkey"] is None and row["isoauthserviceaccountkeyset"] is False
    text = json.dumps(doc)
    assert CLIENT_SECRET not in text and "PRIVATE KEY" not in text
    export_csv(tmp_path / "csv")
    csv_text = (tmp_path / "csv" / "profiles.csv").read_text()
    assert "oauthclientid" in csv_text.splitlines()[0] and CLIENT_SECRET not in csv_text


def test_p14_reimporting_an_export_keeps_the_stored_secrets(store, tmp_path):
    saved = microsoft_profile(store)
    doc = _export(tmp_path)
    report = import_document(store, doc)
    assert report.written and not report.errors, report.findings
    row = EmailServerProfile.get_by_id(saved.id)
    assert store.keyring.decrypt(row.oauth_client_secret_enc) == CLIENT_SECRET
    export_csv(tmp_path / "csv")
    report = import_document(store, read_document(tmp_path / "csv"))
    assert report.written and not report.errors
    assert store.keyring.decrypt(EmailServerProfile.get_by_id(saved.id).oauth_client_secret_enc) == CLIENT_SECRET


def test_p14_import_encrypts_a_clear_secret_on_arrival(store):
    report = import_document(store, {"profiles": [{
        "name": "M365", "servertype": 4, "incomingserverlocation": "outlook.office365.com",
        "outgoingserverlocation": "smtp.office365.com", "incomingcredentialretrieval": 7,
        "oauthclientid": "3d9f1c2e-8a47-4b6d-b0e5-6f2a9c81d4e7", "oauthclientsecret": "Imported-Q~secret",
        "exchangeonlinetenantid": "contoso.onmicrosoft.com"}]})
    assert report.written and not report.errors, report.findings
    row = EmailServerProfile.get()
    assert store.keyring.decrypt(row.oauth_client_secret_enc) == "Imported-Q~secret"
    assert "Imported-Q~secret" not in _raw_row(store, row.id) and row.oauth_scope == MICROSOFT_SCOPE


def test_p14_import_refuses_an_incomplete_oauth_profile_with_its_place_and_writes_nothing(store):
    report = import_document(store, {"profiles": [{
        "name": "M365", "servertype": 4, "incomingserverlocation": "outlook.office365.com",
        "outgoingserverlocation": "smtp.office365.com", "incomingcredentialretrieval": 7,
        "oauthclientsecret": "Imported-Q~secret", "oauthtokenendpoint": "http://x.example.com/token"}]})
    assert not report.written
    assert {(f.rule, f.field) for f in report.errors} >= {("P14", "oauth_client_id"),
                                                          ("P14", "oauth_token_endpoint")}
    assert all("Imported-Q~secret" not in f.message for f in report.findings)
    assert EmailServerProfile.select().count() == 0


def test_p14_check_reports_a_stored_oauth_profile_without_its_settings_and_an_unreadable_secret(store):
    plain = imap_profile(store)
    EmailServerProfile.update(auth_method=AuthMethod.OAUTH).where(EmailServerProfile.id == plain.id).execute()
    found = {(f.record_id, f.finding.rule, f.finding.field) for f in stored_findings(store)}
    assert (plain.id, "P14", "oauth_client_id") in found and (plain.id, "P14", "oauth_tenant_id") in found
    ms = microsoft_profile(store, name="M365")
    EmailServerProfile.update(oauth_client_secret_enc="not-a-fernet-token").where(
        EmailServerProfile.id == ms.id).execute()
    unreadable = [f for f in stored_findings(store) if f.record_id == ms.id and f.finding.rule == "KEY"]
    assert [f.finding.field for f in unreadable] == ["oauth_client_secret"]
    assert "stored secret" in unreadable[0].finding.message


def test_rotate_key_reencrypts_the_oauth_secrets(sqlite_url, tmp_path, monkeypatch):
    from mailbox_tui.store.crypto import KEY_ENV
    from mailbox_tui.store.rotation import rotate_key

    monkeypatch.delenv(KEY_ENV, raising=False)
    (tmp_path / "conf").mkdir(mode=0o700)
    key_file = tmp_path / "conf" / "secret.key"
    pem = client_certificate_pem()
    with Store(sqlite_url, key_path=key_file) as store:
        saved = microsoft_profile(store, oauth_certificate=PasswordEdit(new=pem))
        before = EmailServerProfile.get_by_id(saved.id)
        count, _ = rotate_key(store)
        assert count == 2  # the client secret and the certificate
        after = EmailServerProfile.get_by_id(saved.id)
        assert after.oauth_client_secret_enc != before.oauth_client_secret_enc
        assert after.oauth_certificate_enc != before.oauth_certificate_enc
    with Store(sqlite_url, key_path=key_file) as store:
        row = EmailServerProfile.get_by_id(saved.id)
        assert store.keyring.decrypt(row.oauth_client_secret_enc) == CLIENT_SECRET
        assert store.keyring.decrypt(row.oauth_certificate_enc) == pem


def test_migration_5_adds_the_oauth_columns_to_a_schema_4_database_and_keeps_its_rows(db_url):
    from mailbox_tui.store.migrations import MIGRATIONS

    # The OAuth step's number, whatever it is renumbered to when migrations from other branches land.
    step = next(n for n, migration in MIGRATIONS.items() if migration.__name__ == "_migrate_oauth")
    with Store(db_url) as store:
        profile = imap_profile(store, timeout_seconds=45)
        declared = {f"{n}_enc" if n.endswith(("secret", "certificate", "key")) else n for n in OAUTH_FIELDS}
        for column in declared:
            store.db.execute_sql(f'ALTER TABLE "email_server_profile" DROP COLUMN "{column}"')
        Meta.update(value=str(step - 1)).where(Meta.key == "schema_version").execute()
    with Store(db_url) as store:
        assert schema_version(store.db) == SCHEMA_VERSION >= step >= 5
        assert declared <= {c.name for c in store.db.get_columns("email_server_profile")}
        got = services.get_profile(store, profile.id)
        assert (got.name, got.timeout_seconds, got.oauth_client_id, got.oauth_client_secret.stored) == \
            ("Corporate IMAP", 45, "", False)
        saved = services.update_profile(store, got, microsoft_draft().copy(id=got.id, version=got.version,
                                                                          name=got.name))
        assert saved.oauth_client_secret.stored
