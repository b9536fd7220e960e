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


# ---------------------------------------------------------------- issue 12: hostile files

import csv  # noqa: E402
import unicodedata  # noqa: E402

import pytest  # noqa: E402

from mailbox_tui.store.stored_findings import stored_findings  # noqa: E402
from mailbox_tui.store.exchange import ImportFileError, parse_json_document  # noqa: E402

PIN = "ab" * 32
MB = 1024 * 1024


def _snapshot():
    """Every row of every table: an import that is refused leaves this unchanged."""
    from mailbox_tui.store.models import ALL_MODELS

    return {m._meta.table_name: list(m.select().order_by(*m._meta.get_primary_keys()).tuples()) for m in ALL_MODELS}


def _doc():
    return json.loads(json.dumps(DOC))


def _profile_row(**changes):
    row = dict(_doc()["profiles"][0])
    row.update(changes)
    return row


def _refused(store, doc):
    """Import `doc`, assert it wrote nothing, and return the errors as (section, row, rule, field)."""
    before = _snapshot()
    report = import_document(store, doc)
    assert not report.written and report.errors, report.findings
    assert _snapshot() == before
    assert all("\n" not in f.message and len(f.message) < 300 for f in report.findings), report.findings
    return [(f.section, f.row, f.rule, f.field) for f in report.errors]


def _stored_findings(store):
    return sorted((f.record, f.finding.rule, f.finding.field) for f in stored_findings(store) if f.finding.is_error)


# -- P13 pins


@pytest.mark.parametrize("pin", ["-", "x", "ab" * 31, "z" * 64])
def test_p13_import_of_a_pin_that_is_not_a_sha256_is_refused(store, pin):
    doc = {"profiles": [_profile_row(incomingcertsha256=pin, outgoingcertsha256=PIN)]}
    assert _refused(store, doc) == [("profiles", 1, "P13", "incoming_cert_sha256")]


def test_p13_import_stores_a_pin_with_colons_as_64_hex_digits(store):
    typed = ":".join(PIN[i:i + 2].upper() for i in range(0, 64, 2))
    report = import_document(store, {"profiles": [_profile_row(outgoingcertsha256=typed)]})
    assert report.written, report.findings
    assert EmailServerProfile.get().outgoing_cert_sha256 == PIN


def test_p13_check_reports_a_stored_pin_that_is_not_a_sha256(store):
    profile = imap_profile(store)
    EmailServerProfile.update(incoming_cert_sha256="-").where(EmailServerProfile.id == profile.id).execute()
    assert _stored_findings(store) == [("profile", "P13", "incoming_cert_sha256")]


# -- M20 line breaks


def test_m20_import_of_a_mailbox_password_or_user_name_with_crlf_is_refused(store):
    doc = _doc()
    doc["mailboxes"][0]["password"] = "x\r\nX1 DELETE INBOX"
    doc["mailboxes"][1]["username"] = "u\r\nDELE 1"
    errors = _refused(store, doc)
    assert sorted(errors) == [("mailboxes", 1, "M20", "password"), ("mailboxes", 2, "M20", "username")]


def test_m20_import_of_profile_credentials_with_a_nul_or_lf_is_refused(store):
    doc = {"profiles": [_profile_row(incomingcredentialretrieval=1, outgoingcredentialretrieval=1,
                                     username="shared\x00", password="pw\nQUIT")]}
    assert _refused(store, doc) == [("profiles", 1, "M20", "username"), ("profiles", 1, "M20", "password")]


def test_m20_check_reports_a_stored_user_name_with_crlf(store):
    _, box = user(store)
    Mailbox.update(username="u\r\nDELE 1").where(Mailbox.id == box.id).execute()
    assert _stored_findings(store) == [("mailbox", "M20", "username")]


# -- R1, A1 codes and whole numbers (item 14)


@pytest.mark.parametrize("section, row, rule, field", [
    ("profiles", {"statecode": 7}, "R1", "state"),
    ("profiles", {"statecode": -5}, "R1", "state"),
    ("queues", {"statecode": 7}, "R1", "state"),
    ("queues", {"emailrouteraccessapproval": 42}, "A1", "approval"),
    ("users", {"emailrouteraccessapproval": 42}, "A1", "approval"),
    ("users", {"incomingemaildeliverymethod": 9}, "M12", "incoming"),
    ("mailboxes", {"statecode": 7}, "R1", "state"),
    ("mailboxes", {"emailrouteraccessapproval": 42}, "A1", "approval"),
])
def test_r1_a1_import_of_codes_outside_their_option_set_is_refused(store, section, row, rule, field):
    doc = _doc()
    doc[section][0].update(row)
    errors = _refused(store, doc)
    assert [e for e in errors if e[0] == section] == [(section, 1, rule, field)], errors


