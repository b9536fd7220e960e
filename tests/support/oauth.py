"""pytest fixtures for OAuth 2.0 (issue 11): a token endpoint, and dovecot/aiosmtpd taking bearer tokens.

Registered in tests/conftest.py (``pytest_plugins``). docs/testing-oauth.md says what each gives.

Session fixtures (started once, on first use): ``oauth_authority`` (the token signing key),
``oauth_certificates`` (throwaway CA, the endpoint's certificate, an untrusted one),
``oauth_registry`` (the test tenant's apps and the Google service accounts),
``oauth_dovecot``, ``oauth_smtp_servers``, and the endpoints behind ``token_endpoint`` and
``untrusted_token_endpoint``.

Function fixtures: ``token_endpoint`` / ``untrusted_token_endpoint`` (reset before and after each
test: normal mode, default claims, empty request log), ``refused_token_url`` (nothing listens),
``app_mailboxes`` (the app-only permissions, restored after the test), ``trust_oauth_ca`` (the CA
and the mail servers' certificate trusted through ``SSL_CERT_FILE``/``REQUESTS_CA_BUNDLE``) and
``oauth`` (all of it in one object).
"""

from __future__ import annotations

import shutil
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.mailservers import MAIL_USERS, TestCertificate, _shared_dir, dovecot_available
from support.oauth_endpoint import AppRegistration, Registry, ServiceAccount, TokenEndpoint
from support.oauth_mail import MailboxPermissions, OAuthDovecot, OAuthSmtpServers
from support.oauth_tokens import (EXCHANGE_PERMISSIONS, TestCA, TokenAuthority, make_ca,
                                  make_client_certificate, make_server_certificate)

# The test tenant (Microsoft Entra ID) and Google Workspace domain: the mail users' domain.
TENANT_ID = "7f3c2a10-5b8e-4d6f-9a21-0c4e8b7d1f55"
TENANT_DOMAIN = "example.com"
APP_CLIENT_ID = "3d9f1c2e-8a47-4b6d-b0e5-6f2a9c81d4e7"
APP_SECRET = "App-secret-Q~7vLm2!oauth-Kx9"  # distinctive: a leak is easy to find
NO_CONSENT_CLIENT_ID = "a8b1e4d2-0c3f-4e59-8d7a-2b6c5f9e1a03"
NO_CONSENT_SECRET = "NoConsent-secret-Q~4pRt8#zz"
EXPIRED_CLIENT_ID = "c5e2a9f7-1d8b-4c36-a4e0-9b7d3f2c6e18"
EXPIRED_SECRET = "Expired-secret-Q~1nBv6$yy"
SERVICE_ACCOUNT_EMAIL = "mailbox-sync@mailbox-tui-test.iam.gserviceaccount.com"
NO_DELEGATION_EMAIL = "no-delegation@mailbox-tui-test.iam.gserviceaccount.com"
# Mailboxes app-only tokens may open at the start of every test (Exchange: the app's mailbox
# permission). support@ is left out so a test can show "no permission on this mailbox".
APP_MAILBOXES = frozenset(a for a in MAIL_USERS if a != "support@example.com")


@dataclass(frozen=True)
class OAuthCertificates:
    """TLS material for the token endpoints."""

    ca: TestCA  # trust this: the endpoint's certificate is signed by it
    endpoint: TestCertificate  # 127.0.0.1 and localhost, signed by `ca`
    untrusted_ca: TestCA  # nobody trusts this one
    untrusted_endpoint: TestCertificate  # same names, signed by `untrusted_ca`
    bundle: Path  # `ca` plus the mail servers' certificate, for SSL_CERT_FILE


@dataclass(frozen=True)
class OAuthRegistrations:
    """The apps and service accounts the endpoints know."""

    registry: Registry
    app: AppRegistration  # secret APP_SECRET and a certificate; all three Exchange permissions consented
    app_without_consent: AppRegistration  # valid secret, no permission consented: tokens carry no roles
    app_with_expired_secret: AppRegistration  # the right secret, expired: AADSTS7000222
    service_account: ServiceAccount  # domain-wide delegation for https://mail.google.com/ in example.com
    service_account_without_delegation: ServiceAccount  # no delegation: unauthorized_client


@dataclass(frozen=True)
class OAuthWorld:
    """Everything an OAuth test needs, from the ``oauth`` fixture."""

    authority: TokenAuthority
    certificates: OAuthCertificates
    registrations: OAuthRegistrations
    endpoint: TokenEndpoint
    untrusted_endpoint: TokenEndpoint
    refused_url: str
    dovecot: OAuthDovecot
    smtp: OAuthSmtpServers
    app_mailboxes: MailboxPermissions

    @property
    def tenant_id(self) -> str:
        return TENANT_ID

    @property
    def token_url(self) -> str:
        """Entra ID-style token URL of the trusted endpoint for the test tenant."""
        return self.endpoint.token_url(TENANT_ID)

    @property
    def google_token_url(self) -> str:
        return self.endpoint.google_token_url


# ---------------------------------------------------------------- session fixtures


@pytest.fixture(scope="session")
def oauth_authority() -> TokenAuthority:
    return TokenAuthority()


