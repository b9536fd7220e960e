"""Autodiscover v2 (JSON) before POX (issue 23 item 2), against the test EWS server: the anonymous
GET /autodiscover/autodiscover.json/v1.0/<address>?Protocol=EWS, and each hostile answer a one-sentence reason with
POX asked next. The candidates are pointed at 127.0.0.1, the only host a test server can be; the answer parser
gets hypothesis tests."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.ews import SECRETS, ews_profile
from test_ews_test_enable import mailbox, statuses

from mailbox_tui.domain.options import TestStatus
from mailbox_tui.mailtest.plan import evaluate
from mailbox_tui.mailtest.probes import ews_autodiscover
from mailbox_tui.mailtest.probes.ews_autodiscover import JSON_MAX, autodiscover_json_answer, in_domain
from mailbox_tui.mailtest.probes.ews_xml import NotEws

S, F = TestStatus.SUCCESS, TestStatus.FAILURE
JSON = {"Content-Type": "application/json; charset=utf-8"}


@pytest.fixture
def at_test_server(monkeypatch, ews):
    """Autodiscover's one candidate: the test EWS server."""
    monkeypatch.setattr(ews_autodiscover, "autodiscover_bases", lambda domain: [f"https://127.0.0.1:{ews.server.port}"])


def _run(sqlite_store, ews, **box):
    profile = ews_profile(sqlite_store, ews, location="", auto_discover=True)
    return evaluate(sqlite_store, mailbox(sqlite_store, profile, **box).id)


def _v2(ews):
    return [r for r in ews.server.requests if r.operation == "AutodiscoverV2"]


def _pox(ews):
    return [r for r in ews.server.requests if r.operation == "Autodiscover"]


def test_v2_finds_the_ews_url_anonymously_and_pox_is_not_asked(sqlite_store, ews, at_test_server):
    outcome = _run(sqlite_store, ews)
    assert statuses(outcome) == (S, S, S), outcome.as_dict()
    assert (f"EWS URL found by Auto Discover: https://127.0.0.1:{ews.server.port}/EWS/Exchange.asmx (Autodiscover "
            "v2).") in outcome.checks["incoming"].message
    asked = _v2(ews)
    assert len(asked) == 3 and {r.status for r in asked} == {200}
    assert all(r.scheme == "" and r.path == "/autodiscover/autodiscover.json/v1.0/alice@contoso.com" for r in asked)
    assert _pox(ews) == []  # no credentials went to Autodiscover at all
    assert not any(s in json.dumps(outcome.as_dict()) for s in SECRETS)


@pytest.mark.parametrize("answer, reason", [
    ((200, JSON, b'{"Protocol":"EWS","Url":"http://127.0.0.1/EWS/Exchange.asmx"}'),
     "named an EWS URL that is not https (not used: credentials go only over https)"),
    ((200, JSON, b'{"Protocol":"EWS","Url":"https://ews.fabrikam.example/EWS/Exchange.asmx"}'),
     "named an EWS URL on another domain (ews.fabrikam.example), not used: only POX Autodiscover, signed in, may "
     "send the credentials elsewhere"),
    ((302, {"Location": "https://autodiscover.fabrikam.example/autodiscover/autodiscover.json"}, b""),
     "redirected to autodiscover.fabrikam.example (HTTP 302, not followed)"),
    ((200, {"Content-Type": "text/html"}, b"<html><body>Sign in to Outlook on the web</body></html>"),
     "the answer is not JSON"),
    ((200, JSON, b'{"Protocol":"EWS","Url":"https://127.0.0.1/EWS/Exchange.asmx' + b" " * (JSON_MAX + 10) + b'"}'),
     "answered more than 16 KiB (a v2 answer is a few hundred bytes), not read"),
    ((400, JSON, b'{"ErrorCode":"InvalidProtocol","ErrorMessage":"The given protocol value is invalid."}'),
     "HTTP 400"),
    ((200, JSON, b'{"Protocol":"Rest","Url":"https://127.0.0.1/api"}'), "the answer names no EWS protocol"),
])
def test_a_hostile_or_useless_v2_answer_falls_back_to_pox(sqlite_store, ews, at_test_server, answer, reason):
    ews.server.v2_answer = answer
    outcome = _run(sqlite_store, ews, act=2, outgoing=0)
    check = outcome.checks["incoming"]
    assert check.status == S, outcome.as_dict()
    assert f"(POX Autodiscover, after 127.0.0.1:{ews.server.port} (v2): {reason})." in check.message
    assert _pox(ews) and all(r.path == "/EWS/Exchange.asmx" for r in ews.server.requests
                             if r.operation == "GetFolder")
    assert not any(r.host.startswith(("ews.fabrikam", "autodiscover.fabrikam")) for r in ews.server.requests)


