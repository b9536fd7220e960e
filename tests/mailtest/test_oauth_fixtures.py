"""The OAuth fixtures work, proven with the standard library's clients only (no product code).

Token endpoint: RFC 6749 §4.4 client credentials (secret in the body, in Basic, or a certificate
assertion), RFC 7523 service-account grants, its errors and behaviour modes, request counting.
dovecot (IMAP, POP3) and aiosmtpd (SMTP): bearer logins over STARTTLS and implicit TLS, and the
tokens they refuse.
"""

from __future__ import annotations

import base64
import http.client
import imaplib
import json
import poplib
import smtplib
import socket
import ssl
import time
import urllib.error
import urllib.request
import uuid
from urllib.parse import quote_plus, urlencode

import jwt
import pytest

from support.oauth import (APP_CLIENT_ID, APP_SECRET, EXPIRED_SECRET, NO_CONSENT_SECRET, TENANT_DOMAIN,
                           TENANT_ID)
from support.oauth_endpoint import CLIENT_ASSERTION_TYPE, CLIENT_CREDENTIALS, JWT_BEARER
from support.oauth_tokens import (EXCHANGE_DEFAULT_SCOPE, EXCHANGE_PERMISSIONS, GOOGLE_MAIL_SCOPE,
                                  IMAP_PERMISSION, POP_PERMISSION, SMTP_PERMISSION, TokenAuthority,
                                  app_claims, google_claims, new_rsa_key, oauthbearer_response,
                                  xoauth2_response)

ALICE, BOB = "alice@example.com", "bob@example.com"
UNPERMITTED = "support@example.com"  # not among the app's mailboxes
OTHER_TENANT_ID = "0b5d8e21-9c4a-4f37-8e16-3a7c2d9f4b60"  # a tenant the mail servers do not trust


# ---------------------------------------------------------------- stdlib clients


def post_token(url: str, form: dict, cafile, *, basic: tuple[str, str] | None = None,
               timeout: float = 5) -> tuple[int, str, dict | str]:
    """(status, content type, JSON body or text) of a token request, with certificate checks on."""
    request = urllib.request.Request(url, data=urlencode(form).encode(), method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    if basic:
        pair = f"{quote_plus(basic[0])}:{quote_plus(basic[1])}".encode()
        request.add_header("Authorization", "Basic " + base64.b64encode(pair).decode())
    context = ssl.create_default_context(cafile=str(cafile))
    try:
        with urllib.request.urlopen(request, context=context, timeout=timeout) as response:
            status, kind, raw = response.status, response.headers.get_content_type(), response.read()
    except urllib.error.HTTPError as error:
        status, kind, raw = error.code, error.headers.get_content_type(), error.read()
    return status, kind, json.loads(raw) if kind == "application/json" else raw.decode()


def client_credentials(url: str, cafile, secret: str = APP_SECRET, client_id: str = APP_CLIENT_ID,
                       scope: str = EXCHANGE_DEFAULT_SCOPE, timeout: float = 5):
    return post_token(url, {"grant_type": CLIENT_CREDENTIALS, "client_id": client_id, "client_secret": secret,
                            "scope": scope}, cafile, timeout=timeout)


def mail_context(mail_certificate) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(mail_certificate.cert))


def imap_bearer(server, context, user: str, token: str, *, tls: str = "starttls",
                mechanism: str = "XOAUTH2") -> tuple[bool, list[bytes]]:
    """(logged in, challenges the server sent after our response)."""
    challenges: list[bytes] = []
    response = (xoauth2_response(user, token) if mechanism == "XOAUTH2"
                else oauthbearer_response(user, token, "127.0.0.1", server.imap))

    def answer(challenge: bytes) -> bytes:
        if not challenge:
            return response
        challenges.append(challenge)
        return b"\x01" if mechanism == "OAUTHBEARER" else b""

    if tls == "implicit":
        conn = imaplib.IMAP4_SSL("127.0.0.1", server.imaps, ssl_context=context, timeout=5)
    else:
        conn = imaplib.IMAP4("127.0.0.1", server.imap, timeout=5)
        conn.starttls(ssl_context=context)
    try:
        conn.authenticate(mechanism, answer)
        return True, challenges
    except imaplib.IMAP4.error:
        return False, challenges
    finally:
        try:
            conn.logout()
        except (OSError, imaplib.IMAP4.error):
            pass