@pytest.fixture(scope="session")
def oauth_certificates(mail_certificate):
    folder = Path(tempfile.mkdtemp(prefix="mailbox-tui-oauth-tls-"))
    try:
        ca = make_ca(folder, "mailbox-tui OAuth test CA")
        untrusted_ca = make_ca(folder, "Untrusted test CA")
        bundle = folder / "trusted-bundle.pem"
        bundle.write_text(ca.cert.read_text() + mail_certificate.cert.read_text())
        yield OAuthCertificates(ca, make_server_certificate(folder, ca, "token-endpoint"), untrusted_ca,
                                make_server_certificate(folder, untrusted_ca, "untrusted-token-endpoint"), bundle)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def oauth_registrations() -> OAuthRegistrations:
    registry = Registry()
    app = registry.add_app(AppRegistration(APP_CLIENT_ID, TENANT_ID, TENANT_DOMAIN, name="Mailbox sync (test)",
                                           secret=APP_SECRET, certificates=[make_client_certificate()]))
    no_consent = registry.add_app(AppRegistration(NO_CONSENT_CLIENT_ID, TENANT_ID, TENANT_DOMAIN,
                                                  name="Mailbox sync without consent", secret=NO_CONSENT_SECRET,
                                                  granted=set()))
    expired = registry.add_app(AppRegistration(EXPIRED_CLIENT_ID, TENANT_ID, TENANT_DOMAIN,
                                               name="Mailbox sync, old secret", secret=EXPIRED_SECRET,
                                               secret_expired=True, granted=set(EXCHANGE_PERMISSIONS)))
    account = registry.add_service_account(ServiceAccount(SERVICE_ACCOUNT_EMAIL, "104729318655201234567",
                                                          "mailbox-tui-test", TENANT_DOMAIN))
    no_delegation = registry.add_service_account(ServiceAccount(NO_DELEGATION_EMAIL, "104729318655209876543",
                                                                "mailbox-tui-test", TENANT_DOMAIN,
                                                                delegated_scopes=set()))
    return OAuthRegistrations(registry, app, no_consent, expired, account, no_delegation)


@pytest.fixture(scope="session")
def _token_endpoint_server(oauth_authority, oauth_certificates, oauth_registrations):
    endpoint = TokenEndpoint(oauth_authority, oauth_certificates.endpoint, oauth_registrations.registry).start()
    try:
        yield endpoint
    finally:
        endpoint.stop()


@pytest.fixture(scope="session")
def _untrusted_token_endpoint_server(oauth_authority, oauth_certificates, oauth_registrations):
    endpoint = TokenEndpoint(oauth_authority, oauth_certificates.untrusted_endpoint, oauth_registrations.registry,
                             name="untrusted-token-endpoint").start()
    try:
        yield endpoint
    finally:
        endpoint.stop()


@pytest.fixture(scope="session")
def _refused_port():
    """A port bound but not listening: connecting is refused, and nothing else can take it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


@pytest.fixture(scope="session")
def _app_mailboxes_session():
    folder = _shared_dir("mailbox-tui-oauth-perm-")
    try:
        yield MailboxPermissions(folder / "app-mailboxes", APP_MAILBOXES)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def oauth_dovecot(mail_certificate, oauth_authority, _app_mailboxes_session):
    """dovecot taking XOAUTH2/OAUTHBEARER (and the test passwords) on IMAP/POP3, plain and TLS."""
    reason = dovecot_available()
    if reason:
        pytest.skip(reason)
    server = OAuthDovecot(MAIL_USERS, mail_certificate, oauth_authority, _app_mailboxes_session,
                          tenant_id=TENANT_ID).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def oauth_smtp_servers(mail_certificate, oauth_authority, _app_mailboxes_session):
    """aiosmtpd taking XOAUTH2/OAUTHBEARER (and the test passwords): plain, STARTTLS, implicit TLS."""
    servers = OAuthSmtpServers(MAIL_USERS, mail_certificate, oauth_authority, _app_mailboxes_session,
                               tenant_id=TENANT_ID).start()
    try:
        yield servers
    finally:
        servers.stop()


# ---------------------------------------------------------------- function fixtures


@pytest.fixture
def token_endpoint(_token_endpoint_server):
    """The trusted token endpoint, in normal mode with an empty request log for this test."""
    _token_endpoint_server.reset()
    yield _token_endpoint_server
    _token_endpoint_server.reset()


@pytest.fixture
def untrusted_token_endpoint(_untrusted_token_endpoint_server):
    """The same endpoint behind a certificate no test trusts."""
    _untrusted_token_endpoint_server.reset()
    yield _untrusted_token_endpoint_server
    _untrusted_token_endpoint_server.reset()


@pytest.fixture
def refused_token_url(_refused_port) -> str:
    """A token URL where nothing listens (connection refused)."""
    return f"https://127.0.0.1:{_refused_port}/{TENANT_ID}/oauth2/v2.0/token"


@pytest.fixture
def app_mailboxes(_app_mailboxes_session):
    """The mailboxes app-only tokens may open; grant/revoke freely, restored after the test."""
    before = _app_mailboxes_session.addresses
    yield _app_mailboxes_session
    if _app_mailboxes_session.addresses != before:
        _app_mailboxes_session.set(before)


@pytest.fixture
def trust_oauth_ca(oauth_certificates, monkeypatch):
    """The OAuth test CA and the mail servers' certificate are trusted for one test (this process
    and its children): ``SSL_CERT_FILE`` for ssl.create_default_context(), ``REQUESTS_CA_BUNDLE``
    for requests-based libraries such as msal."""
    bundle = str(oauth_certificates.bundle)
    monkeypatch.setenv("SSL_CERT_FILE", bundle)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", bundle)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    return oauth_certificates


@pytest.fixture
def oauth(oauth_authority, oauth_certificates, oauth_registrations, token_endpoint, untrusted_token_endpoint,
          refused_token_url, oauth_dovecot, oauth_smtp_servers, app_mailboxes, trust_oauth_ca) -> OAuthWorld:
    """All OAuth fixtures together, with the CA trusted."""
    return OAuthWorld(oauth_authority, oauth_certificates, oauth_registrations, token_endpoint,
                      untrusted_token_endpoint, refused_token_url, oauth_dovecot, oauth_smtp_servers, app_mailboxes)