@pytest.mark.parametrize("port", [993.7, "993.7", 10**30, -(10**30), "1e3", "٩٩٣", "9_93", True, [993], {"n": 993}])
def test_import_of_a_port_that_is_not_a_whole_number_is_refused_not_rounded(store, port):
    assert _refused(store, {"profiles": [_profile_row(incomingportnumber=port)]}) == [
        ("profiles", 1, "FORMAT", "incomingportnumber")]


def test_import_of_a_port_written_as_993_0_is_993(store):
    report = import_document(store, {"profiles": [_profile_row(incomingportnumber=993.0)]})
    assert report.written and EmailServerProfile.get().incoming_port == 993


def test_import_of_profile_user_name_password_and_pin_of_1_mb_is_refused(store):
    big = "a" * MB
    doc = {"profiles": [_profile_row(incomingcredentialretrieval=1, outgoingcredentialretrieval=1, username=big,
                                     password=big, incomingcertsha256=big)]}
    assert sorted(_refused(store, doc)) == [("profiles", 1, "P13", "incoming_cert_sha256"),
                                            ("profiles", 1, "P6", "password"), ("profiles", 1, "P6", "username")]


def test_import_of_1_mb_names_and_locations_is_refused_with_short_messages(store):
    big = "a" * MB
    doc = _doc()
    doc["profiles"][0]["incomingserverlocation"] = big
    doc["users"][0]["fullname"] = big
    doc["queues"][0]["name"] = big
    doc["mailboxes"][0]["name"] = big
    doc["mailboxes"][0]["username"] = big
    errors = _refused(store, doc)
    assert ("profiles", 1, "P3", "incoming_location") in errors
    assert ("users", 1, "U1", "full_name") in errors
    assert ("queues", 1, "Q1", "name") in errors
    assert ("mailboxes", 1, "M1", "name") in errors and ("mailboxes", 1, "M9", "username") in errors


def test_r1_a1_check_reports_stored_codes_outside_their_option_set(store):
    profile = imap_profile(store)
    _, box = user(store)
    EmailServerProfile.update(state=7).where(EmailServerProfile.id == profile.id).execute()
    Mailbox.update(state=-5, approval=42).where(Mailbox.id == box.id).execute()
    assert _stored_findings(store) == [("mailbox", "A1", "approval"), ("mailbox", "R1", "state"),
                                       ("profile", "R1", "state")]


def test_check_reports_stored_values_of_1_mb(sqlite_url):
    # Only SQLite lets such a value in at all (PostgreSQL's varchar refuses it): as an old release stored it.
    from mailbox_tui.store.database import Store

    with Store(sqlite_url) as store:
        profile = imap_profile(store)
        EmailServerProfile.update(username="u" * MB, incoming_cert_sha256="f" * MB, auth_method=1).where(
            EmailServerProfile.id == profile.id).execute()
        found = _stored_findings(store)
    assert ("profile", "P13", "incoming_cert_sha256") in found and ("profile", "P6", "username") in found


# -- item 13: files that are not exchange documents


HOSTILE_JSON = {
    "Infinity": b'{"profiles": [{"name": "P", "incomingportnumber": Infinity}]}',
    "-Infinity": b'{"profiles": [{"name": "P", "incomingportnumber": -Infinity}]}',
    "NaN": b'{"profiles": [{"name": "P", "incomingportnumber": NaN}]}',
    "1e400": b'{"profiles": [{"name": "P", "incomingportnumber": 1e400}]}',
    "5000 digits": b'{"profiles": [{"name": "P", "incomingportnumber": ' + b"9" * 5000 + b"}]}",
    "nested 100000 deep": b"[" * 100_000 + b"]" * 100_000,
    "nested in a value": b'{"users": [{"fullname": ' + b"[" * 100_000 + b"]" * 100_000 + b"}]}",
    "invalid UTF-8": b'{"users": [{"fullname": "\xff\xfe"}]}',
    "a list": b'[{"name": "P"}]',
    "a number": b"42",
    "section is an object": b'{"users": {"fullname": "x"}}',
    "row is a list": b'{"users": [["x"]]}',
    "row is text": b'{"users": ["x"]}',
    "unknown section": b'{"people": []}',
    "not JSON": b"fullname,internalemailaddress\n",
    "empty": b"",
}


