"""The token step of Test & Enable (P14): an access token from the profile's token endpoint, before the
probe signs in with SASL XOAUTH2 or OAUTHBEARER.

- Microsoft Entra ID (Authenticate Using 7): client credentials (RFC 6749 §4.4), the client
  authenticated by its secret or by a certificate assertion (RFC 7523 §2.2, signed with PyJWT).
- Google (5): a service account's signed JWT assertion acting for the mailbox's address (RFC 7523
  §2.1, domain-wide delegation).

Bounded like a probe: the request runs inside the probe's budget (the profile's timeout for the whole
probe, the run's Abort), on a socket the watchdog ends; at most READ_LIMIT bytes are read. TLS is
always verified. Tokens are cached in memory for one run and their lifetime, one per profile and
address (an app-only token names no address: one per profile); a failure is cached too, so 500
mailboxes on a profile with a wrong secret ask once. No token, secret or assertion is ever logged
or put in a message: messages name the provider's error code and its fix.
"""

from __future__ import annotations

import http.client
import json
import math
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urlencode, urlsplit

from ..domain.oauth import GOOGLE_SCOPE, MICROSOFT_SCOPE, KeyProblem, client_certificate, service_account_key, token_url
from ..domain.options import AuthMethod
from ..domain.text import has_control_chars
from ..i18n import N_, say
from .limits import READ_LIMIT, Budget
from .oauth_words import explain_error, safe_answer, timeout_message, transport_message
from .probes.tls import verified_context
from .redact import Redactor

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
EXPIRY_MARGIN = 60.0  # seconds: a token this close to its end is fetched again
MIN_LIFETIME, MAX_LIFETIME = 1, 86_400  # seconds a token may say it lasts (expires_in, a JWT's exp)
DEFAULT_LIFETIME = 3600  # when the endpoint does not say (expires_in is only RECOMMENDED, RFC 6749 §5.1)
__all__ = ["explain_error"]  # with the other failures' words, in oauth_words.py


class TokenError(Exception):
    """The token step failed: `message` says what to fix; `answer` is the endpoint's (secret-free) words."""

    def __init__(self, message: str, answer: str = "", *, final: bool = True):
        super().__init__(message)
        self.message, self.answer, self.final = message, answer, final


@dataclass(frozen=True)
class TokenRequest:
    """What one token needs. Secrets never appear in repr()."""

    method: int  # AuthMethod.OAUTH or GMAIL_OAUTH
    token_url: str
    client_id: str
    scope: str
    subject: str = ""  # the mailbox address a service account acts for; "" for an app-only token
    client_secret: str = field(default="", repr=False)
    certificate_pem: str = field(default="", repr=False)
    service_account_key: str = field(default="", repr=False)
    cache_key: tuple = ()  # (profile id, profile version, subject)

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.client_secret,) if s)


@dataclass(frozen=True)
class Token:
    access_token: str = field(repr=False)
    expires_at: float  # time.monotonic() clock
    expires_on: datetime  # UTC, for showing
    scopes: tuple[str, ...]
    identity: str  # who the token was issued to (never the token)
    token_type: str = "Bearer"

    def describe(self) -> str:
        when = f"{self.expires_on:%Y-%m-%d %H:%M:%S}"
        if not self.scopes:
            return say("Token issued to {label}, valid until {when} UTC, scopes: (none stated).", label=self.identity,
                       when=when)
        return say("Token issued to {label}, valid until {when} UTC, scopes: {scopes}.", label=self.identity,
                   when=when, scopes=", ".join(self.scopes))


