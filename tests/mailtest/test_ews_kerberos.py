"""Windows Integrated Authentication (3) to Exchange Server through EWS (issue 23): Negotiate with a real Kerberos
ticket from a real MIT KDC on loopback (support/kerberos.py), accepted by the test EWS server with the service's
keytab (support/ews_server.py). No mock: kinit, the KDC's TGS exchange, GSSAPI on both sides and MIT's replay cache
are the real ones. Skipped only where the KDC or gssapi is missing on a developer's machine; CI runs them."""

from __future__ import annotations

import base64
import http.client
import json
import ssl
import time

import pytest
from mail_builders import user_mailbox
from support.ews import ews_profile
from support.kerberos import (NO_ROLE, NO_ROLE_PASSWORD, PASSWORDS, REALM, SERVICE, SERVICE_HOST, SPN, STRANGER,
                              STRANGER_PASSWORD)

from mailbox_tui.domain.options import AuthMethod, TestStatus
from mailbox_tui.mailtest.plan import evaluate
from mailbox_tui.mailtest.runner import run_tests
from mailbox_tui.store import services

S, F = TestStatus.SUCCESS, TestStatus.FAILURE
ALICE = "alice@contoso.com"
NOTHING_SENT = "Nothing was sent."


def profile(store, ews, location=None):
    return ews_profile(store, ews, name="Exchange (Kerberos)", auth_method=AuthMethod.WINDOWS_INTEGRATED,
                       location=ews.kerberos_url if location is None else location)


def mailbox(store, profile, email=ALICE):
    return user_mailbox(store, profile.id, email=email, act=1, allow_credentials=False)


def statuses(outcome):
    return tuple(outcome.checks[d].status for d in ("incoming", "outgoing", "act"))


def no_leak(outcome):
    text = json.dumps(outcome.as_dict())
    for secret in PASSWORDS:
        assert secret not in text
    assert "Negotiate Y" not in text and "Traceback" not in text


def refused_before_sending(outcome, ews, start: str):
    assert statuses(outcome) == (F, F, F), outcome.as_dict()
    for direction in ("incoming", "outgoing", "act"):
        check = outcome.checks[direction]
        assert check.step == "authentication"
        assert check.message.startswith(start), check.message
        assert check.message.endswith(NOTHING_SENT)
    assert ews.server.requests == []  # no request without a token, and no token
    no_leak(outcome)
    return outcome.checks["incoming"].message


# ---------------------------------------------------------------- with a ticket


def test_a_service_accounts_ticket_gets_success_in_all_three_through_the_runner(sqlite_store, ews, kerberos):
    kerberos.kinit()
    box = mailbox(sqlite_store, profile(sqlite_store, ews))
    report = run_tests(sqlite_store, [box.id])
    assert report.successes == 1 and report.failures == 0
    d = services.get_mailbox(sqlite_store, box.id)
    assert (d.incoming_status, d.outgoing_status, d.act_status) == (S, S, S)
    answered = [r for r in ews.server.requests if r.status == 200]
    assert {r.folders for r in answered} == {("inbox",), ("sentitems", "drafts"), ("calendar", "contacts", "tasks")}
    assert all(r.user == SERVICE and r.impersonated == ALICE for r in answered)  # the principal, mapped
    assert all(r.scheme == "Negotiate" and r.host.startswith(f"{SERVICE_HOST}:") for r in answered)
    assert refusals(ews) == []
    assert f"{SPN}@{REALM}" in kerberos.klist()  # a service ticket the KDC issued is in this test's cache


@pytest.mark.parametrize("how", ["password", "keytab"])
def test_the_result_says_who_signed_in_and_that_nothing_was_sent(sqlite_store, ews, kerberos, how):
    kerberos.kinit() if how == "password" else kerberos.kinit_keytab()
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile(sqlite_store, ews)).id)
    assert statuses(outcome) == (S, S, S), outcome.as_dict()
    incoming = outcome.checks["incoming"].message
    assert "Read the Inbox of alice@contoso.com through EWS" in incoming
    assert "this machine's Kerberos identity impersonating the mailbox (ExchangeImpersonation)" in incoming
    assert "No mail was sent" in outcome.checks["outgoing"].message
    no_leak(outcome)


def test_a_principal_without_the_impersonation_role_is_refused_by_exchange(sqlite_store, ews, kerberos):
    kerberos.kinit(NO_ROLE, NO_ROLE_PASSWORD)
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile(sqlite_store, ews)).id)
    assert statuses(outcome) == (F, F, F)
    message = outcome.checks["incoming"].message
    assert message.startswith("this machine's Kerberos identity may not act for alice@contoso.com "
                              "(ErrorImpersonateUserDenied"), message
    assert "ApplicationImpersonation" in message
    assert {r.user for r in ews.server.requests if r.status} == {NO_ROLE}  # signed in, then refused the mailbox
    no_leak(outcome)


# ---------------------------------------------------------------- without a usable ticket: nothing sent


def test_no_ticket_says_so_plainly_names_the_spn_and_sends_nothing(sqlite_store, ews, kerberos):
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile(sqlite_store, ews)).id)
    message = refused_before_sending(outcome, ews, "Windows Integrated Authentication signs in with this "
                                     f"machine's Kerberos ticket, and there is none for {SPN} here (")
    assert "No Kerberos credentials available" in message
    assert "(kinit, then klist shows it)" in message


