"""Mailbox rules M1–M3, M5–M16 and A2, by rule ID (docs/RULES.md, "Mailbox rules").

M4 (email mirrored to the user/queue) is store-level and tested there.
"""

from __future__ import annotations

import pytest
from domain_builders import (
    ALICE_ID,
    BOB_ID,
    ERROR,
    EXCHANGE_PROFILE,
    EXCHANGE_PROFILE_ID,
    IMAP_PROFILE,
    POP3_PROFILE,
    PROFILE_AUTH_PROFILE,
    SUPPORT_QUEUE_ID,
    WARNING,
    assert_fires,
    assert_plain_sentence,
    assert_quiet,
    forward_mailbox,
    mailbox_context,
    queue_mailbox,
    rules_of,
    user_mailbox,
    valid_mailbox,
)

from mailbox_tui.domain.context import EmailUse, ProfileFacts, Stage
from mailbox_tui.domain.options import (
    ActMethod,
    ApprovalStatus,
    AuthMethod,
    IncomingMethod,
    MailboxKind,
    OutgoingMethod,
    ServerType,
)
from mailbox_tui.domain.records import MailboxDraft, PasswordEdit
from mailbox_tui.domain.rules import check_mailbox
from mailbox_tui.domain.text import normalise_email

KINDS = [MailboxKind.USER, MailboxKind.QUEUE, MailboxKind.FORWARD]
KIND_IDS = ["user", "queue", "forward"]


def check(draft: MailboxDraft, **ctx_changes):
    return check_mailbox(draft, mailbox_context(**ctx_changes))


# ---------------------------------------------------------------- the valid baseline


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_valid_mailbox_has_no_findings(kind):
    assert_quiet(check(valid_mailbox(kind)))


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_valid_approved_mailbox_has_no_findings_at_test_and_enable(kind):
    assert_quiet(check(valid_mailbox(kind), stage=Stage.TEST, approval_required=True))


def test_check_mailbox_without_context_uses_defaults():
    draft = user_mailbox(profile_id=None, incoming=IncomingMethod.OUTLOOK, outgoing=OutgoingMethod.OUTLOOK,
                         act=ActMethod.OUTLOOK)
    assert_quiet(check_mailbox(draft))


# ---------------------------------------------------------------- M1 name


@pytest.mark.parametrize("name", ["", "   "], ids=["empty", "blank"])
def test_m1_name_is_required(name):
    finding = assert_fires(check(user_mailbox(name=name)), "M1", "name", ERROR)
    assert "required" in finding.message


def test_m1_name_of_200_characters_is_allowed():
    assert_quiet(check(user_mailbox(name="N" * 200)))


def test_m1_name_of_201_characters_is_refused():
    finding = assert_fires(check(user_mailbox(name="N" * 201)), "M1", "name", ERROR)
    assert "200" in finding.message


@pytest.mark.parametrize("char", ["\t", "\n", "\r", "\x00", "\x1b", "\x7f", "\x85"],
                         ids=["tab", "newline", "cr", "nul", "esc", "del", "nel"])
def test_m1_name_with_control_character_is_refused(char):
    finding = assert_fires(check(user_mailbox(name=f"Alice{char}Berg")), "M1", "name", ERROR)
    assert "control characters" in finding.message


def test_m1_quiet_for_unicode_name():
    assert_quiet(check(user_mailbox(name="Zoë Ångström – Støtte")))


# ---------------------------------------------------------------- M2 owner


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_m2_owner_is_required(kind):
    finding = assert_fires(check(valid_mailbox(kind, owner_id=None)), "M2", "owner_id", ERROR)
    assert finding.message == "Owner is required."


def test_m2_owner_that_no_longer_exists_is_refused():
    assert_fires(check(forward_mailbox(owner_id=BOB_ID), owner_exists=False), "M2", "owner_id", ERROR)


def test_m2_user_mailbox_owned_by_someone_else_is_refused():
    finding = assert_fires(check(user_mailbox(owner_id=BOB_ID)), "M2", "owner_id", ERROR)
    assert "owned by its user" in finding.message