class TokenCache:
    """Tokens (and failures) for one run, by (profile, version, address). Thread-safe; a second probe
    for the same key waits for the first one's answer instead of asking again."""

    def __init__(self):
        self._lock = threading.Lock()
        self._entries: dict[tuple, Token | TokenError] = {}
        self._pending: dict[tuple, threading.Event] = {}
        self.requests = 0  # token requests sent, for tests and benchmarks

    def get(self, request: TokenRequest, budget: Budget) -> Token:
        key = request.cache_key or (request.token_url, request.client_id, request.subject)
        while True:
            with self._lock:
                entry = self._entries.get(key)
                if isinstance(entry, Token) and entry.expires_at - EXPIRY_MARGIN > time.monotonic():
                    return entry
                if isinstance(entry, TokenError):
                    raise entry
                pending = self._pending.get(key)
                if pending is None:
                    pending = self._pending[key] = threading.Event()
                    mine = True
                    self.requests += 1
                else:
                    mine = False
            if mine:
                break
            while not pending.wait(0.1):
                if budget.stopped or budget.left() <= 0.001:
                    raise TokenError(timeout_message(request, budget), final=False)
        try:
            token = fetch_token(request, budget)
        except TokenError as exc:
            with self._lock:
                if exc.final:
                    self._entries[key] = exc
            raise
        else:
            with self._lock:
                self._entries[key] = token
            return token
        finally:
            with self._lock:
                self._pending.pop(key, None)
            pending.set()


# ---------------------------------------------------------------- the request


def token_request(profile, method: int, address: str, secrets: dict[str, str]) -> TokenRequest | str:
    """What the token step asks for, from a stored profile and its clear OAuth secrets (P14), for a mailbox
    address; or why the profile cannot get a token (one sentence)."""
    def missing(what: str) -> str:
        return say("Server profile {name} authenticates with {method} but has no {what} (rule P14).",
                   name=repr(profile.name), method=AuthMethod.label_of(method), what=what)

    if method == AuthMethod.GMAIL_OAUTH:
        if not secrets["oauth_service_account_key"]:
            return missing(N_("service account key"))
        try:
            key = service_account_key(secrets["oauth_service_account_key"])
        except KeyProblem as exc:
            return say("{reason} Re-enter it on server profile {name} (rule P14).", reason=str(exc),
                       name=repr(profile.name))
        if not address:
            return say("A Gmail OAuth token acts for a mailbox's address, and no mailbox was given.")
        return TokenRequest(method, token_url(method, "", profile.oauth_token_endpoint, key.token_uri),
                            profile.oauth_client_id.strip(), profile.oauth_scope.strip() or GOOGLE_SCOPE, address,
                            service_account_key=secrets["oauth_service_account_key"],
                            cache_key=(profile.id, profile.version, address.lower()))
    if not profile.oauth_client_id.strip():
        return missing(N_("Client ID"))
    if not (secrets["oauth_client_secret"] or secrets["oauth_certificate"]):
        return missing(N_("client secret or certificate"))
    if not (profile.oauth_tenant_id.strip() or profile.oauth_token_endpoint.strip()):
        return missing(N_("Tenant ID"))
    # An app-only token names no mailbox: one serves every address of the profile.
    return TokenRequest(method, token_url(method, profile.oauth_tenant_id, profile.oauth_token_endpoint),
                        profile.oauth_client_id.strip(), profile.oauth_scope.strip() or MICROSOFT_SCOPE,
                        client_secret="" if secrets["oauth_certificate"] else secrets["oauth_client_secret"],
                        certificate_pem=secrets["oauth_certificate"], cache_key=(profile.id, profile.version, ""))


def token_now(request: TokenRequest, cache: TokenCache, timeout: float) -> Token:
    """A token within `timeout` seconds (Test Connection); TokenError otherwise."""
    from .limits import budget_for

    with budget_for(timeout) as budget:
        return cache.get(request, budget)


def _now() -> int:
    return int(time.time())


def _jwt(claims: dict, key_pem: str, headers: dict) -> str:
    import jwt  # PyJWT with cryptography: no hand-rolled signatures

    return jwt.encode(claims, key_pem, algorithm="RS256", headers=headers)


