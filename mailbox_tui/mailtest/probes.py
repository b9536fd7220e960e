"""Connection probes for Test & Enable: IMAP, POP3 and SMTP with the standard library.

A probe connects for real, step by step (DNS, connect, TLS, greeting, authentication,
mailbox access), and returns a ProbeResult: it never raises. Nothing is read, deleted or
sent: IMAP opens INBOX read-only, POP3 asks for the message count, SMTP stops after AUTH.

TLS is always verified with the system's trust store and the host name. A profile may
instead pin one certificate by its SHA-256 fingerprint (exactly 64 hex digits, rule P13); the
fingerprint is compared right after the handshake, before any credential is sent. A pin that
is not a SHA-256 fails the probe before it connects: it never switches verification off.

Bounded whatever the server does: the profile's timeout bounds the whole probe (not each
read), and a probe reads at most limits.READ_LIMIT bytes (see limits.py). Credentials with
CR, LF or NUL are never sent (rule M20): they would reach the server as extra commands.
"""

from __future__ import annotations

import hmac
import imaplib
import os
import poplib
import smtplib
import socket
import ssl
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from functools import lru_cache

from ..domain.options import TlsMode
from ..domain.text import is_sha256_pin, normalise_pin
from .limits import READ_LIMIT, BoundedFile, Budget, budget_for
from .redact import Redactor

DNS, CONNECT, TLS, GREETING, AUTHENTICATION, MAILBOX_ACCESS = (
    "DNS", "connect", "TLS", "greeting", "authentication", "mailbox access")
STEPS = (DNS, CONNECT, TLS, GREETING, AUTHENTICATION, MAILBOX_ACCESS)

IMAP, POP3, SMTP = "imap", "pop3", "smtp"
PROTOCOL_LABELS = {IMAP: "IMAP", POP3: "POP3", SMTP: "SMTP"}
SECURITY_LABELS = {TlsMode.NONE: "no TLS", TlsMode.IMPLICIT: "SSL/TLS", TlsMode.STARTTLS: "STARTTLS"}
ANSWER_MAX = 500  # characters of a server's answer kept in a result


@dataclass(frozen=True)
class Endpoint:
    """Where and how to connect."""

    protocol: str  # imap, pop3 or smtp
    host: str
    port: int
    tls: int = TlsMode.IMPLICIT
    timeout: float = 30.0  # seconds, for the whole probe
    pin_sha256: str = ""  # trust exactly this certificate: 64 hex digits (colons and spaces allowed)

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def label(self) -> str:
        security = SECURITY_LABELS.get(self.tls, TlsMode.label_of(self.tls))
        return f"{PROTOCOL_LABELS.get(self.protocol, self.protocol)} {self.address} ({security})"


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class CertificateInfo:
    subject: str
    issuer: str
    not_before: datetime
    not_after: datetime
    sha256: str  # hex, lowercase, no colons: the form a profile pins

    @property
    def self_signed(self) -> bool:
        return self.subject == self.issuer

    @property
    def sha256_colons(self) -> str:
        return ":".join(self.sha256[i:i + 2] for i in range(0, len(self.sha256), 2)).upper()

    def as_dict(self) -> dict:
        return {"subject": self.subject, "issuer": self.issuer, "not_before": self.not_before.isoformat(),
                "not_after": self.not_after.isoformat(), "sha256": self.sha256}


@dataclass
class ProbeResult:
    protocol: str
    host: str
    port: int
    tls: int
    ok: bool
    step: str  # the last step reached when ok; the step that failed otherwise
    message: str  # plain English: what happened, and the fix when it failed
    elapsed: float  # seconds
    server_answer: str = ""  # the server's last answer, passwords removed
    tls_version: str = ""
    certificate: CertificateInfo | None = None

    def as_dict(self) -> dict:
        out = asdict(self)
        out["elapsed"] = round(self.elapsed, 3)
        out["tls"] = SECURITY_LABELS.get(self.tls, TlsMode.label_of(self.tls))
        out["certificate"] = self.certificate.as_dict() if self.certificate else None
        return out


