"""IMAP: greeting, STARTTLS when asked, LOGIN or AUTHENTICATE PLAIN, and INBOX opened read-only."""

from __future__ import annotations

import imaplib
import socket

from ...domain.options import TlsMode
from ...i18n import say, say_n
from ..limits import BoundedFile, Budget
from .attempt import Attempt, before_login, greet
from .explain import Stopped, exc_answer, login_rejected, method_not_offered, no_starttls, raw_answer
from . import sasl
from .results import AUTHENTICATION, IMAP, MAILBOX_ACCESS, TLS


class _IMAP(BoundedFile, imaplib.IMAP4):
    """imaplib on a socket we connected (and maybe wrapped in TLS) ourselves, step by step, reading
    within the probe's budget."""

    def __init__(self, sock: socket.socket, host: str, port: int, budget: Budget):
        self._ready_sock = sock
        self.budget = budget
        super().__init__(host, port)

    def _create_socket(self, timeout=None):
        return self._ready_sock


def imap_steps(a: Attempt) -> str:
    ep = a.ep
    conn = greet(a, lambda sock: _IMAP(sock, ep.host, ep.port, a.budget))
    a.heard(conn.welcome)
    if ep.tls == TlsMode.STARTTLS:
        a.step = TLS
        if "STARTTLS" not in conn.capabilities:
            raise Stopped(no_starttls(ep), " ".join(conn.capabilities))
        conn.starttls(ssl_context=a.context())
        a.handshake_done(conn.sock)
    if stop := before_login(a):
        return stop
    a.step = AUTHENTICATION
    caps = set(conn.capabilities)
    if a.creds.bearer:
        data = _bearer_login(a, conn, caps)
    else:
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
                raise Stopped(method_not_offered(say("the server disabled LOGIN on this connection (LOGINDISABLED).")),
                               " ".join(sorted(caps)))
            else:
                raise Stopped(method_not_offered(say("the server offers only LOGIN, which cannot carry a non-ASCII "
                                                     "user name or password.")), " ".join(sorted(caps)))
        except imaplib.IMAP4.abort:
            raise
        except imaplib.IMAP4.error as exc:
            answer = exc_answer(exc)
            if "PRIVACYREQUIRED" in answer.upper() or "plaintext" in answer.lower():
                raise Stopped(method_not_offered(say("the server refuses a password on an unencrypted connection.")),
                               answer) from None
            raise Stopped(login_rejected(a.creds), answer) from None
    a.heard(data)
    a.step = MAILBOX_ACCESS
    try:
        typ, data = conn.select("INBOX", readonly=True)
    except imaplib.IMAP4.abort:
        raise
    except imaplib.IMAP4.error as exc:
        typ, data = "NO", [exc_answer(exc)]
    if typ != "OK":
        raise Stopped(say("Signed in, but INBOX could not be opened read-only on {where}. Check the mailbox on the "
                          "server.", where=ep.address), raw_answer(data))
    count = a.shown(data)
    a.heard(f"INBOX opened read-only: {count} message(s)")
    if not count.isdigit():  # the server's own words for its count, shown as they are
        return say("Signed in to {where} and opened INBOX read-only (message count: {count}).", where=ep.label,
                   count=count)
    return say_n("Signed in to {where} and opened INBOX read-only ({n} message).",
                 "Signed in to {where} and opened INBOX read-only ({n} messages).", int(count), where=ep.label)


def _bearer_login(a: Attempt, conn, caps: set[str]):
    """AUTHENTICATE XOAUTH2 (or OAUTHBEARER): the token, and on refusal the server's decoded reason."""
    name = sasl.mechanism(c[5:] for c in caps if c.startswith("AUTH="))
    if name is None:
        raise Stopped(method_not_offered(say("the server offers neither AUTH=XOAUTH2 nor AUTH=OAUTHBEARER, which "
                                             "OAuth needs.")), " ".join(sorted(caps)))
    challenges: list[bytes] = []

    def answer(challenge: bytes) -> bytes:
        if not challenges and not challenge:
            challenges.append(b"")
            return sasl.initial_response(name, a.creds.username, a.creds.password, a.ep.host, a.ep.port)
        challenges.append(challenge)
        return sasl.failure_reply(name)

    try:
        typ, data = conn.authenticate(name, answer)
    except imaplib.IMAP4.abort:
        raise
    except imaplib.IMAP4.error as exc:
        reason = sasl.reason_text(challenges[-1]) if len(challenges) > 1 else ""
        raise Stopped(sasl.token_rejected(IMAP, a.creds.username, a.oauth_method, reason),
                      " ".join(t for t in (reason, exc_answer(exc)) if t)) from None
    return data
