"""Email server profile rules P1–P10 and what saving does to a profile (`normalise_profile`).

P11 (deleting a profile clears it from its mailboxes) is store-level and tested there.
"""

from __future__ import annotations

import pytest
from domain_builders import (
    ERROR,
    WARNING,
    assert_fires,
    assert_quiet,
    GOOGLE_OAUTH,
    exchange_profile,
    imap_profile,
    oauth_settings,
    pop3_profile,
    rules_of,
    valid_profile,
)

from mailbox_tui.domain.context import ProfileContext
from mailbox_tui.domain.options import EXCHANGE_TYPES, AuthMethod, ServerType, TlsMode
from mailbox_tui.domain.records import PasswordEdit, ProfileDraft
from mailbox_tui.domain.rules import check_profile, default_port, normalise_profile

SERVER_TYPES = list(ServerType)
EXCHANGE = [ServerType.EXCHANGE, ServerType.EXCHANGE_HYBRID, ServerType.EXCHANGE_ONLINE_HYBRID]
NOT_EXCHANGE = [ServerType.POP3_SMTP, ServerType.IMAP_SMTP]


def type_id(t) -> str:
    return ServerType(t).name.lower()


def check(draft: ProfileDraft, **ctx):
    return check_profile(draft, ProfileContext(**ctx))


# ---------------------------------------------------------------- the valid baseline


@pytest.mark.parametrize("server_type", SERVER_TYPES, ids=type_id)
def test_valid_profile_has_no_findings(server_type):
    assert_quiet(check(valid_profile(server_type)))


@pytest.mark.parametrize("server_type", SERVER_TYPES, ids=type_id)
def test_saving_a_valid_profile_changes_nothing(server_type):
    draft = valid_profile(server_type)
    assert normalise_profile(draft) == draft


def test_check_profile_without_context_uses_defaults():
    assert_quiet(check_profile(imap_profile()))


# ---------------------------------------------------------------- P1 name


@pytest.mark.parametrize("name", ["", "   "], ids=["empty", "blank"])
def test_p1_name_is_required(name):
    finding = assert_fires(check(imap_profile(name=name)), "P1", "name", ERROR)
    assert "required" in finding.message


def test_p1_name_of_100_characters_is_allowed():
    assert_quiet(check(imap_profile(name="P" * 100)))


def test_p1_name_of_101_characters_is_refused():
    finding = assert_fires(check(imap_profile(name="P" * 101)), "P1", "name", ERROR)
    assert "100" in finding.message


def test_p1_name_with_control_character_is_refused():
    assert_fires(check(imap_profile(name="Corporate\tIMAP")), "P1", "name", ERROR)


def test_p1_name_taken_by_another_profile_is_refused():
    finding = assert_fires(check(imap_profile(name="Corporate IMAP "), name_taken=True), "P1", "name", ERROR)
    assert "'Corporate IMAP'" in finding.message


def test_p1_quiet_for_unique_name():
    assert_quiet(check(imap_profile(), name_taken=False))


# ---------------------------------------------------------------- P2 server type


def test_p2_server_type_is_required():
    finding = assert_fires(check(imap_profile(server_type=None)), "P2", "server_type", ERROR)
    assert finding.message == "Server Type is required."


def test_p2_unknown_server_type_is_refused():
    finding = assert_fires(check(imap_profile(server_type=9)), "P2", "server_type", ERROR)
    assert "9" in finding.message


@pytest.mark.parametrize("server_type", SERVER_TYPES, ids=type_id)
def test_p2_quiet_for_each_known_type(server_type):
    assert_quiet(check(valid_profile(server_type)), "P2")


# ---------------------------------------------------------------- P3 server locations


@pytest.mark.parametrize("field", ["incoming_location", "outgoing_location"])
def test_p3_location_is_required(field):
    finding = assert_fires(check(imap_profile(**{field: " "})), "P3", field, ERROR)
    assert "required" in finding.message


