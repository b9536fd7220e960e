"""Users (U1, U2), queues (Q1, Q2) and the organisation's default email settings."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from domain_builders import (
    ALICE_ID,
    BOB_ID,
    ERROR,
    IMAP_PROFILE,
    PROFILE_ID,
    SUPPORT_QUEUE_ID,
    assert_fires,
    assert_quiet,
    mailbox_context,
    valid_queue,
    valid_user,
)

from mailbox_tui.domain.context import QueueContext, UserContext
from mailbox_tui.domain.options import (
    ActMethod,
    ApprovalStatus,
    IncomingMethod,
    MailboxKind,
    OutgoingMethod,
    RecordState,
)
from mailbox_tui.domain.records import OrgSettings, PasswordEdit
from mailbox_tui.domain.rules import check_mailbox, check_org_settings, check_queue, check_user
from mailbox_tui.domain.effects import new_queue_mailbox, new_user_mailbox, user_mailbox_maker


def _email_of_length(n: int) -> str:
    local = "a" * 64
    address = f"{local}@{'d' * (n - 64 - 1 - len('.example.com'))}.example.com"
    assert len(address) == n
    return address


# ---------------------------------------------------------------- U1 users


def test_u1_valid_user_has_no_findings():
    assert_quiet(check_user(valid_user(), UserContext()))


def test_check_user_without_context_uses_defaults():
    assert_quiet(check_user(valid_user()))


@pytest.mark.parametrize("name", ["", "  "], ids=["empty", "blank"])
def test_u1_full_name_is_required(name):
    finding = assert_fires(check_user(valid_user(full_name=name)), "U1", "full_name", ERROR)
    assert "Full Name" in finding.message


def test_u1_full_name_of_200_characters_is_allowed():
    assert_quiet(check_user(valid_user(full_name="A" * 200)))


def test_u1_full_name_of_201_characters_is_refused():
    assert_fires(check_user(valid_user(full_name="A" * 201)), "U1", "full_name", ERROR)


def test_u1_full_name_with_control_character_is_refused():
    assert_fires(check_user(valid_user(full_name="Alice\nBerg")), "U1", "full_name", ERROR)


@pytest.mark.parametrize("email", ["", "  "], ids=["empty", "blank"])
def test_u1_primary_email_is_required(email):
    finding = assert_fires(check_user(valid_user(email=email)), "U1", "email", ERROR)
    assert finding.message == "Primary Email is required."


@pytest.mark.parametrize("email", ["alice", "alice@@example.com", "alice@example", "alice@example.test"])
def test_u1_primary_email_must_be_valid(email):
    assert_fires(check_user(valid_user(email=email)), "U1", "email", ERROR)


def test_u1_primary_email_of_101_characters_is_refused():
    finding = assert_fires(check_user(valid_user(email=_email_of_length(101))), "U1", "email", ERROR)
    assert "100" in finding.message


def test_u1_primary_email_of_100_characters_is_allowed():
    assert_quiet(check_user(valid_user(email=_email_of_length(100))))


def test_u1_primary_email_must_be_unique_among_users():
    finding = assert_fires(check_user(valid_user(), UserContext(email_taken=True)), "U1", "email", ERROR)
    assert "alice@example.com" in finding.message


def test_r1_unknown_user_status_is_refused():
    assert_fires(check_user(valid_user(state=5)), "R1", "state", ERROR)


def test_u1_quiet_for_inactive_user():
    assert_quiet(check_user(valid_user(state=RecordState.INACTIVE)))


# ---------------------------------------------------------------- Q1 queues


def test_q1_valid_queue_has_no_findings():
    assert_quiet(check_queue(valid_queue(), QueueContext()))


def test_check_queue_without_context_uses_defaults():
    assert_quiet(check_queue(valid_queue()))


@pytest.mark.parametrize("name", ["", "  "], ids=["empty", "blank"])
def test_q1_name_is_required(name):
    assert_fires(check_queue(valid_queue(name=name)), "Q1", "name", ERROR)


def test_q1_name_of_201_characters_is_refused():
    assert_fires(check_queue(valid_queue(name="Q" * 201)), "Q1", "name", ERROR)


def test_q1_name_taken_by_another_queue_is_refused():
    finding = assert_fires(check_queue(valid_queue(), QueueContext(name_taken=True)), "Q1", "name", ERROR)
    assert "'Support'" in finding.message


def test_q1_owner_is_required():
    finding = assert_fires(check_queue(valid_queue(owner_id=None)), "Q1", "owner_id", ERROR)
    assert finding.message == "Owner is required."


def test_q1_owner_that_no_longer_exists_is_refused():
    assert_fires(check_queue(valid_queue(owner_id=BOB_ID), QueueContext(owner_exists=False)), "Q1", "owner_id", ERROR)


@pytest.mark.parametrize("incoming, outgoing", [
    (IncomingMethod.SERVER_SIDE_SYNC, OutgoingMethod.NONE),
    (IncomingMethod.NONE, OutgoingMethod.SERVER_SIDE_SYNC),
], ids=["incoming-sss", "outgoing-sss"])
def test_q1_email_is_required_once_the_queue_uses_server_side_sync(incoming, outgoing):
    finding = assert_fires(check_queue(valid_queue(email="", incoming=incoming, outgoing=outgoing)),
                           "Q1", "email", ERROR)
    assert "server-side sync" in finding.message


@pytest.mark.parametrize("incoming", [IncomingMethod.NONE, IncomingMethod.FORWARD_MAILBOX], ids=["none", "forward"])
def test_q1_quiet_without_email_when_queue_does_not_sync_server_side(incoming):
    assert_quiet(check_queue(valid_queue(email="", incoming=incoming, outgoing=OutgoingMethod.NONE)))


@pytest.mark.parametrize("email", ["support", "support@example", _email_of_length(101)], ids=["no-at", "no-dot", "101"])
def test_q1_email_must_be_valid(email):
    assert_fires(check_queue(valid_queue(email=email)), "Q1", "email", ERROR)


def test_q1_queue_has_no_outlook_incoming_option():
    assert_fires(check_queue(valid_queue(incoming=IncomingMethod.OUTLOOK)), "M12", "incoming", ERROR)


def test_q1_queue_has_no_outlook_outgoing_option():
    assert_fires(check_queue(valid_queue(outgoing=OutgoingMethod.OUTLOOK)), "M13", "outgoing", ERROR)


# ---------------------------------------------------------------- organisation defaults


def test_org_default_settings_have_no_findings():
    assert_quiet(check_org_settings(OrgSettings(default_profile_id=PROFILE_ID), profile=IMAP_PROFILE))


def test_org_defaults_require_approval_for_users_and_queues():
    org = OrgSettings()
    assert org.approval_required_users and org.approval_required_queues


@pytest.mark.parametrize("field, value, rule", [
    ("default_incoming", 4, "M12"),
    ("default_outgoing", 3, "M13"),
    ("default_act", 3, "M14"),
])
def test_org_default_methods_must_be_valid_for_a_user_mailbox(field, value, rule):
    org = OrgSettings(default_profile_id=PROFILE_ID, **{field: value})
    findings = check_org_settings(org, profile=IMAP_PROFILE)
    assert [(f.rule, f.field, f.severity) for f in findings] == [(rule, field, ERROR)]


def test_org_default_profile_that_no_longer_exists_is_refused():
    assert_fires(check_org_settings(OrgSettings(default_profile_id=99), profile=None),
                 "M11", "default_profile_id", ERROR)


def test_org_without_default_profile_is_quiet():
    assert_quiet(check_org_settings(OrgSettings(default_profile_id=None), profile=None))


# ---------------------------------------------------------------- U2 a user's mailbox


def _org(**changes) -> OrgSettings:
    values = dict(default_profile_id=PROFILE_ID, default_incoming=IncomingMethod.SERVER_SIDE_SYNC,
                  default_outgoing=OutgoingMethod.SERVER_SIDE_SYNC, default_act=ActMethod.NONE)
    values.update(changes)
    return OrgSettings(**values)


def test_u2_creating_a_user_creates_its_mailbox_from_the_user_and_the_defaults():
    org = _org(default_incoming=IncomingMethod.FORWARD_MAILBOX, default_outgoing=OutgoingMethod.OUTLOOK,
               default_act=ActMethod.OUTLOOK)
    mbox = new_user_mailbox(valid_user(full_name=" Alice Berg ", email=" alice@example.com "), org)
    assert mbox.kind == MailboxKind.USER
    assert mbox.name == "Alice Berg"
    assert mbox.email == "alice@example.com"
    assert mbox.owner_id == ALICE_ID
    assert mbox.regarding_id == ALICE_ID
    assert mbox.profile_id == PROFILE_ID
    assert (mbox.incoming, mbox.outgoing, mbox.act) == (
        IncomingMethod.FORWARD_MAILBOX, OutgoingMethod.OUTLOOK, ActMethod.OUTLOOK)
    assert mbox.delete_after_processing is False


def test_u2_new_user_mailbox_awaits_approval_when_required():
    assert new_user_mailbox(valid_user(), _org(approval_required_users=True)).approval == ApprovalStatus.PENDING


def test_u2_new_user_mailbox_has_empty_approval_when_not_required():
    org = _org(approval_required_users=False, approval_required_queues=True)
    assert new_user_mailbox(valid_user(), org).approval == ApprovalStatus.EMPTY


def test_u2_new_user_mailbox_follows_the_user_status():
    assert new_user_mailbox(valid_user(state=RecordState.INACTIVE), _org()).state == RecordState.INACTIVE


@given(name=st.text(max_size=20), email=st.text(max_size=30), state=st.sampled_from(list(RecordState)),
       user_id=st.one_of(st.none(), st.integers(-(2**50), 2**40)), profile=st.one_of(st.none(), st.integers(-9, 9)),
       methods=st.tuples(*[st.sampled_from(list(m)) for m in (IncomingMethod, OutgoingMethod, ActMethod)]),
       approval=st.tuples(st.booleans(), st.booleans()))
def test_u2_the_import_s_mailbox_maker_makes_what_new_user_mailbox_makes(name, email, state, user_id, profile,
                                                                         methods, approval):
    org = OrgSettings(profile, *methods, *approval)
    make = user_mailbox_maker(org)
    expected = new_user_mailbox(valid_user(full_name=name, email=email, state=state, id=user_id), org)
    first, second = make(name, email, state, user_id), make(name, email, state, user_id)
    assert first == expected and second == expected
    assert type(first.kind) is type(expected.kind) and type(first.approval) is type(expected.approval)
    first.password.new = "typed"  # each draft has a password edit of its own
    assert second.password == PasswordEdit() and make(name, email, state, user_id).password == PasswordEdit()


def test_u2_new_user_mailbox_is_valid_once_credentials_are_entered():
    mbox = new_user_mailbox(valid_user(), _org())
    mbox.allow_credentials, mbox.username, mbox.password = True, "alice@example.com", PasswordEdit(new="s3cret")
    assert_quiet(check_mailbox(mbox, mailbox_context()))


def test_u2_new_user_mailbox_without_sync_defaults_is_valid_as_created():
    org = _org(default_profile_id=None, default_incoming=IncomingMethod.NONE, default_outgoing=OutgoingMethod.NONE)
    assert_quiet(check_mailbox(new_user_mailbox(valid_user(), org), mailbox_context(profile=None)))


# ---------------------------------------------------------------- Q2 a queue's mailbox


def test_q2_creating_a_queue_creates_its_mailbox_owned_by_the_queue_owner():
    queue = valid_queue(owner_id=BOB_ID, incoming=IncomingMethod.FORWARD_MAILBOX, outgoing=OutgoingMethod.NONE)
    mbox = new_queue_mailbox(queue, _org())
    assert mbox.kind == MailboxKind.QUEUE
    assert mbox.name == "Support"
    assert mbox.email == "support@example.com"
    assert mbox.owner_id == BOB_ID
    assert mbox.regarding_id == SUPPORT_QUEUE_ID
    assert mbox.profile_id == PROFILE_ID
    assert (mbox.incoming, mbox.outgoing) == (IncomingMethod.FORWARD_MAILBOX, OutgoingMethod.NONE)


def test_q2_queue_mailbox_has_no_personal_act_sync():
    assert new_queue_mailbox(valid_queue(), _org(default_act=ActMethod.OUTLOOK)).act == ActMethod.NONE


def test_q2_new_queue_mailbox_awaits_approval_when_required():
    assert new_queue_mailbox(valid_queue(), _org(approval_required_queues=True)).approval == ApprovalStatus.PENDING


def test_q2_new_queue_mailbox_has_empty_approval_when_not_required():
    org = _org(approval_required_users=True, approval_required_queues=False)
    assert new_queue_mailbox(valid_queue(), org).approval == ApprovalStatus.EMPTY


def test_q2_new_queue_mailbox_is_valid_once_credentials_are_entered():
    mbox = new_queue_mailbox(valid_queue(), _org())
    mbox.allow_credentials, mbox.username, mbox.password = True, "support@example.com", PasswordEdit(new="s3cret")
    assert_quiet(check_mailbox(mbox, mailbox_context(expected_owner_id=ALICE_ID)))
