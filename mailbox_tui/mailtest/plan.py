"""What Test & Enable tests for one mailbox, and what its results mean (the rules: docs/RULES.md).

The rules run first, at the TEST stage: an error that blocks a direction (A2 not approved,
M15 ACT on a non-Exchange profile, M5 another mailbox already receiving the address, missing
profile or credentials...) makes that direction a Failure with the rule's own message, and
nothing connects for it. What is left becomes probes: POP3 or IMAP by server type for
incoming, SMTP for outgoing, with the credentials "Authenticate Using" names; an Exchange profile's
directions go to exchange_plan (Microsoft Graph for Exchange Online, EWS for Exchange Server).

Planning reads the database; it runs in the thread that owns the store's connection.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ..domain.context import Stage
from ..domain.failures import Cause, classify
from ..domain.findings import Finding, errors
from ..domain.options import (
    EXCHANGE_TYPES,
    ActMethod,
    AuthMethod,
    IncomingMethod,
    MailboxKind,
    OutgoingMethod,
    RecordState,
    ServerType,
    TestStatus,
    TlsMode,
)
from ..domain.oauth import MAIL_OAUTH_METHODS
from ..domain.rules import check_mailbox, default_port
from ..i18n import N_, say
from ..store import services
from ..store.crypto import SecretUnreadable
from ..store.models import EmailServerProfile, Mailbox, utcnow
from ..store.services import AlertDraft
from .oauth import TokenCache, TokenRequest, token_request
from .probes import IMAP, POP3, SMTP, Credentials, Endpoint, ProbeResult
from .alerts import alert, note, rule_step
from .redact import Redactor

from .directions import (  # noqa: F401 (the directions' names are read from here too)
    ACT,
    CONFIGURATION,
    DIRECTION_LABELS,
    DIRECTIONS,
    INCOMING,
    OUTGOING,
    STATUS_FIELDS,
    UNREADABLE_MESSAGE,
    DirectionTest,
    token_user,
)


@dataclass
class DirectionResult:
    """How one direction of one mailbox's test ended."""

    direction: str
    status: int
    step: str
    message: str
    rule: str = ""
    probe: ProbeResult | None = None
    cause: Cause | None = None  # why it failed, transient or permanent (domain/failures.py); None: no failure

    @property
    def transient(self) -> bool:
        return self.cause is not None and self.cause.transient

    def as_dict(self) -> dict:
        return {"direction": self.direction, "status": TestStatus.label_of(self.status), "step": self.step,
                "message": self.message, "rule": self.rule or None,
                "failure": self.cause.as_dict() if self.cause else None,
                "probe": self.probe.as_dict() if self.probe else None}


@dataclass
class MailboxOutcome:
    """What Test & Enable found for one mailbox: what record_test_results writes."""

    mailbox_id: int
    name: str
    email: str
    checks: dict[str, DirectionResult]
    alerts: list[AlertDraft]
    completed_on: datetime
    version: int | None = None  # the mailbox's version that was tested: results are written only for it
    profile_version: tuple[int, int] | None = None  # (profile id, version) read for the test

    @property
    def statuses(self) -> dict[str, int]:
        return {STATUS_FIELDS[d]: int(c.status) for d, c in self.checks.items()}

    @property
    def causes(self) -> dict[str, Cause | None]:
        """Why each direction failed (domain/failures.py), by status field: what the lifecycle acts on."""
        return {STATUS_FIELDS[d]: c.cause for d, c in self.checks.items()}

    @property
    def messages(self) -> dict[str, str]:
        return {STATUS_FIELDS[d]: c.message for d, c in self.checks.items()}

    @property
    def failed(self) -> bool:
        return any(c.status == TestStatus.FAILURE for c in self.checks.values())

    @property
    def tested(self) -> bool:
        return any(c.status != TestStatus.NOT_RUN for c in self.checks.values())

    def as_dict(self) -> dict:
        return {
            "id": self.mailbox_id, "name": self.name, "email": self.email,
            "result": "Failure" if self.failed else "Success" if self.tested else "Not Run",
            **{STATUS_FIELDS[d]: TestStatus.label_of(c.status) for d, c in self.checks.items()},
            "test_completed_on": self.completed_on.isoformat(),
            "checks": [c.as_dict() for c in self.checks.values()],
            "alerts": [{"level": a.level, "step": a.step, "message": a.message} for a in self.alerts],
        }


