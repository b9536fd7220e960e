"""Exchange Online through Microsoft Graph, app-only (issue 23): what each direction reads, and Graph's
answers as one sentence with the cause and the fix.

- incoming: the Inbox folder, then one message id (`$top=1&$select=id`);
- outgoing: the token carries Mail.Send and Sent Items can be read (the mailbox is in the app's scope);
  no mail is sent. `send`: one test message from the mailbox to itself (`sendMail`, 202 Accepted);
- act: the calendar, the contacts and the To Do lists, each naming its permission when refused.

The token step (oauth.py) runs first, in the probe's budget; the requests go through graph_http's bounded
client on one kept-alive connection. Graph's error texts are outside text: redacted, made visible and
shortened before they are quoted. Microsoft's facts: docs/testing-graph.md.
"""

from __future__ import annotations

import http.client
import json
import socket
from urllib.parse import quote, urlsplit

from ...domain.exchange import graph_scope
from ...domain.outside_text import visible
from ..limits import READ_LIMIT, ProbeLimit
from .attempt import Attempt
from .explain import Stopped, short_answer
from .graph_http import Answer, BoundedHTTPS, request
from .results import AUTHENTICATION, CONNECT, DNS, MAILBOX_ACCESS, TLS

INCOMING, OUTGOING, SEND, ACT = "incoming", "outgoing", "send", "act"
MAIL_READ = ("Mail.Read", "Mail.ReadWrite")
TEST_SUBJECT = "mailbox-tui: your mailbox is connected (test message)"
TEST_BODY = ("This message was sent by mailbox-tui's Test & Enable, from this mailbox to itself, to show "
             "that the app may send as it through Microsoft Graph. You can delete it.")
# What each ACT read is, and the application permissions that allow it (the first named in a fix).
ACT_READS = (
    ("calendar", "the calendar", ("Calendars.ReadWrite", "Calendars.Read")),
    ("contacts?$top=1&$select=id", "the contacts", ("Contacts.ReadWrite", "Contacts.Read")),
    ("todo/lists", "the To Do task lists", ("Tasks.ReadWrite.All", "Tasks.Read.All")),
)