def test_m2_queue_mailbox_owned_by_someone_other_than_the_queue_owner_is_refused():
    finding = assert_fires(check(queue_mailbox(owner_id=BOB_ID), expected_owner_id=ALICE_ID),
                           "M2", "owner_id", ERROR)
    assert "queue's owner" in finding.message


def test_m2_quiet_for_forward_mailbox_owner_chosen_by_admin():
    assert_quiet(check(forward_mailbox(owner_id=BOB_ID)))


def test_m2_quiet_for_queue_mailbox_owned_by_the_queue_owner():
    assert_quiet(check(queue_mailbox(owner_id=BOB_ID), expected_owner_id=BOB_ID))


# ---------------------------------------------------------------- M3 email address


@pytest.mark.parametrize("email", [
    "no-at-sign",
    "two@@example.com",
    "alice@localhost",
    "sp ace@example.com",
    "alice@example..com",
    "alice@example.local",
], ids=["no-at", "two-at", "no-dot", "space", "empty-label", "reserved-domain"])
def test_m3_invalid_email_syntax_is_refused(email):
    assert_fires(check(user_mailbox(email=email)), "M3", "email", ERROR)


def _email_of_length(n: int) -> str:
    local = "a" * 64
    domain = "d" * (n - len(local) - 1 - len(".example.com")) + ".example.com"
    address = f"{local}@{domain}"
    assert len(address) == n
    return address


def test_m3_email_of_100_characters_is_allowed():
    assert_quiet(check(user_mailbox(email=_email_of_length(100))))


def test_m3_email_of_101_characters_is_refused():
    finding = assert_fires(check(user_mailbox(email=_email_of_length(101))), "M3", "email", ERROR)
    assert "100" in finding.message


@pytest.mark.parametrize("email", ["", "   "], ids=["empty", "blank"])
def test_m3_email_is_required_for_forward_mailbox(email):
    finding = assert_fires(check(forward_mailbox(email=email)), "M3", "email", ERROR)
    assert "forward mailbox" in finding.message


@pytest.mark.parametrize("kind", [MailboxKind.USER, MailboxKind.QUEUE], ids=["user", "queue"])
@pytest.mark.parametrize("incoming, outgoing", [
    (IncomingMethod.SERVER_SIDE_SYNC, OutgoingMethod.NONE),
    (IncomingMethod.NONE, OutgoingMethod.SERVER_SIDE_SYNC),
], ids=["incoming-sss", "outgoing-sss"])
def test_m3_email_is_required_for_server_side_sync(kind, incoming, outgoing):
    draft = valid_mailbox(kind, email="", incoming=incoming, outgoing=outgoing)
    finding = assert_fires(check(draft), "M3", "email", ERROR)
    assert "required" in finding.message


@pytest.mark.parametrize("incoming, outgoing, act", [
    (IncomingMethod.NONE, OutgoingMethod.NONE, ActMethod.NONE),
    (IncomingMethod.OUTLOOK, OutgoingMethod.OUTLOOK, ActMethod.OUTLOOK),
    (IncomingMethod.FORWARD_MAILBOX, OutgoingMethod.NONE, ActMethod.NONE),
], ids=["none", "outlook", "forward-mailbox"])
def test_m3_email_not_required_for_user_mailbox_without_server_side_sync(incoming, outgoing, act):
    draft = user_mailbox(email="", incoming=incoming, outgoing=outgoing, act=act)
    assert_quiet(check(draft))


def test_m3_email_not_required_for_queue_mailbox_without_server_side_sync():
    draft = queue_mailbox(email="", incoming=IncomingMethod.NONE, outgoing=OutgoingMethod.NONE)
    assert_quiet(check(draft))


def test_m3_address_is_normalised_with_domain_lowercased():
    assert normalise_email("Alice@EXAMPLE.Com") == ("Alice@example.com", None)


def test_m3_quiet_for_mixed_case_address():
    assert_quiet(check(user_mailbox(email="Alice.Berg@Example.COM")))


