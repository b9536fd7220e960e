"""A token endpoint for tests: the one stand-in the OAuth tests allow (nothing offline issues tokens
the way Microsoft Entra ID or Google do).

HTTPS on 127.0.0.1 with a certificate from a throwaway CA. It follows

* RFC 6749 §4.4 client credentials, with the client authenticated by ``client_secret_basic``,
  ``client_secret_post`` or a ``private_key_jwt`` assertion (RFC 7523 §2.2, signed with a
  certificate registered on the app), at ``/{tenant}/oauth2/v2.0/token`` (Entra ID's shape; errors
  carry ``AADSTS`` codes) and at ``/token``;
* RFC 7523 §2.1 JWT bearer grants, Google service-account style, at ``/token`` (and the Microsoft
  path, where they are refused as Entra ID does): the assertion is signed with the service
  account's key, ``sub`` names the mailbox for domain-wide delegation.

Access tokens are JWTs signed by the shared :class:`~support.oauth_tokens.TokenAuthority`, which the
test dovecot and SMTP server trust. Per test, a test can force an error (``set_mode``), change the
token's lifetime or claims, make a successful answer hostile (``set_answer``), have every refusal echo
the client secret (``echo_secret``), and read every request the endpoint saw (``requests``,
``request_counts``, ``issued_counts``). GET ``/{tenant}/v2.0/.well-known/openid-configuration`` and the
JWKS make it usable as an MSAL authority too.
"""

from __future__ import annotations

import base64
import collections
import datetime as dt
import hmac
import json
import re
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote_plus

import jwt

from support.mailservers import TestCertificate
from support.oauth_tokens import (EWS_APP_PERMISSION, EXCHANGE_PERMISSIONS, EXCHANGE_RESOURCE, GOOGLE_MAIL_SCOPE, GRAPH_PERMISSIONS,
                                  GRAPH_RESOURCE,
                                  ClientCertificate, TokenAuthority, app_claims, google_claims,
                                  new_rsa_key, private_pem)

CLIENT_CREDENTIALS = "client_credentials"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# Resources an Exchange app may ask a token for (scope "<resource>/.default").
_EXCHANGE_RESOURCES = (EXCHANGE_RESOURCE, "https://outlook.office.com")
# Microsoft Graph: its own application permissions, and tokens carry them in `roles` only (no `scope`).
_GRAPH_RESOURCES = (GRAPH_RESOURCE,)
# Scopes Google knows; anything else is invalid_scope.
_GOOGLE_SCOPES = frozenset({GOOGLE_MAIL_SCOPE, "https://www.googleapis.com/auth/gmail.readonly",
                            "https://www.googleapis.com/auth/gmail.send",
                            "https://www.googleapis.com/auth/userinfo.email", "openid", "email"})
# Audiences Google accepts in a service-account assertion besides the URL it was posted to.
_GOOGLE_TOKEN_AUDIENCES = ("https://oauth2.googleapis.com/token", "https://www.googleapis.com/oauth2/v4/token",
                           "https://accounts.google.com/o/oauth2/token")
_MAX_BODY = 64 * 1024
_MAX_HANG = 60.0  # a hung or dripping response never outlives this, whatever the client does
_SKEW = 300  # seconds of clock skew allowed on assertions, as Entra ID allows


# ---------------------------------------------------------------- registrations


@dataclass
class AppRegistration:
    """A Microsoft Entra ID app registration using client credentials (Authenticate Using 7)."""

    client_id: str
    tenant_id: str
    tenant_domain: str
    name: str = "mailbox-tui test app"
    secret: str | None = None
    secret_expired: bool = False
    certificates: list[ClientCertificate] = field(default_factory=list)
    # Application permissions an admin consented to (Office 365 Exchange Online, and Microsoft Graph).
    granted: set[str] = field(default_factory=lambda: set(EXCHANGE_PERMISSIONS))

    def in_tenant(self, tenant: str | None) -> bool:
        return tenant is None or tenant.lower() in (self.tenant_id.lower(), self.tenant_domain.lower())


