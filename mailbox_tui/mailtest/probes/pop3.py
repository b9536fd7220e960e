"""POP3: greeting, STLS when asked, USER/PASS, and the message count (STAT)."""

from __future__ import annotations

import base64
import poplib
import socket

from ...domain.options import TlsMode
from ...i18n import say, say_n
from ..limits import BoundedFile, Budget
from .attempt import Attempt, before_login, greet
from .explain import Stopped, exc_answer, login_rejected, method_not_offered, no_starttls
from . import sasl
from .results import AUTHENTICATION, MAILBOX_ACCESS, POP3, TLS


class _POP3(BoundedFile, poplib.POP3):
    def __init__(self, sock: socket.socket, host: str, port: int, budget: Budget):
        self._ready_sock = sock
        self.budget = budget
        super().__init__(host, port)

    def _create_socket(self, timeout):
        return self._ready_sock


def pop3_steps(a: Attempt) -> str:
    ep = a.ep
    conn = greet(a, lambda sock: _POP3(sock, ep.host, ep.port, a.budget))
    a.heard(conn.getwelcome())
    if ep.tls == TlsMode.STARTTLS:
        a.step = TLS
        try:
            caps = conn.capa()
        except poplib.error_proto:
            caps = {}
        if "STLS" not in caps:
            raise Stopped(no_starttls(ep), " ".join(caps))
        conn.stls(context=a.context())
        a.handshake_done(conn.sock)
    if stop := before_login(a):
        return stop
    a.step = AUTHENTICATION
    if a.creds.bearer:
        answer = _bearer_login(a, conn)
    else:
        answer = _password_login(a, conn)
    a.heard(answer)
    a.step = MAILBOX_ACCESS
    try:
        count, size = conn.stat()
    except poplib.error_proto as exc:
        raise Stopped(say("Signed in, but the mailbox could not be opened on {where}.", where=ep.address),
                       exc_answer(exc)) from None
    a.heard(f"+OK {count} {size}")
    return say_n("Signed in to {where}; the mailbox holds {n} message.",
                 "Signed in to {where}; the mailbox holds {n} messages.", count, where=ep.label)


def _password_login(a: Attempt, conn) -> bytes:
    try:
        conn.user(a.creds.username)
        answer = conn.pass_(a.creds.password)
    except poplib.error_proto as exc:
        answer = exc_answer(exc)
        if "EOF" in answer:
            raise
        if "plaintext" in answer.lower():
            raise Stopped(method_not_offered(say("the server refuses a password on an unencrypted connection.")),
                           answer) from None
        raise Stopped(login_rejected(a.creds), answer) from None
    return answer


def _bearer_login(a: Attempt, conn) -> bytes:
    """AUTH XOAUTH2 (or OAUTHBEARER) by hand (RFC 5034: poplib has no AUTH), with an initial response."""
    try:
        caps = conn.capa()
    except poplib.error_proto:
        caps = {}
    offered = caps.get("SASL", [])
    name = sasl.mechanism(offered) if offered else sasl.XOAUTH2  # no CAPA: try XOAUTH2
    if name is None:
        raise Stopped(method_not_offered(say("the server offers SASL {names}, neither XOAUTH2 nor OAUTHBEARER, "
                                             "which OAuth needs.", names=" ".join(offered))), " ".join(offered))
    blob = sasl.initial_response(name, a.creds.username, a.creds.password, a.ep.host, a.ep.port)
    conn._putcmd(f"AUTH {name} {base64.b64encode(blob).decode('ascii')}")
    line, _ = conn._getline()
    reason = ""
    if line.startswith(b"+ ") or line == b"+":  # a continuation carrying the reason: answer it, then -ERR
        reason = sasl.decoded_reason(line[2:])
        conn._putcmd(base64.b64encode(sasl.failure_reply(name)).decode("ascii"))
        line, _ = conn._getline()
    if line.startswith(b"+OK"):
        return line
    final = line.decode("utf-8", "replace")
    if "plaintext" in final.lower():
        raise Stopped(method_not_offered(say("the server refuses a token on an unencrypted connection.")), final)
    raise Stopped(sasl.token_rejected(POP3, a.creds.username, a.oauth_method, reason),
                  " ".join(t for t in (reason, final) if t))