def test_an_expired_ticket_is_a_clear_failure(sqlite_store, ews, kerberos):
    kerberos.kinit(lifetime="1s")
    time.sleep(2.5)
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile(sqlite_store, ews)).id)
    message = refused_before_sending(outcome, ews, "The Kerberos ticket here has expired, so none for "
                                     f"{SPN} could be had (")
    assert "get a new one for the service account (kinit;" in message


def test_a_ticket_of_a_realm_without_trust_is_a_clear_failure(sqlite_store, ews, kerberos):
    kerberos.kinit(STRANGER, STRANGER_PASSWORD)
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile(sqlite_store, ews)).id)
    message = refused_before_sending(outcome, ews, "The Kerberos ticket here is of another realm, one "
                                     f"that {SPN}'s realm does not trust (")
    assert f"krbtgt/{REALM}@ELSEWHERE.TEST" in message and "kinit as an account of the Exchange server's" in message


def test_a_host_name_without_a_service_principal_is_a_clear_failure(sqlite_store, ews, kerberos):
    kerberos.kinit()  # a good ticket, but the profile names the server by its address: HTTP/127.0.0.1 is unknown
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile(sqlite_store, ews, location=ews.url)).id)
    message = refused_before_sending(outcome, ews, "The Kerberos realm has no service principal HTTP/127.0.0.1 (")
    assert "setspn -S HTTP/127.0.0.1 <account>" in message


def test_no_kdc_answering_is_a_clear_failure(sqlite_store, ews, kerberos):
    kerberos.kinit()
    with socket_closed() as port:
        text = kerberos.kdc.config.read_text().replace(f"127.0.0.1:{kerberos.kdc.port}", f"127.0.0.1:{port}")
        kerberos.use_config(text)
        outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile(sqlite_store, ews)).id)
    message = refused_before_sending(outcome, ews, f"No Kerberos KDC answered for a ticket to {SPN} (")
    assert "Cannot contact any KDC" in message


def test_a_server_whose_keytab_lacks_the_spn_refuses_the_ticket(sqlite_store, ews, kerberos):
    kerberos.kinit()
    kerberos.use_keytab(kerberos.kdc.other_keytab)  # the SPN's key is not the server's (setspn on another account)
    outcome = evaluate(sqlite_store, mailbox(sqlite_store, profile(sqlite_store, ews)).id)
    assert statuses(outcome) == (F, F, F)
    check = outcome.checks["incoming"]
    assert check.step == "authentication"
    assert check.message.startswith(f"Exchange at {SERVICE_HOST}:{ews.server.port} refused this machine's Kerberos "
                                    "ticket (HTTP 401)"), check.message
    assert refusals(ews) and all(SPN in r for r in refusals(ews))  # MIT: no key for HTTP/localhost@MAILBOX.TEST
    assert all(r.status == 401 and r.user is None for r in ews.server.requests)
    no_leak(outcome)


# ---------------------------------------------------------------- the test server's acceptor


def test_the_server_asks_for_negotiate_accepts_a_ticket_once_and_answers_mutually(ews, kerberos):
    import spnego

    kerberos.kinit()
    status, headers = post(ews, None)
    assert status == 401 and "Negotiate" in headers.get_all("WWW-Authenticate")

    client = spnego.client(hostname=SERVICE_HOST, service="HTTP", protocol="kerberos")
    token = client.step()
    status, headers = post(ews, token)
    assert status == 200
    (mutual,) = [v for v in headers.get_all("WWW-Authenticate") if v.startswith("Negotiate ")]
    client.step(base64.b64decode(mutual.split(" ", 1)[1]))  # the AP-REP: the server proved it holds the key
    assert client.complete

    status, _ = post(ews, token)  # the same token again, on a new connection
    assert status == 401
    assert "Request is a replay" in refusals(ews)[-1]

    garbled = bytearray(spnego.client(hostname=SERVICE_HOST, service="HTTP", protocol="kerberos").step())
    garbled[-12] ^= 0xFF
    status, _ = post(ews, bytes(garbled))
    assert status == 401
    assert len(refusals(ews)) == 2 and "Request is a replay" not in refusals(ews)[-1]
    assert [r.user for r in ews.server.requests] == [None, SERVICE, None, None]
    assert ews.server.requests[0].code is None  # no token at all: a plain challenge


# ---------------------------------------------------------------- helpers


def refusals(ews) -> list[str]:
    """MIT's reason for each Kerberos token the EWS server refused, in order."""
    return [r.code for r in ews.server.requests if r.status == 401 and (r.code or "").startswith("Kerberos: ")]


def post(ews, token: bytes | None):
    """One GetFolder on a new TLS connection to the EWS server, by the SPN's host name."""
    from mailbox_tui.mailtest.probes.ews_xml import get_folder

    conn = http.client.HTTPSConnection(SERVICE_HOST, ews.server.port, timeout=10,
                                       context=ssl.create_default_context())
    headers = {"Content-Type": "text/xml; charset=utf-8"}
    if token is not None:
        headers["Authorization"] = f"Negotiate {base64.b64encode(token).decode()}"
    try:
        conn.request("POST", "/EWS/Exchange.asmx", body=get_folder(("inbox",), ALICE, True), headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status, response.headers
    finally:
        conn.close()


class socket_closed:
    """A loopback port nothing listens on (bound, not listening: connections are refused)."""

    def __enter__(self) -> int:
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        return self.sock.getsockname()[1]

    def __exit__(self, *exc) -> None:
        self.sock.close()
