"""Email server profile rules P1-P16 (and M20, R1 on a profile), by their stable IDs."""

from __future__ import annotations

from collections.abc import Iterator

from ..i18n import N_, say
from .context import ProfileContext
from .findings import Finding
from .options import EXCHANGE_TYPES, AuthMethod, ServerType, TlsMode
from .records import ProfileDraft
from .registry import Record, Where, declare, rule
from .rule_common import (
    ALLOWED_AUTH,
    LOCATION_MAX,
    NAME_TEXT,
    PASSWORD_AUTH,
    PASSWORD_MAX,
    PROFILE_NAME_MAX,
    USERNAME_MAX,
    E,
    W,
    Rule,
    check_state,
    code_text,
    codes_text,
    credential_control_rule,
    label_list,
    name_rule,
)
from .oauth import (
    MICROSOFT_METHODS,
    OAUTH_METHODS,
    CLIENT_SECRET_MAX,
    default_scope,
    GOOGLE_SCOPE,
    MICROSOFT_SCOPE,
    OAUTH_FIELDS,
    SECRET_MAX,
    KeyProblem,
    client_certificate,
    methods_of,
    service_account_key,
    tenant_problem,
    tidy_key_text,
    used_fields,
)
from .exchange import EWS_RETIREMENT, EWS_SHUTDOWN, GRAPH_SCOPE, GRAPH_URL, ews_scope, is_ews_url
from .records import PasswordEdit
from .secret_destinations import profile_secret_moves
from .text import has_control_chars, host_problem, https_url_problem, is_sha256_pin

P = Record.PROFILE
CONNECTIONS, POLLING_MINUTES, TIMEOUT_SECONDS = (1, 300), (0, 1440), (1, 600)  # P9: inclusive ranges
RETRIES, RETRY_MINUTES = (0, 100), (1, 1440)  # P9: retries of a transient failure, and the minutes between them


def default_port(server_type: int | None, direction: str, tls: int) -> int | None:
    """P4 defaults: POP3 995/110, IMAP 993/143, SMTP 465/587/25, Exchange 443."""
    if server_type in EXCHANGE_TYPES:
        return 443
    if direction == "outgoing":
        return {TlsMode.IMPLICIT: 465, TlsMode.STARTTLS: 587}.get(tls, 25)
    if server_type == ServerType.POP3_SMTP:
        return 995 if tls == TlsMode.IMPLICIT else 110
    if server_type == ServerType.IMAP_SMTP:
        return 993 if tls == TlsMode.IMPLICIT else 143
    return None


def normalise_profile(d: ProfileDraft) -> ProfileDraft:
    """What saving does to a profile: P4 default ports, P6/P7 clear unused credentials, P8."""
    d = d.copy()
    exchange = d.server_type in EXCHANGE_TYPES
    if not exchange:
        d.auto_discover = False
    if d.auto_discover:  # P8
        d.incoming_location = d.outgoing_location = ""
        d.incoming_port = d.outgoing_port = None
        d.incoming_tls = d.outgoing_tls = TlsMode.IMPLICIT
    else:  # P4
        if d.incoming_port is None:
            d.incoming_port = default_port(d.server_type, "incoming", d.incoming_tls)
        if d.outgoing_port is None:
            d.outgoing_port = default_port(d.server_type, "outgoing", d.outgoing_tls)
    if d.use_same_settings_for_outgoing:  # P7
        d.outgoing_auth_method = d.auth_method
        d.outgoing_username = ""
        d.outgoing_password.new, d.outgoing_password.clear = None, d.outgoing_password.stored
    if d.auth_method != AuthMethod.PROFILE_CREDENTIALS:  # P6
        d.username = ""
        d.password.new, d.password.clear = None, d.password.stored
    if not d.use_same_settings_for_outgoing and d.outgoing_auth_method != AuthMethod.PROFILE_CREDENTIALS:
        d.outgoing_username = ""
        d.outgoing_password.new, d.outgoing_password.clear = None, d.outgoing_password.stored
    _normalise_oauth(d)
    return d


