"""Rules for users (U1), queues (Q1) and the organisation's default email settings."""

from __future__ import annotations

from collections.abc import Iterator

from ..i18n import say
from .context import QueueContext, UserContext
from .findings import Finding
from .options import ActMethod, IncomingMethod, MailboxKind, OutgoingMethod
from .records import OrgSettings, QueueDraft, UserDraft
from .registry import Record, rule
from .rule_common import (
    ALLOWED_ACT,
    ALLOWED_INCOMING,
    ALLOWED_OUTGOING,
    EMAIL_TEXT,
    NAME_MAX,
    NAME_TEXT,
    USER_NAME_MAX,
    E,
    Rule,
    check_state,
    email_problem,
    name_rule,
    option_rule,
)

# ---------------------------------------------------------------- users


@rule("U1", "User", "A user needs a full name and a primary email, unique among users (compared "
      "case-insensitively: it is the user's key in import and export files). The full name is "
      f"{NAME_TEXT.format(limit=USER_NAME_MAX)}. The primary email {EMAIL_TEXT}.",
      record=Record.USER, fields=("full_name", "email"))
def _u1_user(d: UserDraft, ctx: UserContext) -> Iterator[Finding]:
    yield from name_rule("U1", "full_name", d.full_name, USER_NAME_MAX, "Full Name")
    email = d.email.strip()
    if not email:
        yield Finding("U1", "email", E, say("{label} is required.", label="Primary Email"))
    else:
        problem = email_problem(email, "Primary Email")
        if problem:
            yield Finding("U1", "email", E, problem)
        elif ctx.email_taken:
            yield Finding("U1", "email", E, say("Another user already has the email {email}.", email=email))


@rule("R1", record=Record.USER, fields=("state",))
def _r1_user_state(d: UserDraft, ctx: UserContext) -> Iterator[Finding]:
    yield from check_state(d.state)


USER_RULES: tuple[Rule, ...] = (_u1_user, _r1_user_state)


def check_user(d: UserDraft, ctx: UserContext | None = None) -> list[Finding]:
    ctx = ctx or UserContext()
    return [f for rule in USER_RULES for f in rule(d, ctx)]


# ---------------------------------------------------------------- queues


@rule("Q1", "Queue", "A queue needs a name, unique among queues (compared case-insensitively: it is the queue's "
      "key in import and export files), and an owner who is a user of this organisation. The name is "
      f"{NAME_TEXT.format(limit=NAME_MAX)}. The queue's email address, when given, {EMAIL_TEXT}; it is required "
      "once the queue's incoming or outgoing method is Server-Side Synchronization.",
      record=Record.QUEUE, fields=("name", "owner_id", "email"))
def _q1_queue(d: QueueDraft, ctx: QueueContext) -> Iterator[Finding]:
    yield from name_rule("Q1", "name", d.name, NAME_MAX, "Name")
    if d.name.strip() and ctx.name_taken:
        yield Finding("Q1", "name", E, say("Another queue is already named {name}.", name=repr(d.name.strip())))
    if d.owner_id is None:
        yield Finding("Q1", "owner_id", E, say("Owner is required."))
    elif not ctx.owner_exists:
        yield Finding("Q1", "owner_id", E,
                      say("The owner must be a user of this organisation; no user has that email."))
    email = d.email.strip()
    if email:
        problem = email_problem(email, "Email")
        if problem:
            yield Finding("Q1", "email", E, problem)
    elif d.incoming == IncomingMethod.SERVER_SIDE_SYNC or d.outgoing == OutgoingMethod.SERVER_SIDE_SYNC:
        yield Finding("Q1", "email", E, say("An email address is required once the queue uses server-side sync."))


_QUEUE_NOTE = "the queue's own method, which its mailbox follows"


@rule("M12", record=Record.QUEUE, fields=("incoming",), note=_QUEUE_NOTE)
def _m12_queue_incoming(d: QueueDraft, ctx: QueueContext) -> Iterator[Finding]:
    kind = MailboxKind.QUEUE
    yield from option_rule("M12", "incoming", d.incoming, ALLOWED_INCOMING[kind], IncomingMethod, kind)


@rule("M13", record=Record.QUEUE, fields=("outgoing",), note=_QUEUE_NOTE)
def _m13_queue_outgoing(d: QueueDraft, ctx: QueueContext) -> Iterator[Finding]:
    kind = MailboxKind.QUEUE
    yield from option_rule("M13", "outgoing", d.outgoing, ALLOWED_OUTGOING[kind], OutgoingMethod, kind)


@rule("R1", record=Record.QUEUE, fields=("state",))
def _r1_queue_state(d: QueueDraft, ctx: QueueContext) -> Iterator[Finding]:
    yield from check_state(d.state)


QUEUE_RULES: tuple[Rule, ...] = (_q1_queue, _m12_queue_incoming, _m13_queue_outgoing, _r1_queue_state)


def check_queue(d: QueueDraft, ctx: QueueContext | None = None) -> list[Finding]:
    ctx = ctx or QueueContext()
    return [f for rule in QUEUE_RULES for f in rule(d, ctx)]


# ---------------------------------------------------------------- organisation settings
# The defaults must be values a user mailbox may hold (M12-M14), since new user mailboxes take them.

_ORG_NOTE = "the default for new user mailboxes: a code a user mailbox may hold"
USER = MailboxKind.USER


@rule("M12", record=Record.ORG, fields=("default_incoming",), note=_ORG_NOTE)
def _m12_default_incoming(d: OrgSettings, profile: object | None) -> Iterator[Finding]:
    yield from option_rule("M12", "default_incoming", d.default_incoming, ALLOWED_INCOMING[USER], IncomingMethod, USER)


@rule("M13", record=Record.ORG, fields=("default_outgoing",), note=_ORG_NOTE)
def _m13_default_outgoing(d: OrgSettings, profile: object | None) -> Iterator[Finding]:
    yield from option_rule("M13", "default_outgoing", d.default_outgoing, ALLOWED_OUTGOING[USER], OutgoingMethod, USER)


@rule("M14", record=Record.ORG, fields=("default_act",), note=_ORG_NOTE)
def _m14_default_act(d: OrgSettings, profile: object | None) -> Iterator[Finding]:
    yield from option_rule("M14", "default_act", d.default_act, ALLOWED_ACT[USER], ActMethod, USER)


@rule("M11", record=Record.ORG, fields=("default_profile_id",))
def _m11_default_profile(d: OrgSettings, profile: object | None) -> Iterator[Finding]:
    if d.default_profile_id is not None and profile is None:
        yield Finding("M11", "default_profile_id", E, say("The default server profile no longer exists."))
    elif d.default_profile_id is None and (d.default_incoming == IncomingMethod.SERVER_SIDE_SYNC
                                           or d.default_outgoing == OutgoingMethod.SERVER_SIDE_SYNC
                                           or d.default_act == ActMethod.SERVER_SIDE_SYNC):
        yield Finding("M11", "default_profile_id", E,
                      say("Choose a default server profile: new mailboxes would use server-side "
                          "synchronization without one."))


ORG_RULES: tuple[Rule, ...] = (_m12_default_incoming, _m13_default_outgoing, _m14_default_act, _m11_default_profile)


def check_org_settings(d: OrgSettings, profile: object | None = True) -> list[Finding]:
    """Defaults must be values a user mailbox may hold (M12–M14); server-side sync needs a
    default profile, and it must exist (M11). `profile` is the default profile, None when it is gone."""
    return [f for rule in ORG_RULES for f in rule(d, profile)]