def pop3_bearer(server, context, user: str, token: str, *, tls: str = "starttls",
                mechanism: str = "XOAUTH2") -> tuple[bool, list[bytes]]:
    """POP3 AUTH (RFC 5034) by hand, poplib has no AUTH: (logged in, challenges after our response)."""
    if tls == "implicit":
        conn = poplib.POP3_SSL("127.0.0.1", server.pop3s, context=context, timeout=5)
    else:
        conn = poplib.POP3("127.0.0.1", server.pop3, timeout=5)
        conn.stls(context=context)
    response = (xoauth2_response(user, token) if mechanism == "XOAUTH2"
                else oauthbearer_response(user, token, "127.0.0.1", server.pop3))
    challenges: list[bytes] = []
    try:
        conn._putcmd(f"AUTH {mechanism} {base64.b64encode(response).decode()}")
        line, _ = conn._getline()
        if line.startswith(b"+ "):  # a continuation carrying the reason: answer it, then -ERR follows
            challenges.append(base64.b64decode(line[2:]))
            conn._putcmd("AQ==" if mechanism == "OAUTHBEARER" else "")
            line, _ = conn._getline()
        return line.startswith(b"+OK"), challenges
    finally:
        try:
            conn.quit()
        except (OSError, poplib.error_proto):
            pass


def smtp_bearer(servers, context, user: str, token: str, *, tls: str = "starttls",
                mechanism: str = "XOAUTH2") -> tuple[int, bytes, list[bytes]]:
    """(final code, final text, challenges after our response) of smtplib's AUTH."""
    challenges: list[bytes] = []
    response = (xoauth2_response(user, token) if mechanism == "XOAUTH2"
                else oauthbearer_response(user, token, "127.0.0.1", servers.starttls))

    def answer(challenge: bytes | None = None) -> str:
        if challenge is None:
            return response.decode()
        challenges.append(challenge)
        return "\x01" if mechanism == "OAUTHBEARER" else ""

    if tls == "implicit":
        conn = smtplib.SMTP_SSL("127.0.0.1", servers.implicit, context=context, timeout=5)
    else:
        conn = smtplib.SMTP("127.0.0.1", servers.starttls, timeout=5)
        conn.starttls(context=context)
    try:
        conn.ehlo()
        try:
            code, text = conn.auth(mechanism, answer)
        except smtplib.SMTPAuthenticationError as error:
            code, text = error.smtp_code, error.smtp_error
        return code, text, challenges
    finally:
        try:
            conn.quit()  # aiosmtpd's stop() waits for clients that never QUIT
        except (OSError, smtplib.SMTPException):
            pass


def mailbox_token(authority: TokenAuthority, address: str, **overrides) -> str:
    lifetime = overrides.pop("lifetime", 3599)
    return authority.mint({**google_claims(address), **overrides}, lifetime=lifetime)


def app_token(authority: TokenAuthority, roles=EXCHANGE_PERMISSIONS, **options) -> str:
    lifetime = options.pop("lifetime", 3599)
    tenant_id = options.pop("tenant_id", TENANT_ID)
    return authority.mint(app_claims(tenant_id, APP_CLIENT_ID, roles, **options), lifetime=lifetime)


# ---------------------------------------------------------------- token endpoint: client credentials


def test_client_secret_post_issues_an_app_token_signed_by_the_authority(token_endpoint, oauth_certificates,
                                                                        oauth_authority):
    status, _, body = client_credentials(token_endpoint.token_url(TENANT_ID), oauth_certificates.ca.cert)

    assert status == 200, body
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3599
    claims = oauth_authority.verify(body["access_token"])
    assert claims["tid"] == TENANT_ID and claims["appid"] == APP_CLIENT_ID
    assert sorted(claims["roles"]) == sorted(EXCHANGE_PERMISSIONS)
    assert set(claims["scope"].split()) == set(EXCHANGE_PERMISSIONS)
    assert "email" not in claims  # an app-only token names no mailbox
    [request] = token_endpoint.requests
    assert (request.auth_method, request.client_id, request.subject, request.status) == \
        ("client_secret_post", APP_CLIENT_ID, None, 200)


def test_client_secret_basic_is_accepted_too(token_endpoint, oauth_certificates):
    form = {"grant_type": CLIENT_CREDENTIALS, "scope": EXCHANGE_DEFAULT_SCOPE}
    status, _, body = post_token(token_endpoint.token_url(TENANT_DOMAIN), form, oauth_certificates.ca.cert,
                                 basic=(APP_CLIENT_ID, APP_SECRET))

    assert status == 200, body
    assert token_endpoint.requests[0].auth_method == "client_secret_basic"


