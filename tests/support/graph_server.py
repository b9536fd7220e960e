"""A Microsoft Graph server for tests (issue 23), written only from Microsoft's published documents as
summarised in docs/testing-graph.md. No Graph server runs offline.

HTTPS on 127.0.0.1 with a certificate from the OAuth test CA. It answers the few app-only requests
Test & Enable makes, for the mailboxes it holds:

* ``GET /v1.0/users/{upn}/mailFolders/inbox`` (and ``sentitems``, ``drafts``), ``…/mailFolders/inbox/messages``
  (``$top``), ``GET /v1.0/users/{upn}/calendar``, ``…/contacts``, ``…/contactFolders``, ``…/todo/lists``;
* ``POST /v1.0/users/{upn}/sendMail`` → ``202 Accepted``, the message recorded (``sent``).

Every request is judged as Graph does, in this order, with Graph's status codes and error bodies
(``{"error": {"code", "message", "innerError": {"date", "request-id", "client-request-id"}}}``):

1. the bearer token: a JWT signed by the test ``TokenAuthority``, issued by the test tenant's Entra ID,
   audience ``https://graph.microsoft.com``, within its lifetime; else 401 ``InvalidAuthenticationToken``;
2. the application permission the request needs, from the token's ``roles``: else 403 ``ErrorAccessDenied``
   "Access is denied. Check credentials and try again.";
3. the user: 404 ``ErrorInvalidUser`` "The requested user '…' is invalid." for an address the tenant does
   not have; 404 ``MailboxNotEnabledForRESTAPI`` for an inactive, soft-deleted or on-premises mailbox;
4. the app's mailbox scope (an Application Access Policy, ``restrict``): 403 ``ErrorAccessDenied``
   "Access to OData is disabled." for a mailbox outside it.

Per test (``reset`` between tests): ``restrict(client_id, addresses)``, ``fail_next(status, code, message,
retry_after=, count=)`` (429 throttling, 5xx), ``throttle_every(n, retry_after=)`` (a steady 429 storm),
``set_mode`` for hostile behaviour (drip, flood, hang, redirect to another host, not JSON), and ``requests``
(method, path, host, app, status, code: never a token) and ``sent`` to assert on.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import jwt

from support.mailservers import TestCertificate
from support.oauth_tokens import GRAPH_RESOURCE, TokenAuthority, entra_issuer

# What each request needs: any one of these application permissions (Microsoft Graph permissions reference).
MAIL_READ = ("Mail.Read", "Mail.ReadWrite")
MAIL_SEND = ("Mail.Send",)
CALENDARS = ("Calendars.Read", "Calendars.ReadWrite")
CONTACTS = ("Contacts.Read", "Contacts.ReadWrite")
TASKS = ("Tasks.Read.All", "Tasks.ReadWrite.All")
ACCESS_DENIED = "Access is denied. Check credentials and try again."
ODATA_DISABLED = "Access to OData is disabled."
NOT_REST_ENABLED = "The mailbox is either inactive, soft-deleted, or is hosted on-premise."
THROTTLED = "Application is over its MailboxConcurrency limit."
MODES = ("normal", "drip", "flood", "hang", "redirect", "not_json", "close", "echo_token")
_MAX_BODY = 64 * 1024
_MAX_HANG = 60.0  # a hung or dripping answer never outlives this
FLOOD_MAX = 8 * 1024 * 1024  # bytes a flood sends at most
_USER = re.compile(r"^/v1\.0/users/([^/]+)/(.+?)/?$")
_WELL_KNOWN_FOLDERS = ("inbox", "sentitems", "drafts")


@dataclass
class GraphMailbox:
    """A mailbox of the test tenant. `rest_enabled` False: inactive, soft-deleted or on premises."""

    address: str
    inbox_messages: int = 3
    rest_enabled: bool = True
    folder_ids: dict[str, str] = field(default_factory=dict)

    def folder_id(self, name: str) -> str:
        return self.folder_ids.setdefault(name, "AAMk" + uuid.uuid4().hex)


@dataclass(frozen=True)
class GraphRequest:
    """One request the server answered: what a test asserts on. Never holds a token."""

    method: str
    path: str
    host: str
    client_id: str | None  # the token's appid, when the token was valid
    status: int
    code: str | None  # Graph's error code, None on success
    mode: str


@dataclass
class _Failure:
    status: int
    code: str
    message: str
    retry_after: str | None
    count: int | None  # requests left to fail; None: every request


class GraphError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(code)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


class GraphServer:
    """The HTTPS Graph server. Start once per session; `reset()` between tests."""

    def __init__(self, authority: TokenAuthority, certificate: TestCertificate, tenant_id: str,
                 mailboxes: list[GraphMailbox], name: str = "graph"):
        self.authority = authority
        self.certificate = certificate
        self.tenant_id = tenant_id
        self.mailboxes = {m.address.lower(): m for m in mailboxes}
        self.name = name
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._release = threading.Event()
        self.handler_errors: list[str] = []
        self.tls_failures = 0
        self.reset()

    # ------------------------------------------------ life cycle

    def start(self) -> GraphServer:
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
        assert self._server is not None, "the server is not running"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        """What an Exchange Online profile's location holds (the Graph base URL)."""
        return f"https://127.0.0.1:{self.port}"

    # ------------------------------------------------ per-test knobs

    def reset(self) -> None:
        with self._lock:
            self._release.set()
            self._release = threading.Event()
            self.mode = "normal"
            self.drip_interval = 0.5
            self.redirect_host = "localhost"
            self.clock_ahead = 0.0  # seconds this server's clock runs ahead: a valid token looks expired here
            self.scopes: dict[str, set[str]] = {}
            self.failures: list[_Failure] = []
            self.throttle_period, self.throttle_failure = 0, None  # throttle_every: every nth request refused
            self._counted = 0  # requests counted for throttle_every
            self.requests: list[GraphRequest] = []
            self.sent: list[dict] = []
            self.tls_failures = 0

    def restrict(self, client_id: str, addresses) -> None:
        """An Application Access Policy (RestrictAccess): the app may open only these mailboxes."""
        with self._lock:
            self.scopes[client_id] = {a.lower() for a in addresses}

    def fail_next(self, status: int, code: str, message: str, *, retry_after: str | int | None = None,
                  count: int | None = 1) -> None:
        """The next `count` requests (None: all) get this error, before anything is judged."""
        with self._lock:
            self.failures.append(_Failure(status, code, message,
                                          None if retry_after is None else str(retry_after), count))

    def throttle_every(self, n: int, *, retry_after: str | int | None = 1) -> None:
        """A storm: from now on every `n`th request (counted across all apps and connections) gets 429
        ApplicationThrottled with this Retry-After, as Graph throttles an app over its limits; 0 ends it."""
        with self._lock:
            self._counted, self.throttle_period = 0, max(0, n)
            self.throttle_failure = _Failure(429, "ApplicationThrottled", THROTTLED,
                                             None if retry_after is None else str(retry_after), None)

    def set_mode(self, mode: str, *, interval: float | None = None) -> None:
        """``drip`` (the answer one byte every `interval` s), ``flood`` (a 200 whose body never ends, up to
        FLOOD_MAX), ``hang`` (never answer), ``redirect`` (302 to the same path on `redirect_host`, another
        host name for this server), ``not_json`` (200 with an HTML page), ``close`` (hang up at once),
        ``echo_token`` (401 whose message quotes the Authorization header it got: a careless server)."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        with self._lock:
            self.mode = mode
            if interval is not None:
                self.drip_interval = interval

    def paths(self, client_id: str | None = None) -> list[str]:
        with self._lock:
            return [r.path for r in self.requests if client_id is None or r.client_id == client_id]

    def _record(self, request: GraphRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _next_failure(self) -> _Failure | None:
        with self._lock:
            if self.throttle_period:
                self._counted += 1
                if self._counted % self.throttle_period == 0:
                    return self.throttle_failure
            for failure in self.failures:
                if failure.count is None:
                    return failure
                if failure.count > 0:
                    failure.count -= 1
                    return failure
        return None

    # ------------------------------------------------ judging a request

    def answer(self, method: str, target: str, headers, body: bytes) -> tuple[int, dict, dict | None, str | None]:
        """(status, extra headers, JSON body or None, the app's client id) for one request."""
        url = urlsplit(target)
        client_id = None
        try:
            failure = self._next_failure()
            if failure is not None:
                extra = {"Retry-After": failure.retry_after} if failure.retry_after is not None else {}
                raise GraphError(failure.status, failure.code, failure.message, extra)
            claims = self._token(headers.get("Authorization", ""))
            client_id = claims.get("appid")
            match = _USER.match(url.path)
            if match is None:
                raise GraphError(400, "BadRequest", f"Resource not found for the segment "
                                                    f"'{url.path.rsplit('/', 1)[-1]}'.")
            upn, resource = unquote(match.group(1)), match.group(2)
            handler, needs = self._route(method, resource)
            if not set(needs) & set(claims.get("roles") or ()):
                raise GraphError(403, "ErrorAccessDenied", ACCESS_DENIED)
            mailbox = self.mailboxes.get(upn.lower())
            if mailbox is None:
                raise GraphError(404, "ErrorInvalidUser", f"The requested user '{upn}' is invalid.")
            if not mailbox.rest_enabled:
                raise GraphError(404, "MailboxNotEnabledForRESTAPI", NOT_REST_ENABLED)
            scope = self.scopes.get(client_id or "")
            if scope is not None and upn.lower() not in scope:
                raise GraphError(403, "ErrorAccessDenied", ODATA_DISABLED)
            status, payload = handler(mailbox, parse_qs(url.query), body)
            return status, {}, payload, client_id
        except GraphError as error:
            return error.status, error.headers, _error_body(error), client_id

    def _token(self, authorization: str) -> dict:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise GraphError(401, "InvalidAuthenticationToken", "Access token is empty.", _challenge())
        try:
            header = jwt.get_unverified_header(token)
            if header.get("kid") != self.authority.kid:
                raise jwt.InvalidSignatureError("unknown key")
            claims = jwt.decode(token, self.authority.key.public_key(), algorithms=["RS256"],
                                audience=GRAPH_RESOURCE, issuer=entra_issuer(self.tenant_id),
                                options={"require": ["exp", "aud", "iss"], "verify_exp": False})
            if claims["exp"] <= time.time() + self.clock_ahead:
                raise jwt.ExpiredSignatureError("expired")
        except jwt.ExpiredSignatureError:
            raise GraphError(401, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.",
                             _challenge()) from None
        except jwt.InvalidAudienceError:
            raise GraphError(401, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.",
                             _challenge()) from None
        except jwt.InvalidTokenError:
            raise GraphError(401, "InvalidAuthenticationToken", "Access token validation failure.",
                             _challenge()) from None
        if claims.get("idtyp") != "app":
            raise GraphError(401, "InvalidAuthenticationToken", "Access token validation failure.", _challenge())
        return claims

    def _route(self, method: str, resource: str):
        folder = re.fullmatch(r"mailFolders/([A-Za-z]+)", resource)
        messages = re.fullmatch(r"mailFolders/([A-Za-z]+)/messages", resource)
        if method == "GET" and folder and folder.group(1).lower() in _WELL_KNOWN_FOLDERS:
            return (lambda m, q, b: (200, _folder(m, folder.group(1).lower()))), MAIL_READ
        if method == "GET" and messages and messages.group(1).lower() in _WELL_KNOWN_FOLDERS:
            return self._messages, MAIL_READ
        if method == "GET" and resource == "calendar":
            return (lambda m, q, b: (200, {"id": m.folder_id("calendar"), "name": "Calendar",
                                           "canEdit": True, "isDefaultCalendar": True})), CALENDARS
        if method == "GET" and resource in ("contacts", "contactFolders"):
            return (lambda m, q, b: (200, {"value": []})), CONTACTS
        if method == "GET" and resource == "todo/lists":
            return (lambda m, q, b: (200, {"value": [{"id": m.folder_id("tasks"), "displayName": "Tasks",
                                                      "wellknownListName": "defaultList"}]})), TASKS
        if method == "POST" and resource == "sendMail":
            return self._send_mail, MAIL_SEND
        raise GraphError(400, "BadRequest", f"Resource not found for the segment '{resource.split('/')[0]}'.")

    def _messages(self, mailbox: GraphMailbox, query: dict, body: bytes) -> tuple[int, dict]:
        top = int((query.get("$top") or ["10"])[0])
        count = min(top, mailbox.inbox_messages)
        return 200, {"value": [{"id": "AAMk" + uuid.uuid4().hex} for _ in range(count)]}

    def _send_mail(self, mailbox: GraphMailbox, query: dict, body: bytes) -> tuple[int, None]:
        try:
            request = json.loads(body or b"{}")
            message = request["message"]
            recipients = [r["emailAddress"]["address"] for r in message["toRecipients"]]
        except (ValueError, KeyError, TypeError):
            raise GraphError(400, "ErrorInvalidRequest", "Cannot read the request body.") from None
        with self._lock:
            self.sent.append({"from": mailbox.address, "to": recipients, "subject": message.get("subject"),
                              "save": request.get("saveToSentItems", True)})
        return 202, None


def _folder(mailbox: GraphMailbox, name: str) -> dict:
    display = {"inbox": "Inbox", "sentitems": "Sent Items", "drafts": "Drafts"}[name]
    count = mailbox.inbox_messages if name == "inbox" else 0
    return {"id": mailbox.folder_id(name), "displayName": display, "parentFolderId": mailbox.folder_id("root"),
            "childFolderCount": 0, "unreadItemCount": 0, "totalItemCount": count, "isHidden": False}


def _challenge() -> dict:
    return {"WWW-Authenticate": 'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/'
                                'oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"'}


def _error_body(error: GraphError) -> dict:
    now = dt.datetime.now(dt.UTC)
    return {"error": {"code": error.code, "message": error.message,
                      "innerError": {"date": f"{now:%Y-%m-%dT%H:%M:%S}", "request-id": str(uuid.uuid4()),
                                     "client-request-id": str(uuid.uuid4())}}}


# ---------------------------------------------------------------- HTTP plumbing


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, graph: GraphServer, tls: ssl.SSLContext):
        self.graph = graph
        self.tls = tls
        super().__init__(("127.0.0.1", 0), _Handler)

    def get_request(self):
        sock, address = self.socket.accept()
        return self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address

    def handle_error(self, request, client_address):
        import sys
        import traceback

        error = sys.exc_info()[1]
        if isinstance(error, OSError):  # failed handshakes and clients that hang up are expected
            with self.graph._lock:
                self.graph.tls_failures += 1
            return
        self.graph.handler_errors.append(repr(error))
        traceback.print_exc()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = 10
    server_version = "Microsoft-IIS/10.0"

    def setup(self):
        self.request.settimeout(self.timeout)
        self.request.do_handshake()
        super().setup()

    def log_message(self, format, *args):  # noqa: A002
        pass

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def _handle(self, method: str) -> None:
        graph = self.server.graph
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY:
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        mode, release, interval = graph.mode, graph._release, graph.drip_interval
        host = self.headers.get("Host", "")
        path = self.path.split("?", 1)[0]
        if mode == "echo_token":
            graph._record(GraphRequest(method, path, host, None, 401, "InvalidAuthenticationToken", mode))
            error = GraphError(401, "InvalidAuthenticationToken",
                               f"Access token validation failure for {self.headers.get('Authorization', '')}.")
            data = json.dumps(_error_body(error)).encode()
            self._send_raw(401, {"Content-Type": "application/json"}, data)
            return
        if mode in ("hang", "close", "redirect", "flood", "not_json"):
            graph._record(GraphRequest(method, path, host, None, 0, None, mode))
            if mode == "hang":
                release.wait(_MAX_HANG)
            elif mode == "redirect":
                self._send_raw(302, {"Location": f"https://{graph.redirect_host}:{graph.port}{self.path}"}, b"")
                return
            elif mode == "flood":
                self._flood(release)
            elif mode == "not_json":
                self._send_raw(200, {"Content-Type": "text/html"}, b"<html><body>Sign in</body></html>")
                return
            self.close_connection = True
            return
        status, extra, payload, client_id = graph.answer(method, self.path, self.headers, body)
        code = payload["error"]["code"] if payload and "error" in payload else None
        graph._record(GraphRequest(method, path, host, client_id, status, code, mode))
        data = json.dumps(payload).encode() if payload is not None else b""
        headers = {"Content-Type": "application/json;odata.metadata=minimal;odata.streaming=true;"
                                   "IEEE754Compatible=false;charset=utf-8",
                   "request-id": str(uuid.uuid4()), **extra} if payload is not None else dict(extra)
        if mode == "drip":
            self._drip(status, headers, data, interval, release)
        else:
            self._send_raw(status, headers, data)

    def _send_raw(self, status: int, headers: dict, payload: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _drip(self, status: int, headers: dict, payload: bytes, interval: float, release: threading.Event) -> None:
        head = [f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}", f"Content-Length: {len(payload)}",
                *(f"{k}: {v}" for k, v in headers.items()), "", ""]
        data = "\r\n".join(head).encode("ascii") + payload
        deadline = time.monotonic() + _MAX_HANG
        for index in range(len(data)):
            if release.is_set() or time.monotonic() > deadline:
                break
            try:
                self.wfile.write(data[index:index + 1])
                self.wfile.flush()
            except OSError:
                break
            release.wait(interval)
        self.close_connection = True

    def _flood(self, release: threading.Event) -> None:
        """A 200 JSON answer that never finishes: '{"value": [' and then the same object forever."""
        try:
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: 999999999\r\n\r\n{\"value\": [")
            chunk = b'{"id": "AAMk' + b"A" * 1000 + b'"},'
            sent = 0
            while sent < FLOOD_MAX and not release.is_set():
                self.wfile.write(chunk * 64)
                sent += len(chunk) * 64
        except OSError:
            pass
