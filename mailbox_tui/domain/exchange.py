"""Exchange locations (issue 23): Microsoft Graph or Exchange Web Services, and what follows from each.
Pure: no I/O. Facts from Microsoft's documentation, summarised in docs/testing-graph.md."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlsplit

from ..i18n import N_
from .options import ServerType

GRAPH_URL = "https://graph.microsoft.com"
GRAPH_SCOPE = f"{GRAPH_URL}/.default"
# Microsoft Graph in the global service and the national clouds: each issues tokens for itself.
GRAPH_HOSTS = frozenset({"graph.microsoft.com", "graph.microsoft.us", "dod-graph.microsoft.us",
                         "microsoftgraph.chinacloudapi.cn"})
EWS_DISABLEMENT_STARTS = "1 October 2026"
EWS_SHUTDOWN = "1 April 2027"
EWS_SHUTDOWN_DATE = date(2027, 4, 1)  # from this day EWS in Exchange Online answers no one
# Its dates are EWS_DISABLEMENT_STARTS and EWS_SHUTDOWN (tests/domain/test_rules_swedish.py holds them alike).
EWS_RETIREMENT = N_("Exchange Web Services in Exchange Online is switched off tenant by tenant from 1 October 2026 "
                    "and shut down for everyone on 1 April 2027; Microsoft Graph replaces it")


def is_ews_url(location: str) -> bool:
    """An Exchange Web Services URL (…/EWS/Exchange.asmx), as opposed to a Graph base URL."""
    path = urlsplit((location or "").strip()).path.lower()
    return path.endswith(".asmx") or "/ews/" in f"{path}/"


def uses_graph(server_type: int | None, location: str) -> bool:
    """An Exchange Online (Hybrid) profile is tested through Microsoft Graph unless its location is an EWS URL."""
    return server_type == ServerType.EXCHANGE_ONLINE_HYBRID and not is_ews_url(location)


def graph_base(location: str) -> str:
    """The Graph base URL a location names, without a trailing version (`/v1.0`) or slash; Graph's own
    when the location is empty (Auto Discover on Exchange Online)."""
    base = (location or "").strip().rstrip("/")
    if not base:
        return GRAPH_URL
    for version in ("/v1.0", "/beta"):
        if base.lower().endswith(version):
            base = base[: -len(version)]
    return base


def graph_scope(location: str) -> str:
    """The token scope for a Graph location: the national cloud's own, else the global service's."""
    host = (urlsplit(graph_base(location)).hostname or "").lower()
    return f"https://{host}/.default" if host in GRAPH_HOSTS else GRAPH_SCOPE


def ews_scope(location: str) -> str:
    """The token scope of Exchange Hybrid Modern Auth (6): the EWS URL's host, which Hybrid Modern Auth adds as a
    service principal name of Office 365 Exchange Online, with /.default; "" when there is no https URL."""
    parts = urlsplit((location or "").strip())
    try:
        host = (parts.hostname or "").lower()
    except ValueError:
        return ""
    return f"https://{host}/.default" if parts.scheme.lower() == "https" and host else ""


def route_of_test_message(profile) -> str:
    """How a real test message would go for a profile's outgoing test: "Microsoft Graph" (Exchange Online, app-only
    OAuth), "EWS" (Exchange Server, or Exchange Online's EWS before its shutdown), or "" (not offered: IMAP/SMTP
    profiles). Takes a stored profile or a ProfileDraft."""
    if profile is None:
        return ""
    if sends_through_graph(profile):
        return "Microsoft Graph"
    location = "" if profile.auto_discover else profile.outgoing_location
    if profile.server_type in (ServerType.EXCHANGE, ServerType.EXCHANGE_HYBRID) or (
            profile.server_type == ServerType.EXCHANGE_ONLINE_HYBRID and is_ews_url(location)):
        return "EWS"
    return ""


def sends_through_graph(profile) -> bool:
    """Whether a profile's outgoing test goes through Microsoft Graph (Exchange Online, OAuth), where a real
    test message can be sent on request. Takes a stored profile or a ProfileDraft."""
    from .options import AuthMethod

    if profile is None:
        return False
    same = profile.use_same_settings_for_outgoing
    method = profile.auth_method if same else profile.outgoing_auth_method
    location = "" if profile.auto_discover else profile.outgoing_location
    return method in (AuthMethod.OAUTH, AuthMethod.SERVER_TO_SERVER) and uses_graph(profile.server_type, location)