def _bad_pin(ep: Endpoint) -> str:
    return (f"The certificate pin for {ep.address} in the profile is not a SHA-256 fingerprint: a pin is "
            f"exactly 64 hex digits (colons and spaces allowed). Nothing was sent. Fetch the server's "
            f"certificate and pin it again, or clear the pin (rule P13).")


_FORBIDDEN = {"\r": "a carriage return (CR)", "\n": "a line feed (LF)", "\0": "a NUL character"}


def _unsendable(creds: Credentials) -> str:
    """Why these credentials must not be sent, or "": CR, LF or NUL would end the command early."""
    for name, value in (("user name", creds.username), ("password", creds.password)):
        found = [what for char, what in _FORBIDDEN.items() if char in value]
        if found:
            return (f"The {name} contains {' and '.join(found)}: sent to the server it would become a "
                    f"command of its own. Nothing was sent. Re-enter the {name} (rule M20).")
    return ""


def certificate_info(der: bytes) -> CertificateInfo:
    import hashlib

    from cryptography import x509

    cert = x509.load_der_x509_certificate(der)
    return CertificateInfo(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        not_before=cert.not_valid_before_utc.replace(tzinfo=None),
        not_after=cert.not_valid_after_utc.replace(tzinfo=None),
        sha256=hashlib.sha256(der).hexdigest(),
    )


# ---------------------------------------------------------------- TLS contexts


@lru_cache(maxsize=8)
def _verified_context(cafile_env: str | None, capath_env: str | None) -> ssl.SSLContext:
    # Loading the trust store costs ~20 ms; one context serves every thread. The cache key is
    # what OpenSSL reads to find the store, so a changed SSL_CERT_FILE takes effect.
    return ssl.create_default_context()


def verified_context() -> ssl.SSLContext:
    """The system's trust store, host names checked."""
    return _verified_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@lru_cache(maxsize=1)
def _unverified_context() -> ssl.SSLContext:
    """For a pinned certificate (compared by fingerprint after the handshake) or for fetching one."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


# ---------------------------------------------------------------- failures as plain English


class _Stopped(Exception):
    """A step ended with an answer we understood; carries the message and the server's words."""

    def __init__(self, message: str, answer: str = ""):
        super().__init__(message)
        self.message = message
        self.answer = answer


