"""Failures as plain English: what happened at which step, and the fix. Each sentence is made with
i18n.say(): stored and printed as JSON in English, shown in the admin's language (the server's answer
and the names it holds are values, never translated)."""

from __future__ import annotations

import imaplib
import poplib
import smtplib
import socket
import ssl
from typing import Protocol

from ...domain.options import TlsMode
from ...i18n import N_, say, say_n
from ...domain.text import has_control_chars
from ..limits import READ_LIMIT, Budget
from .results import (
    ANSWER_MAX,
    AUTHENTICATION,
    CONNECT,
    GREETING,
    IMAP,
    POP3,
    PROTOCOL_LABELS,
    SECURITY_LABELS,
    SMTP,
    TLS,
    Credentials,
    Endpoint,
)


class AttemptFacts(Protocol):
    """What explaining a failure reads of a probe's attempt (attempt.Attempt, which calls explain())."""

    ep: Endpoint
    creds: Credentials | None
    budget: Budget
    step: str
    step_started_at: int  # bytes read when the step began

    def shown(self, answer) -> str: ...


_NAMED = {"\r": "a carriage return (CR)", "\n": "a line feed (LF)", "\0": "a NUL character",
          "\t": "a tab", "\x01": "a ^A (SASL field separator)", "\x1b": "an escape (ESC)"}


def control_characters(value: str) -> list[str]:
    """The control characters (C0, DEL, C1: rule M20) in `value`, named in order of first appearance; the
    value itself is never part of the names."""
    found: dict[str, None] = {}
    for char in value:
        if has_control_chars(char):
            found.setdefault(_NAMED.get(char, f"a control character (U+{ord(char):04X})"), None)
    return list(found)


def unsendable_reason(creds: Credentials) -> str:
    """Why these credentials must not be sent, or "": a control character would end the command early (CR,
    LF, NUL), add SASL fields (^A) or reach a terminal that echoes it (rule M20)."""
    for name, value in ((N_("user name"), creds.username), (N_("password"), creds.password)):
        found = control_characters(value)
        if found:
            return say("The {what} contains {chars}: sent to the server it would become a command or field of its "
                       "own. Nothing was sent. Re-enter the {what} (rule M20).", what=name, chars=" and ".join(found))
    return ""


class Stopped(Exception):
    """A step ended with an answer we understood; carries the message and the server's words."""

    def __init__(self, message: str, answer: str = ""):
        super().__init__(message)
        self.message = message
        self.answer = answer


class Deferred(Stopped):
    """The server asked to come back later (throttling) and the probe's time did not allow it: the result
    is Not Run, not a Failure of the configuration."""