@pytest.mark.parametrize("field", ["incoming_location", "outgoing_location"])
def test_p3_exchange_location_is_required_unless_auto_discover(field):
    finding = assert_fires(check(exchange_profile(**{field: ""})), "P3", field, ERROR)
    assert "Auto Discover" in finding.message


@pytest.mark.parametrize("location", [
    "imap://imap.example.com",
    "https://imap.example.com",
    "imap.example.com/inbox",
    "imap.example.com:993",
    "imap example com",
    "-imap.example.com",
    "imap_1.example.com",
], ids=["scheme", "https-scheme", "path", "port", "spaces", "leading-hyphen", "underscore"])
def test_p3_pop3_imap_smtp_location_is_a_bare_host(location):
    assert_fires(check(imap_profile(incoming_location=location)), "P3", "incoming_location", ERROR)


@pytest.mark.parametrize("location", [
    "imap.example.com", "mail", "IMAP.Example.COM", "imap.example.com.", "192.0.2.10", "2001:db8::1", "[2001:db8::1]",
], ids=["host", "single-label", "mixed-case", "trailing-dot", "ipv4", "ipv6", "bracketed-ipv6"])
def test_p3_quiet_for_host_name_or_ip_address(location):
    assert_quiet(check(imap_profile(incoming_location=location)))


@pytest.mark.parametrize("location", [
    "mail.example.com",
    "http://mail.example.com/EWS/Exchange.asmx",
    "https://",
    "https://bad host/EWS",
], ids=["bare-host", "http", "no-host", "bad-host"])
def test_p3_exchange_location_is_an_https_url(location):
    assert_fires(check(exchange_profile(incoming_location=location)), "P3", "incoming_location", ERROR)


@pytest.mark.parametrize("server_type", EXCHANGE, ids=type_id)
def test_p3_quiet_for_exchange_with_auto_discover_and_no_locations(server_type):
    draft = valid_profile(server_type, auto_discover=True, incoming_location="", outgoing_location="",
                          incoming_port=None, outgoing_port=None)
    assert_quiet(check(draft))


# ---------------------------------------------------------------- P4 ports and their defaults


@pytest.mark.parametrize("field", ["incoming_port", "outgoing_port"])
@pytest.mark.parametrize("port", [0, -1, 65536])
def test_p4_port_out_of_range_is_refused(field, port):
    finding = assert_fires(check(imap_profile(**{field: port})), "P4", field, ERROR)
    assert "1 and 65535" in finding.message


@pytest.mark.parametrize("port", [1, 65535])
def test_p4_quiet_for_ports_at_the_limits(port):
    assert_quiet(check(imap_profile(incoming_port=port, outgoing_port=port)))


def test_p4_quiet_for_empty_port_that_saving_fills_in():
    assert_quiet(check(imap_profile(incoming_port=None, outgoing_port=None)))


@pytest.mark.parametrize("server_type, tls, port", [
    (ServerType.POP3_SMTP, TlsMode.IMPLICIT, 995),
    (ServerType.POP3_SMTP, TlsMode.STARTTLS, 110),
    (ServerType.POP3_SMTP, TlsMode.NONE, 110),
    (ServerType.IMAP_SMTP, TlsMode.IMPLICIT, 993),
    (ServerType.IMAP_SMTP, TlsMode.STARTTLS, 143),
    (ServerType.IMAP_SMTP, TlsMode.NONE, 143),
    (ServerType.EXCHANGE, TlsMode.IMPLICIT, 443),
    (ServerType.EXCHANGE_HYBRID, TlsMode.IMPLICIT, 443),
    (ServerType.EXCHANGE_ONLINE_HYBRID, TlsMode.IMPLICIT, 443),
])
def test_p4_saving_fills_in_the_default_incoming_port(server_type, tls, port):
    saved = normalise_profile(valid_profile(server_type, incoming_port=None, incoming_tls=tls))
    assert saved.incoming_port == port
    assert default_port(server_type, "incoming", tls) == port


