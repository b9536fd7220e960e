"""Every failure is transient or permanent, judged in one place (domain/failures.py) from the step that
failed and what the server answered. The answers below are the real ones the probes record."""

from __future__ import annotations

import pytest

from mailbox_tui.domain.failures import BY_CODE, CAUSE, CAUSES, MATCHES, PERMANENT, TRANSIENT, classify, describe

CASES = [
    # step, server answer, the probe's sentence, cause
    ("DNS", "", "Host name not found: 'mail.example.invalid' does not resolve (Temporary failure in name resolution). "
     "Check the server location in the profile.", "dns-temporary"),
    ("DNS", "", "Host name not found: 'nx.example.invalid' does not resolve (Name or service not known).",
     "host-not-found"),
    ("connect", "", "Timed out after 5 s: no answer from 10.0.0.1:993 while connecting. Check the host…",
     "connect-timeout"),
    ("connect", "", "Connection refused: nothing accepts connections at 127.0.0.1:993. Check the port…",
     "connect-refused"),
    ("connect", "", "Could not reach 10.0.0.1:993 during connect: Network is unreachable.", "network-unreachable"),
    ("TLS", "", "The server closed the connection during TLS (127.0.0.1:993).", "connection-reset"),
    ("TLS", "", "Certificate not trusted: 127.0.0.1:993 presented a certificate that failed verification "
     "(self-signed certificate).", "certificate"),
    ("TLS", "", "Certificate not trusted: 127.0.0.1:993 presented a certificate whose SHA-256 fingerprint (ab) is "
     "not the one pinned in the profile (cd).", "certificate"),
    ("TLS", "", "TLS handshake failed with 127.0.0.1:143 ([SSL: WRONG_VERSION_NUMBER]). Is 143 a plain port?",
     "tls-mismatch"),
    ("greeting", "421 4.3.2 Service not available", "Unexpected answer from 127.0.0.1:25 during greeting: 421…",
     "server-busy"),
    ("greeting", "* BYE [UNAVAILABLE] Server shutting down", "The server closed the connection during greeting.",
     "server-busy"),
    ("greeting", "", "The server at 127.0.0.1:25 does not speak IMAP: its greeting was '220 smtp'.", "protocol"),
    ("authentication", "[AUTHENTICATIONFAILED] Authentication failed.", "Login rejected for user 'a': …",
     "credentials"),
    ("authentication", "-ERR [AUTH] Authentication failed.", "Login rejected for user 'a': …", "credentials"),
    ("authentication", "535 5.7.8 Authentication credentials invalid", "Login rejected for user 'a': …",
     "credentials"),
    ("authentication", "[UNAVAILABLE] Temporary authentication failure. [host:2026-01-01]",
     "Login rejected for user 'a': …", "server-busy"),
    ("authentication", "454 4.7.0 Temporary authentication failure", "Unexpected answer…", "server-busy"),
    ("authentication", "-ERR [SYS/TEMP] Try again later", "Login rejected…", "server-busy"),
    ("authentication", "-ERR [IN-USE] Mailbox locked", "Login rejected…", "server-busy"),
    ("authentication", "", "Login method not offered here: the server offers no AUTH PLAIN.", "login-method"),
    ("authentication", "", "Timed out after 5 s: 127.0.0.1:993 did not answer during authentication.", "timeout"),
    ("mailbox access", "[NONEXISTENT] Mailbox doesn't exist: INBOX", "Could not open INBOX…", "mailbox-not-found"),
    ("mailbox access", "HTTP 429 TooManyRequests: Application is over its MailboxConcurrency limit.",
     "Microsoft Graph is throttling this app…", "throttled"),
    ("mailbox access", "HTTP 503 ServiceUnavailable: try later", "Microsoft Graph failed…", "server-busy"),
    ("mailbox access", "HTTP 500 InternalServerError: oops", "Microsoft Graph failed…", "server-error"),
    ("mailbox access", "HTTP 403 ErrorAccessDenied: Access is denied. Check credentials and try again.",
     "The app lacks the Microsoft Graph application permission Mail.Read…", "access-denied"),
    ("mailbox access", "HTTP 404 ErrorInvalidUser: The requested user 'x' is invalid.", "x is not a user…",
     "mailbox-not-found"),
    ("mailbox access", "HTTP 404 MailboxNotEnabledForRESTAPI: The mailbox is either inactive…", "The mailbox…",
     "mailbox-not-found"),
    ("authentication", "HTTP 401 InvalidAuthenticationToken: Access token has expired.", "Microsoft Graph refused…",
     "credentials"),
    ("token", 'HTTP 401 {"error": "invalid_client", "error_codes": [7000215]}',
     "The token endpoint refused (invalid_client…). The client secret is wrong…", "token-refused"),
    ("token", 'HTTP 503 {"error": "temporarily_unavailable"}', "The token endpoint refused…", "server-busy"),
    ("token", "", "The token endpoint login.example did not answer within the profile's timeout (5 s): it is "
     "overloaded or unreachable.", "token-unavailable"),
    ("token", "", "The token endpoint login.example refused the connection: nothing listens there.",
     "token-unavailable"),
    ("mailbox access", "", "Not finished: the run was stopped (cancelled) during mailbox access with x:993.",
     "stopped"),
    ("greeting", "554 5.7.1 You are not welcome here", "Unexpected answer from x:25 during greeting: 554…",
     "refused"),
]


@pytest.mark.parametrize(("step", "answer", "message", "expected"), CASES,
                         ids=[f"{c[0]}-{c[3]}-{i}" for i, c in enumerate(CASES)])
def test_a_failure_is_classified_from_its_step_and_the_servers_answer(step, answer, message, expected):
    assert classify(step, answer, message).name == expected


@pytest.mark.parametrize("expected", ["connect-refused", "connect-timeout", "dns-temporary", "throttled",
                                      "server-busy", "server-error", "connection-reset"])
def test_what_the_issue_calls_transient_is_transient(expected):
    assert CAUSE[expected].kind == TRANSIENT


@pytest.mark.parametrize("expected", ["credentials", "mailbox-not-found", "access-denied", "certificate", "rule"])
def test_what_the_issue_calls_permanent_is_permanent(expected):
    assert CAUSE[expected].kind == PERMANENT


def test_a_rule_error_and_an_incomplete_configuration_are_permanent():
    assert classify("rule A2", "", "Email cannot be processed…", rule="A2").name == "rule"
    assert classify("configuration", "", "The mailbox's user name or password is missing.").name == "configuration"


def test_a_deferred_result_is_throttling_whatever_it_says():
    assert classify("mailbox access", "", "Graph asked to wait 120 s", deferred=True).name == "throttled"


def test_the_table_is_whole_codes_are_unique_and_every_match_names_a_cause():
    assert len(BY_CODE) == len(CAUSES) == len(CAUSE)
    assert all(m.cause in CAUSE for m in MATCHES)
    assert all(c.fix and c.label for c in CAUSES)
    assert MATCHES[-1].steps is None and MATCHES[-1].pattern is None  # nothing goes unclassified


def test_the_alert_says_the_kind_the_cause_and_whose_it_is():
    assert describe(CAUSE["connect-refused"]) == "Transient failure (connection refused, the server's)."
    assert describe(CAUSE["credentials"]) == "Permanent failure (credentials refused, this mailbox's)."
