"""The one rule engine: every rule by its stable ID (docs/RULES.md lists them all).

The same functions give a form its live messages, refuse a bad save, reject an import row
and answer `mailbox-tui check`. This module holds the mailbox rules and is the one place the
rest of the code imports rules from; the profile rules are in profile_rules.py, the user,
queue and organisation rules in user_queue_rules.py. Each rule function carries its
declaration (registry.py), from which docs/RULES.md is generated.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

from ..i18n import say, say_n
from .context import MailboxContext, Stage
from .findings import Finding
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
)
from .profile_rules import PROFILE_RULES, check_profile, default_port, normalise_profile
from .records import MailboxDraft
from .secret_destinations import mailbox_secret_move
from .registry import Record, Where, rule
from .rule_common import (
    ALLOWED_ACT,
    ALLOWED_AUTH,
    ALLOWED_INCOMING,
    ALLOWED_OUTGOING,
    EMAIL_MAX,
    EMAIL_TEXT,
    NAME_MAX,
    NAME_TEXT,
    PASSWORD_MAX,
    USERNAME_MAX,
    E,
    Rule,
    W,
    check_state,
    code_text,
    codes_text,
    credential_control_rule,
    email_problem,
    name_rule,
    option_rule,
    uses_server_side_sync,
)
from .user_queue_rules import ORG_RULES, QUEUE_RULES, USER_RULES, check_org_settings, check_queue, check_user

__all__ = [
    "ALLOWED_ACT", "ALLOWED_AUTH", "ALLOWED_INCOMING", "ALLOWED_OUTGOING", "EMAIL_MAX", "MAILBOX_RULES", "NAME_MAX",
    "ORG_RULES", "PROFILE_RULES", "QUEUE_RULES", "USER_RULES", "check_mailbox", "check_org_settings", "check_profile",
    "check_queue", "check_state", "check_user", "default_port", "email_problem", "normalise_profile",
    "uses_server_side_sync",
]

M = Record.MAILBOX
_SYNC = (f"Incoming = {IncomingMethod.SERVER_SIDE_SYNC}, Outgoing = {OutgoingMethod.SERVER_SIDE_SYNC} "
         f"or ACT = {ActMethod.SERVER_SIDE_SYNC}")


def _allowed_text(allowed: dict, options) -> str:
    return "; ".join(f"{kind.label.lower()} mailbox: {codes_text(options, codes)}"
                     for kind, codes in allowed.items())


# ---------------------------------------------------------------- mailbox rules


@rule("M1", "Mailbox name", f"A mailbox's name is {NAME_TEXT.format(limit=NAME_MAX)}. A forward mailbox is "
      "addressed by its name in import files, so a file cannot name two forward mailboxes alike.",
      record=M, fields=("name",))
def _m1_name(d: MailboxDraft, ctx: MailboxContext) -> Iterator[Finding]:
    yield from name_rule("M1", "name", d.name, NAME_MAX, "Name")


@rule("M2", "Owner", "Owner is required and must be a user of this organisation (an import names the owner "
      "by email). A user mailbox is owned by its user and a queue mailbox by the queue's owner: both follow "
      "their record and cannot be changed on the mailbox. A forward mailbox's owner is chosen by the admin.",
      record=M, fields=("owner_id",))
def _m2_owner(d: MailboxDraft, ctx: MailboxContext) -> Iterator[Finding]:
    if d.owner_id is None:
        yield Finding("M2", "owner_id", E, say("Owner is required."))
    elif not ctx.owner_exists:
        yield Finding("M2", "owner_id", E, say("The owner must be a user of this organisation; no user has that email."))
    elif d.kind == MailboxKind.USER and d.owner_id != d.regarding_id:
        yield Finding("M2", "owner_id", E, say("A user mailbox is owned by its user."))
    elif d.kind == MailboxKind.QUEUE and ctx.expected_owner_id is not None and d.owner_id != ctx.expected_owner_id:
        yield Finding("M2", "owner_id", E, say("A queue mailbox is owned by the queue's owner."))


@rule("M3", "Email address", f"The email address {EMAIL_TEXT}. It is required for a forward mailbox, and for "
      "any mailbox whose Incoming or Outgoing Email is Server-Side Synchronization.",
      record=M, fields=("email",))
def _m3_email(d: MailboxDraft, ctx: MailboxContext) -> Iterator[Finding]:
    email = d.email.strip()
    if not email:
        if d.is_forward:
            yield Finding("M3", "email", E, say("Email Address is required for a forward mailbox."))
        elif d.incoming == IncomingMethod.SERVER_SIDE_SYNC or d.outgoing == OutgoingMethod.SERVER_SIDE_SYNC:
            yield Finding("M3", "email", E, say("Email Address is required when email is synchronized server-side."))
        return
    problem = email_problem(email, "Email Address")
    if problem:
        yield Finding("M3", "email", E, problem)


@rule("M5", "One mailbox per address",
      "Another mailbox with the same address (compared case-insensitively) is a warning. At Test & Enable it "
      "is an error when this mailbox's Incoming Email is Server-Side Synchronization or Forward Mailbox and the "
      "other mailbox is already enabled for incoming email: only one mailbox per address receives email.",
      record=M, fields=("email",), severity=(W, E))
def _m5_same_email(d: MailboxDraft, ctx: MailboxContext) -> Iterator[Finding]:
    if not ctx.same_email:
        return
    if ctx.stage == Stage.TEST and d.incoming in (IncomingMethod.SERVER_SIDE_SYNC, IncomingMethod.FORWARD_MAILBOX):
        clash = [u.name for u in ctx.same_email if u.enabled_incoming]
        if clash:
            yield Finding(
                "M5", "email", E,
                say("Mailbox {name} already receives incoming email for this address; "
                    "only one mailbox per address can be enabled for incoming email.", name=repr(clash[0])),
            )
            return
    names = ", ".join(repr(u.name) for u in ctx.same_email[:3])
    if len(ctx.same_email) > 3:
        yield Finding("M5", "email", W, say_n("Another mailbox uses this address: {names} and {n} more.",
                                              "Another mailbox uses this address: {names} and {n} more.",
                                              len(ctx.same_email) - 3, names=names))
    else:
        yield Finding("M5", "email", W, say("Another mailbox uses this address: {names}.", names=names))


@rule("M6", "Delete Email Messages After Processing",
      "Delete Email Messages After Processing can be Yes only for forward and queue mailboxes.",
      record=M, fields=("delete_after_processing",))
def _m6_delete_after(d: MailboxDraft, ctx: MailboxContext) -> Iterator[Finding]:
    if d.delete_after_processing and d.kind == MailboxKind.USER:
        yield Finding("M6", "delete_after_processing", E,
                      say("Delete Email Messages After Processing can be Yes only for forward and queue mailboxes."))


@rule("M7", "Regarding", "A forward mailbox has no regarding record. A user or queue mailbox belongs to its "
      "user or queue, set by the system; an import names it with `\"regarding\": {\"user\": EMAIL}` or "
      "`{\"queue\": NAME}` (CSV: `user:EMAIL`, `queue:NAME`), and that record must exist in the database or "
      "the same file.",
      record=M, fields=("regarding_id",))
def _m7_regarding(d: MailboxDraft, ctx: MailboxContext) -> Iterator[Finding]:
    if d.is_forward and d.regarding_id is not None:
        yield Finding("M7", "regarding_id", E, say("A forward mailbox has no regarding record."))
    elif not d.is_forward and (d.regarding_id is None or not ctx.regarding_exists):
        yield Finding("M7", "regarding_id", E, say("A queue mailbox must belong to its queue.")
                      if d.kind == MailboxKind.QUEUE else say("A user mailbox must belong to its user."))


@rule("M8", "Is Forward Mailbox is fixed",
      "Is Forward Mailbox is fixed when the mailbox is created: a save that changes it is refused.",
      record=M, fields=("kind",), where=Where.FORM)
def _m8_forward_fixed(d: MailboxDraft, ctx: MailboxContext) -> Iterator[Finding]:
    if ctx.original is not None and ctx.original.kind != d.kind:
        yield Finding("M8", "kind", E, say("Is Forward Mailbox is fixed when the mailbox is created."))


@rule("M9", "Mailbox credentials",
      f"User Name is at most {USERNAME_MAX} characters and Password at most {PASSWORD_MAX}. Allow to Use "
      "Credentials = Yes requires a User Name and a Password when the profile authenticates with "
      f"{AuthMethod.label_of(0)} (0), or when the mailbox has no profile yet; a stored password counts, and "
      "leaving the password blank on an edit keeps it. With any other method the credentials are not used, "
      "so none is asked for (M10 warns). Passwords are stored encrypted and never shown or exported.",
      record=M, fields=("username", "password"))
def _m9_credentials(d: MailboxDraft, ctx: MailboxContext) -> Iterator[Finding]:
    if len(d.username) > USERNAME_MAX:
        yield Finding("M9", "username", E, say("{label} is at most {limit} characters.", label="User Name",
                                                limit=USERNAME_MAX))
    if d.password.new and len(d.password.new) > PASSWORD_MAX:
        yield Finding("M9", "password", E, say("{label} is at most {limit} characters.", label="Password",
                                                limit=PASSWORD_MAX))
    if not d.allow_credentials:
        return
    if ctx.profile is not None and ctx.profile.auth_method != AuthMethod.USER_OR_QUEUE_CREDENTIALS:
        return  # the profile's method does not use them: M10 says so, nothing is asked for
    if not d.username.strip():
        yield Finding("M9", "username", E, say("User Name is required when Allow to Use Credentials is Yes."))
    if not d.password.present:
        yield Finding("M9", "password", E, say("A password is required when Allow to Use Credentials is Yes."))


@rule("M10", "The profile decides whose credentials are used",
      f"If the mailbox's profile authenticates with {AuthMethod.label_of(0)} (0) and any method uses "
      f"server-side sync ({_SYNC}), Allow to Use Credentials must be Yes: an error for a forward mailbox "
      "and at Test & Enable; for a user's or queue's mailbox, which comes with its record and gets its "
      "credentials later, a warning on every other path alike (form, save, import and `check`), so a "
      "record one path accepts is accepted by all. If the profile authenticates otherwise, Allow to Use "
      "Credentials = Yes is a warning: the mailbox's credentials will not be used.",
      record=M, fields=("allow_credentials",), severity=(E, W))
def _m10_profile_credentials(d: MailboxDraft, ctx: MailboxContext) -> Iterator[Finding]:
    if ctx.profile is None:
        return
    if ctx.profile.auth_method == AuthMethod.USER_OR_QUEUE_CREDENTIALS:
        if uses_server_side_sync(d) and not d.allow_credentials:
            needs_settings = not d.is_forward and ctx.stage != Stage.TEST
            yield Finding("M10", "allow_credentials", W if needs_settings else E,
                          say("Profile {name} uses the mailbox's own credentials: "
                              "set Allow to Use Credentials to Yes and enter them.", name=repr(ctx.profile.name)))
    elif d.allow_credentials and ctx.profile.auth_method in (AuthMethod.OAUTH, AuthMethod.GMAIL_OAUTH):
        yield Finding("M10", "allow_credentials", W,  # P14: the user name names the address a token acts for
                      say("Profile {name} authenticates with {option}: the password will not be used; the token "
                          "acts for the user name (or, when it is blank, the email address).",
                          name=repr(ctx.profile.name), option=AuthMethod.label_of(ctx.profile.auth_method)))
    elif d.allow_credentials:
        yield Finding("M10", "allow_credentials", W,
                      say("Profile {name} authenticates with {option}: these credentials will not be used.",
                          name=repr(ctx.profile.name), option=AuthMethod.label_of(ctx.profile.auth_method)))


@rule("M11", "Server profile required",
      f"A server profile is required when {_SYNC}, and always for a forward mailbox; the chosen profile must "
      "exist (an import names it by name, from the database or the same file). In the organisation settings, "
      "a default method that uses server-side sync needs a default profile, and it must exist.",
      record=M, fields=("profile_id",))
def _m11_profile_required(d: MailboxDraft, ctx: MailboxContext) -> Iterator[Finding]:
    if d.profile_id is None:
        if d.is_forward:
            yield Finding("M11", "profile_id", E, say("A forward mailbox needs a server profile."))
        elif uses_server_side_sync(d):
            yield Finding("M11", "profile_id", E, say("A server profile is required for server-side synchronization."))
    elif ctx.profile is None:
        yield Finding("M11", "profile_id", E, say("The chosen server profile no longer exists."))


@rule("M12", "Allowed Incoming Email", f"Allowed Incoming Email codes by kind of mailbox: "
      f"{_allowed_text(ALLOWED_INCOMING, IncomingMethod)}. A queue's own method and the organisation's default "
      "(a user mailbox's codes) are held to the same sets.",
      record=M, fields=("incoming",))
def _m12_incoming(d: MailboxDraft, ctx: MailboxContext) -> Iterator[Finding]:
    yield from option_rule("M12", "incoming", d.incoming, ALLOWED_INCOMING[d.kind], IncomingMethod, d.kind)


@rule("M13", "Allowed Outgoing Email", f"Allowed Outgoing Email codes by kind of mailbox: "
      f"{_allowed_text(ALLOWED_OUTGOING, OutgoingMethod)}. A forward mailbox sends no email.",
      record=M, fields=("outgoing",))
def _m13_outgoing(d: MailboxDraft, ctx: MailboxContext) -> Iterator[Finding]:
    yield from option_rule("M13", "outgoing", d.outgoing, ALLOWED_OUTGOING[d.kind], OutgoingMethod, d.kind)


@rule("M14", "Appointments, Contacts, and Tasks is personal", "Allowed Appointments, Contacts, and Tasks (ACT) "
      f"codes by kind of mailbox: {_allowed_text(ALLOWED_ACT, ActMethod)}. Note that None is 2 here.",
      record=M, fields=("act",))
def _m14_act(d: MailboxDraft, ctx: MailboxContext) -> Iterator[Finding]:
    yield from option_rule("M14", "act", d.act, ALLOWED_ACT[d.kind], ActMethod, d.kind)


@rule("M15", "ACT needs an Exchange profile",
      f"ACT = Server-Side Synchronization ({ActMethod.SERVER_SIDE_SYNC}) needs an Exchange profile (server type "
      f"{codes_text(ServerType, EXCHANGE_TYPES)}); POP3/SMTP and IMAP/SMTP profiles cannot sync appointments, "
      "contacts and tasks, and Test & Enable records that direction as a Failure.",
      record=M, fields=("act",))
def _m15_act_exchange(d: MailboxDraft, ctx: MailboxContext) -> Iterator[Finding]:
    if d.act == ActMethod.SERVER_SIDE_SYNC and ctx.profile is not None and ctx.profile.server_type not in EXCHANGE_TYPES:
        yield Finding("M15", "act", E,
                      say("Appointments, contacts and tasks sync needs an Exchange profile; {name} is {option}.",
                          name=repr(ctx.profile.name), option=ServerType.label_of(ctx.profile.server_type)))


@rule("M16", "A forward mailbox must exist",
      f"Incoming Email = Forward Mailbox ({IncomingMethod.FORWARD_MAILBOX}) while the organisation has no active "
      "forward mailbox is a warning: mail will not be processed. At Test & Enable the incoming test of such a "
      "mailbox is a Failure naming M16, and it succeeds only once an active forward mailbox has passed its own "
      "incoming test.",
      record=M, fields=("incoming",), severity=(W,))
def _m16_forward_exists(d: MailboxDraft, ctx: MailboxContext) -> Iterator[Finding]:
    if d.incoming == IncomingMethod.FORWARD_MAILBOX and not ctx.active_forward_mailbox_exists:
        yield Finding("M16", "incoming", W,
                      say("There is no active forward mailbox: incoming email will not be processed."))


PROCESS_AFTER_OLD_DAYS = 30
PROCESS_AFTER_FORMAT = say("Process Email From must be a date and time in UTC, YYYY-MM-DD HH:MM, or blank.")


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


@rule("M19", "Process Email From",
      "Process Email From (`processemailreceivedafter`, a date and time in UTC, optional): mail received before it "
      "is not processed; empty means no limit. In the future is an error; more than "
      f"{PROCESS_AFTER_OLD_DAYS} days in the past is a warning (old mail floods in and duplicates follow). An "
      "import takes ISO 8601 (`2026-01-31T08:00:00Z`) or `2026-01-31 08:00`; anything else is a FORMAT error.",
      record=M, fields=("process_after",), severity=(E, W))
def _m19_process_after(d: MailboxDraft, ctx: MailboxContext) -> Iterator[Finding]:
    when = d.process_after
    if when is None:
        return
    if not isinstance(when, datetime):
        yield Finding("M19", "process_after", E, PROCESS_AFTER_FORMAT)
        return
    now = ctx.now or utcnow()
    if when > now:
        yield Finding("M19", "process_after", E,
                      say("Process Email From is in the future ({when} UTC): no mail would be processed until then.",
                          when=when.strftime("%Y-%m-%d %H:%M")))
    elif when < now - timedelta(days=PROCESS_AFTER_OLD_DAYS):
        yield Finding("M19", "process_after", W,
                      say_n("Process Email From is more than {n} day ago: old mail floods in and duplicates follow.",
                            "Process Email From is more than {n} days ago: old mail floods in and duplicates follow.",
                            PROCESS_AFTER_OLD_DAYS))


@rule("M20", "No control characters in credentials",
      "User names and passwords (mailbox and profile alike) contain no control character (C0 such as CR, LF, NUL, "
      "tab, ^A and ESC; DEL; C1): CR, LF or NUL would reach the mail server as extra protocol commands, ^A as extra "
      "SASL fields, ESC as terminal commands wherever the value is shown. An error on every write path; `check` "
      "reports stored values that hold one (stored passwords too), and Test & Enable never sends them.",
      record=M, fields=("username", "password"))
def _m20_no_control_characters(d: MailboxDraft, ctx: MailboxContext) -> Iterator[Finding]:
    yield from credential_control_rule("username", d.username, "password", d.password.new)


@rule("P15", record=M, fields=("password",), severity=(W,), where=Where.FORM | Where.IMPORT,
      note="a mailbox's new server profile: its password would go to the new profile's servers")
def _p15_mailbox_password_follows(d: MailboxDraft, ctx: MailboxContext) -> Iterator[Finding]:
    after = ctx.profile.destinations if ctx.profile is not None else frozenset()
    move = mailbox_secret_move(d, ctx.stored_profile_destinations, after)
    if move is not None:
        yield Finding("P15", "password", W, move.message)


_APPROVALS = frozenset(ApprovalStatus)


@rule("A1", "Email address approval",
      "Approve Email and Reject Email set a user's or queue's (and its mailbox's) approval to Approved or "
      "Rejected; a forward mailbox has no approval to give. An approval code, stored or imported, is one of "
      f"{codes_text(ApprovalStatus, ApprovalStatus)}.",
      record=M, fields=("approval",))
def _a1_approval_code(d: MailboxDraft, ctx: MailboxContext) -> Iterator[Finding]:
    if d.approval not in _APPROVALS:
        yield Finding("A1", "approval", E, say("Email Address Approval code {code} is not one of "
                                               "0 Empty, 1 Approved, 2 Pending Approval, 3 Rejected.",
                                               code=code_text(d.approval)))


@rule("A2", "Only approved addresses are processed",
      "While the organisation requires approval for users (or for queues; both on by default), Test & Enable on "
      "a user's (queue's) mailbox whose address is not Approved records a Failure, with an alert that says so.",
      record=M, fields=("approval",), where=Where.TEST)
def _a2_approval(d: MailboxDraft, ctx: MailboxContext) -> Iterator[Finding]:
    if (ctx.stage == Stage.TEST and ctx.approval_required and not d.is_forward
            and d.approval != ApprovalStatus.APPROVED):
        yield Finding("A2", "approval", E,
                      say("Email cannot be processed for mailbox {name} because its email address is not approved.",
                          name=d.name))


@rule("R1", "Status", f"Status (statecode) is {codes_text(RecordState, RecordState)}, on every record; "
      "Activate and Deactivate are held to it too.",
      record=M, fields=("state",))
def _r1_state(d: MailboxDraft, ctx: MailboxContext) -> Iterator[Finding]:
    yield from check_state(d.state)


MAILBOX_RULES: tuple[Rule, ...] = (
    _m1_name, _m2_owner, _m3_email, _m5_same_email, _m6_delete_after, _m7_regarding,
    _m8_forward_fixed, _m9_credentials, _m10_profile_credentials, _m11_profile_required,
    _m12_incoming, _m13_outgoing, _m14_act, _m15_act_exchange, _m16_forward_exists, _m19_process_after,
    _m20_no_control_characters, _p15_mailbox_password_follows, _a1_approval_code, _a2_approval, _r1_state,
)


def check_mailbox(draft: MailboxDraft, ctx: MailboxContext | None = None) -> list[Finding]:
    ctx = ctx or MailboxContext()
    return [f for rule in MAILBOX_RULES for f in rule(draft, ctx)]
