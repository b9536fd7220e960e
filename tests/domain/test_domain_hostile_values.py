"""Hostile values the rules refuse (issue 12): P13 pins, M20 control characters, R1 status codes,
A1 approval codes, length limits, invisible characters in names, and natural keys."""

from __future__ import annotations

import unicodedata

import pytest
from domain_builders import (
    ERROR,
    assert_fires,
    assert_quiet,
    forward_mailbox,
    imap_profile,
    mailbox_context,
    queue_mailbox,
    rules_of,
    user_mailbox,
    valid_queue,
    valid_user,
)

from mailbox_tui.domain.context import ProfileContext
from mailbox_tui.domain.options import AuthMethod, MailboxKind
from mailbox_tui.domain.records import PasswordEdit
from mailbox_tui.domain.rules import check_mailbox, check_profile, check_queue, check_user, normalise_profile
from mailbox_tui.domain.text import email_key, is_sha256_pin, natural_key, normalise_pin

PIN = "ab" * 32  # 64 hex digits
CRLF_PASSWORD = "x\r\nX1 DELETE INBOX"
MB = 1024 * 1024


def profile_findings(draft):
    return check_profile(normalise_profile(draft), ProfileContext())


def shared_credentials_profile(**changes):
    """A profile that signs in with its own credentials, so its user name and password are kept (P6)."""
    return imap_profile(auth_method=AuthMethod.PROFILE_CREDENTIALS, username="shared@example.com",
                        password=PasswordEdit(new="s3cret")).copy(**changes)


# ---------------------------------------------------------------- P13 certificate pins


@pytest.mark.parametrize("pin", [PIN, PIN.upper(), ":".join(PIN[i:i + 2] for i in range(0, 64, 2)),
                                 " ".join(PIN[i:i + 2] for i in range(0, 64, 2)), f"  {PIN}  ", ""])
def test_p13_accepts_64_hex_digits_with_colons_or_spaces(pin):
    assert_quiet(profile_findings(imap_profile(incoming_cert_sha256=pin, outgoing_cert_sha256=pin)))


BAD_PINS = {"dash": "-", "x": "x", "62 digits": "ab" * 31, "66 digits": "ab" * 33, "not hex": "g" * 64,
            "63 and a dash": PIN[:-1] + "-", "prefixed": "sha256:" + PIN, "tab inside": PIN[:32] + "\t" + PIN[32:],
            "arabic digits": "٠" * 64, "1 MB": "a" * MB}


@pytest.mark.parametrize("pin", BAD_PINS.values(), ids=BAD_PINS.keys())
@pytest.mark.parametrize("field", ["incoming_cert_sha256", "outgoing_cert_sha256"])
def test_p13_anything_but_a_sha256_is_an_error(pin, field):
    finding = assert_fires(profile_findings(imap_profile(**{field: pin})), "P13", field, ERROR)
    assert len(finding.message) < 200  # never the value itself


def test_p13_pin_normalised_to_64_lower_case_hex_digits():
    assert normalise_pin(" AB:" + "CD " * 31 + "ef ") == "ab" + "cd" * 31 + "ef"
    assert is_sha256_pin(":".join(PIN[i:i + 2].upper() for i in range(0, 64, 2)))
    assert not is_sha256_pin("")


# ---------------------------------------------------------------- M20 control characters

# Issue 21: not only CR, LF and NUL. ^A splits SASL XOAUTH2/OAUTHBEARER fields; ESC (and the C1 CSI, U+009B)
# starts a terminal command wherever the value is shown; tab, DEL and NEL are control characters too.
CONTROL = {"CRLF command": "u\r\nDELE 1", "LF": "u\nx", "CR": "u\rx", "NUL": "u\x00x", "trailing CRLF": "trailing\r\n",
           "^A SASL field": "u\x01auth=Bearer injected", "ESC OSC 52": "u\x1b]52;c;Y3VybA==\x07", "tab": "u\tx",
           "DEL": "u\x7fx", "C1 NEL": "u\x85x", "C1 CSI": "u\x9b2J", "BEL": "u\x07"}


