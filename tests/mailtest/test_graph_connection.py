"""Test Connection (F8) on an Exchange Online profile (issue 23): the token step and a Graph read of the
profile's first mailbox, showing the token's roles and expiry, never the token or the secret."""

from __future__ import annotations

from mail_builders import user_mailbox
from support.graph import GRAPH_CLIENT_ID, GRAPH_SECRET, graph_profile

from mailbox_tui.mailtest.connection import test_connection


def _text(checks) -> str:
    return " ".join(f"{c.note} {c.result.message if c.result else ''} {c.result.token if c.result else ''}"
                    for c in checks)


def test_reads_the_first_mailbox_and_shows_roles_and_expiry(sqlite_store, graph):
    profile = graph_profile(sqlite_store, graph)
    user_mailbox(sqlite_store, profile.id, email="bob@example.com", allow_credentials=False)
    (check,) = test_connection(sqlite_store, profile.id)
    assert check.result is not None and check.result.ok, check
    assert "Read the Inbox of bob@example.com through Microsoft Graph" in check.result.message
    assert "valid until" in check.result.token and "Mail.ReadWrite" in check.result.token
    assert check.endpoint.label.startswith("Microsoft Graph 127.0.0.1:")
    assert graph.server.paths(GRAPH_CLIENT_ID)[0] == "/v1.0/users/bob@example.com/mailFolders/inbox"
    assert GRAPH_SECRET not in _text([check]) and "eyJ" not in _text([check])


def test_a_mailbox_outside_the_apps_scope_is_explained(sqlite_store, graph):
    graph.server.restrict(GRAPH_CLIENT_ID, [])
    profile = graph_profile(sqlite_store, graph)
    user_mailbox(sqlite_store, profile.id, allow_credentials=False)
    (check,) = test_connection(sqlite_store, profile.id)
    assert not check.result.ok and "Application Access Policy" in check.result.message
    assert "Mail.Send" in check.result.token  # what the token allows, even when the mailbox is refused


def test_without_a_mailbox_the_token_step_alone(sqlite_store, graph):
    profile = graph_profile(sqlite_store, graph)
    (check,) = test_connection(sqlite_store, profile.id)
    assert check.result is None and check.note.startswith("✓ Token issued to the app")
    assert "No mailbox uses this profile yet" in check.note and "Tasks.ReadWrite.All" in check.note
    assert graph.server.requests == []


def test_an_impostor_certificate_can_be_fetched_and_pinned(sqlite_store, graph):
    from mailbox_tui.mailtest.connection import certificate_of
    from mailbox_tui.store import services

    profile = graph_profile(sqlite_store, graph, location=graph.impostor.base_url)
    user_mailbox(sqlite_store, profile.id, allow_credentials=False)
    (check,) = test_connection(sqlite_store, profile.id)
    assert check.untrusted_certificate and graph.impostor.requests == []
    fetched = certificate_of(check.endpoint)
    assert fetched.ok and fetched.certificate.sha256 == graph.impostor.certificate.sha256
    services.update_profile(sqlite_store, profile, profile.copy(incoming_cert_sha256=fetched.certificate.sha256))
    (check,) = test_connection(sqlite_store, profile.id)
    assert check.result.ok, check.result.message  # pinned: trusted by its exact fingerprint
