"""Autodiscover for the EWS probe (P8, issue 23): the mailbox's EWS URL, asked of its domain's Autodiscover service,
first as Autodiscover v2 (JSON), then as POX, at Microsoft's candidates https://autodiscover.<domain> then
https://<domain>.

Why v2 first: Autodiscover v2 (`GET /autodiscover/autodiscover.json/v1.0/<address>?Protocol=EWS`, answered by
Exchange Online and by Exchange Server 2016/2019 with `{"Protocol": "EWS", "Url": ".../EWS/Exchange.asmx"}`) is
asked anonymously, so no credentials go to a candidate host before an EWS URL is known; Outlook asks it first for
that reason. Microsoft's EWS reference documents only POX (and SOAP) Autodiscover for EWS clients, with
credentials, so POX (/autodiscover/autodiscover.xml, signed in as the EWS request will be) is the fallback when no
candidate answers v2 usefully (an older server answers 404). A v2 answer is trusted less than a signed-in POX one:
its Url must be https and on the host that answered or in the mailbox's own domain, else it is set aside (said in
the failure) and POX asked. A v2 answer is read up to JSON_MAX bytes; an HTTP redirect is never followed.

Within the probe's budget (the profile's timeout, 256 KiB): each candidate is tried in turn (a host not found, a
refusal or an untrusted certificate moves on to the next); a POX answer's `redirectAddr` (another address) or
`redirectUrl` (another https URL) is followed at most MAX_REDIRECTS times. The EwsUrl found must be https. The
profile's certificate pin (P13) is for the EWS server, not for Autodiscover.
"""

from __future__ import annotations

import json
import socket
import ssl
from dataclasses import replace
from urllib.parse import quote, urlsplit

from ...domain.outside_text import visible
from ...i18n import say
from ..limits import ProbeLimit
from .ews_session import EwsSession
from .ews_xml import NotEws, autodiscover_answer, autodiscover_request
from .explain import Stopped
from .graph_http import BoundedHTTPS
from .results import Endpoint

MAX_REDIRECTS = 2
PATH = "/autodiscover/autodiscover.xml"
JSON_PATH = "/autodiscover/autodiscover.json/v1.0/"
JSON_MAX = 16 * 1024  # an Autodiscover v2 answer is about a hundred bytes


def autodiscover_bases(domain: str) -> list[str]:
    """Where Autodiscover is asked for a mailbox of `domain`, in order (Microsoft's candidates, over https)."""
    return [f"https://autodiscover.{domain}", f"https://{domain}"]


def autodiscover_urls(domain: str) -> list[str]:
    """The POX Autodiscover URLs of `domain`'s candidates."""
    return [base + PATH for base in autodiscover_bases(domain)]


def autodiscover_json_url(base: str, address: str) -> str:
    """The Autodiscover v2 URL asking `base` for the EWS URL of `address`."""
    return f"{base}{JSON_PATH}{quote(address, safe='@')}?Protocol=EWS"


def autodiscover_json_answer(data: bytes) -> str:
    """The Url an Autodiscover v2 answer names for EWS; NotEws saying why there is none (never quoting it whole)."""
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise NotEws("the answer is not JSON") from None
    if not isinstance(value, dict):
        raise NotEws("the answer is JSON but not an object")
    code = value.get("ErrorCode")
    if code is not None:
        said = visible(code)[:80] if isinstance(code, str) else "no code"
        raise NotEws(f"Autodiscover v2 answered an error ({said})")
    protocol, url = value.get("Protocol"), value.get("Url")
    if not isinstance(protocol, str) or protocol.lower() != "ews":
        raise NotEws("the answer names no EWS protocol")
    if not isinstance(url, str) or not url.strip():
        raise NotEws("the answer names no Url")
    return url.strip()


def in_domain(host: str, domain: str) -> bool:
    host, domain = host.lower().rstrip("."), domain.lower().rstrip(".")
    return bool(domain) and (host == domain or host.endswith("." + domain))


def _endpoint(ep: Endpoint, url: str) -> Endpoint | None:
    parts = urlsplit(url)
    try:
        port = parts.port or 443
    except ValueError:
        return None
    if parts.scheme.lower() != "https" or not parts.hostname:
        return None
    return replace(ep, host=parts.hostname, port=port, path=parts.path or PATH)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, Stopped):
        return exc.message
    if isinstance(exc, socket.gaierror):
        return "host name not found"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"certificate not trusted ({exc.verify_message})"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return "no answer"
    return type(exc).__name__


def _ask(a, url: str, address: str):
    """One Autodiscover request at `url` (a.ep already points there): the parsed answer, or Stopped."""
    session = EwsSession(a)
    try:
        session.path = a.ep.path
        answer = session._signed(autodiscover_request(address), "Autodiscover")
        if 300 <= answer.status < 400:
            target = urlsplit(answer.headers.get("location", "")).netloc or "nowhere"
            raise Stopped(f"redirected to {session._quote(target)} (HTTP {answer.status}, not followed)")
        if answer.status != 200:
            raise Stopped(f"HTTP {answer.status}")
        try:
            return autodiscover_answer(answer.body)
        except NotEws as exc:
            raise Stopped(exc.args[0]) from None
    finally:
        session.conn.close()
        a.conn = None


