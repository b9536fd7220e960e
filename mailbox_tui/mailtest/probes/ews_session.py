"""One EWS session of a probe (issue 23): a kept-alive connection through graph_http's bounded client,
signed as the profile says (Basic, NTLM/Negotiate, a bearer token), answers parsed by ews_xml, refusals said
as one sentence with the cause and the fix. ews.py runs the directions' operations on it, and
ews_autodiscover.py asks Autodiscover with it."""

from __future__ import annotations

import http.client
import time
from urllib.parse import urlsplit

from ...domain.exchange import EWS_RETIREMENT
from ...domain.oauth import MICROSOFT_SCOPE
from ...domain.outside_text import visible
from ...i18n import N_, say, say_n
from ..limits import READ_LIMIT, ProbeLimit
from .attempt import Attempt
from .ews_auth import BASIC, BEARER, Signer, blob_header, server_token
from .ews_xml import NotEws, SoapAnswer, get_folder, soap_answer
from .explain import Deferred, Stopped, short_answer
from .graph_http import MIN_WAIT, RETRY_MARGIN, Answer, BoundedHTTPS, _sleep, request, stalled
from .results import AUTHENTICATION, CONNECT, DNS, MAILBOX_ACCESS, TLS

INCOMING, OUTGOING, ACT = "incoming", "outgoing", "act"
SEND = "send"  # the CreateItem of a test message, judged as one response message
FOLDER_NAMES = {SEND: N_("sending a test message"), "inbox": N_("the Inbox"), "sentitems": N_("Sent Items"),
                "drafts": N_("Drafts"), "calendar": N_("the calendar"), "contacts": N_("the contacts folder"),
                "tasks": N_("the tasks folder")}
ROLE_FIX = N_("Give the account the ApplicationImpersonation role (New-ManagementRoleAssignment -Role "
            "ApplicationImpersonation -User <account>, scoped with -CustomRecipientWriteScope to the mailboxes "
            "it serves)")

# What a refused CreateItem means, and its fix (Microsoft's ResponseCode reference).
SEND_FIXES = {
    "ErrorSendAsDenied": N_("the account may read the mailbox but not send as it. Give it Send As (Add-ADPermission "
                          "-ExtendedRights \"Send As\"), or test with the mailbox's own credentials."),
    "ErrorQuotaExceeded": N_("the mailbox is over its storage quota, so Exchange keeps no copy and sends nothing. Free "
                           "space or raise its quota (Set-Mailbox -ProhibitSendQuota), then test again."),
    "ErrorAccessDenied": N_("the account may not write to the mailbox's Sent Items. Give it Full Access (with a "
                          "mailbox's own credentials) or ApplicationImpersonation over the mailbox."),
}