@pytest.mark.parametrize("data", HOSTILE_JSON.values(), ids=HOSTILE_JSON.keys())
def test_json_that_is_no_exchange_document_gives_one_clear_line(data):
    with pytest.raises(ImportFileError) as err:
        parse_json_document(data, "bad.json")
    message = str(err.value)
    assert "\n" not in message and len(message) < 200 and message.endswith("."), message


@pytest.mark.parametrize("name, data", HOSTILE_JSON.items(), ids=HOSTILE_JSON.keys())
def test_hostile_json_file_through_read_document_raises_only_the_import_error(tmp_path, name, data):
    path = tmp_path / "doc.json"
    path.write_bytes(data)
    with pytest.raises(ImportFileError):
        read_document(path)


WRONG_TYPES = {
    "name is a list": ("profiles", {"name": ["P"]}, "name"),
    "servertype is text": ("profiles", {"servertype": "IMAP"}, "servertype"),
    "usessl is a number": ("profiles", {"incomingusessl": 2}, "incomingusessl"),
    "tlsmode is an object": ("profiles", {"incomingtlsmode": {"x": 1}}, "incomingtlsmode"),
    "fullname is a number": ("users", {"fullname": 5}, "fullname"),
    "email is a list": ("users", {"internalemailaddress": ["a@example.com"]}, "internalemailaddress"),
    "owner is a list": ("queues", {"owner": ["alice@example.com"]}, "owner"),
    "regarding is a list": ("mailboxes", {"regarding": ["user", "alice@example.com"]}, "regarding"),
    "regarding names nobody": ("mailboxes", {"regarding": {"user": ""}}, "regarding"),
    "profile is an object": ("mailboxes", {"emailserverprofile": {"name": "Corporate IMAP"}}, "emailserverprofile"),
    "password is a number": ("mailboxes", {"password": 1234}, "password"),
    "isforwardmailbox is a list": ("mailboxes", {"isforwardmailbox": []}, "isforwardmailbox"),
}


@pytest.mark.parametrize("section, change, column", WRONG_TYPES.values(), ids=WRONG_TYPES.keys())
def test_a_value_of_the_wrong_type_anywhere_is_a_format_error_and_nothing_is_written(store, section, change, column):
    doc = _doc()
    doc[section][0].update(change)
    errors = _refused(store, doc)
    assert (section, 1, "FORMAT", column) in errors, errors


def test_every_format_problem_of_a_row_is_reported_not_only_the_first(store):
    doc = {"profiles": [_profile_row(incomingportnumber="x", outgoingportnumber=1.5, statecode="active")]}
    assert _refused(store, doc) == [("profiles", 1, "FORMAT", "incomingportnumber"),
                                    ("profiles", 1, "FORMAT", "outgoingportnumber"),
                                    ("profiles", 1, "FORMAT", "statecode")]