@pytest.mark.parametrize("server_type", NOT_EXCHANGE, ids=type_id)
@pytest.mark.parametrize("tls, port", [
    (TlsMode.IMPLICIT, 465), (TlsMode.STARTTLS, 587), (TlsMode.NONE, 25),
], ids=["ssl", "starttls", "plain"])
def test_p4_saving_fills_in_the_default_smtp_port(server_type, tls, port):
    saved = normalise_profile(valid_profile(server_type, outgoing_port=None, outgoing_tls=tls))
    assert saved.outgoing_port == port


@pytest.mark.parametrize("server_type", EXCHANGE, ids=type_id)
def test_p4_saving_fills_in_port_443_for_exchange_outgoing(server_type):
    assert normalise_profile(valid_profile(server_type, outgoing_port=None)).outgoing_port == 443


def test_p4_saving_keeps_a_port_the_admin_entered():
    saved = normalise_profile(imap_profile(incoming_port=1993, outgoing_port=2525))
    assert (saved.incoming_port, saved.outgoing_port) == (1993, 2525)


# ---------------------------------------------------------------- P5 authentication suits the server type

ALLOWED_AUTH_BY_TYPE = {
    ServerType.POP3_SMTP: {0, 1, 7},  # P5 as amended: OAuth (7) on POP3 and IMAP too
    ServerType.IMAP_SMTP: {0, 1, 5, 7},
    ServerType.EXCHANGE: {0, 1, 3, 6},
    ServerType.EXCHANGE_HYBRID: {0, 1, 3, 6},  # on-premises Exchange: as Exchange Server
    ServerType.EXCHANGE_ONLINE_HYBRID: {2, 7},
}
P5_TABLE = [(t, a, a in ALLOWED_AUTH_BY_TYPE[t]) for t in ServerType for a in AuthMethod]


def _profile_with_auth(server_type, auth):
    # Profile credentials entered so that P6 stays quiet whichever method is chosen.
    return valid_profile(server_type, auth_method=auth, outgoing_auth_method=auth,
                         username="svc@example.com", password=PasswordEdit(stored=True), **oauth_settings(auth))


@pytest.mark.parametrize("server_type, auth, allowed", P5_TABLE,
                         ids=[f"{type_id(t)}-{a.name.lower()}-{'ok' if ok else 'refused'}" for t, a, ok in P5_TABLE])
def test_p5_authentication_must_suit_the_server_type(server_type, auth, allowed):
    findings = check(_profile_with_auth(server_type, auth))
    if allowed:
        assert_quiet(findings)
    else:
        finding = assert_fires(findings, "P5", "auth_method", ERROR)
        assert AuthMethod(auth).label in finding.message
        assert ServerType(server_type).label in finding.message


def test_p5_anonymous_is_not_valid_for_pop3():
    assert_fires(check(pop3_profile(auth_method=AuthMethod.ANONYMOUS)), "P5", "auth_method", ERROR)


def test_p5_separate_outgoing_authentication_must_suit_the_server_type():
    draft = imap_profile(use_same_settings_for_outgoing=False, outgoing_auth_method=AuthMethod.ANONYMOUS)
    assert_fires(check(draft), "P5", "outgoing_auth_method", ERROR)


def test_p5_quiet_for_unused_outgoing_authentication_when_same_settings():
    draft = imap_profile(use_same_settings_for_outgoing=True, outgoing_auth_method=AuthMethod.ANONYMOUS)
    assert_quiet(check(draft))


# ---------------------------------------------------------------- P6 the profile's own credentials


def _own_credentials(**changes):
    return imap_profile(auth_method=AuthMethod.PROFILE_CREDENTIALS, username="svc@example.com",
                        password=PasswordEdit(new="s3cret")).copy(**changes)


def test_p6_quiet_with_profile_user_name_and_password():
    assert_quiet(check(_own_credentials()))


def test_p6_quiet_with_stored_profile_password():
    assert_quiet(check(_own_credentials(password=PasswordEdit(stored=True))))


