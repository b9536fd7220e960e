"""What a probe is given (Endpoint, Credentials) and what it finds (ProbeResult, CertificateInfo)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

from ...domain.options import TlsMode
from ...i18n import N_

# Stored in English (a result's and an alert's step); shown with i18n.said() or shown().
DNS, CONNECT, TLS, GREETING, AUTHENTICATION, MAILBOX_ACCESS = (
    N_("DNS"), N_("connect"), N_("TLS"), N_("greeting"), N_("authentication"), N_("mailbox access"))
TOKEN = N_("token")  # OAuth (P14): getting the access token, before anything connects to the mail server
STEPS = (TOKEN, DNS, CONNECT, TLS, GREETING, AUTHENTICATION, MAILBOX_ACCESS)

IMAP, POP3, SMTP = "imap", "pop3", "smtp"
GRAPH = "graph"  # Exchange Online through Microsoft Graph (HTTPS); `Endpoint.operation` says what it does
EWS = "ews"  # Exchange Server through Exchange Web Services (SOAP over HTTPS); an empty host: Autodiscover
PROTOCOL_LABELS = {IMAP: "IMAP", POP3: "POP3", SMTP: "SMTP", GRAPH: "Microsoft Graph", EWS: "EWS"}
SECURITY_LABELS = {TlsMode.NONE: N_("no TLS"), TlsMode.IMPLICIT: "SSL/TLS", TlsMode.STARTTLS: "STARTTLS"}
ANSWER_MAX = 500  # characters of a server's answer kept in a result


@dataclass(frozen=True)
class Endpoint:
    """Where and how to connect."""

    protocol: str  # imap, pop3, smtp or graph
    host: str
    port: int
    tls: int = TlsMode.IMPLICIT
    timeout: float = 30.0  # seconds, for the whole probe
    pin_sha256: str = ""  # trust exactly this certificate: 64 hex digits (colons and spaces allowed)
    path: str = ""  # an HTTPS API's base path (Graph behind a proxy); "" for the server's root
    operation: str = ""  # what an HTTPS API probe does (probes/graph.py: incoming, outgoing, send, act)

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def label(self) -> str:
        security = SECURITY_LABELS.get(self.tls, TlsMode.label_of(self.tls))
        return f"{PROTOCOL_LABELS.get(self.protocol, self.protocol)} {self.address} ({security})"


@dataclass(frozen=True)
class Credentials:
    """A user name and a password, or (OAuth, P14) the address a token acts for and how to get the token:
    the probe's token step fetches it (`oauth`), then `password` holds the access token and `bearer` is set."""

    username: str
    password: str = field(repr=False)
    oauth: object = field(default=None, repr=False, compare=False)  # (TokenRequest, TokenCache)
    bearer: bool = False
    mailbox: str = ""  # EWS: the address whose folders are read, when it is not `username`
    impersonate: bool = False  # EWS: act for `mailbox` through ExchangeImpersonation (a service account, an app)
    kerberos: bool = False  # EWS: sign in with this machine's Kerberos ticket (Windows Integrated Authentication)


@dataclass(frozen=True)
class CertificateInfo:
    subject: str
    issuer: str
    not_before: datetime
    not_after: datetime
    sha256: str  # hex, lowercase, no colons: the form a profile pins

    @property
    def self_signed(self) -> bool:
        return self.subject == self.issuer

    @property
    def sha256_colons(self) -> str:
        return ":".join(self.sha256[i:i + 2] for i in range(0, len(self.sha256), 2)).upper()

    def as_dict(self) -> dict:
        return {"subject": self.subject, "issuer": self.issuer, "not_before": self.not_before.isoformat(),
                "not_after": self.not_after.isoformat(), "sha256": self.sha256}


@dataclass
class ProbeResult:
    protocol: str
    host: str
    port: int
    tls: int
    ok: bool
    step: str  # the last step reached when ok; the step that failed otherwise
    message: str  # plain English: what happened, and the fix when it failed
    elapsed: float  # seconds
    server_answer: str = ""  # the server's last answer, passwords removed
    tls_version: str = ""
    certificate: CertificateInfo | None = None
    token: str = ""  # OAuth: what the token step got (expiry, scopes, identity; never the token)
    deferred: bool = False  # the server asked to come back later (throttled): not a verdict on the configuration

    def as_dict(self) -> dict:
        out = asdict(self)
        out["elapsed"] = round(self.elapsed, 3)
        out["tls"] = SECURITY_LABELS.get(self.tls, TlsMode.label_of(self.tls))
        out["certificate"] = self.certificate.as_dict() if self.certificate else None
        return out


def certificate_info(der: bytes) -> CertificateInfo:
    import hashlib

    from cryptography import x509

    cert = x509.load_der_x509_certificate(der)
    return CertificateInfo(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        not_before=cert.not_valid_before_utc.replace(tzinfo=None),
        not_after=cert.not_valid_after_utc.replace(tzinfo=None),
        sha256=hashlib.sha256(der).hexdigest(),
    )
