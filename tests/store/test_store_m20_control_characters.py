"""M20 on every write path and in `check` (issue 21, item 2): a user name, a profile user name and a password
refuse every control character (C0, DEL, C1), not only CR, LF and NUL. A save and an import are refused with
the rule's message and write nothing; values stored before the rule are reported by `check` (the stored
password too, decrypted for the judgement and never shown)."""

from __future__ import annotations

import json

import pytest
from support.builders import forward_draft, imap_profile, user

from mailbox_tui.domain.findings import RuleViolation
from mailbox_tui.domain.options import AuthMethod
from mailbox_tui.domain.records import PasswordEdit
from mailbox_tui.store import services
from mailbox_tui.store.exchange import import_document
from mailbox_tui.store.models import ALL_MODELS, EmailServerProfile, Mailbox
from mailbox_tui.store.stored_findings import stored_findings

# What today's M20 (CR, LF, NUL) let through: each is a control character all the same.
HOSTILE = {
    "^A SASL field": "u\x01auth=Bearer injected",
    "OSC 52 clipboard": "u\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\x07",
    "clear screen": "u\x1b[2J",
    "tab": "u\tx",
    "DEL": "u\x7fx",
    "C1 CSI": "u\x9b2J",
}


def _snapshot():
    return {m._meta.table_name: list(m.select().order_by(*m._meta.get_primary_keys()).tuples()) for m in ALL_MODELS}


def _forward(store):
    profile = imap_profile(store)
    alice, _ = user(store)
    return services.create_forward_mailbox(store, forward_draft(alice.id, profile.id))


# ---------------------------------------------------------------- save


@pytest.mark.parametrize("bad", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_mailbox_save_with_a_control_character_in_the_user_name_or_password_is_refused(store, bad):
    box = _forward(store)
    before = _snapshot()
    for change, field in ((dict(username=bad), "username"),
                          (dict(password=PasswordEdit(stored=True, new=bad)), "password")):
        with pytest.raises(RuleViolation) as err:
            services.update_mailbox(store, box, box.copy(**change))
        assert [(f.rule, f.field) for f in err.value.findings] == [("M20", field)]
        assert bad not in str(err.value) and "injected" not in str(err.value)
    assert _snapshot() == before
    assert services.mailbox_password(store, box.id) == "s3cret-forward"


@pytest.mark.parametrize("bad", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_profile_save_with_a_control_character_in_its_credentials_is_refused(store, bad):
    before = _snapshot()
    own = dict(auth_method=AuthMethod.PROFILE_CREDENTIALS, username="shared@example.com",
               password=PasswordEdit(new="Shared-pw-1234"), use_same_settings_for_outgoing=False,
               outgoing_auth_method=AuthMethod.PROFILE_CREDENTIALS, outgoing_username="out@example.com",
               outgoing_password=PasswordEdit(new="Out-pw-5678"))
    for field in ("username", "password", "outgoing_username", "outgoing_password"):
        value = PasswordEdit(new=bad) if field.endswith("password") else bad
        with pytest.raises(RuleViolation) as err:
            imap_profile(store, name="Shared", **{**own, field: value})
        assert [(f.rule, f.field) for f in err.value.findings] == [("M20", field)]
    assert _snapshot() == before


# ---------------------------------------------------------------- import


def _document(**mailbox):
    return {
        "profiles": [{"name": "Corporate IMAP", "servertype": 4, "incomingserverlocation": "imap.example.com",
                      "incomingportnumber": 993, "incomingusessl": True, "outgoingserverlocation": "smtp.example.com",
                      "outgoingportnumber": 465, "outgoingusessl": True, "incomingcredentialretrieval": 0,
                      "outgoingcredentialretrieval": 0, "usesamesettingsforoutgoingconnections": True}],
        "users": [{"fullname": "Alice Berg", "internalemailaddress": "alice@example.com"}],
        "mailboxes": [{"regarding": {"user": "alice@example.com"}, "emailserverprofile": "Corporate IMAP",
                       "allowemailconnectortousecredentials": True, "username": "alice@example.com",
                       "password": "Alice-pw-Qx81", **mailbox}],
    }


@pytest.mark.parametrize("bad", HOSTILE.values(), ids=HOSTILE.keys())
@pytest.mark.parametrize("column, field", [("username", "username"), ("password", "password")])
def test_an_import_with_a_control_character_in_a_mailbox_credential_is_refused(store, bad, column, field):
    before = _snapshot()
    report = import_document(store, json.loads(json.dumps(_document(**{column: bad}))))
    assert not report.written
    assert [(f.section, f.rule, f.field) for f in report.errors] == [("mailboxes", "M20", field)]
    assert all(bad not in f.message for f in report.findings)
    assert _snapshot() == before


def test_an_import_with_control_characters_in_profile_credentials_is_refused(store):
    doc = _document()
    doc["profiles"][0].update(incomingcredentialretrieval=1, outgoingcredentialretrieval=1,
                              username="shared\x1b[2J@example.com", password="pw\x01x")
    before = _snapshot()
    report = import_document(store, doc)
    assert not report.written
    assert [(f.section, f.rule, f.field) for f in report.errors] == [("profiles", "M20", "username"),
                                                                      ("profiles", "M20", "password")]
    assert _snapshot() == before


# ---------------------------------------------------------------- check


def _m20(store):
    return sorted((f.record, f.finding.field) for f in stored_findings(store) if f.finding.rule == "M20")


def test_check_reports_stored_user_names_and_passwords_that_hold_a_control_character(store):
    box = _forward(store)
    shared = imap_profile(store, name="Shared", auth_method=AuthMethod.PROFILE_CREDENTIALS,
                          username="shared@example.com", password=PasswordEdit(new="Shared-pw-1234"),
                          use_same_settings_for_outgoing=False, outgoing_auth_method=AuthMethod.PROFILE_CREDENTIALS,
                          outgoing_username="out@example.com", outgoing_password=PasswordEdit(new="Out-pw-5678"))
    assert _m20(store) == []
    # Stored before M20 refused them: written past the rules, as an older release could have.
    encrypt = store.keyring.encrypt
    Mailbox.update(username="forward\x1b]2;owned\x07@example.com", password_enc=encrypt("pw\x01auth=Bearer x")
                   ).where(Mailbox.id == box.id).execute()
    EmailServerProfile.update(username="shared\x9b@example.com", password_enc=encrypt("pw\tx"),
                              outgoing_password_enc=encrypt("pw\x7f")).where(EmailServerProfile.id == shared.id).execute()
    found = [f for f in stored_findings(store) if f.finding.rule == "M20"]
    assert sorted((f.record, f.finding.field) for f in found) == [
        ("mailbox", "password"), ("mailbox", "username"),
        ("profile", "outgoing_password"), ("profile", "password"), ("profile", "username")]
    assert all(f.finding.is_error for f in found)
    for f in found:  # the judgement never shows the value
        assert not any(part in f.finding.message for part in ("\x1b", "\x01", "Bearer", "pw", "\x9b", "\x7f"))


def test_check_does_not_judge_a_password_it_cannot_read(store):
    box = _forward(store)
    Mailbox.update(password_enc="not-a-fernet-token").where(Mailbox.id == box.id).execute()
    rules = [f.finding.rule for f in stored_findings(store) if f.record == "mailbox"]
    assert "M20" not in rules and "KEY" in rules