def test_p6_profile_credentials_require_user_name():
    assert_fires(check(_own_credentials(username="")), "P6", "username", ERROR)


def test_p6_profile_credentials_require_password():
    assert_fires(check(_own_credentials(password=PasswordEdit())), "P6", "password", ERROR)


def test_p6_cleared_stored_password_does_not_count():
    assert_fires(check(_own_credentials(password=PasswordEdit(stored=True, clear=True))), "P6", "password", ERROR)


def test_p6_separate_outgoing_profile_credentials_are_required():
    draft = imap_profile(use_same_settings_for_outgoing=False, outgoing_auth_method=AuthMethod.PROFILE_CREDENTIALS)
    findings = check(draft)
    assert sorted((f.rule, f.field, f.severity) for f in findings) == [
        ("P6", "outgoing_password", ERROR), ("P6", "outgoing_username", ERROR)]


@pytest.mark.parametrize("auth", [AuthMethod.USER_OR_QUEUE_CREDENTIALS, AuthMethod.GMAIL_OAUTH])
def test_p6_saving_clears_profile_credentials_unless_authenticating_with_them(auth):
    draft = imap_profile(auth_method=auth, username="svc@example.com",
                         password=PasswordEdit(stored=True, new="s3cret"))
    saved = normalise_profile(draft)
    assert saved.username == ""
    assert saved.password.new is None
    assert saved.password.clear is True
    assert saved.password.present is False


def test_p6_saving_keeps_profile_credentials_when_authenticating_with_them():
    saved = normalise_profile(_own_credentials())
    assert saved.username == "svc@example.com"
    assert saved.password.new == "s3cret"
    assert saved.password.present


def test_p6_saving_does_not_touch_the_draft_being_edited():
    draft = imap_profile(username="svc@example.com", password=PasswordEdit(stored=True, new="s3cret"))
    normalise_profile(draft)
    assert draft.username == "svc@example.com"
    assert (draft.password.new, draft.password.clear) == ("s3cret", False)


# ---------------------------------------------------------------- P7 same settings for outgoing


def test_p7_separate_outgoing_user_name_with_same_settings_is_a_warning():
    finding = assert_fires(check(imap_profile(outgoing_username="smtp-user")), "P7", "outgoing_username", WARNING)
    assert "cleared" in finding.message


def test_p7_separate_outgoing_password_with_same_settings_is_a_warning():
    assert_fires(check(imap_profile(outgoing_password=PasswordEdit(new="smtp-secret"))),
                 "P7", "outgoing_username", WARNING)


def test_p7_quiet_with_separate_outgoing_credentials_when_settings_differ():
    draft = imap_profile(use_same_settings_for_outgoing=False, outgoing_auth_method=AuthMethod.PROFILE_CREDENTIALS,
                         outgoing_username="smtp-user", outgoing_password=PasswordEdit(new="smtp-secret"))
    assert_quiet(check(draft))


def test_p7_saving_makes_outgoing_authentication_follow_incoming():
    draft = _own_credentials(outgoing_auth_method=AuthMethod.USER_OR_QUEUE_CREDENTIALS)
    assert normalise_profile(draft).outgoing_auth_method == AuthMethod.PROFILE_CREDENTIALS


def test_p7_saving_clears_separate_outgoing_credentials():
    draft = imap_profile(outgoing_username="smtp-user", outgoing_password=PasswordEdit(stored=True, new="smtp-secret"))
    saved = normalise_profile(draft)
    assert saved.outgoing_username == ""
    assert saved.outgoing_password.new is None
    assert saved.outgoing_password.clear is True
    assert not saved.outgoing_password.present


def test_p7_saving_keeps_separate_outgoing_credentials_when_settings_differ():
    draft = imap_profile(use_same_settings_for_outgoing=False, outgoing_auth_method=AuthMethod.PROFILE_CREDENTIALS,
                         outgoing_username="smtp-user", outgoing_password=PasswordEdit(new="smtp-secret"))
    saved = normalise_profile(draft)
    assert saved.outgoing_auth_method == AuthMethod.PROFILE_CREDENTIALS
    assert saved.outgoing_username == "smtp-user"
    assert saved.outgoing_password.new == "smtp-secret"


