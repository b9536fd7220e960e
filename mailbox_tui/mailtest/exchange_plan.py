"""Which probe an Exchange profile's direction gets (issue 23).

- Exchange Online (Hybrid) whose location is a Graph base URL: Microsoft Graph, app-only OAuth (P14: 7 OAuth or
  2 Server to Server Authentication, the same client credentials), the token's scope derived from the location
  unless the profile sets one (probes/graph.py);
- Exchange Server and Exchange Server (Hybrid): EWS (probes/ews.py) at the profile's https URL, or the one
  Autodiscover finds (P8), signed in with the credentials Authenticate Using names: the mailbox's own (its own
  folders), the profile's, this machine's Kerberos ticket (Windows Integrated Authentication) or an app-only
  token for the EWS host (Exchange Hybrid Modern Auth, P14), the last three acting for the mailbox through
  ExchangeImpersonation;
- Exchange Online (Hybrid) with an EWS URL (rule P16): until EWS in Exchange Online is shut down (1 April 2027, by
  the planner's clock), EWS with an app-only token for outlook.office365.com (the profile's scope unless blank or
  Graph's), the retirement carried as a warning in the result; from that day the direction fails naming the Graph
  URL.
An outgoing test sends a real message (the mailbox to itself) only when the admin asks for one: Graph's sendMail,
or EWS's CreateItem.
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlsplit

from ..domain.exchange import (EWS_RETIREMENT, EWS_SHUTDOWN, EWS_SHUTDOWN_DATE, GRAPH_HOSTS, GRAPH_SCOPE, GRAPH_URL,
                               ews_scope, graph_base, graph_scope, uses_graph)
from ..domain.oauth import MICROSOFT_SCOPE
from ..i18n import N_, say
from ..domain.options import AuthMethod, ServerType, TestStatus, TlsMode
from .oauth import TokenRequest
from .directions import CONFIGURATION, OUTGOING, DirectionTest, token_user
from ..store import services
from .probes import EWS, GRAPH, Credentials, Endpoint
from .probes.graph import SEND
from .probes.ews_session import SEND as EWS_SEND

GRAPH_METHODS = (AuthMethod.OAUTH, AuthMethod.SERVER_TO_SERVER)  # app-only client credentials, both
NO_HYBRID_SCOPE = N_("Server profile {profile} authenticates with Exchange Hybrid Modern Auth and Auto Discover: set "
                     "its Scope to the EWS host with /.default (https://mail.contoso.com/.default, rule P14).")
EWS_ONLINE_GONE = N_("{what} through {profile} uses an EWS URL on Exchange Online, and EWS in Exchange Online was shut "
                     "down on {date}: set the profile's location to {url} (and its Scope to {scope}) to test it through "
                     "Microsoft Graph (rule P16).")
EWS_ONLINE_NOTE = say("Warning: {retirement}. Set the profile's location to {url} before {date} (rule P16).",
                      retirement=EWS_RETIREMENT, url=GRAPH_URL, date=EWS_SHUTDOWN)
WHAT = {"incoming": N_("Incoming email"), "outgoing": N_("Outgoing email"), "act": N_("Appointments, contacts and tasks")}


def _no_port(profile, url: str) -> str:
    return say("Server profile {name}: {url} has no valid port (rule P3).", name=repr(profile.name), url=repr(url))


def location_of(profile, direction: str) -> str:
    """The location a direction uses: outgoing its own, incoming and ACT the incoming one; "" with Auto Discover."""
    if profile.auto_discover:
        return ""
    return (profile.outgoing_location if direction == OUTGOING else profile.incoming_location).strip()


def graph_endpoint(profile, direction: str, operation: str) -> Endpoint | str:
    """Where the Graph probe goes for `direction`, or why it cannot (one sentence)."""
    base = graph_base(location_of(profile, direction))
    parts = urlsplit(base)
    if parts.scheme != "https" or not parts.hostname:
        return say("Server profile {name}: {url} is not an https URL of Microsoft Graph (rule P3).",
                   name=repr(profile.name), url=repr(base))
    try:
        port = parts.port or 443
    except ValueError:
        return _no_port(profile, base)
    pin = profile.outgoing_cert_sha256 if direction == OUTGOING else profile.incoming_cert_sha256
    return Endpoint(GRAPH, parts.hostname, port, TlsMode.IMPLICIT, float(profile.timeout_seconds or 30), pin or "",
                    parts.path.rstrip("/"), operation)


def graph_token_request(request: TokenRequest, profile, location: str) -> TokenRequest:
    """The token for Graph: the profile's scope, unless it is blank or the IMAP/SMTP default (an
    outlook.office365.com token never works with Graph), then the location's own."""
    scope = (profile.oauth_scope or "").strip()
    if not scope or scope == MICROSOFT_SCOPE:
        scope = graph_scope(location)
    return replace(request, scope=scope)