def _client_assertion(url: str, key, headers: dict, client_id: str = APP_CLIENT_ID, lifetime: int = 600) -> str:
    now = int(time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": url, "jti": str(uuid.uuid4()),
              "nbf": now, "iat": now, "exp": now + lifetime}
    return jwt.encode(claims, key, algorithm="RS256", headers=headers)


@pytest.mark.parametrize("thumbprint", ["x5t#S256", "x5t padded as msal sends it", "none"])
def test_private_key_jwt_signed_with_the_registered_certificate_is_accepted(token_endpoint, oauth_certificates,
                                                                           oauth_registrations, thumbprint):
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    certificate = oauth_registrations.app.certificates[0]
    key = load_pem_private_key(certificate.key_pem.encode(), password=None)
    url = token_endpoint.token_url(TENANT_ID)
    headers = {"x5t#S256": {"x5t#S256": certificate.x5t_s256}, "none": {},
               "x5t padded as msal sends it": {"x5t": certificate.x5t + "="}}[thumbprint]
    form = {"grant_type": CLIENT_CREDENTIALS, "client_id": APP_CLIENT_ID, "scope": EXCHANGE_DEFAULT_SCOPE,
            "client_assertion_type": CLIENT_ASSERTION_TYPE,
            "client_assertion": _client_assertion(url, key, headers)}

    status, _, body = post_token(url, form, oauth_certificates.ca.cert)

    assert status == 200, body
    assert token_endpoint.requests[0].auth_method == "private_key_jwt"


@pytest.mark.parametrize("case", ["foreign key", "unknown thumbprint", "wrong audience", "expired"])
def test_bad_client_assertion_is_invalid_client(token_endpoint, oauth_certificates, oauth_registrations, case):
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    certificate = oauth_registrations.app.certificates[0]
    key = load_pem_private_key(certificate.key_pem.encode(), password=None)
    url = token_endpoint.token_url(TENANT_ID)
    headers, audience, lifetime = {"x5t": certificate.x5t}, url, 600
    if case == "foreign key":
        key = new_rsa_key()
    elif case == "unknown thumbprint":
        headers = {"x5t": "AAAAAAAAAAAAAAAAAAAAAAAAAAA"}
    elif case == "wrong audience":
        audience = "https://login.example.net/token"
    else:
        lifetime = -3600
    form = {"grant_type": CLIENT_CREDENTIALS, "scope": EXCHANGE_DEFAULT_SCOPE,
            "client_assertion_type": CLIENT_ASSERTION_TYPE,
            "client_assertion": _client_assertion(audience, key, headers, lifetime=lifetime)}

    status, _, body = post_token(url, form, oauth_certificates.ca.cert)

    assert (status, body["error"]) == (401, "invalid_client")
    assert body["error_codes"][0] in (700027, 700024)


def test_wrong_secret_is_invalid_client_with_aadsts7000215(token_endpoint, oauth_certificates):
    status, _, body = client_credentials(token_endpoint.token_url(TENANT_ID), oauth_certificates.ca.cert,
                                         secret="not-the-secret")

    assert (status, body["error"], body["error_codes"]) == (401, "invalid_client", [7000215])
    assert body["error_description"].startswith("AADSTS7000215: Invalid client secret provided.")
    assert "not-the-secret" not in json.dumps(body) and APP_SECRET not in json.dumps(body)
    assert token_endpoint.requests[0].error == "invalid_client"


def test_wrong_secret_at_the_rfc_path_is_plain_invalid_client(token_endpoint, oauth_certificates):
    status, _, body = client_credentials(token_endpoint.google_token_url, oauth_certificates.ca.cert,
                                         secret="not-the-secret")

    assert (status, body) == (401, {"error": "invalid_client", "error_description": "Unauthorized"})


def test_expired_secret_is_aadsts7000222(token_endpoint, oauth_certificates, oauth_registrations):
    status, _, body = client_credentials(token_endpoint.token_url(TENANT_ID), oauth_certificates.ca.cert,
                                         secret=EXPIRED_SECRET,
                                         client_id=oauth_registrations.app_with_expired_secret.client_id)

    assert (status, body["error"], body["error_codes"]) == (401, "invalid_client", [7000222])