def test_p7_p6_saving_clears_separate_outgoing_credentials_not_used_by_outgoing_authentication():
    draft = imap_profile(use_same_settings_for_outgoing=False, outgoing_auth_method=AuthMethod.USER_OR_QUEUE_CREDENTIALS,
                         outgoing_username="smtp-user", outgoing_password=PasswordEdit(stored=True))
    saved = normalise_profile(draft)
    assert saved.outgoing_username == ""
    assert not saved.outgoing_password.present


def test_profile_repr_never_contains_typed_passwords():
    draft = _own_credentials(password=PasswordEdit(new="in-secret"), outgoing_password=PasswordEdit(new="out-secret"))
    for text in (repr(draft), repr(normalise_profile(draft)), repr(draft.copy())):
        assert "in-secret" not in text
        assert "out-secret" not in text


def test_profile_findings_never_contain_the_typed_password():
    draft = _own_credentials(username="", outgoing_password=PasswordEdit(new="out-secret"))
    findings = check(draft)
    assert {"P6", "P7"} <= set(rules_of(findings))
    assert all("s3cret" not in f.message and "out-secret" not in f.message for f in findings)


# ---------------------------------------------------------------- P8 auto discover


@pytest.mark.parametrize("server_type", NOT_EXCHANGE, ids=type_id)
def test_p8_auto_discover_is_refused_for_non_exchange_types(server_type):
    finding = assert_fires(check(valid_profile(server_type, auto_discover=True)), "P8", "auto_discover", ERROR)
    assert "Exchange" in finding.message


@pytest.mark.parametrize("server_type", EXCHANGE, ids=type_id)
def test_p8_quiet_for_auto_discover_on_exchange_types(server_type):
    assert_quiet(check(valid_profile(server_type, auto_discover=True)))


@pytest.mark.parametrize("server_type", EXCHANGE, ids=type_id)
def test_p8_saving_with_auto_discover_clears_locations_ports_and_ssl(server_type):
    draft = valid_profile(server_type, auto_discover=True, incoming_port=8443, outgoing_port=9443,
                          incoming_tls=TlsMode.NONE, outgoing_tls=TlsMode.STARTTLS)
    saved = normalise_profile(draft)
    assert saved.auto_discover is True
    assert (saved.incoming_location, saved.outgoing_location) == ("", "")
    assert (saved.incoming_port, saved.outgoing_port) == (None, None)
    assert (saved.incoming_tls, saved.outgoing_tls) == (TlsMode.IMPLICIT, TlsMode.IMPLICIT)
    assert_quiet(check(saved))


@pytest.mark.parametrize("server_type", NOT_EXCHANGE, ids=type_id)
def test_p8_saving_switches_auto_discover_off_for_non_exchange_types(server_type):
    saved = normalise_profile(valid_profile(server_type, auto_discover=True))
    assert saved.auto_discover is False
    assert saved.incoming_location and saved.outgoing_location


def test_p8_saving_without_auto_discover_keeps_exchange_locations():
    draft = exchange_profile()
    assert normalise_profile(draft).incoming_location == draft.incoming_location


# ---------------------------------------------------------------- P9 limits


def test_p9_default_max_concurrent_connections_is_10():
    assert ProfileDraft().max_concurrent_connections == 10


@pytest.mark.parametrize("value", [0, 301, None])
def test_p9_max_concurrent_connections_out_of_range_is_refused(value):
    finding = assert_fires(check(imap_profile(max_concurrent_connections=value)),
                           "P9", "max_concurrent_connections", ERROR)
    assert "1 to 300" in finding.message


@pytest.mark.parametrize("value", [1, 300])
def test_p9_quiet_for_max_concurrent_connections_at_the_limits(value):
    assert_quiet(check(imap_profile(max_concurrent_connections=value)))


