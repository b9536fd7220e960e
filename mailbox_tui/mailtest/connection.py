"""A profile's own "Test Connection": each server it names, with the profile's own credentials
when it authenticates with them, else reachability, TLS and the greeting only. With OAuth (P14) the
token step runs first and its expiry, scopes and identity are shown (never the token); the sign-in is
tried for the first mailbox that uses the profile, as Test & Enable would. On Exchange Online the token
step and a Graph read of that mailbox's Inbox (issue 23); on Exchange Server the sign-in and an EWS GetFolder of
that mailbox's Inbox, as Test & Enable would."""

from __future__ import annotations

from dataclasses import dataclass

from ..domain.exchange import EWS_RETIREMENT, EWS_SHUTDOWN, EWS_SHUTDOWN_DATE, GRAPH_URL, uses_graph
from ..domain.oauth import MAIL_OAUTH_METHODS, OAUTH_METHODS
from ..domain.options import EXCHANGE_TYPES, AuthMethod, ServerType
from ..i18n import say
from ..store import services
from ..store.crypto import SecretUnreadable
from ..store.models import EmailServerProfile, Mailbox, utcnow
from .oauth import TokenCache, TokenError, token_now, token_request
from .plan import profile_endpoint
from .probes import TLS, Credentials, Endpoint, ProbeResult, fetch_certificate, probe


@dataclass(frozen=True)
class ConnectionCheck:
    direction: str  # incoming or outgoing
    endpoint: Endpoint | None
    result: ProbeResult | None
    note: str = ""  # why nothing was probed; with OAuth and no mailbox to sign in as, the token step's outcome

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


def _method(profile: EmailServerProfile, direction: str) -> int:
    separate = direction == "outgoing" and not profile.use_same_settings_for_outgoing
    return profile.outgoing_auth_method if separate else profile.auth_method


def _first_address(profile_id: int) -> str:
    """The address the first mailbox using the profile signs in as (its user name, else its email)."""
    row = (Mailbox.select(Mailbox.username, Mailbox.email).where(Mailbox.profile == profile_id)
           .order_by(Mailbox.id).first())
    return ((row.username or "").strip() or row.email.strip()) if row else ""


def _oauth_check(store, profile, direction: str, ep: Endpoint, tokens: TokenCache) -> ConnectionCheck:
    """The token step, then the sign-in as the first mailbox of the profile (or the greeting only)."""
    address = _first_address(profile.id)
    request = token_request(profile, _method(profile, direction), address,
                            services.profile_oauth_secrets(store, profile))
    if isinstance(request, str):
        return ConnectionCheck(direction, ep, None, request)
    if address:
        return ConnectionCheck(direction, ep, probe(ep, Credentials(address, "", oauth=(request, tokens))))
    try:
        token = token_now(request, tokens, ep.timeout)
        note = say("✓ {token} No mailbox uses this profile yet: the sign-in was not tried.", token=token.describe())
    except TokenError as exc:
        note = say("✗ Token: {why}", why=exc.message)
    return ConnectionCheck(direction, ep, probe(ep, None), note)


def _token_only(store, profile, tokens: TokenCache) -> ConnectionCheck:
    try:
        request = token_request(profile, profile.auth_method, _first_address(profile.id),
                                services.profile_oauth_secrets(store, profile))
    except SecretUnreadable as exc:
        return ConnectionCheck("token", None, None, str(exc))
    if isinstance(request, str):
        return ConnectionCheck("token", None, None, request)
    try:
        token = token_now(request, tokens, profile.timeout_seconds or 30)
        return ConnectionCheck("token", None, None, f"✓ {token.describe()}")
    except TokenError as exc:
        return ConnectionCheck("token", None, None, f"✗ {exc.message}")


def _graph_check(store, profile, tokens: TokenCache) -> ConnectionCheck:
    """Exchange Online (issue 23): the token step, then a read of the first mailbox's Inbox through Microsoft
    Graph; the result shows the token's roles and expiry, never the token."""
    from .exchange_plan import graph_endpoint, graph_token_request, location_of

    address = _first_address(profile.id)
    try:
        request = token_request(profile, profile.auth_method, address, services.profile_oauth_secrets(store, profile))
    except SecretUnreadable as exc:
        return ConnectionCheck("incoming", None, None, str(exc))
    if isinstance(request, str):
        return ConnectionCheck("incoming", None, None, request)
    request = graph_token_request(request, profile, location_of(profile, "incoming"))
    ep = graph_endpoint(profile, "incoming", "incoming")
    if isinstance(ep, str):
        return ConnectionCheck("incoming", None, None, ep)
    if address:
        return ConnectionCheck("incoming", ep, probe(ep, Credentials(address, "", oauth=(request, tokens))))
    try:
        token = token_now(request, tokens, ep.timeout)
        note = say("✓ {token} No mailbox uses this profile yet: no mailbox was read.", token=token.describe())
    except TokenError as exc:
        note = say("✗ Token: {why}", why=exc.message)
    return ConnectionCheck("incoming", ep, None, note)


