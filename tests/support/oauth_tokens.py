"""Keys, certificates, access tokens and SASL strings for the OAuth test fixtures.

One :class:`TokenAuthority` signs every access token the test token endpoint issues (RS256, with a
``kid``); the OAuth dovecot and the OAuth SMTP server trust its public key. Tokens come in the two
shapes the product meets:

* **Google style** (``google_claims``): a token for one mailbox. ``email`` (and ``sub``) name the
  address, ``scope`` is ``https://mail.google.com/``, ``iss`` is Google's (``GOOGLE_ISSUER``). What
  a service account with domain-wide delegation gets for ``sub=<address>``.
* **Microsoft app-only style** (``app_claims``): a client-credentials token that names no mailbox:
  ``tid``, ``appid``, ``roles`` (``IMAP.AccessAsApp``, ``POP.AccessAsApp``, ``SMTP.SendAsApp``) and
  the same permissions in ``scope``, because dovecot 2.3 reads scopes only from a ``scope`` claim;
  ``iss`` is the tenant's Entra ID issuer (``entra_issuer``, v1.0 tokens as Exchange Online gets).
  Which mailboxes the app may open is the servers' business (see ``oauth_mail.MailboxPermissions``),
  as in Exchange Online.

Each kind carries its own provider's ``iss``, and the test mail servers trust each kind only from
its issuer (see ``oauth_mail``).

JWT work is done by PyJWT on top of ``cryptography``; nothing here hand-rolls a signature.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from support.mailservers import TestCertificate, _san

GOOGLE_MAIL_SCOPE = "https://mail.google.com/"
EXCHANGE_RESOURCE = "https://outlook.office365.com"
EXCHANGE_DEFAULT_SCOPE = f"{EXCHANGE_RESOURCE}/.default"
IMAP_PERMISSION = "IMAP.AccessAsApp"
POP_PERMISSION = "POP.AccessAsApp"
SMTP_PERMISSION = "SMTP.SendAsApp"
EXCHANGE_PERMISSIONS = (IMAP_PERMISSION, POP_PERMISSION, SMTP_PERMISSION)
# Microsoft Graph (issue 23): the resource an app-only token for Graph names as its audience, and the
# application permissions a mailbox sync app is granted there (docs/testing-graph.md).
GRAPH_RESOURCE = "https://graph.microsoft.com"
GRAPH_DEFAULT_SCOPE = f"{GRAPH_RESOURCE}/.default"
GRAPH_PERMISSIONS = ("Mail.Read", "Mail.ReadWrite", "Mail.Send", "Calendars.Read", "Calendars.ReadWrite",
                     "Contacts.Read", "Contacts.ReadWrite", "Tasks.Read.All", "Tasks.ReadWrite.All")
GRAPH_SYNC_PERMISSIONS = ("Mail.ReadWrite", "Mail.Send", "Calendars.ReadWrite", "Contacts.ReadWrite",
                          "Tasks.ReadWrite.All")
# Exchange Hybrid Modern Auth, app-only: the Office 365 Exchange Online application permission for EWS.
EWS_APP_PERMISSION = "full_access_as_app"
# The permission each protocol needs from an app-only token, and the scope a Google token needs.
APP_PERMISSION_FOR = {"imap": IMAP_PERMISSION, "pop3": POP_PERMISSION, "smtp": SMTP_PERMISSION}
DEFAULT_TOKEN_LIFETIME = 3599  # seconds, as Entra ID and Google issue them
# Who issues each kind of token (`iss`): the mail servers trust a kind only from its issuer.
GOOGLE_ISSUER = "https://accounts.google.com"
_REMOVE = object()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode("ascii")


def public_pem(key) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


# ---------------------------------------------------------------- the signing authority


class TokenAuthority:
    """The key that signs access tokens; the test dovecot and SMTP server trust its public half."""

    algorithm = "RS256"

    def __init__(self, kid: str = "mailbox-tui-test-signing-1", issuer: str = "https://127.0.0.1/mailbox-tui-test"):
        self.key = new_rsa_key()
        self.kid = kid
        self.issuer = issuer

    @property
    def public_key_pem(self) -> str:
        return public_pem(self.key)

    def jwk(self) -> dict[str, Any]:
        """The public key as a JWK (for a JWKS document)."""
        data = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {**data, "kid": self.kid, "use": "sig", "alg": self.algorithm}

    def mint(self, claims: dict[str, Any], *, lifetime: float = DEFAULT_TOKEN_LIFETIME,
             now: float | None = None) -> str:
        """A signed access token: `claims` plus iss/iat/nbf/exp/jti unless given. A claim set to
        ``None`` is left out (e.g. ``exp=None`` for a token without expiry)."""
        now = time.time() if now is None else now
        body: dict[str, Any] = {"iss": self.issuer, "iat": int(now), "nbf": int(now),
                                "exp": int(now + lifetime), "jti": str(uuid.uuid4())}
        body.update(claims)
        body = {name: value for name, value in body.items() if value is not None}
        return jwt.encode(body, self.key, algorithm=self.algorithm, headers={"kid": self.kid, "typ": "JWT"})

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims if this authority signed it and it is in its lifetime; else a
        ``jwt.InvalidTokenError`` saying why (expired, bad signature, not a JWT...)."""
        header = jwt.get_unverified_header(token)
        if header.get("kid") != self.kid:
            raise jwt.InvalidTokenError(f"unknown signing key {header.get('kid')!r}")
        return jwt.decode(token, self.key.public_key(), algorithms=[self.algorithm],
                          options={"verify_aud": False, "require": ["exp"]})