def _write_csv(path, header, rows, bom=False):
    with path.open("w", newline="", encoding="utf-8-sig" if bom else "utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_csv_with_a_utf8_bom_keeps_its_first_column(store, tmp_path):
    path = _write_csv(tmp_path / "users.csv", ["fullname", "internalemailaddress"],
                      [["Alice Berg", "alice@example.com"]], bom=True)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    report = import_document(store, read_document(path))
    assert report.written, report.findings
    assert AppUser.get().full_name == "Alice Berg"


HOSTILE_CSV = {
    "invalid UTF-8": b"fullname,internalemailaddress\n\xff\xfe,a@example.com\n",
    "more values than columns": b"fullname,internalemailaddress\nAlice,a@example.com,extra\n",
    "a value of 1 MB": b"fullname,internalemailaddress\n" + b"a" * MB + b",a@example.com\n",
    "unterminated quote": b'fullname,internalemailaddress\n"Alice,a@example.com\n',
}


@pytest.mark.parametrize("data", HOSTILE_CSV.values(), ids=HOSTILE_CSV.keys())
def test_csv_that_cannot_be_read_gives_one_clear_line(tmp_path, data):
    path = tmp_path / "users.csv"
    path.write_bytes(data)
    try:
        doc = read_document(path)
    except ImportFileError as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 300 and str(exc).endswith("."), str(exc)
    else:  # the csv module may read a lone quote to the end of the file: then the rules judge the row
        assert isinstance(doc["users"], list)


@pytest.mark.parametrize("port", ["Infinity", "NaN", "1e400", "9" * 5000, "993.7", "10" + "0" * 30])
def test_csv_number_that_is_no_whole_number_is_a_format_error(store, tmp_path, port):
    path = _write_csv(tmp_path / "profiles.csv", ["name", "servertype", "incomingserverlocation",
                                                  "outgoingserverlocation", "incomingportnumber"],
                      [["P", "4", "imap.example.com", "smtp.example.com", port]])
    assert _refused(store, read_document(path)) == [("profiles", 1, "FORMAT", "incomingportnumber")]


# -- item 5: CSV formula injection


FORMULA_NAMES = {"queue": "=HYPERLINK(\"http://x\",\"y\")", "profile": "+Ops IMAP", "user": "-Bob, the \"admin\"",
                 "forward": "@Collector", "tab": "'=already quoted", "quote": "'plain"}


def test_csv_export_neutralises_formula_cells_and_import_restores_them_exactly(store, tmp_path):
    doc = _doc()
    doc["queues"][0]["name"] = FORMULA_NAMES["queue"]
    doc["mailboxes"][2]["regarding"] = {"queue": FORMULA_NAMES["queue"]}
    doc["profiles"][0]["name"] = FORMULA_NAMES["profile"]
    for row in doc["mailboxes"]:
        row["emailserverprofile"] = FORMULA_NAMES["profile"]
    doc["users"][0]["fullname"] = FORMULA_NAMES["user"]
    doc["users"].append({"fullname": FORMULA_NAMES["quote"], "internalemailaddress": "=cmd@example.com"})
    doc["users"].append({"fullname": FORMULA_NAMES["tab"], "internalemailaddress": "+1@example.com"})
    doc["mailboxes"][0]["name"] = FORMULA_NAMES["forward"]
    assert import_document(store, doc).written
    before = _snapshot()
    export_csv(tmp_path / "csv")
    for section in ("profiles", "users", "queues", "mailboxes"):
        with (tmp_path / "csv" / f"{section}.csv").open(newline="", encoding="utf-8") as fh:
            for row in csv.reader(fh):
                for cell in row:
                    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (section, cell)
    users_csv = (tmp_path / "csv" / "users.csv").read_text(encoding="utf-8")
    assert "'=cmd@example.com" in users_csv and "\"'-Bob, the \"\"admin\"\"\"" in users_csv
    assert "\n''=already quoted," in users_csv and "\n'plain," in users_csv
    report = import_document(store, read_document(tmp_path / "csv"))
    assert not report.errors and sum(report.updated.values()) == 0 and sum(report.created.values()) == 0
    assert _snapshot() == before


# -- item 10: natural keys


def test_import_strasse_and_strasse_with_eszett_are_two_users(store):
    report = import_document(store, {"users": [
        {"fullname": "Hans Strasse", "internalemailaddress": "strasse@example.com"},
        {"fullname": "Hans Straße", "internalemailaddress": "straße@example.com"}]})
    assert report.written and report.created["users"] == 2
    assert sorted(u.full_name for u in AppUser.select()) == ["Hans Strasse", "Hans Straße"]
    report = import_document(store, {"users": [{"fullname": "Renamed", "internalemailaddress": "STRASSE@example.com"}]})
    assert report.updated["users"] == 1
    assert AppUser.get(AppUser.email == "straße@example.com").full_name == "Hans Straße"


def test_import_queue_names_in_nfc_and_nfd_are_one_queue(store):
    doc = _doc()
    nfc, nfd = unicodedata.normalize("NFC", "Café"), unicodedata.normalize("NFD", "Café")
    doc["queues"][0]["name"] = nfc
    doc["queues"].append(dict(doc["queues"][0], name=nfd, emailaddress="cafe2@example.com"))
    assert ("queues", 2, "Q1", "name") in _refused(store, doc)
    doc["queues"].pop()
    doc["mailboxes"][2]["regarding"] = {"queue": nfd}  # the NFD spelling names the same queue
    assert import_document(store, doc).written
    assert Queue.select().count() == 1


def test_import_profile_names_in_nfc_and_nfd_are_one_profile(store):
    nfc, nfd = unicodedata.normalize("NFC", "Zürich IMAP"), unicodedata.normalize("NFD", "Zürich IMAP")
    assert import_document(store, {"profiles": [_profile_row(name=nfc)]}).written
    report = import_document(store, {"profiles": [_profile_row(name=nfd, timeoutseconds=60)]})
    assert report.written and report.updated["profiles"] == 1
    assert EmailServerProfile.select().count() == 1 and EmailServerProfile.get().timeout_seconds == 60


def test_import_of_a_name_with_a_bidi_override_or_zero_width_space_is_refused(store):
    doc = _doc()
    doc["queues"][0]["name"] = "Support\u202egnp.exe"
    doc["mailboxes"][2]["regarding"] = {"queue": "Support\u202egnp.exe"}
    doc["profiles"][0]["name"] = "Corporate\u200bIMAP"
    errors = _refused(store, doc)
    assert ("queues", 1, "Q1", "name") in errors and ("profiles", 1, "P1", "name") in errors


# -- item 18: every finding of a row


def test_forward_mailbox_with_an_empty_name_and_a_regarding_user_reports_m7_and_m1(store):
    doc = _doc()
    doc["mailboxes"][0].update(name="", regarding={"user": "alice@example.com"})
    errors = _refused(store, doc)
    assert ("mailboxes", 1, "M7", "regarding_id") in errors and ("mailboxes", 1, "M1", "name") in errors


def test_a_row_with_an_unknown_profile_is_still_judged_by_the_other_rules(store):
    doc = _doc()
    doc["mailboxes"][0].update(emailserverprofile="No such profile", outgoingemaildeliverymethod=2,
                               username="u\nx")
    errors = _refused(store, doc)
    assert [e for e in errors if e[1] == 1] == [("mailboxes", 1, "M11", "profile_id"),
                                                ("mailboxes", 1, "M13", "outgoing"),
                                                ("mailboxes", 1, "M20", "username")]


def test_a_row_naming_an_unknown_user_is_still_judged_for_what_it_sets(store):
    doc = _doc()
    doc["mailboxes"][1].update(regarding={"user": "ghost@example.com"}, username="u\r\nDELE 1", statecode=9)
    errors = _refused(store, doc)
    assert [e for e in errors if e[1] == 2] == [("mailboxes", 2, "M7", "regarding_id"),
                                                ("mailboxes", 2, "M20", "username"),
                                                ("mailboxes", 2, "R1", "state")]


def test_a_mailbox_row_naming_a_user_whose_row_failed_says_so(store):
    doc = _doc()
    doc["users"][0]["fullname"] = ""
    report = import_document(store, doc)
    messages = [f.message for f in report.errors if f.section == "mailboxes" and f.row == 2]
    assert messages == ["The user alice@example.com has errors in this file."]


def test_an_import_pauses_the_cyclic_collector_and_always_restores_it(store, monkeypatch):
    """The collector is off while an import writes (a third of a 100,000-row import was spent walking
    the document), and on again after it, whether the import wrote, found errors or raised."""
    import gc

    from mailbox_tui.store.exchange import write

    seen = []
    original = write.write_plan

    def spying(plan):
        seen.append(gc.isenabled())
        return original(plan)

    monkeypatch.setattr(write, "write_plan", spying)
    assert gc.isenabled()
    report = import_document(store, {"users": [{"fullname": "Gc Test", "internalemailaddress": "gc@example.com"}]})
    assert report.written and seen == [False] and gc.isenabled()
    bad = import_document(store, {"users": [{"fullname": "", "internalemailaddress": "not an email"}]})
    assert bad.errors and not bad.written and gc.isenabled()

    def boom(plan):
        raise RuntimeError("killed half-way")

    monkeypatch.setattr(write, "write_plan", boom)
    with pytest.raises(RuntimeError):
        import_document(store, {"users": [{"fullname": "Gc Two", "internalemailaddress": "gc2@example.com"}]})
    assert gc.isenabled()
    assert AppUser.select().where(AppUser.email == "gc2@example.com").count() == 0


def test_unknown_columns_are_named_once_per_row_and_known_ones_are_not(store):
    """Every row is checked for columns the format does not know (a warning naming them, nothing else)."""
    doc = {"users": [{"fullname": "Known Only", "internalemailaddress": "known@example.com"},
                     {"fullname": "Shoes", "internalemailaddress": "shoes@example.com", "shoesize": 44},
                     {"fullname": "Many", "internalemailaddress": "many@example.com",
                      **{f"extra{n}": n for n in range(7)}}],
           "mailboxes": [{"regarding": {"user": "known@example.com"}, "hatsize": 7}]}
    report = import_document(store, doc, dry_run=True)
    unknown = [(f.section, f.row, f.field, f.message) for f in report.findings if f.rule == "FORMAT"]
    assert unknown == [("users", 2, "shoesize", "Ignored unknown field: shoesize."),
                       ("users", 3, "extra0", "Ignored unknown fields: extra0, extra1, extra2, extra3, extra4 "
                                             "and 2 more."),
                       ("mailboxes", 1, "hatsize", "Ignored unknown field: hatsize.")]
    assert not any(f.is_error for f in report.findings if f.rule == "FORMAT")