@pytest.mark.parametrize(("tenant", "client_id", "scope", "expected"), [
    (TENANT_ID, "00000000-0000-0000-0000-000000000000", EXCHANGE_DEFAULT_SCOPE, (400, "unauthorized_client", 700016)),
    ("no-such-tenant.example", APP_CLIENT_ID, EXCHANGE_DEFAULT_SCOPE, (400, "invalid_request", 90002)),
    (TENANT_ID, APP_CLIENT_ID, IMAP_PERMISSION, (400, "invalid_scope", 1002012)),
    (TENANT_ID, APP_CLIENT_ID, "https://graph.example.net/.default", (400, "invalid_resource", 500011)),
])
def test_requests_that_entra_id_refuses(token_endpoint, oauth_certificates, tenant, client_id, scope, expected):
    status, _, body = client_credentials(token_endpoint.token_url(tenant), oauth_certificates.ca.cert,
                                         client_id=client_id, scope=scope)

    assert (status, body["error"], body["error_codes"][0]) == expected


def test_app_without_consent_gets_a_token_without_roles_that_dovecot_refuses(
        token_endpoint, oauth_certificates, oauth_registrations, oauth_dovecot, mail_certificate):
    status, _, body = client_credentials(token_endpoint.token_url(TENANT_ID), oauth_certificates.ca.cert,
                                         secret=NO_CONSENT_SECRET,
                                         client_id=oauth_registrations.app_without_consent.client_id)
    assert status == 200, body
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["roles"] == [] and "scope" not in claims

    logged_in, _ = imap_bearer(oauth_dovecot, mail_context(mail_certificate), ALICE, body["access_token"])

    assert not logged_in


# ---------------------------------------------------------------- token endpoint: forced modes


@pytest.mark.parametrize(("mode", "microsoft", "google"), [
    ("invalid_client", (401, "invalid_client", 7000215), (401, "invalid_client")),
    ("unauthorized_client", (400, "unauthorized_client", 700016), (400, "unauthorized_client")),
    ("invalid_scope", (400, "invalid_scope", 70011), (400, "invalid_scope")),
    ("consent_required", (400, "invalid_grant", 65001), (400, "unauthorized_client")),
])
def test_forced_errors_in_each_providers_style(token_endpoint, oauth_certificates, oauth_registrations,
                                               mode, microsoft, google):
    token_endpoint.set_mode(mode)
    ca = oauth_certificates.ca.cert
    account = oauth_registrations.service_account

    ms_status, _, ms_body = client_credentials(token_endpoint.token_url(TENANT_ID), ca)
    g_status, _, g_body = post_token(token_endpoint.google_token_url, {
        "grant_type": JWT_BEARER, "assertion": account.assertion(token_endpoint.google_token_url, subject=ALICE)}, ca)

    assert (ms_status, ms_body["error"], ms_body["error_codes"][0]) == microsoft
    assert ms_body["error_description"].startswith(f"AADSTS{microsoft[2]}:")
    assert (g_status, g_body["error"]) == google and "error_codes" not in g_body
    assert [(r.client_id, r.subject) for r in token_endpoint.requests] == \
        [(APP_CLIENT_ID, None), (account.client_email, ALICE)]


def test_consent_required_names_the_app(token_endpoint, oauth_certificates, oauth_registrations):
    token_endpoint.set_mode("consent_required")

    _, _, body = client_credentials(token_endpoint.token_url(TENANT_ID), oauth_certificates.ca.cert)

    assert APP_CLIENT_ID in body["error_description"]
    assert oauth_registrations.app.name in body["error_description"]


def test_server_error_mode_answers_500_with_html(token_endpoint, oauth_certificates):
    token_endpoint.set_mode("server_error_html")

    status, kind, body = client_credentials(token_endpoint.token_url(TENANT_ID), oauth_certificates.ca.cert)

    assert (status, kind) == (500, "text/html")
    assert "<h1>Internal Server Error</h1>" in body


def test_close_mode_drops_the_connection(token_endpoint, oauth_certificates):
    token_endpoint.set_mode("close")

    with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
        client_credentials(token_endpoint.token_url(TENANT_ID), oauth_certificates.ca.cert)


def test_endpoint_down_refuses_the_connection(refused_token_url, oauth_certificates):
    with pytest.raises(urllib.error.URLError) as caught:
        client_credentials(refused_token_url, oauth_certificates.ca.cert)

    assert isinstance(caught.value.reason, ConnectionRefusedError)


