"""EWS's SOAP as the EWS probe writes and reads it (issue 23): GetFolder requests, and the CreateItem that sends a
test message when the admin asks for one, with ExchangeImpersonation when a service account acts for the mailbox,
and their answers (ResponseClass, ResponseCode, SOAP faults with BackOffMilliseconds), and Autodiscover's POX
request and answer.

Answers are outside text: parsed with defusedxml, a DTD refused outright (no entity expansion, no billion laughs,
no external entity), and only a few named values kept. Shapes from Microsoft's EWS reference (GetFolder operation,
CreateItem operation (email message), ResponseCode, ExchangeImpersonation, "Autodiscover for Exchange"): see
docs/testing-ews.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from ...i18n import N_, say

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
MESSAGES = "http://schemas.microsoft.com/exchange/services/2006/messages"
TYPES = "http://schemas.microsoft.com/exchange/services/2006/types"
ERRORS = "http://schemas.microsoft.com/exchange/services/2006/errors"
AUTODISCOVER_REQUEST = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
AUTODISCOVER_RESPONSE = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
AUTODISCOVER_BASE = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
SERVER_VERSION = "Exchange2013"  # every Exchange Server from 2013 on, and Exchange Online, accepts it


class NotEws(ValueError):
    """An answer that is not the XML asked for; the message (a say() sentence: our words, given to a sentence as
    its `reason`) says how, never quoting it."""


@dataclass(frozen=True)
class ResponseMessage:
    """One response message (GetFolderResponseMessage, CreateItemResponseMessage): its class, code and text, and
    the folder's item count when it has one."""

    response_class: str
    code: str
    text: str = ""
    total_count: int | None = None


@dataclass(frozen=True)
class SoapAnswer:
    fault_code: str = ""  # a SOAP fault's EWS ResponseCode (or faultcode), "" when no fault
    fault_text: str = ""
    back_off_ms: int | None = None  # ErrorServerBusy's BackOffMilliseconds
    messages: tuple[ResponseMessage, ...] = field(default=())


def get_folder(folders: tuple[str, ...], address: str, impersonate: bool) -> bytes:
    """A GetFolder request for distinguished folders of `address`: as that mailbox (ExchangeImpersonation), or
    naming the mailbox in each folder id (the account's own, or one it has Full Access to)."""
    who = escape(address)
    header = _header(address, impersonate)
    mailbox = "" if impersonate else f"<t:Mailbox><t:EmailAddress>{who}</t:EmailAddress></t:Mailbox>"
    ids = "".join(f"<t:DistinguishedFolderId Id={quoteattr(f)}>{mailbox}</t:DistinguishedFolderId>"
                  for f in folders)
    return (f'<?xml version="1.0" encoding="utf-8"?>'
            f'<soap:Envelope xmlns:soap="{SOAP}" xmlns:t="{TYPES}" xmlns:m="{MESSAGES}">'
            f"<soap:Header>{header}</soap:Header><soap:Body><m:GetFolder><m:FolderShape>"
            f"<t:BaseShape>Default</t:BaseShape></m:FolderShape><m:FolderIds>{ids}</m:FolderIds></m:GetFolder>"
            f"</soap:Body></soap:Envelope>").encode("utf-8")


def _header(address: str, impersonate: bool) -> str:
    header = f'<t:RequestServerVersion Version="{SERVER_VERSION}"/>'
    if impersonate:
        header += (f"<t:ExchangeImpersonation><t:ConnectingSID><t:SmtpAddress>{escape(address)}</t:SmtpAddress>"
                   "</t:ConnectingSID></t:ExchangeImpersonation>")
    return header


def create_item_message(address: str, impersonate: bool, subject: str, text: str) -> bytes:
    """A CreateItem that sends one plain-text message from `address` to itself and saves a copy in its Sent Items
    (MessageDisposition SendAndSaveCopy). As that mailbox (ExchangeImpersonation), or, with a mailbox's own
    credentials, naming the mailbox in the Sent Items folder id and as the sender (From)."""
    who = escape(address)
    box = f"<t:Mailbox><t:EmailAddress>{who}</t:EmailAddress></t:Mailbox>"
    sender = "" if impersonate else f"<t:From>{box}</t:From>"
    return (f'<?xml version="1.0" encoding="utf-8"?>'
            f'<soap:Envelope xmlns:soap="{SOAP}" xmlns:t="{TYPES}" xmlns:m="{MESSAGES}">'
            f"<soap:Header>{_header(address, impersonate)}</soap:Header><soap:Body>"
            '<m:CreateItem MessageDisposition="SendAndSaveCopy"><m:SavedItemFolderId>'
            f'<t:DistinguishedFolderId Id="sentitems">{"" if impersonate else box}</t:DistinguishedFolderId>'
            f"</m:SavedItemFolderId><m:Items><t:Message><t:Subject>{escape(subject)}</t:Subject>"
            f'<t:Body BodyType="Text">{escape(text)}</t:Body><t:ToRecipients>{box}</t:ToRecipients>{sender}'
            "</t:Message></m:Items></m:CreateItem></soap:Body></soap:Envelope>").encode("utf-8")


