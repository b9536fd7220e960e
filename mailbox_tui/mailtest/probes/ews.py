"""Exchange Server (and Exchange Server (Hybrid), and Exchange Online's EWS until its shutdown) through Exchange Web
Services (issue 23): what each direction reads, and EWS's answers as one sentence with the cause and the fix.

- incoming: GetFolder on the Inbox; outgoing: GetFolder on Sent Items and Drafts (the rights sending needs; no
  mail is sent); send (outgoing when the admin asks for a test message): one CreateItem (SendAndSaveCopy) from the
  mailbox to itself, its copy saved in Sent Items; act: GetFolder on the calendar, the contacts and the tasks
  folders, each named when refused.
- A profile's own credentials (or this machine's Kerberos ticket, or an app-only token) act for many mailboxes:
  the request carries ExchangeImpersonation with the mailbox's address; a mailbox's own credentials read its own
  folders. Every request carries X-AnchorMailbox, so Exchange routes it to the mailbox's server.
- Autodiscover (P8) first when the profile has no location: v2 (JSON), then POX (ews_autodiscover.py).

Requests go through graph_http's bounded client on one kept-alive connection (NTLM authenticates it); answers are
parsed by ews_xml with DTDs refused. Microsoft's facts and the test server: docs/testing-ews.md.
"""

from __future__ import annotations

from datetime import datetime, timezone

from ...i18n import N_, say, say_n
from .attempt import Attempt
from .explain import Stopped
from .ews_session import ACT, FOLDER_NAMES, INCOMING, OUTGOING, SEND, EwsSession
from .ews_xml import create_item_message

TEST_BODY = ("This message was sent by mailbox-tui's Test & Enable, from this mailbox to itself, to show that it "
             "may send through Exchange Web Services. You can delete it.")


def subject_of_test_message(now: datetime | None = None) -> str:
    """The test message's subject: mailbox-tui and the time it was sent (UTC)."""
    now = now or datetime.now(timezone.utc)
    return f"mailbox-tui test message, {now:%Y-%m-%d %H:%M} UTC: your mailbox is connected"


# Each sentence in two forms: alone, and with where Auto Discover found the EWS URL (`found`: the URL and how), so
# that a stored one reads back whole by its own template.
Found = tuple[str, str] | None


def _incoming(e: EwsSession, found: Found) -> str:
    (total,) = e.judge(e.call(("inbox",), N_("the Inbox")), ("inbox",))
    if total is None and found:
        return say("Read the Inbox of {email} through EWS (opened) {method}. EWS URL found by Auto Discover: {url} "
                   "({reason}).", email=e.address, method=e.acting(), url=found[0], reason=found[1])
    if total is None:
        return say("Read the Inbox of {email} through EWS (opened) {method}.", email=e.address, method=e.acting())
    if found:
        return say_n("Read the Inbox of {email} through EWS ({n} item) {method}. EWS URL found by Auto Discover: "
                     "{url} ({reason}).", "Read the Inbox of {email} through EWS ({n} items) {method}. EWS URL found "
                     "by Auto Discover: {url} ({reason}).", total, email=e.address, method=e.acting(), url=found[0],
                     reason=found[1])
    return say_n("Read the Inbox of {email} through EWS ({n} item) {method}.",
                 "Read the Inbox of {email} through EWS ({n} items) {method}.", total, email=e.address,
                 method=e.acting())


def _outgoing(e: EwsSession, found: Found) -> str:
    folders = ("sentitems", "drafts")
    e.judge(e.call(folders, N_("Sent Items and Drafts")), folders)
    if found:
        return say("Opened Sent Items and Drafts of {email} through EWS {method}: the rights sending needs. No mail "
                   "was sent. EWS URL found by Auto Discover: {url} ({reason}).", email=e.address, method=e.acting(),
                   url=found[0], reason=found[1])
    return say("Opened Sent Items and Drafts of {email} through EWS {method}: the rights sending needs. No mail was "
               "sent.", email=e.address, method=e.acting())


def _send(e: EwsSession, found: Found) -> str:
    subject = subject_of_test_message()
    e.judge(e.exchange(create_item_message(e.address, e.impersonate, subject, TEST_BODY), FOLDER_NAMES[SEND]),
            (SEND,))
    if found:
        return say("Sent a test message from {email} to itself through EWS (CreateItem, SendAndSaveCopy) {method}: it "
                   "arrives in its Inbox, with a copy in Sent Items (subject {subject}). EWS URL found by Auto "
                   "Discover: {url} ({reason}).", email=e.address, method=e.acting(), subject=repr(subject),
                   url=found[0], reason=found[1])
    return say("Sent a test message from {email} to itself through EWS (CreateItem, SendAndSaveCopy) {method}: it "
               "arrives in its Inbox, with a copy in Sent Items (subject {subject}).", email=e.address,
               method=e.acting(), subject=repr(subject))


def _act(e: EwsSession, found: Found) -> str:
    folders = ("calendar", "contacts", "tasks")
    e.judge(e.call(folders, N_("the calendar, contacts and tasks folders")), folders)
    if found:
        return say("Read the calendar, the contacts and the tasks folders of {email} through EWS {method}: "
                   "appointments, contacts and tasks can be synchronised. EWS URL found by Auto Discover: {url} "
                   "({reason}).", email=e.address, method=e.acting(), url=found[0], reason=found[1])
    return say("Read the calendar, the contacts and the tasks folders of {email} through EWS {method}: appointments, "
               "contacts and tasks can be synchronised.", email=e.address, method=e.acting())


OPERATIONS = {INCOMING: _incoming, OUTGOING: _outgoing, SEND: _send, ACT: _act}


def ews_steps(a: Attempt) -> str:
    """The EWS probe: Autodiscover when there is no location, then the direction's GetFolder."""
    if a.fetch_only:  # F8's `p`: the certificate, to compare and pin (P13)
        a.wrap(a.connect()).close()
        return say("Certificate fetched.")
    operation = OPERATIONS.get(a.ep.operation)
    if operation is None:
        raise Stopped(say("Unknown EWS operation {name}.", name=repr(a.ep.operation)))
    if a.creds is None:
        raise Stopped(say("Exchange Server through EWS needs credentials: nothing was sent."))
    if a.ep.host:
        return operation(EwsSession(a), None)
    from .ews_autodiscover import discover

    a.ep, how = discover(a)
    return operation(EwsSession(a), (f"https://{a.ep.address}{a.ep.path}", how))
