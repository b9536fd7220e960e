"""An Exchange Web Services server for tests (issue 23), written only from Microsoft's published documents as
summarised in docs/testing-ews.md. No Exchange server runs offline.

HTTPS on 127.0.0.1 with a certificate from the OAuth test CA (IIS answers as ``Microsoft-IIS/10.0``):

* ``POST /EWS/Exchange.asmx``: SOAP 1.1 ``GetFolder`` on distinguished folders (inbox, sentitems, drafts, calendar,
  contacts, tasks), answered with ``GetFolderResponseMessage`` elements (``ResponseClass``, ``ResponseCode``,
  ``MessageText``), or a SOAP fault (HTTP 500) carrying ``ResponseCode`` and, for ``ErrorServerBusy``,
  ``MessageXml/Value[@Name="BackOffMilliseconds"]``;
* ``POST /EWS/Exchange.asmx``: ``CreateItem`` sending one message, recorded in ``delivered`` (support/ews_send.py);
* ``POST /autodiscover/autodiscover.xml`` and ``GET /autodiscover/autodiscover.json/v1.0/<address>?Protocol=EWS``:
  POX Autodiscover and Autodiscover v2 (support/ews_discovery.py).

Sign-in as IIS does it: a 401 offering the schemes in ``schemes`` (``Negotiate``, ``NTLM``, ``Basic``); NTLM is
pyspnego's acceptor (its ``NTLM_USER_FILE`` credential store, written by ``start``) and authenticates the connection,
as Kerberos in ``Negotiate`` does (support/kerberos.py); Basic goes with each request. With an ``authority`` (Exchange
Hybrid Modern Auth), ``Bearer`` goes with each request too: an app-only JWT the test token endpoint issued (signature,
issuer of ``tenant_id``, an audience of ``audiences``, expiry), whose ``roles`` hold ``full_access_as_app``; it acts
as an app that impersonates every mailbox, or those ``restrict_app`` names. A refused token gets 401 with a ``Bearer``
challenge and the ``x-ms-diagnostics`` header Exchange sends. Then, for each request, in this order: the impersonated
address exists (else fault ``ErrorNonExistentMailbox``), the account holds ApplicationImpersonation over it (else
fault ``ErrorImpersonateUserDenied``); without impersonation, each folder's mailbox exists (else
``ErrorNonExistentMailbox``) and is the account's own or one it has Full Access to (else ``ErrorAccessDenied``); each
folder is readable (else ``ErrorAccessDenied``).

Per test (``reset``): ``fail_next(code, text, back_off_ms=, count=)``, ``set_mode`` (drip, flood, hang, redirect,
bomb, not_soap, close, echo_auth), ``schemes``, ``autodiscover_v2``, ``v2_answer``; ``requests`` (never a password
or a blob) and ``delivered`` to assert on.
"""

from __future__ import annotations

import base64
import os
import ssl
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

import jwt
import spnego
from defusedxml.ElementTree import fromstring
from support.ews_discovery import autodiscover, autodiscover_json
from support.ews_hostile import BILLION_LAUGHS, drip, flood
from support.ews_send import Delivered, create_item
from support.kerberos import mutual_header, refusal, sign_in as kerberos_sign_in
from support.oauth_tokens import EWS_APP_PERMISSION, entra_issuer

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
M = "http://schemas.microsoft.com/exchange/services/2006/messages"
T = "http://schemas.microsoft.com/exchange/services/2006/types"
E = "http://schemas.microsoft.com/exchange/services/2006/errors"
ACCESS_DENIED = "Access is denied. Check credentials and try again."
IMPERSONATE_DENIED = "The account does not have permission to impersonate the requested user."
NO_MAILBOX = "The SMTP address has no mailbox associated with it."
SERVER_BUSY = "The server cannot service this request right now. Try again later."
FOLDER_ELEMENTS = {"inbox": ("Folder", "Inbox"), "sentitems": ("Folder", "Sent Items"), "drafts": ("Folder", "Drafts"),
                   "calendar": ("CalendarFolder", "Calendar"), "contacts": ("ContactsFolder", "Contacts"),
                   "tasks": ("TasksFolder", "Tasks")}
MODES = ("normal", "drip", "flood", "hang", "redirect", "bomb", "not_soap", "close", "echo_auth")
_MAX_BODY = 64 * 1024
_MAX_HANG = 60.0


@dataclass
class EwsMailbox:
    address: str
    items: int = 3
    denied: set[str] = field(default_factory=set)  # folders whose permissions refuse everyone (ErrorAccessDenied)
    over_quota: bool = False  # sending answers ErrorQuotaExceeded