# ---------------------------------------------------------------- M5 same address elsewhere


def test_m5_same_address_is_a_warning_while_editing():
    finding = assert_fires(
        check(user_mailbox(), same_email=(EmailUse("Alice (old)", enabled_incoming=True),)),
        "M5", "email", WARNING)
    assert "'Alice (old)'" in finding.message


def test_m5_warning_names_at_most_three_mailboxes():
    uses = tuple(EmailUse(f"Box {i}", enabled_incoming=False) for i in range(5))
    finding = assert_fires(check(user_mailbox(), same_email=uses), "M5", "email", WARNING)
    assert "'Box 2'" in finding.message and "'Box 3'" not in finding.message
    assert "2 more" in finding.message


def test_m5_same_address_is_an_error_at_test_when_both_enabled_for_incoming():
    finding = assert_fires(
        check(user_mailbox(), stage=Stage.TEST, same_email=(EmailUse("Alice (old)", enabled_incoming=True),)),
        "M5", "email", ERROR)
    assert "'Alice (old)'" in finding.message


def test_m5_stays_a_warning_at_test_when_other_mailbox_not_enabled_for_incoming():
    assert_fires(
        check(user_mailbox(), stage=Stage.TEST, same_email=(EmailUse("Alice (old)", enabled_incoming=False),)),
        "M5", "email", WARNING)


def test_m5_stays_a_warning_at_test_when_this_mailbox_has_no_incoming_sync():
    draft = user_mailbox(incoming=IncomingMethod.NONE)
    assert_fires(
        check(draft, stage=Stage.TEST, same_email=(EmailUse("Alice (old)", enabled_incoming=True),)),
        "M5", "email", WARNING)


def test_m5_error_at_test_names_the_enabled_mailbox():
    uses = (EmailUse("Dormant", enabled_incoming=False), EmailUse("Live", enabled_incoming=True))
    finding = assert_fires(check(user_mailbox(), stage=Stage.TEST, same_email=uses), "M5", "email", ERROR)
    assert "'Live'" in finding.message


@pytest.mark.parametrize("stage", [Stage.EDIT, Stage.TEST])
def test_m5_quiet_when_no_other_mailbox_uses_the_address(stage):
    assert_quiet(check(user_mailbox(), stage=stage, same_email=()))


# ---------------------------------------------------------------- M6 delete after processing


def test_m6_delete_after_processing_refused_on_user_mailbox():
    finding = assert_fires(check(user_mailbox(delete_after_processing=True)),
                           "M6", "delete_after_processing", ERROR)
    assert "forward and queue" in finding.message


@pytest.mark.parametrize("kind", [MailboxKind.QUEUE, MailboxKind.FORWARD], ids=["queue", "forward"])
def test_m6_quiet_for_queue_and_forward_mailbox(kind):
    assert_quiet(check(valid_mailbox(kind, delete_after_processing=True)))


def test_m6_quiet_for_user_mailbox_that_keeps_messages():
    assert_quiet(check(user_mailbox(delete_after_processing=False)))


# ---------------------------------------------------------------- M7 regarding


def test_m7_forward_mailbox_cannot_have_a_regarding_record():
    finding = assert_fires(check(forward_mailbox(regarding_id=ALICE_ID)), "M7", "regarding_id", ERROR)
    assert "no regarding record" in finding.message


def test_m7_queue_mailbox_needs_its_queue():
    finding = assert_fires(check(queue_mailbox(regarding_id=None)), "M7", "regarding_id", ERROR)
    assert finding.message == "A queue mailbox must belong to its queue."


def test_m7_user_mailbox_needs_its_user():
    # Without its user the owner no longer matches either (M2).
    findings = check(user_mailbox(regarding_id=None))
    finding = assert_fires(findings, "M7", "regarding_id", ERROR, alone=False)
    assert finding.message == "A user mailbox must belong to its user."
    assert sorted(rules_of(findings)) == ["M2", "M7"]