def ews_token_request(request: TokenRequest, profile, location: str) -> TokenRequest | str:
    """The token for Exchange Hybrid Modern Auth: the profile's scope, else the EWS host's (<host>/.default), which
    Hybrid Modern Auth registers as a service principal name of Office 365 Exchange Online."""
    scope = (profile.oauth_scope or "").strip()
    if not scope or scope == MICROSOFT_SCOPE:
        scope = ews_scope(location)
    if not scope:
        return say(NO_HYBRID_SCOPE, profile=repr(profile.name))
    return replace(request, scope=scope)


def ews_online_token_request(request: TokenRequest, profile) -> TokenRequest:
    """The token for EWS in Exchange Online: the profile's scope, unless it is blank or Graph's (a Graph token never
    works with EWS), then Exchange Online's own (https://outlook.office365.com/.default)."""
    scope = (profile.oauth_scope or "").strip()
    host = urlsplit(scope).hostname or ""
    if not scope or host.lower() in GRAPH_HOSTS:
        scope = MICROSOFT_SCOPE
    return replace(request, scope=scope)


def exchange_test(planner, d, profile, direction: str, secrets: list[str], send_test_message: bool) -> DirectionTest:
    """The test of one direction of a mailbox on an Exchange profile. Raises SecretUnreadable."""
    def fail(message: str) -> DirectionTest:
        return DirectionTest(direction, TestStatus.FAILURE, CONFIGURATION, message)

    location = location_of(profile, direction)
    what = WHAT[direction]
    if not uses_graph(profile.server_type, location):
        operation = EWS_SEND if direction == OUTGOING and send_test_message else direction
        if profile.server_type == ServerType.EXCHANGE_ONLINE_HYBRID:
            if planner.clock().date() >= EWS_SHUTDOWN_DATE:
                return fail(say(EWS_ONLINE_GONE, what=what, profile=repr(profile.name), date=EWS_SHUTDOWN,
                                url=GRAPH_URL, scope=GRAPH_SCOPE))
            check = ews_test(planner, d, profile, direction, secrets, operation, online=True)
            if check.needs_probe:
                check.note, check.warning = EWS_ONLINE_NOTE, True
            return check
        return ews_test(planner, d, profile, direction, secrets, operation)
    separate = direction == OUTGOING and not profile.use_same_settings_for_outgoing
    method = profile.outgoing_auth_method if separate else profile.auth_method
    if method not in GRAPH_METHODS:  # P5 stops this first
        return fail(say("Exchange Online is tested through Microsoft Graph with an app-only token: set Authenticate "
                        "Using of {name} to OAuth or Server to Server Authentication, with the app's Client ID, client "
                        "secret or certificate and Tenant ID (rule P14); {method} does not suit Exchange Online (rule "
                        "P5).", name=repr(profile.name), method=AuthMethod.label_of(method)))
    request = planner._token_request(profile, method, d)
    if isinstance(request, str):
        return fail(request)
    endpoint = graph_endpoint(profile, direction, SEND if direction == OUTGOING and send_test_message else direction)
    if isinstance(endpoint, str):
        return fail(endpoint)
    secrets.extend(request.secrets)
    request = graph_token_request(request, profile, location)
    return DirectionTest(direction, None, endpoint=endpoint,
                         credentials=Credentials(token_user(d), "", oauth=(request, planner.tokens)))