@dataclass
class EwsAccount:
    """An Active Directory account: `username` as signed in (DOMAIN\\user or a UPN)."""

    username: str
    password: str
    mailbox: str | None = None  # its own mailbox
    impersonates: set[str] | None = None  # the ApplicationImpersonation role's scope; {"*"}: every mailbox
    full_access: set[str] = field(default_factory=set)
    send_as: set[str] = field(default_factory=set)  # mailboxes it may send as (Send As), beside its own


@dataclass(frozen=True)
class EwsRequest:
    """One request answered: what a test asserts on. Never a password or an authentication blob."""

    path: str
    host: str
    scheme: str  # the Authorization scheme it carried ("" none)
    user: str | None  # the account, once signed in
    impersonated: str | None
    anchor: str | None  # X-AnchorMailbox
    folders: tuple[str, ...]
    status: int
    code: str | None
    operation: str = ""  # GetFolder, CreateItem, Autodiscover (POX), AutodiscoverV2


class _Fault(Exception):
    def __init__(self, code: str, text: str, back_off_ms: int | None = None):
        super().__init__(code)
        self.code, self.text, self.back_off_ms = code, text, back_off_ms


class EwsServer:
    """The HTTPS EWS server. Start once per session; `reset()` between tests."""

    def __init__(self, certificate, accounts: list[EwsAccount], mailboxes: list[EwsMailbox], folder: Path,
                 name: str = "ews", *, authority=None, tenant_id: str = "",
                 audiences: tuple[str, ...] = ("https://127.0.0.1",)):
        self.certificate = certificate
        self.authority, self.tenant_id, self.audiences = authority, tenant_id, audiences
        self.accounts = {a.username.lower(): a for a in accounts}
        self.mailboxes = {m.address.lower(): m for m in mailboxes}
        self.user_file = folder / f"{name}-ntlm-users.txt"
        self.name = name
        self._lock = threading.Lock()
        self._server = None
        self._thread = None
        self.handler_errors: list[str] = []
        self.reset()

    def start(self) -> EwsServer:
        lines = []
        for account in (a for a in self.accounts.values() if a.password):  # a Kerberos principal has none
            domain, _, user = account.username.rpartition("\\")
            lines.append(f"{domain}:{user}:{account.password}")
        self.user_file.write_text("\n".join(lines) + "\n")
        os.environ["NTLM_USER_FILE"] = str(self.user_file)  # pyspnego's NTLM acceptor reads its accounts here
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

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def ews_url(self) -> str:
        return f"https://127.0.0.1:{self.port}/EWS/Exchange.asmx"

    def reset(self) -> None:
        with self._lock:
            old = getattr(self, "_release", None)
            if old is not None:
                old.set()  # a hung or dripping answer of the last test ends now
            self._release = threading.Event()
            self.mode = "normal"
            self.drip_interval = 0.5
            self.redirect_host = "localhost"
            self.schemes: tuple[str, ...] = ("Negotiate", "NTLM", "Basic")
            self.app_scopes: dict[str, set[str]] = {}  # an app's impersonation scope (RBAC for Applications)
            self.failures: list[list] = []  # [code, text, back_off_ms, count]
            self.requests: list[EwsRequest] = []
            self.autodiscover_redirects: dict[str, str] = {}  # address -> redirectAddr
            self.ews_url_override: str | None = None  # what Autodiscover answers as EwsUrl (POX and v2)
            self.autodiscover_v2 = True  # answers Autodiscover v2 (JSON), as Exchange 2016/2019 do; False: 404
            self.v2_answer: tuple[int, dict, bytes] | None = None  # a hostile v2 answer instead of the real one
            self.delivered: list[Delivered] = []  # messages CreateItem sent

    def restrict_app(self, client_id: str, addresses) -> None:
        """Let the app impersonate only these mailboxes (a management scope on its role assignment)."""
        with self._lock:
            self.app_scopes[client_id] = {a.lower() for a in addresses}

    def bearer_account(self, token: str) -> tuple[EwsAccount | None, str]:
        """The app a bearer token signs in, or None and the diagnostic Exchange gives."""
        if self.authority is None:
            return None, '2000000;reason="OAuth is not enabled on this server."'
        try:
            if jwt.get_unverified_header(token).get("kid") != self.authority.kid:
                raise jwt.InvalidSignatureError("unknown key")
            claims = jwt.decode(token, self.authority.key.public_key(), algorithms=["RS256"],
                                audience=list(self.audiences),
                                issuer=entra_issuer(self.tenant_id), options={"require": ["exp", "aud", "iss"]})
        except jwt.ExpiredSignatureError:
            return None, '2000008;reason="The token has expired.";error_category="invalid_lifetime"'
        except jwt.InvalidAudienceError:
            return None, '2000003;reason="The audience claim value is invalid.";error_category="invalid_resource"'
        except jwt.InvalidTokenError:
            return None, '2000001;reason="The token is not valid.";error_category="invalid_token"'
        if EWS_APP_PERMISSION not in (claims.get("roles") or ()):
            return None, ('2000008;reason="The token contains not enough scope to make this call.";'
                          'error_category="invalid_grant"')
        app = str(claims.get("appid", ""))
        return EwsAccount(f"app:{app}", "", impersonates=self.app_scopes.get(app, {"*"})), ""

    def fail_next(self, code: str, text: str, *, back_off_ms: int | None = None, count: int | None = 1) -> None:
        with self._lock:
            self.failures.append([code, text, back_off_ms, count])

    def set_mode(self, mode: str, *, interval: float | None = None) -> None:
        if mode not in MODES:
            raise ValueError(mode)
        with self._lock:
            self.mode = mode
            if interval is not None:
                self.drip_interval = interval

    def _record(self, request: EwsRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _next_failure(self):
        with self._lock:
            for failure in self.failures:
                if failure[3] is None:
                    return failure
                if failure[3] > 0:
                    failure[3] -= 1
                    return failure
        return None

    # ------------------------------------------------ judging a GetFolder

    def get_folder(self, account: EwsAccount, body: bytes) -> tuple[str | None, tuple[str, ...], bytes]:
        """(impersonated address, folders, the SOAP answer); raises _Fault for a fault."""
        root = fromstring(body, forbid_dtd=True)
        ns = {"s": SOAP, "m": M, "t": T}
        smtp = root.find("s:Header/t:ExchangeImpersonation/t:ConnectingSID/t:SmtpAddress", ns)
        impersonated = (smtp.text or "").strip() if smtp is not None else None
        ids = root.findall("s:Body/m:GetFolder/m:FolderIds/t:DistinguishedFolderId", ns)
        folders = tuple(i.get("Id", "") for i in ids)
        failure = self._next_failure()
        if failure is not None:
            raise _Fault(failure[0], failure[1], failure[2])
        if impersonated is not None:
            self.check_impersonation(account, impersonated)
        messages = []
        for folder_id in ids:
            named = folder_id.find("t:Mailbox/t:EmailAddress", ns)
            address = impersonated or ((named.text or "").strip() if named is not None else account.mailbox or "")
            messages.append(self._folder(account, address, folder_id.get("Id", ""), impersonated is not None))
        return impersonated, folders, _envelope(f'<m:GetFolderResponse xmlns:m="{M}" xmlns:t="{T}">'
                                                f"<m:ResponseMessages>{''.join(messages)}</m:ResponseMessages>"
                                                "</m:GetFolderResponse>")

    def check_impersonation(self, account: EwsAccount, address: str) -> None:
        """The faults Exchange gives before any operation when impersonation is refused."""
        if address.lower() not in self.mailboxes:
            raise _Fault("ErrorNonExistentMailbox", NO_MAILBOX)
        scope = account.impersonates
        if scope is None or ("*" not in scope and address.lower() not in scope):
            raise _Fault("ErrorImpersonateUserDenied", IMPERSONATE_DENIED)

    def soap(self, account: EwsAccount, body: bytes) -> tuple[str, str | None, tuple[str, ...], bytes]:
        """(operation, impersonated address, folders, the SOAP answer) of a request to /EWS/Exchange.asmx."""
        if self.operation_of(body) == "CreateItem":
            impersonated, answer = create_item(self, account, body, _Fault, {"s": SOAP, "m": M, "t": T})
            return "CreateItem", impersonated, (), _envelope(answer)
        return ("GetFolder", *self.get_folder(account, body))

    @staticmethod
    def operation_of(body: bytes) -> str:
        """The SOAP operation a request body names (its Body's first element), "" when it names none."""
        try:
            operation = fromstring(body, forbid_dtd=True).find(f"{{{SOAP}}}Body/*")
        except Exception:  # noqa: BLE001 - a body that is not XML names no operation
            return ""
        return operation.tag.rpartition("}")[2] if operation is not None else ""

    def deliver(self, message: Delivered) -> None:
        with self._lock:
            self.delivered.append(message)

    def _folder(self, account: EwsAccount, address: str, folder: str, impersonating: bool) -> str:
        mailbox = self.mailboxes.get(address.lower())
        if mailbox is None:
            return _error_message("ErrorNonExistentMailbox", NO_MAILBOX)
        own = account.mailbox is not None and account.mailbox.lower() == address.lower()
        if not (impersonating or own or address.lower() in {a.lower() for a in account.full_access}):
            return _error_message("ErrorAccessDenied", ACCESS_DENIED)
        if folder not in FOLDER_ELEMENTS:
            return _error_message("ErrorInvalidRequest", "The request is invalid.")
        if folder in mailbox.denied:
            return _error_message("ErrorAccessDenied", ACCESS_DENIED)
        element, display = FOLDER_ELEMENTS[folder]
        count = mailbox.items if folder == "inbox" else 0
        return ('<m:GetFolderResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>'
                f'<m:Folders><t:{element}><t:FolderId Id="AAMk{uuid.uuid4().hex}" ChangeKey="AQAAABYAAAA="/>'
                f"<t:DisplayName>{display}</t:DisplayName><t:TotalCount>{count}</t:TotalCount>"
                f"<t:ChildFolderCount>0</t:ChildFolderCount></t:{element}></m:Folders>"
                "</m:GetFolderResponseMessage>")


def _envelope(body: str) -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="{SOAP}"><s:Header>'
            f'<h:ServerVersionInfo MajorVersion="15" MinorVersion="2" MajorBuildNumber="1544" MinorBuildNumber="4" '
            f'xmlns:h="{T}"/></s:Header><s:Body>{body}</s:Body></s:Envelope>').encode("utf-8")