@pytest.mark.parametrize("kind", [MailboxKind.USER, MailboxKind.QUEUE], ids=["user", "queue"])
def test_m7_regarding_record_that_no_longer_exists_is_refused(kind):
    assert_fires(check(valid_mailbox(kind), regarding_exists=False), "M7", "regarding_id", ERROR)


def test_m7_quiet_for_queue_mailbox_regarding_its_queue():
    assert_quiet(check(queue_mailbox(regarding_id=SUPPORT_QUEUE_ID)))


# ---------------------------------------------------------------- M8 is forward mailbox


def test_m8_forward_mailbox_cannot_become_a_user_mailbox():
    original = user_mailbox(kind=MailboxKind.FORWARD)
    finding = assert_fires(check(user_mailbox(), original=original), "M8", "kind", ERROR)
    assert "fixed" in finding.message


def test_m8_user_mailbox_cannot_become_a_forward_mailbox():
    original = forward_mailbox(kind=MailboxKind.USER)
    assert_fires(check(forward_mailbox(), original=original), "M8", "kind", ERROR)


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_m8_quiet_when_an_edit_keeps_the_kind(kind):
    original = valid_mailbox(kind, name="Before the edit")
    assert_quiet(check(valid_mailbox(kind), original=original))


# ---------------------------------------------------------------- M9 credentials


def test_m9_allow_credentials_requires_user_name():
    finding = assert_fires(check(user_mailbox(username="  ")), "M9", "username", ERROR)
    assert "User Name" in finding.message


def test_m9_allow_credentials_requires_a_password():
    assert_fires(check(user_mailbox(password=PasswordEdit())), "M9", "password", ERROR)


def test_m9_stored_password_counts():
    assert_quiet(check(user_mailbox(password=PasswordEdit(stored=True, new=None))))


def test_m9_typed_password_counts():
    assert_quiet(check(user_mailbox(password=PasswordEdit(stored=False, new="s3cret"))))


def test_m9_cleared_stored_password_does_not_count():
    assert_fires(check(user_mailbox(password=PasswordEdit(stored=True, clear=True))), "M9", "password", ERROR)


def test_m9_blank_password_typed_on_edit_keeps_the_stored_one():
    assert_quiet(check(user_mailbox(password=PasswordEdit(stored=True, new=""))))


def test_m9_quiet_without_credentials_when_allow_is_no():
    draft = user_mailbox(allow_credentials=False, username="", password=PasswordEdit())
    assert_quiet(check(draft, profile=PROFILE_AUTH_PROFILE))


@pytest.mark.parametrize("method", [m for m in AuthMethod if m != AuthMethod.USER_OR_QUEUE_CREDENTIALS],
                         ids=lambda m: m.name)
def test_m9_asks_for_no_credentials_the_profiles_method_will_not_use(method):
    """Amended M9: on a profile that does not authenticate with the mailbox's credentials (OAuth, the
    profile's own, …), Allow = Yes without a password gets M10's warning only, not also M9's error."""
    profile = ProfileFacts(PROFILE_AUTH_PROFILE.id, "Other method", ServerType.IMAP_SMTP, method)
    findings = check(user_mailbox(username="", password=PasswordEdit()), profile=profile)
    assert "M9" not in rules_of(findings)
    assert [(f.rule, f.severity) for f in findings if f.rule == "M10"] == [("M10", WARNING)]


@pytest.mark.parametrize("profile", [IMAP_PROFILE, None], ids=["mailbox-credentials", "no-profile-yet"])
def test_m9_asks_for_credentials_when_the_profile_uses_them_or_none_is_chosen(profile):
    draft = user_mailbox(password=PasswordEdit(), profile_id=None if profile is None else profile.id)
    assert_fires(check(draft, profile=profile), "M9", "password", ERROR, alone=False)


def test_m9_user_name_of_201_characters_is_refused():
    finding = assert_fires(check(user_mailbox(username="u" * 201)), "M9", "username", ERROR)
    assert "200" in finding.message


