"""The one rule engine: every rule of DOMAIN.md, by its stable ID.

The same functions give a form its live messages, refuse a bad save, reject an import row
and answer `mailbox-tui check`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from .context import MailboxContext, ProfileContext, QueueContext, Stage, UserContext
from .findings import Finding, Severity
from .options import (
    EXCHANGE_TYPES,
    ActMethod,
    ApprovalStatus,
    AuthMethod,
    IncomingMethod,
    MailboxKind,
    OutgoingMethod,
    RecordState,
    ServerType,
    TlsMode,
)
from .records import MailboxDraft, OrgSettings, ProfileDraft, QueueDraft, UserDraft
from .text import (
    has_control_chars,
    has_invisible_chars,
    has_line_breakers,
    host_problem,
    https_url_problem,
    is_sha256_pin,
    natural_key,
    normalise_email,
)

E, W = Severity.ERROR, Severity.WARNING

ALLOWED_INCOMING = {
    MailboxKind.USER: frozenset({0, 1, 2, 3}),
    MailboxKind.QUEUE: frozenset({0, 2, 3}),
    MailboxKind.FORWARD: frozenset({2}),
}
ALLOWED_OUTGOING = {
    MailboxKind.USER: frozenset({0, 1, 2}),
    MailboxKind.QUEUE: frozenset({0, 2}),
    MailboxKind.FORWARD: frozenset({0}),
}
ALLOWED_ACT = {
    MailboxKind.USER: frozenset({0, 1, 2}),
    MailboxKind.QUEUE: frozenset({2}),
    MailboxKind.FORWARD: frozenset({2}),
}
# P5. Exchange Server (Hybrid) is an on-premises Exchange: it takes what Exchange Server takes.
ALLOWED_AUTH = {
    ServerType.POP3_SMTP: frozenset({0, 1}),
    ServerType.IMAP_SMTP: frozenset({0, 1, 5}),
    ServerType.EXCHANGE: frozenset({0, 1, 3, 6}),
    ServerType.EXCHANGE_HYBRID: frozenset({0, 1, 3, 6}),
    ServerType.EXCHANGE_ONLINE_HYBRID: frozenset({2, 7}),
}
NAME_MAX, EMAIL_MAX, USERNAME_MAX, PASSWORD_MAX, PROFILE_NAME_MAX = 200, 100, 200, 200, 100
USER_NAME_MAX = 200
LOCATION_MAX = 500  # a server location (P3): a host name, an IP address or an https URL
PASSWORD_AUTH = frozenset({AuthMethod.USER_OR_QUEUE_CREDENTIALS, AuthMethod.PROFILE_CREDENTIALS})

Rule = Callable[..., Iterator[Finding]]


def uses_server_side_sync(d: MailboxDraft) -> bool:
    return (
        d.incoming == IncomingMethod.SERVER_SIDE_SYNC
        or d.outgoing == OutgoingMethod.SERVER_SIDE_SYNC
        or d.act == ActMethod.SERVER_SIDE_SYNC
    )


# ---------------------------------------------------------------- mailbox rules


def _m1_name(d: MailboxDraft, ctx: MailboxContext) -> Iterator[Finding]:
    yield from _name_rule("M1", "name", d.name, NAME_MAX, "Name")


def _name_rule(rule: str, field: str, value: str, limit: int, label: str) -> Iterator[Finding]:
    """Required, at most `limit` characters, no control or invisible characters (M1, P1, Q1, U1)."""
    if not value.strip():
        yield Finding(rule, field, E, f"{label} is required.")
    elif len(value) > limit:
        yield Finding(rule, field, E, f"{label} is at most {limit} characters (now {len(value)}).")
    elif has_control_chars(value):
        yield Finding(rule, field, E, f"{label} cannot contain control characters (tabs, line breaks).")
    elif has_invisible_chars(value):
        yield Finding(rule, field, E, f"{label} cannot contain invisible characters (bidirectional overrides, "
                                      "zero-width characters): they make different names look the same.")
    elif not value.isascii() and len(natural_key(value)) > limit:  # İ grows under lower(): its key must fit
        yield Finding(rule, field, E, f"{label} is at most {limit} characters once compared "
                                      f"case-insensitively (İ counts as two).")


def check_state(code) -> Iterator[Finding]:
    """R1: Status (statecode) is 0 Active or 1 Inactive, for every record."""
    if code not in _STATES:
        yield Finding("R1", "state", E, f"Status code {_code(code)} is not one of 0 Active, 1 Inactive.")


_STATES = frozenset(RecordState)
_APPROVALS = frozenset(ApprovalStatus)


def _code(value) -> str:
    text = str(value)
    return text if len(text) <= 24 else text[:20] + "…"


def _m2_owner(d: MailboxDraft, ctx: MailboxContext) -> Iterator[Finding]:
    if d.owner_id is None:
        yield Finding("M2", "owner_id", E, "Owner is required.")
    elif not ctx.owner_exists:
        yield Finding("M2", "owner_id", E, "The owner must be a user of this organisation; no user has that email.")
    elif d.kind == MailboxKind.USER and d.owner_id != d.regarding_id:
        yield Finding("M2", "owner_id", E, "A user mailbox is owned by its user.")
    elif d.kind == MailboxKind.QUEUE and ctx.expected_owner_id is not None and d.owner_id != ctx.expected_owner_id:
        yield Finding("M2", "owner_id", E, "A queue mailbox is owned by the queue's owner.")


def _m3_email(d: MailboxDraft, ctx: MailboxContext) -> Iterator[Finding]:
    email = d.email.strip()
    if not email:
        if d.is_forward:
            yield Finding("M3", "email", E, "Email Address is required for a forward mailbox.")
        elif d.incoming == IncomingMethod.SERVER_SIDE_SYNC or d.outgoing == OutgoingMethod.SERVER_SIDE_SYNC:
            yield Finding("M3", "email", E, "Email Address is required when email is synchronized server-side.")
        return
    problem = email_problem(email, "Email Address")
    if problem:
        yield Finding("M3", "email", E, problem)


def email_problem(email: str, label: str) -> str | None:
    """Why a stripped, non-empty address cannot be stored (M3, U1, Q1), or None."""
    if len(email) > EMAIL_MAX:
        return f"{label} is at most {EMAIL_MAX} characters (now {len(email)})."
    normalised, problem = normalise_email(email)
    if problem:
        return problem
    if len(normalised) > EMAIL_MAX or (not normalised.isascii() and len(natural_key(normalised)) > EMAIL_MAX):
        return f"{label} is at most {EMAIL_MAX} characters once normalised."
    return None


def _m5_same_email(d: MailboxDraft, ctx: MailboxContext) -> Iterator[Finding]:
    if not ctx.same_email:
        return
    if ctx.stage == Stage.TEST and d.incoming in (IncomingMethod.SERVER_SIDE_SYNC, IncomingMethod.FORWARD_MAILBOX):
        clash = [u.name for u in ctx.same_email if u.enabled_incoming]
        if clash:
            yield Finding(
                "M5", "email", E,
                f"Mailbox {clash[0]!r} already receives incoming email for this address; "
                "only one mailbox per address can be enabled for incoming email.",
            )
            return
    names = ", ".join(repr(u.name) for u in ctx.same_email[:3])
    more = f" and {len(ctx.same_email) - 3} more" if len(ctx.same_email) > 3 else ""
    yield Finding("M5", "email", W, f"Another mailbox uses this address: {names}{more}.")


def _m6_delete_after(d: MailboxDraft, ctx: MailboxContext) -> Iterator[Finding]:
    if d.delete_after_processing and d.kind == MailboxKind.USER:
        yield Finding("M6", "delete_after_processing", E,
                      "Delete Email Messages After Processing can be Yes only for forward and queue mailboxes.")


def _m7_regarding(d: MailboxDraft, ctx: MailboxContext) -> Iterator[Finding]:
    if d.is_forward and d.regarding_id is not None:
        yield Finding("M7", "regarding_id", E, "A forward mailbox has no regarding record.")
    elif not d.is_forward and (d.regarding_id is None or not ctx.regarding_exists):
        yield Finding("M7", "regarding_id", E, f"A {d.kind.label.lower()} mailbox must belong to its {d.kind.label.lower()}.")


def _m8_forward_fixed(d: MailboxDraft, ctx: MailboxContext) -> Iterator[Finding]:
    if ctx.original is not None and ctx.original.kind != d.kind:
        yield Finding("M8", "kind", E, "Is Forward Mailbox is fixed when the mailbox is created.")


def _a1_approval_code(d: MailboxDraft, ctx: MailboxContext) -> Iterator[Finding]:
    if d.approval not in _APPROVALS:
        yield Finding("A1", "approval", E, f"Email Address Approval code {_code(d.approval)} is not one of "
                                           "0 Empty, 1 Approved, 2 Pending Approval, 3 Rejected.")


def _r1_state(d: MailboxDraft, ctx: MailboxContext) -> Iterator[Finding]:
    yield from check_state(d.state)


def _m20_no_line_breaks(d: MailboxDraft, ctx: MailboxContext) -> Iterator[Finding]:
    yield from _line_break_rule("username", d.username, "password", d.password.new)


def _line_break_rule(user_field: str, username: str, password_field: str, password: str | None) -> Iterator[Finding]:
    """M20: CR, LF or NUL would reach the mail server as extra protocol commands."""
    if has_line_breakers(username):
        yield Finding("M20", user_field, E, "User Name cannot contain line breaks or NUL characters: "
                                            "they would reach the mail server as extra commands.")
    if password and has_line_breakers(password):
        yield Finding("M20", password_field, E, "Password cannot contain line breaks or NUL characters: "
                                                "they would reach the mail server as extra commands.")


def _m9_credentials(d: MailboxDraft, ctx: MailboxContext) -> Iterator[Finding]:
    if len(d.username) > USERNAME_MAX:
        yield Finding("M9", "username", E, f"User Name is at most {USERNAME_MAX} characters.")
    if d.password.new and len(d.password.new) > PASSWORD_MAX:
        yield Finding("M9", "password", E, f"Password is at most {PASSWORD_MAX} characters.")
    if not d.allow_credentials:
        return
    if not d.username.strip():
        yield Finding("M9", "username", E, "User Name is required when Allow to Use Credentials is Yes.")
    if not d.password.present:
        yield Finding("M9", "password", E, "A password is required when Allow to Use Credentials is Yes.")


def _m10_profile_credentials(d: MailboxDraft, ctx: MailboxContext) -> Iterator[Finding]:
    if ctx.profile is None:
        return
    if ctx.profile.auth_method == AuthMethod.USER_OR_QUEUE_CREDENTIALS:
        if uses_server_side_sync(d) and not d.allow_credentials:
            yield Finding("M10", "allow_credentials", E,
                          f"Profile {ctx.profile.name!r} uses the mailbox's own credentials: "
                          "set Allow to Use Credentials to Yes and enter them.")
    elif d.allow_credentials:
        yield Finding("M10", "allow_credentials", W,
                      f"Profile {ctx.profile.name!r} authenticates with "
                      f"{AuthMethod.label_of(ctx.profile.auth_method)}: these credentials will not be used.")


def _m11_profile_required(d: MailboxDraft, ctx: MailboxContext) -> Iterator[Finding]:
    if d.profile_id is None:
        if d.is_forward:
            yield Finding("M11", "profile_id", E, "A forward mailbox needs a server profile.")
        elif uses_server_side_sync(d):
            yield Finding("M11", "profile_id", E, "A server profile is required for server-side synchronization.")
    elif ctx.profile is None:
        yield Finding("M11", "profile_id", E, "The chosen server profile no longer exists.")


def _m12_incoming(d: MailboxDraft, ctx: MailboxContext) -> Iterator[Finding]:
    yield from _option_rule("M12", "incoming", d.incoming, ALLOWED_INCOMING[d.kind], IncomingMethod, d.kind)


def _m13_outgoing(d: MailboxDraft, ctx: MailboxContext) -> Iterator[Finding]:
    yield from _option_rule("M13", "outgoing", d.outgoing, ALLOWED_OUTGOING[d.kind], OutgoingMethod, d.kind)


def _m14_act(d: MailboxDraft, ctx: MailboxContext) -> Iterator[Finding]:
    yield from _option_rule("M14", "act", d.act, ALLOWED_ACT[d.kind], ActMethod, d.kind)


def _option_rule(rule, field, code, allowed, options, kind) -> Iterator[Finding]:
    if code not in allowed:
        names = " or ".join(f"“{options.label_of(c)}”" for c in sorted(allowed))
        what = f"“{options(code).label}”" if code in set(options) else f"Code {_code(code)}"
        yield Finding(rule, field, E, f"{what} is not allowed for a {kind.label.lower()} mailbox: choose {names}.")


def _m15_act_exchange(d: MailboxDraft, ctx: MailboxContext) -> Iterator[Finding]:
    if d.act == ActMethod.SERVER_SIDE_SYNC and ctx.profile is not None and ctx.profile.server_type not in EXCHANGE_TYPES:
        yield Finding("M15", "act", E,
                      f"Appointments, contacts and tasks sync needs an Exchange profile; "
                      f"{ctx.profile.name!r} is {ServerType.label_of(ctx.profile.server_type)}.")


def _m16_forward_exists(d: MailboxDraft, ctx: MailboxContext) -> Iterator[Finding]:
    if d.incoming == IncomingMethod.FORWARD_MAILBOX and not ctx.active_forward_mailbox_exists:
        yield Finding("M16", "incoming", W,
                      "There is no active forward mailbox: incoming email will not be processed.")


def _a2_approval(d: MailboxDraft, ctx: MailboxContext) -> Iterator[Finding]:
    if (ctx.stage == Stage.TEST and ctx.approval_required and not d.is_forward
            and d.approval != ApprovalStatus.APPROVED):
        yield Finding("A2", "approval", E,
                      f"Email cannot be processed for mailbox {d.name} because its email address is not approved.")


MAILBOX_RULES: tuple[Rule, ...] = (
    _m1_name, _m2_owner, _m3_email, _m5_same_email, _m6_delete_after, _m7_regarding,
    _m8_forward_fixed, _m9_credentials, _m10_profile_credentials, _m11_profile_required,
    _m12_incoming, _m13_outgoing, _m14_act, _m15_act_exchange, _m16_forward_exists, _m20_no_line_breaks,
    _a1_approval_code, _a2_approval, _r1_state,
)


def check_mailbox(draft: MailboxDraft, ctx: MailboxContext | None = None) -> list[Finding]:
    ctx = ctx or MailboxContext()
    return [f for rule in MAILBOX_RULES for f in rule(draft, ctx)]


# ---------------------------------------------------------------- profile rules


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
    return d


def _p1_name(d: ProfileDraft, ctx: ProfileContext) -> Iterator[Finding]:
    yield from _name_rule("P1", "name", d.name, PROFILE_NAME_MAX, "Name")
    if d.name.strip() and ctx.name_taken:
        yield Finding("P1", "name", E, f"Another server profile is already named {d.name.strip()!r}.")


def _p2_type(d: ProfileDraft, ctx: ProfileContext) -> Iterator[Finding]:
    if d.server_type is None:
        yield Finding("P2", "server_type", E, "Server Type is required.")
    elif d.server_type not in set(ServerType):
        yield Finding("P2", "server_type", E, f"Server Type {d.server_type} is not a known type.")


def _p3_locations(d: ProfileDraft, ctx: ProfileContext) -> Iterator[Finding]:
    if d.auto_discover and d.server_type in EXCHANGE_TYPES:
        return
    exchange = d.server_type in EXCHANGE_TYPES
    for field, label in (("incoming_location", "Incoming Server Location"),
                         ("outgoing_location", "Outgoing Server Location")):
        value = getattr(d, field).strip()
        if not value:
            yield Finding("P3", field, E, f"{label} is required unless Auto Discover is Yes."
                          if exchange else f"{label} is required.")
            continue
        if len(value) > LOCATION_MAX:
            yield Finding("P3", field, E, f"{label} is at most {LOCATION_MAX} characters (now {len(value)}).")
            continue
        problem = https_url_problem(value) if exchange else host_problem(value)
        if problem:
            yield Finding("P3", field, E, problem)


def _p4_ports(d: ProfileDraft, ctx: ProfileContext) -> Iterator[Finding]:
    if d.auto_discover and d.server_type in EXCHANGE_TYPES:
        return
    for field, label in (("incoming_port", "Incoming Port"), ("outgoing_port", "Outgoing Port")):
        port = getattr(d, field)
        if port is not None and not 1 <= port <= 65535:
            yield Finding("P4", field, E, f"{label} must be between 1 and 65535.")


def _p5_auth(d: ProfileDraft, ctx: ProfileContext) -> Iterator[Finding]:
    allowed = ALLOWED_AUTH.get(d.server_type)
    if allowed is None:
        return
    checks = [("auth_method", d.auth_method)]
    if not d.use_same_settings_for_outgoing:
        checks.append(("outgoing_auth_method", d.outgoing_auth_method))
    for field, code in checks:
        if code not in allowed:
            names = ", ".join(AuthMethod.label_of(c) for c in sorted(allowed))
            yield Finding("P5", field, E,
                          f"{AuthMethod.label_of(code)} does not suit {ServerType.label_of(d.server_type)}: "
                          f"choose {names}.")


def _p6_profile_credentials(d: ProfileDraft, ctx: ProfileContext) -> Iterator[Finding]:
    pairs = [("", d.auth_method, d.username, d.password)]
    if not d.use_same_settings_for_outgoing:
        pairs.append(("outgoing_", d.outgoing_auth_method, d.outgoing_username, d.outgoing_password))
    for prefix, method, username, password in pairs:
        if len(username) > USERNAME_MAX:
            yield Finding("P6", f"{prefix}username", E, f"User Name is at most {USERNAME_MAX} characters.")
        if password.new and len(password.new) > PASSWORD_MAX:
            yield Finding("P6", f"{prefix}password", E, f"Password is at most {PASSWORD_MAX} characters.")
        if method != AuthMethod.PROFILE_CREDENTIALS:
            continue
        if not username.strip():
            yield Finding("P6", f"{prefix}username", E,
                          "User Name is required when the profile authenticates with its own credentials.")
        if not password.present:
            yield Finding("P6", f"{prefix}password", E,
                          "Password is required when the profile authenticates with its own credentials.")


def _p7_same_settings(d: ProfileDraft, ctx: ProfileContext) -> Iterator[Finding]:
    if d.use_same_settings_for_outgoing and (d.outgoing_username.strip() or d.outgoing_password.new):
        yield Finding("P7", "outgoing_username", W,
                      "Use Same Settings for Outgoing is Yes: the separate outgoing credentials will be cleared.")


def _p8_auto_discover(d: ProfileDraft, ctx: ProfileContext) -> Iterator[Finding]:
    if d.auto_discover and d.server_type not in EXCHANGE_TYPES:
        yield Finding("P8", "auto_discover", E, "Auto Discover exists only for Exchange server types.")


def _p9_limits(d: ProfileDraft, ctx: ProfileContext) -> Iterator[Finding]:
    if d.max_concurrent_connections is None or not 1 <= d.max_concurrent_connections <= 300:
        yield Finding("P9", "max_concurrent_connections", E, "Maximum Concurrent Connections must be 1 to 300.")
    if d.min_polling_minutes is None or not 0 <= d.min_polling_minutes <= 1440:
        yield Finding("P9", "min_polling_minutes", E, "Minimum Polling Interval must be 0 to 1440 minutes.")
    if not 1 <= d.timeout_seconds <= 600:
        yield Finding("P9", "timeout_seconds", E, "Connection timeout must be 1 to 600 seconds.")


def _p10_plaintext(d: ProfileDraft, ctx: ProfileContext) -> Iterator[Finding]:
    if d.auto_discover or d.server_type in EXCHANGE_TYPES:
        return
    outgoing_auth = d.auth_method if d.use_same_settings_for_outgoing else d.outgoing_auth_method
    for field, tls, auth, label in (("incoming_tls", d.incoming_tls, d.auth_method, "incoming"),
                                     ("outgoing_tls", d.outgoing_tls, outgoing_auth, "outgoing")):
        if tls == TlsMode.NONE and auth in PASSWORD_AUTH:
            yield Finding("P10", field, W, f"SSL is off for {label} connections: passwords travel in clear text.")


def _p13_pins(d: ProfileDraft, ctx: ProfileContext) -> Iterator[Finding]:
    for field, value, label in (("incoming_cert_sha256", d.incoming_cert_sha256, "incoming"),
                                ("outgoing_cert_sha256", d.outgoing_cert_sha256, "outgoing")):
        if value.strip() and not is_sha256_pin(value):
            yield Finding("P13", field, E,
                          f"The {label} certificate pin must be a SHA-256 fingerprint: exactly 64 hex digits "
                          "(colons and spaces allowed), or empty for normal verification.")


def _m20_profile_line_breaks(d: ProfileDraft, ctx: ProfileContext) -> Iterator[Finding]:
    yield from _line_break_rule("username", d.username, "password", d.password.new)
    yield from _line_break_rule("outgoing_username", d.outgoing_username, "outgoing_password",
                                d.outgoing_password.new)


def _r1_profile_state(d: ProfileDraft, ctx: ProfileContext) -> Iterator[Finding]:
    yield from check_state(d.state)


PROFILE_RULES: tuple[Rule, ...] = (
    _p1_name, _p2_type, _p3_locations, _p4_ports, _p5_auth, _p6_profile_credentials,
    _p7_same_settings, _p8_auto_discover, _p9_limits, _p10_plaintext, _p13_pins, _m20_profile_line_breaks,
    _r1_profile_state,
)


def check_profile(draft: ProfileDraft, ctx: ProfileContext | None = None) -> list[Finding]:
    ctx = ctx or ProfileContext()
    return [f for rule in PROFILE_RULES for f in rule(draft, ctx)]


# ---------------------------------------------------------------- users, queues, organisation


def check_user(d: UserDraft, ctx: UserContext | None = None) -> list[Finding]:
    ctx = ctx or UserContext()
    out = list(_name_rule("U1", "full_name", d.full_name, USER_NAME_MAX, "Full Name"))
    email = d.email.strip()
    if not email:
        out.append(Finding("U1", "email", E, "Primary Email is required."))
    else:
        problem = email_problem(email, "Primary Email")
        if problem:
            out.append(Finding("U1", "email", E, problem))
        elif ctx.email_taken:
            out.append(Finding("U1", "email", E, f"Another user already has the email {email}."))
    out += check_state(d.state)
    return out


def check_queue(d: QueueDraft, ctx: QueueContext | None = None) -> list[Finding]:
    ctx = ctx or QueueContext()
    out = list(_name_rule("Q1", "name", d.name, NAME_MAX, "Name"))
    if d.name.strip() and ctx.name_taken:
        out.append(Finding("Q1", "name", E, f"Another queue is already named {d.name.strip()!r}."))
    if d.owner_id is None:
        out.append(Finding("Q1", "owner_id", E, "Owner is required."))
    elif not ctx.owner_exists:
        out.append(Finding("Q1", "owner_id", E, "The owner must be a user of this organisation; no user has that email."))
    email = d.email.strip()
    if email:
        problem = email_problem(email, "Email")
        if problem:
            out.append(Finding("Q1", "email", E, problem))
    elif d.incoming == IncomingMethod.SERVER_SIDE_SYNC or d.outgoing == OutgoingMethod.SERVER_SIDE_SYNC:
        out.append(Finding("Q1", "email", E, "An email address is required once the queue uses server-side sync."))
    out += _option_rule("M12", "incoming", d.incoming, ALLOWED_INCOMING[MailboxKind.QUEUE], IncomingMethod, MailboxKind.QUEUE)
    out += _option_rule("M13", "outgoing", d.outgoing, ALLOWED_OUTGOING[MailboxKind.QUEUE], OutgoingMethod, MailboxKind.QUEUE)
    out += check_state(d.state)
    return out


def check_org_settings(d: OrgSettings, profile: object | None = True) -> list[Finding]:
    """Defaults must be values a user mailbox may hold (M12–M14); server-side sync needs a
    default profile, and it must exist (M11)."""
    out: list[Finding] = []
    out += _option_rule("M12", "default_incoming", d.default_incoming, ALLOWED_INCOMING[MailboxKind.USER], IncomingMethod, MailboxKind.USER)
    out += _option_rule("M13", "default_outgoing", d.default_outgoing, ALLOWED_OUTGOING[MailboxKind.USER], OutgoingMethod, MailboxKind.USER)
    out += _option_rule("M14", "default_act", d.default_act, ALLOWED_ACT[MailboxKind.USER], ActMethod, MailboxKind.USER)
    if d.default_profile_id is not None and profile is None:
        out.append(Finding("M11", "default_profile_id", E, "The default server profile no longer exists."))
    elif d.default_profile_id is None and (d.default_incoming == IncomingMethod.SERVER_SIDE_SYNC
                                           or d.default_outgoing == OutgoingMethod.SERVER_SIDE_SYNC
                                           or d.default_act == ActMethod.SERVER_SIDE_SYNC):
        out.append(Finding("M11", "default_profile_id", E,
                           "Choose a default server profile: new mailboxes would use server-side "
                           "synchronization without one."))
    return out