def _normalise_oauth(d: ProfileDraft) -> None:
    """P14: what no OAuth method of the profile reads is cleared; a blank scope gets the provider's; a
    pasted key is kept as its file holds it."""
    methods = methods_of(d)
    used = used_fields(methods)
    for name in OAUTH_FIELDS:
        value = getattr(d, name)
        if isinstance(value, PasswordEdit):
            if name not in used:
                value.new, value.clear = None, value.stored
            elif value.new and name != "oauth_client_secret":
                value.new = tidy_key_text(value.new)
        elif name not in used:
            setattr(d, name, "")
        else:
            setattr(d, name, value.strip())
    if methods and not d.oauth_scope:
        location = "" if d.auto_discover else d.incoming_location
        d.oauth_scope = default_scope(methods[0], d.server_type, location)


@rule("P1", "Profile name", "A profile's name is unique among profiles (compared case-insensitively: it is the "
      f"profile's key in import and export files). It is {NAME_TEXT.format(limit=PROFILE_NAME_MAX)}.",
      record=P, fields=("name",))
def _p1_name(d: ProfileDraft, ctx: ProfileContext) -> Iterator[Finding]:
    yield from name_rule("P1", "name", d.name, PROFILE_NAME_MAX, "Name")
    if d.name.strip() and ctx.name_taken:
        yield Finding("P1", "name", E, say("Another server profile is already named {name}.",
                                           name=repr(d.name.strip())))


@rule("P2", "Server type", f"Server Type is required: {codes_text(ServerType, ServerType)}.",
      record=P, fields=("server_type",))
def _p2_type(d: ProfileDraft, ctx: ProfileContext) -> Iterator[Finding]:
    if d.server_type is None:
        yield Finding("P2", "server_type", E, say("Server Type is required."))
    elif d.server_type not in set(ServerType):
        yield Finding("P2", "server_type", E, say("Server Type {code} is not a known type.", code=d.server_type))


@rule("P3", "Server locations",
      "The incoming and outgoing server locations are required, unless Auto Discover is Yes on an Exchange "
      "profile. For POP3/SMTP and IMAP/SMTP a location is a host name or an IP address (no scheme, no path, "
      f"no port); for the Exchange types it is an https:// URL. At most {LOCATION_MAX} characters.",
      record=P, fields=("incoming_location", "outgoing_location"))
def _p3_locations(d: ProfileDraft, ctx: ProfileContext) -> Iterator[Finding]:
    if d.auto_discover and d.server_type in EXCHANGE_TYPES:
        return
    exchange = d.server_type in EXCHANGE_TYPES
    for field, label in (("incoming_location", "Incoming Server Location"),
                         ("outgoing_location", "Outgoing Server Location")):
        value = getattr(d, field).strip()
        if not value:
            yield Finding("P3", field, E, say("{label} is required unless Auto Discover is Yes.", label=label)
                          if exchange else say("{label} is required.", label=label))
            continue
        if len(value) > LOCATION_MAX:
            yield Finding("P3", field, E, say("{label} is at most {limit} characters (now {length}).", label=label,
                                              limit=LOCATION_MAX, length=len(value)))
            continue
        problem = https_url_problem(value) if exchange else host_problem(value)
        if problem:
            yield Finding("P3", field, E, problem)


def _port_defaults_text() -> str:
    order = {TlsMode.IMPLICIT: "SSL/TLS", TlsMode.STARTTLS: "STARTTLS", TlsMode.NONE: "no TLS"}

    def ports(server_type, direction):
        return ", ".join(f"{default_port(server_type, direction, tls)} with {label}" for tls, label in order.items())

    return (f"POP3 {ports(ServerType.POP3_SMTP, 'incoming')}; IMAP {ports(ServerType.IMAP_SMTP, 'incoming')}; "
            f"SMTP {ports(ServerType.IMAP_SMTP, 'outgoing')}; the Exchange types "
            f"{default_port(ServerType.EXCHANGE, 'incoming', TlsMode.IMPLICIT)}")


@rule("P4", "Ports", f"Ports are 1 to 65535. An empty port is filled in on save: {_port_defaults_text()}.",
      record=P, fields=("incoming_port", "outgoing_port"))
def _p4_ports(d: ProfileDraft, ctx: ProfileContext) -> Iterator[Finding]:
    if d.auto_discover and d.server_type in EXCHANGE_TYPES:
        return
    for field, label in (("incoming_port", "Incoming Port"), ("outgoing_port", "Outgoing Port")):
        port = getattr(d, field)
        if port is not None and not 1 <= port <= 65535:
            yield Finding("P4", field, E, say("{label} must be between 1 and 65535.", label=label))