def test_an_oversized_v2_answer_costs_at_most_its_bound(sqlite_store, ews, at_test_server):
    ews.server.v2_answer = (200, JSON, b"[" * 200_000)
    outcome = _run(sqlite_store, ews, act=2, outgoing=0)
    assert outcome.checks["incoming"].status == S, outcome.as_dict()  # the 256 KiB of the probe were not spent
    assert "answered more than 16 KiB" in outcome.checks["incoming"].message


def test_a_hanging_v2_answer_is_bounded_by_the_profiles_timeout(sqlite_store, ews, at_test_server):
    import time

    ews.server.set_mode("hang")
    started = time.monotonic()
    outcome = _run(sqlite_store, ews, act=2, outgoing=0)
    assert time.monotonic() - started < 5 + 3  # the profile's timeout is 5 s
    check = outcome.checks["incoming"]
    assert check.status == F and "5" in check.message and "Timed out" in check.message


# ---------------------------------------------------------------- the answer parser


def test_the_parser_takes_the_documented_answer():
    assert autodiscover_json_answer(b'{"Protocol":"EWS","Url":"https://mail.contoso.com/EWS/Exchange.asmx"}') == \
        "https://mail.contoso.com/EWS/Exchange.asmx"
    assert autodiscover_json_answer(b'{"Protocol":"Ews","Url":" https://m.contoso.com/ews/exchange.asmx "}') == \
        "https://m.contoso.com/ews/exchange.asmx"


@pytest.mark.parametrize("data, reason", [
    (b"", "the answer is not JSON"), (b"\xff\xfe", "the answer is not JSON"), (b"[1]", "JSON but not an object"),
    (b'{"ErrorCode":"InvalidUser","ErrorMessage":"x"}', "answered an error (InvalidUser)"),
    (b'{"ErrorCode":{"a":1}}', "answered an error (no code)"), (b'{"Url":"https://x"}', "names no EWS protocol"),
    (b'{"Protocol":"EWS","Url":7}', "names no Url"), (b"[" * 100_000, "the answer is not JSON"),
    (b'{"ErrorCode":"\\u001b[31mred"}', "answered an error ("),
])
def test_the_parser_names_what_is_wrong(data, reason):
    with pytest.raises(NotEws) as caught:
        autodiscover_json_answer(data)
    assert reason in str(caught.value)
    assert "\x1b" not in str(caught.value)


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
                     max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_give_a_url_or_notews(data):
    try:
        url = autodiscover_json_answer(data)
    except NotEws as exc:
        assert "\x1b" not in str(exc) and len(str(exc)) < 200
    else:
        assert isinstance(url, str) and url == url.strip() and url


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["Protocol", "Url", "ErrorCode", "ErrorMessage", "Other"]), _json, max_size=5))
def test_any_json_object_gives_the_ews_url_only_when_it_names_one(value):
    data = json.dumps(value).encode()
    try:
        url = autodiscover_json_answer(data)
    except NotEws:
        assert ("ErrorCode" in value or not isinstance(value.get("Protocol"), str)
                or value["Protocol"].lower() != "ews" or not isinstance(value.get("Url"), str)
                or not value["Url"].strip())
    else:
        assert "ErrorCode" not in value and value["Protocol"].lower() == "ews" and url == value["Url"].strip()


@given(st.from_regex(r"[a-z0-9-]{1,12}(\.[a-z0-9-]{1,12}){0,3}", fullmatch=True),
       st.from_regex(r"[a-z0-9-]{1,12}\.[a-z]{2,6}", fullmatch=True))
def test_in_domain_is_the_domain_or_below_it(host, domain):
    assert in_domain(f"{host}.{domain}", domain) and in_domain(domain, domain)
    if not host.endswith(domain):
        assert not in_domain(f"{host}{domain}", domain)  # evilcontoso.com is not contoso.com
    assert not in_domain(f"{domain}.{host}.invalid", domain)  # contoso.com.attacker.invalid neither


def test_an_impostor_certificate_on_a_v2_candidate_moves_on_and_sends_it_nothing(sqlite_store, ews, monkeypatch):
    bases = [f"https://127.0.0.1:{ews.impostor.port}", f"https://127.0.0.1:{ews.server.port}"]
    monkeypatch.setattr(ews_autodiscover, "autodiscover_bases", lambda domain: bases)
    outcome = _run(sqlite_store, ews, act=2, outgoing=0)
    check = outcome.checks["incoming"]
    assert check.status == S, outcome.as_dict()
    assert check.message.endswith("(Autodiscover v2).")
    assert ews.impostor.requests == []  # the TLS handshake failed: no request reached it
