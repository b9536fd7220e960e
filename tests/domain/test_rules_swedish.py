"""Svenska (issue 26) for the rules: every rule message an admin reads is in Swedish when the admin's
language is Swedish (`Finding.shown`), while `Finding.message` (what --json, import reports and the
rules document carry) stays in English, word for word as before."""

from __future__ import annotations

import json
from datetime import datetime

from domain_builders import (
    ALICE_ID,
    EXCHANGE_PROFILE,
    IMAP_PROFILE,
    PROFILE_AUTH_PROFILE,
    mailbox_context,
    valid_mailbox,
    valid_profile,
    valid_queue,
    valid_user,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailbox_tui.domain import exchange, rule_examples
from mailbox_tui.domain.availability import mailbox_fields, profile_fields
from mailbox_tui.domain.context import EmailUse, ProfileContext, QueueContext, Stage, UserContext
from mailbox_tui.domain.findings import RuleViolation
from mailbox_tui.domain.options import AuthMethod, IncomingMethod, MailboxKind, ServerType, TestStatus, TlsMode
from mailbox_tui.domain.records import MailboxDraft, PasswordEdit
from mailbox_tui.domain.rules import check_mailbox, check_profile, check_queue, check_user
from mailbox_tui.domain.text import EMAIL_VALIDATOR_WORDS
from mailbox_tui.i18n import Said, said


def one(findings, rule, field=None):
    found = [f for f in findings if f.rule == rule and (field is None or f.field == field)]
    assert len(found) == 1, [(f.rule, f.field, f.message) for f in findings]
    return found[0]


# ---------------------------------------------------------------- representative rules, word for word


def test_a_required_name_is_said_in_swedish_with_the_swedish_label(swedish):
    finding = one(check_mailbox(valid_mailbox(MailboxKind.FORWARD, name="  "), mailbox_context()), "M1")
    assert finding.message == "Name is required."
    assert finding.shown == "Namn måste anges."
    assert json.loads(json.dumps(finding.as_dict()))["message"] == "Name is required."


def test_a_name_too_long_keeps_its_figures(swedish):
    finding = one(check_profile(valid_profile(ServerType.IMAP_SMTP, name="p" * 101)), "P1")
    assert finding.message == "Name is at most 100 characters (now 101)."
    assert finding.shown == "Namn får vara högst 100 tecken (nu 101)."


def test_the_email_validator_s_problem_is_shown_in_swedish_and_kept_in_english(swedish):
    finding = one(check_user(valid_user(email="anna@@example.com"), UserContext()), "U1", "email")
    assert "invalid characters" in finding.message and "@" in finding.message
    assert finding.shown.startswith("Delen efter @-tecknet innehåller ogiltiga tecken: ")
    assert "'@'" in finding.shown  # the validator's quote of the address, as it is
    missing = one(check_user(valid_user(email="anna.example.com"), UserContext()), "U1", "email")
    assert (missing.message, missing.shown) == ("An email address must have an @-sign.",
                                                "En e-postadress måste ha ett @-tecken.")


def test_a_required_primary_email_names_the_swedish_label(swedish):
    finding = one(check_user(valid_user(email=""), UserContext()), "U1", "email")
    assert (finding.message, finding.shown) == ("Primary Email is required.", "Primär e-postadress måste anges.")


def test_an_option_that_is_not_allowed_names_every_choice_in_swedish(swedish):
    draft = valid_mailbox(MailboxKind.FORWARD, incoming=IncomingMethod.NONE)
    finding = one(check_mailbox(draft, mailbox_context()), "M12")
    assert finding.message == ("“None” is not allowed for a forward mailbox: choose “Server-Side Synchronization "
                               "or Email Router”.")
    assert finding.shown == ("”Inga” är inte tillåtet för en postlåda för vidarebefordran: välj ”Synkronisering "
                             "med servern eller e-postrouter”.")
    many = one(check_mailbox(valid_mailbox(MailboxKind.USER, incoming=9), mailbox_context()), "M12")
    assert many.message.startswith("Code 9 is not allowed for a user mailbox: choose “None” or ")
    assert many.shown == ("Kod 9 är inte tillåten för en användares postlåda: välj ”Inga”, ”Microsoft Dynamics 365 "
                          "för Outlook”, ”Synkronisering med servern eller e-postrouter” eller ”Postlåda för "
                          "vidarebefordran”.")
    for stored in (finding, many):  # read back from a report's plain English text, the same Swedish
        assert said(str(stored.message)) == stored.shown


def test_m20_names_the_credential_in_swedish(swedish):
    draft = valid_mailbox(MailboxKind.USER, username="alice\r\nRCPT TO:<x@example.com>")
    finding = one(check_mailbox(draft, mailbox_context()), "M20", "username")
    assert finding.message.startswith("User Name cannot contain control characters (line breaks, tabs, NUL,")
    assert finding.shown.startswith("Användarnamn får inte innehålla kontrolltecken (radbrytningar, tabbar, NUL,")
    assert "\r" not in finding.shown and "RCPT" not in finding.shown  # the value itself is never said


def test_a_profile_rule_with_option_labels_is_said_in_swedish(swedish):
    draft = valid_profile(ServerType.EXCHANGE, auth_method=AuthMethod.GMAIL_OAUTH)
    finding = one(check_profile(draft), "P5", "auth_method")
    assert finding.message.startswith("Gmail OAuth does not suit Exchange Server: choose Credentials Specified by "
                                      "a User or Queue, ")
    assert finding.shown.startswith("Gmail OAuth passar inte Exchange Server: välj Autentiseringsuppgifter anges "
                                    "av en användare eller en kö, Autentiseringsuppgifter anges i "
                                    "e-postserverprofilen, ")
    clear = one(check_profile(valid_profile(ServerType.IMAP_SMTP, incoming_tls=TlsMode.NONE)), "P10")
    assert clear.shown == "SSL är avstängt för inkommande anslutningar: lösenord skickas i klartext."


def test_a_plural_message_takes_the_swedish_form_for_its_number(swedish):
    same = tuple(EmailUse(f"Box {k}", False) for k in range(5))
    finding = one(check_mailbox(valid_mailbox(MailboxKind.USER), mailbox_context(same_email=same)), "M5")
    assert finding.message == "Another mailbox uses this address: 'Box 0', 'Box 1', 'Box 2' and 2 more."
    assert finding.shown == "En annan postlåda använder den här adressen: 'Box 0', 'Box 1', 'Box 2' och 2 till."
    old = valid_mailbox(MailboxKind.USER, process_after=datetime(2020, 1, 1))
    stale = one(check_mailbox(old, mailbox_context(now=datetime(2026, 1, 1))), "M19")
    assert stale.message == ("Process Email From is more than 30 days ago: old mail floods in and duplicates "
                             "follow.")
    assert stale.shown.startswith("Bearbeta e-post från ligger mer än 30 dagar bakåt")


def test_a_name_from_the_database_is_shown_as_it_is_never_translated(swedish):
    """A value that is not ours (a profile's name, even one that reads like a label) is never looked up."""
    profile = IMAP_PROFILE.__class__(1, "Name", ServerType.IMAP_SMTP, AuthMethod.USER_OR_QUEUE_CREDENTIALS)
    draft = valid_mailbox(MailboxKind.USER, allow_credentials=False)
    finding = one(check_mailbox(draft, mailbox_context(profile=profile)), "M10")
    assert finding.shown.startswith("Profilen 'Name' använder postlådans egna autentiseringsuppgifter")


def test_english_is_unchanged_and_shown_is_the_message_itself():
    draft = valid_mailbox(MailboxKind.FORWARD, name="", incoming=IncomingMethod.NONE)
    for finding in check_mailbox(draft, mailbox_context()):
        assert finding.shown == finding.message


def test_a_refused_write_says_its_findings_in_swedish_and_stays_english_as_text(swedish):
    findings = check_queue(valid_queue(name="", owner_id=None), QueueContext())
    refusal = RuleViolation(findings)
    assert str(refusal) == "Q1: Name is required.; Q1: Owner is required."
    assert refusal.shown == "Q1: Namn måste anges.; Q1: Ägare måste anges."


def test_a_locked_field_says_why_in_swedish(swedish):
    states = mailbox_fields(valid_mailbox(MailboxKind.QUEUE))
    assert states["owner_id"].reason == "A queue mailbox is owned by the queue's owner: change it on the queue (M2)."
    assert said(states["owner_id"].reason) == "En kös postlåda ägs av köns ägare: ändra den på kön (M2)."
    auto = profile_fields(valid_profile(ServerType.EXCHANGE, auto_discover=True))
    assert said(auto["incoming_port"].reason) == "Identifiera serverplats automatiskt hittar servrarna (P8)."


def test_the_ews_retirement_sentence_names_the_declared_dates():
    assert exchange.EWS_DISABLEMENT_STARTS in exchange.EWS_RETIREMENT
    assert exchange.EWS_SHUTDOWN in exchange.EWS_RETIREMENT


# ---------------------------------------------------------------- every message the rules can give


def _every_example():
    for case in rule_examples.cases():
        for _, finding in rule_examples.run(case):
            yield finding
    for case in rule_examples.notice_cases():
        for _, finding in rule_examples.run_notices(case):
            yield finding


def test_every_rule_example_reads_in_swedish_live_and_read_back_from_storage(swedish):
    """The rules document's examples cover every rule and severity: each says something else in Swedish,
    whether shown as the rule made it or read back from plain text (a report, a stored sentence)."""
    findings = list(_every_example())
    assert len({f.rule for f in findings}) > 30
    for finding in findings:
        # every message is made by say(), but for the email validator's own words (read back, above)
        assert isinstance(finding.message, Said) or finding.message in EMAIL_VALIDATOR_WORDS, finding.message
        assert finding.shown != finding.message, (finding.rule, finding.message)
        assert said(str(finding.message)) != finding.message, (finding.rule, finding.message)


def test_the_english_of_every_rule_example_is_what_the_rules_document_quotes():
    from pathlib import Path

    document = (Path(__file__).resolve().parents[2] / "docs" / "RULES.md").read_text(encoding="utf-8")
    for finding in _every_example():
        assert finding.message in document, finding.message


TEXT = st.text(alphabet=st.sampled_from("aZ İ.-@_\t\n\x1b\u200bé0"), max_size=12)
NAME = TEXT.filter(bool)  # a stored sentence quotes a name: an empty one (M1 refuses it) cannot be read back
CODES = st.integers(min_value=-1, max_value=9)


@st.composite
def mailbox_cases(draw):
    kind = draw(st.sampled_from(list(MailboxKind)))
    draft = valid_mailbox(kind).copy(
        name=draw(st.one_of(NAME, st.just("n" * 201))), email=draw(TEXT), incoming=draw(CODES),
        outgoing=draw(CODES), act=draw(CODES), username=draw(st.one_of(TEXT, st.just("u" * 201))),
        password=PasswordEdit(stored=draw(st.booleans()), new=draw(st.one_of(st.none(), TEXT))),
        allow_credentials=draw(st.booleans()), delete_after_processing=draw(st.booleans()),
        owner_id=draw(st.sampled_from([ALICE_ID, None, 99])), approval=draw(st.integers(-1, 4)),
        process_after=draw(st.sampled_from([None, datetime(2020, 1, 1), datetime(2030, 1, 1), "soon"])),
        state=draw(st.integers(-1, 2)))
    context = mailbox_context(
        profile=draw(st.sampled_from([None, IMAP_PROFILE, EXCHANGE_PROFILE, PROFILE_AUTH_PROFILE])),
        owner_exists=draw(st.booleans()), regarding_exists=draw(st.booleans()),
        same_email=tuple(EmailUse(f"Box {k}", draw(st.booleans())) for k in range(draw(st.integers(0, 5)))),
        active_forward_mailbox_exists=draw(st.booleans()), approval_required=draw(st.booleans()),
        stage=draw(st.sampled_from(list(Stage))), now=datetime(2026, 1, 1),
        original=draw(st.sampled_from([None, valid_mailbox(MailboxKind.USER)])))
    return draft, context


@st.composite
def profile_drafts(draw):
    server_type = draw(st.sampled_from([*ServerType, None, 9]))
    base = valid_profile(draw(st.sampled_from(list(ServerType))))
    location = st.one_of(TEXT, st.sampled_from(["imap://x.example.com", "mail.example.com:993", "https://",
                                                "https://outlook.office365.com/EWS/Exchange.asmx", "a/b"]))
    return base.copy(
        server_type=server_type, name=draw(TEXT), auto_discover=draw(st.booleans()),
        incoming_location=draw(location), outgoing_location=draw(location),
        incoming_port=draw(st.sampled_from([None, 0, 993, 70000])), incoming_tls=draw(st.sampled_from(list(TlsMode))),
        outgoing_tls=draw(st.sampled_from(list(TlsMode))), auth_method=draw(st.integers(0, 7)),
        outgoing_auth_method=draw(st.integers(0, 7)), use_same_settings_for_outgoing=draw(st.booleans()),
        username=draw(TEXT), password=PasswordEdit(new=draw(st.one_of(st.none(), TEXT))),
        max_concurrent_connections=draw(st.sampled_from([None, 0, 10, 301])),
        min_polling_minutes=draw(st.sampled_from([None, -1, 5, 1441])),
        incoming_cert_sha256=draw(st.sampled_from(["", "ab:cd", "0" * 64])),
        oauth_client_id=draw(TEXT), oauth_tenant_id=draw(TEXT), oauth_token_endpoint=draw(st.sampled_from(
            ["", "http://x", "https://login.example.com/token"])),
        move_undelivered=draw(st.sampled_from([True, False, 2])))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=mailbox_cases(), profile=profile_drafts(), name_taken=st.booleans())