def _error_message(code: str, text: str) -> str:
    return (f'<m:GetFolderResponseMessage ResponseClass="Error"><m:MessageText>{escape(text)}</m:MessageText>'
            f"<m:ResponseCode>{code}</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey><m:Folders/>"
            "</m:GetFolderResponseMessage>")


def fault(code: str, text: str, back_off_ms: int | None = None) -> bytes:
    extra = ""
    if back_off_ms is not None:
        extra = (f'<t:MessageXml xmlns:t="{T}"><t:Value Name="BackOffMilliseconds">{back_off_ms}</t:Value>'
                 "</t:MessageXml>")
    return _envelope(f'<s:Fault><faultcode xmlns:a="{T}">a:{code}</faultcode>'
                     f'<faultstring xml:lang="en-US">{escape(text)}</faultstring><detail>'
                     f'<e:ResponseCode xmlns:e="{E}">{code}</e:ResponseCode>'
                     f'<e:Message xmlns:e="{E}">{escape(text)}</e:Message>{extra}</detail></s:Fault>')


# ---------------------------------------------------------------- HTTP plumbing


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, ews: EwsServer, tls: ssl.SSLContext):
        self.ews, self.tls = ews, tls
        super().__init__(("127.0.0.1", 0), _Handler)

    def get_request(self):
        sock, address = self.socket.accept()
        return self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address

    def handle_error(self, request, client_address):
        import sys

        error = sys.exc_info()[1]
        if not isinstance(error, OSError):
            self.ews.handler_errors.append(repr(error))


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = 10
    server_version = "Microsoft-IIS/10.0"

    def setup(self):
        self.request.settimeout(self.timeout)
        self.request.do_handshake()
        super().setup()
        self.user, self.ntlm = None, None  # NTLM and Kerberos (support/kerberos.py) sign the connection in

    def log_message(self, format, *args):  # noqa: A002
        pass

    def do_POST(self):
        ews = self.server.ews
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY:
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        path = self.path.split("?", 1)[0]
        authorization = self.headers.get("Authorization", "")
        scheme = authorization.partition(" ")[0]
        record = dict(path=path, host=self.headers.get("Host", ""), scheme=scheme,
                      impersonated=None, anchor=self.headers.get("X-AnchorMailbox"), folders=())
        mode, release = ews.mode, ews._release
        if mode in ("hang", "close", "redirect", "flood", "not_soap", "bomb"):
            ews._record(EwsRequest(**record, user=None, status=0, code=mode))
            if mode == "hang":
                release.wait(_MAX_HANG)
            elif mode == "redirect":
                return self._send(302, b"", {"Location": f"https://{ews.redirect_host}:{ews.port}{self.path}"})
            elif mode == "flood":
                return flood(self, release)
            elif mode == "not_soap":
                return self._send(200, b"<html><body>Outlook on the web: sign in</body></html>",
                                  {"Content-Type": "text/html"})
            elif mode == "bomb":
                return self._send(200, BILLION_LAUGHS)
            self.close_connection = True
            return
        account = self._sign_in(authorization)
        if account is None:
            ews._record(EwsRequest(**record, user=None, status=401, code=refusal(self)))
            return
        status, code = 200, None
        if path.lower() == "/ews/exchange.asmx":
            record["operation"] = ews.operation_of(body)
        try:
            if mode == "echo_auth":
                raise _Fault("ErrorInvalidRequest", f"The request is invalid: {authorization}")
            if path.lower() == "/autodiscover/autodiscover.xml":
                record["operation"], data = "Autodiscover", autodiscover(ews, body)
            elif path.lower() == "/ews/exchange.asmx":
                record["operation"], record["impersonated"], record["folders"], data = ews.soap(account, body)
            else:
                status, data = 404, b"<html><body>404 - File or directory not found.</body></html>"
        except _Fault as exc:
            status, code, data = 500, exc.code, fault(exc.code, exc.text, exc.back_off_ms)
        if code is None and b'ResponseClass="Error"' in data:
            code = data.split(b"<m:ResponseCode>", 1)[1].split(b"<", 1)[0].decode()
        ews._record(EwsRequest(**record, user=account.username, status=status, code=code))
        if mode == "drip":
            return drip(self, status, data, ews.drip_interval, release)
        self._send(status, data)

    def do_GET(self):
        """Autodiscover v2 (JSON): anonymous, as Exchange answers it."""
        ews = self.server.ews
        path = self.path.split("?", 1)[0]
        record = dict(path=path, host=self.headers.get("Host", ""),
                      scheme=self.headers.get("Authorization", "").partition(" ")[0], impersonated=None,
                      anchor=self.headers.get("X-AnchorMailbox"), folders=(), user=None, operation="AutodiscoverV2")
        if ews.mode == "hang":
            ews._record(EwsRequest(**record, status=0, code="hang"))
            ews._release.wait(_MAX_HANG)
            self.close_connection = True
            return
        status, headers, data = autodiscover_json(ews, self.path)
        ews._record(EwsRequest(**record, status=status, code=None))
        self._send(status, data, headers)

    def _sign_in(self, authorization: str) -> EwsAccount | None:
        """The account this request (or connection) is signed in as; None after answering 401."""
        ews = self.server.ews
        if self.user is not None:
            return ews.accounts.get(self.user.lower())
        scheme, _, blob = authorization.partition(" ")
        offered = {s.lower() for s in ews.schemes}
        if scheme.lower() == "bearer":
            account, diagnostic = ews.bearer_account(blob.strip())
            if account is None:
                self._challenge({}, diagnostic)
            return account
        if scheme.lower() == "basic" and "basic" in offered:
            try:
                user, _, password = base64.b64decode(blob).decode("utf-8").partition(":")
            except ValueError:
                user, password = "", None
            account = ews.accounts.get(user.lower())
            if account is not None and account.password and account.password == password:
                return account
        elif scheme.lower() in ("ntlm", "negotiate") and scheme.lower() in offered:
            try:
                token = base64.b64decode(blob)
                if scheme.lower() == "negotiate" and not token.startswith(b"NTLMSSP\x00"):
                    return kerberos_sign_in(self, token)  # support/kerberos.py
                if token.startswith(b"NTLMSSP\x00\x01") or self.ntlm is None:
                    self.ntlm = spnego.server(protocol="ntlm")
                answer = self.ntlm.step(token)
                if not self.ntlm.complete:
                    self._challenge({scheme: base64.b64encode(answer).decode()})
                    return None
                self.user = self.ntlm.client_principal
                return ews.accounts.get(self.user.lower())
            except Exception:  # noqa: BLE001 - a wrong password, a broken message: 401 afresh, as IIS does
                self.ntlm = None
        self._challenge({})
        return None

    def _challenge(self, tokens: dict[str, str], bearer_diagnostic: str = "") -> None:
        headers = []
        if bearer_diagnostic:
            headers.append('Bearer client_id="00000002-0000-0ff1-ce00-000000000000", '
                           'authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
                           'error="invalid_token"')
        for scheme in self.server.ews.schemes:
            if tokens:
                if scheme in tokens:
                    headers.append(f"{scheme} {tokens[scheme]}")
            else:
                headers.append('Basic realm="127.0.0.1"' if scheme == "Basic" else scheme)
        body = b"<html><body>401 - Unauthorized: Access is denied due to invalid credentials.</body></html>"
        self.send_response(401)
        for value in headers:
            self.send_header("WWW-Authenticate", value)
        if bearer_diagnostic:
            self.send_header("x-ms-diagnostics", bearer_diagnostic)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send(self, status: int, payload: bytes, headers: dict | None = None) -> None:
        self.send_response(status)
        for name, value in {**mutual_header(self), **(headers or {"Content-Type": "text/xml; charset=utf-8"})}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
