"""Profiles that authenticate with OAuth (P14), as an admin would enter them: for the store, the UI and
Test & Enable tests. Secrets are distinctive so a leak is easy to find."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mailbox_tui.domain.options import AuthMethod, ServerType, TlsMode
from mailbox_tui.domain.records import PasswordEdit, ProfileDraft
from mailbox_tui.store import services

from support.oauth import APP_CLIENT_ID, APP_SECRET, TENANT_ID
from support.oauth_tokens import make_client_certificate

CLIENT_SECRET = APP_SECRET
_CERT = None


def client_certificate_pem() -> str:
    """A private key and its self-signed certificate, PEM (made once per test run)."""
    global _CERT
    if _CERT is None:
        _CERT = make_client_certificate("mailbox-tui profile test").pem
    return _CERT


def bare_private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def microsoft_draft(name: str = "Microsoft 365", **changes) -> ProfileDraft:
    d = ProfileDraft(name=name, server_type=ServerType.IMAP_SMTP, incoming_location="outlook.office365.com",
                     outgoing_location="smtp.office365.com", incoming_tls=TlsMode.IMPLICIT,
                     outgoing_tls=TlsMode.STARTTLS, auth_method=AuthMethod.OAUTH, oauth_client_id=APP_CLIENT_ID,
                     oauth_client_secret=PasswordEdit(new=CLIENT_SECRET), oauth_tenant_id=TENANT_ID)
    return d.copy(**changes)


def google_draft(key_json: str, name: str = "Google Workspace", **changes) -> ProfileDraft:
    d = ProfileDraft(name=name, server_type=ServerType.IMAP_SMTP, incoming_location="imap.gmail.com",
                     outgoing_location="smtp.gmail.com", auth_method=AuthMethod.GMAIL_OAUTH,
                     oauth_service_account_key=PasswordEdit(new=key_json))
    return d.copy(**changes)


def microsoft_profile(store, **changes) -> ProfileDraft:
    return services.create_profile(store, microsoft_draft(**changes))