def _auth_text() -> str:
    return "; ".join(f"{ServerType.label_of(t)}: {', '.join(str(c) for c in sorted(codes))}"
                     for t, codes in sorted(ALLOWED_AUTH.items()))


@rule("P5", "Authenticate Using suits the server type",
      f"Authenticate Using (incoming, and outgoing when it has its own) must suit the server type. {_auth_text()} "
      f"(codes: {codes_text(AuthMethod, AuthMethod)}).",
      record=P, fields=("auth_method", "outgoing_auth_method"))
def _p5_auth(d: ProfileDraft, ctx: ProfileContext) -> Iterator[Finding]:
    allowed = ALLOWED_AUTH.get(d.server_type)
    if allowed is None:
        return
    checks = [("auth_method", d.auth_method)]
    if not d.use_same_settings_for_outgoing:
        checks.append(("outgoing_auth_method", d.outgoing_auth_method))
    for field, code in checks:
        if code not in allowed:
            yield Finding("P5", field, E, say("{option} does not suit {kind}: choose {options}.",
                                              option=AuthMethod.label_of(code),
                                              kind=ServerType.label_of(d.server_type),
                                              options=label_list(AuthMethod, allowed)))


@rule("P6", "The profile's own credentials",
      f"Authenticate Using = {AuthMethod.label_of(1)} (1) requires the profile's own user name and password "
      "(for outgoing too, when Use Same Settings for Outgoing is No); with any other method they are cleared "
      f"on save. A user name is at most {USERNAME_MAX} characters, a password at most {PASSWORD_MAX}; a stored "
      "password counts, and leaving the password blank on an edit keeps it.",
      record=P, fields=("username", "password", "outgoing_username", "outgoing_password"))
def _p6_profile_credentials(d: ProfileDraft, ctx: ProfileContext) -> Iterator[Finding]:
    pairs = [("", d.auth_method, d.username, d.password)]
    if not d.use_same_settings_for_outgoing:
        pairs.append(("outgoing_", d.outgoing_auth_method, d.outgoing_username, d.outgoing_password))
    for prefix, method, username, password in pairs:
        if len(username) > USERNAME_MAX:
            yield Finding("P6", f"{prefix}username", E, say("{label} is at most {limit} characters.",
                                                               label="User Name", limit=USERNAME_MAX))
        if password.new and len(password.new) > PASSWORD_MAX:
            yield Finding("P6", f"{prefix}password", E, say("{label} is at most {limit} characters.",
                                                               label="Password", limit=PASSWORD_MAX))
        if method != AuthMethod.PROFILE_CREDENTIALS:
            continue
        if not username.strip():
            yield Finding("P6", f"{prefix}username", E,
                          say("User Name is required when the profile authenticates with its own credentials."))
        if not password.present:
            yield Finding("P6", f"{prefix}password", E,
                          say("Password is required when the profile authenticates with its own credentials."))


@rule("P7", "Use Same Settings for Outgoing",
      "Use Same Settings for Outgoing = Yes makes outgoing authentication follow incoming, and saving clears "
      "the separate outgoing credentials; outgoing credentials typed anyway are a warning.",
      record=P, fields=("outgoing_username",), severity=(W,))
def _p7_same_settings(d: ProfileDraft, ctx: ProfileContext) -> Iterator[Finding]:
    if d.use_same_settings_for_outgoing and (d.outgoing_username.strip() or d.outgoing_password.new):
        yield Finding("P7", "outgoing_username", W,
                      say("Use Same Settings for Outgoing is Yes: the separate outgoing credentials will be cleared."))


@rule("P8", "Auto Discover",
      "Auto Discover exists only for the Exchange types (on any other type, saving and importing turn it off). "
      "Yes clears the locations and ports on save and sets both connections to SSL/TLS.",
      record=P, fields=("auto_discover",))
def _p8_auto_discover(d: ProfileDraft, ctx: ProfileContext) -> Iterator[Finding]:
    if d.auto_discover and d.server_type not in EXCHANGE_TYPES:
        yield Finding("P8", "auto_discover", E, say("Auto Discover exists only for Exchange server types."))


