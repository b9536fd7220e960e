"""SASL bearer-token logins (P14): XOAUTH2, or OAUTHBEARER (RFC 7628) where that is all a server offers,
and a refused token said plainly with the server's decoded reason."""

from __future__ import annotations

import base64
import binascii
import json
from urllib.parse import urlsplit

from ...domain.options import AuthMethod
from ...domain.text import has_control_chars
from ...i18n import N_, say
from .explain import Stopped
from .results import IMAP, POP3, SMTP

XOAUTH2, OAUTHBEARER = "XOAUTH2", "OAUTHBEARER"
PERMISSION = {IMAP: "IMAP.AccessAsApp", POP3: "POP.AccessAsApp", SMTP: "SMTP.SendAsApp"}


def mechanism(offered) -> str | None:
    """XOAUTH2 when offered, else OAUTHBEARER, else None."""
    names = {str(m).upper() for m in offered}
    for name in (XOAUTH2, OAUTHBEARER):
        if name in names:
            return name
    return None


def unsafe_field(user: str, token: str) -> str:
    """Which of the two a SASL bearer sign-in cannot carry ("user name" or "access token"), or "": a control
    character (^A above all, the field separator) would add fields of its own (rule M20)."""
    for what, value in ((N_("user name"), user), (N_("access token"), token)):
        if has_control_chars(value):
            return what
    return ""


def unsendable_user(user: str, token_url: str) -> str:
    """Why the token step must not start for `user` (the address a token acts for, and the SASL user), or ""."""
    if not has_control_chars(user):
        return ""
    return say("The user name holds a control character: it would add fields to the SASL sign-in (XOAUTH2, "
               "OAUTHBEARER). Nothing was sent to the token endpoint {host} or the mail server. Re-enter the "
               "mailbox's user name (rule M20).", host=urlsplit(token_url).netloc)


def initial_response(name: str, user: str, token: str, host: str, port: int) -> bytes:
    """The client's first message: user and token as fields separated by ^A. Refuses (Stopped) a user or token
    holding a control character rather than send fields the admin never set (the token step checks first)."""
    if what := unsafe_field(user, token):
        raise Stopped(say("The {what} holds a control character: it would add fields to the SASL sign-in. Nothing "
                          "was sent (rule M20).", what=what))
    if name == XOAUTH2:
        return f"user={user}\x01auth=Bearer {token}\x01\x01".encode()
    return f"n,a={user},\x01host={host}\x01port={port}\x01auth=Bearer {token}\x01\x01".encode()


def failure_reply(name: str) -> bytes:
    """What the client answers to a failure challenge: an empty line (XOAUTH2) or ^A (OAUTHBEARER)."""
    return b"" if name == XOAUTH2 else b"\x01"


def decoded_reason(challenge) -> str:
    """A failure challenge as the server meant it: base64 JSON such as {"status":"401",...}."""
    if isinstance(challenge, str):
        challenge = challenge.encode("ascii", "replace")
    challenge = (challenge or b"").strip()
    if not challenge:
        return ""
    try:
        raw = base64.b64decode(challenge, validate=True)
    except (binascii.Error, ValueError):
        raw = challenge
    return reason_text(raw)


def reason_text(raw: bytes) -> str:
    """A decoded failure challenge, JSON made compact."""
    text = (raw or b"").decode("utf-8", "replace").strip()
    try:
        return json.dumps(json.loads(text), separators=(",", ":"))
    except ValueError:
        return text


def token_rejected(protocol: str, user: str, method: int | None, reason: str) -> str:
    """Why a server refused a bearer token, and the fix for the provider."""
    if method == AuthMethod.GMAIL_OAUTH:
        fix = say("Check that the address is a user of the Google Workspace domain and that domain-wide delegation "
                  "grants the service account https://mail.google.com/.")
    else:
        fix = say("The app needs the application permission {permission} with admin consent, a service principal "
                  "in Exchange Online (New-ServicePrincipal) and access to this mailbox (Add-MailboxPermission "
                  "-User <service principal> -AccessRights FullAccess).",
                  permission=PERMISSION.get(protocol, "IMAP.AccessAsApp"))
    if reason:
        return say("The server refused the access token for {user} (the server said {answer}). {fix}",
                   user=repr(user), answer=reason, fix=fix)
    return say("The server refused the access token for {user}. {fix}", user=repr(user), fix=fix)
