"""Mail servers that take OAuth 2.0 bearer tokens: dovecot (IMAP, POP3) and aiosmtpd (SMTP).

Both accept SASL XOAUTH2 and OAUTHBEARER (and still PLAIN/LOGIN with the passwords of
``MAIL_USERS``), check the token's signature with the :class:`~support.oauth_tokens.TokenAuthority`
key, its ``exp``/``nbf``, who issued it, its scope and whom it is for, the same way:

* a **mailbox token** (Google style: has the user claim, ``email`` by default) is accepted when
  Google issued it (``iss`` is ``GOOGLE_ISSUER``), the claim equals the SASL user and ``scope``
  holds ``https://mail.google.com/``;
* an **app-only token** (Microsoft style: ``tid``, no user claim) is accepted when the tenant's
  Entra ID issued it (``iss`` is ``entra_issuer(tenant_id)``), ``scope`` holds the protocol's
  permission (``IMAP.AccessAsApp``, ``POP.AccessAsApp``, ``SMTP.SendAsApp``) and the SASL user is
  one of the :class:`MailboxPermissions` (Exchange's mailbox permission for the app).

dovecot does it with ``passdb oauth2`` in local validation mode (dovecot 2.3 reads scopes only from
a ``scope`` claim, and one required scope per passdb, hence one passdb per protocol), and a
passwd-file of permitted mailboxes chained after the app-only passdb. Each oauth2 passdb trusts only
its kind's issuer (``issuers``), so a token of the other kind fails the JWT check and never reaches
the ``username_attribute`` check: there a missing claim ("No username returned") is an internal
failure, which turns the chain's refusal into ``NO [UNAVAILABLE]`` without the 401 challenge on
dovecot 2.3.19 as upstream ships it (Debian 12 up to deb12u6; see docs/testing-oauth.md).
"""

from __future__ import annotations

import base64
import binascii
import collections
import logging
import math
import os
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import jwt

from support.mailservers import (_START_ATTEMPTS, Dovecot, TestCertificate, _Authenticator,
                                 _give_to_server_user, free_port)
from support.oauth_tokens import (APP_PERMISSION_FOR, GOOGLE_ISSUER, GOOGLE_MAIL_SCOPE, SMTP_PERMISSION,
                                  TokenAuthority, entra_issuer, parse_sasl_bearer, token_scopes)

BEARER_MECHANISMS = ("XOAUTH2", "OAUTHBEARER")


class MailboxPermissions:
    """The mailboxes an app-only token may open; dovecot reads them from a passwd-file, the SMTP
    server from this object. A change returns once the servers see it: dovecot looks at a
    passwd-file at most once per second (per its event loop's clock), so `set` waits for the next
    second to begin (up to 1 s)."""

    def __init__(self, path: Path, addresses):
        self.path = path
        self._lock = threading.Lock()
        self._addresses: set[str] = set()
        self._stamp = int(time.time()) - 3600
        self._write(addresses)

    @property
    def addresses(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._addresses)

    def allows(self, address: str) -> bool:
        with self._lock:
            return address.lower() in self._addresses

    def grant(self, *addresses: str) -> None:
        self.set(self.addresses | {a.lower() for a in addresses})

    def revoke(self, *addresses: str) -> None:
        self.set(self.addresses - {a.lower() for a in addresses})

    def set(self, addresses) -> None:
        self._write(addresses)
        now = time.time()
        time.sleep(math.floor(now) + 1.02 - now)

    def _write(self, addresses) -> None:
        with self._lock:
            self._addresses = {a.lower() for a in addresses}
            lines = "".join(f"{a}:::::::nopassword\n" for a in sorted(self._addresses))
            temporary = self.path.with_suffix(".tmp")
            temporary.write_text(lines, encoding="utf-8")
            temporary.chmod(0o644)
            _give_to_server_user(temporary)
            # dovecot re-reads a passwd-file when its mtime or size changes: make the mtime
            # change even for two writes within one second.
            self._stamp += 1
            os.utime(temporary, (self._stamp, self._stamp))
            temporary.replace(self.path)