def test_m9_password_of_201_characters_is_refused():
    draft = user_mailbox(password=PasswordEdit(new="p" * 201))
    finding = assert_fires(check(draft), "M9", "password", ERROR)
    assert "p" * 201 not in finding.message


def test_m9_credentials_of_200_characters_are_allowed():
    assert_quiet(check(user_mailbox(username="u" * 200, password=PasswordEdit(new="p" * 200))))


def test_m9_finding_never_contains_the_typed_password():
    draft = user_mailbox(username="", password=PasswordEdit(new="hunter2-secret"))
    findings = check(draft)
    assert "M9" in rules_of(findings)
    assert all("hunter2-secret" not in f.message for f in findings)


# ---------------------------------------------------------------- PasswordEdit is write-only


def test_password_edit_repr_never_contains_the_typed_password():
    edit = PasswordEdit(stored=True, new="hunter2-secret")
    assert "hunter2-secret" not in repr(edit)
    assert "hunter2-secret" not in str(edit)
    assert "hunter2-secret" not in f"{edit!r} {edit}"
    assert "typed" in repr(edit)


def test_mailbox_draft_repr_never_contains_the_typed_password():
    draft = user_mailbox(password=PasswordEdit(new="hunter2-secret"))
    assert "hunter2-secret" not in repr(draft)
    assert "hunter2-secret" not in repr(draft.copy())


@pytest.mark.parametrize("edit, present, changed", [
    (PasswordEdit(), False, False),
    (PasswordEdit(stored=True), True, False),
    (PasswordEdit(new="x"), True, True),
    (PasswordEdit(stored=True, new="x"), True, True),
    (PasswordEdit(stored=True, clear=True), False, True),
    (PasswordEdit(stored=False, clear=True), False, False),
], ids=["nothing", "stored", "typed", "replaced", "cleared", "clear-nothing"])
def test_m9_password_edit_present_and_changed(edit, present, changed):
    assert edit.present is present
    assert edit.changed is changed


def test_mailbox_copy_does_not_share_the_password_edit():
    draft = user_mailbox()
    copy = draft.copy()
    copy.password.new = "typed later"
    assert draft.password.new is None


# ---------------------------------------------------------------- M10 profile authentication vs credentials


@pytest.mark.parametrize("incoming, outgoing, act, profile", [
    (IncomingMethod.SERVER_SIDE_SYNC, OutgoingMethod.NONE, ActMethod.NONE, IMAP_PROFILE),
    (IncomingMethod.NONE, OutgoingMethod.SERVER_SIDE_SYNC, ActMethod.NONE, IMAP_PROFILE),
    (IncomingMethod.NONE, OutgoingMethod.NONE, ActMethod.SERVER_SIDE_SYNC, EXCHANGE_PROFILE),
], ids=["incoming", "outgoing", "act"])
def test_m10_user_or_queue_credentials_profile_requires_allow_credentials(incoming, outgoing, act, profile):
    draft = user_mailbox(allow_credentials=False, incoming=incoming, outgoing=outgoing, act=act,
                         profile_id=profile.id)
    # A user's mailbox gets its credentials after it comes with its user: a warning on every path
    # (form, save, import, check: issue 22, item 5), an error when it is tested.
    finding = assert_fires(check(draft, profile=profile), "M10", "allow_credentials", WARNING)
    assert repr(profile.name) in finding.message
    assert_fires(check(draft, profile=profile, stage=Stage.TEST), "M10", "allow_credentials", ERROR)
    # A forward mailbox is set up whole, by hand: an error everywhere.
    forward = forward_mailbox(allow_credentials=False, username="", password=PasswordEdit(), profile_id=IMAP_PROFILE.id)
    assert_fires(check(forward, profile=IMAP_PROFILE), "M10", "allow_credentials", ERROR)


def test_m10_allow_credentials_with_other_authentication_is_a_warning():
    finding = assert_fires(check(user_mailbox(), profile=PROFILE_AUTH_PROFILE),
                           "M10", "allow_credentials", WARNING)
    assert "will not be used" in finding.message
    assert AuthMethod.PROFILE_CREDENTIALS.label in finding.message


