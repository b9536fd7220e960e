"""One probe's attempt: connect, TLS, the protocol's steps within the budget, and a goodbye."""

from __future__ import annotations

import hmac
import imaplib
import poplib
import smtplib
import socket
import ssl
import time
from dataclasses import replace

from ...domain.options import TlsMode
from ...domain.text import is_sha256_pin, normalise_pin
from ...i18n import say
from ..limits import Budget, budget_for
from ..redact import Redactor
from .explain import Deferred, Stopped, explain, raw_answer, short_answer, unsendable_reason
from .sasl import unsendable_user
from .results import (
    TOKEN,
    AUTHENTICATION,
    CONNECT,
    DNS,
    GREETING,
    TLS,
    CertificateInfo,
    Credentials,
    Endpoint,
    ProbeResult,
    certificate_info,
)
from .tls import bad_pin_message, unverified_context, verified_context


class Attempt:
    """The state of one probe: the step reached, what the server said, the TLS facts, its budget."""

    def __init__(self, ep: Endpoint, creds: Credentials | None, budget: Budget, fetch_only: bool = False):
        self.ep = ep
        self.creds = creds
        self.budget = budget
        self.fetch_only = fetch_only
        self.pin = "" if fetch_only else normalise_pin(ep.pin_sha256 or "")
        # Every secret this attempt will carry, known before the first byte is sent (an OAuth request's
        # client secret too: a token endpoint may echo it in a refusal, before any token exists).
        oauth_secrets = creds.oauth[0].secrets if creds is not None and creds.oauth is not None else ()
        self.redact = Redactor([creds.password, *oauth_secrets] if creds else [])
        self.step = DNS
        self.answer = ""  # the server's last answer, whole: redacted, then shortened, in the result
        self.tls_version = ""
        self.certificate: CertificateInfo | None = None
        self.started = time.monotonic()
        self.conn = None  # the protocol object, for a polite goodbye
        self.token_info = ""  # OAuth: what the token step got (never the token)
        self.oauth_method: int | None = None
        self.token_request = None  # OAuth: what the token was asked for (client id, scope), never a secret shown
        self.token_scopes: tuple[str, ...] = ()  # OAuth: the scopes and roles the token carries

    def get_token(self) -> None:
        """OAuth (P14): the token step, within this probe's budget; the credentials then carry the token."""
        from ..oauth import TokenError

        request, cache = self.creds.oauth
        self.oauth_method = request.method
        self.step = TOKEN
        try:
            token = cache.get(request, self.budget)
        except TokenError as exc:
            raise Stopped(exc.message, exc.answer) from None
        self.creds = replace(self.creds, password=token.access_token, bearer=True, oauth=None)
        self.redact = Redactor([token.access_token, *request.secrets])
        self.token_info = token.describe()
        self.token_request, self.token_scopes = request, token.scopes

    @property
    def step(self) -> str:
        return self._step

    @step.setter
    def step(self, step: str) -> None:
        self._step = step
        self.step_started_at = self.budget.bytes_read  # to tell a trickle from silence

    def heard(self, answer) -> None:
        text = raw_answer(answer)
        if text:
            self.answer = text

    def shown(self, answer) -> str:
        """A server's words as they may be shown: redacted, then shortened."""
        return short_answer(self.redact(raw_answer(answer)))

    def connect(self) -> socket.socket:
        self.step = DNS
        infos = socket.getaddrinfo(self.ep.host, self.ep.port, type=socket.SOCK_STREAM)
        self.step = CONNECT
        last: OSError | None = None
        for family, kind, proto, _, address in infos:
            sock = socket.socket(family, kind, proto)
            try:
                self.budget.watch(sock)
                sock.settimeout(min(self.ep.timeout, self.budget.left()))
                sock.connect(address)
                return sock
            except OSError as exc:
                sock.close()
                last = exc
                if self.budget.stopped:
                    break
        raise last or OSError("no address to connect to")

    def context(self) -> ssl.SSLContext:
        if self.fetch_only or self.pin:  # a pin is checked in full by handshake_done
            return unverified_context()
        return verified_context()

    def wrap(self, sock: socket.socket) -> ssl.SSLSocket:
        self.step = TLS
        tls = None
        try:
            tls = self.context().wrap_socket(sock, server_hostname=self.ep.host)
            self.handshake_done(tls)
        except BaseException:
            (tls or sock).close()
            raise
        return tls

    def handshake_done(self, tls: ssl.SSLSocket) -> None:
        """Note the TLS facts; with a pin, refuse a different certificate before any credential."""
        self.tls_version = tls.version() or ""
        der = tls.getpeercert(binary_form=True)
        if der:
            self.certificate = certificate_info(der)
        if self.pin and not self.fetch_only:
            got = self.certificate.sha256 if self.certificate else ""
            if not is_sha256_pin(self.pin) or not hmac.compare_digest(got, self.pin):
                raise Stopped(say(
                    "Certificate not trusted: {where} presented a certificate whose SHA-256 fingerprint ({got}) is "
                    "not the one pinned in the profile ({pin}). Nothing was sent. If the server's certificate was "
                    "renewed, fetch and pin the new one.", where=self.ep.address, got=got or "none", pin=self.pin))

    def result(self, ok: bool, message: str) -> ProbeResult:
        return ProbeResult(
            protocol=self.ep.protocol, host=self.ep.host, port=self.ep.port, tls=int(self.ep.tls), ok=ok,
            step=self.step, message=self.redact(message), elapsed=time.monotonic() - self.started,
            server_answer=self.shown(self.answer), tls_version=self.tls_version, certificate=self.certificate,
            token=self.token_info)


