"""pytest fixtures for Exchange Online through Microsoft Graph (issue 23): the test Graph server and the
apps that may use it. Registered in tests/conftest.py; docs/testing-graph.md says what each gives.

Session: ``graph_apps`` (app registrations added to the OAuth test registry), the Graph server behind
the trusted test CA and one behind a certificate nobody trusts. Function: ``graph`` (both servers reset,
the token endpoint reset, the CA trusted): a ``GraphWorld``. Needs no dovecot.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from support import builders
from support.graph_server import GraphMailbox, GraphServer
from support.oauth import APP_CLIENT_ID, APP_SECRET, NO_CONSENT_CLIENT_ID, NO_CONSENT_SECRET, TENANT_DOMAIN, TENANT_ID
from support.oauth_endpoint import AppRegistration, TokenEndpoint
from support.oauth_tokens import EXCHANGE_PERMISSIONS, GRAPH_SYNC_PERMISSIONS

from mailbox_tui.domain.options import AuthMethod, ServerType
from mailbox_tui.domain.records import PasswordEdit

# An app with every permission a mailbox sync app needs on Graph (README, "Exchange Online and Exchange Server").
GRAPH_CLIENT_ID = "5b1e7c9a-2f64-4d38-9e0b-7a3c1d5f8e26"
GRAPH_SECRET = "Graph-secret-Q~3kTz9!graph-Wp4"  # distinctive: a leak is easy to find
# Mail.ReadWrite only: no Mail.Send, no calendars, contacts or tasks.
MAIL_ONLY_CLIENT_ID = "e2d4f6a8-9b1c-4e3f-8a5d-0c7b9e1f3a24"
MAIL_ONLY_SECRET = "MailOnly-secret-Q~8hYx2#mo"
# Everything but To Do: ACT names the tasks (Tasks.ReadWrite.All) as what is missing.
NO_TASKS_CLIENT_ID = "f3a5b7c9-0d2e-4f61-9b8a-1c3e5d7f9b42"
NO_TASKS_SECRET = "NoTasks-secret-Q~5jWv7$nt"
# Mailboxes of the test tenant on the Graph server. former@ is soft-deleted, onprem@ is hosted on premises:
# both MailboxNotEnabledForRESTAPI. Any other address is not a user of the tenant (ErrorInvalidUser).
GRAPH_MAILBOXES = ("alice@example.com", "bob@example.com", "support@example.com", "zoe@example.com")
NOT_REST_ENABLED = ("former@example.com", "onprem@example.com")


@dataclass(frozen=True)
class GraphApps:
    app: AppRegistration  # every sync permission (GRAPH_SYNC_PERMISSIONS), secret GRAPH_SECRET
    mail_only: AppRegistration  # Mail.ReadWrite only
    no_tasks: AppRegistration  # all but Tasks.ReadWrite.All
    imap_app: str = APP_CLIENT_ID  # the IMAP/SMTP app (Office 365 Exchange Online permissions only)
    imap_secret: str = APP_SECRET
    no_consent: str = NO_CONSENT_CLIENT_ID  # no permission at all: tokens carry no roles
    no_consent_secret: str = NO_CONSENT_SECRET


@dataclass(frozen=True)
class GraphWorld:
    """Everything a Graph test needs, from the ``graph`` fixture."""

    server: GraphServer  # trusted: its certificate is signed by the OAuth test CA
    impostor: GraphServer  # the same server behind a certificate from a CA nobody trusts
    endpoint: TokenEndpoint
    apps: GraphApps

    @property
    def token_url(self) -> str:
        return self.endpoint.token_url(TENANT_ID)

    @property
    def base_url(self) -> str:
        return self.server.base_url


def graph_profile(store, graph, *, client_id=GRAPH_CLIENT_ID, secret=GRAPH_SECRET, name="Exchange Online",
                  location=None, **changes):
    """An Exchange Online profile on the test Graph server, with OAuth through the test token endpoint."""
    values = dict(server_type=ServerType.EXCHANGE_ONLINE_HYBRID, incoming_location=location or graph.base_url,
                  outgoing_location=location or graph.base_url, auth_method=AuthMethod.OAUTH,
                  oauth_client_id=client_id, oauth_client_secret=PasswordEdit(new=secret), oauth_tenant_id=TENANT_ID,
                  oauth_token_endpoint=graph.token_url, timeout_seconds=5)
    values.update(changes)
    return builders.imap_profile(store, name, **values)


def _mailboxes() -> list[GraphMailbox]:
    return ([GraphMailbox(a) for a in GRAPH_MAILBOXES]
            + [GraphMailbox(a, rest_enabled=False) for a in NOT_REST_ENABLED])


@pytest.fixture(scope="session")
def graph_apps(oauth_registrations) -> GraphApps:
    registry = oauth_registrations.registry
    sync = set(GRAPH_SYNC_PERMISSIONS)
    app = registry.add_app(AppRegistration(GRAPH_CLIENT_ID, TENANT_ID, TENANT_DOMAIN, name="Mailbox sync (Graph)",
                                           secret=GRAPH_SECRET, granted=sync | set(EXCHANGE_PERMISSIONS)))
    mail_only = registry.add_app(AppRegistration(MAIL_ONLY_CLIENT_ID, TENANT_ID, TENANT_DOMAIN,
                                                 name="Mail only (Graph)", secret=MAIL_ONLY_SECRET,
                                                 granted={"Mail.ReadWrite"}))
    no_tasks = registry.add_app(AppRegistration(NO_TASKS_CLIENT_ID, TENANT_ID, TENANT_DOMAIN,
                                                name="No tasks (Graph)", secret=NO_TASKS_SECRET,
                                                granted=sync - {"Tasks.ReadWrite.All"}))
    return GraphApps(app, mail_only, no_tasks)


@pytest.fixture(scope="session")
def _graph_server(oauth_authority, oauth_certificates):
    server = GraphServer(oauth_authority, oauth_certificates.endpoint, TENANT_ID, _mailboxes()).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def _impostor_graph_server(oauth_authority, oauth_certificates):
    server = GraphServer(oauth_authority, oauth_certificates.untrusted_endpoint, TENANT_ID, _mailboxes(),
                         name="impostor-graph").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def graph(_graph_server, _impostor_graph_server, token_endpoint, graph_apps, trust_oauth_ca) -> GraphWorld:
    """The Graph servers and the token endpoint, reset for this test, with the test CA trusted."""
    for server in (_graph_server, _impostor_graph_server):
        server.reset()
    yield GraphWorld(_graph_server, _impostor_graph_server, token_endpoint, graph_apps)
    for server in (_graph_server, _impostor_graph_server):
        server.reset()