def test_hang_mode_trips_a_read_timeout(token_endpoint, oauth_certificates):
    token_endpoint.set_mode("hang")
    started = time.monotonic()

    with pytest.raises((TimeoutError, urllib.error.URLError)) as caught:
        client_credentials(token_endpoint.token_url(TENANT_ID), oauth_certificates.ca.cert, timeout=0.5)

    assert time.monotonic() - started < 3
    assert "timed out" in str(caught.value)
    assert [r.mode for r in token_endpoint.requests] == ["hang"]


def test_drip_mode_defeats_a_read_timeout_and_needs_a_deadline(token_endpoint, oauth_certificates):
    """Each byte arrives well inside the 1 s read timeout, so only an overall deadline stops the client."""
    token_endpoint.set_mode("drip", interval=0.1)
    context = ssl.create_default_context(cafile=str(oauth_certificates.ca.cert))
    body = urlencode({"grant_type": CLIENT_CREDENTIALS, "client_id": APP_CLIENT_ID, "client_secret": APP_SECRET,
                      "scope": EXCHANGE_DEFAULT_SCOPE})
    received = b""
    with socket.create_connection(("127.0.0.1", token_endpoint.port), timeout=1) as raw, \
            context.wrap_socket(raw, server_hostname="127.0.0.1") as conn:
        conn.sendall(f"POST /{TENANT_ID}/oauth2/v2.0/token HTTP/1.1\r\nHost: 127.0.0.1:{token_endpoint.port}\r\n"
                     f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
                     f"Connection: close\r\n\r\n{body}".encode())
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:  # bounded by the deadline; recv never times out here
            chunk = conn.recv(4096)
            if not chunk:
                break
            received += chunk

    assert received.startswith(b"HTTP/")  # it is answering...
    assert 3 <= len(received) < 40  # ...a byte at a time: nowhere near the whole response


def test_untrusted_certificate_is_refused_by_a_verifying_client(untrusted_token_endpoint, oauth_certificates):
    url = untrusted_token_endpoint.token_url(TENANT_ID)

    with pytest.raises(urllib.error.URLError) as caught:
        client_credentials(url, oauth_certificates.ca.cert)

    assert isinstance(caught.value.reason, ssl.SSLCertVerificationError)
    assert untrusted_token_endpoint.requests == []
    deadline = time.monotonic() + 2
    while untrusted_token_endpoint.tls_failures == 0 and time.monotonic() < deadline:
        time.sleep(0.01)  # the server sees the failed handshake in its own thread
    assert untrusted_token_endpoint.tls_failures == 1
    # The same server answers a client that trusts its CA: it is the certificate, not the server.
    status, _, _ = client_credentials(url, oauth_certificates.untrusted_ca.cert)
    assert status == 200


def test_discovery_documents_point_at_the_endpoint(token_endpoint, oauth_certificates, oauth_authority):
    context = ssl.create_default_context(cafile=str(oauth_certificates.ca.cert))
    url = f"{token_endpoint.authority_url(TENANT_ID)}/v2.0/.well-known/openid-configuration"
    with urllib.request.urlopen(url, context=context, timeout=5) as response:
        config = json.load(response)
    with urllib.request.urlopen(config["jwks_uri"], context=context, timeout=5) as response:
        keys = json.load(response)["keys"]

    assert config["token_endpoint"] == token_endpoint.token_url(TENANT_ID)
    assert [k["kid"] for k in keys] == [oauth_authority.kid]


# ---------------------------------------------------------------- token endpoint: service accounts


def test_service_account_key_file_looks_like_googles(token_endpoint, oauth_registrations):
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    key = json.loads(oauth_registrations.service_account.key_json(token_endpoint.google_token_url))

    assert key["type"] == "service_account" and key["token_uri"] == token_endpoint.google_token_url
    assert load_pem_private_key(key["private_key"].encode(), password=None).key_size == 2048


@pytest.mark.parametrize("audience", ["the token URL", "Google's token URL, as google-auth sends it"])
def test_delegated_service_account_gets_a_token_for_the_mailbox(token_endpoint, oauth_certificates,
                                                                oauth_registrations, oauth_authority, audience):
    account = oauth_registrations.service_account
    url = token_endpoint.google_token_url
    aud = url if audience == "the token URL" else "https://oauth2.googleapis.com/token"

    status, _, body = post_token(url, {"grant_type": JWT_BEARER,
                                       "assertion": account.assertion(aud, subject=ALICE)},
                                 oauth_certificates.ca.cert)

    assert status == 200, body
    claims = oauth_authority.verify(body["access_token"])
    assert (claims["email"], claims["sub"], claims["scope"]) == (ALICE, ALICE, GOOGLE_MAIL_SCOPE)
    assert token_endpoint.issued_counts() == {(account.client_email, ALICE): 1}