def run_steps(ep: Endpoint, creds: Credentials | None, steps, fetch_only: bool = False) -> ProbeResult:
    with budget_for(ep.timeout) as budget:
        attempt = Attempt(ep, creds, budget, fetch_only)
        if not fetch_only:  # both refused before connecting: nothing reaches the server
            if attempt.pin and not is_sha256_pin(attempt.pin):
                attempt.step = TLS
                return attempt.result(False, bad_pin_message(ep))
            if creds is not None and creds.oauth is not None and (
                    why := unsendable_user(creds.username, creds.oauth[0].token_url)):
                attempt.step = TOKEN
                return attempt.result(False, why)
            if creds is not None and (why := unsendable_reason(creds)):
                attempt.step = AUTHENTICATION
                return attempt.result(False, why)
        healthy = False
        try:
            if creds is not None and creds.oauth is not None and not fetch_only:
                attempt.get_token()
            message = steps(attempt)
            healthy = True
            return attempt.result(True, message)
        except Exception as exc:  # noqa: BLE001 - a probe reports, it never raises
            message, answer = explain(exc, attempt)
            if answer:
                attempt.answer = answer
            if isinstance(exc, Deferred):  # throttled: come back later, not a verdict on the configuration
                result = attempt.result(False, message)
                result.deferred = True
                return result
            healthy = (isinstance(exc, (Stopped, imaplib.IMAP4.error, poplib.error_proto,
                                        smtplib.SMTPResponseException))
                       and not isinstance(exc, imaplib.IMAP4.abort) and not budget.stopped
                       and not budget.overflowed)
            return attempt.result(False, message)
        finally:
            _goodbye(attempt.conn, polite=healthy)


_GOODBYE = {imaplib.IMAP4: b"Z LOGOUT\r\n", poplib.POP3: b"QUIT\r\n", smtplib.SMTP: b"QUIT\r\n"}


def _goodbye(conn, polite: bool) -> None:
    """Say goodbye when the connection still works, then close it.

    The goodbye is sent without waiting for the server's reply: that would cost a round trip
    per connection and tell nothing (what mattered is already in the result)."""
    if conn is None:
        return
    sock = getattr(conn, "sock", None)
    if polite and sock is not None:
        for kind, words in _GOODBYE.items():
            if isinstance(conn, kind):
                try:
                    sock.sendall(words)
                except OSError:
                    pass
                break
    for name in ("file", "sock"):
        part = getattr(conn, name, None)
        if part is not None:
            try:
                part.close()
            except OSError:
                pass


def greet(a: Attempt, make):
    """Connect (TLS-wrapped first for implicit TLS), then `make(sock)` reads the greeting."""
    sock = a.connect()
    if a.ep.tls == TlsMode.IMPLICIT:
        sock = a.wrap(sock)
    a.step = GREETING
    try:
        a.conn = make(sock)
    except BaseException:
        sock.close()
        raise
    return a.conn


def before_login(a: Attempt, ehlo: bool = False) -> str | None:
    """Where a probe ends before authenticating: fetching a certificate, or nothing to log in with (`ehlo`:
    SMTP, whose greeting and EHLO were answered)."""
    if a.fetch_only:
        return say("Certificate fetched.")
    if a.creds is None and ehlo:
        return say("Connected to {where}: greeting and EHLO answered; no credentials to test.", where=a.ep.label)
    if a.creds is None:
        return say("Connected to {where} and got its greeting; no credentials to test.", where=a.ep.label)
    return None