def _ews_check(store, profile, tokens: TokenCache, online: bool = False) -> ConnectionCheck:
    """Exchange Server (issue 23): the sign-in and a GetFolder of the first mailbox's Inbox through EWS, with the
    credentials Authenticate Using names (the mailbox's own only when it allows them). `online`: Exchange
    Online's EWS, with the app-only token Test & Enable uses there (exchange_plan.ews_online_token_request)."""
    from .exchange_plan import GRAPH_METHODS, ews_endpoint, ews_online_token_request, ews_token_request, location_of

    row = (Mailbox.select(Mailbox.id, Mailbox.email, Mailbox.username, Mailbox.allow_credentials)
           .where(Mailbox.profile == profile.id).order_by(Mailbox.id).first())
    ep = ews_endpoint(profile, "incoming")
    if isinstance(ep, str):
        return ConnectionCheck("incoming", None, None, ep)
    if row is None:
        return ConnectionCheck("incoming", ep, None, say("No mailbox uses this profile yet: EWS reads a mailbox's "
                                                        "folders, so nothing was tried."))
    method, address = profile.auth_method, row.email.strip()
    try:
        if online and method in GRAPH_METHODS:
            request = token_request(profile, method, address, services.profile_oauth_secrets(store, profile))
            if isinstance(request, str):
                return ConnectionCheck("incoming", ep, None, request)
            credentials = Credentials(address, "", oauth=(ews_online_token_request(request, profile), tokens),
                                      mailbox=address, impersonate=True)
        elif method == AuthMethod.PROFILE_CREDENTIALS:
            username, password = services.profile_credentials(store, profile, outgoing=False)
            credentials = Credentials(username, password, mailbox=address, impersonate=True)
        elif method == AuthMethod.WINDOWS_INTEGRATED:
            credentials = Credentials("", "", mailbox=address, impersonate=True, kerberos=True)
        elif method == AuthMethod.USER_OR_QUEUE_CREDENTIALS and row.allow_credentials:
            credentials = Credentials((row.username or "").strip(), services.mailbox_password(store, row.id) or "",
                                      mailbox=address)
        elif method == AuthMethod.EXCHANGE_HYBRID_MODERN_AUTH:
            request = token_request(profile, method, address, services.profile_oauth_secrets(store, profile))
            if not isinstance(request, str):
                request = ews_token_request(request, profile, location_of(profile, "incoming"))
            if isinstance(request, str):
                return ConnectionCheck("incoming", ep, None, request)
            credentials = Credentials(address, "", oauth=(request, tokens), mailbox=address, impersonate=True)
        else:
            return ConnectionCheck("incoming", ep, None, say("The first mailbox ({email}) does not allow its "
                                                            "credentials to be used: nothing was tried.",
                                                            email=address))
    except SecretUnreadable as exc:
        return ConnectionCheck("incoming", ep, None, str(exc))
    return ConnectionCheck("incoming", ep, probe(ep, credentials))


def test_connection(store, profile_id: int, clock=utcnow) -> list[ConnectionCheck]:
    """F8: each direction of the profile tried for real (`clock`: today, for EWS in Exchange Online)."""
    profile = EmailServerProfile.get_by_id(profile_id)
    tokens = TokenCache()  # one token for both directions
    if profile.server_type in EXCHANGE_TYPES:
        from .exchange_plan import GRAPH_METHODS, location_of

        if uses_graph(profile.server_type, location_of(profile, "incoming")) and profile.auth_method in GRAPH_METHODS:
            return [_graph_check(store, profile, tokens)]
        if profile.server_type in (ServerType.EXCHANGE, ServerType.EXCHANGE_HYBRID):
            return [_ews_check(store, profile, tokens)]
        if clock().date() < EWS_SHUTDOWN_DATE and profile.auth_method in GRAPH_METHODS:
            # Exchange Online's EWS until it is shut down (rule P16): read as Test & Enable reads it, and warned
            warning = ConnectionCheck("incoming", None, None, say(
                "Warning, EWS in Exchange Online: {retirement}. Set the profile's location to {url} before {date} "
                "(rule P16).", retirement=EWS_RETIREMENT, url=GRAPH_URL, date=EWS_SHUTDOWN))
            if _first_address(profile.id):
                return [_ews_check(store, profile, tokens, online=True), warning]
            return [warning, _token_only(store, profile, tokens)]  # no mailbox to read: the app registration
        out = [ConnectionCheck("incoming", None, None, say("EWS in Exchange Online cannot be read here: {retirement} "
                                                           "(rule P16).", retirement=EWS_RETIREMENT))]
        if profile.auth_method in OAUTH_METHODS:  # the token step still tells whether the app registration works
            out.append(_token_only(store, profile, tokens))
        return out
    out = []
    for direction in ("incoming", "outgoing"):
        ep = profile_endpoint(profile, direction)
        if ep is None:
            out.append(ConnectionCheck(direction, None, None, say("The {kind} server location is empty.",
                                                                  kind=direction)))
            continue
        try:
            if _method(profile, direction) in MAIL_OAUTH_METHODS:
                out.append(_oauth_check(store, profile, direction, ep, tokens))
                continue
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