@dataclass
class ServiceAccount:
    """A Google service account (Authenticate Using 5) and its domain-wide delegation grant."""

    client_email: str
    client_id: str
    project_id: str
    domain: str
    delegated_scopes: set[str] = field(default_factory=lambda: {GOOGLE_MAIL_SCOPE})
    key: Any = field(default_factory=new_rsa_key, repr=False)
    private_key_id: str = field(default_factory=lambda: uuid.uuid4().hex + "00000000")

    def key_json(self, token_uri: str) -> str:
        """The JSON key file Google Cloud hands out, with `token_uri` pointing at the test endpoint."""
        return json.dumps({
            "type": "service_account", "project_id": self.project_id,
            "private_key_id": self.private_key_id, "private_key": private_pem(self.key),
            "client_email": self.client_email, "client_id": self.client_id,
            "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": token_uri,
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/"
                                    + self.client_email.replace("@", "%40"),
            "universe_domain": "googleapis.com",
        }, indent=2)

    def assertion(self, token_uri: str, *, subject: str | None = None, scope: str = GOOGLE_MAIL_SCOPE,
                  lifetime: int = 3600, now: float | None = None, key: Any = None) -> str:
        """An RFC 7523 grant assertion as Google's client libraries build it (for tests that
        talk to the endpoint by hand; the product builds its own)."""
        now = time.time() if now is None else now
        claims = {"iss": self.client_email, "scope": scope, "aud": token_uri,
                  "iat": int(now), "exp": int(now + lifetime)}
        if subject:
            claims["sub"] = subject
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": self.private_key_id})


class Registry:
    """The apps and service accounts the endpoint knows; shared by the trusted and untrusted endpoints."""

    def __init__(self):
        self.apps: dict[str, AppRegistration] = {}
        self.service_accounts: dict[str, ServiceAccount] = {}
        # On-premises Exchange URLs that Hybrid Modern Auth added as service principal names of Office 365
        # Exchange Online: a token for "<url>/.default" has that URL as its audience.
        self.hybrid_resources: set[str] = set()
        self._lock = threading.Lock()

    def add_app(self, app: AppRegistration) -> AppRegistration:
        with self._lock:
            self.apps[app.client_id] = app
        return app

    def add_service_account(self, account: ServiceAccount) -> ServiceAccount:
        with self._lock:
            self.service_accounts[account.client_email] = account
        return account

    def remove(self, registration: AppRegistration | ServiceAccount) -> None:
        with self._lock:
            if isinstance(registration, AppRegistration):
                self.apps.pop(registration.client_id, None)
            else:
                self.service_accounts.pop(registration.client_email, None)

    def tenant_known(self, tenant: str) -> bool:
        with self._lock:
            return any(app.in_tenant(tenant) for app in self.apps.values())


# ---------------------------------------------------------------- errors

# name -> (HTTP status, OAuth error, AADSTS code, Entra ID text, Google/RFC text). {fields} are filled in.
ERRORS: dict[str, tuple[int, str, int, str, str]] = {
    "invalid_client": (
        401, "invalid_client", 7000215,
        "Invalid client secret provided. Ensure the secret being sent in the request is the client secret "
        "value, not the client secret ID, for a secret added to app '{client_id}'.",
        "Unauthorized"),
    "expired_secret": (
        401, "invalid_client", 7000222,
        "The provided client secret keys for app '{client_id}' are expired. Visit the Azure portal to create "
        "new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials "
        "for added security: https://aka.ms/certCreds.",
        "The OAuth client secret has expired."),
    "no_client_credentials": (
        401, "invalid_client", 7000218,
        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        "Client authentication failed."),
    "bad_client_assertion": (
        401, "invalid_client", 700027,
        "Client assertion failed signature validation. {reason}",
        "Client assertion failed signature validation. {reason}"),
    "client_assertion_time": (
        401, "invalid_client", 700024,
        "Client assertion is not within its valid time range. {reason}",
        "Client assertion is not within its valid time range. {reason}"),
    "unauthorized_client": (
        400, "unauthorized_client", 700016,
        "Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can "
        "happen if the application has not been installed by the administrator of the tenant or consented "
        "to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
        "Client is unauthorized to retrieve access tokens using this method, or client not authorized for "
        "any of the scopes requested."),
    "invalid_scope": (
        400, "invalid_scope", 70011,
        "The provided request must include a 'scope' input parameter. The provided value for the input "
        "parameter 'scope' is not valid. The scope {scope} is not valid.",
        "Invalid OAuth scope or ID token audience provided."),
    "scope_not_default": (
        400, "invalid_scope", 1002012,
        "The provided value for scope {scope} is not valid. Client credential flows must have a scope value "
        "with /.default suffixed to the resource identifier (application ID URI).",
        "Invalid OAuth scope or ID token audience provided."),
    "consent_required": (
        400, "invalid_grant", 65001,
        "The user or administrator has not consented to use the application with ID '{client_id}' named "
        "'{name}'. Send an interactive authorization request for this user and resource.",
        "Client is unauthorized to retrieve access tokens using this method, or client not authorized for "
        "any of the scopes requested."),
    "resource_not_found": (
        400, "invalid_resource", 500011,
        "The resource principal named {resource} was not found in the tenant named {tenant}. This can "
        "happen if the application has not been installed by the administrator of the tenant or consented "
        "to by any user in the tenant. You might have sent your authentication request to the wrong tenant.",
        "Invalid OAuth scope or ID token audience provided."),
    "tenant_not_found": (
        400, "invalid_request", 90002,
        "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into "
        "the correct cloud.",
        "Invalid request."),
    "unsupported_grant_type": (
        400, "unsupported_grant_type", 70003,
        "The app requested an unsupported grant type '{grant_type}'.",
        "Invalid grant_type: {grant_type}"),
    "invalid_request": (
        400, "invalid_request", 900144,
        "The request body must contain the following parameter: '{parameter}'.",
        "Missing required parameter: {parameter}"),
    "invalid_grant": (
        400, "invalid_grant", 50013,
        "Assertion failed signature validation. {reason}",
        "{reason}"),
    "invalid_subject": (
        400, "invalid_grant", 50034,
        "The user account {subject} does not exist in the {tenant} directory.",
        "Invalid email or User ID"),
}
# Modes a test can select with set_mode(); the error names above are modes too.
BEHAVIOUR_MODES = ("normal", "server_error_html", "hang", "drip", "close")
# How echo_secret() can send the client secret back: as it arrived (percent-encoded by the form body,
# upper- or lower-case hex), decoded, base64 (standard or URL-safe), in quotes with backslash escapes,
# JSON-escaped (\uXXXX, \/), or backslash-escaped as Python's unicode_escape writes it.
ECHO_FORMS = ("raw", "percent", "percent lower", "base64", "base64url", "quoted", "json escaped",
              "backslash escaped")