# ---------------------------------------------------------------- dovecot

# `issuers` (dovecot 2.3.13 and later) is checked while the JWT is parsed: a token of the other kind
# is a plain refusal there, and never reaches the username_attribute check, where a missing claim
# is an internal failure that turns the whole chain's answer into a temporary failure.
_OAUTH2_CONF = """\
introspection_mode = local
local_validation_key_dict = fs:posix:prefix={dir}/oauth2-keys/
issuers = {issuer}
username_attribute = {user_claim}
scope = {scope}
"""
# App-only tokens name no mailbox; username_attribute is mandatory, so point it at `tid` and give
# a constant username_format: the check then only asks that the claim be there.
_OAUTH2_APP_CONF = """\
introspection_mode = local
local_validation_key_dict = fs:posix:prefix={dir}/oauth2-keys/
issuers = {issuer}
username_attribute = tid
username_format = app-only-token
scope = {scope}
"""
_OAUTH2_PROTOCOL = """\
protocol {protocol} {{
  # A mailbox token (Google style): the user claim must be the login name.
  passdb {{
    driver = oauth2
    mechanisms = xoauth2 oauthbearer
    args = {dir}/oauth2-mailbox.conf.ext
  }}
  # An app-only token (Microsoft style) with this protocol's permission...
  passdb {{
    driver = oauth2
    mechanisms = xoauth2 oauthbearer
    args = {dir}/oauth2-app-{protocol}.conf.ext
    result_success = continue-ok
  }}
  # ...and the app's permission on this mailbox.
  passdb {{
    driver = passwd-file
    mechanisms = xoauth2 oauthbearer
    args = username_format=%Lu {permissions}
    skip = unauthenticated
    result_failure = return-fail
  }}
}}
"""


def _replace_once(text: str, old: str, new: str) -> str:
    if text.count(old) != 1:
        raise RuntimeError(f"dovecot configuration changed: expected one {old.strip()!r}")
    return text.replace(old, new)


class OAuthDovecot(Dovecot):
    """The test dovecot of ``support.mailservers`` plus ``passdb oauth2`` (local JWT validation)
    for XOAUTH2 and OAUTHBEARER, on the same plain/STARTTLS and implicit-TLS ports."""

    def __init__(self, users: dict[str, str], certificate: TestCertificate, authority: TokenAuthority,
                 permissions: MailboxPermissions, user_claim: str = "email", *, tenant_id: str):
        super().__init__(users, certificate)
        self.authority = authority
        self.permissions = permissions  # its file must be readable by the server user
        self.user_claim = user_claim
        self.tenant_id = tenant_id  # app-only tokens are trusted from this tenant's issuer only

    def _prepare(self) -> None:
        super()._prepare()
        folder = self.dir
        # local_validation_key_dict: <azp or "default">/<alg>/<kid> holds the PEM public key.
        key_dir = folder / "oauth2-keys" / "default" / self.authority.algorithm
        key_dir.mkdir(parents=True)
        (key_dir / self.authority.kid).write_text(self.authority.public_key_pem, encoding="ascii")
        (folder / "oauth2-mailbox.conf.ext").write_text(
            _OAUTH2_CONF.format(dir=folder, issuer=GOOGLE_ISSUER, user_claim=self.user_claim,
                                scope=GOOGLE_MAIL_SCOPE))
        for protocol in ("imap", "pop3"):
            (folder / f"oauth2-app-{protocol}.conf.ext").write_text(
                _OAUTH2_APP_CONF.format(dir=folder, issuer=entra_issuer(self.tenant_id),
                                        scope=APP_PERMISSION_FOR[protocol]))
        conf_path = folder / "dovecot.conf"
        conf = conf_path.read_text()
        conf = _replace_once(conf, "auth_mechanisms = plain login\n",
                             "auth_mechanisms = plain login xoauth2 oauthbearer\n")
        # The password passdb must not see bearer tokens.
        conf = _replace_once(conf, "  driver = passwd-file\n", "  driver = passwd-file\n  mechanisms = plain login\n")
        conf += "".join(_OAUTH2_PROTOCOL.format(protocol=p, dir=folder, permissions=self.permissions.path)
                        for p in ("imap", "pop3"))
        conf_path.write_text(conf)
        for path in folder.rglob("*"):
            _give_to_server_user(path)


