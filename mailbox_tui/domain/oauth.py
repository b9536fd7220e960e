"""OAuth 2.0 settings of a profile (P14): which method a profile uses, the defaults it fills in, and
whether a pasted certificate or service-account key can be used. Pure: no I/O, no network."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from functools import lru_cache

from .exchange import GRAPH_SCOPE, ews_scope, graph_scope, uses_graph
from .options import AuthMethod, ServerType
from ..i18n import say
from .text import host_problem

# Microsoft Entra ID app-only tokens (client credentials): 7 OAuth (IMAP/SMTP, or Graph on Exchange Online),
# 2 Server to Server Authentication (Graph on Exchange Online), 6 Exchange Hybrid Modern Auth (EWS on premises).
MICROSOFT_METHODS = frozenset({AuthMethod.OAUTH, AuthMethod.SERVER_TO_SERVER, AuthMethod.EXCHANGE_HYBRID_MODERN_AUTH})
OAUTH_METHODS = MICROSOFT_METHODS | {AuthMethod.GMAIL_OAUTH}
MAIL_OAUTH_METHODS = frozenset({AuthMethod.OAUTH, AuthMethod.GMAIL_OAUTH})  # on POP3/IMAP/SMTP (SASL)
# Where 2 and 6 exist (P5): Exchange Online for Server to Server, Exchange Server for Hybrid Modern Auth.
EXCHANGE_ONLY = {AuthMethod.SERVER_TO_SERVER: frozenset({ServerType.EXCHANGE_ONLINE_HYBRID}),
                 AuthMethod.EXCHANGE_HYBRID_MODERN_AUTH: frozenset({ServerType.EXCHANGE, ServerType.EXCHANGE_HYBRID})}
MICROSOFT_SCOPE = "https://outlook.office365.com/.default"
GOOGLE_SCOPE = "https://mail.google.com/"
DEFAULT_SCOPE = {AuthMethod.OAUTH: MICROSOFT_SCOPE, AuthMethod.GMAIL_OAUTH: GOOGLE_SCOPE,
                 AuthMethod.SERVER_TO_SERVER: GRAPH_SCOPE, AuthMethod.EXCHANGE_HYBRID_MODERN_AUTH: ""}
MICROSOFT_TOKEN_URL = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"
SECRET_MAX = 20_000  # a PEM key and its certificate, or a JSON key file, fit easily
CLIENT_SECRET_MAX = 1_000
# What each method reads; the others are cleared on save (as P6 clears unused credentials).
_ENTRA_FIELDS = ("oauth_client_id", "oauth_client_secret", "oauth_certificate", "oauth_tenant_id", "oauth_scope",
                 "oauth_token_endpoint")
USED_BY = {
    **{method: _ENTRA_FIELDS for method in MICROSOFT_METHODS},
    AuthMethod.GMAIL_OAUTH: ("oauth_client_id", "oauth_service_account_key", "oauth_scope", "oauth_token_endpoint"),
}
OAUTH_FIELDS = ("oauth_client_id", "oauth_client_secret", "oauth_certificate", "oauth_tenant_id",
                "oauth_service_account_key", "oauth_scope", "oauth_token_endpoint")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.S)


def methods_of(d) -> list[int]:
    """The OAuth methods a profile draft uses, incoming first (outgoing has its own when not the same). Server to
    Server and Exchange Hybrid Modern Auth count only on the server types they exist for (P5 refuses them
    elsewhere, and asking for their settings there would only add noise)."""
    codes = [d.auth_method] if d.use_same_settings_for_outgoing else [d.auth_method, d.outgoing_auth_method]
    out: list[int] = []
    for code in codes:
        if code in EXCHANGE_ONLY and d.server_type not in EXCHANGE_ONLY[code]:
            continue
        if code in OAUTH_METHODS and code not in out:
            out.append(code)
    return out


def default_scope(method: int, server_type: int | None, location: str) -> str:
    """The scope a blank Scope gets: Graph's (of the location's cloud) for 7 and 2 on an Exchange Online profile
    tested through Graph, the EWS host's own for 6 ("" when no location names it: Auto Discover), else the
    provider's."""
    if method == AuthMethod.EXCHANGE_HYBRID_MODERN_AUTH:
        return ews_scope(location)
    if method in (AuthMethod.OAUTH, AuthMethod.SERVER_TO_SERVER) and uses_graph(server_type, location):
        return graph_scope(location)
    return DEFAULT_SCOPE[method]


def used_fields(methods) -> set[str]:
    return {name for m in methods for name in USED_BY.get(m, ())}


def tidy_key_text(text: str) -> str:
    """A pasted key as its file holds it. A form's input keeps one line, so a PEM pasted there has
    spaces where its line breaks were: each block is rebuilt (64 columns). JSON needs nothing."""
    text = (text or "").strip()
    if "-----BEGIN" not in text or text.startswith("{"):
        return text
    blocks = []
    for label, body in _PEM_BLOCK.findall(text):
        body = "".join(body.split())
        lines = [body[i:i + 64] for i in range(0, len(body), 64)]
        blocks.append("\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----"]))
    return "\n".join(blocks) + "\n" if blocks else text