def entra_issuer(tenant_id: str) -> str:
    """The issuer of the tenant's Entra ID v1.0 access tokens (what Exchange Online receives)."""
    return f"https://sts.windows.net/{tenant_id}/"


def token_scopes(claims: dict[str, Any]) -> set[str]:
    """The scopes a token carries in its ``scope`` claim (the one dovecot 2.3 reads)."""
    value = claims.get("scope")
    return set(value.split()) if isinstance(value, str) else set()


def google_claims(address: str, *, scope: str = GOOGLE_MAIL_SCOPE, client_id: str = "") -> dict[str, Any]:
    """Claims of a token acting for one mailbox (Google domain-wide delegation)."""
    claims = {"iss": GOOGLE_ISSUER, "sub": address, "email": address, "email_verified": True, "scope": scope}
    if client_id:
        claims["aud"] = client_id
    return claims


def app_claims(tenant_id: str, client_id: str, roles: tuple[str, ...] | list[str] = EXCHANGE_PERMISSIONS,
               *, object_id: str = "", scope_claim: str = "scope", name: str = "") -> dict[str, Any]:
    """Claims of a Microsoft app-only (client credentials) token for Exchange Online: names no mailbox.

    ``scope_claim`` is where the permissions are repeated for dovecot: ``"scope"`` (what dovecot 2.3
    reads), ``"scp"`` (what Entra ID uses for delegated tokens; dovecot then rejects the token), or
    ``""`` (roles only)."""
    object_id = object_id or str(uuid.uuid5(uuid.NAMESPACE_URL, f"sp:{tenant_id}:{client_id}"))
    claims: dict[str, Any] = {"iss": entra_issuer(tenant_id), "aud": EXCHANGE_RESOURCE, "tid": tenant_id,
                              "appid": client_id, "app_displayname": name or client_id, "idtyp": "app",
                              "oid": object_id, "sub": object_id, "roles": list(roles), "ver": "1.0"}
    if scope_claim:
        claims[scope_claim] = " ".join(roles)
    return claims


# ---------------------------------------------------------------- SASL


def xoauth2_response(user: str, token: str) -> bytes:
    """The XOAUTH2 initial client response (before base64)."""
    return f"user={user}\x01auth=Bearer {token}\x01\x01".encode("utf-8")


def oauthbearer_response(user: str, token: str, host: str = "127.0.0.1", port: int = 0) -> bytes:
    """The OAUTHBEARER initial client response (RFC 7628), before base64."""
    authzid = user.replace("=", "=3D").replace(",", "=2C")
    return f"n,a={authzid},\x01host={host}\x01port={port}\x01auth=Bearer {token}\x01\x01".encode("utf-8")


