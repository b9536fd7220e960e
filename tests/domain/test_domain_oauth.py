"""P14 OAuth settings: what each method needs, what saving fills in and clears, and which fields the form
shows. Real keys and certificates (made with `cryptography`), no servers."""

from __future__ import annotations

import json

import pytest
from domain_builders import ERROR, assert_fires, assert_quiet, imap_profile, pop3_profile
from support.oauth_profiles import bare_private_key_pem, client_certificate_pem

from mailbox_tui.domain.availability import profile_fields
from mailbox_tui.domain.oauth import (GOOGLE_SCOPE, MICROSOFT_SCOPE, OAUTH_FIELDS, KeyProblem, client_certificate,
                                      service_account_key, token_url, tidy_key_text)
from mailbox_tui.domain.options import AuthMethod, ServerType
from mailbox_tui.domain.records import PasswordEdit
from mailbox_tui.domain.rules import check_profile, normalise_profile

TENANT = "7f3c2a10-5b8e-4d6f-9a21-0c4e8b7d1f55"


def microsoft(**changes):
    values = dict(auth_method=AuthMethod.OAUTH, oauth_client_id="3d9f1c2e-app", oauth_tenant_id=TENANT,
                  oauth_client_secret=PasswordEdit(new="Secret-Q~1"))
    values.update(changes)
    return imap_profile(**values)


def key_json(**changes) -> str:
    info = {"type": "service_account", "client_email": "sync@project.iam.gserviceaccount.com",
            "private_key": bare_private_key_pem(), "private_key_id": "abc123",
            "token_uri": "https://oauth2.googleapis.com/token"}
    info.update(changes)
    return json.dumps(info, indent=2)


def google(**changes):
    return imap_profile(**{"auth_method": AuthMethod.GMAIL_OAUTH,
                           "oauth_service_account_key": PasswordEdit(new=key_json()), **changes})


def test_p14_a_complete_microsoft_profile_is_quiet():
    assert_quiet(check_profile(microsoft()))


def test_p14_a_complete_google_profile_is_quiet():
    assert_quiet(check_profile(google()))


@pytest.mark.parametrize("field, changes, words", [
    ("oauth_client_id", {"oauth_client_id": ""}, "Client ID is required"),
    ("oauth_client_secret", {"oauth_client_secret": PasswordEdit()}, "Client Secret or a client certificate"),
    ("oauth_tenant_id", {"oauth_tenant_id": ""}, "Tenant ID is required"),
    ("oauth_tenant_id", {"oauth_tenant_id": "not a tenant"}, "neither a GUID nor a domain"),
    ("oauth_token_endpoint", {"oauth_token_endpoint": "http://login.example.com/t"}, "https://"),
    ("oauth_client_secret", {"oauth_client_secret": PasswordEdit(new="a\nb")}, "one line"),
])
def test_p14_microsoft_needs_each_setting(field, changes, words):
    finding = assert_fires(check_profile(microsoft(**changes)), "P14", field, ERROR)
    assert words in finding.message


def test_p14_a_token_endpoint_stands_in_for_the_tenant():
    assert_quiet(check_profile(microsoft(oauth_tenant_id="", oauth_token_endpoint="https://127.0.0.1:8443/t/token")))


def test_p14_a_domain_is_a_tenant_too():
    assert_quiet(check_profile(microsoft(oauth_tenant_id="contoso.onmicrosoft.com")))


def test_p14_a_stored_secret_counts():
    assert_quiet(check_profile(microsoft(oauth_client_secret=PasswordEdit(stored=True))))


def test_p14_a_certificate_pasted_on_one_line_is_accepted_and_saved_as_its_file_holds_it():
    pem = client_certificate_pem()
    one_line = " ".join(pem.split("\n"))
    draft = microsoft(oauth_client_secret=PasswordEdit(), oauth_certificate=PasswordEdit(new=one_line))
    assert_quiet(check_profile(draft))
    saved = normalise_profile(draft)
    assert saved.oauth_certificate.new == tidy_key_text(pem) and "\n" in saved.oauth_certificate.new
    cert = client_certificate(saved.oauth_certificate.new)
    assert len(cert.sha1_thumbprint) == 40 and cert.x5t and cert.x5t_s256


@pytest.mark.parametrize("text, words", [
    ("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----", "needs its private key"),
    ("not a pem at all", "needs its private key"),
])
def test_p14_a_certificate_without_its_key_is_refused(text, words):
    draft = microsoft(oauth_certificate=PasswordEdit(new=text))
    assert words in assert_fires(check_profile(draft), "P14", "oauth_certificate", ERROR).message


def test_p14_a_key_that_does_not_belong_to_the_certificate_is_refused():
    cert_only = client_certificate_pem().split("-----END PRIVATE KEY-----\n")[1]
    draft = microsoft(oauth_certificate=PasswordEdit(new=bare_private_key_pem() + cert_only))
    finding = assert_fires(check_profile(draft), "P14", "oauth_certificate", ERROR)
    assert "does not belong" in finding.message
    assert "PRIVATE KEY" not in finding.message  # never the key


def test_p14_google_needs_a_key():
    finding = assert_fires(check_profile(google(oauth_service_account_key=PasswordEdit())),
                           "P14", "oauth_service_account_key", ERROR)
    assert "JSON key file" in finding.message


