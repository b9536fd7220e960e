"""Where each stored secret is sent (rule P15), so that a changed destination never receives it silently.

A profile's password goes to its incoming server (and its outgoing one under Use Same Settings), its
outgoing password to the outgoing server, its OAuth client secret to the token endpoint (the tenant's,
or the Token Endpoint that overrides it). A mailbox's password goes to the servers its profile names.
A client certificate or service account key never leaves this machine: it signs an assertion made
for one token endpoint, which no other endpoint accepts, so a changed endpoint does not expose it.

When a change would send a stored secret to a destination it was not sent to before, and the same
change does not supply the secret again, saving clears it unless the admin keeps it for the new
destination (the form asks; an import needs --keep-secrets).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..i18n import N_, Said, say, say_n
from .oauth import MICROSOFT_METHODS, methods_of, token_url
from .options import EXCHANGE_TYPES, AuthMethod

AUTO_DISCOVER = "the server Auto Discover finds"
# A profile's secrets whose destinations are followed, by field name; the keys are never sent (above).
FOLLOWED = ("password", "outgoing_password", "oauth_client_secret")


def host_of(location: str) -> str:
    """The host a server location names (a bare host, or the host of an https URL), casefolded."""
    text = (location or "").strip()
    if "://" in text:
        try:
            text = urlsplit(text).hostname or ""
        except ValueError:
            return text.casefold()
    return text.strip("[]").rstrip(".").casefold()


def _server(profile, incoming: bool) -> str:
    if profile.auto_discover and profile.server_type in EXCHANGE_TYPES:
        return AUTO_DISCOVER
    return host_of(profile.incoming_location if incoming else profile.outgoing_location)


def _token_endpoint(profile) -> str:
    url = token_url(AuthMethod.OAUTH, profile.oauth_tenant_id or "", profile.oauth_token_endpoint or "")
    parts = urlsplit(url)
    try:
        host = parts.hostname or ""
    except ValueError:
        return url
    return f"{parts.scheme.lower()}://{host}{parts.path}" if host else url


def profile_secret_destinations(profile) -> dict[str, frozenset[str]]:
    """Where each followed secret of a profile (a stored row or a ProfileDraft) is sent, by field name."""
    incoming, outgoing = _server(profile, True), _server(profile, False)
    password = {incoming, outgoing} if profile.use_same_settings_for_outgoing else {incoming}
    return {"password": _real(password), "outgoing_password": _real({outgoing}),
            "oauth_client_secret": _real({_token_endpoint(profile)})}


def mailbox_password_destinations(profile) -> frozenset[str]:
    """Where the passwords of a profile's mailboxes are sent: the servers it names (none without a profile)."""
    if profile is None:
        return frozenset()
    return _real({_server(profile, True), _server(profile, False)})


def _real(names: Iterable[str]) -> frozenset[str]:
    return frozenset(n for n in names if n)


def new_destinations(before: frozenset[str], after: frozenset[str]) -> list[str]:
    """The destinations `after` adds to `before`, sorted: where a kept secret would go for the first time."""
    return sorted(after - before)


def destinations_text(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


@dataclass(frozen=True)
class SecretMove:
    """A stored secret a change would send somewhere new: `field` is the secret's field, or
    MAILBOX_PASSWORDS for the passwords of the profile's mailboxes (`count` of them)."""

    field: str
    new: tuple[str, ...]  # where it would go for the first time
    old: tuple[str, ...]  # where it went before
    count: int = 1

    @property
    def message(self) -> Said:
        to, was = destinations_text(list(self.new)), destinations_text(list(self.old)) if self.old else ""
        if self.field == MAILBOX_PASSWORDS:
            return say_n("The stored passwords of {n} mailbox on this profile will not be sent to {hosts}: "
                         "saving clears them, unless you keep them for the new host.",
                         "The stored passwords of {n} mailboxes on this profile will not be sent to {hosts}: "
                         "saving clears them, unless you keep them for the new host.", self.count, hosts=to)
        what, where = LABELS[self.field]
        if was:
            return say("The stored {what} will not be sent to {hosts} (it was entered for {old}): enter it again, or "
                       "keep it for the new {kind}.", what=what, hosts=to, old=was, kind=where)
        return say("The stored {what} will not be sent to {hosts}: enter it again, or keep it for the new {kind}.",
                   what=what, hosts=to, kind=where)


MAILBOX_PASSWORDS = "incoming_location"  # where the form shows the profile's mailboxes' passwords move
LABELS = {"password": (N_("password"), N_("host")), "outgoing_password": (N_("outgoing password"), N_("host")),
          "oauth_client_secret": (N_("client secret"), N_("token endpoint"))}


def _followed(d, name: str) -> bool:
    """Whether the draft's methods send this secret at all (what they do not use is cleared on save anyway)."""
    if name == "password":
        return d.auth_method == AuthMethod.PROFILE_CREDENTIALS
    if name == "outgoing_password":
        return not d.use_same_settings_for_outgoing and d.outgoing_auth_method == AuthMethod.PROFILE_CREDENTIALS
    return bool(MICROSOFT_METHODS & set(methods_of(d)))


def _kept(edit) -> bool:
    """A secret on record that the change neither replaces nor clears."""
    return edit.stored and not edit.new and not edit.clear


def profile_secret_moves(d, stored: dict[str, frozenset[str]] | None, mailbox_passwords: int = 0) -> list[SecretMove]:
    """P15 on a profile draft: `stored` is where its secrets went as stored (None: a new profile), with
    MAILBOX_PASSWORDS: where its mailboxes' passwords went; `mailbox_passwords`, how many it has."""
    if stored is None:
        return []
    after = profile_secret_destinations(d)
    moves = []
    for name in FOLLOWED:
        before = stored.get(name, frozenset())
        new = new_destinations(before, after[name])
        if new and _kept(getattr(d, name)) and _followed(d, name):
            moves.append(SecretMove(name, tuple(new), tuple(sorted(before))))
    before = stored.get(MAILBOX_PASSWORDS, frozenset())
    new = new_destinations(before, mailbox_password_destinations(d))
    if new and mailbox_passwords:
        moves.append(SecretMove(MAILBOX_PASSWORDS, tuple(new), tuple(sorted(before)), mailbox_passwords))
    return moves


def stored_profile_destinations(profile) -> dict[str, frozenset[str]]:
    """`stored` for profile_secret_moves, from the profile as stored."""
    return dict(profile_secret_destinations(profile), **{MAILBOX_PASSWORDS: mailbox_password_destinations(profile)})


def mailbox_secret_move(d, before: frozenset[str] | None, after: frozenset[str]) -> SecretMove | None:
    """P15 on a mailbox draft: `before`, where its password went with the profile it had (None: its profile
    did not change); `after`, where it goes with the draft's profile."""
    if before is None or not _kept(d.password):
        return None
    new = new_destinations(before, after)
    return SecretMove("password", tuple(new), tuple(sorted(before))) if new else None
