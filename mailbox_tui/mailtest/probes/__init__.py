"""Connection probes for Test & Enable: IMAP, POP3 and SMTP with the standard library, and Exchange Online
through Microsoft Graph over HTTPS (graph.py), Exchange Server through EWS (ews.py).

A probe connects for real, step by step (DNS, connect, TLS, greeting, authentication,
mailbox access), and returns a ProbeResult: it never raises. Nothing is read, deleted or
sent: IMAP opens INBOX read-only, POP3 asks for the message count, SMTP stops after AUTH.

TLS is always verified with the system's trust store and the host name. A profile may
instead pin one certificate by its SHA-256 fingerprint (exactly 64 hex digits, rule P13); the
fingerprint is compared right after the handshake, before any credential is sent. A pin that
is not a SHA-256 fails the probe before it connects: it never switches verification off.

Bounded whatever the server does: the profile's timeout bounds the whole probe (not each
read), and a probe reads at most limits.READ_LIMIT bytes (see limits.py). Credentials with a
control character are never sent (rule M20): CR, LF or NUL would reach the server as extra
commands, ^A as extra SASL fields.

By job: results.py (what a probe is given and finds), tls.py (trust and pins), attempt.py (one
attempt within its budget), imap.py, pop3.py, smtp.py, graph.py, ews.py (each protocol's steps; graph_http.py the
bounded HTTPS client, ews_auth.py EWS's sign-in, ews_xml.py its SOAP), explain.py
(failures as plain English).
"""

from __future__ import annotations

from ...domain.options import TlsMode
from ...i18n import say
from .attempt import run_steps
from .ews import ews_steps
from .graph import graph_steps
from .imap import imap_steps
from .pop3 import pop3_steps
from .results import (
    ANSWER_MAX,
    AUTHENTICATION,
    CONNECT,
    DNS,
    EWS,
    GRAPH,
    GREETING,
    IMAP,
    MAILBOX_ACCESS,
    POP3,
    PROTOCOL_LABELS,
    SECURITY_LABELS,
    SMTP,
    STEPS,
    TLS,
    CertificateInfo,
    Credentials,
    Endpoint,
    ProbeResult,
    certificate_info,
)
from .smtp import smtp_steps
from .tls import verified_context

__all__ = [
    "ANSWER_MAX", "AUTHENTICATION", "CONNECT", "DNS", "EWS", "GRAPH", "GREETING", "IMAP", "MAILBOX_ACCESS", "POP3", "PROTOCOL_LABELS",
    "SECURITY_LABELS", "SMTP", "STEPS", "TLS", "CertificateInfo", "Credentials", "Endpoint", "ProbeResult",
    "certificate_info", "fetch_certificate", "probe", "probe_imap", "probe_pop3", "probe_smtp", "verified_context",
]

STEPS_OF = {IMAP: imap_steps, POP3: pop3_steps, SMTP: smtp_steps, GRAPH: graph_steps, EWS: ews_steps}


def probe(endpoint: Endpoint, credentials: Credentials | None = None) -> ProbeResult:
    """Test one connection for real. Credentials None: connect, TLS and greeting only."""
    steps = STEPS_OF.get(endpoint.protocol)
    if steps is None:
        return ProbeResult(endpoint.protocol, endpoint.host, endpoint.port, int(endpoint.tls), False, CONNECT,
                           say("{protocol} connections are not supported by this tool.",
                               protocol=repr(endpoint.protocol)), 0.0)
    return run_steps(endpoint, credentials, steps)


def probe_imap(endpoint: Endpoint, credentials: Credentials | None = None) -> ProbeResult:
    return probe(Endpoint(IMAP, *_rest(endpoint)), credentials)


def probe_pop3(endpoint: Endpoint, credentials: Credentials | None = None) -> ProbeResult:
    return probe(Endpoint(POP3, *_rest(endpoint)), credentials)


def probe_smtp(endpoint: Endpoint, credentials: Credentials | None = None) -> ProbeResult:
    return probe(Endpoint(SMTP, *_rest(endpoint)), credentials)


def _rest(ep: Endpoint) -> tuple:
    return ep.host, ep.port, ep.tls, ep.timeout, ep.pin_sha256, ep.path, ep.operation


def fetch_certificate(endpoint: Endpoint) -> ProbeResult:
    """The server's certificate (subject, expiry, SHA-256), without trusting it, so an admin can
    compare the fingerprint with one obtained from the server's owner and pin it.

    `result.certificate` is set when `result.ok`. Nothing but the TLS handshake (and the
    protocol's STARTTLS command when the endpoint uses STARTTLS) is sent."""
    if endpoint.tls == TlsMode.NONE:
        return ProbeResult(endpoint.protocol, endpoint.host, endpoint.port, int(endpoint.tls), False, TLS,
                           say("{where} does not use TLS: there is no certificate to fetch.", where=endpoint.label), 0.0)
    steps = STEPS_OF.get(endpoint.protocol)
    if steps is None:
        return probe(endpoint)
    result = run_steps(endpoint, None, steps, fetch_only=True)
    if result.ok:
        result.step = TLS
        cert = result.certificate
        until = f"{cert.not_after:%Y-%m-%d}" if cert else ""
        result.message = say("Certificate of {where}: {subject}, valid until {date}, SHA-256 {fingerprint}.",
                             where=endpoint.address, subject=cert.subject, date=until,
                             fingerprint=cert.sha256) if cert else result.message
    return result