@pytest.mark.parametrize("text, words", [
    ("{not json", "not valid JSON"),
    (json.dumps({"type": "authorized_user"}), "not a service account key"),
    ("KEY", "not a readable"),
])
def test_p14_google_refuses_a_key_it_cannot_use(text, words):
    draft = google(oauth_service_account_key=PasswordEdit(new=text))
    finding = assert_fires(check_profile(draft), "P14", "oauth_service_account_key", ERROR)
    assert words in finding.message


def test_p14_google_bare_pem_needs_the_service_account_email_as_client_id():
    bare = PasswordEdit(new=bare_private_key_pem())
    assert_fires(check_profile(google(oauth_service_account_key=bare)), "P14", "oauth_client_id", ERROR)
    assert_quiet(check_profile(google(oauth_service_account_key=bare,
                                      oauth_client_id="sync@project.iam.gserviceaccount.com")))


def test_p14_json_key_read_for_its_email_key_and_token_uri():
    key = service_account_key(key_json(token_uri="https://127.0.0.1:9/token"))
    assert key.client_email == "sync@project.iam.gserviceaccount.com" and key.token_uri.endswith(":9/token")
    with pytest.raises(KeyProblem):
        service_account_key("{}")


def test_p14_saving_fills_in_the_providers_scope():
    assert normalise_profile(microsoft()).oauth_scope == MICROSOFT_SCOPE
    assert normalise_profile(google()).oauth_scope == GOOGLE_SCOPE
    assert normalise_profile(microsoft(oauth_scope="  https://x/.default ")).oauth_scope == "https://x/.default"


def test_p14_saving_clears_what_no_oauth_method_uses():
    stored = PasswordEdit(stored=True)
    draft = microsoft(oauth_client_secret=stored, oauth_service_account_key=PasswordEdit(stored=True))
    saved = normalise_profile(draft)
    assert saved.oauth_service_account_key.clear and saved.oauth_client_secret.present
    switched = normalise_profile(draft.copy(auth_method=AuthMethod.USER_OR_QUEUE_CREDENTIALS))
    assert all(not getattr(switched, n) for n in OAUTH_FIELDS if isinstance(getattr(switched, n), str))
    assert switched.oauth_client_secret.clear and not switched.oauth_client_secret.present


def test_p14_outgoing_alone_may_use_oauth():
    draft = imap_profile(use_same_settings_for_outgoing=False, outgoing_auth_method=AuthMethod.OAUTH)
    assert {f.field for f in check_profile(draft) if f.rule == "P14"} >= {"oauth_client_id", "oauth_tenant_id"}


def test_p5_oauth_suits_pop3_and_imap_gmail_only_imap():
    assert_quiet(check_profile(pop3_profile(**{k: v for k, v in microsoft().__dict__.items()
                                               if k.startswith("oauth_") or k == "auth_method"})))
    assert "P5" in {f.rule for f in check_profile(pop3_profile(auth_method=AuthMethod.GMAIL_OAUTH))}


@pytest.mark.parametrize("auth, shown", [
    (AuthMethod.USER_OR_QUEUE_CREDENTIALS, set()),
    (AuthMethod.OAUTH, {"oauth_client_id", "oauth_client_secret", "oauth_certificate", "oauth_tenant_id",
                        "oauth_scope", "oauth_token_endpoint"}),
    (AuthMethod.GMAIL_OAUTH, {"oauth_client_id", "oauth_service_account_key", "oauth_scope",
                              "oauth_token_endpoint"}),
])
def test_p14_the_form_shows_only_what_the_method_needs(auth, shown):
    states = profile_fields(imap_profile(auth_method=auth))
    assert {n for n in OAUTH_FIELDS if states[n].visible and states[n].editable} == shown


def test_token_url_from_tenant_key_or_override():
    assert token_url(AuthMethod.OAUTH, "contoso.com", "") == \
        "https://login.microsoftonline.com/contoso.com/oauth2/v2.0/token"
    assert token_url(AuthMethod.GMAIL_OAUTH, "", "") == "https://oauth2.googleapis.com/token"
    assert token_url(AuthMethod.GMAIL_OAUTH, "", "", "https://k/token") == "https://k/token"
    assert token_url(AuthMethod.OAUTH, "t", " https://o/token ") == "https://o/token"


def test_m10_on_an_oauth_profile_says_the_user_name_is_what_the_token_acts_for():
    from domain_builders import PROFILE_ID, WARNING, mailbox_context, user_mailbox

    from mailbox_tui.domain.context import ProfileFacts
    from mailbox_tui.domain.rules import check_mailbox

    profile = ProfileFacts(PROFILE_ID, "Microsoft 365", ServerType.IMAP_SMTP, AuthMethod.OAUTH)
    finding = assert_fires(check_mailbox(user_mailbox(), mailbox_context(profile=profile)),
                           "M10", "allow_credentials", WARNING)
    assert "password will not be used" in finding.message and "token acts for the user name" in finding.message
    assert_quiet(check_mailbox(user_mailbox(allow_credentials=False, username="", password=PasswordEdit()),
                               mailbox_context(profile=profile)))