def test_no_rule_message_is_left_in_english(swedish, case, profile, name_taken):
    """Whatever a draft breaks, each message the rules give reads differently in Swedish, live and read back
    from its English text; the English text is what --json carries."""
    draft, context = case
    findings = [*check_mailbox(draft, context), *check_profile(profile, ProfileContext(name_taken=name_taken)),
                *check_user(valid_user(email=draft.email, full_name=draft.name), UserContext(email_taken=True)),
                *check_queue(valid_queue(name=draft.name, email=draft.email), QueueContext(name_taken=True))]
    for finding in findings:
        assert finding.shown != finding.message, (finding.rule, finding.message)
        assert said(str(finding.message)) != finding.message, (finding.rule, finding.message)
        assert json.loads(json.dumps(finding.as_dict()))["message"] == str(finding.message)


# ---------------------------------------------------------------- Test & Enable's lifecycle alerts (stored)


def test_a_stored_lifecycle_alert_reads_back_in_swedish_and_is_stored_in_english(swedish):
    """Alerts are stored in English (the database, logs); the alert list reads them back in Swedish."""
    from mailbox_tui.domain.failures import CAUSE
    from mailbox_tui.domain.lifecycle import RetrySettings, Verdict, decide, next_attempt_text

    refused = Verdict(TestStatus.FAILURE, CAUSE["connect-refused"], "Connection refused")
    state = MailboxDraft(MailboxKind.USER)
    decision = decide(state, {"incoming_status": refused, "act_status": refused}, RetrySettings(),
                      datetime(2026, 3, 1, 14, 30), "manual")
    [(level, step, text)] = decision.alerts
    assert text.startswith("Transient failure of incoming email and appointments, contacts and tasks (")
    assert text.endswith("): retry 1 of 10 at 2026-03-01 14:35 UTC.")
    assert said(str(text)).startswith("Tillfälligt fel för inkommande e-post och avtalade tider, "
                                      "kontaktpersoner och uppgifter (")
    assert said(str(text)).endswith("): nytt försök 1 av 10 kl. 2026-03-01 14:35 UTC.")
    later = state.copy(**decision.values)
    assert next_attempt_text(later, RetrySettings()) == "Nästa försök: 2026-03-01 14:35 UTC (nytt försök 1 av 10)"


def test_every_way_an_alert_names_failed_directions_is_in_the_catalogue():
    from itertools import combinations

    from mailbox_tui.domain.lifecycle import DIRECTION_NAMES, DIRECTIONS

    labels = [label.lower() for _, label in DIRECTIONS.values()]
    named = {" and ".join(chosen) for k in (1, 2, 3) for chosen in combinations(labels, k)}
    assert named == set(DIRECTION_NAMES)
