"""The test EWS server's CreateItem (issue 23): one email message sent and its copy saved, as Microsoft's EWS
reference describes it (CreateItem operation (email message), MessageDisposition, SavedItemFolderId, ResponseCode).
docs/testing-ews.md says what it checks.

The request must be the shape Microsoft documents for sending: ``m:CreateItem`` with
``MessageDisposition="SendAndSaveCopy"``, ``m:SavedItemFolderId`` naming the distinguished folder ``sentitems``, and
one ``t:Message`` in ``m:Items`` with ``t:ToRecipients`` (else the SOAP fault ``ErrorSchemaValidation``, HTTP 500, as
Exchange answers a request its schema refuses). Rights, in this order: impersonation as for GetFolder (faults
``ErrorNonExistentMailbox``, ``ErrorImpersonateUserDenied``); without impersonation the sending mailbox (``t:From``,
else the account's own) must be the account's own, or one it has Full Access to (else ``ErrorAccessDenied``) and Send
As on (else ``ErrorSendAsDenied``); a Sent Items folder whose permissions refuse everyone gives ``ErrorAccessDenied``;
a mailbox over its quota ``ErrorQuotaExceeded``. A success is a ``CreateItemResponseMessage`` with
``ResponseClass="Success"``, ``NoError`` and an empty ``m:Items`` (SendAndSaveCopy returns no item id), and the
message is recorded in ``EwsServer.delivered``: what a test asserts arrived.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape

from defusedxml.ElementTree import fromstring

ACCESS_DENIED = "Access is denied. Check credentials and try again."
SEND_AS_DENIED = ("The user account which was used to submit this request does not have the right to send mail on "
                  "behalf of the specified sending account.")
QUOTA_EXCEEDED = "The mailbox quota has been exceeded."
SCHEMA = "The request failed schema validation: {detail}"


@dataclass(frozen=True)
class Delivered:
    """A message the server sent: who sent it, to whom, its subject, and where its copy was saved."""

    sender: str
    to: tuple[str, ...]
    subject: str
    body: str
    saved_in: str  # "sentitems"


def _text(node) -> str:
    return (node.text or "").strip() if node is not None else ""


def create_item(server, account, body: bytes, fault, ns: dict[str, str]):
    """(impersonated address, the SOAP answer); raises `fault` (the server's _Fault) for a SOAP fault."""
    root = fromstring(body, forbid_dtd=True)
    smtp = root.find("s:Header/t:ExchangeImpersonation/t:ConnectingSID/t:SmtpAddress", ns)
    impersonated = _text(smtp) if smtp is not None else None
    create = root.find("s:Body/m:CreateItem", ns)
    if create.get("MessageDisposition") != "SendAndSaveCopy":
        raise fault("ErrorSchemaValidation", SCHEMA.format(detail="MessageDisposition must be SendAndSaveCopy here"))
    saved = create.find("m:SavedItemFolderId/t:DistinguishedFolderId", ns)
    if saved is None or saved.get("Id") != "sentitems":
        raise fault("ErrorSchemaValidation", SCHEMA.format(detail="SavedItemFolderId must name sentitems"))
    messages = create.findall("m:Items/t:Message", ns)
    if len(messages) != 1:
        raise fault("ErrorSchemaValidation", SCHEMA.format(detail="Items must hold one Message"))
    message = messages[0]
    to = tuple(_text(a) for a in message.findall("t:ToRecipients/t:Mailbox/t:EmailAddress", ns))
    if not to or not all(to):
        raise fault("ErrorSchemaValidation", SCHEMA.format(detail="the Message has no ToRecipients"))
    failure = server._next_failure()
    if failure is not None:
        raise fault(failure[0], failure[1], failure[2])
    if impersonated is not None:
        server.check_impersonation(account, impersonated)
        sender = impersonated
    else:
        named = message.find("t:From/t:Mailbox/t:EmailAddress", ns)
        sender = _text(named) or account.mailbox or ""
    code = _refusal(server, account, sender, impersonated is not None, _text(saved.find("t:Mailbox/t:EmailAddress",
                                                                                        ns)))
    if code is None:
        server.deliver(Delivered(sender, to, _text(message.find("t:Subject", ns)), _text(message.find("t:Body", ns)),
                                 "sentitems"))
        answer = ('<m:CreateItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>'
                  "<m:Items/></m:CreateItemResponseMessage>")
    else:
        answer = (f'<m:CreateItemResponseMessage ResponseClass="Error"><m:MessageText>{escape(code[1])}'
                  f"</m:MessageText><m:ResponseCode>{code[0]}</m:ResponseCode>"
                  "<m:DescriptiveLinkKey>0</m:DescriptiveLinkKey><m:Items/></m:CreateItemResponseMessage>")
    return impersonated, (f'<m:CreateItemResponse xmlns:m="{ns["m"]}" xmlns:t="{ns["t"]}"><m:ResponseMessages>'
                          f"{answer}</m:ResponseMessages></m:CreateItemResponse>")


def _refusal(server, account, sender: str, impersonating: bool, saved_mailbox: str) -> tuple[str, str] | None:
    mailbox = server.mailboxes.get(sender.lower())
    if mailbox is None:
        return "ErrorNonExistentMailbox", "The SMTP address has no mailbox associated with it."
    if not impersonating:
        own = account.mailbox is not None and account.mailbox.lower() == sender.lower()
        if not own and sender.lower() not in {a.lower() for a in account.full_access}:
            return "ErrorAccessDenied", ACCESS_DENIED
        if not own and sender.lower() not in {a.lower() for a in account.send_as}:
            return "ErrorSendAsDenied", SEND_AS_DENIED
        if saved_mailbox and saved_mailbox.lower() != sender.lower():
            return "ErrorAccessDenied", ACCESS_DENIED
    if "sentitems" in mailbox.denied:
        return "ErrorAccessDenied", ACCESS_DENIED
    if mailbox.over_quota:
        return "ErrorQuotaExceeded", QUOTA_EXCEEDED
    return None