class OAuthError(Exception):
    def __init__(self, kind: str, /, **fields: Any):
        super().__init__(kind)
        self.name = kind  # a key of ERRORS
        self.fields = fields


class _Fields(dict):
    def __missing__(self, key: str) -> str:
        return "?"


# ---------------------------------------------------------------- request log


@dataclass(frozen=True)
class TokenRequest:
    """One request the endpoint answered (or held): what a test asserts on. Never holds a secret."""

    style: str  # "microsoft" or "google"
    path: str
    tenant: str | None
    grant_type: str
    client_id: str | None  # the app's client id, or the service account's client_email
    auth_method: str | None  # client_secret_basic | client_secret_post | private_key_jwt | None
    subject: str | None  # the mailbox a jwt-bearer assertion acts for
    scope: str
    status: int
    error: str | None
    aadsts: int | None
    mode: str

    @property
    def issued(self) -> bool:
        return self.status == 200


# ---------------------------------------------------------------- the endpoint

_MS_TOKEN = re.compile(r"^/([^/]+)/oauth2(?:/v2\.0)?/token/?$")
_MS_DISCOVERY = re.compile(r"^/([^/]+)/(?:v2\.0/)?\.well-known/openid-configuration$")


class TokenEndpoint:
    """The HTTPS token endpoint. Start once per session; `reset()` between tests."""

    def __init__(self, authority: TokenAuthority, certificate: TestCertificate, registry: Registry | None = None,
                 name: str = "token-endpoint"):
        self.authority = authority
        self.certificate = certificate
        self.registry = registry or Registry()
        self.name = name
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._release = threading.Event()
        self.requests: list[TokenRequest] = []
        self.tls_failures = 0  # handshakes that failed (e.g. a client that does not trust the certificate)
        self.handler_errors: list[str] = []  # exceptions inside the endpoint itself (bugs)
        self.reset()

    # ------------------------------------------------ life cycle

    def start(self) -> TokenEndpoint:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(self.certificate.cert, self.certificate.key)
        self._server = _Server(self, tls)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @property
    def port(self) -> int:
        assert self._server is not None, "the endpoint is not running"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def token_url(self, tenant: str) -> str:
        """Entra ID's token URL for `tenant` (a GUID or domain)."""
        return f"{self.base_url}/{tenant}/oauth2/v2.0/token"

    def authority_url(self, tenant: str) -> str:
        """What MSAL takes as `authority` (with instance discovery off)."""
        return f"{self.base_url}/{tenant}"

    @property
    def google_token_url(self) -> str:
        """The RFC 6749/7523 token URL Google-style (service accounts, and client credentials)."""
        return f"{self.base_url}/token"

    # ------------------------------------------------ per-test knobs

    def reset(self) -> None:
        """Back to normal behaviour, default token claims, and an empty request log."""
        with self._lock:
            self._release.set()  # frees any response still hanging from the previous test
            self._release = threading.Event()
            self.mode = "normal"
            self.drip_interval = 0.5
            self.token_lifetime: float = 3599
            self.claim_overrides: dict[str, Any] = {}
            self.scope_claim = "scope"
            self.answer_overrides: dict[str, Any] = {}
            self.echo: str | None = None
            self.requests = []
            self.tls_failures = 0

    def set_mode(self, mode: str, *, interval: float | None = None) -> None:
        """How the endpoint answers token requests from now on:

        * ``"normal"``: issue tokens, or the error the request itself deserves;
        * an error name from ``ERRORS`` (``invalid_client``, ``unauthorized_client``, ``invalid_scope``,
          ``consent_required``, ...): that error for every request, in the path's style;
        * ``"server_error_html"``: HTTP 500 with an HTML page;
        * ``"hang"``: read the request and never answer (until reset, stop or 60 s);
        * ``"drip"``: answer the normal response one byte every `interval` seconds (default 0.5);
        * ``"close"``: read the request and close the connection without a word.
        """
        if mode not in ERRORS and mode not in BEHAVIOUR_MODES:
            raise ValueError(f"unknown mode {mode!r}")
        with self._lock:
            self.mode = mode
            if interval is not None:
                self.drip_interval = interval

    def set_answer(self, **overrides: Any) -> None:
        """Change what a successful answer carries (a hostile or broken endpoint): each keyword replaces
        that field of the JSON answer (``expires_in=float("inf")`` is sent as ``Infinity``, as Python's
        json writes it); a callable is given the field's issued value (``access_token=lambda t: t +
        "\\x01auth=Bearer injected"``); ``None`` leaves the field out."""
        with self._lock:
            self.answer_overrides = dict(overrides)

    def echo_secret(self, form: str) -> None:
        """From now on refuse every token request with ``invalid_request``, its ``error_description``
        echoing the client secret the request carried, in `form` (one of ``ECHO_FORMS``): what a careless
        or hostile endpoint does. ``"percent"`` is the secret exactly as it arrived in the form body."""
        if form not in ECHO_FORMS:
            raise ValueError(f"unknown echo form {form!r}")
        with self._lock:
            self.echo = form

    def request_counts(self) -> collections.Counter:
        """Requests per (client, subject), whatever their outcome."""
        with self._lock:
            return collections.Counter((r.client_id, r.subject) for r in self.requests)

    def issued_counts(self) -> collections.Counter:
        """Tokens issued per (client, subject)."""
        with self._lock:
            return collections.Counter((r.client_id, r.subject) for r in self.requests if r.issued)

    def _record(self, request: TokenRequest) -> None:
        with self._lock:
            self.requests.append(request)

    # ------------------------------------------------ token requests

    def handle_token_request(self, path: str, host: str, headers, form: dict[str, str]) -> tuple[int, dict, dict]:
        """(status, extra headers, JSON body) for one POST to a token path; records it."""
        match = _MS_TOKEN.match(path)
        style, tenant = ("microsoft", match.group(1)) if match else ("google", None)
        grant_type = form.get("grant_type", "")
        info: dict[str, Any] = {"client_id": form.get("client_id"), "auth_method": None, "subject": None,
                                "tenant": tenant, "grant_type": grant_type, "scope": form.get("scope", "")}
        try:
            if self.mode in ERRORS:
                self._peek_identity(headers, form, info)
                raise OAuthError(self.mode)
            if grant_type == CLIENT_CREDENTIALS:
                body = self._client_credentials(f"https://{host}{path}", tenant, headers, form, info)
            elif grant_type == JWT_BEARER and style == "google":
                body = self._jwt_bearer(f"https://{host}{path}", form, info)
            elif not grant_type:
                raise OAuthError("invalid_request", parameter="grant_type")
            else:
                raise OAuthError("unsupported_grant_type")
            status, extra, aadsts, error = 200, {}, None, None
        except OAuthError as failure:
            status, extra, body, aadsts = self._error_response(style, failure, info, headers)
            error = body["error"]
        self._record(TokenRequest(style, path, tenant, grant_type, info["client_id"], info["auth_method"],
                                  info["subject"], info["scope"], status, error, aadsts, self.mode))
        return status, extra, body

    def record_held(self, path: str, headers, form: dict[str, str], status: int, error: str | None) -> None:
        """Log a request answered by a behaviour mode (hang, close, HTML 500) rather than judged."""
        match = _MS_TOKEN.match(path)
        info: dict[str, Any] = {"client_id": form.get("client_id"), "auth_method": None, "subject": None,
                                "scope": form.get("scope", "")}
        self._peek_identity(headers, form, info)
        self._record(TokenRequest("microsoft" if match else "google", path, match.group(1) if match else None,
                                  form.get("grant_type", ""), info["client_id"], info["auth_method"],
                                  info["subject"], info["scope"], status, error, None, self.mode))

    def _error_response(self, style: str, failure: OAuthError, info: dict,
                        headers) -> tuple[int, dict, dict, int | None]:
        status, error, code, ms_text, google_text = ERRORS[failure.name]
        fields = _Fields({**info, **failure.fields})
        extra = {}
        if status == 401 and headers.get("Authorization", "").lower().startswith("basic "):
            extra["WWW-Authenticate"] = 'Basic realm="token"'  # RFC 6749 §5.2
        if style == "microsoft":
            now = dt.datetime.now(dt.UTC)
            trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
            text = ms_text.format_map(fields).strip()
            description = (f"AADSTS{code}: {text}\r\nTrace ID: {trace}\r\nCorrelation ID: {correlation}\r\n"
                           f"Timestamp: {now:%Y-%m-%d %H:%M:%SZ}")
            body = {"error": error, "error_description": description, "error_codes": [code],
                    "timestamp": f"{now:%Y-%m-%d %H:%M:%SZ}", "trace_id": trace, "correlation_id": correlation,
                    "error_uri": f"https://login.microsoftonline.com/error?code={code}"}
            return status, extra, body, code
        if failure.name == "consent_required":  # Google: domain-wide delegation missing
            error = "unauthorized_client"
        if failure.name in ("invalid_grant", "bad_client_assertion", "client_assertion_time") \
                and info["grant_type"] == JWT_BEARER:
            status, error = 400, "invalid_grant"
        return status, extra, {"error": error, "error_description": google_text.format_map(fields).strip()}, None

    def _peek_identity(self, headers, form: dict[str, str], info: dict) -> None:
        """Who is asking, for the request log, without judging the credentials (forced-error modes)."""
        basic = _basic_credentials(headers)
        if basic:
            info["client_id"], info["auth_method"] = basic[0], "client_secret_basic"
        elif "client_secret" in form:
            info["auth_method"] = "client_secret_post"
        elif "client_assertion" in form:
            info["auth_method"] = "private_key_jwt"
        for name in ("client_assertion", "assertion"):
            if name in form:
                try:
                    claims = jwt.decode(form[name], options={"verify_signature": False})
                except jwt.InvalidTokenError:
                    continue
                info["client_id"] = info["client_id"] or claims.get("iss")
                if name == "assertion":
                    info["subject"] = claims.get("sub")
                    info["scope"] = claims.get("scope", info["scope"])
        app = self.registry.apps.get(info["client_id"] or "")
        if app is not None:
            info["name"] = app.name

    def _client_credentials(self, url: str, tenant: str | None, headers, form: dict[str, str], info: dict) -> dict:
        if tenant is not None and not self.registry.tenant_known(tenant):
            raise OAuthError("tenant_not_found")
        app = self._authenticate_client(url, tenant, headers, form, info)
        scope = form.get("scope", "")
        if not scope:
            raise OAuthError("invalid_request", parameter="scope")
        if len(scope.split()) != 1 or not scope.endswith("/.default"):
            raise OAuthError("scope_not_default", scope=scope)
        resource = scope.removesuffix("/.default")
        if resource in _GRAPH_RESOURCES:
            roles = sorted(app.granted & set(GRAPH_PERMISSIONS))
            claims = app_claims(app.tenant_id, app.client_id, roles, scope_claim="", name=app.name)
            return self._issue({**claims, "aud": resource})
        if resource in self.registry.hybrid_resources:
            roles = sorted(app.granted & {EWS_APP_PERMISSION})
            claims = app_claims(app.tenant_id, app.client_id, roles, scope_claim="", name=app.name)
            return self._issue({**claims, "aud": resource})
        if resource not in _EXCHANGE_RESOURCES:
            raise OAuthError("resource_not_found", resource=resource)
        # Without admin consent Entra ID still issues a token, with no roles: the mail server refuses it.
        # full_access_as_app is an Office 365 Exchange Online permission too: EWS in Exchange Online takes it.
        roles = sorted(app.granted & {*EXCHANGE_PERMISSIONS, EWS_APP_PERMISSION})
        claims = app_claims(app.tenant_id, app.client_id, roles, scope_claim=self.scope_claim if roles else "",
                            name=app.name)
        return self._issue(claims)

    def _authenticate_client(self, url: str, tenant: str | None, headers, form: dict[str, str],
                             info: dict) -> AppRegistration:
        basic = _basic_credentials(headers)
        methods = [name for name, present in (("client_secret_basic", basic is not None),
                                              ("client_secret_post", "client_secret" in form),
                                              ("private_key_jwt", "client_assertion" in form)) if present]
        if len(methods) > 1:  # RFC 6749 §2.3: one method per request
            raise OAuthError("invalid_request", parameter="only one of client_secret or client_assertion")
        method = methods[0] if methods else None
        info["auth_method"] = method
        if method == "client_secret_basic":
            client_id, secret = basic
            if form.get("client_id") not in (None, client_id):
                raise OAuthError("invalid_request", parameter="client_id (it differs from the Basic header)")
        elif method == "private_key_jwt":
            if form.get("client_assertion_type") != CLIENT_ASSERTION_TYPE:
                raise OAuthError("invalid_request", parameter="client_assertion_type")
            try:
                unverified = jwt.decode(form["client_assertion"], options={"verify_signature": False})
            except jwt.InvalidTokenError:
                raise OAuthError("bad_client_assertion", reason="The assertion is not a JWT.") from None
            client_id, secret = form.get("client_id") or unverified.get("iss"), None
        else:
            client_id, secret = form.get("client_id"), form.get("client_secret")
        info["client_id"] = client_id
        if not client_id:
            raise OAuthError("invalid_request", parameter="client_id")
        app = self.registry.apps.get(client_id)
        if app is None or not app.in_tenant(tenant):
            raise OAuthError("unauthorized_client")
        info["name"] = app.name
        if method is None:
            raise OAuthError("no_client_credentials")
        if method == "private_key_jwt":
            self._verify_client_assertion(url, app, form["client_assertion"])
        elif app.secret is None or not _secret_matches(secret or "", app.secret):
            raise OAuthError("invalid_client")
        elif app.secret_expired:
            raise OAuthError("expired_secret")
        return app

    def _verify_client_assertion(self, url: str, app: AppRegistration, assertion: str) -> None:
        """RFC 7523 §3 (and Entra ID's rules): signed by a registered certificate, iss = sub = client id,
        aud = this token URL, within exp/nbf."""
        header = jwt.get_unverified_header(assertion)
        candidates = app.certificates
        if "x5t#S256" in header or "x5t" in header:
            # msal pads its base64url thumbprints with "=", RFC 7515 does not: Entra ID takes both.
            s256, sha1 = (str(header.get(name) or "").rstrip("=") for name in ("x5t#S256", "x5t"))
            candidates = [c for c in app.certificates if s256 == c.x5t_s256 or sha1 == c.x5t]
            if not candidates:
                raise OAuthError("bad_client_assertion",
                                 reason=f"The key was not found. Thumbprint of key used by client: "
                                        f"'{header.get('x5t') or header.get('x5t#S256')}'.")
        if not candidates:
            raise OAuthError("bad_client_assertion", reason="No certificate is registered on the app.")
        last: Exception | None = None
        for certificate in candidates:
            try:
                claims = jwt.decode(assertion, certificate.public_key, algorithms=["RS256", "PS256"],
                                    audience=url, leeway=_SKEW,
                                    options={"require": ["exp", "iss", "sub", "aud"]})
            except jwt.InvalidSignatureError as error:
                last = error
                continue
            except (jwt.ExpiredSignatureError, jwt.ImmatureSignatureError) as error:
                raise OAuthError("client_assertion_time", reason=str(error)) from None
            except jwt.InvalidTokenError as error:
                raise OAuthError("bad_client_assertion", reason=str(error)) from None
            if claims["iss"] != app.client_id or claims["sub"] != app.client_id:
                raise OAuthError("bad_client_assertion", reason="iss and sub must be the client id.")
            return
        raise OAuthError("bad_client_assertion", reason=f"Invalid signature ({last}).")

    def _jwt_bearer(self, url: str, form: dict[str, str], info: dict) -> dict:
        assertion = form.get("assertion")
        if not assertion:
            raise OAuthError("invalid_request", parameter="assertion")
        try:
            unverified = jwt.decode(assertion, options={"verify_signature": False})
            header = jwt.get_unverified_header(assertion)
        except jwt.InvalidTokenError:
            raise OAuthError("invalid_grant", reason="Invalid JWT: not a JWT.") from None
        info["client_id"], info["subject"] = unverified.get("iss"), unverified.get("sub")
        info["scope"] = unverified.get("scope", "")
        account = self.registry.service_accounts.get(unverified.get("iss") or "")
        if account is None:
            raise OAuthError("invalid_grant", reason="Invalid grant: account not found")
        if header.get("kid") not in (None, account.private_key_id):
            raise OAuthError("invalid_grant", reason="Invalid JWT Signature.")
        try:  # google-auth always names Google's own token URL as the audience, whatever token_uri says
            claims = jwt.decode(assertion, account.key.public_key(), algorithms=["RS256"],
                                audience=[url, *_GOOGLE_TOKEN_AUDIENCES],
                                leeway=_SKEW, options={"require": ["exp", "iat", "iss", "aud"]})
        except jwt.InvalidSignatureError:
            raise OAuthError("invalid_grant", reason="Invalid JWT Signature.") from None
        except (jwt.ExpiredSignatureError, jwt.ImmatureSignatureError, jwt.InvalidIssuedAtError):
            raise OAuthError("invalid_grant", reason="Invalid JWT: Token must be a short-lived token (60 minutes) "
                             "and in a reasonable timeframe. Check your iat and exp values in the JWT claim.") from None
        except jwt.InvalidAudienceError:
            raise OAuthError("invalid_grant", reason="Invalid JWT: Failed audience check.") from None
        except jwt.InvalidTokenError as error:
            raise OAuthError("invalid_grant", reason=f"Invalid JWT: {error}") from None
        if claims["exp"] - claims["iat"] > 3600:
            raise OAuthError("invalid_grant", reason="Invalid JWT: Token must be a short-lived token (60 minutes) "
                             "and in a reasonable timeframe. Check your iat and exp values in the JWT claim.")
        scopes = set(str(claims.get("scope", "")).split())
        if not scopes or not scopes <= _GOOGLE_SCOPES:
            raise OAuthError("invalid_scope", scope=claims.get("scope", ""))
        subject = claims.get("sub")
        if subject:
            if subject.rpartition("@")[2].lower() != account.domain.lower():
                raise OAuthError("invalid_subject", subject=subject)
            if not scopes <= account.delegated_scopes:
                raise OAuthError("consent_required", name=account.client_email)
        return self._issue(google_claims(subject or account.client_email, scope=" ".join(sorted(scopes)),
                                         client_id=account.client_id))

    def _issue(self, claims: dict[str, Any]) -> dict:
        claims = dict(claims)
        if self.scope_claim != "scope" and "scope" in claims:  # e.g. "scp": dovecot then finds no scope
            value = claims.pop("scope")
            if self.scope_claim:
                claims[self.scope_claim] = value
        claims.update(self.claim_overrides)
        token = self.authority.mint(claims, lifetime=self.token_lifetime)
        lifetime = int(self.token_lifetime)
        answer = {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": token}
        for name, value in self.answer_overrides.items():
            answer[name] = value(answer.get(name)) if callable(value) else value
        return {name: value for name, value in answer.items() if value is not None}

    def echo_answer(self, raw_body: str, form: dict[str, str]) -> dict:
        """The error answer of ``echo_secret``: the client secret as the request carried it, in the form set."""
        found = re.search(r"(?:^|&)client_secret=([^&]*)", raw_body)
        arrived, secret = found.group(1) if found else "", form.get("client_secret", "")
        echoed = {
            "raw": secret,
            "percent": arrived,
            "percent lower": re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), arrived),
            "base64": base64.b64encode(secret.encode()).decode(),
            "base64url": base64.urlsafe_b64encode(secret.encode()).decode().rstrip("="),
            "quoted": '"' + secret.replace("\\", "\\\\").replace('"', '\\"') + '"',
            "json escaped": json.dumps(secret).replace("/", "\\/")[1:-1],
            "backslash escaped": secret.encode("unicode_escape").decode("ascii"),
        }[self.echo or "raw"]
        return {"error": "invalid_request", "error_codes": [900144],
                "error_description": f"AADSTS900144: The request body must contain the following parameter: "
                                     f"'scope'. Your request had the secret {echoed} and no scope.\r\n"
                                     f"Trace ID: {uuid.uuid4()}"}

    # ------------------------------------------------ discovery

    def handle_get(self, path: str) -> tuple[int, dict] | None:
        match = _MS_DISCOVERY.match(path)
        if match:
            tenant = match.group(1)
            return 200, {
                "issuer": f"{self.base_url}/{tenant}/v2.0",
                "token_endpoint": self.token_url(tenant),
                "authorization_endpoint": f"{self.base_url}/{tenant}/oauth2/v2.0/authorize",
                "jwks_uri": f"{self.base_url}/{tenant}/discovery/v2.0/keys",
                "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt",
                                                          "client_secret_basic"],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "grant_types_supported": [CLIENT_CREDENTIALS],
                "tenant_region_scope": "EU",
            }
        if path == "/.well-known/openid-configuration":
            return 200, {"issuer": self.base_url, "token_endpoint": self.google_token_url,
                         "jwks_uri": f"{self.base_url}/oauth2/v3/certs",
                         "grant_types_supported": [CLIENT_CREDENTIALS, JWT_BEARER]}
        if path.endswith("/discovery/v2.0/keys") or path == "/oauth2/v3/certs":
            return 200, {"keys": [self.authority.jwk()]}
        return None


