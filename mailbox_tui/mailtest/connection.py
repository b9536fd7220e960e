"""A profile's own "Test Connection": each server it names, with the profile's own credentials
when it authenticates with them, else reachability, TLS and the greeting only."""

from __future__ import annotations

from dataclasses import dataclass

from ..domain.options import EXCHANGE_TYPES, AuthMethod
from ..store import services
from ..store.crypto import SecretUnreadable
from ..store.models import EmailServerProfile
from .plan import profile_endpoint
from .probes import TLS, Credentials, Endpoint, ProbeResult, fetch_certificate, probe


@dataclass(frozen=True)
class ConnectionCheck:
    direction: str  # incoming or outgoing
    endpoint: Endpoint | None
    result: ProbeResult | None
    note: str = ""  # why nothing was probed

    @property
    def untrusted_certificate(self) -> bool:
        r = self.result
        # Untrusted, or pinned by something that is not a SHA-256: either way the fix is to fetch and pin.
        return r is not None and not r.ok and r.step == TLS and (
            "not trusted" in r.message or "not a SHA-256 fingerprint" in r.message)


def _credentials(store, profile: EmailServerProfile, direction: str) -> Credentials | None:
    outgoing = direction == "outgoing"
    separate = outgoing and not profile.use_same_settings_for_outgoing
    if (profile.outgoing_auth_method if separate else profile.auth_method) != AuthMethod.PROFILE_CREDENTIALS:
        return None  # reachability, TLS and the greeting only
    return Credentials(*services.profile_credentials(store, profile, outgoing))


def test_connection(store, profile_id: int) -> list[ConnectionCheck]:
    profile = EmailServerProfile.get_by_id(profile_id)
    if profile.server_type in EXCHANGE_TYPES:
        return [ConnectionCheck("incoming", None, None,
                                "Exchange (EWS) connections are not tested by this tool yet.")]
    out = []
    for direction in ("incoming", "outgoing"):
        ep = profile_endpoint(profile, direction)
        if ep is None:
            out.append(ConnectionCheck(direction, None, None, f"The {direction} server location is empty."))
            continue
        try:
            credentials = _credentials(store, profile, direction)
        except SecretUnreadable as exc:
            out.append(ConnectionCheck(direction, ep, None, str(exc)))
            continue
        out.append(ConnectionCheck(direction, ep, probe(ep, credentials)))
    return out


def certificate_of(ep: Endpoint) -> ProbeResult:
    """The certificate the server presents (not trusted), for the admin to compare and pin."""
    return fetch_certificate(Endpoint(ep.protocol, ep.host, ep.port, ep.tls, ep.timeout))


test_connection.__test__ = False
