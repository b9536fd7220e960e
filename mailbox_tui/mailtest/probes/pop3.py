"""POP3: greeting, STLS when asked, USER/PASS, and the message count (STAT)."""

from __future__ import annotations

import poplib
import socket

from ...domain.options import TlsMode
from ..limits import BoundedFile, Budget
from .attempt import Attempt, before_login, greet
from .explain import Stopped, exc_answer, login_rejected, method_not_offered, no_starttls
from .results import AUTHENTICATION, MAILBOX_ACCESS, TLS


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
    if stop := before_login(a, " and got its greeting"):
        return stop
    a.step = AUTHENTICATION
    try:
        conn.user(a.creds.username)
        answer = conn.pass_(a.creds.password)
    except poplib.error_proto as exc:
        answer = exc_answer(exc)
        if "EOF" in answer:
            raise
        if "plaintext" in answer.lower():
            raise Stopped(method_not_offered("the server refuses a password on an unencrypted connection."),
                           answer) from None
        raise Stopped(login_rejected(a.creds), answer) from None
    a.heard(answer)
    a.step = MAILBOX_ACCESS
    try:
        count, size = conn.stat()
    except poplib.error_proto as exc:
        raise Stopped(f"Signed in, but the mailbox could not be opened on {ep.address}.",
                       exc_answer(exc)) from None
    a.heard(f"+OK {count} {size}")
    return f"Signed in to {ep.label}; the mailbox holds {count} message(s)."
