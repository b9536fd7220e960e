"""What a change does beyond itself: stale test results (M17), approval reset (M18),
and Apply Default Email Settings."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from domain_builders import (
    BOB_ID,
    EXCHANGE_PROFILE_ID,
    PROFILE_ID,
    assert_quiet,
    forward_mailbox,
    mailbox_context,
    queue_mailbox,
    user_mailbox,
)

from mailbox_tui.domain.effects import (
    approval_after_email_change,
    email_changed,
    mailbox_changes,
    stale_statuses,
    with_default_settings,
)
from mailbox_tui.domain.options import (
    ActMethod,
    ApprovalStatus,
    IncomingMethod,
    MailboxKind,
    OutgoingMethod,
    RecordState,
    TestStatus,
)
from mailbox_tui.domain.records import OrgSettings, PasswordEdit
from mailbox_tui.domain.rules import check_mailbox, check_org_settings

ALL_STALE = {
    "incoming_status": TestStatus.NOT_RUN, "enabled_incoming": False,
    "outgoing_status": TestStatus.NOT_RUN, "enabled_outgoing": False,
    "act_status": TestStatus.NOT_RUN, "enabled_act": False,
}


def mailbox_after_test_and_enable(**changes):
    """Alice's mailbox after a successful Test & Enable."""
    return user_mailbox(
        incoming_status=TestStatus.SUCCESS, outgoing_status=TestStatus.SUCCESS, act_status=TestStatus.SUCCESS,
        enabled_incoming=True, enabled_outgoing=True, enabled_act=True,
        test_completed_on=datetime(2025, 1, 2, 3, 4, tzinfo=timezone.utc),
    ).copy(**changes)


def stale_after(**edit):
    before = mailbox_after_test_and_enable()
    return stale_statuses(mailbox_changes(before, before.copy(**edit)))


# ---------------------------------------------------------------- M17 stale test results


@pytest.mark.parametrize("edit", [
    {"email": "alice.berg@example.com"},
    {"profile_id": EXCHANGE_PROFILE_ID},
    {"allow_credentials": False},
    {"username": "alice.berg"},
    {"password": PasswordEdit(stored=True, new="n3w-secret")},
    {"password": PasswordEdit(stored=True, clear=True)},
], ids=["email", "profile", "allow-credentials", "user-name", "new-password", "cleared-password"])
def test_m17_address_profile_or_credentials_change_makes_every_result_stale(edit):
    assert stale_after(**edit) == ALL_STALE


@pytest.mark.parametrize("edit, status, enabled", [
    ({"incoming": IncomingMethod.NONE}, "incoming_status", "enabled_incoming"),
    ({"outgoing": OutgoingMethod.NONE}, "outgoing_status", "enabled_outgoing"),
    ({"act": ActMethod.OUTLOOK}, "act_status", "enabled_act"),
], ids=["incoming", "outgoing", "act"])
def test_m17_delivery_method_change_makes_its_own_result_stale(edit, status, enabled):
    assert stale_after(**edit) == {status: TestStatus.NOT_RUN, enabled: False}


@pytest.mark.parametrize("edit", [
    {"name": "Alice B."},
    {"owner_id": BOB_ID},
    {"delete_after_processing": True},
    {"state": RecordState.INACTIVE},
    {"approval": ApprovalStatus.REJECTED},
    {},
], ids=["name", "owner", "delete-after", "state", "approval", "nothing"])
def test_m17_quiet_for_changes_that_do_not_affect_the_test(edit):
    assert stale_after(**edit) == {}


def test_m17_blank_password_on_edit_keeps_the_stored_one_and_the_results():
    assert stale_after(password=PasswordEdit(stored=True, new="")) == {}


def test_m17_quiet_when_only_surrounding_spaces_of_the_address_change():
    assert stale_after(email=" alice@example.com ") == {}


def test_m17_mailbox_changes_names_each_edited_field():
    before = mailbox_after_test_and_enable()
    after = before.copy(name="Alice B.", incoming=IncomingMethod.OUTLOOK, password=PasswordEdit(stored=True, new="x"))
    assert mailbox_changes(before, after) == ["name", "password", "incoming"]  # declaration (form) order


def test_m17_several_changes_combine():
    changed = mailbox_changes(mailbox_after_test_and_enable(), mailbox_after_test_and_enable(incoming=0, outgoing=0))
    assert stale_statuses(changed) == {
        "incoming_status": TestStatus.NOT_RUN, "enabled_incoming": False,
        "outgoing_status": TestStatus.NOT_RUN, "enabled_outgoing": False,
    }


def test_m17_stale_values_apply_to_a_draft():
    before = mailbox_after_test_and_enable()
    after = before.copy(profile_id=EXCHANGE_PROFILE_ID)
    after = after.copy(**stale_statuses(mailbox_changes(before, after)))
    assert (after.incoming_status, after.outgoing_status, after.act_status) == (TestStatus.NOT_RUN,) * 3
    assert not (after.enabled_incoming or after.enabled_outgoing or after.enabled_act)