@pytest.mark.parametrize("bad", CONTROL.values(), ids=CONTROL.keys())
@pytest.mark.parametrize("builder", [user_mailbox, queue_mailbox, forward_mailbox])
def test_m20_mailbox_user_name_with_a_control_character_is_an_error(builder, bad):
    finding = assert_fires(check_mailbox(builder(username=bad), mailbox_context()), "M20", "username", ERROR)
    assert bad not in finding.message


@pytest.mark.parametrize("bad", [CRLF_PASSWORD, *CONTROL.values()], ids=["CRLF DELETE", *CONTROL.keys()])
def test_m20_new_mailbox_password_with_a_control_character_is_an_error_and_not_quoted(bad):
    finding = assert_fires(check_mailbox(user_mailbox(password=PasswordEdit(stored=True, new=bad)),
                                         mailbox_context()), "M20", "password", ERROR)
    assert bad not in finding.message and "DELETE" not in finding.message and "injected" not in finding.message


@pytest.mark.parametrize("fine", ["alice@example.com", "Zoë-pässwörd-Ω42", "with space", "a" * 200,
                                  "\u202ertl (a format character, not a control one)"], ids=repr)
def test_m20_printable_text_is_not_a_control_character(fine):
    box = user_mailbox(username=fine, password=PasswordEdit(stored=True, new=fine))
    assert "M20" not in rules_of(check_mailbox(box, mailbox_context()))


def test_m20_stored_password_is_not_judged_only_a_new_one():
    assert_quiet(check_mailbox(user_mailbox(password=PasswordEdit(stored=True)), mailbox_context()))


@pytest.mark.parametrize("field, value", [("username", "u\r\nDELE 1"), ("password", PasswordEdit(new=CRLF_PASSWORD)),
                                          ("username", "u\x01x"), ("password", PasswordEdit(new="p\x1b[2J")),
                                          ("password", PasswordEdit(new="p\tw"))], ids=repr)
def test_m20_profile_own_credentials_with_control_characters_are_an_error(field, value):
    assert_fires(profile_findings(shared_credentials_profile(**{field: value})), "M20", field, ERROR)


@pytest.mark.parametrize("field, value", [("outgoing_username", "u\nx"),
                                          ("outgoing_password", PasswordEdit(new="p\r\nQUIT")),
                                          ("outgoing_username", "u\x9bx"),
                                          ("outgoing_password", PasswordEdit(new="p\x7f"))], ids=repr)
def test_m20_profile_separate_outgoing_credentials_with_control_characters_are_an_error(field, value):
    draft = shared_credentials_profile(use_same_settings_for_outgoing=False,
                                       outgoing_auth_method=AuthMethod.PROFILE_CREDENTIALS,
                                       outgoing_username="out@example.com",
                                       outgoing_password=PasswordEdit(new="out-pw")).copy(**{field: value})
    assert_fires(profile_findings(draft), "M20", field, ERROR)


# ---------------------------------------------------------------- R1 status, A1 approval codes


@pytest.mark.parametrize("code", [7, -5, 2, 10**30])
def test_r1_status_code_out_of_range_is_an_error_for_every_record(code):
    assert_fires(check_mailbox(user_mailbox(state=code), mailbox_context()), "R1", "state", ERROR)
    assert_fires(profile_findings(imap_profile(state=code)), "R1", "state", ERROR)
    assert_fires(check_queue(valid_queue(state=code)), "R1", "state", ERROR)
    assert_fires(check_user(valid_user(state=code)), "R1", "state", ERROR)


@pytest.mark.parametrize("code", [42, -1, 4])
@pytest.mark.parametrize("builder", [user_mailbox, queue_mailbox, forward_mailbox])
def test_a1_approval_code_out_of_range_is_an_error(builder, code):
    assert_fires(check_mailbox(builder(approval=code), mailbox_context()), "A1", "approval", ERROR)


def test_option_code_message_stays_short_for_a_huge_code():
    finding = assert_fires(check_mailbox(user_mailbox(incoming=10**30), mailbox_context()), "M12", "incoming", ERROR)
    assert len(finding.message) < 200


# ---------------------------------------------------------------- lengths (1 MB values)