class EwsSession:
    """One mailbox's GetFolder requests to EWS on one connection, signed in once."""

    def __init__(self, a: Attempt):
        self.a = a
        self.address = a.creds.mailbox or a.creds.username
        self.impersonate = a.creds.impersonate
        self.signer = Signer(a)
        first = self.signer.kerberos_header() if a.creds.kerberos else ""  # before connecting: nothing sent
        self.conn = a.conn = BoundedHTTPS(a)
        self.conn.connect()
        self.path = a.ep.path or "/EWS/Exchange.asmx"
        self.pending = first  # an Authorization header for the next request only (Kerberos, NTLM)
        self.signed_in = self.signer.scheme == BEARER

    # ------------------------------------------------ requests

    def _post(self, body: bytes, what: str, authorization: str) -> Answer:
        a = self.a
        headers = {"Content-Type": "text/xml; charset=utf-8", "Accept": "text/xml", "User-Agent": "mailbox-tui",
                   "X-AnchorMailbox": self.address}
        if authorization:
            headers["Authorization"] = authorization
        try:
            answer = request(self.conn, "POST", self.path, headers, body,
                             say("Exchange is throttling requests for {email} (reading {what})", email=self.address,
                                 what=what))
        except Stopped:
            raise
        except Exception as exc:  # noqa: BLE001 - each way an exchange can break becomes one sentence
            if a.step in (DNS, CONNECT, TLS) or a.budget.aborted:
                raise
            raise Stopped(self._transport(exc, what)) from None
        a.heard(f"HTTP {answer.status}")
        return answer

    def call(self, folders: tuple[str, ...], what: str) -> SoapAnswer:
        """GetFolder on `folders`; the parsed answer when EWS answered (each message still to be judged)."""
        return self.exchange(get_folder(folders, self.address, self.impersonate), what)

    def exchange(self, body: bytes, what: str) -> SoapAnswer:
        """One SOAP request, waited out while Exchange answers ErrorServerBusy (a busy fault: nothing was
        done), however often it comes, as long as each wait fits the profile's timeout (as Graph's 429s are,
        graph_http.request): a busy server slows a bulk run and never turns a good mailbox into a failure."""
        while True:
            answer = self._signed(body, what)
            parsed = self._parse(answer, what)
            if parsed.fault_code != "ErrorServerBusy" or parsed.back_off_ms is None:
                return parsed
            wait = max(parsed.back_off_ms / 1000, MIN_WAIT)
            budget = self.a.budget
            if wait + RETRY_MARGIN > budget.deadline - time.monotonic():
                raise Deferred(say("Exchange is busy and asked to wait {seconds} s before reading {what} of {email} "
                                   "(ErrorServerBusy, BackOffMilliseconds {value}), more than the profile's timeout of "
                                   "{timeout} s allows: not a fault of the configuration; test again later.",
                                   seconds=format(wait, "g"), what=what, email=self.address, value=parsed.back_off_ms,
                                   timeout=format(budget.timeout, "g")), "ErrorServerBusy")
            _sleep(wait, budget)

    def _signed(self, body: bytes, what: str) -> Answer:
        """The answer to `body`, signing in first when the server asks (401)."""
        a = self.a
        if not self.signed_in:
            a.step = AUTHENTICATION
        authorization, self.pending = self.pending or self.signer.header, ""
        answer = self._post(body, what, authorization)
        if answer.status == 401 and not self.signed_in and not authorization and not self.a.creds.kerberos:
            scheme = self.signer.choose(answer.challenges)
            if scheme == BASIC:
                answer = self._post(body, what, self.signer.basic_header())
            else:
                answer = self._ntlm(body, what, scheme)
        if answer.status == 401:
            a.step = AUTHENTICATION
            raise Stopped(self._refused_sign_in(answer), a.answer)
        self.signed_in = True
        a.step = MAILBOX_ACCESS
        return answer

    def _ntlm(self, body: bytes, what: str, scheme: str) -> Answer:
        """NTLM's negotiate and authenticate messages (pyspnego), on this one connection."""
        try:
            context = self.signer.ntlm_context()
            answer = self._post(body, what, blob_header(scheme, context.step()))
            challenge = server_token(answer.challenges, scheme)
            if answer.status != 401 or challenge is None:
                return answer  # no challenge: the 401 is explained by the caller; anything else is judged as it is
            return self._post(body, what, blob_header(scheme, context.step(challenge)))
        except Stopped:
            raise
        except Exception as exc:  # noqa: BLE001 - a malformed challenge is the server's fault, said plainly
            if self.a.budget.stopped or isinstance(exc, ProbeLimit):
                raise
            raise Stopped(say("{where} sent an NTLM challenge that could not be used ({error}): check that the "
                              "profile's location is the EWS URL of an Exchange server.", where=self.a.ep.address,
                              error=type(exc).__name__)) from None

    def _parse(self, answer: Answer, what: str) -> SoapAnswer:
        where = self.a.ep.address
        if 300 <= answer.status < 400:
            target = urlsplit(answer.headers.get("location", "")).netloc or "nowhere"
            raise Stopped(say("{where} redirected the request for {what} to {target} (HTTP {code}); it was not "
                              "followed, so no credentials went elsewhere. Set the profile's location to the EWS URL "
                              "itself (https://<server>/EWS/Exchange.asmx), or use Auto Discover.", where=where,
                              what=what, target=self._quote(target), code=answer.status))
        if answer.status == 404:
            raise Stopped(say("{where} has no EWS at {path} (HTTP 404): set the profile's location to the EWS URL, "
                              "https://<server>/EWS/Exchange.asmx.", where=where, path=self._quote(self.path)))
        try:
            parsed = soap_answer(answer.body)
        except NotEws as exc:
            if answer.status >= 500:
                raise Stopped(say("Exchange at {where} failed while answering for {what} (HTTP {code}, {reason}): a "
                                  "fault on the server's side; test again later.", where=where, what=what,
                                  code=answer.status, reason=exc.args[0])) from None
            raise Stopped(say("{where} did not answer as Exchange Web Services while reading {what} (HTTP {code}: "
                              "{reason}): check that the profile's location is the EWS URL "
                              "(https://<server>/EWS/Exchange.asmx).", where=where, what=what, code=answer.status,
                              reason=exc.args[0])) from None
        if parsed.fault_code:
            self.a.heard(visible(f"{parsed.fault_code}: {parsed.fault_text}"))
        else:
            self.a.heard(" ".join(visible(f"{m.response_class} {m.code}") for m in parsed.messages))
        if parsed.fault_code and parsed.fault_code != "ErrorServerBusy":
            raise Stopped(self._refusal(parsed.fault_code, parsed.fault_text, what), self.a.answer)
        return parsed

    def judge(self, parsed: SoapAnswer, folders: tuple[str, ...]) -> list[int | None]:
        """Each folder's item count; Stopped naming the first folder refused."""
        if len(parsed.messages) != len(folders):
            raise Stopped(say_n("{where} answered {n} response message, not one for each folder asked ({folders}): "
                                "not the answer of Exchange Web Services.",
                                "{where} answered {n} response messages, not one for each folder asked ({folders}): "
                                "not the answer of Exchange Web Services.", len(parsed.messages),
                                where=self.a.ep.address, folders=len(folders)))
        for folder, message in zip(folders, parsed.messages):
            if message.response_class not in ("Success", "Warning"):
                raise Stopped(self._refusal(message.code, message.text, FOLDER_NAMES[folder]), self.a.answer)
        return [m.total_count for m in parsed.messages]

    # ------------------------------------------------ explanations

    def _quote(self, text: str) -> str:
        return short_answer(visible(self.a.redact(text)))[:300]

    def _who(self) -> str:
        """Who signs in, in our words around a name: given as a `label` (our words) in a sentence."""
        creds = self.a.creds
        if creds.bearer:
            request = self.a.token_request
            return say("the app {app}", app=request.client_id) if request is not None else say("the app")
        if creds.kerberos:
            return say("this machine's Kerberos identity")
        return say("'{user}'", user=self._quote(creds.username))  # not repr: DOMAIN\\user would show its backslash twice

    def _refused_sign_in(self, answer: Answer) -> str:
        where, scheme = self.a.ep.address, self.signer.scheme or say("no sign-in")
        request = self.a.token_request
        if self.a.creds.bearer and request is not None and request.scope == MICROSOFT_SCOPE:
            return say("Exchange Online at {where} refused the app's token for EWS (HTTP 401): the app needs the "
                       "Office 365 Exchange Online application permission full_access_as_app with admin consent, and "
                       "the token's scope must be {scope}; or EWS is already switched off for this tenant ({date}).",
                       where=where, scope=MICROSOFT_SCOPE, date=EWS_RETIREMENT)
        if self.a.creds.bearer:
            return say("Exchange at {where} refused the access token (HTTP 401): Hybrid Modern Auth must be enabled "
                       "on the server (the EWS URL added as a service principal name of Office 365 Exchange Online), "
                       "and the token's scope must be the EWS URL's host with /.default.", where=where)
        if self.a.creds.kerberos:
            return say("Exchange at {where} refused this machine's Kerberos ticket (HTTP 401): the EWS virtual "
                       "directory must allow Windows authentication (Negotiate) and the service account must hold a "
                       "ticket for HTTP/<server>.", where=where)
        return say("Exchange at {where} refused the sign-in of {label} ({method}, HTTP 401): check the user name and "
                   "password (a domain account is written DOMAIN\\user or user@domain), and that the account is not "
                   "locked.", where=where, label=self._who(), method=scheme)

    def _refusal(self, code: str, text: str, what: str) -> str:
        """EWS's refusal: the mailbox and our words first, the server's code and text (`answer`) as a value."""
        address, who = self.address, self._who()
        said = self._quote(code) + (f": {self._quote(text)}" if text else "")
        if what == FOLDER_NAMES[SEND] and code in SEND_FIXES:
            return say("{label} could not send a test message as {email} ({answer}): {fix}", label=who, email=address,
                       answer=said, fix=SEND_FIXES[code])
        if code == "ErrorImpersonateUserDenied":
            return say("{label} may not act for {email} ({answer}). {fix}, then test again.", label=who, email=address,
                       answer=said, fix=ROLE_FIX)
        if code in ("ErrorNonExistentMailbox", "ErrorMailboxNotFound", "ErrorInvalidSmtpAddress"):
            return say("Exchange has no mailbox {email} ({answer}): check the mailbox's email address; an Exchange "
                       "Online mailbox is tested through Microsoft Graph with an Exchange Online profile.",
                       email=address, answer=said)
        if code == "ErrorAccessDenied" and self.impersonate:
            return say("{label} acting for {email} was refused {what} ({answer}): the ApplicationImpersonation role "
                       "may be scoped to leave this mailbox out, or the folder's permissions refuse it. {fix}.",
                       label=who, email=address, what=what, answer=said, fix=ROLE_FIX)
        if code == "ErrorAccessDenied":
            return say("{label} was refused {what} of {email} ({answer}): with a mailbox's own credentials the "
                       "account must be the mailbox's owner or hold Full Access to it (Add-MailboxPermission "
                       "-AccessRights FullAccess).", label=who, what=what, email=address, answer=said)
        if code in ("ErrorInternalServerError", "ErrorInternalServerTransientError", "ErrorMailboxStoreUnavailable",
                    "ErrorMailboxMoveInProgress"):
            return say("Exchange failed while reading {what} of {email} ({answer}): a fault on the server's side, not "
                       "in the profile; test again later.", what=what, email=address, answer=said)
        return say("Exchange refused reading {what} of {email} ({answer}).", what=what, email=address, answer=said)

    def _transport(self, exc: BaseException, what: str) -> str:
        a, where = self.a, self.a.ep.address
        if a.budget.overflowed:
            return say("{where} sent more than {size} KiB while answering for {what} (an EWS answer here is a few "
                       "KB), so the test stopped reading. Check that the profile's location is the EWS URL.",
                       where=where, size=READ_LIMIT // 1024, what=what)
        stopped = stalled(a, exc, what)
        if stopped:
            return stopped
        if isinstance(exc, (http.client.HTTPException, ConnectionError, EOFError)):
            return say("{where} closed the connection or broke HTTP while answering for {what} ({error}): check "
                       "that the profile's location is the EWS URL.", where=where, what=what,
                       error=type(exc).__name__)
        return say("Reading {what} at {where} failed ({error}).", what=what, where=where, error=type(exc).__name__)

    def acting(self) -> str:
        if self.impersonate:
            return say("as {label} impersonating the mailbox (ExchangeImpersonation)", label=self._who())
        return say("as {label}", label=self._who())