@pytest.mark.parametrize(("case", "error", "description"), [
    ("no delegation", "unauthorized_client", "Client is unauthorized"),
    ("other domain", "invalid_grant", "Invalid email or User ID"),
    ("foreign key", "invalid_grant", "Invalid JWT Signature."),
    ("too long", "invalid_grant", "Token must be a short-lived token"),
    ("unknown scope", "invalid_scope", "Invalid OAuth scope"),
])
def test_service_account_grants_google_refuses(token_endpoint, oauth_certificates, oauth_registrations,
                                               case, error, description):
    account = oauth_registrations.service_account
    url = token_endpoint.google_token_url
    options: dict = {"subject": ALICE}
    if case == "no delegation":
        account = oauth_registrations.service_account_without_delegation
    elif case == "other domain":
        options["subject"] = "someone@elsewhere.example"
    elif case == "foreign key":
        options["key"] = new_rsa_key()
    elif case == "too long":
        options["lifetime"] = 7200
    else:
        options["scope"] = "https://www.googleapis.com/auth/not-a-scope"

    status, _, body = post_token(url, {"grant_type": JWT_BEARER, "assertion": account.assertion(url, **options)},
                                 oauth_certificates.ca.cert)

    assert (status, body["error"]) == (400, error)
    assert description in body["error_description"]


def test_request_counts_are_per_client_and_subject(token_endpoint, oauth_certificates, oauth_registrations):
    """What a test of 'one token per address, not one per mailbox' asserts on."""
    account = oauth_registrations.service_account
    url = token_endpoint.google_token_url
    mailboxes = [ALICE, BOB, ALICE, ALICE, BOB, "forward@example.com"]  # six mailboxes, three addresses
    cache: dict[str, str] = {}
    for address in mailboxes:  # a caching client
        if address not in cache:
            _, _, body = post_token(url, {"grant_type": JWT_BEARER,
                                          "assertion": account.assertion(url, subject=address)},
                                    oauth_certificates.ca.cert)
            cache[address] = body["access_token"]
    client_credentials(token_endpoint.token_url(TENANT_ID), oauth_certificates.ca.cert)
    client_credentials(token_endpoint.token_url(TENANT_ID), oauth_certificates.ca.cert, secret="wrong")

    assert token_endpoint.issued_counts() == {(account.client_email, ALICE): 1, (account.client_email, BOB): 1,
                                              (account.client_email, "forward@example.com"): 1,
                                              (APP_CLIENT_ID, None): 1}
    assert token_endpoint.request_counts()[(APP_CLIENT_ID, None)] == 2


def test_claims_and_lifetime_can_be_changed_per_test(token_endpoint, oauth_certificates, oauth_authority):
    token_endpoint.token_lifetime = 120
    token_endpoint.scope_claim = "scp"
    token_endpoint.claim_overrides = {"tid": "another-tenant"}

    _, _, body = client_credentials(token_endpoint.token_url(TENANT_ID), oauth_certificates.ca.cert)

    claims = oauth_authority.verify(body["access_token"])
    assert body["expires_in"] == 120 and claims["exp"] - claims["iat"] == 120
    assert "scope" not in claims and set(claims["scp"].split()) == set(EXCHANGE_PERMISSIONS)
    assert claims["tid"] == "another-tenant"


# ---------------------------------------------------------------- dovecot: IMAP and POP3


@pytest.mark.parametrize("tls", ["starttls", "implicit"])
@pytest.mark.parametrize("mechanism", ["XOAUTH2", "OAUTHBEARER"])
@pytest.mark.parametrize("kind", ["mailbox", "app"])
@pytest.mark.parametrize("protocol", ["imap", "pop3"])
def test_dovecot_accepts_bearer_tokens(oauth_dovecot, mail_certificate, oauth_authority, tls, mechanism, kind,
                                       protocol):
    token = mailbox_token(oauth_authority, ALICE) if kind == "mailbox" else app_token(oauth_authority)
    login = imap_bearer if protocol == "imap" else pop3_bearer

    logged_in, challenges = login(oauth_dovecot, mail_context(mail_certificate), ALICE, token, tls=tls,
                                  mechanism=mechanism)

    assert (logged_in, challenges) == (True, [])