def test_m9_mailbox_user_name_and_password_of_1_mb_are_errors():
    findings = check_mailbox(user_mailbox(username="u" * MB, password=PasswordEdit(new="p" * MB)), mailbox_context())
    assert sorted((f.rule, f.field) for f in findings) == [("M9", "password"), ("M9", "username")]
    assert all(len(f.message) < 200 for f in findings)


@pytest.mark.parametrize("field, value", [("username", "u" * MB), ("password", PasswordEdit(new="p" * MB)),
                                          ("username", "u" * 201), ("password", PasswordEdit(new="p" * 201))])
def test_p6_profile_user_name_and_password_have_the_mailbox_limits(field, value):
    finding = assert_fires(profile_findings(shared_credentials_profile(**{field: value})), "P6", field, ERROR)
    assert len(finding.message) < 200


def test_p6_profile_credentials_of_200_characters_are_allowed():
    draft = shared_credentials_profile(username="u" * 200, password=PasswordEdit(new="p" * 200))
    assert_quiet(profile_findings(draft))


@pytest.mark.parametrize("field", ["incoming_location", "outgoing_location"])
def test_p3_server_location_of_1_mb_is_an_error_with_a_short_message(field):
    finding = assert_fires(profile_findings(imap_profile(**{field: "a" * MB})), "P3", field, ERROR)
    assert len(finding.message) < 200


def test_p3_exchange_url_is_at_most_500_characters():
    from domain_builders import exchange_profile

    url = "https://mail.example.com/" + "a" * 500
    assert_fires(profile_findings(exchange_profile(incoming_location=url)), "P3", "incoming_location", ERROR)


# ---------------------------------------------------------------- names: invisible characters


INVISIBLE = {"RLO": "\u202e", "LRO": "\u202d", "RLE": "\u202b", "RLI": "\u2067", "PDF": "\u202c", "RLM": "\u200f",
             "ZWSP": "\u200b", "ZWJ": "\u200d", "ZWNJ": "\u200c", "WJ": "\u2060", "BOM": "\ufeff",
             "LINE SEPARATOR": "\u2028"}


@pytest.mark.parametrize("char", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_m1_p1_q1_u1_names_refuse_bidi_overrides_and_zero_width_characters(char):
    name = f"Supp{char}ort"
    assert_fires(check_mailbox(forward_mailbox(name=name), mailbox_context()), "M1", "name", ERROR)
    assert_fires(profile_findings(imap_profile(name=name)), "P1", "name", ERROR)
    assert_fires(check_queue(valid_queue(name=name)), "Q1", "name", ERROR)
    assert_fires(check_user(valid_user(full_name=name)), "U1", "full_name", ERROR)


@pytest.mark.parametrize("name", ["Straße", "Ærøskøbing Support", "支持", "Zoë", "O'Brien, \"Support\"", "=SUM(A1)",
                                  unicodedata.normalize("NFD", "Café")])
def test_names_in_any_script_with_quotes_and_formula_characters_are_fine(name):
    assert_quiet(check_queue(valid_queue(name=name)))
    assert_quiet(profile_findings(imap_profile(name=name)))


def test_name_whose_case_insensitive_key_outgrows_the_limit_is_an_error():
    name = "İ" * 100  # 100 characters; its key (İ -> i + combining dot) has 200
    assert_fires(profile_findings(imap_profile(name=name)), "P1", "name", ERROR)


# ---------------------------------------------------------------- natural keys


def test_natural_key_is_nfc_then_lower_not_casefold():
    assert email_key("straße@example.com") != email_key("strasse@example.com")
    assert email_key("STRASSE@example.com") == email_key("strasse@example.com")
    assert natural_key(unicodedata.normalize("NFD", "Café Support")) == natural_key("CAFÉ SUPPORT")
    assert natural_key("  Support ") == "support"


def test_mailbox_kind_is_still_judged_with_the_new_rules():
    # A sanity check that the new rules sit in the same tuple as the others: a valid draft is quiet.
    for kind in MailboxKind:
        builder = {MailboxKind.USER: user_mailbox, MailboxKind.QUEUE: queue_mailbox,
                   MailboxKind.FORWARD: forward_mailbox}[kind]
        assert rules_of(check_mailbox(builder(), mailbox_context())) == []
