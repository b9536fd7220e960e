"""Every Test & Enable failure is transient or permanent: the one place that says which (issue 24).

A failure is judged from the step that failed (DNS, connect, TLS, greeting, authentication, mailbox
access, token, a rule or the configuration) and what the server answered (an SMTP reply code, an IMAP
response code such as [UNAVAILABLE], a POP3 one such as [SYS/TEMP], an HTTP status and Graph's error
code, an OAuth error). Where a server says nothing (a refused or timed-out connection, a name that does
not resolve, a certificate that is not trusted) the probe's own sentence names what happened, and its
first words are matched here.

The system we follow retries a transient failure (up to 10 times, 5 minutes apart) and disables the
mailbox's direction at once for a permanent one (domain/lifecycle.py). Each cause also says whether it
is the server's (the profile's: every mailbox on it fails alike) or this mailbox's, and what fixes it.
`CAUSES` is the table; `MATCHES` (in order, first match wins) maps a failure to a cause.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..i18n import N_, say

TRANSIENT, PERMANENT = N_("transient"), N_("permanent")  # English in --json; shown() translates
SERVER, MAILBOX = "server", "mailbox"


@dataclass(frozen=True)
class Cause:
    """One kind of failure. `code` is what the mailbox's Last Sync Error Code (lastsyncerrorcode) holds."""

    code: int
    name: str
    kind: str  # TRANSIENT or PERMANENT
    scope: str  # SERVER (the profile's server) or MAILBOX
    label: str  # a few words: "connection refused"
    fix: str  # what an admin does about it

    @property
    def transient(self) -> bool:
        return self.kind == TRANSIENT

    def as_dict(self) -> dict:
        return {"code": self.code, "cause": self.name, "kind": self.kind, "scope": self.scope, "label": self.label}


_WAIT = N_("Nothing to change: it is retried automatically.")
CAUSES: tuple[Cause, ...] = (
    # ---- transient: the server or the network, for a while
    Cause(101, "dns-temporary", TRANSIENT, SERVER, N_("DNS temporarily failing"), _WAIT),
    Cause(102, "connect-timeout", TRANSIENT, SERVER, N_("connection timed out"), N_("Nothing to change: it is retried "
          "automatically. If it lasts, check the host, the port and the firewall.")),
    Cause(103, "connect-refused", TRANSIENT, SERVER, N_("connection refused"), N_("Nothing to change: it is retried "
          "automatically. If it lasts, check that the server runs and the port is right.")),
    Cause(104, "network-unreachable", TRANSIENT, SERVER, N_("network unreachable"), _WAIT),
    Cause(105, "connection-reset", TRANSIENT, SERVER, N_("connection closed or reset"), _WAIT),
    Cause(106, "timeout", TRANSIENT, SERVER, N_("the server stopped answering"), _WAIT),
    Cause(107, "server-busy", TRANSIENT, SERVER, N_("server busy or temporarily unavailable"), _WAIT),
    Cause(108, "throttled", TRANSIENT, SERVER, N_("throttled (too many requests)"), _WAIT),
    Cause(109, "server-error", TRANSIENT, SERVER, N_("server error (5xx)"), _WAIT),
    Cause(110, "token-unavailable", TRANSIENT, SERVER, N_("token endpoint unreachable or failing"), _WAIT),
    Cause(111, "stopped", TRANSIENT, SERVER, N_("the test was stopped"), _WAIT),
    # ---- permanent: the configuration, the credentials or the mailbox; an admin must act
    Cause(201, "host-not-found", PERMANENT, SERVER, N_("host name not found"),
          N_("Correct the server location in the profile, then run Test & Enable.")),
    Cause(202, "certificate", PERMANENT, SERVER, N_("certificate not trusted or not the pinned one"),
          N_("Trust the server's certificate authority, or pin the server's current certificate in the profile, "
          "then run Test & Enable.")),
    Cause(203, "tls-mismatch", PERMANENT, SERVER, N_("TLS setting does not suit the port"),
          N_("Set the profile's SSL/STARTTLS setting to what the port expects, then run Test & Enable.")),
    Cause(204, "protocol", PERMANENT, SERVER, N_("not the expected mail server"),
          N_("Check the profile's server type, location and port, then run Test & Enable.")),
    Cause(205, "credentials", PERMANENT, MAILBOX, N_("credentials refused"),
          N_("Correct the user name and password (or the profile's credentials), then run Test & Enable.")),
    Cause(206, "login-method", PERMANENT, SERVER, N_("login method not offered"),
          N_("Use a TLS setting or an Authenticate Using method the server offers, then run Test & Enable.")),
    Cause(207, "mailbox-not-found", PERMANENT, MAILBOX, N_("mailbox not found"),
          N_("Correct the mailbox's address or user name (or restore the mailbox), then run Test & Enable.")),
    Cause(208, "access-denied", PERMANENT, MAILBOX, N_("access denied"),
          N_("Grant the missing permission or scope named in the alert, then run Test & Enable.")),
    Cause(209, "token-refused", PERMANENT, SERVER, N_("token request refused"),
          N_("Correct the profile's OAuth settings as the alert says, then run Test & Enable.")),
    Cause(210, "rule", PERMANENT, MAILBOX, N_("a rule stops the test"),
          N_("Correct what the rule names on the mailbox or its profile, then run Test & Enable.")),
    Cause(211, "configuration", PERMANENT, MAILBOX, N_("configuration incomplete"),
          N_("Complete the mailbox or its profile as the alert says, then run Test & Enable.")),
    Cause(212, "refused", PERMANENT, MAILBOX, N_("refused by the server"),
          N_("Correct what the server's answer names, then run Test & Enable.")),
)
CAUSE = {c.name: c for c in CAUSES}
BY_CODE = {c.code: c for c in CAUSES}