def _raw(value) -> str:
    """A server answer as text, whole: bytes decoded, lists joined. Redact it before `_short`."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return " ".join(t for t in (_raw(v) for v in value) if t)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value)


def _short(text: str) -> str:
    """An answer for showing: white space collapsed, cut at ANSWER_MAX. Only ever after redaction:
    collapsing or cutting first would leave a password with two spaces, or half of one, unrecognised."""
    text = " ".join(text.split())
    return text if len(text) <= ANSWER_MAX else text[:ANSWER_MAX] + "…"


def _exc_answer(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {_raw(exc.smtp_error)}"
    if exc.args:
        return _raw(exc.args[0])
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
        return (f"Is {ep.port} a plain (non-TLS) port? Set SSL to STARTTLS or None for this port, "
                f"or use the server's SSL/TLS port.")
    return "Check the port and the SSL/STARTTLS setting."


def _explain(exc: BaseException, a: _Attempt) -> tuple[str, str]:
    """(message, server answer) for a probe that stopped at `a.step` with `exc`."""
    ep, step, where = a.ep, a.step, a.ep.address
    if isinstance(exc, _Stopped):
        return exc.message, exc.answer
    budget = a.budget
    if budget.aborted:
        return f"Not finished: the run was stopped ({budget.aborted}) during {step} with {where}.", ""
    if budget.overflowed:
        return (f"The server at {where} sent more than {READ_LIMIT // 1024} KiB during {step} without finishing "
                f"its answer (a mail server needs a few KB here), so the test stopped reading. Check that "
                f"{where} is the mail server you mean."), ""
    if isinstance(exc, socket.gaierror):
        return (f"Host name not found: {ep.host!r} does not resolve ({exc.strerror}). "
                f"Check the server location in the profile."), ""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (f"Certificate not trusted: {where} presented a certificate that failed verification "
                f"({exc.verify_message}). Install the certificate authority that signed it, or, if you "
                f"know this server, pin its certificate's fingerprint in the profile."), ""
    if budget.expired or _in_chain(exc, (TimeoutError, socket.timeout)) is not None:
        return _timed_out(a), ""
    closed = _in_chain(exc, (ssl.SSLEOFError, ssl.SSLZeroReturnError, ConnectionResetError,
                             ConnectionAbortedError, BrokenPipeError, smtplib.SMTPServerDisconnected, EOFError))
    if closed is not None or (isinstance(exc, (imaplib.IMAP4.abort, poplib.error_proto))
                              and "EOF" in _exc_answer(exc)):
        hint = f" {_tls_advice(ep)}" if step in (TLS, GREETING) else ""
        return f"The server closed the connection during {step} ({where}).{hint}", _exc_answer(exc)
    if isinstance(exc, ssl.SSLError):
        reason = exc.reason or exc.strerror or str(exc)
        if step == TLS:
            return f"TLS handshake failed with {where} ({reason}). {_tls_advice(ep)}", ""
        return f"TLS error during {step} with {where} ({reason}).", ""
    if isinstance(exc, ConnectionRefusedError):
        return (f"Connection refused: nothing accepts connections at {where}. "
                f"Check the port number and that the server is running."), ""
    answer = _exc_answer(exc)
    violation = _protocol_violation(exc, a, answer)
    if violation:
        return violation, answer
    if isinstance(exc, OSError) and not isinstance(exc, smtplib.SMTPException):
        reason = exc.strerror or str(exc)
        return f"Could not reach {where} during {step}: {reason}. Check the host and the network.", ""
    protocol_error = (imaplib.IMAP4.error, poplib.error_proto, smtplib.SMTPResponseException)
    if step == AUTHENTICATION and isinstance(exc, protocol_error):
        return _login_rejected(a.creds), answer
    return (f"Unexpected answer from {where} during {step}: "
            f"{a.shown(answer) or type(exc).__name__}."), answer


def _timed_out(a: _Attempt) -> str:
    ep, step, where = a.ep, a.step, a.ep.address
    trickle = a.budget.bytes_read - a.step_started_at
    if step == CONNECT:
        what = f"no answer from {where} while connecting"
    elif step == TLS:
        what = f"the TLS handshake with {where} did not finish"
    elif trickle > 0:
        what = (f"{where} kept the {step} going, sending {trickle} byte(s) without finishing its answer "
                f"(slower than any mail server)")
    elif step == GREETING and ep.tls != TlsMode.IMPLICIT:
        what = (f"{where} accepted the connection but sent no greeting (a port that expects "
                f"SSL/TLS from the start waits silently for a plain client)")
    else:
        what = f"{where} did not answer during {step}"
    return (f"Timed out after {ep.timeout:g} s: {what}. Check the host, the port and the "
            f"SSL/STARTTLS setting (now {SECURITY_LABELS.get(ep.tls, ep.tls)}).")


def _protocol_violation(exc: BaseException, a: _Attempt, answer: str) -> str:
    """What the server did wrong, when it broke its protocol rather than refused something; else ""."""
    where, step = a.ep.address, a.step
    protocol = PROTOCOL_LABELS.get(a.ep.protocol, a.ep.protocol)
    text, module = {SMTP: ("500 Line too long.", smtplib), POP3: ("line too long", poplib),
                    IMAP: ("got more than", imaplib)}.get(a.ep.protocol, ("", None))
    if module is not None and answer.startswith(text):
        return (f"The server at {where} broke the {protocol} protocol during {step}: it sent a line longer "
                f"than {getattr(module, '_MAXLINE', 0)} bytes. Check that {where} is the {protocol} server "
                f"you mean.")
    if step != GREETING:
        return ""
    not_speaking = ((isinstance(exc, imaplib.IMAP4.abort) and answer.startswith("unexpected response"))
                    or (isinstance(exc, poplib.error_proto) and not answer.startswith("-ERR")))
    if not_speaking:
        return (f"The server at {where} does not speak {protocol}: its greeting was {a.shown(answer)!r}. "
                f"Check the port and the server type of the profile.")
    return ""


def _login_rejected(creds: Credentials | None) -> str:
    who = f" for user {creds.username!r}" if creds else ""
    return f"Login rejected{who}: the server refused the user name or password. Check both."


def _method_not_offered(detail: str) -> str:
    return (f"Login method not offered here: {detail} If the server only allows login over TLS, "
            f"set SSL to SSL/TLS or STARTTLS.")


def _no_starttls(ep: Endpoint) -> str:
    return (f"STARTTLS is not offered on {ep.address}. Use the server's SSL/TLS port with SSL/TLS, "
            f"or check the port.")


# ---------------------------------------------------------------- one attempt


class _Attempt:
    """The state of one probe: the step reached, what the server said, the TLS facts, its budget."""

    def __init__(self, ep: Endpoint, creds: Credentials | None, budget: Budget, fetch_only: bool = False):
        self.ep = ep
        self.creds = creds
        self.budget = budget
        self.fetch_only = fetch_only
        self.pin = "" if fetch_only else normalise_pin(ep.pin_sha256 or "")
        self.redact = Redactor([creds.password] if creds else [])
        self.step = DNS
        self.answer = ""  # the server's last answer, whole: redacted, then shortened, in the result
        self.tls_version = ""
        self.certificate: CertificateInfo | None = None
        self.started = time.monotonic()
        self.conn = None  # the protocol object, for a polite goodbye

    @property
    def step(self) -> str:
        return self._step

    @step.setter
    def step(self, step: str) -> None:
        self._step = step
        self.step_started_at = self.budget.bytes_read  # to tell a trickle from silence

    def heard(self, answer) -> None:
        text = _raw(answer)
        if text:
            self.answer = text

    def shown(self, answer) -> str:
        """A server's words as they may be shown: redacted, then shortened."""
        return _short(self.redact(_raw(answer)))

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
            return _unverified_context()
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
                raise _Stopped(
                    f"Certificate not trusted: {self.ep.address} presented a certificate whose SHA-256 "
                    f"fingerprint ({got or 'none'}) is not the one pinned in the profile ({self.pin}). "
                    f"Nothing was sent. If the server's certificate was renewed, fetch and pin the new one.")

    def result(self, ok: bool, message: str) -> ProbeResult:
        return ProbeResult(
            protocol=self.ep.protocol, host=self.ep.host, port=self.ep.port, tls=int(self.ep.tls), ok=ok,
            step=self.step, message=self.redact(message), elapsed=time.monotonic() - self.started,
            server_answer=self.shown(self.answer), tls_version=self.tls_version, certificate=self.certificate)


