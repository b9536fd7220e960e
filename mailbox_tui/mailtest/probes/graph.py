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
from urllib.parse import quote, urlsplit

from ...domain.exchange import graph_scope
from ...domain.outside_text import visible
from ...i18n import N_, say, say_n
from ..limits import READ_LIMIT
from .attempt import Attempt
from .explain import Stopped, short_answer
from .graph_http import Answer, BoundedHTTPS, request, stalled
from .results import AUTHENTICATION, CONNECT, DNS, MAILBOX_ACCESS, TLS

INCOMING, OUTGOING, SEND, ACT = "incoming", "outgoing", "send", "act"
MAIL_READ = ("Mail.Read", "Mail.ReadWrite")
TEST_SUBJECT = "mailbox-tui: your mailbox is connected (test message)"
TEST_BODY = ("This message was sent by mailbox-tui's Test & Enable, from this mailbox to itself, to show "
             "that the app may send as it through Microsoft Graph. You can delete it.")
# What each ACT read is, and the application permissions that allow it (the first named in a fix).
ACT_READS = (
    ("calendar", N_("the calendar"), ("Calendars.ReadWrite", "Calendars.Read")),
    ("contacts?$top=1&$select=id", N_("the contacts"), ("Contacts.ReadWrite", "Contacts.Read")),
    ("todo/lists", N_("the To Do task lists"), ("Tasks.ReadWrite.All", "Tasks.Read.All")),
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
                             say("Microsoft Graph is throttling this app for {email} (reading {what})",
                                 email=self.address, what=what))
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
            return say("{where} redirected the request for {what} to {target} (HTTP {code}); it was not followed, so "
                       "the token went nowhere else. Set the profile's location to the Graph base URL "
                       "(https://graph.microsoft.com).", where=where, what=what, target=self._quote(target), code=status)
        if not code:
            kind = N_("not a Graph JSON answer") if 200 <= status < 300 else N_("no Graph error")
            return say("{where} did not answer as Microsoft Graph (HTTP {code}, {kind}) while reading {what}: check "
                       "that the profile's location is the Graph base URL (https://graph.microsoft.com).",
                       where=where, code=status, kind=kind, what=what)
        if status == 401:
            request = self.a.token_request
            scope = request.scope if request is not None else "?"
            return say("Microsoft Graph refused the access token ({answer}): it has expired or was issued for another "
                       "resource. The profile's Scope must be {scope} (it is {value}) and this machine's clock must be "
                       "right.", answer=said, scope=graph_scope(f"https://{self.a.ep.host}"), value=repr(scope))
        if status == 403 and "odata is disabled" in message.lower():
            return say("The app may not open {email}: an Application Access Policy leaves it out ({answer}). Add the "
                       "mailbox to the policy's group, and check with Test-ApplicationAccessPolicy -Identity {email} "
                       "-AppId {client} (changes take up to an hour), or with Test-ServicePrincipalAuthorization when "
                       "the app is scoped by RBAC for Applications.", email=address, answer=said,
                       client=self._client_id())
        if status == 403:
            granted = set(self.a.token_scopes)
            if not granted & set(needs):
                return say("The app lacks the Microsoft Graph application permission {permission} to read {what} of "
                           "{email} ({answer}). In Entra ID add it (App registrations → API permissions → Microsoft "
                           "Graph → Application permissions), then Grant admin consent.", permission=needs[0],
                           what=what, email=address, answer=said)
            return say("The app holds {permission} but was refused {what} of {email} ({answer}): an RBAC for "
                       "Applications scope or an Application Access Policy leaves this mailbox out. Check with "
                       "Test-ServicePrincipalAuthorization -Identity {client} -Resource {email}, or "
                       "Test-ApplicationAccessPolicy.", permission=" / ".join(sorted(granted & set(needs))), what=what,
                       email=address, answer=said, client=self._client_id())
        if status == 404 and code == "ErrorInvalidUser":
            return say("{email} is not a user of the app's tenant ({answer}): check the mailbox's address (or its "
                       "user name) and the profile's Tenant ID.", email=address, answer=said)
        if code == "MailboxNotEnabledForRESTAPI":
            return say("The mailbox {email} is inactive, soft-deleted or hosted on premises ({answer}): Graph cannot "
                       "reach it. Restore or license it in Exchange Online, or test an on-premises mailbox with an "
                       "Exchange Server (Hybrid) profile.", email=address, answer=said)
        if status >= 500:
            return say("Microsoft Graph failed while reading {what} of {email} ({answer}): a fault on Microsoft's "
                       "side, not in the profile; test again later.", what=what, email=address, answer=said)
        return say("Microsoft Graph refused reading {what} of {email} ({answer}).", what=what, email=address,
                   answer=said)

    def _client_id(self) -> str:
        request = self.a.token_request
        return request.client_id if request is not None else "<client id>"

    def _transport(self, exc: BaseException, what: str) -> str:
        a, where = self.a, self.a.ep.address
        if a.budget.overflowed:
            return say("{where} sent more than {size} KiB while answering for {what} (a Graph answer here is a few "
                       "KB), so the test stopped reading. Check that the profile's location is the Graph base URL "
                       "(https://graph.microsoft.com).", where=where, size=READ_LIMIT // 1024, what=what)
        stopped = stalled(a, exc, what)
        if stopped:
            return stopped
        if isinstance(exc, (http.client.HTTPException, ConnectionError, EOFError)):
            return say("{where} closed the connection or broke HTTP while answering for {what} ({error}): check that "
                       "the profile's location is Microsoft Graph.", where=where, what=what, error=type(exc).__name__)
        return say("Reading {what} at {where} failed ({error}).", what=what, where=where, error=type(exc).__name__)


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
    folder = g.call("GET", "mailFolders/inbox?$select=id,totalItemCount", N_("the Inbox"), MAIL_READ).json()
    total = folder.get("totalItemCount") if isinstance(folder, dict) else None
    g.call("GET", "mailFolders/inbox/messages?$top=1&$select=id", N_("the Inbox's messages"), MAIL_READ)
    if isinstance(total, int) and not isinstance(total, bool):
        return say_n("Read the Inbox of {email} through Microsoft Graph ({n} message): the app may read this "
                     "mailbox.", "Read the Inbox of {email} through Microsoft Graph ({n} messages): the app may read "
                     "this mailbox.", total, email=g.address)
    return say("Read the Inbox of {email} through Microsoft Graph (its messages listed): the app may read this "
               "mailbox.", email=g.address)


def _outgoing(g: _Graph) -> str:
    if "Mail.Send" not in g.a.token_scopes:
        g.a.step = AUTHENTICATION
        raise Stopped(say("The app's token lacks the Microsoft Graph application permission Mail.Send, so it cannot "
                          "send as {email}. In Entra ID add Mail.Send (API permissions → Microsoft Graph → Application "
                          "permissions), then Grant admin consent.", email=g.address))
    if not set(MAIL_READ) & set(g.a.token_scopes):
        g.a.step = AUTHENTICATION
        raise Stopped(say("The app holds Mail.Send, but without Mail.Read or Mail.ReadWrite nothing shows whether "
                          "{email} is in its scope short of sending: add Mail.ReadWrite, or send a test message "
                          "(--send-test-message, or F6 in the app).", email=g.address))
    g.call("GET", "mailFolders/sentitems?$select=id", N_("Sent Items"), MAIL_READ)
    return say("The app holds Mail.Send and may open {email} (Sent Items read) through Microsoft Graph. No mail was "
               "sent (a test message is sent only when asked: --send-test-message, or F6 in the app).", email=g.address)


def _send(g: _Graph) -> str:
    message = {"message": {"subject": TEST_SUBJECT, "body": {"contentType": "Text", "content": TEST_BODY},
                           "toRecipients": [{"emailAddress": {"address": g.address}}]},
               "saveToSentItems": True}
    g.call("POST", "sendMail", N_("sending (sendMail)"), ("Mail.Send",), message)
    return say("Sent a test message from {email} to itself through Microsoft Graph (202 Accepted): it arrives in its "
               "Inbox, with a copy in Sent Items (subject {subject}).", email=g.address, subject=repr(TEST_SUBJECT))


def _act(g: _Graph) -> str:
    for resource, what, needs in ACT_READS:
        g.call("GET", resource, what, needs)
    return say("Read the calendar, the contacts and the To Do task lists of {email} through Microsoft Graph: "
               "appointments, contacts and tasks can be synchronised.", email=g.address)


OPERATIONS = {INCOMING: _incoming, OUTGOING: _outgoing, SEND: _send, ACT: _act}


def graph_steps(a: Attempt) -> str:
    """The Graph probe: after the token step, the direction's reads (or the test message)."""
    if a.fetch_only:  # F8's `p`: the certificate, to compare and pin (P13)
        a.wrap(a.connect()).close()
        return say("Certificate fetched.")
    operation = OPERATIONS.get(a.ep.operation)
    if operation is None:
        raise Stopped(say("Unknown Microsoft Graph operation {name}.", name=repr(a.ep.operation)))
    if a.creds is None or not a.creds.bearer:
        raise Stopped(say("Exchange Online through Microsoft Graph needs an app-only OAuth token (Authenticate Using "
                          "OAuth, rule P14): nothing was sent."))
    return operation(_Graph(a))
