"""pytest fixtures for Exchange Server through EWS (issue 23): the test EWS server, its accounts and mailboxes.
Registered in tests/conftest.py; docs/testing-ews.md says what each gives.

Session: the EWS server behind the trusted OAuth test CA, and one behind a certificate nobody trusts, both taking
bearer tokens of the test token endpoint (Exchange Hybrid Modern Auth: its apps below). Function: ``ews`` (both
reset, the CA trusted): an ``EwsWorld``; ``hybrid_ews`` adds the token endpoint. Needs no dovecot and no Exchange.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from support import builders, kerberos
from support.ews_server import EwsAccount, EwsMailbox, EwsServer
from support.oauth import TENANT_DOMAIN, TENANT_ID
from support.oauth_endpoint import AppRegistration
from support.oauth_tokens import EWS_APP_PERMISSION, EXCHANGE_RESOURCE

from mailbox_tui.domain.options import AuthMethod, ServerType
from mailbox_tui.domain.records import PasswordEdit

DOMAIN = "contoso.com"
# A service account with ApplicationImpersonation over every mailbox: what a profile's own credentials usually are.
SERVICE_USER, SERVICE_PASSWORD = "CONTOSO\\svc-ews", "Svc-Ews-pw!7xQ2#long"
# ApplicationImpersonation scoped to alice only (-CustomRecipientWriteScope).
SCOPED_USER, SCOPED_PASSWORD = "CONTOSO\\svc-scoped", "Scoped-pw!4mZ8#long"
# An ordinary account: no impersonation role.
NO_ROLE_USER, NO_ROLE_PASSWORD = "CONTOSO\\helpdesk", "Helpdesk-pw!2kP6#long"
# Mailbox owners signing in as themselves (a mailbox's own credentials): a UPN and a DOMAIN\user.
ALICE, ALICE_PASSWORD = "alice@contoso.com", "Alice-pw!9kLm#long"
BOB_LOGIN, BOB_PASSWORD = "CONTOSO\\bob", "Bob-pw!3nQr#long"
# carol's tasks folder refuses everyone; dave's mailbox is over its quota (sending refused)
MAILBOXES = ("alice@contoso.com", "bob@contoso.com", "carol@contoso.com", "dave@contoso.com")
# Full Access to alice's mailbox, but no Send As: may read it, may not send as it.
DELEGATE_USER, DELEGATE_PASSWORD = "CONTOSO\\assistant", "Assistant-pw!5tW1#long"
# Exchange Hybrid Modern Auth (6): an app granted full_access_as_app, and one granted nothing (no admin consent).
# The EWS server's host (127.0.0.1) is a service principal name of Office 365 Exchange Online, as the Hybrid
# Configuration Wizard's Hybrid Modern Auth step makes it: tokens for https://127.0.0.1/.default have it as audience.
HYBRID_RESOURCE = "https://127.0.0.1"
HMA_CLIENT_ID, HMA_SECRET = "8c2f4a6e-1b3d-4f5a-9c7e-2d4b6f8a0c13", "Hybrid-secret-Q~7rTz2!hma-Vx9"
HMA_NO_ROLE_CLIENT_ID, HMA_NO_ROLE_SECRET = "9d3e5b7f-2c4e-4a6b-8d0f-3e5c7a9b1d24", "NoRole-secret-Q~4pLs8#hma"
SECRETS = (HMA_SECRET, HMA_NO_ROLE_SECRET, SERVICE_PASSWORD, SCOPED_PASSWORD, NO_ROLE_PASSWORD, ALICE_PASSWORD,
           BOB_PASSWORD, DELEGATE_PASSWORD)


@dataclass(frozen=True)
class HybridEws:
    """The EWS server with the token endpoint that issues its bearer tokens (``hybrid_ews``)."""

    ews: EwsWorld
    endpoint: object  # support.oauth_endpoint.TokenEndpoint

    @property
    def token_url(self) -> str:
        return self.endpoint.token_url(TENANT_ID)


@dataclass(frozen=True)
class EwsWorld:
    server: EwsServer  # trusted: its certificate is signed by the OAuth test CA
    impostor: EwsServer  # the same server behind a certificate from a CA nobody trusts
    online: EwsServer  # Exchange Online's EWS (until 1 April 2027): bearer tokens for outlook.office365.com

    @property
    def url(self) -> str:
        return self.server.ews_url

    @property
    def kerberos_url(self) -> str:
        """The EWS URL by the host name its Kerberos service principal has (HTTP/localhost)."""
        return self.url.replace("//127.0.0.1:", f"//{kerberos.SERVICE_HOST}:")


def ews_profile(store, ews: EwsWorld, *, name="Exchange Server", location=None, username=SERVICE_USER,
                password=SERVICE_PASSWORD, auth_method=AuthMethod.PROFILE_CREDENTIALS, **changes):
    """An Exchange Server profile on the test EWS server; by default a service account that impersonates."""
    url = ews.url if location is None else location
    values = dict(server_type=ServerType.EXCHANGE, incoming_location=url, outgoing_location=url,
                  auth_method=auth_method, timeout_seconds=5)
    if auth_method == AuthMethod.PROFILE_CREDENTIALS:
        values.update(username=username, password=PasswordEdit(new=password))
    values.update(changes)
    return builders.imap_profile(store, name, **values)


def hybrid_profile(store, world: HybridEws, *, name="Exchange Hybrid", client_id=HMA_CLIENT_ID, secret=HMA_SECRET,
                   **changes):
    """An Exchange Server (Hybrid) profile on the test EWS server with Exchange Hybrid Modern Auth (6)."""
    values = dict(server_type=ServerType.EXCHANGE_HYBRID, oauth_client_id=client_id,
                  oauth_client_secret=PasswordEdit(new=secret), oauth_tenant_id=TENANT_ID,
                  oauth_token_endpoint=world.token_url, **changes)
    return ews_profile(store, world.ews, name=name, auth_method=AuthMethod.EXCHANGE_HYBRID_MODERN_AUTH, **values)


def _accounts() -> list[EwsAccount]:
    return [EwsAccount(SERVICE_USER, SERVICE_PASSWORD, impersonates={"*"}),
            EwsAccount(SCOPED_USER, SCOPED_PASSWORD, impersonates={"alice@contoso.com"}),
            EwsAccount(NO_ROLE_USER, NO_ROLE_PASSWORD),
            EwsAccount(ALICE, ALICE_PASSWORD, mailbox="alice@contoso.com"),
            EwsAccount(BOB_LOGIN, BOB_PASSWORD, mailbox="bob@contoso.com"),
            EwsAccount(DELEGATE_USER, DELEGATE_PASSWORD, full_access={"alice@contoso.com"}),
            # Kerberos principals of the test KDC (support/kerberos.py): sign in with a ticket only.
            EwsAccount(kerberos.SERVICE, "", impersonates={"*"}),
            EwsAccount(kerberos.NO_ROLE, "")]


def _mailboxes() -> list[EwsMailbox]:
    return [EwsMailbox("alice@contoso.com"), EwsMailbox("bob@contoso.com", items=0),
            EwsMailbox("carol@contoso.com", denied={"tasks"}), EwsMailbox("dave@contoso.com", over_quota=True)]


@pytest.fixture(scope="session")
def _ews_servers(oauth_certificates, oauth_authority, oauth_registrations):
    registry = oauth_registrations.registry
    registry.hybrid_resources.add(HYBRID_RESOURCE)
    registry.add_app(AppRegistration(HMA_CLIENT_ID, TENANT_ID, TENANT_DOMAIN, name="Mailbox sync (EWS hybrid)",
                                     secret=HMA_SECRET, granted={EWS_APP_PERMISSION}))
    registry.add_app(AppRegistration(HMA_NO_ROLE_CLIENT_ID, TENANT_ID, TENANT_DOMAIN, name="EWS without consent",
                                     secret=HMA_NO_ROLE_SECRET, granted=set()))
    folder = Path(tempfile.mkdtemp(prefix="mailbox-tui-ews-"))
    bearer = dict(authority=oauth_authority, tenant_id=TENANT_ID, audiences=(HYBRID_RESOURCE,))
    trusted = EwsServer(oauth_certificates.endpoint, _accounts(), _mailboxes(), folder, **bearer).start()
    impostor = EwsServer(oauth_certificates.untrusted_endpoint, _accounts(), _mailboxes(), folder,
                         name="impostor-ews", **bearer).start()
    # Exchange Online's EWS: tokens for https://outlook.office365.com (the Office 365 Exchange Online resource).
    online = EwsServer(oauth_certificates.endpoint, _accounts(), _mailboxes(), folder, name="online-ews",
                       authority=oauth_authority, tenant_id=TENANT_ID, audiences=(EXCHANGE_RESOURCE,)).start()
    try:
        yield trusted, impostor, online
    finally:
        trusted.stop()
        impostor.stop()
        online.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def ews(_ews_servers, trust_oauth_ca) -> EwsWorld:
    """The EWS servers, reset for this test, with the test CA trusted."""
    for server in _ews_servers:
        server.reset()
    yield EwsWorld(*_ews_servers)
    for server in _ews_servers:
        server.reset()


@pytest.fixture
def hybrid_ews(ews, token_endpoint) -> HybridEws:
    """The EWS servers and the token endpoint (reset), for Exchange Hybrid Modern Auth."""
    return HybridEws(ews, token_endpoint)