# ---------------------------------------------------------------- SMTP


@dataclass(frozen=True)
class SmtpAuthAttempt:
    """One bearer login the SMTP server judged (never the token)."""

    user: str
    mechanism: str
    accepted: bool
    reason: str  # why it was refused, "" when accepted


class OAuthSmtpHandler:
    """aiosmtpd handler: AUTH XOAUTH2 and OAUTHBEARER, judged like dovecot judges them; takes no mail."""

    def __init__(self, authority: TokenAuthority, permissions: MailboxPermissions, user_claim: str = "email", *,
                 tenant_id: str):
        self.authority = authority
        self.permissions = permissions
        self.user_claim = user_claim
        self.tenant_id = tenant_id
        self.attempts: list[SmtpAuthAttempt] = []

    async def handle_DATA(self, server, session, envelope):
        return "554 5.7.1 This test server takes no mail"

    async def auth_XOAUTH2(self, server, args):
        return await self._bearer(server, args, "XOAUTH2")

    async def auth_OAUTHBEARER(self, server, args):
        return await self._bearer(server, args, "OAUTHBEARER")

    def judge(self, user: str, token: str) -> tuple[str, str]:
        """(reason it is refused or "", provider style "google"/"microsoft")."""
        try:
            claims = self.authority.verify(token)
        except jwt.ExpiredSignatureError:
            return "token expired", "google"
        except jwt.InvalidTokenError as error:
            return f"token not valid: {error}", "google"
        scopes = token_scopes(claims)
        if self.user_claim in claims:
            if claims.get("iss") != GOOGLE_ISSUER:
                return f"token not issued by {GOOGLE_ISSUER}", "google"
            if GOOGLE_MAIL_SCOPE not in scopes:
                return f"token lacks scope {GOOGLE_MAIL_SCOPE}", "google"
            if str(claims[self.user_claim]).lower() != user.lower():
                return "token was issued for another user", "google"
            return "", "google"
        if "tid" in claims:
            if claims.get("iss") != entra_issuer(self.tenant_id):
                return "token not issued by the tenant", "microsoft"
            if SMTP_PERMISSION not in scopes:
                return f"token lacks {SMTP_PERMISSION}", "microsoft"
            if not self.permissions.allows(user):
                return "the app has no permission on this mailbox", "microsoft"
            return "", "microsoft"
        return "token names no user", "google"

    async def _bearer(self, server, args, mechanism: str):
        from aiosmtpd.smtp import MISSING, AuthResult

        if len(args) > 1:
            try:
                data = base64.b64decode(args[1], validate=True)
            except binascii.Error:
                return AuthResult(success=False, handled=False, message="501 5.5.2 Can't decode base64")
        else:
            data = await server.challenge_auth("", encode_to_b64=False)
            if data is MISSING:
                return AuthResult(success=False, handled=True)
        try:
            user, token = parse_sasl_bearer(mechanism, data)
        except (ValueError, UnicodeDecodeError):
            self.attempts.append(SmtpAuthAttempt("", mechanism, False, "malformed SASL response"))
            return AuthResult(success=False, handled=False, message="501 5.5.2 Syntax error in the bearer data")
        reason, style = self.judge(user, token)
        self.attempts.append(SmtpAuthAttempt(user, mechanism, not reason, reason))
        if not reason:
            return AuthResult(success=True, auth_data=user)
        if style == "microsoft":  # Exchange Online answers at once
            return AuthResult(success=False, handled=False,
                              message="535 5.7.3 Authentication unsuccessful [test server]")
        # Google: a 334 with the reason as base64 JSON; the client answers (an empty line for
        # XOAUTH2, ^A for OAUTHBEARER) and gets the 535.
        if mechanism == "XOAUTH2":
            challenge = f'{{"status":"401","schemes":"bearer","scope":"{GOOGLE_MAIL_SCOPE}"}}'
        else:
            challenge = f'{{"status":"invalid_token","schemes":"bearer","scope":"{GOOGLE_MAIL_SCOPE}"}}'
        if await server.challenge_auth(challenge.encode(), encode_to_b64=True) is MISSING:
            return AuthResult(success=False, handled=True)
        return AuthResult(success=False, handled=False,
                          message="535 5.7.8 Username and Password not accepted. "
                                  "https://support.google.com/mail/?p=BadCredentials")