def _get_json(a, address: str, domain: str) -> str:
    """One Autodiscover v2 request at a.ep, anonymous: the https EWS URL it names, or Stopped saying why not."""
    conn = a.conn = BoundedHTTPS(a)
    try:
        conn.connect()
        conn.request("GET", a.ep.path, headers={"Accept": "application/json", "User-Agent": "mailbox-tui"})
        response = conn.getresponse()
        data = response.read(JSON_MAX + 1)
        a.heard(f"HTTP {response.status}")
        if 300 <= response.status < 400:
            target = urlsplit(response.headers.get("Location", "")).netloc or "nowhere"
            raise Stopped(f"redirected to {visible(target)[:100]} (HTTP {response.status}, not followed)")
        if response.status != 200:
            raise Stopped(f"HTTP {response.status}")
        if len(data) > JSON_MAX:
            raise Stopped(f"answered more than {JSON_MAX // 1024} KiB (a v2 answer is a few hundred bytes), not read")
        try:
            url = autodiscover_json_answer(data)
        except NotEws as exc:
            raise Stopped(exc.args[0]) from None
        parts = urlsplit(url)
        try:
            host, _ = parts.hostname or "", parts.port
        except ValueError:
            host = ""
        if parts.scheme.lower() != "https" or not host:
            raise Stopped("named an EWS URL that is not https (not used: credentials go only over https)")
        if host.lower() != a.ep.host.lower() and not in_domain(host, domain):
            raise Stopped(f"named an EWS URL on another domain ({visible(host)[:100]}), not used: only POX "
                          "Autodiscover, signed in, may send the credentials elsewhere")
        return url
    finally:
        conn.close()
        a.conn = None


def _discover_json(a, original: Endpoint, address: str, domain: str, tried: list[str]) -> Endpoint | None:
    """Autodiscover v2 at each candidate; None (each reason in `tried`) when none names a usable EWS URL."""
    for base in autodiscover_bases(domain):
        url = autodiscover_json_url(base, address)
        ep = _endpoint(original, url)
        if ep is None:
            tried.append(f"{base} (v2): not an https URL")
            continue
        a.ep = replace(ep, path=f"{urlsplit(url).path}?{urlsplit(url).query}")
        try:
            return _endpoint(original, _get_json(a, address, domain))
        except ProbeLimit:
            raise
        except Exception as exc:  # noqa: BLE001 - each candidate's failure is noted, the next one tried
            if a.budget.stopped:
                raise
            tried.append(f"{a.ep.address} (v2): {_reason(exc)}")
    return None


def discover(a) -> tuple[Endpoint, str]:
    """The EWS endpoint Autodiscover names for the attempt's mailbox, and how it was found; Stopped with every
    candidate's reason."""
    original, pin = a.ep, a.pin
    address = (a.creds.mailbox or a.creds.username).strip()
    domain = address.rpartition("@")[2]
    if "@" not in address or not domain:
        raise Stopped(say("Auto Discover asks for the mailbox's email address, and it has none: set the mailbox's "
                          "email address, or the profile's EWS URL."))
    urls, tried = autodiscover_urls(domain), []
    a.pin = ""  # the pin is the EWS server's: Autodiscover's certificate is verified
    try:
        found_v2 = _discover_json(a, original, address, domain, tried)
        if found_v2 is not None:
            return replace(found_v2, pin_sha256=original.pin_sha256), say("Autodiscover v2")
        for _ in range(MAX_REDIRECTS + 1):
            found = None
            for url in urls:
                a.ep = _endpoint(original, url) or original
                if a.ep is original:
                    tried.append(f"{url} (POX): not an https URL")
                    continue
                try:
                    found = _ask(a, url, address)
                    break
                except ProbeLimit:
                    raise
                except Exception as exc:  # noqa: BLE001 - each candidate's failure is noted, the next one tried
                    if a.budget.stopped:
                        raise
                    tried.append(f"{a.ep.address} (POX): {_reason(exc)}")
            if found is None:
                # Each candidate's reason is a value (English, as tried): the list is shown as it was found.
                raise Stopped(say("Auto Discover found no EWS URL for {email}: {tried}. Check the autodiscover.{domain} "
                                  "DNS record and certificate, or set the profile's EWS URL (Auto Discover No).",
                                  email=address, tried="; ".join(tried)[:600], domain=domain))
            if found.error:
                raise Stopped(say("Autodiscover at {where} has no settings for {email} ({answer}): check the mailbox's "
                                  "email address, or set the profile's EWS URL.", where=a.ep.address, email=address,
                                  answer=found.error[:200]))
            if found.redirect_address:
                address = found.redirect_address
                urls = autodiscover_urls(address.rpartition("@")[2])
                continue
            if found.redirect_url:
                urls = [found.redirect_url]
                continue
            ews = _endpoint(original, found.ews_url)
            if ews is None:
                raise Stopped(say("Autodiscover at {where} named no https EWS URL for {email}: set the profile's EWS "
                                  "URL.", where=a.ep.address, email=address))
            how = say("POX Autodiscover")
            if tried:
                how = say("POX Autodiscover, after {tried}", tried="; ".join(tried)[:300])
            return replace(ews, pin_sha256=original.pin_sha256), how
        raise Stopped(say("Autodiscover redirected more than {count} times for {email}: set the profile's EWS URL.",
                          count=MAX_REDIRECTS, email=address))
    finally:
        a.pin = pin