def _refused_tokens(authority: TokenAuthority) -> dict[str, tuple[str, str]]:
    """case -> (login name, token) that dovecot must refuse."""
    return {
        "expired": (ALICE, mailbox_token(authority, ALICE, lifetime=-120)),
        "for another address": (BOB, mailbox_token(authority, ALICE)),
        "without the mail scope": (ALICE, mailbox_token(authority, ALICE,
                                                        scope="https://www.googleapis.com/auth/gmail.readonly")),
        "scopes in scp": (ALICE, app_token(authority, scope_claim="scp")),
        "app without the protocol's permission": (ALICE, app_token(authority, roles=[SMTP_PERMISSION])),
        "app without permission on the mailbox": (UNPERMITTED, app_token(authority)),
        "signed by another key": (ALICE, mailbox_token(TokenAuthority(kid=authority.kid), ALICE)),
        "a password as token": (ALICE, "Alice-pw-Qx81!zz"),
        # Signed by the trusted key, but not by the issuer the server trusts for the kind.
        "from another issuer": (ALICE, mailbox_token(authority, ALICE, iss="https://issuer.invalid")),
        "app of another tenant": (ALICE, app_token(authority, tenant_id=OTHER_TENANT_ID)),
    }


@pytest.mark.parametrize("case", ["expired", "for another address", "without the mail scope", "scopes in scp",
                                  "app without the protocol's permission", "app without permission on the mailbox",
                                  "signed by another key", "a password as token", "from another issuer",
                                  "app of another tenant"])
def test_dovecot_imap_refuses_and_says_why_as_google_does(oauth_dovecot, mail_certificate, oauth_authority, case):
    user, token = _refused_tokens(oauth_authority)[case]

    logged_in, challenges = imap_bearer(oauth_dovecot, mail_context(mail_certificate), user, token)

    assert not logged_in
    assert [json.loads(c) for c in challenges] == [{"status": "401", "schemes": "bearer", "scope": "mail"}]


def test_dovecot_oauthbearer_refusal_is_invalid_token(oauth_dovecot, mail_certificate, oauth_authority):
    logged_in, challenges = imap_bearer(oauth_dovecot, mail_context(mail_certificate), BOB,
                                        mailbox_token(oauth_authority, ALICE), mechanism="OAUTHBEARER")

    assert not logged_in
    assert [json.loads(c) for c in challenges] == [{"status": "invalid_token"}]


@pytest.mark.parametrize("case", ["expired", "for another address", "app without the protocol's permission",
                                  "app without permission on the mailbox"])
def test_dovecot_pop3_refuses(oauth_dovecot, mail_certificate, oauth_authority, case):
    user, token = _refused_tokens(oauth_authority)[case]

    logged_in, challenges = pop3_bearer(oauth_dovecot, mail_context(mail_certificate), user, token, tls="implicit")

    assert not logged_in and len(challenges) == 1


def test_imap_and_pop3_permissions_are_separate(oauth_dovecot, mail_certificate, oauth_authority):
    context = mail_context(mail_certificate)
    token = app_token(oauth_authority, roles=[IMAP_PERMISSION])

    assert imap_bearer(oauth_dovecot, context, ALICE, token)[0]
    assert not pop3_bearer(oauth_dovecot, context, ALICE, token)[0]
    assert pop3_bearer(oauth_dovecot, context, ALICE, app_token(oauth_authority, roles=[POP_PERMISSION]))[0]


def test_mailbox_permission_changes_take_effect_at_once(oauth_dovecot, mail_certificate, oauth_authority,
                                                        app_mailboxes):
    context = mail_context(mail_certificate)
    token = app_token(oauth_authority)

    app_mailboxes.revoke(BOB)
    assert not imap_bearer(oauth_dovecot, context, BOB, token)[0]
    app_mailboxes.grant(BOB)
    assert imap_bearer(oauth_dovecot, context, BOB, token)[0]


def test_dovecot_still_takes_passwords(oauth_dovecot, mail_certificate):
    with imaplib.IMAP4_SSL("127.0.0.1", oauth_dovecot.imaps, ssl_context=mail_context(mail_certificate),
                           timeout=5) as conn:
        assert conn.login(ALICE, "Alice-pw-Qx81!zz")[0] == "OK"