@dataclass
class MailboxTestPlan:
    """What Test & Enable will do for one mailbox: each direction decided already or a probe to run."""

    mailbox_id: int
    name: str
    email: str
    checks: dict[str, DirectionTest]
    blocking: list[Finding] = field(default_factory=list)  # rule errors that stopped a direction
    connection_limit: int = 10  # the profile's Maximum Concurrent Connections
    secrets: tuple[str, ...] = field(default=(), repr=False)
    version: int | None = None  # of the mailbox, as planned
    profile_version: tuple[int, int] | None = None  # (id, version) of the profile, as planned

    @property
    def probes(self) -> list[DirectionTest]:
        return [c for c in self.checks.values() if c.needs_probe]

    def conclude(self, results: dict[str, ProbeResult], completed_on: datetime | None = None) -> MailboxOutcome:
        """The statuses and alerts, from the decided checks and the probes' results."""
        redact = Redactor(self.secrets)
        outcomes: dict[str, DirectionResult] = {}
        alerts: list[AlertDraft] = []
        for finding in self.blocking:
            alerts.append(AlertDraft("error", rule_step(finding.rule), redact(finding.message)))
        for direction, check in self.checks.items():
            if not check.needs_probe:
                cause = classify(check.step, "", check.message, rule=check.rule) \
                    if check.status == TestStatus.FAILURE else None
                outcomes[direction] = DirectionResult(direction, int(check.status), check.step,
                                                   redact(check.message), check.rule, cause=cause)
                if check.status == TestStatus.FAILURE and not check.rule:
                    alerts.append(AlertDraft("error", check.step, redact(alert(
                        "plain", direction, cause, why=check.message))))
                continue
            result = results[direction]
            status = TestStatus.SUCCESS if result.ok else TestStatus.NOT_RUN if result.deferred else TestStatus.FAILURE
            message = (say("{why} Note: {then}", why=result.message, then=check.note) if check.note and result.ok
                       else result.message)
            cause = None if result.ok else classify(result.step, result.server_answer, result.message,
                                                    deferred=result.deferred)
            outcomes[direction] = DirectionResult(direction, int(status), result.step, redact(message), probe=result,
                                                  cause=cause)
            if result.deferred:  # throttled: said as a warning, the status left Not Run
                alerts.append(AlertDraft("warning", result.step, redact(alert(
                    "deferred", direction, cause, where=check.endpoint.label,
                    why=result.message))))
            elif not result.ok:
                kind = "answered" if result.server_answer else "failed"
                alerts.append(AlertDraft("error", result.step, redact(alert(
                    kind, direction, cause, where=check.endpoint.label, step=result.step,
                    why=result.message, answer=result.server_answer))))
            elif check.warning:
                alerts.append(AlertDraft("warning", result.step, redact(note(direction, check.note))))
        return MailboxOutcome(self.mailbox_id, self.name, self.email, outcomes, _unique(alerts),
                              completed_on or utcnow(), self.version, self.profile_version)


def _unique(alerts: list[AlertDraft]) -> list[AlertDraft]:
    seen, out = set(), []
    for a in alerts:
        key = (a.level, a.step, a.message)
        if key not in seen:
            seen.add(key)
            out.append(a)
    return out


# ---------------------------------------------------------------- planning


def _wanted(d) -> dict[str, bool]:
    return {
        INCOMING: d.incoming in (IncomingMethod.SERVER_SIDE_SYNC, IncomingMethod.FORWARD_MAILBOX),
        OUTGOING: d.outgoing == OutgoingMethod.SERVER_SIDE_SYNC,
        ACT: d.act == ActMethod.SERVER_SIDE_SYNC,
    }


def _blocks(finding: Finding) -> tuple[str, ...]:
    """The directions a rule error stops."""
    if finding.rule == "M5" or finding.field == "incoming":
        return (INCOMING,)
    if finding.field == "outgoing":
        return (OUTGOING,)
    if finding.field == "act":
        return (ACT,)
    return DIRECTIONS  # A2, missing profile or credentials, a broken record: nothing can be enabled


def _not_run_message(direction: str, code: int) -> str:
    label = {INCOMING: IncomingMethod, OUTGOING: OutgoingMethod, ACT: ActMethod}[direction].label_of(code)
    return say("{what} is {option}: nothing to test server-side.", what=DIRECTION_LABELS[direction], option=label)