def raw_answer(value) -> str:
    """A server answer as text, whole: bytes decoded, lists joined. Redact it before `short_answer`."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return " ".join(t for t in (raw_answer(v) for v in value) if t)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value)


def short_answer(text: str) -> str:
    """An answer for showing: white space collapsed, cut at ANSWER_MAX. Only ever after redaction:
    collapsing or cutting first would leave a password with two spaces, or half of one, unrecognised."""
    text = " ".join(text.split())
    return text if len(text) <= ANSWER_MAX else text[:ANSWER_MAX] + "…"


def exc_answer(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {raw_answer(exc.smtp_error)}"
    if exc.args:
        return raw_answer(exc.args[0])
    return ""


def _in_chain(exc: BaseException, kinds) -> BaseException | None:
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, kinds):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def _tls_advice(ep: Endpoint) -> str:
    if ep.tls == TlsMode.IMPLICIT:
        return say("Is {port} a plain (non-TLS) port? Set SSL to STARTTLS or None for this port, or use the "
                   "server's SSL/TLS port.", port=ep.port)
    return say("Check the port and the SSL/STARTTLS setting.")


def explain(exc: BaseException, a: AttemptFacts) -> tuple[str, str]:
    """(message, server answer) for a probe that stopped at `a.step` with `exc`."""
    ep, step, where = a.ep, a.step, a.ep.address
    if isinstance(exc, Stopped):
        return exc.message, exc.answer
    budget = a.budget
    if budget.aborted:
        return say("Not finished: the run was stopped ({reason}) during {step} with {where}.",
                   reason=budget.aborted, step=step, where=where), ""
    if budget.overflowed:
        return say("The server at {where} sent more than {size} KiB during {step} without finishing its answer (a "
                   "mail server needs a few KB here), so the test stopped reading. Check that {where} is the mail "
                   "server you mean.", where=where, size=READ_LIMIT // 1024, step=step), ""
    if isinstance(exc, socket.gaierror):
        return say("Host name not found: {host} does not resolve ({error}). Check the server location in the "
                   "profile.", host=repr(ep.host), error=exc.strerror), ""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return say("Certificate not trusted: {where} presented a certificate that failed verification ({error}). "
                   "Install the certificate authority that signed it, or, if you know this server, pin its "
                   "certificate's fingerprint in the profile.", where=where, error=exc.verify_message), ""
    if budget.expired or _in_chain(exc, (TimeoutError, socket.timeout)) is not None:
        return _timed_out(a), ""
    closed = _in_chain(exc, (ssl.SSLEOFError, ssl.SSLZeroReturnError, ConnectionResetError,
                             ConnectionAbortedError, BrokenPipeError, smtplib.SMTPServerDisconnected, EOFError))
    if closed is not None or (isinstance(exc, (imaplib.IMAP4.abort, poplib.error_proto))
                              and "EOF" in exc_answer(exc)):
        if step in (TLS, GREETING):
            return say("The server closed the connection during {step} ({where}). {advice}", step=step, where=where,
                       advice=_tls_advice(ep)), exc_answer(exc)
        return say("The server closed the connection during {step} ({where}).", step=step, where=where), exc_answer(exc)
    if isinstance(exc, ssl.SSLError):
        reason = exc.reason or exc.strerror or str(exc)
        if step == TLS:
            return say("TLS handshake failed with {where} ({error}). {advice}", where=where, error=reason,
                       advice=_tls_advice(ep)), ""
        return say("TLS error during {step} with {where} ({error}).", step=step, where=where, error=reason), ""
    if isinstance(exc, ConnectionRefusedError):
        return say("Connection refused: nothing accepts connections at {where}. Check the port number and that the "
                   "server is running.", where=where), ""
    answer = exc_answer(exc)
    violation = _protocol_violation(exc, a, answer)
    if violation:
        return violation, answer
    if isinstance(exc, OSError) and not isinstance(exc, smtplib.SMTPException):
        reason = exc.strerror or str(exc)
        return say("Could not reach {where} during {step}: {error}. Check the host and the network.", where=where,
                   step=step, error=reason), ""
    protocol_error = (imaplib.IMAP4.error, poplib.error_proto, smtplib.SMTPResponseException)
    if step == AUTHENTICATION and isinstance(exc, protocol_error):
        return login_rejected(a.creds), answer
    return say("Unexpected answer from {where} during {step}: {answer}.", where=where, step=step,
               answer=a.shown(answer) or type(exc).__name__), answer


def _timed_out(a: AttemptFacts) -> str:
    ep, step, where = a.ep, a.step, a.ep.address
    trickle = a.budget.bytes_read - a.step_started_at
    if step == CONNECT:
        what = say("no answer from {where} while connecting", where=where)
    elif step == TLS:
        what = say("the TLS handshake with {where} did not finish", where=where)
    elif trickle > 0:
        what = say_n("{where} kept the {step} going, sending {n} byte without finishing its answer (slower "
                     "than any mail server)", "{where} kept the {step} going, sending {n} bytes without finishing "
                     "its answer (slower than any mail server)", trickle, where=where, step=step)
    elif step == GREETING and ep.tls != TlsMode.IMPLICIT:
        what = say("{where} accepted the connection but sent no greeting (a port that expects SSL/TLS from the "
                   "start waits silently for a plain client)", where=where)
    else:
        what = say("{where} did not answer during {step}", where=where, step=step)
    seconds = f"{ep.timeout:g}"
    return say("Timed out after {seconds} s: {what}. Check the host, the port and the SSL/STARTTLS setting (now "
               "{method}).", seconds=seconds, what=what, method=SECURITY_LABELS.get(ep.tls, str(ep.tls)))


def _protocol_violation(exc: BaseException, a: AttemptFacts, answer: str) -> str:
    """What the server did wrong, when it broke its protocol rather than refused something; else ""."""
    where, step = a.ep.address, a.step
    protocol = PROTOCOL_LABELS.get(a.ep.protocol, a.ep.protocol)
    text, module = {SMTP: ("500 Line too long.", smtplib), POP3: ("line too long", poplib),
                    IMAP: ("got more than", imaplib)}.get(a.ep.protocol, ("", None))
    if module is not None and answer.startswith(text):
        return say("The server at {where} broke the {protocol} protocol during {step}: it sent a line longer than "
                   "{size} bytes. Check that {where} is the {protocol} server you mean.", where=where,
                   protocol=protocol, step=step, size=getattr(module, "_MAXLINE", 0))
    if step != GREETING:
        return ""
    not_speaking = ((isinstance(exc, imaplib.IMAP4.abort) and answer.startswith("unexpected response"))
                    or (isinstance(exc, poplib.error_proto) and not answer.startswith("-ERR")))
    if not_speaking:
        return say("The server at {where} does not speak {protocol}: its greeting was {answer}. Check the port "
                   "and the server type of the profile.", where=where, protocol=protocol,
                   answer=repr(a.shown(answer)))
    return ""


def login_rejected(creds: Credentials | None) -> str:
    if creds:
        return say("Login rejected for user {user}: the server refused the user name or password. Check both.",
                   user=repr(creds.username))
    return say("Login rejected: the server refused the user name or password. Check both.")


def method_not_offered(detail: str) -> str:
    """`detail`: a say() sentence of what the server offers (our words around its names)."""
    return say("Login method not offered here: {why} If the server only allows login over TLS, set SSL to "
               "SSL/TLS or STARTTLS.", why=detail)


def no_starttls(ep: Endpoint) -> str:
    return say("STARTTLS is not offered on {where}. Use the server's SSL/TLS port with SSL/TLS, or check the "
               "port.", where=ep.address)
