"""Autodiscover for the EWS probe (P8, issue 23): the mailbox's EWS URL, asked of its domain's Autodiscover service
(POX, as Microsoft documents it: https://autodiscover.<domain>/autodiscover/autodiscover.xml, then
https://<domain>/autodiscover/autodiscover.xml), signed in as the EWS request will be.

Within the probe's budget: each candidate is tried in turn (a host not found, a refusal or an untrusted certificate
moves on to the next); an answer's `redirectAddr` (another address) or `redirectUrl` (another https URL) is followed
at most MAX_REDIRECTS times; an HTTP redirect is never followed (the credentials go only where Autodiscover is asked).
The EwsUrl found must be https. The profile's certificate pin (P13) is for the EWS server, not for Autodiscover.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import replace
from urllib.parse import urlsplit

from ..limits import ProbeLimit
from .ews_session import EwsSession
from .ews_xml import NotEws, autodiscover_answer, autodiscover_request
from .explain import Stopped
from .results import Endpoint

MAX_REDIRECTS = 2
PATH = "/autodiscover/autodiscover.xml"


def autodiscover_urls(domain: str) -> list[str]:
    """Where Autodiscover is asked for a mailbox of `domain`, in order (Microsoft's POX candidates over https)."""
    return [f"https://autodiscover.{domain}{PATH}", f"https://{domain}{PATH}"]


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
            raise Stopped(str(exc)) from None
    finally:
        session.conn.close()
        a.conn = None


def discover(a) -> Endpoint:
    """The EWS endpoint Autodiscover names for the attempt's mailbox; Stopped with every candidate's reason."""
    original, pin = a.ep, a.pin
    address = (a.creds.mailbox or a.creds.username).strip()
    domain = address.rpartition("@")[2]
    if "@" not in address or not domain:
        raise Stopped("Auto Discover asks for the mailbox's email address, and it has none: set the mailbox's "
                      "email address, or the profile's EWS URL.")
    urls, tried = autodiscover_urls(domain), []
    a.pin = ""  # the pin is the EWS server's: Autodiscover's certificate is verified
    try:
        for _ in range(MAX_REDIRECTS + 1):
            found = None
            for url in urls:
                a.ep = _endpoint(original, url) or original
                if a.ep is original:
                    tried.append(f"{url}: not an https URL")
                    continue
                try:
                    found = _ask(a, url, address)
                    break
                except ProbeLimit:
                    raise
                except Exception as exc:  # noqa: BLE001 - each candidate's failure is noted, the next one tried
                    if a.budget.stopped:
                        raise
                    tried.append(f"{a.ep.address}: {_reason(exc)}")
            if found is None:
                raise Stopped(f"Auto Discover found no EWS URL for {address}: " + "; ".join(tried)[:600] + ". Check "
                              f"the autodiscover.{domain} DNS record and certificate, or set the profile's EWS URL "
                              "(Auto Discover No).")
            if found.error:
                raise Stopped(f"Autodiscover at {a.ep.address} has no settings for {address} ({found.error[:200]}): "
                              "check the mailbox's email address, or set the profile's EWS URL.")
            if found.redirect_address:
                address = found.redirect_address
                urls = autodiscover_urls(address.rpartition("@")[2])
                continue
            if found.redirect_url:
                urls = [found.redirect_url]
                continue
            ews = _endpoint(original, found.ews_url)
            if ews is None:
                raise Stopped(f"Autodiscover at {a.ep.address} named no https EWS URL for {address}: set the "
                              "profile's EWS URL.")
            return replace(ews, pin_sha256=original.pin_sha256)
        raise Stopped(f"Autodiscover redirected more than {MAX_REDIRECTS} times for {address}: set the profile's "
                      "EWS URL.")
    finally:
        a.pin = pin
