"""Import and export in the exchange format, all-or-nothing."""

from __future__ import annotations

import io
import json

from support.builders import forward_draft, imap_profile, user

from mailbox_tui.store import services
from mailbox_tui.store.exchange import export_csv, export_json, import_document, read_document
from mailbox_tui.store.models import AppUser, EmailServerProfile, Mailbox, Queue

DOC = {
    "profiles": [{"name": "Corporate IMAP", "servertype": 4,
                  "incomingserverlocation": "imap.example.com", "incomingportnumber": 993, "incomingusessl": True,
                  "outgoingserverlocation": "smtp.example.com", "outgoingportnumber": 465, "outgoingusessl": True,
                  "incomingcredentialretrieval": 0, "outgoingcredentialretrieval": 0,
                  "usesamesettingsforoutgoingconnections": True,
                  "username": None, "password": None, "maxconcurrentconnections": 10}],
    "users": [{"fullname": "Alice Berg", "internalemailaddress": "alice@example.com"}],
    "queues": [{"name": "Support", "emailaddress": "support@example.com", "owner": "alice@example.com",
                "incomingemaildeliverymethod": 2, "outgoingemaildeliverymethod": 2}],
    "mailboxes": [{"name": "Forward collector", "emailaddress": "forward@example.com",
                   "isforwardmailbox": True, "owner": "alice@example.com", "regarding": None,
                   "emailserverprofile": "Corporate IMAP", "processanddeleteemails": True,
                   "allowemailconnectortousecredentials": True, "username": "forward@example.com",
                   "password": "s3cret", "incomingemaildeliverymethod": 2,
                   "outgoingemaildeliverymethod": 0, "actdeliverymethod": 2, "statecode": 0},
                  {"regarding": {"user": "alice@example.com"}, "emailserverprofile": "Corporate IMAP",
                   "allowemailconnectortousecredentials": True, "username": "alice@example.com",
                   "password": "alice-pw"},
                  {"regarding": {"queue": "Support"}, "emailserverprofile": "Corporate IMAP",
                   "allowemailconnectortousecredentials": True, "username": "support@example.com",
                   "password": "support-pw"}],
}


def _counts():
    return (EmailServerProfile.select().count(), AppUser.select().count(), Queue.select().count(),
            Mailbox.select().count())


def test_domain_example_document_imports(store):
    report = import_document(store, json.loads(json.dumps(DOC)))
    assert not report.errors, report.findings
    assert report.written
    assert _counts() == (1, 1, 1, 3)
    fwd = Mailbox.get(Mailbox.name == "Forward collector")
    assert services.mailbox_password(store, fwd.id) == "s3cret"
    alice_box = Mailbox.get(Mailbox.email == "alice@example.com")
    assert alice_box.username == "alice@example.com" and alice_box.profile_id is not None
    assert services.mailbox_password(store, alice_box.id) == "alice-pw"
    support = Mailbox.get(Mailbox.email == "support@example.com")
    assert support.owner_id == AppUser.get().id and support.incoming == 2


def test_import_full_of_violations_reports_each_with_location_and_writes_nothing(store):
    user(store, "Existing", "existing@example.com")
    before = _counts()
    doc = json.loads(json.dumps(DOC))
    doc["profiles"][0]["incomingserverlocation"] = "imap://bad/path"
    doc["users"].append({"fullname": "", "internalemailaddress": "not-an-address"})
    doc["mailboxes"][0]["outgoingemaildeliverymethod"] = 2
    doc["mailboxes"][0]["processanddeleteemails"] = "perhaps"
    doc["mailboxes"].append({"name": "F2", "isforwardmailbox": True, "emailaddress": "f2@example.com",
                             "owner": "ghost@example.com", "emailserverprofile": "Corporate IMAP"})
    report = import_document(store, doc)
    found = {(f.section, f.row, f.rule) for f in report.errors}
    assert ("profiles", 1, "P3") in found
    assert ("users", 2, "U1") in found
    assert ("mailboxes", 1, "FORMAT") in found
    assert ("mailboxes", 4, "M2") in found
    assert not report.written and _counts() == before


def test_rule_error_found_after_the_format_checks_is_still_reported(store):
    doc = json.loads(json.dumps(DOC))
    doc["mailboxes"][0]["outgoingemaildeliverymethod"] = 2
    report = import_document(store, doc)
    assert [(f.section, f.row, f.rule, f.field) for f in report.errors] == [("mailboxes", 1, "M13", "outgoing")]
    assert _counts() == (0, 0, 0, 0)


def test_dry_run_reports_without_writing(store):
    report = import_document(store, json.loads(json.dumps(DOC)), dry_run=True)
    assert not report.errors and not report.written
    assert _counts() == (0, 0, 0, 0)


def test_export_never_carries_a_password_and_reimports_unchanged(store):
    import_document(store, json.loads(json.dumps(DOC)))
    out = io.StringIO()
    export_json(out)
    text = out.getvalue()
    assert "s3cret" not in text and "alice-pw" not in text
    doc = json.loads(text)
    fwd = next(m for m in doc["mailboxes"] if m["isforwardmailbox"])
    assert fwd["password"] is None and fwd["ispasswordset"] is True
    report = import_document(store, doc)
    assert not report.errors and report.written
    assert sum(report.created.values()) == 0 and sum(report.updated.values()) == 0
    assert services.mailbox_password(store, Mailbox.get(Mailbox.name == "Forward collector").id) == "s3cret"


def test_csv_export_reimports_into_the_same_database(store, tmp_path):
    import_document(store, json.loads(json.dumps(DOC)))
    counts = export_csv(tmp_path / "csv")
    assert counts == {"profiles": 1, "users": 1, "queues": 1, "mailboxes": 3}
    assert "s3cret" not in (tmp_path / "csv" / "mailboxes.csv").read_text()
    report = import_document(store, read_document(tmp_path / "csv"))
    assert not report.errors, report.findings
    assert _counts() == (1, 1, 1, 3)


def test_many_new_users_with_mailboxes_in_bulk(store):
    profile = imap_profile(store)
    users = [{"fullname": f"User {i}", "internalemailaddress": f"user{i}@example.com"} for i in range(1200)]
    boxes = [{"regarding": {"user": f"user{i}@example.com"}, "emailserverprofile": profile.name,
              "allowemailconnectortousecredentials": True, "username": f"user{i}", "password": f"pw{i}",
              "incomingemaildeliverymethod": 2, "outgoingemaildeliverymethod": 2} for i in range(1200)]
    report = import_document(store, {"users": users, "mailboxes": boxes})
    assert not report.errors and report.created["users"] == 1200
    box = Mailbox.get(Mailbox.email == "user777@example.com")
    assert box.owner_id == box.regarding_user_id == AppUser.get(AppUser.email == "user777@example.com").id
    assert services.mailbox_password(store, box.id) == "pw777"


def test_existing_forward_mailbox_is_updated_by_name(store):
    profile = imap_profile(store)
    alice, _ = user(store)
    services.create_forward_mailbox(store, forward_draft(alice.id, profile.id))
    report = import_document(store, {"mailboxes": [{"name": "forward collector", "isforwardmailbox": True,
                                                     "processanddeleteemails": False}]})
    assert not report.errors and report.updated["mailboxes"] == 1
    assert Mailbox.select().where(Mailbox.kind == 2).count() == 1
    assert not Mailbox.get(Mailbox.kind == 2).delete_after_processing