_DEFAULTS = ProfileDraft()


@rule("P9", "Connection limits",
      f"Maximum Concurrent Connections is {CONNECTIONS[0]} to {CONNECTIONS[1]} (default "
      f"{_DEFAULTS.max_concurrent_connections}); it also bounds how many connections Test & Enable opens at once "
      f"for the profile. Minimum Polling Interval is {POLLING_MINUTES[0]} to {POLLING_MINUTES[1]} minutes "
      f"(default {_DEFAULTS.min_polling_minutes}). The connection timeout is {TIMEOUT_SECONDS[0]} to "
      f"{TIMEOUT_SECONDS[1]} seconds (default {_DEFAULTS.timeout_seconds}). A transient Test & Enable failure is "
      f"retried {RETRIES[0]} to {RETRIES[1]} times (default {_DEFAULTS.transient_retries}), {RETRY_MINUTES[0]} to "
      f"{RETRY_MINUTES[1]} minutes apart (default {_DEFAULTS.retry_interval_minutes}).",
      record=P, fields=("max_concurrent_connections", "min_polling_minutes", "timeout_seconds", "transient_retries",
                        "retry_interval_minutes"))
def _p9_limits(d: ProfileDraft, ctx: ProfileContext) -> Iterator[Finding]:
    if d.max_concurrent_connections is None or not CONNECTIONS[0] <= d.max_concurrent_connections <= CONNECTIONS[1]:
        yield Finding("P9", "max_concurrent_connections", E,
                      say("{label} must be {low} to {high}.", label="Maximum Concurrent Connections",
                          low=CONNECTIONS[0], high=CONNECTIONS[1]))
    if d.min_polling_minutes is None or not POLLING_MINUTES[0] <= d.min_polling_minutes <= POLLING_MINUTES[1]:
        yield Finding("P9", "min_polling_minutes", E,
                      say("Minimum Polling Interval must be {low} to {high} minutes.", low=POLLING_MINUTES[0],
                          high=POLLING_MINUTES[1]))
    if not TIMEOUT_SECONDS[0] <= d.timeout_seconds <= TIMEOUT_SECONDS[1]:
        yield Finding("P9", "timeout_seconds", E,
                      say("Connection timeout must be {low} to {high} seconds.", low=TIMEOUT_SECONDS[0],
                          high=TIMEOUT_SECONDS[1]))
    if d.transient_retries is None or not RETRIES[0] <= d.transient_retries <= RETRIES[1]:
        yield Finding("P9", "transient_retries", E,
                      say("{label} must be {low} to {high}.", label="Retries After a Transient Failure",
                          low=RETRIES[0], high=RETRIES[1]))
    if d.retry_interval_minutes is None or not RETRY_MINUTES[0] <= d.retry_interval_minutes <= RETRY_MINUTES[1]:
        yield Finding("P9", "retry_interval_minutes", E,
                      say("{label} must be {low} to {high}.", label="Minutes Between Retries",
                          low=RETRY_MINUTES[0], high=RETRY_MINUTES[1]))


@rule("P10", "Passwords in clear text",
      "On a POP3/SMTP or IMAP/SMTP profile, SSL switched off for a connection that sends a password "
      f"(Authenticate Using {' or '.join(str(c) for c in sorted(PASSWORD_AUTH))}) is a warning: passwords "
      "travel in clear text. So is one that sends an OAuth access token (5 or 7, P14): anyone on the way could "
      "use it until it expires.",
      record=P, fields=("incoming_tls", "outgoing_tls"), severity=(W,))
def _p10_plaintext(d: ProfileDraft, ctx: ProfileContext) -> Iterator[Finding]:
    if d.auto_discover or d.server_type in EXCHANGE_TYPES:
        return
    outgoing_auth = d.auth_method if d.use_same_settings_for_outgoing else d.outgoing_auth_method
    for field, tls, auth, label in (("incoming_tls", d.incoming_tls, d.auth_method, "incoming"),
                                     ("outgoing_tls", d.outgoing_tls, outgoing_auth, "outgoing")):
        if tls == TlsMode.NONE and auth in PASSWORD_AUTH:
            yield Finding("P10", field, W, say("SSL is off for incoming connections: passwords travel in clear text.")
                          if label == "incoming" else
                          say("SSL is off for outgoing connections: passwords travel in clear text."))
        elif tls == TlsMode.NONE and auth in OAUTH_METHODS:
            yield Finding("P10", field, W,
                          say("SSL is off for incoming connections: OAuth access tokens travel in clear text.")
                          if label == "incoming" else
                          say("SSL is off for outgoing connections: OAuth access tokens travel in clear text."))