def test_m10_quiet_when_user_or_queue_credentials_profile_and_allow_is_yes():
    assert_quiet(check(user_mailbox(), profile=IMAP_PROFILE))


def test_m10_quiet_when_other_authentication_and_allow_is_no():
    draft = user_mailbox(allow_credentials=False, username="", password=PasswordEdit())
    assert_quiet(check(draft, profile=PROFILE_AUTH_PROFILE))


def test_m10_quiet_without_server_side_sync():
    draft = user_mailbox(allow_credentials=False, incoming=IncomingMethod.OUTLOOK, outgoing=OutgoingMethod.OUTLOOK)
    assert_quiet(check(draft, profile=IMAP_PROFILE))


# ---------------------------------------------------------------- M11 server profile required


@pytest.mark.parametrize("incoming, outgoing, act", [
    (IncomingMethod.SERVER_SIDE_SYNC, OutgoingMethod.NONE, ActMethod.NONE),
    (IncomingMethod.NONE, OutgoingMethod.SERVER_SIDE_SYNC, ActMethod.NONE),
    (IncomingMethod.NONE, OutgoingMethod.NONE, ActMethod.SERVER_SIDE_SYNC),
], ids=["incoming", "outgoing", "act"])
def test_m11_server_side_sync_needs_a_profile(incoming, outgoing, act):
    draft = user_mailbox(profile_id=None, incoming=incoming, outgoing=outgoing, act=act)
    finding = assert_fires(check(draft, profile=None), "M11", "profile_id", ERROR)
    assert "server profile" in finding.message


def test_m11_forward_mailbox_always_needs_a_profile():
    finding = assert_fires(check(forward_mailbox(profile_id=None), profile=None), "M11", "profile_id", ERROR)
    assert "forward mailbox" in finding.message


def test_m11_profile_that_no_longer_exists_is_refused():
    finding = assert_fires(check(user_mailbox(profile_id=99), profile=None), "M11", "profile_id", ERROR)
    assert "no longer exists" in finding.message


@pytest.mark.parametrize("incoming, outgoing, act", [
    (IncomingMethod.NONE, OutgoingMethod.NONE, ActMethod.NONE),
    (IncomingMethod.OUTLOOK, OutgoingMethod.OUTLOOK, ActMethod.OUTLOOK),
    (IncomingMethod.FORWARD_MAILBOX, OutgoingMethod.NONE, ActMethod.NONE),
], ids=["none", "outlook", "forward-mailbox"])
def test_m11_quiet_without_profile_when_nothing_syncs_server_side(incoming, outgoing, act):
    draft = user_mailbox(profile_id=None, incoming=incoming, outgoing=outgoing, act=act)
    assert_quiet(check(draft, profile=None))


# ---------------------------------------------------------------- M12, M13, M14 allowed methods


def _with_methods(kind, *, incoming=None, outgoing=None, act=None):
    """A valid mailbox of `kind` with one method changed; ACT sync uses the Exchange profile."""
    draft = valid_mailbox(kind)
    if incoming is not None:
        draft.incoming = incoming
    if outgoing is not None:
        draft.outgoing = outgoing
    if act is not None:
        draft.act = act
    if draft.act == ActMethod.SERVER_SIDE_SYNC:
        draft.profile_id = EXCHANGE_PROFILE_ID
        return draft, EXCHANGE_PROFILE
    return draft, IMAP_PROFILE


@pytest.mark.parametrize("kind, incoming", [
    (MailboxKind.USER, 0), (MailboxKind.USER, 1), (MailboxKind.USER, 2), (MailboxKind.USER, 3),
    (MailboxKind.QUEUE, 0), (MailboxKind.QUEUE, 2), (MailboxKind.QUEUE, 3),
    (MailboxKind.FORWARD, 2),
])
def test_m12_quiet_for_allowed_incoming_method(kind, incoming):
    draft, profile = _with_methods(kind, incoming=incoming)
    assert_quiet(check(draft, profile=profile))


