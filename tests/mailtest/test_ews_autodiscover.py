"""EWS with Auto Discover (P8) and with Windows Integrated Authentication (issue 23), against the test EWS
server. Autodiscover's candidate URLs are Microsoft's (autodiscover.<domain>, then <domain>); the tests point them
at 127.0.0.1, the only host a test server can be."""

from __future__ import annotations

import json

import pytest
from support.ews import SECRETS, ews_profile
from test_ews_test_enable import mailbox, statuses

from mailbox_tui.domain.options import AuthMethod, TestStatus
from mailbox_tui.mailtest.plan import evaluate
from mailbox_tui.mailtest.probes import ews_autodiscover

S, F = TestStatus.SUCCESS, TestStatus.FAILURE


def test_autodiscover_asks_microsofts_two_candidates_in_order_v2_then_pox():
    assert ews_autodiscover.autodiscover_urls("contoso.com") == [
        "https://autodiscover.contoso.com/autodiscover/autodiscover.xml",
        "https://contoso.com/autodiscover/autodiscover.xml"]
    assert ews_autodiscover.autodiscover_json_url("https://autodiscover.contoso.com", "alice@contoso.com") == \
        "https://autodiscover.contoso.com/autodiscover/autodiscover.json/v1.0/alice@contoso.com?Protocol=EWS"


@pytest.fixture
def discover_at(monkeypatch):
    """Point Autodiscover's candidates (base URLs, formatted with the domain) at these."""
    def point(*bases):
        monkeypatch.setattr(ews_autodiscover, "autodiscover_bases",
                            lambda domain: [u.format(domain=domain) for u in bases])
    return point


def _auto_profile(sqlite_store, ews, **changes):
    return ews_profile(sqlite_store, ews, location="", auto_discover=True, **changes)


def test_auto_discover_finds_the_ews_url_and_every_status_is_success(sqlite_store, ews, discover_at):
    ews.server.autodiscover_v2 = False  # an older server: Autodiscover v2 is 404, POX answers
    discover_at("https://127.0.0.1:1",  # nothing listens: the next one is tried
                f"https://127.0.0.1:{ews.server.port}")
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, _auto_profile(sqlite_store, ews)).id)
    assert statuses(outcome) == (S, S, S), outcome.as_dict()
    assert (f"EWS URL found by Auto Discover: https://127.0.0.1:{ews.server.port}/EWS/Exchange.asmx (POX Autodiscover, "
            f"after 127.0.0.1:1 (v2): connection refused; 127.0.0.1:{ews.server.port} (v2): HTTP 404; 127.0.0.1:1 "
            "(POX): connection refused)."
            ) in outcome.checks["incoming"].message
    paths = [r.path for r in ews.server.requests if r.status == 200]
    assert paths.count("/autodiscover/autodiscover.xml") == 3 and paths.count("/EWS/Exchange.asmx") == 3
    assert not any(s in json.dumps(outcome.as_dict()) for s in SECRETS)


def test_auto_discover_for_an_unknown_address_says_so(sqlite_store, ews, discover_at):
    ews.server.autodiscover_v2 = False
    discover_at(f"https://127.0.0.1:{ews.server.port}")
    profile = _auto_profile(sqlite_store, ews)
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile, email="nobody@contoso.com").id)
    assert statuses(outcome) == (F, F, F)
    assert ("has no settings for nobody@contoso.com (500 The email address can't be found.): check the mailbox's "
            "email address") in outcome.checks["incoming"].message


def test_auto_discover_follows_redirect_addr(sqlite_store, ews, discover_at):
    ews.server.autodiscover_redirects["old.alice@contoso.com"] = "alice@contoso.com"
    ews.server.autodiscover_v2 = False
    discover_at(f"https://127.0.0.1:{ews.server.port}")
    profile = _auto_profile(sqlite_store, ews)
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile, email="old.alice@contoso.com", act=2,
                                             outgoing=0).id)
    # Autodiscover led to the EWS URL; the EWS server itself knows no old.alice mailbox
    assert "ErrorNonExistentMailbox" in outcome.checks["incoming"].message


def test_auto_discover_with_nothing_answering_names_every_candidate(sqlite_store, ews, discover_at):
    discover_at("https://127.0.0.1:1", "http://{domain}")
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, _auto_profile(sqlite_store, ews), act=2, outgoing=0).id)
    message = outcome.checks["incoming"].message
    assert message.startswith("Auto Discover found no EWS URL for alice@contoso.com: 127.0.0.1:1 (v2): connection "
                              "refused; http://contoso.com (v2): not an https URL; 127.0.0.1:1 (POX): connection "
                              "refused; http://contoso.com/autodiscover/autodiscover.xml (POX): not an https URL.")
    assert "set the profile's EWS URL" in message


def test_auto_discover_never_sends_credentials_to_an_http_ews_url(sqlite_store, ews, discover_at):
    ews.server.ews_url_override = f"http://127.0.0.1:{ews.server.port}/EWS/Exchange.asmx"
    ews.server.autodiscover_v2 = False
    discover_at(f"https://127.0.0.1:{ews.server.port}")
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, _auto_profile(sqlite_store, ews), act=2, outgoing=0).id)
    assert "named no https EWS URL for alice@contoso.com" in outcome.checks["incoming"].message
    assert all(r.path != "/EWS/Exchange.asmx" for r in ews.server.requests)


# ---------------------------------------------------------------- Windows Integrated Authentication


def test_windows_integrated_without_a_kerberos_ticket_says_so_and_sends_nothing(sqlite_store, ews):
    profile = ews_profile(sqlite_store, ews, auth_method=AuthMethod.WINDOWS_INTEGRATED)
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile).id)
    assert statuses(outcome) == (F, F, F)
    check = outcome.checks["incoming"]
    assert check.step == "authentication"
    assert check.message.startswith("Windows Integrated Authentication signs in with this machine's Kerberos "
                                    "ticket, and there is none for HTTP/127.0.0.1 here (")
    assert "kinit, then klist shows it" in check.message and check.message.endswith("Nothing was sent.")
    assert ews.server.requests == []