def _basic_credentials(headers) -> tuple[str, str] | None:
    value = headers.get("Authorization", "")
    if not value.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(value[6:].strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        return None
    # RFC 6749 §2.3.1 form-encodes both; many clients do not. Keep the raw secret for _secret_matches.
    return unquote_plus(client_id), secret


def _secret_matches(given: str, expected: str) -> bool:
    candidates = {given, unquote_plus(given)}
    return any(hmac.compare_digest(c.encode("utf-8"), expected.encode("utf-8")) for c in candidates)


# ---------------------------------------------------------------- HTTP plumbing


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, endpoint: TokenEndpoint, tls: ssl.SSLContext):
        self.endpoint = endpoint
        self.tls = tls
        super().__init__(("127.0.0.1", 0), _Handler)

    def get_request(self):
        sock, address = self.socket.accept()
        # The handshake happens in the handler's thread: a client that hangs up on our
        # certificate must not hold up the accept loop.
        return self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address

    def handle_error(self, request, client_address):
        import sys
        import traceback

        error = sys.exc_info()[1]
        if isinstance(error, OSError):  # ssl.SSLError too: failed handshakes are expected in tests
            with self.endpoint._lock:
                self.endpoint.tls_failures += 1
            return
        self.endpoint.handler_errors.append(repr(error))  # a bug in the endpoint: tests can assert none
        traceback.print_exc()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = 10  # seconds a client may take to send its request
    server_version = "mailbox-tui-test-token-endpoint"

    def setup(self):
        self.request.settimeout(self.timeout)
        self.request.do_handshake()
        super().setup()

    def log_message(self, format, *args):  # noqa: A002 - silence the default stderr log
        pass

    def do_GET(self):
        answer = self.server.endpoint.handle_get(self.path.split("?", 1)[0])
        if answer is None:
            self._send(404, {}, {"error": "not_found"})
        else:
            self._send(answer[0], {}, answer[1])

    def do_POST(self):
        endpoint = self.server.endpoint
        path = self.path.split("?", 1)[0]
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY:
            self._send(413, {}, {"error": "invalid_request", "error_description": "Request too large."})
            return
        raw = self.rfile.read(length).decode("utf-8", "replace")
        form = {name: values[0] for name, values in parse_qs(raw, keep_blank_values=True).items()}
        if not (_MS_TOKEN.match(path) or path == "/token"):
            self._send(404, {}, {"error": "not_found"})
            return
        if endpoint.echo:
            endpoint.record_held(path, self.headers, form, 400, "invalid_request")
            self._send(400, {}, endpoint.echo_answer(raw, form))
            return
        mode, release, interval = endpoint.mode, endpoint._release, endpoint.drip_interval
        if mode == "hang":
            endpoint.record_held(path, self.headers, form, 0, None)
            release.wait(_MAX_HANG)
            self.close_connection = True
            return
        if mode == "close":
            endpoint.record_held(path, self.headers, form, 0, None)
            self.close_connection = True
            return
        if mode == "server_error_html":
            endpoint.record_held(path, self.headers, form, 500, "server_error")
            page = ("<!DOCTYPE html><html><head><title>500 Internal Server Error</title></head><body>"
                    "<h1>Internal Server Error</h1><p>The server encountered an internal error.</p>"
                    "</body></html>").encode()
            self._send_raw(500, {"Content-Type": "text/html; charset=utf-8"}, page)
            return
        status, extra, body = endpoint.handle_token_request(path, self.headers.get("Host", ""), self.headers, form)
        headers = {"Cache-Control": "no-store", "Pragma": "no-cache", **extra}
        if mode == "drip":
            self._drip(status, headers, body, interval, release)
        else:
            self._send(status, headers, body)

    def _send(self, status: int, headers: dict, body: dict) -> None:
        self._send_raw(status, {"Content-Type": "application/json; charset=utf-8", **headers},
                       json.dumps(body).encode("utf-8"))

    def _send_raw(self, status: int, headers: dict, payload: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _drip(self, status: int, headers: dict, body: dict, interval: float, release: threading.Event) -> None:
        """The whole response, status line included, one byte at a time: a client's read timeout
        never fires, only an overall deadline stops it."""
        payload = json.dumps(body).encode("utf-8")
        head = [f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}",
                "Content-Type: application/json; charset=utf-8", f"Content-Length: {len(payload)}",
                *(f"{k}: {v}" for k, v in headers.items()), "", ""]
        data = "\r\n".join(head).encode("ascii") + payload
        deadline = time.monotonic() + _MAX_HANG
        for index in range(len(data)):
            if release.is_set() or time.monotonic() > deadline:
                break
            try:
                self.wfile.write(data[index:index + 1])
                self.wfile.flush()
            except OSError:  # the client gave up: that is the point
                break
            release.wait(interval)
        self.close_connection = True