@pytest.mark.parametrize("value", [-1, 1441, None])
def test_p9_minimum_polling_interval_out_of_range_is_refused(value):
    finding = assert_fires(check(imap_profile(min_polling_minutes=value)), "P9", "min_polling_minutes", ERROR)
    assert "0 to 1440" in finding.message


@pytest.mark.parametrize("value", [0, 1440])
def test_p9_quiet_for_minimum_polling_interval_at_the_limits(value):
    assert_quiet(check(imap_profile(min_polling_minutes=value)))


@pytest.mark.parametrize("value", [0, 601])
def test_p9_connection_timeout_out_of_range_is_refused(value):
    assert_fires(check(imap_profile(timeout_seconds=value)), "P9", "timeout_seconds", ERROR)


@pytest.mark.parametrize("value", [1, 600])
def test_p9_quiet_for_connection_timeout_at_the_limits(value):
    assert_quiet(check(imap_profile(timeout_seconds=value)))


# ---------------------------------------------------------------- P10 SSL off while sending passwords


@pytest.mark.parametrize("server_type", NOT_EXCHANGE, ids=type_id)
@pytest.mark.parametrize("auth", [AuthMethod.USER_OR_QUEUE_CREDENTIALS, AuthMethod.PROFILE_CREDENTIALS])
def test_p10_incoming_ssl_off_with_password_authentication_is_a_warning(server_type, auth):
    draft = valid_profile(server_type, auth_method=auth, username="svc@example.com",
                          password=PasswordEdit(stored=True), incoming_tls=TlsMode.NONE)
    finding = assert_fires(check(draft), "P10", "incoming_tls", WARNING)
    assert "clear text" in finding.message


def test_p10_outgoing_ssl_off_with_password_authentication_is_a_warning():
    assert_fires(check(imap_profile(outgoing_tls=TlsMode.NONE)), "P10", "outgoing_tls", WARNING)


def test_p10_both_directions_warn_separately():
    findings = check(imap_profile(incoming_tls=TlsMode.NONE, outgoing_tls=TlsMode.NONE))
    assert [(f.rule, f.field, f.severity) for f in findings] == [
        ("P10", "incoming_tls", WARNING), ("P10", "outgoing_tls", WARNING)]


@pytest.mark.parametrize("tls", [TlsMode.IMPLICIT, TlsMode.STARTTLS], ids=["ssl", "starttls"])
def test_p10_quiet_when_connections_are_encrypted(tls):
    assert_quiet(check(imap_profile(incoming_tls=tls, outgoing_tls=tls)))


def test_p10_warns_for_oauth_access_tokens_in_clear_text():
    draft = imap_profile(auth_method=AuthMethod.GMAIL_OAUTH, incoming_tls=TlsMode.NONE, outgoing_tls=TlsMode.NONE,
                         **GOOGLE_OAUTH)
    found = [f for f in check(draft) if f.rule == "P10"]
    assert [(f.field, f.severity) for f in found] == [("incoming_tls", WARNING), ("outgoing_tls", WARNING)]
    assert all("access tokens travel in clear text" in f.message for f in found)


def test_p10_separate_outgoing_authentication_decides_the_outgoing_warning():
    draft = imap_profile(use_same_settings_for_outgoing=False, outgoing_auth_method=AuthMethod.GMAIL_OAUTH,
                         outgoing_tls=TlsMode.NONE, **GOOGLE_OAUTH)
    (finding,) = [f for f in check(draft) if f.rule == "P10"]
    assert finding.field == "outgoing_tls" and "access tokens" in finding.message


@pytest.mark.parametrize("server_type", EXCHANGE, ids=type_id)
def test_p10_quiet_for_exchange_types(server_type):
    assert server_type in EXCHANGE_TYPES
    assert_quiet(check(valid_profile(server_type, incoming_tls=TlsMode.NONE, outgoing_tls=TlsMode.NONE)))