def ews_endpoint(profile, direction: str, operation: str = "") -> Endpoint | str:
    """Where the EWS probe goes for `direction` (no host: Autodiscover finds it), or why it cannot."""
    location = location_of(profile, direction)
    pin = profile.outgoing_cert_sha256 if direction == OUTGOING else profile.incoming_cert_sha256
    timeout = float(profile.timeout_seconds or 30)
    if not location:
        if not profile.auto_discover:
            return say("Server profile {name} has no {kind} EWS URL and Auto Discover is No (rule P3).",
                       name=repr(profile.name), kind=direction)
        return Endpoint(EWS, "", 443, TlsMode.IMPLICIT, timeout, pin or "", "", operation or direction)
    parts = urlsplit(location)
    if parts.scheme.lower() != "https" or not parts.hostname:
        return say("Server profile {name}: {url} is not an https URL of Exchange Web Services "
                   "(https://<server>/EWS/Exchange.asmx, rule P3).", name=repr(profile.name), url=repr(location))
    try:
        port = parts.port or 443
    except ValueError:
        return _no_port(profile, location)
    return Endpoint(EWS, parts.hostname, port, TlsMode.IMPLICIT, timeout, pin or "",
                    parts.path or "/EWS/Exchange.asmx", operation or direction)


def ews_test(planner, d, profile, direction: str, secrets: list[str], operation: str = "",
             online: bool = False) -> DirectionTest:
    """Exchange Server through EWS (or Exchange Online's EWS, `online`, with an app-only token): the endpoint and
    the credentials Authenticate Using names. Raises SecretUnreadable."""
    def fail(message: str) -> DirectionTest:
        return DirectionTest(direction, TestStatus.FAILURE, CONFIGURATION, message)

    separate = direction == OUTGOING and not profile.use_same_settings_for_outgoing
    method = profile.outgoing_auth_method if separate else profile.auth_method
    address = d.email.strip()
    if online:
        if method not in GRAPH_METHODS:  # P5 stops this first
            return fail(say("EWS in Exchange Online takes an app-only token: set Authenticate Using of {name} to OAuth "
                            "or Server to Server Authentication (rule P14).", name=repr(profile.name)))
        request = planner._token_request(profile, method, d)
        if isinstance(request, str):
            return fail(request)
        request = ews_online_token_request(request, profile)
        secrets.extend(request.secrets)
        credentials = Credentials(address, "", oauth=(request, planner.tokens), mailbox=address, impersonate=True)
    elif method == AuthMethod.USER_OR_QUEUE_CREDENTIALS:
        if not d.allow_credentials:  # M10 stops this first
            return fail(say("Allow to Use Credentials is No, but the profile uses the mailbox's credentials."))
        password = services.mailbox_password(planner.store, d.id)
        if not d.username.strip() or not password:  # M9 stops this first
            return fail(say("The mailbox's user name or password is missing."))
        credentials = Credentials(d.username.strip(), password, mailbox=address)
    elif method == AuthMethod.PROFILE_CREDENTIALS:
        username, password = services.profile_credentials(planner.store, profile, outgoing=separate)
        if not username or not password:
            return fail(say("Server profile {name} authenticates with its own credentials but has no user name or "
                            "password (rule P6).", name=repr(profile.name)))
        credentials = Credentials(username, password, mailbox=address, impersonate=True)
    elif method == AuthMethod.WINDOWS_INTEGRATED:
        credentials = Credentials("", "", mailbox=address, impersonate=True, kerberos=True)
    elif method == AuthMethod.EXCHANGE_HYBRID_MODERN_AUTH:
        request = planner._token_request(profile, method, d)
        if isinstance(request, str):
            return fail(request)
        request = ews_token_request(request, profile, location_of(profile, direction))
        if isinstance(request, str):
            return fail(request)
        secrets.extend(request.secrets)
        credentials = Credentials(address, "", oauth=(request, planner.tokens), mailbox=address, impersonate=True)
    else:  # P5 stops this first
        return fail(say("{method} does not suit {option} (rule P5).", method=AuthMethod.label_of(method),
                        option=ServerType.label_of(profile.server_type)))
    endpoint = ews_endpoint(profile, direction, operation)
    if isinstance(endpoint, str):
        return fail(endpoint)
    if credentials.password:
        secrets.append(credentials.password)
    return DirectionTest(direction, None, endpoint=endpoint, credentials=credentials)
