"""Exchange locations (issue 23): rule P16 (EWS in Exchange Online is retired), Graph or EWS by location, and
the Graph scope a saved Exchange Online profile gets."""

from __future__ import annotations

import pytest
from domain_builders import valid_profile

from mailbox_tui.domain.exchange import GRAPH_SCOPE, graph_base, graph_scope, is_ews_url, uses_graph
from mailbox_tui.domain.oauth import MICROSOFT_SCOPE
from mailbox_tui.domain.options import ServerType
from mailbox_tui.domain.profile_rules import check_profile, normalise_profile

EWS = "https://outlook.office365.com/EWS/Exchange.asmx"


def p16(findings):
    return [(f.field, f.severity) for f in findings if f.rule == "P16"]


def test_p16_warns_on_an_ews_url_in_exchange_online_with_the_dates_and_the_fix():
    findings = check_profile(valid_profile(ServerType.EXCHANGE_ONLINE_HYBRID, incoming_location=EWS))
    assert p16(findings) == [("incoming_location", "warning")]
    (finding,) = [f for f in findings if f.rule == "P16"]
    assert "1 October 2026" in finding.message and "1 April 2027" in finding.message
    assert "Set it to https://graph.microsoft.com" in finding.message


def test_p16_is_quiet_for_graph_and_for_exchange_server():
    assert p16(check_profile(valid_profile(ServerType.EXCHANGE_ONLINE_HYBRID))) == []
    assert p16(check_profile(valid_profile(ServerType.EXCHANGE, incoming_location=EWS, outgoing_location=EWS))) == []


def test_p16_names_each_location_that_is_ews():
    d = valid_profile(ServerType.EXCHANGE_ONLINE_HYBRID, incoming_location=EWS, outgoing_location=EWS.lower())
    assert p16(check_profile(d)) == [("incoming_location", "warning"), ("outgoing_location", "warning")]


@pytest.mark.parametrize("location, ews", [
    (EWS, True), ("https://mail.example.com/ews/exchange.asmx", True), ("https://mail.example.com/EWS/", True),
    ("https://graph.microsoft.com", False), ("https://graph.microsoft.com/v1.0", False),
    ("https://proxy.example.com/graph", False), ("", False),
])
def test_is_ews_url(location, ews):
    assert is_ews_url(location) is ews
    assert uses_graph(ServerType.EXCHANGE_ONLINE_HYBRID, location) is not ews
    assert uses_graph(ServerType.EXCHANGE, location) is False


@pytest.mark.parametrize("location, scope", [
    ("https://graph.microsoft.com", GRAPH_SCOPE), ("https://graph.microsoft.com/v1.0/", GRAPH_SCOPE),
    ("https://graph.microsoft.us", "https://graph.microsoft.us/.default"),
    ("https://microsoftgraph.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn/.default"),
    ("https://127.0.0.1:8443", GRAPH_SCOPE), ("", GRAPH_SCOPE),
])
def test_graph_scope_follows_the_cloud(location, scope):
    assert graph_scope(location) == scope


def test_graph_base_drops_the_version():
    assert graph_base("https://graph.microsoft.com/v1.0/") == "https://graph.microsoft.com"
    assert graph_base("") == "https://graph.microsoft.com"


def test_saving_exchange_online_on_graph_fills_in_the_graph_scope():
    saved = normalise_profile(valid_profile(ServerType.EXCHANGE_ONLINE_HYBRID, oauth_scope=""))
    assert saved.oauth_scope == GRAPH_SCOPE
    us = normalise_profile(valid_profile(ServerType.EXCHANGE_ONLINE_HYBRID, oauth_scope="",
                                         incoming_location="https://graph.microsoft.us",
                                         outgoing_location="https://graph.microsoft.us"))
    assert us.oauth_scope == "https://graph.microsoft.us/.default"
    ews = normalise_profile(valid_profile(ServerType.EXCHANGE_ONLINE_HYBRID, oauth_scope="", incoming_location=EWS))
    assert ews.oauth_scope == MICROSOFT_SCOPE
    kept = normalise_profile(valid_profile(ServerType.EXCHANGE_ONLINE_HYBRID, oauth_scope="https://x.example/.default"))
    assert kept.oauth_scope == "https://x.example/.default"


def test_the_demo_exchange_online_profile_uses_graph(tmp_path):
    from mailbox_tui.store.database import Store
    from mailbox_tui.store.models import EmailServerProfile
    from mailbox_tui.store.demo import seed_demo

    store = Store(f"sqlite:///{tmp_path / 'demo.db'}")
    try:
        seed_demo(store, users=3)
        profile = EmailServerProfile.get(EmailServerProfile.name == "Exchange Online")
        assert profile.incoming_location == profile.outgoing_location == "https://graph.microsoft.com"
        assert profile.oauth_scope == GRAPH_SCOPE
    finally:
        store.close()
