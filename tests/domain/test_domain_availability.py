"""Which fields a form may edit, and why not (`availability.mailbox_fields`, `profile_fields`)."""

from __future__ import annotations

import re

import pytest
from domain_builders import (
    assert_plain_sentence,
    exchange_profile,
    forward_mailbox,
    imap_profile,
    pop3_profile,
    queue_mailbox,
    user_mailbox,
    valid_profile,
)

from mailbox_tui.domain.availability import mailbox_fields, profile_fields
from mailbox_tui.domain.options import AuthMethod, ServerType
from mailbox_tui.domain.records import MAILBOX_EDITABLE_FIELDS

STATUS_FIELDS = ("incoming_status", "outgoing_status", "act_status", "test_completed_on")


def _names_rule(reason: str, rule: str) -> bool:
    return re.search(rf"\({re.escape(rule)}\)\.$", reason) is not None


# ---------------------------------------------------------------- mailboxes, every kind


@pytest.mark.parametrize("build", [user_mailbox, queue_mailbox, forward_mailbox], ids=["user", "queue", "forward"])
def test_every_editable_mailbox_field_is_answered(build):
    fields = mailbox_fields(build())
    assert set(MAILBOX_EDITABLE_FIELDS) <= set(fields)


@pytest.mark.parametrize("build", [user_mailbox, queue_mailbox, forward_mailbox], ids=["user", "queue", "forward"])
def test_every_locked_mailbox_field_says_why_in_a_sentence(build):
    for name, state in mailbox_fields(build(allow_credentials=False)).items():
        if not state.editable:
            assert_plain_sentence(state.reason)
        else:
            assert state.reason == "", name


@pytest.mark.parametrize("build", [user_mailbox, queue_mailbox, forward_mailbox], ids=["user", "queue", "forward"])
def test_configuration_test_results_are_written_only_by_test_and_enable(build):
    fields = mailbox_fields(build())
    for name in STATUS_FIELDS:
        assert not fields[name].editable
        assert fields[name].reason == "Written only by Test & Enable."


@pytest.mark.parametrize("build", [user_mailbox, queue_mailbox, forward_mailbox], ids=["user", "queue", "forward"])
def test_m8_is_forward_mailbox_is_locked(build):
    state = mailbox_fields(build())["kind"]
    assert not state.editable and _names_rule(state.reason, "M8")


@pytest.mark.parametrize("build", [user_mailbox, queue_mailbox, forward_mailbox], ids=["user", "queue", "forward"])
def test_m7_regarding_is_locked(build):
    state = mailbox_fields(build())["regarding_id"]
    assert not state.editable and _names_rule(state.reason, "M7")


@pytest.mark.parametrize("build", [user_mailbox, queue_mailbox, forward_mailbox], ids=["user", "queue", "forward"])
def test_name_email_profile_and_allow_credentials_are_always_editable(build):
    fields = mailbox_fields(build())
    for name in ("name", "email", "profile_id", "allow_credentials"):
        assert fields[name].editable, name


# ---------------------------------------------------------------- M9 credentials follow Allow


@pytest.mark.parametrize("build", [user_mailbox, queue_mailbox, forward_mailbox], ids=["user", "queue", "forward"])
def test_m9_credentials_locked_until_allow_is_yes(build):
    fields = mailbox_fields(build(allow_credentials=False))
    for name in ("username", "password"):
        assert not fields[name].editable
        assert _names_rule(fields[name].reason, "M9")


@pytest.mark.parametrize("build", [user_mailbox, queue_mailbox, forward_mailbox], ids=["user", "queue", "forward"])
def test_m9_credentials_editable_when_allow_is_yes(build):
    fields = mailbox_fields(build(allow_credentials=True))
    assert fields["username"].editable and fields["password"].editable


# ---------------------------------------------------------------- user mailbox


def test_m2_user_mailbox_owner_is_locked():
    state = mailbox_fields(user_mailbox())["owner_id"]
    assert not state.editable and _names_rule(state.reason, "M2")
    assert "its user" in state.reason


def test_m6_user_mailbox_delete_after_processing_is_locked():
    state = mailbox_fields(user_mailbox())["delete_after_processing"]
    assert not state.editable and _names_rule(state.reason, "M6")


def test_m12_m13_m14_user_mailbox_offers_every_method():
    fields = mailbox_fields(user_mailbox())
    assert fields["incoming"].editable and fields["incoming"].allowed == {0, 1, 2, 3}
    assert fields["outgoing"].editable and fields["outgoing"].allowed == {0, 1, 2}
    assert fields["act"].editable and fields["act"].allowed == {0, 1, 2}


# ---------------------------------------------------------------- queue mailbox


def test_m2_queue_mailbox_owner_is_changed_on_the_queue():
    state = mailbox_fields(queue_mailbox())["owner_id"]
    assert not state.editable and _names_rule(state.reason, "M2")
    assert "queue" in state.reason


def test_m6_queue_mailbox_delete_after_processing_is_editable():
    assert mailbox_fields(queue_mailbox())["delete_after_processing"].editable


def test_m12_m13_queue_mailbox_offers_no_outlook():
    fields = mailbox_fields(queue_mailbox())
    assert fields["incoming"].editable and fields["incoming"].allowed == {0, 2, 3}
    assert fields["outgoing"].editable and fields["outgoing"].allowed == {0, 2}