declare("P11", "Deleting a profile",
        "Deleting a profile clears it from its mailboxes, after a confirmation that says how many mailboxes "
        "are affected; their test results go back to Not Run (M17).",
        record=P, where=Where.FORM, note="the delete command of the profile list and form")


@rule("P12", "Move Undelivered Emails to the Undeliverable Folder",
      "Move Undelivered Emails to the Undeliverable Folder (`moveundeliveredemails`) is Yes or No, default No, "
      "on every server type: Yes moves mail that cannot be delivered to an \"Undeliverable\" folder in the "
      "mailbox instead of retrying it. Anything but Yes or No is an error.",
      record=P, fields=("move_undelivered",))
def _p12_move_undelivered(d: ProfileDraft, ctx: ProfileContext) -> Iterator[Finding]:
    if not isinstance(d.move_undelivered, bool):
        yield Finding("P12", "move_undelivered", E,
                      say("Move Undelivered Emails must be Yes or No, not {code}.", code=code_text(d.move_undelivered)))


@rule("P13", "Certificate pins",
      "A pinned certificate fingerprint (incoming or outgoing) is a SHA-256 fingerprint: exactly 64 hex digits; "
      "colons and spaces are allowed and removed on save. Empty means normal verification. At Test & Enable a "
      "pin replaces chain verification only by an exact match; it never switches verification off.",
      record=P, fields=("incoming_cert_sha256", "outgoing_cert_sha256"))
def _p13_pins(d: ProfileDraft, ctx: ProfileContext) -> Iterator[Finding]:
    for field, value, label in (("incoming_cert_sha256", d.incoming_cert_sha256, "incoming"),
                                ("outgoing_cert_sha256", d.outgoing_cert_sha256, "outgoing")):
        if value.strip() and not is_sha256_pin(value):
            yield Finding("P13", field, E, say(
                "The incoming certificate pin must be a SHA-256 fingerprint: exactly 64 hex digits (colons and spaces "
                "allowed), or empty for normal verification.") if label == "incoming" else say(
                "The outgoing certificate pin must be a SHA-256 fingerprint: exactly 64 hex digits (colons and spaces "
                "allowed), or empty for normal verification."))


@rule("P14", "OAuth settings",
      f"Authenticate Using {AuthMethod.OAUTH} OAuth (Microsoft Entra ID), {AuthMethod.SERVER_TO_SERVER} Server to "
      f"Server Authentication (Exchange Online through Microsoft Graph) and {AuthMethod.EXCHANGE_HYBRID_MODERN_AUTH} "
      "Exchange Hybrid Modern Auth (Exchange Server through EWS) are app-only tokens (client credentials): each needs "
      "a Client ID, a Client Secret or a client certificate (PEM private key and certificate; a certificate is used "
      "when both are set), and a Tenant ID (a GUID or a domain) unless a Token Endpoint is given; Authenticate Using "
      f"{AuthMethod.GMAIL_OAUTH} Gmail OAuth needs a Google service account's key (its JSON key file, or a PEM key "
      "with the service account's email as Client ID) with domain-wide delegation. Scope defaults to "
      f"{MICROSOFT_SCOPE} or {GOOGLE_SCOPE}; on an Exchange Online profile tested through Microsoft Graph to "
      f"the Graph location's own ({GRAPH_SCOPE} for {GRAPH_URL}); for Exchange Hybrid Modern Auth to the EWS URL's "
      "host with /.default (https://mail.contoso.com/.default), which must be set by hand when Auto Discover is Yes. "
      "Token Endpoint, optional, is an https URL that overrides the provider's. Secrets are stored encrypted and "
      "never shown or exported; settings no OAuth method of the profile uses are cleared on save. The token acts for "
      "each mailbox's user name (or its address).",
      record=P, fields=OAUTH_FIELDS)
