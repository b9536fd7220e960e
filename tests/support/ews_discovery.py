"""The test EWS server's Autodiscover (issue 23), from Microsoft's documents (docs/testing-ews.md):

* POX, ``POST /autodiscover/autodiscover.xml`` (signed in): ``Action`` settings with EXCH and EXPR ``EwsUrl``,
  ``redirectAddr`` for an address in ``autodiscover_redirects``, or ``Error`` 500 for an unknown address;
* Autodiscover v2, ``GET /autodiscover/autodiscover.json/v1.0/<address>?Protocol=EWS`` (anonymous, as Exchange
  Server 2016/2019 and Exchange Online answer it): ``200 {"Protocol": "EWS", "Url": "<the EWS URL>"}``; a protocol it
  does not know gives ``400 {"ErrorCode": "InvalidProtocol", "ErrorMessage": …}``. With ``autodiscover_v2`` False
  (an older server) the path is 404; ``v2_answer`` replaces the answer with a hostile one for a test.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape

from defusedxml.ElementTree import fromstring

AD_BASE = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
AD_OUTLOOK = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
AD_REQUEST = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
JSON_PREFIX = "/autodiscover/autodiscover.json/v1.0/"
V2_PROTOCOLS = ("AutodiscoverV1", "Ews", "Rest", "ActiveSync")
NOT_FOUND = b"<html><body>404 - File or directory not found.</body></html>"


def autodiscover(server, body: bytes) -> bytes:
    """The POX answer for the address the request names."""
    root = fromstring(body, forbid_dtd=True)
    node = root.find(f"{{{AD_REQUEST}}}Request/{{{AD_REQUEST}}}EMailAddress")
    address = (node.text or "").strip() if node is not None else ""
    if address.lower() in server.autodiscover_redirects:
        account = ("<Action>redirectAddr</Action>"
                   f"<RedirectAddr>{escape(server.autodiscover_redirects[address.lower()])}</RedirectAddr>")
    elif address.lower() in server.mailboxes:
        url = escape(server.ews_url_override or server.ews_url)
        account = ("<AccountType>email</AccountType><Action>settings</Action>"
                   f"<Protocol><Type>EXCH</Type><Server>ex01.contoso.local</Server><EwsUrl>{url}</EwsUrl></Protocol>"
                   f"<Protocol><Type>EXPR</Type><Server>mail.contoso.com</Server><EwsUrl>{url}</EwsUrl></Protocol>")
    else:
        return (f'<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="{AD_BASE}"><Response>'
                '<Error Time="10:00:00.0000000" Id="2047601612"><ErrorCode>500</ErrorCode>'
                "<Message>The email address can't be found.</Message><DebugData /></Error>"
                "</Response></Autodiscover>").encode()
    return (f'<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="{AD_BASE}"><Response xmlns="{AD_OUTLOOK}">'
            f"<User><AutoDiscoverSMTPAddress>{escape(address)}</AutoDiscoverSMTPAddress></User>"
            f"<Account>{account}</Account></Response></Autodiscover>").encode()


def autodiscover_json(server, target: str) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of an Autodiscover v2 GET for `target` (path and query)."""
    parts = urlsplit(target)
    if not server.autodiscover_v2 or not parts.path.lower().startswith(JSON_PREFIX):
        return 404, {"Content-Type": "text/html"}, NOT_FOUND
    if server.v2_answer is not None:
        return server.v2_answer
    protocol = (parse_qs(parts.query).get("Protocol") or [""])[0]
    json_type = {"Content-Type": "application/json; charset=utf-8"}
    if protocol.lower() not in {p.lower() for p in V2_PROTOCOLS}:
        error = {"ErrorCode": "InvalidProtocol",
                 "ErrorMessage": f"The given protocol value '{protocol}' is invalid. Supported values are "
                                 f"'{','.join(V2_PROTOCOLS)}'"}
        return 400, json_type, json.dumps(error).encode()
    address = unquote(parts.path[len(JSON_PREFIX):])
    if protocol.lower() == "ews":
        url = server.ews_url_override or server.ews_url
        return 200, json_type, json.dumps({"Protocol": "EWS", "Url": url}).encode()
    other = {"Protocol": protocol, "Url": f"https://127.0.0.1:{server.port}/{address}"}
    return 200, json_type, json.dumps(other).encode()