def test_m14_queue_mailbox_act_is_locked_to_none():
    state = mailbox_fields(queue_mailbox())["act"]
    assert not state.editable and state.allowed == {2}
    assert _names_rule(state.reason, "M14")


# ---------------------------------------------------------------- forward mailbox


def test_m2_forward_mailbox_owner_is_chosen_by_the_admin():
    assert mailbox_fields(forward_mailbox())["owner_id"].editable


def test_m6_forward_mailbox_delete_after_processing_is_editable():
    assert mailbox_fields(forward_mailbox())["delete_after_processing"].editable


@pytest.mark.parametrize("name, allowed, rule", [
    ("incoming", {2}, "M12"),
    ("outgoing", {0}, "M13"),
    ("act", {2}, "M14"),
])
def test_forward_mailbox_methods_are_fixed(name, allowed, rule):
    state = mailbox_fields(forward_mailbox())[name]
    assert not state.editable and state.allowed == allowed
    assert _names_rule(state.reason, rule)


# ---------------------------------------------------------------- profiles


@pytest.mark.parametrize("build", [imap_profile, pop3_profile], ids=["imap", "pop3"])
def test_p8_auto_discover_is_hidden_for_non_exchange_types(build):
    state = profile_fields(build())["auto_discover"]
    assert not state.editable and not state.visible
    assert _names_rule(state.reason, "P8")


@pytest.mark.parametrize("server_type", [ServerType.EXCHANGE, ServerType.EXCHANGE_HYBRID,
                                         ServerType.EXCHANGE_ONLINE_HYBRID])
def test_p8_auto_discover_is_offered_for_exchange_types(server_type):
    state = profile_fields(valid_profile(server_type))["auto_discover"]
    assert state.editable and state.visible


def test_p8_auto_discover_locks_locations_and_ports():
    fields = profile_fields(exchange_profile(auto_discover=True))
    for name in ("incoming_location", "outgoing_location", "incoming_port", "outgoing_port"):
        assert not fields[name].editable, name
        assert _names_rule(fields[name].reason, "P8")


def test_p8_exchange_without_auto_discover_has_editable_locations():
    fields = profile_fields(exchange_profile(auto_discover=False))
    for name in ("incoming_location", "outgoing_location", "incoming_port", "outgoing_port"):
        assert fields[name].editable, name


def test_ssl_choice_is_shown_only_for_pop3_imap_smtp():
    assert profile_fields(imap_profile())["incoming_tls"].visible
    assert profile_fields(imap_profile())["outgoing_tls"].visible
    assert not profile_fields(exchange_profile())["incoming_tls"].visible
    assert not profile_fields(exchange_profile())["outgoing_tls"].visible


@pytest.mark.parametrize("server_type, allowed", [
    (ServerType.POP3_SMTP, {0, 1, 7}),  # P5 as amended: OAuth (7) on POP3 and IMAP too
    (ServerType.IMAP_SMTP, {0, 1, 5, 7}),
    (ServerType.EXCHANGE, {0, 1, 3, 6}),
    (ServerType.EXCHANGE_HYBRID, {0, 1, 3, 6}),
    (ServerType.EXCHANGE_ONLINE_HYBRID, {2, 7}),
])
def test_p5_authentication_choices_suit_the_server_type(server_type, allowed):
    fields = profile_fields(valid_profile(server_type))
    assert fields["auth_method"].allowed == allowed
    assert fields["outgoing_auth_method"].allowed == allowed


def test_p7_outgoing_authentication_follows_incoming_when_same_settings():
    state = profile_fields(imap_profile(use_same_settings_for_outgoing=True))["outgoing_auth_method"]
    assert not state.editable and _names_rule(state.reason, "P7")


def test_p7_outgoing_authentication_editable_when_settings_differ():
    assert profile_fields(imap_profile(use_same_settings_for_outgoing=False))["outgoing_auth_method"].editable


def test_p6_profile_credentials_shown_only_when_authenticating_with_them():
    own = profile_fields(imap_profile(auth_method=AuthMethod.PROFILE_CREDENTIALS))
    assert own["username"].editable and own["username"].visible
    assert own["password"].editable and own["password"].visible
    other = profile_fields(imap_profile(auth_method=AuthMethod.USER_OR_QUEUE_CREDENTIALS))
    for name in ("username", "password"):
        assert not other[name].editable and not other[name].visible
        assert _names_rule(other[name].reason, "P6")


@pytest.mark.parametrize("same, outgoing_auth, shown", [
    (True, AuthMethod.PROFILE_CREDENTIALS, False),
    (False, AuthMethod.USER_OR_QUEUE_CREDENTIALS, False),
    (False, AuthMethod.PROFILE_CREDENTIALS, True),
], ids=["same-settings", "user-credentials", "own-outgoing-credentials"])
def test_p6_p7_separate_outgoing_credentials_shown_only_when_used(same, outgoing_auth, shown):
    fields = profile_fields(imap_profile(use_same_settings_for_outgoing=same, outgoing_auth_method=outgoing_auth))
    for name in ("outgoing_username", "outgoing_password"):
        assert fields[name].editable is shown and fields[name].visible is shown


@pytest.mark.parametrize("build", [imap_profile, exchange_profile], ids=["imap", "exchange"])
def test_every_locked_profile_field_says_why_in_a_sentence(build):
    for name, state in profile_fields(build()).items():
        if not state.editable:
            assert_plain_sentence(state.reason)