def test_m17_quiet_when_only_the_case_of_the_address_changes():
    assert stale_after(email="Alice@Example.com") == {}


# ---------------------------------------------------------------- M18 approval after an address change


@pytest.mark.parametrize("kind", [MailboxKind.USER, MailboxKind.QUEUE], ids=["user", "queue"])
@pytest.mark.parametrize("current", [ApprovalStatus.APPROVED, ApprovalStatus.REJECTED, ApprovalStatus.EMPTY],
                         ids=["approved", "rejected", "empty"])
def test_m18_new_address_returns_to_pending_approval_when_required(kind, current):
    assert approval_after_email_change(kind, OrgSettings(), current) == ApprovalStatus.PENDING


@pytest.mark.parametrize("kind, org", [
    (MailboxKind.USER, OrgSettings(approval_required_users=False, approval_required_queues=True)),
    (MailboxKind.QUEUE, OrgSettings(approval_required_users=True, approval_required_queues=False)),
], ids=["user", "queue"])
def test_m18_quiet_when_the_organisation_does_not_require_approval(kind, org):
    assert approval_after_email_change(kind, org, ApprovalStatus.APPROVED) == ApprovalStatus.APPROVED


def test_m18_quiet_for_forward_mailbox():
    assert approval_after_email_change(MailboxKind.FORWARD, OrgSettings(), ApprovalStatus.EMPTY) == ApprovalStatus.EMPTY


@pytest.mark.parametrize("before, after, changed", [
    ("alice@example.com", "alice.berg@example.com", True),
    ("alice@example.com", "Alice@EXAMPLE.com", False),
    ("alice@example.com", " alice@example.com ", False),
    ("", "alice@example.com", True),
    ("alice@example.com", "", True),
    (None, None, False),
], ids=["new-address", "case-only", "spaces", "added", "removed", "none"])
def test_m18_only_a_different_address_counts_as_an_address_change(before, after, changed):
    assert email_changed(before, after) is changed


# ---------------------------------------------------------------- Apply Default Email Settings


def _org(**changes):
    values = dict(default_profile_id=EXCHANGE_PROFILE_ID, default_incoming=IncomingMethod.FORWARD_MAILBOX,
                  default_outgoing=OutgoingMethod.NONE, default_act=ActMethod.OUTLOOK)
    values.update(changes)
    return OrgSettings(**values)


def test_default_settings_give_a_user_mailbox_the_profile_and_every_method():
    out = with_default_settings(user_mailbox(), _org())
    assert out.profile_id == EXCHANGE_PROFILE_ID
    assert (out.incoming, out.outgoing, out.act) == (
        IncomingMethod.FORWARD_MAILBOX, OutgoingMethod.NONE, ActMethod.OUTLOOK)


def test_default_settings_keep_act_none_for_a_queue_mailbox():
    out = with_default_settings(queue_mailbox(), _org())
    assert out.profile_id == EXCHANGE_PROFILE_ID
    assert (out.incoming, out.outgoing, out.act) == (
        IncomingMethod.FORWARD_MAILBOX, OutgoingMethod.NONE, ActMethod.NONE)


def test_default_settings_keep_a_forward_mailbox_methods():
    out = with_default_settings(forward_mailbox(), _org())
    assert out.profile_id == EXCHANGE_PROFILE_ID
    assert (out.incoming, out.outgoing, out.act) == (
        IncomingMethod.SERVER_SIDE_SYNC, OutgoingMethod.NONE, ActMethod.NONE)


def test_default_settings_leave_everything_else_and_the_original_alone():
    draft = user_mailbox(password=PasswordEdit(stored=True, new="s3cret"))
    out = with_default_settings(draft, _org())
    assert (out.name, out.email, out.owner_id, out.username) == (draft.name, draft.email, draft.owner_id, draft.username)
    assert out.password == draft.password and out.password is not draft.password
    assert (draft.profile_id, draft.incoming) == (PROFILE_ID, IncomingMethod.SERVER_SIDE_SYNC)


@pytest.mark.parametrize("kind_builder", [user_mailbox, queue_mailbox, forward_mailbox],
                         ids=["user", "queue", "forward"])
def test_default_settings_with_organisation_defaults_give_a_valid_mailbox(kind_builder):
    org = OrgSettings(default_profile_id=PROFILE_ID)
    assert_quiet(check_mailbox(with_default_settings(kind_builder(), org), mailbox_context()))


def test_default_settings_never_give_a_queue_mailbox_an_outlook_method():
    org = OrgSettings(default_profile_id=PROFILE_ID, default_incoming=IncomingMethod.OUTLOOK,
                      default_outgoing=OutgoingMethod.OUTLOOK)
    assert_quiet(check_org_settings(org))  # valid organisation settings
    out = with_default_settings(queue_mailbox(), org)
    findings = check_mailbox(out, mailbox_context())
    assert [f for f in findings if f.rule in ("M12", "M13")] == []
