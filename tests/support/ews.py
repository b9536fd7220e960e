"""pytest fixtures for Exchange Server through EWS (issue 23): the test EWS server, its accounts and mailboxes.
Registered in tests/conftest.py; docs/testing-ews.md says what each gives.

Session: the EWS server behind the trusted OAuth test CA, and one behind a certificate nobody trusts. Function:
``ews`` (both reset, the CA trusted): an ``EwsWorld``. Needs no dovecot and no Exchange.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from support import builders
from support.ews_server import EwsAccount, EwsMailbox, EwsServer

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
MAILBOXES = ("alice@contoso.com", "bob@contoso.com", "carol@contoso.com")  # carol's tasks folder refuses everyone
SECRETS = (SERVICE_PASSWORD, SCOPED_PASSWORD, NO_ROLE_PASSWORD, ALICE_PASSWORD, BOB_PASSWORD)


@dataclass(frozen=True)
class EwsWorld:
    server: EwsServer  # trusted: its certificate is signed by the OAuth test CA
    impostor: EwsServer  # the same server behind a certificate from a CA nobody trusts

    @property
    def url(self) -> str:
        return self.server.ews_url


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


def _accounts() -> list[EwsAccount]:
    return [EwsAccount(SERVICE_USER, SERVICE_PASSWORD, impersonates={"*"}),
            EwsAccount(SCOPED_USER, SCOPED_PASSWORD, impersonates={"alice@contoso.com"}),
            EwsAccount(NO_ROLE_USER, NO_ROLE_PASSWORD),
            EwsAccount(ALICE, ALICE_PASSWORD, mailbox="alice@contoso.com"),
            EwsAccount(BOB_LOGIN, BOB_PASSWORD, mailbox="bob@contoso.com")]


def _mailboxes() -> list[EwsMailbox]:
    return [EwsMailbox("alice@contoso.com"), EwsMailbox("bob@contoso.com", items=0),
            EwsMailbox("carol@contoso.com", denied={"tasks"})]


@pytest.fixture(scope="session")
def _ews_servers(oauth_certificates):
    folder = Path(tempfile.mkdtemp(prefix="mailbox-tui-ews-"))
    trusted = EwsServer(oauth_certificates.endpoint, _accounts(), _mailboxes(), folder).start()
    impostor = EwsServer(oauth_certificates.untrusted_endpoint, _accounts(), _mailboxes(), folder,
                         name="impostor-ews").start()
    try:
        yield trusted, impostor
    finally:
        trusted.stop()
        impostor.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def ews(_ews_servers, trust_oauth_ca) -> EwsWorld:
    """The EWS servers, reset for this test, with the test CA trusted."""
    for server in _ews_servers:
        server.reset()
    yield EwsWorld(*_ews_servers)
    for server in _ews_servers:
        server.reset()