def _root(data: bytes, what: str):
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring

    try:
        return fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise NotEws(say("{what} declared a DTD or entities (refused unread: that is how an XML bomb starts)",
                         what=what)) from None
    except (ParseError, ValueError, RecursionError):
        raise NotEws(say("{what} is not well-formed XML", what=what)) from None


def _text(element, path: str, namespaces: dict[str, str]) -> str:
    found = element.find(path, namespaces)
    return (found.text or "").strip() if found is not None else ""


_NS = {"s": SOAP, "m": MESSAGES, "t": TYPES, "e": ERRORS}


def soap_answer(data: bytes) -> SoapAnswer:
    """The fault or the response messages of an EWS answer; NotEws when it is neither."""
    root = _root(data, N_("the answer"))
    if root.tag != f"{{{SOAP}}}Envelope":
        raise NotEws(say("the answer is XML but not a SOAP envelope"))
    body = root.find("s:Body", _NS)
    if body is None:
        raise NotEws(say("the SOAP envelope has no Body"))
    fault = body.find("s:Fault", _NS)
    if fault is not None:
        code = _text(fault, "detail/e:ResponseCode", _NS) or _text(fault, "faultcode", _NS).rpartition(":")[2]
        text = _text(fault, "detail/e:Message", _NS) or _text(fault, "faultstring", _NS)
        back_off = None
        for value in fault.iterfind("detail/t:MessageXml/t:Value", _NS):
            raw = (value.text or "").strip()
            if value.get("Name") == "BackOffMilliseconds" and raw.isascii() and raw.isdigit() and len(raw) <= 9:
                back_off = int(raw)
        return SoapAnswer(code or "SOAP fault", text, back_off)
    messages = []
    for message in body.iterfind("*/m:ResponseMessages/*", _NS):  # GetFolderResponse, CreateItemResponse
        total = None
        for count in message.iterfind("m:Folders/*/t:TotalCount", _NS):
            raw = (count.text or "").strip()
            total = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 12 else None
        messages.append(ResponseMessage(message.get("ResponseClass", ""), _text(message, "m:ResponseCode", _NS),
                                        _text(message, "m:MessageText", _NS), total))
    if not messages:
        raise NotEws(say("the SOAP answer holds no response message"))
    return SoapAnswer(messages=tuple(messages))


# ---------------------------------------------------------------- Autodiscover (POX)


def autodiscover_request(address: str) -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="{AUTODISCOVER_REQUEST}"><Request>'
            f"<EMailAddress>{escape(address)}</EMailAddress>"
            f"<AcceptableResponseSchema>{AUTODISCOVER_RESPONSE}</AcceptableResponseSchema>"
            "</Request></Autodiscover>").encode("utf-8")


@dataclass(frozen=True)
class AutodiscoverAnswer:
    ews_url: str = ""  # the EWS URL of the mailbox (EXPR, the external one, else EXCH)
    redirect_address: str = ""  # Action redirectAddr: ask again for this address
    redirect_url: str = ""  # Action redirectUrl: ask again at this URL
    error: str = ""  # the Error element's code and message


def autodiscover_answer(data: bytes) -> AutodiscoverAnswer:
    """What an Autodiscover (POX) answer says; NotEws when it is not one."""
    root = _root(data, N_("the Autodiscover answer"))
    if root.tag != f"{{{AUTODISCOVER_BASE}}}Autodiscover":
        raise NotEws(say("the answer is XML but not an Autodiscover answer"))
    ns = {"a": AUTODISCOVER_BASE, "r": AUTODISCOVER_RESPONSE}
    error = root.find("a:Response/a:Error", ns)
    if error is None:  # an Element with no children is falsy: never `or` two finds
        error = root.find("r:Response/r:Error", ns)
    if error is not None:
        code = _text(error, "a:ErrorCode", ns) or _text(error, "r:ErrorCode", ns)
        message = _text(error, "a:Message", ns) or _text(error, "r:Message", ns)
        return AutodiscoverAnswer(error=f"{code} {message}".strip() or "an error")
    account = root.find("r:Response/r:Account", ns)
    if account is None:
        raise NotEws(say("the Autodiscover answer has no Account"))
    action = _text(account, "r:Action", ns)
    if action == "redirectAddr":
        return AutodiscoverAnswer(redirect_address=_text(account, "r:RedirectAddr", ns))
    if action == "redirectUrl":
        return AutodiscoverAnswer(redirect_url=_text(account, "r:RedirectUrl", ns))
    urls = {_text(p, "r:Type", ns): _text(p, "r:EwsUrl", ns) for p in account.iterfind("r:Protocol", ns)}
    return AutodiscoverAnswer(ews_url=urls.get("EXPR") or urls.get("EXCH") or "")