def test_tokens_from_the_endpoint_open_mailboxes(token_endpoint, oauth_certificates, oauth_registrations,
                                                 oauth_dovecot, oauth_smtp_servers, mail_certificate):
    """End to end: endpoint -> token -> IMAP, POP3 and SMTP, for both kinds."""
    ca, context = oauth_certificates.ca.cert, mail_context(mail_certificate)
    url = token_endpoint.google_token_url
    account = oauth_registrations.service_account
    _, _, google = post_token(url, {"grant_type": JWT_BEARER, "assertion": account.assertion(url, subject=BOB)}, ca)
    _, _, microsoft = client_credentials(token_endpoint.token_url(TENANT_ID), ca)

    for token in (google["access_token"], microsoft["access_token"]):
        assert imap_bearer(oauth_dovecot, context, BOB, token, tls="implicit")[0]
        assert pop3_bearer(oauth_dovecot, context, BOB, token)[0]
        assert smtp_bearer(oauth_smtp_servers, context, BOB, token)[0] == 235


def test_oauth_fixture_trusts_the_endpoint_and_the_mail_servers_through_the_environment(oauth):
    """`oauth` (via trust_oauth_ca) makes a default context trust both: no cafile anywhere."""
    request = urllib.request.Request(oauth.token_url, method="POST", data=urlencode({
        "grant_type": CLIENT_CREDENTIALS, "client_id": APP_CLIENT_ID, "client_secret": APP_SECRET,
        "scope": EXCHANGE_DEFAULT_SCOPE}).encode())
    with urllib.request.urlopen(request, context=ssl.create_default_context(), timeout=5) as response:
        token = json.load(response)["access_token"]

    assert imap_bearer(oauth.dovecot, ssl.create_default_context(), ALICE, token, tls="implicit")[0]
    assert smtp_bearer(oauth.smtp, ssl.create_default_context(), ALICE, token)[0] == 235
    assert oauth.endpoint.handler_errors == []


# ---------------------------------------------------------------- aiosmtpd: SMTP


@pytest.mark.parametrize("tls", ["starttls", "implicit"])
@pytest.mark.parametrize("mechanism", ["XOAUTH2", "OAUTHBEARER"])
@pytest.mark.parametrize("kind", ["mailbox", "app"])
def test_smtp_accepts_bearer_tokens(oauth_smtp_servers, mail_certificate, oauth_authority, tls, mechanism, kind):
    token = mailbox_token(oauth_authority, ALICE) if kind == "mailbox" else app_token(oauth_authority)

    code, _, challenges = smtp_bearer(oauth_smtp_servers, mail_context(mail_certificate), ALICE, token, tls=tls,
                                      mechanism=mechanism)

    assert (code, challenges) == (235, [])
    assert oauth_smtp_servers.attempts[-1] == type(oauth_smtp_servers.attempts[-1])(ALICE, mechanism, True, "")


@pytest.mark.parametrize(("case", "reason"), [
    ("expired", "token expired"),
    ("for another address", "token was issued for another user"),
    ("without the mail scope", "token lacks scope https://mail.google.com/"),
    ("signed by another key", "token not valid: Signature verification failed"),
    ("from another issuer", "token not issued by https://accounts.google.com"),
])
def test_smtp_refuses_mailbox_tokens_as_google_does(oauth_smtp_servers, mail_certificate, oauth_authority,
                                                    case, reason):
    user, token = _refused_tokens(oauth_authority)[case]

    code, text, challenges = smtp_bearer(oauth_smtp_servers, mail_context(mail_certificate), user, token,
                                         tls="implicit")

    assert code == 535 and b"5.7.8" in text
    assert [json.loads(c) for c in challenges] == [{"status": "401", "schemes": "bearer",
                                                     "scope": GOOGLE_MAIL_SCOPE}]
    assert oauth_smtp_servers.attempts[-1].reason == reason


@pytest.mark.parametrize(("user", "roles", "tenant", "reason"), [
    (ALICE, [IMAP_PERMISSION, POP_PERMISSION], TENANT_ID, "token lacks SMTP.SendAsApp"),
    (UNPERMITTED, EXCHANGE_PERMISSIONS, TENANT_ID, "the app has no permission on this mailbox"),
    (ALICE, EXCHANGE_PERMISSIONS, OTHER_TENANT_ID, "token not issued by the tenant"),
])
def test_smtp_refuses_app_tokens_as_exchange_does(oauth_smtp_servers, mail_certificate, oauth_authority,
                                                  user, roles, tenant, reason):
    code, text, challenges = smtp_bearer(oauth_smtp_servers, mail_context(mail_certificate), user,
                                         app_token(oauth_authority, roles=roles, tenant_id=tenant))

    assert (code, challenges) == (535, []) and b"5.7.3" in text
    assert oauth_smtp_servers.attempts[-1].reason == reason
