"""P14 and P15 for the Exchange app-only methods (issue 23): 2 Server to Server Authentication on Exchange Online
(Microsoft Graph) and 6 Exchange Hybrid Modern Auth on Exchange Server (EWS) use the same Entra ID settings as 7."""

from __future__ import annotations

import pytest
from domain_builders import ERROR, WARNING, assert_fires, assert_quiet, exchange_online_profile, exchange_profile

from mailbox_tui.domain.availability import profile_fields
from mailbox_tui.domain.context import ProfileContext
from mailbox_tui.domain.exchange import GRAPH_SCOPE, ews_scope
from mailbox_tui.domain.oauth import MICROSOFT_TOKEN_URL, OAUTH_FIELDS, token_url
from mailbox_tui.domain.options import AuthMethod, ServerType
from mailbox_tui.domain.records import PasswordEdit
from mailbox_tui.domain.rules import check_profile, normalise_profile
from mailbox_tui.domain.secret_destinations import stored_profile_destinations

S2S, HMA = AuthMethod.SERVER_TO_SERVER, AuthMethod.EXCHANGE_HYBRID_MODERN_AUTH
TENANT = "7f3c2a10-5b8e-4d6f-9a21-0c4e8b7d1f55"
ENTRA_FIELDS = {"oauth_client_id", "oauth_client_secret", "oauth_certificate", "oauth_tenant_id", "oauth_scope",
                "oauth_token_endpoint"}
SETTINGS = dict(oauth_client_id="3d9f1c2e-app", oauth_tenant_id=TENANT, oauth_client_secret=PasswordEdit(new="S~1"))


def hybrid(**changes):
    return exchange_profile(**{"server_type": ServerType.EXCHANGE_HYBRID, "auth_method": HMA,
                               "outgoing_auth_method": HMA, **SETTINGS, **changes})


def server_to_server(**changes):
    return exchange_online_profile(**{"auth_method": S2S, "outgoing_auth_method": S2S, "oauth_scope": "",
                                      **SETTINGS, **changes})


@pytest.mark.parametrize("draft", [hybrid, server_to_server], ids=["hybrid_modern_auth", "server_to_server"])
def test_the_form_shows_exactly_the_entra_settings(draft):
    fields = profile_fields(draft())
    shown = {name for name in OAUTH_FIELDS if fields[name].visible and fields[name].editable}
    assert shown == ENTRA_FIELDS
    assert not fields["oauth_service_account_key"].visible
    assert not fields["username"].visible and not fields["password"].visible


@pytest.mark.parametrize("draft", [hybrid, server_to_server], ids=["hybrid_modern_auth", "server_to_server"])
@pytest.mark.parametrize("field", ["oauth_client_id", "oauth_client_secret", "oauth_tenant_id"])
def test_p14_each_entra_setting_is_required(draft, field):
    blank = {"oauth_client_id": "", "oauth_tenant_id": "", "oauth_client_secret": PasswordEdit()}[field]
    assert_fires(check_profile(draft(**{field: blank})), "P14", field, ERROR)


def test_p14_a_complete_hybrid_modern_auth_profile_is_quiet():
    assert_quiet(check_profile(normalise_profile(hybrid())))


def test_hybrid_modern_auth_scope_is_the_ews_host_with_default():
    saved = normalise_profile(hybrid())
    assert saved.oauth_scope == "https://mail.example.com/.default"
    assert ews_scope("https://Mail.Contoso.com:8443/EWS/Exchange.asmx") == "https://mail.contoso.com/.default"
    assert ews_scope("") == ""


def test_p14_hybrid_modern_auth_with_auto_discover_needs_a_scope():
    draft = hybrid(auto_discover=True, incoming_location="", outgoing_location="")
    assert_fires(check_profile(normalise_profile(draft)), "P14", "oauth_scope", ERROR)
    assert_quiet(check_profile(normalise_profile(draft.copy(oauth_scope="https://mail.example.com/.default"))),
                 "P14")


def test_server_to_server_scope_defaults_to_graph():
    assert normalise_profile(server_to_server()).oauth_scope == GRAPH_SCOPE
    assert_quiet(check_profile(normalise_profile(server_to_server())))


def test_both_get_their_tokens_from_the_tenant():
    for method in (S2S, HMA):
        assert token_url(method, TENANT, "") == MICROSOFT_TOKEN_URL.format(tenant=TENANT)


def test_saving_clears_what_the_method_does_not_use():
    draft = hybrid(oauth_service_account_key=PasswordEdit(stored=True), username="svc", password=PasswordEdit(
        stored=True))
    saved = normalise_profile(draft)
    assert saved.oauth_service_account_key.clear and saved.password.clear and saved.username == ""
    assert saved.oauth_client_id == "3d9f1c2e-app" and saved.oauth_client_secret.new == "S~1"


def test_leaving_hybrid_modern_auth_clears_its_settings():
    saved = normalise_profile(hybrid(auth_method=AuthMethod.PROFILE_CREDENTIALS, username="svc",
                                     password=PasswordEdit(new="pw"), oauth_client_secret=PasswordEdit(stored=True)))
    assert saved.oauth_client_id == "" and saved.oauth_tenant_id == "" and saved.oauth_client_secret.clear


def test_server_to_server_on_exchange_server_is_only_p5():
    findings = check_profile(exchange_profile(auth_method=S2S, outgoing_auth_method=S2S))
    assert_fires(findings, "P5", "auth_method", ERROR)
    assert_quiet(findings, "P14")
    assert not profile_fields(exchange_profile(auth_method=S2S))["oauth_client_id"].visible


@pytest.mark.parametrize("draft", [hybrid, server_to_server], ids=["hybrid_modern_auth", "server_to_server"])
def test_p15_a_kept_client_secret_does_not_follow_a_new_tenant(draft):
    stored = stored_profile_destinations(draft(oauth_client_secret=PasswordEdit(stored=True)))
    moved = draft(oauth_client_secret=PasswordEdit(stored=True), oauth_tenant_id="fabrikam.onmicrosoft.com")
    finding = assert_fires(check_profile(moved, ProfileContext(stored_destinations=stored)), "P15",
                           "oauth_client_secret", WARNING)
    assert "fabrikam.onmicrosoft.com" in finding.message