def request_body(request: TokenRequest) -> dict[str, str]:
    """The form the token endpoint is sent (RFC 6749 §4.4 with §2.3.1, or RFC 7523)."""
    now = _now()
    if request.method == AuthMethod.GMAIL_OAUTH:
        try:
            key = service_account_key(request.service_account_key)
        except KeyProblem as exc:
            raise TokenError(say("{reason} Re-enter the key on the profile (rule P14).", reason=str(exc))) from None
        issuer = key.client_email or request.client_id
        headers = {"kid": key.private_key_id} if key.private_key_id else {}
        claims = {"iss": issuer, "sub": request.subject, "scope": request.scope, "aud": request.token_url,
                  "iat": now, "exp": now + 3600}
        return {"grant_type": JWT_BEARER_GRANT, "assertion": _jwt(claims, key.private_key_pem, headers)}
    body = {"grant_type": "client_credentials", "client_id": request.client_id, "scope": request.scope}
    if request.certificate_pem:
        try:
            cert = client_certificate(request.certificate_pem)
        except KeyProblem as exc:
            raise TokenError(say("{reason} Re-enter the certificate on the profile (rule P14).",
                                 reason=str(exc))) from None
        claims = {"iss": request.client_id, "sub": request.client_id, "aud": request.token_url,
                  "jti": str(uuid.uuid4()), "iat": now, "nbf": now, "exp": now + 600}
        body["client_assertion_type"] = ASSERTION_TYPE
        body["client_assertion"] = _jwt(claims, cert.private_key_pem, {"x5t": cert.x5t, "x5t#S256": cert.x5t_s256})
    else:
        body["client_secret"] = request.client_secret
    return body