@dataclass(frozen=True)
class ClientCertificate:
    """What a certificate assertion needs: the key (PEM) and the certificate's SHA-1 and SHA-256 thumbprints."""

    private_key_pem: str
    sha1_thumbprint: str  # hex, as Entra ID shows it
    x5t: str  # base64url SHA-1 of the DER certificate
    x5t_s256: str


class KeyProblem(ValueError):
    """A certificate or key that cannot be used; the message says why (never the key)."""


@lru_cache(maxsize=16)
def client_certificate(text: str) -> ClientCertificate:
    """The private key and certificate in a PEM text, or KeyProblem."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

    text = tidy_key_text(text)
    labels = [label for label, _ in _PEM_BLOCK.findall(text)]
    key_blocks = [m.group(0) for m in _PEM_BLOCK.finditer(text) if m.group(1).endswith("PRIVATE KEY")]
    cert_blocks = [m.group(0) for m in _PEM_BLOCK.finditer(text) if m.group(1) == "CERTIFICATE"]
    if "ENCRYPTED PRIVATE KEY" in labels:
        raise KeyProblem(say("The certificate's private key is encrypted: export it without a password (PEM)."))
    if not key_blocks:
        raise KeyProblem(say("The certificate needs its private key: paste the PEM private key and the certificate."))
    if not cert_blocks:
        raise KeyProblem(say("The certificate is missing: paste the PEM certificate after the private key."))
    try:
        key = serialization.load_pem_private_key(key_blocks[0].encode(), password=None,
                                                 unsafe_skip_rsa_key_validation=True)
    except (ValueError, TypeError):
        raise KeyProblem(say("The private key is not a readable, unencrypted PEM key.")) from None
    try:
        cert = x509.load_pem_x509_certificate(cert_blocks[0].encode())
    except ValueError:
        raise KeyProblem(say("The certificate is not a readable PEM certificate.")) from None
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if cert.public_key().public_bytes(*spki) != key.public_key().public_bytes(*spki):
        raise KeyProblem(say("The private key does not belong to the certificate."))
    der = cert.public_bytes(serialization.Encoding.DER)
    sha1 = hashlib.sha1(der).digest()  # noqa: S324 - Entra ID names certificates by their SHA-1 thumbprint
    return ClientCertificate(
        key_blocks[0], sha1.hex().upper(), _b64url(sha1), _b64url(cert.fingerprint(hashes.SHA256())))


@dataclass(frozen=True)
class ServiceAccountKey:
    client_email: str  # the issuer of the assertion; "" when the key is bare PEM (then the Client ID is it)
    private_key_pem: str
    private_key_id: str
    token_uri: str


@lru_cache(maxsize=16)
def service_account_key(text: str) -> ServiceAccountKey:
    """A Google service account's JSON key file (or its bare PEM private key), or KeyProblem."""
    from cryptography.hazmat.primitives import serialization

    text = tidy_key_text(text)
    if text.startswith("{"):
        try:
            info = json.loads(text)
        except ValueError:
            raise KeyProblem(say("The service account key is not valid JSON: paste the whole key file.")) from None
        if not isinstance(info, dict) or info.get("type") != "service_account":
            raise KeyProblem(say("The JSON is not a service account key (its \"type\" must be \"service_account\")."))
        email, pem = info.get("client_email"), info.get("private_key")
        if not isinstance(email, str) or "@" not in email:
            raise KeyProblem(say("The service account key has no client_email."))
        if not isinstance(pem, str) or "PRIVATE KEY" not in pem:
            raise KeyProblem(say("The service account key has no private_key."))
        key_id, token_uri = info.get("private_key_id") or "", info.get("token_uri") or ""
    else:
        email, pem, key_id, token_uri = "", text, "", ""
    try:
        serialization.load_pem_private_key(pem.encode(), password=None, unsafe_skip_rsa_key_validation=True)
    except (ValueError, TypeError):
        raise KeyProblem(say("The service account's private key is not a readable, unencrypted PEM key.")) from None
    return ServiceAccountKey(email, pem, str(key_id), str(token_uri))


def tenant_problem(text: str) -> str | None:
    """A tenant is a GUID or a domain name (contoso.onmicrosoft.com)."""
    value = text.strip()
    if _GUID.match(value):
        return None
    if "." in value and host_problem(value) is None:
        return None
    return say("Tenant ID {name} is neither a GUID nor a domain name (contoso.onmicrosoft.com).", name=repr(value))


def token_url(method: int, tenant: str, override: str, key_token_uri: str = "") -> str:
    """Where tokens come from: the profile's Token Endpoint, else the tenant's (Microsoft) or the
    key file's token_uri, else Google's."""
    if override.strip():
        return override.strip()
    if method in MICROSOFT_METHODS:
        return MICROSOFT_TOKEN_URL.format(tenant=tenant.strip())
    return key_token_uri or GOOGLE_TOKEN_URL


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
