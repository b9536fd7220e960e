"""The clear passwords a connection test needs, and nothing else: never for display."""

from __future__ import annotations

import logging

from ..database import Store
from ..models import EmailServerProfile, Mailbox

log = logging.getLogger(__name__)


def profile_credentials(store: Store, profile: EmailServerProfile, outgoing: bool) -> tuple[str, str]:
    """(user name, clear password) the profile itself signs in with, for one direction (P6, P7).

    For a connection test only. Raises SecretUnreadable on a wrong key."""
    separate = outgoing and not profile.use_same_settings_for_outgoing
    username = profile.outgoing_username if separate else profile.username
    token = profile.outgoing_password_enc if separate else profile.password_enc
    return username.strip(), store.keyring.decrypt(token) if token else ""


def mailbox_password(store: Store, mailbox_id: int) -> str | None:
    """The clear password, for a connection test only. Raises SecretUnreadable on a wrong key."""
    row = Mailbox.select(Mailbox.password_enc).where(Mailbox.id == mailbox_id).first()
    return store.keyring.decrypt(row.password_enc) if row and row.password_enc else None


def profile_oauth_secrets(store: Store, profile: EmailServerProfile) -> dict[str, str]:
    """The clear OAuth secrets (P14) by field name: client secret, certificate, service account key ("" when
    not stored). For the token step of a test only. Raises SecretUnreadable on a wrong key."""
    out = {}
    for name in ("oauth_client_secret", "oauth_certificate", "oauth_service_account_key"):
        token = getattr(profile, f"{name}_enc")
        out[name] = store.keyring.decrypt(token) if token else ""
    return out