@pytest.mark.parametrize("kind, incoming", [
    (MailboxKind.QUEUE, 1),
    (MailboxKind.FORWARD, 0), (MailboxKind.FORWARD, 1), (MailboxKind.FORWARD, 3),
])
def test_m12_incoming_method_not_allowed_for_kind(kind, incoming):
    draft, profile = _with_methods(kind, incoming=incoming)
    finding = assert_fires(check(draft, profile=profile), "M12", "incoming", ERROR)
    assert IncomingMethod(incoming).label in finding.message
    assert f"{kind.label.lower()} mailbox" in finding.message


def test_m12_forward_mailbox_message_names_the_one_allowed_method():
    finding = assert_fires(check(forward_mailbox(incoming=IncomingMethod.NONE)), "M12", "incoming", ERROR)
    assert finding.message.endswith(f"choose “{IncomingMethod.SERVER_SIDE_SYNC.label}”.")


def test_m12_unknown_incoming_code_is_refused():
    # Import rows carry raw integers; a code outside the option set is refused like a wrong one.
    findings = check(user_mailbox(incoming=7))
    assert [(f.rule, f.field, f.severity) for f in findings] == [("M12", "incoming", ERROR)]


def test_m12_unknown_incoming_code_message_is_a_plain_sentence():
    finding = next(f for f in check(user_mailbox(incoming=7)) if f.rule == "M12")
    assert_plain_sentence(finding.message)


@pytest.mark.parametrize("kind, outgoing", [
    (MailboxKind.USER, 0), (MailboxKind.USER, 1), (MailboxKind.USER, 2),
    (MailboxKind.QUEUE, 0), (MailboxKind.QUEUE, 2),
    (MailboxKind.FORWARD, 0),
])
def test_m13_quiet_for_allowed_outgoing_method(kind, outgoing):
    draft, profile = _with_methods(kind, outgoing=outgoing)
    assert_quiet(check(draft, profile=profile))


@pytest.mark.parametrize("kind, outgoing", [
    (MailboxKind.QUEUE, 1),
    (MailboxKind.FORWARD, 1), (MailboxKind.FORWARD, 2),
])
def test_m13_outgoing_method_not_allowed_for_kind(kind, outgoing):
    draft, profile = _with_methods(kind, outgoing=outgoing)
    finding = assert_fires(check(draft, profile=profile), "M13", "outgoing", ERROR)
    assert OutgoingMethod(outgoing).label in finding.message


@pytest.mark.parametrize("kind, act", [
    (MailboxKind.USER, 0), (MailboxKind.USER, 1), (MailboxKind.USER, 2),
    (MailboxKind.QUEUE, 2),
    (MailboxKind.FORWARD, 2),
])
def test_m14_quiet_for_allowed_act_method(kind, act):
    draft, profile = _with_methods(kind, act=act)
    assert_quiet(check(draft, profile=profile))


@pytest.mark.parametrize("kind, act", [
    (MailboxKind.QUEUE, 0), (MailboxKind.QUEUE, 1),
    (MailboxKind.FORWARD, 0), (MailboxKind.FORWARD, 1),
])
def test_m14_act_is_personal_none_only_for_queue_and_forward(kind, act):
    draft, profile = _with_methods(kind, act=act)
    finding = assert_fires(check(draft, profile=profile), "M14", "act", ERROR)
    assert finding.message.endswith("choose “None”.")


# ---------------------------------------------------------------- M15 ACT needs Exchange