class _Graph:
    """One mailbox's requests to Graph on one connection."""

    def __init__(self, a: Attempt):
        self.a = a
        self.address = a.creds.username
        self.base = a.ep.path.rstrip("/") + "/v1.0/users/" + quote(self.address, safe="@")
        self.conn = a.conn = BoundedHTTPS(a)
        self.conn.connect()  # DNS, connect, TLS as their own steps, before any token is sent

    def call(self, method: str, resource: str, what: str, needs: tuple[str, ...], body: dict | None = None) -> Answer:
        """The answer to one request; Stopped (or Deferred) with the cause and the fix when it is not a success."""
        a = self.a
        a.step = MAILBOX_ACCESS
        headers = {"Authorization": f"Bearer {a.creds.password}", "Accept": "application/json",
                   "User-Agent": "mailbox-tui"}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        try:
            answer = request(self.conn, method, f"{self.base}/{resource}", headers, payload,
                             f"Microsoft Graph is throttling this app for {self.address} (reading {what})")
        except Stopped:
            raise
        except Exception as exc:  # noqa: BLE001 - each way an exchange can break becomes one sentence
            if a.step in (DNS, CONNECT, TLS) or a.budget.aborted:
                raise  # the common explanations fit: host not found, refused, certificate not trusted, stopped
            raise Stopped(self._transport(exc, what)) from None
        a.heard(self._shown(answer))
        if answer.status == 401:
            a.step = AUTHENTICATION  # Graph refused the token itself
        if 200 <= answer.status < 300 and (method != "GET" or isinstance(answer.json(), dict)):
            return answer
        raise Stopped(self._refusal(answer, what, needs), a.answer)

    # ------------------------------------------------ explanations

    def _shown(self, answer: Answer) -> str:
        """Graph's answer as it may be quoted: the error's code and message, or the status alone."""
        error = _error(answer)
        if error:
            return visible(f"HTTP {answer.status} {error[0]}: {error[1]}")
        return f"HTTP {answer.status}"

    def _quote(self, text: str) -> str:
        return short_answer(visible(self.a.redact(text)))[:300]

    def _refusal(self, answer: Answer, what: str, needs: tuple[str, ...]) -> str:
        status, address, where = answer.status, self.address, self.a.ep.address
        code, message = _error(answer) or ("", "")
        said = f"{status} {self._quote(code)}" + (f": {self._quote(message)}" if message else "")
        if 300 <= status < 400:
            target = urlsplit(answer.headers.get("location", "")).netloc or "nowhere"
            return (f"{where} redirected the request for {what} to {self._quote(target)} (HTTP {status}); it was not "
                    "followed, so the token went nowhere else. Set the profile's location to the Graph base URL "
                    "(https://graph.microsoft.com).")
        if not code:
            kind = "not a Graph JSON answer" if 200 <= status < 300 else "no Graph error"
            return (f"{where} did not answer as Microsoft Graph (HTTP {status}, {kind}) while reading {what}: "
                    "check that the profile's location is the Graph base URL (https://graph.microsoft.com).")
        if status == 401:
            request = self.a.token_request
            scope = request.scope if request is not None else "?"
            return (f"Microsoft Graph refused the access token ({said}): it has expired or was issued for another "
                    f"resource. The profile's Scope must be {graph_scope(f'https://{self.a.ep.host}')} (it is {scope!r}) "
                    "and "
                    "this machine's clock must be right.")
        if status == 403 and "odata is disabled" in message.lower():
            return (f"The app may not open {address}: an Application Access Policy leaves it out ({said}). Add the "
                    f"mailbox to the policy's group, and check with Test-ApplicationAccessPolicy -Identity {address} "
                    f"-AppId {self._client_id()} (changes take up to an hour), or with "
                    "Test-ServicePrincipalAuthorization when the app is scoped by RBAC for Applications.")
        if status == 403:
            granted = set(self.a.token_scopes)
            if not granted & set(needs):
                return (f"The app lacks the Microsoft Graph application permission {needs[0]} to read {what} of "
                        f"{address} ({said}). In Entra ID add it (App registrations → API permissions → Microsoft "
                        "Graph → Application permissions), then Grant admin consent.")
            return (f"The app holds {' / '.join(sorted(granted & set(needs)))} but was refused {what} of {address} "
                    f"({said}): an RBAC for Applications scope or an Application Access Policy leaves this mailbox "
                    f"out. Check with Test-ServicePrincipalAuthorization -Identity {self._client_id()} -Resource "
                    f"{address}, or Test-ApplicationAccessPolicy.")
        if status == 404 and code == "ErrorInvalidUser":
            return (f"{address} is not a user of the app's tenant ({said}): check the mailbox's address (or its user "
                    "name) and the profile's Tenant ID.")
        if code == "MailboxNotEnabledForRESTAPI":
            return (f"The mailbox {address} is inactive, soft-deleted or hosted on premises ({said}): Graph cannot "
                    "reach it. Restore or license it in Exchange Online, or test an on-premises mailbox with an "
                    "Exchange Server (Hybrid) profile.")
        if status >= 500:
            return (f"Microsoft Graph failed while reading {what} of {address} ({said}): a fault on Microsoft's side, "
                    "not in the profile; test again later.")
        return f"Microsoft Graph refused reading {what} of {address} ({said})."

    def _client_id(self) -> str:
        request = self.a.token_request
        return request.client_id if request is not None else "<client id>"

    def _transport(self, exc: BaseException, what: str) -> str:
        a, where = self.a, self.a.ep.address
        if a.budget.overflowed:
            return (f"{where} sent more than {READ_LIMIT // 1024} KiB while answering for {what} (a Graph answer "
                    "here is a few KB), so the test stopped reading. Check that the profile's location is the Graph "
                    "base URL (https://graph.microsoft.com).")
        trickle = a.budget.bytes_read - a.step_started_at
        if a.budget.expired or isinstance(exc, (TimeoutError, socket.timeout)):
            how = (f"sent {trickle} byte(s) without finishing its answer" if trickle else "did not answer")
            return (f"Timed out after {a.ep.timeout:g} s: {where} {how} for {what}. Check the profile's location, "
                    "or raise its timeout.")
        if isinstance(exc, ProbeLimit):
            return f"The test of {what} at {where} was stopped."
        if isinstance(exc, (http.client.HTTPException, ConnectionError, EOFError)):
            return (f"{where} closed the connection or broke HTTP while answering for {what} "
                    f"({type(exc).__name__}): check that the profile's location is Microsoft Graph.")
        return f"Reading {what} at {where} failed ({type(exc).__name__})."