def _p14_oauth(d: ProfileDraft, ctx: ProfileContext) -> Iterator[Finding]:
    methods = methods_of(d)
    if not methods:
        return
    for name, limit in (("oauth_client_id", 200), ("oauth_tenant_id", 100), ("oauth_scope", 500),
                        ("oauth_token_endpoint", 500)):
        value = getattr(d, name).strip()
        if len(value) > limit:
            yield Finding("P14", name, E, say("{label} is at most {limit} characters.", label=_LABELS[name],
                                              limit=limit))
        elif has_control_chars(value):
            yield Finding("P14", name, E, say("{label} contains control characters.", label=_LABELS[name]))
    endpoint = d.oauth_token_endpoint.strip()
    if endpoint and https_url_problem(endpoint):
        yield Finding("P14", "oauth_token_endpoint", E,
                      say("Token Endpoint must be an https:// URL with a host name."))
    secret = d.oauth_client_secret.new
    if secret and (len(secret) > CLIENT_SECRET_MAX or has_control_chars(secret)):
        yield Finding("P14", "oauth_client_secret", E, say("A client secret is one line of at most {limit} "
                      "characters: paste the secret's Value, not its ID.", limit=CLIENT_SECRET_MAX))
    for name in ("oauth_certificate", "oauth_service_account_key"):
        typed = getattr(d, name).new
        if typed and len(typed) > SECRET_MAX:
            yield Finding("P14", name, E, say("{label} is at most {limit} characters.", label=_LABELS[name],
                                              limit=format(SECRET_MAX, ",")))
    if MICROSOFT_METHODS & set(methods):
        yield from _p14_microsoft(d, endpoint)
    if AuthMethod.EXCHANGE_HYBRID_MODERN_AUTH in methods and not d.oauth_scope.strip() and not ews_scope(
            "" if d.auto_discover else d.incoming_location):
        yield Finding("P14", "oauth_scope", E, say("Exchange Hybrid Modern Auth needs a Scope when Auto Discover is "
                      "Yes: your EWS host with /.default (https://mail.contoso.com/.default)."))
    if AuthMethod.GMAIL_OAUTH in methods:
        yield from _p14_google(d)


_LABELS = {"oauth_client_id": "Client ID", "oauth_tenant_id": "Tenant ID", "oauth_scope": "Scope",
           "oauth_token_endpoint": "Token Endpoint", "oauth_certificate": N_("The client certificate"),
           "oauth_service_account_key": N_("The service account key")}


def _p14_microsoft(d: ProfileDraft, endpoint: str) -> Iterator[Finding]:
    if not d.oauth_client_id.strip():
        yield Finding("P14", "oauth_client_id", E,
                      say("Client ID is required for OAuth: the app registration's Application (client) ID."))
    if not (d.oauth_client_secret.present or d.oauth_certificate.present):
        yield Finding("P14", "oauth_client_secret", E,
                      say("OAuth needs the app's Client Secret or a client certificate (PEM)."))
    typed = d.oauth_certificate.new
    if typed and len(typed) <= SECRET_MAX:
        try:
            client_certificate(typed)
        except KeyProblem as exc:
            yield Finding("P14", "oauth_certificate", E, exc.args[0])
    tenant = d.oauth_tenant_id.strip()
    if not tenant and not endpoint:
        yield Finding("P14", "oauth_tenant_id", E,
                      say("Tenant ID is required for OAuth (the directory's GUID or domain), unless a Token "
                          "Endpoint is given."))
    elif tenant and len(tenant) <= 100 and (problem := tenant_problem(tenant)):
        yield Finding("P14", "oauth_tenant_id", E, problem)


def _p14_google(d: ProfileDraft) -> Iterator[Finding]:
    key = d.oauth_service_account_key
    if not key.present:
        yield Finding("P14", "oauth_service_account_key", E,
                      say("Gmail OAuth needs the service account's key: paste its JSON key file."))
        return
    if not key.new or len(key.new) > SECRET_MAX:
        return
    try:
        parsed = service_account_key(key.new)
    except KeyProblem as exc:
        yield Finding("P14", "oauth_service_account_key", E, exc.args[0])
        return
    if not parsed.client_email and "@" not in d.oauth_client_id:
        yield Finding("P14", "oauth_client_id", E, say("A bare PEM key needs the service account's email as "
                      "Client ID (or paste the JSON key file instead)."))