@pytest.mark.parametrize("server_type, auth", [
    (ServerType.EXCHANGE, AuthMethod.USER_OR_QUEUE_CREDENTIALS),
    (ServerType.EXCHANGE_HYBRID, AuthMethod.USER_OR_QUEUE_CREDENTIALS),
    (ServerType.EXCHANGE_ONLINE_HYBRID, AuthMethod.OAUTH),
], ids=["exchange", "exchange-hybrid", "exchange-online-hybrid"])
def test_m15_quiet_for_act_sync_on_each_exchange_type(server_type, auth):
    profile = ProfileFacts(EXCHANGE_PROFILE_ID, "Exchange", server_type, auth)
    own_credentials = auth == AuthMethod.USER_OR_QUEUE_CREDENTIALS
    draft = user_mailbox(profile_id=EXCHANGE_PROFILE_ID, act=ActMethod.SERVER_SIDE_SYNC,
                         allow_credentials=own_credentials,
                         username="alice@example.com" if own_credentials else "",
                         password=PasswordEdit(stored=own_credentials))
    assert_quiet(check(draft, profile=profile))


@pytest.mark.parametrize("profile", [POP3_PROFILE, IMAP_PROFILE], ids=["pop3", "imap"])
def test_m15_act_sync_refused_on_pop3_and_imap_profiles(profile):
    finding = assert_fires(check(user_mailbox(act=ActMethod.SERVER_SIDE_SYNC), profile=profile),
                           "M15", "act", ERROR)
    assert repr(profile.name) in finding.message
    assert ServerType(profile.server_type).label in finding.message


@pytest.mark.parametrize("act", [ActMethod.OUTLOOK, ActMethod.NONE], ids=["outlook", "none"])
def test_m15_quiet_for_act_without_server_side_sync_on_imap(act):
    assert_quiet(check(user_mailbox(act=act), profile=IMAP_PROFILE))


# ---------------------------------------------------------------- M16 forward mailbox must exist


@pytest.mark.parametrize("kind", [MailboxKind.USER, MailboxKind.QUEUE], ids=["user", "queue"])
def test_m16_incoming_via_forward_mailbox_without_one_is_a_warning(kind):
    draft = valid_mailbox(kind, incoming=IncomingMethod.FORWARD_MAILBOX)
    finding = assert_fires(check(draft, active_forward_mailbox_exists=False), "M16", "incoming", WARNING)
    assert "will not be processed" in finding.message


@pytest.mark.parametrize("kind", [MailboxKind.USER, MailboxKind.QUEUE], ids=["user", "queue"])
def test_m16_quiet_when_an_active_forward_mailbox_exists(kind):
    draft = valid_mailbox(kind, incoming=IncomingMethod.FORWARD_MAILBOX)
    assert_quiet(check(draft, active_forward_mailbox_exists=True))


def test_m16_quiet_for_server_side_incoming_without_forward_mailbox():
    assert_quiet(check(user_mailbox(), active_forward_mailbox_exists=False))


# ---------------------------------------------------------------- A2 approval at Test & Enable


@pytest.mark.parametrize("kind", [MailboxKind.USER, MailboxKind.QUEUE], ids=["user", "queue"])
@pytest.mark.parametrize("approval", [ApprovalStatus.EMPTY, ApprovalStatus.PENDING, ApprovalStatus.REJECTED],
                         ids=["empty", "pending", "rejected"])
def test_a2_unapproved_mailbox_fails_test_and_enable_when_approval_required(kind, approval):
    draft = valid_mailbox(kind, approval=approval)
    finding = assert_fires(check(draft, stage=Stage.TEST, approval_required=True), "A2", "approval", ERROR)
    assert finding.message == (
        f"Email cannot be processed for mailbox {draft.name} because its email address is not approved.")


def test_a2_quiet_for_approved_mailbox():
    assert_quiet(check(user_mailbox(approval=ApprovalStatus.APPROVED), stage=Stage.TEST, approval_required=True))


def test_a2_quiet_when_organisation_does_not_require_approval():
    assert_quiet(check(user_mailbox(approval=ApprovalStatus.PENDING), stage=Stage.TEST, approval_required=False))


def test_a2_quiet_while_editing():
    assert_quiet(check(user_mailbox(approval=ApprovalStatus.PENDING), stage=Stage.EDIT, approval_required=True))


def test_a2_quiet_for_forward_mailbox():
    draft = forward_mailbox(approval=ApprovalStatus.EMPTY)
    assert_quiet(check(draft, stage=Stage.TEST, approval_required=True))
