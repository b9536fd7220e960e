"""SMTP: greeting, EHLO, STARTTLS when asked, and AUTH; no mail is ever sent."""

from __future__ import annotations

import smtplib
import socket
from functools import lru_cache

from ...domain.options import TlsMode
from ...i18n import say
from ..limits import BoundedFile, Budget
from .attempt import Attempt, before_login, greet
from .explain import Stopped, exc_answer, login_rejected, method_not_offered, no_starttls, raw_answer
from . import sasl
from .results import AUTHENTICATION, SMTP, TLS, Credentials


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


def smtp_steps(a: Attempt) -> str:
    ep = a.ep
    conn = greet(a, lambda sock: _SMTP(sock, ep.host, ep.timeout, a.budget))
    code, msg = conn.connect(ep.host, ep.port)
    a.heard(f"{code} {raw_answer(msg)}")
    if code == -1:  # smtplib's code for a first line that does not start with a reply code
        raise Stopped(say("The server at {where} does not speak SMTP: its greeting has no reply code. Check the "
                          "port and the server type of the profile.", where=ep.address), raw_answer(msg))
    if code != 220:
        raise Stopped(say("The server at {where} refused the session: it answered {code}.", where=ep.address,
                          code=code), f"{code} {raw_answer(msg)}")
    code, msg = conn.ehlo()
    a.heard(f"{code} {raw_answer(msg)}")
    if code != 250:
        raise Stopped(say("The server at {where} refused EHLO (answered {code}).", where=ep.address, code=code),
                      f"{code} {raw_answer(msg)}")
    if ep.tls == TlsMode.STARTTLS:
        a.step = TLS
        if not conn.has_extn("starttls"):
            raise Stopped(no_starttls(ep), f"{code} {raw_answer(msg)}")
        conn.starttls(context=a.context())
        a.handshake_done(conn.sock)
        code, msg = conn.ehlo()
        a.heard(f"{code} {raw_answer(msg)}")
    if stop := before_login(a, ehlo=True):
        return stop
    a.step = AUTHENTICATION
    if not conn.has_extn("auth"):
        raise Stopped(method_not_offered(_no_auth(ep)), f"{code} {raw_answer(msg)}")
    if a.creds.bearer:
        code, msg = _bearer_login(a, conn)
        a.heard(f"{code} {raw_answer(msg)}")
        return _signed_in(ep)
    try:
        if (a.creds.username + a.creds.password).isascii():
            code, msg = conn.login(a.creds.username, a.creds.password)
        else:
            code, msg = _smtp_auth_plain_utf8(conn, a.creds)
    except smtplib.SMTPAuthenticationError as exc:
        raise Stopped(login_rejected(a.creds), exc_answer(exc)) from None
    except smtplib.SMTPNotSupportedError as exc:
        raise Stopped(method_not_offered(_no_auth(ep)), exc_answer(exc)) from None
    except smtplib.SMTPServerDisconnected:
        raise
    except smtplib.SMTPException as exc:
        if _smtp_line_too_long(exc):
            raise
        if isinstance(exc, smtplib.SMTPResponseException):
            raise Stopped(login_rejected(a.creds), exc_answer(exc)) from None
        mechanisms = conn.esmtp_features.get("auth", "").strip()
        raise Stopped(method_not_offered(say("the server offers AUTH {names}, none of which this tool speaks.",
                                             names=mechanisms or "(nothing)")), exc_answer(exc)) from None
    a.heard(f"{code} {raw_answer(msg)}")
    return _signed_in(ep)


def _signed_in(ep) -> str:
    return say("Signed in to {where} (EHLO and AUTH accepted; no mail sent).", where=ep.label)


def _no_auth(ep) -> str:
    return say("{where} does not offer AUTH on this connection.", where=ep.address)


def _smtp_line_too_long(exc: BaseException) -> bool:
    """smtplib's own complaint (it closes the connection), not a server's 500 answer."""
    return (isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code == 500
            and exc.smtp_error == b"Line too long.")


def _smtp_auth_plain_utf8(conn: smtplib.SMTP, creds: Credentials) -> tuple[int, bytes]:
    """AUTH PLAIN with UTF-8 (RFC 4616): smtplib encodes its AUTH answers as ASCII only."""
    import base64

    mechanisms = conn.esmtp_features.get("auth", "").upper().split()
    if "PLAIN" not in mechanisms:
        raise Stopped(method_not_offered(say("the user name or password is not ASCII, which needs AUTH PLAIN, "
                                             "and the server does not offer it.")), " ".join(mechanisms))
    blob = base64.b64encode(f"\0{creds.username}\0{creds.password}".encode()).decode("ascii")
    code, msg = conn.docmd("AUTH", f"PLAIN {blob}")
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, msg)
    return code, msg


def _bearer_login(a: Attempt, conn: smtplib.SMTP) -> tuple[int, bytes]:
    """AUTH XOAUTH2 (or OAUTHBEARER) with an initial response; on 334 the server's reason, answered with an
    empty line (or ^A), then its final refusal."""
    offered = conn.esmtp_features.get("auth", "").split()
    name = sasl.mechanism(offered)
    if name is None:
        raise Stopped(method_not_offered(say("the server offers AUTH {names}, neither XOAUTH2 nor OAUTHBEARER, "
                                             "which OAuth needs.", names=" ".join(offered) or "(nothing)")),
                      " ".join(offered))
    blob = sasl.initial_response(name, a.creds.username, a.creds.password, a.ep.host, a.ep.port)
    reasons: list[str] = []

    def answer(challenge: bytes | None = None) -> str:
        if challenge is None:
            return blob.decode("ascii", "replace")
        reasons.append(sasl.reason_text(challenge))
        return sasl.failure_reply(name).decode("ascii")

    try:
        return conn.auth(name, answer, initial_response_ok=True)
    except smtplib.SMTPServerDisconnected:
        raise
    except smtplib.SMTPResponseException as exc:
        if _smtp_line_too_long(exc):
            raise
        reason = reasons[-1] if reasons else ""
        raise Stopped(sasl.token_rejected(SMTP, a.creds.username, a.oauth_method, reason),
                      " ".join(t for t in (reason, exc_answer(exc)) if t)) from None