def _error(answer: Answer) -> tuple[str, str] | None:
    """Graph's error code and message, from `{"error": {"code": …, "message": …}}`."""
    data = answer.json()
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict) or not isinstance(error.get("code"), str):
        return None
    message = error.get("message")
    return error["code"], message if isinstance(message, str) else ""


def _value_count(answer: Answer) -> int:
    data = answer.json()
    value = data.get("value") if isinstance(data, dict) else None
    return len(value) if isinstance(value, list) else 0


def _incoming(g: _Graph) -> str:
    folder = g.call("GET", "mailFolders/inbox?$select=id,totalItemCount", "the Inbox", MAIL_READ).json()
    total = folder.get("totalItemCount") if isinstance(folder, dict) else None
    g.call("GET", "mailFolders/inbox/messages?$top=1&$select=id", "the Inbox's messages", MAIL_READ)
    count = f"{total} message(s)" if isinstance(total, int) and not isinstance(total, bool) else "its messages listed"
    return f"Read the Inbox of {g.address} through Microsoft Graph ({count}): the app may read this mailbox."


def _outgoing(g: _Graph) -> str:
    if "Mail.Send" not in g.a.token_scopes:
        g.a.step = AUTHENTICATION
        raise Stopped(f"The app's token lacks the Microsoft Graph application permission Mail.Send, so it cannot send "
                      f"as {g.address}. In Entra ID add Mail.Send (API permissions → Microsoft Graph → Application "
                      "permissions), then Grant admin consent.")
    if not set(MAIL_READ) & set(g.a.token_scopes):
        g.a.step = AUTHENTICATION
        raise Stopped(f"The app holds Mail.Send, but without Mail.Read or Mail.ReadWrite nothing shows whether "
                      f"{g.address} is in its scope short of sending: add Mail.ReadWrite, or send a test message "
                      "(--send-test-message, or F6 in the app).")
    g.call("GET", "mailFolders/sentitems?$select=id", "Sent Items", MAIL_READ)
    return (f"The app holds Mail.Send and may open {g.address} (Sent Items read) through Microsoft Graph. No mail "
            "was sent (a test message is sent only when asked: --send-test-message, or F6 in the app).")


def _send(g: _Graph) -> str:
    message = {"message": {"subject": TEST_SUBJECT, "body": {"contentType": "Text", "content": TEST_BODY},
                           "toRecipients": [{"emailAddress": {"address": g.address}}]},
               "saveToSentItems": True}
    g.call("POST", "sendMail", "sending (sendMail)", ("Mail.Send",), message)
    return (f"Sent a test message from {g.address} to itself through Microsoft Graph (202 Accepted): it arrives "
            f"in its Inbox, with a copy in Sent Items (subject {TEST_SUBJECT!r}).")


def _act(g: _Graph) -> str:
    for resource, what, needs in ACT_READS:
        g.call("GET", resource, what, needs)
    return (f"Read the calendar, the contacts and the To Do task lists of {g.address} through Microsoft Graph: "
            "appointments, contacts and tasks can be synchronised.")


OPERATIONS = {INCOMING: _incoming, OUTGOING: _outgoing, SEND: _send, ACT: _act}


def graph_steps(a: Attempt) -> str:
    """The Graph probe: after the token step, the direction's reads (or the test message)."""
    if a.fetch_only:  # F8's `p`: the certificate, to compare and pin (P13)
        a.wrap(a.connect()).close()
        return "Certificate fetched."
    operation = OPERATIONS.get(a.ep.operation)
    if operation is None:
        raise Stopped(f"Unknown Microsoft Graph operation {a.ep.operation!r}.")
    if a.creds is None or not a.creds.bearer:
        raise Stopped("Exchange Online through Microsoft Graph needs an app-only OAuth token (Authenticate Using "
                      "OAuth, rule P14): nothing was sent.")
    return operation(_Graph(a))