@rule("M20", record=P, fields=("username", "password", "outgoing_username", "outgoing_password"))
def _m20_profile_control_characters(d: ProfileDraft, ctx: ProfileContext) -> Iterator[Finding]:
    yield from credential_control_rule("username", d.username, "password", d.password.new)
    yield from credential_control_rule("outgoing_username", d.outgoing_username, "outgoing_password",
                               d.outgoing_password.new)


@rule("P15", "A stored secret does not follow a changed destination",
      "A stored password goes to the servers it was entered for, and an OAuth client secret to its token "
      "endpoint. When a change would send one somewhere it did not go before (a new incoming or outgoing "
      "location, Use Same Settings turned on, a new tenant or Token Endpoint, a mailbox's new server profile) "
      "and the same change does not enter it again, saving clears it, unless the admin keeps it for the new "
      "destination: the form asks, an import needs --keep-secrets. A profile's change of servers clears the "
      "passwords of its mailboxes likewise. Client certificates and service account keys never leave this "
      "machine (they sign an assertion only their token endpoint accepts), so they are kept.",
      record=P, fields=("password", "outgoing_password", "oauth_client_secret", "incoming_location"),
      severity=(W,), where=Where.FORM | Where.IMPORT)
def _p15_profile_secrets_follow(d: ProfileDraft, ctx: ProfileContext) -> Iterator[Finding]:
    for move in profile_secret_moves(d, ctx.stored_destinations, ctx.mailbox_passwords):
        yield Finding("P15", move.field, W, move.message)


@rule("P16", "EWS in Exchange Online is retired",
      f"An Exchange Online (Hybrid) profile whose incoming or outgoing location is an Exchange Web Services URL "
      f"(…/EWS/Exchange.asmx) is a warning: {EWS_RETIREMENT}. The fix is the Graph base URL ({GRAPH_URL}, or a "
      f"national cloud's) as the location, with Scope {GRAPH_SCOPE}: Test & Enable then tests the mailbox through "
      f"Microsoft Graph. Until {EWS_SHUTDOWN} Test & Enable still tests such a profile through EWS, with an "
      f"app-only token for {MICROSOFT_SCOPE} (or the profile's own Scope when it is not Graph's), and its results "
      "carry this warning; from that day the test fails, naming the Graph URL. Exchange Server on premises keeps EWS.",
      record=P, fields=("incoming_location", "outgoing_location"), severity=(W,))
def _p16_ews_in_exchange_online(d: ProfileDraft, ctx: ProfileContext) -> Iterator[Finding]:
    if d.server_type != ServerType.EXCHANGE_ONLINE_HYBRID or d.auto_discover:
        return
    for field, label in (("incoming_location", "Incoming Server Location"),
                         ("outgoing_location", "Outgoing Server Location")):
        if is_ews_url(getattr(d, field)):
            yield Finding("P16", field, W, say("{label} is an EWS URL: {reason}. Set it to {url} (and Scope to "
                                               "{scope}) to test and sync through Microsoft Graph.", label=label,
                                               reason=EWS_RETIREMENT, url=GRAPH_URL, scope=GRAPH_SCOPE))


@rule("R1", record=P, fields=("state",))
def _r1_profile_state(d: ProfileDraft, ctx: ProfileContext) -> Iterator[Finding]:
    yield from check_state(d.state)


PROFILE_RULES: tuple[Rule, ...] = (
    _p1_name, _p2_type, _p3_locations, _p4_ports, _p5_auth, _p6_profile_credentials,
    _p7_same_settings, _p8_auto_discover, _p9_limits, _p10_plaintext, _p12_move_undelivered, _p13_pins,
    _p14_oauth, _p15_profile_secrets_follow, _p16_ews_in_exchange_online, _m20_profile_control_characters,
    _r1_profile_state,
)


def check_profile(draft: ProfileDraft, ctx: ProfileContext | None = None) -> list[Finding]:
    ctx = ctx or ProfileContext()
    return [f for rule in PROFILE_RULES for f in rule(draft, ctx)]