def profile_endpoint(profile, direction: str) -> Endpoint | None:
    """Where a POP3/IMAP/SMTP profile connects for `direction` (incoming or outgoing); None without a host.

    Takes a stored profile row or a ProfileDraft (the same field names), so a form can fetch the
    server's certificate (probes.fetch_certificate) before the profile is saved, to offer a pin."""
    incoming = direction == INCOMING
    host = (profile.incoming_location if incoming else profile.outgoing_location).strip()
    if not host:
        return None
    tls = profile.incoming_tls if incoming else profile.outgoing_tls
    port = (profile.incoming_port if incoming else profile.outgoing_port) or default_port(
        profile.server_type, direction, tls)
    protocol = (POP3 if profile.server_type == ServerType.POP3_SMTP else IMAP) if incoming else SMTP
    return Endpoint(protocol, host, int(port), TlsMode(tls) if tls in set(TlsMode) else tls,
                    float(profile.timeout_seconds or 30),
                    profile.incoming_cert_sha256 if incoming else profile.outgoing_cert_sha256)


class Planner:
    """Plans mailboxes one by one for a run; profiles and their secrets are read once per run."""

    def __init__(self, store, tokens: TokenCache | None = None, send_test_message: bool = False, clock=utcnow):
        self.store = store
        self.clock = clock  # naive UTC now: the day decides whether EWS in Exchange Online still answers (P16)
        self.tokens = tokens if tokens is not None else TokenCache()  # one per run (P14)
        self.send_test_message = send_test_message  # Exchange: send one test message to the mailbox itself
        self._profiles: dict[int, EmailServerProfile | None] = {}
        self._oauth: dict[int, dict[str, str]] = {}  # a profile's clear OAuth secrets, read once per run

    def profile(self, profile_id: int | None) -> EmailServerProfile | None:
        if profile_id is None:
            return None
        if profile_id not in self._profiles:
            self._profiles[profile_id] = EmailServerProfile.get_or_none(EmailServerProfile.id == profile_id)
        return self._profiles[profile_id]

    def plan(self, mailbox_id: int) -> MailboxTestPlan:
        """Raises services.NotFound when the mailbox no longer exists."""
        d = services.get_mailbox(self.store, mailbox_id)
        findings = errors(check_mailbox(d, services.mailbox_context(self.store, d, Stage.TEST)))
        wanted = _wanted(d)
        codes = {INCOMING: d.incoming, OUTGOING: d.outgoing, ACT: d.act}
        checks = {direction: DirectionTest(direction, TestStatus.NOT_RUN, "",
                                           _not_run_message(direction, codes[direction]))
                  for direction in DIRECTIONS if not wanted[direction]}
        blocking: list[Finding] = []
        for finding in findings:
            hit = [direction for direction in _blocks(finding) if wanted[direction]]
            if hit:
                blocking.append(finding)
            for direction in hit:
                checks.setdefault(direction, DirectionTest(direction, TestStatus.FAILURE, rule_step(finding.rule),
                                                           finding.message, finding.rule))
        profile = self.profile(d.profile_id)
        secrets: list[str] = []
        for direction in DIRECTIONS:
            if direction in checks:
                continue
            if direction == INCOMING and d.incoming == IncomingMethod.FORWARD_MAILBOX:
                checks[direction] = self._forward_mailbox_test()
            else:
                checks[direction] = self._server_test(d, profile, direction, secrets)
        ordered = {direction: checks[direction] for direction in DIRECTIONS}
        limit = profile.max_concurrent_connections if profile is not None else 10
        return MailboxTestPlan(d.id, d.name, d.email, ordered, blocking, max(1, limit or 1), tuple(secrets), d.version,
                           (profile.id, profile.version) if profile is not None else None)

    # ---------------------------------------------------------------- one direction

    def _forward_mailbox_test(self) -> DirectionTest:
        forwards = list(Mailbox.select(Mailbox.name, Mailbox.incoming_status)
                        .where(Mailbox.kind == MailboxKind.FORWARD, Mailbox.state == RecordState.ACTIVE)
                        .order_by(Mailbox.name_key).limit(20))
        if not forwards:
            return DirectionTest(INCOMING, TestStatus.FAILURE, CONFIGURATION, say(
                "Incoming Email is Forward Mailbox, but there is no active forward mailbox: mail forwarded for this "
                "mailbox would not be processed. Create one (New Forward Mailbox) or choose another Incoming Email "
                "method."), "M16")
        working = [f for f in forwards if f.incoming_status == TestStatus.SUCCESS]
        if working:
            return DirectionTest(INCOMING, TestStatus.SUCCESS, CONFIGURATION, say(
                "Forward mailbox {name} is active and passed its incoming test: mail forwarded to it is processed for "
                "this mailbox.", name=repr(working[0].name)))
        names = ", ".join(repr(f.name) for f in forwards[:3])
        states = {TestStatus.label_of(f.incoming_status) for f in forwards}
        return DirectionTest(INCOMING, TestStatus.FAILURE, CONFIGURATION, say(
            "Incoming Email is Forward Mailbox, but no active forward mailbox has passed its incoming test ({names}: "
            "{status}). Test & Enable the forward mailbox first.", names=names, status=" / ".join(sorted(states))))

    def _server_test(self, d, profile: EmailServerProfile | None, direction: str, secrets: list[str]) -> DirectionTest:
        def fail(message: str, step: str = CONFIGURATION) -> DirectionTest:
            return DirectionTest(direction, TestStatus.FAILURE, step, message)

        if profile is None:  # M11 stops this first; kept for a profile deleted meanwhile
            return fail(say("The mailbox has no server profile."))
        server_type = profile.server_type
        if server_type in EXCHANGE_TYPES:  # Graph for Exchange Online; EWS (not yet) for Exchange Server
            from .exchange_plan import exchange_test

            try:
                return exchange_test(self, d, profile, direction, secrets, self.send_test_message)
            except SecretUnreadable:
                return fail(UNREADABLE_MESSAGE, "authentication")
        if direction == ACT:  # M15 stops this first
            return fail(say("Appointments, contacts and tasks need an Exchange profile (rule M15); {name} is "
                            "{option}.", name=repr(profile.name), option=ServerType.label_of(server_type)))
        if server_type not in (ServerType.POP3_SMTP, ServerType.IMAP_SMTP):
            return fail(say("Server profile {name} has an unknown server type ({value}).", name=repr(profile.name),
                            value=server_type))
        incoming = direction == INCOMING
        endpoint = profile_endpoint(profile, direction)
        if endpoint is None:
            return fail(say("Server profile {name} has no {kind} server location (rule P3).", name=repr(profile.name),
                            kind=direction))
        check = DirectionTest(direction, None, endpoint=endpoint)
        same = profile.use_same_settings_for_outgoing
        method = profile.auth_method if incoming or same else profile.outgoing_auth_method
        try:
            if method == AuthMethod.USER_OR_QUEUE_CREDENTIALS:
                if not d.allow_credentials:  # M10 stops this first
                    return fail(say("Allow to Use Credentials is No, but the profile uses the mailbox's credentials."))
                password = services.mailbox_password(self.store, d.id)
                if not d.username.strip() or not password:  # M9 stops this first
                    return fail(say("The mailbox's user name or password is missing."))
                check.credentials = Credentials(d.username.strip(), password)
            elif method == AuthMethod.PROFILE_CREDENTIALS:
                username, password = services.profile_credentials(self.store, profile, outgoing=not incoming)
                if not username or not password:
                    return fail(say("Server profile {name} authenticates with its own credentials but has no user "
                                    "name or password (rule P6).", name=repr(profile.name)))
                check.credentials = Credentials(username, password)
            elif method in MAIL_OAUTH_METHODS:  # 2 and 6 exist only on Exchange (P5)
                request = self._token_request(profile, method, d)
                if isinstance(request, str):
                    return fail(request)
                secrets.extend(request.secrets)
                check.credentials = Credentials(request.subject or token_user(d), "", oauth=(request, self.tokens))
            elif method == AuthMethod.ANONYMOUS:
                check.note = say("The profile signs in without credentials: connection, TLS and greeting tested.")
            else:
                check.note = say("{method} is not supported by this tool yet: only the connection, TLS and greeting "
                                 "were tested, not the sign-in.", method=AuthMethod.label_of(method))
                check.warning = True
        except SecretUnreadable:
            return fail(UNREADABLE_MESSAGE, "authentication")
        if check.credentials is not None and check.credentials.password:
            secrets.append(check.credentials.password)
        return check

    def _token_request(self, profile: EmailServerProfile, method: int, d) -> TokenRequest | str:
        """What the token step asks for (P14), or why the profile cannot get a token. Raises SecretUnreadable."""
        if profile.id not in self._oauth:
            self._oauth[profile.id] = services.profile_oauth_secrets(self.store, profile)
        return token_request(profile, method, token_user(d), self._oauth[profile.id])


def plan_mailbox(store, mailbox_id: int, send_test_message: bool = False, clock=utcnow) -> MailboxTestPlan:
    return Planner(store, send_test_message=send_test_message, clock=clock).plan(mailbox_id)


def evaluate(store, mailbox_id: int, send_test_message: bool = False, clock=utcnow) -> MailboxOutcome:
    """Plan, probe and conclude one mailbox in this thread. Writes nothing: the runner writes."""
    from .probes import probe

    plan = plan_mailbox(store, mailbox_id, send_test_message, clock)
    return plan.conclude({c.direction: probe(c.endpoint, c.credentials) for c in plan.probes})