def _run(ep: Endpoint, creds: Credentials | None, steps, fetch_only: bool = False) -> ProbeResult:
    with budget_for(ep.timeout) as budget:
        attempt = _Attempt(ep, creds, budget, fetch_only)
        if not fetch_only:  # both refused before connecting: nothing reaches the server
            if attempt.pin and not is_sha256_pin(attempt.pin):
                attempt.step = TLS
                return attempt.result(False, _bad_pin(ep))
            if creds is not None and (why := _unsendable(creds)):
                attempt.step = AUTHENTICATION
                return attempt.result(False, why)
        healthy = False
        try:
            message = steps(attempt)
            healthy = True
            return attempt.result(True, message)
        except Exception as exc:  # noqa: BLE001 - a probe reports, it never raises
            message, answer = _explain(exc, attempt)
            if answer:
                attempt.answer = answer
            healthy = (isinstance(exc, (_Stopped, imaplib.IMAP4.error, poplib.error_proto,
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


# ---------------------------------------------------------------- IMAP


class _IMAP(BoundedFile, imaplib.IMAP4):
    """imaplib on a socket we connected (and maybe wrapped in TLS) ourselves, step by step, reading
    within the probe's budget."""

    def __init__(self, sock: socket.socket, host: str, port: int, budget: Budget):
        self._ready_sock = sock
        self.budget = budget
        super().__init__(host, port)

    def _create_socket(self, timeout=None):
        return self._ready_sock


def _greet(a: _Attempt, make):
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


def _before_login(a: _Attempt, reached: str) -> str | None:
    """Where a probe ends before authenticating: fetching a certificate, or nothing to log in with."""
    if a.fetch_only:
        return "Certificate fetched."
    if a.creds is None:
        return f"Connected to {a.ep.label}{reached}; no credentials to test."
    return None


def _imap_steps(a: _Attempt) -> str:
    ep = a.ep
    conn = _greet(a, lambda sock: _IMAP(sock, ep.host, ep.port, a.budget))
    a.heard(conn.welcome)
    if ep.tls == TlsMode.STARTTLS:
        a.step = TLS
        if "STARTTLS" not in conn.capabilities:
            raise _Stopped(_no_starttls(ep), " ".join(conn.capabilities))
        conn.starttls(ssl_context=a.context())
        a.handshake_done(conn.sock)
    if stop := _before_login(a, " and got its greeting"):
        return stop
    a.step = AUTHENTICATION
    caps = set(conn.capabilities)
    user, password = a.creds.username, a.creds.password
    try:
        ascii_only = (user + password).isascii()
        if ascii_only and "LOGINDISABLED" not in caps:
            typ, data = conn.login(user, password)  # one round trip
        elif "AUTH=PLAIN" in caps:
            # AUTHENTICATE PLAIN carries UTF-8; imaplib's LOGIN is ASCII only.
            blob = f"\0{user}\0{password}".encode()
            typ, data = conn.authenticate("PLAIN", lambda _challenge: blob)
        elif "LOGINDISABLED" in caps:
            raise _Stopped(_method_not_offered("the server disabled LOGIN on this connection (LOGINDISABLED)."),
                           " ".join(sorted(caps)))
        else:
            raise _Stopped(_method_not_offered("the server offers only LOGIN, which cannot carry a "
                                               "non-ASCII user name or password."), " ".join(sorted(caps)))
    except imaplib.IMAP4.abort:
        raise
    except imaplib.IMAP4.error as exc:
        answer = _exc_answer(exc)
        if "PRIVACYREQUIRED" in answer.upper() or "plaintext" in answer.lower():
            raise _Stopped(_method_not_offered("the server refuses a password on an unencrypted connection."),
                           answer) from None
        raise _Stopped(_login_rejected(a.creds), answer) from None
    a.heard(data)
    a.step = MAILBOX_ACCESS
    try:
        typ, data = conn.select("INBOX", readonly=True)
    except imaplib.IMAP4.abort:
        raise
    except imaplib.IMAP4.error as exc:
        typ, data = "NO", [_exc_answer(exc)]
    if typ != "OK":
        raise _Stopped(f"Signed in, but INBOX could not be opened read-only on {ep.address}. "
                       f"Check the mailbox on the server.", _raw(data))
    count = a.shown(data)
    a.heard(f"INBOX opened read-only: {count} message(s)")
    return f"Signed in to {ep.label} and opened INBOX read-only ({count} message(s))."


# ---------------------------------------------------------------- POP3


class _POP3(BoundedFile, poplib.POP3):
    def __init__(self, sock: socket.socket, host: str, port: int, budget: Budget):
        self._ready_sock = sock
        self.budget = budget
        super().__init__(host, port)

    def _create_socket(self, timeout):
        return self._ready_sock


def _pop3_steps(a: _Attempt) -> str:
    ep = a.ep
    conn = _greet(a, lambda sock: _POP3(sock, ep.host, ep.port, a.budget))
    a.heard(conn.getwelcome())
    if ep.tls == TlsMode.STARTTLS:
        a.step = TLS
        try:
            caps = conn.capa()
        except poplib.error_proto:
            caps = {}
        if "STLS" not in caps:
            raise _Stopped(_no_starttls(ep), " ".join(caps))
        conn.stls(context=a.context())
        a.handshake_done(conn.sock)
    if stop := _before_login(a, " and got its greeting"):
        return stop
    a.step = AUTHENTICATION
    try:
        conn.user(a.creds.username)
        answer = conn.pass_(a.creds.password)
    except poplib.error_proto as exc:
        answer = _exc_answer(exc)
        if "EOF" in answer:
            raise
        if "plaintext" in answer.lower():
            raise _Stopped(_method_not_offered("the server refuses a password on an unencrypted connection."),
                           answer) from None
        raise _Stopped(_login_rejected(a.creds), answer) from None
    a.heard(answer)
    a.step = MAILBOX_ACCESS
    try:
        count, size = conn.stat()
    except poplib.error_proto as exc:
        raise _Stopped(f"Signed in, but the mailbox could not be opened on {ep.address}.",
                       _exc_answer(exc)) from None
    a.heard(f"+OK {count} {size}")
    return f"Signed in to {ep.label}; the mailbox holds {count} message(s)."


# ---------------------------------------------------------------- SMTP


@lru_cache(maxsize=1)
def _local_hostname() -> str:
    # smtplib's default asks DNS for our FQDN on every connection; the host name is enough for EHLO.
    return socket.gethostname() or "localhost"


class _SMTP(BoundedFile, smtplib.SMTP):
    def __init__(self, sock: socket.socket, host: str, timeout: float, budget: Budget):
        self._ready_sock = sock
        self.budget = budget
        super().__init__(local_hostname=_local_hostname(), timeout=timeout)
        self._host = host  # starttls() checks the certificate against it; connect() does not set it


    def _get_socket(self, host, port, timeout):
        return self._ready_sock


def _smtp_steps(a: _Attempt) -> str:
    ep = a.ep
    conn = _greet(a, lambda sock: _SMTP(sock, ep.host, ep.timeout, a.budget))
    code, msg = conn.connect(ep.host, ep.port)
    a.heard(f"{code} {_raw(msg)}")
    if code == -1:  # smtplib's code for a first line that does not start with a reply code
        raise _Stopped(f"The server at {ep.address} does not speak SMTP: its greeting has no reply code. "
                       f"Check the port and the server type of the profile.", _raw(msg))
    if code != 220:
        raise _Stopped(f"The server at {ep.address} refused the session: it answered {code}.", f"{code} {_raw(msg)}")
    code, msg = conn.ehlo()
    a.heard(f"{code} {_raw(msg)}")
    if code != 250:
        raise _Stopped(f"The server at {ep.address} refused EHLO (answered {code}).", f"{code} {_raw(msg)}")
    if ep.tls == TlsMode.STARTTLS:
        a.step = TLS
        if not conn.has_extn("starttls"):
            raise _Stopped(_no_starttls(ep), f"{code} {_raw(msg)}")
        conn.starttls(context=a.context())
        a.handshake_done(conn.sock)
        code, msg = conn.ehlo()
        a.heard(f"{code} {_raw(msg)}")
    if stop := _before_login(a, ": greeting and EHLO answered"):
        return stop
    a.step = AUTHENTICATION
    if not conn.has_extn("auth"):
        raise _Stopped(_method_not_offered(f"{ep.address} does not offer AUTH on this connection."),
                       f"{code} {_raw(msg)}")
    try:
        if (a.creds.username + a.creds.password).isascii():
            code, msg = conn.login(a.creds.username, a.creds.password)
        else:
            code, msg = _smtp_auth_plain_utf8(conn, a.creds)
    except smtplib.SMTPAuthenticationError as exc:
        raise _Stopped(_login_rejected(a.creds), _exc_answer(exc)) from None
    except smtplib.SMTPNotSupportedError as exc:
        raise _Stopped(_method_not_offered(f"{ep.address} does not offer AUTH on this connection."),
                       _exc_answer(exc)) from None
    except smtplib.SMTPServerDisconnected:
        raise
    except smtplib.SMTPException as exc:
        if _smtp_line_too_long(exc):
            raise
        if isinstance(exc, smtplib.SMTPResponseException):
            raise _Stopped(_login_rejected(a.creds), _exc_answer(exc)) from None
        mechanisms = conn.esmtp_features.get("auth", "").strip()
        raise _Stopped(_method_not_offered(f"the server offers AUTH {mechanisms or '(nothing)'}, "
                                           f"none of which this tool speaks."), _exc_answer(exc)) from None
    a.heard(f"{code} {_raw(msg)}")
    return f"Signed in to {ep.label} (EHLO and AUTH accepted; no mail sent)."


def _smtp_line_too_long(exc: BaseException) -> bool:
    """smtplib's own complaint (it closes the connection), not a server's 500 answer."""
    return (isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code == 500
            and exc.smtp_error == b"Line too long.")


def _smtp_auth_plain_utf8(conn: smtplib.SMTP, creds: Credentials) -> tuple[int, bytes]:
    """AUTH PLAIN with UTF-8 (RFC 4616): smtplib encodes its AUTH answers as ASCII only."""
    import base64

    mechanisms = conn.esmtp_features.get("auth", "").upper().split()
    if "PLAIN" not in mechanisms:
        raise _Stopped(_method_not_offered("the user name or password is not ASCII, which needs AUTH PLAIN, "
                                           "and the server does not offer it."), " ".join(mechanisms))
    blob = base64.b64encode(f"\0{creds.username}\0{creds.password}".encode()).decode("ascii")
    code, msg = conn.docmd("AUTH", f"PLAIN {blob}")
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, msg)
    return code, msg


# ---------------------------------------------------------------- entry points

_STEPS = {IMAP: _imap_steps, POP3: _pop3_steps, SMTP: _smtp_steps}


def probe(endpoint: Endpoint, credentials: Credentials | None = None) -> ProbeResult:
    """Test one connection for real. Credentials None: connect, TLS and greeting only."""
    steps = _STEPS.get(endpoint.protocol)
    if steps is None:
        return ProbeResult(endpoint.protocol, endpoint.host, endpoint.port, int(endpoint.tls), False, CONNECT,
                           f"{endpoint.protocol!r} connections are not supported by this tool.", 0.0)
    return _run(endpoint, credentials, steps)


def probe_imap(endpoint: Endpoint, credentials: Credentials | None = None) -> ProbeResult:
    return probe(Endpoint(IMAP, *_rest(endpoint)), credentials)


def probe_pop3(endpoint: Endpoint, credentials: Credentials | None = None) -> ProbeResult:
    return probe(Endpoint(POP3, *_rest(endpoint)), credentials)


def probe_smtp(endpoint: Endpoint, credentials: Credentials | None = None) -> ProbeResult:
    return probe(Endpoint(SMTP, *_rest(endpoint)), credentials)


def _rest(ep: Endpoint) -> tuple:
    return ep.host, ep.port, ep.tls, ep.timeout, ep.pin_sha256


def fetch_certificate(endpoint: Endpoint) -> ProbeResult:
    """The server's certificate (subject, expiry, SHA-256), without trusting it, so an admin can
    compare the fingerprint with one obtained from the server's owner and pin it.

    `result.certificate` is set when `result.ok`. Nothing but the TLS handshake (and the
    protocol's STARTTLS command when the endpoint uses STARTTLS) is sent."""
    if endpoint.tls == TlsMode.NONE:
        return ProbeResult(endpoint.protocol, endpoint.host, endpoint.port, int(endpoint.tls), False, TLS,
                           f"{endpoint.label} does not use TLS: there is no certificate to fetch.", 0.0)
    steps = _STEPS.get(endpoint.protocol)
    if steps is None:
        return probe(endpoint)
    result = _run(endpoint, None, steps, fetch_only=True)
    if result.ok:
        result.step = TLS
        cert = result.certificate
        result.message = (f"Certificate of {endpoint.address}: {cert.subject}, valid until "
                          f"{cert.not_after:%Y-%m-%d}, SHA-256 {cert.sha256}.") if cert else result.message
    return result