# RFC 4954 §4: a server must take AUTH lines of at least 12288 octets. aiosmtpd's defaults (512 per
# command, 1001 per line) refuse any real bearer token with "500 Command line too long".
AUTH_LINE_LIMIT = 12288


def _controller_class():
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP

    class BearerSMTP(SMTP):
        line_length_limit = AUTH_LINE_LIMIT + 2

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            # An instance attribute: SMTP's own dict is shared by every aiosmtpd server in the process.
            self.command_size_limits = collections.defaultdict(lambda: SMTP.command_size_limit,
                                                               {"AUTH": AUTH_LINE_LIMIT})

    class BearerController(Controller):
        def factory(self):
            return BearerSMTP(self.handler, **self.SMTP_kwargs)

    return BearerController


class OAuthSmtpServers:
    """Three aiosmtpd servers taking bearer tokens (and the test passwords): plain, STARTTLS
    (required before AUTH) and implicit TLS."""

    def __init__(self, users: dict[str, str], certificate: TestCertificate, authority: TokenAuthority,
                 permissions: MailboxPermissions, user_claim: str = "email", *, tenant_id: str):
        self.users = dict(users)
        self.certificate = certificate
        self.handler = OAuthSmtpHandler(authority, permissions, user_claim, tenant_id=tenant_id)
        self.controllers = {}
        self.ports: dict[str, int] = {}

    @property
    def attempts(self) -> list[SmtpAuthAttempt]:
        return self.handler.attempts

    @property
    def plain(self) -> int:
        return self.ports["plain"]

    @property
    def starttls(self) -> int:
        return self.ports["starttls"]

    @property
    def implicit(self) -> int:
        return self.ports["implicit"]

    def start(self) -> OAuthSmtpServers:
        controller_class = _controller_class()
        logging.getLogger("mail.log").setLevel(logging.ERROR)
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(self.certificate.cert, self.certificate.key)
        passwords = _Authenticator(self.users)
        settings = {
            "plain": {"auth_require_tls": False},
            "starttls": {"tls_context": tls, "require_starttls": True},
            "implicit": {"ssl_context": tls, "auth_require_tls": False},  # else AUTH is not advertised
        }
        for name, extra in settings.items():
            for attempt in range(_START_ATTEMPTS):
                port = free_port()  # port=0 does not work with aiosmtpd's Controller
                controller = controller_class(self.handler, hostname="127.0.0.1", port=port, authenticator=passwords,
                                        auth_required=True, server_hostname="localhost", **extra)
                try:
                    controller.start()
                except Exception:
                    if attempt == _START_ATTEMPTS - 1:
                        self.stop()
                        raise
                    continue
                self.controllers[name], self.ports[name] = controller, port
                break
        return self

    def stop(self) -> None:
        for controller in self.controllers.values():
            try:
                controller.stop()
            except Exception:  # noqa: BLE001 - stopping is best effort
                pass
        self.controllers.clear()