def fetch_token(request: TokenRequest, budget: Budget) -> Token:
    """POST the request to the token endpoint within `budget`; a Token, or TokenError saying what to fix."""
    url = urlsplit(request.token_url)
    if url.scheme != "https" or not url.hostname:
        raise TokenError(say("The token endpoint {url} is not an https URL (rule P14).", url=repr(request.token_url)))
    # Known before the first byte is sent: an endpoint may echo the secret in any form, even in a refusal.
    redact = Redactor(request.secrets)
    body = urlencode(request_body(request))
    host, port = url.hostname, url.port or 443
    where = f"{host}:{port}"
    sock = None
    try:
        sock = _connect(host, port, budget)
        tls = verified_context().wrap_socket(sock, server_hostname=host)
        sock = tls
        conn = http.client.HTTPSConnection(host, port, timeout=budget.left())
        conn.sock = tls
        path = url.path + (f"?{url.query}" if url.query else "")
        conn.request("POST", path or "/", body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json",
            "User-Agent": "mailbox-tui"})
        response = conn.getresponse()
        raw = response.read(READ_LIMIT + 1)
        status = response.status
    except Exception as exc:  # noqa: BLE001 - every way it can fail becomes one sentence
        message = redact(transport_message(exc, request, where, budget))
        raise TokenError(message, final=not budget.aborted) from None
    finally:
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass
    if len(raw) > READ_LIMIT:
        raise TokenError(say("The token endpoint {where} sent more than {size} KiB: it is not a token endpoint, or it "
                             "misbehaves. Check the profile's Token Endpoint.", where=where, size=READ_LIMIT // 1024))
    try:
        answer = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        answer = None
    if status == 200 and isinstance(answer, dict) and isinstance(answer.get("access_token"), str):
        try:
            return _token(answer, request, where)
        except TokenError as exc:  # it may quote a value the endpoint sent
            raise TokenError(redact(exc.message)) from None
    # The endpoint's words are redacted before anything shortens or quotes them, and the result again.
    shown = {k: redact(v) if isinstance(v, str) else v for k, v in answer.items()} if isinstance(answer, dict) else None
    raise TokenError(redact(explain_error(status, shown, request, where)), redact(safe_answer(status, shown)))


def _connect(host: str, port: int, budget: Budget) -> socket.socket:
    """A socket to the endpoint, watched by the budget before it connects (as a probe's is): the
    deadline or the run's Abort ends a connect, a handshake or a read that would go on."""
    last: OSError | None = None
    for family, kind, proto, _, address in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        sock = socket.socket(family, kind, proto)
        try:
            budget.watch(sock)
            sock.settimeout(budget.left())
            sock.connect(address)
            return sock
        except OSError as exc:
            sock.close()
            last = exc
            if budget.stopped:
                break
    raise last or OSError("no address to connect to")


def _token(answer: dict, request: TokenRequest, where: str) -> Token:
    """The token in a 200 answer, or TokenError naming the endpoint: a token the SASL sign-in could not carry
    safely (a control character would add XOAUTH2/OAUTHBEARER fields), or a lifetime that is not a number
    of seconds from 1 s to 1 day (expires_in, or the JWT's exp)."""
    access = answer["access_token"]
    if not access or has_control_chars(access):
        raise TokenError(say("The token endpoint {where} sent an access token that is empty or holds control "
                             "characters: sent to the mail server it would add fields to the SASL sign-in (XOAUTH2, "
                             "OAUTHBEARER). Nothing was sent to the mail server. Check the profile's Token Endpoint.",
                             where=where))
    lifetime = _lifetime(answer.get("expires_in", DEFAULT_LIFETIME), "expires_in", where)
    claims = _claims(access)
    scopes = str(answer.get("scope") or claims.get("scope") or claims.get("scp") or "").split()
    roles = claims.get("roles")
    if isinstance(roles, list):
        scopes += [str(r) for r in roles if str(r) not in scopes]
    now = time.time()
    if "exp" in claims:
        exp = claims["exp"]
        # Seconds from now; a time beyond year 33000 (or not a number) is shown as it came: it fails anyway.
        left = _lifetime(exp - now if _is_number(exp) and abs(exp) < 10**12 else exp,
                         N_("the token's exp claim, in seconds from now"), where)
        lifetime = min(lifetime, left)
        expires_on = datetime.fromtimestamp(now + left, timezone.utc).replace(tzinfo=None, microsecond=0)
    else:
        expires_on = datetime.fromtimestamp(now + lifetime, timezone.utc).replace(tzinfo=None, microsecond=0)
    return Token(access, time.monotonic() + lifetime, expires_on, tuple(scopes), _identity(claims, request),
                 str(answer.get("token_type") or "Bearer"))


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _lifetime(value, what: str, where: str) -> float:
    """Seconds a token lasts, from 1 to 1 day; anything else (not finite, out of range, not a number) is a
    TokenError naming the endpoint. A string of ASCII digits counts (some endpoints quote expires_in)."""
    seconds = None
    if _is_number(value):
        seconds = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 12:
        seconds = int(value)
    finite = seconds is not None and (not isinstance(seconds, float) or math.isfinite(seconds))
    if not finite or not MIN_LIFETIME <= seconds <= MAX_LIFETIME:
        rounded = isinstance(value, float) and math.isfinite(value) and abs(value) < 1e15
        said = f"{value:.0f}" if rounded else repr(value)  # a number, or a text, its control characters escaped
        said = said if len(said) <= 24 else said[:20] + "…"
        raise TokenError(say("The token endpoint {where} sent a token whose lifetime ({what}: {value}) is not from "
                             "{least} second to 1 day: it is not a token endpoint, it misbehaves, or this machine's "
                             "clock is wrong. Nothing was sent to the mail server. Check the profile's Token "
                             "Endpoint.", where=where, what=what, value=said, least=MIN_LIFETIME))
    return float(seconds)


def _claims(token: str) -> dict:
    """An access token's claims when it is a JWT (Microsoft's are; Google's are opaque): for showing
    its expiry, scopes and identity. Not verified: the mail server does that."""
    try:
        import jwt

        claims = jwt.decode(token, options={"verify_signature": False})
    except Exception:  # noqa: BLE001 - an opaque token has no claims to show
        return {}
    return claims if isinstance(claims, dict) else {}


def _identity(claims: dict, request: TokenRequest) -> str:
    if claims.get("email"):
        return str(claims["email"])
    if claims.get("idtyp") == "app" or claims.get("appid"):
        app = claims.get("app_displayname") or claims.get("appid") or request.client_id
        return say("the app {app} (service principal {oid}, tenant {tid})", app=app, oid=claims.get("oid", "?"),
                   tid=claims.get("tid", "?"))
    if request.subject:
        return request.subject
    return say("the app {app}", app=request.client_id)