DNS, CONNECT, TLS, GREETING, AUTHENTICATION, MAILBOX_ACCESS, TOKEN = (
    N_("DNS"), N_("connect"), N_("TLS"), N_("greeting"), N_("authentication"), N_("mailbox access"), N_("token"))
TRANSPORT = frozenset((DNS, CONNECT, TLS, GREETING))
ANY = None


@dataclass(frozen=True)
class Match:
    """A failure at one of `steps` (ANY: every step) whose answer (or, else, the probe's sentence) matches
    `pattern` (case-insensitive; ANY: whatever it says) is `cause`."""

    cause: str
    steps: frozenset[str] | None
    pattern: str | None
    said_by: str = "answer"  # "answer": the server's answer; "message": the probe's own sentence

    def hits(self, step: str, answer: str, message: str) -> bool:
        if self.steps is not None and step not in self.steps:
            return False
        if self.pattern is None:
            return True
        text = answer if self.said_by == "answer" else message
        return re.search(self.pattern, text, re.IGNORECASE) is not None


def _at(*steps: str) -> frozenset[str]:
    return frozenset(steps)


# In order: the first that hits names the cause.
MATCHES: tuple[Match, ...] = (
    # The server's own words first: reply codes and response codes say temporary or not.
    Match("throttled", ANY, r"^HTTP 429\b|TooManyRequests|ErrorServerBusy|\[LIMIT\]|\[LOGIN-DELAY\]"),
    Match("server-busy", ANY, r"\[UNAVAILABLE\]|\[INUSE\]|\[IN-USE\]|\[SYS/TEMP\]|\[SERVERBUG\]|"
                              r"^4[0-9][0-9][ -]|^HTTP 50[34]\b|server busy|try again later"),
    Match("server-error", ANY, r"^HTTP 5[0-9][0-9]\b"),
    Match("token-unavailable", _at(TOKEN), r"did not answer|closed the connection|refused the connection|"
                                           r"answered HTTP 5|without an OAuth error|stopped", "message"),
    Match("token-refused", _at(TOKEN), ANY),
    Match("mailbox-not-found", ANY, r"\[NONEXISTENT\]|ErrorInvalidUser|MailboxNotEnabledForRESTAPI|"
                                    r"ErrorNonExistentMailbox|^HTTP 404\b|^55[0-9] 5\.1\.1"),
    Match("access-denied", ANY, r"ErrorAccessDenied|ErrorImpersonateUserDenied|\[NOPERM\]|^HTTP 403\b"),
    Match("credentials", ANY, r"\[AUTHENTICATIONFAILED\]|\[AUTH\]|^535\b|^HTTP 401\b|InvalidAuthenticationToken"),
    Match("refused", ANY, r"^5[0-9][0-9][ -]"),  # any other SMTP 5xx: a permanent refusal
    # Where the server said nothing we can read: the probe's sentence names what happened.
    Match("stopped", ANY, r"^Not finished: the run was stopped", "message"),
    Match("dns-temporary", _at(DNS), r"temporar|try again|EAI_AGAIN", "message"),
    Match("host-not-found", _at(DNS), ANY),
    Match("certificate", _at(TLS), r"^Certificate not trusted|not a SHA-256 fingerprint", "message"),
    Match("tls-mismatch", _at(TLS, GREETING), r"^TLS handshake failed|STARTTLS is not offered", "message"),
    Match("connect-refused", ANY, r"^Connection refused", "message"),
    Match("connection-reset", ANY, r"closed the connection|^TLS error during", "message"),
    Match("connect-timeout", _at(CONNECT), r"^Timed out", "message"),
    Match("timeout", ANY, r"^Timed out", "message"),
    Match("network-unreachable", _at(CONNECT), r"^Could not reach", "message"),
    Match("protocol", ANY, r"does not speak|broke the .* protocol|sent more than|did not answer as Microsoft Graph|"
                           r"redirected the request", "message"),
    Match("login-method", _at(AUTHENTICATION), r"^Login method not offered", "message"),
    Match("credentials", _at(AUTHENTICATION), ANY),
    Match("access-denied", _at(MAILBOX_ACCESS), r"permission|may not open|refused", "message"),
    Match("connection-reset", TRANSPORT, ANY),
    Match("refused", ANY, ANY),
)


def classify(step: str, answer: str = "", message: str = "", *, rule: str = "", deferred: bool = False) -> Cause:
    """The cause of a failure at `step` with the server's `answer` and the probe's `message`."""
    if rule or step.startswith("rule "):
        return CAUSE["rule"]
    if step == "configuration":
        return CAUSE["configuration"]
    if deferred:  # the server asked to come back later
        return CAUSE["throttled"]
    answer, message = (answer or "").strip(), (message or "").strip()
    for match in MATCHES:
        if match.hits(step, answer, message):
            return CAUSE[match.cause]
    return CAUSE["refused"]  # unreachable: the last match takes anything


# How an alert says a cause, by (kind, scope): {cause} is the cause's label (our words, translated when shown).
DESCRIPTIONS = {(TRANSIENT, SERVER): N_("Transient failure ({cause}, the server's)."),
                (TRANSIENT, MAILBOX): N_("Transient failure ({cause}, this mailbox's)."),
                (PERMANENT, SERVER): N_("Permanent failure ({cause}, the server's)."),
                (PERMANENT, MAILBOX): N_("Permanent failure ({cause}, this mailbox's).")}


def describe(cause: Cause) -> str:
    """How an alert says it: "Transient failure (connection refused, the server's)." (an i18n.say() sentence)."""
    return say(DESCRIPTIONS[cause.kind, cause.scope], cause=cause.label)