def parse_sasl_bearer(mechanism: str, data: bytes) -> tuple[str, str]:
    """(user, token) from an XOAUTH2 or OAUTHBEARER client response; ValueError if malformed."""
    text = data.decode("utf-8")
    if mechanism == "XOAUTH2":
        fields = dict(part.split("=", 1) for part in text.split("\x01") if "=" in part)
        user, auth = fields.get("user", ""), fields.get("auth", "")
    elif mechanism == "OAUTHBEARER":
        header, _, rest = text.partition("\x01")
        gs2 = header.split(",")
        if len(gs2) < 2 or gs2[0] not in ("n", "y") or not gs2[1].startswith("a="):
            raise ValueError("bad GS2 header")
        user = gs2[1][2:].replace("=2C", ",").replace("=3D", "=")
        fields = dict(part.split("=", 1) for part in rest.split("\x01") if "=" in part)
        auth = fields.get("auth", "")
    else:
        raise ValueError(f"not a bearer mechanism: {mechanism}")
    scheme, _, token = auth.partition(" ")
    if not user or scheme.lower() != "bearer" or not token:
        raise ValueError("no user or no bearer token")
    return user, token


# ---------------------------------------------------------------- certificates


@dataclass(frozen=True)
class TestCA:
    """A throwaway certificate authority: trust `cert` and every server certificate it signed is trusted."""

    __test__ = False

    cert: Path
    key: Path
    name: str


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "mailbox-tui tests")])


def _write_key(path: Path, key) -> None:
    path.write_text(private_pem(key), encoding="ascii")
    path.chmod(0o600)


def make_ca(folder: Path, common_name: str = "mailbox-tui test CA") -> TestCA:
    """A CA certificate valid from yesterday for 30 days."""
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder()
            .subject_name(_name(common_name)).issuer_name(_name(common_name)).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    slug = common_name.lower().replace(" ", "-")
    cert_path, key_path = folder / f"{slug}.pem", folder / f"{slug}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(key_path, key)
    return TestCA(cert_path, key_path, common_name)


def make_server_certificate(folder: Path, ca: TestCA, name: str,
                            hosts: tuple[str, ...] = ("127.0.0.1", "localhost")) -> TestCertificate:
    """A server certificate for `hosts`, signed by `ca`."""
    from cryptography.hazmat.primitives.asymmetric import ec

    ca_cert = x509.load_pem_x509_certificate(ca.cert.read_bytes())
    ca_key = serialization.load_pem_private_key(ca.key.read_bytes(), password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder()
            .subject_name(_name(hosts[0])).issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([_san(h) for h in hosts]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    cert_path, key_path = folder / f"{name}.pem", folder / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(key_path, key)
    sha256 = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
    return TestCertificate(cert_path, key_path, sha256)


@dataclass(frozen=True)
class ClientCertificate:
    """An app registration's certificate credential (Microsoft: Certificates & secrets)."""

    cert_pem: str
    key_pem: str
    public_key: Any
    thumbprint_sha1: str  # hex, upper case, as the Entra portal shows it
    x5t: str  # base64url SHA-1 thumbprint, the JWT header msal sends
    x5t_s256: str  # base64url SHA-256 thumbprint

    @property
    def pem(self) -> str:
        """Private key and certificate in one PEM text, what a profile stores."""
        return self.key_pem + self.cert_pem


def make_client_certificate(common_name: str = "mailbox-tui app") -> ClientCertificate:
    """A self-signed RSA certificate and key, as uploaded to an app registration."""
    key = new_rsa_key()
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder()
            .subject_name(_name(common_name)).issuer_name(_name(common_name)).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=365))
            .sign(key, hashes.SHA256()))
    der = cert.public_bytes(serialization.Encoding.DER)
    sha1, sha256 = hashlib.sha1(der).digest(), hashlib.sha256(der).digest()  # noqa: S324 - x5t is SHA-1 by spec
    return ClientCertificate(cert.public_bytes(serialization.Encoding.PEM).decode("ascii"), private_pem(key),
                             key.public_key(), sha1.hex().upper(), _b64url(sha1), _b64url(sha256))
